/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dpdk network driver (tern_net_dpdk.h): Tern datagrams in Ethernet + IPv4 + UDP
 * frames over DPDK ethdev ports.
 *
 * Layout: the instance owns the distinct ports of its peer table, each configured with
 * one rx/tx queue pair per datapath queue. Queue q has its own state (struct dp_queue,
 * cache aligned): an mbuf pool, a small pool of whole-frame mbufs to linearise received
 * chains into, counters, the adaptive-polling state and an epoll fd holding the rx
 * interrupt fds of queue q of every port (when they all have one). Only the thread of
 * queue q touches it. The port table is written at open and close; its link states are
 * refreshed by whichever queue's thread finds them stale first (a compare-and-swap on
 * the refresh time picks one), and marked stale at once by link-state-change events.
 *
 * Tx builds one mbuf (or a chain, when a frame is larger than the mbuf data room) per
 * datagram and hands runs of consecutive datagrams for the same port to
 * rte_eth_tx_burst(); a datagram for an unknown peer, a too large one or one whose link
 * is down is dropped and counted. Rx polls queue q of every port in turn (the first port
 * rotates), checks each frame with tern_wire_l2_parse() and names the sender by its
 * IPv4 address and UDP port.
 *
 * Idle: see tern_net_dpdk.h. Before blocking on rx interrupts, wait() enables them and
 * takes one last look at the rings: frames that arrived before the enable raise no
 * interrupt, so they are stashed and handed out first by the next rx_burst().
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_memcpy.h>
#include <rte_pause.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_heap.h>
#include <tern_time.h>
#include <tern_wire.h>

#include "tern_net.h"
#include "tern_net_dpdk.h"

TERN_DIAG_REGISTER(dpdk, NOTICE);

