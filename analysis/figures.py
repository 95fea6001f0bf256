"""figures.py - the paper's figures from a results file (a load.Sweep).

Every figure function returns a list of Plot: the matplotlib Figure (or None when the
file has no data for it, with `note` saying why) and `data`, the arrays it plotted, so a
test (or a user) can check them. Figures are plain matplotlib.figure.Figure objects (no
pyplot state, Agg rendering on save), so this module is safe in scripts and notebooks.

Conventions (docs/analysis.md, "Figures"):
- runs are grouped by every axis that varies except the seed (analysis/groups.py):
  one figure per facet (architecture, and batch / momentum / weight decay / init / ...
  when they vary), columns (or rows) per learning rate, colours per normalization;
- the seeds of a group are its band: the line is the mean over seeds (the median in
  the curvature figures, figures_curv.py), the light band min..max over seeds, the seed
  count in the legend; nothing else is ever a band;
- the spread over eta (the landscape probe's step sizes) is summarized per probe step
  (range over eta, max over eta), and drawn against eta in its own figure;
- NaN (unwritten: running, killed, pending runs) is left out, so a running run
  contributes the steps it has logged; non-finite values (overflow) are not drawn;
- one log-axis rule for every figure (log_scale_if): log when every finite value is
  > 0 and they span a factor of LOG_RATIO or more, with ticks at 1, 2, 5 x 10^k;
- a probe step where a run is still on its initial plateau (claims.on_plateau) is
  marked with a hollow circle on the landscape and ICS lines;
- every line carries a gid naming what it is ('batch', 'batch:test', 'q0.5', '2/lr',
  'batch:random', ...), so tests and users can find it in ax.get_lines().
"""
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

from . import claims, groups

NORM_ORDER = ("none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group")
LP_NORMS = ("l1", "l2", "linf")
# Okabe-Ito colours (readable for colour-blind viewers, none of them brown); light
# bands of two of them overlap in a pale mix, not a muddy one.
NORM_COLORS = {"none": "#000000", "batch": "#0072B2", "noisy_batch": "#E69F00",
               "l1": "#009E73", "l2": "#D55E00", "linf": "#CC79A7", "layer": "#56B4E9",
               "group": "#7F7F7F"}
_EXTRA_COLORS = ("#17becf", "#bcbd22", "#9467bd", "#2ca02c", "#e377c2")
BAND_ALPHA = 0.15
LOG_RATIO = 10.0
MAX_LR_COLUMNS = 6


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


# -- the one log-axis rule ------------------------------------------------------------
def _log_ticks(lo, hi):
    decades = np.log10(hi) - np.log10(lo) if hi > lo > 0 else 0
    return (1.0, 2.0, 5.0) if decades <= 3 else (1.0,)


def log_scale_if(ax, values, axis="y"):
    """THE rule for every figure: a log axis when every finite value is > 0 and they
    span a factor >= LOG_RATIO; ticks at 1, 2, 5 x 10^k (1 x 10^k beyond 3 decades),
    labelled in plain numbers. Returns whether the axis is log."""
    v = _finite(values)
    v = v[np.isfinite(v)]
    if not v.size or v.min() <= 0 or v.max() / v.min() < LOG_RATIO:
        return False
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    sub = ax.yaxis if axis == "y" else ax.xaxis
    sub.set_major_locator(LogLocator(base=10.0, subs=_log_ticks(v.min(), v.max()), numticks=30))
    sub.set_major_formatter(FuncFormatter(lambda x, _: "%g" % x))
    sub.set_minor_locator(NullLocator())
    sub.set_minor_formatter(NullFormatter())
    return True


# -- drawing helpers ------------------------------------------------------------------
def _seed_label(norm, n, suffix=""):
    return "%s%s" % (norm, suffix) if n <= 1 else "%s%s (%d seeds)" % (norm, suffix, n)


def _line(ax, x, stats, norm, label=True, **kw):
    """A mean line with its light seed band (when more than one seed has data)."""
    mean, lo, hi, n = stats
    c = kw.pop("color", norm_color(norm))
    lab = kw.pop("label_text", None) or _seed_label(norm, n)
    ln, = ax.plot(x, mean, color=c, label=lab if label else "_nolegend_",
                  gid=kw.pop("gid", norm), **kw)
    if n > 1:
        ax.fill_between(x, lo, hi, color=c, alpha=BAND_ALPHA, linewidth=0, label="_nolegend_")
    return ln


