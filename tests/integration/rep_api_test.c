/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rep_api_test: the tern_rep runtime's API in one process, over the kernel udp driver on
 * 127.0.0.1 and io_uring in a temp dir, without the EAL (the datapath on a pthread).
 * An integration test (real threads, sockets and files), not a unit test: it needs
 * io_uring, and exits 77 when the kernel refuses it.
 *
 * Checks: listeners get the current state at once, every transition after, and SHUTDOWN
 * at close, on the control thread; async submit/wait and blocking commit return VLSNs in
 * order; a txn in flight cannot be submitted again (-EBUSY) and a zero-timeout wait says
 * -ETIMEDOUT until it completes; a txn is reusable once done; four threads committing through a
 * 2-slot ring (full most of the time: committers sleep until there is room) all succeed with
 * distinct VLSNs; a replica refuses commits with -TERN_ENOTMASTER naming the master; under ALL with
 * the replica gone a commit fails with -TERN_EACKS after its timeout, with needed/received counts,
 * and a short wait on one returns -ETIMEDOUT in time even with busy threads on its CPU, and
 * two threads waiting on one are both woken; a burst submit queues a prefix in order, up to
 * the first txn in flight;
 * stats and dumps work; a reopened node recovers its log and continues its VLSNs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tern_common.h>
#include <tern_errno.h>
#include <tern_feed.h>
#include <tern_log.h>
#include <tern_rep.h>
#include <tern_time.h>
#include <tern_wire.h>
#include <tern_wire_msgs.h>

static int failures;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                        \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

