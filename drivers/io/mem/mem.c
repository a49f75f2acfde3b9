/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-memory storage driver (tern_io_mem.h).
 *
 * Model. Each file has a written image (what reads see) and a durable image (what an
 * fdatasync made safe), plus the ordered record of everything done to it since the last
 * sync: writes (with a copy of their data), size changes (truncate) and extensions
 * (preallocate). The written image is always the durable image with the whole record
 * replayed on top, so a sync replays the record onto the durable image and a torn crash
 * replays only a prefix of it, cut at any byte of a write. Both images share one buffer
 * capacity, grown together, so sync and crash never allocate and cannot fail.
 *
 * Each file keeps its own record and a torn crash cuts each one independently, as a file
 * system may write back different files' pages in any order. Directory operations
 * (create, rename, remove) are durable at once, as tern_io.h promises. A removed file
 * that is still open lives on until its last handle is closed, as in POSIX, and still
 * counts towards the capacity.
 *
 * Requests live in one ring of depth slots, in submission order, split by four counters
 * reap <= exec <= flush <= submit: [reap, exec) finished and waiting to be reaped,
 * [exec, flush) flushed but held, [flush, submit) queued. tern_io_flush() executes what it
 * hands over at once unless held; tern_io_mem_hold(io, 0) executes what was held. Nothing
 * here reads a clock or a random source other than the seeded PRNG, so a run replays.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_heap.h>
#include <tern_prng.h>

#include "tern_io_driver.h"
#include "tern_io_mem.h"

TERN_DIAG_REGISTER(mem, NOTICE);

#define MEM_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, mem, "%s(): " fmt, __func__, ##__VA_ARGS__)

#define MEM_DEPTH_MAX 65536u
#define MEM_FILES_MAX 65536u

enum rec_kind {
	REC_WRITE,   /* write len bytes of data at off */
	REC_SETSIZE, /* truncate: size = off, preallocation capped to it */
	REC_EXTEND,  /* preallocate: size and preallocation at least off */
};

/* One unsynced change, in the order it was made. */
struct mrec {
	struct mrec *next;
	enum rec_kind kind;
	uint64_t off;
	uint64_t len;
	uint8_t data[];
};

/* Size state of one image: bytes readable and bytes reserved by preallocate. */
struct mext {
	uint64_t size;
	uint64_t prealloc;
};

struct mfile {
	struct mfile *next;
	char name[TERN_IO_NAME_MAX];
	bool linked; /* has a directory entry; else alive only through handles */
	unsigned int nopen;
	uint64_t cap;	  /* bytes allocated for each image buffer */
	uint8_t *data;	  /* written image */
	uint8_t *ddata;	  /* durable image */
	struct mext w, d; /* written and durable extents */
	struct mrec *head, *tail;
	uint64_t unsynced; /* bytes of REC_WRITE records */
	unsigned int nrec;
};

struct mhandle {
	struct mfile *f;
	bool rdonly;
};

struct mslot {
	struct tern_io_req req;
	int res;
};

struct mfault {
	int err;
	unsigned int after;
	unsigned int times; /* 0: for ever */
};

struct mem_io {
	struct tern_io base;
	unsigned int depth;
	unsigned int nhandles;
	uint64_t capacity;
	struct tern_prng prng;
	bool hold;
	struct mfile *files; /* in creation order */
	struct mhandle *handles;
	struct mslot *ring;
	uint64_t reap_pos, exec_pos, flush_pos, submit_pos;
	struct iovec *bufs;
	unsigned int nbufs;
	struct mfault faults[TERN_IO_MEM_OP_COUNT_];
	struct tern_io_stats stats;
};

static const char *const op_names[TERN_IO_MEM_OP_COUNT_] = {
	[TERN_IO_MEM_OP_WRITE] = "write",
	[TERN_IO_MEM_OP_SYNC] = "sync",
	[TERN_IO_MEM_OP_PREALLOCATE] = "preallocate",
	[TERN_IO_MEM_OP_OPEN] = "open",
	[TERN_IO_MEM_OP_RENAME] = "rename",
};

