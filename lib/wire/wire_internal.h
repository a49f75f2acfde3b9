/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/wire internals shared by its .c files: explicit little-endian loads and stores (so
 * no decoder casts a frame to a struct) and the diagnostics component.
 */
#ifndef TERN_WIRE_INTERNAL_H
#define TERN_WIRE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include <tern_diag.h>

TERN_DIAG_EXTERN(wire);
#define WIRE_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, wire, "%s(): " fmt, __func__, ##__VA_ARGS__)

static inline uint16_t
le16_load(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t
le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
le64_load(const uint8_t *p)
{
	return (uint64_t)le32_load(p) | (uint64_t)le32_load(p + 4) << 32;
}

static inline void
le16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void
le64_store(uint8_t *p, uint64_t v)
{
	le32_store(p, (uint32_t)v);
	le32_store(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t
be16_load(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline void
be16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Header field offsets (struct tern_wire_hdr). */
#define HDR_MAGIC	0
#define HDR_VER_MAJOR	4
#define HDR_VER_MINOR	5
#define HDR_TYPE	6
#define HDR_FLAGS	7
#define HDR_GROUP	8
#define HDR_SRC		12
#define HDR_DST		14
#define HDR_TERM	16
#define HDR_PAYLOAD_LEN 24
#define HDR_CAPS	28
#define HDR_CRC		32
#define HDR_SEQ		36

#endif /* TERN_WIRE_INTERNAL_H */
