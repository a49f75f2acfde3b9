/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Tern messages (DESIGN.md 3 and 5): one host-form struct, one encoder and one decoder
 * per message type, all designed together. Message bodies are the payload that follows
 * struct tern_wire_hdr; tern_wire_seal() wraps an encoded body, tern_wire_check() checks
 * the header before a decoder reads the body.
 *
 * Encoding: every field little-endian, written and read byte by byte (no struct casts,
 * so a body may sit at any alignment). Layouts are given beside each TERN_WIRE_*_LEN;
 * "rsvd" fields are written 0 and ignored on receipt.
 *
 * Encoders: `int tern_wire_<msg>_encode(void *buf, uint32_t cap, const struct ... *m)`
 * writes the body at @p buf and returns its length in bytes; -EMSGSIZE when it does not
 * fit in @p cap bytes (nothing useful is written then); -EINVAL when @p m breaks a rule
 * its decoder checks, so a node never sends what its peers would refuse.
 *
 * Decoders: `enum tern_wire_rej tern_wire_<msg>_decode(const void *p, uint32_t len,
 * struct ... *out)` validate the whole body (sizes, counts against @p len, enumerations,
 * ranges, orderings) and return TERN_WIRE_REJ_NONE or the reason, usually
 * TERN_WIRE_REJ_MALFORMED; they never read outside [p, p + len) and never allocate. On a
 * rejection *out is unspecified. Pointers in *out (entry payloads, restore data) point
 * into @p p: the caller's frame owns those bytes.
 *
 * Growth within a major version: a fixed-size body may be followed by fields that a later
 * minor version appends; decoders ignore such trailing bytes. A body with a count (ENTRIES,
 * NAK, SYNCUP_REQ, GROUP_UPDATE) or a length (ADMIN_REPLY, RESTORE_CHUNK) must match it
 * exactly. Values of enumerations that this version does not know are refused.
 */
#ifndef TERN_WIRE_MSGS_H
#define TERN_WIRE_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest log entry (fragmented): at least 1 MiB, as DESIGN.md 3 asks. */
#define TERN_WIRE_ENTRY_MAX (16U << 20)

/* ---- ENTRIES: many small log entries in one frame. ---- */

/**
 * ENTRIES body: commit_vlsn u64 | count u16 | flags u16, then @c count entries, each
 * vlsn u64 | term u64 | txn_id u64 | timestamp_ns u64 | type u16 | flags u16 | len u32 |
 * len bytes of payload. Rules: 1 <= count; VLSNs consecutive from a first VLSN >= 1;
 * terms never decrease; no bytes after the last entry.
 */
#define TERN_WIRE_ENTRIES_HDR_LEN 12
#define TERN_WIRE_ENTRY_HDR_LEN	  40

/** One log entry as the wire carries it (the fields of a tern_log_entry). */
struct tern_wire_entry {
	uint64_t vlsn;
	uint64_t term;
	uint64_t txn_id;
	uint64_t timestamp_ns;
	uint16_t type;
	uint16_t flags;	  /**< entry flags, carried as they are */
	uint32_t len;	  /**< payload bytes */
	const void *data; /**< payload; decoded: points into the frame */
};

/** Builds an ENTRIES body one entry at a time (a feeder packs what fits). */
struct tern_wire_entries_enc {
	uint8_t *buf;
	uint32_t cap;
	uint32_t len;	    /**< bytes written so far */
	uint16_t count;	    /**< entries added */
	uint64_t next_vlsn; /**< VLSN the next entry must have (0: any, first entry) */
	uint64_t last_term;
};

/**
 * Start an ENTRIES body in @p buf (@p cap bytes) carrying the master's @p commit_vlsn.
 * @return 0; -EMSGSIZE when @p cap cannot hold even the body header.
 */
int tern_wire_entries_begin(struct tern_wire_entries_enc *enc, void *buf, uint32_t cap,
			    uint64_t commit_vlsn);

/**
 * Append @p e (its payload is copied). @return 0; -EMSGSIZE when it does not fit (the
 * body is unchanged: finish it and start another); -EINVAL when its VLSN is 0 or not the
 * previous one + 1, its term is lower than the previous entry's, or the body has 65535
 * entries already.
 */
