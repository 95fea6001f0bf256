#!/usr/bin/env bash
# data_memory.sh - resident memory of N ranks of one sweep, with one private
# copy of the data set per rank (NORMSWEEP_SHARED_DATA=0) and with one shared
# copy per node (the default), on Fashion-MNIST and a CIFAR-10-sized synthetic
# set (50000 + 10000 samples of 3x32x32: 737 MB as float).
#
# While the sweep runs, the script reads /proc/PID/smaps_rollup of every rank
# twice a second and keeps the largest sums once the sweep has started (the
# progress file exists: every rank has its data), and the largest overall
# ("peak", the loading included: the loading rank briefly holds its private
# copy and the shared one):
#   RSS sum - resident pages of each rank, shared pages counted in EVERY rank
#             that maps them (so a shared copy still counts N times here);
#   PSS sum - each page divided by the number of processes mapping it: the
#             memory the N ranks really hold together.
# "copies" = (PSS sum - PSS sum of the same ranks without data) / one copy,
# where one copy is the data set's size and the baseline is a tiny synthetic set.
#
# usage: bench/data_memory.sh [build-dir]     env: RANKS=8, SETS="fmnist cifar"
# On a 2-core machine 8 ranks are oversubscribed: fine, this measures memory.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
NS=$PWD/$build/normsweep
[ -x "$NS" ] || { echo "data_memory: $NS not found: build first" >&2; exit 2; }
ranks=${RANKS:-8}
sets=${SETS:-"fmnist cifar"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d "${TMPDIR:-/tmp}/ns_memory.XXXXXX")
trap 'rm -rf "$T"' EXIT

data_of() {
  case $1 in
    fmnist) echo "fashion-mnist" ;;
    cifar) echo "synthetic-cls:n=50000,test=10000,c=3,h=32,w=32,classes=10,noise=1" ;;
    tiny) echo "synthetic-cls:n=64,test=16,c=1,h=4,w=4,classes=2" ;;
  esac
}
arch_of() {
  case $1 in fmnist) echo "mlp:784-32-10" ;; cifar) echo "mlp:3072-32-10" ;; tiny) echo "mlp:16-32-2" ;; esac
}

# measure SET MODE: prints "rss_mb pss_mb peak_pss_mb data_mb shmem_mb anon_mb" (the
# last two: the PSS split of the sample with the largest PSS during the sweep)
measure() {
  local set=$1 mode=$2 spec=$T/$1.yaml out=$T/$1.$2.h5 mp run_rss=0 run_pss=0 peak_pss=0 pids p r s a b
  local sh an run_sh=0 run_an=0 c d
  cat > "$spec" <<YAML
name: memory
data: "$(data_of "$set")"
train: {steps: $([ "$set" = tiny ] && echo 20000 || echo 400), batch: 64, log_every: 50, eval_every: 0}
grid: {lr: [0.01], arch: ["$(arch_of "$set")"], norm: [none], seed: {count: $ranks}}
YAML
  rm -rf "$out" "$out.ckpt" "$out.progress.json"
  if [ "$mode" = private ]; then export NORMSWEEP_SHARED_DATA=0; else unset NORMSWEEP_SHARED_DATA; fi
  mpirun -n "$ranks" "$NS" run "$spec" -o "$out" > "$T/log" 2>&1 &
  mp=$!
  while kill -0 "$mp" 2>/dev/null; do
    pids=$(ps --ppid "$mp" -o pid= 2>/dev/null || true)
    r=0 s=0 sh=0 an=0
    for p in $pids; do
      read -r a b c d < <(awk '/^Rss:/{r=$2} /^Pss:/{s=$2} /^Pss_Shmem:/{h=$2} /^Pss_Anon:/{n=$2}
                               END{print r+0, s+0, h+0, n+0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo "0 0 0 0")
      r=$((r + a)) s=$((s + b)) sh=$((sh + c)) an=$((an + d))
    done
    [ $s -gt $peak_pss ] && peak_pss=$s
    if [ -e "$out.progress.json" ]; then
      [ $r -gt $run_rss ] && run_rss=$r
      if [ $s -gt $run_pss ]; then run_pss=$s run_sh=$sh run_an=$an; fi
    fi
    sleep 0.5
  done
  wait "$mp" || { cat "$T/log" >&2; echo "data_memory: the $set/$mode sweep failed" >&2; exit 1; }
  local mb
  mb=$(sed -n 's/^normsweep: data \([0-9.e+]*\) MB.*/\1/p' "$T/log" | head -1)
  unset NORMSWEEP_SHARED_DATA
  # kB (KiB) of smaps -> MB (10^6 bytes), the unit of the banner's data size
  awk -v a="$run_rss" -v b="$run_pss" -v c="$peak_pss" -v m="${mb:-0}" -v h="$run_sh" -v n="$run_an" \
    'BEGIN{printf "%.0f %.0f %.0f %s %.0f %.0f\n", a * 1.024e-3, b * 1.024e-3, c * 1.024e-3, m, h * 1.024e-3, n * 1.024e-3}'
}

echo "data_memory: $ranks ranks on $(nproc) cores (oversubscribed when ranks > cores), load $(cut -d' ' -f1-3 /proc/loadavg)"
read -r base_rss base_pss _ _ base_sh base_an < <(measure tiny shared)
echo "baseline (tiny data set): RSS sum $base_rss MB, PSS sum $base_pss MB (shmem $base_sh, anon $base_an)"
printf '| %-8s | %-8s | %8s | %8s | %8s | %9s | %8s | %8s | %6s |\n' "data set" "data" "data MB" "RSS sum" "PSS sum" "PSS shmem" "PSS anon" "PSS peak" "copies"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "----------" "----------" "----------" "----------" "----------" "-----------" "----------" "----------" "--------"
for set in $sets; do
  for mode in private shared; do
    read -r rss pss peak mb sh an < <(measure "$set" "$mode")
    copies=$(awk -v p="$pss" -v b="$base_pss" -v m="$mb" 'BEGIN{ if (m > 0) printf "%.2f", (p - b) / m; else printf "?" }')
    printf '| %-8s | %-8s | %8s | %8s | %8s | %9s | %8s | %8s | %6s |\n' "$set" "$mode" "$mb" "$rss" "$pss" "$sh" "$an" "$peak" "$copies"
  done
done
echo "(MB = 10^6 bytes; copies = (PSS sum - baseline PSS) / data MB)"
