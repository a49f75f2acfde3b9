/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel UDP network driver (tern_net_udp.h documents its behaviour and arguments).
 *
 * Link state comes from IP_RECVERR: an ICMP error for an unconnected socket is queued on
 * the socket's error queue with the original destination (so it names the peer), and it
 * also fails the next send or receive call once (sk_err). Such a failure is therefore
 * usually about an earlier datagram: we read the error queue, mark the peers it names
 * down, and retry the call; an unreachable error with no report behind it is the current
 * datagram's own. A receive from a peer marks it up again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/errqueue.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_heap.h>
#include <tern_time.h>

#include "tern_net.h"
#include "tern_net_udp.h"

TERN_DIAG_REGISTER(udp, NOTICE);

#define UDP_DIAG(lvl, fmt, ...) TERN_DIAG(lvl, udp, "%s(): " fmt, __func__, ##__VA_ARGS__)

#define UDP_ERRQ_DRAIN_MAX 64 /* error reports read per drain */
#define UDP_TX_ERR_RETRIES 4  /* asynchronous errors skipped per tx_burst, over cnt */

struct udp_peer {
	struct sockaddr_in sa;
	uint16_t node_id;
	bool down; /* the kernel reported it refused or unreachable */
};

struct udp_args {
	unsigned long rcvbuf;
	unsigned long sndbuf;
	unsigned long busy_poll;
	unsigned long rx_bufs;
};

struct udp_net {
	struct tern_net base; /* first */
	int fd;
	int epfd;
	bool no_pwait2; /* epoll_pwait2 gave ENOSYS */
	unsigned int mtu;
	unsigned int n_peers;
	unsigned int rx_hint; /* peer of the last datagram received */
	unsigned int tx_hint; /* peer of the last datagram sent */
	struct udp_peer peers[TERN_NET_PEERS_MAX];
	/* Receive buffers: nbufs x mtu bytes; a stack of the free ones. */
	uint8_t *bufs;
	unsigned int nbufs;
	uint32_t *free_idx;
	unsigned int n_free;
	uint8_t *held; /* per buffer: handed out by rx_burst */
	/* Per-call scratch for recvmmsg/sendmmsg (the instance is used by one thread). */
	struct mmsghdr rx_msgs[TERN_NET_BURST];
	struct iovec rx_iov[TERN_NET_BURST];
	struct sockaddr_in rx_from[TERN_NET_BURST];
	uint32_t rx_buf[TERN_NET_BURST];
	struct mmsghdr tx_msgs[TERN_NET_BURST];
	struct iovec tx_iov[TERN_NET_BURST];
	unsigned int tx_map[TERN_NET_BURST];  /* input index of each prepared message */
	unsigned int tx_peer[TERN_NET_BURST]; /* and its peer */
	struct tern_net_stats st;
};

static const struct tern_net_ops udp_ops;

static struct udp_net *
to_udp(struct tern_net *n)
{
	return (struct udp_net *)n;
}

static const char *
addr_str(const struct sockaddr_in *sa, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	if (inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip)) == NULL)
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, "%s:%u", ip, ntohs(sa->sin_port));
	return buf;
}

/* ---- peers ---- */

static int
peer_by_addr(struct udp_net *u, const struct sockaddr_in *sa, socklen_t len)
{
	unsigned int i, h = u->rx_hint;

	if (len != sizeof(*sa) || sa->sin_family != AF_INET)
		return -1;
	if (h < u->n_peers && u->peers[h].sa.sin_addr.s_addr == sa->sin_addr.s_addr &&
	    u->peers[h].sa.sin_port == sa->sin_port)
		return (int)h;
	for (i = 0; i < u->n_peers; i++) {
		if (u->peers[i].sa.sin_addr.s_addr == sa->sin_addr.s_addr &&
		    u->peers[i].sa.sin_port == sa->sin_port) {
			u->rx_hint = i;
			return (int)i;
		}
	}
	return -1;
}

static int
peer_by_id(struct udp_net *u, uint16_t id)
{
	unsigned int i, h = u->tx_hint;

	if (h < u->n_peers && u->peers[h].node_id == id)
		return (int)h;
	for (i = 0; i < u->n_peers; i++) {
		if (u->peers[i].node_id == id) {
			u->tx_hint = i;
			return (int)i;
		}
	}
	return -1;
}

static bool
err_is_unreachable(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN;
}

static void
peer_set_down(struct udp_net *u, unsigned int p, int err)
{
	char a[32];

	if (u->peers[p].down)
		return;
	u->peers[p].down = true;
	UDP_DIAG(NOTICE, "link to node %u (%s) down: %s", u->peers[p].node_id,
		 addr_str(&u->peers[p].sa, a, sizeof(a)), tern_strerror(-err));
}

