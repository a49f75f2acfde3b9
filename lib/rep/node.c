/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node: one member's datapath (see tern_node.h). Single-threaded, clock-free: every
 * entry point takes now_ns. Layout of this file:
 *   window    the master's in-memory window of recent entries (feeding without the log)
 *   pending   commits in flight: a fixed pool, one FIFO per durability class
 *   tx        frames staged per poll and handed to the driver in one burst
 *   master    commit intake, feeding, ACK/NAK/heartbeat-reply/syncup handling
 *   replica   syncup, the stream, ACKs and NAKs
 *   poll      rx dispatch, log events, timers
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <tern_common.h>
#include <tern_crc32c.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_heap.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "tern_node.h"

TERN_DIAG_REGISTER(rep, NOTICE);
#define NODE_DIAG(lvl, n, fmt, ...)                                                        \
	TERN_DIAG(lvl, rep, "node %u: %s(): " fmt, (unsigned int)(n)->self, __func__,      \
		  ##__VA_ARGS__)

#define NONE32 UINT32_MAX
#define CLASSES (3 * 2 * 3) /* local sync x replica durable? x ack policy */
#define DONE_BATCH 64
#define STAMPS 256  /* stage-time rings (power of 2) */
#define PROBES 24 /* syncup probes in a search's first request */
#define SYNCUP_ROUNDS_MAX 64 /* a search never needs this many (see syncup_learn) */
#define FRAMES_PER_FEEDER 8

/*
 * Entry flags, on the wire and in the log records (tern_log_entry.flags): the replica
 * sync policy a replica appends the entry with (TERN_LOG_SYNC is 0, so a record written
 * without them reads as SYNC, the safe choice).
 */
#define ENTRY_F_SYNC_MASK 0x3U

struct win_ent {
	uint64_t vlsn, term, txn_id, ts;
	uint32_t off, len;
	uint16_t type, flags;
};

struct window {
	struct win_ent *ent;
	uint32_t mask;
	uint8_t *data;
	uint32_t bytes;
	uint32_t head;	/* next data offset */
	uint64_t first; /* oldest VLSN held; first > last: empty */
	uint64_t last;
};

struct pending {
	uint64_t vlsn;
	void *cookie;
	uint64_t deadline_ns;
	uint64_t t_submit, t_assign;
	uint32_t next;
};

struct fifo {
	uint32_t head, tail;
	uint64_t min_deadline; /* earliest deadline in it (UINT64_MAX: none known) */
};

/* (vlsn, time) pairs: when a watermark first reached a VLSN, for the stage breakdown. */
struct stamps {
	uint64_t vlsn[STAMPS];
	uint64_t t[STAMPS];
	uint32_t n;    /* pushed so far */
	uint32_t hint; /* the last answer: queries mostly come in VLSN order */
};

struct member {
	uint16_t id;
	uint8_t type;
	int feeder; /* index in feeders[], -1 */
};

/*
 * A replica's search for the matchpoint, across the rounds of requests it takes: what the
 * master's answers proved so far, in the master's term @c term, about this log's range
 * [first, last] as it was when the search began.
 */
struct syncup {
	bool active;
	bool has_lo;
	uint32_t rounds; /* answers taken */
	uint64_t term;	 /* the master's term of those answers (0: none yet) */
	uint64_t first, last;
	uint64_t lo; /* highest VLSN known to agree (when has_lo) */
	uint64_t hi; /* lowest VLSN known not to (last + 1: none known) */
	struct tern_wire_syncup_req q; /* the request out: req_id == syncup_id */
};

/* A frame the replica's log could not take whole (kind 0: none). */
struct stall {
	uint16_t kind;			/* TERN_WIRE_ENTRIES or TERN_WIRE_ENTRY_FRAGMENT */
	uint16_t src;			/* the master and term it came from */
	uint64_t term;
	struct tern_wire_entries it;	/* ENTRIES: the frame's entries, from the start */
	struct tern_wire_entry entry;	/* FRAGMENT: the entry reassembled (in reasm_buf) */
};

struct tx_slot {
	uint32_t len;
	uint16_t dst;
	int16_t feeder;	     /* -1 when not entries */
	uint64_t first_vlsn; /* entries: first VLSN carried */
};

struct tern_node {
	uint16_t self;
	uint16_t master;
	uint64_t term;
	enum tern_node_state state;
	struct tern_node_opts o;
	struct member members[TERN_NET_PEERS_MAX + 1];
	unsigned int n_members;

	struct tern_log *log;
	struct tern_net *net;
	struct tern_wire_ctx wctx;

	/* Master. */
	struct tern_ack ack;
	struct tern_feeder *feeders;
	uint64_t *lag_max; /* per feeder: most VLSNs behind since it started or a reset read */
	unsigned int n_feeders;
	struct window win;
	struct pending *pend;
	uint32_t pend_free;
	uint32_t n_pending;
	bool pend_dirty;	/* an ack, a log event or a commit since the last pend_check */
	uint64_t pend_deadline; /* earliest ack deadline pending (may be early, never late) */
	struct fifo fifo[CLASSES];
	uint64_t commit_vlsn;
	uint64_t sent_high;	 /* highest VLSN sent to any replica */
	struct stamps st_local[3]; /* durable, written: from log events; [2] unused */
	struct stamps st_sent;
	struct stamps st_ack;	 /* SIMPLE_MAJORITY durable ack VLSN */
	struct stamps st_hold;	 /* the same VLSNs; t: the acking replica's hold_us, in ns */
	struct stamps st_rx;	 /* replica: the last VLSN taken from the stream */
	uint64_t rs_hold_ns;	 /* replica: arrival to durable of its durable VLSN */
	uint64_t ack_maj_last;
	uint32_t hb_seq;

	/* Replica. */
	struct tern_rstream rs;
	uint32_t syncup_id;
	uint64_t syncup_ns_last;
	bool syncup_sent;
	struct syncup sync;

	/* Completions. */
	struct tern_commit_done done[DONE_BATCH];
	unsigned int n_done;

	/* tx staging. */
	uint8_t *tx_buf; /* TERN_NET_BURST frames of mtu bytes */
	struct tx_slot tx[TERN_NET_BURST];
	unsigned int n_tx;

	uint8_t *scratch; /* one entry read from the log */
	uint32_t scratch_cap;
	struct tern_wire_reasm reasm; /* a fragmented entry coming in (replica) */
	uint8_t *reasm_buf;
	struct tern_log_entry *ents; /* append staging */

	/*
	 * rx: the last burst, frames [held_i, held_n) not yet released. A replica whose log
	 * cannot take a frame's entries (every buffer busy) keeps that frame and the rest of
	 * the burst, receives nothing more and takes it again once a write completes: the
	 * frames wait in the NIC's queue and the feeder's window, never dropped and NAKed.
	 */
	struct tern_net_dgram held[TERN_NET_BURST];
	unsigned int held_i, held_n;
	struct stall stall;

	struct tern_node_stats stats;
	uint64_t now;
};

static const char *const state_names[] = {
	[TERN_NODE_DETACHED] = "DETACHED", [TERN_NODE_UNKNOWN] = "UNKNOWN",
	[TERN_NODE_MASTER] = "MASTER",	   [TERN_NODE_REPLICA] = "REPLICA",
	[TERN_NODE_SHUTDOWN] = "SHUTDOWN",
};

const char *
tern_node_state_str(enum tern_node_state s)
{
	return (unsigned int)s < TERN_DIM(state_names) ? state_names[s] : "?";
}

void
tern_node_opts_init(struct tern_node_opts *o, size_t size)
{
	memset(o, 0, size);
	o->opts_size = size;
	o->term = 1;
	tern_log_opts_init(&o->log, sizeof(o->log));
	o->mtu = 8192;
	o->durability.local_sync = TERN_LOG_SYNC;
	o->durability.replica_sync = TERN_LOG_NO_SYNC;
	o->durability.ack_policy = TERN_ACK_SIMPLE_MAJORITY;
	o->ack_timeout_ns = 5000000000ULL;
	o->max_pending = 4096;
	o->window_entries = 65536;
	o->window_bytes = 32U << 20;
	o->syncup_ns = 20000000ULL;
	o->max_entry = 1U << 20;
	o->inflight_bytes = 2U << 20;
}

/* ---- small helpers ---- */

static struct member *
member_find(struct tern_node *n, uint16_t id)
{
	for (unsigned int i = 0; i < n->n_members; i++)
		if (n->members[i].id == id)
			return &n->members[i];
	return NULL;
}

static void
set_state(struct tern_node *n, enum tern_node_state st)
{
	if (n->state == st)
		return;
	NODE_DIAG(INFO, n, "%s -> %s (master %u, term %" PRIu64 ")", tern_node_state_str(n->state),
		  tern_node_state_str(st), n->master, n->term);
	n->state = st;
	n->stats.state_changes++;
	if (n->o.on_state != NULL)
		n->o.on_state(n->o.arg, st, n->master, n->term);
}

static void
stamp_push(struct stamps *s, uint64_t vlsn, uint64_t t)
{
	uint32_t i = s->n % STAMPS;

	if (s->n > 0 && s->vlsn[(s->n - 1) % STAMPS] >= vlsn)
		return;
	s->vlsn[i] = vlsn;
	s->t[i] = t;
	s->n++;
}

/*
 * When the watermark first reached @vlsn (the oldest stamp at or above it), or @dflt.
 * Completions ask in VLSN order, a few stamps apart: a short walk on from the last answer
 * finds it, else a binary search.
 */
static uint64_t
stamp_find(struct stamps *s, uint64_t vlsn, uint64_t dflt)
{
	uint32_t lo = s->n > STAMPS ? s->n - STAMPS : 0, hi = s->n, i = s->hint, k;

	if (lo == hi || s->vlsn[(hi - 1) % STAMPS] < vlsn)
		return dflt;
	if (i > lo && i < hi && s->vlsn[(i - 1) % STAMPS] < vlsn) {
		for (k = 0; k < 8 && s->vlsn[i % STAMPS] < vlsn; k++)
			i++; /* stops at hi - 1 at the latest: its VLSN is >= @vlsn */
		if (s->vlsn[i % STAMPS] >= vlsn) {
			s->hint = i;
			return s->t[i % STAMPS];
		}
		lo = i;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->vlsn[mid % STAMPS] < vlsn)
			lo = mid + 1;
		else
			hi = mid;
	}
	s->hint = lo;
	return s->t[lo % STAMPS];
}

