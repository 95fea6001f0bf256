"""The curvature figures (analysis/figures_curv.py) plot make_fixture's closed forms:
the lines are the medians over seeds of |lambda|, hollow markers sit exactly at the
non-converged points, negative medians are triangles, the edge of stability is at 2/lr,
each SLQ density integrates to 1 and equals the Gaussian sum of the nodes, the heat-map
cells are the seed medians with exactly the non-converged cells hatched, and a figure
whose variables are absent is skipped (in the report: left out)."""
import warnings

import h5py
import numpy as np
import pytest
from matplotlib.colors import LogNorm

import analysis
from analysis import figures as F
from analysis import figures_curv as C
from analysis.tests import make_fixture as fx
from analysis.tests.test_figures import band, line, lines, runs_of

VGG, DLN = fx.ARCHS
MODES = fx.CURV_MODES


@pytest.fixture(scope="module")
def sw(files):
    return analysis.read_sweep(files["full"])


def top_median(lr, arch, norm, k, mode):
    """Median over seeds of the closed form, per probe step (k = 'min': lambda_min)."""
    rs = runs_of(lr, arch, norm)
    f = (lambda r, p: fx.curv_min_eig(r, p, mode)) if k == "min" else \
        (lambda r, p: fx.curv_top_eig(r, p, k, mode))
    return np.median([[f(r, p) for p in fx.PROBE] for r in rs], axis=0)


def test_helpers():
    med, lo, hi, n = C.seed_median(np.array([[1.0, np.nan], [2.0, 5.0], [100.0, np.inf]]))
    np.testing.assert_array_equal(med, [2.0, 5.0])  # the median, not the mean (34.3)
    np.testing.assert_array_equal(lo, [1.0, 5.0])
    np.testing.assert_array_equal(hi, [100.0, 5.0])
    assert n == 3
    # -1 (unwritten) is not "not converged"; one 0 among the seeds is
    np.testing.assert_array_equal(C.unconverged(np.array([[1, -1, 1], [1, -1, 0]])),
                                  [False, False, True])


def test_top_lines_are_seed_medians_of_abs_lambda(sw):
    (p,) = C.fig_curv_top(sw, VGG)
    assert p.name == "curv_top_vgg11_width_0.125"
    axes = np.array(p.fig.axes).reshape(2, 2)  # rows: train, eval; columns: lr 0.1, 0.5
    for i, mode in enumerate(MODES):
        assert axes[i, 0].get_ylabel().startswith(mode)
        for c, lr in enumerate(fx.LRS):
            ax = axes[i, c]
            edge = line(ax, "2/lr")
            np.testing.assert_allclose(edge.get_ydata(), [2.0 / lr, 2.0 / lr])
            assert ax.get_yscale() == "log"
            for norm in fx.NORMS:
                for k in (1, 2, 3, "min"):
                    want = top_median(lr, VGG, norm, k, mode)
                    gid = "%s:lam%s" % (norm, "_min" if k == "min" else k)
                    ln = line(ax, gid)
                    np.testing.assert_allclose(ln.get_xdata(), fx.PROBE)
                    np.testing.assert_allclose(ln.get_ydata(), np.abs(want))
                    np.testing.assert_allclose(p.data[(mode, lr, norm, k)], want)
    assert axes[0, 0].get_title() == "lr = 0.1 (2/lr = 20)"
    assert line(axes[0, 0], "batch:lam1").get_label() == "batch (2 seeds)"
    # the seed band: lambda_1 only (one per norm, in norm order), min..max of |lambda_1|
    assert len(axes[0, 0].collections) == len(fx.NORMS)
    x, lo, hi = band(axes[0, 0], 1)  # batch
    seeds = np.array([[fx.curv_top_eig(r, pp, 1, "train") for pp in fx.PROBE]
                      for r in runs_of(0.1, VGG, "batch")])
    np.testing.assert_allclose(x, fx.PROBE)
    np.testing.assert_allclose(lo, seeds.min(axis=0))
    np.testing.assert_allclose(hi, seeds.max(axis=0))


