/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>

#include <tern_feed.h>

#include "ut.h"

#define MS (1000ull * 1000)

static void
make(struct tern_feeder *f, uint32_t window, uint64_t rto_ns)
{
	struct tern_feeder_opts o = {.window = window, .rto_ns = rto_ns};

	tern_feeder_init(f, 2, &o, 0);
	tern_feeder_start(f, 1, 0);
}

static void
feeder_defaults_and_nothing_sent_before_start(void)
{
	struct tern_feeder f;
	uint64_t a = 0, b = 0;

	tern_feeder_init(&f, 3, NULL, 0);
	UT_EQ_INT(f.window, 4096);
	UT_EQ_INT(f.credit, 4096);
	UT_EQ_INT(f.rto_ns, 5 * MS);
	UT_EQ_INT(f.heartbeat_ns, 50 * MS);
	CU_ASSERT(!f.started);
	CU_ASSERT(!tern_feeder_next(&f, 100, 0, &a, &b));
	CU_ASSERT(!tern_feeder_on_nak(&f, 1, 5, 0));
	UT_EQ_INT(tern_feeder_in_flight(&f), 0);
	/* After syncup the replica has everything below the matchpoint + 1. */
	tern_feeder_start(&f, 11, 0);
	UT_EQ_INT(f.received_vlsn, 10);
	UT_EQ_INT(f.durable_vlsn, 10);
	UT_EQ_INT(tern_feeder_in_flight(&f), 0);
	CU_ASSERT(tern_feeder_next(&f, 100, 0, &a, &b));
	UT_EQ_INT(a, 11);
	UT_EQ_INT(b, 100);
}

static void
feeder_window_bounds_entries_in_flight(void)
{
	struct tern_feeder f;
	uint64_t a, b;

	make(&f, 8, 1000);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 100, 0, &a, &b));
	UT_EQ_INT(a, 1);
	UT_EQ_INT(b, 8);
	tern_feeder_sent(&f, 8, 0);
	UT_EQ_INT(tern_feeder_in_flight(&f), 8);
	CU_ASSERT(!tern_feeder_next(&f, 100, 1, &a, &b));
	UT_EQ_INT(f.stats.credit_stalls, 1);
	/* An ACK of 3 opens 3 slots; the caller sends a prefix of them. */
	CU_ASSERT(tern_feeder_on_ack(&f, 3, 0, 1000, 2));
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 100, 2, &a, &b));
	UT_EQ_INT(a, 9);
	UT_EQ_INT(b, 11);
	tern_feeder_sent(&f, 10, 2);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 100, 2, &a, &b));
	UT_EQ_INT(a, 11);
	UT_EQ_INT(b, 11);
	/* The master's last VLSN bounds it too. */
	CU_ASSERT(tern_feeder_on_ack(&f, 10, 0, 1000, 3));
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 12, 3, &a, &b));
	UT_EQ_INT(a, 11);
	UT_EQ_INT(b, 12);
	tern_feeder_sent(&f, 12, 3);
	CU_ASSERT(!tern_feeder_next(&f, 12, 3, &a, &b));
	UT_EQ_INT(f.stats.credit_stalls, 1); /* nothing to send is not a stall */
	UT_EQ_INT(f.stats.entries_sent, 12);
	UT_EQ_INT(f.stats.resent, 0);
}

static void
feeder_replica_credit_bounds_entries_in_flight(void)
{
	struct tern_feeder f;
	uint64_t a, b;

	make(&f, 100, 1000);
	tern_feeder_on_ack(&f, 0, 0, 4, 0);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 1000, 0, &a, &b));
	UT_EQ_INT(b - a + 1, 4);
	tern_feeder_sent(&f, b, 0);
	CU_ASSERT(!tern_feeder_next(&f, 1000, 0, &a, &b));
	/* Credit counts from received: ACK 2 with credit 4 allows up to 6. */
	tern_feeder_on_ack(&f, 2, 2, 4, 1);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 1000, 1, &a, &b));
	UT_EQ_INT(a, 5);
	UT_EQ_INT(b, 6);
	/* Credit 0 stops the stream. */
	tern_feeder_on_ack(&f, 2, 2, 0, 2);
	CU_ASSERT(!tern_feeder_next(&f, 1000, 2, &a, &b));
}

