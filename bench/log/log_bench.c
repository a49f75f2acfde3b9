/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/log: durable appends through lib/log over the io_uring driver, against
 * pwrite + fdatasync per record on the same file system, measured in the same run.
 *
 * Producers are closed-loop clients in one thread (like fio's iodepth): N appends are
 * outstanding; when the log reports a producer's record durable (TERN_LOG_EV_DURABLE with
 * a VLSN at or past it), the producer records its latency and appends its next record.
 * The loop calls tern_log_poll() without pause (busy polling: the datapath model).
 *
 * Output: one `key=value` line per measurement, then ratio and check lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <tern_errno.h>
#include <tern_io.h>
#include <tern_io_uring.h>
#include <tern_log.h>

#define MAX_PRODUCER_COUNTS 32
#define MAX_PRODUCERS	    (1u << 20)
#define MAX_SIZE	    (1u << 20)
#define BASELINE_FILE_SIZE  (64ull << 20) /* the log's default segment size */
#define URING_DEPTH	    32
#define DRAIN_TIMEOUT_NS    (60ull * 1000000000ull)
#define BENCH_TERM	    1

/* Exit status meson reads as "skipped". */
#define EXIT_SKIP 77

static volatile sig_atomic_t stop_requested;

struct bench_cfg {
	const char *dir;
	double seconds;
	unsigned int producers[MAX_PRODUCER_COUNTS];
	unsigned int n_producers;
	uint32_t size;
};

/* ---------------------------------------------------------------------------------- */
/* Clock */

static inline uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* ---------------------------------------------------------------------------------- */
/*
 * Latency histogram: log-linear buckets (32 per power of two, about 1.6% resolution) in
 * one fixed array; adding a sample allocates nothing.
 */

#define HIST_SUB_BITS 5
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS) * HIST_SUB + HIST_SUB)

struct hist {
	uint64_t n;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

static void
hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static inline unsigned int
hist_index(uint64_t v)
{
	unsigned int shift;

	if (v < 2 * HIST_SUB)
		return (unsigned int)v;
	shift = (unsigned int)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned int)(v >> shift);
}

static inline void
hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Value at quantile @q (0..1): the midpoint of its bucket, within [min, max]. */
static uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t target, seen = 0, lo, width, v;
	unsigned int i, shift;

	if (h->n == 0)
		return 0;
	target = (uint64_t)(q * (double)h->n);
	if (target < 1)
		target = 1;
	if (target > h->n)
		target = h->n;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= target)
			break;
	}
	if (i < 2 * HIST_SUB) {
		lo = i;
		width = 1;
	} else {
		shift = i / HIST_SUB - 1;
		lo = (uint64_t)(i - shift * HIST_SUB) << shift;
		width = 1ull << shift;
	}
	v = lo + width / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

static double
ns_to_us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* ---------------------------------------------------------------------------------- */
/* Results */

struct result {
	double appends_per_s;
	double p50_us;
	int valid;
};

struct results {
	struct result baseline;
	struct result sync[MAX_PRODUCER_COUNTS];
};

/* ---------------------------------------------------------------------------------- */
/* Measurement phases: warm-up (not counted), window (counted), then drain. */

enum phase { PHASE_WARM, PHASE_WINDOW, PHASE_DONE };

struct clock_plan {
	uint64_t warm_end;
	uint64_t window_end;
};

static void
plan_init(struct clock_plan *p, double seconds, uint64_t start)
{
	uint64_t window = (uint64_t)(seconds * 1e9);
	uint64_t warm = window / 10;

	p->warm_end = start + warm;
	p->window_end = p->warm_end + window;
}

/* ---------------------------------------------------------------------------------- */
/* Directories and files */

static const char *
fs_name(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) != 0)
		return "unknown";
	switch ((unsigned long)sfs.f_type) {
	case 0xEF53UL:
		return "ext4";
	case 0x58465342UL:
		return "xfs";
	case 0x9123683EUL:
		return "btrfs";
	case 0x01021994UL:
		return "tmpfs";
	case 0x794C7630UL:
		return "overlayfs";
	case 0xF2F52010UL:
		return "f2fs";
	case 0x2FC12FC1UL:
		return "zfs";
	case 0x6969UL:
		return "nfs";
	default:
		return "other";
	}
}

