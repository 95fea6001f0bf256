"""The analysis on files the real `normsweep run` wrote (conftest.real: REAL_SPEC, 16 runs
of a tiny MLP, every probe on, the `none` runs at lr 5 diverge; and a --shard 1/3 file
whose other runs stay pending). What the test knows without re-running the training:
the structure (run order, shapes, coordinates), exact invariants of the measurements,
and that load() and every figure show exactly what h5py reads from the file."""
import os

import h5py
import numpy as np
import pytest

import analysis
from analysis import figures as F
from analysis.tests import make_fixture as fx
from analysis.tests.test_figures import line
from analysis.tests.test_report import _check_images, _page

ARCH = "mlp:16-16-16-3"
NORMS = ("none", "batch", "noisy_batch", "l2")
LRS = (0.05, 5.0)
# run order (docs/sweep-format.md): arch > norm > lr > seed, last fastest
RUNS = [(n, lr, s) for n in NORMS for lr in LRS for s in (0, 1)]
DIVERGED = [2, 3]  # none at lr 5


def raw(ds, idx=()):
    """ds[idx] as h5py reads it, strings (fixed or variable length) as str; a netCDF
    char array (S1 cells over a last strlen<N> dim) joined along that dim - the
    loader's read_values, done another way, to check it."""
    if not h5py.check_string_dtype(ds.dtype):
        return ds[idx]
    a = np.asarray(ds.asstr()[idx], dtype=str)
    if ds.dtype == np.dtype("S1"):
        a = np.array(["".join(t) for t in a.reshape(-1, a.shape[-1])]).reshape(a.shape[:-1])
    return a


def h5(path, name, *idx):
    with h5py.File(path, "r") as f:
        return raw(f[name], idx)


@pytest.fixture(scope="module")
def loaded(real):
    return analysis.load(real["full"])


def test_structure(real, loaded):
    runs, tr = loaded
    assert len(runs) == 16
    assert [(n, lr, s) for n, lr, s in zip(runs.norm, runs.lr, runs.seed)] == RUNS
    assert set(runs.arch) == {ARCH} and set(runs.random_sample) == {-1}
    st = np.array(["diverged" if r in DIVERGED else "done" for r in range(16)])
    np.testing.assert_array_equal(runs.status, st)
    done = st == "done"
    assert (runs.steps_done[done] == 30).all() and (runs.diverged_step[done] == -1).all()
    div = runs.loc[DIVERGED]
    assert (div.diverged_step > 0).all() and (div.steps_done == div.diverged_step).all()
    assert all("above diverge_above" in m for m in div.message)
    # every norm, none included, tracks the pre-activation of both hidden layers
    assert (runs.n_layers == 3).all() and (runs.n_act_layers == 2).all()
    # 16*16+16 + 16*16+16 + 16*3+3 = 595 parameters; a norm adds gamma, beta: 2 x 32
    np.testing.assert_array_equal(runs.n_params, [595] * 4 + [659] * 12)
    assert dict(tr.sizes) == {"run": 16, "step": 16, "eval": 3, "probe": 3, "eta": 4,
                              "layer": 3, "act_layer": 2, "unit": 3, "quantile": 5,
                              "eig": 2, "slq_vec": 2, "slq_node": 6}  # probes.curvature
    np.testing.assert_array_equal(tr.step, list(range(0, 30, 2)) + [29])  # + the last step
    np.testing.assert_array_equal(tr["eval"], [10, 20, 30])  # updates before evaluation
    np.testing.assert_array_equal(tr.probe, [0, 10, 20])
    np.testing.assert_allclose(tr.eta, np.geomspace(0.5, 4.0, 4), rtol=1e-12)  # eta / lr
    np.testing.assert_array_equal(tr.layer, [1, 2, 3])
    np.testing.assert_array_equal(tr.act_layer, [1, 2])
    np.testing.assert_allclose(tr["quantile"], [0.025, 0.16, 0.5, 0.84, 0.975])
    assert tr.act_quantiles.dims == ("run", "probe", "act_layer", "unit", "quantile")
    assert tr.attrs["schema_version"] == 2 and tr.attrs["spec_name"] == "analysis-real-file-test"
    assert isinstance(tr.attrs["data_mean"], list) and len(tr.attrs["data_mean"]) == 1
    # module names: the norm's output is tracked where there is one, else the Linear's
    np.testing.assert_array_equal(tr.layer_name.sel(run=0), ["layers.0", "layers.2", "layers.4"])
    np.testing.assert_array_equal(tr.layer_name.sel(run=4), ["layers.0", "layers.3", "layers.6"])
    np.testing.assert_array_equal(tr.act_layer_name.sel(run=0), ["layers.0", "layers.2"])
    np.testing.assert_array_equal(tr.act_layer_name.sel(run=8), ["layers.1", "layers.4"])


