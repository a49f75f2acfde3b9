/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/rep's node (tern_node.h): small deterministic groups over drivers/net/sim and
 * drivers/io/mem, in virtual time, one behaviour per test. tests/sim runs the same nodes
 * under seeded faults.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_feed.h>
#include <tern_io_mem.h>
#include <tern_log.h>
#include <tern_net.h>
#include <tern_net_sim.h>
#include <tern_node.h>
#include <tern_time.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "ut.h"

#define FX_NODES   4 /* three electable nodes, and a SECONDARY when asked for */
#define FX_COMMITS 2048
#define FX_MASTER  1
#define FX_STEP_NS (100 * TERN_NS_PER_US)

struct fx_node {
	uint16_t id;
	struct tern_io *io;
	struct tern_net *net;
	struct tern_node *node;
	enum tern_node_state state;
	uint16_t master;
	uint64_t term;
	unsigned int state_calls;
};

struct fx {
	struct tern_net_sim_world *w;
	struct fx_node n[FX_NODES];
	struct tern_node_member members[FX_NODES];
	unsigned int nn; /* nodes in the group */
	uint64_t now;
	uint64_t ack_timeout;
	uint32_t max_pending;
	uint32_t window_entries, mtu; /* 0: the fixture's defaults */
	uint32_t feeder_window;	      /* 0: the feeder's default */
	/* completions, by cookie (commit id) */
	unsigned int done_count[FX_COMMITS];
	struct tern_commit_done done[FX_COMMITS];
	unsigned int n_done;
	uint64_t next_id;
};

static struct fx fx;

static void
fx_on_done(void *arg, const struct tern_commit_done *d, unsigned int n)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < n; i++) {
		uint64_t id = (uint64_t)(uintptr_t)d[i].cookie;

		TERN_CU_ASSERT_FATAL(id < FX_COMMITS);
		fx.done_count[id]++;
		fx.done[id] = d[i];
		fx.n_done++;
	}
}

static void
fx_on_state(void *arg, enum tern_node_state st, uint16_t master, uint64_t term)
{
	struct fx_node *fn = arg;

	fn->state = st;
	fn->master = master;
	fn->term = term;
	fn->state_calls++;
}

static void
fx_attach(struct fx_node *fn)
{
	struct tern_net_peer peers[FX_NODES];
	struct tern_net_opts o;
	unsigned int i, k = 0;

	memset(peers, 0, sizeof(peers));
	for (i = 0; i < fx.nn; i++)
		if (fx.n[i].id != fn->id)
			peers[k++].node_id = fx.n[i].id;
	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = fn->id;
	o.peers = peers;
	o.n_peers = k;
	UT_EQ_INT(tern_net_sim_attach(fx.w, &o, &fn->net), 0);
	TERN_CU_ASSERT_FATAL(fn->net != NULL);
}

static void
fx_node_opts(struct fx_node *fn, struct tern_node_opts *o)
{
	tern_node_opts_init(o, sizeof(*o));
	o->group_id = 42;
	o->self = fn->id;
	o->members = fx.members;
	o->n_members = fx.nn;
	o->master = FX_MASTER;
	tern_log_opts_init(&o->log, sizeof(o->log));
	o->log.io = fn->io;
	o->log.segment_size = 64 << 10;
	o->log.batch_bytes = 16 << 10;
	o->net = fn->net;
	o->ack_timeout_ns = fx.ack_timeout;
	o->max_pending = fx.max_pending != 0 ? fx.max_pending : 512;
	o->window_entries = fx.window_entries != 0 ? fx.window_entries : 256;
	if (fx.mtu != 0)
		o->mtu = fx.mtu;
	o->feeder.window = fx.feeder_window;
	o->window_bytes = 1 << 20;
	o->on_done = fx_on_done;
	o->on_state = fx_on_state;
	o->arg = fn;
}

static int
fx_start(struct fx_node *fn)
{
	struct tern_node_opts o;
	int rc;

	fx_attach(fn);
	fx_node_opts(fn, &o);
	rc = tern_node_open(&o, fx.now, &fn->node);
	if (rc != 0)
		ut_note("tern_node_open(%u): %s", fn->id, tern_strerror(rc));
	return rc;
}

/* Three electable nodes (and node 4, a SECONDARY, when @p secondary), node 1 the master. */
static void
fx_setup_group(uint64_t ack_timeout, bool secondary)
{
	struct tern_net_sim_opts wo;
	unsigned int i;
	uint32_t max_pending = fx.max_pending, window_entries = fx.window_entries, mtu = fx.mtu;
	uint32_t feeder_window = fx.feeder_window;

	memset(&fx, 0, sizeof(fx));
	fx.nn = secondary ? 4 : 3;
	fx.max_pending = max_pending;
	fx.window_entries = window_entries;
	fx.mtu = mtu;
	fx.feeder_window = feeder_window;
	fx.ack_timeout = ack_timeout;
	tern_net_sim_opts_init(&wo, sizeof(wo));
	wo.seed = 7;
	UT_EQ_INT(tern_net_sim_world_create(&wo, &fx.w), 0);
	TERN_CU_ASSERT_FATAL(fx.w != NULL);
	for (i = 0; i < fx.nn; i++) {
		struct tern_io_mem_opts mo;

		fx.n[i].id = (uint16_t)(i + 1);
		fx.members[i].id = fx.n[i].id;
		fx.members[i].type = i < 3 ? TERN_WIRE_NODE_ELECTABLE : TERN_WIRE_NODE_SECONDARY;
		tern_io_mem_opts_init(&mo, sizeof(mo));
		mo.seed = i + 1;
		UT_EQ_INT(tern_io_mem_create(&mo, &fx.n[i].io), 0);
	}
	for (i = 0; i < fx.nn; i++)
		TERN_CU_ASSERT_FATAL(fx_start(&fx.n[i]) == 0);
}

static void
fx_setup(uint64_t ack_timeout)
{
	fx.max_pending = 0;
	fx.window_entries = 0;
	fx.mtu = 0;
	fx.feeder_window = 0;
	fx_setup_group(ack_timeout, false);
}

static void
fx_stop(struct fx_node *fn)
{
	if (fn->node != NULL)
		tern_node_close(fn->node);
	tern_net_close(fn->net);
	fn->node = NULL;
	fn->net = NULL;
}

static void
fx_teardown(void)
{
	unsigned int i;

	for (i = 0; i < fx.nn; i++)
		fx_stop(&fx.n[i]);
	for (i = 0; i < fx.nn; i++)
		tern_io_destroy(fx.n[i].io);
	tern_net_sim_world_destroy(fx.w);
}

/* Poll every live node until idle, then move virtual time to the next event. */
static void
fx_step(void)
{
	uint64_t next = fx.now + FX_STEP_NS, due;
	int round, i;

	for (round = 0; round < 64; round++) {
		int busy = 0;

		for (i = 0; i < (int)fx.nn; i++)
			if (fx.n[i].node != NULL)
				busy |= tern_node_poll(fx.n[i].node, fx.now);
		if (!busy)
			break;
	}
	due = tern_net_sim_next_due(fx.w);
	if (due > fx.now && due < next)
		next = due;
	tern_net_sim_advance(fx.w, next);
	fx.now = next;
}

static void
fx_run_ns(uint64_t ns)
{
	uint64_t end = fx.now + ns;

	while (fx.now < end)
		fx_step();
}

/* Step until @p cond holds or @p limit_ns of virtual time passed. */
#define FX_UNTIL(cond, limit_ns)                                                                   \
	do {                                                                                       \
		uint64_t fx_end_ = fx.now + (limit_ns);                                            \
		while (!(cond) && fx.now < fx_end_)                                                \
			fx_step();                                                                 \
	} while (0)