static void
feeder_nak_goes_back_to_the_first_missing_vlsn(void)
{
	struct tern_feeder f;
	uint64_t a, b;

	make(&f, 100, 1000);
	tern_feeder_sent(&f, 10, 0);
	CU_ASSERT(tern_feeder_on_nak(&f, 4, 6, 1));
	UT_EQ_INT(f.next_vlsn, 4);
	UT_EQ_INT(f.stats.naks, 1);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 20, 1, &a, &b));
	UT_EQ_INT(a, 4);
	UT_EQ_INT(b, 20);
	tern_feeder_sent(&f, 20, 1);
	UT_EQ_INT(f.stats.entries_sent, 27);
	UT_EQ_INT(f.stats.resent, 7); /* 4..10 */
	UT_EQ_INT(f.high_vlsn, 20);
	/* A NAK beyond what was sent, or inverted, rewinds nothing. */
	CU_ASSERT(!tern_feeder_on_nak(&f, 21, 30, 2));
	CU_ASSERT(!tern_feeder_on_nak(&f, 9, 5, 2));
	UT_EQ_INT(f.next_vlsn, 21);
	UT_EQ_INT(f.stats.naks, 1);
}

static void
feeder_nak_of_received_vlsns_is_ignored(void)
{
	struct tern_feeder f;

	make(&f, 100, 1000);
	tern_feeder_sent(&f, 10, 0);
	tern_feeder_on_ack(&f, 5, 5, 100, 1);
	CU_ASSERT(!tern_feeder_on_nak(&f, 2, 5, 2)); /* all received already */
	UT_EQ_INT(f.next_vlsn, 11);
	/* Partly received: resend from received + 1. */
	CU_ASSERT(tern_feeder_on_nak(&f, 3, 8, 2));
	UT_EQ_INT(f.next_vlsn, 6);
	UT_EQ_INT(f.stats.naks, 1);
}

/*
 * A stale ACK (sent before the replica restarted, delivered after this stream restarted)
 * claims VLSNs the replica lacks: its NAKs are ignored while the ACK is fresh, then
 * believed once rto passed without progress, so the stream cannot stall for good.
 */
static void
feeder_nak_below_received_is_believed_after_rto_without_progress(void)
{
	struct tern_feeder f;
	uint64_t a, b;

	make(&f, 100, 1000);
	tern_feeder_sent(&f, 10, 0);
	tern_feeder_on_ack(&f, 10, 10, 100, 100); /* the stale ACK */
	CU_ASSERT(!tern_feeder_next(&f, 10, 200, &a, &b)); /* nothing in flight: no rto */
	CU_ASSERT(!tern_feeder_on_nak(&f, 4, 10, 500));
	UT_EQ_INT(f.received_vlsn, 10);
	/* The replica keeps asking: after rto without progress it is right. */
	TERN_CU_ASSERT_FATAL(tern_feeder_on_nak(&f, 4, 10, 1100));
	UT_EQ_INT(f.received_vlsn, 3);
	UT_EQ_INT(f.durable_vlsn, 3);
	UT_EQ_INT(f.next_vlsn, 4);
	UT_EQ_INT(f.stats.regressions, 1);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 10, 1100, &a, &b));
	UT_EQ_INT(a, 4);
	UT_EQ_INT(b, 10);
	/* The resent entries arrive: ACKs move received up again. */
	tern_feeder_sent(&f, 10, 1100);
	CU_ASSERT(tern_feeder_on_ack(&f, 10, 10, 100, 1200));
	UT_EQ_INT(f.received_vlsn, 10);
	UT_EQ_INT(tern_feeder_in_flight(&f), 0);
}