static inline struct mem_io *
to_mem(struct tern_io *io)
{
	return (struct mem_io *)io;
}

/* ---- faults ---- */

/* The error the next operation of kind @p op must fail with, or 0. */
static int
fault_fire(struct mem_io *m, enum tern_io_mem_op op, const char *name)
{
	struct mfault *ft = &m->faults[op];
	int err;

	if (ft->err == 0 || ft->after > 0)
		return 0;
	err = ft->err;
	if (ft->times > 0 && --ft->times == 0)
		ft->err = 0;
	MEM_DIAG(INFO, "injected %s on %s of '%s'", tern_errname(err), op_names[op], name);
	return err;
}

/* An operation of kind @p op succeeded: one fewer to let through before the fault. */
static void
fault_passed(struct mem_io *m, enum tern_io_mem_op op)
{
	struct mfault *ft = &m->faults[op];

	if (ft->err != 0 && ft->after > 0)
		ft->after--;
}

/* ---- names and files ---- */


static struct mfile *
file_find(struct mem_io *m, const char *name)
{
	struct mfile *f;

	for (f = m->files; f != NULL; f = f->next)
		if (f->linked && strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static void
name_set(struct mfile *f, const char *name)
{
	size_t n = strnlen(name, TERN_IO_NAME_MAX - 1);

	memcpy(f->name, name, n);
	f->name[n] = '\0';
}

static void
rec_free_all(struct mfile *f)
{
	struct mrec *r = f->head, *next;

	for (; r != NULL; r = next) {
		next = r->next;
		tern_free(r);
	}
	f->head = f->tail = NULL;
	f->unsynced = 0;
	f->nrec = 0;
}

static void
file_free(struct mem_io *m, struct mfile *f)
{
	struct mfile **pp;

	for (pp = &m->files; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	rec_free_all(f);
	tern_free(f->data);
	tern_free(f->ddata);
	tern_free(f);
}

/* Drop the directory entry; the file goes when its last handle does. */
static void
file_unlink(struct mem_io *m, struct mfile *f)
{
	f->linked = false;
	if (f->nopen == 0)
		file_free(m, f);
}

static struct mfile *
file_new(struct mem_io *m, const char *name)
{
	struct mfile *f = tern_zmalloc(sizeof(*f)), **pp;

	if (f == NULL)
		return NULL;
	name_set(f, name);
	f->linked = true;
	for (pp = &m->files; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = f;
	return f;
}

static uint64_t
ext_used(const struct mext *e)
{
	return TERN_MAX(e->size, e->prealloc);
}

static uint64_t
used_total(const struct mem_io *m)
{
	const struct mfile *f;
	uint64_t sum = 0;

	for (f = m->files; f != NULL; f = f->next)
		sum += ext_used(&f->w);
	return sum;
}

/* -ENOSPC when changing @p f's written extent to @p next would pass the capacity. */
static int
capacity_check(const struct mem_io *m, const struct mfile *f, const struct mext *next)
{
	uint64_t before = ext_used(&f->w), after = ext_used(next);

	if (m->capacity == 0 || after <= before)
		return 0;
	if (used_total(m) - before + after > m->capacity)
		return -ENOSPC;
	return 0;
}

/* Make both image buffers hold at least @p need bytes; contents up to the sizes are kept. */
static int
file_reserve(struct mfile *f, uint64_t need)
{
	uint8_t *a, *b;
	uint64_t cap;

	if (need <= f->cap)
		return 0;
	if (need > SIZE_MAX / 2)
		return -ENOMEM;
	cap = f->cap * 2 >= need ? f->cap * 2 : need;
	if (cap < 4096)
		cap = 4096;
	a = tern_malloc(cap);
	b = tern_malloc(cap);
	if (a == NULL || b == NULL) {
		tern_free(a);
		tern_free(b);
		return -ENOMEM;
	}
	if (f->w.size > 0)
		memcpy(a, f->data, f->w.size);
	if (f->d.size > 0)
		memcpy(b, f->ddata, f->d.size);
	tern_free(f->data);
	tern_free(f->ddata);
	f->data = a;
	f->ddata = b;
	f->cap = cap;
	return 0;
}

/* Set the size of an image, zeroing what it gains. The buffer must be big enough. */
static void
img_set_size(uint8_t *data, struct mext *e, uint64_t size)
{
	if (size > e->size)
		memset(data + e->size, 0, size - e->size);
	e->size = size;
}

/* Apply one change (or its first @p limit bytes, for a write) to an image. */
static void
rec_apply(uint8_t *data, struct mext *e, const struct mrec *r, uint64_t limit)
{
	uint64_t n;

	switch (r->kind) {
	case REC_WRITE:
		n = TERN_MIN(r->len, limit);
		if (n == 0)
			return;
		if (r->off > e->size)
			img_set_size(data, e, r->off);
		memcpy(data + r->off, r->data, n);
		if (r->off + n > e->size)
			e->size = r->off + n;
		break;
	case REC_SETSIZE:
		img_set_size(data, e, r->off);
		e->prealloc = TERN_MIN(e->prealloc, r->off);
		break;
	case REC_EXTEND:
		if (r->off > e->size)
			img_set_size(data, e, r->off);
		e->prealloc = TERN_MAX(e->prealloc, r->off);
		break;
	}
}

/* Record change @p r (already allocated and filled) and apply it to the written image. */
static void
rec_commit(struct mfile *f, struct mrec *r)
{
	r->next = NULL;
	if (f->tail == NULL)
		f->head = r;
	else
		f->tail->next = r;
	f->tail = r;
	f->nrec++;
	if (r->kind == REC_WRITE)
		f->unsynced += r->len;
	rec_apply(f->data, &f->w, r, UINT64_MAX);
}

/*
 * Make a change to @p f: check the capacity, allocate its record, grow the buffers, then
 * apply it. On error nothing changed.
 */
static int
file_change(struct mem_io *m, struct mfile *f, enum rec_kind kind, const void *buf, uint64_t len,
	    uint64_t off)
{
	struct mext next = f->w;
	struct mrec *r;
	int rc;

	switch (kind) {
	case REC_WRITE:
		next.size = TERN_MAX(next.size, off + len);
		break;
	case REC_SETSIZE:
		next.size = off;
		next.prealloc = TERN_MIN(next.prealloc, off);
		break;
	case REC_EXTEND:
		next.size = TERN_MAX(next.size, off);
		next.prealloc = TERN_MAX(next.prealloc, off);
		break;
	}
	rc = capacity_check(m, f, &next);
	if (rc != 0)
		return rc;
	r = tern_malloc(sizeof(*r) + (kind == REC_WRITE ? len : 0));
	if (r == NULL)
		return -ENOMEM;
	rc = file_reserve(f, next.size);
	if (rc != 0) {
		tern_free(r);
		return rc;
	}
	r->kind = kind;
	r->off = off;
	r->len = kind == REC_WRITE ? len : 0;
	if (kind == REC_WRITE)
		memcpy(r->data, buf, len);
	rec_commit(f, r);
	return 0;
}

/* fdatasync: everything written becomes durable. Never fails (the buffers are shared). */
static void
file_make_durable(struct mfile *f)
{
	const struct mrec *r;

	for (r = f->head; r != NULL; r = r->next)
		rec_apply(f->ddata, &f->d, r, UINT64_MAX);
	rec_free_all(f);
	assert(f->d.size == f->w.size);
}

/* ---- handles and requests ---- */

static int
handle_get(struct mem_io *m, int fh, bool write, struct mfile **out)
{
	struct mhandle *h;

	if (fh < 0 || (unsigned int)fh >= m->nhandles || m->handles[fh].f == NULL)
		return -EBADF;
	h = &m->handles[fh];
	if (write && h->rdonly)
		return -EBADF;
	*out = h->f;
	return 0;
}

static struct mslot *
ring_at(struct mem_io *m, uint64_t pos)
{
	return &m->ring[pos % m->depth];
}

static int
do_write(struct mem_io *m, struct mfile *f, const void *buf, uint64_t len, uint64_t off)
{
	int rc;

	m->stats.writes++;
	rc = fault_fire(m, TERN_IO_MEM_OP_WRITE, f->name);
	if (rc != 0)
		return rc;
	rc = file_change(m, f, REC_WRITE, buf, len, off);
	if (rc != 0)
		return rc;
	fault_passed(m, TERN_IO_MEM_OP_WRITE);
	m->stats.bytes += len;
	return 0;
}

static int
do_sync(struct mem_io *m, struct mfile *f)
{
	int rc;

	m->stats.syncs++;
	rc = fault_fire(m, TERN_IO_MEM_OP_SYNC, f->name);
	if (rc != 0)
		return rc;
	file_make_durable(f);
	fault_passed(m, TERN_IO_MEM_OP_SYNC);
	return 0;
}

/* Run one flushed request: the write, then (linked) the sync; the first error wins. */
static int
req_exec(struct mem_io *m, const struct tern_io_req *req)
{
	struct mfile *f = m->handles[req->fh].f;
	int rc;

	if (req->len > 0) {
		rc = do_write(m, f, req->buf, req->len, req->off);
		if (rc != 0)
			return rc;
	}
	if (req->flags & TERN_IO_REQ_SYNC)
		return do_sync(m, f);
	if (req->flags & TERN_IO_REQ_WRITEBACK)
		m->stats.writebacks++; /* memory has no writeback to start */
	return 0;
}

static void
exec_flushed(struct mem_io *m)
{
	for (; m->exec_pos < m->flush_pos; m->exec_pos++) {
		struct mslot *s = ring_at(m, m->exec_pos);

		s->res = req_exec(m, &s->req);
	}
}

static bool
handle_busy(struct mem_io *m, int fh)
{
	uint64_t pos;

	for (pos = m->reap_pos; pos < m->submit_pos; pos++)
		if (ring_at(m, pos)->req.fh == fh)
			return true;
	return false;
}

/* ---- ops ---- */

static int
mem_open(struct tern_io *io, const char *name, int flags, int *fh)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f;
	unsigned int i;
	int rc;

	rc = tern_io_name_check(name);
	if (rc != 0 || fh == NULL)
		return -EINVAL;
	if ((flags & ~(TERN_IO_CREATE | TERN_IO_EXCL | TERN_IO_RDONLY)) != 0 ||
	    ((flags & TERN_IO_EXCL) && !(flags & TERN_IO_CREATE)))
		return -EINVAL;
	for (i = 0; i < m->nhandles; i++)
		if (m->handles[i].f == NULL)
			break;
	if (i == m->nhandles)
		return -EMFILE;
	f = file_find(m, name);
	if (f != NULL && (flags & TERN_IO_EXCL))
		return -EEXIST;
	if (f == NULL) {
		if (!(flags & TERN_IO_CREATE))
			return -ENOENT;
		rc = fault_fire(m, TERN_IO_MEM_OP_OPEN, name);
		if (rc != 0)
			return rc;
		f = file_new(m, name);
		if (f == NULL)
			return -ENOMEM;
		fault_passed(m, TERN_IO_MEM_OP_OPEN);
	}
	f->nopen++;
	m->handles[i].f = f;
	m->handles[i].rdonly = (flags & TERN_IO_RDONLY) != 0;
	*fh = (int)i;
	return 0;
}

static int
mem_close(struct tern_io *io, int fh)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f;
	int rc;

	rc = handle_get(m, fh, false, &f);
	if (rc != 0)
		return rc;
	if (handle_busy(m, fh))
		return -EBUSY;
	m->handles[fh].f = NULL;
	if (--f->nopen == 0 && !f->linked)
		file_free(m, f);
	return 0;
}

static int
mem_size(struct tern_io *io, int fh, uint64_t *size)
{
	struct mfile *f;
	int rc;

	rc = handle_get(to_mem(io), fh, false, &f);
	if (rc != 0)
		return rc;
	if (size == NULL)
		return -EINVAL;
	*size = f->w.size;
	return 0;
}

static int
mem_preallocate(struct tern_io *io, int fh, uint64_t size)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f;
	int rc;

	rc = handle_get(m, fh, true, &f);
	if (rc != 0)
		return rc;
	if (size > TERN_IO_OFF_MAX)
		return -EFBIG;
	rc = fault_fire(m, TERN_IO_MEM_OP_PREALLOCATE, f->name);
	if (rc != 0)
		return rc;
	if (size > f->w.size || size > f->w.prealloc) {
		rc = file_change(m, f, REC_EXTEND, NULL, 0, size);
		if (rc != 0)
			return rc;
	}
	fault_passed(m, TERN_IO_MEM_OP_PREALLOCATE);
	return 0;
}

static int
mem_truncate(struct tern_io *io, int fh, uint64_t size)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f;
	int rc;

	rc = handle_get(m, fh, true, &f);
	if (rc != 0)
		return rc;
	if (size > TERN_IO_OFF_MAX)
		return -EFBIG;
	return file_change(m, f, REC_SETSIZE, NULL, 0, size);
}

