/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <tern_errno.h>

#include "ut.h"

static void
errno_tern_codes_start_at_base_and_have_texts(void)
{
	UT_EQ_INT(TERN_ECORRUPT, TERN_EBASE);
	CU_ASSERT_STRING_EQUAL(tern_errname(-TERN_ELOGRO), "TERN_ELOGRO");
	CU_ASSERT(strstr(tern_strerror(-TERN_ELOGRO), "read-only") != NULL);
	CU_ASSERT(strstr(tern_strerror(TERN_EACKS), "acknowledg") != NULL);
}

static void
errno_system_codes_print_as_the_system_does(void)
{
	CU_ASSERT_STRING_EQUAL(tern_strerror(-EIO), strerror(EIO));
	CU_ASSERT_STRING_EQUAL(tern_errname(-ENOSPC), "ENOSPC");
}

static void
errno_unknown_codes_do_not_crash(void)
{
	CU_ASSERT_PTR_NOT_NULL(tern_strerror(TERN_ELAST_ + 5));
	CU_ASSERT_STRING_EQUAL(tern_errname(TERN_ELAST_ + 5), "E?");
	CU_ASSERT_PTR_NOT_NULL(tern_strerror(0));
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("errno", NULL, NULL);
	CU_ADD_TEST(s, errno_tern_codes_start_at_base_and_have_texts);
	CU_ADD_TEST(s, errno_system_codes_print_as_the_system_does);
	CU_ADD_TEST(s, errno_unknown_codes_do_not_crash);
	return tern_ut_run(argc, argv);
}
