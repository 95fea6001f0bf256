"""make_fixture.py - normsweep results files whose numbers are known.

Laid out as the C writer (src/store/results.c, docs/hdf5-schema.md) lays them out
(schema 2): root attributes as text, dimension scales (h5py's make_scale/attach_scale,
so xarray's h5netcdf engine sees named dims; `unit`, `tensor`, `axis`, `weight` are
netCDF "dimension but not a variable" scales as the writer makes them), one 1-D dataset
per run-table column, NaN fill for unwritten float cells, -1 for integers; the settings
arch/norm/init as variable-length UTF-8 strings, the texts written while runs go
(status, message, names) as netCDF char arrays: S1 cells, NUL-padded, over one more
last dim `strlen<N>` (a dimension-only scale) with `_Encoding = "utf-8"` - or, with
write(text="fixed"), as the fixed-length strings of files written before; `units`
and `long_name` on every variable, and a CF `coordinates` attribute naming the run
coordinates on every other variable over `run`. test_real_file checks that every name
and dims here appear, the same, in a file the real `normsweep run` wrote.

Every number is a closed-form function of (run index r, step/probe value, layer, ...),
given below, so a test can say exactly what load() and every figure must show.

    python3 -m analysis.tests.make_fixture DIR     # writes the fixtures into DIR
"""
import itertools
import os
import sys

import h5py
import numpy as np

LRS = (0.1, 0.5)
ARCHS = ("vgg11:width=0.125", "dln:depth=4")
NORMS = ("none", "batch", "noisy_batch", "l2")
SEEDS = (0, 1)
# run index = position in product(lr, arch, norm, seed), seed fastest (like the sweep).
RUNS = list(itertools.product(LRS, ARCHS, NORMS, SEEDS))
NRUN = len(RUNS)  # 32

STEPS = 100
STEP = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99], dtype=np.int64)
EVAL = np.array([0, 50, 99], dtype=np.int64)
PROBE = np.array([0, 20, 40, 60, 80], dtype=np.int64)
ETA_REL = np.array([0.5, 1.0, 2.0, 4.0])
QUANTILES = np.array([0.025, 0.16, 0.5, 0.84, 0.975])
Z = np.array([-1.96, -0.99, 0.0, 0.99, 1.96])  # standard-normal quantiles, rounded
NLAYER = 6   # layer dim: max over runs (vgg runs have 6, dln runs 4); coordinate 1..6
NACT = 5     # act_layer dim: every hidden layer, for every norm incl. none (vgg 5, dln 3)
NUNIT = 3
# texts written while runs go: bytes per cell, as the writer (NS_RESULTS_*_LEN)
STATUS_LEN, MSG_LEN, NAME_LEN = 16, 256, 48
VSTR = h5py.string_dtype("utf-8")  # variable-length, as the writer's settings
COORDS = ("lr", "arch", "norm", "seed", "status")  # the spec varies these four
COORDINATES = " ".join(COORDS)
BN_NORMS = ("batch", "noisy_batch")  # thm41 is measured on these layers only


def n_layers(r):
    return 6 if RUNS[r][1].startswith("vgg") else 4


def n_act_layers(r):
    return n_layers(r) - 1


def tensors(r):
    """[(name, shape)] of run r's final weights in file order (parameters, then state):
    layer l has weight (l+2, l+1); each hidden layer's norm (not none) has weight and
    bias (l+2,) and state running_mean/var (l+2,)."""
    prefix = "features" if RUNS[r][1].startswith("vgg") else "layers"
    norm = RUNS[r][2]
    params, state = [], []
    for l in range(n_layers(r)):
        params.append(("%s.%d.weight" % (prefix, 3 * l), (l + 2, l + 1)))
        if norm != "none" and l < n_act_layers(r):
            params += [("%s.%d.%s" % (prefix, 3 * l + 1, w), (l + 2,)) for w in ("weight", "bias")]
            state += [("%s.%d.%s" % (prefix, 3 * l + 1, w), (l + 2,))
                      for w in ("running_mean", "running_var")]
    return params + state


