/* SPDX-License-Identifier: BSD-3-Clause */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#include <tern_common.h>
#include <tern_io_uring.h>

#include "ut.h"

/*
 * Fault hooks. These definitions take the place of the C library's and liburing's for the
 * driver linked into this program; unless a test arms them they pass straight through.
 */
static int fallocate_err;     /* fallocate fails with this errno */
static int fallocate_partial; /* ... after allocating half of what was asked */
static int setup_err;	      /* io_uring_queue_init_params returns this */
static int files_reg_err;     /* io_uring_register_files returns this */

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	if (fallocate_err != 0) {
		if (fallocate_partial)
			syscall(SYS_fallocate, fd, mode, off, len / 2);
		errno = fallocate_err;
		return -1;
	}
	return (int)syscall(SYS_fallocate, fd, mode, off, len);
}

/* fsync() calls on directories: the driver makes directory entries durable with them. */
static unsigned int dir_syncs;

int
fsync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		dir_syncs++;
	return (int)syscall(SYS_fsync, fd);
}

/* What the driver handed to the kernel: every SQE of every io_uring_submit() call. */
#define SPY_MAX 64
static struct {
	unsigned int submits; /* io_uring_submit() calls */
	unsigned int n;	      /* SQEs logged */
	struct io_uring_sqe sqe[SPY_MAX];
} spy;

static void
spy_reset(void)
{
	memset(&spy, 0, sizeof(spy));
}

int
io_uring_submit(struct io_uring *ring)
{
	int (*real)(struct io_uring *);
	unsigned int i;

	for (i = ring->sq.sqe_head; i != ring->sq.sqe_tail; i++)
		if (spy.n < SPY_MAX)
			spy.sqe[spy.n++] = ring->sq.sqes[i & ring->sq.ring_mask];
	spy.submits++;
	*(void **)&real = dlsym(RTLD_NEXT, "io_uring_submit");
	return real == NULL ? -ENOSYS : real(ring);
}

/*
 * When armed, io_uring_queue_exit() first gives late completions time to arrive and
 * records how many sit unreaped in the CQ: a driver that waited for everything in flight
 * leaves none.
 */
static int exit_probe;
static int exit_cq_ready = -1;

void
io_uring_queue_exit(struct io_uring *ring)
{
	void (*real)(struct io_uring *);

	if (exit_probe) {
		usleep(100000);
		exit_cq_ready = (int)io_uring_cq_ready(ring);
	}
	*(void **)&real = dlsym(RTLD_NEXT, "io_uring_queue_exit");
	if (real != NULL)
		real(ring);
}

int
io_uring_queue_init_params(unsigned int entries, struct io_uring *ring, struct io_uring_params *p)
{
	int (*real)(unsigned int, struct io_uring *, struct io_uring_params *);

	if (setup_err != 0)
		return setup_err;
	*(void **)&real = dlsym(RTLD_NEXT, "io_uring_queue_init_params");
	return real == NULL ? -ENOSYS : real(entries, ring, p);
}

int
io_uring_register_files(struct io_uring *ring, const int *files, unsigned int nr)
{
	int (*real)(struct io_uring *, const int *, unsigned int);

	if (files_reg_err != 0)
		return files_reg_err;
	*(void **)&real = dlsym(RTLD_NEXT, "io_uring_register_files");
	return real == NULL ? -ENOSYS : real(ring, files, nr);
}

/* ---- helpers ---- */

static char *home_base; /* a fresh directory per test */

static void
test_dir_new(void)
{
	home_base = ut_tmpdir();
	TERN_CU_ASSERT_FATAL(home_base != NULL);
}

static void
test_dir_done(void)
{
	ut_rmdir(home_base);
	home_base = NULL;
}

/* Path of @p name inside the test directory (static buffer). */
static const char *
path_of(const char *name)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", home_base, name);
	return p;
}

static struct tern_io *
uring_new_at(const char *home, unsigned int depth, unsigned int files)
{
	struct tern_io_uring_opts o;
	struct tern_io *io = NULL;

	tern_io_uring_opts_init(&o, sizeof(o));
	o.home = home;
	if (depth != 0)
		o.depth = depth;
	if (files != 0)
		o.files = files;
	UT_EQ_INT(tern_io_uring_create(&o, &io), 0);
	TERN_CU_ASSERT_FATAL(io != NULL);
	return io;
}

static struct tern_io *
uring_new(unsigned int depth)
{
	return uring_new_at(home_base, depth, 0);
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
submit_at(struct tern_io *io, int fh, int buf_index, const void *buf, uint32_t len, uint64_t off,
	  uint32_t flags, uint64_t ud)
{
	struct tern_io_req r = {
		.fh = fh,
		.buf_index = buf_index,
		.buf = buf,
		.len = len,
		.flags = flags,
		.off = off,
		.user_data = ud,
	};

	return tern_io_submit(io, &r);
}

static int
submit(struct tern_io *io, int fh, const void *buf, uint32_t len, uint64_t off, uint32_t flags,
       uint64_t ud)
{
	return submit_at(io, fh, -1, buf, len, off, flags, ud);
}

/* Wait and reap until @p want completions arrived (or a 5 s wait times out). */
static unsigned int
reap_n(struct tern_io *io, struct tern_io_cpl *cpl, unsigned int want)
{
	unsigned int got = 0;

	while (got < want) {
		int rc = tern_io_wait(io, 5 * 1000000000ULL);

		if (rc != 0) {
			ut_note("wait: %d with %u of %u completions", rc, got, want);
			break;
		}
		got += tern_io_reap(io, cpl + got, want - got);
	}
	return got;
}

/* Submit, flush and reap one request; returns its result. */
static int
run_one(struct tern_io *io, int fh, const void *buf, uint32_t len, uint64_t off, uint32_t flags)
{
	struct tern_io_cpl cpl;

	UT_EQ_INT(submit(io, fh, buf, len, off, flags, 77), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	TERN_CU_ASSERT_FATAL(reap_n(io, &cpl, 1) == 1);
	UT_EQ_INT(cpl.user_data, 77);
	return cpl.res;
}

/* Read the file straight from disk, bypassing the driver. */
static ssize_t
disk_read(const char *name, void *buf, size_t cap)
{
	int fd = open(path_of(name), O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, cap, 0);
	close(fd);
	return n;
}

static int
disk_exists(const char *name)
{
	struct stat st;

	return stat(path_of(name), &st) == 0;
}

/* Lower the file size limit (RLIMIT_FSIZE) to @p bytes; 0 restores the old limit. */
static void
fsize_limit(rlim_t bytes)
{
	static struct rlimit saved;
	static int have_saved;
	struct rlimit rl;

	if (bytes == 0) {
		if (have_saved)
			TERN_CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &saved) == 0);
		signal(SIGXFSZ, SIG_DFL);
		return;
	}
	if (!have_saved) {
		TERN_CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &saved) == 0);
		have_saved = 1;
	}
	signal(SIGXFSZ, SIG_IGN); /* past the limit: EFBIG, not a signal death */
	rl.rlim_cur = bytes;
	rl.rlim_max = saved.rlim_max;
	TERN_CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

