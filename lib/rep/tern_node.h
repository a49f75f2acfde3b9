/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The node: one group member's datapath, single-threaded and clock-free (DESIGN.md 1, 2, 5).
 *
 * A node owns its log (lib/log, over a storage driver) and drives one network driver
 * queue. On the master it assigns VLSNs to commits, appends them with group commit,
 * streams them to every replica (a tern_feeder each: credit window, NAK and timeout
 * retransmission, heartbeats) and completes each commit when its durability holds (local
 * sync policy, replica sync policy, ack policy: a tern_ack tracker keyed by VLSN). On a
 * replica it takes the master's stream (tern_rstream: in order, current term only),
 * appends it with the entries' replica sync policy and acknowledges cumulatively. A
 * replica (re)joining syncs up first: it finds the matchpoint with the master (the
 * highest VLSN whose term agrees), truncates its log after it, and streams from there,
 * never from VLSN 0.
 *
 * The node reads no clock and starts no thread: the caller passes @c now_ns to every call
 * and calls tern_node_poll() from one thread (lib/rep's datapath lcore, or the simulator
 * in tests/sim, which runs whole groups over drivers/net/sim and drivers/io/mem). The
 * node allocates everything at open; commits, frames and acks allocate nothing.
 *
 * This group is static: the master is named in the options. The state machine
 * (DETACHED, UNKNOWN, MASTER, REPLICA, SHUTDOWN) and the term in every frame are there for
 * elections to drive later. A master's term is the largest of the opts term, the log's
 * last term + 1 and the last term it was master of + 1 (kept in the file "term" beside
 * the log, made durable before any frame carries it), so a restarted master never
 * reuses a term.
 */
#ifndef TERN_NODE_H
#define TERN_NODE_H

#include <stdint.h>
#include <stdio.h>

#include <tern_feed.h>
#include <tern_io.h>
#include <tern_log.h>
#include <tern_net.h>