int tern_wire_entries_add(struct tern_wire_entries_enc *enc, const struct tern_wire_entry *e);

/** Finish the body. @return its length in bytes; -EINVAL when no entry was added. */
int tern_wire_entries_finish(struct tern_wire_entries_enc *enc);

/**
 * Encode all of @p e[0 .. @p n) in one body.
 * @return its length; -EMSGSIZE when they do not all fit; -EINVAL as for
 *   tern_wire_entries_add(), or when @p n is 0.
 */
int tern_wire_entries_encode(void *buf, uint32_t cap, uint64_t commit_vlsn,
			     const struct tern_wire_entry *e, unsigned int n);

/** A decoded ENTRIES body: header fields and an iterator over its entries (zero-copy). */
struct tern_wire_entries {
	uint64_t commit_vlsn;
	uint16_t count;
	uint16_t flags;
	uint64_t first_vlsn; /**< VLSN of the first entry */
	uint64_t last_vlsn;  /**< VLSN of the last entry */
	/* Iterator state (private). */
	const uint8_t *next_;
	uint32_t left_;
	uint16_t remaining_;
};

/**
 * Validate an ENTRIES body completely (every entry's header and length, VLSN order,
 * terms) and prepare @p out for tern_wire_entries_next(). Nothing is allocated.
 */
enum tern_wire_rej tern_wire_entries_decode(const void *p, uint32_t len,
					    struct tern_wire_entries *out);

/**
 * Next entry of a decoded body into @p e (e->data points into the frame).
 * @return true; false when all have been returned.
 */
bool tern_wire_entries_next(struct tern_wire_entries *it, struct tern_wire_entry *e);

/* ---- ENTRY_FRAGMENT: a piece of an entry larger than one frame. ---- */

/**
 * ENTRY_FRAGMENT body: vlsn u64 | term u64 | txn_id u64 | timestamp_ns u64 | type u16 |
 * flags u16 | total_len u32 | offset u32 | len u32 | len bytes of the entry's
 * payload at offset. Rules: VLSN >= 1; 1 <= total_len <= TERN_WIRE_ENTRY_MAX (else
 * TERN_WIRE_REJ_TOO_BIG); len >= 1; offset + len <= total_len; exactly len bytes follow.
 * A sender splits an entry into pieces of at most cap - TERN_WIRE_FRAGMENT_HDR_LEN bytes.
 */
#define TERN_WIRE_FRAGMENT_HDR_LEN 48

struct tern_wire_fragment {
	uint64_t vlsn;
	uint64_t term;
	uint64_t txn_id;
	uint64_t timestamp_ns;
	uint16_t type;
	uint16_t flags;
	uint32_t total_len; /**< the whole entry's payload bytes */
	uint32_t offset;    /**< of this piece in the entry's payload */
	uint32_t len;	    /**< bytes of this piece */
	const void *data;   /**< the piece; decoded: points into the frame */
};

int tern_wire_fragment_encode(void *buf, uint32_t cap, const struct tern_wire_fragment *m);
enum tern_wire_rej tern_wire_fragment_decode(const void *p, uint32_t len,
					     struct tern_wire_fragment *out);

/* ---- Reassembly of fragmented entries. ---- */

/** Disjoint byte ranges a reassembly tracks at most (gaps left by loss or reordering). */
#define TERN_WIRE_REASM_RANGES 32

enum tern_wire_reasm_rc {
	TERN_WIRE_REASM_PARTIAL = 0, /**< stored; the entry is not whole yet */
	TERN_WIRE_REASM_COMPLETE,    /**< the entry is whole: see *out */
	TERN_WIRE_REASM_DUPLICATE,   /**< brought no new byte; ignored */
	TERN_WIRE_REASM_STALE,	     /**< of a VLSN below the one the caller needs; ignored */
	TERN_WIRE_REASM_BUSY,	     /**< of a later VLSN than the entry in progress; ignored */
	TERN_WIRE_REASM_REJECTED,    /**< refused: *why says why; the reassembly is unchanged */
};