def _mark_plateau(ax, x, y, mask, norm):
    """Hollow circles where (some seed of) a group is still on its initial plateau."""
    mask = np.asarray(mask, dtype=bool)
    y = np.asarray(y, dtype=float)
    ok = mask & np.isfinite(y)
    if ok.any():
        ax.plot(np.asarray(x)[ok], y[ok], ls="none", marker="o", ms=7, mfc="white",
                mec=norm_color(norm), mew=1.4, gid=norm + ":plateau", label="_nolegend_",
                zorder=5)


def plateau_mask(sw, idx):
    """Per probe step t > 0: whether any run of idx is still on its initial plateau there
    (step 0 is the initialization itself, never marked)."""
    probe = np.asarray(sw.coords.get("probe", []))
    return np.array([t > 0 and any(claims.on_plateau(sw, r, int(t)) for r in idx)
                     for t in probe], dtype=bool)


def _skip(name, title, note):
    return Plot(name=name, title=title, caption="", fig=None, note=note)


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
        ncol = max(1, min(len(labels), int(w / 2.2)))
        fig.legend(list(labels.values()), list(labels.keys()), loc="upper center", ncol=ncol,
                   bbox_to_anchor=(0.5, top), frameon=False, fontsize="medium")
        top -= 0.32 * -(-len(labels) // ncol) / h
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


SEED_CAPTION = ("Lines: mean over seeds; light bands: min..max over seeds (the count is in "
                "the legend). ")
PLATEAU_CAPTION = ("Hollow circles: a probe step where a run of that line is still on its "
                   "initial plateau (training loss >= %g x its initial loss), where its "
                   "landscape and ICS say little. " % claims.PLATEAU_FRACTION)


# -- facets ---------------------------------------------------------------------------
class Facet:
    """The runs of one figure: every run with the same values of the varying axes other
    than lr, norm and seed. `label` names them ('vgg11:width=0.125, momentum 0.9')."""

    def __init__(self, sw, label, values, idx):
        self.sw, self.label, self.values = sw, label, values
        self.idx = np.asarray(idx, dtype=int)
        self.slug = groups.slug_of(values) if values else "all"
        self.arch = values.get("arch", sw.runs["arch"][self.idx[0]] if len(self.idx) else "")

    def runs(self, **crit):
        """Runs of this facet matching crit (as Sweep.select)."""
        sel = set(self.sw.select(**crit).tolist())
        return np.asarray([r for r in self.idx if r in sel], dtype=int)

    def lrs(self, grid_only=False):
        idx = self.idx
        if grid_only and "random_sample" in self.sw.runs:
            g = idx[np.asarray(self.sw.runs["random_sample"])[idx] < 0]
            idx = g if len(g) else idx
        return sorted(self.sw.values("lr", idx))

    def column_lrs(self):
        """The learning rates that get a column: the grid's (random-search runs are in
        the lr-tolerance figure), at most MAX_LR_COLUMNS, evenly picked."""
        lrs = self.lrs(grid_only=True)
        if len(lrs) > MAX_LR_COLUMNS:
            pick = np.unique(np.round(np.linspace(0, len(lrs) - 1, MAX_LR_COLUMNS)).astype(int))
            lrs = [lrs[i] for i in pick]
        return lrs

    def norms(self, allowed=None):
        present = self.sw.values("norm", self.idx)
        return ordered_norms([n for n in present if allowed is None or n in allowed])

    def cells(self, norms, var, lrs=None):
        """{lr: [(norm, run indices)]} for lrs/norms that have finite `var`."""
        out = {}
        for lr in (self.column_lrs() if lrs is None else lrs):
            row = []
            for norm in norms:
                idx = self.runs(lr=lr, norm=norm)
                if len(idx) and self.sw.finite(var, idx):
                    row.append((norm, idx))
            if row:
                out[lr] = row
        return out


def as_facet(sw, facet):
    """A Facet from a Facet, a (label, values, idx) tuple of groups.facets, or an arch
    string (all runs of that arch: call it only when nothing else varies)."""
    if isinstance(facet, Facet):
        return facet
    if isinstance(facet, tuple):
        return Facet(sw, *facet)
    return Facet(sw, str(facet), {"arch": facet}, sw.select(arch=facet))


def all_facets(sw):
    return [Facet(sw, *f) for f in groups.facets(sw)]


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


def _position(sw, dim, k):
    """Index along dim of layer number k (the dim's coordinate: 1..L), None if absent."""
    c = sw.coords.get(dim)
    if c is None:
        return None
    hit = np.flatnonzero(np.asarray(c) == k)
    return int(hit[0]) if len(hit) else None


def _max_count(sw, idx, column, dim):
    if column in sw.runs:
        v = np.asarray(sw.runs[column])[np.asarray(idx, dtype=int)]
        v = v[v >= 0]
        if len(v):
            return int(v.max())
    return len(sw.coords.get(dim, []))


def _layer_label(sw, idx, var, dim, k):
    """'#4 features.12': layer number k with the module name from the first run that
    has one."""
    i = _position(sw, dim, k)
    if sw.has(var) and i is not None:
        names = sw.var(var)
        for r in idx:
            if names[r, i]:
                return "#%d %s" % (k, names[r, i])
    return "#%d" % k


def _title(what, f, fig_no=""):
    return "%s - %s%s" % (what, f.label, " (%s)" % fig_no if fig_no else "")


# -- 1. training curves (Fig 1 left) ---------------------------------------------------
def fig_training(sw, facet, norms=None, name=None, title=None):
    """Train loss (top) and train/test accuracy (bottom) vs step, one column per lr."""
    f = as_facet(sw, facet)
    norms = f.norms(norms)
    name = name or "training_" + f.slug
    title = title or _title("Training loss and accuracy vs step", f, "Fig. 1 left")
    cells = f.cells(norms, "train_loss")
    if not cells:
        return [_skip(name, title, "no train_loss data for %s" % f.label)]
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 6.6))
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
        log_scale_if(a_loss, sw.var("train_loss")[np.concatenate([i for _, i in cells[lr]])])
        a_acc.set_xlabel("step")
        a_loss.grid(alpha=0.3)
        a_acc.grid(alpha=0.3)
    axes[0, 0].set_ylabel("train loss")
    axes[1, 0].set_ylabel("accuracy (solid: train, dashed: test)")
    cap = (SEED_CAPTION + "Training loss and accuracy per step on the step's batch; dashed "
           "markers: test accuracy at evaluation points. Columns: learning rate.")
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 2. activation distributions (Fig 1 right, Fig 2) -----------------------------------
def fig_activations(sw, facet, lr, norms=None, layers=None, unit=0):
    """Quantile bands of one tracked unit's pre-activation over probe steps; rows:
    activation layers (numbers 1..M, the act_layer coordinate), columns: normalizations
    (default none, BN, noisy BN). One run per column: the lowest seed that has data
    (quantile bands of several seeds would be a band of bands)."""
    f = as_facet(sw, facet)
    name = "activations_%s_lr%s" % (f.slug, slug("%g" % lr))
    title = _title("Activation distribution over training, lr = %g" % lr, f,
                   "Fig. 1 right, Fig. 2")
    if not sw.has("act_quantiles"):
        return [_skip(name, title, "the file has no act_quantiles (activation probe off)")]
    want = f.norms(norms or ("batch", "noisy_batch", "none"))
    m_max = _max_count(sw, f.idx, "n_act_layers", "act_layer")
    layers = default_layers(m_max, (2 / 12, 10 / 12)) if layers is None else list(layers)
    pos = {k: _position(sw, "act_layer", k) for k in layers}
    aq = sw.var("act_quantiles")
    q = np.asarray(sw.coords["quantile"], dtype=float)
    probe = sw.coords["probe"]
    cols, missing = [], []
    for norm in want:
        runs = sorted(f.runs(lr=lr, norm=norm), key=lambda r: sw.runs["seed"][r])
        hit = [r for r in runs if any(pos[k] is not None and
                                      np.isfinite(aq[r, :, pos[k], unit]).any() for k in layers)]
        if hit:
            cols.append((norm, hit[0]))
        else:
            missing.append(norm)
    miss_note = "no activation data for %s" % ", ".join(missing) if missing else ""
    if not cols or not layers:
        return [_skip(name, title, "no act_quantiles data for %s at lr %g%s" % (
            f.label, lr, "; " + miss_note if miss_note else ""))]
    fig = Figure(figsize=(max(7.0, 3.6 * len(cols) + 0.6), 2.8 * len(layers) + 0.9))
    axes = fig.subplots(len(layers), len(cols), squeeze=False, sharex=True, sharey="row")
    npair = len(q) // 2
    names = sw.var("act_layer_name") if sw.has("act_layer_name") else None
    data = {}
    for i, k in enumerate(layers):
        m = pos[k]
        for c, (norm, r) in enumerate(cols):
            ax = axes[i, c]
            qs = (_finite(aq[r, :, m, unit, :]) if m is not None
                  else np.full((len(probe), len(q)), np.nan))
            if not np.isfinite(qs).any():
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="gray")
                continue
            col = norm_color(norm)
            for j in range(npair):  # outer pairs lighter
                ax.fill_between(probe, qs[:, j], qs[:, -1 - j], color=col,
                                alpha=0.12 + 0.4 * (j + 1) / (npair + 1), linewidth=0,
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
           "one) at each probe step, one run (the lowest seed): shaded bands between "
           "quantiles %s%s." % (unit, pairs, ", black line the median" if len(q) % 2 else ""))
    if miss_note:
        cap += " Note: " + miss_note + "."
    return [Plot(name, title, cap, _finish(fig, axes, title), note=miss_note, data=data)]


