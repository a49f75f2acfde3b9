/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The log: appends, group commit, failure handling (DESIGN.md 4). Recovery is in
 * recovery.c, reading and scanning in scan.c, the VLSN index in vlsn_index.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <tern_crc32c.h>
#include <tern_errno.h>
#include <tern_heap.h>

#include "log_internal.h"

TERN_DIAG_REGISTER(log, NOTICE);

#define DEFAULT_SEGMENT_SIZE (64ULL << 20)
#define MIN_SEGMENT_SIZE (64ULL << 10)
#define DEFAULT_BATCH_BYTES (2U << 20)
#define MIN_BATCH_BYTES 4096U
#define DEFAULT_STRIDE 64
#define DEFAULT_WRITEBACK_BYTES (1U << 20)
#define DEFAULT_LAZY_BYTES (64U << 10)
#define LAZY_IDLE_POLLS 64
#define SYNC_WAIT_NS (60ULL * 1000000000ULL)

void
tern_log_opts_init(struct tern_log_opts *o, size_t size)
{
	memset(o, 0, size);
	o->opts_size = size;
	o->segment_size = DEFAULT_SEGMENT_SIZE;
	o->batch_bytes = DEFAULT_BATCH_BYTES;
	o->batches = 4;
	o->index_stride = DEFAULT_STRIDE;
	o->first_vlsn = 1;
	if (size >= offsetof(struct tern_log_opts, writeback_bytes) + sizeof(o->writeback_bytes))
		o->writeback_bytes = DEFAULT_WRITEBACK_BYTES;
	if (size >= offsetof(struct tern_log_opts, lazy_bytes) + sizeof(o->lazy_bytes))
		o->lazy_bytes = DEFAULT_LAZY_BYTES;
}

void
log_seg_name(uint32_t seg, char *name, size_t cap)
{
	snprintf(name, cap, SEG_NAME_FMT, seg);
}

int
log_seg_hdr_check(const struct seg_hdr *h, uint32_t seg)
{
	if (memcmp(h->magic, SEG_MAGIC, sizeof(h->magic)) != 0)
		return -TERN_ECORRUPT;
	if (tern_crc32c(h, offsetof(struct seg_hdr, crc)) != h->crc)
		return -TERN_ECORRUPT;
	if (h->version < SEG_VERSION_MIN || h->version > SEG_VERSION || h->hdr_size != SEG_HDR_SIZE)
		return -TERN_EFORMAT;
	if (h->seg_no != seg || h->seg_size < MIN_SEGMENT_SIZE || h->seg_size > UINT32_MAX)
		return -TERN_ECORRUPT;
	return 0;
}

bool
log_rec_plausible(const struct rec_hdr *h, uint64_t off, uint64_t seg_size, uint32_t max_payload)
{
	return h->magic == REC_MAGIC && (h->flags & ~TERN_LOG_ENTRY_FLAGS) == 0 &&
	       h->len <= max_payload &&
	       off + REC_SIZE(h->len) <= seg_size;
}

uint32_t
log_rec_crc(const struct rec_hdr *h, const void *payload)
{
	uint32_t crc = tern_crc32c((const uint8_t *)h + 4, sizeof(*h) - 4);

	return tern_crc32c_extend(crc, payload, h->len);
}

int
log_seg_add(struct tern_log *log, uint32_t seg)
{
	uint32_t *s;

	if (log->n_segs == log->cap_segs) {
		uint32_t cap = log->cap_segs != 0 ? log->cap_segs * 2 : 16;

		s = tern_calloc(cap, sizeof(*s));
		if (s == NULL)
			return -ENOMEM;
		if (log->n_segs > 0)
			memcpy(s, log->segs, log->n_segs * sizeof(*s));
		tern_free(log->segs);
		log->segs = s;
		log->cap_segs = cap;
	}
	log->segs[log->n_segs++] = seg;
	return 0;
}

static void
emit(struct tern_log *log, enum tern_log_event_type type, uint64_t vlsn, uint64_t lsn,
     uint64_t first, uint64_t last, int err)
{
	struct tern_log_event ev = {
		.type = type, .vlsn = vlsn, .lsn = lsn, .first = first, .last = last, .err = err,
	};

	if (log->o.on_event != NULL)
		log->o.on_event(log->o.event_arg, &ev);
}

static struct batch *
batch_at(struct tern_log *log, unsigned int k)
{
	return &log->batches[k];
}