struct name_list {
	char (*names)[TERN_IO_NAME_MAX];
	unsigned int n;
	unsigned int cap;
};

static int
collect_name(void *arg, const char *name)
{
	struct name_list *l = arg;

	if (l->n == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->names, (size_t)cap * sizeof(*l->names));

		if (p == NULL)
			return -ENOMEM;
		l->names = p;
		l->cap = cap;
	}
	snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", name);
	l->n++;
	return 0;
}

/* Remove every file of the driver's home directory (the driver must have none open). */
static void
remove_all_files(struct tern_io *io)
{
	struct name_list l = {0};
	unsigned int i;

	tern_io_list(io, collect_name, &l);
	for (i = 0; i < l.n; i++)
		tern_io_remove(io, l.names[i]);
	free(l.names);
}

/* ---------------------------------------------------------------------------------- */
/* The log over io_uring */

struct log_ctx {
	uint64_t durable;
	uint64_t written;
	int err;
};

static void
on_log_event(void *arg, const struct tern_log_event *ev)
{
	struct log_ctx *c = arg;

	switch (ev->type) {
	case TERN_LOG_EV_DURABLE:
		if (ev->vlsn > c->durable)
			c->durable = ev->vlsn;
		break;
	case TERN_LOG_EV_WRITTEN:
		if (ev->vlsn > c->written)
			c->written = ev->vlsn;
		break;
	case TERN_LOG_EV_FAILED:
		if (c->err == 0)
			c->err = ev->err != 0 ? ev->err : -EIO;
		break;
	}
}

struct log_run {
	char home[PATH_MAX];
	struct tern_io *io;
	struct tern_log *log;
	struct log_ctx ctx;
};

static int
log_run_open(struct log_run *r, const char *run_dir, const char *name)
{
	struct tern_io_uring_opts uo;
	struct tern_log_opts lo;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((size_t)snprintf(r->home, sizeof(r->home), "%s/%s", run_dir, name) >= sizeof(r->home))
		return -ENAMETOOLONG;
	tern_io_uring_opts_init(&uo, sizeof(uo));
	uo.home = r->home;
	uo.depth = URING_DEPTH;
	rc = tern_io_uring_create(&uo, &r->io);
	if (rc < 0) {
		r->io = NULL;
		rmdir(r->home);
		return rc;
	}
	tern_log_opts_init(&lo, sizeof(lo));
	lo.io = r->io;
	lo.on_event = on_log_event;
	lo.event_arg = &r->ctx;
	rc = tern_log_open(&lo, &r->log);
	if (rc < 0) {
		r->log = NULL;
		remove_all_files(r->io);
		tern_io_destroy(r->io);
		r->io = NULL;
		rmdir(r->home);
		return rc;
	}
	return 0;
}

/* Close the log (making everything durable), remove its files and its directory. */
static int
log_run_close(struct log_run *r)
{
	int rc = 0;

	if (r->log != NULL)
		rc = tern_log_close(r->log);
	r->log = NULL;
	if (r->io != NULL) {
		remove_all_files(r->io);
		tern_io_destroy(r->io);
	}
	r->io = NULL;
	if (r->home[0] != '\0')
		rmdir(r->home);
	return rc;
}

static void
fill_payload(void *buf, uint32_t size)
{
	uint8_t *p = buf;
	uint32_t i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 131 + 7);
}

/*
 * Durable appends, @p producers closed-loop clients. Each outstanding record's append
 * time sits in a ring indexed by VLSN: the outstanding VLSNs are always the contiguous
 * range (completed, next), at most @p producers long.
 */
