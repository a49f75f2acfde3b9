/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Message bodies (tern_wire_msgs.h): encoders and decoders. Each message has one rule
 * function, used by its encoder (-EINVAL) and its decoder (TERN_WIRE_REJ_MALFORMED), so
 * what one node sends is exactly what the others accept.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <tern_common.h>
#include <tern_crc32c.h>
#include <tern_diag.h>

#include "tern_wire.h"
#include "tern_wire_msgs.h"
#include "wire_internal.h"

/* A body never exceeds what one datagram holds after the header. */
#define BODY_MAX ((uint32_t)(TERN_WIRE_DGRAM_MAX - TERN_WIRE_HDR_LEN))

static_assert(TERN_WIRE_HDR_LEN == sizeof(struct tern_wire_hdr), "header length");
static_assert(TERN_WIRE_ENTRY_MAX >= (1U << 20), "entries of 1 MiB must be possible");
static_assert(TERN_WIRE_GROUP_HDR_LEN + TERN_WIRE_GROUP_MEMBERS_MAX * TERN_WIRE_MEMBER_LEN <=
		      BODY_MAX,
	      "a full membership fits one (jumbo) datagram");
static_assert(TERN_WIRE_SYNCUP_REQ_HDR_LEN +
			      TERN_WIRE_SYNCUP_PROBES_MAX * TERN_WIRE_SYNCUP_PROBE_LEN <=
		      1500 - 28 - TERN_WIRE_HDR_LEN,
	      "a full SYNCUP_REQ fits a 1500-byte MTU");
static_assert(TERN_WIRE_NAK_HDR_LEN + TERN_WIRE_NAK_RANGES_MAX * TERN_WIRE_NAK_RANGE_LEN <=
		      1500 - 28 - TERN_WIRE_HDR_LEN,
	      "a full NAK fits a 1500-byte MTU");
static_assert(TERN_WIRE_ADMIN_REPLY_HDR_LEN + TERN_WIRE_ADMIN_TEXT_MAX <=
		      1500 - 28 - TERN_WIRE_HDR_LEN,
	      "a full ADMIN_REPLY fits a 1500-byte MTU");
static_assert(TERN_WIRE_ENTRY_MAX <= UINT32_MAX / 2, "entry lengths fit in u32 sums");

/* ---- Cursors: bounds-checked sequential writes and reads. ---- */

struct wr {
	uint8_t *p;
	uint32_t cap;
	uint32_t off;
	bool full; /* something did not fit */
};

static void
wr_init(struct wr *w, void *buf, uint32_t cap)
{
	w->p = buf;
	w->cap = TERN_MIN(cap, BODY_MAX);
	w->off = 0;
	w->full = false;
}

static uint8_t *
wr_take(struct wr *w, uint32_t n)
{
	uint8_t *q;

	if (w->full || w->cap - w->off < n) {
		w->full = true;
		return NULL;
	}
	q = w->p + w->off;
	w->off += n;
	return q;
}

static void
w8(struct wr *w, uint8_t v)
{
	uint8_t *q = wr_take(w, 1);

	if (q != NULL)
		*q = v;
}

static void
w16(struct wr *w, uint16_t v)
{
	uint8_t *q = wr_take(w, 2);

	if (q != NULL)
		le16_store(q, v);
}

static void
w32(struct wr *w, uint32_t v)
{
	uint8_t *q = wr_take(w, 4);

	if (q != NULL)
		le32_store(q, v);
}

static void
w64(struct wr *w, uint64_t v)
{
	uint8_t *q = wr_take(w, 8);

	if (q != NULL)
		le64_store(q, v);
}

static void
wbytes(struct wr *w, const void *src, uint32_t n)
{
	uint8_t *q = wr_take(w, n);

	if (q != NULL && n > 0)
		memcpy(q, src, n);
}

static int
wr_end(const struct wr *w)
{
	return w->full ? -EMSGSIZE : (int)w->off;
}

struct rd {
	const uint8_t *p;
	uint32_t len;
	uint32_t off;
	bool bad; /* read past the end */
};

static void
rd_init(struct rd *r, const void *p, uint32_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = false;
}

