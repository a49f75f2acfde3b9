/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tern_rep runtime (tern_rep.h): the datapath thread that owns the node, the
 * control-plane thread that runs the listeners, and the rings and futexes between them
 * and the application threads (DESIGN.md 2, STYLE.md 10).
 *
 * Ownership: everything under `dp` belongs to the datapath thread; `app` is written by
 * application threads (atomics only); `ctl` belongs to the control thread (its listener
 * table under ctl.lock, which only the control plane and tern_rep_listener_add take:
 * never the datapath).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <tern_common.h>
#include <tern_crc32c.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_heap.h>
#include <tern_io.h>
#include <tern_io_uring.h>
#include <tern_log.h>
#include <tern_time.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "tern_rep.h"

TERN_DIAG_EXTERN(rep); /* registered in node.c */
#define REP_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, rep, "%s(): " fmt, __func__, ##__VA_ARGS__)

#define REP_BURST	  32
#define REP_LISTENERS_MAX 16
#define REP_STATE_RING	  64
#define REP_REQ_RING	  64
/* A datapath whose node holds frames waits on storage at most this long a time (requests
 * and commits queued meanwhile wait as long). */
#define HELD_WAIT_NS (1000 * 1000)
/*
 * tern_rep_wait() yields for a short while before it sleeps on the futex: under load the
 * commit completes meanwhile and neither side makes a futex call (the datapath's wake is
 * the costly part), and the yields leave the CPU to the threads that complete it. How
 * long adapts between MIN and MAX: doubled when yielding caught the completion, halved
 * when the waiter had to sleep (a SYNC commit at 1 in flight takes far longer). A yield
 * that took longer than OVERRUN gave a busy thread on this CPU its whole time slice
 * (milliseconds): the next NO_SPIN waits sleep at once.
 */
#define REP_WAIT_SPIN_MIN_NS (2 * 1000)
#define REP_WAIT_SPIN_MAX_NS (32 * 1000)
#define REP_WAIT_OVERRUN_NS (50 * 1000)
#define REP_WAIT_NO_SPIN 1024

enum req_kind {
	REQ_STATS,
	REQ_DUMP,
	REQ_LOG_DUMP,
};

/* A request from any thread to the datapath; the requester sleeps on @c done. */
struct rep_req {
	enum req_kind kind;
	FILE *f;
	struct tern_rep_stats *st;
	bool reset_lag_max; /* REQ_STATS: the replicas' lag_max_vlsns start again */
	int rc;
	uint32_t done;
};

/* A state change on its way to the control plane (an element of the state ring). */
struct rep_state_msg {
	uint32_t state;
	uint16_t master;
	uint16_t pad;
	uint64_t term;
};

struct rep_listener {
	tern_rep_listener_fn fn;
	void *arg;
};

struct tern_rep {
	struct tern_rep_opts o;
	/* Read-mostly, set at open. */
	struct rte_ring *commits; /* MPSC: struct tern_rep_txn * */
	struct rte_ring *reqs;	  /* MPSC: struct rep_req * */
	struct rte_ring *states;  /* SPSC: struct rep_state_msg */
	int efd;		  /* wakes the control thread */
	int wake_fd;		  /* wakes a blocked datapath: a commit was queued */
	uint64_t tsc0, ns0, mult; /* ns = ns0 + (tsc - tsc0) * mult >> 32 */
	bool eal_up;
	int lcore; /* the datapath's lcore, or -1 (pthread) */
	pthread_t dp_thread;
	pthread_t ctl_thread;
	bool ctl_started;

	/* Shared words (futexes and flags). */
	struct {
		uint32_t open_done; /* futex: the datapath finished opening */
		int open_rc;
		uint32_t stop;	  /* the datapath must leave its loop */
		uint32_t closing; /* no more submissions */
		uint32_t dp_exited;
		uint32_t cur_state; /* as last seen by the datapath */
		uint32_t cur_master;
		uint64_t cur_term;
		uint32_t dp_sleeping; /* the datapath blocks (or is about to): kick wake_fd */
	} __tern_cache_aligned sh;

	/* Written by application threads. */
	struct {
		uint64_t submitted;
		uint64_t ring_full;
		uint64_t kicks; /* wake_fd writes (a commit found the datapath blocked) */
		uint32_t submitters;	/* in tern_rep_submit now */
		uint32_t space_waiters; /* sleeping until the commit ring has room */
		uint32_t space_seq;	/* futex: bumped when room was made */
		uint32_t wait_spin_ns;	/* tern_rep_wait's yields before it sleeps (adaptive) */
		uint32_t wait_no_spin;	/* waits left that sleep at once (after a long yield) */
	} __tern_cache_aligned app;

	/* The datapath's own. */
	struct {
		struct tern_io *io;
		struct tern_net *net;
		struct tern_node *node;
		struct tern_rep_txn *stash[REP_BURST];
		struct tern_commit cbuf[REP_BURST];
		unsigned int stash_n, stash_pos;
		uint64_t completed, wakes;
		uint64_t passes_busy, passes_idle, cycles_busy, cycles_idle;
		uint64_t yields, blocks;
		uint64_t idle_n, idle_since;
		uint64_t start_vlsn;
		uint64_t yield_ns, block_ns;
		int wake[2]; /* what ends tern_net_wait besides frames: wake_fd, io_uring's */
		char net_args[512]; /* the dpdk driver's: its own backoff off, then the user's */
		uint32_t last_posted;
		bool posted_any;
		int close_rc;
		struct tern_rep_stats final; /* the last counters, kept after close */
	} __tern_cache_aligned dp;

	/* The control plane's own. */
	struct {
		pthread_mutex_t lock;
		struct rep_listener l[REP_LISTENERS_MAX];
		unsigned int n;
		struct tern_rep_state_change cur; /* as delivered to the listeners */
		uint32_t stop;
		uint64_t dropped; /* state changes lost to a full ring (never expected) */
	} __tern_cache_aligned ctl;
};

/* ---- futex, clock ---- */

