# shellcheck shell=bash disable=SC2016  # single-quoted \$ is meant: the agent's own code
# mh_harness.sh - N "hosts" on one machine, for multi-node MPI tests (sourced).
#
#   mh_up N [SLOTS]    create N network namespaces ${MH_PREFIX}h0.. on a private
#                      bridge (in a namespace of its own, ${MH_PREFIX}sw), host i at
#                      ${MH_NET}.(i+1)/24 on its eth0; write $MH_DIR/{agent,hostfile};
#                      installs mh_down as an EXIT trap
#   mh_mpirun ARGS...  mpirun on host 0 (the "launch node") across all hosts:
#                      TCP between hosts, shared memory within one
#   mh_on I CMD...     run CMD on host I (its network, its hostname)
#   mh_pids I          pids of every process on host I
#   mh_kill_host I [SIG]  kill every process on host I (default SIGKILL)
#   mh_cut_host I      take host I off the network, its processes alive
#   mh_uncut_host I    put it back
#   mh_launcher_pid    pid of mpirun (on host 0)
#   mh_rank_pid R      pid of MPI rank R
#   mh_down            kill what runs on the hosts, delete the namespaces
#
# Nothing outside the namespaces is touched: the root namespace gets no
# interface, route or address; all addresses are ${MH_NET}.x inside them.
#
# Why each piece (docs/multihost.md has the full recipe):
# - Open MPI decides which processes share a node by HOSTNAME: the daemons
#   report gethostname() and the launcher merges nodes that report the same
#   name. Network namespaces share the UTS (hostname) namespace, so every
#   process on every host also gets its own UTS namespace (unshare --uts) and
#   the host's name. Without it, vader (shared memory) is chosen between
#   "hosts" and MPI_Comm_split_type(SHARED) groups are wrong.
# - A process enters a host with `nsenter --net`, not `ip netns exec`: the
#   latter also remounts /sys for the namespace, which hides the cgroup
#   mounts (slurmd refuses to start without them: tests/slurm multi-node).
# - Open MPI starts its daemons through an rsh agent; $MH_DIR/agent maps a
#   host name or address to its namespace and runs the command there, so no
#   sshd is needed. Like ssh, it starts the daemon with a clean environment
#   (PATH, HOME, a node-local TMPDIR, and the variables named in
#   MH_KEEP_ENV): what a real node's login shell would not have, the remote
#   ranks do not get either (mpirun -x forwards variables, as on a cluster).
# - All processes see one filesystem, like a cluster's shared filesystem;
#   each host has its own TMPDIR ($MH_DIR/hosts/hI/tmp) as node-local scratch.
#
# Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN), iproute2, util-linux
# (unshare) and Open MPI; otherwise a test exits 77 (ctest: skipped) with the
# reason.

MH_PREFIX=${MH_PREFIX:-nsmh$$}
MH_NET=${MH_NET:-10.213.0}
MH_KEEP_ENV=${MH_KEEP_ENV:-PATH LD_LIBRARY_PATH OPAL_PREFIX PMIX_INSTALL_PREFIX}
MH_NHOSTS=0
MH_DIR=

mh_skip() { echo "SKIPPED: $*"; exit 77; }

# mh_check: can this machine make hosts? Exits 77 with the reason if not.
mh_check() {
  local b probe err
  for b in ip nsenter unshare mpirun; do
    command -v "$b" >/dev/null 2>&1 || mh_skip "multihost: '$b' not installed (iproute2, util-linux, openmpi-bin)"
  done
  probe=${MH_PREFIX}probe
  if ! err=$(ip netns add "$probe" 2>&1); then
    mh_skip "multihost: cannot create a network namespace (needs root or CAP_NET_ADMIN+CAP_SYS_ADMIN): $err"
  fi
  if ! err=$(ip link add name a0 netns "$probe" type veth peer name b0 netns "$probe" 2>&1); then
    ip netns del "$probe" 2>/dev/null
    mh_skip "multihost: cannot create a veth pair (no veth support in this kernel/container?): $err"
  fi
  if ! err=$(nsenter --net="/run/netns/$probe" unshare --uts sh -c 'hostname mh-probe' 2>&1); then
    ip netns del "$probe" 2>/dev/null
    mh_skip "multihost: cannot set a hostname in a new UTS namespace: $err"
  fi
  ip netns del "$probe"
}

mh_host_name() { echo "node$1"; }                 # hostname of host I
mh_host_addr() { echo "$MH_NET.$(($1 + 1))"; }     # address of host I
mh_ns() { echo "${MH_PREFIX}h$1"; }                # namespace of host I

# mh_up N [SLOTS]
mh_up() {
  local n=${1:-3} slots=${2:-2} i sw=${MH_PREFIX}sw ns
  mh_check
  MH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ns_mh.XXXXXX")
  trap mh_down EXIT
  ip netns add "$sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  : > "$MH_DIR/hostfile"
  for ((i = 0; i < n; i++)); do
    ns=$(mh_ns "$i")
    ip netns add "$ns"
    MH_NHOSTS=$((i + 1))
    # one veth pair: eth0 on the host, pI on the switch; created in place, so
    # the root namespace never holds either end
    ip link add name eth0 netns "$ns" type veth peer name "p$i" netns "$sw"
    ip -n "$ns" addr add "$(mh_host_addr "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$sw" link set "p$i" master br0
    ip -n "$sw" link set "p$i" up
    mkdir -p "$MH_DIR/hosts/h$i/tmp"
    echo "$(mh_host_addr "$i") slots=$slots" >> "$MH_DIR/hostfile"
  done
  mh_write_agent
}

