/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd: one member of a Tern replication group (DESIGN.md 2), over the dpdk or the
 * kernel udp driver. EAL arguments come before `--`, Tern's after; --help has the whole
 * story. It opens a tern_rep, runs until SIGINT or SIGTERM, then closes cleanly (final
 * fdatasync, log closed, EAL cleaned up) and prints one summary line. On the master it
 * can also generate load (--load, or `load` commands on stdin with --commands) and print
 * latency percentiles and the per-stage breakdown the datapath timestamps give.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include <tern_common.h>
#include <tern_diag.h>
#include <tern_errno.h>
#include <tern_feed.h>
#include <tern_log.h>
#include <tern_rep.h>
#include <tern_time.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

#define PROG "ternd"

static const char usage_text[] =
	"Usage: ternd [EAL options --] --group-id N --node ID --home DIR --config FILE [options]\n"
	"\n"
	"One member of a Tern replication group. EAL options (before --) are needed for\n"
	"--net dpdk (the vdevs or NIC, --file-prefix, --no-huge ...); with --net udp they are\n"
	"optional (without them the EAL is not initialised). Runs until SIGINT or SIGTERM,\n"
	"then closes: final fdatasync, log closed, rte_eal_cleanup(), and one summary line\n"
	"`ternd node=.. state=.. start_vlsn=.. last_vlsn=.. entries_received=.. ...`.\n"
	"\n"
	"Group:\n"
	"  --group-id N          group id (frames of other groups are rejected)\n"
	"  --node ID             this node's id (a member in the config)\n"
	"  --config FILE         the group, one line per member:\n"
	"                          <id> <name> <electable|secondary> <mac> <ipv4> <udp-port> "
	"<dpdk-port>\n"
	"                        and one line `master <id>` (the static master); `#` starts a\n"
	"                        comment. <mac> is xx:xx:xx:xx:xx:xx or - (the port's own MAC\n"
	"                        for this node; broadcast to a peer: fine on point-to-point "
	"links);\n"
	"                        <dpdk-port> is the ethdev port of THIS node that reaches the\n"
	"                        member: a port id, an ethdev name (net_vhost0) or - (port 0).\n"
	"                        A NIC behind a switch: the same port for all. A mesh of links:\n"
	"                        it differs per node, so override it with --port.\n"
	"  --port ID=PORT        the ethdev port (id or name) that reaches member ID (repeatable)\n"
	"  --home DIR            log directory (created when missing)\n"
	"\n"
	"Datapath:\n"
	"  --net dpdk|udp        network driver (default udp)\n"
	"  --net-args STR        driver arguments, key=value,... (see tern_net_dpdk.h / _udp.h)\n"
	"  --poll busy|adaptive  idle policy of the datapath (default adaptive)\n"
	"  --lcore N|auto|thread datapath on EAL worker lcore N, on the first worker lcore if\n"
	"                        there is one (auto, the default), or on a pthread\n"
	"  --idle-block-us N     adaptive: longest block in tern_net_wait when idle; blocks\n"
	"                        also end at the node's next timer (default 100000)\n"
	"  --yield-us N          adaptive: idle time spent in sched_yield before blocking\n"
	"                        (default 1000; frames, storage completions and commits\n"
	"                        end a block at once)\n"
	"\n"
	"Commits:\n"
	"  --durability L,R,A    default durability: local sync, replica sync, ack policy, e.g.\n"
	"                        sync,no_sync,simple_majority (sync | write_no_sync | no_sync;\n"
	"                        all | simple_majority | none)\n"
	"  --ack-timeout-ms N    default ack timeout (default 5000)\n"
	"  --gap-us N            --load: pause before each submission (default 0)\n"
	"\n"
	"Load generator (on the master; elsewhere it reports that commits fail):\n"
	"  --load N              commit N entries once open, then keep running\n"
	"  --entry-size B        payload bytes (default 100)\n"
	"  --outstanding K       async commits in flight (default 1)\n"
	"                        prints `load commits=N ok=.. failed=.. first_err=.. "
	"commits_per_s=..\n"
	"                        p50_us=.. p99_us=.. p999_us=.. max_us=..` and `load_stages ...`\n"
	"                        (means of queue, assign->local durable, assign->sent,\n"
	"                        sent->acked, to done, from the datapath's timestamps, and\n"
	"                        replica_us: the acking replica's arrival->durable, from\n"
	"                        its ACKs; 0 when no commit waited for a replica's disk)\n"
	"  --commands            read commands from stdin, one per line:\n"
	"                          load N [K [L,R,A [TIMEOUT_MS [GAP_US]]]]\n"
	"                                  as --load, with these; TIMEOUT_MS 0: the default;\n"
	"                                  GAP_US: pause before each submission\n"
	"                          stats                             print the summary line;\n"
	"                                  on a master also `replicas of=stats n=.. lag_N=..\n"
	"                                  lag_max_N=.. received_N=.. durable_N=..\n"
	"                                  streaming_N=..` (lag_max_N: the most replica N was\n"
	"                                  behind, in VLSNs, since the previous summary)\n"
	"                          dump                              tern_rep_dump to stdout\n"
	"                          quit                              close and exit\n"
	"\n"
	"At exit:\n"
	"  --dump FILE           write the log, one entry per line: `vlsn term type len crc32c`\n"
	"                        (of the payload), to FILE before closing\n"
	"  --probe               only initialise the EAL and list the ethdev ports; exit 0\n"
	"                        when there is one, 77 when there is none (for tests)\n"
	"  --help                this text\n"
	"\n"
	"Diagnostics go through rte_log when the EAL is up: --log-level='tern.*:debug'.\n";