static long
futex_wait(uint32_t *w, uint32_t val, const struct timespec *rel)
{
	return syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0);
}

static void
futex_wake(uint32_t *w, int n)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TERN_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void
clock_setup(struct tern_rep *rep)
{
	uint64_t hz = 0;

	if (rep->eal_up)
		hz = rte_get_tsc_hz();
	if (hz == 0) {
		/* No EAL: calibrate the TSC against CLOCK_MONOTONIC once, here at open. */
		struct timespec d = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
		uint64_t n0 = mono_ns(), c0 = rte_rdtsc(), n1, c1;

		nanosleep(&d, NULL);
		n1 = mono_ns();
		c1 = rte_rdtsc();
		hz = n1 > n0 ? (uint64_t)((unsigned __int128)(c1 - c0) * TERN_NS_PER_S / (n1 - n0))
			     : 1000000000ULL;
	}
	rep->mult = (uint64_t)(((unsigned __int128)TERN_NS_PER_S << 32) / hz);
	rep->ns0 = mono_ns();
	rep->tsc0 = rte_rdtsc();
}

static inline uint64_t
rep_now(const struct tern_rep *rep)
{
	uint64_t d = rte_rdtsc() - rep->tsc0;

	return rep->ns0 + (uint64_t)(((unsigned __int128)d * rep->mult) >> 32);
}

uint64_t
tern_rep_now_ns(const struct tern_rep *rep)
{
	return rep_now(rep);
}

/* ---- options ---- */

void
tern_rep_opts_init(struct tern_rep_opts *o, size_t size)
{
	memset(o, 0, size);
	o->opts_size = size;
	o->net_driver = "udp";
	o->poll = TERN_NET_POLL_ADAPTIVE;
	o->lcore = TERN_REP_LCORE_AUTO;
	o->durability.local_sync = TERN_LOG_SYNC;
	o->durability.replica_sync = TERN_LOG_NO_SYNC;
	o->durability.ack_policy = TERN_ACK_SIMPLE_MAJORITY;
	o->ack_timeout_ns = 5 * TERN_NS_PER_S;
	o->commit_ring = 4096;
	o->max_pending = 4096;
	o->yield_us = 1000;
	o->idle_block_us = 100000;
}

