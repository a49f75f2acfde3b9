/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "tern_prng.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
tern_prng_init(struct tern_prng *p, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		p->s[i] = splitmix64(&seed);
}

uint64_t
tern_prng_next(struct tern_prng *p)
{
	uint64_t *s = p->s;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

uint64_t
tern_prng_below(struct tern_prng *p, uint64_t n)
{
	uint64_t limit, r;

	if (n == 0)
		return 0;
	/* Reject the top partial range so every value is equally likely. */
	limit = UINT64_MAX - (UINT64_MAX % n);
	do {
		r = tern_prng_next(p);
	} while (r >= limit);
	return r % n;
}

double
tern_prng_unit(struct tern_prng *p)
{
	return (double)(tern_prng_next(p) >> 11) * 0x1.0p-53;
}

int
tern_prng_chance(struct tern_prng *p, double prob)
{
	return tern_prng_unit(p) < prob;
}

void
tern_prng_fill(struct tern_prng *p, void *buf, unsigned long len)
{
	unsigned char *b = buf;

	while (len >= 8) {
		uint64_t r = tern_prng_next(p);

		memcpy(b, &r, 8);
		b += 8;
		len -= 8;
	}
	if (len > 0) {
		uint64_t r = tern_prng_next(p);

		memcpy(b, &r, len);
	}
}