struct load_req {
	uint64_t n;
	unsigned int k;
	uint32_t size;
	struct tern_durability dur;
	uint64_t timeout_ns;
	uint64_t gap_us; /* pause before each submission (pacing, to see idle wake-up) */
};

static struct {
	uint32_t group_id;
	bool group_set;
	long node;
	const char *home;
	const char *config;
	const char *net;
	const char *net_args;
	enum tern_net_poll_mode poll;
	int lcore;
	long idle_block_us;
	long yield_us;
	struct tern_durability dur;
	bool dur_set;
	uint64_t ack_timeout_ms;
	uint64_t load;
	uint64_t gap_us;
	uint32_t entry_size;
	unsigned int outstanding;
	bool commands;
	bool probe;
	const char *dump;
	struct {
		uint16_t id;
		const char *port;
	} port_override[TERN_REP_MEMBERS_MAX];
	unsigned int n_override;
} args = {
	.node = -1,
	.net = "udp",
	.poll = TERN_NET_POLL_ADAPTIVE,
	.lcore = TERN_REP_LCORE_AUTO,
	.idle_block_us = -1,
	.yield_us = -1,
	.ack_timeout_ms = 5000,
	.entry_size = 100,
	.outstanding = 1,
};

/* Per member: the dpdk port as written (resolved once the EAL is up). */
static const char *member_port[TERN_REP_MEMBERS_MAX];
static char *config_text; /* keeps the strings member_port points to */
static bool eal_up;

/* ---- diagnostics through rte_log ---- */

static void
diag_map(struct tern_diag_component *c, void *arg)
{
	int type;

	(void)arg;
	type = rte_log_register_type_and_pick_level(c->name, (uint32_t)c->level);
	if (type < 0)
		return;
	c->sink_priv = (void *)(intptr_t)(type + 1);
	/* --log-level='tern.*:debug' picked the level: let the component format at it. */
	c->level = rte_log_get_level((uint32_t)type);
}

static void
diag_sink(void *arg, struct tern_diag_component *c, int level, const char *msg)
{
	intptr_t t = (intptr_t)c->sink_priv;

	(void)arg;
	if (t == 0) {
		fprintf(stderr, "%s: %s\n", c->name, msg);
		return;
	}
	rte_log((uint32_t)level, (uint32_t)(t - 1), "%s: %s\n", c->name, msg);
}

/* ---- parsing ---- */

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
parse_sync(const char *s, uint8_t *v)
{
	if (strcmp(s, "sync") == 0)
		*v = TERN_LOG_SYNC;
	else if (strcmp(s, "write_no_sync") == 0)
		*v = TERN_LOG_WRITE_NO_SYNC;
	else if (strcmp(s, "no_sync") == 0)
		*v = TERN_LOG_NO_SYNC;
	else
		return -1;
	return 0;
}

static int
parse_durability(const char *s, struct tern_durability *d)
{
	char buf[128], *l, *r, *a;

	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	l = buf;
	r = strchr(l, ',');
	if (r == NULL)
		return -1;
	*r++ = '\0';
	a = strchr(r, ',');
	if (a == NULL)
		return -1;
	*a++ = '\0';
	if (parse_sync(l, &d->local_sync) != 0 || parse_sync(r, &d->replica_sync) != 0)
		return -1;
	if (strcmp(a, "all") == 0)
		d->ack_policy = TERN_ACK_ALL;
	else if (strcmp(a, "simple_majority") == 0)
		d->ack_policy = TERN_ACK_SIMPLE_MAJORITY;
	else if (strcmp(a, "none") == 0)
		d->ack_policy = TERN_ACK_NONE;
	else
		return -1;
	return 0;
}

