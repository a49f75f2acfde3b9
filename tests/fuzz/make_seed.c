/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed maker for fuzz_log_recovery: writes small valid logs, made by tern_log itself over
 * the in-memory driver, into a corpus directory, in the fuzzer's input format
 * (log_recovery_fuzz.h). Usage: make_seed_log_recovery DIR (DIR is made when missing).
 * The seeds are deterministic: running it again rewrites the same files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_io.h>
#include <tern_io_mem.h>
#include <tern_log.h>
#include <tern_time.h>
#include <tern_vlsn_index.h>

#include "log_recovery_fuzz.h"

#define MAX_SEGMENTS 2
#define FILE_CAP     (2u * FUZZ_LR_SEGMENT_SIZE)

/* What a seed's log holds. */
struct seed_spec {
	const char *name;     /* file name in the corpus */
	unsigned int records; /* records before the checkpoint (if any) */
	uint32_t payload_min; /* payload sizes cycle from min to max */
	uint32_t payload_max;
	unsigned int after_ckpt; /* records after a checkpoint; 0 = no checkpoint */
	int with_index;		 /* put vlsn.idx in the seed */
	unsigned int segments;	 /* segments the log must span */
};

static const struct seed_spec seeds[] = {
	{"one-segment", 12, 0, 200, 0, 1, 1},
	{"one-segment-no-index", 12, 0, 200, 0, 0, 1},
	{"checkpoint", 20, 8, 64, 10, 1, 1},
	{"two-segments", 90, 700, 1200, 0, 1, 2},
};

struct seg_list {
	unsigned int n;
	unsigned int num[8];
};

static int
collect_segment(void *arg, const char *name)
{
	struct seg_list *l = arg;
	unsigned int num;
	char tail[8];

	if (sscanf(name, "%8x%7s", &num, tail) != 2 || strcmp(tail, ".tlg") != 0)
		return 0;
	if (l->n == sizeof(l->num) / sizeof(l->num[0]))
		return -E2BIG;
	l->num[l->n++] = num;
	return 0;
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

static int
append_records(struct tern_log *log, unsigned int n, const struct seed_spec *sp, uint64_t *vlsn)
{
	static uint8_t payload[FUZZ_LR_BATCH_BYTES / 2];
	struct tern_log_entry e;
	uint32_t span = sp->payload_max - sp->payload_min + 1;
	unsigned int i;
	int rc;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 37 + 11);
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		e.vlsn = ++*vlsn;
		e.term = 1 + *vlsn / 16;
		e.txn_id = 1000 + *vlsn;
		e.timestamp_ns = 1700000000ull * TERN_NS_PER_S + *vlsn * TERN_NS_PER_MS;
		e.type = TERN_LOG_TYPE_USER + (uint16_t)(*vlsn % 3);
		e.len = sp->payload_min + (uint32_t)((*vlsn * 7919) % span);
		e.data = payload;
		rc = tern_log_append(log, &e, 1, TERN_LOG_SYNC);
		if (rc != 1)
			return rc < 0 ? rc : -ENOBUFS;
		while (tern_log_poll(log) != 0)
			;
	}
	return tern_log_sync(log, TERN_NS_PER_S);
}

/* Build the log of @p sp in a fresh mem driver; the files stay in @p io after close. */
static int
build_log(const struct seed_spec *sp, struct tern_io *io)
{
	struct tern_log_opts o;
	struct tern_log *log;
	uint64_t vlsn = 0;
	int rc;

	tern_log_opts_init(&o, sizeof(o));
	o.io = io;
	o.segment_size = FUZZ_LR_SEGMENT_SIZE;
	o.batch_bytes = FUZZ_LR_BATCH_BYTES;
	o.index_stride = FUZZ_LR_INDEX_STRIDE;
	rc = tern_log_open(&o, &log);
	if (rc < 0)
		return rc;
	rc = append_records(log, sp->records, sp, &vlsn);
	if (rc == 0 && sp->after_ckpt > 0) {
		rc = tern_log_checkpoint(log, 1700000001ull * TERN_NS_PER_S);
		if (rc == 0)
			rc = append_records(log, sp->after_ckpt, sp, &vlsn);
	}
	if (tern_log_close(log) < 0 && rc == 0)
		rc = -EIO;
	return rc;
}

/* Drop the zero tail of a preallocated segment; the fuzzer pads it back. */
static size_t
trim_zeros(const uint8_t *p, size_t len)
{
	while (len > 0 && p[len - 1] == 0)
		len--;
	return len;
}

