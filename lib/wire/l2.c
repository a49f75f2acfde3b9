/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet + IPv4 + UDP around a Tern datagram (DESIGN.md 3), for the dpdk driver: the
 * same bytes the kernel puts on the wire for the udp driver, so captures of either read
 * as UDP and both interoperate.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tern_wire.h"
#include "wire_internal.h"

#define ETH_LEN	       14
#define ETH_TYPE_IPV4  0x0800
#define IP_LEN	       20
#define IP_PROTO_UDP   17
#define IP_TTL	       64
#define IP_FLAG_DF     0x4000
#define IP_FLAG_MF     0x2000
#define IP_FRAG_OFFSET 0x1fff
#define UDP_LEN	       8

static_assert(TERN_WIRE_L2_HDR_LEN == ETH_LEN + IP_LEN + UDP_LEN, "L2 header length");

/* Ones' complement sum of @p len bytes (big-endian 16-bit words), folded. */
static uint16_t
ip_csum(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0, i;

	for (i = 0; i + 1 < len; i += 2)
		sum += be16_load(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int
tern_wire_l2_build(void *buf, const struct tern_wire_l2_addr *src,
		   const struct tern_wire_l2_addr *dst, uint32_t dgram_len)
{
	uint8_t *eth = buf, *ip = eth + ETH_LEN, *udp = ip + IP_LEN;

	if (dgram_len > 0xffff - IP_LEN - UDP_LEN)
		return -EMSGSIZE;
	memcpy(eth, dst->mac, 6);
	memcpy(eth + 6, src->mac, 6);
	be16_store(eth + 12, ETH_TYPE_IPV4);

	ip[0] = 0x45; /* version 4, 5 words */
	ip[1] = 0;    /* DSCP, ECN */
	be16_store(ip + 2, (uint16_t)(IP_LEN + UDP_LEN + dgram_len));
	be16_store(ip + 4, 0); /* id: no fragments (DF) */
	be16_store(ip + 6, IP_FLAG_DF);
	ip[8] = IP_TTL;
	ip[9] = IP_PROTO_UDP;
	be16_store(ip + 10, 0);
	memcpy(ip + 12, &src->ipv4, 4); /* already network order */
	memcpy(ip + 16, &dst->ipv4, 4);
	be16_store(ip + 10, ip_csum(ip, IP_LEN));

	be16_store(udp, src->port);
	be16_store(udp + 2, dst->port);
	be16_store(udp + 4, (uint16_t)(UDP_LEN + dgram_len));
	be16_store(udp + 6, 0); /* none: the Tern CRC32C covers the datagram */
	return 0;
}

static bool
mac_is_broadcast(const uint8_t *m)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	return memcmp(m, bcast, 6) == 0;
}

/*
 * The UDP checksum is not verified: the Tern CRC32C covers the datagram, and a frame a
 * kernel sent through a veth or af_packet with checksum offload may carry only a partial
 * one. The IPv4 header checksum is, as the kernel always fills it.
 */
enum tern_wire_rej
tern_wire_l2_parse(const void *frame, uint32_t len, const struct tern_wire_l2_addr *self,
		   struct tern_wire_l2_addr *from, uint32_t *off, uint32_t *dgram_len)
{
	const uint8_t *eth = frame, *ip, *udp;
	uint32_t ihl, ip_total, udp_len;
	uint32_t dst_ip;

	if (len < TERN_WIRE_L2_HDR_LEN)
		return TERN_WIRE_REJ_SHORT;
	if (be16_load(eth + 12) != ETH_TYPE_IPV4)
		return TERN_WIRE_REJ_L2;
	if (memcmp(eth, self->mac, 6) != 0 && !mac_is_broadcast(eth))
		return TERN_WIRE_REJ_L2;
	ip = eth + ETH_LEN;
	if (ip[0] >> 4 != 4)
		return TERN_WIRE_REJ_L2;
	ihl = (uint32_t)(ip[0] & 0xf) * 4;
	if (ihl < IP_LEN)
		return TERN_WIRE_REJ_L2;
	if (len < ETH_LEN + ihl + UDP_LEN)
		return TERN_WIRE_REJ_SHORT;
	if (ip[9] != IP_PROTO_UDP)
		return TERN_WIRE_REJ_L2;
	if ((be16_load(ip + 6) & (IP_FLAG_MF | IP_FRAG_OFFSET)) != 0)
		return TERN_WIRE_REJ_L2; /* IP fragments: Tern never sends them */
	if (ip_csum(ip, ihl) != 0)
		return TERN_WIRE_REJ_L3_CSUM;
	ip_total = be16_load(ip + 2);
	if (ip_total < ihl + UDP_LEN)
		return TERN_WIRE_REJ_LENGTH;
	if (ip_total > len - ETH_LEN)
		return TERN_WIRE_REJ_SHORT; /* frames may be padded, never cut */
	memcpy(&dst_ip, ip + 16, 4);
	if (dst_ip != self->ipv4 && dst_ip != UINT32_MAX)
		return TERN_WIRE_REJ_L2;
	udp = ip + ihl;
	if (be16_load(udp + 2) != self->port)
		return TERN_WIRE_REJ_L2;
	udp_len = be16_load(udp + 4);
	if (udp_len < UDP_LEN || udp_len != ip_total - ihl)
		return TERN_WIRE_REJ_LENGTH;

	memcpy(from->mac, eth + 6, 6);
	memcpy(&from->ipv4, ip + 12, 4);
	from->port = be16_load(udp);
	*off = ETH_LEN + ihl + UDP_LEN;
	*dgram_len = udp_len - UDP_LEN;
	return TERN_WIRE_REJ_NONE;
}
