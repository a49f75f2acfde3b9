/* SPDX-License-Identifier: BSD-3-Clause */
#include <tern_io_uring.h>

#include "log_fixture.h"

static void
log_append_then_read_back_every_entry(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);

	fx_append_range(log, 1, 500, TERN_LOG_SYNC);
	fx_sync(log);
	UT_EQ_INT(tern_log_last_vlsn(log), 500);
	UT_EQ_INT(tern_log_durable_vlsn(log), 500);
	UT_EQ_INT(fx_ev.durable, 500);
	fx_check_range(log, 1, 500);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_reopen_after_close_keeps_everything(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);

	fx_append_range(log, 1, 300, TERN_LOG_NO_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	log = fx_open(io);
	UT_EQ_INT(tern_log_first_vlsn(log), 1);
	UT_EQ_INT(tern_log_last_vlsn(log), 300);
	UT_EQ_INT(tern_log_durable_vlsn(log), 300);
	UT_EQ_INT(tern_log_last_term(log), 1);
	fx_check_range(log, 1, 300);
	fx_append_range(log, 301, 310, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 295, 310);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static int
count_segments(void *arg, const char *name)
{
	unsigned int *n = arg;

	*n += strstr(name, ".tlg") != NULL;
	return 0;
}

static void
log_rolls_segments_at_the_segment_size(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_stats st;
	unsigned int n = 0;

	/* ~170 bytes a record on average: 2000 records need several 64 KiB segments. */
	fx_append_range(log, 1, 2000, TERN_LOG_SYNC);
	fx_sync(log);
	tern_log_stats_get(log, &st);
	CU_ASSERT(st.segments >= 5);
	tern_io_list(io, count_segments, &n);
	UT_EQ_INT(n, st.segments);
	fx_check_range(log, 1, 2000);
	UT_EQ_INT(tern_log_close(log), 0);
	log = fx_open(io);
	fx_check_range(log, 1, 2000);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_group_commit_batches_appends_made_during_a_write(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_stats st;

	tern_io_mem_hold(io, 1);
	fx_append_range(log, 1, 1, TERN_LOG_SYNC);
	tern_log_poll(log); /* batch 1 (one record) goes out and stays in flight */
	UT_EQ_INT(tern_io_mem_inflight(io), 1);
	fx_append_range(log, 2, 31, TERN_LOG_SYNC); /* fits the second 8 KiB buffer */
	tern_log_poll(log);
	tern_log_poll(log);
	UT_EQ_INT(tern_io_mem_inflight(io), 1); /* one write at a time */
	UT_EQ_INT(fx_ev.durable, 0);
	tern_io_mem_hold(io, 0);
	tern_log_poll(log); /* batch 1 completes; batch 2 (40 records) goes out */
	UT_EQ_INT(fx_ev.durable, 1);
	tern_log_poll(log);
	UT_EQ_INT(fx_ev.durable, 31);
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.batches, 2);
	UT_EQ_INT(st.syncs, 2);
	UT_EQ_INT(st.batch_records_max, 30);
	UT_EQ_INT(fx_ev.n_durable, 2);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

/*
 * NO_SYNC records wait for no write: their batch goes once it holds lazy_bytes, once it is
 * full, or once polls find it unchanged for a while (the producer paused); a WRITE_NO_SYNC
 * or SYNC record sends it at once. 0 turns the wait off.
 */
static void
log_nosync_batch_waits_for_lazy_bytes_or_a_pause(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log_opts o;
	struct tern_log *log = NULL;
	struct tern_log_stats st;
	uint64_t v = 1;
	int i;

	fx_opts(&o, io);
	UT_EQ_INT(o.lazy_bytes, 64u << 10); /* the default */
	o.lazy_bytes = 2048;
	memset(&fx_ev, 0, sizeof(fx_ev));
	TERN_CU_ASSERT_FATAL(tern_log_open(&o, &log) == 0);
	/* Growing at every poll and under 2 KiB: nothing is written. */
	for (i = 0; i < 200 && tern_log_last_vlsn(log) < 6; i++) {
		fx_append_range(log, v, v, TERN_LOG_NO_SYNC);
		v++;
		tern_log_poll(log);
	}
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.batches, 0);
	UT_EQ_INT(tern_log_written_vlsn(log), 0);
	/* Until it holds 2 KiB (records average ~170 bytes). */
	while (tern_log_written_vlsn(log) == 0 && v < 40) {
		fx_append_range(log, v, v, TERN_LOG_NO_SYNC);
		v++;
		tern_log_poll(log);
		tern_log_poll(log); /* completes the write */
	}
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.batches, 1);
	CU_ASSERT(v > 8 && v < 40);
	UT_EQ_INT(tern_log_written_vlsn(log), v - 1);
	/* A pause: polls that find it unchanged send it. */
	fx_append_range(log, v, v, TERN_LOG_NO_SYNC);
	for (i = 0; i < 100 && tern_log_written_vlsn(log) < v; i++)
		tern_log_poll(log);
	UT_EQ_INT(tern_log_written_vlsn(log), v);
	CU_ASSERT(i > 16);
	v++;
	/* A WRITE_NO_SYNC record goes at the next poll, with the NO_SYNC ones before it. */
	fx_append_range(log, v, v, TERN_LOG_NO_SYNC);
	fx_append_range(log, v + 1, v + 1, TERN_LOG_WRITE_NO_SYNC);
	tern_log_poll(log);
	tern_log_poll(log);
	UT_EQ_INT(tern_log_written_vlsn(log), v + 1);
	v += 2;
	UT_EQ_INT(tern_log_close(log), 0);
	/* Off: every poll writes what is there. */
	o.lazy_bytes = 0;
	TERN_CU_ASSERT_FATAL(tern_log_open(&o, &log) == 0);
	fx_append_range(log, v, v, TERN_LOG_NO_SYNC);
	tern_log_poll(log);
	tern_log_poll(log);
	UT_EQ_INT(tern_log_written_vlsn(log), v);
	fx_check_range(log, 1, v);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_sync_modes_decide_whether_a_batch_is_synced(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_stats st;
	int i;

	fx_append_range(log, 1, 10, TERN_LOG_NO_SYNC);
	for (i = 0; i < 100; i++) /* a NO_SYNC batch goes once polls find it unchanged */
		tern_log_poll(log);
	UT_EQ_INT(tern_log_written_vlsn(log), 10);
	UT_EQ_INT(tern_log_durable_vlsn(log), 0);
	fx_append_range(log, 11, 20, TERN_LOG_WRITE_NO_SYNC);
	for (i = 0; i < 10; i++)
		tern_log_poll(log);
	UT_EQ_INT(tern_log_written_vlsn(log), 20);
	UT_EQ_INT(tern_log_durable_vlsn(log), 0);
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.syncs, 0);
	/* A crash now loses what was never synced: the images show it. */
	fx_append_range(log, 21, 21, TERN_LOG_SYNC);
	for (i = 0; i < 10; i++)
		tern_log_poll(log);
	UT_EQ_INT(tern_log_durable_vlsn(log), 21); /* the sync covers 1..20 too */
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.syncs, 1);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_entry_flags_are_kept_with_the_record(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_entry e;
	struct tern_log_scan *s;
	uint8_t buf[512];
	uint64_t v;

	for (v = 1; v <= 300; v++) {
		fx_entry(&e, v, 1, buf);
		int rc, spins = 0;

		e.flags = (uint16_t)(v % 256);
		while ((rc = tern_log_append(log, &e, 1, TERN_LOG_NO_SYNC)) == 0) {
			tern_log_poll(log); /* buffers full: let the write go out */
			TERN_CU_ASSERT_FATAL(++spins < 100000);
		}
		TERN_CU_ASSERT_FATAL(rc == 1);
	}
	/* Bits outside TERN_LOG_ENTRY_FLAGS are the log's: refused, nothing taken. */
	fx_entry(&e, 301, 1, buf);
	e.flags = 0x100;
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), -EINVAL);
	UT_EQ_INT(tern_log_last_vlsn(log), 300);
	fx_sync(log);
	for (int round = 0; round < 2; round++) {
		for (v = 1; v <= 300; v++) {
			UT_EQ_INT(tern_log_read(log, v, &e, buf, sizeof(buf)), 0);
			UT_EQ_INT(e.flags, v % 256);
		}
		TERN_CU_ASSERT_FATAL(tern_log_scan_open(log, 1, &s) == 0);
		for (v = 1; v <= 300; v++) {
			TERN_CU_ASSERT_FATAL(tern_log_scan_next(s, &e) == 1);
			UT_EQ_INT(e.flags, v % 256);
		}
		tern_log_scan_close(s);
		/* And after recovery, which checks every record. */
		UT_EQ_INT(tern_log_close(log), 0);
		log = fx_open(io);
		UT_EQ_INT(tern_log_last_vlsn(log), 300);
	}
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_writes_start_writeback_every_writeback_bytes_until_a_sync(void)
{
	struct tern_io *io = fx_mem();
	uint64_t v = 1, unsynced = 0, want = 0, before;
	struct tern_log_opts o;
	struct tern_log_stats st;
	struct tern_io_stats ist;
	struct tern_log *log;
	int i, k;

	memset(&fx_ev, 0, sizeof(fx_ev));
	fx_opts(&o, io);
	UT_EQ_INT(o.writeback_bytes, 1u << 20); /* the default */
	o.writeback_bytes = 3 * 4096;
	o.lazy_bytes = 0; /* every NO_SYNC batch goes at once: one per step */
	TERN_CU_ASSERT_FATAL(tern_log_open(&o, &log) == 0);
	/*
	 * One batch of 24 records (3-4 KiB) per step, all in the first segment, the 8th a
	 * SYNC one. The oracle: bytes written since the last sync or writeback start add up,
	 * and the batch that brings them to writeback_bytes starts one.
	 */
	for (k = 0; k < 12; k++) {
		int sync = k == 7;

		tern_io_stats_get(io, &ist);
		before = ist.bytes;
		fx_append_range(log, v, v + 23, sync ? TERN_LOG_SYNC : TERN_LOG_NO_SYNC);
		v += 24;
		for (i = 0; i < 4; i++)
			tern_log_poll(log);
		tern_io_stats_get(io, &ist);
		if (sync) {
			unsynced = 0;
		} else {
			unsynced += ist.bytes - before;
			if (unsynced >= o.writeback_bytes) {
				want++;
				unsynced = 0;
			}
		}
		tern_log_stats_get(log, &st);
		UT_EQ_INT(st.writebacks, want);
		UT_EQ_INT(ist.writebacks, want);
	}
	UT_EQ_INT(st.batches, 12);
	UT_EQ_INT(st.syncs, 1);
	CU_ASSERT(want >= 3);
	fx_sync(log);
	fx_check_range(log, 1, v - 1);
	UT_EQ_INT(tern_log_close(log), 0);
	/* 0 turns it off. */
	o.writeback_bytes = 0;
	TERN_CU_ASSERT_FATAL(tern_log_open(&o, &log) == 0);
	for (k = 0; k < 200; k++) {
		fx_append_range(log, v, v, TERN_LOG_NO_SYNC);
		v++;
		tern_log_poll(log);
	}
	fx_sync(log);
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.writebacks, 0);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_unsynced_entries_are_lost_by_a_power_cut_synced_ones_are_not(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	int i;

	fx_append_range(log, 1, 10, TERN_LOG_SYNC);
	fx_sync(log);
	fx_append_range(log, 11, 20, TERN_LOG_WRITE_NO_SYNC);
	for (i = 0; i < 10; i++)
		tern_log_poll(log);
	UT_EQ_INT(tern_log_written_vlsn(log), 20);
	CU_ASSERT(tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN) > 0);
	tern_log_close(log); /* its files are gone with the crash */
	log = fx_open(io);
	UT_EQ_INT(tern_log_last_vlsn(log), 10);
	fx_check_range(log, 1, 10);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_refuses_vlsn_gaps_repeats_stale_terms_and_oversized_entries(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_entry e;
	static uint8_t big[FX_BATCH];
	uint8_t buf[512];

	fx_entry(&e, 1, 5, buf);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), 1);
	fx_entry(&e, 3, 5, buf);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), -TERN_EVLSN);
	fx_entry(&e, 1, 5, buf);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), -TERN_EVLSN);
	fx_entry(&e, 2, 4, buf);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), -TERN_ESTALE);
	fx_entry(&e, 2, 5, buf);
	e.data = big;
	e.len = sizeof(big);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), -E2BIG);
	UT_EQ_INT(tern_log_last_vlsn(log), 1);
	fx_entry(&e, 2, 6, buf);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), 1);
	fx_sync(log);
	UT_EQ_INT(tern_log_last_term(log), 6);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_burst_append_stops_at_full_buffers_and_resumes(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_entry e[200];
	static uint8_t bufs[200][512];
	struct tern_log_stats st;
	unsigned int done = 0;
	int rc, i;

	for (i = 0; i < 200; i++)
		fx_entry(&e[i], (uint64_t)i + 1, 1, bufs[i]);
	tern_io_mem_hold(io, 1);
	rc = tern_log_append(log, e, 200, TERN_LOG_SYNC);
	TERN_CU_ASSERT_FATAL(rc > 0 && rc < 200); /* 200 x ~170 B > 2 x 8 KiB buffers */
	done = (unsigned int)rc;
	tern_log_poll(log);
	UT_EQ_INT(tern_log_append(log, &e[done], 200 - done, TERN_LOG_SYNC) >= 0, 1);
	tern_log_stats_get(log, &st);
	CU_ASSERT(st.full > 0);
	tern_io_mem_hold(io, 0);
	while (done < 200) {
		tern_log_poll(log);
		rc = tern_log_append(log, &e[done], 200 - done, TERN_LOG_SYNC);
		TERN_CU_ASSERT_FATAL(rc >= 0);
		done += (unsigned int)rc;
	}
	fx_sync(log);
	fx_check_range(log, 1, 200);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_failed_fdatasync_makes_the_log_read_only(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	int i;

	fx_append_range(log, 1, 10, TERN_LOG_SYNC);
	fx_sync(log);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_SYNC, 0, 1, -EIO);
	ut_diag_capture(1);
	fx_append_range(log, 11, 20, TERN_LOG_SYNC);
	for (i = 0; i < 10; i++)
		tern_log_poll(log);
	UT_EQ_INT(tern_log_error(log), -EIO);
	UT_EQ_INT(fx_ev.n_failed, 1);
	UT_EQ_INT(fx_ev.failed_first, 11);
	UT_EQ_INT(fx_ev.failed_last, 20);
	UT_EQ_INT(fx_ev.failed_err, -EIO);
	CU_ASSERT(ut_diag_contains("read-only"));
	UT_EQ_INT(tern_log_durable_vlsn(log), 10);
	/* Not retried as if nothing happened: the fault was one-shot, the log stays failed. */
	{
		struct tern_log_entry e;
		uint8_t buf[512];

		fx_entry(&e, 21, 1, buf);
		UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), -TERN_ELOGRO);
	}
	UT_EQ_INT(tern_log_sync(log, 1000000), -TERN_ELOGRO);
	UT_EQ_INT(tern_log_checkpoint(log, 0), -TERN_ELOGRO);
	UT_EQ_INT(tern_log_close(log), -EIO);
	/* After a restart, what was durable is all there. */
	tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN);
	log = fx_open(io);
	CU_ASSERT(tern_log_last_vlsn(log) >= 10);
	fx_check_range(log, 1, 10);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_failed_write_makes_the_log_read_only(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	int i;

	fx_append_range(log, 1, 5, TERN_LOG_SYNC);
	fx_sync(log);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_WRITE, 0, 1, -EIO);
	fx_append_range(log, 6, 9, TERN_LOG_WRITE_NO_SYNC);
	for (i = 0; i < 5; i++)
		tern_log_poll(log);
	UT_EQ_INT(tern_log_error(log), -EIO);
	UT_EQ_INT(fx_ev.failed_first, 6);
	UT_EQ_INT(fx_ev.failed_last, 9);
	UT_EQ_INT(tern_log_close(log), -EIO);
	tern_io_destroy(io);
}