/* Batches are used as a ring: the one after @p k. */
static unsigned int
batch_next(const struct tern_log *log, unsigned int k)
{
	return k + 1 == log->n_batches ? 0 : k + 1;
}

static struct batch *
fill_batch(struct tern_log *log)
{
	struct batch *b;

	if (log->used == 0)
		return NULL;
	b = batch_at(log, log->fill);
	return b->state == BATCH_FILLING ? b : NULL;
}

/* Start filling a new batch at the log's end; NULL when every buffer is busy. */
static struct batch *
batch_open(struct tern_log *log)
{
	unsigned int k = log->used == 0 ? log->head : batch_next(log, log->fill);
	struct batch *b;

	if (log->used == log->n_batches)
		return NULL;
	b = batch_at(log, k);
	assert(b->state == BATCH_FREE);
	b->state = BATCH_FILLING;
	b->len = 0;
	b->nrec = 0;
	b->need_sync = false;
	b->need_write = false;
	b->idle_polls = 0;
	b->len_seen = 0;
	b->created_seg = false;
	b->first_vlsn = b->last_vlsn = 0;
	b->fh = log->cur_fh;
	b->seg = LSN_SEG(log->end_lsn);
	b->file_off = LSN_OFF(log->end_lsn);
	b->prev_end_lsn = log->end_lsn;
	b->prev_last_vlsn = log->last_vlsn;
	b->prev_last_term = log->last_term;
	log->fill = k;
	log->used++;
	return b;
}

static void
seg_hdr_fill(struct seg_hdr *h, uint32_t seg, uint64_t seg_size)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SEG_MAGIC, sizeof(h->magic));
	h->version = SEG_VERSION;
	h->hdr_size = SEG_HDR_SIZE;
	h->seg_no = seg;
	h->seg_size = seg_size;
	h->crc = tern_crc32c(h, offsetof(struct seg_hdr, crc));
}

/*
 * Create and preallocate the next segment. The segment header goes out with the first
 * batch written to it. The old segment must be durable before anything in the new one is
 * reported durable: the caller makes its last batch sync.
 */
static int
seg_create(struct tern_log *log, uint32_t seg)
{
	char name[TERN_IO_NAME_MAX];
	int fh, rc;

	log_seg_name(seg, name, sizeof(name));
	rc = tern_io_open(log->io, name, TERN_IO_CREATE | TERN_IO_EXCL, &fh);
	if (rc != 0) {
		LOG_DIAG(ERR, "creating segment %s failed: %s", name, tern_strerror(rc));
		return rc;
	}
	rc = tern_io_preallocate(log->io, fh, log->o.segment_size);
	if (rc == 0)
		rc = log_seg_add(log, seg);
	if (rc != 0) {
		LOG_DIAG(ERR, "preallocating segment %s (%" PRIu64 " bytes) failed: %s", name,
			 log->o.segment_size, tern_strerror(rc));
		tern_io_close(log->io, fh);
		tern_io_remove(log->io, name);
		return rc;
	}
	if (log->cur_fh >= 0)
		log->retired[log->n_retired++] = log->cur_fh; /* batches may still use it */
	log->cur_fh = fh;
	log->st.segments++;
	return 0;
}

/* Close the handles of earlier segments that no batch points at any more. */
static void
retired_release(struct tern_log *log)
{
	unsigned int i, k, n = 0;

	for (i = 0; i < log->n_retired; i++) {
		int fh = log->retired[i];
		bool used = false;

		for (k = 0; k < log->n_batches; k++)
			used |= log->batches[k].state != BATCH_FREE && log->batches[k].fh == fh;
		if (used)
			log->retired[n++] = fh;
		else
			tern_io_close(log->io, fh);
	}
	log->n_retired = n;
}

/*
 * Make room for a record of @p size bytes: returns the batch it goes in, or NULL when the
 * buffers are full (*rc = 0) or a new segment could not be made (*rc < 0).
 */
