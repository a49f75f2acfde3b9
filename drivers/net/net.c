/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The network driver registry (drivers register their ops from constructors), and what
 * every driver shares: driver-argument and MAC address parsing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern_common.h>

#include "tern_net.h"

#define DRIVERS_MAX 8

static const struct tern_net_ops *drivers[DRIVERS_MAX];
static unsigned int n_drivers;

void
tern_net_driver_register(const struct tern_net_ops *ops)
{
	if (TERN_ALWAYS(n_drivers < DRIVERS_MAX))
		drivers[n_drivers++] = ops;
}

/* "key=UNIT, key=UNIT, ..." of @p defs into @p buf. */
static void
args_known(const struct tern_net_arg *defs, unsigned int n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && len < cap; i++) {
		int w = snprintf(buf + len, cap - len, "%s%s=%s", i > 0 ? ", " : "", defs[i].key,
				 defs[i].unit != NULL ? defs[i].unit : "N");

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* One pass over @p s: checks everything, and stores the values when @p store. */
static int
args_pass(const char *s, const struct tern_net_arg *defs, unsigned int n, void *dst, char *why,
	  bool store)
{
	char known[TERN_NET_ARGS_WHY_MAX - 128];

	while (s != NULL && *s != '\0') {
		const char *eq = strchr(s, '='), *end = strchr(s, ',');
		const struct tern_net_arg *def = NULL;
		unsigned long v;
		char *vend;
		size_t klen;

		if (end == NULL)
			end = s + strlen(s);
		if (eq == NULL || eq > end) {
			args_known(defs, n, known, sizeof(known));
			snprintf(why, TERN_NET_ARGS_WHY_MAX,
				 "driver argument '%.*s' is not key=value (known: %s)",
				 (int)TERN_MIN(end - s, 64), s, known);
			return -EINVAL;
		}
		klen = (size_t)(eq - s);
		for (unsigned int i = 0; i < n && def == NULL; i++)
			if (strlen(defs[i].key) == klen && memcmp(defs[i].key, s, klen) == 0)
				def = &defs[i];
		if (def == NULL) {
			args_known(defs, n, known, sizeof(known));
			snprintf(why, TERN_NET_ARGS_WHY_MAX,
				 "unknown driver argument '%.*s' (known: %s)",
				 (int)TERN_MIN(end - s, 64), s, known);
			return -EINVAL;
		}
		errno = 0;
		v = strtoul(eq + 1, &vend, 0);
		if (eq[1] < '0' || eq[1] > '9' || errno != 0 || vend != end || v > def->max) {
			snprintf(why, TERN_NET_ARGS_WHY_MAX,
				 "bad value in driver argument '%.*s' (%s=0..%lu)",
				 (int)TERN_MIN(end - s, 64), s, def->key, def->max);
			return -EINVAL;
		}
		if (store)
			*(unsigned long *)((char *)dst + def->off) = v;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

int
tern_net_args_parse(const char *s, const struct tern_net_arg *defs, unsigned int n, void *dst,
		    char *why)
{
	/* All or nothing: nothing is stored unless every argument is good. */
	int rc = args_pass(s, defs, n, dst, why, false);

	return rc != 0 ? rc : args_pass(s, defs, n, dst, why, true);
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tern_net_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int i;

	memset(mac, 0, 6);
	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "-") == 0)
		return 0;
	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':')) {
			memset(mac, 0, 6);
			return -EINVAL;
		}
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
tern_net_opts_init(struct tern_net_opts *o, size_t size)
{
	memset(o, 0, size);
	o->opts_size = size;
	o->queues = 1;
	o->mtu = TERN_NET_MTU_MAX;
	o->poll_mode = TERN_NET_POLL_ADAPTIVE;
}

int
tern_net_open(const char *name, const struct tern_net_opts *o, struct tern_net **out)
{
	unsigned int i;

	if (name == NULL || o == NULL || out == NULL || o->opts_size == 0)
		return -EINVAL;
	if (o->opts_size >= offsetof(struct tern_net_opts, n_wake_fds) + sizeof(o->n_wake_fds) &&
	    (o->n_wake_fds > TERN_NET_WAKE_FDS_MAX || (o->n_wake_fds > 0 && o->wake_fds == NULL)))
		return -EINVAL;
	for (i = 0; i < n_drivers; i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i]->open(o, out);
	return -ENOENT;
}