/* ---- window ---- */

static void
win_reset(struct window *w, uint64_t next)
{
	w->first = next;
	w->last = next - 1;
	w->head = 0;
}

static bool
win_empty(const struct window *w)
{
	return w->first > w->last;
}

static void
win_evict(struct window *w)
{
	w->first++;
}

/* Keep @e (its payload @data) as the window's newest entry (e->vlsn == last + 1). */
static void
win_put(struct window *w, const struct tern_log_entry *e, uint16_t flags)
{
	struct win_ent *we;
	uint32_t len = e->len;

	if (w->bytes == 0 || len > w->bytes) {
		win_reset(w, e->vlsn + 1);
		return;
	}
	if (!win_empty(w) && w->last - w->first + 1 > w->mask)
		win_evict(w);
	if (w->head + len > w->bytes) {
		/* Wrap: the entries in the tail area are the oldest. */
		while (!win_empty(w) && w->ent[w->first & w->mask].off >= w->head)
			win_evict(w);
		w->head = 0;
	}
	while (!win_empty(w) && len > 0 && w->ent[w->first & w->mask].off >= w->head &&
	       w->ent[w->first & w->mask].off < w->head + len)
		win_evict(w);
	if (win_empty(w))
		w->first = e->vlsn;
	we = &w->ent[e->vlsn & w->mask];
	we->vlsn = e->vlsn;
	we->term = e->term;
	we->txn_id = e->txn_id;
	we->ts = e->timestamp_ns;
	we->type = e->type;
	we->flags = flags;
	we->len = len;
	we->off = w->head;
	if (len > 0)
		memcpy(w->data + w->head, e->data, len);
	w->head += len;
	w->last = e->vlsn;
}

/*
 * Payload bytes of VLSNs [@a, @b] as far as the window holds them (older ones count as
 * nothing: bounded by the credit anyway).
 */
static uint64_t
win_span(const struct window *w, uint64_t a, uint64_t b)
{
	const struct win_ent *x, *y;

	if (a < w->first)
		a = w->first;
	if (b > w->last)
		b = w->last;
	if (a > b)
		return 0;
	x = &w->ent[a & w->mask];
	y = &w->ent[b & w->mask];
	if (y->off >= x->off)
		return (uint64_t)y->off + y->len - x->off;
	return (uint64_t)w->bytes - x->off + y->off + y->len;
}

/* Drop entries after @vlsn (the log rewound). */
static void
win_cut(struct window *w, uint64_t vlsn)
{
	if (w->last > vlsn)
		w->last = vlsn < w->first ? w->first - 1 : vlsn;
	if (win_empty(w))
		win_reset(w, vlsn + 1);
	else
		w->head = w->ent[w->last & w->mask].off + w->ent[w->last & w->mask].len;
}

/* The log's view of a wire entry (the payload stays where it is). */
static void
entry_to_log(struct tern_log_entry *le, const struct tern_wire_entry *we)
{
	le->vlsn = we->vlsn;
	le->term = we->term;
	le->txn_id = we->txn_id;
	le->timestamp_ns = we->timestamp_ns;
	le->lsn = 0;
	le->type = we->type;
	le->flags = (uint16_t)(we->flags & ENTRY_F_SYNC_MASK);
	le->len = we->len;
	le->data = we->data;
}

/* The sync mode a replica appends an entry with: its flags' replica sync policy. */
static enum tern_log_sync
entry_sync(const struct tern_wire_entry *we)
{
	unsigned int m = we->flags & ENTRY_F_SYNC_MASK;

	return m <= TERN_LOG_NO_SYNC ? (enum tern_log_sync)m : TERN_LOG_SYNC;
}

/* The entry @vlsn for the wire: from the window, else read from the log into scratch. */
static int
entry_get(struct tern_node *n, uint64_t vlsn, struct tern_wire_entry *out)
{
	struct window *w = &n->win;
	struct tern_log_entry e;
	int rc;

	if (vlsn >= w->first && vlsn <= w->last) {
		const struct win_ent *we = &w->ent[vlsn & w->mask];

		out->vlsn = we->vlsn;
		out->term = we->term;
		out->txn_id = we->txn_id;
		out->timestamp_ns = we->ts;
		out->type = we->type;
		out->flags = we->flags;
		out->len = we->len;
		out->data = w->data + we->off;
		return 0;
	}
	rc = tern_log_read(n->log, vlsn, &e, n->scratch, n->scratch_cap);
	if (rc < 0)
		return rc;
	n->stats.window_misses++;
	out->vlsn = e.vlsn;
	out->term = e.term;
	out->txn_id = e.txn_id;
	out->timestamp_ns = e.timestamp_ns;
	out->type = e.type;
	out->flags = e.flags & ENTRY_F_SYNC_MASK; /* its replica sync policy, kept in the log */
	out->len = e.len;
	out->data = e.data;
	return 0;
}

/* Term of @vlsn in the local log (0 for VLSN 0); -ENOENT when absent. */
static int
term_at(struct tern_node *n, uint64_t vlsn, uint64_t *term)
{
	struct tern_wire_entry e;
	int rc;

	if (vlsn == 0) {
		*term = 0;
		return 0;
	}
	if (vlsn > tern_log_last_vlsn(n->log) || vlsn < tern_log_first_vlsn(n->log))
		return -ENOENT;
	rc = entry_get(n, vlsn, &e);
	if (rc == 0)
		*term = e.term;
	return rc;
}

/* ---- tx ---- */

static uint8_t *
tx_frame(struct tern_node *n, unsigned int i)
{
	return n->tx_buf + (size_t)i * n->o.mtu;
}

static void
tx_flush(struct tern_node *n)
{
	struct tern_net_dgram d[TERN_NET_BURST];
	unsigned int i, sent;

	if (n->n_tx == 0)
		return;
	for (i = 0; i < n->n_tx; i++) {
		d[i].data = tx_frame(n, i);
		d[i].len = n->tx[i].len;
		d[i].peer = n->tx[i].dst;
		d[i].queue = n->o.queue;
		d[i].priv = NULL;
	}
	sent = tern_net_tx_burst(n->net, n->o.queue, d, n->n_tx);
	n->stats.frames_tx += sent;
	for (i = sent; i < n->n_tx; i++) {
		n->stats.tx_dropped++;
		/* Entries the driver did not take: let the feeder send them again. */
		if (n->tx[i].feeder >= 0)
			tern_feeder_on_nak(&n->feeders[n->tx[i].feeder], n->tx[i].first_vlsn,
					   n->tx[i].first_vlsn, n->now);
	}
	n->n_tx = 0;
}

/* A frame buffer for the next message (payload at +TERN_WIRE_HDR_LEN). */
static uint8_t *
tx_begin(struct tern_node *n)
{
	if (n->n_tx == TERN_NET_BURST)
		tx_flush(n);
	return tx_frame(n, n->n_tx);
}

static void
tx_commit(struct tern_node *n, uint8_t type, uint8_t flags, uint16_t dst, int len, int feeder,
	  uint64_t first_vlsn)
{
	struct tx_slot *s = &n->tx[n->n_tx];

	if (TERN_NEVER(len < 0))
		return;
	s->len = tern_wire_seal_flags(&n->wctx, tx_frame(n, n->n_tx), type, flags, dst, n->term,
				      (uint32_t)len);
	s->dst = dst;
	s->feeder = (int16_t)feeder;
	s->first_vlsn = first_vlsn;
	n->n_tx++;
}

static uint32_t
tx_cap(const struct tern_node *n)
{
	return n->o.mtu - TERN_WIRE_HDR_LEN;
}

/* ---- completions ---- */

static void
done_flush(struct tern_node *n)
{
	if (n->n_done == 0)
		return;
	if (n->o.on_done != NULL)
		n->o.on_done(n->o.arg, n->done, n->n_done);
	n->n_done = 0;
}

static struct tern_commit_done *
done_slot(struct tern_node *n)
{
	struct tern_commit_done *d;

	if (n->n_done == DONE_BATCH)
		done_flush(n);
	d = &n->done[n->n_done++];
	memset(d, 0, sizeof(*d));
	d->t_done_ns = n->now;
	d->master = n->master;
	return d;
}

static void
fail_now(struct tern_node *n, const struct tern_commit *c, int err)
{
	struct tern_commit_done *d = done_slot(n);

	d->cookie = c->cookie;
	d->err = err;
	d->t_submit_ns = c->t_submit_ns != 0 ? c->t_submit_ns : n->now;
	n->stats.commits_failed++;
}

static unsigned int
cls_of(const struct tern_durability *d)
{
	return (unsigned int)d->local_sync * 6 + (d->replica_sync == TERN_LOG_SYNC ? 3 : 0) +
	       d->ack_policy;
}

static void
cls_split(unsigned int cls, unsigned int *local, bool *durable, enum tern_ack_policy *policy)
{
	*local = cls / 6;
	*durable = (cls / 3) % 2 == 1;
	*policy = (enum tern_ack_policy)(cls % 3);
}

static struct pending *
pend_at(struct tern_node *n, uint32_t i)
{
	return &n->pend[i];
}

/*
 * Complete the commit after @prev in FIFO @cls (its head when @prev is NONE32) with @err,
 * unlink it and return it to the pool.
 */