struct tern_wire_reasm_stats {
	uint64_t fragments;  /**< fragments stored */
	uint64_t completed;  /**< entries completed */
	uint64_t duplicates; /**< fragments that brought nothing new */
	uint64_t stale;	     /**< fragments of VLSNs the caller has */
	uint64_t busy;	     /**< fragments of later VLSNs, ignored while one is in progress */
	uint64_t abandoned;  /**< entries given up (an earlier VLSN came, or no longer needed) */
	uint64_t resets;     /**< tern_wire_reasm_reset() calls that dropped an entry */
	uint64_t rejected[TERN_WIRE_REJ_COUNT_];
};

/**
 * Reassembles one fragmented entry at a time into a caller-provided buffer; allocated by
 * the caller, fields private. Fragments may arrive in any order and more than once; the
 * byte ranges received are kept as a sorted list of at most TERN_WIRE_REASM_RANGES
 * disjoint ranges. Entries are applied in VLSN order, so the lowest VLSN the caller still
 * needs wins: a fragment of an earlier VLSN than the entry in progress (a retransmission
 * after a NAK) abandons it and starts over; one of a later VLSN is ignored (BUSY) until
 * the entry in progress completes, and one below the caller's floor is STALE. lib/wire
 * reads no clock: the caller resets a reassembly that has waited too long.
 */
struct tern_wire_reasm {
	uint8_t *buf; /**< caller's, @c cap bytes */
	uint32_t cap;
	bool active;		       /**< an entry is in progress */
	struct tern_wire_fragment cur; /**< its metadata (offset, len, data unused) */
	uint32_t received;	       /**< bytes received of it */
	unsigned int n_ranges;
	struct {
		uint32_t start, end; /**< [start, end) */
	} ranges[TERN_WIRE_REASM_RANGES];
	struct tern_wire_reasm_stats stats;
};

/**
 * Initialise @p r to reassemble entries of up to @p cap bytes into @p buf, which the
 * caller owns and keeps valid while @p r is in use (TERN_WIRE_ENTRY_MAX bytes accept every
 * entry a peer may send).
 */
void tern_wire_reasm_init(struct tern_wire_reasm *r, void *buf, uint32_t cap);

/**
 * Forget the entry in progress (after a timeout, a loss the caller detected, or a syncup
 * rollback). Counters are kept.
 */
void tern_wire_reasm_reset(struct tern_wire_reasm *r);

/**
 * Add a decoded fragment. @p need_vlsn is the lowest VLSN the caller still needs (its
 * highest contiguous VLSN + 1): fragments below it are STALE. On
 * TERN_WIRE_REASM_COMPLETE, *@p out describes the entry, its data in the reassembly
 * buffer, valid until the next call on @p r. On TERN_WIRE_REASM_REJECTED, *@p why (when
 * not NULL) is TERN_WIRE_REJ_MALFORMED (a fragment no decoder would return),
 * TERN_WIRE_REJ_TOO_BIG (larger than the buffer), TERN_WIRE_REJ_REASM_CONFLICT (same
 * VLSN, different metadata) or TERN_WIRE_REJ_REASM_GAPS (it would need more than
 * TERN_WIRE_REASM_RANGES ranges; the sender will resend). Every verdict is counted in
 * r->stats.
 */
enum tern_wire_reasm_rc tern_wire_reasm_add(struct tern_wire_reasm *r,
					    const struct tern_wire_fragment *f, uint64_t need_vlsn,
					    struct tern_wire_entry *out, enum tern_wire_rej *why);

/* ---- ACK, NAK: the replica's reports to the feeder. ---- */

/**
 * ACK body: received_vlsn u64 | durable_vlsn u64 | credit u32 | hold_us u32. Cumulative:
 * every VLSN up to received_vlsn has arrived, every one up to durable_vlsn is durable.
 * Rule: durable_vlsn <= received_vlsn. hold_us came with minor version 1 of the body: a
 * body of TERN_WIRE_ACK_MIN_LEN (without it) decodes with hold_us 0.
 */
#define TERN_WIRE_ACK_LEN 24
#define TERN_WIRE_ACK_MIN_LEN 20

struct tern_wire_ack {
	uint64_t received_vlsn; /**< highest contiguous VLSN received */
	uint64_t durable_vlsn;	/**< highest VLSN made durable */
	/**
	 * Entries the replica can take beyond received_vlsn. 0: it holds entries its log
	 * cannot take yet; it is alive, nothing is lost, send nothing more until it says so.
	 */
	uint32_t credit;
	/**
	 * How long the replica held durable_vlsn's entry, from its arrival to its fdatasync
	 * (us, saturating; 0: unknown): the replica's stage of a commit's latency.
	 */
	uint32_t hold_us;
};

