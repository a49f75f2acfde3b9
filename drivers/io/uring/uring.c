/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * io_uring storage driver (tern_io_uring.h).
 *
 * Each accepted request takes one slot of a table sized to the depth, and keeps it until
 * it is reaped. A request is issued in rounds: a write SQE, linked (IOSQE_IO_LINK) to an
 * fdatasync SQE when TERN_IO_REQ_SYNC is set, or the fdatasync alone for a sync-only
 * request. The SQE user_data is (slot << 1) | kind, so the two CQEs of a round find their
 * slot; when the last one is in, the round ends. A short write breaks the link (the
 * fdatasync completes with -ECANCELED) and starts another round for the remainder, with
 * its own linked fdatasync; any other error ends the request with the first error seen
 * (a failed write's linked fdatasync, cancelled, is not reported). Finished requests wait
 * in a ready ring until tern_io_reap() hands them out: one completion per request.
 *
 * When the file holds nothing unsynced but this request's data (no other request on it in
 * flight, and every earlier write covered by a completed fdatasync), the first round of a
 * sync request is one write SQE with RWF_DSYNC instead: the kernel syncs that range as
 * fdatasync would, in one io-wq handoff instead of two (dsync_writes counts them). Later
 * rounds always link an fdatasync, which also covers what the first round wrote. A file
 * starts unclean when opened (the page cache may hold another writer's data), and so does
 * any write without TERN_IO_REQ_SYNC, any preallocate or truncate, and any failure.
 *
 * A TERN_IO_REQ_WRITEBACK write is linked to a sync_file_range(SYNC_FILE_RANGE_WRITE) of
 * the whole file that belongs to no slot (user_data WB_TAG | handle): the request completes
 * with its write, and the writeback's CQE is only counted; closing the handle waits for
 * it, so that it never runs on a descriptor that names another file by then.
 *
 * Handles index a fixed-file table registered with -1 holes and updated on open and close;
 * when the kernel refuses it, plain descriptors are used. Unsubmitted SQEs are tracked in
 * groups, one per round, so tern_io_flush() can say how many requests it handed over.
 *
 * The ring is set up without DEFER_TASKRUN or COOP_TASKRUN, so completions are posted to
 * the CQ without a system call and tern_io_reap() only reads shared memory. The one
 * exception is the rare continuation of a short write, submitted at once from reap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_heap.h>

#include "tern_io_driver.h"
#include "tern_io_uring.h"

TERN_DIAG_REGISTER(uring, NOTICE);

#define URING_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, uring, "%s(): " fmt, __func__, ##__VA_ARGS__)

#define URING_DEPTH_MAX	 16384u /* 2 SQEs per request within IORING_MAX_ENTRIES */
#define URING_FILES_MAX	 65536u
#define URING_OPEN_TRIES 8

enum sqe_kind { SQE_WRITE = 0, SQE_FSYNC = 1 };

#define WB_TAG (1ULL << 63) /* user_data of a writeback start: WB_TAG | handle (no slot) */

struct uslot {
	struct tern_io_req req;
	uint32_t done;	 /* bytes of req.len written so far */
	int res;	 /* first error, 0 while none */
	int sres;	 /* this round's fdatasync result */
	uint64_t gen;	 /* the file's wgen that this round's fdatasync covers; 0: none */
	uint8_t pending; /* CQEs of this round still to come */
	bool used;
};

struct ufile {
	int fd; /* -1: free handle */
	bool rdonly;
	bool fixed; /* registered at index == handle */
	unsigned int inflight;
	unsigned int wb_out; /* writeback SQEs queued on it whose CQE is not seen yet */
	uint64_t wgen;	    /* bumped by every write that no fdatasync of its own covers */
	uint64_t clean_gen; /* == wgen: nothing unsynced is in the file (see the top) */
};

/* The SQEs of one round, queued and not yet consumed by the kernel. */
struct ugroup {
	uint8_t n;
	bool user; /* a new request (counted by flush), not a continuation */
	bool wb;   /* its last SQE is a writeback start */
};

struct uring_io {
	struct tern_io base;
	struct io_uring ring;
	bool ring_ok;
	bool fixed_files;
	bool closing;
	int dirfd;
	int evfd; /* signalled by the kernel at every completion; -1 until asked for */
	unsigned int depth;
	unsigned int nfiles;
	struct ufile *files;
	struct uslot *slots;
	uint32_t *free_idx; /* stack of free slots */
	unsigned int nfree;
	uint32_t *ready; /* finished slots, in completion order */
	unsigned int ready_head, ready_n;
	struct ugroup *groups; /* queued rounds, in SQ order */
	unsigned int group_head, group_n;
	unsigned int conts_queued; /* continuation groups not yet submitted */
	unsigned int sqe_out;	   /* SQEs the kernel consumed whose CQE is not seen yet */
	unsigned int wb_kernel;	   /* of those, writeback starts (they belong to no request) */
	struct iovec *bufs;
	unsigned int nbufs;
	struct tern_io_stats stats;
};

static inline struct uring_io *
to_uring(struct tern_io *io)
{
	return (struct uring_io *)io;
}

static int
handle_get(struct uring_io *u, int fh, bool write, struct ufile **out)
{
	struct ufile *f;

	if (fh < 0 || (unsigned int)fh >= u->nfiles || u->files[fh].fd < 0)
		return -EBADF;
	f = &u->files[fh];
	if (write && f->rdonly)
		return -EBADF;
	*out = f;
	return 0;
}

/* Make the home directory's entries durable. */
static int
dir_sync(struct uring_io *u, const char *what)
{
	int rc;

	if (fsync(u->dirfd) == 0)
		return 0;
	rc = -errno;
	URING_DIAG(ERR, "fsync of the home directory after %s failed: %s", what, tern_strerror(rc));
	return rc;
}

/* ---- submission ---- */

static void
group_push(struct uring_io *u, unsigned int n, bool user, bool wb)
{
	struct ugroup *g = &u->groups[(u->group_head + u->group_n) % u->depth];

	assert(u->group_n < u->depth);
	g->n = (uint8_t)n;
	g->user = user;
	g->wb = wb;
	u->group_n++;
	if (!user)
		u->conts_queued++;
}

/* io_uring_submit(); returns how many new requests went wholly to the kernel, or -errno. */
static int
sq_submit(struct uring_io *u)
{
	unsigned int left;
	int rc, handed = 0;

	rc = io_uring_submit(&u->ring);
	if (rc < 0)
		return rc;
	u->sqe_out += (unsigned int)rc;
	for (left = (unsigned int)rc; left > 0 && u->group_n > 0;) {
		struct ugroup *g = &u->groups[u->group_head];
		unsigned int take = TERN_MIN(left, (unsigned int)g->n);

		g->n = (uint8_t)(g->n - take);
		left -= take;
		if (g->n > 0)
			break;
		u->wb_kernel += g->wb;
		if (g->user)
			handed++;
		else
			u->conts_queued--;
		u->group_head = (u->group_head + 1) % u->depth;
		u->group_n--;
	}
	return handed;
}

/* What @p f holds may not all be on disk (see the top). */
static void
file_dirty(struct ufile *f)
{
	f->wgen++;
}

/*
 * Queue the SQEs of the next round of slot @p idx: the rest of the write, then the sync;
 * or the rest of the write with RWF_DSYNC when the file is clean and this request alone.
 */
static void
round_queue(struct uring_io *u, uint32_t idx, bool user)
{
	struct uslot *s = &u->slots[idx];
	const struct tern_io_req *r = &s->req;
	struct ufile *f = &u->files[r->fh];
	int fd = f->fixed ? r->fh : f->fd;
	uint8_t sflags = f->fixed ? IOSQE_FIXED_FILE : 0;
	bool sync = (r->flags & TERN_IO_REQ_SYNC) != 0;
	/* A new request is not counted in inflight yet; a continuation is. */
	bool alone = f->inflight == (user ? 0u : 1u);
	bool dsync = sync && user && s->done < r->len && alone && f->clean_gen == f->wgen;
	bool wb = !sync && (r->flags & TERN_IO_REQ_WRITEBACK) && s->done < r->len;
	struct io_uring_sqe *sqe;
	unsigned int n = 0;

	s->gen = sync && alone ? f->wgen : 0;
	if (!sync)
		file_dirty(f);
	if (s->done < r->len) {
		const uint8_t *buf = (const uint8_t *)r->buf + s->done;
		uint32_t len = r->len - s->done;

		sqe = io_uring_get_sqe(&u->ring);
		assert(sqe != NULL); /* the SQ holds two SQEs per slot */
		if (r->buf_index >= 0)
			io_uring_prep_write_fixed(sqe, fd, buf, len, r->off + s->done,
						  r->buf_index);
		else
			io_uring_prep_write(sqe, fd, buf, len, r->off + s->done);
		sqe->flags |= sflags | ((sync && !dsync) || wb ? IOSQE_IO_LINK : 0);
		if (dsync) {
			sqe->rw_flags = RWF_DSYNC;
			u->stats.dsync_writes++;
			u->stats.syncs++;
		}
		sqe->user_data = ((uint64_t)idx << 1) | SQE_WRITE;
		u->stats.writes++;
		n++;
	}
	if (sync && !dsync) {
		sqe = io_uring_get_sqe(&u->ring);
		assert(sqe != NULL);
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		sqe->flags |= sflags;
		sqe->user_data = ((uint64_t)idx << 1) | SQE_FSYNC;
		u->stats.syncs++;
		n++;
	}
	s->pending = (uint8_t)n;
	s->sres = 0;
	if (wb) {
		/* Offset 0, length 0: the whole file (only its dirty pages are visited). */
		sqe = io_uring_get_sqe(&u->ring);
		assert(sqe != NULL);
		io_uring_prep_sync_file_range(sqe, fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		sqe->flags |= sflags;
		sqe->user_data = WB_TAG | (uint64_t)r->fh;
		f->wb_out++;
		u->stats.writebacks++;
		n++;
	}
	group_push(u, n, user, wb);
}

/* ---- completion ---- */

/* Both CQEs of a round are in: finish the request or start the next round. */
static bool
round_end(struct uring_io *u, uint32_t idx)
{
	struct uslot *s = &u->slots[idx];
	struct ufile *f = &u->files[s->req.fh];
	bool short_write = s->done < s->req.len;

	/* A short write breaks the link, so its fdatasync is cancelled: not an error. */
	if (s->res == 0 && s->sres < 0 && !(s->sres == -ECANCELED && short_write))
		s->res = s->sres;
	if (s->res == 0 && short_write && !u->closing) {
		u->stats.short_writes++;
		round_queue(u, idx, false);
		return true;
	}
	if (s->res != 0 || short_write)
		file_dirty(f); /* what reached the disk is unknown */
	else if (s->gen != 0 && s->gen == f->wgen)
		f->clean_gen = s->gen; /* an fdatasync with nothing else in flight */
	u->ready[(u->ready_head + u->ready_n) % u->depth] = idx;
	u->ready_n++;
	return false;
}

/* Account one CQE. Returns true when it queued a continuation round. */
static bool
cqe_handle(struct uring_io *u, uint64_t ud, int res)
{
	uint64_t idx = ud >> 1;
	struct uslot *s;

	if (ud & WB_TAG) {
		uint64_t fh = ud & ~WB_TAG;

		if (TERN_ALWAYS(fh < u->nfiles && u->files[fh].wb_out > 0))
			u->files[fh].wb_out--;
		if (TERN_ALWAYS(u->wb_kernel > 0))
			u->wb_kernel--;
		/* Cancelled by a short write, or failed: the next fdatasync reports what matters. */
		if (res < 0 && res != -ECANCELED)
			TERN_DIAG_RATELIMIT(1024, NOTICE, uring, "starting writeback failed: %s",
					    tern_strerror(res));
		return false;
	}
	if (TERN_NEVER(idx >= u->depth || !u->slots[idx].used || u->slots[idx].pending == 0)) {
		URING_DIAG(ERR, "completion for unknown request %llu (res %d)",
			   (unsigned long long)ud, res);
		return false;
	}
	s = &u->slots[idx];
	if ((ud & 1) == SQE_WRITE) {
		if (res > 0 && (uint64_t)res <= s->req.len - s->done) {
			s->done += (uint32_t)res;
			u->stats.bytes += (uint64_t)res;
		} else if (s->res == 0) {
			s->res = res < 0 ? res : -EIO; /* no progress: do not spin */
		}
	} else {
		s->sres = res;
	}
	if (--s->pending > 0)
		return false;
	return round_end(u, (uint32_t)idx);
}

/* Move every CQE into the slots; submit continuations of short writes at once. */
static void
harvest(struct uring_io *u)
{
	struct io_uring_cqe *cqe;
	bool cont = false;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t ud = cqe->user_data;
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		assert(u->sqe_out > 0);
		u->sqe_out--;
		cont |= cqe_handle(u, ud, res);
	}
	if (cont) {
		int rc = sq_submit(u);

		if (rc < 0)
			TERN_DIAG_RATELIMIT(1024, WARNING, uring,
					    "submitting a short write's remainder failed: %s",
					    tern_strerror(rc));
	}
}

/* ---- synchronous ops ---- */

static int
uring_open(struct tern_io *io, const char *name, int flags, int *fh)
{
	struct uring_io *u = to_uring(io);
	int oflags = O_CLOEXEC, fd = -1, rc, i;
	bool created = false;
	unsigned int h;
	struct stat st;

	if (tern_io_name_check(name) != 0 || fh == NULL)
		return -EINVAL;
	if ((flags & ~(TERN_IO_CREATE | TERN_IO_EXCL | TERN_IO_RDONLY)) != 0 ||
	    ((flags & TERN_IO_EXCL) && !(flags & TERN_IO_CREATE)))
		return -EINVAL;
	for (h = 0; h < u->nfiles; h++)
		if (u->files[h].fd < 0)
			break;
	if (h == u->nfiles)
		return -EMFILE;
	oflags |= (flags & TERN_IO_RDONLY) ? O_RDONLY : O_RDWR;
	if (flags & TERN_IO_EXCL) {
		fd = openat(u->dirfd, name, oflags | O_CREAT | O_EXCL, 0644);
		created = fd >= 0;
	} else if (flags & TERN_IO_CREATE) {
		/* Tell "opened" from "created": only a creation needs the directory synced. */
		for (i = 0; i < URING_OPEN_TRIES; i++) {
			fd = openat(u->dirfd, name, oflags);
			if (fd >= 0 || errno != ENOENT)
				break;
			fd = openat(u->dirfd, name, oflags | O_CREAT | O_EXCL, 0644);
			if (fd >= 0 || errno != EEXIST) {
				created = fd >= 0;
				break;
			}
		}
	} else {
		fd = openat(u->dirfd, name, oflags);
	}
	if (fd < 0)
		return errno != 0 ? -errno : -EIO;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto fail;
	}
	if (created) {
		rc = dir_sync(u, "create");
		if (rc != 0)
			goto fail;
	}
	u->files[h].fixed = false;
	if (u->fixed_files) {
		rc = io_uring_register_files_update(&u->ring, h, &fd, 1);
		if (rc == 1)
			u->files[h].fixed = true;
		else
			URING_DIAG(NOTICE,
				   "fixed-file update for '%s' failed (%s): plain descriptor", name,
				   tern_strerror(rc < 0 ? rc : -EIO));
	}
	u->files[h].fd = fd;
	u->files[h].rdonly = (flags & TERN_IO_RDONLY) != 0;
	u->files[h].inflight = 0;
	/* Unclean until the first fdatasync: the page cache may hold unsynced data. */
	u->files[h].wgen = 1;
	u->files[h].clean_gen = 0;
	*fh = (int)h;
	return 0;
fail:
	if (created)
		unlinkat(u->dirfd, name, 0);
	close(fd);
	return rc;
}

