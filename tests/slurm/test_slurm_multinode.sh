#!/usr/bin/env bash
# test_slurm_multinode.sh - slurm/normsweep.sbatch on a 3-node Slurm: slurmd
# "nodes" in network namespaces (tests/multihost/mh_harness.sh, mh_slurm.sh),
# `sbatch --nodes=3` launching with mpirun and with srun --mpi=pmix; both files
# equal a 1-rank run bitwise. Skipped (77, with the reason) without Slurm or
# without the rights to make namespaces.
# ctest-labels: multihost slow
# ctest-timeout: 900
set -euo pipefail
NS=${NS_BIN:?run through ctest}
SRC=${NS_SOURCE_DIR:?}
SPEC=$SRC/tests/data/sweep_slurm.yaml
SAME="/usr/bin/python3 $SRC/tests/tools/h5same.py"
source "$SRC/tests/multihost/mh_harness.sh"
source "$SRC/tests/multihost/mh_slurm.sh"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() {
  echo "FAIL: $*"
  [ -n "${MH_DIR:-}" ] && tail -n 20 "$MH_DIR"/slurm/slurm*.log
  exit 1
}

mh_up 3 2
mh_slurm_up || fail "could not start Slurm on the hosts"
mh_sq sinfo -N
W=$MH_DIR/shared
mkdir -p "$W"
cd "$W"
mh_fabric_env
export NORMSWEEP=$NS

# reference: 1 rank on host 0
mh_on 0 mpirun -n 1 "$NS" run "$SPEC" -o "$W/ref.h5" --quiet
ok "reference run"

for launch in mpirun srun; do
  j=$(NORMSWEEP_LAUNCH=$launch mh_sq sbatch --parsable --nodes=3 --ntasks=6 \
        --output="$W/$launch.out" "$SRC/slurm/normsweep.sbatch" "$SPEC" "$W/$launch.h5")
  state=$(mh_slurm_wait "$j" 400) || true
  grep -v setpgid "$W/$launch.out" || true
  [ "$state" = "JobState=COMPLETED" ] || fail "$launch job: $state"
  nodes=$(mh_sq scontrol show job "$j" | grep -o ' NodeList=[^ ]*' | head -1)
  [ "$nodes" = " NodeList=node[0-2]" ] || fail "$launch job ran on$nodes, expected node[0-2]"
  $SAME ref.h5 "$launch.h5" || fail "sbatch --nodes=3 with $launch differs from 1 rank"
  ok "sbatch --nodes=3 ($launch) = 1 rank, bitwise"
done

echo "$pass passed, 0 failed"
