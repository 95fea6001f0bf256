#!/usr/bin/env bash
# test_spec_cli.sh - the sweep-format features as users meet them on the command
# line: Hydra-style overrides for plan and run (recorded in the results file,
# needed again by --resume, carried through shards and merge), plan before the
# data is downloaded (a warning and the published sizes; run refuses), random
# search, and the deprecated random section's warning.
# ctest-timeout: 240
set -euo pipefail
NS=${NS_BIN:?run through ctest}
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_speccli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }
attr() { # file attribute
  $PY -c "import h5py,sys; v=h5py.File(sys.argv[1],'r').attrs[sys.argv[2]]; print(v.decode() if isinstance(v,bytes) else v)" "$1" "$2"
}

# ---- plan before the data is there: a warning, costs from the published size
cat >cifar.yaml <<'EOF'
data: cifar10:/nonexistent/cifar-10-batches-bin
train: {steps: 100, batch: 128}
grid: {arch: ["vgg11:width=0.25"], norm: [none, batch], lr: [0.1]}
EOF
rc=0; "$NS" plan cifar.yaml >out.txt 2>err.txt || rc=$?
[ $rc -eq 0 ] || fail "plan without data: exit $rc ($(cat err.txt))"
grep -q "^cifar.yaml:1:7: warning: data: the data set cannot be read (.*nonexistent.*): costs use its published size (50000 train, 10000 test samples)" err.txt ||
  fail "plan without data: warning: $(cat err.txt)"
grep -q "data cifar10:/nonexistent/cifar-10-batches-bin (50000 train, 10000 test, 3x32x32, classes 10), 2 runs" out.txt ||
  fail "plan without data: header: $(head -1 out.txt)"
[ "$(grep -c '^ *[0-9]  ' out.txt)" -eq 2 ] || fail "plan without data: rows: $(cat out.txt)"
ok "plan without data: warning + table on the published size"
rc=0; "$NS" run cifar.yaml -o c.h5 2>err.txt || rc=$?
[ $rc -eq 2 ] && [ ! -e c.h5 ] && [ ! -e c.h5.ckpt ] || fail "run without data: exit $rc, $(ls)"
ok "run without data: exit 2, nothing written"

# ---- overrides in plan: the table follows them; mistakes are named by position
cat >s.yaml <<'EOF'
data: synthetic-dln:n=64,d=4
train: {steps: 20, batch: 16}
grid: {arch: "dln:depth=2,width=4", norm: [none, batch], lr: 0.01}
EOF
"$NS" plan s.yaml train.steps=7 'grid.seed=[0,1]' >out.txt
grep -q "^steps 7;" out.txt && grep -q ", 4 runs$" out.txt || fail "plan overrides: $(cat out.txt)"
rc=0; "$NS" plan s.yaml train.steps=-1 'grid.norm=[none, bn]' >out.txt 2>err.txt || rc=$?
[ $rc -eq 2 ] || fail "bad override: exit $rc"
grep -q "^<override 1>:1:13: train.steps: must be >= 1, got -1$" err.txt &&
  grep -q "^<override 2>:1:18: grid.norm\[1\]: norm \"bn\": unknown normalization 'bn' (did you mean 'batch'?)$" err.txt ||
  fail "bad override messages: $(cat err.txt)"
ok "plan: overrides change the table; bad ones are named <override K>:1:COL"

# ---- run records the overrides; --resume needs the same ones
"$NS" run s.yaml -o o.h5 train.steps=7 'grid.seed=[0,1]' --quiet
attr o.h5 spec_text >text.txt
grep -q "^#   train.steps=7$" text.txt && grep -q "^#   grid.seed=\[0,1\]$" text.txt &&
  grep -q "steps: 7" text.txt || fail "spec_text: $(cat text.txt)"
attr o.h5 spec_canonical | grep -q '"train":{"steps":7,.*"seed":\[0,1\]' || fail "spec_canonical"
$PY -c "import h5py; f=h5py.File('o.h5','r'); assert list(f['steps'][()])==[7]*4, f['steps'][()]; assert list(f['seed'][()])==[0,1,0,1]"
ok "run: spec_text lists the overrides above the edited spec, spec_canonical follows them"
rc=0; "$NS" run s.yaml -o o.h5 --resume --quiet 2>err.txt || rc=$?
[ $rc -eq 2 ] && grep -q "different sweep spec" err.txt || fail "resume without the overrides: exit $rc $(cat err.txt)"
"$NS" run s.yaml -o o.h5 --resume --quiet train.steps=7 'grid.seed=[0,1]'
ok "--resume: refused without the overrides, accepted with them"

# ---- shards with overrides merge into the single-job file (merge re-reads spec_text)
mpirun -n 2 "$NS" run s.yaml -o sh0.h5 --shard 0/2 --quiet train.steps=7 'grid.seed=[0,1]'
mpirun -n 2 "$NS" run s.yaml -o sh1.h5 --shard 1/2 --quiet train.steps=7 'grid.seed=[0,1]'
"$NS" merge m.h5 sh0.h5 sh1.h5 >/dev/null
[ "$(attr m.h5 spec_canonical)" = "$(attr o.h5 spec_canonical)" ] || fail "merged canonical differs"
$PY -c "
import h5py, numpy as np
a, b = h5py.File('o.h5', 'r'), h5py.File('m.h5', 'r')
for k in ('train_loss', 'grad_norm', 'status', 'lr', 'seed'):
    assert np.array_equal(a[k][()], b[k][()]), k
"
ok "shards with overrides merge into the single-job file"

# ---- random search: count is the total; the old random section still works, warns
cat >search.yaml <<'EOF'
data: synthetic-dln:n=64,d=4
train: {steps: 5, batch: 16}
grid: {arch: "dln:depth=2,width=4", norm: [none, batch], seed: [0, 1]}
search: {count: 5, seed: 3, lr: {log_uniform: [1.0e-3, 1.0e-1]}, momentum: {uniform: [0, 0.9]}}
EOF
"$NS" plan search.yaml >out.txt 2>err.txt
grep -q ", 5 runs$" out.txt && [ ! -s err.txt ] || fail "search count: $(cat out.txt err.txt)"
cat >old.yaml <<'EOF'
data: synthetic-dln:n=64,d=4
train: {steps: 5, batch: 16}
grid: {arch: "dln:depth=2,width=4", norm: [none, batch], lr: 0.01}
random: {count: 3, lr: {log_uniform: [1.0e-3, 1.0e-1]}}
EOF
"$NS" plan old.yaml >out.txt 2>err.txt
grep -q ", 8 runs$" out.txt || fail "old random: $(cat out.txt)"
grep -q "^old.yaml:4:9: warning: random: deprecated .* search: {per_grid_point: 3, seed: 0, lr: {log_uniform: \[0.001, 0.1\]}}" err.txt ||
  fail "old random warning: $(cat err.txt)"
mpirun -n 2 "$NS" run old.yaml -o old.h5 --quiet 2>err.txt
[ "$(grep -c 'warning: random: deprecated' err.txt)" -eq 1 ] || fail "run prints the warning once: $(cat err.txt)"
ok "search.count is the total; random still works with one deprecation warning"
