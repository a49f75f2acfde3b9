/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "tern_heap.h"

static void *
sys_alloc(void *arg, size_t size, size_t align)
{
	void *p = NULL;

	(void)arg;
	if (align == 0)
		return malloc(size);
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	return p;
}

static void
sys_free(void *arg, void *p)
{
	(void)arg;
	free(p);
}

static const struct tern_heap_hooks sys_hooks = {.alloc = sys_alloc, .free = sys_free};
static struct tern_heap_hooks hooks = {.alloc = sys_alloc, .free = sys_free};
static struct tern_heap_stats stats;
static long fail_countdown = -1;

static void *
heap_alloc(size_t size, size_t align)
{
	void *p;

	if (size == 0)
		return NULL;
	if (fail_countdown >= 0) {
		if (__atomic_fetch_sub(&fail_countdown, 1, __ATOMIC_RELAXED) <= 0) {
			__atomic_store_n(&fail_countdown, 0, __ATOMIC_RELAXED);
			__atomic_fetch_add(&stats.failures, 1, __ATOMIC_RELAXED);
			return NULL;
		}
	}
	p = hooks.alloc(hooks.arg, size, align);
	if (p == NULL)
		__atomic_fetch_add(&stats.failures, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&stats.allocs, 1, __ATOMIC_RELAXED);
	return p;
}

void *
tern_malloc(size_t size)
{
	return heap_alloc(size, 0);
}

void *
tern_zmalloc(size_t size)
{
	void *p = heap_alloc(size, 0);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void *
tern_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return tern_zmalloc(n * size);
}

void *
tern_zmalloc_aligned(size_t size, size_t align)
{
	void *p;

	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	p = heap_alloc(size, align);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void
tern_free(void *p)
{
	if (p == NULL)
		return;
	__atomic_fetch_add(&stats.frees, 1, __ATOMIC_RELAXED);
	hooks.free(hooks.arg, p);
}

char *
tern_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = tern_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

void
tern_heap_set_hooks(const struct tern_heap_hooks *h)
{
	hooks = h != NULL ? *h : sys_hooks;
}

void
tern_heap_fail_after(long n)
{
	__atomic_store_n(&fail_countdown, n < 0 ? -1 : n, __ATOMIC_RELAXED);
}

void
tern_heap_stats_get(struct tern_heap_stats *st)
{
	st->allocs = __atomic_load_n(&stats.allocs, __ATOMIC_RELAXED);
	st->frees = __atomic_load_n(&stats.frees, __ATOMIC_RELAXED);
	st->failures = __atomic_load_n(&stats.failures, __ATOMIC_RELAXED);
}

void
tern_heap_stats_reset(void)
{
	memset(&stats, 0, sizeof(stats));
}