static const char *
sync_name(uint8_t s)
{
	return s == TERN_LOG_SYNC	     ? "sync"
	       : s == TERN_LOG_WRITE_NO_SYNC ? "write_no_sync"
					     : "no_sync";
}

static const char *
ack_name(uint8_t a)
{
	return a == TERN_ACK_ALL ? "all" : a == TERN_ACK_NONE ? "none" : "simple_majority";
}

#define CFG_ERR(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, PROG ": %s:%u: ", path, line);                                     \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		goto fail;                                                                         \
	} while (0)

/* Read the group from @p path into @p o (members, master). @return 0 or -1 (reported). */
static int
config_load(const char *path, struct tern_rep_opts *o)
{
	FILE *f = fopen(path, "r");
	long sz;
	char *p, *next;
	unsigned int line = 0;
	bool master_set = false;

	if (f == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, PROG ": %s: cannot read\n", path);
		fclose(f);
		return -1;
	}
	config_text = calloc(1, (size_t)sz + 1);
	if (config_text == NULL || fread(config_text, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, PROG ": %s: cannot read\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	for (p = config_text; p != NULL && *p != '\0'; p = next) {
		char *tok[8], *save = NULL, *hash;
		unsigned int nt = 0;
		uint64_t v;

		line++;
		next = strchr(p, '\n');
		if (next != NULL)
			*next++ = '\0';
		hash = strchr(p, '#');
		if (hash != NULL)
			*hash = '\0';
		for (char *t = strtok_r(p, " \t\r", &save); t != NULL;
		     t = strtok_r(NULL, " \t\r", &save)) {
			if (nt == TERN_DIM(tok))
				CFG_ERR("too many fields");
			tok[nt++] = t;
		}
		if (nt == 0)
			continue;
		if (strcmp(tok[0], "master") == 0) {
			if (nt != 2 || parse_u64(tok[1], &v) != 0 || v > TERN_WIRE_NODE_MAX)
				CFG_ERR("want `master <id>`");
			if (master_set)
				CFG_ERR("a second master line");
			o->master = (uint16_t)v;
			master_set = true;
			continue;
		}
		if (nt != 7)
			CFG_ERR("want `<id> <name> <electable|secondary> <mac> <ipv4> <udp-port> "
				"<dpdk-port>` or `master <id>`, got %u fields",
				nt);
		{
			struct tern_rep_member *m = &o->members[o->n_members];
			struct in_addr a;

			if (o->n_members == TERN_REP_MEMBERS_MAX)
				CFG_ERR("more than %u members", TERN_REP_MEMBERS_MAX);
			if (parse_u64(tok[0], &v) != 0 || v > TERN_WIRE_NODE_MAX)
				CFG_ERR("bad node id '%s' (0 to %u)", tok[0], TERN_WIRE_NODE_MAX);
			for (unsigned int i = 0; i < o->n_members; i++)
				if (o->members[i].id == v)
					CFG_ERR("node id %" PRIu64 " listed twice", v);
			memset(m, 0, sizeof(*m));
			m->id = (uint16_t)v;
			m->net.node_id = m->id;
			if (strlen(tok[1]) >= sizeof(m->name))
				CFG_ERR("name '%s' longer than %zu", tok[1], sizeof(m->name) - 1);
			memcpy(m->name, tok[1], strlen(tok[1]) + 1);
			if (strcmp(tok[2], "electable") == 0)
				m->type = TERN_WIRE_NODE_ELECTABLE;
			else if (strcmp(tok[2], "secondary") == 0)
				m->type = TERN_WIRE_NODE_SECONDARY;
			else
				CFG_ERR("bad node type '%s' (electable or secondary)", tok[2]);
			if (tern_net_mac_parse(tok[3], m->net.mac) != 0)
				CFG_ERR("bad MAC '%s' (xx:xx:xx:xx:xx:xx or -)", tok[3]);
			if (inet_pton(AF_INET, tok[4], &a) != 1)
				CFG_ERR("bad IPv4 address '%s'", tok[4]);
			m->net.ipv4 = a.s_addr;
			if (parse_u64(tok[5], &v) != 0 || v == 0 || v > 65535)
				CFG_ERR("bad UDP port '%s' (1 to 65535)", tok[5]);
			m->net.udp_port = (uint16_t)v;
			member_port[o->n_members] = tok[6];
			o->n_members++;
		}
	}
	if (!master_set) {
		fprintf(stderr, PROG ": %s: no `master <id>` line\n", path);
		return -1;
	}
	if (o->n_members == 0) {
		fprintf(stderr, PROG ": %s: no members\n", path);
		return -1;
	}
	return 0;
fail:
	return -1;
}

