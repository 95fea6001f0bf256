#!/bin/bash
# flush_cost.sh - what writing a run's traces to the file while it runs costs
# (--flush-seconds, docs/cli.md): one run of the small sweep (MLP 16-64-64-3
# with batch norm, batch 32, every step logged, probes every 5000 steps) with
#   0        a sync after every logged step (the most a flush can cost)
#   1        every second (what tests/cli/test_flush_kill.sh kills)
#   default  no flag: every 10 s
#   1e9      never before the end (the baseline: what runs did before)
# each REPS times, interleaved, the minimum kept (a loaded machine only ever
# adds time). One process, no mpirun (MPI singleton), so /usr/bin/time's CPU
# time is the run's own. Prints a Markdown table: the run's wall_s (from the
# file), the process's CPU time (user+sys) and both overheads vs never.
#   usage: bench/flush_cost.sh [path/to/normsweep] [steps] [reps]
set -eu
BIN=${1:-$(dirname "$0")/../build/normsweep}
STEPS=${2:-400000}
REPS=${3:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../scripts/env.sh"
SPEC=$HERE/../tests/data/sweep_small.yaml
OV=(train.steps="$STEPS" probes.every=5000 'grid.lr=[0.05]' 'grid.norm=[batch]' checkpoint.every=0)
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_flushcost.XXXXXX")
trap 'rm -rf "$T"' EXIT
CASES=(0 1 default 1e9)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(getconf _NPROCESSORS_ONLN) cores;" \
     "1 run of $STEPS steps (all logged); min of $REPS"
for rep in $(seq 1 "$REPS"); do
  for c in "${CASES[@]}"; do
    flag=(); [ "$c" = default ] || flag=(--flush-seconds "$c")
    rm -rf "$T/o.h5" "$T/o.h5.ckpt" "$T/o.h5.progress.json"
    /usr/bin/time -f "%e %U %S" -o "$T/time" "$BIN" run "$SPEC" "${OV[@]}" -o "$T/o.h5" \
      --quiet "${flag[@]}"
    wall=$("$NS_PYTHON" -c "import h5py; print(h5py.File('$T/o.h5','r')['wall_s'][0])")
    read -r _ u s <"$T/time"
    echo "$c $wall $(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}')" >>"$T/all"
  done
done

echo
echo "| --flush-seconds | run wall_s (min) | CPU s (min) | wall vs never | CPU vs never | syncs (about) | steps/s |"
echo "|---|---|---|---|---|---|---|"
awk -v steps="$STEPS" '
  { if (!($1 in w) || $2 < w[$1]) w[$1] = $2; if (!($1 in c) || $3 < c[$1]) c[$1] = $3 }
  END {
    n = split("0 1 default 1e9", k, " ")
    for (i = 1; i <= n; i++) {
      f = k[i]; every = f == "default" ? 10 : f + 0
      syncs = every == 0 ? steps : int(w[f] / every)
      printf "| %s | %.3f | %.3f | %+.2f%% | %+.2f%% | %d | %.0f |\n", f, w[f], c[f],
             100 * (w[f] / w["1e9"] - 1), 100 * (c[f] / c["1e9"] - 1), syncs, steps / w[f]
    }
  }' "$T/all"