static int
write_seed(const char *dir, const struct seed_spec *sp)
{
	static uint8_t file[MAX_SEGMENTS + 1][FILE_CAP];
	static uint8_t out[FUZZ_LR_HDR_SIZE + sizeof(file)];
	struct tern_io_mem_opts mo;
	struct tern_io *io = NULL;
	struct seg_list segs = {0};
	size_t len[MAX_SEGMENTS + 1] = {0}, n = FUZZ_LR_HDR_SIZE;
	char name[TERN_IO_NAME_MAX], path[4096];
	uint8_t flags = 0;
	unsigned int i;
	ssize_t got;
	FILE *f;
	int rc, pad = 1;

	tern_io_mem_opts_init(&mo, sizeof(mo));
	rc = tern_io_mem_create(&mo, &io);
	if (rc < 0)
		return rc;
	rc = build_log(sp, io);
	if (rc < 0)
		goto out;
	rc = tern_io_list(io, collect_segment, &segs);
	if (rc < 0)
		goto out;
	qsort(segs.num, segs.n, sizeof(segs.num[0]), cmp_uint);
	if (segs.n != sp->segments || segs.num[0] > 0xff ||
	    (segs.n == 2 && segs.num[1] != segs.num[0] + 1)) {
		fprintf(stderr, "make_seed: %s: the log made %u segment(s) (first %08x), want %u\n",
			sp->name, segs.n, segs.n ? segs.num[0] : 0, sp->segments);
		rc = -ERANGE;
		goto out;
	}
	for (i = 0; i < segs.n; i++) {
		snprintf(name, sizeof(name), "%08x.tlg", segs.num[i]);
		got = tern_io_mem_file_get(io, name, file[i], FILE_CAP);
		if (got < 0 || (size_t)got > FILE_CAP) {
			rc = got < 0 ? (int)got : -EFBIG;
			goto out;
		}
		len[i] = (size_t)got;
		/* Trim only files the log preallocated to the full segment size. */
		if (len[i] != FUZZ_LR_SEGMENT_SIZE)
			pad = 0;
	}
	if (sp->with_index) {
		got = tern_io_mem_file_get(io, TERN_VLSN_INDEX_FILE, file[MAX_SEGMENTS], FILE_CAP);
		if (got < 0 || (size_t)got > FILE_CAP) {
			fprintf(stderr, "make_seed: %s: no %s after close\n", sp->name,
				TERN_VLSN_INDEX_FILE);
			rc = got < 0 ? (int)got : -EFBIG;
			goto out;
		}
		len[MAX_SEGMENTS] = (size_t)got;
		flags |= FUZZ_LR_INDEX;
	}
	if (pad) {
		flags |= FUZZ_LR_PAD;
		for (i = 0; i < segs.n; i++)
			len[i] = trim_zeros(file[i], len[i]);
	}
	if (segs.n == 2)
		flags |= FUZZ_LR_TWO_SEGMENTS;

	out[0] = flags;
	out[1] = (uint8_t)segs.num[0];
	fuzz_lr_put32(out + 2, (uint32_t)len[0]);
	fuzz_lr_put32(out + 6, (uint32_t)len[1]);
	for (i = 0; i < segs.n; i++) {
		memcpy(out + n, file[i], len[i]);
		n += len[i];
	}
	memcpy(out + n, file[MAX_SEGMENTS], len[MAX_SEGMENTS]);
	n += len[MAX_SEGMENTS];

	snprintf(path, sizeof(path), "%s/seed-%s", dir, sp->name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(out, 1, n, f) != n || fclose(f) != 0) {
		rc = -errno;
		fprintf(stderr, "make_seed: cannot write %s: %s\n", path, strerror(errno));
		goto out;
	}
	printf("make_seed: %s (%zu bytes, %u segment(s)%s)\n", path, n, segs.n,
	       sp->with_index ? ", vlsn.idx" : "");
	rc = 0;
out:
	if (rc < 0 && rc != -ERANGE)
		fprintf(stderr, "make_seed: %s: %s\n", sp->name, tern_strerror(rc));
	tern_io_destroy(io);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned int i;
	int failed = 0;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr,
			"usage: %s CORPUS_DIR\n"
			"Writes valid logs made by tern_log, as seeds for "
			"fuzz_log_recovery, into CORPUS_DIR.\n",
			argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "make_seed: cannot make %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	tern_diag_set_level("tern.*", TERN_DIAG_ERR);
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		if (write_seed(argv[1], &seeds[i]) < 0)
			failed++;
	}
	return failed ? 1 : 0;
}
