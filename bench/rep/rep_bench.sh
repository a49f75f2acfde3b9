#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/rep: commits through a 3-node replication group (issue 4), installed as
# build/bench/rep/tern-bench-rep and run as `tools/bench.sh rep`; --help says it all.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# In a build folder: build/bench/rep/, ../../apps/ternd, ../fabric/; installed: all in bindir.
pick() {
    local f
    for f in "$@"; do
        if [[ -x $f ]]; then
            echo "$f"
            return
        fi
    done
    echo "$1"
}
ternd=${TERND:-$(pick "$here/../../apps/ternd" "$here/ternd")}
fabric_bench=${FABRIC_BENCH:-$(pick "$here/../fabric/tern-bench-fabric" "$here/tern-bench-fabric")}
floor_exe=${FLOOR_EXE:-$(pick "$here/tern-bench-rep-floor")}
# The group's shared logic (tools/lib/group.sh): copied beside this script in a build
# folder (group.sh), in the source tree, or installed under share/tern.
group_sh=${TERN_GROUP_SH:-$(for f in "$here/group.sh" "$here/../../tools/lib/group.sh" \
    "$here/../share/tern/group.sh"; do [[ -f $f ]] && echo "$f" && break; done)}
[[ -f $group_sh ]] || {
    echo "tern-bench-rep: tools/lib/group.sh not found beside $here" >&2
    exit 2
}
# shellcheck source=tools/lib/group.sh
. "$group_sh"

