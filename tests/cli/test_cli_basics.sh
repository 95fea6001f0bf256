#!/usr/bin/env bash
# test_cli_basics.sh - --version/--help content, exit codes, BLAS kernel selection
# through re-exec, user-set OPENBLAS_CORETYPE respected, thread count override;
# bad BLAS variables and malformed numbers refused with the name of what is wrong.
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

# An environment that asks for what does not happen is refused (exit 2, the
# variable named), not accepted silently.
refused() { # name, grep pattern, command...
  local name=$1 pat=$2 rc=0; shift 2
  "$@" >/dev/null 2>/tmp/ns_cli_err.$$ || rc=$?
  [ $rc -eq 2 ] && grep -q -- "$pat" /tmp/ns_cli_err.$$ || fail "$name: exit $rc: $(cat /tmp/ns_cli_err.$$)"
  rm -f /tmp/ns_cli_err.$$; ok
}
refused "OPENBLAS_CORETYPE=bogus" "OPENBLAS_CORETYPE=bogus: OpenBLAS runs its" env OPENBLAS_CORETYPE=bogus "$NS" --version
refused "NORMSWEEP_BLAS_THREADS=abc" "NORMSWEEP_BLAS_THREADS='abc'" env NORMSWEEP_BLAS_THREADS=abc "$NS" --version
refused "NORMSWEEP_BLAS_THREADS=0" "NORMSWEEP_BLAS_THREADS='0'" env NORMSWEEP_BLAS_THREADS=0 "$NS" --version
refused "OPENBLAS_NUM_THREADS=2x" "OPENBLAS_NUM_THREADS='2x'" env -u NORMSWEEP_BLAS_THREADS OPENBLAS_NUM_THREADS=2x "$NS" --version
k=$(OPENBLAS_CORETYPE=prescott "$NS" --version | grep '^kernel:')   # names are case-blind
grep -q "Prescott (user)" <<<"$k" || fail "lower-case kernel name: $k"; ok

# Malformed numbers are refused with a message naming the option.
refused "bench --reps -5" "--reps needs a whole number" "$NS" bench --sgemm 64 --reps -5
refused "bench --sgemm 64x" "--sgemm needs a whole number" "$NS" bench --sgemm 64x
refused "bench --data --reps -5" "--reps '-5' must be at least 1" "$NS" bench --data synthetic-dln --reps -5
refused "bench --batch 1.5" "--batch '1.5' is not a whole number" "$NS" bench --arch mlp:4-2 --batch 1.5
refused "bench --seed -5" "--seed '-5' is not a whole number" "$NS" bench --arch mlp:4-2 --seed -5
refused "plan --ranks 1.5" "--ranks needs a whole number" "$NS" plan "$NS_SOURCE_DIR/tests/data/sweep_small.yaml" --ranks 1.5

# A batch too large for memory is named as such, not as "N parameters".
rc=0; "$NS" bench --arch mlp:784-10 --batch 2147483647 --steps 1 >/dev/null 2>/tmp/ns_cli_err.$$ || rc=$?
[ $rc -eq 1 ] && grep -q "batch buffers of max_batch 2147483647.*use a smaller batch" /tmp/ns_cli_err.$$ \
  || fail "--batch 2147483647: exit $rc: $(cat /tmp/ns_cli_err.$$)"
rm -f /tmp/ns_cli_err.$$; ok

# bench --sgemm prints one JSON line with a positive GFLOP/s.
b=$("$NS" bench --sgemm 64 --reps 1)
grep -qE '^\{"bench":"sgemm","n":64,.*"gflops":[0-9]+\.[0-9]' <<<"$b" || fail "bench: $b"; ok

echo "$pass passed, 0 failed"
