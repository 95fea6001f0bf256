"""The results file opens in netCDF tools: netCDF4-python and xarray, by its default
engine (netcdf4 when netCDF4 is installed) and by h5netcdf. netCDF-C 4.9.0 (Debian 12)
crashes the process on fixed-length HDF5 strings longer than one byte, so the writer
stores texts as netCDF char arrays (make_fixture.py); each open runs in a subprocess so
that such a crash fails this test instead of killing pytest."""
import json
import subprocess
import sys

import pytest

from analysis.tests import make_fixture as fx

pytest.importorskip("netCDF4", reason="python3-netcdf4 is not installed: the netCDF-C "
                    "reader of the results file was not tested (scripts/install-deps)")

TEXT_VARS = ("status", "message", "layer_name", "act_layer_name", "tensor_name")
RUN = 3  # a finished vgg run of the partial fixture: every text variable written

# Prints, for each text variable, {"dims": its dims, "shape" and "kind": of its values,
# "row": run RUN's values as str, "column": the first cell of every run as str}, and
# "dims": every dim the Dataset shows. argv: opener (netCDF4, xarray: the default
# engine, or an xarray engine), path.
CHILD = r"""
import json, sys, numpy as np
opener, path = sys.argv[1], sys.argv[2]
names = %r
run = %d
if opener == "netCDF4":
    import netCDF4
    ds = netCDF4.Dataset(path)
    get = lambda n: (ds[n].dimensions, ds[n][:])
    all_dims = list(ds.dimensions)
else:
    import xarray as xr
    kw = {} if opener == "xarray" else {"engine": opener}
    ds = xr.open_dataset(path, **kw)
    get = lambda n: (ds[n].dims, ds[n].values)
    all_dims = list(ds.sizes)
out = {"dims": all_dims}
for n in names:
    dims, v = get(n)
    v = np.asarray(v)
    out[n] = {"dims": list(dims), "shape": list(v.shape), "kind": v.dtype.kind,
              "row": np.asarray(v[run], dtype=str).tolist(),
              "column": np.asarray(v.reshape(v.shape[0], -1)[:, 0], dtype=str).tolist()}
print(json.dumps(out))
""" % (TEXT_VARS, RUN)


NEEDS = {"netCDF4": (), "xarray": ("xarray",), "h5netcdf": ("xarray", "h5netcdf")}


def _open(opener, path):
    """Run CHILD: the opener's view of the text variables of the file at path."""
    for module in NEEDS[opener]:
        pytest.importorskip(module)
    r = subprocess.run([sys.executable, "-c", CHILD, opener, path], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, ("%s on %s: exit %d%s\n%s" % (
        opener, path, r.returncode, " (killed by a signal: a crash in netCDF-C?)"
        if r.returncode < 0 else "", r.stderr[-3000:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


def _want(name, r):
    """What the fixture wrote in run r of text variable `name` (see make_fixture)."""
    status, _, _, msg = fx.partial_state(r)
    prefix = "features" if fx.RUNS[r][1].startswith("vgg") else "layers"
    shift = 0 if fx.RUNS[r][2] == "none" else 1
    return {
        "status": status,
        "message": msg,
        "layer_name": ["%s.%d" % (prefix, 3 * l) if l < fx.n_layers(r) else ""
                       for l in range(fx.NLAYER)],
        "act_layer_name": ["%s.%d" % (prefix, 3 * m + shift) if m < fx.n_act_layers(r) else ""
                           for m in range(fx.NACT)],
        "tensor_name": [n for n, _ in fx.tensors(r)] + [""] * (fx.NTENSOR - len(fx.tensors(r))),
    }[name]


LOGICAL_DIMS = {"status": ["run"], "message": ["run"], "layer_name": ["run", "layer"],
                "act_layer_name": ["run", "act_layer"], "tensor_name": ["run", "tensor"]}
STRLEN = {"status": fx.STATUS_LEN, "message": fx.MSG_LEN, "layer_name": fx.NAME_LEN,
          "act_layer_name": fx.NAME_LEN, "tensor_name": fx.NAME_LEN}


def _check_texts(got, with_strlen):
    """Every text variable: decoded str over its logical dims; with_strlen: the API
    reports the char array's strlen dim (netCDF4's own dimensions) - xarray must not."""
    for n in TEXT_VARS:
        g = got[n]
        want_dims = LOGICAL_DIMS[n] + (["strlen%d" % STRLEN[n]] if with_strlen else [])
        assert g["dims"] == want_dims, (n, g["dims"])
        assert len(g["shape"]) == len(LOGICAL_DIMS[n]), (n, g["shape"])  # one str a cell
        assert g["kind"] in "UO", (n, g["kind"])
        assert g["row"] == _want(n, RUN), (n, g["row"])
    assert got["status"]["column"] == [fx.partial_state(r)[0] for r in range(fx.NRUN)]
    assert got["message"]["column"][12].startswith("train loss 1e+04 above")


@pytest.mark.parametrize("opener", ["xarray", "h5netcdf"])
def test_xarray_opens_texts_as_str(files, opener):
    """xr.open_dataset(path) with no engine (netCDF-C underneath) and with h5netcdf:
    status over ('run',), every text decoded, no strlen dim anywhere."""
    got = _open(opener, files["partial"])
    _check_texts(got, with_strlen=False)
    assert got["status"]["dims"] == ["run"]
    assert not [d for d in got["dims"] if d.startswith("strlen")], got["dims"]


def test_netcdf4_opens_texts_as_str(files):
    """netCDF4.Dataset: the texts are char arrays over their strlen dim, read (with
    _Encoding) as one str per cell."""
    got = _open("netCDF4", files["partial"])
    _check_texts(got, with_strlen=True)
    assert {"strlen16", "strlen48", "strlen256"} <= set(got["dims"])
    assert got["status"]["shape"] == [fx.NRUN]


@pytest.mark.parametrize("opener", ["netCDF4", "xarray", "h5netcdf"])
def test_real_file_opens(real, opener):
    """A file `normsweep run` wrote (conftest.REAL_SPEC) opens the same ways."""
    got = _open(opener, real["full"])
    assert got["status"]["dims"] == (["run", "strlen16"] if opener == "netCDF4" else ["run"])
    assert got["status"]["shape"] == [16]
    assert set(got["status"]["column"]) == {"done", "diverged"}
    assert got["layer_name"]["row"] == ["layers.0", "layers.2", "layers.4"]  # run RUN: none
    if opener != "netCDF4":
        assert not [d for d in got["dims"] if d.startswith("strlen")], got["dims"]