def test_top_hollow_exactly_where_a_seed_did_not_converge(sw):
    """The fixture: batch seed 1's lambda_1 at step 40 and none seed 0's lambda_min at
    step 80 did not converge (every mode, lr and arch); nothing else."""
    for arch in fx.ARCHS:
        (p,) = C.fig_curv_top(sw, arch)
        axes = np.array(p.fig.axes).reshape(2, 2)
        for i, mode in enumerate(MODES):
            for c, lr in enumerate(fx.LRS):
                ax = axes[i, c]
                hollow = {}
                for ln in ax.get_lines():
                    gid = ln.get_gid() or ""
                    if gid.endswith(":hollow"):
                        assert ln.get_markerfacecolor() == "none"
                        hollow[gid] = list(ln.get_xdata())
                    elif gid.endswith((":pos", ":neg")):
                        assert ln.get_markerfacecolor() == ln.get_color()  # filled
                assert hollow == {"batch:lam1:pos:hollow": [40], "none:lam_min:neg:hollow": [80]}
                y = line(ax, "batch:lam1:pos:hollow").get_ydata()
                np.testing.assert_allclose(y, [top_median(lr, arch, "batch", 1, mode)[2]])
                # the line through every step; filled circles at every other step
                np.testing.assert_array_equal(line(ax, "batch:lam1").get_xdata(), fx.PROBE)
                np.testing.assert_array_equal(line(ax, "batch:lam1:pos").get_xdata(),
                                              fx.PROBE[fx.PROBE != 40])
                np.testing.assert_array_equal(
                    p.data[(mode, lr, "batch", 1, "hollow")], fx.PROBE == 40)
                np.testing.assert_array_equal(
                    p.data[(mode, lr, "none", "min", "hollow")], fx.PROBE == 80)
        assert "Hollow marker" in p.caption and "at least one seed" in p.caption


def test_top_negative_eigenvalues_are_triangles(sw):
    (p,) = C.fig_curv_top(sw, DLN)
    ax = p.fig.axes[0]  # train, lr 0.1
    # none's lambda_3 < 0 at every step: |lambda| as triangles, no circles
    neg = line(ax, "none:lam3:neg")
    assert neg.get_marker() == "v"
    np.testing.assert_allclose(neg.get_ydata(), -top_median(0.1, DLN, "none", 3, "train"))
    assert lines(ax, "none:lam3:pos") == [] and lines(ax, "none:lam3:neg:hollow") == []
    # lambda_min: negative except for l2 (+0.01, a circle)
    assert line(ax, "batch:lam_min:neg").get_marker() == "v"
    pos = line(ax, "l2:lam_min:pos")
    assert pos.get_marker() == "o"
    np.testing.assert_allclose(pos.get_ydata(), 0.01)
    assert lines(ax, "l2:lam_min:neg") == []
    # lambda_1 > 0: circles only
    assert lines(ax, "batch:lam1:neg") == [] and line(ax, "batch:lam1:pos").get_marker() == "o"
    labels = p.fig.legends[0].get_texts()
    assert "negative: |lambda| shown" in [t.get_text() for t in labels]
    assert "triangle (v)" in p.caption and "2/lr" in p.caption


def _density_want(mode, lr, arch, norm, step, t, sigma):
    per_seed = []
    for r in runs_of(lr, arch, norm):
        vecs = []
        for v in range(fx.NSLQ_V):
            th, w = fx.curv_slq(r, step, v, mode)
            ok = np.isfinite(th)
            z = (t[:, None] - th[ok]) / sigma
            vecs.append((w[ok] * np.exp(-z * z / 2)).sum(axis=1) / (sigma * np.sqrt(2 * np.pi)))
        per_seed.append(np.mean(vecs, axis=0))
    return np.mean(per_seed, axis=0)


def test_density_integrates_to_one_and_is_the_gaussian_sum(sw):
    (p,) = C.fig_curv_density(sw, VGG)
    steps = (0, 40, 80)  # first, middle, last probe step with data
    assert {k[2] for k in p.data if k[0] != "sigma"} == set(steps)
    axes = np.array(p.fig.axes).reshape(4, 3)  # rows (train, 0.1) (train, 0.5) (eval, ..)
    for i, (mode, lr) in enumerate((m, lr) for m in MODES for lr in fx.LRS):
        for c, step in enumerate(steps):
            ax = axes[i, c]
            assert ax.get_yscale() == "log"
            # sigma: 1% of the panel's node range (every norm's nodes)
            nodes = np.concatenate([fx.curv_slq(r, step, v, mode)[0] for n in fx.NORMS
                                    for r in runs_of(lr, VGG, n) for v in range(fx.NSLQ_V)])
            sigma = 0.01 * (np.nanmax(nodes) - np.nanmin(nodes))
            np.testing.assert_allclose(p.data[("sigma", mode, lr, step)], sigma)
            assert "sigma %.3g" % sigma in ax.get_title()
            peak = 0
            for norm in fx.NORMS:
                t, phi = p.data[(mode, lr, step, norm)]
                np.testing.assert_allclose(np.trapz(phi, t), 1.0, rtol=1e-4)
                np.testing.assert_allclose(phi, _density_want(mode, lr, VGG, norm, step, t, sigma),
                                           rtol=1e-9, atol=1e-300)
                peak = max(peak, phi.max())
            for norm in fx.NORMS:  # drawn where >= 1e-6 of the panel's peak
                t, phi = p.data[(mode, lr, step, norm)]
                y = line(ax, norm).get_ydata()
                keep = phi >= C.DENSITY_FLOOR * peak
                np.testing.assert_allclose(y[keep], phi[keep])
                assert np.isnan(y[~keep]).all()
            np.testing.assert_allclose(ax.get_ylim()[0], C.DENSITY_FLOOR * peak)
    assert line(axes[0, 0], "batch").get_label() == "batch (2 seeds)"
    # chosen steps
    (p2,) = C.fig_curv_density(sw, DLN, steps=[20])
    assert {k[2] for k in p2.data if k[0] != "sigma"} == {20} and len(p2.fig.axes) == 4


