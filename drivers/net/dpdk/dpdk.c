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
 * is down is dropped and counted. The mbufs of a run are allocated in one bulk call, and
 * each frame's headers are a copy of its peer's template (made at open by
 * tern_wire_l2_build(), so lib/wire still defines the format) with the lengths and the
 * IPv4 checksum patched in. Rx polls queue q of every port in turn (the first port
 * rotates), checks each frame as tern_wire_l2_parse() does (an inlined check of the
 * frames Tern sends, IPv4 without options; anything else goes to tern_wire_l2_parse()
 * itself, which decides) and names the sender by its IPv4 address and UDP port.
 *
 * Idle: see tern_net_dpdk.h. Before blocking on rx interrupts, wait() enables them and
 * takes one last look at the rings: frames that arrived before the enable raise no
 * interrupt, so they are stashed and handed out first by the next rx_burst().
 */
#include <assert.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif
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

#include <rte_byteorder.h>
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
#include <rte_prefetch.h>

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
	unsigned long stream_ns;
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

/*
 * Offsets in the Ethernet + IPv4 (no options) + UDP headers that lib/wire builds: tx
 * patches the lengths and the checksum into a template (tmpl_make checks the result
 * against tern_wire_l2_build() at open), rx checks Tern's own frames in line.
 */
#define L2_HDR	     TERN_WIRE_L2_HDR_LEN
#define L2_ETYPE     12 /* ethertype, then the IPv4 version/IHL byte */
#define L2_IP	     14
#define L2_IP_TOTAL  (L2_IP + 2)
#define L2_IP_FRAG   (L2_IP + 6)
#define L2_IP_PROTO  (L2_IP + 9)
#define L2_IP_CSUM   (L2_IP + 10)
#define L2_IP_SRC    (L2_IP + 12)
#define L2_IP_DST    (L2_IP + 16)
#define L2_UDP	     (L2_IP + 20)
#define L2_UDP_DPORT (L2_UDP + 2)
#define L2_UDP_LEN   (L2_UDP + 4)
#define L2_IP_UDP    28 /* IPv4 + UDP header bytes: IPv4 total length - datagram */

struct dp_peer {
	uint8_t hdr[L2_HDR]; /* tx template: headers for a datagram of 0 bytes */
	uint16_t node;
	uint16_t pidx;	   /* index in dp_net.ports */
	uint32_t csum_pre; /* hdr's IPv4 words summed (ones' complement), less length, csum */
	struct tern_wire_l2_addr l2;
};

struct dp_queue {
	struct rte_mempool *pool;
	struct rte_mempool *lin_pool;
	struct tern_net_stats st;
	uint64_t idle_streak; /* idle rx passes in a row */
	uint64_t idle_since;  /* TSC of the first of them */
	uint16_t rr;	      /* port polled first next time */
	bool link_stale;      /* a frame came in on a port thought down */
	int epfd;	      /* rx interrupts and wake fds; -1: neither */
	bool intr;	      /* the ports' rx interrupts are in epfd */
	bool no_pwait2;	      /* epoll_pwait2 gave ENOSYS (kernels before 5.11) */
	uint16_t n_stash, stash_pos;
	uint16_t stash_port[TERN_NET_BURST];
	struct rte_mbuf *stash[TERN_NET_BURST];
	/* tx copies of large datagrams (copy_choose) */
	bool copy_nt;	     /* with streaming stores now */
	uint32_t copy_runs;  /* runs copied that way, to space the probes */
	uint64_t copy_plain; /* TSC cycles per KiB of plain copies, smoothed; 0: none yet */
} __tern_cache_aligned;

struct dp_net {
	struct tern_net base;
	unsigned int inst;
	enum tern_net_poll_mode mode;
	struct dp_args a;
	uint32_t mtu;	    /* largest datagram */
	uint32_t frame_max; /* L2 headers + mtu */
	uint32_t seg_room;  /* data bytes one mbuf holds */
	bool prefetchw;	    /* the CPU has a prefetch for writing (tx_prefetch_w) */
	unsigned int n_ports, n_peers, n_queues;
	uint64_t tsc_hz, link_cycles, yield_cycles;
	uint64_t stream_cycles; /* stream_ns in TSC cycles per KiB; 0: never stream */
	uint64_t link_checked;	/* TSC of the last link refresh (compare-and-swap) */
	int link_dirty;		/* set by link-state-change events */
	struct dp_port ports[TERN_NET_PEERS_MAX];
	struct dp_peer peers[TERN_NET_PEERS_MAX];
	struct dp_queue *q;
	int wake[TERN_NET_WAKE_FDS_MAX]; /* the caller's wake fds (not owned) */
	unsigned int n_wake;
};

