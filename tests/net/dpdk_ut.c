/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * drivers/net/dpdk over net_ring ports inside one process (tern_net_dpdk.h).
 *
 * Each link is two ethdev ports made with rte_eth_from_rings() over crossed rings (what
 * one port sends the other receives), so the driver runs its whole data path, with no
 * other process and no vdev socket. The EAL starts once, in main, with FABRIC.md's
 * arguments (--no-huge, its own --file-prefix); its runtime directory is removed at the
 * end. No EAL (a machine that cannot start one): the test is skipped (exit 77).
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <tern_common.h>
#include <tern_net.h>
#include <tern_net_dpdk.h>
#include <tern_time.h>
#include <tern_wire.h>

#include "ut.h"

#define QMAX  4
#define TRIES 1000

/* ---- helpers ---- */

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TERN_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Node @p id's addresses: MAC 02:00:00:00:00:id, 10.0.0.id, UDP 7410, behind @p port. */
static struct tern_net_peer
node(uint16_t id, uint16_t port)
{
	struct tern_net_peer p;

	memset(&p, 0, sizeof(p));
	p.node_id = id;
	p.mac[0] = 0x02;
	p.mac[5] = (uint8_t)id;
	p.ipv4 = htonl(0x0a000000U | id);
	p.udp_port = TERN_WIRE_UDP_PORT;
	p.port = port;
	return p;
}

/* Two ports joined by crossed rings, one pair per queue. */
struct link {
	uint16_t a, b;
	unsigned int queues;
	struct rte_ring *ab[QMAX], *ba[QMAX];
};

static unsigned int link_seq;