#define DP_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, dpdk, "%s(): " fmt, __func__, ##__VA_ARGS__)
#define DP_DIAG_RL(lvl, fmt, ...)                                                                  \
	TERN_DIAG_RATELIMIT(4096, lvl, dpdk, "%s(): " fmt, __func__, ##__VA_ARGS__)

#define DP_QUEUES_MAX	64
#define DP_LIN_MBUFS	127 /* whole-frame mbufs per queue for linearising rx chains */
#define DP_EPOLL_EVENTS 8

struct dp_args {
	unsigned long mbufs;	 /* 0: computed */
	unsigned long mbuf_size; /* data room incl. headroom; 0: a whole frame */
	unsigned long rxd, txd;
	unsigned long rxq_intr;
	unsigned long spin;
	unsigned long yield_us;
	unsigned long sleep_us;
	unsigned long link_ms;
	unsigned long promisc;
	unsigned long start_ms;
};

struct dp_port {
	uint16_t id;
	bool configured;
	bool started;
	bool lsc_cb;
	bool tx_multiseg;
	bool memif;
	int link;		       /* 1 up, 0 down (written atomically) */
	struct tern_wire_l2_addr self; /* our addresses on this port */
};

struct dp_peer {
	struct tern_wire_l2_addr l2;
	uint16_t node;
	uint16_t pidx; /* index in dp_net.ports */
};

struct dp_queue {
	struct rte_mempool *pool;
	struct rte_mempool *lin_pool;
	struct tern_net_stats st;
	uint64_t idle_streak; /* idle rx passes in a row */
	uint64_t idle_since;  /* TSC of the first of them */
	uint16_t rr;	      /* port polled first next time */
	bool link_stale;      /* a frame came in on a port thought down */
	int epfd;	      /* -1: this queue has no rx interrupts */
	uint16_t n_stash, stash_pos;
	uint16_t stash_port[TERN_NET_BURST];
	struct rte_mbuf *stash[TERN_NET_BURST];
} __tern_cache_aligned;

struct dp_net {
	struct tern_net base;
	unsigned int inst;
	enum tern_net_poll_mode mode;
	struct dp_args a;
	uint32_t mtu;	    /* largest datagram */
	uint32_t frame_max; /* L2 headers + mtu */
	uint32_t seg_room;  /* data bytes one mbuf holds */
	uint16_t self_node;
	unsigned int n_ports, n_peers, n_queues;
	uint64_t tsc_hz, link_cycles, yield_cycles;
	uint64_t link_checked; /* TSC of the last link refresh (compare-and-swap) */
	int link_dirty;	       /* set by link-state-change events */
	struct dp_port ports[TERN_NET_PEERS_MAX];
	struct dp_peer peers[TERN_NET_PEERS_MAX];
	struct dp_queue *q;
};

static const struct tern_net_ops dpdk_ops;
static unsigned int dp_instances;

/* ---- driver arguments ---- */

struct dp_arg_def {
	const char *key;
	size_t off;
	unsigned long max;
};

static const struct dp_arg_def arg_defs[] = {
	{"mbufs", offsetof(struct dp_args, mbufs), 1UL << 24},
	{"mbuf_size", offsetof(struct dp_args, mbuf_size), UINT16_MAX},
	{"rxd", offsetof(struct dp_args, rxd), 32768},
	{"txd", offsetof(struct dp_args, txd), 32768},
	{"rxq_intr", offsetof(struct dp_args, rxq_intr), 1},
	{"spin", offsetof(struct dp_args, spin), 1UL << 30},
	{"yield_us", offsetof(struct dp_args, yield_us), 60UL * 1000 * 1000},
	{"sleep_us", offsetof(struct dp_args, sleep_us), 1000 * 1000},
	{"link_ms", offsetof(struct dp_args, link_ms), 60UL * 1000},
	{"promisc", offsetof(struct dp_args, promisc), 1},
	{"start_ms", offsetof(struct dp_args, start_ms), 600UL * 1000},
};

static int
args_parse(const char *s, struct dp_args *a)
{
	a->mbufs = 0;
	a->mbuf_size = 0;
	a->rxd = 512;
	a->txd = 512;
	a->rxq_intr = 1;
	a->spin = 256;
	a->yield_us = 1000;
	a->sleep_us = 100;
	a->link_ms = 100;
	a->promisc = 0;
	a->start_ms = 5000;
	while (s != NULL && *s != '\0') {
		const char *eq = strchr(s, '='), *end = strchr(s, ',');
		const struct dp_arg_def *def = NULL;
		unsigned long v;
		char *vend;
		size_t klen, i;

		if (end == NULL)
			end = s + strlen(s);
		if (eq == NULL || eq > end) {
			DP_DIAG(ERR, "driver argument '%.*s' is not key=value", (int)(end - s), s);
			return -EINVAL;
		}
		klen = (size_t)(eq - s);
		for (i = 0; i < TERN_DIM(arg_defs); i++)
			if (strlen(arg_defs[i].key) == klen &&
			    memcmp(arg_defs[i].key, s, klen) == 0)
				def = &arg_defs[i];
		if (def == NULL) {
			DP_DIAG(ERR, "unknown driver argument '%.*s'", (int)klen, s);
			return -EINVAL;
		}
		errno = 0;
		v = strtoul(eq + 1, &vend, 0);
		if (errno != 0 || vend != end || eq + 1 == end || v > def->max) {
			DP_DIAG(ERR, "bad value for driver argument %s (0..%lu)", def->key,
				def->max);
			return -EINVAL;
		}
		*(unsigned long *)((char *)a + def->off) = v;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* ---- links ---- */

static void
link_read(struct dp_net *dn, struct dp_port *p)
{
	struct rte_eth_link l;
	int up = 0, was;

	memset(&l, 0, sizeof(l));
	if (rte_eth_link_get_nowait(p->id, &l) == 0)
		up = l.link_status == RTE_ETH_LINK_UP;
	was = __atomic_exchange_n(&p->link, up, __ATOMIC_RELAXED);
	if (was != up)
		DP_DIAG(INFO, "instance %u port %u link %s", dn->inst, p->id, up ? "up" : "down");
}

/*
 * Re-read link states every link_ms, at once when @p force, and soon (at most every 10 us)
 * after a link-state-change event; one thread does it.
 */
static void
links_refresh(struct dp_net *dn, uint64_t now, bool force)
{
	uint64_t last = __atomic_load_n(&dn->link_checked, __ATOMIC_RELAXED);
	unsigned int i;

	if (!force && now - last < dn->link_cycles &&
	    (now - last < dn->tsc_hz / 100000 ||
	     !__atomic_load_n(&dn->link_dirty, __ATOMIC_RELAXED)))
		return;
	if (!__atomic_compare_exchange_n(&dn->link_checked, &last, now, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&dn->link_dirty, 0, __ATOMIC_RELAXED);
	for (i = 0; i < dn->n_ports; i++)
		link_read(dn, &dn->ports[i]);
}

/* Link-state-change event, on the EAL interrupt thread: mark the links stale. */
static int
lsc_event(uint16_t port, enum rte_eth_event_type type, void *arg, void *ret_param)
{
	struct dp_net *dn = arg;

	(void)port;
	(void)type;
	(void)ret_param;
	__atomic_store_n(&dn->link_dirty, 1, __ATOMIC_RELAXED);
	return 0;
}

static inline bool
port_up(const struct dp_port *p)
{
	return __atomic_load_n(&p->link, __ATOMIC_RELAXED) != 0;
}

/* ---- peers ---- */

static const struct dp_peer *
peer_by_node(const struct dp_net *dn, uint16_t node)
{
	unsigned int i;

	for (i = 0; i < dn->n_peers; i++)
		if (dn->peers[i].node == node)
			return &dn->peers[i];
	return NULL;
}

/*
 * The peer a frame from @p from came from: the one of that address behind the port it
 * arrived on (in a mesh the port alone names the peer), else any of that address.
 */
static const struct dp_peer *
peer_by_addr(const struct dp_net *dn, uint16_t pidx, const struct tern_wire_l2_addr *from)
{
	const struct dp_peer *any = NULL;
	unsigned int i;

	for (i = 0; i < dn->n_peers; i++) {
		const struct dp_peer *p = &dn->peers[i];

		if (p->l2.ipv4 != from->ipv4 || p->l2.port != from->port)
			continue;
		if (p->pidx == pidx)
			return p;
		if (any == NULL)
			any = p;
	}
	return any;
}

static bool
mac_is_zero(const uint8_t *m)
{
	static const uint8_t zero[6];

	return memcmp(m, zero, 6) == 0;
}

/* ---- data path ---- */

static inline struct dp_net *
dp(struct tern_net *n)
{
	return (struct dp_net *)n;
}

static inline void
account(struct dp_queue *dq, bool work)
{
	if (work) {
		dq->st.busy_cycles++;
		dq->idle_streak = 0;
	} else {
		if (dq->idle_streak++ == 0)
			dq->idle_since = rte_rdtsc();
		dq->st.idle_cycles++;
	}
}

/*
 * Make a received chain one contiguous frame: in place when its first mbuf has the room,
 * else copied into a whole-frame mbuf (freeing @p m). NULL when out of mbufs.
 */
static struct rte_mbuf *
rx_linearise(struct dp_queue *dq, struct rte_mbuf *m)
{
	struct rte_mbuf *l;
	char *dst;

	if (rte_pktmbuf_linearize(m) == 0)
		return m;
	l = m->pkt_len <= UINT16_MAX ? rte_pktmbuf_alloc(dq->lin_pool) : NULL;
	dst = l != NULL ? rte_pktmbuf_append(l, (uint16_t)m->pkt_len) : NULL;
	if (dst == NULL) {
		rte_pktmbuf_free(l);
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* A chain is never contiguous: rte_pktmbuf_read() copies it into dst. */
	rte_pktmbuf_read(m, 0, m->pkt_len, dst);
	rte_pktmbuf_free(m);
	return l;
}

/* Check one received frame; on success fill @p d and return 1, else free it. */
static unsigned int
rx_take(struct dp_net *dn, struct dp_queue *dq, uint16_t queue, uint16_t pidx, struct rte_mbuf *m,
	struct tern_net_dgram *d)
{
	struct tern_wire_l2_addr from;
	const struct dp_peer *p;
	enum tern_wire_rej rej;
	uint32_t off, len;
	uint8_t *data;

	if (m->nb_segs > 1) {
		m = rx_linearise(dq, m);
		if (m == NULL) {
			dq->st.rx_dropped++;
			DP_DIAG_RL(WARNING, "queue %u: no mbuf to linearise a received chain",
				   queue);
			return 0;
		}
	}
	data = rte_pktmbuf_mtod(m, uint8_t *);
	rej = tern_wire_l2_parse(data, m->data_len, &dn->ports[pidx].self, &from, &off, &len);
	if (rej != TERN_WIRE_REJ_NONE) {
		dq->st.rx_dropped++;
		TERN_DIAG_DP(DEBUG, dpdk, "port %u: frame rejected: %s", dn->ports[pidx].id,
			     tern_wire_rej_str(rej));
		rte_pktmbuf_free(m);
		return 0;
	}
	p = peer_by_addr(dn, pidx, &from);
	if (p == NULL) {
		dq->st.rx_dropped++;
		rte_pktmbuf_free(m);
		return 0;
	}
	/*
	 * A frame on a port we think down: the link came up since we last looked (vhost
	 * passes no frame before it says so). Re-read it before this burst is handed out,
	 * or datagrams sent in answer would be dropped as if the link were still down.
	 */
	if (tern_unlikely(!port_up(&dn->ports[pidx])))
		dq->link_stale = true;
	d->data = data + off;
	d->len = len;
	d->peer = p->node;
	d->queue = queue;
	d->priv = m;
	dq->st.rx_dgrams++;
	dq->st.rx_bytes += len;
	return 1;
}

static unsigned int
dp_rx_burst(struct tern_net *n, uint16_t queue, struct tern_net_dgram *d, unsigned int max)
{
	struct dp_net *dn = dp(n);
	struct dp_queue *dq = &dn->q[queue];
	struct rte_mbuf *mb[TERN_NET_BURST];
	unsigned int got = 0, seen = 0, k, i;

	assert(queue < dn->n_queues);
	while (dq->stash_pos < dq->n_stash && got < max) {
		got += rx_take(dn, dq, queue, dq->stash_port[dq->stash_pos],
			       dq->stash[dq->stash_pos], &d[got]);
		dq->stash_pos++;
		seen++;
	}
	if (dq->stash_pos == dq->n_stash)
		dq->n_stash = dq->stash_pos = 0;
	for (k = 0; k < dn->n_ports && got < max; k++) {
		uint16_t pidx = (uint16_t)((dq->rr + k) % dn->n_ports);
		uint16_t want = (uint16_t)RTE_MIN(max - got, (unsigned int)TERN_NET_BURST);
		uint16_t nb = rte_eth_rx_burst(dn->ports[pidx].id, queue, mb, want);

		for (i = 0; i < nb; i++)
			got += rx_take(dn, dq, queue, pidx, mb[i], &d[got]);
		seen += nb;
	}
	if (dn->n_ports > 1)
		dq->rr = (uint16_t)((dq->rr + 1) % dn->n_ports);
	if (tern_unlikely(dq->link_stale)) {
		dq->link_stale = false;
		links_refresh(dn, rte_rdtsc(), true);
	}
	account(dq, seen > 0);
	return got;
}

static void
dp_rx_release(struct tern_net *n, struct tern_net_dgram *d, unsigned int cnt)
{
	struct rte_mbuf *mb[TERN_NET_BURST];
	unsigned int i, k = 0;

	(void)n;
	for (i = 0; i < cnt; i++) {
		if (d[i].priv == NULL)
			continue;
		mb[k++] = d[i].priv;
		d[i].priv = NULL;
		if (k == TERN_NET_BURST) {
			rte_pktmbuf_free_bulk(mb, k);
			k = 0;
		}
	}
	if (k > 0)
		rte_pktmbuf_free_bulk(mb, k);
}

/*
 * One frame for @p d to @p p: one mbuf, or a chain when it is larger than an mbuf.
 * NULL when the pool is empty.
 */
static struct rte_mbuf *
frame_build(struct dp_net *dn, struct dp_queue *dq, const struct dp_peer *p,
	    const struct tern_net_dgram *d)
{
	uint32_t flen = TERN_WIRE_L2_HDR_LEN + d->len, off, chunk;
	struct rte_mbuf *m, *last, *seg;
	const uint8_t *src = d->data;
	uint8_t *b;

	m = rte_pktmbuf_alloc(dq->pool);
	if (m == NULL)
		return NULL;
	if (flen <= dn->seg_room) {
		b = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)flen);
		tern_wire_l2_build(b, &dn->ports[p->pidx].self, &p->l2, d->len);
		rte_memcpy(b + TERN_WIRE_L2_HDR_LEN, src, d->len);
		return m;
	}
	b = (uint8_t *)rte_pktmbuf_append(m, TERN_WIRE_L2_HDR_LEN);
	tern_wire_l2_build(b, &dn->ports[p->pidx].self, &p->l2, d->len);
	last = m;
	for (off = 0; off < d->len; off += chunk) {
		if (rte_pktmbuf_tailroom(last) == 0) {
			seg = rte_pktmbuf_alloc(dq->pool);
			if (seg == NULL) {
				rte_pktmbuf_free(m);
				return NULL;
			}
			seg->data_off = 0;
			last->next = seg;
			last = seg;
			m->nb_segs++;
		}
		chunk = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(last), d->len - off);
		rte_memcpy(rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len), src + off,
			   chunk);
		last->data_len = (uint16_t)(last->data_len + chunk);
		m->pkt_len += chunk;
	}
	return m;
}

static const char *
drop_reason(const struct dp_net *dn, const struct dp_peer *p)
{
	if (p == NULL)
		return "unknown peer";
	if (!port_up(&dn->ports[p->pidx]))
		return "link down";
	return "too large";
}

static unsigned int
dp_tx_burst(struct tern_net *n, uint16_t queue, const struct tern_net_dgram *d, unsigned int cnt)
{
	struct dp_net *dn = dp(n);
	struct dp_queue *dq = &dn->q[queue];
	struct rte_mbuf *mb[TERN_NET_BURST];
	unsigned int i = 0, j;

	assert(queue < dn->n_queues);
	if (cnt == 0)
		return 0;
	links_refresh(dn, rte_rdtsc(), false);
	dq->idle_streak = 0;
	while (i < cnt) {
		unsigned int start = i, nrun = 0;
		uint16_t run_pidx = 0, sent;

		while (i < cnt && nrun < TERN_NET_BURST) {
			const struct dp_peer *p = peer_by_node(dn, d[i].peer);
			struct rte_mbuf *m;

			if (p == NULL || !port_up(&dn->ports[p->pidx]) || d[i].len > dn->mtu ||
			    (TERN_WIRE_L2_HDR_LEN + d[i].len > dn->seg_room &&
			     !dn->ports[p->pidx].tx_multiseg)) {
				/* Dropped and counted: taken, never retried. */
				if (nrun > 0)
					break;
				dq->st.tx_dropped++;
				DP_DIAG_RL(INFO, "queue %u: datagram to node %u dropped (%s)",
					   queue, d[i].peer, drop_reason(dn, p));
				start = ++i;
				continue;
			}
			if (nrun > 0 && p->pidx != run_pidx)
				break;
			m = frame_build(dn, dq, p, &d[i]);
			if (m == NULL)
				break; /* out of mbufs: send what we have, retry the rest */
			run_pidx = p->pidx;
			mb[nrun++] = m;
			i++;
		}
		if (nrun == 0) {
			if (i < cnt) {
				dq->st.tx_full++;
				return i;
			}
			break;
		}
		sent = rte_eth_tx_burst(dn->ports[run_pidx].id, queue, mb, (uint16_t)nrun);
		for (j = 0; j < sent; j++)
			dq->st.tx_bytes += d[start + j].len;
		dq->st.tx_dgrams += sent;
		if (sent < nrun) {
			rte_pktmbuf_free_bulk(mb + sent, nrun - sent);
			dq->st.tx_full++;
			return start + sent;
		}
	}
	return cnt;
}

/* Sleep @p ns nanoseconds (a signal ends it early). */
static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	nanosleep(&ts, NULL);
}