#define CHECK_RC(x, want)                                                                          \
	do {                                                                                       \
		int rc_ = (x);                                                                     \
		if (rc_ != (want)) {                                                               \
			printf("FAIL %s:%d: %s = %s, want %s\n", __FILE__, __LINE__, #x,           \
			       tern_errname(rc_), tern_errname(want));                             \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

struct seen {
	pthread_mutex_t lock;
	enum tern_node_state s[32];
	pthread_t thread[32];
	unsigned int n;
};

static void
listener(void *arg, const struct tern_rep_state_change *c)
{
	struct seen *w = arg;

	pthread_mutex_lock(&w->lock);
	if (w->n < 32) {
		w->thread[w->n] = pthread_self();
		w->s[w->n++] = c->state;
	}
	pthread_mutex_unlock(&w->lock);
}

static void
opts_group(struct tern_rep_opts *o, uint16_t self, unsigned int n, const char *home, uint16_t base)
{
	unsigned int i;

	tern_rep_opts_init(o, sizeof(*o));
	o->group_id = 42;
	o->self = self;
	o->master = 1;
	o->home = home;
	o->net_driver = "udp";
	o->n_members = n;
	for (i = 0; i < n; i++) {
		struct tern_rep_member *m = &o->members[i];

		m->id = (uint16_t)(i + 1);
		m->type = TERN_WIRE_NODE_ELECTABLE;
		snprintf(m->name, sizeof(m->name), "n%u", i + 1);
		m->net.ipv4 = htonl(0x7f000001);
		m->net.udp_port = (uint16_t)(base + i + 1);
	}
}

struct committer {
	struct tern_rep *rep;
	unsigned int n;
	uint64_t vlsn[256];
	int err;
};

static void *
commit_thread(void *arg)
{
	struct committer *c = arg;
	char payload[64];

	for (unsigned int i = 0; i < c->n; i++) {
		int rc;

		snprintf(payload, sizeof(payload), "thread commit %u", i);
		rc = tern_rep_commit(c->rep, payload, (uint32_t)strlen(payload), NULL, &c->vlsn[i]);
		if (rc != 0 && c->err == 0)
			c->err = rc;
	}
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
wait_state(struct tern_rep *rep, enum tern_node_state want)
{
	struct tern_rep_state_change c;

	for (int i = 0; i < 500; i++) {
		tern_rep_state(rep, &c);
		if (c.state == want)
			return;
		usleep(10000);
	}
	printf("FAIL: state %s never reached\n", tern_node_state_str(want));
	failures++;
}

/* One master alone: the API, the ring, threads, listeners, close. */
static int
solo(const char *dir, uint16_t base)
{
	struct tern_rep_opts o;
	struct tern_rep *rep;
	struct tern_rep_txn t[8];
	struct tern_rep_stats st;
	struct committer c[4];
	pthread_t th[4];
	struct seen w = {.lock = PTHREAD_MUTEX_INITIALIZER};
	uint64_t all[4 * 256], vlsn = 0;
	char home[512], buf[8][32];
	unsigned int i, k, n_all = 0;
	FILE *f;
	int rc;

	snprintf(home, sizeof(home), "%s/solo", dir);
	opts_group(&o, 1, 1, home, base);
	o.commit_ring = 2; /* one usable slot: committers meet a full ring */
	rc = tern_rep_open(&o, &rep);
	if (rc == -ENOSYS || rc == -EPERM) {
		printf("SKIP: io_uring is not available here (%s)\n", tern_strerror(rc));
		return 77;
	}
	CHECK_RC(rc, 0);
	if (rc != 0)
		return 1;
	wait_state(rep, TERN_NODE_MASTER);
	usleep(20000); /* let the control thread deliver it */
	CHECK_RC(tern_rep_listener_add(rep, listener, &w), 0);
	CHECK(w.n == 1 && w.s[0] == TERN_NODE_MASTER);
	CHECK(w.n == 1 && pthread_equal(w.thread[0], pthread_self()));
	CHECK(tern_rep_master(rep) == 1);

	/* async: several in flight; each completes once with the next VLSN */
	for (i = 0; i < 8; i++) {
		snprintf(buf[i], sizeof(buf[i]), "async %u", i);
		tern_rep_txn_init(rep, &t[i], buf[i], (uint32_t)strlen(buf[i]));
		CHECK_RC(tern_rep_wait(rep, &t[i], 0), -EINVAL); /* never submitted */
		do
			rc = tern_rep_submit(rep, &t[i]);
		while (rc == -EAGAIN && tern_rep_wait(rep, &t[i - 1], TERN_TIME_NEVER) >= 0);
		CHECK_RC(rc, 0);
	}
	for (i = 0; i < 8; i++) {
		CHECK_RC(tern_rep_wait(rep, &t[i], 5 * TERN_NS_PER_S), 0);
		CHECK(t[i].done.vlsn == i + 1);
		CHECK(t[i].done.t_done_ns >= t[i].done.t_assign_ns);
		CHECK_RC(tern_rep_wait(rep, &t[i], 0), 0); /* stays done */
	}
	/* a txn can be reused once done */
	CHECK_RC(tern_rep_submit(rep, &t[0]), 0);
	CHECK_RC(tern_rep_wait(rep, &t[0], TERN_TIME_NEVER), 0);
	CHECK(t[0].done.vlsn == 9);
	CHECK_RC(tern_rep_commit(rep, "blocking", 8, NULL, &vlsn), 0);
	CHECK(vlsn == 10);

	/* MPSC: four threads through a one-slot ring */
	for (k = 0; k < 4; k++) {
		c[k] = (struct committer){.rep = rep, .n = 256};
		pthread_create(&th[k], NULL, commit_thread, &c[k]);
	}
	for (k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		CHECK_RC(c[k].err, 0);
		for (i = 0; i < c[k].n; i++)
			all[n_all++] = c[k].vlsn[i];
	}
	qsort(all, n_all, sizeof(all[0]), cmp_u64);
	for (i = 0; i < n_all; i++)
		if (all[i] != 11 + i) {
			printf("FAIL: thread commits' VLSNs are not 11..%u (got %" PRIu64
			       " at %u)\n",
			       10 + n_all, all[i], i);
			failures++;
			break;
		}

	CHECK_RC(tern_rep_stats_get(rep, &st), 0);
	CHECK(st.completed == 10 + n_all);
	CHECK(st.last_vlsn == 10 + n_all);
	CHECK(st.ring_full > 0);
	CHECK(st.state == TERN_NODE_MASTER && st.lcore == -1);
	f = tmpfile();
	CHECK(f != NULL);
	if (f != NULL) {
		char line[128];
		unsigned int lines = 0;
		uint64_t v, term;
		unsigned int type, len, crc;

		CHECK_RC(tern_rep_log_dump(rep, f), 0);
		rewind(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			lines++;
			if (sscanf(line, "%" SCNu64 " %" SCNu64 " %u %u %x", &v, &term, &type, &len,
				   &crc) != 5 ||
			    v != lines || type != TERN_LOG_TYPE_USER) {
				printf("FAIL: log dump line %u: %s", lines, line);
				failures++;
				break;
			}
		}
		CHECK(lines == 10 + n_all);
		fclose(f);
	}
	f = tmpfile();
	if (f != NULL) {
		tern_rep_dump(rep, f);
		CHECK(ftell(f) > 100);
		fclose(f);
	}

	CHECK_RC(tern_rep_close(rep), 0);
	CHECK(w.n >= 2 && w.s[w.n - 1] == TERN_NODE_SHUTDOWN);
	CHECK(w.n >= 2 && !pthread_equal(w.thread[w.n - 1], pthread_self()));

	/* reopen: the log is recovered, VLSNs continue */
	rc = tern_rep_open(&o, &rep);
	CHECK_RC(rc, 0);
	if (rc == 0) {
		wait_state(rep, TERN_NODE_MASTER);
		CHECK_RC(tern_rep_commit(rep, "again", 5, NULL, &vlsn), 0);
		CHECK(vlsn == 11 + n_all);
		CHECK_RC(tern_rep_stats_get(rep, &st), 0);
		CHECK(st.start_vlsn == 10 + n_all);
		CHECK_RC(tern_rep_close(rep), 0);
	}
	return 0;
}

static volatile int hogs_stop;

/* A busy thread on CPU *@p arg. */
static void *
hog(void *arg)
{
	cpu_set_t cs;

	CPU_ZERO(&cs);
	CPU_SET(*(int *)arg, &cs);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	while (!hogs_stop)
		;
	return NULL;
}

/*
 * tern_rep_wait() spins a little before it sleeps, and the spin grows while commits
 * complete at once; it must still honour a short timeout when busy threads share the
 * waiter's CPU (a sched_yield() there gives away whole time slices). On master @p m whose
 * only replica is gone: ALL commits cannot complete.
 */
static void
wait_timeout_on_a_busy_cpu(struct tern_rep *m)
{
	struct tern_durability none = {TERN_LOG_NO_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_NONE};
	struct tern_durability all = {TERN_LOG_NO_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_ALL};
	static struct tern_rep_txn t[8];
	cpu_set_t cs, saved;
	pthread_t th[3];
	uint64_t worst = 0, vlsn;
	int cpu = sched_getcpu(), i, k, nh = 0;

	if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) != 0)
		return;
	CPU_ZERO(&cs);
	CPU_SET(cpu, &cs);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	hogs_stop = 0;
	for (k = 0; k < 3; k++)
		nh += pthread_create(&th[nh], NULL, hog, &cpu) == 0;
	for (i = 0; i < 8; i++) {
		uint64_t t0;

		for (k = 0; k < 50; k++)
			CHECK_RC(tern_rep_commit(m, "x", 1, &none, &vlsn), 0);
		tern_rep_txn_init(m, &t[i], "all", 3);
		t[i].dur = all;
		t[i].timeout_ns = 300 * TERN_NS_PER_MS;
		CHECK_RC(tern_rep_submit(m, &t[i]), 0);
		t0 = tern_rep_now_ns(m);
		CHECK_RC(tern_rep_wait(m, &t[i], 200 * TERN_NS_PER_US), -ETIMEDOUT);
		worst = TERN_MAX(worst, tern_rep_now_ns(m) - t0);
	}
	hogs_stop = 1;
	for (k = 0; k < nh; k++)
		pthread_join(th[k], NULL);
	pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	/* The scheduler may take a slice or two to run the waiter again; not hundreds. */
	if (worst >= 100 * TERN_NS_PER_MS)
		printf("a 200 us wait took %.1f ms\n", (double)worst / 1e6);
	CHECK(worst < 100 * TERN_NS_PER_MS);
	for (i = 0; i < 8; i++)
		CHECK_RC(tern_rep_wait(m, &t[i], TERN_TIME_NEVER), -TERN_EACKS);
}

struct waiter {
	struct tern_rep *rep;
	struct tern_rep_txn *t;
	int rc;
	uint64_t ns; /* how long its wait took */
};

static void *
waiter_thread(void *arg)
{
	struct waiter *w = arg;
	uint64_t t0 = tern_rep_now_ns(w->rep);

	w->rc = tern_rep_wait(w->rep, w->t, 5 * TERN_NS_PER_S);
	w->ns = tern_rep_now_ns(w->rep) - t0;
	return NULL;
}

/*
 * Two threads wait on one txn, an ALL commit that fails after its 300 ms ack timeout on
 * master @p m without its replica: both learn it then (the datapath wakes every sleeper),
 * not the second one only at its own 5 s timeout.
 */
static void
two_waiters_are_both_woken(struct tern_rep *m)
{
	struct tern_durability all = {TERN_LOG_NO_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_ALL};
	struct tern_rep_txn t;
	struct waiter w[2] = {{.rep = m, .t = &t}, {.rep = m, .t = &t}};
	pthread_t th[2];
	int i, n = 0;

	tern_rep_txn_init(m, &t, "two", 3);
	t.dur = all;
	t.timeout_ns = 300 * TERN_NS_PER_MS;
	CHECK_RC(tern_rep_submit(m, &t), 0);
	for (i = 0; i < 2; i++)
		n += pthread_create(&th[i], NULL, waiter_thread, &w[i]) == 0;
	CHECK(n == 2);
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		CHECK_RC(w[i].rc, -TERN_EACKS);
		CHECK(w[i].ns < 2 * TERN_NS_PER_S);
	}
}

