/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <tern_common.h>
#include <tern_feed.h>
#include <tern_prng.h>

#include "ut.h"

#define US 1000ull
#define MS (1000ull * 1000)

/* A replica stream from master 1 in term 5, with its first ACK already taken at @p now. */
static void
make(struct tern_rstream *r, uint64_t next_vlsn, uint64_t now)
{
	struct tern_rstream_opts o = {.credit = 64, .nak_ns = 1 * MS, .ack_ns = 2 * MS};
	uint64_t rec, dur;
	uint32_t credit;

	tern_rstream_init(r, &o, 1, 5, next_vlsn, next_vlsn - 1);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(r, now, &rec, &dur, &credit));
	UT_EQ_INT(rec, next_vlsn - 1);
	UT_EQ_INT(dur, next_vlsn - 1);
	UT_EQ_INT(credit, 64);
}

static void
rstream_new_stream_acks_its_position_once(void)
{
	struct tern_rstream r;
	uint64_t rec, dur;
	uint32_t credit;

	tern_rstream_init(&r, NULL, 1, 5, 11, 7);
	UT_EQ_INT(r.credit, 4096);
	UT_EQ_INT(r.nak_ns, 1 * MS);
	UT_EQ_INT(r.ack_ns, 2 * MS);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, 0, &rec, &dur, &credit));
	UT_EQ_INT(rec, 10);
	UT_EQ_INT(dur, 7);
	UT_EQ_INT(credit, 4096);
	/* Nothing changed since: no ACK, however long it stays quiet. */
	CU_ASSERT(!tern_rstream_ack_due(&r, 0, &rec, &dur, &credit));
	CU_ASSERT(!tern_rstream_ack_due(&r, 1000 * MS, &rec, &dur, &credit));
	UT_EQ_INT(r.stats.acks, 1);
}

