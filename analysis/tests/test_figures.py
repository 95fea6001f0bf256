"""Every figure plots the right data: line data read back from the axes
(ax.get_lines()[k].get_ydata(), found by gid) and band vertices from fill_between,
compared with make_fixture's closed forms."""
import numpy as np
import pytest

import analysis
from analysis import figures as F
from analysis.tests import make_fixture as fx

VGG, DLN = fx.ARCHS


@pytest.fixture(scope="module")
def sw(files):
    return analysis.read_sweep(files["full"])


def lines(ax, gid):
    return [ln for ln in ax.get_lines() if ln.get_gid() == gid]


def line(ax, gid):
    found = lines(ax, gid)
    assert len(found) == 1, (gid, [ln.get_gid() for ln in ax.get_lines()])
    return found[0]


def band(ax, k):
    """(x, lower, upper) of the k-th fill_between of an axes."""
    v = ax.collections[k].get_paths()[0].vertices
    n = (len(v) - 3) // 2  # start point, n lower, closing point, n upper reversed, close
    lower = v[1:n + 1]
    upper = v[n + 2:2 * n + 2][::-1]
    np.testing.assert_allclose(lower[:, 0], upper[:, 0])
    return lower[:, 0], lower[:, 1], upper[:, 1]


def runs_of(lr, arch, norm):
    return [r for r, c in enumerate(fx.RUNS) if c[:3] == (lr, arch, norm)]


def test_seed_stats_ignores_nan_and_inf():
    mean, lo, hi, n = F.seed_stats(np.array([[1.0, np.inf, np.nan], [3.0, 5.0, np.nan]]))
    np.testing.assert_array_equal(mean, [2.0, 5.0, np.nan])
    np.testing.assert_array_equal(lo, [1.0, 5.0, np.nan])
    np.testing.assert_array_equal(hi, [3.0, 5.0, np.nan])
    assert n == 2
    assert F.seed_stats(np.full((2, 3), np.nan))[3] == 0


def test_default_layers():
    assert F.default_layers(13, (2 / 12, 10 / 12)) == [3, 11]  # paper: VGG layers #3, #11
    assert F.default_layers(13, (1 / 3, 3 / 4)) == [5, 10]     # paper ICS: #5, #10
    assert F.default_layers(25, (1 / 3, 3 / 4)) == [9, 19]     # paper DLN: #9, #17 are 1/3, 2/3
    assert F.default_layers(1, (1 / 3, 3 / 4)) == [1]
    assert F.default_layers(0, (0.5,)) == []


def test_training_curves(sw):
    (p,) = F.fig_training(sw, VGG, ["none", "batch", "noisy_batch"])
    assert p.fig is not None and p.name == "training_vgg11_width_0.125"
    axes = np.array(p.fig.axes[:4]).reshape(2, 2)
    assert [ax.get_title() for ax in axes[0]] == ["lr = 0.1", "lr = 0.5"]
    for c, lr in enumerate(fx.LRS):
        for norm in ("none", "batch", "noisy_batch"):
            rs = runs_of(lr, VGG, norm)
            want = np.mean([fx.train_loss(r, fx.STEP) for r in rs], axis=0)
            ln = line(axes[0, c], norm)
            np.testing.assert_allclose(ln.get_xdata(), fx.STEP)
            np.testing.assert_allclose(ln.get_ydata(), want)
            assert ln.get_label() == "%s (2 seeds)" % norm
            acc = np.mean([fx.train_acc(r, fx.STEP) for r in rs], axis=0)
            np.testing.assert_allclose(line(axes[1, c], norm).get_ydata(), acc)
            te = line(axes[1, c], norm + ":test")
            np.testing.assert_allclose(te.get_xdata(), fx.EVAL)
            np.testing.assert_allclose(te.get_ydata(), np.mean([fx.test_acc(r, fx.EVAL)
                                                                for r in rs], axis=0))
        assert lines(axes[0, c], "l2") == []  # not asked for
    # the seed band of batch at lr 0.1 (first fill_between after the none line's band)
    x, lo, hi = band(axes[0, 0], 1)
    r0, r1 = runs_of(0.1, VGG, "batch")
    np.testing.assert_allclose(x, fx.STEP)
    np.testing.assert_allclose(lo, fx.train_loss(r0, fx.STEP))
    np.testing.assert_allclose(hi, fx.train_loss(r1, fx.STEP))
    # the one log rule: losses 1.05..0.19 span less than LOG_RATIO = 10 -> linear
    assert axes[0, 0].get_yscale() == "linear"
    np.testing.assert_allclose(p.data[("train_loss", 0.5, "batch")],
                               line(axes[0, 1], "batch").get_ydata())


