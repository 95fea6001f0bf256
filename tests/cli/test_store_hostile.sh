#!/usr/bin/env bash
# test_store_hostile.sh - results files and paths a hostile but realistic user
# gives the store (issue 17): each is refused with one line naming the file and
# what is wrong (or simply works), never a crash, a hang or a modified input.
#   row 2  --resume on a damaged superblock, 2 ranks: refused, no hang
#   row 4  merge --force X X (and X given through a link): refused, X intact;
#          merge keeps the spec's name (issue 14)
#   row 5  an output path of 245+ characters: works at 1 and 2 ranks
#   row 7  ranks whose clocks differ by a day: rank 0 decides created_utc;
#          ranks whose BLAS thread counts differ: refused (results would differ)
#   row 8  a spec of 64 KB and 1 MB: stored and read back
#   row 9  merge of a shard with a wrong-shaped trace or a short status column
#   row 10 --resume on a file missing `status`, or with a wrong type
#   row 14 a 0-byte file given to --resume: refused, left as it was
#   a file of schema 1: --resume names the conversion, merge converts it
#   messages: a truncated file, a directory (no "no HDF5 error message")
# ctest-labels: cli mpi
# ctest-timeout: 300
set -uo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
export PYTHONPATH="$SRC/tests/tools${PYTHONPATH:+:$PYTHONPATH}"  # h5text.py: the file's text
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_hostile.XXXXXX")
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T NS_ISOLATE_TIMEOUT_S=20
cd "$T"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }
run() { local np=$1; shift; timeout 120 mpirun --oversubscribe -n "$np" "$NS" run "$@" --quiet >out.txt 2>&1; }
refused() { # what, rc, pattern: exit 2 with the pattern in out.txt
  [ "$2" -eq 2 ] || fail "$1: exit $2, expected 2: $(cat out.txt)"
  grep -q -- "$3" out.txt || fail "$1: message lacks '$3': $(cat out.txt)"
  ok "$1: $(grep -m1 -- "$3" out.txt)"
}
cat >tiny.yaml <<'Y'
name: tiny
data: "synthetic-cls:n=32,test=8,c=1,h=2,w=2,classes=2"
train: {steps: 4, batch: 8, eval_every: 2, log_every: 1}
grid: {lr: [0.1], arch: ["mlp:4-3-2"], norm: [none, batch], seed: [0]}
probes: {every: 2, eta: {relative: [0.5, 4.0], count: 2}, hessian: {iters: 2, tol: 1.0e-3}}
Y
run 2 tiny.yaml -o good.h5 || fail "the tiny sweep: $(cat out.txt)"
# the damage steps below replace a dataset with this, so that only what a step names
# differs (a text variable keeps its netCDF char-array layout: S1 cells over a last
# strlen<N> dim; files written before hold fixed-length strings)
cat >h5edit.py <<'P'
import h5py
from h5text import cells


def replace(f, name, data, dims=None):
    """Dataset `name` replaced by `data` with the old one's attributes and dimension
    scales (dims: the names of the scales to attach instead), detached first so that
    no scale keeps a reference to the deleted dataset."""
    old = f[name]
    scales = [f[d[0].name] for d in old.dims]
    attrs = {k: v for k, v in old.attrs.items() if k != "DIMENSION_LIST"}
    for i, sc in enumerate(scales):
        old.dims[i].detach_scale(sc)
    del f[name]
    new = f.create_dataset(name, data=data)
    for k, v in attrs.items():
        new.attrs[k] = v
    for i, sc in enumerate(scales if dims is None else [f[d] for d in dims]):
        new.dims[i].attach_scale(sc)
    return new


def is_chars(d):
    """A netCDF char array: one text per cell of the leading dims (is_char_array in
    analysis/load.py)."""
    return isinstance(d, h5py.Dataset) and d.dtype == "S1" and d.ndim >= 2


