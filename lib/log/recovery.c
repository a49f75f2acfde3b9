/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recovery at open (DESIGN.md 4): find the segments, start from the last checkpoint the
 * VLSN index recorded (or from the first segment), check every record's CRC and VLSN
 * order, truncate a torn tail, refuse a corrupt middle.
 *
 * A torn tail and a corrupt middle look alike at the bad record; what follows tells them
 * apart. Records are 8-byte aligned, so after a bad record the rest of the segment, and
 * every later segment, is searched for any valid record: finding one means data after the
 * damage (refuse to open: skipping it would lose acknowledged records), finding none means
 * the damage is the unsynced tail of the last write (cut it). The same search runs where
 * a segment's records end at a zeroed header, so a zeroed block in the middle is not
 * mistaken for the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <tern_errno.h>
#include <tern_heap.h>

#include "log_internal.h"

struct seg_list {
	struct tern_log *log;
	int rc;
};

static int
collect(void *arg, const char *name)
{
	struct seg_list *l = arg;
	unsigned int i;
	uint32_t seg = 0;

	if (strlen(name) != 12 || strcmp(name + 8, ".tlg") != 0)
		return 0;
	for (i = 0; i < 8; i++) {
		char c = name[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return 0;
		seg = seg << 4 | (uint32_t)v;
	}
	if (seg == 0)
		return 0;
	l->rc = log_seg_add(l->log, seg);
	return l->rc;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A full, valid record at @p off of the open segment? */
static bool
valid_record_at(struct tern_log_scan *s, uint32_t seg, uint64_t off, uint64_t fsize)
{
	const struct rec_hdr *h;
	ssize_t got;

	got = scan_window(s, LSN(seg, off), sizeof(*h), LSN(seg, fsize));
	if (got < (ssize_t)sizeof(*h))
		return false;
	h = (const struct rec_hdr *)(s->buf + (LSN(seg, off) - s->win_lsn));
	if (!log_rec_plausible(h, off, fsize, s->log->max_payload))
		return false;
	got = scan_window(s, LSN(seg, off), (uint32_t)REC_SIZE(h->len), LSN(seg, fsize));
	if (got < (ssize_t)REC_SIZE(h->len))
		return false;
	h = (const struct rec_hdr *)(s->buf + (LSN(seg, off) - s->win_lsn));
	return log_rec_crc(h, h + 1) == h->crc;
}

/*
 * Search segment @p seg from @p off to its end for a valid record. Also returns the end of
 * the last non-zero byte found (to report how much a cut removes).
 */
static int
search_valid(struct tern_log_scan *s, uint32_t seg, uint64_t off, uint64_t *found,
	     uint64_t *nonzero_end)
{
	uint64_t fsize, p;
	int rc;

	*found = 0;
	rc = scan_seg_open(s, seg);
	if (rc == 0)
		rc = tern_io_size(s->log->io, s->fh, &fsize);
	if (rc != 0)
		return rc;
	off = TERN_ALIGN_UP(off, 8);
	for (p = off; p + 8 <= fsize; p += 8) {
		ssize_t got = scan_window(s, LSN(seg, p), 8, LSN(seg, fsize));
		uint64_t w;

		if (got < 8)
			break;
		memcpy(&w, s->buf + (LSN(seg, p) - s->win_lsn), 8);
		if (w == 0)
			continue;
		*nonzero_end = p + 8;
		if (p + sizeof(struct rec_hdr) <= fsize && valid_record_at(s, seg, p, fsize)) {
			*found = p;
			return 1;
		}
	}
	return 0;
}

/* Does anything valid follow (seg, off): later in that segment or in a later segment? */
static int
data_follows(struct tern_log *log, struct tern_log_scan *s, uint32_t i, uint64_t off,
	     uint64_t *where, uint64_t *nonzero_end)
{
	uint64_t found, nz = 0;
	uint32_t j;
	int rc;

	*nonzero_end = off;
	rc = search_valid(s, log->segs[i], off, &found, nonzero_end);
	if (rc != 0) {
		*where = LSN(log->segs[i], found);
		return rc;
	}
	for (j = i + 1; j < log->n_segs; j++) {
		rc = search_valid(s, log->segs[j], SEG_HDR_SIZE, &found, &nz);
		if (rc != 0) {
			*where = LSN(log->segs[j], found);
			return rc;
		}
	}
	return 0;
}

/* Remove the segments from index @p i on (they hold nothing valid). */
static int
drop_segments_from(struct tern_log *log, struct tern_log_scan *s, uint32_t i)
{
	char name[TERN_IO_NAME_MAX];
	int rc;

	scan_reset(s);
	while (log->n_segs > i) {
		log_seg_name(log->segs[log->n_segs - 1], name, sizeof(name));
		rc = tern_io_remove(log->io, name);
		if (rc != 0 && rc != -ENOENT)
			return rc;
		LOG_DIAG(NOTICE, "removed segment %s: created but nothing valid written", name);
		log->n_segs--;
	}
	return 0;
}

/* Cut segment @p seg at @p off: the rest reads as zeros again. */
static int
cut_segment(struct tern_log *log, struct tern_log_scan *s, uint32_t seg, uint64_t off)
{
	char name[TERN_IO_NAME_MAX];
	int fh, rc;

	scan_reset(s);
	log_seg_name(seg, name, sizeof(name));
	rc = tern_io_open(log->io, name, 0, &fh);
	if (rc != 0)
		return rc;
	rc = tern_io_truncate(log->io, fh, off);
	if (rc == 0)
		rc = tern_io_preallocate(log->io, fh, log->o.segment_size);
	if (rc == 0)
		rc = tern_io_sync(log->io, fh);
	tern_io_close(log->io, fh);
	return rc;
}

struct scan_state {
	uint64_t expect; /* next VLSN, 0 when any */
	uint64_t last_term;
	uint64_t end_lsn;
};

/*
 * Damage at (segs[i], off): a torn tail is cut, a corrupt middle refused. @p what says
 * what was wrong. Returns 1 when the tail was cut (recovery ends), or a negative error.
 */
static int
damage(struct tern_log *log, struct tern_log_scan *s, uint32_t i, uint64_t off, const char *what,
       bool zero_end)
{
	uint64_t where = 0, nz = off;
	int rc;

	rc = data_follows(log, s, i, zero_end ? off : off + 8, &where, &nz);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		LOG_DIAG(ERR, "%s in segment " SEG_NAME_FMT " at offset %#" PRIx64
			 ", followed by a valid record in segment " SEG_NAME_FMT " at offset %#x: "
			 "the log is corrupt, refusing to open",
			 what, log->segs[i], off, LSN_SEG(where), LSN_OFF(where));
		return -TERN_ECORRUPT;
	}
	if (zero_end && nz <= off) {
		/* A clean end: nothing after it at all. */
		rc = drop_segments_from(log, s, i + 1);
		return rc != 0 ? rc : 1;
	}
	LOG_DIAG(NOTICE, "torn tail in segment " SEG_NAME_FMT " at offset %#" PRIx64 " (%s): "
		 "cutting %" PRIu64 " bytes", log->segs[i], off, what, nz > off ? nz - off : 0);
	log->st.truncated_bytes += nz > off ? nz - off : 0;
	rc = drop_segments_from(log, s, i + 1);
	if (rc == 0)
		rc = cut_segment(log, s, log->segs[i], off);
	return rc != 0 ? rc : 1;
}

/* Check the segment header of segs[i]; 0 ok, 1 torn (dropped, recovery ends), < 0 error. */
static int
check_seg_hdr(struct tern_log *log, struct tern_log_scan *s, uint32_t i)
{
	const struct seg_hdr *h;
	uint64_t where = 0, nz = 0;
	ssize_t got;
	int rc;

	rc = scan_seg_open(s, log->segs[i]);
	if (rc != 0)
		return rc;
	got = scan_window(s, LSN(log->segs[i], 0), SEG_HDR_SIZE, UINT64_MAX);
	if (got < 0)
		return (int)got;
	h = (const struct seg_hdr *)s->buf;
	if (got >= SEG_HDR_SIZE && s->win_lsn == LSN(log->segs[i], 0)) {
		rc = log_seg_hdr_check(h, log->segs[i]);
		if (rc == -TERN_EFORMAT) {
			LOG_DIAG(ERR,
				 "segment " SEG_NAME_FMT " has version %u, this build reads %u..%u",
				 log->segs[i], h->version, SEG_VERSION_MIN, SEG_VERSION);
			return rc;
		}
		if (rc == 0)
			return 0;
	}
	/* A bad header is a torn creation only when nothing valid follows it. */
	rc = data_follows(log, s, i, SEG_HDR_SIZE, &where, &nz);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		LOG_DIAG(ERR, "segment " SEG_NAME_FMT " has a bad header (offset 0) and valid "
			 "records after it: refusing to open", log->segs[i]);
		return -TERN_ECORRUPT;
	}
	rc = drop_segments_from(log, s, i);
	return rc != 0 ? rc : 1;
}