static void
rstream_accepts_entries_in_order(void)
{
	struct tern_rstream r;
	uint64_t rec, dur;
	uint32_t credit;

	make(&r, 1, 0);
	UT_EQ_INT(tern_rstream_on_entries(&r, 1, 3, 2, 10), 1);
	tern_rstream_appended(&r, 3);
	UT_EQ_INT(r.next_vlsn, 4);
	UT_EQ_INT(r.commit_vlsn, 2);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, 10, &rec, &dur, &credit));
	UT_EQ_INT(rec, 3);
	UT_EQ_INT(dur, 0);
	CU_ASSERT(!tern_rstream_ack_due(&r, 11, &rec, &dur, &credit));
	/* Durable moving alone makes an ACK due. */
	tern_rstream_durable(&r, 3);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, 12, &rec, &dur, &credit));
	UT_EQ_INT(rec, 3);
	UT_EQ_INT(dur, 3);
	UT_EQ_INT(tern_rstream_on_entries(&r, 4, 4, 3, 13), 4);
	tern_rstream_appended(&r, 4);
	UT_EQ_INT(r.stats.entries, 4);
	UT_EQ_INT(r.stats.duplicates, 0);
	UT_EQ_INT(r.stats.gaps, 0);
	/* Malformed ranges append nothing. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 7, 6, 3, 13), 0);
	UT_EQ_INT(tern_rstream_on_entries(&r, 0, 6, 3, 13), 0);
	UT_EQ_INT(r.next_vlsn, 5);
}

static void
rstream_duplicates_are_skipped_and_acked(void)
{
	struct tern_rstream r;
	uint64_t rec, dur, a, b;
	uint32_t credit;

	make(&r, 4, 0);
	/* 2..6: 2 and 3 are duplicates, new entries start at 4. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 2, 6, 0, 1), 4);
	UT_EQ_INT(r.stats.duplicates, 2);
	UT_EQ_INT(r.stats.entries, 3);
	tern_rstream_appended(&r, 6);
	CU_ASSERT(tern_rstream_ack_due(&r, 1, &rec, &dur, &credit));
	UT_EQ_INT(rec, 6);
	/* All duplicates: nothing to append, but the feeder must hear where we are. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 1, 6, 0, 2), 0);
	UT_EQ_INT(r.stats.duplicates, 8);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, 2, &rec, &dur, &credit));
	UT_EQ_INT(rec, 6);
	CU_ASSERT(!tern_rstream_ack_due(&r, 3, &rec, &dur, &credit));
	CU_ASSERT(!tern_rstream_nak_due(&r, 3, &a, &b));
}

/* The next timer names the ACK resend while behind and the NAK resend while a gap is open. */
static void
rstream_next_timer_names_ack_and_nak_resends(void)
{
	struct tern_rstream r;
	uint64_t rec, dur, a, b, t = 100 * MS;
	uint32_t credit;

	make(&r, 1, t);
	UT_EQ_INT(tern_rstream_next_timer(&r), UINT64_MAX); /* caught up: nothing to resend */
	tern_rstream_want_ack(&r);
	UT_EQ_INT(tern_rstream_next_timer(&r), 0);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t, &rec, &dur, &credit));
	/* A frame past a gap: behind, with a NAK due at once and then after nak_ns. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 5, 9, 0, t), 0);
	UT_EQ_INT(tern_rstream_next_timer(&r), 0);
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t, &a, &b));
	(void)tern_rstream_ack_due(&r, t, &rec, &dur, &credit);
	UT_EQ_INT(tern_rstream_next_timer(&r), t + 1 * MS);
	CU_ASSERT(!tern_rstream_nak_due(&r, t + 1 * MS - 1, &a, &b));
	CU_ASSERT(tern_rstream_nak_due(&r, t + 1 * MS, &a, &b));
	/* Now the ACK resend (ack_ns = 2 ms after the last ACK) comes first. */
	UT_EQ_INT(tern_rstream_next_timer(&r), t + 2 * MS);
	/* Filled: nothing left to time. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 1, 9, 0, t + 3 * MS), 1);
	tern_rstream_appended(&r, 9);
	tern_rstream_durable(&r, 9);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t + 3 * MS, &rec, &dur, &credit));
	UT_EQ_INT(tern_rstream_next_timer(&r), UINT64_MAX);
}

static void
rstream_gap_naks_exactly_the_missing_range(void)
{
	struct tern_rstream r;
	uint64_t a = 0, b = 0;

	make(&r, 4, 0);
	CU_ASSERT(!tern_rstream_nak_due(&r, 0, &a, &b));
	UT_EQ_INT(tern_rstream_on_entries(&r, 7, 9, 0, 100), 0);
	UT_EQ_INT(r.stats.gaps, 1);
	UT_EQ_INT(r.next_vlsn, 4);
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, 100, &a, &b));
	UT_EQ_INT(a, 4);
	UT_EQ_INT(b, 6);
	UT_EQ_INT(r.stats.naks, 1);
	CU_ASSERT(!tern_rstream_nak_due(&r, 100, &a, &b));
}

static void
rstream_nak_is_rate_limited_per_gap(void)
{
	struct tern_rstream r;
	uint64_t a = 0, b = 0, t = 10 * MS;

	make(&r, 4, 0);
	tern_rstream_on_entries(&r, 7, 9, 0, t);
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t, &a, &b));
	/* More frames past the same hole: the gap grows, its NAK waits for nak_ns. */
	tern_rstream_on_entries(&r, 10, 12, 0, t + 10);
	tern_rstream_on_entries(&r, 13, 13, 0, t + 20);
	UT_EQ_INT(r.stats.gaps, 3);
	CU_ASSERT(!tern_rstream_nak_due(&r, t + 1 * MS - 1, &a, &b));
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t + 1 * MS, &a, &b));
	UT_EQ_INT(a, 4);
	UT_EQ_INT(b, 12);
	t += 1 * MS;
	/* The resend starts filling the gap: that is progress, no NAK while it lasts. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 4, 6, 0, t + 500 * US), 4);
	tern_rstream_appended(&r, 6);
	CU_ASSERT(!tern_rstream_nak_due(&r, t + 1 * MS, &a, &b));
	/* It stalls: after nak_ns the rest of the gap is NAKed again. */
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t + 1500 * US, &a, &b));
	UT_EQ_INT(a, 7);
	UT_EQ_INT(b, 12);
	UT_EQ_INT(r.stats.naks, 3);
}

