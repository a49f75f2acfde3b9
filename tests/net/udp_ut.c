/* SPDX-License-Identifier: BSD-3-Clause */
/* drivers/net/udp: kernel UDP sockets on 127.0.0.1 (tern_net.h, driver "udp"). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tern_common.h>
#include <tern_heap.h>
#include <tern_net.h>
#include <tern_time.h>

#include "ut.h"

#define A 1
#define B 2

/* ---- helpers ---- */

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TERN_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t
loopback(void)
{
	return htonl(INADDR_LOOPBACK);
}

/* A UDP port on 127.0.0.1 that was free a moment ago (the kernel picked it). */
static uint16_t
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	TERN_CU_ASSERT_FATAL(fd >= 0);
	TERN_CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	TERN_CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Open node @p self on @p self_port, knowing node @p peer on @p peer_port. */
static int
udp_open2(uint16_t self, uint16_t self_port, uint16_t peer, uint16_t peer_port, unsigned int mtu,
	  const char *args, struct tern_net **out)
{
	struct tern_net_peer p = {.node_id = peer, .ipv4 = loopback(), .udp_port = peer_port};
	struct tern_net_opts o;

	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = self;
	o.self.ipv4 = loopback();
	o.self.udp_port = self_port;
	o.peers = &p;
	o.n_peers = 1;
	o.driver_args = args;
	if (mtu != 0)
		o.mtu = mtu;
	return tern_net_open("udp", &o, out);
}

struct pair {
	struct tern_net *a, *b;
	uint16_t pa, pb;
};

static void
pair_open(struct pair *p, unsigned int mtu_a, unsigned int mtu_b, const char *args_b)
{
	p->pa = free_port();
	p->pb = free_port();
	p->a = p->b = NULL;
	UT_EQ_INT(udp_open2(A, p->pa, B, p->pb, mtu_a, NULL, &p->a), 0);
	UT_EQ_INT(udp_open2(B, p->pb, A, p->pa, mtu_b, args_b, &p->b), 0);
	TERN_CU_ASSERT_FATAL(p->a != NULL && p->b != NULL);
}

static void
pair_close(struct pair *p)
{
	tern_net_close(p->a);
	tern_net_close(p->b);
}

/* Fill @p buf with a pattern of datagram @p i. */
static void
pattern(uint8_t *buf, uint32_t len, unsigned int i)
{
	uint32_t k;

	for (k = 0; k < len; k++)
		buf[k] = (uint8_t)(i * 31 + k * 7);
}

static int
pattern_ok(const uint8_t *buf, uint32_t len, unsigned int i)
{
	uint32_t k;

	for (k = 0; k < len; k++)
		if (buf[k] != (uint8_t)(i * 31 + k * 7))
			return 0;
	return 1;
}

/* Send @p n datagrams of @p len bytes, datagram i carrying pattern(first + i). */
static unsigned int
send_n(struct tern_net *n, uint16_t to, unsigned int first, unsigned int cnt, uint32_t len)
{
	static uint8_t bufs[128][TERN_NET_MTU_MAX + 1];
	struct tern_net_dgram d[128];
	unsigned int i;

	TERN_CU_ASSERT_FATAL(cnt <= 128);
	for (i = 0; i < cnt; i++) {
		pattern(bufs[i], len, first + i);
		d[i] = (struct tern_net_dgram){.data = bufs[i], .len = len, .peer = to};
	}
	return tern_net_tx_burst(n, 0, d, cnt);
}

/*
 * Receive until @p want datagrams came or 2 s passed, checking each against the pattern
 * of its index (from @p first) and @p len. @return how many came; *@p max_burst gets the
 * largest burst.
 */
static unsigned int
recv_n(struct tern_net *n, uint16_t from, unsigned int first, unsigned int want, uint32_t len,
       unsigned int *max_burst)
{
	struct tern_net_dgram d[TERN_NET_BURST];
	uint64_t end = mono_ns() + 2 * TERN_NS_PER_S;
	unsigned int got = 0, i, k;

	if (max_burst != NULL)
		*max_burst = 0;
	while (got < want && mono_ns() < end) {
		k = tern_net_rx_burst(n, 0, d, TERN_NET_BURST);
		if (k == 0) {
			tern_net_wait(n, 0, 10 * TERN_NS_PER_MS);
			continue;
		}
		if (max_burst != NULL && k > *max_burst)
			*max_burst = k;
		for (i = 0; i < k; i++, got++) {
			UT_EQ_INT(d[i].peer, from);
			UT_EQ_INT(d[i].len, len);
			UT_EQ_INT(d[i].queue, 0);
			CU_ASSERT(pattern_ok(d[i].data, d[i].len, first + got));
		}
		tern_net_rx_release(n, d, k);
	}
	return got;
}

