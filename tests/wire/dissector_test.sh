#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Usage: dissector_test.sh WIRE_MAKE_PCAP TERN_LUA
#
# Checks the Wireshark dissector (tools/wireshark/tern.lua) against frames that lib/wire
# builds (wire_make_pcap): tshark must decode every message type with the right header
# and body fields, verify the CRC32C of good frames, flag the one with a bad CRC and the
# one of another major version, and find a Tern frame on a non-default port. Exits 77
# (skipped) when tshark is not installed.
set -uo pipefail

make_pcap=$1
lua=$2
if ! command -v tshark >/dev/null 2>&1; then
    echo "dissector_test: tshark not installed (apt-get install tshark); skipped"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-dissector.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

"$make_pcap" "$tmp/tern.pcap" || exit 1
# tshark wants a writable home for its profile; keep the user's out of it.
export HOME=$tmp
tshark -n -X lua_script:"$lua" -r "$tmp/tern.pcap" -V >"$tmp/v.txt" 2>"$tmp/err.txt" || {
    echo "dissector_test: tshark failed:"
    cat "$tmp/err.txt"
    exit 1
}
tshark -n -X lua_script:"$lua" -r "$tmp/tern.pcap" -T fields -e tern.type -e tern.src \
    -e tern.dst -e tern.term -e tern.crc_ok >"$tmp/f.txt" 2>>"$tmp/err.txt" || exit 1

fail=0
expect() { # expect TEXT: a line of the verbose output contains TEXT
    if ! grep -qF -- "$1" "$tmp/v.txt"; then
        echo "dissector_test: missing: $1"
        fail=1
    fi
}
count() { # count TEXT N: exactly N lines contain TEXT
    local n
    n=$(grep -cF -- "$1" "$tmp/v.txt")
    if [[ $n != "$2" ]]; then
        echo "dissector_test: '$1' on $n lines, want $2"
        fail=1
    fi
}

if grep -q "Lua Error" "$tmp/v.txt" "$tmp/err.txt"; then
    echo "dissector_test: Lua errors:"
    grep -h "Lua Error" "$tmp/v.txt" "$tmp/err.txt" | sort -u
    fail=1
fi
for t in ENTRIES ENTRY_FRAGMENT ACK NAK HEARTBEAT HEARTBEAT_REPLY SYNCUP_REQ SYNCUP_REPLY \
    PROPOSE PROMISE ACCEPT ACCEPTED RESULT GROUP_UPDATE ADMIN_REQ ADMIN_REPLY RESTORE_REQ \
    RESTORE_CHUNK RESTORE_CHUNK_ACK; do
    expect "Message type: $t ("
done
# 22 frames, all Tern (the last on port 9999, found by the heuristic dissector).
count "Magic: 0x4e524554" 22
count "Group id: 24301" 22
count "[CRC32C good: True]" 20
count "[CRC32C good: False]" 1
expect "CRC32C should be 0x"
expect "major version 2 (this dissector knows 1)"
count "Malformed" 0
# Header and body fields.
expect "Source node: 1"
expect "Destination node: 2"
expect "Term: 7"
expect "Capabilities: 0x00000007"
expect "Entry 1: VLSN 100, 5 bytes"
expect "Entry 3: VLSN 102, 1 bytes"
expect "Commit VLSN: 99"
expect "Payload: 68656c6c6f"
expect "Entry length: 1000"
expect "Offset: 995"
expect "Received VLSN: 50"
expect "Durable VLSN: 40"
expect "Missing VLSNs 5..7"
expect "Missing VLSNs 9..9"
expect "Timestamp (ns): 123456789"
expect "Echoed heartbeat sequence: 77"
expect "Probe: VLSN 90 term 4"
expect "Status: MATCH (1)"
expect "Matchpoint VLSN: 90"
expect "Proposal: 8"
expect "Accepted proposal: 6"
expect "Node type: ELECTABLE (1)"
expect "Master: 3"
expect "Member: node 12 (sixteen-chars-xy)"
expect "UDP port: 7411"
expect "Operation: TRANSFER_MASTER (2)"
expect "Text: target 3 did not catch up in 5000 ms"
expect "Result: -110"
expect "File name: 00000002.tlg"
expect "Next offset: 65541"
# The field view: type, src, dst, term, crc_ok of the first frame.
first=$(head -n 1 "$tmp/f.txt")
if [[ $first != $'1\t1\t2\t7\tTrue' && $first != $'1\t1\t2\t7\t1' ]]; then
    echo "dissector_test: first frame's fields: $first"
    fail=1
fi
if ((fail)); then
    echo "---- tshark -V output"
    cat "$tmp/v.txt"
    exit 1
fi
echo "dissector_test: 22 frames decoded as expected"