static ssize_t
mem_read(struct tern_io *io, int fh, void *buf, size_t len, uint64_t off)
{
	struct mfile *f;
	uint64_t n;
	int rc;

	rc = handle_get(to_mem(io), fh, false, &f);
	if (rc != 0)
		return rc;
	if (buf == NULL && len > 0)
		return -EINVAL;
	if (off >= f->w.size)
		return 0;
	n = TERN_MIN((uint64_t)TERN_MIN(len, (size_t)SSIZE_MAX), f->w.size - off);
	memcpy(buf, f->data + off, n);
	return (ssize_t)n;
}

static int
mem_write(struct tern_io *io, int fh, const void *buf, size_t len, uint64_t off)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f;
	int rc;

	rc = handle_get(m, fh, true, &f);
	if (rc != 0)
		return rc;
	if (buf == NULL && len > 0)
		return -EINVAL;
	if (off > TERN_IO_OFF_MAX || len > TERN_IO_OFF_MAX - off)
		return -EFBIG;
	if (len == 0)
		return 0;
	return do_write(m, f, buf, len, off);
}

static int
mem_sync(struct tern_io *io, int fh)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f;
	int rc;

	rc = handle_get(m, fh, false, &f);
	if (rc != 0)
		return rc;
	return do_sync(m, f);
}