/* ---- exchange ---- */

static void
udp_two_nodes_exchange_bursts_both_ways(void)
{
	struct tern_net_stats st;
	struct pair p;

	pair_open(&p, 0, 0, NULL);
	UT_EQ_INT(send_n(p.a, B, 0, TERN_NET_BURST, 200), TERN_NET_BURST);
	UT_EQ_INT(recv_n(p.b, A, 0, TERN_NET_BURST, 200, NULL), TERN_NET_BURST);
	UT_EQ_INT(send_n(p.b, A, 1000, 5, 64), 5);
	UT_EQ_INT(recv_n(p.a, B, 1000, 5, 64, NULL), 5);
	tern_net_stats_get(p.a, &st);
	UT_EQ_INT(st.tx_dgrams, TERN_NET_BURST);
	UT_EQ_INT(st.tx_bytes, TERN_NET_BURST * 200);
	UT_EQ_INT(st.rx_dgrams, 5);
	UT_EQ_INT(st.rx_bytes, 5 * 64);
	UT_EQ_INT(st.rx_dropped + st.tx_dropped + st.tx_full, 0);
	tern_net_stats_get(p.b, &st);
	UT_EQ_INT(st.rx_dgrams, TERN_NET_BURST);
	UT_EQ_INT(st.tx_dgrams, 5);
	CU_ASSERT(st.busy_cycles >= 1);
	UT_EQ_INT(tern_net_link_up(p.a, B), 1);
	UT_EQ_INT(tern_net_link_up(p.a, 77), -ENOENT);
	pair_close(&p);
}

static void
udp_batches_more_than_a_burst_per_call(void)
{
	struct tern_net_stats st;
	unsigned int max_burst;
	struct pair p;

	pair_open(&p, 0, 0, "rx_bufs=64");
	/* One call takes 100 datagrams (several sendmmsg batches). */
	UT_EQ_INT(send_n(p.a, B, 0, 100, 512), 100);
	/* They are waiting in the socket: the receiver gets full bursts. */
	UT_EQ_INT(recv_n(p.b, A, 0, 100, 512, &max_burst), 100);
	UT_EQ_INT(max_burst, TERN_NET_BURST);
	tern_net_stats_get(p.b, &st);
	UT_EQ_INT(st.rx_dgrams, 100);
	CU_ASSERT(st.busy_cycles <= 100 / TERN_NET_BURST + 2);
	pair_close(&p);
}

static void
udp_rx_buffers_serve_again_after_release(void)
{
	struct tern_net_dgram d[TERN_NET_BURST], e[TERN_NET_BURST];
	struct pair p;
	unsigned int i;

	pair_open(&p, 0, 1024, "rx_bufs=4");
	UT_EQ_INT(send_n(p.a, B, 0, 6, 100), 6);
	UT_EQ_INT(tern_net_rx_burst(p.b, 0, d, TERN_NET_BURST), 4);
	/* Every buffer is held: nothing more until one comes back. */
	UT_EQ_INT(tern_net_rx_burst(p.b, 0, e, TERN_NET_BURST), 0);
	for (i = 0; i < 4; i++)
		CU_ASSERT(pattern_ok(d[i].data, d[i].len, i));
	tern_net_rx_release(p.b, d, 1);
	UT_EQ_INT(tern_net_rx_burst(p.b, 0, e, TERN_NET_BURST), 1);
	CU_ASSERT(e[0].data == d[0].data); /* the same buffer, reused */
	CU_ASSERT(pattern_ok(e[0].data, e[0].len, 4));
	/* Held buffers were not overwritten. */
	for (i = 1; i < 4; i++)
		CU_ASSERT(pattern_ok(d[i].data, d[i].len, i));
	tern_net_rx_release(p.b, d + 1, 3);
	tern_net_rx_release(p.b, e, 1);
	UT_EQ_INT(recv_n(p.b, A, 5, 1, 100, NULL), 1);
	pair_close(&p);
}