def test_values_are_the_files(real, loaded):
    """Every trace and run column load() returns equals the raw h5py read (NaN where
    unwritten), with the dims of the attached scales."""
    runs, tr = loaded
    with h5py.File(real["full"], "r") as f:
        for name in tr.data_vars:
            np.testing.assert_array_equal(tr[name].values, raw(f[name]), err_msg=name)
            dims = tuple(d[0].name.lstrip("/") for d in f[name].dims)
            if f[name].dtype == np.dtype("S1"):  # a char array: its strlen dim is not shown
                assert dims[-1] == "strlen%d" % f[name].shape[-1], (name, dims)
                dims = dims[:-1]
            assert tr[name].dims == dims, name
        for c in runs.columns:
            np.testing.assert_array_equal(runs[c].to_numpy(), raw(f[c]), err_msg=c)
    assert "rand_beta_eff" in tr and "hess_trace" in tr and "probe_s" in tr
    assert "probe_s_total" in runs.columns and "probe_s" not in runs.columns


def test_invariants(loaded):
    runs, tr = loaded
    done = np.flatnonzero(runs.status.to_numpy() == "done")
    tl = tr.train_loss.values
    # logged losses finite for done runs; diverged runs: finite up to the diverged step,
    # whose loss is above diverge_above (20) and is final_train_loss, NaN after
    assert np.isfinite(tl[done]).all() and (tl[done] > 0).all()
    np.testing.assert_array_equal(runs.final_train_loss.to_numpy()[done], tl[done, -1])
    for r in DIVERGED:
        k = list(tr.step.values).index(runs.diverged_step[r])
        assert np.isfinite(tl[r, :k + 1]).all() and np.isnan(tl[r, k + 1:]).all()
        assert tl[r, k] > 20.0 and tl[r, k] == runs.final_train_loss[r]
        assert np.isnan(tr.test_acc.values[r]).all() and np.isnan(runs.final_test_acc[r])
    ta = tr.test_acc.values[done]
    assert ((ta >= 0) & (ta <= 1)).all()
    np.testing.assert_array_equal(runs.final_test_acc.to_numpy()[done], ta[:, -1])
    # Definition 2.1: layer 1 has nothing before it
    ok = np.isfinite(tr.ics_l2.values[:, :, 0])
    assert ok[done].all()
    assert (tr.ics_l2.values[:, :, 0][ok] == 0).all() and (tr.ics_cos.values[:, :, 0][ok] == 1).all()
    # a probe sees the step's batch before the update: the logged loss and gradient norm
    pi = [list(tr.step.values).index(p) for p in tr.probe.values]
    np.testing.assert_array_equal(tr.probe_loss.values[done], tl[done][:, pi])
    np.testing.assert_array_equal(tr.probe_grad_norm.values[done], tr.grad_norm.values[done][:, pi])
    # beta_eff = max_eta ||g - grad L(w - eta g)|| / ||eta g|| with eta = eta_rel * lr
    eta = tr.eta.values[None, None, :] * runs.lr.to_numpy()[:, None, None]
    for pre in ("", "rand_"):
        gc = tr[pre + "landscape_grad_change"].values
        be = np.max(gc / (eta * tr.probe_grad_norm.values[:, :, None]), axis=2)
        np.testing.assert_allclose(tr[pre + "beta_eff"].values[done], be[done], rtol=1e-6)
    # Theorem 4.1 (1/m form) on BN layers only; NaN for none and l2
    lhs, rhs = tr.thm41_lhs.values, tr.thm41_rhs.values
    for r, (norm, _, _) in enumerate(RUNS):
        if norm in ("batch", "noisy_batch"):
            np.testing.assert_allclose(lhs[r], rhs[r], rtol=1e-4)
        else:
            assert np.isnan(lhs[r]).all() and np.isnan(rhs[r]).all()
    # at step 0 BN has gamma 1, beta 0: each tracked unit has batch mean 0 and std 1
    bn = [r for r, c in enumerate(RUNS) if c[0] == "batch"]
    np.testing.assert_allclose(tr.act_mean.values[bn, 0], 0.0, atol=1e-5)
    np.testing.assert_allclose(tr.act_std.values[bn, 0], 1.0, rtol=1e-3)
    # l2 (x - mean) / rms(x): mean 0 as well
    l2 = [r for r, c in enumerate(RUNS) if c[0] == "l2"]
    np.testing.assert_allclose(tr.act_mean.values[l2, 0], 0.0, atol=1e-5)
    # activations of `none` are tracked; quantiles are ordered; units are channels 0..15
    aq = tr.act_quantiles.values
    assert np.isfinite(aq[[0, 1]]).all()
    fin = np.isfinite(aq).all(axis=-1)
    assert (np.diff(aq, axis=-1)[fin] >= 0).all()
    ui = tr.act_unit_index.values
    assert ((ui >= 0) & (ui < 16)).all()
    assert (tr.hess_iters.values[done] >= 1).all()


