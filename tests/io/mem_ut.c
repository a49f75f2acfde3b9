/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tern_common.h>
#include <tern_heap.h>
#include <tern_io_mem.h>
#include <tern_prng.h>

#include "ut.h"

/* ---- helpers ---- */

static struct tern_io *
mem_new(unsigned int depth, uint64_t capacity, uint64_t seed)
{
	struct tern_io_mem_opts o;
	struct tern_io *io = NULL;

	tern_io_mem_opts_init(&o, sizeof(o));
	if (depth != 0)
		o.depth = depth;
	o.capacity = capacity;
	o.seed = seed;
	UT_EQ_INT(tern_io_mem_create(&o, &io), 0);
	TERN_CU_ASSERT_FATAL(io != NULL);
	return io;
}

static int
open_ok(struct tern_io *io, const char *name, int flags)
{
	int fh = -1;

	UT_EQ_INT(tern_io_open(io, name, flags, &fh), 0);
	TERN_CU_ASSERT_FATAL(fh >= 0);
	return fh;
}

static int
submit(struct tern_io *io, int fh, const void *buf, uint32_t len, uint64_t off, uint32_t flags,
       uint64_t ud)
{
	struct tern_io_req r = {
		.fh = fh,
		.buf_index = -1,
		.buf = buf,
		.len = len,
		.flags = flags,
		.off = off,
		.user_data = ud,
	};

	return tern_io_submit(io, &r);
}

/* Submit, flush and reap one request; returns its completion result. */
static int
run_one(struct tern_io *io, int fh, const void *buf, uint32_t len, uint64_t off, uint32_t flags)
{
	struct tern_io_cpl cpl[2];

	UT_EQ_INT(submit(io, fh, buf, len, off, flags, 77), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	TERN_CU_ASSERT_FATAL(tern_io_reap(io, cpl, 2) == 1);
	UT_EQ_INT(cpl[0].user_data, 77);
	return cpl[0].res;
}

/* Whole content of @p name as the mem driver holds it. */
static ssize_t
get(struct tern_io *io, const char *name, void *buf, size_t cap)
{
	return tern_io_mem_file_get(io, name, buf, cap);
}

/* ---- open ---- */

static void
mem_open_missing_file_without_create_is_enoent(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	int fh = -1;

	UT_EQ_INT(tern_io_open(io, "absent", 0, &fh), -ENOENT);
	UT_EQ_INT(tern_io_open(io, "absent", TERN_IO_RDONLY, &fh), -ENOENT);
	UT_EQ_INT(fh, -1);
	UT_EQ_INT(get(io, "absent", NULL, 0), -ENOENT);
	tern_io_destroy(io);
}

static void
mem_open_create_makes_an_empty_file_and_excl_refuses_an_existing_one(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	uint64_t size = 99;
	int fh, fh2 = -1;

	fh = open_ok(io, "a", TERN_IO_CREATE | TERN_IO_EXCL);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 0);
	UT_EQ_INT(tern_io_open(io, "a", TERN_IO_CREATE | TERN_IO_EXCL, &fh2), -EEXIST);
	/* CREATE alone opens the existing file; a plain open too. */
	fh2 = open_ok(io, "a", TERN_IO_CREATE);
	CU_ASSERT(fh2 != fh);
	UT_EQ_INT(tern_io_close(io, fh2), 0);
	fh2 = open_ok(io, "a", 0);
	UT_EQ_INT(tern_io_close(io, fh2), 0);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	UT_EQ_INT(tern_io_close(io, fh), -EBADF);
	UT_EQ_INT(tern_io_close(io, -1), -EBADF);
	UT_EQ_INT(tern_io_close(io, 1000), -EBADF);
	tern_io_destroy(io);
}

