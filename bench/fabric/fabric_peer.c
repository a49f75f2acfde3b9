/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer processes of tern-bench-fabric (`--peer` mode): one node, driven by the
 * orchestrator through its ctl socket (fabric.h lists the commands).
 *
 *   tern-bench-fabric --peer [EAL args] -- --driver tern-dpdk|tern-udp|raw --self ID[,MAC]
 *       --peer ID,ETHDEV,MAC... --poll busy|adaptive --ctl-fd N [--driver-args S]
 *       [--udp-base PORT] [--pin CPU]
 *
 * - tern-dpdk and tern-udp open the Tern network driver (tern_net_open("dpdk"|"udp")). Every
 *   datagram sent is sealed with tern_wire_seal() and every one received is checked with
 *   tern_wire_check(): that, plus the driver (L2 build and parse, copies), is the cost of
 *   Tern framing the benchmark shows.
 * - raw opens ethdev port 0 itself and moves bare mbufs with rte_eth_rx_burst() and
 *   rte_eth_tx_burst(): no Tern header, no CRC, no copy into the mbuf beyond a 42-byte
 *   Ethernet/IPv4/UDP header template, frames of the same length on the wire as the
 *   Tern ones (42 + SIZE bytes). It is the raw fabric figure.
 *
 * Poll modes: busy polls in a tight loop; adaptive calls tern_net_wait() after each pass
 * that found nothing (the dpdk driver spins, yields, then blocks on rx interrupts; the udp
 * driver blocks in epoll at once). The raw path always busy polls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <tern_common.h>
#include <tern_net.h>
#include <tern_wire.h>

#include "fabric.h"

#define BURST	     TERN_NET_BURST
#define HDR	     TERN_WIRE_HDR_LEN
#define L2	     TERN_WIRE_L2_HDR_LEN
#define PEERS	     2
#define DATA_TYPE    TERN_WIRE_ENTRIES
#define RAW_MBUFS    4095
#define RAW_DESC     512
#define TX_GIVE_UP   (1000ULL * 1000 * 1000) /* a burst not taken in 1 s is dropped */
#define LINK_WAIT_NS (15ULL * 1000 * 1000 * 1000)

/* DRV_RAW_DATA: the raw loop, but the sender writes each frame's payload and the receiver
 * reads it (a line at a time), as any producer and consumer of the data must. */
enum peer_drv { DRV_TERN_DPDK, DRV_TERN_UDP, DRV_RAW, DRV_RAW_DATA };

struct peer_cfg {
	enum peer_drv drv;
	const char *driver_args;
	uint16_t self;
	uint8_t self_mac[6];
	unsigned int n_peers;
	uint16_t peer_id[PEERS];
	const char *peer_port[PEERS];
	uint8_t peer_mac[PEERS][6];
	unsigned int udp_base;
	bool busy;
	int ctl;
	int pin;
};

static struct peer_cfg cfg;
static struct tern_net *net;
static struct tern_wire_ctx wctx;
static uint16_t raw_port;
static struct rte_mempool *raw_pool;
static uint8_t raw_hdr[L2];
static uint8_t tx_bufs[BURST][FAB_SIZE_MAX] __attribute__((aligned(64)));

/* ---- ctl ---- */

static char ctl_buf[4 * FAB_LINE_MAX];
static size_t ctl_len;

