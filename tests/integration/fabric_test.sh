#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Usage: fabric_test.sh PEER_EXE FABRIC SCENARIO
#
# Runs tern-fabric-peer processes over one fabric and judges them (exit 0 pass, 1 fail,
# 77 skip with the reason on stdout).
#
# FABRIC:   vhost      net_vhost (node 1, the lower id, hosts the socket) and
#                      net_virtio_user (node 2) on a unix socket in a temp dir
#           memif      net_memif server (node 1) and client (node 2), socket-abstract=no
#           af_packet  net_af_packet on a veth pair; node 1 runs in a network namespace
#                      the test creates (root only) and removes
#           udp        the kernel udp driver on 127.0.0.1
# SCENARIO: exchange   node 2 sends TERN_FABRIC_COUNT (100000) frames of mixed sizes up
#                      to 8 KiB to node 1, with foreign-group and corrupted frames
#                      injected mid-stream; node 1 checks every frame arrives intact
#                      exactly once or is counted lost, and that both kinds of bad frame
#                      were rejected and counted
#           kill       node 2 streams to node 1 until it is killed with SIGKILL; node 1
#                      must keep running and report the peer down
#           kill-host  the same, but node 1 (the vhost socket's host) is killed and
#                      node 2, still sending, must survive and report it down
#           rtt3       (a measurement, not a registered test) node 3 pings nodes 1 and 2
#                      through the mesh and reports round-trip times
#           mesh3      three nodes, each linked to each other one (vhost: the lower id
#                      hosts), each sending TERN_FABRIC_MESH_COUNT (20000) frames to both
#                      others: the mesh case (several ports per process) and three
#                      polling processes sharing two cores
#
# Environment: TERN_FABRIC_COUNT, TERN_FABRIC_MESH_COUNT, TERN_FABRIC_TIMEOUT (seconds a
# node may run), TERN_FABRIC_POLL (busy or adaptive, default adaptive), TERN_FABRIC_HUGE=1
# (hugepages, reserved beforehand, with --in-memory --single-file-segments instead of
# --no-huge --no-shconf: vhost-user takes at most 8 memory regions, one per segment file).
#
# DPDK processes get FABRIC.md's arguments: --no-huge -m 128 --no-pci --no-shconf, their
# own --file-prefix and --lcores='0@(0-1)'. Sockets live in a fresh temp dir; the temp
# dir, /var/run/dpdk/<prefix>/, the namespace and the veths are removed on exit.
set -u

peer=${1:?usage: fabric_test.sh PEER_EXE FABRIC SCENARIO}
fabric=${2:?fabric}
scenario=${3:?scenario}
count=${TERN_FABRIC_COUNT:-100000}
mesh_count=${TERN_FABRIC_MESH_COUNT:-20000}
node_timeout=${TERN_FABRIC_TIMEOUT:-50}
poll=${TERN_FABRIC_POLL:-adaptive} # busy | adaptive (the nodes' idle policy)

tag="tern$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-fabric.XXXXXX") || exit 1
declare -A pid_of=()
prefixes=()
netns=
veth=

log() {
    printf '[fabric %s/%s %5ss] %s\n' "$fabric" "$scenario" "$SECONDS" "$*"
}

skip() {
    echo "SKIP: $*"
    exit 77
}