static void
mem_open_rejects_bad_names_and_flags(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char longname[TERN_IO_NAME_MAX + 1];
	int fh;

	memset(longname, 'x', sizeof(longname));
	longname[TERN_IO_NAME_MAX] = '\0';
	UT_EQ_INT(tern_io_open(io, longname, TERN_IO_CREATE, &fh), -EINVAL);
	longname[TERN_IO_NAME_MAX - 1] = '\0'; /* 63 chars + NUL fits */
	fh = open_ok(io, longname, TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	UT_EQ_INT(tern_io_open(io, "a/b", TERN_IO_CREATE, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, "", TERN_IO_CREATE, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, "..", TERN_IO_CREATE, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, NULL, TERN_IO_CREATE, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, "ok", TERN_IO_EXCL, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, "ok", 0x100 | TERN_IO_CREATE, &fh), -EINVAL);
	UT_EQ_INT(tern_io_rename(io, "a/b", "c"), -EINVAL);
	UT_EQ_INT(tern_io_remove(io, "a/b"), -EINVAL);
	tern_io_destroy(io);
}

static void
mem_open_fails_with_emfile_when_every_handle_is_taken(void)
{
	struct tern_io_mem_opts o;
	struct tern_io *io;
	int fh[3], extra;

	tern_io_mem_opts_init(&o, sizeof(o));
	o.files = 3;
	TERN_CU_ASSERT_FATAL(tern_io_mem_create(&o, &io) == 0);
	fh[0] = open_ok(io, "a", TERN_IO_CREATE);
	fh[1] = open_ok(io, "b", TERN_IO_CREATE);
	fh[2] = open_ok(io, "a", 0);
	UT_EQ_INT(tern_io_open(io, "c", TERN_IO_CREATE, &extra), -EMFILE);
	UT_EQ_INT(get(io, "c", NULL, 0), -ENOENT); /* the failed open created nothing */
	UT_EQ_INT(tern_io_close(io, fh[1]), 0);
	extra = open_ok(io, "c", TERN_IO_CREATE);
	UT_EQ_INT(extra, fh[1]);
	tern_io_destroy(io); /* closes the handles still open */
}

static void
mem_create_rejects_bad_options_and_survives_allocation_failure(void)
{
	struct tern_io_mem_opts o;
	struct tern_io *io = (struct tern_io *)&o;
	long n;
	int rc;

	UT_EQ_INT(tern_io_mem_create(NULL, NULL), -EINVAL);
	tern_io_mem_opts_init(&o, sizeof(o));
	o.depth = 0;
	UT_EQ_INT(tern_io_mem_create(&o, &io), -EINVAL);
	CU_ASSERT_PTR_NULL(io);
	tern_io_mem_opts_init(&o, sizeof(o));
	o.files = 0;
	UT_EQ_INT(tern_io_mem_create(&o, &io), -EINVAL);
	/* NULL options mean the defaults. */
	UT_EQ_INT(tern_io_mem_create(NULL, &io), 0);
	tern_io_destroy(io);
	tern_io_destroy(NULL);
	tern_io_mem_opts_init(&o, sizeof(o));
	for (n = 0;; n++) {
		ut_heap_fail_after(n);
		rc = tern_io_mem_create(&o, &io);
		ut_heap_fail_after(-1);
		if (rc == 0)
			break;
		UT_EQ_INT(rc, -ENOMEM);
		UT_EQ_INT(ut_heap_live(), 0);
	}
	CU_ASSERT(n >= 3);
	tern_io_destroy(io);
}

/* ---- synchronous data ---- */

static void
mem_write_then_read_back_and_short_read_only_at_end(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[32];
	uint64_t size;
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "hello world", 11, 0), 0);
	UT_EQ_INT(tern_io_write(io, fh, "XY", 2, 20), 0); /* hole 11..20 reads as zeros */
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 22);
	memset(buf, 0x55, sizeof(buf));
	UT_EQ_INT(tern_io_read(io, fh, buf, sizeof(buf), 0), 22);
	CU_ASSERT(memcmp(buf, "hello world", 11) == 0);
	CU_ASSERT(buf[11] == 0 && buf[19] == 0);
	CU_ASSERT(memcmp(buf + 20, "XY", 2) == 0);
	UT_EQ_INT(tern_io_read(io, fh, buf, 5, 6), 5);
	CU_ASSERT(memcmp(buf, "world", 5) == 0);
	UT_EQ_INT(tern_io_read(io, fh, buf, 5, 22), 0);
	UT_EQ_INT(tern_io_read(io, fh, buf, 5, 1000), 0);
	UT_EQ_INT(tern_io_read(io, fh + 1, buf, 5, 0), -EBADF);
	tern_io_destroy(io);
}

static void
mem_rdonly_handle_reads_but_refuses_writes(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char c = 0;
	int fh;

	UT_EQ_INT(tern_io_mem_file_put(io, "r", "abc", 3), 0);
	fh = open_ok(io, "r", TERN_IO_RDONLY);
	UT_EQ_INT(tern_io_read(io, fh, &c, 1, 1), 1);
	UT_EQ_INT(c, 'b');
	UT_EQ_INT(tern_io_write(io, fh, "x", 1, 0), -EBADF);
	UT_EQ_INT(tern_io_truncate(io, fh, 0), -EBADF);
	UT_EQ_INT(tern_io_preallocate(io, fh, 100), -EBADF);
	UT_EQ_INT(submit(io, fh, "x", 1, 0, 0, 1), -EBADF);
	UT_EQ_INT(tern_io_sync(io, fh), 0);
	UT_EQ_INT(get(io, "r", &c, 1), 3);
	UT_EQ_INT(c, 'a');
	tern_io_destroy(io);
}

/* ---- asynchronous requests ---- */

static void
mem_linked_write_sync_completes_once_and_is_durable(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	struct tern_io_cpl cpl[4];
	char buf[8];
	int fh;

	fh = open_ok(io, "log", TERN_IO_CREATE);
	UT_EQ_INT(submit(io, fh, "durable", 7, 0, TERN_IO_REQ_SYNC, 42), 0);
	UT_EQ_INT(tern_io_mem_inflight(io), 1);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(tern_io_reap(io, cpl, 4), 1);
	UT_EQ_INT(cpl[0].user_data, 42);
	UT_EQ_INT(cpl[0].res, 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 4), 0); /* the write and the sync: one completion */
	UT_EQ_INT(tern_io_mem_inflight(io), 0);
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 0);
	UT_EQ_INT(get(io, "log", buf, sizeof(buf)), 7);
	CU_ASSERT(memcmp(buf, "durable", 7) == 0);
	tern_io_destroy(io);
}

