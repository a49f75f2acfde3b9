/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writes a pcap file of Tern frames, built with lib/wire (tern_wire_l2_build,
 * tern_wire_seal and the message encoders), for dissector_test.sh: one frame of every
 * message type on port 7410, then one with a bad CRC32C, one of an unknown major version,
 * and one ACK on another port (found by the heuristic dissector).
 * Usage: wire_make_pcap FILE.pcap
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tern_wire.h>
#include <tern_wire_msgs.h>

#include "wire_samples.h"

#define FRAME_MAX 4096

static const struct tern_wire_l2_addr node1 = {
	.mac = {0x02, 0, 0, 0, 0, 0x01},
	.ipv4 = 0x0100000a, /* 10.0.0.1 */
	.port = TERN_WIRE_UDP_PORT,
};
static const struct tern_wire_l2_addr node2 = {
	.mac = {0x02, 0, 0, 0, 0, 0x02},
	.ipv4 = 0x0200000a, /* 10.0.0.2 */
	.port = TERN_WIRE_UDP_PORT,
};

static uint8_t frame[FRAME_MAX];
static unsigned int frames;

static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int
put_record(FILE *f, const uint8_t *p, uint32_t len)
{
	uint8_t rec[16];

	le32(rec, 1700000000U + frames); /* seconds */
	le32(rec + 4, 0);
	le32(rec + 8, len);
	le32(rec + 12, len);
	frames++;
	return fwrite(rec, 1, sizeof(rec), f) == sizeof(rec) && fwrite(p, 1, len, f) == len ? 0
											    : -1;
}

/* A frame of message @p type from node 1 to node 2; @p port is node 2's UDP port. */
static uint32_t
build(struct tern_wire_ctx *c, uint8_t type, uint16_t port)
{
	struct tern_wire_l2_addr dst = node2;
	uint8_t *dg = frame + TERN_WIRE_L2_HDR_LEN;
	int len = sample(type, dg + TERN_WIRE_HDR_LEN,
			 FRAME_MAX - TERN_WIRE_L2_HDR_LEN - TERN_WIRE_HDR_LEN);
	uint32_t n;

	if (len < 0)
		return 0;
	n = tern_wire_seal(c, dg, type, 2, 7, (uint32_t)len);
	dst.port = port;
	if (tern_wire_l2_build(frame, &node1, &dst, n) != 0)
		return 0;
	return TERN_WIRE_L2_HDR_LEN + n;
}

int
main(int argc, char **argv)
{
	struct tern_wire_ctx c;
	uint8_t hdr[24] = {0};
	unsigned int t;
	uint32_t n;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: wire_make_pcap FILE.pcap\n");
		return 2;
	}
	f = fopen(argv[1], "wb");
	if (f == NULL) {
		fprintf(stderr, "wire_make_pcap: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	le32(hdr, 0xa1b2c3d4U); /* pcap, microseconds */
	hdr[4] = 2;		/* version 2.4 */
	hdr[6] = 4;
	le32(hdr + 16, 65535); /* snaplen */
	le32(hdr + 20, 1);     /* Ethernet */
	if (fwrite(hdr, 1, sizeof(hdr), f) != sizeof(hdr))
		goto fail;
	tern_wire_ctx_init(&c, 0x5eed, 1);
	for (t = 1; t < TERN_WIRE_TYPE_MAX_; t++) {
		n = build(&c, (uint8_t)t, TERN_WIRE_UDP_PORT);
		if (n == 0 || put_record(f, frame, n) != 0)
			goto fail;
	}
	/* A bad CRC: the last byte of an ACK body flipped. */
	n = build(&c, TERN_WIRE_ACK, TERN_WIRE_UDP_PORT);
	frame[n - 1] ^= 0x01;
	if (n == 0 || put_record(f, frame, n) != 0)
		goto fail;
	/* A peer of major version 2. */
	n = build(&c, TERN_WIRE_HEARTBEAT, TERN_WIRE_UDP_PORT);
	frame[TERN_WIRE_L2_HDR_LEN + 4] = 2;
	if (n == 0 || put_record(f, frame, n) != 0)
		goto fail;
	/* Another UDP port: only the heuristic dissector finds it. */
	n = build(&c, TERN_WIRE_ACK, 9999);
	if (n == 0 || put_record(f, frame, n) != 0)
		goto fail;
	if (fclose(f) != 0)
		return 1;
	printf("wire_make_pcap: %u frames in %s\n", frames, argv[1]);
	return 0;
fail:
	fprintf(stderr, "wire_make_pcap: writing %s failed\n", argv[1]);
	fclose(f);
	return 1;
}