def to_fixed_texts(f):
    """Texts as normsweep wrote them before char arrays: fixed-length strings over
    the var's own dims, no strlen dims."""
    for name in [k for k in f if is_chars(f[k])]:
        dims = [d[0].name for d in f[name].dims][:-1]
        replace(f, name, cells(f[name][()]), dims=dims)
    for name in [k for k in f if k.startswith('strlen')]:
        del f[name]
P

# row 14: a 0-byte file is refused and stays 0 bytes
: >zero.h5
run 2 tiny.yaml -o zero.h5 --resume; rc=$?
refused "0-byte file to --resume" $rc "empty"
[ -f zero.h5 ] && [ ! -s zero.h5 ] || fail "0-byte file was modified: $(ls -la zero.h5)"

# row 2: a damaged superblock (byte 0 of the signature), 2 ranks
cp good.h5 super.h5
printf '\x00' | dd of=super.h5 bs=1 seek=1 conv=notrunc 2>/dev/null
sum=$(cksum <super.h5)
run 2 tiny.yaml -o super.h5 --resume; rc=$?
[ $rc -ne 124 ] || fail "damaged superblock: --resume hung"
refused "damaged superblock, --resume on 2 ranks" $rc "not an HDF5 file"
[ "$(cksum <super.h5)" = "$sum" ] || fail "damaged superblock: the file was modified"

# row 10: no `status`; `status` of another type
cp good.h5 nostatus.h5
$PY -c "import h5py; f = h5py.File('nostatus.h5', 'a'); del f['status']"
run 2 tiny.yaml -o nostatus.h5 --resume; rc=$?
refused "--resume, no status variable" $rc "variable 'status' is missing"
cp good.h5 wrongtype.h5
$PY - <<'P'
import h5py, numpy as np
from h5edit import replace
f = h5py.File('wrongtype.h5', 'a')
replace(f, 'status', np.zeros(f['status'].shape[0], dtype='f8'), dims=['run'])  # a number a run
P
run 2 tiny.yaml -o wrongtype.h5 --resume; rc=$?
refused "--resume, status of the wrong type" $rc "variable 'status' has type"

# row 9: merge of a shard with a wrong-shaped trace, a short status column
run 1 tiny.yaml -o s0.h5 --shard 0/2 && run 1 tiny.yaml -o s1.h5 --shard 1/2 || fail "shards: $(cat out.txt)"
cp s1.h5 bad1.h5
$PY - <<'P'
import h5py, numpy as np
f = h5py.File('bad1.h5', 'a')
a = f['train_loss'][()]
del f['train_loss']
f.create_dataset('train_loss', data=a[:, :-1])
f['train_loss'].dims[0].attach_scale(f['run'])
P
rc=0; "$NS" merge m.h5 s0.h5 bad1.h5 >out.txt 2>&1 || rc=$?
refused "merge, a wrong-shaped trace" $rc "variable 'train_loss' axis 1"
[ ! -e m.h5 ] || fail "merge wrote output for a bad shard"
cp s1.h5 bad2.h5
$PY - <<'P'
import h5py, numpy as np
from h5edit import replace
f = h5py.File('bad2.h5', 'a')
replace(f, 'status', f['status'][:1])  # one row: type, attributes and dims as written
P
rc=0; "$NS" merge m.h5 s0.h5 bad2.h5 >out.txt 2>&1 || rc=$?
refused "merge, a short status column" $rc "status"

