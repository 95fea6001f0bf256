"""figures_curv.py - the exact curvature (probes.curvature: Lanczos on exact Hessian-vector
products, docs/measurements.md) per mode: the top eigenvalues against 2/lr, the spectral
density from stochastic Lanczos quadrature, and the per-layer curvature heat map.
Conventions as in figures.py (facets, one log rule, gids, Plot.data), with one
difference stated in every caption: the lines are the MEDIAN over seeds (a Lanczos
estimate that failed on one seed must not drag the line), the light band min..max.

Two marks the other figures do not need:
- converged: a point is drawn HOLLOW when at least one seed's estimate at that step
  did not converge (its `*_converged` flag is 0: true residual > tol ||H||_est, or a
  non-finite product); filled when every seed that wrote the step converged;
- sign: the eigenvalue axis shows |lambda| (so a log axis and the 2/lr line work for
  every point); a point whose median is negative is a triangle (marker 'v'), a
  positive one a circle."""
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from .figures import (BAND_ALPHA, LOG_RATIO, Plot, _finish, _finite, _max_count, _nanreduce,
                      _seed_label, _skip, _title, as_facet, log_scale_if, norm_color,
                      seed_stats)

MODES = ("train", "eval")
MODE_TEXT = {"train": "train mode (batch statistics differentiated)",
             "eval": "eval mode (running statistics fixed)"}
RANK_STYLES = ("-", "--", "-.")  # lambda_1, lambda_2, lambda_3 (dotted is 2/lr)
MIN_STYLE = (0, (4, 1.5, 1, 1.5, 1, 1.5))  # dash-dot-dot
MAX_RANKS = len(RANK_STYLES)
DENSITY_FLOOR = 1e-6  # the density's log axis ends at this fraction of the panel's peak
MEDIAN_CAPTION = ("Lines: median over seeds; light band: min..max over seeds (the seed count "
                  "is in the legend). ")
HOLLOW_CAPTION = ("Hollow marker: at that probe step at least one seed's estimate did not "
                  "converge (true residual > tol x ||H||_est, or a non-finite product), so "
                  "the median there is not to be trusted; filled: every seed converged. ")
EDGE_CAPTION = ("Dotted black: 2/lr, the edge of stability of gradient descent without "
                "momentum (with heavy-ball momentum beta the threshold is (2 + 2 beta)/lr, "
                "not drawn). ")


# -- helpers ----------------------------------------------------------------------------
def seed_median(stack):
    """(median, min, max, n) over axis 0 of a [seeds, ...] stack, NaN ignored."""
    _, lo, hi, n = seed_stats(stack)
    return _nanreduce(np.nanmedian, stack, 0), lo, hi, n


def unconverged(flags):
    """Per cell of a [seeds, ...] converged-flag stack: whether some seed that wrote the
    cell (flag 0 or 1; -1 is unwritten) did not converge (flag 0)."""
    return (np.asarray(flags) == 0).any(axis=0)


def modes_with(sw, stem, idx=None):
    """The modes whose `stem_<mode>` variable the file has, with finite data in idx."""
    return [m for m in MODES if sw.finite("%s_%s" % (stem, m), idx)]


def _flags(sw, name, idx, shape):
    """The converged flags of runs idx, or all 1 when the file has no flag variable."""
    return sw.var(name)[idx] if sw.has(name) else np.ones(shape, dtype=np.int32)


def _lrs(cells_by_key):
    return sorted({lr for c in cells_by_key.values() for lr in c})


def _log_rule(values):
    """The one log rule of figures.log_scale_if, for a colour scale."""
    v = _finite(values)
    v = v[np.isfinite(v)]
    return bool(v.size) and v.min() > 0 and v.max() / v.min() >= LOG_RATIO


