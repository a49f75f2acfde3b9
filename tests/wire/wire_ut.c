/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <tern_crc32c.h>
#include <tern_wire.h>

#include "ut.h"

#define GROUP	    0x5eed
#define PAYLOAD_LEN 64

static struct tern_wire_ctx tx, rx;
static uint8_t buf[TERN_WIRE_HDR_LEN + PAYLOAD_LEN + 8];

/* Node 1 of group GROUP sends to node 2, which knows node 1. */
static void
setup(void)
{
	tern_wire_ctx_init(&tx, GROUP, 1);
	tern_wire_ctx_init(&rx, GROUP, 2);
	TERN_CU_ASSERT_FATAL(tern_wire_ctx_add_node(&rx, 1) == 0);
	TERN_CU_ASSERT_FATAL(tern_wire_ctx_add_node(&tx, 2) == 0);
}

static uint32_t
seal_sample(uint8_t type, uint16_t dst)
{
	unsigned int i;

	for (i = 0; i < PAYLOAD_LEN; i++)
		buf[TERN_WIRE_HDR_LEN + i] = (uint8_t)(i * 7);
	return tern_wire_seal(&tx, buf, type, dst, 42, PAYLOAD_LEN);
}

/* Recompute the CRC after a test changed a sealed datagram of @p len bytes. */
static void
reseal(uint32_t len)
{
	uint32_t crc;

	memset(buf + 32, 0, 4);
	crc = tern_crc32c(buf, len);
	memcpy(buf + 32, &crc, 4);
}

static enum tern_wire_rej
check(uint32_t len)
{
	const struct tern_wire_hdr *h = (const void *)1;
	enum tern_wire_rej r = tern_wire_check(&rx, buf, len, &h);

	if (r == TERN_WIRE_REJ_NONE || r == TERN_WIRE_REJ_UNKNOWN_TYPE) {
		CU_ASSERT(h == (const void *)buf);
	} else {
		CU_ASSERT(h == NULL);
	}
	return r;
}

static void
wire_seal_then_check_accepts_and_reads_every_field(void)
{
	const struct tern_wire_hdr *h = NULL;
	uint32_t len;

	setup();
	len = seal_sample(TERN_WIRE_ACK, 2);
	UT_EQ_INT(len, TERN_WIRE_HDR_LEN + PAYLOAD_LEN);
	UT_EQ_INT(tern_wire_check(&rx, buf, len, &h), TERN_WIRE_REJ_NONE);
	TERN_CU_ASSERT_FATAL(h != NULL);
	UT_EQ_INT(h->magic, TERN_WIRE_MAGIC);
	UT_EQ_INT(h->ver_major, TERN_WIRE_VERSION_MAJOR);
	UT_EQ_INT(h->ver_minor, TERN_WIRE_VERSION_MINOR);
	UT_EQ_INT(h->type, TERN_WIRE_ACK);
	UT_EQ_INT(h->flags, 0);
	UT_EQ_INT(h->group_id, GROUP);
	UT_EQ_INT(h->src, 1);
	UT_EQ_INT(h->dst, 2);
	UT_EQ_INT(h->term, 42);
	UT_EQ_INT(h->payload_len, PAYLOAD_LEN);
	UT_EQ_INT(h->caps, TERN_WIRE_CAPS_DEFAULT);
	UT_EQ_INT(h->seq, 0);
	UT_EQ_INT(tern_wire_payload(h)[3], 21);
	UT_EQ_INT(rx.stats.accepted, 1);
	/* The wire bytes are little-endian whatever the struct says. */
	UT_EQ_INT(buf[0], 0x54); /* 'T' */
	UT_EQ_INT(buf[3], 0x4e); /* 'N' */
	UT_EQ_INT(buf[16], 42);
	UT_EQ_INT(buf[24], PAYLOAD_LEN);
	/* seq counts datagrams sent; flags travel. */
	len = tern_wire_seal_flags(&tx, buf, TERN_WIRE_NAK, TERN_WIRE_F_RETRANSMIT, 2, 43,
				   PAYLOAD_LEN);
	UT_EQ_INT(tern_wire_check(&rx, buf, len, &h), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(h->seq, 1);
	UT_EQ_INT(h->flags, TERN_WIRE_F_RETRANSMIT);
	UT_EQ_INT(h->term, 43);
}

static void
wire_check_reads_headers_at_any_alignment(void)
{
	static uint8_t raw[TERN_WIRE_HDR_LEN + 16 + 8];
	const struct tern_wire_hdr *h = NULL;
	unsigned int off;
	uint32_t len;

	setup();
	for (off = 1; off < 8; off++) {
		memset(raw, 0, sizeof(raw));
		len = tern_wire_seal(&tx, raw + off, TERN_WIRE_HEARTBEAT, 2, 0x0102030405060708ULL,
				     16);
		UT_EQ_INT(tern_wire_check(&rx, raw + off, len, &h), TERN_WIRE_REJ_NONE);
		TERN_CU_ASSERT_FATAL(h != NULL);
		UT_EQ_INT(h->term, 0x0102030405060708ULL);
	}
}

static void
wire_check_rejects_short_datagrams(void)
{
	uint32_t len;

	setup();
	seal_sample(TERN_WIRE_ACK, 2);
	for (len = 0; len < TERN_WIRE_HDR_LEN; len++)
		UT_EQ_INT(check(len), TERN_WIRE_REJ_SHORT);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_SHORT], TERN_WIRE_HDR_LEN);
	UT_EQ_INT(rx.stats.accepted, 0);
}