static void
pend_complete(struct tern_node *n, unsigned int cls, uint32_t prev, int err)
{
	struct fifo *f = &n->fifo[cls];
	uint32_t i = prev == NONE32 ? f->head : pend_at(n, prev)->next;
	struct pending *p = pend_at(n, i);
	struct tern_commit_done *d = done_slot(n);
	unsigned int local;
	bool durable;
	enum tern_ack_policy policy;

	cls_split(cls, &local, &durable, &policy);
	d->cookie = p->cookie;
	d->vlsn = p->vlsn;
	d->err = err;
	d->acks_needed = (uint8_t)tern_ack_needed(&n->ack, policy);
	d->acks_received = (uint8_t)tern_ack_count(&n->ack, p->vlsn, durable);
	d->t_submit_ns = p->t_submit;
	d->t_assign_ns = p->t_assign;
	/*
	 * Stamps are pass times: a stage seen in the pass that assigned the VLSN may carry
	 * an earlier time than the assignment (clamped so the stages stay in order).
	 */
	d->t_local_ns = local == TERN_LOG_NO_SYNC
				? p->t_assign
				: TERN_MAX(stamp_find(&n->st_local[local], p->vlsn, n->now),
					   p->t_assign);
	if (d->acks_needed > 0) {
		d->t_sent_ns = TERN_MAX(stamp_find(&n->st_sent, p->vlsn, n->now), p->t_assign);
		d->t_acked_ns = policy == TERN_ACK_SIMPLE_MAJORITY && durable
					? stamp_find(&n->st_ack, p->vlsn, n->now)
					: n->now;
		d->t_acked_ns = TERN_MAX(d->t_acked_ns, d->t_sent_ns);
		d->replica_hold_ns = policy == TERN_ACK_SIMPLE_MAJORITY && durable
					     ? stamp_find(&n->st_hold, p->vlsn, 0)
					     : 0;
	} else {
		d->t_acked_ns = p->t_assign;
	}
	if (err == 0) {
		n->stats.commits_ok++;
		if (p->vlsn > n->commit_vlsn)
			n->commit_vlsn = p->vlsn;
	} else {
		n->stats.commits_failed++;
		if (err == -TERN_EACKS)
			n->stats.acks_timeouts++;
	}
	if (prev == NONE32)
		f->head = p->next;
	else
		pend_at(n, prev)->next = p->next;
	if (f->tail == i)
		f->tail = prev;
	if (f->head == NONE32)
		f->tail = NONE32;
	p->next = n->pend_free;
	n->pend_free = i;
	n->n_pending--;
}

/*
 * A commit behind the head whose own (shorter) timeout passed: fail it with insufficient
 * acks now, out of order. Runs only when some deadline in the FIFO is due.
 */
static int
pend_expire(struct tern_node *n, unsigned int c, uint64_t local_vlsn)
{
	struct fifo *f = &n->fifo[c];
	uint32_t prev = NONE32, i = f->head;
	uint64_t min = UINT64_MAX;
	int busy = 0;

	while (i != NONE32) {
		struct pending *p = pend_at(n, i);
		uint32_t nx = p->next;

		if (p->vlsn <= local_vlsn && n->now >= p->deadline_ns) {
			pend_complete(n, c, prev, -TERN_EACKS);
			busy = 1;
		} else {
			min = TERN_MIN(min, p->deadline_ns);
			prev = i;
		}
		i = nx;
	}
	f->min_deadline = min;
	return busy;
}

/* Complete every commit whose durability holds, and those past their deadline. */
static int
pend_check(struct tern_node *n)
{
	uint64_t local_vlsn[3];
	int busy = 0;

	if (n->n_pending == 0)
		return 0;
	/* Nothing a commit waits for has moved, and no deadline is due: nothing to do. */
	if (!n->pend_dirty && n->now < n->pend_deadline)
		return 0;
	n->pend_dirty = false;
	n->pend_deadline = UINT64_MAX;
	local_vlsn[TERN_LOG_SYNC] = tern_log_durable_vlsn(n->log);
	local_vlsn[TERN_LOG_WRITE_NO_SYNC] = tern_log_written_vlsn(n->log);
	local_vlsn[TERN_LOG_NO_SYNC] = tern_log_last_vlsn(n->log);
	for (unsigned int c = 0; c < CLASSES; c++) {
		struct fifo *f = &n->fifo[c];
		unsigned int local;
		bool durable;
		enum tern_ack_policy policy;
		uint64_t ack_vlsn;

		if (f->head == NONE32)
			continue;
		cls_split(c, &local, &durable, &policy);
		ack_vlsn = tern_ack_vlsn(&n->ack, policy, durable);
		while (f->head != NONE32) {
			struct pending *p = pend_at(n, f->head);
			bool local_ok = p->vlsn <= local_vlsn[local];

			/* DESIGN.md 5: a commit returns when its durability holds ... */
			if (local_ok && p->vlsn <= ack_vlsn) {
				pend_complete(n, c, NONE32, 0);
			} else if (local_ok && n->now >= p->deadline_ns) {
				/* ... else, once the ack timeout passed, with insufficient acks
				 * (JE's InsufficientAcksException: the entry stays committed
				 * locally and keeps replicating). */
				pend_complete(n, c, NONE32, -TERN_EACKS);
			} else {
				break;
			}
			busy = 1;
		}
		if (n->now >= f->min_deadline)
			busy |= pend_expire(n, c, local_vlsn[local]);
		if (f->head == NONE32)
			f->min_deadline = UINT64_MAX;
		n->pend_deadline = TERN_MIN(n->pend_deadline, f->min_deadline);
	}
	return busy;
}

/* Fail every pending commit with VLSN in [first, last] (the log did not keep them). */
static void
pend_fail_range(struct tern_node *n, uint64_t first, uint64_t last, int err)
{
	for (unsigned int c = 0; c < CLASSES; c++) {
		uint32_t prev = NONE32, i = n->fifo[c].head;

		while (i != NONE32) {
			struct pending *p = pend_at(n, i);
			uint32_t nx = p->next;

			if (p->vlsn >= first && p->vlsn <= last)
				pend_complete(n, c, prev, err);
			else
				prev = i;
			i = nx;
		}
	}
}

static void
pend_fail_all(struct tern_node *n, int err)
{
	for (unsigned int c = 0; c < CLASSES; c++)
		while (n->fifo[c].head != NONE32)
			pend_complete(n, c, NONE32, err);
}

/* ---- the term file: a master never reuses a term, even after a crash ---- */

#define TERM_FILE "term"
#define TERM_TMP "term.tmp"
#define TERM_MAGIC 0x4d524554U /* "TERM" */

struct term_rec {
	uint32_t magic;
	uint32_t crc; /* of term */
	uint64_t term;
};

/* The highest term this node was master of (0: none or unreadable, with a diag). */
static uint64_t
term_load(struct tern_node *n)
{
	struct tern_io *io = n->o.log.io;
	struct term_rec r;
	ssize_t got;
	int fh, rc;

	rc = tern_io_open(io, TERM_FILE, TERN_IO_RDONLY, &fh);
	if (rc != 0)
		return 0;
	got = tern_io_read(io, fh, &r, sizeof(r), 0);
	tern_io_close(io, fh);
	if (got != (ssize_t)sizeof(r) || r.magic != TERM_MAGIC ||
	    r.crc != tern_crc32c(&r.term, sizeof(r.term))) {
		NODE_DIAG(ERR, n, "file %s is damaged: the term comes from the log alone",
			  TERM_FILE);
		return 0;
	}
	return r.term;
}

/* Make @term durable before any frame carries it (write, fdatasync, rename). */
static int
term_store(struct tern_node *n, uint64_t term)
{
	struct tern_io *io = n->o.log.io;
	struct term_rec r = {.magic = TERM_MAGIC, .term = term};
	int fh, rc;

	r.crc = tern_crc32c(&r.term, sizeof(r.term));
	rc = tern_io_open(io, TERM_TMP, TERN_IO_CREATE, &fh);
	if (rc != 0)
		return rc;
	rc = tern_io_write(io, fh, &r, sizeof(r), 0);
	if (rc == 0)
		rc = tern_io_sync(io, fh);
	tern_io_close(io, fh);
	if (rc == 0)
		rc = tern_io_rename(io, TERM_TMP, TERM_FILE);
	if (rc != 0)
		NODE_DIAG(ERR, n, "cannot persist term %" PRIu64 " in %s: %s", term, TERM_FILE,
			  tern_strerror(rc));
	return rc;
}

/* ---- master ---- */

static struct tern_feeder *
feeder_of(struct tern_node *n, uint16_t id)
{
	struct member *m = member_find(n, id);

	return m != NULL && m->feeder >= 0 ? &n->feeders[m->feeder] : NULL;
}

/*
 * How far @p f's replica is behind this master's log, in VLSNs; 0 until it synced up
 * (its position is unknown then, and it is reported as not streaming).
 */
static uint64_t
lag_of(const struct tern_node *n, const struct tern_feeder *f)
{
	uint64_t last = tern_log_last_vlsn(n->log);

	return f->started && last > f->received_vlsn ? last - f->received_vlsn : 0;
}

static void
lag_note(struct tern_node *n, const struct tern_feeder *f)
{
	uint64_t *m = &n->lag_max[f - n->feeders];
	uint64_t lag = lag_of(n, f);

	if (lag > *m)
		*m = lag;
}

static int
master_start(struct tern_node *n)
{
	uint16_t electable[TERN_ACK_NODES_MAX];
	unsigned int ne = 0;
	uint64_t last_term = TERN_MAX(tern_log_last_term(n->log), term_load(n));
	int rc;

	/*
	 * A master never reuses a term: max(configured, last logged + 1, last mastered + 1),
	 * made durable before any frame carries it (a master that crashed before anything
	 * of its term reached its disk must not hand out the same (VLSN, term) twice).
	 */
	if (n->term <= last_term)
		n->term = last_term + 1;
	rc = term_store(n, n->term);
	if (rc != 0)
		return rc;
	n->master = n->self;
	for (unsigned int i = 0; i < n->n_members; i++)
		if (n->members[i].type == TERN_WIRE_NODE_ELECTABLE && ne < TERN_ACK_NODES_MAX)
			electable[ne++] = n->members[i].id;
	tern_ack_init(&n->ack, n->self, electable, ne);
	for (unsigned int i = 0; i < n->n_feeders; i++)
		tern_feeder_init(&n->feeders[i], n->feeders[i].replica, &n->o.feeder, n->now);
	win_reset(&n->win, tern_log_last_vlsn(n->log) + 1);
	n->commit_vlsn = 0;
	set_state(n, TERN_NODE_MASTER);
	return 0;
}

/* The local log lost records first..: a new term, so no VLSN is ever reused in one term. */
static void
master_rewind(struct tern_node *n)
{
	uint64_t last = tern_log_last_vlsn(n->log);

	win_cut(&n->win, last);
	n->term++;
	if (term_store(n, n->term) != 0)
		NODE_DIAG(ERR, n, "term %" PRIu64 " is not durable: a crash now may reuse it",
			  n->term);
	NODE_DIAG(WARNING, n, "log rewound to VLSN %" PRIu64 ": new term %" PRIu64
		  ", replicas sync up again", last, n->term);
	for (unsigned int i = 0; i < n->n_feeders; i++)
		tern_feeder_init(&n->feeders[i], n->feeders[i].replica, &n->o.feeder, n->now);
	for (unsigned int i = 0; i < n->n_members; i++)
		if (n->members[i].id != n->self)
			tern_ack_reset(&n->ack, n->members[i].id, 0, 0);
	if (n->o.on_state != NULL)
		n->o.on_state(n->o.arg, n->state, n->master, n->term);
}