usage() {
    cat <<'EOF'
usage: tern-bench-rep [options]   (tools/bench.sh rep [options])

Commits of 100-byte entries through a 3-node Tern replication group on this machine:
three ternd processes (node 1 the static master, nodes 2 and 3 electable replicas),
driven through the master's --commands mode (`load N K L,R,A TIMEOUT_MS`), for
1 outstanding commit (latency) and 32 and 256 (throughput), under

  sync=yes  SYNC: sync,sync,simple_majority (--sync-durability changes it). JE's
            SyncPolicy.SYNC makes a commit durable on the disk of the node that runs
            it; for a group that means on a quorum's disks: the master fdatasyncs its
            log, each replica fdatasyncs before it acks, and the commit returns once the
            master and one replica (SIMPLE_MAJORITY of 3) hold it on disk. (JE HA's
            default COMMIT_SYNC durability is sync,no_sync,simple_majority: give
            --sync-durability sync,no_sync,simple_majority to measure that.)
  sync=no   NO_SYNC: no_sync,no_sync,simple_majority (a quorum holds it in memory)

over three fabrics in the same run, each a full mesh of point-to-point links:
dpdk-vhost (net_vhost on the lower node id, net_virtio_user on the higher), dpdk-memif
(server on the lower id, client on the higher; bsize=9216) and udp (the kernel udp
driver on 127.0.0.1, datapath on a pthread). DPDK nodes: --no-huge -m 128 --no-pci
--no-shconf, their own --file-prefix, --lcores='0@(0-1),1@(0-1)' (datapath on worker
lcore 1; never all pinned to one CPU), adaptive polling (--poll).

Floors, measured in the same run:
  bench=floor test=fdatasync  pwrite+fdatasync of 128-byte appends in a file in the
                              same directory as the nodes' homes (tern-bench-rep-floor)
  bench=floor test=fdatasync_shared writers=3  the same in three processes at once, each
                              in its own file: what the three nodes' fdatasyncs cost when
                              they share this one disk (a SYNC commit waits for the
                              master's and one replica's); printed for context, the check
                              is against the single-writer floor
  bench=floor test=rtt        64-byte ping-pong RTT between two processes over each
                              fabric, adaptive polling (tern-bench-fabric --quick --poll
                              adaptive --only dpdk-vhost,dpdk-memif,udp)

Options:
  --quick              one round, about 0.5 s per measurement (about a minute)
  --rounds N           start the groups N times (fresh homes each time), the drivers
                       interleaved within a round, and report each measurement's median
                       round (default 3; --quick: 1)
  --time-scale X       multiply the time per measurement (default 2 s; --quick 0.5 s;
                       sized by a short calibration load before each) by X
  --only LIST          comma-separated drivers: dpdk-vhost, dpdk-memif, udp (default
                       all), or none: no floors and no group measurements, only what
                       --syscalls and --instructions add
  --sync-durability D  what sync=yes runs (default sync,sync,simple_majority)
  --poll MODE          adaptive (default) or busy: ternd's --poll
  --syscalls           also count, on the master of a dpdk-vhost group started for it
                       once per poll mode (busy, then adaptive; all three nodes in
                       that mode), over the window of a sync=yes outstanding=32 load:
                       syscalls (perf record raw_syscalls:sys_enter, all threads;
                       strace -c -f without perf) and instructions (perf's hardware
                       counter, where the machine has one; n/a in VMs without a PMU)
                       per commit, plus the master's CPU time per commit and its top
                       syscalls
  --instructions       also count instructions and syscalls per commit on the
                       datapath thread with callgrind (no PMU needed; about 2 minutes,
                       --quick about 1): a udp group (no EAL: valgrind and DPDK do not
                       mix well, so the dpdk drivers are not measured this way) whose
                       master runs under valgrind --tool=callgrind --separate-threads=yes
                       --collect-systime=yes, once with --poll busy and once with
                       --poll adaptive (the replicas run natively, adaptive, to leave
                       the CPUs to valgrind; every node gets --ack-timeout-ms 600000 and
                       every commit a 600 s timeout, as valgrind runs the master 20-50x
                       slower). In each: a warm-up, an idle window, then per sync mode a
                       small and a large load (2000 and 20000 commits; --quick 1000 and
                       5000) at 32 outstanding, each ended by a callgrind_control dump.
                       From the datapath thread's profile (the thread under dp_main):
                         passes          calls of tern_node_poll (one per loop pass)
                         polling per pass  the idle window's cost / its passes: what a
                                         pass costs when it finds nothing (the udp
                                         driver's rx_burst of an empty socket, the
                                         io_uring CQ reap, timers, the idle backoff)
                         work per commit (large - small - passes' polling) / (commits'
                                         difference): the marginal cost of a commit
                                         with the polling and any per-load cost taken
                                         out (commit intake, log append, feeding, wire
                                         encode/decode, ack handling, completions)
                       and the same split per function (inclusive cost minus its idle
                       cost per pass times the passes) for the top work functions.
                       Under valgrind the threads take turns, so passes per commit (and
                       the polling per commit) is not what a native run sees; the work
                       per commit and the polling per pass are.
  --dir DIR            where the run's temp dir (homes, sockets, floor file) goes; must
                       not be a tmpfs (default: $TMPDIR, else /var/tmp)
  --keep               keep the temp dir (node logs, and the nodes' homes, which are
                       otherwise removed as each group stops) at the end
  --help               this text

Output, key=value lines:
  bench=rep driver=D sync=yes|no outstanding=K commits_per_s= p50_us= p99_us= p999_us=
      max_us= commits= failed= cpu_pct= other_cpu_pct=   (cpu_pct: the three nodes, in %
      of one CPU; other_cpu_pct: the rest of the machine meanwhile)
  bench=rep stages driver=D sync=.. outstanding=K ...: the mean per-stage breakdown, from
      the timestamps the master's datapath records (ternd's load_stages):
        queue_us        submit -> VLSN assigned (the commit ring and the datapath's pass)
        local_us        assigned -> the local sync policy held: the local append, plus
                        the local fdatasync when sync=yes
        sent_us         assigned -> first sent to a replica
        ack_us          sent -> the ack policy held: the wire both ways, the replica's
                        append (+ fdatasync when its policy syncs) and its ack
        total_us        submit -> done (the committer woken)
        replica_us      the replica's own stage, from its ACKs (hold_us): the entry's
                        arrival to its durability there (its append + fdatasync), for
                        the replica whose ack completed the commit (n/a: no commit
                        waited for a replica's disk, as under NO_SYNC)
      and from them: local_append_us (local_us of the sync=no run with the same K),
      local_fsync_us (local_us - local_append_us), wire_us (ack_us - replica_us: the
      wire both ways and both turnarounds), rtt_floor_us (the fabric's RTT floor p50, for
      comparison). queue_us=invalid: ternd printed a mean larger than total_us.
  bench=rep ratio=...          dpdk drivers against udp, and against the floors
  bench=rep check=...          the bars of issue 4 (want=, value=, pass=yes|no)
  bench=rep test=syscalls driver=dpdk-vhost poll=P sync=yes outstanding=32 ...
      syscalls_per_commit= (the whole master) instructions_per_commit= cpu_us_per_commit=
      top_syscalls_per_commit=THREAD/NAME=N,...                              (--syscalls)
  bench=rep test=instructions driver=udp poll=P sync=yes|no outstanding=32 commits=N
      instructions_per_commit=    the datapath thread's instructions over the large
                                  load's window / its commits (polling included)
      work_instructions_per_commit=  the work per commit (above)
      polling_instructions_per_pass= an empty pass (above)
      passes_per_commit= polling_instructions_per_commit= (passes x polling per pass,
                                  over the large load / its commits)
      syscalls_per_commit=        the datapath thread's syscalls over the large load /
                                  its commits (callgrind --collect-systime)
      polling_syscalls_per_pass= polling_syscalls_per_commit=  those of the pass
                                  polling: the receive poll (udp: a recvmmsg per pass)
                                  and the idle backoff (sched_yield, epoll_wait); per
                                  pass over the idle window, per commit over the load
      work_syscalls_per_commit=   the others (the batched io_uring submit, sendmmsg,
                                  futex wakes of waiting committers), large - small /
                                  the commits' difference
      top_syscalls_per_commit=NAME=N,...  the datapath thread's, by the libc or liburing
                                  function that made them (futex: syscall(SYS_futex))
      process_syscalls_per_commit= process_top_syscalls_per_commit=  the same over all
                                  the master's threads (the committer's futex waits too)
      alloc_calls_per_commit= lock_calls_per_commit=  calls of malloc/free (libc, jemalloc,
                                  rte_malloc, tern_malloc) and of mutex/rwlock/spinlock/
                                  condvar waits on the datapath thread over the large
                                  load / its commits
      failed= (of the large load) commits_per_s= (under valgrind) acks_timeouts= (the
      master's, over its whole run) tool=callgrind                     (--instructions)
  bench=rep test=instructions_top driver=udp poll=P sync=yes|no rank=R fn=F
      per_commit= self_per_commit= calls_per_commit=  the top ~10 functions of the
      datapath thread by work per commit (inclusive; a function's callees are in its
      figure too), the loop itself (dp_main, tern_node_poll) left out   (--instructions)
With several rounds, each round's lines also go to stderr. Every process, socket,
/var/run/dpdk/<prefix> directory and temp dir it creates is removed at the end, also on
SIGINT/SIGTERM.
EOF
}

# ---- options ----

quick=0
rounds=
scale=1
only=dpdk-vhost,dpdk-memif,udp
sync_dur=sync,sync,simple_majority
nosync_dur=no_sync,no_sync,simple_majority
poll=adaptive
syscalls=0
instructions=0
keep=0
base=${TMPDIR:-/var/tmp}

die() {
    echo "tern-bench-rep: $*" >&2
    exit 2
}

while (($#)); do
    case $1 in
    --help | -h)
        usage
        exit 0
        ;;
    --quick) quick=1 ;;
    --rounds)
        rounds=${2:-}
        [[ $rounds =~ ^[1-9][0-9]?$ ]] || die "--rounds wants 1 to 99"
        shift
        ;;
    --time-scale)
        scale=${2:-}
        [[ $scale =~ ^[0-9]*\.?[0-9]+$ ]] || die "--time-scale wants a number"
        shift
        ;;
    --only)
        only=${2:-}
        shift
        ;;
    --sync-durability)
        sync_dur=${2:-}
        [[ $sync_dur =~ ^(sync|write_no_sync|no_sync),(sync|write_no_sync|no_sync),(all|simple_majority|none)$ ]] ||
            die "--sync-durability wants L,R,A (e.g. sync,sync,simple_majority)"
        shift
        ;;
    --poll)
        poll=${2:-}
        [[ $poll == adaptive || $poll == busy ]] || die "--poll wants adaptive or busy"
        shift
        ;;
    --syscalls) syscalls=1 ;;
    --instructions) instructions=1 ;;
    --dir)
        base=${2:-}
        shift
        ;;
    --keep) keep=1 ;;
    *) die "unknown option $1 (try --help)" ;;
    esac
    shift
done
[[ -n $rounds ]] || rounds=$((quick ? 1 : 3))

drivers=()
IFS=, read -r -a want_drivers <<<"$only"
for d in dpdk-vhost dpdk-memif udp; do
    for w in "${want_drivers[@]}"; do
        [[ $w == "$d" ]] && drivers+=("$d")
    done
done
for w in "${want_drivers[@]}"; do
    [[ $w == dpdk-vhost || $w == dpdk-memif || $w == udp || $w == none ]] ||
        die "unknown driver '$w'"