static void
intr_set(struct dp_net *dn, uint16_t queue, bool on)
{
	unsigned int i;

	for (i = 0; i < dn->n_ports; i++) {
		if (on)
			rte_eth_dev_rx_intr_enable(dn->ports[i].id, queue);
		else
			rte_eth_dev_rx_intr_disable(dn->ports[i].id, queue);
	}
}

/* Block on the rx interrupts of @p queue for at most @p ns. */
static int
wait_intr(struct dp_net *dn, struct dp_queue *dq, uint16_t queue, uint64_t ns)
{
	struct epoll_event ev[DP_EPOLL_EVENTS];
	struct timespec ts;
	unsigned int k, n = 0;
	int rc, err;

	intr_set(dn, queue, true);
	/* Frames that came in before the enable raise no interrupt: look once more. */
	for (k = 0; k < dn->n_ports && n < TERN_NET_BURST; k++) {
		uint16_t nb = rte_eth_rx_burst(dn->ports[k].id, queue, dq->stash + n,
					       (uint16_t)(TERN_NET_BURST - n));

		while (nb-- > 0)
			dq->stash_port[n++] = (uint16_t)k;
	}
	if (n > 0) {
		intr_set(dn, queue, false);
		dq->n_stash = (uint16_t)n;
		dq->stash_pos = 0;
		return 0;
	}
	dq->st.waits++;
	ts.tv_sec = (time_t)(ns / 1000000000ULL);
	ts.tv_nsec = (long)(ns % 1000000000ULL);
	rc = epoll_pwait2(dq->epfd, ev, DP_EPOLL_EVENTS, &ts, NULL);
	if (rc < 0 && errno == ENOSYS) /* kernels before 5.11: millisecond timeouts */
		rc = epoll_wait(dq->epfd, ev, DP_EPOLL_EVENTS,
				(int)RTE_MIN((ns + 999999) / 1000000, (uint64_t)INT_MAX));
	err = rc < 0 ? errno : 0;
	intr_set(dn, queue, false);
	if (rc > 0 || err == EINTR)
		return 0;
	return rc == 0 ? -ETIMEDOUT : -err;
}

