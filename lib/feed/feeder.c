/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The feeder (DESIGN.md 3, "Reliability is built on VLSNs, not on TCP"): one per replica on
 * the master. It streams VLSNs in order within a credit window, takes cumulative ACKs, and
 * goes back to the first missing VLSN on a NAK or when the stream made no progress for
 * rto_ns (go-back-N). What to send comes back as a VLSN range; the caller reads and sends.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_feed.h"
#include "feed_internal.h"

void
tern_feeder_init(struct tern_feeder *f, uint16_t replica, const struct tern_feeder_opts *o,
		 uint64_t now_ns)
{
	*f = (struct tern_feeder){0};
	f->replica = replica;
	f->window = o != NULL && o->window != 0 ? o->window : FEED_WINDOW_DEFAULT;
	f->rto_ns = o != NULL && o->rto_ns != 0 ? o->rto_ns : FEED_RTO_NS_DEFAULT;
	f->heartbeat_ns =
		o != NULL && o->heartbeat_ns != 0 ? o->heartbeat_ns : FEED_HEARTBEAT_NS_DEFAULT;
	/* Until the replica advertises its credit, the window alone bounds the stream. */
	f->credit = f->window;
	f->next_vlsn = 1;
	f->progress_ns = now_ns;
}

/*
 * JE HA: after syncup the feeder streams from the matchpoint + 1; the replica holds
 * everything before it (DESIGN.md 5, "Syncup ... then streams").
 */
void
tern_feeder_start(struct tern_feeder *f, uint64_t from_vlsn, uint64_t now_ns)
{
	uint64_t have = from_vlsn > 0 ? from_vlsn - 1 : 0;

	f->started = true;
	f->next_vlsn = have + 1;
	f->received_vlsn = feed_max(f->received_vlsn, have);
	f->durable_vlsn = feed_max(f->durable_vlsn, have);
	f->progress_ns = now_ns;
}

/*
 * DESIGN.md 3: "the replica acknowledges cumulatively (highest contiguous VLSN received and
 * highest made durable)", so an older ACK overtaken by a newer one says nothing new; "a
 * credit window bounds what is in flight", the credit counted from received_vlsn.
 */
bool
tern_feeder_on_ack(struct tern_feeder *f, uint64_t received, uint64_t durable, uint32_t credit,
		   uint64_t now_ns)
{
	bool moved = false;

	f->stats.acks++;
	f->ack_ns_last = now_ns;
	/* An ACK older than what we know carries an old credit too: it moves nothing. */
	if (received >= f->received_vlsn)
		f->credit = credit;
	/* A current ACK with credit 0: the replica holds what is in flight; it is alive. */
	if (received == f->received_vlsn && credit == 0)
		f->progress_ns = now_ns;
	if (received > f->received_vlsn) {
		f->received_vlsn = received;
		f->progress_ns = now_ns;
		moved = true;
	}
	if (durable > f->durable_vlsn) {
		f->durable_vlsn = durable;
		moved = true;
	}
	if (!moved)
		f->stats.stale_acks++;
	/* The replica has what we were about to send (a resend got through twice): move on. */
	if (f->received_vlsn >= f->next_vlsn)
		f->next_vlsn = f->received_vlsn + 1;
	return moved;
}

/*
 * DESIGN.md 3: "gaps trigger a NAK"; the replica accepts only in order, so the feeder goes
 * back to the first VLSN the replica lacks and sends everything again from there
 * (go-back-N). A NAK for what an ACK already covered is old news, unless the replica keeps
 * saying so: with no progress for rto_ns, the ACK was the stale one and the NAK is right.
 */
bool
tern_feeder_on_nak(struct tern_feeder *f, uint64_t first, uint64_t last, uint64_t now_ns)
{
	uint64_t from;

	if (!f->started || first > last || first == 0)
		return false;
	if (first <= f->received_vlsn && feed_elapsed(now_ns, f->progress_ns) >= f->rto_ns) {
		f->received_vlsn = first - 1;
		f->durable_vlsn = feed_min(f->durable_vlsn, first - 1);
		f->next_vlsn = first;
		f->progress_ns = now_ns;
		f->stats.regressions++;
		f->stats.naks++;
		return true;
	}
	if (last <= f->received_vlsn)
		return false; /* reordered behind a newer ACK */
	from = feed_max(first, f->received_vlsn + 1);
	if (from >= f->next_vlsn)
		return false;
	f->next_vlsn = from;
	f->progress_ns = now_ns; /* the stream restarts: time the resend from now */
	f->stats.naks++;
	return true;
}

bool
tern_feeder_next(struct tern_feeder *f, uint64_t last_vlsn, uint64_t now_ns, uint64_t *first,
		 uint64_t *last)
{
	uint64_t in_flight, limit;

	if (!f->started)
		return false;
	/*
	 * DESIGN.md 3: "timeouts a retransmit": entries in flight and no ACK moved
	 * received_vlsn for rto_ns, so they (or their ACKs) were lost: go back to received + 1.
	 */
	if (tern_feeder_in_flight(f) > 0 && feed_elapsed(now_ns, f->progress_ns) >= f->rto_ns) {
		f->next_vlsn = f->received_vlsn + 1;
		f->progress_ns = now_ns;
		f->stats.timeouts++;
	}
	if (f->next_vlsn > last_vlsn)
		return false;
	/* DESIGN.md 3: "a credit window bounds what is in flight". */
	limit = feed_min(f->window, f->credit);
	in_flight = tern_feeder_in_flight(f);
	if (in_flight >= limit) {
		f->stats.credit_stalls++;
		return false;
	}
	*first = f->next_vlsn;
	*last = feed_min(last_vlsn, f->next_vlsn + (limit - in_flight) - 1);
	return true;
}

void
tern_feeder_sent(struct tern_feeder *f, uint64_t last_sent, uint64_t now_ns)
{
	uint64_t n;

	if (!f->started || last_sent < f->next_vlsn)
		return;
	/* Nothing was in flight: the retransmit timer starts with these entries. */
	if (tern_feeder_in_flight(f) == 0)
		f->progress_ns = now_ns;
	n = last_sent - f->next_vlsn + 1;
	f->stats.entries_sent += n;
	if (f->next_vlsn <= f->high_vlsn)
		f->stats.resent += feed_min(last_sent, f->high_vlsn) - f->next_vlsn + 1;
	f->high_vlsn = feed_max(f->high_vlsn, last_sent);
	f->next_vlsn = last_sent + 1;
}

/* DESIGN.md 3: "Heartbeats carry the master's commit VLSN", every heartbeat_ns. */
bool
tern_feeder_heartbeat_due(const struct tern_feeder *f, uint64_t now_ns)
{
	return f->stats.heartbeats == 0 ||
	       feed_elapsed(now_ns, f->heartbeat_ns_last) >= f->heartbeat_ns;
}

/* The earliest of the next heartbeat and, with entries in flight, the retransmit timeout. */
uint64_t
tern_feeder_next_timer(const struct tern_feeder *f)
{
	uint64_t t = f->stats.heartbeats == 0 ? 0 : f->heartbeat_ns_last + f->heartbeat_ns;

	if (f->started && tern_feeder_in_flight(f) > 0)
		t = feed_min(t, f->progress_ns + f->rto_ns);
	return t;
}

void
tern_feeder_heartbeat_sent(struct tern_feeder *f, uint64_t now_ns)
{
	f->heartbeat_ns_last = now_ns;
	f->stats.heartbeats++;
}
