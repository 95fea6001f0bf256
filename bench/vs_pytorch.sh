#!/bin/bash
# vs_pytorch.sh - normsweep vs PyTorch training throughput, side by side
# (1 thread each, batch 128, OPENBLAS_CORETYPE=SkylakeX for both), on the nets
# of docs/benchmarks.md / peers.md. Prints a Markdown table with ratios.
#   usage: bench/vs_pytorch.sh [path/to/normsweep] [steps] [reps] [arch ...]
# Each (net, norm) pair is run REPS times, normsweep and PyTorch alternating
# (ns, pt, ns, pt, ...), so both see the same machine load; the table shows
# medians over the repeats. Two throughputs:
#   wall  batch / median wall time of a step (what the acceptance quotes)
#   cpu   batch / (process CPU time per step): on a shared machine it counts
#         only the time the process actually ran, so it is far less noisy.
set -eu
BIN=${1:-$(dirname "$0")/../build/normsweep}
STEPS=${2:-20}
REPS=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
ARCHS=("$@")
[ ${#ARCHS[@]} -gt 0 ] || ARCHS=("mlp:784-256-256-256-10" "vgg11" "vgg11:width=0.25" "dln:depth=25,width=100")
PY=/usr/bin/python3
HERE=$(dirname "$0")
export OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
field() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }
med() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# sgemm peak on the same CPU-time footing as the GFLOP/s column: the wall-clock
# rate scaled by wall/CPU time of the run (under load the process runs only part
# of the time); best of 3.
peak=0
for _ in 1 2 3; do
  out=$( { /usr/bin/time -f "TIME %e %U %S" "$BIN" bench --sgemm 2048; } 2>&1 )
  p=$(awk -v g="$(field gflops <<<"$out")" '/^TIME/{c = $3 + $4; if (c > 0) printf "%.1f", g * $2 / c}' <<<"$out")
  peak=$(awk -v a="$peak" -v b="$p" 'BEGIN{print (b > a ? b : a)}')
done
echo "sgemm 2048 peak (CPU time): $peak GFLOP/s (1 thread); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| net | norm | normsweep img/s | PyTorch img/s | ratio (wall) | ratio (cpu) | normsweep RSS MB | PyTorch RSS MB | normsweep GFLOP/s (cpu, fraction of peak) |"
echo "|---|---|---|---|---|---|---|---|---|"
for arch in "${ARCHS[@]}"; do
  for norm in none batch; do
    steps=$STEPS
    case $arch in vgg11) steps=$(( STEPS / 4 > 3 ? STEPS / 4 : 3 ));; esac
    na=(); pa=(); nc=(); pc=(); nr=(); pr=()
    for _ in $(seq "$REPS"); do
      ns=$("$BIN" bench --arch "$arch" --norm "$norm" --steps "$steps" 2>&1) || { echo "| $arch | $norm | error: $ns |"; continue 2; }
      pt=$("$PY" "$HERE/torch_bench.py" --arch "$arch" --norm "$norm" --steps "$steps" 2>&1)
      na+=("$(field images_per_s <<<"$ns")"); pa+=("$(field images_per_s <<<"$pt")")
      nc+=("$(field cpu_ms_per_step <<<"$ns")"); pc+=("$(field cpu_ms_per_step <<<"$pt")")
      nr+=("$(field peak_rss_mb <<<"$ns")"); pr+=("$(field peak_rss_mb <<<"$pt")")
      mf=$(field train_mflop_per_img <<<"$ns")
    done
    a=$(med "${na[@]}"); b=$(med "${pa[@]}"); ca=$(med "${nc[@]}"); cb=$(med "${pc[@]}")
    awk -v arch="$arch" -v norm="$norm" -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" \
        -v ra="$(med "${nr[@]}")" -v rb="$(med "${pr[@]}")" -v mf="$mf" -v peak="$peak" \
        'BEGIN{g = mf * 128 / ca; printf "| %s | %s | %s | %s | %.2f | %.2f | %s | %s | %.1f (%.2f) |\n",
               arch, norm, a, b, a / b, cb / ca, ra, rb, g, g / peak}'
  done
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); $REPS interleaved repeats per row, medians"