static int
scan_segment(struct tern_log *log, struct tern_log_scan *s, uint32_t i, uint64_t off,
	     struct scan_state *st)
{
	uint32_t seg = log->segs[i];
	uint64_t fsize;
	int rc;

	rc = scan_seg_open(s, seg);
	if (rc == 0)
		rc = tern_io_size(log->io, s->fh, &fsize);
	if (rc != 0)
		return rc;
	for (;;) {
		const struct rec_hdr *h;
		ssize_t got;

		st->end_lsn = LSN(seg, off);
		got = scan_window(s, LSN(seg, off), sizeof(*h), LSN(seg, fsize));
		if (got < 0)
			return (int)got;
		h = (const struct rec_hdr *)(s->buf + (LSN(seg, off) - s->win_lsn));
		if (got < (ssize_t)sizeof(*h) ||
		    memcmp(h, (const uint8_t[sizeof(*h)]){0}, sizeof(*h)) == 0) {
			/* The records of this segment end here; nothing may follow but zeros. */
			uint64_t where = 0, nz = off;

			rc = data_follows(log, s, i, off, &where, &nz);
			if (rc < 0)
				return rc;
			if (rc > 0 && LSN_SEG(where) == seg)
				return damage(log, s, i, off, "zeroed record header", true);
			if (i + 1 < log->n_segs)
				return 0; /* on to the next segment */
			if (nz > off)
				return damage(log, s, i, off, "torn record header", true);
			return 1;
		}
		if (!log_rec_plausible(h, off, fsize, log->max_payload))
			return damage(log, s, i, off, "bad record header", false);
		got = scan_window(s, LSN(seg, off), (uint32_t)REC_SIZE(h->len), LSN(seg, fsize));
		if (got < 0)
			return (int)got;
		if (got < (ssize_t)REC_SIZE(h->len))
			return damage(log, s, i, off, "record past end of file", false);
		h = (const struct rec_hdr *)(s->buf + (LSN(seg, off) - s->win_lsn));
		if (log_rec_crc(h, h + 1) != h->crc)
			return damage(log, s, i, off, "CRC mismatch", false);
		if (h->vlsn != 0 && st->expect != 0 && h->vlsn != st->expect) {
			LOG_DIAG(ERR, "segment " SEG_NAME_FMT " at offset %#" PRIx64 ": VLSN %" PRIu64
				 " where %" PRIu64 " was expected: refusing to open", seg, off,
				 (uint64_t)h->vlsn, st->expect);
			return -TERN_ECORRUPT;
		}
		if (h->term < st->last_term) {
			LOG_DIAG(ERR, "segment " SEG_NAME_FMT " at offset %#" PRIx64 ": term %" PRIu64
				 " after term %" PRIu64 ": refusing to open", seg, off,
				 (uint64_t)h->term, st->last_term);
			return -TERN_ECORRUPT;
		}
		if (h->vlsn != 0) {
			rc = tern_vlsn_index_add(&log->idx, h->vlsn, LSN(seg, off));
			if (rc != 0)
				return rc;
			st->expect = h->vlsn + 1;
		}
		st->last_term = h->term;
		log->st.recovered_records++;
		off += REC_SIZE(h->len);
	}
}

