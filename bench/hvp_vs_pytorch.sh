#!/bin/bash
# hvp_vs_pytorch.sh - what one exact Hessian-vector product costs, in training
# steps and against PyTorch's double-backprop HVP on the same net, weights and
# batch (issue 12). Both sides single-threaded, the same OPENBLAS_CORETYPE
# (SkylakeX unless set),
# process CPU time; the C and the torch benchmark alternate ROUNDS times in the
# same run and the medians of the per-round numbers are reported, so a load
# change on the shared machine hits both sides alike.
#
# usage: bench/hvp_vs_pytorch.sh [ROUNDS] [REPS]      (defaults 5, 5)
#   env NS_BIN (default build/normsweep), CASES to override the case list
# Prints one JSON line per round and side, then a table:
#   hvp/step (ns)   ns HVP / ns training step        (issue: <= 2.5)
#   torch/ns HVP    torch HVP time / ns HVP time      (issue: >= 1.5)
#   lanczos20/step  a 20-step Lanczos probe (begin, 20 products, 4 residuals),
#                   in ns training steps
set -eu
ROUNDS=${1:-5}
REPS=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${NS_BIN:-$SRC/build/normsweep}
PY=/usr/bin/python3
# the same OpenBLAS kernel on both sides (as bench/vs_pytorch.sh); override to compare others
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
CASES=${CASES:-"vgg11:width=0.125|none vgg11:width=0.125|batch mlp:784-256-256-256-10|none mlp:784-256-256-256-10|batch"}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ns_hvpbench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
echo "# OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE rounds=$ROUNDS reps=$REPS load: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
i=0
for c in $CASES; do
  arch=${c%%|*}; norm=${c#*|}
  d="$TMP/case$i"; i=$((i + 1)); mkdir -p "$d"
  "$BIN" bench --hvp --arch "$arch" --norm "$norm" --batch 128 --crosscheck "$d" > /dev/null
  for r in $(seq "$ROUNDS"); do
    "$BIN" bench --hvp --arch "$arch" --norm "$norm" --batch 128 --reps "$REPS" --lanczos 0 \
      | tee -a "$d/ns.jsonl"
    "$PY" "$SRC/bench/torch_hvp.py" bench "$d" --reps "$REPS" | tee -a "$d/torch.jsonl"
  done
  "$BIN" bench --hvp --arch "$arch" --norm "$norm" --batch 128 --reps 3 --lanczos 20 \
    | tee "$d/lanczos.jsonl"
done
"$PY" - "$TMP" <<'PYEOF'
import json, os, sys
import numpy as np
root = sys.argv[1]
print("\n| arch | norm | params | ns step ms | ns HVP ms | hvp/step (ns) | torch step ms | torch HVP ms | torch/ns HVP | torch/ns step | lanczos20/step |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for d in sorted(os.listdir(root), key=lambda s: int(s[4:])):
    p = os.path.join(root, d)
    ns = [json.loads(l) for l in open(os.path.join(p, "ns.jsonl"))]
    th = [json.loads(l) for l in open(os.path.join(p, "torch.jsonl"))]
    lz = json.loads(open(os.path.join(p, "lanczos.jsonl")).read())
    med = lambda xs: float(np.median(xs))
    print("| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f |" % (
        ns[0]["arch"], ns[0]["norm"], ns[0]["params"],
        med([a["ms_per_step"] for a in ns]), med([a["ms_per_hvp"] for a in ns]),
        med([a["hvp_per_step"] for a in ns]),
        med([b["ms_per_step"] for b in th]), med([b["ms_per_hvp"] for b in th]),
        med([b["ms_per_hvp"] / a["ms_per_hvp"] for a, b in zip(ns, th)]),
        med([b["ms_per_step"] / a["ms_per_step"] for a, b in zip(ns, th)]),
        lz["lanczos_per_step"]))
PYEOF