def test_activations(sw):
    (p,) = F.fig_activations(sw, VGG, 0.1)
    # default layers for 5 act layers: 1 + round(4 * 2/12) = 2, 1 + round(4 * 10/12) = 4
    assert sorted({k for k, _ in p.data}) == [2, 4]
    assert p.note == "" and "no activation data" not in p.caption
    axes = np.array(p.fig.axes).reshape(2, 3)  # rows: act layers #2, #4 (positions 1, 3)
    assert [ax.get_title() for ax in axes[0]] == ["none (run 0)", "batch (run 2)",
                                                  "noisy_batch (run 4)"]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["act layer #2", "act layer #4"]
    # each panel names the module it tracks (none: the conv itself, else its norm)
    assert [t.get_text() for t in axes[1, 0].texts] == ["features.9"]
    assert [t.get_text() for t in axes[1, 1].texts] == ["features.10"]
    for i, (k, m) in enumerate(((2, 1), (4, 3))):
        for c, norm in enumerate(("none", "batch", "noisy_batch")):
            r = runs_of(0.1, VGG, norm)[0]  # lowest seed
            assert p.data[(k, norm)]["run"] == r
            med = line(axes[i, c], "q0.5")
            want = [fx.act_quantile(r, pp, m, 0, 2) for pp in fx.PROBE]
            np.testing.assert_allclose(med.get_xdata(), fx.PROBE)
            np.testing.assert_allclose(med.get_ydata(), want, rtol=1e-6)
            # outer band: 2.5% .. 97.5%, inner band: 16% .. 84%
            for j, (qa, qb) in enumerate(((0, 4), (1, 3))):
                x, lo, hi = band(axes[i, c], j)
                np.testing.assert_allclose(lo, [fx.act_quantile(r, pp, m, 0, qa) for pp in fx.PROBE], rtol=1e-6)
                np.testing.assert_allclose(hi, [fx.act_quantile(r, pp, m, 0, qb) for pp in fx.PROBE], rtol=1e-6)
    (p2,) = F.fig_activations(sw, DLN, 0.5, layers=[3], unit=1)
    r = runs_of(0.5, DLN, "noisy_batch")[0]
    np.testing.assert_allclose(p2.data[(3, "noisy_batch")]["q"][:, 2],
                               [fx.act_quantile(r, pp, 2, 1, 2) for pp in fx.PROBE], rtol=1e-6)
    # a layer number the file does not have: an empty panel saying so, not a crash
    (p3,) = F.fig_activations(sw, DLN, 0.5, layers=[1, 9], norms=["batch"])
    assert set(p3.data) == {(1, "batch")}
    assert [t.get_text() for t in p3.fig.axes[1].texts] == ["no data"]


