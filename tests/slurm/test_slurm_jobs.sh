#!/usr/bin/env bash
# test_slurm_jobs.sh - the scripts in slurm/ against a real (local) Slurm:
#  1. normsweep.sbatch runs a sweep to completion; the file equals mpirun's
#  2. a job with a 1-minute limit gets SIGUSR1 early, stops gracefully, requeues
#     itself and finishes on the restart: no run lost or duplicated (same file)
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
export NORMSWEEP=$NS

# reference: plain mpirun
mpirun --oversubscribe -n 2 "$NS" run "$SPEC" -o ref.h5 --quiet
ok "reference run"

# 1. the sbatch script, to completion
j=$(sbatch --parsable -n 2 --output=job1.out "$SRC/slurm/normsweep.sbatch" "$SPEC" job1.h5)
state=$(slurm_wait "$j" 300) || true
[ "$state" = "JobState=COMPLETED" ] || { cat job1.out; fail "job 1: $state"; }
$SAME ref.h5 job1.h5 || { cat job1.out; fail "sbatch result differs from mpirun"; }
ok "normsweep.sbatch = mpirun"

# 2. time limit: signalled up to 50 s before a 1-minute limit, requeued, resumed.
#    The long sweep is about 100 s of work on one fast core, so one task must
#    be stopped at least once on any machine; its file must equal a 2-rank
#    mpirun of the same spec (results do not depend on N either).
mpirun --oversubscribe -n 2 "$NS" run "$LONG" -o ref_long.h5 --quiet
j=$(sbatch --parsable -n 1 --time=1 --signal=B:USR1@50 --output=job2.out \
      "$SRC/slurm/normsweep.sbatch" "$LONG" job2.h5)
state=$(slurm_wait "$j" 900) || true
cat job2.out
[ "$state" = "JobState=COMPLETED" ] || fail "job 2: $state"
grep -q "requeueing" job2.out || fail "job 2 was never stopped by its time limit (sweep too fast?)"
grep -q "restart 1" job2.out || fail "job 2 did not restart"
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
