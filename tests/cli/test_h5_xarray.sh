#!/usr/bin/env bash
# test_h5_xarray.sh - a store file opens in xarray (engine h5netcdf) with named
# dims, coordinates, a dim without coordinates, and attributes.
# ctest-labels: cli
# ctest-timeout: 120
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/h5_writer.sh"
if ! "$h5w_py" -c "import xarray, h5netcdf" 2>/dev/null; then
    echo "SKIP: $h5w_py cannot import xarray and h5netcdf (apt-get install python3-xarray python3-h5netcdf)"
    exit 77
fi
f="$h5w_tmp/x.h5"
h5w_start "$f" 2 0
h5w_wait_exit 60; rc=$h5w_rc
[ "$rc" = 0 ] || { echo "FAIL: writer exited $rc"; cat "$h5w_tmp/mpirun.log"; exit 1; }
"$h5w_py" - "$f" <<'PY'
import sys, numpy as np, xarray as xr
ds = xr.open_dataset(sys.argv[1], engine="h5netcdf")
print(ds)
assert dict(ds.sizes) == {"run": 20, "step": 5, "eta": 3, "unit": 4, "norm": 3}, dict(ds.sizes)
assert ds.loss.dims == ("run", "step") and ds.act.dims == ("run", "step", "unit", "norm")
assert ds.lonely.dims == ("step",)
assert set(ds.coords) == {"run", "step", "eta", "norm"}, set(ds.coords)  # unit: no coordinate
assert list(ds.step.values) == [0, 10, 20, 30, 40] and ds.step.dtype == np.int32
assert list(ds.eta.values) == [0.5, 1.0, 2.0]
assert list(ds.norm.values) == [b"none", b"batch", b"l2"]
assert ds.run.values[0] == 1000 and ds.run.values[-1] == 1019
assert ds.loss.attrs == {"units": "nats", "long_name": "training loss", "description": "cross-entropy"}
assert ds.step.attrs["units"] == "iterations"
assert ds.attrs["title"] == "h5store test" and ds.attrs["paper"] == "Santurkar et al. 2018"
# label-based selection works on the coordinates
assert float(ds.loss.sel(run=1003, step=20)) == 302.25
assert float(ds.grad.sel(run=1001, step=10, eta=2.0)) == 1 + 1 / 8 + 2 / 1024 - 3
assert np.isnan(ds.loss.sel(run=1019)).all()            # the row nobody wrote
assert int(ds.steps_done.sel(run=1019)) == -1
print("xarray: dims, coordinates and attributes as declared")
PY
