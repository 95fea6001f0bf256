#!/usr/bin/env bash
# test_run_bad_input.sh - `normsweep run` refuses bad input before writing anything:
# a data set that is missing, corrupt, a FIFO or a symlink loop, a spec that does
# not exist, bad options, paths next to OUT that cannot be used. Each: one clear
# message naming the file, exit 2, no output file, no checkpoint dir, and never a
# hang (every command runs under `timeout`).
set -euo pipefail
NS=${NS_BIN:?run through ctest}
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_badrun.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

expect_refusal() { # name, spec-file, grep pattern for the message
  local name=$1 spec=$2 pat=$3 rc=0
  timeout 60 "$NS" run "$spec" -o out.h5 2>err.txt || rc=$?
  [ $rc -eq 2 ] || fail "$name: exit $rc, expected 2 ($(cat err.txt))"
  grep -q -- "$pat" err.txt || fail "$name: message lacks '$pat': $(cat err.txt)"
  [ ! -e out.h5 ] && [ ! -e out.h5.ckpt ] || fail "$name: wrote output"
  ok "$name: $(head -n 1 err.txt)"
}

spec() { # data-string
  printf 'name: t\ndata: "%s"\ntrain: {steps: 5, batch: 4}\ngrid: {lr: [0.1], arch: ["mlp:784-8-10"], norm: [none], seed: [0]}\n' "$1" > s.yaml
}

spec "mnist:$T/nothing-here"
expect_refusal "missing data directory" s.yaml "nothing-here"

mkdir idx
printf 'not an idx file at all' > idx/train-images-idx3-ubyte
printf 'x' > idx/train-labels-idx1-ubyte
printf 'x' > idx/t10k-images-idx3-ubyte
printf 'x' > idx/t10k-labels-idx1-ubyte
spec "mnist:$T/idx"
expect_refusal "corrupt IDX files" s.yaml "idx"

# headers fine (validation passes), pixel data cut short: the load itself fails
mkdir trunc
hdr() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 0 0 8 "$1")"; be32 "$2"; }
be32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1>>24&255)) $(($1>>16&255)) $(($1>>8&255)) $(($1&255)))"; }
for part in train t10k; do
  { hdr 3 10; be32 28; be32 28; head -c 100 /dev/zero; } > trunc/$part-images-idx3-ubyte
  { hdr 1 10; head -c 10 /dev/zero; } > trunc/$part-labels-idx1-ubyte
done
spec "mnist:$T/trunc"
expect_refusal "truncated IDX pixels" s.yaml "train-images-idx3-ubyte"

expect_refusal "spec file missing" "$T/no-such.yaml" "no-such.yaml"

# a FIFO as a data file: opening it for reading once waited for a writer forever
# (plan and run hung); a symlink loop as the data directory or as a data file
mkdir fifo
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  mkfifo fifo/$f
done
spec "mnist:$T/fifo"
rc=0; timeout 60 "$NS" plan s.yaml >/dev/null 2>err.txt || rc=$?
[ $rc -eq 2 ] && grep -q "train-labels-idx1-ubyte: not a regular file\|train-images-idx3-ubyte: not a regular file" err.txt \
  || fail "plan with FIFO data: exit $rc: $(cat err.txt)"
ok "FIFO data files (plan): $(head -n 1 err.txt)"
expect_refusal "FIFO data files (run)" s.yaml "not a regular file"
ln -s loop loop
spec "mnist:$T/loop"
expect_refusal "symlink loop as the data directory" s.yaml "Too many levels of symbolic links"
mkdir loopfile
ln -s "$T/loopfile/train-images-idx3-ubyte" loopfile/train-images-idx3-ubyte
spec "mnist:$T/loopfile"
expect_refusal "symlink loop as a data file" s.yaml "train-images-idx3-ubyte: cannot open: Too many levels"

rc=0; "$NS" run s.yaml 2>err.txt || rc=$?
[ $rc -eq 2 ] || fail "missing -o: exit $rc"; ok "missing -o: exit 2"
rc=0; "$NS" run s.yaml -o out.h5 --resume --force 2>err.txt || rc=$?
[ $rc -eq 2 ] && grep -q "exclude" err.txt || fail "--resume --force: exit $rc $(cat err.txt)"
ok "--resume with --force refused"

