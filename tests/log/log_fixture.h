/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared fixture of the lib/log tests: a log over the mem driver and an event recorder. */
#ifndef TERN_LOG_FIXTURE_H
#define TERN_LOG_FIXTURE_H

#include <errno.h>
#include <string.h>

#include <tern_errno.h>
#include <tern_io_mem.h>
#include <tern_log.h>
#include <tern_prng.h>

#include "ut.h"

#define FX_SEG (64u << 10)
#define FX_BATCH (8u << 10)

struct fx_events {
	uint64_t written, durable;
	uint64_t failed_first, failed_last;
	int failed_err;
	unsigned int n_written, n_durable, n_failed;
};

static struct fx_events fx_ev;
static unsigned int fx_batches = 2; /* group-commit buffers of fx_open's logs */

#define FX_UNUSED __attribute__((unused))

FX_UNUSED static void
fx_on_event(void *arg, const struct tern_log_event *ev)
{
	struct fx_events *e = arg;

	switch (ev->type) {
	case TERN_LOG_EV_WRITTEN:
		CU_ASSERT(ev->vlsn >= e->written);
		e->written = ev->vlsn;
		e->n_written++;
		break;
	case TERN_LOG_EV_DURABLE:
		CU_ASSERT(ev->vlsn >= e->durable);
		e->durable = ev->vlsn;
		e->n_durable++;
		break;
	case TERN_LOG_EV_FAILED:
		e->failed_first = ev->first;
		e->failed_last = ev->last;
		e->failed_err = ev->err;
		e->n_failed++;
		break;
	}
}

FX_UNUSED static struct tern_io *
fx_mem(void)
{
	struct tern_io_mem_opts mo;
	struct tern_io *io = NULL;

	tern_io_mem_opts_init(&mo, sizeof(mo));
	mo.seed = 1;
	TERN_CU_ASSERT_FATAL(tern_io_mem_create(&mo, &io) == 0);
	return io;
}

FX_UNUSED static void
fx_opts(struct tern_log_opts *o, struct tern_io *io)
{
	tern_log_opts_init(o, sizeof(*o));
	o->io = io;
	o->segment_size = FX_SEG;
	o->batch_bytes = FX_BATCH;
	o->index_stride = 4;
	o->batches = fx_batches;
	o->on_event = fx_on_event;
	o->event_arg = &fx_ev;
}

FX_UNUSED static struct tern_log *
fx_open(struct tern_io *io)
{
	struct tern_log_opts o;
	struct tern_log *log = NULL;
	int rc;

	memset(&fx_ev, 0, sizeof(fx_ev));
	fx_opts(&o, io);
	rc = tern_log_open(&o, &log);
	if (rc != 0)
		ut_note("tern_log_open: %s", tern_strerror(rc));
	TERN_CU_ASSERT_FATAL(rc == 0);
	return log;
}

/* Deterministic payload of entry @p vlsn: length and bytes derive from it. */
FX_UNUSED static uint32_t
fx_len(uint64_t vlsn)
{
	return (uint32_t)((vlsn * 37) % 300);
}

FX_UNUSED static void
fx_payload(uint64_t vlsn, uint8_t *buf, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(vlsn * 131 + i * 7);
}

FX_UNUSED static void
fx_entry(struct tern_log_entry *e, uint64_t vlsn, uint64_t term, uint8_t *buf)
{
	memset(e, 0, sizeof(*e));
	e->vlsn = vlsn;
	e->term = term;
	e->type = TERN_LOG_TYPE_USER;
	e->txn_id = vlsn * 10;
	e->timestamp_ns = vlsn * 1000;
	e->len = fx_len(vlsn);
	fx_payload(vlsn, buf, e->len);
	e->data = buf;
}

/* Append @p from..@p to one at a time with @p sync, polling through back-pressure. */
FX_UNUSED static void
fx_append_range(struct tern_log *log, uint64_t from, uint64_t to, enum tern_log_sync sync)
{
	uint8_t buf[512];
	uint64_t v;

	for (v = from; v <= to; v++) {
		struct tern_log_entry e;
		int rc, spins = 0;

		fx_entry(&e, v, 1, buf);
		while ((rc = tern_log_append(log, &e, 1, sync)) == 0) {
			/* Buffers full: drive the log, and wait for I/O when polling is not enough. */
			if (tern_log_poll(log) == 0 && ++spins > 100)
				tern_log_sync(log, 1000000000ULL);
			TERN_CU_ASSERT_FATAL(spins < 100000);
		}
		if (rc != 1)
			ut_note("append %llu: %s", (unsigned long long)v, tern_strerror(rc));
		TERN_CU_ASSERT_FATAL(rc == 1);
	}
}

/* Read every VLSN in [from, to] back and compare with what fx_entry made. */
FX_UNUSED static void
fx_check_range(struct tern_log *log, uint64_t from, uint64_t to)
{
	uint8_t want[512], got[512];
	uint64_t v;

	for (v = from; v <= to; v++) {
		struct tern_log_entry e;
		int rc = tern_log_read(log, v, &e, got, sizeof(got));

		if (rc != 0) {
			ut_note("read %llu: %s", (unsigned long long)v, tern_strerror(rc));
			CU_FAIL("read failed");
			return;
		}
		fx_payload(v, want, fx_len(v));
		CU_ASSERT_EQUAL(e.vlsn, v);
		CU_ASSERT_EQUAL(e.len, fx_len(v));
		CU_ASSERT_EQUAL(e.txn_id, v * 10);
		CU_ASSERT_EQUAL(e.type, TERN_LOG_TYPE_USER);
		CU_ASSERT(memcmp(got, want, e.len) == 0);
	}
}

FX_UNUSED static void
fx_sync(struct tern_log *log)
{
	int rc = tern_log_sync(log, 1000000000ULL);

	if (rc != 0)
		ut_note("sync: %s", tern_strerror(rc));
	CU_ASSERT_EQUAL(rc, 0);
}

#endif /* TERN_LOG_FIXTURE_H */