/*
 * Read the socket's error queue (IP_RECVERR): each report carries the destination of the
 * datagram that failed, so it marks that peer down. @return reports read.
 */
static unsigned int
errqueue_drain(struct udp_net *u)
{
	unsigned int k;

	for (k = 0; k < UDP_ERRQ_DRAIN_MAX; k++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
					    sizeof(struct sockaddr_in))];
			struct cmsghdr align;
		} ctl;
		struct sockaddr_in dst;
		uint8_t payload[64];
		struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
		struct msghdr msg = {
			.msg_name = &dst,
			.msg_namelen = sizeof(dst),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		struct cmsghdr *c;
		int p;

		if (recvmsg(u->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		p = peer_by_addr(u, &dst, msg.msg_namelen);
		for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			const struct sock_extended_err *ee;

			if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR)
				continue;
			ee = (const void *)CMSG_DATA(c);
			if (p >= 0 && err_is_unreachable((int)ee->ee_errno))
				peer_set_down(u, (unsigned int)p, (int)ee->ee_errno);
		}
	}
	return k;
}

/* ---- data path ---- */

static unsigned int
udp_rx_burst(struct tern_net *n, uint16_t queue, struct tern_net_dgram *d, unsigned int max)
{
	struct udp_net *u = to_udp(n);
	unsigned int want, i, out = 0;
	int r, tries;

	want = TERN_MIN(TERN_MIN(max, (unsigned int)TERN_NET_BURST), u->n_free);
	if (queue != 0 || want == 0) {
		u->st.idle_cycles++;
		return 0;
	}
	for (i = 0; i < want; i++) {
		uint32_t b = u->free_idx[--u->n_free];

		u->rx_buf[i] = b;
		u->rx_iov[i].iov_base = u->bufs + (size_t)b * u->mtu;
		u->rx_iov[i].iov_len = u->mtu;
		u->rx_msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &u->rx_from[i],
			.msg_namelen = sizeof(u->rx_from[i]),
			.msg_iov = &u->rx_iov[i],
			.msg_iovlen = 1,
		};
		u->rx_msgs[i].msg_len = 0;
	}
	for (tries = 0;; tries++) {
		r = recvmmsg(u->fd, u->rx_msgs, want, MSG_DONTWAIT, NULL);
		if (r >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == EINTR && tries < 2)
			continue;
		/* A pending ICMP report (IP_RECVERR) fails one call: read it, then retry. */
		if (err_is_unreachable(errno) && tries < 2) {
			errqueue_drain(u);
			continue;
		}
		TERN_DIAG_RATELIMIT(1024, WARNING, udp, "recvmmsg failed: %s",
				    tern_strerror(-errno));
		break;
	}
	for (i = 0; i < (r > 0 ? (unsigned int)r : 0U); i++) {
		struct mmsghdr *m = &u->rx_msgs[i];
		uint32_t b = u->rx_buf[i];
		int p = peer_by_addr(u, &u->rx_from[i], m->msg_hdr.msg_namelen);

		if (p < 0 || (m->msg_hdr.msg_flags & MSG_TRUNC) != 0) {
			if (p < 0)
				TERN_DIAG_DP(DEBUG, udp,
					     "dropped a datagram from an unknown sender");
			u->st.rx_dropped++;
			u->free_idx[u->n_free++] = b;
			continue;
		}
		if (u->peers[p].down) {
			u->peers[p].down = false;
			UDP_DIAG(NOTICE, "link to node %u up again", u->peers[p].node_id);
		}
		u->held[b] = 1;
		d[out].data = u->bufs + (size_t)b * u->mtu;
		d[out].len = m->msg_len;
		d[out].peer = u->peers[p].node_id;
		d[out].queue = 0;
		d[out].priv = d[out].data;
		u->st.rx_dgrams++;
		u->st.rx_bytes += m->msg_len;
		out++;
	}
	/* Buffers the kernel did not fill go back. */
	for (i = r > 0 ? (unsigned int)r : 0U; i < want; i++)
		u->free_idx[u->n_free++] = u->rx_buf[i];
	if (out > 0)
		u->st.busy_cycles++;
	else
		u->st.idle_cycles++;
	return out;
}

