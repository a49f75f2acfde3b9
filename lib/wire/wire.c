/* SPDX-License-Identifier: BSD-3-Clause */
/* The Tern header: sealing on send, checking on receive (DESIGN.md 3). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include <tern_common.h>
#include <tern_crc32c.h>
#include <tern_diag.h>

#include "tern_wire.h"
#include "wire_internal.h"

TERN_DIAG_REGISTER(wire, NOTICE);

/* Rejections repeat per frame: one diagnostic per this many of each kind. */
#define REJ_DIAG_EVERY 1024

static const char *const rej_text[] = {
#define REJ_TEXT_(n, t) [n] = t,
	TERN_WIRE_REJ_TABLE(REJ_TEXT_)
#undef REJ_TEXT_
};

static const char *const type_names[TERN_WIRE_TYPE_MAX_] = {
	[TERN_WIRE_ENTRIES] = "ENTRIES",
	[TERN_WIRE_ENTRY_FRAGMENT] = "ENTRY_FRAGMENT",
	[TERN_WIRE_ACK] = "ACK",
	[TERN_WIRE_NAK] = "NAK",
	[TERN_WIRE_HEARTBEAT] = "HEARTBEAT",
	[TERN_WIRE_HEARTBEAT_REPLY] = "HEARTBEAT_REPLY",
	[TERN_WIRE_SYNCUP_REQ] = "SYNCUP_REQ",
	[TERN_WIRE_SYNCUP_REPLY] = "SYNCUP_REPLY",
	[TERN_WIRE_PROPOSE] = "PROPOSE",
	[TERN_WIRE_PROMISE] = "PROMISE",
	[TERN_WIRE_ACCEPT] = "ACCEPT",
	[TERN_WIRE_ACCEPTED] = "ACCEPTED",
	[TERN_WIRE_RESULT] = "RESULT",
	[TERN_WIRE_GROUP_UPDATE] = "GROUP_UPDATE",
	[TERN_WIRE_ADMIN_REQ] = "ADMIN_REQ",
	[TERN_WIRE_ADMIN_REPLY] = "ADMIN_REPLY",
	[TERN_WIRE_RESTORE_REQ] = "RESTORE_REQ",
	[TERN_WIRE_RESTORE_CHUNK] = "RESTORE_CHUNK",
	[TERN_WIRE_RESTORE_CHUNK_ACK] = "RESTORE_CHUNK_ACK",
};

const char *
tern_wire_rej_str(enum tern_wire_rej r)
{
	if ((unsigned int)r >= TERN_WIRE_REJ_COUNT_)
		return "unknown reason";
	return rej_text[r];
}

const char *
tern_wire_type_str(uint8_t type)
{
	if (type >= TERN_WIRE_TYPE_MAX_)
		return NULL;
	return type_names[type];
}

void
tern_wire_ctx_init(struct tern_wire_ctx *c, uint32_t group_id, uint16_t self)
{
	memset(c, 0, sizeof(*c));
	c->group_id = group_id;
	c->self = self;
	c->caps = TERN_WIRE_CAPS_DEFAULT;
}

int
tern_wire_ctx_add_node(struct tern_wire_ctx *c, uint16_t id)
{
	if (id >= TERN_WIRE_CTX_NODES)
		return -EINVAL;
	c->known_nodes[id / 64] |= UINT64_C(1) << (id % 64);
	c->version_refused[id / 64] &= ~(UINT64_C(1) << (id % 64));
	return 0;
}

