#!/usr/bin/env bash
# test_slurm_jobs.sh - the scripts in slurm/ against a real (local) Slurm:
#  1. normsweep.sbatch runs a sweep to completion; the file equals mpirun's.
#     No NORMSWEEP variable anywhere: the script finds the binary itself - in
#     $SLURM_SUBMIT_DIR/build (a checkout built in place), and as installed by
#     cmake --install (its own prefix, from a directory without build/)
#  2. a job with a 2-minute limit gets SIGUSR1 early, stops gracefully, requeues
#     itself and finishes on the restart: no run lost or duplicated (same file);
#     a job whose margin leaves no time to work stops without a requeue loop;
#     TERM stops gracefully without a requeue
#  3. submit-array: array tasks + dependent merge job give the same file too
# ctest-labels: slow
# ctest-timeout: 1500
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
source "$SRC/tests/slurm/slurm_harness.sh"
SAME="/usr/bin/python3 $SRC/tests/tools/h5same.py"
SPEC=$SRC/tests/data/sweep_slurm.yaml
LONG=$SRC/tests/data/sweep_slurm_long.yaml
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; [ -n "${SLURM_TEST_DIR:-}" ] && tail -n 30 "$SLURM_TEST_DIR"/slurmctld.log; exit 1; }

slurm_up || fail "could not start Slurm"
W=$SLURM_TEST_DIR/work
mkdir -p "$W"
cd "$W"
# No NORMSWEEP variable: jobs submitted from $W find $W/build/normsweep
unset NORMSWEEP
command -v normsweep >/dev/null && fail "a normsweep on PATH would hide what this test checks"
ln -s "$(dirname "$NS")" "$W/build"

# reference: plain mpirun
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" -o ref.h5 --quiet
ok "reference run"

# 1. the sbatch script, to completion
j=$(sbatch --parsable -n 2 --output=job1.out "$SRC/slurm/normsweep.sbatch" "$SPEC" job1.h5)
state=$(slurm_wait "$j" 300) || true
[ "$state" = "JobState=COMPLETED" ] || { cat job1.out; fail "job 1: $state"; }
$SAME ref.h5 job1.h5 || { cat job1.out; fail "sbatch result differs from mpirun"; }
ok "normsweep.sbatch = mpirun (binary found in \$SLURM_SUBMIT_DIR/build)"

# 1b. the installed scripts, submitted from a directory without build/
cmake --install "$(dirname "$NS")" --prefix "$W/prefix" >/dev/null
mkdir -p "$W/elsewhere"
j=$(cd "$W/elsewhere" && sbatch --parsable -n 2 --output="$W/job1b.out" \
      "$W/prefix/share/normsweep/slurm/normsweep.sbatch" "$SPEC" "$W/job1b.h5")
state=$(slurm_wait "$j" 300) || true
[ "$state" = "JobState=COMPLETED" ] || { cat job1b.out; fail "job 1b: $state"; }
$SAME ref.h5 job1b.h5 || { cat job1b.out; fail "installed sbatch result differs from mpirun"; }
ok "installed normsweep.sbatch = mpirun (binary found in its install prefix)"

# 2. time limit. Slurm signals up to 60 s before the margin asked for (its
#    timer runs every 30 s), so --time=2 --signal=B:USR1@25 stops a segment
#    35-95 s after it starts. The long sweep is about 140 s of work on one core,
#    so the job must be stopped and requeued at least once; its file must equal
#    an uninterrupted run (computed meanwhile on the other core: --bind-to none,
#    or Open MPI would pin it to core 0 like the job's own single rank).
mpirun --bind-to none -n 1 "$NS" run "$LONG" -o ref_long.h5 --quiet &
ref_pid=$!
j=$(sbatch --parsable -n 1 --time=2 --signal=B:USR1@25 --output=job2.out \
      "$SRC/slurm/normsweep.sbatch" "$LONG" job2.h5)
# 2b. a margin too large for the limit (--time=1, @55: the signal can come at
#     once): the script must stop gracefully but refuse to requeue, instead of
#     requeueing forever without progress.
g=$(NORMSWEEP_MIN_SEGMENT=45 sbatch --parsable -n 1 --time=1 --signal=B:USR1@55 --output=guard.out \
      "$SRC/slurm/normsweep.sbatch" "$LONG" guard.h5)
gstate=$(slurm_wait "$g" 300) || true
cat guard.out
[ "$gstate" = "JobState=FAILED" ] || fail "guard job: $gstate (expected FAILED: stopped, not requeued)"
grep -q "NOT requeueing" guard.out || fail "guard job: no refusal to requeue"
grep -q "restart 1" guard.out && fail "guard job was requeued"
"$NS" status guard.h5 | grep -q "pending\|stopped" || fail "guard job: status does not show an incomplete sweep"
ok "time-limit signal at start -> graceful stop, no requeue loop"
# 2c. TERM to the batch shell (scancel -b, or a site's preemption): graceful
#     stop and no requeue (a cancelled job stays cancelled).
t=$(sbatch --parsable -n 1 --output=term.out "$SRC/slurm/normsweep.sbatch" "$LONG" term.h5)
for _ in $(seq 1 120); do grep -q "BLAS kernel" term.out 2>/dev/null && break; sleep 0.5; done
sleep 2
scancel --batch --signal=TERM "$t"
tstate=$(slurm_wait "$t" 120) || true
cat term.out
[ "$tstate" = "JobState=FAILED" ] || fail "TERM job: $tstate (expected FAILED: stopped, not requeued)"
grep -q "got TERM" term.out || fail "TERM job: the script did not see TERM"
grep -q "stopped by TERM); not requeueing" term.out || fail "TERM job: no graceful stop without requeue"
grep -q "restart 1" term.out && fail "TERM job was requeued"
"$NS" status term.h5 | grep -q "stopped" || fail "TERM job: status shows no stopped run"
ok "TERM -> graceful stop, checkpointed, not requeued"
state=$(slurm_wait "$j" 900) || true
cat job2.out
[ "$state" = "JobState=COMPLETED" ] || fail "job 2: $state"
grep -q "requeueing job" job2.out || fail "job 2 was never stopped by its time limit (sweep too fast?)"
grep -q "restart 1" job2.out || fail "job 2 did not restart"
wait "$ref_pid" || fail "reference run of the long sweep"
$SAME ref_long.h5 job2.h5 || fail "stopped + requeued sweep differs from uninterrupted"
ok "time limit -> graceful stop -> requeue -> resume = uninterrupted"

# 3. array + merge
out=$("$SRC/slurm/submit-array" "$SPEC" "$W/arr.h5" 2 --output="$W/arr-%A_%a.out")
echo "$out"
mj=$(sed -E 's/.*merge job ([0-9]+).*/\1/' <<<"$out")
state=$(slurm_wait "$mj" 600) || true
[ "$state" = "JobState=COMPLETED" ] || { cat "$W"/arr*.out; fail "merge job: $state"; }
$SAME ref.h5 arr.h5 || fail "array + merge differs"
ok "array tasks + merge = mpirun"

echo "$pass passed, 0 failed"
