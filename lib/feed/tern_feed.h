/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The replication stream's protocol logic (DESIGN.md 1, 3 and 5), as pure state machines:
 * no clocks, threads, sockets or allocation. Time comes in as @c now_ns; what to send is
 * returned as data for the caller (lib/rep's node) to encode and transmit.
 *
 * - **tern_ack**, the ack tracker (on the master): the highest VLSN each electable
 *   replica has received and made durable, and from them, in O(replicas), the highest
 *   VLSN that satisfies an ack policy (ALL, SIMPLE_MAJORITY, NONE). Keyed by real VLSNs.
 * - **tern_feeder** (on the master, one per replica): which VLSNs to send next, bounded
 *   by a credit window; go-back-N retransmission on NAK and on a retransmit timeout
 *   without progress; heartbeat pacing; the replica's received/durable VLSNs and lag.
 * - **tern_rstream**, the replica stream (on a replica): accepts entries only in VLSN
 *   order, from the current master and term; skips duplicates, NAKs gaps (rate-limited),
 *   and says when a cumulative ACK (received, durable) is due.
 *
 * These are functions per event rather than one step(): each event has one obvious
 * outcome, and the caller encodes and sends. Structs are declared here so callers and
 * the simulator can embed them; treat their fields as read-only outside lib/feed.
 */
#ifndef TERN_FEED_H
#define TERN_FEED_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most nodes the ack tracker follows (the group's electable members). */
#define TERN_ACK_NODES_MAX 64

/** JE's ReplicaAckPolicy: how many electable replicas must acknowledge a commit. */
enum tern_ack_policy {
	TERN_ACK_SIMPLE_MAJORITY = 0, /**< with the master, a majority of electable nodes */
	TERN_ACK_ALL = 1,             /**< every electable replica */
	TERN_ACK_NONE = 2,            /**< no replica */
};

/** Ack tracker. Embed it; fields are private. */
struct tern_ack {
	unsigned int n_electable; /**< electable members, the master included */
	unsigned int n_replicas;  /**< electable members other than the master */
	uint16_t node[TERN_ACK_NODES_MAX];
	uint64_t received[TERN_ACK_NODES_MAX]; /**< highest contiguous VLSN received */
	uint64_t durable[TERN_ACK_NODES_MAX];  /**< highest VLSN made durable */
};

/**
 * Start tracking: @p self is the master, @p electable the electable members' node ids
 * (@p self among them or not; it is never tracked). Every replica starts at VLSN 0.
 * @return 0; -EINVAL when @p n is 0 or above TERN_ACK_NODES_MAX or an id repeats.
 */
int tern_ack_init(struct tern_ack *a, uint16_t self, const uint16_t *electable, unsigned int n);

/**
 * Record a replica's cumulative acknowledgement. Both VLSNs only grow: an older report
 * (a reordered ACK) leaves them as they are. @p durable above @p received is clamped.
 * @return 0; -ENOENT when @p node is not a tracked electable replica (secondaries are
 *   fed but do not count).
 */
int tern_ack_record(struct tern_ack *a, uint16_t node, uint64_t received, uint64_t durable);

/**
 * Forget what @p node acknowledged, as when it restarted and syncs up again: its VLSNs
 * become @p received / @p durable even if lower. @return 0; -ENOENT.
 */
int tern_ack_reset(struct tern_ack *a, uint16_t node, uint64_t received, uint64_t durable);

/** Replica acknowledgements @p policy needs (0 for NONE; a majority counts the master). */
unsigned int tern_ack_needed(const struct tern_ack *a, enum tern_ack_policy policy);

/**
 * The highest VLSN acknowledged by at least tern_ack_needed() replicas, counting their
 * durable VLSNs when @p durable, else their received ones. UINT64_MAX when none are
 * needed. O(replicas): no per-commit state is scanned.
 */
uint64_t tern_ack_vlsn(const struct tern_ack *a, enum tern_ack_policy policy, bool durable);

/** How many tracked replicas have acknowledged @p vlsn (durable or received). */
unsigned int tern_ack_count(const struct tern_ack *a, uint64_t vlsn, bool durable);

/** Feeder settings. Zero fields take the defaults. */
struct tern_feeder_opts {
	uint32_t window;       /**< most entries in flight (default 4096) */
	uint64_t rto_ns;       /**< resend from the last ack after this long without
				    progress while entries are in flight (default 5 ms) */
	uint64_t heartbeat_ns; /**< heartbeat interval (default 50 ms) */
};

/** Feeder counters. */
struct tern_feeder_stats {
	uint64_t entries_sent;   /**< entries handed out by tern_feeder_sent() */
	uint64_t resent;         /**< of those, sent again */
	uint64_t naks;           /**< NAKs that rewound the stream */
	uint64_t timeouts;       /**< rewinds after rto without progress */
	uint64_t acks;           /**< ACKs taken */
	uint64_t stale_acks;     /**< ACKs that moved nothing */
	uint64_t heartbeats;     /**< heartbeats sent */
	uint64_t credit_stalls;  /**< tern_feeder_next() calls held back by the window */
	uint64_t regressions;    /**< NAKs below received_vlsn believed after rto without
				      progress (the ACK that claimed them was stale) */
};

/** One replica's feeder. Embed it; fields are read-only outside lib/feed. */
struct tern_feeder {
	uint16_t replica;
	bool started;           /**< the replica's position is known (tern_feeder_start) */
	uint32_t window;        /**< configured window */
	uint32_t credit;        /**< the replica's last advertised credit */
	uint64_t rto_ns, heartbeat_ns;
	uint64_t next_vlsn;     /**< next VLSN to send */
	uint64_t high_vlsn;     /**< highest VLSN ever sent (anything at or below is a resend) */
	uint64_t received_vlsn; /**< the replica's highest contiguous VLSN received */
	uint64_t durable_vlsn;  /**< the replica's highest durable VLSN */
	uint64_t progress_ns;   /**< when received_vlsn last moved, or the stream (re)started */
	uint64_t heartbeat_ns_last;
	uint64_t ack_ns_last;   /**< when the last ACK arrived (0: never) */
	struct tern_feeder_stats stats;
};

/** Set up a feeder for @p replica; it sends nothing until tern_feeder_start(). */
void tern_feeder_init(struct tern_feeder *f, uint16_t replica, const struct tern_feeder_opts *o,
		      uint64_t now_ns);

/**
 * Stream from @p from_vlsn on: the replica has everything before it (after syncup, or
 * its first ACK). Sets received/durable to @p from_vlsn - 1 when they were lower.
 */
void tern_feeder_start(struct tern_feeder *f, uint64_t from_vlsn, uint64_t now_ns);

/**
 * Take an ACK. @p received / @p durable only grow (a reordered ACK moves nothing);
 * @p credit replaces the credit, except from an ACK older than the last (its @p received
 * below received_vlsn), whose credit is as stale as its VLSNs. If the replica has received
 * past next_vlsn (it got a resend twice), the stream moves on to received + 1. A move of
 * received is progress: the retransmit timer restarts; so does a current ACK with credit
 * 0 (the replica holds what is in flight: nothing was lost).
 * @return true when received or durable moved.
 */
bool tern_feeder_on_ack(struct tern_feeder *f, uint64_t received, uint64_t durable,
			uint32_t credit, uint64_t now_ns);

/**
 * Take a NAK for [@p first, @p last]: rewind the stream to max(@p first, received + 1)
 * when that is below next_vlsn (go-back-N). A NAK for VLSNs already received is old news
 * and ignored, unless received_vlsn has not moved for rto_ns: then the ACK that claimed
 * them was the stale one (sent before the replica restarted or resynced, delivered after
 * this stream restarted), and the stream rewinds to @p first with received_vlsn
 * @p first - 1 (counted as a regression). Any NAK before tern_feeder_start() is ignored.
 * A rewind restarts the retransmit timer. @return true when the stream was rewound.
 */
bool tern_feeder_on_nak(struct tern_feeder *f, uint64_t first, uint64_t last, uint64_t now_ns);

/**
 * What to send now, given the master's last VLSN @p last_vlsn: on return true,
 * [*@p first, *@p last] is the range the window allows (the caller may send a prefix of
 * it and reports what it sent with tern_feeder_sent()). A stream without progress for
 * rto_ns while entries are in flight is first rewound to received + 1 (a timeout).
 * @return false when there is nothing to send or the window is full.
 */
bool tern_feeder_next(struct tern_feeder *f, uint64_t last_vlsn, uint64_t now_ns, uint64_t *first,
		      uint64_t *last);

/**
 * The caller sent everything up to @p last_sent (from next_vlsn on). When nothing was in
 * flight before, the retransmit timer starts now.
 */
void tern_feeder_sent(struct tern_feeder *f, uint64_t last_sent, uint64_t now_ns);

/** True when a heartbeat is due (never sent, or heartbeat_ns since the last). */
bool tern_feeder_heartbeat_due(const struct tern_feeder *f, uint64_t now_ns);

/** A heartbeat was sent at @p now_ns. */
void tern_feeder_heartbeat_sent(struct tern_feeder *f, uint64_t now_ns);

/**
 * When this feeder next needs its caller without any event arriving: the next heartbeat,
 * or the retransmit timeout while entries are in flight (ns, the callers' clock; 0: now).
 * A caller that blocks until then misses no timer.
 */
uint64_t tern_feeder_next_timer(const struct tern_feeder *f);

/** Entries sent but not yet acknowledged as received. */
static inline uint64_t
tern_feeder_in_flight(const struct tern_feeder *f)
{
	return f->next_vlsn - 1 > f->received_vlsn ? f->next_vlsn - 1 - f->received_vlsn : 0;
}

/** Replica stream settings. Zero fields take the defaults. */
struct tern_rstream_opts {
	uint32_t credit;     /**< entries advertised in each ACK (default 4096) */
	uint64_t nak_ns;     /**< at most one NAK per gap per this long (default 1 ms) */
	uint64_t ack_ns;     /**< resend the ACK when nothing moved for this long while the
				  master keeps sending (default 2 ms) */
};

/** What tern_rstream_check() thinks of a frame's sender and term. */
enum tern_rstream_verdict {
	TERN_RSTREAM_ACCEPT = 0,     /**< from the master, in the current term */
	TERN_RSTREAM_STALE_TERM,     /**< an older term: drop (counted) */
	TERN_RSTREAM_NOT_MASTER,     /**< from a node that is not the master of the term */
	TERN_RSTREAM_NEW_TERM,       /**< a newer term: the caller must sync up again */
};

/** Replica stream counters. */
struct tern_rstream_stats {
	uint64_t entries;    /**< entries accepted in order */
	uint64_t duplicates; /**< entries at or below the received VLSN, skipped */
	uint64_t gaps;       /**< frames that began past the next expected VLSN */
	uint64_t naks;       /**< NAKs due (sent by the caller) */
	uint64_t acks;       /**< ACKs due (sent by the caller) */
	uint64_t stale;      /**< frames from an older term */
	uint64_t not_master; /**< frames from a node that is not the master */
};

/** A replica's stream from the master. Embed it; fields are read-only outside lib/feed. */
struct tern_rstream {
	uint16_t master;
	uint64_t term;
	uint32_t credit;
	uint64_t nak_ns, ack_ns;
	uint64_t next_vlsn;     /**< the next VLSN to accept */
	uint64_t durable_vlsn;  /**< highest VLSN the local log made durable */
	uint64_t commit_vlsn;   /**< the master's commit VLSN, from ENTRIES and heartbeats */
	uint64_t acked_received, acked_durable; /**< what the last ACK said */
	uint64_t ack_ns_last;   /**< when the last ACK was due */
	uint64_t nak_first;     /**< the gap last NAKed ([nak_first, nak_last]); 0: none */
	uint64_t nak_last;
	uint64_t nak_ns_last;
	bool ack_wanted;        /**< the master asked (URGENT), a duplicate or a heartbeat
				     came, or the stream just started */
	bool holding;           /**< entries received wait for room in the log */
	struct tern_rstream_stats stats;
};

/**
 * Start a stream from @p master in @p term that expects @p next_vlsn first (the local
 * log's last VLSN + 1); @p durable_vlsn is what the local log has made durable. An ACK is
 * due at once, so the feeder learns where the stream starts.
 */
void tern_rstream_init(struct tern_rstream *r, const struct tern_rstream_opts *o, uint16_t master,
		       uint64_t term, uint64_t next_vlsn, uint64_t durable_vlsn);

/** Judge a frame from @p src in @p term (counts STALE_TERM and NOT_MASTER). */
enum tern_rstream_verdict tern_rstream_check(struct tern_rstream *r, uint16_t src, uint64_t term);

/**
 * An ENTRIES frame carries [@p first, @p last] (and the master's @p commit_vlsn). Returns
 * the VLSN from which its entries are new and to be appended, in order: entries below it
 * are duplicates (counted; an ACK becomes due so the feeder moves on). Returns 0 when the
 * frame has nothing to append: all duplicates, malformed (@p first 0 or above @p last), or
 * it begins past next_vlsn (a gap: a NAK of [next_vlsn, @p first - 1] becomes due).
 * A new gap is NAKed at once; while it is open (VLSNs of it still missing) later frames
 * past it widen it, and it is NAKed again only after nak_ns without a NAK or an in-order
 * frame (rate-limited per gap). Call tern_rstream_appended() before the next frame.
 */
uint64_t tern_rstream_on_entries(struct tern_rstream *r, uint64_t first, uint64_t last,
				 uint64_t commit_vlsn, uint64_t now_ns);

/** The caller appended everything up to @p vlsn to its log (next_vlsn = @p vlsn + 1). */
void tern_rstream_appended(struct tern_rstream *r, uint64_t vlsn);

/** The local log made everything up to @p vlsn durable. */
void tern_rstream_durable(struct tern_rstream *r, uint64_t vlsn);

/**
 * A heartbeat said the master's commit VLSN and last VLSN. A gap at the tail is NAKed
 * when nak_ns pass without the entries arriving (they may be behind the heartbeat). An
 * ACK becomes due (JE's heartbeat response), so a lost last ACK is repaired.
 */
void tern_rstream_on_heartbeat(struct tern_rstream *r, uint64_t commit_vlsn, uint64_t last_vlsn,
			       uint64_t now_ns);

/** The master asked for an ACK now (a frame with TERN_WIRE_F_URGENT). */
void tern_rstream_want_ack(struct tern_rstream *r);

/**
 * The caller holds entries it received but its log cannot take yet (@p on), or took
 * them (!@p on). While it holds, what follows them is not missing: no NAK is due, and its
 * ACKs (one at once, then every ack_ns) advertise credit 0, which tells the feeder to
 * send nothing more and that the replica is alive (no retransmit timeout). An ACK with
 * the credit back is due when the hold ends.
 */
void tern_rstream_hold(struct tern_rstream *r, bool on, uint64_t now_ns);

/**
 * Is an ACK due? True when received or durable moved since the last ACK, when one was
 * asked for, or when ack_ns passed since the last one while the stream is behind the
 * master or holding. On true, fills the ACK's fields and records it as sent at @p now_ns.
 */
bool tern_rstream_ack_due(struct tern_rstream *r, uint64_t now_ns, uint64_t *received,
			  uint64_t *durable, uint32_t *credit);

/**
 * Is a NAK due? On true, [*@p first, *@p last] is the missing range, and the NAK is
 * recorded as sent at @p now_ns.
 */
bool tern_rstream_nak_due(struct tern_rstream *r, uint64_t now_ns, uint64_t *first,
			  uint64_t *last);

/**
 * When this stream next needs its caller without any event arriving: an ACK resend while
 * behind the master, a NAK resend while a gap is open (ns; 0: now; UINT64_MAX: never).
 */
uint64_t tern_rstream_next_timer(const struct tern_rstream *r);

#ifdef __cplusplus
}
#endif

#endif /* TERN_FEED_H */