static struct batch *
reserve(struct tern_log *log, uint64_t size, int *rc)
{
	struct batch *b = fill_batch(log);
	uint32_t seg = LSN_SEG(log->end_lsn);
	uint64_t old_end = log->end_lsn;
	bool old_sync, reuse;
	unsigned int need;

	*rc = 0;
	if (log->cur_fh >= 0 && LSN_OFF(log->end_lsn) + size <= log->o.segment_size) {
		if (b != NULL && b->len + size <= log->o.batch_bytes)
			return b;
		b = batch_open(log);
		if (b == NULL)
			log->st.full++;
		return b;
	}
	/*
	 * Roll to a new segment. The old one must be durable before anything in the new one
	 * is reported durable, so the batch that ends it syncs (a sync-only batch when the
	 * filling one is absent). An empty filling batch with nothing to sync is re-aimed.
	 */
	old_sync = log->cur_fh >= 0 && log->seg_dirty;
	reuse = b != NULL && b->len == 0 && !old_sync;
	need = (reuse ? 0 : 1) + (old_sync && b == NULL ? 1 : 0);
	if (log->n_retired > 0)
		retired_release(log);
	if (log->n_batches - log->used < need || log->n_retired >= TERN_DIM(log->retired) - 1) {
		log->st.full++;
		return NULL;
	}
	if (old_sync) {
		/* Aimed at the old segment, so made before the new one becomes current. */
		if (b == NULL)
			b = batch_open(log);
		b->need_sync = true;
	}
	*rc = seg_create(log, seg + 1);
	if (*rc != 0)
		return NULL; /* a sync-only batch left behind just makes the old segment durable */
	log->seg_dirty = false;
	log->end_lsn = LSN(seg + 1, 0);
	if (!reuse)
		b = batch_open(log);
	b->fh = log->cur_fh;
	b->seg = seg + 1;
	b->file_off = 0;
	b->prev_end_lsn = old_end; /* a rewind past it removes the new segment */
	b->created_seg = true;
	seg_hdr_fill((struct seg_hdr *)b->buf, seg + 1, log->o.segment_size);
	b->len = SEG_HDR_SIZE;
	log->end_lsn = LSN(seg + 1, SEG_HDR_SIZE);
	return b;
}

int
tern_log_append(struct tern_log *log, const struct tern_log_entry *e, unsigned int n,
		enum tern_log_sync sync)
{
	unsigned int i;
	int rc;

	if (log->err != 0)
		return -TERN_ELOGRO;
	for (i = 0; i < n; i++) {
		const struct tern_log_entry *x = &e[i];
		uint64_t size = REC_SIZE(x->len);
		struct rec_hdr *h;
		struct batch *b;

		if (x->vlsn != 0 && x->vlsn != log->last_vlsn + 1) {
			LOG_DIAG(ERR, "append of VLSN %" PRIu64 " after %" PRIu64 " refused",
				 x->vlsn, log->last_vlsn);
			return -TERN_EVLSN;
		}
		if (x->term < log->last_term)
			return -TERN_ESTALE;
		if (x->len > log->max_payload || (x->len > 0 && x->data == NULL) ||
		    (x->flags & ~TERN_LOG_ENTRY_FLAGS) != 0)
			return x->len > log->max_payload ? -E2BIG : -EINVAL;
		b = reserve(log, size, &rc);
		if (b == NULL) {
			if (rc != 0)
				return rc;
			return (int)i;
		}
		h = (struct rec_hdr *)(b->buf + b->len);
		h->len = x->len;
		h->type = x->type;
		h->flags = x->flags;
		h->magic = REC_MAGIC;
		h->vlsn = x->vlsn;
		h->term = x->term;
		h->txn_id = x->txn_id;
		h->timestamp_ns = x->timestamp_ns;
		if (x->len > 0)
			memcpy(h + 1, x->data, x->len);
		if (size > sizeof(*h) + x->len)
			memset((uint8_t *)(h + 1) + x->len, 0, size - sizeof(*h) - x->len);
		h->crc = log_rec_crc(h, h + 1);
		if (x->vlsn != 0) {
			rc = tern_vlsn_index_add(&log->idx, x->vlsn, log->end_lsn);
			if (rc != 0)
				return rc; /* -ENOMEM: the record is not counted in the batch */
			if (b->first_vlsn == 0)
				b->first_vlsn = x->vlsn;
			b->last_vlsn = x->vlsn;
			log->last_vlsn = x->vlsn;
			if (log->first_vlsn == 0)
				log->first_vlsn = x->vlsn;
		}
		log->last_term = x->term;
		b->len += size;
		b->nrec++;
		if (sync == TERN_LOG_SYNC)
			b->need_sync = true;
		if (sync != TERN_LOG_NO_SYNC)
			b->need_write = true;
		log->end_lsn += size;
		log->seg_dirty = true;
		log->st.appends++;
		log->st.append_bytes += x->len;
	}
	return (int)n;
}