int tern_wire_ack_encode(void *buf, uint32_t cap, const struct tern_wire_ack *m);
enum tern_wire_rej tern_wire_ack_decode(const void *p, uint32_t len, struct tern_wire_ack *out);

/**
 * NAK body: n u16 | rsvd u16, then n ranges first u64 | last u64 (inclusive) of VLSNs
 * missing. Rules: 1 <= n <= TERN_WIRE_NAK_RANGES_MAX; 1 <= first <= last; ranges
 * ascending and disjoint (each first > the previous last).
 */
#define TERN_WIRE_NAK_HDR_LEN	 4
#define TERN_WIRE_NAK_RANGE_LEN	 16
#define TERN_WIRE_NAK_RANGES_MAX 16

struct tern_wire_nak {
	uint16_t n;
	struct {
		uint64_t first, last;
	} range[TERN_WIRE_NAK_RANGES_MAX];
};

int tern_wire_nak_encode(void *buf, uint32_t cap, const struct tern_wire_nak *m);
enum tern_wire_rej tern_wire_nak_decode(const void *p, uint32_t len, struct tern_wire_nak *out);

/* ---- HEARTBEAT and its reply. ---- */

/**
 * HEARTBEAT body (master to replicas): commit_vlsn u64 | last_vlsn u64 | timestamp_ns u64
 * | seq u32. Rule: commit_vlsn <= last_vlsn.
 */
#define TERN_WIRE_HEARTBEAT_LEN 28

struct tern_wire_heartbeat {
	uint64_t commit_vlsn;  /**< the master's commit VLSN */
	uint64_t last_vlsn;    /**< the master's last VLSN */
	uint64_t timestamp_ns; /**< the master's clock when sent: replicas measure lag */
	uint32_t seq;
};

int tern_wire_heartbeat_encode(void *buf, uint32_t cap, const struct tern_wire_heartbeat *m);
enum tern_wire_rej tern_wire_heartbeat_decode(const void *p, uint32_t len,
					      struct tern_wire_heartbeat *out);

/**
 * HEARTBEAT_REPLY body: echo_timestamp_ns u64 | received_vlsn u64 | durable_vlsn u64 |
 * echo_seq u32. Rule: durable_vlsn <= received_vlsn.
 */
#define TERN_WIRE_HEARTBEAT_REPLY_LEN 28

struct tern_wire_heartbeat_reply {
	uint64_t echo_timestamp_ns; /**< the heartbeat's timestamp: the master measures RTT */
	uint64_t received_vlsn;
	uint64_t durable_vlsn;
	uint32_t echo_seq;
};

int tern_wire_heartbeat_reply_encode(void *buf, uint32_t cap,
				     const struct tern_wire_heartbeat_reply *m);
enum tern_wire_rej tern_wire_heartbeat_reply_decode(const void *p, uint32_t len,
						    struct tern_wire_heartbeat_reply *out);

/* ---- SYNCUP: the matchpoint search (DESIGN.md 5). ---- */

/**
 * SYNCUP_REQ body (replica to master): req_id u32 | n u16 | rsvd u16 | first_vlsn u64 |
 * last_vlsn u64, then n probes vlsn u64 | term u64: (VLSN, term) pairs of the replica's
 * log, newest first. Rules: n <= TERN_WIRE_SYNCUP_PROBES_MAX; first_vlsn <= last_vlsn;
 * probe VLSNs strictly descending within [max(first_vlsn, 1), last_vlsn]; probe terms
 * never increasing.
 */
#define TERN_WIRE_SYNCUP_REQ_HDR_LEN 24
#define TERN_WIRE_SYNCUP_PROBE_LEN   16
#define TERN_WIRE_SYNCUP_PROBES_MAX  32

struct tern_wire_syncup_req {
	uint32_t req_id;
	uint16_t n;
	uint64_t first_vlsn; /**< the replica's log range (0, 0 when empty) */
	uint64_t last_vlsn;
	struct {
		uint64_t vlsn, term;
	} probe[TERN_WIRE_SYNCUP_PROBES_MAX];
};

