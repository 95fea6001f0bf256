#!/bin/bash
# flush_cost.sh - what writing a run's traces to the file while it runs costs
# (--flush-seconds, docs/cli.md): one run of the small sweep (MLP 16-64-64-3
# with batch norm, batch 32, every step logged, probes every 5000 steps) with
#   0        a sync after every logged step (the most a flush can cost)
#   1        every second (what tests/cli/test_flush_kill.sh kills)
#   default  no flag: every 10 s
#   1e9      never before the end (the baseline: what runs did before)
# each REPS times, interleaved, the minimum of each column kept (a loaded machine only ever
# adds time). One process, no mpirun (MPI singleton), so /usr/bin/time's CPU
# time is the run's own. Prints a Markdown table: the process's CPU time
# (user+sys), the run's wall_s (from the file), and the run loop's own time
# outside training, probes and evaluation - wall_s - train_s - probe_s_total -
# eval_s: the syncs, the per-step records and the coordinator's poll - whose
# growth over `never` is the flushes' cost measured inside the run, which
# load on the machine disturbs far less than the totals (on a loaded 2-core
# machine CPU and wall totals vary by a few % between repeats).
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
    read -r wall loop < <("$NS_PYTHON" -c "import h5py; f = h5py.File('$T/o.h5', 'r'); \
      w = f['wall_s'][0]; print(w, w - f['train_s'][0] - f['probe_s_total'][0] - f['eval_s'][0])")
    read -r _ u s <"$T/time"
    echo "$c $wall $(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}') $loop" >>"$T/all"
  done
done

echo
echo "| --flush-seconds | CPU s | CPU vs never | run wall_s | wall vs never | loop outside train/probe/eval s | its growth vs never, % of the run | syncs (about) |"
echo "|---|---|---|---|---|---|---|---|"
awk -v steps="$STEPS" '
  { if (!($1 in w) || $2 < w[$1]) w[$1] = $2; if (!($1 in c) || $3 < c[$1]) c[$1] = $3
    if (!($1 in l) || $4 < l[$1]) l[$1] = $4 }
  END {
    n = split("0 1 default 1e9", k, " ")
    for (i = 1; i <= n; i++) {
      f = k[i]; every = f == "default" ? 10 : f + 0
      syncs = every == 0 ? steps : int(w[f] / every)
      printf "| %s | %.2f | %+.2f%% | %.3f | %+.2f%% | %.4f | %+.3f%% | %d |\n", f, c[f],
             100 * (c[f] / c["1e9"] - 1), w[f], 100 * (w[f] / w["1e9"] - 1), l[f],
             100 * (l[f] - l["1e9"]) / w["1e9"], syncs
    }
  }' "$T/all"