static int
uring_close(struct tern_io *io, int fh)
{
	struct uring_io *u = to_uring(io);
	struct ufile *f;
	int rc, none = -1;

	rc = handle_get(u, fh, false, &f);
	if (rc != 0)
		return rc;
	if (f->inflight > 0)
		return -EBUSY;
	/* Writeback starts of completed requests: the kernel looks the file up when it runs
	 * them, so the descriptor (or fixed slot) must not be reused before. */
	while (f->wb_out > 0) {
		struct io_uring_cqe *cqe;

		rc = io_uring_wait_cqe(&u->ring, &cqe);
		if (rc < 0 && rc != -EINTR) {
			URING_DIAG(ERR, "waiting for a writeback start on handle %d failed: %s", fh,
				   tern_strerror(rc));
			break;
		}
		harvest(u);
	}
	if (f->fixed) {
		rc = io_uring_register_files_update(&u->ring, (unsigned int)fh, &none, 1);
		if (rc != 1)
			URING_DIAG(WARNING, "clearing fixed file %d failed: %s", fh,
				   tern_strerror(rc < 0 ? rc : -EIO));
		f->fixed = false;
	}
	rc = close(f->fd) == 0 ? 0 : -errno;
	f->fd = -1;
	/* The descriptor is gone either way; EINTR is not a failure to report. */
	return rc == -EINTR ? 0 : rc;
}