def n_weights(r):
    return sum(int(np.prod(sh)) for _, sh in tensors(r))


NTENSOR = max(len(tensors(r)) for r in range(NRUN))
NWEIGHT = max(n_weights(r) for r in range(NRUN))


def weight_value(r, i):
    """Flat weight i of run r (float32)."""
    return np.float32(r + i / 1000.0)


# ---- the closed forms (t: step, p: probe step, j: eta index, l: layer, m: norm layer) ----
def train_loss(r, t):
    return (1.0 + r / 10.0) * np.exp(-np.asarray(t, float) / 50.0) + 0.05


def train_acc(r, t):
    return 0.9 - 0.8 * np.exp(-np.asarray(t, float) / 50.0) - r / 1000.0


def grad_norm(r, t):
    return 1.0 + r + np.asarray(t, float) / 100.0


def test_loss(r, t):
    return train_loss(r, t) + 0.1


def test_acc(r, t):
    return train_acc(r, t) - 0.05


def landscape_loss(r, p, j):
    return train_loss(r, p) * (1.0 + 0.1 * ETA_REL[j])


def landscape_grad_change(r, p, j):
    return ETA_REL[j] * (1.0 + r / 10.0) * (1.0 + np.asarray(p, float) / 100.0)


def beta_eff(r, p):
    return 10.0 + r + np.asarray(p, float) / 10.0


def ics_l2(r, p, l):
    return 0.0 if l == 0 else (l + 1) * (1.0 + r / 10.0) / (1.0 + p / 20.0)


def ics_cos(r, p, l):
    return 1.0 if l == 0 else 1.0 - 0.01 * l - r / 1000.0


def act_mean(r, p, m, u):  # m: act_layer position 0..NACT-1
    noisy = 0.5 * np.sin(p / 10.0) if RUNS[r][2] == "noisy_batch" else 0.0
    return 0.1 * m + 0.01 * u + noisy


def act_std(r, p, m, u):
    return 1.0 + 0.1 * m + (0.2 * (p / 80.0) if RUNS[r][2] == "noisy_batch" else 0.0)


def act_quantile(r, p, m, u, k):
    return act_mean(r, p, m, u) + act_std(r, p, m, u) * Z[k]


def hess_top_eig(r, p):
    lr, seed = RUNS[r][0], RUNS[r][3]
    return (2.0 / lr) * (1.0 - np.exp(-p / 30.0)) * (1.0 + 0.01 * seed) + 1.0


# ---- exact curvature (probes.curvature, mode both; docs/measurements.md) ----------------
NEIG = 3      # eig dim: k = 3, coordinate 1..3
NSLQ_V = 2    # slq_vec dim
NSLQ_M = 4    # slq_node dim
CURV_MODES = ("train", "eval")
MODE_FACTOR = {"train": 1.0, "eval": 0.5}
SLQ_WEIGHTS = np.array([0.1, 0.4, 0.3, 0.2])
# (stem, dims, dtype): the file has stem + "_train" and stem + "_eval"
CURV_VARS = (
    ("curv_top_eig", ("run", "probe", "eig"), "f8"),
    ("curv_top_residual", ("run", "probe", "eig"), "f8"),
    ("curv_top_converged", ("run", "probe", "eig"), "i4"),
    ("curv_min_eig", ("run", "probe"), "f8"),
    ("curv_min_residual", ("run", "probe"), "f8"),
    ("curv_min_converged", ("run", "probe"), "i4"),
    ("curv_grad_share", ("run", "probe"), "f8"),
    ("curv_lanczos_steps", ("run", "probe"), "i4"),
    ("curv_products", ("run", "probe"), "i4"),
    ("curv_slq_nodes", ("run", "probe", "slq_vec", "slq_node"), "f8"),
    ("curv_slq_weights", ("run", "probe", "slq_vec", "slq_node"), "f8"),
    ("curv_trace", ("run", "probe"), "f8"),
    ("curv_trace_se", ("run", "probe"), "f8"),
    ("curv_layer_top_eig", ("run", "probe", "layer"), "f8"),
    ("curv_layer_residual", ("run", "probe", "layer"), "f8"),
    ("curv_layer_converged", ("run", "probe", "layer"), "i4"),
)
CURV_NAMES = tuple(s + "_" + m for m in CURV_MODES for s, _, _ in CURV_VARS)