# The rsh agent: Open MPI calls it as `agent HOST COMMAND...` (COMMAND is a
# shell command line, as for ssh).
mh_write_agent() {
  local i keep=""
  local v
  for v in $MH_KEEP_ENV; do
    [ -n "${!v:-}" ] && keep+=" $v=$(printf %q "${!v}")"
  done
  {
    echo '#!/bin/bash'
    echo '# Open MPI rsh agent written by tests/multihost/mh_harness.sh: agent HOST COMMAND...'
    echo 'while [ "${1#-}" != "$1" ]; do shift; done   # ssh-style options: none expected'
    echo 'host=$1; shift'
    echo 'case $host in'
    for ((i = 0; i < MH_NHOSTS; i++)); do
      echo "  $(mh_host_addr "$i")|$(mh_host_name "$i")) ns=$(mh_ns "$i") name=$(mh_host_name "$i") tmp=$MH_DIR/hosts/h$i/tmp ;;"
    done
    echo '  *) echo "mh agent: unknown host $host" >&2; exit 255 ;;'
    echo 'esac'
    echo "exec nsenter --net=\"/run/netns/\$ns\" unshare --uts env -i HOME=\"\$HOME\" TMPDIR=\"\$tmp\"$keep \\"
    echo '  /bin/sh -c "hostname $name && $*"'
  } > "$MH_DIR/agent"
  chmod +x "$MH_DIR/agent"
}

# mh_on I CMD...: CMD on host I, with the caller's environment (TMPDIR: the host's)
mh_on() {
  local i=$1
  shift
  nsenter --net="/run/netns/$(mh_ns "$i")" unshare --uts \
    env TMPDIR="$MH_DIR/hosts/h$i/tmp" /bin/sh -c 'hostname "$0" && exec "$@"' "$(mh_host_name "$i")" "$@"
}

# Open MPI's settings for this fabric. pml ob1 + btl: the TCP/shared-memory
# path a cluster without InfiniBand takes (and no UCX probing).
mh_mca() {
  echo --mca plm rsh --mca plm_rsh_agent "$MH_DIR/agent" --hostfile "$MH_DIR/hostfile" \
       --mca pml ob1 --mca btl tcp,vader,self \
       --mca btl_tcp_if_include "$MH_NET.0/24" --mca oob_tcp_if_include "$MH_NET.0/24"
}

# mh_mpirun ARGS...: mpirun on host 0
mh_mpirun() {
  # shellcheck disable=SC2046  # mh_mca's words are safe (no spaces in MH_DIR: mktemp)
  mh_on 0 mpirun $(mh_mca) "$@"
}

mh_pids() { ip netns pids "$(mh_ns "$1")" 2>/dev/null; }

# mh_launcher_pid: pid of the mpirun that mh_mpirun started on host 0 (signals
# for the job go to it, not to the shell function running it)
mh_launcher_pid() {
  local p
  for p in $(mh_pids 0); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mpirun ] && { echo "$p"; return 0; }
  done
  return 1
}

# mh_cut_host I: take host I off the network (its link down), its processes
# alive: a hung or unplugged node, which sends no TCP reset to anyone
mh_cut_host() { ip -n "$(mh_ns "$1")" link set eth0 down; }
mh_uncut_host() { ip -n "$(mh_ns "$1")" link set eth0 up; }

# mh_rank_pid R: pid of MPI rank R (of the running job), on whichever host
mh_rank_pid() {
  local i p
  for ((i = 0; i < MH_NHOSTS; i++)); do
    for p in $(mh_pids "$i"); do
      tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" &&
        { echo "$p"; return 0; }
    done
  done
  return 1
}

mh_kill_host() {
  local pids
  pids=$(mh_pids "$1")
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill "-${2:-KILL}" $pids 2>/dev/null
  return 0
}

mh_down() {
  local i ns pids
  for ((i = 0; i < MH_NHOSTS; i++)); do mh_kill_host "$i" KILL; done
  for ((i = 0; i < MH_NHOSTS; i++)); do
    ns=$(mh_ns "$i")
    for _ in 1 2 3 4 5 6 7 8 9 10; do   # processes must be gone before the namespace
      pids=$(mh_pids "$i")
      [ -z "$pids" ] && break
      sleep 0.1
    done
    ip netns del "$ns" 2>/dev/null
  done
  ip netns del "${MH_PREFIX}sw" 2>/dev/null
  MH_NHOSTS=0
  if [ -n "$MH_DIR" ] && [ -z "${MH_KEEP_DIR:-}" ]; then rm -rf "$MH_DIR"; fi
  MH_DIR=
  return 0
}
