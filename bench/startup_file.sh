#!/usr/bin/env bash
# startup_file.sh - the start-up's "file" step (results-file creation) of
# `normsweep run`, for one or more normsweep binaries, interleaved (issue 15).
#   bench/startup_file.sh "1 2 4 8 16" REPEATS SPEC [KEY=VALUE...] -- BIN...
# Prints one line per (binary, ranks, repeat): bin N rep file_s. Each run is
# stopped (SIGTERM to mpirun) once its banner is out: only start-up is timed.
set -uo pipefail
source "$(dirname "$0")/../scripts/env.sh"
ranks=$1 reps=$2 spec=$3; shift 3
over=()
while [ "$1" != "--" ]; do over+=("$1"); shift; done
shift
T=$(mktemp -d "${TMPDIR:-/tmp}/startup_file.XXXXXX")
trap 'rm -rf "$T" "$T.log"' EXIT
for rep in $(seq 1 "$reps"); do
  for n in $ranks; do
    for bin in "$@"; do
      rm -rf "$T"; mkdir -p "$T"
      mpirun --oversubscribe -n "$n" "$bin" run "$spec" "${over[@]}" -o "$T/o.h5" >"$T.log" 2>&1 &
      pid=$!
      for _ in $(seq 1 1200); do
        grep -q "runs (.* to run)" "$T.log" && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
      done
      kill -TERM $pid 2>/dev/null
      wait $pid 2>/dev/null
      f=$(sed -n 's/.*start-up .*, file \([0-9.]*\).*/\1/p' "$T.log" | head -n 1)
      echo "$(basename "$bin") $n $rep ${f:-NA}"
    done
  done
done