static const struct tern_net_ops dpdk_ops;
static unsigned int dp_instances;

/* ---- driver arguments ---- */

static const struct tern_net_arg arg_defs[] = {
	{"mbufs", offsetof(struct dp_args, mbufs), 1UL << 24, "N"},
	{"mbuf_size", offsetof(struct dp_args, mbuf_size), UINT16_MAX, "BYTES"},
	{"rxd", offsetof(struct dp_args, rxd), 32768, "N"},
	{"txd", offsetof(struct dp_args, txd), 32768, "N"},
	{"rxq_intr", offsetof(struct dp_args, rxq_intr), 1, "0|1"},
	{"spin", offsetof(struct dp_args, spin), 1UL << 30, "N"},
	{"yield_us", offsetof(struct dp_args, yield_us), 60UL * 1000 * 1000, "US"},
	{"sleep_us", offsetof(struct dp_args, sleep_us), 1000 * 1000, "US"},
	{"link_ms", offsetof(struct dp_args, link_ms), 60UL * 1000, "MS"},
	{"promisc", offsetof(struct dp_args, promisc), 1, "0|1"},
	{"start_ms", offsetof(struct dp_args, start_ms), 600UL * 1000, "MS"},
	{"stream_ns", offsetof(struct dp_args, stream_ns), 1000UL * 1000, "NS"},
};