/* Why commit @c cannot be taken (a negative error), or 0. */
static int
commit_refused(const struct tern_node *n, const struct tern_commit *c)
{
	const struct tern_durability *d = &c->dur;

	if (n->state != TERN_NODE_MASTER)
		return n->state == TERN_NODE_SHUTDOWN ? -TERN_ECLOSED : -TERN_ENOTMASTER;
	if (d->local_sync > TERN_LOG_NO_SYNC || d->replica_sync > TERN_LOG_NO_SYNC ||
	    d->ack_policy > TERN_ACK_NONE || c->type < TERN_LOG_TYPE_USER)
		return -EINVAL;
	if (c->len > n->scratch_cap)
		return -E2BIG;
	return 0;
}

unsigned int
tern_node_commit(struct tern_node *n, const struct tern_commit *c, unsigned int cnt,
		 uint64_t now_ns)
{
	unsigned int taken = 0;

	n->now = now_ns;
	while (taken < cnt) {
		const struct tern_commit *r = &c[taken];
		const struct tern_durability *d = &r->dur;
		struct tern_log_entry *e = n->ents;
		uint64_t next = tern_log_last_vlsn(n->log) + 1;
		unsigned int k = 0, i, got;
		int rc;

		rc = commit_refused(n, r);
		if (rc != 0) {
			fail_now(n, r, rc);
			taken++;
			continue;
		}
		/* A run of valid commits with the same local sync policy goes in one append. */
		while (taken + k < cnt && k < DONE_BATCH && n->n_pending + k < n->o.max_pending) {
			const struct tern_commit *q = &c[taken + k];

			if (q->dur.local_sync != d->local_sync || commit_refused(n, q) != 0)
				break;
			e[k].vlsn = next + k;
			e[k].term = n->term;
			e[k].txn_id = q->txn_id;
			e[k].timestamp_ns = q->timestamp_ns;
			e[k].lsn = 0;
			e[k].type = q->type;
			e[k].flags = (uint16_t)(q->dur.replica_sync & ENTRY_F_SYNC_MASK);
			e[k].len = q->len;
			e[k].data = q->data;
			k++;
		}
		if (k == 0)
			break; /* max_pending commits in flight */
		rc = tern_log_append(n->log, e, k, (enum tern_log_sync)d->local_sync);
		/* On an error the log may still have taken a prefix: those are in the log. */
		got = rc >= 0 ? (unsigned int)rc
			      : (unsigned int)(tern_log_last_vlsn(n->log) - (next - 1));
		for (i = 0; i < got; i++) {
			const struct tern_commit *q = &c[taken + i];
			uint32_t pi = n->pend_free;
			struct pending *p = pend_at(n, pi);
			unsigned int cls = cls_of(&q->dur);
			struct fifo *f = &n->fifo[cls];
			uint64_t tmo;

			win_put(&n->win, &e[i], q->dur.replica_sync);
			n->pend_free = p->next;
			p->vlsn = e[i].vlsn;
			p->cookie = q->cookie;
			p->t_submit = q->t_submit_ns != 0 ? q->t_submit_ns : now_ns;
			/* The caller's now may predate a submission it picked up in this pass. */
			p->t_assign = TERN_MAX(now_ns, p->t_submit);
			tmo = q->timeout_ns != 0 ? q->timeout_ns : n->o.ack_timeout_ns;
			/* TERN_TIME_NEVER (or a timeout past the clock's end) never passes. */
			p->deadline_ns = tmo > UINT64_MAX - p->t_submit ? UINT64_MAX
									  : p->t_submit + tmo;
			p->next = NONE32;
			if (f->tail == NONE32)
				f->head = pi;
			else
				pend_at(n, f->tail)->next = pi;
			f->tail = pi;
			if (p->deadline_ns < f->min_deadline)
				f->min_deadline = p->deadline_ns;
			if (p->deadline_ns < n->pend_deadline)
				n->pend_deadline = p->deadline_ns;
			n->n_pending++;
			n->pend_dirty = true;
		}
		n->stats.commits += got;
		taken += got;
		if (rc < 0) {
			fail_now(n, &c[taken], rc);
			taken++;
			continue;
		}
		if (got < k)
			break; /* the log's buffers are full */
	}
	pend_check(n);
	done_flush(n);
	return taken;
}

/* Send entry @e, too large for one frame, as ENTRY_FRAGMENT frames (DESIGN.md 3). */
static unsigned int
feed_fragments(struct tern_node *n, struct tern_feeder *f, int fi, const struct tern_wire_entry *e)
{
	unsigned int frames = 0;

	uint32_t piece = tx_cap(n) - TERN_WIRE_FRAGMENT_HDR_LEN;
	struct tern_wire_fragment fr = {
		.vlsn = e->vlsn,
		.term = e->term,
		.txn_id = e->txn_id,
		.timestamp_ns = e->timestamp_ns,
		.type = e->type,
		.flags = e->flags,
		.total_len = e->len,
	};

	for (uint32_t off = 0; off < e->len; off += piece) {
		uint8_t *buf = tx_begin(n);

		fr.offset = off;
		fr.len = TERN_MIN(piece, e->len - off);
		fr.data = (const uint8_t *)e->data + off;
		tx_commit(n, TERN_WIRE_ENTRY_FRAGMENT, 0, f->replica,
			  tern_wire_fragment_encode(buf + TERN_WIRE_HDR_LEN, tx_cap(n), &fr), fi,
			  e->vlsn);
		frames++;
	}
	return frames;
}

/* Send what each feeder's window allows, as ENTRIES frames. */
static int
master_feed(struct tern_node *n)
{
	uint64_t last = tern_log_last_vlsn(n->log);
	uint64_t readable = tern_log_written_vlsn(n->log);
	int busy = 0;

	for (unsigned int fi = 0; fi < n->n_feeders; fi++) {
		struct tern_feeder *f = &n->feeders[fi];
		uint64_t first, lim;

		for (unsigned int frames = 0; frames < FRAMES_PER_FEEDER; frames++) {
			struct tern_wire_entries_enc enc;
			struct tern_wire_entry e;
			uint64_t v;
			uint8_t *buf;
			int len;

			if (!f->started || !tern_feeder_next(f, last, n->now, &first, &lim))
				break;
			if (win_span(&n->win, f->received_vlsn + 1, first - 1) >=
			    n->o.inflight_bytes)
				break; /* enough bytes on their way (the credit counts entries) */
			buf = tx_begin(n);
			if (tern_wire_entries_begin(&enc, buf + TERN_WIRE_HDR_LEN, tx_cap(n),
						    n->commit_vlsn) != 0)
				break;
			for (v = first; v <= lim; v++) {
				/* Past the window, only written records can be read back. */
				if ((v < n->win.first || v > n->win.last) && v > readable)
					break;
				if (entry_get(n, v, &e) != 0)
					break;
				if (tern_wire_entries_add(&enc, &e) != 0)
					break;
			}
			if (v == first && v <= lim && entry_get(n, v, &e) == 0 &&
			    ((v >= n->win.first && v <= n->win.last) || v <= readable)) {
				/* An entry larger than a frame goes as fragments. */
				frames += feed_fragments(n, f, (int)fi, &e);
				tern_feeder_sent(f, v, n->now);
				v++;
				goto sent;
			}
			if (v == first)
				break;
			len = tern_wire_entries_finish(&enc);
			tx_commit(n, TERN_WIRE_ENTRIES, 0, f->replica, len, (int)fi, first);
			tern_feeder_sent(f, v - 1, n->now);
sent:
			if (v - 1 > n->sent_high) {
				n->sent_high = v - 1;
				stamp_push(&n->st_sent, v - 1, n->now);
			}
			busy = 1;
		}
		if (tern_feeder_heartbeat_due(f, n->now)) {
			struct tern_wire_heartbeat hb = {
				.commit_vlsn = TERN_MIN(n->commit_vlsn, last),
				.last_vlsn = last,
				.timestamp_ns = n->now,
				.seq = ++n->hb_seq,
			};
			uint8_t *buf = tx_begin(n);

			tx_commit(n, TERN_WIRE_HEARTBEAT, 0, f->replica,
				  tern_wire_heartbeat_encode(buf + TERN_WIRE_HDR_LEN, tx_cap(n),
							     &hb),
				  -1, 0);
			tern_feeder_heartbeat_sent(f, n->now);
		}
	}
	return busy;
}

static void
master_ack(struct tern_node *n, uint16_t src, uint64_t received, uint64_t durable,
	   uint32_t credit, bool has_credit, uint32_t hold_us)
{
	struct tern_feeder *f = feeder_of(n, src);
	uint64_t maj;

	if (f == NULL)
		return;
	if (!f->started)
		return; /* not synced up yet: its VLSNs may be from a diverged log */
	/*
	 * Lag grows with the log and shrinks only at an ACK: its peak is just before one
	 * (or at a read, tern_node_replicas_get).
	 */
	lag_note(n, f);
	tern_feeder_on_ack(f, received, durable, has_credit ? credit : f->credit, n->now);
	/* Never count beyond what this master sent: a replica's own tail is not an ack. */
	received = TERN_MIN(received, f->high_vlsn);
	durable = TERN_MIN(durable, received);
	tern_ack_record(&n->ack, src, received, durable);
	n->pend_dirty = true;
	maj = tern_ack_vlsn(&n->ack, TERN_ACK_SIMPLE_MAJORITY, true);
	if (maj != UINT64_MAX && maj > n->ack_maj_last) {
		n->ack_maj_last = maj;
		stamp_push(&n->st_ack, maj, n->now);
		stamp_push(&n->st_hold, maj, (uint64_t)hold_us * 1000);
	}
}

/*
 * DESIGN.md 5, syncup: the matchpoint is the highest VLSN whose term agrees. The answer is
 * the highest probe this log has with the same term (the VLSNs below a VLSN that agrees
 * agree too: a (VLSN, term) pair names one entry and the entries before it); when none
 * matches and the probes reached the replica's first VLSN, what is before that.
 *
 * The replica narrows the search in rounds (replica_send_syncup): a MATCH below a probe
 * that did not match, with VLSNs between the two that this log has, is not the matchpoint
 * yet and the replica asks again. Only an answer that closes the search (the VLSN above
 * the match was probed, or is past either log's end) restarts the replica's feeder, so a
 * round of a search, or one that arrives late, never rewinds a stream to a VLSN below
 * the matchpoint.
 */
