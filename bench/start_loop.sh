#!/usr/bin/env bash
# start_loop.sh - N fresh 2-rank starts of a tiny sweep, each creating its results file
# collectively; counts layout-mismatch failures ("ranks passed different paths or
# layouts") and any other non-zero exit. Issue 17 row 7: the layout checksum once
# included a per-rank time(), and 2-25% of multi-rank starts failed.
#   bench/start_loop.sh [BIN] [N]     (default build/normsweep, 200)
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
NS=$(realpath "${1:-build/normsweep}")
N=${2:-200}
W=$(mktemp -d /tmp/ns_startloop.XXXXXX)
trap 'rm -rf "$W"' EXIT
mismatch=0 other=0
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  if ! mpirun -n 2 --oversubscribe "$NS" run tests/data/sweep_small.yaml train.steps=2 \
        probes.every=1 -o "$W/f.h5" --force --quiet >"$W/out" 2>&1; then
    if grep -q "different paths or layouts" "$W/out"; then mismatch=$((mismatch + 1))
    else other=$((other + 1)); echo "start $i failed:"; tail -3 "$W/out"; fi
  fi
done
t1=$(date +%s.%N)
printf 'start_loop: %d fresh 2-rank starts, %d layout mismatches, %d other failures, %.2f s per start\n' \
  "$N" "$mismatch" "$other" "$(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN{print (b - a) / n}')"
[ "$mismatch" -eq 0 ] && [ "$other" -eq 0 ]