# -- 3. internal covariate shift (Fig 3) -----------------------------------------------
def fig_ics(sw, facet, norms=None, layers=None):
    """ICS per chosen layer: ||G - G'|| and cos(G, G') vs step, columns per lr."""
    f = as_facet(sw, facet)
    name = "ics_" + f.slug
    title = _title("Internal covariate shift (Definition 2.1)", f, "Fig. 3")
    norms = f.norms(norms)
    cells = f.cells(norms, "ics_l2") if sw.has("ics_l2") else {}
    if not cells:
        return [_skip(name, title, "no ics_l2 data for %s (ICS probe off or not reached)"
                      % f.label)]
    n_l = _max_count(sw, f.idx, "n_layers", "layer")
    layers = default_layers(n_l, (1 / 3, 3 / 4)) if layers is None else list(layers)
    rows = [(k, v) for k in layers for v in ("ics_l2", "ics_cos") if sw.has(v)]
    lrs = list(cells)
    fig = Figure(figsize=(max(7.0, 3.8 * len(lrs) + 0.6), 2.4 * len(rows) + 1.0))
    axes = fig.subplots(len(rows), len(lrs), squeeze=False, sharex=True)
    probe = sw.coords["probe"]
    data = {}
    for c, lr in enumerate(lrs):
        plateau = {norm: plateau_mask(sw, idx) for norm, idx in cells[lr]}
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
                _line(ax, probe, st, norm, label=i == 0, marker=".", ms=4)
                _mark_plateau(ax, probe, st[0], plateau[norm], norm)
                data[(var, lr, k, norm)] = st[0]
            if i == 0:
                ax.set_title("lr = %g" % lr, fontsize="medium")
            if c == 0:
                ax.set_ylabel("%s\nlayer %s" % ("||G - G'||" if var == "ics_l2" else "cos(G, G')",
                                                 _layer_label(sw, f.idx, "layer_name", "layer", k)),
                              fontsize="small")
            if var == "ics_l2":
                log_scale_if(ax, arr[np.concatenate([i_ for _, i_ in cells[lr]])][:, :, m]
                             if m is not None else [])
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    cap = (SEED_CAPTION + PLATEAU_CAPTION + "Gradient change of a layer when the layers "
           "before it take this step's update (same batch): l2 distance (0 is no shift) and "
           "cosine (1 is no shift). The first layer's ICS is 0 by definition.")
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 4. loss landscape, gradient predictiveness, beta smoothness (Fig 4, DLN Fig 5) ----
LANDSCAPE_COLUMNS = (
    ("loss_range", "landscape_loss", "loss variation over eta\nmax - min of L(w - eta g)"),
    ("grad_change", "landscape_grad_change", "gradient predictiveness\n"
                                             "max over eta of ||g - grad L(w - eta g)||"),
    ("beta_eff", "beta_eff", "effective beta-smoothness\n(max over eta)"),
)