int tern_wire_syncup_req_encode(void *buf, uint32_t cap, const struct tern_wire_syncup_req *m);
enum tern_wire_rej tern_wire_syncup_req_decode(const void *p, uint32_t len,
					       struct tern_wire_syncup_req *out);

/** SYNCUP_REPLY status. Values are wire format. */
enum tern_wire_syncup_status {
	TERN_WIRE_SYNCUP_MATCH = 1,	    /**< match_vlsn/term is the matchpoint */
	TERN_WIRE_SYNCUP_PROBE_OLDER = 2,   /**< no probe matched: send older ones */
	TERN_WIRE_SYNCUP_NEEDS_RESTORE = 3, /**< the master lacks the entries needed */
	TERN_WIRE_SYNCUP_NOT_MASTER = 4,    /**< ask the master, not this node */
};

/**
 * SYNCUP_REPLY body: req_id u32 | status u8 | rsvd u8 | rsvd u16 | match_vlsn u64 |
 * match_term u64 | first_vlsn u64 | last_vlsn u64 | commit_vlsn u64 (the master's).
 * Rules: status known; first_vlsn <= last_vlsn; commit_vlsn <= last_vlsn; on MATCH,
 * match_vlsn <= last_vlsn.
 */
#define TERN_WIRE_SYNCUP_REPLY_LEN 48

struct tern_wire_syncup_reply {
	uint32_t req_id;
	uint8_t status; /**< enum tern_wire_syncup_status */
	uint64_t match_vlsn;
	uint64_t match_term;
	uint64_t first_vlsn;
	uint64_t last_vlsn;
	uint64_t commit_vlsn;
};

int tern_wire_syncup_reply_encode(void *buf, uint32_t cap, const struct tern_wire_syncup_reply *m);
enum tern_wire_rej tern_wire_syncup_reply_decode(const void *p, uint32_t len,
						 struct tern_wire_syncup_reply *out);

/* ---- Elections (JE-style Paxos, DESIGN.md 5). ---- */

/** Node types (DESIGN.md 5). Values are wire format. */
enum tern_wire_node_type {
	TERN_WIRE_NODE_ELECTABLE = 1,
	TERN_WIRE_NODE_SECONDARY = 2,
	TERN_WIRE_NODE_ARBITER = 3,
	TERN_WIRE_NODE_MONITOR = 4,
};

/** PROPOSE body (phase 1): proposal u64. Rule: proposal >= 1. */
#define TERN_WIRE_PROPOSE_LEN 8

struct tern_wire_propose {
	uint64_t proposal; /**< the proposed term */
};

int tern_wire_propose_encode(void *buf, uint32_t cap, const struct tern_wire_propose *m);
enum tern_wire_rej tern_wire_propose_decode(const void *p, uint32_t len,
					    struct tern_wire_propose *out);

/**
 * PROMISE body (acceptor to proposer): proposal u64 | last_term u64 | last_vlsn u64 |
 * accepted_proposal u64 | priority u32 | accepted_master u16 | node_type u8 | rsvd u8.
 * Rules: proposal >= 1; node_type known; accepted_proposal < proposal; when
 * accepted_proposal is not 0, accepted_master <= TERN_WIRE_NODE_MAX.
 */
#define TERN_WIRE_PROMISE_LEN 40

struct tern_wire_promise {
	uint64_t proposal;	    /**< the proposal promised */
	uint64_t last_term;	    /**< the acceptor's last log term */
	uint64_t last_vlsn;	    /**< the acceptor's last VLSN */
	uint64_t accepted_proposal; /**< highest proposal it accepted before, 0 for none */
	uint32_t priority;
	uint16_t accepted_master; /**< the master of accepted_proposal */
	uint8_t node_type;	  /**< enum tern_wire_node_type */
};

int tern_wire_promise_encode(void *buf, uint32_t cap, const struct tern_wire_promise *m);
enum tern_wire_rej tern_wire_promise_decode(const void *p, uint32_t len,
					    struct tern_wire_promise *out);

/**
 * ACCEPT (phase 2, proposer to acceptors), ACCEPTED (acceptor's answer) and RESULT (the
 * announced outcome) share one body: proposal u64 | master u16 | rsvd u16. Rules:
 * proposal >= 1; master <= TERN_WIRE_NODE_MAX.
 */