static int
bench_log_sync(const struct bench_cfg *cfg, const char *run_dir, unsigned int producers,
	       const void *payload, struct result *res)
{
	struct tern_log_stats st0, st1;
	struct tern_io_stats io0, io1;
	struct tern_log_entry *ents = NULL;
	uint64_t *start = NULL;
	struct hist *h = NULL;
	struct log_run r;
	struct clock_plan plan;
	enum phase phase = PHASE_WARM;
	uint64_t mask, next, completed, pending, now, t_win = 0, t_end = 0, count = 0;
	uint64_t polls = 0, busy_polls = 0, polls0 = 0, busy0 = 0;
	size_t cap = 1;
	unsigned int i;
	char name[64];
	double secs;
	int rc;

	while (cap < producers)
		cap <<= 1;
	mask = cap - 1;
	snprintf(name, sizeof(name), "sync-p%u", producers);
	ents = calloc(producers, sizeof(*ents));
	start = calloc(cap, sizeof(*start));
	h = malloc(sizeof(*h));
	if (ents == NULL || start == NULL || h == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	hist_reset(h);
	rc = log_run_open(&r, run_dir, name);
	if (rc < 0) {
		fprintf(stderr, "tern-bench-log: cannot open the log in %s/%s: %s\n", run_dir, name,
			tern_strerror(rc));
		goto out_free;
	}
	for (i = 0; i < producers; i++) {
		ents[i].term = BENCH_TERM;
		ents[i].type = TERN_LOG_TYPE_USER;
		ents[i].len = cfg->size;
		ents[i].data = payload;
	}
	next = tern_log_last_vlsn(r.log) + 1;
	completed = next - 1;
	r.ctx.durable = completed;
	pending = producers;
	memset(&st0, 0, sizeof(st0));
	memset(&io0, 0, sizeof(io0));

	now = now_ns();
	plan_init(&plan, cfg->seconds, now);
	while (phase != PHASE_DONE) {
		/* Producers whose last record is durable append their next one, in one burst. */
		if (pending > 0) {
			unsigned int k = (unsigned int)pending, j;

			for (j = 0; j < k; j++) {
				ents[j].vlsn = next + j;
				ents[j].txn_id = next + j;
				ents[j].timestamp_ns = now;
				start[(next + j) & mask] = now;
			}
			rc = tern_log_append(r.log, ents, k, TERN_LOG_SYNC);
			if (rc < 0) {
				fprintf(stderr, "tern-bench-log: append: %s\n", tern_strerror(rc));
				goto out_close;
			}
			next += (unsigned int)rc;
			pending -= (unsigned int)rc;
		}
		busy_polls += (uint64_t)tern_log_poll(r.log);
		polls++;
		if (r.ctx.err != 0) {
			rc = r.ctx.err;
			fprintf(stderr, "tern-bench-log: log failed: %s\n", tern_strerror(rc));
			goto out_close;
		}
		now = now_ns();
		if (r.ctx.durable > completed) {
			uint64_t v;

			for (v = completed + 1; v <= r.ctx.durable; v++) {
				if (phase == PHASE_WINDOW)
					hist_add(h, now - start[v & mask]);
			}
			if (phase == PHASE_WINDOW)
				count += r.ctx.durable - completed;
			pending += r.ctx.durable - completed;
			completed = r.ctx.durable;
		}
		if (phase == PHASE_WARM && (now >= plan.warm_end || stop_requested)) {
			phase = PHASE_WINDOW;
			t_win = now;
			tern_log_stats_get(r.log, &st0);
			tern_io_stats_get(r.io, &io0);
			polls0 = polls;
			busy0 = busy_polls;
		} else if (phase == PHASE_WINDOW && (now >= plan.window_end || stop_requested)) {
			phase = PHASE_DONE;
			t_end = now;
			tern_log_stats_get(r.log, &st1);
			tern_io_stats_get(r.io, &io1);
		}
	}
	rc = tern_log_sync(r.log, DRAIN_TIMEOUT_NS);
	if (rc < 0) {
		fprintf(stderr, "tern-bench-log: sync: %s\n", tern_strerror(rc));
		goto out_close;
	}

	secs = (double)(t_end - t_win) / 1e9;
	{
		uint64_t batches = st1.batches - st0.batches;
		uint64_t appends = st1.appends - st0.appends;
		double batch_avg = batches ? (double)appends / (double)batches : 0.0;

		res->appends_per_s = secs > 0 ? (double)count / secs : 0.0;
		res->p50_us = ns_to_us(hist_quantile(h, 0.50));
		res->valid = count > 0;
		printf("bench=log driver=uring sync=yes producers=%u size=%" PRIu32
		       " seconds=%.2f appends=%" PRIu64 " appends_per_s=%.0f p50_us=%.1f"
		       " p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f batch_avg=%.1f"
		       " batch_max=%" PRIu64 " batches_per_s=%.0f syncs_per_s=%.0f"
		       " flushes_per_batch=%.2f busy_poll_pct=%.1f\n",
		       producers, cfg->size, secs, count, res->appends_per_s, res->p50_us,
		       ns_to_us(hist_quantile(h, 0.99)), ns_to_us(hist_quantile(h, 0.999)),
		       ns_to_us(h->n ? h->max : 0), h->n ? ns_to_us(h->sum / h->n) : 0.0, batch_avg,
		       st1.batch_records_max, secs > 0 ? (double)batches / secs : 0.0,
		       secs > 0 ? (double)(st1.syncs - st0.syncs) / secs : 0.0,
		       batches ? (double)(io1.flushes - io0.flushes) / (double)batches : 0.0,
		       polls > polls0
			       ? 100.0 * (double)(busy_polls - busy0) / (double)(polls - polls0)
			       : 0.0);
		fflush(stdout);
	}
	rc = 0;
out_close : {
	int crc = log_run_close(&r);

	if (rc == 0 && crc < 0) {
		fprintf(stderr, "tern-bench-log: close: %s\n", tern_strerror(crc));
		rc = crc;
	}
}
out_free:
	free(h);
	free(start);
	free(ents);
	return rc;
}

/*
 * NO_SYNC appends: the CPU cost of an append. Each pass, @p producers records are
 * appended in one burst, then the log is polled once; no pass ever blocks, so wall time
 * per append is the cost of appending plus the log's share of the poll loop.
 */
static int
bench_log_nosync(const struct bench_cfg *cfg, const char *run_dir, unsigned int producers,
		 const void *payload)
{
	struct tern_log_stats st0, st1;
	struct tern_log_entry *ents;
	struct log_run r;
	struct clock_plan plan;
	enum phase phase = PHASE_WARM;
	uint64_t next, now, t_win = 0, t_end = 0, cpu0 = 0, cpu1 = 0, count = 0;
	unsigned int i;
	char name[64];
	double secs;
	int rc;

	snprintf(name, sizeof(name), "nosync-p%u", producers);
	ents = calloc(producers, sizeof(*ents));
	if (ents == NULL)
		return -ENOMEM;
	rc = log_run_open(&r, run_dir, name);
	if (rc < 0) {
		fprintf(stderr, "tern-bench-log: cannot open the log in %s/%s: %s\n", run_dir, name,
			tern_strerror(rc));
		free(ents);
		return rc;
	}
	for (i = 0; i < producers; i++) {
		ents[i].term = BENCH_TERM;
		ents[i].type = TERN_LOG_TYPE_USER;
		ents[i].len = cfg->size;
		ents[i].data = payload;
	}
	next = tern_log_last_vlsn(r.log) + 1;
	memset(&st0, 0, sizeof(st0));
	memset(&st1, 0, sizeof(st1));

	now = now_ns();
	plan_init(&plan, cfg->seconds, now);
	while (phase != PHASE_DONE) {
		for (i = 0; i < producers; i++) {
			ents[i].vlsn = next + i;
			ents[i].txn_id = next + i;
			ents[i].timestamp_ns = now;
		}
		rc = tern_log_append(r.log, ents, producers, TERN_LOG_NO_SYNC);
		if (rc < 0) {
			fprintf(stderr, "tern-bench-log: append: %s\n", tern_strerror(rc));
			goto out;
		}
		next += (unsigned int)rc;
		if (phase == PHASE_WINDOW)
			count += (unsigned int)rc;
		tern_log_poll(r.log);
		if (r.ctx.err != 0) {
			rc = r.ctx.err;
			fprintf(stderr, "tern-bench-log: log failed: %s\n", tern_strerror(rc));
			goto out;
		}
		now = now_ns();
		if (phase == PHASE_WARM && (now >= plan.warm_end || stop_requested)) {
			phase = PHASE_WINDOW;
			t_win = now;
			cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
			tern_log_stats_get(r.log, &st0);
		} else if (phase == PHASE_WINDOW && (now >= plan.window_end || stop_requested)) {
			phase = PHASE_DONE;
			t_end = now;
			cpu1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
			tern_log_stats_get(r.log, &st1);
		}
	}
	secs = (double)(t_end - t_win) / 1e9;
	{
		uint64_t batches = st1.batches - st0.batches;

		printf("bench=log driver=uring sync=no producers=%u size=%" PRIu32
		       " seconds=%.2f appends=%" PRIu64 " appends_per_s=%.0f ns_per_append=%.1f"
		       " cpu_ns_per_append=%.1f batch_avg=%.1f full_per_append=%.3f\n",
		       producers, cfg->size, secs, count, secs > 0 ? (double)count / secs : 0.0,
		       count ? (double)(t_end - t_win) / (double)count : 0.0,
		       count ? (double)(cpu1 - cpu0) / (double)count : 0.0,
		       batches ? (double)(st1.appends - st0.appends) / (double)batches : 0.0,
		       count ? (double)(st1.full - st0.full) / (double)count : 0.0);
		fflush(stdout);
	}
	rc = 0;
out : {
	int crc = log_run_close(&r);

	if (rc == 0 && crc < 0) {
		fprintf(stderr, "tern-bench-log: close: %s\n", tern_strerror(crc));
		rc = crc;
	}
}
	free(ents);
	return rc;
}

/* ---------------------------------------------------------------------------------- */
/* Baseline: pwrite + fdatasync per record, serial, into a preallocated file. */

static int
bench_baseline(const struct bench_cfg *cfg, const char *run_dir, const void *payload,
	       struct result *res)
{
	struct clock_plan plan;
	enum phase phase = PHASE_WARM;
	struct hist *h;
	char path[PATH_MAX];
	uint64_t off = 0, t0, t1, t_win = 0, t_end = 0, count = 0;
	double secs;
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/baseline.dat", run_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	h = malloc(sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	hist_reset(h);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "tern-bench-log: open %s: %s\n", path, strerror(errno));
		free(h);
		return rc;
	}
	/* Preallocate as the log preallocates its segments, and make that durable first. */
	if (fallocate(fd, 0, 0, (off_t)BASELINE_FILE_SIZE) != 0 || fsync(fd) != 0) {
		rc = -errno;
		fprintf(stderr, "tern-bench-log: preallocate %s: %s\n", path, strerror(errno));
		goto out;
	}

	t0 = now_ns();
	plan_init(&plan, cfg->seconds, t0);
	while (phase != PHASE_DONE) {
		ssize_t n;

		t0 = now_ns();
		n = pwrite(fd, payload, cfg->size, (off_t)off);
		if (n != (ssize_t)cfg->size || fdatasync(fd) != 0) {
			rc = n < 0 ? -errno : -EIO;
			fprintf(stderr, "tern-bench-log: pwrite/fdatasync %s: %s\n", path,
				tern_strerror(rc));
			goto out;
		}
		t1 = now_ns();
		off += cfg->size;
		if (off + cfg->size > BASELINE_FILE_SIZE)
			off = 0;
		if (phase == PHASE_WINDOW) {
			hist_add(h, t1 - t0);
			count++;
		}
		if (phase == PHASE_WARM && (t1 >= plan.warm_end || stop_requested)) {
			phase = PHASE_WINDOW;
			t_win = t1;
		} else if (phase == PHASE_WINDOW && (t1 >= plan.window_end || stop_requested)) {
			phase = PHASE_DONE;
			t_end = t1;
		}
	}
	secs = (double)(t_end - t_win) / 1e9;
	res->appends_per_s = secs > 0 ? (double)count / secs : 0.0;
	res->p50_us = ns_to_us(hist_quantile(h, 0.50));
	res->valid = count > 0;
	printf("bench=log driver=pwrite-fdatasync producers=1 size=%" PRIu32
	       " seconds=%.2f appends=%" PRIu64 " appends_per_s=%.0f p50_us=%.1f p99_us=%.1f"
	       " p999_us=%.1f max_us=%.1f mean_us=%.1f\n",
	       cfg->size, secs, count, res->appends_per_s, res->p50_us,
	       ns_to_us(hist_quantile(h, 0.99)), ns_to_us(hist_quantile(h, 0.999)),
	       ns_to_us(h->n ? h->max : 0), h->n ? ns_to_us(h->sum / h->n) : 0.0);
	fflush(stdout);
out:
	close(fd);
	unlink(path);
	free(h);
	return rc;
}