static void
say(const char *fmt, ...)
{
	char line[FAB_LINE_MAX];
	va_list ap;
	size_t len, off = 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = TERN_MIN((size_t)n, sizeof(line) - 2);
	line[len++] = '\n';
	while (off < len) {
		ssize_t w = write(cfg.ctl, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = cfg.ctl, .events = POLLOUT};

			poll(&p, 1, 100);
			continue;
		}
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* A whole line from the buffer: 1, or 0 when there is none yet. */
static int
ctl_take(char *line, size_t cap)
{
	char *nl = memchr(ctl_buf, '\n', ctl_len);
	size_t n;

	if (nl == NULL)
		return 0;
	n = (size_t)(nl - ctl_buf);
	snprintf(line, cap, "%.*s", (int)n, ctl_buf);
	memmove(ctl_buf, nl + 1, ctl_len - n - 1);
	ctl_len -= n + 1;
	return 1;
}

/*
 * The next command line within @p timeout_ms (0: only what is there, -1: forever).
 * @return 1 with a line; 0 none yet; -1 when the orchestrator is gone.
 */
static int
ctl_get(char *line, size_t cap, int timeout_ms)
{
	for (;;) {
		struct pollfd p = {.fd = cfg.ctl, .events = POLLIN};
		ssize_t r;

		if (ctl_take(line, cap))
			return 1;
		if (ctl_len == sizeof(ctl_buf))
			return -1; /* a line longer than the buffer: not our orchestrator */
		if (timeout_ms != 0) {
			int rc = poll(&p, 1, timeout_ms);

			if (rc < 0 && errno == EINTR)
				continue;
			if (rc == 0)
				return 0;
		}
		r = read(cfg.ctl, ctl_buf + ctl_len, sizeof(ctl_buf) - ctl_len);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return ctl_take(line, cap);
		if (r <= 0)
			return -1;
		ctl_len += (size_t)r;
	}
}

/* Anything from the orchestrator (stop, or it is gone)? Called from the polling loops. */
static bool
ctl_stop(void)
{
	char line[FAB_LINE_MAX];

	return ctl_get(line, sizeof(line), 0) != 0;
}

/* ---- latency histogram: exact below 16 us, then 1024 buckets per power of two ---- */

#define H_LIN	  16384U
#define H_SUB	  10U
#define H_BUCKETS (H_LIN + (64U - 14U) * (1U << H_SUB))

static uint64_t hist[H_BUCKETS];
static uint64_t hist_n;

static unsigned int
h_idx(uint64_t v)
{
	unsigned int e;

	if (v < H_LIN)
		return (unsigned int)v;
	e = 63U - (unsigned int)__builtin_clzll(v);
	return H_LIN + (e - 14U) * (1U << H_SUB) +
	       (unsigned int)((v >> (e - H_SUB)) & ((1U << H_SUB) - 1));
}

static uint64_t
h_val(unsigned int i)
{
	unsigned int j, e;

	if (i < H_LIN)
		return i;
	j = i - H_LIN;
	e = j / (1U << H_SUB) + 14U;
	/* the middle of the bucket */
	return ((uint64_t)((1U << H_SUB) + j % (1U << H_SUB)) << (e - H_SUB)) +
	       ((1ULL << (e - H_SUB)) >> 1);
}

static void
hist_add(uint64_t ns)
{
	hist[h_idx(ns)]++;
	hist_n++;
}

static uint64_t
hist_q(double q)
{
	uint64_t want = (uint64_t)(q * (double)hist_n + 0.999999), seen = 0;
	unsigned int i;

	if (hist_n == 0)
		return 0;
	if (want == 0)
		want = 1;
	for (i = 0; i < H_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return h_val(i);
	}
	return h_val(H_BUCKETS - 1);
}

static void
hist_reset(void)
{
	memset(hist, 0, sizeof(hist));
	hist_n = 0;
}

/* The warm-up of a latency measurement: not recorded. */
static uint64_t
warmup_ns(double secs)
{
	return TERN_MIN((uint64_t)(secs * 0.1e9), 200ULL * 1000 * 1000);
}

static void
say_rtt(uint64_t lost, uint64_t bad)
{
	say("result n=%" PRIu64 " lost=%" PRIu64 " bad=%" PRIu64 " p50_ns=%" PRIu64
	    " p99_ns=%" PRIu64 " p999_ns=%" PRIu64 " max_ns=%" PRIu64,
	    hist_n, lost, bad, hist_q(0.50), hist_q(0.99), hist_q(0.999), hist_q(1.0));
}

/* ---- the Tern path: tern_net + tern_wire ---- */

static uint32_t
seal(void *buf, uint16_t dst, uint32_t payload_len)
{
	return tern_wire_seal(&wctx, buf, DATA_TYPE, dst, FAB_TERM, payload_len);
}

/* Hand all of @p d to the driver (it may take them a few at a time). */
static void
tern_tx_all(struct tern_net_dgram *d, unsigned int cnt)
{
	unsigned int off = 0;
	uint64_t t0 = 0;

	while (off < cnt) {
		unsigned int k = tern_net_tx_burst(net, 0, d + off, cnt - off);

		off += k;
		if (k == 0 && off < cnt) {
			uint64_t now = fab_now_ns();

			if (t0 == 0)
				t0 = now;
			else if (now - t0 > TX_GIVE_UP)
				return;
		}
	}
}

static void
tern_rtt_client(uint32_t size, double secs)
{
	struct tern_net_dgram d, rd[BURST];
	uint16_t peer = cfg.peer_id[0];
	uint64_t start = fab_now_ns(), warm_end = start + warmup_ns(secs);
	uint64_t end = start + (uint64_t)(secs * 1e9), seq = 0, lost = 0, bad = 0, t0;
	uint8_t *buf = tx_bufs[0];

	hist_reset();
	memset(buf + HDR, 0xa5, size - HDR);
	while ((t0 = fab_now_ns()) < end) {
		bool got = false;
		uint64_t now;

		seq++;
		memcpy(buf + HDR, &seq, sizeof(seq));
		d.data = buf;
		d.len = seal(buf, peer, size - HDR);
		d.peer = peer;
		tern_tx_all(&d, 1);
		for (;;) {
			unsigned int n = tern_net_rx_burst(net, 0, rd, BURST), i;

			for (i = 0; i < n; i++) {
				const struct tern_wire_hdr *h;
				uint64_t s;

				if (tern_wire_check(&wctx, rd[i].data, rd[i].len, &h) !=
				    TERN_WIRE_REJ_NONE) {
					bad++;
					continue;
				}
				if (h->payload_len < sizeof(s))
					continue;
				memcpy(&s, tern_wire_payload(h), sizeof(s));
				if (s == seq)
					got = true;
			}
			if (n > 0)
				tern_net_rx_release(net, rd, n);
			now = fab_now_ns();
			if (got)
				break;
			if (now - t0 > FAB_LOSS_TIMEOUT_NS) {
				lost++;
				break;
			}
			if (n == 0 && !cfg.busy)
				tern_net_wait(net, 0, t0 + FAB_LOSS_TIMEOUT_NS - now);
		}
		if (got && t0 >= warm_end)
			hist_add(now - t0);
	}
	say_rtt(lost, bad);
}

/* Echo every good datagram back to its sender, resealed in place, until told to stop. */
static void
tern_rtt_server(void)
{
	struct tern_net_dgram rd[BURST], td[BURST];
	uint64_t echoed = 0, bad = 0, pass = 0;

	say("go");
	for (;;) {
		unsigned int n = tern_net_rx_burst(net, 0, rd, BURST), i, m = 0;
		int rc = 0;

		for (i = 0; i < n; i++) {
			const struct tern_wire_hdr *h;
			uint16_t src;
			uint32_t plen;

			if (tern_wire_check(&wctx, rd[i].data, rd[i].len, &h) !=
			    TERN_WIRE_REJ_NONE) {
				bad++;
				continue;
			}
			src = h->src;
			plen = h->payload_len;
			td[m].data = rd[i].data;
			td[m].len = seal(rd[i].data, src, plen);
			td[m].peer = src;
			m++;
		}
		if (m > 0)
			tern_tx_all(td, m);
		if (n > 0)
			tern_net_rx_release(net, rd, n);
		echoed += m;
		if (n == 0 && !cfg.busy)
			rc = tern_net_wait(net, 0, FAB_WAIT_NS);
		if ((++pass & 1023) == 0 || rc == -ETIMEDOUT) {
			if (ctl_stop())
				break;
		}
	}
	say("result echoed=%" PRIu64 " bad=%" PRIu64, echoed, bad);
}

static void
tern_tx(uint32_t size, double secs)
{
	struct tern_net_dgram d[BURST];
	uint16_t peer = cfg.peer_id[0];
	uint64_t start = fab_now_ns(), end = start + (uint64_t)(secs * 1e9), now = start;
	uint64_t seq = 0, sent = 0;
	unsigned int i;

	for (i = 0; i < BURST; i++)
		memset(tx_bufs[i] + HDR, 0x5a, size - HDR);
	while (now < end) {
		for (i = 0; i < BURST; i++) {
			seq++;
			memcpy(tx_bufs[i] + HDR, &seq, sizeof(seq));
			d[i].data = tx_bufs[i];
			d[i].len = seal(tx_bufs[i], peer, size - HDR);
			d[i].peer = peer;
		}
		tern_tx_all(d, BURST);
		sent += BURST;
		now = fab_now_ns();
	}
	say("result sent=%" PRIu64 " ns=%" PRIu64, sent, now - start);
}

static void
tern_rx(void)
{
	struct tern_net_dgram rd[BURST];
	uint64_t ok = 0, bad = 0, bytes = 0, first = 0, last = 0, pass = 0;

	say("go");
	for (;;) {
		unsigned int n = tern_net_rx_burst(net, 0, rd, BURST), i;
		int rc = 0;

		if (n > 0) {
			last = fab_now_ns();
			if (first == 0)
				first = last;
			for (i = 0; i < n; i++) {
				const struct tern_wire_hdr *h;

				if (tern_wire_check(&wctx, rd[i].data, rd[i].len, &h) ==
				    TERN_WIRE_REJ_NONE) {
					ok++;
					bytes += rd[i].len;
				} else {
					bad++;
				}
			}
			tern_net_rx_release(net, rd, n);
		} else if (!cfg.busy) {
			rc = tern_net_wait(net, 0, FAB_WAIT_NS);
		}
		if ((++pass & 1023) == 0 || rc == -ETIMEDOUT) {
			if (ctl_stop())
				break;
		}
	}
	say("result ok=%" PRIu64 " bad=%" PRIu64 " bytes=%" PRIu64 " ns=%" PRIu64, ok, bad, bytes,
	    last - first);
}

static void
tern_idle(void)
{
	struct tern_net_dgram rd[BURST];
	uint64_t pass = 0, got = 0;
	struct tern_net_stats st;

	say("go");
	for (;;) {
		unsigned int n = tern_net_rx_burst(net, 0, rd, BURST);
		int rc = 0;

		if (n > 0) {
			got += n;
			tern_net_rx_release(net, rd, n);
		} else if (!cfg.busy) {
			rc = tern_net_wait(net, 0, FAB_IDLE_WAIT_NS);
		}
		if ((++pass & 1023) == 0 || rc == -ETIMEDOUT) {
			if (ctl_stop())
				break;
		}
	}
	tern_net_stats_get(net, &st);
	say("result rx=%" PRIu64 " waits=%" PRIu64 " busy_passes=%" PRIu64 " idle_passes=%" PRIu64,
	    got, st.waits, st.busy_cycles, st.idle_cycles);
}

/* ---- the raw path: bare mbufs on ethdev port 0 ---- */

static void
raw_tx_all(struct rte_mbuf **m, unsigned int cnt)
{
	unsigned int off = 0;
	uint64_t t0 = 0;

	while (off < cnt) {
		uint16_t k = rte_eth_tx_burst(raw_port, 0, m + off, (uint16_t)(cnt - off));

		off += k;
		if (k == 0 && off < cnt) {
			uint64_t now = fab_now_ns();

			if (t0 == 0) {
				t0 = now;
			} else if (now - t0 > TX_GIVE_UP) {
				rte_pktmbuf_free_bulk(m + off, cnt - off);
				return;
			}
		}
	}
}

/* One frame of 42 + @p size bytes: the header template, the payload left as it is. */
static void
raw_frame(struct rte_mbuf *m, uint32_t size)
{
	m->data_len = (uint16_t)(L2 + size);
	m->pkt_len = L2 + size;
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), raw_hdr, L2);
}