static void
udp_rx_release(struct tern_net *n, struct tern_net_dgram *d, unsigned int cnt)
{
	struct udp_net *u = to_udp(n);
	unsigned int i;

	for (i = 0; i < cnt; i++) {
		uintptr_t off = (uintptr_t)d[i].priv - (uintptr_t)u->bufs;
		size_t b = off / u->mtu;

		if (TERN_NEVER(d[i].priv == NULL || (uintptr_t)d[i].priv < (uintptr_t)u->bufs ||
			       off % u->mtu != 0 || b >= u->nbufs || !u->held[b])) {
			UDP_DIAG(ERR, "released a buffer that rx_burst did not hand out");
			continue;
		}
		u->held[b] = 0;
		u->free_idx[u->n_free++] = (uint32_t)b;
		d[i].priv = NULL;
	}
}

static unsigned int
udp_tx_burst(struct tern_net *n, uint16_t queue, const struct tern_net_dgram *d, unsigned int cnt)
{
	struct udp_net *u = to_udp(n);
	unsigned int i = 0, retries = 0;

	if (queue != 0)
		return 0;
	while (i < cnt) {
		unsigned int m = 0, sent = 0, j;

		/* Prepare up to a burst of valid datagrams; the others are dropped (taken). */
		for (j = i; j < cnt && m < TERN_NET_BURST; j++) {
			int p = peer_by_id(u, d[j].peer);

			if (p < 0 || d[j].len > u->mtu || (d[j].data == NULL && d[j].len != 0)) {
				u->st.tx_dropped++;
				continue;
			}
			u->tx_iov[m].iov_base = d[j].data;
			u->tx_iov[m].iov_len = d[j].len;
			u->tx_msgs[m].msg_hdr = (struct msghdr){
				.msg_name = &u->peers[p].sa,
				.msg_namelen = sizeof(u->peers[p].sa),
				.msg_iov = &u->tx_iov[m],
				.msg_iovlen = 1,
			};
			u->tx_peer[m] = (unsigned int)p;
			u->tx_map[m++] = j;
		}
		while (sent < m) {
			int r = sendmmsg(u->fd, u->tx_msgs + sent, m - sent, MSG_DONTWAIT);
			int err;

			if (r > 0) {
				unsigned int k;

				for (k = sent; k < sent + (unsigned int)r; k++) {
					u->st.tx_dgrams++;
					u->st.tx_bytes += u->tx_iov[k].iov_len;
				}
				sent += (unsigned int)r;
				continue;
			}
			err = r == 0 ? EAGAIN : errno;
			if (err == EINTR)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
				/* Socket buffer full: the rest is the caller's to retry. */
				u->st.tx_full++;
				return u->tx_map[sent];
			}
			/*
			 * An ICMP report pending for an earlier datagram fails the next call
			 * (IP_RECVERR): read the reports and send this one again. An error
			 * with no report behind it is this datagram's own: drop it.
			 */
			if (err_is_unreachable(err) && retries < cnt + UDP_TX_ERR_RETRIES &&
			    errqueue_drain(u) > 0) {
				retries++;
				continue;
			}
			if (err_is_unreachable(err))
				peer_set_down(u, u->tx_peer[sent], err);
			else
				TERN_DIAG_RATELIMIT(1024, WARNING, udp, "sendmmsg failed: %s",
						    tern_strerror(-err));
			u->st.tx_dropped++;
			sent++;
		}
		i = j;
	}
	return cnt;
}

static int
udp_wait(struct tern_net *n, uint16_t queue, uint64_t timeout_ns)
{
	struct udp_net *u = to_udp(n);
	struct epoll_event ev;
	int r = -1;

	if (queue != 0)
		return -EINVAL;
	if (timeout_ns > 0)
		u->st.waits++;
	if (!u->no_pwait2) {
		struct timespec ts = {
			.tv_sec = (time_t)(timeout_ns / TERN_NS_PER_S),
			.tv_nsec = (long)(timeout_ns % TERN_NS_PER_S),
		};

		r = epoll_pwait2(u->epfd, &ev, 1, timeout_ns == TERN_TIME_NEVER ? NULL : &ts, NULL);
		if (r < 0 && errno == ENOSYS)
			u->no_pwait2 = true;
	}
	if (u->no_pwait2) {
		uint64_t ms = (timeout_ns + TERN_NS_PER_MS - 1) / TERN_NS_PER_MS;

		r = epoll_wait(u->epfd, &ev, 1,
			       timeout_ns == TERN_TIME_NEVER ? -1 : (int)TERN_MIN(ms, INT_MAX));
	}
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (ev.events & EPOLLERR)
		errqueue_drain(u);
	return 0;
}

