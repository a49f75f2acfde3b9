/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The replicated log's local storage: segmented log files, group commit, recovery, a
 * forward scanner and the VLSN index (DESIGN.md 4).
 *
 * Files in the home directory of the storage driver:
 * - `<8 hex digits>.tlg`: segments, preallocated to a fixed size, named by number. Each
 *   starts with a segment header, then records: a 48-byte header (CRC32C, length, type,
 *   VLSN, term, txn id, timestamp) and the payload, padded to 8 bytes. LSN = (segment
 *   number << 32) | offset.
 * - `vlsn.idx`: the VLSN index (see tern_vlsn_index.h), written at checkpoints.
 *
 * **Group commit.** The log owns `batches` buffers (four by default), used as a ring.
 * Appends copy records into the buffer being filled (the next one once it is full); one
 * buffer is written at a time, and when that write completes the oldest filled buffer
 * goes out as one write linked to one fdatasync (io_uring) — however many producers
 * contributed. A buffer of NO_SYNC records only, which no append waits for, is not
 * written at every poll but once it holds lazy_bytes or the appends pause (opts). With
 * every buffer busy an append takes fewer records than asked (full). tern_log_poll() drives this
 * from the owner's poll loop and reports progress through the event callback: WRITTEN
 * (handed to the kernel) and DURABLE (fdatasync done) carry the highest VLSN and LSN
 * reached. Per-append sync modes decide whether a batch needs the fdatasync at all.
 *
 * **VLSNs** are gap-free: an append must carry exactly last + 1 (records with VLSN 0 are
 * local, unreplicated records such as checkpoints). Terms never decrease.
 *
 * **Failures.** A failed write or fdatasync is never retried as if nothing happened: the
 * log turns read-only, every record not yet durable is reported FAILED, and later appends
 * get -TERN_ELOGRO (the "fsyncgate" lesson: after a failed fsync the page cache can no
 * longer be trusted). The exception is ENOSPC: the records not yet written are reported
 * FAILED with -ENOSPC, the log rewinds to what was written, and appends work again once
 * space returns. Nothing already durable is ever lost.
 *
 * **Recovery** (at open) starts from the last checkpoint recorded in the VLSN index file
 * (or from the first segment when the index is missing or does not match the log), checks
 * every record's CRC, truncates a torn tail (a bad record with no valid record after it),
 * and refuses to open (-TERN_ECORRUPT, with a diagnostic naming file and offset) when a
 * bad record is followed by valid ones.
 *
 * **CRC32C** comes from lib/core (tern_crc32c.h), not DPDK: lib/log stays free of DPDK
 * headers so that tests, the simulator and fuzzers run without EAL.
 *
 * A log belongs to one thread (the datapath lcore); other threads send it work.
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tern_io.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Per-append sync modes, as JE's SyncPolicy. */
enum tern_log_sync {
	TERN_LOG_SYNC = 0,          /**< durable once fdatasync'd */
	TERN_LOG_WRITE_NO_SYNC = 1, /**< done once written to the OS (survives a process crash) */
	TERN_LOG_NO_SYNC = 2,       /**< done once in the log's buffer */
};

/** Record types below this are the log's own. */
#define TERN_LOG_TYPE_USER 16
#define TERN_LOG_TYPE_CHECKPOINT 1 /**< written by tern_log_checkpoint(), VLSN 0 */

/** The bits of tern_log_entry.flags a caller may use; the rest are the log's (0). */
#define TERN_LOG_ENTRY_FLAGS 0x00ffU

/** Largest header overhead of one record (header + padding). */
#define TERN_LOG_RECORD_HDR 48

/** One log entry, as appended and as read back. */
struct tern_log_entry {
	uint64_t vlsn;         /**< 0 for local records; else exactly last VLSN + 1 */
	uint64_t term;         /**< term of the master that wrote it; never decreases */
	uint64_t txn_id;
	uint64_t timestamp_ns; /**< wall clock of the master at commit, supplied by the caller */
	uint64_t lsn;          /**< filled in by reads and scans; ignored by append */
	uint16_t type;         /**< >= TERN_LOG_TYPE_USER for the application's records */
	uint16_t flags;        /**< the caller's, kept with the record (TERN_LOG_ENTRY_FLAGS) */
	uint32_t len;          /**< payload bytes */
	const void *data;      /**< payload: append copies it; reads point into their buffer */
};