static uint32_t
fx_len(uint64_t id)
{
	return 8 + (uint32_t)((id * 37) % 200);
}

static void
fx_payload(uint64_t id, uint8_t *buf)
{
	uint32_t i, len = fx_len(id);

	memcpy(buf, &id, 8);
	for (i = 8; i < len; i++)
		buf[i] = (uint8_t)(id * 13 + i);
}

/*
 * Submit one commit (id fx.next_id) to @p fn with @p dur, polling through back-pressure.
 * @return its id.
 */
static uint64_t
fx_commit(struct fx_node *fn, uint8_t local, uint8_t replica, uint8_t ack)
{
	uint8_t buf[256];
	struct tern_commit c;
	uint64_t id = fx.next_id++;
	int spins = 0;

	TERN_CU_ASSERT_FATAL(id < FX_COMMITS);
	memset(&c, 0, sizeof(c));
	fx_payload(id, buf);
	c.data = buf;
	c.len = fx_len(id);
	c.type = TERN_LOG_TYPE_USER;
	c.txn_id = id;
	c.timestamp_ns = id;
	c.dur.local_sync = local;
	c.dur.replica_sync = replica;
	c.dur.ack_policy = ack;
	c.cookie = (void *)(uintptr_t)id;
	while (tern_node_commit(fn->node, &c, 1, fx.now) == 0) {
		fx_step();
		TERN_CU_ASSERT_FATAL(++spins < 100000);
	}
	return id;
}

static uint64_t
fx_commit_dflt(struct fx_node *fn)
{
	return fx_commit(fn, TERN_LOG_SYNC, TERN_LOG_SYNC, TERN_ACK_SIMPLE_MAJORITY);
}

/* Read every entry of @p a's and @p b's logs and compare them. @return entries compared. */
static uint64_t
fx_logs_equal(struct fx_node *a, struct fx_node *b)
{
	uint8_t b1[256], b2[256];
	struct tern_log *la = tern_node_log(a->node), *lb = tern_node_log(b->node);
	uint64_t v, n = 0;

	UT_EQ_INT(tern_log_last_vlsn(la), tern_log_last_vlsn(lb));
	for (v = 1; v <= tern_log_last_vlsn(la) && v <= tern_log_last_vlsn(lb); v++) {
		struct tern_log_entry e1, e2;

		UT_EQ_INT(tern_log_read(la, v, &e1, b1, sizeof(b1)), 0);
		UT_EQ_INT(tern_log_read(lb, v, &e2, b2, sizeof(b2)), 0);
		if (e1.term != e2.term || e1.len != e2.len || memcmp(b1, b2, e1.len) != 0) {
			ut_note("nodes %u and %u differ at vlsn %" PRIu64, a->id, b->id, v);
			CU_FAIL("logs differ");
			return n;
		}
		n++;
	}
	return n;
}

/* Kill @p fn like a power cut: its link dies, unsynced writes vanish, the node closes. */
static void
fx_crash(struct fx_node *fn)
{
	tern_net_sim_kill(fx.w, fn->id);
	tern_io_mem_crash(fn->io, TERN_IO_MEM_CRASH_CLEAN);
	fx_stop(fn);
}

/* ---- tests ---- */

static void
node_state_listener_gets_the_first_state_at_open(void)
{
	fx_setup(50 * TERN_NS_PER_MS);
	CU_ASSERT(fx.n[0].state_calls >= 1);
	UT_EQ_INT(fx.n[0].state, TERN_NODE_MASTER);
	UT_EQ_INT(fx.n[0].master, FX_MASTER);
	UT_EQ_INT(tern_node_state(fx.n[0].node), TERN_NODE_MASTER);
	UT_EQ_INT(tern_node_master(fx.n[1].node), FX_MASTER);
	CU_ASSERT(fx.n[1].state == TERN_NODE_UNKNOWN || fx.n[1].state == TERN_NODE_REPLICA);
	fx_teardown();
}

static void
node_open_refuses_a_self_or_master_that_is_not_a_member(void)
{
	struct tern_node_opts o;
	struct tern_node *n = NULL;
	struct fx_node *fn;

	fx_setup(50 * TERN_NS_PER_MS);
	fn = &fx.n[2];
	fx_stop(fn);
	fx_attach(fn);
	fx_node_opts(fn, &o);
	o.self = 9;
	UT_EQ_INT(tern_node_open(&o, fx.now, &n), -EINVAL);
	CU_ASSERT(n == NULL);
	fx_node_opts(fn, &o);
	o.master = 9;
	UT_EQ_INT(tern_node_open(&o, fx.now, &n), -EINVAL);
	CU_ASSERT(n == NULL);
	tern_node_close(NULL);
	fx_teardown();
}

static void
node_replicas_sync_up_with_a_master_whose_log_is_empty(void)
{
	uint64_t id;

	fx_setup(50 * TERN_NS_PER_MS);
	/* No commit yet: the replicas' syncup requests meet an empty log (first 1, last 0). */
	FX_UNTIL(fx.n[1].state == TERN_NODE_REPLICA && fx.n[2].state == TERN_NODE_REPLICA,
		 100 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.n[1].state, TERN_NODE_REPLICA);
	UT_EQ_INT(fx.n[2].state, TERN_NODE_REPLICA);
	UT_EQ_INT(fx.n[1].term, 1);
	id = fx_commit(&fx.n[0], TERN_LOG_SYNC, TERN_LOG_SYNC, TERN_ACK_ALL);
	FX_UNTIL(fx.done_count[id] == 1, 50 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done[id].err, 0);
	UT_EQ_INT(fx.done[id].vlsn, 1);
	fx_teardown();
}

static void
node_three_nodes_commit_1000_all_succeed_and_logs_are_identical(void)
{
	struct tern_node_stats st;
	uint64_t id;

	fx_setup(TERN_NS_PER_S);
	for (id = 0; id < 1000; id++) {
		fx_commit_dflt(&fx.n[0]);
		if (id % 16 == 15)
			fx_step();
	}
	FX_UNTIL(fx.n_done == 1000, TERN_NS_PER_S);
	UT_EQ_INT(fx.n_done, 1000);
	for (id = 0; id < 1000; id++) {
		UT_EQ_INT(fx.done_count[id], 1);
		UT_EQ_INT(fx.done[id].err, 0);
		UT_EQ_INT(fx.done[id].vlsn, id + 1); /* submitted in order: VLSNs in order */
		CU_ASSERT(fx.done[id].t_done_ns >= fx.done[id].t_submit_ns);
	}
	/* Let the replicas make everything durable, then compare entry for entry. */
	FX_UNTIL(tern_log_durable_vlsn(tern_node_log(fx.n[1].node)) == 1000 &&
			 tern_log_durable_vlsn(tern_node_log(fx.n[2].node)) == 1000,
		 TERN_NS_PER_S);
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(fx.n[0].node)), 1000);
	UT_EQ_INT(fx_logs_equal(&fx.n[0], &fx.n[1]), 1000);
	UT_EQ_INT(fx_logs_equal(&fx.n[0], &fx.n[2]), 1000);
	UT_EQ_INT(fx.n[1].state, TERN_NODE_REPLICA);
	UT_EQ_INT(fx.n[2].state, TERN_NODE_REPLICA);
	UT_EQ_INT(tern_node_commit_vlsn(fx.n[0].node), 1000);
	tern_node_stats_get(fx.n[0].node, &st);
	UT_EQ_INT(st.commits, 1000);
	UT_EQ_INT(st.commits_ok, 1000);
	UT_EQ_INT(st.commits_failed, 0);
	UT_EQ_INT(st.pending, 0);
	fx_teardown();
}

