/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "tern_crc32c.h"

#define POLY 0x82f63b78U /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
static int use_hw;

__attribute__((constructor)) static void
crc32c_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (POLY & (0U - (c & 1)));
		table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			table[j][i] = (table[j - 1][i] >> 8) ^ table[0][table[j - 1][i] & 0xff];
	__builtin_cpu_init();
	use_hw = __builtin_cpu_supports("sse4.2");
}

/* Raw (un-inverted) update, slicing-by-8. */
static uint32_t
sw_update(uint32_t c, const unsigned char *p, size_t len)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= c;
		c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
		    table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
		    table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
	return c;
}

__attribute__((target("sse4.2"))) static uint32_t
hw_update(uint32_t c, const unsigned char *p, size_t len)
{
	uint64_t c64;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = __builtin_ia32_crc32qi(c, *p++);
		len--;
	}
	c64 = c;
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		len -= 8;
	}
	c = (uint32_t)c64;
	while (len-- > 0)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

uint32_t
tern_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	return ~sw_update(~crc, buf, len);
}

uint32_t
tern_crc32c_extend(uint32_t crc, const void *buf, size_t len)
{
	if (use_hw)
		return ~hw_update(~crc, buf, len);
	return ~sw_update(~crc, buf, len);
}

uint32_t
tern_crc32c(const void *buf, size_t len)
{
	return tern_crc32c_extend(0, buf, len);
}