def eta_summary(sw, var, idx):
    """[runs, probe] summary over eta of a landscape trace: range (loss) or max."""
    a = _finite(sw.var(var)[np.asarray(idx, dtype=int)])
    if a.ndim == 2:  # beta_eff: already a max over eta
        return a
    hi = _nanreduce(np.nanmax, a, 2)
    return hi - _nanreduce(np.nanmin, a, 2) if var.endswith("_loss") else hi


def fig_landscape(sw, facet, norms=None, name=None, title=None):
    """Per lr (row): the landscape probe's summaries over eta vs step - loss range,
    max gradient change, beta_eff - each the mean over seeds with its seed band."""
    f = as_facet(sw, facet)
    fig_no = "Fig. 5, DLN" if is_dln(f.arch) else "Fig. 4"
    name = name or "landscape_" + f.slug
    title = title or _title("Loss landscape, gradient predictiveness, beta-smoothness", f, fig_no)
    norms = f.norms(norms)
    cols = [c for c in LANDSCAPE_COLUMNS if sw.has(c[1])]
    cells = {}
    for _, v, _ in cols:
        for lr, row in f.cells(norms, v).items():
            cells.setdefault(lr, {}).update(dict(row))
    if not cells:
        return [_skip(name, title, "no landscape data for %s (landscape probe off or not "
                      "reached)" % f.label)]
    lrs = sorted(cells)
    fig = Figure(figsize=(12.5, 2.9 * len(lrs) + 1.1))
    axes = fig.subplots(len(lrs), len(cols), squeeze=False, sharex=True)
    probe = sw.coords["probe"]
    data = {}
    for i, lr in enumerate(lrs):
        for c, (key, var, head) in enumerate(cols):
            ax = axes[i, c]
            shown = []
            for norm in ordered_norms(list(cells[lr])):
                idx = cells[lr][norm]
                if not sw.finite(var, idx):
                    continue
                summ = eta_summary(sw, var, idx)
                st = seed_stats(summ)
                _line(ax, probe, st, norm, label=(i, c) == (0, 0), marker=".", ms=4)
                _mark_plateau(ax, probe, st[0], plateau_mask(sw, idx), norm)
                data[(key, lr, norm)] = st[0]
                shown.append(summ)
            if shown:
                log_scale_if(ax, np.concatenate([s.ravel() for s in shown]))
            if i == 0:
                ax.set_title(head, fontsize="medium")
            if c == 0:
                ax.set_ylabel("lr = %g" % lr)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    eta = np.asarray(sw.coords.get("eta", []), dtype=float)
    rng = " (eta/lr from %g to %g, %d points)" % (eta.min(), eta.max(), len(eta)) if len(eta) else ""
    cap = (SEED_CAPTION + PLATEAU_CAPTION + "At each probe step the landscape probe moves "
           "along the gradient g by step sizes eta%s; each run is summarized over eta (loss "
           "range max - min, max gradient change, beta_eff = max over eta of ||g - grad "
           "L(w - eta g)|| / ||eta g||), and the lines/bands are over seeds of those "
           "summaries. The curves over eta themselves are in the 'landscape along eta' "
           "figure." % rng)
    return [Plot(name, title, cap, _finish(fig, axes, title), data=data)]


