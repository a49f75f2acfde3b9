/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/fabric: what the orchestrator (fabric_bench.c) and the peer processes
 * (fabric_peer.c) of tern-bench-fabric share.
 *
 * The orchestrator talks to each peer over a unix stream socket (the peer's --ctl-fd),
 * one text line per message:
 *
 *   orchestrator -> peer                     peer -> orchestrator
 *   rtt-server                               go, then (after stop) result k=v...
 *   rtt-client SIZE SECONDS                  result n= lost= bad= p50_ns= p99_ns= p999_ns=
 *   rx                                       go, then (after stop) result ok= bad= ...
 *   tx SIZE SECONDS                          result sent= ns=
 *   idle                                     go, then (after stop) result waits=
 *   stop                                     (ends rtt-server, rx and idle)
 *   quit                                     (the peer closes its port and exits 0)
 *
 * At start a peer says `opened` once its port is open, then `ready` once the link to
 * every peer is up; `error TEXT` or `skip TEXT` (the fabric cannot be set up here) end
 * it. SIZE is the Tern datagram (40-byte header + payload) in bytes.
 */
#ifndef TERN_BENCH_FABRIC_H
#define TERN_BENCH_FABRIC_H

#include <stdint.h>
#include <time.h>

#define FAB_GROUP     0x7e57fab1U
#define FAB_TERM      1
#define FAB_SIZE_MIN  48   /* header + the 8-byte sequence number */
#define FAB_SIZE_MAX  8192 /* largest datagram measured */
#define FAB_MTU	      9000 /* datagram MTU given to the drivers */
#define FAB_DPDK_UDP  7410 /* UDP port in the frames of the dpdk driver */
#define FAB_LINE_MAX  512
#define FAB_EXIT_SKIP 77
/* A ping with no pong after this long is counted lost and the next one is sent. */
#define FAB_LOSS_TIMEOUT_NS (20ULL * 1000 * 1000)
/* How long a waiting peer blocks at most in tern_net_wait() before it looks at ctl. */
#define FAB_WAIT_NS (10ULL * 1000 * 1000)
/* The same while idle (the idle test): fewer wake-ups. */
#define FAB_IDLE_WAIT_NS (100ULL * 1000 * 1000)

static inline uint64_t
fab_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/** The peer mode: `tern-bench-fabric --peer [EAL args] -- PEER ARGS`; returns the exit code. */
int fab_peer_main(int argc, char **argv);

#endif /* TERN_BENCH_FABRIC_H */