static void
mem_completions_come_only_after_flush_in_submission_order(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	static const char data[] = "abcd";
	struct tern_io_cpl cpl[8];
	unsigned int i;
	char buf[4];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	for (i = 0; i < 4; i++)
		UT_EQ_INT(submit(io, fh, &data[i], 1, i, 0, 100 + i), 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 8), 0);
	UT_EQ_INT(tern_io_wait(io, 1000), -EAGAIN); /* queued, not flushed: nothing in flight */
	UT_EQ_INT(get(io, "f", NULL, 0), 0);	    /* not executed before the flush */
	UT_EQ_INT(tern_io_flush(io), 4);
	UT_EQ_INT(tern_io_flush(io), 0);
	UT_EQ_INT(tern_io_wait(io, 1000), 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 3), 3);
	UT_EQ_INT(tern_io_reap(io, cpl + 3, 8), 1);
	for (i = 0; i < 4; i++) {
		UT_EQ_INT(cpl[i].user_data, 100 + i);
		UT_EQ_INT(cpl[i].res, 0);
	}
	UT_EQ_INT(get(io, "f", buf, 4), 4);
	CU_ASSERT(memcmp(buf, "abcd", 4) == 0);
	UT_EQ_INT(tern_io_wait(io, 1000), -EAGAIN);
	tern_io_destroy(io);
}

static void
mem_sync_only_request_makes_earlier_writes_durable(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[8];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(run_one(io, fh, "abc", 3, 0, 0), 0);
	UT_EQ_INT(tern_io_write(io, fh, "def", 3, 3), 0);
	UT_EQ_INT(run_one(io, fh, NULL, 0, 0, TERN_IO_REQ_SYNC), 0);
	UT_EQ_INT(tern_io_write(io, fh, "gh", 2, 6), 0); /* after the sync: not durable */
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 2);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 6);
	CU_ASSERT(memcmp(buf, "abcdef", 6) == 0);
	tern_io_destroy(io);
}

static void
mem_submit_returns_ebusy_at_depth_until_reaped(void)
{
	struct tern_io *io = mem_new(4, 0, 0);
	struct tern_io_cpl cpl[4];
	unsigned int i;
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	for (i = 0; i < 4; i++)
		UT_EQ_INT(submit(io, fh, "x", 1, i, 0, i), 0);
	UT_EQ_INT(submit(io, fh, "x", 1, 9, 0, 9), -EBUSY);
	UT_EQ_INT(tern_io_flush(io), 4);
	/* Finished but not reaped still counts against the depth. */
	UT_EQ_INT(submit(io, fh, "x", 1, 9, 0, 9), -EBUSY);
	UT_EQ_INT(tern_io_reap(io, cpl, 1), 1);
	UT_EQ_INT(submit(io, fh, "x", 1, 9, 0, 9), 0);
	UT_EQ_INT(submit(io, fh, "x", 1, 9, 0, 9), -EBUSY);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(tern_io_reap(io, cpl, 4), 4);
	UT_EQ_INT(cpl[3].user_data, 9);
	tern_io_destroy(io);
}

static void
mem_submit_rejects_malformed_requests(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	struct tern_io_req r = {.buf_index = -1, .buf = "x", .len = 1};
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	r.fh = fh + 1;
	UT_EQ_INT(tern_io_submit(io, &r), -EBADF);
	r.fh = fh;
	r.len = 0; /* neither data nor sync */
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL);
	r.len = 1;
	r.flags = 0x80;
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL);
	r.flags = 0;
	r.buf = NULL;
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL);
	r.buf = "x";
	r.buf_index = 0; /* nothing registered */
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL);
	UT_EQ_INT(tern_io_mem_inflight(io), 0);
	tern_io_destroy(io);
}

static void
mem_close_with_requests_in_flight_is_ebusy(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	struct tern_io_cpl cpl;
	int fh, other;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	other = open_ok(io, "g", TERN_IO_CREATE);
	UT_EQ_INT(submit(io, fh, "x", 1, 0, 0, 1), 0);
	UT_EQ_INT(tern_io_close(io, fh), -EBUSY);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(tern_io_close(io, fh), -EBUSY); /* done, not yet reaped */
	UT_EQ_INT(tern_io_close(io, other), 0);
	UT_EQ_INT(tern_io_reap(io, &cpl, 1), 1);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	tern_io_destroy(io);
}

static void
mem_registered_buffer_writes_must_lie_inside_the_buffer(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	static char pool[2][64];
	struct iovec iov[2] = {{pool[0], 64}, {pool[1], 64}};
	struct tern_io_req r = {.buf_index = 1, .len = 8, .off = 0, .user_data = 5};
	struct tern_io_cpl cpl;
	char buf[8];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_buf_register(io, iov, 2), 0);
	memcpy(pool[1] + 56, "fixedbuf", 8);
	r.fh = fh;
	r.buf = pool[1] + 56;
	UT_EQ_INT(tern_io_submit(io, &r), 0);
	UT_EQ_INT(tern_io_buf_register(io, NULL, 0), -EBUSY); /* a request uses the set */
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(tern_io_reap(io, &cpl, 1), 1);
	UT_EQ_INT(cpl.res, 0);
	UT_EQ_INT(get(io, "f", buf, 8), 8);
	CU_ASSERT(memcmp(buf, "fixedbuf", 8) == 0);
	r.buf = pool[1] + 57; /* one byte past the end */
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL);
	r.buf = pool[0]; /* in buffer 0, not 1 */
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL);
	r.buf_index = 2;
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL);
	UT_EQ_INT(tern_io_buf_register(io, NULL, 1), -EINVAL);
	UT_EQ_INT(tern_io_buf_register(io, NULL, 0), 0);
	r.buf_index = 0;
	UT_EQ_INT(tern_io_submit(io, &r), -EINVAL); /* unregistered */
	tern_io_destroy(io);
}

