/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The in-memory storage driver: files live in memory, for tests and deterministic
 * simulation, with faults injected on command.
 *
 * Each file keeps two images: what has been written (reads see it) and what is durable
 * (what an fdatasync made safe). tern_io_mem_crash() models power loss: every file goes
 * back to its durable image, optionally keeping a torn prefix of the writes made since
 * (in write order, cut at any byte). Completions of asynchronous requests are delivered
 * at tern_io_reap() after tern_io_flush(), unless held (tern_io_mem_hold()), which lets
 * a test see what a caller does while its I/O is in flight. The instance survives
 * closes of its files: reopening a log on the same instance is a restart.
 */
#ifndef TERN_IO_MEM_H
#define TERN_IO_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "tern_io.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_io_mem_opts {
	size_t opts_size;
	unsigned int depth;  /**< requests in flight at most (default 64) */
	unsigned int files;  /**< open handles at most (default 64) */
	uint64_t capacity;   /**< bytes of all files together; 0 = unlimited */
	uint64_t seed;       /**< for torn crashes */
};

void tern_io_mem_opts_init(struct tern_io_mem_opts *o, size_t size);

/** Create an empty in-memory directory. @return 0, -EINVAL or -ENOMEM. */
int tern_io_mem_create(const struct tern_io_mem_opts *o, struct tern_io **out);

/** What a fault applies to. */
enum tern_io_mem_op {
	TERN_IO_MEM_OP_WRITE,       /**< asynchronous and synchronous writes */
	TERN_IO_MEM_OP_SYNC,        /**< fdatasync, linked or not */
	TERN_IO_MEM_OP_PREALLOCATE, /**< tern_io_preallocate */
	TERN_IO_MEM_OP_OPEN,        /**< tern_io_open with CREATE of a new file */
	TERN_IO_MEM_OP_RENAME,
	TERN_IO_MEM_OP_COUNT_,
};

/**
 * Make the operation of kind @p op fail with @p err (e.g. -EIO, -ENOSPC) after @p after
 * more successes, @p times times in a row (0 = every time from then on). A failed write
 * changes nothing; a failed sync makes nothing durable. Replaces an earlier fault of the
 * same kind; @p err 0 clears it.
 */
void tern_io_mem_fault(struct tern_io *io, enum tern_io_mem_op op, unsigned int after,
		       unsigned int times, int err);

/** Limit all files together to @p bytes (0 = unlimited): growth past it gets -ENOSPC. */
void tern_io_mem_set_capacity(struct tern_io *io, uint64_t bytes);

/** Bytes used by all files together (the larger of written and preallocated size). */
uint64_t tern_io_mem_used(struct tern_io *io);

/** Crash modes. */
enum tern_io_mem_crash_mode {
	TERN_IO_MEM_CRASH_CLEAN,  /**< keep only durable images: unsynced writes vanish */
	TERN_IO_MEM_CRASH_TORN,   /**< durable images plus a random prefix of unsynced writes */
	TERN_IO_MEM_CRASH_NONE,   /**< keep everything written (a process crash, not power loss) */
};

/**
 * Simulate a crash: close every handle, drop every request in flight (no completion) and
 * reset each file's content per @p mode. Faults and capacity are kept. @return the number
 * of unsynced bytes that were lost.
 */
uint64_t tern_io_mem_crash(struct tern_io *io, enum tern_io_mem_crash_mode mode);

/** When @p hold is set, flushed requests stay in flight until it is cleared. */
void tern_io_mem_hold(struct tern_io *io, int hold);

/** Requests submitted or flushed and not yet reaped. */
unsigned int tern_io_mem_inflight(struct tern_io *io);

/**
 * Direct access to a file's written image, as a test's or fuzzer's view of the disk.
 * tern_io_mem_file_get copies up to @p cap bytes and returns the file size (-ENOENT).
 * tern_io_mem_file_put replaces (creates) the file with @p len bytes, all durable.
 */
ssize_t tern_io_mem_file_get(struct tern_io *io, const char *name, void *buf, size_t cap);
int tern_io_mem_file_put(struct tern_io *io, const char *name, const void *buf, size_t len);

/** Flip bit @p bit (0-7) of byte @p off of file @p name, in both images. @return 0, -ENOENT, -ERANGE. */
int tern_io_mem_flip_bit(struct tern_io *io, const char *name, uint64_t off, unsigned int bit);

#ifdef __cplusplus
}
#endif

#endif /* TERN_IO_MEM_H */