static void
rstream_new_gap_naks_at_once(void)
{
	struct tern_rstream r;
	uint64_t a = 0, b = 0, t = 10 * MS;

	make(&r, 4, 0);
	tern_rstream_on_entries(&r, 6, 6, 0, t);
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t, &a, &b));
	UT_EQ_INT(a, 4);
	UT_EQ_INT(b, 5);
	/* The hole fills... */
	UT_EQ_INT(tern_rstream_on_entries(&r, 4, 5, 0, t + 1), 4);
	tern_rstream_appended(&r, 5);
	CU_ASSERT(!tern_rstream_nak_due(&r, t + 2 * MS, &a, &b));
	/* ...and a later hole is a new gap, NAKed without waiting. */
	tern_rstream_on_entries(&r, 9, 9, 0, t + 2);
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t + 2, &a, &b));
	UT_EQ_INT(a, 6);
	UT_EQ_INT(b, 8);
	UT_EQ_INT(r.stats.naks, 2);
}

static void
rstream_heartbeat_tail_gap_is_naked_without_progress(void)
{
	struct tern_rstream r;
	uint64_t a = 0, b = 0, t = 10 * MS;

	make(&r, 4, 0);
	/* The master is at 3 too: no gap. */
	tern_rstream_on_heartbeat(&r, 2, 3, t);
	CU_ASSERT(!tern_rstream_nak_due(&r, t + 10 * MS, &a, &b));
	UT_EQ_INT(r.commit_vlsn, 2);
	/* The master has 4..8 and nothing of it arrives (a lost tail). */
	tern_rstream_on_heartbeat(&r, 3, 8, t);
	CU_ASSERT(!tern_rstream_nak_due(&r, t, &a, &b)); /* may still be on its way */
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t + 1 * MS, &a, &b));
	UT_EQ_INT(a, 4);
	UT_EQ_INT(b, 8);
	/* A commit VLSN never goes back. */
	tern_rstream_on_heartbeat(&r, 1, 8, t);
	UT_EQ_INT(r.commit_vlsn, 3);
}

static void
rstream_verdicts_fence_terms_and_senders(void)
{
	struct tern_rstream r;

	make(&r, 1, 0);
	UT_EQ_INT(tern_rstream_check(&r, 1, 5), TERN_RSTREAM_ACCEPT);
	UT_EQ_INT(tern_rstream_check(&r, 1, 4), TERN_RSTREAM_STALE_TERM);
	UT_EQ_INT(tern_rstream_check(&r, 3, 4), TERN_RSTREAM_STALE_TERM);
	UT_EQ_INT(tern_rstream_check(&r, 3, 5), TERN_RSTREAM_NOT_MASTER);
	UT_EQ_INT(tern_rstream_check(&r, 3, 6), TERN_RSTREAM_NEW_TERM);
	UT_EQ_INT(tern_rstream_check(&r, 1, 6), TERN_RSTREAM_NEW_TERM);
	UT_EQ_INT(r.stats.stale, 2);
	UT_EQ_INT(r.stats.not_master, 1);
}

static void
rstream_ack_due_when_asked(void)
{
	struct tern_rstream r;
	uint64_t rec, dur;
	uint32_t credit;

	make(&r, 8, 0);
	CU_ASSERT(!tern_rstream_ack_due(&r, 1, &rec, &dur, &credit));
	tern_rstream_want_ack(&r);
	CU_ASSERT(r.ack_wanted);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, 1, &rec, &dur, &credit));
	UT_EQ_INT(rec, 7);
	CU_ASSERT(!r.ack_wanted);
	CU_ASSERT(!tern_rstream_ack_due(&r, 2, &rec, &dur, &credit));
	UT_EQ_INT(r.stats.acks, 2);
}

