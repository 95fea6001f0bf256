#!/bin/bash
# test_torch_crosscheck.sh - normsweep's loss and gradients on one batch agree
# with an independent PyTorch rebuild of the same net (bench/torch_crosscheck.py)
# to 1e-4 relative, for each architecture family, without and with batch norm.
# Skipped (exit 77) with a message when /usr/bin/python3 has no torch.
# ctest-labels: crosscheck
# ctest-timeout: 300
set -u
PY=/usr/bin/python3
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "SKIP: $PY cannot import torch (apt-get install python3-torch to run this cross-check)"
    exit 77
fi
BIN=${NS_BIN:-$(dirname "$0")/../../build/normsweep}
SRC=${NS_SOURCE_DIR:-$(dirname "$0")/../..}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ns_xcheck.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export OPENBLAS_NUM_THREADS=1
cases=(
  "mlp:784-64-64-10|--batch 32"
  "dln:depth=25,width=10|--batch 100"
  "vgg11:width=0.125|--batch 8"
  "vgg13:width=0.0625|--batch 6 --shape 1x28x28"
  "vgg11:width=0.125|--batch 4 --init he --seed 3"
)
dirs=()
i=0
for norm in none batch; do
  for c in "${cases[@]}"; do
    arch=${c%%|*}; opts=${c#*|}
    d="$TMP/case$i"; i=$((i + 1)); mkdir -p "$d"
    # shellcheck disable=SC2086
    if ! out=$("$BIN" bench --arch "$arch" --norm "$norm" $opts --crosscheck "$d" 2>&1); then
      echo "FAIL: normsweep bench --arch $arch --norm $norm $opts: $out"
      exit 1
    fi
    dirs+=("$d")
  done
done
"$PY" "$SRC/bench/torch_crosscheck.py" "${dirs[@]}"
