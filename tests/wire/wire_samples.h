/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A valid, non-trivial body of every message type, shared by the unit tests (msgs_ut.c)
 * and the fuzz seed maker (tests/fuzz/make_seed_wire_decode.c).
 */
#ifndef TERN_TESTS_WIRE_SAMPLES_H
#define TERN_TESTS_WIRE_SAMPLES_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tern_wire.h>
#include <tern_wire_msgs.h>

static const uint8_t payload_a[5] = {'h', 'e', 'l', 'l', 'o'};
static const uint8_t payload_b[1] = {0x7f};

static const struct tern_wire_entry sample_entries[3] = {
	{.vlsn = 100,
	 .term = 3,
	 .txn_id = 9,
	 .timestamp_ns = 1000,
	 .type = 17,
	 .flags = 1,
	 .len = sizeof(payload_a),
	 .data = payload_a},
	{.vlsn = 101, .term = 3, .txn_id = 10, .timestamp_ns = 1001, .type = 18, .len = 0},
	{.vlsn = 102,
	 .term = 4,
	 .txn_id = 11,
	 .timestamp_ns = 1002,
	 .type = 19,
	 .len = sizeof(payload_b),
	 .data = payload_b},
};

static inline struct tern_wire_group_update
sample_group(void)
{
	struct tern_wire_group_update g;
	unsigned int i;

	memset(&g, 0, sizeof(g));
	g.group_version = 12;
	g.op = TERN_WIRE_GROUP_OP_SNAPSHOT;
	g.total = 5;
	g.first = 1;
	g.n = 3;
	for (i = 0; i < g.n; i++) {
		struct tern_wire_member *m = &g.member[i];

		m->node_id = (uint16_t)(10 + i);
		m->type = (uint8_t)(TERN_WIRE_NODE_ELECTABLE + i);
		m->flags = (uint8_t)i;
		m->priority = 100 * i;
		m->ipv4 = 0x0100000a + (uint32_t)(i << 24);
		m->udp_port = (uint16_t)(7410 + i);
		m->mac[0] = 2;
		m->mac[5] = (uint8_t)i;
		memcpy(m->name, "node-", 5);
		m->name[5] = (char)('a' + i);
	}
	memcpy(g.member[2].name, "sixteen-chars-xy", 16); /* the full width, no NUL on the wire */
	g.member[2].name[16] = '\0';
	return g;
}

