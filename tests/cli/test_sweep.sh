#!/usr/bin/env bash
# test_sweep.sh - the sweep as users run it: mpirun normsweep run.
#  - the same spec gives bitwise-identical traces at 1, 2 and 3 ranks
#  - SIGKILL of the whole job mid-sweep, then --resume: same file as uninterrupted
#  - SIGTERM: graceful stop, exit 3, then --resume: same file again
#  - an existing output is never overwritten without --force; --resume with a
#    different spec is refused; bad spec files exit 2 and write nothing
#  - status and merge of shards
# ctest-labels: mpi slow
# ctest-timeout: 900
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
export PYTHONPATH="$SRC/tests/tools${PYTHONPATH:+:$PYTHONPATH}"  # h5text.py: the file's text
SPEC=$SRC/tests/data/sweep_small.yaml
SAME="/usr/bin/python3 $SRC/tests/tools/h5same.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_sweep.XXXXXX")
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T
cd "$T"
trap ':' USR1   # see step 4
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }
run() { mpirun --oversubscribe -n "$1" "$NS" run "${@:2}" --quiet; }

# 1. N-independence
run 1 "$SPEC" -o r1.h5
run 2 "$SPEC" -o r2.h5
run 3 "$SPEC" -o r3.h5
$SAME r1.h5 r2.h5 >/dev/null || { $SAME r1.h5 r2.h5; fail "1 vs 2 ranks differ"; }
$SAME r1.h5 r3.h5 >/dev/null || { $SAME r1.h5 r3.h5; fail "1 vs 3 ranks differ"; }
ok "bitwise identical traces at 1, 2, 3 ranks"
/usr/bin/python3 - r1.h5 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
from h5text import text
st = text(f["status"])
assert all(s in ("done", "diverged") for s in st), st
assert "done" in st
lr = f["lr"][()]; norm = [s.decode() for s in f["norm"][()]]
tl = f["train_loss"][()]
assert np.isfinite(tl[st.index("done")]).all()
# probes landed: beta_eff finite for done runs, ICS of layer 1 exactly 0
i = st.index("done")
assert np.isfinite(f["beta_eff"][i]).all()
assert (f["ics_l2"][i, :, 0] == 0).all() and (f["ics_cos"][i, :, 0] == 1).all()
assert f["weights"].shape[0] == len(st)
print("file content ok:", dict(zip(*np.unique(st, return_counts=True))))
PY
ok "file content"

# 2. refuse to overwrite; --force overwrites
set +e
run 2 "$SPEC" -o r2.h5 2>err.txt; rc=$?
set -e
[ $rc -eq 2 ] || fail "overwrite without --force: exit $rc"
grep -q "output exists" err.txt || fail "message: $(cat err.txt)"
$SAME r1.h5 r2.h5 >/dev/null || fail "refused overwrite still changed the file"
run 2 "$SPEC" -o r2.h5 --force
ok "existing output refused without --force"

# wait until the sweep in $1 has finished at least one run (and is still going)
wait_first_done() {
  for _ in $(seq 1 300); do
    [ -e "$1.progress.json" ] && grep -qE '"(done|diverged)": [1-9]' "$1.progress.json" && return 0
    sleep 0.05
  done
  fail "no run finished in $1 within 15 s"
}

# 3. SIGKILL the whole job mid-sweep, then resume
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" -o k.h5 --quiet --progress-every 0.2 & mp=$!
wait_first_done k.h5
pkill -KILL -P $mp -x normsweep || true
kill -KILL $mp 2>/dev/null || true
wait $mp 2>/dev/null || true
grep -q '"finished": false' k.h5.progress.json || fail "the sweep had finished before the kill"
/usr/bin/python3 -c "import h5py; h5py.File('k.h5','r')['status'][()]" || fail "killed file unreadable"
run 2 "$SPEC" -o k.h5 --resume
$SAME r1.h5 k.h5 || fail "SIGKILL + resume differs from uninterrupted"
ok "SIGKILL mid-sweep + --resume = uninterrupted"

