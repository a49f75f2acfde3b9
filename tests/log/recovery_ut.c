/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>

#include <tern_crc32c.h>

#include "log_fixture.h"

#define IMG_MAX (4 * FX_SEG)

/* A disk image: the files of a log, taken from a mem driver. */
struct image {
	unsigned int n;
	char name[8][TERN_IO_NAME_MAX];
	uint8_t *data[8];
	size_t len[8];
};

static struct tern_io *grab_io;

static int
grab_file(void *arg, const char *name)
{
	struct image *im = arg;
	ssize_t n;

	if (im->n == 8)
		return -ENOSPC;
	snprintf(im->name[im->n], TERN_IO_NAME_MAX, "%s", name);
	im->data[im->n] = malloc(IMG_MAX);
	n = tern_io_mem_file_get(grab_io, name, im->data[im->n], IMG_MAX);
	if (n < 0 || n > IMG_MAX)
		return -EIO;
	im->len[im->n] = (size_t)n;
	im->n++;
	return 0;
}

static void
image_take(struct image *im, struct tern_io *io)
{
	memset(im, 0, sizeof(*im));
	grab_io = io;
	TERN_CU_ASSERT_FATAL(tern_io_list(io, grab_file, im) == 0);
}

static void
image_free(struct image *im)
{
	unsigned int i;

	for (i = 0; i < im->n; i++)
		free(im->data[i]);
	im->n = 0;
}

static int
image_find(const struct image *im, const char *name)
{
	unsigned int i;

	for (i = 0; i < im->n; i++)
		if (strcmp(im->name[i], name) == 0)
			return (int)i;
	return -1;
}

/* A fresh mem driver holding the image (optionally without the VLSN index). */
static struct tern_io *
image_put(const struct image *im, int with_index)
{
	struct tern_io *io = fx_mem();
	unsigned int i;

	for (i = 0; i < im->n; i++) {
		if (!with_index && strncmp(im->name[i], "vlsn.idx", 8) == 0)
			continue;
		TERN_CU_ASSERT_FATAL(tern_io_mem_file_put(io, im->name[i], im->data[i],
							  im->len[i]) == 0);
	}
	return io;
}

/* A log of entries 1..n in one segment, synced, closed without a checkpoint after them. */
static struct tern_io *
make_log(uint64_t n, uint64_t *last_lsn)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_entry e;
	uint8_t buf[512];

	fx_append_range(log, 1, n, TERN_LOG_SYNC);
	fx_sync(log);
	TERN_CU_ASSERT_FATAL(tern_log_read(log, n, &e, buf, sizeof(buf)) == 0);
	*last_lsn = e.lsn;
	/* Power cut: nothing more is written (no closing checkpoint). */
	tern_io_mem_crash(io, TERN_IO_MEM_CRASH_NONE);
	tern_log_close(log);
	return io;
}

static void
recovery_cuts_a_torn_tail_at_every_offset_of_the_last_record(void)
{
	uint64_t last_lsn, off, rec_size = 48 + fx_len(30); /* the padding is zero anyway */
	struct tern_io *io = make_log(30, &last_lsn);
	struct image im;
	int seg;

	image_take(&im, io);
	tern_io_destroy(io);
	seg = image_find(&im, "00000001.tlg");
	TERN_CU_ASSERT_FATAL(seg >= 0);
	TERN_CU_ASSERT_FATAL(fx_len(30) > 0);
	for (off = 0; off < rec_size; off++) {
		struct image torn = im;
		uint8_t *copy = malloc(im.len[seg]);
		uint32_t at = (uint32_t)last_lsn;
		struct tern_log *log;

		memcpy(copy, im.data[seg], im.len[seg]);
		/* The write of the last record reached the disk up to byte off only. */
		memset(copy + at + off, 0, rec_size - off);
		torn.data[seg] = copy;
		io = image_put(&torn, 0);
		log = fx_open(io);
		UT_EQ_INT(tern_log_last_vlsn(log), 29);
		fx_check_range(log, 1, 29);
		/* The log goes on from the cut, and keeps what it writes. */
		fx_append_range(log, 30, 31, TERN_LOG_SYNC);
		fx_sync(log);
		UT_EQ_INT(tern_log_close(log), 0);
		log = fx_open(io);
		UT_EQ_INT(tern_log_last_vlsn(log), 31);
		fx_check_range(log, 1, 31);
		UT_EQ_INT(tern_log_close(log), 0);
		tern_io_destroy(io);
		free(copy);
		if (CU_get_number_of_failures() > 0) {
			ut_note("torn at byte %llu of the last record", (unsigned long long)off);
			break;
		}
	}
	image_free(&im);
}

