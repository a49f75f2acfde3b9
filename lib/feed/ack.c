/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ack tracker (DESIGN.md 5, "Durability"): the master keeps, per electable replica, the
 * highest VLSN it has received and made durable, and answers "which VLSN satisfies this ack
 * policy" as the k-th highest of those VLSNs, k = tern_ack_needed(). No per-commit state.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <tern_common.h>

#include "tern_feed.h"
#include "feed_internal.h"

static int
replica_index(const struct tern_ack *a, uint16_t node)
{
	unsigned int i;

	for (i = 0; i < a->n_replicas; i++)
		if (a->node[i] == node)
			return (int)i;
	return -ENOENT;
}

int
tern_ack_init(struct tern_ack *a, uint16_t self, const uint16_t *electable, unsigned int n)
{
	unsigned int i, j, r = 0;
	bool self_listed = false;

	if (n == 0 || n > TERN_ACK_NODES_MAX || electable == NULL)
		return -EINVAL;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (electable[i] == electable[j])
				return -EINVAL;
	for (i = 0; i < n; i++) {
		if (electable[i] == self) {
			self_listed = true;
			continue;
		}
		a->node[r] = electable[i];
		a->received[r] = 0;
		a->durable[r] = 0;
		r++;
	}
	for (i = r; i < TERN_ACK_NODES_MAX; i++) {
		a->node[i] = 0;
		a->received[i] = 0;
		a->durable[i] = 0;
	}
	a->n_replicas = r;
	/* "electable members, the master included": the master counts whether listed or not. */
	a->n_electable = self_listed ? n : n + 1;
	return 0;
}

/*
 * JE HA: replica acknowledgements are cumulative, so a report below what the replica
 * already said (an ACK overtaken on the network) adds nothing. A replica cannot have made
 * durable what it has not received.
 */
int
tern_ack_record(struct tern_ack *a, uint16_t node, uint64_t received, uint64_t durable)
{
	int i = replica_index(a, node);

	if (i < 0)
		return i;
	if (durable > received)
		durable = received;
	a->received[i] = feed_max(a->received[i], received);
	a->durable[i] = feed_max(a->durable[i], durable);
	return 0;
}

/* A replica that restarted and synced up again starts over from what it now has. */
int
tern_ack_reset(struct tern_ack *a, uint16_t node, uint64_t received, uint64_t durable)
{
	int i = replica_index(a, node);

	if (i < 0)
		return i;
	a->received[i] = received;
	a->durable[i] = feed_min(durable, received);
	return 0;
}

/*
 * JE ReplicaAckPolicy: ALL, every electable replica; SIMPLE_MAJORITY, a simple majority of
 * the electable nodes with the master counted as one of them (n/2 + 1 nodes, so n/2
 * replicas); NONE, no replica.
 */
unsigned int
tern_ack_needed(const struct tern_ack *a, enum tern_ack_policy policy)
{
	switch (policy) {
	case TERN_ACK_ALL:
		return a->n_replicas;
	case TERN_ACK_SIMPLE_MAJORITY:
		return a->n_electable / 2;
	case TERN_ACK_NONE:
	default:
		return 0;
	}
}

/* The k-th highest (k from 1) of v[0..n-1], by quickselect; reorders v. */
static uint64_t
kth_highest(uint64_t *v, unsigned int n, unsigned int k)
{
	unsigned int lo = 0, hi = n - 1, target = k - 1;

	while (lo < hi) {
		uint64_t pivot = v[lo + (hi - lo) / 2], t;
		unsigned int i = lo, j = hi;

		/* Hoare partition, descending: [lo, j] >= pivot >= [i, hi]. */
		for (;;) {
			while (v[i] > pivot)
				i++;
			while (v[j] < pivot)
				j--;
			if (i >= j)
				break;
			t = v[i];
			v[i] = v[j];
			v[j] = t;
			i++;
			j--;
		}
		if (target <= j)
			hi = j;
		else
			lo = j + 1;
	}
	return v[target];
}

/*
 * DESIGN.md 5: "the ack tracker is keyed by real VLSNs". Every VLSN up to the k-th highest
 * replica VLSN has k acknowledgements (acks are cumulative), and no higher VLSN has.
 */
uint64_t
tern_ack_vlsn(const struct tern_ack *a, enum tern_ack_policy policy, bool durable)
{
	unsigned int k = tern_ack_needed(a, policy);
	uint64_t v[TERN_ACK_NODES_MAX];
	unsigned int i;

	if (k == 0)
		return UINT64_MAX;
	if (TERN_NEVER(k > a->n_replicas))
		return 0;
	for (i = 0; i < a->n_replicas; i++)
		v[i] = durable ? a->durable[i] : a->received[i];
	return kth_highest(v, a->n_replicas, k);
}

unsigned int
tern_ack_count(const struct tern_ack *a, uint64_t vlsn, bool durable)
{
	unsigned int i, c = 0;

	for (i = 0; i < a->n_replicas; i++)
		c += (durable ? a->durable[i] : a->received[i]) >= vlsn;
	return c;
}
