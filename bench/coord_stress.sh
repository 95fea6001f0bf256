#!/usr/bin/env bash
# coord_stress.sh - the coordinator and the store under many ranks and many tiny
# runs: RANKS ranks (64: oversubscribed on a small machine) run RUNS runs (10,000)
# of one training step of a 4-4-2 MLP, so nearly all of each run's time is
# overhead: dispatch, run set-up, the run's rows in the results file.
#
# Reported, all per run:
#   dispatch  test_coord --bench with the same ranks and runs and no work at all:
#             wall / runs (the coordinator's messages and bookkeeping alone)
#   total     the normsweep sweep: rank 0's sweep time (progress file) / runs
#   in-run    mean over runs of the run's own wall_s (file): set-up, the one step,
#             its rows written
#   file+setup = total - dispatch
# as wall milliseconds on this machine, and as machine milliseconds (x cores:
# with every core busy, the CPU time one run costs). The progress file is sampled
# every second during the sweep; the per-run time of each tenth of the sweep shows
# whether it grows with the runs done (the goal: under 5 ms, flat).
#
# usage: bench/coord_stress.sh [build-dir]    env: RANKS=64, RUNS=10000
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/tests/tools${PYTHONPATH:+:$PYTHONPATH}"  # h5text.py: the file's text
build=${1:-build}
NS=$PWD/$build/normsweep
TC=$PWD/$build/test_coord
[ -x "$NS" ] && [ -x "$TC" ] || { echo "coord_stress: build first ($NS, $TC)" >&2; exit 2; }
ranks=${RANKS:-64}
runs=${RUNS:-10000}
cores=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_stress.XXXXXX")
trap 'rm -rf "$T"' EXIT
echo "coord_stress: $ranks ranks on $cores cores (oversubscribed: $((ranks > cores))), $runs runs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. dispatch alone
line=$(mpirun -n "$ranks" "$TC" --bench --runs "$runs" --work-ms 0 --step-ms 0)
dispatch_wall=$(sed -n 's/.* wall=\([0-9.]*\) s.*/\1/p' <<<"$line")
echo "dispatch only: $line"

# 2. the sweep
# seeds are capped at 256 per grid: RUNS = (RUNS / 250) learning rates x 250 seeds
seeds=$(( runs < 250 ? runs : 250 ))
[ $((runs % seeds)) -eq 0 ] || { echo "coord_stress: RUNS must be a multiple of 250 (or below it)" >&2; exit 2; }
lrs=$(awk -v k=$((runs / seeds)) 'BEGIN{for (i = 1; i <= k; i++) printf "%s%g", (i > 1 ? ", " : ""), 0.001 * i}')
cat > "$T/s.yaml" <<YAML
name: stress
data: "synthetic-cls:n=64,test=0,c=1,h=2,w=2,classes=2"
train: {steps: 1, batch: 8, log_every: 1, eval_every: 0}
grid: {lr: [$lrs], arch: ["mlp:4-4-2"], norm: [none], seed: {count: $seeds}}
YAML
out=$T/s.h5
t0=$(date +%s.%N)
mpirun -n "$ranks" "$NS" run "$T/s.yaml" -o "$out" --progress-every 0 2> "$T/log" & mp=$!
: > "$T/samples"
while kill -0 $mp 2>/dev/null; do
  if [ -e "$out.progress.json" ]; then
    /usr/bin/python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["elapsed_s"], p["done"]+p["diverged"]+p["failed"])' \
      "$out.progress.json" >> "$T/samples" 2>/dev/null || true
  fi
  sleep 1
done
wait $mp || { cat "$T/log"; echo "coord_stress: the sweep failed" >&2; exit 1; }
t1=$(date +%s.%N)
grep -E "start-up|skipped in" "$T/log"
/usr/bin/python3 - "$out" "$T/samples" "$dispatch_wall" "$runs" "$cores" "$t0" "$t1" <<'PY'
import json, sys
import h5py, numpy as np
out, samples, dwall, runs, cores, t0, t1 = sys.argv[1:]
runs, cores, dwall = int(runs), int(cores), float(dwall)
f = h5py.File(out, "r")
p = json.load(open(out + ".progress.json"))
sweep = p["elapsed_s"]
in_run = f["wall_s"][()]
from h5text import text
st = text(f["status"])
assert all(s in ("done", "diverged") for s in st), "runs not finished"
ms = lambda s: 1e3 * s / runs
print("per run (ms)        wall    machine (x%d cores)" % cores)
print("  dispatch only   %7.3f  %7.3f" % (ms(dwall), cores * ms(dwall)))
print("  whole sweep     %7.3f  %7.3f   (sweep %.1f s; mpirun %.1f s)" % (ms(sweep), cores * ms(sweep), sweep, float(t1) - float(t0)))
print("  file + set-up   %7.3f  %7.3f   (whole - dispatch)" % (ms(sweep - dwall), cores * ms(sweep - dwall)))
print("  inside a run    %7.3f  mean of the runs' wall_s (oversubscribed: includes waiting for a core)" % (1e3 * in_run.mean()))
pts = [tuple(map(float, l.split())) for l in open(samples) if len(l.split()) == 2]
pts = [(0.0, 0.0)] + pts + [(sweep, float(runs))]
print("per run over the sweep (wall ms, from the progress file, sampled each second):")
edges = np.linspace(0, runs, 11)
for a, b in zip(edges[:-1], edges[1:]):
    # elapsed time when the finished count crossed a and b (linear between samples)
    done = np.array([q[1] for q in pts]); tm = np.array([q[0] for q in pts])
    ta, tb = np.interp(a, done, tm), np.interp(b, done, tm)
    print("  runs %5d-%5d: %6.3f ms" % (a, b, 1e3 * (tb - ta) / (b - a)))
PY