static void
node_non_master_refuses_a_commit_naming_the_master(void)
{
	uint64_t id;
	unsigned int i;

	fx_setup(50 * TERN_NS_PER_MS);
	id = fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.n[1].state == TERN_NODE_REPLICA && fx.n[2].state == TERN_NODE_REPLICA &&
			 fx.done_count[id] == 1,
		 100 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done[id].err, 0);
	for (i = 1; i < fx.nn; i++) {
		id = fx_commit_dflt(&fx.n[i]);
		/* Refused at once, from inside tern_node_commit(). */
		UT_EQ_INT(fx.done_count[id], 1);
		UT_EQ_INT(fx.done[id].err, -TERN_ENOTMASTER);
		UT_EQ_INT(fx.done[id].master, FX_MASTER);
		UT_EQ_INT(fx.done[id].vlsn, 0);
	}
	fx_run_ns(10 * TERN_NS_PER_MS);
	/* Nothing of them reached a log. */
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(fx.n[0].node)), 1);
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(fx.n[1].node)), 1);
	fx_teardown();
}

static void
node_ack_all_fails_with_eacks_after_the_timeout_while_majority_succeeds(void)
{
	uint64_t timeout = 20 * TERN_NS_PER_MS, all, maj, t0;

	fx_setup(timeout);
	fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.n_done == 1, 100 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done[0].err, 0);
	fx_crash(&fx.n[2]);
	t0 = fx.now;
	all = fx_commit(&fx.n[0], TERN_LOG_SYNC, TERN_LOG_SYNC, TERN_ACK_ALL);
	maj = fx_commit(&fx.n[0], TERN_LOG_SYNC, TERN_LOG_SYNC, TERN_ACK_SIMPLE_MAJORITY);
	/* SIMPLE_MAJORITY holds with node 2 alone, long before the timeout. */
	FX_UNTIL(fx.done_count[maj] == 1, timeout / 2);
	UT_EQ_INT(fx.done_count[maj], 1);
	UT_EQ_INT(fx.done[maj].err, 0);
	UT_EQ_INT(fx.done_count[all], 0);
	/* ALL cannot: -TERN_EACKS once the timeout passed, not before. */
	FX_UNTIL(fx.done_count[all] == 1, 2 * timeout);
	UT_EQ_INT(fx.done_count[all], 1);
	UT_EQ_INT(fx.done[all].err, -TERN_EACKS);
	UT_EQ_INT(fx.done[all].acks_needed, 2);
	UT_EQ_INT(fx.done[all].acks_received, 1);
	CU_ASSERT(fx.done[all].vlsn != 0);
	CU_ASSERT(fx.now - t0 >= timeout);
	CU_ASSERT(fx.done[all].t_done_ns >= fx.done[all].t_submit_ns + timeout);
	/* The entry stays in the log (JE's InsufficientAcksException). */
	CU_ASSERT(tern_log_last_vlsn(tern_node_log(fx.n[0].node)) >= fx.done[all].vlsn);
	/* And majority commits keep succeeding. */
	maj = fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.done_count[maj] == 1, timeout / 2);
	UT_EQ_INT(fx.done[maj].err, 0);
	fx_teardown();
}

static void
node_master_reports_replica_lag_now_and_the_most_since_the_last_read(void)
{
	struct tern_node_replica r[4];
	uint64_t last, i, id = 0;

	fx_setup(20 * TERN_NS_PER_MS);
	for (i = 0; i < 64; i++)
		id = fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.done_count[id] == 1, 100 * TERN_NS_PER_MS);
	fx_run_ns(5 * TERN_NS_PER_MS);
	last = tern_log_last_vlsn(tern_node_log(fx.n[0].node));
	UT_EQ_INT(last, 64);
	TERN_CU_ASSERT_FATAL(tern_node_replicas_get(fx.n[0].node, r, 4, true) == 2);
	/* Caught up now, but behind while the 64 commits were on their way. */
	for (i = 0; i < 2; i++) {
		UT_EQ_INT(r[i].node_id, i + 2);
		CU_ASSERT(r[i].streaming);
		UT_EQ_INT(r[i].received_vlsn, 64);
		UT_EQ_INT(r[i].durable_vlsn, 64);
		UT_EQ_INT(r[i].lag_vlsns, 0);
		CU_ASSERT(r[i].lag_max_vlsns > 0 && r[i].lag_max_vlsns <= 64);
		CU_ASSERT(r[i].ack_ns_last > 0);
	}
	/* The read reset the most: it starts again from the lag then (0). */
	tern_node_replicas_get(fx.n[0].node, r, 4, false);
	UT_EQ_INT(r[0].lag_max_vlsns, 0);
	UT_EQ_INT(r[1].lag_max_vlsns, 0);
	/* A dead replica falls behind by every commit since. */
	fx_crash(&fx.n[2]);
	for (i = 0; i < 10; i++)
		id = fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.done_count[id] == 1, 100 * TERN_NS_PER_MS);
	TERN_CU_ASSERT_FATAL(tern_node_replicas_get(fx.n[0].node, r, 1, false) == 1);
	UT_EQ_INT(r[0].node_id, 2);
	TERN_CU_ASSERT_FATAL(tern_node_replicas_get(fx.n[0].node, r, 4, false) == 2);
	UT_EQ_INT(r[1].node_id, 3);
	UT_EQ_INT(r[1].received_vlsn, 64);
	UT_EQ_INT(r[1].lag_vlsns, 10);
	UT_EQ_INT(r[1].lag_max_vlsns, 10);
	/* A replica reports no lags of its own. */
	TERN_CU_ASSERT_FATAL(tern_node_replicas_get(fx.n[1].node, r, 4, false) == 2);
	UT_EQ_INT(r[0].lag_max_vlsns, 0);
	CU_ASSERT(!r[0].streaming);
	/*
	 * A restarted master does not know where its replicas are until they sync up: no
	 * lag is reported for them meanwhile (not the whole log), and none after, as node 2
	 * has every entry.
	 */
	fx_crash(&fx.n[0]);
	fx_run_ns(5 * TERN_NS_PER_MS);
	TERN_CU_ASSERT_FATAL(fx_start(&fx.n[0]) == 0);
	TERN_CU_ASSERT_FATAL(tern_node_replicas_get(fx.n[0].node, r, 4, false) == 2);
	for (i = 0; i < 2; i++) {
		CU_ASSERT(!r[i].streaming);
		UT_EQ_INT(r[i].lag_vlsns, 0);
		UT_EQ_INT(r[i].lag_max_vlsns, 0);
	}
	FX_UNTIL(tern_node_replicas_get(fx.n[0].node, r, 1, false) == 1 && r[0].streaming,
		 100 * TERN_NS_PER_MS);
	CU_ASSERT(r[0].streaming);
	UT_EQ_INT(r[0].lag_vlsns, 0);
	UT_EQ_INT(r[0].lag_max_vlsns, 0);
	fx_teardown();
}

/*
 * The replica sync policy of each commit is kept in the master's log, so an entry fed
 * from the log (past the window) reaches a replica with its own policy, not SYNC.
 */
