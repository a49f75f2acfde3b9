/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Diagnostics: per-component levels and one pluggable sink.
 *
 * Each component registers once, in its main .c file, with TERN_DIAG_REGISTER(name, level);
 * meson passes the component's full name ("tern.log", "tern.io.uring") through
 * TERN_DIAG_COMPONENT. A message is formatted only when its level is enabled, then handed
 * to the installed sink: the default sink writes a line to stderr; apps install an rte_log
 * sink, tests a capturing one. Levels follow syslog and rte_log (1 = emergency .. 8 = debug).
 * Numbers belong in counters (`tern_<lib>_stats_get`), not here: report abnormal events.
 */
#ifndef TERN_DIAG_H
#define TERN_DIAG_H

#include <stdarg.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tern_diag_level {
	TERN_DIAG_EMERG = 1,
	TERN_DIAG_ALERT,
	TERN_DIAG_CRIT,
	TERN_DIAG_ERR,
	TERN_DIAG_WARNING,
	TERN_DIAG_NOTICE,
	TERN_DIAG_INFO,
	TERN_DIAG_DEBUG,
};

/** One registered component. Statically allocated by TERN_DIAG_REGISTER. */
struct tern_diag_component {
	const char *name;   /**< "tern.log" */
	int level;          /**< messages at or below this level are emitted */
	struct tern_diag_component *next;
	void *sink_priv;    /**< for the sink's use (e.g. an rte_log type id) */
};

/**
 * Sink callback: receives one formatted message (no trailing newline).
 * Called from whatever thread emitted it; must be thread-safe.
 */
typedef void (*tern_diag_sink_fn)(void *arg, struct tern_diag_component *c, int level,
				  const char *msg);

/** Add @p c to the registry (done by TERN_DIAG_REGISTER's constructor). */
void tern_diag_register(struct tern_diag_component *c);

/**
 * Install @p fn as the sink (NULL restores the stderr sink). Returns the previous one
 * through @p prev_fn / @p prev_arg when they are not NULL.
 */
void tern_diag_set_sink(tern_diag_sink_fn fn, void *arg, tern_diag_sink_fn *prev_fn,
			void **prev_arg);

/**
 * Set the level of every component whose name matches @p pattern (shell glob, e.g.
 * "tern.*" or "tern.io.uring"), now and for components registered later.
 * @return number of components matched now; -EINVAL on a bad level.
 */
int tern_diag_set_level(const char *pattern, int level);

/** Find a registered component by exact name, or NULL. */
struct tern_diag_component *tern_diag_find(const char *name);

/** Call @p fn for each registered component (for sinks that map them, e.g. to rte_log). */
void tern_diag_foreach(void (*fn)(struct tern_diag_component *c, void *arg), void *arg);

/** Level name ("err", "debug"), or NULL when out of range. */
const char *tern_diag_level_name(int level);

/** Parse a level name or number; returns the level or -EINVAL. */
int tern_diag_level_parse(const char *s);

/** Emit a message (use the TERN_DIAG macros, which skip disabled levels cheaply). */
void tern_diag_emit(struct tern_diag_component *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TERN_DIAG_VAR_(name) tern_diag_component_##name

/*
 * The parameter is @p id, not "name": a parameter called name would also replace the
 * .name designator below.
 */
/** Define and register component @p id (a C identifier) at default @p lvl. */
#define TERN_DIAG_REGISTER(id, lvl)                                                        \
	struct tern_diag_component TERN_DIAG_VAR_(id) = {                                  \
		.name = TERN_DIAG_COMPONENT,                                                \
		.level = TERN_DIAG_##lvl,                                                   \
	};                                                                                  \
	__attribute__((constructor)) static void tern_diag_ctor_##id(void)                  \
	{                                                                                   \
		tern_diag_register(&TERN_DIAG_VAR_(id));                                    \
	}

/** Declare a component defined in another file of the same library. */
#define TERN_DIAG_EXTERN(name) extern struct tern_diag_component TERN_DIAG_VAR_(name)

#define TERN_DIAG(lvl, name, fmt, ...)                                                      \
	do {                                                                                \
		if (TERN_DIAG_##lvl <= TERN_DIAG_VAR_(name).level)                         \
			tern_diag_emit(&TERN_DIAG_VAR_(name), TERN_DIAG_##lvl, fmt,         \
				       ##__VA_ARGS__);                                      \
	} while (0)

/** Data-path diagnostics, compiled out above TERN_DIAG_DP_LEVEL. */
#ifndef TERN_DIAG_DP_LEVEL
#define TERN_DIAG_DP_LEVEL TERN_DIAG_NOTICE
#endif
#define TERN_DIAG_DP(lvl, name, fmt, ...)                                                   \
	do {                                                                                \
		if (TERN_DIAG_##lvl <= TERN_DIAG_DP_LEVEL)                                 \
			TERN_DIAG(lvl, name, fmt, ##__VA_ARGS__);                           \
	} while (0)

/**
 * For errors that can repeat per frame or per entry: emits the first message, then at
 * most one per @p every occurrences, saying how many were suppressed.
 */
#define TERN_DIAG_RATELIMIT(every, lvl, name, fmt, ...)                                     \
	do {                                                                                \
		static uint64_t tern_rl_n_;                                                 \
		uint64_t tern_rl_k_ = __atomic_fetch_add(&tern_rl_n_, 1, __ATOMIC_RELAXED); \
		if (tern_rl_k_ % (every) == 0)                                              \
			TERN_DIAG(lvl, name, fmt " (x%llu)", ##__VA_ARGS__,                  \
				  (unsigned long long)tern_rl_k_ + 1);                      \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif /* TERN_DIAG_H */