def curv_top_eig(r, p, k, mode):
    """lambda_k (k = 1..3) at probe step p: hess_top_eig / k, halved in eval mode; the
    `none` runs' lambda_3 is negative: -0.2 (1 + seed) (1 + p/100)."""
    if RUNS[r][2] == "none" and k == 3:
        return -0.2 * (1.0 + RUNS[r][3]) * (1.0 + p / 100.0)
    return hess_top_eig(r, p) * MODE_FACTOR[mode] / k


def curv_top_converged(r, p, k, mode):
    """1, except lambda_1 of the batch runs' seed 1 at probe step 40 (both modes)."""
    return 0 if (RUNS[r][2] == "batch" and RUNS[r][3] == 1 and p == 40 and k == 1) else 1


def curv_min_eig(r, p, mode):
    """Negative (-0.05 (1 + r/10)(1 + p/100)), except l2: +0.01 (a PSD Hessian)."""
    if RUNS[r][2] == "l2":
        return 0.01
    return -0.05 * (1.0 + r / 10.0) * (1.0 + p / 100.0) * MODE_FACTOR[mode]


def curv_min_converged(r, p, mode):
    """1, except the none runs' seed 0 at probe step 80."""
    return 0 if (RUNS[r][2] == "none" and RUNS[r][3] == 0 and p == 80) else 1


def curv_slq(r, p, v, mode):
    """(nodes, weights) of SLQ vector v: nodes (i - 1)(1 + v) s for i = 0..3 with
    s = (1 + r/10 + p/100) x MODE_FACTOR, weights SLQ_WEIGHTS (sum 1); noisy_batch's
    vector 1 stops after 3 steps: node 3 NaN with weight 0, node 2's weight 0.5."""
    s = (1.0 + r / 10.0 + p / 100.0) * MODE_FACTOR[mode]
    nodes = (np.arange(NSLQ_M) - 1.0) * (1.0 + v) * s
    w = SLQ_WEIGHTS.copy()
    if RUNS[r][2] == "noisy_batch" and v == 1:
        nodes[3], w[2], w[3] = np.nan, 0.5, 0.0
    return nodes, w


def curv_layer_top_eig(r, p, l, mode):
    """Layer position l (0-based) of run r: (l + 1) 10^(l/2) (1 + p/100) (1 + seed/10);
    NaN beyond the run's layers."""
    if l >= n_layers(r):
        return np.nan
    return (l + 1) * 10.0 ** (l / 2.0) * (1.0 + p / 100.0) * (1.0 + RUNS[r][3] / 10.0) * \
        MODE_FACTOR[mode]


def curv_layer_converged(r, p, l, mode):
    """1, except layer position 2 of the noisy_batch runs' seed 0 at probe step 20; -1
    beyond the run's layers."""
    if l >= n_layers(r):
        return -1
    return 0 if (RUNS[r][2] == "noisy_batch" and RUNS[r][3] == 0 and p == 20 and l == 2) else 1


# ---- partial-file statuses ----------------------------------------------------
# Runs 0-7 (lr 0.1, vgg, every norm and seed) are done; 8-11 running at step 40;
# 12 diverged at step 30; 13 failed at step 20; 14 stopped at step 50; 15-31 pending.
def partial_state(r):
    """(status, last step written or None for nothing, diverged_step, message)."""
    if r < 8:
        return "done", STEPS - 1, -1, ""
    if r < 12:
        return "running", 40, -1, ""
    if r == 12:
        return "diverged", 30, 30, "train loss 1e+04 above diverge_above 1e+03 at step 30"
    if r == 13:
        return "failed", 20, -1, "out of memory allocating activations"
    if r == 14:
        return "stopped", 50, -1, "SIGTERM: checkpointed at step 50"
    return "pending", None, -1, ""