static void
rstream_ack_resent_while_behind_the_master(void)
{
	struct tern_rstream r;
	uint64_t rec, dur, t = 100 * MS;
	uint32_t credit;

	make(&r, 1, t);
	tern_rstream_on_heartbeat(&r, 5, 10, t);
	/* A heartbeat is answered at once (JE's heartbeat response)... */
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t, &rec, &dur, &credit));
	UT_EQ_INT(rec, 0);
	/* ...and while behind, the ACK is repeated every ack_ns. */
	CU_ASSERT(!tern_rstream_ack_due(&r, t + 2 * MS - 1, &rec, &dur, &credit));
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t + 2 * MS, &rec, &dur, &credit));
	UT_EQ_INT(rec, 0);
	CU_ASSERT(!tern_rstream_ack_due(&r, t + 3 * MS, &rec, &dur, &credit));
	CU_ASSERT(tern_rstream_ack_due(&r, t + 4 * MS, &rec, &dur, &credit));
	/* Caught up: an ACK for the move, then silence. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 1, 10, 5, t + 5 * MS), 1);
	tern_rstream_appended(&r, 10);
	tern_rstream_durable(&r, 10);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t + 5 * MS, &rec, &dur, &credit));
	UT_EQ_INT(rec, 10);
	UT_EQ_INT(dur, 10);
	CU_ASSERT(!tern_rstream_ack_due(&r, t + 100 * MS, &rec, &dur, &credit));
	/* Behind the master's commit VLSN counts too. */
	UT_EQ_INT(tern_rstream_on_entries(&r, 12, 12, 11, t + 100 * MS), 0);
	CU_ASSERT(tern_rstream_ack_due(&r, t + 102 * MS, &rec, &dur, &credit));
}

/*
 * While the replica holds entries its log cannot take, what follows them is not missing:
 * no NAK, even for a gap a heartbeat opened; its ACKs say credit 0, at once and every
 * ack_ns; when the hold ends an ACK restores the credit and the gap waits nak_ns again.
 */
static void
rstream_hold_suspends_naks_and_acks_credit_0(void)
{
	struct tern_rstream r;
	uint64_t rec, dur, a, b, t = 10 * MS;
	uint32_t credit;

	make(&r, 1, t);
	UT_EQ_INT(tern_rstream_on_entries(&r, 1, 4, 0, t), 1);
	tern_rstream_appended(&r, 2); /* the log took 1..2; 3..4 are held */
	tern_rstream_hold(&r, true, t);
	tern_rstream_on_heartbeat(&r, 0, 9, t); /* a gap 3..9 opens */
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t, &rec, &dur, &credit));
	UT_EQ_INT(rec, 2);
	UT_EQ_INT(credit, 0);
	CU_ASSERT(!tern_rstream_ack_due(&r, t + 2 * MS - 1, &rec, &dur, &credit));
	CU_ASSERT(!tern_rstream_nak_due(&r, t + 50 * MS, &a, &b));
	/* The next timer is the ACK repeat, never an overdue NAK. */
	UT_EQ_INT(tern_rstream_next_timer(&r), t + 2 * MS);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t + 50 * MS, &rec, &dur, &credit));
	UT_EQ_INT(credit, 0);
	UT_EQ_INT(r.stats.naks, 0);
	/* The log took them: credit back at once, and the rest of the gap waits nak_ns. */
	tern_rstream_appended(&r, 4);
	tern_rstream_hold(&r, false, t + 60 * MS);
	TERN_CU_ASSERT_FATAL(tern_rstream_ack_due(&r, t + 60 * MS, &rec, &dur, &credit));
	UT_EQ_INT(rec, 4);
	UT_EQ_INT(credit, 64);
	CU_ASSERT(!tern_rstream_nak_due(&r, t + 61 * MS - 1, &a, &b));
	TERN_CU_ASSERT_FATAL(tern_rstream_nak_due(&r, t + 61 * MS, &a, &b));
	UT_EQ_INT(a, 5);
	UT_EQ_INT(b, 9);
}