/* ---- creation ---- */

static void
uring_create_makes_a_missing_home_directory(void)
{
	struct tern_io *io;
	struct stat st;
	char home[512];
	int fh;

	test_dir_new();
	snprintf(home, sizeof(home), "%s/home/", home_base);
	dir_syncs = 0;
	io = uring_new_at(home, 0, 0);
	UT_EQ_INT(dir_syncs, 1); /* the parent, for the new entry */
	TERN_CU_ASSERT_FATAL(stat(path_of("home"), &st) == 0);
	CU_ASSERT(S_ISDIR(st.st_mode));
	fh = open_ok(io, "f", TERN_IO_CREATE);
	CU_ASSERT(disk_exists("home/f"));
	UT_EQ_INT(tern_io_close(io, fh), 0);
	tern_io_destroy(io);
	/* An existing home is fine. */
	io = uring_new_at(home, 0, 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_create_rejects_bad_options_and_a_home_that_is_a_file(void)
{
	struct tern_io_uring_opts o;
	struct tern_io *io = (struct tern_io *)&o;
	int fd;

	test_dir_new();
	UT_EQ_INT(tern_io_uring_create(NULL, &io), -EINVAL);
	CU_ASSERT_PTR_NULL(io);
	tern_io_uring_opts_init(&o, sizeof(o));
	UT_EQ_INT(tern_io_uring_create(&o, &io), -EINVAL); /* no home */
	o.home = home_base;
	o.depth = 0;
	UT_EQ_INT(tern_io_uring_create(&o, &io), -EINVAL);
	o.depth = 1u << 20;
	UT_EQ_INT(tern_io_uring_create(&o, &io), -EINVAL);
	o.depth = 8;
	o.files = 0;
	UT_EQ_INT(tern_io_uring_create(&o, &io), -EINVAL);
	fd = open(path_of("plain"), O_CREAT | O_WRONLY, 0644);
	TERN_CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	o.files = 8;
	o.home = path_of("plain");
	ut_diag_capture(1);
	UT_EQ_INT(tern_io_uring_create(&o, &io), -ENOTDIR);
	CU_ASSERT(ut_diag_contains("Not a directory"));
	o.home = path_of("no/such/parent");
	UT_EQ_INT(tern_io_uring_create(&o, &io), -ENOENT);
	ut_diag_capture(0);
	test_dir_done();
}

static void
uring_create_frees_everything_when_an_allocation_fails(void)
{
	struct tern_io *io = NULL;
	struct tern_io_uring_opts o;
	long n;
	int rc;

	test_dir_new();
	tern_io_uring_opts_init(&o, sizeof(o));
	o.home = home_base;
	for (n = 0;; n++) {
		ut_heap_fail_after(n);
		rc = tern_io_uring_create(&o, &io);
		ut_heap_fail_after(-1);
		if (rc == 0)
			break;
		UT_EQ_INT(rc, -ENOMEM);
		UT_EQ_INT(ut_heap_live(), 0);
		TERN_CU_ASSERT_FATAL(n < 100);
	}
	CU_ASSERT(n >= 5);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_setup_failure_is_returned_and_reported_with_its_cause(void)
{
	struct tern_io_uring_opts o;
	struct tern_io *io = NULL;

	test_dir_new();
	tern_io_uring_opts_init(&o, sizeof(o));
	o.home = home_base;
	ut_diag_capture(1);
	setup_err = -EPERM;
	UT_EQ_INT(tern_io_uring_create(&o, &io), -EPERM);
	setup_err = 0;
	CU_ASSERT_PTR_NULL(io);
	CU_ASSERT(ut_diag_contains("io_uring setup"));
	CU_ASSERT(ut_diag_contains(strerror(EPERM)));
	CU_ASSERT(ut_diag_contains("io_uring_disabled"));
	ut_diag_capture(0);
	test_dir_done();
}

/* ---- open ---- */

static void
uring_open_create_excl_and_enoent(void)
{
	struct tern_io *io;
	uint64_t size = 9;
	int fh, fh2 = -1;

	test_dir_new();
	io = uring_new(0);
	UT_EQ_INT(tern_io_open(io, "f", 0, &fh2), -ENOENT);
	UT_EQ_INT(tern_io_open(io, "f", TERN_IO_RDONLY, &fh2), -ENOENT);
	CU_ASSERT(!disk_exists("f"));
	dir_syncs = 0;
	fh = open_ok(io, "f", TERN_IO_CREATE | TERN_IO_EXCL);
	CU_ASSERT(disk_exists("f"));
	UT_EQ_INT(dir_syncs, 1); /* a creation makes the directory entry durable */
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 0);
	UT_EQ_INT(tern_io_open(io, "f", TERN_IO_CREATE | TERN_IO_EXCL, &fh2), -EEXIST);
	fh2 = open_ok(io, "f", TERN_IO_CREATE);
	CU_ASSERT(fh2 != fh);
	UT_EQ_INT(dir_syncs, 1); /* opening an existing file creates nothing */
	UT_EQ_INT(tern_io_close(io, fh2), 0);
	fh2 = open_ok(io, "g", TERN_IO_CREATE);
	UT_EQ_INT(dir_syncs, 2);
	UT_EQ_INT(tern_io_close(io, fh2), 0);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	UT_EQ_INT(tern_io_close(io, fh), -EBADF);
	UT_EQ_INT(tern_io_close(io, -3), -EBADF);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_open_rejects_bad_names_flags_and_directories(void)
{
	char longname[TERN_IO_NAME_MAX + 1];
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	memset(longname, 'n', sizeof(longname));
	longname[TERN_IO_NAME_MAX] = '\0';
	UT_EQ_INT(tern_io_open(io, longname, TERN_IO_CREATE, &fh), -EINVAL);
	longname[TERN_IO_NAME_MAX - 1] = '\0';
	fh = open_ok(io, longname, TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	UT_EQ_INT(tern_io_open(io, "../escape", TERN_IO_CREATE, &fh), -EINVAL);
	CU_ASSERT(!disk_exists("../escape"));
	UT_EQ_INT(tern_io_open(io, "", TERN_IO_CREATE, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, ".", 0, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, "x", TERN_IO_EXCL, &fh), -EINVAL);
	UT_EQ_INT(tern_io_open(io, "x", 0x40, &fh), -EINVAL);
	TERN_CU_ASSERT_FATAL(mkdir(path_of("sub"), 0755) == 0);
	UT_EQ_INT(tern_io_open(io, "sub", TERN_IO_RDONLY, &fh), -EISDIR);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_open_fails_with_emfile_when_every_handle_is_taken(void)
{
	struct tern_io *io;
	int a, b, c;

	test_dir_new();
	io = uring_new_at(home_base, 4, 2);
	a = open_ok(io, "a", TERN_IO_CREATE);
	b = open_ok(io, "b", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_open(io, "c", TERN_IO_CREATE, &c), -EMFILE);
	CU_ASSERT(!disk_exists("c"));
	UT_EQ_INT(tern_io_close(io, a), 0);
	c = open_ok(io, "c", TERN_IO_CREATE);
	UT_EQ_INT(c, a);
	(void)b;
	tern_io_destroy(io); /* closes b and c */
	test_dir_done();
}

/* ---- data ---- */

static void
uring_write_then_read_back_and_short_read_only_at_end(void)
{
	struct tern_io *io;
	char buf[32];
	uint64_t size;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "hello world", 11, 0), 0);
	UT_EQ_INT(tern_io_write(io, fh, "XY", 2, 20), 0);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 22);
	memset(buf, 0x55, sizeof(buf));
	UT_EQ_INT(tern_io_read(io, fh, buf, sizeof(buf), 0), 22);
	CU_ASSERT(memcmp(buf, "hello world\0\0\0\0\0\0\0\0\0XY", 22) == 0);
	UT_EQ_INT(tern_io_read(io, fh, buf, 5, 6), 5);
	CU_ASSERT(memcmp(buf, "world", 5) == 0);
	UT_EQ_INT(tern_io_read(io, fh, buf, 5, 22), 0);
	UT_EQ_INT(tern_io_sync(io, fh), 0);
	UT_EQ_INT(tern_io_read(io, fh + 1, buf, 5, 0), -EBADF);
	UT_EQ_INT(disk_read("f", buf, sizeof(buf)), 22);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_rdonly_handle_reads_but_refuses_writes(void)
{
	struct tern_io *io;
	char c = 0;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "r", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "abc", 3, 0), 0);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	fh = open_ok(io, "r", TERN_IO_RDONLY);
	UT_EQ_INT(tern_io_read(io, fh, &c, 1, 2), 1);
	UT_EQ_INT(c, 'c');
	UT_EQ_INT(tern_io_write(io, fh, "x", 1, 0), -EBADF);
	UT_EQ_INT(tern_io_truncate(io, fh, 0), -EBADF);
	UT_EQ_INT(tern_io_preallocate(io, fh, 4096), -EBADF);
	UT_EQ_INT(submit(io, fh, "x", 1, 0, 0, 1), -EBADF);
	UT_EQ_INT(run_one(io, fh, NULL, 0, 0, TERN_IO_REQ_SYNC), 0); /* a sync is fine */
	tern_io_destroy(io);
	test_dir_done();
}

/* The completion eventfd is the same on every call and becomes readable at a completion. */
static void
uring_eventfd_signals_completions(void)
{
	struct tern_io_cpl cpl;
	struct tern_io *io;
	struct pollfd pfd;
	uint64_t cnt;
	int fd, fh;

	test_dir_new();
	io = uring_new(0);
	fd = tern_io_uring_eventfd(io);
	TERN_CU_ASSERT_FATAL(fd >= 0);
	UT_EQ_INT(tern_io_uring_eventfd(io), fd);
	pfd.fd = fd;
	pfd.events = POLLIN;
	UT_EQ_INT(poll(&pfd, 1, 0), 0); /* nothing completed yet */
	fh = open_ok(io, "log", TERN_IO_CREATE);
	UT_EQ_INT(submit(io, fh, "abc", 3, 0, TERN_IO_REQ_SYNC, 5), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(poll(&pfd, 1, 5000), 1);
	CU_ASSERT(read(fd, &cnt, sizeof(cnt)) == (ssize_t)sizeof(cnt) && cnt >= 1);
	TERN_CU_ASSERT_FATAL(reap_n(io, &cpl, 1) == 1);
	UT_EQ_INT(cpl.res, 0);
	tern_io_close(io, fh);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_linked_write_sync_completes_once(void)
{
	struct tern_io_cpl cpl[4];
	struct tern_io_stats st;
	struct tern_io *io;
	char buf[16];
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "log", TERN_IO_CREATE);
	spy_reset();
	UT_EQ_INT(submit(io, fh, "durable", 7, 0, TERN_IO_REQ_SYNC, 42), 0);
	UT_EQ_INT(spy.submits, 0); /* submit only queues */
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(spy.submits, 1); /* one io_uring_submit for the flush */
	/* A write on the fixed file linked to an fdatasync of it. */
	TERN_CU_ASSERT_FATAL(spy.n == 2);
	UT_EQ_INT(spy.sqe[0].opcode, IORING_OP_WRITE);
	UT_EQ_INT(spy.sqe[0].flags, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
	UT_EQ_INT(spy.sqe[0].fd, fh);
	UT_EQ_INT(spy.sqe[0].len, 7);
	UT_EQ_INT(spy.sqe[1].opcode, IORING_OP_FSYNC);
	UT_EQ_INT(spy.sqe[1].flags, IOSQE_FIXED_FILE);
	UT_EQ_INT(spy.sqe[1].fsync_flags, IORING_FSYNC_DATASYNC);
	UT_EQ_INT(spy.sqe[1].fd, fh);
	UT_EQ_INT(tern_io_wait(io, 5 * 1000000000ULL), 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 4), 1);
	UT_EQ_INT(spy.submits, 1); /* reaping submits nothing */
	UT_EQ_INT(cpl[0].user_data, 42);
	UT_EQ_INT(cpl[0].res, 0);
	/* Two CQEs (write, fdatasync) made one completion; nothing is left. */
	UT_EQ_INT(tern_io_reap(io, cpl, 4), 0);
	UT_EQ_INT(tern_io_wait(io, 1000000), -EAGAIN);
	UT_EQ_INT(disk_read("log", buf, sizeof(buf)), 7);
	CU_ASSERT(memcmp(buf, "durable", 7) == 0);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.submitted, 1);
	UT_EQ_INT(st.completed, 1);
	UT_EQ_INT(st.writes, 1);
	UT_EQ_INT(st.syncs, 1);
	UT_EQ_INT(st.bytes, 7);
	UT_EQ_INT(st.flushes, 1);
	UT_EQ_INT(st.errors, 0);
	tern_io_destroy(io);
	test_dir_done();
}

/*
 * How the driver issued one sync write of "x" at @p off: 1 as a single RWF_DSYNC write, 2
 * as a write linked to an fdatasync, -1 otherwise.
 */
static int
sync_write_shape(struct tern_io *io, int fh, uint64_t off)
{
	spy_reset();
	UT_EQ_INT(run_one(io, fh, "x", 1, off, TERN_IO_REQ_SYNC), 0);
	if (spy.n == 1 && spy.sqe[0].opcode == IORING_OP_WRITE &&
	    spy.sqe[0].rw_flags == RWF_DSYNC && !(spy.sqe[0].flags & IOSQE_IO_LINK))
		return 1;
	if (spy.n == 2 && spy.sqe[0].opcode == IORING_OP_WRITE && spy.sqe[0].rw_flags == 0 &&
	    (spy.sqe[0].flags & IOSQE_IO_LINK) && spy.sqe[1].opcode == IORING_OP_FSYNC)
		return 2;
	return -1;
}

static void
uring_sync_write_on_a_clean_file_is_one_dsync_write(void)
{
	struct tern_io_cpl cpl[2];
	struct tern_io_stats st;
	char buf[16];
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	/* Just opened: the page cache may hold what nobody synced, so a whole fdatasync. */
	UT_EQ_INT(sync_write_shape(io, fh, 0), 2);
	/* Now nothing unsynced is left: the next sync write syncs just itself. */
	UT_EQ_INT(sync_write_shape(io, fh, 1), 1);
	UT_EQ_INT(sync_write_shape(io, fh, 2), 1);
	/* A write without a sync leaves data only an fdatasync of the file covers. */
	UT_EQ_INT(run_one(io, fh, "y", 1, 3, 0), 0);
	UT_EQ_INT(sync_write_shape(io, fh, 4), 2);
	UT_EQ_INT(sync_write_shape(io, fh, 5), 1);
	/* So do a synchronous write, a preallocation and a truncation... */
	UT_EQ_INT(tern_io_write(io, fh, "z", 1, 6), 0);
	UT_EQ_INT(sync_write_shape(io, fh, 7), 2);
	UT_EQ_INT(tern_io_preallocate(io, fh, 4096), 0);
	UT_EQ_INT(sync_write_shape(io, fh, 8), 2);
	UT_EQ_INT(tern_io_truncate(io, fh, 4096), 0);
	UT_EQ_INT(sync_write_shape(io, fh, 9), 2);
	/* ... until a synchronous fdatasync with nothing in flight. */
	UT_EQ_INT(tern_io_write(io, fh, "z", 1, 10), 0);
	UT_EQ_INT(tern_io_sync(io, fh), 0);
	UT_EQ_INT(sync_write_shape(io, fh, 11), 1);
	/* Two in flight at once: the second may not rely on the first's data being synced. */
	spy_reset();
	UT_EQ_INT(submit(io, fh, "a", 1, 12, TERN_IO_REQ_SYNC, 1), 0);
	UT_EQ_INT(submit(io, fh, "b", 1, 13, TERN_IO_REQ_SYNC, 2), 0);
	UT_EQ_INT(tern_io_flush(io), 2);
	UT_EQ_INT(reap_n(io, cpl, 2), 2);
	TERN_CU_ASSERT_FATAL(spy.n == 3);
	UT_EQ_INT(spy.sqe[0].rw_flags, RWF_DSYNC);
	CU_ASSERT(spy.sqe[1].flags & IOSQE_IO_LINK);
	UT_EQ_INT(spy.sqe[2].opcode, IORING_OP_FSYNC);
	UT_EQ_INT(sync_write_shape(io, fh, 14), 1);
	/* A non-sync write in flight beside a sync write: the next one syncs the file. */
	spy_reset();
	UT_EQ_INT(submit(io, fh, "c", 1, 15, 0, 1), 0);
	UT_EQ_INT(submit(io, fh, "d", 1, 16, TERN_IO_REQ_SYNC, 2), 0);
	UT_EQ_INT(tern_io_flush(io), 2);
	UT_EQ_INT(reap_n(io, cpl, 2), 2);
	UT_EQ_INT(sync_write_shape(io, fh, 17), 2);
	UT_EQ_INT(disk_read("f", buf, sizeof(buf)), sizeof(buf));
	CU_ASSERT(memcmp(buf, "xxxyxxzxxxzxabxc", 16) == 0);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.dsync_writes, 6);
	UT_EQ_INT(st.errors, 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_failed_sync_write_leaves_the_file_unclean(void)
{
	static char data[8192];
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(sync_write_shape(io, fh, 0), 2);
	UT_EQ_INT(sync_write_shape(io, fh, 1), 1);
	/* Past RLIMIT_FSIZE the write fails (EFBIG): what reached the file is unknown. */
	fsize_limit(4096);
	UT_EQ_INT(run_one(io, fh, data, sizeof(data), 8192, TERN_IO_REQ_SYNC), -EFBIG);
	fsize_limit(0);
	UT_EQ_INT(sync_write_shape(io, fh, 2), 2);
	UT_EQ_INT(sync_write_shape(io, fh, 3), 1);
	tern_io_destroy(io);
	test_dir_done();
}

/*
 * One try of the scenario below: a small sync request (alone, so one DSYNC write) and a big
 * one (linked write + fdatasync, since the small one is in flight), under RLIMIT_FSIZE @p lim
 * so the big write comes back short. Returns 1 when the small request's completion was reaped
 * before the big one's short completion was seen, so the file looked clean when the remainder
 * was built, and the SQEs the driver made are in the spy; 0 when the completions came in the
 * other order, which says nothing (the caller tries again).
 */
static int
short_write_after_clean_try(const uint8_t *data, uint32_t big, uint32_t lim)
{
	struct tern_io_cpl cpl[2];
	struct tern_io_stats st;
	unsigned int got = 0;
	struct tern_io *io;
	struct stat sb;
	int fh, spins, rc = 0;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(sync_write_shape(io, fh, 0), 2); /* clean from here */
	fsize_limit(lim);
	spy_reset();
	UT_EQ_INT(submit(io, fh, "a", 1, 100, TERN_IO_REQ_SYNC, 1), 0); /* alone: DSYNC */
	UT_EQ_INT(submit(io, fh, data, big, 0, TERN_IO_REQ_SYNC, 2), 0);     /* linked */
	UT_EQ_INT(tern_io_flush(io), 2);
	/* Reap the small one as soon as it is in, while the big write still copies. */
	for (spins = 0; got == 0 && spins < 100000000; spins++)
		got = tern_io_reap(io, cpl, 1);
	UT_EQ_INT(got, 1);
	tern_io_stats_get(io, &st);
	if (got == 1 && cpl[0].user_data == 1 && st.short_writes == 0) {
		/*
		 * The remainder is built and submitted when the short completion is reaped,
		 * which is after the limit is lifted: wait until the write has met it.
		 */
		for (spins = 0; spins < 5000; spins++) {
			TERN_CU_ASSERT_FATAL(stat(path_of("f"), &sb) == 0);
			if ((uint64_t)sb.st_size >= lim)
				break;
			usleep(1000);
		}
		CU_ASSERT((uint64_t)sb.st_size >= lim);
		rc = 1;
	}
	fsize_limit(0);
	UT_EQ_INT(reap_n(io, cpl + got, 2 - got), 2 - got);
	if (rc == 1) {
		UT_EQ_INT(cpl[0].res, 0);
		UT_EQ_INT(cpl[1].user_data, 2);
		UT_EQ_INT(cpl[1].res, 0);
		tern_io_stats_get(io, &st);
		UT_EQ_INT(st.short_writes, 1);
	}
	tern_io_destroy(io);
	test_dir_done();
	return rc;
}

/*
 * A sync request whose first round was a linked write + fdatasync and whose write came
 * back short must sync again after its remainder, even if the file looks clean by then
 * (another sync request completed meanwhile): an RWF_DSYNC remainder would leave the first
 * part, whose fdatasync was cancelled, unsynced. Which completion comes first is up to the
 * kernel (a slow disk finishes the small DSYNC write after the big copy), so tries that saw
 * the other order are run again.
 */
static void
uring_short_linked_write_is_continued_with_an_fdatasync_not_dsync(void)
{
	enum { BIG = 48u << 20, LIM = 32u << 20, TRIES = 20 };
	uint8_t *data = malloc(BIG);
	unsigned int i, n_dsync = 0;
	int t;

	TERN_CU_ASSERT_FATAL(data != NULL);
	memset(data, 'b', BIG);
	for (t = 0; t < TRIES; t++)
		if (short_write_after_clean_try(data, BIG, LIM) == 1)
			break;
	free(data);
	if (t == TRIES)
		ut_note("in %d tries the small sync never completed before the big write's copy",
			TRIES);
	TERN_CU_ASSERT_FATAL(t < TRIES);
	/* Only the first SQE may be a DSYNC write; the remainder is linked to an fdatasync. */
	TERN_CU_ASSERT_FATAL(spy.n >= 5);
	for (i = 0; i < spy.n; i++)
		n_dsync += spy.sqe[i].opcode == IORING_OP_WRITE && spy.sqe[i].rw_flags == RWF_DSYNC;
	UT_EQ_INT(n_dsync, 1);
	UT_EQ_INT(spy.sqe[spy.n - 2].opcode, IORING_OP_WRITE);
	CU_ASSERT(spy.sqe[spy.n - 2].flags & IOSQE_IO_LINK);
	UT_EQ_INT(spy.sqe[spy.n - 1].opcode, IORING_OP_FSYNC);
}

/* A writeback start runs after its request completed: closing the handle waits for it. */
static void
uring_close_waits_for_the_writeback_of_a_reaped_write(void)
{
	static uint8_t data[65536];
	struct tern_io *io;
	int fh, i;

	test_dir_new();
	io = uring_new(0);
	memset(data, 'w', sizeof(data));
	ut_diag_capture(1);
	for (i = 0; i < 200; i++) {
		fh = open_ok(io, i % 2 ? "f" : "g", TERN_IO_CREATE);
		UT_EQ_INT(run_one(io, fh, data, sizeof(data), 0, TERN_IO_REQ_WRITEBACK), 0);
		UT_EQ_INT(tern_io_close(io, fh), 0);
	}
	CU_ASSERT(!ut_diag_contains("writeback"));
	ut_diag_capture(0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_writeback_write_completes_with_its_write_and_starts_writeback(void)
{
	static uint8_t data[16384];
	struct tern_io_stats st;
	uint8_t back[sizeof(data)];
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	memset(data, 'w', sizeof(data));
	spy_reset();
	UT_EQ_INT(run_one(io, fh, data, sizeof(data), 0, TERN_IO_REQ_WRITEBACK), 0);
	/* The write, linked to a sync_file_range(WRITE) of the whole file. */
	TERN_CU_ASSERT_FATAL(spy.n == 2);
	UT_EQ_INT(spy.sqe[0].opcode, IORING_OP_WRITE);
	CU_ASSERT(spy.sqe[0].flags & IOSQE_IO_LINK);
	UT_EQ_INT(spy.sqe[1].opcode, IORING_OP_SYNC_FILE_RANGE);
	UT_EQ_INT(spy.sqe[1].sync_range_flags, SYNC_FILE_RANGE_WRITE);
	UT_EQ_INT(spy.sqe[1].off, 0);
	UT_EQ_INT(spy.sqe[1].len, 0);
	/* With a sync the writeback is pointless: the usual write + fdatasync. */
	spy_reset();
	UT_EQ_INT(run_one(io, fh, data, 512, 0, TERN_IO_REQ_WRITEBACK | TERN_IO_REQ_SYNC), 0);
	TERN_CU_ASSERT_FATAL(spy.n == 2);
	UT_EQ_INT(spy.sqe[1].opcode, IORING_OP_FSYNC);
	/* Closing right after the completion is fine: the writeback owns no request. */
	UT_EQ_INT(run_one(io, fh, data, sizeof(data), 4096, TERN_IO_REQ_WRITEBACK), 0);
	UT_EQ_INT(tern_io_read(io, fh, back, sizeof(back), 4096), sizeof(back));
	CU_ASSERT(memcmp(back, data, sizeof(data)) == 0);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.writebacks, 2);
	UT_EQ_INT(st.completed, 3);
	UT_EQ_INT(st.errors, 0);
	/* A writeback on its own is not a request. */
	fh = open_ok(io, "f", 0);
	UT_EQ_INT(submit(io, fh, NULL, 0, 0, TERN_IO_REQ_WRITEBACK, 1), -EINVAL);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_many_requests_each_complete_once_with_their_user_data(void)
{
	enum { N = 16 };
	static uint8_t data[N][512];
	struct tern_io_cpl cpl[N + 1];
	unsigned int i, seen[N] = {0}, bad = 0;
	uint8_t back[N * 512];
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(N);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	for (i = 0; i < N; i++) {
		memset(data[i], (int)i + 1, sizeof(data[i]));
		UT_EQ_INT(submit(io, fh, data[i], 512, (uint64_t)i * 512,
				 i % 2 ? TERN_IO_REQ_SYNC : 0, 1000 + i),
			  0);
	}
	UT_EQ_INT(tern_io_flush(io), N);
	UT_EQ_INT(reap_n(io, cpl, N), N);
	UT_EQ_INT(tern_io_reap(io, cpl + N, 1), 0);
	for (i = 0; i < N; i++) {
		uint64_t k = cpl[i].user_data - 1000;

		UT_EQ_INT(cpl[i].res, 0);
		if (k < N)
			seen[k]++;
		else
			bad++;
	}
	UT_EQ_INT(bad, 0);
	for (i = 0; i < N; i++)
		UT_EQ_INT(seen[i], 1);
	UT_EQ_INT(tern_io_read(io, fh, back, sizeof(back), 0), sizeof(back));
	for (i = 0; i < N; i++)
		CU_ASSERT(memcmp(back + i * 512, data[i], 512) == 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_sync_only_request_completes_with_one_fdatasync(void)
{
	struct tern_io_stats st;
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "abc", 3, 0), 0);
	UT_EQ_INT(run_one(io, fh, NULL, 0, 0, TERN_IO_REQ_SYNC), 0);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.syncs, 1);
	UT_EQ_INT(st.writes, 1); /* the synchronous one only */
	UT_EQ_INT(st.completed, 1);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_submit_returns_ebusy_at_depth_until_reaped(void)
{
	struct tern_io_cpl cpl[4];
	struct tern_io *io;
	unsigned int i;
	int fh;

	test_dir_new();
	io = uring_new(4);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	for (i = 0; i < 4; i++)
		UT_EQ_INT(submit(io, fh, "x", 1, i, TERN_IO_REQ_SYNC, i), 0);
	UT_EQ_INT(submit(io, fh, "x", 1, 9, 0, 9), -EBUSY);
	UT_EQ_INT(tern_io_flush(io), 4);
	UT_EQ_INT(reap_n(io, cpl, 1), 1);
	UT_EQ_INT(submit(io, fh, "x", 1, 9, 0, 9), 0);
	UT_EQ_INT(submit(io, fh, "x", 1, 9, 0, 9), -EBUSY);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(reap_n(io, cpl, 4), 4);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_submit_rejects_malformed_requests(void)
{
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(submit(io, fh + 1, "x", 1, 0, 0, 1), -EBADF);
	UT_EQ_INT(submit(io, fh, "x", 0, 0, 0, 1), -EINVAL);
	UT_EQ_INT(submit(io, fh, "x", 1, 0, 0x10, 1), -EINVAL);
	UT_EQ_INT(submit(io, fh, NULL, 1, 0, 0, 1), -EINVAL);
	UT_EQ_INT(submit_at(io, fh, 0, "x", 1, 0, 0, 1), -EINVAL); /* nothing registered */
	UT_EQ_INT(tern_io_flush(io), 0);
	UT_EQ_INT(tern_io_wait(io, 1000), -EAGAIN);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_wait_is_eagain_with_nothing_in_flight(void)
{
	struct tern_io_cpl cpl;
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	UT_EQ_INT(tern_io_wait(io, 1000), -EAGAIN);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(submit(io, fh, "x", 1, 0, 0, 1), 0);
	UT_EQ_INT(tern_io_wait(io, 1000), -EAGAIN); /* queued, not flushed */
	UT_EQ_INT(tern_io_reap(io, &cpl, 1), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(reap_n(io, &cpl, 1), 1);
	UT_EQ_INT(cpl.res, 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_close_with_requests_in_flight_is_ebusy(void)
{
	struct tern_io_cpl cpl;
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(submit(io, fh, "abc", 3, 0, TERN_IO_REQ_SYNC, 1), 0);
	UT_EQ_INT(tern_io_close(io, fh), -EBUSY);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(tern_io_close(io, fh), -EBUSY);
	UT_EQ_INT(reap_n(io, &cpl, 1), 1);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_destroy_waits_for_requests_in_flight(void)
{
	enum { N = 32, LEN = 65536 };
	uint8_t *data = malloc((size_t)N * LEN), *back = malloc((size_t)N * LEN);
	struct tern_io *io;
	unsigned int i;
	int fh;

	TERN_CU_ASSERT_FATAL(data != NULL && back != NULL);
	test_dir_new();
	io = uring_new(N);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	for (i = 0; i < N * LEN; i++)
		data[i] = (uint8_t)(i * 7 + i / LEN);
	for (i = 0; i < N; i++)
		UT_EQ_INT(submit(io, fh, data + (size_t)i * LEN, LEN, (uint64_t)i * LEN,
				 TERN_IO_REQ_SYNC, i),
			  0);
	UT_EQ_INT(tern_io_flush(io), N);
	exit_probe = 1;
	tern_io_destroy(io);
	exit_probe = 0;
	UT_EQ_INT(exit_cq_ready, 0); /* every completion was collected before the exit */
	/* Scribble over the buffers: a write still running now would put this on disk. */
	memset(data, 0xee, (size_t)N * LEN);
	UT_EQ_INT(disk_read("f", back, (size_t)N * LEN), N * LEN);
	for (i = 0; i < N * LEN; i++)
		if (back[i] != (uint8_t)(i * 7 + i / LEN))
			break;
	UT_EQ_INT(i, N * LEN);
	free(data);
	free(back);
	test_dir_done();
}

/* ---- short writes and errors ---- */

static void
uring_short_write_is_continued_and_completes_once(void)
{
	static uint8_t data[12288];
	struct tern_io_cpl cpl[2];
	struct tern_io_stats st;
	struct tern_io *io;
	uint8_t back[12288];
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	memset(data, 'w', sizeof(data));
	/* RLIMIT_FSIZE makes the kernel write only up to the limit: a short write. */
	fsize_limit(5000);
	spy_reset();
	UT_EQ_INT(submit(io, fh, data, sizeof(data), 0, TERN_IO_REQ_SYNC, 5), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	usleep(50000); /* let the short first write land while the limit holds */
	fsize_limit(0);
	UT_EQ_INT(reap_n(io, cpl, 1), 1);
	/* The second round writes the remainder, again linked to an fdatasync. */
	TERN_CU_ASSERT_FATAL(spy.n == 4);
	UT_EQ_INT(spy.sqe[2].opcode, IORING_OP_WRITE);
	UT_EQ_INT(spy.sqe[2].off, 5000);
	UT_EQ_INT(spy.sqe[2].len, sizeof(data) - 5000);
	UT_EQ_INT(spy.sqe[2].addr, (uintptr_t)(data + 5000));
	CU_ASSERT(spy.sqe[2].flags & IOSQE_IO_LINK);
	UT_EQ_INT(spy.sqe[3].opcode, IORING_OP_FSYNC);
	UT_EQ_INT(cpl[0].user_data, 5);
	UT_EQ_INT(cpl[0].res, 0);
	UT_EQ_INT(tern_io_reap(io, cpl, 2), 0);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.short_writes, 1);
	UT_EQ_INT(st.writes, 2);
	UT_EQ_INT(st.syncs, 2); /* the first, cancelled by the short write, and the second */
	UT_EQ_INT(st.bytes, sizeof(data));
	UT_EQ_INT(st.completed, 1);
	UT_EQ_INT(st.errors, 0);
	UT_EQ_INT(disk_read("f", back, sizeof(back)), sizeof(data));
	CU_ASSERT(memcmp(back, data, sizeof(data)) == 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_short_write_then_failure_reports_the_error(void)
{
	static uint8_t data[8192];
	struct tern_io_cpl cpl;
	struct tern_io_stats st;
	struct tern_io *io;
	uint64_t size;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	fsize_limit(3000);
	UT_EQ_INT(run_one(io, fh, data, sizeof(data), 0, 0), -EFBIG);
	/* The same through the synchronous call. */
	UT_EQ_INT(tern_io_write(io, fh, data, sizeof(data), 0), -EFBIG);
	fsize_limit(0);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, 3000);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.short_writes, 2);
	UT_EQ_INT(st.writes, 4);
	UT_EQ_INT(st.errors, 1);
	UT_EQ_INT(tern_io_reap(io, &cpl, 1), 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_failed_write_reports_its_error_not_the_cancelled_sync(void)
{
	struct tern_io_cpl cpl;
	struct tern_io_stats st;
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	fsize_limit(1000);
	UT_EQ_INT(run_one(io, fh, "x", 1, 5000, TERN_IO_REQ_SYNC), -EFBIG);
	fsize_limit(0);
	UT_EQ_INT(tern_io_reap(io, &cpl, 1), 0);
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.errors, 1);
	UT_EQ_INT(st.completed, 1);
	UT_EQ_INT(st.short_writes, 0);
	/* The driver carries on. */
	UT_EQ_INT(run_one(io, fh, "x", 1, 5000, TERN_IO_REQ_SYNC), 0);
	tern_io_destroy(io);
	test_dir_done();
}

/* ---- file management ---- */

static void
uring_preallocate_sets_the_size_and_reads_zeros(void)
{
	struct tern_io *io;
	uint8_t buf[65536];
	unsigned int i, nonzero = 0;
	uint64_t size;
	struct stat st;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "seg", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "head", 4, 0), 0);
	UT_EQ_INT(tern_io_preallocate(io, fh, sizeof(buf)), 0);
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, sizeof(buf));
	TERN_CU_ASSERT_FATAL(stat(path_of("seg"), &st) == 0);
	CU_ASSERT(st.st_blocks * 512 >= (off_t)sizeof(buf)); /* space really reserved */
	UT_EQ_INT(tern_io_read(io, fh, buf, sizeof(buf), 0), sizeof(buf));
	CU_ASSERT(memcmp(buf, "head", 4) == 0);
	for (i = 4; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	UT_EQ_INT(nonzero, 0);
	UT_EQ_INT(tern_io_preallocate(io, fh, 10), 0); /* never shrinks */
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, sizeof(buf));
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_preallocate_writes_zeros_where_fallocate_is_unsupported(void)
{
	struct tern_io *io;
	uint8_t buf[200000];
	unsigned int i, nonzero = 0;
	uint64_t size;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "seg", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "head", 4, 0), 0);
	fallocate_err = EOPNOTSUPP;
	UT_EQ_INT(tern_io_preallocate(io, fh, sizeof(buf)), 0);
	/* Any other failure is returned, and the size is as it was. */
	fallocate_err = ENOSPC;
	UT_EQ_INT(tern_io_preallocate(io, fh, 2 * sizeof(buf)), -ENOSPC);
	fallocate_partial = 1; /* the size grew before the failure: it is put back */
	UT_EQ_INT(tern_io_preallocate(io, fh, 4 * sizeof(buf)), -ENOSPC);
	fallocate_partial = 0;
	fallocate_err = 0;
	UT_EQ_INT(tern_io_size(io, fh, &size), 0);
	UT_EQ_INT(size, sizeof(buf));
	UT_EQ_INT(tern_io_read(io, fh, buf, sizeof(buf), 0), sizeof(buf));
	CU_ASSERT(memcmp(buf, "head", 4) == 0);
	for (i = 4; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	UT_EQ_INT(nonzero, 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_truncate_cuts_and_extends_with_zeros(void)
{
	struct tern_io *io;
	char buf[16];
	uint64_t size;
	int fh;

	test_dir_new();
	io = uring_new(0);
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
	test_dir_done();
}

static void
uring_rename_replaces_the_target_atomically(void)
{
	struct tern_io *io;
	char buf[8];
	int fh, old;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "cur", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "old", 3, 0), 0);
	old = fh;
	fh = open_ok(io, "tmp", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_write(io, fh, "new", 3, 0), 0);
	UT_EQ_INT(tern_io_sync(io, fh), 0);
	dir_syncs = 0;
	UT_EQ_INT(tern_io_rename(io, "tmp", "cur"), 0);
	UT_EQ_INT(dir_syncs, 1);
	CU_ASSERT(!disk_exists("tmp"));
	UT_EQ_INT(disk_read("cur", buf, sizeof(buf)), 3);
	CU_ASSERT(memcmp(buf, "new", 3) == 0);
	UT_EQ_INT(tern_io_read(io, old, buf, 3, 0), 3); /* the replaced inode, still open */
	CU_ASSERT(memcmp(buf, "old", 3) == 0);
	UT_EQ_INT(tern_io_rename(io, "absent", "x"), -ENOENT);
	UT_EQ_INT(tern_io_rename(io, "cur", "a/b"), -EINVAL);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_remove_deletes_the_file_and_is_enoent_after(void)
{
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	dir_syncs = 0;
	UT_EQ_INT(tern_io_remove(io, "f"), 0);
	UT_EQ_INT(dir_syncs, 1);
	CU_ASSERT(!disk_exists("f"));
	UT_EQ_INT(tern_io_remove(io, "f"), -ENOENT);
	UT_EQ_INT(tern_io_remove(io, "../f"), -EINVAL);
	tern_io_destroy(io);
	test_dir_done();
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
	return s->stop_after != 0 && s->n == s->stop_after ? 99 : 0;
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

static void
uring_list_reports_regular_files_only_and_stops_on_nonzero(void)
{
	struct seen s = {0};
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	UT_EQ_INT(tern_io_list(io, collect, &s), 0);
	UT_EQ_INT(s.n, 0);
	fh = open_ok(io, "a", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	fh = open_ok(io, "b", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	TERN_CU_ASSERT_FATAL(mkdir(path_of("dir"), 0755) == 0);
	TERN_CU_ASSERT_FATAL(symlink("a", path_of("link")) == 0);
	UT_EQ_INT(tern_io_list(io, collect, &s), 0);
	UT_EQ_INT(s.n, 2);
	CU_ASSERT(seen_has(&s, "a") && seen_has(&s, "b"));
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	UT_EQ_INT(tern_io_list(io, collect, &s), 99);
	UT_EQ_INT(s.n, 1);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_registered_buffer_writes_use_write_fixed(void)
{
	static uint8_t pool[2][16384] __attribute__((aligned(4096)));
	struct iovec iov[2] = {{pool[0], sizeof(pool[0])}, {pool[1], sizeof(pool[1])}};
	struct tern_io_cpl cpl[2];
	struct tern_io *io;
	char buf[16];
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_buf_register(io, iov, 2), 0);
	memcpy(pool[1] + 100, "registered", 10);
	memcpy(pool[0], "zero", 4);
	spy_reset();
	UT_EQ_INT(submit_at(io, fh, 1, pool[1] + 100, 10, 0, TERN_IO_REQ_SYNC, 1), 0);
	UT_EQ_INT(submit_at(io, fh, 0, pool[0], 4, 10, 0, 2), 0);
	UT_EQ_INT(tern_io_buf_register(io, NULL, 0), -EBUSY); /* requests use the set */
	UT_EQ_INT(tern_io_flush(io), 2);
	TERN_CU_ASSERT_FATAL(spy.n == 3);
	UT_EQ_INT(spy.sqe[0].opcode, IORING_OP_WRITE_FIXED);
	UT_EQ_INT(spy.sqe[0].buf_index, 1);
	UT_EQ_INT(spy.sqe[1].opcode, IORING_OP_FSYNC);
	UT_EQ_INT(spy.sqe[2].opcode, IORING_OP_WRITE_FIXED);
	UT_EQ_INT(spy.sqe[2].buf_index, 0);
	UT_EQ_INT(reap_n(io, cpl, 2), 2);
	UT_EQ_INT(cpl[0].res, 0);
	UT_EQ_INT(cpl[1].res, 0);
	UT_EQ_INT(disk_read("f", buf, sizeof(buf)), 14);
	CU_ASSERT(memcmp(buf, "registeredzero", 14) == 0);
	/* Outside its buffer, or a buffer that does not exist: refused up front. */
	UT_EQ_INT(submit_at(io, fh, 1, pool[1] + sizeof(pool[1]) - 4, 8, 0, 0, 3), -EINVAL);
	UT_EQ_INT(submit_at(io, fh, 0, pool[1], 8, 0, 0, 3), -EINVAL);
	UT_EQ_INT(submit_at(io, fh, 2, pool[1], 8, 0, 0, 3), -EINVAL);
	/* A new set replaces the old one. */
	UT_EQ_INT(tern_io_buf_register(io, &iov[1], 1), 0);
	UT_EQ_INT(submit_at(io, fh, 0, pool[1] + 100, 10, 20, 0, 4), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	UT_EQ_INT(reap_n(io, cpl, 1), 1);
	UT_EQ_INT(cpl[0].res, 0);
	UT_EQ_INT(tern_io_buf_register(io, NULL, 0), 0);
	UT_EQ_INT(submit_at(io, fh, 0, pool[1] + 100, 10, 0, 0, 5), -EINVAL);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_works_on_plain_descriptors_when_the_fixed_file_table_is_refused(void)
{
	struct tern_io_cpl cpl;
	struct tern_io *io;
	char buf[8];
	int fh;

	test_dir_new();
	ut_diag_capture(1);
	files_reg_err = -ENOMEM;
	io = uring_new(0);
	files_reg_err = 0;
	CU_ASSERT(ut_diag_contains("fixed-file table"));
	ut_diag_capture(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	spy_reset();
	UT_EQ_INT(submit(io, fh, "plain", 5, 0, TERN_IO_REQ_SYNC, 1), 0);
	UT_EQ_INT(tern_io_flush(io), 1);
	TERN_CU_ASSERT_FATAL(spy.n == 2);
	UT_EQ_INT(spy.sqe[0].flags, IOSQE_IO_LINK); /* no IOSQE_FIXED_FILE */
	UT_EQ_INT(spy.sqe[1].flags, 0);
	CU_ASSERT(spy.sqe[0].fd != fh && spy.sqe[0].fd > 2); /* a real descriptor */
	UT_EQ_INT(reap_n(io, &cpl, 1), 1);
	UT_EQ_INT(cpl.res, 0);
	UT_EQ_INT(disk_read("f", buf, sizeof(buf)), 5);
	CU_ASSERT(memcmp(buf, "plain", 5) == 0);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	tern_io_destroy(io);
	test_dir_done();
}

static void
uring_stats_count_flushes_and_errors(void)
{
	struct tern_io_stats st;
	struct tern_io *io;
	int fh;

	test_dir_new();
	io = uring_new(0);
	fh = open_ok(io, "f", TERN_IO_CREATE);
	UT_EQ_INT(tern_io_flush(io), 0); /* nothing queued: not counted */
	UT_EQ_INT(run_one(io, fh, "ab", 2, 0, 0), 0);
	UT_EQ_INT(run_one(io, fh, "cd", 2, 2, TERN_IO_REQ_SYNC), 0);
	UT_EQ_INT(tern_io_close(io, fh), 0);
	fh = open_ok(io, "f", TERN_IO_RDONLY);
	UT_EQ_INT(submit(io, fh, "x", 1, 0, 0, 1), -EBADF); /* refused: not submitted */
	tern_io_stats_get(io, &st);
	UT_EQ_INT(st.submitted, 2);
	UT_EQ_INT(st.completed, 2);
	UT_EQ_INT(st.flushes, 2);
	UT_EQ_INT(st.writes, 2);
	UT_EQ_INT(st.syncs, 1);
	UT_EQ_INT(st.bytes, 4);
	UT_EQ_INT(st.errors, 0);
	tern_io_destroy(io);
	test_dir_done();
}

/* io_uring may be off (kernel.io_uring_disabled, seccomp): then skip, as STYLE.md 12 says. */
static int
uring_available(void)
{
	struct tern_io_uring_opts o;
	struct tern_io *io = NULL;
	char *dir = ut_tmpdir();
	int rc;

	if (dir == NULL)
		return 0;
	tern_io_uring_opts_init(&o, sizeof(o));
	o.home = dir;
	rc = tern_io_uring_create(&o, &io);
	tern_io_destroy(io);
	ut_rmdir(dir);
	if (rc == -ENOSYS || rc == -EPERM) {
		fprintf(stderr, "io_uring unavailable (%s): skipping\n", strerror(-rc));
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	if (!uring_available())
		return 77;
	CU_initialize_registry();
	s = CU_add_suite("uring_files", NULL, NULL);
	CU_ADD_TEST(s, uring_create_makes_a_missing_home_directory);
	CU_ADD_TEST(s, uring_create_rejects_bad_options_and_a_home_that_is_a_file);
	CU_ADD_TEST(s, uring_create_frees_everything_when_an_allocation_fails);
	CU_ADD_TEST(s, uring_setup_failure_is_returned_and_reported_with_its_cause);
	CU_ADD_TEST(s, uring_open_create_excl_and_enoent);
	CU_ADD_TEST(s, uring_open_rejects_bad_names_flags_and_directories);
	CU_ADD_TEST(s, uring_open_fails_with_emfile_when_every_handle_is_taken);
	CU_ADD_TEST(s, uring_write_then_read_back_and_short_read_only_at_end);
	CU_ADD_TEST(s, uring_rdonly_handle_reads_but_refuses_writes);
	CU_ADD_TEST(s, uring_preallocate_sets_the_size_and_reads_zeros);
	CU_ADD_TEST(s, uring_preallocate_writes_zeros_where_fallocate_is_unsupported);
	CU_ADD_TEST(s, uring_truncate_cuts_and_extends_with_zeros);
	CU_ADD_TEST(s, uring_rename_replaces_the_target_atomically);
	CU_ADD_TEST(s, uring_remove_deletes_the_file_and_is_enoent_after);
	CU_ADD_TEST(s, uring_list_reports_regular_files_only_and_stops_on_nonzero);

	s = CU_add_suite("uring_requests", NULL, NULL);
	CU_ADD_TEST(s, uring_linked_write_sync_completes_once);
	CU_ADD_TEST(s, uring_sync_write_on_a_clean_file_is_one_dsync_write);
	CU_ADD_TEST(s, uring_failed_sync_write_leaves_the_file_unclean);
	CU_ADD_TEST(s, uring_writeback_write_completes_with_its_write_and_starts_writeback);
	CU_ADD_TEST(s, uring_short_linked_write_is_continued_with_an_fdatasync_not_dsync);
	CU_ADD_TEST(s, uring_close_waits_for_the_writeback_of_a_reaped_write);
	CU_ADD_TEST(s, uring_eventfd_signals_completions);
	CU_ADD_TEST(s, uring_many_requests_each_complete_once_with_their_user_data);
	CU_ADD_TEST(s, uring_sync_only_request_completes_with_one_fdatasync);
	CU_ADD_TEST(s, uring_submit_returns_ebusy_at_depth_until_reaped);
	CU_ADD_TEST(s, uring_submit_rejects_malformed_requests);
	CU_ADD_TEST(s, uring_wait_is_eagain_with_nothing_in_flight);
	CU_ADD_TEST(s, uring_close_with_requests_in_flight_is_ebusy);
	CU_ADD_TEST(s, uring_destroy_waits_for_requests_in_flight);
	CU_ADD_TEST(s, uring_short_write_is_continued_and_completes_once);
	CU_ADD_TEST(s, uring_short_write_then_failure_reports_the_error);
	CU_ADD_TEST(s, uring_failed_write_reports_its_error_not_the_cancelled_sync);
	CU_ADD_TEST(s, uring_registered_buffer_writes_use_write_fixed);
	CU_ADD_TEST(s, uring_works_on_plain_descriptors_when_the_fixed_file_table_is_refused);
	CU_ADD_TEST(s, uring_stats_count_flushes_and_errors);
	return tern_ut_run(argc, argv);
}