static void
raw_rtt_client(uint32_t size, double secs)
{
	struct rte_mbuf *m, *rm[BURST];
	uint64_t start = fab_now_ns(), warm_end = start + warmup_ns(secs);
	uint64_t end = start + (uint64_t)(secs * 1e9), lost = 0, t0;

	hist_reset();
	while ((t0 = fab_now_ns()) < end) {
		bool got = false;
		uint64_t now;

		m = rte_pktmbuf_alloc(raw_pool);
		if (m == NULL) {
			say("error raw mbuf pool empty");
			return;
		}
		raw_frame(m, size);
		raw_tx_all(&m, 1);
		for (;;) {
			uint16_t n = rte_eth_rx_burst(raw_port, 0, rm, BURST);

			if (n > 0) {
				rte_pktmbuf_free_bulk(rm, n);
				got = true;
			}
			now = fab_now_ns();
			if (got)
				break;
			if (now - t0 > FAB_LOSS_TIMEOUT_NS) {
				lost++;
				break;
			}
		}
		if (got && t0 >= warm_end)
			hist_add(now - t0);
	}
	say_rtt(lost, 0);
}

static void
raw_rtt_server(void)
{
	struct rte_mbuf *rm[BURST];
	uint64_t echoed = 0, pass = 0;

	say("go");
	for (;;) {
		uint16_t n = rte_eth_rx_burst(raw_port, 0, rm, BURST);

		if (n > 0) {
			raw_tx_all(rm, n);
			echoed += n;
		}
		if ((++pass & 1023) == 0 && ctl_stop())
			break;
	}
	say("result echoed=%" PRIu64 " bad=0", echoed);
}