static void
udp_carries_mtu_sized_datagrams_and_drops_bigger_ones(void)
{
	struct tern_net_stats st;
	struct pair p;

	pair_open(&p, 0, 2000, NULL);
	/* The default mtu, TERN_NET_MTU_MAX, from A to B... over B's 2000: dropped. */
	UT_EQ_INT(send_n(p.a, B, 0, 1, TERN_NET_MTU_MAX), 1);
	UT_EQ_INT(send_n(p.a, B, 1, 1, 2000), 1);
	UT_EQ_INT(recv_n(p.b, A, 1, 1, 2000, NULL), 1);
	tern_net_stats_get(p.b, &st);
	UT_EQ_INT(st.rx_dropped, 1);
	UT_EQ_INT(st.rx_dgrams, 1);
	/* B sends up to its own mtu. */
	UT_EQ_INT(send_n(p.b, A, 7, 2, 2000), 2);
	UT_EQ_INT(recv_n(p.a, B, 7, 2, 2000, NULL), 2);
	/* With the default mtu on both sides, TERN_NET_MTU_MAX bytes arrive whole. */
	tern_net_close(p.b);
	p.b = NULL;
	UT_EQ_INT(udp_open2(B, p.pb, A, p.pa, 0, NULL, &p.b), 0);
	UT_EQ_INT(send_n(p.a, B, 3, 3, TERN_NET_MTU_MAX), 3);
	UT_EQ_INT(recv_n(p.b, A, 3, 3, TERN_NET_MTU_MAX, NULL), 3);
	/* Over the sender's mtu: taken, dropped, counted; not sent. */
	UT_EQ_INT(send_n(p.a, B, 0, 1, TERN_NET_MTU_MAX + 1), 1);
	tern_net_stats_get(p.a, &st);
	UT_EQ_INT(st.tx_dropped, 1);
	UT_EQ_INT(st.tx_dgrams, 5);
	pair_close(&p);
}

static void
udp_drops_and_counts_unknown_senders_and_destinations(void)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct tern_net_dgram d[4];
	struct tern_net_stats st;
	char junk[16] = "not a peer";
	struct pair p;
	int fd;

	pair_open(&p, 0, 0, NULL);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	TERN_CU_ASSERT_FATAL(fd >= 0);
	to.sin_port = htons(p.pb);
	CU_ASSERT(sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&to, sizeof(to)) ==
		  sizeof(junk));
	close(fd);
	/* The stranger's datagram is dropped; the peer's behind it comes through. */
	UT_EQ_INT(send_n(p.a, B, 0, 1, 32), 1);
	UT_EQ_INT(recv_n(p.b, A, 0, 1, 32, NULL), 1);
	tern_net_stats_get(p.b, &st);
	UT_EQ_INT(st.rx_dropped, 1);
	UT_EQ_INT(st.rx_dgrams, 1);
	UT_EQ_INT(tern_net_rx_burst(p.b, 0, d, 4), 0);
	/* A node id not in the table: taken, dropped, counted. */
	UT_EQ_INT(send_n(p.a, 99, 0, 2, 32), 2);
	tern_net_stats_get(p.a, &st);
	UT_EQ_INT(st.tx_dropped, 2);
	UT_EQ_INT(st.tx_dgrams, 1);
	pair_close(&p);
}

/* ---- waiting ---- */

struct late_send {
	struct tern_net *n;
	uint64_t delay_ns;
};

static void *
late_sender(void *arg)
{
	struct late_send *ls = arg;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ls->delay_ns};
	uint8_t buf[8] = {0};
	struct tern_net_dgram d = {.data = buf, .len = sizeof(buf), .peer = B};

	nanosleep(&ts, NULL);
	tern_net_tx_burst(ls->n, 0, &d, 1);
	return NULL;
}

static void
udp_wait_times_out_when_idle_and_returns_when_data_arrives(void)
{
	struct late_send ls;
	struct tern_net_stats st;
	struct tern_net_dgram d[2];
	struct pair p;
	pthread_t t;
	uint64_t t0, el;

	pair_open(&p, 0, 0, NULL);
	/* Idle: the whole timeout, and no more than a scheduling slack over it. */
	t0 = mono_ns();
	UT_EQ_INT(tern_net_wait(p.b, 0, 30 * TERN_NS_PER_MS), -ETIMEDOUT);
	el = mono_ns() - t0;
	CU_ASSERT(el >= 30 * TERN_NS_PER_MS);
	CU_ASSERT(el < 1000 * TERN_NS_PER_MS);
	UT_EQ_INT(tern_net_wait(p.b, 0, 0), -ETIMEDOUT);
	/* A datagram sent 50 ms into a 5 s wait ends it. */
	ls.n = p.a;
	ls.delay_ns = 50 * TERN_NS_PER_MS;
	TERN_CU_ASSERT_FATAL(pthread_create(&t, NULL, late_sender, &ls) == 0);
	t0 = mono_ns();
	UT_EQ_INT(tern_net_wait(p.b, 0, 5 * TERN_NS_PER_S), 0);
	el = mono_ns() - t0;
	pthread_join(t, NULL);
	CU_ASSERT(el < 2 * TERN_NS_PER_S);
	UT_EQ_INT(tern_net_rx_burst(p.b, 0, d, 2), 1);
	tern_net_rx_release(p.b, d, 1);
	/* Already there: returns at once. */
	UT_EQ_INT(send_n(p.a, B, 0, 1, 8), 1);
	t0 = mono_ns();
	UT_EQ_INT(tern_net_wait(p.b, 0, 5 * TERN_NS_PER_S), 0);
	CU_ASSERT(mono_ns() - t0 < TERN_NS_PER_S);
	tern_net_stats_get(p.b, &st);
	UT_EQ_INT(st.waits, 3);
	UT_EQ_INT(tern_net_wait(p.b, 1, 0), -EINVAL);
	pair_close(&p);
}