DIVERGED_LOSS = 1.0e4


def _text(value):
    """A text attribute as the writer stores it (fixed length, NUL-terminated)."""
    return np.bytes_(value)


def _scale(f, name, values, long_name):
    d = f.create_dataset(name, data=values)
    d.make_scale(name)
    d.attrs["units"] = _text("1")
    d.attrs["long_name"] = _text(long_name)
    return d


def _dim_only(f, name, n, long_name):
    """A dim without coordinate values, as netCDF-4 (and the writer) marks it."""
    d = f.create_dataset(name, shape=(n,), dtype="f4")
    d.make_scale("This is a netCDF dimension but not a netCDF variable. %9d" % n)
    d.attrs["units"] = _text("1")
    d.attrs["long_name"] = _text(long_name)
    return d


class _Text:
    """A text variable of n bytes per cell: cells are assigned bytes (or arrays of them)
    over the logical dims and stored in the file's layout, `chars` (S1 over a last
    strlen<n> dim) or `fixed` (one fixed-length n-byte string per cell)."""

    def __init__(self, ds, n):
        self.ds, self.n = ds, n

    def __setitem__(self, idx, value):
        a = np.asarray(value, dtype="S%d" % self.n)
        self.ds[idx] = a[..., None].view("S1") if self.ds.dtype == np.dtype("S1") else a


def _text_var(f, name, dims, n, text):
    """A text variable (see _Text), with the strlen<n> dim made on first use."""
    if text == "fixed":
        return _Text(_var(f, name, dims, np.dtype("S%d" % n)), n)
    strlen = "strlen%d" % n
    if strlen not in f:
        _dim_only(f, strlen, n, "bytes of one text cell (UTF-8, NUL-padded)")
    return _Text(_var(f, name, dims + (strlen,), np.dtype("S1")), n)


def _var(f, name, dims, dtype=np.float64, fill=None):
    shape = tuple(f[d].shape[0] for d in dims)
    if dtype is VSTR:
        d = f.create_dataset(name, shape=shape, dtype=VSTR)
    else:
        if fill is None:
            kind = np.dtype(dtype).kind
            fill = np.nan if kind == "f" else (-1 if kind == "i" else b"")
        d = f.create_dataset(name, shape=shape, dtype=dtype, fillvalue=fill)
        if np.dtype(dtype).kind == "S":
            d.attrs["_Encoding"] = _text("utf-8")
    for i, dim in enumerate(dims):
        d.dims[i].attach_scale(f[dim])
    d.attrs["units"] = _text("s" if name.endswith("_s") or name == "probe_s_total" else "1")
    d.attrs["long_name"] = _text(name.replace("_", " "))
    if name not in COORDS:
        d.attrs["coordinates"] = _text(COORDINATES)
    return d


