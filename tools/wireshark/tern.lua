-- SPDX-License-Identifier: BSD-3-Clause
--
-- Wireshark / tshark dissector for the Tern wire protocol (DESIGN.md 3; the format is
-- lib/wire/tern_wire.h and lib/wire/tern_wire_msgs.h, all fields little-endian).
--
-- Use:  tshark -X lua_script:tools/wireshark/tern.lua -r capture.pcap -V
--       wireshark -X lua_script:tools/wireshark/tern.lua capture.pcap
-- or copy this file into ~/.local/lib/wireshark/plugins/.
--
-- Registered on UDP port 7410 (TERN_WIRE_UDP_PORT) and as a heuristic UDP dissector
-- (any port, recognised by the magic "TERN"). Decodes the 40-byte header, checks its
-- CRC32C and length, and decodes the body of every message type. Display filters:
-- tern, tern.type == 1, tern.src == 2, tern.entry.vlsn >= 100, tern.crc_ok == 0, ...

local tern = Proto("tern", "Tern replication protocol")

local TERN_MAGIC = 0x4e524554
local HDR_LEN = 40
local UDP_PORT = 7410

local msg_types = {
    [1] = "ENTRIES", [2] = "ENTRY_FRAGMENT", [3] = "ACK", [4] = "NAK",
    [5] = "HEARTBEAT", [6] = "HEARTBEAT_REPLY", [7] = "SYNCUP_REQ", [8] = "SYNCUP_REPLY",
    [9] = "PROPOSE", [10] = "PROMISE", [11] = "ACCEPT", [12] = "ACCEPTED", [13] = "RESULT",
    [14] = "GROUP_UPDATE", [15] = "ADMIN_REQ", [16] = "ADMIN_REPLY", [17] = "RESTORE_REQ",
    [18] = "RESTORE_CHUNK", [19] = "RESTORE_CHUNK_ACK",
}
local syncup_status = {
    [1] = "MATCH", [2] = "PROBE_OLDER", [3] = "NEEDS_RESTORE", [4] = "NOT_MASTER",
}
local node_types = { [1] = "ELECTABLE", [2] = "SECONDARY", [3] = "ARBITER", [4] = "MONITOR" }
local group_ops = { [1] = "SNAPSHOT", [2] = "ADD", [3] = "REMOVE", [4] = "CHANGE" }
local admin_ops = { [1] = "STATUS", [2] = "TRANSFER_MASTER", [3] = "SHUTDOWN_GROUP" }
local node_states = {
    [1] = "DETACHED", [2] = "UNKNOWN", [3] = "MASTER", [4] = "REPLICA", [5] = "SHUTDOWN",
}
local restore_ops = { [1] = "START", [2] = "RESUME", [3] = "ABORT" }

-- ---- Fields ----

local fields = {}
local F = {}

