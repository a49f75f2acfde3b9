/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <tern_wire.h>

#include "ut.h"

#define DGRAM_LEN 100

static const struct tern_wire_l2_addr a_addr = {
	.mac = {0x02, 0, 0, 0, 0, 0x0a},
	.ipv4 = 0x0a00000a, /* 10.0.0.10 in network order */
	.port = 7410,
};
static const struct tern_wire_l2_addr b_addr = {
	.mac = {0x02, 0, 0, 0, 0, 0x0b},
	.ipv4 = 0x0b00000a, /* 10.0.0.11 */
	.port = TERN_WIRE_UDP_PORT,
};

static uint8_t frame[TERN_WIRE_L2_HDR_LEN + DGRAM_LEN + 64];

static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Recompute the IPv4 header checksum after a test changed the header. */
static void
fix_ip_csum(uint8_t *ip)
{
	unsigned int ihl = (ip[0] & 0xfu) * 4, i;
	uint32_t sum = 0;

	ip[10] = ip[11] = 0;
	for (i = 0; i < ihl; i += 2)
		sum += get_be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
}

static void
build_frame(void)
{
	unsigned int i;

	memset(frame, 0, sizeof(frame));
	for (i = 0; i < DGRAM_LEN; i++)
		frame[TERN_WIRE_L2_HDR_LEN + i] = (uint8_t)i;
	TERN_CU_ASSERT_FATAL(tern_wire_l2_build(frame, &a_addr, &b_addr, DGRAM_LEN) == 0);
}

static enum tern_wire_rej
parse(uint32_t len)
{
	struct tern_wire_l2_addr from;
	uint32_t off = 0, dlen = 0;

	return tern_wire_l2_parse(frame, len, &b_addr, &from, &off, &dlen);
}

static void
l2_build_writes_ethernet_ipv4_udp(void)
{
	uint8_t *ip = frame + 14, *udp = ip + 20;

	build_frame();
	CU_ASSERT(memcmp(frame, b_addr.mac, 6) == 0);
	CU_ASSERT(memcmp(frame + 6, a_addr.mac, 6) == 0);
	UT_EQ_INT(get_be16(frame + 12), 0x0800);
	UT_EQ_INT(ip[0], 0x45);
	UT_EQ_INT(get_be16(ip + 2), 20 + 8 + DGRAM_LEN);
	UT_EQ_INT(get_be16(ip + 6), 0x4000); /* DF */
	UT_EQ_INT(ip[8], 64);
	UT_EQ_INT(ip[9], 17);
	CU_ASSERT(memcmp(ip + 12, &a_addr.ipv4, 4) == 0);
	CU_ASSERT(memcmp(ip + 16, &b_addr.ipv4, 4) == 0);
	UT_EQ_INT(ip[12], 10); /* network order: 10.0.0.10 */
	UT_EQ_INT(ip[15], 10);
	UT_EQ_INT(get_be16(udp), 7410);
	UT_EQ_INT(get_be16(udp + 2), TERN_WIRE_UDP_PORT);
	UT_EQ_INT(get_be16(udp + 4), 8 + DGRAM_LEN);
	UT_EQ_INT(get_be16(udp + 6), 0);
	/* The checksum is right: recomputing it gives the same bytes. */
	{
		uint8_t c0 = ip[10], c1 = ip[11];

		fix_ip_csum(ip);
		UT_EQ_INT(ip[10], c0);
		UT_EQ_INT(ip[11], c1);
	}
}

static void
l2_parse_finds_the_datagram_and_the_sender(void)
{
	struct tern_wire_l2_addr from;
	uint32_t off = 0, dlen = 0;

	build_frame();
	UT_EQ_INT(tern_wire_l2_parse(frame, TERN_WIRE_L2_HDR_LEN + DGRAM_LEN, &b_addr, &from, &off,
				     &dlen),
		  TERN_WIRE_REJ_NONE);
	UT_EQ_INT(off, TERN_WIRE_L2_HDR_LEN);
	UT_EQ_INT(dlen, DGRAM_LEN);
	CU_ASSERT(memcmp(from.mac, a_addr.mac, 6) == 0);
	UT_EQ_INT(from.ipv4, a_addr.ipv4);
	UT_EQ_INT(from.port, a_addr.port);
	UT_EQ_INT(frame[off + 99], 99);
}

static void
l2_parse_accepts_padding_broadcast_and_ip_options(void)
{
	struct tern_wire_l2_addr from;
	uint32_t off = 0, dlen = 0;
	uint8_t *ip = frame + 14;

	build_frame();
	/* Trailing Ethernet padding is not part of the datagram. */
	UT_EQ_INT(parse(sizeof(frame)), TERN_WIRE_REJ_NONE);
	memset(frame, 0xff, 6);
	UT_EQ_INT(parse(TERN_WIRE_L2_HDR_LEN + DGRAM_LEN), TERN_WIRE_REJ_NONE);
	memset(ip + 16, 0xff, 4); /* 255.255.255.255 */
	fix_ip_csum(ip);
	UT_EQ_INT(parse(TERN_WIRE_L2_HDR_LEN + DGRAM_LEN), TERN_WIRE_REJ_NONE);

	/* One 4-byte IPv4 option (NOPs): the UDP header moves by 4. */
	build_frame();
	memmove(ip + 24, ip + 20, 8 + DGRAM_LEN);
	memset(ip + 20, 1, 4);
	ip[0] = 0x46;
	ip[2] = 0;
	ip[3] = 24 + 8 + DGRAM_LEN;
	fix_ip_csum(ip);
	UT_EQ_INT(tern_wire_l2_parse(frame, 14 + 24 + 8 + DGRAM_LEN, &b_addr, &from, &off, &dlen),
		  TERN_WIRE_REJ_NONE);
	UT_EQ_INT(off, 14 + 24 + 8);
	UT_EQ_INT(dlen, DGRAM_LEN);
	UT_EQ_INT(frame[off + 5], 5);
}

