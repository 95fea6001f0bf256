#!/usr/bin/env bash
# test_cli_basics.sh - --version/--help content, exit codes, BLAS kernel selection
# through re-exec, user-set OPENBLAS_CORETYPE respected, thread count override.
set -euo pipefail
NS=${NS_BIN:?NS_BIN not set (run through ctest)}
fail() { echo "FAIL: $*"; exit 1; }
pass=0
ok() { pass=$((pass+1)); }

v=$("$NS" --version)
for key in "normsweep " "commit:" "hdf5:" "mpi:" "openblas:" "kernel:"; do
  grep -q "^$key" <<<"$v" || fail "--version lacks '$key': $v"
done
grep -q "(parallel)" <<<"$v" || fail "HDF5 is not parallel: $v"; ok

h=$("$NS" --help)
grep -q "^  bench " <<<"$h" || fail "--help does not list bench"; ok

set +e
"$NS" no-such-command 2>/tmp/ns_cli_err.$$; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown command exit $rc, expected 2"
grep -q "unknown command 'no-such-command'" /tmp/ns_cli_err.$$ || fail "message: $(cat /tmp/ns_cli_err.$$)"
rm -f /tmp/ns_cli_err.$$; ok

# The re-exec path: force it, and the kernel must be the best one for this CPU.
k=$(env -u OPENBLAS_CORETYPE NORMSWEEP_BLAS_FORCE_REEXEC=1 "$NS" --version | grep '^kernel:')
grep -qiE "kernel: +(SkylakeX|Haswell) \(selected\), 1 thread$" <<<"$k" || fail "forced selection: $k"; ok

# A user's OPENBLAS_CORETYPE is respected.
k=$(OPENBLAS_CORETYPE=Prescott "$NS" --version | grep '^kernel:')
grep -q "Prescott (user)" <<<"$k" || fail "user kernel not respected: $k"; ok

# Thread count: one by default, overridable.
k=$(env -u OPENBLAS_NUM_THREADS "$NS" --version | grep '^kernel:')
grep -q ", 1 thread$" <<<"$k" || fail "default threads: $k"
k=$(NORMSWEEP_BLAS_THREADS=2 "$NS" --version | grep '^kernel:')
grep -q ", 2 threads$" <<<"$k" || fail "NORMSWEEP_BLAS_THREADS=2: $k"; ok

# bench --sgemm prints one JSON line with a positive GFLOP/s.
b=$("$NS" bench --sgemm 64 --reps 1)
grep -qE '^\{"bench":"sgemm","n":64,.*"gflops":[0-9]+\.[0-9]' <<<"$b" || fail "bench: $b"; ok

echo "$pass passed, 0 failed"