static void
raw_tx(uint32_t size, double secs)
{
	static uint8_t src[FAB_SIZE_MAX] __attribute__((aligned(64)));
	struct rte_mbuf *m[BURST];
	uint64_t start = fab_now_ns(), end = start + (uint64_t)(secs * 1e9), now = start;
	uint64_t sent = 0, seq = 0;
	unsigned int i, have = 0;
	bool data = cfg.drv == DRV_RAW_DATA;

	memset(src, 0x5a, sizeof(src));

	while (now < end) {
		uint16_t k;

		if (have < BURST) {
			if (rte_pktmbuf_alloc_bulk(raw_pool, m + have, BURST - have) == 0) {
				for (i = have; i < BURST; i++) {
					raw_frame(m[i], size);
					if (!data)
						continue;
					/* The payload, as Tern's tx path copies it in. */
					seq++;
					memcpy(src, &seq, sizeof(seq));
					rte_memcpy(rte_pktmbuf_mtod(m[i], uint8_t *) + L2, src,
						   size);
				}
				have = BURST;
			}
		}
		k = rte_eth_tx_burst(raw_port, 0, m, (uint16_t)have);
		if (k > 0 && k < have)
			memmove(m, m + k, (have - k) * sizeof(m[0]));
		have -= k;
		sent += k;
		now = fab_now_ns();
	}
	if (have > 0)
		rte_pktmbuf_free_bulk(m, have);
	say("result sent=%" PRIu64 " ns=%" PRIu64, sent, now - start);
}