done
if ((${#drivers[@]} == 0)); then
    [[ $only == none ]] || die "--only names no driver"
    ((syscalls || instructions)) || die "--only none wants --syscalls or --instructions"
fi
if ((instructions)); then
    for t in valgrind callgrind_control; do
        command -v "$t" >/dev/null || die "--instructions needs $t (valgrind)"
    done
fi

[[ -x $ternd ]] || die "$ternd not built"
[[ -x $floor_exe ]] || die "$floor_exe not built"

# Commits per measurement: a short calibration load (also a warm-up) gives the rate, then
# the measured load is sized to last about $secs_per seconds, within [min, max] (a machine
# shared with other work can run 50x slower than an idle one).
declare -A n_probe=([yes,1]=100 [yes,32]=2000 [yes,256]=5000 [no,1]=500 [no,32]=5000 [no,256]=10000)
declare -A n_min=([yes,1]=200 [yes,32]=3000 [yes,256]=10000 [no,1]=1000 [no,32]=10000 [no,256]=20000)
declare -A n_max=(
    [yes,1]=5000 [yes,32]=50000 [yes,256]=200000
    [no,1]=50000 [no,32]=200000 [no,256]=400000
)
secs_per=2
if ((quick)); then
    secs_per=0.5
    n_min=([yes,1]=150 [yes,32]=2000 [yes,256]=5000 [no,1]=500 [no,32]=5000 [no,256]=10000)
fi
secs_per=$(awk -v a="$secs_per" -v s="$scale" 'BEGIN { print a * s }')
ks=(1 32 256)

# ---- temp dir on a real disk, and cleanup ----

mkdir -p "$base" 2>/dev/null
# The mount's own type (findmnt); stat -f names ext4 "ext2/ext3" by its magic number.
fs_type=$(findmnt -n -o FSTYPE -T "$base" 2>/dev/null || stat -f -c %T "$base" 2>/dev/null ||
    echo unknown)
case $fs_type in
tmpfs | ramfs) die "--dir $base is on $fs_type: the homes and the fdatasync floor need a real disk" ;;
esac
tmp=$(mktemp -d "$base/tern-bench-rep.XXXXXX") || die "cannot create a temp dir in $base"
tag="tbr$$"
perf_pid=

# shellcheck disable=SC2317 # (called from traps)
cleanup() {
    trap - EXIT INT TERM HUP
    [[ -n $perf_pid ]] && kill -9 "$perf_pid" 2>/dev/null
    grp_cleanup
    if ((keep)); then
        echo "tern-bench-rep: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'echo "tern-bench-rep: interrupted" >&2; exit 130' INT TERM HUP
trap '' PIPE

warn() {
    echo "tern-bench-rep: $*" >&2
}

# ---- CPU accounting (jiffies) ----

# The whole machine's busy jiffies.
cpu_total_busy() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# utime + stime of the given pids, all threads (jiffies).
cpu_of_pids() {
    local p sum=0 v
    for p in "$@"; do
        v=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || v=0
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# CLOCK_MONOTONIC in ns (perf record -k monotonic uses the same clock)
now_ns() {
    "$floor_exe" --now
}

# ---- numbers ----

median() {
    printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

calc() {
    awk "BEGIN { printf \"%.3f\", ($1) }"
}

# ---- the group ----

# The group (tools/lib/group.sh): group 4 on 10.77.4.N, the vhost PMD's log at warning.
grp_ternd=$ternd
grp_id=4
grp_label="tern-bench-rep: "
grp_subnet=10.77.4
grp_vhost_log=warning
grp_wait_hz=50
seq=0

# What start_node and load use; --instructions changes them for its groups.
node1_wrap=()      # words put before node 1's command line (valgrind ...)
replica_poll=      # the replicas' --poll, when not $poll
ack_ms=5000        # every node's --ack-timeout-ms
load_timeout_ms=5000 # each commit's timeout (the load command's TIMEOUT_MS)
up_secs=(10 20)    # grp_up's waits: sockets, states

# start_node N: node N of the group in $gdir; its command line in $gdir/N.cmd. The master
# takes commands through a fifo and its stdout is read as it comes (grp_send, pipe mode).
start_node() {
    local n=$1 p=$poll
    grp_node_cmd "$n" "$tag-${grp_fabric#dpdk-}-$n-$((seq++))"
    ((n != 1)) && [[ -n $replica_poll ]] && p=$replica_poll
    grp_cmd+=(--poll "$p" --durability "$nosync_dur" --ack-timeout-ms "$ack_ms")
    if ((n == 1)); then
        grp_cmd=("${node1_wrap[@]}" "${grp_cmd[@]}" --commands)
        echo "${grp_cmd[*]}" >"$gdir/1.cmd"
        grp_start 1 pipe "${grp_cmd[@]}"
    else
        echo "${grp_cmd[*]}" >"$gdir/$n.cmd"
        grp_start "$n" none "${grp_cmd[@]}"
    fi
}

# start_group D ROUND: three ternd processes; 0 when node 1 is master and 2, 3 replicas.
start_group() {
    local d=$1 r=$2
    gdir="$tmp/r$r-$d"
    mkdir -p "$gdir"
    grp_dir=$gdir
    grp_fabric=$d
    grp_udp_base=$((20000 + ($$ * 7 + RANDOM) % 30000))
    grp_conf
    grp_up start_node "${up_secs[@]}" && return 0
    if [[ $grp_error == "node 1 to be master" ]]; then
        warn "$d: node 1 did not become master"
    else
        warn "timed out waiting for $grp_error"
    fi
    return 1
}

# stop_group: replicas first (the virtio-user/memif-client sides), then the master. The
# homes go too (unless --keep): a group writes gigabytes, and what it left dirty in the page
# cache would otherwise be written back (and throttle writers) during the next groups.
stop_group() {
    grp_stop 3 TERM 5
    grp_stop 2 TERM 5
    grp_stop 1 quit 5
    grp_clean_prefixes
    rm -f "$gdir"/*.sock
    ((keep)) || rm -rf "$gdir"/h[0-9]*
}

show_logs() {
    local n
    for n in 1 2 3; do
        echo "---- node $n: $(cat "$gdir/$n.cmd" 2>/dev/null)" >&2
        tail -n 15 "$gdir/$n.log" >&2 2>/dev/null
        [[ -f $gdir/$n.err ]] && tail -n 15 "$gdir/$n.err" >&2
    done
}

# load N K DUR: run one load on the master; its lines in $last_load and $last_stages,
# CPU figures in $load_cpu_pct and $load_other_pct. 1 on failure.
load() {
    local n=$1 k=$2 dur=$3 t0 t1 c0 c1 a0 a1 secs
    local line rc=0
    last_load=
    last_stages=
    c0=$(cpu_of_pids "${grp_pid[@]}")
    a0=$(cpu_total_busy)
    t0=$(now_ns)
    # at worst every commit times out once
    grp_send 1 $((60 + n / 500 + load_timeout_ms / 1000)) "load $n $k $dur $load_timeout_ms" ||
        rc=$?
    ((rc == 3)) && return 1
    t1=$(now_ns)
    c1=$(cpu_of_pids "${grp_pid[@]}")
    a1=$(cpu_total_busy)
    while IFS= read -r line; do
        case $line in
        load\ *) last_load=$line ;;
        load_stages\ *) last_stages=$line ;;
        load_first_error*) warn "master: $line" ;;
        esac
    done < <(grp_new 1)
    if ((rc == 2)); then
        warn "no answer from the master to 'load $n $k $dur'"
        return 1
    fi
    load_t0=$t0
    load_t1=$t1
    secs=$(calc "($t1 - $t0) / 1e9")
    load_cpu_pct=$(calc "($c1 - $c0) / $hz / $secs * 100")
    load_other_pct=$(calc "(($a1 - $a0) - ($c1 - $c0)) / $hz / $secs * 100")
    [[ $grp_reply == "ok load" && -n $last_load ]]
}
hz=$(getconf CLK_TCK)

# ---- results ----

# res[KEY,round] with KEY = driver,sync,k,field
declare -A res=()
declare -A floor=()

record() {
    local d=$1 s=$2 k=$3 r=$4 f
    for f in commits_per_s p50_us p99_us p999_us max_us commits ok failed; do
        res[$d,$s,$k,$f,$r]=$(grp_field "$last_load" "$f")
    done
    for f in queue_us local_us sent_us ack_us total_us replica_us; do
        res[$d,$s,$k,$f,$r]=$(grp_field "$last_stages" "$f")
    done
    res[$d,$s,$k,cpu_pct,$r]=$load_cpu_pct
    res[$d,$s,$k,other_cpu_pct,$r]=$load_other_pct
    res[$d,$s,$k,first_err,$r]=$(grp_field "$last_load" first_err)
}

# med D S K FIELD: the median over the rounds that have it.
med() {
    local r v=()
    for ((r = 1; r <= rounds; r++)); do
        v+=("${res[$1,$2,$3,$4,$r]:-}")
    done
    median "${v[@]}"
}

# the round whose commits_per_s (K>1) or p50 (K=1) is the median one: its lines are printed
med_round() {
    local d=$1 s=$2 k=$3 f r m
    f=$([[ $k == 1 ]] && echo p50_us || echo commits_per_s)
    m=$(med "$d" "$s" "$k" "$f")
    for ((r = 1; r <= rounds; r++)); do
        [[ ${res[$d,$s,$k,$f,$r]:-} == "$m" && -n $m ]] && {
            echo "$r"
            return
        }
    done
    echo 0
}

# print_result D S K ROUND [SPREAD]: the result and stages lines of one measurement
# (SPREAD=1 adds the min and max over the rounds).
print_result() {
    local d=$1 s=$2 k=$3 r=$4 spread=${5:-0}
    g() { echo "${res[$d,$s,$k,$1,$r]:-}"; }
    if [[ -z $(g commits_per_s) ]]; then
        echo "bench=rep driver=$d sync=$s outstanding=$k error=${res[$d,$s,$k,error,$r]:-no_result}"
        return
    fi
    local extra="" f v i
    if ((spread && rounds > 1)); then
        for f in commits_per_s p50_us; do
            v=()
            for ((i = 1; i <= rounds; i++)); do v+=("${res[$d,$s,$k,$f,$i]:-}"); done
            extra+=" ${f}_min=$(printf '%s\n' "${v[@]}" | grep -v '^$' | sort -g | head -n1)"
            extra+=" ${f}_max=$(printf '%s\n' "${v[@]}" | grep -v '^$' | sort -g | tail -n1)"
        done
        extra=" rounds=$rounds$extra"
    fi
    echo "bench=rep driver=$d sync=$s outstanding=$k commits_per_s=$(g commits_per_s) p50_us=$(g p50_us) p99_us=$(g p99_us) p999_us=$(g p999_us) max_us=$(g max_us) commits=$(g commits) failed=$(g failed) first_err=$(g first_err) durability=$([[ $s == yes ]] && echo "$sync_dur" || echo "$nosync_dur") size=100 poll=$poll cpu_pct=$(g cpu_pct) other_cpu_pct=$(g other_cpu_pct)$extra"
    # stages
    local q l se a t la lf w rep
    q=$(g queue_us)
    l=$(g local_us)
    se=$(g sent_us)
    a=$(g ack_us)
    t=$(g total_us)
    if [[ -n $q && -n $t ]] && awk -v q="$q" -v t="$t" 'BEGIN { exit !(q > t || q < 0) }'; then
        q=invalid
    fi
    la=${res[$d,no,$k,local_us,$r]:-}
    if [[ $s == yes && -n $la && -n $l ]]; then
        lf=$(calc "$l - $la")
    elif [[ $s == no ]]; then
        la=$l
        lf=0
    else
        lf=n/a
    fi
    # The replica's stage, measured by the replica itself (its ACKs), when a commit waited
    # for a replica's disk; the rest of ack_us is the wire both ways and the turnarounds.
    rep=$(g replica_us)
    if [[ -n $rep && -n $a ]] && awk -v r="$rep" 'BEGIN { exit !(r > 0) }'; then
        w=$(calc "($a - $rep) > 0 ? $a - $rep : 0")
    else
        rep=n/a
        w=n/a
    fi
    echo "bench=rep stages driver=$d sync=$s outstanding=$k queue_us=$q local_us=$l sent_us=$se ack_us=$a total_us=$t local_append_us=${la:-n/a} local_fsync_us=$lf replica_us=$rep wire_us=$w rtt_floor_us=${floor[rtt,$d]:-n/a}"
}

# ---- run ----

hdr="bench=rep quick=$quick rounds=$rounds drivers=$(
    IFS=,
    echo "${drivers[*]}"
) sync_durability=$sync_dur nosync_durability=$nosync_dur size=100 poll=$poll cpus=$(nproc) loadavg=$(cut -d' ' -f1 /proc/loadavg) dir=$tmp fs=$fs_type"
echo "$hdr"

# Floor 1: fdatasync in the homes' directory, once per round (median reported).
floor_ops=$((quick ? 500 : 2000))
floor_run() {
    local r=$1 line
    line=$("$floor_exe" "$tmp" "$floor_ops" 128) || {
        warn "the fdatasync floor failed"
        return
    }
    floor[fdatasync,ops_per_s,$r]=$(grp_field "$line" ops_per_s)
    floor[fdatasync,p50_us,$r]=$(grp_field "$line" p50_us)
    floor[fdatasync,p99_us,$r]=$(grp_field "$line" p99_us)
    floor[fdatasync,line,$r]=$line
    ((rounds > 1)) && echo "round=$r $line" >&2
    # The same with three writers at once, each in its own file: a group on one disk.
    line=$("$floor_exe" "$tmp" "$floor_ops" 128 3) || {
        warn "the shared fdatasync floor failed"
        return
    }
    floor[shared,p50_us,$r]=$(grp_field "$line" p50_us)
    floor[shared,ops_per_s,$r]=$(grp_field "$line" ops_per_s)
    floor[shared,p99_us,$r]=$(grp_field "$line" p99_us)
    ((rounds > 1)) && echo "round=$r $line" >&2
}

# Floor 2: the fabric RTT, from tern-bench-fabric (adaptive polling, as the nodes run).
rtt_run() {
    local only_fab line d out
    only_fab=$(
        IFS=,
        echo "${drivers[*]}"
    )
    if [[ ! -x $fabric_bench ]]; then
        warn "$fabric_bench not built: no RTT floor"
        return
    fi
    out=$("$fabric_bench" --only "$only_fab" --poll adaptive --quick 2>"$tmp/fabric.err")
    for d in "${drivers[@]}"; do
        line=$(grep -m1 "^bench=fabric test=rtt driver=$d poll=adaptive pin=any size=64 " <<<"$out")
        if [[ -z $line ]]; then
            echo "bench=floor test=rtt driver=$d error=$(grep -m1 "driver=$d" <<<"$out" | tr ' ' '\n' | grep -E '^(error|skipped)=' | head -n1 || true)"
            continue
        fi
        floor[rtt,$d]=$(grp_field "$line" p50_us)
        echo "bench=floor test=rtt driver=$d size=64 poll=adaptive p50_us=$(grp_field "$line" p50_us) p99_us=$(grp_field "$line" p99_us) p999_us=$(grp_field "$line" p999_us) samples=$(grp_field "$line" samples) other_cpu_pct=$(grp_field "$line" other_cpu_pct) source=tern-bench-fabric"
    done
}

run_group() {
    local d=$1 r=$2 s k dur
    if ! start_group "$d" "$r"; then
        show_logs
        for s in yes no; do
            for k in "${ks[@]}"; do res[$d,$s,$k,error,$r]=group_start_failed; done
        done
        stop_group
        return 1
    fi
    for s in yes no; do
        dur=$([[ $s == yes ]] && echo "$sync_dur" || echo "$nosync_dur")
        for k in "${ks[@]}"; do
            local n=${n_min[$s,$k]} rate
            # calibration (and warm-up), not reported
            if load "${n_probe[$s,$k]}" "$k" "$dur"; then
                rate=$(grp_field "$last_load" commits_per_s)
                n=$(awk -v r="${rate:-0}" -v t="$secs_per" -v lo="${n_min[$s,$k]}" -v hi="${n_max[$s,$k]}" \
                    'BEGIN { n = int(r * t); if (n < lo) n = lo; if (n > hi) n = hi; print n }')
            fi
            if load "$n" "$k" "$dur"; then
                record "$d" "$s" "$k" "$r"
            else
                res[$d,$s,$k,error,$r]=load_failed
                warn "$d sync=$s outstanding=$k: load failed; master's last lines:"
                show_logs
                stop_group
                return 1
            fi
        done
    done
    if grp_send 1 10 stats; then
        echo "bench=rep node_stats driver=$d round=$r $(grp_since 1 'stats ' | cut -d' ' -f2- | tr ' ' '\n' | grep -E '^(commits|commits_failed|acks_timeouts|frames_rx|frames_tx|frames_rejected|wakes|yields|blocks|busy_pct)=' | tr '\n' ' ' | sed 's/ $//')" >>"$tmp/node_stats.txt"
    fi
    stop_group
    return 0
}

# syscall_group MODE: --syscalls in a dpdk-vhost group of its own, all nodes --poll MODE.
syscall_group() {
    local saved=$poll
    poll=$1
    if ! start_group dpdk-vhost "sys-$poll"; then
        show_logs
        echo "bench=rep test=syscalls driver=dpdk-vhost poll=$poll outstanding=32 error=group_start_failed" >>"$tmp/syscalls.line"
    else
        # a warm-up, then the counted load
        load "${n_probe[yes,32]}" 32 "$sync_dur" || warn "dpdk-vhost poll=$poll: warm-up load failed"
        syscall_run
    fi
    stop_group
    poll=$saved
}

# --syscalls: on the master, over one sync=yes K=32 load: perf record of
# raw_syscalls:sys_enter with CLOCK_MONOTONIC timestamps, counted between the moment the load
# command was sent and the moment its answer came (the idle polling around it excluded);
# perf stat for instructions (a hardware counter: absent in most VMs) and the CPU time.
# Without perf: strace -c -f over a window that includes some idle time.
syscall_run() {
    local n=$((quick ? 10000 : n_max[yes,32])) pid=${grp_pid[1]} out="$tmp/syscalls.txt" c0 c1 tool rec_pid=
    c0=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")
    if command -v perf >/dev/null; then
        tool=perf
        perf stat -e 'instructions,task-clock' -x, -p "$pid" -o "$out" 2>/dev/null &
        perf_pid=$!
        perf record -q -k monotonic -e raw_syscalls:sys_enter -p "$pid" -o "$tmp/perf.data" \
            >/dev/null 2>&1 &
        rec_pid=$!
        sleep 0.5
    elif command -v strace >/dev/null; then
        tool=strace
        strace -c -f -q -p "$pid" -o "$out" &
        perf_pid=$!
        sleep 0.5
    else
        echo "bench=rep test=syscalls driver=dpdk-vhost poll=$poll outstanding=32 error=needs_perf_or_strace" >>"$tmp/syscalls.line"
        return
    fi
    load "$n" 32 "$sync_dur"
    local ok=$?
    c1=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")
    if [[ -n $rec_pid ]]; then
        kill -INT "$rec_pid" 2>/dev/null
        wait "$rec_pid" 2>/dev/null
    fi
    kill -INT "$perf_pid" 2>/dev/null
    wait "$perf_pid" 2>/dev/null
    perf_pid=
    if ((ok != 0)); then
        echo "bench=rep test=syscalls driver=dpdk-vhost poll=$poll outstanding=32 error=load_failed" >>"$tmp/syscalls.line"
        return
    fi
    local commits sc="" ins="" top="" cpu_us spc ipc
    commits=$(grp_field "$last_load" commits)
    cpu_us=$(calc "($c1 - $c0) / $hz * 1e6 / $commits")
    if [[ $tool == perf ]]; then
        ins=$(awk -F, '$3 ~ /^instructions/ { print $1 }' "$out")
        # per thread and syscall, inside [load_t0, load_t1]
        perf script -i "$tmp/perf.data" -F comm,time,trace 2>/dev/null |
            awk -v t0="$load_t0" -v t1="$load_t1" '
                { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) break
                  if (i > NF) next
                  t = substr($i, 1, length($i) - 1) * 1e9
                  if (t < t0 || t > t1) next
                  comm = $1; for (j = 2; j < i; j++) comm = comm "_" $j
                  print comm, $(i + 2) }' | sort | uniq -c | sort -rn >"$tmp/syscalls.top"
        sc=$(awk '{ s += $1 } END { print s + 0 }' "$tmp/syscalls.top")
        top=$(head -n 6 "$tmp/syscalls.top" | awk -v n="$commits" '
            BEGIN { split("0 read 1 write 3 close 7 poll 16 ioctl 17 pread64 18 pwrite64 " \
                          "24 sched_yield 35 nanosleep 44 sendto 45 recvfrom 46 sendmsg " \
                          "47 recvmsg 74 fsync 75 fdatasync 202 futex 228 clock_gettime " \
                          "230 clock_nanosleep 232 epoll_wait 281 epoll_pwait " \
                          "299 recvmmsg 307 sendmmsg 426 io_uring_enter 441 epoll_pwait2", a, " ")
                    for (i = 1; i in a; i += 2) name[a[i]] = a[i + 1] }
            { nm = ($3 in name) ? name[$3] : "nr" $3
              printf "%s%s/%s=%.3f", (NR > 1 ? "," : ""), $2, nm, $1 / n }')
    else
        sc=$(awk '$NF == "total" { print $(NF - 2) }' "$out")
    fi
    spc=$([[ $sc =~ ^[0-9]+$ ]] && calc "$sc / $commits" || echo n/a)
    ipc=$([[ $ins =~ ^[0-9]+$ ]] && calc "$ins / $commits" || echo "n/a(no_pmu)")
    echo "bench=rep test=syscalls driver=dpdk-vhost poll=$poll sync=yes outstanding=32 durability=$sync_dur commits=$commits syscalls_per_commit=$spc instructions_per_commit=$ipc cpu_us_per_commit=$cpu_us tool=$tool commits_per_s=$(grp_field "$last_load" commits_per_s)${top:+ top_syscalls_per_commit=$top}" >>"$tmp/syscalls.line"
}

# ---- --instructions: callgrind on a udp master ----

# cg_parse FILE: one line per function of a callgrind profile (one thread, one dump):
# "NAME INCL_IR INCL_SYSCALLS SELF_IR SELF_SYSCALLS CALLS". Inclusive = self + the cost of
# its calls to other functions (a call to itself is not added again).
cg_parse() {
    awk '
        function fname(s,   p, id, rest) {
            if (s !~ /^\([0-9]+\)/) return s
            p = index(s, ")")
            id = substr(s, 2, p - 2)
            rest = substr(s, p + 1)
            sub(/^ +/, "", rest)
            if (rest != "") names[id] = rest
            return names[id]
        }
        /^events:/ { for (i = 2; i <= NF; i++) { if ($i == "Ir") ci = i; if ($i == "sysCount") cs = i }; next }
        /^fn=/ { cur = fname(substr($0, 4)); seen[cur] = 1; incall = 0; next }
        /^cfn=/ { callee = fname(substr($0, 5)); seen[callee] = 1; next }
        /^calls=/ { split(substr($0, 7), a, " "); calls[callee] += a[1]; incall = 1; next }
        /^[0-9+*-]/ {
            vi = (ci && ci <= NF) ? $ci : 0
            vs = (cs && cs <= NF) ? $cs : 0
            if (incall) {
                if (callee != cur) { ii[cur] += vi; is[cur] += vs }
                incall = 0
            } else {
                si[cur] += vi; ss[cur] += vs
            }
            next
        }
        END {
            for (f in seen)
                printf "%s %.0f %.0f %.0f %.0f %.0f\n", f, si[f] + ii[f], ss[f] + is[f], si[f], ss[f], calls[f]
        }' "$1"
}

# cg_dump REASON: have the master's callgrind write (and zero) its counters; the profiles
# of the dump, one per thread, go to $cgdir/REASON.dp (the datapath thread: the one with
# dp_main) and $cgdir/REASON.all (all threads' functions, concatenated). 1 on failure.
cg_dump() {
    local why=$1 pid=${grp_pid[1]} f files=() i
    timeout 120 callgrind_control -d "$why" "$pid" >/dev/null 2>&1 || return 1
    for ((i = 0; i < 100; i++)); do
        mapfile -t files < <(grep -l -x "desc: Trigger: dump $why" "$gdir"/cg.out.* 2>/dev/null)
        ((${#files[@]})) && break
        sleep 0.1
    done
    ((${#files[@]})) || return 1
    : >"$cgdir/$why.all"
    rm -f "$cgdir/$why.dp"
    for f in "${files[@]}"; do
        cg_parse "$f" >"$cgdir/$why.tab"
        cat "$cgdir/$why.tab" >>"$cgdir/$why.all"
        awk '$1 == "dp_main" { found = 1 } END { exit !found }' "$cgdir/$why.tab" &&
            mv "$cgdir/$why.tab" "$cgdir/$why.dp"
    done
    rm -f "$cgdir/$why.tab" "${files[@]}"
    [[ -f $cgdir/$why.dp ]]
}

# instr_report S N_SMALL N_LARGE: the lines of one sync mode, from $cgdir/{idle,S-small,
# S-large}.dp and S-large.all.
instr_report() {
    local s=$1 ns=$2 nl=$3 dur
    dur=$([[ $s == yes ]] && echo "$sync_dur" || echo "$nosync_dur")
    awk -v s="$s" -v ns="$ns" -v nl="$nl" -v poll="$poll" -v dur="$dur" \
        -v cps="${instr_cps[$s]:-}" -v failed="${instr_failed[$s]:-n/a}" -v top_n=10 '
        FILENAME ~ /idle\.dp$/ { w = "i" }
        FILENAME ~ /-small\.dp$/ { w = "s" }
        FILENAME ~ /-large\.dp$/ { w = "l" }
        FILENAME ~ /\.all$/ { w = "a" }
        w == "a" { sys[$1] += $5; tsys += $5; next }
        {
            inc[w, $1] = $2; self[w, $1] = $4; calls[w, $1] = $6; fn[$1] = 1
            tot[w] += $4; tots[w] += $5
            # syscalls of the pass polling: the receive poll and the idle backoff
            if ($1 in pollsys) psys[w] += $5
            if ($5 > 0) dsys[w, $1] = $5
            # allocator and lock entry points called on the datapath thread
            f = $1
            sub(/@.*/, "", f)
            if (w == "l" && f ~ alloc_re) allocs += $6
            if (w == "l" && f ~ lock_re) locks += $6
        }
        function per(x, n) { return n > 0 ? x / n : 0 }
        function nm(f) { return f == "syscall" ? "futex" : f }
        # top6(M): the 6 largest of cnt[tn[1..M]] as NAME=PER_COMMIT,...
        function top6(m,   i, j, t, r) {
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
                if (cnt[tn[j]] > cnt[tn[i]]) { t = tn[i]; tn[i] = tn[j]; tn[j] = t }
            r = ""
            for (i = 1; i <= m && i <= 6 && cnt[tn[i]] / nl >= 0.0005; i++)
                r = r sprintf("%s%s=%.3f", (i > 1 ? "," : ""), nm(tn[i]), cnt[tn[i]] / nl)
            return r == "" ? "none" : r
        }
        BEGIN {
            alloc_re = "^(malloc|calloc|realloc|reallocarray|free|cfree|posix_memalign|aligned_alloc|memalign|valloc|mallocx|rallocx|sdallocx|dallocx|je_[a-z_]*alloc[a-z_]*|rte_[a-z_]*malloc[a-z_]*|rte_free|rte_realloc[a-z_]*|tern_[a-z_]*alloc|tern_free|mmap|munmap)$"
            lock_re = "^(pthread_mutex_(timed)?lock|pthread_mutex_trylock|__pthread_mutex_lock[a-z_]*|pthread_rwlock_[a-z]*lock|pthread_spin_(try)?lock|pthread_cond_[a-z]*wait|sem_(timed)?wait|rte_spinlock_lock|rte_rwlock_[a-z_]*lock)$"
            split("recvmmsg recvmsg recvfrom udp_rx_burst epoll_wait epoll_pwait poll ppoll sched_yield", a, " ")
            for (i in a) pollsys[a[i]] = 1
        }
        END {
            ps["i"] = calls["i", "tern_node_poll"]; ps["s"] = calls["s", "tern_node_poll"]
            ps["l"] = calls["l", "tern_node_poll"]
            if (ps["i"] == 0 || ps["l"] == 0 || nl <= ns) {
                printf "bench=rep test=instructions driver=udp poll=%s sync=%s outstanding=32 error=no_passes_in_profile tool=callgrind\n", poll, s
                exit
            }
            pp = tot["i"] / ps["i"]
            dn = nl - ns; dp = ps["l"] - ps["s"]
            work = (tot["l"] - tot["s"] - dp * pp) / dn
            works = ((tots["l"] - psys["l"]) - (tots["s"] - psys["s"])) / dn
            m = 0
            delete cnt
            for (k in fn) if ((("l", k) in dsys)) { m++; tn[m] = k; cnt[k] = dsys["l", k] }
            dtop = top6(m)
            m = 0
            delete cnt
            for (k in sys) if (sys[k] > 0) { m++; tn[m] = k; cnt[k] = sys[k] }
            ptop = top6(m)
            printf "bench=rep test=instructions driver=udp poll=%s sync=%s outstanding=32 durability=%s commits=%d small_commits=%d instructions_per_commit=%.0f work_instructions_per_commit=%.0f polling_instructions_per_pass=%.0f passes_per_commit=%.3f polling_instructions_per_commit=%.0f syscalls_per_commit=%.3f work_syscalls_per_commit=%.3f polling_syscalls_per_pass=%.3f polling_syscalls_per_commit=%.3f top_syscalls_per_commit=%s process_syscalls_per_commit=%.3f process_top_syscalls_per_commit=%s alloc_calls_per_commit=%.3f lock_calls_per_commit=%.3f failed=%s commits_per_s=%s tool=callgrind\n", \
                poll, s, dur, nl, ns, tot["l"] / nl, work, pp, ps["l"] / nl, ps["l"] * pp / nl, \
                tots["l"] / nl, works, psys["i"] / ps["i"], psys["l"] / nl, dtop, tsys / nl, ptop, \
                allocs / nl, locks / nl, failed, (cps == "" ? "n/a" : cps)
            # per function: the large load minus the small one, less its idle cost per pass
            skip["dp_main"] = skip["tern_node_poll"] = skip["dp_pthread"] = 1
            skip["start_thread"] = skip["clone"] = 1
            m = 0
            for (k in fn) {
                if (k in skip) continue
                v = (inc["l", k] - inc["s", k] - dp * per(inc["i", k], ps["i"])) / dn
                if (v <= 0) continue
                m++; tn[m] = k; tv[k] = v
            }
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
                if (tv[tn[j]] > tv[tn[i]]) { t = tn[i]; tn[i] = tn[j]; tn[j] = t }
            for (i = 1; i <= m && i <= top_n; i++)
                printf "bench=rep test=instructions_top driver=udp poll=%s sync=%s rank=%d fn=%s per_commit=%.0f self_per_commit=%.0f calls_per_commit=%.3f\n", \
                    poll, s, i, tn[i], tv[tn[i]], \
                    (self["l", tn[i]] - self["s", tn[i]] - dp * per(self["i", tn[i]], ps["i"])) / dn, \
                    (calls["l", tn[i]] - calls["s", tn[i]]) / dn
        }' "$cgdir/idle.dp" "$cgdir/$s-small.dp" "$cgdir/$s-large.dp" "$cgdir/$s-large.all"
}

# instr_run MODE: the --instructions measurement with the master's --poll MODE.
instr_run() {
    local saved=$poll s ok=1 ns nl
    poll=$1
    ns=$((quick ? 1000 : 2000))
    nl=$((quick ? 5000 : 20000))
    node1_wrap=(valgrind --tool=callgrind --separate-threads=yes --collect-systime=yes
        --callgrind-out-file="$tmp/rcg-$poll-udp/cg.out.%p")
    replica_poll=adaptive
    ack_ms=600000
    load_timeout_ms=600000
    up_secs=(30 90)
    if ! start_group udp "cg-$poll"; then
        show_logs
        echo "bench=rep test=instructions driver=udp poll=$poll error=group_start_failed tool=callgrind" >>"$tmp/instr.line"
        ok=0
    fi
    cgdir="$gdir/cg"
    mkdir -p "$cgdir"
    # warm-up (log files, caches, first frames), then an idle window for the empty passes
    if ((ok)) && load 1000 32 "$nosync_dur" && load 500 32 "$sync_dur" && cg_dump warm &&
        sleep "$([[ $quick == 1 ]] && echo 0.5 || echo 1)" && cg_dump idle; then
        for s in yes no; do
            local dur
            dur=$([[ $s == yes ]] && echo "$sync_dur" || echo "$nosync_dur")
            if load "$ns" 32 "$dur" && cg_dump "$s-small" && load "$nl" 32 "$dur" &&
                cg_dump "$s-large"; then
                instr_cps[$s]=$(grp_field "$last_load" commits_per_s)
                instr_failed[$s]=$(grp_field "$last_load" failed)
                [[ ${instr_failed[$s]} == 0 ]] ||
                    warn "instructions poll=$poll sync=$s: ${instr_failed[$s]} commits failed"
                instr_report "$s" "$ns" "$nl" >>"$cgdir/lines"
            else
                echo "bench=rep test=instructions driver=udp poll=$poll sync=$s error=load_or_dump_failed tool=callgrind" >>"$tmp/instr.line"
                show_logs
                break
            fi
        done
    elif ((ok)); then
        echo "bench=rep test=instructions driver=udp poll=$poll error=warmup_or_dump_failed tool=callgrind" >>"$tmp/instr.line"
        show_logs
    fi
    # the master's ack timeouts over its whole run (after the last dump: not counted)
    local at=n/a
    ((ok)) && grp_send 1 60 stats && at=$(grp_field "$(grp_since 1 'stats ')" acks_timeouts)
    [[ $at == 0 || $at == n/a ]] || warn "instructions poll=$poll: $at ack timeouts under valgrind"
    [[ -f $cgdir/lines ]] &&
        sed "s|^\(bench=rep test=instructions .*\) tool=callgrind\$|\1 acks_timeouts=${at:-n/a} tool=callgrind|" \
            "$cgdir/lines" >>"$tmp/instr.line"
    stop_group
    node1_wrap=()
    replica_poll=
    ack_ms=5000
    load_timeout_ms=5000
    up_secs=(10 20)
    poll=$saved
}
declare -A instr_cps=() instr_failed=()

ndrivers=${#drivers[@]}
# The fabric RTT first (the stages lines use it); printed with the other floors.
rtt_run_out=
((ndrivers)) && rtt_run_out=$(rtt_run)
# rtt_run ran in a subshell: take its p50s from its lines
while read -r line; do
    fd=$(grp_field "$line" driver)
    fv=$(grp_field "$line" p50_us)
    [[ -n $fd && -n $fv ]] && floor[rtt,$fd]=$fv
done <<<"$rtt_run_out"

for ((r = 1; r <= rounds && ndrivers; r++)); do
    floor_run "$r"
    for d in "${drivers[@]}"; do
        run_group "$d" "$r" || warn "$d round $r failed"
        if ((rounds > 1)); then
            for s in yes no; do
                for k in "${ks[@]}"; do
                    print_result "$d" "$s" "$k" "$r"
                done
            done | sed "s/^/round=$r /" >&2
        fi
    done
done
# The extras, each in groups of their own, in both poll modes.
if ((syscalls)); then
    syscall_group busy
    syscall_group adaptive
fi
if ((instructions)); then
    instr_run busy
    instr_run adaptive
fi
# The floor lines (median round)
floor_med() {
    local r v=()
    for ((r = 1; r <= rounds; r++)); do v+=("${floor[${2:-fdatasync},$1,$r]:-}"); done
    median "${v[@]}"
}
fd_p50=$(floor_med p50_us)
fd_ops=$(floor_med ops_per_s)
fd_p99=$(floor_med p99_us)
sh_p50=$(floor_med p50_us shared)
sh_ops=$(floor_med ops_per_s shared)
sh_p99=$(floor_med p99_us shared)
if ((ndrivers)); then
    echo "bench=floor test=fdatasync size=128 ops_per_s=$fd_ops p50_us=$fd_p50 p99_us=$fd_p99 ops=$floor_ops rounds=$rounds fs=$fs_type"
    [[ -n $sh_p50 ]] && echo "bench=floor test=fdatasync_shared writers=3 size=128 ops_per_s=$sh_ops p50_us=$sh_p50 p99_us=$sh_p99 ops=$((3 * floor_ops)) rounds=$rounds fs=$fs_type"
    printf '%s\n' "$rtt_run_out"
fi

for d in "${drivers[@]}"; do
    for s in yes no; do
        for k in "${ks[@]}"; do
            r=$(med_round "$d" "$s" "$k")
            ((r == 0)) && r=1
            # the stages line's local_append_us comes from the same round's sync=no run
            print_result "$d" "$s" "$k" "$r" 1
        done
    done
done
[[ -f $tmp/node_stats.txt ]] && cat "$tmp/node_stats.txt"
[[ -f $tmp/syscalls.line ]] && cat "$tmp/syscalls.line"
[[ -f $tmp/instr.line ]] && cat "$tmp/instr.line"

# ---- ratios ----

for d in dpdk-vhost dpdk-memif; do
    [[ " ${drivers[*]} " == *" $d "* && " ${drivers[*]} " == *" udp "* ]] || continue
    for s in yes no; do
        for k in "${ks[@]}"; do
            a=$(med "$d" "$s" "$k" commits_per_s)
            b=$(med udp "$s" "$k" commits_per_s)
            [[ -n $a && -n $b ]] && echo "bench=rep ratio=commits_per_s_vs_udp driver=$d sync=$s outstanding=$k value=$(calc "$a / $b")"
            a=$(med "$d" "$s" "$k" p50_us)
            b=$(med udp "$s" "$k" p50_us)
            [[ -n $a && -n $b ]] && echo "bench=rep ratio=p50_vs_udp driver=$d sync=$s outstanding=$k value=$(calc "$a / $b")"
        done
    done
done
for d in "${drivers[@]}"; do
    a=$(med "$d" yes 1 p50_us)
    [[ -n $a && -n $fd_p50 ]] && echo "bench=rep ratio=sync_p50_vs_fdatasync_p50 driver=$d outstanding=1 value=$(calc "$a / $fd_p50")"
    [[ -n $a && -n $sh_p50 ]] && echo "bench=rep ratio=sync_p50_vs_shared_fdatasync_p50 driver=$d outstanding=1 value=$(calc "$a / $sh_p50")"
    for k in 32 256; do
        a=$(med "$d" yes "$k" commits_per_s)
        [[ -n $a && -n $fd_ops ]] && echo "bench=rep ratio=sync_commits_per_s_vs_fdatasync_ops_per_s driver=$d outstanding=$k value=$(calc "$a / $fd_ops")"
    done
    a=$(med "$d" no 1 p50_us)
    w=${floor[rtt,$d]:-}
    [[ -n $a && -n $w ]] && echo "bench=rep ratio=nosync_p50_vs_rtt_p50 driver=$d outstanding=1 value=$(calc "$a / $w")"
done

# ---- checks (issue 4's bars, over dpdk-vhost) ----

n_pass=0
n_checks=0
check() {
    local name=$1 want=$2 value=$3 pass=$4 extra=${5:-}
    n_checks=$((n_checks + 1))
    [[ $pass == yes ]] && n_pass=$((n_pass + 1))
    echo "bench=rep check=$name want=$want value=$value pass=$pass$extra"
}
if [[ " ${drivers[*]} " == *" dpdk-vhost "* ]]; then
    d=dpdk-vhost
    a=$(med $d yes 1 p50_us)
    o=$(med $d yes 1 other_cpu_pct)
    if [[ -n $a && -n $fd_p50 ]]; then
        val=$(calc "$a / $fd_p50")
        check sync_p50_k1_vs_fdatasync_p50 "<=1.5" "$val" "$(awk -v v="$val" 'BEGIN { print (v <= 1.5 ? "yes" : "no") }')" " driver=$d p50_us=$a floor_p50_us=$fd_p50 other_cpu_pct=$o"
    fi
    a=$(med $d yes 256 commits_per_s)
    o=$(med $d yes 256 other_cpu_pct)
    if [[ -n $a && -n $fd_ops ]]; then
        val=$(calc "$a / $fd_ops")
        check sync_commits_k256_vs_fdatasyncs ">=20" "$val" "$(awk -v v="$val" 'BEGIN { print (v >= 20 ? "yes" : "no") }')" " driver=$d commits_per_s=$a floor_ops_per_s=$fd_ops other_cpu_pct=$o"
    fi
    a=$(med $d no 1 p50_us)
    o=$(med $d no 1 other_cpu_pct)
    if [[ -n $a ]]; then
        check nosync_p50_k1_us "<=40" "$a" "$(awk -v v="$a" 'BEGIN { print (v <= 40 ? "yes" : "no") }')" " driver=$d other_cpu_pct=$o"
    fi
    a=$(med $d no 256 commits_per_s)
    b=$(med udp no 256 commits_per_s)
    o=$(med $d no 256 other_cpu_pct)
    if [[ -n $a && -n $b ]]; then
        val=$(calc "$a / $b")
        check nosync_commits_k256_vhost_vs_udp ">=2" "$val" "$(awk -v v="$val" 'BEGIN { print (v >= 2 ? "yes" : "no") }')" " vhost_commits_per_s=$a udp_commits_per_s=$b other_cpu_pct=$o"
    fi
fi
echo "bench=rep checks_passed=$n_pass checks=$n_checks end loadavg=$(cut -d' ' -f1 /proc/loadavg)"
