/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Small definitions every Tern library uses: invariant checks, branch hints, alignment.
 */
#ifndef TERN_COMMON_H
#define TERN_COMMON_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_CACHE_LINE 64
#define __tern_cache_aligned __attribute__((aligned(TERN_CACHE_LINE)))
#define tern_likely(x) __builtin_expect(!!(x), 1)
#define tern_unlikely(x) __builtin_expect(!!(x), 0)
#define TERN_DIM(a) (sizeof(a) / sizeof((a)[0]))
#define TERN_ALIGN_UP(v, a) (((v) + ((a) - 1)) & ~((__typeof__(v))(a) - 1))
#define TERN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TERN_MAX(a, b) ((a) > (b) ? (a) : (b))

/**
 * "Impossible but survivable": asserts in debug builds, evaluates to the condition in
 * release builds so the caller can recover. Use as `if (TERN_NEVER(x)) return -EIO;`.
 */
#ifdef NDEBUG
#define TERN_ALWAYS(x) (x)
#define TERN_NEVER(x) (x)
#else
#define TERN_ALWAYS(x) (assert(x), 1)
#define TERN_NEVER(x) (assert(!(x)), 0)
#endif

/** Marks a boundary a test must reach; counted when TERN_COVERAGE is defined. */
#ifdef TERN_COVERAGE
void tern_testcase_hit(const char *file, int line);
#define TERN_TESTCASE(x)                                                                   \
	do {                                                                               \
		if (x)                                                                     \
			tern_testcase_hit(__FILE__, __LINE__);                             \
	} while (0)
#else
#define TERN_TESTCASE(x) ((void)0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* TERN_COMMON_H */
