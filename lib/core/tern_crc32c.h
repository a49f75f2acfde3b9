/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * CRC32C (Castagnoli), the checksum of log records, index files and wire frames.
 *
 * Why not DPDK's rte_hash_crc(): lib/ stays free of DPDK headers (STYLE.md 1), so the log,
 * the wire codec, the simulator and the fuzz targets build and run without EAL. This is the
 * same checksum, from instructions chosen at run time: on buffers of 256 bytes or more,
 * where the CPU has AVX-512F and VPCLMULQDQ, 512-bit carry-less folding (about 2x the next
 * path); from 96 bytes, three interleaved SSE4.2 crc32 streams joined with PCLMULQDQ (about
 * 3x one stream); else one stream 8 bytes at a time; and a slicing-by-8 table fallback for
 * CPUs without SSE4.2. The result
 * is the standard CRC32C (initial value and final xor 0xffffffff), so "123456789" gives
 * 0xe3069283.
 */
#ifndef TERN_CRC32C_H
#define TERN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** CRC32C of @p len bytes at @p buf. */
uint32_t tern_crc32c(const void *buf, size_t len);

/**
 * Continue a CRC over more data: `tern_crc32c_extend(tern_crc32c(a, n), b, m)` equals the
 * CRC of a followed by b.
 */
uint32_t tern_crc32c_extend(uint32_t crc, const void *buf, size_t len);

/** The portable table path, whatever the CPU (for tests that compare the two). */
uint32_t tern_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TERN_CRC32C_H */
