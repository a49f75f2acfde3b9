/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for every lib/wire decoder (STYLE.md 12: fuzz decoders): the Tern
 * header check, the L2 parser, every message decoder and the fragment reassembly, chosen
 * by the first input byte (format in wire_decode_fuzz.h). Beyond "never crash, never read
 * out of bounds, never allocate", it checks that:
 *   - an accepted datagram's header and body agree with the input bytes;
 *   - whatever a decoder accepts, its encoder accepts too, and re-encoding is stable
 *     (encode(decode(encode(decode(x)))) == encode(decode(x)));
 *   - an ENTRIES iterator yields exactly count entries, in VLSN order, inside the body;
 *   - a reassembled entry holds exactly the bytes its fragments carried.
 *
 * Seeds: make_seed_wire_decode DIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern_diag.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "wire_decode_fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENC_CAP (TERN_WIRE_DGRAM_MAX + 64)

static uint8_t enc1[ENC_CAP], enc2[ENC_CAP];
static struct tern_wire_entry ents[TERN_WIRE_DGRAM_MAX / TERN_WIRE_ENTRY_HDR_LEN + 1];
static struct tern_wire_msg m1, m2;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_wire_decode: %s:%d: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Walk a decoded ENTRIES body; copy its entries to ents[]. @return how many. */
static unsigned int
walk_entries(struct tern_wire_entries it, const uint8_t *body, uint32_t len)
{
	struct tern_wire_entry e;
	unsigned int n = 0;

	while (tern_wire_entries_next(&it, &e)) {
		CHECK(n < it.count && n < sizeof(ents) / sizeof(ents[0]));
		CHECK(e.vlsn == it.first_vlsn + n);
		CHECK((const uint8_t *)e.data >= body &&
		      (const uint8_t *)e.data + e.len <= body + len);
		ents[n++] = e;
	}
	CHECK(n == it.count);
	CHECK(it.last_vlsn == it.first_vlsn + n - 1);
	return n;
}

/* Encode a decoded message again. @return its length, or a negative errno. */
static int
encode(uint8_t type, struct tern_wire_msg *m, const uint8_t *body, uint32_t len, uint8_t *out)
{
	switch (type) {
	case TERN_WIRE_ENTRIES: {
		unsigned int n = walk_entries(m->u.entries, body, len);

		return tern_wire_entries_encode(out, ENC_CAP, m->u.entries.commit_vlsn, ents, n);
	}
	case TERN_WIRE_ENTRY_FRAGMENT:
		return tern_wire_fragment_encode(out, ENC_CAP, &m->u.fragment);
	case TERN_WIRE_ACK:
		return tern_wire_ack_encode(out, ENC_CAP, &m->u.ack);
	case TERN_WIRE_NAK:
		return tern_wire_nak_encode(out, ENC_CAP, &m->u.nak);
	case TERN_WIRE_HEARTBEAT:
		return tern_wire_heartbeat_encode(out, ENC_CAP, &m->u.heartbeat);
	case TERN_WIRE_HEARTBEAT_REPLY:
		return tern_wire_heartbeat_reply_encode(out, ENC_CAP, &m->u.heartbeat_reply);
	case TERN_WIRE_SYNCUP_REQ:
		return tern_wire_syncup_req_encode(out, ENC_CAP, &m->u.syncup_req);
	case TERN_WIRE_SYNCUP_REPLY:
		return tern_wire_syncup_reply_encode(out, ENC_CAP, &m->u.syncup_reply);
	case TERN_WIRE_PROPOSE:
		return tern_wire_propose_encode(out, ENC_CAP, &m->u.propose);
	case TERN_WIRE_PROMISE:
		return tern_wire_promise_encode(out, ENC_CAP, &m->u.promise);
	case TERN_WIRE_ACCEPT:
		return tern_wire_accept_encode(out, ENC_CAP, &m->u.ballot);
	case TERN_WIRE_ACCEPTED:
		return tern_wire_accepted_encode(out, ENC_CAP, &m->u.ballot);
	case TERN_WIRE_RESULT:
		return tern_wire_result_encode(out, ENC_CAP, &m->u.ballot);
	case TERN_WIRE_GROUP_UPDATE:
		return tern_wire_group_update_encode(out, ENC_CAP, &m->u.group_update);
	case TERN_WIRE_ADMIN_REQ:
		return tern_wire_admin_req_encode(out, ENC_CAP, &m->u.admin_req);
	case TERN_WIRE_ADMIN_REPLY:
		return tern_wire_admin_reply_encode(out, ENC_CAP, &m->u.admin_reply);
	case TERN_WIRE_RESTORE_REQ:
		return tern_wire_restore_req_encode(out, ENC_CAP, &m->u.restore_req);
	case TERN_WIRE_RESTORE_CHUNK:
		return tern_wire_restore_chunk_encode(out, ENC_CAP, &m->u.restore_chunk);
	case TERN_WIRE_RESTORE_CHUNK_ACK:
		return tern_wire_restore_chunk_ack_encode(out, ENC_CAP, &m->u.restore_chunk_ack);
	default:
		CHECK(!"a known type without an encoder");
		return -1;
	}
}

