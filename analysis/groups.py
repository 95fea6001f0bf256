"""groups.py - which runs belong together in a figure or a claim.

A run is one point of the sweep's configuration space (lr, arch, norm, seed, batch,
momentum, ...). The rule every figure and the claims table follow:
- runs that differ only in their seed form one group: the seeds become the band;
- runs that differ in any other axis are never pooled: lr and norm are the figure's
  columns and colours, every other varying axis (arch, batch, momentum, weight decay,
  init, optimizer, ...) splits the runs into separate "facets" (one figure each).
"""
import numpy as np

# Run-table columns that are configuration, in the order a facet is named by.
# (`random_sample` is not one: a random run's configuration is its lr.)
CONFIG_AXES = ("arch", "batch", "momentum", "weight_decay", "init", "optimizer", "schedule",
               "steps")
# Shown as columns / colours / bands, never as facets.
PANEL_AXES = ("lr", "norm", "seed")


def lr_key(lr):
    """A float usable as a dict key: equal up to 1e-9 relative (as Sweep.select)."""
    return float("%.9g" % float(lr))


def _spec_axes(sw):
    """Axis names the sweep file itself declares (grid:, search: and random: keys), when the
    spec text is in the file and PyYAML is installed; [] otherwise."""
    text = sw.attrs.get("spec_text")
    if not isinstance(text, str) or not text.strip():
        return []
    try:
        import yaml
        doc = yaml.safe_load(text)
    except Exception:  # no PyYAML, or text it cannot parse: the known list is used
        return []
    out = []
    if isinstance(doc, dict):
        for sec in ("grid", "search", "random"):
            if isinstance(doc.get(sec), dict):
                out += [k for k in doc[sec] if isinstance(k, str)]
    return out


def config_axes(sw):
    """The configuration columns of this file's run table (known ones, then any other
    column the spec's grid/search/random sections name)."""
    cols = [c for c in CONFIG_AXES if c in sw.runs]
    cols += [c for c in _spec_axes(sw) if c in sw.runs and c not in cols and c not in PANEL_AXES]
    return cols


def _norm_value(v):
    if isinstance(v, (float, np.floating)):
        return lr_key(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def facet_axes(sw, idx=None):
    """The configuration axes (not lr/norm/seed) with more than one value among runs idx."""
    idx = np.arange(sw.nrun) if idx is None else np.asarray(idx, dtype=int)
    out = []
    for c in config_axes(sw):
        vals = {_norm_value(v) for v in np.asarray(sw.runs[c])[idx].tolist()}
        if len(vals) > 1:
            out.append(c)
    return out


def _label(axis, value):
    if axis == "arch":  # 'vgg11:width=0.125' names itself
        return str(value)
    if isinstance(value, float):
        return "%s %g" % (axis, value)
    return "%s %s" % (axis, value)


def facets(sw, idx=None, always=("arch",)):
    """Split runs idx into facets: [(label, {axis: value}, run indices)], one per
    combination of the varying configuration axes, in first-appearance order. Axes in
    `always` (default arch) are named in the label even when they do not vary; a varying
    axis that the other named axes already determine (the fixture's batch, which goes
    with the arch) is left out of the label, not out of the split."""
    idx = np.arange(sw.nrun) if idx is None else np.asarray(idx, dtype=int)
    vary = facet_axes(sw, idx)
    split = [a for a in config_axes(sw) if a in vary or a in always]
    out = {}
    for r in idx.tolist():
        key = tuple(_norm_value(sw.runs[a][r]) for a in split)
        out.setdefault(key, []).append(r)
    named = list(split)
    for a in reversed(split):  # drop axes the others determine, last ones first
        if a in always:
            continue
        rest = [i for i, b in enumerate(split) if b in named and b != a]
        if len({tuple(k[i] for i in rest) for k in out}) == len(out):
            named.remove(a)
    res = []
    for key, runs in out.items():
        vals = {a: v for a, v in zip(split, key) if a in named}
        label = ", ".join(_label(a, v) for a, v in vals.items())
        res.append((label, vals, np.asarray(runs, dtype=int)))
    return res


def settings(sw, idx=None):
    """Facets whose label names only the axes that vary (the claims table's settings):
    [(label or '', run indices)]."""
    return [(label if facet_axes(sw, idx) else "", runs)
            for label, _, runs in facets(sw, idx, always=())]


def seed_groups(sw, idx):
    """Runs idx grouped by everything but the seed: {(lr, norm, facet values...): runs}.
    Within one facet this is {(lr, norm): runs}."""
    named = config_axes(sw)
    out = {}
    for r in np.asarray(idx, dtype=int).tolist():
        key = (lr_key(sw.runs["lr"][r]), str(sw.runs["norm"][r])) + tuple(
            _norm_value(sw.runs[a][r]) for a in named)
        out.setdefault(key, []).append(r)
    return {k: np.asarray(v, dtype=int) for k, v in out.items()}


def slug_of(values):
    """A file-name fragment for a facet: 'vgg11_width-0.125_momentum0.9'."""
    parts = []
    for a, v in values.items():
        s = str(v) if a == "arch" else "%s%s" % (a, "%g" % v if isinstance(v, float) else v)
        parts.append(s)
    text = "_".join(parts)
    out = "".join(c if c.isalnum() or c in ".-" else "_" for c in text)
    return out.strip("_") or "all"
