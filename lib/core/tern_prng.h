/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Seeded pseudo-random numbers (xoshiro256**, seeded through splitmix64). Every random
 * choice in protocol logic and simulation comes from one of these, so a seed replays a run.
 * Not for cryptography.
 */
#ifndef TERN_PRNG_H
#define TERN_PRNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tern_prng {
	uint64_t s[4];
};

/** Seed @p p; any seed, 0 included, gives a valid stream. */
void tern_prng_init(struct tern_prng *p, uint64_t seed);
/** Next 64 random bits. */
uint64_t tern_prng_next(struct tern_prng *p);
/** Uniform in [0, @p n) without modulo bias; 0 when @p n is 0. */
uint64_t tern_prng_below(struct tern_prng *p, uint64_t n);
/** Uniform in [0, 1). */
double tern_prng_unit(struct tern_prng *p);
/** True with probability @p prob (0..1). */
int tern_prng_chance(struct tern_prng *p, double prob);
/** Fill @p len bytes at @p buf. */
void tern_prng_fill(struct tern_prng *p, void *buf, unsigned long len);

#ifdef __cplusplus
}
#endif

#endif /* TERN_PRNG_H */