# row 4: the output is an input
cp s0.h5 keep.h5
sum=$(cksum <s0.h5)
rc=0; "$NS" merge --force s0.h5 s0.h5 s1.h5 >out.txt 2>&1 || rc=$?
refused "merge --force X X" $rc "is the shard"
ln -s s0.h5 alias.h5
rc=0; "$NS" merge --force alias.h5 s0.h5 s1.h5 >out.txt 2>&1 || rc=$?
refused "merge --force through a link to an input" $rc "is the shard"
[ "$(cksum <s0.h5)" = "$sum" ] || fail "merge touched its input"
"$NS" merge m.h5 s0.h5 s1.h5 >out.txt 2>&1 || fail "good merge: $(cat out.txt)"
$PY "$SRC/tests/tools/h5same.py" good.h5 m.h5 >/dev/null || fail "merged shards differ from the one-job file"
ok "good shards still merge into the one-job file"
# the merged sweep keeps the spec's name (a spec without `name:` is named after
# its file: the merge used to name it after the first shard's file)
grep -v '^name:' tiny.yaml >noname.yaml
run 1 noname.yaml -o n0.h5 --shard 0/2 && run 1 noname.yaml -o n1.h5 --shard 1/2 || fail "shards: $(cat out.txt)"
"$NS" merge nm.h5 n0.h5 n1.h5 >out.txt 2>&1 || fail "merge: $(cat out.txt)"
[ "$($PY -c "import h5py; print(h5py.File('nm.h5', 'r').attrs['spec_name'].decode())")" = noname ] ||
  fail "the merged file is not named after the spec"
ok "merge keeps the spec's name"

# row 5: long output paths
d=$T/$(printf 'a%.0s' $(seq 1 120))/$(printf 'b%.0s' $(seq 1 120))
mkdir -p "$d"
for np in 1 2; do
  p=$d/out$np.h5
  run $np tiny.yaml -o "$p" || fail "path of ${#p} characters, $np rank(s): exit $?: $(tail -n 3 out.txt)"
  "$NS" status "$p" | grep -q "2 runs: 2 done" || fail "long path: status"
  ok "output path of ${#p} characters, $np rank(s)"
done
OMPI_MCA_sharedfp=lockedfile run 1 tiny.yaml -o "$d/x.h5"; rc=$?
refused "long path with lockedfile chosen by the user" $rc "aborts Open MPI's sharedfp/lockedfile"

# row 7: a value a rank takes from its own clock (created_utc) enters the file
# as rank 0's, so skewed clocks never make the ranks' layouts disagree
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
if command -v cc >/dev/null && cc -shared -fPIC -o shim.so "$SRC/tests/tools/fault_shim.c" -ldl; then
  timeout 120 mpirun --oversubscribe -n 1 "$NS" run tiny.yaml -o env.h5 --quiet : \
    -n 1 -x LD_PRELOAD="$T/shim.so" -x SHIM_TIME_OFFSET=86400 -x ASAN_OPTIONS \
    "$NS" run tiny.yaml -o env.h5 --quiet >out.txt 2>&1 ||
    fail "ranks with clocks a day apart: $(cat out.txt)"
  created=$($PY -c "import h5py; a = h5py.File('env.h5', 'r').attrs['created_utc']; print(a.decode() if isinstance(a, bytes) else a)")
  [ "${created:0:10}" = "$(date -u +%Y-%m-%d)" ] || [ "${created:0:10}" = "$(date -u -d '-1 hour' +%Y-%m-%d)" ] ||
    fail "created_utc is not rank 0's: $created"
  ok "ranks with clocks a day apart: one layout, rank 0's created_utc ($created)"
else
  echo "SKIP: no C compiler for the time shim"
fi
# ... while a value that changes results (BLAS threads) must be the same everywhere
timeout 120 mpirun --oversubscribe -n 1 -x NORMSWEEP_BLAS_THREADS=1 "$NS" run tiny.yaml -o env2.h5 --quiet : \
  -n 1 -x NORMSWEEP_BLAS_THREADS=2 "$NS" run tiny.yaml -o env2.h5 --quiet >out.txt 2>&1; rc=$?
refused "ranks with different BLAS thread counts" $rc "ranks differ in their BLAS kernel"

# row 8: big specs
for kb in 70 1100; do
  { cat tiny.yaml; $PY -c "print('\n'.join('# padding %06d %s' % (i, 'x' * 60) for i in range($kb * 1024 // 80)))"; } >big.yaml
  run 2 big.yaml -o big.h5 --force || fail "spec of $kb KB: $(cat out.txt)"
  [ "$($PY -c "import h5py; print(len(h5py.File('big.h5', 'r').attrs['spec_text']))")" = "$(wc -c <big.yaml)" ] ||
    fail "spec of $kb KB: spec_text not stored whole"
  ok "spec of $(wc -c <big.yaml) bytes stored whole"
