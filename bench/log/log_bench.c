/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/log: durable appends through lib/log over the io_uring driver, against
 * pwrite + fdatasync per record on the same file system, measured in the same run.
 *
 * Producers are closed-loop clients in one thread (like fio's iodepth): N appends are
 * outstanding; when the log reports a producer's record durable (TERN_LOG_EV_DURABLE with
 * a VLSN at or past it), the producer records its latency and appends its next record.
 * The loop calls tern_log_poll(); after a pass that found nothing to do it either spins
 * (polls again at once: busy polling, the datapath model on a core of its own) or blocks
 * in tern_io_wait() until a completion is ready (at most 1 ms: a bounded block). Both
 * are measured by default (STYLE.md 10: benchmark both backoff modes): spinning wins
 * where the kernel's io-wq workers have cores of their own, blocking where the poller
 * shares its core with them.
 *
 * The baseline and the durable measurements are interleaved in rounds (baseline, then
 * each log measurement, --rounds times, each for its share of --seconds), so that they
 * see the same machine even when its load drifts; their ratios are what to compare.
 * Then NO_SYNC appends show what an append costs the datapath core (ns_per_append).
 *
 * Output: one `key=value` line per measurement, then ratio= lines (against the baseline)
 * and check= lines (the done-when bars of the issue that asked for this benchmark).
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

#define MAX_PRODUCER_COUNTS 16
#define MAX_PRODUCERS	    (1u << 20)
#define MAX_SIZE	    (1u << 20)
#define MAX_ROUNDS	    100
#define BASELINE_FILE_SIZE  (64ull << 20) /* the log's default segment size */
#define URING_DEPTH	    32
#define DRAIN_TIMEOUT_NS    (60ull * 1000000000ull)
#define IDLE_BLOCK_NS	    1000000ull /* a bounded block: wake at least every 1 ms */
#define BENCH_TERM	    1

/* Exit status meson reads as "skipped". */
#define EXIT_SKIP 77

static volatile sig_atomic_t stop_requested;

/* What the poll loop does after a pass that found no work (STYLE.md 10: lcore_backoff). */
enum idle_mode {
	IDLE_SPIN,  /* poll again at once */
	IDLE_BLOCK, /* tern_io_wait() for a completion, at most IDLE_BLOCK_NS */
	IDLE_MODES,
};

static const char *const idle_names[IDLE_MODES] = {"spin", "block"};

struct bench_cfg {
	const char *dir;
	double seconds;		 /* per measurement, all rounds together */
	unsigned int rounds;	 /* the durable measurements and the baseline interleave */
	unsigned int idle_modes; /* bit (1 << enum idle_mode) per mode measured */
	unsigned int producers[MAX_PRODUCER_COUNTS];
	unsigned int n_producers;
	uint32_t size;
};

/* ---------------------------------------------------------------------------------- */
/* Clock */

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
q_us(const struct hist *h, double q)
{
	return (double)hist_quantile(h, q) / 1000.0;
}

/* ---------------------------------------------------------------------------------- */
/* What one measurement gathers over its rounds. */

struct acc {
	struct hist h;	    /* latencies (durable and baseline) */
	uint64_t count;	    /* appends completed in the windows */
	uint64_t window_ns; /* the windows' length, all rounds */
	/* from tern_log_stats, over the windows */
	uint64_t appends;
	uint64_t batches;
	uint64_t syncs;
	uint64_t batch_max;
	uint64_t flushes; /* tern_io_flush() calls that handed requests to the kernel */
	uint64_t polls;
	uint64_t busy_polls;
	uint64_t blocks;	 /* idle waits in tern_io_wait() */
	uint64_t block_timeouts; /* ... that ended with no completion (1 ms) */
	/* NO_SYNC: passes that appended everything, and the others (stalled) */
	uint64_t run_ns;
	uint64_t run_count;
	uint64_t stall_ns;
	/* baseline: appends/s of each round, to show how much the machine moved */
	double round_min;
	double round_max;
};

