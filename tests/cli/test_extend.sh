#!/usr/bin/env bash
# test_extend.sh - `normsweep run --extend` (docs/cli.md, "Extending a sweep"):
#  1. a finished file + a new norm and more seeds = a fresh run of the extended
#     spec, every trace bitwise (h5same), at 1 and 2 ranks; no run of the old
#     file ran again: the log counts only the new runs, and each kept run's
#     wall_s/train_s/rank are the old file's, bit for bit
#  2. overrides on the command line; search sections (per_grid_point, count)
#  3. refusals - a changed setting, a dropped value, no OUT, --force, --shard,
#     a count search whose grid changes - exit 2 with one line naming the key,
#     OUT's bytes and mtime unchanged, nothing created
#  4. a partial (SIGKILLed) file: its finished runs are copied, the run it was
#     in continues from its checkpoint; the result equals a fresh run
#  5. killed during the extension (after the carry, in the middle of it, in the
#     sweep, before the commit): OUT untouched; --extend or --resume again
#     gives the same file as a fresh run
# ctest-labels: mpi slow
# ctest-timeout: 900
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
export PYTHONPATH="$SRC/tests/tools${PYTHONPATH:+:$PYTHONPATH}"  # h5text.py: the file's text
SAME="/usr/bin/python3 $SRC/tests/tools/h5same.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_extend.XXXXXX")
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T
cd "$T"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }
# run N ARGS...: the sweep on N ranks, its log (stderr) in log.txt
run() { mpirun --oversubscribe -n "$1" "$NS" run "${@:2}" 2>log.txt; }
same() { $SAME "$1" "$2" >/dev/null || { $SAME "$1" "$2"; fail "$3"; }; }
fingerprint() { echo "$(sha256sum < "$1") $(stat -c %Y.%y "$1")"; }

# the sweep: a tiny MLP on synthetic data, every probe that shapes the layout
cat > a.yaml <<'EOF'
name: ext
data: "synthetic-cls:n=128,test=32,c=1,h=4,w=4,classes=3"
train: {steps: 300, batch: 16, momentum: 0.9, eval_every: 100, log_every: 1}
grid:
  lr: [0.05]
  arch: ["mlp:16-8-3"]
  norm: [none]
  seed: [0, 1]
probes:
  every: 50
  eta: {relative: [0.5, 4.0], count: 3}
  ics: {layers: all}
  activations: {units: 2}
  hessian: {iters: 3}
  thm41: true
checkpoint: {every: 100}
EOF
# + a norm (BN: more weights, tensors and act layers in the layout) and a seed
sed -e 's/norm: \[none\]/norm: [none, batch]/' -e 's/seed: \[0, 1\]/seed: [0, 1, 2]/' a.yaml > b.yaml

# kept OLD NEW [done]: every run of OLD (with "done": every finished one) is in
# NEW with the same wall_s, train_s and rank, bit for bit: copied, not run again
kept() {
  /usr/bin/python3 - "$@" <<'PY'
import sys, h5py, numpy as np
old, new = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
only_done = len(sys.argv) > 3
from h5text import text
keys = ("lr", "arch", "norm", "seed", "batch", "momentum", "weight_decay", "init", "random_sample")
def table(f):
    cols = [text(f[k]) for k in keys]
    return [tuple(str(c[i]) for c in cols) for i in range(len(cols[0]))]
where = {k: j for j, k in enumerate(table(new))}
status = text(old["status"])
n = 0
for i, k in enumerate(table(old)):
    if only_done and status[i] not in ("done", "diverged"):
        continue
    j = where[k]
    for v in ("wall_s", "train_s", "rank", "status"):
        a, b = old[v][i], new[v][j]
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (v, i, j, a, b)
    n += 1
assert n > 0
history = new.attrs["history"]
assert "run --extend" in (history.decode() if isinstance(history, bytes) else history), history
print(n)
PY
}

# 1. finished file, extended, at 1 and 2 ranks
run 2 b.yaml -o ref_b.h5 --quiet
for n in 1 2; do
  run "$n" a.yaml -o f$n.h5 --quiet
  cp -p f$n.h5 f${n}_old.h5
  run "$n" b.yaml -o f$n.h5 --extend || fail "extend at $n ranks: $(cat log.txt)"
  grep -q "6 runs (4 to run)" log.txt || fail "banner: $(cat log.txt)"
  grep -q "4 done, 0 diverged, 0 failed, 0 stopped, 0 pending, 2 skipped" log.txt ||
    fail "summary: $(cat log.txt)"
  same ref_b.h5 f$n.h5 "extended file at $n ranks differs from a fresh run"
  [ "$(kept f${n}_old.h5 f$n.h5)" = 2 ] || fail "the old runs were not kept"
  ls f$n.h5.* 2>/dev/null | grep -v progress.json && fail "left behind: $(ls f$n.h5.*)"
  ok "extend a finished file at $n ranks = fresh run; only the 4 new runs ran"
