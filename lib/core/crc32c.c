/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CRC32C, four ways, chosen once at load time:
 *
 *  - HW_FOLD512 (also AVX-512F and VPCLMULQDQ): buffers of CRC_FOLD_MIN bytes or more are
 *    folded 256 bytes at a time with carry-less multiplies on 512-bit registers (see
 *    hw_fold512_long), about twice HW_3WAY from 256 bytes; shorter ones go as in HW_3WAY.
 *  - HW_3WAY (SSE4.2 and PCLMULQDQ): buffers of CRC_3WAY_MIN bytes or more are cut into
 *    three streams run through crc32q side by side, then joined with two carry-less
 *    multiplies. crc32q has a 3-cycle latency but issues every cycle, so one stream uses a
 *    third of the unit; three keep it busy (Intel, "Fast CRC Computation for iSCSI
 *    Polynomial Using CRC32 Instruction", 2011; Linux crc32c-intel does the same).
 *  - HW_SERIAL (SSE4.2 only): crc32q 8 bytes at a time, one stream.
 *  - HW_NONE: slicing-by-8 tables.
 *
 * Joining the streams. Write polynomials over GF(2) and P for the Castagnoli polynomial.
 * The crc32 instruction maps a state C and an n-bit input D to C.x^n + D.x^32 mod P, on
 * bit-reflected values. Stream A of a bytes, followed by streams B then C, contributes
 * crc(A).x^(8(b+c)) to the result, so all that is needed is "multiply a state by x^k".
 * A carry-less multiply of two reflected 32-bit values gives their 63-bit reflected
 * product one place short of a 64-bit word, i.e. (S.K).x; feeding that word to crc32q
 * multiplies by x^32 and reduces. So crc32q(0, clmul(S, K)) = S.K.x^33 mod P, and
 * K = x^(8k - 33) mod P shifts S by k bytes. Stream lengths are whole 8-byte words, so
 * shift_k[m] = x^(64m - 33) mod P for every shift the code uses; they are computed in
 * the constructor. Because crc32q is linear in its data, the two shifted states are
 * xored into the last word of stream C instead of costing a crc32q of their own.
 */
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "tern_crc32c.h"

#define POLY 0x82f63b78U /* reflected Castagnoli polynomial */

/* Words (8 bytes) per stream in a full 3-way block: 3 x 2 KiB per block. */
#define CRC_STRIDE_MAX 256
/*
 * Below this many bytes one stream is as fast: the join costs about as much as it saves
 * (AMD EPYC, one call after another: 64 B 5.2 ns one stream, 5.5 three; 80 B 6.3 both;
 * 96 B 7.5 and 6.3).
 */
#define CRC_3WAY_MIN 96

enum crc_impl {
	HW_NONE,
	HW_SERIAL,
	HW_3WAY,
	HW_FOLD512,
};

static uint32_t table[8][256];
/* shift_k[m] = x^(64m - 33) mod P, reflected: shifts a state over m words. */
static uint32_t shift_k[2 * CRC_STRIDE_MAX + 3];
/*
 * Fold constants of HW_FOLD512, one 128-bit pair per distance: fold_k[i] moves a 128-bit
 * lane forward over FOLD_BYTES(i) bytes (see hw_fold512 for the arithmetic).
 */
enum { FOLD_16, FOLD_32, FOLD_48, FOLD_64, FOLD_128, FOLD_192, FOLD_256, FOLD_N };
static const unsigned int fold_bytes[FOLD_N] = {16, 32, 48, 64, 128, 192, 256};
static uint64_t fold_k[FOLD_N][2];
static enum crc_impl impl;

/* x^n mod P, reflected (bit 31 - d stands for x^d). */
static uint32_t
xpow_mod(unsigned int n)
{
	uint32_t c = 0x80000000U;

	while (n-- > 0)
		c = (c >> 1) ^ (POLY & (0U - (c & 1)));
	return c;
}

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

	/* Reflected, bit 31 - d stands for x^d: shift_k[1] = x^31 = 1. Each step is x^64. */
	c = 1;
	shift_k[0] = 0; /* unused: a stream is never empty */
	for (i = 1; i < sizeof(shift_k) / sizeof(shift_k[0]); i++) {
		shift_k[i] = c;
		for (j = 0; j < 8; j++)
			c = (c >> 8) ^ table[0][c & 0xff];
	}

	for (i = 0; i < FOLD_N; i++) {
		fold_k[i][0] = xpow_mod(8 * fold_bytes[i] + 31);
		fold_k[i][1] = xpow_mod(8 * fold_bytes[i] - 33);
	}
	impl = HW_NONE;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2"))
		impl = __builtin_cpu_supports("pclmul") ? HW_3WAY : HW_SERIAL;
	if (impl == HW_3WAY && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("vpclmulqdq"))
		impl = HW_FOLD512;
#endif
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

#if defined(__x86_64__)

static inline uint64_t
load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Fewer than 8 bytes: at most three crc32 steps (4, 2, 1) rather than a byte loop. */
static inline __attribute__((always_inline, target("sse4.2"))) uint32_t
hw_tail(uint32_t c, const unsigned char *p, size_t len)
{
	if (len & 4) {
		uint32_t w;

		memcpy(&w, p, sizeof(w));
		c = __builtin_ia32_crc32si(c, w);
		p += 4;
	}
	if (len & 2) {
		uint16_t w;

		memcpy(&w, p, sizeof(w));
		c = __builtin_ia32_crc32hi(c, w);
		p += 2;
	}
	if (len & 1)
		c = __builtin_ia32_crc32qi(c, *p);
	return c;
}

/*
 * One stream. Loads are unaligned: on CPUs with SSE4.2 that costs at most a little on
 * cache-line splits, while aligning first would put up to 7 byte steps on the critical path.
 */
static inline __attribute__((always_inline, target("sse4.2"))) uint32_t
hw_serial(uint32_t c, const unsigned char *p, size_t len)
{
	uint64_t c64 = c;

	while (len >= 8) {
		c64 = __builtin_ia32_crc32di(c64, load64(p));
		p += 8;
		len -= 8;
	}
	if (len == 0) /* the common case; worth ~1 cycle at 16 bytes */
		return (uint32_t)c64;
	return hw_tail((uint32_t)c64, p, len);
}

__attribute__((target("sse4.2"))) static uint32_t
hw_update(uint32_t c, const unsigned char *p, size_t len)
{
	return hw_serial(c, p, len);
}

/* S.K.x^33 mod P, as a word for crc32q to reduce: see the top of the file. */
static inline __attribute__((always_inline, target("sse4.2,pclmul"))) uint64_t
clmul32(uint32_t s, uint32_t k)
{
	__m128i v =
		_mm_clmulepi64_si128(_mm_cvtsi32_si128((int)s), _mm_cvtsi32_si128((int)k), 0x00);

	return (uint64_t)_mm_cvtsi128_si64(v);
}

/*
 * CRC of 3n + r words (n >= 1, r <= 2) at p, continuing state c: streams of n, n and
 * n + r words. The first two are shifted over the ones after them and folded into the
 * last word of the third.
 */
static inline __attribute__((always_inline, target("sse4.2,pclmul"))) uint32_t
hw_3way_block(uint32_t c, const unsigned char *p, size_t n, size_t r)
{
	const unsigned char *p1 = p + 8 * n, *p2 = p1 + 8 * n;
	uint64_t c0 = c, c1 = 0, c2 = 0, fold;
	size_t i;

	for (i = 0; i < n - 1; i++) {
		c0 = __builtin_ia32_crc32di(c0, load64(p + 8 * i));
		c1 = __builtin_ia32_crc32di(c1, load64(p1 + 8 * i));
		c2 = __builtin_ia32_crc32di(c2, load64(p2 + 8 * i));
	}
	c0 = __builtin_ia32_crc32di(c0, load64(p + 8 * i));
	c1 = __builtin_ia32_crc32di(c1, load64(p1 + 8 * i));
	for (; i < n - 1 + r; i++)
		c2 = __builtin_ia32_crc32di(c2, load64(p2 + 8 * i));
	fold = clmul32((uint32_t)c0, shift_k[2 * n + r]) ^ clmul32((uint32_t)c1, shift_k[n + r]);
	return (uint32_t)__builtin_ia32_crc32di(c2, load64(p2 + 8 * i) ^ fold);
}

/* Full blocks of 3 x CRC_STRIDE_MAX words, then one block of what is left, then the tail. */
__attribute__((noinline, target("sse4.2,pclmul"))) static uint32_t
hw_3way_long(uint32_t c, const unsigned char *p, size_t len)
{
	size_t words = len / 8;

	while (words > 3 * CRC_STRIDE_MAX) {
		c = hw_3way_block(c, p, CRC_STRIDE_MAX, 0);
		p += 24 * CRC_STRIDE_MAX;
		words -= 3 * CRC_STRIDE_MAX;
	}
	if (words >= 3) {
		c = hw_3way_block(c, p, words / 3, words % 3);
		p += 8 * words;
		len &= 7;
	} else {
		len = 8 * words + (len & 7);
	}
	return hw_serial(c, p, len);
}

/*
 * Short buffers (headers, small records) stay on the fall-through path with no stack frame,
 * as fast as before the 3-way code existed; long ones jump out to hw_3way_long().
 */
__attribute__((target("sse4.2,pclmul"))) static uint32_t
hw_update_3way(uint32_t c, const unsigned char *p, size_t len)
{
	if (__builtin_expect(len >= CRC_3WAY_MIN, 0))
		return hw_3way_long(c, p, len);
	return hw_serial(c, p, len);
}

/*
 * HW_FOLD512: folding with VPCLMULQDQ on 512-bit registers (four 128-bit lanes), as in
 * Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ" (2009) and
 * ISA-L's crc32_iscsi_by16_10, but with the final reduction left to crc32q.
 *
 * A 128-bit lane loaded from the stream holds a 128-bit polynomial R (bit i stands for
 * x^(127 - i) times the x^m of the m bits that follow it); its low quadword H carries the
 * higher degrees, R = H.x^64 + L. Moving R forward over F bits is R.x^F = H.x^(64+F) +
 * L.x^F, and only its value mod P matters. A carry-less multiply of two reflected 64-bit
 * operands gives their product times x (see the top of the file), and a 32-bit reflected
 * constant r in the low half of an operand stands for r.x^32; so with r_H = x^(F+31) mod P
 * and r_L = x^(F-33) mod P, clmul(H, r_H) ^ clmul(L, r_L) is congruent to R.x^F and fits in
 * 128 bits: xored onto the lane F bits further on, the stream's CRC is unchanged. The
 * initial state is xored into the first 4 bytes (it stands for c.x^len). What is left,
 * one 128-bit R ending where the folded data ends, gives R.x^32 mod P as
 * crc32q(crc32q(0, H), L); the last 0 to 63 bytes go through crc32q as usual.
 *
 * Four accumulators (256 bytes a pass) keep the multiplier busy; past the last full pass
 * one folds 64 bytes at a time. Measured on an AMD EPYC with AVX-512 (2 vCPUs): 1 KiB in
 * 22 ns against 41 for HW_3WAY, 8 KiB in 144 ns against 289; 64-192 bytes are no faster.
 */
/* Shorter buffers take HW_3WAY's paths: faster there (64 B: 6 vs 8 ns, 128 B: 9 vs 10). */
#define CRC_FOLD_MIN 256

static inline __attribute__((always_inline, target("avx512f,vpclmulqdq"))) __m512i
fold_k512(unsigned int i)
{
	return _mm512_broadcast_i32x4(
		_mm_set_epi64x((long long)fold_k[i][1], (long long)fold_k[i][0]));
}

/* Lane by lane: x moved forward over k's distance, xored onto d. */
static inline __attribute__((always_inline, target("avx512f,vpclmulqdq"))) __m512i
fold512(__m512i x, __m512i k, __m512i d)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
					 _mm512_clmulepi64_epi128(x, k, 0x11), d, 0x96);
}

