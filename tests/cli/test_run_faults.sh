#!/usr/bin/env bash
# test_run_faults.sh - a rank that dies never hangs the others:
#  - one rank killed while the others create the results file's layout (the
#    NORMSWEEP_FAULT=kill-before-layout@R hook: the rank SIGKILLs itself just
#    before the collective create): the job ends within a bounded time
#    (docs/coordinator.md states it), and a new run then completes;
#  - a worker killed mid-sweep: the survivors' stop names the launcher's
#    SIGTERM and what it may mean (once reported as a bare "SIGTERM on rank
#    0"), and --resume completes the sweep.
# ctest-labels: mpi
# ctest-timeout: 600
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
export PYTHONPATH="$SRC/tests/tools${PYTHONPATH:+:$PYTHONPATH}"  # h5text.py: the file's text
SPEC=$SRC/tests/data/sweep_small.yaml
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_faults.XXXXXX")
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T
cd "$T"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }
BOUND=30 # seconds: Open MPI kills the job about 1 s after a rank dies; generous for a loaded machine

all_finished() { # every run of $1 done or diverged
  /usr/bin/python3 - "$1" <<'PY'
import sys, h5py
from h5text import text
st = text(h5py.File(sys.argv[1], "r")["status"])
sys.exit(0 if all(s in ("done", "diverged") for s in st) else 1)
PY
}

for np in 2 3; do
  for victim in 0 $((np - 1)); do
    rm -rf f.h5 f.h5.ckpt f.h5.progress.json
    t0=$(date +%s.%N); rc=0
    NORMSWEEP_FAULT=kill-before-layout@$victim timeout 120 \
      mpirun --oversubscribe -n $np "$NS" run "$SPEC" -o f.h5 --quiet >out.txt 2>&1 || rc=$?
    dt=$(/usr/bin/python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
    [ $rc -ne 124 ] || fail "$np ranks, rank $victim killed during layout creation: still running after 120 s"
    [ $rc -ne 0 ] || fail "$np ranks, rank $victim killed: exit 0"
    /usr/bin/python3 -c "import sys; sys.exit(0 if $dt < $BOUND else 1)" \
      || fail "$np ranks, rank $victim killed during layout creation: the job took $dt s (bound $BOUND s)"
    force=(); [ -e f.h5 ] && force=(--force)
    mpirun --oversubscribe -n $np "$NS" run "$SPEC" -o f.h5 --quiet "${force[@]}" \
      || fail "$np ranks: the run after the killed one failed"
    all_finished f.h5 || fail "$np ranks: runs left unfinished after the rerun"
    ok "$np ranks, rank $victim killed during layout creation: exit $rc after $dt s; a new run completes"
  done
done

# A worker killed mid-sweep. Longer runs (about 4 s of sweep on 2 cores) so the
# kill lands well before the end: at 4000 steps the whole sweep takes 0.6 s and
# a loaded machine can finish it between the poll and the kill.
LONG=(train.steps=40000)
rm -rf k.h5 k.h5.ckpt k.h5.progress.json
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" "${LONG[@]}" -o k.h5 --progress-every 0 2>err.txt & mp=$!
for _ in $(seq 1 300); do
  [ -e k.h5.progress.json ] && grep -qE '"(done|diverged)": [1-9]' k.h5.progress.json && break
  sleep 0.05
done
grep -q '"finished": false' k.h5.progress.json || fail "the sweep finished before the kill"
# the rank with the higher pid is rank 1 (mpirun starts them in order)
worker=$(pgrep -P $mp -x normsweep | sort -n | tail -n 1)
kill -KILL "$worker"
rc=0; wait $mp || rc=$?
[ $rc -ne 0 ] || fail "a killed worker: mpirun exit 0"
grep -q "stop requested (SIGTERM on rank 0, from mpirun (pid [0-9]*, this process's launcher))" err.txt \
  || fail "a killed worker: the stop does not name the launcher: $(grep sweep: err.txt)"
grep -q "or when another rank died" err.txt || fail "a killed worker: no hint: $(grep sweep: err.txt)"
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" "${LONG[@]}" -o k.h5 --quiet --resume || fail "resume after a killed worker"
all_finished k.h5 || fail "runs left unfinished after the resume"
ok "a worker killed mid-sweep: rank 0 names mpirun's SIGTERM and the likely cause; --resume completes"

echo "$pass passed, 0 failed"
