/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/rep's fdatasync floor: appends of SIZE bytes to a fresh file in DIR, each
 * followed by fdatasync(), timed one by one, the way a log that syncs every commit
 * alone would do it. What a SYNC commit costs at best on this filesystem.
 * With WRITERS > 1, that many processes do it at once, each in its own file: what the
 * fdatasyncs of a group whose nodes share one disk cost (printed as fdatasync_shared).
 *
 * Usage: tern-bench-rep-floor DIR [OPS [SIZE [WRITERS]]]
 *        tern-bench-rep-floor --now    (prints CLOCK_MONOTONIC in ns: the orchestrator's
 *                                       clock for perf record -k monotonic windows)
 * Prints: bench=floor test=fdatasync size=SIZE ops=N ops_per_s=.. p50_us=.. p99_us=..
 *         p999_us=.. max_us=.. fs=TYPE
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_us(const uint64_t *v, unsigned long n, double p)
{
	return n == 0 ? 0.0 : (double)v[(unsigned long)(p * (double)(n - 1) + 0.5)] / 1000.0;
}

static const char *
fs_name(long type)
{
	switch (type) {
	case 0xEF53:
		return "ext4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x01021994:
		return "tmpfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

/*
 * One writer: @p ops appends of @p size bytes to its own file in @p dir, each followed by
 * fdatasync(), after a few unmeasured ones; latencies into @p lat, the whole loop's time
 * into @p elapsed. Returns 0, or 1 after saying what failed.
 */
static int
writer_run(const char *dir, unsigned int k, unsigned long ops, unsigned long size, uint64_t *lat,
	   uint64_t *elapsed)
{
	unsigned long i, warm = 20;
	char path[4096], *buf;
	uint64_t t0;
	int fd;

	snprintf(path, sizeof(path), "%s/fdatasync-floor.%u.dat", dir, k);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "tern-bench-rep-floor: %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf = malloc(size);
	if (buf == NULL)
		goto io_err;
	memset(buf, 0xA5, size);
	/* A few unmeasured appends first: the file's first blocks, the journal warm. */
	for (i = 0; i < warm; i++)
		if (pwrite(fd, buf, size, (off_t)(i * size)) != (ssize_t)size || fdatasync(fd) != 0)
			goto io_err;
	t0 = now_ns();
	for (i = 0; i < ops; i++) {
		uint64_t s = now_ns();

		if (pwrite(fd, buf, size, (off_t)((warm + i) * size)) != (ssize_t)size ||
		    fdatasync(fd) != 0)
			goto io_err;
		lat[i] = now_ns() - s;
	}
	*elapsed = now_ns() - t0;
	close(fd);
	unlink(path);
	free(buf);
	return 0;
io_err:
	fprintf(stderr, "tern-bench-rep-floor: %s: %s\n", path, strerror(errno));
	close(fd);
	unlink(path);
	free(buf);
	return 1;
}

int
main(int argc, char **argv)
{
	unsigned long ops = 1000, size = 128, writers = 1, n, k;
	uint64_t *lat, *elapsed, t_max = 0;
	struct statfs sf;
	long fs_type;
	int go[2], bad = 0;

	if (argc == 2 && strcmp(argv[1], "--now") == 0) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: tern-bench-rep-floor DIR [OPS [SIZE [WRITERS]]] | --now\n");
		return argc < 2 ? 2 : 0;
	}
	if (argc > 2)
		ops = strtoul(argv[2], NULL, 0);
	if (argc > 3)
		size = strtoul(argv[3], NULL, 0);
	if (argc > 4)
		writers = strtoul(argv[4], NULL, 0);
	if (ops == 0 || ops > (1UL << 24) || size == 0 || size > (1UL << 20) || writers == 0 ||
	    writers > 16) {
		fprintf(stderr, "tern-bench-rep-floor: bad OPS, SIZE or WRITERS (1..16)\n");
		return 2;
	}
	n = ops * writers;
	/* Shared with the writer processes: each fills its own part. */
	lat = mmap(NULL, (n + writers) * sizeof(*lat), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lat == MAP_FAILED || pipe(go) != 0) {
		fprintf(stderr, "tern-bench-rep-floor: %s\n", strerror(errno));
		return 1;
	}
	elapsed = lat + n;
	/* Writer processes, started together when the pipe closes, as a group's nodes sync. */
	for (k = 0; k < writers; k++) {
		pid_t pid = fork();
		char c;

		if (pid < 0) {
			fprintf(stderr, "tern-bench-rep-floor: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid > 0)
			continue;
		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(writer_run(argv[1], (unsigned int)k, ops, size, lat + k * ops, &elapsed[k]));
	}
	close(go[0]);
	close(go[1]);
	for (k = 0; k < writers; k++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	}
	if (bad)
		return 1;
	fs_type = statfs(argv[1], &sf) == 0 ? (long)sf.f_type : 0;
	for (k = 0; k < writers; k++)
		t_max = elapsed[k] > t_max ? elapsed[k] : t_max;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	if (writers == 1)
		printf("bench=floor test=fdatasync size=%lu ops=%lu", size, ops);
	else
		printf("bench=floor test=fdatasync_shared writers=%lu size=%lu ops=%lu", writers,
		       size, n);
	printf(" ops_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f fs=%s\n",
	       (double)n * 1e9 / (double)t_max, pct_us(lat, n, 0.50), pct_us(lat, n, 0.99),
	       pct_us(lat, n, 0.999), (double)lat[n - 1] / 1000.0, fs_name(fs_type));
	return 0;
}
