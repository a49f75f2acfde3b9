# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034 # (the state it sets is read by the scripts that source it)
#
# A local replication group of three ternd processes (node 1 the static master, nodes 2
# and 3 electable replicas), for the scripts that start one: tools/run.sh (the live
# view), tests/integration/rep_test.sh (the rep-* integration tests) and
# bench/rep/rep_bench.sh (`tools/bench.sh rep`). Source it; it runs nothing by itself.
#
# Fabrics (grp_fabric):
#   vhost   the dpdk driver over a mesh of net_vhost/net_virtio_user links, one port per
#           peer; for each pair the lower node id hosts the vhost side (FABRIC.md)
#   memif   the same mesh over net_memif: server on the lower id, client on the higher
#           (bsize=9216, a socket file per link)
#   udp     the kernel udp driver on 127.0.0.1, distinct ports, no EAL
# DPDK nodes run --no-huge -m 128 --no-pci --no-shconf, their own --file-prefix and
# --lcores='0@(0-1),1@(0-1)' (the datapath on worker lcore 1; never all pinned to one CPU).
#
# Nodes are named (NAME): "1", "2", "3", or another word for a restarted node ("3r").
# A node's output is $grp_dir/NAME.log. Its commands (ternd --commands) go through a fifo:
#   fifo mode  stdout and stderr to NAME.log; answers are found by polling the log
#   pipe mode  stdout through a second fifo that the script reads (no polling, no CPU
#              spent waiting), each line appended to NAME.log; stderr to NAME.err
#
# Settings, read by the functions (set them before grp_conf):
#   grp_ternd       the ternd executable
#   grp_dir         the folder of the group: group.conf, homes h<N>, sockets, logs, fifos
#   grp_fabric      vhost, memif or udp ("dpdk-vhost" and "dpdk-memif" also do)
#   grp_id          the group id (--group-id)                                   default 7
#   grp_label       words put before "<id> <name> ..." in group.conf's comment  default ""
#   grp_subnet      the first three octets of the nodes' IPv4 on dpdk fabrics   default 10.77.1
#   grp_udp_base    node N's udp port is grp_udp_base + N          default 20000 + $$ % 20000
#   grp_vhost_log   the level of --log-level=lib.vhost.*                        default notice
#   grp_wait_hz     how often grp_wait polls, per second                        default 20
#
# State, set by the functions:
#   grp_eal[N]      node N's --vdev arguments (words)                 (grp_conf)
#   grp_ports[N]    node N's --port PEER=PORT overrides (words)       (grp_conf)
#   grp_cmd         array: the command line of a node                 (grp_node_cmd)
#   grp_prefixes    array: the EAL --file-prefix values used          (grp_node_cmd)
#   grp_pid[NAME]   a running node's pid                              (grp_start, grp_stop)
#   grp_in[NAME]    the fd that writes to a node's commands           (grp_start)
#   grp_out[NAME]   pipe mode: the fd that reads the node's stdout    (grp_start)
#   grp_mark[NAME]  lines in NAME.log when the last command was sent  (grp_send)
#   grp_reply       the answer line (`ok CMD` / `error: ...`), or the line grp_read found
#   grp_rc          the exit status of the node grp_stop stopped
#   grp_error       what grp_up was waiting for when it timed out
#
# Functions (0 on success unless said):
#   grp_conf                  write $grp_dir/group.conf and fill grp_eal and grp_ports
#   grp_node_cmd N PREFIX     node N's command line into grp_cmd: EAL arguments (--file-
#                             prefix=PREFIX, recorded in grp_prefixes) then Tern's, up to
#                             --config; the caller appends the rest
#   grp_start NAME MODE CMD...  run CMD in the background as node NAME; MODE none (stdin
#                             /dev/null), fifo or pipe (commands through a fifo, above)
#   grp_wait SECS CMD...      poll CMD (grp_wait_hz times a second) until it succeeds;
#                             1 after SECS seconds
#   grp_has NAME REGEX        NAME.log has a line matching REGEX (grep)
#   grp_sock_up PATH          PATH is a socket
#   grp_wait_host N SECS      the sockets of the links node N hosts exist (none on udp)
#   grp_wait_state NAME STATE SECS  node NAME printed state=STATE
#   grp_up START SOCK_SECS STATE_SECS  START 1 (the caller's function), node 1's sockets,
#                             START 2, node 2's socket, START 3, then node 1 MASTER and
#                             nodes 2 and 3 REPLICA; 1 with grp_error on a timeout
#   grp_read NAME SECS REGEX  pipe mode: read the node's lines into its log until one
#                             matches REGEX (=~), that line in grp_reply; 1 on timeout/EOF
#   grp_send NAME SECS LINE   send a command, wait for its answer (grp_reply): 0 `ok`,
#                             1 `error`, 2 no answer within SECS, 3 could not send
#   grp_new NAME              print NAME.log's lines since the last command was sent
#   grp_since NAME PREFIX     print the last of those that starts with "PREFIX"
#   grp_last NAME PREFIX KEY  KEY's value in NAME.log's last line starting "PREFIX "
#   grp_field LINE KEY        KEY's value in a line of key=value words
#   grp_stop NAME HOW [SECS]  stop a node: HOW quit (a command) or a signal (TERM, KILL);
#                             SECS > 0: SIGKILL after SECS seconds; grp_rc its status
#   grp_clean_prefixes        remove /var/run/dpdk/<prefix> for every prefix used
#   grp_cleanup               close the fifos, SIGKILL every node still running, wait,
#                             grp_clean_prefixes (for an EXIT trap; the caller removes
#                             grp_dir)