void
tern_wire_ctx_del_node(struct tern_wire_ctx *c, uint16_t id)
{
	if (id >= TERN_WIRE_CTX_NODES)
		return;
	c->known_nodes[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

static bool
node_known(const struct tern_wire_ctx *c, uint16_t id)
{
	return id < TERN_WIRE_CTX_NODES && (c->known_nodes[id / 64] >> (id % 64) & 1) != 0;
}

/* The header word that holds the CRC, and the mask that clears the CRC in it. */
static_assert(HDR_CRC % 8 == 0 && HDR_SEQ == HDR_CRC + 4, "header words changed");
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HDR_CRC_CLEAR UINT64_C(0xffffffff00000000)
#else
#define HDR_CRC_CLEAR UINT64_C(0x00000000ffffffff)
#endif

/* Store @p v as 8 little-endian bytes at @p p, in one store where the host allows. */
static inline void
hdr_word_put(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, sizeof(v));
#else
	le64_store(p, v);
#endif
}

uint32_t
tern_wire_seal_flags(struct tern_wire_ctx *c, void *buf, uint8_t type, uint8_t flags, uint16_t dst,
		     uint64_t term, uint32_t payload_len)
{
	uint8_t *p = buf;
	uint32_t total = (uint32_t)sizeof(struct tern_wire_hdr) + payload_len;

	/*
	 * Whole 8-byte words: the CRC reads the header back 8 bytes at a time, and a load
	 * that spans several narrower stores waits for them to reach the cache instead of
	 * being forwarded (about a third of sealing a 64-byte datagram).
	 */
	hdr_word_put(p + 0, TERN_WIRE_MAGIC | (uint64_t)TERN_WIRE_VERSION_MAJOR << 32 |
				    (uint64_t)TERN_WIRE_VERSION_MINOR << 40 | (uint64_t)type << 48 |
				    (uint64_t)flags << 56);
	hdr_word_put(p + 8, c->group_id | (uint64_t)c->self << 32 | (uint64_t)dst << 48);
	hdr_word_put(p + 16, term);
	hdr_word_put(p + 24, payload_len | (uint64_t)c->caps << 32);
	hdr_word_put(p + 32, (uint64_t)c->seq++ << 32); /* the CRC, 0 while it is computed */
	le32_store(p + HDR_CRC, tern_crc32c(p, total));
	return total;
}

uint32_t
tern_wire_seal(struct tern_wire_ctx *c, void *buf, uint8_t type, uint16_t dst, uint64_t term,
	       uint32_t payload_len)
{
	return tern_wire_seal_flags(c, buf, type, 0, dst, term, payload_len);
}

/*
 * CRC32C of the datagram with its CRC field taken as 0: the header from a copy with the
 * field cleared (one 8-byte word of the copy, so its loads are forwarded from its stores),
 * then the payload in place.
 */
static uint32_t
dgram_crc(const uint8_t *p, uint32_t len)
{
	uint64_t h[TERN_WIRE_HDR_LEN / 8];

	memcpy(h, p, sizeof(h));
	h[HDR_CRC / 8] &= HDR_CRC_CLEAR;
	return tern_crc32c_extend(tern_crc32c(h, sizeof(h)), p + sizeof(h), len - sizeof(h));
}

/*
 * Name a peer of another major version: once per known peer id (later refusals are only
 * counted), rate-limited for ids beyond the table.
 */
static void
refuse_version(struct tern_wire_ctx *c, const uint8_t *p)
{
	uint16_t src = le16_load(p + HDR_SRC);
	uint64_t bit = UINT64_C(1) << (src % 64);

	if (src >= TERN_WIRE_CTX_NODES) {
		TERN_DIAG_RATELIMIT(REJ_DIAG_EVERY, ERR, wire,
				    "refusing node %u of group %" PRIu32
				    ": it speaks wire protocol %u.%u, this node (%u) speaks %u.%u",
				    src, le32_load(p + HDR_GROUP), p[HDR_VER_MAJOR],
				    p[HDR_VER_MINOR], c->self, TERN_WIRE_VERSION_MAJOR,
				    TERN_WIRE_VERSION_MINOR);
		return;
	}
	if ((c->version_refused[src / 64] & bit) != 0)
		return;
	c->version_refused[src / 64] |= bit;
	WIRE_DIAG(ERR,
		  "refusing node %u of group %" PRIu32
		  ": it speaks wire protocol %u.%u, this node (%u) speaks %u.%u; "
		  "major versions must match (upgrade one of them)",
		  src, le32_load(p + HDR_GROUP), p[HDR_VER_MAJOR], p[HDR_VER_MINOR], c->self,
		  TERN_WIRE_VERSION_MAJOR, TERN_WIRE_VERSION_MINOR);
}

static enum tern_wire_rej
check(struct tern_wire_ctx *c, const uint8_t *p, uint32_t len)
{
	uint16_t src, dst;

	if (len < sizeof(struct tern_wire_hdr))
		return TERN_WIRE_REJ_SHORT;
	if (le32_load(p + HDR_MAGIC) != TERN_WIRE_MAGIC)
		return TERN_WIRE_REJ_MAGIC;
	if (p[HDR_VER_MAJOR] != TERN_WIRE_VERSION_MAJOR) {
		refuse_version(c, p);
		return TERN_WIRE_REJ_VERSION;
	}
	if (le32_load(p + HDR_PAYLOAD_LEN) != len - sizeof(struct tern_wire_hdr))
		return TERN_WIRE_REJ_LENGTH;
	if (len > TERN_WIRE_DGRAM_MAX)
		return TERN_WIRE_REJ_TOO_BIG;
	if (le32_load(p + HDR_CRC) != dgram_crc(p, len))
		return TERN_WIRE_REJ_CRC;
	if (le32_load(p + HDR_GROUP) != c->group_id)
		return TERN_WIRE_REJ_GROUP;
	src = le16_load(p + HDR_SRC);
	dst = le16_load(p + HDR_DST);
	if (!node_known(c, src) || (dst != c->self && dst != TERN_WIRE_NODE_ALL))
		return TERN_WIRE_REJ_NODE;
	if (p[HDR_TYPE] == 0 || p[HDR_TYPE] >= TERN_WIRE_TYPE_MAX_)
		return TERN_WIRE_REJ_UNKNOWN_TYPE;
	return TERN_WIRE_REJ_NONE;
}

enum tern_wire_rej
tern_wire_check(struct tern_wire_ctx *c, const void *dgram, uint32_t len,
		const struct tern_wire_hdr **hdr)
{
	const uint8_t *p = dgram;
	enum tern_wire_rej r = check(c, p, len);

	if (r == TERN_WIRE_REJ_NONE) {
		c->stats.accepted++;
		*hdr = dgram;
		return r;
	}
	c->stats.rejected[r]++;
	if (r == TERN_WIRE_REJ_UNKNOWN_TYPE) {
		/* A newer minor version's message: normal during a rolling upgrade. */
		TERN_DIAG_RATELIMIT(REJ_DIAG_EVERY, INFO, wire,
				    "ignoring message type %u from node %u (wire %u.%u)",
				    p[HDR_TYPE], le16_load(p + HDR_SRC), p[HDR_VER_MAJOR],
				    p[HDR_VER_MINOR]);
		*hdr = dgram;
		return r;
	}
	*hdr = NULL;
	if (r != TERN_WIRE_REJ_VERSION) {
		if (len >= sizeof(struct tern_wire_hdr))
			TERN_DIAG_RATELIMIT(REJ_DIAG_EVERY, WARNING, wire,
					    "node %u rejected a %u-byte datagram from node %u "
					    "(type %u, group %" PRIu32 "): %s",
					    c->self, len, le16_load(p + HDR_SRC), p[HDR_TYPE],
					    le32_load(p + HDR_GROUP), rej_text[r]);
		else
			TERN_DIAG_RATELIMIT(REJ_DIAG_EVERY, WARNING, wire,
					    "node %u rejected a %u-byte datagram: %s", c->self, len,
					    rej_text[r]);
	}
	return r;
}

void
tern_wire_count(struct tern_wire_ctx *c, enum tern_wire_rej r)
{
	if (r == TERN_WIRE_REJ_NONE || (unsigned int)r >= TERN_WIRE_REJ_COUNT_)
		return;
	if (c->stats.accepted > 0)
		c->stats.accepted--;
	c->stats.rejected[r]++;
}