static int
mem_rename(struct tern_io *io, const char *from, const char *to)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f, *t;
	int rc;

	if (tern_io_name_check(from) != 0 || tern_io_name_check(to) != 0)
		return -EINVAL;
	f = file_find(m, from);
	if (f == NULL)
		return -ENOENT;
	rc = fault_fire(m, TERN_IO_MEM_OP_RENAME, from);
	if (rc != 0)
		return rc;
	t = file_find(m, to);
	if (t != f) {
		if (t != NULL)
			file_unlink(m, t);
		name_set(f, to);
	}
	fault_passed(m, TERN_IO_MEM_OP_RENAME);
	return 0;
}

static int
mem_remove(struct tern_io *io, const char *name)
{
	struct mem_io *m = to_mem(io);
	struct mfile *f;

	if (tern_io_name_check(name) != 0)
		return -EINVAL;
	f = file_find(m, name);
	if (f == NULL)
		return -ENOENT;
	file_unlink(m, f);
	return 0;
}

static int
mem_list(struct tern_io *io, int (*fn)(void *arg, const char *name), void *arg)
{
	struct mem_io *m = to_mem(io);
	char(*names)[TERN_IO_NAME_MAX];
	struct mfile *f;
	unsigned int n = 0, i;
	int rc = 0;

	if (fn == NULL)
		return -EINVAL;
	for (f = m->files; f != NULL; f = f->next)
		n += f->linked;
	if (n == 0)
		return 0;
	/* Walk a copy of the names, so @p fn may create, rename or remove files. */
	names = tern_malloc(sizeof(*names) * n);
	if (names == NULL)
		return -ENOMEM;
	i = 0;
	for (f = m->files; f != NULL; f = f->next)
		if (f->linked)
			memcpy(names[i++], f->name, TERN_IO_NAME_MAX);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(arg, names[i]);
	tern_free(names);
	return rc;
}