/* Resolve the members' dpdk ports (ids or ethdev names; --port overrides). */
static int
ports_resolve(struct tern_rep_opts *o)
{
	unsigned int i, j;

	for (j = 0; j < args.n_override; j++) {
		for (i = 0; i < o->n_members; i++)
			if (o->members[i].id == args.port_override[j].id)
				break;
		if (i == o->n_members) {
			fprintf(stderr, PROG ": --port %u=...: no such member\n",
				args.port_override[j].id);
			return -1;
		}
		member_port[i] = args.port_override[j].port;
	}
	for (i = 0; i < o->n_members; i++) {
		const char *s = member_port[i];
		uint64_t v;

		o->members[i].net.port = 0;
		if (s == NULL || strcmp(s, "-") == 0)
			continue;
		if (parse_u64(s, &v) == 0 && v < 65535) {
			o->members[i].net.port = (uint16_t)v;
			continue;
		}
		if (!eal_up || rte_eth_dev_get_port_by_name(s, &o->members[i].net.port) != 0) {
			fprintf(stderr, PROG ": member %u: no ethdev port named %s\n",
				o->members[i].id, s);
			return -1;
		}
	}
	return 0;
}

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

static int
parse_args(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(a, "--commands") == 0) {
			args.commands = true;
			continue;
		}
		if (strcmp(a, "--probe") == 0) {
			args.probe = true;
			return 0;
		}
		if (v == NULL) {
			fprintf(stderr, PROG ": %s needs a value (try --help)\n", a);
			return -1;
		}
		i++;
		if (strcmp(a, "--group-id") == 0) {
			if (parse_u64(v, &n) != 0 || n > UINT32_MAX)
				goto bad;
			args.group_id = (uint32_t)n;
			args.group_set = true;
		} else if (strcmp(a, "--node") == 0) {
			if (parse_u64(v, &n) != 0 || n > TERN_WIRE_NODE_MAX)
				goto bad;
			args.node = (long)n;
		} else if (strcmp(a, "--home") == 0) {
			args.home = v;
		} else if (strcmp(a, "--config") == 0) {
			args.config = v;
		} else if (strcmp(a, "--net") == 0) {
			if (strcmp(v, "dpdk") != 0 && strcmp(v, "udp") != 0)
				goto bad;
			args.net = v;
		} else if (strcmp(a, "--net-args") == 0) {
			args.net_args = v;
		} else if (strcmp(a, "--port") == 0) {
			const char *eq = strchr(v, '=');
			char id[16];

			if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(id) ||
			    args.n_override == TERN_REP_MEMBERS_MAX)
				goto bad;
			memcpy(id, v, (size_t)(eq - v));
			id[eq - v] = '\0';
			if (parse_u64(id, &n) != 0 || n > TERN_WIRE_NODE_MAX || eq[1] == '\0')
				goto bad;
			args.port_override[args.n_override].id = (uint16_t)n;
			args.port_override[args.n_override].port = eq + 1;
			args.n_override++;
		} else if (strcmp(a, "--poll") == 0) {
			if (strcmp(v, "busy") == 0)
				args.poll = TERN_NET_POLL_BUSY;
			else if (strcmp(v, "adaptive") == 0)
				args.poll = TERN_NET_POLL_ADAPTIVE;
			else
				goto bad;
		} else if (strcmp(a, "--lcore") == 0) {
			if (strcmp(v, "auto") == 0)
				args.lcore = TERN_REP_LCORE_AUTO;
			else if (strcmp(v, "thread") == 0)
				args.lcore = TERN_REP_LCORE_PTHREAD;
			else if (parse_u64(v, &n) == 0 && n < 1024)
				args.lcore = (int)n;
			else
				goto bad;
		} else if (strcmp(a, "--idle-block-us") == 0) {
			if (parse_u64(v, &n) != 0 || n == 0 || n > 1000000)
				goto bad;
			args.idle_block_us = (long)n;
		} else if (strcmp(a, "--yield-us") == 0) {
			if (parse_u64(v, &n) != 0 || n > 1000000)
				goto bad;
			args.yield_us = (long)n;
		} else if (strcmp(a, "--durability") == 0) {
			if (parse_durability(v, &args.dur) != 0)
				goto bad;
			args.dur_set = true;
		} else if (strcmp(a, "--ack-timeout-ms") == 0) {
			if (parse_u64(v, &n) != 0 || n == 0 || n > 3600000)
				goto bad;
			args.ack_timeout_ms = n;
		} else if (strcmp(a, "--load") == 0) {
			if (parse_u64(v, &n) != 0)
				goto bad;
			args.load = n;
		} else if (strcmp(a, "--gap-us") == 0) {
			if (parse_u64(v, &args.gap_us) != 0)
				goto bad;
		} else if (strcmp(a, "--entry-size") == 0) {
			if (parse_u64(v, &n) != 0 || n > (1U << 20))
				goto bad;
			args.entry_size = (uint32_t)n;
		} else if (strcmp(a, "--outstanding") == 0) {
			if (parse_u64(v, &n) != 0 || n == 0 || n > 65536)
				goto bad;
			args.outstanding = (unsigned int)n;
		} else if (strcmp(a, "--dump") == 0) {
			args.dump = v;
		} else {
			fprintf(stderr, PROG ": unknown option %s (try --help)\n", a);
			return -1;
		}
		continue;
	bad:
		fprintf(stderr, PROG ": bad value '%s' for %s (try --help)\n", v, a);
		return -1;
	}
	if (!args.group_set || args.node < 0 || args.home == NULL || args.config == NULL) {
		fprintf(stderr, PROG ": --group-id, --node, --home and --config are required "
				     "(try --help)\n");
		return -1;
	}
	return 0;
}