static void
link_make(struct link *l, unsigned int queues)
{
	char name[RTE_RING_NAMESIZE];
	unsigned int q, id = link_seq++;
	int pa, pb;

	memset(l, 0, sizeof(*l));
	l->queues = queues;
	for (q = 0; q < queues; q++) {
		snprintf(name, sizeof(name), "ut%u_ab%u", id, q);
		l->ab[q] =
			rte_ring_create(name, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "ut%u_ba%u", id, q);
		l->ba[q] =
			rte_ring_create(name, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		TERN_CU_ASSERT_FATAL(l->ab[q] != NULL && l->ba[q] != NULL);
	}
	snprintf(name, sizeof(name), "ut%u_a", id);
	pa = rte_eth_from_rings(name, l->ba, queues, l->ab, queues, SOCKET_ID_ANY);
	snprintf(name, sizeof(name), "ut%u_b", id);
	pb = rte_eth_from_rings(name, l->ab, queues, l->ba, queues, SOCKET_ID_ANY);
	TERN_CU_ASSERT_FATAL(pa >= 0 && pb >= 0);
	l->a = (uint16_t)pa;
	l->b = (uint16_t)pb;
}

/* Free the rings (the driver closed the ports); frames left in them are freed too. */
static void
link_free(struct link *l)
{
	struct rte_mbuf *m;
	unsigned int q;

	for (q = 0; q < l->queues; q++) {
		while (rte_ring_dequeue(l->ab[q], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (rte_ring_dequeue(l->ba[q], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(l->ab[q]);
		rte_ring_free(l->ba[q]);
	}
}

static int
open_node(uint16_t self, uint16_t self_port, const struct tern_net_peer *peers,
	  unsigned int n_peers, const char *args, unsigned int queues, enum tern_net_poll_mode mode,
	  struct tern_net **out)
{
	struct tern_net_opts o;

	tern_net_opts_init(&o, sizeof(o));
	o.self = node(self, self_port);
	o.peers = peers;
	o.n_peers = n_peers;
	o.driver_args = args;
	o.queues = queues;
	o.poll_mode = mode;
	return tern_net_open("dpdk", &o, out);
}

/* Nodes 1 (port l->a) and 2 (port l->b) on one link. */
static void
open_pair(struct link *l, const char *args, unsigned int queues, struct tern_net **n1,
	  struct tern_net **n2)
{
	struct tern_net_peer p2 = node(2, l->a), p1 = node(1, l->b);

	UT_EQ_INT(open_node(1, l->a, &p2, 1, args, queues, TERN_NET_POLL_ADAPTIVE, n1), 0);
	UT_EQ_INT(open_node(2, l->b, &p1, 1, args, queues, TERN_NET_POLL_ADAPTIVE, n2), 0);
	TERN_CU_ASSERT_FATAL(*n1 != NULL && *n2 != NULL);
}

static uint8_t txbuf[TERN_NET_MTU_MAX];

static void
fill(uint8_t *b, uint32_t len, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static bool
same(const uint8_t *b, uint32_t len, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (b[i] != (uint8_t)(seed * 131 + i * 7 + (i >> 8)))
			return false;
	return true;
}

static unsigned int
send1(struct tern_net *n, uint16_t queue, uint16_t to, uint32_t len, uint32_t seed)
{
	struct tern_net_dgram d = {.data = txbuf, .len = len, .peer = to, .queue = queue};

	fill(txbuf, len, seed);
	return tern_net_tx_burst(n, queue, &d, 1);
}

/* Receive one datagram on @p queue (net_ring delivers at once; a few tries at most). */
static bool
recv1(struct tern_net *n, uint16_t queue, struct tern_net_dgram *d)
{
	unsigned int i;

	for (i = 0; i < TRIES; i++)
		if (tern_net_rx_burst(n, queue, d, 1) == 1)
			return true;
	return false;
}

static struct tern_net_stats
stats(struct tern_net *n)
{
	struct tern_net_stats st;

	tern_net_stats_get(n, &st);
	return st;
}

/* ---- tests ---- */

static void
dpdk_carries_every_size_intact(void)
{
	static const uint32_t sizes[] = {1, 40, 41, 100, 1472, 1500, 2048, 4096, 8232, 9000};
	struct tern_net *n1, *n2;
	struct tern_net_dgram d;
	struct link l;
	unsigned int i;

	link_make(&l, 1);
	open_pair(&l, "rxq_intr=0", 1, &n1, &n2);
	for (i = 0; i < TERN_DIM(sizes); i++) {
		UT_EQ_INT(send1(n1, 0, 2, sizes[i], i), 1);
		TERN_CU_ASSERT_FATAL(recv1(n2, 0, &d));
		UT_EQ_INT(d.len, sizes[i]);
		UT_EQ_INT(d.peer, 1);
		UT_EQ_INT(d.queue, 0);
		CU_ASSERT(same(d.data, d.len, i));
		tern_net_rx_release(n2, &d, 1);
	}
	UT_EQ_INT(stats(n1).tx_dgrams, TERN_DIM(sizes));
	UT_EQ_INT(stats(n2).rx_dgrams, TERN_DIM(sizes));
	UT_EQ_INT(stats(n2).rx_dropped, 0);
	CU_ASSERT(stats(n2).busy_cycles >= TERN_DIM(sizes));
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

/* stream_ns=1: every plain copy is "slow", so large datagrams go by streaming stores. */
static void
dpdk_streamed_copies_carry_every_size_intact(void)
{
	static const uint32_t sizes[] = {1, 40, 511, 512, 513, 1000, 1472, 4095, 8232, 9000};
	struct tern_net *n1, *n2;
	struct tern_net_dgram d;
	struct link l;
	unsigned int i, round;

	link_make(&l, 1);
	open_pair(&l, "rxq_intr=0,stream_ns=1", 1, &n1, &n2);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < TERN_DIM(sizes); i++) {
			UT_EQ_INT(send1(n1, 0, 2, sizes[i], round * 16 + i), 1);
			TERN_CU_ASSERT_FATAL(recv1(n2, 0, &d));
			UT_EQ_INT(d.len, sizes[i]);
			CU_ASSERT(same(d.data, d.len, round * 16 + i));
			tern_net_rx_release(n2, &d, 1);
		}
	}
	UT_EQ_INT(stats(n2).rx_dgrams, 4 * TERN_DIM(sizes));
	UT_EQ_INT(stats(n2).rx_dropped, 0);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

static void
dpdk_chains_frames_larger_than_an_mbuf(void)
{
	struct tern_net *n1, *n2;
	struct tern_net_dgram d[TERN_NET_BURST];
	struct link l;
	unsigned int got = 0, i, tries;

	/* 1024 data bytes per mbuf: a 9000-byte datagram goes out as a chain of 9. */
	link_make(&l, 1);
	open_pair(&l, "rxq_intr=0,mbuf_size=1152,mbufs=2047", 1, &n1, &n2);
	for (i = 0; i < 8; i++)
		UT_EQ_INT(send1(n1, 0, 2, 1000 + i * 1000, i), 1);
	for (tries = 0; got < 8 && tries < TRIES; tries++) {
		unsigned int k, n = tern_net_rx_burst(n2, 0, d, TERN_NET_BURST);

		for (k = 0; k < n; k++, got++) {
			UT_EQ_INT(d[k].len, 1000 + got * 1000);
			CU_ASSERT(same(d[k].data, d[k].len, got));
		}
		tern_net_rx_release(n2, d, n);
	}
	UT_EQ_INT(got, 8);
	UT_EQ_INT(stats(n2).rx_dropped, 0);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

static void
dpdk_drops_unknown_peer_and_oversized(void)
{
	struct tern_net *n1, *n2;
	struct tern_net_dgram d[3];
	struct link l;

	link_make(&l, 1);
	open_pair(&l, "rxq_intr=0", 1, &n1, &n2);
	fill(txbuf, 100, 0);
	d[0] = (struct tern_net_dgram){.data = txbuf, .len = 100, .peer = 99};
	d[1] = (struct tern_net_dgram){.data = txbuf, .len = TERN_NET_MTU_MAX + 1, .peer = 2};
	d[2] = (struct tern_net_dgram){.data = txbuf, .len = 100, .peer = 2};
	/* Dropped datagrams are taken (never retried); the good one goes out. */
	UT_EQ_INT(tern_net_tx_burst(n1, 0, d, 3), 3);
	UT_EQ_INT(stats(n1).tx_dropped, 2);
	UT_EQ_INT(stats(n1).tx_dgrams, 1);
	CU_ASSERT(recv1(n2, 0, &d[0]));
	tern_net_rx_release(n2, d, 1);
	UT_EQ_INT(tern_net_link_up(n1, 99), -ENOENT);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

static void
dpdk_link_down_is_reported_and_dropped_not_spun_on(void)
{
	struct tern_net *n1, *n2;
	struct tern_net_dgram d[4];
	struct link l;
	unsigned int i;

	link_make(&l, 1);
	open_pair(&l, "rxq_intr=0,link_ms=1", 1, &n1, &n2);
	UT_EQ_INT(tern_net_link_up(n1, 2), 1);
	UT_EQ_INT(rte_eth_dev_set_link_down(l.a), 0);
	usleep(3000);
	UT_EQ_INT(tern_net_link_up(n1, 2), 0);
	fill(txbuf, 64, 0);
	for (i = 0; i < 4; i++)
		d[i] = (struct tern_net_dgram){.data = txbuf, .len = 64, .peer = 2};
	UT_EQ_INT(tern_net_tx_burst(n1, 0, d, 4), 4);
	UT_EQ_INT(stats(n1).tx_dropped, 4);
	UT_EQ_INT(stats(n1).tx_dgrams, 0);
	UT_EQ_INT(tern_net_rx_burst(n2, 0, d, 4), 0);
	UT_EQ_INT(rte_eth_dev_set_link_up(l.a), 0);
	usleep(3000);
	UT_EQ_INT(tern_net_link_up(n1, 2), 1);
	UT_EQ_INT(send1(n1, 0, 2, 64, 0), 1);
	CU_ASSERT(recv1(n2, 0, &d[0]));
	tern_net_rx_release(n2, d, 1);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

/* Put a raw frame on port @p port's queue 0 (what a misbehaving sender would do). */
static void
raw_send(uint16_t port, struct rte_mempool *mp, const struct tern_net_peer *src,
	 const struct tern_net_peer *dst, bool garbage)
{
	struct tern_wire_l2_addr s, d;
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *b;

	TERN_CU_ASSERT_FATAL(m != NULL);
	b = (uint8_t *)rte_pktmbuf_append(m, TERN_WIRE_L2_HDR_LEN + 64);
	memcpy(s.mac, src->mac, 6);
	s.ipv4 = src->ipv4;
	s.port = src->udp_port;
	memcpy(d.mac, dst->mac, 6);
	d.ipv4 = dst->ipv4;
	d.port = dst->udp_port;
	UT_EQ_INT(tern_wire_l2_build(b, &s, &d, 64), 0);
	if (garbage)
		b[12] = 0x86; /* not IPv4 */
	UT_EQ_INT(rte_eth_tx_burst(port, 0, &m, 1), 1);
}

static void
dpdk_rejects_and_counts_bad_frames(void)
{
	struct tern_net_peer me = node(2, 0), one = node(1, 0), stranger = node(7, 0);
	struct tern_net_peer other_mac = node(2, 0);
	struct tern_net *n1, *n2;
	struct rte_mempool *mp;
	struct tern_net_dgram d;
	struct link l;

	mp = rte_pktmbuf_pool_create("ut_raw", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	TERN_CU_ASSERT_FATAL(mp != NULL);
	link_make(&l, 1);
	open_pair(&l, "rxq_intr=0", 1, &n1, &n2);
	other_mac.mac[5] = 0x77;
	raw_send(l.a, mp, &one, &me, true);	    /* not IPv4 */
	raw_send(l.a, mp, &stranger, &me, false);   /* from an unknown node */
	raw_send(l.a, mp, &one, &other_mac, false); /* for another MAC */
	raw_send(l.a, mp, &one, &me, false);	    /* fine */
	CU_ASSERT(recv1(n2, 0, &d));
	UT_EQ_INT(d.peer, 1);
	tern_net_rx_release(n2, &d, 1);
	UT_EQ_INT(stats(n2).rx_dropped, 3);
	UT_EQ_INT(stats(n2).rx_dgrams, 1);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
	rte_mempool_free(mp);
}

static void
dpdk_queues_are_separate(void)
{
	struct tern_net *n1, *n2;
	struct tern_net_stats q0, q1;
	struct tern_net_dgram d;
	struct link l;

	link_make(&l, 2);
	open_pair(&l, "rxq_intr=0,mbufs=1023", 2, &n1, &n2);
	UT_EQ_INT(send1(n1, 1, 2, 500, 3), 1);
	UT_EQ_INT(tern_net_rx_burst(n2, 0, &d, 1), 0);
	CU_ASSERT(recv1(n2, 1, &d));
	UT_EQ_INT(d.queue, 1);
	CU_ASSERT(same(d.data, 500, 3));
	tern_net_rx_release(n2, &d, 1);
	UT_EQ_INT(tern_net_dpdk_queue_stats(n2, 0, &q0), 0);
	UT_EQ_INT(tern_net_dpdk_queue_stats(n2, 1, &q1), 0);
	UT_EQ_INT(q0.rx_dgrams, 0);
	UT_EQ_INT(q1.rx_dgrams, 1);
	UT_EQ_INT(q1.rx_bytes, 500);
	CU_ASSERT(q0.idle_cycles >= 1);
	UT_EQ_INT(tern_net_dpdk_queue_stats(n2, 2, &q0), -EINVAL);
	UT_EQ_INT(tern_net_dpdk_queue_stats(NULL, 0, &q0), -EINVAL);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

static void
dpdk_mesh_polls_every_port(void)
{
	struct tern_net *n1, *n2, *n3;
	struct tern_net_dgram d[4];
	struct link l12, l13;
	struct tern_net_peer p1[2], p2, p3;
	unsigned int got, tries, k;
	bool from2 = false, from3 = false;

	/* Node 1 reaches node 2 through one port and node 3 through another. */
	link_make(&l12, 1);
	link_make(&l13, 1);
	p1[0] = node(2, l12.a);
	p1[1] = node(3, l13.a);
	p2 = node(1, l12.b);
	p3 = node(1, l13.b);
	UT_EQ_INT(open_node(1, 0, p1, 2, "rxq_intr=0,mbufs=1023", 1, TERN_NET_POLL_ADAPTIVE, &n1),
		  0);
	UT_EQ_INT(open_node(2, 0, &p2, 1, "rxq_intr=0,mbufs=1023", 1, TERN_NET_POLL_ADAPTIVE, &n2),
		  0);
	UT_EQ_INT(open_node(3, 0, &p3, 1, "rxq_intr=0,mbufs=1023", 1, TERN_NET_POLL_ADAPTIVE, &n3),
		  0);
	UT_EQ_INT(send1(n2, 0, 1, 200, 2), 1);
	UT_EQ_INT(send1(n3, 0, 1, 300, 3), 1);
	for (got = 0, tries = 0; got < 2 && tries < TRIES; tries++) {
		unsigned int n = tern_net_rx_burst(n1, 0, d, 4);

		for (k = 0; k < n; k++) {
			from2 |= d[k].peer == 2 && d[k].len == 200 && same(d[k].data, 200, 2);
			from3 |= d[k].peer == 3 && d[k].len == 300 && same(d[k].data, 300, 3);
		}
		got += n;
		tern_net_rx_release(n1, d, n);
	}
	UT_EQ_INT(got, 2);
	CU_ASSERT(from2 && from3);
	/* And back: each reaches only its own peer. */
	UT_EQ_INT(send1(n1, 0, 3, 400, 4), 1);
	UT_EQ_INT(tern_net_rx_burst(n2, 0, d, 4), 0);
	CU_ASSERT(recv1(n3, 0, &d[0]));
	UT_EQ_INT(d[0].len, 400);
	tern_net_rx_release(n3, d, 1);
	tern_net_close(n1);
	tern_net_close(n2);
	tern_net_close(n3);
	link_free(&l12);
	link_free(&l13);
}

static void
dpdk_adaptive_wait_spins_then_yields_then_blocks(void)
{
	struct tern_net *n1, *n2;
	struct tern_net_dgram d;
	struct link l;
	uint64_t t0;
	unsigned int i;

	link_make(&l, 1);
	open_pair(&l, "rxq_intr=0,spin=8,yield_us=100000,sleep_us=200", 1, &n1, &n2);
	/* Spinning: the first idle passes return at once, without blocking. */
	t0 = mono_ns();
	for (i = 0; i < 8; i++) {
		UT_EQ_INT(tern_net_rx_burst(n2, 0, &d, 1), 0);
		UT_EQ_INT(tern_net_wait(n2, 0, TERN_NS_PER_MS), 0);
	}
	UT_EQ_INT(stats(n2).waits, 0);
	/* Yielding until the idle spell is 100 ms long: still no blocking wait. */
	UT_EQ_INT(tern_net_rx_burst(n2, 0, &d, 1), 0);
	UT_EQ_INT(tern_net_wait(n2, 0, TERN_NS_PER_MS), 0);
	if (mono_ns() - t0 < 90 * TERN_NS_PER_MS) /* not when the machine stalled us */
		UT_EQ_INT(stats(n2).waits, 0);
	/* Then a bounded block: a sleep of at most sleep_us (net_ring has no rx interrupt). */
	while (mono_ns() - t0 < 150 * TERN_NS_PER_MS) {
		UT_EQ_INT(tern_net_rx_burst(n2, 0, &d, 1), 0);
		tern_net_wait(n2, 0, TERN_NS_PER_MS);
	}
	CU_ASSERT(stats(n2).waits >= 1);
	t0 = mono_ns();
	UT_EQ_INT(tern_net_rx_burst(n2, 0, &d, 1), 0);
	UT_EQ_INT(tern_net_wait(n2, 0, 50 * TERN_NS_PER_US), -ETIMEDOUT);
	CU_ASSERT(mono_ns() - t0 < TERN_NS_PER_S); /* bounded, even on a loaded machine */
	/* Work resets the spell: busy passes are counted, and waiting spins again. */
	UT_EQ_INT(send1(n1, 0, 2, 64, 0), 1);
	CU_ASSERT(recv1(n2, 0, &d));
	tern_net_rx_release(n2, &d, 1);
	CU_ASSERT(stats(n2).busy_cycles >= 1);
	CU_ASSERT(stats(n2).idle_cycles >= 10);
	i = (unsigned int)stats(n2).waits;
	UT_EQ_INT(tern_net_wait(n2, 0, TERN_NS_PER_MS), 0);
	UT_EQ_INT(stats(n2).waits, i);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

static void
dpdk_busy_mode_never_blocks(void)
{
	struct tern_net_peer p2, p1;
	struct tern_net *n1, *n2;
	struct tern_net_dgram d;
	struct link l;
	unsigned int i;

	link_make(&l, 1);
	p2 = node(2, l.a);
	p1 = node(1, l.b);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "spin=1,yield_us=0", 1, TERN_NET_POLL_BUSY, &n1), 0);
	UT_EQ_INT(open_node(2, 0, &p1, 1, "spin=1,yield_us=0", 1, TERN_NET_POLL_BUSY, &n2), 0);
	for (i = 0; i < 1000; i++) {
		UT_EQ_INT(tern_net_rx_burst(n2, 0, &d, 1), 0);
		UT_EQ_INT(tern_net_wait(n2, 0, TERN_NS_PER_MS), 0);
	}
	UT_EQ_INT(stats(n2).waits, 0);
	UT_EQ_INT(stats(n2).idle_cycles, 1000);
	tern_net_close(n1);
	tern_net_close(n2);
	link_free(&l);
}

static void
dpdk_open_rejects_bad_options(void)
{
	struct tern_net_peer p2, self_twin;
	struct tern_net *n = NULL;
	struct link l;

	link_make(&l, 1);
	p2 = node(2, l.a);
	self_twin = node(1, l.a);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "bogus=1", 1, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "mbufs=lots", 1, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "rxq_intr=2", 1, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "mbufs", 1, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "mbuf_size=100", 1, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "", 0, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	UT_EQ_INT(open_node(1, 0, &p2, 1, "", 2, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	UT_EQ_INT(open_node(1, 0, &self_twin, 1, "", 1, TERN_NET_POLL_ADAPTIVE, &n), -EINVAL);
	p2.port = RTE_MAX_ETHPORTS - 1;
	UT_EQ_INT(open_node(1, 0, &p2, 1, "", 1, TERN_NET_POLL_ADAPTIVE, &n), -ENODEV);
	CU_ASSERT(n == NULL);
	/* The ports of a failed open are free again: a good open still works. */
	p2.port = l.a;
	UT_EQ_INT(open_node(1, 0, &p2, 1, "rxq_intr=0", 1, TERN_NET_POLL_ADAPTIVE, &n), 0);
	tern_net_close(n);
	rte_eth_dev_close(l.b);
	link_free(&l);
}

/* ---- main ---- */

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(int argc, char **argv)
{
	char prefix[64], runtime[PATH_MAX];
	char *eal[] = {argv[0], "--no-huge",	    "-m",
		       "256",	"--no-pci",	    "--no-shconf",
		       prefix,	"--lcores=0@(0-1)", "--log-level=*:error",
		       NULL};
	CU_pSuite s;
	int rc;

	snprintf(prefix, sizeof(prefix), "--file-prefix=tern-ut-dpdk-%d", (int)getpid());
	if (rte_eal_init((int)TERN_DIM(eal) - 1, eal) < 0) {
		printf("SKIP: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 77;
	}
	snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
	optind = 1; /* the EAL used getopt too */
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("dpdk", NULL, NULL);
	CU_ADD_TEST(s, dpdk_carries_every_size_intact);
	CU_ADD_TEST(s, dpdk_streamed_copies_carry_every_size_intact);
	CU_ADD_TEST(s, dpdk_chains_frames_larger_than_an_mbuf);
	CU_ADD_TEST(s, dpdk_drops_unknown_peer_and_oversized);
	CU_ADD_TEST(s, dpdk_link_down_is_reported_and_dropped_not_spun_on);
	CU_ADD_TEST(s, dpdk_rejects_and_counts_bad_frames);
	CU_ADD_TEST(s, dpdk_queues_are_separate);
	CU_ADD_TEST(s, dpdk_mesh_polls_every_port);
	CU_ADD_TEST(s, dpdk_adaptive_wait_spins_then_yields_then_blocks);
	CU_ADD_TEST(s, dpdk_busy_mode_never_blocks);
	CU_ADD_TEST(s, dpdk_open_rejects_bad_options);
	rc = tern_ut_run(argc, argv);
	rte_eal_cleanup();
	nftw(runtime, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}
