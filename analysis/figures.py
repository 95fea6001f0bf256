"""figures.py - the paper's figures from a results file (a load.Sweep).

Every figure function returns a list of Plot: the matplotlib Figure (or None when the
file has no data for it, with `note` saying why) and `data`, the arrays it plotted, so a
test (or a user) can check them. Figures are plain matplotlib.figure.Figure objects (no
pyplot state, Agg rendering on save), so this module is safe in scripts and notebooks.

Conventions (docs/analysis.md):
- one figure per architecture; columns are learning rates, colours are normalizations;
- several seeds of one (lr, arch, norm): the line is the mean over seeds, the shaded band
  min..max over seeds; NaN (unwritten: running, killed, pending runs) is left out, so a
  running run contributes the steps it has logged;
- non-finite values (overflow after divergence) are not drawn;
- every line carries a gid naming what it is ('batch', 'batch:test', 'batch:lo',
  'batch:hi', 'q0.5', '2/lr'), so tests and users can find it in ax.get_lines().
"""
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from matplotlib.figure import Figure

NORM_ORDER = ("none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group")
LP_NORMS = ("l1", "l2", "linf")
NORM_COLORS = {"none": "#3a3a3a", "batch": "#1f77b4", "noisy_batch": "#ff7f0e",
               "l1": "#2ca02c", "l2": "#d62728", "linf": "#9467bd", "layer": "#8c564b",
               "group": "#e377c2"}
_EXTRA_COLORS = ("#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78")


@dataclass
class Plot:
    name: str                      # file stem, e.g. "training_vgg11_width-0.125"
    title: str
    caption: str
    fig: Optional[Figure]          # None: skipped, see note
    note: str = ""
    data: dict = field(default_factory=dict)


def slug(text):
    out = "".join(c if c.isalnum() or c in ".-" else "_" for c in str(text))
    return out.strip("_") or "x"


def norm_color(norm):
    if norm in NORM_COLORS:
        return NORM_COLORS[norm]
    return _EXTRA_COLORS[sum(map(ord, norm)) % len(_EXTRA_COLORS)]


def ordered_norms(norms):
    known = [n for n in NORM_ORDER if n in norms]
    return known + sorted(n for n in norms if n not in NORM_ORDER)


def is_dln(arch):
    return str(arch).startswith("dln")


def _finite(a):
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a), a, np.nan)