/* ---------------------------------------------------------------------------------- */
/* Ratios and the done-when checks */

static void
print_ratios(const struct bench_cfg *cfg, const struct results *rs)
{
	unsigned int i;

	if (!rs->baseline.valid)
		return;
	for (i = 0; i < cfg->n_producers; i++) {
		const struct result *r = &rs->sync[i];

		if (!r->valid)
			continue;
		printf("bench=log ratio=tput_vs_baseline producers=%u value=%.2f\n",
		       cfg->producers[i], r->appends_per_s / rs->baseline.appends_per_s);
		if (rs->baseline.p50_us > 0)
			printf("bench=log ratio=p50_vs_baseline producers=%u value=%.2f\n",
			       cfg->producers[i], r->p50_us / rs->baseline.p50_us);
	}
	for (i = 0; i < cfg->n_producers; i++) {
		const struct result *r = &rs->sync[i];
		double v;

		if (!r->valid)
			continue;
		if (cfg->producers[i] == 64) {
			v = r->appends_per_s / rs->baseline.appends_per_s;
			printf("bench=log check=tput_vs_baseline producers=64 want=>=10 "
			       "value=%.2f pass=%s\n",
			       v, v >= 10.0 ? "yes" : "no");
		}
		if (cfg->producers[i] == 1 && rs->baseline.p50_us > 0) {
			v = r->p50_us / rs->baseline.p50_us;
			printf("bench=log check=p50_vs_baseline producers=1 want=<=1.2 "
			       "value=%.2f pass=%s\n",
			       v, v <= 1.2 ? "yes" : "no");
		}
	}
	fflush(stdout);
}

