/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed maker for fuzz_wire_decode: writes, in the fuzzer's input format
 * (wire_decode_fuzz.h), every message type as a body, as a sealed datagram and as an
 * Ethernet frame, plus reassembly sequences (in order, reversed, with a loss and a
 * duplicate). Usage: make_seed_wire_decode DIR (DIR is made when missing). The seeds are
 * deterministic: running it again rewrites the same files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "../wire/wire_samples.h"
#include "wire_decode_fuzz.h"

#define SEED_MAX 4096

static uint8_t seed[SEED_MAX];
static const char *dir;
static unsigned int written;

static int
put(const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, len, f) != len) {
		fprintf(stderr, "make_seed_wire_decode: writing %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (fclose(f) != 0)
		return -1;
	written++;
	return 0;
}

/* Three seeds of message @p type: body, datagram, frame. */
static int
message_seeds(struct tern_wire_ctx *c, uint8_t type)
{
	const char *tname = tern_wire_type_str(type);
	uint8_t *dg = seed + 1 + TERN_WIRE_L2_HDR_LEN;
	char name[64];
	int len;
	uint32_t n;

	/* FUZZ_WD_BODY: mode, type, body. */
	len = sample(type, seed + 2, SEED_MAX - 2);
	if (len < 0)
		return -1;
	seed[0] = FUZZ_WD_BODY;
	seed[1] = type;
	snprintf(name, sizeof(name), "body-%s", tname);
	if (put(name, seed, (size_t)len + 2) != 0)
		return -1;

	/* FUZZ_WD_L2: mode, Ethernet + IPv4 + UDP, datagram. */
	if (sample(type, dg + TERN_WIRE_HDR_LEN,
		   SEED_MAX - 1 - TERN_WIRE_L2_HDR_LEN - TERN_WIRE_HDR_LEN) != len)
		return -1;
	n = tern_wire_seal(c, dg, type, FUZZ_WD_SELF, 7, (uint32_t)len);
	if (tern_wire_l2_build(seed + 1, &fuzz_wd_peer, &fuzz_wd_self, n) != 0)
		return -1;
	seed[0] = FUZZ_WD_L2;
	snprintf(name, sizeof(name), "frame-%s", tname);
	if (put(name, seed, 1 + TERN_WIRE_L2_HDR_LEN + n) != 0)
		return -1;

	/* FUZZ_WD_DGRAM: mode, datagram. */
	dg[-1] = FUZZ_WD_DGRAM;
	snprintf(name, sizeof(name), "dgram-%s", tname);
	return put(name, dg - 1, 1 + n);
}

static uint8_t *
reasm_op(uint8_t *p, uint8_t op, uint8_t need, uint16_t total, uint16_t off, uint16_t len)
{
	p[0] = op;
	p[1] = need;
	p[2] = (uint8_t)(total - 1);
	p[3] = (uint8_t)((total - 1) >> 8);
	p[4] = (uint8_t)off;
	p[5] = (uint8_t)(off >> 8);
	p[6] = (uint8_t)(len - 1);
	p[7] = (uint8_t)((len - 1) >> 8);
	return p + FUZZ_WD_REASM_OP_LEN;
}

static int
reasm_seeds(void)
{
	uint8_t *p;
	int i;

	/* In order: entry VLSN 1 of 2000 bytes in 4 pieces of 500; then VLSN 2 in one. */
	seed[0] = FUZZ_WD_REASM;
	p = seed + 1;
	for (i = 0; i < 4; i++)
		p = reasm_op(p, 0, 1, 2000, (uint16_t)(500 * i), 500);
	p = reasm_op(p, 1, 2, 100, 0, 100);
	if (put("reasm-in-order", seed, (size_t)(p - seed)) != 0)
		return -1;

	/* Reversed, with a duplicate. */
	p = seed + 1;
	for (i = 3; i >= 0; i--)
		p = reasm_op(p, 2, 3, 2000, (uint16_t)(500 * i), 500);
	p = reasm_op(p, 2, 3, 2000, 500, 500);
	if (put("reasm-reversed-dup", seed, (size_t)(p - seed)) != 0)
		return -1;

	/* A loss: VLSN 4 misses a piece, 5 is busy, reset, then 4 again in full. */
	p = seed + 1;
	p = reasm_op(p, 3, 4, 1500, 0, 500);
	p = reasm_op(p, 3, 4, 1500, 1000, 500);
	p = reasm_op(p, 4, 4, 800, 0, 400);
	p = reasm_op(p, 0xff, 0, 1, 0, 1);
	for (i = 0; i < 3; i++)
		p = reasm_op(p, 3, 4, 1500, (uint16_t)(500 * i), 500);
	return put("reasm-loss-reset", seed, (size_t)(p - seed));
}

int
main(int argc, char **argv)
{
	struct tern_wire_ctx c;
	unsigned int t;

	if (argc != 2) {
		fprintf(stderr, "usage: make_seed_wire_decode CORPUS_DIR\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "make_seed_wire_decode: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	tern_wire_ctx_init(&c, FUZZ_WD_GROUP, FUZZ_WD_PEER);
	for (t = 1; t < TERN_WIRE_TYPE_MAX_; t++)
		if (message_seeds(&c, (uint8_t)t) != 0)
			return 1;
	if (reasm_seeds() != 0)
		return 1;
	printf("make_seed_wire_decode: %u seeds in %s\n", written, dir);
	return 0;
}