/*
 * A feeder and a replica stream connected through a network that loses, duplicates,
 * delays and reorders messages, in virtual time: VLSNs 1..N reach the replica's log in
 * order, each appended once, and the feeder and the ack tracker learn it.
 */
enum msg_type { M_ENTRIES, M_HEARTBEAT, M_ACK, M_NAK };

struct msg {
	enum msg_type type;
	uint64_t at;
	uint64_t a, b, c; /* first/received, last/durable, commit */
	uint32_t credit;
};

#define NET_MAX 4096

struct net {
	struct tern_prng *prng;
	double loss, dup;
	uint64_t delay_ns, jitter_ns;
	unsigned int n;
	struct msg q[NET_MAX];
	uint64_t lost;
};

static void
net_send(struct net *net, uint64_t now, const struct msg *m)
{
	int copies = tern_prng_chance(net->prng, net->dup) ? 2 : 1;

	while (copies-- > 0) {
		if (net->n == NET_MAX || tern_prng_chance(net->prng, net->loss)) {
			net->lost++;
			continue;
		}
		net->q[net->n] = *m;
		net->q[net->n].at =
			now + net->delay_ns + tern_prng_below(net->prng, net->jitter_ns + 1);
		net->n++;
	}
}

/* The earliest message due by @p now, removed from the network. */
static bool
net_recv(struct net *net, uint64_t now, struct msg *out)
{
	unsigned int i, best = NET_MAX;

	for (i = 0; i < net->n; i++)
		if (net->q[i].at <= now && (best == NET_MAX || net->q[i].at < net->q[best].at))
			best = i;
	if (best == NET_MAX)
		return false;
	*out = net->q[best];
	net->q[best] = net->q[--net->n];
	return true;
}

struct run {
	struct tern_prng prng;
	struct net to_replica, to_master;
	struct tern_feeder f;
	struct tern_ack ack;
	struct tern_rstream r;
	uint64_t master_last, log_last, n;
	unsigned char *appended; /* times each VLSN was appended */
	bool failed;
};

static void
replica_polls(struct run *x, uint64_t now)
{
	struct msg m = {0};

	if (tern_rstream_ack_due(&x->r, now, &m.a, &m.b, &m.credit)) {
		m.type = M_ACK;
		net_send(&x->to_master, now, &m);
	}
	if (tern_rstream_nak_due(&x->r, now, &m.a, &m.b)) {
		m.type = M_NAK;
		net_send(&x->to_master, now, &m);
	}
}

static void
replica_recv(struct run *x, const struct msg *m, uint64_t now)
{
	uint64_t from, v;

	if (tern_rstream_check(&x->r, 1, 5) != TERN_RSTREAM_ACCEPT) {
		x->failed = true;
		return;
	}
	if (m->type == M_HEARTBEAT) {
		tern_rstream_on_heartbeat(&x->r, m->c, m->b, now);
		return;
	}
	from = tern_rstream_on_entries(&x->r, m->a, m->b, m->c, now);
	if (from == 0)
		return;
	for (v = from; v <= m->b; v++) {
		if (v != x->log_last + 1 || x->appended[v] != 0)
			x->failed = true;
		x->appended[v]++;
		x->log_last = v;
	}
	tern_rstream_appended(&x->r, m->b);
}

static void
master_recv(struct run *x, const struct msg *m, uint64_t now)
{
	if (m->type == M_NAK) {
		tern_feeder_on_nak(&x->f, m->a, m->b, now);
		return;
	}
	/* The replica's first ACK tells the feeder where to start. */
	if (!x->f.started)
		tern_feeder_start(&x->f, m->a + 1, now);
	tern_feeder_on_ack(&x->f, m->a, m->b, m->credit, now);
	if (tern_ack_record(&x->ack, 2, m->a, m->b) != 0)
		x->failed = true;
}