/* ---------------------------------------------------------------------------------- */
/* Options */

static void
usage(FILE *f)
{
	fprintf(f, "usage: tern-bench-log [options]\n"
		   "Durable appends of small records through lib/log over io_uring, with N\n"
		   "closed-loop producers in one polling thread, against pwrite + fdatasync per\n"
		   "record on the same file system, then NO_SYNC appends for the CPU cost.\n"
		   "\n"
		   "  --dir DIR          put the files in a fresh directory under DIR\n"
		   "                     (default: ./bench-data, else $TMPDIR or /tmp)\n"
		   "  --seconds S        seconds per measurement (default 3)\n"
		   "  --quick            0.5 seconds per measurement\n"
		   "  --producers LIST   comma-separated producer counts (default 1,8,64,256)\n"
		   "  --size BYTES       payload bytes per record (default 128)\n"
		   "  --help             this text\n"
		   "\n"
		   "Prints one key=value line per measurement, then ratio= and check= lines.\n"
		   "Every file it creates is removed at the end.\n");
}

static int
parse_producers(const char *s, struct bench_cfg *cfg)
{
	const char *p = s;

	cfg->n_producers = 0;
	while (*p != '\0') {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || end == p || v == 0 || v > MAX_PRODUCERS ||
		    cfg->n_producers == MAX_PRODUCER_COUNTS)
			return -EINVAL;
		cfg->producers[cfg->n_producers++] = (unsigned int)v;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return -EINVAL;
		p = end;
	}
	return cfg->n_producers > 0 ? 0 : -EINVAL;
}