static int
uring_size(struct tern_io *io, int fh, uint64_t *size)
{
	struct ufile *f;
	struct stat st;
	int rc;

	rc = handle_get(to_uring(io), fh, false, &f);
	if (rc != 0)
		return rc;
	if (size == NULL)
		return -EINVAL;
	if (fstat(f->fd, &st) != 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Grow @p fd from @p from to @p to bytes by writing zeros (for file systems without fallocate). */
static int
zero_fill(int fd, uint64_t from, uint64_t to)
{
	static const uint8_t zeros[65536];

	while (from < to) {
		size_t n = (size_t)TERN_MIN(to - from, (uint64_t)sizeof(zeros));
		ssize_t w = pwrite(fd, zeros, n, (off_t)from);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		from += (uint64_t)w;
	}
	return 0;
}

static int
uring_preallocate(struct tern_io *io, int fh, uint64_t size)
{
	struct ufile *f;
	struct stat st;
	int rc;

	rc = handle_get(to_uring(io), fh, true, &f);
	if (rc != 0)
		return rc;
	if (size > TERN_IO_OFF_MAX)
		return -EFBIG;
	if (size == 0)
		return 0;
	if (fstat(f->fd, &st) != 0)
		return -errno;
	file_dirty(f);
	/* Mode 0: the size grows, and what was not written reads as zeros. */
	if (fallocate(f->fd, 0, 0, (off_t)size) == 0)
		return 0;
	rc = -errno;
	if (rc == -EOPNOTSUPP) {
		TERN_DIAG_RATELIMIT(1024, NOTICE, uring,
				    "fallocate not supported here: writing zeros instead");
		if (size <= (uint64_t)st.st_size)
			return 0;
		rc = zero_fill(f->fd, (uint64_t)st.st_size, size);
		if (rc == 0)
			return 0;
	}
	/* Nothing changes on failure: give back what a partial allocation added. */
	if (ftruncate(f->fd, st.st_size) != 0)
		URING_DIAG(WARNING, "could not restore the size after a failed preallocate: %s",
			   tern_strerror(-errno));
	return rc;
}

static int
uring_truncate(struct tern_io *io, int fh, uint64_t size)
{
	struct ufile *f;
	int rc;

	rc = handle_get(to_uring(io), fh, true, &f);
	if (rc != 0)
		return rc;
	if (size > TERN_IO_OFF_MAX)
		return -EFBIG;
	file_dirty(f);
	if (ftruncate(f->fd, (off_t)size) != 0)
		return -errno;
	return 0;
}

static ssize_t
uring_read(struct tern_io *io, int fh, void *buf, size_t len, uint64_t off)
{
	struct ufile *f;
	size_t done = 0;
	int rc;

	rc = handle_get(to_uring(io), fh, false, &f);
	if (rc != 0)
		return rc;
	if (buf == NULL && len > 0)
		return -EINVAL;
	if (off > TERN_IO_OFF_MAX)
		return 0;
	len = TERN_MIN(len, (size_t)SSIZE_MAX);
	while (done < len) {
		ssize_t r = pread(f->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static int
uring_write(struct tern_io *io, int fh, const void *buf, size_t len, uint64_t off)
{
	struct uring_io *u = to_uring(io);
	struct ufile *f;
	size_t done = 0;
	int rc;

	rc = handle_get(u, fh, true, &f);
	if (rc != 0)
		return rc;
	if (buf == NULL && len > 0)
		return -EINVAL;
	if (off > TERN_IO_OFF_MAX || len > TERN_IO_OFF_MAX - off)
		return -EFBIG;
	file_dirty(f);
	while (done < len) {
		ssize_t w;

		u->stats.writes++;
		w = pwrite(f->fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		done += (size_t)w;
		u->stats.bytes += (uint64_t)w;
		if (done < len)
			u->stats.short_writes++;
	}
	return 0;
}

static int
uring_sync(struct tern_io *io, int fh)
{
	struct uring_io *u = to_uring(io);
	struct ufile *f;
	int rc;

	rc = handle_get(u, fh, false, &f);
	if (rc != 0)
		return rc;
	u->stats.syncs++;
	if (fdatasync(f->fd) != 0) {
		file_dirty(f);
		return -errno;
	}
	if (f->inflight == 0)
		f->clean_gen = f->wgen;
	return 0;
}

static int
uring_rename(struct tern_io *io, const char *from, const char *to)
{
	struct uring_io *u = to_uring(io);

	if (tern_io_name_check(from) != 0 || tern_io_name_check(to) != 0)
		return -EINVAL;
	if (renameat(u->dirfd, from, u->dirfd, to) != 0)
		return -errno;
	return dir_sync(u, "rename");
}

static int
uring_remove(struct tern_io *io, const char *name)
{
	struct uring_io *u = to_uring(io);

	if (tern_io_name_check(name) != 0)
		return -EINVAL;
	if (unlinkat(u->dirfd, name, 0) != 0)
		return -errno;
	return dir_sync(u, "remove");
}

static int
uring_list(struct tern_io *io, int (*fn)(void *arg, const char *name), void *arg)
{
	struct uring_io *u = to_uring(io);
	struct dirent *de;
	int fd, rc = 0;
	DIR *d;

	if (fn == NULL)
		return -EINVAL;
	fd = openat(u->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		rc = -errno;
		close(fd);
		return rc;
	}
	for (;;) {
		struct stat st;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			rc = errno != 0 ? -errno : 0;
			break;
		}
		/* Only what tern_io_open() could open: regular files with valid names. */
		if (tern_io_name_check(de->d_name) != 0)
			continue;
		if (de->d_type != DT_REG) {
			if (de->d_type != DT_UNKNOWN)
				continue;
			if (fstatat(u->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(st.st_mode))
				continue;
		}
		rc = fn(arg, de->d_name);
		if (rc != 0)
			break;
	}
	closedir(d);
	return rc;
}

static int
uring_buf_register(struct tern_io *io, const struct iovec *iov, unsigned int n)
{
	struct uring_io *u = to_uring(io);
	struct iovec *copy = NULL;
	unsigned int i;
	int rc;

	/* A continuation round still needs the table its request was checked against. */
	if (u->nfree != u->depth)
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
	if (u->nbufs > 0) {
		rc = io_uring_unregister_buffers(&u->ring);
		if (rc < 0) {
			URING_DIAG(ERR, "unregistering %u buffers failed: %s", u->nbufs,
				   tern_strerror(rc));
			tern_free(copy);
			return rc;
		}
		tern_free(u->bufs);
		u->bufs = NULL;
		u->nbufs = 0;
	}
	if (n == 0)
		return 0;
	rc = io_uring_register_buffers(&u->ring, copy, n);
	if (rc < 0) {
		URING_DIAG(NOTICE, "registering %u buffers failed: %s", n, tern_strerror(rc));
		tern_free(copy);
		return rc;
	}
	u->bufs = copy;
	u->nbufs = n;
	return 0;
}

/* ---- asynchronous ops ---- */

static int
req_check(struct uring_io *u, const struct tern_io_req *req)
{
	struct ufile *f;
	int rc;

	rc = handle_get(u, req->fh, req->len > 0, &f);
	if (rc != 0)
		return rc;
	return tern_io_req_check(req, u->bufs, u->nbufs);
}

static int
uring_submit(struct tern_io *io, const struct tern_io_req *req)
{
	struct uring_io *u = to_uring(io);
	struct uslot *s;
	uint32_t idx;
	int rc;

	if (req == NULL)
		return -EINVAL;
	rc = req_check(u, req);
	if (rc != 0)
		return rc;
	if (u->nfree == 0)
		return -EBUSY;
	if (TERN_NEVER(io_uring_sq_space_left(&u->ring) < 2))
		return -EBUSY;
	idx = u->free_idx[--u->nfree];
	s = &u->slots[idx];
	s->req = *req;
	s->done = 0;
	s->res = 0;
	s->used = true;
	round_queue(u, idx, true);
	u->files[req->fh].inflight++;
	u->stats.submitted++;
	return 0;
}

static int
uring_flush(struct tern_io *io)
{
	struct uring_io *u = to_uring(io);
	int rc;

	if (u->group_n == 0)
		return 0;
	rc = sq_submit(u);
	if (rc < 0) {
		TERN_DIAG_RATELIMIT(1024, WARNING, uring, "io_uring_submit failed: %s",
				    tern_strerror(rc));
		return rc;
	}
	if (rc > 0)
		u->stats.flushes++;
	return rc;
}

static unsigned int
uring_reap(struct tern_io *io, struct tern_io_cpl *cpl, unsigned int n)
{
	struct uring_io *u = to_uring(io);
	unsigned int k;

	if (cpl == NULL)
		return 0;
	harvest(u);
	for (k = 0; k < n && u->ready_n > 0; k++) {
		uint32_t idx = u->ready[u->ready_head];
		struct uslot *s = &u->slots[idx];

		u->ready_head = (u->ready_head + 1) % u->depth;
		u->ready_n--;
		cpl[k].user_data = s->req.user_data;
		cpl[k].res = s->res;
		u->stats.completed++;
		if (s->res < 0)
			u->stats.errors++;
		u->files[s->req.fh].inflight--;
		s->used = false;
		u->free_idx[u->nfree++] = idx;
	}
	return k;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
uring_wait(struct tern_io *io, uint64_t timeout_ns)
{
	struct uring_io *u = to_uring(io);
	uint64_t deadline, now = mono_ns();
	struct io_uring_cqe *cqe;
	int rc;

	deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
	for (;;) {
		struct __kernel_timespec ts;

		harvest(u);
		if (u->ready_n > 0)
			return 0;
		if (u->conts_queued > 0) {
			rc = sq_submit(u);
			if (rc < 0)
				return rc;
		}
		if (u->sqe_out == u->wb_kernel)
			return -EAGAIN; /* nothing but writeback starts, which complete no request */
		if (deadline == UINT64_MAX) {
			rc = io_uring_wait_cqe(&u->ring, &cqe);
		} else {
			now = mono_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			ts.tv_sec = (long long)((deadline - now) / 1000000000ULL);
			ts.tv_nsec = (long long)((deadline - now) % 1000000000ULL);
			rc = io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts);
		}
		if (rc == -ETIME)
			return -ETIMEDOUT;
		if (rc < 0 && rc != -EINTR)
			return rc;
	}
}

static void
uring_stats_get(struct tern_io *io, struct tern_io_stats *st)
{
	if (st != NULL)
		*st = to_uring(io)->stats;
}

static void
uring_destroy(struct tern_io *io)
{
	struct uring_io *u = to_uring(io);
	struct io_uring_cqe *cqe;
	unsigned int i, unsent = 0;

	if (u->ring_ok) {
		/* The kernel may still read callers' buffers: wait for everything it took. */
		u->closing = true;
		for (i = 0; i < u->group_n; i++)
			unsent += u->groups[(u->group_head + i) % u->depth].user;
		if (unsent > 0)
			URING_DIAG(NOTICE, "%u requests queued but never flushed are dropped",
				   unsent);
		while (u->sqe_out > 0) {
			int rc = io_uring_wait_cqe(&u->ring, &cqe);

			if (rc == -EINTR)
				continue;
			if (rc < 0) {
				URING_DIAG(ERR, "waiting for %u requests in flight failed: %s",
					   u->sqe_out, tern_strerror(rc));
				break;
			}
			harvest(u);
		}
	}
	if (u->files != NULL)
		for (i = 0; i < u->nfiles; i++)
			if (u->files[i].fd >= 0)
				close(u->files[i].fd);
	if (u->ring_ok)
		io_uring_queue_exit(&u->ring);
	if (u->evfd >= 0)
		close(u->evfd);
	if (u->dirfd >= 0)
		close(u->dirfd);
	tern_free(u->bufs);
	tern_free(u->groups);
	tern_free(u->ready);
	tern_free(u->free_idx);
	tern_free(u->slots);
	tern_free(u->files);
	tern_free(u);
}

static const struct tern_io_ops uring_ops;

int
tern_io_uring_eventfd(struct tern_io *io)
{
	struct uring_io *u;
	int fd, rc;

	if (io == NULL || io->ops != &uring_ops)
		return -EINVAL;
	u = to_uring(io);
	if (u->evfd >= 0)
		return u->evfd;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	rc = io_uring_register_eventfd(&u->ring, fd);
	if (rc < 0) {
		URING_DIAG(ERR, "cannot register a completion eventfd: %s", tern_strerror(rc));
		close(fd);
		return rc;
	}
	u->evfd = fd;
	return fd;
}

static const struct tern_io_ops uring_ops = {
	.name = "uring",
	.open = uring_open,
	.close = uring_close,
	.size = uring_size,
	.preallocate = uring_preallocate,
	.truncate = uring_truncate,
	.read = uring_read,
	.write = uring_write,
	.sync = uring_sync,
	.rename = uring_rename,
	.remove = uring_remove,
	.list = uring_list,
	.buf_register = uring_buf_register,
	.submit = uring_submit,
	.flush = uring_flush,
	.reap = uring_reap,
	.wait = uring_wait,
	.stats_get = uring_stats_get,
	.destroy = uring_destroy,
};

/* ---- creation ---- */

/* fsync the directory holding @p path, after creating @p path in it. */
static int
parent_sync(const char *path)
{
	char *p = tern_strdup(path), *slash;
	const char *dir;
	size_t n;
	int fd, rc = 0;

	if (p == NULL)
		return -ENOMEM;
	for (n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
		p[n - 1] = '\0';
	slash = strrchr(p, '/');
	if (slash == NULL) {
		dir = ".";
	} else {
		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
		dir = p;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	tern_free(p);
	return rc;
}

static int
home_open(const char *home)
{
	int fd, rc;

	if (mkdir(home, 0755) == 0) {
		rc = parent_sync(home);
		if (rc != 0) {
			URING_DIAG(ERR, "created home '%s' but could not sync its parent: %s", home,
				   tern_strerror(rc));
			return rc;
		}
	} else if (errno != EEXIST) {
		rc = -errno;
		URING_DIAG(ERR, "cannot create home '%s': %s", home, tern_strerror(rc));
		return rc;
	}
	fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		URING_DIAG(ERR, "cannot open home '%s': %s", home, tern_strerror(rc));
		return rc;
	}
	return fd;
}

/* The likely cause of an io_uring_queue_init failure, for the diagnostic. */
static const char *
setup_hint(int rc)
{
	switch (rc) {
	case -ENOSYS:
	case -EPERM:
		return " (io_uring disabled: kernel.io_uring_disabled, seccomp, or a kernel "
		       "without CONFIG_IO_URING)";
	case -ENOMEM:
		return " (RLIMIT_MEMLOCK too low for the rings?)";
	default:
		return "";
	}
}

static int
ring_setup(struct uring_io *u)
{
	struct io_uring_params p;
	int *fds, rc;
	unsigned int i;

	memset(&p, 0, sizeof(p));
	rc = io_uring_queue_init_params(2 * u->depth, &u->ring, &p);
	if (rc < 0) {
		URING_DIAG(ERR, "io_uring setup with %u entries failed: %s%s", 2 * u->depth,
			   tern_strerror(rc), setup_hint(rc));
		return rc;
	}
	u->ring_ok = true;
	if (!(p.features & IORING_FEAT_EXT_ARG)) {
		URING_DIAG(ERR, "io_uring lacks IORING_FEAT_EXT_ARG (needs Linux 5.11 or later)");
		return -ENOSYS;
	}
	fds = tern_malloc(sizeof(*fds) * u->nfiles);
	if (fds == NULL)
		return -ENOMEM;
	for (i = 0; i < u->nfiles; i++)
		fds[i] = -1;
	rc = io_uring_register_files(&u->ring, fds, u->nfiles);
	tern_free(fds);
	u->fixed_files = rc == 0;
	if (rc != 0)
		URING_DIAG(NOTICE, "fixed-file table of %u unavailable (%s): plain descriptors",
			   u->nfiles, tern_strerror(rc));
	return 0;
}

void
tern_io_uring_opts_init(struct tern_io_uring_opts *o, size_t size)
{
	const struct tern_io_uring_opts def = {
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
tern_io_uring_create(const struct tern_io_uring_opts *o, struct tern_io **out)
{
	struct tern_io_uring_opts opts;
	struct uring_io *u;
	unsigned int i;
	int rc;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (o == NULL || o->opts_size < sizeof(o->opts_size))
		return -EINVAL;
	tern_io_uring_opts_init(&opts, sizeof(opts));
	memcpy(&opts, o, TERN_MIN(o->opts_size, sizeof(opts)));
	if (opts.home == NULL || opts.home[0] == '\0' || opts.depth == 0 ||
	    opts.depth > URING_DEPTH_MAX || opts.files == 0 || opts.files > URING_FILES_MAX)
		return -EINVAL;
	u = tern_zmalloc(sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->base.ops = &uring_ops;
	u->dirfd = -1;
	u->evfd = -1;
	u->depth = opts.depth;
	u->nfiles = opts.files;
	u->files = tern_calloc(u->nfiles, sizeof(*u->files));
	u->slots = tern_calloc(u->depth, sizeof(*u->slots));
	u->free_idx = tern_calloc(u->depth, sizeof(*u->free_idx));
	u->ready = tern_calloc(u->depth, sizeof(*u->ready));
	u->groups = tern_calloc(u->depth, sizeof(*u->groups));
	if (u->files == NULL || u->slots == NULL || u->free_idx == NULL || u->ready == NULL ||
	    u->groups == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < u->nfiles; i++)
		u->files[i].fd = -1;
	for (i = 0; i < u->depth; i++)
		u->free_idx[i] = u->depth - 1 - i;
	u->nfree = u->depth;
	rc = home_open(opts.home);
	if (rc < 0)
		goto fail;
	u->dirfd = rc;
	rc = ring_setup(u);
	if (rc != 0)
		goto fail;
	*out = &u->base;
	return 0;
fail:
	uring_destroy(&u->base);
	return rc;
}