static int
batch_submit(struct tern_log *log, struct batch *b)
{
	struct tern_io_req req = {
		.fh = b->fh,
		.buf_index = log->bufs_registered ? (int)(b - log->batches) : -1,
		.buf = b->buf,
		.len = b->len,
		.flags = b->need_sync ? TERN_IO_REQ_SYNC : 0,
		.off = b->file_off,
		.user_data = (uint64_t)(b - log->batches),
	};
	uint64_t unsynced = b->need_sync ? 0 : log->wb_unsynced + b->len;
	int rc;

	if (log->o.writeback_bytes != 0 && unsynced >= log->o.writeback_bytes) {
		req.flags |= TERN_IO_REQ_WRITEBACK;
		unsynced = 0;
	}
	rc = tern_io_submit(log->io, &req);
	if (rc == 0)
		rc = tern_io_flush(log->io) < 0 ? -EIO : 0;
	if (rc != 0)
		return rc;
	b->state = BATCH_INFLIGHT;
	log->wb_unsynced = unsynced;
	log->st.writebacks += (req.flags & TERN_IO_REQ_WRITEBACK) != 0;
	if (b->need_sync && b->seg == LSN_SEG(log->end_lsn) && b == fill_batch(log))
		log->seg_dirty = false;
	log->st.batches++;
	log->st.syncs += b->need_sync;
	if (b->nrec > log->st.batch_records_max)
		log->st.batch_records_max = b->nrec;
	return 0;
}

/* Forget batches from @p b on: they were never written. Report their records FAILED. */
static void
rewind_to(struct tern_log *log, struct batch *b, int err)
{
	uint64_t first = b->prev_last_vlsn + 1, last = log->last_vlsn;
	unsigned int k;

	assert(b == batch_at(log, log->head));

	/* Segments created by the dropped batches go; nothing of theirs was written. */
	while (log->n_segs > 0 && log->segs[log->n_segs - 1] > LSN_SEG(b->prev_end_lsn)) {
		char name[TERN_IO_NAME_MAX];

		log_seg_name(log->segs[log->n_segs - 1], name, sizeof(name));
		if (log->cur_fh >= 0) {
			tern_io_close(log->io, log->cur_fh);
			log->cur_fh = -1;
		}
		tern_io_remove(log->io, name);
		log->n_segs--;
	}
	if (log->cur_fh < 0 && log->n_segs > 0) {
		char name[TERN_IO_NAME_MAX];

		log_seg_name(log->segs[log->n_segs - 1], name, sizeof(name));
		if (tern_io_open(log->io, name, 0, &log->cur_fh) != 0)
			log->cur_fh = -1;
	}
	scan_reset(log->reader); /* its window may hold bytes that are now gone */
	log->end_lsn = b->prev_end_lsn;
	log->last_vlsn = b->prev_last_vlsn;
	log->last_term = b->prev_last_term;
	log->seg_dirty = true;
	if (log->idx.last > log->last_vlsn)
		tern_vlsn_index_truncate_after(&log->idx, log->last_vlsn);
	if (log->last_vlsn < log->first_vlsn)
		log->first_vlsn = 0;
	/* @p b is the batch that was in flight, the oldest: every batch goes. */
	for (k = 0; k < log->n_batches; k++) {
		struct batch *x = &log->batches[k];

		if (x->state != BATCH_FREE)
			log->st.failed_records += x->nrec;
		x->state = BATCH_FREE;
	}
	log->used = 0;
	log->fill = log->head;
	retired_release(log);
	if (last >= first)
		emit(log, TERN_LOG_EV_FAILED, 0, 0, first, last, err);
}

static void
go_readonly(struct tern_log *log, int err)
{
	uint64_t first = log->durable_vlsn + 1;
	unsigned int k;

	log->err = err;
	LOG_DIAG(ERR, "log write or fdatasync failed (%s): the log is now read-only; "
		 "records after VLSN %" PRIu64 " are not durable", tern_strerror(err),
		 log->durable_vlsn);
	log->used = 0;
	for (k = 0; k < log->n_batches; k++) {
		struct batch *x = &log->batches[k];

		if (x->state == BATCH_FILLING)
			log->st.failed_records += x->nrec;
		if (x->state != BATCH_INFLIGHT)
			x->state = BATCH_FREE;
		else
			log->used++;
	}
	if (log->last_vlsn >= first)
		emit(log, TERN_LOG_EV_FAILED, 0, 0, first, log->last_vlsn, err);
}

