/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The `dpdk` network driver: Tern datagrams over any DPDK ethdev (vhost/virtio-user,
 * memif, af_packet, af_xdp, net_ring, a real NIC). Open it with
 * tern_net_open("dpdk", ...); this header adds only what the generic interface
 * (tern_net.h) has no room for.
 *
 * The application initialises the EAL (its argv up to `--`, as every DPDK application
 * does) as a primary process, with or without hugepages (`--no-huge -m 128` works), and
 * with its own `--file-prefix`. The driver then owns the ports its peers name:
 *
 * - Topology: each peer's tern_net_peer.port is the ethdev port that reaches it. One port
 *   for every peer is a NIC behind a switch; one port per peer is a mesh of
 *   point-to-point links (vhost/virtio-user, memif, veth pairs), which is how a local
 *   group is wired. The ports are the distinct ports of the peer table (opts.self.port
 *   when the table is empty). Rx of queue q polls queue q of every port, in turn.
 * - Queues: opts.queues rx/tx queue pairs per port, one per datapath lcore; queue q is
 *   used by one thread only. Each queue has its own mbuf pool, sized at open.
 * - Frames: each datagram is wrapped in Ethernet + IPv4 + UDP (tern_wire_l2_build) from
 *   opts.self (its MAC, or the port's MAC when opts.self.mac is all zero) to the peer (an
 *   all-zero peer MAC sends to broadcast, fine on a point-to-point link); received frames
 *   are checked with tern_wire_l2_parse and matched to a peer by source IPv4 address and
 *   UDP port (a peer behind the port the frame came in on first). The Tern header is
 *   never parsed here. By default an mbuf holds a whole frame of opts.mtu; with a smaller
 *   `mbuf_size`, larger frames go out as multi-segment mbufs (where the port can send
 *   them; else they are dropped and counted) and received chains are linearised.
 * - Links: a datagram for a peer whose port link is down is dropped and counted
 *   (tx_dropped), never retried; tern_net_link_up() reports the link. Link state comes
 *   from link-state-change events where the PMD has them, is re-read every `link_ms`,
 *   and at once when a frame comes in on a port thought down.
 * - Idle (opts.poll_mode): rx_burst counts busy and idle poll passes. In
 *   TERN_NET_POLL_ADAPTIVE mode tern_net_wait() may be called after every pass that found
 *   no work: it returns at once for the first `spin` idle passes, then calls
 *   sched_yield() until the idle spell has lasted `yield_us`, and only then blocks, for
 *   at most its timeout: on the rx interrupts of the queue where every port supports
 *   them (vhost, virtio-user), else for at most `sleep_us`; the caller's wake fds
 *   (opts.wake_fds, edge-triggered in the same epoll set) end the block too. In
 *   TERN_NET_POLL_BUSY mode it never blocks.
 * - Ownership: the instance configures, starts, stops and closes its ports (tern_net_close
 *   closes them, and so does a failed open for those it had configured); two instances
 *   never share a port.
 *
 * PMD notes (DPDK 22.11, measured; see FABRIC.md):
 * - vhost/virtio-user: start the vhost side first (a virtio-user client finds no socket
 *   and its port does not probe), or flip roles (`client=1` on vhost, `server=1` on
 *   virtio-user) so either may start first. Both have rx interrupts. With hugepages, use
 *   `--single-file-segments` (vhost-user takes at most 8 memory regions). On a graceful
 *   shutdown close the virtio-user side first: closing both ends at the same moment can
 *   make virtio-user panic in the EAL interrupt thread (an fd closed under its epoll set).
 *   A killed peer is survived on either side and reported as link down.
 * - memif: give `bsize=` at least a whole frame (L2 headers + mtu, e.g. 9216): 22.11's Tx
 *   leaves a stale NEXT flag on a packet's first buffer, so packets spanning several
 *   buffers corrupt the ring (fixed upstream in 26.03). No rx interrupts: idle waits
 *   sleep. Closing a memif port hands work to the EAL interrupt thread, which crashes if
 *   rte_eal_cleanup() follows at once; close waits 100 ms for it.
 * - af_packet: it copies each frame into one mbuf and refuses rx queues whose mbufs are
 *   smaller than `framesz` - 32: pair e.g. `framesz=10240,blocksz=20480` with
 *   `mbuf_size=10368`, and set the interface MTU for jumbo frames (the PMD caps the
 *   ethdev MTU at 1500).
 *
 * Driver arguments (opts.driver_args, "key=value,..."; all optional):
 * - `mbufs=N`      mbufs per queue pool (default: enough to fill every rx and tx ring of
 *                  the queue, plus bursts and cache)
 * - `mbuf_size=N`  mbuf data room in bytes, headroom included (default: a whole frame)
 * - `rxd=N,txd=N`  rx and tx ring sizes (default 512 each, adjusted to the PMD)
 * - `rxq_intr=0|1` use rx interrupts where the PMD has them (default 1)
 * - `spin=N`       idle passes before yielding (default 256)
 * - `yield_us=N`   idle time before blocking (default 1000)
 * - `sleep_us=N`   longest sleep where there is no rx interrupt (default 100)
 * - `link_ms=N`    link state refresh period (default 100)
 * - `promisc=0|1`  put ports in promiscuous mode (default 0)
 * - `start_ms=N`   how long to retry a port start that fails, e.g. a memif client
 *                  whose server is not up yet (default 5000)
 * - `stream_ns=N`  copy tx datagrams of 512 bytes or more into their mbufs with
 *                  streaming (non-temporal) stores while plain copies cost more than N
 *                  ns a KiB, as when the peer process's core is far (dpdk.c has the
 *                  figures); 0 never streams (default 200)
 */
#ifndef TERN_NET_DPDK_H
#define TERN_NET_DPDK_H

#include <stdint.h>

#include <tern_net.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Counters of queue @p queue of the dpdk driver instance @p n (tern_net_stats_get() gives
 * the sum over queues, plus the ports' own drop counters in rx_dropped).
 * @return 0; -EINVAL when @p n is not a dpdk driver instance or has no queue @p queue.
 */
int tern_net_dpdk_queue_stats(struct tern_net *n, uint16_t queue, struct tern_net_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* TERN_NET_DPDK_H */