done
run 1 b.yaml -o f1.h5 --extend || fail "--extend to the same spec: $(cat log.txt)"
grep -q "6 runs (0 to run)" log.txt || fail "--extend to the same spec: $(cat log.txt)"
same ref_b.h5 f1.h5 "--extend with nothing to add changed the file"
ok "--extend with nothing to add: an ordinary resume, the file unchanged"

# 2a. command-line overrides
run 1 a.yaml -o o.h5 --quiet
run 2 a.yaml 'grid.seed=[0,1,2]' 'grid.norm=[none,batch]' -o o.h5 --extend --quiet
run 2 a.yaml 'grid.seed=[0,1,2]' 'grid.norm=[none,batch]' -o ref_o.h5 --quiet
same ref_o.h5 o.h5 "extend with overrides differs from a fresh run with them"
ok "extend with command-line overrides = fresh run"

# 2b. search: per_grid_point 2 -> 3 with a new norm; count 3 -> 5
search() { # $1 = the search section; $2 = the norms
  sed "s/norm: \[none\]/norm: [$2]/" a.yaml
  echo "search: $1"
}
search "{per_grid_point: 2, seed: 7, lr: {log_uniform: [0.01, 0.1]}}" none > s1.yaml
search "{per_grid_point: 3, seed: 7, lr: {log_uniform: [0.01, 0.1]}}" "none, batch" > s2.yaml
search "{count: 3, seed: 7, weight_decay: {uniform: [0, 0.001]}}" "none, batch" > c1.yaml
search "{count: 5, seed: 7, weight_decay: {uniform: [0, 0.001]}}" "none, batch" > c2.yaml
for p in s c; do
  run 1 ${p}1.yaml -o $p.h5 --quiet
  cp $p.h5 ${p}_old.h5
  run 2 ${p}2.yaml -o $p.h5 --extend --quiet || fail "extend search $p: $(cat log.txt)"
  run 2 ${p}2.yaml -o ref_$p.h5 --quiet
  same ref_$p.h5 $p.h5 "extended search ($p) differs from a fresh run"
  kept ${p}_old.h5 $p.h5 >/dev/null || fail "search $p: old runs not kept"
done
ok "search: more per_grid_point samples and a norm, a larger count = fresh run"

# 3. refusals: exit 2, one line naming the setting, nothing touched
refuse() { # $1 = what the line must say; then run's arguments
  local want=$1 before rc; shift
  before=$(fingerprint f1.h5)
  set +e; run "${RANKS:-2}" "$@" --quiet; rc=$?; set -e
  [ $rc -eq 2 ] || fail "$*: exit $rc (expected 2): $(cat log.txt)"
  # one line from normsweep (mpirun adds its own report of the exit code)
  [ "$(grep -c '^normsweep' log.txt)" -eq 1 ] || fail "$*: not one line: $(cat log.txt)"
  grep -q -- "$want" log.txt || fail "$*: the message does not say '$want': $(cat log.txt)"
  [ "$(fingerprint f1.h5)" = "$before" ] || fail "$*: the file changed"
  [ ! -e f1.h5.extending ] && [ ! -e f1.h5.extending.ckpt ] || fail "$*: created files"
  echo "   refused: $(grep '^normsweep' log.txt)"
}
refuse "train.steps = 300, b.yaml gives 200" b.yaml train.steps=200 -o f1.h5 --extend
refuse "probes (schedule) = every: 50" b.yaml probes.every=25 -o f1.h5 --extend
refuse "probes.hessian" b.yaml probes.hessian.iters=4 -o f1.h5 --extend
refuse "data_seed" b.yaml data_seed=3 -o f1.h5 --extend
refuse "drops run 2 of f1.h5 .*seed [01] instead of 2" b.yaml 'grid.seed=[0,1]' -o f1.h5 --extend
refuse "drops run 3 of f1.h5 .*norm none instead of batch" b.yaml 'grid.norm=[none]' -o f1.h5 --extend
refuse "lr 0.06 instead of 0.05" b.yaml 'grid.lr=[0.06]' -o f1.h5 --extend
refuse "does not exist" b.yaml -o nothing.h5 --extend
# (options are read before MPI starts: every rank says it; one rank here)
RANKS=1 refuse "exclude each other" b.yaml -o f1.h5 --extend --force
RANKS=1 refuse "exclude each other" b.yaml -o f1.h5 --extend --shard 0/2
# count: run k picks its seed (norm, ...) from the grid list, so a longer list
# moves old runs (here sample 1 goes from seed 1 to seed 2: `normsweep plan`)
cp c.h5 c_keep.h5
set +e; run 1 c2.yaml 'grid.seed=[0,1,2]' -o c.h5 --extend --quiet; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "drops run 5 of c.h5 .*random_sample=1).*seed 2 instead of 1" log.txt ||
  fail "count search with a new seed: $rc $(cat log.txt)"