def test_layer_heat_map_cells_are_seed_medians(sw):
    for arch, nl in ((VGG, 6), (DLN, 4)):
        (p,) = C.fig_curv_layers(sw, arch)
        cols = [(m, lr) for m in MODES for lr in fx.LRS]
        axes = np.array(p.fig.axes[:-1]).reshape(len(fx.NORMS), len(cols))  # last: colour bar
        allv = []
        for i, norm in enumerate(fx.NORMS):
            for j, (mode, lr) in enumerate(cols):
                want = np.median([[[fx.curv_layer_top_eig(r, pp, l, mode) for pp in fx.PROBE]
                                   for l in range(nl)] for r in runs_of(lr, arch, norm)], axis=0)
                np.testing.assert_allclose(p.data[(mode, lr, norm)], want)
                mesh = axes[i, j].collections[0]
                np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(nl, -1), want)
                allv.append(want)
                hatched = [(pt.get_x(), pt.get_y()) for pt in axes[i, j].patches
                           if pt.get_gid() == "nonconverged"]
                # noisy_batch seed 0, layer 3 (position 2), step 20 (column 1): hatched
                assert hatched == ([(0.5, 2.5)] if norm == "noisy_batch" else [])
                if hatched:
                    assert axes[i, j].patches[0].get_hatch() == "///"
                assert p.data[(mode, lr, norm, "hollow")].sum() == len(hatched)
        mesh = axes[0, 0].collections[0]
        assert isinstance(mesh.norm, LogNorm)  # all > 0, spanning > 10x: the log rule
        np.testing.assert_allclose([mesh.norm.vmin, mesh.norm.vmax],
                                   [np.min(allv), np.max(allv)])
        assert [t.get_text() for t in axes[0, 0].get_yticklabels()] == [
            str(k) for k in range(1, nl + 1)]
        assert "Hatched red" in p.caption and "median over seeds" in p.caption


def test_skipped_when_absent(files, sw, tmp_path):
    # the partial fixture: curvature in train mode only, no slq, no layers
    sp = analysis.read_sweep(files["partial"])
    (p,) = C.fig_curv_density(sp, VGG)
    assert p.fig is None and "probes.curvature.slq off" in p.note
    (p,) = C.fig_curv_layers(sp, VGG)
    assert p.fig is None and "probes.curvature.layers off" in p.note
    plots = C.curv_figures(sp, F.all_facets(sp))  # the report leaves them out quietly
    assert [q.name for q in plots] == ["curv_top_vgg11_width_0.125", "curv_top_dln_depth_4",
                                       "curv_trace_vgg11_width_0.125", "curv_trace_dln_depth_4"]
    (p,) = C.fig_curv_top(sp, DLN)
    axes = p.fig.axes
    assert len(axes) == 1 and axes[0].get_title() == "lr = 0.1 (2/lr = 20)"  # train; lr 0.5 pending
    assert {k[0] for k in p.data} == {"train"}
    # running batch runs 10, 11 (steps 0..40 written): the median of both, NaN after
    y = line(axes[0], "batch:lam1").get_ydata()
    want = np.median([[fx.curv_top_eig(r, pp, 1, "train") for pp in fx.PROBE[:3]]
                      for r in (10, 11)], axis=0)
    np.testing.assert_allclose(y[:3], want)
    assert np.isnan(y[3:]).all()
    # no curvature at all: no figure in the report, a skip when asked
    path = fx.write(str(tmp_path / "nocurv.h5"), drop=fx.CURV_NAMES)
    s0 = analysis.read_sweep(path)
    assert not any(q.name.startswith("curv_") for q in F.all_figures(s0))
    for fn in (C.fig_curv_top, C.fig_curv_density, C.fig_curv_layers, C.fig_curv_trace):
        (q,) = fn(s0, VGG)
        assert q.fig is None and "off" in q.note
    with h5py.File(path, "r") as f:
        assert "eig" not in f and "slq_vec" not in f


