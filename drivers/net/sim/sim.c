/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The simulated network (tern_net_sim.h).
 *
 * Model. Every copy of a datagram takes one slot of a fixed pool from send until the
 * receiver releases it. A slot is FREE (on the free list), in FLIGHT (in the world's
 * binary min-heap, keyed by due time, then by the world's send counter), READY (on its
 * receiver's FIFO, in the order it fell due) or HELD (returned by rx_burst, not yet
 * released). The heap holds only copies due after the world's time: tern_net_sim_advance()
 * pops what fell due, a copy due at its send time goes straight to its receiver. Links are
 * a nodes_max x nodes_max matrix indexed by node entry (the order node ids became known).
 * Nothing here reads a clock or allocates after create; the only randomness is the world's
 * PRNG, drawn in the order the header documents.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_heap.h>
#include <tern_prng.h>
#include <tern_time.h>

#include "tern_net.h"
#include "tern_net_sim.h"

TERN_DIAG_REGISTER(sim, NOTICE);

#define SIM_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, sim, "%s(): " fmt, __func__, ##__VA_ARGS__)

#define SIM_SLOTS_MAX (1U << 24)
#define SIM_NODES_MAX (TERN_NET_PEERS_MAX + 1)
#define SIM_NONE      UINT32_MAX

enum slot_state {
	SLOT_FREE,
	SLOT_FLIGHT,
	SLOT_READY,
	SLOT_HELD,
};

struct slot {
	uint64_t due;
	uint64_t seq;	   /* world send order: breaks ties of due */
	uint64_t link_seq; /* send order on its link: counts reordering */
	uint32_t next;	   /* free list or receiver's FIFO */
	uint32_t len;
	uint16_t from, to; /* node entries */
	uint8_t state;
};

struct sim_link {
	struct tern_net_sim_link p;
	bool cut;
	uint64_t next_seq;     /* link_seq of the next datagram sent */
	uint64_t delivered_hi; /* 1 + highest link_seq delivered so far, 0 when none */
	struct tern_net_sim_link_stats st;
};

struct sim_node {
	struct tern_net base; /* first: the handle the node's user holds */
	struct tern_net_sim_world *w;
	uint16_t id;
	uint16_t idx;
	bool attached;
	bool alive;
	unsigned int mtu;
	unsigned int n_peers;
	uint16_t peers[TERN_NET_PEERS_MAX];
	uint32_t ready_head, ready_tail;
	unsigned int n_ready;
	unsigned int n_held;
	struct tern_net_stats st;
};

struct tern_net_sim_world {
	struct tern_net_sim_world *next; /* the registry of live worlds */
	unsigned int id;
	struct tern_prng prng;
	uint64_t now;
	uint64_t seq;
	struct tern_net_sim_link dflt;
	unsigned int mtu;
	unsigned int nslots;
	unsigned int nodes_max;
	unsigned int n_known;
	unsigned int n_attached;
	struct slot *slots;
	uint8_t *data; /* nslots x mtu */
	uint32_t free_head;
	unsigned int n_free;
	unsigned int min_free;
	uint32_t *heap;
	unsigned int heap_n;
	unsigned int n_ready;
	unsigned int n_held;
	uint64_t full;
	struct sim_node *nodes; /* nodes_max entries, n_known used */
	struct sim_link *links; /* [from * nodes_max + to] */
};

/* Live worlds, for tern_net_open("sim"); the sim is single-threaded by contract. */
static struct tern_net_sim_world *worlds;
static unsigned int world_next_id = 1;

static const struct tern_net_ops sim_ops;

/* ---- helpers ---- */

static bool
prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* false for NaN */
}

static bool
link_params_ok(const struct tern_net_sim_link *l)
{
	return l != NULL && prob_ok(l->loss) && prob_ok(l->dup);
}

static int
node_find(const struct tern_net_sim_world *w, uint16_t id)
{
	unsigned int i;

	for (i = 0; i < w->n_known; i++)
		if (w->nodes[i].id == id)
			return (int)i;
	return -1;
}

static struct sim_link *
link_at(const struct tern_net_sim_world *w, unsigned int from, unsigned int to)
{
	return &w->links[(size_t)from * w->nodes_max + to];
}