# 4. SIGTERM to every rank (what a scheduler's scancel does): graceful stop,
#    exit 3, then resume; and SIGUSR1 to mpirun (forwarded to the ranks: the
#    path slurm/normsweep.sbatch uses)
for sig in TERM USR1; do
  rm -rf s.h5 s.h5.ckpt s.h5.progress.json
  mpirun --oversubscribe -n 2 "$NS" run "$SPEC" -o s.h5 --quiet --progress-every 0.2 & mp=$!
  wait_first_done s.h5
  if [ $sig = TERM ]; then pkill -TERM -P $mp -x normsweep || true
  else kill -USR1 $mp 2>/dev/null || true; fi
  # mpirun may pass the signal to its whole process group (this shell too):
  # keep waiting until it has really exited, as slurm/normsweep.sbatch does
  while kill -0 $mp 2>/dev/null; do wait $mp || true; done
  set +e; wait $mp; rc=$?; set -e
  [ $rc -eq 3 ] || fail "SIG$sig: exit $rc (expected 3: stopped)"
  "$NS" status s.h5 | grep -q "stopped\|pending" || fail "SIG$sig: nothing stopped/pending: $("$NS" status s.h5)"
  run 2 "$SPEC" -o s.h5 --resume
  $SAME r1.h5 s.h5 || fail "SIG$sig + resume differs"
  ok "SIG$sig -> exit 3 -> --resume = uninterrupted"
done

# 4b. a stop signal during start-up (MPI init, data loading) is recorded, not fatal
rm -rf e.h5 e.h5.ckpt e.h5.progress.json
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" -o e.h5 --quiet & mp=$!
# As soon as both ranks catch SIGUSR1 (SigCgt bit 10: main() installs the handler
# before MPI_Init): still in start-up. Before that, the default action would kill a
# rank that is still being exec'd - a different case (docs/coordinator.md).
caught() { # pid: 1 if it catches SIGUSR1
  (( 0x$(awk '/^SigCgt/{print $2}' /proc/$1/status 2>/dev/null || echo 0) & 0x200 ))
}
ranks_of() { # the normsweep processes below pid $1, at any depth
  ps -e -o pid=,ppid=,comm= | awk -v root="$1" '
    { parent[$1] = $2; name[$1] = $3 }
    END { for (p in parent) { q = p
            while (q in parent && q != root && q > 1) q = parent[q]
            if (q == root && name[p] == "normsweep") print p } }'
}
for _ in $(seq 1 2000); do
  n=0; for p in $(ranks_of $mp); do caught $p && n=$((n + 1)); done
  [ $n -ge 2 ] && break
  kill -0 $mp 2>/dev/null || break
  sleep 0.005
done
kill -USR1 $mp 2>/dev/null || true
while kill -0 $mp 2>/dev/null; do wait $mp || true; done
set +e; wait $mp; rc=$?; set -e
[ $rc -eq 3 ] || [ $rc -eq 0 ] || fail "USR1 at start-up: exit $rc (expected 3)"
if [ -e e.h5 ]; then run 2 "$SPEC" -o e.h5 --resume; else run 2 "$SPEC" -o e.h5; fi
$SAME r1.h5 e.h5 || fail "USR1 at start-up + resume differs"
ok "stop signal during start-up: exit $rc, then the sweep completes identically"

# 5. resume with a different spec is refused
sed 's/seed: \[1\]/seed: [2]/' "$SPEC" > other.yaml
set +e; run 1 other.yaml -o r1.h5 --resume 2>err.txt; rc=$?; set -e
[ $rc -eq 2 ] || fail "different spec: exit $rc"
grep -q "different sweep spec" err.txt || fail "different spec: $(cat err.txt)"
ok "resume with a different spec refused"

# 6. bad spec: exit 2, all errors, no output
printf 'name: bad\ndata: fashion-mnist\ntrain: {steps: -1, batch: 0, bogus: 1}\ngrid: {lr: [-0.1], arch: [nope], norm: [batch]}\n' > bad.yaml
set +e; run 1 bad.yaml -o bad.h5 2>err.txt; rc=$?; set -e
[ $rc -eq 2 ] || fail "bad spec exit $rc"
[ ! -e bad.h5 ] || fail "bad spec created output"
[ "$(grep -c '^bad.yaml:[0-9]*:[0-9]*: ' err.txt)" -ge 3 ] || fail "expected several file:line:col errors: $(cat err.txt)"
ok "bad spec: exit 2, $(grep -c '^bad.yaml:' err.txt) errors, nothing written"

# 7. status and shards + merge
"$NS" status r1.h5 | grep -q "8 runs" || fail "status: $("$NS" status r1.h5)"
run 1 "$SPEC" -o sh0.h5 --shard 0/2
run 2 "$SPEC" -o sh1.h5 --shard 1/2
"$NS" merge m.h5 sh0.h5 sh1.h5 >/dev/null
$SAME r1.h5 m.h5 || fail "merged shards differ"
ok "status; shards + merge = one run"

echo "$pass passed, 0 failed"