static void
node_entries_fed_from_the_log_keep_their_replica_sync_policy(void)
{
	struct tern_node_stats st;
	struct fx_node *r = &fx.n[2];
	uint64_t id, v;
	uint8_t buf[256];

	fx_setup(TERN_NS_PER_S);
	fx_crash(r);
	/* 400 commits: the window (256 entries) no longer holds the first 144. */
	for (id = 0; id < 400; id++)
		fx_commit(&fx.n[0], TERN_LOG_SYNC, id % 2 ? TERN_LOG_NO_SYNC : TERN_LOG_WRITE_NO_SYNC,
			  TERN_ACK_SIMPLE_MAJORITY);
	FX_UNTIL(fx.n_done == 400, TERN_NS_PER_S);
	UT_EQ_INT(fx.n_done, 400);
	TERN_CU_ASSERT_FATAL(fx_start(r) == 0);
	FX_UNTIL(tern_log_last_vlsn(tern_node_log(r->node)) == 400, TERN_NS_PER_S);
	FX_UNTIL(tern_log_durable_vlsn(tern_node_log(fx.n[0].node)) == 400, TERN_NS_PER_S);
	tern_node_stats_get(fx.n[0].node, &st);
	CU_ASSERT(st.window_misses >= 144);
	for (id = 0; id < 400; id++) {
		uint16_t want = id % 2 ? TERN_LOG_NO_SYNC : TERN_LOG_WRITE_NO_SYNC;
		struct tern_log_entry e;

		v = fx.done[id].vlsn;
		UT_EQ_INT(tern_log_read(tern_node_log(fx.n[0].node), v, &e, buf, sizeof(buf)), 0);
		UT_EQ_INT(e.flags, want);
		/* The replica appended it with that policy and keeps it too. */
		UT_EQ_INT(tern_log_read(tern_node_log(r->node), v, &e, buf, sizeof(buf)), 0);
		UT_EQ_INT(e.flags, want);
	}
	UT_EQ_INT(fx_logs_equal(&fx.n[0], r), 400);
	fx_teardown();
}

/* @p fn's tern_node_dump, in a buffer to free. */
static char *
fx_dump(struct fx_node *fn)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	TERN_CU_ASSERT_FATAL(f != NULL);
	tern_node_dump(fn->node, f);
	fclose(f);
	return text;
}

/* The line of @p text that starts with @p start (after its indent) contains @p want. */
static bool
fx_has(const char *text, const char *start, const char *want)
{
	const char *l = strstr(text, start), *e;

	if (l != NULL) {
		const char *w = strstr(l, want);

		e = strchr(l, '\n');
		if (w != NULL && (e == NULL || w < e))
			return true;
	}
	ut_note("no \"%s\" on the line \"%s...\" of:\n%s", want, start, text);
	return false;
}

/*
 * A replica whose log cannot take more (every buffer waits behind a write that does not
 * complete) holds the frame it was in and receives nothing more until the log has room:
 * nothing is dropped (no gap, no NAK, even with a gap a heartbeat opened), and its ACKs
 * with credit 0 keep the feeder from timing out and sending it all again.
 */
static void
replica_full_log_run(uint32_t feeder_window)
{
	struct tern_node_stats st;
	struct fx_node *r = &fx.n[1];
	char *text;
	uint64_t id;

	fx.max_pending = 0;
	fx.window_entries = 0;
	fx.mtu = 0;
	fx.feeder_window = feeder_window;
	fx_setup_group(TERN_NS_PER_S, false);
	tern_io_mem_hold(r->io, 1);
	/* About 90 KB of records: more than its four 16 KiB buffers hold. */
	for (id = 0; id < 600; id++)
		fx_commit(&fx.n[0], TERN_LOG_NO_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_SIMPLE_MAJORITY);
	FX_UNTIL(fx.n_done == 600, TERN_NS_PER_S); /* node 3 makes the majority */
	UT_EQ_INT(fx.n_done, 600);
	fx_run_ns(20 * TERN_NS_PER_MS); /* four retransmit timeouts */
	tern_node_stats_get(r->node, &st);
	CU_ASSERT(st.rx_stalls > 0);
	CU_ASSERT(tern_node_rx_held(r->node));
	CU_ASSERT(tern_log_last_vlsn(tern_node_log(r->node)) < 600);
	tern_io_mem_hold(r->io, 0);
	/* Read back once written (NO_SYNC records wait until the stream pauses). */
	FX_UNTIL(tern_log_written_vlsn(tern_node_log(r->node)) == 600, TERN_NS_PER_S);
	UT_EQ_INT(fx_logs_equal(&fx.n[0], r), 600);
	CU_ASSERT(!tern_node_rx_held(r->node));
	text = fx_dump(r);
	CU_ASSERT(fx_has(text, "stream:", " dups=0 gaps=0 naks=0 "));
	free(text);
	text = fx_dump(&fx.n[0]);
	CU_ASSERT(fx_has(text, "feeder 2:", " sent=600 resent=0 naks=0 timeouts=0"));
	free(text);
	fx_teardown();
}

static void
node_replica_with_a_full_log_holds_frames_and_drops_nothing(void)
{
	replica_full_log_run(0);
	replica_full_log_run(100); /* a heartbeat runs ahead of the stream: a gap opens */
}

/* A SYNC commit learns how long the replica that acked it held the entry (its ACK says). */
static void
node_commit_reports_the_acking_replicas_hold_time(void)
{
	uint64_t id, hold = 3 * TERN_NS_PER_MS;
	const struct tern_commit_done *d;

	fx_setup(TERN_NS_PER_S);
	id = fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.done_count[id] == 1, 100 * TERN_NS_PER_MS);
	/* Both replicas' disks stall for 3 ms: the commit waits for one of them. */
	tern_io_mem_hold(fx.n[1].io, 1);
	tern_io_mem_hold(fx.n[2].io, 1);
	id = fx_commit_dflt(&fx.n[0]);
	fx_run_ns(hold);
	UT_EQ_INT(fx.done_count[id], 0);
	tern_io_mem_hold(fx.n[1].io, 0);
	tern_io_mem_hold(fx.n[2].io, 0);
	FX_UNTIL(fx.done_count[id] == 1, 100 * TERN_NS_PER_MS);
	TERN_CU_ASSERT_FATAL(fx.done_count[id] == 1);
	d = &fx.done[id];
	UT_EQ_INT(d->err, 0);
	CU_ASSERT(d->replica_hold_ns >= hold - FX_STEP_NS);
	CU_ASSERT(d->replica_hold_ns <= d->t_acked_ns - d->t_sent_ns);
	/* NO_SYNC replicas: no commit waits for a replica's disk, none is reported. */
	id = fx_commit(&fx.n[0], TERN_LOG_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_SIMPLE_MAJORITY);
	FX_UNTIL(fx.done_count[id] == 1, 100 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done[id].replica_hold_ns, 0);
	fx_teardown();
}

static void
node_restarted_replica_catches_up_from_its_log_end(void)
{
	struct tern_node_stats st;
	struct fx_node *r = &fx.n[2];
	uint64_t id, before, open_last;

	fx_setup(TERN_NS_PER_S);
	for (id = 0; id < 200; id++)
		fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.n_done == 200 && tern_log_durable_vlsn(tern_node_log(r->node)) == 200,
		 TERN_NS_PER_S);
	before = tern_log_durable_vlsn(tern_node_log(r->node));
	UT_EQ_INT(before, 200);
	fx_crash(r);
	for (id = 0; id < 300; id++)
		fx_commit_dflt(&fx.n[0]);
	FX_UNTIL(fx.n_done == 500, TERN_NS_PER_S);
	UT_EQ_INT(fx.n_done, 500);
	/* Restart on the same disk: it keeps its 200 entries and streams only the rest. */
	TERN_CU_ASSERT_FATAL(fx_start(r) == 0);
	open_last = tern_log_last_vlsn(tern_node_log(r->node));
	UT_EQ_INT(open_last, 200);
	FX_UNTIL(tern_log_durable_vlsn(tern_node_log(r->node)) == 500, TERN_NS_PER_S);
	UT_EQ_INT(tern_log_durable_vlsn(tern_node_log(r->node)), 500);
	UT_EQ_INT(r->state, TERN_NODE_REPLICA);
	tern_node_stats_get(r->node, &st);
	UT_EQ_INT(st.syncups, 1);
	UT_EQ_INT(st.truncated, 0);
	UT_EQ_INT(st.entries_appended, 300); /* not 500: never from VLSN 0 */
	UT_EQ_INT(fx_logs_equal(&fx.n[0], r), 500);
	fx_teardown();
}

