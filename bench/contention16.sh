#!/usr/bin/env bash
# contention16.sh - why does a run get slower when 16 run at once? (issue 15:
# 2.19-2.64 s alone, 2.80-4.85 s with 16 running on a 16-core Xeon.) Needs a
# machine with 16+ cores; NOT run on the 2-core development machine.
#
# Two steps:
#   here:    bench/contention16.sh --pack DIR [build-dir]
#            assembles the relocatable bundle (/work/shared/tools/bundle, or
#            $BUNDLE_SRC) into DIR with build-dir/normsweep and copies this script
#            into it. Copy DIR to the 16-core machine.
#   there:   DIR/contention16.sh [-n 16] [-o OUTDIR]
#            needs nothing but glibc >= 2.36 (python3 + h5py for the tables;
#            perf for the counters, if installed; root only for the THP switch).
#   With the sessions' device tool (a 16-core machine reached by a `run` call
#   that copies the working tree; shared/notes/platform.md is reset between
#   sessions, so the recipe lives here): build and pack here with
#     cmake --build build && bench/contention16.sh --pack build/c16 build
#   then make one call: command "build/c16/contention16.sh -n 16 -o $OUT/c16",
#   carry ["build/c16"] (ignored paths travel only when carried), timeout 540 s.
#
# Every experiment runs the bundle's scaling-small.yaml (32 equal runs of a
# 256-512-512-10 MLP with batch norm, ~2.4 s each) at N ranks, and the first
# ONE_RUNS (default 6) of its seeds at 1 rank, with the bundle's scaling.sh, and
# reports the mean run time at 1 and at N, their ratio (the contention: 1.00 =
# none) and eff = 32 x (mean run time at 1) / (N x wall at N), the issue's
# sum(run times at 1) / (N x wall at N) with the sum estimated from ONE_RUNS runs.
# (All 32 at 1 rank would take ~77 s per experiment, ~15 min in all: over the
# device's 10-minute command limit. This way the whole script takes ~4-5 min.)
#   base      as shipped (no binding)
#   bind      --bind-to core: no migration; memory first-touched on the core's
#             NUMA node stays local
#   spread    --map-by numa --bind-to core: ranks spread over sockets / NUMA nodes
#   thp-on    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (malloc asks for transparent
#             huge pages: fewer TLB misses); thp-off: =0; the system setting
#             (/sys/kernel/mm/transparent_hugepage/enabled) is printed
#   avx2      OPENBLAS_CORETYPE=Haswell instead of the AVX-512 kernel: if 16 cores
#             running AVX-512 drop to a lower clock, avx2 slows down less
#   logs-x10  log_every 100 instead of 10: 10x fewer per-step rows written to the
#             shared file (the store's part)
#   private   NORMSWEEP_SHARED_DATA=0: one copy of the data per rank instead of
#             one per node (cache and TLB footprint of the data)
# With perf installed, `perf stat -a` around the N=1 and N runs of base adds
# cycles per instruction, cache and dTLB misses per run, and the mean clock
# (cycles / task-clock): IPC falling with N means memory or cache contention, the
# clock falling means frequency (power or AVX-512 licence) limits.
set -u
HERE=$(cd -P -- "$(dirname -- "$0")" && pwd)

if [ "${1:-}" = --pack ]; then
    dir=${2:?usage: contention16.sh --pack DIR [build-dir]}
    build=${3:-build}
    src=${BUNDLE_SRC:-/work/shared/tools/bundle}
    "$src/assemble.sh" "$dir" "$build/normsweep" || exit 1
    cp "$0" "$dir/contention16.sh"
    echo "contention16: bundle in $dir; copy it to the 16-core machine and run $dir/contention16.sh"
    exit 0
fi
[ -x "$HERE/scaling.sh" ] || { echo "contention16: run it inside an assembled bundle (see --pack)" >&2; exit 2; }
N=16
OUT=$PWD/contention-out
while getopts "n:o:h" opt; do
    case $opt in
        n) N=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) sed -n '2,40p' "$0"; exit 0 ;;
    esac
done
mkdir -p "$OUT"
SPEC=${SPEC:-$HERE/scaling-small.yaml}  # SPEC=... for a smoke test with a small sweep
ONE_RUNS=${ONE_RUNS:-6}
RUNS=$(sed -n 's/.*seed: *{ *count: *\([0-9]*\) *}.*/\1/p' "$SPEC")
[ -n "$RUNS" ] || { echo "contention16: $SPEC: expected 'seed: {count: N}' in its grid" >&2; exit 2; }
# one.yaml: the same runs, only the first ONE_RUNS seeds (the 1-rank reference)
one_rank_spec() { sed "s/seed: *{ *count: *$RUNS *}/seed: {count: $ONE_RUNS}/" "$1"; }
sed 's/log_every: 10/log_every: 100/' "$SPEC" > "$OUT/logs-x10.yaml"
one_rank_spec "$SPEC" > "$OUT/one.yaml"
one_rank_spec "$OUT/logs-x10.yaml" > "$OUT/one-logs-x10.yaml"
echo "contention16: $(nproc) cores, N=$N, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
lscpu 2>/dev/null | grep -E '^(Socket|NUMA node|L2|L3)' || true

