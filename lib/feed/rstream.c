/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replica stream (DESIGN.md 3 and 5): a replica accepts entries from the master of its
 * term only in VLSN order, skips what it already has, NAKs what is missing (at most once
 * per gap per nak_ns while the gap does not shrink) and acknowledges cumulatively.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_feed.h"
#include "feed_internal.h"

/* nak_ns_last of a gap not NAKed yet: the NAK is due at once. */
#define NAK_NOW UINT64_MAX

void
tern_rstream_init(struct tern_rstream *r, const struct tern_rstream_opts *o, uint16_t master,
		  uint64_t term, uint64_t next_vlsn, uint64_t durable_vlsn)
{
	*r = (struct tern_rstream){0};
	r->credit = o != NULL && o->credit != 0 ? o->credit : FEED_CREDIT_DEFAULT;
	r->nak_ns = o != NULL && o->nak_ns != 0 ? o->nak_ns : FEED_NAK_NS_DEFAULT;
	r->ack_ns = o != NULL && o->ack_ns != 0 ? o->ack_ns : FEED_ACK_NS_DEFAULT;
	r->master = master;
	r->term = term;
	r->next_vlsn = next_vlsn > 0 ? next_vlsn : 1;
	r->durable_vlsn = durable_vlsn;
	r->acked_received = r->next_vlsn - 1;
	r->acked_durable = feed_min(durable_vlsn, r->next_vlsn - 1);
	/* The feeder learns where a fresh stream starts from its first ACK: one is due now. */
	r->ack_wanted = true;
}

/*
 * DESIGN.md 3 and 5: every frame carries a term; "terms only grow ... stale ones are fenced
 * off". A newer term means a new master: the replica must sync up with it again.
 */
enum tern_rstream_verdict
tern_rstream_check(struct tern_rstream *r, uint16_t src, uint64_t term)
{
	if (term < r->term) {
		r->stats.stale++;
		return TERN_RSTREAM_STALE_TERM;
	}
	if (term > r->term)
		return TERN_RSTREAM_NEW_TERM;
	if (src != r->master) {
		r->stats.not_master++;
		return TERN_RSTREAM_NOT_MASTER;
	}
	return TERN_RSTREAM_ACCEPT;
}

/* A gap is open while VLSNs of the last one noted are still missing. */
static bool
gap_open(const struct tern_rstream *r)
{
	return r->nak_first != 0 && r->next_vlsn <= r->nak_last;
}

/*
 * Note that [next_vlsn, @p missing_last] is missing. A gap that is still open grows (and
 * keeps its NAK timer); a new one is NAKed at once when @p at_once, else after nak_ns
 * without progress.
 */
static void
gap_note(struct tern_rstream *r, uint64_t missing_last, bool at_once, uint64_t now_ns)
{
	if (missing_last < r->next_vlsn)
		return;
	if (gap_open(r)) {
		r->nak_first = r->next_vlsn;
		r->nak_last = feed_max(r->nak_last, missing_last);
		return;
	}
	r->nak_first = r->next_vlsn;
	r->nak_last = missing_last;
	r->nak_ns_last = at_once ? NAK_NOW : now_ns;
}

uint64_t
tern_rstream_on_entries(struct tern_rstream *r, uint64_t first, uint64_t last, uint64_t commit_vlsn,
			uint64_t now_ns)
{
	uint64_t dups;

	if (first == 0 || first > last)
		return 0;
	r->commit_vlsn = feed_max(r->commit_vlsn, commit_vlsn);
	/*
	 * JE HA replays a VLSN once: entries at or below what was received are duplicates
	 * (a resend raced an ACK). Ack at once so the feeder moves on past them.
	 */
	if (last < r->next_vlsn) {
		r->stats.duplicates += last - first + 1;
		r->ack_wanted = true;
		return 0;
	}
	/*
	 * DESIGN.md 3: the stream is in VLSN order and "gaps trigger a NAK". Entries past a
	 * hole are dropped (the feeder goes back N); the hole is NAKed at once when new.
	 */
	if (first > r->next_vlsn) {
		r->stats.gaps++;
		gap_note(r, first - 1, true, now_ns);
		return 0;
	}
	dups = r->next_vlsn - first;
	if (dups > 0) {
		r->stats.duplicates += dups;
		r->ack_wanted = true;
	}
	r->stats.entries += last - r->next_vlsn + 1;
	/* The open gap is being filled: NAK it again only if that stops for nak_ns. */
	if (gap_open(r))
		r->nak_ns_last = now_ns;
	return r->next_vlsn;
}

