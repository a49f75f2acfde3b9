/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <tern_feed.h>
#include <tern_prng.h>

#include "ut.h"

/* Members 1..n with the master @p self among them. */
static void
init_group(struct tern_ack *a, unsigned int n, uint16_t self)
{
	uint16_t ids[TERN_ACK_NODES_MAX];
	unsigned int i;

	for (i = 0; i < n; i++)
		ids[i] = (uint16_t)(i + 1);
	TERN_CU_ASSERT_FATAL(tern_ack_init(a, self, ids, n) == 0);
}

static int
cmp_desc(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? 1 : a > b ? -1 : 0;
}

/* The k-th highest by sorting: what tern_ack_vlsn must agree with. */
static uint64_t
ref_kth(const uint64_t *v, unsigned int n, unsigned int k)
{
	uint64_t s[TERN_ACK_NODES_MAX];
	unsigned int i;

	if (k == 0)
		return UINT64_MAX;
	for (i = 0; i < n; i++)
		s[i] = v[i];
	qsort(s, n, sizeof(s[0]), cmp_desc);
	return s[k - 1];
}

static void
ack_needed_counts_the_master_in_a_simple_majority(void)
{
	/* 1 electable node (the master alone) needs no replica; 3 need 1, 4 and 5 need 2. */
	static const unsigned int majority[8] = {0, 0, 1, 1, 2, 2, 3, 3};
	struct tern_ack a;
	uint16_t others[TERN_ACK_NODES_MAX];
	unsigned int n, i;

	for (n = 1; n <= 7; n++) {
		init_group(&a, n, 1);
		UT_EQ_INT(a.n_electable, n);
		UT_EQ_INT(a.n_replicas, n - 1);
		UT_EQ_INT(tern_ack_needed(&a, TERN_ACK_SIMPLE_MAJORITY), majority[n]);
		UT_EQ_INT(tern_ack_needed(&a, TERN_ACK_ALL), n - 1);
		UT_EQ_INT(tern_ack_needed(&a, TERN_ACK_NONE), 0);
		/* The same group, the master left out of the list: it still counts. */
		for (i = 0; i + 1 < n; i++)
			others[i] = (uint16_t)(i + 2);
		if (n > 1) {
			TERN_CU_ASSERT_FATAL(tern_ack_init(&a, 1, others, n - 1) == 0);
			UT_EQ_INT(a.n_electable, n);
			UT_EQ_INT(tern_ack_needed(&a, TERN_ACK_SIMPLE_MAJORITY), majority[n]);
			UT_EQ_INT(tern_ack_needed(&a, TERN_ACK_ALL), n - 1);
		}
	}
}

static void
ack_vlsn_is_the_needed_th_highest_for_each_policy(void)
{
	struct tern_ack a;
	uint64_t rec[TERN_ACK_NODES_MAX], dur[TERN_ACK_NODES_MAX];
	unsigned int n, i;
	enum tern_ack_policy p;

	for (n = 1; n <= 7; n++) {
		init_group(&a, n, 1);
		/* Replicas 2..n: received 10, 20, ...; durable 5 behind. */
		for (i = 0; i + 1 < n; i++) {
			rec[i] = 10 * (i + 1);
			dur[i] = rec[i] - 5;
			UT_EQ_INT(tern_ack_record(&a, (uint16_t)(i + 2), rec[i], dur[i]), 0);
		}
		for (p = TERN_ACK_SIMPLE_MAJORITY; p <= TERN_ACK_NONE; p++) {
			unsigned int k = tern_ack_needed(&a, p);

			CU_ASSERT_EQUAL(tern_ack_vlsn(&a, p, false), ref_kth(rec, n - 1, k));
			CU_ASSERT_EQUAL(tern_ack_vlsn(&a, p, true), ref_kth(dur, n - 1, k));
		}
	}
	/* 3 electable: the better of the two replicas satisfies a majority. */
	init_group(&a, 3, 2);
	tern_ack_record(&a, 1, 7, 7);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, true), 7);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, true), 0);
	tern_ack_record(&a, 3, 4, 4);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, true), 4);
	CU_ASSERT_EQUAL(tern_ack_vlsn(&a, TERN_ACK_NONE, true), UINT64_MAX);
	/* The master alone: nothing to wait for under any policy. */
	init_group(&a, 1, 1);
	CU_ASSERT_EQUAL(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, true), UINT64_MAX);
	CU_ASSERT_EQUAL(tern_ack_vlsn(&a, TERN_ACK_ALL, false), UINT64_MAX);
}

static void
ack_vlsn_agrees_with_sorting_for_random_acks(void)
{
	uint64_t seeds = ut_seeds(200), seed;
	struct tern_prng prng;
	struct tern_ack a;
	uint64_t rec[TERN_ACK_NODES_MAX], dur[TERN_ACK_NODES_MAX], r, d;
	unsigned int n, i, j;
	enum tern_ack_policy p;

	for (seed = 1; seed <= seeds; seed++) {
		tern_prng_init(&prng, seed);
		n = 1 + (unsigned int)tern_prng_below(&prng, TERN_ACK_NODES_MAX);
		init_group(&a, n, (uint16_t)(1 + tern_prng_below(&prng, n)));
		for (i = 0; i + 1 < n; i++)
			rec[i] = dur[i] = 0;
		for (j = 0; j < 4 * n; j++) {
			i = (unsigned int)tern_prng_below(&prng, a.n_replicas + 1);
			if (i == a.n_replicas)
				continue;
			/* Few distinct values, so ties are common. */
			r = tern_prng_below(&prng, 8);
			d = tern_prng_below(&prng, 10);
			UT_EQ_INT(tern_ack_record(&a, a.node[i], r, d), 0);
			if (d > r)
				d = r;
			rec[i] = r > rec[i] ? r : rec[i];
			dur[i] = d > dur[i] ? d : dur[i];
		}
		for (p = TERN_ACK_SIMPLE_MAJORITY; p <= TERN_ACK_NONE; p++) {
			unsigned int k = tern_ack_needed(&a, p);
			uint64_t want_r = ref_kth(rec, a.n_replicas, k);
			uint64_t want_d = ref_kth(dur, a.n_replicas, k);

			if (tern_ack_vlsn(&a, p, false) != want_r ||
			    tern_ack_vlsn(&a, p, true) != want_d)
				ut_note("seed %llu n %u policy %d", (unsigned long long)seed, n, p);
			CU_ASSERT_EQUAL(tern_ack_vlsn(&a, p, false), want_r);
			CU_ASSERT_EQUAL(tern_ack_vlsn(&a, p, true), want_d);
			if (k > 0) {
				CU_ASSERT(tern_ack_count(&a, want_d, true) >= k);
				CU_ASSERT(tern_ack_count(&a, want_d + 1, true) < k);
			}
		}
	}
}