static void
acc_init(struct acc *a)
{
	memset(a, 0, sizeof(*a));
	hist_reset(&a->h);
}

static double
acc_rate(const struct acc *a)
{
	return a->window_ns ? (double)a->count * 1e9 / (double)a->window_ns : 0.0;
}

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

	p->warm_end = start + window / 10;
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
	struct tern_log_stats st0;
	struct tern_io_stats io0;
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
		fprintf(stderr, "tern-bench-log: cannot open the log in %s: %s\n", r->home,
			tern_strerror(rc));
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
log_run_close(struct log_run *r, int rc)
{
	int crc = 0;

	if (r->log != NULL)
		crc = tern_log_close(r->log);
	if (rc == 0 && crc < 0) {
		fprintf(stderr, "tern-bench-log: close: %s\n", tern_strerror(crc));
		rc = crc;
	}
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

/* The window starts: remember the counters. */
static void
log_run_window_start(struct log_run *r)
{
	tern_log_stats_get(r->log, &r->st0);
	tern_io_stats_get(r->io, &r->io0);
}

/* The window ends: add what the counters moved to @p a. */
static void
log_run_window_end(struct log_run *r, struct acc *a)
{
	struct tern_log_stats st;
	struct tern_io_stats io;

	tern_log_stats_get(r->log, &st);
	tern_io_stats_get(r->io, &io);
	a->appends += st.appends - r->st0.appends;
	a->batches += st.batches - r->st0.batches;
	a->syncs += st.syncs - r->st0.syncs;
	a->flushes += io.flushes - r->io0.flushes;
	if (st.batch_records_max > a->batch_max)
		a->batch_max = st.batch_records_max;
}

/* A pass of the poll loop found nothing to do. */
static inline void
idle_backoff(enum idle_mode mode, struct tern_io *io, struct acc *a, enum phase phase)
{
	int rc;

	if (mode != IDLE_BLOCK)
		return;
	rc = tern_io_wait(io, IDLE_BLOCK_NS);
	if (phase == PHASE_WINDOW) {
		a->blocks++;
		a->block_timeouts += rc == -ETIMEDOUT;
	}
}

static void
entries_init(struct tern_log_entry *e, unsigned int n, uint32_t size, const void *payload)
{
	unsigned int i;

	memset(e, 0, (size_t)n * sizeof(*e));
	for (i = 0; i < n; i++) {
		e[i].term = BENCH_TERM;
		e[i].type = TERN_LOG_TYPE_USER;
		e[i].len = size;
		e[i].data = payload;
	}
}

/*
 * One round of durable appends by @p producers closed-loop clients, for @p seconds.
 * Each outstanding record's append time sits in @p start, a ring indexed by VLSN: the
 * outstanding VLSNs are always the contiguous range (completed, next), at most
 * @p producers long.
 */
static int
measure_log_sync(const struct bench_cfg *cfg, const char *run_dir, enum idle_mode mode,
		 unsigned int producers, double seconds, struct tern_log_entry *ents,
		 uint64_t *start, uint64_t mask, const void *payload, struct acc *a)
{
	struct log_run r;
	struct clock_plan plan;
	enum phase phase = PHASE_WARM;
	uint64_t next, completed, pending, now, t_win = 0, v;
	char name[64];
	int busy, rc;

	snprintf(name, sizeof(name), "sync-%s-p%u", idle_names[mode], producers);
	rc = log_run_open(&r, run_dir, name);
	if (rc < 0)
		return rc;
	entries_init(ents, producers, cfg->size, payload);
	next = tern_log_last_vlsn(r.log) + 1;
	completed = next - 1;
	r.ctx.durable = completed;
	pending = producers;

	now = now_ns();
	plan_init(&plan, seconds, now);
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
				return log_run_close(&r, rc);
			}
			next += (unsigned int)rc;
			pending -= (unsigned int)rc;
		}
		busy = tern_log_poll(r.log);
		if (phase == PHASE_WINDOW) {
			a->polls++;
			a->busy_polls += (uint64_t)busy;
		}
		if (r.ctx.err != 0) {
			fprintf(stderr, "tern-bench-log: log failed: %s\n",
				tern_strerror(r.ctx.err));
			return log_run_close(&r, r.ctx.err);
		}
		now = now_ns();
		if (r.ctx.durable > completed) {
			if (phase == PHASE_WINDOW) {
				for (v = completed + 1; v <= r.ctx.durable; v++)
					hist_add(&a->h, now - start[v & mask]);
				a->count += r.ctx.durable - completed;
			}
			pending += r.ctx.durable - completed;
			completed = r.ctx.durable;
		} else if (busy == 0) {
			idle_backoff(mode, r.io, a, phase);
		}
		if (phase == PHASE_WARM && (now >= plan.warm_end || stop_requested)) {
			phase = PHASE_WINDOW;
			t_win = now;
			log_run_window_start(&r);
		} else if (phase == PHASE_WINDOW && (now >= plan.window_end || stop_requested)) {
			phase = PHASE_DONE;
			a->window_ns += now - t_win;
			log_run_window_end(&r, a);
		}
	}
	rc = tern_log_sync(r.log, DRAIN_TIMEOUT_NS);
	if (rc < 0)
		fprintf(stderr, "tern-bench-log: sync: %s\n", tern_strerror(rc));
	return log_run_close(&r, rc);
}

