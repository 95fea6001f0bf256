#!/usr/bin/env bash
# test_data_bench.sh - `normsweep bench --data`: one JSON line with the right
# counts for a synthetic set, a generated CIFAR-10 directory and (when the
# Debian package is present) Fashion-MNIST; exit codes 2 (bad spec) and 1
# (missing files) with a message naming the problem.
set -u
BIN=${NS_BIN:?NS_BIN not set}
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_cli_data.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PY=/usr/bin/python3
field() { # field JSON KEY -> value (python if present, else sed)
    if [ -x "$PY" ]; then "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
    else echo "$1" | sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" | tr -d '"'; fi
}

out=$("$BIN" bench --data synthetic-cls:n=64,test=16,classes=3 --reps 2) || fail "synthetic bench exit $?"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "not one line: $out"
[ "$(field "$out" bench)" = data ] || fail "bench field: $out"
[ "$(field "$out" n_train)" = 64 ] || fail "n_train: $out"
[ "$(field "$out" n_test)" = 16 ] || fail "n_test: $out"
[ "$(field "$out" nclasses)" = 3 ] || fail "nclasses: $out"
[ "$(field "$out" data)" = "synthetic-cls:n=64,test=16,c=3,h=8,w=8,classes=3,noise=1" ] || fail "canonical: $out"

# CIFAR-10 layout: 5 train files of 2 records, a test file of 1 (labels 0..9, zero pixels)
mkdir "$T/c"
rec() { printf "\\x0$1"; head -c 3072 /dev/zero; }
for k in 1 2 3 4 5; do { rec $((k % 10)); rec 1; } > "$T/c/data_batch_$k.bin"; done
rec 7 > "$T/c/test_batch.bin"
out=$("$BIN" bench --data "cifar10:$T/c" --reps 1) || fail "cifar bench exit $?"
[ "$(field "$out" n_train)" = 10 ] || fail "cifar n_train: $out"
[ "$(field "$out" n_test)" = 1 ] || fail "cifar n_test: $out"
[ "$(field "$out" file_mb)" = 0.03 ] || fail "cifar file_mb (11 x 3073 B): $out"

# a CIFAR file whose size is not a multiple of 3073: exit 1, message names file and offset
head -c 3000 /dev/zero >> "$T/c/test_batch.bin"
err=$("$BIN" bench --data "cifar10:$T/c" 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] || fail "bad cifar size: exit $rc"
case "$err" in *test_batch.bin*"not a multiple of 3073"*"byte offset 3073"*) ;; *) fail "message: $err";; esac

err=$("$BIN" bench --data nosuchset 2>&1 >/dev/null); rc=$?
[ $rc = 2 ] || fail "unknown set: exit $rc"
case "$err" in *"unknown data set 'nosuchset'"*) ;; *) fail "message: $err";; esac
"$BIN" bench --data "mnist:$T/none" >/dev/null 2>&1; rc=$?
[ $rc = 1 ] || fail "missing dir: exit $rc"

if [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    out=$("$BIN" bench --data fashion-mnist --reps 1) || fail "fashion-mnist bench exit $?"
    [ "$(field "$out" n_train)" = 60000 ] || fail "fmnist n_train: $out"
    [ "$(field "$out" n_test)" = 10000 ] || fail "fmnist n_test: $out"
    echo "$out"
else
    echo "NOTE: dataset-fashion-mnist not installed: real-data bench skipped"
fi
echo "data bench: all checks passed"