static int
dp_wait(struct tern_net *n, uint16_t queue, uint64_t timeout_ns)
{
	struct dp_net *dn = dp(n);
	struct dp_queue *dq = &dn->q[queue];
	uint64_t now, ns;

	assert(queue < dn->n_queues);
	if (dq->stash_pos < dq->n_stash)
		return 0;
	if (dn->mode == TERN_NET_POLL_BUSY) {
		rte_pause();
		return 0;
	}
	if (dq->idle_streak < dn->a.spin)
		return 0;
	now = rte_rdtsc();
	links_refresh(dn, now, false);
	if (now - dq->idle_since < dn->yield_cycles || timeout_ns == 0) {
		sched_yield();
		return timeout_ns == 0 ? -ETIMEDOUT : 0;
	}
	if (dq->epfd >= 0)
		return wait_intr(dn, dq, queue, timeout_ns);
	dq->st.waits++;
	ns = RTE_MIN(timeout_ns, (uint64_t)dn->a.sleep_us * 1000);
	sleep_ns(ns);
	return ns < timeout_ns ? 0 : -ETIMEDOUT;
}

static int
dp_link_up(struct tern_net *n, uint16_t peer)
{
	struct dp_net *dn = dp(n);
	const struct dp_peer *p = peer_by_node(dn, peer);

	if (p == NULL)
		return -ENOENT;
	links_refresh(dn, rte_rdtsc(), false);
	return port_up(&dn->ports[p->pidx]) ? 1 : 0;
}