# shellcheck disable=SC2317 # (called from the EXIT trap)
cleanup() {
    local n p
    for n in "${!pid_of[@]}"; do
        kill -9 "${pid_of[$n]}" 2>/dev/null
    done
    wait 2>/dev/null
    for p in "${prefixes[@]}"; do
        rm -rf "/var/run/dpdk/$p" "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$p"
    done
    [[ -n $veth ]] && ip link del "$veth" 2>/dev/null
    [[ -n $netns ]] && ip netns del "$netns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# eal NODE: set EAL to the EAL arguments of node NODE (vdevs are added by the caller).
EAL=()
eal() {
    local p="$tag-$fabric-$1"
    prefixes+=("$p")
    if [[ ${TERN_FABRIC_HUGE:-0} == 1 ]]; then
        # Hugepages reserved beforehand (echo 256 > /proc/sys/vm/nr_hugepages).
        EAL=(-m 128 --in-memory --single-file-segments)
    else
        EAL=(--no-huge -m 128 --no-shconf)
    fi
    EAL+=(--no-pci "--file-prefix=$p" '--lcores=0@(0-1)' '--log-level=lib.eal:notice'
        '--log-level=lib.vhost.*:notice')
}

# start NODE CMD...: run CMD in the background, output in $tmp/NODE.log.
start() {
    local n=$1
    shift
    "$@" >"$tmp/$n.log" 2>&1 &
    pid_of[$n]=$!
}

# finish NODE: wait for NODE; its exit status goes to RC.
RC=0
finish() {
    wait "${pid_of[$1]}"
    RC=$?
    unset "pid_of[$1]"
}

# wait_for WHAT SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
    local what=$1 secs=$2 i
    shift 2
    for ((i = 0; i < secs * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    log "timed out waiting for $what"
    return 1
}

show() {
    local n
    for n in "$@"; do
        echo "---- node $n output ($tmp/$n.log)"
        cat "$tmp/$n.log"
    done
}

# The address of node N: 10.77.0.N, UDP port 7410 (udp fabric: 127.0.0.1, per-run ports).
udp_base=$((10000 + $$ % 20000)) # below the ephemeral port range
addr() {
    if [[ $fabric == udp ]]; then
        echo "127.0.0.1,$((udp_base + $1))"
    else
        echo "10.77.0.$1,7410"
    fi
}

# The MAC node N is given ('-': the port's own; peers send to broadcast).
mac() {
    if [[ $fabric == af_packet ]]; then
        echo "02:00:00:77:00:0$1"
    else
        echo -
    fi
}

declare -A vdevs=() # node -> "vdev args" (several, space separated)
declare -A via=()   # "a-b" -> ethdev name on node a that reaches node b

# link A B: a point-to-point link between nodes A < B on this fabric.
link() {
    local a=$1 b=$2 sock="$tmp/$1-$2.sock" ia ib
    ia=$(grep -o "net_[a-z_]*[0-9]*" <<<"${vdevs[$a]:-}" | wc -l)
    ib=$(grep -o "net_[a-z_]*[0-9]*" <<<"${vdevs[$b]:-}" | wc -l)
    rm -f "$sock"
    case $fabric in
    vhost)
        vdevs[$a]+=" --vdev=net_vhost$ia,iface=$sock"
        vdevs[$b]+=" --vdev=net_virtio_user$ib,path=$sock,queue_size=1024"
        via[$a-$b]=net_vhost$ia
        via[$b-$a]=net_virtio_user$ib
        ;;
    memif)
        # bsize holds a whole frame: DPDK 22.11's memif Tx leaves a stale NEXT flag on
        # the first descriptor of a packet, so packets spanning several buffers corrupt
        # the ring (duplicated and garbled frames; fixed upstream in f7a52200d4, 26.03).
        local opts="id=0,socket=$sock,socket-abstract=no,bsize=9216"
        vdevs[$a]+=" --vdev=net_memif$ia,role=server,$opts"
        vdevs[$b]+=" --vdev=net_memif$ib,role=client,$opts"
        via[$a-$b]=net_memif$ia
        via[$b-$a]=net_memif$ib
        ;;
    af_packet)
        local opts="qdisc_bypass=1,framesz=10240,blocksz=20480,framecnt=512"
        vdevs[$a]+=" --vdev=net_af_packet$ia,iface=${tag}b,$opts"
        vdevs[$b]+=" --vdev=net_af_packet$ib,iface=${tag}a,$opts"
        via[$a-$b]=net_af_packet$ia
        via[$b-$a]=net_af_packet$ib
        ;;
    esac
}

