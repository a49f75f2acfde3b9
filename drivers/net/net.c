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