# -- 1. top eigenvalues over training, with 2/lr ----------------------------------------------
def _abs_series(ax, x, st, hollow, norm, ls, gid, band, label):
    """|median| as a line (gid), its circles (>= 0, gid:pos) and triangles (< 0, gid:neg),
    hollow where not converged (gid:pos:hollow, gid:neg:hollow), and for `band` the
    min..max band of |lambda| over seeds (down to 0 where seeds differ in sign)."""
    med, lo, hi, n = st
    x, y, c = np.asarray(x), np.abs(med), norm_color(norm)
    ax.plot(x, y, color=c, ls=ls, lw=1.3, gid=gid,
            label=_seed_label(norm, n) if label else "_nolegend_")
    if band and n > 1:
        a, b = np.abs(lo), np.abs(hi)
        ax.fill_between(x, np.where(lo * hi > 0, np.minimum(a, b), 0.0), np.maximum(a, b),
                        color=c, alpha=BAND_ALPHA, linewidth=0, label="_nolegend_")
    ok = np.isfinite(med)
    for neg in (False, True):
        for hol in (False, True):
            m = ok & ((med < 0) == neg) & (np.asarray(hollow) == hol)
            if m.any():
                ax.plot(x[m], y[m], ls="none", marker="v" if neg else "o", ms=5.5, color=c,
                        mec=c, mfc="none" if hol else c, mew=1.2, zorder=5, label="_nolegend_",
                        gid=gid + (":neg" if neg else ":pos") + (":hollow" if hol else ""))


def _top_panel(ax, sw, mode, lr, row, ranks, data, first):
    """One (mode, lr) panel: lambda_1..ranks and lambda_min per norm; returns |values|."""
    probe = np.asarray(sw.coords["probe"])
    eig = _finite(sw.var("curv_top_eig_" + mode))
    vals = [np.array([2.0 / lr])]
    for norm, idx in row:
        e = eig[idx]
        conv = _flags(sw, "curv_top_converged_" + mode, idx, e.shape)
        for k in range(min(ranks, e.shape[2])):
            st = seed_median(e[:, :, k])
            if st[3] == 0:
                continue
            hol = unconverged(conv[:, :, k])
            _abs_series(ax, probe, st, hol, norm, RANK_STYLES[k], "%s:lam%d" % (norm, k + 1),
                        band=k == 0, label=first and k == 0)
            data[(mode, lr, norm, k + 1)] = st[0]
            data[(mode, lr, norm, k + 1, "hollow")] = hol
            vals.append(np.abs(e[:, :, k]).ravel())
        if sw.has("curv_min_eig_" + mode):
            m = _finite(sw.var("curv_min_eig_" + mode)[idx])
            st = seed_median(m)
            if st[3]:
                hol = unconverged(_flags(sw, "curv_min_converged_" + mode, idx, m.shape))
                _abs_series(ax, probe, st, hol, norm, MIN_STYLE, norm + ":lam_min",
                            band=False, label=False)
                data[(mode, lr, norm, "min")] = st[0]
                data[(mode, lr, norm, "min", "hollow")] = hol
                vals.append(np.abs(m).ravel())
    ax.axhline(2.0 / lr, color="black", ls=":", lw=1.2, gid="2/lr",
               label="2/lr" if first else "_nolegend_")
    return np.concatenate(vals)


def _top_key(ax, ranks):
    """What line styles and markers mean, in the shared legend."""
    for k in range(ranks):
        ax.plot([], [], color="#555555", ls=RANK_STYLES[k], label="lambda_%d" % (k + 1))
    ax.plot([], [], color="#555555", ls=MIN_STYLE, label="lambda_min (smallest)")
    ax.plot([], [], ls="none", marker="o", color="#555555", label="converged (every seed)")
    ax.plot([], [], ls="none", marker="o", mfc="none", mec="#555555",
            label="hollow: not converged (some seed)")
    ax.plot([], [], ls="none", marker="v", color="#555555", label="negative: |lambda| shown")


def _mode_lr_grid(sw, f, norms, stem, name, title, why, row_h, extra_h):
    """The rows-per-mode x columns-per-lr layout of a curvature figure: (None, skip plot)
    when no mode has `stem` data for the facet, else (cells per mode, lrs, fig, axes)."""
    modes = modes_with(sw, stem, f.idx)
    if not modes:
        return None, _skip(name, title, "no %s data for %s (%s off or not reached)"
                           % (stem, f.label, why))
    cells = {m: f.cells(norms, "%s_%s" % (stem, m)) for m in modes}
    lrs = _lrs(cells)
    fig = Figure(figsize=(max(7.0, 3.9 * len(lrs) + 0.6), row_h * len(modes) + extra_h))
    axes = fig.subplots(len(modes), len(lrs), squeeze=False, sharex=True)
    return (cells, lrs, fig, axes), None