static int
opts_check(const struct tern_rep_opts *o)
{
	bool self = false, master = false;
	unsigned int i, j;

	if (o->opts_size != sizeof(*o)) {
		REP_DIAG(ERR, "opts_size %zu, want %zu (use tern_rep_opts_init)", o->opts_size,
			 sizeof(*o));
		return -EINVAL;
	}
	if (o->n_members == 0 || o->n_members > TERN_REP_MEMBERS_MAX) {
		REP_DIAG(ERR, "%u members (1 to %u)", o->n_members, TERN_REP_MEMBERS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < o->n_members; i++) {
		const struct tern_rep_member *m = &o->members[i];

		if (m->id > TERN_WIRE_NODE_MAX ||
		    (m->type != TERN_WIRE_NODE_ELECTABLE && m->type != TERN_WIRE_NODE_SECONDARY)) {
			REP_DIAG(ERR, "member %u: bad id or type %u", m->id, m->type);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (o->members[j].id == m->id) {
				REP_DIAG(ERR, "member %u listed twice", m->id);
				return -EINVAL;
			}
		self |= m->id == o->self;
		master |= m->id == o->master && m->type == TERN_WIRE_NODE_ELECTABLE;
	}
	if (!self || !master) {
		REP_DIAG(ERR, "%s %u is not %s member", self ? "master" : "self",
			 self ? o->master : o->self, self ? "an electable" : "a");
		return -EINVAL;
	}
	if (o->home == NULL || o->net_driver == NULL) {
		REP_DIAG(ERR, "no %s", o->home == NULL ? "home directory" : "net driver");
		return -EINVAL;
	}
	if (o->commit_ring < 2 || o->commit_ring > (1U << 24) ||
	    (o->commit_ring & (o->commit_ring - 1)) != 0) {
		REP_DIAG(ERR, "commit_ring %u is not a power of 2 in [2, 2^24]", o->commit_ring);
		return -EINVAL;
	}
	if (o->durability.local_sync > TERN_LOG_NO_SYNC ||
	    o->durability.replica_sync > TERN_LOG_NO_SYNC ||
	    o->durability.ack_policy > TERN_ACK_NONE) {
		REP_DIAG(ERR, "bad default durability");
		return -EINVAL;
	}
	return 0;
}

/* ---- rings ---- */

static struct rte_ring *
ring_new(const char *name, unsigned int esize, unsigned int count, unsigned int flags)
{
	ssize_t sz = rte_ring_get_memsize_elem(esize, count);
	struct rte_ring *r;

	if (sz < 0)
		return NULL;
	r = tern_zmalloc_aligned((size_t)sz, TERN_CACHE_LINE);
	if (r == NULL)
		return NULL;
	if (rte_ring_init(r, name, count, flags) != 0) {
		tern_free(r);
		return NULL;
	}
	return r;
}

/* ---- control plane ---- */

static void
state_post(struct tern_rep *rep, enum tern_node_state state, uint16_t master, uint64_t term)
{
	struct rep_state_msg m = {.state = state, .master = master, .term = term};
	uint64_t one = 1;

	__atomic_store_n(&rep->sh.cur_state, (uint32_t)state, __ATOMIC_RELAXED);
	__atomic_store_n(&rep->sh.cur_master, (uint32_t)master, __ATOMIC_RELAXED);
	__atomic_store_n(&rep->sh.cur_term, term, __ATOMIC_RELEASE);
	rep->dp.last_posted = state;
	rep->dp.posted_any = true;
	if (rte_ring_sp_enqueue_elem(rep->states, &m, sizeof(m)) != 0) {
		/* The control thread then delivers the latest state from sh.cur_*. */
		__atomic_fetch_add(&rep->ctl.dropped, 1, __ATOMIC_RELEASE);
		REP_DIAG(WARNING, "state ring full: %s queued as the latest state only",
			 tern_node_state_str(state));
	}
	/* A state change is rare: one write(2) to wake the control thread is fine. */
	if (write(rep->efd, &one, sizeof(one)) < 0)
		REP_DIAG(ERR, "eventfd write: %s", tern_strerror(-errno));
}

/* Tell every listener about a state (control thread). */
static void
ctl_deliver(struct tern_rep *rep, enum tern_node_state state, uint16_t master, uint64_t term)
{
	unsigned int i;

	pthread_mutex_lock(&rep->ctl.lock);
	rep->ctl.cur.state = state;
	rep->ctl.cur.master = master;
	rep->ctl.cur.term = term;
	for (i = 0; i < rep->ctl.n; i++)
		rep->ctl.l[i].fn(rep->ctl.l[i].arg, &rep->ctl.cur);
	pthread_mutex_unlock(&rep->ctl.lock);
}

static void *
ctl_main(void *arg)
{
	struct tern_rep *rep = arg;
	struct rep_state_msg m;
	uint64_t cnt, dropped_seen = 0, dropped;

	for (;;) {
		while (rte_ring_sc_dequeue_elem(rep->states, &m, sizeof(m)) == 0)
			ctl_deliver(rep, (enum tern_node_state)m.state, m.master, m.term);
		/* Changes that found the ring full: at least the latest state is delivered. */
		dropped = __atomic_load_n(&rep->ctl.dropped, __ATOMIC_ACQUIRE);
		if (dropped != dropped_seen) {
			struct tern_rep_state_change c;

			dropped_seen = dropped;
			tern_rep_state(rep, &c);
			ctl_deliver(rep, c.state, c.master, c.term);
		}
		if (__atomic_load_n(&rep->ctl.stop, __ATOMIC_ACQUIRE) &&
		    rte_ring_empty(rep->states))
			break;
		if (read(rep->efd, &cnt, sizeof(cnt)) < 0 && errno != EINTR) {
			REP_DIAG(ERR, "eventfd read: %s", tern_strerror(-errno));
			break;
		}
	}
	return NULL;
}

int
tern_rep_listener_add(struct tern_rep *rep, tern_rep_listener_fn fn, void *arg)
{
	int rc = 0;

	if (rep == NULL || fn == NULL)
		return -EINVAL;
	pthread_mutex_lock(&rep->ctl.lock);
	if (rep->ctl.n == REP_LISTENERS_MAX) {
		rc = -ENOSPC;
	} else {
		fn(arg, &rep->ctl.cur);
		rep->ctl.l[rep->ctl.n].fn = fn;
		rep->ctl.l[rep->ctl.n].arg = arg;
		rep->ctl.n++;
	}
	pthread_mutex_unlock(&rep->ctl.lock);
	return rc;
}

void
tern_rep_state(const struct tern_rep *rep, struct tern_rep_state_change *c)
{
	c->term = __atomic_load_n(&rep->sh.cur_term, __ATOMIC_ACQUIRE);
	c->state = (enum tern_node_state)__atomic_load_n(&rep->sh.cur_state, __ATOMIC_RELAXED);
	c->master = (uint16_t)__atomic_load_n(&rep->sh.cur_master, __ATOMIC_RELAXED);
}

uint16_t
tern_rep_master(const struct tern_rep *rep)
{
	return (uint16_t)__atomic_load_n(&rep->sh.cur_master, __ATOMIC_RELAXED);
}

/* ---- completions (datapath) ---- */

static void
txn_complete(struct tern_rep *rep, struct tern_rep_txn *t, const struct tern_commit_done *d)
{
	t->done = *d;
	t->err = d->err;
	rep->dp.completed++;
	/* Publish the result, then wake the waiters only if one sleeps: no syscall otherwise. */
	if (__atomic_exchange_n(&t->state, TERN_REP_TXN_DONE, __ATOMIC_ACQ_REL) ==
	    TERN_REP_TXN_WAITING) {
		futex_wake(&t->state, INT_MAX);
		rep->dp.wakes++;
	}
}

static void
on_done(void *arg, const struct tern_commit_done *d, unsigned int n)
{
	struct tern_rep *rep = arg;
	unsigned int i;

	for (i = 0; i < n; i++)
		txn_complete(rep, d[i].cookie, &d[i]);
}

static void
on_state(void *arg, enum tern_node_state state, uint16_t master, uint64_t term)
{
	state_post(arg, state, master, term);
}

static void
txn_fail(struct tern_rep *rep, struct tern_rep_txn *t, int err)
{
	struct tern_commit_done d;

	memset(&d, 0, sizeof(d));
	d.cookie = t;
	d.err = err;
	d.master = tern_rep_master(rep);
	d.t_submit_ns = t->done.t_submit_ns;
	d.t_done_ns = rep_now(rep);
	txn_complete(rep, t, &d);
}

/* ---- the datapath ---- */

static void
commit_fill(struct tern_commit *c, struct tern_rep_txn *t)
{
	c->data = t->data;
	c->len = t->len;
	c->type = t->type;
	c->txn_id = t->txn_id;
	c->timestamp_ns = t->timestamp_ns;
	c->dur = t->dur;
	c->timeout_ns = t->timeout_ns;
	c->t_submit_ns = t->done.t_submit_ns;
	c->cookie = t;
}

/* Hand queued commits to the node. @return 1 when any moved. */
static int
dp_drain(struct tern_rep *rep, uint64_t now)
{
	unsigned int i, n, taken;

	if (rep->dp.stash_pos == rep->dp.stash_n) {
		n = rte_ring_sc_dequeue_burst(rep->commits, (void **)rep->dp.stash, REP_BURST,
					      NULL);
		if (n == 0)
			return 0;
		for (i = 0; i < n; i++)
			commit_fill(&rep->dp.cbuf[i], rep->dp.stash[i]);
		rep->dp.stash_n = n;
		rep->dp.stash_pos = 0;
		/* Room was made: wake threads sleeping on a full ring (rare). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&rep->app.space_waiters, __ATOMIC_RELAXED) > 0) {
			__atomic_fetch_add(&rep->app.space_seq, 1, __ATOMIC_RELEASE);
			futex_wake(&rep->app.space_seq, INT_MAX);
		}
	}
	taken = tern_node_commit(rep->dp.node, &rep->dp.cbuf[rep->dp.stash_pos],
				 rep->dp.stash_n - rep->dp.stash_pos, now);
	rep->dp.stash_pos += taken;
	return taken > 0;
}

/* The counters into @p st; with @p reset, each replica's lag_max_vlsns starts again. */
static void
stats_fill(struct tern_rep *rep, struct tern_rep_stats *st, bool reset)
{
	struct tern_node *node = rep->dp.node;
	struct tern_log *log;

	memset(st, 0, sizeof(*st));
	st->submitted = __atomic_load_n(&rep->app.submitted, __ATOMIC_RELAXED);
	st->ring_full = __atomic_load_n(&rep->app.ring_full, __ATOMIC_RELAXED);
	st->kicks = __atomic_load_n(&rep->app.kicks, __ATOMIC_RELAXED);
	st->completed = rep->dp.completed;
	st->wakes = rep->dp.wakes;
	st->passes_busy = rep->dp.passes_busy;
	st->passes_idle = rep->dp.passes_idle;
	st->cycles_busy = rep->dp.cycles_busy;
	st->cycles_idle = rep->dp.cycles_idle;
	st->yields = rep->dp.yields;
	st->blocks = rep->dp.blocks;
	st->start_vlsn = rep->dp.start_vlsn;
	st->lcore = rep->lcore;
	if (node == NULL)
		return;
	log = tern_node_log(node);
	st->last_vlsn = tern_log_last_vlsn(log);
	st->durable_vlsn = tern_log_durable_vlsn(log);
	st->commit_vlsn = tern_node_commit_vlsn(node);
	st->state = tern_node_state(node);
	st->master = tern_node_master(node);
	st->term = tern_node_term(node);
	tern_node_stats_get(node, &st->node);
	tern_net_stats_get(rep->dp.net, &st->net);
	st->n_replicas = tern_node_replicas_get(node, st->replicas, TERN_NET_PEERS_MAX, reset);
}

static int
log_dump(struct tern_rep *rep, FILE *f)
{
	struct tern_log *log = tern_node_log(rep->dp.node);
	struct tern_log_scan *s;
	struct tern_log_entry e;
	uint64_t first;
	int rc;

	rc = tern_log_sync(log, 30 * TERN_NS_PER_S);
	if (rc != 0)
		return rc;
	first = tern_log_first_vlsn(log);
	if (tern_log_last_vlsn(log) < first)
		return 0;
	rc = tern_log_scan_open(log, first, &s);
	if (rc != 0)
		return rc;
	while ((rc = tern_log_scan_next(s, &e)) == 1)
		fprintf(f, "%" PRIu64 " %" PRIu64 " %u %u %08x\n", e.vlsn, e.term, e.type, e.len,
			tern_crc32c(e.data, e.len));
	tern_log_scan_close(s);
	fflush(f);
	return rc;
}

static void
req_finish(struct rep_req *r, int rc)
{
	r->rc = rc;
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	futex_wake(&r->done, 1);
}

static int
dp_requests(struct tern_rep *rep)
{
	struct rep_req *r;
	int n = 0;

	while (rte_ring_sc_dequeue(rep->reqs, (void **)&r) == 0) {
		int rc = 0;

		n++;
		switch (r->kind) {
		case REQ_STATS:
			stats_fill(rep, r->st, r->reset_lag_max);
			break;
		case REQ_DUMP:
			tern_node_dump(rep->dp.node, r->f);
			fflush(r->f);
			break;
		case REQ_LOG_DUMP:
			rc = log_dump(rep, r->f);
			break;
		}
		req_finish(r, rc);
	}
	return n > 0;
}

static void
dp_backoff(struct tern_rep *rep, uint64_t now)
{
	uint64_t block, next;

	if (rep->o.poll == TERN_NET_POLL_BUSY) {
		rte_pause();
		return;
	}
	if (++rep->dp.idle_n < TERN_REP_SPIN) {
		rte_pause();
		return;
	}
	if (rep->dp.idle_since == 0)
		rep->dp.idle_since = now;
	if (now - rep->dp.idle_since < rep->dp.yield_ns) {
		rep->dp.yields++;
		sched_yield();
		return;
	}
	/*
	 * Block, bounded by idle_block_us (the node's timers: heartbeats, retransmits, ack
	 * timeouts): frames (rx interrupts or the socket), io_uring completions (their
	 * eventfd) and queued commits (wake_fd, written by a submitter that sees
	 * dp_sleeping) all end the wait at once. dp_sleeping is raised before the ring is
	 * looked at again, so a commit queued meanwhile is either seen here or wakes us.
	 */
	__atomic_store_n(&rep->sh.dp_sleeping, 1, __ATOMIC_SEQ_CST);
	if (!rte_ring_empty(rep->commits) || !rte_ring_empty(rep->reqs)) {
		__atomic_store_n(&rep->sh.dp_sleeping, 0, __ATOMIC_RELAXED);
		return;
	}
	/* Until the node's next timer, at most idle_block_us. */
	next = tern_node_next_timer_ns(rep->dp.node);
	if (next <= now) {
		__atomic_store_n(&rep->sh.dp_sleeping, 0, __ATOMIC_RELAXED);
		return;
	}
	block = TERN_MIN(rep->dp.block_ns, next - now);
	rep->dp.blocks++;
	if (tern_node_rx_held(rep->dp.node))
		/* Frames wait unread on purpose (the net would wake at once): the log's writes. */
		tern_io_wait(rep->dp.io, TERN_MIN(block, HELD_WAIT_NS));
	else
		tern_net_wait(rep->dp.net, 0, block);
	__atomic_store_n(&rep->sh.dp_sleeping, 0, __ATOMIC_RELAXED);
}

/* After queueing work for the datapath: wake it if it blocks (no syscall otherwise). */
static void
dp_kick(struct tern_rep *rep)
{
	uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&rep->sh.dp_sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&rep->sh.dp_sleeping, 0, __ATOMIC_RELAXED) == 1) {
		__atomic_fetch_add(&rep->app.kicks, 1, __ATOMIC_RELAXED);
		if (write(rep->wake_fd, &one, sizeof(one)) < 0)
			REP_DIAG(ERR, "wake eventfd write: %s", tern_strerror(-errno));
	}
}

static int
dp_open(struct tern_rep *rep)
{
	const struct tern_rep_opts *o = &rep->o;
	struct tern_node_member members[TERN_REP_MEMBERS_MAX];
	struct tern_net_peer peers[TERN_REP_MEMBERS_MAX];
	struct tern_io_uring_opts io;
	struct tern_net_opts no;
	struct tern_node_opts nd;
	unsigned int i, np = 0;
	int rc;

	tern_io_uring_opts_init(&io, sizeof(io));
	io.home = o->home;
	rc = tern_io_uring_create(&io, &rep->dp.io);
	if (rc != 0) {
		REP_DIAG(ERR, "io_uring storage in %s: %s", o->home, tern_strerror(rc));
		return rc;
	}

	/* Storage completions and queued commits end an idle block at once. */
	rep->dp.wake[0] = rep->wake_fd;
	rc = tern_io_uring_eventfd(rep->dp.io);
	if (rc < 0) {
		REP_DIAG(ERR, "io_uring completion eventfd: %s", tern_strerror(rc));
		return rc;
	}
	rep->dp.wake[1] = rc;

	tern_net_opts_init(&no, sizeof(no));
	no.driver_args = o->net_args;
	if (strcmp(o->net_driver, "dpdk") == 0) {
		/*
		 * dp_backoff() owns the idle policy (spin, yield, then block): the driver's
		 * own spin and yield phases would run a second time inside tern_net_wait()
		 * and turn the block into yields. Arguments given by the user come later and
		 * win (the driver takes the last value of a key).
		 */
		bool user = o->net_args != NULL && o->net_args[0] != '\0';
		int len = snprintf(rep->dp.net_args, sizeof(rep->dp.net_args),
				   "spin=0,yield_us=0%s%s", user ? "," : "", user ? o->net_args : "");

		if (len < 0 || (size_t)len >= sizeof(rep->dp.net_args)) {
			REP_DIAG(ERR, "net driver arguments longer than %zu bytes",
				 sizeof(rep->dp.net_args) - 20);
			return -EINVAL;
		}
		no.driver_args = rep->dp.net_args;
	}
	no.poll_mode = o->poll;
	no.wake_fds = rep->dp.wake;
	no.n_wake_fds = 2;
	if (o->mtu != 0)
		no.mtu = o->mtu;
	for (i = 0; i < o->n_members; i++) {
		const struct tern_rep_member *m = &o->members[i];

		members[i].id = m->id;
		members[i].type = m->type;
		if (m->id == o->self) {
			no.self = m->net;
			no.self.node_id = m->id;
		} else {
			peers[np] = m->net;
			peers[np].node_id = m->id;
			np++;
		}
	}
	no.peers = peers;
	no.n_peers = np;
	rc = tern_net_open(o->net_driver, &no, &rep->dp.net);
	if (rc != 0) {
		REP_DIAG(ERR, "net driver %s: %s", o->net_driver, tern_strerror(rc));
		return rc;
	}

	tern_node_opts_init(&nd, sizeof(nd));
	nd.group_id = o->group_id;
	nd.self = o->self;
	nd.members = members;
	nd.n_members = o->n_members;
	nd.master = o->master;
	nd.log.io = rep->dp.io;
	if (o->segment_size != 0)
		nd.log.segment_size = o->segment_size;
	if (o->batch_bytes != 0)
		nd.log.batch_bytes = o->batch_bytes;
	if (o->batches != 0)
		nd.log.batches = o->batches;
	nd.net = rep->dp.net;
	nd.queue = 0;
	if (o->mtu != 0)
		nd.mtu = o->mtu;
	nd.durability = o->durability;
	nd.ack_timeout_ns = o->ack_timeout_ns;
	if (o->max_pending != 0)
		nd.max_pending = o->max_pending;
	nd.on_done = on_done;
	nd.on_state = on_state;
	nd.arg = rep;
	rc = tern_node_open(&nd, rep_now(rep), &rep->dp.node);
	if (rc != 0) {
		REP_DIAG(ERR, "node %u: %s", o->self, tern_strerror(rc));
		return rc;
	}
	rep->dp.start_vlsn = tern_log_last_vlsn(tern_node_log(rep->dp.node));
	return 0;
}

static void
dp_close(struct tern_rep *rep)
{
	struct tern_rep_txn *t;
	unsigned int i;

	/* Let submitters that saw closing == 0 finish their enqueue, then fail what is left. */
	while (__atomic_load_n(&rep->app.submitters, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
	for (i = rep->dp.stash_pos; i < rep->dp.stash_n; i++)
		txn_fail(rep, rep->dp.stash[i], -TERN_ECLOSED);
	rep->dp.stash_n = rep->dp.stash_pos = 0;
	while (rte_ring_sc_dequeue(rep->commits, (void **)&t) == 0)
		txn_fail(rep, t, -TERN_ECLOSED);
	if (rep->dp.node != NULL) {
		stats_fill(rep, &rep->dp.final, false);
		rep->dp.close_rc = tern_node_close(rep->dp.node);
		rep->dp.node = NULL;
	}
	tern_net_close(rep->dp.net);
	rep->dp.net = NULL;
	tern_io_destroy(rep->dp.io);
	rep->dp.io = NULL;
}

static int
dp_main(void *arg)
{
	struct tern_rep *rep = arg;
	uint64_t t_prev, t, now;
	struct rep_req *r;
	int rc;

	rc = dp_open(rep);
	rep->sh.open_rc = rc;
	__atomic_store_n(&rep->sh.open_done, 1, __ATOMIC_RELEASE);
	futex_wake(&rep->sh.open_done, 1);
	if (rc != 0)
		goto out;

	t_prev = rte_rdtsc();
	while (!__atomic_load_n(&rep->sh.stop, __ATOMIC_RELAXED)) {
		int busy;

		now = rep_now(rep); /* time is read once per pass */
		busy = dp_drain(rep, now);
		busy |= tern_node_poll(rep->dp.node, now);
		busy |= dp_requests(rep);
		t = rte_rdtsc();
		if (busy) {
			rep->dp.passes_busy++;
			rep->dp.cycles_busy += t - t_prev;
			rep->dp.idle_n = 0;
			rep->dp.idle_since = 0;
		} else {
			rep->dp.passes_idle++;
			rep->dp.cycles_idle += t - t_prev;
			dp_backoff(rep, now);
		}
		t_prev = t;
	}
out:
	dp_close(rep);
	/* Requests that came too late. */
	__atomic_store_n(&rep->sh.dp_exited, 1, __ATOMIC_SEQ_CST);
	while (rte_ring_sc_dequeue(rep->reqs, (void **)&r) == 0) {
		if (r->kind == REQ_STATS)
			*r->st = rep->dp.final;
		req_finish(r, -TERN_ECLOSED);
	}
	return rc;
}

static void *
dp_pthread(void *arg)
{
	struct tern_rep *rep = arg;
	bool reg = false;

	/* An lcore id gives the thread DPDK's per-lcore caches (mempools). */
	if (rep->eal_up)
		reg = rte_thread_register() == 0;
	dp_main(rep);
	if (reg)
		rte_thread_unregister();
	return NULL;
}

/* ---- open / close ---- */

static void
rep_free(struct tern_rep *rep)
{
	if (rep->efd >= 0)
		close(rep->efd);
	if (rep->wake_fd >= 0)
		close(rep->wake_fd);
	tern_free(rep->commits);
	tern_free(rep->reqs);
	tern_free(rep->states);
	pthread_mutex_destroy(&rep->ctl.lock);
	tern_free(rep);
}

static void
ctl_stop(struct tern_rep *rep)
{
	uint64_t one = 1;

	if (!rep->ctl_started)
		return;
	__atomic_store_n(&rep->ctl.stop, 1, __ATOMIC_RELEASE);
	if (write(rep->efd, &one, sizeof(one)) < 0)
		REP_DIAG(ERR, "eventfd write: %s", tern_strerror(-errno));
	pthread_join(rep->ctl_thread, NULL);
	rep->ctl_started = false;
}

static void
dp_join(struct tern_rep *rep)
{
	if (rep->lcore >= 0)
		rte_eal_wait_lcore((unsigned int)rep->lcore);
	else
		pthread_join(rep->dp_thread, NULL);
}

static int
dp_start(struct tern_rep *rep)
{
	int lc = rep->o.lcore;
	int rc;

	if (lc == TERN_REP_LCORE_AUTO && rep->eal_up) {
		unsigned int w = rte_get_next_lcore(-1, 1, 0);

		lc = w < RTE_MAX_LCORE && rte_eal_get_lcore_state(w) == WAIT
			     ? (int)w
			     : TERN_REP_LCORE_PTHREAD;
	} else if (lc == TERN_REP_LCORE_AUTO) {
		lc = TERN_REP_LCORE_PTHREAD;
	}
	if (lc >= 0) {
		if (!rep->eal_up || lc >= RTE_MAX_LCORE || !rte_lcore_is_enabled((unsigned)lc) ||
		    (unsigned int)lc == rte_get_main_lcore()) {
			REP_DIAG(ERR, "lcore %d is not an EAL worker lcore", lc);
			return -EINVAL;
		}
		rep->lcore = lc;
		rc = rte_eal_remote_launch(dp_main, rep, (unsigned int)lc);
		if (rc != 0) {
			REP_DIAG(ERR, "lcore %d is busy", lc);
			return -EBUSY;
		}
		return 0;
	}
	rep->lcore = -1;
	rc = pthread_create(&rep->dp_thread, NULL, dp_pthread, rep);
	if (rc != 0)
		return -rc;
	pthread_setname_np(rep->dp_thread, "tern-dp");
	return 0;
}

int
tern_rep_open(const struct tern_rep_opts *o, struct tern_rep **out)
{
	struct tern_rep *rep;
	int rc;

	*out = NULL;
	rc = opts_check(o);
	if (rc != 0)
		return rc;
	rep = tern_zmalloc_aligned(sizeof(*rep), TERN_CACHE_LINE);
	if (rep == NULL)
		return -ENOMEM;
	rep->o = *o;
	rep->efd = -1;
	rep->wake_fd = -1;
	rep->app.wait_spin_ns = REP_WAIT_SPIN_MIN_NS;
	pthread_mutex_init(&rep->ctl.lock, NULL);
	rep->ctl.cur.state = TERN_NODE_DETACHED;
	rep->ctl.cur.master = TERN_WIRE_NODE_ALL;
	rep->sh.cur_state = TERN_NODE_DETACHED;
	rep->sh.cur_master = TERN_WIRE_NODE_ALL;
	rep->eal_up = rte_lcore_count() > 0;
	rep->dp.yield_ns = o->yield_us * TERN_NS_PER_US;
	rep->dp.block_ns = TERN_MAX(o->idle_block_us, 1) * TERN_NS_PER_US;
	clock_setup(rep);

	rc = -ENOMEM;
	rep->commits = ring_new("tern_rep_commits", sizeof(void *), o->commit_ring, RING_F_SC_DEQ);
	rep->reqs = ring_new("tern_rep_reqs", sizeof(void *), REP_REQ_RING, RING_F_SC_DEQ);
	rep->states = ring_new("tern_rep_states", sizeof(struct rep_state_msg), REP_STATE_RING,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rep->commits == NULL || rep->reqs == NULL || rep->states == NULL)
		goto fail;
	rep->efd = eventfd(0, EFD_CLOEXEC);
	/* Watched edge-triggered by the net driver: written, never read. */
	rep->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rep->efd < 0 || rep->wake_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = -pthread_create(&rep->ctl_thread, NULL, ctl_main, rep);
	if (rc != 0)
		goto fail;
	pthread_setname_np(rep->ctl_thread, "tern-ctl");
	rep->ctl_started = true;

	rc = dp_start(rep);
	if (rc != 0)
		goto fail;
	while (__atomic_load_n(&rep->sh.open_done, __ATOMIC_ACQUIRE) == 0)
		futex_wait(&rep->sh.open_done, 0, NULL);
	rc = rep->sh.open_rc;
	if (rc != 0) {
		dp_join(rep);
		goto fail;
	}
	*out = rep;
	return 0;
fail:
	ctl_stop(rep);
	rep_free(rep);
	return rc;
}

int
tern_rep_close(struct tern_rep *rep)
{
	int rc;

	if (rep == NULL)
		return 0;
	__atomic_store_n(&rep->sh.closing, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&rep->sh.stop, 1, __ATOMIC_RELEASE);
	dp_join(rep);
	rc = rep->dp.close_rc;
	if (!rep->dp.posted_any || rep->dp.last_posted != TERN_NODE_SHUTDOWN)
		state_post(rep, TERN_NODE_SHUTDOWN, TERN_WIRE_NODE_ALL,
			   __atomic_load_n(&rep->sh.cur_term, __ATOMIC_RELAXED));
	ctl_stop(rep);
	rep_free(rep);
	return rc;
}

/* ---- commits (application threads) ---- */

void
tern_rep_txn_init(const struct tern_rep *rep, struct tern_rep_txn *t, const void *data,
		  uint32_t len)
{
	memset(t, 0, sizeof(*t));
	t->data = data;
	t->len = len;
	t->type = TERN_LOG_TYPE_USER;
	t->dur = rep->o.durability;
}

int
tern_rep_submit_burst(struct tern_rep *rep, struct tern_rep_txn *const *t, unsigned int n)
{
	uint32_t old[TERN_REP_SUBMIT_BURST_MAX];
	unsigned int k, q, i;
	uint64_t now;
	int rc;

	n = TERN_MIN(n, TERN_REP_SUBMIT_BURST_MAX);
	for (k = 0; k < n; k++) {
		old[k] = __atomic_load_n(&t[k]->state, __ATOMIC_ACQUIRE);
		if (old[k] != TERN_REP_TXN_IDLE && old[k] != TERN_REP_TXN_DONE)
			break;
	}
	if (k == 0)
		return n == 0 ? 0 : -EBUSY;
	__atomic_fetch_add(&rep->app.submitters, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&rep->sh.closing, __ATOMIC_SEQ_CST)) {
		rc = -TERN_ECLOSED;
		goto out;
	}
	now = rep_now(rep);
	for (i = 0; i < k; i++) {
		t[i]->err = 0;
		t[i]->done.t_submit_ns = now;
		__atomic_store_n(&t[i]->state, TERN_REP_TXN_QUEUED, __ATOMIC_RELAXED);
	}
	/* The ring's enqueue publishes the txns (release) to the datapath: one CAS a burst. */
	q = rte_ring_mp_enqueue_burst(rep->commits, (void *const *)t, k, NULL);
	for (i = q; i < k; i++)
		__atomic_store_n(&t[i]->state, old[i], __ATOMIC_RELAXED);
	if (q == 0) {
		__atomic_fetch_add(&rep->app.ring_full, 1, __ATOMIC_RELAXED);
		rc = -EAGAIN;
		goto out;
	}
	__atomic_fetch_add(&rep->app.submitted, q, __ATOMIC_RELAXED);
	dp_kick(rep);
	rc = (int)q;
out:
	__atomic_fetch_sub(&rep->app.submitters, 1, __ATOMIC_SEQ_CST);
	return rc;
}

int
tern_rep_submit(struct tern_rep *rep, struct tern_rep_txn *t)
{
	int rc = tern_rep_submit_burst(rep, &t, 1);

	return rc < 0 ? rc : 0;
}

/* The yields of tern_rep_wait() (see REP_WAIT_SPIN_MIN_NS): true when @p t completed. */
static bool
wait_spin(struct tern_rep *rep, struct tern_rep_txn *t, uint64_t t0, uint64_t deadline)
{
	uint32_t budget = __atomic_load_n(&rep->app.wait_spin_ns, __ATOMIC_RELAXED);
	uint32_t skip = __atomic_load_n(&rep->app.wait_no_spin, __ATOMIC_RELAXED);
	uint64_t now = t0;

	if (skip > 0) {
		__atomic_store_n(&rep->app.wait_no_spin, skip - 1, __ATOMIC_RELAXED);
		return false;
	}
	while (now - t0 < budget && now < deadline) {
		uint64_t before = now;

		sched_yield();
		now = mono_ns();
		if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == TERN_REP_TXN_DONE) {
			if (now - before < REP_WAIT_OVERRUN_NS && budget < REP_WAIT_SPIN_MAX_NS)
				__atomic_store_n(&rep->app.wait_spin_ns,
						 TERN_MIN(budget * 2, REP_WAIT_SPIN_MAX_NS),
						 __ATOMIC_RELAXED);
			return true;
		}
		if (now - before >= REP_WAIT_OVERRUN_NS) {
			__atomic_store_n(&rep->app.wait_no_spin, REP_WAIT_NO_SPIN, __ATOMIC_RELAXED);
			return false;
		}
	}
	if (budget > REP_WAIT_SPIN_MIN_NS)
		__atomic_store_n(&rep->app.wait_spin_ns, TERN_MAX(budget / 2, REP_WAIT_SPIN_MIN_NS),
				 __ATOMIC_RELAXED);
	return false;
}

int
tern_rep_wait(struct tern_rep *rep, struct tern_rep_txn *t, uint64_t timeout_ns)
{
	uint64_t t0 = 0, deadline = UINT64_MAX;

	for (;;) {
		uint32_t s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
		struct timespec rel, *relp = NULL;
		uint64_t now;

		if (s == TERN_REP_TXN_DONE)
			return t->err;
		if (s == TERN_REP_TXN_IDLE)
			return -EINVAL;
		if (timeout_ns == 0)
			return -ETIMEDOUT;
		now = mono_ns();
		if (t0 == 0) {
			t0 = now;
			if (timeout_ns != TERN_TIME_NEVER)
				deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
			if (s == TERN_REP_TXN_QUEUED && wait_spin(rep, t, now, deadline))
				return t->err;
			continue;
		}
		if (now >= deadline)
			return -ETIMEDOUT;
		if (s == TERN_REP_TXN_QUEUED &&
		    !__atomic_compare_exchange_n(&t->state, &s, TERN_REP_TXN_WAITING, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		if (deadline != UINT64_MAX) {
			rel.tv_sec = (time_t)((deadline - now) / TERN_NS_PER_S);
			rel.tv_nsec = (long)((deadline - now) % TERN_NS_PER_S);
			relp = &rel;
		}
		futex_wait(&t->state, TERN_REP_TXN_WAITING, relp);
	}
}

int
tern_rep_commit(struct tern_rep *rep, const void *data, uint32_t len,
		const struct tern_durability *dur, uint64_t *vlsn)
{
	struct tern_rep_txn t;
	int rc;

	tern_rep_txn_init(rep, &t, data, len);
	if (dur != NULL)
		t.dur = *dur;
	for (;;) {
		uint32_t seq = __atomic_load_n(&rep->app.space_seq, __ATOMIC_ACQUIRE);

		rc = tern_rep_submit(rep, &t);
		if (rc != -EAGAIN)
			break;
		/* Ring full: sleep until the datapath makes room (it wakes space waiters). */
		__atomic_fetch_add(&rep->app.space_waiters, 1, __ATOMIC_SEQ_CST);
		rc = tern_rep_submit(rep, &t);
		if (rc == -EAGAIN)
			futex_wait(&rep->app.space_seq, seq, NULL);
		__atomic_fetch_sub(&rep->app.space_waiters, 1, __ATOMIC_SEQ_CST);
		if (rc != -EAGAIN)
			break;
	}
	if (rc != 0)
		return rc;
	rc = tern_rep_wait(rep, &t, TERN_TIME_NEVER);
	if (vlsn != NULL)
		*vlsn = t.done.vlsn;
	return rc;
}

/* ---- stats and dumps ---- */

static int
req_run(struct tern_rep *rep, struct rep_req *r)
{
	r->done = 0;
	if (__atomic_load_n(&rep->sh.dp_exited, __ATOMIC_SEQ_CST))
		return -TERN_ECLOSED;
	while (rte_ring_mp_enqueue(rep->reqs, r) != 0) {
		if (__atomic_load_n(&rep->sh.dp_exited, __ATOMIC_SEQ_CST))
			return -TERN_ECLOSED;
		sched_yield(); /* 64 requests queued at once: never expected */
	}
	dp_kick(rep);
	while (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) == 0) {
		struct timespec rel = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};

		futex_wait(&r->done, 0, &rel);
		if (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) == 0 &&
		    __atomic_load_n(&rep->sh.dp_exited, __ATOMIC_SEQ_CST)) {
			/* Queued after the datapath's last look: it will never be served. */
			struct timespec grace = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};

			futex_wait(&r->done, 0, &grace);
			if (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) == 0)
				return -TERN_ECLOSED;
		}
	}
	return r->rc;
}

