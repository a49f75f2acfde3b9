/* SPDX-License-Identifier: BSD-3-Clause */
/* drivers/net/sim: the deterministic in-memory network (tern_net_sim.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tern_common.h>
#include <tern_heap.h>
#include <tern_net.h>
#include <tern_net_sim.h>
#include <tern_time.h>

#include "ut.h"

#define A 1
#define B 2
#define C 3

/* ---- helpers ---- */

static struct tern_net_sim_world *
world_new(uint64_t seed, unsigned int slots, unsigned int mtu)
{
	struct tern_net_sim_opts o;
	struct tern_net_sim_world *w = NULL;

	tern_net_sim_opts_init(&o, sizeof(o));
	o.seed = seed;
	if (slots != 0)
		o.slots = slots;
	if (mtu != 0)
		o.mtu = mtu;
	UT_EQ_INT(tern_net_sim_world_create(&o, &w), 0);
	TERN_CU_ASSERT_FATAL(w != NULL);
	return w;
}

/* Attach node @p id knowing every other id of A, B, C (or @p peers when given). */
static int
attach(struct tern_net_sim_world *w, uint16_t id, const uint16_t *peers, unsigned int n_peers,
       unsigned int mtu, struct tern_net **out)
{
	static const uint16_t all[] = {A, B, C};
	struct tern_net_peer p[TERN_NET_PEERS_MAX];
	struct tern_net_opts o;
	unsigned int i, k = 0;

	memset(p, 0, sizeof(p));
	if (peers == NULL) {
		peers = all;
		n_peers = TERN_DIM(all);
	}
	for (i = 0; i < n_peers; i++)
		if (peers[i] != id)
			p[k++].node_id = peers[i];
	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = id;
	o.peers = p;
	o.n_peers = k;
	if (mtu != 0)
		o.mtu = mtu;
	return tern_net_sim_attach(w, &o, out);
}

static struct tern_net *
node_new(struct tern_net_sim_world *w, uint16_t id)
{
	struct tern_net *n = NULL;

	UT_EQ_INT(attach(w, id, NULL, 0, 0, &n), 0);
	TERN_CU_ASSERT_FATAL(n != NULL);
	return n;
}

/* Send one datagram carrying @p tag (8 bytes, then @p len - 8 bytes of filler). */
static unsigned int
send_tag(struct tern_net *n, uint16_t to, uint64_t tag, uint32_t len)
{
	uint8_t buf[2048];
	struct tern_net_dgram d = {.data = buf, .len = len, .peer = to};

	memset(buf, (int)(tag & 0xff), sizeof(buf));
	memcpy(buf, &tag, sizeof(tag));
	return tern_net_tx_burst(n, 0, &d, 1);
}

/*
 * Receive everything receivable at @p n; record tags (and senders) in @p tags/@p from when
 * given. @return datagrams received.
 */
static unsigned int
drain(struct tern_net *n, uint64_t *tags, uint16_t *from, unsigned int cap)
{
	struct tern_net_dgram d[TERN_NET_BURST];
	unsigned int got, i, total = 0;

	while ((got = tern_net_rx_burst(n, 0, d, TERN_NET_BURST)) > 0) {
		for (i = 0; i < got; i++, total++) {
			if (total < cap && tags != NULL)
				memcpy(&tags[total], d[i].data, sizeof(tags[0]));
			if (total < cap && from != NULL)
				from[total] = d[i].peer;
		}
		tern_net_rx_release(n, d, got);
	}
	return total;
}

static struct tern_net_sim_link_stats
lstats(struct tern_net_sim_world *w, uint16_t from, uint16_t to)
{
	struct tern_net_sim_link_stats st;

	UT_EQ_INT(tern_net_sim_link_stats_get(w, from, to, &st), 0);
	return st;
}

static void
expect_ratio(uint64_t num, uint64_t den, double want, double tol)
{
	double r = den == 0 ? 0.0 : (double)num / (double)den;

	if (fabs(r - want) > tol)
		ut_note("ratio %llu/%llu = %.4f, want %.4f +- %.4f", (unsigned long long)num,
			(unsigned long long)den, r, want, tol);
	CU_ASSERT(fabs(r - want) <= tol);
}

/* ---- delay and virtual time ---- */

static void
sim_datagram_becomes_receivable_exactly_when_its_latency_passed(void)
{
	struct tern_net_sim_world *w = world_new(1, 0, 2048);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B);
	struct tern_net_dgram d[4];
	struct tern_net_sim_world_stats ws;

	UT_EQ_INT(tern_net_sim_set_delay(w, A, B, 50 * TERN_NS_PER_US, 0), 0);
	UT_EQ_INT(tern_net_sim_advance(w, 1000), 0);
	CU_ASSERT_EQUAL(tern_net_sim_next_due(w), TERN_TIME_NEVER);
	UT_EQ_INT(send_tag(a, B, 42, 100), 1);
	CU_ASSERT_EQUAL(tern_net_sim_next_due(w), 1000 + 50 * TERN_NS_PER_US);
	UT_EQ_INT(tern_net_sim_advance(w, 1000 + 50 * TERN_NS_PER_US - 1), 0);
	UT_EQ_INT(tern_net_rx_burst(b, 0, d, 4), 0);
	UT_EQ_INT(tern_net_wait(b, 0, 1000), -ETIMEDOUT);
	UT_EQ_INT(tern_net_sim_advance(w, 1000 + 50 * TERN_NS_PER_US), 1);
	CU_ASSERT_EQUAL(tern_net_sim_next_due(w), TERN_TIME_NEVER);
	UT_EQ_INT(tern_net_sim_receivable(w, B), 1);
	UT_EQ_INT(tern_net_wait(b, 0, 1000), 0);
	UT_EQ_INT(tern_net_rx_burst(b, 0, d, 4), 1);
	UT_EQ_INT(d[0].len, 100);
	UT_EQ_INT(d[0].peer, A);
	UT_EQ_INT(d[0].queue, 0);
	UT_EQ_INT(*(uint64_t *)d[0].data, 42);
	tern_net_sim_world_stats_get(w, &ws);
	UT_EQ_INT(ws.held, 1);
	tern_net_rx_release(b, d, 1);
	tern_net_sim_world_stats_get(w, &ws);
	UT_EQ_INT(ws.held, 0);
	UT_EQ_INT(ws.in_flight, 0);
	UT_EQ_INT(ws.receivable, 0);
	/* Time never goes back. */
	UT_EQ_INT(tern_net_sim_advance(w, 999), -EINVAL);
	CU_ASSERT_EQUAL(tern_net_sim_now(w), 1000 + 50 * TERN_NS_PER_US);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_sim_world_destroy(w);
}

