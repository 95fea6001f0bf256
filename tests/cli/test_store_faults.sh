#!/usr/bin/env bash
# test_store_faults.sh - a file system that fills up, at 1 and 2 ranks
# (issue 17, row 1): never a hang, exit 1 on every rank with a message naming
# ENOSPC, no half-made results file left at OUT, and a results file that
# already exists stays readable.
#  1. too small for the layout: refused before anything is created;
#  2. the space check fooled (statvfs lies, LD_PRELOAD shim): the reservation
#     (posix_fallocate) catches it, the temporary OUT.creating is removed;
#  3. the reservation fooled too: rank 0's serial build fails writing the
#     fill, and every rank exits 1 with its error (no collective call was
#     entered); a rank stuck in I/O (rename hangs, shim): the watchdog ends
#     the job within NS_COLLECTIVE_TIMEOUT_S, every rank saying why;
#  4. room for the layout but not for checkpoints: every run fails naming
#     ENOSPC, exit 1, the results file valid and showing the failed runs;
#  5. a read-only file system: --resume says so.
# Needs root (mount -t tmpfs); SKIPs (77) with the reason otherwise.
# ctest-labels: cli mpi
# ctest-timeout: 300
set -uo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_faults.XXXXXX")
M=$T/mnt
mkdir -p "$M"
cleanup() { umount "$M" 2>/dev/null; umount "$M" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
export TMPDIR=$T
cd "$T"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }
mnt() { # size: a fresh tmpfs of that size on $M
  umount "$M" 2>/dev/null
  mount -t tmpfs -o "size=$1" tmpfs "$M" 2>"$T/mount.err"
}
mnt 64k || { echo "SKIP: cannot mount a tmpfs ($(cat "$T/mount.err")); needs root"; exit 77; }
run() { # ranks, extra mpirun args..., -- normsweep args
  local np=$1; shift
  local pre=()
  while [ "$1" != "--" ]; do pre+=("$1"); shift; done
  shift
  timeout 120 mpirun --oversubscribe -n "$np" "${pre[@]}" "$NS" run "$@" --quiet >out.txt 2>&1
}
cat >fill.yaml <<'Y'
name: fill
data: "synthetic-cls:n=64,test=16,c=1,h=4,w=4,classes=3"
train: {steps: 40, batch: 16, log_every: 1}
grid: {lr: [0.05], arch: ["mlp:16-512-512-3"], norm: [none, batch], seed: [0]}
checkpoint: {every: 10}
Y
only_creating_left() { # nothing at OUT; OUT.creating only where a watchdog ended the job
  [ ! -e "$M/f.h5" ] || fail "$1: a results file was left at OUT: $(ls -la "$M")"
}

# 1. the layout does not fit
for np in 1 2; do
  mnt 64k
  run $np -- fill.yaml -o "$M/f.h5"; rc=$?
  [ $rc -eq 1 ] || fail "layout, $np rank(s): exit $rc, expected 1: $(cat out.txt)"
  grep -q "ENOSPC" out.txt || fail "layout, $np rank(s): no ENOSPC in: $(cat out.txt)"
  only_creating_left "layout, $np rank(s)"
  [ ! -e "$M/f.h5.creating" ] || fail "layout, $np rank(s): left $M/f.h5.creating"
  ok "layout does not fit, $np rank(s): $(grep -m1 ENOSPC out.txt)"
done
need=$(sed -n 's/.*needs about \([0-9]*\) bytes.*/\1/p' out.txt | head -n 1)
[ -n "$need" ] || fail "no size in the ENOSPC message: $(cat out.txt)"