grp_ternd=${grp_ternd:-}
grp_dir=${grp_dir:-}
grp_fabric=${grp_fabric:-}
grp_id=${grp_id:-7}
grp_label=${grp_label:-}
grp_subnet=${grp_subnet:-10.77.1}
grp_udp_base=${grp_udp_base:-$((20000 + $$ % 20000))}
grp_vhost_log=${grp_vhost_log:-notice}
grp_wait_hz=${grp_wait_hz:-20}
declare -gA grp_eal=() grp_ports=() grp_pid=() grp_in=() grp_out=() grp_mark=()
declare -ga grp_cmd=() grp_prefixes=()
grp_reply=
grp_rc=0
grp_error=

# grp_conf: the config file (one line per node, "master 1") and, on dpdk fabrics, the
# mesh: for each pair the lower node id hosts the link (vhost, memif server).
grp_conf() {
    local n pair a b sock fab=${grp_fabric#dpdk-}
    {
        echo "# $grp_label<id> <name> <type> <mac> <ipv4> <udp-port> <dpdk-port>"
        for n in 1 2 3; do
            if [[ $fab == udp ]]; then
                echo "$n node$n electable - 127.0.0.1 $((grp_udp_base + n)) -"
            else
                echo "$n node$n electable - $grp_subnet.$n 7410 -"
            fi
        done
        echo "master 1"
    } >"$grp_dir/group.conf"
    grp_eal=([1]="" [2]="" [3]="")
    grp_ports=([1]="" [2]="" [3]="")
    [[ $fab == udp ]] && return 0
    local -A np=([1]=0 [2]=0 [3]=0)
    for pair in "1 2" "1 3" "2 3"; do
        read -r a b <<<"$pair"
        sock="$grp_dir/$a-$b.sock"
        if [[ $fab == vhost ]]; then
            grp_eal[$a]+=" --vdev=net_vhost${np[$a]},iface=$sock"
            grp_ports[$a]+=" --port $b=net_vhost${np[$a]}"
            grp_eal[$b]+=" --vdev=net_virtio_user${np[$b]},path=$sock,queue_size=1024"
            grp_ports[$b]+=" --port $a=net_virtio_user${np[$b]}"
        else
            local opts="id=0,socket=$sock,socket-abstract=no,bsize=9216"
            grp_eal[$a]+=" --vdev=net_memif${np[$a]},role=server,$opts"
            grp_ports[$a]+=" --port $b=net_memif${np[$a]}"
            grp_eal[$b]+=" --vdev=net_memif${np[$b]},role=client,$opts"
            grp_ports[$b]+=" --port $a=net_memif${np[$b]}"
        fi
        np[$a]=$((np[$a] + 1))
        np[$b]=$((np[$b] + 1))
    done
}

# grp_node_cmd N PREFIX: grp_cmd = ternd, EAL arguments (dpdk), --net, the ports, then
# --group-id, --node, --home and --config.
grp_node_cmd() {
    local n=$1 prefix=$2
    if [[ ${grp_fabric#dpdk-} == udp ]]; then
        grp_cmd=("$grp_ternd" --net udp)
    else
        grp_prefixes+=("$prefix")
        # shellcheck disable=SC2206 # (word splitting of the vdev and port lists is wanted)
        grp_cmd=("$grp_ternd" --no-huge -m 128 --no-pci --no-shconf "--file-prefix=$prefix"
            '--lcores=0@(0-1),1@(0-1)' '--log-level=lib.eal:notice'
            "--log-level=lib.vhost.*:$grp_vhost_log" ${grp_eal[$n]} -- --net dpdk
            ${grp_ports[$n]})
    fi
    grp_cmd+=(--group-id "$grp_id" --node "$n" --home "$grp_dir/h$n"
        --config "$grp_dir/group.conf")
}

# grp_start NAME MODE CMD...: see the header. The fifos are $grp_dir/NAME.in (commands)
# and, in pipe mode, $grp_dir/NAME.out (stdout).
grp_start() {
    local name=$1 mode=$2 fd_in fd_out
    shift 2
    local log="$grp_dir/$name.log" in="$grp_dir/$name.in" out="$grp_dir/$name.out"
    case $mode in
    none)
        "$@" </dev/null >"$log" 2>&1 &
        grp_pid[$name]=$!
        ;;
    fifo)
        rm -f "$in"
        mkfifo "$in"
        "$@" <"$in" >"$log" 2>&1 &
        grp_pid[$name]=$!
        exec {fd_in}>"$in"
        grp_in[$name]=$fd_in
        ;;
    pipe)
        rm -f "$in" "$out"
        mkfifo "$in" "$out"
        "$@" <"$in" >"$out" 2>>"$grp_dir/$name.err" &
        grp_pid[$name]=$!
        exec {fd_in}>"$in" {fd_out}<"$out"
        grp_in[$name]=$fd_in
        grp_out[$name]=$fd_out
        : >"$log"
        ;;
    *)
        echo "grp_start: unknown mode '$mode'" >&2
        return 2
        ;;
    esac
    grp_mark[$name]=0
}

