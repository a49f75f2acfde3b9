/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tern_common.h>
#include <tern_prng.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "ut.h"

#define BIG   ((1U << 20) + 17) /* an entry of just over 1 MiB */
#define FRAME 9000		/* jumbo datagram */
#define PIECE (FRAME - TERN_WIRE_HDR_LEN - TERN_WIRE_FRAGMENT_HDR_LEN)

static uint8_t *src;  /* the entry's payload */
static uint8_t *rbuf; /* the reassembly buffer */
static uint8_t frame[FRAME];
static struct tern_wire_reasm r;

static int
suite_init(void)
{
	uint32_t i;

	src = malloc(BIG);
	rbuf = malloc(TERN_WIRE_ENTRY_MAX);
	if (src == NULL || rbuf == NULL)
		return -1;
	for (i = 0; i < BIG; i++)
		src[i] = (uint8_t)(i * 2654435761U >> 13);
	return 0;
}

static int
suite_fini(void)
{
	free(src);
	free(rbuf);
	return 0;
}

/*
 * Fragment @p off, @p len of entry @p vlsn (payload src, @p total bytes): encoded into a
 * frame and decoded again, as a receiver would see it.
 */
static struct tern_wire_fragment
frag(uint64_t vlsn, uint32_t total, uint32_t off, uint32_t len)
{
	struct tern_wire_fragment f = {.vlsn = vlsn,
				       .term = 2,
				       .txn_id = vlsn * 10,
				       .timestamp_ns = 555,
				       .type = 33,
				       .flags = 0,
				       .total_len = total,
				       .offset = off,
				       .len = len,
				       .data = src + off},
				  out;
	int n = tern_wire_fragment_encode(frame, FRAME - TERN_WIRE_HDR_LEN, &f);

	TERN_CU_ASSERT_FATAL(n > 0);
	TERN_CU_ASSERT_FATAL(tern_wire_fragment_decode(frame, (uint32_t)n, &out) ==
			     TERN_WIRE_REJ_NONE);
	return out;
}

/* Piece @p i of an entry of @p total bytes cut in PIECE-byte pieces. */
static struct tern_wire_fragment
piece(uint64_t vlsn, uint32_t total, uint32_t i)
{
	uint32_t off = i * PIECE;

	return frag(vlsn, total, off, TERN_MIN(PIECE, total - off));
}

static uint32_t
pieces(uint32_t total)
{
	return (total + PIECE - 1) / PIECE;
}

static enum tern_wire_reasm_rc
add(const struct tern_wire_fragment *f, uint64_t need, struct tern_wire_entry *e)
{
	return tern_wire_reasm_add(&r, f, need, e, NULL);
}

static void
check_entry(const struct tern_wire_entry *e, uint64_t vlsn, uint32_t total)
{
	UT_EQ_INT(e->vlsn, vlsn);
	UT_EQ_INT(e->term, 2);
	UT_EQ_INT(e->txn_id, vlsn * 10);
	UT_EQ_INT(e->timestamp_ns, 555);
	UT_EQ_INT(e->type, 33);
	UT_EQ_INT(e->len, total);
	CU_ASSERT(e->data == rbuf);
	CU_ASSERT(memcmp(e->data, src, total) == 0);
}

static void
reasm_in_order_completes_an_entry_over_1_mib(void)
{
	struct tern_wire_fragment f;
	struct tern_wire_entry e;
	uint32_t i, n = pieces(BIG);

	tern_wire_reasm_init(&r, rbuf, TERN_WIRE_ENTRY_MAX);
	memset(rbuf, 0, BIG);
	for (i = 0; i + 1 < n; i++) {
		f = piece(1, BIG, i);
		UT_EQ_INT(add(&f, 1, &e), TERN_WIRE_REASM_PARTIAL);
	}
	f = piece(1, BIG, n - 1);
	UT_EQ_INT(add(&f, 1, &e), TERN_WIRE_REASM_COMPLETE);
	check_entry(&e, 1, BIG);
	UT_EQ_INT(r.stats.fragments, n);
	UT_EQ_INT(r.stats.completed, 1);
	/* Late copies of its fragments are stale once the caller has it. */
	f = piece(1, BIG, 3);
	UT_EQ_INT(add(&f, 2, &e), TERN_WIRE_REASM_STALE);
	UT_EQ_INT(r.stats.stale, 1);
}