static int
args_parse(const char *s, struct dp_args *a)
{
	char why[TERN_NET_ARGS_WHY_MAX];
	int rc;

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
	a->stream_ns = 200;
	rc = tern_net_args_parse(s, arg_defs, TERN_DIM(arg_defs), a, why);
	if (rc != 0)
		DP_DIAG(ERR, "%s", why);
	return rc;
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

static inline uint16_t
ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t
ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * Ethernet + IPv4 + UDP headers at @p b for a datagram of @p len bytes to @p p: its
 * template, with the IPv4 total length, the IPv4 checksum (the template's sum without the
 * length, plus the length: RFC 1624) and the UDP length patched in. The same bytes as
 * tern_wire_l2_build() (tmpl_make checks it); @p len is at most TERN_NET_MTU_MAX.
 */
static inline void
hdr_put(uint8_t *b, const struct dp_peer *p, uint32_t len)
{
	uint32_t ip_total = L2_IP_UDP + len, sum = p->csum_pre + ip_total;

	sum = (sum & 0xffff) + (sum >> 16); /* both at most 0xffff: one fold is enough */
	memcpy(b, p->hdr, L2_HDR);
	st16(b + L2_IP_TOTAL, rte_cpu_to_be_16((uint16_t)ip_total));
	st16(b + L2_IP_CSUM, rte_cpu_to_be_16((uint16_t)~sum));
	st16(b + L2_UDP_LEN, rte_cpu_to_be_16((uint16_t)(ip_total - 20)));
}

/* What rx checks the frames of one port against, looked up once per burst. */
struct rx_ctx {
	const struct dp_port *port;
	uint16_t pidx, queue;
	uint32_t mac4;	  /* our MAC's first 4 bytes, as loaded */
	uint16_t mac2;	  /* its last 2 */
	uint16_t udp_be;  /* our UDP port, network order */
	uint32_t ipv4;	  /* our IPv4 address, network order */
	unsigned int got; /* datagrams accepted */
	/* The last sender named: bursts mostly come from one peer. */
	const struct dp_peer *last;
	uint32_t last_ipv4;
	uint16_t last_udp;
};

static inline void
rx_ctx_init(const struct dp_net *dn, struct rx_ctx *c, uint16_t queue, uint16_t pidx)
{
	const struct dp_port *port = &dn->ports[pidx];

	c->port = port;
	c->pidx = pidx;
	c->queue = queue;
	c->mac4 = ld32(port->self.mac);
	c->mac2 = ld16(port->self.mac + 4);
	c->udp_be = rte_cpu_to_be_16(port->self.port);
	c->ipv4 = port->self.ipv4;
	c->got = 0;
	c->last = NULL;
}

/*
 * tern_wire_l2_parse() for the frames Tern sends: IPv4 with no options (IHL 5). True only
 * for a frame that tern_wire_l2_parse() accepts, with the same sender and datagram
 * (always at L2_HDR); false for any other, which the caller hands to
 * tern_wire_l2_parse(). Every check of tern_wire_l2_parse() for IHL 5 is here.
 */
static inline bool
rx_check_fast(const struct rx_ctx *c, const uint8_t *f, uint32_t len, uint32_t *from_ipv4,
	      uint16_t *from_udp, uint32_t *dgram_len)
{
	uint32_t ip_total, m4;
	uint64_t sum;
	uint16_t m2;

	if (len < L2_HDR)
		return false;
	/* Ethertype IPv4, then version 4 with IHL 5 (the DSCP/ECN byte is not checked). */
	if ((ld32(f + L2_ETYPE) & rte_cpu_to_be_32(0xffffff00U)) != rte_cpu_to_be_32(0x08004500U))
		return false;
	m4 = ld32(f);
	m2 = ld16(f + 4);
	if ((m4 != c->mac4 || m2 != c->mac2) && (m4 != UINT32_MAX || m2 != UINT16_MAX))
		return false;
	if (f[L2_IP_PROTO] != 17 || (ld16(f + L2_IP_FRAG) & rte_cpu_to_be_16(0x3fff)) != 0)
		return false; /* not UDP, or an IP fragment */
	/*
	 * Header checksum: the ones' complement sum of the 20 bytes must be 0xffff (and not a
	 * zero sum). Summed as 32-bit host-order words: the sum is then congruent modulo
	 * 0xffff to 256 times (byte swap) that of big-endian 16-bit words, so it folds to
	 * 0xffff exactly when theirs does.
	 */
	sum = (uint64_t)ld32(f + L2_IP) + ld32(f + L2_IP + 4) + ld32(f + L2_IP + 8) +
	      ld32(f + L2_IP + 12) + ld32(f + L2_IP + 16);
	sum = (sum & 0xffffffffU) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff)
		return false;
	ip_total = rte_be_to_cpu_16(ld16(f + L2_IP_TOTAL));
	if (ip_total < L2_IP_UDP || ip_total > len - L2_IP)
		return false;
	if (ld32(f + L2_IP_DST) != c->ipv4 && ld32(f + L2_IP_DST) != UINT32_MAX)
		return false;
	if (ld16(f + L2_UDP_DPORT) != c->udp_be ||
	    rte_be_to_cpu_16(ld16(f + L2_UDP_LEN)) != ip_total - 20)
		return false;
	*from_ipv4 = ld32(f + L2_IP_SRC);
	*from_udp = rte_be_to_cpu_16(ld16(f + L2_UDP));
	*dgram_len = ip_total - L2_IP_UDP;
	return true;
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

/* Check one frame received on c->port; on success fill @p d and return 1, else free it. */
static inline unsigned int
rx_take(struct dp_net *dn, struct dp_queue *dq, struct rx_ctx *c, struct rte_mbuf *m,
	struct tern_net_dgram *d)
{
	const struct dp_peer *p;
	uint32_t ipv4, off = L2_HDR, len;
	uint16_t udp;
	uint8_t *data;

	if (tern_unlikely(m->nb_segs > 1)) {
		m = rx_linearise(dq, m);
		if (m == NULL) {
			dq->st.rx_dropped++;
			DP_DIAG_RL(WARNING, "queue %u: no mbuf to linearise a received chain",
				   c->queue);
			return 0;
		}
	}
	data = rte_pktmbuf_mtod(m, uint8_t *);
	if (tern_unlikely(!rx_check_fast(c, data, m->data_len, &ipv4, &udp, &len))) {
		struct tern_wire_l2_addr from;
		enum tern_wire_rej rej;

		rej = tern_wire_l2_parse(data, m->data_len, &c->port->self, &from, &off, &len);
		if (rej != TERN_WIRE_REJ_NONE) {
			dq->st.rx_dropped++;
			TERN_DIAG_DP(DEBUG, dpdk, "port %u: frame rejected: %s", c->port->id,
				     tern_wire_rej_str(rej));
			rte_pktmbuf_free(m);
			return 0;
		}
		ipv4 = from.ipv4;
		udp = from.port;
	}
	if (tern_likely(c->last != NULL && c->last_ipv4 == ipv4 && c->last_udp == udp)) {
		p = c->last;
	} else {
		struct tern_wire_l2_addr from = {.ipv4 = ipv4, .port = udp};

		p = peer_by_addr(dn, c->pidx, &from);
		if (p == NULL) {
			dq->st.rx_dropped++;
			rte_pktmbuf_free(m);
			return 0;
		}
		c->last = p;
		c->last_ipv4 = ipv4;
		c->last_udp = udp;
	}
	d->data = data + off;
	d->len = len;
	d->peer = p->node;
	d->queue = c->queue;
	d->priv = m;
	dq->st.rx_bytes += len;
	c->got++;
	return 1;
}

/*
 * The end of a port's burst. Frames on a port we think down: the link came up since we
 * last looked (vhost passes no frame before it says so). Re-read it before this burst is
 * handed out, or datagrams sent in answer would be dropped as if the link were still down.
 */
static inline void
rx_ctx_done(struct dp_queue *dq, const struct rx_ctx *c)
{
	dq->st.rx_dgrams += c->got;
	if (tern_unlikely(c->got > 0 && !port_up(c->port)))
		dq->link_stale = true;
}

#define DP_RX_PREFETCH 4 /* frames ahead whose headers rx prefetches */

static unsigned int
dp_rx_burst(struct tern_net *n, uint16_t queue, struct tern_net_dgram *d, unsigned int max)
{
	struct dp_net *dn = dp(n);
	struct dp_queue *dq = &dn->q[queue];
	struct rte_mbuf *mb[TERN_NET_BURST];
	unsigned int got = 0, seen = 0, k, i;
	struct rx_ctx c;

	assert(queue < dn->n_queues);
	while (dq->stash_pos < dq->n_stash && got < max) {
		rx_ctx_init(dn, &c, queue, dq->stash_port[dq->stash_pos]);
		got += rx_take(dn, dq, &c, dq->stash[dq->stash_pos], &d[got]);
		rx_ctx_done(dq, &c);
		dq->stash_pos++;
		seen++;
	}
	if (dq->stash_pos == dq->n_stash)
		dq->n_stash = dq->stash_pos = 0;
	for (k = 0; k < dn->n_ports && got < max; k++) {
		uint16_t pidx = (uint16_t)(dq->rr + k < dn->n_ports ? dq->rr + k
								    : dq->rr + k - dn->n_ports);
		uint16_t want = (uint16_t)RTE_MIN(max - got, (unsigned int)TERN_NET_BURST);
		uint16_t nb = rte_eth_rx_burst(dn->ports[pidx].id, queue, mb, want);

		if (nb == 0)
			continue;
		for (i = 0; i < nb && i < DP_RX_PREFETCH; i++)
			rte_prefetch0(rte_pktmbuf_mtod(mb[i], void *));
		rx_ctx_init(dn, &c, queue, pidx);
		for (i = 0; i < nb; i++) {
			if (i + DP_RX_PREFETCH < nb)
				rte_prefetch0(rte_pktmbuf_mtod(mb[i + DP_RX_PREFETCH], void *));
			got += rx_take(dn, dq, &c, mb[i], &d[got]);
		}
		rx_ctx_done(dq, &c);
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
 * Extra mbufs a chained frame takes at most: every mbuf but the first holds at least
 * mbuf_size bytes (the smallest args_parse takes), the first at least 65 after the headers.
 */
#define DP_SEGS_MAX 40
static_assert((DP_SEGS_MAX - 1) * (RTE_PKTMBUF_HEADROOM + L2_HDR + 65) + 65 >= TERN_NET_MTU_MAX,
	      "DP_SEGS_MAX too small for the smallest mbuf_size");

/* As many single mbufs as the pool still has, up to @p n (alloc_bulk takes all or none). */
static unsigned int
alloc_some(struct rte_mempool *mp, struct rte_mbuf **mb, unsigned int n)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		mb[k] = rte_pktmbuf_alloc(mp);
		if (mb[k] == NULL)
			break;
	}
	return k;
}

/*
 * Fill @p m (fresh from the pool, its headers written) with @p d, which needs more than
 * one mbuf: as much as fits in @p m, then a chain of mbufs with no headroom. -ENOMEM when
 * the pool is short (@p m is then a consistent chain for the caller to free).
 */
static int
frame_chain(struct dp_queue *dq, struct rte_mbuf *m, const struct tern_net_dgram *d)
{
	struct rte_mbuf *seg[DP_SEGS_MAX], *last = m;
	const uint8_t *src = d->data;
	uint32_t off, chunk, nseg, room = m->buf_len; /* of an mbuf with no headroom */
	unsigned int k;

	m->data_len = L2_HDR;
	m->pkt_len = L2_HDR;
	off = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(m), d->len);
	rte_memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, L2_HDR), src, off);
	m->data_len = (uint16_t)(m->data_len + off);
	m->pkt_len += off;
	nseg = (d->len - off + room - 1) / room;
	if (TERN_NEVER(nseg > DP_SEGS_MAX))
		return -ENOMEM;
	if (rte_pktmbuf_alloc_bulk(dq->pool, seg, nseg) != 0) {
		/* A bulk larger than the mempool cache can fail with enough mbufs free. */
		k = alloc_some(dq->pool, seg, nseg);
		if (k < nseg) {
			rte_pktmbuf_free_bulk(seg, k);
			return -ENOMEM;
		}
	}
	for (k = 0; k < nseg; k++, off += chunk) {
		seg[k]->data_off = 0;
		chunk = RTE_MIN(room, d->len - off);
		rte_memcpy(rte_pktmbuf_mtod(seg[k], uint8_t *), src + off, chunk);
		seg[k]->data_len = (uint16_t)chunk;
		last->next = seg[k];
		last = seg[k];
		m->nb_segs++;
		m->pkt_len += chunk;
	}
	return 0;
}