/* ---- load generator ---- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_us(const uint64_t *v, uint64_t n, double p)
{
	uint64_t i;

	if (n == 0)
		return 0;
	i = (uint64_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

static void
load_run(struct tern_rep *rep, const struct load_req *lr)
{
	struct tern_rep_txn *t = calloc(lr->k, sizeof(*t));
	uint8_t *buf = calloc(lr->k, (size_t)lr->size + 8);
	uint64_t *lat = calloc(lr->n + 1, sizeof(*lat));
	uint64_t submitted = 0, done = 0, ok = 0, failed = 0, t0, t1;
	double s_queue = 0, s_local = 0, s_sent = 0, s_ack = 0, s_done = 0, s_hold = 0;
	uint64_t n_local = 0, n_sent = 0, n_ack = 0, n_hold = 0;
	int first_err = 0;
	unsigned int first_master = TERN_WIRE_NODE_ALL, first_needed = 0, first_received = 0;
	unsigned int i;

	if (t == NULL || buf == NULL || lat == NULL) {
		fprintf(stderr, PROG ": load: out of memory\n");
		goto out;
	}
	/* Payloads differ by their first 8 bytes (the commit's number); the rest is fixed. */
	for (i = 0; i < lr->k; i++)
		for (uint32_t b = 8; b < lr->size; b++)
			buf[(size_t)i * (lr->size + 8) + b] = (uint8_t)(i * 31 + b);
	t0 = tern_rep_now_ns(rep);
	for (;;) {
		/*
		 * Keep K in flight. Commits take slots in turn (commit c uses slot c % K) and
		 * are collected in order, so submitting and finding the oldest are O(1).
		 */
		while (submitted < lr->n && submitted - done < lr->k) {
			struct tern_rep_txn *burst[TERN_REP_SUBMIT_BURST_MAX];
			unsigned int nb = 0;
			int rc;

			/* All that may go, in one burst (one commit a time with a gap). */
			while (nb < TERN_REP_SUBMIT_BURST_MAX && submitted + nb < lr->n &&
			       submitted + nb - done < lr->k && (nb == 0 || lr->gap_us == 0)) {
				uint64_t c = submitted + nb;
				uint8_t *p;

				i = (unsigned int)(c % lr->k);
				p = buf + (size_t)i * (lr->size + 8);
				if (lr->gap_us > 0) {
					struct timespec g = {
						.tv_sec = (time_t)(lr->gap_us / 1000000),
						.tv_nsec = (long)(lr->gap_us % 1000000) * 1000,
					};

					nanosleep(&g, NULL);
				}
				memcpy(p, &c, 8 < lr->size ? 8 : lr->size);
				tern_rep_txn_init(rep, &t[i], p, lr->size);
				t[i].dur = lr->dur;
				t[i].timeout_ns = lr->timeout_ns;
				t[i].txn_id = c + 1;
				burst[nb++] = &t[i];
			}
			rc = tern_rep_submit_burst(rep, burst, nb);
			if (rc == -EAGAIN)
				break;
			if (rc < 0) {
				fprintf(stderr, PROG ": load: submit: %s\n", tern_strerror(rc));
				goto out;
			}
			submitted += (uint64_t)rc;
			if ((unsigned int)rc < nb)
				break; /* the ring is full: the rest go next time */
		}
		if (done == submitted) {
			if (submitted == lr->n)
				break;
			sched_yield(); /* the ring is full of other threads' commits */
			continue;
		}
		/* Wait for the oldest in flight. */
		{
			unsigned int o = (unsigned int)(done % lr->k);
			const struct tern_commit_done *d;
			int rc;

			rc = tern_rep_wait(rep, &t[o], TERN_TIME_NEVER);
			d = &t[o].done;
			if (rc == 0) {
				ok++;
			} else {
				failed++;
				if (first_err == 0) {
					first_err = rc;
					first_master = d->master;
					first_needed = d->acks_needed;
					first_received = d->acks_received;
				}
			}
			/* A pass reads the clock once: a txn submitted during the pass that
			 * completes it can look a little older than its submit stamp. */
			lat[done++] =
				d->t_done_ns > d->t_submit_ns ? d->t_done_ns - d->t_submit_ns : 0;
			/* Signed differences, for the same reason. */
			if (d->t_assign_ns != 0)
				s_queue += (double)(int64_t)(d->t_assign_ns - d->t_submit_ns);
			if (d->t_local_ns != 0 && d->t_assign_ns != 0) {
				s_local += (double)(int64_t)(d->t_local_ns - d->t_assign_ns);
				n_local++;
			}
			if (d->t_sent_ns != 0 && d->t_assign_ns != 0) {
				s_sent += (double)(int64_t)(d->t_sent_ns - d->t_assign_ns);
				n_sent++;
			}
			if (d->t_acked_ns != 0 && d->t_sent_ns != 0) {
				s_ack += (double)(int64_t)(d->t_acked_ns - d->t_sent_ns);
				n_ack++;
			}
			if (d->replica_hold_ns != 0) {
				s_hold += (double)d->replica_hold_ns;
				n_hold++;
			}
			s_done += (double)(int64_t)(d->t_done_ns - d->t_submit_ns);
			t[o].state = TERN_REP_TXN_IDLE; /* slot free (its wait returned) */
		}
	}
	t1 = tern_rep_now_ns(rep);
	qsort(lat, done, sizeof(*lat), cmp_u64);
	printf("load commits=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " first_err=%s "
	       "commits_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
	       "outstanding=%u size=%u durability=%s,%s,%s\n",
	       done, ok, failed, first_err != 0 ? tern_errname(first_err) : "none",
	       t1 > t0 ? (double)done * 1e9 / (double)(t1 - t0) : 0.0, pct_us(lat, done, 0.50),
	       pct_us(lat, done, 0.99), pct_us(lat, done, 0.999),
	       done ? (double)lat[done - 1] / 1000.0 : 0.0, lr->k, lr->size,
	       sync_name(lr->dur.local_sync), sync_name(lr->dur.replica_sync),
	       ack_name(lr->dur.ack_policy));
	printf("load_stages queue_us=%.2f local_us=%.2f sent_us=%.2f ack_us=%.2f total_us=%.2f "
	       "replica_us=%.2f\n",
	       done ? s_queue / (double)done / 1000.0 : 0.0,
	       n_local ? s_local / (double)n_local / 1000.0 : 0.0,
	       n_sent ? s_sent / (double)n_sent / 1000.0 : 0.0,
	       n_ack ? s_ack / (double)n_ack / 1000.0 : 0.0,
	       done ? s_done / (double)done / 1000.0 : 0.0,
	       n_hold ? s_hold / (double)n_hold / 1000.0 : 0.0);
	if (first_err != 0)
		printf("load_first_error err=%s master=%u acks_needed=%u acks_received=%u "
		       "text=\"%s\"\n",
		       tern_errname(first_err), first_master, first_needed, first_received,
		       tern_strerror(first_err));