static void
batch_done(struct tern_log *log, struct batch *b, int res)
{
	if (log->err != 0) {
		/* Completions after the failure only free their buffers. */
		b->state = BATCH_FREE;
		log->used--;
		return;
	}
	if (res == -ENOSPC) {
		LOG_DIAG(ERR, "write to segment %08x at offset %#x failed: no space; "
			 "records after VLSN %" PRIu64 " are dropped", b->seg, b->file_off,
			 b->prev_last_vlsn);
		rewind_to(log, b, res);
		return;
	}
	if (res < 0) {
		b->state = BATCH_FREE;
		go_readonly(log, res);
		return;
	}
	if (b->last_vlsn != 0)
		log->written_vlsn = b->last_vlsn;
	log->written_lsn = LSN(b->seg, b->file_off + b->len);
	if (b->need_sync) {
		log->durable_vlsn = log->written_vlsn;
		log->durable_lsn = log->written_lsn;
	}
	b->state = BATCH_FREE;
	log->used--;
	log->head = batch_next(log, log->head);
	if (log->used == 0)
		log->fill = log->head;
	if (log->n_retired > 0)
		retired_release(log);
	emit(log, TERN_LOG_EV_WRITTEN, log->written_vlsn, log->written_lsn, 0, 0, 0);
	if (b->need_sync)
		emit(log, TERN_LOG_EV_DURABLE, log->durable_vlsn, log->durable_lsn, 0, 0, 0);
}

/*
 * NO_SYNC records wait for no write (JE: "do not write or synchronously flush the log on
 * transaction commit"): a batch of only those fills on while it grows, until it holds
 * lazy_bytes or LAZY_IDLE_POLLS polls in a row found it unchanged (the producer paused),
 * so a stream of them costs one write per lazy_bytes, not one per poll. Anything that
 * needs the write (a record of another sync mode, a sync, a roll) sends it at once.
 */
static bool
lazy_hold(struct tern_log *log, struct batch *b)
{
	if (b->need_sync || b->need_write || b->len >= log->o.lazy_bytes ||
	    b != batch_at(log, log->fill))
		return false; /* needed, big enough, or full (a later one fills now) */
	if (b->len != b->len_seen) {
		b->len_seen = b->len;
		b->idle_polls = 0;
		return true;
	}
	return ++b->idle_polls < LAZY_IDLE_POLLS;
}

int
tern_log_poll(struct tern_log *log)
{
	struct tern_io_cpl cpl[4];
	unsigned int i, n;
	struct batch *b;
	int busy = 0, rc;

	n = tern_io_reap(log->io, cpl, TERN_DIM(cpl));
	for (i = 0; i < n; i++) {
		if (TERN_NEVER(cpl[i].user_data >= log->n_batches))
			continue;
		b = &log->batches[cpl[i].user_data];
		if (TERN_NEVER(b->state != BATCH_INFLIGHT))
			continue;
		batch_done(log, b, cpl[i].res);
		busy = 1;
	}
	if (log->err != 0 || log->used == 0)
		return busy;
	/* One batch in flight at a time: its fdatasync covers everything before it. */
	b = batch_at(log, log->head);
	if (b->state == BATCH_FILLING && (b->len > 0 || b->need_sync)) {
		if (lazy_hold(log, b))
			return busy; /* holding is not work: it goes after idle polls */
		rc = batch_submit(log, b);
		if (rc == -EBUSY)
			return busy;
		if (rc != 0) {
			b->state = BATCH_FREE;
			go_readonly(log, rc);
			return 1;
		}
		busy = 1;
	}
	return busy;
}

static bool
inflight(const struct tern_log *log)
{
	unsigned int k;

	for (k = 0; k < log->n_batches; k++)
		if (log->batches[k].state == BATCH_INFLIGHT)
			return true;
	return false;
}

/* Everything appended and not yet synced gets a sync: mark or add a sync batch. */
static int
request_sync(struct tern_log *log)
{
	struct batch *b = fill_batch(log);

	if (log->durable_lsn >= log->end_lsn && !(b != NULL && b->len > 0))
		return 0;
	if (b == NULL) {
		if (log->cur_fh < 0)
			return 0;
		b = batch_open(log);
		if (b == NULL)
			return -EAGAIN; /* the last batch in flight; retry when it completes */
	}
	b->need_sync = true;
	return 0;
}

