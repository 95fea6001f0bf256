#!/bin/bash
# probe_cost.sh - what one loss-landscape probe (8 step sizes) costs, in training
# steps, for normsweep and for PyTorch, side by side in one run (1 thread each,
# batch 128, OPENBLAS_CORETYPE=SkylakeX for both; process CPU time, medians of
# --reps). Also normsweep's ICS and Hessian cost. Prints a Markdown table.
#   usage: bench/probe_cost.sh [path/to/normsweep] [reps]
set -eu
BIN=${1:-$(dirname "$0")/../build/normsweep}
REPS=${2:-7}
PY=/usr/bin/python3
HERE=$(dirname "$0")
CORES=$(getconf _NPROCESSORS_ONLN)
export OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
field() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $CORES cores; reps $REPS"
echo
echo "| net | norm | ns step ms | ns probe ms | ns probe/step | ns probe / 8 fwd+bwd | torch step ms | torch probe ms | torch probe/step | ns/torch probe ms | ICS evals (layers) | ICS ms/eval per fwd+bwd | Hessian iter / step |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for arch in "mlp:784-256-256-256-10" "vgg11:width=0.25" "dln:depth=25,width=100"; do
  for norm in none batch; do
    reps=$REPS
    case $arch in vgg*) reps=$(( REPS / 2 > 3 ? REPS / 2 : 3 ));; esac
    ns=$("$BIN" bench --probe --arch "$arch" --norm "$norm" --reps "$reps" --hessian 2 2>&1) \
      || { echo "| $arch | $norm | error: $ns |"; continue; }
    pt=$("$PY" "$HERE/torch_probe_cost.py" --arch "$arch" --norm "$norm" --reps "$reps" 2>&1) \
      || { echo "| $arch | $norm | torch error: $pt |"; continue; }
    s=$(field ms_per_step <<<"$ns"); p=$(field ms_per_probe <<<"$ns"); fb=$(field ms_per_fwdbwd <<<"$ns")
    ts=$(field ms_per_step <<<"$pt"); tp=$(field ms_per_probe <<<"$pt")
    echo "| $arch | $norm | $s | $p | $(ratio "$p" "$s") | $(ratio "$p" "$(awk -v f="$fb" 'BEGIN{print 8*f}')") | $ts | $tp | $(ratio "$tp" "$ts") |" \
         "$(ratio "$p" "$tp") | $(field ics_evals <<<"$ns") ($(field ics_layers <<<"$ns")) |" \
         "$(field ics_eval_per_fwdbwd <<<"$ns") | $(field hess_iter_per_step <<<"$ns") |"
  done
done
