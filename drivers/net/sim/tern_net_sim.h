/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The simulated network driver: a deterministic in-memory network for the nodes of one
 * process (DESIGN.md 1 and 6, STYLE.md 12), with seeded loss, duplication, reordering,
 * delay and partitions, all controlled by the test, and virtual time supplied by it.
 *
 * A *world* is one network. Each node attaches to it with the same struct tern_net_opts
 * the other drivers take and gets a normal struct tern_net whose ops are the sim's, so
 * protocol code runs unchanged: tern_net_tx_burst(), tern_net_rx_burst(),
 * tern_net_rx_release(), tern_net_link_up(), tern_net_wait(), tern_net_stats_get() and
 * tern_net_close() (which detaches the node).
 *
 * Time. The world has a virtual clock, moved only by tern_net_sim_advance(). A datagram
 * sent at virtual time t on link (from, to) is due at t + latency + jitter, where jitter is
 * drawn uniformly from [0, jitter_ns) per copy; it becomes receivable when an advance
 * reaches its due time (or at once, when it is due at the send time). Datagrams become
 * receivable in (due time, send order) order, so a link without jitter is FIFO and jitter
 * wider than the spacing of sends reorders. tern_net_sim_next_due() gives the next due
 * time for step_until loops. tern_net_wait() never blocks: it returns 0 when the node has
 * something receivable, else -ETIMEDOUT at once (only the caller moves time), counting
 * in `waits` each call with a nonzero timeout that found nothing.
 *
 * Faults. Per link (directional, from -> to) or for all links at once: loss probability,
 * duplication probability (one extra copy with its own jitter), base latency and jitter.
 * Partitions cut links symmetrically (tern_net_sim_partition()) or one way
 * (tern_net_sim_partition_oneway()); a datagram is dropped when its link is cut when it is
 * sent or when it falls due. tern_net_sim_kill() crashes a node: everything in flight to
 * or from it and everything receivable by it is dropped, and while it is dead it neither
 * sends nor receives; tern_net_sim_revive() brings it back, empty. Datagrams a node holds
 * (received, not released) stay valid across kill and revive until released.
 *
 * Determinism. The world draws every random choice from one PRNG (lib/core tern_prng.h)
 * seeded at create, in a fixed order (per datagram sent: loss, then duplication, then the
 * jitter of each copy; a draw is skipped when its probability or width is 0). The same
 * seed, the same settings and the same calls give the same deliveries, byte for byte and
 * in the same order. Nothing here reads a clock, sleeps, locks or touches a descriptor.
 *
 * Memory. Everything is allocated at create: a fixed pool of datagram slots, each of the
 * world's mtu, shared by all links; a datagram in flight, receivable or held by a
 * receiver takes one slot. When the pool is empty a send (or its duplicate) is dropped and
 * counted (link stats `full`, sender's tx_dropped). Attach, send, advance and receive never
 * allocate.
 *
 * Addressing. A node sends only to the node ids in its own peer table (others count as
 * tx_dropped: no route) and accepts only datagrams from node ids in it (others count as
 * the receiver's rx_dropped), as the udp and dpdk drivers do. Addresses, MACs and ports in
 * the table are ignored. A datagram longer than the receiver's mtu is dropped at the
 * receiver (rx_dropped), one longer than the sender's mtu at the sender (tx_dropped).
 *
 * Opening by name. The sim also registers as driver "sim": tern_net_open("sim", o, &n)
 * attaches o->self to the world named by the driver argument "world=ID"
 * (tern_net_sim_world_id()); without it, to the only live world. It fails with -EINVAL
 * (and a diagnostic) when there is no such world, or no argument and several worlds.
 *
 * Nodes. A node id becomes *known* to the world when it first attaches, and stays known
 * (with its link settings, partitions and counters) when it closes, so a node can close
 * and attach again (a restart) without healing what the test set up. Controls name known
 * node ids; TERN_NET_SIM_ALL stands for every node known at the time of the call.
 *
 * Threads: a world and all its nodes are used by one thread.
 */
#ifndef TERN_NET_SIM_H
#define TERN_NET_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "tern_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Wildcard node id: every known node (in link settings, partitions and stats). */
#define TERN_NET_SIM_ALL 0xffffU

struct tern_net_sim_world;

/** Behaviour of one directional link. */
struct tern_net_sim_link {
	uint64_t latency_ns; /**< base one-way delay */
	uint64_t jitter_ns;  /**< extra delay, uniform in [0, jitter_ns), per copy */
	double loss;	     /**< probability (0..1) that a datagram is lost */
	double dup;	     /**< probability (0..1) that a datagram arrives twice */
};

struct tern_net_sim_opts {
	size_t opts_size;
	uint64_t seed;		       /**< the world's one PRNG (default 1) */
	struct tern_net_sim_link link; /**< every link's initial behaviour (default: 10 us
					    latency, no jitter, no loss, no duplication) */
	unsigned int slots;	       /**< datagrams in flight or held at most (default 4096) */
	unsigned int mtu;	       /**< largest datagram, the size of a slot (default
					    TERN_NET_MTU_MAX) */
	unsigned int nodes_max;	       /**< distinct node ids the world knows at most
					    (default 16, at most TERN_NET_PEERS_MAX + 1) */
	uint64_t start_ns;	       /**< virtual time at create (default 0) */
};

/** Counters of one directional link (or the sum over links, with wildcards). */
struct tern_net_sim_link_stats {
	uint64_t sent;	     /**< datagrams a sender handed to this link */
	uint64_t delivered;  /**< copies made receivable at the destination */
	uint64_t lost;	     /**< dropped by the loss probability */
	uint64_t duplicated; /**< extra copies made by the duplication probability */
	uint64_t reordered;  /**< copies made receivable after a later-sent one on the link */
	uint64_t cut;	     /**< dropped by a partition (at send or when due) */
	uint64_t dead;	     /**< dropped because an end was killed, closed or not attached */
	uint64_t full;	     /**< copies dropped because the slot pool was empty */
	uint64_t rejected;   /**< dropped by the receiver (unknown sender, over its mtu) */
};

/** Counters and state of the whole world. */
struct tern_net_sim_world_stats {
	uint64_t now_ns;	     /**< virtual time */
	unsigned int slots;	     /**< pool size */
	unsigned int in_flight;	     /**< copies not yet due */
	unsigned int receivable;     /**< copies due, not yet received */
	unsigned int held;	     /**< copies received, not yet released */
	unsigned int slots_min_free; /**< fewest free slots seen (high-water mark) */
	uint64_t full;		     /**< copies dropped because the pool was empty */
	unsigned int nodes;	     /**< nodes attached now */
	unsigned int known;	     /**< node ids known */
};

/** Fill @p o with the defaults. */
void tern_net_sim_opts_init(struct tern_net_sim_opts *o, size_t size);

/**
 * Create an empty world.
 * @return 0; -EINVAL (NULL argument, probability outside 0..1, slots, mtu or nodes_max 0
 *   or too large); -ENOMEM.
 */
int tern_net_sim_world_create(const struct tern_net_sim_opts *o, struct tern_net_sim_world **out);

/**
 * Destroy @p w and free everything, including the nodes still attached: their handles
 * (and datagrams they hold) become invalid, so close them first. NULL is fine.
 */
void tern_net_sim_world_destroy(struct tern_net_sim_world *w);

/** The id that names @p w in the "world=ID" driver argument of tern_net_open("sim"). */
unsigned int tern_net_sim_world_id(const struct tern_net_sim_world *w);

/**
 * Attach node @p o->self.node_id to @p w. @p o is read as by tern_net_open() (queues must
 * be 1 (0 means 1); an mtu of 0 or above the world's is the world's; the peer table is
 * copied). The node starts alive. A node id attaching for the first time becomes known,
 * its links taking the world's default behaviour; a known one keeps its links as they
 * were. Close the returned handle with tern_net_close(): that drops what is in flight to
 * or from the node and what it could receive (as tern_net_sim_kill() does) and frees the
 * datagrams it still holds; the same node id may attach again later (a restart).
 * @return 0; -EINVAL (NULL argument, bad options, node id TERN_NET_SIM_ALL, a peer that
 *   is the node itself or listed twice, over TERN_NET_PEERS_MAX peers); -EEXIST (node id
 *   attached already); -ENOSPC (nodes_max node ids known already).
 */
int tern_net_sim_attach(struct tern_net_sim_world *w, const struct tern_net_opts *o,
			struct tern_net **out);

/**
 * Set the behaviour of link @p from -> @p to; either may be TERN_NET_SIM_ALL. With both
 * TERN_NET_SIM_ALL it also becomes the default for links of node ids that become known
 * later. Applies to datagrams sent from now on.
 * @return 0; -EINVAL (probability outside 0..1, NULL @p l); -ENOENT (node id not known).
 */
int tern_net_sim_link_set(struct tern_net_sim_world *w, uint16_t from, uint16_t to,
			  const struct tern_net_sim_link *l);

/**
 * Read the behaviour of link @p from -> @p to (two known node ids; with TERN_NET_SIM_ALL
 * for both, the default). @return 0; -ENOENT; -EINVAL (one wildcard, or @p from == @p to).
 */
int tern_net_sim_link_get(const struct tern_net_sim_world *w, uint16_t from, uint16_t to,
			  struct tern_net_sim_link *l);

/** Shorthand: set the loss probability of @p from -> @p to (wildcards allowed). */
int tern_net_sim_set_loss(struct tern_net_sim_world *w, uint16_t from, uint16_t to, double loss);
/** Shorthand: set the duplication probability of @p from -> @p to. */
int tern_net_sim_set_dup(struct tern_net_sim_world *w, uint16_t from, uint16_t to, double dup);
/** Shorthand: set latency and jitter (reordering) of @p from -> @p to. */
int tern_net_sim_set_delay(struct tern_net_sim_world *w, uint16_t from, uint16_t to,
			   uint64_t latency_ns, uint64_t jitter_ns);

/**
 * Cut the links between @p a and @p b in both directions. TERN_NET_SIM_ALL for @p b
 * isolates @p a from every other known node; both TERN_NET_SIM_ALL cut every link.
 * Nodes that become known later are not cut. @return 0; -ENOENT (node id not known).
 */
int tern_net_sim_partition(struct tern_net_sim_world *w, uint16_t a, uint16_t b);

/** Cut link @p from -> @p to only (wildcards allowed). @return 0; -ENOENT. */
int tern_net_sim_partition_oneway(struct tern_net_sim_world *w, uint16_t from, uint16_t to);

/**
 * Heal the links between @p a and @p b in both directions (wildcards allowed: both
 * TERN_NET_SIM_ALL heal everything). @return 0; -ENOENT.
 */
int tern_net_sim_heal(struct tern_net_sim_world *w, uint16_t a, uint16_t b);

/**
 * Crash node @p node: drop every datagram in flight to or from it and every one it could
 * receive (counted as `dead`); until revived, what it sends and what is sent to it is
 * dropped. Killing a dead node does nothing. @return 0; -ENOENT.
 */
int tern_net_sim_kill(struct tern_net_sim_world *w, uint16_t node);

/** Bring a killed node back, with nothing to receive. @return 0; -ENOENT. */
int tern_net_sim_revive(struct tern_net_sim_world *w, uint16_t node);

/** 1 when @p node is attached and alive, 0 when killed or closed, -ENOENT when unknown. */
int tern_net_sim_alive(const struct tern_net_sim_world *w, uint16_t node);

/**
 * Move virtual time to @p now_ns and make every datagram due by then receivable (or drop
 * it, when its link is cut or its receiver rejects it).
 * @return how many copies became receivable; -EINVAL when @p now_ns is before the world's
 *   time.
 */
int tern_net_sim_advance(struct tern_net_sim_world *w, uint64_t now_ns);

/** The world's virtual time. */
uint64_t tern_net_sim_now(const struct tern_net_sim_world *w);

/** Due time of the earliest datagram in flight; TERN_TIME_NEVER when none is. */
uint64_t tern_net_sim_next_due(const struct tern_net_sim_world *w);

/** Datagrams receivable by @p node now; -ENOENT when the node id is not known. */
int tern_net_sim_receivable(const struct tern_net_sim_world *w, uint16_t node);

/**
 * Counters of link @p from -> @p to; TERN_NET_SIM_ALL sums over every known sender or
 * receiver. Counters of a link survive its nodes' close and re-attach.
 * @return 0; -ENOENT; -EINVAL (@p from == @p to, not a wildcard).
 */
int tern_net_sim_link_stats_get(const struct tern_net_sim_world *w, uint16_t from, uint16_t to,
				struct tern_net_sim_link_stats *st);

/** Counters of the whole world. */
void tern_net_sim_world_stats_get(const struct tern_net_sim_world *w,
				  struct tern_net_sim_world_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* TERN_NET_SIM_H */