static void
node_local_log_write_failure_fails_the_commit_with_the_log_error(void)
{
	struct fx_node *m = &fx.n[0];
	uint64_t ok, bad;

	fx_setup(50 * TERN_NS_PER_MS);
	ok = fx_commit_dflt(m);
	FX_UNTIL(fx.done_count[ok] == 1, 50 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done[ok].err, 0);
	/* The next write fails: the log turns read-only, the commit fails with its error. */
	tern_io_mem_fault(m->io, TERN_IO_MEM_OP_WRITE, 0, 0, -EIO);
	bad = fx_commit_dflt(m);
	FX_UNTIL(fx.done_count[bad] == 1, 100 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done_count[bad], 1);
	CU_ASSERT(fx.done[bad].err == -EIO || fx.done[bad].err == -TERN_ELOGRO);
	CU_ASSERT(tern_log_error(tern_node_log(m->node)) != 0);
	/* Later commits get the read-only log's error at once. */
	bad = fx_commit_dflt(m);
	FX_UNTIL(fx.done_count[bad] == 1, 10 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done_count[bad], 1);
	CU_ASSERT(fx.done[bad].err == -EIO || fx.done[bad].err == -TERN_ELOGRO);
	UT_EQ_INT(fx.done_count[ok], 1);
	tern_io_mem_fault(m->io, TERN_IO_MEM_OP_WRITE, 0, 0, 0);
	tern_node_close(m->node);
	m->node = NULL;
	fx_teardown();
}

static void
node_pending_commits_complete_with_eclosed_at_close(void)
{
	struct fx_node *m = &fx.n[0];
	uint64_t id, first;

	fx_setup(10 * TERN_NS_PER_S);
	fx_crash(&fx.n[1]);
	fx_crash(&fx.n[2]);
	first = fx.next_id;
	for (id = 0; id < 10; id++)
		fx_commit(m, TERN_LOG_SYNC, TERN_LOG_SYNC, TERN_ACK_ALL);
	fx_run_ns(5 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.n_done, 0); /* no replica: nothing can complete before the timeout */
	UT_EQ_INT(tern_node_close(m->node), 0);
	m->node = NULL;
	UT_EQ_INT(fx.n_done, 10);
	for (id = first; id < first + 10; id++) {
		UT_EQ_INT(fx.done_count[id], 1);
		UT_EQ_INT(fx.done[id].err, -TERN_ECLOSED);
	}
	fx_teardown();
}

static void
node_restarted_master_takes_a_higher_term_and_replicas_follow(void)
{
	struct fx_node *m = &fx.n[0];
	uint64_t id;

	fx_setup(TERN_NS_PER_S);
	for (id = 0; id < 50; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 50, TERN_NS_PER_S);
	UT_EQ_INT(tern_node_term(m->node), 1);
	fx_crash(m);
	UT_EQ_INT(fx.n_done, 50);
	fx_run_ns(5 * TERN_NS_PER_MS);
	TERN_CU_ASSERT_FATAL(fx_start(m) == 0);
	UT_EQ_INT(tern_node_term(m->node), 2); /* its log's last term + 1 */
	UT_EQ_INT(m->state, TERN_NODE_MASTER);
	UT_EQ_INT(m->term, 2);
	for (id = 0; id < 50; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 100 && fx.n[1].term == 2 && fx.n[2].term == 2 &&
			 tern_log_durable_vlsn(tern_node_log(fx.n[1].node)) == 100 &&
			 tern_log_durable_vlsn(tern_node_log(fx.n[2].node)) == 100,
		 TERN_NS_PER_S);
	for (id = 50; id < 100; id++)
		UT_EQ_INT(fx.done[id].err, 0);
	UT_EQ_INT(fx.n[1].state, TERN_NODE_REPLICA);
	UT_EQ_INT(fx.n[1].term, 2);
	UT_EQ_INT(fx_logs_equal(m, &fx.n[1]), 100);
	UT_EQ_INT(fx_logs_equal(m, &fx.n[2]), 100);
	fx_teardown();
}

static void
node_secondary_gets_the_stream_but_acks_do_not_wait_for_it(void)
{
	struct fx_node *m = &fx.n[0], *sec = &fx.n[3];
	uint64_t id, all;

	fx.max_pending = 0;
	fx_setup_group(20 * TERN_NS_PER_MS, true);
	for (id = 0; id < 20; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 20 && tern_log_durable_vlsn(tern_node_log(sec->node)) == 20,
		 TERN_NS_PER_S);
	UT_EQ_INT(sec->state, TERN_NODE_REPLICA);
	UT_EQ_INT(fx_logs_equal(m, sec), 20);
	/* ALL counts the electable replicas only: with the SECONDARY cut off it still holds. */
	tern_net_sim_partition(fx.w, sec->id, TERN_NET_SIM_ALL);
	all = fx_commit(m, TERN_LOG_SYNC, TERN_LOG_SYNC, TERN_ACK_ALL);
	FX_UNTIL(fx.done_count[all] == 1, 10 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done_count[all], 1);
	UT_EQ_INT(fx.done[all].err, 0);
	UT_EQ_INT(fx.done[all].acks_needed, 2);
	/* Healed, it catches up. */
	tern_net_sim_heal(fx.w, sec->id, TERN_NET_SIM_ALL);
	FX_UNTIL(tern_log_durable_vlsn(tern_node_log(sec->node)) == 21, TERN_NS_PER_S);
	UT_EQ_INT(fx_logs_equal(m, sec), 21);
	fx_teardown();
}

static void
node_lossy_duplicating_reordering_network_delivers_every_entry_once(void)
{
	struct fx_node *m = &fx.n[0];
	uint64_t id;
	unsigned int i;

	fx_setup(TERN_NS_PER_S);
	tern_net_sim_set_loss(fx.w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 0.1);
	tern_net_sim_set_dup(fx.w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 0.2);
	tern_net_sim_set_delay(fx.w, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, 10 * TERN_NS_PER_US,
			       200 * TERN_NS_PER_US);
	for (id = 0; id < 500; id++) {
		fx_commit_dflt(m);
		if (id % 8 == 7)
			fx_step();
	}
	FX_UNTIL(fx.n_done == 500, 2 * TERN_NS_PER_S);
	UT_EQ_INT(fx.n_done, 500);
	for (id = 0; id < 500; id++) {
		UT_EQ_INT(fx.done_count[id], 1);
		UT_EQ_INT(fx.done[id].err, 0);
	}
	FX_UNTIL(tern_log_durable_vlsn(tern_node_log(fx.n[1].node)) == 500 &&
			 tern_log_durable_vlsn(tern_node_log(fx.n[2].node)) == 500,
		 2 * TERN_NS_PER_S);
	for (i = 1; i < 3; i++) {
		struct tern_node_stats st;

		UT_EQ_INT(fx_logs_equal(m, &fx.n[i]), 500);
		tern_node_stats_get(fx.n[i].node, &st);
		UT_EQ_INT(st.entries_appended, 500); /* duplicates skipped, none appended twice */
	}
	fx_teardown();
}

