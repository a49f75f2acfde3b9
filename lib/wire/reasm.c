/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reassembly of entries larger than one frame (DESIGN.md 3: "log entries larger than one
 * frame are fragmented and reassembled"). One entry at a time, into the caller's buffer;
 * the bytes received are a sorted list of disjoint, non-adjacent ranges, so fragments of
 * any size may come in any order, more than once, and overlap.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <tern_common.h>

#include "tern_wire.h"
#include "tern_wire_msgs.h"

void
tern_wire_reasm_init(struct tern_wire_reasm *r, void *buf, uint32_t cap)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->cap = cap;
}

void
tern_wire_reasm_reset(struct tern_wire_reasm *r)
{
	if (r->active)
		r->stats.resets++;
	r->active = false;
	r->n_ranges = 0;
	r->received = 0;
}

static bool
same_entry(const struct tern_wire_fragment *a, const struct tern_wire_fragment *b)
{
	return a->term == b->term && a->txn_id == b->txn_id && a->timestamp_ns == b->timestamp_ns &&
	       a->type == b->type && a->flags == b->flags && a->total_len == b->total_len;
}

static void
start(struct tern_wire_reasm *r, const struct tern_wire_fragment *f)
{
	r->cur = *f;
	r->cur.offset = 0;
	r->cur.len = 0;
	r->cur.data = NULL;
	r->active = true;
	r->n_ranges = 0;
	r->received = 0;
}

static enum tern_wire_reasm_rc
reject(struct tern_wire_reasm *r, enum tern_wire_rej rej, enum tern_wire_rej *why)
{
	r->stats.rejected[rej]++;
	if (why != NULL)
		*why = rej;
	return TERN_WIRE_REASM_REJECTED;
}

/*
 * Add [s, e) to the ranges. Returns DUPLICATE when it is covered already, REJECTED when
 * the list would overflow (nothing changed), PARTIAL when added.
 */
static enum tern_wire_reasm_rc
add_range(struct tern_wire_reasm *r, uint32_t s, uint32_t e)
{
	unsigned int i = 0, j, n = r->n_ranges, k;
	uint32_t ms = s, me = e;

	while (i < n && r->ranges[i].end < s)
		i++;
	j = i;
	while (j < n && r->ranges[j].start <= e)
		j++;
	/* ranges[i, j) touch or overlap [s, e). */
	if (j == i + 1 && r->ranges[i].start <= s && r->ranges[i].end >= e)
		return TERN_WIRE_REASM_DUPLICATE;
	if (n - (j - i) + 1 > TERN_WIRE_REASM_RANGES)
		return TERN_WIRE_REASM_REJECTED;
	if (j > i) {
		ms = TERN_MIN(s, r->ranges[i].start);
		me = TERN_MAX(e, r->ranges[j - 1].end);
	}
	memmove(&r->ranges[i + 1], &r->ranges[j], (n - j) * sizeof(r->ranges[0]));
	r->ranges[i].start = ms;
	r->ranges[i].end = me;
	r->n_ranges = n - (j - i) + 1;
	r->received = 0;
	for (k = 0; k < r->n_ranges; k++)
		r->received += r->ranges[k].end - r->ranges[k].start;
	return TERN_WIRE_REASM_PARTIAL;
}

enum tern_wire_reasm_rc
tern_wire_reasm_add(struct tern_wire_reasm *r, const struct tern_wire_fragment *f,
		    uint64_t need_vlsn, struct tern_wire_entry *out, enum tern_wire_rej *why)
{
	enum tern_wire_reasm_rc rc;

	/* A decoded fragment obeys these; one made by the caller may not. */
	if (f->vlsn == 0 || f->len == 0 || f->data == NULL || f->total_len == 0 ||
	    (uint64_t)f->offset + f->len > f->total_len)
		return reject(r, TERN_WIRE_REJ_MALFORMED, why);
	if (f->total_len > r->cap || f->total_len > TERN_WIRE_ENTRY_MAX)
		return reject(r, TERN_WIRE_REJ_TOO_BIG, why);
	if (r->active && r->cur.vlsn < need_vlsn) {
		/* The caller has the entry in progress by now: nothing to wait for. */
		r->stats.abandoned++;
		r->active = false;
	}
	if (f->vlsn < need_vlsn) {
		r->stats.stale++;
		return TERN_WIRE_REASM_STALE;
	}
	if (r->active && f->vlsn > r->cur.vlsn) {
		r->stats.busy++;
		return TERN_WIRE_REASM_BUSY;
	}
	if (r->active && f->vlsn == r->cur.vlsn && !same_entry(&r->cur, f))
		return reject(r, TERN_WIRE_REJ_REASM_CONFLICT, why);
	if (r->active && f->vlsn < r->cur.vlsn) {
		/* A retransmission of an earlier entry: it must be applied first. */
		r->stats.abandoned++;
		r->active = false;
	}
	if (!r->active)
		start(r, f);

	rc = add_range(r, f->offset, f->offset + f->len);
	if (rc == TERN_WIRE_REASM_DUPLICATE) {
		r->stats.duplicates++;
		return rc;
	}
	if (rc == TERN_WIRE_REASM_REJECTED)
		return reject(r, TERN_WIRE_REJ_REASM_GAPS, why);
	memcpy(r->buf + f->offset, f->data, f->len);
	r->stats.fragments++;
	if (r->received < r->cur.total_len)
		return TERN_WIRE_REASM_PARTIAL;

	out->vlsn = r->cur.vlsn;
	out->term = r->cur.term;
	out->txn_id = r->cur.txn_id;
	out->timestamp_ns = r->cur.timestamp_ns;
	out->type = r->cur.type;
	out->flags = r->cur.flags;
	out->len = r->cur.total_len;
	out->data = r->buf;
	r->active = false;
	r->n_ranges = 0;
	r->received = 0;
	r->stats.completed++;
	return TERN_WIRE_REASM_COMPLETE;
}