def seed_stats(stack, axis=0):
    """(mean, min, max, n) over axis 0 of a [seeds, ...] stack, NaN ignored; n is how many
    seeds have any finite value."""
    s = _finite(stack)
    n = int(np.isfinite(s.reshape(s.shape[0], -1)).any(axis=1).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices -> NaN, wanted
        return np.nanmean(s, axis=axis), np.nanmin(s, axis=axis), np.nanmax(s, axis=axis), n


def _nanreduce(fn, a, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(_finite(a), axis=axis)


def _line(ax, x, stats, norm, label=True, **kw):
    """A mean line with its seed band (when more than one seed has data)."""
    mean, lo, hi, n = stats
    c = norm_color(norm)
    lab = (norm if n <= 1 else "%s (%d seeds)" % (norm, n)) if label else "_nolegend_"
    ln, = ax.plot(x, mean, color=c, label=lab, gid=kw.pop("gid", norm), **kw)
    if n > 1:
        ax.fill_between(x, lo, hi, color=c, alpha=0.2, linewidth=0, label="_nolegend_")
    return ln


def _band(ax, x, lo, hi, norm):
    """A shaded min..max band with thin edge lines (gids norm:lo, norm:hi)."""
    c = norm_color(norm)
    ax.fill_between(x, lo, hi, color=c, alpha=0.3, linewidth=0, label=norm)
    ax.plot(x, lo, color=c, lw=0.8, gid=norm + ":lo", label="_nolegend_")
    ax.plot(x, hi, color=c, lw=0.8, gid=norm + ":hi", label="_nolegend_")


def _skip(name, title, note):
    return Plot(name=name, title=title, caption="", fig=None, note=note)


def _cells(sw, arch, norms, var):
    """{lr: [(norm, run indices)]} for the lrs/norms of `arch` that have finite `var`."""
    out = {}
    for lr in sorted(sw.values("lr", sw.select(arch=arch))):
        row = []
        for norm in norms:
            idx = sw.select(arch=arch, lr=lr, norm=norm)
            if len(idx) and sw.finite(var, idx):
                row.append((norm, idx))
        if row:
            out[lr] = row
    return out


def _norms_of(sw, arch, allowed=None):
    present = sw.values("norm", sw.select(arch=arch))
    return ordered_norms([n for n in present if allowed is None or n in allowed])


def _finish(fig, axes, title):
    """Title on top, one shared legend under it, panels below (sizes in inches, so the
    layout holds for any figure height)."""
    labels = {}
    for ax in np.ravel(axes):
        for h, l in zip(*ax.get_legend_handles_labels()):
            labels.setdefault(l, h)
    h, w = fig.get_figheight(), fig.get_figwidth()
    fig.suptitle(title, y=1 - 0.08 / h, va="top", fontsize="medium")
    top = 1 - 0.4 / h
    if labels:
        ncol = max(1, min(len(labels), int(w / 1.9)))
        fig.legend(list(labels.values()), list(labels.keys()), loc="upper center", ncol=ncol,
                   bbox_to_anchor=(0.5, top), frameon=False, fontsize="small")
        top -= 0.3 * -(-len(labels) // ncol) / h
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


def _layer_label(sw, arch, var, dim, k):
    """'#4 features.12': layer number k with the module name from the first run of arch
    that has one."""
    i = _position(sw, dim, k)
    if sw.has(var) and i is not None:
        names = sw.var(var)
        for r in sw.select(arch=arch):
            if names[r, i]:
                return "#%d %s" % (k, names[r, i])
    return "#%d" % k


def _position(sw, dim, k):
    """Index along dim of layer number k (the dim's coordinate: 1..L), None if absent."""
    c = sw.coords.get(dim)
    if c is None:
        return None
    hit = np.flatnonzero(np.asarray(c) == k)
    return int(hit[0]) if len(hit) else None


def _max_count(sw, arch, column, dim):
    idx = sw.select(arch=arch)
    if column in sw.runs:
        v = np.asarray(sw.runs[column])[idx]
        v = v[v >= 0]
        if len(v):
            return int(v.max())
    return len(sw.coords.get(dim, []))


def default_layers(n, fractions):
    """Layer numbers (1..n, as the file's layer/act_layer coordinates and the paper's
    "layer #5") at given fractions of depth: 1 + round(f * (n - 1)), distinct."""
    if n <= 0:
        return []
    out = []
    for f in fractions:
        k = 1 + int(round(f * (n - 1)))
        if k not in out:
            out.append(k)
    return out


# -- 1. training curves (Fig 1 left) ---------------------------------------------------
def fig_training(sw, arch, norms=None, name=None, title=None):
    """Train loss (top) and train/test accuracy (bottom) vs step, one column per lr."""
    norms = _norms_of(sw, arch, norms)
    name = name or "training_" + slug(arch)
    title = title or "Training loss and accuracy vs step - %s (Fig. 1 left)" % arch
    cells = _cells(sw, arch, norms, "train_loss")
    if not cells:
        return [_skip(name, title, "no train_loss data for %s" % arch)]
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 6.4))
    axes = fig.subplots(2, len(lrs), squeeze=False, sharex=True)
    step, ev = sw.coords["step"], sw.coords.get("eval")
    data = {}
    for c, lr in enumerate(lrs):
        a_loss, a_acc = axes[0, c], axes[1, c]
        for norm, idx in cells[lr]:
            st = seed_stats(sw.var("train_loss")[idx])
            _line(a_loss, step, st, norm)
            data[("train_loss", lr, norm)] = st[0]
            if sw.finite("train_acc", idx):
                st = seed_stats(sw.var("train_acc")[idx])
                _line(a_acc, step, st, norm, label=False)
                data[("train_acc", lr, norm)] = st[0]
            if sw.finite("test_acc", idx) and ev is not None:
                st = seed_stats(sw.var("test_acc")[idx])
                a_acc.plot(ev, st[0], ls="--", marker="o", ms=3, color=norm_color(norm),
                           gid=norm + ":test", label="_nolegend_")
                data[("test_acc", lr, norm)] = st[0]
        a_loss.set_title("lr = %g" % lr, fontsize="medium")
        if np.nanmin(_finite(sw.var("train_loss")[np.concatenate([i for _, i in cells[lr]])])) > 0:
            a_loss.set_yscale("log")
        a_acc.set_xlabel("step")
        a_loss.grid(alpha=0.3)
        a_acc.grid(alpha=0.3)
    axes[0, 0].set_ylabel("train loss")
    axes[1, 0].set_ylabel("accuracy (solid: train, dashed: test)")
    cap = ("Training loss (log scale) and accuracy per step on the step's batch; dashed "
           "markers: test accuracy at evaluation points. Columns: learning rate.")
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 2. activation distributions (Fig 1 right, Fig 2) -----------------------------------
def fig_activations(sw, arch, lr, norms=None, layers=None, unit=0):
    """Quantile bands of one tracked unit's pre-activation over probe steps; rows:
    activation layers (numbers 1..M, the act_layer coordinate), columns: normalizations
    (default none, BN, noisy BN). One run per column: the lowest seed that has data."""
    name = "activations_%s_lr%s" % (slug(arch), slug("%g" % lr))
    title = "Activation distribution over training - %s, lr = %g (Fig. 1 right, Fig. 2)" % (
        arch, lr)
    if not sw.has("act_quantiles"):
        return [_skip(name, title, "the file has no act_quantiles (activation probe off)")]
    want = _norms_of(sw, arch, norms or ("batch", "noisy_batch", "none"))
    m_max = _max_count(sw, arch, "n_act_layers", "act_layer")
    layers = default_layers(m_max, (2 / 12, 10 / 12)) if layers is None else list(layers)
    pos = {k: _position(sw, "act_layer", k) for k in layers}
    aq = sw.var("act_quantiles")
    q = np.asarray(sw.coords["quantile"], dtype=float)
    probe = sw.coords["probe"]
    cols, missing = [], []
    for norm in want:
        runs = sw.select(arch=arch, lr=lr, norm=norm)
        runs = sorted(runs, key=lambda r: sw.runs["seed"][r])
        hit = [r for r in runs if any(pos[k] is not None and
                                      np.isfinite(aq[r, :, pos[k], unit]).any() for k in layers)]
        if hit:
            cols.append((norm, hit[0]))
        else:
            missing.append(norm)
    miss_note = "no activation data for %s" % ", ".join(missing) if missing else ""
    if not cols or not layers:
        return [_skip(name, title, "no act_quantiles data for %s at lr %g%s" % (
            arch, lr, "; " + miss_note if miss_note else ""))]
    fig = Figure(figsize=(max(7.0, 3.6 * len(cols) + 0.6), 2.8 * len(layers) + 0.9))
    axes = fig.subplots(len(layers), len(cols), squeeze=False, sharex=True, sharey="row")
    npair = len(q) // 2
    names = sw.var("act_layer_name") if sw.has("act_layer_name") else None
    data = {}
    for i, k in enumerate(layers):
        m = pos[k]
        for c, (norm, r) in enumerate(cols):
            ax = axes[i, c]
            qs = _finite(aq[r, :, m, unit, :]) if m is not None else np.full((len(probe), len(q)), np.nan)
            if not np.isfinite(qs).any():
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="gray")
                continue
            col = norm_color(norm)
            for j in range(npair):  # outer pairs lighter
                ax.fill_between(probe, qs[:, j], qs[:, -1 - j], color=col,
                                alpha=0.15 + 0.5 * (j + 1) / (npair + 1), linewidth=0,
                                label="_nolegend_")
            if len(q) % 2:
                ax.plot(probe, qs[:, npair], color="black", lw=1.0, gid="q%g" % q[npair],
                        label="median" if (i, c) == (0, 0) else "_nolegend_")
            data[(k, norm)] = {"run": int(r), "x": np.asarray(probe), "q": qs}
            if names is not None and names[r, m]:  # the tracked module differs per norm
                ax.text(0.02, 0.97, str(names[r, m]), transform=ax.transAxes, va="top",
                        fontsize="x-small", color="#444")
            if i == 0:
                ax.set_title("%s (run %d)" % (norm, r), fontsize="medium")
            if c == 0:
                ax.set_ylabel("act layer #%d" % k, fontsize="small")
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    pairs = ", ".join("%g-%g" % (q[k], q[-1 - k]) for k in range(npair))
    cap = ("Distribution over the batch (x height x width) of tracked unit %d's "
           "pre-activation (the normalization's output, or the dense/conv output without "
           "one) at each probe step: shaded bands between quantiles %s%s." % (
               unit, pairs, ", black line the median" if len(q) % 2 else ""))
    if miss_note:
        cap += " Note: " + miss_note + "."
    return [Plot(name, title, cap, _finish(fig, axes, title), note=miss_note, data=data)]