-- A field: abbr (after "tern."), label, kind, optional value strings or base.
local function field(abbr, label, kind, extra)
    local full = "tern." .. abbr
    local pf
    if kind == "u8" then
        pf = ProtoField.uint8(full, label, base.DEC, extra)
    elseif kind == "x8" then
        pf = ProtoField.uint8(full, label, base.HEX)
    elseif kind == "u16" then
        pf = ProtoField.uint16(full, label, base.DEC, extra)
    elseif kind == "u32" then
        pf = ProtoField.uint32(full, label, base.DEC, extra)
    elseif kind == "x32" then
        pf = ProtoField.uint32(full, label, base.HEX)
    elseif kind == "i32" then
        pf = ProtoField.int32(full, label, base.DEC)
    elseif kind == "u64" then
        pf = ProtoField.uint64(full, label, base.DEC)
    elseif kind == "bool" then
        pf = ProtoField.bool(full, label)
    elseif kind == "ipv4" then
        pf = ProtoField.ipv4(full, label)
    elseif kind == "ether" then
        pf = ProtoField.ether(full, label)
    elseif kind == "string" then
        pf = ProtoField.string(full, label)
    else
        pf = ProtoField.bytes(full, label)
    end
    F[abbr] = pf
    fields[#fields + 1] = pf
    return pf
end

local kind_size = { u8 = 1, x8 = 1, u16 = 2, u32 = 4, x32 = 4, i32 = 4, u64 = 8,
                    ipv4 = 4, ether = 6 }

-- Header.
field("magic", "Magic", "x32")
field("ver_major", "Version (major)", "u8")
field("ver_minor", "Version (minor)", "u8")
field("type", "Message type", "u8", msg_types)
field("flags", "Flags", "x8")
field("flags.retransmit", "Retransmit", "bool")
field("flags.urgent", "Urgent", "bool")
field("group", "Group id", "u32")
field("src", "Source node", "u16")
field("dst", "Destination node", "u16")
field("term", "Term", "u64")
field("payload_len", "Payload length", "u32")
field("caps", "Capabilities", "x32")
field("crc", "CRC32C", "x32")
field("crc_ok", "CRC32C good", "bool")
field("seq", "Sequence", "u32")
field("body", "Body", "bytes")

-- Fixed-layout bodies: {abbr, label, offset, kind[, value strings[, "optional"]]}; an
-- optional field (added by a later minor version) may be missing from the end.
local layouts = {
    [3] = { -- ACK
        { "ack.received_vlsn", "Received VLSN", 0, "u64" },
        { "ack.durable_vlsn", "Durable VLSN", 8, "u64" },
        { "ack.credit", "Credit", 16, "u32" },
        { "ack.hold_us", "Replica hold (us)", 20, "u32", nil, "optional" }, -- minor 1
    },
    [5] = { -- HEARTBEAT
        { "hb.commit_vlsn", "Commit VLSN", 0, "u64" },
        { "hb.last_vlsn", "Last VLSN", 8, "u64" },
        { "hb.timestamp_ns", "Timestamp (ns)", 16, "u64" },
        { "hb.seq", "Heartbeat sequence", 24, "u32" },
    },
    [6] = { -- HEARTBEAT_REPLY
        { "hbr.echo_timestamp_ns", "Echoed timestamp (ns)", 0, "u64" },
        { "hbr.received_vlsn", "Received VLSN", 8, "u64" },
        { "hbr.durable_vlsn", "Durable VLSN", 16, "u64" },
        { "hbr.echo_seq", "Echoed heartbeat sequence", 24, "u32" },
    },
    [8] = { -- SYNCUP_REPLY
        { "syncup.req_id", "Request id", 0, "u32" },
        { "syncup.status", "Status", 4, "u8", syncup_status },
        { "syncup.match_vlsn", "Matchpoint VLSN", 8, "u64" },
        { "syncup.match_term", "Matchpoint term", 16, "u64" },
        { "syncup.first_vlsn", "First VLSN", 24, "u64" },
        { "syncup.last_vlsn", "Last VLSN", 32, "u64" },
        { "syncup.commit_vlsn", "Commit VLSN", 40, "u64" },
    },
    [9] = { -- PROPOSE
        { "elect.proposal", "Proposal", 0, "u64" },
    },
    [10] = { -- PROMISE
        { "elect.proposal", "Proposal", 0, "u64" },
        { "elect.last_term", "Last term", 8, "u64" },
        { "elect.last_vlsn", "Last VLSN", 16, "u64" },
        { "elect.accepted_proposal", "Accepted proposal", 24, "u64" },
        { "elect.priority", "Priority", 32, "u32" },
        { "elect.accepted_master", "Accepted master", 36, "u16" },
        { "elect.node_type", "Node type", 38, "u8", node_types },
    },
    [11] = { -- ACCEPT
        { "elect.proposal", "Proposal", 0, "u64" },
        { "elect.master", "Master", 8, "u16" },
    },
    [15] = { -- ADMIN_REQ
        { "admin.req_id", "Request id", 0, "u32" },
        { "admin.op", "Operation", 4, "u8", admin_ops },
        { "admin.flags", "Flags", 5, "x8" },
        { "admin.target", "Target node", 6, "u16" },
        { "admin.timeout_ms", "Timeout (ms)", 8, "u64" },
    },
    [16] = { -- ADMIN_REPLY (then text_len bytes of text)
        { "admin.req_id", "Request id", 0, "u32" },
        { "admin.result", "Result", 4, "i32" },
        { "admin.op", "Operation", 8, "u8", admin_ops },
        { "admin.state", "Node state", 9, "u8", node_states },
        { "admin.master", "Master", 10, "u16" },
        { "admin.term", "Term", 12, "u64" },
        { "admin.last_vlsn", "Last VLSN", 20, "u64" },
        { "admin.commit_vlsn", "Commit VLSN", 28, "u64" },
        { "admin.durable_vlsn", "Durable VLSN", 36, "u64" },
        { "admin.text_len", "Text length", 44, "u16" },
    },
    [17] = { -- RESTORE_REQ
        { "restore.session", "Session", 0, "u32" },
        { "restore.op", "Operation", 4, "u8", restore_ops },
        { "restore.file", "File index", 6, "u16" },
        { "restore.max_chunk", "Largest chunk", 8, "u32" },
        { "restore.offset", "Offset", 16, "u64" },
    },
    [18] = { -- RESTORE_CHUNK (then name_len bytes of name, len bytes of data)
        { "restore.session", "Session", 0, "u32" },
        { "restore.file", "File index", 4, "u16" },
        { "restore.flags", "Flags", 6, "x8" },
        { "restore.name_len", "Name length", 7, "u8" },
        { "restore.offset", "Offset", 8, "u64" },
        { "restore.file_size", "File size", 16, "u64" },
        { "restore.data_crc", "Data CRC32C", 24, "x32" },
        { "restore.len", "Data length", 28, "u32" },
    },
    [19] = { -- RESTORE_CHUNK_ACK
        { "restore.session", "Session", 0, "u32" },
        { "restore.file", "File index", 4, "u16" },
        { "restore.next_offset", "Next offset", 8, "u64" },
        { "restore.status", "Status", 16, "i32" },
        { "restore.credit", "Credit", 20, "u32" },
    },
}
layouts[12] = layouts[11] -- ACCEPTED
layouts[13] = layouts[11] -- RESULT

-- Create each layout field once (layouts share some).
for _, layout in pairs(layouts) do
    for _, s in ipairs(layout) do
        if F[s[1]] == nil then
            field(s[1], s[2], s[4], s[5])
        end
    end
end

-- Variable-layout bodies.
field("entries.commit_vlsn", "Commit VLSN", "u64")
field("entries.count", "Entries", "u16")
field("entries.flags", "Flags", "x32")
field("entry.vlsn", "VLSN", "u64")
field("entry.term", "Term", "u64")
field("entry.txn_id", "Transaction id", "u64")
field("entry.timestamp_ns", "Timestamp (ns)", "u64")
field("entry.type", "Type", "u16")
field("entry.flags", "Flags", "u16")
field("entry.len", "Length", "u32")
field("entry.data", "Payload", "bytes")
field("frag.total_len", "Entry length", "u32")
field("frag.offset", "Offset", "u32")
field("frag.len", "Fragment length", "u32")
field("nak.n", "Ranges", "u16")
field("nak.first", "First missing VLSN", "u64")
field("nak.last", "Last missing VLSN", "u64")
field("syncup.req.n", "Probes", "u16")
field("syncup.req.first_vlsn", "First VLSN", "u64")
field("syncup.req.last_vlsn", "Last VLSN", "u64")
field("syncup.probe.vlsn", "Probe VLSN", "u64")
field("syncup.probe.term", "Probe term", "u64")
field("group.version", "Group version", "u64")
field("group.op", "Operation", "u8", group_ops)
field("group.total", "Members in all", "u16")
field("group.first", "First member here", "u16")
field("group.n", "Members here", "u16")
field("member.node_id", "Node id", "u16")
field("member.type", "Node type", "u8", node_types)
field("member.flags", "Flags", "x8")
field("member.priority", "Priority", "u32")
field("member.ipv4", "IPv4 address", "ipv4")
field("member.udp_port", "UDP port", "u16")
field("member.mac", "MAC address", "ether")
field("member.name", "Name", "string")
field("admin.text", "Text", "string")
field("restore.name", "File name", "string")
field("restore.data", "Data", "bytes")

tern.fields = fields

local ef_malformed = ProtoExpert.new("tern.malformed", "Malformed Tern message",
    expert.group.MALFORMED, expert.severity.ERROR)
local ef_crc = ProtoExpert.new("tern.bad_crc", "Tern CRC32C mismatch",
    expert.group.CHECKSUM, expert.severity.ERROR)
local ef_version = ProtoExpert.new("tern.version", "Unsupported Tern major version",
    expert.group.PROTOCOL, expert.severity.WARN)
tern.experts = { ef_malformed, ef_crc, ef_version }

-- ---- CRC32C (Castagnoli), to check the header's CRC ----

local bitops = bit32 or bit
local crc_table = nil

local function crc32c(tvb, from, len, zero_from, zero_to)
    if bitops == nil then
        return nil
    end
    local band, bxor, rshift = bitops.band, bitops.bxor, bitops.rshift
    if crc_table == nil then
        crc_table = {}
        for i = 0, 255 do
            local c = i
            for _ = 1, 8 do
                if band(c, 1) ~= 0 then
                    c = bxor(rshift(c, 1), 0x82f63b78)
                else
                    c = rshift(c, 1)
                end
            end
            crc_table[i] = c
        end
    end
    local crc = 0xffffffff
    local bytes = tvb:bytes(from, len)
    for i = 0, len - 1 do
        local b = bytes:get_index(i)
        if i >= zero_from and i < zero_to then
            b = 0
        end
        crc = bxor(rshift(crc, 8), crc_table[band(bxor(crc, b), 0xff)])
    end
    return bxor(crc, 0xffffffff)
end

-- ---- Body helpers ----

local function le64(tvb, off)
    return tvb(off, 8):le_uint64()
end

-- Add fixed fields; returns false when the body is too short for them.
local function add_layout(tree, tvb, base_off, blen, layout)
    for _, s in ipairs(layout) do
        local size = kind_size[s[4]]
        if s[3] + size > blen then
            -- A field a later minor version added may be absent; the rest must be there.
            return s[6] == "optional"
        end
        tree:add_le(F[s[1]], tvb(base_off + s[3], size))
    end
    return true
end

local function dissect_entries(tvb, pinfo, tree, off, blen)
    if blen < 12 then
        return false
    end
    tree:add_le(F["entries.commit_vlsn"], tvb(off, 8))
    tree:add_le(F["entries.count"], tvb(off + 8, 2))
    local count = tvb(off + 8, 2):le_uint()
    local pos = 12
    local first, last
    for i = 1, count do
        if blen - pos < 40 then
            return false
        end
        local e = off + pos
        local elen = tvb(e + 36, 4):le_uint()
        if elen > blen - pos - 40 then
            return false
        end
        local vlsn = le64(tvb, e)
        local sub = tree:add(tern, tvb(e, 40 + elen),
            string.format("Entry %d: VLSN %s, %d bytes", i, tostring(vlsn), elen))
        sub:add_le(F["entry.vlsn"], tvb(e, 8))
        sub:add_le(F["entry.term"], tvb(e + 8, 8))
        sub:add_le(F["entry.txn_id"], tvb(e + 16, 8))
        sub:add_le(F["entry.timestamp_ns"], tvb(e + 24, 8))
        sub:add_le(F["entry.type"], tvb(e + 32, 2))
        sub:add_le(F["entry.flags"], tvb(e + 34, 2))
        sub:add_le(F["entry.len"], tvb(e + 36, 4))
        if elen > 0 then
            sub:add(F["entry.data"], tvb(e + 40, elen))
        end
        first = first or vlsn
        last = vlsn
        pos = pos + 40 + elen
    end
    if first ~= nil then
        pinfo.cols.info:append(string.format(" VLSN %s..%s (%d)", tostring(first),
            tostring(last), count))
    end
    return pos == blen and count > 0
end

local function dissect_fragment(tvb, pinfo, tree, off, blen)
    if blen < 48 then
        return false
    end
    tree:add_le(F["entry.vlsn"], tvb(off, 8))
    tree:add_le(F["entry.term"], tvb(off + 8, 8))
    tree:add_le(F["entry.txn_id"], tvb(off + 16, 8))
    tree:add_le(F["entry.timestamp_ns"], tvb(off + 24, 8))
    tree:add_le(F["entry.type"], tvb(off + 32, 2))
    tree:add_le(F["entry.flags"], tvb(off + 34, 2))
    tree:add_le(F["frag.total_len"], tvb(off + 36, 4))
    tree:add_le(F["frag.offset"], tvb(off + 40, 4))
    tree:add_le(F["frag.len"], tvb(off + 44, 4))
    local flen = tvb(off + 44, 4):le_uint()
    pinfo.cols.info:append(string.format(" VLSN %s bytes %d+%d of %d",
        tostring(le64(tvb, off)), tvb(off + 40, 4):le_uint(), flen,
        tvb(off + 36, 4):le_uint()))
    if flen ~= blen - 48 then
        return false
    end
    if flen > 0 then
        tree:add(F["entry.data"], tvb(off + 48, flen))
    end
    return true
end

local function dissect_nak(tvb, pinfo, tree, off, blen)
    if blen < 4 then
        return false
    end
    tree:add_le(F["nak.n"], tvb(off, 2))
    local n = tvb(off, 2):le_uint()
    if blen ~= 4 + 16 * n then
        return false
    end
    for i = 0, n - 1 do
        local r = off + 4 + 16 * i
        local sub = tree:add(tern, tvb(r, 16), string.format("Missing VLSNs %s..%s",
            tostring(le64(tvb, r)), tostring(le64(tvb, r + 8))))
        sub:add_le(F["nak.first"], tvb(r, 8))
        sub:add_le(F["nak.last"], tvb(r + 8, 8))
        if i == 0 then
            pinfo.cols.info:append(string.format(" missing %s..%s",
                tostring(le64(tvb, r)), tostring(le64(tvb, r + 8))))
        end
    end
    return n > 0
end

local function dissect_syncup_req(tvb, pinfo, tree, off, blen)
    if blen < 24 then
        return false
    end
    tree:add_le(F["syncup.req_id"], tvb(off, 4))
    tree:add_le(F["syncup.req.n"], tvb(off + 4, 2))
    tree:add_le(F["syncup.req.first_vlsn"], tvb(off + 8, 8))
    tree:add_le(F["syncup.req.last_vlsn"], tvb(off + 16, 8))
    local n = tvb(off + 4, 2):le_uint()
    if blen ~= 24 + 16 * n then
        return false
    end
    for i = 0, n - 1 do
        local p = off + 24 + 16 * i
        local sub = tree:add(tern, tvb(p, 16), string.format("Probe: VLSN %s term %s",
            tostring(le64(tvb, p)), tostring(le64(tvb, p + 8))))
        sub:add_le(F["syncup.probe.vlsn"], tvb(p, 8))
        sub:add_le(F["syncup.probe.term"], tvb(p + 8, 8))
    end
    return true
end

local function dissect_group(tvb, pinfo, tree, off, blen)
    if blen < 16 then
        return false
    end
    tree:add_le(F["group.version"], tvb(off, 8))
    tree:add_le(F["group.op"], tvb(off + 8, 1))
    tree:add_le(F["group.total"], tvb(off + 10, 2))
    tree:add_le(F["group.first"], tvb(off + 12, 2))
    tree:add_le(F["group.n"], tvb(off + 14, 2))
    local n = tvb(off + 14, 2):le_uint()
    if blen ~= 16 + 36 * n then
        return false
    end
    for i = 0, n - 1 do
        local m = off + 16 + 36 * i
        local name = tvb(m + 20, 16):raw():match("^([^\0]*)")
        local sub = tree:add(tern, tvb(m, 36), string.format("Member: node %d (%s)",
            tvb(m, 2):le_uint(), name))
        sub:add_le(F["member.node_id"], tvb(m, 2))
        sub:add_le(F["member.type"], tvb(m + 2, 1))
        sub:add_le(F["member.flags"], tvb(m + 3, 1))
        sub:add_le(F["member.priority"], tvb(m + 4, 4))
        sub:add(F["member.ipv4"], tvb(m + 8, 4))
        sub:add_le(F["member.udp_port"], tvb(m + 12, 2))
        sub:add(F["member.mac"], tvb(m + 14, 6))
        sub:add(F["member.name"], tvb(m + 20, 16))
    end
    return n > 0
end

local function dissect_admin_reply(tvb, pinfo, tree, off, blen)
    if not add_layout(tree, tvb, off, blen, layouts[16]) then
        return false
    end
    local tlen = tvb(off + 44, 2):le_uint()
    if blen ~= 46 + tlen then
        return false
    end
    if tlen > 0 then
        tree:add(F["admin.text"], tvb(off + 46, tlen))
    end
    return true
end

local function dissect_restore_chunk(tvb, pinfo, tree, off, blen)
    if not add_layout(tree, tvb, off, blen, layouts[18]) then
        return false
    end
    local nlen = tvb(off + 7, 1):uint()
    local dlen = tvb(off + 28, 4):le_uint()
    if blen ~= 32 + nlen + dlen then
        return false
    end
    if nlen > 0 then
        tree:add(F["restore.name"], tvb(off + 32, nlen))
        pinfo.cols.info:append(" " .. tvb(off + 32, nlen):string())
    end
    if dlen > 0 then
        tree:add(F["restore.data"], tvb(off + 32 + nlen, dlen))
    end
    return true
end

local variable = {
    [1] = dissect_entries,
    [2] = dissect_fragment,
    [4] = dissect_nak,
    [7] = dissect_syncup_req,
    [14] = dissect_group,
    [16] = dissect_admin_reply,
    [18] = dissect_restore_chunk,
}

-- A one-line summary of fixed bodies for the Info column.
local function summary(mtype, tvb, off, blen)
    local function u64(o) return tostring(le64(tvb, off + o)) end
    if mtype == 3 and blen >= 20 then
        return string.format(" received %s durable %s", u64(0), u64(8))
    elseif mtype == 5 and blen >= 28 then
        return string.format(" commit %s last %s", u64(0), u64(8))
    elseif mtype == 6 and blen >= 28 then
        return string.format(" received %s durable %s", u64(8), u64(16))
    elseif (mtype >= 9 and mtype <= 10) and blen >= 8 then
        return string.format(" proposal %s", u64(0))
    elseif (mtype >= 11 and mtype <= 13) and blen >= 10 then
        return string.format(" proposal %s master %d", u64(0), tvb(off + 8, 2):le_uint())
    elseif mtype == 8 and blen >= 48 then
        return string.format(" %s matchpoint %s",
            syncup_status[tvb(off + 4, 1):uint()] or "?", u64(8))
    end
    return ""
end

-- ---- The dissector ----

function tern.dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len < HDR_LEN or tvb(0, 4):le_uint() ~= TERN_MAGIC then
        return 0
    end
    pinfo.cols.protocol = "TERN"
    local mtype = tvb(6, 1):uint()
    local tname = msg_types[mtype] or string.format("type %d", mtype)
    local src, dst = tvb(12, 2):le_uint(), tvb(14, 2):le_uint()
    local dst_s = dst == 0xffff and "all" or tostring(dst)
    pinfo.cols.info = string.format("%s %d->%s term %s", tname, src, dst_s,
        tostring(le64(tvb, 16)))

    local t = tree:add(tern, tvb(), string.format("Tern %s, node %d -> %s", tname, src, dst_s))
    t:add_le(F["magic"], tvb(0, 4))
    local vmaj = t:add_le(F["ver_major"], tvb(4, 1))
    t:add_le(F["ver_minor"], tvb(5, 1))
    t:add_le(F["type"], tvb(6, 1))
    local fl = t:add_le(F["flags"], tvb(7, 1))
    local flags = tvb(7, 1):uint()
    fl:add(F["flags.retransmit"], tvb(7, 1), flags % 2 == 1)
    fl:add(F["flags.urgent"], tvb(7, 1), math.floor(flags / 2) % 2 == 1)
    t:add_le(F["group"], tvb(8, 4))
    t:add_le(F["src"], tvb(12, 2))
    t:add_le(F["dst"], tvb(14, 2))
    t:add_le(F["term"], tvb(16, 8))
    local plen_item = t:add_le(F["payload_len"], tvb(24, 4))
    t:add_le(F["caps"], tvb(28, 4))
    local crc_item = t:add_le(F["crc"], tvb(32, 4))
    t:add_le(F["seq"], tvb(36, 4))

    if tvb(4, 1):uint() ~= 1 then
        vmaj:add_proto_expert_info(ef_version, "major version " .. tvb(4, 1):uint() ..
            " (this dissector knows 1)")
        return len
    end
    local plen = tvb(24, 4):le_uint()
    if plen ~= len - HDR_LEN then
        plen_item:add_proto_expert_info(ef_malformed, string.format(
            "payload length %d, datagram has %d", plen, len - HDR_LEN))
        return len
    end
    local crc = crc32c(tvb, 0, len, 32, 36)
    if crc ~= nil then
        local good = crc == tvb(32, 4):le_uint()
        t:add(F["crc_ok"], tvb(32, 4), good):set_generated()
        if not good then
            crc_item:add_proto_expert_info(ef_crc, string.format("CRC32C should be 0x%08x", crc))
        end
    end
    if plen == 0 then
        return len
    end

    local body = t:add(F["body"], tvb(HDR_LEN, plen))
    body:set_text(string.format("%s body (%d bytes)", tname, plen))
    local ok = true
    if variable[mtype] ~= nil then
        ok = variable[mtype](tvb, pinfo, body, HDR_LEN, plen)
    elseif layouts[mtype] ~= nil then
        ok = add_layout(body, tvb, HDR_LEN, plen, layouts[mtype])
        pinfo.cols.info:append(summary(mtype, tvb, HDR_LEN, plen))
    end
    if not ok then
        body:add_proto_expert_info(ef_malformed)
    end
    return len
end

local function heuristic(tvb, pinfo, tree)
    if tvb:len() < HDR_LEN or tvb(0, 4):le_uint() ~= TERN_MAGIC then
        return false
    end
    tern.dissector(tvb, pinfo, tree)
    return true
end

DissectorTable.get("udp.port"):add(UDP_PORT, tern)
tern:register_heuristic("udp", heuristic)
