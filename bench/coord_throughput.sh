#!/usr/bin/env bash
# coord_throughput.sh - dispatch overhead of the coordinator.
#
# Equal runs of WORK_MS busy wall time each (a "training step" of STEP_MS
# between polls), at N = 1 and 2 ranks (or RANKS="1 2 4"). Prints
#   ratio = wall / (total work / N)
# which is 1.0 for a perfect dispatcher; the target is <= 1.05. max_gap is the
# longest time any rank spent between two of its runs (dispatch latency).
# Runs are timed by wall clock, so a busy machine shows up as gaps, not as
# longer runs: run it on a quiet machine (check `uptime`).
#
# usage: bench/coord_throughput.sh [build-dir]     env: RANKS, RUNS_PER_RANK, WORK_MS, STEP_MS
set -euo pipefail
build=${1:-build}
bin="$build/test_coord"
[ -x "$bin" ] || { echo "coord_throughput: $bin not found: build first (cmake --build $build)" >&2; exit 2; }
ranks=${RANKS:-"1 2"}
per=${RUNS_PER_RANK:-40}
work=${WORK_MS:-50}
step=${STEP_MS:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
echo "coord_throughput: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $ranks; do
    mpirun -n "$n" "$bin" --bench --runs $((per * n)) --work-ms "$work" --step-ms "$step"
done
