"""load.py - read a normsweep results file (schema version 2, docs/hdf5-schema.md).

Two layers:
- `Sweep` (read_sweep): the file as plain numpy - run table columns, coordinates, and
  trace variables read on first use (one short open per read, so a file that a running
  job is still writing is never held open). The figures and the CLI use this.
- `load(path)`: what a researcher wants in a notebook - the run table as a pandas
  DataFrame and the traces as an xarray Dataset; without pandas/xarray (or with
  plain=True) a dict of numpy arrays and a `Traces` dict of numpy arrays.

Every way a file can be wrong raises ResultsFileError with ONE line that names the file
and says what was expected.
"""
import os
import warnings

import numpy as np
import h5py

SCHEMA = "normsweep"
SCHEMA_VERSION = 2
# Files of an older schema are converted by the C program, which knows both layouts:
CONVERT = "normsweep merge NEW.h5 %s"

# Nothing here lists the schema's variables or dimensions: names, dims, types and
# attributes come from the file itself (its HDF5 dimension scales), whose layout is made
# from the one schema table in src/store/schema.c (docs/hdf5-schema.md). What the
# loader relies on beyond that is stated where it is used:
# - the run-table columns analysis needs (a file without them is refused);
REQUIRED_COLUMNS = ("lr", "arch", "norm", "seed", "status")
# - every variable's first dim is `run` (the format's rule; used only for a dataset
#   whose dimension scales were lost, e.g. rewritten by a tool);
ROW_DIM = "run"
# - the final weights (a VGG run is ~10^7 floats) are the variables over the `weight`
#   and `tensor` dims: load() leaves them out unless asked by name, state_dict() reads
#   one run's row of these four.
WEIGHT_DIMS = ("weight", "tensor")
WEIGHT_VARS = ("weights", "tensor_name", "tensor_offset", "tensor_shape")
# - text variables are netCDF char arrays whose last dim, named strlen<N> (strlen16,
#   strlen48, ...), holds each text's N bytes, UTF-8, NUL-padded; that dim is storage,
#   not data: the loader hides it (read_values, _dims_of) and its scale.
STRLEN_DIM = "strlen"

# netCDF-4 marks a dimension that has no coordinate values with this NAME.
_NC_DIM_ONLY = "This is a netCDF dimension but not a netCDF variable"


class ResultsFileError(ValueError):
    """The file is missing, not HDF5, not a normsweep results file, or of another schema.
    str(e) is one line: '<path>: <what is wrong>; expected <what>'."""


def _open(path):
    # A reader must not take HDF5's file lock: the MPI-IO writer takes none and a
    # status query while a job runs must not block or be blocked.
    try:
        return h5py.File(path, "r", locking=False)
    except TypeError:  # h5py built without the locking keyword
        return h5py.File(path, "r")


def _text(v):
    """An attribute or string cell as Python str (fixed-length bytes are NUL-padded)."""
    if isinstance(v, bytes):
        return v.split(b"\0", 1)[0].decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO" and v.size == 1:
        return _text(v.reshape(-1)[0])
    return v