enum tern_log_event_type {
	TERN_LOG_EV_WRITTEN, /**< everything up to vlsn/lsn is written to the OS */
	TERN_LOG_EV_DURABLE, /**< everything up to vlsn/lsn is on stable storage */
	TERN_LOG_EV_FAILED,  /**< records first..last (VLSNs) failed with err; not in the log */
};

struct tern_log_event {
	enum tern_log_event_type type;
	uint64_t vlsn;  /**< WRITTEN, DURABLE: highest VLSN reached */
	uint64_t lsn;   /**< WRITTEN, DURABLE: end LSN reached (records before it) */
	uint64_t first; /**< FAILED: first VLSN that failed (0 when only local records) */
	uint64_t last;  /**< FAILED: last VLSN that failed */
	int err;        /**< FAILED: negative error */
};

/** Called from tern_log_poll() (and the blocking calls) in the owner thread. */
typedef void (*tern_log_event_fn)(void *arg, const struct tern_log_event *ev);

struct tern_log_opts {
	size_t opts_size;
	struct tern_io *io;        /**< storage driver; not owned, must outlive the log */
	uint64_t segment_size;     /**< bytes per segment file (default 64 MiB, >= 64 KiB) */
	uint32_t batch_bytes;      /**< bytes per group-commit buffer (default 2 MiB) */
	/**
	 * Group-commit buffers, >= 2 (default 4): one is written while the others fill, so
	 * appends are refused (full) only once batches - 1 buffers wait behind a slow write,
	 * and a segment roll finds a buffer for the new segment.
	 */
	unsigned int batches;
	uint32_t index_stride;     /**< VLSN index keeps every Nth VLSN (default 64) */
	uint64_t first_vlsn;       /**< VLSN expected first in an empty log (default 1) */
	tern_log_event_fn on_event;
	void *event_arg;
	/**
	 * Once this many bytes were written without an fdatasync, the next write also starts
	 * the kernel's writeback (TERN_IO_REQ_WRITEBACK), so that NO_SYNC data does not pile
	 * up in the page cache and the fdatasync that ends a segment (or the next SYNC batch)
	 * does not stall appends for tens of milliseconds. Default 1 MiB; 0: never.
	 */
	uint32_t writeback_bytes;
	/**
	 * A batch of NO_SYNC records only (nothing waits for its write) is written once it
	 * holds this many bytes or the producer paused (polls found it unchanged), not at
	 * every poll: fewer, larger writes. A record of another sync mode, a sync or a segment
	 * roll writes it at once. Default 64 KiB; 0: write every batch at once.
	 */
	uint32_t lazy_bytes;
};

struct tern_log;
struct tern_log_scan;

/** Fill @p o with defaults; @p size is sizeof(*o). */
void tern_log_opts_init(struct tern_log_opts *o, size_t size);

/**
 * Open (recovering) or create the log in the driver's home directory.
 * @return 0; -EINVAL (bad options); -ENOMEM; -TERN_ECORRUPT (a corrupt record with valid
 *   records after it: a diagnostic names the file and offset); -TERN_EFORMAT (a segment
 *   that is not a Tern log segment, or of an unknown version); -errno from the driver.
 */
int tern_log_open(const struct tern_log_opts *o, struct tern_log **out);

/**
 * Write and fdatasync everything appended, wait for it, persist the VLSN index, close
 * the files and free the log. NULL is fine. @return 0, or the error that kept appended
 * records from becoming durable (the log is closed either way).
 */
int tern_log_close(struct tern_log *log);

/**
 * Append @p n entries with sync mode @p sync. Entries are copied; VLSNs must continue the
 * log without gap (or be 0 for local records). Nothing is written until tern_log_poll().
 * @return the number appended, which is less than @p n (maybe 0) when the group-commit
 *   buffers are full (poll, then retry the rest); or -TERN_EVLSN (gap or repeat: nothing
 *   of this call appended past the bad entry), -TERN_ESTALE (term went backwards),
 *   -E2BIG (entry larger than a buffer), -EINVAL (flags outside
 *   TERN_LOG_ENTRY_FLAGS, or no data), -TERN_ELOGRO (log failed), -ENOSPC (a new
 *   segment could not be preallocated; nothing appended by this call past that point).
 */
int tern_log_append(struct tern_log *log, const struct tern_log_entry *e, unsigned int n,
		    enum tern_log_sync sync);