static void
mem_stats_count_requests_writes_syncs_bytes_and_errors(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	struct tern_io_stats st;
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(run_one(io, fh, "abcd", 4, 0, TERN_IO_REQ_SYNC), 0);
	UT_EQ_INT(run_one(io, fh, NULL, 0, 0, TERN_IO_REQ_SYNC), 0);
	UT_EQ_INT(tern_io_write(io, fh, "xyz", 3, 4), 0);
	UT_EQ_INT(tern_io_sync(io, fh), 0);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_WRITE, 0, 1, -EIO);
	UT_EQ_INT(run_one(io, fh, "q", 1, 0, 0), -EIO);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.submitted, 3);
	UT_EQ_INT(st.completed, 3);
	UT_EQ_INT(st.errors, 1);
	UT_EQ_INT(st.writes, 3); /* async, sync, and the failed one */
	UT_EQ_INT(st.syncs, 3);
	UT_EQ_INT(st.bytes, 7);
	UT_EQ_INT(st.flushes, 3);
	UT_EQ_INT(st.short_writes, 0);
	tern_io_destroy(io);
}

/* ---- file management ---- */

static void
mem_preallocate_sets_the_size_and_reads_zeros(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	uint8_t buf[4096];
	uint64_t size;
	unsigned int i, nonzero = 0;
	int fh;

	fh = open_ok(io, "seg", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "head", 4, 0), 0);
	UT_EQ_INT(tern_io_preallocate(io, fh, 4096), 0);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 4096);
	UT_EQ_INT(tern_io_mem_used(io), 4096);
	UT_EQ_INT(tern_io_read(io, fh, buf, sizeof(buf), 0), 4096);
	CU_ASSERT(memcmp(buf, "head", 4) == 0);
	for (i = 4; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	UT_EQ_INT(nonzero, 0);
	/* Smaller than the file: nothing changes. */
	UT_EQ_INT(tern_io_preallocate(io, fh, 100), 0);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 4096);
	tern_io_destroy(io);
}

static void
mem_truncate_cuts_and_extends_with_zeros(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[16];
	uint64_t size;
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "0123456789", 10, 0), 0);
	UT_EQ_INT(tern_io_truncate(io, fh, 4), 0);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 4);
	UT_EQ_INT(tern_io_truncate(io, fh, 8), 0);
	memset(buf, 0x55, sizeof(buf));
	UT_EQ_INT(tern_io_read(io, fh, buf, sizeof(buf), 0), 8);
	CU_ASSERT(memcmp(buf, "0123\0\0\0\0", 8) == 0);
	tern_io_destroy(io);
}

static void
mem_rename_replaces_the_target_and_keeps_open_handles_working(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[8];
	int fh, old;

	UT_EQ_INT(tern_io_mem_file_put(io, "cur", "old", 3), 0);
	old = open_ok(io, "cur", TERN_IO_RDONLY);
	fh = open_ok(io, "tmp", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "new", 3, 0), 0);
	UT_EQ_INT(tern_io_rename(io, "tmp", "cur"), 0);
	UT_EQ_INT(get(io, "tmp", NULL, 0), -ENOENT);
	UT_EQ_INT(get(io, "cur", buf, 3), 3);
	CU_ASSERT(memcmp(buf, "new", 3) == 0);
	/* The replaced file lives on through its handle, like an unlinked inode. */
	UT_EQ_INT(tern_io_read(io, old, buf, 3, 0), 3);
	CU_ASSERT(memcmp(buf, "old", 3) == 0);
	UT_EQ_INT(tern_io_mem_used(io), 6);
	UT_EQ_INT(tern_io_close(io, old), 0);
	UT_EQ_INT(tern_io_mem_used(io), 3);
	/* The renamed handle writes to the new name. */
	UT_EQ_INT(tern_io_write(io, fh, "N", 1, 0), 0);
	UT_EQ_INT(get(io, "cur", buf, 3), 3);
	CU_ASSERT(memcmp(buf, "New", 3) == 0);
	UT_EQ_INT(tern_io_rename(io, "cur", "cur"), 0);
	UT_EQ_INT(tern_io_rename(io, "absent", "x"), -ENOENT);
	tern_io_destroy(io);
}

static void
mem_remove_deletes_the_name_and_is_enoent_after(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	UT_EQ_INT(tern_io_remove(io, "f"), 0);
	UT_EQ_INT(tern_io_remove(io, "f"), -ENOENT);
	UT_EQ_INT(tern_io_open(io, "f", 0, &fh), -ENOENT);
	tern_io_destroy(io);
}

struct seen {
	unsigned int n;
	char names[8][TERN_IO_NAME_MAX];
	unsigned int stop_after;
};

static int
collect(void *arg, const char *name)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->names[s->n], TERN_IO_NAME_MAX, "%s", name);
	s->n++;
	return s->stop_after != 0 && s->n == s->stop_after ? 123 : 0;
}

static int
seen_has(const struct seen *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->names[i], name) == 0)
			return 1;
	return 0;
}

/* A walk callback that removes every file it is shown. */
static int
remove_each(void *arg, const char *name)
{
	return tern_io_remove(arg, name);
}

