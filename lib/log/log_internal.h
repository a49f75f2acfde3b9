/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/log internals: on-disk formats and the log object, shared by its .c files. */
#ifndef TERN_LOG_INTERNAL_H
#define TERN_LOG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <tern_common.h>
#include <tern_diag.h>

#include "tern_log.h"
#include "tern_vlsn_index.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "Tern's file formats are little-endian; a big-endian port must byte-swap them"
#endif

TERN_DIAG_EXTERN(log);
#define LOG_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, log, "%s(): " fmt, __func__, ##__VA_ARGS__)

/* Segment header, at offset 0 of every segment file. */
#define SEG_MAGIC "TERNSEG"
/*
 * 2: records may carry tern_log_entry.flags (always 0 in version 1). Both are read; new
 * segments are written as 2, which a build that reads only 1 refuses with TERN_EFORMAT
 * rather than take flagged records for damage.
 */
#define SEG_VERSION 2
#define SEG_VERSION_MIN 1
#define SEG_HDR_SIZE 64

struct seg_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t seg_no;
	uint64_t seg_size;
	uint8_t reserved[28];
	uint32_t crc; /* of the bytes before it */
};
static_assert(sizeof(struct seg_hdr) == SEG_HDR_SIZE, "segment header layout");

/* Record header; the payload follows, padded to 8 bytes. */
#define REC_MAGIC 0x43455254U /* "TREC" */

struct rec_hdr {
	uint32_t crc;   /* of bytes [4, 48) of the header, then the payload */
	uint32_t len;   /* payload bytes */
	uint16_t type;
	uint16_t flags; /* tern_log_entry.flags (TERN_LOG_ENTRY_FLAGS bits only) */
	uint32_t magic; /* REC_MAGIC */
	uint64_t vlsn;
	uint64_t term;
	uint64_t txn_id;
	uint64_t timestamp_ns;
};
static_assert(sizeof(struct rec_hdr) == TERN_LOG_RECORD_HDR, "record header layout");

#define REC_SIZE(len) (sizeof(struct rec_hdr) + TERN_ALIGN_UP((uint64_t)(len), 8))

#define LSN(seg, off) (((uint64_t)(seg) << 32) | (uint64_t)(off))
#define LSN_SEG(lsn) ((uint32_t)((lsn) >> 32))
#define LSN_OFF(lsn) ((uint32_t)(lsn))

#define SEG_NAME_FMT "%08x.tlg"

/* Group-commit buffer. */
enum batch_state { BATCH_FREE, BATCH_FILLING, BATCH_INFLIGHT };

struct batch {
	uint8_t *buf;
	uint32_t len;        /* bytes filled */
	enum batch_state state;
	int fh;              /* segment file it goes to */
	uint32_t seg;        /* its number */
	uint32_t file_off;   /* where buf[0] goes */
	bool need_sync;      /* fdatasync after the write */
	bool need_write;     /* holds a record whose append waits for its write (not NO_SYNC) */
	uint32_t idle_polls; /* polls that found a lazy batch (NO_SYNC only) not grown */
	uint32_t len_seen;   /* its length at the last poll */
	bool created_seg;    /* buf starts with the segment header of a new segment */
	uint32_t nrec;
	uint64_t first_vlsn; /* 0 when it holds no record with a VLSN */
	uint64_t last_vlsn;
	uint64_t prev_end_lsn;  /* log end before this batch */
	uint64_t prev_last_vlsn;
	uint64_t prev_last_term;
};

struct tern_log {
	struct tern_log_opts o;
	struct tern_io *io;
	uint32_t max_payload;

	/* Segments, in order: numbers of the existing ones. */
	uint32_t *segs;
	uint32_t n_segs, cap_segs;
	int cur_fh;          /* handle of the last segment, -1 when none */
	int retired[66];     /* handles of earlier segments that batches still point at */
	unsigned int n_retired;

	/* Appended state (includes buffers not yet written). */
	uint64_t end_lsn;    /* where the next record goes */
	uint64_t first_vlsn; /* first VLSN in the log, or o.first_vlsn when empty */
	uint64_t last_vlsn;
	uint64_t last_term;
	bool seg_dirty;      /* the last segment has writes no batch will sync */
	uint64_t wb_unsynced; /* bytes written since the last fdatasync or writeback start */

	/* Written and durable state. */
	uint64_t written_vlsn, written_lsn;
	uint64_t durable_vlsn, durable_lsn;
	int err;             /* != 0: read-only after this error */

	/* Group commit: a ring of batches used in order. */
	struct batch *batches;
	unsigned int n_batches;
	unsigned int head;   /* oldest batch not free */
	unsigned int fill;   /* newest batch not free (head + used - 1, around the ring) */
	unsigned int used;   /* batches not free */
	bool bufs_registered;

	struct tern_vlsn_index idx;
	struct tern_vlsn_index_meta ckpt; /* last checkpoint (ckpt_lsn 0: none) */
	struct tern_log_scan *reader;     /* for tern_log_read */

	struct tern_log_stats st;
};

/* Scanner (scan.c). */
struct tern_log_scan {
	struct tern_log *log;
	int fh;
	uint32_t seg;
	uint64_t pos;        /* LSN of the next record */
	uint8_t *buf;        /* window over the segment */
	uint32_t cap;
	uint64_t win_lsn;    /* LSN of buf[0] */
	uint32_t win_len;    /* valid bytes in buf */
};

/* recovery.c */
int log_recover(struct tern_log *log);
/* log.c */
int log_seg_add(struct tern_log *log, uint32_t seg);
void log_seg_name(uint32_t seg, char *name, size_t cap);
int log_seg_hdr_check(const struct seg_hdr *h, uint32_t seg);
/* Validate a record header read at @p off of a segment of @p seg_size bytes. */
bool log_rec_plausible(const struct rec_hdr *h, uint64_t off, uint64_t seg_size,
		       uint32_t max_payload);
uint32_t log_rec_crc(const struct rec_hdr *h, const void *payload);
/* scan.c */
int scan_init(struct tern_log_scan *s, struct tern_log *log, uint32_t cap);
void scan_fini(struct tern_log_scan *s);
/* Forget the open segment and the window (after files were cut or removed). */
void scan_reset(struct tern_log_scan *s);
int scan_seek(struct tern_log_scan *s, uint64_t lsn);
int scan_seg_open(struct tern_log_scan *s, uint32_t seg);
/* Window over the open segment: bytes available at lsn (up to want), never past limit. */
ssize_t scan_window(struct tern_log_scan *s, uint64_t lsn, uint32_t want, uint64_t limit);
/* Next record of any kind at or after the position; payload pointer into the window. */
int scan_record(struct tern_log_scan *s, uint64_t limit_lsn, struct tern_log_entry *e);

#endif /* TERN_LOG_INTERNAL_H */
