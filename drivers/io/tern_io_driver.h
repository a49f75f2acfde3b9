/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * For storage driver authors: the argument checks every driver makes the same way, so
 * code tested over the mem driver behaves the same over uring.
 */
#ifndef TERN_IO_DRIVER_H
#define TERN_IO_DRIVER_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "tern_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest file offset (off_t). */
#define TERN_IO_OFF_MAX ((uint64_t)INT64_MAX)

/** A file name relative to the home directory: no '/', not "." or "..", not too long. */
static inline int
tern_io_name_check(const char *name)
{
	size_t n;

	if (name == NULL)
		return -EINVAL;
	n = strnlen(name, TERN_IO_NAME_MAX);
	if (n == 0 || n == TERN_IO_NAME_MAX || memchr(name, '/', n) != NULL)
		return -EINVAL;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

/**
 * The checks of tern_io_submit() after the handle's: flags, length, offset range, and a
 * registered buffer (of @p bufs, @p nbufs) that really holds the data. @return 0 or -EINVAL.
 */
static inline int
tern_io_req_check(const struct tern_io_req *req, const struct iovec *bufs, unsigned int nbufs)
{
	uintptr_t b, e;

	if ((req->flags & ~(TERN_IO_REQ_SYNC | TERN_IO_REQ_WRITEBACK)) != 0)
		return -EINVAL;
	if (req->len == 0)
		return (req->flags & TERN_IO_REQ_SYNC) ? 0 : -EINVAL;
	if (req->buf == NULL || req->off > TERN_IO_OFF_MAX - req->len)
		return -EINVAL;
	if (req->buf_index < 0)
		return 0;
	if ((unsigned int)req->buf_index >= nbufs)
		return -EINVAL;
	b = (uintptr_t)bufs[req->buf_index].iov_base;
	e = b + bufs[req->buf_index].iov_len;
	if ((uintptr_t)req->buf < b || (uintptr_t)req->buf + req->len > e)
		return -EINVAL;
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* TERN_IO_DRIVER_H */