/* Use the persisted index when it matches the log: returns the LSN to scan from, or 0. */
static uint64_t
use_index(struct tern_log *log, struct tern_log_scan *s, struct scan_state *st)
{
	struct tern_vlsn_index_meta m;
	struct tern_log_entry e;
	uint32_t i;
	int rc;

	rc = tern_vlsn_index_load(&log->idx, log->io, &m);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0) {
		LOG_DIAG(WARNING, "%s unusable (%s): rebuilding the VLSN index from the log",
			 TERN_VLSN_INDEX_FILE, tern_strerror(rc));
		return 0;
	}
	for (i = 0; i < log->n_segs && log->segs[i] != LSN_SEG(m.ckpt_lsn); i++)
		;
	rc = -ENOENT;
	if (i < log->n_segs && (log->idx.n == 0 || log->idx.map[0].lsn >= LSN(log->segs[0], 0))) {
		scan_seek(s, m.ckpt_lsn);
		rc = scan_record(s, m.end_lsn, &e);
	}
	if (rc != 1 || e.type != TERN_LOG_TYPE_CHECKPOINT || e.vlsn != 0 ||
	    s->pos != m.end_lsn) {
		LOG_DIAG(WARNING, "%s does not match the log (checkpoint at segment " SEG_NAME_FMT
			 " offset %#x): rebuilding the VLSN index from the log",
			 TERN_VLSN_INDEX_FILE, LSN_SEG(m.ckpt_lsn), LSN_OFF(m.ckpt_lsn));
		tern_vlsn_index_fini(&log->idx);
		tern_vlsn_index_init(&log->idx, log->o.index_stride);
		return 0;
	}
	log->ckpt = m;
	st->expect = log->idx.last != 0 ? log->idx.last + 1 : 0;
	st->last_term = m.last_term;
	return m.end_lsn;
}

