/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tern_errno.h"

static const char *const tern_texts[] = {
#define TEXT_(name, text) [name - TERN_EBASE] = text,
	TERN_ERRNO_TABLE(TEXT_)
#undef TEXT_
};

static const char *const tern_names[] = {
#define NAME_(name, text) [name - TERN_EBASE] = #name,
	TERN_ERRNO_TABLE(NAME_)
#undef NAME_
};

const char *
tern_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= TERN_EBASE && err < TERN_ELAST_)
		return tern_texts[err - TERN_EBASE];
	if (err >= TERN_EBASE)
		return "unknown Tern error";
	return strerror(err);
}

const char *
tern_errname(int err)
{
	if (err < 0)
		err = -err;
	if (err >= TERN_EBASE && err < TERN_ELAST_)
		return tern_names[err - TERN_EBASE];
	if (err < TERN_EBASE) {
		const char *n = strerrorname_np(err);

		if (n != NULL)
			return n;
	}
	return "E?";
}