def write(path, partial=False, schema_version=2, drop=(), nan=(), text="chars"):
    """Write a fixture. partial: statuses from partial_state() with NaN tails; drop:
    traces not created at all (as when a probe is disabled); nan: traces created but
    left unwritten (all fill); text: "chars" (netCDF char arrays, as the writer) or
    "fixed" (fixed-length strings, as files written before)."""
    spec_text = ("name: fixture\ndata: fashion-mnist\ntrain: {steps: %d, log_every: 10}\n"
                 "grid: {lr: [0.1, 0.5], norm: [none, batch, noisy_batch, l2], seed: [0, 1]}\n"
                 % STEPS)
    with h5py.File(path, "w") as f:
        a = f.attrs
        a["Conventions"] = np.bytes_("CF-1.8")
        a["title"] = np.bytes_("normsweep results")
        a["schema"] = np.bytes_("normsweep")
        a["schema_version"] = np.bytes_(str(schema_version))  # text, as the writer
        a["normsweep_version"] = np.bytes_("0.1.0-fixture")
        a["git_commit"] = np.bytes_("0123456789abcdef")
        a["hdf5_version"] = np.bytes_("1.10.8")
        a["mpi_version"] = np.bytes_("Open MPI 4.1.4")
        a["blas_kernel"] = np.bytes_("SkylakeX")
        a["blas_threads"] = np.bytes_("1")
        a["spec_text"] = np.bytes_(spec_text)
        a["spec_canonical"] = np.bytes_('{"name":"fixture"}')
        a["spec_name"] = np.bytes_("fixture")
        a["data"] = np.bytes_("fashion-mnist")
        a["data_mean"] = np.bytes_("[0.286]")
        a["data_std"] = np.bytes_("[0.353]")
        a["created_utc"] = np.bytes_("2024-01-02T03:04:05Z")

        _scale(f, "run", np.arange(NRUN, dtype=np.int64), "run index")
        _scale(f, "step", STEP, "training step")
        _scale(f, "eval", EVAL, "training step of the evaluation")
        _scale(f, "probe", PROBE, "training step of the probe")
        _scale(f, "eta", ETA_REL, "eta / lr")
        _scale(f, "layer", np.arange(1, NLAYER + 1, dtype=np.int32), "measured layer, 1-based")
        _scale(f, "act_layer", np.arange(1, NACT + 1, dtype=np.int32), "tracked layer, 1-based")
        _dim_only(f, "unit", NUNIT, "tracked unit slot")
        _scale(f, "quantile", QUANTILES, "quantile")
        _dim_only(f, "weight", NWEIGHT, "flat parameter index")
        _dim_only(f, "tensor", NTENSOR, "weight tensor slot")
        _dim_only(f, "axis", 4, "tensor axis")
        curv = [(s + "_" + m, d, t) for m in CURV_MODES for s, d, t in CURV_VARS
                if s + "_" + m not in drop]
        used = {d for _, dims, _ in curv for d in dims}
        if "eig" in used:
            _scale(f, "eig", np.arange(1, NEIG + 1, dtype=np.int32), "rank of a top Hessian eigenvalue")
        if "slq_vec" in used:
            _scale(f, "slq_vec", np.arange(NSLQ_V, dtype=np.int64), "SLQ start vector")
            _scale(f, "slq_node", np.arange(NSLQ_M, dtype=np.int64), "SLQ quadrature node")

        cols = {}
        for c, t in (("lr", "f8"), ("arch", VSTR), ("norm", VSTR), ("init", VSTR), ("seed", "i8"),
                     ("batch", "i4"), ("momentum", "f8"), ("weight_decay", "f8"),
                     ("steps", "i8"), ("random_sample", "i4"), ("status", STATUS_LEN),
                     ("rank", "i4"),
                     ("wall_s", "f8"), ("train_s", "f8"), ("probe_s_total", "f8"),
                     ("eval_s", "f8"), ("steps_done", "i8"), ("diverged_step", "i8"),
                     ("message", MSG_LEN), ("n_layers", "i4"), ("n_act_layers", "i4"),
                     ("n_params", "i8"), ("final_train_loss", "f8"), ("final_train_acc", "f8"),
                     ("final_test_loss", "f8"), ("final_test_acc", "f8")):
            if isinstance(t, int):  # a text of t bytes
                cols[c] = _text_var(f, c, ("run",), t, text)
            else:
                cols[c] = _var(f, c, ("run",), t if t is VSTR else np.dtype(t))

        tr = {}
        for name, dims, dt in (
                ("train_loss", ("run", "step"), "f8"), ("train_acc", ("run", "step"), "f8"),
                ("grad_norm", ("run", "step"), "f8"),
                ("test_loss", ("run", "eval"), "f8"), ("test_acc", ("run", "eval"), "f8"),
                ("layer_name", ("run", "layer"), NAME_LEN),
                ("act_layer_name", ("run", "act_layer"), NAME_LEN),
                ("layer_grad_norm", ("run", "probe", "layer"), "f8"),
                ("landscape_loss", ("run", "probe", "eta"), "f8"),
                ("landscape_grad_change", ("run", "probe", "eta"), "f8"),
                ("beta_eff", ("run", "probe"), "f8"),
                ("probe_loss", ("run", "probe"), "f8"), ("probe_grad_norm", ("run", "probe"), "f8"),
                ("ics_l2", ("run", "probe", "layer"), "f8"), ("ics_cos", ("run", "probe", "layer"), "f8"),
                ("act_quantiles", ("run", "probe", "act_layer", "unit", "quantile"), "f8"),
                ("act_mean", ("run", "probe", "act_layer", "unit"), "f8"),
                ("act_std", ("run", "probe", "act_layer", "unit"), "f8"),
                ("act_unit_index", ("run", "act_layer", "unit"), "i4"),
                ("hess_top_eig", ("run", "probe"), "f8"), ("hess_residual", ("run", "probe"), "f8"),
                ("hess_iters", ("run", "probe"), "i4"),
                ("thm41_lhs", ("run", "probe", "act_layer"), "f8"),
                ("thm41_rhs", ("run", "probe", "act_layer"), "f8"),
                ("probe_s", ("run", "probe"), "f8"),
                ("weights", ("run", "weight"), "f4"), ("tensor_name", ("run", "tensor"), NAME_LEN),
                ("tensor_offset", ("run", "tensor"), "i8"),
                ("tensor_shape", ("run", "tensor", "axis"), "i4")):
            if name in drop:
                continue
            if isinstance(dt, int):
                tr[name] = _text_var(f, name, dims, dt, text)
            else:
                tr[name] = _var(f, name, dims, np.dtype(dt))
        for name, dims, dt in curv:
            tr[name] = _var(f, name, dims, np.dtype(dt))

        for r, (lr, arch, norm, seed) in enumerate(RUNS):
            # configuration columns are written when the file is laid out
            cols["lr"][r] = lr
            cols["arch"][r] = arch
            cols["norm"][r] = norm
            cols["init"][r] = "glorot"
            cols["seed"][r] = seed
            cols["batch"][r] = 1000 if arch.startswith("dln") else 128
            cols["momentum"][r] = 0.0
            cols["weight_decay"][r] = 0.0
            cols["steps"][r] = STEPS
            cols["random_sample"][r] = -1
            status, last, div, msg = partial_state(r) if partial else ("done", STEPS - 1, -1, "")
            cols["status"][r] = status.encode()
            cols["diverged_step"][r] = div
            cols["message"][r] = msg.encode()
            if last is None:
                continue
            # the writer fills these when a run starts
            cols["n_layers"][r] = n_layers(r)
            cols["n_act_layers"][r] = n_act_layers(r)
            cols["n_params"][r] = n_weights(r)
            cols["rank"][r] = r % 2
            cols["steps_done"][r] = last + 1 if status == "done" else last
            cols["wall_s"][r] = 10.0 + r
            cols["train_s"][r] = 8.0 + r
            cols["probe_s_total"][r] = 1.0
            cols["eval_s"][r] = 0.5
            if status == "done":
                cols["final_train_loss"][r] = train_loss(r, STEPS - 1)
                cols["final_train_acc"][r] = train_acc(r, STEPS - 1)
                cols["final_test_loss"][r] = test_loss(r, STEPS - 1)
                cols["final_test_acc"][r] = test_acc(r, STEPS - 1)
            _write_traces(tr, r, last, status, arch, nan)
            if status in ("done", "diverged", "stopped") and "weights" in tr:
                _write_weights(tr, r)
    return path