static void
mem_list_reports_every_file_and_stops_on_nonzero(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	struct seen s = {0};
	int fh;

	UT_EQ_INT(tern_io_list(io, collect, &s), 0);
	UT_EQ_INT(s.n, 0);
	fh = open_ok(io, "a", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	UT_EQ_INT(tern_io_mem_file_put(io, "b", "", 0), 0);
	UT_EQ_INT(tern_io_mem_file_put(io, "c", "x", 1), 0);
	UT_EQ_INT(tern_io_remove(io, "b"), 0);
	UT_EQ_INT(tern_io_list(io, collect, &s), 0);
	UT_EQ_INT(s.n, 2);
	CU_ASSERT(seen_has(&s, "a") && seen_has(&s, "c") && !seen_has(&s, "b"));
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	UT_EQ_INT(tern_io_list(io, collect, &s), 123);
	UT_EQ_INT(s.n, 1);
	/* The callback may change the directory. */
	UT_EQ_INT(tern_io_list(io, remove_each, io), 0);
	memset(&s, 0, sizeof(s));
	UT_EQ_INT(tern_io_list(io, collect, &s), 0);
	UT_EQ_INT(s.n, 0);
	tern_io_destroy(io);
}

/* ---- faults ---- */

static void
mem_fault_on_write_fails_the_request_and_leaves_the_file_unchanged(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[8];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(run_one(io, fh, "abcd", 4, 0, TERN_IO_REQ_SYNC), 0);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_WRITE, 0, 1, -EIO);
	UT_EQ_INT(run_one(io, fh, "XXXXXX", 6, 2, TERN_IO_REQ_SYNC), -EIO);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 4);
	CU_ASSERT(memcmp(buf, "abcd", 4) == 0);
	/* times = 1: the next write goes through. */
	UT_EQ_INT(tern_io_write(io, fh, "XX", 2, 2), 0);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 4);
	CU_ASSERT(memcmp(buf, "abXX", 4) == 0);
	tern_io_destroy(io);
}

static void
mem_fault_on_sync_fails_the_linked_request_and_makes_nothing_durable(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[8];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_SYNC, 0, 1, -EIO);
	UT_EQ_INT(run_one(io, fh, "abcd", 4, 0, TERN_IO_REQ_SYNC), -EIO);
	/* The write happened (reads see it) but nothing reached the durable image. */
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 4);
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 4);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 0);
	tern_io_destroy(io);
}

static void
mem_fault_fires_after_n_successes_for_times_in_a_row(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	int fh, i, results[7];

	fh = open_ok(io, "f", TERN_IO_CREATE);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_SYNC, 2, 3, -EIO);
	for (i = 0; i < 7; i++)
		results[i] = tern_io_sync(io, fh);
	UT_EQ_INT(results[0], 0);
	UT_EQ_INT(results[1], 0);
	UT_EQ_INT(results[2], -EIO);
	UT_EQ_INT(results[3], -EIO);
	UT_EQ_INT(results[4], -EIO);
	UT_EQ_INT(results[5], 0);
	UT_EQ_INT(results[6], 0);
	/* times = 0: every time from then on, until cleared with err 0. */
	tern_io_mem_fault(io, TERN_IO_MEM_OP_SYNC, 0, 0, -ENOSPC);
	for (i = 0; i < 5; i++)
		UT_EQ_INT(tern_io_sync(io, fh), -ENOSPC);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_SYNC, 0, 0, 0);
	UT_EQ_INT(tern_io_sync(io, fh), 0);
	/* Operations that fail for other reasons are not successes. */
	tern_io_mem_set_capacity(io, 4);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_WRITE, 1, 1, -EIO);
	UT_EQ_INT(tern_io_write(io, fh, "toolong", 7, 0), -ENOSPC);
	UT_EQ_INT(tern_io_write(io, fh, "ok", 2, 0), 0);
	UT_EQ_INT(tern_io_write(io, fh, "ok", 2, 0), -EIO);
	tern_io_destroy(io);
}

static void
mem_fault_on_preallocate_open_and_rename_changes_nothing(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	uint64_t size;
	int fh, fh2;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_PREALLOCATE, 0, 1, -ENOSPC);
	UT_EQ_INT(tern_io_preallocate(io, fh, 1 << 20), -ENOSPC);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 0);
	UT_EQ_INT(tern_io_mem_used(io), 0);
	UT_EQ_INT(tern_io_preallocate(io, fh, 1 << 20), 0);

	tern_io_mem_fault(io, TERN_IO_MEM_OP_OPEN, 0, 1, -EIO);
	UT_EQ_INT(tern_io_open(io, "new", TERN_IO_CREATE, &fh2), -EIO);
	UT_EQ_INT(get(io, "new", NULL, 0), -ENOENT);
	/* Opening an existing file is not a creation: the fault does not apply. */
	tern_io_mem_fault(io, TERN_IO_MEM_OP_OPEN, 0, 1, -EIO);
	fh2 = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh2), 0);
	UT_EQ_INT(tern_io_open(io, "new", TERN_IO_CREATE, &fh2), -EIO);

	tern_io_mem_fault(io, TERN_IO_MEM_OP_RENAME, 0, 1, -EIO);
	UT_EQ_INT(tern_io_rename(io, "f", "g"), -EIO);
	UT_EQ_INT(get(io, "g", NULL, 0), -ENOENT);
	UT_EQ_INT(get(io, "f", NULL, 0), 1 << 20);
	UT_EQ_INT(tern_io_rename(io, "f", "g"), 0);
	UT_EQ_INT(get(io, "g", NULL, 0), 1 << 20);
	tern_io_destroy(io);
}

/* ---- capacity ---- */