static int
mem_buf_register(struct tern_io *io, const struct iovec *iov, unsigned int n)
{
	struct mem_io *m = to_mem(io);
	struct iovec *copy = NULL;
	unsigned int i;

	if (m->submit_pos != m->reap_pos)
		return -EBUSY;
	if (n > 0) {
		if (iov == NULL)
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (iov[i].iov_base == NULL || iov[i].iov_len == 0)
				return -EINVAL;
		copy = tern_malloc(sizeof(*copy) * n);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, iov, sizeof(*copy) * n);
	}
	tern_free(m->bufs);
	m->bufs = copy;
	m->nbufs = n;
	return 0;
}

/* The checks tern_io_uring makes, so code tested on mem behaves the same on uring. */
static int
req_check(struct mem_io *m, const struct tern_io_req *req)
{
	struct mfile *f;
	int rc;

	rc = handle_get(m, req->fh, req->len > 0, &f);
	if (rc != 0)
		return rc;
	return tern_io_req_check(req, m->bufs, m->nbufs);
}

static int
mem_submit(struct tern_io *io, const struct tern_io_req *req)
{
	struct mem_io *m = to_mem(io);
	int rc;

	if (req == NULL)
		return -EINVAL;
	rc = req_check(m, req);
	if (rc != 0)
		return rc;
	if (m->submit_pos - m->reap_pos == m->depth)
		return -EBUSY;
	ring_at(m, m->submit_pos)->req = *req;
	m->submit_pos++;
	m->stats.submitted++;
	return 0;
}

