"""Grouping: runs are pooled across seeds only. Every other varying axis (here momentum
and batch) splits the runs into facets (separate figures, separate claim settings),
never into one band."""
import itertools

import h5py
import numpy as np
import pytest

import analysis
from analysis import claims as C
from analysis import figures as F
from analysis import groups as G
from analysis.tests.conftest import _mpirun, _normsweep_bin
from analysis.tests.test_figures import band, line


class FakeSweep:
    """Just the run table groups.py looks at."""

    def __init__(self, rows, attrs=None):
        cols = rows[0].keys()
        self.runs = {c: np.array([r[c] for r in rows]) for c in cols}
        self.nrun = len(rows)
        self.attrs = attrs or {}


def _rows(**axes):
    keys = list(axes)
    return [dict(zip(keys, v)) for v in itertools.product(*axes.values())]


def test_facets_split_every_axis_but_lr_norm_seed():
    sw = FakeSweep(_rows(lr=[0.1, 0.5], arch=["vgg11"], norm=["none", "batch"],
                         momentum=[0.0, 0.9], batch=[64, 128], seed=[0, 1, 2]))
    fs = G.facets(sw)
    # in order of first appearance; axes named in CONFIG_AXES order
    assert [f[0] for f in fs] == ["vgg11, batch 64, momentum 0", "vgg11, batch 128, momentum 0",
                                  "vgg11, batch 64, momentum 0.9", "vgg11, batch 128, momentum 0.9"]
    assert sorted(np.concatenate([f[2] for f in fs]).tolist()) == list(range(sw.nrun))
    for label, vals, idx in fs:
        assert len(idx) == 2 * 2 * 3  # lr x norm x seed: only those share a facet
        assert len({sw.runs["momentum"][r] for r in idx}) == 1
        assert len({sw.runs["batch"][r] for r in idx}) == 1
    assert G.slug_of(fs[2][1]) == "vgg11_batch64_momentum0.9"
    # within a facet, seed groups are (lr, norm) cells of 3 seeds each
    sg = G.seed_groups(sw, fs[0][2])
    assert len(sg) == 4 and all(len(v) == 3 for v in sg.values())
    assert G.facet_axes(sw) == ["batch", "momentum"]


def test_axis_determined_by_another_is_not_named():
    rows = _rows(lr=[0.1], arch=["vgg11"], norm=["none"], seed=[0, 1])
    rows += _rows(lr=[0.1], arch=["dln"], norm=["none"], seed=[0, 1])
    for r in rows:
        r["batch"] = 128 if r["arch"] == "vgg11" else 1000
    fs = G.facets(FakeSweep(rows))
    assert [f[0] for f in fs] == ["vgg11", "dln"] and [len(f[2]) for f in fs] == [2, 2]
    assert G.settings(FakeSweep(rows))[0][0] == "vgg11"


def test_spec_axes_from_the_file():
    """An axis the store does not know yet (a future grid key) still splits, when the
    spec text in the file names it under grid:."""
    rows = _rows(lr=[0.1], arch=["a"], norm=["none"], warmup=[0, 100], seed=[0, 1])
    sw = FakeSweep(rows, {"spec_text": "grid:\n  lr: [0.1]\n  warmup: [0, 100]\n"})
    assert [f[0] for f in G.facets(sw)] == ["a, warmup 0", "a, warmup 100"]
    assert len(G.facets(FakeSweep(rows))) == 1  # without the spec: not known as an axis


AXES_SPEC = """\
name: axes-test
data: "synthetic-cls:n=128,test=64,c=1,h=4,w=4,classes=3"
train: {steps: 12, log_every: 1, eval_every: 0}
grid:
  lr: [0.05]
  arch: ["mlp:16-8-3"]
  norm: [none, batch]
  momentum: [0.0, 0.9]
  batch: [16, 32]
  seed: [0, 1]
probes: {every: 6, eta: {count: 3}, ics: {layers: all}}
"""


@pytest.fixture(scope="module")
def axes_file(tmp_path_factory):
    b = _normsweep_bin()
    d = tmp_path_factory.mktemp("axes")
    spec = d / "axes.yaml"
    spec.write_text(AXES_SPEC)
    out = str(d / "axes.h5")
    _mpirun(b, ["run", str(spec), "-o", out, "--force", "--quiet"], d)
    return out


def test_real_file_momentum_and_batch_are_not_pooled(axes_file):
    sw = analysis.read_sweep(axes_file)
    with h5py.File(axes_file, "r") as f:
        tl, ll = f["train_loss"][()], f["landscape_loss"][()]
        mom, bat = f["momentum"][()], f["batch"][()]
        norm = np.asarray(f["norm"].asstr()[()], dtype=str)  # text either kind of string
    facets = F.all_facets(sw)
    assert len(facets) == 4
    names = set()
    for fa in facets:
        m, b = fa.values["momentum"], fa.values["batch"]
        # exactly the runs with this momentum and batch
        want = np.flatnonzero(np.isclose(mom, m) & (bat == b))
        np.testing.assert_array_equal(np.sort(fa.idx), want)
        (p,) = F.fig_training(sw, fa, ["none", "batch"])
        names.add(p.name)
        assert ("momentum %g" % m) in p.title and ("batch %d" % b) in p.title
        ax = p.fig.axes[0]
        bn = want[norm[want] == "batch"]
        assert len(bn) == 2  # the two seeds, and nothing else
        ln = line(ax, "batch")
        np.testing.assert_allclose(ln.get_ydata(), tl[bn].mean(axis=0))
        assert ln.get_label() == "batch (2 seeds)"
        x, lo, hi = band(ax, 1)  # the none line's band first, then batch's
        np.testing.assert_allclose(lo, tl[bn].min(axis=0))
        np.testing.assert_allclose(hi, tl[bn].max(axis=0))
        (p,) = F.fig_landscape(sw, fa, ["batch"])
        rng = ll[bn].max(axis=2) - ll[bn].min(axis=2)
        np.testing.assert_allclose(p.data[("loss_range", 0.05, "batch")], rng.mean(axis=0))
    assert len(names) == 4 and any("momentum0.9" in n and "batch16" in n for n in names)
    # the claims table: one setting per (momentum, batch), seed spread over 2 seeds
    claims = C.evaluate(sw)
    assert len({c.setting for c in claims}) == 4
    ch = [c for c in claims if c.number == 2][0].checks[0]
    assert ch.values["batch"].n == 2 and ch.values["none"].n == 2
    plots = F.all_figures(sw)
    assert len({p.name for p in plots}) == len(plots)
