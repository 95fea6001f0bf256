"""load(): shapes and values of runs whose numbers are known (make_fixture's closed forms),
the numpy fallback, selection helpers, and every way a file can be wrong."""
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import analysis
from analysis.tests import make_fixture as fx

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")


def test_run_table_shapes_and_values(files):
    runs, traces = analysis.load(files["full"])
    assert isinstance(runs, pd.DataFrame)
    assert runs.shape[0] == fx.NRUN == 32
    assert list(runs.index) == list(range(32))
    assert list(runs.columns[:5]) == ["lr", "arch", "norm", "init", "seed"]
    for r, (lr, arch, norm, seed) in enumerate(fx.RUNS):
        row = runs.loc[r]
        assert (row.lr, row.arch, row.norm, row.seed) == (lr, arch, norm, seed)
    # run 19 = (0.5, vgg, batch, seed 1): hand-computed final numbers
    assert runs.loc[19, "norm"] == "batch" and runs.loc[19, "lr"] == 0.5
    assert runs.loc[19, "final_train_loss"] == pytest.approx(2.9 * np.exp(-99 / 50) + 0.05)
    assert runs.loc[19, "final_test_acc"] == pytest.approx(0.9 - 0.8 * np.exp(-99 / 50) - 0.019 - 0.05)
    assert runs.loc[19, "n_layers"] == 6 and runs.loc[27, "n_layers"] == 4
    assert runs.loc[0, "n_act_layers"] == 5 and runs.loc[2, "n_act_layers"] == 5  # none too
    assert runs.loc[27, "n_act_layers"] == 3
    assert runs.loc[0, "n_params"] == fx.n_weights(0) and runs.loc[0, "probe_s_total"] == 1.0
    assert set(runs.status) == {"done"} and set(runs.diverged_step) == {-1}
    assert runs.loc[3, "message"] == ""  # NUL-padded bytes -> ''


def test_traces_dims_coords_values(files):
    _, tr = analysis.load(files["full"])
    assert isinstance(tr, xr.Dataset)
    assert dict(tr.sizes) == {"run": 32, "step": 11, "eval": 3, "probe": 5, "eta": 4,
                              "layer": 6, "act_layer": 5, "unit": 3, "quantile": 5,
                              "eig": 3, "slq_vec": 2, "slq_node": 4}
    assert "weights" not in tr and "tensor_name" not in tr  # large: only by name
    assert tr.train_loss.dims == ("run", "step")
    assert tr.act_quantiles.dims == ("run", "probe", "act_layer", "unit", "quantile")
    np.testing.assert_array_equal(tr.layer.values, np.arange(1, 7))  # paper's "layer #k"
    np.testing.assert_array_equal(tr.unit.values, np.arange(3))  # dim without values
    np.testing.assert_array_equal(tr.step.values, fx.STEP)
    np.testing.assert_array_equal(tr.eta.values, fx.ETA_REL)
    np.testing.assert_array_equal(tr["quantile"].values, fx.QUANTILES)  # .quantile is a method
    # label-based access goes through the coordinates: step 50 is index 5
    assert float(tr.train_loss.sel(run=5, step=50)) == pytest.approx(1.5 * np.exp(-1) + 0.05)
    assert float(tr.test_acc.sel(run=7, eval=99)) == pytest.approx(fx.test_acc(7, 99))
    assert float(tr.landscape_loss.sel(run=9, probe=40, eta=2.0)) == pytest.approx(
        fx.train_loss(9, 40) * 1.2)
    assert float(tr.ics_l2.sel(run=4, probe=20, layer=4)) == pytest.approx(4 * 1.4 / 2)
    assert float(tr.ics_l2.sel(run=4, probe=20, layer=1)) == 0.0
    q = tr.act_quantiles.sel(run=4, probe=20, act_layer=3, unit=1).values  # noisy_batch
    mu, sd = 0.2 + 0.01 + 0.5 * np.sin(2.0), 1.2 + 0.05
    np.testing.assert_allclose(q, mu + sd * fx.Z, rtol=1e-6)
    # padding of runs with fewer layers: NaN / '' beyond n_layers
    assert np.isnan(tr.ics_l2.sel(run=10, layer=6)).all()  # dln: 4 layers
    assert str(tr.layer_name.sel(run=10, layer=4).values) == "layers.9"
    assert str(tr.layer_name.sel(run=10, layer=5).values) == ""
    # norm none: its pre-activations are tracked too (the dense/conv output)
    np.testing.assert_allclose(tr.act_mean.sel(run=0, probe=0, act_layer=2).values,
                               [fx.act_mean(0, 0, 1, u) for u in range(3)])
    assert str(tr.act_layer_name.sel(run=0, act_layer=2).values) == "features.3"
    assert str(tr.act_layer_name.sel(run=2, act_layer=2).values) == "features.4"
    # Theorem 4.1 only on batch-norm layers
    assert np.isnan(tr.thm41_lhs.sel(run=0)).all() and np.isnan(tr.thm41_lhs.sel(run=6)).all()
    assert float(tr.thm41_lhs.sel(run=2, probe=20, act_layer=2)) == pytest.approx(2.2)
    # run-table coordinates make selection by config natural
    bn = tr.beta_eff.where(tr.norm == "batch", drop=True)
    assert bn.sizes["run"] == 8
    assert tr.attrs["spec_name"] == "fixture" and tr.attrs["schema_version"] == 2  # text "2"
    assert tr.attrs["data_mean"] == [0.286] and tr.attrs["blas_threads"] == 1