/* Read one word of every cache line of @p m's payload. */
static uint64_t
payload_touch(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *) + L2;
	uint32_t len = m->data_len > L2 ? m->data_len - L2 : 0, off;
	uint64_t s = 0, w;

	for (off = 0; off + sizeof(w) <= len; off += 64) {
		memcpy(&w, p + off, sizeof(w));
		s += w;
	}
	return s;
}

static void
raw_rx(void)
{
	struct rte_mbuf *rm[BURST];
	uint64_t ok = 0, bytes = 0, first = 0, last = 0, pass = 0, sum = 0;
	uint16_t i;

	say("go");
	for (;;) {
		uint16_t n = rte_eth_rx_burst(raw_port, 0, rm, BURST);

		if (n > 0) {
			last = fab_now_ns();
			if (first == 0)
				first = last;
			ok += n;
			for (i = 0; i < n; i++) /* the mbuf header only, as any PMD user reads */
				bytes += rm[i]->pkt_len - L2;
			if (cfg.drv == DRV_RAW_DATA)
				for (i = 0; i < n; i++) /* ... or every line of the payload */
					sum += payload_touch(rm[i]);
			rte_pktmbuf_free_bulk(rm, n);
		}
		if ((++pass & 1023) == 0 && ctl_stop())
			break;
	}
	if (sum == 1) /* never in practice: keeps the reads of payload_touch() */
		say("note payload_sum=1");
	say("result ok=%" PRIu64 " bad=0 bytes=%" PRIu64 " ns=%" PRIu64, ok, bytes, last - first);
}