# -- 3. internal covariate shift (Fig 3) -----------------------------------------------
def fig_ics(sw, arch, norms=None, layers=None):
    """ICS per chosen layer: ||G - G'|| and cos(G, G') vs step, columns per lr."""
    name = "ics_" + slug(arch)
    title = "Internal covariate shift (Definition 2.1) - %s (Fig. 3)" % arch
    norms = _norms_of(sw, arch, norms)
    cells = _cells(sw, arch, norms, "ics_l2") if sw.has("ics_l2") else {}
    if not cells:
        return [_skip(name, title, "no ics_l2 data for %s (ICS probe off or not reached)" % arch)]
    n_l = _max_count(sw, arch, "n_layers", "layer")
    layers = default_layers(n_l, (1 / 3, 3 / 4)) if layers is None else list(layers)
    rows = [(k, v) for k in layers for v in ("ics_l2", "ics_cos") if sw.has(v)]
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 2.4 * len(rows) + 0.9))
    axes = fig.subplots(len(rows), len(lrs), squeeze=False, sharex=True)
    probe = sw.coords["probe"]
    data = {}
    for c, lr in enumerate(lrs):
        for i, (k, var) in enumerate(rows):
            ax = axes[i, c]
            arr = sw.var(var)
            m = _position(sw, "layer", k)
            for norm, idx in cells[lr]:
                if m is None:
                    continue
                st = seed_stats(arr[idx][:, :, m])
                if st[3] == 0:
                    continue
                _line(ax, probe, st, norm, label=i == 0)
                data[(var, lr, k, norm)] = st[0]
            if i == 0:
                ax.set_title("lr = %g" % lr, fontsize="medium")
            if c == 0:
                ax.set_ylabel("%s\nlayer %s" % ("||G - G'||" if var == "ics_l2" else "cos(G, G')",
                                                 _layer_label(sw, arch, "layer_name", "layer", k)),
                              fontsize="small")
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    cap = ("Gradient change of a layer when the layers before it take this step's update "
           "(same batch): l2 distance (0 is no shift) and cosine (1 is no shift). The first "
           "layer's ICS is 0 by definition.")
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 4. loss landscape, gradient predictiveness, beta smoothness (Fig 4, DLN Fig 5) ----
def fig_landscape(sw, arch, norms=None, name=None, title=None):
    """Per lr (row): band min..max over eta (and seeds) of landscape_loss, of
    landscape_grad_change, and beta_eff vs step (mean over seeds, seed band)."""
    fig_no = "Fig. 5, DLN" if is_dln(arch) else "Fig. 4"
    name = name or "landscape_" + slug(arch)
    title = title or "Loss landscape, gradient predictiveness, beta-smoothness - %s (%s)" % (
        arch, fig_no)
    norms = _norms_of(sw, arch, norms)
    cols = [v for v in ("landscape_loss", "landscape_grad_change", "beta_eff") if sw.has(v)]
    cells = {}
    for v in cols:
        for lr, row in _cells(sw, arch, norms, v).items():
            cells.setdefault(lr, {}).update(dict(row))
    if not cells:
        return [_skip(name, title, "no landscape data for %s (landscape probe off or not reached)"
                      % arch)]
    lrs = sorted(cells)
    fig = Figure(figsize=(12.5, 2.9 * len(lrs) + 0.9))
    axes = fig.subplots(len(lrs), len(cols), squeeze=False, sharex=True)
    probe = sw.coords["probe"]
    data = {}
    for i, lr in enumerate(lrs):
        for c, var in enumerate(cols):
            ax = axes[i, c]
            arr = sw.var(var)
            for norm in ordered_norms(list(cells[lr])):
                idx = cells[lr][norm]
                if not sw.finite(var, idx):
                    continue
                if var == "beta_eff":
                    st = seed_stats(arr[idx])
                    _line(ax, probe, st, norm, label=False)
                    data[(var, lr, norm)] = st[0]
                else:  # [seeds, probe, eta] -> band over seeds and eta
                    lo = _nanreduce(np.nanmin, arr[idx], (0, 2))
                    hi = _nanreduce(np.nanmax, arr[idx], (0, 2))
                    _band(ax, probe, lo, hi, norm)
                    data[(var, lr, norm)] = (lo, hi)
            if var == "landscape_loss":
                ax.set_yscale("log")
            if i == 0:
                ax.set_title({"landscape_loss": "loss variation: L(w - eta g)",
                              "landscape_grad_change": "gradient predictiveness\n"
                                                       "||g - grad L(w - eta g)||",
                              "beta_eff": "effective beta-smoothness"}[var], fontsize="medium")
            if c == 0:
                ax.set_ylabel("lr = %g" % lr)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    eta = np.asarray(sw.coords.get("eta", []), dtype=float)
    rng = " (eta/lr from %g to %g, %d points)" % (eta.min(), eta.max(), len(eta)) if len(eta) else ""
    cap = ("At each probe step, moving along the gradient g by step sizes eta%s: shaded bands "
           "span min..max over eta (and seeds) of the loss and of the gradient change; "
           "beta_eff = max over eta of ||g - grad L(w - eta g)|| / ||eta g||." % rng)
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 5. l_p normalizations (Sec. 3.3) --------------------------------------------------
def fig_lp(sw, arch):
    """Training curves and landscape of l1/l2/linf against BN and none."""
    present = _norms_of(sw, arch)
    lp = [n for n in present if n in LP_NORMS]
    base = "lp_%s_%s" % ("%s", slug(arch))
    if not lp:
        return [_skip(base % "training", "l_p normalizations - %s (Sec. 3.3)" % arch,
                      "no l1/l2/linf runs for %s" % arch)]
    norms = ordered_norms(lp + [n for n in ("none", "batch") if n in present])
    out = fig_training(sw, arch, norms, name=base % "training",
                       title="l_p normalization vs BN and none: training - %s (Sec. 3.3)" % arch)
    out += fig_landscape(sw, arch, norms, name=base % "landscape",
                         title="l_p normalization vs BN and none: landscape - %s (Sec. 3.3)"
                         % arch)
    return out