def test_report_draws_the_curvature_figures(report_full, report_partial):
    full = report_full[1]
    for kind in ("curv_top", "curv_density", "curv_layers", "curv_trace"):
        for facet in ("vgg11_width_0.125", "dln_depth_4"):
            assert full["%s_%s" % (kind, facet)].fig is not None
    part = report_partial[1]
    assert sorted(n for n in part if n.startswith("curv_")) == [
        "curv_top_dln_depth_4", "curv_top_vgg11_width_0.125",
        "curv_trace_dln_depth_4", "curv_trace_vgg11_width_0.125"]


def nanmedian(a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: the diverged runs
        return np.nanmedian(a, axis=0)


def test_curvature_figures_on_the_real_file(real):
    """On a file `normsweep run` wrote (REAL_SPEC: curvature in both modes, k 2, 8
    Lanczos steps - so some estimates do not converge): every array equals the median
    over seeds of what h5py reads, hollow exactly where a seed's flag is 0."""
    sw = analysis.read_sweep(real["full"])
    plots = {p.name: p for p in C.curv_figures(sw, F.all_facets(sw))}
    assert sorted(plots) == ["curv_density_mlp_16-16-16-3", "curv_layers_mlp_16-16-16-3",
                             "curv_top_mlp_16-16-16-3", "curv_trace_mlp_16-16-16-3"]
    assert all(p.fig is not None for p in plots.values())
    runs = sw.runs
    with h5py.File(real["full"], "r") as f:
        n_hollow = 0
        for mode in MODES:
            top, conv = f["curv_top_eig_" + mode][()], f["curv_top_converged_" + mode][()]
            lay = f["curv_layer_top_eig_" + mode][()]
            top, lay = (np.where(np.isfinite(a), a, np.nan) for a in (top, lay))
            for lr in (0.05, 5.0):
                for norm in ("none", "batch", "noisy_batch", "l2"):
                    idx = np.flatnonzero((runs["norm"] == norm) & np.isclose(runs["lr"], lr))
                    d = plots["curv_top_mlp_16-16-16-3"].data
                    want = nanmedian(top[idx][:, :, 0])
                    np.testing.assert_array_equal(d[(mode, lr, norm, 1)], want)
                    hol = (conv[idx][:, :, 0] == 0).any(axis=0)
                    np.testing.assert_array_equal(d[(mode, lr, norm, 1, "hollow")], hol)
                    n_hollow += hol.sum()
                    dl = plots["curv_layers_mlp_16-16-16-3"].data[(mode, lr, norm)]
                    np.testing.assert_array_equal(dl, nanmedian(lay[idx]).T)
        assert n_hollow > 0  # 8 Lanczos steps: the real file has non-converged points
    for key, (t, phi) in ((k, v) for k, v in plots["curv_density_mlp_16-16-16-3"].data.items()
                          if k[0] != "sigma"):
        np.testing.assert_allclose(np.trapz(phi, t), 1.0, rtol=1e-3, err_msg=str(key))


def test_trace_lines_are_seed_means_with_the_runs_own_error(sw, files):
    (p,) = C.fig_curv_trace(sw, VGG)
    assert p.name == "curv_trace_vgg11_width_0.125"
    axes = np.array(p.fig.axes).reshape(2, 2)  # rows: train, eval; columns: lr
    with h5py.File(files["full"], "r") as f:
        for i, mode in enumerate(MODES):
            tr = f["curv_trace_" + mode][()]
            assert axes[i, 0].get_ylabel().startswith(mode)
            for c, lr in enumerate(fx.LRS):
                for norm in fx.NORMS:
                    rs = runs_of(lr, VGG, norm)
                    want = np.nanmean(np.where(np.isfinite(tr[rs]), tr[rs], np.nan), axis=0)
                    got = line(axes[i, c], "line:" + norm).get_ydata()
                    np.testing.assert_allclose(got, want)  # 10 + run, seed-averaged
                    np.testing.assert_allclose(p.data[(mode, lr, norm)], want)
    assert "standard error" in p.caption