static void
sim_next_due_is_the_earliest_in_flight(void)
{
	struct tern_net_sim_world *w = world_new(1, 0, 2048);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B), *c = node_new(w, C);
	uint64_t t;
	unsigned int steps = 0, got = 0;

	UT_EQ_INT(tern_net_sim_set_delay(w, A, B, 300, 0), 0);
	UT_EQ_INT(tern_net_sim_set_delay(w, A, C, 100, 0), 0);
	UT_EQ_INT(tern_net_sim_set_delay(w, C, B, 200, 0), 0);
	send_tag(a, B, 1, 16);
	send_tag(a, C, 2, 16);
	send_tag(c, B, 3, 16);
	CU_ASSERT_EQUAL(tern_net_sim_next_due(w), 100);
	/* A step_until loop: jump from due time to due time. */
	while ((t = tern_net_sim_next_due(w)) != TERN_TIME_NEVER) {
		UT_EQ_INT(tern_net_sim_advance(w, t), 1);
		CU_ASSERT_EQUAL(t, 100 * (steps + 1));
		got += drain(b, NULL, NULL, 0) + drain(c, NULL, NULL, 0);
		steps++;
	}
	UT_EQ_INT(steps, 3);
	UT_EQ_INT(got, 3);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_close(c);
	tern_net_sim_world_destroy(w);
}

static void
sim_zero_delay_delivers_at_once_in_send_order(void)
{
	struct tern_net_sim_world *w = world_new(1, 0, 2048);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B);
	uint64_t tags[8];
	unsigned int i;

	UT_EQ_INT(tern_net_sim_set_delay(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 0, 0), 0);
	for (i = 0; i < 8; i++)
		send_tag(a, B, i, 64);
	UT_EQ_INT(tern_net_sim_receivable(w, B), 8);
	UT_EQ_INT(drain(b, tags, NULL, 8), 8);
	for (i = 0; i < 8; i++)
		UT_EQ_INT(tags[i], i);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_sim_world_destroy(w);
}

/* ---- loss, duplication, reordering ---- */

/* Send @p n datagrams A -> B, @p step_ns apart, receiving as we go. */
static unsigned int
stream(struct tern_net_sim_world *w, struct tern_net *a, struct tern_net *b, unsigned int n,
       uint64_t step_ns, uint64_t *tags, unsigned int cap)
{
	unsigned int i, got = 0;

	for (i = 0; i < n; i++) {
		UT_EQ_INT(send_tag(a, B, i, 32), 1);
		CU_ASSERT(tern_net_sim_advance(w, tern_net_sim_now(w) + step_ns) >= 0);
		got += drain(b, tags == NULL ? NULL : tags + TERN_MIN(got, cap), NULL,
			     got < cap ? cap - got : 0);
	}
	while (tern_net_sim_next_due(w) != TERN_TIME_NEVER) {
		tern_net_sim_advance(w, tern_net_sim_next_due(w));
		got += drain(b, tags == NULL ? NULL : tags + TERN_MIN(got, cap), NULL,
			     got < cap ? cap - got : 0);
	}
	return got;
}

static void
sim_loss_rate_matches_its_setting(void)
{
	uint64_t seeds = ut_seeds(3), seed;

	for (seed = 1; seed <= seeds; seed++) {
		struct tern_net_sim_world *w = world_new(seed, 0, 256);
		struct tern_net *a = node_new(w, A), *b = node_new(w, B);
		struct tern_net_sim_link_stats st;
		struct tern_net_stats ns;
		unsigned int got;

		UT_EQ_INT(tern_net_sim_set_loss(w, A, B, 0.1), 0);
		got = stream(w, a, b, 100000, 1000, NULL, 0);
		st = lstats(w, A, B);
		UT_EQ_INT(st.sent, 100000);
		UT_EQ_INT(st.lost + st.delivered, st.sent);
		UT_EQ_INT(st.delivered, got);
		UT_EQ_INT(st.duplicated + st.cut + st.dead + st.full + st.rejected, 0);
		expect_ratio(st.lost, st.sent, 0.1, 0.01);
		/* The sender cannot see loss: it sent everything. */
		tern_net_stats_get(a, &ns);
		UT_EQ_INT(ns.tx_dgrams, 100000);
		UT_EQ_INT(ns.tx_bytes, 100000 * 32);
		UT_EQ_INT(ns.tx_dropped, 0);
		tern_net_stats_get(b, &ns);
		UT_EQ_INT(ns.rx_dgrams, got);
		/* The other direction keeps its own (lossless) setting. */
		UT_EQ_INT(tern_net_sim_set_loss(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 1.0), 0);
		UT_EQ_INT(send_tag(b, A, 1, 8), 1);
		UT_EQ_INT(lstats(w, B, A).lost, 1);
		tern_net_close(a);
		tern_net_close(b);
		tern_net_sim_world_destroy(w);
	}
}