/*
 * Ask for the small frames of a run (DP_TX_PREFETCH_W bytes at most, headers included)
 * for writing, all at once, before they are filled. An mbuf freed by the PMD's tx was
 * last read by whoever took the frame, often a peer process on another core (vhost,
 * memif): without it every frame's first store waits for that core to give the line
 * up, which is most of what a small frame costs. A read prefetch does not help (the line
 * comes shared, and the store still waits), hence PREFETCHW where the CPU has it. Larger
 * frames are left alone: their copy costs more than the wait (measured no faster).
 */
#define DP_TX_PREFETCH_W 256

#if defined(__x86_64__) || defined(__i386__)
static bool
cpu_prefetchw(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(0x80000001U, &a, &b, &c, &d) != 0 && (c & bit_PRFCHW) != 0;
}

/* (gcc 12 drops __builtin_prefetch(p, 1, 3) in a function with target("prfchw")) */
static inline void
tx_prefetch_w(struct rte_mbuf *const *mb, const struct tern_net_dgram *d, unsigned int n)
{
	unsigned int k, off, flen;

	for (k = 0; k < n; k++) {
		flen = L2_HDR + d[k].len;
		if (flen > DP_TX_PREFETCH_W)
			continue;
		for (off = 0; off < flen; off += RTE_CACHE_LINE_SIZE)
			__asm__ volatile("prefetchw %0"
					 :
					 : "m"(*rte_pktmbuf_mtod_offset(mb[k], const char *, off)));
	}
}
#else
static bool
cpu_prefetchw(void)
{
	return false;
}

