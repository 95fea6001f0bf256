#!/bin/bash
# test_plan.sh - `normsweep plan`: the run table of a good spec (rows, costs
# adding up), exit 2 with every file:line:col message for bad specs and no
# file created, usage errors, and every example in sweeps/ plans cleanly.
# ctest-timeout: 60
set -u
BIN=${NS_BIN:?NS_BIN not set (run through ctest)}
SRC=${NS_SOURCE_DIR:?NS_SOURCE_DIR not set}
SPECS=$SRC/tests/data/specs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ns_test_plan_XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
fail=0
check() { # check NAME STATUS DETAIL - STATUS 0 passes
    if [ "$2" -ne 0 ]; then echo "FAIL: $1"; echo "$3"; fail=1; else echo "ok: $1"; fi
}

# ---- good spec: the table, row by row
"$BIN" plan "$SPECS/good_plan.yaml" --gflops 10 >out.txt 2>err.txt
rc=$?
check "good spec exits 0" $((rc != 0)) "rc=$rc $(cat err.txt)"
check "good spec: nothing on stderr" $(( $(wc -c <err.txt) != 0 )) "$(cat err.txt)"
awk '$1 ~ /^[0-9]+$/ {print $1, $2, $3, $4, $5, $6}' out.txt >rows.txt
cat >want_rows.txt <<'ROWS'
0 0.1 mlp:784-32-10 none 0 batch=32
1 0.1 mlp:784-32-10 none 0 batch=64
2 0.01 mlp:784-32-10 none 0 batch=32
3 0.01 mlp:784-32-10 none 0 batch=64
4 0.1 mlp:784-32-10 batch 0 batch=32
5 0.1 mlp:784-32-10 batch 0 batch=64
6 0.01 mlp:784-32-10 batch 0 batch=32
7 0.01 mlp:784-32-10 batch 0 batch=64
ROWS
diff want_rows.txt rows.txt >d.txt
check "run table rows (index lr arch norm seed varied)" $? "$(cat d.txt)"
head -1 out.txt | grep -q "^sweep 'plan-test': data fashion-mnist (60000 train, 10000 test, 1x28x28, classes 10), 8 runs$"
check "header line" $? "$(head -1 out.txt)"
grep -q "^index  lr" out.txt
check "column header" $? "$(sed -n 3p out.txt)"
# seconds = GFLOP / 10, the total is the sum of the rows, batch 64 costs more than 32
awk '$1 ~ /^[0-9]+$/ { g = $(NF-1); s = $NF; if (s < g / 10 - 0.006 || s > g / 10 + 0.006) bad = 1; sum += g; cost[$1] = g }
     /^total:/ { tot = $4 + 0 }
     END { if (bad) { print "est_s != GFLOP/10"; exit 1 }
           if (tot < sum - 0.05 || tot > sum + 0.05) { print "total", tot, "!= sum", sum; exit 1 }
           if (!(cost[1] > cost[0])) { print "batch 64 not dearer than 32"; exit 1 } }' out.txt >a.txt
check "costs: est_s = GFLOP/gflops, total = sum of rows" $? "$(cat a.txt; cat out.txt)"
grep -q "^total: 8 runs, .* GFLOP, .* s on 1 rank" out.txt
check "total line" $? "$(grep total out.txt)"
"$BIN" plan "$SPECS/good_plan.yaml" --ranks 4 | grep -q "s on 4 ranks"
check "--ranks adds the wall-time estimate" $? ""

# ---- bad specs: exit 2, every message, nothing created
mkdir empty
(cd empty && "$BIN" plan "$SPECS/bad_many.yaml" >../out.txt 2>../err.txt)
rc=$?
check "bad spec exits 2" $((rc != 2)) "rc=$rc"
check "bad spec: nothing on stdout" $(( $(wc -c <out.txt) != 0 )) "$(cat out.txt)"
B=$SPECS/bad_many.yaml
cat >want.txt <<MSG
$B:5:3: train: unknown key 'stpes' (did you mean 'steps'?)
$B:5:3: train: missing key 'steps' (number of optimizer steps)
$B:6:10: train.batch: batch 70000 is larger than the training set (60000 samples in 'fashion-mnist')
$B:8:13: grid.lr[1]: learning rate must be a finite number > 0, got '-0.01'
$B:11:9: grid.seed: must not be empty
$B:12:17: probes.every: must be >= 1, got 0
MSG
diff want.txt err.txt >d.txt
check "bad spec: all messages, file:line:col, in file order" $? "$(cat d.txt)"
"$BIN" plan "$SPECS/bad_syntax.yaml" >out.txt 2>err.txt
rc=$?
check "malformed YAML exits 2" $((rc != 2)) "rc=$rc"
echo "$SPECS/bad_syntax.yaml:3:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence (started at line 2, column 12)" >want.txt
diff want.txt err.txt >d.txt
check "malformed YAML message" $? "$(cat d.txt)"
"$BIN" plan "$WORK/missing.yaml" >out.txt 2>err.txt
rc=$?
check "missing file exits 2" $((rc != 2)) "rc=$rc"
grep -q "missing.yaml: cannot open: No such file or directory" err.txt
check "missing file message" $? "$(cat err.txt)"
check "a bad spec creates no file" $(( $(ls -A empty | wc -l) != 0 )) "$(ls -A empty)"

# ---- usage
"$BIN" plan >/dev/null 2>&1; rc=$?
check "no spec: exit 2" $((rc != 2)) "rc=$rc"
"$BIN" plan --help | grep -q "usage: normsweep plan"; check "--help" $? ""
"$BIN" plan "$SPECS/good_plan.yaml" --gflops -3 >/dev/null 2>err.txt; rc=$?
check "bad --gflops: exit 2" $((rc != 2)) "rc=$rc"
"$BIN" --help | grep -q "^  plan "; check "plan listed in normsweep --help" $? ""

# ---- every example sweep plans (CIFAR ones only where their data exists)
for f in "$SRC"/sweeps/*.yaml; do
    dir=$(sed -n 's/^data: cifar10:\(.*\)$/\1/p' "$f")
    if [ -n "$dir" ] && [ ! -d "$dir" ]; then echo "skip: $f (CIFAR-10 not at $dir)"; continue; fi
    "$BIN" plan "$f" >out.txt 2>err.txt
    check "example $(basename "$f") plans" $? "$(cat err.txt)"
done

exit $fail
