/* SPDX-License-Identifier: BSD-3-Clause */
/* The network driver registry: drivers register their ops from constructors. */
#include <errno.h>
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
