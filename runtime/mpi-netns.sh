#!/usr/bin/env bash
# Runs a command under Open MPI's mpirun across N "machines" on this one: N network namespaces joined by veth links
# on a private subnet, one rank in each, talking over TCP only, and prints how many bytes crossed each one's link.
#
#   runtime/mpi-netns.sh [-n HOSTS] [--rate RATE] [--] COMMAND [ARG...]   (as root)
#   runtime/mpi-netns.sh --check                                          (can namespaces be made here?)
#
# COMMAND is what every rank runs, as for `mpirun -np HOSTS COMMAND`. Two hosts are joined by one veth pair; more,
# by a veth pair each to a bridge in a namespace of its own (the switch). Every link lives inside the run's
# namespaces, never in this machine's own, and deleting the namespaces at the end deletes them. Each host is
# unroll<pid>h<i>, 10.77.0.<i+1>/24, loopback up, and runs its processes under that hostname (a UTS namespace of
# their own), so that Open MPI sees N machines: no shared memory between ranks, its TCP transport on the private
# subnet only. mpirun runs in host 0; it starts its daemon on each other host with a launch agent (this script's
# stand-in for ssh) that enters that host's namespaces.
#
#   -n, --hosts N   hosts, one rank on each (default 2)
#   --rate RATE     each host's outgoing link limited to RATE (a token bucket, tc tbf): e.g. 100mbit, 1gbit, 10gbit
#   --check         only checks that this machine lets root make network and UTS namespaces and veth links; exits 0,
#                   or 77 with the reason
#
# Exit status: mpirun's; 2 for bad usage; 77 when namespaces cannot be made here (not root, or the container does
# not grant CAP_SYS_ADMIN and CAP_NET_ADMIN). The environment reaches every rank, as on machines sharing one file
# system. Whatever happens (failure, Ctrl-C, SIGTERM), every process left in the namespaces is ended and every
# namespace, link and file the run made is removed.
set -uo pipefail

me=$(basename "$0")
hosts=2
rate=
check=false
usage() {
  echo "usage: $me [-n HOSTS] [--rate RATE] [--] COMMAND [ARG...]  |  $me --check" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    -n|--hosts) [ $# -ge 2 ] || usage; hosts=$2; shift 2 ;;
    --rate) [ $# -ge 2 ] || usage; rate=$2; shift 2 ;;
    --check) check=true; shift ;;
    --) shift; break ;;
    -*) echo "$me: unknown option '$1'" >&2; usage ;;
    *) break ;;
  esac
done
if ! [[ $hosts =~ ^[0-9]+$ ]] || [ "$hosts" -lt 2 ] || [ "$hosts" -gt 64 ]; then
  echo "$me: --hosts must be a whole number from 2 to 64, got '$hosts'" >&2
  exit 2
fi
burst=
if [ -n "$rate" ]; then
  if ! [[ $rate =~ ^([1-9][0-9]*)(kbit|mbit|gbit)$ ]]; then
    echo "$me: --rate must be a whole number followed by kbit, mbit or gbit (e.g. 1gbit), got '$rate'" >&2
    exit 2
  fi
  case ${BASH_REMATCH[2]} in kbit) bits=1000 ;; mbit) bits=1000000 ;; *) bits=1000000000 ;; esac
  bits=$((BASH_REMATCH[1] * bits))
  # The bucket holds what the link sends in 100 us (at least 16 KiB, the timer's grain): a message of a few KiB
  # waits for its bits as on a real link of that rate instead of passing as one burst.
  burst=$((bits / 8 / 10000))
  [ "$burst" -ge 16384 ] || burst=16384