def fig_curv_top(sw, facet, norms=None, ranks=MAX_RANKS):
    """Rows: the modes the file has (train, eval); columns: lr. Per norm, the median over
    seeds of |lambda_1..ranks| and |lambda_min| vs probe step, with 2/lr."""
    f = as_facet(sw, facet)
    name = "curv_top_" + f.slug
    title = _title("Exact Hessian: top eigenvalues (Lanczos) vs step, with 2/lr", f)
    grid, skip = _mode_lr_grid(sw, f, f.norms(norms), "curv_top_eig", name, title,
                               "probes.curvature", 3.4, 1.6)
    if skip:
        return [skip]
    cells, lrs, fig, axes = grid
    modes = list(cells)
    ranks = max(1, min(ranks, MAX_RANKS, len(sw.coords.get("eig", [1]))))
    data = {}
    for i, mode in enumerate(modes):
        for c, lr in enumerate(lrs):
            ax = axes[i, c]
            row = cells[mode].get(lr, [])
            vals = _top_panel(ax, sw, mode, lr, row, ranks, data, first=(i, c) == (0, 0))
            log_scale_if(ax, vals)
            if i == 0:
                ax.set_title("lr = %g (2/lr = %g)" % (lr, 2.0 / lr), fontsize="medium")
            if c == 0:
                ax.set_ylabel("%s\n|eigenvalue| of H" % mode)
            if not row:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="gray")
            ax.grid(alpha=0.3)
    _top_key(axes[0, 0], ranks)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    k = len(sw.coords.get("eig", []))
    shown = ", ".join("lambda_%d (%s)" % (r + 1, ("solid", "dashed", "dash-dot")[r])
                      for r in range(ranks))
    cap = (MEDIAN_CAPTION.replace("light band:", "light band (lambda_1 only):") +
           "Lanczos on exact Hessian-vector products at each probe step, one row per mode "
           "(%s), columns: learning rate. Lines: %s of the top %d, and lambda_min, the "
           "smallest Ritz value (dash-dot-dot). The axis is |lambda|: a point whose median is "
           "negative is a triangle (v), one >= 0 a circle; where seeds differ in sign the "
           "band reaches down to 0. " % ("; ".join(MODE_TEXT[m] for m in modes), shown, k)
           + HOLLOW_CAPTION + EDGE_CAPTION)
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 2. spectral density (stochastic Lanczos quadrature) ----------------------------------
def slq_density(nodes, weights, t, sigma):
    """phi(t) from SLQ nodes/weights [seeds, vectors, nodes] (Ghorbani et al. 2019): per
    vector sum_i w_i N(t; theta_i, sigma^2), averaged over the seed's vectors with a
    finite node, then over seeds with one. NaN nodes (an early invariant subspace) carry
    weight 0 and are left out. Returns (phi, seeds used)."""
    t = np.asarray(t, dtype=float)
    per_seed = []
    for th_s, w_s in zip(_finite(nodes), _finite(weights)):
        vecs = []
        for th, w in zip(th_s, w_s):
            ok = np.isfinite(th) & np.isfinite(w)
            if ok.any():
                z = (t[:, None] - th[ok][None, :]) / sigma
                vecs.append((w[ok] * np.exp(-0.5 * z * z)).sum(axis=1) /
                            (sigma * np.sqrt(2.0 * np.pi)))
        if vecs:
            per_seed.append(np.mean(vecs, axis=0))
    if not per_seed:
        return np.full(t.shape, np.nan), 0
    return np.mean(per_seed, axis=0), len(per_seed)


def density_grid(nodes, sigma_frac, points):
    """(t, sigma) for a set of nodes: sigma = sigma_frac x (max - min node) (x max(|node|, 1)
    for a single value), t from min - 5 sigma to max + 5 sigma."""
    v = _finite(nodes)
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    sigma = sigma_frac * ((hi - lo) if hi > lo else max(abs(hi), 1.0))
    return np.linspace(lo - 5 * sigma, hi + 5 * sigma, points), sigma