int
tern_log_sync(struct tern_log *log, uint64_t timeout_ns)
{
	int rc;

	for (;;) {
		if (log->err != 0)
			return -TERN_ELOGRO;
		rc = request_sync(log);
		if (rc != 0 && rc != -EAGAIN)
			return rc;
		tern_log_poll(log);
		if (log->err != 0)
			return -TERN_ELOGRO;
		if (log->used == 0 && log->durable_lsn >= log->end_lsn)
			return 0;
		if (log->used == 0 && log->cur_fh < 0)
			return 0;
		rc = tern_io_wait(log->io, timeout_ns);
		if (rc == -ETIMEDOUT)
			return rc;
		if (rc == -EAGAIN && inflight(log)) {
			/* The driver has nothing in flight, yet a batch never completed. */
			go_readonly(log, -EIO);
			return -TERN_ELOGRO;
		}
	}
}

static int
checkpoint(struct tern_log *log, uint64_t timestamp_ns)
{
	struct tern_log_entry e = {
		.type = TERN_LOG_TYPE_CHECKPOINT,
		.term = log->last_term,
		.timestamp_ns = timestamp_ns,
	};
	struct tern_vlsn_index_meta m;
	uint64_t lsn;
	int rc;

	for (;;) {
		lsn = log->end_lsn;
		rc = tern_log_append(log, &e, 1, TERN_LOG_SYNC);
		if (rc < 0)
			return rc;
		if (rc == 1)
			break;
		rc = tern_log_sync(log, SYNC_WAIT_NS);
		if (rc != 0)
			return rc;
	}
	/* A roll may have put it at the start of a new segment. */
	if (LSN_SEG(log->end_lsn) != LSN_SEG(lsn))
		lsn = LSN(LSN_SEG(log->end_lsn), SEG_HDR_SIZE);
	rc = tern_log_sync(log, SYNC_WAIT_NS);
	if (rc != 0)
		return rc;
	m.ckpt_lsn = lsn;
	m.end_lsn = log->end_lsn;
	m.last_term = log->last_term;
	rc = tern_vlsn_index_save(&log->idx, log->io, &m);
	if (rc == 0)
		log->ckpt = m;
	return rc;
}

int
tern_log_checkpoint(struct tern_log *log, uint64_t timestamp_ns)
{
	if (log->err != 0)
		return -TERN_ELOGRO;
	return checkpoint(log, timestamp_ns);
}

int
tern_log_truncate_after(struct tern_log *log, uint64_t vlsn)
{
	struct tern_log_entry e;
	char name[TERN_IO_NAME_MAX];
	uint64_t cut;
	uint32_t seg;
	int rc;

	if (log->err != 0)
		return -TERN_ELOGRO;
	if (vlsn > log->last_vlsn || (log->first_vlsn != 0 && vlsn + 1 < log->first_vlsn) ||
	    (log->first_vlsn == 0 && vlsn + 1 < log->o.first_vlsn))
		return -ERANGE;
	if (vlsn == log->last_vlsn)
		return 0;
	/* Write out what is pending, so the cut is made in files alone. */
	rc = tern_log_sync(log, SYNC_WAIT_NS);
	if (rc != 0)
		return rc;
	rc = tern_log_read(log, vlsn + 1, &e, NULL, 0);
	if (rc != 0 && rc != -ENOBUFS)
		return rc;
	cut = e.lsn;
	seg = LSN_SEG(cut);
	scan_reset(log->reader);
	/* Later segments go, newest first, so a crash leaves a prefix. */
	while (log->n_segs > 0 && log->segs[log->n_segs - 1] > seg) {
		log_seg_name(log->segs[log->n_segs - 1], name, sizeof(name));
		if (log->cur_fh >= 0) {
			tern_io_close(log->io, log->cur_fh);
			log->cur_fh = -1;
		}
		rc = tern_io_remove(log->io, name);
		if (rc != 0 && rc != -ENOENT)
			goto broken;
		log->n_segs--;
	}
	log_seg_name(seg, name, sizeof(name));
	if (log->cur_fh < 0) {
		rc = tern_io_open(log->io, name, 0, &log->cur_fh);
		if (rc != 0)
			goto broken;
	}
	/* Cut, then preallocate again: the tail reads as zeros, the end of the records. */
	rc = tern_io_truncate(log->io, log->cur_fh, LSN_OFF(cut));
	if (rc == 0)
		rc = tern_io_preallocate(log->io, log->cur_fh, log->o.segment_size);
	if (rc == 0)
		rc = tern_io_sync(log->io, log->cur_fh);
	if (rc != 0)
		goto broken;
	if (log->ckpt.ckpt_lsn >= cut) {
		/* The persisted index describes records that are gone. */
		rc = tern_io_remove(log->io, TERN_VLSN_INDEX_FILE);
		if (rc != 0 && rc != -ENOENT)
			goto broken;
		memset(&log->ckpt, 0, sizeof(log->ckpt));
	}
	tern_vlsn_index_truncate_after(&log->idx, vlsn);
	scan_reset(log->reader);
	log->end_lsn = cut;
	log->written_lsn = log->durable_lsn = cut;
	log->last_vlsn = log->written_vlsn = log->durable_vlsn = vlsn;
	if (vlsn < log->first_vlsn) {
		log->first_vlsn = 0;
		log->last_term = 0;
	} else {
		rc = tern_log_read(log, vlsn, &e, NULL, 0);
		if (rc != 0 && rc != -ENOBUFS)
			return rc;
		log->last_term = e.term;
	}
	log->seg_dirty = false;
	return 0;
broken:
	/*
	 * Files are half cut and the memory state describes records that may be gone: only
	 * a recovery (reopen) can tell what the log holds now.
	 */
	go_readonly(log, rc);
	return rc;
}

