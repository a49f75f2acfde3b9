/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The replicated environment runtime (tern_rep): one group member as a process sees it,
 * after JE HA's ReplicatedEnvironment (DESIGN.md 2 and 5).
 *
 * tern_rep_open() creates the node's threads and the rings between them:
 *
 * - **Datapath** (one thread): owns the storage driver (io_uring, log files under the
 *   home directory), the network driver and the struct tern_node (tern_node.h). It runs
 *   STYLE.md 10's poll loop: drain the commit ring, tern_node_poll(), account busy and
 *   idle passes, and back off when idle (busy mode: never; adaptive mode: spin
 *   TERN_REP_SPIN empty passes, then sched_yield() for yield_us, then block in
 *   tern_net_wait() for at most idle_block_us). It runs on a DPDK lcore
 *   (rte_eal_remote_launch) when the application initialised the EAL with a worker
 *   lcore (or names one in opts.lcore), else on a pthread. Time is the TSC, in ns.
 * - **Control plane** (a pthread that blocks): runs the state listeners. The datapath
 *   posts each state change to it through a ring and an eventfd; listeners never run
 *   on the datapath.
 * - **Application threads** submit commits through an MPSC ring (size fixed at open)
 *   and wait for them on a futex in the txn: no lock is taken, and no system call is
 *   made unless a thread actually sleeps (the waiter's FUTEX_WAIT, the datapath's
 *   FUTEX_WAKE when, and only when, someone waits).
 *
 * Waking the datapath: a blocked datapath wakes at once on a frame (rx interrupt or
 * socket), on an io_uring completion (the ring's eventfd, tern_io_uring_eventfd()) and
 * on a submitted commit or request: the net driver watches both eventfds (wake_fds of
 * tern_net_opts), and a submitter writes its eventfd only when it sees the datapath
 * blocking (one flag, checked after the enqueue; no system call otherwise). The block
 * itself lasts until the node's next timer (tern_node_next_timer_ns(): a heartbeat,
 * retransmission, ACK/NAK resend, syncup retry or ack deadline), and at most
 * idle_block_us (default 100 ms).
 *
 * Errors of this library: -EINVAL, -ENOMEM, -EAGAIN, -ETIMEDOUT, -TERN_ECLOSED, and
 * those of the node, the log and the drivers (tern_strerror() prints each).
 */
#ifndef TERN_REP_H
#define TERN_REP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tern_net.h>
#include <tern_node.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Members in a group at most. */
#define TERN_REP_MEMBERS_MAX 16
/** opts.lcore: pick the first worker lcore of the EAL if there is one, else a pthread. */
#define TERN_REP_LCORE_AUTO (-1)
/** opts.lcore: always run the datapath on a pthread. */
#define TERN_REP_LCORE_PTHREAD (-2)
/** Empty passes the adaptive poll loop spins before it yields (FABRIC.md). */
#define TERN_REP_SPIN 256

/** One member of the group. */
struct tern_rep_member {
	uint16_t id;
	uint8_t type;		  /**< enum tern_wire_node_type: ELECTABLE or SECONDARY */
	char name[32];		  /**< for diagnostics */
	struct tern_net_peer net; /**< its address (net.node_id is set from id) */
};

/** Options of tern_rep_open(). Fill with tern_rep_opts_init(), then set what differs. */
struct tern_rep_opts {
	size_t opts_size;
	uint32_t group_id;
	uint16_t self; /**< this node's id, one of members[] */
	struct tern_rep_member members[TERN_REP_MEMBERS_MAX]; /**< all, self included */
	unsigned int n_members;
	uint16_t master;		   /**< the static master (this issue) */
	const char *home;		   /**< log directory; created when missing */
	const char *net_driver;		   /**< "dpdk" or "udp" (default "udp") */
	const char *net_args;		   /**< the driver's "key=value,..." (may be NULL);
					        with dpdk the runtime puts spin=0,yield_us=0
					        first (it runs the backoff itself) */
	enum tern_net_poll_mode poll;	   /**< default TERN_NET_POLL_ADAPTIVE */
	int lcore;			   /**< TERN_REP_LCORE_AUTO (default), _PTHREAD, or an
						EAL worker lcore id */
	struct tern_durability durability; /**< default for commits: SYNC, NO_SYNC,
					      SIMPLE_MAJORITY */
	uint64_t ack_timeout_ns;	   /**< default ack timeout of a commit (default 5 s) */
	uint32_t commit_ring;		   /**< commit ring slots, a power of 2 (default 4096) */
	uint32_t max_pending;		   /**< commits in flight in the node (default 4096) */
	uint64_t segment_size;		   /**< log segment bytes (0: the log's default) */
	uint32_t batch_bytes;		   /**< group-commit buffer bytes (0: the log's default) */
	unsigned int batches;		   /**< group-commit buffers (0: the log's default) */
	uint32_t mtu;			   /**< largest datagram (0: the node's default) */
	uint64_t yield_us;	/**< adaptive: idle time before blocking (default 1000) */
	uint64_t idle_block_us; /**< adaptive: longest block when idle (default 100000) */
};

