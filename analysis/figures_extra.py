"""figures_extra.py - figures beyond the paper's four, from data the file holds:
learning-rate tolerance (Bjorck et al. 2018), the landscape along eta, the gradient vs
a random direction, the Hessian's top eigenvalue against 2/lr and its trace (Cohen et
al. 2021), per-layer gradient norms over depth (Yang et al. 2019) and Theorem 4.1's
two sides. Conventions as in figures.py (facets, seed bands, one log
rule, gids)."""
import numpy as np
from matplotlib.figure import Figure

from . import claims
from .figures import (Plot, SEED_CAPTION, _finish, _finite, _line, _max_count, _nanreduce,
                      _skip, _title, as_facet, log_scale_if, norm_color, ordered_norms,
                      seed_stats)

# -- 6. top Hessian eigenvalue vs 2/lr (edge of stability), Hessian trace ---------------
def fig_hessian(sw, facet, norms=None):
    f = as_facet(sw, facet)
    name = "hessian_" + f.slug
    title = _title("Top Hessian eigenvalue (with 2/lr) and Hessian trace vs step", f)
    norms = f.norms(norms)
    cells = f.cells(norms, "hess_top_eig") if sw.has("hess_top_eig") else {}
    if not cells:
        return [_skip(name, title, "no hess_top_eig data for %s (Hessian probe off or not "
                      "reached)" % f.label)]
    rows = ["hess_top_eig"] + (["hess_trace"] if sw.finite("hess_trace", f.idx) else [])
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 3.2 * len(rows) + 0.9))
    axes = fig.subplots(len(rows), len(lrs), squeeze=False, sharex=True)
    probe = sw.coords["probe"]
    data = {}
    for c, lr in enumerate(lrs):
        for i, var in enumerate(rows):
            ax = axes[i, c]
            arr = sw.var(var)
            for norm, idx in cells[lr]:
                st = seed_stats(arr[idx])
                if st[3] == 0:
                    continue
                _line(ax, probe, st, norm, label=i == 0, marker=".", ms=4)
                data[(lr, norm) if var == "hess_top_eig" else ("hess_trace", lr, norm)] = st[0]
            vals = arr[np.concatenate([i_ for _, i_ in cells[lr]])]
            if var == "hess_top_eig":
                ax.axhline(2.0 / lr, color="black", ls=":", lw=1.2, gid="2/lr",
                           label="2/lr" if c == 0 else "_nolegend_")
                vals = np.append(_finite(vals).ravel(), 2.0 / lr)
                ax.set_title("lr = %g (2/lr = %g)" % (lr, 2.0 / lr), fontsize="medium")
            log_scale_if(ax, vals)
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("lambda_max of the loss Hessian")
    if len(rows) > 1:
        axes[1, 0].set_ylabel("Hessian trace (Hutchinson)")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    cap = (SEED_CAPTION + "Top Hessian eigenvalue (power iteration on Hessian-vector "
           "products) at each probe step; dotted: 2/lr, the edge of stability of gradient "
           "descent at that lr. %s" % ("Second row: Hutchinson estimate of the trace."
                                      if len(rows) > 1 else ""))
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]



