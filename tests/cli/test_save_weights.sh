#!/usr/bin/env bash
# test_save_weights.sh - save_weights: {at: [...]} in a real results file:
#  - the `save` dim carries the steps, saved_weights[run, save, weight] the
#    weights w_t in the final weights' layout; step 0 is the initialization
#    (the same for every lr of a seed, different across seeds), BN state
#    included; analysis.state_dict(path, run, step=t) reads them, and says so
#    for a step that was not saved or a file without saves
#  - SIGKILL of the job mid-sweep (between save steps of the runs in flight),
#    then --resume at another rank count: the same file as uninterrupted
# ctest-labels: mpi
# ctest-timeout: 600
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
PY=/usr/bin/python3
SAME="$PY $SRC/tests/tools/h5same.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_save.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
run() { mpirun --oversubscribe -n "$1" "$NS" run "${@:2}" --quiet; }

cat > s.yaml <<'EOF'
name: save
data: "synthetic-cls:n=512,test=64,c=1,h=4,w=4,classes=3"
train: {steps: 6000, batch: 32, momentum: 0.9, eval_every: 2000, log_every: 10}
grid:
  lr: [0.02, 0.05]
  arch: ["mlp:16-128-128-3"]
  norm: [none, batch]
  seed: [1, 2]
save_weights: {at: [0, 10, 3000, 5999]}
checkpoint: {every: 250}
EOF
sed -e '/save_weights/d' -e 's/steps: 6000/steps: 5/' s.yaml > nosave.yaml

# 1. the file's content
run 1 s.yaml -o r1.h5
run 1 nosave.yaml -o n.h5
PYTHONPATH=$SRC $PY - r1.h5 n.h5 <<'PY'
import sys, h5py, numpy as np, pytest
import analysis
path, nosave = sys.argv[1], sys.argv[2]
f = h5py.File(path, "r", locking=False)  # analysis opens it too, without a lock
assert list(f["save"][()]) == [0, 10, 3000, 5999], f["save"][()]
assert f["save"].attrs["units"] in (b"1", "1")  # CF: a step count is dimensionless
s, w = f["saved_weights"], f["weights"]
assert s.dtype == np.float32 and s.shape == (8, 4, w.shape[1]), (s.shape, w.shape)
norm = [x.decode() for x in f["norm"][()]]
seed, lr = f["seed"][()], f["lr"][()]
S = s[()]
for r in range(8):
    n = int(f["n_params"][r])
    assert np.isfinite(S[r, :, :n]).all()
    for q in range(8):  # the init depends on (arch, norm, seed), not on lr
        if norm[q] == norm[r] and seed[q] == seed[r]:
            assert np.array_equal(S[r, 0], S[q, 0], equal_nan=True)
        if norm[q] == norm[r] and seed[q] != seed[r]:
            assert not np.array_equal(S[r, 0, :n], S[q, 0, :n])
    assert not np.array_equal(S[r, 3], w[r])             # w_5999 is before the last update
    assert np.linalg.norm(S[r, 3, :n] - S[r, 0, :n]) > 0  # distance from init
# a BN run: state_dict at step 0 is the initialization, running statistics included
r = norm.index("batch")
sd0, sdf = analysis.state_dict(path, r, step=0), analysis.state_dict(path, r)
assert list(sd0) == list(sdf) and all(sd0[k].shape == sdf[k].shape for k in sd0)
rv = [k for k in sd0 if k.endswith("running_var")]
assert rv and all((sd0[k] == 1).all() for k in rv) and not all((sdf[k] == 1).all() for k in rv)
offs = f["tensor_offset"][r]
for i, t in ((0, 0), (2, 3000)):  # every tensor is its slice of the saved row
    sd = analysis.state_dict(path, r, step=t)
    for j, (k, v) in enumerate(sd.items()):
        assert np.array_equal(v.ravel(), S[r, i, offs[j]:offs[j] + v.size]), (t, k)
with pytest.raises(analysis.ResultsFileError, match="step 7 was not saved .expected one of "
                   "save_weights.at: 0, 10, 3000, 5999"):
    analysis.state_dict(path, r, step=7)
with pytest.raises(analysis.ResultsFileError, match="no saved weights"):
    analysis.state_dict(nosave, 0, step=0)
with h5py.File(nosave, "r", locking=False) as g:
    assert "saved_weights" not in g and "save" not in g
runs, traces = analysis.load(path, plain=True)
assert "saved_weights" not in traces  # large: read by name or through state_dict
print("saved weights: layout, init, state, state_dict ok")
PY
ok "file content"

# 2. SIGKILL mid-sweep, resume at another rank count: the uninterrupted file
mpirun --oversubscribe -n 2 "$NS" run s.yaml -o k.h5 --quiet --progress-every 0.2 & mp=$!
for _ in $(seq 1 1200); do
  [ -e k.h5.progress.json ] && grep -qE '"(done|diverged)": [1-9]' k.h5.progress.json && break
  sleep 0.05
done
pkill -KILL -P $mp -x normsweep || true
kill -KILL $mp 2>/dev/null || true
wait $mp 2>/dev/null || true
grep -q '"finished": false' k.h5.progress.json || fail "the sweep had finished before the kill"
run 3 s.yaml -o k.h5 --resume
$SAME r1.h5 k.h5 || fail "SIGKILL + resume differs from uninterrupted"
ok "SIGKILL mid-sweep + --resume = uninterrupted, saved weights included"
