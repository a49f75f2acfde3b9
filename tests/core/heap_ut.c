/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <string.h>

#include <tern_heap.h>

#include "ut.h"

static void
heap_fail_after_fails_exactly_the_nth_and_later(void)
{
	void *a, *b, *c;

	ut_heap_fail_after(2);
	a = tern_malloc(16);
	b = tern_malloc(16);
	c = tern_malloc(16);
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(b);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NULL(tern_zmalloc(8));
	ut_heap_fail_after(-1);
	c = tern_malloc(16);
	CU_ASSERT_PTR_NOT_NULL(c);
	tern_free(a);
	tern_free(b);
	tern_free(c);
	UT_EQ_INT(ut_heap_live(), 0);
}

static void
heap_zmalloc_zeroes_and_aligned_is_aligned(void)
{
	unsigned char *p = tern_zmalloc(100);
	void *q = tern_zmalloc_aligned(4096, 4096);
	int i, sum = 0;

	TERN_CU_ASSERT_FATAL(p != NULL && q != NULL);
	for (i = 0; i < 100; i++)
		sum += p[i];
	UT_EQ_INT(sum, 0);
	UT_EQ_INT((uintptr_t)q % 4096, 0);
	CU_ASSERT_PTR_NULL(tern_zmalloc_aligned(64, 3));
	tern_free(p);
	tern_free(q);
}

static void
heap_calloc_rejects_overflow(void)
{
	CU_ASSERT_PTR_NULL(tern_calloc(SIZE_MAX / 2, 4));
	CU_ASSERT_PTR_NULL(tern_malloc(0));
}

static void
heap_live_count_sees_a_leak(void)
{
	char *s = tern_strdup("tern");

	TERN_CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_STRING_EQUAL(s, "tern");
	UT_EQ_INT(ut_heap_live(), 1);
	tern_free(s);
	tern_free(NULL);
	UT_EQ_INT(ut_heap_live(), 0);
}

static unsigned int hook_allocs;

static void *
hook_alloc(void *arg, size_t size, size_t align)
{
	static unsigned char arena[4096] __attribute__((aligned(64)));

	(void)arg;
	(void)align;
	hook_allocs++;
	return size <= sizeof(arena) ? arena : NULL;
}

static void
hook_free(void *arg, void *p)
{
	(void)arg;
	(void)p;
}

static void
heap_hooks_replace_the_allocator(void)
{
	struct tern_heap_hooks h = {.alloc = hook_alloc, .free = hook_free};
	void *p;

	tern_heap_set_hooks(&h);
	p = tern_malloc(100);
	UT_EQ_INT(hook_allocs, 1);
	tern_free(p);
	tern_heap_set_hooks(NULL);
	p = tern_malloc(100);
	UT_EQ_INT(hook_allocs, 1);
	tern_free(p);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("heap", NULL, NULL);
	CU_ADD_TEST(s, heap_fail_after_fails_exactly_the_nth_and_later);
	CU_ADD_TEST(s, heap_zmalloc_zeroes_and_aligned_is_aligned);
	CU_ADD_TEST(s, heap_calloc_rejects_overflow);
	CU_ADD_TEST(s, heap_live_count_sees_a_leak);
	CU_ADD_TEST(s, heap_hooks_replace_the_allocator);
	return tern_ut_run(argc, argv);
}