/*
 * tern_rep_submit_burst() on master @p m without its replica: a burst is queued in order
 * (consecutive VLSNs); it stops at a txn in flight (-EBUSY when that is the first).
 */
static void
submit_burst_queues_a_prefix_in_order(struct tern_rep *m)
{
	struct tern_durability none = {TERN_LOG_NO_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_NONE};
	struct tern_durability all = {TERN_LOG_NO_SYNC, TERN_LOG_NO_SYNC, TERN_ACK_ALL};
	struct tern_rep_txn t[8], busy, *b[8], *mix[3] = {&t[0], &busy, &t[1]};
	unsigned int i;

	for (i = 0; i < 8; i++) {
		tern_rep_txn_init(m, &t[i], "burst", 5);
		t[i].dur = none;
		b[i] = &t[i];
	}
	CHECK_RC(tern_rep_submit_burst(m, b, 0), 0);
	CHECK_RC(tern_rep_submit_burst(m, b, 8), 8);
	for (i = 0; i < 8; i++) {
		CHECK_RC(tern_rep_wait(m, &t[i], 5 * TERN_NS_PER_S), 0);
		CHECK(i == 0 || t[i].done.vlsn == t[i - 1].done.vlsn + 1);
	}
	tern_rep_txn_init(m, &busy, "busy", 4);
	busy.dur = all;
	busy.timeout_ns = 100 * TERN_NS_PER_MS;
	CHECK_RC(tern_rep_submit(m, &busy), 0);
	CHECK_RC(tern_rep_submit_burst(m, &mix[1], 2), -EBUSY);
	CHECK_RC(tern_rep_submit_burst(m, mix, 3), 1); /* t[0]; stops at busy */
	CHECK_RC(tern_rep_wait(m, &t[0], 5 * TERN_NS_PER_S), 0);
	CHECK_RC(tern_rep_wait(m, &t[1], 0), 0); /* still the first burst's result */
	CHECK_RC(tern_rep_wait(m, &busy, TERN_TIME_NEVER), -TERN_EACKS);
}