/*
 * NO_SYNC appends: the CPU cost of an append. Each pass appends @p producers records in
 * one burst, polls the log once and reads the clock once (a datapath pass). A pass that
 * could not append all its records waited for the disk (both buffers busy): its time is a
 * stall, not CPU cost. ns_per_append is the time of the passes that were not stalled per
 * record they appended; appends_per_s counts everything, stalls included, so it is bound
 * by how fast the file system takes buffered writes.
 */
static int
measure_log_nosync(const struct bench_cfg *cfg, const char *run_dir, enum idle_mode mode,
		   unsigned int producers, struct tern_log_entry *ents, const void *payload,
		   struct acc *a)
{
	struct log_run r;
	struct clock_plan plan;
	enum phase phase = PHASE_WARM;
	uint64_t next, now, prev, t_win = 0;
	unsigned int i;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "nosync-%s-p%u", idle_names[mode], producers);
	rc = log_run_open(&r, run_dir, name);
	if (rc < 0)
		return rc;
	entries_init(ents, producers, cfg->size, payload);
	next = tern_log_last_vlsn(r.log) + 1;

	now = now_ns();
	prev = now;
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
			return log_run_close(&r, rc);
		}
		next += (unsigned int)rc;
		if (tern_log_poll(r.log) == 0 && rc == 0)
			idle_backoff(mode, r.io, a, phase);
		if (r.ctx.err != 0) {
			fprintf(stderr, "tern-bench-log: log failed: %s\n",
				tern_strerror(r.ctx.err));
			return log_run_close(&r, r.ctx.err);
		}
		now = now_ns();
		if (phase == PHASE_WINDOW) {
			a->count += (unsigned int)rc;
			if ((unsigned int)rc == producers) {
				a->run_ns += now - prev;
				a->run_count += (unsigned int)rc;
			} else {
				a->stall_ns += now - prev;
			}
		}
		prev = now;
		if (phase == PHASE_WARM && (now >= plan.warm_end || stop_requested)) {
			phase = PHASE_WINDOW;
			t_win = now;
			log_run_window_start(&r);
		} else if (phase == PHASE_WINDOW && (now >= plan.window_end || stop_requested)) {
			phase = PHASE_DONE;
			a->window_ns += now - t_win;
			log_run_window_end(&r, a);
		}
	}
	return log_run_close(&r, 0);
}

/* ---------------------------------------------------------------------------------- */
/* Baseline: pwrite + fdatasync per record, serial, into a preallocated file. */