def _write_weights(tr, r):
    """The final weights (written when a run ends): weight_value(r, i) in slot i."""
    n = n_weights(r)
    row = np.full(NWEIGHT, np.nan, dtype=np.float32)
    row[:n] = [weight_value(r, i) for i in range(n)]
    tr["weights"][r] = row
    names = np.full(NTENSOR, b"", dtype="S%d" % NAME_LEN)
    offs = np.full(NTENSOR, -1, dtype=np.int64)
    shapes = np.full((NTENSOR, 4), -1, dtype=np.int32)
    o = 0
    for k, (name, shape) in enumerate(tensors(r)):
        names[k], offs[k] = name.encode(), o
        shapes[k, :len(shape)] = shape
        o += int(np.prod(shape))
    tr["tensor_name"][r] = names
    tr["tensor_offset"][r] = offs
    tr["tensor_shape"][r] = shapes


def _write_traces(tr, r, last, status, arch, nan):
    def put(name, value):
        if name in tr and name not in nan:
            tr[name][r] = value

    ks = STEP <= last
    put("train_loss", np.where(ks, train_loss(r, STEP), np.nan))
    if status == "diverged":  # the last logged loss is the one above the bound
        tl = tr["train_loss"][r]
        tl[np.flatnonzero(ks)[-1]] = DIVERGED_LOSS
        put("train_loss", tl)
    put("train_acc", np.where(ks, train_acc(r, STEP), np.nan))
    put("grad_norm", np.where(ks, grad_norm(r, STEP), np.nan))
    ke = EVAL <= last
    put("test_loss", np.where(ke, test_loss(r, EVAL), np.nan))
    put("test_acc", np.where(ke, test_acc(r, EVAL), np.nan))
    L, M = n_layers(r), n_act_layers(r)
    prefix = "features" if arch.startswith("vgg") else "layers"
    put("layer_name", [("%s.%d" % (prefix, 3 * l)).encode() if l < L else b""
                       for l in range(NLAYER)])
    # the tracked module: the norm's output, or the dense/conv output without a norm
    shift = 0 if RUNS[r][2] == "none" else 1
    put("act_layer_name", [("%s.%d" % (prefix, 3 * m + shift)).encode() if m < M
                           else b"" for m in range(NACT)])
    uidx = np.full((NACT, NUNIT), -1, dtype=np.int32)
    uidx[:M] = (np.arange(NUNIT) * 5 + 1)[None, :]
    put("act_unit_index", uidx)

    nan_ = np.nan
    P, J = len(PROBE), len(ETA_REL)
    lgn = np.full((P, NLAYER), nan_)
    ll = np.full((P, J), nan_)
    lgc = np.full((P, J), nan_)
    ics2 = np.full((P, NLAYER), nan_)
    icsc = np.full((P, NLAYER), nan_)
    aq = np.full((P, NACT, NUNIT, len(QUANTILES)), nan_)
    am = np.full((P, NACT, NUNIT), nan_)
    asd = np.full((P, NACT, NUNIT), nan_)
    thl = np.full((P, NACT), nan_)  # NaN where the layer is not batch norm
    for i, p in enumerate(PROBE):
        if p > last:
            continue
        for l in range(L):
            lgn[i, l] = 0.1 * (l + 1) + r / 100.0 + p / 1000.0
            ics2[i, l] = ics_l2(r, p, l)
            icsc[i, l] = ics_cos(r, p, l)
        for j in range(J):
            ll[i, j] = landscape_loss(r, p, j)
            lgc[i, j] = landscape_grad_change(r, p, j)
        for m in range(M):
            if RUNS[r][2] in BN_NORMS:
                thl[i, m] = 1.0 + m + p / 100.0
            for u in range(NUNIT):
                am[i, m, u] = act_mean(r, p, m, u)
                asd[i, m, u] = act_std(r, p, m, u)
                for k in range(len(QUANTILES)):
                    aq[i, m, u, k] = act_quantile(r, p, m, u, k)
    kp = PROBE <= last
    put("layer_grad_norm", lgn)
    put("landscape_loss", ll)
    put("landscape_grad_change", lgc)
    put("beta_eff", np.where(kp, beta_eff(r, PROBE), nan_))
    put("probe_loss", np.where(kp, train_loss(r, PROBE), nan_))
    put("probe_grad_norm", np.where(kp, grad_norm(r, PROBE), nan_))
    put("ics_l2", ics2)
    put("ics_cos", icsc)
    put("act_quantiles", aq)
    put("act_mean", am)
    put("act_std", asd)
    put("hess_top_eig", np.where(kp, hess_top_eig(r, PROBE), nan_))
    put("hess_residual", np.where(kp, 1e-3, nan_))
    put("hess_iters", np.where(kp, 20, -1).astype(np.int32))
    put("thm41_lhs", thl)
    put("thm41_rhs", thl * (1.0 + 1e-6))
    put("probe_s", np.where(kp, 0.5, nan_))
    for mode in CURV_MODES:
        _write_curv(put, r, last, mode)