static void
master_sends(struct run *x, uint64_t now)
{
	struct msg m = {0};
	uint64_t first, last, commit, limit;
	int frames;

	commit = tern_ack_vlsn(&x->ack, TERN_ACK_SIMPLE_MAJORITY, true);
	if (tern_feeder_heartbeat_due(&x->f, now)) {
		m.type = M_HEARTBEAT;
		m.b = x->master_last;
		m.c = commit;
		net_send(&x->to_replica, now, &m);
		tern_feeder_heartbeat_sent(&x->f, now);
	}
	for (frames = 0; frames < 4; frames++) {
		if (!tern_feeder_next(&x->f, x->master_last, now, &first, &last))
			break;
		/* Send a prefix of what the window allows, in frames of up to 8 entries. */
		last = first + tern_prng_below(&x->prng, TERN_MIN(last - first + 1, 8));
		m.type = M_ENTRIES;
		m.a = first;
		m.b = last;
		m.c = commit;
		net_send(&x->to_replica, now, &m);
		tern_feeder_sent(&x->f, last, now);
		limit = TERN_MIN(x->f.window, x->f.credit);
		if (tern_feeder_in_flight(&x->f) > limit)
			x->failed = true;
	}
}

/* What the runs went through, summed: every recovery path must have been taken. */
static struct {
	uint64_t naks, timeouts, resent, stalls, duplicates, gaps, lost, ns;
} totals;

static bool
run_one(uint64_t seed, uint64_t n)
{
	static const uint32_t windows[] = {3, 16, 64, 4096};
	static const uint32_t credits[] = {2, 8, 100, 4096};
	static const uint16_t group[] = {1, 2, 3};
	struct tern_feeder_opts fo = {.rto_ns = 5 * MS, .heartbeat_ns = 50 * MS};
	struct tern_rstream_opts ro = {.nak_ns = 1 * MS, .ack_ns = 2 * MS};
	const uint64_t step = 20 * US, deadline = 60000 * MS;
	struct run *x = calloc(1, sizeof(*x));
	uint64_t now = 0, v;
	struct msg m;
	bool ok;

	TERN_CU_ASSERT_FATAL(x != NULL);
	x->appended = calloc(n + 2, 1);
	TERN_CU_ASSERT_FATAL(x->appended != NULL);
	x->n = n;
	tern_prng_init(&x->prng, seed);
	x->to_replica.prng = x->to_master.prng = &x->prng;
	x->to_replica.loss = x->to_master.loss = (double)tern_prng_below(&x->prng, 30) / 100;
	x->to_replica.dup = x->to_master.dup = (double)tern_prng_below(&x->prng, 20) / 100;
	x->to_replica.delay_ns = x->to_master.delay_ns =
		10 * US + tern_prng_below(&x->prng, 90 * US);
	x->to_replica.jitter_ns = x->to_master.jitter_ns = tern_prng_below(&x->prng, 500 * US);
	fo.window = windows[tern_prng_below(&x->prng, 4)];
	ro.credit = credits[tern_prng_below(&x->prng, 4)];
	tern_feeder_init(&x->f, 2, &fo, 0);
	TERN_CU_ASSERT_FATAL(tern_ack_init(&x->ack, 1, group, 3) == 0);
	tern_rstream_init(&x->r, &ro, 1, 5, 1, 0);

	while (!x->failed && now < deadline &&
	       (x->log_last < n || x->f.durable_vlsn < n || x->to_replica.n > 0)) {
		x->master_last += tern_prng_below(&x->prng, 4); /* commits arrive */
		x->master_last = TERN_MIN(x->master_last, n);
		while (net_recv(&x->to_replica, now, &m))
			replica_recv(x, &m, now);
		if (tern_prng_chance(&x->prng, 0.3))
			tern_rstream_durable(&x->r, x->log_last);
		replica_polls(x, now);
		while (net_recv(&x->to_master, now, &m))
			master_recv(x, &m, now);
		master_sends(x, now);
		/* The tracker and the feeder agree on what is durable. */
		if (tern_ack_vlsn(&x->ack, TERN_ACK_SIMPLE_MAJORITY, true) != x->f.durable_vlsn &&
		    x->f.started)
			x->failed = true;
		now += step;
	}
	ok = !x->failed && x->log_last == n && x->f.durable_vlsn == n;
	for (v = 1; v <= n; v++)
		ok = ok && x->appended[v] == 1;
	if (!ok)
		ut_note("seed %llu: log %llu feeder durable %llu at %llu ns (window %u credit %u)",
			(unsigned long long)seed, (unsigned long long)x->log_last,
			(unsigned long long)x->f.durable_vlsn, (unsigned long long)now, x->f.window,
			x->r.credit);
	totals.naks += x->f.stats.naks;
	totals.timeouts += x->f.stats.timeouts;
	totals.resent += x->f.stats.resent;
	totals.stalls += x->f.stats.credit_stalls;
	totals.duplicates += x->r.stats.duplicates;
	totals.gaps += x->r.stats.gaps;
	totals.lost += x->to_replica.lost + x->to_master.lost;
	totals.ns += now;
	free(x->appended);
	free(x);
	return ok;
}

