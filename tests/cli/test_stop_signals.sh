#!/usr/bin/env bash
# test_stop_signals.sh - a stop by signal, however it arrives, is graceful: the
# sweep checkpoints, exits 3 naming the signal, and --resume gives a file equal
# (every trace, h5same) to an uninterrupted run.
#  1. SIGINT, SIGTERM, SIGUSR1 to the launcher normsweep-mpirun (what Ctrl-C in a
#     terminal sends): exit 3, the wrapper names the signal
#  2. SIGINT to every rank (Ctrl-C where the ranks share the terminal), and
#     SIGTERM to one worker only: exit 3, rank 0 names the signal and the rank
#  3. SIGUSR1 to a bare mpirun (forwarded to the ranks): exit 3
#  4. SIGINT to a bare mpirun: Open MPI itself aborts the job (SIGTERM to the
#     ranks, SIGKILL 1 s later) and exits 1 whatever the ranks did; the ranks
#     still stop as for any SIGTERM and --resume gives the same file
# ctest-labels: mpi slow
# ctest-timeout: 900
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
SPEC=$SRC/tests/data/sweep_small.yaml
# Longer runs (about 4 s of sweep on 2 cores): at the file's 4000 steps the whole
# sweep takes 0.6 s, and a loaded machine can finish it between the poll that sees
# the first finished run and the signal.
LONG=(train.steps=40000)
SAME="/usr/bin/python3 $SRC/tests/tools/h5same.py"
WRAP=$SRC/scripts/normsweep-mpirun
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_stops.XXXXXX")
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T
cd "$T"
trap ':' USR1   # mpirun may pass USR1 to its whole process group, this shell too
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; cat err.txt 2>/dev/null; exit 1; }

mpirun --oversubscribe -n 2 "$NS" run "$SPEC" "${LONG[@]}" -o ref.h5 --quiet

wait_first_done() { # $1: output; the sweep has finished a run and is still going
  for _ in $(seq 1 300); do
    [ -e "$1.progress.json" ] && grep -qE '"(done|diverged)": [1-9]' "$1.progress.json" && return 0
    sleep 0.05
  done
  fail "no run finished in $1 within 15 s"
}
# start LAUNCHER...: the sweep into s.h5 in the background, pid in $lp. Job
# control on: a background job of a script otherwise ignores SIGINT (bash),
# which a terminal's foreground job does not.
start() {
  rm -rf s.h5 s.h5.ckpt s.h5.progress.json
  set -m
  "$@" --oversubscribe -n 2 "$NS" run "$SPEC" "${LONG[@]}" -o s.h5 --progress-every 0 2>err.txt &
  lp=$!
  set +m
  wait_first_done s.h5
}
finish() { # expected exit code: waits, checks it, resumes, compares
  local rc=0
  while kill -0 "$lp" 2>/dev/null; do wait "$lp" || true; done
  wait "$lp" || rc=$?
  [ "$rc" -eq "$1" ] || fail "exit $rc, expected $1"
  grep -q '"finished": false\|"complete": false' s.h5.progress.json || fail "the sweep had completed"
  mpirun --oversubscribe -n 2 "$NS" run "$SPEC" "${LONG[@]}" -o s.h5 --resume --quiet
  $SAME ref.h5 s.h5 >/dev/null || { $SAME ref.h5 s.h5; fail "resume differs from the uninterrupted run"; }
}

# 1. the launcher normsweep-mpirun
for sig in INT TERM USR1; do
  start "$WRAP"
  kill -$sig "$lp"
  finish 3
  grep -q "normsweep-mpirun: got SIG$sig" err.txt || fail "the wrapper did not name SIG$sig"
  grep -q "incomplete: resume with --resume" err.txt || fail "no resume hint"
  ok "SIG$sig to normsweep-mpirun -> exit 3, named; --resume = uninterrupted"
done

# 2. to the ranks
start mpirun
pkill -INT -P "$lp" -x normsweep
finish 3
grep -q "stop requested (SIGINT on rank 0, from " err.txt || fail "rank 0 did not name SIGINT"
ok "SIGINT to every rank -> exit 3, named; --resume = uninterrupted"
start mpirun
kill -TERM "$(pgrep -P "$lp" -x normsweep | sort -n | tail -n 1)"
finish 3
grep -q "stop requested (SIGTERM on rank 1, from " err.txt || fail "rank 0 did not name rank 1's SIGTERM"
ok "SIGTERM to one worker -> exit 3, named with its rank; --resume = uninterrupted"

# 3. SIGUSR1 to a bare mpirun
start mpirun
kill -USR1 "$lp"
finish 3
grep -q "stop requested (SIGUSR1 on rank" err.txt || fail "SIGUSR1 not named"
ok "SIGUSR1 to mpirun -> exit 3; --resume = uninterrupted"

# 4. SIGINT to a bare mpirun: Open MPI's own abort (docs/coordinator.md)
start mpirun
kill -INT "$lp"
finish 1
ok "SIGINT to a bare mpirun -> Open MPI's exit 1; --resume = uninterrupted"

echo "$pass passed, 0 failed"