out:
	free(t);
	free(buf);
	free(lat);
}

/* ---- main ---- */

static void
summary(struct tern_rep *rep, const char *what)
{
	struct tern_rep_stats st;
	uint64_t cyc;

	tern_rep_stats_get(rep, &st);
	cyc = st.cycles_busy + st.cycles_idle;
	printf("%s node=%ld state=%s master=%u term=%" PRIu64 " start_vlsn=%" PRIu64
	       " last_vlsn=%" PRIu64 " durable_vlsn=%" PRIu64 " commit_vlsn=%" PRIu64
	       " entries_received=%" PRIu64 " truncated=%" PRIu64 " syncups=%" PRIu64
	       " commits=%" PRIu64 " commits_ok=%" PRIu64 " commits_failed=%" PRIu64
	       " acks_timeouts=%" PRIu64 " frames_rx=%" PRIu64 " frames_tx=%" PRIu64
	       " frames_rejected=%" PRIu64 " wakes=%" PRIu64 " yields=%" PRIu64 " blocks=%" PRIu64
	       " busy_pct=%.1f lcore=%d\n",
	       what, args.node, tern_node_state_str(st.state), st.master, st.term, st.start_vlsn,
	       st.last_vlsn, st.durable_vlsn, st.commit_vlsn, st.node.entries_appended,
	       st.node.truncated, st.node.syncups, st.node.commits, st.node.commits_ok,
	       st.node.commits_failed, st.node.acks_timeouts, st.node.frames_rx, st.node.frames_tx,
	       st.node.frames_rejected, st.wakes, st.yields, st.blocks,
	       cyc ? 100.0 * (double)st.cycles_busy / (double)cyc : 0.0, st.lcore);
	/*
	 * On a master, a second line: per replica N, its lag in VLSNs now (lag_N) and the
	 * most since the previous summary (lag_max_N), and what it acknowledged.
	 */
	if (st.state != TERN_NODE_MASTER)
		return;
	printf("replicas of=%s n=%u", what, st.n_replicas);
	for (unsigned int i = 0; i < st.n_replicas; i++) {
		const struct tern_node_replica *r = &st.replicas[i];

		printf(" streaming_%u=%d received_%u=%" PRIu64 " durable_%u=%" PRIu64
		       " lag_%u=%" PRIu64 " lag_max_%u=%" PRIu64,
		       r->node_id, r->streaming, r->node_id, r->received_vlsn, r->node_id,
		       r->durable_vlsn, r->node_id, r->lag_vlsns, r->node_id, r->lag_max_vlsns);
	}
	printf("\n");
}