static bool
node_knows(const struct sim_node *n, uint16_t id)
{
	unsigned int i;

	for (i = 0; i < n->n_peers; i++)
		if (n->peers[i] == id)
			return true;
	return false;
}

static uint8_t *
slot_data(const struct tern_net_sim_world *w, uint32_t s)
{
	return w->data + (size_t)s * w->mtu;
}

static uint32_t
slot_alloc(struct tern_net_sim_world *w)
{
	uint32_t s = w->free_head;

	if (s == SIM_NONE)
		return SIM_NONE;
	w->free_head = w->slots[s].next;
	w->n_free--;
	if (w->n_free < w->min_free)
		w->min_free = w->n_free;
	return s;
}

static void
slot_free(struct tern_net_sim_world *w, uint32_t s)
{
	w->slots[s].state = SLOT_FREE;
	w->slots[s].next = w->free_head;
	w->free_head = s;
	w->n_free++;
}

/* ---- the heap of copies in flight ---- */

static bool
slot_before(const struct tern_net_sim_world *w, uint32_t a, uint32_t b)
{
	const struct slot *x = &w->slots[a], *y = &w->slots[b];

	return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void
heap_sift_down(struct tern_net_sim_world *w, unsigned int i)
{
	uint32_t *h = w->heap;
	unsigned int n = w->heap_n;

	for (;;) {
		unsigned int l = 2 * i + 1, m = i;
		uint32_t t;

		if (l < n && slot_before(w, h[l], h[m]))
			m = l;
		if (l + 1 < n && slot_before(w, h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void
heap_push(struct tern_net_sim_world *w, uint32_t s)
{
	uint32_t *h = w->heap;
	unsigned int i = w->heap_n++;

	h[i] = s;
	while (i > 0) {
		unsigned int p = (i - 1) / 2;
		uint32_t t;

		if (!slot_before(w, h[i], h[p]))
			break;
		t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static uint32_t
heap_pop(struct tern_net_sim_world *w)
{
	uint32_t top = w->heap[0];

	w->heap[0] = w->heap[--w->heap_n];
	heap_sift_down(w, 0);
	return top;
}

/* ---- moving copies ---- */

/* A copy fell due: hand it to its receiver, or drop it. */
static void
deliver(struct tern_net_sim_world *w, uint32_t s)
{
	struct slot *sl = &w->slots[s];
	struct sim_node *dst = &w->nodes[sl->to];
	struct sim_link *lk = link_at(w, sl->from, sl->to);

	if (!dst->attached || !dst->alive) {
		lk->st.dead++;
		slot_free(w, s);
		return;
	}
	if (lk->cut) {
		lk->st.cut++;
		slot_free(w, s);
		return;
	}
	if (!node_knows(dst, w->nodes[sl->from].id) || sl->len > dst->mtu) {
		lk->st.rejected++;
		dst->st.rx_dropped++;
		slot_free(w, s);
		return;
	}
	lk->st.delivered++;
	if (sl->link_seq + 1 < lk->delivered_hi)
		lk->st.reordered++;
	else
		lk->delivered_hi = sl->link_seq + 1;
	sl->state = SLOT_READY;
	sl->next = SIM_NONE;
	if (dst->ready_tail == SIM_NONE)
		dst->ready_head = s;
	else
		w->slots[dst->ready_tail].next = s;
	dst->ready_tail = s;
	dst->n_ready++;
	w->n_ready++;
}

/*
 * Drop what is in flight to or from node entry @p idx and what it could receive (kill and
 * close). Copies it holds stay its own.
 */
static void
node_purge(struct tern_net_sim_world *w, unsigned int idx)
{
	struct sim_node *n = &w->nodes[idx];
	unsigned int i, kept = 0;
	uint32_t s;

	for (i = 0; i < w->heap_n; i++) {
		s = w->heap[i];
		if (w->slots[s].from == idx || w->slots[s].to == idx) {
			link_at(w, w->slots[s].from, w->slots[s].to)->st.dead++;
			slot_free(w, s);
		} else {
			w->heap[kept++] = s;
		}
	}
	w->heap_n = kept;
	for (i = kept / 2; i-- > 0;)
		heap_sift_down(w, i);
	while ((s = n->ready_head) != SIM_NONE) {
		n->ready_head = w->slots[s].next;
		link_at(w, w->slots[s].from, idx)->st.dead++;
		slot_free(w, s);
		w->n_ready--;
	}
	n->ready_tail = SIM_NONE;
	n->n_ready = 0;
}

/* Send one datagram from node @p src. The network takes it whatever its fate. */
static void
send_one(struct tern_net_sim_world *w, struct sim_node *src, const struct tern_net_dgram *d)
{
	struct sim_link *lk;
	unsigned int copies, c;
	uint64_t lseq;
	bool orig_full = false;
	int to;

	if ((d->data == NULL && d->len != 0) || d->len > src->mtu || !node_knows(src, d->peer) ||
	    (to = node_find(w, d->peer)) < 0) {
		src->st.tx_dropped++;
		return;
	}
	lk = link_at(w, src->idx, (unsigned int)to);
	lk->st.sent++;
	lseq = lk->next_seq++;
	if (!src->alive) {
		lk->st.dead++;
		src->st.tx_dropped++;
		return;
	}
	src->st.tx_dgrams++;
	src->st.tx_bytes += d->len;
	if (!w->nodes[to].attached || !w->nodes[to].alive) {
		lk->st.dead++;
		return;
	}
	if (lk->cut) {
		lk->st.cut++;
		return;
	}
	if (lk->p.loss > 0.0 && tern_prng_chance(&w->prng, lk->p.loss)) {
		lk->st.lost++;
		return;
	}
	copies = 1;
	if (lk->p.dup > 0.0 && tern_prng_chance(&w->prng, lk->p.dup)) {
		copies = 2;
		lk->st.duplicated++;
	}
	for (c = 0; c < copies; c++) {
		uint64_t delay = lk->p.latency_ns, due;
		struct slot *sl;
		uint32_t s;

		if (lk->p.jitter_ns > 0)
			delay += tern_prng_below(&w->prng, lk->p.jitter_ns);
		due = w->now + delay < w->now ? TERN_TIME_NEVER - 1 : w->now + delay;
		s = slot_alloc(w);
		if (s == SIM_NONE) {
			lk->st.full++;
			w->full++;
			orig_full |= c == 0;
			continue;
		}
		sl = &w->slots[s];
		sl->due = due;
		sl->seq = w->seq++;
		sl->link_seq = lseq;
		sl->len = d->len;
		sl->from = src->idx;
		sl->to = (uint16_t)to;
		if (d->len != 0)
			memcpy(slot_data(w, s), d->data, d->len);
		if (due <= w->now) {
			deliver(w, s);
		} else {
			sl->state = SLOT_FLIGHT;
			heap_push(w, s);
		}
	}
	if (orig_full) {
		/* The pool refused the datagram itself: for the sender it never left. */
		src->st.tx_dgrams--;
		src->st.tx_bytes -= d->len;
		src->st.tx_dropped++;
	}
}

/* ---- ops ---- */

static struct sim_node *
to_node(struct tern_net *n)
{
	return (struct sim_node *)n;
}

static unsigned int
sim_rx_burst(struct tern_net *net, uint16_t queue, struct tern_net_dgram *d, unsigned int max)
{
	struct sim_node *n = to_node(net);
	struct tern_net_sim_world *w = n->w;
	unsigned int i;

	if (queue != 0)
		return 0;
	for (i = 0; i < max && n->ready_head != SIM_NONE; i++) {
		uint32_t s = n->ready_head;
		struct slot *sl = &w->slots[s];

		n->ready_head = sl->next;
		if (n->ready_head == SIM_NONE)
			n->ready_tail = SIM_NONE;
		n->n_ready--;
		w->n_ready--;
		sl->state = SLOT_HELD;
		n->n_held++;
		w->n_held++;
		d[i].data = slot_data(w, s);
		d[i].len = sl->len;
		d[i].peer = w->nodes[sl->from].id;
		d[i].queue = 0;
		d[i].priv = sl;
		n->st.rx_dgrams++;
		n->st.rx_bytes += sl->len;
	}
	if (i > 0)
		n->st.busy_cycles++;
	else
		n->st.idle_cycles++;
	return i;
}

static void
sim_rx_release(struct tern_net *net, struct tern_net_dgram *d, unsigned int cnt)
{
	struct sim_node *n = to_node(net);
	struct tern_net_sim_world *w = n->w;
	unsigned int i;

	for (i = 0; i < cnt; i++) {
		struct slot *sl = d[i].priv;
		uintptr_t off = (uintptr_t)sl - (uintptr_t)w->slots;

		if (TERN_NEVER(sl == NULL || (uintptr_t)sl < (uintptr_t)w->slots ||
			       off >= (uintptr_t)w->nslots * sizeof(*sl) ||
			       off % sizeof(*sl) != 0 || sl->state != SLOT_HELD ||
			       sl->to != n->idx)) {
			SIM_DIAG(ERR, "node %u released a datagram it does not hold", n->id);
			continue;
		}
		n->n_held--;
		w->n_held--;
		slot_free(w, (uint32_t)(sl - w->slots));
		d[i].priv = NULL;
	}
}

static unsigned int
sim_tx_burst(struct tern_net *net, uint16_t queue, const struct tern_net_dgram *d, unsigned int cnt)
{
	struct sim_node *n = to_node(net);
	unsigned int i;

	if (queue != 0)
		return 0;
	for (i = 0; i < cnt; i++)
		send_one(n->w, n, &d[i]);
	return cnt;
}

static int
sim_wait(struct tern_net *net, uint16_t queue, uint64_t timeout_ns)
{
	struct sim_node *n = to_node(net);

	if (queue == 0 && n->ready_head != SIM_NONE)
		return 0;
	if (timeout_ns > 0)
		n->st.waits++;
	return -ETIMEDOUT;
}

static int
sim_link_up(struct tern_net *net, uint16_t peer)
{
	struct sim_node *n = to_node(net);
	const struct tern_net_sim_world *w = n->w;
	int to;

	if (!node_knows(n, peer))
		return -ENOENT;
	to = node_find(w, peer);
	if (to < 0)
		return 0;
	return n->alive && w->nodes[to].attached && w->nodes[to].alive &&
	       !link_at(w, n->idx, (unsigned int)to)->cut;
}

static void
sim_stats_get(struct tern_net *net, struct tern_net_stats *st)
{
	*st = to_node(net)->st;
}

static void
sim_close(struct tern_net *net)
{
	struct sim_node *n = to_node(net);
	struct tern_net_sim_world *w = n->w;
	uint32_t s;

	if (!n->attached)
		return;
	node_purge(w, n->idx);
	for (s = 0; s < w->nslots && n->n_held > 0; s++) {
		if (w->slots[s].state == SLOT_HELD && w->slots[s].to == n->idx) {
			slot_free(w, s);
			n->n_held--;
			w->n_held--;
		}
	}
	n->attached = false;
	n->alive = false;
	w->n_attached--;
}

/* ---- driver arguments ---- */

static struct tern_net_sim_world *
world_by_id(unsigned long id)
{
	struct tern_net_sim_world *w;

	for (w = worlds; w != NULL; w = w->next)
		if (w->id == id)
			return w;
	return NULL;
}

/*
 * tern_net_open("sim"): "world=ID" (decimal, or 0x hex: tern_net_args_parse), or nothing
 * when exactly one world lives.
 */
static int
sim_open(const struct tern_net_opts *o, struct tern_net **out)
{
	const char *args = NULL;
	struct tern_net_sim_world *w = NULL;

	if (o->opts_size >= offsetof(struct tern_net_opts, driver_args) + sizeof(args))
		args = o->driver_args;
	if (args != NULL && args[0] != '\0') {
		static const struct tern_net_arg defs[] = {{"world", 0, UINT32_MAX, "ID"}};
		char why[TERN_NET_ARGS_WHY_MAX];
		unsigned long id = ULONG_MAX;

		if (tern_net_args_parse(args, defs, 1, &id, why) != 0) {
			SIM_DIAG(ERR, "%s", why);
			return -EINVAL;
		}
		if ((w = world_by_id(id)) == NULL) {
			SIM_DIAG(ERR, "no simulated world %lu (driver argument world=ID)", id);
			return -EINVAL;
		}
	} else {
		if (worlds == NULL || worlds->next != NULL) {
			SIM_DIAG(ERR, "%s: name one with the driver argument world=ID",
				 worlds == NULL ? "no simulated world exists"
						: "several simulated worlds exist");
			return -EINVAL;
		}
		w = worlds;
	}
	return tern_net_sim_attach(w, o, out);
}

static const struct tern_net_ops sim_ops = {
	.name = "sim",
	.open = sim_open,
	.rx_burst = sim_rx_burst,
	.rx_release = sim_rx_release,
	.tx_burst = sim_tx_burst,
	.wait = sim_wait,
	.link_up = sim_link_up,
	.stats_get = sim_stats_get,
	.close = sim_close,
};

TERN_NET_DRIVER_REGISTER(sim, sim_ops);

/* ---- world ---- */

void
tern_net_sim_opts_init(struct tern_net_sim_opts *o, size_t size)
{
	const struct tern_net_sim_opts def = {
		.opts_size = sizeof(def),
		.seed = 1,
		.link = {.latency_ns = 10 * TERN_NS_PER_US},
		.slots = 4096,
		.mtu = TERN_NET_MTU_MAX,
		.nodes_max = 16,
	};

	if (o == NULL || size < sizeof(o->opts_size))
		return;
	memset(o, 0, size);
	memcpy(o, &def, TERN_MIN(size, sizeof(def)));
	o->opts_size = size;
}

int
tern_net_sim_world_create(const struct tern_net_sim_opts *o, struct tern_net_sim_world **out)
{
	struct tern_net_sim_opts opts;
	struct tern_net_sim_world *w;
	unsigned int i;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (o == NULL || o->opts_size < sizeof(o->opts_size))
		return -EINVAL;
	tern_net_sim_opts_init(&opts, sizeof(opts));
	memcpy(&opts, o, TERN_MIN(o->opts_size, sizeof(opts)));
	if (!link_params_ok(&opts.link) || opts.slots == 0 || opts.slots > SIM_SLOTS_MAX ||
	    opts.mtu == 0 || opts.mtu > TERN_NET_MTU_MAX || opts.nodes_max == 0 ||
	    opts.nodes_max > SIM_NODES_MAX)
		return -EINVAL;
	w = tern_zmalloc(sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->nslots = opts.slots;
	w->mtu = opts.mtu;
	w->nodes_max = opts.nodes_max;
	w->slots = tern_calloc(w->nslots, sizeof(*w->slots));
	w->heap = tern_calloc(w->nslots, sizeof(*w->heap));
	w->data = tern_malloc((size_t)w->nslots * w->mtu);
	w->nodes = tern_calloc(w->nodes_max, sizeof(*w->nodes));
	w->links = tern_calloc((size_t)w->nodes_max * w->nodes_max, sizeof(*w->links));
	if (w->slots == NULL || w->heap == NULL || w->data == NULL || w->nodes == NULL ||
	    w->links == NULL)
		goto fail;
	tern_prng_init(&w->prng, opts.seed);
	w->now = opts.start_ns;
	w->dflt = opts.link;
	/* Free list in index order, so a run's slot use does not depend on the allocator. */
	for (i = 0; i < w->nslots; i++)
		w->slots[i].next = i + 1 < w->nslots ? i + 1 : SIM_NONE;
	w->free_head = 0;
	w->n_free = w->min_free = w->nslots;
	w->id = world_next_id++;
	w->next = worlds;
	worlds = w;
	*out = w;
	return 0;
fail:
	tern_free(w->links);
	tern_free(w->nodes);
	tern_free(w->data);
	tern_free(w->heap);
	tern_free(w->slots);
	tern_free(w);
	return -ENOMEM;
}

void
tern_net_sim_world_destroy(struct tern_net_sim_world *w)
{
	struct tern_net_sim_world **pp;

	if (w == NULL)
		return;
	for (pp = &worlds; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	if (w->n_attached > 0)
		SIM_DIAG(INFO, "world %u destroyed with %u nodes attached", w->id, w->n_attached);
	tern_free(w->links);
	tern_free(w->nodes);
	tern_free(w->data);
	tern_free(w->heap);
	tern_free(w->slots);
	tern_free(w);
}

unsigned int
tern_net_sim_world_id(const struct tern_net_sim_world *w)
{
	return w->id;
}

int
tern_net_sim_attach(struct tern_net_sim_world *w, const struct tern_net_opts *o,
		    struct tern_net **out)
{
	struct tern_net_opts opts;
	struct sim_node *n;
	unsigned int i, j;
	int idx;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (w == NULL || o == NULL || o->opts_size < sizeof(o->opts_size))
		return -EINVAL;
	tern_net_opts_init(&opts, sizeof(opts));
	memcpy(&opts, o, TERN_MIN(o->opts_size, sizeof(opts)));
	if (opts.self.node_id == TERN_NET_SIM_ALL || opts.queues > 1 ||
	    opts.n_peers > TERN_NET_PEERS_MAX || (opts.n_peers > 0 && opts.peers == NULL)) {
		SIM_DIAG(ERR, "node %u: bad options (queues %u, %u peers)", opts.self.node_id,
			 opts.queues, opts.n_peers);
		return -EINVAL;
	}
	for (i = 0; i < opts.n_peers; i++) {
		for (j = 0; j < i; j++)
			if (opts.peers[j].node_id == opts.peers[i].node_id)
				break;
		if (opts.peers[i].node_id == opts.self.node_id || j < i) {
			SIM_DIAG(ERR, "node %u: peer %u is itself or listed twice",
				 opts.self.node_id, opts.peers[i].node_id);
			return -EINVAL;
		}
	}
	idx = node_find(w, opts.self.node_id);
	if (idx >= 0 && w->nodes[idx].attached)
		return -EEXIST;
	if (idx < 0) {
		struct sim_link *lk;

		if (w->n_known == w->nodes_max) {
			SIM_DIAG(ERR, "node %u: the world knows %u node ids, its nodes_max",
				 opts.self.node_id, w->nodes_max);
			return -ENOSPC;
		}
		idx = (int)w->n_known++;
		for (i = 0; i < w->n_known; i++) {
			lk = link_at(w, (unsigned int)idx, i);
			memset(lk, 0, sizeof(*lk));
			lk->p = w->dflt;
			lk = link_at(w, i, (unsigned int)idx);
			memset(lk, 0, sizeof(*lk));
			lk->p = w->dflt;
		}
		n = &w->nodes[idx];
		memset(n, 0, sizeof(*n));
		n->id = opts.self.node_id;
		n->idx = (uint16_t)idx;
	}
	n = &w->nodes[idx];
	n->base.ops = &sim_ops;
	n->w = w;
	n->attached = true;
	n->alive = true;
	n->mtu = opts.mtu == 0 || opts.mtu > w->mtu ? w->mtu : opts.mtu;
	n->n_peers = opts.n_peers;
	for (i = 0; i < opts.n_peers; i++)
		n->peers[i] = opts.peers[i].node_id;
	n->ready_head = n->ready_tail = SIM_NONE;
	n->n_ready = 0;
	n->n_held = 0;
	memset(&n->st, 0, sizeof(n->st));
	w->n_attached++;
	*out = &n->base;
	return 0;
}

/* ---- controls ---- */

/* Node entries named by @p id (one, or all known for the wildcard); -ENOENT if unknown. */
static int
range_of(const struct tern_net_sim_world *w, uint16_t id, unsigned int *lo, unsigned int *hi)
{
	int i;

	if (id == TERN_NET_SIM_ALL) {
		*lo = 0;
		*hi = w->n_known;
		return 0;
	}
	i = node_find(w, id);
	if (i < 0)
		return -ENOENT;
	*lo = (unsigned int)i;
	*hi = (unsigned int)i + 1;
	return 0;
}

enum link_op {
	LINK_SET,
	LINK_CUT,
	LINK_HEAL,
	LINK_LOSS,
	LINK_DUP,
	LINK_DELAY,
};

static int
links_apply(struct tern_net_sim_world *w, uint16_t from, uint16_t to, bool both, enum link_op op,
	    const struct tern_net_sim_link *p)
{
	unsigned int flo, fhi, tlo, thi, f, t;
	int rc;

	if (w == NULL)
		return -EINVAL;
	rc = range_of(w, from, &flo, &fhi);
	if (rc == 0)
		rc = range_of(w, to, &tlo, &thi);
	if (rc != 0)
		return rc;
	for (f = flo; f < fhi; f++) {
		for (t = tlo; t < thi; t++) {
			struct sim_link *lk[2] = {link_at(w, f, t), link_at(w, t, f)};
			unsigned int k;

			if (f == t)
				continue;
			for (k = 0; k < (both ? 2U : 1U); k++) {
				switch (op) {
				case LINK_SET:
					lk[k]->p = *p;
					break;
				case LINK_CUT:
					lk[k]->cut = true;
					break;
				case LINK_HEAL:
					lk[k]->cut = false;
					break;
				case LINK_LOSS:
					lk[k]->p.loss = p->loss;
					break;
				case LINK_DUP:
					lk[k]->p.dup = p->dup;
					break;
				case LINK_DELAY:
					lk[k]->p.latency_ns = p->latency_ns;
					lk[k]->p.jitter_ns = p->jitter_ns;
					break;
				}
			}
		}
	}
	if (from == TERN_NET_SIM_ALL && to == TERN_NET_SIM_ALL) {
		switch (op) {
		case LINK_SET:
			w->dflt = *p;
			break;
		case LINK_LOSS:
			w->dflt.loss = p->loss;
			break;
		case LINK_DUP:
			w->dflt.dup = p->dup;
			break;
		case LINK_DELAY:
			w->dflt.latency_ns = p->latency_ns;
			w->dflt.jitter_ns = p->jitter_ns;
			break;
		default:
			break;
		}
	}
	return 0;
}

int
tern_net_sim_link_set(struct tern_net_sim_world *w, uint16_t from, uint16_t to,
		      const struct tern_net_sim_link *l)
{
	if (!link_params_ok(l))
		return -EINVAL;
	return links_apply(w, from, to, false, LINK_SET, l);
}

int
tern_net_sim_link_get(const struct tern_net_sim_world *w, uint16_t from, uint16_t to,
		      struct tern_net_sim_link *l)
{
	int f, t;

	if (w == NULL || l == NULL)
		return -EINVAL;
	if (from == TERN_NET_SIM_ALL && to == TERN_NET_SIM_ALL) {
		*l = w->dflt;
		return 0;
	}
	if (from == TERN_NET_SIM_ALL || to == TERN_NET_SIM_ALL || from == to)
		return -EINVAL;
	f = node_find(w, from);
	t = node_find(w, to);
	if (f < 0 || t < 0)
		return -ENOENT;
	*l = link_at(w, (unsigned int)f, (unsigned int)t)->p;
	return 0;
}

int
tern_net_sim_set_loss(struct tern_net_sim_world *w, uint16_t from, uint16_t to, double loss)
{
	struct tern_net_sim_link p = {.loss = loss};

	if (!prob_ok(loss))
		return -EINVAL;
	return links_apply(w, from, to, false, LINK_LOSS, &p);
}

int
tern_net_sim_set_dup(struct tern_net_sim_world *w, uint16_t from, uint16_t to, double dup)
{
	struct tern_net_sim_link p = {.dup = dup};

	if (!prob_ok(dup))
		return -EINVAL;
	return links_apply(w, from, to, false, LINK_DUP, &p);
}

int
tern_net_sim_set_delay(struct tern_net_sim_world *w, uint16_t from, uint16_t to,
		       uint64_t latency_ns, uint64_t jitter_ns)
{
	struct tern_net_sim_link p = {.latency_ns = latency_ns, .jitter_ns = jitter_ns};

	return links_apply(w, from, to, false, LINK_DELAY, &p);
}

int
tern_net_sim_partition(struct tern_net_sim_world *w, uint16_t a, uint16_t b)
{
	return links_apply(w, a, b, true, LINK_CUT, NULL);
}

int
tern_net_sim_partition_oneway(struct tern_net_sim_world *w, uint16_t from, uint16_t to)
{
	return links_apply(w, from, to, false, LINK_CUT, NULL);
}

int
tern_net_sim_heal(struct tern_net_sim_world *w, uint16_t a, uint16_t b)
{
	return links_apply(w, a, b, true, LINK_HEAL, NULL);
}

int
tern_net_sim_kill(struct tern_net_sim_world *w, uint16_t node)
{
	int i;

	if (w == NULL)
		return -EINVAL;
	i = node_find(w, node);
	if (i < 0)
		return -ENOENT;
	if (!w->nodes[i].alive)
		return 0;
	node_purge(w, (unsigned int)i);
	w->nodes[i].alive = false;
	return 0;
}

int
tern_net_sim_revive(struct tern_net_sim_world *w, uint16_t node)
{
	int i;

	if (w == NULL)
		return -EINVAL;
	i = node_find(w, node);
	if (i < 0)
		return -ENOENT;
	if (w->nodes[i].attached)
		w->nodes[i].alive = true;
	return 0;
}

int
tern_net_sim_alive(const struct tern_net_sim_world *w, uint16_t node)
{
	int i;

	if (w == NULL)
		return -EINVAL;
	i = node_find(w, node);
	if (i < 0)
		return -ENOENT;
	return w->nodes[i].attached && w->nodes[i].alive;
}

int
tern_net_sim_advance(struct tern_net_sim_world *w, uint64_t now_ns)
{
	unsigned int before;

	if (w == NULL || now_ns < w->now)
		return -EINVAL;
	w->now = now_ns;
	before = w->n_ready;
	while (w->heap_n > 0 && w->slots[w->heap[0]].due <= now_ns)
		deliver(w, heap_pop(w));
	/* Only deliver() adds to the FIFOs; nothing removes from them in this loop. */
	return (int)TERN_MIN(w->n_ready - before, (unsigned int)INT_MAX);
}

uint64_t
tern_net_sim_now(const struct tern_net_sim_world *w)
{
	return w->now;
}

uint64_t
tern_net_sim_next_due(const struct tern_net_sim_world *w)
{
	return w->heap_n > 0 ? w->slots[w->heap[0]].due : TERN_TIME_NEVER;
}

int
tern_net_sim_receivable(const struct tern_net_sim_world *w, uint16_t node)
{
	int i;

	if (w == NULL)
		return -EINVAL;
	i = node_find(w, node);
	if (i < 0)
		return -ENOENT;
	return (int)w->nodes[i].n_ready;
}

int
tern_net_sim_link_stats_get(const struct tern_net_sim_world *w, uint16_t from, uint16_t to,
			    struct tern_net_sim_link_stats *st)
{
	unsigned int flo, fhi, tlo, thi, f, t;
	int rc;

	if (w == NULL || st == NULL || (from == to && from != TERN_NET_SIM_ALL))
		return -EINVAL;
	rc = range_of(w, from, &flo, &fhi);
	if (rc == 0)
		rc = range_of(w, to, &tlo, &thi);
	if (rc != 0)
		return rc;
	memset(st, 0, sizeof(*st));
	for (f = flo; f < fhi; f++) {
		for (t = tlo; t < thi; t++) {
			const struct tern_net_sim_link_stats *s = &link_at(w, f, t)->st;

			if (f == t)
				continue;
			st->sent += s->sent;
			st->delivered += s->delivered;
			st->lost += s->lost;
			st->duplicated += s->duplicated;
			st->reordered += s->reordered;
			st->cut += s->cut;
			st->dead += s->dead;
			st->full += s->full;
			st->rejected += s->rejected;
		}
	}
	return 0;
}

void
tern_net_sim_world_stats_get(const struct tern_net_sim_world *w,
			     struct tern_net_sim_world_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->now_ns = w->now;
	st->slots = w->nslots;
	st->in_flight = w->heap_n;
	st->receivable = w->n_ready;
	st->held = w->n_held;
	st->slots_min_free = w->min_free;
	st->full = w->full;
	st->nodes = w->n_attached;
	st->known = w->n_known;
}
