#!/bin/bash
# vs_pytorch.sh - normsweep vs PyTorch training throughput, side by side in one
# run (1 thread each, batch 128, OPENBLAS_CORETYPE=SkylakeX for both), on the
# nets of docs/benchmarks.md / peers.md. Prints a Markdown table with ratios.
#   usage: bench/vs_pytorch.sh [path/to/normsweep] [steps]
set -eu
BIN=${1:-$(dirname "$0")/../build/normsweep}
STEPS=${2:-20}
PY=/usr/bin/python3
HERE=$(dirname "$0")
export OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
field() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }
echo "sgemm peak: $("$BIN" bench --sgemm 2048 | field gflops) GFLOP/s (1 thread)"
echo
echo "| net | norm | normsweep img/s | PyTorch img/s | ratio | normsweep RSS MB | PyTorch RSS MB | normsweep GFLOP/s |"
echo "|---|---|---|---|---|---|---|---|"
for arch in "mlp:784-256-256-256-10" "vgg11" "vgg11:width=0.25" "dln:depth=25,width=100"; do
  for norm in none batch; do
    steps=$STEPS
    case $arch in vgg11) steps=$(( STEPS / 4 > 3 ? STEPS / 4 : 3 ));; esac
    ns=$("$BIN" bench --arch "$arch" --norm "$norm" --steps "$steps" 2>&1) || { echo "| $arch | $norm | error: $ns |"; continue; }
    pt=$("$PY" "$HERE/torch_bench.py" --arch "$arch" --norm "$norm" --steps "$steps" 2>&1)
    a=$(field images_per_s <<<"$ns"); b=$(field images_per_s <<<"$pt")
    ra=$(field peak_rss_mb <<<"$ns"); rb=$(field peak_rss_mb <<<"$pt")
    g=$(field gflops <<<"$ns")
    r=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a/b}')
    echo "| $arch | $norm | $a | $b | $r | $ra | $rb | $g |"
  done
done