static void
sim_duplication_rate_matches_its_setting(void)
{
	struct tern_net_sim_world *w = world_new(7, 0, 256);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B);
	struct tern_net_sim_link_stats st;
	static uint64_t tags[110000];
	static uint8_t seen[100000];
	unsigned int got, i, twice = 0;

	UT_EQ_INT(tern_net_sim_set_dup(w, A, B, 0.05), 0);
	got = stream(w, a, b, 100000, 1000, tags, TERN_DIM(tags));
	st = lstats(w, A, B);
	UT_EQ_INT(st.delivered, st.sent + st.duplicated);
	UT_EQ_INT(got, st.delivered);
	expect_ratio(st.duplicated, st.sent, 0.05, 0.005);
	/* Every datagram arrived, the duplicated ones exactly twice. */
	for (i = 0; i < TERN_MIN(got, (unsigned int)TERN_DIM(tags)); i++) {
		TERN_CU_ASSERT_FATAL(tags[i] < 100000);
		seen[tags[i]]++;
	}
	for (i = 0; i < 100000; i++) {
		CU_ASSERT(seen[i] == 1 || seen[i] == 2);
		twice += seen[i] == 2;
	}
	UT_EQ_INT(twice, st.duplicated);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_sim_world_destroy(w);
}

static void
sim_jitter_reorders_at_the_expected_rate(void)
{
	struct tern_net_sim_world *w = world_new(11, 0, 256);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B);
	struct tern_net_sim_link_stats st;
	static uint64_t tags[100000];
	unsigned int got, i, late = 0;
	uint64_t hi = 0;

	/* Without jitter a link is FIFO. */
	got = stream(w, a, b, 1000, 1000, tags, TERN_DIM(tags));
	UT_EQ_INT(got, 1000);
	for (i = 0; i < got; i++)
		UT_EQ_INT(tags[i], i);
	UT_EQ_INT(lstats(w, A, B).reordered, 0);
	/*
	 * Sends 1 us apart with jitter uniform in [0, 2 us): a datagram is overtaken only by
	 * the next one, when its jitter exceeds the next one's by more than 1 us, which
	 * happens with probability 1/8.
	 */
	UT_EQ_INT(tern_net_sim_set_delay(w, A, B, 10 * TERN_NS_PER_US, 2 * TERN_NS_PER_US), 0);
	got = stream(w, a, b, 100000, 1000, tags, TERN_DIM(tags));
	UT_EQ_INT(got, 100000);
	st = lstats(w, A, B);
	UT_EQ_INT(st.delivered, 101000);
	expect_ratio(st.reordered, 100000, 0.125, 0.01);
	/* The receiver saw the same: tags arriving below the highest seen so far. */
	for (i = 0; i < got; i++) {
		if (i > 0 && tags[i] < hi)
			late++;
		hi = TERN_MAX(hi, tags[i]);
	}
	UT_EQ_INT(late, st.reordered);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_sim_world_destroy(w);
}

/* Run a faulty scenario and fold every delivery (time, receiver, sender, tag) into a hash. */
static uint64_t
scenario_hash(uint64_t seed)
{
	struct tern_net_sim_world *w = world_new(seed, 512, 256);
	struct tern_net *n[3] = {node_new(w, A), node_new(w, B), node_new(w, C)};
	uint64_t h = 1469598103934665603ULL, tags[64];
	uint16_t from[64];
	unsigned int i, k, got;

	UT_EQ_INT(tern_net_sim_set_loss(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 0.2), 0);
	UT_EQ_INT(tern_net_sim_set_dup(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 0.1), 0);
	UT_EQ_INT(tern_net_sim_set_delay(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 5000, 20000), 0);
	for (i = 0; i < 3000; i++) {
		unsigned int s = i % 3;

		send_tag(n[s], (uint16_t)(1 + (s + 1 + i / 3 % 2) % 3), i, 24);
		if (i == 1000)
			tern_net_sim_partition(w, A, C);
		if (i == 2000)
			tern_net_sim_heal(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL);
		tern_net_sim_advance(w, tern_net_sim_now(w) + 700);
		for (k = 0; k < 3; k++) {
			unsigned int j;

			got = drain(n[k], tags, from, TERN_DIM(tags));
			for (j = 0; j < TERN_MIN(got, (unsigned int)TERN_DIM(tags)); j++) {
				uint64_t v[4] = {tern_net_sim_now(w), k, from[j], tags[j]};
				unsigned int b;

				for (b = 0; b < sizeof(v); b++)
					h = (h ^ ((const uint8_t *)v)[b]) * 1099511628211ULL;
			}
		}
	}
	tern_net_close(n[0]);
	tern_net_close(n[1]);
	tern_net_close(n[2]);
	tern_net_sim_world_destroy(w);
	return h;
}

static void
sim_same_seed_replays_the_same_deliveries(void)
{
	uint64_t h1 = scenario_hash(1234), h2 = scenario_hash(1234), h3 = scenario_hash(1235);

	CU_ASSERT_EQUAL(h1, h2);
	CU_ASSERT_NOT_EQUAL(h1, h3);
}

/* ---- partitions ---- */

/* Each of A, B, C sends @p k datagrams to each other node; then everything falls due. */
static void
all_to_all(struct tern_net_sim_world *w, struct tern_net **n, unsigned int k)
{
	unsigned int i, s, t;

	for (i = 0; i < k; i++)
		for (s = 0; s < 3; s++)
			for (t = 0; t < 3; t++)
				if (s != t)
					UT_EQ_INT(send_tag(n[s], (uint16_t)(t + 1), i, 40), 1);
	while (tern_net_sim_next_due(w) != TERN_TIME_NEVER)
		tern_net_sim_advance(w, tern_net_sim_next_due(w));
	for (s = 0; s < 3; s++)
		drain(n[s], NULL, NULL, 0);
}