static void
stats_add(struct tern_net_stats *to, const struct tern_net_stats *s)
{
	to->rx_dgrams += s->rx_dgrams;
	to->rx_bytes += s->rx_bytes;
	to->tx_dgrams += s->tx_dgrams;
	to->tx_bytes += s->tx_bytes;
	to->rx_dropped += s->rx_dropped;
	to->tx_dropped += s->tx_dropped;
	to->tx_full += s->tx_full;
	to->waits += s->waits;
	to->busy_cycles += s->busy_cycles;
	to->idle_cycles += s->idle_cycles;
}

static void
dp_stats_get(struct tern_net *n, struct tern_net_stats *st)
{
	struct dp_net *dn = dp(n);
	struct rte_eth_stats es;
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < dn->n_queues; i++)
		stats_add(st, &dn->q[i].st);
	for (i = 0; i < dn->n_ports; i++) {
		if (rte_eth_stats_get(dn->ports[i].id, &es) != 0)
			continue;
		st->rx_dropped += es.imissed + es.ierrors + es.rx_nombuf;
		st->tx_dropped += es.oerrors;
	}
}

int
tern_net_dpdk_queue_stats(struct tern_net *n, uint16_t queue, struct tern_net_stats *st)
{
	struct dp_net *dn = dp(n);

	if (n == NULL || st == NULL || n->ops != &dpdk_ops || queue >= dn->n_queues)
		return -EINVAL;
	*st = dn->q[queue].st;
	return 0;
}

/* ---- open and close ---- */

/*
 * Release everything, closing the ports this instance configured (a failed open too: a
 * port whose queues used our pools cannot outlive them). Ports it never configured (a
 * failure before that, such as bad arguments) are left as they were.
 */