void
tern_rstream_appended(struct tern_rstream *r, uint64_t vlsn)
{
	if (vlsn >= r->next_vlsn)
		r->next_vlsn = vlsn + 1;
}

void
tern_rstream_durable(struct tern_rstream *r, uint64_t vlsn)
{
	r->durable_vlsn = feed_max(r->durable_vlsn, vlsn);
}

/*
 * DESIGN.md 3: "Heartbeats carry the master's commit VLSN"; here also its last VLSN, so a
 * lost tail (nothing after it to reveal the gap) is NAKed. Entries may still be on their
 * way behind the heartbeat, so the tail gap waits nak_ns without progress before its NAK.
 * JE HA answers every heartbeat with a heartbeat response carrying the replica's position:
 * an ACK is due, so a lost last ACK (nothing moves after it) costs one heartbeat interval.
 */
void
tern_rstream_on_heartbeat(struct tern_rstream *r, uint64_t commit_vlsn, uint64_t last_vlsn,
			  uint64_t now_ns)
{
	r->commit_vlsn = feed_max(r->commit_vlsn, commit_vlsn);
	r->ack_wanted = true;
	gap_note(r, last_vlsn, false, now_ns);
}

/* JE HA: a commit whose durability needs acks asks the replica to ack it at once. */
void
tern_rstream_want_ack(struct tern_rstream *r)
{
	r->ack_wanted = true;
}

/* The replica knows the master has VLSNs it lacks. */
static bool
behind(const struct tern_rstream *r)
{
	return gap_open(r) || r->commit_vlsn >= r->next_vlsn;
}

void
tern_rstream_hold(struct tern_rstream *r, bool on, uint64_t now_ns)
{
	if (on == r->holding)
		return;
	r->holding = on;
	r->ack_wanted = true;
	/* A gap still open afterwards waits nak_ns from the end of the hold. */
	if (!on && gap_open(r))
		r->nak_ns_last = now_ns;
}

/*
 * DESIGN.md 3: "the replica acknowledges cumulatively (highest contiguous VLSN received
 * and highest made durable)" whenever either moves, when asked, and again every ack_ns
 * while behind, since a lost ACK would otherwise stall the feeder until its rto.
 */
bool
tern_rstream_ack_due(struct tern_rstream *r, uint64_t now_ns, uint64_t *received, uint64_t *durable,
		     uint32_t *credit)
{
	uint64_t rec = r->next_vlsn - 1;
	uint64_t dur = feed_min(r->durable_vlsn, rec);

	if (!r->ack_wanted && rec == r->acked_received && dur == r->acked_durable &&
	    !((behind(r) || r->holding) && feed_elapsed(now_ns, r->ack_ns_last) >= r->ack_ns))
		return false;
	*received = rec;
	*durable = dur;
	*credit = r->holding ? 0 : r->credit;
	r->acked_received = rec;
	r->acked_durable = dur;
	r->ack_ns_last = now_ns;
	r->ack_wanted = false;
	r->stats.acks++;
	return true;
}

/* The earliest of an ACK resend (while behind) and a NAK resend (while a gap is open). */
uint64_t
tern_rstream_next_timer(const struct tern_rstream *r)
{
	uint64_t t = UINT64_MAX;

	if (r->ack_wanted)
		return 0;
	if (behind(r) || r->holding)
		t = r->ack_ns_last + r->ack_ns;
	if (gap_open(r) && !r->holding)
		t = feed_min(t, r->nak_ns_last == NAK_NOW ? 0 : r->nak_ns_last + r->nak_ns);
	return t;
}

/* DESIGN.md 3: "gaps trigger a NAK", at most one per gap per nak_ns without progress. */
bool
tern_rstream_nak_due(struct tern_rstream *r, uint64_t now_ns, uint64_t *first, uint64_t *last)
{
	if (!gap_open(r) || r->holding)
		return false;
	if (r->nak_ns_last != NAK_NOW && feed_elapsed(now_ns, r->nak_ns_last) < r->nak_ns)
		return false;
	r->nak_first = r->next_vlsn;
	*first = r->nak_first;
	*last = r->nak_last;
	r->nak_ns_last = now_ns;
	r->stats.naks++;
	return true;
}
