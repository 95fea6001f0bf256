#!/usr/bin/env bash
# test_sbatch_signals.sh - slurm/normsweep.sbatch's signal handling, run as a
# plain script (no Slurm needed; tests/slurm/ runs it under a real Slurm).
# Slurm's time-limit USR1 may come at any moment, the first second included:
#  1. before the launch (as soon as the script's trap is set): normsweep is not
#     started, exit 3
#  2. while mpirun is starting (mpirun dies of a SIGUSR1 before it installs its
#     handler, and drops one that comes before the ranks run): the sweep still
#     stops gracefully, exit 3, its runs recorded as stopped
# and in both cases a signal that early is refused a requeue (it would loop).
# ctest-timeout: 300
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
LONG=$SRC/tests/data/sweep_slurm_long.yaml   # minutes of work: must not finish
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_sbatch.XXXXXX")
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T NORMSWEEP=$NS
cd "$T"
fail() { echo "FAIL: $*"; cat "$log" 2>/dev/null; exit 1; }

# start_script OUT: runs normsweep.sbatch in the background; sets pid, log, t0
start_script() {
  log=$1.log t0=$SECONDS
  bash "$SRC/slurm/normsweep.sbatch" "$LONG" "$1" > "$log" 2>&1 &
  pid=$!
}
# finish_script: waits for the script; checks a graceful, unrequeued stop
finish_script() {
  local rc=0 took
  wait "$pid" || rc=$?
  took=$((SECONDS - t0))
  [ "$rc" = 3 ] || fail "exit $rc, expected 3 (stopped, incomplete)"
  [ "$took" -lt 60 ] || fail "took ${took} s: the stop request was lost and the sweep ran on"
  # the script's own clock from its start to the signal: "early" means below its
  # minimum segment (30 s); on a loaded machine even the first lines can take seconds
  local after
  after=$(sed -n 's/.*got USR1 after \([0-9][0-9]*\) s.*/\1/p' "$log" | head -n 1)
  [ -n "$after" ] || fail "the script did not record the early signal"
  [ "$after" -lt 30 ] || fail "the signal was recorded ${after} s after the start, not early"
  grep -q "NOT requeueing" "$log" || fail "an early time-limit signal must not requeue"
  echo "stopped in ${took} s"
}

# 1. as soon as the trap is set (SigCgt bit 10 = SIGUSR1 caught)
start_script before.h5
until ! kill -0 "$pid" 2>/dev/null ||
      (( 0x$(awk '/^SigCgt/{print $2}' /proc/$pid/status 2>/dev/null || echo 0) & 0x200 )); do :; done
kill -USR1 "$pid"
finish_script
grep -q "before the launch: normsweep not started" "$log" || fail "normsweep was started anyway"
echo "ok: USR1 before the launch -> not started, exit 3, no requeue"

# 2. while mpirun starts, at a few offsets into its first 100 ms
for d in 0 0.02 0.05 0.1; do
  start_script "early$d.h5"
  until grep -q "restart 0" "$log" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do sleep 0.002; done
  sleep "$d"
  kill -USR1 "$pid"
  finish_script
  grep -q "before the launch" "$log" ||
    { "$NS" status "early$d.h5" | grep -q "stopped\|pending" || fail "status shows no incomplete sweep"; }
  echo "ok: USR1 ${d} s into the launch -> graceful stop, exit 3, no requeue"
done
