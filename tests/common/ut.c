/* SPDX-License-Identifier: BSD-3-Clause */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>

#include <tern_diag.h>
#include <tern_heap.h>

#include "ut.h"

static uint64_t fake_now = 1000000000ULL;

uint64_t
ut_now_ns(void)
{
	return fake_now;
}

void
ut_advance_ns(uint64_t ns)
{
	fake_now += ns;
}

void
ut_clock_set(uint64_t ns)
{
	fake_now = ns;
}

void
ut_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
ut_heap_fail_after(long n)
{
	tern_heap_fail_after(n);
}

static struct tern_heap_stats heap_base;

long
ut_heap_live(void)
{
	struct tern_heap_stats st;

	tern_heap_stats_get(&st);
	return (long)(st.allocs - heap_base.allocs) - (long)(st.frees - heap_base.frees);
}

#define CAPTURE_MAX 256
static struct {
	int on;
	unsigned int n;
	char msgs[CAPTURE_MAX][1024];
} cap;

static void
capture_sink(void *arg, struct tern_diag_component *c, int level, const char *msg)
{
	(void)arg;
	if (getenv("UT_DIAG") != NULL)
		fprintf(stderr, "  [diag %s/%d] %s\n", c->name, level, msg);
	if (!cap.on)
		return;
	snprintf(cap.msgs[cap.n % CAPTURE_MAX], sizeof(cap.msgs[0]), "%s", msg);
	cap.n++;
}

void
ut_diag_capture(int on)
{
	cap.on = on;
	cap.n = 0;
}

int
ut_diag_contains(const char *substr)
{
	unsigned int i, n = cap.n < CAPTURE_MAX ? cap.n : CAPTURE_MAX;

	for (i = 0; i < n; i++)
		if (strstr(cap.msgs[i], substr) != NULL)
			return 1;
	return 0;
}

const char *
ut_diag_last(void)
{
	return cap.n == 0 ? "" : cap.msgs[(cap.n - 1) % CAPTURE_MAX];
}

unsigned int
ut_diag_count(void)
{
	return cap.n;
}

uint64_t
ut_seeds(uint64_t dflt)
{
	const char *s = getenv("TERN_UT_SEEDS");
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtoull(s, &end, 10);
	return *end == '\0' && v > 0 ? v : dflt;
}

char *
ut_tmpdir(void)
{
	const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char *d = malloc(strlen(base) + 32);

	if (d == NULL)
		return NULL;
	sprintf(d, "%s/tern-ut-XXXXXX", base);
	if (mkdtemp(d) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
ut_rmdir(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Every test starts with a clean heap and diag state, and must not leak lib/ memory. */
static long live_at_start;

static void
test_start(const CU_pTest test, const CU_pSuite suite)
{
	(void)test;
	(void)suite;
	tern_heap_fail_after(-1);
	tern_heap_stats_get(&heap_base);
	live_at_start = 0;
	ut_diag_capture(0);
}

static unsigned int leaks;

static void
test_complete(const CU_pTest test, const CU_pSuite suite, const CU_pFailureRecord fail)
{
	long live;

	(void)fail;
	tern_heap_fail_after(-1);
	live = ut_heap_live();
	if (live != live_at_start) {
		fprintf(stderr, "LEAK: %s/%s left %ld lib/ allocations live\n", suite->pName,
			test->pName, live);
		leaks++;
	}
}

int
tern_ut_run(int argc, char **argv)
{
	const char *suite_name = NULL, *test_name = NULL;
	int list = 0, verbose = 0, c;
	unsigned int failures;
	CU_pSuite s;
	CU_pTest t;

	while ((c = getopt(argc, argv, "s:t:lv")) != -1) {
		switch (c) {
		case 's':
			suite_name = optarg;
			break;
		case 't':
			test_name = optarg;
			break;
		case 'l':
			list = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-s suite] [-t test] [-l] [-v]\n", argv[0]);
			CU_cleanup_registry();
			return 2;
		}
	}
	tern_diag_set_sink(capture_sink, NULL, NULL, NULL);
	if (list) {
		for (s = CU_get_registry()->pSuite; s != NULL; s = s->pNext)
			for (t = s->pTest; t != NULL; t = t->pNext)
				printf("%s/%s\n", s->pName, t->pName);
		CU_cleanup_registry();
		return 0;
	}
	/* Deactivate what was not asked for. */
	for (s = CU_get_registry()->pSuite; s != NULL; s = s->pNext) {
		if (suite_name != NULL && strcmp(s->pName, suite_name) != 0) {
			CU_set_suite_active(s, CU_FALSE);
			continue;
		}
		for (t = s->pTest; t != NULL; t = t->pNext)
			if (test_name != NULL && strcmp(t->pName, test_name) != 0)
				CU_set_test_active(t, CU_FALSE);
	}
	CU_set_test_start_handler(test_start);
	CU_set_test_complete_handler(test_complete);
	CU_basic_set_mode(verbose ? CU_BRM_VERBOSE : CU_BRM_NORMAL);
	CU_basic_run_tests();
	failures = CU_get_number_of_tests_failed() + leaks;
	if (CU_get_number_of_tests_run() == 0) {
		fprintf(stderr, "no test ran\n");
		failures++;
	}
	CU_cleanup_registry();
	return failures > 0 ? 1 : 0;
}