static inline __attribute__((always_inline, target("pclmul"))) __m128i
fold128(__m128i x, unsigned int i)
{
	__m128i k = _mm_set_epi64x((long long)fold_k[i][1], (long long)fold_k[i][0]);

	return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((noinline, target("sse4.2,pclmul,avx512f,vpclmulqdq"))) static uint32_t
hw_fold512_long(uint32_t c, const unsigned char *p, size_t len)
{
	__m512i x0, x1, x2, x3, k;
	__m128i r;
	uint64_t c64;

	x0 = _mm512_xor_si512(_mm512_loadu_si512(p),
			      _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)c)));
	p += 64;
	len -= 64;
	if (len >= 192) {
		x1 = _mm512_loadu_si512(p);
		x2 = _mm512_loadu_si512(p + 64);
		x3 = _mm512_loadu_si512(p + 128);
		p += 192;
		len -= 192;
		k = fold_k512(FOLD_256);
		while (len >= 256) {
			x0 = fold512(x0, k, _mm512_loadu_si512(p));
			x1 = fold512(x1, k, _mm512_loadu_si512(p + 64));
			x2 = fold512(x2, k, _mm512_loadu_si512(p + 128));
			x3 = fold512(x3, k, _mm512_loadu_si512(p + 192));
			p += 256;
			len -= 256;
		}
		/* Four accumulators into one: each over the ones after it. */
		x3 = fold512(x2, k = fold_k512(FOLD_64), x3);
		x3 = fold512(x1, fold_k512(FOLD_128), x3);
		x0 = fold512(x0, fold_k512(FOLD_192), x3);
	}
	k = fold_k512(FOLD_64);
	while (len >= 64) {
		x0 = fold512(x0, k, _mm512_loadu_si512(p));
		p += 64;
		len -= 64;
	}
	/* Four lanes into one: lanes 0, 1, 2 over 48, 32, 16 bytes, onto lane 3. */
	r = _mm512_extracti32x4_epi32(x0, 3);
	r = _mm_xor_si128(r, fold128(_mm512_extracti32x4_epi32(x0, 2), FOLD_16));
	r = _mm_xor_si128(r, fold128(_mm512_extracti32x4_epi32(x0, 1), FOLD_32));
	r = _mm_xor_si128(r, fold128(_mm512_castsi512_si128(x0), FOLD_48));
	c64 = __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(r));
	c64 = __builtin_ia32_crc32di(c64, (uint64_t)_mm_extract_epi64(r, 1));
	return hw_serial((uint32_t)c64, p, len);
}

__attribute__((target("sse4.2,pclmul"))) static uint32_t
hw_update_fold512(uint32_t c, const unsigned char *p, size_t len)
{
	if (__builtin_expect(len >= CRC_3WAY_MIN, 0)) {
		if (len >= CRC_FOLD_MIN)
			return hw_fold512_long(c, p, len);
		return hw_3way_long(c, p, len);
	}
	return hw_serial(c, p, len);
}
#endif /* __x86_64__ */

uint32_t
tern_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	return ~sw_update(~crc, buf, len);
}

uint32_t
tern_crc32c_extend(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	if (impl == HW_FOLD512)
		return ~hw_update_fold512(~crc, buf, len);
	if (impl == HW_3WAY)
		return ~hw_update_3way(~crc, buf, len);
	if (impl == HW_SERIAL)
		return ~hw_update(~crc, buf, len);
#endif
	return ~sw_update(~crc, buf, len);
}

uint32_t
tern_crc32c(const void *buf, size_t len)
{
	return tern_crc32c_extend(0, buf, len);
}
