/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Storage driver interface: one small ops table per driver (DESIGN.md 1).
 *
 * A driver instance is a `struct tern_io` rooted at one directory (its "home"): files are
 * named relative to it and addressed by small integer handles. Two kinds of calls:
 *
 * - Synchronous file management (open, size, preallocate, truncate, read, write, sync,
 *   rename, remove, list): used at open, recovery, segment roll and checkpoint, never per
 *   entry.
 * - Asynchronous writes for the data path: tern_io_submit() queues a write, optionally
 *   followed by an fdatasync of the same file that runs only after the write completes
 *   (linked); tern_io_flush() hands everything queued to the kernel in one call;
 *   tern_io_reap() collects finished requests without blocking. The driver has no thread
 *   of its own: completions are reaped by the caller's poll loop. tern_io_wait() blocks for
 *   completions and is for callers off the data path (close, checkpoint).
 *
 * Drivers: `uring` (liburing, drivers/io/uring/tern_io_uring.h) and `mem` (in-memory files
 * with fault injection, drivers/io/mem/tern_io_mem.h). A driver instance belongs to one
 * thread; it takes no locks.
 */
#ifndef TERN_IO_H
#define TERN_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** tern_io_open() flags. */
#define TERN_IO_CREATE 0x1 /**< create when missing (the directory entry is made durable) */
#define TERN_IO_EXCL 0x2   /**< with CREATE: fail with -EEXIST when it exists */
#define TERN_IO_RDONLY 0x4 /**< open for reading only */

/** tern_io_req flags. */
/**
 * fdatasync the file after the write (linked); len 0: sync only. On completion the write
 * and every write completed before it through this driver are durable. Drivers may sync
 * just the request's range when they know nothing else in the file is unsynced; they know
 * it per handle, so write a file through one handle at a time.
 */
#define TERN_IO_REQ_SYNC 0x1
/**
 * After the write, start the kernel's writeback of the file's dirty pages (no wait, no
 * durability promised), so that the next fdatasync finds little left to write and does
 * not stall; the request completes with its write. Ignored with TERN_IO_REQ_SYNC.
 */
#define TERN_IO_REQ_WRITEBACK 0x2

/** Longest file name (relative to the home directory), terminator included. */
#define TERN_IO_NAME_MAX 64

/** One asynchronous request. Copied by tern_io_submit(); @p buf must stay valid until reaped. */
struct tern_io_req {
	int fh;             /**< file handle from tern_io_open() */
	int buf_index;      /**< registered buffer holding @p buf, or -1 */
	const void *buf;    /**< data to write */
	uint32_t len;       /**< bytes; 0 with TERN_IO_REQ_SYNC is a plain fdatasync */
	uint32_t flags;     /**< TERN_IO_REQ_* */
	uint64_t off;       /**< file offset */
	uint64_t user_data; /**< returned in the completion */
};

/** One finished request. */
struct tern_io_cpl {
	uint64_t user_data;
	/**
	 * 0 when every byte was written (and synced, with TERN_IO_REQ_SYNC); else the first
	 * error, negative errno: -ENOSPC, -EIO (write or fdatasync failed), -ECANCELED.
	 * A short write is continued by the driver, not reported.
	 */
	int res;
};

/** Counters of one driver instance. */
struct tern_io_stats {
	uint64_t submitted;  /**< requests accepted by tern_io_submit() */
	uint64_t completed;  /**< completions returned by tern_io_reap() */
	uint64_t errors;     /**< completions with res < 0 */
	uint64_t writes;     /**< write operations issued (a short write counts twice) */
	uint64_t syncs;      /**< fdatasync operations issued */
	uint64_t bytes;      /**< bytes written */
	uint64_t flushes;    /**< tern_io_flush() calls that handed requests to the kernel */
	uint64_t short_writes; /**< writes the driver had to continue */
	uint64_t dsync_writes; /**< sync requests issued as one RWF_DSYNC write (also in syncs) */
	uint64_t writebacks;   /**< writebacks started (TERN_IO_REQ_WRITEBACK) */
};

struct tern_io;

/** The ops table. Every driver fills all of it. */
struct tern_io_ops {
	const char *name;
	int (*open)(struct tern_io *io, const char *name, int flags, int *fh);
	int (*close)(struct tern_io *io, int fh);
	int (*size)(struct tern_io *io, int fh, uint64_t *size);
	int (*preallocate)(struct tern_io *io, int fh, uint64_t size);
	int (*truncate)(struct tern_io *io, int fh, uint64_t size);
	ssize_t (*read)(struct tern_io *io, int fh, void *buf, size_t len, uint64_t off);
	int (*write)(struct tern_io *io, int fh, const void *buf, size_t len, uint64_t off);
	int (*sync)(struct tern_io *io, int fh);
	int (*rename)(struct tern_io *io, const char *from, const char *to);
	int (*remove)(struct tern_io *io, const char *name);
	int (*list)(struct tern_io *io, int (*fn)(void *arg, const char *name), void *arg);
	int (*buf_register)(struct tern_io *io, const struct iovec *iov, unsigned int n);
	int (*submit)(struct tern_io *io, const struct tern_io_req *req);
	int (*flush)(struct tern_io *io);
	unsigned int (*reap)(struct tern_io *io, struct tern_io_cpl *cpl, unsigned int n);
	int (*wait)(struct tern_io *io, uint64_t timeout_ns);
	void (*stats_get)(struct tern_io *io, struct tern_io_stats *st);
	void (*destroy)(struct tern_io *io);
};