static int
udp_link_up(struct tern_net *n, uint16_t peer)
{
	struct udp_net *u = to_udp(n);
	int p = peer_by_id(u, peer);

	if (p < 0)
		return -ENOENT;
	errqueue_drain(u);
	return !u->peers[p].down;
}

static void
udp_stats_get(struct tern_net *n, struct tern_net_stats *st)
{
	*st = to_udp(n)->st;
}

static void
udp_free(struct udp_net *u)
{
	if (u->epfd >= 0)
		close(u->epfd);
	if (u->fd >= 0)
		close(u->fd);
	tern_free(u->held);
	tern_free(u->free_idx);
	tern_free(u->bufs);
	tern_free(u);
}

static void
udp_close(struct tern_net *n)
{
	if (n != NULL)
		udp_free(to_udp(n));
}

/* ---- open ---- */

static int
args_parse(const char *s, struct udp_args *a)
{
	static const struct tern_net_arg defs[] = {
		{"rcvbuf", offsetof(struct udp_args, rcvbuf), INT_MAX / 2, "BYTES"},
		{"sndbuf", offsetof(struct udp_args, sndbuf), INT_MAX / 2, "BYTES"},
		{"busy_poll", offsetof(struct udp_args, busy_poll), INT_MAX, "US"},
		{"rx_bufs", offsetof(struct udp_args, rx_bufs), TERN_NET_UDP_RX_BUFS_MAX, "N"},
	};
	char why[TERN_NET_ARGS_WHY_MAX];

	a->rcvbuf = TERN_NET_UDP_SOCKBUF_DEFAULT;
	a->sndbuf = TERN_NET_UDP_SOCKBUF_DEFAULT;
	a->busy_poll = 0;
	a->rx_bufs = TERN_NET_BURST;
	if (tern_net_args_parse(s, defs, TERN_DIM(defs), a, why) != 0) {
		UDP_DIAG(ERR, "%s", why);
		return -EINVAL;
	}
	if (a->rx_bufs == 0) {
		UDP_DIAG(ERR, "rx_bufs must be at least 1");
		return -EINVAL;
	}
	return 0;
}

/* Set a socket buffer, past the sysctl cap when we may, and say when it was capped. */
static void
sockbuf_set(int fd, int opt, int force_opt, const char *name, unsigned long bytes)
{
	int v = (int)bytes, got = 0;
	socklen_t len = sizeof(got);

	if (bytes == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) != 0 &&
	    setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) != 0) {
		UDP_DIAG(NOTICE, "%s=%lu refused: %s", name, bytes, tern_strerror(-errno));
		return;
	}
	/* The kernel reports twice what it grants (bookkeeping overhead included). */
	if (getsockopt(fd, SOL_SOCKET, opt, &got, &len) == 0 && (unsigned long)got / 2 < bytes)
		UDP_DIAG(NOTICE, "%s=%lu capped at %d by the system limit", name, bytes, got / 2);
}

static int
socket_setup(struct udp_net *u, const struct tern_net_opts *o, const struct udp_args *a)
{
	struct sockaddr_in self = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = o->self.ipv4,
		.sin_port = htons(o->self.udp_port),
	};
	struct epoll_event ev = {.events = EPOLLIN};
	int one = 1, pmtu = IP_PMTUDISC_DONT;
	char s[32];

	u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		return -errno;
	/* ICMP errors of an unconnected socket arrive only with IP_RECVERR (link state). */
	if (setsockopt(u->fd, SOL_IP, IP_RECVERR, &one, sizeof(one)) != 0)
		UDP_DIAG(NOTICE, "IP_RECVERR: %s (link state stays up)", tern_strerror(-errno));
	/* Let the kernel fragment datagrams over the path MTU rather than refuse them. */
	if (setsockopt(u->fd, SOL_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) != 0)
		UDP_DIAG(INFO, "IP_MTU_DISCOVER: %s", tern_strerror(-errno));
	sockbuf_set(u->fd, SO_RCVBUF, SO_RCVBUFFORCE, "rcvbuf", a->rcvbuf);
	sockbuf_set(u->fd, SO_SNDBUF, SO_SNDBUFFORCE, "sndbuf", a->sndbuf);
	if (a->busy_poll > 0) {
		int us = (int)a->busy_poll;

		if (setsockopt(u->fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) != 0)
			UDP_DIAG(NOTICE, "busy_poll=%d refused: %s", us, tern_strerror(-errno));
	}
	if (bind(u->fd, (const struct sockaddr *)&self, sizeof(self)) != 0) {
		int rc = -errno;

		UDP_DIAG(ERR, "cannot bind %s: %s", addr_str(&self, s, sizeof(s)),
			 tern_strerror(rc));
		return rc;
	}
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (u->epfd < 0)
		return -errno;
	ev.data.fd = u->fd;
	if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, u->fd, &ev) != 0)
		return -errno;
	/* Other wake-ups of udp_wait(), edge-triggered: nobody has to read them. */
	for (unsigned int i = 0; i < o->n_wake_fds; i++) {
		struct epoll_event wev = {.events = EPOLLIN | EPOLLET, .data.fd = o->wake_fds[i]};

		if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, o->wake_fds[i], &wev) != 0) {
			int rc = -errno;

			UDP_DIAG(ERR, "cannot watch wake fd %d: %s", o->wake_fds[i],
				 tern_strerror(rc));
			return rc;
		}
	}
	return 0;
}

