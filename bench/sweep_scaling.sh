#!/usr/bin/env bash
# sweep_scaling.sh - end-to-end sweep throughput at N = 1 and N = 2 ranks.
#
# A sweep of equal runs (one arch/norm/lr, 2N seeds... 8 seeds by default) is
# run with normsweep itself, once on 1 rank and once on N ranks. Prints
#   ratio = wall(N) / (wall(1) / N)
# i.e. the issue's "sweep wall time / (total single-rank work / N)", target
# <= 1.05. Unlike bench/coord_throughput.sh (dispatch overhead alone, busy-wait
# work), this includes everything: MPI start, file creation, data loading,
# per-rank memory bandwidth when N ranks share the machine, the final close.
# Run it on a quiet machine (check `uptime`).
#
# usage: bench/sweep_scaling.sh [build-dir]   env: RANKS="1 2", SEEDS=8, STEPS=300
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
NS=$build/normsweep
ranks=${RANKS:-"1 2"}
seeds=${SEEDS:-8}
steps=${STEPS:-300}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_scaling.XXXXXX")
trap 'rm -rf "$T"' EXIT
cat > "$T/s.yaml" <<YAML
name: scaling
data: fashion-mnist
train: {steps: $steps, batch: 128, log_every: 10, eval_every: 0}
grid: {lr: [0.05], arch: ["mlp:784-256-256-256-10"], norm: [batch], seed: {count: $seeds}}
probes: {every: 50, eta: {relative: [0.5, 4.0], count: 8}}
YAML
echo "sweep_scaling: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $seeds equal runs of $steps steps"
declare -A wall work
for n in $ranks; do
  t0=$(date +%s.%N)
  mpirun -n "$n" "$NS" run "$T/s.yaml" -o "$T/r$n.h5" --quiet
  t1=$(date +%s.%N)
  wall[$n]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  runs=$(/usr/bin/python3 -c "import h5py,sys; f=h5py.File('$T/r$n.h5','r'); print('%.3f' % f['wall_s'][()].sum())")
  work[$n]=$runs
  echo "N=$n: sweep wall ${wall[$n]} s, sum of run wall times $runs s"
done
base=${wall[1]:-}
if [ -n "$base" ]; then
  for n in $ranks; do
    [ "$n" = 1 ] && continue
    awk -v w="${wall[$n]}" -v b="$base" -v r="${work[1]}" -v n="$n" \
      'BEGIN{printf "N=%d: wall(N) / (wall(1)/N) = %.3f; wall(N) / (sum of 1-rank run times / N) = %.3f  (target <= 1.05)\n", n, w/(b/n), w/(r/n)}'
  done
fi