static inline void
tx_prefetch_w(struct rte_mbuf *const *mb, const struct tern_net_dgram *d, unsigned int n)
{
	(void)mb;
	(void)d;
	(void)n;
}
#endif

/*
 * Copying a large datagram into its mbuf takes each line from the core that read it
 * last, the peer's where the peer is a process on this machine (vhost and memif copy out
 * of our mbufs). What that costs depends on where the hypervisor puts the two vCPUs: on
 * the 2-vCPU VM this was written on, plain stores took 25-70 ns a KiB in some sessions
 * and 300-480 in others, in which 8 KiB datagrams went at 0.28 M/s against 2.5 M/s.
 * Streaming stores skip the read for ownership and leave the lines in memory: 0.85 M/s
 * (1 KiB: 3.5 M/s against 1.7) whichever the session, so a loss where plain stores are
 * cheap. Each queue therefore times its plain copies of datagrams of DP_NT_MIN bytes or
 * more and streams while they cost more than `stream_ns` a KiB (smoothed), copying one
 * run in DP_NT_PROBE plainly to see whether that is still so. A sample counts for at most
 * twice the average, so that one preempted copy does not switch.
 */
#define DP_NT_MIN   512
#define DP_NT_PROBE 32

#if defined(__x86_64__)
/* @p len bytes from @p src to @p dst, whole aligned lines with streaming stores. */
static void
copy_stream(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	uint8_t *end = dst + len, *a = RTE_PTR_ALIGN_CEIL(dst, 64);

	rte_memcpy(dst, src, (size_t)(a - dst));
	src += a - dst;
	for (; a + 64 <= end; a += 64, src += 64) {
		__m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)src);
		__m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(src + 16));
		__m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(src + 32));
		__m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(src + 48));

		_mm_stream_si128((__m128i *)(void *)a, v0);
		_mm_stream_si128((__m128i *)(void *)(a + 16), v1);
		_mm_stream_si128((__m128i *)(void *)(a + 32), v2);
		_mm_stream_si128((__m128i *)(void *)(a + 48), v3);
	}
	rte_memcpy(a, src, (size_t)(end - a));
}
#else
static void
copy_stream(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	rte_memcpy(dst, src, len);
}
#endif

