/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading the log: the forward scanner and reads by VLSN. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <tern_errno.h>
#include <tern_heap.h>

#include "log_internal.h"

int
scan_init(struct tern_log_scan *s, struct tern_log *log, uint32_t cap)
{
	memset(s, 0, sizeof(*s));
	s->log = log;
	s->fh = -1;
	s->buf = tern_malloc(cap);
	if (s->buf == NULL)
		return -ENOMEM;
	s->cap = cap;
	return 0;
}

void
scan_fini(struct tern_log_scan *s)
{
	if (s->fh >= 0)
		tern_io_close(s->log->io, s->fh);
	s->fh = -1;
	tern_free(s->buf);
	s->buf = NULL;
}

void
scan_reset(struct tern_log_scan *s)
{
	if (s->fh >= 0)
		tern_io_close(s->log->io, s->fh);
	s->fh = -1;
	s->win_len = 0;
}

int
scan_seek(struct tern_log_scan *s, uint64_t lsn)
{
	s->pos = lsn;
	return 0;
}

int
scan_seg_open(struct tern_log_scan *s, uint32_t seg)
{
	char name[TERN_IO_NAME_MAX];
	int rc;

	if (s->fh >= 0 && s->seg == seg)
		return 0;
	if (s->fh >= 0)
		tern_io_close(s->log->io, s->fh);
	s->fh = -1;
	s->win_len = 0;
	log_seg_name(seg, name, sizeof(name));
	rc = tern_io_open(s->log->io, name, TERN_IO_RDONLY, &s->fh);
	if (rc != 0)
		return rc;
	s->seg = seg;
	return 0;
}

/*
 * Make buf hold [lsn, lsn + want); returns the bytes available from lsn (fewer than want at
 * end of file). Bytes at or past @p limit (the written end) are never kept, so a window
 * never caches what the log has not written yet.
 */
ssize_t
scan_window(struct tern_log_scan *s, uint64_t lsn, uint32_t want, uint64_t limit)
{
	ssize_t got;

	if (lsn >= s->win_lsn && lsn + want <= s->win_lsn + s->win_len)
		return (ssize_t)(s->win_lsn + s->win_len - lsn);
	if (want > s->cap) {
		uint8_t *b = tern_malloc(want);

		if (b == NULL)
			return -ENOMEM;
		tern_free(s->buf);
		s->buf = b;
		s->cap = want;
	}
	got = tern_io_read(s->log->io, s->fh, s->buf, s->cap, LSN_OFF(lsn));
	if (got < 0) {
		s->win_len = 0;
		return got;
	}
	if (LSN_SEG(limit) == LSN_SEG(lsn) && lsn + (uint64_t)got > limit)
		got = limit > lsn ? (ssize_t)(limit - lsn) : 0;
	s->win_lsn = lsn;
	s->win_len = (uint32_t)got;
	return got;
}

static uint32_t
seg_after(const struct tern_log *log, uint32_t seg)
{
	uint32_t i;

	for (i = 0; i < log->n_segs; i++)
		if (log->segs[i] > seg)
			return log->segs[i];
	return 0;
}

static const uint8_t zero_hdr[sizeof(struct rec_hdr)];

