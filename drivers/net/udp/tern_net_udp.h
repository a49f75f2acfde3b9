/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The kernel UDP network driver, opened as tern_net_open("udp", ...): the development
 * fallback and the baseline every benchmark compares the dpdk driver against (DESIGN.md 1).
 * It has no calls of its own; this header documents its behaviour and arguments.
 *
 * One nonblocking socket bound to o->self.ipv4 (INADDR_ANY allowed) and o->self.udp_port
 * (required) carries the same datagrams as the dpdk driver: a Tern header and its body,
 * the kernel building the IPv4/UDP headers. One queue (o->queues must be 1). Receive and
 * send are batched with recvmmsg/sendmmsg.
 *
 * - rx: a peer is identified by the source address and port of what it sends; a datagram
 *   from anywhere else, or longer than o->mtu, is dropped and counted (rx_dropped).
 *   Receive buffers (rx_bufs x mtu bytes) are allocated at open and handed out by
 *   tern_net_rx_burst() until tern_net_rx_release(); while every one is held, rx_burst
 *   returns 0 and what arrives waits in the socket.
 * - tx: a datagram to a node id not in the peer table, or longer than o->mtu, is taken and
 *   counted as tx_dropped; when the socket buffer is full, tern_net_tx_burst() returns how
 *   many it took (tx_full counts those calls).
 * - tern_net_link_up(): UDP has no link, so a peer is up until the kernel reports that a
 *   datagram to it was refused or unreachable (ICMP, read through IP_RECVERR), and up again
 *   as soon as a datagram from it arrives. Datagrams to a peer that is down are still sent.
 * - tern_net_wait(): epoll on the socket and the caller's wake fds (opts.wake_fds,
 *   edge-triggered), with a nanosecond timeout where the kernel has
 *   epoll_pwait2 (else rounded up to a millisecond); TERN_TIME_NEVER waits forever.
 *
 * Driver arguments (o->driver_args, "key=value,...", numbers in C notation):
 * - rcvbuf=BYTES, sndbuf=BYTES: socket buffers (default TERN_NET_UDP_SOCKBUF_DEFAULT; 0
 *   keeps the kernel's); with CAP_NET_ADMIN the rmem_max/wmem_max caps are bypassed,
 *   otherwise a capped size is reported in a diagnostic.
 * - busy_poll=US: SO_BUSY_POLL (default off); a refusal is reported, not an error.
 * - rx_bufs=N: receive buffers, 1 to TERN_NET_UDP_RX_BUFS_MAX (default TERN_NET_BURST).
 * An unknown key or a bad value fails open with -EINVAL and a diagnostic.
 */
#ifndef TERN_NET_UDP_H
#define TERN_NET_UDP_H

#include "tern_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default socket receive and send buffer, in bytes. */
#define TERN_NET_UDP_SOCKBUF_DEFAULT (4 << 20)
/** Most receive buffers an instance may have. */
#define TERN_NET_UDP_RX_BUFS_MAX 4096

#ifdef __cplusplus
}
#endif

#endif /* TERN_NET_UDP_H */