def test_state_dict_real(real, loaded):
    runs, _ = loaded
    sd = analysis.state_dict(real["full"], 4)  # batch
    assert list(sd) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                        "layers.1.running_mean", "layers.1.running_var", "layers.3.weight",
                        "layers.3.bias", "layers.4.weight", "layers.4.bias",
                        "layers.4.running_mean", "layers.4.running_var", "layers.6.weight",
                        "layers.6.bias"]
    assert sd["layers.0.weight"].shape == (16, 16) and sd["layers.6.weight"].shape == (3, 16)
    params = [k for k in sd if "running" not in k]
    assert sum(sd[k].size for k in params) == runs.n_params[4]
    assert all(np.isfinite(v).all() for v in sd.values()) and (sd["layers.4.running_var"] > 0).all()
    # the values are the file's flat row at the tensor table's offsets
    off = list(h5(real["full"], "tensor_name", 4)).index("layers.3.weight")
    o = int(h5(real["full"], "tensor_offset", 4)[off])
    np.testing.assert_array_equal(sd["layers.3.weight"].ravel(),
                                  h5(real["full"], "weights", 4)[o:o + 256])
    sd0 = analysis.state_dict(real["full"], 0)  # none
    assert list(sd0) == ["layers.%d.%s" % (i, w) for i in (0, 2, 4) for w in ("weight", "bias")]
    assert sum(v.size for v in sd0.values()) == 595
    torch = pytest.importorskip("torch")  # optional: the PyTorch round trip
    nn = torch.nn
    m = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 16),
                      nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    # strict: every key and shape must match (torch fills BN's num_batches_tracked)
    m.load_state_dict({k.replace("layers.", ""): torch.from_numpy(v) for k, v in sd.items()})
    np.testing.assert_array_equal(m[4].running_var.numpy(), sd["layers.4.running_var"])
    m0 = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    m0.load_state_dict({k.replace("layers.", ""): torch.from_numpy(v) for k, v in sd0.items()})


