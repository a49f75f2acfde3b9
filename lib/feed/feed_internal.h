/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Helpers shared by lib/feed's files (not API).
 */
#ifndef TERN_FEED_INTERNAL_H
#define TERN_FEED_INTERNAL_H

#include <stdint.h>

#define FEED_WINDOW_DEFAULT	  4096u
#define FEED_RTO_NS_DEFAULT	  (5ull * 1000 * 1000)
#define FEED_HEARTBEAT_NS_DEFAULT (50ull * 1000 * 1000)
#define FEED_CREDIT_DEFAULT	  4096u
#define FEED_NAK_NS_DEFAULT	  (1ull * 1000 * 1000)
#define FEED_ACK_NS_DEFAULT	  (2ull * 1000 * 1000)

/** Time from @p then to @p now; 0 when the caller's clock went backwards. */
static inline uint64_t
feed_elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static inline uint64_t
feed_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t
feed_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

#endif /* TERN_FEED_INTERNAL_H */
