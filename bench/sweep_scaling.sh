#!/usr/bin/env bash
# sweep_scaling.sh - end-to-end strong scaling of one sweep over rank counts.
#
# A sweep of SEEDS equal runs (one arch/norm/lr, seeds 1..SEEDS) runs with
# `mpirun -n N normsweep run` for each N in RANKS. Per N it reports
#   wall      mpirun start to exit, seconds (W_N)
#   eff       (sum of the runs' wall_s at N=1) / (N x W_N)      - the issue's definition
#   eff/core  (sum of the runs' wall_s at N=1) / (min(N, cores) x W_N): the same
#             against the cores the machine has (on 2 cores, N = 16 can reach at
#             most eff = 2/16; eff/core shows what is lost beyond that)
#   slow      sum of run wall_s at N / the same at N=1: how much longer each run
#             takes when N run at once (contention; oversubscription alone makes it
#             N/cores)
#   start     start-up share of W_N: MPI init + spec + data + plan + file layout +
#             resume check, as normsweep measures them ("start-up" line)
#   coord     coordinator share: (N x sweep time - sum of run wall_s) / (N x W_N), the
#             time ranks spent in the coordinator but in no run (dispatch, waiting
#             for the last runs); the sweep time is rank 0's, from the progress file
#   rest      1 - (sum of run wall_s)/(N x W_N) - start - coord: file close,
#             MPI_Finalize, mpirun's own launch and exit
# and each start-up step in seconds. Numbers from a shared 2-core machine are
# noisy: compare rows of one invocation, not across invocations.
#
# usage: bench/sweep_scaling.sh [build-dir]
#   env: RANKS="1 2 4 8 16", SEEDS=16, STEPS=300, DATA=fashion-mnist,
#        ARCH=mlp:784-256-256-256-10, NORMSWEEP_SHARED_DATA (passed on)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
NS=$PWD/$build/normsweep
[ -x "$NS" ] || { echo "sweep_scaling: $NS not found: build first" >&2; exit 2; }
ranks=${RANKS:-"1 2 4 8 16"}
seeds=${SEEDS:-16}
steps=${STEPS:-300}
cores=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_scaling.XXXXXX")
trap 'rm -rf "$T"' EXIT
cat > "$T/s.yaml" <<YAML
name: scaling
data: ${DATA:-fashion-mnist}
train: {steps: $steps, batch: 128, log_every: 10, eval_every: 0}
grid: {lr: [0.05], arch: ["${ARCH:-mlp:784-256-256-256-10}"], norm: [batch], seed: {count: $seeds}}
probes: {every: 50, eta: {relative: [0.5, 4.0], count: 8}}
YAML
echo "sweep_scaling: $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg), $seeds equal runs of $steps steps"
for n in $ranks; do
  [ "$n" -gt "$cores" ] && echo "  N=$n > $cores cores: oversubscribed"
done
S1=
printf '| %3s | %7s | %5s | %8s | %5s | %5s | %5s | %5s | %s\n' N wall eff eff/core slow start coord rest "start-up steps (s)"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' ----- --------- ------- ---------- ------- ------- ------- ------- ------------------
for n in $ranks; do
  out=$T/r$n.h5
  t0=$(date +%s.%N)
  mpirun -n "$n" "$NS" run "$T/s.yaml" -o "$out" --progress-every 0 2> "$T/log$n"
  t1=$(date +%s.%N)
  startup=$(sed -n 's/^normsweep: start-up \([0-9.]*\) s: \(.*\)/\1|\2/p' "$T/log$n")
  read -r sum_run sweep_s < <(/usr/bin/python3 - "$out" <<'PY'
import json, sys, h5py
f = h5py.File(sys.argv[1], "r")
p = json.load(open(sys.argv[1] + ".progress.json"))
print("%.4f %.4f" % (f["wall_s"][()].sum(), p["elapsed_s"]))
PY
)
  [ -n "$S1" ] || S1=$sum_run
  [ "$n" = 1 ] && S1=$sum_run
  awk -v n="$n" -v w0="$t0" -v w1="$t1" -v s1="$S1" -v sn="$sum_run" -v sw="$sweep_s" \
      -v c="$cores" -v st="${startup%%|*}" -v steps="${startup#*|}" 'BEGIN {
    w = w1 - w0; m = n < c ? n : c
    busy = sn / (n * w); start = st / w; coord = (n * sw - sn) / (n * w)
    printf "| %3d | %7.2f | %5.3f | %8.3f | %5.2f | %5.3f | %5.3f | %5.3f | %s\n",
           n, w, s1 / (n * w), s1 / (m * w), sn / s1, start, coord, 1 - busy - start - coord, steps
  }'
done
[ "$(echo "$ranks" | awk '{print $1}')" = 1 ] || echo "(no N=1 in RANKS: eff uses the first N's run sum)"
