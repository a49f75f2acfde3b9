#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The one command a new user runs: install what Tern needs, build it, and run the main
# job: a local replication group of three ternd processes over DPDK virtual devices
# (a mesh of vhost/virtio-user links), with a live view of what it does.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: tools/run.sh [options]

Installs the Debian packages Tern needs (tools/deps.sh), configures and builds build/
with meson, then starts a local replication group: three ternd processes (node 1 the
master, nodes 2 and 3 electable replicas) linked by net_vhost/net_virtio_user pairs,
--no-huge, adaptive polling. The master commits 100-byte entries for the run's length
while a live view prints, once a second, each node's state, term, last and durable
VLSN, the master's commits/s and commit latency, and how far (in VLSNs) each replica
fell behind the master at most since the previous line, as the master saw it. At the end
one commit under ALL acknowledgements waits for every replica, the nodes close, and
their logs are compared entry for entry.

  --seconds N          length of the run (default 15)
  --fabric F           vhost (default) or udp (the kernel-socket driver, no EAL)
  --outstanding K      commits in flight on the master (default 32)
  --durability L,R,A   local sync, replica sync, ack policy
                       (default sync,no_sync,simple_majority)
  --keep               keep the temporary folder (homes, logs, dumps) and say where
  --help               show this text

Environment: BUILD_DIR (default build) names the build folder.
EOF
}

seconds=15
fabric=vhost
outstanding=32
durability=sync,no_sync,simple_majority
keep=0
while (($# > 0)); do
    case $1 in
    --seconds | --fabric | --outstanding | --durability)
        (($# >= 2)) || {
            echo "tools/run.sh: $1 needs a value" >&2
            exit 2
        }
        case $1 in
        --seconds) seconds=$2 ;;
        --fabric) fabric=$2 ;;
        --outstanding) outstanding=$2 ;;
        --durability) durability=$2 ;;
        esac
        shift
        ;;
    --keep) keep=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "tools/run.sh: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done
[[ $seconds =~ ^[0-9]+$ && $outstanding =~ ^[0-9]+$ ]] || {
    echo "tools/run.sh: --seconds and --outstanding take numbers" >&2
    exit 2
}
[[ $fabric == vhost || $fabric == udp ]] || {
    echo "tools/run.sh: --fabric is vhost or udp" >&2
    exit 2
}

cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

tools/deps.sh

# Configure once; later runs only rebuild what changed.
if [[ ! -f $build/meson-private/coredata.dat ]]; then
    meson setup "$build" --buildtype=debugoptimized
fi
meson compile -C "$build"

# shellcheck source=tools/lib/group.sh
. tools/lib/group.sh
ternd=$PWD/$build/apps/ternd
grp_ternd=$ternd
grp_dir=$(mktemp -d "${TMPDIR:-/tmp}/tern-run.XXXXXX")
grp_fabric=$fabric
tmp=$grp_dir
tag="ternrun$$"

# shellcheck disable=SC2317 # (called from the EXIT trap)
cleanup() {
    grp_cleanup
    if ((keep)); then
        echo "run: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'echo; echo "run: interrupted"; exit 130' INT TERM

say() {
    printf 'run: %s\n' "$*"
}

die() {
    say "error: $*"
    for n in 1 2 3; do
        [[ -f $tmp/$n.log ]] && {
            echo "---- node $n"
            tail -n 20 "$tmp/$n.log"
        }
    done
    exit 1
}

# ---- the group: config, EAL arguments, processes (tools/lib/group.sh) ----

grp_conf

# start N: node N, its commands through a fifo.
start() {
    local n=$1
    grp_node_cmd "$n" "$tag-$n"
    grp_cmd+=(--poll adaptive --durability "$durability" --commands --dump "$tmp/dump-$n.txt")
    grp_start "$n" fifo "${grp_cmd[@]}"
}

# send NODE SECONDS LINE: a command to a node; wait for its answer (`ok ...`).
send() {
    local n=$1 secs=$2 rc=0
    shift 2
    grp_send "$n" "$secs" "$*" || rc=$?
    case $rc in
    0) ;;
    1) die "node $n refused '$*': $grp_reply" ;;
    *) die "timed out waiting for node $n's answer to '$*'" ;;
    esac
}

say "group of 3 over $fabric, durability $durability, $outstanding in flight, ${seconds}s"
say "ternd: $ternd -- --help documents every option"
grp_up start 15 20 || die "timed out waiting for $grp_error"
say "group up: node 1 MASTER, nodes 2 and 3 REPLICA"

# ---- the live view ----

printf '%-5s %-8s %-5s %-9s %-9s %-10s %-9s %-8s %-22s\n' \
    time master term last durable commits/s p50_us p99_us "most behind 2 / 3 (VLSNs)"
chunk=2000
t0=$SECONDS
while ((SECONDS - t0 < seconds)); do
    t1=$(date +%s%N)
    send 1 120 "load $chunk $outstanding $durability"
    t2=$(date +%s%N)
    send 1 10 stats
    last=$(grp_last 1 stats last_vlsn)
    # The master's view: the most each replica fell behind during the chunk.
    lag2=$(grp_last 1 replicas lag_max_2)
    lag3=$(grp_last 1 replicas lag_max_3)
    printf '%-5s %-8s %-5s %-9s %-9s %-10s %-9s %-8s %-22s\n' \
        "$((SECONDS - t0))s" "$(grp_last 1 stats state)" "$(grp_last 1 stats term)" "$last" \
        "$(grp_last 1 stats durable_vlsn)" "$(grp_last 1 load commits_per_s)" \
        "$(grp_last 1 load p50_us)" "$(grp_last 1 load p99_us)" "$lag2 / $lag3"
    failed=$(grp_last 1 load failed)
    ((failed == 0)) ||
        say "warning: $failed commits failed (first error $(grp_last 1 load first_err))"
    # Aim each chunk at about half a second of commits.
    ms=$(((t2 - t1) / 1000000 + 1))
    chunk=$((chunk * 500 / ms))
    ((chunk < 100)) && chunk=100
    ((chunk > 200000)) && chunk=200000
done

# ---- the end: every replica caught up, clean close, logs compared ----

send 1 60 "load 1 1 sync,sync,all 20000"
[[ $(grp_last 1 load ok) == 1 ]] || die "the final commit under ALL failed"
for n in 3 2 1; do
    grp_stop "$n" quit
    ((grp_rc == 0)) || die "node $n exited with an error"
    grep '^ternd ' "$tmp/$n.log" | tail -n 1 | sed "s/^/run: node $n: /"
done
entries=$(wc -l <"$tmp/dump-1.txt")
for n in 2 3; do
    cmp -s "$tmp/dump-1.txt" "$tmp/dump-$n.txt" || die "node $n's log differs from the master's"
done
say "logs agree: $entries entries (VLSN, term, type, length, CRC32C) on 3 nodes"
