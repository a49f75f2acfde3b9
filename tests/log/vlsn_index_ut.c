/* SPDX-License-Identifier: BSD-3-Clause */
#include <tern_vlsn_index.h>

#include "log_fixture.h"

static void
vlsn_index_keeps_every_stride_th_vlsn_and_finds_the_nearest(void)
{
	struct tern_vlsn_index idx;
	uint64_t v, base, lsn;

	TERN_CU_ASSERT_FATAL(tern_vlsn_index_init(&idx, 10) == 0);
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 1, &base, &lsn), -ENOENT);
	for (v = 5; v <= 1000; v++)
		TERN_CU_ASSERT_FATAL(tern_vlsn_index_add(&idx, v, v * 100) == 0);
	UT_EQ_INT(idx.first, 5);
	UT_EQ_INT(idx.last, 1000);
	UT_EQ_INT(idx.n, 100); /* 5, 15, ..., 995 */
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 5, &base, &lsn), 0);
	UT_EQ_INT(base, 5);
	UT_EQ_INT(lsn, 500);
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 24, &base, &lsn), 0);
	UT_EQ_INT(base, 15);
	UT_EQ_INT(lsn, 1500);
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 1000, &base, &lsn), 0);
	UT_EQ_INT(base, 995);
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 4, &base, &lsn), -ENOENT);
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 1001, &base, &lsn), -ENOENT);
	tern_vlsn_index_fini(&idx);
}

static void
vlsn_index_refuses_gaps_and_repeats(void)
{
	struct tern_vlsn_index idx;

	TERN_CU_ASSERT_FATAL(tern_vlsn_index_init(&idx, 4) == 0);
	UT_EQ_INT(tern_vlsn_index_add(&idx, 0, 1), -TERN_EVLSN);
	UT_EQ_INT(tern_vlsn_index_add(&idx, 7, 1), 0);
	UT_EQ_INT(tern_vlsn_index_add(&idx, 9, 2), -TERN_EVLSN);
	UT_EQ_INT(tern_vlsn_index_add(&idx, 7, 2), -TERN_EVLSN);
	UT_EQ_INT(tern_vlsn_index_add(&idx, 8, 2), 0);
	UT_EQ_INT(tern_vlsn_index_init(&idx, 0), -EINVAL);
	tern_vlsn_index_fini(&idx);
}

static void
vlsn_index_truncate_after_forgets_the_tail(void)
{
	struct tern_vlsn_index idx;
	uint64_t v, base, lsn;

	TERN_CU_ASSERT_FATAL(tern_vlsn_index_init(&idx, 8) == 0);
	for (v = 1; v <= 100; v++)
		tern_vlsn_index_add(&idx, v, v);
	tern_vlsn_index_truncate_after(&idx, 50);
	UT_EQ_INT(idx.last, 50);
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 51, &base, &lsn), -ENOENT);
	UT_EQ_INT(tern_vlsn_index_lookup(&idx, 50, &base, &lsn), 0);
	UT_EQ_INT(base, 49);
	/* Appending continues from the cut. */
	UT_EQ_INT(tern_vlsn_index_add(&idx, 52, 1), -TERN_EVLSN);
	UT_EQ_INT(tern_vlsn_index_add(&idx, 51, 5100), 0);
	tern_vlsn_index_truncate_after(&idx, 0);
	UT_EQ_INT(idx.n, 0);
	UT_EQ_INT(tern_vlsn_index_add(&idx, 3, 1), 0);
	UT_EQ_INT(idx.first, 3);
	tern_vlsn_index_fini(&idx);
}

static void
vlsn_index_persists_and_reloads(void)
{
	struct tern_io *io = fx_mem();
	struct tern_vlsn_index a, b;
	struct tern_vlsn_index_meta m = {.ckpt_lsn = 77, .end_lsn = 125, .last_term = 3}, m2;
	uint64_t v, base, lsn;

	tern_vlsn_index_init(&a, 16);
	for (v = 10; v < 5000; v++)
		tern_vlsn_index_add(&a, v, v * 3);
	UT_EQ_INT(tern_vlsn_index_save(&a, io, &m), 0);
	tern_vlsn_index_init(&b, 1);
	UT_EQ_INT(tern_vlsn_index_load(&b, io, &m2), 0);
	UT_EQ_INT(b.stride, 16);
	UT_EQ_INT(b.first, 10);
	UT_EQ_INT(b.last, 4999);
	UT_EQ_INT(m2.ckpt_lsn, 77);
	UT_EQ_INT(m2.end_lsn, 125);
	UT_EQ_INT(m2.last_term, 3);
	UT_EQ_INT(tern_vlsn_index_lookup(&b, 4000, &base, &lsn), 0);
	UT_EQ_INT(lsn, base * 3);
	tern_vlsn_index_fini(&a);
	tern_vlsn_index_fini(&b);
	tern_io_destroy(io);
}