def _attr(v):
    v = _text(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "iuf":
        return v.reshape(-1)[0].item()
    return v


# Root attributes the writer stores as text that are numbers or lists of numbers.
_INT_ATTRS = ("schema_version", "blas_threads")
_LIST_ATTRS = ("data_mean", "data_std")


def _root_attr(key, v):
    """A root attribute as Python: ints and per-channel lists parsed from their text."""
    v = _attr(v)
    if key in _INT_ATTRS and isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return v
    if key in _LIST_ATTRS and isinstance(v, str) and v.startswith("["):
        try:
            return [float(x) for x in v.strip("[]").split(",") if x.strip()]
        except ValueError:
            return v
    if key in _LIST_ATTRS and isinstance(v, np.ndarray):
        return [float(x) for x in v.reshape(-1)]
    return v


def _decode(a):
    """String arrays (fixed-length bytes or variable-length) -> numpy unicode arrays."""
    a = np.asarray(a)
    if a.dtype.kind == "S":
        return np.char.decode(a, "utf-8", errors="replace")
    if a.dtype.kind == "O":
        flat = [_text(x) if isinstance(x, bytes) else str(x) for x in a.reshape(-1)]
        return np.array(flat, dtype=str).reshape(a.shape)
    return a


def _is_scale(ds):
    return _text(ds.attrs.get("CLASS", b"")) == "DIMENSION_SCALE"


def _scale_name(ds, i):
    """Name of the dimension scale attached to axis i of ds, or None."""
    try:
        d = ds.dims[i]
        return d[0].name.rsplit("/", 1)[-1] if len(d) > 0 else None
    except (KeyError, RuntimeError, ValueError):
        return None


def is_strlen_dim(name):
    """Whether dim `name` is the character axis of text variables (netCDF char arrays)."""
    return name.startswith(STRLEN_DIM)


def is_char_array(ds):
    """Whether dataset ds is a netCDF char array: one text per cell of its leading dims,
    its bytes along a last `strlen<N>` dim. The writer stores text so because netCDF-C
    4.9.0 (netCDF4-python, xarray's default engine) crashes on fixed-length HDF5
    strings; files written before that hold fixed-length strings, read as they are."""
    if ds.dtype != np.dtype("S1") or ds.ndim < 2:
        return False
    last = _scale_name(ds, ds.ndim - 1)
    return "_Encoding" in ds.attrs or (last is not None and is_strlen_dim(last))


def read_values(ds, idx=()):
    """ds[idx] as numpy with text as str arrays over the logical dims: a char array
    (is_char_array) becomes one str per cell, like the fixed-length strings of older
    files. idx must not index the strlen dim. The loader reads every text through here."""
    a = ds[idx]
    if is_char_array(ds):
        # each cell's N bytes, contiguous, are one fixed-length N-byte string
        a = np.ascontiguousarray(a)
        a = a.view("S%d" % a.shape[-1]).reshape(a.shape[:-1])
    return _decode(a)


def _dims_of(ds, name):
    """Dimension names of a dataset: the names of its attached dimension scales; an
    axis without one is `run` if it is the first, else '<name>_dim<i>'. The strlen dim
    of a char array is not one: read_values() folds it into the text."""
    if _is_scale(ds):
        return (name,)
    ndim = ds.ndim - 1 if is_char_array(ds) else ds.ndim
    names = []
    for i in range(ndim):
        n = _scale_name(ds, i)
        names.append(n or ds.dims[i].label or (ROW_DIM if i == 0 else "%s_dim%d" % (name, i)))
    return tuple(names)


def _creation_order(f):
    """Names of the datasets attached to the `run` dim, in the order the writer
    attached them (the schema table's order), from the scale's REFERENCE_LIST; [] if
    the file has none."""
    try:
        names = [f[r[0]].name for r in f[ROW_DIM].attrs["REFERENCE_LIST"]]
    except (KeyError, ValueError, TypeError, RuntimeError, OSError):
        return []
    return [n.rsplit("/", 1)[-1] for n in names if n]  # a deleted dataset has no name


class Sweep:
    """A results file as numpy. Attributes: path, attrs (root attributes, decoded),
    runs (dict column -> 1-D array over runs, strings as str), coords (dict dim -> 1-D
    array), dims (dict trace name -> tuple of dim names), run_coords (the run-table
    columns the file names as coordinates of its variables: lr, arch, norm, seed,
    status and every swept axis), nrun. Traces are read by var(name) on first use and
    cached."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._cache = {}
        self._check_file()
        with _open(self.path) as f:
            self._check_header(f)
            self.attrs = {k: _root_attr(k, v) for k, v in f.attrs.items()}
            self.coords, self.dims, self.runs = {}, {}, {}
            self.run_coords = []  # run-table columns that label runs (CF `coordinates`)
            run_cols = {}
            for name, obj in f.items():
                if not isinstance(obj, h5py.Dataset):
                    continue  # /weights and any other group
                if _is_scale(obj):
                    if is_strlen_dim(name):
                        continue  # a char array's byte axis: folded into its text
                    nm = _text(obj.attrs.get("NAME", b""))
                    if isinstance(nm, str) and nm.startswith(_NC_DIM_ONLY):
                        self.coords[name] = np.arange(obj.shape[0])
                    else:
                        self.coords[name] = read_values(obj)
                    continue
                dims = _dims_of(obj, name)
                for c in _text(obj.attrs.get("coordinates", b"")).split():
                    if c not in self.run_coords:
                        self.run_coords.append(c)
                if dims == ("run",):
                    run_cols[name] = obj
                else:
                    self.dims[name] = dims
            self._read_runs(run_cols, _creation_order(f))
            self.nrun = len(self.runs["status"])
            for name, dims in self.dims.items():
                for d in dims:
                    self.coords.setdefault(d, None)
            for d, c in list(self.coords.items()):
                if c is None:  # a dim with no scale dataset: index coordinate
                    n = next(f[v].shape[i] for v, dd in self.dims.items()
                             for i, x in enumerate(dd) if x == d)
                    self.coords[d] = np.arange(n)
            self._check_shapes(f)

    # -- validation ------------------------------------------------------------
    def _fail(self, what):
        raise ResultsFileError("%s: %s" % (self.path, what))

    def _check_file(self):
        if not os.path.exists(self.path):
            self._fail("no such file (expected a normsweep results file, .h5)")
        if os.path.isdir(self.path):
            self._fail("is a directory (expected a normsweep results file, .h5)")
        try:
            ok = h5py.is_hdf5(self.path)
        except OSError as e:
            self._fail("cannot read (%s)" % e)
        if not ok:
            self._fail("not an HDF5 file (expected a normsweep results file, schema %r)" % SCHEMA)

    def _check_header(self, f):
        schema = _attr(f.attrs["schema"]) if "schema" in f.attrs else None
        if schema is None:
            self._fail("not a normsweep results file (root attribute 'schema' is missing; "
                       "expected schema = %r)" % SCHEMA)
        if schema != SCHEMA:
            self._fail("not a normsweep results file (root attribute schema = %r; expected %r)"
                       % (schema, SCHEMA))
        ver = (_root_attr("schema_version", f.attrs["schema_version"])
               if "schema_version" in f.attrs else None)
        try:
            ver_i = int(ver)
        except (TypeError, ValueError):
            ver_i = None
        if ver_i is not None and 0 < ver_i < SCHEMA_VERSION:
            self._fail("schema_version = %d, written by an older normsweep; this reader reads "
                       "schema_version %d (expected schema_version = %d): convert the file with "
                       "`%s` (docs/hdf5-schema.md)"
                       % (ver_i, SCHEMA_VERSION, SCHEMA_VERSION, CONVERT % self.path))
        if ver_i != SCHEMA_VERSION:
            got = "missing" if ver is None else "= %r" % (ver,)
            self._fail("schema_version %s; this reader understands schema_version %d only "
                       "(expected schema_version = %d)" % (got, SCHEMA_VERSION, SCHEMA_VERSION))

    def _read_runs(self, cols, order):
        for c in REQUIRED_COLUMNS:
            if c not in cols:
                self._fail("run-table column %r is missing (expected a 1-D dataset over dim "
                           "'run', schema %d)" % (c, SCHEMA_VERSION))
        # the writer's order (settings first, as the schema table lists them), then any
        # column a tool added
        order = [c for c in order if c in cols] + sorted(c for c in cols if c not in order)
        n = cols["status"].shape[0]
        for c in order:
            if cols[c].shape[0] != n:
                self._fail("run-table column %r has %d rows (expected %d, as 'status')"
                           % (c, cols[c].shape[0], n))
            self.runs[c] = read_values(cols[c])
        if "run" not in self.coords or self.coords["run"] is None:
            self.coords["run"] = np.arange(n)

    def _check_shapes(self, f):
        for name, dims in self.dims.items():
            shape = f[name].shape
            for d, s in zip(dims, shape):
                want = len(self.coords[d])
                if s != want:
                    self._fail("dataset %r has %d entries along dim %r (expected %d, the "
                               "size of dim %r)" % (name, s, d, want, d))

    # -- access ----------------------------------------------------------------
    def has(self, name):
        return name in self.dims

    def var(self, name):
        """A trace as a numpy array (float traces keep NaN for unwritten cells; integer
        traces keep -1; strings are str)."""
        if name not in self._cache:
            if name not in self.dims:
                raise KeyError("%s: no dataset %r in this file" % (self.path, name))
            with _open(self.path) as f:
                self._cache[name] = read_values(f[name])
        return self._cache[name]

    def finite(self, name, idx=None):
        """Whether trace `name` exists and has any finite value (in runs idx)."""
        if name not in self.dims:
            return False
        a = self.var(name)
        if a.dtype.kind not in "fc":
            return a.size > 0
        if idx is not None:
            a = a[np.asarray(idx, dtype=int)]
        return bool(np.isfinite(a).any())

    def select(self, **criteria):
        """Run indices matching every criterion (lr, arch, norm, seed, status, or any
        run-table column); a value may be a scalar or a list of allowed values."""
        return select(self.runs, **criteria)

    def values(self, column, idx=None):
        """Distinct values of a run-table column (in first-appearance order)."""
        a = self.runs[column] if idx is None else self.runs[column][np.asarray(idx, dtype=int)]
        out = []
        for v in a.tolist():
            if not any(_same(v, o) for o in out):
                out.append(v)
        return out


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=0.0))
        except (TypeError, ValueError):
            return False
    return a == b


def read_sweep(path):
    """Open and validate a results file; see Sweep."""
    return Sweep(path)


def _column(runs, name):
    if hasattr(runs, "columns"):  # pandas DataFrame
        if name not in runs.columns:
            raise KeyError("no run-table column %r" % name)
        return runs[name].to_numpy()
    return np.asarray(runs[name])


def select(runs, **criteria):
    """Indices (positions 0..R-1) of the runs matching every criterion, e.g.
    select(runs, lr=0.1, norm=["batch", "none"], seed=0). `runs` is the run table from
    load() (DataFrame or dict) or Sweep.runs. Floats compare with a relative tolerance of
    1e-9; None means "any"."""
    mask = None
    for key, want in criteria.items():
        if want is None:
            continue
        col = _column(runs, key)
        wants = list(want) if isinstance(want, (list, tuple, set, np.ndarray)) else [want]
        m = np.zeros(len(col), dtype=bool)
        for w in wants:
            if col.dtype.kind == "f":
                m |= np.isclose(col, float(w), rtol=1e-9, atol=0.0)
            else:
                m |= col == w
        mask = m if mask is None else mask & m
    n = len(_column(runs, "status"))
    return np.flatnonzero(np.ones(n, dtype=bool) if mask is None else mask)


class Traces(dict):
    """The traces without xarray: name -> numpy array, plus the coordinate arrays under
    their dim names ('step', 'probe', 'eta', ...). .dims maps each trace to its dim
    names, .attrs holds the file's root attributes."""

    def __init__(self, arrays, dims, attrs):
        super().__init__(arrays)
        self.dims = dims
        self.attrs = attrs


def _have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def load(path, variables=None, plain=False):
    """Read a normsweep results file.

    Returns (runs, traces):
      runs   - pandas DataFrame indexed by run (columns as in the schema's run table);
               a dict column -> numpy array (plus 'run') without pandas or if plain.
      traces - xarray Dataset with named dims, coordinates (step, eval, probe, eta_rel as
               'eta', ...) and the file's run coordinates (lr, arch, norm, seed, status and
               every swept axis) on 'run';
               a Traces dict of numpy arrays without xarray or if plain.
    variables: names of traces to read (default: all but the final-weight tables
    weights/tensor_*, which can be large: ask for them by name or use state_dict()).
    Unwritten cells are NaN (-1 for integers, '' for strings). Raises ResultsFileError
    for a file that is not a normsweep results file of this schema version (an older
    one names the command that converts it)."""
    sw = Sweep(path)
    names = ([n for n in sw.dims if not set(sw.dims[n]) & set(WEIGHT_DIMS)]
             if variables is None else list(variables))
    for n in names:
        if n not in sw.dims:
            raise KeyError("%s: no trace %r in this file (has: %s)"
                           % (sw.path, n, ", ".join(sorted(sw.dims))))
    arrays = {n: sw.var(n) for n in names}
    used = ["run"]  # dims in the order the traces use them
    for n in names:
        used += [d for d in sw.dims[n] if d not in used]

    if not plain and _have("pandas"):
        import pandas as pd
        runs = pd.DataFrame(dict(sw.runs), index=pd.Index(sw.coords["run"], name="run"))
    else:
        runs = dict(sw.runs)
        runs["run"] = np.asarray(sw.coords["run"])

    if not plain and _have("xarray"):
        import xarray as xr
        coords = {d: sw.coords[d] for d in used}
        # the file's own coordinates on run (CF `coordinates` attributes)
        coords.update({c: ("run", sw.runs[c]) for c in sw.run_coords if c in sw.runs})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traces = xr.Dataset({n: (sw.dims[n], a) for n, a in arrays.items()},
                                coords=coords, attrs=dict(sw.attrs))
    else:
        arrays.update({d: sw.coords[d] for d in used})
        traces = Traces(arrays, {n: sw.dims[n] for n in names}, dict(sw.attrs))
    return runs, traces


def subset(runs, traces, idx):
    """The runs at positions idx (from select()) of both halves of load()'s result."""
    idx = np.asarray(idx, dtype=int)
    if hasattr(runs, "iloc"):
        runs = runs.iloc[idx]
    else:
        runs = {k: np.asarray(v)[idx] for k, v in runs.items()}
    if hasattr(traces, "isel"):
        traces = traces.isel(run=idx)
    else:
        arrays = {}
        for k, v in traces.items():
            dims = traces.dims.get(k, (k,))
            arrays[k] = v[idx] if dims[:1] == ("run",) else v
        traces = Traces(arrays, traces.dims, traces.attrs)
    return runs, traces


def state_dict(path, run, step=None):
    """The final weights of run `run` (its position 0..R-1) as an ordered dict
    {PyTorch state_dict key: numpy float32 array of the tensor's shape}, in network
    order: parameters and state such as BN running statistics (`features.1.running_var`).
    For a torch module of the same layout (BN's num_batches_tracked is not stored; torch
    accepts its absence):
        m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    step: instead of the final weights, the weights w_step saved before that step's
    update (a step of the spec's save_weights.at: the `save` coordinate of
    saved_weights, laid out as the final ones).
    Reads only that run's row. Raises
    ResultsFileError when the file has no weights or the run has not written them yet
    (pending, running, or killed before its end)."""
    sw = Sweep(path)
    r = int(run)
    if not 0 <= r < sw.nrun:
        raise IndexError("%s: run %d out of range (the file has runs 0..%d)"
                         % (sw.path, r, sw.nrun - 1))
    missing = [v for v in WEIGHT_VARS if v not in sw.dims]
    if missing:
        sw._fail("no final weights (dataset %r missing; expected weights, tensor_name, "
                 "tensor_offset, tensor_shape as in schema %d)" % (missing[0], SCHEMA_VERSION))
    var, row = "weights", (r,)
    if step is not None:
        var, row = "saved_weights", (r, _save_index(sw, step))
    with _open(sw.path) as f:
        names = read_values(f["tensor_name"], r)
        offs = np.asarray(f["tensor_offset"][r], dtype=np.int64)
        shapes = np.asarray(f["tensor_shape"][r], dtype=np.int64)
        keep = [k for k in range(len(names)) if names[k]]
        if not keep:
            sw._fail("run %d has no weights yet (status %r; expected the tensor table a "
                     "finished run writes)" % (r, str(sw.runs["status"][r])))
        flat = f[var][row]
        width = flat.shape[0]
        if step is not None and np.isnan(flat).all():
            sw._fail("run %d has no weights saved at step %d (status %r; expected a run "
                     "that reached the step)" % (r, int(step), str(sw.runs["status"][r])))
        out = {}
        for k in keep:
            shape = tuple(int(d) for d in shapes[k] if d >= 0)
            n = int(np.prod(shape, dtype=np.int64))
            o = int(offs[k])
            if o < 0 or o + n > width:
                sw._fail("run %d tensor %r: offset %d + size %d outside the weights row "
                         "(expected within 0..%d)" % (r, names[k], o, n, width))
            out[str(names[k])] = np.asarray(flat[o:o + n], dtype=np.float32).reshape(shape)
    return out


def _save_index(sw, step):
    """Position of `step` on the `save` dim of saved_weights (spec: save_weights.at)."""
    if "saved_weights" not in sw.dims:
        sw._fail("no saved weights (dataset 'saved_weights' missing; expected a sweep "
                 "run with save_weights: {at: [...]})")
    saved = [int(t) for t in sw.coords["save"]]
    if int(step) not in saved:
        sw._fail("step %d was not saved (expected one of save_weights.at: %s)"
                 % (int(step), ", ".join(map(str, saved))))
    return saved.index(int(step))