fi
if ! $check && [ $# -eq 0 ]; then
  usage
fi

# Exit 77 (skip) when this machine cannot host the run, saying why.
cannot() {
  echo "$me: cannot make network namespaces here: $1" >&2
  exit 77
}
[ "$(id -u)" -eq 0 ] || cannot "run as root (ip netns and unshare --uts need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
for tool in ip unshare; do
  command -v $tool >/dev/null || cannot "no '$tool' on the PATH (on Debian: apt-get install iproute2 util-linux)"
done
if ! $check; then
  command -v mpirun >/dev/null || { echo "$me: no mpirun on the PATH (on Debian: apt-get install openmpi-bin" \
    "libopenmpi-dev)" >&2; exit 2; }
fi

prefix="unroll$$h"
made=()      # namespaces made so far, deleted at the end
work=        # the launch agent and Open MPI's session files
mpirun_pid=
cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$mpirun_pid" ] && kill -0 "$mpirun_pid" 2>/dev/null; then
    kill -TERM "$mpirun_pid" 2>/dev/null # mpirun ends its ranks and daemons itself when it can
    for _ in $(seq 50); do kill -0 "$mpirun_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  # Whatever is still running in the namespaces was started by this run: end it, so that no namespace outlives its
  # name and no link its namespace.
  local ns pids
  for ns in "${made[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
  done
  for ns in "${made[@]}"; do
    ip netns del "$ns" 2>/dev/null || echo "$me: could not delete network namespace $ns" >&2
  done
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "$me: interrupted: ending the run" >&2; exit 130' INT
trap 'echo "$me: terminated: ending the run" >&2; exit 143' TERM
trap 'echo "$me: hung up: ending the run" >&2; exit 129' HUP

addns() {
  local err
  err=$(ip netns add "$1" 2>&1) || cannot "'ip netns add' failed: $err (a container without CAP_SYS_ADMIN?)"
  made+=("$1")
  ip -n "$1" link set lo up || exit 1
}

# A run killed with SIGKILL could not remove its namespaces: remove those of runs no longer running, with what is
# left in them.
for stale in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^unroll[0-9]+h'); do
  pid=${stale#unroll}
  pid=${pid%%h*}
  if ! kill -0 "$pid" 2>/dev/null; then
    pids=$(ip netns pids "$stale" 2>/dev/null)
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
    ip netns del "$stale" && echo "$me: removed network namespace $stale, left by a run that was killed" >&2
  fi
done

if $check; then
  addns "${prefix}check0"
  addns "${prefix}check1"
  err=$(ip link add eth0 netns "${prefix}check0" type veth peer name eth0 netns "${prefix}check1" 2>&1) \
    || cannot "a veth pair between namespaces failed: $err"
  err=$(ip netns exec "${prefix}check0" unshare --uts hostname "${prefix}check0" 2>&1) \
    || cannot "a UTS namespace with its own hostname failed: $err"
  echo "$me: network namespaces, veth links and UTS namespaces can be made here"
  exit 0
fi

ns() { echo "$prefix$1"; }
addr() { echo "10.77.0.$(($1 + 1))"; }
for ((i = 0; i < hosts; i++)); do
  addns "$(ns $i)"
done
if [ "$hosts" -eq 2 ]; then
  ip link add eth0 netns "$(ns 0)" type veth peer name eth0 netns "$(ns 1)" || exit 1
else
  switch="${prefix}switch"
  addns "$switch"
  ip -n "$switch" link add br0 type bridge || exit 1
  ip -n "$switch" link set br0 up || exit 1
  for ((i = 0; i < hosts; i++)); do
    ip link add eth0 netns "$(ns $i)" type veth peer name "port$i" netns "$switch" || exit 1
    ip -n "$switch" link set "port$i" master br0 up || exit 1
  done
fi
for ((i = 0; i < hosts; i++)); do
  ip -n "$(ns $i)" addr add "$(addr $i)/24" dev eth0 || exit 1
  ip -n "$(ns $i)" link set eth0 up || exit 1
  if [ -n "$rate" ]; then
    tc -n "$(ns $i)" qdisc add dev eth0 root tbf rate "$rate" burst "$burst" latency 50ms || exit 1
  fi
done

work=$(mktemp -d /tmp/mpi-netns.XXXXXX) || exit 1
# mpirun's "ssh": `agent HOST COMMAND...` runs the command line in HOST's network namespace, as a remote shell
# would, with HOST as the hostname. The host names are the namespaces' names.
cat >"$work/agent" <<'EOF'
#!/bin/sh
host=$1
shift
exec ip netns exec "$host" unshare --uts /bin/sh -c 'hostname "$0" && exec /bin/sh -c "$1"' "$host" "$*"
EOF
chmod +x "$work/agent"
hostlist=$(ns 0)
for ((i = 1; i < hosts; i++)); do
  hostlist+=",$(ns $i)"
done

counter() { # bytes or packets sent or received by host $1's link: counter() 0 tx_bytes
  ip netns exec "$(ns "$1")" cat "/sys/class/net/eth0/statistics/$2"
}
declare -a before
for ((i = 0; i < hosts; i++)); do
  before[$i]="$(counter $i tx_bytes) $(counter $i tx_packets) $(counter $i rx_bytes) $(counter $i rx_packets)"
done
echo "$me: $hosts hosts $hostlist on 10.77.0.0/24${rate:+, each link limited to $rate (tbf, burst $burst B)}"
start=$(date +%s%N)
# mpirun in the background, so that a signal to this script runs its trap at once instead of after mpirun ends.
# Each rank thinks it has a machine to itself and would spin while it waits for the network; here the hosts share
# this machine's cores (with the JIT's threads and whatever else runs), so a waiting rank yields them
# (mpi_yield_when_idle, which mpirun --oversubscribe sets on one host): on 2 busy cores a step of the processor's
# DataParallelRun at 2 ranks took 0.21 ms (median) yielding, 12 ms spinning, a scheduler's time slice.
ip netns exec "$(ns 0)" unshare --uts /bin/sh -c 'hostname "$0" && exec "$@"' "$(ns 0)" \
  mpirun --allow-run-as-root -np "$hosts" --host "$hostlist" --map-by node \
  --mca plm_rsh_agent "$work/agent" --mca plm_rsh_no_tree_spawn 1 --mca orte_tmpdir_base "$work" \
  --mca mpi_yield_when_idle 1 --mca btl tcp,self \
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  "$@" &
mpirun_pid=$!
wait "$mpirun_pid"
rc=$?
mpirun_pid=
end=$(date +%s%N)
echo "$me: mpirun exited with $rc after $(((end - start) / 1000000)) ms"
echo "$me: bytes over each host's link during the run (Ethernet frames, the launch and wire-up included):"
for ((i = 0; i < hosts; i++)); do
  read -r tb tp rb rp <<<"${before[$i]}"
  echo "$me: rank $i host $(ns $i) $(addr $i) sent $(($(counter $i tx_bytes) - tb)) bytes in" \
    "$(($(counter $i tx_packets) - tp)) packets, received $(($(counter $i rx_bytes) - rb)) bytes in" \
    "$(($(counter $i rx_packets) - rp)) packets"
done
exit $rc