static void
master_syncup(struct tern_node *n, uint16_t src, const struct tern_wire_syncup_req *q)
{
	struct tern_wire_syncup_reply r = {.req_id = q->req_id};
	struct tern_feeder *f = feeder_of(n, src);
	uint64_t first = tern_log_first_vlsn(n->log);
	bool exact = true;
	uint8_t *buf;

	r.last_vlsn = tern_log_last_vlsn(n->log);
	r.first_vlsn = r.last_vlsn >= first ? first : 0; /* 0, 0: an empty log */
	r.commit_vlsn = TERN_MIN(n->commit_vlsn, r.last_vlsn);
	r.status = TERN_WIRE_SYNCUP_PROBE_OLDER;
	if (f == NULL)
		return;
	for (unsigned int i = 0; i < q->n; i++) {
		uint64_t t;

		if (q->probe[i].vlsn > r.last_vlsn)
			continue;
		if (term_at(n, q->probe[i].vlsn, &t) != 0 || t != q->probe[i].term)
			continue;
		r.match_vlsn = q->probe[i].vlsn;
		r.match_term = t;
		r.status = TERN_WIRE_SYNCUP_MATCH;
		/* The same rule as syncup_learn(): VLSNs between this and the probe above. */
		exact = i == 0 || q->probe[i - 1].vlsn == r.match_vlsn + 1 ||
			r.match_vlsn == r.last_vlsn;
		break;
	}
	if (r.status != TERN_WIRE_SYNCUP_MATCH &&
	    (q->n == 0 || q->probe[q->n - 1].vlsn == q->first_vlsn)) {
		/* Nothing matched down to the replica's first VLSN: what is before it. */
		uint64_t t;

		r.match_vlsn = q->first_vlsn > 0 ? q->first_vlsn - 1 : 0;
		if (term_at(n, r.match_vlsn, &t) == 0) {
			r.match_term = t;
			r.status = TERN_WIRE_SYNCUP_MATCH;
		}
	}
	if (r.status == TERN_WIRE_SYNCUP_MATCH && r.match_vlsn + 1 < first)
		r.status = TERN_WIRE_SYNCUP_NEEDS_RESTORE;
	if (r.status == TERN_WIRE_SYNCUP_MATCH && exact) {
		/* Stream from the matchpoint on (never from VLSN 0 unless nothing matched). */
		tern_feeder_init(f, src, &n->o.feeder, n->now);
		tern_feeder_start(f, r.match_vlsn + 1, n->now);
		n->lag_max[f - n->feeders] = lag_of(n, f);
		tern_ack_reset(&n->ack, src, r.match_vlsn, 0);
		n->stats.syncups++;
	}
	buf = tx_begin(n);
	tx_commit(n, TERN_WIRE_SYNCUP_REPLY, 0, src,
		  tern_wire_syncup_reply_encode(buf + TERN_WIRE_HDR_LEN, tx_cap(n), &r), -1, 0);
}

static void
master_rx(struct tern_node *n, const struct tern_wire_hdr *h, const struct tern_wire_msg *m)
{
	struct tern_feeder *f;

	if (h->type == TERN_WIRE_SYNCUP_REQ) {
		master_syncup(n, h->src, &m->u.syncup_req);
		return;
	}
	if (h->term != n->term) {
		/* Reports about another term's stream say nothing about this one. */
		tern_wire_count(&n->wctx, TERN_WIRE_REJ_STALE_TERM);
		return;
	}
	switch (h->type) {
	case TERN_WIRE_ACK:
		master_ack(n, h->src, m->u.ack.received_vlsn, m->u.ack.durable_vlsn,
			   m->u.ack.credit, true, m->u.ack.hold_us);
		break;
	case TERN_WIRE_NAK:
		f = feeder_of(n, h->src);
		if (f != NULL && f->started)
			for (unsigned int i = 0; i < m->u.nak.n; i++)
				tern_feeder_on_nak(f, m->u.nak.range[i].first,
						   m->u.nak.range[i].last, n->now);
		break;
	case TERN_WIRE_HEARTBEAT_REPLY:
		master_ack(n, h->src, m->u.heartbeat_reply.received_vlsn,
			   m->u.heartbeat_reply.durable_vlsn, 0, false, 0);
		break;
	default:
		break;
	}
}

/* ---- replica ---- */

/* Most probes one request can carry within the mtu. */
static unsigned int
syncup_probes_max(const struct tern_node *n)
{
	uint32_t fit = (tx_cap(n) - TERN_WIRE_SYNCUP_REQ_HDR_LEN) / TERN_WIRE_SYNCUP_PROBE_LEN;

	return TERN_MIN(fit, (uint32_t)TERN_WIRE_SYNCUP_PROBES_MAX);
}

/* Begin a search over the log's range as it is now: nothing known yet. */
static void
syncup_begin(struct tern_node *n, uint64_t first, uint64_t last)
{
	struct syncup *s = &n->sync;

	memset(s, 0, sizeof(*s));
	s->active = true;
	s->first = first;
	s->last = last;
	s->hi = last + 1;
}

/* Add @v with its term to @q, unless it cannot be read. */
static void
syncup_probe(struct tern_node *n, struct tern_wire_syncup_req *q, uint64_t v)
{
	uint64_t t;

	if (q->n < TERN_WIRE_SYNCUP_PROBES_MAX && term_at(n, v, &t) == 0) {
		q->probe[q->n].vlsn = v;
		q->probe[q->n].term = t;
		q->n++;
	}
}

/*
 * First round: the last VLSN, then exponentially older ones, down to the first: when none
 * matches, the master answers first - 1 (VLSN 0 for a log from the start).
 */
static void
syncup_probes_first(struct tern_node *n, struct tern_wire_syncup_req *q, uint64_t first,
		    uint64_t last)
{
	uint64_t step = 1, v = last;

	while (v >= first && v > 0 && q->n < PROBES - 1) {
		unsigned int had = q->n;

		syncup_probe(n, q, v);
		if (q->n == had)
			break;
		if (v - first < step)
			break;
		v -= step;
		step *= 2;
	}
	if (last >= first && first > 0 && (q->n == 0 || q->probe[q->n - 1].vlsn != first))
		syncup_probe(n, q, first);
}

/*
 * Later rounds: the VLSNs between lo (known to agree, or first - 1 when not known yet) and
 * hi (known not to), all of them when they fit, else spread evenly from hi - 1 down to
 * lo + 1, so each answer leaves at most a slot's width; then lo itself, which the master
 * must match again (the answer then says the matchpoint is lo).
 */
static void
syncup_probes_between(struct tern_node *n, struct tern_wire_syncup_req *q)
{
	const struct syncup *s = &n->sync;
	bool anchor = s->has_lo && s->lo >= s->first && s->lo > 0;
	unsigned int slots = syncup_probes_max(n) - (anchor ? 1 : 0), i;
	uint64_t a = s->has_lo ? s->lo + 1 : s->first, b = s->hi - 1, v, step;

	if (a == 0)
		a = 1;
	if (a > b)
		return;
	if (b - a < slots) {
		for (v = b; v >= a; v--)
			syncup_probe(n, q, v);
	} else {
		/* b - a >= slots: step >= 1, and b - (slots - 2) * step > a. */
		step = (b - a) / (slots - 1);
		for (i = 0; i + 1 < slots; i++)
			syncup_probe(n, q, b - i * step);
		syncup_probe(n, q, a);
	}
	if (anchor)
		syncup_probe(n, q, s->lo);
}

static void
replica_send_syncup(struct tern_node *n)
{
	struct syncup *s = &n->sync;
	struct tern_wire_syncup_req *q = &s->q;
	uint64_t last = tern_log_last_vlsn(n->log), first = tern_log_first_vlsn(n->log);
	uint8_t *buf;

	/* Probes can only read written records: wait for the log to catch up. */
	if (tern_log_written_vlsn(n->log) < last)
		return;
	if (!s->active || s->first != first || s->last != last)
		syncup_begin(n, first, last); /* what was learnt is about another log */
	memset(q, 0, sizeof(*q));
	q->first_vlsn = last >= first ? first : 0;
	q->last_vlsn = last >= first ? last : 0;
	if (s->rounds > 0) {
		syncup_probes_between(n, q);
		if (q->n == 0)
			syncup_begin(n, first, last); /* nothing left to probe: start over */
	}
	if (s->rounds == 0)
		syncup_probes_first(n, q, first, last);
	q->req_id = ++n->syncup_id;
	buf = tx_begin(n);
	tx_commit(n, TERN_WIRE_SYNCUP_REQ, 0, n->master,
		  tern_wire_syncup_req_encode(buf + TERN_WIRE_HDR_LEN, tx_cap(n), q), -1, 0);
	n->syncup_sent = true;
	n->syncup_ns_last = n->now;
}

static void
replica_lost_master(struct tern_node *n)
{
	n->syncup_sent = false;
	n->sync.active = false;
	n->st_rx.n = 0; /* a syncup may cut the log back: arrival times start again */
	n->rs_hold_ns = 0;
	set_state(n, TERN_NODE_UNKNOWN);
}

/*
 * Narrow the search with the answer @r to the request out. The master answered the
 * highest probe whose term agrees (or first - 1 when none did and the probes reached the
 * first VLSN), so every probe above the answer disagrees; a VLSN past the master's last
 * disagrees too (in one term a master's log only grows: entries it lost start a new term).
 * @return false when the answer contradicts what earlier rounds proved (the master's log
 * is not the one they asked): the search starts over.
 */