static void
sim_partition_drops_exactly_the_cut_links(void)
{
	struct tern_net_sim_world *w = world_new(3, 0, 256);
	struct tern_net *n[3] = {node_new(w, A), node_new(w, B), node_new(w, C)};
	struct tern_net_sim_link_stats st;

	UT_EQ_INT(tern_net_sim_partition(w, A, B), 0);
	UT_EQ_INT(tern_net_link_up(n[0], B), 0);
	UT_EQ_INT(tern_net_link_up(n[1], A), 0);
	UT_EQ_INT(tern_net_link_up(n[0], C), 1);
	all_to_all(w, n, 100);
	st = lstats(w, A, B);
	UT_EQ_INT(st.sent, 100);
	UT_EQ_INT(st.cut, 100);
	UT_EQ_INT(st.delivered, 0);
	st = lstats(w, B, A);
	UT_EQ_INT(st.cut, 100);
	UT_EQ_INT(st.delivered, 0);
	UT_EQ_INT(lstats(w, A, C).delivered, 100);
	UT_EQ_INT(lstats(w, C, A).delivered, 100);
	UT_EQ_INT(lstats(w, B, C).delivered, 100);
	UT_EQ_INT(lstats(w, C, B).delivered, 100);
	st = lstats(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL);
	UT_EQ_INT(st.sent, 600);
	UT_EQ_INT(st.cut, 200);
	UT_EQ_INT(st.delivered, 400);
	/* Healed, everything flows again. */
	UT_EQ_INT(tern_net_sim_heal(w, B, A), 0);
	UT_EQ_INT(tern_net_link_up(n[0], B), 1);
	all_to_all(w, n, 100);
	UT_EQ_INT(lstats(w, A, B).delivered, 100);
	UT_EQ_INT(lstats(w, B, A).delivered, 100);
	UT_EQ_INT(lstats(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL).cut, 200);
	/* Isolating a node cuts all of its links, and only those. */
	UT_EQ_INT(tern_net_sim_partition(w, C, TERN_NET_SIM_ALL), 0);
	all_to_all(w, n, 10);
	UT_EQ_INT(lstats(w, C, TERN_NET_SIM_ALL).cut, 20);
	UT_EQ_INT(lstats(w, TERN_NET_SIM_ALL, C).cut, 20);
	UT_EQ_INT(lstats(w, A, B).delivered, 110);
	UT_EQ_INT(tern_net_sim_partition(w, A, 99), -ENOENT);
	tern_net_close(n[0]);
	tern_net_close(n[1]);
	tern_net_close(n[2]);
	tern_net_sim_world_destroy(w);
}

static void
sim_oneway_partition_drops_only_one_direction(void)
{
	struct tern_net_sim_world *w = world_new(3, 0, 256);
	struct tern_net *n[3] = {node_new(w, A), node_new(w, B), node_new(w, C)};

	UT_EQ_INT(tern_net_sim_partition_oneway(w, A, B), 0);
	UT_EQ_INT(tern_net_link_up(n[0], B), 0);
	UT_EQ_INT(tern_net_link_up(n[1], A), 1);
	all_to_all(w, n, 50);
	UT_EQ_INT(lstats(w, A, B).cut, 50);
	UT_EQ_INT(lstats(w, A, B).delivered, 0);
	UT_EQ_INT(lstats(w, B, A).cut, 0);
	UT_EQ_INT(lstats(w, B, A).delivered, 50);
	UT_EQ_INT(lstats(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL).delivered, 250);
	UT_EQ_INT(tern_net_sim_heal(w, A, B), 0);
	all_to_all(w, n, 50);
	UT_EQ_INT(lstats(w, A, B).delivered, 50);
	tern_net_close(n[0]);
	tern_net_close(n[1]);
	tern_net_close(n[2]);
	tern_net_sim_world_destroy(w);
}

static void
sim_partition_drops_datagrams_already_in_flight(void)
{
	struct tern_net_sim_world *w = world_new(3, 0, 256);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B);

	UT_EQ_INT(tern_net_sim_set_delay(w, A, B, 1000, 0), 0);
	send_tag(a, B, 1, 8);
	send_tag(a, B, 2, 8);
	UT_EQ_INT(tern_net_sim_advance(w, 500), 0);
	UT_EQ_INT(tern_net_sim_partition(w, A, B), 0);
	UT_EQ_INT(tern_net_sim_advance(w, 1000), 0);
	UT_EQ_INT(lstats(w, A, B).cut, 2);
	/* Sent while cut, healed before it fell due: still dropped (cut when sent). */
	send_tag(a, B, 3, 8);
	UT_EQ_INT(tern_net_sim_heal(w, A, B), 0);
	UT_EQ_INT(tern_net_sim_advance(w, 3000), 0);
	UT_EQ_INT(lstats(w, A, B).cut, 3);
	send_tag(a, B, 4, 8);
	UT_EQ_INT(tern_net_sim_advance(w, 4000), 1);
	UT_EQ_INT(drain(b, NULL, NULL, 0), 1);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_sim_world_destroy(w);
}

/* ---- kill and revive ---- */

