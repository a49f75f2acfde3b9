/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Allocation for lib/ code. Everything in lib/ allocates through these calls so tests can
 * fail the Nth allocation and count what is still live. The default hooks call the
 * process allocator: jemalloc in apps and benchmarks (linked in, it replaces malloc),
 * the sanitizer's allocator in sanitized builds. Never called on the data path.
 */
#ifndef TERN_HEAP_H
#define TERN_HEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Replacement allocator. @p align is 0 for plain allocations, else a power of two. */
struct tern_heap_hooks {
	void *(*alloc)(void *arg, size_t size, size_t align);
	void (*free)(void *arg, void *p);
	void *arg;
};

/** Live allocation counters, kept whatever hooks are installed. */
struct tern_heap_stats {
	uint64_t allocs;   /**< successful allocations */
	uint64_t frees;    /**< frees of non-NULL pointers */
	uint64_t failures; /**< allocations that returned NULL */
};

/** Allocate @p size bytes (uninitialised). NULL on failure or when @p size is 0. */
void *tern_malloc(size_t size);
/** Allocate @p size zeroed bytes. */
void *tern_zmalloc(size_t size);
/** Allocate @p n * @p size zeroed bytes, NULL on overflow. */
void *tern_calloc(size_t n, size_t size);
/** Allocate @p size bytes aligned to @p align (a power of two), zeroed. */
void *tern_zmalloc_aligned(size_t size, size_t align);
/** Free @p p (NULL is accepted). */
void tern_free(void *p);
/** Duplicate a string. */
char *tern_strdup(const char *s);

/** Install @p hooks (NULL restores the process allocator). */
void tern_heap_set_hooks(const struct tern_heap_hooks *hooks);

/**
 * Make the (@p n + 1)th allocation from now fail, and every one after it until reset;
 * a negative @p n turns failure injection off. For tests.
 */
void tern_heap_fail_after(long n);

/** Counters since start (or the last tern_heap_stats_reset). */
void tern_heap_stats_get(struct tern_heap_stats *st);
void tern_heap_stats_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* TERN_HEAP_H */