static int
mem_flush(struct tern_io *io)
{
	struct mem_io *m = to_mem(io);
	uint64_t n = m->submit_pos - m->flush_pos;

	if (n == 0)
		return 0;
	m->flush_pos = m->submit_pos;
	m->stats.flushes++;
	if (!m->hold)
		exec_flushed(m);
	return (int)n;
}

static unsigned int
mem_reap(struct tern_io *io, struct tern_io_cpl *cpl, unsigned int n)
{
	struct mem_io *m = to_mem(io);
	unsigned int k = 0;

	if (cpl == NULL)
		return 0;
	for (; k < n && m->reap_pos < m->exec_pos; k++, m->reap_pos++) {
		const struct mslot *s = ring_at(m, m->reap_pos);

		cpl[k].user_data = s->req.user_data;
		cpl[k].res = s->res;
		m->stats.completed++;
		if (s->res < 0)
			m->stats.errors++;
	}
	return k;
}

static int
mem_wait(struct tern_io *io, uint64_t timeout_ns)
{
	struct mem_io *m = to_mem(io);

	(void)timeout_ns; /* no time passes in memory: held requests stay held */
	if (m->exec_pos > m->reap_pos)
		return 0;
	if (m->flush_pos > m->exec_pos)
		return -ETIMEDOUT;
	return -EAGAIN;
}

static void
mem_stats_get(struct tern_io *io, struct tern_io_stats *st)
{
	if (st != NULL)
		*st = to_mem(io)->stats;
}

static void
mem_destroy(struct tern_io *io)
{
	struct mem_io *m = to_mem(io);

	while (m->files != NULL)
		file_free(m, m->files);
	tern_free(m->bufs);
	tern_free(m->ring);
	tern_free(m->handles);
	tern_free(m);
}

static const struct tern_io_ops mem_ops = {
	.name = "mem",
	.open = mem_open,
	.close = mem_close,
	.size = mem_size,
	.preallocate = mem_preallocate,
	.truncate = mem_truncate,
	.read = mem_read,
	.write = mem_write,
	.sync = mem_sync,
	.rename = mem_rename,
	.remove = mem_remove,
	.list = mem_list,
	.buf_register = mem_buf_register,
	.submit = mem_submit,
	.flush = mem_flush,
	.reap = mem_reap,
	.wait = mem_wait,
	.stats_get = mem_stats_get,
	.destroy = mem_destroy,
};

