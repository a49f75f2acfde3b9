/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The io_uring storage driver: the production driver of drivers/io/tern_io.h.
 *
 * Writes are queued as io_uring SQEs; a TERN_IO_REQ_SYNC request is a write SQE linked
 * (IOSQE_IO_LINK) to an IORING_FSYNC_DATASYNC SQE, so the fdatasync starts only when the
 * write has finished, in the same submission. Files are registered in a fixed-file table
 * and buffers registered with tern_io_buf_register() are written with write_fixed.
 * tern_io_flush() is one io_uring_submit(); tern_io_reap() peeks the CQ without a system
 * call. Synchronous calls use plain system calls (they are never on the data path).
 */
#ifndef TERN_IO_URING_H
#define TERN_IO_URING_H

#include <stddef.h>
#include <stdint.h>

#include "tern_io.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tern_io_uring_opts {
	size_t opts_size;
	const char *home;    /**< directory; created when missing */
	unsigned int depth;  /**< requests in flight at most (default 64) */
	unsigned int files;  /**< file handles at most (default 64) */
};

/** Fill @p o with defaults. */
void tern_io_uring_opts_init(struct tern_io_uring_opts *o, size_t size);

/**
 * Create a driver instance rooted at @p o->home.
 * @return 0; -EINVAL (bad options); -ENOTDIR; -ENOSYS or -EPERM when io_uring is not
 *   available (the error names the cause in a diagnostic); other -errno.
 */
int tern_io_uring_create(const struct tern_io_uring_opts *o, struct tern_io **out);

/**
 * An eventfd the kernel signals at every completion of @p io's ring, so a poll loop can
 * block (epoll, e.g. as a tern_net wake fd) and still see storage completions at once.
 * Made and registered on the first call; owned by @p io (closed by tern_io_destroy()).
 * Nobody has to read it when it is watched edge-triggered.
 * @return the fd; -EINVAL when @p io is not an io_uring instance; -errno.
 */
int tern_io_uring_eventfd(struct tern_io *io);

#ifdef __cplusplus
}
#endif

#endif /* TERN_IO_URING_H */