static void
wire_check_rejects_bad_magic(void)
{
	uint32_t len;

	setup();
	len = seal_sample(TERN_WIRE_ACK, 2);
	buf[1] ^= 0x20;
	reseal(len);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_MAGIC);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_MAGIC], 1);
}

static void
wire_check_refuses_another_major_version_naming_the_peer(void)
{
	uint32_t len;
	unsigned int n;

	setup();
	ut_diag_capture(1);
	len = seal_sample(TERN_WIRE_ACK, 2);
	buf[4] = TERN_WIRE_VERSION_MAJOR + 1;
	buf[5] = 3;
	reseal(len);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_VERSION);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_VERSION], 1);
	CU_ASSERT(ut_diag_contains("refusing node 1 of group 24301"));
	CU_ASSERT(ut_diag_contains("speaks wire protocol 2.3"));
	CU_ASSERT(ut_diag_contains("this node (2) speaks 1.0"));
	/* Named once per peer: the next refusal is only counted. */
	n = ut_diag_count();
	UT_EQ_INT(check(len), TERN_WIRE_REJ_VERSION);
	UT_EQ_INT(ut_diag_count(), n);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_VERSION], 2);
	/* Re-adding the node (it was upgraded) names it again if it is still wrong. */
	tern_wire_ctx_add_node(&rx, 1);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_VERSION);
	UT_EQ_INT(ut_diag_count(), n + 1);
	/* An older major version too, even before the CRC (its layout may differ). */
	buf[4] = 0;
	buf[40] ^= 1;
	UT_EQ_INT(check(len), TERN_WIRE_REJ_VERSION);
	ut_diag_capture(0);
}

static void
wire_check_accepts_another_minor_version_and_its_caps(void)
{
	const struct tern_wire_hdr *h = NULL;
	uint32_t len;

	setup();
	tx.caps = 0x80000001U;
	len = seal_sample(TERN_WIRE_ACK, 2);
	buf[5] = TERN_WIRE_VERSION_MINOR + 9;
	reseal(len);
	UT_EQ_INT(tern_wire_check(&rx, buf, len, &h), TERN_WIRE_REJ_NONE);
	TERN_CU_ASSERT_FATAL(h != NULL);
	UT_EQ_INT(h->ver_minor, TERN_WIRE_VERSION_MINOR + 9);
	UT_EQ_INT(h->caps, 0x80000001U);
}