static bool
syncup_learn(struct tern_node *n, const struct tern_wire_syncup_reply *r)
{
	struct syncup *s = &n->sync;
	const struct tern_wire_syncup_req *q = &s->q;
	unsigned int i;

	if (r->status == TERN_WIRE_SYNCUP_PROBE_OLDER) {
		/* Nothing matched, not even lo: the master's log changed under the search. */
		if (s->has_lo || q->n == 0)
			return false;
		s->hi = TERN_MIN(s->hi, q->probe[q->n - 1].vlsn);
		return true;
	}
	if (s->has_lo && r->match_vlsn < s->lo)
		return false;
	if (r->match_vlsn >= s->hi)
		return false;
	s->lo = r->match_vlsn;
	s->has_lo = true;
	for (i = q->n; i > 0; i--)
		if (q->probe[i - 1].vlsn > s->lo) {
			s->hi = TERN_MIN(s->hi, q->probe[i - 1].vlsn);
			break;
		}
	if (r->last_vlsn < s->hi)
		s->hi = r->last_vlsn + 1;
	if (s->last < s->first)
		s->hi = s->lo + 1; /* an empty log: nothing to keep */
	return s->hi > s->lo;
}

static void
replica_syncup_reply(struct tern_node *n, const struct tern_wire_hdr *h,
		     const struct tern_wire_syncup_reply *r)
{
	struct syncup *s = &n->sync;
	uint64_t last = tern_log_last_vlsn(n->log);
	int rc;

	if (n->state != TERN_NODE_UNKNOWN || h->src != n->master || r->req_id != n->syncup_id ||
	    !s->active)
		return;
	switch (r->status) {
	case TERN_WIRE_SYNCUP_MATCH:
	case TERN_WIRE_SYNCUP_PROBE_OLDER:
		break;
	case TERN_WIRE_SYNCUP_NEEDS_RESTORE:
		TERN_DIAG_RATELIMIT(100, ERR, rep,
				    "node %u: master %u no longer has the entries after VLSN %" PRIu64
				    ": this node needs a network restore",
				    n->self, h->src, r->match_vlsn);
		return;
	default:
		return;
	}
	if ((s->term != 0 && h->term != s->term) || last != s->last ||
	    tern_log_first_vlsn(n->log) != s->first || !syncup_learn(n, r)) {
		/*
		 * Another term (a new master) between rounds, a log that changed, or an answer
		 * that contradicts the earlier ones: what the search learnt may not hold.
		 */
		NODE_DIAG(INFO, n,
			  "syncup with master %u (term %" PRIu64 ") starts over after %u round(s)",
			  h->src, h->term, s->rounds + 1);
		s->active = false;
		replica_send_syncup(n);
		return;
	}
	s->term = h->term;
	s->rounds++;
	if (!s->has_lo || s->hi != s->lo + 1) {
		/* Between lo and hi: ask again (each round narrows the gap; see the probes). */
		if (TERN_NEVER(s->rounds >= SYNCUP_ROUNDS_MAX))
			s->active = false;
		replica_send_syncup(n);
		return;
	}
	/* Exact: the last answer is a MATCH at lo, and the master streams from lo + 1. */
	if (TERN_NEVER(r->status != TERN_WIRE_SYNCUP_MATCH || r->match_vlsn != s->lo)) {
		s->active = false;
		replica_send_syncup(n);
		return;
	}
	NODE_DIAG(INFO, n,
		  "matchpoint VLSN %" PRIu64 " (term %" PRIu64 ") with master %u after %u"
		  " round(s), log [%" PRIu64 ", %" PRIu64 "]",
		  r->match_vlsn, r->match_term, h->src, s->rounds, s->first, s->last);
	s->active = false;
	/* Roll back the tail past the matchpoint (DESIGN.md 5, syncup). */
	if (last > r->match_vlsn) {
		rc = tern_log_truncate_after(n->log, r->match_vlsn);
		if (rc != 0) {
			/* Retried at every syncup: say it once per 100. */
			TERN_DIAG_RATELIMIT(100, ERR, rep,
					    "node %u: cannot roll back to VLSN %" PRIu64 ": %s",
					    n->self, r->match_vlsn, tern_strerror(rc));
			return;
		}
		n->stats.truncated += last - r->match_vlsn;
		NODE_DIAG(NOTICE, n, "rolled back VLSNs %" PRIu64 "..%" PRIu64
			  " (term mismatch with master %u)", r->match_vlsn + 1, last, h->src);
	}
	n->term = h->term;
	tern_rstream_init(&n->rs, &n->o.rstream, h->src, h->term, r->match_vlsn + 1,
			  TERN_MIN(tern_log_durable_vlsn(n->log), r->match_vlsn));
	n->rs.commit_vlsn = r->commit_vlsn;
	n->stats.syncups++;
	set_state(n, TERN_NODE_REPLICA);
}

/* The stream follows what the log took. */
static void
replica_took(struct tern_node *n)
{
	uint64_t last = tern_log_last_vlsn(n->log);

	if (last >= n->rs.next_vlsn) {
		n->stats.entries_appended += last - (n->rs.next_vlsn - 1);
		tern_rstream_appended(&n->rs, last);
		stamp_push(&n->st_rx, last, n->now);
	}
}

/*
 * Append the entries of @p it from VLSN @p from on, in runs of one sync mode. false when
 * the log's buffers are full before the last (the caller keeps the frame and comes back);
 * true when all went in, or the log failed (logged: the rest comes again).
 */
static bool
replica_append(struct tern_node *n, struct tern_wire_entries *it, uint64_t from)
{
	struct tern_wire_entry we;
	enum tern_log_sync mode = TERN_LOG_SYNC;
	unsigned int k = 0;
	int rc;

	for (;;) {
		bool more = tern_wire_entries_next(it, &we);

		if (more && we.vlsn < from)
			continue;
		if (k > 0 && (!more || entry_sync(&we) != mode || k == DONE_BATCH)) {
			rc = tern_log_append(n->log, n->ents, k, mode);
			/* What the log took, a prefix even when it failed (ENOSPC mid-way). */
			replica_took(n);
			if (rc >= 0 && rc != (int)k)
				return false;
			if (rc < 0) {
				TERN_DIAG_RATELIMIT(1000, ERR, rep,
						    "node %u: append of VLSN %" PRIu64 " failed: %s",
						    n->self, n->ents[0].vlsn, tern_strerror(rc));
				return true;
			}
			k = 0;
		}
		if (!more)
			return true;
		if (k == 0)
			mode = entry_sync(&we);
		entry_to_log(&n->ents[k++], &we);
	}
}

/* The log is full: hold the frame (its kind's part of n->stall is filled in). */
static void
stall_begin(struct tern_node *n, uint16_t kind, uint16_t src, uint64_t term)
{
	n->stall.kind = kind;
	n->stall.src = src;
	n->stall.term = term;
	n->stats.rx_stalls++;
	tern_rstream_hold(&n->rs, true, n->now);
}

/* The new entries of an ENTRIES frame into the log; held (n->stall) when it is full. */
static void
replica_entries(struct tern_node *n, const struct tern_wire_hdr *h, struct tern_wire_entries *it)
{
	uint64_t from = tern_rstream_on_entries(&n->rs, it->first_vlsn, it->last_vlsn,
						it->commit_vlsn, n->now);
	struct tern_wire_entries start = *it;

	if (from == 0 || tern_log_error(n->log) != 0)
		return;
	if (replica_append(n, it, from))
		return;
	n->stall.it = start;
	stall_begin(n, TERN_WIRE_ENTRIES, h->src, h->term);
}

/* A reassembled entry into the log: 1, 0 (full) or the log's error (logged). */
static int
replica_append_one(struct tern_node *n, const struct tern_wire_entry *e)
{
	struct tern_log_entry le;
	int rc;

	entry_to_log(&le, e);
	rc = tern_log_append(n->log, &le, 1, entry_sync(e));
	replica_took(n);
	if (rc < 0)
		TERN_DIAG_RATELIMIT(1000, ERR, rep, "node %u: append of VLSN %" PRIu64 " failed: %s",
				    n->self, e->vlsn, tern_strerror(rc));
	return rc;
}

/* A piece of an entry larger than a frame: reassemble, then append it whole. */
static void
replica_fragment(struct tern_node *n, const struct tern_wire_fragment *f)
{
	struct tern_wire_entry e;
	enum tern_wire_reasm_rc rrc;
	enum tern_wire_rej why;

	if (f->vlsn != n->rs.next_vlsn) {
		/* A duplicate (ack so the feeder moves on) or past a gap (NAK it). */
		tern_rstream_on_entries(&n->rs, f->vlsn, f->vlsn, n->rs.commit_vlsn, n->now);
		return;
	}
	rrc = tern_wire_reasm_add(&n->reasm, f, n->rs.next_vlsn, &e, &why);
	if (rrc == TERN_WIRE_REASM_REJECTED && why == TERN_WIRE_REJ_REASM_CONFLICT) {
		/*
		 * The entry comes again with other metadata (a resend from the log carries
		 * other flags than the window's copy, or a new master's entry): start over.
		 */
		tern_wire_count(&n->wctx, why);
		tern_wire_reasm_reset(&n->reasm);
		rrc = tern_wire_reasm_add(&n->reasm, f, n->rs.next_vlsn, &e, &why);
	}
	switch (rrc) {
	case TERN_WIRE_REASM_COMPLETE:
		break;
	case TERN_WIRE_REASM_REJECTED:
		tern_wire_count(&n->wctx, why);
		return;
	default:
		return;
	}
	if (tern_rstream_on_entries(&n->rs, e.vlsn, e.vlsn, n->rs.commit_vlsn, n->now) != e.vlsn ||
	    tern_log_error(n->log) != 0)
		return;
	if (replica_append_one(n, &e) == 0) {
		/* Full: the entry stays in reasm_buf until the log takes it. */
		n->stall.entry = e;
		stall_begin(n, TERN_WIRE_ENTRY_FRAGMENT, n->rs.master, n->rs.term);
		return;
	}
	tern_wire_reasm_reset(&n->reasm);
}

