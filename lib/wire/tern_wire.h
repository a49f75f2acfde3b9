/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The wire format (DESIGN.md 3): frames are Ethernet + IPv4 + UDP + a fixed Tern header
 * + a message payload, all Tern fields little-endian. Pure code: no sockets, no DPDK, no
 * allocation. Every decoder validates everything (sizes, counts against the payload
 * length, CRC32C, magic, version, group id, known node ids) and rejects a bad frame with
 * a reason code, counted per reason in struct tern_wire_stats; it never reads outside the
 * buffer it is given.
 *
 * Layers:
 * - L2/L3/L4 (tern_wire_l2_*): build and check the Ethernet/IPv4/UDP headers that the
 *   dpdk driver puts around a datagram (the udp driver leaves them to the kernel).
 * - Datagram: the Tern header (struct tern_wire_hdr) and its payload; tern_wire_seal()
 *   fills and seals a header (length, seq, CRC), tern_wire_check() checks one.
 * - Messages: one encoder and one decoder per message type (tern_wire_msgs.h).
 *
 * Versioning: the header carries a major and minor version and a capability mask. A peer
 * of another major version is refused (TERN_WIRE_REJ_VERSION, with a diagnostic); an
 * unknown message type of the same major version is counted and ignored
 * (TERN_WIRE_REJ_UNKNOWN_TYPE), so a newer minor version can add messages.
 */
#ifndef TERN_WIRE_H
#define TERN_WIRE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The header is read in place (tern_wire_check() hands out a pointer into the frame), so
 * the host must store integers as the wire does. Message bodies are always encoded and
 * decoded byte by byte, whatever the host.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lib/wire reads the little-endian Tern header in place: a big-endian port must swap it"
#endif

#define TERN_WIRE_MAGIC		0x4e524554U /* "TERN" in a little-endian dump */
#define TERN_WIRE_VERSION_MAJOR 1
#define TERN_WIRE_VERSION_MINOR 0
#define TERN_WIRE_UDP_PORT	7410 /**< default UDP port */

/** Largest datagram (Tern header + payload): the most a UDP datagram over IPv4 holds. */
#define TERN_WIRE_DGRAM_MAX 65507
/** Ethernet + IPv4 (no options) + UDP. */
#define TERN_WIRE_L2_HDR_LEN (14 + 20 + 8)

/**
 * The Tern header: 40 bytes, little-endian, at the start of every datagram. Packed (its
 * fields are naturally aligned anyway) so that a pointer to it may sit at any offset of a
 * frame, e.g. 42 bytes into an Ethernet frame. Its first 16 bytes (magic, versions, type,
 * flags, group id, src, dst) keep their offsets in every major version, so a peer of
 * another version can still be named when it is refused.
 */
struct __attribute__((packed)) tern_wire_hdr {
	uint32_t magic; /**< TERN_WIRE_MAGIC */
	uint8_t ver_major;
	uint8_t ver_minor;
	uint8_t type;  /**< enum tern_wire_type */
	uint8_t flags; /**< TERN_WIRE_F_* */
	uint32_t group_id;
	uint16_t src; /**< sender node id */
	uint16_t dst; /**< receiver node id; TERN_WIRE_NODE_ALL for all */
	uint64_t term;
	uint32_t payload_len; /**< bytes after the header */
	uint32_t caps;	      /**< sender's capability mask (TERN_WIRE_CAP_*) */
	uint32_t crc;	      /**< CRC32C of the header (this field 0) and the payload */
	uint32_t seq;	      /**< per-sender datagram counter (diagnostics, loss) */
};
static_assert(sizeof(struct tern_wire_hdr) == 40, "Tern header is 40 bytes");
static_assert(offsetof(struct tern_wire_hdr, term) == 16, "Tern header layout");
static_assert(offsetof(struct tern_wire_hdr, crc) == 32, "Tern header layout");

#define TERN_WIRE_HDR_LEN  40
#define TERN_WIRE_NODE_ALL 0xffffU
#define TERN_WIRE_NODE_MAX 0xfff0U
/** Node ids a tern_wire_ctx can accept datagrams from: 0 .. TERN_WIRE_CTX_NODES - 1. */
#define TERN_WIRE_CTX_NODES 1024

/** Header flags (TERN_WIRE_F_*): unknown flags are ignored. */
#define TERN_WIRE_F_RETRANSMIT 0x01U /**< a resend of something sent before */
#define TERN_WIRE_F_URGENT     0x02U /**< the sender wants an immediate reply (ACK, ...) */

/**
 * Capabilities (TERN_WIRE_CAP_*): what the sender can do beyond the base protocol of its
 * major version. A receiver uses a feature only when the peer's last header advertised it,
 * so nodes of one major version but different minor versions interoperate.
 */