done

# schema 1 (an older normsweep: fixed-length strings, no coordinates, version "1"):
# --resume refuses naming the conversion; merge converts it into the current file
cp good.h5 old.h5
$PY - <<'P'
import h5py, numpy as np
from h5edit import to_fixed_texts
f = h5py.File('old.h5', 'a')
to_fixed_texts(f)
for name in ('arch', 'norm', 'init'):
    v = f[name].asstr()[()]
    del f[name]
    f.create_dataset(name, data=np.array([s.encode() for s in v], dtype='S128'))
    f[name].dims[0].attach_scale(f['run'])
for name in f:
    f[name].attrs.pop('coordinates', None)
f.attrs['schema_version'] = np.bytes_('1')
P
run 2 tiny.yaml -o old.h5 --resume; rc=$?
refused "--resume on a schema-1 file" $rc "normsweep merge NEW.h5 old.h5"
rc=0; "$NS" merge new.h5 old.h5 >out.txt 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "merge converting schema 1: exit $rc: $(cat out.txt)"
$PY "$SRC/tests/tools/h5same.py" good.h5 new.h5 >out.txt || fail "converted file differs: $(cat out.txt)"
ok "schema 1: --resume names the conversion; merge NEW OLD gives the current file"

# schema 2 as written before text became char arrays (fixed-length strings, no
# strlen dims; netCDF-C cannot read those): still read, resumed and converted
cp good.h5 fixed.h5
$PY - <<'P'
import h5py, numpy as np
from h5edit import to_fixed_texts
f = h5py.File('fixed.h5', 'a')
to_fixed_texts(f)
f['status'][1] = np.bytes_('pending')   # a run to redo on --resume
f['train_loss'][1, :] = np.nan
P
rc=0; "$NS" status fixed.h5 >out.txt 2>&1 || rc=$?
[ $rc -eq 0 ] && grep -q "1 pending 1 done" out.txt || fail "status of fixed-length texts: exit $rc: $(head -2 out.txt)"
run 2 tiny.yaml -o fixed.h5 --resume || fail "--resume on fixed-length texts: $(cat out.txt)"
$PY - <<'P' || fail "--resume on fixed-length texts: wrong file"
import h5py, numpy as np
a, b = h5py.File('fixed.h5', 'r'), h5py.File('good.h5', 'r')
assert a['status'].dtype == 'S16' and list(a['status'][()]) == [b'done', b'done'], a['status'][()]
assert np.array_equal(a['train_loss'][()], b['train_loss'][()], equal_nan=True)
P
rc=0; "$NS" merge fixedm.h5 fixed.h5 >out.txt 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "merge of fixed-length texts: exit $rc: $(cat out.txt)"
$PY "$SRC/tests/tools/h5same.py" good.h5 fixedm.h5 >out.txt || fail "converted file differs: $(cat out.txt)"
ok "fixed-length texts (before char arrays): status, --resume and merge into the current form"

# messages: a truncated file and a directory name what is wrong
head -c 3000 good.h5 >trunc.h5
rc=0; "$NS" status trunc.h5 >out.txt 2>&1 || rc=$?
refused "status of a truncated file" $rc "truncated file: eof = 3000"
mkdir dir.h5
rc=0; "$NS" status dir.h5 >out.txt 2>&1 || rc=$?
refused "status of a directory" $rc "is a directory"
run 2 tiny.yaml -o dir.h5 --resume; rc=$?
grep -Eq "is a directory|not a regular file" out.txt || fail "--resume on a directory: $(cat out.txt)"
ok "--resume on a directory: $(grep -Em1 'is a directory|not a regular file' out.txt)"
! grep -rq "no HDF5 error message" out.txt || fail "a message without a reason"
echo "all $pass checks passed"