int
scan_record(struct tern_log_scan *s, uint64_t limit_lsn, struct tern_log_entry *e)
{
	struct tern_log *log = s->log;
	const struct rec_hdr *h;
	uint64_t size;
	ssize_t got;
	int rc;

	for (;;) {
		if (s->pos >= limit_lsn)
			return 0;
		rc = scan_seg_open(s, LSN_SEG(s->pos));
		if (rc != 0)
			return rc;
		if (LSN_OFF(s->pos) < SEG_HDR_SIZE)
			s->pos = LSN(LSN_SEG(s->pos), SEG_HDR_SIZE);
		got = scan_window(s, s->pos, sizeof(*h), limit_lsn);
		if (got < 0)
			return (int)got;
		h = (const struct rec_hdr *)(s->buf + (s->pos - s->win_lsn));
		if (got < (ssize_t)sizeof(*h) || memcmp(h, zero_hdr, sizeof(*h)) == 0) {
			/* End of this segment's records: go on in the next one. */
			uint32_t next = seg_after(log, LSN_SEG(s->pos));

			if (next == 0)
				return 0;
			s->pos = LSN(next, SEG_HDR_SIZE);
			continue;
		}
		if (!log_rec_plausible(h, LSN_OFF(s->pos), log->o.segment_size, log->max_payload))
			goto corrupt;
		size = REC_SIZE(h->len);
		got = scan_window(s, s->pos, (uint32_t)size, limit_lsn);
		if (got < 0)
			return (int)got;
		if (got < (ssize_t)size)
			goto corrupt;
		h = (const struct rec_hdr *)(s->buf + (s->pos - s->win_lsn));
		if (log_rec_crc(h, h + 1) != h->crc)
			goto corrupt;
		e->vlsn = h->vlsn;
		e->term = h->term;
		e->txn_id = h->txn_id;
		e->timestamp_ns = h->timestamp_ns;
		e->type = h->type;
		e->flags = h->flags;
		e->len = h->len;
		e->data = h + 1;
		e->lsn = s->pos;
		s->pos += size;
		return 1;
	}
corrupt:
	LOG_DIAG(ERR, "corrupt record in segment " SEG_NAME_FMT " at offset %#x",
		 LSN_SEG(s->pos), LSN_OFF(s->pos));
	return -TERN_ECORRUPT;
}

/* Position @p s at the record with VLSN @p vlsn (which must be written). */
static int
seek_vlsn(struct tern_log_scan *s, uint64_t vlsn)
{
	struct tern_log_entry e;
	uint64_t base, lsn;
	int rc;

	rc = tern_vlsn_index_lookup(&s->log->idx, vlsn, &base, &lsn);
	if (rc != 0)
		return rc;
	scan_seek(s, lsn);
	for (;;) {
		rc = scan_record(s, s->log->written_lsn, &e);
		if (rc <= 0)
			return rc == 0 ? -ENOENT : rc;
		if (e.vlsn == vlsn) {
			s->pos = e.lsn;
			return 0;
		}
		if (e.vlsn > vlsn)
			return -TERN_ECORRUPT;
	}
}

int
tern_log_read(struct tern_log *log, uint64_t vlsn, struct tern_log_entry *e, void *buf,
	      size_t cap)
{
	struct tern_log_scan *s = log->reader;
	int rc;

	if (vlsn == 0 || vlsn > log->written_vlsn || vlsn < tern_log_first_vlsn(log))
		return -ENOENT;
	rc = seek_vlsn(s, vlsn);
	if (rc != 0)
		return rc;
	rc = scan_record(s, log->written_lsn, e);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	if (e->len > cap) {
		e->data = NULL;
		return -ENOBUFS;
	}
	if (e->len > 0)
		memcpy(buf, e->data, e->len);
	e->data = buf;
	return 0;
}

int
tern_log_scan_open(struct tern_log *log, uint64_t from, struct tern_log_scan **out)
{
	struct tern_log_scan *s;
	int rc;

	if (from < tern_log_first_vlsn(log) || from > log->written_vlsn + 1)
		return -ENOENT;
	s = tern_malloc(sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	rc = scan_init(s, log, 1 << 16);
	if (rc == 0) {
		if (from <= log->written_vlsn)
			rc = seek_vlsn(s, from);
		else
			scan_seek(s, log->written_lsn);
	}
	if (rc != 0) {
		scan_fini(s);
		tern_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
tern_log_scan_next(struct tern_log_scan *s, struct tern_log_entry *e)
{
	int rc;

	do {
		rc = scan_record(s, s->log->written_lsn, e);
	} while (rc == 1 && e->vlsn == 0);
	return rc;
}

void
tern_log_scan_close(struct tern_log_scan *s)
{
	if (s == NULL)
		return;
	scan_fini(s);
	tern_free(s);
}
