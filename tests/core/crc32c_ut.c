/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include <tern_crc32c.h>
#include <tern_prng.h>

#include "ut.h"

/* The static paths (serial and 3-way crc32, the join constants) are tested directly. */
#include "../../lib/core/crc32c.c"

/* Every implementation this CPU can run; the table path is the reference. */
enum path {
	PATH_PUBLIC, /* tern_crc32c_extend(), whatever it dispatched to */
	PATH_SERIAL, /* one crc32q stream */
	PATH_3WAY,   /* three streams joined with pclmul */
	PATH_FOLD,   /* 512-bit vpclmulqdq folding */
	PATH_N,
};

static const char *const path_name[PATH_N] = {"public", "serial", "3way", "fold512"};

static int
path_runs_here(enum path path)
{
	switch (path) {
	case PATH_PUBLIC:
		return 1;
	case PATH_SERIAL:
		return impl >= HW_SERIAL;
	case PATH_3WAY:
		return impl >= HW_3WAY;
	case PATH_FOLD:
		return impl >= HW_FOLD512;
	default:
		return 0;
	}
}

static uint32_t
crc_by_path(enum path path, uint32_t crc, const unsigned char *p, size_t len)
{
	switch (path) {
#if defined(__x86_64__)
	case PATH_SERIAL:
		return ~hw_update(~crc, p, len);
	case PATH_3WAY:
		return ~hw_update_3way(~crc, p, len);
	case PATH_FOLD:
		return ~hw_update_fold512(~crc, p, len);
#endif
	default:
		return tern_crc32c_extend(crc, p, len);
	}
}

/*
 * Compare every path with the table path for @p len bytes at @p p from state @p crc; note
 * the first few mismatches. Returns how many paths disagreed.
 */
static unsigned int
paths_disagree(uint32_t crc, const unsigned char *p, size_t len, size_t off)
{
	static unsigned int noted;
	uint32_t want = tern_crc32c_sw(crc, p, len), got;
	unsigned int bad = 0, i;

	for (i = 0; i < PATH_N; i++) {
		if (!path_runs_here(i))
			continue;
		got = crc_by_path(i, crc, p, len);
		if (got == want)
			continue;
		bad++;
		if (noted++ < 10)
			ut_note("%s path: len %zu off %zu crc %#x: got %#x, want %#x", path_name[i],
				len, off, crc, got, want);
	}
	return bad;
}

static void
crc32c_matches_standard_check_value(void)
{
	UT_EQ_INT(tern_crc32c("123456789", 9), 0xe3069283U);
	UT_EQ_INT(tern_crc32c_sw(0, "123456789", 9), 0xe3069283U);
	UT_EQ_INT(tern_crc32c("", 0), 0);
}

static void
crc32c_of_32_zero_bytes_matches_rfc3720(void)
{
	unsigned char z[32] = {0}, o[32];

	memset(o, 0xff, sizeof(o));
	UT_EQ_INT(tern_crc32c(z, sizeof(z)), 0x8a9136aaU);
	UT_EQ_INT(tern_crc32c(o, sizeof(o)), 0x62a8ab43U);
}

static void
crc32c_hardware_and_table_paths_agree_at_every_alignment(void)
{
	struct tern_prng p;
	unsigned char buf[1100];
	size_t off, len;

	tern_prng_init(&p, 7);
	tern_prng_fill(&p, buf, sizeof(buf));
	for (off = 0; off < 9; off++)
		for (len = 0; len < 1024; len += 13)
			CU_ASSERT_EQUAL(tern_crc32c(buf + off, len),
					tern_crc32c_sw(0, buf + off, len));
}

static void
crc32c_dispatch_picks_the_fastest_path_the_cpu_has(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("sse4.2"))
		UT_EQ_INT(impl, HW_NONE);
	else if (!__builtin_cpu_supports("pclmul"))
		UT_EQ_INT(impl, HW_SERIAL);
	else if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("vpclmulqdq"))
		UT_EQ_INT(impl, HW_3WAY);
	else
		UT_EQ_INT(impl, HW_FOLD512);
#else
	UT_EQ_INT(impl, HW_NONE);
#endif
}

static void
crc32c_join_constants_shift_by_whole_words(void)
{
	unsigned char zero[8] = {0};
	uint32_t c = 1; /* x^31: bit 31 - d stands for x^d */
	size_t m;

	/* shift_k[m] is x^31 run through m - 1 zero words: x^(31 + 64(m - 1)) = x^(64m - 33). */
	for (m = 1; m < sizeof(shift_k) / sizeof(shift_k[0]); m++) {
		UT_EQ_INT(shift_k[m], c);
		c = sw_update(c, zero, sizeof(zero));
	}
}

static void
crc32c_every_path_matches_table_for_every_length_to_4096(void)
{
	static const size_t offs[] = {0, 1, 3, 4, 7, 13};
	static unsigned char buf[4096 + 16];
	struct tern_prng prng;
	unsigned int bad = 0, i;
	size_t len;

	tern_prng_init(&prng, 11);
	tern_prng_fill(&prng, buf, sizeof(buf));
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (len = 0; len <= 4096; len++)
			bad += paths_disagree((uint32_t)tern_prng_next(&prng), buf + offs[i], len,
					      offs[i]);
	UT_EQ_INT(bad, 0);
}