def test_figures_plot_the_files_numbers(real, loaded):
    runs, tr = loaded
    sw = analysis.read_sweep(real["full"])
    plots = {p.name: p for p in F.all_figures(sw)}
    assert all(p.fig is not None for p in plots.values()), {n: p.note for n, p in plots.items()}
    tl = h5(real["full"], "train_loss")
    ax = plots["training_mlp_16-16-16-3"].fig.axes[1]  # lr 5
    assert ax.get_title() == "lr = 5"
    np.testing.assert_array_equal(line(ax, "batch").get_ydata(), tl[[6, 7]].mean(axis=0))
    # both `none` seeds diverged: the line stops where they did (NaN after, not drawn)
    y = line(ax, "none").get_ydata()
    np.testing.assert_array_equal(y[:2], tl[[2, 3], :2].mean(axis=0))
    assert np.isnan(y[3:]).all()
    # activations: BN vs noisy BN vs none, from the file's quantiles of the lowest seed
    p = plots["activations_mlp_16-16-16-3_lr0.05"]
    aq = h5(real["full"], "act_quantiles")
    assert sorted(p.data) == [(k, n) for k in (1, 2) for n in ("batch", "noisy_batch", "none")]
    for (k, norm), d in p.data.items():
        r = RUNS.index((norm, 0.05, 0))
        assert d["run"] == r
        np.testing.assert_array_equal(d["q"], aq[r, :, k - 1, 0, :])
    axes = np.array(p.fig.axes).reshape(2, 3)
    np.testing.assert_array_equal(line(axes[1, 0], "q0.5").get_ydata(), aq[0, :, 1, 0, 2])
    # landscape: each run's range over eta, then the mean over both seeds (the band)
    p = plots["landscape_mlp_16-16-16-3"]
    ll = h5(real["full"], "landscape_loss")
    rng = ll[[8, 9]].max(axis=2) - ll[[8, 9]].min(axis=2)
    np.testing.assert_allclose(p.data[("loss_range", 0.05, "noisy_batch")], rng.mean(axis=0))
    # ICS: default layers of 3: #(1 + round(2/3)) = #2 and #(1 + round(1.5)) = #3
    p = plots["ics_mlp_16-16-16-3"]
    ics = h5(real["full"], "ics_cos")
    np.testing.assert_array_equal(p.data[("ics_cos", 0.05, 3, "batch")], ics[[4, 5], :, 2].mean(axis=0))
    # l_p figure: l2 next to none and batch
    p = plots["lp_training_mlp_16-16-16-3"]
    assert sorted(ln.get_gid() for ln in p.fig.axes[0].get_lines()) == ["batch", "l2", "none"]
    p = plots["hessian_mlp_16-16-16-3"]
    he = h5(real["full"], "hess_top_eig")
    np.testing.assert_array_equal(p.data[(0.05, "l2")], he[[12, 13]].mean(axis=0))


def test_report_and_status_on_real_files(real, tmp_path):
    from analysis.report import write_report
    from analysis.status import counts, summary
    out = str(tmp_path / "rep")
    plots = write_report(real["full"], out, dpi=60)
    text, page = _page(out)
    assert sorted(page.srcs) == sorted(p.name + ".png" for p in plots if p.fig is not None)
    _check_images(out, page.srcs)
    assert "name: analysis-real-file-test" in text
    sw = analysis.read_sweep(real["full"])
    assert counts(sw) == {"done": 14, "diverged": 2}
    # the shard file: runs 1, 4, 7, 10, 13 done, the rest pending with nothing written
    sw = analysis.read_sweep(real["shard"])
    assert counts(sw) == {"done": 5, "pending": 11}
    runs, tr = analysis.load(real["shard"])
    pend = runs.status.to_numpy() == "pending"
    np.testing.assert_array_equal(np.flatnonzero(~pend), [1, 4, 7, 10, 13])
    assert (runs.n_layers[pend] == -1).all() and np.isnan(tr.train_loss.values[pend]).all()
    lines = summary(sw)
    assert lines[1] == "  done 5 | pending 11" and lines[2] == "  steps 150 / 480 (31.2%)"
    plots = {p.name: p for p in F.all_figures(sw)}
    p = plots["training_mlp_16-16-16-3"]
    tl = h5(real["shard"], "train_loss")
    np.testing.assert_array_equal(line(p.fig.axes[0], "none").get_ydata(), tl[1])  # seed 1 only
    assert line(p.fig.axes[0], "none").get_label() == "none"
    with pytest.raises(analysis.ResultsFileError, match="run 0 has no weights yet"):
        analysis.state_dict(real["shard"], 0)