static int
stats_get(struct tern_rep *rep, struct tern_rep_stats *st, bool reset)
{
	struct rep_req r = {.kind = REQ_STATS, .st = st, .reset_lag_max = reset};
	int rc = req_run(rep, &r);

	if (rc == -TERN_ECLOSED && r.done == 0)
		*st = rep->dp.final;
	return rc;
}

int
tern_rep_stats_get(struct tern_rep *rep, struct tern_rep_stats *st)
{
	return stats_get(rep, st, true);
}

void
tern_rep_dump(struct tern_rep *rep, FILE *f)
{
	struct tern_rep_stats st;
	struct rep_req r = {.kind = REQ_DUMP, .f = f};
	uint64_t cyc;

	stats_get(rep, &st, false); /* a dump leaves the lag peaks to the stats reader */
	cyc = st.cycles_busy + st.cycles_idle;
	fprintf(f,
		"rep.state=%s\nrep.master=%u\nrep.term=%" PRIu64 "\nrep.start_vlsn=%" PRIu64
		"\nrep.last_vlsn=%" PRIu64 "\nrep.durable_vlsn=%" PRIu64
		"\nrep.commit_vlsn=%" PRIu64 "\nrep.submitted=%" PRIu64 "\nrep.ring_full=%" PRIu64
		"\nrep.completed=%" PRIu64 "\nrep.wakes=%" PRIu64 "\nrep.passes_busy=%" PRIu64
		"\nrep.passes_idle=%" PRIu64 "\nrep.busy_pct=%.1f\nrep.yields=%" PRIu64
		"\nrep.blocks=%" PRIu64 "\nrep.lcore=%d\n",
		tern_node_state_str(st.state), st.master, st.term, st.start_vlsn, st.last_vlsn,
		st.durable_vlsn, st.commit_vlsn, st.submitted, st.ring_full, st.completed, st.wakes,
		st.passes_busy, st.passes_idle,
		cyc ? 100.0 * (double)st.cycles_busy / (double)cyc : 0.0, st.yields, st.blocks,
		st.lcore);
	req_run(rep, &r);
}

int
tern_rep_log_dump(struct tern_rep *rep, FILE *f)
{
	struct rep_req r = {.kind = REQ_LOG_DUMP, .f = f};

	return req_run(rep, &r);
}