static void
l2_parse_rejects_short_frames(void)
{
	uint32_t len;

	build_frame();
	for (len = 0; len < TERN_WIRE_L2_HDR_LEN; len++)
		UT_EQ_INT(parse(len), TERN_WIRE_REJ_SHORT);
	/* Cut inside the datagram: the IP length says more than the frame has. */
	UT_EQ_INT(parse(TERN_WIRE_L2_HDR_LEN + DGRAM_LEN - 1), TERN_WIRE_REJ_SHORT);
	/* IHL pointing past the frame. */
	frame[14] = 0x4f;
	fix_ip_csum(frame + 14);
	UT_EQ_INT(parse(TERN_WIRE_L2_HDR_LEN + 10), TERN_WIRE_REJ_SHORT);
}

static void
l2_parse_rejects_frames_not_for_us(void)
{
	struct tern_wire_l2_addr other = b_addr;
	struct tern_wire_l2_addr from;
	uint32_t off, dlen, len = TERN_WIRE_L2_HDR_LEN + DGRAM_LEN;
	uint8_t *ip = frame + 14;

	build_frame();
	frame[12] = 0x86; /* IPv6 */
	frame[13] = 0xdd;
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	frame[5] ^= 1; /* another MAC */
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	ip[0] = 0x65; /* version 6 */
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	ip[0] = 0x44; /* IHL < 5 */
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	ip[9] = 6; /* TCP */
	fix_ip_csum(ip);
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	ip[6] |= 0x20; /* more fragments */
	fix_ip_csum(ip);
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	ip[7] = 1; /* fragment offset */
	fix_ip_csum(ip);
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	ip[19] ^= 1; /* another IPv4 address */
	fix_ip_csum(ip);
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_L2);

	build_frame();
	other.port = 7411;
	UT_EQ_INT(tern_wire_l2_parse(frame, len, &other, &from, &off, &dlen), TERN_WIRE_REJ_L2);
}

static void
l2_parse_rejects_a_bad_ip_checksum(void)
{
	unsigned int bit;

	/* Every single-bit error in the IPv4 header that leaves it otherwise plausible. */
	for (bit = 8 * 8; bit < 8 * 10; bit++) { /* TTL and protocol... */
		build_frame();
		frame[14 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (frame[14 + 9] != 17)
			continue; /* protocol changed: not UDP, L2 */
		UT_EQ_INT(parse(TERN_WIRE_L2_HDR_LEN + DGRAM_LEN), TERN_WIRE_REJ_L3_CSUM);
	}
	build_frame();
	frame[14 + 10] ^= 0x40; /* the checksum itself */
	UT_EQ_INT(parse(TERN_WIRE_L2_HDR_LEN + DGRAM_LEN), TERN_WIRE_REJ_L3_CSUM);
}

static void
l2_parse_rejects_inconsistent_lengths(void)
{
	uint8_t *ip = frame + 14, *udp = ip + 20;
	uint32_t len = TERN_WIRE_L2_HDR_LEN + DGRAM_LEN;

	build_frame();
	udp[5]--; /* UDP length one short of the IP payload */
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_LENGTH);
	build_frame();
	udp[4] = 0;
	udp[5] = 7; /* below the UDP header */
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_LENGTH);
	build_frame();
	ip[2] = 0;
	ip[3] = 27; /* IP total below IP + UDP headers */
	fix_ip_csum(ip);
	UT_EQ_INT(parse(len), TERN_WIRE_REJ_LENGTH);
}

static void
l2_build_refuses_oversized_datagrams(void)
{
	static uint8_t big[TERN_WIRE_L2_HDR_LEN];

	UT_EQ_INT(tern_wire_l2_build(big, &a_addr, &b_addr, 65535 - 28 + 1), -EMSGSIZE);
	UT_EQ_INT(tern_wire_l2_build(big, &a_addr, &b_addr, 65535 - 28), 0);
	UT_EQ_INT(get_be16(big + 14 + 2), 65535);
}

int
main(int argc, char **argv)
{
	CU_pSuite s;

	CU_initialize_registry();
	s = CU_add_suite("l2", NULL, NULL);
	CU_ADD_TEST(s, l2_build_writes_ethernet_ipv4_udp);
	CU_ADD_TEST(s, l2_parse_finds_the_datagram_and_the_sender);
	CU_ADD_TEST(s, l2_parse_accepts_padding_broadcast_and_ip_options);
	CU_ADD_TEST(s, l2_parse_rejects_short_frames);
	CU_ADD_TEST(s, l2_parse_rejects_frames_not_for_us);
	CU_ADD_TEST(s, l2_parse_rejects_a_bad_ip_checksum);
	CU_ADD_TEST(s, l2_parse_rejects_inconsistent_lengths);
	CU_ADD_TEST(s, l2_build_refuses_oversized_datagrams);
	return tern_ut_run(argc, argv);
}