def test_fixture_matches_writer(real, files):
    """make_fixture's names, dims, dtypes and root attributes are the writer's."""
    with h5py.File(real["full"], "r") as w, h5py.File(files["full"], "r") as x:
        assert set(x.attrs) <= set(w.attrs), set(x.attrs) - set(w.attrs)
        for k in x.attrs:
            assert type(x.attrs[k]) is type(w.attrs[k]), k
        assert set(x) <= set(w), sorted(set(x) - set(w))
        for name in x:
            a, b = x[name], w[name]
            assert a.dtype.kind == b.dtype.kind and a.ndim == b.ndim, name
            if a.dtype.kind != "S":
                assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
            assert a.attrs.get("CLASS") == b.attrs.get("CLASS"), name
            if a.attrs.get("CLASS") == b"DIMENSION_SCALE":
                same = a.attrs["NAME"].startswith(b"This is") == b.attrs["NAME"].startswith(b"This is")
                assert same, name
                continue
            da = tuple(d[0].name for d in a.dims)
            db = tuple(d[0].name for d in b.dims)
            assert da == db, (name, da, db)
    assert fx.NACT == fx.NLAYER - 1  # as the writer: every hidden layer, every norm


def _doc_snippets(repo_root):
    """The ```python blocks of docs/hdf5-schema.md's "Reading the file" section."""
    import re
    text = open(os.path.join(repo_root, "docs", "hdf5-schema.md")).read()
    section = text.split("## Reading the file", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_schema_doc_snippets_run_on_a_real_file(real, repo_root, tmp_path):
    """The h5py and xarray routes printed in docs/hdf5-schema.md, run as printed on a
    file `normsweep run` wrote, give what they say."""
    pytest.importorskip("h5netcdf")
    snippets = _doc_snippets(repo_root)
    assert len(snippets) == 2, "expected the h5py and the xarray snippet"
    os.symlink(real["full"], str(tmp_path / "results.h5"))
    cwd = os.getcwd()
    os.chdir(str(tmp_path))
    try:
        h5 = {}
        exec(snippets[0], h5)
        xa = {}
        exec(snippets[1], xa)
    finally:
        os.chdir(cwd)
    want_bn = [r for r, (n, _, _) in enumerate(RUNS) if n == "batch"]
    assert list(h5["norm"]) == [n for n, _, _ in RUNS]
    assert list(h5["bn_runs"]) == want_bn and h5["loss"].shape == (4, len(h5["steps"]))
    assert h5["units"] == b"1"
    want_st = ["diverged" if r in DIVERGED else "done" for r in range(len(RUNS))]
    assert list(h5["status"]) == want_st, h5["status"]  # the char-array join, as printed
    ds = xa["ds"]
    assert set(xa["bn"].norm.values) == {"batch"} and xa["bn"].sizes["run"] == 4
    assert sorted(xa["acc"].norm.values) == sorted(NORMS)
    with h5py.File(real["full"], "r") as f:
        acc = f["final_test_acc"][()]
        for n in NORMS:
            want = np.nanmean(acc[[r for r, c in enumerate(RUNS) if c[0] == n]])
            assert float(xa["acc"].sel(norm=n)) == pytest.approx(want, nan_ok=True)
    assert set(xa["at"].lr.values) == {0.05} and xa["at"].sizes["run"] == 8
    assert list(xa["curve"].step.values) == [s for s in ds.step.values if s <= 10]
    # every variable carries units and long_name; the run coordinates are coordinates
    for name, v in ds.variables.items():
        assert "units" in v.attrs and "long_name" in v.attrs, name
    assert {"lr", "arch", "norm", "seed", "status"} <= set(ds.coords)
    ds.close()