/* ---- set-up ---- */

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return errno != 0 || end == s || *end != '\0' || *out > max ? -EINVAL : 0;
}

static int
parse_peer_args(int argc, char **argv)
{
	unsigned long v;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ctl = -1;
	cfg.pin = -1;
	cfg.udp_base = 30000;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			return -EINVAL;
		i++;
		if (strcmp(a, "--driver") == 0) {
			if (strcmp(val, "tern-dpdk") == 0)
				cfg.drv = DRV_TERN_DPDK;
			else if (strcmp(val, "tern-udp") == 0)
				cfg.drv = DRV_TERN_UDP;
			else if (strcmp(val, "raw") == 0)
				cfg.drv = DRV_RAW;
			else if (strcmp(val, "raw-data") == 0)
				cfg.drv = DRV_RAW_DATA;
			else
				return -EINVAL;
		} else if (strcmp(a, "--self") == 0) {
			char buf[64], *comma;

			snprintf(buf, sizeof(buf), "%s", val);
			comma = strchr(buf, ',');
			if (comma != NULL) {
				*comma = '\0';
				if (tern_net_mac_parse(comma + 1, cfg.self_mac) != 0)
					return -EINVAL;
			}
			if (parse_uint(buf, TERN_WIRE_CTX_NODES - 1, &v) != 0)
				return -EINVAL;
			cfg.self = (uint16_t)v;
		} else if (strcmp(a, "--peer") == 0) {
			char *s = strdup(val), *f[3], *save = NULL;
			unsigned int k;

			if (s == NULL || cfg.n_peers == PEERS)
				return -EINVAL;
			for (k = 0; k < 3; k++) {
				f[k] = strtok_r(k == 0 ? s : NULL, ",", &save);
				if (f[k] == NULL)
					return -EINVAL;
			}
			if (parse_uint(f[0], TERN_WIRE_CTX_NODES - 1, &v) != 0 ||
			    tern_net_mac_parse(f[2], cfg.peer_mac[cfg.n_peers]) != 0)
				return -EINVAL;
			cfg.peer_id[cfg.n_peers] = (uint16_t)v;
			cfg.peer_port[cfg.n_peers] = f[1]; /* s is kept for the process' life */
			cfg.n_peers++;
		} else if (strcmp(a, "--poll") == 0) {
			if (strcmp(val, "busy") == 0)
				cfg.busy = true;
			else if (strcmp(val, "adaptive") == 0)
				cfg.busy = false;
			else
				return -EINVAL;
		} else if (strcmp(a, "--ctl-fd") == 0) {
			if (parse_uint(val, 65535, &v) != 0)
				return -EINVAL;
			cfg.ctl = (int)v;
		} else if (strcmp(a, "--driver-args") == 0) {
			cfg.driver_args = val;
		} else if (strcmp(a, "--udp-base") == 0) {
			if (parse_uint(val, 65000, &v) != 0)
				return -EINVAL;
			cfg.udp_base = (unsigned int)v;
		} else if (strcmp(a, "--pin") == 0) {
			if (parse_uint(val, CPU_SETSIZE - 1, &v) != 0)
				return -EINVAL;
			cfg.pin = (int)v;
		} else {
			return -EINVAL;
		}
	}
	return cfg.ctl < 0 || cfg.n_peers == 0 ? -EINVAL : 0;
}

static uint32_t
node_ipv4(uint16_t id)
{
	if (cfg.drv == DRV_TERN_UDP)
		return htonl(INADDR_LOOPBACK);
	return htonl((10U << 24) | (77U << 16) | id);
}

static uint16_t
node_udp_port(uint16_t id)
{
	return cfg.drv == DRV_TERN_UDP ? (uint16_t)(cfg.udp_base + id) : FAB_DPDK_UDP;
}