static void
dp_free(struct dp_net *dn)
{
	bool memif = false;
	unsigned int i, q;

	for (i = 0; i < dn->n_ports; i++) {
		struct dp_port *p = &dn->ports[i];

		/* -EAGAIN: the callback is running on the interrupt thread right now. */
		while (p->lsc_cb && rte_eth_dev_callback_unregister(p->id, RTE_ETH_EVENT_INTR_LSC,
								    lsc_event, dn) == -EAGAIN)
			sleep_ns(TERN_NS_PER_MS);
		for (q = 0; dn->q != NULL && q < dn->n_queues; q++)
			if (dn->q[q].epfd >= 0 && p->started)
				rte_eth_dev_rx_intr_ctl_q(p->id, (uint16_t)q, dn->q[q].epfd,
							  RTE_INTR_EVENT_DEL, NULL);
		if (p->started) {
			int rc = rte_eth_dev_stop(p->id);

			if (rc != 0)
				DP_DIAG(WARNING, "port %u: stop failed: %s", p->id, strerror(-rc));
		}
		if (p->configured) {
			rte_eth_dev_close(p->id);
			memif |= p->memif;
		}
	}
	/*
	 * memif (DPDK 22.11) hands its socket teardown to the EAL interrupt thread; an
	 * rte_eal_cleanup() that follows at once crashes that thread now and then. Give it
	 * time to finish.
	 */
	if (memif)
		sleep_ns(100 * TERN_NS_PER_MS);
	for (q = 0; dn->q != NULL && q < dn->n_queues; q++) {
		struct dp_queue *dq = &dn->q[q];

		if (dq->stash_pos < dq->n_stash)
			rte_pktmbuf_free_bulk(dq->stash + dq->stash_pos,
					      (unsigned int)(dq->n_stash - dq->stash_pos));
		if (dq->epfd >= 0)
			close(dq->epfd);
		rte_mempool_free(dq->pool);
		rte_mempool_free(dq->lin_pool);
	}
	tern_free(dn->q);
	tern_free(dn);
}

static void
dp_close(struct tern_net *n)
{
	if (n != NULL)
		dp_free(dp(n));
}

/* Round up to 2^k - 1, the mempool's best size. */
static unsigned int
pool_size(unsigned long n)
{
	unsigned int s = 1;

	while (s - 1 < n && s < (1U << 30))
		s <<= 1;
	return s - 1;
}

