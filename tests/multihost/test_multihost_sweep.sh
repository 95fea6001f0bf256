#!/usr/bin/env bash
# test_multihost_sweep.sh - normsweep across 3 "hosts" (network namespaces on a
# private bridge, tests/multihost/mh_harness.sh), 2 ranks each, over TCP:
#  1. Open MPI sees 3 nodes of 2 ranks (not one node of 6)
#  2. the 3x2 sweep writes a file bitwise equal (every trace) to a 1-rank run
#  3. every process of one host killed mid-sweep: the job ends within a bound,
#     the file stays readable, and --resume completes it equal to the 1-rank run
# Skipped (exit 77, with the reason) where namespaces cannot be created.
# ctest-labels: slow
# ctest-timeout: 600
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
SPEC=$SRC/tests/data/sweep_small.yaml
SAME="/usr/bin/python3 $SRC/tests/tools/h5same.py"
source "$SRC/tests/multihost/mh_harness.sh"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

mh_up 3 2
# The results live on a path every host sees (the "shared filesystem").
W=$MH_DIR/shared
mkdir -p "$W"
cd "$W"
# A variable set here reaches the remote ranks only through mpirun -x, as on a
# cluster: forward the BLAS kernel choice if the caller made one.
fwd=()
[ -n "${OPENBLAS_CORETYPE:-}" ] && fwd+=(-x OPENBLAS_CORETYPE)
hrun() { mh_mpirun -n 6 "${fwd[@]}" "$NS" run "$@"; }

# 1. the layout Open MPI sees: 3 nodes, 2 local ranks each
mh_mpirun -n 6 sh -c 'echo "$(hostname) $OMPI_COMM_WORLD_RANK $OMPI_COMM_WORLD_LOCAL_RANK $OMPI_COMM_WORLD_LOCAL_SIZE"' \
  2>/dev/null | sort -k2n > layout.txt
cat layout.txt
[ "$(awk '{print $1}' layout.txt | sort -u | wc -l)" -eq 3 ] || fail "expected 3 hosts"
[ "$(awk '$4 == 2' layout.txt | wc -l)" -eq 6 ] || fail "expected 2 local ranks on each host"
ok "3 hosts x 2 ranks, each host its own node"

# 2. 3 hosts x 2 ranks = 1 rank (the reference runs outside the namespaces)
mpirun -n 1 "$NS" run "$SPEC" -o ref.h5 --quiet
hrun "$SPEC" -o h6.h5 --quiet 2> h6.err || { cat h6.err; fail "3x2 sweep failed"; }
$SAME ref.h5 h6.h5 || fail "3 hosts x 2 ranks differ from 1 rank"
/usr/bin/python3 - h6.h5 <<'PY' || fail "runs did not spread over the hosts"
import sys, h5py
ranks = set(int(r) for r in h5py.File(sys.argv[1], "r")["rank"][()])
hosts = {r // 2 for r in ranks}
print("ranks that ran:", sorted(ranks), "hosts:", sorted(hosts))
assert len(hosts) == 3, hosts
PY
ok "3x2 over TCP = 1 rank, bitwise, every trace"

# wait until the sweep writing $1 has finished a run and is still going
wait_first_done() {
  for _ in $(seq 1 600); do
    grep -qE '"(done|diverged)": [1-9]' "$1.progress.json" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "no run finished in $1 within 30 s"
}

# 3. a host dies mid-sweep (every process on it: its orted and both ranks)
hrun "$SPEC" -o k.h5 --progress-every 0.5 > k.log 2>&1 & mp=$!
wait_first_done k.h5
t0=$(date +%s.%N)
mh_kill_host 1
set +e; wait $mp; rc=$?; set -e
dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
cat k.log
[ $rc -ne 0 ] || fail "the job lost a host and exited 0"
awk -v d="$dt" 'BEGIN{exit !(d < 30)}' || fail "job took ${dt}s to end after its host died"
grep -q '"finished": false' k.h5.progress.json || fail "the sweep had finished before the kill"
"$NS" status k.h5 > k.status || fail "status of the damaged file: $(cat k.status)"
ok "host killed: job ended in ${dt}s (exit $rc), file readable"
hrun "$SPEC" -o k.h5 --resume --quiet 2> k2.err || { cat k2.err; fail "resume after a lost host failed"; }
$SAME ref.h5 k.h5 || fail "host lost + --resume differs from uninterrupted"
ok "host lost mid-sweep + --resume = uninterrupted"

echo "$pass passed, 0 failed"