/* Master 1 and replica 2: not-master on the replica; ALL without the replica: EACKS. */
static void
pair(const char *dir, uint16_t base)
{
	struct tern_rep_opts o1, o2;
	struct tern_rep *m = NULL, *r = NULL;
	struct tern_durability all = {TERN_LOG_SYNC, TERN_LOG_SYNC, TERN_ACK_ALL};
	struct tern_rep_txn t;
	char h1[512], h2[512];
	uint64_t vlsn = 0;
	int rc;

	snprintf(h1, sizeof(h1), "%s/p1", dir);
	snprintf(h2, sizeof(h2), "%s/p2", dir);
	opts_group(&o1, 1, 2, h1, base);
	opts_group(&o2, 2, 2, h2, base);
	CHECK_RC(tern_rep_open(&o1, &m), 0);
	CHECK_RC(tern_rep_open(&o2, &r), 0);
	if (m == NULL || r == NULL)
		goto out;
	wait_state(r, TERN_NODE_REPLICA);
	CHECK_RC(tern_rep_commit(m, "both", 4, &all, &vlsn), 0);
	CHECK(vlsn == 1);

	tern_rep_txn_init(r, &t, "no", 2);
	CHECK_RC(tern_rep_submit(r, &t), 0);
	CHECK_RC(tern_rep_wait(r, &t, TERN_TIME_NEVER), -TERN_ENOTMASTER);
	CHECK(t.done.master == 1);

	CHECK_RC(tern_rep_close(r), 0);
	r = NULL;
	wait_timeout_on_a_busy_cpu(m);
	two_waiters_are_both_woken(m);
	submit_burst_queues_a_prefix_in_order(m);
	tern_rep_txn_init(m, &t, "alone", 5);
	t.dur = all;
	t.timeout_ns = 200 * TERN_NS_PER_MS;
	CHECK_RC(tern_rep_submit(m, &t), 0);
	CHECK_RC(tern_rep_submit(m, &t), -EBUSY);			 /* in flight */
	CHECK_RC(tern_rep_wait(m, &t, 10 * TERN_NS_PER_MS), -ETIMEDOUT); /* still in flight */
	rc = tern_rep_wait(m, &t, TERN_TIME_NEVER);
	CHECK_RC(rc, -TERN_EACKS);
	CHECK(t.done.acks_needed == 1 && t.done.acks_received == 0);
	CHECK(t.done.t_done_ns - t.done.t_submit_ns >= 190 * TERN_NS_PER_MS);
	CHECK(t.done.t_done_ns - t.done.t_submit_ns < 2 * TERN_NS_PER_S);
out:
	CHECK_RC(tern_rep_close(r), 0);
	CHECK_RC(tern_rep_close(m), 0);
}

int
main(void)
{
	char dir[] = "/tmp/tern-rep-api.XXXXXX";
	char cmd[600];
	uint16_t base = (uint16_t)(30000 + getpid() % 20000);
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(dir) == NULL) {
		printf("FAIL: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	rc = solo(dir, base);
	if (rc == 0)
		pair(dir, (uint16_t)(base + 10));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("note: could not remove %s\n", dir);
	if (rc == 77)
		return 77;
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
