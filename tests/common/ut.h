/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Test support shared by every CUnit executable: the runner, a fake clock, heap failure
 * injection and leak counting, and a capturing diagnostics sink.
 */
#ifndef TERN_UT_H
#define TERN_UT_H

#include <stdint.h>

#include <CUnit/Basic.h>

/**
 * Fatal assertion that also prints the failing expression; CU_ASSERT_FATAL alone gives no
 * message in the summary. Use it where going on would crash.
 */
#define TERN_CU_ASSERT_FATAL(x) CU_ASSERT_FATAL(x)

/** Assert that an int-returning call gives @p want, printing both on mismatch. */
#define UT_EQ_INT(got_expr, want)                                                          \
	do {                                                                               \
		long long ut_got_ = (long long)(got_expr);                                 \
		long long ut_want_ = (long long)(want);                                    \
		if (ut_got_ != ut_want_)                                                   \
			ut_note("%s:%d: %s = %lld, want %lld", __FILE__, __LINE__, #got_expr, \
				ut_got_, ut_want_);                                         \
		CU_ASSERT_EQUAL(ut_got_, ut_want_);                                        \
	} while (0)

/**
 * Run the registered suites. Arguments: -s SUITE (only that suite), -t TEST (only tests of
 * that name), -l (list and exit), -v (verbose). Returns the number of failures (0 = pass),
 * so main can `return tern_ut_run(argc, argv);`. Also fails when lib/ allocations leaked.
 */
int tern_ut_run(int argc, char **argv);

/** Print a note to stderr (shown with the failing test). */
void ut_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fake clock: moves only when told. */
uint64_t ut_now_ns(void);
void ut_advance_ns(uint64_t ns);
void ut_clock_set(uint64_t ns);

/** Fail the (n+1)th lib/ allocation from now and all after; n < 0 turns it off. */
void ut_heap_fail_after(long n);
/** Live lib/ allocations (allocs - frees) since the test started. */
long ut_heap_live(void);

/* Capturing diagnostics sink. */
void ut_diag_capture(int on);               /**< start (clears) or stop capturing */
int ut_diag_contains(const char *substr);   /**< a captured message contains @p substr */
const char *ut_diag_last(void);             /**< last captured message or "" */
unsigned int ut_diag_count(void);           /**< messages captured */

/** How many seeds a seeded test runs: TERN_UT_SEEDS from the environment, else @p dflt. */
uint64_t ut_seeds(uint64_t dflt);

/** A fresh temporary directory (removed by ut_rmdir); NULL on failure. */
char *ut_tmpdir(void);
void ut_rmdir(char *dir);

#endif /* TERN_UT_H */