/* Encode a valid, non-trivial body of @p type into @p b. */
static inline int
sample(uint8_t type, uint8_t *b, uint32_t cap)
{
	switch (type) {
	case TERN_WIRE_ENTRIES:
		return tern_wire_entries_encode(b, cap, 99, sample_entries, 3);
	case TERN_WIRE_ENTRY_FRAGMENT: {
		struct tern_wire_fragment f = {.vlsn = 7,
					       .term = 2,
					       .txn_id = 3,
					       .timestamp_ns = 4,
					       .type = 5,
					       .flags = 6,
					       .total_len = 1000,
					       .offset = 995,
					       .len = 5,
					       .data = payload_a};
		return tern_wire_fragment_encode(b, cap, &f);
	}
	case TERN_WIRE_ACK: {
		struct tern_wire_ack m = {.received_vlsn = 50, .durable_vlsn = 40, .credit = 64};
		return tern_wire_ack_encode(b, cap, &m);
	}
	case TERN_WIRE_NAK: {
		struct tern_wire_nak m = {.n = 2, .range = {{5, 7}, {9, 9}}};
		return tern_wire_nak_encode(b, cap, &m);
	}
	case TERN_WIRE_HEARTBEAT: {
		struct tern_wire_heartbeat m = {
			.commit_vlsn = 10, .last_vlsn = 12, .timestamp_ns = 123456789, .seq = 77};
		return tern_wire_heartbeat_encode(b, cap, &m);
	}
	case TERN_WIRE_HEARTBEAT_REPLY: {
		struct tern_wire_heartbeat_reply m = {.echo_timestamp_ns = 123456789,
						      .received_vlsn = 12,
						      .durable_vlsn = 11,
						      .echo_seq = 77};
		return tern_wire_heartbeat_reply_encode(b, cap, &m);
	}
	case TERN_WIRE_SYNCUP_REQ: {
		struct tern_wire_syncup_req m = {.req_id = 5,
						 .n = 3,
						 .first_vlsn = 1,
						 .last_vlsn = 100,
						 .probe = {{100, 4}, {90, 4}, {50, 2}}};
		return tern_wire_syncup_req_encode(b, cap, &m);
	}
	case TERN_WIRE_SYNCUP_REPLY: {
		struct tern_wire_syncup_reply m = {.req_id = 5,
						   .status = TERN_WIRE_SYNCUP_MATCH,
						   .match_vlsn = 90,
						   .match_term = 4,
						   .first_vlsn = 1,
						   .last_vlsn = 200,
						   .commit_vlsn = 150};
		return tern_wire_syncup_reply_encode(b, cap, &m);
	}
	case TERN_WIRE_PROPOSE: {
		struct tern_wire_propose m = {.proposal = 8};
		return tern_wire_propose_encode(b, cap, &m);
	}
	case TERN_WIRE_PROMISE: {
		struct tern_wire_promise m = {.proposal = 8,
					      .last_term = 7,
					      .last_vlsn = 1000,
					      .accepted_proposal = 6,
					      .priority = 3,
					      .accepted_master = 2,
					      .node_type = TERN_WIRE_NODE_ELECTABLE};
		return tern_wire_promise_encode(b, cap, &m);
	}
	case TERN_WIRE_ACCEPT: {
		struct tern_wire_ballot m = {.proposal = 8, .master = 3};
		return tern_wire_accept_encode(b, cap, &m);
	}
	case TERN_WIRE_ACCEPTED: {
		struct tern_wire_ballot m = {.proposal = 8, .master = 3};
		return tern_wire_accepted_encode(b, cap, &m);
	}
	case TERN_WIRE_RESULT: {
		struct tern_wire_ballot m = {.proposal = 8, .master = 3};
		return tern_wire_result_encode(b, cap, &m);
	}
	case TERN_WIRE_GROUP_UPDATE: {
		struct tern_wire_group_update g = sample_group();
		return tern_wire_group_update_encode(b, cap, &g);
	}
	case TERN_WIRE_ADMIN_REQ: {
		struct tern_wire_admin_req m = {.req_id = 1,
						.op = TERN_WIRE_ADMIN_TRANSFER_MASTER,
						.flags = TERN_WIRE_ADMIN_F_FORCE,
						.target = 3,
						.timeout_ms = 5000};
		return tern_wire_admin_req_encode(b, cap, &m);
	}
	case TERN_WIRE_ADMIN_REPLY: {
		struct tern_wire_admin_reply m = {.req_id = 1,
						  .result = -110,
						  .op = TERN_WIRE_ADMIN_TRANSFER_MASTER,
						  .state = TERN_WIRE_STATE_MASTER,
						  .master = 1,
						  .term = 9,
						  .last_vlsn = 500,
						  .commit_vlsn = 499,
						  .durable_vlsn = 498};
		snprintf(m.text, sizeof(m.text), "target 3 did not catch up in 5000 ms");
		return tern_wire_admin_reply_encode(b, cap, &m);
	}
	case TERN_WIRE_RESTORE_REQ: {
		struct tern_wire_restore_req m = {.session = 77,
						  .op = TERN_WIRE_RESTORE_RESUME,
						  .file = 2,
						  .max_chunk = 8192,
						  .offset = 65536};
		return tern_wire_restore_req_encode(b, cap, &m);
	}
	case TERN_WIRE_RESTORE_CHUNK: {
		struct tern_wire_restore_chunk m = {.session = 77,
						    .file = 2,
						    .flags = TERN_WIRE_RESTORE_F_LAST_IN_FILE,
						    .offset = 65536,
						    .file_size = 65541,
						    .len = 5,
						    .data = payload_a};
		snprintf(m.name, sizeof(m.name), "00000002.tlg");
		return tern_wire_restore_chunk_encode(b, cap, &m);
	}
	case TERN_WIRE_RESTORE_CHUNK_ACK: {
		struct tern_wire_restore_chunk_ack m = {
			.session = 77, .file = 2, .next_offset = 65541, .status = 0, .credit = 8};
		return tern_wire_restore_chunk_ack_encode(b, cap, &m);
	}
	default:
		return -EINVAL;
	}
}

#endif /* TERN_TESTS_WIRE_SAMPLES_H */
