/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-fabric-peer: one node of the fabric integration tests (tests/integration/
 * fabric_test.sh). It opens a network driver (dpdk or udp), exchanges sealed frames with
 * its peers and checks each one.
 *
 *   tern-fabric-peer [EAL args --] --driver dpdk|udp --self ID,MAC,IP,PORT[,ETHPORT]
 *                    --peer ID,MAC,IP,PORT[,ETHPORT]... --role send|recv|both --count N ...
 *
 * Streams: a sending node sends --count data frames (TERN_WIRE_ENTRIES) to each peer; the
 * payload carries the sequence number, its own size and a pattern derived from both, so
 * the receiver verifies every byte. Sizes are mixed (16 bytes .. --max-size, 8 KiB by
 * default) or fixed. A credit window (bytes and frames in flight, from the receiver's
 * cumulative ACKs) keeps lossy fabrics (kernel sockets, af_packet rings) from overflowing;
 * nothing is retransmitted, so a frame that is lost stays lost and the receiver reports
 * it. The sender ends a stream with END (the total it sent) and the receiver answers FIN.
 *
 * Every node sends a HEARTBEAT every --hb-ms, carrying whether it is done. A peer is up
 * once heard from, and down when its link is down or it has been silent for --down-ms.
 * A node is done when its streams are: it keeps answering until every peer says it is
 * done too, then stops polling, lingers (so no peer is mid-poll when the ports close:
 * memif's survivor can crash otherwise, see FABRIC.md) and closes, higher node ids first
 * (the side that connected leaves while its host is still up).
 *
 * Checks (the exit status is 0 when all hold, 1 otherwise, 77 when the fabric cannot be
 * set up: no ethdev port after rte_eal_init):
 * - every frame of a stream arrives intact exactly once, or is counted lost
 *   (received + lost == count, no duplicate, no damaged payload, lost <= --max-lost);
 * - with --inject the sender also sends, mid-stream, frames sealed for another group id
 *   and frames corrupted after sealing; with --expect-rejects the receiver fails unless
 *   tern_wire_check() rejected and counted both kinds;
 * - with --expect-down the node runs until a peer is down, reports it, keeps running for
 *   a while (it must survive its peer's death) and succeeds.
 *
 * Output: `key=value` lines on stdout (one per peer stream, then the driver counters).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef TERN_FABRIC_DPDK
#include <rte_eal.h>
#include <rte_ethdev.h>
#endif

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_net.h>
#include <tern_wire.h>

#define EXIT_SKIP   77
#define PEERS_MAX   8
#define PAYLOAD_MIN 16
#define BURST	    TERN_NET_BURST
#define FRAME_BUF   (sizeof(struct tern_wire_hdr) + TERN_NET_MTU_MAX)
#define INJECT_EACH 3

/* Control messages ride in these types (payloads below). */
#define FP_DATA TERN_WIRE_ENTRIES     /* u64 seq, u32 size, u32 sender, pattern */
#define FP_ACK	TERN_WIRE_ACK	      /* u64 highest seq + 1, u64 frames received */
#define FP_HB	TERN_WIRE_HEARTBEAT   /* u32 done */
#define FP_END	TERN_WIRE_ADMIN_REQ   /* u64 frames sent */
#define FP_FIN	TERN_WIRE_ADMIN_REPLY /* u64 frames received */

struct cfg {
	const char *driver;
	const char *driver_args;
	struct tern_net_peer self;
	struct tern_net_peer peers[PEERS_MAX];
	const char *port_name[PEERS_MAX]; /* ETHPORT given as an ethdev name */
	const char *self_port_name;
	unsigned int n_peers;
	bool send, recv;
	bool ping, echo; /* round trips: ping sends, echo returns each data frame */
	uint64_t gap_us; /* ping: pause between round trips */
	uint64_t count;
	uint32_t fixed_size; /* 0: mixed */
	uint32_t max_size;
	uint32_t group;
	enum tern_net_poll_mode poll;
	uint64_t window_bytes;
	uint64_t window_frames;
	bool inject, expect_rejects, expect_down;
	uint64_t max_lost;
	bool max_lost_set;
	uint64_t timeout_ms, hb_ms, down_ms, linger_ms;
	bool probe;
};

struct tx_slot {
	uint8_t *buf;
	struct tern_net_dgram d;
};

struct peer {
	uint16_t id;
	/* liveness */
	bool heard, down, done, link_seen_up;
	uint64_t last_heard;
	const char *down_why;
	/* our stream to it */
	uint64_t next_seq, acked_hi, inflight_bytes, progress_at;
	uint64_t end_first, end_at;
	bool end_sent, fin, send_done;
	uint64_t injected;
	/* its stream to us */
	uint8_t *seen;
	uint64_t uniq, dup, bad, hi, beyond;
	uint64_t unacked, unacked_bytes;
	bool end_seen;
	uint64_t end_total;
};

static struct cfg cfg;
static struct peer peers[PEERS_MAX];
static struct tern_wire_ctx wctx, foreign_ctx;
static struct tern_net *net;
static struct tx_slot pend[BURST];
static unsigned int n_pend;
static uint8_t ctl_buf[FRAME_BUF];
static volatile sig_atomic_t stop;

/* ping: one round trip at a time to every peer; RTT = until the last echo is back. */
static struct {
	uint64_t done, sent_at, next_at;
	unsigned int waiting; /* echoes still to come for the current round */
	uint64_t *rtt;	      /* until the last echo */
	uint64_t *first;      /* until the first echo (a majority of 3 with the sender) */
} ping;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t
payload_size(uint64_t seq)
{
	uint64_t r = mix64(seq ^ 0x5eedULL), v = r >> 8;
	uint32_t max = cfg.max_size;

	if (cfg.fixed_size != 0)
		return cfg.fixed_size;
	if (seq % 97 == 0)
		return max;
	/* Half small (16..256), 30% up to an MTU, 20% jumbo up to the largest. */
	if (r % 10 < 5)
		return PAYLOAD_MIN + (uint32_t)(v % 241);
	if (r % 10 < 8)
		return TERN_MIN(257 + (uint32_t)(v % 1244), max);
	return max > 1501 ? 1501 + (uint32_t)(v % (max - 1500)) : max;
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The payload of data frame @p seq from node @p src. */
static void
pattern_fill(uint8_t *p, uint64_t seq, uint16_t src, uint32_t size)
{
	uint64_t base = mix64(seq * 0x100000001b3ULL + src), w;
	uint32_t i;

	put64(p, seq);
	put32(p + 8, size);
	put32(p + 12, src);
	for (i = PAYLOAD_MIN; i + 8 <= size; i += 8) {
		w = mix64(base + i);
		memcpy(p + i, &w, 8);
	}
	if (i < size) {
		w = mix64(base + i);
		memcpy(p + i, &w, size - i);
	}
}

static bool
pattern_ok(const uint8_t *p, uint32_t len, uint16_t src)
{
	uint64_t seq, base, w;
	uint32_t i;

	if (len < PAYLOAD_MIN)
		return false;
	seq = get64(p);
	if (get32(p + 8) != len || get32(p + 12) != src)
		return false;
	base = mix64(seq * 0x100000001b3ULL + src);
	for (i = PAYLOAD_MIN; i + 8 <= len; i += 8) {
		w = mix64(base + i);
		if (memcmp(p + i, &w, 8) != 0)
			return false;
	}
	if (i < len) {
		w = mix64(base + i);
		if (memcmp(p + i, &w, len - i) != 0)
			return false;
	}
	return true;
}

static struct peer *
peer_of(uint16_t id)
{
	unsigned int i;

	for (i = 0; i < cfg.n_peers; i++)
		if (peers[i].id == id)
			return &peers[i];
	return NULL;
}

/* ---- control frames: best effort (periodic or answered again when lost) ---- */

static void
ctl_send(struct peer *p, uint8_t type, const uint8_t *payload, uint32_t len)
{
	struct tern_net_dgram d;
	uint8_t *b = ctl_buf;

	memcpy(b + sizeof(struct tern_wire_hdr), payload, len);
	d.data = b;
	d.len = tern_wire_seal(&wctx, b, type, p->id, 1, len);
	d.peer = p->id;
	d.queue = 0;
	d.priv = NULL;
	tern_net_tx_burst(net, 0, &d, 1);
}

static void
send_ack(struct peer *p)
{
	uint8_t pl[16];

	put64(pl, p->hi);
	put64(pl + 8, p->uniq);
	ctl_send(p, FP_ACK, pl, sizeof(pl));
	p->unacked = p->unacked_bytes = 0;
}

static bool
node_done(void)
{
	unsigned int i;

	if (cfg.ping)
		return ping.done >= cfg.count;

	for (i = 0; i < cfg.n_peers; i++) {
		if (peers[i].down)
			continue;
		if (cfg.send && !peers[i].send_done)
			return false;
		if (cfg.recv && !peers[i].end_seen)
			return false;
	}
	return true;
}

static void
send_hb(void)
{
	uint8_t pl[4];
	unsigned int i;

	put32(pl, node_done() ? 1 : 0);
	for (i = 0; i < cfg.n_peers; i++)
		ctl_send(&peers[i], FP_HB, pl, sizeof(pl));
}

/* ---- receive ---- */

static void
on_data(struct peer *p, const uint8_t *pl, uint32_t len)
{
	uint64_t seq;

	if (!pattern_ok(pl, len, p->id)) {
		p->bad++;
		return;
	}
	seq = get64(pl);
	if (seq >= p->hi)
		p->hi = seq + 1;
	if (p->seen != NULL) {
		if (seq >= cfg.count) {
			p->beyond++;
			return;
		}
		if (p->seen[seq / 8] & (1u << (seq % 8))) {
			p->dup++;
			return;
		}
		p->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	}
	p->uniq++;
	p->unacked++;
	p->unacked_bytes += len;
	if (p->unacked >= 32 || p->unacked_bytes >= cfg.window_bytes / 8)
		send_ack(p);
}

static void
on_ack(struct peer *p, const uint8_t *pl, uint32_t len, uint64_t now)
{
	uint64_t hi;

	if (len < 16)
		return;
	hi = get64(pl);
	if (hi > p->next_seq)
		hi = p->next_seq;
	while (p->acked_hi < hi) {
		uint32_t s = payload_size(p->acked_hi++);

		p->inflight_bytes -= TERN_MIN(s, p->inflight_bytes);
		p->progress_at = now;
	}
}

static void
handle(const struct tern_net_dgram *d, uint64_t now)
{
	const struct tern_wire_hdr *h;
	const uint8_t *pl;
	struct peer *p;
	enum tern_wire_rej rej;

	rej = tern_wire_check(&wctx, d->data, d->len, &h);
	if (rej != TERN_WIRE_REJ_NONE)
		return; /* counted in wctx.stats */
	p = peer_of(h->src);
	if (p == NULL || p->id != d->peer) {
		tern_wire_count(&wctx, TERN_WIRE_REJ_NODE);
		return;
	}
	pl = (const uint8_t *)d->data + sizeof(*h);
	if (!p->heard)
		printf("event=peer_up peer=%u\n", p->id);
	p->heard = true;
	p->last_heard = now;
	switch (h->type) {
	case FP_DATA:
		if (cfg.echo) {
			ctl_send(p, FP_DATA, pl,
				 TERN_MIN(h->payload_len,
					  (uint32_t)FRAME_BUF - (uint32_t)sizeof(*h)));
			break;
		}
		if (cfg.ping) {
			if (h->payload_len < 8 || get64(pl) != ping.done || ping.waiting == 0)
				break;
			if (ping.waiting == cfg.n_peers)
				ping.first[ping.done] = now - ping.sent_at;
			if (--ping.waiting == 0) {
				ping.rtt[ping.done++] = now - ping.sent_at;
				ping.next_at = now + cfg.gap_us * 1000;
			}
			break;
		}
		on_data(p, pl, h->payload_len);
		break;
	case FP_ACK:
		on_ack(p, pl, h->payload_len, now);
		break;
	case FP_HB:
		if (h->payload_len >= 4)
			p->done = get32(pl) != 0;
		break;
	case FP_END:
		if (h->payload_len >= 8) {
			uint8_t fin[8];

			p->end_seen = true;
			p->end_total = get64(pl);
			send_ack(p);
			put64(fin, p->uniq);
			ctl_send(p, FP_FIN, fin, sizeof(fin));
		}
		break;
	case FP_FIN:
		if (p->end_sent)
			p->fin = p->send_done = true;
		break;
	default:
		break;
	}
}

/* ---- send ---- */

/* Seal a frame in @p b and corrupt or re-group it for the injection checks. */
static uint32_t
build_inject(struct peer *p, uint8_t *b, bool corrupt)
{
	uint8_t *pl = b + sizeof(struct tern_wire_hdr);
	uint32_t size = 100, len;

	pattern_fill(pl, UINT64_MAX, cfg.self.node_id, size);
	if (corrupt) {
		len = tern_wire_seal(&wctx, b, FP_DATA, p->id, 1, size);
		pl[size / 2] ^= 0x5a;
	} else {
		len = tern_wire_seal(&foreign_ctx, b, FP_DATA, p->id, 1, size);
	}
	return len;
}

static bool
stream_fill(struct peer *p, uint64_t now)
{
	bool any = false;

	if (!p->heard || p->down || p->end_sent)
		return false;
	while (n_pend < BURST && (cfg.count == 0 || p->next_seq < cfg.count)) {
		uint64_t seq = p->next_seq;
		uint32_t size = payload_size(seq);
		struct tx_slot *s = &pend[n_pend];
		uint64_t mark = cfg.count / (INJECT_EACH + 1);

		if (p->inflight_bytes > 0 && (p->inflight_bytes + size > cfg.window_bytes ||
					      seq - p->acked_hi >= cfg.window_frames))
			break;
		if (cfg.inject && p->injected < 2 * INJECT_EACH && mark > 0 &&
		    seq >= mark * (p->injected / 2 + 1)) {
			s->d.len = build_inject(p, s->buf, p->injected % 2 == 1);
			p->injected++;
		} else {
			pattern_fill(s->buf + sizeof(struct tern_wire_hdr), seq, cfg.self.node_id,
				     size);
			s->d.len = tern_wire_seal(&wctx, s->buf, FP_DATA, p->id, 1, size);
			p->next_seq++;
			p->inflight_bytes += size;
			if (p->inflight_bytes == size)
				p->progress_at = now;
		}
		s->d.data = s->buf;
		s->d.peer = p->id;
		s->d.queue = 0;
		s->d.priv = NULL;
		n_pend++;
		any = true;
	}
	return any;
}

static bool
tx_pass(uint64_t now)
{
	unsigned int i, sent;
	struct tern_net_dgram d[BURST];
	bool any = false;

	if (cfg.ping && ping.waiting == 0 && ping.done < cfg.count && now >= ping.next_at) {
		bool all_up = true;

		for (i = 0; i < cfg.n_peers; i++)
			all_up &= peers[i].heard;
		if (all_up) {
			uint32_t size = payload_size(ping.done);
			uint8_t *pl = pend[0].buf + sizeof(struct tern_wire_hdr);

			pattern_fill(pl, ping.done, cfg.self.node_id, size);
			ping.sent_at = now_ns();
			for (i = 0; i < cfg.n_peers; i++)
				ctl_send(&peers[i], FP_DATA, pl, size);
			ping.waiting = cfg.n_peers;
			return true;
		}
	}
	for (i = 0; i < cfg.n_peers; i++) {
		struct peer *p = &peers[i];

		/* Credits lost with their frames: give them back after a quiet spell. */
		if (p->inflight_bytes > 0 && now - p->progress_at > 100 * 1000000ULL) {
			p->acked_hi = p->next_seq;
			p->inflight_bytes = 0;
		}
		if (cfg.send)
			any |= stream_fill(p, now);
	}
	if (n_pend == 0)
		return any;
	for (i = 0; i < n_pend; i++)
		d[i] = pend[i].d;
	sent = tern_net_tx_burst(net, 0, d, n_pend);
	if (sent > 0) {
		/* Keep the unsent ones first, in order, and recycle the sent buffers. */
		uint8_t *bufs[BURST];

		for (i = 0; i < sent; i++)
			bufs[i] = pend[i].buf;
		memmove(pend, pend + sent, (n_pend - sent) * sizeof(pend[0]));
		n_pend -= sent;
		for (i = 0; i < sent; i++)
			pend[n_pend + i].buf = bufs[i];
		any = true;
	}
	return any;
}

/* Streams whose last frame went out get END (repeated until FIN, bounded). */
static void
end_pass(uint64_t now)
{
	unsigned int i;

	if (!cfg.send || cfg.count == 0)
		return;
	for (i = 0; i < cfg.n_peers; i++) {
		struct peer *p = &peers[i];
		uint8_t pl[8];
		bool queued = false;
		unsigned int k;

		if (p->send_done || p->down || p->next_seq < cfg.count)
			continue;
		for (k = 0; k < n_pend; k++)
			queued |= pend[k].d.peer == p->id;
		if (queued)
			continue;
		if (!p->end_sent) {
			p->end_sent = true;
			p->end_first = now;
			p->end_at = 0;
		}
		if (now - p->end_first > 5 * 1000000000ULL) {
			printf("event=no_fin peer=%u\n", p->id);
			p->send_done = true;
			continue;
		}
		if (p->end_at != 0 && now - p->end_at < 20 * 1000000ULL)
			continue;
		put64(pl, p->next_seq);
		ctl_send(p, FP_END, pl, sizeof(pl));
		p->end_at = now;
	}
}

/* ---- reporting ---- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
report(void)
{
	struct tern_net_stats st;
	unsigned int i;
	int rc = 0;

	for (i = 0; i < cfg.n_peers; i++) {
		struct peer *p = &peers[i];

		if (cfg.send) {
			printf("stream=to peer=%u sent=%" PRIu64 " injected=%" PRIu64 " fin=%d\n",
			       p->id, p->next_seq, p->injected, p->fin);
			if (!cfg.expect_down && cfg.count != 0 && !p->fin) {
				printf("FAIL: the stream to peer %u was not confirmed (no FIN)\n",
				       p->id);
				rc = 1;
			}
		}
		if (cfg.recv) {
			uint64_t total = p->end_seen ? p->end_total : cfg.count;
			uint64_t lost = total > p->uniq ? total - p->uniq : 0;

			printf("stream=from peer=%u expected=%" PRIu64 " received=%" PRIu64
			       " lost=%" PRIu64 " dup=%" PRIu64 " bad=%" PRIu64 " end=%d\n",
			       p->id, cfg.count, p->uniq, lost, p->dup, p->bad, p->end_seen);
			if (cfg.expect_down)
				continue;
			if (!p->end_seen) {
				printf("FAIL: no END from peer %u\n", p->id);
				rc = 1;
			}
			if (p->end_seen && p->end_total != cfg.count) {
				printf("FAIL: peer %u sent %" PRIu64 ", expected %" PRIu64 "\n",
				       p->id, p->end_total, cfg.count);
				rc = 1;
			}
			if (p->dup != 0 || p->bad != 0 || p->beyond != 0) {
				printf("FAIL: peer %u: %" PRIu64 " duplicate, %" PRIu64
				       " damaged, %" PRIu64 " out-of-range frames\n",
				       p->id, p->dup, p->bad, p->beyond);
				rc = 1;
			}
			if (p->uniq + lost != total || lost > cfg.max_lost) {
				printf("FAIL: peer %u: %" PRIu64 " lost (at most %" PRIu64
				       " allowed)\n",
				       p->id, lost, cfg.max_lost);
				rc = 1;
			}
		}
	}
	if (cfg.ping) {
		uint64_t n = ping.done;

		qsort(ping.rtt, n, sizeof(ping.rtt[0]), cmp_u64);
		qsort(ping.first, n, sizeof(ping.first[0]), cmp_u64);
		printf("rtt n=%" PRIu64 " p50_us=%.2f p99_us=%.2f max_us=%.2f (all %u echoes)\n", n,
		       n ? ping.rtt[n / 2] / 1e3 : 0.0, n ? ping.rtt[n * 99 / 100] / 1e3 : 0.0,
		       n ? ping.rtt[n - 1] / 1e3 : 0.0, cfg.n_peers);
		printf("rtt_first n=%" PRIu64 " p50_us=%.2f p99_us=%.2f max_us=%.2f\n", n,
		       n ? ping.first[n / 2] / 1e3 : 0.0, n ? ping.first[n * 99 / 100] / 1e3 : 0.0,
		       n ? ping.first[n - 1] / 1e3 : 0.0);
		if (n < cfg.count) {
			printf("FAIL: %" PRIu64 " of %" PRIu64 " round trips\n", n, cfg.count);
			rc = 1;
		}
	}
	printf("wire accepted=%" PRIu64, wctx.stats.accepted);
	for (i = 1; i < TERN_WIRE_REJ_COUNT_; i++)
		if (wctx.stats.rejected[i] != 0)
			printf(" rej_%u=%" PRIu64, i, wctx.stats.rejected[i]);
	printf("\n");
	printf("rejected_group=%" PRIu64 " rejected_crc=%" PRIu64 "\n",
	       wctx.stats.rejected[TERN_WIRE_REJ_GROUP], wctx.stats.rejected[TERN_WIRE_REJ_CRC]);
	if (cfg.expect_rejects && (wctx.stats.rejected[TERN_WIRE_REJ_GROUP] == 0 ||
				   wctx.stats.rejected[TERN_WIRE_REJ_CRC] == 0)) {
		printf("FAIL: the foreign-group and corrupted frames were not both rejected\n");
		rc = 1;
	}
	tern_net_stats_get(net, &st);
	printf("driver rx_dgrams=%" PRIu64 " rx_bytes=%" PRIu64 " tx_dgrams=%" PRIu64
	       " tx_bytes=%" PRIu64 " rx_dropped=%" PRIu64 " tx_dropped=%" PRIu64
	       " tx_full=%" PRIu64 " waits=%" PRIu64 " busy=%" PRIu64 " idle=%" PRIu64 "\n",
	       st.rx_dgrams, st.rx_bytes, st.tx_dgrams, st.tx_bytes, st.rx_dropped, st.tx_dropped,
	       st.tx_full, st.waits, st.busy_cycles, st.idle_cycles);
	return rc;
}

/* ---- arguments ---- */

static void
usage(void)
{
	fprintf(stderr,
		"usage: tern-fabric-peer [EAL args --] --driver dpdk|udp\n"
		"  --self ID,MAC,IP,PORT[,ETHPORT] --peer ID,MAC,IP,PORT[,ETHPORT]...\n"
		"  [--role send|recv|both] [--count N (0: until killed)] [--sizes mixed|N]\n"
		"  [--max-size N] [--group G] [--driver-args S] [--poll busy|adaptive]\n"
		"  [--window BYTES] [--window-frames N] [--inject] [--expect-rejects]\n"
		"  [--expect-down] [--max-lost N] [--timeout S] [--hb-ms N] [--down-ms N]\n"
		"  [--linger-ms N] [--probe] [--gap-us N (ping)] [--diag LEVEL (1-8: tern.*)]\n"
		"  roles: send, recv, both (streams); ping, echo (round trips, --count of them)\n"
		"  MAC '-' or all zero: the port's own (self) or broadcast (peer)\n");
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

static int
parse_node(char *s, struct tern_net_peer *p, const char **port_name)
{
	char *f[5] = {0};
	unsigned int n = 0;
	uint64_t v;
	struct in_addr a;

	memset(p, 0, sizeof(*p));
	for (char *tok = strtok(s, ","); tok != NULL && n < 5; tok = strtok(NULL, ","))
		f[n++] = tok;
	if (n < 4)
		return -1;
	if (parse_u64(f[0], &v) != 0 || v > TERN_WIRE_NODE_MAX)
		return -1;
	p->node_id = (uint16_t)v;
	if (tern_net_mac_parse(f[1], p->mac) != 0)
		return -1;
	if (inet_pton(AF_INET, f[2], &a) != 1)
		return -1;
	p->ipv4 = a.s_addr;
	if (parse_u64(f[3], &v) != 0 || v > UINT16_MAX)
		return -1;
	p->udp_port = (uint16_t)v;
	*port_name = NULL;
	if (f[4] != NULL) {
		if (parse_u64(f[4], &v) == 0 && v <= UINT16_MAX)
			p->port = (uint16_t)v;
		else
			*port_name = f[4]; /* resolved once the EAL is up */
	}
	return 0;
}

static int
parse_args(int argc, char **argv)
{
	int i;
	uint64_t v;
	bool self_set = false;

	cfg.driver = "dpdk";
	cfg.driver_args = "";
	cfg.send = false;
	cfg.recv = true;
	cfg.count = 100000;
	cfg.max_size = 8192;
	cfg.group = 1;
	cfg.poll = TERN_NET_POLL_ADAPTIVE;
	cfg.window_bytes = 256 * 1024;
	cfg.window_frames = 256;
	cfg.timeout_ms = 60000;
	cfg.hb_ms = 10;
	cfg.down_ms = 500;
	cfg.linger_ms = 250;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		char *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool flag = true;

		if (strcmp(a, "--inject") == 0)
			cfg.inject = true;
		else if (strcmp(a, "--expect-rejects") == 0)
			cfg.expect_rejects = true;
		else if (strcmp(a, "--expect-down") == 0)
			cfg.expect_down = true;
		else if (strcmp(a, "--probe") == 0)
			cfg.probe = true;
		else
			flag = false;
		if (flag)
			continue;
		if (val == NULL)
			goto bad;
		i++;
		if (strcmp(a, "--driver") == 0) {
			cfg.driver = val;
		} else if (strcmp(a, "--driver-args") == 0) {
			cfg.driver_args = val;
		} else if (strcmp(a, "--self") == 0) {
			if (parse_node(val, &cfg.self, &cfg.self_port_name) != 0)
				goto bad;
			self_set = true;
		} else if (strcmp(a, "--peer") == 0) {
			if (cfg.n_peers == PEERS_MAX ||
			    parse_node(val, &cfg.peers[cfg.n_peers], &cfg.port_name[cfg.n_peers]))
				goto bad;
			cfg.n_peers++;
		} else if (strcmp(a, "--role") == 0) {
			cfg.send = strcmp(val, "send") == 0 || strcmp(val, "both") == 0;
			cfg.recv = strcmp(val, "recv") == 0 || strcmp(val, "both") == 0;
			cfg.ping = strcmp(val, "ping") == 0;
			cfg.echo = strcmp(val, "echo") == 0;
			if (!cfg.send && !cfg.recv && !cfg.ping && !cfg.echo)
				goto bad;
		} else if (strcmp(a, "--sizes") == 0) {
			if (strcmp(val, "mixed") == 0)
				cfg.fixed_size = 0;
			else if (parse_u64(val, &v) != 0 || v < PAYLOAD_MIN || v > 8960)
				goto bad;
			else
				cfg.fixed_size = (uint32_t)v;
		} else if (strcmp(a, "--poll") == 0) {
			if (strcmp(val, "busy") == 0)
				cfg.poll = TERN_NET_POLL_BUSY;
			else if (strcmp(val, "adaptive") == 0)
				cfg.poll = TERN_NET_POLL_ADAPTIVE;
			else
				goto bad;
		} else {
			if (parse_u64(val, &v) != 0)
				goto bad;
			if (strcmp(a, "--count") == 0)
				cfg.count = v;
			else if (strcmp(a, "--max-size") == 0 && v >= PAYLOAD_MIN && v <= 8960)
				cfg.max_size = (uint32_t)v;
			else if (strcmp(a, "--group") == 0 && v <= UINT32_MAX - 1)
				cfg.group = (uint32_t)v;
			else if (strcmp(a, "--window") == 0 && v > 0)
				cfg.window_bytes = v;
			else if (strcmp(a, "--window-frames") == 0 && v > 0)
				cfg.window_frames = v;
			else if (strcmp(a, "--max-lost") == 0) {
				cfg.max_lost = v;
				cfg.max_lost_set = true;
			} else if (strcmp(a, "--timeout") == 0)
				cfg.timeout_ms = v * 1000;
			else if (strcmp(a, "--hb-ms") == 0 && v > 0)
				cfg.hb_ms = v;
			else if (strcmp(a, "--down-ms") == 0 && v > 0)
				cfg.down_ms = v;
			else if (strcmp(a, "--linger-ms") == 0)
				cfg.linger_ms = v;
			else if (strcmp(a, "--gap-us") == 0)
				cfg.gap_us = v;
			else if (strcmp(a, "--diag") == 0 && v >= 1 && v <= 8)
				tern_diag_set_level("tern.*", (int)v);
			else
				goto bad;
		}
	}
	if (cfg.probe)
		return 0;
	if (!self_set || cfg.n_peers == 0) {
		fprintf(stderr, "tern-fabric-peer: --self and at least one --peer are needed\n");
		return -1;
	}
	if (!cfg.max_lost_set)
		cfg.max_lost = cfg.count / 100;
	return 0;
bad:
	fprintf(stderr, "tern-fabric-peer: bad argument '%s'\n", argv[i - 1 < 0 ? 0 : i - 1]);
	usage();
	return -1;
}

#ifdef TERN_FABRIC_DPDK
static int
resolve_port(const char *name, uint16_t *port)
{
	if (name == NULL)
		return 0;
	if (rte_eth_dev_get_port_by_name(name, port) != 0) {
		printf("FAIL: no ethdev port named %s\n", name);
		return -1;
	}
	return 0;
}
#endif

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- main loop ---- */

static int
run(void)
{
	struct tern_net_dgram d[BURST];
	uint64_t start = now_ns(), now, next_hb = 0, down_at = 0;
	bool all_done = false;
	unsigned int i, n;

	for (;;) {
		bool busy;

		now = now_ns();
		n = tern_net_rx_burst(net, 0, d, BURST);
		for (i = 0; i < n; i++)
			handle(&d[i], now);
		tern_net_rx_release(net, d, n);
		busy = n > 0;
		busy |= tx_pass(now);
		end_pass(now);
		for (i = 0; i < cfg.n_peers; i++) {
			struct peer *p = &peers[i];

			if (p->unacked > 0 && n == 0)
				send_ack(p);
			if (p->heard && !p->down) {
				int up = tern_net_link_up(net, p->id);

				/* Frames may flow before the link state says up. */
				if (up == 1)
					p->link_seen_up = true;
				if (up == 0 && p->link_seen_up)
					p->down_why = "link down";
				else if (now - p->last_heard > cfg.down_ms * 1000000ULL)
					p->down_why = "silent";
				if (p->down_why != NULL) {
					p->down = true;
					printf("event=peer_down peer=%u reason=%s after_ms=%" PRIu64
					       " received=%" PRIu64 "\n",
					       p->id, p->down_why, (now - start) / 1000000,
					       p->uniq);
					fflush(stdout);
					if (down_at == 0)
						down_at = now;
				}
			}
		}
		if (now >= next_hb) {
			send_hb();
			next_hb = now + cfg.hb_ms * 1000000ULL;
		}
		if (cfg.expect_down) {
			/* Keep running a while after the peer died: it must not take us down. */
			if (down_at != 0 && now - down_at > 300 * 1000000ULL)
				return 0;
		} else if (!all_done && node_done()) {
			bool peers_done = true;

			for (i = 0; i < cfg.n_peers; i++)
				peers_done &= peers[i].done || peers[i].down;
			all_done = peers_done;
		}
		if (all_done) {
			/*
			 * Every peer is done: say so once more (a peer may not have seen our
			 * done yet), stop polling, linger, then close. Higher ids close
			 * first, 150 ms apart: the side that connected (virtio-user, memif
			 * client) leaves while its host is still up. Closing both ends of a
			 * vhost-user link at once can make DPDK 22.11's virtio-user panic in
			 * the EAL interrupt thread (an fd closed under its epoll set).
			 */
			unsigned int higher = 0;

			for (i = 0; i < cfg.n_peers; i++)
				higher += peers[i].id > cfg.self.node_id;
			send_hb();
			send_hb();
			usleep((useconds_t)((cfg.linger_ms + 150 * higher) * 1000));
			return 0;
		}
		if (stop || (cfg.timeout_ms != 0 && now - start > cfg.timeout_ms * 1000000ULL)) {
			printf("event=%s after_ms=%" PRIu64 "\n", stop ? "signal" : "timeout",
			       (now - start) / 1000000);
			return 1;
		}
		if (!busy)
			tern_net_wait(net, 0, 1000000ULL);
	}
}

int
main(int argc, char **argv)
{
	struct tern_net_opts o;
	int sep = -1, i, rc;
	unsigned int k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (parse_args(sep < 0 ? argc - 1 : argc - sep - 1, argv + (sep < 0 ? 1 : sep + 1)) != 0)
		return 2;

	if (strcmp(cfg.driver, "dpdk") == 0) {
#ifdef TERN_FABRIC_DPDK
		uint16_t ports;

		if (sep < 0) {
			fprintf(stderr,
				"tern-fabric-peer: the dpdk driver needs EAL args before --\n");
			return 2;
		}
		argv[sep] = argv[0];
		rc = rte_eal_init(sep, argv);
		if (rc < 0) {
			printf("SKIP: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
			return EXIT_SKIP;
		}
		ports = rte_eth_dev_count_avail();
		printf("event=eal_ready ports=%u\n", ports);
		if (ports == 0) {
			/* A vdev that fails to probe does not fail rte_eal_init (FABRIC.md). */
			printf("SKIP: no ethdev port after rte_eal_init (the vdev could not be "
			       "created)\n");
			rte_eal_cleanup();
			return EXIT_SKIP;
		}
		for (k = 0; k < ports; k++) {
			char name[RTE_ETH_NAME_MAX_LEN];

			if (rte_eth_dev_get_name_by_port((uint16_t)k, name) == 0)
				printf("event=port id=%u name=%s\n", k, name);
		}
		if (cfg.probe) {
			/*
			 * Close, and let the interrupt thread finish memif's deferred socket
			 * teardown: rte_eal_cleanup() crashes now and then otherwise.
			 */
			for (k = 0; k < ports; k++)
				rte_eth_dev_close((uint16_t)k);
			usleep(100 * 1000);
			rte_eal_cleanup();
			return 0;
		}
		if (resolve_port(cfg.self_port_name, &cfg.self.port) != 0)
			return 2;
		for (k = 0; k < cfg.n_peers; k++)
			if (resolve_port(cfg.port_name[k], &cfg.peers[k].port) != 0)
				return 2;
#else
		printf("SKIP: built without the dpdk driver\n");
		return EXIT_SKIP;
#endif
	} else if (cfg.probe) {
		return 0;
	}

	tern_wire_ctx_init(&wctx, cfg.group, cfg.self.node_id);
	tern_wire_ctx_init(&foreign_ctx, cfg.group + 1, cfg.self.node_id);
	for (k = 0; k < cfg.n_peers; k++) {
		peers[k].id = cfg.peers[k].node_id;
		tern_wire_ctx_add_node(&wctx, peers[k].id);
		tern_wire_ctx_add_node(&foreign_ctx, peers[k].id);
		if (cfg.ping && k == 0) {
			ping.rtt = calloc(cfg.count + 1, sizeof(ping.rtt[0]));
			ping.first = calloc(cfg.count + 1, sizeof(ping.first[0]));
			if (ping.rtt == NULL || ping.first == NULL)
				return 2;
		}
		if (cfg.recv && cfg.count > 0 && cfg.count <= (1ULL << 32)) {
			peers[k].seen = calloc(1, (size_t)(cfg.count + 7) / 8);
			if (peers[k].seen == NULL)
				return 2;
		}
	}
	for (k = 0; k < BURST; k++) {
		pend[k].buf = aligned_alloc(64, (FRAME_BUF + 63) & ~(size_t)63);
		if (pend[k].buf == NULL)
			return 2;
	}

	tern_net_opts_init(&o, sizeof(o));
	o.driver_args = cfg.driver_args;
	o.self = cfg.self;
	o.peers = cfg.peers;
	o.n_peers = cfg.n_peers;
	o.poll_mode = cfg.poll;
	rc = tern_net_open(cfg.driver, &o, &net);
	if (rc == -ENOENT) {
		printf("SKIP: driver %s is not built\n", cfg.driver);
		return EXIT_SKIP;
	}
	if (rc != 0) {
		printf("FAIL: tern_net_open(%s): %s\n", cfg.driver, strerror(-rc));
		return 1;
	}
	printf("event=open driver=%s self=%u peers=%u\n", cfg.driver, cfg.self.node_id,
	       cfg.n_peers);
	rc = run();
	if (report() != 0)
		rc = 1;
	tern_net_close(net);
	for (k = 0; k < BURST; k++)
		free(pend[k].buf);
	for (k = 0; k < cfg.n_peers; k++)
		free(peers[k].seen);
	free(ping.rtt);
	free(ping.first);
#ifdef TERN_FABRIC_DPDK
	if (strcmp(cfg.driver, "dpdk") == 0)
		rte_eal_cleanup();
#endif
	printf("result=%s\n", rc == 0 ? "pass" : "fail");
	return rc;
}