static const uint8_t *
rd_take(struct rd *r, uint32_t n)
{
	const uint8_t *q;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static uint8_t
r8(struct rd *r)
{
	const uint8_t *q = rd_take(r, 1);

	return q != NULL ? *q : 0;
}

static uint16_t
r16(struct rd *r)
{
	const uint8_t *q = rd_take(r, 2);

	return q != NULL ? le16_load(q) : 0;
}

static uint32_t
r32(struct rd *r)
{
	const uint8_t *q = rd_take(r, 4);

	return q != NULL ? le32_load(q) : 0;
}

static uint64_t
r64(struct rd *r)
{
	const uint8_t *q = rd_take(r, 8);

	return q != NULL ? le64_load(q) : 0;
}

/* Verdict of a fixed-size body: trailing bytes are a later minor version's fields. */
static enum tern_wire_rej
rd_end_fixed(const struct rd *r, bool ok)
{
	return !r->bad && ok ? TERN_WIRE_REJ_NONE : TERN_WIRE_REJ_MALFORMED;
}

/* Verdict of a counted body: it must end exactly where its counts say. */
static enum tern_wire_rej
rd_end_exact(const struct rd *r, bool ok)
{
	return !r->bad && r->off == r->len && ok ? TERN_WIRE_REJ_NONE : TERN_WIRE_REJ_MALFORMED;
}

static bool
node_id_ok(uint16_t id)
{
	return id <= TERN_WIRE_NODE_MAX;
}

static bool
node_type_ok(uint8_t t)
{
	return t >= TERN_WIRE_NODE_ELECTABLE && t <= TERN_WIRE_NODE_MONITOR;
}

/* ---- ENTRIES ---- */

static void
w_entry_hdr(uint8_t *q, const struct tern_wire_entry *e)
{
	le64_store(q, e->vlsn);
	le64_store(q + 8, e->term);
	le64_store(q + 16, e->txn_id);
	le64_store(q + 24, e->timestamp_ns);
	le16_store(q + 32, e->type);
	le16_store(q + 34, e->flags);
	le32_store(q + 36, e->len);
}

static void
r_entry_hdr(const uint8_t *q, struct tern_wire_entry *e)
{
	e->vlsn = le64_load(q);
	e->term = le64_load(q + 8);
	e->txn_id = le64_load(q + 16);
	e->timestamp_ns = le64_load(q + 24);
	e->type = le16_load(q + 32);
	e->flags = le16_load(q + 34);
	e->len = le32_load(q + 36);
	e->data = q + TERN_WIRE_ENTRY_HDR_LEN;
}

int
tern_wire_entries_begin(struct tern_wire_entries_enc *enc, void *buf, uint32_t cap,
			uint64_t commit_vlsn)
{
	memset(enc, 0, sizeof(*enc));
	enc->buf = buf;
	enc->cap = TERN_MIN(cap, BODY_MAX);
	if (enc->cap < TERN_WIRE_ENTRIES_HDR_LEN)
		return -EMSGSIZE;
	le64_store(enc->buf, commit_vlsn);
	le16_store(enc->buf + 8, 0); /* count, at finish */
	le16_store(enc->buf + 10, 0);
	enc->len = TERN_WIRE_ENTRIES_HDR_LEN;
	return 0;
}

/* The entry-order rule: VLSNs consecutive from >= 1, terms never decreasing. */
static bool
entry_follows(uint16_t count, uint64_t next_vlsn, uint64_t last_term,
	      const struct tern_wire_entry *e)
{
	if (e->vlsn == 0)
		return false;
	if (count == 0)
		return true;
	return e->vlsn == next_vlsn && e->term >= last_term;
}

int
tern_wire_entries_add(struct tern_wire_entries_enc *enc, const struct tern_wire_entry *e)
{
	if (enc->len < TERN_WIRE_ENTRIES_HDR_LEN)
		return -EINVAL; /* not begun */
	if (enc->count == UINT16_MAX ||
	    !entry_follows(enc->count, enc->next_vlsn, enc->last_term, e))
		return -EINVAL;
	if (e->len > 0 && e->data == NULL)
		return -EINVAL;
	if ((uint64_t)TERN_WIRE_ENTRY_HDR_LEN + e->len > enc->cap - enc->len)
		return -EMSGSIZE;
	w_entry_hdr(enc->buf + enc->len, e);
	if (e->len > 0)
		memcpy(enc->buf + enc->len + TERN_WIRE_ENTRY_HDR_LEN, e->data, e->len);
	enc->len += TERN_WIRE_ENTRY_HDR_LEN + e->len;
	enc->count++;
	enc->next_vlsn = e->vlsn + 1;
	enc->last_term = e->term;
	return 0;
}

int
tern_wire_entries_finish(struct tern_wire_entries_enc *enc)
{
	if (enc->count == 0)
		return -EINVAL;
	le16_store(enc->buf + 8, enc->count);
	return (int)enc->len;
}

int
tern_wire_entries_encode(void *buf, uint32_t cap, uint64_t commit_vlsn,
			 const struct tern_wire_entry *e, unsigned int n)
{
	struct tern_wire_entries_enc enc;
	unsigned int i;
	int rc;

	if (n == 0 || n > UINT16_MAX)
		return -EINVAL;
	rc = tern_wire_entries_begin(&enc, buf, cap, commit_vlsn);
	for (i = 0; rc == 0 && i < n; i++)
		rc = tern_wire_entries_add(&enc, &e[i]);
	return rc < 0 ? rc : tern_wire_entries_finish(&enc);
}

enum tern_wire_rej
tern_wire_entries_decode(const void *p, uint32_t len, struct tern_wire_entries *out)
{
	const uint8_t *b = p;
	struct tern_wire_entry e;
	uint64_t next_vlsn = 0, last_term = 0;
	uint32_t pos;
	uint16_t i;

	if (len < TERN_WIRE_ENTRIES_HDR_LEN)
		return TERN_WIRE_REJ_MALFORMED;
	out->commit_vlsn = le64_load(b);
	out->count = le16_load(b + 8);
	out->flags = le16_load(b + 10);
	if (out->count == 0)
		return TERN_WIRE_REJ_MALFORMED;
	pos = TERN_WIRE_ENTRIES_HDR_LEN;
	for (i = 0; i < out->count; i++) {
		if (len - pos < TERN_WIRE_ENTRY_HDR_LEN)
			return TERN_WIRE_REJ_MALFORMED;
		r_entry_hdr(b + pos, &e);
		if (e.len > len - pos - TERN_WIRE_ENTRY_HDR_LEN)
			return TERN_WIRE_REJ_MALFORMED;
		if (!entry_follows(i, next_vlsn, last_term, &e))
			return TERN_WIRE_REJ_MALFORMED;
		if (i == 0)
			out->first_vlsn = e.vlsn;
		next_vlsn = e.vlsn + 1;
		last_term = e.term;
		pos += TERN_WIRE_ENTRY_HDR_LEN + e.len;
	}
	if (pos != len)
		return TERN_WIRE_REJ_MALFORMED;
	out->last_vlsn = next_vlsn - 1;
	out->next_ = b + TERN_WIRE_ENTRIES_HDR_LEN;
	out->left_ = len - TERN_WIRE_ENTRIES_HDR_LEN;
	out->remaining_ = out->count;
	return TERN_WIRE_REJ_NONE;
}

bool
tern_wire_entries_next(struct tern_wire_entries *it, struct tern_wire_entry *e)
{
	uint32_t step;

	if (it->remaining_ == 0)
		return false;
	/* Decode validated every entry; these checks only keep a misused iterator in bounds. */
	if (TERN_NEVER(it->left_ < TERN_WIRE_ENTRY_HDR_LEN))
		return false;
	r_entry_hdr(it->next_, e);
	if (TERN_NEVER(e->len > it->left_ - TERN_WIRE_ENTRY_HDR_LEN))
		return false;
	step = TERN_WIRE_ENTRY_HDR_LEN + e->len;
	it->next_ += step;
	it->left_ -= step;
	it->remaining_--;
	return true;
}

/* ---- ENTRY_FRAGMENT ---- */

static enum tern_wire_rej
fragment_rule(const struct tern_wire_fragment *m)
{
	if (m->total_len > TERN_WIRE_ENTRY_MAX)
		return TERN_WIRE_REJ_TOO_BIG;
	if (m->vlsn == 0 || m->total_len == 0 || m->len == 0 ||
	    (uint64_t)m->offset + m->len > m->total_len)
		return TERN_WIRE_REJ_MALFORMED;
	return TERN_WIRE_REJ_NONE;
}

int
tern_wire_fragment_encode(void *buf, uint32_t cap, const struct tern_wire_fragment *m)
{
	struct wr w;

	if (fragment_rule(m) != TERN_WIRE_REJ_NONE || m->data == NULL)
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->vlsn);
	w64(&w, m->term);
	w64(&w, m->txn_id);
	w64(&w, m->timestamp_ns);
	w16(&w, m->type);
	w16(&w, m->flags);
	w32(&w, m->total_len);
	w32(&w, m->offset);
	w32(&w, m->len);
	wbytes(&w, m->data, m->len);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_fragment_decode(const void *p, uint32_t len, struct tern_wire_fragment *out)
{
	struct rd r;
	enum tern_wire_rej rej;

	rd_init(&r, p, len);
	out->vlsn = r64(&r);
	out->term = r64(&r);
	out->txn_id = r64(&r);
	out->timestamp_ns = r64(&r);
	out->type = r16(&r);
	out->flags = r16(&r);
	out->total_len = r32(&r);
	out->offset = r32(&r);
	out->len = r32(&r);
	if (r.bad)
		return TERN_WIRE_REJ_MALFORMED;
	rej = fragment_rule(out);
	if (rej != TERN_WIRE_REJ_NONE)
		return rej;
	out->data = rd_take(&r, out->len);
	return rd_end_exact(&r, true);
}

/* ---- ACK, NAK ---- */

static bool
ack_rule(const struct tern_wire_ack *m)
{
	return m->durable_vlsn <= m->received_vlsn;
}

int
tern_wire_ack_encode(void *buf, uint32_t cap, const struct tern_wire_ack *m)
{
	struct wr w;

	if (!ack_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->received_vlsn);
	w64(&w, m->durable_vlsn);
	w32(&w, m->credit);
	w32(&w, m->hold_us);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_ack_decode(const void *p, uint32_t len, struct tern_wire_ack *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->received_vlsn = r64(&r);
	out->durable_vlsn = r64(&r);
	out->credit = r32(&r);
	/* A field a later minor version added: absent from an older peer's ACK. */
	out->hold_us = !r.bad && r.len - r.off >= 4 ? r32(&r) : 0;
	return rd_end_fixed(&r, ack_rule(out));
}

static bool
nak_rule(const struct tern_wire_nak *m)
{
	unsigned int i;

	if (m->n == 0 || m->n > TERN_WIRE_NAK_RANGES_MAX)
		return false;
	for (i = 0; i < m->n; i++) {
		if (m->range[i].first == 0 || m->range[i].first > m->range[i].last)
			return false;
		if (i > 0 && m->range[i].first <= m->range[i - 1].last)
			return false;
	}
	return true;
}

int
tern_wire_nak_encode(void *buf, uint32_t cap, const struct tern_wire_nak *m)
{
	struct wr w;
	unsigned int i;

	if (!nak_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w16(&w, m->n);
	w16(&w, 0);
	for (i = 0; i < m->n; i++) {
		w64(&w, m->range[i].first);
		w64(&w, m->range[i].last);
	}
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_nak_decode(const void *p, uint32_t len, struct tern_wire_nak *out)
{
	struct rd r;
	unsigned int i;

	rd_init(&r, p, len);
	out->n = r16(&r);
	(void)r16(&r);
	if (r.bad || out->n == 0 || out->n > TERN_WIRE_NAK_RANGES_MAX)
		return TERN_WIRE_REJ_MALFORMED;
	for (i = 0; i < out->n; i++) {
		out->range[i].first = r64(&r);
		out->range[i].last = r64(&r);
	}
	return rd_end_exact(&r, nak_rule(out));
}

/* ---- HEARTBEAT ---- */

static bool
heartbeat_rule(const struct tern_wire_heartbeat *m)
{
	return m->commit_vlsn <= m->last_vlsn;
}

int
tern_wire_heartbeat_encode(void *buf, uint32_t cap, const struct tern_wire_heartbeat *m)
{
	struct wr w;

	if (!heartbeat_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->commit_vlsn);
	w64(&w, m->last_vlsn);
	w64(&w, m->timestamp_ns);
	w32(&w, m->seq);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_heartbeat_decode(const void *p, uint32_t len, struct tern_wire_heartbeat *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->commit_vlsn = r64(&r);
	out->last_vlsn = r64(&r);
	out->timestamp_ns = r64(&r);
	out->seq = r32(&r);
	return rd_end_fixed(&r, heartbeat_rule(out));
}

static bool
heartbeat_reply_rule(const struct tern_wire_heartbeat_reply *m)
{
	return m->durable_vlsn <= m->received_vlsn;
}

int
tern_wire_heartbeat_reply_encode(void *buf, uint32_t cap, const struct tern_wire_heartbeat_reply *m)
{
	struct wr w;

	if (!heartbeat_reply_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->echo_timestamp_ns);
	w64(&w, m->received_vlsn);
	w64(&w, m->durable_vlsn);
	w32(&w, m->echo_seq);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_heartbeat_reply_decode(const void *p, uint32_t len, struct tern_wire_heartbeat_reply *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->echo_timestamp_ns = r64(&r);
	out->received_vlsn = r64(&r);
	out->durable_vlsn = r64(&r);
	out->echo_seq = r32(&r);
	return rd_end_fixed(&r, heartbeat_reply_rule(out));
}

/* ---- SYNCUP ---- */

static bool
syncup_req_rule(const struct tern_wire_syncup_req *m)
{
	unsigned int i;

	if (m->n > TERN_WIRE_SYNCUP_PROBES_MAX || m->first_vlsn > m->last_vlsn)
		return false;
	for (i = 0; i < m->n; i++) {
		uint64_t v = m->probe[i].vlsn;

		if (v == 0 || v < m->first_vlsn || v > m->last_vlsn)
			return false;
		if (i > 0 && (v >= m->probe[i - 1].vlsn || m->probe[i].term > m->probe[i - 1].term))
			return false;
	}
	return true;
}

int
tern_wire_syncup_req_encode(void *buf, uint32_t cap, const struct tern_wire_syncup_req *m)
{
	struct wr w;
	unsigned int i;

	if (!syncup_req_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w32(&w, m->req_id);
	w16(&w, m->n);
	w16(&w, 0);
	w64(&w, m->first_vlsn);
	w64(&w, m->last_vlsn);
	for (i = 0; i < m->n; i++) {
		w64(&w, m->probe[i].vlsn);
		w64(&w, m->probe[i].term);
	}
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_syncup_req_decode(const void *p, uint32_t len, struct tern_wire_syncup_req *out)
{
	struct rd r;
	unsigned int i;

	rd_init(&r, p, len);
	out->req_id = r32(&r);
	out->n = r16(&r);
	(void)r16(&r);
	out->first_vlsn = r64(&r);
	out->last_vlsn = r64(&r);
	if (r.bad || out->n > TERN_WIRE_SYNCUP_PROBES_MAX)
		return TERN_WIRE_REJ_MALFORMED;
	for (i = 0; i < out->n; i++) {
		out->probe[i].vlsn = r64(&r);
		out->probe[i].term = r64(&r);
	}
	return rd_end_exact(&r, syncup_req_rule(out));
}

static bool
syncup_reply_rule(const struct tern_wire_syncup_reply *m)
{
	if (m->status < TERN_WIRE_SYNCUP_MATCH || m->status > TERN_WIRE_SYNCUP_NOT_MASTER)
		return false;
	if (m->first_vlsn > m->last_vlsn || m->commit_vlsn > m->last_vlsn)
		return false;
	return m->status != TERN_WIRE_SYNCUP_MATCH || m->match_vlsn <= m->last_vlsn;
}

int
tern_wire_syncup_reply_encode(void *buf, uint32_t cap, const struct tern_wire_syncup_reply *m)
{
	struct wr w;

	if (!syncup_reply_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w32(&w, m->req_id);
	w8(&w, m->status);
	w8(&w, 0);
	w16(&w, 0);
	w64(&w, m->match_vlsn);
	w64(&w, m->match_term);
	w64(&w, m->first_vlsn);
	w64(&w, m->last_vlsn);
	w64(&w, m->commit_vlsn);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_syncup_reply_decode(const void *p, uint32_t len, struct tern_wire_syncup_reply *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->req_id = r32(&r);
	out->status = r8(&r);
	(void)r8(&r);
	(void)r16(&r);
	out->match_vlsn = r64(&r);
	out->match_term = r64(&r);
	out->first_vlsn = r64(&r);
	out->last_vlsn = r64(&r);
	out->commit_vlsn = r64(&r);
	return rd_end_fixed(&r, syncup_reply_rule(out));
}

/* ---- Elections ---- */

int
tern_wire_propose_encode(void *buf, uint32_t cap, const struct tern_wire_propose *m)
{
	struct wr w;

	if (m->proposal == 0)
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->proposal);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_propose_decode(const void *p, uint32_t len, struct tern_wire_propose *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->proposal = r64(&r);
	return rd_end_fixed(&r, out->proposal != 0);
}

static bool
promise_rule(const struct tern_wire_promise *m)
{
	if (m->proposal == 0 || !node_type_ok(m->node_type))
		return false;
	if (m->accepted_proposal >= m->proposal)
		return false;
	return m->accepted_proposal == 0 || node_id_ok(m->accepted_master);
}

int
tern_wire_promise_encode(void *buf, uint32_t cap, const struct tern_wire_promise *m)
{
	struct wr w;

	if (!promise_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->proposal);
	w64(&w, m->last_term);
	w64(&w, m->last_vlsn);
	w64(&w, m->accepted_proposal);
	w32(&w, m->priority);
	w16(&w, m->accepted_master);
	w8(&w, m->node_type);
	w8(&w, 0);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_promise_decode(const void *p, uint32_t len, struct tern_wire_promise *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->proposal = r64(&r);
	out->last_term = r64(&r);
	out->last_vlsn = r64(&r);
	out->accepted_proposal = r64(&r);
	out->priority = r32(&r);
	out->accepted_master = r16(&r);
	out->node_type = r8(&r);
	(void)r8(&r);
	return rd_end_fixed(&r, promise_rule(out));
}

static bool
ballot_rule(const struct tern_wire_ballot *m)
{
	return m->proposal != 0 && node_id_ok(m->master);
}

static int
ballot_encode(void *buf, uint32_t cap, const struct tern_wire_ballot *m)
{
	struct wr w;

	if (!ballot_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->proposal);
	w16(&w, m->master);
	w16(&w, 0);
	return wr_end(&w);
}

static enum tern_wire_rej
ballot_decode(const void *p, uint32_t len, struct tern_wire_ballot *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->proposal = r64(&r);
	out->master = r16(&r);
	(void)r16(&r);
	return rd_end_fixed(&r, ballot_rule(out));
}

int
tern_wire_accept_encode(void *buf, uint32_t cap, const struct tern_wire_ballot *m)
{
	return ballot_encode(buf, cap, m);
}

enum tern_wire_rej
tern_wire_accept_decode(const void *p, uint32_t len, struct tern_wire_ballot *out)
{
	return ballot_decode(p, len, out);
}

int
tern_wire_accepted_encode(void *buf, uint32_t cap, const struct tern_wire_ballot *m)
{
	return ballot_encode(buf, cap, m);
}

enum tern_wire_rej
tern_wire_accepted_decode(const void *p, uint32_t len, struct tern_wire_ballot *out)
{
	return ballot_decode(p, len, out);
}

int
tern_wire_result_encode(void *buf, uint32_t cap, const struct tern_wire_ballot *m)
{
	return ballot_encode(buf, cap, m);
}

enum tern_wire_rej
tern_wire_result_decode(const void *p, uint32_t len, struct tern_wire_ballot *out)
{
	return ballot_decode(p, len, out);
}

/* ---- GROUP_UPDATE ---- */

/* A member name: printable ASCII without spaces, at most TERN_WIRE_NAME_MAX bytes. */
static bool
name_char_ok(char ch)
{
	return ch > ' ' && ch < 0x7f;
}

static bool
member_rule(const struct tern_wire_member *m)
{
	size_t n = strnlen(m->name, sizeof(m->name)), i;

	if (!node_id_ok(m->node_id) || !node_type_ok(m->type) || n > TERN_WIRE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!name_char_ok(m->name[i]))
			return false;
	return true;
}

static bool
group_rule(const struct tern_wire_group_update *m)
{
	unsigned int i, j;

	if (m->op < TERN_WIRE_GROUP_OP_SNAPSHOT || m->op > TERN_WIRE_GROUP_OP_CHANGE)
		return false;
	if (m->n == 0 || m->total > TERN_WIRE_GROUP_MEMBERS_MAX ||
	    (uint32_t)m->first + m->n > m->total)
		return false;
	if (m->op != TERN_WIRE_GROUP_OP_SNAPSHOT && (m->total != 1 || m->first != 0))
		return false;
	for (i = 0; i < m->n; i++) {
		if (!member_rule(&m->member[i]))
			return false;
		for (j = 0; j < i; j++)
			if (m->member[j].node_id == m->member[i].node_id)
				return false;
	}
	return true;
}

int
tern_wire_group_update_encode(void *buf, uint32_t cap, const struct tern_wire_group_update *m)
{
	struct wr w;
	unsigned int i;

	if (!group_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w64(&w, m->group_version);
	w8(&w, m->op);
	w8(&w, 0);
	w16(&w, m->total);
	w16(&w, m->first);
	w16(&w, m->n);
	for (i = 0; i < m->n; i++) {
		const struct tern_wire_member *mb = &m->member[i];
		uint8_t name[TERN_WIRE_NAME_MAX] = {0};

		memcpy(name, mb->name, strnlen(mb->name, TERN_WIRE_NAME_MAX));
		w16(&w, mb->node_id);
		w8(&w, mb->type);
		w8(&w, mb->flags);
		w32(&w, mb->priority);
		wbytes(&w, &mb->ipv4, 4);
		w16(&w, mb->udp_port);
		wbytes(&w, mb->mac, 6);
		wbytes(&w, name, TERN_WIRE_NAME_MAX);
	}
	return wr_end(&w);
}

/* Decode a wire name: name characters, then only NULs. */
static bool
r_name(struct rd *r, char *dst)
{
	const uint8_t *q = rd_take(r, TERN_WIRE_NAME_MAX);
	unsigned int i, n = 0;

	dst[0] = '\0';
	if (q == NULL)
		return false;
	while (n < TERN_WIRE_NAME_MAX && q[n] != 0)
		n++;
	for (i = n; i < TERN_WIRE_NAME_MAX; i++)
		if (q[i] != 0)
			return false;
	memcpy(dst, q, n);
	dst[n] = '\0';
	return true;
}

enum tern_wire_rej
tern_wire_group_update_decode(const void *p, uint32_t len, struct tern_wire_group_update *out)
{
	struct rd r;
	unsigned int i;
	bool names_ok = true;

	rd_init(&r, p, len);
	out->group_version = r64(&r);
	out->op = r8(&r);
	(void)r8(&r);
	out->total = r16(&r);
	out->first = r16(&r);
	out->n = r16(&r);
	if (r.bad || out->n > TERN_WIRE_GROUP_MEMBERS_MAX)
		return TERN_WIRE_REJ_MALFORMED;
	for (i = 0; i < out->n; i++) {
		struct tern_wire_member *mb = &out->member[i];
		const uint8_t *q;

		mb->node_id = r16(&r);
		mb->type = r8(&r);
		mb->flags = r8(&r);
		mb->priority = r32(&r);
		q = rd_take(&r, 4);
		if (q != NULL)
			memcpy(&mb->ipv4, q, 4);
		mb->udp_port = r16(&r);
		q = rd_take(&r, 6);
		if (q != NULL)
			memcpy(mb->mac, q, 6);
		names_ok &= r_name(&r, mb->name);
	}
	return rd_end_exact(&r, names_ok && group_rule(out));
}

/* ---- ADMIN ---- */

static bool
admin_op_ok(uint8_t op)
{
	return op >= TERN_WIRE_ADMIN_STATUS && op <= TERN_WIRE_ADMIN_SHUTDOWN_GROUP;
}

static bool
admin_req_rule(const struct tern_wire_admin_req *m)
{
	return admin_op_ok(m->op) && (node_id_ok(m->target) || m->target == TERN_WIRE_NODE_ALL);
}

int
tern_wire_admin_req_encode(void *buf, uint32_t cap, const struct tern_wire_admin_req *m)
{
	struct wr w;

	if (!admin_req_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w32(&w, m->req_id);
	w8(&w, m->op);
	w8(&w, m->flags);
	w16(&w, m->target);
	w64(&w, m->timeout_ms);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_admin_req_decode(const void *p, uint32_t len, struct tern_wire_admin_req *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->req_id = r32(&r);
	out->op = r8(&r);
	out->flags = r8(&r);
	out->target = r16(&r);
	out->timeout_ms = r64(&r);
	return rd_end_fixed(&r, admin_req_rule(out));
}

/* Admin text: no NUL and no control characters (it ends up in diagnostics). */
static bool
text_ok(const uint8_t *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i] < ' ' || t[i] == 0x7f)
			return false;
	return true;
}

static bool
admin_reply_rule(const struct tern_wire_admin_reply *m)
{
	return admin_op_ok(m->op) && m->state >= TERN_WIRE_STATE_DETACHED &&
	       m->state <= TERN_WIRE_STATE_SHUTDOWN && m->result <= 0;
}

int
tern_wire_admin_reply_encode(void *buf, uint32_t cap, const struct tern_wire_admin_reply *m)
{
	size_t tlen = strnlen(m->text, sizeof(m->text));
	struct wr w;

	if (!admin_reply_rule(m) || tlen > TERN_WIRE_ADMIN_TEXT_MAX ||
	    !text_ok((const uint8_t *)m->text, tlen))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w32(&w, m->req_id);
	w32(&w, (uint32_t)m->result);
	w8(&w, m->op);
	w8(&w, m->state);
	w16(&w, m->master);
	w64(&w, m->term);
	w64(&w, m->last_vlsn);
	w64(&w, m->commit_vlsn);
	w64(&w, m->durable_vlsn);
	w16(&w, (uint16_t)tlen);
	wbytes(&w, m->text, (uint32_t)tlen);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_admin_reply_decode(const void *p, uint32_t len, struct tern_wire_admin_reply *out)
{
	const uint8_t *t;
	struct rd r;
	uint16_t tlen;

	rd_init(&r, p, len);
	out->req_id = r32(&r);
	out->result = (int32_t)r32(&r);
	out->op = r8(&r);
	out->state = r8(&r);
	out->master = r16(&r);
	out->term = r64(&r);
	out->last_vlsn = r64(&r);
	out->commit_vlsn = r64(&r);
	out->durable_vlsn = r64(&r);
	tlen = r16(&r);
	out->text[0] = '\0';
	if (r.bad || tlen > TERN_WIRE_ADMIN_TEXT_MAX)
		return TERN_WIRE_REJ_MALFORMED;
	t = rd_take(&r, tlen);
	if (t == NULL || !text_ok(t, tlen))
		return TERN_WIRE_REJ_MALFORMED;
	memcpy(out->text, t, tlen);
	out->text[tlen] = '\0';
	return rd_end_exact(&r, admin_reply_rule(out));
}

/* ---- RESTORE ---- */

static bool
restore_req_rule(const struct tern_wire_restore_req *m)
{
	if (m->op < TERN_WIRE_RESTORE_START || m->op > TERN_WIRE_RESTORE_ABORT)
		return false;
	if (m->max_chunk == 0)
		return false;
	return m->op != TERN_WIRE_RESTORE_START || (m->file == 0 && m->offset == 0);
}

int
tern_wire_restore_req_encode(void *buf, uint32_t cap, const struct tern_wire_restore_req *m)
{
	struct wr w;

	if (!restore_req_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w32(&w, m->session);
	w8(&w, m->op);
	w8(&w, 0);
	w16(&w, m->file);
	w32(&w, m->max_chunk);
	w32(&w, 0);
	w64(&w, m->offset);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_restore_req_decode(const void *p, uint32_t len, struct tern_wire_restore_req *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->session = r32(&r);
	out->op = r8(&r);
	(void)r8(&r);
	out->file = r16(&r);
	out->max_chunk = r32(&r);
	(void)r32(&r);
	out->offset = r64(&r);
	return rd_end_fixed(&r, restore_req_rule(out));
}

/* A file name of the set: one path component, printable, not "." or "..". */
static bool
file_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TERN_WIRE_RESTORE_NAME_MAX)
		return false;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++)
		if (!name_char_ok(s[i]) || s[i] == '/' || s[i] == '\\')
			return false;
	return true;
}

static bool
restore_chunk_rule(const struct tern_wire_restore_chunk *m)
{
	uint64_t end = m->offset + m->len;

	if (end < m->offset || end > m->file_size)
		return false;
	return (m->flags & TERN_WIRE_RESTORE_F_LAST_IN_FILE) == 0 || end == m->file_size;
}

int
tern_wire_restore_chunk_encode(void *buf, uint32_t cap, const struct tern_wire_restore_chunk *m)
{
	size_t nlen = strnlen(m->name, sizeof(m->name));
	struct wr w;

	if (!file_name_ok(m->name, nlen) || !restore_chunk_rule(m) ||
	    (m->len > 0 && m->data == NULL))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w32(&w, m->session);
	w16(&w, m->file);
	w8(&w, m->flags);
	w8(&w, (uint8_t)nlen);
	w64(&w, m->offset);
	w64(&w, m->file_size);
	w32(&w, m->len > 0 ? tern_crc32c(m->data, m->len) : tern_crc32c("", 0));
	w32(&w, m->len);
	wbytes(&w, m->name, (uint32_t)nlen);
	wbytes(&w, m->data, m->len);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_restore_chunk_decode(const void *p, uint32_t len, struct tern_wire_restore_chunk *out)
{
	const uint8_t *name;
	struct rd r;
	uint8_t nlen;
	uint32_t crc;

	rd_init(&r, p, len);
	out->session = r32(&r);
	out->file = r16(&r);
	out->flags = r8(&r);
	nlen = r8(&r);
	out->offset = r64(&r);
	out->file_size = r64(&r);
	crc = r32(&r);
	out->len = r32(&r);
	out->name[0] = '\0';
	name = rd_take(&r, nlen);
	if (name == NULL || !file_name_ok((const char *)name, nlen))
		return TERN_WIRE_REJ_MALFORMED;
	memcpy(out->name, name, nlen);
	out->name[nlen] = '\0';
	out->data = rd_take(&r, out->len);
	if (rd_end_exact(&r, restore_chunk_rule(out)) != TERN_WIRE_REJ_NONE)
		return TERN_WIRE_REJ_MALFORMED;
	if (tern_crc32c(out->data, out->len) != crc)
		return TERN_WIRE_REJ_CRC;
	return TERN_WIRE_REJ_NONE;
}

static bool
restore_chunk_ack_rule(const struct tern_wire_restore_chunk_ack *m)
{
	return m->status <= 0;
}

int
tern_wire_restore_chunk_ack_encode(void *buf, uint32_t cap,
				   const struct tern_wire_restore_chunk_ack *m)
{
	struct wr w;

	if (!restore_chunk_ack_rule(m))
		return -EINVAL;
	wr_init(&w, buf, cap);
	w32(&w, m->session);
	w16(&w, m->file);
	w16(&w, 0);
	w64(&w, m->next_offset);
	w32(&w, (uint32_t)m->status);
	w32(&w, m->credit);
	return wr_end(&w);
}

enum tern_wire_rej
tern_wire_restore_chunk_ack_decode(const void *p, uint32_t len,
				   struct tern_wire_restore_chunk_ack *out)
{
	struct rd r;

	rd_init(&r, p, len);
	out->session = r32(&r);
	out->file = r16(&r);
	(void)r16(&r);
	out->next_offset = r64(&r);
	out->status = (int32_t)r32(&r);
	out->credit = r32(&r);
	return rd_end_fixed(&r, restore_chunk_ack_rule(out));
}

/* ---- Any message ---- */

enum tern_wire_rej
tern_wire_decode(uint8_t type, const void *p, uint32_t len, struct tern_wire_msg *out)
{
	out->type = type;
	switch (type) {
	case TERN_WIRE_ENTRIES:
		return tern_wire_entries_decode(p, len, &out->u.entries);
	case TERN_WIRE_ENTRY_FRAGMENT:
		return tern_wire_fragment_decode(p, len, &out->u.fragment);
	case TERN_WIRE_ACK:
		return tern_wire_ack_decode(p, len, &out->u.ack);
	case TERN_WIRE_NAK:
		return tern_wire_nak_decode(p, len, &out->u.nak);
	case TERN_WIRE_HEARTBEAT:
		return tern_wire_heartbeat_decode(p, len, &out->u.heartbeat);
	case TERN_WIRE_HEARTBEAT_REPLY:
		return tern_wire_heartbeat_reply_decode(p, len, &out->u.heartbeat_reply);
	case TERN_WIRE_SYNCUP_REQ:
		return tern_wire_syncup_req_decode(p, len, &out->u.syncup_req);
	case TERN_WIRE_SYNCUP_REPLY:
		return tern_wire_syncup_reply_decode(p, len, &out->u.syncup_reply);
	case TERN_WIRE_PROPOSE:
		return tern_wire_propose_decode(p, len, &out->u.propose);
	case TERN_WIRE_PROMISE:
		return tern_wire_promise_decode(p, len, &out->u.promise);
	case TERN_WIRE_ACCEPT:
		return tern_wire_accept_decode(p, len, &out->u.ballot);
	case TERN_WIRE_ACCEPTED:
		return tern_wire_accepted_decode(p, len, &out->u.ballot);
	case TERN_WIRE_RESULT:
		return tern_wire_result_decode(p, len, &out->u.ballot);
	case TERN_WIRE_GROUP_UPDATE:
		return tern_wire_group_update_decode(p, len, &out->u.group_update);
	case TERN_WIRE_ADMIN_REQ:
		return tern_wire_admin_req_decode(p, len, &out->u.admin_req);
	case TERN_WIRE_ADMIN_REPLY:
		return tern_wire_admin_reply_decode(p, len, &out->u.admin_reply);
	case TERN_WIRE_RESTORE_REQ:
		return tern_wire_restore_req_decode(p, len, &out->u.restore_req);
	case TERN_WIRE_RESTORE_CHUNK:
		return tern_wire_restore_chunk_decode(p, len, &out->u.restore_chunk);
	case TERN_WIRE_RESTORE_CHUNK_ACK:
		return tern_wire_restore_chunk_ack_decode(p, len, &out->u.restore_chunk_ack);
	default:
		return TERN_WIRE_REJ_UNKNOWN_TYPE;
	}
}

enum tern_wire_rej
tern_wire_decode_dgram(struct tern_wire_ctx *c, const struct tern_wire_hdr *h,
		       struct tern_wire_msg *out)
{
	enum tern_wire_rej r = tern_wire_decode(h->type, tern_wire_payload(h), h->payload_len, out);

	if (r != TERN_WIRE_REJ_NONE) {
		tern_wire_count(c, r);
		TERN_DIAG_RATELIMIT(
			1024, WARNING, wire,
			"node %u rejected a %s body of %" PRIu32 " bytes from node %u: %s", c->self,
			tern_wire_type_str(h->type) ? tern_wire_type_str(h->type) : "unknown",
			(uint32_t)h->payload_len, (unsigned int)h->src, tern_wire_rej_str(r));
	}
	return r;
}
