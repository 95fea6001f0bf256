#!/usr/bin/env bash
# test_bench_probe.sh - `normsweep bench --probe`: one JSON line whose counts
# follow from the net (8 landscape evaluations; ICS evaluates every measured
# layer but the first, whose prefix is empty; 2 per Hessian iteration), times
# that are positive and consistent, and exit code 2 with a message for bad
# arguments.
set -u
BIN=${NS_BIN:?NS_BIN not set}
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: no /usr/bin/python3"; exit 77; }
field() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

out=$("$BIN" bench --probe --arch mlp:16-12-12-3 --norm batch --batch 8 --reps 3 --hessian 3) \
    || fail "exit $?"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "not one line: $out"
[ "$(field "$out" bench)" = probe ] || fail "bench: $out"
[ "$(field "$out" etas)" = 8 ] || fail "etas: $out"
[ "$(field "$out" probe_evals)" = 8 ] || fail "8 etas -> 8 evaluations: $out"
[ "$(field "$out" ics_layers)" = 3 ] || fail "3 measured layers: $out"
[ "$(field "$out" ics_evals)" = 2 ] || fail "ICS: layers 2 and 3 evaluated: $out"
[ "$(field "$out" hess_evals)" = 6 ] || fail "3 Hessian iterations -> 6 evaluations: $out"
# params: 16*12+12 + 2*12 (BN) + 12*12+12 + 2*12 + 12*3+3
[ "$(field "$out" params)" = 447 ] || fail "params: $out"
# times of a tiny net round to 0.00x ms: only check the ratios are there and positive
"$PY" - "$out" <<'PYEOF' || fail "ratios: $out"
import json, sys
d = json.loads(sys.argv[1])
for k in ("probe_per_step", "ics_eval_per_fwdbwd", "hess_iter_per_step"):
    assert d[k] > 0, k
PYEOF

# --etas changes the evaluation count; DLN: squared-error targets, 4 layers -> 3 ICS evals
out=$("$BIN" bench --probe --arch dln:depth=4,width=5 --batch 6 --reps 1 --etas 3) || fail "dln exit $?"
[ "$(field "$out" probe_evals)" = 3 ] || fail "3 etas: $out"
[ "$(field "$out" ics_evals)" = 3 ] || fail "dln ICS: $out"
[ "$(field "$out" hess_evals)" = 0 ] || fail "no --hessian: $out"

# errors: exit 2 and a message naming the problem
for args in "--arch mlp:4-3 --etas 0" "--arch mlp:4-3 --reps x" "--norm batch" \
            "--arch mlp:4-3 --bogus 1" "--arch mlp:4-3 --batch" "--arch nosuch:1 --reps 1"; do
    err=$("$BIN" bench --probe $args 2>&1 >/dev/null); rc=$?
    [ $rc = 2 ] || fail "'$args': exit $rc, expected 2 ($err)"
    [ -n "$err" ] || fail "'$args': no message"
done
err=$("$BIN" bench --probe --arch mlp:4-3 --norm nosuch --reps 1 2>&1 >/dev/null)
[ $? = 2 ] && echo "$err" | grep -q nosuch || fail "bad norm: $err"
echo "PASS"