static void
sim_kill_drops_everything_to_and_from_a_node_until_revived(void)
{
	struct tern_net_sim_world *w = world_new(5, 0, 256);
	struct tern_net *n[3] = {node_new(w, A), node_new(w, B), node_new(w, C)};
	struct tern_net_sim_world_stats ws;
	struct tern_net_dgram held;
	struct tern_net_stats ns;
	uint64_t tags[4];

	/* B holds one datagram, has one receivable, and one in flight each way. */
	UT_EQ_INT(tern_net_sim_set_delay(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 100, 0), 0);
	send_tag(n[0], B, 1, 16);
	send_tag(n[0], B, 2, 16);
	UT_EQ_INT(tern_net_sim_advance(w, 100), 2);
	UT_EQ_INT(tern_net_rx_burst(n[1], 0, &held, 1), 1);
	send_tag(n[0], B, 3, 16);
	send_tag(n[1], C, 4, 16);
	send_tag(n[0], C, 5, 16);
	UT_EQ_INT(tern_net_sim_kill(w, B), 0);
	UT_EQ_INT(tern_net_sim_alive(w, B), 0);
	UT_EQ_INT(tern_net_sim_alive(w, A), 1);
	UT_EQ_INT(tern_net_link_up(n[0], B), 0);
	UT_EQ_INT(tern_net_link_up(n[1], A), 0);
	/* Receivable 2, in flight 3 (A->B) and 4 (B->C): dropped; 5 (A->C) is not. */
	UT_EQ_INT(lstats(w, A, B).dead, 2);
	UT_EQ_INT(lstats(w, B, C).dead, 1);
	UT_EQ_INT(tern_net_sim_receivable(w, B), 0);
	/* While dead, it sends nothing and receives nothing. */
	send_tag(n[1], A, 6, 16);
	send_tag(n[2], B, 7, 16);
	UT_EQ_INT(tern_net_sim_advance(w, 1000), 1);
	UT_EQ_INT(drain(n[2], tags, NULL, 4), 1);
	UT_EQ_INT(tags[0], 5);
	UT_EQ_INT(drain(n[0], NULL, NULL, 0), 0);
	UT_EQ_INT(drain(n[1], NULL, NULL, 0), 0);
	UT_EQ_INT(lstats(w, B, A).dead, 1);
	UT_EQ_INT(lstats(w, C, B).dead, 1);
	tern_net_stats_get(n[1], &ns);
	UT_EQ_INT(ns.tx_dropped, 1);
	/* What it held is still its own and still intact. */
	UT_EQ_INT(*(uint64_t *)held.data, 1);
	tern_net_rx_release(n[1], &held, 1);
	UT_EQ_INT(tern_net_sim_kill(w, B), 0);
	/* Revived, it talks again. */
	UT_EQ_INT(tern_net_sim_revive(w, B), 0);
	UT_EQ_INT(tern_net_sim_alive(w, B), 1);
	UT_EQ_INT(tern_net_link_up(n[0], B), 1);
	send_tag(n[0], B, 8, 16);
	send_tag(n[1], A, 9, 16);
	UT_EQ_INT(tern_net_sim_advance(w, 2000), 2);
	UT_EQ_INT(drain(n[1], tags, NULL, 4), 1);
	UT_EQ_INT(tags[0], 8);
	UT_EQ_INT(drain(n[0], tags, NULL, 4), 1);
	UT_EQ_INT(tags[0], 9);
	tern_net_sim_world_stats_get(w, &ws);
	UT_EQ_INT(ws.in_flight + ws.receivable + ws.held, 0);
	UT_EQ_INT(tern_net_sim_kill(w, 99), -ENOENT);
	UT_EQ_INT(tern_net_sim_revive(w, 99), -ENOENT);
	UT_EQ_INT(tern_net_sim_alive(w, 99), -ENOENT);
	tern_net_close(n[0]);
	tern_net_close(n[1]);
	tern_net_close(n[2]);
	tern_net_sim_world_destroy(w);
}

static void
sim_close_and_reattach_keeps_link_settings_and_frees_held_slots(void)
{
	struct tern_net_sim_world *w = world_new(5, 0, 256);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B), *b2 = NULL;
	struct tern_net_sim_world_stats ws;
	struct tern_net_sim_link l;
	struct tern_net_dgram d[2];
	struct tern_net_stats ns;

	UT_EQ_INT(tern_net_sim_set_delay(w, A, B, 0, 0), 0);
	UT_EQ_INT(tern_net_sim_partition_oneway(w, B, A), 0);
	send_tag(a, B, 1, 8);
	send_tag(a, B, 2, 8);
	UT_EQ_INT(tern_net_rx_burst(b, 0, d, 1), 1);
	UT_EQ_INT(attach(w, B, NULL, 0, 0, &b2), -EEXIST);
	tern_net_close(b);
	tern_net_sim_world_stats_get(w, &ws);
	UT_EQ_INT(ws.held + ws.receivable, 0);
	UT_EQ_INT(ws.nodes, 1);
	UT_EQ_INT(ws.known, 2);
	UT_EQ_INT(tern_net_sim_alive(w, B), 0);
	UT_EQ_INT(lstats(w, A, B).dead, 1);
	/* To a closed node: dropped as dead. */
	send_tag(a, B, 3, 8);
	UT_EQ_INT(lstats(w, A, B).dead, 2);
	/* A restart: same id, fresh counters, same links. */
	UT_EQ_INT(attach(w, B, NULL, 0, 0, &b2), 0);
	tern_net_stats_get(b2, &ns);
	UT_EQ_INT(ns.rx_dgrams, 0);
	UT_EQ_INT(tern_net_sim_link_get(w, A, B, &l), 0);
	UT_EQ_INT(l.latency_ns, 0);
	UT_EQ_INT(tern_net_link_up(b2, A), 0);
	send_tag(a, B, 4, 8);
	UT_EQ_INT(drain(b2, NULL, NULL, 0), 1);
	tern_net_close(b2);
	tern_net_close(a);
	tern_net_close(NULL);
	tern_net_sim_world_destroy(w);
}

/* ---- limits and addressing ---- */

static void
sim_pool_exhaustion_is_dropped_and_counted(void)
{
	struct tern_net_sim_world *w = world_new(5, 8, 256);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B);
	struct tern_net_sim_world_stats ws;
	struct tern_net_stats ns;
	unsigned int i;

	for (i = 0; i < 10; i++)
		UT_EQ_INT(send_tag(a, B, i, 16), 1);
	tern_net_sim_world_stats_get(w, &ws);
	UT_EQ_INT(ws.in_flight, 8);
	UT_EQ_INT(ws.full, 2);
	UT_EQ_INT(ws.slots_min_free, 0);
	UT_EQ_INT(lstats(w, A, B).full, 2);
	tern_net_stats_get(a, &ns);
	UT_EQ_INT(ns.tx_dgrams, 8);
	UT_EQ_INT(ns.tx_dropped, 2);
	tern_net_sim_advance(w, tern_net_sim_next_due(w));
	UT_EQ_INT(drain(b, NULL, NULL, 0), 8);
	/* Released slots serve again. */
	for (i = 0; i < 8; i++)
		UT_EQ_INT(send_tag(a, B, i, 16), 1);
	tern_net_sim_world_stats_get(w, &ws);
	UT_EQ_INT(ws.full, 2);
	UT_EQ_INT(ws.in_flight, 8);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_sim_world_destroy(w);
}