/** Fill @p o with defaults; @p size is sizeof(*o). */
void tern_rep_opts_init(struct tern_rep_opts *o, size_t size);

/** The replicated environment (opaque). */
struct tern_rep;

/**
 * Open the node: create the storage and network drivers and the node (log recovery,
 * joining the group) on the datapath thread, then start the control-plane thread.
 * The EAL, when the dpdk driver is used or opts.lcore names an lcore, must have been
 * initialised by the caller; when the datapath goes on an lcore, call tern_rep_open() and
 * tern_rep_close() from the EAL main lcore's thread (rte_eal_remote_launch and
 * rte_eal_wait_lcore are main-lcore calls). Returns once the node is open (its first
 * state is posted).
 * @return 0; -EINVAL (bad options: a message says which); -ENOMEM; -EBUSY (the lcore is
 *   not free); the drivers', log's and node's errors.
 */
int tern_rep_open(const struct tern_rep_opts *o, struct tern_rep **out);

/**
 * Stop the datapath (commits still queued or pending complete with -TERN_ECLOSED), close
 * the node (final fdatasync, log closed) and the drivers, deliver SHUTDOWN to the
 * listeners, stop the control thread and free @p rep. NULL is fine. No commit may be
 * submitted or waited for once close has begun.
 * @return 0, or the node's close error.
 */
int tern_rep_close(struct tern_rep *rep);

/** States of a txn (its futex word); private to lib/rep. */
enum tern_rep_txn_state {
	TERN_REP_TXN_IDLE = 0, /**< never submitted, or completed and reusable */
	TERN_REP_TXN_QUEUED,   /**< submitted, nobody waiting */
	TERN_REP_TXN_WAITING,  /**< submitted, a thread sleeps on it */
	TERN_REP_TXN_DONE,     /**< completed: the results are valid */
};

/**
 * One commit, owned by the caller. Fill the request with tern_rep_txn_init() and the
 * fields below; the payload (@c data) must stay valid until the txn completes (the
 * datapath copies it into the log). The txn itself must not be touched, freed or reused
 * from submission until tern_rep_wait() returned something other than -ETIMEDOUT.
 */
struct tern_rep_txn {
	/* request */
	const void *data;
	uint32_t len;
	uint16_t type; /**< >= TERN_LOG_TYPE_USER */
	uint64_t txn_id;
	uint64_t timestamp_ns;	    /**< wall clock stored in the record (0: none) */
	struct tern_durability dur; /**< from tern_rep_txn_init(): the default */
	uint64_t timeout_ns;	    /**< ack timeout (0: the node's default) */
	/* result, valid once tern_rep_wait() returned */
	int err;		      /**< as tern_commit_done.err */
	struct tern_commit_done done; /**< VLSN, master, acks, stage timestamps */
	/* private */
	uint32_t state; /**< enum tern_rep_txn_state: the futex word */
};

/** Prepare @p t with @p rep's default durability, type TERN_LOG_TYPE_USER, no timeout. */
void tern_rep_txn_init(const struct tern_rep *rep, struct tern_rep_txn *t, const void *data,
		       uint32_t len);

/**
 * Hand @p t to the datapath (nonblocking). Stamps its submit time.
 * @return 0; -EAGAIN (the commit ring is full: wait for a commit, then retry); -EBUSY
 *   (@p t is already in flight); -TERN_ECLOSED (closing).
 */
int tern_rep_submit(struct tern_rep *rep, struct tern_rep_txn *t);

/** Most txns one tern_rep_submit_burst() call takes. */
#define TERN_REP_SUBMIT_BURST_MAX 64

/**
 * Submit up to @p n txns (at most TERN_REP_SUBMIT_BURST_MAX) in order, as
 * tern_rep_submit() each, with one enqueue on the commit ring (one contended atomic for
 * the burst, not one per commit) and at most one wake of the datapath. It stops at the
 * first txn already in flight and when the ring has no more room: a prefix is queued.
 * @return how many were queued (> 0; 0 only for @p n 0); -EBUSY (@p t[0] is in
 *   flight); -EAGAIN (the ring is full: none queued); -TERN_ECLOSED (closing).
 */
int tern_rep_submit_burst(struct tern_rep *rep, struct tern_rep_txn *const *t, unsigned int n);

