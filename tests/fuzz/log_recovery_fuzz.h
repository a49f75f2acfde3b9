/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The input format of fuzz_log_recovery, shared with its seed maker (make_seed.c).
 *
 * An input is a small header, then the bytes of one or two segment files and of an
 * optional VLSN index file:
 *
 * | bytes | field                                                                      |
 * |-------|----------------------------------------------------------------------------|
 * | 1     | flags: FUZZ_LR_TWO_SEGMENTS, FUZZ_LR_INDEX, FUZZ_LR_PAD                    |
 * | 1     | number of the first segment (its file is `%08x.tlg`; the second is + 1)    |
 * | 4     | length of the first segment's bytes (little endian; cut to what is there)  |
 * | 4     | length of the second segment's bytes (read only with FUZZ_LR_TWO_SEGMENTS) |
 * | ...   | first segment, second segment, then everything left is `vlsn.idx`          |
 *
 * With FUZZ_LR_PAD each segment file is padded with zeros to FUZZ_LR_SEGMENT_SIZE, as a
 * preallocated segment is; the seed maker stores segments without their zero tail.
 */
#ifndef TERN_LOG_RECOVERY_FUZZ_H
#define TERN_LOG_RECOVERY_FUZZ_H

#include <stdint.h>

#define FUZZ_LR_TWO_SEGMENTS 0x1 /**< a second segment follows the first */
#define FUZZ_LR_INDEX	     0x2 /**< the bytes after the segments are vlsn.idx */
#define FUZZ_LR_PAD	     0x4 /**< zero-pad segments to FUZZ_LR_SEGMENT_SIZE */

#define FUZZ_LR_HDR_SIZE 10

/** Log options the fuzzer opens with, and the seed maker writes with. */
#define FUZZ_LR_SEGMENT_SIZE (64u * 1024)
#define FUZZ_LR_BATCH_BYTES  (16u * 1024)
#define FUZZ_LR_INDEX_STRIDE 4

static inline uint32_t
fuzz_lr_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void
fuzz_lr_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif /* TERN_LOG_RECOVERY_FUZZ_H */