static void
mem_capacity_enospc_leaves_contents_unchanged(void)
{
	struct tern_io *io = mem_new(0, 10, 0);
	char buf[16];
	uint64_t size;
	int fh, other;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	other = open_ok(io, "g", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "12345678", 8, 0), 0);
	UT_EQ_INT(tern_io_write(io, other, "abc", 3, 0), -ENOSPC); /* 8 + 3 > 10 */
	UT_EQ_INT(tern_io_write(io, fh, "XYZ", 3, 8), -ENOSPC);
	UT_EQ_INT(run_one(io, fh, "XYZ", 3, 8, TERN_IO_REQ_SYNC), -ENOSPC);
	UT_EQ_INT(tern_io_truncate(io, fh, 11), -ENOSPC);
	UT_EQ_INT(tern_io_preallocate(io, other, 3), -ENOSPC);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 8);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 8);
	CU_ASSERT(memcmp(buf, "12345678", 8) == 0);
	UT_EQ_INT(get(io, "g", NULL, 0), 0);
	/* Overwrites and growth up to the limit are fine. */
	UT_EQ_INT(tern_io_write(io, fh, "XYZ", 3, 7), 0);
	UT_EQ_INT(tern_io_mem_used(io), 10);
	UT_EQ_INT(tern_io_write(io, fh, "x", 1, 10), -ENOSPC);
	UT_EQ_INT(tern_io_write(io, fh, "ab", 2, 0), 0);
	/* Space freed by a truncate or removal can be used again. */
	UT_EQ_INT(tern_io_truncate(io, fh, 2), 0);
	UT_EQ_INT(tern_io_write(io, other, "abc", 3, 0), 0);
	tern_io_mem_set_capacity(io, 0);
	UT_EQ_INT(tern_io_write(io, other, "big", 3, 1000), 0);
	tern_io_destroy(io);
}

/* ---- crash ---- */

static void
mem_crash_clean_keeps_only_what_was_synced(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[16];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "synced", 6, 0), 0);
	UT_EQ_INT(tern_io_sync(io, fh), 0);
	UT_EQ_INT(tern_io_write(io, fh, "LOST", 4, 2), 0);
	UT_EQ_INT(tern_io_write(io, fh, "tail", 4, 6), 0);
	UT_EQ_INT(tern_io_truncate(io, fh, 100), 0);
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 8);
	UT_EQ_INT(tern_io_close(io, fh), -EBADF); /* the crash closed every handle */
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 6);
	CU_ASSERT(memcmp(buf, "synced", 6) == 0);
	/* What the crash left is what is on disk: a second crash changes nothing. */
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 0);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 6);
	tern_io_destroy(io);
}

static void
mem_crash_none_keeps_every_write(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[16];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "abc", 3, 0), 0);
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_NONE), 0);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 3);
	CU_ASSERT(memcmp(buf, "abc", 3) == 0);
	/* A process crash does not sync: power loss after it still loses the data. */
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 3);
	UT_EQ_INT(get(io, "f", buf, sizeof(buf)), 0);
	tern_io_destroy(io);
}

static void
mem_crash_drops_requests_in_flight_without_completions(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	struct tern_io_cpl cpl[4];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(submit(io, fh, "done", 4, 0, TERN_IO_REQ_SYNC, 1), 0);
	UT_EQ_INT(tern_io_flush(io), 1); /* executed, completion not reaped */
	UT_EQ_INT(submit(io, fh, "queued", 6, 4, TERN_IO_REQ_SYNC, 2), 0);
	UT_EQ_INT(tern_io_mem_inflight(io), 2);
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 0);
	UT_EQ_INT(tern_io_mem_inflight(io), 0);
	UT_EQ_INT(tern_io_flush(io), 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 4), 0);
	UT_EQ_INT(get(io, "f", NULL, 0), 4); /* synced before the crash, never acknowledged */
	fh = open_ok(io, "f", 0);	     /* a restart reopens it */
	UT_EQ_INT(tern_io_close(io, fh), 0);
	tern_io_destroy(io);
}

/* Test model of one unsynced change. */
struct torn_op {
	int truncate; /* else a write */
	uint64_t off;
	uint32_t len;
	const char *data;
};

/* Apply @p ops to @p img (size @p *size), keeping @p keep units (a write's byte, a truncate). */
static uint64_t
torn_model(uint8_t *img, uint64_t *size, const struct torn_op *ops, unsigned int n, uint64_t keep)
{
	uint64_t kept = 0;
	unsigned int i;

	for (i = 0; i < n && keep > 0; i++) {
		const struct torn_op *op = &ops[i];
		uint64_t k;

		if (op->truncate) {
			if (op->off > *size)
				memset(img + *size, 0, op->off - *size);
			*size = op->off;
			keep--;
			continue;
		}
		k = TERN_MIN((uint64_t)op->len, keep);
		if (op->off > *size)
			memset(img + *size, 0, op->off - *size);
		memcpy(img + op->off, op->data, k);
		if (op->off + k > *size)
			*size = op->off + k;
		kept += k;
		keep -= k;
	}
	return kept;
}

