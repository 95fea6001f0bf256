#!/bin/bash
# test_optim_crosscheck.sh - SGD (momentum, weight decay), Adam, AdamW and the
# learning-rate schedules (warm-up, step, cosine) of optim.h against PyTorch's
# torch.optim and lr_scheduler on the same gradient sequence: learning rates to
# 1e-12, weights to 1e-6 relative at every step (tests/tools/torch_optim.py).
# Skipped (exit 77) with a message when /usr/bin/python3 has no torch.
# ctest-labels: crosscheck
# ctest-timeout: 120
set -u
PY=/usr/bin/python3
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "SKIP: $PY cannot import torch (apt-get install python3-torch to run this cross-check)"
    exit 77
fi
SRC=${NS_SOURCE_DIR:-$(dirname "$0")/../..}
BUILD=${NS_BUILD_DIR:-$SRC/build}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ns_optim.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$BUILD/test_optim" --trajectories "$TMP" || { echo "FAIL: test_optim --trajectories"; exit 1; }
"$PY" "$SRC/tests/tools/torch_optim.py" "$TMP"