static void
vlsn_index_load_refuses_every_flipped_bit(void)
{
	struct tern_io *io = fx_mem();
	struct tern_vlsn_index a, b;
	struct tern_vlsn_index_meta m = {.ckpt_lsn = 1, .end_lsn = 2}, m2;
	uint64_t v, size, bit;

	tern_vlsn_index_init(&a, 2);
	for (v = 1; v <= 20; v++)
		tern_vlsn_index_add(&a, v, v * 8);
	UT_EQ_INT(tern_vlsn_index_save(&a, io, &m), 0);
	size = (uint64_t)tern_io_mem_file_get(io, TERN_VLSN_INDEX_FILE, NULL, 0);
	TERN_CU_ASSERT_FATAL(size > 72);
	for (bit = 0; bit < size * 8; bit += 7) {
		int rc;

		tern_io_mem_flip_bit(io, TERN_VLSN_INDEX_FILE, bit / 8, bit % 8);
		tern_vlsn_index_init(&b, 2);
		rc = tern_vlsn_index_load(&b, io, &m2);
		CU_ASSERT(rc == -TERN_ECORRUPT || rc == -TERN_EFORMAT);
		UT_EQ_INT(b.n, 0);
		tern_vlsn_index_fini(&b);
		tern_io_mem_flip_bit(io, TERN_VLSN_INDEX_FILE, bit / 8, bit % 8);
	}
	tern_vlsn_index_init(&b, 2);
	UT_EQ_INT(tern_vlsn_index_load(&b, io, &m2), 0);
	tern_vlsn_index_fini(&b);
	tern_vlsn_index_fini(&a);
	tern_io_destroy(io);
}

static void
vlsn_index_corrupt_file_is_rebuilt_from_the_log(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_stats st;

	fx_append_range(log, 1, 1500, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	TERN_CU_ASSERT_FATAL(tern_io_mem_flip_bit(io, TERN_VLSN_INDEX_FILE, 100, 1) == 0);
	ut_diag_capture(1);
	log = fx_open(io);
	CU_ASSERT(ut_diag_contains("rebuilding the VLSN index"));
	tern_log_stats_get(log, &st);
	CU_ASSERT(st.recovered_records >= 1500); /* scanned from the first segment */
	fx_check_range(log, 1, 1500);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
vlsn_index_missing_file_is_rebuilt_from_the_log(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);

	fx_append_range(log, 1, 300, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	UT_EQ_INT(tern_io_remove(io, TERN_VLSN_INDEX_FILE), 0);
	log = fx_open(io);
	UT_EQ_INT(tern_log_last_vlsn(log), 300);
	fx_check_range(log, 1, 300);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
vlsn_index_of_another_log_is_not_trusted(void)
{
	struct tern_io *io = fx_mem(), *other = fx_mem();
	struct tern_log *log = fx_open(io);
	uint8_t buf[4096];
	ssize_t n;

	fx_append_range(log, 1, 100, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	log = fx_open(other);
	fx_append_range(log, 1, 900, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	n = tern_io_mem_file_get(other, TERN_VLSN_INDEX_FILE, buf, sizeof(buf));
	TERN_CU_ASSERT_FATAL(n > 0 && n <= (ssize_t)sizeof(buf));
	TERN_CU_ASSERT_FATAL(tern_io_mem_file_put(io, TERN_VLSN_INDEX_FILE, buf, (size_t)n) == 0);
	ut_diag_capture(1);
	log = fx_open(io);
	CU_ASSERT(ut_diag_contains("rebuilding the VLSN index"));
	UT_EQ_INT(tern_log_last_vlsn(log), 100);
	fx_check_range(log, 1, 100);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
	tern_io_destroy(other);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("vlsn_index", NULL, NULL);
	CU_ADD_TEST(s, vlsn_index_keeps_every_stride_th_vlsn_and_finds_the_nearest);
	CU_ADD_TEST(s, vlsn_index_refuses_gaps_and_repeats);
	CU_ADD_TEST(s, vlsn_index_truncate_after_forgets_the_tail);
	CU_ADD_TEST(s, vlsn_index_persists_and_reloads);
	CU_ADD_TEST(s, vlsn_index_load_refuses_every_flipped_bit);
	CU_ADD_TEST(s, vlsn_index_corrupt_file_is_rebuilt_from_the_log);
	CU_ADD_TEST(s, vlsn_index_missing_file_is_rebuilt_from_the_log);
	CU_ADD_TEST(s, vlsn_index_of_another_log_is_not_trusted);
	return tern_ut_run(argc, argv);
}
