#!/usr/bin/env bash
# test_spec_limits.sh - sizes a run cannot survive (issue 17, row 12) are refused
# by `plan` and `run` alike, before anything is written: the file:line:col
# message, exit 2, no output file, no checkpoint directory, no progress file.
# ctest-timeout: 60
set -euo pipefail
NS=${NS_BIN:?run through ctest}
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_limits.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

refused() { # name, message pattern; the spec is s.yaml
  local name=$1 pat=$2 rc=0
  "$NS" plan s.yaml >out.txt 2>err.txt || rc=$?
  [ $rc -eq 2 ] || fail "$name: plan exit $rc, expected 2 ($(cat err.txt))"
  [ ! -s out.txt ] || fail "$name: plan printed a table"
  grep -q -- "$pat" err.txt || fail "$name: plan message lacks '$pat': $(cat err.txt)"
  rc=0
  "$NS" run s.yaml -o out.h5 2>err.txt || rc=$?
  [ $rc -eq 2 ] || fail "$name: run exit $rc, expected 2 ($(cat err.txt))"
  grep -q -- "$pat" err.txt || fail "$name: run message lacks '$pat': $(cat err.txt)"
  [ -z "$(ls -A | grep -v -e '^s.yaml$' -e '^out.txt$' -e '^err.txt$')" ] ||
    fail "$name: run wrote $(ls -A)"
  ok "$name: $(head -n 1 err.txt)"
}

spec() { # train, grid
  printf 'data: %s\ntrain: %s\ngrid: %s\n' "$1" "$2" "$3" >s.yaml
}

spec fashion-mnist "{steps: 1000000000000}" '{arch: "mlp:784-10", norm: none, lr: 0.1}'
refused "steps 1e12" "s.yaml:2:16: train.steps: 1000000000000 is over the limit of 1000000000"
spec fashion-mnist "{steps: 10}" '{arch: "vgg11:width=1000", norm: none, lr: 0.1}'
refused "vgg11:width=1000" "s.yaml:3:14: grid.arch\[0\]: 'vgg11:width=1000' has 9.22e+12 parameters"
spec synthetic-cls:n=64,test=16,c=16,h=1,w=1,classes=3 "{steps: 10, batch: 8}" \
  '{arch: "mlp:16-65536-65536-3", norm: none, lr: 0.1}'
refused "mlp:16-65536-65536-3" "s.yaml:3:14: grid.arch\[0\]: 'mlp:16-65536-65536-3' has 4.3e+09 parameters"
spec fashion-mnist "{steps: 10}" '{arch: "vgg11:width=0.125", norm: "group:groups=3", lr: 0.1}'
refused "group:groups=3 on 8 channels" "groups=3 does not divide the 8 channels of layer 1"
spec fashion-mnist "{steps: 10}" '{arch: "mlp:784-10", norm: none, lr: 0.1, seed: {count: 2, start: 9223372036854775807}}'
refused "seed start near INT64_MAX" "s.yaml:3:73: grid.seed.start: 9223372036854775807 + 2 seeds go past"
spec fashion-mnist "{steps: 10}" '{arch: "mlp:784-10", norm: none, lr: {log_range: [0.1, 0.1], count: 3}}'
refused "log_range [0.1, 0.1] count 3" "repeats the value 0.1 (duplicate runs"