#ifdef __cplusplus
extern "C" {
#endif

/** JE's node states (DESIGN.md 5). */
enum tern_node_state {
	TERN_NODE_DETACHED = 0, /**< not yet part of the group */
	TERN_NODE_UNKNOWN,      /**< looking for the master / syncing up */
	TERN_NODE_MASTER,
	TERN_NODE_REPLICA,
	TERN_NODE_SHUTDOWN,
};

/** Name of a state ("MASTER", ...). */
const char *tern_node_state_str(enum tern_node_state s);

/** Durability of one commit, JE's triple. */
struct tern_durability {
	uint8_t local_sync;   /**< enum tern_log_sync on the master */
	uint8_t replica_sync; /**< enum tern_log_sync on the replicas; SYNC acks count
				   durable VLSNs, the others received ones */
	uint8_t ack_policy;   /**< enum tern_ack_policy */
};

/** One member of the group. */
struct tern_node_member {
	uint16_t id;  /**< node id, <= TERN_WIRE_NODE_MAX */
	uint8_t type; /**< enum tern_wire_node_type (ELECTABLE or SECONDARY here) */
};

/** A commit request (copied by tern_node_commit(); the payload too). */
struct tern_commit {
	const void *data;
	uint32_t len;
	uint16_t type;          /**< log record type, >= TERN_LOG_TYPE_USER */
	uint64_t txn_id;
	uint64_t timestamp_ns;  /**< the application's wall clock, stored in the record */
	struct tern_durability dur;
	uint64_t timeout_ns;    /**< for the acks, from submission; 0: the node's default */
	uint64_t t_submit_ns;   /**< when the application submitted it (0: at commit) */
	void *cookie;           /**< returned in the completion */
};

/**
 * A finished commit. @c err is 0; -TERN_EACKS (the ack policy did not hold within the
 * timeout: @c acks_needed and @c acks_received say how far it got; the entry stays in
 * the log and keeps replicating, as in JE); -TERN_ENOTMASTER (this node is not the master:
 * @c master names the master when known, else TERN_WIRE_NODE_ALL); the log's error when
 * the master could not make it durable locally (-EIO, -ENOSPC, -TERN_ELOGRO);
 * -TERN_ECLOSED when the node closed first; -E2BIG for a payload over max_entry or the
 * log's buffer; -EINVAL for a bad durability or a type below TERN_LOG_TYPE_USER.
 * The stage timestamps (the now_ns of the call that saw each stage) give the breakdown.
 */
struct tern_commit_done {
	void *cookie;
	uint64_t vlsn;          /**< 0 when none was assigned */
	int err;
	uint16_t master;
	uint8_t acks_needed;
	uint8_t acks_received;
	uint64_t t_submit_ns;   /**< the request's t_submit_ns */
	uint64_t t_assign_ns;   /**< VLSN assigned, appended to the log's buffer */
	uint64_t t_local_ns;    /**< the local sync policy held */
	uint64_t t_sent_ns;     /**< first sent to a replica (0: none needed) */
	uint64_t t_acked_ns;    /**< the ack policy held */
	uint64_t t_done_ns;     /**< completed */
	/**
	 * SIMPLE_MAJORITY with replica acks: how long the replica whose ack completed it held
	 * the entry, from its arrival to durable (its ACK's hold_us; 0: unknown). Of
	 * t_acked_ns - t_sent_ns, the rest is the wire both ways and the turnarounds.
	 */
	uint64_t replica_hold_ns;
};

/** Completions, in batches, from inside tern_node_commit() or tern_node_poll(). */
typedef void (*tern_node_done_fn)(void *arg, const struct tern_commit_done *d, unsigned int n);

/** A state change (also called once at open with the first state). */
typedef void (*tern_node_state_fn)(void *arg, enum tern_node_state state, uint16_t master,
				   uint64_t term);

struct tern_node_opts {
	size_t opts_size;
	uint32_t group_id;
	uint16_t self;
	const struct tern_node_member *members; /**< every member, self included */
	unsigned int n_members;
	uint16_t master;        /**< the static master (this issue) */
	uint64_t term;          /**< lowest term to use (default 1) */
	struct tern_log_opts log; /**< the log to open (io, sizes); on_event is the node's */
	struct tern_net *net;   /**< not owned; opened with the members as peers */
	uint16_t queue;         /**< the net queue this node polls */
	uint32_t mtu;           /**< largest datagram to send (default 8192, >= 512) */
	struct tern_durability durability; /**< default: SYNC, NO_SYNC, SIMPLE_MAJORITY */
	uint64_t ack_timeout_ns;    /**< default commit ack timeout (default 5 s) */
	uint32_t max_pending;       /**< commits in flight at most (default 4096) */
	uint32_t window_entries;    /**< master's in-memory window, entries (default 65536) */
	uint32_t window_bytes;      /**< and bytes (default 32 MiB) */
	uint64_t syncup_ns;         /**< resend a syncup request after this (default 20 ms) */
	uint32_t max_entry;         /**< largest payload (default 1 MiB); entries larger
					 than a frame travel as ENTRY_FRAGMENTs */
	uint32_t inflight_bytes;    /**< payload bytes in flight per replica at most, on
					 top of the feeder's window in entries (default 2 MiB) */
	struct tern_feeder_opts feeder;
	struct tern_rstream_opts rstream;
	tern_node_done_fn on_done;
	tern_node_state_fn on_state;
	void *arg;              /**< for on_done and on_state */
};

/** Fill @p o with defaults; @p size is sizeof(*o). */
void tern_node_opts_init(struct tern_node_opts *o, size_t size);

struct tern_node;

/**
 * Open the log and join the group at @p now_ns: the static master becomes MASTER, the
 * others UNKNOWN until syncup with it completes, then REPLICA.
 * @return 0; -EINVAL (self or master not a member, bad sizes); -ENOMEM; the log's errors.
 */
int tern_node_open(const struct tern_node_opts *o, uint64_t now_ns, struct tern_node **out);

/**
 * Leave the group: pending commits complete with -TERN_ECLOSED, the log is closed (a
 * final fdatasync), the node freed. NULL is fine. @return 0 or the log's close error.
 */
int tern_node_close(struct tern_node *n);

/**
 * Submit up to @p cnt commits. Each one taken either becomes pending (a VLSN assigned,
 * appended to the log's buffer) or completes at once with an error (not master, too big,
 * log failed). @return how many were taken: fewer than @p cnt when max_pending commits
 * are in flight or the log's buffers are full (poll, then submit the rest).
 */
unsigned int tern_node_commit(struct tern_node *n, const struct tern_commit *c, unsigned int cnt,
			      uint64_t now_ns);

/**
 * One pass of the datapath: receive and handle frames, drive the log (completions,
 * group commit), feed replicas or acknowledge the master, complete commits, run
 * timeouts. Never blocks. @return 1 when it did work, 0 when idle.
 */
int tern_node_poll(struct tern_node *n, uint64_t now_ns);

enum tern_node_state tern_node_state(const struct tern_node *n);
/** The master this node follows or is (TERN_WIRE_NODE_ALL when unknown). */
uint16_t tern_node_master(const struct tern_node *n);
uint64_t tern_node_term(const struct tern_node *n);
/** On the master: highest VLSN whose commit's durability held; on a replica: the
 * master's commit VLSN as last heard. */
uint64_t tern_node_commit_vlsn(const struct tern_node *n);
/**
 * When the node next has something to do that no frame, log completion or commit will
 * announce: a heartbeat, a retransmission, an ACK or NAK resend, a syncup retry, an ack
 * deadline (ns on the callers' clock; 0: now; UINT64_MAX: nothing pending). A poll loop
 * may block until then when it is woken by frames, storage completions and commits.
 */
uint64_t tern_node_next_timer_ns(const struct tern_node *n);

/** The node's log (for reads and checks; do not append). */
struct tern_log *tern_node_log(struct tern_node *n);

/** Node counters. */
struct tern_node_stats {
	uint64_t commits;          /**< commits taken */
	uint64_t commits_ok;
	uint64_t commits_failed;   /**< completed with an error */
	uint64_t acks_timeouts;    /**< of those, -TERN_EACKS */
	uint64_t pending;          /**< commits in flight now */
	uint64_t frames_rx, frames_tx;
	uint64_t frames_rejected;  /**< by lib/wire (per reason in tern_node_dump) */
	uint64_t tx_dropped;       /**< the driver took fewer than asked */
	uint64_t entries_appended; /**< on a replica: entries from the stream */
	uint64_t syncups;          /**< syncups completed (replica) or answered (master) */
	uint64_t truncated;        /**< entries rolled back at syncup */
	uint64_t window_misses;    /**< entries fed from the log, not the window */
	uint64_t rx_stalls;        /**< replica: frames held until its log had room */
	uint64_t state_changes;
};

void tern_node_stats_get(const struct tern_node *n, struct tern_node_stats *st);

/** One replica (or SECONDARY) as the master sees it; on a replica only node_id is set. */
struct tern_node_replica {
	uint16_t node_id;
	bool streaming;         /**< synced up: the master feeds it from its known position */
	uint64_t received_vlsn; /**< highest contiguous VLSN it acknowledged receiving */
	uint64_t durable_vlsn;  /**< highest VLSN it acknowledged as durable */
	uint64_t lag_vlsns;     /**< the master's last VLSN minus received_vlsn, now */
	/**
	 * The most lag_vlsns seen at its ACKs and at these reads since the last read that
	 * reset it: how far behind it fell in between, which a read after a burst of commits
	 * (when it has caught up again) does not show otherwise.
	 */
	uint64_t lag_max_vlsns;
	uint64_t ack_ns_last; /**< when its last ACK arrived, on the node's clock (0: never) */
};

/**
 * The replicas this node feeds when master (every other data-bearing member), into @p out
 * (at most @p cap); with @p reset_max, each lag_max_vlsns starts again from the lag now.
 * @return how many were written.
 */
unsigned int tern_node_replicas_get(struct tern_node *n, struct tern_node_replica *out,
				    unsigned int cap, bool reset_max);

/**
 * Does the node hold received frames until its log has room (a replica whose buffers all
 * wait behind a write)? Then it receives nothing more: the caller's idle wait should be
 * on storage completions, not the network (whose frames are left queued on purpose).
 */
bool tern_node_rx_held(const struct tern_node *n);

/** Print state, counters, feeders and the log to @p f. */
void tern_node_dump(const struct tern_node *n, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* TERN_NODE_H */