static void
reasm_reverse_order_completes(void)
{
	struct tern_wire_fragment f;
	struct tern_wire_entry e;
	uint32_t i, n = pieces(BIG);

	tern_wire_reasm_init(&r, rbuf, BIG); /* a buffer just large enough */
	memset(rbuf, 0, BIG);
	for (i = n; i-- > 1;) {
		f = piece(9, BIG, i);
		UT_EQ_INT(add(&f, 9, &e), TERN_WIRE_REASM_PARTIAL);
		UT_EQ_INT(r.n_ranges, 1);
	}
	f = piece(9, BIG, 0);
	UT_EQ_INT(add(&f, 9, &e), TERN_WIRE_REASM_COMPLETE);
	check_entry(&e, 9, BIG);
}

static void
reasm_any_order_with_duplicates_completes_once(void)
{
	enum { N = 60 };
	uint32_t total = N * PIECE - 100, order[2 * N], i, j, t, completes = 0;
	struct tern_prng prng;
	uint64_t seed, need;
	struct tern_wire_fragment f;
	struct tern_wire_entry e;

	for (seed = 1; seed <= ut_seeds(20); seed++) {
		tern_prng_init(&prng, seed);
		tern_wire_reasm_init(&r, rbuf, TERN_WIRE_ENTRY_MAX);
		memset(rbuf, 0, total);
		/* Every fragment twice, shuffled. */
		for (i = 0; i < 2 * N; i++)
			order[i] = i % N;
		for (i = 2 * N - 1; i > 0; i--) {
			j = (uint32_t)tern_prng_below(&prng, i + 1);
			t = order[i], order[i] = order[j], order[j] = t;
		}
		completes = 0;
		need = 4;
		for (i = 0; i < 2 * N; i++) {
			enum tern_wire_reasm_rc rc;

			f = piece(4, total, order[i]);
			rc = add(&f, need, &e);
			CU_ASSERT(rc != TERN_WIRE_REASM_REJECTED && rc != TERN_WIRE_REASM_BUSY);
			if (rc == TERN_WIRE_REASM_COMPLETE) {
				completes++;
				check_entry(&e, 4, total);
				need = 5; /* the caller took it */
			}
		}
		if (completes != 1)
			ut_note("seed %llu: %u completions", (unsigned long long)seed, completes);
		UT_EQ_INT(completes, 1);
		UT_EQ_INT(r.stats.fragments + r.stats.duplicates + r.stats.stale, 2 * N);
		UT_EQ_INT(r.stats.fragments, N);
		CU_ASSERT(r.stats.duplicates > 0 || r.stats.stale > 0);
	}
}

static void
reasm_loss_of_one_fragment_waits_for_its_retransmission(void)
{
	uint32_t total = 10 * PIECE, i, lost = 6;
	struct tern_wire_fragment f;
	struct tern_wire_entry e;

	tern_wire_reasm_init(&r, rbuf, TERN_WIRE_ENTRY_MAX);
	for (i = 0; i < 10; i++) {
		if (i == lost)
			continue;
		f = piece(20, total, i);
		UT_EQ_INT(add(&f, 20, &e), TERN_WIRE_REASM_PARTIAL);
	}
	UT_EQ_INT(r.n_ranges, 2);
	UT_EQ_INT(r.received, 9 * PIECE);
	/* The feeder went on to VLSN 21: ignored while 20 is missing a piece. */
	f = piece(21, total, 0);
	UT_EQ_INT(add(&f, 20, &e), TERN_WIRE_REASM_BUSY);
	UT_EQ_INT(r.stats.busy, 1);
	/* The NAK brings the lost piece back. */
	f = piece(20, total, lost);
	UT_EQ_INT(add(&f, 20, &e), TERN_WIRE_REASM_COMPLETE);
	check_entry(&e, 20, total);
	/* Then 21 arrives in full. */
	for (i = 0; i < 10; i++) {
		f = piece(21, total, i);
		UT_EQ_INT(add(&f, 21, &e),
			  i < 9 ? TERN_WIRE_REASM_PARTIAL : TERN_WIRE_REASM_COMPLETE);
	}
	UT_EQ_INT(e.vlsn, 21);
	UT_EQ_INT(r.stats.completed, 2);
	UT_EQ_INT(r.stats.abandoned, 0);
}

static void
reasm_reset_after_a_timeout_starts_over(void)
{
	uint32_t total = 4 * PIECE, i;
	struct tern_wire_fragment f;
	struct tern_wire_entry e;

	tern_wire_reasm_init(&r, rbuf, TERN_WIRE_ENTRY_MAX);
	f = piece(30, total, 0);
	UT_EQ_INT(add(&f, 30, &e), TERN_WIRE_REASM_PARTIAL);
	f = piece(30, total, 2);
	UT_EQ_INT(add(&f, 30, &e), TERN_WIRE_REASM_PARTIAL);
	tern_wire_reasm_reset(&r); /* the caller's timer fired */
	UT_EQ_INT(r.stats.resets, 1);
	tern_wire_reasm_reset(&r); /* nothing in progress: not counted */
	UT_EQ_INT(r.stats.resets, 1);
	/* A different entry under the same VLSN is fine after a reset (a syncup rollback). */
	for (i = 0; i < 4; i++) {
		f = piece(30, total, i);
		f.term = 3;
		UT_EQ_INT(add(&f, 30, &e),
			  i < 3 ? TERN_WIRE_REASM_PARTIAL : TERN_WIRE_REASM_COMPLETE);
	}
	UT_EQ_INT(e.term, 3);
}