static void
sim_unknown_peers_and_oversized_datagrams_are_dropped(void)
{
	static const uint16_t only_c[] = {C};
	struct tern_net_sim_world *w = world_new(5, 0, 1024);
	struct tern_net *a = node_new(w, A), *b = NULL, *c = node_new(w, C);
	struct tern_net_dgram d = {.data = NULL, .len = 8, .peer = B};
	struct tern_net_stats ns;

	/* B knows only C, and takes at most 100 bytes. */
	UT_EQ_INT(attach(w, B, only_c, 1, 100, &b), 0);
	UT_EQ_INT(tern_net_sim_set_delay(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 0, 0), 0);
	/* B does not know A; over B's mtu; fine. */
	send_tag(a, B, 1, 16);
	send_tag(c, B, 2, 101);
	send_tag(c, B, 3, 100);
	/* Not in A's table (no route); over A's (the world's) mtu; no data. */
	send_tag(a, 77, 4, 16);
	send_tag(a, C, 5, 1025);
	UT_EQ_INT(tern_net_tx_burst(a, 0, &d, 1), 1);
	tern_net_stats_get(b, &ns);
	UT_EQ_INT(ns.rx_dropped, 2);
	UT_EQ_INT(lstats(w, A, B).rejected, 1);
	UT_EQ_INT(lstats(w, C, B).rejected, 1);
	UT_EQ_INT(drain(b, NULL, NULL, 0), 1);
	tern_net_stats_get(a, &ns);
	UT_EQ_INT(ns.tx_dropped, 3);
	UT_EQ_INT(ns.tx_dgrams, 1);
	UT_EQ_INT(tern_net_link_up(b, A), -ENOENT);
	UT_EQ_INT(tern_net_link_up(a, B), 1);
	/* Another queue than 0 has nothing. */
	UT_EQ_INT(tern_net_tx_burst(a, 1, &d, 1), 0);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_close(c);
	tern_net_sim_world_destroy(w);
}

static void
sim_link_settings_apply_per_link_and_as_default(void)
{
	struct tern_net_sim_world *w = world_new(5, 0, 256);
	struct tern_net *a = node_new(w, A), *b = node_new(w, B), *c;
	struct tern_net_sim_link l = {.latency_ns = 7, .jitter_ns = 3, .loss = 0.5, .dup = 0.25};
	struct tern_net_sim_link got;

	UT_EQ_INT(tern_net_sim_link_get(w, A, B, &got), 0);
	UT_EQ_INT(got.latency_ns, 10 * TERN_NS_PER_US);
	UT_EQ_INT(tern_net_sim_link_set(w, A, B, &l), 0);
	UT_EQ_INT(tern_net_sim_link_get(w, A, B, &got), 0);
	CU_ASSERT(memcmp(&got, &l, sizeof(l)) == 0);
	UT_EQ_INT(tern_net_sim_link_get(w, B, A, &got), 0);
	UT_EQ_INT(got.latency_ns, 10 * TERN_NS_PER_US);
	/* Both wildcards: every link now and the default for later nodes. */
	l.latency_ns = 99;
	UT_EQ_INT(tern_net_sim_link_set(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, &l), 0);
	c = node_new(w, C);
	UT_EQ_INT(tern_net_sim_link_get(w, C, A, &got), 0);
	UT_EQ_INT(got.latency_ns, 99);
	UT_EQ_INT(tern_net_sim_link_get(w, B, A, &got), 0);
	UT_EQ_INT(got.latency_ns, 99);
	UT_EQ_INT(tern_net_sim_link_get(w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, &got), 0);
	UT_EQ_INT(got.latency_ns, 99);
	/* Errors. */
	l.loss = 1.5;
	UT_EQ_INT(tern_net_sim_link_set(w, A, B, &l), -EINVAL);
	UT_EQ_INT(tern_net_sim_set_loss(w, A, B, -0.1), -EINVAL);
	UT_EQ_INT(tern_net_sim_set_dup(w, A, B, NAN), -EINVAL);
	UT_EQ_INT(tern_net_sim_set_loss(w, A, 42, 0.1), -ENOENT);
	UT_EQ_INT(tern_net_sim_link_get(w, A, A, &got), -EINVAL);
	UT_EQ_INT(tern_net_sim_link_get(w, A, TERN_NET_SIM_ALL, &got), -EINVAL);
	UT_EQ_INT(tern_net_sim_link_get(w, A, 42, &got), -ENOENT);
	tern_net_close(a);
	tern_net_close(b);
	tern_net_close(c);
	tern_net_sim_world_destroy(w);
}

/* ---- creation and the registry ---- */

