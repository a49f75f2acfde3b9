/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <tern_diag.h>

#include "ut.h"

TERN_DIAG_REGISTER(test, NOTICE);
#define T_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, test, fmt, ##__VA_ARGS__)

static void
diag_component_is_registered_under_its_meson_name(void)
{
	struct tern_diag_component *c = tern_diag_find("tern.test");

	TERN_CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_PTR_EQUAL(c, &tern_diag_component_test);
}

static void
diag_messages_above_the_level_are_dropped(void)
{
	tern_diag_set_level("tern.test", TERN_DIAG_NOTICE);
	ut_diag_capture(1);
	T_DIAG(DEBUG, "debug %d", 1);
	T_DIAG(INFO, "info %d", 2);
	UT_EQ_INT(ut_diag_count(), 0);
	T_DIAG(ERR, "error %d in %s", 3, "file");
	UT_EQ_INT(ut_diag_count(), 1);
	CU_ASSERT_STRING_EQUAL(ut_diag_last(), "error 3 in file");
}

static void
diag_glob_sets_levels_of_matching_components(void)
{
	UT_EQ_INT(tern_diag_set_level("tern.te*", TERN_DIAG_DEBUG), 1);
	UT_EQ_INT(tern_diag_set_level("other.*", TERN_DIAG_DEBUG), 0);
	ut_diag_capture(1);
	T_DIAG(DEBUG, "now visible");
	CU_ASSERT(ut_diag_contains("now visible"));
	UT_EQ_INT(tern_diag_set_level("tern.*", 0), -EINVAL);
	UT_EQ_INT(tern_diag_set_level("tern.*", 9), -EINVAL);
	tern_diag_set_level("tern.test", TERN_DIAG_NOTICE);
}

static void
diag_level_names_parse_both_ways(void)
{
	UT_EQ_INT(tern_diag_level_parse("debug"), TERN_DIAG_DEBUG);
	UT_EQ_INT(tern_diag_level_parse("ERR"), TERN_DIAG_ERR);
	UT_EQ_INT(tern_diag_level_parse("4"), TERN_DIAG_ERR);
	UT_EQ_INT(tern_diag_level_parse("loud"), -EINVAL);
	UT_EQ_INT(tern_diag_level_parse("0"), -EINVAL);
	UT_EQ_INT(tern_diag_level_parse(""), -EINVAL);
	CU_ASSERT_STRING_EQUAL(tern_diag_level_name(TERN_DIAG_WARNING), "warning");
	CU_ASSERT_PTR_NULL(tern_diag_level_name(42));
}

static unsigned int custom_calls;
static int custom_level;

static void
custom_sink(void *arg, struct tern_diag_component *c, int level, const char *msg)
{
	(void)c;
	(void)msg;
	custom_calls += *(int *)arg;
	custom_level = level;
}

static void
diag_custom_sink_receives_messages_and_can_be_restored(void)
{
	tern_diag_sink_fn prev;
	void *prev_arg;
	int one = 1;

	tern_diag_set_sink(custom_sink, &one, &prev, &prev_arg);
	T_DIAG(WARNING, "to the custom sink");
	UT_EQ_INT(custom_calls, 1);
	UT_EQ_INT(custom_level, TERN_DIAG_WARNING);
	tern_diag_set_sink(prev, prev_arg, NULL, NULL);
	T_DIAG(WARNING, "back to the test sink");
	UT_EQ_INT(custom_calls, 1);
}

static void
diag_ratelimit_emits_first_and_every_nth(void)
{
	int i;

	ut_diag_capture(1);
	for (i = 0; i < 250; i++)
		TERN_DIAG_RATELIMIT(100, ERR, test, "bad frame from node %d", 3);
	UT_EQ_INT(ut_diag_count(), 3); /* 1st, 101st, 201st */
	CU_ASSERT(ut_diag_contains("(x201)"));
}

static void
diag_long_messages_are_truncated_not_overrun(void)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ut_diag_capture(1);
	T_DIAG(ERR, "%s", big);
	UT_EQ_INT(ut_diag_count(), 1);
	CU_ASSERT(strlen(ut_diag_last()) < 1024);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("diag", NULL, NULL);
	CU_ADD_TEST(s, diag_component_is_registered_under_its_meson_name);
	CU_ADD_TEST(s, diag_messages_above_the_level_are_dropped);
	CU_ADD_TEST(s, diag_glob_sets_levels_of_matching_components);
	CU_ADD_TEST(s, diag_level_names_parse_both_ways);
	CU_ADD_TEST(s, diag_custom_sink_receives_messages_and_can_be_restored);
	CU_ADD_TEST(s, diag_ratelimit_emits_first_and_every_nth);
	CU_ADD_TEST(s, diag_long_messages_are_truncated_not_overrun);
	return tern_ut_run(argc, argv);
}