static void
reasm_an_earlier_vlsn_abandons_the_entry_in_progress(void)
{
	uint32_t total = 3 * PIECE, i;
	struct tern_wire_fragment f;
	struct tern_wire_entry e;

	tern_wire_reasm_init(&r, rbuf, TERN_WIRE_ENTRY_MAX);
	f = piece(41, total, 0);
	UT_EQ_INT(add(&f, 40, &e), TERN_WIRE_REASM_PARTIAL);
	/* 40 was lost and is retransmitted: it comes first. */
	for (i = 0; i < 3; i++) {
		f = piece(40, total, i);
		UT_EQ_INT(add(&f, 40, &e),
			  i < 2 ? TERN_WIRE_REASM_PARTIAL : TERN_WIRE_REASM_COMPLETE);
	}
	UT_EQ_INT(r.stats.abandoned, 1);
	check_entry(&e, 40, total);
	/* An entry in progress that the caller no longer needs is dropped too. */
	f = piece(50, total, 0);
	UT_EQ_INT(add(&f, 50, &e), TERN_WIRE_REASM_PARTIAL);
	f = piece(52, total, 0);
	UT_EQ_INT(add(&f, 51, &e), TERN_WIRE_REASM_PARTIAL);
	UT_EQ_INT(r.stats.abandoned, 2);
	UT_EQ_INT(r.cur.vlsn, 52);
}

static void
reasm_overlapping_pieces_of_other_sizes_complete(void)
{
	struct tern_wire_fragment f;
	struct tern_wire_entry e;

	tern_wire_reasm_init(&r, rbuf, TERN_WIRE_ENTRY_MAX);
	f = frag(7, 200, 50, 100);
	UT_EQ_INT(add(&f, 7, &e), TERN_WIRE_REASM_PARTIAL);
	f = frag(7, 200, 60, 10); /* inside what we have */
	UT_EQ_INT(add(&f, 7, &e), TERN_WIRE_REASM_DUPLICATE);
	f = frag(7, 200, 50, 100);
	UT_EQ_INT(add(&f, 7, &e), TERN_WIRE_REASM_DUPLICATE);
	UT_EQ_INT(r.stats.duplicates, 2);
	f = frag(7, 200, 0, 60); /* overlaps the start */
	UT_EQ_INT(add(&f, 7, &e), TERN_WIRE_REASM_PARTIAL);
	UT_EQ_INT(r.n_ranges, 1);
	f = frag(7, 200, 170, 30);
	UT_EQ_INT(add(&f, 7, &e), TERN_WIRE_REASM_PARTIAL);
	UT_EQ_INT(r.n_ranges, 2);
	UT_EQ_INT(r.received, 180);
	f = frag(7, 200, 140, 40); /* bridges the gap */
	UT_EQ_INT(add(&f, 7, &e), TERN_WIRE_REASM_COMPLETE);
	check_entry(&e, 7, 200);
	/* One fragment holding the whole entry. */
	f = frag(8, 10, 0, 10);
	UT_EQ_INT(add(&f, 8, &e), TERN_WIRE_REASM_COMPLETE);
	check_entry(&e, 8, 10);
}

