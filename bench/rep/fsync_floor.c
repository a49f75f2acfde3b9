/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/rep's fdatasync floor: appends of SIZE bytes to a fresh file in DIR, each
 * followed by fdatasync(), timed one by one, the way a log that syncs every commit
 * alone would do it. What a SYNC commit costs at best on this filesystem.
 *
 * Usage: tern-bench-rep-floor DIR [OPS [SIZE]]
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
#include <sys/statfs.h>
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

int
main(int argc, char **argv)
{
	unsigned long ops = 1000, size = 128, i, warm = 20;
	char path[4096], *buf;
	uint64_t *lat, t0, t1;
	struct statfs sf;
	int fd;

	if (argc == 2 && strcmp(argv[1], "--now") == 0) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: tern-bench-rep-floor DIR [OPS [SIZE]] | --now\n");
		return argc < 2 ? 2 : 0;
	}
	if (argc > 2)
		ops = strtoul(argv[2], NULL, 0);
	if (argc > 3)
		size = strtoul(argv[3], NULL, 0);
	if (ops == 0 || size == 0 || size > (1UL << 20)) {
		fprintf(stderr, "tern-bench-rep-floor: bad OPS or SIZE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fdatasync-floor.dat", argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "tern-bench-rep-floor: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (fstatfs(fd, &sf) != 0)
		sf.f_type = 0;
	buf = malloc(size);
	lat = calloc(ops, sizeof(*lat));
	if (buf == NULL || lat == NULL)
		return 1;
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
	t1 = now_ns();
	close(fd);
	unlink(path);
	qsort(lat, ops, sizeof(*lat), cmp_u64);
	printf("bench=floor test=fdatasync size=%lu ops=%lu ops_per_s=%.0f p50_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f max_us=%.1f fs=%s\n",
	       size, ops, (double)ops * 1e9 / (double)(t1 - t0), pct_us(lat, ops, 0.50),
	       pct_us(lat, ops, 0.99), pct_us(lat, ops, 0.999), (double)lat[ops - 1] / 1000.0,
	       fs_name(sf.f_type));
	free(buf);
	free(lat);
	return 0;
io_err:
	fprintf(stderr, "tern-bench-rep-floor: %s: %s\n", path, strerror(errno));
	close(fd);
	unlink(path);
	return 1;
}