# cmd NODE ROLE COUNT PEERS... [-- EXTRA...]: set CMD to the command line of node NODE.
CMD=()
cmd() {
    local n=$1 role=$2 cnt=$3 p
    shift 3
    local args=() pre=()
    if [[ $fabric != udp ]]; then
        eal "$n"
        # shellcheck disable=SC2206
        pre=("${EAL[@]}" ${vdevs[$n]} --)
        args+=(--driver dpdk --self "$n,$(mac "$n"),$(addr "$n")")
        # af_packet copies each frame into one mbuf, and refuses an rx queue whose mbufs
        # are smaller than its frames (framesz - 32 bytes of tpacket header).
        [[ $fabric == af_packet ]] && args+=(--driver-args "mbuf_size=$((128 + 10240))")
    else
        args+=(--driver udp --self "$n,-,$(addr "$n")")
    fi
    while (($# > 0)) && [[ $1 != -- ]]; do
        p=$1
        shift
        if [[ $fabric == udp ]]; then
            args+=(--peer "$p,-,$(addr "$p")")
        else
            args+=(--peer "$p,$(mac "$p"),$(addr "$p"),${via[$n-$p]}")
        fi
    done
    (($# > 0)) && shift
    args+=(--role "$role" --count "$cnt" --timeout "$node_timeout" --poll "$poll" "$@")
    CMD=("$peer" "${pre[@]}" "${args[@]}")
    if [[ $n == 1 && -n $netns ]]; then
        CMD=(ip netns exec "$netns" "${CMD[@]}")
    fi
}

# run_node NODE ROLE COUNT PEERS... [-- EXTRA...]
run_node() {
    local n=$1
    cmd "$@"
    log "node $n: ${CMD[*]}"
    start "$n" "${CMD[@]}"
}

# shellcheck disable=SC2317 # (called through wait_for)
socket_up() {
    [[ -S $1 ]]
}

# ---- fabric set-up ----

case $fabric in
vhost | memif | af_packet)
    [[ -x $peer ]] || skip "$peer not built"
    ;;
udp) ;;
*)
    echo "unknown fabric $fabric"
    exit 1
    ;;
esac

if [[ $fabric == af_packet ]]; then
    ((EUID == 0)) || skip "af_packet over veth between namespaces needs root"
    command -v ip >/dev/null || skip "iproute2 (ip) not installed"
    netns="${tag}ns"
    ip netns add "$netns" 2>"$tmp/ns.err" || skip "cannot create a network namespace: $(cat "$tmp/ns.err")"
    if ! ip link add "${tag}a" type veth peer name "${tag}b" 2>"$tmp/veth.err"; then
        skip "cannot create a veth pair: $(cat "$tmp/veth.err")"
    fi
    veth="${tag}a"
    ip link set "${tag}b" netns "$netns" || exit 1
    ip link set "${tag}a" address 02:00:00:77:00:02 mtu 9000 up || exit 1
    ip netns exec "$netns" ip link set "${tag}b" address 02:00:00:77:00:01 mtu 9000 up || exit 1
    ip netns exec "$netns" ip link set lo up
    # No IPv6 chatter (router solicitations) on the test link.
    sysctl -qw "net.ipv6.conf.${tag}a.disable_ipv6=1" 2>/dev/null
    ip netns exec "$netns" sysctl -qw "net.ipv6.conf.${tag}b.disable_ipv6=1" 2>/dev/null
fi

# Can this machine create the vdev at all? (A vdev that fails to probe does not fail
# rte_eal_init, so the peer exits 77 when it finds no port.)
probe() {
    local p=()
    case $fabric in
    vhost) p=(--vdev="net_vhost0,iface=$tmp/probe.sock") ;;
    memif) p=(--vdev="net_memif0,role=server,socket=$tmp/probe.sock,socket-abstract=no") ;;
    *) return 0 ;;
    esac
    eal probe
    "$peer" "${EAL[@]}" "${p[@]}" -- --probe >"$tmp/probe.log" 2>&1
    local rc=$?
    rm -f "$tmp/probe.sock"
    if ((rc == 77)); then
        grep -q 'built without the dpdk driver' "$tmp/probe.log" &&
            skip "tern-fabric-peer was built without the dpdk driver (-Ddpdk=disabled)"
        cat "$tmp/probe.log"
        skip "the $fabric vdev cannot be created here"
    elif ((rc != 0)); then
        show probe
        echo "FAIL: probing the $fabric vdev exited $rc"
        exit 1
    fi
}
probe

# ---- scenarios ----

# check NODE RC: a node's verdict.
verdict=0
check() {
    local n=$1 rc=$2
    if ((rc == 77)); then
        show "$n"
        # The probe showed the vdev can be created: a node that cannot is a failure.
        [[ $fabric == udp ]] && skip "node $n could not set up the fabric"
        log "node $n could not set up the fabric although the probe could"
        verdict=1
        return
    fi
    if ((rc != 0)) || ! grep -q '^result=pass' "$tmp/$n.log"; then
        log "node $n FAILED (exit $rc)"
        verdict=1
    else
        log "node $n passed"
    fi
}

