/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Input format of fuzz_wire_decode (shared with make_seed_wire_decode).
 *
 * Byte 0 picks a mode (byte 0 % FUZZ_WD_MODES); the rest is the mode's input:
 *   FUZZ_WD_DGRAM  a datagram for tern_wire_check(), then tern_wire_decode_dgram()
 *   FUZZ_WD_L2     an Ethernet frame for tern_wire_l2_parse(), then as FUZZ_WD_DGRAM
 *   FUZZ_WD_BODY   byte 1 a message type, the rest its body, for tern_wire_decode(); an
 *                  accepted body is encoded again, which must succeed and be stable
 *   FUZZ_WD_REASM  a sequence of reassembly operations (struct below), each checked
 *
 * The receiver: group FUZZ_WD_GROUP, node FUZZ_WD_SELF (address fuzz_wd_self), knowing
 * nodes 1 and 3.
 */
#ifndef TERN_FUZZ_WIRE_DECODE_H
#define TERN_FUZZ_WIRE_DECODE_H

#include <stdint.h>

#include <tern_wire.h>

enum {
	FUZZ_WD_DGRAM = 0,
	FUZZ_WD_L2 = 1,
	FUZZ_WD_BODY = 2,
	FUZZ_WD_REASM = 3,
	FUZZ_WD_MODES = 4,
};

#define FUZZ_WD_GROUP 0x5eedU
#define FUZZ_WD_SELF  2
#define FUZZ_WD_PEER  1

static const struct tern_wire_l2_addr fuzz_wd_self = {
	.mac = {0x02, 0, 0, 0, 0, 0x02},
	.ipv4 = 0x0200000a, /* 10.0.0.2 */
	.port = TERN_WIRE_UDP_PORT,
};
static const struct tern_wire_l2_addr fuzz_wd_peer = {
	.mac = {0x02, 0, 0, 0, 0, 0x01},
	.ipv4 = 0x0100000a, /* 10.0.0.1 */
	.port = TERN_WIRE_UDP_PORT,
};

/*
 * One FUZZ_WD_REASM operation, 8 bytes: op (0xff: reset; else a fragment of VLSN
 * 1 + op % 8), need (the caller's floor, 0..7), total le16 (1 + total % FUZZ_WD_REASM_MAX
 * bytes), offset le16 (% total), len le16 (1 + len % (total - offset)). The fragment's
 * bytes are a function of (VLSN, offset in the entry), so a completed entry can be checked.
 */
#define FUZZ_WD_REASM_OP_LEN 8
#define FUZZ_WD_REASM_MAX    4096
#define FUZZ_WD_REASM_CAP    3000 /* buffer: larger entries are TOO_BIG */

static inline uint8_t
fuzz_wd_pattern(uint64_t vlsn, uint32_t i)
{
	return (uint8_t)((i * 131u) ^ (uint32_t)(vlsn * 29u) ^ (i >> 8));
}

#endif /* TERN_FUZZ_WIRE_DECODE_H */