static void
crc32c_every_path_matches_table_on_large_buffers(void)
{
	const size_t max = (size_t)1 << 20, block = 24 * CRC_STRIDE_MAX;
	struct tern_prng prng;
	unsigned char *buf = malloc(max + 64);
	unsigned int bad = 0, i, k;
	size_t len, off;
	long d;

	TERN_CU_ASSERT_FATAL(buf != NULL);
	tern_prng_init(&prng, 12);
	tern_prng_fill(&prng, buf, max + 64);
	/* Whole buffer, aligned and not. */
	bad += paths_disagree(0, buf, max, 0);
	bad += paths_disagree(0x12345678, buf + 5, max, 5);
	/* Either side of whole 3-way blocks, where the block loop hands over to the rest. */
	for (k = 1; k <= 4; k++)
		for (d = -40; d <= 40; d++) {
			len = k * block + (size_t)d;
			bad += paths_disagree((uint32_t)tern_prng_next(&prng), buf + k, len, k);
		}
	/* Random lengths up to 1 MiB at random offsets. */
	for (i = 0; i < ut_seeds(32); i++) {
		len = (size_t)tern_prng_below(&prng, max + 1);
		off = (size_t)tern_prng_below(&prng, 64);
		bad += paths_disagree((uint32_t)tern_prng_next(&prng), buf + off, len, off);
	}
	UT_EQ_INT(bad, 0);
	free(buf);
}

static void
crc32c_extend_composes_at_random_split_points(void)
{
	static unsigned char buf[65536 + 64];
	struct tern_prng prng;
	unsigned int bad = 0, i, path, pieces, j;
	size_t len, off, at, n;
	uint32_t whole, c;

	tern_prng_init(&prng, 13);
	tern_prng_fill(&prng, buf, sizeof(buf));
	for (i = 0; i < 2000; i++) {
		/* Mostly record-sized, sometimes large. */
		len = (size_t)tern_prng_below(&prng, tern_prng_chance(&prng, 0.2) ? 65537 : 1025);
		off = (size_t)tern_prng_below(&prng, 64);
		whole = tern_crc32c_sw(0, buf + off, len);
		pieces = 1 + (unsigned int)tern_prng_below(&prng, 4);
		for (path = 0; path < PATH_N; path++) {
			if (!path_runs_here(path))
				continue;
			c = 0;
			at = 0;
			for (j = 0; j < pieces; j++) {
				n = len - at;
				if (j + 1 < pieces)
					n = (size_t)tern_prng_below(&prng, n + 1);
				c = crc_by_path(path, c, buf + off + at, n);
				at += n;
			}
			if (c != whole && bad++ < 10)
				ut_note("%s path: len %zu off %zu in %u pieces: got %#x, want %#x",
					path_name[path], len, off, pieces, c, whole);
		}
		/* The public one-shot call agrees too. */
		if (tern_crc32c(buf + off, len) != whole && bad++ < 10)
			ut_note("tern_crc32c: len %zu off %zu", len, off);
	}
	UT_EQ_INT(bad, 0);
}

static void
crc32c_extend_equals_crc_of_concatenation(void)
{
	const char *a = "hello, ", *b = "replicated world";
	char ab[64];
	uint32_t c;

	snprintf(ab, sizeof(ab), "%s%s", a, b);
	c = tern_crc32c_extend(tern_crc32c(a, strlen(a)), b, strlen(b));
	UT_EQ_INT(c, tern_crc32c(ab, strlen(ab)));
}

static void
crc32c_detects_every_single_bit_flip(void)
{
	unsigned char buf[64];
	uint32_t good;
	unsigned int i;

	memset(buf, 0x5a, sizeof(buf));
	good = tern_crc32c(buf, sizeof(buf));
	for (i = 0; i < sizeof(buf) * 8; i++) {
		buf[i / 8] ^= 1u << (i % 8);
		CU_ASSERT_NOT_EQUAL(tern_crc32c(buf, sizeof(buf)), good);
		buf[i / 8] ^= 1u << (i % 8);
	}
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("crc32c", NULL, NULL);
	CU_ADD_TEST(s, crc32c_matches_standard_check_value);
	CU_ADD_TEST(s, crc32c_of_32_zero_bytes_matches_rfc3720);
	CU_ADD_TEST(s, crc32c_hardware_and_table_paths_agree_at_every_alignment);
	CU_ADD_TEST(s, crc32c_dispatch_picks_the_fastest_path_the_cpu_has);
	CU_ADD_TEST(s, crc32c_join_constants_shift_by_whole_words);
	CU_ADD_TEST(s, crc32c_every_path_matches_table_for_every_length_to_4096);
	CU_ADD_TEST(s, crc32c_every_path_matches_table_on_large_buffers);
	CU_ADD_TEST(s, crc32c_extend_composes_at_random_split_points);
	CU_ADD_TEST(s, crc32c_extend_equals_crc_of_concatenation);
	CU_ADD_TEST(s, crc32c_detects_every_single_bit_flip);
	return tern_ut_run(argc, argv);
}
