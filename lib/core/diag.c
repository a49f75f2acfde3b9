/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tern_diag.h"

/*
 * Registration happens from constructors (single-threaded); level changes and sink swaps
 * happen at configuration time. Emission only reads, so no lock is taken on that path.
 */
static struct tern_diag_component *components;

#define PATTERNS_MAX 16
static struct {
	char glob[64];
	int level;
} patterns[PATTERNS_MAX];
static unsigned int n_patterns;

static const char *const level_names[] = {
	[TERN_DIAG_EMERG] = "emerg", [TERN_DIAG_ALERT] = "alert",
	[TERN_DIAG_CRIT] = "crit",   [TERN_DIAG_ERR] = "err",
	[TERN_DIAG_WARNING] = "warning", [TERN_DIAG_NOTICE] = "notice",
	[TERN_DIAG_INFO] = "info",   [TERN_DIAG_DEBUG] = "debug",
};

static void
stderr_sink(void *arg, struct tern_diag_component *c, int level, const char *msg)
{
	char line[1200];
	int n;

	(void)arg;
	n = snprintf(line, sizeof(line), "%s: %s: %s\n", c->name, level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* One write() so concurrent lines do not interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

static tern_diag_sink_fn sink_fn = stderr_sink;
static void *sink_arg;

void
tern_diag_register(struct tern_diag_component *c)
{
	unsigned int i;

	for (i = 0; i < n_patterns; i++)
		if (fnmatch(patterns[i].glob, c->name, 0) == 0)
			c->level = patterns[i].level;
	c->next = components;
	components = c;
}

void
tern_diag_set_sink(tern_diag_sink_fn fn, void *arg, tern_diag_sink_fn *prev_fn, void **prev_arg)
{
	if (prev_fn != NULL)
		*prev_fn = sink_fn;
	if (prev_arg != NULL)
		*prev_arg = sink_arg;
	sink_fn = fn != NULL ? fn : stderr_sink;
	sink_arg = fn != NULL ? arg : NULL;
}

int
tern_diag_set_level(const char *pattern, int level)
{
	struct tern_diag_component *c;
	int n = 0;

	if (level < TERN_DIAG_EMERG || level > TERN_DIAG_DEBUG || pattern == NULL ||
	    strlen(pattern) >= sizeof(patterns[0].glob))
		return -EINVAL;
	for (c = components; c != NULL; c = c->next) {
		if (fnmatch(pattern, c->name, 0) == 0) {
			c->level = level;
			n++;
		}
	}
	if (n_patterns < PATTERNS_MAX) {
		snprintf(patterns[n_patterns].glob, sizeof(patterns[0].glob), "%s", pattern);
		patterns[n_patterns].level = level;
		n_patterns++;
	}
	return n;
}

struct tern_diag_component *
tern_diag_find(const char *name)
{
	struct tern_diag_component *c;

	for (c = components; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
tern_diag_foreach(void (*fn)(struct tern_diag_component *c, void *arg), void *arg)
{
	struct tern_diag_component *c;

	for (c = components; c != NULL; c = c->next)
		fn(c, arg);
}

const char *
tern_diag_level_name(int level)
{
	if (level < TERN_DIAG_EMERG || level > TERN_DIAG_DEBUG)
		return NULL;
	return level_names[level];
}

int
tern_diag_level_parse(const char *s)
{
	char *end;
	long v;
	int i;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (i = TERN_DIAG_EMERG; i <= TERN_DIAG_DEBUG; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < TERN_DIAG_EMERG || v > TERN_DIAG_DEBUG)
		return -EINVAL;
	return (int)v;
}

void
tern_diag_emit(struct tern_diag_component *c, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sink_fn(sink_arg, c, level, msg);
}