static void
on_state(void *arg, const struct tern_rep_state_change *c)
{
	(void)arg;
	printf("state=%s node=%ld master=%u term=%" PRIu64 "\n", tern_node_state_str(c->state),
	       args.node, c->master, c->term);
}

static void
trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* One command from stdin. @return 1 to quit. */
static int
command(struct tern_rep *rep, char *line, const struct tern_rep_opts *o)
{
	char *tok[6], *save = NULL;
	unsigned int nt = 0;

	trim(line);
	for (char *t = strtok_r(line, " \t", &save); t != NULL && nt < TERN_DIM(tok);
	     t = strtok_r(NULL, " \t", &save))
		tok[nt++] = t;
	if (nt == 0)
		return 0;
	if (strcmp(tok[0], "quit") == 0)
		return 1;
	if (strcmp(tok[0], "stats") == 0) {
		summary(rep, "stats");
	} else if (strcmp(tok[0], "dump") == 0) {
		tern_rep_dump(rep, stdout);
	} else if (strcmp(tok[0], "load") == 0) {
		struct load_req lr = {
			.k = args.outstanding, .size = args.entry_size, .dur = o->durability};
		uint64_t v;

		if (nt < 2 || parse_u64(tok[1], &lr.n) != 0)
			goto bad;
		if (nt > 2 && (parse_u64(tok[2], &v) != 0 || v == 0 || v > 65536))
			goto bad;
		if (nt > 2)
			lr.k = (unsigned int)v;
		if (nt > 3 && parse_durability(tok[3], &lr.dur) != 0)
			goto bad;
		if (nt > 4) {
			if (parse_u64(tok[4], &v) != 0)
				goto bad;
			lr.timeout_ns = tern_ms_to_ns(v);
		}
		if (nt > 5 && parse_u64(tok[5], &lr.gap_us) != 0)
			goto bad;
		load_run(rep, &lr);
	} else {
		goto bad;
	}
	printf("ok %s\n", tok[0]);
	return 0;
bad:
	printf("error: bad command (load N [K [L,R,A [TIMEOUT_MS [GAP_US]]]] | stats | dump | "
	       "quit)\n");
	return 0;
}

