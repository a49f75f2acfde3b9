/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The VLSN index: VLSN -> LSN for the records of one log (DESIGN.md 4).
 *
 * VLSNs are gap-free, so the index is sparse: it keeps the LSN of the first VLSN and of
 * every `stride`-th one after it, in one sorted array; a lookup returns the nearest kept
 * VLSN at or below the one asked for, and the caller scans forward at most stride - 1
 * records. The array grows by doubling (amortised, never per entry).
 *
 * Persisted as `vlsn.idx` beside the log at checkpoints: header with CRC32C, then the
 * (VLSN, LSN) pairs; written to `vlsn.idx.tmp`, synced, and renamed over the old one, so a
 * crash leaves either the old or the new index. It records the checkpoint's LSN: recovery
 * trusts the index up to there and rebuilds the rest from the log; when the file is
 * missing, corrupt or does not match the log, the whole index is rebuilt from the log.
 */
#ifndef TERN_VLSN_INDEX_H
#define TERN_VLSN_INDEX_H

#include <stdint.h>

#include <tern_io.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One kept mapping. */
struct tern_vlsn_map {
	uint64_t vlsn;
	uint64_t lsn;
};

/** The index. Embedded by its owner (the log); treat as private. */
struct tern_vlsn_index {
	struct tern_vlsn_map *map; /**< sorted by VLSN */
	uint64_t n;                /**< kept mappings */
	uint64_t cap;              /**< allocated mappings */
	uint32_t stride;           /**< keep every stride-th VLSN */
	uint64_t first;            /**< first VLSN indexed; 0 when empty */
	uint64_t last;             /**< last VLSN indexed; 0 when empty */
};

/** What a persisted index says about the log it was saved from. */
struct tern_vlsn_index_meta {
	uint64_t ckpt_lsn;  /**< LSN of the checkpoint record the index was capped at */
	uint64_t end_lsn;   /**< LSN just past that checkpoint record */
	uint64_t last_term; /**< term of the last record with a VLSN at the checkpoint */
};

/** Name of the persisted file in the log's home directory. */
#define TERN_VLSN_INDEX_FILE "vlsn.idx"

/** Initialise an empty index keeping every @p stride-th VLSN (>= 1). @return 0 or -EINVAL. */
int tern_vlsn_index_init(struct tern_vlsn_index *idx, uint32_t stride);

/** Free the index's memory (the struct itself is the caller's). */
void tern_vlsn_index_fini(struct tern_vlsn_index *idx);

/**
 * Record that @p vlsn is at @p lsn. VLSNs must come in order without gaps (the first
 * may be any VLSN >= 1). @return 0; -TERN_EVLSN (gap or repeat); -ENOMEM.
 */
int tern_vlsn_index_add(struct tern_vlsn_index *idx, uint64_t vlsn, uint64_t lsn);

/**
 * Find the kept VLSN nearest at or below @p vlsn. @return 0 with *@p base_vlsn and
 * *@p lsn set; -ENOENT when @p vlsn is outside [first, last].
 */
int tern_vlsn_index_lookup(const struct tern_vlsn_index *idx, uint64_t vlsn,
			   uint64_t *base_vlsn, uint64_t *lsn);

/** Forget every VLSN after @p vlsn (rollback). @p vlsn below first empties the index. */
void tern_vlsn_index_truncate_after(struct tern_vlsn_index *idx, uint64_t vlsn);

/**
 * Persist the index with @p meta atomically (tmp file, sync, rename).
 * @return 0 or -errno from the driver.
 */
int tern_vlsn_index_save(const struct tern_vlsn_index *idx, struct tern_io *io,
			 const struct tern_vlsn_index_meta *meta);

/**
 * Load the persisted index into @p idx (which must be empty and initialised; its stride
 * is replaced by the file's). @return 0; -ENOENT (no file); -TERN_ECORRUPT (bad CRC or
 * inconsistent content; @p idx is left empty); -TERN_EFORMAT (unknown version); -ENOMEM.
 */
int tern_vlsn_index_load(struct tern_vlsn_index *idx, struct tern_io *io,
			 struct tern_vlsn_index_meta *meta);

#ifdef __cplusplus
}
#endif

#endif /* TERN_VLSN_INDEX_H */