static void
fuzz_body(uint8_t type, const uint8_t *body, uint32_t len)
{
	enum tern_wire_rej r = tern_wire_decode(type, body, len, &m1);
	int n1, n2;

	CHECK(r < TERN_WIRE_REJ_COUNT_);
	if (type == 0 || type >= TERN_WIRE_TYPE_MAX_) {
		CHECK(r == TERN_WIRE_REJ_UNKNOWN_TYPE);
		return;
	}
	if (r != TERN_WIRE_REJ_NONE || len > TERN_WIRE_DGRAM_MAX - TERN_WIRE_HDR_LEN)
		return; /* (a body longer than a datagram holds cannot be encoded again) */
	/* What one node accepts, it could have sent: the encoder agrees with the decoder. */
	n1 = encode(type, &m1, body, len, enc1);
	/* ... at its own minor version: an older ACK (no hold_us) comes back whole. */
	CHECK(n1 > 0 &&
	      ((uint32_t)n1 <= len || (type == TERN_WIRE_ACK && n1 == TERN_WIRE_ACK_LEN)));
	CHECK(tern_wire_decode(type, enc1, (uint32_t)n1, &m2) == TERN_WIRE_REJ_NONE);
	n2 = encode(type, &m2, enc1, (uint32_t)n1, enc2);
	CHECK(n2 == n1 && memcmp(enc1, enc2, (size_t)n1) == 0);
}

static void
fuzz_dgram(const uint8_t *d, uint32_t len)
{
	static struct tern_wire_ctx c;
	const struct tern_wire_hdr *h = NULL;
	enum tern_wire_rej r;

	tern_wire_ctx_init(&c, FUZZ_WD_GROUP, FUZZ_WD_SELF);
	tern_wire_ctx_add_node(&c, FUZZ_WD_PEER);
	tern_wire_ctx_add_node(&c, 3);
	r = tern_wire_check(&c, d, len, &h);
	CHECK(r < TERN_WIRE_REJ_COUNT_);
	CHECK(c.stats.accepted + c.stats.rejected[r] == 1);
	if (r == TERN_WIRE_REJ_UNKNOWN_TYPE) {
		CHECK(h != NULL && (h->type == 0 || h->type >= TERN_WIRE_TYPE_MAX_));
		return;
	}
	if (r != TERN_WIRE_REJ_NONE) {
		CHECK(h == NULL);
		return;
	}
	CHECK(h == (const void *)d);
	CHECK(h->magic == TERN_WIRE_MAGIC && h->ver_major == TERN_WIRE_VERSION_MAJOR);
	CHECK(h->group_id == FUZZ_WD_GROUP);
	CHECK(h->dst == FUZZ_WD_SELF || h->dst == TERN_WIRE_NODE_ALL);
	CHECK(h->src == FUZZ_WD_PEER || h->src == 3);
	CHECK(h->payload_len == len - sizeof(*h));
	r = tern_wire_decode_dgram(&c, h, &m1);
	if (r != TERN_WIRE_REJ_NONE)
		CHECK(c.stats.accepted == 0 && c.stats.rejected[r] == 1);
	fuzz_body(h->type, tern_wire_payload(h), h->payload_len);
}

static void
fuzz_l2(const uint8_t *d, uint32_t len)
{
	struct tern_wire_l2_addr from;
	uint32_t off = 0, dlen = 0;

	if (tern_wire_l2_parse(d, len, &fuzz_wd_self, &from, &off, &dlen) != TERN_WIRE_REJ_NONE)
		return;
	CHECK(off >= TERN_WIRE_L2_HDR_LEN && off <= len && dlen <= len - off);
	fuzz_dgram(d + off, dlen);
}