def test_fixture_opens_in_xarray_h5netcdf(files):
    pytest.importorskip("h5netcdf")
    with xr.open_dataset(files["full"], engine="h5netcdf") as ds:
        assert ds.train_loss.dims == ("run", "step")
        np.testing.assert_array_equal(ds.probe.values, fx.PROBE)
        assert float(ds.beta_eff.sel(run=3, probe=60)) == pytest.approx(19.0)


def test_select_and_subset(files):
    runs, tr = analysis.load(files["full"])
    idx = analysis.select(runs, lr=0.5, norm=["batch", "none"], seed=1)
    want = [r for r, (lr, a, n, s) in enumerate(fx.RUNS)
            if lr == 0.5 and n in ("batch", "none") and s == 1]
    assert list(idx) == want == [17, 19, 25, 27]
    assert list(analysis.select(runs, lr=0.1 * (1 + 1e-12), arch="dln:depth=4", seed=0)) == \
        [8, 10, 12, 14]
    assert list(analysis.select(runs, norm="nonexistent")) == []
    assert len(analysis.select(runs)) == 32
    r2, t2 = analysis.subset(runs, tr, idx)
    assert list(r2.index) == want and t2.sizes["run"] == 4
    np.testing.assert_allclose(t2.train_loss.values[1], fx.train_loss(19, fx.STEP))


def test_plain_backend_same_numbers(files):
    runs, tr = analysis.load(files["full"], plain=True)
    assert isinstance(runs, dict) and isinstance(tr, analysis.Traces)
    assert runs["arch"][27] == "dln:depth=4" and runs["run"][31] == 31
    assert tr["train_loss"].shape == (32, 11) and tr.dims["train_loss"] == ("run", "step")
    np.testing.assert_array_equal(tr["probe"], fx.PROBE)
    np.testing.assert_allclose(tr["grad_norm"][6], 7.0 + fx.STEP / 100.0)
    idx = analysis.select(runs, norm="l2", lr=0.1)
    assert list(idx) == [6, 7, 14, 15]
    r2, t2 = analysis.subset(runs, tr, idx)
    assert list(r2["run"]) == [6, 7, 14, 15] and t2["beta_eff"].shape == (4, 5)
    assert t2["probe"].shape == (5,)  # coordinates are not run-indexed
    np.testing.assert_allclose(t2["beta_eff"][2], fx.beta_eff(14, fx.PROBE))


def test_load_variables_subset(files):
    _, tr = analysis.load(files["full"], variables=["beta_eff"])
    assert list(tr.data_vars) == ["beta_eff"]
    with pytest.raises(KeyError, match="no trace 'nope'"):
        analysis.load(files["full"], variables=["nope"])