static int
batches_alloc(struct tern_log *log)
{
	struct iovec iov[64];
	unsigned int i;
	int rc;

	log->batches = tern_calloc(log->o.batches, sizeof(*log->batches));
	if (log->batches == NULL)
		return -ENOMEM;
	log->n_batches = log->o.batches;
	for (i = 0; i < log->n_batches; i++) {
		log->batches[i].buf = tern_zmalloc_aligned(log->o.batch_bytes, 4096);
		if (log->batches[i].buf == NULL)
			return -ENOMEM;
		if (i < TERN_DIM(iov)) {
			iov[i].iov_base = log->batches[i].buf;
			iov[i].iov_len = log->o.batch_bytes;
		}
	}
	rc = tern_io_buf_register(log->io, iov, TERN_MIN(log->n_batches, TERN_DIM(iov)));
	if (rc != 0)
		LOG_DIAG(NOTICE, "registering buffers failed (%s); writing unregistered",
			 tern_strerror(rc));
	log->bufs_registered = rc == 0 && log->n_batches <= TERN_DIM(iov);
	return 0;
}

static void
log_free(struct tern_log *log)
{
	unsigned int i;

	if (log->reader != NULL) {
		scan_fini(log->reader);
		tern_free(log->reader);
	}
	if (log->batches != NULL) {
		if (log->bufs_registered)
			tern_io_buf_register(log->io, NULL, 0);
		for (i = 0; i < log->n_batches; i++)
			tern_free(log->batches[i].buf);
		tern_free(log->batches);
	}
	if (log->cur_fh >= 0)
		tern_io_close(log->io, log->cur_fh);
	for (i = 0; i < log->n_retired; i++)
		tern_io_close(log->io, log->retired[i]);
	tern_vlsn_index_fini(&log->idx);
	tern_free(log->segs);
	tern_free(log);
}