static void
ack_older_report_moves_nothing(void)
{
	struct tern_ack a;

	init_group(&a, 3, 1);
	UT_EQ_INT(tern_ack_record(&a, 2, 10, 8), 0);
	UT_EQ_INT(tern_ack_record(&a, 2, 6, 9), 0); /* reordered: received stays 10 */
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, false), 10);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, true), 8); /* 9 clamped to 6 */
	UT_EQ_INT(tern_ack_record(&a, 2, 5, 5), 0);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, false), 10);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, true), 8);
	UT_EQ_INT(tern_ack_record(&a, 2, 12, 12), 0);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, true), 12);
}

static void
ack_durable_above_received_is_clamped(void)
{
	struct tern_ack a;

	init_group(&a, 2, 1);
	UT_EQ_INT(tern_ack_record(&a, 2, 4, 9), 0);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, true), 4);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, false), 4);
	UT_EQ_INT(tern_ack_reset(&a, 2, 2, 3), 0);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, true), 2);
}

static void
ack_reset_lowers_a_restarted_replica(void)
{
	struct tern_ack a;

	init_group(&a, 3, 1);
	tern_ack_record(&a, 2, 50, 50);
	tern_ack_record(&a, 3, 40, 30);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, true), 30);
	UT_EQ_INT(tern_ack_reset(&a, 2, 20, 10), 0);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, true), 10);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, false), 40);
	UT_EQ_INT(tern_ack_count(&a, 21, false), 1);
	/* From there it grows again as usual. */
	UT_EQ_INT(tern_ack_record(&a, 2, 15, 15), 0);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_ALL, false), 20);
	UT_EQ_INT(tern_ack_reset(&a, 9, 1, 1), -ENOENT);
}

static void
ack_non_electable_and_master_are_not_tracked(void)
{
	struct tern_ack a;
	uint16_t ids[3] = {4, 7, 9};

	TERN_CU_ASSERT_FATAL(tern_ack_init(&a, 7, ids, 3) == 0);
	UT_EQ_INT(tern_ack_record(&a, 5, 10, 10), -ENOENT); /* a secondary */
	UT_EQ_INT(tern_ack_record(&a, 7, 10, 10), -ENOENT); /* the master itself */
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, false), 0);
	UT_EQ_INT(tern_ack_count(&a, 1, false), 0);
	UT_EQ_INT(tern_ack_record(&a, 9, 10, 10), 0);
	UT_EQ_INT(tern_ack_vlsn(&a, TERN_ACK_SIMPLE_MAJORITY, false), 10);
	UT_EQ_INT(tern_ack_count(&a, 10, false), 1);
	UT_EQ_INT(tern_ack_count(&a, 0, false), 2);
}

static void
ack_init_rejects_bad_membership(void)
{
	struct tern_ack a;
	uint16_t ids[TERN_ACK_NODES_MAX + 1];
	unsigned int i;

	for (i = 0; i <= TERN_ACK_NODES_MAX; i++)
		ids[i] = (uint16_t)(100 + i);
	UT_EQ_INT(tern_ack_init(&a, 1, ids, 0), -EINVAL);
	UT_EQ_INT(tern_ack_init(&a, 1, ids, TERN_ACK_NODES_MAX + 1), -EINVAL);
	UT_EQ_INT(tern_ack_init(&a, 1, ids, TERN_ACK_NODES_MAX), 0);
	UT_EQ_INT(a.n_replicas, TERN_ACK_NODES_MAX);
	UT_EQ_INT(a.n_electable, TERN_ACK_NODES_MAX + 1);
	UT_EQ_INT(tern_ack_needed(&a, TERN_ACK_SIMPLE_MAJORITY), 32);
	ids[3] = ids[1];
	UT_EQ_INT(tern_ack_init(&a, 1, ids, 4), -EINVAL);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("ack", NULL, NULL);
	CU_ADD_TEST(s, ack_needed_counts_the_master_in_a_simple_majority);
	CU_ADD_TEST(s, ack_vlsn_is_the_needed_th_highest_for_each_policy);
	CU_ADD_TEST(s, ack_vlsn_agrees_with_sorting_for_random_acks);
	CU_ADD_TEST(s, ack_older_report_moves_nothing);
	CU_ADD_TEST(s, ack_durable_above_received_is_clamped);
	CU_ADD_TEST(s, ack_reset_lowers_a_restarted_replica);
	CU_ADD_TEST(s, ack_non_electable_and_master_are_not_tracked);
	CU_ADD_TEST(s, ack_init_rejects_bad_membership);
	return tern_ut_run(argc, argv);
}