static int
queue_pools(struct dp_net *dn, unsigned int q, int socket)
{
	struct dp_queue *dq = &dn->q[q];
	unsigned long need = 0;
	unsigned int n, cache, i;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint32_t room;

	for (i = 0; i < dn->n_ports; i++)
		need += dn->a.rxd + dn->a.txd;
	if (dn->seg_room < dn->frame_max) /* chains: a frame takes several mbufs */
		need *= (dn->frame_max + dn->seg_room - 1) / dn->seg_room;
	need += 4 * TERN_NET_BURST + 512;
	n = pool_size(dn->a.mbufs != 0 ? dn->a.mbufs : need);
	cache = n >= 1023 ? 256 : RTE_MIN(n / 4, 64U);
	room = dn->seg_room + RTE_PKTMBUF_HEADROOM;
	snprintf(name, sizeof(name), "tern%u_q%u", dn->inst, q);
	dq->pool = rte_pktmbuf_pool_create(name, n, cache, 0, (uint16_t)room, socket);
	if (dq->pool == NULL) {
		DP_DIAG(ERR, "queue %u: no memory for %u mbufs of %u bytes: %s", q, n, room,
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	room = TERN_ALIGN_UP(dn->frame_max, 64U) + RTE_PKTMBUF_HEADROOM;
	snprintf(name, sizeof(name), "tern%u_l%u", dn->inst, q);
	dq->lin_pool = rte_pktmbuf_pool_create(name, DP_LIN_MBUFS, 0, 0, (uint16_t)room, socket);
	if (dq->lin_pool == NULL) {
		DP_DIAG(ERR, "queue %u: no memory for the linearising pool: %s", q,
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

static int
port_configure(struct dp_net *dn, struct dp_port *p)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	uint16_t nrx = (uint16_t)dn->a.rxd, ntx = (uint16_t)dn->a.txd;
	uint16_t mtu = (uint16_t)RTE_MIN(dn->mtu + 28U, (uint32_t)UINT16_MAX);
	int rc, socket = rte_eth_dev_socket_id(p->id);
	unsigned int q;

	rc = rte_eth_dev_info_get(p->id, &info);
	if (rc != 0) {
		DP_DIAG(ERR, "port %u: no device info: %s", p->id, strerror(-rc));
		return rc;
	}
	if (info.max_rx_queues < dn->n_queues || info.max_tx_queues < dn->n_queues) {
		DP_DIAG(ERR, "port %u (%s) has %u rx / %u tx queues, %u wanted", p->id,
			info.driver_name, info.max_rx_queues, info.max_tx_queues, dn->n_queues);
		return -EINVAL;
	}
	p->memif = strcmp(info.driver_name, "net_memif") == 0;
	memset(&conf, 0, sizeof(conf));
	/* Where the PMD's frame limit is lower (memif, af_packet) ask for no MTU here. */
	if (info.max_rx_pktlen >= (uint32_t)mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN)
		conf.rxmode.mtu = mtu;
	if (dn->seg_room < dn->frame_max) {
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
			p->tx_multiseg = true;
		} else {
			DP_DIAG(NOTICE,
				"port %u (%s) cannot send multi-segment mbufs: datagrams above %u "
				"bytes will be dropped",
				p->id, info.driver_name, dn->seg_room - TERN_WIRE_L2_HDR_LEN);
		}
	}
	if (info.dev_flags != NULL && (*info.dev_flags & RTE_ETH_DEV_INTR_LSC))
		conf.intr_conf.lsc = 1;
	conf.intr_conf.rxq = dn->a.rxq_intr != 0;
	rc = rte_eth_dev_configure(p->id, (uint16_t)dn->n_queues, (uint16_t)dn->n_queues, &conf);
	if (rc == -EINVAL) {
		/* The PMD refuses the frame size (memif, af_packet) or an interrupt mode. */
		conf.rxmode.mtu = 0;
		rc = rte_eth_dev_configure(p->id, (uint16_t)dn->n_queues, (uint16_t)dn->n_queues,
					   &conf);
		if (rc == -EINVAL && conf.intr_conf.rxq) {
			conf.intr_conf.rxq = 0;
			rc = rte_eth_dev_configure(p->id, (uint16_t)dn->n_queues,
						   (uint16_t)dn->n_queues, &conf);
		}
	}
	if (rc != 0) {
		DP_DIAG(ERR, "port %u (%s): configure failed: %s", p->id, info.driver_name,
			strerror(-rc));
		return rc;
	}
	p->configured = true;
	if (conf.rxmode.mtu == 0) {
		rc = rte_eth_dev_set_mtu(p->id, mtu);
		if (rc != 0)
			DP_DIAG(INFO,
				"port %u (%s): MTU %u not set (%s); the PMD's own limit "
				"applies",
				p->id, info.driver_name, mtu, strerror(-rc));
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &nrx, &ntx);
	if (rc != 0) {
		DP_DIAG(ERR, "port %u: ring sizes %u/%u refused: %s", p->id, nrx, ntx,
			strerror(-rc));
		return rc;
	}
	for (q = 0; q < dn->n_queues; q++) {
		struct rte_eth_rxconf rxc = info.default_rxconf;
		struct rte_eth_txconf txc = info.default_txconf;

		rxc.offloads = conf.rxmode.offloads;
		txc.offloads = conf.txmode.offloads;
		rc = rte_eth_rx_queue_setup(p->id, (uint16_t)q, nrx, (unsigned int)socket, &rxc,
					    dn->q[q].pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(p->id, (uint16_t)q, ntx, (unsigned int)socket,
						    &txc);
		if (rc != 0) {
			DP_DIAG(ERR, "port %u (%s): queue %u setup failed: %s", p->id,
				info.driver_name, q, strerror(-rc));
			return rc;
		}
	}
	if (conf.intr_conf.lsc &&
	    rte_eth_dev_callback_register(p->id, RTE_ETH_EVENT_INTR_LSC, lsc_event, dn) == 0)
		p->lsc_cb = true;
	if (dn->a.promisc) {
		rc = rte_eth_promiscuous_enable(p->id);
		if (rc != 0)
			DP_DIAG(NOTICE, "port %u: promiscuous mode refused: %s", p->id,
				strerror(-rc));
	}
	if (mac_is_zero(p->self.mac)) {
		rc = rte_eth_macaddr_get(p->id, &mac);
		if (rc != 0) {
			DP_DIAG(ERR, "port %u: no MAC address: %s", p->id, strerror(-rc));
			return rc;
		}
		memcpy(p->self.mac, mac.addr_bytes, 6);
	}
	return 0;
}

static int
port_start(struct dp_net *dn, struct dp_port *p)
{
	uint64_t deadline = rte_rdtsc() + dn->a.start_ms * (dn->tsc_hz / 1000);
	int rc;

	for (;;) {
		rc = rte_eth_dev_start(p->id);
		if (rc == 0)
			break;
		if (rte_rdtsc() >= deadline) {
			DP_DIAG(ERR, "port %u: start failed: %s", p->id, strerror(-rc));
			return rc;
		}
		sleep_ns(10 * TERN_NS_PER_MS);
	}
	p->started = true;
	return 0;
}

/* Register queue @p q's rx interrupts of every port in one epoll fd, if they all have. */
static void
queue_intr(struct dp_net *dn, unsigned int q)
{
	struct dp_queue *dq = &dn->q[q];
	unsigned int i;
	int rc = 0;

	dq->epfd = -1;
	if (!dn->a.rxq_intr || dn->mode == TERN_NET_POLL_BUSY)
		return;
	dq->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dq->epfd < 0)
		return;
	for (i = 0; i < dn->n_ports; i++) {
		rc = rte_eth_dev_rx_intr_ctl_q(dn->ports[i].id, (uint16_t)q, dq->epfd,
					       RTE_INTR_EVENT_ADD, NULL);
		if (rc != 0)
			break;
	}
	if (rc == 0)
		return;
	DP_DIAG(INFO, "queue %u: port %u has no rx interrupt (%s): idle waits sleep", q,
		dn->ports[i].id, strerror(-rc));
	while (i-- > 0)
		rte_eth_dev_rx_intr_ctl_q(dn->ports[i].id, (uint16_t)q, dq->epfd,
					  RTE_INTR_EVENT_DEL, NULL);
	close(dq->epfd);
	dq->epfd = -1;
}

static int
port_index(struct dp_net *dn, uint16_t port_id)
{
	unsigned int i;

	for (i = 0; i < dn->n_ports; i++)
		if (dn->ports[i].id == port_id)
			return (int)i;
	if (dn->n_ports == TERN_DIM(dn->ports))
		return -ENOSPC;
	if (!rte_eth_dev_is_valid_port(port_id)) {
		DP_DIAG(ERR, "ethdev port %u does not exist (%u ports; did its vdev probe?)",
			port_id, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	dn->ports[dn->n_ports].id = port_id;
	return (int)dn->n_ports++;
}

static int
dp_open(const struct tern_net_opts *uo, struct tern_net **out)
{
	struct tern_net_opts o;
	struct dp_net *dn;
	unsigned int i, q;
	int rc, socket;

	tern_net_opts_init(&o, sizeof(o));
	memcpy(&o, uo, RTE_MIN(uo->opts_size, sizeof(o)));
	o.opts_size = sizeof(o);
	if (o.queues == 0 || o.queues > DP_QUEUES_MAX || o.n_peers > TERN_NET_PEERS_MAX ||
	    (o.n_peers > 0 && o.peers == NULL) || o.mtu == 0 || o.mtu > TERN_NET_MTU_MAX)
		return -EINVAL;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		DP_DIAG(ERR, "the EAL is not initialised as a primary process");
		return -EPERM;
	}
	dn = tern_zmalloc(sizeof(*dn));
	if (dn == NULL)
		return -ENOMEM;
	dn->base.ops = &dpdk_ops;
	dn->inst = __atomic_fetch_add(&dp_instances, 1, __ATOMIC_RELAXED);
	dn->mode = o.poll_mode;
	dn->n_queues = o.queues;
	dn->mtu = o.mtu;
	dn->frame_max = TERN_WIRE_L2_HDR_LEN + o.mtu;
	dn->self_node = o.self.node_id;
	rc = args_parse(o.driver_args, &dn->a);
	if (rc != 0)
		goto fail;
	if (dn->a.mbuf_size == 0)
		dn->seg_room = TERN_ALIGN_UP(dn->frame_max, 1024U);
	else if (dn->a.mbuf_size <= RTE_PKTMBUF_HEADROOM + TERN_WIRE_L2_HDR_LEN + 64U) {
		DP_DIAG(ERR, "mbuf_size %lu leaves no room after the %u bytes of headroom",
			dn->a.mbuf_size, RTE_PKTMBUF_HEADROOM);
		rc = -EINVAL;
		goto fail;
	} else
		dn->seg_room = (uint32_t)dn->a.mbuf_size - RTE_PKTMBUF_HEADROOM;
	if (dn->seg_room + RTE_PKTMBUF_HEADROOM > UINT16_MAX)
		dn->seg_room = UINT16_MAX - RTE_PKTMBUF_HEADROOM;
	dn->tsc_hz = rte_get_tsc_hz();
	dn->link_cycles = dn->a.link_ms * (dn->tsc_hz / 1000);
	dn->yield_cycles = dn->a.yield_us * (dn->tsc_hz / 1000000);

	for (i = 0; i < o.n_peers; i++) {
		const struct tern_net_peer *tp = &o.peers[i];
		struct dp_peer *p = &dn->peers[i];

		if (tp->node_id == o.self.node_id || peer_by_node(dn, tp->node_id) != NULL) {
			DP_DIAG(ERR, "peer %u: node id repeated or equal to self", tp->node_id);
			rc = -EINVAL;
			goto fail;
		}
		rc = port_index(dn, tp->port);
		if (rc < 0)
			goto fail;
		p->pidx = (uint16_t)rc;
		p->node = tp->node_id;
		memcpy(p->l2.mac, tp->mac, 6);
		if (mac_is_zero(p->l2.mac))
			memset(p->l2.mac, 0xff, 6);
		p->l2.ipv4 = tp->ipv4;
		p->l2.port = tp->udp_port;
		dn->n_peers = i + 1;
	}
	if (dn->n_ports == 0) {
		rc = port_index(dn, o.self.port);
		if (rc < 0)
			goto fail;
	}
	for (i = 0; i < dn->n_ports; i++) {
		memcpy(dn->ports[i].self.mac, o.self.mac, 6);
		dn->ports[i].self.ipv4 = o.self.ipv4;
		dn->ports[i].self.port = o.self.udp_port;
	}

	dn->q = tern_zmalloc_aligned(sizeof(*dn->q) * dn->n_queues, TERN_CACHE_LINE);
	if (dn->q == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (q = 0; q < dn->n_queues; q++)
		dn->q[q].epfd = -1;
	socket = rte_eth_dev_socket_id(dn->ports[0].id);
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	for (q = 0; q < dn->n_queues; q++) {
		rc = queue_pools(dn, q, socket);
		if (rc != 0)
			goto fail;
	}
	for (i = 0; i < dn->n_ports; i++) {
		rc = port_configure(dn, &dn->ports[i]);
		if (rc != 0)
			goto fail;
	}
	for (i = 0; i < dn->n_ports; i++) {
		rc = port_start(dn, &dn->ports[i]);
		if (rc != 0)
			goto fail;
	}
	for (q = 0; q < dn->n_queues; q++)
		queue_intr(dn, q);
	links_refresh(dn, rte_rdtsc(), true);
	*out = &dn->base;
	return 0;
fail:
	dp_free(dn);
	return rc;
}

static const struct tern_net_ops dpdk_ops = {
	.name = "dpdk",
	.open = dp_open,
	.rx_burst = dp_rx_burst,
	.rx_release = dp_rx_release,
	.tx_burst = dp_tx_burst,
	.wait = dp_wait,
	.link_up = dp_link_up,
	.stats_get = dp_stats_get,
	.close = dp_close,
};

TERN_NET_DRIVER_REGISTER(dpdk, dpdk_ops);