#define TERN_WIRE_BALLOT_LEN 12

struct tern_wire_ballot {
	uint64_t proposal; /**< the proposal (the new master's term) */
	uint16_t master;   /**< the candidate chosen */
};

int tern_wire_accept_encode(void *buf, uint32_t cap, const struct tern_wire_ballot *m);
enum tern_wire_rej tern_wire_accept_decode(const void *p, uint32_t len,
					   struct tern_wire_ballot *out);
int tern_wire_accepted_encode(void *buf, uint32_t cap, const struct tern_wire_ballot *m);
enum tern_wire_rej tern_wire_accepted_decode(const void *p, uint32_t len,
					     struct tern_wire_ballot *out);
int tern_wire_result_encode(void *buf, uint32_t cap, const struct tern_wire_ballot *m);
enum tern_wire_rej tern_wire_result_decode(const void *p, uint32_t len,
					   struct tern_wire_ballot *out);

/* ---- GROUP_UPDATE: membership. ---- */

/** GROUP_UPDATE operations. Values are wire format. */
enum tern_wire_group_op {
	TERN_WIRE_GROUP_OP_SNAPSHOT = 1, /**< members [first, first + n) of the total */
	TERN_WIRE_GROUP_OP_ADD = 2,	 /**< one member joins */
	TERN_WIRE_GROUP_OP_REMOVE = 3,	 /**< one member leaves */
	TERN_WIRE_GROUP_OP_CHANGE = 4,	 /**< one member changes (type, priority, address) */
};

#define TERN_WIRE_GROUP_MEMBERS_MAX 64
#define TERN_WIRE_NAME_MAX	    16 /**< bytes of a member name on the wire */

/** One member: node_id u16 | type u8 | flags u8 | priority u32 | ipv4 4 bytes (network
 * order) | udp_port u16 | mac 6 bytes | name 16 bytes (printable, NUL-padded). */
#define TERN_WIRE_MEMBER_LEN 36

struct tern_wire_member {
	uint16_t node_id; /**< <= TERN_WIRE_NODE_MAX */
	uint8_t type;	  /**< enum tern_wire_node_type */
	uint8_t flags;
	uint32_t priority;
	uint32_t ipv4; /**< network byte order */
	uint16_t udp_port;
	uint8_t mac[6];
	char name[TERN_WIRE_NAME_MAX + 1]; /**< NUL-terminated */
};

/**
 * GROUP_UPDATE body: group_version u64 | op u8 | rsvd u8 | total u16 | first u16 | n u16,
 * then n members. A snapshot larger than a frame spans frames (first, n). Rules: op known;
 * 1 <= n; first + n <= total <= TERN_WIRE_GROUP_MEMBERS_MAX; for ADD, REMOVE, CHANGE
 * total = n = 1 and first = 0; member ids unique and <= TERN_WIRE_NODE_MAX; types known;
 * names printable ASCII (no space), padded with NULs only after the name.
 */
#define TERN_WIRE_GROUP_HDR_LEN 16

struct tern_wire_group_update {
	uint64_t group_version; /**< grows with every membership change */
	uint8_t op;		/**< enum tern_wire_group_op */
	uint16_t total;
	uint16_t first;
	uint16_t n;
	struct tern_wire_member member[TERN_WIRE_GROUP_MEMBERS_MAX];
};

int tern_wire_group_update_encode(void *buf, uint32_t cap, const struct tern_wire_group_update *m);
enum tern_wire_rej tern_wire_group_update_decode(const void *p, uint32_t len,
						 struct tern_wire_group_update *out);

/* ---- ADMIN: status, master transfer, group shutdown. ---- */

/** Admin operations. Values are wire format. */
enum tern_wire_admin_op {
	TERN_WIRE_ADMIN_STATUS = 1,
	TERN_WIRE_ADMIN_TRANSFER_MASTER = 2, /**< to target (TERN_WIRE_NODE_ALL: any) */
	TERN_WIRE_ADMIN_SHUTDOWN_GROUP = 3,
};