/**
 * Do the log's share of the poll loop: reap I/O completions, emit events, and submit the
 * next filled buffer when the previous write is done. Never blocks.
 * @return 1 when it did work, 0 when idle.
 */
int tern_log_poll(struct tern_log *log);

/**
 * Block (off the data path) until everything appended is durable, driving the log
 * meanwhile. @return 0; -ETIMEDOUT; or the log's error.
 */
int tern_log_sync(struct tern_log *log, uint64_t timeout_ns);

/** Highest VLSN appended (in a buffer or beyond); first_vlsn - 1 when empty. */
uint64_t tern_log_last_vlsn(const struct tern_log *log);
/** Highest VLSN written to the OS. */
uint64_t tern_log_written_vlsn(const struct tern_log *log);
/** Highest VLSN on stable storage. */
uint64_t tern_log_durable_vlsn(const struct tern_log *log);
/** Lowest VLSN still in the log (first_vlsn of an empty log). */
uint64_t tern_log_first_vlsn(const struct tern_log *log);
/** Term of the last record (0 when empty). */
uint64_t tern_log_last_term(const struct tern_log *log);
/** End LSN of everything appended / written / durable. */
uint64_t tern_log_end_lsn(const struct tern_log *log);
uint64_t tern_log_durable_lsn(const struct tern_log *log);
/** 0 while healthy; after a write or fdatasync failure, the error that made it read-only. */
int tern_log_error(const struct tern_log *log);

/**
 * Read the entry with VLSN @p vlsn into @p e, its payload copied to @p buf (@p cap bytes).
 * Only written entries can be read. @return 0; -ENOENT (not in the log or not yet
 * written); -ENOBUFS (payload larger than @p cap; e->len says how large);
 * -TERN_ECORRUPT (CRC mismatch, with a diagnostic naming file and offset).
 */
int tern_log_read(struct tern_log *log, uint64_t vlsn, struct tern_log_entry *e, void *buf,
		  size_t cap);

/**
 * Roll back: remove every record after VLSN @p vlsn (for syncup). Waits for writes in
 * flight; records appended and not yet written that lie past @p vlsn are FAILED with
 * -ECANCELED. A failure once the files are being cut (remove, truncate, fdatasync) leaves
 * them half cut: the log becomes read-only (tern_log_error()) until reopened, when
 * recovery tells what it holds. @return 0; -ERANGE when @p vlsn is below the first
 * VLSN - 1 or beyond the last; -TERN_ELOGRO; -errno.
 */
int tern_log_truncate_after(struct tern_log *log, uint64_t vlsn);

/**
 * Write a checkpoint record (synced), then persist the VLSN index capped at it, so the
 * next recovery starts there. Blocks (off the data path). @return 0 or -errno.
 */
int tern_log_checkpoint(struct tern_log *log, uint64_t timestamp_ns);

/**
 * Open a forward scanner at VLSN @p from (must be in [first, written + 1]).
 * @return 0; -ENOENT (@p from not in the log); -ENOMEM.
 */
int tern_log_scan_open(struct tern_log *log, uint64_t from, struct tern_log_scan **out);

/**
 * Next record with a VLSN (local records are skipped). @p e->data points into the
 * scanner's buffer, valid until the next call. @return 1 (an entry), 0 (no more written
 * entries now; call again later), -TERN_ECORRUPT, -errno.
 */
int tern_log_scan_next(struct tern_log_scan *s, struct tern_log_entry *e);

/** Close a scanner. NULL is fine. */
void tern_log_scan_close(struct tern_log_scan *s);

struct tern_log_stats {
	uint64_t appends;        /**< records appended */
	uint64_t append_bytes;   /**< payload bytes appended */
	uint64_t batches;        /**< buffers written */
	uint64_t syncs;          /**< fdatasyncs issued */
	uint64_t batch_records_max;
	uint64_t full;           /**< appends refused for lack of buffer space */
	uint64_t segments;       /**< segments created */
	uint64_t failed_records; /**< records reported FAILED */
	uint64_t recovered_records; /**< records checked by the last recovery */
	uint64_t truncated_bytes;   /**< torn tail bytes cut by the last recovery */
	uint64_t writebacks;        /**< writes that also started writeback (writeback_bytes) */
};

void tern_log_stats_get(const struct tern_log *log, struct tern_log_stats *st);
/** Print state and counters, one `key=value` per line. */
void tern_log_dump(const struct tern_log *log, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* TERN_LOG_H */