static void
mem_crash_torn_leaves_the_durable_image_plus_a_prefix_of_unsynced_writes(void)
{
	static const char base[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	static const struct torn_op ops[] = {
		{0, 10, 20, "AAAAAAAAAAAAAAAAAAAA"},
		{0, 50, 30, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"},
		{1, 70, 0, NULL},
		{0, 0, 5, "CCCCC"},
		{0, 100, 10, "DDDDDDDDDD"},
	};
	const unsigned int nops = (unsigned int)TERN_DIM(ops);
	uint64_t units = 20 + 30 + 1 + 5 + 10, seed, total_bytes = 65;
	unsigned int hit[67] = {0}, distinct = 0, partial = 0, i;

	for (seed = 0; seed < 300; seed++) {
		struct tern_io *io = mem_new(0, 0, seed);
		uint8_t got[256], want[256];
		uint64_t lost, c, wsize;
		ssize_t n;
		int fh, match = -1;

		UT_EQ_INT(tern_io_mem_file_put(io, "f", base, 62), 0);
		fh = open_ok(io, "f", 0);
		for (i = 0; i < nops; i++) {
			if (ops[i].truncate)
				UT_EQ_INT(tern_io_truncate(io, fh, ops[i].off), 0);
			else
				UT_EQ_INT(
					tern_io_write(io, fh, ops[i].data, ops[i].len, ops[i].off),
					0);
		}
		lost = tern_io_mem_crash(io, TERN_IO_MEM_CRASH_TORN);
		n = get(io, "f", got, sizeof(got));
		TERN_CU_ASSERT_FATAL(n >= 0);
		for (c = 0; c <= units && match < 0; c++) {
			uint64_t kept;

			memcpy(want, base, 62);
			wsize = 62;
			kept = torn_model(want, &wsize, ops, nops, c);
			if (wsize == (uint64_t)n && memcmp(want, got, wsize) == 0 &&
			    lost == total_bytes - kept)
				match = (int)c;
		}
		if (match < 0)
			ut_note("seed %llu: torn crash left %zd bytes that are no prefix",
				(unsigned long long)seed, n);
		TERN_CU_ASSERT_FATAL(match >= 0);
		distinct += hit[match]++ == 0;
		/* A cut inside a write (not at an op boundary). */
		partial += match != 0 && match != 20 && match != 50 && match != 51 && match != 56 &&
			   match != 66;
		/* What survived is now durable. */
		UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 0);
		UT_EQ_INT(get(io, "f", want, sizeof(want)), n);
		CU_ASSERT(memcmp(want, got, (size_t)n) == 0);
		tern_io_destroy(io);
	}
	/* The cut is spread over the record, not stuck at one point. */
	CU_ASSERT(distinct >= 40);
	CU_ASSERT(partial >= 100);
	CU_ASSERT(hit[0] + hit[1] + hit[2] > 0 && hit[64] + hit[65] + hit[66] > 0);
}

static void
mem_crash_torn_replays_the_same_for_the_same_seed(void)
{
	uint8_t a[512], b[512];
	ssize_t na = -1, nb = -2, first = -1;
	int round, differs = 0;
	uint64_t seed;

	for (seed = 1; seed < 20; seed++) {
		for (round = 0; round < 2; round++) {
			struct tern_io *io = mem_new(0, 0, seed);
			struct tern_prng p;
			uint8_t data[64];
			int fh, i;

			tern_prng_init(&p, 99);
			fh = open_ok(io, "f", TERN_IO_CREATE);
			for (i = 0; i < 8; i++) {
				tern_prng_fill(&p, data, sizeof(data));
				UT_EQ_INT(
					tern_io_write(io, fh, data, sizeof(data), (uint64_t)i * 48),
					0);
			}
			tern_io_mem_crash(io, TERN_IO_MEM_CRASH_TORN);
			if (round == 0)
				na = get(io, "f", a, sizeof(a));
			else
				nb = get(io, "f", b, sizeof(b));
			tern_io_destroy(io);
		}
		UT_EQ_INT(na, nb);
		CU_ASSERT(na >= 0 && memcmp(a, b, (size_t)na) == 0);
		if (first < 0)
			first = na;
		differs += na != first;
	}
	CU_ASSERT(differs > 0);
}

/* ---- hold, direct access ---- */

static void
mem_hold_keeps_flushed_requests_in_flight_until_released(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	struct tern_io_cpl cpl[2];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	tern_io_mem_hold(io, 1);
	UT_EQ_INT(submit(io, fh, "abc", 3, 0, TERN_IO_REQ_SYNC, 7), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(tern_io_reap(io, cpl, 2), 0);
	UT_EQ_INT(tern_io_wait(io, 1000), -ETIMEDOUT);
	UT_EQ_INT(tern_io_mem_inflight(io), 1);
	UT_EQ_INT(get(io, "f", NULL, 0), 0); /* not written yet */
	tern_io_mem_hold(io, 0);
	UT_EQ_INT(get(io, "f", NULL, 0), 3);
	UT_EQ_INT(tern_io_wait(io, 1000), 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 2), 1);
	UT_EQ_INT(cpl[0].user_data, 7);
	UT_EQ_INT(cpl[0].res, 0);
	/* A crash while held drops the request: it never reached the disk. */
	tern_io_mem_hold(io, 1);
	UT_EQ_INT(submit(io, fh, "xyz", 3, 3, TERN_IO_REQ_SYNC, 8), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	tern_io_mem_crash(io, TERN_IO_MEM_CRASH_NONE);
	tern_io_mem_hold(io, 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 2), 0);
	UT_EQ_INT(get(io, "f", NULL, 0), 3);
	tern_io_destroy(io);
}

static void
mem_flip_bit_corrupts_both_images(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[4];
	int fh;

	UT_EQ_INT(tern_io_mem_file_put(io, "f", "AAAA", 4), 0);
	UT_EQ_INT(tern_io_mem_flip_bit(io, "f", 1, 0), 0);
	UT_EQ_INT(get(io, "f", buf, 4), 4);
	CU_ASSERT(memcmp(buf, "A@AA", 4) == 0);
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 0);
	UT_EQ_INT(get(io, "f", buf, 4), 4);
	CU_ASSERT(memcmp(buf, "A@AA", 4) == 0); /* durable too */
	/* An unsynced write over the byte carries the flip through a torn replay. */
	fh = open_ok(io, "f", 0);
	UT_EQ_INT(tern_io_write(io, fh, "BB", 2, 2), 0);
	UT_EQ_INT(tern_io_mem_flip_bit(io, "f", 3, 1), 0);
	CU_ASSERT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_TORN) <= 2);
	UT_EQ_INT(get(io, "f", buf, 4), 4);
	CU_ASSERT(buf[3] == ('A' ^ 2) || buf[3] == ('B' ^ 2));
	UT_EQ_INT(tern_io_mem_flip_bit(io, "f", 4, 0), -ERANGE);
	UT_EQ_INT(tern_io_mem_flip_bit(io, "f", 0, 8), -ERANGE);
	UT_EQ_INT(tern_io_mem_flip_bit(io, "g", 0, 0), -ENOENT);
	tern_io_destroy(io);
}