/** Node states (DESIGN.md 5) as ADMIN_REPLY reports them. Values are wire format. */
enum tern_wire_node_state {
	TERN_WIRE_STATE_DETACHED = 1,
	TERN_WIRE_STATE_UNKNOWN = 2,
	TERN_WIRE_STATE_MASTER = 3,
	TERN_WIRE_STATE_REPLICA = 4,
	TERN_WIRE_STATE_SHUTDOWN = 5,
};

#define TERN_WIRE_ADMIN_F_FORCE 0x01U /**< transfer: even if the target lags */

/**
 * ADMIN_REQ body: req_id u32 | op u8 | flags u8 | target u16 | timeout_ms u64. Rules: op
 * known; target <= TERN_WIRE_NODE_MAX or TERN_WIRE_NODE_ALL.
 */
#define TERN_WIRE_ADMIN_REQ_LEN 16

struct tern_wire_admin_req {
	uint32_t req_id;
	uint8_t op;	 /**< enum tern_wire_admin_op */
	uint8_t flags;	 /**< TERN_WIRE_ADMIN_F_* */
	uint16_t target; /**< transfer: the node to make master */
	uint64_t timeout_ms;
};

int tern_wire_admin_req_encode(void *buf, uint32_t cap, const struct tern_wire_admin_req *m);
enum tern_wire_rej tern_wire_admin_req_decode(const void *p, uint32_t len,
					      struct tern_wire_admin_req *out);

#define TERN_WIRE_ADMIN_TEXT_MAX 128

/**
 * ADMIN_REPLY body: req_id u32 | result i32 | op u8 | state u8 | master u16 | term u64 |
 * last_vlsn u64 | commit_vlsn u64 | durable_vlsn u64 | text_len u16 | text_len bytes of
 * text. Rules: op and state known; result <= 0 (0 or -errno / -TERN_E*); text_len <=
 * TERN_WIRE_ADMIN_TEXT_MAX, no NUL in the text, nothing after it.
 */
#define TERN_WIRE_ADMIN_REPLY_HDR_LEN 46

struct tern_wire_admin_reply {
	uint32_t req_id; /**< the request's */
	int32_t result;	 /**< 0 or a negative error code */
	uint8_t op;
	uint8_t state;	 /**< enum tern_wire_node_state of the node answering */
	uint16_t master; /**< the master it knows, TERN_WIRE_NODE_ALL for none */
	uint64_t term;
	uint64_t last_vlsn;
	uint64_t commit_vlsn;
	uint64_t durable_vlsn;
	char text[TERN_WIRE_ADMIN_TEXT_MAX + 1]; /**< NUL-terminated human-readable detail */
};

int tern_wire_admin_reply_encode(void *buf, uint32_t cap, const struct tern_wire_admin_reply *m);
enum tern_wire_rej tern_wire_admin_reply_decode(const void *p, uint32_t len,
						struct tern_wire_admin_reply *out);

/* ---- RESTORE: network restore of a file set (DESIGN.md 5). ---- */

/** Restore request operations. Values are wire format. */
enum tern_wire_restore_op {
	TERN_WIRE_RESTORE_START = 1,  /**< from the start of the file set */
	TERN_WIRE_RESTORE_RESUME = 2, /**< from file, offset */
	TERN_WIRE_RESTORE_ABORT = 3,
};

/**
 * RESTORE_REQ body: session u32 | op u8 | rsvd u8 | file u16 | max_chunk u32 | rsvd u32
 * | offset u64. Rules: op known; max_chunk >= 1; START has file = offset = 0.
 */
#define TERN_WIRE_RESTORE_REQ_LEN 24

struct tern_wire_restore_req {
	uint32_t session;
	uint8_t op;	    /**< enum tern_wire_restore_op */
	uint16_t file;	    /**< index of the file in the set */
	uint32_t max_chunk; /**< largest chunk data the requester takes */
	uint64_t offset;
};

int tern_wire_restore_req_encode(void *buf, uint32_t cap, const struct tern_wire_restore_req *m);
enum tern_wire_rej tern_wire_restore_req_decode(const void *p, uint32_t len,
						struct tern_wire_restore_req *out);

#define TERN_WIRE_RESTORE_F_LAST_IN_FILE 0x01U /**< the file ends with this chunk */
#define TERN_WIRE_RESTORE_F_LAST_FILE	 0x02U /**< the last file of the set */
#define TERN_WIRE_RESTORE_NAME_MAX	 64