/* A write to a wake fd ends a wait at once, once: the fd is watched edge-triggered. */
static void
udp_wake_fd_ends_a_wait_without_being_read(void)
{
	struct tern_net_peer p = {.node_id = B, .ipv4 = loopback(), .udp_port = free_port()};
	struct tern_net_opts o;
	struct tern_net *n = NULL;
	uint64_t one = 1, t0, el;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	TERN_CU_ASSERT_FATAL(fd >= 0);
	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = A;
	o.self.ipv4 = loopback();
	o.self.udp_port = free_port();
	o.peers = &p;
	o.n_peers = 1;
	o.wake_fds = &fd;
	o.n_wake_fds = 1;
	UT_EQ_INT(tern_net_open("udp", &o, &n), 0);
	TERN_CU_ASSERT_FATAL(n != NULL);
	UT_EQ_INT(write(fd, &one, sizeof(one)), (int)sizeof(one));
	t0 = mono_ns();
	UT_EQ_INT(tern_net_wait(n, 0, 5 * TERN_NS_PER_S), 0);
	CU_ASSERT(mono_ns() - t0 < TERN_NS_PER_S);
	/* Not read, yet the next wait blocks: the edge was consumed. */
	t0 = mono_ns();
	UT_EQ_INT(tern_net_wait(n, 0, 30 * TERN_NS_PER_MS), -ETIMEDOUT);
	el = mono_ns() - t0;
	CU_ASSERT(el >= 30 * TERN_NS_PER_MS);
	/* A second write makes a new edge. */
	UT_EQ_INT(write(fd, &one, sizeof(one)), (int)sizeof(one));
	UT_EQ_INT(tern_net_wait(n, 0, 5 * TERN_NS_PER_S), 0);
	tern_net_close(n);
	/* Too many, or none given: refused. */
	o.n_wake_fds = TERN_NET_WAKE_FDS_MAX + 1;
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	o.n_wake_fds = 1;
	o.wake_fds = NULL;
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	close(fd);
}

/* ---- link state ---- */

static void
udp_link_goes_down_when_refused_and_up_when_the_peer_speaks(void)
{
	struct tern_net *a = NULL, *b = NULL;
	uint16_t pa = free_port(), pb = free_port();
	uint64_t end;
	int up = 1;
	unsigned int i;

	/* Nothing listens on pb: the kernel answers port unreachable. */
	ut_diag_capture(1);
	UT_EQ_INT(udp_open2(A, pa, B, pb, 0, NULL, &a), 0);
	UT_EQ_INT(tern_net_link_up(a, B), 1);
	end = mono_ns() + 2 * TERN_NS_PER_S;
	for (i = 0; up == 1 && mono_ns() < end; i++) {
		UT_EQ_INT(send_n(a, B, i, 1, 16), 1);
		up = tern_net_link_up(a, B);
		if (up == 1)
			tern_net_wait(a, 0, TERN_NS_PER_MS);
	}
	UT_EQ_INT(up, 0);
	CU_ASSERT(ut_diag_contains("down"));
	/* Sending on to a peer that is down still works (it is how the link comes back). */
	UT_EQ_INT(send_n(a, B, 0, 3, 16), 3);
	/* The peer starts and speaks: up again. */
	UT_EQ_INT(udp_open2(B, pb, A, pa, 0, NULL, &b), 0);
	UT_EQ_INT(send_n(b, A, 0, 1, 16), 1);
	UT_EQ_INT(recv_n(a, B, 0, 1, 16, NULL), 1);
	UT_EQ_INT(tern_net_link_up(a, B), 1);
	UT_EQ_INT(send_n(a, B, 50, 1, 16), 1);
	UT_EQ_INT(recv_n(b, A, 50, 1, 16, NULL), 1);
	ut_diag_capture(0);
	tern_net_close(a);
	tern_net_close(b);
}

