/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Network driver interface: one small ops table per driver (DESIGN.md 1 and 3).
 *
 * A driver moves *datagrams* between the nodes of one group: each datagram is a Tern
 * header and its payload (lib/wire encodes and decodes them), addressed by node id. The
 * driver owns everything below: the `dpdk` driver wraps each datagram in Ethernet + IPv4
 * + UDP (built and checked with lib/wire's L2 helpers, so captures read as UDP), the `udp`
 * driver hands it to a kernel socket, the `sim` driver to an in-memory network. Drivers
 * never parse the Tern header.
 *
 * Peers come in a table at open: node id -> MAC, IPv4 address, UDP port, and for the
 * dpdk driver the ethdev port that reaches it (one port for all peers through a switch,
 * or one port per peer in a mesh of point-to-point links).
 *
 * Data path: tern_net_rx_burst() returns up to n received datagrams, pointing into
 * driver buffers that stay valid until tern_net_rx_release(); tern_net_tx_burst()
 * copies up to n datagrams out and returns how many it took (the rest: retry later).
 * No call allocates or takes a lock. A driver instance is used by one thread (the
 * datapath lcore of its queue).
 *
 * Idle: tern_net_wait() blocks until something may have arrived, one of the caller's
 * wake fds fired (tern_net_opts.wake_fds: storage completions, queued commits) or the
 * timeout passed (rx interrupt, epoll, or a short sleep where nothing better exists); the
 * poll loop calls it only after it found no work for a while (see tern_net_poll_mode).
 */
#ifndef TERN_NET_H
#define TERN_NET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest datagram (Tern header + payload) a driver must carry. */
#define TERN_NET_MTU_MAX 9000
/** Peers in one table at most. */
#define TERN_NET_PEERS_MAX 64
/** Burst size of the data path. */
#define TERN_NET_BURST 32

/** One peer (or this node itself, in opts.self). */
struct tern_net_peer {
	uint16_t node_id;
	uint8_t mac[6];
	uint32_t ipv4;      /**< network byte order */
	uint16_t udp_port;  /**< host byte order */
	uint16_t port;      /**< dpdk: ethdev port id that reaches this peer */
};

/** One datagram crossing the API. */
struct tern_net_dgram {
	void *data;        /**< Tern header + payload */
	uint32_t len;
	uint16_t peer;     /**< rx: node id it came from (by address); tx: node id to send to */
	uint16_t queue;    /**< rx: queue it arrived on */
	void *priv;        /**< driver's (rx: the buffer to release) */
};

/** Adaptive polling: how the poll loop of a driver's lcore behaves when idle. */
enum tern_net_poll_mode {
	TERN_NET_POLL_BUSY,     /**< spin forever (dedicated cores) */
	TERN_NET_POLL_ADAPTIVE, /**< spin, then sched_yield, then block in tern_net_wait */
};

struct tern_net_opts {
	size_t opts_size;
	const char *driver_args;           /**< driver-specific "key=value,..." */
	struct tern_net_peer self;
	const struct tern_net_peer *peers; /**< the others */
	unsigned int n_peers;
	unsigned int queues;               /**< rx/tx queue pairs (dpdk), default 1 */
	unsigned int mtu;                  /**< largest datagram, default 9000 */
	enum tern_net_poll_mode poll_mode;
	/**
	 * Other events that end tern_net_wait() (adaptive mode): file descriptors (an
	 * eventfd the application's threads write when they hand the datapath work, the
	 * storage driver's completion eventfd) watched edge-triggered, so the caller need
	 * not read them. Not owned. The sim driver, which never blocks, ignores them.
	 */
	const int *wake_fds;
	unsigned int n_wake_fds; /**< at most TERN_NET_WAKE_FDS_MAX */
};

/** Most wake file descriptors a driver instance watches. */
#define TERN_NET_WAKE_FDS_MAX 4

/** Counters of one driver instance (per queue where the driver has queues). */
struct tern_net_stats {
	uint64_t rx_dgrams, rx_bytes;
	uint64_t tx_dgrams, tx_bytes;
	uint64_t rx_dropped;   /**< not for us, truncated, bad L2/L3/L4, unknown peer */
	uint64_t tx_dropped;   /**< no buffer, no route, link down */
	uint64_t tx_full;      /**< tx_burst took fewer than asked */
	uint64_t waits;        /**< tern_net_wait calls that blocked */
	uint64_t busy_cycles;  /**< poll passes that found work */
	uint64_t idle_cycles;  /**< poll passes that found none */
};

struct tern_net;

struct tern_net_ops {
	const char *name;
	int (*open)(const struct tern_net_opts *o, struct tern_net **out);
	unsigned int (*rx_burst)(struct tern_net *n, uint16_t queue, struct tern_net_dgram *d,
				 unsigned int max);
	void (*rx_release)(struct tern_net *n, struct tern_net_dgram *d, unsigned int cnt);
	unsigned int (*tx_burst)(struct tern_net *n, uint16_t queue,
				 const struct tern_net_dgram *d, unsigned int cnt);
	int (*wait)(struct tern_net *n, uint16_t queue, uint64_t timeout_ns);
	int (*link_up)(struct tern_net *n, uint16_t peer);
	void (*stats_get)(struct tern_net *n, struct tern_net_stats *st);
	void (*close)(struct tern_net *n);
};

/** Base of every driver instance (drivers embed it first). */
struct tern_net {
	const struct tern_net_ops *ops;
};

/** Register a driver (from a constructor, through TERN_NET_DRIVER_REGISTER). */
void tern_net_driver_register(const struct tern_net_ops *ops);

#define TERN_NET_DRIVER_REGISTER(nm, ops)                                                  \
	__attribute__((constructor)) static void tern_net_register_##nm(void)              \
	{                                                                                  \
		tern_net_driver_register(&(ops));                                          \
	}

/** Fill @p o with defaults. */
void tern_net_opts_init(struct tern_net_opts *o, size_t size);

/** One driver argument (tern_net_args_parse): "key=N", N an unsigned long <= max. */
struct tern_net_arg {
	const char *key;
	size_t off;	   /**< where the value goes: an unsigned long at this offset */
	unsigned long max;
	const char *unit; /**< what N is, for diagnostics ("BYTES", "US", "ID") */
};

/** Longest diagnostic tern_net_args_parse() writes, terminator included. */
#define TERN_NET_ARGS_WHY_MAX 512

/**
 * Parse driver arguments @p s ("key=N,key=N"; NULL or "" is none) by the @p n entries of
 * @p defs into @p dst; a value not given keeps what @p dst holds, and nothing is stored
 * unless every argument is good. N is decimal, 0x hex or
 * 0 octal, within 0..max. Every driver parses tern_net_opts.driver_args with it.
 * @return 0; -EINVAL with, in @p why (TERN_NET_ARGS_WHY_MAX bytes), which argument is
 *   wrong and why, for the driver's own diagnostic.
 */
int tern_net_args_parse(const char *s, const struct tern_net_arg *defs, unsigned int n, void *dst,
			char *why);

/**
 * Parse a peer's MAC address for tern_net_peer.mac: six two-digit hex bytes separated by
 * ':' ("02:00:00:00:00:01"), or "-" for none (all zero: the driver's own default).
 * @return 0; -EINVAL, with @p mac zeroed, for anything else.
 */
int tern_net_mac_parse(const char *s, uint8_t mac[6]);

/**
 * Open driver @p name ("dpdk", "udp", "sim") with @p o.
 * @return 0; -ENOENT (no such driver, or not built); -EINVAL; driver errors.
 */
int tern_net_open(const char *name, const struct tern_net_opts *o, struct tern_net **out);

static inline unsigned int
tern_net_rx_burst(struct tern_net *n, uint16_t queue, struct tern_net_dgram *d, unsigned int max)
{
	return n->ops->rx_burst(n, queue, d, max);
}

static inline void
tern_net_rx_release(struct tern_net *n, struct tern_net_dgram *d, unsigned int cnt)
{
	n->ops->rx_release(n, d, cnt);
}

static inline unsigned int
tern_net_tx_burst(struct tern_net *n, uint16_t queue, const struct tern_net_dgram *d,
		  unsigned int cnt)
{
	return n->ops->tx_burst(n, queue, d, cnt);
}

/** Block until rx may have work or @p timeout_ns passed. @return 0, -ETIMEDOUT or -errno. */
static inline int
tern_net_wait(struct tern_net *n, uint16_t queue, uint64_t timeout_ns)
{
	return n->ops->wait(n, queue, timeout_ns);
}

/** 1 when the link to @p peer is up, 0 when down, -ENOENT for an unknown peer. */
static inline int
tern_net_link_up(struct tern_net *n, uint16_t peer)
{
	return n->ops->link_up(n, peer);
}

static inline void
tern_net_stats_get(struct tern_net *n, struct tern_net_stats *st)
{
	n->ops->stats_get(n, st);
}

/** Close; NULL is fine. */
static inline void
tern_net_close(struct tern_net *n)
{
	if (n != NULL)
		n->ops->close(n);
}

#ifdef __cplusplus
}
#endif

#endif /* TERN_NET_H */