# Start node 1 (it hosts the vhost/memif socket), then node 2 once the socket is there.
start_pair() {
    local role1=$1 cnt1=$2 role2=$3 cnt2=$4 x1=$5 x2=$6
    link 1 2
    # shellcheck disable=SC2086
    run_node 1 "$role1" "$cnt1" 2 -- $x1
    if [[ $fabric == vhost || $fabric == memif ]]; then
        wait_for "node 1's socket" 10 socket_up "$tmp/1-2.sock" || {
            show 1
            exit 1
        }
    fi
    # shellcheck disable=SC2086
    run_node 2 "$role2" "$cnt2" 1 -- $x2
}

case $scenario in
exchange)
    lossless="--max-lost 0"
    [[ $fabric == udp || $fabric == af_packet ]] && lossless=""
    # A peer silent for 5 s is down (a loaded machine may stall a process for a while).
    start_pair recv "$count" send "$count" "--expect-rejects --down-ms 5000 $lossless" \
        "--inject --down-ms 5000"
    finish 2
    rc2=$RC
    finish 1
    check 2 "$rc2"
    check 1 "$RC"
    show 1 2
    ;;
kill | kill-host)
    # kill: node 2 (virtio-user, memif client, the node outside the namespace) dies;
    # kill-host: node 1 (the one hosting the vhost socket) dies and node 2 survives.
    victim=2 survivor=1
    [[ $scenario == kill-host ]] && victim=1 survivor=2
    x_victim="" x_survivor="--expect-down --down-ms 500"
    if ((victim == 2)); then
        start_pair recv 0 send 0 "$x_survivor" "$x_victim"
    else
        start_pair recv 0 send 0 "$x_victim" "$x_survivor"
    fi
    wait_for "node $survivor to hear node $victim" 20 \
        grep -q '^event=peer_up' "$tmp/$survivor.log" || {
        show 1 2
        exit 1
    }
    sleep 0.5
    log "kill -9 node $victim (pid ${pid_of[$victim]})"
    kill -9 "${pid_of[$victim]}"
    finish $victim
    finish $survivor
    check $survivor "$RC"
    show $survivor
    grep -q "^event=peer_down peer=$victim" "$tmp/$survivor.log" || {
        log "node $survivor did not report node $victim down"
        verdict=1
    }
    ;;
mesh3)
    [[ $fabric == vhost ]] || {
        echo "mesh3 runs over vhost only"
        exit 1
    }
    link 1 2
    link 1 3
    link 2 3
    # Start in id order: each node's virtio-user ports connect to lower ids' sockets.
    run_node 1 both "$mesh_count" 2 3 -- --max-lost 0 --down-ms 5000
    wait_for "node 1's sockets" 10 socket_up "$tmp/1-3.sock" || exit 1
    run_node 2 both "$mesh_count" 1 3 -- --max-lost 0 --down-ms 5000
    wait_for "node 2's socket" 10 socket_up "$tmp/2-3.sock" || exit 1
    run_node 3 both "$mesh_count" 1 2 -- --max-lost 0 --down-ms 5000
    for n in 3 2 1; do
        finish $n
        check $n "$RC"
    done
    show 1 2 3
    ;;
rtt3)
    # Not a registered test (a measurement): node 1 sends one frame at a time to nodes
    # 2 and 3, which echo it; the round trip ends with the second echo (a quorum of 3).
    # TERN_FABRIC_RTT_GAP_US between round trips lets the nodes go idle in between.
    link 1 2
    link 1 3
    link 2 3
    run_node 1 echo 0 2 3
    wait_for "node 1's sockets" 10 socket_up "$tmp/1-3.sock" || exit 1
    run_node 2 echo 0 1 3
    wait_for "node 2's socket" 10 socket_up "$tmp/2-3.sock" || exit 1
    run_node 3 ping "${TERN_FABRIC_RTT_COUNT:-2000}" 1 2 -- --sizes 64 \
        --gap-us "${TERN_FABRIC_RTT_GAP_US:-0}"
    for n in 3 2 1; do
        finish $n
        check $n "$RC"
    done
    grep -h -E '^(rtt|driver)' "$tmp/3.log" "$tmp/2.log" "$tmp/1.log"
    ;;
*)
    echo "unknown scenario $scenario"
    exit 1
    ;;
esac

log "verdict: $([[ $verdict == 0 ]] && echo pass || echo FAIL)"
exit $verdict
