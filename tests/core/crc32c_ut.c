/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <tern_crc32c.h>
#include <tern_prng.h>

#include "ut.h"

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
			CU_ASSERT_EQUAL(tern_crc32c(buf + off, len), tern_crc32c_sw(0, buf + off, len));
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
	CU_ADD_TEST(s, crc32c_extend_equals_crc_of_concatenation);
	CU_ADD_TEST(s, crc32c_detects_every_single_bit_flip);
	return tern_ut_run(argc, argv);
}