static void
mem_file_put_replaces_content_durably_and_get_truncates_to_cap(void)
{
	struct tern_io *io = mem_new(0, 0, 0);
	char buf[8];
	int fh;

	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "unsynced", 8, 0), 0);
	UT_EQ_INT(tern_io_mem_file_put(io, "f", "put", 3), 0);
	/* Open handles see the new content. */
	UT_EQ_INT(tern_io_read(io, fh, buf, sizeof(buf), 0), 3);
	CU_ASSERT(memcmp(buf, "put", 3) == 0);
	UT_EQ_INT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN), 0);
	memset(buf, 0, sizeof(buf));
	UT_EQ_INT(get(io, "f", buf, 2), 3);
	CU_ASSERT(buf[0] == 'p' && buf[1] == 'u' && buf[2] == 0);
	tern_io_mem_set_capacity(io, 4);
	UT_EQ_INT(tern_io_mem_file_put(io, "g", "12", 2), -ENOSPC);
	UT_EQ_INT(get(io, "g", NULL, 0), -ENOENT);
	UT_EQ_INT(tern_io_mem_file_put(io, "f", "1234", 4), 0);
	tern_io_destroy(io);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("mem_files", NULL, NULL);
	CU_ADD_TEST(s, mem_open_missing_file_without_create_is_enoent);
	CU_ADD_TEST(s, mem_open_create_makes_an_empty_file_and_excl_refuses_an_existing_one);
	CU_ADD_TEST(s, mem_open_rejects_bad_names_and_flags);
	CU_ADD_TEST(s, mem_open_fails_with_emfile_when_every_handle_is_taken);
	CU_ADD_TEST(s, mem_create_rejects_bad_options_and_survives_allocation_failure);
	CU_ADD_TEST(s, mem_write_then_read_back_and_short_read_only_at_end);
	CU_ADD_TEST(s, mem_rdonly_handle_reads_but_refuses_writes);
	CU_ADD_TEST(s, mem_preallocate_sets_the_size_and_reads_zeros);
	CU_ADD_TEST(s, mem_truncate_cuts_and_extends_with_zeros);
	CU_ADD_TEST(s, mem_rename_replaces_the_target_and_keeps_open_handles_working);
	CU_ADD_TEST(s, mem_remove_deletes_the_name_and_is_enoent_after);
	CU_ADD_TEST(s, mem_list_reports_every_file_and_stops_on_nonzero);
	CU_ADD_TEST(s, mem_file_put_replaces_content_durably_and_get_truncates_to_cap);

	s = CU_add_suite("mem_requests", NULL, NULL);
	CU_ADD_TEST(s, mem_linked_write_sync_completes_once_and_is_durable);
	CU_ADD_TEST(s, mem_completions_come_only_after_flush_in_submission_order);
	CU_ADD_TEST(s, mem_sync_only_request_makes_earlier_writes_durable);
	CU_ADD_TEST(s, mem_submit_returns_ebusy_at_depth_until_reaped);
	CU_ADD_TEST(s, mem_submit_rejects_malformed_requests);
	CU_ADD_TEST(s, mem_close_with_requests_in_flight_is_ebusy);
	CU_ADD_TEST(s, mem_registered_buffer_writes_must_lie_inside_the_buffer);
	CU_ADD_TEST(s, mem_stats_count_requests_writes_syncs_bytes_and_errors);
	CU_ADD_TEST(s, mem_hold_keeps_flushed_requests_in_flight_until_released);

	s = CU_add_suite("mem_faults", NULL, NULL);
	CU_ADD_TEST(s, mem_fault_on_write_fails_the_request_and_leaves_the_file_unchanged);
	CU_ADD_TEST(s, mem_fault_on_sync_fails_the_linked_request_and_makes_nothing_durable);
	CU_ADD_TEST(s, mem_fault_fires_after_n_successes_for_times_in_a_row);
	CU_ADD_TEST(s, mem_fault_on_preallocate_open_and_rename_changes_nothing);
	CU_ADD_TEST(s, mem_capacity_enospc_leaves_contents_unchanged);
	CU_ADD_TEST(s, mem_flip_bit_corrupts_both_images);

	s = CU_add_suite("mem_crash", NULL, NULL);
	CU_ADD_TEST(s, mem_crash_clean_keeps_only_what_was_synced);
	CU_ADD_TEST(s, mem_crash_none_keeps_every_write);
	CU_ADD_TEST(s, mem_crash_drops_requests_in_flight_without_completions);
	CU_ADD_TEST(s, mem_crash_torn_leaves_the_durable_image_plus_a_prefix_of_unsynced_writes);
	CU_ADD_TEST(s, mem_crash_torn_replays_the_same_for_the_same_seed);
	return tern_ut_run(argc, argv);
}