def test_ics(sw):
    (p,) = F.fig_ics(sw, VGG, ["none", "batch"])
    # 6 measured layers: defaults #(1 + round(5/3)) = #3 and #(1 + round(15/4)) = #5
    # (positions 2, 4); rows l2, cos per layer
    axes = np.array(p.fig.axes).reshape(4, 2)
    for i, (m, var, f) in enumerate(((2, "ics_l2", fx.ics_l2), (2, "ics_cos", fx.ics_cos),
                                     (4, "ics_l2", fx.ics_l2), (4, "ics_cos", fx.ics_cos))):
        for c, lr in enumerate(fx.LRS):
            for norm in ("none", "batch"):
                want = np.mean([[f(r, pp, m) for pp in fx.PROBE]
                                for r in runs_of(lr, VGG, norm)], axis=0)
                np.testing.assert_allclose(line(axes[i, c], norm).get_ydata(), want)
    assert "#3 features.6" in axes[0, 0].get_ylabel()
    np.testing.assert_allclose(p.data[("ics_l2", 0.5, 5, "batch")],
                               line(axes[2, 1], "batch").get_ydata())
    (p,) = F.fig_ics(sw, DLN, ["batch"], layers=[1])
    ax0 = p.fig.axes[0]
    np.testing.assert_array_equal(line(ax0, "batch").get_ydata(), np.zeros(5))  # layer 0: no ICS


def test_landscape(sw):
    """Per probe step: the range over eta (loss) and the max over eta (gradient change)
    of each run, then mean over seeds with a min..max seed band - the spread over eta is
    never part of the band."""
    (p,) = F.fig_landscape(sw, VGG, ["none", "batch"])
    assert "Fig. 4" in p.title
    axes = np.array(p.fig.axes).reshape(2, 3)
    for i, lr in enumerate(fx.LRS):
        for norm in ("none", "batch"):
            rs = runs_of(lr, VGG, norm)
            ll = np.array([[[fx.landscape_loss(r, pp, j) for j in range(4)] for pp in fx.PROBE]
                           for r in rs])
            rng = ll.max(axis=2) - ll.min(axis=2)  # [seed, probe]
            np.testing.assert_allclose(line(axes[i, 0], norm).get_ydata(), rng.mean(axis=0))
            np.testing.assert_allclose(p.data[("loss_range", lr, norm)], rng.mean(axis=0))
            gc = np.array([[[fx.landscape_grad_change(r, pp, j) for j in range(4)]
                            for pp in fx.PROBE] for r in rs]).max(axis=2)
            np.testing.assert_allclose(line(axes[i, 1], norm).get_ydata(), gc.mean(axis=0))
            be = np.mean([fx.beta_eff(r, fx.PROBE) for r in rs], axis=0)
            np.testing.assert_allclose(line(axes[i, 2], norm).get_ydata(), be)
            assert line(axes[i, 0], norm).get_label() == "%s (2 seeds)" % norm or (i, norm) != (0, norm)
    # the seed band of the first line (none at lr 0.1): min..max over the 2 seeds
    rs = runs_of(0.1, VGG, "none")
    gc = np.array([[[fx.landscape_grad_change(r, pp, j) for j in range(4)]
                    for pp in fx.PROBE] for r in rs]).max(axis=2)
    x, lo, hi = band(axes[0, 1], 0)
    np.testing.assert_allclose(x, fx.PROBE)
    np.testing.assert_allclose(lo, gc.min(axis=0))
    np.testing.assert_allclose(hi, gc.max(axis=0))
    (p,) = F.fig_landscape(sw, DLN)
    assert "Fig. 5, DLN" in p.title


def test_plateau_marks(sw):
    """Hollow circles where a run is still on its initial plateau: the fixture's loss
    (1 + r/10) exp(-t/50) + 0.05 is below 95% of its initial value from step ~3 on, so no
    probe step t > 0 is marked (and step 0 never is); a run whose loss stays flat is."""
    (p,) = F.fig_landscape(sw, VGG, ["none"])
    assert lines(p.fig.axes[0], "none:plateau") == []
    from analysis import claims as C
    r = runs_of(0.1, VGG, "none")[0]
    assert C.initial_loss(sw, r) == fx.train_loss(r, 0)  # only step 0 is logged in 0..9
    assert not C.on_plateau(sw, r, 20)
    assert C.on_plateau(sw, r, 0)
    tl = sw.var("train_loss")
    saved = tl[r].copy()
    try:
        tl[r] = fx.train_loss(r, 0)  # flat: still on the plateau everywhere
        assert C.on_plateau(sw, r, 60)
        (p,) = F.fig_landscape(sw, VGG, ["none"])
        mk = line(p.fig.axes[0], "none:plateau")
        np.testing.assert_array_equal(mk.get_xdata(), fx.PROBE[1:])  # t > 0 only
        assert mk.get_markerfacecolor() in ("white", (1.0, 1.0, 1.0, 1.0))
        assert "initial plateau" in p.caption
    finally:
        tl[r] = saved