int
log_recover(struct tern_log *log)
{
	struct seg_list l = {.log = log};
	struct scan_state st = {0};
	struct tern_log_scan s;
	char name[TERN_IO_NAME_MAX];
	uint64_t start;
	uint32_t i, first_i;
	int rc;

	log->last_vlsn = log->o.first_vlsn - 1;
	log->written_vlsn = log->durable_vlsn = log->last_vlsn;
	rc = tern_io_list(log->io, collect, &l);
	if (rc == 0)
		rc = l.rc;
	if (rc != 0)
		return rc;
	if (log->n_segs == 0) {
		rc = tern_io_remove(log->io, TERN_VLSN_INDEX_FILE);
		return rc == -ENOENT ? 0 : rc;
	}
	qsort(log->segs, log->n_segs, sizeof(log->segs[0]), cmp_u32);
	for (i = 1; i < log->n_segs; i++) {
		if (log->segs[i] != log->segs[i - 1] + 1) {
			LOG_DIAG(ERR, "segment " SEG_NAME_FMT " is missing (found " SEG_NAME_FMT
				 " and " SEG_NAME_FMT "): refusing to open", log->segs[i - 1] + 1,
				 log->segs[i - 1], log->segs[i]);
			return -TERN_ECORRUPT;
		}
	}
	rc = scan_init(&s, log, 1 << 20);
	if (rc != 0)
		return rc;
	start = use_index(log, &s, &st);
	if (start == 0)
		start = LSN(log->segs[0], SEG_HDR_SIZE);
	for (first_i = 0; log->segs[first_i] != LSN_SEG(start); first_i++)
		;
	for (i = first_i; i < log->n_segs; i++) {
		if (i > first_i || LSN_OFF(start) == SEG_HDR_SIZE) {
			rc = check_seg_hdr(log, &s, i);
			if (rc != 0)
				break;
		}
		rc = scan_segment(log, &s, i, i == first_i ? LSN_OFF(start) : SEG_HDR_SIZE, &st);
		if (rc != 0)
			break;
	}
	scan_fini(&s);
	if (rc < 0)
		return rc;
	if (log->n_segs == 0) {
		/* The only segment was a torn creation: the log is empty. */
		log->st.segments = 0;
		rc = tern_io_remove(log->io, TERN_VLSN_INDEX_FILE);
		return rc == -ENOENT ? 0 : rc;
	}
	if (TERN_NEVER(LSN_SEG(st.end_lsn) != log->segs[log->n_segs - 1]))
		return -TERN_ECORRUPT;
	log->end_lsn = st.end_lsn;
	log->last_term = st.last_term;
	if (log->idx.last != 0) {
		log->first_vlsn = log->idx.first;
		log->last_vlsn = log->idx.last;
	}
	log->written_vlsn = log->durable_vlsn = log->last_vlsn;
	log->written_lsn = log->durable_lsn = log->end_lsn;
	/* What a process crash left in the page cache is made durable before it counts. */
	log_seg_name(LSN_SEG(log->end_lsn), name, sizeof(name));
	rc = tern_io_open(log->io, name, 0, &log->cur_fh);
	if (rc == 0)
		rc = tern_io_sync(log->io, log->cur_fh);
	return rc;
}