grp_wait() {
    local secs=$1 i tick
    shift
    tick=$(awk -v h="$grp_wait_hz" 'BEGIN { print 1 / h }')
    for ((i = 0; i < secs * grp_wait_hz; i++)); do
        "$@" && return 0
        sleep "$tick"
    done
    return 1
}

grp_has() {
    grep -q -- "$2" "$grp_dir/$1.log" 2>/dev/null
}

grp_sock_up() {
    [[ -S $1 ]]
}

grp_wait_host() {
    local n=$1 secs=$2 m
    [[ ${grp_fabric#dpdk-} == udp ]] && return 0
    for ((m = n + 1; m <= 3; m++)); do
        grp_wait "$secs" grp_sock_up "$grp_dir/$n-$m.sock" || return 1
    done
}

grp_wait_state() {
    local name=$1 state=$2 secs=$3
    if [[ -n ${grp_out[$name]:-} ]]; then
        grp_read "$name" "$secs" "^state=$state"
    else
        grp_wait "$secs" grp_has "$name" "^state=$state"
    fi
}

grp_up() {
    local start=$1 ss=$2 st=$3
    grp_error=
    "$start" 1 || return 1
    grp_wait_host 1 "$ss" || {
        grp_error="node 1's sockets"
        return 1
    }
    "$start" 2 || return 1
    grp_wait_host 2 "$ss" || {
        grp_error="node 2's socket"
        return 1
    }
    "$start" 3 || return 1
    grp_wait_state 1 MASTER "$st" || {
        grp_error="node 1 to be master"
        return 1
    }
    grp_wait_state 2 REPLICA "$st" || {
        grp_error="node 2 to be a replica"
        return 1
    }
    grp_wait_state 3 REPLICA "$st" || {
        grp_error="node 3 to be a replica"
        return 1
    }
}

grp_read() {
    local name=$1 t=$2 pat=$3 line end=$((SECONDS + $2))
    while ((SECONDS <= end)); do
        IFS= read -r -t "$t" line <&"${grp_out[$name]}" || return 1
        printf '%s\n' "$line" >>"$grp_dir/$name.log"
        if [[ $line =~ $pat ]]; then
            grp_reply=$line
            return 0
        fi
    done
    return 1
}

# (through grp_wait) NAME.log has an answer after line MARK
grp_answered() {
    tail -n "+$(($2 + 1))" "$grp_dir/$1.log" | grep -q -E '^(ok|error)'
}

grp_send() {
    local name=$1 secs=$2 line=$3
    grp_reply=
    grp_mark[$name]=$(wc -l <"$grp_dir/$name.log")
    { printf '%s\n' "$line" >&"${grp_in[$name]}"; } 2>/dev/null || return 3
    if [[ -n ${grp_out[$name]:-} ]]; then
        grp_read "$name" "$secs" '^(ok|error)' || return 2
    else
        grp_wait "$secs" grp_answered "$name" "${grp_mark[$name]}" || return 2
        grp_reply=$(grp_new "$name" | grep -E '^(ok|error)' | head -n 1) || true
    fi
    [[ $grp_reply == ok* ]] || return 1
}

grp_new() {
    tail -n "+$((${grp_mark[$1]:-0} + 1))" "$grp_dir/$1.log"
}

grp_since() {
    grp_new "$1" | grep -- "^$2" | tail -n 1 || true
}

grp_last() {
    local line
    line=$(grep -- "^$2 " "$grp_dir/$1.log" 2>/dev/null | tail -n 1) || true
    grp_field "$line" "$3"
}

grp_field() {
    local tok words
    read -r -a words <<<"$1"
    for tok in "${words[@]}"; do
        if [[ $tok == "$2="* ]]; then
            echo "${tok#*=}"
            return 0
        fi
    done
    return 0
}

grp_stop() {
    local name=$1 how=$2 secs=${3:-0} pid=${grp_pid[$1]:-} i fd line
    grp_rc=0
    [[ -n $pid ]] || return 0
    if [[ $how == quit ]]; then
        { printf 'quit\n' >&"${grp_in[$name]}"; } 2>/dev/null || true
    else
        kill "-$how" "$pid" 2>/dev/null || true
    fi
    if ((secs > 0)); then
        for ((i = 0; i < secs * 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.02
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null && grp_rc=0 || grp_rc=$?
    unset "grp_pid[$name]"
    if [[ -n ${grp_out[$name]:-} ]]; then
        # what the node printed last (its summary)
        fd=${grp_out[$name]}
        while IFS= read -r -t 0.2 line <&"$fd"; do
            printf '%s\n' "$line" >>"$grp_dir/$name.log"
        done 2>/dev/null
        exec {fd}<&-
        unset "grp_out[$name]"
    fi
    if [[ -n ${grp_in[$name]:-} ]]; then
        fd=${grp_in[$name]}
        exec {fd}>&-
        unset "grp_in[$name]"
    fi
    return 0
}

grp_clean_prefixes() {
    local p
    for p in "${grp_prefixes[@]}"; do
        rm -rf "/var/run/dpdk/$p" "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$p" || true
    done
    return 0
}

grp_cleanup() {
    local name fd
    for name in "${!grp_in[@]}"; do
        fd=${grp_in[$name]}
        exec {fd}>&- 2>/dev/null
    done
    for name in "${!grp_out[@]}"; do
        fd=${grp_out[$name]}
        exec {fd}<&- 2>/dev/null
    done
    grp_in=()
    grp_out=()
    for name in "${!grp_pid[@]}"; do
        kill -9 "${grp_pid[$name]}" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    grp_pid=()
    grp_clean_prefixes
}