def test_works_without_pandas_and_xarray(files, repo_root):
    """Block the imports in a fresh interpreter: load() must fall back to numpy."""
    code = (
        "import sys; sys.modules['pandas'] = None; sys.modules['xarray'] = None\n"
        "import analysis, numpy as np\n"
        "runs, tr = analysis.load(sys.argv[1])\n"
        "assert type(runs) is dict and type(tr) is analysis.Traces, (type(runs), type(tr))\n"
        "assert runs['norm'][2] == 'batch'\n"
        "print(repr(float(tr['train_loss'][5, 5])), tr['act_quantiles'].shape)\n")
    out = subprocess.run([sys.executable, "-c", code, files["full"]], cwd=repo_root,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    val, shape = out.stdout.split(" ", 1)
    assert float(val) == pytest.approx(1.5 * np.exp(-1) + 0.05)
    assert shape.strip() == "(32, 5, 5, 3, 5)"


def test_partial_file(files):
    runs, tr = analysis.load(files["partial"])
    st = list(runs.status)
    assert st[:8] == ["done"] * 8 and st[8:12] == ["running"] * 4
    assert st[12:15] == ["diverged", "failed", "stopped"] and st[15:] == ["pending"] * 17
    assert runs.loc[12, "diverged_step"] == 30 and "diverge_above" in runs.loc[12, "message"]
    assert runs.loc[20, "steps_done"] == -1 and np.isnan(runs.loc[20, "wall_s"])
    assert runs.loc[20, "arch"] == "vgg11:width=0.125"  # config is there before it runs
    # running run 9: logged steps 0..40 written, the tail NaN
    tl = tr.train_loss.sel(run=9).values
    np.testing.assert_allclose(tl[:5], fx.train_loss(9, fx.STEP[:5]))
    assert np.isnan(tl[5:]).all()
    assert np.isnan(tr.test_acc.sel(run=9).values[1:]).all()
    assert tr.train_loss.sel(run=12, step=30).item() == fx.DIVERGED_LOSS
    assert np.isnan(tr.train_loss.sel(run=20)).all() and np.isnan(tr.beta_eff.sel(run=31)).all()
    assert "hess_top_eig" not in tr  # dataset not created (Hessian probe off)
    assert np.isnan(tr.act_quantiles).all()  # created, never written


def test_fixed_length_texts_of_older_files(files, tmp_path):
    """Texts as the writer stores them (netCDF char arrays: S1 over a last strlen<N>
    dim) and as files written before stored them (fixed-length strings) load the same:
    str over the logical dims, no strlen dim or coordinate."""
    old = fx.write(str(tmp_path / "fixed.h5"), text="fixed", **fx.PARTIAL)
    new = files["partial"]
    with h5py.File(old, "r") as fo, h5py.File(new, "r") as fn:
        assert fo["status"].dtype == "S16" and fo["status"].shape == (fx.NRUN,)
        assert "strlen16" not in fo
        assert fn["status"].dtype == "S1" and fn["status"].shape == (fx.NRUN, 16)
        assert fn["layer_name"].dims[2][0].name == "/strlen48"
    sw_old, sw_new = analysis.read_sweep(old), analysis.read_sweep(new)
    assert sw_old.dims == sw_new.dims and sw_new.dims["tensor_name"] == ("run", "tensor")
    assert sorted(sw_old.coords) == sorted(sw_new.coords)
    assert not [d for d in sw_new.coords if d.startswith("strlen")]
    assert list(sw_old.runs) == list(sw_new.runs)
    for c in sw_new.runs:
        np.testing.assert_array_equal(sw_old.runs[c], sw_new.runs[c], err_msg=c)
    assert sw_new.runs["status"].dtype.kind == "U" and sw_new.runs["status"][13] == "failed"
    assert sw_new.runs["message"][13] == "out of memory allocating activations"
    for v in ("layer_name", "act_layer_name", "tensor_name"):
        np.testing.assert_array_equal(sw_old.var(v), sw_new.var(v), err_msg=v)
        assert sw_new.var(v).dtype.kind == "U" and sw_new.var(v).ndim == 2
    assert str(sw_new.var("act_layer_name")[2, 1]) == "features.4"
    assert list(analysis.state_dict(old, 3)) == list(analysis.state_dict(new, 3)) == \
        [n for n, _ in fx.tensors(3)]


def _one_line_error(path, match):
    with pytest.raises(analysis.ResultsFileError) as ei:
        analysis.load(path)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(str(path) + ": ")
    assert "expected" in msg and match in msg, msg
    return msg


def test_wrong_schema_version(files):
    _one_line_error(files["wrong_version"], "schema_version = 3")


def test_foreign_hdf5(files):
    _one_line_error(files["foreign"], "not a normsweep results file")


def test_not_hdf5_and_missing(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello\n")
    _one_line_error(str(p), "not an HDF5 file")
    _one_line_error(str(tmp_path / "absent.h5"), "no such file")
    _one_line_error(str(tmp_path), "is a directory")


def test_wrong_schema_name_and_missing_column(tmp_path):
    p = fx.write(str(tmp_path / "a.h5"))
    with h5py.File(p, "a") as f:
        f.attrs["schema"] = np.bytes_("netcdf-thing")
    _one_line_error(p, "schema = 'netcdf-thing'")
    p = fx.write(str(tmp_path / "b.h5"))
    with h5py.File(p, "a") as f:
        del f["norm"]
    _one_line_error(p, "run-table column 'norm' is missing")
    p = fx.write(str(tmp_path / "c.h5"))
    with h5py.File(p, "a") as f:
        del f.attrs["schema_version"]
    _one_line_error(p, "schema_version missing")


def test_inconsistent_shape(tmp_path):
    p = fx.write(str(tmp_path / "d.h5"))
    with h5py.File(p, "a") as f:  # a trace without scales whose run axis disagrees
        f.create_dataset("grad_norm_x", data=np.zeros((31, 11)))
    with h5py.File(p, "a") as f:
        del f["grad_norm"]
        f["grad_norm"] = np.zeros((31, 11))
    _one_line_error(p, "dataset 'grad_norm' has 31 entries along dim 'run'")
    assert os.path.exists(p)


def test_dimension_without_coordinate_values(tmp_path):
    """A writer may make a dim a netCDF 'dimension but not a variable' (no coordinate
    values): the reader gives it an index coordinate."""
    p = fx.write(str(tmp_path / "nc.h5"))
    with h5py.File(p, "a") as f:
        f["eval"][...] = 0
        f["eval"].attrs["NAME"] = np.bytes_(
            "This is a netCDF dimension but not a netCDF variable.         3")
    runs, tr = analysis.load(p)
    np.testing.assert_array_equal(tr["eval"].values, np.arange(3))
    assert tr.test_acc.dims == ("run", "eval")
    assert float(tr.ics_cos.sel(run=2, probe=0, layer=4)) == pytest.approx(1 - 0.03 - 0.002)


def test_state_dict(files):
    """Names in network order (parameters, then state), shapes from tensor_shape, values
    from the right offsets of the flat row."""
    sd = analysis.state_dict(files["full"], 26)  # dln, batch: 4 layers, 3 BN
    want = fx.tensors(26)
    assert list(sd) == [n for n, _ in want]
    assert list(sd)[:4] == ["layers.0.weight", "layers.1.weight", "layers.1.bias",
                            "layers.3.weight"]
    assert list(sd)[-1] == "layers.7.running_var"
    o = 0
    for name, shape in want:
        assert sd[name].shape == shape and sd[name].dtype == np.float32
        n = int(np.prod(shape))
        np.testing.assert_array_equal(sd[name].ravel(), [fx.weight_value(26, o + i) for i in range(n)])
        o += n
    sd0 = analysis.state_dict(files["full"], 8)  # dln, none: weights only
    assert list(sd0) == ["layers.%d.weight" % (3 * l) for l in range(4)]
    assert sd0["layers.9.weight"].shape == (5, 4)


def test_state_dict_errors(files, tmp_path):
    with pytest.raises(analysis.ResultsFileError, match="run 20 has no weights yet .status 'pending'"):
        analysis.state_dict(files["partial"], 20)
    with pytest.raises(IndexError, match="run 32 out of range"):
        analysis.state_dict(files["full"], 32)
    p = fx.write(str(tmp_path / "nw.h5"), drop=("weights",))
    with pytest.raises(analysis.ResultsFileError, match="no final weights .dataset 'weights' missing"):
        analysis.state_dict(p, 0)
    p = fx.write(str(tmp_path / "bad.h5"))
    with h5py.File(p, "a") as f:
        f["tensor_offset"][3, 0] = fx.NWEIGHT - 1
    with pytest.raises(analysis.ResultsFileError, match="outside the weights row"):
        analysis.state_dict(p, 3)
    with pytest.raises(analysis.ResultsFileError, match="not a normsweep results file"):
        analysis.state_dict(files["foreign"], 0)


def test_older_schema_names_the_conversion(files):
    """A file of schema 1 (before CF conventions) is refused with the command that
    converts it (docs/hdf5-schema.md, "Older files")."""
    msg = _one_line_error(files["old_version"], "schema_version = 1")
    assert "normsweep merge NEW.h5 %s" % files["old_version"] in msg
