/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Error codes. Tern functions return 0 or a negative value: `-errno` for system errors
 * and `-TERN_E*` for Tern's own, numbered from TERN_EBASE so the two never collide.
 * tern_strerror() prints either kind.
 */
#ifndef TERN_ERRNO_H
#define TERN_ERRNO_H

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_EBASE 1000

/* X(name, text): the one table of Tern's own error codes. */
#define TERN_ERRNO_TABLE(X)                                                                \
	X(TERN_ECORRUPT, "corrupt data (CRC mismatch or malformed record)")                \
	X(TERN_ELOGRO, "log is read-only after a failed write or fdatasync")               \
	X(TERN_EVLSN, "VLSN out of sequence (gap or repeat)")                              \
	X(TERN_ESTALE, "stale term")                                                       \
	X(TERN_ENOTMASTER, "this node is not the master")                                  \
	X(TERN_EACKS, "insufficient acknowledgments within the timeout")                   \
	X(TERN_ENEEDRESTORE, "the master no longer has the entries this node needs")       \
	X(TERN_EFORMAT, "unknown file format or version")                                  \
	X(TERN_ECLOSED, "object is closed")

enum tern_errno {
	TERN_EFIRST_ = TERN_EBASE - 1,
#define TERN_ERRNO_ENUM_(name, text) name,
	TERN_ERRNO_TABLE(TERN_ERRNO_ENUM_)
#undef TERN_ERRNO_ENUM_
	TERN_ELAST_
};

/**
 * Text for an error code, positive or negative, Tern's or the system's.
 * @return a static string; never NULL.
 */
const char *tern_strerror(int err);

/** Symbolic name of an error code ("TERN_ECORRUPT", "EIO"), or "E?" when unknown. */
const char *tern_errname(int err);

#ifdef __cplusplus
}
#endif

#endif /* TERN_ERRNO_H */