/** Base of every driver instance (drivers embed it first). */
struct tern_io {
	const struct tern_io_ops *ops;
};

/**
 * Open file @p name (no '/' allowed) with TERN_IO_* @p flags; the handle goes to @p fh.
 * @return 0; -ENOENT (missing, no CREATE); -EEXIST (EXCL); -EINVAL (bad name);
 *   -EMFILE (handle table full); other -errno from the system.
 */
static inline int
tern_io_open(struct tern_io *io, const char *name, int flags, int *fh)
{
	return io->ops->open(io, name, flags, fh);
}

/** Close handle @p fh. Requests on it must have been reaped. @return 0 or -EBADF. */
static inline int
tern_io_close(struct tern_io *io, int fh)
{
	return io->ops->close(io, fh);
}

/** Current size of the file in bytes. @return 0 or -errno. */
static inline int
tern_io_size(struct tern_io *io, int fh, uint64_t *size)
{
	return io->ops->size(io, fh, size);
}

/**
 * Reserve space so the file is at least @p size bytes, reading as zeros past what was
 * written. @return 0; -ENOSPC when the space is not there (nothing changes).
 */
static inline int
tern_io_preallocate(struct tern_io *io, int fh, uint64_t size)
{
	return io->ops->preallocate(io, fh, size);
}

/** Cut (or extend with zeros) the file to @p size bytes. @return 0 or -errno. */
static inline int
tern_io_truncate(struct tern_io *io, int fh, uint64_t size)
{
	return io->ops->truncate(io, fh, size);
}

/** Read up to @p len bytes at @p off. @return bytes read (short only at end of file) or -errno. */
static inline ssize_t
tern_io_read(struct tern_io *io, int fh, void *buf, size_t len, uint64_t off)
{
	return io->ops->read(io, fh, buf, len, off);
}

/** Write all @p len bytes at @p off, synchronously (no sync). @return 0 or -errno. */
static inline int
tern_io_write(struct tern_io *io, int fh, const void *buf, size_t len, uint64_t off)
{
	return io->ops->write(io, fh, buf, len, off);
}

/** fdatasync the file, synchronously. @return 0 or -errno (-EIO). */
static inline int
tern_io_sync(struct tern_io *io, int fh)
{
	return io->ops->sync(io, fh);
}

/** Atomically rename @p from over @p to, durably (the directory is synced). */
static inline int
tern_io_rename(struct tern_io *io, const char *from, const char *to)
{
	return io->ops->rename(io, from, to);
}

/** Remove file @p name, durably. @return 0, -ENOENT or -errno. */
static inline int
tern_io_remove(struct tern_io *io, const char *name)
{
	return io->ops->remove(io, name);
}

/**
 * Call @p fn for each regular file in the home directory, in no particular order; a
 * non-zero return from @p fn stops the walk and is returned.
 */
static inline int
tern_io_list(struct tern_io *io, int (*fn)(void *arg, const char *name), void *arg)
{
	return io->ops->list(io, fn, arg);
}

/**
 * Register @p n buffers for tern_io_req.buf_index (replaces any earlier set; n = 0
 * unregisters). Drivers without the concept accept and ignore it. @return 0 or -errno.
 */
static inline int
tern_io_buf_register(struct tern_io *io, const struct iovec *iov, unsigned int n)
{
	return io->ops->buf_register(io, iov, n);
}

/** Queue @p req. @return 0; -EBUSY when the queue depth is reached (reap first); -EBADF. */
static inline int
tern_io_submit(struct tern_io *io, const struct tern_io_req *req)
{
	return io->ops->submit(io, req);
}

/** Hand queued requests to the kernel (one system call for all). @return number handed or -errno. */
static inline int
tern_io_flush(struct tern_io *io)
{
	return io->ops->flush(io);
}

/** Collect up to @p n finished requests without blocking. @return the number collected. */
static inline unsigned int
tern_io_reap(struct tern_io *io, struct tern_io_cpl *cpl, unsigned int n)
{
	return io->ops->reap(io, cpl, n);
}

/**
 * Block until at least one completion is ready to reap or @p timeout_ns passes. Off the
 * data path only. @return 0 (ready), -ETIMEDOUT, or -EAGAIN when nothing is in flight.
 */
static inline int
tern_io_wait(struct tern_io *io, uint64_t timeout_ns)
{
	return io->ops->wait(io, timeout_ns);
}

static inline void
tern_io_stats_get(struct tern_io *io, struct tern_io_stats *st)
{
	io->ops->stats_get(io, st);
}

/** Close every handle and free the instance; requests in flight are waited for. NULL is fine. */
static inline void
tern_io_destroy(struct tern_io *io)
{
	if (io != NULL)
		io->ops->destroy(io);
}

#ifdef __cplusplus
}
#endif

#endif /* TERN_IO_H */