static int
parse_args(int argc, char **argv, struct bench_cfg *cfg)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"seconds", required_argument, NULL, 's'},
		{"quick", no_argument, NULL, 'q'},
		{"producers", required_argument, NULL, 'p'},
		{"size", required_argument, NULL, 'z'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	cfg->dir = NULL;
	cfg->seconds = 3.0;
	cfg->size = 128;
	parse_producers("1,8,64,256", cfg);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'd':
			cfg->dir = optarg;
			break;
		case 's':
			errno = 0;
			cfg->seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(cfg->seconds > 0) ||
			    cfg->seconds > 3600) {
				fprintf(stderr, "tern-bench-log: bad --seconds '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'q':
			cfg->seconds = 0.5;
			break;
		case 'p':
			if (parse_producers(optarg, cfg) < 0) {
				fprintf(stderr, "tern-bench-log: bad --producers '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'z': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0 || v > MAX_SIZE) {
				fprintf(stderr, "tern-bench-log: bad --size '%s'\n", optarg);
				return -EINVAL;
			}
			cfg->size = (uint32_t)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tern-bench-log: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/*
 * Make the run directory: a fresh mkdtemp() directory under --dir, or under ./bench-data
 * (made if missing, removed at the end when empty), else under $TMPDIR or /tmp.
 */
static int
make_run_dir(const struct bench_cfg *cfg, char *run_dir, size_t cap, char *base, size_t base_cap,
	     int *made_base)
{
	const char *tmp;

	*made_base = 0;
	if (cfg->dir != NULL) {
		snprintf(base, base_cap, "%s", cfg->dir);
		if (mkdir(base, 0755) == 0)
			*made_base = 1;
	} else {
		snprintf(base, base_cap, "bench-data");
		if (mkdir(base, 0755) == 0) {
			*made_base = 1;
		} else if (errno != EEXIST) {
			tmp = getenv("TMPDIR");
			snprintf(base, base_cap, "%s", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
		}
	}
	if ((size_t)snprintf(run_dir, cap, "%s/tern-bench-log.XXXXXX", base) >= cap)
		return -ENAMETOOLONG;
	if (mkdtemp(run_dir) == NULL) {
		int err = errno;

		fprintf(stderr, "tern-bench-log: cannot make a directory under %s: %s\n", base,
			strerror(err));
		if (*made_base)
			rmdir(base);
		return -err;
	}
	return 0;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int
main(int argc, char **argv)
{
	struct bench_cfg cfg;
	struct results rs;
	struct sigaction sa;
	char run_dir[PATH_MAX], base[PATH_MAX];
	const char *fs;
	void *payload = NULL;
	unsigned int i;
	int made_base, rc, status = EXIT_SUCCESS;

	rc = parse_args(argc, argv, &cfg);
	if (rc != 0)
		return rc > 0 ? EXIT_SUCCESS : 2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (make_run_dir(&cfg, run_dir, sizeof(run_dir), base, sizeof(base), &made_base) < 0)
		return EXIT_FAILURE;
	payload = malloc(cfg.size);
	if (payload == NULL) {
		status = EXIT_FAILURE;
		goto out;
	}
	fill_payload(payload, cfg.size);
	memset(&rs, 0, sizeof(rs));

	fs = fs_name(run_dir);
	printf("bench=log dir=%s fs=%s seconds=%.2f size=%" PRIu32 "\n", run_dir, fs, cfg.seconds,
	       cfg.size);
	if (strcmp(fs, "tmpfs") == 0)
		printf("bench=log warning=tmpfs_fdatasync_does_nothing\n");
	fflush(stdout);

	rc = bench_baseline(&cfg, run_dir, payload, &rs.baseline);
	if (rc < 0) {
		status = EXIT_FAILURE;
		goto out;
	}
	for (i = 0; i < cfg.n_producers && !stop_requested; i++) {
		rc = bench_log_sync(&cfg, run_dir, cfg.producers[i], payload, &rs.sync[i]);
		if (rc == -ENOSYS || rc == -EPERM) {
			printf("bench=log skip=io_uring_unavailable err=%s\n", tern_errname(rc));
			status = EXIT_SKIP;
			goto out;
		}
		if (rc < 0) {
			status = EXIT_FAILURE;
			goto out;
		}
	}
	for (i = 0; i < cfg.n_producers && !stop_requested; i++) {
		rc = bench_log_nosync(&cfg, run_dir, cfg.producers[i], payload);
		if (rc < 0) {
			status = EXIT_FAILURE;
			goto out;
		}
	}
	print_ratios(&cfg, &rs);
out:
	free(payload);
	if (rmdir(run_dir) != 0)
		fprintf(stderr, "tern-bench-log: could not remove %s: %s\n", run_dir,
			strerror(errno));
	if (made_base)
		rmdir(base);
	return status;
}