def _write_curv(put, r, last, mode):
    """The curvature records of one mode at the probe steps reached (NaN / -1 after)."""
    P, L = len(PROBE), NLAYER
    top = np.full((P, NEIG), np.nan)
    topc = np.full((P, NEIG), -1, dtype=np.int32)
    mn, mnc = np.full(P, np.nan), np.full(P, -1, dtype=np.int32)
    nodes = np.full((P, NSLQ_V, NSLQ_M), np.nan)
    wts = np.full((P, NSLQ_V, NSLQ_M), np.nan)
    lay, layc = np.full((P, L), np.nan), np.full((P, L), -1, dtype=np.int32)
    for i, p in enumerate(PROBE):
        if p > last:
            continue
        for k in range(NEIG):
            top[i, k] = curv_top_eig(r, p, k + 1, mode)
            topc[i, k] = curv_top_converged(r, p, k + 1, mode)
        mn[i], mnc[i] = curv_min_eig(r, p, mode), curv_min_converged(r, p, mode)
        for v in range(NSLQ_V):
            nodes[i, v], wts[i, v] = curv_slq(r, p, v, mode)
        for l in range(L):
            lay[i, l] = curv_layer_top_eig(r, p, l, mode)
            layc[i, l] = curv_layer_converged(r, p, l, mode)
    kp = PROBE <= last
    m = "_" + mode
    put("curv_top_eig" + m, top)
    put("curv_top_residual" + m, np.where(topc == 1, 1e-6, np.where(topc == 0, 0.5, np.nan)))
    put("curv_top_converged" + m, topc)
    put("curv_min_eig" + m, mn)
    put("curv_min_residual" + m, np.where(mnc == 1, 1e-6, np.where(mnc == 0, 0.5, np.nan)))
    put("curv_min_converged" + m, mnc)
    put("curv_grad_share" + m, np.where(kp, 0.5 + r / 1000.0, np.nan))
    put("curv_lanczos_steps" + m, np.where(kp, 20, -1).astype(np.int32))
    put("curv_products" + m, np.where(kp, 40, -1).astype(np.int32))
    put("curv_slq_nodes" + m, nodes)
    put("curv_slq_weights" + m, wts)
    put("curv_trace" + m, np.where(kp, 10.0 + r, np.nan))
    put("curv_trace_se" + m, np.where(kp, 0.1, np.nan))
    put("curv_layer_top_eig" + m, lay)
    put("curv_layer_residual" + m, np.where(layc == 1, 1e-6, np.where(layc == 0, 0.5, np.nan)))
    put("curv_layer_converged" + m, layc)


PARTIAL_CURV_DROP = tuple(n for n in CURV_NAMES if n.endswith("_eval") or "_slq_" in n
                          or "_layer_" in n)


def write_foreign(path):
    """An HDF5 file that is not a normsweep results file."""
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "some other tool's output"
        f["x"] = np.arange(10.0)
    return path


# the "partial" fixture: the curvature probe in train mode only, without slq and layers
PARTIAL = dict(partial=True, drop=("hess_top_eig",) + PARTIAL_CURV_DROP, nan=("act_quantiles",))


def write_all(d):
    """All fixtures into directory d; returns a dict kind -> path."""
    p = {
        "full": write(os.path.join(d, "full.h5")),
        "partial": write(os.path.join(d, "partial.h5"), **PARTIAL),
        "wrong_version": write(os.path.join(d, "v3.h5"), schema_version=3),
        "old_version": write(os.path.join(d, "v1.h5"), schema_version=1),
        "foreign": write_foreign(os.path.join(d, "foreign.h5")),
    }
    return p


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for kind, path in write_all(out).items():
        print(kind, path)