# -- 5. l_p normalizations (Sec. 3.3) --------------------------------------------------
def fig_lp(sw, facet):
    """Training curves and landscape of l1/l2/linf against BN and none."""
    f = as_facet(sw, facet)
    present = f.norms()
    lp = [n for n in present if n in LP_NORMS]
    base = "lp_%s_%s" % ("%s", f.slug)
    if not lp:
        return [_skip(base % "training", _title("l_p normalizations", f, "Sec. 3.3"),
                      "no l1/l2/linf runs for %s" % f.label)]
    norms = ordered_norms(lp + [n for n in ("none", "batch") if n in present])
    out = fig_training(sw, f, norms, name=base % "training",
                       title=_title("l_p normalization vs BN and none: training", f, "Sec. 3.3"))
    out += fig_landscape(sw, f, norms, name=base % "landscape",
                         title=_title("l_p normalization vs BN and none: landscape", f,
                                      "Sec. 3.3"))
    return out


def all_figures(sw, act_layers=None, ics_layers=None, unit=0):
    """Every figure of the report, in report order, for every facet of the file."""
    from . import figures_curv as C, figures_extra as X
    facets = all_facets(sw)
    main = [n for n in NORM_ORDER if n not in LP_NORMS]
    main = main + [n for n in sw.values("norm") if n not in NORM_ORDER]
    plots = []
    for f in facets:
        plots += fig_training(sw, f, main)
    for f in facets:
        plots += X.fig_lr_tolerance(sw, f)
    if not sw.finite("act_quantiles"):
        plots.append(_skip("activations", "Activation distributions (Fig. 1 right, Fig. 2)",
                           "the file has no act_quantiles data (activation probe off, or "
                           "no run has reached a probe step)"))
    else:
        for f in facets:
            for lr in f.column_lrs():
                plots += fig_activations(sw, f, lr, layers=act_layers, unit=unit)
    for f in facets:
        plots += fig_ics(sw, f, main, layers=ics_layers)
    for f in facets:
        plots += fig_landscape(sw, f, main)
    for f in facets:
        plots += X.fig_landscape_eta(sw, f, main)
    for f in facets:
        plots += X.fig_random_direction(sw, f, main)
    for f in facets:
        plots += fig_lp(sw, f)
    if sw.has("hess_top_eig"):  # the FD power iteration: left out when its probe is off
        for f in facets:
            plots += X.fig_hessian(sw, f)
    plots += C.curv_figures(sw, facets)  # only those whose probe the file has
    for f in facets:
        plots += X.fig_grad_depth(sw, f)
    for f in facets:
        plots += X.fig_thm41(sw, f)
    return plots