int
tern_log_open(const struct tern_log_opts *opts, struct tern_log **out)
{
	struct tern_log *log;
	int rc;

	if (opts == NULL || out == NULL || opts->opts_size == 0 || opts->io == NULL)
		return -EINVAL;
	log = tern_zmalloc(sizeof(*log));
	if (log == NULL)
		return -ENOMEM;
	tern_log_opts_init(&log->o, sizeof(log->o));
	memcpy(&log->o, opts, TERN_MIN(opts->opts_size, sizeof(log->o)));
	log->o.opts_size = sizeof(log->o);
	log->io = log->o.io;
	log->cur_fh = -1;
	if (log->o.segment_size < MIN_SEGMENT_SIZE || log->o.segment_size > UINT32_MAX ||
	    log->o.batch_bytes < MIN_BATCH_BYTES || log->o.batches < 2 ||
	    log->o.batches > 64 || log->o.index_stride == 0 || log->o.first_vlsn == 0) {
		LOG_DIAG(ERR, "bad options: segment_size %" PRIu64 " (64 KiB..4 GiB), "
			 "batch_bytes %u (>= 4096), batches %u (2..64), stride %u, first VLSN %"
			 PRIu64, log->o.segment_size, log->o.batch_bytes, log->o.batches,
			 log->o.index_stride, log->o.first_vlsn);
		tern_free(log);
		return -EINVAL;
	}
	log->max_payload = (uint32_t)TERN_MIN((uint64_t)log->o.batch_bytes,
					      log->o.segment_size - SEG_HDR_SIZE) -
			   SEG_HDR_SIZE - sizeof(struct rec_hdr);
	log->max_payload &= ~7U;
	rc = tern_vlsn_index_init(&log->idx, log->o.index_stride);
	if (rc == 0)
		rc = batches_alloc(log);
	if (rc == 0) {
		log->reader = tern_zmalloc(sizeof(*log->reader));
		rc = log->reader == NULL ? -ENOMEM : scan_init(log->reader, log, 1 << 16);
	}
	if (rc == 0)
		rc = log_recover(log);
	if (rc != 0) {
		log_free(log);
		return rc;
	}
	*out = log;
	return 0;
}

int
tern_log_close(struct tern_log *log)
{
	int rc = 0;

	if (log == NULL)
		return 0;
	if (log->err == 0) {
		/* A checkpoint at close makes the next open start from here. */
		if (log->end_lsn != log->ckpt.end_lsn && log->cur_fh >= 0)
			rc = checkpoint(log, 0);
		else
			rc = tern_log_sync(log, SYNC_WAIT_NS);
	} else {
		rc = log->err;
	}
	/* Wait for what is still in flight before the buffers go. */
	while (tern_io_wait(log->io, SYNC_WAIT_NS) == 0)
		tern_log_poll(log);
	log_free(log);
	return rc;
}

uint64_t
tern_log_last_vlsn(const struct tern_log *log)
{
	return log->last_vlsn;
}

uint64_t
tern_log_written_vlsn(const struct tern_log *log)
{
	return log->written_vlsn;
}

uint64_t
tern_log_durable_vlsn(const struct tern_log *log)
{
	return log->durable_vlsn;
}

uint64_t
tern_log_first_vlsn(const struct tern_log *log)
{
	return log->first_vlsn != 0 ? log->first_vlsn : log->last_vlsn + 1;
}

uint64_t
tern_log_last_term(const struct tern_log *log)
{
	return log->last_term;
}

uint64_t
tern_log_end_lsn(const struct tern_log *log)
{
	return log->end_lsn;
}

uint64_t
tern_log_durable_lsn(const struct tern_log *log)
{
	return log->durable_lsn;
}

int
tern_log_error(const struct tern_log *log)
{
	return log->err;
}

void
tern_log_stats_get(const struct tern_log *log, struct tern_log_stats *st)
{
	*st = log->st;
}

void
tern_log_dump(const struct tern_log *log, FILE *f)
{
	const struct tern_log_stats *s = &log->st;

	fprintf(f, "first_vlsn=%" PRIu64 "\nlast_vlsn=%" PRIu64 "\nwritten_vlsn=%" PRIu64
		"\ndurable_vlsn=%" PRIu64 "\nlast_term=%" PRIu64 "\nend_lsn=%#" PRIx64
		"\nsegments=%u\nerror=%s\n",
		tern_log_first_vlsn(log), log->last_vlsn, log->written_vlsn, log->durable_vlsn,
		log->last_term, log->end_lsn, log->n_segs,
		log->err != 0 ? tern_errname(log->err) : "none");
	fprintf(f, "appends=%" PRIu64 "\nappend_bytes=%" PRIu64 "\nbatches=%" PRIu64
		"\nsyncs=%" PRIu64 "\nbatch_records_max=%" PRIu64 "\nfull=%" PRIu64
		"\nsegments_created=%" PRIu64 "\nfailed_records=%" PRIu64
		"\nrecovered_records=%" PRIu64 "\ntruncated_bytes=%" PRIu64
		"\nwritebacks=%" PRIu64 "\n",
		s->appends, s->append_bytes, s->batches, s->syncs, s->batch_records_max,
		s->full, s->segments, s->failed_records, s->recovered_records,
		s->truncated_bytes, s->writebacks);
}