static int
opts_check(const struct tern_net_opts *o)
{
	unsigned int i, j;

	if (o->queues > 1) {
		UDP_DIAG(ERR, "the udp driver has one queue, %u asked", o->queues);
		return -EINVAL;
	}
	if (o->mtu > TERN_NET_MTU_MAX || o->self.udp_port == 0 || o->n_peers > TERN_NET_PEERS_MAX ||
	    (o->n_peers > 0 && o->peers == NULL)) {
		UDP_DIAG(ERR, "bad options: mtu %u, port %u, %u peers", o->mtu, o->self.udp_port,
			 o->n_peers);
		return -EINVAL;
	}
	for (i = 0; i < o->n_peers; i++) {
		const struct tern_net_peer *p = &o->peers[i];

		for (j = 0; j < i; j++) {
			const struct tern_net_peer *q = &o->peers[j];

			if (q->node_id == p->node_id ||
			    (q->ipv4 == p->ipv4 && q->udp_port == p->udp_port))
				break;
		}
		if (p->node_id == o->self.node_id || p->ipv4 == 0 || p->udp_port == 0 || j < i) {
			UDP_DIAG(ERR, "bad peer %u: itself, no address or port, or a duplicate",
				 p->node_id);
			return -EINVAL;
		}
	}
	return 0;
}

static int
udp_open(const struct tern_net_opts *o, struct tern_net **out)
{
	struct tern_net_opts opts;
	struct udp_args a;
	struct udp_net *u;
	unsigned int i;
	int rc;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (o == NULL || o->opts_size < sizeof(o->opts_size))
		return -EINVAL;
	tern_net_opts_init(&opts, sizeof(opts));
	memcpy(&opts, o, TERN_MIN(o->opts_size, sizeof(opts)));
	opts.opts_size = sizeof(opts);
	if (opts.mtu == 0)
		opts.mtu = TERN_NET_MTU_MAX;
	rc = opts_check(&opts);
	if (rc == 0)
		rc = args_parse(opts.driver_args, &a);
	if (rc != 0)
		return rc;
	u = tern_zmalloc(sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->base.ops = &udp_ops;
	u->fd = -1;
	u->epfd = -1;
	u->mtu = opts.mtu;
	u->n_peers = opts.n_peers;
	for (i = 0; i < opts.n_peers; i++) {
		u->peers[i].node_id = opts.peers[i].node_id;
		u->peers[i].sa.sin_family = AF_INET;
		u->peers[i].sa.sin_addr.s_addr = opts.peers[i].ipv4;
		u->peers[i].sa.sin_port = htons(opts.peers[i].udp_port);
	}
	u->nbufs = (unsigned int)a.rx_bufs;
	u->bufs = tern_malloc((size_t)u->nbufs * u->mtu);
	u->free_idx = tern_calloc(u->nbufs, sizeof(*u->free_idx));
	u->held = tern_calloc(u->nbufs, sizeof(*u->held));
	if (u->bufs == NULL || u->free_idx == NULL || u->held == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < u->nbufs; i++)
		u->free_idx[i] = u->nbufs - 1 - i;
	u->n_free = u->nbufs;
	rc = socket_setup(u, &opts, &a);
	if (rc != 0)
		goto fail;
	*out = &u->base;
	return 0;
fail:
	udp_free(u);
	return rc;
}

static const struct tern_net_ops udp_ops = {
	.name = "udp",
	.open = udp_open,
	.rx_burst = udp_rx_burst,
	.rx_release = udp_rx_release,
	.tx_burst = udp_tx_burst,
	.wait = udp_wait,
	.link_up = udp_link_up,
	.stats_get = udp_stats_get,
	.close = udp_close,
};

TERN_NET_DRIVER_REGISTER(udp, udp_ops);