static void
wire_check_rejects_a_length_mismatch(void)
{
	uint32_t len;

	setup();
	len = seal_sample(TERN_WIRE_ACK, 2);
	UT_EQ_INT(check(len - 1), TERN_WIRE_REJ_LENGTH);
	UT_EQ_INT(check(len + 1), TERN_WIRE_REJ_LENGTH);
	UT_EQ_INT(check(TERN_WIRE_HDR_LEN), TERN_WIRE_REJ_LENGTH);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_LENGTH], 3);
}

static void
wire_check_rejects_oversized_datagrams(void)
{
	static uint8_t big[TERN_WIRE_DGRAM_MAX + 1];
	const struct tern_wire_hdr *h;
	uint32_t len;

	setup();
	len = tern_wire_seal(&tx, big, TERN_WIRE_ENTRIES, 2, 1,
			     TERN_WIRE_DGRAM_MAX + 1 - TERN_WIRE_HDR_LEN);
	UT_EQ_INT(len, TERN_WIRE_DGRAM_MAX + 1);
	UT_EQ_INT(tern_wire_check(&rx, big, len, &h), TERN_WIRE_REJ_TOO_BIG);
	len = tern_wire_seal(&tx, big, TERN_WIRE_ENTRIES, 2, 1,
			     TERN_WIRE_DGRAM_MAX - TERN_WIRE_HDR_LEN);
	UT_EQ_INT(tern_wire_check(&rx, big, len, &h), TERN_WIRE_REJ_NONE);
}

static void
wire_check_rejects_every_flipped_bit(void)
{
	uint32_t len, bit;
	enum tern_wire_rej r;

	setup();
	len = seal_sample(TERN_WIRE_ACK, 2);
	for (bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = check(len);
		CU_ASSERT(r != TERN_WIRE_REJ_NONE);
		/* Past the fields checked before it, the CRC catches the flip. */
		if (bit / 8 >= 8 && bit / 8 != 24 && bit / 8 != 25 && bit / 8 != 26 &&
		    bit / 8 != 27)
			UT_EQ_INT(r, TERN_WIRE_REJ_CRC);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NONE);
}

static void
wire_check_rejects_other_groups(void)
{
	struct tern_wire_ctx other;
	uint32_t len;

	setup();
	tern_wire_ctx_init(&other, GROUP + 1, 1);
	len = tern_wire_seal(&other, buf, TERN_WIRE_ACK, 2, 1, PAYLOAD_LEN);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_GROUP);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_GROUP], 1);
}

static void
wire_check_rejects_unknown_senders_and_other_receivers(void)
{
	struct tern_wire_ctx stranger;
	uint32_t len;

	setup();
	tern_wire_ctx_init(&stranger, GROUP, 3);
	len = tern_wire_seal(&stranger, buf, TERN_WIRE_ACK, 2, 1, PAYLOAD_LEN);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NODE);
	len = seal_sample(TERN_WIRE_ACK, 4); /* for node 4 */
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NODE);
	len = seal_sample(TERN_WIRE_ACK, TERN_WIRE_NODE_ALL);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NONE);
	tern_wire_ctx_del_node(&rx, 1);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NODE);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_NODE], 3);
	UT_EQ_INT(tern_wire_ctx_add_node(&rx, TERN_WIRE_CTX_NODES), -EINVAL);
	UT_EQ_INT(tern_wire_ctx_add_node(&rx, TERN_WIRE_CTX_NODES - 1), 0);
	tern_wire_ctx_del_node(&rx, TERN_WIRE_NODE_ALL); /* ignored */
	/* A node id beyond the table can never be accepted. */
	tern_wire_ctx_init(&stranger, GROUP, 2000);
	len = tern_wire_seal(&stranger, buf, TERN_WIRE_ACK, 2, 1, PAYLOAD_LEN);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NODE);
}