static void
node_commit_refuses_oversized_payloads_and_bad_types(void)
{
	struct fx_node *m = &fx.n[0];
	static uint8_t big[(1u << 20) + 1];
	struct tern_commit c;

	fx_setup(50 * TERN_NS_PER_MS);
	memset(&c, 0, sizeof(c));
	c.data = big;
	c.len = sizeof(big); /* over the default max_entry of 1 MiB */
	c.type = TERN_LOG_TYPE_USER;
	c.cookie = (void *)(uintptr_t)0;
	UT_EQ_INT(tern_node_commit(m->node, &c, 1, fx.now), 1);
	UT_EQ_INT(fx.done_count[0], 1);
	UT_EQ_INT(fx.done[0].err, -E2BIG);
	UT_EQ_INT(fx.done[0].vlsn, 0);
	c.len = 16;
	c.type = TERN_LOG_TYPE_USER - 1;
	c.cookie = (void *)(uintptr_t)1;
	UT_EQ_INT(tern_node_commit(m->node, &c, 1, fx.now), 1);
	UT_EQ_INT(fx.done_count[1], 1);
	UT_EQ_INT(fx.done[1].err, -EINVAL);
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(m->node)), 0);
	fx_teardown();
}

static void
node_commit_takes_no_more_than_max_pending(void)
{
	struct fx_node *m = &fx.n[0];
	uint8_t buf[16];
	struct tern_commit c[16];
	struct tern_node_stats st;
	unsigned int i;

	fx.max_pending = 8;
	fx_setup_group(10 * TERN_NS_PER_S, false);
	fx_crash(&fx.n[1]);
	fx_crash(&fx.n[2]);
	memset(c, 0, sizeof(c));
	memset(buf, 3, sizeof(buf));
	for (i = 0; i < 16; i++) {
		c[i].data = buf;
		c[i].len = sizeof(buf);
		c[i].type = TERN_LOG_TYPE_USER;
		c[i].dur.ack_policy = TERN_ACK_ALL; /* nobody acks: they stay pending */
		c[i].cookie = (void *)(uintptr_t)i;
	}
	UT_EQ_INT(tern_node_commit(m->node, c, 16, fx.now), 8);
	fx_run_ns(TERN_NS_PER_MS);
	UT_EQ_INT(tern_node_commit(m->node, c + 8, 8, fx.now), 0);
	tern_node_stats_get(m->node, &st);
	UT_EQ_INT(st.pending, 8);
	UT_EQ_INT(fx.n_done, 0);
	fx_teardown();
	UT_EQ_INT(fx.n_done, 8); /* -TERN_ECLOSED at close */
	fx.max_pending = 0;
}

/*
 * A master restarted before anything of its term was durable must not come back with that
 * term: the replicas hold (VLSN, term) pairs of it that its log lost, and would keep them.
 */
static void
node_restarted_master_never_reuses_a_term_it_logged_nothing_in(void)
{
	struct fx_node *m = &fx.n[0];
	uint64_t id, t1;

	fx_setup(TERN_NS_PER_S);
	/* Commit 1..10 without a local sync: the replicas make them durable, the master not. */
	for (id = 0; id < 10; id++)
		fx_commit(m, TERN_LOG_NO_SYNC, TERN_LOG_SYNC, TERN_ACK_ALL);
	FX_UNTIL(fx.n_done == 10, TERN_NS_PER_S);
	UT_EQ_INT(tern_log_durable_vlsn(tern_node_log(fx.n[1].node)), 10);
	t1 = tern_node_term(m->node);
	fx_crash(m); /* loses 1..10: they were never synced on the master */
	TERN_CU_ASSERT_FATAL(fx_start(m) == 0);
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(m->node)), 0);
	/* Header: "a restarted master never reuses a term". */
	CU_ASSERT(tern_node_term(m->node) > t1);
	for (id = 10; id < 20; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 20 && tern_log_durable_vlsn(tern_node_log(fx.n[1].node)) >= 10 &&
			 fx.n[1].term == tern_node_term(m->node),
		 TERN_NS_PER_S);
	fx_run_ns(50 * TERN_NS_PER_MS);
	UT_EQ_INT(fx_logs_equal(m, &fx.n[1]), 10);
	UT_EQ_INT(fx_logs_equal(m, &fx.n[2]), 10);
	fx_teardown();
}

/* A commit's own ack timeout holds even behind an earlier commit with a longer one. */
static void
node_per_commit_ack_timeout_is_honoured_behind_a_longer_one(void)
{
	struct fx_node *m = &fx.n[0];
	uint8_t buf[64];
	struct tern_commit c[2];
	uint64_t t0;

	fx_setup(TERN_NS_PER_S); /* node default: 1 s */
	fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 1, 100 * TERN_NS_PER_MS);
	fx_crash(&fx.n[2]);
	memset(c, 0, sizeof(c));
	memset(buf, 1, sizeof(buf));
	c[0].data = c[1].data = buf;
	c[0].len = c[1].len = 16;
	c[0].type = c[1].type = TERN_LOG_TYPE_USER;
	c[0].dur.ack_policy = c[1].dur.ack_policy = TERN_ACK_ALL;
	c[0].cookie = (void *)(uintptr_t)1;
	c[1].cookie = (void *)(uintptr_t)2;
	c[1].timeout_ns = 10 * TERN_NS_PER_MS; /* the second one gives up after 10 ms */
	fx.next_id = 3;
	UT_EQ_INT(tern_node_commit(m->node, c, 2, fx.now), 2);
	t0 = fx.now;
	FX_UNTIL(fx.done_count[2] == 1, 100 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done_count[2], 1);
	UT_EQ_INT(fx.done[2].err, -TERN_EACKS);
	CU_ASSERT(fx.now - t0 < 20 * TERN_NS_PER_MS);
	fx_teardown();
}

/*
 * ENOSPC in the middle of an append on the master (a segment roll that cannot preallocate):
 * tern_log_append() keeps the prefix it took; no commit reported failed may be in the log,
 * none may be there twice, and replication goes on once space returns.
 */
static void
node_enospc_mid_append_on_the_master_fails_no_commit_that_is_in_the_log(void)
{
	struct fx_node *m = &fx.n[0];
	uint8_t bufs[8][1200];
	struct tern_commit c[8];
	uint64_t id, v;
	unsigned int i, k = 0;
	uint8_t rb[1300];

	fx_setup(TERN_NS_PER_S);
	/* Fill most of the first 64 KiB segment. */
	for (id = 0; id < 50; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 50, TERN_NS_PER_S);
	tern_io_mem_set_capacity(m->io, tern_io_mem_used(m->io)); /* no new segment */
	memset(c, 0, sizeof(c));
	for (i = 0; i < 8; i++) {
		uint64_t cid = fx.next_id++;

		memset(bufs[i], 0, sizeof(bufs[i]));
		memcpy(bufs[i], &cid, 8);
		c[i].data = bufs[i];
		c[i].len = sizeof(bufs[i]);
		c[i].type = TERN_LOG_TYPE_USER;
		c[i].cookie = (void *)(uintptr_t)cid;
	}
	/* 40 x 8 x 1.2 KB rolls the segment in the middle of one of these appends. */
	for (k = 0; k < 40 && fx.n_done == 50 + 8 * k; k++) {
		for (i = 0; i < 8; i++) {
			uint64_t cid = 50 + 8 * k + i;

			memcpy(bufs[i], &cid, 8);
			c[i].cookie = (void *)(uintptr_t)cid;
		}
		fx.next_id = 50 + 8 * (k + 1);
		while (tern_node_commit(m->node, c, 8, fx.now) != 8)
			fx_step();
		FX_UNTIL(fx.n_done == 50 + 8 * (k + 1), 100 * TERN_NS_PER_MS);
	}
	/* Space returns: what the log still holds gets written. */
	tern_io_mem_set_capacity(m->io, 0);
	fx_commit_dflt(m);
	fx_run_ns(500 * TERN_NS_PER_MS);
	for (id = 50; id < fx.next_id; id++) {
		if (fx.done_count[id] != 1)
			ut_note("commit %" PRIu64 " of %" PRIu64 " completed %u times (k %u)", id,
				fx.next_id, fx.done_count[id], k);
		UT_EQ_INT(fx.done_count[id], 1);
	}
	/* Every log entry names a distinct commit. */
	for (v = 51; v <= tern_log_last_vlsn(tern_node_log(m->node)); v++) {
		struct tern_log_entry e;
		uint64_t cid, w;

		if (tern_log_read(tern_node_log(m->node), v, &e, rb, sizeof(rb)) != 0)
			continue;
		memcpy(&cid, rb, 8);
		if (fx.done[cid].err != 0) {
			ut_note("commit %" PRIu64 " is in the log at vlsn %" PRIu64
				" but completed with %s (vlsn %" PRIu64 ")",
				cid, v, tern_errname(fx.done[cid].err), fx.done[cid].vlsn);
			CU_FAIL("a commit reported failed is in the log");
		}
		for (w = v + 1; w <= tern_log_last_vlsn(tern_node_log(m->node)); w++) {
			struct tern_log_entry e2;
			uint64_t cid2;

			if (tern_log_read(tern_node_log(m->node), w, &e2, rb, sizeof(rb)) != 0)
				continue;
			memcpy(&cid2, rb, 8);
			if (cid2 == cid) {
				ut_note("commit %" PRIu64 " at vlsn %" PRIu64 " and %" PRIu64
					" (completed %s)",
					cid, v, w, tern_errname(fx.done[cid].err));
				CU_FAIL("an entry appears twice");
			}
		}
	}
	tern_io_mem_set_capacity(m->io, 0);
	fx_teardown();
}