# 2. and 3. the checks fooled by the shim
# (an ASan build must not insist on coming first in the preload list)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
if command -v cc >/dev/null && cc -shared -fPIC -o shim.so "$SRC/tests/tools/fault_shim.c" -ldl; then
  for np in 1 2; do
    mnt 64k
    run $np -x LD_PRELOAD="$T/shim.so" -x SHIM_STATVFS_LIE=1 -x ASAN_OPTIONS -- fill.yaml -o "$M/f.h5"; rc=$?
    [ $rc -eq 1 ] || fail "reservation, $np rank(s): exit $rc, expected 1: $(cat out.txt)"
    grep -q "cannot reserve.*ENOSPC" out.txt || fail "reservation, $np rank(s): $(cat out.txt)"
    only_creating_left "reservation, $np rank(s)"
    [ ! -e "$M/f.h5.creating" ] || fail "reservation, $np rank(s): left $M/f.h5.creating"
    ok "space check fooled, $np rank(s): the reservation refuses: $(grep -m1 reserve out.txt)"
  done
  # rank 0 builds the file alone (serial driver), so a failed fill is its
  # error, broadcast before any collective call: exit 1 at once, not the watchdog
  for np in 1 2; do
    mnt 64k
    t0=$(date +%s)
    run $np -x LD_PRELOAD="$T/shim.so" -x SHIM_STATVFS_LIE=1 -x SHIM_FALLOCATE_SKIP=1 \
        -x NS_COLLECTIVE_TIMEOUT_S=30 -x ASAN_OPTIONS -- fill.yaml -o "$M/f.h5"; rc=$?
    dt=$(( $(date +%s) - t0 ))
    [ $rc -eq 1 ] || fail "fill failure, $np rank(s): exit $rc after ${dt}s: $(cat out.txt)"
    grep -q "write failed.*ENOSPC" out.txt || fail "fill failure, $np rank(s): $(cat out.txt)"
    grep -q "did not finish" out.txt && fail "fill failure, $np rank(s): the watchdog fired: $(cat out.txt)"
    only_creating_left "fill failure, $np rank(s)"
    [ ! -e "$M/f.h5.creating" ] || fail "fill failure, $np rank(s): left $M/f.h5.creating"
    ok "reservation fooled too, $np rank(s): exit 1 after ${dt}s naming the failed write (ENOSPC)"
  done
  # a rank stuck in I/O (rank 0's rename never returns): the watchdog ends
  # the job within NS_COLLECTIVE_TIMEOUT_S, every rank saying why
  mnt 64M
  t0=$(date +%s)
  run 2 -x LD_PRELOAD="$T/shim.so" -x SHIM_RENAME_HANG=1 \
      -x NS_COLLECTIVE_TIMEOUT_S=8 -x ASAN_OPTIONS -- fill.yaml -o "$M/f.h5"; rc=$?
  dt=$(( $(date +%s) - t0 ))
  [ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "stuck rank: exit $rc after ${dt}s: $(cat out.txt)"
  [ "$(grep -c 'did not finish in 8 s' out.txt)" -eq 2 ] ||
    fail "stuck rank: not every rank said why: $(cat out.txt)"
  only_creating_left "stuck rank"
  ok "rank 0 stuck in I/O, 2 ranks: both ranks abort after ${dt}s (limit 8 s)"
else
  echo "note: no C compiler for the LD_PRELOAD shim: cases 2 and 3 not run"
fi

# 4. room for the layout, not for the checkpoints (a checkpoint is ~2.2 MB here)
for np in 1 2; do
  mnt $(( (need + 65536 + 4095) / 4096 * 4096 ))
  run $np -- fill.yaml -o "$M/f.h5"; rc=$?
  [ $rc -eq 1 ] || fail "checkpoint, $np rank(s): exit $rc, expected 1: $(cat out.txt)"
  [ "$(grep -c 'failed: NS_ERR_IO: .*ckpt.tmp: write failed.*ENOSPC' out.txt)" -eq 2 ] ||
    fail "checkpoint, $np rank(s): both runs should fail naming ENOSPC: $(cat out.txt)"
  "$NS" status "$M/f.h5" >st.txt 2>&1 || fail "checkpoint, $np rank(s): status: $(cat st.txt)"
  grep -q "2 runs: 2 failed" st.txt || fail "checkpoint, $np rank(s): $(cat st.txt)"
  ls "$M/f.h5.ckpt" | grep -q tmp && fail "checkpoint, $np rank(s): a .tmp checkpoint was left"
  ok "checkpoints do not fit, $np rank(s): runs failed naming ENOSPC, file valid"
done

# 5. a read-only file system under an existing results file
mount -o remount,ro "$M" || fail "cannot remount read-only"
run 2 -- fill.yaml -o "$M/f.h5" --resume; rc=$?
[ $rc -ne 0 ] && grep -q "Read-only file system" out.txt ||
  fail "read-only: exit $rc: $(cat out.txt)"
ok "read-only file system: $(grep -m1 'Read-only' out.txt)"
echo "all $pass checks passed"