static void
log_write_enospc_fails_pending_entries_and_stays_usable(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_stats st;
	int i;

	fx_append_range(log, 1, 10, TERN_LOG_SYNC);
	fx_sync(log);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_WRITE, 0, 1, -ENOSPC);
	fx_append_range(log, 11, 20, TERN_LOG_SYNC);
	for (i = 0; i < 5; i++)
		tern_log_poll(log);
	UT_EQ_INT(fx_ev.n_failed, 1);
	UT_EQ_INT(fx_ev.failed_first, 11);
	UT_EQ_INT(fx_ev.failed_last, 20);
	UT_EQ_INT(fx_ev.failed_err, -ENOSPC);
	UT_EQ_INT(tern_log_error(log), 0);
	UT_EQ_INT(tern_log_last_vlsn(log), 10);
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.failed_records, 10);
	/* Space is back: the same VLSNs go in again. */
	fx_append_range(log, 11, 30, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 1, 30);
	UT_EQ_INT(tern_log_close(log), 0);
	log = fx_open(io);
	fx_check_range(log, 1, 30);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_enospc_at_segment_roll_refuses_the_append_and_recovers(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_entry e;
	uint8_t buf[512];
	uint64_t v = 1;
	int rc;

	/* Room for the first segment only. */
	tern_io_mem_set_capacity(io, FX_SEG + 4096);
	for (;;) {
		fx_entry(&e, v, 1, buf);
		rc = tern_log_append(log, &e, 1, TERN_LOG_SYNC);
		if (rc == 0) {
			tern_log_poll(log);
			continue;
		}
		if (rc < 0)
			break;
		v++;
		TERN_CU_ASSERT_FATAL(v < 2000);
	}
	UT_EQ_INT(rc, -ENOSPC);
	UT_EQ_INT(tern_log_last_vlsn(log), v - 1);
	fx_sync(log);
	UT_EQ_INT(tern_log_durable_vlsn(log), v - 1);
	tern_io_mem_set_capacity(io, 0);
	fx_append_range(log, v, v + 50, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 1, v + 50);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_truncate_after_rolls_back_across_segments(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_entry e;
	uint8_t buf[512];

	fx_append_range(log, 1, 1500, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_checkpoint(log, 0), 0);
	fx_append_range(log, 1501, 1600, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_truncate_after(log, 1601), -ERANGE);
	UT_EQ_INT(tern_log_truncate_after(log, 40), 0);
	UT_EQ_INT(tern_log_last_vlsn(log), 40);
	UT_EQ_INT(tern_log_read(log, 41, &e, buf, sizeof(buf)), -ENOENT);
	fx_check_range(log, 1, 40);
	memset(&fx_ev, 0, sizeof(fx_ev)); /* progress restarts from the cut */
	/* A new master's entries continue from the matchpoint at a higher term. */
	fx_entry(&e, 41, 2, buf);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), 1);
	fx_sync(log);
	UT_EQ_INT(tern_log_close(log), 0);
	log = fx_open(io);
	UT_EQ_INT(tern_log_last_vlsn(log), 41);
	UT_EQ_INT(tern_log_last_term(log), 2);
	UT_EQ_INT(tern_log_read(log, 41, &e, buf, sizeof(buf)), 0);
	UT_EQ_INT(e.term, 2);
	fx_check_range(log, 1, 40);
	/* Everything can go. */
	UT_EQ_INT(tern_log_truncate_after(log, 0), 0);
	UT_EQ_INT(tern_log_last_vlsn(log), 0);
	fx_append_range(log, 1, 3, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 1, 3);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