/* ENOSPC in the middle of an append on a replica: once space returns it catches up. */
static void
node_enospc_mid_append_on_a_replica_does_not_stall_it(void)
{
	struct fx_node *m = &fx.n[0], *r = &fx.n[2];
	uint8_t buf[1200];
	struct tern_commit c;
	uint64_t id;

	fx_setup(TERN_NS_PER_S);
	for (id = 0; id < 20; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 20 && tern_log_durable_vlsn(tern_node_log(r->node)) == 20,
		 TERN_NS_PER_S);
	tern_io_mem_set_capacity(r->io, tern_io_mem_used(r->io)); /* no second segment */
	memset(&c, 0, sizeof(c));
	memset(buf, 7, sizeof(buf));
	c.data = buf;
	c.len = sizeof(buf);
	c.type = TERN_LOG_TYPE_USER;
	for (id = 20; id < 200; id++) {
		c.cookie = (void *)(uintptr_t)id;
		fx.next_id = id + 1;
		while (tern_node_commit(m->node, &c, 1, fx.now) != 1)
			fx_step();
		if (id % 8 == 0)
			fx_step();
	}
	FX_UNTIL(fx.n_done == 200, TERN_NS_PER_S);
	fx_run_ns(20 * TERN_NS_PER_MS);
	tern_io_mem_set_capacity(r->io, 0);
	FX_UNTIL(tern_log_durable_vlsn(tern_node_log(r->node)) == 200, TERN_NS_PER_S);
	UT_EQ_INT(tern_log_durable_vlsn(tern_node_log(r->node)), 200);
	fx_teardown();
}

/*
 * Diverge the replicas from the master by @p lost entries: @p kept entries synced
 * everywhere, then @p lost more that only the replicas make durable (the master appends
 * them without a sync) before the master crashes and loses them. With @p down, that
 * replica is crashed first (it keeps the lost entries, the other one syncs up alone).
 * The master comes back in a new term with a log of @p kept entries.
 */
static void
fx_diverge(uint64_t kept, uint64_t lost, struct fx_node *down)
{
	struct fx_node *m = &fx.n[0];
	uint64_t id, t1;

	for (id = 0; id < kept; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == kept, TERN_NS_PER_S);
	for (id = 0; id < lost; id++)
		fx_commit(m, TERN_LOG_NO_SYNC, TERN_LOG_SYNC, TERN_ACK_ALL);
	FX_UNTIL(fx.n_done == kept + lost, TERN_NS_PER_S);
	UT_EQ_INT(fx.n_done, kept + lost);
	UT_EQ_INT(tern_log_durable_vlsn(tern_node_log(fx.n[1].node)), kept + lost);
	UT_EQ_INT(tern_log_durable_vlsn(tern_node_log(fx.n[2].node)), kept + lost);
	if (down != NULL)
		fx_crash(down);
	t1 = tern_node_term(m->node);
	fx_crash(m);
	TERN_CU_ASSERT_FATAL(fx_start(m) == 0);
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(m->node)), kept);
	CU_ASSERT(tern_node_term(m->node) > t1);
}

/* @p r's log holds the master's entries 1..@p upto, read back entry by entry. */
static void
fx_log_is_masters(struct fx_node *r, uint64_t upto)
{
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(r->node)), upto);
	UT_EQ_INT(fx_logs_equal(&fx.n[0], r), upto);
}

/*
 * DESIGN.md 5: the matchpoint is the highest VLSN whose term agrees. The replicas end at
 * 106 and agree with the restarted master up to 100; the first round of probes (106, 105,
 * 103, 99, ...) answers 99, so the search must ask again between 99 and 103 and roll back
 * exactly 101..106.
 */
static void
node_syncup_rolls_back_exactly_the_diverged_suffix(void)
{
	struct fx_node *m = &fx.n[0];
	struct tern_node_stats st;
	uint64_t id;
	unsigned int i;

	fx_setup(TERN_NS_PER_S);
	fx_diverge(100, 6, NULL);
	FX_UNTIL(fx.n[1].state == TERN_NODE_REPLICA && fx.n[1].term == m->term &&
			 fx.n[2].state == TERN_NODE_REPLICA && fx.n[2].term == m->term,
		 TERN_NS_PER_S);
	for (i = 1; i < 3; i++) {
		UT_EQ_INT(fx.n[i].state, TERN_NODE_REPLICA);
		UT_EQ_INT(fx.n[i].term, m->term);
		tern_node_stats_get(fx.n[i].node, &st);
		UT_EQ_INT(st.truncated, 6); /* not 7: VLSN 100 agrees */
		UT_EQ_INT(st.syncups, 2);   /* at open, and in the new term */
		fx_log_is_masters(&fx.n[i], 100);
	}
	for (id = 0; id < 10; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 116 && tern_log_durable_vlsn(tern_node_log(fx.n[1].node)) == 110 &&
			 tern_log_durable_vlsn(tern_node_log(fx.n[2].node)) == 110,
		 TERN_NS_PER_S);
	for (i = 1; i < 3; i++) {
		tern_node_stats_get(fx.n[i].node, &st);
		UT_EQ_INT(st.truncated, 6);
		fx_log_is_masters(&fx.n[i], 110);
	}
	fx_teardown();
}

/*
 * A replica restarted with 100 entries the master lost, after the master went on in its
 * new term: the first round (200, 199, 197, ..., 137, 73, ...) answers 73 below a gap of
 * 63 VLSNs that the master has, too wide for one request; spread probes narrow it and a
 * dense round closes it. Only the diverged suffix is rolled back, only what follows the
 * matchpoint is streamed, and the search says how many rounds it took.
 */