static uint8_t reasm_buf[FUZZ_WD_REASM_CAP];
static uint8_t piece_buf[FUZZ_WD_REASM_MAX];

static void
fuzz_reasm(const uint8_t *d, uint32_t len)
{
	struct tern_wire_reasm r;
	struct tern_wire_fragment f;
	struct tern_wire_entry e;
	enum tern_wire_rej why;
	enum tern_wire_reasm_rc rc;
	uint32_t i, pos;

	tern_wire_reasm_init(&r, reasm_buf, sizeof(reasm_buf));
	for (pos = 0; len - pos >= FUZZ_WD_REASM_OP_LEN; pos += FUZZ_WD_REASM_OP_LEN) {
		const uint8_t *op = d + pos;
		uint32_t total, off, n;

		if (op[0] == 0xff) {
			tern_wire_reasm_reset(&r);
			CHECK(!r.active);
			continue;
		}
		total = 1 + (uint32_t)(op[2] | op[3] << 8) % FUZZ_WD_REASM_MAX;
		off = (uint32_t)(op[4] | op[5] << 8) % total;
		n = 1 + (uint32_t)(op[6] | op[7] << 8) % (total - off);
		memset(&f, 0, sizeof(f));
		f.vlsn = 1 + op[0] % 8;
		f.term =
			f.vlsn / 2; /* same VLSN, same metadata: no conflict unless total differs */
		f.total_len = total;
		f.offset = off;
		f.len = n;
		for (i = 0; i < n; i++)
			piece_buf[i] = fuzz_wd_pattern(f.vlsn, off + i);
		f.data = piece_buf;
		why = TERN_WIRE_REJ_NONE;
		rc = tern_wire_reasm_add(&r, &f, op[1] % 8, &e, &why);
		CHECK(r.n_ranges <= TERN_WIRE_REASM_RANGES);
		CHECK(!r.active || r.received < r.cur.total_len);
		for (i = 0; r.active && i < r.n_ranges; i++) {
			CHECK(r.ranges[i].start < r.ranges[i].end);
			CHECK(r.ranges[i].end <= r.cur.total_len);
			CHECK(i == 0 || r.ranges[i].start > r.ranges[i - 1].end);
		}
		switch (rc) {
		case TERN_WIRE_REASM_COMPLETE:
			CHECK(e.vlsn == f.vlsn && e.len == f.total_len && e.data == reasm_buf);
			for (i = 0; i < e.len; i++)
				CHECK(reasm_buf[i] == fuzz_wd_pattern(e.vlsn, i));
			break;
		case TERN_WIRE_REASM_REJECTED:
			CHECK(why == TERN_WIRE_REJ_TOO_BIG || why == TERN_WIRE_REJ_REASM_CONFLICT ||
			      why == TERN_WIRE_REJ_REASM_GAPS);
			CHECK(why != TERN_WIRE_REJ_TOO_BIG || total > FUZZ_WD_REASM_CAP);
			break;
		case TERN_WIRE_REASM_STALE:
			CHECK(f.vlsn < op[1] % 8);
			break;
		default:
			CHECK(rc == TERN_WIRE_REASM_PARTIAL || rc == TERN_WIRE_REASM_DUPLICATE ||
			      rc == TERN_WIRE_REASM_BUSY);
		}
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (getenv("TERN_FUZZ_VERBOSE") == NULL)
		tern_diag_set_level("tern.*", TERN_DIAG_CRIT);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *d;
	uint32_t len;

	if (size < 1 || size > TERN_WIRE_DGRAM_MAX + TERN_WIRE_L2_HDR_LEN)
		return 0;
	d = data + 1;
	len = (uint32_t)size - 1;
	switch (data[0] % FUZZ_WD_MODES) {
	case FUZZ_WD_DGRAM:
		fuzz_dgram(d, len);
		break;
	case FUZZ_WD_L2:
		fuzz_l2(d, len);
		break;
	case FUZZ_WD_BODY:
		if (len >= 1)
			fuzz_body(d[0], d + 1, len - 1);
		break;
	case FUZZ_WD_REASM:
		fuzz_reasm(d, len);
		break;
	}
	return 0;
}
