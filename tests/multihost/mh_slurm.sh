# shellcheck shell=bash
# mh_slurm.sh - a Slurm cluster on the hosts of mh_harness.sh (sourced after it).
#
#   mh_slurm_up        munged + slurmctld on host 0, one slurmd per host (NodeName
#                      nodeI, NodeAddr = the host's address); waits until every
#                      node is idle; exports SLURM_CONF. mh_down stops them all
#                      (every process in the namespaces dies with the hosts).
#   mh_fabric_env      export the OMPI_MCA_* settings of mh_mca for jobs (sbatch
#                      passes the submitting environment on)
#   mh_sq CMD...       a Slurm client command (sbatch, squeue, scontrol) on host 0
#   mh_slurm_wait JOB [TIMEOUT]   wait until JOB left the queue; prints JobState=
#
# What it takes (docs/multihost.md):
# - one slurmd per namespace, each finding its NodeName from its own hostname
#   (nodeI, the UTS namespace of the host), so `slurmd -N` (which needs a Slurm
#   built with --enable-multiple-slurmd) is not needed;
# - per-node paths through Slurm's %n: SlurmdSpoolDir, SlurmdPidFile,
#   SlurmdLogFile, and TmpFS, which the mpi/pmix plugin uses for its per-step
#   directory (with one shared /tmp the stepds of all nodes collide: "Cannot
#   create directory /tmp/spmix_appdir_0_2.0: File exists");
# - daemons entered with nsenter --net (ip netns exec hides /sys/fs/cgroup, and
#   slurmd refuses to start without it).

mh_sq() { mh_on 0 "$@"; }

mh_fabric_env() {
  export OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,vader,self \
         OMPI_MCA_btl_tcp_if_include="$MH_NET.0/24" OMPI_MCA_oob_tcp_if_include="$MH_NET.0/24"
}

mh_slurm_up() {
  local b D=$MH_DIR/slurm i nodes cpus=${MH_SLURM_CPUS:-2}
  for b in slurmctld slurmd munged mungekey sbatch scontrol squeue sinfo; do
    command -v "$b" >/dev/null 2>&1 || mh_skip "multihost Slurm: '$b' not installed (scripts/install-deps --with-slurm)"
  done
  mkdir -p "$D/state"
  for ((i = 0; i < MH_NHOSTS; i++)); do mkdir -p "$D/spool/node$i" "$D/tmp/node$i"; done
  mungekey --create --keyfile="$D/munge.key" >/dev/null 2>&1 || mungekey -c -k "$D/munge.key"
  chmod 600 "$D/munge.key"
  # munged's socket is a file: every host reaches it through the shared filesystem
  mh_on 0 munged --socket="$D/munge.socket.2" --key-file="$D/munge.key" --log-file="$D/munged.log" \
    --pid-file="$D/munged.pid" --seed-file="$D/munged.seed" --origin="$(mh_host_addr 0)" --force
  nodes="node[0-$((MH_NHOSTS - 1))]"
  {
    echo "ClusterName=nsmh"
    echo "SlurmctldHost=node0($(mh_host_addr 0))"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "AuthInfo=socket=$D/munge.socket.2,cred_expire=10"
    echo "SlurmctldPort=6817"
    echo "SlurmdPort=6818"
    echo "StateSaveLocation=$D/state"
    echo "SlurmdSpoolDir=$D/spool/%n"
    echo "TmpFS=$D/tmp/%n"
    echo "SlurmctldPidFile=$D/slurmctld.pid"
    echo "SlurmdPidFile=$D/slurmd.%n.pid"
    echo "SlurmctldLogFile=$D/slurmctld.log"
    echo "SlurmdLogFile=$D/slurmd.%n.log"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobCompType=jobcomp/none"
    echo "SwitchType=switch/none"
    echo "MpiDefault=none"
    echo "SchedulerType=sched/backfill"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "ReturnToService=2"
    echo "KillWait=5"
    echo "OverTimeLimit=0"
    echo "InactiveLimit=0"
    echo "MinJobAge=300"
    echo "SchedulerParameters=batch_sched_delay=0"
    for ((i = 0; i < MH_NHOSTS; i++)); do
      echo "NodeName=node$i NodeAddr=$(mh_host_addr "$i") CPUs=$cpus Boards=1 SocketsPerBoard=1" \
           "CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=2000 State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=$nodes Default=YES MaxTime=INFINITE State=UP"
  } > "$D/slurm.conf"
  export SLURM_CONF=$D/slurm.conf
  mh_on 0 slurmctld
  for ((i = 0; i < MH_NHOSTS; i++)); do mh_on "$i" slurmd; done
  for i in $(seq 1 60); do
    [ "$(mh_sq sinfo -h -o '%T %D' 2>/dev/null)" = "idle $MH_NHOSTS" ] && return 0
    sleep 0.5
  done
  echo "mh_slurm_up: nodes not idle: $(mh_sq sinfo -h -N -o '%N %T' 2>&1 | tr '\n' ' ')"
  tail -n 5 "$D"/slurm*.log
  return 1
}

mh_slurm_wait() {
  local job=$1 timeout=${2:-300} t=0
  while mh_sq squeue -h -j "$job" 2>/dev/null | grep -q .; do
    sleep 1
    t=$((t + 1))
    if [ $t -ge "$timeout" ]; then echo "mh_slurm_wait: job $job still queued after ${timeout}s"; return 1; fi
  done
  mh_sq scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1
}