# -- 6. top Hessian eigenvalue vs 2/lr (edge of stability) -----------------------------
def fig_hessian(sw, arch, norms=None):
    name = "hessian_" + slug(arch)
    title = "Top Hessian eigenvalue vs step, with 2/lr - %s" % arch
    norms = _norms_of(sw, arch, norms)
    cells = _cells(sw, arch, norms, "hess_top_eig") if sw.has("hess_top_eig") else {}
    if not cells:
        return [_skip(name, title, "no hess_top_eig data for %s (Hessian probe off or not "
                      "reached)" % arch)]
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 3.6))
    axes = fig.subplots(1, len(lrs), squeeze=False)
    probe = sw.coords["probe"]
    data = {}
    for c, lr in enumerate(lrs):
        ax = axes[0, c]
        for norm, idx in cells[lr]:
            st = seed_stats(sw.var("hess_top_eig")[idx])
            _line(ax, probe, st, norm)
            data[(lr, norm)] = st[0]
        ax.axhline(2.0 / lr, color="black", ls=":", lw=1.2, gid="2/lr",
                   label="2/lr" if c == 0 else "_nolegend_")
        top = _finite(sw.var("hess_top_eig")[np.concatenate([i for _, i in cells[lr]])])
        if np.nanmin(top) > 0:
            ax.set_yscale("log")
        ax.set_title("lr = %g (2/lr = %g)" % (lr, 2.0 / lr), fontsize="medium")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("lambda_max of the loss Hessian")
    cap = ("Top Hessian eigenvalue (power iteration on Hessian-vector products) at each "
           "probe step; dotted: 2/lr, the edge of stability of gradient descent at that lr.")
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


def all_figures(sw, act_layers=None, ics_layers=None, unit=0):
    """Every figure of the report, in report order, for every architecture in the file."""
    archs = sw.values("arch")
    main = [n for n in NORM_ORDER if n not in LP_NORMS]
    others = [n for n in sw.values("norm") if n not in NORM_ORDER]
    main = main + others
    plots = []
    for arch in archs:
        plots += fig_training(sw, arch, main)
    if not sw.finite("act_quantiles"):
        plots.append(_skip("activations", "Activation distributions (Fig. 1 right, Fig. 2)",
                           "the file has no act_quantiles data (activation probe off, or "
                           "no run has reached a probe step)"))
    else:
        for arch in archs:
            for lr in sorted(sw.values("lr", sw.select(arch=arch))):
                plots += fig_activations(sw, arch, lr, layers=act_layers, unit=unit)
    for arch in archs:
        plots += fig_ics(sw, arch, main, layers=ics_layers)
    for arch in archs:
        plots += fig_landscape(sw, arch, main)
    for arch in archs:
        plots += fig_lp(sw, arch)
    for arch in archs:
        plots += fig_hessian(sw, arch)
    return plots