def _density_steps(sw, idx, modes, steps):
    """Probe positions drawn: the given step numbers, else the first, middle and last
    probe step where some run of idx has SLQ data."""
    probe = np.asarray(sw.coords["probe"])
    have = [k for k in range(len(probe)) if any(
        np.isfinite(_finite(sw.var("curv_slq_nodes_" + m)[idx][:, k])).any() for m in modes)]
    if steps is not None:
        return [k for k in have if int(probe[k]) in [int(s) for s in steps]]
    pick = [have[0], have[len(have) // 2], have[-1]] if have else []
    return sorted(set(pick))


def _density_panel(ax, sw, mode, row, k, sigma_frac, points, floor):
    """One (mode, lr, step) panel; returns ({norm: (t, phi)}, sigma) or ({}, None)."""
    nodes = {n: sw.var("curv_slq_nodes_" + mode)[idx][:, k] for n, idx in row}
    fin = [a for a in nodes.values() if np.isfinite(_finite(a)).any()]
    if not fin:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="gray")
        return {}, None
    t, sigma = density_grid(np.concatenate([a.ravel() for a in fin]), sigma_frac, points)
    out, seeds = {}, {}
    for norm, idx in row:
        phi, n = slq_density(nodes[norm], sw.var("curv_slq_weights_" + mode)[idx][:, k], t, sigma)
        if n:
            out[norm], seeds[norm] = (t, phi), n
    if not out:
        return {}, None
    peak = max(np.nanmax(phi) for _, phi in out.values())
    for norm, (_, phi) in out.items():
        y = np.where(phi >= floor * peak, phi, np.nan)
        ax.plot(t, y, color=norm_color(norm), lw=1.3, gid=norm,
                label=_seed_label(norm, seeds[norm]))
    log_scale_if(ax, [floor * peak, peak])
    ax.set_ylim(floor * peak, 2.0 * peak)
    return out, sigma


def fig_curv_density(sw, facet, norms=None, steps=None, sigma_frac=0.01, points=1500):
    """Rows: (mode, lr); columns: probe steps (default first, middle, last with data).
    Per norm, the Gaussian-broadened SLQ density, averaged over vectors and seeds."""
    f = as_facet(sw, facet)
    name = "curv_density_" + f.slug
    title = _title("Exact Hessian: spectral density (SLQ) at chosen steps", f)
    norms = f.norms(norms)
    modes = [m for m in modes_with(sw, "curv_slq_nodes", f.idx)
             if sw.has("curv_slq_weights_" + m)]
    if not modes:
        return [_skip(name, title, "no curv_slq_nodes/curv_slq_weights data for %s "
                      "(probes.curvature.slq off or not reached)" % f.label)]
    cells = {m: f.cells(norms, "curv_slq_nodes_" + m) for m in modes}
    rows = [(m, lr) for m in modes for lr in _lrs(cells) if lr in cells[m]]
    ks = _density_steps(sw, f.idx, modes, steps)
    if not ks:
        return [_skip(name, title, "no SLQ data at probe steps %s for %s" % (steps, f.label))]
    probe = np.asarray(sw.coords["probe"])
    fig = Figure(figsize=(max(7.0, 3.9 * len(ks) + 0.6), 2.9 * len(rows) + 1.2))
    axes = fig.subplots(len(rows), len(ks), squeeze=False)
    data = {}
    for i, (mode, lr) in enumerate(rows):
        for c, k in enumerate(ks):
            ax = axes[i, c]
            out, sigma = _density_panel(ax, sw, mode, cells[mode][lr], k, sigma_frac, points,
                                        DENSITY_FLOOR)
            step = int(probe[k])
            for norm, tp in out.items():
                data[(mode, lr, step, norm)] = tp
            if sigma is not None:
                data[("sigma", mode, lr, step)] = sigma
            ax.set_title("%s, lr = %g, step %d%s" % (mode, lr, step, "" if sigma is None
                                                     else " (sigma %.3g)" % sigma),
                         fontsize="small")
            if c == 0:
                ax.set_ylabel("density")
            ax.set_xlabel("eigenvalue")
            ax.grid(alpha=0.3)
    cap = ("Spectral density of the Hessian by stochastic Lanczos quadrature (Ghorbani et al. "
           "2019), per mode (%s), learning rate (rows) and probe step (columns): "
           "phi(t) = sum over nodes of weight x Gaussian(t; node, sigma^2), averaged over the "
           "SLQ vectors of a run, then over seeds (the count is in the legend; no band). "
           "sigma = %g x the panel's node range (in each title), one grid per panel, so "
           "every curve integrates to 1. Log density axis, cut at %g of the panel's peak. "
           "The x axis is the signed eigenvalue: mass left of 0 is negative curvature. "
           "Nodes are Ritz values from %d Lanczos steps: only the extremes are resolved, "
           "the bulk is smoothed." % ("; ".join(MODE_TEXT[m] for m in modes), sigma_frac,
                                      DENSITY_FLOOR, len(sw.coords.get("slq_node", []))))
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 3. per-layer curvature heat map ------------------------------------------------------
def _layer_cells(sw, f, norms, modes):
    """[(norm, mode, lr, run indices)] of the panels, and the probe positions with data."""
    panels = []
    cells = {m: f.cells(norms, "curv_layer_top_eig_" + m) for m in modes}
    cols = [(m, lr) for m in modes for lr in _lrs(cells) if lr in cells[m]]
    rows = [n for n in norms if any(n in dict(cells[m][lr]) for m, lr in cols)]
    for norm in rows:
        for m, lr in cols:
            panels.append((norm, m, lr, dict(cells[m][lr]).get(norm)))
    fin = [np.isfinite(_finite(sw.var("curv_layer_top_eig_" + m)[f.idx])) for m in modes]
    ks = np.flatnonzero(np.any([a.any(axis=(0, 2)) for a in fin], axis=0))
    return rows, cols, panels, ks


def _heat(ax, C, hollow, norm_, cmap, layers):
    """One heat map: C [layers, probe columns]; hatched cells where hollow."""
    nl, nk = C.shape
    mesh = ax.pcolormesh(np.arange(nk + 1) - 0.5, np.arange(nl + 1) + 0.5,
                         np.ma.masked_invalid(C), norm=norm_, cmap=cmap, shading="flat")
    first = True
    for i, j in zip(*np.nonzero(hollow & np.isfinite(C))):
        ax.add_patch(Rectangle((j - 0.5, i + 0.5), 1, 1, fill=False, hatch="///",
                               edgecolor="#d62728", lw=1.0, gid="nonconverged",
                               label="not converged (some seed)" if first else "_nolegend_"))
        first = False
    ax.set_yticks(np.arange(1, nl + 1))
    ax.set_yticklabels([str(int(x)) for x in layers])
    return mesh


def fig_curv_layers(sw, facet, norms=None):
    """Rows: norms; columns: (mode, lr). Each panel a heat map layer x probe step of the
    median over seeds of curv_layer_top_eig, one colour scale, non-converged cells hatched."""
    f = as_facet(sw, facet)
    name = "curv_layers_" + f.slug
    title = _title("Exact Hessian: per-layer curvature (top eigenvalue of each layer's "
                   "block)", f)
    norms = f.norms(norms)
    modes = modes_with(sw, "curv_layer_top_eig", f.idx)
    if not modes:
        return [_skip(name, title, "no curv_layer_top_eig data for %s "
                      "(probes.curvature.layers off or not reached)" % f.label)]
    rows, cols, panels, ks = _layer_cells(sw, f, norms, modes)
    nl = _max_count(sw, f.idx, "n_layers", "layer")
    layers = np.asarray(sw.coords["layer"])[:nl]
    probe = np.asarray(sw.coords["probe"])
    meds, data = {}, {}
    for norm, m, lr, idx in panels:
        if idx is None:
            continue
        a = _finite(sw.var("curv_layer_top_eig_" + m)[idx][:, ks, :nl])
        fc = "curv_layer_converged_" + m
        fl = sw.var(fc)[idx][:, ks, :nl] if sw.has(fc) else np.ones(a.shape, dtype=int)
        meds[(norm, m, lr)] = (seed_median(a)[0].T, unconverged(fl).T)
        data[(m, lr, norm)] = meds[(norm, m, lr)][0]
        data[(m, lr, norm, "hollow")] = meds[(norm, m, lr)][1]
    allv = np.concatenate([c.ravel() for c, _ in meds.values()] or [np.array([np.nan])])
    fin = allv[np.isfinite(allv)]
    if not fin.size:
        return [_skip(name, title, "no curv_layer_top_eig data within the layers of %s"
                      % f.label)]
    log = _log_rule(fin)
    norm_ = LogNorm(fin.min(), fin.max()) if log else Normalize(fin.min(), fin.max())
    cmap = colormaps["viridis"].copy()
    cmap.set_bad("white")
    fig = Figure(figsize=(max(7.0, 2.9 * len(cols) + 1.4), 2.3 * len(rows) + 1.3))
    gs = fig.add_gridspec(len(rows), len(cols) + 1, width_ratios=[1] * len(cols) + [0.07])
    axes = np.array([[fig.add_subplot(gs[i, j]) for j in range(len(cols))]
                     for i in range(len(rows))])
    mesh = None
    for i, norm in enumerate(rows):
        for j, (m, lr) in enumerate(cols):
            ax = axes[i, j]
            if (norm, m, lr) in meds:
                mesh = _heat(ax, *meds[(norm, m, lr)], norm_, cmap, layers)
            else:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="gray")
            _probe_ticks(ax, probe[ks])
            if i == 0:
                ax.set_title("%s, lr = %g" % (m, lr), fontsize="medium")
            if j == 0:
                ax.set_ylabel("%s\nlayer (input = 1)" % norm)
            if i == len(rows) - 1:
                ax.set_xlabel("step")
    cb = fig.colorbar(mesh, cax=fig.add_subplot(gs[:, -1]))
    cb.formatter = FuncFormatter(lambda x, _: "%g" % x)
    cb.update_ticks()
    cb.set_label("top eigenvalue of the layer's block of H (median over seeds)")
    cap = ("Top eigenvalue of each measured layer's diagonal Hessian block (its weights "
           "only; Lanczos on exact block products), one cell per layer (y, input side = 1) "
           "and probe step (x, equal-width columns): the median over seeds (no band). "
           "Rows: normalization; columns: mode (%s) and learning rate. One colour scale "
           "for the whole figure (%s). Hatched red: at least one seed's estimate in that "
           "cell did not converge (true residual > tol x ||H_ii||_est, or a non-finite "
           "product). White: no data." % ("; ".join(MODE_TEXT[m] for m in modes),
                                          "logarithmic" if log else "linear: the values "
                                          "are not all > 0 or span less than %gx" % LOG_RATIO))
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