static void
reasm_too_many_gaps_is_refused_until_filled(void)
{
	enum { N = 2 * TERN_WIRE_REASM_RANGES + 2 };
	uint32_t total = N * 100, i;
	struct tern_wire_fragment f;
	struct tern_wire_entry e;
	enum tern_wire_rej why = TERN_WIRE_REJ_NONE;

	tern_wire_reasm_init(&r, rbuf, TERN_WIRE_ENTRY_MAX);
	/* Every other piece: each leaves a gap. */
	for (i = 0; i < TERN_WIRE_REASM_RANGES; i++) {
		f = frag(3, total, 2 * i * 100, 100);
		UT_EQ_INT(add(&f, 3, &e), TERN_WIRE_REASM_PARTIAL);
	}
	UT_EQ_INT(r.n_ranges, TERN_WIRE_REASM_RANGES);
	f = frag(3, total, 2 * TERN_WIRE_REASM_RANGES * 100, 100);
	UT_EQ_INT(tern_wire_reasm_add(&r, &f, 3, &e, &why), TERN_WIRE_REASM_REJECTED);
	UT_EQ_INT(why, TERN_WIRE_REJ_REASM_GAPS);
	UT_EQ_INT(r.stats.rejected[TERN_WIRE_REJ_REASM_GAPS], 1);
	UT_EQ_INT(r.n_ranges, TERN_WIRE_REASM_RANGES);
	/* Filling gaps always works; then the refused piece fits, and completes the entry. */
	for (i = 0; i < N / 2; i++) {
		f = frag(3, total, (2 * i + 1) * 100, 100);
		UT_EQ_INT(add(&f, 3, &e), TERN_WIRE_REASM_PARTIAL);
	}
	UT_EQ_INT(r.n_ranges, 2);
	f = frag(3, total, 2 * TERN_WIRE_REASM_RANGES * 100, 100);
	UT_EQ_INT(add(&f, 3, &e), TERN_WIRE_REASM_COMPLETE);
	check_entry(&e, 3, total);
}

static void
reasm_refuses_oversized_conflicting_and_malformed_fragments(void)
{
	struct tern_wire_fragment f, g;
	struct tern_wire_entry e;
	enum tern_wire_rej why = TERN_WIRE_REJ_NONE;

	tern_wire_reasm_init(&r, rbuf, 1000);
	f = frag(5, 1001, 0, 100);
	UT_EQ_INT(tern_wire_reasm_add(&r, &f, 5, &e, &why), TERN_WIRE_REASM_REJECTED);
	UT_EQ_INT(why, TERN_WIRE_REJ_TOO_BIG);
	f = frag(5, 1000, 0, 100);
	UT_EQ_INT(add(&f, 5, &e), TERN_WIRE_REASM_PARTIAL);
	g = frag(5, 999, 100, 100); /* another size */
	UT_EQ_INT(tern_wire_reasm_add(&r, &g, 5, &e, &why), TERN_WIRE_REASM_REJECTED);
	UT_EQ_INT(why, TERN_WIRE_REJ_REASM_CONFLICT);
	g = frag(5, 1000, 100, 100);
	g.term = 9; /* another term */
	UT_EQ_INT(tern_wire_reasm_add(&r, &g, 5, &e, &why), TERN_WIRE_REASM_REJECTED);
	g.term = 2;
	g.type = 1;
	UT_EQ_INT(tern_wire_reasm_add(&r, &g, 5, &e, &why), TERN_WIRE_REASM_REJECTED);
	UT_EQ_INT(r.stats.rejected[TERN_WIRE_REJ_REASM_CONFLICT], 3);
	/* Made by hand, not by a decoder. */
	g = f;
	g.len = 0;
	UT_EQ_INT(tern_wire_reasm_add(&r, &g, 5, &e, &why), TERN_WIRE_REASM_REJECTED);
	UT_EQ_INT(why, TERN_WIRE_REJ_MALFORMED);
	g = f;
	g.offset = 950;
	UT_EQ_INT(tern_wire_reasm_add(&r, &g, 5, &e, &why), TERN_WIRE_REASM_REJECTED);
	g = f;
	g.data = NULL;
	UT_EQ_INT(tern_wire_reasm_add(&r, &g, 5, &e, NULL), TERN_WIRE_REASM_REJECTED);
	UT_EQ_INT(r.stats.rejected[TERN_WIRE_REJ_MALFORMED], 3);
	/* None of that disturbed the entry in progress. */
	UT_EQ_INT(r.received, 100);
	f = frag(5, 1000, 100, 900);
	UT_EQ_INT(add(&f, 5, &e), TERN_WIRE_REASM_COMPLETE);
	check_entry(&e, 5, 1000);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("reasm", suite_init, suite_fini);
	CU_ADD_TEST(s, reasm_in_order_completes_an_entry_over_1_mib);
	CU_ADD_TEST(s, reasm_reverse_order_completes);
	CU_ADD_TEST(s, reasm_any_order_with_duplicates_completes_once);
	CU_ADD_TEST(s, reasm_loss_of_one_fragment_waits_for_its_retransmission);
	CU_ADD_TEST(s, reasm_reset_after_a_timeout_starts_over);
	CU_ADD_TEST(s, reasm_an_earlier_vlsn_abandons_the_entry_in_progress);
	CU_ADD_TEST(s, reasm_overlapping_pieces_of_other_sizes_complete);
	CU_ADD_TEST(s, reasm_too_many_gaps_is_refused_until_filled);
	CU_ADD_TEST(s, reasm_refuses_oversized_conflicting_and_malformed_fragments);
	return tern_ut_run(argc, argv);
}