static void
replica_rx(struct tern_node *n, const struct tern_wire_hdr *h, const struct tern_wire_msg *m)
{
	enum tern_rstream_verdict v;

	if (h->src != n->master) {
		tern_wire_count(&n->wctx, TERN_WIRE_REJ_NODE);
		return;
	}
	if (h->type == TERN_WIRE_SYNCUP_REPLY) {
		replica_syncup_reply(n, h, &m->u.syncup_reply);
		return;
	}
	if (n->state == TERN_NODE_UNKNOWN) {
		/* The master is talking: sync up now if no request is out. */
		if (!n->syncup_sent)
			replica_send_syncup(n);
		return;
	}
	v = tern_rstream_check(&n->rs, h->src, h->term);
	if (v == TERN_RSTREAM_NEW_TERM) {
		/* A new term: what this log holds past the matchpoint may differ. */
		n->term = h->term;
		replica_lost_master(n);
		replica_send_syncup(n);
		return;
	}
	if (v != TERN_RSTREAM_ACCEPT) {
		if (v == TERN_RSTREAM_STALE_TERM)
			tern_wire_count(&n->wctx, TERN_WIRE_REJ_STALE_TERM);
		return;
	}
	if ((h->flags & TERN_WIRE_F_URGENT) != 0)
		tern_rstream_want_ack(&n->rs);
	switch (h->type) {
	case TERN_WIRE_ENTRIES: {
		struct tern_wire_entries it = m->u.entries;

		replica_entries(n, h, &it);
		break;
	}
	case TERN_WIRE_ENTRY_FRAGMENT:
		replica_fragment(n, &m->u.fragment);
		break;
	case TERN_WIRE_HEARTBEAT: {
		struct tern_wire_heartbeat_reply r = {
			.echo_timestamp_ns = m->u.heartbeat.timestamp_ns,
			.received_vlsn = n->rs.next_vlsn - 1,
			.durable_vlsn = TERN_MIN(n->rs.durable_vlsn, n->rs.next_vlsn - 1),
			.echo_seq = m->u.heartbeat.seq,
		};
		uint8_t *buf;

		tern_rstream_on_heartbeat(&n->rs, m->u.heartbeat.commit_vlsn,
					  m->u.heartbeat.last_vlsn, n->now);
		buf = tx_begin(n);
		tx_commit(n, TERN_WIRE_HEARTBEAT_REPLY, 0, h->src,
			  tern_wire_heartbeat_reply_encode(buf + TERN_WIRE_HDR_LEN, tx_cap(n), &r),
			  -1, 0);
		break;
	}
	default:
		break;
	}
}

/* ACK and NAK when due; syncup requests while UNKNOWN. */
static int
replica_report(struct tern_node *n)
{
	int busy = 0;

	if (n->state == TERN_NODE_UNKNOWN) {
		if (!n->syncup_sent || n->now - n->syncup_ns_last >= n->o.syncup_ns)
			replica_send_syncup(n);
		return 0;
	}
	if (n->state != TERN_NODE_REPLICA)
		return 0;
	{
		struct tern_wire_ack a;
		uint64_t first, last;

		if (tern_rstream_ack_due(&n->rs, n->now, &a.received_vlsn, &a.durable_vlsn,
					 &a.credit)) {
			uint8_t *buf = tx_begin(n);

			a.hold_us = (uint32_t)TERN_MIN(n->rs_hold_ns / 1000, (uint64_t)UINT32_MAX);
			tx_commit(n, TERN_WIRE_ACK, 0, n->master,
				  tern_wire_ack_encode(buf + TERN_WIRE_HDR_LEN, tx_cap(n), &a), -1,
				  0);
			busy = 1;
		}
		if (tern_rstream_nak_due(&n->rs, n->now, &first, &last)) {
			struct tern_wire_nak k = {.n = 1};
			uint8_t *buf = tx_begin(n);

			k.range[0].first = first;
			k.range[0].last = last;
			tx_commit(n, TERN_WIRE_NAK, 0, n->master,
				  tern_wire_nak_encode(buf + TERN_WIRE_HDR_LEN, tx_cap(n), &k), -1,
				  0);
			busy = 1;
		}
	}
	return busy;
}

/* ---- log events ---- */

static void
on_log_event(void *arg, const struct tern_log_event *ev)
{
	struct tern_node *n = arg;

	switch (ev->type) {
	case TERN_LOG_EV_DURABLE:
		n->pend_dirty = true;
		if (n->state == TERN_NODE_MASTER)
			stamp_push(&n->st_local[TERN_LOG_SYNC], ev->vlsn, n->now);
		else if (n->state == TERN_NODE_REPLICA) {
			tern_rstream_durable(&n->rs, ev->vlsn);
			/* The replica's stage of a commit: arrival to durable (its ACK says). */
			n->rs_hold_ns = n->now - stamp_find(&n->st_rx, ev->vlsn, n->now);
		}
		break;
	case TERN_LOG_EV_WRITTEN:
		n->pend_dirty = true;
		if (n->state == TERN_NODE_MASTER)
			stamp_push(&n->st_local[TERN_LOG_WRITE_NO_SYNC], ev->vlsn, n->now);
		break;
	case TERN_LOG_EV_FAILED:
		if (ev->first == 0)
			break;
		NODE_DIAG(ERR, n, "log records VLSN %" PRIu64 "..%" PRIu64 " failed: %s",
			  ev->first, ev->last, tern_strerror(ev->err));
		if (n->state == TERN_NODE_MASTER) {
			pend_fail_range(n, ev->first, ev->last, ev->err);
			if (tern_log_last_vlsn(n->log) < ev->last)
				master_rewind(n);
		} else if (n->state == TERN_NODE_REPLICA && tern_log_error(n->log) == 0) {
			/*
			 * ENOSPC: the log rewound and takes appends again, so the stream must come
			 * again from what it still has. The master's feeder may already count the
			 * lost VLSNs as received (an ACK went out before the write failed) and
			 * ignores NAKs for them: sync up again, so that the master restarts the
			 * feeder from the matchpoint.
			 */
			replica_lost_master(n);
		} else if (n->state == TERN_NODE_REPLICA) {
			/* Read-only: nothing more is appended; keep reporting what it has. */
			tern_rstream_init(&n->rs, &n->o.rstream, n->master, n->term,
					  tern_log_last_vlsn(n->log) + 1,
					  tern_log_durable_vlsn(n->log));
		}
		break;
	}
}

/* ---- poll ---- */

/*
 * Take a held frame again (n->stall): true when the log took it, or when it no longer
 * applies (another role, term or master, or the stream moved: what it carried comes again
 * as the stream goes on); false while the log is still full.
 */
static bool
stall_resume(struct tern_node *n)
{
	struct stall *st = &n->stall;
	uint64_t next = n->rs.next_vlsn;
	bool same = n->state == TERN_NODE_REPLICA && n->rs.master == st->src &&
		    n->rs.term == st->term && tern_log_error(n->log) == 0;
	bool done = true;

	if (st->kind == TERN_WIRE_ENTRIES) {
		struct tern_wire_entries it = st->it;

		if (same && next >= it.first_vlsn && next <= it.last_vlsn)
			done = replica_append(n, &it, next);
	} else if (same && next == st->entry.vlsn) {
		done = replica_append_one(n, &st->entry) != 0;
	}
	if (!done)
		return false;
	if (st->kind == TERN_WIRE_ENTRY_FRAGMENT)
		tern_wire_reasm_reset(&n->reasm);
	st->kind = 0;
	tern_rstream_hold(&n->rs, false, n->now);
	return true;
}

static void
rx_frame(struct tern_node *n, const struct tern_net_dgram *d)
{
	const struct tern_wire_hdr *h;
	struct tern_wire_msg m;

	if (tern_wire_check(&n->wctx, d->data, d->len, &h) != TERN_WIRE_REJ_NONE)
		return;
	if (tern_wire_decode_dgram(&n->wctx, h, &m) != TERN_WIRE_REJ_NONE)
		return;
	if (n->state == TERN_NODE_MASTER)
		master_rx(n, h, &m);
	else if (n->state == TERN_NODE_REPLICA || n->state == TERN_NODE_UNKNOWN)
		replica_rx(n, h, &m);
}

/* Hand back held frames [held_i, @p end). */
static void
rx_release_to(struct tern_node *n, unsigned int end)
{
	if (end > n->held_i)
		tern_net_rx_release(n->net, &n->held[n->held_i], end - n->held_i);
	n->held_i = end;
	if (end == n->held_n)
		n->held_i = n->held_n = 0;
}

/* A burst of frames, or what a stall held back; nothing new while the log is full. */
static int
rx_pass(struct tern_node *n)
{
	unsigned int i;
	int busy = 0;

	if (n->stall.kind != 0) {
		if (!stall_resume(n))
			return 0;
		rx_release_to(n, n->held_i + 1);
		busy = 1;
	}
	if (n->held_n == 0) {
		n->held_n = tern_net_rx_burst(n->net, n->o.queue, n->held, TERN_NET_BURST);
		n->stats.frames_rx += n->held_n;
	}
	for (i = n->held_i; i < n->held_n; i++) {
		rx_frame(n, &n->held[i]);
		busy = 1;
		if (n->stall.kind != 0)
			break; /* frame i and the rest stay held */
	}
	rx_release_to(n, i);
	return busy;
}

int
tern_node_poll(struct tern_node *n, uint64_t now_ns)
{
	int busy;

	n->now = now_ns;
	busy = n->stall.kind != 0 ? tern_log_poll(n->log) : 0; /* room for what is held */
	busy |= rx_pass(n);
	if (n->state == TERN_NODE_MASTER) {
		/*
		 * DESIGN.md 5: local fsync and shipping to replicas run in parallel. Frames go
		 * out before the log submits its write and fdatasync, so the replicas' path
		 * (wire, their fsync, the ACK) does not also wait for that submission.
		 */
		busy |= master_feed(n);
		tx_flush(n);
		busy |= tern_log_poll(n->log);
		busy |= pend_check(n);
	} else {
		busy |= tern_log_poll(n->log);
		busy |= replica_report(n);
	}
	tx_flush(n);
	done_flush(n);
	return busy ? 1 : 0;
}

/* ---- open / close ---- */

/* Free what tern_node_open() allocated, as far as it got. */
static void
node_free(struct tern_node *n)
{
	tern_free(n->win.data);
	tern_free(n->win.ent);
	tern_free(n->ents);
	tern_free(n->reasm_buf);
	tern_free(n->scratch);
	tern_free(n->tx_buf);
	tern_free(n->pend);
	tern_free(n->feeders);
	tern_free(n->lag_max);
	tern_free(n);
}

static int
check_opts(const struct tern_node_opts *o)
{
	bool self = false, master = false;

	if (o == NULL || o->opts_size < sizeof(*o) || o->net == NULL || o->members == NULL ||
	    o->n_members == 0 || o->n_members > TERN_NET_PEERS_MAX + 1 || o->log.io == NULL)
		return -EINVAL;
	if (o->mtu < 512 || o->mtu > TERN_WIRE_DGRAM_MAX || o->max_pending == 0 ||
	    o->max_entry == 0 || o->max_entry > TERN_WIRE_ENTRY_MAX)
		return -EINVAL;
	for (unsigned int i = 0; i < o->n_members; i++) {
		if (o->members[i].id > TERN_WIRE_NODE_MAX)
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++)
			if (o->members[j].id == o->members[i].id)
				return -EINVAL;
		self |= o->members[i].id == o->self;
		master |= o->members[i].id == o->master;
	}
	return self && master ? 0 : -EINVAL;
}