static void
feeder_rto_rewinds_only_without_progress_while_in_flight(void)
{
	struct tern_feeder f;
	uint64_t a, b;

	make(&f, 100, 1000);
	tern_feeder_sent(&f, 10, 0);
	CU_ASSERT(!tern_feeder_next(&f, 10, 999, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 0);
	/* An ACK at 500 is progress: the timer restarts there. */
	tern_feeder_on_ack(&f, 5, 5, 100, 500);
	CU_ASSERT(!tern_feeder_next(&f, 10, 1499, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 0);
	/* A durable-only or stale ACK is not progress. */
	tern_feeder_on_ack(&f, 5, 5, 100, 1400);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 10, 1500, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 1);
	UT_EQ_INT(a, 6);
	UT_EQ_INT(b, 10);
	/* Right after the rewind nothing is in flight: no second timeout. */
	CU_ASSERT(tern_feeder_next(&f, 10, 5000, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 1);
	tern_feeder_sent(&f, 10, 5000);
	tern_feeder_on_ack(&f, 10, 10, 100, 5100);
	/* Nothing in flight: however long it stays idle, no timeout. */
	CU_ASSERT(!tern_feeder_next(&f, 10, 100000, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 0 + 1);
	/* Sending after the idle spell starts the timer afresh. */
	tern_feeder_sent(&f, 12, 100000);
	CU_ASSERT(!tern_feeder_next(&f, 12, 100999, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 1);
	CU_ASSERT(tern_feeder_next(&f, 12, 101000, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 2);
	UT_EQ_INT(a, 11);
}

/* A replica that holds what is in flight says so with credit 0: no send, no timeout. */
static void
feeder_credit_0_ack_holds_the_stream_without_a_timeout(void)
{
	struct tern_feeder f;
	uint64_t a, b, t;

	make(&f, 100, 1000);
	tern_feeder_sent(&f, 10, 0);
	tern_feeder_on_ack(&f, 4, 4, 0, 600);
	/* Every 600 (less than rto) the replica repeats it: alive, holding. */
	for (t = 1200; t <= 6000; t += 600) {
		tern_feeder_on_ack(&f, 4, 4, 0, t);
		CU_ASSERT(!tern_feeder_next(&f, 20, t + 999, &a, &b));
	}
	UT_EQ_INT(f.stats.timeouts, 0);
	UT_EQ_INT(f.next_vlsn, 11);
	/*
	 * An older ACK's credit 0 says nothing of now: it is not progress (rewound, and still
	 * nothing sent against credit 0).
	 */
	tern_feeder_on_ack(&f, 3, 3, 0, 7000);
	CU_ASSERT(!tern_feeder_next(&f, 20, 7000, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 1);
	UT_EQ_INT(f.next_vlsn, 5);
	/* Credit back: the stream goes on. */
	tern_feeder_on_ack(&f, 10, 10, 64, 7100);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 20, 7100, &a, &b));
	UT_EQ_INT(a, 11); /* past what the ACK covers */
	UT_EQ_INT(b, 20);
}

static void
feeder_ack_past_next_moves_the_stream_on(void)
{
	struct tern_feeder f;
	uint64_t a, b;

	make(&f, 100, 1000);
	tern_feeder_sent(&f, 5, 0);
	CU_ASSERT(tern_feeder_on_nak(&f, 2, 2, 1));
	UT_EQ_INT(f.next_vlsn, 2);
	/* The originals got through after all. */
	CU_ASSERT(tern_feeder_on_ack(&f, 4, 1, 100, 2));
	UT_EQ_INT(f.next_vlsn, 5);
	CU_ASSERT(tern_feeder_on_ack(&f, 7, 1, 100, 3));
	UT_EQ_INT(f.next_vlsn, 8);
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 9, 3, &a, &b));
	UT_EQ_INT(a, 8);
	UT_EQ_INT(tern_feeder_in_flight(&f), 0);
}

static void
feeder_reordered_ack_moves_nothing(void)
{
	struct tern_feeder f;

	make(&f, 100, 1000);
	tern_feeder_sent(&f, 20, 0);
	CU_ASSERT(tern_feeder_on_ack(&f, 10, 8, 50, 1));
	CU_ASSERT(!tern_feeder_on_ack(&f, 6, 6, 7, 2));
	UT_EQ_INT(f.received_vlsn, 10);
	UT_EQ_INT(f.durable_vlsn, 8);
	UT_EQ_INT(f.credit, 50); /* the old ACK's credit is old too */
	UT_EQ_INT(f.stats.acks, 2);
	UT_EQ_INT(f.stats.stale_acks, 1);
	UT_EQ_INT(f.ack_ns_last, 2);
	/* Durable alone moving counts as a move; the same received takes the new credit. */
	CU_ASSERT(tern_feeder_on_ack(&f, 10, 10, 30, 3));
	UT_EQ_INT(f.credit, 30);
	UT_EQ_INT(f.stats.stale_acks, 1);
}

static void
feeder_heartbeats_are_paced(void)
{
	struct tern_feeder f;
	struct tern_feeder_opts o = {.heartbeat_ns = 50 * MS};

	tern_feeder_init(&f, 2, &o, 7 * MS);
	CU_ASSERT(tern_feeder_heartbeat_due(&f, 7 * MS)); /* never sent */
	tern_feeder_heartbeat_sent(&f, 7 * MS);
	CU_ASSERT(!tern_feeder_heartbeat_due(&f, 7 * MS));
	CU_ASSERT(!tern_feeder_heartbeat_due(&f, 57 * MS - 1));
	CU_ASSERT(tern_feeder_heartbeat_due(&f, 57 * MS));
	tern_feeder_heartbeat_sent(&f, 60 * MS);
	CU_ASSERT(!tern_feeder_heartbeat_due(&f, 109 * MS));
	CU_ASSERT(tern_feeder_heartbeat_due(&f, 110 * MS));
	UT_EQ_INT(f.stats.heartbeats, 2);
	/* A clock that went backwards makes nothing due. */
	CU_ASSERT(!tern_feeder_heartbeat_due(&f, 1 * MS));
}

/* The next timer is the heartbeat, or the retransmit timeout while entries are in flight. */
static void
feeder_next_timer_is_the_heartbeat_or_the_rto(void)
{
	struct tern_feeder f;
	struct tern_feeder_opts o = {.heartbeat_ns = 50 * MS, .rto_ns = 5 * MS, .window = 100};
	uint64_t a, b;

	tern_feeder_init(&f, 2, &o, 0);
	UT_EQ_INT(tern_feeder_next_timer(&f), 0); /* the first heartbeat is due now */
	tern_feeder_heartbeat_sent(&f, 10 * MS);
	UT_EQ_INT(tern_feeder_next_timer(&f), 60 * MS);
	tern_feeder_start(&f, 1, 10 * MS);
	UT_EQ_INT(tern_feeder_next_timer(&f), 60 * MS); /* nothing in flight */
	TERN_CU_ASSERT_FATAL(tern_feeder_next(&f, 8, 12 * MS, &a, &b));
	tern_feeder_sent(&f, 8, 12 * MS);
	UT_EQ_INT(tern_feeder_next_timer(&f), 17 * MS);
	/* Every timer it names is one tern_feeder_next() acts on. */
	CU_ASSERT(!tern_feeder_next(&f, 8, 17 * MS - 1, &a, &b));
	CU_ASSERT(tern_feeder_next(&f, 8, 17 * MS, &a, &b));
	UT_EQ_INT(f.stats.timeouts, 1);
	tern_feeder_sent(&f, 8, 17 * MS);
	tern_feeder_on_ack(&f, 8, 8, 100, 18 * MS);
	UT_EQ_INT(tern_feeder_next_timer(&f), 60 * MS);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("feeder", NULL, NULL);
	CU_ADD_TEST(s, feeder_defaults_and_nothing_sent_before_start);
	CU_ADD_TEST(s, feeder_window_bounds_entries_in_flight);
	CU_ADD_TEST(s, feeder_replica_credit_bounds_entries_in_flight);
	CU_ADD_TEST(s, feeder_nak_goes_back_to_the_first_missing_vlsn);
	CU_ADD_TEST(s, feeder_nak_of_received_vlsns_is_ignored);
	CU_ADD_TEST(s, feeder_nak_below_received_is_believed_after_rto_without_progress);
	CU_ADD_TEST(s, feeder_rto_rewinds_only_without_progress_while_in_flight);
	CU_ADD_TEST(s, feeder_ack_past_next_moves_the_stream_on);
	CU_ADD_TEST(s, feeder_reordered_ack_moves_nothing);
	CU_ADD_TEST(s, feeder_heartbeats_are_paced);
	CU_ADD_TEST(s, feeder_next_timer_is_the_heartbeat_or_the_rto);
	CU_ADD_TEST(s, feeder_credit_0_ack_holds_the_stream_without_a_timeout);
	return tern_ut_run(argc, argv);
}
