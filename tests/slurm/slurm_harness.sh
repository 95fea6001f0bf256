# slurm_harness.sh - a private single-node Slurm for tests (sourced).
#
#   slurm_up        start munged, slurmctld and slurmd with a generated config
#                   on a free port pair (retried if the port is taken meanwhile)
#                   under $SLURM_TEST_DIR (a fresh temp dir); exports SLURM_CONF
#                   so sbatch/squeue/scontrol talk to it; waits for an idle node
#   slurm_down      stop them by PID (also installed as an EXIT trap)
#   slurm_wait JOB [TIMEOUT]   wait until JOB has left the queue; prints its final state
#
# No systemd needed. Exits 77 (ctest: skipped) with a visible reason when the
# Slurm packages are missing.

slurm_skip() { echo "SKIPPED: $*"; exit 77; }

for b in slurmctld slurmd munged mungekey sbatch scontrol squeue sacct; do
  command -v "$b" >/dev/null 2>&1 || [ "$b" = sacct ] || slurm_skip "$b not installed (scripts/install-deps --with-slurm)"
done

# A pair of ports no socket uses (any state), below the kernel's ephemeral range:
# a port in that range can be taken at any moment by an outgoing connection
# (CI once failed with slurmd "Address already in use" on a port in 32768-40000).
slurm_free_port() {
  local lo p
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for p in $(shuf -i 10000-$((lo - 2)) -n 50); do
    if ! ss -tan 2>/dev/null | grep -qE ":($p|$((p + 1)))\b"; then echo "$p"; return 0; fi
  done
  return 1
}

# slurm_up: start Slurm; a port taken between the check and the bind gets a retry
slurm_up() {
  local attempt fixed=${SLURM_TEST_PORT:-}
  for attempt in 1 2 3; do
    [ -n "$fixed" ] || SLURM_TEST_PORT=$(slurm_free_port) || SLURM_TEST_PORT=
    slurm_up_once && return 0
    grep -qs "Address already in use" "$SLURM_TEST_DIR"/slurm*.log && [ -z "$fixed" ] || return 1
    echo "slurm_up: port $SLURM_TEST_PORT taken meanwhile; retrying with another"
    slurm_down
  done
  return 1
}

slurm_up_once() {
  SLURM_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ns_slurm.XXXXXX")
  local D=$SLURM_TEST_DIR host cpus
  host=$(hostname)
  cpus=$(nproc)
  mkdir -p "$D/state" "$D/spool"
  mungekey --create --keyfile="$D/munge.key" >/dev/null 2>&1 || mungekey -c -k "$D/munge.key"
  chmod 600 "$D/munge.key"
  munged --socket="$D/munge.socket.2" --key-file="$D/munge.key" --log-file="$D/munged.log" \
         --pid-file="$D/munged.pid" --seed-file="$D/munged.seed" --force
  cat > "$D/slurm.conf" <<CONF
ClusterName=nstest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge.socket.2,cred_expire=10
SlurmctldPort=${SLURM_TEST_PORT:-6817}
SlurmdPort=$(( ${SLURM_TEST_PORT:-6817} + 1 ))
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=5
OverTimeLimit=0
InactiveLimit=0
MinJobAge=300
SchedulerParameters=batch_sched_delay=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$D/slurm.conf
  trap slurm_down EXIT
  slurmctld
  slurmd
  local i
  for i in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then return 0; fi
    grep -qs "Address already in use" "$D"/slurm*.log && break
    sleep 0.5
  done
  echo "slurm_up: node did not become idle; logs:"; tail -n 20 "$D"/slurm*.log
  return 1
}

slurm_down() {
  local D=${SLURM_TEST_DIR:-}
  [ -n "$D" ] && [ -d "$D" ] || return 0
  local f pid pids=() i
  for f in slurmd slurmctld munged; do
    pid=$(cat "$D/$f.pid" 2>/dev/null || true)
    [ -n "$pid" ] && pids+=("$pid")
  done
  # job steps left behind by a failed test: only those of this Slurm
  for pid in $(pgrep -f slurmstepd 2>/dev/null || true); do
    if { tr '\0' '\n' < "/proc/$pid/environ"; } 2>/dev/null | grep -qx "SLURM_CONF=$D/slurm.conf"; then
      pids+=("$pid")
    fi
  done
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.1
  done
  [ ${#pids[@]} -gt 0 ] && kill -9 "${pids[@]}" 2>/dev/null || true
  [ -n "${SLURM_KEEP_DIR:-}" ] || rm -rf "$D"
  SLURM_TEST_DIR=
}

# slurm_wait JOBID [TIMEOUT_S]: wait until the job (and its array tasks) left the queue.
slurm_wait() {
  local job=$1 timeout=${2:-300} t=0
  while squeue -h -j "$job" 2>/dev/null | grep -q .; do
    sleep 1; t=$((t + 1))
    if [ $t -ge "$timeout" ]; then echo "slurm_wait: job $job still queued after ${timeout}s"; squeue; return 1; fi
  done
  scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1
}