static void
sim_create_and_attach_reject_bad_options(void)
{
	struct tern_net_sim_opts so;
	struct tern_net_sim_world *w = NULL;
	struct tern_net_peer p[2] = {{.node_id = B}, {.node_id = B}};
	struct tern_net_opts o;
	struct tern_net *n = NULL;

	tern_net_sim_opts_init(&so, sizeof(so));
	so.link.loss = 2;
	UT_EQ_INT(tern_net_sim_world_create(&so, &w), -EINVAL);
	CU_ASSERT(w == NULL);
	tern_net_sim_opts_init(&so, sizeof(so));
	so.slots = 0;
	UT_EQ_INT(tern_net_sim_world_create(&so, &w), -EINVAL);
	tern_net_sim_opts_init(&so, sizeof(so));
	so.mtu = TERN_NET_MTU_MAX + 1;
	UT_EQ_INT(tern_net_sim_world_create(&so, &w), -EINVAL);
	UT_EQ_INT(tern_net_sim_world_create(NULL, &w), -EINVAL);
	/* An old caller's smaller options struct gets the defaults for the rest. */
	tern_net_sim_opts_init(&so, sizeof(so));
	so.opts_size = offsetof(struct tern_net_sim_opts, slots);
	so.nodes_max = 1; /* beyond opts_size: ignored */
	UT_EQ_INT(tern_net_sim_world_create(&so, &w), 0);
	TERN_CU_ASSERT_FATAL(w != NULL);

	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = A;
	o.peers = p;
	o.n_peers = 2; /* B twice */
	UT_EQ_INT(tern_net_sim_attach(w, &o, &n), -EINVAL);
	p[1].node_id = A; /* itself */
	UT_EQ_INT(tern_net_sim_attach(w, &o, &n), -EINVAL);
	o.n_peers = 1;
	o.queues = 2;
	UT_EQ_INT(tern_net_sim_attach(w, &o, &n), -EINVAL);
	o.queues = 1;
	o.self.node_id = TERN_NET_SIM_ALL;
	UT_EQ_INT(tern_net_sim_attach(w, &o, &n), -EINVAL);
	o.self.node_id = A;
	o.n_peers = TERN_NET_PEERS_MAX + 1;
	UT_EQ_INT(tern_net_sim_attach(w, &o, &n), -EINVAL);
	o.n_peers = 1;
	UT_EQ_INT(tern_net_sim_attach(w, &o, &n), 0);
	tern_net_close(n);
	tern_net_sim_world_destroy(w);

	/* nodes_max counts node ids ever known. */
	tern_net_sim_opts_init(&so, sizeof(so));
	so.nodes_max = 2;
	so.slots = 4;
	UT_EQ_INT(tern_net_sim_world_create(&so, &w), 0);
	UT_EQ_INT(attach(w, A, NULL, 0, 0, &n), 0);
	tern_net_close(n);
	UT_EQ_INT(attach(w, B, NULL, 0, 0, &n), 0);
	tern_net_close(n);
	UT_EQ_INT(attach(w, C, NULL, 0, 0, &n), -ENOSPC);
	UT_EQ_INT(attach(w, A, NULL, 0, 0, &n), 0);
	tern_net_close(n);
	tern_net_sim_world_destroy(w);
	tern_net_sim_world_destroy(NULL);
}

static void
sim_create_fails_cleanly_when_an_allocation_fails(void)
{
	struct tern_net_sim_opts so;
	struct tern_net_sim_world *w;
	long k;
	int rc;

	tern_net_sim_opts_init(&so, sizeof(so));
	so.slots = 16;
	so.mtu = 64;
	for (k = 0;; k++) {
		w = NULL;
		ut_heap_fail_after(k);
		rc = tern_net_sim_world_create(&so, &w);
		ut_heap_fail_after(-1);
		if (rc == 0)
			break;
		UT_EQ_INT(rc, -ENOMEM);
		CU_ASSERT(w == NULL);
		UT_EQ_INT(ut_heap_live(), 0);
		TERN_CU_ASSERT_FATAL(k < 100);
	}
	CU_ASSERT(k > 0);
	tern_net_sim_world_destroy(w);
}

static void
sim_opens_by_name_in_the_world_named_by_its_argument(void)
{
	struct tern_net_sim_world *w1, *w2;
	struct tern_net_peer p = {.node_id = B};
	struct tern_net_opts o;
	struct tern_net *a = NULL, *b = NULL;
	char args[32];

	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = A;
	o.peers = &p;
	o.n_peers = 1;
	ut_diag_capture(1);
	UT_EQ_INT(tern_net_open("sim", &o, &a), -EINVAL);
	CU_ASSERT(ut_diag_contains("no simulated world"));
	w1 = world_new(1, 16, 64);
	/* The only world needs no argument. */
	UT_EQ_INT(tern_net_open("sim", &o, &a), 0);
	TERN_CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(a->ops == node_new(w1, B)->ops);
	w2 = world_new(2, 16, 64);
	o.self.node_id = C;
	UT_EQ_INT(tern_net_open("sim", &o, &b), -EINVAL);
	CU_ASSERT(ut_diag_contains("several simulated worlds"));
	snprintf(args, sizeof(args), "world=%u", tern_net_sim_world_id(w2));
	o.driver_args = args;
	UT_EQ_INT(tern_net_open("sim", &o, &b), 0);
	UT_EQ_INT(tern_net_sim_alive(w2, C), 1);
	UT_EQ_INT(tern_net_sim_alive(w1, C), -ENOENT);
	o.driver_args = "world=9999";
	UT_EQ_INT(tern_net_open("sim", &o, &b), -EINVAL);
	o.driver_args = "seed=3";
	UT_EQ_INT(tern_net_open("sim", &o, &b), -EINVAL);
	CU_ASSERT(ut_diag_contains("world=ID"));
	/* The handle from the registry is a plain sim node: B gets what A sends. */
	UT_EQ_INT(tern_net_sim_set_delay(w1, A, B, 0, 0), 0);
	UT_EQ_INT(send_tag(a, B, 5, 8), 1);
	UT_EQ_INT(tern_net_sim_receivable(w1, B), 1);
	tern_net_close(a);
	tern_net_sim_world_destroy(w1); /* B still attached: freed with the world */
	tern_net_sim_world_destroy(w2); /* C likewise */
	ut_diag_capture(0);
}