static int
measure_baseline(const struct bench_cfg *cfg, const char *run_dir, double seconds,
		 const void *payload, struct acc *a)
{
	struct clock_plan plan;
	enum phase phase = PHASE_WARM;
	char path[PATH_MAX];
	uint64_t off = 0, t0, t1, t_win = 0, count0 = a->count;
	double rate;
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/baseline.dat", run_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "tern-bench-log: open %s: %s\n", path, strerror(errno));
		return rc;
	}
	/* Preallocate as the log preallocates its segments, and make that durable first. */
	if (fallocate(fd, 0, 0, (off_t)BASELINE_FILE_SIZE) != 0 || fsync(fd) != 0) {
		rc = -errno;
		fprintf(stderr, "tern-bench-log: preallocate %s: %s\n", path, strerror(errno));
		goto out;
	}

	t0 = now_ns();
	plan_init(&plan, seconds, t0);
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
			hist_add(&a->h, t1 - t0);
			a->count++;
		}
		if (phase == PHASE_WARM && (t1 >= plan.warm_end || stop_requested)) {
			phase = PHASE_WINDOW;
			t_win = t1;
		} else if (phase == PHASE_WINDOW && (t1 >= plan.window_end || stop_requested)) {
			phase = PHASE_DONE;
			a->window_ns += t1 - t_win;
			rate = t1 > t_win ? (double)(a->count - count0) * 1e9 / (double)(t1 - t_win)
					  : 0.0;
			if (a->round_min == 0 || rate < a->round_min)
				a->round_min = rate;
			if (rate > a->round_max)
				a->round_max = rate;
		}
	}
out:
	close(fd);
	unlink(path);
	return rc;
}

/* ---------------------------------------------------------------------------------- */
/* Output */

static void
print_baseline(const struct bench_cfg *cfg, const struct acc *a)
{
	printf("bench=log driver=pwrite-fdatasync producers=1 size=%" PRIu32
	       " seconds=%.2f rounds=%u appends=%" PRIu64 " appends_per_s=%.0f p50_us=%.1f"
	       " p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f\n",
	       cfg->size, (double)a->window_ns / 1e9, cfg->rounds, a->count, acc_rate(a),
	       q_us(&a->h, 0.50), q_us(&a->h, 0.99), q_us(&a->h, 0.999),
	       (double)(a->h.n ? a->h.max : 0) / 1000.0,
	       a->h.n ? (double)a->h.sum / (double)a->h.n / 1000.0 : 0.0);
}

static void
print_sync(const struct bench_cfg *cfg, enum idle_mode mode, unsigned int producers,
	   const struct acc *a)
{
	double secs = (double)a->window_ns / 1e9;

	printf("bench=log driver=uring sync=yes idle=%s producers=%u size=%" PRIu32
	       " seconds=%.2f rounds=%u appends=%" PRIu64 " appends_per_s=%.0f p50_us=%.1f"
	       " p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f batch_avg=%.1f"
	       " batch_max=%" PRIu64 " batches_per_s=%.0f syncs_per_s=%.0f"
	       " flushes_per_batch=%.2f busy_poll_pct=%.1f blocks_per_batch=%.2f"
	       " block_timeouts=%" PRIu64 "\n",
	       idle_names[mode], producers, cfg->size, secs, cfg->rounds, a->count, acc_rate(a),
	       q_us(&a->h, 0.50), q_us(&a->h, 0.99), q_us(&a->h, 0.999),
	       (double)(a->h.n ? a->h.max : 0) / 1000.0,
	       a->h.n ? (double)a->h.sum / (double)a->h.n / 1000.0 : 0.0,
	       a->batches ? (double)a->appends / (double)a->batches : 0.0, a->batch_max,
	       secs > 0 ? (double)a->batches / secs : 0.0, secs > 0 ? (double)a->syncs / secs : 0.0,
	       a->batches ? (double)a->flushes / (double)a->batches : 0.0,
	       a->polls ? 100.0 * (double)a->busy_polls / (double)a->polls : 0.0,
	       a->batches ? (double)a->blocks / (double)a->batches : 0.0, a->block_timeouts);
}

