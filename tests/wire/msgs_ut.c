/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <tern_common.h>
#include <tern_crc32c.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "ut.h"
#include "wire_samples.h"

#define CAP 4096

static uint8_t buf[CAP];
static uint8_t buf2[CAP];
static struct tern_wire_msg msg;

static void
put_le64(uint8_t *p, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

/* Bodies whose length must match their counts exactly (the others may grow). */
static bool
exact_length(uint8_t type)
{
	switch (type) {
	case TERN_WIRE_ENTRIES:
	case TERN_WIRE_ENTRY_FRAGMENT:
	case TERN_WIRE_NAK:
	case TERN_WIRE_SYNCUP_REQ:
	case TERN_WIRE_GROUP_UPDATE:
	case TERN_WIRE_ADMIN_REPLY:
	case TERN_WIRE_RESTORE_CHUNK:
		return true;
	default:
		return false;
	}
}

static const int fixed_len[TERN_WIRE_TYPE_MAX_] = {
	[TERN_WIRE_ACK] = TERN_WIRE_ACK_LEN,
	[TERN_WIRE_HEARTBEAT] = TERN_WIRE_HEARTBEAT_LEN,
	[TERN_WIRE_HEARTBEAT_REPLY] = TERN_WIRE_HEARTBEAT_REPLY_LEN,
	[TERN_WIRE_SYNCUP_REPLY] = TERN_WIRE_SYNCUP_REPLY_LEN,
	[TERN_WIRE_PROPOSE] = TERN_WIRE_PROPOSE_LEN,
	[TERN_WIRE_PROMISE] = TERN_WIRE_PROMISE_LEN,
	[TERN_WIRE_ACCEPT] = TERN_WIRE_BALLOT_LEN,
	[TERN_WIRE_ACCEPTED] = TERN_WIRE_BALLOT_LEN,
	[TERN_WIRE_RESULT] = TERN_WIRE_BALLOT_LEN,
	[TERN_WIRE_ADMIN_REQ] = TERN_WIRE_ADMIN_REQ_LEN,
	[TERN_WIRE_RESTORE_REQ] = TERN_WIRE_RESTORE_REQ_LEN,
	[TERN_WIRE_RESTORE_CHUNK_ACK] = TERN_WIRE_RESTORE_CHUNK_ACK_LEN,
};

static void
msgs_every_type_has_a_decoder_that_takes_its_sample(void)
{
	unsigned int t;
	int len;

	for (t = 1; t < TERN_WIRE_TYPE_MAX_; t++) {
		len = sample((uint8_t)t, buf, CAP);
		TERN_CU_ASSERT_FATAL(len > 0);
		if (fixed_len[t] != 0)
			UT_EQ_INT(len, fixed_len[t]);
		UT_EQ_INT(tern_wire_decode((uint8_t)t, buf, (uint32_t)len, &msg),
			  TERN_WIRE_REJ_NONE);
		UT_EQ_INT(msg.type, t);
	}
	UT_EQ_INT(tern_wire_decode(0, buf, 8, &msg), TERN_WIRE_REJ_UNKNOWN_TYPE);
	UT_EQ_INT(tern_wire_decode(TERN_WIRE_TYPE_MAX_, buf, 8, &msg), TERN_WIRE_REJ_UNKNOWN_TYPE);
	UT_EQ_INT(tern_wire_decode(255, buf, 8, &msg), TERN_WIRE_REJ_UNKNOWN_TYPE);
}

static void
msgs_every_truncation_is_malformed(void)
{
	unsigned int t;
	int len, cut;

	for (t = 1; t < TERN_WIRE_TYPE_MAX_; t++) {
		len = sample((uint8_t)t, buf, CAP);
		TERN_CU_ASSERT_FATAL(len > 0);
		for (cut = 0; cut < len; cut++) {
			/* A copy of just the bytes kept, so ASan sees any read beyond. */
			uint8_t *copy = buf2 + CAP - cut;

			memcpy(copy, buf, (size_t)cut);
			/* An ACK without the fields a later minor version added is whole. */
			if (t == TERN_WIRE_ACK && cut >= TERN_WIRE_ACK_MIN_LEN)
				continue;
			if (tern_wire_decode((uint8_t)t, copy, (uint32_t)cut, &msg) !=
			    TERN_WIRE_REJ_MALFORMED) {
				ut_note("type %u cut at %d of %d not malformed", t, cut, len);
				CU_FAIL("truncation accepted");
			}
		}
	}
}

static void
msgs_trailing_bytes_extend_fixed_bodies_only(void)
{
	unsigned int t;
	int len;

	for (t = 1; t < TERN_WIRE_TYPE_MAX_; t++) {
		len = sample((uint8_t)t, buf, CAP);
		TERN_CU_ASSERT_FATAL(len > 0);
		memset(buf + len, 0xa5, 16);
		if (exact_length((uint8_t)t)) {
			UT_EQ_INT(tern_wire_decode((uint8_t)t, buf, (uint32_t)len + 1, &msg),
				  TERN_WIRE_REJ_MALFORMED);
		} else {
			/* A later minor version's fields: ignored. */
			UT_EQ_INT(tern_wire_decode((uint8_t)t, buf, (uint32_t)len + 16, &msg),
				  TERN_WIRE_REJ_NONE);
		}
	}
}

static void
msgs_encoders_refuse_a_small_buffer(void)
{
	unsigned int t;
	int len, cap;

	for (t = 1; t < TERN_WIRE_TYPE_MAX_; t++) {
		len = sample((uint8_t)t, buf, CAP);
		TERN_CU_ASSERT_FATAL(len > 0);
		for (cap = 0; cap < len; cap++) {
			if (sample((uint8_t)t, buf2, (uint32_t)cap) != -EMSGSIZE) {
				ut_note("type %u encoded into %d bytes of %d", t, cap, len);
				CU_FAIL("encoder overflowed");
			}
		}
		UT_EQ_INT(sample((uint8_t)t, buf2, (uint32_t)len), len);
		CU_ASSERT(memcmp(buf, buf2, (size_t)len) == 0);
	}
}

static void
msgs_decoders_survive_every_flipped_bit(void)
{
	unsigned int t, bit;
	int len;

	for (t = 1; t < TERN_WIRE_TYPE_MAX_; t++) {
		len = sample((uint8_t)t, buf, CAP);
		for (bit = 0; bit < (unsigned int)len * 8; bit++) {
			enum tern_wire_rej r;

			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			r = tern_wire_decode((uint8_t)t, buf, (uint32_t)len, &msg);
			CU_ASSERT(r == TERN_WIRE_REJ_NONE || r == TERN_WIRE_REJ_MALFORMED ||
				  r == TERN_WIRE_REJ_TOO_BIG || r == TERN_WIRE_REJ_CRC);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
}

/* ---- ENTRIES ---- */

static void
entries_round_trip_without_copying(void)
{
	struct tern_wire_entries it;
	struct tern_wire_entry e;
	int len;
	unsigned int i = 0;

	len = tern_wire_entries_encode(buf, CAP, 99, sample_entries, 3);
	UT_EQ_INT(len, TERN_WIRE_ENTRIES_HDR_LEN + 3 * TERN_WIRE_ENTRY_HDR_LEN + 5 + 0 + 1);
	UT_EQ_INT(tern_wire_entries_decode(buf, (uint32_t)len, &it), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(it.commit_vlsn, 99);
	UT_EQ_INT(it.count, 3);
	UT_EQ_INT(it.first_vlsn, 100);
	UT_EQ_INT(it.last_vlsn, 102);
	while (tern_wire_entries_next(&it, &e)) {
		const struct tern_wire_entry *w = &sample_entries[i];

		TERN_CU_ASSERT_FATAL(i < 3);
		UT_EQ_INT(e.vlsn, w->vlsn);
		UT_EQ_INT(e.term, w->term);
		UT_EQ_INT(e.txn_id, w->txn_id);
		UT_EQ_INT(e.timestamp_ns, w->timestamp_ns);
		UT_EQ_INT(e.type, w->type);
		UT_EQ_INT(e.flags, w->flags);
		UT_EQ_INT(e.len, w->len);
		CU_ASSERT((const uint8_t *)e.data > buf && (const uint8_t *)e.data <= buf + len);
		if (w->len > 0)
			CU_ASSERT(memcmp(e.data, w->data, w->len) == 0);
		i++;
	}
	UT_EQ_INT(i, 3);
	CU_ASSERT(!tern_wire_entries_next(&it, &e));
}

static void
entries_builder_packs_until_full(void)
{
	static uint8_t pay[100];
	struct tern_wire_entries_enc enc;
	struct tern_wire_entries it;
	struct tern_wire_entry e = {.term = 1, .len = sizeof(pay), .data = pay};
	uint32_t cap = TERN_WIRE_ENTRIES_HDR_LEN + 10 * (TERN_WIRE_ENTRY_HDR_LEN + 100) + 139;
	int rc, len;
	unsigned int n = 0;

	UT_EQ_INT(tern_wire_entries_begin(&enc, buf, cap, 5), 0);
	UT_EQ_INT(tern_wire_entries_finish(&enc), -EINVAL); /* nothing in it */
	for (;;) {
		e.vlsn = 1 + n;
		rc = tern_wire_entries_add(&enc, &e);
		if (rc != 0)
			break;
		n++;
	}
	UT_EQ_INT(rc, -EMSGSIZE);
	UT_EQ_INT(n, 10);
	len = tern_wire_entries_finish(&enc);
	UT_EQ_INT(len, cap - 139);
	UT_EQ_INT(tern_wire_entries_decode(buf, (uint32_t)len, &it), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(it.count, 10);
	UT_EQ_INT(it.last_vlsn, 10);
	/* Many small entries in one frame: empty payloads, 40 bytes each. */
	UT_EQ_INT(tern_wire_entries_begin(&enc, buf, 1472 - TERN_WIRE_HDR_LEN, 0), 0);
	e.len = 0;
	for (n = 0;; n++) {
		e.vlsn = 1000 + n;
		if (tern_wire_entries_add(&enc, &e) != 0)
			break;
	}
	UT_EQ_INT(n,
		  (1472 - TERN_WIRE_HDR_LEN - TERN_WIRE_ENTRIES_HDR_LEN) / TERN_WIRE_ENTRY_HDR_LEN);
	UT_EQ_INT(tern_wire_entries_begin(&enc, buf, TERN_WIRE_ENTRIES_HDR_LEN - 1, 0), -EMSGSIZE);
}

static void
entries_encoder_refuses_what_decoders_refuse(void)
{
	struct tern_wire_entry e[2] = {sample_entries[0], sample_entries[1]};
	struct tern_wire_entries_enc enc;

	UT_EQ_INT(tern_wire_entries_encode(buf, CAP, 0, e, 0), -EINVAL);
	e[1].vlsn = 102; /* gap */
	UT_EQ_INT(tern_wire_entries_encode(buf, CAP, 0, e, 2), -EINVAL);
	e[1].vlsn = 100; /* repeat */
	UT_EQ_INT(tern_wire_entries_encode(buf, CAP, 0, e, 2), -EINVAL);
	e[1].vlsn = 101;
	e[1].term = 2; /* term going down */
	UT_EQ_INT(tern_wire_entries_encode(buf, CAP, 0, e, 2), -EINVAL);
	e[1].term = 3;
	e[0].vlsn = 0;
	UT_EQ_INT(tern_wire_entries_encode(buf, CAP, 0, e, 1), -EINVAL);
	e[0].vlsn = 100;
	e[0].data = NULL;
	UT_EQ_INT(tern_wire_entries_encode(buf, CAP, 0, e, 1), -EINVAL);
	e[0].data = payload_a;
	UT_EQ_INT(tern_wire_entries_encode(buf, CAP, 0, e, 2), TERN_WIRE_ENTRIES_HDR_LEN + 85);
	memset(&enc, 0, sizeof(enc));
	UT_EQ_INT(tern_wire_entries_add(&enc, &e[0]), -EINVAL); /* not begun */
}

static void
entries_decoder_rejects_every_broken_rule(void)
{
	struct tern_wire_entries it;
	int len = tern_wire_entries_encode(buf, CAP, 99, sample_entries, 3);
	uint32_t e1 = TERN_WIRE_ENTRIES_HDR_LEN + TERN_WIRE_ENTRY_HDR_LEN + 5; /* 2nd entry */

	TERN_CU_ASSERT_FATAL(len > 0);
	memcpy(buf2, buf, (size_t)len);
#define BROKEN(stmt)                                                                               \
	do {                                                                                       \
		memcpy(buf, buf2, (size_t)len);                                                    \
		stmt;                                                                              \
		UT_EQ_INT(tern_wire_entries_decode(buf, (uint32_t)len, &it),                       \
			  TERN_WIRE_REJ_MALFORMED);                                                \
	} while (0)
	BROKEN(put_le16(buf + 8, 0));				   /* count 0 */
	BROKEN(put_le16(buf + 8, 4));				   /* more than there are */
	BROKEN(put_le16(buf + 8, 2));				   /* fewer: bytes left over */
	BROKEN(put_le64(buf + TERN_WIRE_ENTRIES_HDR_LEN, 0));	   /* VLSN 0 */
	BROKEN(put_le64(buf + e1, 105));			   /* gap */
	BROKEN(put_le64(buf + e1, 100));			   /* repeat */
	BROKEN(put_le64(buf + e1 + 8, 2));			   /* term going down */
	BROKEN(put_le32(buf + e1 + 36, 1000));			   /* length past the end */
	BROKEN(put_le32(buf + e1 + 36, 0xffffffffU));		   /* length wrapping */
	BROKEN(put_le32(buf + TERN_WIRE_ENTRIES_HDR_LEN + 36, 4)); /* length too short */
#undef BROKEN
	memcpy(buf, buf2, (size_t)len);
	UT_EQ_INT(tern_wire_entries_decode(buf, (uint32_t)len, &it), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(tern_wire_entries_decode(buf, 0, &it), TERN_WIRE_REJ_MALFORMED);
}

/* ---- ENTRY_FRAGMENT ---- */

static void
fragment_round_trip(void)
{
	struct tern_wire_fragment out;
	int len = sample(TERN_WIRE_ENTRY_FRAGMENT, buf, CAP);

	UT_EQ_INT(len, TERN_WIRE_FRAGMENT_HDR_LEN + 5);
	UT_EQ_INT(tern_wire_fragment_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.vlsn, 7);
	UT_EQ_INT(out.term, 2);
	UT_EQ_INT(out.txn_id, 3);
	UT_EQ_INT(out.timestamp_ns, 4);
	UT_EQ_INT(out.type, 5);
	UT_EQ_INT(out.flags, 6);
	UT_EQ_INT(out.total_len, 1000);
	UT_EQ_INT(out.offset, 995);
	UT_EQ_INT(out.len, 5);
	CU_ASSERT(out.data == buf + TERN_WIRE_FRAGMENT_HDR_LEN);
}

static void
fragment_rules_hold_both_ways(void)
{
	struct tern_wire_fragment f = {.vlsn = 1,
				       .total_len = 10,
				       .offset = 0,
				       .len = 5,
				       .data = payload_a},
				  out, g;
	int len;

	UT_EQ_INT(tern_wire_fragment_encode(buf, CAP, &f), TERN_WIRE_FRAGMENT_HDR_LEN + 5);
	g = f, g.vlsn = 0;
	UT_EQ_INT(tern_wire_fragment_encode(buf, CAP, &g), -EINVAL);
	g = f, g.len = 0;
	UT_EQ_INT(tern_wire_fragment_encode(buf, CAP, &g), -EINVAL);
	g = f, g.offset = 6;
	UT_EQ_INT(tern_wire_fragment_encode(buf, CAP, &g), -EINVAL);
	g = f, g.total_len = TERN_WIRE_ENTRY_MAX + 1, g.offset = TERN_WIRE_ENTRY_MAX - 4;
	UT_EQ_INT(tern_wire_fragment_encode(buf, CAP, &g), -EINVAL);
	g = f, g.data = NULL;
	UT_EQ_INT(tern_wire_fragment_encode(buf, CAP, &g), -EINVAL);
	/* An entry of the largest size: its last fragment encodes. */
	g = f, g.total_len = TERN_WIRE_ENTRY_MAX, g.offset = TERN_WIRE_ENTRY_MAX - 5;
	UT_EQ_INT(tern_wire_fragment_encode(buf, CAP, &g), TERN_WIRE_FRAGMENT_HDR_LEN + 5);
	UT_EQ_INT(tern_wire_fragment_decode(buf, TERN_WIRE_FRAGMENT_HDR_LEN + 5, &out),
		  TERN_WIRE_REJ_NONE);

	len = tern_wire_fragment_encode(buf, CAP, &f);
	put_le32(buf + 36, TERN_WIRE_ENTRY_MAX + 1); /* total_len */
	UT_EQ_INT(tern_wire_fragment_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_TOO_BIG);
	put_le32(buf + 36, 0);
	UT_EQ_INT(tern_wire_fragment_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le32(buf + 36, 10);
	put_le32(buf + 40, 0xfffffffeU); /* offset wrapping */
	UT_EQ_INT(tern_wire_fragment_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le32(buf + 40, 0);
	put_le32(buf + 44, 4); /* len disagrees with the bytes */
	UT_EQ_INT(tern_wire_fragment_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le32(buf + 44, 0);
	UT_EQ_INT(tern_wire_fragment_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le32(buf + 44, 5);
	put_le64(buf, 0);
	UT_EQ_INT(tern_wire_fragment_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
}

/* ---- ACK, NAK ---- */

static void
ack_round_trip_and_rules(void)
{
	struct tern_wire_ack m = {.received_vlsn = 50, .durable_vlsn = 50, .credit = 1,
				  .hold_us = 123456},
			     out;
	int len = tern_wire_ack_encode(buf, CAP, &m);

	UT_EQ_INT(len, TERN_WIRE_ACK_LEN);
	UT_EQ_INT(tern_wire_ack_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.received_vlsn, 50);
	UT_EQ_INT(out.durable_vlsn, 50);
	UT_EQ_INT(out.credit, 1);
	UT_EQ_INT(out.hold_us, 123456);
	/* An older peer's ACK (minor version 0) ends before hold_us: it reads as 0. */
	UT_EQ_INT(tern_wire_ack_decode(buf, TERN_WIRE_ACK_MIN_LEN, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.credit, 1);
	UT_EQ_INT(out.hold_us, 0);
	UT_EQ_INT(tern_wire_ack_decode(buf, TERN_WIRE_ACK_MIN_LEN + 2, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.hold_us, 0);
	UT_EQ_INT(tern_wire_ack_decode(buf, TERN_WIRE_ACK_MIN_LEN - 1, &out),
		  TERN_WIRE_REJ_MALFORMED);
	m.durable_vlsn = 51;
	UT_EQ_INT(tern_wire_ack_encode(buf, CAP, &m), -EINVAL);
	put_le64(buf + 8, 51);
	UT_EQ_INT(tern_wire_ack_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
}

static void
nak_round_trip_and_rules(void)
{
	struct tern_wire_nak m, out;
	unsigned int i;
	int len;

	memset(&m, 0, sizeof(m));
	m.n = TERN_WIRE_NAK_RANGES_MAX;
	for (i = 0; i < m.n; i++) {
		m.range[i].first = 20 * i + 1;
		m.range[i].last = 20 * i + 1 + i;
	}
	len = tern_wire_nak_encode(buf, CAP, &m);
	UT_EQ_INT(len, TERN_WIRE_NAK_HDR_LEN + TERN_WIRE_NAK_RANGES_MAX * TERN_WIRE_NAK_RANGE_LEN);
	UT_EQ_INT(tern_wire_nak_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.n, m.n);
	for (i = 0; i < m.n; i++) {
		UT_EQ_INT(out.range[i].first, m.range[i].first);
		UT_EQ_INT(out.range[i].last, m.range[i].last);
	}
	memcpy(buf2, buf, (size_t)len);
	m.n = 0;
	UT_EQ_INT(tern_wire_nak_encode(buf, CAP, &m), -EINVAL);
	m.n = TERN_WIRE_NAK_RANGES_MAX + 1;
	UT_EQ_INT(tern_wire_nak_encode(buf, CAP, &m), -EINVAL);
	m.n = 2;
	m.range[1].first = m.range[0].last; /* overlapping */
	UT_EQ_INT(tern_wire_nak_encode(buf, CAP, &m), -EINVAL);
	m.range[0].first = 0;
	m.n = 1;
	UT_EQ_INT(tern_wire_nak_encode(buf, CAP, &m), -EINVAL);
	m.range[0].first = 5;
	m.range[0].last = 4; /* backwards */
	UT_EQ_INT(tern_wire_nak_encode(buf, CAP, &m), -EINVAL);

	put_le16(buf2, 0);
	UT_EQ_INT(tern_wire_nak_decode(buf2, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le16(buf2, TERN_WIRE_NAK_RANGES_MAX + 1);
	UT_EQ_INT(tern_wire_nak_decode(buf2, (uint32_t)len + 16, &out), TERN_WIRE_REJ_MALFORMED);
	put_le16(buf2, 15); /* count below the bytes */
	UT_EQ_INT(tern_wire_nak_decode(buf2, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le16(buf2, 16);
	put_le64(buf2 + 4 + 16, 1); /* second range starts inside the first */
	UT_EQ_INT(tern_wire_nak_decode(buf2, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le64(buf2 + 4 + 16, 11);
	UT_EQ_INT(tern_wire_nak_decode(buf2, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	put_le64(buf2 + 4, 0); /* VLSN 0 */
	UT_EQ_INT(tern_wire_nak_decode(buf2, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
}

/* ---- HEARTBEAT ---- */

static void
heartbeat_round_trip_and_rules(void)
{
	struct tern_wire_heartbeat m = {.commit_vlsn = 10,
					.last_vlsn = 12,
					.timestamp_ns = 0x1122334455667788ULL,
					.seq = 3},
				   out;
	struct tern_wire_heartbeat_reply rm = {.echo_timestamp_ns = 0x1122334455667788ULL,
					       .received_vlsn = 12,
					       .durable_vlsn = 12,
					       .echo_seq = 3},
					 rout;
	int len = tern_wire_heartbeat_encode(buf, CAP, &m);

	UT_EQ_INT(tern_wire_heartbeat_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.commit_vlsn, 10);
	UT_EQ_INT(out.last_vlsn, 12);
	UT_EQ_INT(out.timestamp_ns, 0x1122334455667788ULL);
	UT_EQ_INT(out.seq, 3);
	UT_EQ_INT(buf[16], 0x88); /* little-endian on the wire */
	put_le64(buf, 13);	  /* commit past last */
	UT_EQ_INT(tern_wire_heartbeat_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	m.commit_vlsn = 13;
	UT_EQ_INT(tern_wire_heartbeat_encode(buf, CAP, &m), -EINVAL);

	len = tern_wire_heartbeat_reply_encode(buf, CAP, &rm);
	UT_EQ_INT(len, TERN_WIRE_HEARTBEAT_REPLY_LEN);
	UT_EQ_INT(tern_wire_heartbeat_reply_decode(buf, (uint32_t)len, &rout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(rout.echo_timestamp_ns, rm.echo_timestamp_ns);
	UT_EQ_INT(rout.received_vlsn, 12);
	UT_EQ_INT(rout.durable_vlsn, 12);
	UT_EQ_INT(rout.echo_seq, 3);
	put_le64(buf + 16, 13); /* durable past received */
	UT_EQ_INT(tern_wire_heartbeat_reply_decode(buf, (uint32_t)len, &rout),
		  TERN_WIRE_REJ_MALFORMED);
	rm.durable_vlsn = 13;
	UT_EQ_INT(tern_wire_heartbeat_reply_encode(buf, CAP, &rm), -EINVAL);
}

/* ---- SYNCUP ---- */

static void
syncup_round_trip_and_rules(void)
{
	struct tern_wire_syncup_req out, m;
	struct tern_wire_syncup_reply rout, rm;
	int len = sample(TERN_WIRE_SYNCUP_REQ, buf, CAP);

	UT_EQ_INT(len, TERN_WIRE_SYNCUP_REQ_HDR_LEN + 3 * TERN_WIRE_SYNCUP_PROBE_LEN);
	UT_EQ_INT(tern_wire_syncup_req_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.req_id, 5);
	UT_EQ_INT(out.n, 3);
	UT_EQ_INT(out.first_vlsn, 1);
	UT_EQ_INT(out.last_vlsn, 100);
	UT_EQ_INT(out.probe[1].vlsn, 90);
	UT_EQ_INT(out.probe[2].term, 2);
	m = out;
	m.probe[1].vlsn = 100; /* not descending */
	UT_EQ_INT(tern_wire_syncup_req_encode(buf2, CAP, &m), -EINVAL);
	m = out;
	m.probe[1].term = 5; /* term rising going back */
	UT_EQ_INT(tern_wire_syncup_req_encode(buf2, CAP, &m), -EINVAL);
	m = out;
	m.probe[0].vlsn = 101; /* past the log */
	UT_EQ_INT(tern_wire_syncup_req_encode(buf2, CAP, &m), -EINVAL);
	m = out;
	m.first_vlsn = 60; /* probe before the log */
	UT_EQ_INT(tern_wire_syncup_req_encode(buf2, CAP, &m), -EINVAL);
	m = out;
	m.first_vlsn = 101;
	m.n = 0;
	UT_EQ_INT(tern_wire_syncup_req_encode(buf2, CAP, &m), -EINVAL);
	m = out;
	m.n = TERN_WIRE_SYNCUP_PROBES_MAX + 1;
	UT_EQ_INT(tern_wire_syncup_req_encode(buf2, CAP, &m), -EINVAL);
	/* An empty log: no probes. */
	memset(&m, 0, sizeof(m));
	len = tern_wire_syncup_req_encode(buf2, CAP, &m);
	UT_EQ_INT(len, TERN_WIRE_SYNCUP_REQ_HDR_LEN);
	UT_EQ_INT(tern_wire_syncup_req_decode(buf2, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	put_le16(buf2 + 4, 1); /* a probe counted, none there */
	UT_EQ_INT(tern_wire_syncup_req_decode(buf2, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);
	put_le16(buf2 + 4, TERN_WIRE_SYNCUP_PROBES_MAX + 1);
	UT_EQ_INT(tern_wire_syncup_req_decode(buf2, CAP, &out), TERN_WIRE_REJ_MALFORMED);
	len = sample(TERN_WIRE_SYNCUP_REQ, buf, CAP);
	put_le64(buf + 24 + 16, 100); /* second probe repeats the first */
	UT_EQ_INT(tern_wire_syncup_req_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_MALFORMED);

	len = sample(TERN_WIRE_SYNCUP_REPLY, buf, CAP);
	UT_EQ_INT(tern_wire_syncup_reply_decode(buf, (uint32_t)len, &rout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(rout.req_id, 5);
	UT_EQ_INT(rout.status, TERN_WIRE_SYNCUP_MATCH);
	UT_EQ_INT(rout.match_vlsn, 90);
	UT_EQ_INT(rout.match_term, 4);
	UT_EQ_INT(rout.first_vlsn, 1);
	UT_EQ_INT(rout.last_vlsn, 200);
	UT_EQ_INT(rout.commit_vlsn, 150);
	rm = rout;
	rm.status = 0;
	UT_EQ_INT(tern_wire_syncup_reply_encode(buf2, CAP, &rm), -EINVAL);
	rm.status = TERN_WIRE_SYNCUP_NOT_MASTER + 1;
	UT_EQ_INT(tern_wire_syncup_reply_encode(buf2, CAP, &rm), -EINVAL);
	rm = rout;
	rm.match_vlsn = 201;
	UT_EQ_INT(tern_wire_syncup_reply_encode(buf2, CAP, &rm), -EINVAL);
	rm.status = TERN_WIRE_SYNCUP_NEEDS_RESTORE; /* match_vlsn means nothing then */
	UT_EQ_INT(tern_wire_syncup_reply_encode(buf2, CAP, &rm), TERN_WIRE_SYNCUP_REPLY_LEN);
	rm = rout;
	rm.commit_vlsn = 201;
	UT_EQ_INT(tern_wire_syncup_reply_encode(buf2, CAP, &rm), -EINVAL);
	rm = rout;
	rm.first_vlsn = 201;
	UT_EQ_INT(tern_wire_syncup_reply_encode(buf2, CAP, &rm), -EINVAL);
	buf[4] = 9; /* unknown status */
	UT_EQ_INT(tern_wire_syncup_reply_decode(buf, (uint32_t)len, &rout),
		  TERN_WIRE_REJ_MALFORMED);
}

/* ---- Elections ---- */

static void
election_messages_round_trip_and_rules(void)
{
	struct tern_wire_propose p = {.proposal = 8}, pout;
	struct tern_wire_promise pr, prout;
	struct tern_wire_ballot b = {.proposal = 8, .master = 3}, bout;
	int len;

	len = tern_wire_propose_encode(buf, CAP, &p);
	UT_EQ_INT(tern_wire_propose_decode(buf, (uint32_t)len, &pout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(pout.proposal, 8);
	p.proposal = 0;
	UT_EQ_INT(tern_wire_propose_encode(buf, CAP, &p), -EINVAL);
	put_le64(buf, 0);
	UT_EQ_INT(tern_wire_propose_decode(buf, (uint32_t)len, &pout), TERN_WIRE_REJ_MALFORMED);

	len = sample(TERN_WIRE_PROMISE, buf, CAP);
	UT_EQ_INT(tern_wire_promise_decode(buf, (uint32_t)len, &prout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(prout.proposal, 8);
	UT_EQ_INT(prout.last_term, 7);
	UT_EQ_INT(prout.last_vlsn, 1000);
	UT_EQ_INT(prout.accepted_proposal, 6);
	UT_EQ_INT(prout.priority, 3);
	UT_EQ_INT(prout.accepted_master, 2);
	UT_EQ_INT(prout.node_type, TERN_WIRE_NODE_ELECTABLE);
	pr = prout;
	pr.node_type = 0;
	UT_EQ_INT(tern_wire_promise_encode(buf2, CAP, &pr), -EINVAL);
	pr.node_type = TERN_WIRE_NODE_MONITOR + 1;
	UT_EQ_INT(tern_wire_promise_encode(buf2, CAP, &pr), -EINVAL);
	pr = prout;
	pr.accepted_proposal = 8; /* not below the proposal */
	UT_EQ_INT(tern_wire_promise_encode(buf2, CAP, &pr), -EINVAL);
	pr = prout;
	pr.accepted_master = TERN_WIRE_NODE_ALL;
	UT_EQ_INT(tern_wire_promise_encode(buf2, CAP, &pr), -EINVAL);
	pr.accepted_proposal = 0; /* nothing accepted: the master field means nothing */
	UT_EQ_INT(tern_wire_promise_encode(buf2, CAP, &pr), TERN_WIRE_PROMISE_LEN);
	pr = prout;
	pr.proposal = 0;
	UT_EQ_INT(tern_wire_promise_encode(buf2, CAP, &pr), -EINVAL);
	buf[38] = 9; /* node type */
	UT_EQ_INT(tern_wire_promise_decode(buf, (uint32_t)len, &prout), TERN_WIRE_REJ_MALFORMED);

	len = tern_wire_accept_encode(buf, CAP, &b);
	UT_EQ_INT(len, TERN_WIRE_BALLOT_LEN);
	UT_EQ_INT(tern_wire_accept_decode(buf, (uint32_t)len, &bout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(bout.proposal, 8);
	UT_EQ_INT(bout.master, 3);
	UT_EQ_INT(tern_wire_accepted_encode(buf, CAP, &b), TERN_WIRE_BALLOT_LEN);
	UT_EQ_INT(tern_wire_accepted_decode(buf, (uint32_t)len, &bout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(tern_wire_result_encode(buf, CAP, &b), TERN_WIRE_BALLOT_LEN);
	UT_EQ_INT(tern_wire_result_decode(buf, (uint32_t)len, &bout), TERN_WIRE_REJ_NONE);
	put_le16(buf + 8, TERN_WIRE_NODE_ALL);
	UT_EQ_INT(tern_wire_result_decode(buf, (uint32_t)len, &bout), TERN_WIRE_REJ_MALFORMED);
	UT_EQ_INT(tern_wire_accept_decode(buf, (uint32_t)len, &bout), TERN_WIRE_REJ_MALFORMED);
	UT_EQ_INT(tern_wire_accepted_decode(buf, (uint32_t)len, &bout), TERN_WIRE_REJ_MALFORMED);
	b.master = TERN_WIRE_NODE_MAX + 1;
	UT_EQ_INT(tern_wire_accept_encode(buf, CAP, &b), -EINVAL);
	UT_EQ_INT(tern_wire_accepted_encode(buf, CAP, &b), -EINVAL);
	UT_EQ_INT(tern_wire_result_encode(buf, CAP, &b), -EINVAL);
	b.master = 1;
	b.proposal = 0;
	UT_EQ_INT(tern_wire_result_encode(buf, CAP, &b), -EINVAL);
}

/* ---- GROUP_UPDATE ---- */

static void
group_update_round_trip(void)
{
	struct tern_wire_group_update g = sample_group(), out;
	unsigned int i;
	int len = tern_wire_group_update_encode(buf, CAP, &g);

	UT_EQ_INT(len, TERN_WIRE_GROUP_HDR_LEN + 3 * TERN_WIRE_MEMBER_LEN);
	UT_EQ_INT(tern_wire_group_update_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.group_version, 12);
	UT_EQ_INT(out.op, TERN_WIRE_GROUP_OP_SNAPSHOT);
	UT_EQ_INT(out.total, 5);
	UT_EQ_INT(out.first, 1);
	UT_EQ_INT(out.n, 3);
	for (i = 0; i < 3; i++) {
		UT_EQ_INT(out.member[i].node_id, g.member[i].node_id);
		UT_EQ_INT(out.member[i].type, g.member[i].type);
		UT_EQ_INT(out.member[i].flags, g.member[i].flags);
		UT_EQ_INT(out.member[i].priority, g.member[i].priority);
		UT_EQ_INT(out.member[i].ipv4, g.member[i].ipv4);
		UT_EQ_INT(out.member[i].udp_port, g.member[i].udp_port);
		CU_ASSERT(memcmp(out.member[i].mac, g.member[i].mac, 6) == 0);
		CU_ASSERT(strcmp(out.member[i].name, g.member[i].name) == 0);
	}
	CU_ASSERT(strcmp(out.member[2].name, "sixteen-chars-xy") == 0);
	/* A full group fits a jumbo frame. */
	memset(&g, 0, sizeof(g));
	g.op = TERN_WIRE_GROUP_OP_SNAPSHOT;
	g.total = g.n = TERN_WIRE_GROUP_MEMBERS_MAX;
	for (i = 0; i < g.n; i++) {
		g.member[i].node_id = (uint16_t)i;
		g.member[i].type = TERN_WIRE_NODE_SECONDARY;
	}
	len = tern_wire_group_update_encode(buf, CAP, &g);
	UT_EQ_INT(len, TERN_WIRE_GROUP_HDR_LEN + 64 * TERN_WIRE_MEMBER_LEN);
	UT_EQ_INT(tern_wire_group_update_decode(buf, (uint32_t)len, &out), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(out.member[63].node_id, 63);
	CU_ASSERT(out.member[63].name[0] == '\0');
}

static void
group_update_rules_hold_both_ways(void)
{
	struct tern_wire_group_update g0 = sample_group(), g, out;
	uint8_t *m1 = buf + TERN_WIRE_GROUP_HDR_LEN + TERN_WIRE_MEMBER_LEN; /* 2nd member */
	int len = tern_wire_group_update_encode(buf, CAP, &g0);

#define REFUSED(stmt)                                                                              \
	do {                                                                                       \
		g = g0;                                                                            \
		stmt;                                                                              \
		UT_EQ_INT(tern_wire_group_update_encode(buf2, CAP, &g), -EINVAL);                  \
	} while (0)
	REFUSED(g.op = 0);
	REFUSED(g.op = TERN_WIRE_GROUP_OP_CHANGE + 1);
	REFUSED(g.n = 0);
	REFUSED(g.total = 3);				    /* first + n > total */
	REFUSED(g.total = TERN_WIRE_GROUP_MEMBERS_MAX + 1); /* group too large */
	REFUSED(g.op = TERN_WIRE_GROUP_OP_ADD);		    /* one member only */
	REFUSED(g.member[1].node_id = g.member[0].node_id);
	REFUSED(g.member[1].node_id = TERN_WIRE_NODE_ALL);
	REFUSED(g.member[1].type = 0);
	REFUSED(g.member[1].name[2] = ' ');
	REFUSED(g.member[1].name[2] = '\n');
	REFUSED(memset(g.member[1].name, 'x', sizeof(g.member[1].name))); /* unterminated */
#undef REFUSED
	g = g0;
	g.op = TERN_WIRE_GROUP_OP_REMOVE;
	g.total = g.n = 1;
	g.first = 0;
	UT_EQ_INT(tern_wire_group_update_encode(buf2, CAP, &g),
		  TERN_WIRE_GROUP_HDR_LEN + TERN_WIRE_MEMBER_LEN);

	memcpy(buf2, buf, (size_t)len);
#define BROKEN(stmt)                                                                               \
	do {                                                                                       \
		memcpy(buf, buf2, (size_t)len);                                                    \
		stmt;                                                                              \
		UT_EQ_INT(tern_wire_group_update_decode(buf, (uint32_t)len, &out),                 \
			  TERN_WIRE_REJ_MALFORMED);                                                \
	} while (0)
	BROKEN(buf[8] = 7);		   /* op */
	BROKEN(put_le16(buf + 14, 2));	   /* n below the bytes */
	BROKEN(put_le16(buf + 14, 4));	   /* n above the bytes */
	BROKEN(put_le16(buf + 14, 65535)); /* n absurd */
	BROKEN(put_le16(buf + 10, 3));	   /* total below first + n */
	BROKEN(put_le16(buf + 10, 65));	   /* total above the maximum */
	BROKEN(put_le16(m1, 10));	   /* duplicate id */
	BROKEN(put_le16(m1, 0xffff));	   /* id out of range */
	BROKEN(m1[2] = 5);		   /* type */
	BROKEN(m1[20 + 1] = 0x01);	   /* control character in the name */
	BROKEN(m1[20 + 2] = 0);		   /* NUL inside the name, then more */
	BROKEN(m1[20 + 15] = 'z');	   /* text after the padding */
#undef BROKEN
}

/* ---- ADMIN ---- */

static void
admin_round_trip_and_rules(void)
{
	struct tern_wire_admin_req q, qout;
	struct tern_wire_admin_reply r, rout;
	int len = sample(TERN_WIRE_ADMIN_REQ, buf, CAP);

	UT_EQ_INT(tern_wire_admin_req_decode(buf, (uint32_t)len, &qout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(qout.req_id, 1);
	UT_EQ_INT(qout.op, TERN_WIRE_ADMIN_TRANSFER_MASTER);
	UT_EQ_INT(qout.flags, TERN_WIRE_ADMIN_F_FORCE);
	UT_EQ_INT(qout.target, 3);
	UT_EQ_INT(qout.timeout_ms, 5000);
	q = qout;
	q.op = 0;
	UT_EQ_INT(tern_wire_admin_req_encode(buf2, CAP, &q), -EINVAL);
	q.op = TERN_WIRE_ADMIN_SHUTDOWN_GROUP + 1;
	UT_EQ_INT(tern_wire_admin_req_encode(buf2, CAP, &q), -EINVAL);
	q = qout;
	q.target = TERN_WIRE_NODE_MAX + 1;
	UT_EQ_INT(tern_wire_admin_req_encode(buf2, CAP, &q), -EINVAL);
	q.target = TERN_WIRE_NODE_ALL; /* any electable node */
	UT_EQ_INT(tern_wire_admin_req_encode(buf2, CAP, &q), TERN_WIRE_ADMIN_REQ_LEN);
	buf[4] = 0;
	UT_EQ_INT(tern_wire_admin_req_decode(buf, (uint32_t)len, &qout), TERN_WIRE_REJ_MALFORMED);

	len = sample(TERN_WIRE_ADMIN_REPLY, buf, CAP);
	UT_EQ_INT(len, TERN_WIRE_ADMIN_REPLY_HDR_LEN + 36);
	UT_EQ_INT(tern_wire_admin_reply_decode(buf, (uint32_t)len, &rout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(rout.req_id, 1);
	UT_EQ_INT(rout.result, -110);
	UT_EQ_INT(rout.op, TERN_WIRE_ADMIN_TRANSFER_MASTER);
	UT_EQ_INT(rout.state, TERN_WIRE_STATE_MASTER);
	UT_EQ_INT(rout.master, 1);
	UT_EQ_INT(rout.term, 9);
	UT_EQ_INT(rout.last_vlsn, 500);
	UT_EQ_INT(rout.commit_vlsn, 499);
	UT_EQ_INT(rout.durable_vlsn, 498);
	CU_ASSERT(strcmp(rout.text, "target 3 did not catch up in 5000 ms") == 0);
	r = rout;
	r.result = 1;
	UT_EQ_INT(tern_wire_admin_reply_encode(buf2, CAP, &r), -EINVAL);
	r = rout;
	r.state = 0;
	UT_EQ_INT(tern_wire_admin_reply_encode(buf2, CAP, &r), -EINVAL);
	r.state = TERN_WIRE_STATE_SHUTDOWN + 1;
	UT_EQ_INT(tern_wire_admin_reply_encode(buf2, CAP, &r), -EINVAL);
	r = rout;
	r.op = 4;
	UT_EQ_INT(tern_wire_admin_reply_encode(buf2, CAP, &r), -EINVAL);
	r = rout;
	r.text[3] = '\t';
	UT_EQ_INT(tern_wire_admin_reply_encode(buf2, CAP, &r), -EINVAL);
	memset(r.text, 'a', sizeof(r.text)); /* unterminated */
	UT_EQ_INT(tern_wire_admin_reply_encode(buf2, CAP, &r), -EINVAL);
	r.text[TERN_WIRE_ADMIN_TEXT_MAX] = '\0'; /* the longest text */
	len = tern_wire_admin_reply_encode(buf2, CAP, &r);
	UT_EQ_INT(len, TERN_WIRE_ADMIN_REPLY_HDR_LEN + TERN_WIRE_ADMIN_TEXT_MAX);
	UT_EQ_INT(tern_wire_admin_reply_decode(buf2, (uint32_t)len, &rout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(strlen(rout.text), TERN_WIRE_ADMIN_TEXT_MAX);

	len = sample(TERN_WIRE_ADMIN_REPLY, buf, CAP);
	memcpy(buf2, buf, (size_t)len);
	put_le16(buf + 44, 35); /* text length below the bytes */
	UT_EQ_INT(tern_wire_admin_reply_decode(buf, (uint32_t)len, &rout), TERN_WIRE_REJ_MALFORMED);
	put_le16(buf + 44, 37);
	UT_EQ_INT(tern_wire_admin_reply_decode(buf, (uint32_t)len, &rout), TERN_WIRE_REJ_MALFORMED);
	put_le16(buf + 44, TERN_WIRE_ADMIN_TEXT_MAX + 1);
	UT_EQ_INT(tern_wire_admin_reply_decode(buf, CAP, &rout), TERN_WIRE_REJ_MALFORMED);
	memcpy(buf, buf2, (size_t)len);
	buf[46 + 4] = 0; /* NUL inside the text */
	UT_EQ_INT(tern_wire_admin_reply_decode(buf, (uint32_t)len, &rout), TERN_WIRE_REJ_MALFORMED);
	memcpy(buf, buf2, (size_t)len);
	put_le32(buf + 4, 5); /* positive result */
	UT_EQ_INT(tern_wire_admin_reply_decode(buf, (uint32_t)len, &rout), TERN_WIRE_REJ_MALFORMED);
}

/* ---- RESTORE ---- */

static void
restore_messages_round_trip(void)
{
	struct tern_wire_restore_req q;
	struct tern_wire_restore_chunk c;
	struct tern_wire_restore_chunk_ack a;
	int len;

	len = sample(TERN_WIRE_RESTORE_REQ, buf, CAP);
	UT_EQ_INT(tern_wire_restore_req_decode(buf, (uint32_t)len, &q), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(q.session, 77);
	UT_EQ_INT(q.op, TERN_WIRE_RESTORE_RESUME);
	UT_EQ_INT(q.file, 2);
	UT_EQ_INT(q.max_chunk, 8192);
	UT_EQ_INT(q.offset, 65536);

	len = sample(TERN_WIRE_RESTORE_CHUNK, buf, CAP);
	UT_EQ_INT(len, TERN_WIRE_RESTORE_CHUNK_HDR_LEN + 12 + 5);
	UT_EQ_INT(tern_wire_restore_chunk_decode(buf, (uint32_t)len, &c), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(c.session, 77);
	UT_EQ_INT(c.file, 2);
	UT_EQ_INT(c.flags, TERN_WIRE_RESTORE_F_LAST_IN_FILE);
	UT_EQ_INT(c.offset, 65536);
	UT_EQ_INT(c.file_size, 65541);
	UT_EQ_INT(c.len, 5);
	CU_ASSERT(strcmp(c.name, "00000002.tlg") == 0);
	CU_ASSERT(c.data == buf + len - 5);
	CU_ASSERT(memcmp(c.data, "hello", 5) == 0);

	len = sample(TERN_WIRE_RESTORE_CHUNK_ACK, buf, CAP);
	UT_EQ_INT(tern_wire_restore_chunk_ack_decode(buf, (uint32_t)len, &a), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(a.session, 77);
	UT_EQ_INT(a.file, 2);
	UT_EQ_INT(a.next_offset, 65541);
	UT_EQ_INT(a.status, 0);
	UT_EQ_INT(a.credit, 8);
}

static void
restore_rules_hold_both_ways(void)
{
	struct tern_wire_restore_req q = {.session = 1,
					  .op = TERN_WIRE_RESTORE_START,
					  .max_chunk = 1},
				     qout;
	struct tern_wire_restore_chunk c0 = {.session = 1,
					     .offset = 0,
					     .file_size = 5,
					     .len = 5,
					     .data = payload_a},
				       c, cout;
	struct tern_wire_restore_chunk_ack a = {.status = -5}, aout;
	const char *bad_names[] = {"", ".", "..", "a/b", "a\\b", "a b", "\x01"};
	unsigned int i;
	int len;

	UT_EQ_INT(tern_wire_restore_req_encode(buf, CAP, &q), TERN_WIRE_RESTORE_REQ_LEN);
	q.file = 1; /* START is from the beginning */
	UT_EQ_INT(tern_wire_restore_req_encode(buf2, CAP, &q), -EINVAL);
	q.file = 0;
	q.offset = 1;
	UT_EQ_INT(tern_wire_restore_req_encode(buf2, CAP, &q), -EINVAL);
	q.offset = 0;
	q.max_chunk = 0;
	UT_EQ_INT(tern_wire_restore_req_encode(buf2, CAP, &q), -EINVAL);
	q.max_chunk = 1;
	q.op = TERN_WIRE_RESTORE_ABORT + 1;
	UT_EQ_INT(tern_wire_restore_req_encode(buf2, CAP, &q), -EINVAL);
	buf[4] = 0;
	UT_EQ_INT(tern_wire_restore_req_decode(buf, TERN_WIRE_RESTORE_REQ_LEN, &qout),
		  TERN_WIRE_REJ_MALFORMED);

	strcpy(c0.name, "snapshot");
	for (i = 0; i < TERN_DIM(bad_names); i++) {
		c = c0;
		strcpy(c.name, bad_names[i]);
		UT_EQ_INT(tern_wire_restore_chunk_encode(buf, CAP, &c), -EINVAL);
	}
	c = c0;
	memset(c.name, 'n', sizeof(c.name)); /* unterminated: too long */
	UT_EQ_INT(tern_wire_restore_chunk_encode(buf, CAP, &c), -EINVAL);
	c.name[TERN_WIRE_RESTORE_NAME_MAX] = '\0'; /* the longest name */
	UT_EQ_INT(tern_wire_restore_chunk_encode(buf, CAP, &c),
		  TERN_WIRE_RESTORE_CHUNK_HDR_LEN + TERN_WIRE_RESTORE_NAME_MAX + 5);
	c = c0;
	c.offset = 1; /* past the file's end */
	UT_EQ_INT(tern_wire_restore_chunk_encode(buf, CAP, &c), -EINVAL);
	c = c0;
	c.offset = UINT64_MAX - 1; /* wrapping */
	c.file_size = UINT64_MAX;
	UT_EQ_INT(tern_wire_restore_chunk_encode(buf, CAP, &c), -EINVAL);
	c = c0;
	c.file_size = 6;
	c.flags = TERN_WIRE_RESTORE_F_LAST_IN_FILE; /* but it is not */
	UT_EQ_INT(tern_wire_restore_chunk_encode(buf, CAP, &c), -EINVAL);
	c.data = NULL;
	c.flags = 0;
	UT_EQ_INT(tern_wire_restore_chunk_encode(buf, CAP, &c), -EINVAL);
	/* An empty chunk (an empty file) is fine. */
	c = c0;
	c.len = 0;
	c.file_size = 0;
	c.data = NULL;
	c.flags = TERN_WIRE_RESTORE_F_LAST_IN_FILE | TERN_WIRE_RESTORE_F_LAST_FILE;
	len = tern_wire_restore_chunk_encode(buf, CAP, &c);
	UT_EQ_INT(len, TERN_WIRE_RESTORE_CHUNK_HDR_LEN + 8);
	UT_EQ_INT(tern_wire_restore_chunk_decode(buf, (uint32_t)len, &cout), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(cout.len, 0);

	len = tern_wire_restore_chunk_encode(buf, CAP, &c0);
	memcpy(buf2, buf, (size_t)len);
	buf[len - 1] ^= 1; /* the data: its own CRC catches it */
	UT_EQ_INT(tern_wire_restore_chunk_decode(buf, (uint32_t)len, &cout), TERN_WIRE_REJ_CRC);
#define BROKEN(stmt)                                                                               \
	do {                                                                                       \
		memcpy(buf, buf2, (size_t)len);                                                    \
		stmt;                                                                              \
		UT_EQ_INT(tern_wire_restore_chunk_decode(buf, (uint32_t)len, &cout),               \
			  TERN_WIRE_REJ_MALFORMED);                                                \
	} while (0)
	BROKEN(buf[7] = 0);			 /* no name */
	BROKEN(buf[7] = 9);			 /* name longer than its bytes */
	BROKEN(buf[7] = 200);			 /* name beyond the maximum */
	BROKEN(buf[32 + 1] = '/');		 /* a path */
	BROKEN(put_le32(buf + 28, 4));		 /* len below the bytes */
	BROKEN(put_le32(buf + 28, 0xffffffffU)); /* len absurd */
	BROKEN(put_le64(buf + 16, 4));		 /* file smaller than the chunk */
	BROKEN(buf[6] = TERN_WIRE_RESTORE_F_LAST_IN_FILE; put_le64(buf + 16, 9));
#undef BROKEN

	len = tern_wire_restore_chunk_ack_encode(buf, CAP, &a);
	UT_EQ_INT(tern_wire_restore_chunk_ack_decode(buf, (uint32_t)len, &aout),
		  TERN_WIRE_REJ_NONE);
	UT_EQ_INT(aout.status, -5);
	a.status = 1;
	UT_EQ_INT(tern_wire_restore_chunk_ack_encode(buf, CAP, &a), -EINVAL);
	put_le32(buf + 16, 1);
	UT_EQ_INT(tern_wire_restore_chunk_ack_decode(buf, (uint32_t)len, &aout),
		  TERN_WIRE_REJ_MALFORMED);
}

/* ---- Datagrams ---- */

static void
msgs_decode_dgram_counts_a_malformed_body(void)
{
	static uint8_t dg[TERN_WIRE_HDR_LEN + 64];
	struct tern_wire_ctx tx, rx;
	const struct tern_wire_hdr *h;
	int len;
	uint32_t n;

	tern_wire_ctx_init(&tx, 1, 1);
	tern_wire_ctx_init(&rx, 1, 2);
	tern_wire_ctx_add_node(&rx, 1);
	len = sample(TERN_WIRE_HEARTBEAT, dg + TERN_WIRE_HDR_LEN, 64);
	n = tern_wire_seal(&tx, dg, TERN_WIRE_HEARTBEAT, 2, 5, (uint32_t)len);
	UT_EQ_INT(tern_wire_check(&rx, dg, n, &h), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(tern_wire_decode_dgram(&rx, h, &msg), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(msg.u.heartbeat.seq, 77);
	UT_EQ_INT(rx.stats.accepted, 1);
	/* A body that passes the CRC but breaks a rule (a buggy peer). */
	put_le64(dg + TERN_WIRE_HDR_LEN, 1000);
	n = tern_wire_seal(&tx, dg, TERN_WIRE_HEARTBEAT, 2, 5, (uint32_t)len);
	UT_EQ_INT(tern_wire_check(&rx, dg, n, &h), TERN_WIRE_REJ_NONE);
	UT_EQ_INT(tern_wire_decode_dgram(&rx, h, &msg), TERN_WIRE_REJ_MALFORMED);
	UT_EQ_INT(rx.stats.accepted, 1);
	UT_EQ_INT(rx.stats.rejected[TERN_WIRE_REJ_MALFORMED], 1);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("msgs", NULL, NULL);
	CU_ADD_TEST(s, msgs_every_type_has_a_decoder_that_takes_its_sample);
	CU_ADD_TEST(s, msgs_every_truncation_is_malformed);
	CU_ADD_TEST(s, msgs_trailing_bytes_extend_fixed_bodies_only);
	CU_ADD_TEST(s, msgs_encoders_refuse_a_small_buffer);
	CU_ADD_TEST(s, msgs_decoders_survive_every_flipped_bit);
	CU_ADD_TEST(s, entries_round_trip_without_copying);
	CU_ADD_TEST(s, entries_builder_packs_until_full);
	CU_ADD_TEST(s, entries_encoder_refuses_what_decoders_refuse);
	CU_ADD_TEST(s, entries_decoder_rejects_every_broken_rule);
	CU_ADD_TEST(s, fragment_round_trip);
	CU_ADD_TEST(s, fragment_rules_hold_both_ways);
	CU_ADD_TEST(s, ack_round_trip_and_rules);
	CU_ADD_TEST(s, nak_round_trip_and_rules);
	CU_ADD_TEST(s, heartbeat_round_trip_and_rules);
	CU_ADD_TEST(s, syncup_round_trip_and_rules);
	CU_ADD_TEST(s, election_messages_round_trip_and_rules);
	CU_ADD_TEST(s, group_update_round_trip);
	CU_ADD_TEST(s, group_update_rules_hold_both_ways);
	CU_ADD_TEST(s, admin_round_trip_and_rules);
	CU_ADD_TEST(s, restore_messages_round_trip);
	CU_ADD_TEST(s, restore_rules_hold_both_ways);
	CU_ADD_TEST(s, msgs_decode_dgram_counts_a_malformed_body);
	return tern_ut_run(argc, argv);
}
