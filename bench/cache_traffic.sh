#!/usr/bin/env bash
# cache_traffic.sh - how many cache lines does one training step pull from DRAM
# when a rank has only its share of the last-level cache? (issue 15: runs get
# slower when 16 run at once.) Deterministic, so it runs on any machine, the
# 2-core development one included: valgrind's cachegrind simulates the caches.
#
#   bench/cache_traffic.sh [build-dir]
#   env: LL_MB="2 16" (simulated last-level sizes: 2 = 1/16 of a 32 MB L3, the
#        share of each of 16 ranks; 16 = a rank alone), STEPS="20 60",
#        SPEC=FILE (default: the bundle's scaling-small net, below), TOP=6
#
# For each LL size it runs one run of SPEC at the two step counts under
# cachegrind and prints, per step (difference / step difference, so start-up
# and the file layout cancel): LL misses (data reads + writes: lines from DRAM;
# write-backs are not counted by cachegrind), the MB they are, and the functions
# with the most LL misses per step. Needs valgrind (apt-get install valgrind,
# or scripts/install-deps --with-profile). Takes about 2 minutes per LL size.
set -euo pipefail
SRC=$(cd -P -- "$(dirname -- "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
NS=$BUILD/normsweep
LL_MB=${LL_MB:-"2 16"}
read -r S1 S2 <<< "${STEPS:-20 60}"
TOP=${TOP:-6}
command -v valgrind >/dev/null || { echo "cache_traffic: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
[ -x "$NS" ] || { echo "cache_traffic: $NS not built" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_cache.XXXXXX")
trap 'rm -rf "$T"' EXIT
SPEC=${SPEC:-$T/net.yaml}
[ -f "$SPEC" ] || cat > "$SPEC" <<'EOF'
# the bundle's scaling-small run (../shared/tools/bundle/scaling-small.yaml), one seed
name: cache-traffic
data: synthetic-cls:n=4096,test=1024,c=1,h=16,w=16,classes=10,noise=2
data_seed: 0
train: {steps: 800, batch: 128, momentum: 0.9, init: he, eval_every: 0, log_every: 10}
grid: {arch: ["mlp:256-512-512-10"], norm: [batch], lr: [0.05], seed: [0]}
EOF
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
echo "cache_traffic: $SPEC, steps $S1 and $S2, BLAS kernel $OPENBLAS_CORETYPE, $(valgrind --version)"

# run LL_BYTES STEPS: cachegrind one run; prints the profile's path
profile() {
    local out=$T/cg.$1.$2
    valgrind --tool=cachegrind --cache-sim=yes --LL="$1,16,64" --cachegrind-out-file="$out" \
        "$NS" run "$SPEC" "train.steps=$2" -o "$T/r.$1.$2.h5" --quiet > "$T/log.$1.$2" 2>&1 \
        || { echo "cache_traffic: the run failed, see below" >&2; tail -5 "$T/log.$1.$2" >&2; exit 1; }
    echo "$out"
}
# LL misses (DLmr + DLmw) per function of one profile, as "function misses"
# lines, from cachegrind's own file (events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw
# DLmw after the line number), so no report format is parsed
per_function() {
    awk '/^fn=/ { fn = substr($0, 4); next }
         /^[0-9]/ && fn != "" { m[fn] += $7 + $10 }
         END { for (f in m) if (m[f] > 0) print f, m[f] }' "$1"
}
total_misses() { awk '/^summary:/ { print $7 + $10 }' "$1"; }

printf '\n%-8s %14s %10s\n' "LL" "misses/step" "MB/step"
for mb in $LL_MB; do
    bytes=$((mb * 1024 * 1024))
    a=$(profile "$bytes" "$S1"); b=$(profile "$bytes" "$S2")
    ta=$(total_misses "$a"); tb=$(total_misses "$b")
    awk -v mb="$mb" -v a="$ta" -v b="$tb" -v d=$((S2 - S1)) \
        'BEGIN { p = (b - a) / d; printf "%-8s %14.0f %10.2f\n", mb " MB", p, p * 64 / 1e6 }'
    per_function "$a" > "$T/fa"; per_function "$b" > "$T/fb"
    awk -v d=$((S2 - S1)) 'NR == FNR { a[$1] += $2; next } { b[$1] += $2 }
        END { for (f in b) printf "%.0f %s\n", (b[f] - a[f]) / d, f }' "$T/fa" "$T/fb" \
        | sort -rn | head -n "$TOP" | awk '{ printf "    %12s lines/step  %s\n", $1, $2 }'
done