static void
print_nosync(const struct bench_cfg *cfg, enum idle_mode mode, unsigned int producers,
	     const struct acc *a)
{
	printf("bench=log driver=uring sync=no idle=%s producers=%u size=%" PRIu32
	       " seconds=%.2f appends=%" PRIu64 " appends_per_s=%.0f ns_per_append=%.1f"
	       " stall_pct=%.1f batch_avg=%.1f batch_max=%" PRIu64 " syncs=%" PRIu64 "\n",
	       idle_names[mode], producers, cfg->size, (double)a->window_ns / 1e9, a->count,
	       acc_rate(a), a->run_count ? (double)a->run_ns / (double)a->run_count : 0.0,
	       a->window_ns ? 100.0 * (double)a->stall_ns / (double)a->window_ns : 0.0,
	       a->batches ? (double)a->appends / (double)a->batches : 0.0, a->batch_max, a->syncs);
}

static void
print_ratios(const struct bench_cfg *cfg, const struct acc *base,
	     const struct acc sync[IDLE_MODES][MAX_PRODUCER_COUNTS])
{
	double base_rate = acc_rate(base), base_p50 = q_us(&base->h, 0.50), v;
	unsigned int i, m;

	if (base->count == 0)
		return;
	if (base->round_min > 0)
		printf("bench=log ratio=baseline_round_max_vs_min value=%.2f\n",
		       base->round_max / base->round_min);
	for (m = 0; m < IDLE_MODES; m++) {
		for (i = 0; i < cfg->n_producers; i++) {
			const struct acc *a = &sync[m][i];

			if (a->count == 0)
				continue;
			printf("bench=log ratio=tput_vs_baseline idle=%s producers=%u value=%.2f\n",
			       idle_names[m], cfg->producers[i], acc_rate(a) / base_rate);
			printf("bench=log ratio=p50_vs_baseline idle=%s producers=%u value=%.2f\n",
			       idle_names[m], cfg->producers[i], q_us(&a->h, 0.50) / base_p50);
		}
	}
	/* The done-when bars of the issue that asked for this benchmark. */
	for (m = 0; m < IDLE_MODES; m++) {
		for (i = 0; i < cfg->n_producers; i++) {
			const struct acc *a = &sync[m][i];

			if (a->count == 0)
				continue;
			if (cfg->producers[i] == 64) {
				v = acc_rate(a) / base_rate;
				printf("bench=log check=tput_vs_baseline idle=%s producers=64 "
				       "want=>=10 value=%.2f pass=%s\n",
				       idle_names[m], v, v >= 10.0 ? "yes" : "no");
			}
			if (cfg->producers[i] == 1) {
				v = q_us(&a->h, 0.50) / base_p50;
				printf("bench=log check=p50_vs_baseline idle=%s producers=1 "
				       "want=<=1.2 value=%.2f pass=%s\n",
				       idle_names[m], v, v <= 1.2 ? "yes" : "no");
			}
		}
	}
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
		   "  --rounds N         interleave the baseline and the durable measurements\n"
		   "                     in N rounds of S/N seconds each (default 3)\n"
		   "  --quick            0.5 seconds per measurement, in 2 rounds\n"
		   "  --producers LIST   comma-separated producer counts (default 1,8,64,256)\n"
		   "  --size BYTES       payload bytes per record (default 128)\n"
		   "  --idle MODE        after a poll pass with nothing to do: spin (poll again),\n"
		   "                     block (wait up to 1 ms for a completion) or both\n"
		   "                     (default: the durable measurements in each mode, the\n"
		   "                     NO_SYNC ones with the last)\n"
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
parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *out < min || *out > max) {
		fprintf(stderr, "tern-bench-log: bad %s '%s'\n", opt, s);
		return -EINVAL;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct bench_cfg *cfg)
{
	/* clang-format off */
	static const struct option longopts[] = {
		{"dir",       required_argument, NULL, 'd'},
		{"seconds",   required_argument, NULL, 's'},
		{"rounds",    required_argument, NULL, 'r'},
		{"quick",     no_argument,       NULL, 'q'},
		{"producers", required_argument, NULL, 'p'},
		{"size",      required_argument, NULL, 'z'},
		{"idle",      required_argument, NULL, 'i'},
		{"help",      no_argument,       NULL, 'h'},
		{NULL,        0,                 NULL, 0},
	};
	/* clang-format on */
	unsigned long v;
	char *end;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->seconds = 3.0;
	cfg->rounds = 3;
	cfg->size = 128;
	cfg->idle_modes = 1u << IDLE_SPIN | 1u << IDLE_BLOCK;
	parse_producers("1,8,64,256", cfg);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cfg->dir = optarg;
			break;
		case 's':
			errno = 0;
			cfg->seconds = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(cfg->seconds > 0) ||
			    cfg->seconds > 3600) {
				fprintf(stderr, "tern-bench-log: bad --seconds '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			if (parse_uint("--rounds", optarg, 1, MAX_ROUNDS, &v) < 0)
				return -EINVAL;
			cfg->rounds = (unsigned int)v;
			break;
		case 'q':
			cfg->seconds = 0.5;
			cfg->rounds = 2;
			break;
		case 'p':
			if (parse_producers(optarg, cfg) < 0) {
				fprintf(stderr, "tern-bench-log: bad --producers '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'z':
			if (parse_uint("--size", optarg, 1, MAX_SIZE, &v) < 0)
				return -EINVAL;
			cfg->size = (uint32_t)v;
			break;
		case 'i':
			if (strcmp(optarg, "spin") == 0) {
				cfg->idle_modes = 1u << IDLE_SPIN;
			} else if (strcmp(optarg, "block") == 0) {
				cfg->idle_modes = 1u << IDLE_BLOCK;
			} else if (strcmp(optarg, "both") == 0) {
				cfg->idle_modes = 1u << IDLE_SPIN | 1u << IDLE_BLOCK;
			} else {
				fprintf(stderr, "tern-bench-log: bad --idle '%s'\n", optarg);
				return -EINVAL;
			}
			break;
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

/* ---------------------------------------------------------------------------------- */

struct bench {
	struct bench_cfg cfg;
	char run_dir[PATH_MAX];
	void *payload;
	struct tern_log_entry *ents; /* max producers entries */
	uint64_t *start;	     /* append times by VLSN, a power of two >= max producers */
	uint64_t mask;
	struct acc base;
	struct acc sync[IDLE_MODES][MAX_PRODUCER_COUNTS];
	struct acc nosync[MAX_PRODUCER_COUNTS];
};

/* The baseline and every durable measurement, interleaved in rounds. */
static int
run_rounds(struct bench *b)
{
	const struct bench_cfg *cfg = &b->cfg;
	double slice = cfg->seconds / cfg->rounds;
	unsigned int r, i, m;
	int rc;

	for (r = 0; r < cfg->rounds && !stop_requested; r++) {
		rc = measure_baseline(cfg, b->run_dir, slice, b->payload, &b->base);
		if (rc < 0)
			return rc;
		for (m = 0; m < IDLE_MODES; m++) {
			if (!(cfg->idle_modes & 1u << m))
				continue;
			for (i = 0; i < cfg->n_producers && !stop_requested; i++) {
				rc = measure_log_sync(cfg, b->run_dir, (enum idle_mode)m,
						      cfg->producers[i], slice, b->ents, b->start,
						      b->mask, b->payload, &b->sync[m][i]);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench *b;
	struct sigaction sa;
	char base_dir[PATH_MAX];
	enum idle_mode nosync_mode = IDLE_SPIN;
	unsigned int i, m, max_p = 1;
	size_t cap = 1;
	const char *fs;
	int made_base, rc, status = EXIT_SUCCESS;

	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return EXIT_FAILURE;
	rc = parse_args(argc, argv, &b->cfg);
	if (rc != 0) {
		free(b);
		return rc > 0 ? EXIT_SUCCESS : 2;
	}
	for (i = 0; i < b->cfg.n_producers; i++)
		max_p = b->cfg.producers[i] > max_p ? b->cfg.producers[i] : max_p;
	while (cap < max_p)
		cap <<= 1;
	b->mask = cap - 1;
	b->payload = malloc(b->cfg.size);
	b->ents = calloc(max_p, sizeof(*b->ents));
	b->start = calloc(cap, sizeof(*b->start));
	if (b->payload == NULL || b->ents == NULL || b->start == NULL) {
		status = EXIT_FAILURE;
		goto out_free;
	}
	for (i = 0; i < b->cfg.size; i++)
		((uint8_t *)b->payload)[i] = (uint8_t)(i * 131 + 7);
	acc_init(&b->base);
	for (m = 0; m < IDLE_MODES; m++) {
		for (i = 0; i < MAX_PRODUCER_COUNTS; i++)
			acc_init(&b->sync[m][i]);
		if (b->cfg.idle_modes & 1u << m)
			nosync_mode = (enum idle_mode)m;
	}
	for (i = 0; i < MAX_PRODUCER_COUNTS; i++)
		acc_init(&b->nosync[i]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL); /* output cut off (| head): stop, but clean up */

	if (make_run_dir(&b->cfg, b->run_dir, sizeof(b->run_dir), base_dir, sizeof(base_dir),
			 &made_base) < 0) {
		status = EXIT_FAILURE;
		goto out_free;
	}
	fs = fs_name(b->run_dir);
	printf("bench=log dir=%s fs=%s seconds=%.2f rounds=%u size=%" PRIu32 " cpus=%ld\n",
	       b->run_dir, fs, b->cfg.seconds, b->cfg.rounds, b->cfg.size,
	       sysconf(_SC_NPROCESSORS_ONLN));
	if (strcmp(fs, "tmpfs") == 0)
		printf("bench=log warning=tmpfs_fdatasync_does_nothing\n");
	fflush(stdout);

	rc = run_rounds(b);
	if (rc == -ENOSYS || rc == -EPERM) {
		printf("bench=log skip=io_uring_unavailable err=%s\n", tern_errname(rc));
		status = EXIT_SKIP;
		goto out;
	}
	if (rc < 0) {
		status = EXIT_FAILURE;
		goto out;
	}
	print_baseline(&b->cfg, &b->base);
	for (m = 0; m < IDLE_MODES; m++) {
		if (!(b->cfg.idle_modes & 1u << m))
			continue;
		for (i = 0; i < b->cfg.n_producers; i++)
			print_sync(&b->cfg, (enum idle_mode)m, b->cfg.producers[i], &b->sync[m][i]);
	}
	fflush(stdout);
	for (i = 0; i < b->cfg.n_producers && !stop_requested; i++) {
		rc = measure_log_nosync(&b->cfg, b->run_dir, nosync_mode, b->cfg.producers[i],
					b->ents, b->payload, &b->nosync[i]);
		if (rc < 0) {
			status = EXIT_FAILURE;
			goto out;
		}
		print_nosync(&b->cfg, nosync_mode, b->cfg.producers[i], &b->nosync[i]);
		fflush(stdout);
	}
	print_ratios(&b->cfg, &b->base, (const struct acc(*)[MAX_PRODUCER_COUNTS])b->sync);
	fflush(stdout);
out:
	if (rmdir(b->run_dir) != 0)
		fprintf(stderr, "tern-bench-log: could not remove %s: %s\n", b->run_dir,
			strerror(errno));
	if (made_base)
		rmdir(base_dir);
out_free:
	free(b->start);
	free(b->ents);
	free(b->payload);
	free(b);
	return status;
}