/* tern_net_args_parse (drivers/net/net.c), which every driver's driver_args go through. */
static void
net_args_parse_fills_known_keys_and_names_what_is_wrong(void)
{
	struct args {
		unsigned long a, b;
	} v = {7, 8};
	static const struct tern_net_arg defs[] = {
		{"alpha", offsetof(struct args, a), 100, "N"},
		{"beta", offsetof(struct args, b), 1, "0|1"},
	};
	char why[TERN_NET_ARGS_WHY_MAX];

	UT_EQ_INT(tern_net_args_parse(NULL, defs, 2, &v, why), 0);
	UT_EQ_INT(tern_net_args_parse("", defs, 2, &v, why), 0);
	UT_EQ_INT(v.a, 7); /* untouched when not given */
	UT_EQ_INT(tern_net_args_parse("beta=1,alpha=0x20", defs, 2, &v, why), 0);
	UT_EQ_INT(v.a, 32);
	UT_EQ_INT(v.b, 1);
	UT_EQ_INT(tern_net_args_parse("alpha=010", defs, 2, &v, why), 0);
	UT_EQ_INT(v.a, 8);
	UT_EQ_INT(tern_net_args_parse("alpha=100", defs, 2, &v, why), 0);
	UT_EQ_INT(v.a, 100);
	/* Each refusal leaves a reason that names the argument, and the keys it knows. */
	UT_EQ_INT(tern_net_args_parse("gamma=1", defs, 2, &v, why), -EINVAL);
	CU_ASSERT(strstr(why, "gamma=1") != NULL && strstr(why, "alpha=N, beta=0|1") != NULL);
	UT_EQ_INT(tern_net_args_parse("alpha", defs, 2, &v, why), -EINVAL);
	CU_ASSERT(strstr(why, "not key=value") != NULL);
	UT_EQ_INT(tern_net_args_parse("alpha=101", defs, 2, &v, why), -EINVAL);
	CU_ASSERT(strstr(why, "alpha=0..100") != NULL);
	UT_EQ_INT(tern_net_args_parse("alpha=-1", defs, 2, &v, why), -EINVAL);
	UT_EQ_INT(tern_net_args_parse("alpha=", defs, 2, &v, why), -EINVAL);
	UT_EQ_INT(tern_net_args_parse("alpha=5x", defs, 2, &v, why), -EINVAL);
	UT_EQ_INT(tern_net_args_parse("alpha=1,,beta=0", defs, 2, &v, why), -EINVAL);
	UT_EQ_INT(tern_net_args_parse("alph=1", defs, 2, &v, why), -EINVAL);
	UT_EQ_INT(tern_net_args_parse("alphaa=1", defs, 2, &v, why), -EINVAL);
	UT_EQ_INT(v.a, 100);
	UT_EQ_INT(v.b, 1);
}

/* tern_net_mac_parse (drivers/net/net.c), which every driver's peer table uses. */
static void
net_mac_parse_takes_six_hex_bytes_or_a_dash(void)
{
	static const char *const bad[] = {
		"", "02:00:00:00:00", "02:00:00:00:00:0", "02:00:00:00:00:011", "02-00-00-00-00-01",
		"0g:00:00:00:00:01", "2:0:0:0:0:1", " 02:00:00:00:00:01", "02:00:00:00:00:01:",
	};
	static const uint8_t zero[6];
	uint8_t mac[6];
	unsigned int i;

	UT_EQ_INT(tern_net_mac_parse("02:aB:Cd:ef:10:ff", mac), 0);
	CU_ASSERT(memcmp(mac, (const uint8_t[]){0x02, 0xab, 0xcd, 0xef, 0x10, 0xff}, 6) == 0);
	memset(mac, 0xee, sizeof(mac));
	UT_EQ_INT(tern_net_mac_parse("-", mac), 0);
	CU_ASSERT(memcmp(mac, zero, 6) == 0);
	for (i = 0; i < TERN_DIM(bad); i++) {
		memset(mac, 0xee, sizeof(mac));
		UT_EQ_INT(tern_net_mac_parse(bad[i], mac), -EINVAL);
		CU_ASSERT(memcmp(mac, zero, 6) == 0);
	}
	UT_EQ_INT(tern_net_mac_parse(NULL, mac), -EINVAL);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("sim_time", NULL, NULL);
	CU_ADD_TEST(s, sim_datagram_becomes_receivable_exactly_when_its_latency_passed);
	CU_ADD_TEST(s, sim_next_due_is_the_earliest_in_flight);
	CU_ADD_TEST(s, sim_zero_delay_delivers_at_once_in_send_order);
	CU_ADD_TEST(s, net_mac_parse_takes_six_hex_bytes_or_a_dash);
	CU_ADD_TEST(s, net_args_parse_fills_known_keys_and_names_what_is_wrong);
	s = CU_add_suite("sim_faults", NULL, NULL);
	CU_ADD_TEST(s, sim_loss_rate_matches_its_setting);
	CU_ADD_TEST(s, sim_duplication_rate_matches_its_setting);
	CU_ADD_TEST(s, sim_jitter_reorders_at_the_expected_rate);
	CU_ADD_TEST(s, sim_same_seed_replays_the_same_deliveries);
	s = CU_add_suite("sim_partitions", NULL, NULL);
	CU_ADD_TEST(s, sim_partition_drops_exactly_the_cut_links);
	CU_ADD_TEST(s, sim_oneway_partition_drops_only_one_direction);
	CU_ADD_TEST(s, sim_partition_drops_datagrams_already_in_flight);
	CU_ADD_TEST(s, sim_kill_drops_everything_to_and_from_a_node_until_revived);
	CU_ADD_TEST(s, sim_close_and_reattach_keeps_link_settings_and_frees_held_slots);
	s = CU_add_suite("sim_limits", NULL, NULL);
	CU_ADD_TEST(s, sim_pool_exhaustion_is_dropped_and_counted);
	CU_ADD_TEST(s, sim_unknown_peers_and_oversized_datagrams_are_dropped);
	CU_ADD_TEST(s, sim_link_settings_apply_per_link_and_as_default);
	CU_ADD_TEST(s, sim_create_and_attach_reject_bad_options);
	CU_ADD_TEST(s, sim_create_fails_cleanly_when_an_allocation_fails);
	CU_ADD_TEST(s, sim_opens_by_name_in_the_world_named_by_its_argument);
	return tern_ut_run(argc, argv);
}