# -- final training loss and test accuracy vs learning rate -----------------------------
def fig_lr_tolerance(sw, facet, norms=None):
    """Per normalization: every run's final training loss and final test accuracy
    against its learning rate (grid and random-search runs alike); the line joins the
    median over seeds at each lr. Diverged runs are drawn as crosses at the top."""
    f = as_facet(sw, facet)
    name = "lr_tolerance_" + f.slug
    title = _title("Final training loss and test accuracy vs learning rate", f)
    norms = f.norms(norms)
    cols = [c for c in ("final_train_loss", "final_test_acc") if c in sw.runs]
    lrs = f.lrs()
    if len(lrs) < 2 or not cols:
        return [_skip(name, title, "needs runs at two or more learning rates (has %d)"
                      % len(lrs))]
    fig = Figure(figsize=(11.0, 4.2))
    axes = fig.subplots(1, len(cols), squeeze=False)
    status = np.asarray(sw.runs["status"])
    data = {}
    for c, col in enumerate(cols):
        ax = axes[0, c]
        v_all = _finite(np.asarray(sw.runs[col], dtype=float))
        top = np.nanmax(v_all[f.idx]) if np.isfinite(v_all[f.idx]).any() else 1.0
        for norm in norms:
            idx = f.runs(norm=norm)
            if not len(idx):
                continue
            x = np.asarray(sw.runs["lr"], dtype=float)[idx]
            y = v_all[idx]
            div = status[idx] == "diverged"
            ok = np.isfinite(y) & ~div
            colr = norm_color(norm)
            ax.plot(x[ok], y[ok], ls="none", marker="o", ms=4, alpha=0.6, color=colr,
                    gid=norm + ":runs", label="_nolegend_")
            if div.any():
                ax.plot(x[div], np.full(div.sum(), top * (1.15 if col.endswith("loss") else 1.0)),
                        ls="none", marker="x", ms=7, color=colr, gid=norm + ":diverged",
                        label="_nolegend_")
            ux = sorted(set(np.round(x, 12)))
            med = [np.median(y[ok & np.isclose(x, u)]) if (ok & np.isclose(x, u)).any()
                   else np.nan for u in ux]
            ax.plot(ux, med, color=colr, lw=1.6, gid=norm,
                    label="%s (%d runs)" % (norm, len(idx)) if c == 0 else "_nolegend_")
            data[(col, norm)] = (np.asarray(ux), np.asarray(med))
        log_scale_if(ax, lrs, axis="x")
        if col.endswith("loss"):
            log_scale_if(ax, v_all[f.idx])
        ax.set_xlabel("learning rate")
        ax.set_ylabel({"final_train_loss": "final training loss",
                       "final_test_acc": "final test accuracy"}[col])
        ax.grid(alpha=0.3)
    cap = ("Every run of the facet (grid and random-search runs) as a dot at its learning "
           "rate; the line joins the median over seeds; crosses at the top: diverged runs. "
           "A normalization tolerates the learning rates where it keeps a low loss and a "
           "high accuracy (Bjorck et al. 2018).")
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- the landscape along eta (the spread over eta, on its own) ---------------------------
def _late_probe(sw, idx):
    """The probe step whose landscape is drawn against eta: the middle one of the steps
    t > 0 where some run of idx has landscape data (a running sweep: those reached)."""
    probe = np.asarray(sw.coords.get("probe", []))
    ll = _finite(sw.var("landscape_loss")[np.asarray(idx, dtype=int)])
    late = [k for k in np.flatnonzero(probe > 0) if np.isfinite(ll[:, k]).any()]
    if not late:
        return None
    return int(late[len(late) // 2])


def fig_landscape_eta(sw, facet, norms=None, probe_index=None):
    """Per lr (row): L(w - eta g) - L(w) and ||g - grad L(w - eta g)|| against eta/lr at
    one probe step (default: the middle probe step after 0), seed bands."""
    f = as_facet(sw, facet)
    name = "landscape_eta_" + f.slug
    title = _title("Landscape along the gradient as a function of eta", f)
    norms = f.norms(norms)
    if not sw.has("landscape_loss"):
        return [_skip(name, title, "no landscape data for %s" % f.label)]
    p = _late_probe(sw, f.idx) if probe_index is None else probe_index
    if p is None:
        return [_skip(name, title, "no landscape data after step 0 for %s" % f.label)]
    cells = f.cells(norms, "landscape_loss")
    cells = {lr: [(n, i) for n, i in row if np.isfinite(_finite(sw.var("landscape_loss")[i][:, p])).any()]
             for lr, row in cells.items()}
    cells = {lr: row for lr, row in cells.items() if row}
    if not cells:
        return [_skip(name, title, "no landscape data at probe step %d for %s" % (
            int(sw.coords["probe"][p]), f.label))]
    eta = np.asarray(sw.coords["eta"], dtype=float)
    step = int(sw.coords["probe"][p])
    title = _title("Landscape along the gradient as a function of eta, at step %d" % step, f)
    lrs = sorted(cells)
    cols = [v for v in ("landscape_loss", "landscape_grad_change") if sw.has(v)]
    fig = Figure(figsize=(10.0, 2.9 * len(lrs) + 1.1))
    axes = fig.subplots(len(lrs), len(cols), squeeze=False, sharex=True)
    base = sw.var("probe_loss") if sw.has("probe_loss") else None
    data = {}
    for i, lr in enumerate(lrs):
        for c, var in enumerate(cols):
            ax = axes[i, c]
            for norm, idx in cells[lr]:
                a = _finite(sw.var(var)[idx][:, p, :])
                if var == "landscape_loss" and base is not None:
                    a = a - _finite(base[idx][:, p])[:, None]
                st = seed_stats(a)
                _line(ax, eta, st, norm, label=(i, c) == (0, 0), marker=".", ms=4)
                data[(var, lr, norm)] = st[0]
            log_scale_if(ax, eta, axis="x")
            if var == "landscape_grad_change":
                log_scale_if(ax, np.concatenate([_finite(sw.var(var)[i_][:, p, :]).ravel()
                                                 for _, i_ in cells[lr]]))
            if i == 0:
                ax.set_title("L(w - eta g) - L(w)" if var == "landscape_loss"
                             else "||g - grad L(w - eta g)||", fontsize="medium")
            if c == 0:
                ax.set_ylabel("lr = %g" % lr)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("eta / lr")
    plateau = _plateau_runs(sw, cells, step)
    cap = (SEED_CAPTION + "The landscape probe at step %d, against the step size eta "
           "(as a multiple of lr): the spread over eta that the landscape figure summarizes "
           "per step, drawn on its own.%s" % (step, plateau))
    return [Plot(name, title, cap, _finish(fig, axes, title), note=plateau.strip(), data=data)]


def _plateau_runs(sw, cells, step):
    on = sorted({int(r) for row in cells.values() for _, idx in row for r in idx
                 if claims.on_plateau(sw, int(r), step)})
    if not on:
        return ""
    return " Runs still on their initial plateau at step %d: %s." % (
        step, ", ".join(str(int(sw.coords["run"][r])) for r in on))


# -- gradient vs a random direction -----------------------------------------------------
def fig_random_direction(sw, facet, norms=None):
    """Per lr (column): max over eta of the gradient change along the gradient (solid)
    and along a random direction of the same norm (dashed), vs step."""
    f = as_facet(sw, facet)
    name = "landscape_random_" + f.slug
    title = _title("Gradient direction vs a random direction", f)
    if not sw.has("rand_landscape_grad_change") or not sw.finite("rand_landscape_grad_change",
                                                                  f.idx):
        return [_skip(name, title, "no random-direction landscape data for %s "
                      "(probes.random_direction off)" % f.label)]
    norms = f.norms(norms)
    cells = f.cells(norms, "rand_landscape_grad_change")
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 4.0))
    axes = fig.subplots(1, len(lrs), squeeze=False)
    probe = sw.coords["probe"]
    data = {}
    for c, lr in enumerate(lrs):
        ax = axes[0, c]
        vals = []
        for norm, idx in cells[lr]:
            for var, ls, suffix in (("landscape_grad_change", "-", ""),
                                    ("rand_landscape_grad_change", "--", ":random")):
                a = _nanreduce(np.nanmax, sw.var(var)[idx], 2)
                st = seed_stats(a)
                _line(ax, probe, st, norm, label=not suffix, ls=ls, gid=norm + suffix)
                data[(var, lr, norm)] = st[0]
                vals.append(a.ravel())
        log_scale_if(ax, np.concatenate(vals))
        ax.set_title("lr = %g" % lr, fontsize="medium")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("max over eta of ||g - grad L(w - eta d)||")
    cap = (SEED_CAPTION + "Solid: d = g, the gradient (the landscape probe); dashed: d a "
           "random Gaussian direction rescaled to ||g||. The paper says random directions "
           "behave alike; where the dashed line sits far below the solid one, the "
           "gradient direction is the curved one.")
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- per-layer gradient norms over depth -------------------------------------------------
def fig_grad_depth(sw, facet, norms=None):
    """Per lr (column): ||grad of layer i|| against layer number i, at step 0 (solid)
    and at the last probe step (dashed)."""
    f = as_facet(sw, facet)
    name = "grad_depth_" + f.slug
    title = _title("Per-layer gradient norms over depth, at initialization and later", f)
    if not sw.has("layer_grad_norm") or not sw.finite("layer_grad_norm", f.idx):
        return [_skip(name, title, "no layer_grad_norm data for %s" % f.label)]
    norms = f.norms(norms)
    cells = f.cells(norms, "layer_grad_norm")
    probe = np.asarray(sw.coords["probe"])
    lg = sw.var("layer_grad_norm")
    nl = _max_count(sw, f.idx, "n_layers", "layer")
    layers = np.asarray(sw.coords["layer"])[:nl]
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 4.2))
    axes = fig.subplots(1, len(lrs), squeeze=False, sharey=True)
    data = {}
    steps = [0, len(probe) - 1] if len(probe) > 1 else [0]
    for c, lr in enumerate(lrs):
        ax = axes[0, c]
        vals = []
        for norm, idx in cells[lr]:
            for k, ls in zip(steps, ("-", "--")):
                a = _finite(lg[idx][:, k, :nl])
                st = seed_stats(a)
                if st[3] == 0:
                    continue
                lab = "_nolegend_" if k else None
                _line(ax, layers, st, norm, label=lab is None, ls=ls, marker=".", ms=4,
                      gid="%s:step%d" % (norm, int(probe[k])))
                data[(lr, norm, int(probe[k]))] = st[0]
                vals.append(a.ravel())
        if vals:
            log_scale_if(ax, np.concatenate(vals))
        if c == 0:  # what solid and dashed mean, in the shared legend
            for k, ls in zip(steps, ("-", "--")):
                ax.plot([], [], color="#555555", ls=ls, label="step %d" % int(probe[k]))
        ax.set_title("lr = %g" % lr, fontsize="medium")
        ax.set_xlabel("layer number (input side = 1)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("||grad of the layer's weights||")
    cap = (SEED_CAPTION + "Solid: at step 0 (initialization); dashed: at step %d. With BN, "
           "non-residual nets' gradients grow towards the input at initialization (Yang et "
           "al. 2019)." % int(probe[steps[-1]]))
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- Theorem 4.1 -----------------------------------------------------------------------
def fig_thm41(sw, facet):
    """Theorem 4.1's two sides for every BN layer and probe step: lhs against rhs
    (log-log, with the diagonal), and their relative difference against step."""
    f = as_facet(sw, facet)
    name = "thm41_" + f.slug
    title = _title("Theorem 4.1: ||dL/dy||^2 against its closed form", f, "Sec. 4")
    if not (sw.has("thm41_lhs") and sw.finite("thm41_lhs", f.idx)):
        return [_skip(name, title, "no Theorem 4.1 data for %s (probes.thm41 off, or no "
                      "batch/noisy_batch runs)" % f.label)]
    lhs, rhs = _finite(sw.var("thm41_lhs")), _finite(sw.var("thm41_rhs"))
    probe = np.asarray(sw.coords["probe"])
    fig = Figure(figsize=(11.0, 4.4))
    ax0, ax1 = fig.subplots(1, 2)
    data = {}
    xs = []
    for norm in ordered_norms([n for n in f.norms() if n in ("batch", "noisy_batch")]):
        idx = f.runs(norm=norm)
        a, b = lhs[idx].ravel(), rhs[idx].ravel()
        ok = np.isfinite(a) & np.isfinite(b)
        if not ok.any():
            continue
        ax0.plot(b[ok], a[ok], ls="none", marker=".", ms=4, alpha=0.6, color=norm_color(norm),
                 gid=norm, label="%s (%d layer-steps)" % (norm, ok.sum()))
        xs += [a[ok], b[ok]]
        rel = np.abs(lhs[idx] - rhs[idx]) / np.abs(lhs[idx])  # [runs, probe, act_layer]
        st = seed_stats(_nanreduce(np.nanmedian, rel, 2))
        _line(ax1, probe, st, norm, label=False, marker=".", ms=4, gid=norm + ":rel")
        data[norm] = (a[ok], b[ok])
        data[("rel", norm)] = st[0]
    if xs:
        v = np.concatenate(xs)
        lo, hi = np.nanmin(v[v > 0]) if (v > 0).any() else 1e-12, np.nanmax(v)
        ax0.plot([lo, hi], [lo, hi], color="black", ls=":", lw=1, gid="diagonal", label="lhs = rhs")
        log_scale_if(ax0, v)
        log_scale_if(ax0, v, axis="x")
    ax0.set_xlabel("rhs: gamma^2/sigma^2 (||g||^2 - <1,g>^2/m - <g,y_hat>^2/m)")
    ax0.set_ylabel("lhs: ||dL/dy||^2 (engine's backward)")
    ax1.set_xlabel("step")
    ax1.set_ylabel("|lhs - rhs| / lhs (median over layers)")
    rel_all = [d for k, d in data.items() if isinstance(k, tuple)]
    if rel_all:
        log_scale_if(ax1, np.concatenate(rel_all))
    for ax in (ax0, ax1):
        ax.grid(alpha=0.3)
    cap = ("Each point: one BN layer at one probe step (sums over its units). The paper's "
           "identity with 1/m holds exactly at eps = 0; the relative gap is the eps = 1e-5 "
           "term (docs/measurements.md). " + SEED_CAPTION)
    return [Plot(name, title, cap, _finish(fig, np.array([ax0, ax1]), title), data=data)]
