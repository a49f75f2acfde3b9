/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Deterministic group simulation (DESIGN.md 6, STYLE.md 12): N nodes of one replication
 * group (lib/rep's tern_node) in one process and one thread, over drivers/net/sim and one
 * drivers/io/mem instance per node, in virtual time. Everything random (the group's shape,
 * the workload, the fault schedule, the network's and the disks' own PRNGs) is drawn from
 * one PRNG seeded by the seed, so a failing seed replays exactly:
 *
 *     TERN_SIM_SEED=<n> sim_group --nodes <3|5> [-v]
 *
 * Usage: sim_group [--nodes N] [--seeds K] [--first S] [--commits C] [-v]
 *   1000 seeds (300 under the sanitizers) from seed 1, about 200 commits each;
 *   TERN_SIM_SEEDS=K overrides the number of seeds, TERN_SIM_SEED=S runs seed S alone.
 *   Every check is always on: --strict and TERN_SIM_STRICT=1, which once turned on the
 *   exact-matchpoint check of I7, are still accepted and change nothing.
 *
 * Per seed: a workload submits commits with mixed durability to the static master (a few
 * to replicas, which must refuse them with -TERN_ENOTMASTER), each payload encoding a
 * unique commit id; a fault schedule injects loss, duplication, jitter, delay, symmetric
 * and one-way partitions, network kills, power-cut crashes (CLEAN, TORN, or a process
 * crash) of replicas and of the master followed by restarts on the same disk, failed
 * fsyncs and writes (the log turns read-only: the harness crashes and restarts the node),
 * and full disks. Then everything heals and the group must converge.
 *
 * Invariants (a violation prints the seed, the check and a replay line):
 *  I1 a commit that completed with err 0 under local SYNC is durable on the master, and
 *     with replica SYNC and SIMPLE_MAJORITY/ALL on as many electable replicas as the
 *     policy needs, at completion (entries read back and matched by id); those nodes keep
 *     it across later crashes (checked at every reopen and at the end);
 *  I2 a replica in the master's term holds a prefix of the master's log (durable part,
 *     checked incrementally during the run; all of it at the end);
 *  I3 no commit id appears twice in a log, and an entry sits at its commit's VLSN;
 *  I4 after heal and quiesce all nodes' logs agree entry for entry;
 *  I5 every commit taken completes exactly once, with a documented error when it fails
 *     (-TERN_EACKS with acks_needed/acks_received and not before its timeout,
 *     -TERN_ENOTMASTER naming the master, the log's errors, -TERN_ECLOSED);
 *  I6 at most one master per term; terms never go back; a restarted master takes a term
 *     higher than any seen before;
 *  I7 a restarted replica syncs up from its own log's end: it keeps every entry that
 *     agrees with the master (matchpoint) and streams only what follows.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_feed.h>
#include <tern_io.h>
#include <tern_io_mem.h>
#include <tern_log.h>
#include <tern_net.h>
#include <tern_net_sim.h>
#include <tern_node.h>
#include <tern_prng.h>
#include <tern_time.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#ifndef TERN_SIM_SANITIZED
#define TERN_SIM_SANITIZED 0
#endif

#define SIM_NODES_MAX	      6
#define SIM_COMMITS_MAX	      2048
#define SIM_GROUP_ID	      0x7e51
#define SIM_MASTER	      1
#define SIM_PAYLOAD_MAX	      4096
#define SIM_FAULTS_MAX	      32
#define SIM_TRACE	      48
#define SIM_QUANTUM_NS	      (200 * TERN_NS_PER_US)
#define SIM_CHECK_EVERY_NS    (2 * TERN_NS_PER_MS)
#define SIM_WORK_LIMIT_NS     (4 * TERN_NS_PER_S)
#define SIM_CONVERGE_LIMIT_NS (6 * TERN_NS_PER_S)
#define SIM_POLL_ROUNDS	      64

/* ---- one commit, as the workload sees it ---- */

enum cstate { C_NONE = 0, C_PENDING, C_DONE };

struct commit {
	uint8_t state;
	uint8_t node; /**< index of the node it was submitted to */
	uint8_t local_sync, replica_sync, ack;
	uint8_t acks_needed, acks_received;
	bool to_master; /**< submitted to the static master */
	bool late;	/**< reported as pending past its timeout */
	int err;
	uint64_t vlsn;
	uint64_t epoch; /**< master incarnation it completed in */
	uint64_t t_submit, t_done, timeout;
	uint32_t holders; /**< nodes counted durable holders at completion (I1) */
};

/* ---- one node of the group ---- */

struct snode {
	struct sim *sim;
	unsigned int idx;
	uint16_t id;
	uint8_t type; /**< TERN_WIRE_NODE_ELECTABLE or _SECONDARY */
	struct tern_io *io;
	struct tern_net *net;
	struct tern_node *node;
	bool up;
	unsigned int incarnation;
	uint64_t restart_at;
	uint64_t down_durable, down_last; /**< at the crash */
	uint64_t down_epoch; /**< master epoch it was synced up with at the crash (0: none) */
	bool log_failed;     /**< its log turned read-only: crash pending */
	/**
	 * When it last lost entries it had received (a crash, its log turning read-only or
	 * rewinding), plus 1 (0: never): a NO_SYNC ack it sent before may name entries it
	 * no longer has.
	 */
	uint64_t lost_ns;
	uint64_t seen_last; /**< the most its log held since then */
	bool enospc;	     /**< capacity limited now, or was in this incarnation */
	/* on_state */
	enum tern_node_state state;
	uint16_t master;
	uint64_t term;
	/* I7: catch-up after a restart */
	bool reopened;
	bool mp_pending;
	uint64_t open_last, expect_mp, mp_epoch;
	/* I2: prefix verified up to, for the master's epoch */
	uint64_t verified, verified_epoch;
	unsigned int verified_inc;
};

struct fault {
	uint64_t t;
	uint8_t kind;
	uint8_t a, b;
	uint8_t mode;
	uint64_t dur;
	uint64_t x;
	double p;
};

enum fault_kind {
	F_LOSS,
	F_DUP,
	F_JITTER,
	F_DELAY,
	F_PART,
	F_ISOLATE,
	F_ONEWAY,
	F_KILL,
	F_CRASH_REPLICA,
	F_CRASH_MASTER,
	F_FSYNC_REPLICA,
	F_WRITE_REPLICA,
	F_FSYNC_MASTER,
	F_ENOSPC_REPLICA,
	F_ENOSPC_MASTER,
	F_HEAL_NET, /* internal: end of a window */
	F_HEAL_DISK,
	F_KINDS_,
};

static const char *const fault_names[F_KINDS_] = {
	"loss",		 "dup",		  "jitter",	  "delay",	    "partition",
	"isolate",	 "oneway",	  "kill",	  "crash_replica",  "crash_master",
	"fsync_replica", "write_replica", "fsync_master", "enospc_replica", "enospc_master",
	"heal_net",	 "heal_disk",
};

struct done_rec {
	uint64_t id;
	struct tern_commit_done d;
	unsigned int node;
};

struct totals {
	uint64_t seeds, failed_seeds, violations;
	uint64_t commits, ok, eacks, enotmaster, eclosed, logerr, other;
	uint64_t faults[F_KINDS_];
	uint64_t restarts, syncups, truncated, window_misses, rx_stalls;
	uint64_t frames_tx, steps, vtime_ms;
};

struct sim {
	uint64_t seed;
	struct tern_prng prng;
	unsigned int n_electable, n;
	struct tern_node_member members[SIM_NODES_MAX];
	struct snode nodes[SIM_NODES_MAX];
	struct tern_net_sim_world *world;
	uint64_t now;
	bool verbose;
	/* per-seed configuration */
	uint64_t ack_timeout;
	uint32_t window_entries, feeder_window, batch_bytes, mtu;
	unsigned int batches;
	uint64_t base_latency;
	/* workload */
	struct commit c[SIM_COMMITS_MAX];
	uint64_t n_commits, next_id, outstanding, max_outstanding;
	uint64_t next_submit_at, submit_gap;
	double p_replica, p_big;
	/* Traits taken from the seed's hash, not its PRNG (other seeds replay as before). */
	bool nosync_only;    /**< every commit NO_SYNC, local and replica: lazy batches */
	uint32_t lazy_bytes; /**< the logs' lazy_bytes */
	/* master */
	uint64_t epoch;		  /**< master incarnations */
	uint64_t max_term;	  /**< highest term seen anywhere */
	uint64_t term_master[64]; /**< term -> master id + 1 (I6), for terms < 64 */
	/* faults */
	struct fault f[SIM_FAULTS_MAX];
	unsigned int n_faults, next_fault;
	uint64_t last_fault_t;
	/* completions deferred out of callbacks */
	struct done_rec q[SIM_COMMITS_MAX + 64];
	unsigned int nq;
	/* results */
	unsigned int violations;
	char trace[SIM_TRACE][160];
	unsigned int n_trace;
	uint64_t next_check;
	struct totals *tot;
	uint8_t seen[SIM_COMMITS_MAX]; /* per-log scan: id seen */
};

static char replay_line[512];
static const char *g_argv0 = "sim_group";
static int g_diag_verbose;

/* ---- diagnostics: keep the last node/log messages per seed, print them on failure ---- */

static char diag_ring[32][200];
static unsigned int diag_n;

static void
diag_sink(void *arg, struct tern_diag_component *c, int level, const char *msg)
{
	(void)arg;
	if (g_diag_verbose)
		fprintf(stderr, "  diag %s %s: %s\n", c->name, tern_diag_level_name(level), msg);
	snprintf(diag_ring[diag_n % 32], sizeof(diag_ring[0]), "%s: %s", c->name, msg);
	diag_n++;
}

static void
on_fatal_signal(int sig)
{
	/* A crash inside the code under test: say how to replay it, then die as we would. */
	ssize_t r;

	r = write(2, "\nsim: fatal signal; replay: ", 28);
	r = write(2, replay_line, strlen(replay_line));
	r = write(2, "\n", 1);
	(void)r;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
trace(struct sim *s, const char *fmt, ...)
{
	char *buf = s->trace[s->n_trace % SIM_TRACE];
	int k;
	va_list ap;

	k = snprintf(buf, sizeof(s->trace[0]), "t=%.3fms ", (double)s->now / 1e6);
	va_start(ap, fmt);
	vsnprintf(buf + k, sizeof(s->trace[0]) - (size_t)k, fmt, ap);
	va_end(ap);
	s->n_trace++;
	if (s->verbose)
		fprintf(stderr, "  %s\n", buf);
}

static void violation(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
violation(struct sim *s, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->violations++;
	if (s->violations <= 8 || s->verbose)
		fprintf(stderr, "sim: seed %" PRIu64 ": VIOLATION at t=%.3fms: %s\n", s->seed,
			(double)s->now / 1e6, buf);
}

/* ---- payloads: every entry names its commit id ---- */

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint32_t
payload_len(const struct sim *s, uint64_t id)
{
	uint64_t h = mix(id ^ (s->seed << 20));

	if ((h & 0xff) < (uint64_t)(s->p_big * 256))
		return 1000 + (uint32_t)((h >> 8) % 2500);
	return 16 + (uint32_t)((h >> 8) % 300);
}

static void
payload_fill(const struct sim *s, uint64_t id, uint8_t *buf, uint32_t len)
{
	uint64_t h = mix(id + s->seed);
	uint32_t i;

	memcpy(buf, &id, 8);
	memcpy(buf + 8, &s->seed, 8);
	for (i = 16; i < len; i++)
		buf[i] = (uint8_t)(h + i * 31u + (i >> 5));
}

static uint16_t
payload_type(uint64_t id)
{
	return (uint16_t)(TERN_LOG_TYPE_USER + id % 5);
}

/*
 * Decode and validate an entry read back: returns its commit id, or UINT64_MAX (with a
 * violation) when it is not exactly an entry the workload made.
 */
static uint64_t
entry_id(struct sim *s, const struct snode *sn, const struct tern_log_entry *e)
{
	uint8_t want[SIM_PAYLOAD_MAX];
	uint64_t id, sd;

	if (e->len < 16 || e->len > SIM_PAYLOAD_MAX) {
		violation(s, "node %u: entry vlsn %" PRIu64 " has bad length %u", sn->id, e->vlsn,
			  e->len);
		return UINT64_MAX;
	}
	memcpy(&id, e->data, 8);
	memcpy(&sd, (const uint8_t *)e->data + 8, 8);
	if (sd != s->seed || id >= s->next_id || s->c[id].state == C_NONE) {
		violation(s, "node %u: entry vlsn %" PRIu64 " names unknown commit %" PRIu64,
			  sn->id, e->vlsn, id);
		return UINT64_MAX;
	}
	payload_fill(s, id, want, payload_len(s, id));
	if (e->len != payload_len(s, id) || memcmp(want, e->data, e->len) != 0 ||
	    e->type != payload_type(id) || e->txn_id != (id ^ 0x5a5a) ||
	    e->timestamp_ns != id * 1000) {
		violation(s,
			  "node %u: entry vlsn %" PRIu64 " (commit %" PRIu64
			  ") does not match what was committed",
			  sn->id, e->vlsn, id);
		return UINT64_MAX;
	}
	return id;
}

/* Read entry @p vlsn of @p sn's log. @return 0, or the log's error (-ENOENT, ...). */
static int
read_entry(struct snode *sn, uint64_t vlsn, struct tern_log_entry *e, uint8_t *buf)
{
	return tern_log_read(tern_node_log(sn->node), vlsn, e, buf, SIM_PAYLOAD_MAX);
}

/* ---- nodes ---- */

static struct snode *
master_node(struct sim *s)
{
	return &s->nodes[0];
}

static bool
electable(const struct snode *sn)
{
	return sn->type == TERN_WIRE_NODE_ELECTABLE;
}

static unsigned int
acks_expected(const struct sim *s, uint8_t policy)
{
	switch (policy) {
	case TERN_ACK_ALL:
		return s->n_electable - 1;
	case TERN_ACK_SIMPLE_MAJORITY:
		return s->n_electable / 2;
	default:
		return 0;
	}
}

static void on_done(void *arg, const struct tern_commit_done *d, unsigned int n);
static void on_state(void *arg, enum tern_node_state st, uint16_t master, uint64_t term);

static int
node_attach(struct sim *s, struct snode *sn)
{
	struct tern_net_peer peers[SIM_NODES_MAX];
	struct tern_net_opts o;
	unsigned int i, k = 0;
	int rc;

	memset(peers, 0, sizeof(peers));
	for (i = 0; i < s->n; i++)
		if (s->nodes[i].id != sn->id)
			peers[k++].node_id = s->nodes[i].id;
	tern_net_opts_init(&o, sizeof(o));
	o.self.node_id = sn->id;
	o.peers = peers;
	o.n_peers = k;
	rc = tern_net_sim_attach(s->world, &o, &sn->net);
	if (rc != 0)
		violation(s, "node %u: net attach: %s", sn->id, tern_strerror(rc));
	return rc;
}

static int
node_start(struct sim *s, struct snode *sn)
{
	struct tern_node_opts o;
	int rc;

	if (node_attach(s, sn) != 0)
		return -1;
	tern_node_opts_init(&o, sizeof(o));
	o.group_id = SIM_GROUP_ID;
	o.self = sn->id;
	o.members = s->members;
	o.n_members = s->n;
	o.master = SIM_MASTER;
	o.term = 1;
	tern_log_opts_init(&o.log, sizeof(o.log));
	o.log.io = sn->io;
	o.log.segment_size = 64 << 10;
	o.log.batch_bytes = s->batch_bytes;
	o.log.batches = s->batches;
	o.log.lazy_bytes = s->lazy_bytes;
	o.log.index_stride = 8;
	o.net = sn->net;
	o.queue = 0;
	o.mtu = s->mtu;
	o.ack_timeout_ns = s->ack_timeout;
	o.max_pending = 256;
	o.window_entries = s->window_entries;
	o.window_bytes = 256u << 10;
	o.feeder.window = s->feeder_window;
	o.on_done = on_done;
	o.on_state = on_state;
	o.arg = sn;
	sn->state = TERN_NODE_DETACHED;
	sn->term = 0;
	sn->log_failed = false;
	rc = tern_node_open(&o, s->now, &sn->node);
	if (rc != 0) {
		violation(s, "node %u: tern_node_open after %u starts: %s", sn->id, sn->incarnation,
			  tern_strerror(rc));
		tern_net_close(sn->net);
		sn->net = NULL;
		sn->node = NULL;
		return -1;
	}
	sn->up = true;
	sn->incarnation++;
	sn->restart_at = TERN_TIME_NEVER;
	return 0;
}

static void
node_stop_stats(struct sim *s, struct snode *sn)
{
	struct tern_node_stats st;

	tern_node_stats_get(sn->node, &st);
	s->tot->syncups += st.syncups;
	s->tot->truncated += st.truncated;
	s->tot->window_misses += st.window_misses;
	s->tot->rx_stalls += st.rx_stalls;
	s->tot->frames_tx += st.frames_tx;
}

static void drain_done(struct sim *s);

/*
 * Crash @p sn: its network link dies, its disk loses what @p mode says, the node is
 * closed (pending commits: -TERN_ECLOSED) and will be reopened on the same disk later.
 */
static void
node_crash(struct sim *s, struct snode *sn, enum tern_io_mem_crash_mode mode, uint64_t down_ns)
{
	static const char *const modes[] = {"CLEAN", "TORN", "NONE"};
	struct tern_log *log = tern_node_log(sn->node);
	uint64_t lost;

	sn->down_durable = tern_log_durable_vlsn(log);
	sn->down_last = tern_log_last_vlsn(log);
	sn->lost_ns = s->now + 1;
	sn->seen_last = 0;
	/*
	 * Its log holds this master's entries if it was synced up; or, not synced up since a
	 * restart, if its last entry is of the master's term: only this master wrote that
	 * term (a master that loses entries takes a new one), so its log is a prefix of the
	 * master's, and what it acknowledged before the restart is still there.
	 */
	sn->down_epoch = sn->idx != 0 && master_node(s)->up && sn->term == master_node(s)->term &&
				 (sn->state == TERN_NODE_REPLICA ||
				  (sn->state == TERN_NODE_UNKNOWN &&
				   tern_log_last_term(log) == master_node(s)->term))
				 ? s->epoch
				 : 0;
	tern_net_sim_kill(s->world, sn->id);
	lost = tern_io_mem_crash(sn->io, mode);
	trace(s,
	      "crash node %u (%s, %" PRIu64 " unsynced bytes lost; durable %" PRIu64
	      " last %" PRIu64 "), restart in %.2fms",
	      sn->id, modes[mode], lost, sn->down_durable, sn->down_last, (double)down_ns / 1e6);
	node_stop_stats(s, sn);
	tern_node_close(sn->node); /* the log's files went with the crash: errors expected */
	drain_done(s);
	tern_net_close(sn->net);
	sn->node = NULL;
	sn->net = NULL;
	sn->up = false;
	sn->state = TERN_NODE_SHUTDOWN;
	sn->restart_at = s->now + down_ns;
	sn->verified = 0;
	sn->enospc = false;
	tern_io_mem_set_capacity(sn->io, 0);
	if (sn->idx == 0)
		s->epoch++;
}

static uint64_t
entry_term(struct snode *sn, uint64_t vlsn, int *rc)
{
	uint8_t buf[SIM_PAYLOAD_MAX];
	struct tern_log_entry e;

	*rc = read_entry(sn, vlsn, &e, buf);
	return *rc == 0 ? e.term : 0;
}

/* I1 after a restart: every commit this node held durably is still there. */
static void
check_holdings(struct sim *s, struct snode *sn)
{
	uint8_t buf[SIM_PAYLOAD_MAX];
	struct tern_log *log = tern_node_log(sn->node);
	struct tern_log_entry e;
	uint64_t id;
	int rc;

	for (id = 0; id < s->next_id; id++) {
		struct commit *c = &s->c[id];

		if (c->state != C_DONE || !(c->holders & (1u << sn->idx)))
			continue;
		if (tern_log_last_vlsn(log) < c->vlsn) {
			violation(s,
				  "I1: node %u lost acknowledged commit %" PRIu64 " (vlsn %" PRIu64
				  ") in a crash: log ends at %" PRIu64,
				  sn->id, id, c->vlsn, tern_log_last_vlsn(log));
			continue;
		}
		rc = read_entry(sn, c->vlsn, &e, buf);
		if (rc != 0) {
			violation(s,
				  "I1: node %u: reading acknowledged commit %" PRIu64
				  " at vlsn %" PRIu64 " after a crash: %s",
				  sn->id, id, c->vlsn, tern_strerror(rc));
			continue;
		}
		if (entry_id(s, sn, &e) != id)
			violation(s,
				  "I1: node %u holds another entry at vlsn %" PRIu64
				  " than acknowledged commit %" PRIu64 " after a crash",
				  sn->id, c->vlsn, id);
	}
}

static void
node_restart(struct sim *s, struct snode *sn)
{
	struct snode *m = master_node(s);
	struct tern_log *log;
	uint64_t v, prev_max = s->max_term;
	int rc1, rc2;

	tern_io_mem_fault(sn->io, TERN_IO_MEM_OP_SYNC, 0, 0, 0);
	tern_io_mem_fault(sn->io, TERN_IO_MEM_OP_WRITE, 0, 0, 0);
	if (node_start(s, sn) != 0)
		return;
	log = tern_node_log(sn->node);
	s->tot->restarts++;
	trace(s,
	      "restart node %u: log [%" PRIu64 ", %" PRIu64 "] durable %" PRIu64
	      " last term %" PRIu64 ", state %s term %" PRIu64,
	      sn->id, tern_log_first_vlsn(log), tern_log_last_vlsn(log), tern_log_durable_vlsn(log),
	      tern_log_last_term(log), tern_node_state_str(sn->state), tern_node_term(sn->node));
	check_holdings(s, sn);
	sn->reopened = true;
	sn->open_last = tern_log_last_vlsn(log);
	if (sn->idx == 0) {
		/* I6: a restarted master never reuses a term. */
		if (tern_node_term(sn->node) <= prev_max)
			violation(s,
				  "I6: restarted master took term %" PRIu64
				  ", not above the highest term seen before (%" PRIu64 ")",
				  tern_node_term(sn->node), prev_max);
		sn->mp_pending = false;
		return;
	}
	/* I7: the matchpoint it should find (entries the master can read, agreeing terms). */
	sn->mp_pending = false;
	if (!m->up)
		return;
	v = TERN_MIN(sn->open_last, tern_log_written_vlsn(tern_node_log(m->node)));
	for (; v > 0; v--) {
		uint64_t t1 = entry_term(sn, v, &rc1), t2 = entry_term(m, v, &rc2);

		if (rc1 != 0 || rc2 != 0) {
			v = 0;
			break;
		}
		if (t1 == t2)
			break;
	}
	sn->expect_mp = v;
	sn->mp_epoch = s->epoch;
	sn->mp_pending = true;
}

/* ---- callbacks ---- */

static void
on_done(void *arg, const struct tern_commit_done *d, unsigned int n)
{
	struct snode *sn = arg;
	struct sim *s = sn->sim;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t id = (uint64_t)(uintptr_t)d[i].cookie;

		if (id >= s->next_id + 64 || id >= SIM_COMMITS_MAX || s->c[id].state != C_PENDING) {
			violation(s,
				  "I5: node %u completed commit %" PRIu64
				  " which is not pending (state %d): completed twice or unknown",
				  sn->id, id, id < SIM_COMMITS_MAX ? s->c[id].state : -1);
			continue;
		}
		s->c[id].state = C_DONE;
		if (s->nq < TERN_DIM(s->q)) {
			s->q[s->nq].id = id;
			s->q[s->nq].d = d[i];
			s->q[s->nq].node = sn->idx;
			s->nq++;
		}
	}
}

static void
on_state(void *arg, enum tern_node_state st, uint16_t master, uint64_t term)
{
	struct snode *sn = arg;
	struct sim *s = sn->sim;

	trace(s, "node %u: %s -> %s (master %u, term %" PRIu64 ")", sn->id,
	      tern_node_state_str(sn->state), tern_node_state_str(st), master, term);
	if (term < sn->term && st != TERN_NODE_SHUTDOWN)
		violation(s, "I6: node %u went back from term %" PRIu64 " to %" PRIu64, sn->id,
			  sn->term, term);
	if (st == TERN_NODE_MASTER) {
		if (sn->id != SIM_MASTER)
			violation(s, "I6: node %u became MASTER; the static master is %u", sn->id,
				  SIM_MASTER);
		if (term < TERN_DIM(s->term_master)) {
			if (s->term_master[term] != 0 && s->term_master[term] != sn->id + 1u)
				violation(s, "I6: two masters in term %" PRIu64 ": %u and %u", term,
					  (unsigned)(s->term_master[term] - 1), sn->id);
			s->term_master[term] = sn->id + 1u;
		}
	}
	if (st == TERN_NODE_REPLICA && master != SIM_MASTER)
		violation(s, "I6: node %u is a REPLICA of %u, not of the static master", sn->id,
			  master);
	if (term > s->max_term && st != TERN_NODE_SHUTDOWN)
		s->max_term = term;
	sn->state = st;
	sn->master = master;
	sn->term = term;
}

/* ---- completions: checked outside the callbacks, once the node's call returned ---- */

static bool
err_documented(int err)
{
	return err == 0 || err == -TERN_EACKS || err == -TERN_ENOTMASTER || err == -EIO ||
	       err == -ENOSPC || err == -TERN_ELOGRO || err == -TERN_ECLOSED || err == -E2BIG;
}

/* I1 at completion: who holds commit @p id durably (or received, for replica NO_SYNC). */
static void
check_acked(struct sim *s, uint64_t id)
{
	uint8_t buf[SIM_PAYLOAD_MAX];
	struct commit *c = &s->c[id];
	struct snode *m = master_node(s);
	struct tern_log_entry e;
	unsigned int i, have = 0, need = acks_expected(s, c->ack);
	bool sync = c->replica_sync == TERN_LOG_SYNC;
	int rc;

	if (!m->up)
		return;
	if (c->local_sync == TERN_LOG_SYNC) {
		if (tern_log_durable_vlsn(tern_node_log(m->node)) < c->vlsn)
			violation(s,
				  "I1: commit %" PRIu64 " (vlsn %" PRIu64
				  ") completed under local SYNC but the master's durable VLSN is "
				  "%" PRIu64,
				  id, c->vlsn, tern_log_durable_vlsn(tern_node_log(m->node)));
		rc = read_entry(m, c->vlsn, &e, buf);
		if (rc != 0 || entry_id(s, m, &e) != id)
			violation(s,
				  "I1: commit %" PRIu64 ": the master's entry at vlsn %" PRIu64
				  " is not it (%s)",
				  id, c->vlsn, tern_strerror(rc));
		else
			c->holders |= 1u;
	} else if (c->local_sync == TERN_LOG_WRITE_NO_SYNC &&
		   tern_log_written_vlsn(tern_node_log(m->node)) < c->vlsn) {
		violation(s,
			  "I1: commit %" PRIu64 " (vlsn %" PRIu64
			  ") completed under WRITE_NO_SYNC before it was written (written %" PRIu64
			  ")",
			  id, c->vlsn, tern_log_written_vlsn(tern_node_log(m->node)));
	}
	if (need == 0)
		return;
	for (i = 1; i < s->n; i++) {
		struct snode *r = &s->nodes[i];
		uint64_t reach;

		if (!electable(r))
			continue;
		/*
		 * JE's NO_SYNC replica ack says the entry arrived, not that it survives: a
		 * replica that lost entries since the commit began may have acked it before.
		 */
		if (!sync && r->lost_ns > c->t_submit) {
			have++;
			continue;
		}
		if (!r->up) {
			/* Down: its log held this master's entries only if it was synced up. */
			reach = sync ? r->down_durable : r->down_last;
			if (reach >= c->vlsn && r->down_epoch == s->epoch) {
				have++;
				if (sync && c->local_sync == TERN_LOG_SYNC)
					c->holders |= 1u << i;
			}
			continue;
		}
		reach = sync ? tern_log_durable_vlsn(tern_node_log(r->node))
			     : tern_log_last_vlsn(tern_node_log(r->node));
		if (reach < c->vlsn)
			continue;
		if (sync) {
			rc = read_entry(r, c->vlsn, &e, buf);
			/* A replica not synced up yet may hold an older term's entry there: it
			 * does not count (and if the master counted it, `have` falls short). */
			if (rc != 0 || e.len < 8 || *(const uint64_t *)e.data != id)
				continue;
			if (entry_id(s, r, &e) != id)
				continue;
			if (c->local_sync == TERN_LOG_SYNC)
				c->holders |= 1u << i;
		}
		have++;
	}
	if (have < need)
		violation(s,
			  "I1: commit %" PRIu64 " (vlsn %" PRIu64 ", ack %u, replica %s) completed "
			  "with %u electable replicas holding it %s, %u needed",
			  id, c->vlsn, c->ack, sync ? "SYNC" : "NO_SYNC", have,
			  sync ? "durably" : "", need);
}

static void
drain_done(struct sim *s)
{
	unsigned int k;

	for (k = 0; k < s->nq; k++) {
		const struct tern_commit_done *d = &s->q[k].d;
		struct commit *c = &s->c[s->q[k].id];
		uint64_t id = s->q[k].id;
		struct snode *sn = &s->nodes[s->q[k].node];

		c->err = d->err;
		c->vlsn = d->vlsn;
		c->t_done = s->now;
		c->epoch = s->epoch;
		c->acks_needed = d->acks_needed;
		c->acks_received = d->acks_received;
		s->outstanding--;
		if (sn->idx != c->node)
			violation(s,
				  "I5: commit %" PRIu64
				  " submitted to node %u completed on node %u",
				  id, s->nodes[c->node].id, sn->id);
		if (!err_documented(d->err))
			violation(s,
				  "I5: commit %" PRIu64 " failed with undocumented error %d (%s)",
				  id, d->err, tern_strerror(d->err));
		switch (d->err) {
		case 0:
			s->tot->ok++;
			if (!c->to_master)
				violation(s,
					  "I5: commit %" PRIu64 " succeeded on non-master node %u",
					  id, sn->id);
			if (d->vlsn == 0)
				violation(s, "I5: commit %" PRIu64 " succeeded without a VLSN", id);
			else
				check_acked(s, id);
			/* The stage timestamps: submitted <= assigned <= local, acked <= done. */
			if (d->t_submit_ns != c->t_submit || d->t_assign_ns < d->t_submit_ns ||
			    d->t_local_ns < d->t_assign_ns || d->t_local_ns > d->t_done_ns ||
			    d->t_acked_ns > d->t_done_ns || d->t_done_ns > s->now)
				violation(s,
					  "I5: commit %" PRIu64
					  " stage times out of order: submit %" PRIu64
					  " assign %" PRIu64 " local %" PRIu64 " acked %" PRIu64
					  " done %" PRIu64 " (now %" PRIu64 ")",
					  id, d->t_submit_ns, d->t_assign_ns, d->t_local_ns,
					  d->t_acked_ns, d->t_done_ns, s->now);
			break;
		case -TERN_EACKS:
			s->tot->eacks++;
			if (d->acks_needed != acks_expected(s, c->ack) ||
			    d->acks_received >= d->acks_needed)
				violation(s,
					  "I5: commit %" PRIu64 " -TERN_EACKS with acks %u of %u "
					  "(policy %u needs %u)",
					  id, d->acks_received, d->acks_needed, c->ack,
					  acks_expected(s, c->ack));
			if (s->now < c->t_submit + c->timeout)
				violation(s,
					  "I5: commit %" PRIu64 " -TERN_EACKS after %.3fms, before "
					  "its timeout of %.3fms",
					  id, (double)(s->now - c->t_submit) / 1e6,
					  (double)c->timeout / 1e6);
			if (d->vlsn == 0)
				violation(s, "I5: commit %" PRIu64 " -TERN_EACKS without a VLSN",
					  id);
			break;
		case -TERN_ENOTMASTER:
			s->tot->enotmaster++;
			if (c->to_master && sn->state == TERN_NODE_MASTER)
				violation(s,
					  "I5: the master refused commit %" PRIu64
					  " with -TERN_ENOTMASTER",
					  id);
			if (d->master != SIM_MASTER && d->master != TERN_WIRE_NODE_ALL)
				violation(s, "I5: -TERN_ENOTMASTER names node %u as the master",
					  d->master);
			if (d->vlsn != 0)
				violation(s, "I5: refused commit %" PRIu64 " has vlsn %" PRIu64, id,
					  d->vlsn);
			break;
		case -TERN_ECLOSED:
			s->tot->eclosed++;
			break;
		default:
			if (d->err == -EIO || d->err == -ENOSPC || d->err == -TERN_ELOGRO)
				s->tot->logerr++;
			else
				s->tot->other++;
			break;
		}
		if (d->err != 0 && d->err != -TERN_ENOTMASTER && d->err != -TERN_ECLOSED &&
		    s->verbose)
			trace(s, "commit %" PRIu64 " vlsn %" PRIu64 ": %s (acks %u/%u)", id,
			      d->vlsn, tern_errname(d->err), d->acks_received, d->acks_needed);
	}
	s->nq = 0;
}

/* ---- workload ---- */

static void
make_commit(struct sim *s, uint64_t id, struct tern_commit *tc, uint8_t *buf)
{
	struct commit *c = &s->c[id];
	uint64_t r = tern_prng_next(&s->prng);

	memset(tc, 0, sizeof(*tc));
	tc->len = payload_len(s, id);
	payload_fill(s, id, buf, tc->len);
	tc->data = buf;
	tc->type = payload_type(id);
	tc->txn_id = id ^ 0x5a5a;
	tc->timestamp_ns = id * 1000;
	c->local_sync = (uint8_t)(r % 3);
	c->replica_sync = ((r >> 8) % 3) == 0 ? TERN_LOG_NO_SYNC : TERN_LOG_SYNC;
	switch ((r >> 16) % 8) {
	case 0:
		c->ack = TERN_ACK_NONE;
		break;
	case 1:
	case 2:
		c->ack = TERN_ACK_ALL;
		break;
	default:
		c->ack = TERN_ACK_SIMPLE_MAJORITY;
		break;
	}
	/* Half of them the common, fully durable case that I1 checks across crashes. */
	if (((r >> 24) & 1) == 0) {
		c->local_sync = TERN_LOG_SYNC;
		c->replica_sync = TERN_LOG_SYNC;
		if (c->ack == TERN_ACK_NONE)
			c->ack = TERN_ACK_SIMPLE_MAJORITY;
	}
	if (s->nosync_only) {
		c->local_sync = TERN_LOG_NO_SYNC;
		c->replica_sync = TERN_LOG_NO_SYNC;
	}
	tc->dur.local_sync = c->local_sync;
	tc->dur.replica_sync = c->replica_sync;
	tc->dur.ack_policy = c->ack;
	c->timeout = s->ack_timeout;
	if (((r >> 32) % 4) == 0) {
		tc->timeout_ns = (5 + (r >> 40) % 40) * TERN_NS_PER_MS;
		c->timeout = tc->timeout_ns;
	}
	tc->t_submit_ns = s->now;
	tc->cookie = (void *)(uintptr_t)id;
	c->t_submit = s->now;
}

static void
submit(struct sim *s)
{
	static uint8_t bufs[8][SIM_PAYLOAD_MAX];
	struct tern_commit tc[8];
	struct snode *target;
	unsigned int want, i, taken, idx;

	if (s->next_id >= s->n_commits || s->now < s->next_submit_at ||
	    s->outstanding >= s->max_outstanding)
		return;
	s->next_submit_at = s->now + tern_prng_below(&s->prng, 2 * s->submit_gap + 1);
	idx = 0;
	if (tern_prng_chance(&s->prng, s->p_replica))
		idx = 1 + (unsigned int)tern_prng_below(&s->prng, s->n - 1);
	target = &s->nodes[idx];
	if (!target->up)
		return;
	want = 1 + (unsigned int)tern_prng_below(&s->prng, 8);
	want = (unsigned int)TERN_MIN((uint64_t)want, s->n_commits - s->next_id);
	want = (unsigned int)TERN_MIN((uint64_t)want, s->max_outstanding - s->outstanding);
	for (i = 0; i < want; i++) {
		struct commit *c = &s->c[s->next_id + i];

		make_commit(s, s->next_id + i, &tc[i], bufs[i]);
		c->state = C_PENDING;
		c->node = (uint8_t)idx;
		c->to_master = idx == 0;
	}
	taken = tern_node_commit(target->node, tc, want, s->now);
	if (taken > want) {
		violation(s, "I5: tern_node_commit took %u of %u", taken, want);
		taken = want;
	}
	for (i = taken; i < want; i++) {
		struct commit *c = &s->c[s->next_id + i];

		if (c->state != C_PENDING)
			violation(s, "I5: commit %" PRIu64 " completed though not taken",
				  s->next_id + i);
		memset(c, 0, sizeof(*c));
	}
	s->next_id += taken;
	s->outstanding += taken;
	s->tot->commits += taken;
	drain_done(s);
}

/* ---- faults ---- */

static void
fault_add(struct sim *s, const struct fault *f)
{
	unsigned int i;

	if (s->n_faults >= SIM_FAULTS_MAX)
		return;
	i = s->n_faults++;
	while (i > 0 && s->f[i - 1].t > f->t) {
		s->f[i] = s->f[i - 1];
		i--;
	}
	s->f[i] = *f;
	if (f->t > s->last_fault_t)
		s->last_fault_t = f->t;
}

static void
plan_faults(struct sim *s, uint64_t span)
{
	unsigned int i, nf;

	nf = tern_prng_chance(&s->prng, 0.08) ? 0 : 1 + (unsigned int)tern_prng_below(&s->prng, 6);
	for (i = 0; i < nf && s->n_faults + 2 <= SIM_FAULTS_MAX; i++) {
		struct fault f;
		uint64_t r = tern_prng_below(&s->prng, 100);

		memset(&f, 0, sizeof(f));
		f.t = TERN_NS_PER_MS + tern_prng_below(&s->prng, span);
		f.dur = TERN_NS_PER_MS + tern_prng_below(&s->prng, 60 * TERN_NS_PER_MS);
		f.a = (uint8_t)(1 + tern_prng_below(&s->prng, s->n - 1)); /* a replica */
		f.b = (uint8_t)tern_prng_below(&s->prng, s->n);
		if (f.b == f.a)
			f.b = 0;
		f.mode = (uint8_t)tern_prng_below(&s->prng, 3);
		f.x = tern_prng_below(&s->prng, 40);
		f.p = 0.01 + 0.2 * tern_prng_unit(&s->prng);
		if (r < 10)
			f.kind = F_LOSS;
		else if (r < 17)
			f.kind = F_DUP;
		else if (r < 25)
			f.kind = F_JITTER;
		else if (r < 30)
			f.kind = F_DELAY;
		else if (r < 40)
			f.kind = F_PART;
		else if (r < 45)
			f.kind = F_ISOLATE;
		else if (r < 52)
			f.kind = F_ONEWAY;
		else if (r < 56)
			f.kind = F_KILL;
		else if (r < 72)
			f.kind = F_CRASH_REPLICA;
		else if (r < 80)
			f.kind = F_CRASH_MASTER;
		else if (r < 87)
			f.kind = F_FSYNC_REPLICA;
		else if (r < 90)
			f.kind = F_WRITE_REPLICA;
		else if (r < 93)
			f.kind = F_FSYNC_MASTER;
		else if (r < 97)
			f.kind = F_ENOSPC_REPLICA;
		else
			f.kind = F_ENOSPC_MASTER;
		fault_add(s, &f);
		if (f.kind <= F_KILL || f.kind == F_ENOSPC_REPLICA || f.kind == F_ENOSPC_MASTER) {
			struct fault h = f;

			h.t = f.t + f.dur;
			h.kind = f.kind <= F_KILL ? F_HEAL_NET : F_HEAL_DISK;
			h.x = f.kind;
			fault_add(s, &h);
		}
	}
}

static void
heal_net(struct sim *s)
{
	struct tern_net_sim_link l;

	memset(&l, 0, sizeof(l));
	l.latency_ns = s->base_latency;
	tern_net_sim_heal(s->world, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL);
	tern_net_sim_link_set(s->world, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, &l);
}

static void
fault_run(struct sim *s, const struct fault *f)
{
	struct snode *a = &s->nodes[f->a], *b = &s->nodes[f->b], *m = master_node(s);
	struct tern_net_sim_link l;
	bool done = true;

	memset(&l, 0, sizeof(l));
	l.latency_ns = s->base_latency;
	switch (f->kind) {
	case F_LOSS:
		tern_net_sim_set_loss(s->world, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, f->p);
		break;
	case F_DUP:
		tern_net_sim_set_dup(s->world, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL, f->p);
		break;
	case F_JITTER:
		tern_net_sim_set_delay(s->world, TERN_NET_SIM_ALL, TERN_NET_SIM_ALL,
				       s->base_latency, (1 + f->x) * 10 * TERN_NS_PER_US);
		break;
	case F_DELAY:
		tern_net_sim_set_delay(s->world, a->id, TERN_NET_SIM_ALL,
				       (1 + f->x) * 100 * TERN_NS_PER_US, 0);
		break;
	case F_PART:
		tern_net_sim_partition(s->world, a->id, b->id);
		break;
	case F_ISOLATE:
		tern_net_sim_partition(s->world, f->x & 1 ? m->id : a->id, TERN_NET_SIM_ALL);
		break;
	case F_ONEWAY:
		if (f->x & 1)
			tern_net_sim_partition_oneway(s->world, a->id, b->id);
		else
			tern_net_sim_partition_oneway(s->world, b->id, a->id);
		break;
	case F_KILL:
		if (a->up)
			tern_net_sim_kill(s->world, a->id);
		else
			done = false;
		break;
	case F_CRASH_REPLICA:
		if (a->up)
			node_crash(s, a, (enum tern_io_mem_crash_mode)f->mode, f->dur);
		else
			done = false;
		break;
	case F_CRASH_MASTER:
		if (m->up)
			node_crash(s, m, (enum tern_io_mem_crash_mode)f->mode, f->dur);
		else
			done = false;
		break;
	case F_FSYNC_REPLICA:
	case F_WRITE_REPLICA:
	case F_FSYNC_MASTER: {
		struct snode *t = f->kind == F_FSYNC_MASTER ? m : a;

		if (!t->up) {
			done = false;
			break;
		}
		tern_io_mem_fault(t->io,
				  f->kind == F_WRITE_REPLICA ? TERN_IO_MEM_OP_WRITE
							     : TERN_IO_MEM_OP_SYNC,
				  (unsigned int)f->x, 1, -EIO);
		break;
	}
	case F_ENOSPC_REPLICA:
	case F_ENOSPC_MASTER: {
		struct snode *t = f->kind == F_ENOSPC_MASTER ? m : a;

		if (!t->up) {
			done = false;
			break;
		}
		tern_io_mem_set_capacity(t->io, tern_io_mem_used(t->io) + f->x * 512);
		t->enospc = true;
		break;
	}
	case F_HEAL_NET:
		if (f->x == F_KILL) {
			if (a->up)
				tern_net_sim_revive(s->world, a->id);
		} else {
			heal_net(s);
		}
		break;
	case F_HEAL_DISK: {
		struct snode *t = f->x == F_ENOSPC_MASTER ? m : a;

		tern_io_mem_set_capacity(t->io, 0);
		break;
	}
	default:
		break;
	}
	if (done && f->kind < F_HEAL_NET)
		s->tot->faults[f->kind]++;
	trace(s, "fault %s a=%u b=%u x=%" PRIu64 " p=%.3f dur=%.2fms%s", fault_names[f->kind],
	      a->id, b->id, f->x, f->p, (double)f->dur / 1e6, done ? "" : " (skipped)");
}

/* ---- stepping ---- */

static void
poll_all(struct sim *s)
{
	unsigned int round, i;

	for (round = 0; round < SIM_POLL_ROUNDS; round++) {
		int busy = 0;

		for (i = 0; i < s->n; i++) {
			struct snode *sn = &s->nodes[i];

			if (!sn->up)
				continue;
			busy |= tern_node_poll(sn->node, s->now);
			if (s->nq > 0)
				drain_done(s);
			if (sn->up) {
				uint64_t last = tern_log_last_vlsn(tern_node_log(sn->node));

				if (last < sn->seen_last)
					sn->lost_ns = s->now + 1; /* rewound (ENOSPC) or cut (syncup) */
				sn->seen_last = last;
			}
			if (sn->up && !sn->log_failed &&
			    tern_log_error(tern_node_log(sn->node)) != 0) {
				sn->lost_ns = s->now + 1;
				sn->log_failed = true;
				trace(s, "node %u: log read-only (%s)", sn->id,
				      tern_strerror(tern_log_error(tern_node_log(sn->node))));
			}
		}
		if (!busy)
			break;
	}
}

/* I2, incrementally: a replica in the master's term holds a prefix of its log. */
static void
check_prefix(struct sim *s, struct snode *r, uint64_t upto)
{
	uint8_t b1[SIM_PAYLOAD_MAX], b2[SIM_PAYLOAD_MAX];
	struct snode *m = master_node(s);
	struct tern_log_entry e1, e2;
	uint64_t v;
	int rc1, rc2;

	if (r->verified_epoch != s->epoch || r->verified_inc != r->incarnation) {
		r->verified = 0;
		r->verified_epoch = s->epoch;
		r->verified_inc = r->incarnation;
	}
	if (r->verified < tern_log_first_vlsn(tern_node_log(r->node)) - 1)
		r->verified = tern_log_first_vlsn(tern_node_log(r->node)) - 1;
	for (v = r->verified + 1; v <= upto; v++) {
		rc1 = read_entry(r, v, &e1, b1);
		rc2 = read_entry(m, v, &e2, b2);
		if (rc1 != 0 || rc2 != 0) {
			if (rc1 != -ENOENT && rc1 != 0)
				violation(s, "node %u: read vlsn %" PRIu64 ": %s", r->id, v,
					  tern_strerror(rc1));
			return;
		}
		if (e1.term != e2.term || e1.type != e2.type || e1.len != e2.len ||
		    memcmp(b1, b2, e1.len) != 0) {
			violation(s,
				  "I2: replica %u (term %" PRIu64 ") vlsn %" PRIu64
				  " differs from the master's: term %" PRIu64 " vs %" PRIu64
				  ", commit %" PRIu64 " vs %" PRIu64,
				  r->id, r->term, v, e1.term, e2.term,
				  e1.len >= 8 ? *(const uint64_t *)b1 : 0,
				  e2.len >= 8 ? *(const uint64_t *)b2 : 0);
			r->verified = UINT64_MAX / 2; /* once per incarnation */
			return;
		}
		r->verified = v;
	}
}

static void
check_step(struct sim *s)
{
	struct snode *m = master_node(s);
	unsigned int i;
	uint64_t id;

	/* Liveness of the commit path: nothing pending long past its timeout. */
	if (m->up) {
		for (id = 0; id < s->next_id; id++) {
			struct commit *c = &s->c[id];

			if (c->state == C_PENDING && c->to_master && !c->late &&
			    s->now > c->t_submit + c->timeout + 20 * TERN_NS_PER_MS &&
			    !m->log_failed && !m->enospc) {
				violation(s,
					  "I5: commit %" PRIu64 " pending %.3fms, past its timeout "
					  "of %.3fms",
					  id, (double)(s->now - c->t_submit) / 1e6,
					  (double)c->timeout / 1e6);
				c->late = true; /* report once */
			}
		}
	}
	if (!m->up)
		return;
	for (i = 1; i < s->n; i++) {
		struct snode *r = &s->nodes[i];
		uint64_t upto;

		if (!r->up || r->state != TERN_NODE_REPLICA || r->term != m->term)
			continue;
		upto = TERN_MIN(tern_log_durable_vlsn(tern_node_log(r->node)),
				tern_log_written_vlsn(tern_node_log(m->node)));
		upto = TERN_MIN(upto, tern_log_written_vlsn(tern_node_log(r->node)));
		check_prefix(s, r, upto);
	}
}

/* I7 when a restarted replica is back in the stream. */
static void
check_catchup(struct sim *s, struct snode *r)
{
	struct tern_node_stats st;
	uint64_t mp;

	if (!r->mp_pending || r->state != TERN_NODE_REPLICA)
		return;
	r->mp_pending = false;
	if (r->mp_epoch != s->epoch)
		return;
	tern_node_stats_get(r->node, &st);
	if (st.truncated > r->open_last) {
		violation(s, "I7: replica %u truncated %" PRIu64 " entries of a log of %" PRIu64,
			  r->id, st.truncated, r->open_last);
		return;
	}
	mp = r->open_last - st.truncated;
	/* Exactly the matchpoint: no entry that agrees with the master is rolled back. */
	if (mp < r->expect_mp)
		violation(s,
			  "I7: replica %u restarted with log end %" PRIu64 " rolled back to %" PRIu64
			  " though the master agrees up to %" PRIu64 " (syncup from too far back)",
			  r->id, r->open_last, mp, r->expect_mp);
	if (st.syncups == 0)
		violation(s, "I7: replica %u is a REPLICA without a completed syncup", r->id);
}

static void
step(struct sim *s, bool faults)
{
	uint64_t next, due;
	unsigned int i;

	while (faults && s->next_fault < s->n_faults && s->f[s->next_fault].t <= s->now)
		fault_run(s, &s->f[s->next_fault++]);
	for (i = 0; i < s->n; i++) {
		struct snode *sn = &s->nodes[i];

		if (!sn->up && sn->restart_at <= s->now)
			node_restart(s, sn);
		else if (sn->up && sn->log_failed && sn->restart_at == TERN_TIME_NEVER)
			sn->restart_at = s->now + TERN_NS_PER_MS;
		else if (sn->up && sn->log_failed && sn->restart_at <= s->now)
			node_crash(s, sn, (enum tern_io_mem_crash_mode)tern_prng_below(&s->prng, 3),
				   TERN_NS_PER_MS + tern_prng_below(&s->prng, 10 * TERN_NS_PER_MS));
	}
	submit(s);
	poll_all(s);
	for (i = 1; i < s->n; i++)
		if (s->nodes[i].up)
			check_catchup(s, &s->nodes[i]);
	if (s->now >= s->next_check) {
		check_step(s);
		s->next_check = s->now + SIM_CHECK_EVERY_NS;
	}
	next = s->now + SIM_QUANTUM_NS;
	due = tern_net_sim_next_due(s->world);
	if (due > s->now && due < next)
		next = due;
	if (s->next_submit_at > s->now && s->next_submit_at < next && s->next_id < s->n_commits)
		next = s->next_submit_at;
	if (faults && s->next_fault < s->n_faults && s->f[s->next_fault].t > s->now &&
	    s->f[s->next_fault].t < next)
		next = s->f[s->next_fault].t;
	tern_net_sim_advance(s->world, next);
	s->now = next;
	s->tot->steps++;
}

/* ---- convergence and the final checks ---- */

static bool
converged(struct sim *s)
{
	struct snode *m = master_node(s);
	struct tern_log *ml;
	unsigned int i;
	uint64_t id;

	if (!m->up || m->state != TERN_NODE_MASTER)
		return false;
	ml = tern_node_log(m->node);
	if (tern_log_written_vlsn(ml) != tern_log_last_vlsn(ml))
		return false;
	for (i = 1; i < s->n; i++) {
		struct snode *r = &s->nodes[i];

		if (!r->up || r->state != TERN_NODE_REPLICA || r->term != m->term ||
		    tern_log_written_vlsn(tern_node_log(r->node)) != tern_log_last_vlsn(ml) ||
		    tern_log_last_vlsn(tern_node_log(r->node)) != tern_log_last_vlsn(ml))
			return false;
	}
	for (id = 0; id < s->next_id; id++)
		if (s->c[id].state == C_PENDING)
			return false;
	return true;
}

/* I3 and I4 (and I1, I2 at the end): scan every log and compare with the master's. */
static void
final_checks(struct sim *s)
{
	uint8_t b1[SIM_PAYLOAD_MAX], b2[SIM_PAYLOAD_MAX];
	struct snode *m = master_node(s);
	struct tern_log *ml = tern_node_log(m->node);
	unsigned int i;
	uint64_t id, v;

	for (i = 0; i < s->n; i++) {
		struct snode *sn = &s->nodes[i];
		struct tern_log *log = tern_node_log(sn->node);
		struct tern_log_scan *sc = NULL;
		struct tern_log_entry e;
		uint64_t expect = tern_log_first_vlsn(log);
		int rc;

		memset(s->seen, 0, sizeof(s->seen));
		rc = tern_log_scan_open(log, expect, &sc);
		if (rc != 0 && tern_log_last_vlsn(log) >= expect) {
			violation(s, "node %u: scan_open: %s", sn->id, tern_strerror(rc));
			continue;
		}
		while (sc != NULL && (rc = tern_log_scan_next(sc, &e)) == 1) {
			if (e.vlsn != expect) {
				violation(s,
					  "node %u: scan gave vlsn %" PRIu64 ", expected %" PRIu64,
					  sn->id, e.vlsn, expect);
				break;
			}
			expect++;
			id = entry_id(s, sn, &e);
			if (id == UINT64_MAX)
				continue;
			if (s->seen[id]++)
				violation(s,
					  "I3: node %u: commit %" PRIu64
					  " appears twice (again at vlsn %" PRIu64 ")",
					  sn->id, id, e.vlsn);
			if (s->c[id].err != 0 && s->c[id].vlsn == 0)
				violation(s,
					  "I3: node %u: commit %" PRIu64
					  " failed with %s before it "
					  "had a VLSN, yet it is in the log at %" PRIu64,
					  sn->id, id, tern_errname(s->c[id].err), e.vlsn);
			else if (s->c[id].vlsn != 0 && s->c[id].vlsn != e.vlsn)
				violation(s,
					  "I3: node %u: commit %" PRIu64 " (vlsn %" PRIu64
					  ") sits at vlsn %" PRIu64,
					  sn->id, id, s->c[id].vlsn, e.vlsn);
		}
		if (rc < 0)
			violation(s, "node %u: scan: %s", sn->id, tern_strerror(rc));
		tern_log_scan_close(sc);
		if (expect - 1 != tern_log_last_vlsn(log))
			violation(s, "node %u: scan ended at %" PRIu64 ", log's last is %" PRIu64,
				  sn->id, expect - 1, tern_log_last_vlsn(log));
		if (i == 0)
			continue;
		/* I4 (and I2): entry for entry as the master's. */
		if (tern_log_last_vlsn(log) != tern_log_last_vlsn(ml))
			violation(s, "I4: node %u ends at %" PRIu64 ", the master at %" PRIu64,
				  sn->id, tern_log_last_vlsn(log), tern_log_last_vlsn(ml));
		for (v = TERN_MAX(tern_log_first_vlsn(log), tern_log_first_vlsn(ml));
		     v <= TERN_MIN(tern_log_last_vlsn(log), tern_log_last_vlsn(ml)); v++) {
			struct tern_log_entry e1, e2;
			int rc1 = read_entry(sn, v, &e1, b1), rc2 = read_entry(m, v, &e2, b2);

			if (rc1 != 0 || rc2 != 0 || e1.term != e2.term || e1.type != e2.type ||
			    e1.len != e2.len || memcmp(b1, b2, e1.len) != 0) {
				violation(s,
					  "I4: node %u vlsn %" PRIu64 " differs from the master's "
					  "(%s/%s, term %" PRIu64 "/%" PRIu64 ")",
					  sn->id, v, tern_errname(rc1), tern_errname(rc2), e1.term,
					  e2.term);
				break;
			}
		}
		/* I7: a replica restarted in this epoch streamed only what followed its log. */
		if (sn->reopened && !sn->enospc) {
			struct tern_node_stats st;

			tern_node_stats_get(sn->node, &st);
			if (st.entries_appended + sn->open_last - st.truncated !=
			    tern_log_last_vlsn(log))
				violation(s,
					  "I7: replica %u reopened at %" PRIu64
					  ", truncated %" PRIu64 " and appended %" PRIu64
					  " from the stream, but ends at %" PRIu64,
					  sn->id, sn->open_last, st.truncated, st.entries_appended,
					  tern_log_last_vlsn(log));
		}
	}
	/* I1 at the end: what was acknowledged under local SYNC, or in this epoch, is there. */
	for (id = 0; id < s->next_id; id++) {
		struct commit *c = &s->c[id];
		struct tern_log_entry e;

		if (c->state != C_DONE || c->err != 0)
			continue;
		if (c->local_sync != TERN_LOG_SYNC && c->epoch != s->epoch)
			continue;
		if (read_entry(m, c->vlsn, &e, b1) != 0 || entry_id(s, m, &e) != id)
			violation(s,
				  "I1: acknowledged commit %" PRIu64 " (vlsn %" PRIu64
				  ", local %u) is not in the master's log at the end",
				  id, c->vlsn, c->local_sync);
	}
}

/* ---- one seed ---- */

static void
configure(struct sim *s, unsigned int n_electable, uint64_t commits)
{
	unsigned int i;

	s->n_electable = n_electable;
	s->n = n_electable + (tern_prng_chance(&s->prng, 0.3) ? 1 : 0);
	for (i = 0; i < s->n; i++) {
		s->members[i].id = (uint16_t)(i + 1);
		s->members[i].type =
			i < n_electable ? TERN_WIRE_NODE_ELECTABLE : TERN_WIRE_NODE_SECONDARY;
	}
	s->ack_timeout = (10 + tern_prng_below(&s->prng, 90)) * TERN_NS_PER_MS;
	s->window_entries = 64u << tern_prng_below(&s->prng, 6);
	s->feeder_window = 16u << tern_prng_below(&s->prng, 8);
	s->batch_bytes = 8192u << tern_prng_below(&s->prng, 3);
	s->batches = 2 + (unsigned int)tern_prng_below(&s->prng, 3);
	s->mtu = 1024u << tern_prng_below(&s->prng, 3); /* big entries go in fragments */
	s->base_latency = (2 + tern_prng_below(&s->prng, 48)) * TERN_NS_PER_US;
	s->n_commits = commits / 2 + tern_prng_below(&s->prng, commits);
	{
		static const uint32_t lazy[] = {0, 2048, 64 << 10};
		uint64_t h = (s->seed ^ 0x5851f42d4c957f2dULL) * 0x9e3779b97f4a7c15ULL;

		s->nosync_only = (h >> 32) % 8 == 0;
		s->lazy_bytes = lazy[(h >> 40) % 3];
	}
	if (s->n_commits > SIM_COMMITS_MAX)
		s->n_commits = SIM_COMMITS_MAX;
	s->max_outstanding = 1 + tern_prng_below(&s->prng, 48);
	s->submit_gap = (20 + tern_prng_below(&s->prng, 400)) * TERN_NS_PER_US;
	s->p_replica = tern_prng_chance(&s->prng, 0.5) ? 0.03 : 0;
	/* Big entries fill segments: they roll (ENOSPC can strike) and fragment on the wire. */
	s->p_big = tern_prng_chance(&s->prng, 0.3) ? 0.05 : 0;
	if (tern_prng_chance(&s->prng, 0.2))
		s->p_big = 0.3;
}

static void
dump_failure(struct sim *s)
{
	unsigned int i, k;

	fprintf(stderr, "sim: seed %" PRIu64 ": %u violation(s); last events:\n", s->seed,
		s->violations);
	k = s->n_trace > SIM_TRACE ? s->n_trace - SIM_TRACE : 0;
	for (; k < s->n_trace; k++)
		fprintf(stderr, "    %s\n", s->trace[k % SIM_TRACE]);
	fprintf(stderr, "  last diagnostics:\n");
	k = diag_n > 32 ? diag_n - 32 : 0;
	for (; k < diag_n; k++)
		fprintf(stderr, "    %s\n", diag_ring[k % 32]);
	for (i = 0; i < s->n; i++)
		if (s->nodes[i].up && s->verbose)
			tern_node_dump(s->nodes[i].node, stderr);
	fprintf(stderr, "replay: %s\n", replay_line);
}

static int
run_seed(struct sim *s, uint64_t seed, unsigned int n_electable, uint64_t commits,
	 struct totals *tot, bool verbose)
{
	struct tern_net_sim_opts wo;
	uint64_t span, limit;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->tot = tot;
	s->verbose = verbose;
	diag_n = 0;
	tern_prng_init(&s->prng, seed * 0x9e3779b97f4a7c15ULL + n_electable);
	configure(s, n_electable, commits);
	span = s->n_commits * s->submit_gap + 20 * TERN_NS_PER_MS;
	plan_faults(s, span);
	if (verbose)
		fprintf(stderr,
			"sim: seed %" PRIu64 ": %u nodes (%u electable), %" PRIu64
			" commits, outstanding <= %" PRIu64 ", ack timeout %.0fms, window %u/%u, "
			"batch %u x %u (lazy %u), mtu %u, big entries %.0f%%, latency %" PRIu64
			"ns, %u fault events%s\n",
			seed, s->n, s->n_electable, s->n_commits, s->max_outstanding,
			(double)s->ack_timeout / 1e6, s->window_entries, s->feeder_window,
			s->batches, s->batch_bytes, s->lazy_bytes, s->mtu, s->p_big * 100,
			s->base_latency, s->n_faults, s->nosync_only ? ", all NO_SYNC" : "");

	tern_net_sim_opts_init(&wo, sizeof(wo));
	wo.seed = tern_prng_next(&s->prng);
	wo.link.latency_ns = s->base_latency;
	wo.slots = 1024; /* a full pool drops: one more kind of loss */
	wo.mtu = s->mtu; /* small: meson's MALLOC_PERTURB_ touches every slot */
	if (tern_net_sim_world_create(&wo, &s->world) != 0) {
		violation(s, "world create");
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		struct snode *sn = &s->nodes[i];
		struct tern_io_mem_opts mo;

		sn->sim = s;
		sn->idx = i;
		sn->id = s->members[i].id;
		sn->type = s->members[i].type;
		sn->restart_at = TERN_TIME_NEVER;
		tern_io_mem_opts_init(&mo, sizeof(mo));
		mo.seed = tern_prng_next(&s->prng);
		if (tern_io_mem_create(&mo, &sn->io) != 0) {
			violation(s, "io create");
			return -1;
		}
	}
	s->epoch = 1;
	for (i = 0; i < s->n; i++)
		if (node_start(s, &s->nodes[i]) != 0)
			goto out;

	/* The workload and the faults. */
	limit = SIM_WORK_LIMIT_NS;
	while (s->now < limit &&
	       (s->next_id < s->n_commits || s->next_fault < s->n_faults || s->now < span))
		step(s, true);
	if (s->next_id < s->n_commits)
		violation(s,
			  "workload stalled: %" PRIu64 " of %" PRIu64
			  " commits submitted in %.0fms",
			  s->next_id, s->n_commits, (double)limit / 1e6);

	/* Heal everything and let the group converge. */
	trace(s, "heal");
	heal_net(s);
	for (i = 0; i < s->n; i++) {
		struct snode *sn = &s->nodes[i];

		tern_io_mem_fault(sn->io, TERN_IO_MEM_OP_SYNC, 0, 0, 0);
		tern_io_mem_fault(sn->io, TERN_IO_MEM_OP_WRITE, 0, 0, 0);
		tern_io_mem_set_capacity(sn->io, 0);
		if (sn->up)
			tern_net_sim_revive(s->world, sn->id);
		else
			sn->restart_at = s->now;
	}
	limit = s->now + SIM_CONVERGE_LIMIT_NS;
	while (s->now < limit && !converged(s))
		step(s, false);
	if (!converged(s)) {
		struct snode *m = master_node(s);

		violation(s, "no convergence %.0fms after healing",
			  (double)SIM_CONVERGE_LIMIT_NS / 1e6);
		for (i = 0; i < s->n; i++) {
			struct snode *sn = &s->nodes[i];

			if (sn->up)
				fprintf(stderr,
					"  node %u: %s term %" PRIu64 " log last %" PRIu64
					" written %" PRIu64 " durable %" PRIu64 "\n",
					sn->id, tern_node_state_str(sn->state), sn->term,
					tern_log_last_vlsn(tern_node_log(sn->node)),
					tern_log_written_vlsn(tern_node_log(sn->node)),
					tern_log_durable_vlsn(tern_node_log(sn->node)));
			else
				fprintf(stderr, "  node %u: down\n", sn->id);
			if (sn->up && m->up && i > 0) {
				uint8_t buf[SIM_PAYLOAD_MAX];
				struct tern_log_entry e;
				uint64_t v = tern_log_last_vlsn(tern_node_log(sn->node)) + 1;

				if (read_entry(m, v, &e, buf) == 0)
					fprintf(stderr,
						"    the master's next entry for it: vlsn %" PRIu64
						" term %" PRIu64 " len %u (mtu %u)\n",
						v, e.term, e.len, s->mtu);
			}
			if (sn->up && s->verbose)
				tern_node_dump(sn->node, stderr);
		}
	} else {
		check_step(s);
		final_checks(s);
	}

out:
	/* Close: whatever is still pending completes now, with -TERN_ECLOSED. */
	for (i = 0; i < s->n; i++) {
		struct snode *sn = &s->nodes[i];
		int rc;

		if (!sn->up)
			continue;
		node_stop_stats(s, sn);
		rc = tern_node_close(sn->node);
		drain_done(s);
		if (rc != 0 && !sn->log_failed)
			violation(s, "node %u: tern_node_close: %s", sn->id, tern_strerror(rc));
		tern_net_close(sn->net);
		sn->up = false;
	}
	{
		uint64_t id;

		for (id = 0; id < s->next_id; id++)
			if (s->c[id].state != C_DONE)
				violation(s, "I5: commit %" PRIu64 " never completed", id);
	}
	for (i = 0; i < s->n; i++)
		tern_io_destroy(s->nodes[i].io);
	tern_net_sim_world_destroy(s->world);
	tot->vtime_ms += s->now / TERN_NS_PER_MS;
	if (s->violations > 0) {
		dump_failure(s);
		tot->violations += s->violations;
		return -1;
	}
	return 0;
}

/* ---- main ---- */

static uint64_t
env_u64(const char *name, uint64_t dflt, bool *set)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (set != NULL)
		*set = false;
	if (v == NULL || *v == '\0')
		return dflt;
	x = strtoull(v, &end, 0);
	if (*end != '\0')
		return dflt;
	if (set != NULL)
		*set = true;
	return x;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: %s [--nodes 3|5] [--seeds K] [--first S] [--commits C] [-v]\n"
		"  TERN_SIM_SEED=S replays seed S alone; TERN_SIM_SEEDS=K runs K seeds\n",
		g_argv0);
}

int
main(int argc, char **argv)
{
	static struct sim sim;
	struct totals tot;
	unsigned int nodes = 3;
	uint64_t seeds = TERN_SIM_SANITIZED ? 300 : 1000, first = 1, commits = 200, sd, one;
	uint64_t failing[16];
	unsigned int n_failing = 0;
	bool verbose = false, single, set;
	struct timespec t0, t1;
	int i;

	g_argv0 = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
			nodes = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			seeds = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
			first = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--commits") == 0 && i + 1 < argc)
			commits = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--strict") == 0)
			continue; /* the default now */
		else {
			usage();
			return 2;
		}
	}
	if (nodes < 1 || nodes + 1 > SIM_NODES_MAX || commits < 2) {
		usage();
		return 2;
	}
	seeds = env_u64("TERN_SIM_SEEDS", seeds, NULL);
	one = env_u64("TERN_SIM_SEED", 0, &single);
	if (single) {
		first = one;
		seeds = 1;
	}
	g_diag_verbose = verbose && getenv("TERN_SIM_DIAG") != NULL;
	tern_diag_set_sink(diag_sink, NULL, NULL, NULL);
	signal(SIGSEGV, on_fatal_signal);
	signal(SIGABRT, on_fatal_signal);
	signal(SIGBUS, on_fatal_signal);
	signal(SIGFPE, on_fatal_signal);

	memset(&tot, 0, sizeof(tot));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (sd = first; sd < first + seeds; sd++) {
		snprintf(replay_line, sizeof(replay_line),
			 "TERN_SIM_SEED=%" PRIu64 " %s --nodes %u --commits %" PRIu64 " -v", sd,
			 argv[0], nodes, commits);
		tot.seeds++;
		if (run_seed(&sim, sd, nodes, commits, &tot, verbose) != 0) {
			tot.failed_seeds++;
			if (n_failing < TERN_DIM(failing))
				failing[n_failing++] = sd;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	set = false;
	printf("sim: nodes=%u seeds=%" PRIu64 " (from %" PRIu64 ") commits=%" PRIu64 " ok=%" PRIu64
	       " eacks=%" PRIu64 " enotmaster=%" PRIu64 " eclosed=%" PRIu64 " logerr=%" PRIu64
	       " restarts=%" PRIu64 " syncups=%" PRIu64 " truncated=%" PRIu64
	       " window_misses=%" PRIu64 " rx_stalls=%" PRIu64 " frames_tx=%" PRIu64
	       " steps=%" PRIu64
	       " vtime=%.1fs wall=%.2fs\n",
	       nodes, tot.seeds, first, tot.commits, tot.ok, tot.eacks, tot.enotmaster, tot.eclosed,
	       tot.logerr, tot.restarts, tot.syncups, tot.truncated, tot.window_misses,
	       tot.rx_stalls, tot.frames_tx, tot.steps, (double)tot.vtime_ms / 1e3,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("sim: faults");
	for (i = 0; i < F_HEAL_NET; i++)
		printf(" %s=%" PRIu64, fault_names[i], tot.faults[i]);
	printf("\n");
	printf("sim: violations=%" PRIu64 " failing_seeds=%" PRIu64, tot.violations,
	       tot.failed_seeds);
	for (i = 0; i < (int)n_failing; i++)
		printf("%s%" PRIu64, set ? "," : " [", failing[i]), set = true;
	printf("%s\n", set ? "]" : "");
	for (i = 0; i < (int)n_failing; i++)
		printf("replay: TERN_SIM_SEED=%" PRIu64 " %s --nodes %u --commits %" PRIu64 " -v\n",
		       failing[i], argv[0], nodes, commits);
	fflush(stdout);
	return tot.failed_seeds == 0 ? 0 : 1;
}