/* Every tern_io_mem_* call takes an instance of this driver; anything else is a bug. */
static struct mem_io *
mem_of(struct tern_io *io)
{
	assert(io != NULL && io->ops == &mem_ops);
	return to_mem(io);
}

/* ---- public ---- */

void
tern_io_mem_opts_init(struct tern_io_mem_opts *o, size_t size)
{
	const struct tern_io_mem_opts def = {
		.opts_size = sizeof(def),
		.depth = 64,
		.files = 64,
	};

	if (o == NULL || size < sizeof(o->opts_size))
		return;
	memset(o, 0, size);
	memcpy(o, &def, TERN_MIN(size, sizeof(def)));
	o->opts_size = size;
}

int
tern_io_mem_create(const struct tern_io_mem_opts *o, struct tern_io **out)
{
	struct tern_io_mem_opts opts;
	struct mem_io *m;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	tern_io_mem_opts_init(&opts, sizeof(opts));
	if (o != NULL) {
		if (o->opts_size < sizeof(o->opts_size))
			return -EINVAL;
		memcpy(&opts, o, TERN_MIN(o->opts_size, sizeof(opts)));
	}
	if (opts.depth == 0 || opts.depth > MEM_DEPTH_MAX || opts.files == 0 ||
	    opts.files > MEM_FILES_MAX)
		return -EINVAL;
	m = tern_zmalloc(sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->base.ops = &mem_ops;
	m->depth = opts.depth;
	m->nhandles = opts.files;
	m->capacity = opts.capacity;
	tern_prng_init(&m->prng, opts.seed);
	m->handles = tern_calloc(opts.files, sizeof(*m->handles));
	m->ring = tern_calloc(opts.depth, sizeof(*m->ring));
	if (m->handles == NULL || m->ring == NULL)
		goto fail;
	*out = &m->base;
	return 0;
fail:
	mem_destroy(&m->base);
	return -ENOMEM;
}

void
tern_io_mem_fault(struct tern_io *io, enum tern_io_mem_op op, unsigned int after,
		  unsigned int times, int err)
{
	struct mem_io *m = mem_of(io);

	if (TERN_NEVER((unsigned int)op >= TERN_IO_MEM_OP_COUNT_))
		return;
	m->faults[op].err = err;
	m->faults[op].after = err != 0 ? after : 0;
	m->faults[op].times = err != 0 ? times : 0;
}

void
tern_io_mem_set_capacity(struct tern_io *io, uint64_t bytes)
{
	mem_of(io)->capacity = bytes;
}

uint64_t
tern_io_mem_used(struct tern_io *io)
{
	return used_total(mem_of(io));
}

/*
 * Power loss for one file: the durable image plus the first @p keep units of its record,
 * where a write is one unit per byte and a size change one unit. Returns bytes lost.
 */
static uint64_t
file_crash_keep(struct mfile *f, uint64_t keep)
{
	const struct mrec *r;
	uint64_t kept = 0;

	for (r = f->head; r != NULL && keep > 0; r = r->next) {
		uint64_t units = r->kind == REC_WRITE ? r->len : 1;
		uint64_t n = TERN_MIN(units, keep);

		rec_apply(f->ddata, &f->d, r, n);
		if (r->kind == REC_WRITE)
			kept += n;
		keep -= n;
	}
	kept = f->unsynced - kept;
	rec_free_all(f);
	/* After the crash the disk is all there is: the written image is the durable one. */
	memcpy(f->data, f->ddata, f->d.size);
	f->w = f->d;
	return kept;
}

uint64_t
tern_io_mem_crash(struct tern_io *io, enum tern_io_mem_crash_mode mode)
{
	struct mem_io *m = mem_of(io);
	struct mfile *f, *next;
	uint64_t lost = 0, units;
	unsigned int i, dropped;

	dropped = (unsigned int)(m->submit_pos - m->reap_pos);
	m->reap_pos = m->exec_pos = m->flush_pos = m->submit_pos;
	for (i = 0; i < m->nhandles; i++)
		m->handles[i].f = NULL;
	/* The process is gone, and with it the memory its buffers were registered from. */
	tern_free(m->bufs);
	m->bufs = NULL;
	m->nbufs = 0;
	for (f = m->files; f != NULL; f = next) {
		next = f->next;
		f->nopen = 0;
		if (!f->linked) {
			file_free(m, f);
			continue;
		}
		switch (mode) {
		case TERN_IO_MEM_CRASH_NONE:
			break;
		case TERN_IO_MEM_CRASH_TORN:
			units = f->unsynced;
			for (const struct mrec *r = f->head; r != NULL; r = r->next)
				units += r->kind != REC_WRITE;
			lost += file_crash_keep(f, tern_prng_below(&m->prng, units + 1));
			break;
		case TERN_IO_MEM_CRASH_CLEAN:
		default:
			lost += file_crash_keep(f, 0);
			break;
		}
	}
	MEM_DIAG(INFO, "crash mode %d: %u requests dropped, %llu unsynced bytes lost", (int)mode,
		 dropped, (unsigned long long)lost);
	return lost;
}

void
tern_io_mem_hold(struct tern_io *io, int hold)
{
	struct mem_io *m = mem_of(io);

	m->hold = hold != 0;
	if (!m->hold)
		exec_flushed(m);
}

unsigned int
tern_io_mem_inflight(struct tern_io *io)
{
	struct mem_io *m = mem_of(io);

	return (unsigned int)(m->submit_pos - m->reap_pos);
}

ssize_t
tern_io_mem_file_get(struct tern_io *io, const char *name, void *buf, size_t cap)
{
	struct mem_io *m = mem_of(io);
	struct mfile *f;

	if (tern_io_name_check(name) != 0 || (buf == NULL && cap > 0))
		return -EINVAL;
	f = file_find(m, name);
	if (f == NULL)
		return -ENOENT;
	if (f->w.size > SSIZE_MAX)
		return -EFBIG;
	if (cap > 0 && f->w.size > 0)
		memcpy(buf, f->data, TERN_MIN((uint64_t)cap, f->w.size));
	return (ssize_t)f->w.size;
}

int
tern_io_mem_file_put(struct tern_io *io, const char *name, const void *buf, size_t len)
{
	struct mem_io *m = mem_of(io);
	struct mext next = {.size = len, .prealloc = 0};
	struct mfile *f;
	bool created = false;
	int rc;

	if (tern_io_name_check(name) != 0 || (buf == NULL && len > 0))
		return -EINVAL;
	f = file_find(m, name);
	if (f == NULL) {
		f = file_new(m, name);
		if (f == NULL)
			return -ENOMEM;
		created = true;
	}
	rc = capacity_check(m, f, &next);
	if (rc == 0)
		rc = file_reserve(f, len);
	if (rc != 0) {
		if (created)
			file_free(m, f);
		return rc;
	}
	rec_free_all(f);
	if (len > 0) {
		memcpy(f->data, buf, len);
		memcpy(f->ddata, buf, len);
	}
	f->w = f->d = next;
	return 0;
}

int
tern_io_mem_flip_bit(struct tern_io *io, const char *name, uint64_t off, unsigned int bit)
{
	struct mem_io *m = mem_of(io);
	struct mfile *f;
	struct mrec *r;
	uint8_t mask;

	if (tern_io_name_check(name) != 0)
		return -EINVAL;
	f = file_find(m, name);
	if (f == NULL)
		return -ENOENT;
	if (bit > 7 || (off >= f->w.size && off >= f->d.size))
		return -ERANGE;
	mask = (uint8_t)(1u << bit);
	if (off < f->w.size)
		f->data[off] ^= mask;
	if (off < f->d.size)
		f->ddata[off] ^= mask;
	/* Unsynced writes covering the byte carry the flip too, so a replay keeps it. */
	for (r = f->head; r != NULL; r = r->next)
		if (r->kind == REC_WRITE && off >= r->off && off - r->off < r->len)
			r->data[off - r->off] ^= mask;
	return 0;
}