/* ---- open ---- */

static void
udp_open_rejects_bad_options_and_a_port_in_use(void)
{
	struct tern_net_peer peers[2] = {
		{.node_id = B, .ipv4 = loopback(), .udp_port = 7},
		{.node_id = 3, .ipv4 = loopback(), .udp_port = 8},
	};
	struct tern_net_opts o;
	struct tern_net *n = NULL, *m = NULL;
	uint16_t port = free_port();

	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = A;
	o.self.ipv4 = loopback();
	o.self.udp_port = port;
	o.peers = peers;
	o.n_peers = 2;
	ut_diag_capture(1);
	UT_EQ_INT(tern_net_open("no-such-driver", &o, &n), -ENOENT);
	UT_EQ_INT(tern_net_open("udp", NULL, &n), -EINVAL);
	o.queues = 2;
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	CU_ASSERT(ut_diag_contains("one queue"));
	o.queues = 1;
	o.mtu = TERN_NET_MTU_MAX + 1;
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	o.mtu = TERN_NET_MTU_MAX;
	o.self.udp_port = 0;
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	o.self.udp_port = port;
	peers[1].udp_port = 7; /* same address as B */
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	peers[1].udp_port = 8;
	peers[1].node_id = B; /* same id as B */
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	peers[1].node_id = A; /* itself */
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	peers[1].node_id = 3;
	peers[1].ipv4 = 0;
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	peers[1].ipv4 = loopback();
	o.driver_args = "speed=fast";
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	CU_ASSERT(ut_diag_contains("speed=fast"));
	o.driver_args = "rcvbuf=lots";
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	o.driver_args = "rx_bufs=0";
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	o.driver_args = "rx_bufs=100000";
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	o.driver_args = "sndbuf";
	UT_EQ_INT(tern_net_open("udp", &o, &n), -EINVAL);
	CU_ASSERT(n == NULL);
	/* Every argument at once; busy_poll may be refused without privilege (reported). */
	o.driver_args = "rcvbuf=262144,sndbuf=0x40000,busy_poll=50,rx_bufs=8";
	UT_EQ_INT(tern_net_open("udp", &o, &n), 0);
	TERN_CU_ASSERT_FATAL(n != NULL);
	o.driver_args = NULL;
	UT_EQ_INT(tern_net_open("udp", &o, &m), -EADDRINUSE);
	CU_ASSERT(ut_diag_contains("cannot bind"));
	CU_ASSERT(m == NULL);
	tern_net_close(n);
	ut_diag_capture(0);
}

static void
udp_open_fails_cleanly_when_an_allocation_fails(void)
{
	struct tern_net *n;
	uint16_t port = free_port();
	long k;
	int rc;

	for (k = 0;; k++) {
		n = NULL;
		ut_heap_fail_after(k);
		rc = udp_open2(A, port, B, 9, 0, NULL, &n);
		ut_heap_fail_after(-1);
		if (rc == 0)
			break;
		UT_EQ_INT(rc, -ENOMEM);
		CU_ASSERT(n == NULL);
		UT_EQ_INT(ut_heap_live(), 0);
		TERN_CU_ASSERT_FATAL(k < 20);
	}
	CU_ASSERT(k > 0);
	tern_net_close(n);
	/* The port was not left bound by a failed attempt. */
	UT_EQ_INT(udp_open2(A, port, B, 9, 0, NULL, &n), 0);
	tern_net_close(n);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("udp_data", NULL, NULL);
	CU_ADD_TEST(s, udp_two_nodes_exchange_bursts_both_ways);
	CU_ADD_TEST(s, udp_batches_more_than_a_burst_per_call);
	CU_ADD_TEST(s, udp_rx_buffers_serve_again_after_release);
	CU_ADD_TEST(s, udp_carries_mtu_sized_datagrams_and_drops_bigger_ones);
	CU_ADD_TEST(s, udp_drops_and_counts_unknown_senders_and_destinations);
	s = CU_add_suite("udp_wait", NULL, NULL);
	CU_ADD_TEST(s, udp_wait_times_out_when_idle_and_returns_when_data_arrives);
	CU_ADD_TEST(s, udp_wake_fd_ends_a_wait_without_being_read);
	CU_ADD_TEST(s, udp_link_goes_down_when_refused_and_up_when_the_peer_speaks);
	s = CU_add_suite("udp_open", NULL, NULL);
	CU_ADD_TEST(s, udp_open_rejects_bad_options_and_a_port_in_use);
	CU_ADD_TEST(s, udp_open_fails_cleanly_when_an_allocation_fails);
	return tern_ut_run(argc, argv);
}
