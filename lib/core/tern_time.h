/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Time types. Library code never reads a clock: time comes in as a `uint64_t` count of
 * nanoseconds on a monotonic clock (`now_ns`), supplied by the caller (the poll loop in
 * lib/rep, virtual time in tests and simulation). Wall-clock timestamps stored in records
 * are nanoseconds since the Unix epoch, also supplied by the caller.
 */
#ifndef TERN_TIME_H
#define TERN_TIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_NS_PER_US 1000ULL
#define TERN_NS_PER_MS 1000000ULL
#define TERN_NS_PER_S 1000000000ULL
#define TERN_TIME_NEVER UINT64_MAX /**< a deadline that never arrives */

static inline uint64_t
tern_us_to_ns(uint64_t us)
{
	return us * TERN_NS_PER_US;
}

static inline uint64_t
tern_ms_to_ns(uint64_t ms)
{
	return ms * TERN_NS_PER_MS;
}

/** @p deadline has passed at @p now (TERN_TIME_NEVER never passes). */
static inline int
tern_time_due(uint64_t now, uint64_t deadline)
{
	return deadline != TERN_TIME_NEVER && now >= deadline;
}

#ifdef __cplusplus
}
#endif

#endif /* TERN_TIME_H */
