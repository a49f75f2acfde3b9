/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for log recovery (STYLE.md 12: fuzz decoders and recovery).
 *
 * The input (format in log_recovery_fuzz.h) becomes one or two segment files and maybe a
 * vlsn.idx in an in-memory driver; tern_log_open() recovers from them. When it opens, the
 * target scans every record, reads the first and last, appends one record, syncs it and
 * closes; then reopens, which must succeed and keep that record. It must never crash,
 * leak, read out of bounds or lose a record it reported durable.
 *
 * Seeds: make_seed_log_recovery DIR writes valid logs made by tern_log into DIR.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_heap.h>
#include <tern_io.h>
#include <tern_io_mem.h>
#include <tern_log.h>
#include <tern_time.h>
#include <tern_vlsn_index.h>

#include "log_recovery_fuzz.h"

#define SCAN_MAX	100000u	    /* records scanned at most (inputs are small) */
#define MEM_CAPACITY	(16u << 20) /* bytes of all files, so a log cannot grow without end */
#define SYNC_TIMEOUT_NS TERN_NS_PER_S

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t read_buf[FUZZ_LR_BATCH_BYTES];
static int verbose; /* TERN_FUZZ_VERBOSE set: say what each input did, keep diagnostics */

/* Put @p len bytes as file @p name, zero-padded to @p pad bytes. */
static int
put_file(struct tern_io *io, const char *name, const uint8_t *p, size_t len, size_t pad)
{
	uint8_t *buf;
	int rc;

	if (pad <= len)
		return tern_io_mem_file_put(io, name, p, len);
	buf = calloc(1, pad);
	if (buf == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(buf, p, len);
	rc = tern_io_mem_file_put(io, name, buf, pad);
	free(buf);
	return rc;
}

static int
put_input(struct tern_io *io, const uint8_t *data, size_t size)
{
	size_t len1, len2 = 0, pad;
	uint8_t flags, first;
	char name[TERN_IO_NAME_MAX];
	int rc;

	if (size < FUZZ_LR_HDR_SIZE)
		return -EINVAL;
	flags = data[0];
	first = data[1];
	len1 = fuzz_lr_get32(data + 2);
	if (flags & FUZZ_LR_TWO_SEGMENTS)
		len2 = fuzz_lr_get32(data + 6);
	data += FUZZ_LR_HDR_SIZE;
	size -= FUZZ_LR_HDR_SIZE;
	pad = (flags & FUZZ_LR_PAD) ? FUZZ_LR_SEGMENT_SIZE : 0;

	if (len1 > size)
		len1 = size;
	snprintf(name, sizeof(name), "%08x.tlg", (unsigned int)first);
	rc = put_file(io, name, data, len1, pad);
	if (rc < 0)
		return rc;
	data += len1;
	size -= len1;
	if (flags & FUZZ_LR_TWO_SEGMENTS) {
		if (len2 > size)
			len2 = size;
		snprintf(name, sizeof(name), "%08x.tlg", (unsigned int)first + 1);
		rc = put_file(io, name, data, len2, pad);
		if (rc < 0)
			return rc;
		data += len2;
		size -= len2;
	}
	if (flags & FUZZ_LR_INDEX)
		return tern_io_mem_file_put(io, TERN_VLSN_INDEX_FILE, data, size);
	return 0;
}

/* Read every record from the first VLSN on, and the first and last by VLSN. */
static void
scan_all(struct tern_log *log)
{
	struct tern_log_scan *s = NULL;
	struct tern_log_entry e;
	uint64_t first = tern_log_first_vlsn(log), last = tern_log_last_vlsn(log);
	unsigned int i;
	int rc;

	if (tern_log_scan_open(log, first, &s) == 0) {
		for (i = 0; i < SCAN_MAX; i++) {
			rc = tern_log_scan_next(s, &e);
			if (rc <= 0)
				break;
			/* Touch the payload so ASan checks every byte the scanner hands out. */
			if (e.len > 0 && e.data != NULL) {
				volatile uint8_t sink = ((const uint8_t *)e.data)[0];

				sink ^= ((const uint8_t *)e.data)[e.len - 1];
				(void)sink;
			}
		}
		tern_log_scan_close(s);
	}
	memset(&e, 0, sizeof(e));
	tern_log_read(log, first, &e, read_buf, sizeof(read_buf));
	if (last >= first)
		tern_log_read(log, last, &e, read_buf, sizeof(read_buf));
}

static void
open_opts(struct tern_log_opts *o, struct tern_io *io)
{
	tern_log_opts_init(o, sizeof(*o));
	o->io = io;
	o->segment_size = FUZZ_LR_SEGMENT_SIZE;
	o->batch_bytes = FUZZ_LR_BATCH_BYTES;
	o->index_stride = FUZZ_LR_INDEX_STRIDE;
}

/*
 * Open, scan, append one record, sync, close. @return 1 when the record was appended and
 * made durable and the log closed cleanly (its VLSN in @p *vlsn), 0 when not, -1 when the
 * log did not open.
 */
static int
open_scan_append(struct tern_io *io, uint64_t *vlsn)
{
	static const char payload[] = "fuzz";
	struct tern_log_opts o;
	struct tern_log_entry e;
	struct tern_log *log = NULL;
	int rc, ok = 0;

	open_opts(&o, io);
	rc = tern_log_open(&o, &log);
	if (verbose)
		fprintf(stderr, "fuzz_log_recovery: open: %s, VLSNs %" PRIu64 "..%" PRIu64 "\n",
			tern_strerror(rc), rc == 0 ? tern_log_first_vlsn(log) : 0,
			rc == 0 ? tern_log_last_vlsn(log) : 0);
	if (rc != 0)
		return -1;
	scan_all(log);

	memset(&e, 0, sizeof(e));
	e.vlsn = tern_log_last_vlsn(log) + 1;
	e.term = tern_log_last_term(log) ? tern_log_last_term(log) : 1;
	e.txn_id = 1;
	e.type = TERN_LOG_TYPE_USER;
	e.len = sizeof(payload);
	e.data = payload;
	if (e.vlsn != 0 && tern_log_append(log, &e, 1, TERN_LOG_SYNC) == 1 &&
	    tern_log_sync(log, SYNC_TIMEOUT_NS) == 0 && tern_log_durable_vlsn(log) >= e.vlsn)
		ok = 1;
	rc = tern_log_close(log);
	if (ok && rc == 0) {
		*vlsn = e.vlsn;
		return 1;
	}
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	verbose = getenv("TERN_FUZZ_VERBOSE") != NULL;
	if (!verbose)
		tern_diag_set_level("tern.*", TERN_DIAG_CRIT);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tern_io_mem_opts mo;
	struct tern_heap_stats hs;
	struct tern_io *io = NULL;
	struct tern_log_opts o;
	struct tern_log *log;
	uint64_t vlsn = 0;

	tern_heap_stats_reset();
	tern_io_mem_opts_init(&mo, sizeof(mo));
	mo.capacity = MEM_CAPACITY;
	if (tern_io_mem_create(&mo, &io) != 0)
		return 0;
	if (put_input(io, data, size) == 0 && open_scan_append(io, &vlsn) == 1) {
		/*
		 * The log recovered this input, took a record, reported it durable and closed
		 * cleanly: reopening must succeed and find that record.
		 */
		open_opts(&o, io);
		if (tern_log_open(&o, &log) != 0)
			__builtin_trap();
		if (tern_log_durable_vlsn(log) < vlsn || tern_log_last_vlsn(log) < vlsn)
			__builtin_trap();
		scan_all(log);
		tern_log_close(log);
	}
	tern_io_destroy(io);

	/* Everything lib/ and the driver allocated is freed again. */
	tern_heap_stats_get(&hs);
	if (hs.allocs != hs.frees)
		__builtin_trap();
	return 0;
}