static void
node_syncup_narrows_a_wide_gap_in_rounds_to_the_exact_matchpoint(void)
{
	struct fx_node *m = &fx.n[0], *r = &fx.n[2];
	struct tern_node_stats st;
	uint64_t id;

	fx_setup(TERN_NS_PER_S);
	fx_diverge(100, 100, r);
	/* The live replica: the master's end (100) caps the gap, one dense round more. */
	FX_UNTIL(fx.n[1].state == TERN_NODE_REPLICA && fx.n[1].term == m->term, TERN_NS_PER_S);
	tern_node_stats_get(fx.n[1].node, &st);
	UT_EQ_INT(st.truncated, 100);
	fx_log_is_masters(&fx.n[1], 100);
	for (id = 0; id < 150; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 350, TERN_NS_PER_S);
	UT_EQ_INT(fx.n_done, 350);
	tern_diag_set_level("tern.rep", TERN_DIAG_INFO);
	ut_diag_capture(1);
	TERN_CU_ASSERT_FATAL(fx_start(r) == 0);
	UT_EQ_INT(tern_log_last_vlsn(tern_node_log(r->node)), 200);
	FX_UNTIL(r->state == TERN_NODE_REPLICA &&
			 tern_log_durable_vlsn(tern_node_log(r->node)) == 250,
		 TERN_NS_PER_S);
	tern_diag_set_level("tern.rep", TERN_DIAG_NOTICE);
	tern_node_stats_get(r->node, &st);
	UT_EQ_INT(st.syncups, 1);
	UT_EQ_INT(st.truncated, 100);	     /* 101..200, not one entry more */
	UT_EQ_INT(st.entries_appended, 150); /* 101..250 of the new term */
	fx_log_is_masters(r, 250);
	CU_ASSERT(ut_diag_contains("matchpoint VLSN 100 (term 1) with master 1 after 3 round(s)"));
	ut_diag_capture(0);
	fx_teardown();
}

/*
 * A replica's log write fails with ENOSPC after the replica acknowledged the entries as
 * received: the log drops them and rewinds. The master's feeder still believes the replica
 * has them, so it must learn otherwise (the replica syncs up again) or the replica NAKs
 * forever for VLSNs the feeder thinks were received, and never catches up.
 */
static void
node_replica_write_enospc_after_its_ack_resyncs_and_catches_up(void)
{
	struct fx_node *m = &fx.n[0], *r = &fx.n[2];
	uint64_t id;

	fx_setup(TERN_NS_PER_S);
	for (id = 0; id < 20; id++)
		fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 20 && tern_log_durable_vlsn(tern_node_log(r->node)) == 20,
		 TERN_NS_PER_S);
	UT_EQ_INT(tern_log_durable_vlsn(tern_node_log(r->node)), 20);
	/* The replica's next write fails for lack of space, once. */
	tern_io_mem_fault(r->io, TERN_IO_MEM_OP_WRITE, 0, 1, -ENOSPC);
	for (id = 20; id < 40; id++)
		fx_commit(m, TERN_LOG_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_SIMPLE_MAJORITY);
	FX_UNTIL(fx.n_done == 40, TERN_NS_PER_S);
	UT_EQ_INT(fx.n_done, 40);
	FX_UNTIL(tern_log_written_vlsn(tern_node_log(r->node)) == 40, TERN_NS_PER_S);
	UT_EQ_INT(tern_log_written_vlsn(tern_node_log(r->node)), 40);
	fx_log_is_masters(r, 40);
	tern_io_mem_fault(r->io, TERN_IO_MEM_OP_WRITE, 0, 0, 0);
	fx_teardown();
}

/*
 * A commit whose ack timeout is TERN_TIME_NEVER (or any value that runs past the end of
 * the clock from its submission) waits for its acks: its deadline must not wrap around
 * to the past and fail it at once with -TERN_EACKS.
 */
static void
node_commit_with_a_never_ack_timeout_waits_for_its_acks(void)
{
	struct fx_node *m = &fx.n[0];
	uint8_t buf[64];
	struct tern_commit c[2];

	fx_setup(TERN_NS_PER_S);
	fx_commit_dflt(m);
	FX_UNTIL(fx.n_done == 1, 100 * TERN_NS_PER_MS);
	fx_crash(&fx.n[2]);
	memset(c, 0, sizeof(c));
	memset(buf, 1, sizeof(buf));
	c[0].data = c[1].data = buf;
	c[0].len = c[1].len = 16;
	c[0].type = c[1].type = TERN_LOG_TYPE_USER;
	c[0].dur.ack_policy = c[1].dur.ack_policy = TERN_ACK_ALL;
	c[0].cookie = (void *)(uintptr_t)1;
	c[1].cookie = (void *)(uintptr_t)2;
	c[0].timeout_ns = TERN_TIME_NEVER;
	c[1].timeout_ns = UINT64_MAX / 2 + 1;
	fx.next_id = 3;
	UT_EQ_INT(tern_node_commit(m->node, c, 2, fx.now), 2);
	fx_run_ns(100 * TERN_NS_PER_MS);
	UT_EQ_INT(fx.done_count[1], 0);
	UT_EQ_INT(fx.done_count[2], 0);
	/* Still pending: they complete at close, and only then. */
	fx_stop(m);
	UT_EQ_INT(fx.done_count[1], 1);
	UT_EQ_INT(fx.done[1].err, -TERN_ECLOSED);
	UT_EQ_INT(fx.done_count[2], 1);
	fx_teardown();
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("node", NULL, NULL);
	CU_ADD_TEST(s, node_state_listener_gets_the_first_state_at_open);
	CU_ADD_TEST(s, node_open_refuses_a_self_or_master_that_is_not_a_member);
	CU_ADD_TEST(s, node_replicas_sync_up_with_a_master_whose_log_is_empty);
	CU_ADD_TEST(s, node_three_nodes_commit_1000_all_succeed_and_logs_are_identical);
	CU_ADD_TEST(s, node_non_master_refuses_a_commit_naming_the_master);
	CU_ADD_TEST(s, node_ack_all_fails_with_eacks_after_the_timeout_while_majority_succeeds);
	CU_ADD_TEST(s, node_master_reports_replica_lag_now_and_the_most_since_the_last_read);
	CU_ADD_TEST(s, node_restarted_replica_catches_up_from_its_log_end);
	CU_ADD_TEST(s, node_commit_reports_the_acking_replicas_hold_time);
	CU_ADD_TEST(s, node_entries_fed_from_the_log_keep_their_replica_sync_policy);
	CU_ADD_TEST(s, node_replica_with_a_full_log_holds_frames_and_drops_nothing);
	CU_ADD_TEST(s, node_local_log_write_failure_fails_the_commit_with_the_log_error);
	CU_ADD_TEST(s, node_pending_commits_complete_with_eclosed_at_close);
	CU_ADD_TEST(s, node_restarted_master_takes_a_higher_term_and_replicas_follow);
	CU_ADD_TEST(s, node_secondary_gets_the_stream_but_acks_do_not_wait_for_it);
	CU_ADD_TEST(s, node_lossy_duplicating_reordering_network_delivers_every_entry_once);
	CU_ADD_TEST(s, node_commit_refuses_oversized_payloads_and_bad_types);
	CU_ADD_TEST(s, node_commit_takes_no_more_than_max_pending);
	CU_ADD_TEST(s, node_restarted_master_never_reuses_a_term_it_logged_nothing_in);
	CU_ADD_TEST(s, node_per_commit_ack_timeout_is_honoured_behind_a_longer_one);
	CU_ADD_TEST(s, node_enospc_mid_append_on_the_master_fails_no_commit_that_is_in_the_log);
	CU_ADD_TEST(s, node_enospc_mid_append_on_a_replica_does_not_stall_it);
	CU_ADD_TEST(s, node_syncup_rolls_back_exactly_the_diverged_suffix);
	CU_ADD_TEST(s, node_syncup_narrows_a_wide_gap_in_rounds_to_the_exact_matchpoint);
	CU_ADD_TEST(s, node_replica_write_enospc_after_its_ack_resyncs_and_catches_up);
	CU_ADD_TEST(s, node_commit_with_a_never_ack_timeout_waits_for_its_acks);
	return tern_ut_run(argc, argv);
}