def _probe_ticks(ax, steps, most=8):
    every = max(1, -(-len(steps) // most))
    pos = np.arange(0, len(steps), every)
    ax.set_xticks(pos)
    ax.set_xticklabels([str(int(steps[p])) for p in pos], fontsize="small")


# -- Hutchinson trace on exact products -------------------------------------------------
def fig_curv_trace(sw, facet, norms=None):
    """Rows: modes; columns: lr. Per norm, the seed mean of the Hutchinson trace of H
    with the seed band, and each run's own standard error as error bars."""
    f = as_facet(sw, facet)
    name = "curv_trace_" + f.slug
    title = _title("Exact Hessian: trace (Hutchinson) vs step", f)
    grid, skip = _mode_lr_grid(sw, f, f.norms(norms), "curv_trace", name, title,
                               "probes.curvature.hutchinson", 3.2, 1.2)
    if skip:
        return [skip]
    cells, lrs, fig, axes = grid
    modes = list(cells)
    probe, data = sw.coords["probe"], {}
    for i, mode in enumerate(modes):
        tr, se = sw.var("curv_trace_" + mode), sw.var("curv_trace_se_" + mode)
        for c, lr in enumerate(lrs):
            ax = axes[i, c]
            for norm, idx in cells[mode].get(lr, []):
                st = seed_stats(tr[idx])
                if st[3] == 0:
                    continue
                col = norm_color(norm)
                ax.plot(probe, st[0], color=col, marker=".", ms=4, gid="line:" + norm,
                        label=_seed_label(norm, st[3]) if (i, c) == (0, 0) else "_nolegend_")
                ax.fill_between(probe, st[1], st[2], color=col, alpha=BAND_ALPHA, lw=0)
                # the estimator's own error: the largest standard error over the seeds
                ax.errorbar(probe, st[0], yerr=_nanreduce(np.nanmax, se[idx], 0), fmt="none",
                            ecolor=col, elinewidth=0.8, capsize=2)
                data[(mode, lr, norm)] = st[0]
            if i == 0:
                ax.set_title("lr = %g" % lr, fontsize="medium")
            if c == 0:
                ax.set_ylabel("%s\ntr(H)" % mode)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    cap = ("Lines: mean over seeds; light band: min..max over seeds (seed count in the "
           "legend); error bars: the largest over seeds of a run's own standard error of the "
           "Hutchinson estimate (Rademacher vectors on exact Hessian-vector products). One "
           "row per mode (%s). The trace can be negative: a linear axis." %
           "; ".join(MODE_TEXT[m] for m in modes))
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- registration -------------------------------------------------------------------------
CURV_FIGURES = (("curv_top_eig", fig_curv_top), ("curv_slq_nodes", fig_curv_density),
                ("curv_layer_top_eig", fig_curv_layers), ("curv_trace", fig_curv_trace))


def curv_figures(sw, facets):
    """The curvature figures of every facet, for the report: a figure whose variables
    the file does not have at all (its probe off) is left out quietly; one the file has
    but a facet has no data for is a skip with its reason, as every other figure."""
    plots = []
    for stem, fn in CURV_FIGURES:
        if any(sw.has("%s_%s" % (stem, m)) for m in MODES):
            for f in facets:
                plots += fn(sw, f)
    return plots