/**
 * Wait for @p t to complete, at most @p timeout_ns (TERN_TIME_NEVER: forever; 0: just
 * look). Yields a few microseconds first (under load the commit completes meanwhile and
 * no futex call is made on either side; how long adapts to how often that works, and a
 * busy thread on the same CPU turns it off for a while), then sleeps on the txn's futex;
 * the datapath wakes it. Several threads may wait on one txn: all are woken.
 * @return the commit's result (t->err: 0, -TERN_EACKS, -TERN_ENOTMASTER, ... see
 *   struct tern_commit_done); -ETIMEDOUT when it has not completed yet (the txn is still
 *   in flight: wait again); -EINVAL when @p t was never submitted.
 */
int tern_rep_wait(struct tern_rep *rep, struct tern_rep_txn *t, uint64_t timeout_ns);

/**
 * Commit @p len bytes at @p data and wait for the durability @p dur (NULL: the default)
 * to hold: tern_rep_submit() + tern_rep_wait(), sleeping (not spinning) while the ring is
 * full. @p vlsn (may be NULL) receives the entry's VLSN.
 * @return 0; -TERN_EACKS (insufficient acknowledgments within the timeout);
 *   -TERN_ENOTMASTER (this node is not the master: tern_rep_master() names it);
 *   -TERN_ECLOSED; the log's error; -E2BIG.
 */
int tern_rep_commit(struct tern_rep *rep, const void *data, uint32_t len,
		    const struct tern_durability *dur, uint64_t *vlsn);

/** Nanoseconds on the datapath's clock (the TSC); the txn timestamps use it. */
uint64_t tern_rep_now_ns(const struct tern_rep *rep);

/** A state change, as the listeners get it. */
struct tern_rep_state_change {
	enum tern_node_state state;
	uint16_t master; /**< TERN_WIRE_NODE_ALL when unknown */
	uint64_t term;
};

/** A state listener; called on the control-plane thread (or in tern_rep_listener_add). */
typedef void (*tern_rep_listener_fn)(void *arg, const struct tern_rep_state_change *c);

/**
 * Add a state listener: @p fn is called at once (in the caller's thread) with the
 * current state, then on the control-plane thread for every transition, in order, until
 * tern_rep_close() (which delivers SHUTDOWN). Listeners must not call
 * tern_rep_listener_add() or tern_rep_close().
 * @return 0; -ENOSPC (too many listeners, 16 at most).
 */
int tern_rep_listener_add(struct tern_rep *rep, tern_rep_listener_fn fn, void *arg);

/** The current state, master (TERN_WIRE_NODE_ALL when unknown) and term. */
void tern_rep_state(const struct tern_rep *rep, struct tern_rep_state_change *c);

/** The master this node follows or is (TERN_WIRE_NODE_ALL when unknown). */
uint16_t tern_rep_master(const struct tern_rep *rep);

/** Counters of the runtime, with the node's. */
struct tern_rep_stats {
	uint64_t submitted;   /**< txns handed to the ring */
	uint64_t ring_full;   /**< submissions refused: ring full */
	uint64_t kicks;       /**< submissions that woke a blocked datapath (eventfd writes) */
	uint64_t completed;   /**< txns completed */
	uint64_t wakes;	      /**< FUTEX_WAKEs (a waiter was asleep) */
	uint64_t passes_busy; /**< datapath passes that found work */
	uint64_t passes_idle;
	uint64_t cycles_busy; /**< TSC cycles in busy / idle passes */
	uint64_t cycles_idle;
	uint64_t yields;     /**< sched_yield() calls */
	uint64_t blocks;     /**< tern_net_wait() calls that may block */
	uint64_t start_vlsn; /**< the log's last VLSN when the node opened */
	uint64_t last_vlsn;  /**< the log's last VLSN now */
	uint64_t durable_vlsn;
	uint64_t commit_vlsn;
	enum tern_node_state state;
	uint16_t master;
	uint64_t term;
	int lcore; /**< the datapath's EAL lcore, -1 on a pthread */
	struct tern_node_stats node;
	struct tern_net_stats net;
	/** The replicas as the master sees them (their lag_max_vlsns: since the last read). */
	unsigned int n_replicas;
	struct tern_node_replica replicas[TERN_NET_PEERS_MAX];
};

/**
 * Read the counters (asks the datapath for a fresh copy; waits at most ~1 ms). Each
 * replica's lag_max_vlsns starts again from its lag now.
 * @return 0; -TERN_ECLOSED after close began (the last copy is returned).
 */
int tern_rep_stats_get(struct tern_rep *rep, struct tern_rep_stats *st);

/** Print the counters, then the node's dump (tern_node_dump, run on the datapath). */
void tern_rep_dump(struct tern_rep *rep, FILE *f);

/**
 * Make the log durable, then print every entry of it to @p f (on the datapath, which
 * stops meanwhile: for tests and tools, not for a busy node), one line each:
 * `<vlsn> <term> <type> <len> <crc32c of the payload, 8 hex digits>`.
 * @return 0; -TERN_ECLOSED; the log's error.
 */
int tern_rep_log_dump(struct tern_rep *rep, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* TERN_REP_H */