static void
wire_check_counts_and_ignores_unknown_types(void)
{
	uint32_t len;

	setup();
	len = seal_sample(TERN_WIRE_TYPE_MAX_, 2);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_UNKNOWN_TYPE);
	len = seal_sample(0, 2);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_UNKNOWN_TYPE);
	len = seal_sample(255, 2);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_UNKNOWN_TYPE);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_UNKNOWN_TYPE], 3);
	UT_EQ_INT(rx.stats.accepted, 0);
	len = seal_sample(TERN_WIRE_TYPE_MAX_ - 1, 2);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NONE);
}

static void
wire_count_moves_an_accepted_frame_to_a_reason(void)
{
	uint32_t len;

	setup();
	len = seal_sample(TERN_WIRE_ACK, 2);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(check(len), TERN_WIRE_REJ_NONE);
	tern_wire_count(&rx, TERN_WIRE_REJ_STALE_TERM);
	UT_EQ_INT(rx.stats.accepted, 1);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_STALE_TERM], 1);
	tern_wire_count(&rx, TERN_WIRE_REJ_NONE);
	tern_wire_count(&rx, TERN_WIRE_REJ_COUNT_);
	UT_EQ_INT(rx.stats.accepted, 1);
	tern_wire_count(&rx, TERN_WIRE_REJ_MALFORMED);
	tern_wire_count(&rx, TERN_WIRE_REJ_MALFORMED); /* never below zero */
	UT_EQ_INT(rx.stats.accepted, 0);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_MALFORMED], 2);
}

static void
wire_names_every_reason_and_type(void)
{
	unsigned int i, j;

	for (i = 0; i < TERN_WIRE_REJ_COUNT_; i++) {
		const char *s = tern_wire_rej_str((enum tern_wire_rej)i);

		TERN_CU_ASSERT_FATAL(s != NULL);
		CU_ASSERT(strlen(s) > 0);
		for (j = 0; j < i; j++)
			CU_ASSERT(strcmp(s, tern_wire_rej_str((enum tern_wire_rej)j)) != 0);
	}
	CU_ASSERT(strcmp(tern_wire_rej_str(TERN_WIRE_REJ_COUNT_), "unknown reason") == 0);
	CU_ASSERT(strcmp(tern_wire_rej_str(TERN_WIRE_REJ_CRC), "CRC32C mismatch") == 0);
	for (i = 1; i < TERN_WIRE_TYPE_MAX_; i++)
		CU_ASSERT(tern_wire_type_str((uint8_t)i) != NULL);
	CU_ASSERT(tern_wire_type_str(0) == NULL);
	CU_ASSERT(tern_wire_type_str(TERN_WIRE_TYPE_MAX_) == NULL);
	CU_ASSERT(strcmp(tern_wire_type_str(TERN_WIRE_RESTORE_CHUNK_ACK), "RESTORE_CHUNK_ACK") ==
		  0);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("wire", NULL, NULL);
	CU_ADD_TEST(s, wire_seal_then_check_accepts_and_reads_every_field);
	CU_ADD_TEST(s, wire_check_reads_headers_at_any_alignment);
	CU_ADD_TEST(s, wire_check_rejects_short_datagrams);
	CU_ADD_TEST(s, wire_check_rejects_bad_magic);
	CU_ADD_TEST(s, wire_check_refuses_another_major_version_naming_the_peer);
	CU_ADD_TEST(s, wire_check_accepts_another_minor_version_and_its_caps);
	CU_ADD_TEST(s, wire_check_rejects_a_length_mismatch);
	CU_ADD_TEST(s, wire_check_rejects_oversized_datagrams);
	CU_ADD_TEST(s, wire_check_rejects_every_flipped_bit);
	CU_ADD_TEST(s, wire_check_rejects_other_groups);
	CU_ADD_TEST(s, wire_check_rejects_unknown_senders_and_other_receivers);
	CU_ADD_TEST(s, wire_check_counts_and_ignores_unknown_types);
	CU_ADD_TEST(s, wire_count_moves_an_accepted_frame_to_a_reason);
	CU_ADD_TEST(s, wire_names_every_reason_and_type);
	return tern_ut_run(argc, argv);
}