static void
feed_delivers_every_vlsn_once_in_order_over_a_lossy_network(void)
{
	uint64_t seeds = ut_seeds(200), seed, failed = 0;

	for (seed = 1; seed <= seeds; seed++)
		failed += !run_one(seed, 300);
	UT_EQ_INT(failed, 0);
	if (seeds >= 50) {
		CU_ASSERT(totals.naks > 0 && totals.timeouts > 0 && totals.resent > 0);
		CU_ASSERT(totals.stalls > 0 && totals.duplicates > 0 && totals.gaps > 0);
		CU_ASSERT(totals.lost > 0);
	}
	if (getenv("TERN_UT_VERBOSE") != NULL)
		ut_note("%llu seeds: naks %llu timeouts %llu resent %llu stalls %llu dups %llu "
			"gaps %llu lost %llu, %llu ms virtual",
			(unsigned long long)seeds, (unsigned long long)totals.naks,
			(unsigned long long)totals.timeouts, (unsigned long long)totals.resent,
			(unsigned long long)totals.stalls, (unsigned long long)totals.duplicates,
			(unsigned long long)totals.gaps, (unsigned long long)totals.lost,
			(unsigned long long)(totals.ns / MS));
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("rstream", NULL, NULL);
	CU_ADD_TEST(s, rstream_new_stream_acks_its_position_once);
	CU_ADD_TEST(s, rstream_accepts_entries_in_order);
	CU_ADD_TEST(s, rstream_duplicates_are_skipped_and_acked);
	CU_ADD_TEST(s, rstream_gap_naks_exactly_the_missing_range);
	CU_ADD_TEST(s, rstream_next_timer_names_ack_and_nak_resends);
	CU_ADD_TEST(s, rstream_nak_is_rate_limited_per_gap);
	CU_ADD_TEST(s, rstream_new_gap_naks_at_once);
	CU_ADD_TEST(s, rstream_heartbeat_tail_gap_is_naked_without_progress);
	CU_ADD_TEST(s, rstream_verdicts_fence_terms_and_senders);
	CU_ADD_TEST(s, rstream_ack_due_when_asked);
	CU_ADD_TEST(s, rstream_ack_resent_while_behind_the_master);
	CU_ADD_TEST(s, rstream_hold_suspends_naks_and_acks_credit_0);
	s = CU_add_suite("feed", NULL, NULL);
	CU_ADD_TEST(s, feed_delivers_every_vlsn_once_in_order_over_a_lossy_network);
	return tern_ut_run(argc, argv);
}