int
tern_node_open(const struct tern_node_opts *o, uint64_t now_ns, struct tern_node **out)
{
	struct tern_node *n;
	struct tern_log_opts lo;
	uint32_t went = 1;
	int rc = check_opts(o);

	if (rc != 0)
		return rc;
	n = tern_zmalloc(sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->o = *o;
	n->self = o->self;
	n->master = o->master;
	n->term = o->term != 0 ? o->term : 1;
	n->now = now_ns;
	n->net = o->net;
	n->state = TERN_NODE_DETACHED;
	tern_wire_ctx_init(&n->wctx, o->group_id, o->self);
	for (unsigned int i = 0; i < o->n_members; i++) {
		struct member *m = &n->members[n->n_members++];

		m->id = o->members[i].id;
		m->type = o->members[i].type;
		m->feeder = -1;
		if (m->id != o->self) {
			rc = tern_wire_ctx_add_node(&n->wctx, m->id);
			if (rc != 0)
				goto fail;
		}
	}
	n->o.members = NULL; /* not kept */
	n->feeders = tern_calloc(n->n_members, sizeof(*n->feeders));
	n->lag_max = tern_calloc(n->n_members, sizeof(*n->lag_max));
	n->pend = tern_calloc(o->max_pending, sizeof(*n->pend));
	n->tx_buf = tern_malloc((size_t)TERN_NET_BURST * o->mtu);
	n->scratch_cap = o->max_entry;
	n->scratch = tern_malloc(n->scratch_cap);
	n->reasm_buf = tern_malloc(n->scratch_cap);
	n->ents = tern_calloc(DONE_BATCH, sizeof(*n->ents));
	while (went < o->window_entries && went < (1U << 30))
		went <<= 1;
	n->win.ent = tern_calloc(went, sizeof(*n->win.ent));
	n->win.mask = went - 1;
	n->win.bytes = o->window_bytes;
	n->win.data = o->window_bytes > 0 ? tern_malloc(o->window_bytes) : NULL;
	if (n->feeders == NULL || n->lag_max == NULL || n->pend == NULL || n->tx_buf == NULL ||
	    n->scratch == NULL || n->reasm_buf == NULL || n->ents == NULL || n->win.ent == NULL ||
	    (o->window_bytes > 0 && n->win.data == NULL)) {
		rc = -ENOMEM;
		goto fail;
	}
	tern_wire_reasm_init(&n->reasm, n->reasm_buf, n->scratch_cap);
	for (uint32_t i = 0; i < o->max_pending; i++)
		n->pend[i].next = i + 1 < o->max_pending ? i + 1 : NONE32;
	n->pend_free = 0;
	for (unsigned int c = 0; c < CLASSES; c++) {
		n->fifo[c].head = n->fifo[c].tail = NONE32;
		n->fifo[c].min_deadline = UINT64_MAX;
	}
	n->pend_deadline = UINT64_MAX;
	lo = o->log;
	lo.on_event = on_log_event;
	lo.event_arg = n;
	rc = tern_log_open(&lo, &n->log);
	if (rc != 0) {
		n->log = NULL;
		goto fail;
	}
	/* Every other member is fed by the master (secondaries too; only electables ack). */
	for (unsigned int i = 0; i < n->n_members; i++) {
		struct member *m = &n->members[i];

		if (m->id == o->self || m->type == TERN_WIRE_NODE_ARBITER ||
		    m->type == TERN_WIRE_NODE_MONITOR)
			continue;
		m->feeder = (int)n->n_feeders;
		tern_feeder_init(&n->feeders[n->n_feeders++], m->id, &o->feeder, now_ns);
	}
	if (o->on_state != NULL)
		o->on_state(o->arg, n->state, TERN_WIRE_NODE_ALL, n->term);
	if (o->self == o->master) {
		rc = master_start(n);
		if (rc != 0) {
			tern_log_close(n->log);
			goto fail;
		}
	} else {
		uint64_t t = tern_log_last_term(n->log);

		if (t > n->term)
			n->term = t;
		set_state(n, TERN_NODE_UNKNOWN);
	}
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

int
tern_node_close(struct tern_node *n)
{
	int rc;

	if (n == NULL)
		return 0;
	rx_release_to(n, n->held_n);
	tx_flush(n);
	pend_fail_all(n, -TERN_ECLOSED);
	set_state(n, TERN_NODE_SHUTDOWN);
	done_flush(n);
	rc = tern_log_close(n->log);
	node_free(n);
	return rc;
}

/* ---- queries ---- */

bool
tern_node_rx_held(const struct tern_node *n)
{
	return n->stall.kind != 0;
}

enum tern_node_state
tern_node_state(const struct tern_node *n)
{
	return n->state;
}

uint16_t
tern_node_master(const struct tern_node *n)
{
	return n->master;
}

uint64_t
tern_node_term(const struct tern_node *n)
{
	return n->term;
}

uint64_t
tern_node_next_timer_ns(const struct tern_node *n)
{
	uint64_t t = UINT64_MAX;

	switch (n->state) {
	case TERN_NODE_MASTER:
		for (unsigned int i = 0; i < n->n_feeders; i++)
			t = TERN_MIN(t, tern_feeder_next_timer(&n->feeders[i]));
		if (n->n_pending > 0)
			t = TERN_MIN(t, n->pend_dirty ? 0 : n->pend_deadline);
		break;
	case TERN_NODE_REPLICA:
		t = tern_rstream_next_timer(&n->rs);
		break;
	case TERN_NODE_UNKNOWN:
		t = n->syncup_sent ? n->syncup_ns_last + n->o.syncup_ns : 0;
		break;
	default:
		break;
	}
	return t;
}

uint64_t
tern_node_commit_vlsn(const struct tern_node *n)
{
	return n->state == TERN_NODE_MASTER ? n->commit_vlsn : n->rs.commit_vlsn;
}

struct tern_log *
tern_node_log(struct tern_node *n)
{
	return n->log;
}

void
tern_node_stats_get(const struct tern_node *n, struct tern_node_stats *st)
{
	*st = n->stats;
	st->pending = n->n_pending;
	st->frames_rejected = 0;
	for (unsigned int r = 1; r < TERN_WIRE_REJ_COUNT_; r++)
		st->frames_rejected += n->wctx.stats.rejected[r];
}

unsigned int
tern_node_replicas_get(struct tern_node *n, struct tern_node_replica *out, unsigned int cap,
		       bool reset_max)
{
	bool master = n->state == TERN_NODE_MASTER;
	unsigned int i;

	for (i = 0; i < n->n_feeders && i < cap; i++) {
		const struct tern_feeder *f = &n->feeders[i];
		/* A feeder's lag counts from its start (syncup), which resets its peak. */
		bool streaming = master && f->started;

		if (streaming)
			lag_note(n, f);
		out[i] = (struct tern_node_replica){
			.node_id = f->replica,
			.streaming = streaming,
			.received_vlsn = f->received_vlsn,
			.durable_vlsn = f->durable_vlsn,
			.lag_vlsns = streaming ? lag_of(n, f) : 0,
			.lag_max_vlsns = streaming ? n->lag_max[i] : 0,
			.ack_ns_last = f->ack_ns_last,
		};
		if (reset_max)
			n->lag_max[i] = out[i].lag_vlsns;
	}
	return i;
}

void
tern_node_dump(const struct tern_node *n, FILE *f)
{
	struct tern_node_stats st;

	tern_node_stats_get(n, &st);
	fprintf(f, "node %u: %s master=%u term=%" PRIu64 " commit_vlsn=%" PRIu64 "\n", n->self,
		tern_node_state_str(n->state), n->master, n->term, tern_node_commit_vlsn(n));
	fprintf(f, "  commits=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " acks_timeouts=%" PRIu64
		   " pending=%" PRIu64 "\n",
		st.commits, st.commits_ok, st.commits_failed, st.acks_timeouts, st.pending);
	fprintf(f, "  frames rx=%" PRIu64 " tx=%" PRIu64 " rejected=%" PRIu64 " tx_dropped=%" PRIu64
		   " appended=%" PRIu64 " syncups=%" PRIu64 " truncated=%" PRIu64
		   " window_misses=%" PRIu64 " rx_stalls=%" PRIu64 "\n",
		st.frames_rx, st.frames_tx, st.frames_rejected, st.tx_dropped, st.entries_appended,
		st.syncups, st.truncated, st.window_misses, st.rx_stalls);
	for (unsigned int r = 1; r < TERN_WIRE_REJ_COUNT_; r++)
		if (n->wctx.stats.rejected[r] != 0)
			fprintf(f, "  rejected %s: %" PRIu64 "\n",
				tern_wire_rej_str((enum tern_wire_rej)r), n->wctx.stats.rejected[r]);
	for (unsigned int i = 0; i < n->n_feeders && n->state == TERN_NODE_MASTER; i++) {
		const struct tern_feeder *fd = &n->feeders[i];

		fprintf(f, "  feeder %u: started=%d next=%" PRIu64 " received=%" PRIu64
			   " durable=%" PRIu64 " sent=%" PRIu64 " resent=%" PRIu64 " naks=%" PRIu64
			   " timeouts=%" PRIu64 "\n",
			fd->replica, fd->started, fd->next_vlsn, fd->received_vlsn, fd->durable_vlsn,
			fd->stats.entries_sent, fd->stats.resent, fd->stats.naks,
			fd->stats.timeouts);
	}
	if (n->state == TERN_NODE_REPLICA)
		fprintf(f, "  stream: next=%" PRIu64 " durable=%" PRIu64 " dups=%" PRIu64
			   " gaps=%" PRIu64 " naks=%" PRIu64 " acks=%" PRIu64 "\n",
			n->rs.next_vlsn, n->rs.durable_vlsn, n->rs.stats.duplicates, n->rs.stats.gaps,
			n->rs.stats.naks, n->rs.stats.acks);
	tern_log_dump(n->log, f);
}