cmp -s c.h5 c_keep.h5 || fail "refused count extension changed the file"
ok "refusals: exit 2, one line naming the key, nothing touched"

# 4. a partial file: SIGKILL while run 1 runs (one rank: run 0 is done once
#    run 1 has a checkpoint), then extend it
cat > p1.yaml <<'EOF'
name: slow
data: "synthetic-cls:n=128,test=32,c=1,h=4,w=4,classes=3"
train: {steps: 60000, batch: 16, momentum: 0.9, eval_every: 20000, log_every: 20}
grid: {lr: [0.05], arch: ["mlp:16-8-3"], norm: [none], seed: [0, 1, 2]}
probes: {every: 20000, eta: {count: 2}}
checkpoint: {every: 1000}
EOF
sed 's/seed: \[0, 1, 2\]/seed: [0, 1, 2, 3]/' p1.yaml > p2.yaml
run 2 p2.yaml -o ref_p.h5 --quiet
# kill_when FILE ARGS...: run ARGS on one rank, SIGKILL it once FILE exists
kill_when() {
  local want=$1; shift
  "$NS" run "$@" --quiet 2>log.txt & local pid=$!
  for _ in $(seq 1 1200); do [ -e "$want" ] && break; sleep 0.05; done
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  [ -e "$want" ] || fail "$want never appeared: $(cat log.txt)"
}
kill_when k.h5.ckpt/run_00001.ckpt p1.yaml -o k.h5
"$NS" status --json k.h5 > st.json
/usr/bin/python3 -c "
import json; s = [r['status'] for r in json.load(open('st.json'))['runs']]
assert s[0] == 'done' and s[1] != 'done' and s[2] == 'pending', s" ||
  fail "not the partial file wanted: $(cat st.json)"
cp k.h5 k_old.h5
run 2 p2.yaml -o k.h5 --extend || fail "extend partial: $(cat log.txt)"
grep -q "1 finished runs copied, 1 continue from their checkpoints" log.txt ||
  fail "partial: $(cat log.txt)"
same ref_p.h5 k.h5 "extended partial file differs from a fresh run"
[ "$(kept k_old.h5 k.h5 done)" = 1 ] || fail "partial: the done run was not kept"
ok "extend a killed file: done run copied, run 1 continued from its checkpoint = fresh run"

# 5. killed during the extension: OUT untouched, then --extend/--resume finish it
for point in kill-after-carry kill-mid-carry kill-before-commit; do
  for again in --extend --resume; do
    cp -p f2_old.h5 x.h5
    rm -rf x.h5.*
    before=$(fingerprint x.h5)
    set +e; NORMSWEEP_FAULT=$point run 2 b.yaml -o x.h5 --extend --quiet; rc=$?; set -e
    [ $rc -ne 0 ] || fail "$point: the job was not killed"
    [ "$(fingerprint x.h5)" = "$before" ] || fail "$point: OUT changed"
    [ -e x.h5.extending ] || fail "$point: no x.h5.extending"
    run 2 b.yaml -o x.h5 $again || fail "$point then $again: $(cat log.txt)"
    same ref_b.h5 x.h5 "$point, then $again: differs from a fresh run"
    [ ! -e x.h5.extending ] || fail "$point, then $again: x.h5.extending left"
    [ $point != kill-before-commit ] || grep -q "(0 to run)" log.txt ||
      fail "$point: runs ran again: $(cat log.txt)"
    ok "$point, then $again: OUT untouched until the end, = fresh run"
  done
done
# SIGKILL in the middle of the extended sweep (one rank, a new run checkpointed)
run 2 p1.yaml -o y.h5 --quiet
before=$(fingerprint y.h5)
kill_when y.h5.extending.ckpt/run_00003.ckpt p2.yaml -o y.h5 --extend
[ "$(fingerprint y.h5)" = "$before" ] || fail "mid-sweep kill: OUT changed"
cp -rp y.h5.extending.ckpt abandoned.ckpt
run 2 p2.yaml -o y.h5 --resume || fail "resume after a mid-sweep kill: $(cat log.txt)"
same ref_p.h5 y.h5 "killed mid-extension + --resume differs from a fresh run"
ok "SIGKILL in the extended sweep, then --resume = fresh run"

# an abandoned extension (its file deleted, its checkpoints left): a new one
# starts without them (so does any new file, e.g. run --force)
run 2 p1.yaml -o y.h5 --force --quiet
mv abandoned.ckpt y.h5.extending.ckpt
run 2 p2.yaml -o y.h5 --extend || fail "extend over old checkpoints: $(cat log.txt)"
grep -q "0 continue from their checkpoints" log.txt || fail "old checkpoints: $(cat log.txt)"
same ref_p.h5 y.h5 "extension over an abandoned one's checkpoints differs from a fresh run"
ok "checkpoints of an abandoned extension are not used"

echo "$pass passed, 0 failed"
