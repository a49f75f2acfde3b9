/* SPDX-License-Identifier: BSD-3-Clause */
#include <math.h>
#include <string.h>

#include <tern_prng.h>

#include "ut.h"

static void
prng_same_seed_same_stream_other_seed_other_stream(void)
{
	struct tern_prng a, b, c;
	int i, same = 0;

	tern_prng_init(&a, 42);
	tern_prng_init(&b, 42);
	tern_prng_init(&c, 43);
	for (i = 0; i < 1000; i++) {
		uint64_t x = tern_prng_next(&a);

		CU_ASSERT_EQUAL(x, tern_prng_next(&b));
		same += x == tern_prng_next(&c);
	}
	UT_EQ_INT(same, 0);
}

static void
prng_seed_zero_is_not_degenerate(void)
{
	struct tern_prng p;

	tern_prng_init(&p, 0);
	CU_ASSERT(tern_prng_next(&p) != 0 || tern_prng_next(&p) != 0);
}

static void
prng_below_stays_in_range_and_is_uniform(void)
{
	struct tern_prng p;
	unsigned int hist[10] = {0};
	int i;

	tern_prng_init(&p, 1);
	for (i = 0; i < 100000; i++) {
		uint64_t v = tern_prng_below(&p, 10);

		TERN_CU_ASSERT_FATAL(v < 10);
		hist[v]++;
	}
	for (i = 0; i < 10; i++)
		CU_ASSERT(hist[i] > 9500 && hist[i] < 10500);
	UT_EQ_INT(tern_prng_below(&p, 0), 0);
	UT_EQ_INT(tern_prng_below(&p, 1), 0);
}

static void
prng_chance_matches_its_probability(void)
{
	struct tern_prng p;
	int i, hits = 0;

	tern_prng_init(&p, 9);
	for (i = 0; i < 100000; i++)
		hits += tern_prng_chance(&p, 0.25);
	CU_ASSERT(fabs(hits / 100000.0 - 0.25) < 0.01);
	for (i = 0; i < 1000; i++) {
		double u = tern_prng_unit(&p);

		CU_ASSERT(u >= 0.0 && u < 1.0);
	}
}

static void
prng_fill_covers_odd_lengths(void)
{
	struct tern_prng p;
	unsigned char buf[19];

	memset(buf, 0, sizeof(buf));
	tern_prng_init(&p, 3);
	tern_prng_fill(&p, buf, 11);
	CU_ASSERT(buf[10] != 0 || buf[9] != 0 || buf[8] != 0);
	UT_EQ_INT(buf[11] | buf[12] | buf[18], 0);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("prng", NULL, NULL);
	CU_ADD_TEST(s, prng_same_seed_same_stream_other_seed_other_stream);
	CU_ADD_TEST(s, prng_seed_zero_is_not_degenerate);
	CU_ADD_TEST(s, prng_below_stays_in_range_and_is_uniform);
	CU_ADD_TEST(s, prng_chance_matches_its_probability);
	CU_ADD_TEST(s, prng_fill_covers_odd_lengths);
	return tern_ut_run(argc, argv);
}