def test_log_rule_is_one_rule():
    """log_scale_if: log iff every finite value is > 0 and they span >= LOG_RATIO; ticks at
    1, 2, 5 x 10^k within 3 decades, labelled as plain numbers."""
    from matplotlib.figure import Figure
    ax = Figure().subplots()
    assert not F.log_scale_if(ax, [1.0, 9.0]) and ax.get_yscale() == "linear"
    assert not F.log_scale_if(ax, [0.0, 100.0]) and not F.log_scale_if(ax, [-1.0, 100.0])
    assert F.log_scale_if(ax, [0.05, 0.5, np.nan, np.inf]) and ax.get_yscale() == "log"
    ax.set_ylim(0.05, 0.5)
    ticks = [t for t in ax.get_yticks() if 0.05 <= t <= 0.5]
    np.testing.assert_allclose(ticks, [0.05, 0.1, 0.2, 0.5])
    ax2 = Figure().subplots()
    assert F.log_scale_if(ax2, [1e-3, 1e3], axis="x") and ax2.get_xscale() == "log"
    ax2.set_xlim(1e-3, 1e3)
    np.testing.assert_allclose([t for t in ax2.get_xticks() if 1e-3 <= t <= 1e3],
                               [1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3])
    assert ax2.xaxis.get_major_formatter()(0.1, 0) == "0.1"


def test_lp_figures(sw, report_full):
    out = F.fig_lp(sw, VGG)
    assert [p.name for p in out] == ["lp_training_vgg11_width_0.125", "lp_landscape_vgg11_width_0.125"]
    ax = out[0].fig.axes[0]
    assert sorted(ln.get_gid() for ln in ax.get_lines()) == ["batch", "l2", "none"]
    rs = runs_of(0.1, VGG, "l2")
    np.testing.assert_allclose(line(ax, "l2").get_ydata(),
                               np.mean([fx.train_loss(r, fx.STEP) for r in rs], axis=0))
    # the main figures leave the l_p runs out
    plots = report_full[1]
    assert "noisy_batch" in [ln.get_gid() for ln in plots["training_dln_depth_4"].fig.axes[0].get_lines()]
    assert "l2" not in [ln.get_gid() for ln in plots["training_vgg11_width_0.125"].fig.axes[0].get_lines()]


def test_hessian(sw):
    from analysis import figures_extra as X
    (p,) = X.fig_hessian(sw, DLN)
    for c, lr in enumerate(fx.LRS):
        ax = p.fig.axes[c]
        edge = line(ax, "2/lr")
        np.testing.assert_allclose(edge.get_ydata(), [2.0 / lr, 2.0 / lr])
        for norm in fx.NORMS:
            want = np.mean([fx.hess_top_eig(r, fx.PROBE) for r in runs_of(lr, DLN, norm)], axis=0)
            np.testing.assert_allclose(line(ax, norm).get_ydata(), want)
        assert ax.get_title() == "lr = %g (2/lr = %g)" % (lr, 2 / lr)


def test_every_figure_has_data_on_full_file(report_full):
    plots = list(report_full[1].values())
    skipped = sorted(p.name for p in plots if p.fig is None)
    # the fixture has no random-direction landscape (probes.random_direction off)
    assert skipped == ["landscape_random_dln_depth_4", "landscape_random_vgg11_width_0.125"]
    names = [p.name for p in plots]
    assert len(names) == len(set(names)) == 34  # 26 + 4 curvature figures x 2 facets