/* --probe: can the EAL start and create the ports? */
static int
probe(int sep, char **argv)
{
	uint16_t k, n;

	if (sep < 0) {
		fprintf(stderr, PROG ": --probe needs EAL options before --\n");
		return 2;
	}
	argv[sep] = argv[0];
	if (rte_eal_init(sep, argv) < 0) {
		printf("SKIP: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 77;
	}
	n = rte_eth_dev_count_avail();
	for (k = 0; k < n; k++) {
		char name[RTE_ETH_NAME_MAX_LEN];

		if (rte_eth_dev_get_name_by_port(k, name) == 0)
			printf("port id=%u name=%s\n", k, name);
	}
	for (k = 0; k < n; k++)
		rte_eth_dev_close(k);
	rte_eal_cleanup();
	printf("ports=%u\n", n);
	return n > 0 ? 0 : 77;
}

int
main(int argc, char **argv)
{
	struct tern_rep_opts o;
	struct tern_rep *rep = NULL;
	sigset_t sigs;
	int sep = -1, i, rc, sfd, ret = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	rc = sep < 0 ? parse_args(argc - 1, argv + 1) : parse_args(argc - sep - 1, argv + sep + 1);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (args.probe)
		return probe(sep, argv);

	tern_rep_opts_init(&o, sizeof(o));
	if (config_load(args.config, &o) != 0)
		return 2;
	o.group_id = args.group_id;
	o.self = (uint16_t)args.node;
	o.home = args.home;
	o.net_driver = args.net;
	o.net_args = args.net_args;
	o.poll = args.poll;
	o.lcore = args.lcore;
	if (args.idle_block_us > 0)
		o.idle_block_us = (uint64_t)args.idle_block_us;
	if (args.yield_us >= 0)
		o.yield_us = (uint64_t)args.yield_us;
	if (args.dur_set)
		o.durability = args.dur;
	o.ack_timeout_ns = tern_ms_to_ns(args.ack_timeout_ms);

	/*
	 * SIGINT/SIGTERM are read from a signalfd by the main thread: block them before the
	 * EAL and tern_rep start threads, so those inherit the mask.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, PROG ": signalfd: %s\n", strerror(errno));
		return 1;
	}

	if (sep >= 0) {
		argv[sep] = argv[0];
		if (rte_eal_init(sep, argv) < 0) {
			fprintf(stderr, PROG ": rte_eal_init: %s\n", rte_strerror(rte_errno));
			return 1;
		}
		eal_up = true;
		tern_diag_foreach(diag_map, NULL);
		tern_diag_set_sink(diag_sink, NULL, NULL, NULL);
		if (strcmp(args.net, "dpdk") == 0 && rte_eth_dev_count_avail() == 0) {
			/* A vdev that fails to probe does not fail rte_eal_init (FABRIC.md). */
			fprintf(stderr,
				PROG ": no ethdev port after rte_eal_init (check the vdevs)\n");
			ret = 1;
			goto out_eal;
		}
	} else if (strcmp(args.net, "dpdk") == 0) {
		fprintf(stderr, PROG ": --net dpdk needs EAL options before --\n");
		return 2;
	}
	if (strcmp(args.net, "dpdk") == 0 && ports_resolve(&o) != 0) {
		ret = 2;
		goto out_eal;
	}

	rc = tern_rep_open(&o, &rep);
	if (rc != 0) {
		fprintf(stderr, PROG ": cannot open node %ld: %s\n", args.node, tern_strerror(rc));
		ret = 1;
		goto out_eal;
	}
	tern_rep_listener_add(rep, on_state, NULL);
	printf("event=open node=%ld net=%s poll=%s durability=%s,%s,%s ack_timeout_ms=%" PRIu64
	       "\n",
	       args.node, args.net, args.poll == TERN_NET_POLL_BUSY ? "busy" : "adaptive",
	       sync_name(o.durability.local_sync), sync_name(o.durability.replica_sync),
	       ack_name(o.durability.ack_policy), args.ack_timeout_ms);

	if (args.load > 0) {
		struct load_req lr = {.n = args.load,
				      .k = args.outstanding,
				      .size = args.entry_size,
				      .dur = o.durability,
				      .gap_us = args.gap_us};

		load_run(rep, &lr);
	}

	/*
	 * poll() sees only what the kernel still holds: with a buffered stdin, a second
	 * command that came in the same read() would wait in stdio until more input came.
	 * Commands are rare, so read them unbuffered.
	 */
	if (args.commands)
		setvbuf(stdin, NULL, _IONBF, 0);
	for (;;) {
		struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN},
				       {.fd = STDIN_FILENO, .events = POLLIN}};

		if (poll(pf, args.commands ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				printf("event=signal sig=%u\n", si.ssi_signo);
			break;
		}
		if (args.commands && (pf[1].revents & (POLLIN | POLLHUP))) {
			char line[256];

			if (fgets(line, sizeof(line), stdin) == NULL) {
				/* stdin closed: keep running until a signal */
				args.commands = false;
				continue;
			}
			if (command(rep, line, &o))
				break;
		}
	}

	if (args.dump != NULL) {
		FILE *f = fopen(args.dump, "w");

		if (f == NULL) {
			fprintf(stderr, PROG ": %s: %s\n", args.dump, strerror(errno));
			ret = 1;
		} else {
			rc = tern_rep_log_dump(rep, f);
			if (fclose(f) != 0 || rc != 0) {
				fprintf(stderr, PROG ": dump to %s: %s\n", args.dump,
					tern_strerror(rc != 0 ? rc : -errno));
				ret = 1;
			}
		}
	}
	summary(rep, PROG);
	rc = tern_rep_close(rep);
	if (rc != 0) {
		fprintf(stderr, PROG ": close: %s\n", tern_strerror(rc));
		ret = 1;
	}
	printf("event=closed node=%ld rc=%d\n", args.node, rc);
out_eal:
	if (eal_up)
		rte_eal_cleanup();
	free(config_text);
	close(sfd);
	return ret;
}