/**
 * RESTORE_CHUNK body: session u32 | file u16 | flags u8 | name_len u8 | offset u64 |
 * file_size u64 | data_crc u32 | len u32 | name_len bytes of file name | len bytes of
 * data. Rules: 1 <= name_len <= TERN_WIRE_RESTORE_NAME_MAX; the name is printable ASCII
 * without '/', '\\' or spaces and is not "." or ".." (it names a file in the home
 * directory); offset + len <= file_size; with LAST_IN_FILE, offset + len = file_size;
 * nothing after the data; data_crc is the CRC32C of the data (else TERN_WIRE_REJ_CRC: it
 * travels with the chunk to the file written).
 */
#define TERN_WIRE_RESTORE_CHUNK_HDR_LEN 32

struct tern_wire_restore_chunk {
	uint32_t session;
	uint16_t file;
	uint8_t flags; /**< TERN_WIRE_RESTORE_F_* */
	uint64_t offset;
	uint64_t file_size;
	uint32_t len;
	char name[TERN_WIRE_RESTORE_NAME_MAX + 1]; /**< NUL-terminated */
	const void *data;			   /**< decoded: points into the frame */
};

/** Encodes the chunk; data_crc is computed from m->data. */
int tern_wire_restore_chunk_encode(void *buf, uint32_t cap,
				   const struct tern_wire_restore_chunk *m);
enum tern_wire_rej tern_wire_restore_chunk_decode(const void *p, uint32_t len,
						  struct tern_wire_restore_chunk *out);

/**
 * RESTORE_CHUNK_ACK body: session u32 | file u16 | rsvd u16 | next_offset u64 | status
 * i32 | credit u32. Rule: status <= 0 (0, or the error that stopped the requester).
 */
#define TERN_WIRE_RESTORE_CHUNK_ACK_LEN 24

struct tern_wire_restore_chunk_ack {
	uint32_t session;
	uint16_t file;
	uint64_t next_offset; /**< everything before it in the file is written */
	int32_t status;
	uint32_t credit; /**< chunks the requester can take beyond next_offset */
};

int tern_wire_restore_chunk_ack_encode(void *buf, uint32_t cap,
				       const struct tern_wire_restore_chunk_ack *m);
enum tern_wire_rej tern_wire_restore_chunk_ack_decode(const void *p, uint32_t len,
						      struct tern_wire_restore_chunk_ack *out);

/* ---- Any message. ---- */

/** A decoded message of any type (what tern_wire_decode() fills). */
struct tern_wire_msg {
	uint8_t type; /**< enum tern_wire_type */
	union {
		struct tern_wire_entries entries;
		struct tern_wire_fragment fragment;
		struct tern_wire_ack ack;
		struct tern_wire_nak nak;
		struct tern_wire_heartbeat heartbeat;
		struct tern_wire_heartbeat_reply heartbeat_reply;
		struct tern_wire_syncup_req syncup_req;
		struct tern_wire_syncup_reply syncup_reply;
		struct tern_wire_propose propose;
		struct tern_wire_promise promise;
		struct tern_wire_ballot ballot; /**< ACCEPT, ACCEPTED, RESULT */
		struct tern_wire_group_update group_update;
		struct tern_wire_admin_req admin_req;
		struct tern_wire_admin_reply admin_reply;
		struct tern_wire_restore_req restore_req;
		struct tern_wire_restore_chunk restore_chunk;
		struct tern_wire_restore_chunk_ack restore_chunk_ack;
	} u;
};

/**
 * Decode the body of message @p type (@p len bytes at @p p) with its decoder.
 * @return its verdict; TERN_WIRE_REJ_UNKNOWN_TYPE for a type this version does not know.
 */
enum tern_wire_rej tern_wire_decode(uint8_t type, const void *p, uint32_t len,
				    struct tern_wire_msg *out);

/**
 * Decode the body of a datagram whose header @p h tern_wire_check() accepted, and count
 * a body rejection in @p c (tern_wire_count()), with a rate-limited diagnostic.
 */
enum tern_wire_rej tern_wire_decode_dgram(struct tern_wire_ctx *c, const struct tern_wire_hdr *h,
					  struct tern_wire_msg *out);

#ifdef __cplusplus
}
#endif

#endif /* TERN_WIRE_MSGS_H */