# one experiment: NAME SPEC ONE_RANK_SPEC MPIRUN_ARGS [VAR=VALUE...]: the
# 1-rank reference in NAME/one, the N-rank sweep in NAME/many
experiment() {
    local name=$1 spec=$2 one=$3 margs=$4
    shift 4
    echo "== $name: $*${margs:+ mpirun $margs}"
    env "$@" MPIRUN_ARGS="$margs" "$HERE/scaling.sh" -s "$one" -o "$OUT/$name/one" 1 \
        > "$OUT/$name.log" 2>&1 || echo "   (scaling.sh at 1 rank failed: $OUT/$name.log)"
    env "$@" MPIRUN_ARGS="$margs" "$HERE/scaling.sh" -s "$spec" -o "$OUT/$name/many" "$N" \
        >> "$OUT/$name.log" 2>&1 || echo "   (scaling.sh at $N ranks failed: $OUT/$name.log)"
}
experiment base "$SPEC" "$OUT/one.yaml" ""
experiment bind "$SPEC" "$OUT/one.yaml" "--bind-to core"
experiment spread "$SPEC" "$OUT/one.yaml" "--map-by numa --bind-to core"
experiment thp-on "$SPEC" "$OUT/one.yaml" "" GLIBC_TUNABLES=glibc.malloc.hugetlb=1
experiment thp-off "$SPEC" "$OUT/one.yaml" "" GLIBC_TUNABLES=glibc.malloc.hugetlb=0
experiment avx2 "$SPEC" "$OUT/one.yaml" "" OPENBLAS_CORETYPE=Haswell
experiment logs-x10 "$OUT/logs-x10.yaml" "$OUT/one-logs-x10.yaml" ""
experiment private "$SPEC" "$OUT/one.yaml" "" NORMSWEEP_SHARED_DATA=0

# start-up and teardown per step at 1 and N ranks (normsweep's own "start-up"
# line and the file close; scaling.sh runs --quiet, so one plain run each).
# In a subshell with the bundle's environment: scaling.sh sources env.sh for
# itself, this loop calls mpirun and normsweep directly.
(
[ "${NS_BUNDLE:-}" = "$HERE" ] || source "$HERE/env.sh" || exit 1
for n in 1 "$N"; do
    f=$OUT/startup-n$n.h5
    spec=$SPEC
    [ "$n" = 1 ] && spec=$OUT/one.yaml
    rm -rf "$f" "$f.ckpt" "$f.progress.json"
    t0=$(date +%s%N)
    mpirun -n "$n" normsweep run "$spec" -o "$f" --progress-every 0 > "$OUT/startup-n$n.log" 2>&1
    t1=$(date +%s%N)
    echo "N=$n: mpirun $(( (t1 - t0) / 1000000 )) ms; $(grep -h 'start-up' "$OUT/startup-n$n.log");" \
         "$(grep -ho 'file close [0-9.]* s' "$OUT/startup-n$n.log")" | tee -a "$OUT/startup.txt"
    rm -rf "$f" "$f.ckpt"
done
)

if command -v perf >/dev/null 2>&1; then
    for n in 1 "$N"; do
        spec=$SPEC
        [ "$n" = 1 ] && spec=$OUT/one.yaml
        perf stat -a -x, -o "$OUT/perf-n$n.csv" \
            -e task-clock,cycles,instructions,cache-references,cache-misses,LLC-load-misses,dTLB-load-misses \
            -- "$HERE/scaling.sh" -s "$spec" -o "$OUT/perf-n$n" "$n" > "$OUT/perf-n$n.log" 2>&1
    done
else
    echo "perf not installed: no hardware counters (apt-get install linux-perf, or the distribution's perf)"
fi

# summary: python3 with h5py not needed: scaling.sh wrote scaling.csv per experiment
printf '\n%-9s %9s %9s %7s %6s\n' experiment "run@1 s" "run@$N s" ratio eff
for d in base bind spread thp-on thp-off avx2 logs-x10 private; do
    one=$OUT/$d/one/scaling.csv many=$OUT/$d/many/scaling.csv
    { [ -f "$one" ] && [ -f "$many" ]; } || { printf '%-9s (no table: see %s.log)\n' "$d" "$OUT/$d"; continue; }
    # scaling.csv: N,wall_s,sum_run_wall_s,...,done,total,...; mean run = sum_run_wall_s / total
    awk -F, -v name="$d" -v n="$N" -v runs="$RUNS" '
        FNR == 1 { file++; next }
        file == 1 { a = $3 / $9 } file == 2 { b = $3 / $9; wall = $2 }
        END { printf "%-9s %9.3f %9.3f %7.2f %6.3f\n", name, a, b, b / a, runs * a / (n * wall) }' "$one" "$many"
done
for n in 1 "$N"; do
    f=$OUT/perf-n$n.csv
    [ -f "$f" ] || continue
    runs=$RUNS
    [ "$n" = 1 ] && runs=$ONE_RUNS
    awk -F, -v n="$n" -v runs="$runs" '$3 != "" { v[$3] = $1 }
        END { if (!(v["cycles"] + 0 > 0) || !(v["instructions"] + 0 > 0)) {
                  printf "perf N=%s: no hardware counters here (perf stat: cycles %s, instructions %s)\n",
                         n, v["cycles"], v["instructions"]; exit }
              printf "perf N=%s: IPC %.2f, clock %.2f GHz, cache-miss %.1f%%; per run (%d runs): LLC-load-misses %.3g, dTLB-load-misses %.3g\n",
              n, v["instructions"] / v["cycles"], v["cycles"] / (v["task-clock"] * 1e6),
              100 * v["cache-misses"] / v["cache-references"], runs,
              v["LLC-load-misses"] / runs, v["dTLB-load-misses"] / runs }' "$f"
done
