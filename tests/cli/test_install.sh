#!/usr/bin/env bash
# test_install.sh - `cmake --install` puts the binary, normsweep-mpirun, the
# Slurm scripts and the docs under the prefix, and the batch scripts find the
# binary with no NORMSWEEP variable: PATH first, then the install prefix, then
# $SLURM_SUBMIT_DIR/build, else one clear error (exit 2). (tests/slurm runs the
# installed script under a real Slurm.)
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
BUILD=${NS_BUILD_DIR:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_install.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$BUILD" --prefix "$T/p" >install.log || { cat install.log; fail "cmake --install"; }
P=$T/p
for f in bin/normsweep bin/normsweep-mpirun share/normsweep/slurm/normsweep.sbatch \
         share/normsweep/slurm/array.sbatch share/normsweep/slurm/submit-array; do
  [ -x "$P/$f" ] || fail "$f not installed executable"
done
for f in README.md cli.md slurm.md coordinator.md testing.md hdf5-schema.md; do
  [ -s "$P/share/doc/normsweep/$f" ] || fail "doc $f not installed"
done
"$P/bin/normsweep" --version | grep -q "^normsweep " || fail "installed binary does not run"
"$P/bin/normsweep-mpirun" --help | grep -q "graceful stop" || fail "normsweep-mpirun --help"
grep -q "^INSTALLED_BIN=\"$P/bin\"$" "$P/share/normsweep/slurm/normsweep.sbatch" \
  || fail "installed normsweep.sbatch does not know $P/bin"
grep -q "^INSTALLED_SLURM=\"$P/share/normsweep/slurm\"$" "$P/share/normsweep/slurm/array.sbatch" \
  || fail "installed array.sbatch does not know its directory"
ok "cmake --install: binary, wrapper, Slurm scripts (told the prefix), docs"

# Where the batch script looks, in order (no NORMSWEEP variable; PATH without normsweep).
which_in() { # dir, script, [extra env...]: the binary the script would use
  (cd "$1" && env -u NORMSWEEP PATH=/usr/bin:/bin "${@:3}" bash "$2" --which)
}
mkdir -p sub/build elsewhere onpath
ln -s "$NS" sub/build/normsweep
printf '#!/bin/sh\necho fake\n' > onpath/normsweep && chmod +x onpath/normsweep
installed=$P/share/normsweep/slurm/normsweep.sbatch source=$SRC/slurm/normsweep.sbatch
[ "$(which_in elsewhere "$installed")" = "$P/bin/normsweep" ] || fail "installed: not the prefix's binary"
[ "$(which_in elsewhere "$installed" SLURM_SUBMIT_DIR="$T/sub")" = "$P/bin/normsweep" ] \
  || fail "installed: the prefix must come before \$SLURM_SUBMIT_DIR/build"
[ "$(which_in elsewhere "$source" SLURM_SUBMIT_DIR="$T/sub")" = "$T/sub/build/normsweep" ] \
  || fail "source copy: not \$SLURM_SUBMIT_DIR/build/normsweep"
[ "$(which_in sub "$source")" = "$T/sub/build/normsweep" ] || fail "source copy: not ./build outside Slurm"
got=$(cd elsewhere && env -u NORMSWEEP PATH="$T/onpath:/usr/bin:/bin" bash "$installed" --which)
[ "$got" = "$T/onpath/normsweep" ] || fail "PATH must come first: $got"
ok "the binary is found: PATH, then the install prefix, then \$SLURM_SUBMIT_DIR/build"

rc=0
(cd elsewhere && env -u NORMSWEEP PATH=/usr/bin:/bin SLURM_SUBMIT_DIR="$T/elsewhere" \
   bash "$source" spec.yaml out.h5) >out.txt 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "cannot find the normsweep binary: not on PATH" out.txt \
  || fail "no binary anywhere: exit $rc: $(cat out.txt)"
ok "no binary anywhere: $(grep -o 'cannot find.*' out.txt | head -c 150)"

echo "$pass passed, 0 failed"