#define TERN_WIRE_CAP_FRAGMENTS 0x00000001U /**< reassembles ENTRY_FRAGMENT */
#define TERN_WIRE_CAP_RESTORE	0x00000002U /**< serves RESTORE requests */
#define TERN_WIRE_CAP_ADMIN	0x00000004U /**< answers ADMIN requests */
/** What this version of lib/wire implements; tern_wire_ctx_init() advertises it. */
#define TERN_WIRE_CAPS_DEFAULT                                                                     \
	(TERN_WIRE_CAP_FRAGMENTS | TERN_WIRE_CAP_RESTORE | TERN_WIRE_CAP_ADMIN)

/** Message types. Values are wire format: never renumber. */
enum tern_wire_type {
	TERN_WIRE_ENTRIES = 1,
	TERN_WIRE_ENTRY_FRAGMENT = 2,
	TERN_WIRE_ACK = 3,
	TERN_WIRE_NAK = 4,
	TERN_WIRE_HEARTBEAT = 5,
	TERN_WIRE_HEARTBEAT_REPLY = 6,
	TERN_WIRE_SYNCUP_REQ = 7,
	TERN_WIRE_SYNCUP_REPLY = 8,
	TERN_WIRE_PROPOSE = 9,
	TERN_WIRE_PROMISE = 10,
	TERN_WIRE_ACCEPT = 11,
	TERN_WIRE_ACCEPTED = 12,
	TERN_WIRE_RESULT = 13,
	TERN_WIRE_GROUP_UPDATE = 14,
	TERN_WIRE_ADMIN_REQ = 15,
	TERN_WIRE_ADMIN_REPLY = 16,
	TERN_WIRE_RESTORE_REQ = 17,
	TERN_WIRE_RESTORE_CHUNK = 18,
	TERN_WIRE_RESTORE_CHUNK_ACK = 19,
	TERN_WIRE_TYPE_MAX_ /* one past the last known type */
};

/** Why a frame was rejected. Values index tern_wire_stats.rejected. */
#define TERN_WIRE_REJ_TABLE(X)                                                                     \
	X(TERN_WIRE_REJ_NONE, "accepted")                                                          \
	X(TERN_WIRE_REJ_SHORT, "shorter than its headers")                                         \
	X(TERN_WIRE_REJ_L2, "not an IPv4/UDP frame for us")                                        \
	X(TERN_WIRE_REJ_L3_CSUM, "bad IPv4 header checksum")                                       \
	X(TERN_WIRE_REJ_MAGIC, "bad magic")                                                        \
	X(TERN_WIRE_REJ_VERSION, "unsupported major version")                                      \
	X(TERN_WIRE_REJ_LENGTH, "payload length disagrees with the frame")                         \
	X(TERN_WIRE_REJ_CRC, "CRC32C mismatch")                                                    \
	X(TERN_WIRE_REJ_GROUP, "from another group")                                               \
	X(TERN_WIRE_REJ_NODE, "from an unknown node or not for this node")                         \
	X(TERN_WIRE_REJ_STALE_TERM, "stale term")                                                  \
	X(TERN_WIRE_REJ_UNKNOWN_TYPE, "unknown message type (ignored)")                            \
	X(TERN_WIRE_REJ_MALFORMED, "malformed message body")                                       \
	X(TERN_WIRE_REJ_TOO_BIG, "larger than allowed")                                            \
	X(TERN_WIRE_REJ_REASM_CONFLICT, "fragment disagrees with the entry reassembled")           \
	X(TERN_WIRE_REJ_REASM_GAPS, "too many gaps in the entry reassembled")

enum tern_wire_rej {
#define TERN_WIRE_REJ_ENUM_(n, t) n,
	TERN_WIRE_REJ_TABLE(TERN_WIRE_REJ_ENUM_)
#undef TERN_WIRE_REJ_ENUM_
		TERN_WIRE_REJ_COUNT_
};

/** Text of a reject reason ("bad magic"); "unknown reason" when out of range. */
const char *tern_wire_rej_str(enum tern_wire_rej r);

/** Per-reason counters; the owner (one thread) updates them. */
struct tern_wire_stats {
	uint64_t accepted;
	uint64_t rejected[TERN_WIRE_REJ_COUNT_];
};

/* ---- L2/L3/L4: Ethernet + IPv4 + UDP around a datagram (dpdk driver). ---- */

/** Addresses of one end. MAC as bytes, IPv4 in network order, port in host order. */
struct tern_wire_l2_addr {
	uint8_t mac[6];
	uint32_t ipv4;
	uint16_t port;
};

/**
 * Write Ethernet + IPv4 + UDP headers (TERN_WIRE_L2_HDR_LEN bytes) at @p buf for a
 * datagram of @p dgram_len bytes from @p src to @p dst; the IPv4 checksum is computed,
 * the UDP checksum left 0 (allowed over IPv4; the Tern CRC32C covers the datagram).
 * @return 0; -EMSGSIZE when the IP length would overflow.
 */