/* A failed fdatasync in the middle of a cut leaves the log read-only; a reopen recovers. */
static void
log_truncate_after_that_fails_midway_makes_the_log_read_only(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_entry e;
	uint8_t buf[512];

	fx_append_range(log, 1, 100, TERN_LOG_SYNC);
	fx_sync(log);
	tern_io_mem_fault(io, TERN_IO_MEM_OP_SYNC, 0, 1, -EIO);
	UT_EQ_INT(tern_log_truncate_after(log, 60), -EIO);
	UT_EQ_INT(tern_log_error(log), -EIO);
	fx_entry(&e, 101, 1, buf);
	UT_EQ_INT(tern_log_append(log, &e, 1, TERN_LOG_SYNC), -TERN_ELOGRO);
	UT_EQ_INT(tern_log_truncate_after(log, 60), -TERN_ELOGRO);
	tern_log_close(log);
	/* What recovery finds is a prefix of what was there, at least up to the cut. */
	log = fx_open(io);
	CU_ASSERT(tern_log_last_vlsn(log) >= 60 && tern_log_last_vlsn(log) <= 100);
	fx_check_range(log, 1, 60);
	UT_EQ_INT(tern_log_truncate_after(log, 60), 0);
	UT_EQ_INT(tern_log_last_vlsn(log), 60);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_scanner_reads_forward_from_any_vlsn(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_scan *s;
	struct tern_log_entry e;
	uint64_t from, v;

	fx_append_range(log, 1, 700, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_checkpoint(log, 0), 0); /* a local record among the entries */
	fx_append_range(log, 701, 800, TERN_LOG_SYNC);
	fx_sync(log);
	for (from = 1; from <= 800; from += 97) {
		TERN_CU_ASSERT_FATAL(tern_log_scan_open(log, from, &s) == 0);
		for (v = from; v <= 800; v++) {
			TERN_CU_ASSERT_FATAL(tern_log_scan_next(s, &e) == 1);
			CU_ASSERT_EQUAL(e.vlsn, v);
			CU_ASSERT_EQUAL(e.len, fx_len(v));
		}
		UT_EQ_INT(tern_log_scan_next(s, &e), 0);
		tern_log_scan_close(s);
	}
	UT_EQ_INT(tern_log_scan_open(log, 802, &s), -ENOENT);
	TERN_CU_ASSERT_FATAL(tern_log_scan_open(log, 801, &s) == 0);
	UT_EQ_INT(tern_log_scan_next(s, &e), 0);
	fx_append_range(log, 801, 802, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_scan_next(s, &e), 0); /* appended, not yet written */
	fx_sync(log);
	UT_EQ_INT(tern_log_scan_next(s, &e), 1);
	UT_EQ_INT(e.vlsn, 801);
	UT_EQ_INT(tern_log_scan_next(s, &e), 1);
	UT_EQ_INT(e.vlsn, 802);
	tern_log_scan_close(s);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_checkpoint_makes_recovery_start_there(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log = fx_open(io);
	struct tern_log_stats st;

	fx_append_range(log, 1, 1000, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_checkpoint(log, 0), 0);
	fx_append_range(log, 1001, 1010, TERN_LOG_SYNC);
	fx_sync(log);
	/* A crash, not a close: no checkpoint at the end. */
	tern_io_mem_crash(io, TERN_IO_MEM_CRASH_CLEAN);
	tern_log_close(log);
	log = fx_open(io);
	tern_log_stats_get(log, &st);
	UT_EQ_INT(st.recovered_records, 10);
	UT_EQ_INT(tern_log_last_vlsn(log), 1010);
	fx_check_range(log, 1, 1010);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_open_rejects_bad_options(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log_opts o;
	struct tern_log *log = NULL;

	fx_opts(&o, io);
	o.segment_size = 1000;
	UT_EQ_INT(tern_log_open(&o, &log), -EINVAL);
	fx_opts(&o, io);
	o.batches = 1;
	UT_EQ_INT(tern_log_open(&o, &log), -EINVAL);
	fx_opts(&o, NULL);
	UT_EQ_INT(tern_log_open(&o, &log), -EINVAL);
	CU_ASSERT_PTR_NULL(log);
	tern_io_destroy(io);
}

static void
log_allocation_failures_at_open_fail_cleanly(void)
{
	struct tern_io *io = fx_mem();
	struct tern_log *log;
	long k;
	int rc;

	log = fx_open(io);
	fx_append_range(log, 1, 200, TERN_LOG_SYNC);
	UT_EQ_INT(tern_log_close(log), 0);
	for (k = 0;; k++) {
		struct tern_log_opts o;
		long live = ut_heap_live();

		fx_opts(&o, io);
		log = NULL;
		ut_heap_fail_after(k);
		rc = tern_log_open(&o, &log);
		ut_heap_fail_after(-1);
		if (rc == 0)
			break;
		UT_EQ_INT(rc, -ENOMEM);
		UT_EQ_INT(ut_heap_live(), live);
		TERN_CU_ASSERT_FATAL(k < 1000);
	}
	CU_ASSERT(k > 3);
	fx_check_range(log, 1, 200);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
}

static void
log_over_io_uring_survives_reopen(void)
{
	struct tern_io_uring_opts uo;
	struct tern_io *io = NULL;
	struct tern_log_opts o;
	struct tern_log *log = NULL;
	char *dir = ut_tmpdir();
	int rc;

	TERN_CU_ASSERT_FATAL(dir != NULL);
	tern_io_uring_opts_init(&uo, sizeof(uo));
	uo.home = dir;
	rc = tern_io_uring_create(&uo, &io);
	if (rc != 0)
		ut_note("io_uring driver: %s", tern_strerror(rc));
	TERN_CU_ASSERT_FATAL(rc == 0);
	memset(&fx_ev, 0, sizeof(fx_ev));
	fx_opts(&o, io);
	TERN_CU_ASSERT_FATAL(tern_log_open(&o, &log) == 0);
	fx_append_range(log, 1, 3000, TERN_LOG_SYNC);
	fx_sync(log);
	fx_check_range(log, 1, 3000);
	UT_EQ_INT(tern_log_close(log), 0);
	TERN_CU_ASSERT_FATAL(tern_log_open(&o, &log) == 0);
	UT_EQ_INT(tern_log_last_vlsn(log), 3000);
	fx_check_range(log, 1, 3000);
	UT_EQ_INT(tern_log_close(log), 0);
	tern_io_destroy(io);
	ut_rmdir(dir);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("log", NULL, NULL);
	CU_ADD_TEST(s, log_append_then_read_back_every_entry);
	CU_ADD_TEST(s, log_reopen_after_close_keeps_everything);
	CU_ADD_TEST(s, log_writes_start_writeback_every_writeback_bytes_until_a_sync);
	CU_ADD_TEST(s, log_nosync_batch_waits_for_lazy_bytes_or_a_pause);
	CU_ADD_TEST(s, log_entry_flags_are_kept_with_the_record);
	CU_ADD_TEST(s, log_rolls_segments_at_the_segment_size);
	CU_ADD_TEST(s, log_group_commit_batches_appends_made_during_a_write);
	CU_ADD_TEST(s, log_sync_modes_decide_whether_a_batch_is_synced);
	CU_ADD_TEST(s, log_unsynced_entries_are_lost_by_a_power_cut_synced_ones_are_not);
	CU_ADD_TEST(s, log_refuses_vlsn_gaps_repeats_stale_terms_and_oversized_entries);
	CU_ADD_TEST(s, log_burst_append_stops_at_full_buffers_and_resumes);
	CU_ADD_TEST(s, log_failed_fdatasync_makes_the_log_read_only);
	CU_ADD_TEST(s, log_failed_write_makes_the_log_read_only);
	CU_ADD_TEST(s, log_write_enospc_fails_pending_entries_and_stays_usable);
	CU_ADD_TEST(s, log_enospc_at_segment_roll_refuses_the_append_and_recovers);
	CU_ADD_TEST(s, log_truncate_after_rolls_back_across_segments);
	CU_ADD_TEST(s, log_truncate_after_that_fails_midway_makes_the_log_read_only);
	CU_ADD_TEST(s, log_scanner_reads_forward_from_any_vlsn);
	CU_ADD_TEST(s, log_checkpoint_makes_recovery_start_there);
	CU_ADD_TEST(s, log_open_rejects_bad_options);
	CU_ADD_TEST(s, log_allocation_failures_at_open_fail_cleanly);
	CU_ADD_TEST(s, log_over_io_uring_survives_reopen);
	return tern_ut_run(argc, argv);
}