static int
tern_open(void)
{
	struct tern_net_peer peers[PEERS];
	struct tern_net_opts o;
	unsigned int i;
	int rc;

	tern_net_opts_init(&o, sizeof(o));
	o.driver_args = cfg.driver_args;
	o.poll_mode = cfg.busy ? TERN_NET_POLL_BUSY : TERN_NET_POLL_ADAPTIVE;
	o.mtu = FAB_MTU;
	o.self.node_id = cfg.self;
	memcpy(o.self.mac, cfg.self_mac, 6);
	o.self.ipv4 = node_ipv4(cfg.self);
	o.self.udp_port = node_udp_port(cfg.self);
	memset(peers, 0, sizeof(peers));
	for (i = 0; i < cfg.n_peers; i++) {
		peers[i].node_id = cfg.peer_id[i];
		memcpy(peers[i].mac, cfg.peer_mac[i], 6);
		peers[i].ipv4 = node_ipv4(cfg.peer_id[i]);
		peers[i].udp_port = node_udp_port(cfg.peer_id[i]);
		if (cfg.drv == DRV_TERN_DPDK) {
			rc = rte_eth_dev_get_port_by_name(cfg.peer_port[i], &peers[i].port);
			if (rc != 0) {
				say("skip no ethdev port %s (the vdev did not probe)",
				    cfg.peer_port[i]);
				return FAB_EXIT_SKIP;
			}
		}
	}
	o.peers = peers;
	o.n_peers = cfg.n_peers;
	rc = tern_net_open(cfg.drv == DRV_TERN_DPDK ? "dpdk" : "udp", &o, &net);
	if (rc == -ENOENT) {
		say("skip the %s driver is not built", cfg.drv == DRV_TERN_DPDK ? "dpdk" : "udp");
		return FAB_EXIT_SKIP;
	}
	if (rc != 0) {
		say("error tern_net_open: %s", strerror(-rc));
		return 1;
	}
	tern_wire_ctx_init(&wctx, FAB_GROUP, cfg.self);
	for (i = 0; i < cfg.n_peers; i++)
		tern_wire_ctx_add_node(&wctx, cfg.peer_id[i]);
	return 0;
}