# ---- the names next to OUT (OUT.ckpt/, OUT.progress.json) must fit a path:
# refused at start-up, never cut (a cut name once made a stray directory)
good() { # a small valid spec on synthetic data
  printf 'name: t\ndata: "synthetic-cls:n=64,test=16,c=1,h=4,w=4,classes=3"\ntrain: {steps: 5, batch: 4}\ngrid: {lr: [0.1, 0.2], arch: ["mlp:16-8-3"], norm: [none], seed: [0]}\n' > good.yaml
}
good
long=$T/long
while [ ${#long} -lt 3900 ]; do long=$long/$(printf 'd%.0s' $(seq 99)); done
mkdir -p "$long"
name=$(printf 'o%.0s' $(seq $((4093 - ${#long} - 1))))
rc=0; "$NS" run good.yaml -o "$long/$name" 2>err.txt || rc=$?
[ $rc -eq 2 ] || fail "4093-character -o: exit $rc, expected 2 ($(head -c 300 err.txt))"
grep -q "would be [0-9]* characters" err.txt || fail "long -o: message $(head -c 300 err.txt)"
[ -z "$(ls -A "$long")" ] || fail "long -o: wrote $(ls -A "$long" | head -c 100)"
ok "a 4093-character -o: refused at start-up, nothing created"

# ---- the run list cannot be allocated: fail before writing, never run the
# sweep unsharded (a NULL skip list once meant 'skip nothing')
rc=0; NORMSWEEP_FAULT=skip-list-alloc "$NS" run good.yaml -o out.h5 --shard 0/2 2>err.txt || rc=$?
[ $rc -eq 1 ] && grep -q "cannot allocate the run list" err.txt \
  || fail "skip list allocation failure: exit $rc: $(cat err.txt)"
[ ! -e out.h5 ] && [ ! -e out.h5.ckpt ] || fail "skip list allocation failure: wrote output"
ok "a failed run-list allocation: exit 1 before anything is written"

# ---- the command line: malformed values are refused, never half-read
listing() { ls -A --full-time | grep -v ' err.txt$'; }
refuse_args() { # name, grep pattern, run arguments...: exit 2, the directory unchanged
  local name=$1 pat=$2 rc=0 before; shift 2
  before=$(listing)
  timeout 60 "$NS" run "$@" 2>err.txt || rc=$?
  [ $rc -eq 2 ] || fail "$name: exit $rc, expected 2 ($(cat err.txt))"
  grep -q -- "$pat" err.txt || fail "$name: message lacks '$pat': $(cat err.txt)"
  [ "$(listing)" = "$before" ] || fail "$name: wrote output: $(diff <(echo "$before") <(listing))"
  ok "$name: $(head -n 1 err.txt)"
}
refuse_args "run without -o says so" "missing -o OUT" good.yaml
refuse_args "-o twice" "given twice" good.yaml -o out.h5 --output=other.h5
refuse_args "empty --output=" "needs a file name" good.yaml --output=
refuse_args "--shard 0/2junk" "--shard needs I/N" good.yaml -o out.h5 --shard 0/2junk
refuse_args "--shard 1.5/2" "--shard needs I/N" good.yaml -o out.h5 --shard 1.5/2
refuse_args "--shard 2/2" "--shard needs I/N" good.yaml -o out.h5 --shard 2/2
refuse_args "--progress-every nan" "--progress-every needs" good.yaml -o out.h5 --progress-every nan
refuse_args "--progress-every inf" "--progress-every needs" good.yaml -o out.h5 --progress-every=inf
refuse_args "--progress-every without a value" "needs a value" good.yaml -o out.h5 --progress-every
refuse_args "--flush-seconds -1" "--flush-seconds needs seconds >= 0" good.yaml -o out.h5 --flush-seconds -1
refuse_args "--flush-seconds nan" "--flush-seconds needs seconds >= 0" good.yaml -o out.h5 --flush-seconds nan
refuse_args "--checkpoint-seconds 5s" "--checkpoint-seconds needs seconds >= 0" good.yaml -o out.h5 --checkpoint-seconds 5s

# ---- the names next to OUT: checked at start-up, before anything is written
: > out.h5.ckpt
refuse_args "OUT.ckpt is a regular file" "out.h5.ckpt (the checkpoint directory) is a regular file, not a directory" good.yaml -o out.h5
rm out.h5.ckpt
mkdir out.h5.progress.json
refuse_args "OUT.progress.json is a directory" "out.h5.progress.json (the progress file) is a directory, not a regular file" good.yaml -o out.h5
rmdir out.h5.progress.json
refuse_args "OUT in a directory that does not exist" "does not exist" good.yaml -o nodir/out.h5
# a 0-byte (or any non-HDF5) file given to --resume is refused and left as it was
: > out.h5
refuse_args "--resume on a 0-byte file" "empty file (0 bytes): not an HDF5 file" good.yaml -o out.h5 --resume
printf 'not hdf5 at all' > out.h5
refuse_args "--resume on a text file" "no HDF5 signature" good.yaml -o out.h5 --resume
rm out.h5

# ---- --output=FILE runs
rc=0; timeout 120 "$NS" run good.yaml --output=out.h5 --quiet 2>err.txt || rc=$?
[ $rc -eq 0 ] && [ -s out.h5 ] || fail "--output=out.h5: exit $rc: $(cat err.txt)"
ok "--output=FILE accepted"

echo "$pass passed, 0 failed"