int tern_wire_l2_build(void *buf, const struct tern_wire_l2_addr *src,
		       const struct tern_wire_l2_addr *dst, uint32_t dgram_len);

/**
 * Check the Ethernet/IPv4/UDP headers of a received frame of @p len bytes, addressed to
 * @p self (its MAC or broadcast, its IPv4 address, its UDP port). On success, the datagram
 * is at @p frame + *@p off, *@p dgram_len bytes long, and the sender's addresses are in
 * @p from. @return TERN_WIRE_REJ_NONE or the reason.
 */
enum tern_wire_rej tern_wire_l2_parse(const void *frame, uint32_t len,
				      const struct tern_wire_l2_addr *self,
				      struct tern_wire_l2_addr *from, uint32_t *off,
				      uint32_t *dgram_len);

/* ---- Datagrams: the Tern header. ---- */

/**
 * What a receiver expects of every datagram, and what a sender puts in every header. One
 * per node and thread (the counters are not atomic); allocated by the caller.
 */
struct tern_wire_ctx {
	uint32_t group_id;
	uint16_t self; /**< this node's id */
	uint32_t caps; /**< our capability mask, sent in every header */
	uint64_t known_nodes[TERN_WIRE_CTX_NODES / 64]; /**< node ids we accept from */
	struct tern_wire_stats stats;
	uint32_t seq; /**< next seq to send */
	/** Peers already named in a version-refusal diagnostic (each is named once). */
	uint64_t version_refused[TERN_WIRE_CTX_NODES / 64];
};

/**
 * Initialise @p c for @p group_id and node @p self, accepting no peer yet, advertising
 * TERN_WIRE_CAPS_DEFAULT (the caller may change c->caps).
 */
void tern_wire_ctx_init(struct tern_wire_ctx *c, uint32_t group_id, uint16_t self);
/**
 * Accept datagrams from node @p id (< TERN_WIRE_CTX_NODES); a version refusal of it will
 * be named again. @return 0 or -EINVAL.
 */
int tern_wire_ctx_add_node(struct tern_wire_ctx *c, uint16_t id);
/** Stop accepting datagrams from node @p id; ids out of range are ignored. */
void tern_wire_ctx_del_node(struct tern_wire_ctx *c, uint16_t id);

/**
 * Fill the header at the start of @p buf for a message of @p type to @p dst at @p term
 * whose payload (already at buf + sizeof(hdr)) is @p payload_len bytes, and seal it
 * (length, seq, CRC32C). @p buf must hold sizeof(hdr) + @p payload_len bytes; it need not
 * be aligned. @return total datagram length.
 */
uint32_t tern_wire_seal(struct tern_wire_ctx *c, void *buf, uint8_t type, uint16_t dst,
			uint64_t term, uint32_t payload_len);

/** tern_wire_seal() with header flags (TERN_WIRE_F_*). */
uint32_t tern_wire_seal_flags(struct tern_wire_ctx *c, void *buf, uint8_t type, uint8_t flags,
			      uint16_t dst, uint64_t term, uint32_t payload_len);

/**
 * Check a received datagram of @p len bytes: magic, version, length, CRC, group, sender
 * known and receiver us (or all), type known. Counts the verdict in c->stats. On
 * TERN_WIRE_REJ_NONE, and on TERN_WIRE_REJ_UNKNOWN_TYPE (a valid header of a message this
 * version does not know: the caller ignores it), *@p hdr points at the header and the
 * payload (hdr->payload_len bytes) follows it; on any other verdict *@p hdr is NULL.
 * A peer of another major version is named in an error diagnostic (once per peer).
 * Term checks are the protocol's (it knows the current term): it reports
 * TERN_WIRE_REJ_STALE_TERM through tern_wire_count().
 */
enum tern_wire_rej tern_wire_check(struct tern_wire_ctx *c, const void *dgram, uint32_t len,
				   const struct tern_wire_hdr **hdr);

/**
 * Count a verdict reached above the header (stale term, malformed body). A frame that
 * tern_wire_check() accepted moves from stats.accepted to stats.rejected[@p r], so that
 * accepted plus all rejected is the number of frames seen. TERN_WIRE_REJ_NONE is a no-op.
 */
void tern_wire_count(struct tern_wire_ctx *c, enum tern_wire_rej r);

/** Name of a message type ("ENTRIES"), or NULL when unknown. */
const char *tern_wire_type_str(uint8_t type);

/** Pointer to the payload of a datagram whose header @p h was checked. */
static inline const uint8_t *
tern_wire_payload(const struct tern_wire_hdr *h)
{
	return (const uint8_t *)h + sizeof(*h);
}

#ifdef __cplusplus
}
#endif

#endif /* TERN_WIRE_H */