static int
raw_open(void)
{
	struct tern_wire_l2_addr src, dst;
	struct rte_eth_conf conf;
	uint16_t rxd = RAW_DESC, txd = RAW_DESC;
	int rc, socket;

	if (rte_eth_dev_get_port_by_name(cfg.peer_port[0], &raw_port) != 0) {
		say("skip no ethdev port %s (the vdev did not probe)", cfg.peer_port[0]);
		return FAB_EXIT_SKIP;
	}
	socket = rte_eth_dev_socket_id(raw_port);
	if (socket < 0)
		socket = (int)rte_socket_id();
	raw_pool = rte_pktmbuf_pool_create("fab_raw", RAW_MBUFS, 256, 0,
					   RTE_PKTMBUF_HEADROOM + 9216, socket);
	if (raw_pool == NULL) {
		say("error mbuf pool: %s", rte_strerror(rte_errno));
		return 1;
	}
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(raw_port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(raw_port, &rxd, &txd);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(raw_port, 0, rxd, (unsigned int)socket, NULL, raw_pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(raw_port, 0, txd, (unsigned int)socket, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(raw_port);
	if (rc != 0) {
		say("error raw port set-up: %s", strerror(-rc));
		return 1;
	}
	/* The same L2 header as a Tern frame would have (built once, never again). */
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	rte_eth_macaddr_get(raw_port, (struct rte_ether_addr *)src.mac);
	memset(dst.mac, 0xff, 6);
	src.ipv4 = node_ipv4(cfg.self);
	dst.ipv4 = node_ipv4(cfg.peer_id[0]);
	src.port = dst.port = FAB_DPDK_UDP;
	tern_wire_l2_build(raw_hdr, &src, &dst, 0);
	return 0;
}

static bool
links_up(void)
{
	unsigned int i;

	if (cfg.drv == DRV_RAW || cfg.drv == DRV_RAW_DATA) {
		struct rte_eth_link link;

		return rte_eth_link_get_nowait(raw_port, &link) == 0 &&
		       link.link_status == RTE_ETH_LINK_UP;
	}
	for (i = 0; i < cfg.n_peers; i++)
		if (tern_net_link_up(net, cfg.peer_id[i]) != 1)
			return false;
	return true;
}

static int
parse_size_secs(const char *args, uint32_t *size, double *secs)
{
	unsigned long s;
	double t;

	if (sscanf(args, "%lu %lf", &s, &t) != 2 || s < FAB_SIZE_MIN || s > FAB_SIZE_MAX ||
	    !(t > 0 && t < 3600))
		return -EINVAL;
	*size = (uint32_t)s;
	*secs = t;
	return 0;
}

static void
serve(void)
{
	char line[FAB_LINE_MAX];
	bool raw = cfg.drv == DRV_RAW || cfg.drv == DRV_RAW_DATA;

	for (;;) {
		uint32_t size;
		double secs;

		if (ctl_get(line, sizeof(line), -1) != 1)
			return;
		if (strcmp(line, "quit") == 0) {
			return;
		} else if (strcmp(line, "stop") == 0) {
			continue; /* a stop that crossed the end of a loop */
		} else if (strcmp(line, "rtt-server") == 0) {
			if (raw)
				raw_rtt_server();
			else
				tern_rtt_server();
		} else if (strcmp(line, "rx") == 0) {
			if (raw)
				raw_rx();
			else
				tern_rx();
		} else if (strcmp(line, "idle") == 0 && !raw) {
			tern_idle();
		} else if (strncmp(line, "rtt-client ", 11) == 0 &&
			   parse_size_secs(line + 11, &size, &secs) == 0) {
			if (raw)
				raw_rtt_client(size, secs);
			else
				tern_rtt_client(size, secs);
		} else if (strncmp(line, "tx ", 3) == 0 &&
			   parse_size_secs(line + 3, &size, &secs) == 0) {
			if (raw)
				raw_tx(size, secs);
			else
				tern_tx(size, secs);
		} else {
			say("error unknown command '%s'", line);
		}
	}
}

int
fab_peer_main(int argc, char **argv)
{
	char **eal_argv;
	int sep, eal_argc = 0, i, rc = 0;
	uint64_t deadline;

	for (sep = 2; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (sep == argc || parse_peer_args(argc - sep - 1, argv + sep + 1) != 0) {
		fprintf(stderr, "tern-bench-fabric --peer: bad arguments (it is run by the "
				"benchmark itself, see --help)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fcntl(cfg.ctl, F_SETFL, fcntl(cfg.ctl, F_GETFL) | O_NONBLOCK);
	if (cfg.pin >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cfg.pin, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			say("error sched_setaffinity(%d): %s", cfg.pin, strerror(errno));
			return 1;
		}
	}
	if (cfg.drv != DRV_TERN_UDP) {
		eal_argv = calloc((size_t)sep, sizeof(*eal_argv));
		if (eal_argv == NULL)
			return 1;
		eal_argv[eal_argc++] = argv[0];
		for (i = 2; i < sep; i++)
			eal_argv[eal_argc++] = argv[i];
		if (rte_eal_init(eal_argc, eal_argv) < 0) {
			say("error rte_eal_init: %s", rte_strerror(rte_errno));
			return 1;
		}
		if (rte_eth_dev_count_avail() == 0) {
			say("skip no ethdev port after rte_eal_init (the vdev did not probe)");
			rte_eal_cleanup();
			return FAB_EXIT_SKIP;
		}
	}
	rc = cfg.drv == DRV_RAW || cfg.drv == DRV_RAW_DATA ? raw_open() : tern_open();
	if (rc != 0)
		goto out;
	say("opened");
	deadline = fab_now_ns() + LINK_WAIT_NS;
	while (!links_up()) {
		if (fab_now_ns() > deadline) {
			say("error the link did not come up in %llu s",
			    LINK_WAIT_NS / 1000000000ULL);
			rc = 1;
			goto out;
		}
		if (ctl_stop()) {
			rc = 1;
			goto out;
		}
		usleep(1000);
	}
	say("ready");
	serve();
out:
	if (cfg.drv == DRV_RAW || cfg.drv == DRV_RAW_DATA) {
		if (raw_pool != NULL) {
			rte_eth_dev_stop(raw_port);
			rte_eth_dev_close(raw_port);
		}
	} else {
		tern_net_close(net);
	}
	if (cfg.drv != DRV_TERN_UDP)
		rte_eal_cleanup();
	return rc;
}