/* Stream the next run of large datagrams? (Every DP_NT_PROBE-th is copied plainly.) */
static inline bool
copy_choose(struct dp_queue *dq)
{
	return dq->copy_nt && ++dq->copy_runs % DP_NT_PROBE != 0;
}

/* A plain copy of a run of @p bytes took @p cycles: average it, and pick the way. */
static inline void
copy_account(const struct dp_net *dn, struct dp_queue *dq, uint64_t cycles, uint64_t bytes)
{
	uint64_t per_kib = cycles * 1024 / RTE_MAX(bytes, (uint64_t)1), *c = &dq->copy_plain;

	if (dn->stream_cycles == 0)
		return;
	*c = *c == 0 ? per_kib : (3 * *c + RTE_MIN(per_kib, 2 * *c)) / 4;
	dq->copy_nt = *c > dn->stream_cycles;
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

/* The largest datagram @p p takes now; -1 (none) when it is unknown or its link is down. */
static int64_t
tx_limit(const struct dp_net *dn, const struct dp_peer *p)
{
	const struct dp_port *port;

	if (p == NULL)
		return -1;
	port = &dn->ports[p->pidx];
	if (!port_up(port))
		return -1;
	if (port->tx_multiseg)
		return dn->mtu;
	return RTE_MIN((int64_t)dn->mtu, (int64_t)dn->seg_room - L2_HDR);
}

static unsigned int
dp_tx_burst(struct tern_net *n, uint16_t queue, const struct tern_net_dgram *d, unsigned int cnt)
{
	struct dp_net *dn = dp(n);
	struct dp_queue *dq = &dn->q[queue];
	struct rte_mbuf *mb[TERN_NET_BURST];
	const struct dp_peer *pp[TERN_NET_BURST], *p = NULL;
	uint32_t node = UINT32_MAX; /* p's node id; none yet */
	int64_t lim = -1;	    /* p's tx_limit(), read once per burst */
	bool prefetchw = dn->prefetchw;
	unsigned int i = 0, j, k;

	assert(queue < dn->n_queues);
	if (cnt == 0)
		return 0;
	links_refresh(dn, rte_rdtsc(), false);
	dq->idle_streak = 0;
	while (i < cnt) {
		unsigned int start = i, nrun = 0;
		uint16_t run_pidx = 0, sent;
		uint64_t bytes = 0, t0 = 0;
		bool chained = false; /* a frame of the run needs more than one mbuf */
		bool large, nt = false;

		/* A run: consecutive datagrams for one port, a burst at most. */
		while (i < cnt && nrun < TERN_NET_BURST) {
			if (d[i].peer != node) {
				node = d[i].peer;
				p = peer_by_node(dn, d[i].peer);
				lim = tx_limit(dn, p);
			}
			if (tern_unlikely((int64_t)d[i].len > lim)) {
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
			run_pidx = p->pidx;
			chained |= L2_HDR + d[i].len > dn->seg_room;
			pp[nrun++] = p;
			i++;
		}
		if (nrun == 0)
			break; /* the rest were dropped */
		/*
		 * Out of mbufs: send what we have, retry the rest. A run of chains takes its
		 * mbufs frame by frame, so that the first mbufs of frames that do not fit
		 * take none from those that do.
		 */
		if (tern_likely(!chained)) {
			if (rte_pktmbuf_alloc_bulk(dq->pool, mb, nrun) != 0)
				nrun = alloc_some(dq->pool, mb, nrun);
			if (prefetchw)
				tx_prefetch_w(mb, d + start, nrun);
		}
		large = !chained && d[start].len >= DP_NT_MIN && dn->stream_cycles != 0;
		if (large) {
			nt = copy_choose(dq);
			t0 = rte_rdtsc();
		}
		for (k = 0; k < nrun; k++) {
			const struct tern_net_dgram *dg = &d[start + k];
			struct rte_mbuf *m;
			uint8_t *b;

			if (tern_unlikely(chained)) {
				mb[k] = rte_pktmbuf_alloc(dq->pool);
				if (mb[k] == NULL)
					break;
			}
			m = mb[k];
			b = rte_pktmbuf_mtod(m, uint8_t *);
			hdr_put(b, pp[k], dg->len);
			if (tern_likely(L2_HDR + dg->len <= dn->seg_room)) {
				if (nt && dg->len >= DP_NT_MIN)
					copy_stream(b + L2_HDR, dg->data, dg->len);
				else
					rte_memcpy(b + L2_HDR, dg->data, dg->len);
				m->data_len = (uint16_t)(L2_HDR + dg->len);
				m->pkt_len = L2_HDR + dg->len;
			} else if (frame_chain(dq, m, dg) != 0) {
				rte_pktmbuf_free(m);
				break;
			}
			bytes += dg->len;
		}
		if (nt)
			rte_wmb(); /* the streamed lines before the descriptors */
		else if (large && bytes > 0)
			copy_account(dn, dq, rte_rdtsc() - t0, bytes);
		nrun = k;
		i = start + nrun;
		if (nrun == 0) {
			dq->st.tx_full++;
			return start;
		}
		sent = rte_eth_tx_burst(dn->ports[run_pidx].id, queue, mb, (uint16_t)nrun);
		if (tern_unlikely(sent < nrun)) {
			for (j = sent; j < nrun; j++)
				bytes -= d[start + j].len;
			rte_pktmbuf_free_bulk(mb + sent, nrun - sent);
		}
		dq->st.tx_bytes += bytes;
		dq->st.tx_dgrams += sent;
		if (sent < nrun) {
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

/*
 * Block on the rx interrupts of @p queue and the wake fds for at most @p ns; without rx
 * interrupts, for at most sleep_us (frames would not end the wait).
 */
static int
wait_intr(struct dp_net *dn, struct dp_queue *dq, uint16_t queue, uint64_t ns)
{
	struct epoll_event ev[DP_EPOLL_EVENTS];
	struct timespec ts;
	unsigned int k, n = 0;
	int rc, err;

	if (!dq->intr) {
		ns = RTE_MIN(ns, (uint64_t)dn->a.sleep_us * 1000);
		goto block;
	}
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
block:
	dq->st.waits++;
	ts.tv_sec = (time_t)(ns / 1000000000ULL);
	ts.tv_nsec = (long)(ns % 1000000000ULL);
	rc = -1;
	if (!dq->no_pwait2) {
		rc = epoll_pwait2(dq->epfd, ev, DP_EPOLL_EVENTS, &ts, NULL);
		dq->no_pwait2 = rc < 0 && errno == ENOSYS;
	}
	if (dq->no_pwait2) /* millisecond timeouts; asked once, not before every block */
		rc = epoll_wait(dq->epfd, ev, DP_EPOLL_EVENTS,
				(int)RTE_MIN((ns + 999999) / 1000000, (uint64_t)INT_MAX));
	err = rc < 0 ? errno : 0;
	if (dq->intr)
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
			if (dn->q[q].intr && p->started)
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

/*
 * Peer @p p's tx template: tern_wire_l2_build()'s headers for a datagram of 0 bytes (its
 * port's MAC is known by now), and the sum hdr_put() starts from. Checked against
 * tern_wire_l2_build() for other lengths: hdr_put() changes only the lengths and the
 * checksum, so any other difference means lib/wire's format changed under this driver.
 */
static int
tmpl_make(struct dp_net *dn, struct dp_peer *p)
{
	const struct tern_wire_l2_addr *self = &dn->ports[p->pidx].self;
	const uint32_t lens[] = {1, 1000, dn->mtu};
	uint8_t want[L2_HDR], got[L2_HDR];
	uint32_t sum = 0, k;

	if (tern_wire_l2_build(p->hdr, self, &p->l2, 0) != 0)
		return -EINVAL;
	for (k = L2_IP; k < L2_UDP; k += 2)
		if (k != L2_IP_TOTAL && k != L2_IP_CSUM)
			sum += (uint32_t)p->hdr[k] << 8 | p->hdr[k + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p->csum_pre = sum;
	for (k = 0; k < TERN_DIM(lens); k++) {
		if (tern_wire_l2_build(want, self, &p->l2, lens[k]) != 0)
			return -EINVAL;
		hdr_put(got, p, lens[k]);
		if (TERN_NEVER(memcmp(want, got, L2_HDR) != 0)) {
			DP_DIAG(ERR,
				"peer %u: the tx header template disagrees with "
				"tern_wire_l2_build(): update hdr_put()",
				p->node);
			return -EPROTO;
		}
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

/*
 * Register queue @p q's rx interrupts of every port in one epoll fd, if they all have,
 * and the wake fds (edge-triggered, so the caller need not read them).
 */
static void
queue_intr(struct dp_net *dn, unsigned int q)
{
	struct dp_queue *dq = &dn->q[q];
	unsigned int i;
	int rc = 0;

	dq->epfd = -1;
	dq->intr = false;
	if ((!dn->a.rxq_intr && dn->n_wake == 0) || dn->mode == TERN_NET_POLL_BUSY)
		return;
	dq->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dq->epfd < 0)
		return;
	for (i = 0; i < dn->n_wake; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = dn->wake[i]};

		if (epoll_ctl(dq->epfd, EPOLL_CTL_ADD, dn->wake[i], &ev) != 0)
			DP_DIAG(ERR, "queue %u: cannot watch wake fd %d: %s", q, dn->wake[i],
				strerror(errno));
	}
	if (!dn->a.rxq_intr)
		return;
	for (i = 0; i < dn->n_ports; i++) {
		rc = rte_eth_dev_rx_intr_ctl_q(dn->ports[i].id, (uint16_t)q, dq->epfd,
					       RTE_INTR_EVENT_ADD, NULL);
		if (rc != 0)
			break;
	}
	if (rc == 0) {
		dq->intr = true;
		return;
	}
	DP_DIAG(INFO, "queue %u: port %u has no rx interrupt (%s): idle waits sleep", q,
		dn->ports[i].id, strerror(-rc));
	while (i-- > 0)
		rte_eth_dev_rx_intr_ctl_q(dn->ports[i].id, (uint16_t)q, dq->epfd,
					  RTE_INTR_EVENT_DEL, NULL);
	if (dn->n_wake > 0)
		return; /* still woken by the wake fds, at most sleep_us apart */
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
	dn->prefetchw = cpu_prefetchw();
	dn->link_cycles = dn->a.link_ms * (dn->tsc_hz / 1000);
	dn->yield_cycles = dn->a.yield_us * (dn->tsc_hz / 1000000);
	dn->stream_cycles = dn->a.stream_ns * dn->tsc_hz / 1000000000;
	if (dn->a.stream_ns != 0 && dn->stream_cycles == 0)
		dn->stream_cycles = 1;

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
	for (i = 0; i < o.n_wake_fds && i < TERN_NET_WAKE_FDS_MAX; i++)
		dn->wake[dn->n_wake++] = o.wake_fds[i];
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
	for (i = 0; i < dn->n_peers; i++) {
		rc = tmpl_make(dn, &dn->peers[i]);
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