static void
recovery_cuts_a_torn_tail_of_garbage(void)
{
	uint64_t last_lsn;
	struct tern_io *io = make_log(30, &last_lsn);
	struct tern_log *log;
	struct tern_log_stats st;
	struct tern_prng p;
	struct image im;
	int seg;

	image_take(&im, io);
	tern_io_destroy(io);
	seg = image_find(&im, "00000001.tlg");
	tern_prng_init(&p, 5);
	/* Half the last record, then noise where the rest should be. */
	tern_prng_fill(&p, im.data[seg] + (uint32_t)last_lsn + 20, 400);
	io = image_put(&im, 0);
	ut_diag_capture(1);
	log = fx_open(io);
	CU_ASSERT(ut_diag_contains("torn tail"));
	tern_log_stats_get(log, &st);
	CU_ASSERT(st.truncated_bytes >= 400);
	UT_EQ_INT(tern_log_last_vlsn(log), 29);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
	image_free(&im);
}

static void
recovery_refuses_a_corrupt_record_in_the_middle_naming_file_and_offset(void)
{
	uint64_t last_lsn;
	struct tern_io *io = make_log(30, &last_lsn);
	struct tern_log_opts o;
	struct tern_log *log = NULL, *l2;
	struct tern_log_entry e;
	uint8_t buf[512];
	char where[64];

	/* Find entry 12's offset, then flip one bit of its payload. */
	l2 = fx_open(io);
	TERN_CU_ASSERT_FATAL(tern_log_read(l2, 12, &e, buf, sizeof(buf)) == 0);
	tern_io_mem_crash(io, TERN_IO_MEM_CRASH_NONE);
	tern_log_close(l2);
	tern_io_remove(io, "vlsn.idx");
	TERN_CU_ASSERT_FATAL(tern_io_mem_flip_bit(io, "00000001.tlg", (uint32_t)e.lsn + 50, 3) == 0);
	fx_opts(&o, io);
	ut_diag_capture(1);
	UT_EQ_INT(tern_log_open(&o, &log), -TERN_ECORRUPT);
	CU_ASSERT_PTR_NULL(log);
	snprintf(where, sizeof(where), "offset %#x", (uint32_t)e.lsn);
	CU_ASSERT(ut_diag_contains("00000001.tlg"));
	CU_ASSERT(ut_diag_contains(where));
	CU_ASSERT(ut_diag_contains("CRC mismatch"));
	/* Refusing changed nothing: flip it back and everything is there. */
	TERN_CU_ASSERT_FATAL(tern_io_mem_flip_bit(io, "00000001.tlg", (uint32_t)e.lsn + 50, 3) == 0);
	log = fx_open(io);
	fx_check_range(log, 1, 30);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
recovery_refuses_a_zeroed_block_in_the_middle(void)
{
	uint64_t last_lsn;
	struct tern_io *io = make_log(30, &last_lsn);
	struct tern_log_opts o;
	struct tern_log *log = NULL;
	struct image im;
	int seg;

	image_take(&im, io);
	tern_io_destroy(io);
	seg = image_find(&im, "00000001.tlg");
	memset(im.data[seg] + 512, 0, 512); /* a lost block across several records */
	io = image_put(&im, 0);
	fx_opts(&o, io);
	ut_diag_capture(1);
	UT_EQ_INT(tern_log_open(&o, &log), -TERN_ECORRUPT);
	CU_ASSERT(ut_diag_contains("refusing to open"));
	tern_io_destroy(io);
	image_free(&im);
}

static void
recovery_refuses_corruption_in_an_earlier_segment(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_opts o;

	fx_append_range(log, 1, 1200, TERN_LOG_SYNC);
	fx_sync(log);
	tern_io_mem_crash(io, TERN_IO_MEM_CRASH_NONE);
	tern_log_close(log);
	TERN_CU_ASSERT_FATAL(tern_io_mem_flip_bit(io, "00000001.tlg", FX_SEG / 2, 0) == 0);
	fx_opts(&o, io);
	log = NULL;
	ut_diag_capture(1);
	UT_EQ_INT(tern_log_open(&o, &log), -TERN_ECORRUPT);
	CU_ASSERT(ut_diag_contains("CRC mismatch in segment 00000001.tlg at offset 0x"));
	CU_ASSERT(ut_diag_contains("refusing to open"));
	tern_io_destroy(io);
}

static void
recovery_drops_a_segment_created_but_never_written(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	uint8_t zeros[4096] = {0};

	fx_append_range(log, 1, 100, TERN_LOG_SYNC);
	fx_sync(log);
	tern_io_mem_crash(io, TERN_IO_MEM_CRASH_NONE);
	tern_log_close(log);
	/* The crash came between creating segment 2 and writing its first batch. */
	TERN_CU_ASSERT_FATAL(tern_io_mem_file_put(io, "00000002.tlg", zeros, sizeof(zeros)) == 0);
	ut_diag_capture(1);
	log = fx_open(io);
	CU_ASSERT(ut_diag_contains("removed segment 00000002.tlg"));
	UT_EQ_INT(tern_log_last_vlsn(log), 100);
	fx_append_range(log, 101, 110, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 1, 110);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
recovery_of_a_torn_first_segment_gives_an_empty_log(void)
{
	struct tern_io *io = fx_mem();
	uint8_t junk[256];
	struct tern_log *log;

	memset(junk, 0, sizeof(junk));
	memcpy(junk, "TERNS", 5); /* the header's first bytes made it, nothing else */
	TERN_CU_ASSERT_FATAL(tern_io_mem_file_put(io, "00000001.tlg", junk, sizeof(junk)) == 0);
	log = fx_open(io);
	UT_EQ_INT(tern_log_last_vlsn(log), 0);
	fx_append_range(log, 1, 5, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 1, 5);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
recovery_refuses_a_missing_segment(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_opts o;

	fx_append_range(log, 1, 1500, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	UT_EQ_INT(tern_io_remove(io, "00000002.tlg"), 0);
	fx_opts(&o, io);
	log = NULL;
	ut_diag_capture(1);
	UT_EQ_INT(tern_log_open(&o, &log), -TERN_ECORRUPT);
	CU_ASSERT(ut_diag_contains("00000002.tlg is missing"));
	tern_io_destroy(io);
}

/* Rewrite segment 1's version field (and the header CRC, so only the version differs). */
static void
seg1_version_set(struct tern_io *io, uint32_t version)
{
	uint8_t seg[FX_SEG];
	uint32_t crc;
	ssize_t n;

	n = tern_io_mem_file_get(io, "00000001.tlg", seg, sizeof(seg));
	TERN_CU_ASSERT_FATAL(n == FX_SEG);
	memcpy(seg + 8, &version, 4);
	crc = tern_crc32c(seg, 60);
	memcpy(seg + 60, &crc, 4);
	TERN_CU_ASSERT_FATAL(tern_io_mem_file_put(io, "00000001.tlg", seg, (size_t)n) == 0);
	tern_io_remove(io, "vlsn.idx");
}

static void
recovery_refuses_a_segment_of_an_unknown_version(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_opts o;

	fx_append_range(log, 1, 10, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	seg1_version_set(io, 99);
	fx_opts(&o, io);
	log = NULL;
	ut_diag_capture(1);
	UT_EQ_INT(tern_log_open(&o, &log), -TERN_EFORMAT);
	CU_ASSERT(ut_diag_contains("version 99"));
	tern_io_destroy(io);
}

/* Version 1 segments (records without flags) are still read, and appended to. */
static void
recovery_reads_a_version_1_segment(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);

	fx_append_range(log, 1, 10, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	seg1_version_set(io, 1);
	log = fx_open(io);
	UT_EQ_INT(tern_log_last_vlsn(log), 10);
	fx_check_range(log, 1, 10);
	fx_append_range(log, 11, 20, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 1, 20);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

/*
 * Many seeded runs: appends with mixed sync modes, a torn power cut at a random moment,
 * recovery. Every entry that was reported durable must come back intact, and the log must
 * be a gap-free prefix of what was appended.
 */
static void
recovery_after_torn_power_cuts_keeps_every_durable_entry(void)
{
	uint64_t seed;

	for (seed = 1; seed <= ut_seeds(1000); seed++) {
		struct tern_io_mem_opts mo;
		struct tern_io *io = NULL;
		struct tern_log *log;
		struct tern_prng p;
		uint64_t v = 1, durable, steps, i;

		tern_prng_init(&p, seed);
		tern_io_mem_opts_init(&mo, sizeof(mo));
		mo.seed = seed;
		TERN_CU_ASSERT_FATAL(tern_io_mem_create(&mo, &io) == 0);
		fx_batches = 2 + (unsigned int)(seed % 4); /* the ring of buffers wraps */
		log = fx_open(io);
		steps = 50 + tern_prng_below(&p, 1500);
		for (i = 0; i < steps; i++) {
			enum tern_log_sync m = (enum tern_log_sync)tern_prng_below(&p, 3);
			struct tern_log_entry e;
			uint8_t buf[512];

			if (tern_prng_chance(&p, 0.6)) {
				fx_entry(&e, v, 1, buf);
				if (tern_log_append(log, &e, 1, m) == 1)
					v++;
			}
			if (tern_prng_chance(&p, 0.5))
				tern_log_poll(log);
			if (tern_prng_chance(&p, 0.002))
				tern_log_checkpoint(log, 0);
		}
		durable = tern_log_durable_vlsn(log);
		tern_io_mem_crash(io, TERN_IO_MEM_CRASH_TORN);
		tern_log_close(log);
		log = fx_open(io);
		if (tern_log_last_vlsn(log) < durable || tern_log_last_vlsn(log) >= v)
			ut_note("seed %llu: recovered to %llu, durable was %llu, appended %llu",
				(unsigned long long)seed, (unsigned long long)tern_log_last_vlsn(log),
				(unsigned long long)durable, (unsigned long long)v - 1);
		CU_ASSERT(tern_log_last_vlsn(log) >= durable);
		CU_ASSERT(tern_log_last_vlsn(log) < v);
		fx_check_range(log, 1, tern_log_last_vlsn(log));
		UT_EQ_INT(tern_log_close(log), 0);
		tern_io_destroy(io);
		if (CU_get_number_of_failures() > 0) {
			ut_note("failing seed %llu (TERN_UT_SEEDS=%llu replays up to it)",
				(unsigned long long)seed, (unsigned long long)seed);
			break;
		}
	}
	fx_batches = 2;
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("recovery", NULL, NULL);
	CU_ADD_TEST(s, recovery_cuts_a_torn_tail_at_every_offset_of_the_last_record);
	CU_ADD_TEST(s, recovery_cuts_a_torn_tail_of_garbage);
	CU_ADD_TEST(s, recovery_refuses_a_corrupt_record_in_the_middle_naming_file_and_offset);
	CU_ADD_TEST(s, recovery_refuses_a_zeroed_block_in_the_middle);
	CU_ADD_TEST(s, recovery_refuses_corruption_in_an_earlier_segment);
	CU_ADD_TEST(s, recovery_drops_a_segment_created_but_never_written);
	CU_ADD_TEST(s, recovery_of_a_torn_first_segment_gives_an_empty_log);
	CU_ADD_TEST(s, recovery_refuses_a_missing_segment);
	CU_ADD_TEST(s, recovery_refuses_a_segment_of_an_unknown_version);
	CU_ADD_TEST(s, recovery_reads_a_version_1_segment);
	CU_ADD_TEST(s, recovery_after_torn_power_cuts_keeps_every_durable_entry);
	return tern_ut_run(argc, argv);
}