def test_new_figures_on_full_file(sw):
    from analysis import figures_extra as X
    # lr tolerance: every run a dot, the line through the median over seeds per lr
    (p,) = X.fig_lr_tolerance(sw, VGG)
    ax = p.fig.axes[0]
    ux, med = p.data[("final_train_loss", "batch")]
    np.testing.assert_allclose(ux, fx.LRS)
    want = [np.median([fx.train_loss(r, 99) for r in runs_of(lr, VGG, "batch")]) for lr in fx.LRS]
    np.testing.assert_allclose(med, want)
    assert len(line(ax, "batch:runs").get_xdata()) == 4 and ax.get_xscale() == "linear"
    # landscape along eta at the middle probe step after 0 (probe steps 20..80 -> 60)
    (p,) = X.fig_landscape_eta(sw, VGG, ["batch"])
    assert "step 60" in p.caption
    rs = runs_of(0.1, VGG, "batch")
    want = np.mean([[fx.landscape_grad_change(r, 60, j) for j in range(4)] for r in rs], axis=0)
    np.testing.assert_allclose(p.data[("landscape_grad_change", 0.1, "batch")], want)
    lo = np.mean([[fx.landscape_loss(r, 60, j) - fx.train_loss(r, 60) for j in range(4)]
                  for r in rs], axis=0)
    np.testing.assert_allclose(p.data[("landscape_loss", 0.1, "batch")], lo)
    # per-layer gradient norms at step 0 and at the last probe step
    (p,) = X.fig_grad_depth(sw, VGG)
    rs = runs_of(0.5, VGG, "noisy_batch")
    want = np.mean([[0.1 * (l + 1) + r / 100.0 + 80 / 1000.0 for l in range(6)] for r in rs], axis=0)
    np.testing.assert_allclose(p.data[(0.5, "noisy_batch", 80)], want)
    # Theorem 4.1: lhs against rhs for BN layers only, the relative gap 1e-6 by construction
    (p,) = X.fig_thm41(sw, DLN)
    assert set(k for k in p.data if not isinstance(k, tuple)) == {"batch", "noisy_batch"}
    np.testing.assert_allclose(p.data[("rel", "batch")], np.full(5, 1e-6 / (1 + 1e-6)), rtol=1e-6)


def test_partial_file_figures(report_partial):
    byname = report_partial[1]
    # Hessian probe off (no dataset at all): left out quietly; activations never written:
    # skipped with a reason, not drawn empty
    assert not any(n.startswith("hessian_") for n in byname)
    assert byname["activations"].fig is None and "act_quantiles" in byname["activations"].note
    # lr 0.5 is all pending: no column for it
    p = byname["training_dln_depth_4"]
    assert [ax.get_title() for ax in p.fig.axes if ax.get_title()] == ["lr = 0.1"]
    ax = p.fig.axes[0]
    # running batch runs 10, 11: steps 0..40 logged, the tail NaN (not drawn)
    y = line(ax, "batch").get_ydata()
    np.testing.assert_allclose(y[:5], (fx.train_loss(10, fx.STEP[:5]) + fx.train_loss(11, fx.STEP[:5])) / 2)
    assert np.isnan(y[5:]).all()
    # noisy_batch: run 12 diverged at step 30 (logged 1e4), run 13 failed at step 20
    y = line(ax, "noisy_batch").get_ydata()
    np.testing.assert_allclose(y[:3], (fx.train_loss(12, fx.STEP[:3]) + fx.train_loss(13, fx.STEP[:3])) / 2)
    assert y[3] == fx.DIVERGED_LOSS and np.isnan(y[4:]).all()
    # l2: run 14 stopped at step 50, run 15 pending -> a single-seed line, no seed band label
    assert line(byname["lp_training_dln_depth_4"].fig.axes[0], "l2").get_label() == "l2"
