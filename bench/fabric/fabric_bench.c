/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/fabric: the network drivers between two processes, all fabrics in one run.
 *
 * For each fabric and poll mode, the orchestrator (this file) starts two peer processes
 * (fabric_peer.c: this same binary with --peer, each with its own EAL and
 * --file-prefix, FABRIC.md's arguments) linked by one point-to-point fabric, and drives
 * them through its ctl sockets:
 *
 * - rtt: node 2 sends one sealed frame, node 1 checks it and echoes it resealed, node 2
 *   checks the echo; the round trip is timed at node 2 (p50/p99/p999, after a warm-up).
 * - tput: node 2 seals and sends bursts of 32 for --seconds, retrying what the driver did
 *   not take; node 1 checks and counts; frames/s is what node 1 received over the time
 *   between its first and last burst, loss what node 2 sent that node 1 never counted.
 *
 * Fabrics (driver=): dpdk-vhost (net_vhost on node 1, net_virtio_user on node 2),
 * dpdk-memif (server, client), dpdk-afpacket (a veth pair, node 1's end in a network
 * namespace created for the run), udp (the kernel udp driver on 127.0.0.1; in busy mode
 * both ends spin on nonblocking recvmmsg, in adaptive mode they block in epoll, once more
 * with both processes pinned to CPU 0), and raw-vhost: the same vhost link with a bare
 * rte_eth_rx_burst/tx_burst loop and no Tern work, the raw fabric figure (its sender never
 * writes a payload, so no payload bytes move between the cores), and raw-vhost-data (its
 * throughput only): the same loop, but the sender copies each frame's payload in, as
 * Tern's tx path does, and the receiver reads a word of every cache line of it; the
 * ratio against it shows what Tern's framing costs beyond moving the data. Busy polling
 * spins; adaptive calls tern_net_wait() after every empty poll (the dpdk driver spins,
 * yields, then blocks on rx interrupts or sleeps). Then three idle nodes (a full mesh)
 * show what polling costs the CPUs when there is nothing to do (utime + stime of the
 * processes, all threads, from /proc/<pid>/stat).
 *
 * The sessions (one pair of processes per fabric and mode) run in --rounds rounds, the
 * fabrics interleaved within each, so that a burst of load from elsewhere on the machine
 * hits one round of each rather than all of one fabric; each measurement reports its
 * median round, with the min and max, and other_cpu_pct: the CPU the rest of the machine
 * used meanwhile (busy polling needs a CPU per process: on two CPUs any other load shows).
 * On the 2-vCPU VM this was written on, whole sessions also ran at one of two speeds about
 * 3x apart (raw vhost 64 B: 0.37 us RTT and 31 Mpps, or 1.3 us and 11 Mpps) with nothing
 * else running and the same CPUs; check= lines therefore also give value_best, the ratio of
 * each side's best round, and Tern-framed against raw vhost throughput (both sessions run
 * back to back at the start of every round) is the median of each round's own ratio
 * (value_of_medians: the ratio of the two medians, which can pair a fast round of one
 * side with a slow round of the other).
 *
 * Output: key=value lines, one per measurement, the in-process cost of sealing and
 * checking (test=framing), then ratio= lines (against udp and the raw fabric, measured in
 * the same run) and check= lines (the done-when bars of issue 3). Every process, socket,
 * /var/run/dpdk/<prefix> directory, veth and namespace it creates is removed at the end,
 * also when it is interrupted (SIGINT, SIGTERM, SIGHUP); peers die with it (PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_version.h>

#include <tern_common.h>
#include <tern_wire.h>

#include "fabric.h"

#define NODES_MAX   3
#define ARGS_MAX    40
#define ARG_LEN	    320
#define KIDS_MAX    8
#define PREFIX_MAX  64
#define N_SIZES_RTT 2
#define N_SIZES_TP  3

static const uint32_t rtt_sizes[N_SIZES_RTT] = {64, 1024};
static const uint32_t tput_sizes[N_SIZES_TP] = {64, 1024, 8192};

enum fab {
	FAB_VHOST,
	FAB_MEMIF,
	FAB_AFPACKET,
	FAB_UDP,
	FAB_RAW_VHOST,
	FAB_RAW_VHOST_DATA,
	FAB_COUNT
};

static const char *const fab_names[FAB_COUNT] = {
	"dpdk-vhost", "dpdk-memif", "dpdk-afpacket", "udp", "raw-vhost", "raw-vhost-data",
};

/* One session: a pair of peers on one fabric, in one poll mode, measured in full. */
struct sess_def {
	enum fab f;
	bool busy;
	int pin; /* PIN_ANY, PIN_SPREAD or the one CPU of both processes */
};

#define PIN_ANY	   -1 /* the kernel places the processes (DPDK: --lcores='0@(0-1)') */
#define PIN_SPREAD -2 /* node i on the i-th CPU we may use, modulo their number */

/* In this order in each round: what the bars compare first, close together in time. */
static const struct sess_def sessions[] = {
	{FAB_RAW_VHOST, true, PIN_ANY},
	{FAB_VHOST, true, PIN_ANY},
	{FAB_RAW_VHOST_DATA, true, PIN_ANY}, /* throughput only */
	{FAB_UDP, true, PIN_ANY},
	{FAB_VHOST, false, PIN_ANY},
	{FAB_UDP, false, PIN_ANY},
	{FAB_UDP, false, 0}, /* FABRIC.md: blocking udp is faster on one CPU */
	{FAB_MEMIF, true, PIN_ANY},
	{FAB_MEMIF, false, PIN_ANY},
	{FAB_AFPACKET, true, PIN_ANY},
	{FAB_AFPACKET, false, PIN_ANY},
};
#define N_SESS (sizeof(sessions) / sizeof(sessions[0]))

struct rtt_res {
	bool ok;
	double p50, p99, p999; /* us */
	uint64_t n, lost;
	double other_pct; /* CPU used by other processes meanwhile, % of one CPU */
	/* over the rounds (the figures above are those of the median round) */
	unsigned int rounds;
	double p50_min, p50_max;
};

struct tput_res {
	bool ok;
	double fps, gbps, loss_pct;
	uint64_t sent, received;
	double other_pct;
	unsigned int rounds;
	double fps_min, fps_max;
};

#define ROUNDS_MAX 16
/* Other load (% of one CPU) above which a busy-polling comparison is called disturbed. */
#define DISTURBED_PCT 25.0

/* Each round's figures, then the median of the rounds. */
static struct rtt_res rtt_round[ROUNDS_MAX][N_SESS][N_SIZES_RTT];
static struct tput_res tput_round[ROUNDS_MAX][N_SESS][N_SIZES_TP];
static struct rtt_res rtt_res[N_SESS][N_SIZES_RTT];
static struct tput_res tput_res[N_SESS][N_SIZES_TP];

struct bench_cfg {
	double seconds;	     /* per measurement and round */
	unsigned int rounds; /* every session is measured this many times, interleaved */
	double idle_secs;    /* idle test window */
	unsigned int only;   /* bit per enum fab, plus ONLY_IDLE */
	unsigned int polls;  /* bit 0 busy, bit 1 adaptive */
	int nice;	     /* of the peer processes */
	bool spread;	     /* PIN_SPREAD instead of PIN_ANY */
	bool quick;
};
#define ONLY_IDLE (1U << FAB_COUNT)

static struct bench_cfg cfg;

/* ---- what must be cleaned up, also from a signal handler ---- */

static volatile sig_atomic_t stop_requested;
static volatile pid_t kids[KIDS_MAX];
static char self_exe[PATH_MAX];
static char tmp_dir[128]; /* short: unix socket paths live in it */
static char prefixes[256][PREFIX_MAX];
static unsigned int n_prefixes, prefix_seq;
static char netns_name[32], veth_a[16], veth_b[16];
static bool netns_made, veth_made;
static int udp_base;
static int failures;

static void
on_signal(int sig)
{
	unsigned int i;

	(void)sig;
	stop_requested = 1;
	for (i = 0; i < KIDS_MAX; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
}

static void
kid_add(pid_t pid)
{
	unsigned int i;

	for (i = 0; i < KIDS_MAX; i++) {
		if (kids[i] == 0) {
			kids[i] = pid;
			return;
		}
	}
}

static void
kid_del(pid_t pid)
{
	unsigned int i;

	for (i = 0; i < KIDS_MAX; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Where EAL keeps the runtime directory of @p prefix: root's, or the user's. */
static void
prefix_remove(const char *prefix)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/var/run/dpdk/%s", prefix);
	rm_rf(path);
	snprintf(path, sizeof(path), "%s/dpdk/%s", xdg != NULL && *xdg != '\0' ? xdg : "/tmp",
		 prefix);
	rm_rf(path);
}

/* Run a command quietly; its exit status, or -1. */
static int
run_cmd(const char *const *argv)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
netns_remove(void)
{
	if (veth_made) {
		const char *const del[] = {"ip", "link", "del", veth_a, NULL};

		run_cmd(del);
		veth_made = false;
	}
	if (netns_made) {
		const char *const del[] = {"ip", "netns", "del", netns_name, NULL};

		run_cmd(del);
		netns_made = false;
	}
}

static void
cleanup(void)
{
	unsigned int i;

	for (i = 0; i < KIDS_MAX; i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
	}
	for (i = 0; i < n_prefixes; i++)
		prefix_remove(prefixes[i]);
	n_prefixes = 0;
	netns_remove();
	if (tmp_dir[0] != '\0') {
		rm_rf(tmp_dir);
		tmp_dir[0] = '\0';
	}
}

static void
sleep_ns(uint64_t ns)
{
	uint64_t end = fab_now_ns() + ns;

	while (!stop_requested) {
		uint64_t now = fab_now_ns();
		struct timespec ts;

		if (now >= end)
			return;
		ns = TERN_MIN(end - now, 50ULL * 1000 * 1000);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)ns;
		nanosleep(&ts, NULL);
	}
}

/* ---- peer processes ---- */

struct node {
	pid_t pid;
	int ctl;
	uint16_t id;
	char log[PATH_MAX];
	char rbuf[4 * FAB_LINE_MAX];
	size_t rlen;
	/* its command line, built before the spawn */
	char eal[ARGS_MAX][ARG_LEN];
	unsigned int n_eal;
	char args[ARGS_MAX][ARG_LEN];
	unsigned int n_args;
	bool in_netns;
	unsigned int n_vhost, n_virtio, n_memif;
};

static void
node_eal(struct node *n, const char *fmt, ...)
{
	va_list ap;

	if (n->n_eal == ARGS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(n->eal[n->n_eal++], ARG_LEN, fmt, ap);
	va_end(ap);
}

static void
node_arg(struct node *n, const char *fmt, ...)
{
	va_list ap;

	if (n->n_args == ARGS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(n->args[n->n_args++], ARG_LEN, fmt, ap);
	va_end(ap);
}

static int
node_spawn(struct node *n, const char *log_name)
{
	char *argv[2 * ARGS_MAX + 8], ctl_arg[16];
	unsigned int i, k = 0;
	int sv[2], logfd;
	pid_t parent = getpid(), pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	snprintf(n->log, sizeof(n->log), "%s/%s.log", tmp_dir, log_name);
	logfd = open(n->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	snprintf(ctl_arg, sizeof(ctl_arg), "%d", sv[1]);
	argv[k++] = self_exe;
	argv[k++] = (char *)"--peer";
	for (i = 0; i < n->n_eal; i++)
		argv[k++] = n->eal[i];
	argv[k++] = (char *)"--";
	for (i = 0; i < n->n_args; i++)
		argv[k++] = n->args[i];
	argv[k++] = (char *)"--ctl-fd";
	argv[k++] = ctl_arg;
	argv[k] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		close(logfd);
		return -errno;
	}
	if (pid == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		/* Never outlive the orchestrator (it cleans up after its peers). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (cfg.nice != 0) {
			/*
			 * With autogroup scheduling, nice only ranks tasks of one session; the
			 * peer gets a session (an autogroup) of its own, niced as asked.
			 */
			int fd;

			setsid();
			fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				dprintf(fd, "%d", cfg.nice);
				close(fd);
			}
			if (setpriority(PRIO_PROCESS, 0, cfg.nice) != 0)
				_exit(125);
		}
		if (n->in_netns) {
			char path[PATH_MAX];
			int fd;

			snprintf(path, sizeof(path), "/var/run/netns/%s", netns_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
				_exit(126);
		}
		dup2(logfd, 1);
		dup2(logfd, 2);
		fcntl(sv[1], F_SETFD, 0);
		execv(self_exe, argv);
		_exit(127);
	}
	close(sv[1]);
	close(logfd);
	n->pid = pid;
	n->ctl = sv[0];
	n->rlen = 0;
	kid_add(pid);
	return 0;
}

static void
node_send(struct node *n, const char *fmt, ...)
{
	char line[FAB_LINE_MAX];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (len < 0 || n->ctl < 0)
		return;
	line[len++] = '\n';
	if (write(n->ctl, line, (size_t)len) != len) {
		/* the peer is gone: its next read reports it */
	}
}

/* The next line from @p n within @p timeout_ms: 0, -ETIMEDOUT, -EPIPE (it is gone), -EINTR. */
static int
node_line(struct node *n, int timeout_ms, char *line, size_t cap)
{
	uint64_t deadline = fab_now_ns() + (uint64_t)timeout_ms * 1000000ULL;

	for (;;) {
		char *nl = memchr(n->rbuf, '\n', n->rlen);
		struct pollfd p = {.fd = n->ctl, .events = POLLIN};
		uint64_t now;
		ssize_t r;
		int rc;

		if (nl != NULL) {
			size_t len = (size_t)(nl - n->rbuf);

			snprintf(line, cap, "%.*s", (int)len, n->rbuf);
			memmove(n->rbuf, nl + 1, n->rlen - len - 1);
			n->rlen -= len + 1;
			return 0;
		}
		if (stop_requested)
			return -EINTR;
		if (n->ctl < 0 || n->rlen == sizeof(n->rbuf))
			return -EPIPE;
		now = fab_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&p, 1, (int)TERN_MIN((deadline - now) / 1000000ULL + 1, 100ULL));
		if (rc <= 0)
			continue;
		r = read(n->ctl, n->rbuf + n->rlen, sizeof(n->rbuf) - n->rlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		n->rlen += (size_t)r;
	}
}

/*
 * Wait for line @p want ("opened", "go", or "result" for a result line, which is copied to
 * @p out). @return 0; -ENODEV when the peer says it cannot set up the fabric (the reason in
 * @p out); other negative errno values on errors (the text in @p out).
 */
static int
node_expect(struct node *n, const char *want, int timeout_ms, char *out, size_t cap)
{
	char line[FAB_LINE_MAX];
	size_t wl = strlen(want);
	int rc;

	rc = node_line(n, timeout_ms, line, sizeof(line));
	if (rc != 0) {
		snprintf(out, cap, "node%u_%s", n->id,
			 rc == -ETIMEDOUT ? "timed_out"
			 : rc == -EINTR	  ? "interrupted"
					  : "exited");
		return rc;
	}
	if (strncmp(line, want, wl) == 0 && (line[wl] == '\0' || line[wl] == ' ')) {
		snprintf(out, cap, "%s", line);
		return 0;
	}
	if (strncmp(line, "skip ", 5) == 0) {
		snprintf(out, cap, "%s", line + 5);
		return -ENODEV;
	}
	snprintf(out, cap, "node%u:%.400s", n->id,
		 strncmp(line, "error ", 6) == 0 ? line + 6 : line);
	return -EIO;
}

/* Ask @p n to quit and wait for it (at most 5 s, then SIGKILL). */
static void
node_stop(struct node *n)
{
	uint64_t deadline;
	int st;

	if (n->pid <= 0)
		return;
	/* The first ends a loop the peer may still be in (after an error here). */
	node_send(n, "quit");
	node_send(n, "quit");
	deadline = fab_now_ns() + 5ULL * 1000000000ULL;
	for (;;) {
		pid_t r = waitpid(n->pid, &st, WNOHANG);

		if (r == n->pid || (r < 0 && errno != EINTR))
			break;
		if (stop_requested || fab_now_ns() > deadline) {
			kill(n->pid, SIGKILL);
			waitpid(n->pid, &st, 0);
			break;
		}
		sleep_ns(5ULL * 1000 * 1000);
	}
	kid_del(n->pid);
	n->pid = 0;
	if (n->ctl >= 0)
		close(n->ctl);
	n->ctl = -1;
}

static void
node_dump(const struct node *n)
{
	char buf[4096];
	FILE *f = fopen(n->log, "r");

	fprintf(stderr, "---- peer node %u (%s):\n", n->id, n->log);
	if (f == NULL)
		return;
	while (fgets(buf, sizeof(buf), f) != NULL)
		fputs(buf, stderr);
	fclose(f);
}

/* ---- sessions ---- */

struct session {
	enum fab f;
	bool busy;
	int pin;
	unsigned int idx;
	unsigned int n_nodes;
	struct node node[NODES_MAX];
	char why[FAB_LINE_MAX]; /* what went wrong */
};

static const char *
poll_name(bool busy)
{
	return busy ? "busy" : "adaptive";
}

static const char *
pin_name(int pin)
{
	static char buf[16];

	if (pin == PIN_ANY)
		return "any";
	if (pin == PIN_SPREAD)
		return "spread";
	snprintf(buf, sizeof(buf), "cpu%d", pin);
	return buf;
}

/* The placement a session of table entry @p pin runs with (--spread changes PIN_ANY). */
static int
eff_pin(int pin)
{
	return pin == PIN_ANY && cfg.spread ? PIN_SPREAD : pin;
}

/* The CPU node @p i of @p s is pinned to, or -1 (the kernel places it within 0-1). */
static int
node_cpu(const struct session *s, unsigned int i)
{
	cpu_set_t set;
	unsigned int c, k = 0, want;

	if (s->pin >= 0)
		return s->pin;
	if (s->pin != PIN_SPREAD || sched_getaffinity(0, sizeof(set), &set) != 0 ||
	    CPU_COUNT(&set) == 0)
		return -1;
	want = i % (unsigned int)CPU_COUNT(&set);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set) && k++ == want)
			return (int)c;
	return -1;
}

static bool
is_dpdk(enum fab f)
{
	return f != FAB_UDP;
}

static void
node_prefix(struct node *n, int cpu)
{
	char *p;

	if (n_prefixes == TERN_DIM(prefixes))
		return;
	p = prefixes[n_prefixes++];
	snprintf(p, PREFIX_MAX, "tbf%d-%u", (int)getpid(), prefix_seq++);
	node_eal(n, "--no-huge");
	node_eal(n, "-m");
	node_eal(n, "128");
	node_eal(n, "--no-pci");
	node_eal(n, "--no-shconf");
	node_eal(n, "--file-prefix=%s", p);
	if (cpu >= 0)
		node_eal(n, "--lcores=0@%d", cpu);
	else
		node_eal(n, "--lcores=0@(0-1)"); /* FABRIC.md: let the kernel place pollers */
	node_eal(n, "--log-level=lib.eal:notice");
	node_eal(n, "--log-level=lib.vhost.*:warning");
}

/* A point-to-point link between nodes @p a < @p b of @p s. */
static void
session_link(struct session *s, struct node *a, struct node *b)
{
	char sock[PATH_MAX];

	snprintf(sock, sizeof(sock), "%s/s%u-%u-%u.sock", tmp_dir, s->idx, a->id, b->id);
	switch (s->f) {
	case FAB_VHOST:
	case FAB_RAW_VHOST:
	case FAB_RAW_VHOST_DATA:
		node_eal(a, "--vdev=net_vhost%u,iface=%s", a->n_vhost, sock);
		node_arg(a, "--peer");
		node_arg(a, "%u,net_vhost%u,-", b->id, a->n_vhost++);
		node_eal(b, "--vdev=net_virtio_user%u,path=%s,queue_size=1024", b->n_virtio, sock);
		node_arg(b, "--peer");
		node_arg(b, "%u,net_virtio_user%u,-", a->id, b->n_virtio++);
		break;
	case FAB_MEMIF:
		/* bsize holds a whole frame: DPDK 22.11's memif corrupts multi-buffer packets
		 * (see tests/integration/fabric_test.sh). */
		node_eal(a,
			 "--vdev=net_memif%u,role=server,id=0,socket=%s,socket-abstract=no,"
			 "bsize=9216",
			 a->n_memif, sock);
		node_arg(a, "--peer");
		node_arg(a, "%u,net_memif%u,-", b->id, a->n_memif++);
		node_eal(b,
			 "--vdev=net_memif%u,role=client,id=0,socket=%s,socket-abstract=no,"
			 "bsize=9216",
			 b->n_memif, sock);
		node_arg(b, "--peer");
		node_arg(b, "%u,net_memif%u,-", a->id, b->n_memif++);
		break;
	case FAB_AFPACKET:
		/* Node a (in the namespace) owns veth_b; frames carry the veths' MACs. */
		node_eal(a,
			 "--vdev=net_af_packet0,iface=%s,qdisc_bypass=1,framesz=10240,"
			 "blocksz=20480,framecnt=512",
			 veth_b);
		node_arg(a, "--peer");
		node_arg(a, "%u,net_af_packet0,02:00:00:77:00:%02x", b->id, b->id);
		node_eal(b,
			 "--vdev=net_af_packet0,iface=%s,qdisc_bypass=1,framesz=10240,"
			 "blocksz=20480,framecnt=512",
			 veth_a);
		node_arg(b, "--peer");
		node_arg(b, "%u,net_af_packet0,02:00:00:77:00:%02x", a->id, a->id);
		break;
	case FAB_UDP:
		node_arg(a, "--peer");
		node_arg(a, "%u,-,-", b->id);
		node_arg(b, "--peer");
		node_arg(b, "%u,-,-", a->id);
		break;
	case FAB_COUNT:
		break;
	}
}

static void
session_close(struct session *s)
{
	unsigned int i;

	for (i = 0; i < s->n_nodes; i++)
		node_stop(&s->node[i]);
	for (i = 0; i < n_prefixes; i++)
		prefix_remove(prefixes[i]);
	n_prefixes = 0;
}

static void
session_fail(struct session *s)
{
	unsigned int i;

	for (i = 0; i < s->n_nodes; i++)
		if (s->node[i].log[0] != '\0')
			node_dump(&s->node[i]);
}

/*
 * Start @p n_nodes peers on fabric @p f, linked in a full mesh, and wait until every link
 * is up. @return 0; -ENODEV when the fabric cannot be set up here (reason in s->why).
 */
static int
session_open(struct session *s, unsigned int n_nodes)
{
	static unsigned int sess_seq;
	char out[FAB_LINE_MAX];
	unsigned int i, j;
	int rc;

	s->idx = sess_seq++;
	s->n_nodes = n_nodes;
	s->why[0] = '\0';
	for (i = 0; i < n_nodes; i++) {
		struct node *n = &s->node[i];

		memset(n, 0, sizeof(*n));
		n->ctl = -1;
		n->id = (uint16_t)(i + 1);
		if (is_dpdk(s->f))
			node_prefix(n, node_cpu(s, i));
		node_arg(n, "--driver");
		node_arg(n, "%s",
			 s->f == FAB_UDP		? "tern-udp"
			 : s->f == FAB_RAW_VHOST	? "raw"
			 : s->f == FAB_RAW_VHOST_DATA ? "raw-data"
						      : "tern-dpdk");
		node_arg(n, "--self");
		if (s->f == FAB_AFPACKET)
			node_arg(n, "%u,02:00:00:77:00:%02x", n->id, n->id);
		else
			node_arg(n, "%u", n->id);
		node_arg(n, "--poll");
		node_arg(n, "%s", poll_name(s->busy));
		if (s->f == FAB_UDP) {
			node_arg(n, "--udp-base");
			node_arg(n, "%d", udp_base);
		}
		if (s->f == FAB_AFPACKET) {
			/* af_packet copies a frame into one mbuf: it must hold framesz. */
			node_arg(n, "--driver-args");
			node_arg(n, "mbuf_size=%u", 128 + 10240);
			n->in_netns = i == 0;
		}
		if (!is_dpdk(s->f) && node_cpu(s, i) >= 0) {
			node_arg(n, "--pin");
			node_arg(n, "%d", node_cpu(s, i));
		}
	}
	for (i = 0; i < n_nodes; i++)
		for (j = i + 1; j < n_nodes; j++)
			session_link(s, &s->node[i], &s->node[j]);
	/* In id order: each node's sockets (vhost, memif server) exist before the next starts. */
	for (i = 0; i < n_nodes; i++) {
		char name[64];

		snprintf(name, sizeof(name), "s%u-%s-%s-node%u", s->idx, fab_names[s->f],
			 poll_name(s->busy), i + 1);
		rc = node_spawn(&s->node[i], name);
		if (rc != 0) {
			snprintf(s->why, sizeof(s->why), "spawn_failed:%s", strerror(-rc));
			return rc;
		}
		rc = node_expect(&s->node[i], "opened", 30000, out, sizeof(out));
		if (rc != 0) {
			snprintf(s->why, sizeof(s->why), "%s", out);
			return rc;
		}
	}
	for (i = 0; i < n_nodes; i++) {
		rc = node_expect(&s->node[i], "ready", 30000, out, sizeof(out));
		if (rc != 0) {
			snprintf(s->why, sizeof(s->why), "%s", out);
			return rc;
		}
	}
	return 0;
}

/* ---- measurements ---- */

static bool
kv_u64(const char *line, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			*v = strtoull(p + kl + 1, NULL, 10);
			return true;
		}
		p += kl;
	}
	return false;
}

static int
timeout_ms(void)
{
	return (int)(cfg.seconds * 1000) + 30000;
}

/* CPU time (user + system, all threads) of @p pid in clock ticks; -1 if unknown. */
static long long
proc_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (p == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/*
 * Busy ticks of the whole machine: user, nice, system and steal (time the hypervisor gave
 * to others). Not irq and softirq: the kernel's share of udp and af_packet is there, not
 * in any process' time.
 */
static long long
machine_ticks(void)
{
	unsigned long long v[8];
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	return (long long)(v[0] + v[1] + v[2] + v[7]);
}

/* What the machine did besides the peers of @p s: a snapshot, then the difference. */
struct cpu_snap {
	long long machine, peers;
	uint64_t wall;
};

static void
cpu_snap(const struct session *s, struct cpu_snap *c)
{
	unsigned int i;

	c->wall = fab_now_ns();
	c->machine = machine_ticks();
	c->peers = 0;
	for (i = 0; i < s->n_nodes; i++) {
		long long t = proc_ticks(s->node[i].pid);

		if (t < 0 || c->machine < 0) {
			c->machine = -1;
			return;
		}
		c->peers += t;
	}
}

/* CPU the rest of the machine used since @p a, in % of one CPU (-1: unknown). */
static double
cpu_other_pct(const struct session *s, const struct cpu_snap *a)
{
	struct cpu_snap b;
	double secs, pct;

	cpu_snap(s, &b);
	if (a->machine < 0 || b.machine < 0 || b.wall <= a->wall)
		return -1;
	secs = (double)(b.wall - a->wall) / 1e9;
	pct = 100.0 * (double)((b.machine - a->machine) - (b.peers - a->peers)) /
	      (double)sysconf(_SC_CLK_TCK) / secs;
	return pct < 0 ? 0 : pct;
}

static int
measure_rtt(struct session *s, uint32_t size, struct rtt_res *r)
{
	struct cpu_snap cs;
	struct node *srv = &s->node[0], *cli = &s->node[1];
	char out[FAB_LINE_MAX], sres[FAB_LINE_MAX];
	uint64_t v;
	int rc;

	memset(r, 0, sizeof(*r));
	node_send(srv, "rtt-server");
	rc = node_expect(srv, "go", 10000, out, sizeof(out));
	if (rc != 0)
		goto fail;
	cpu_snap(s, &cs);
	node_send(cli, "rtt-client %u %.3f", size, cfg.seconds);
	rc = node_expect(cli, "result", timeout_ms(), out, sizeof(out));
	r->other_pct = cpu_other_pct(s, &cs);
	node_send(srv, "stop");
	if (rc == 0)
		rc = node_expect(srv, "result", 10000, sres, sizeof(sres));
	else
		node_expect(srv, "result", 10000, sres, sizeof(sres));
	if (rc != 0)
		goto fail;
	kv_u64(out, "n", &r->n);
	kv_u64(out, "lost", &r->lost);
	if (kv_u64(out, "p50_ns", &v))
		r->p50 = (double)v / 1000.0;
	if (kv_u64(out, "p99_ns", &v))
		r->p99 = (double)v / 1000.0;
	if (kv_u64(out, "p999_ns", &v))
		r->p999 = (double)v / 1000.0;
	r->ok = r->n > 0;
	if (!r->ok) {
		snprintf(s->why, sizeof(s->why), "no_round_trip_completed");
		return -EIO;
	}
	return 0;
fail:
	snprintf(s->why, sizeof(s->why), "%s", out);
	return rc;
}

static int
measure_tput(struct session *s, uint32_t size, struct tput_res *r)
{
	struct cpu_snap cs;
	struct node *rx = &s->node[0], *tx = &s->node[1];
	char out[FAB_LINE_MAX], rres[FAB_LINE_MAX];
	uint64_t ok = 0, ns = 0, bytes = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	node_send(rx, "rx");
	rc = node_expect(rx, "go", 10000, out, sizeof(out));
	if (rc != 0)
		goto fail;
	cpu_snap(s, &cs);
	node_send(tx, "tx %u %.3f", size, cfg.seconds);
	rc = node_expect(tx, "result", timeout_ms(), out, sizeof(out));
	r->other_pct = cpu_other_pct(s, &cs);
	sleep_ns(50ULL * 1000 * 1000); /* what is still in the rings */
	node_send(rx, "stop");
	if (rc == 0) {
		rc = node_expect(rx, "result", 10000, rres, sizeof(rres));
		if (rc != 0)
			snprintf(out, sizeof(out), "%s", rres);
	} else {
		node_expect(rx, "result", 10000, rres, sizeof(rres));
	}
	if (rc != 0)
		goto fail;
	kv_u64(out, "sent", &r->sent);
	kv_u64(rres, "ok", &ok);
	kv_u64(rres, "ns", &ns);
	kv_u64(rres, "bytes", &bytes);
	r->received = ok;
	if (ok < 2 || ns == 0) {
		snprintf(s->why, sizeof(s->why), "nothing_received");
		return -EIO;
	}
	if (bytes != ok * size) {
		snprintf(s->why, sizeof(s->why), "received_%" PRIu64 "_bytes_in_%" PRIu64 "_frames",
			 bytes, ok);
		return -EIO;
	}
	r->fps = (double)ok / ((double)ns / 1e9);
	r->gbps = (double)bytes * 8 / (double)ns;
	r->loss_pct = r->sent > ok ? 100.0 * (double)(r->sent - ok) / (double)r->sent : 0.0;
	r->ok = true;
	return 0;
fail:
	snprintf(s->why, sizeof(s->why), "%s", out);
	return rc;
}

static void
print_error(const struct session *s, const char *test, int rc)
{
	char why[FAB_LINE_MAX];
	size_t i;

	/* one token: spaces become underscores */
	snprintf(why, sizeof(why), "%s", s->why[0] != '\0' ? s->why : strerror(-rc));
	for (i = 0; why[i] != '\0'; i++)
		if (why[i] == ' ' || why[i] == '\t')
			why[i] = '_';
	printf("bench=fabric test=%s driver=%s poll=%s %s=%s\n", test, fab_names[s->f],
	       poll_name(s->busy), rc == -ENODEV ? "skipped" : "error", why);
	fflush(stdout);
}

/* ---- the af_packet fabric: a veth pair, one end in a namespace ---- */

static int
afpacket_setup(char *why, size_t cap)
{
	char path[PATH_MAX];
	int fd;

	if (netns_made)
		return 0;
	if (geteuid() != 0) {
		snprintf(why, cap, "needs_root(veth_and_netns)");
		return -ENODEV;
	}
	snprintf(netns_name, sizeof(netns_name), "tbf%dns", (int)getpid());
	snprintf(veth_a, sizeof(veth_a), "tbf%da", (int)getpid());
	snprintf(veth_b, sizeof(veth_b), "tbf%db", (int)getpid());
	{
		const char *const add_ns[] = {"ip", "netns", "add", netns_name, NULL};

		if (run_cmd(add_ns) != 0) {
			snprintf(why, cap, "cannot_create_netns");
			return -ENODEV;
		}
		netns_made = true;
	}
	{
		const char *const add[] = {"ip",   "link", "add",  veth_a, "type",
					   "veth", "peer", "name", veth_b, NULL};
		const char *const mv[] = {"ip", "link", "set", veth_b, "netns", netns_name, NULL};
		const char *const up_a[] = {
			"ip",  "link", "set", veth_a, "address", "02:00:00:77:00:02",
			"mtu", "9000", "up",  NULL};
		const char *const up_b[] = {
			"ip",	"netns", "exec", netns_name, "ip",
			"link", "set",	 veth_b, "address",  "02:00:00:77:00:01",
			"mtu",	"9000",	 "up",	 NULL};

		if (run_cmd(add) != 0) {
			snprintf(why, cap, "cannot_create_veth");
			netns_remove();
			return -ENODEV;
		}
		veth_made = true;
		if (run_cmd(mv) != 0 || run_cmd(up_a) != 0 || run_cmd(up_b) != 0) {
			snprintf(why, cap, "cannot_configure_veth");
			netns_remove();
			return -ENODEV;
		}
	}
	/* No IPv6 chatter (router solicitations) on the link. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", veth_a);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1) {
			/* not fatal */
		}
		close(fd);
	}
	{
		char key[96];
		const char *const v6[] = {"ip",	    "netns", "exec", netns_name,
					  "sysctl", "-qw",   key,    NULL};

		snprintf(key, sizeof(key), "net.ipv6.conf.%s.disable_ipv6=1", veth_b);
		run_cmd(v6);
	}
	return 0;
}

/* ---- one session: all measurements of one fabric in one poll mode ---- */

static bool sess_skipped[N_SESS];

static void
print_rtt(const struct session *s, uint32_t size, const struct rtt_res *r, FILE *f,
	  const char *lead)
{
	fprintf(f,
		"%stest=rtt driver=%s poll=%s pin=%s size=%u p50_us=%.3f p99_us=%.3f "
		"p999_us=%.3f samples=%" PRIu64 " lost=%" PRIu64 " other_cpu_pct=%.0f",
		lead, fab_names[s->f], poll_name(s->busy), pin_name(s->pin), size, r->p50, r->p99,
		r->p999, r->n, r->lost, r->other_pct);
	if (r->rounds > 1)
		fprintf(f, " rounds=%u p50_us_min=%.3f p50_us_max=%.3f", r->rounds, r->p50_min,
			r->p50_max);
	fputc('\n', f);
	fflush(f);
}

static void
print_tput(const struct session *s, uint32_t size, const struct tput_res *r, FILE *f,
	   const char *lead)
{
	fprintf(f,
		"%stest=tput driver=%s poll=%s pin=%s size=%u frames_per_s=%.0f gbit_s=%.3f "
		"sent=%" PRIu64 " received=%" PRIu64 " loss_pct=%.2f other_cpu_pct=%.0f",
		lead, fab_names[s->f], poll_name(s->busy), pin_name(s->pin), size, r->fps, r->gbps,
		r->sent, r->received, r->loss_pct, r->other_pct);
	if (r->rounds > 1)
		fprintf(f, " rounds=%u frames_per_s_min=%.0f frames_per_s_max=%.0f", r->rounds,
			r->fps_min, r->fps_max);
	fputc('\n', f);
	fflush(f);
}

/* Every measurement of session @p si, round @p round. */
static void
run_session(unsigned int si, unsigned int round)
{
	const struct sess_def *d = &sessions[si];
	struct session s;
	char lead[32];
	unsigned int k;
	int rc;

	if (sess_skipped[si])
		return;
	memset(&s, 0, sizeof(s));
	s.f = d->f;
	s.busy = d->busy;
	s.pin = eff_pin(d->pin);
	snprintf(lead, sizeof(lead), "# round %u/%u ", round + 1, cfg.rounds);
#ifndef TERN_BENCH_FABRIC_DPDK
	if (s.f == FAB_VHOST || s.f == FAB_MEMIF || s.f == FAB_AFPACKET) {
		snprintf(s.why, sizeof(s.why), "dpdk_driver_not_built");
		print_error(&s, "all", -ENODEV);
		sess_skipped[si] = true;
		return;
	}
#endif
	if (s.f == FAB_AFPACKET) {
		rc = afpacket_setup(s.why, sizeof(s.why));
		if (rc != 0) {
			print_error(&s, "all", rc);
			sess_skipped[si] = true;
			return;
		}
	}
	rc = session_open(&s, 2);
	if (rc != 0) {
		print_error(&s, "all", rc);
		if (rc == -ENODEV)
			sess_skipped[si] = true;
		else if (rc != -EINTR)
			goto fail;
		session_close(&s);
		return;
	}
	/* raw-vhost-data's round trip is raw-vhost's: its frames carry no payload then. */
	for (k = 0; k < N_SIZES_RTT && !stop_requested && s.f != FAB_RAW_VHOST_DATA; k++) {
		struct rtt_res *r = &rtt_round[round][si][k];

		rc = measure_rtt(&s, rtt_sizes[k], r);
		if (rc != 0) {
			print_error(&s, "rtt", rc);
			goto fail;
		}
		if (cfg.rounds > 1)
			print_rtt(&s, rtt_sizes[k], r, stderr, lead);
	}
	for (k = 0; k < N_SIZES_TP && !stop_requested; k++) {
		struct tput_res *r = &tput_round[round][si][k];

		rc = measure_tput(&s, tput_sizes[k], r);
		if (rc != 0) {
			print_error(&s, "tput", rc);
			goto fail;
		}
		if (cfg.rounds > 1)
			print_tput(&s, tput_sizes[k], r, stderr, lead);
	}
	session_close(&s);
	return;
fail:
	if (rc != -EINTR) {
		session_fail(&s);
		failures++;
	}
	session_close(&s);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = **(const double *const *)a, y = **(const double *const *)b;

	return x < y ? -1 : x > y;
}

/* The round whose @p key is the median of those where @p ok; -1 when none. */
static int
median_round(const double *key[ROUNDS_MAX], const bool ok[ROUNDS_MAX], double *min, double *max,
	     unsigned int *n_ok)
{
	const double *v[ROUNDS_MAX];
	unsigned int r, n = 0;

	for (r = 0; r < cfg.rounds; r++)
		if (ok[r])
			v[n++] = key[r];
	*n_ok = n;
	if (n == 0)
		return -1;
	qsort(v, n, sizeof(v[0]), cmp_double);
	*min = *v[0];
	*max = *v[n - 1];
	for (r = 0; r < cfg.rounds; r++)
		if (key[r] == v[(n - 1) / 2])
			return (int)r;
	return -1;
}

/* The median over the rounds of every measurement, printed. */
static void
print_results(void)
{
	unsigned int si, k, r, n;
	int m;

	for (si = 0; si < N_SESS; si++) {
		struct session s;

		memset(&s, 0, sizeof(s));
		s.f = sessions[si].f;
		s.busy = sessions[si].busy;
		s.pin = eff_pin(sessions[si].pin);
		for (k = 0; k < N_SIZES_RTT; k++) {
			const double *key[ROUNDS_MAX];
			bool ok[ROUNDS_MAX];
			double lo, hi;

			for (r = 0; r < cfg.rounds; r++) {
				key[r] = &rtt_round[r][si][k].p50;
				ok[r] = rtt_round[r][si][k].ok;
			}
			m = median_round(key, ok, &lo, &hi, &n);
			if (m < 0)
				continue;
			rtt_res[si][k] = rtt_round[m][si][k];
			rtt_res[si][k].rounds = n;
			rtt_res[si][k].p50_min = lo;
			rtt_res[si][k].p50_max = hi;
			print_rtt(&s, rtt_sizes[k], &rtt_res[si][k], stdout, "bench=fabric ");
		}
		for (k = 0; k < N_SIZES_TP; k++) {
			const double *key[ROUNDS_MAX];
			bool ok[ROUNDS_MAX];
			double lo, hi;

			for (r = 0; r < cfg.rounds; r++) {
				key[r] = &tput_round[r][si][k].fps;
				ok[r] = tput_round[r][si][k].ok;
			}
			m = median_round(key, ok, &lo, &hi, &n);
			if (m < 0)
				continue;
			tput_res[si][k] = tput_round[m][si][k];
			tput_res[si][k].rounds = n;
			tput_res[si][k].fps_min = lo;
			tput_res[si][k].fps_max = hi;
			print_tput(&s, tput_sizes[k], &tput_res[si][k], stdout, "bench=fabric ");
		}
	}
}

/* ---- idle: three nodes in a mesh, nothing to do ---- */

static double idle_pct[FAB_COUNT][2];
static bool idle_ok[FAB_COUNT][2];

static void
run_idle(enum fab f, bool busy)
{
	struct session s;
	char out[FAB_LINE_MAX], per[64] = "";
	long long t0[NODES_MAX], t1[NODES_MAX];
	double hz = (double)sysconf(_SC_CLK_TCK), total = 0, secs;
	uint64_t w0, w1;
	unsigned int i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.f = f;
	s.busy = busy;
	s.pin = PIN_ANY; /* idle nodes: the kernel places them */
#ifndef TERN_BENCH_FABRIC_DPDK
	if (f != FAB_UDP) {
		snprintf(s.why, sizeof(s.why), "dpdk_driver_not_built");
		print_error(&s, "idle", -ENODEV);
		return;
	}
#endif
	rc = session_open(&s, NODES_MAX);
	if (rc != 0)
		goto fail;
	for (i = 0; i < NODES_MAX; i++)
		node_send(&s.node[i], "idle");
	for (i = 0; i < NODES_MAX; i++) {
		rc = node_expect(&s.node[i], "go", 10000, out, sizeof(out));
		if (rc != 0) {
			snprintf(s.why, sizeof(s.why), "%s", out);
			goto fail;
		}
	}
	/* Let the pollers reach their idle state (adaptive: yield for 1 ms, then block). */
	sleep_ns(500ULL * 1000 * 1000);
	w0 = fab_now_ns();
	for (i = 0; i < NODES_MAX; i++)
		t0[i] = proc_ticks(s.node[i].pid);
	sleep_ns((uint64_t)(cfg.idle_secs * 1e9));
	w1 = fab_now_ns();
	for (i = 0; i < NODES_MAX; i++)
		t1[i] = proc_ticks(s.node[i].pid);
	secs = (double)(w1 - w0) / 1e9;
	for (i = 0; i < NODES_MAX; i++) {
		double pct;
		size_t len = strlen(per);

		if (t0[i] < 0 || t1[i] < 0) {
			snprintf(s.why, sizeof(s.why), "cannot_read_proc_stat");
			rc = -EIO;
			goto fail;
		}
		pct = 100.0 * (double)(t1[i] - t0[i]) / hz / secs;
		total += pct;
		snprintf(per + len, sizeof(per) - len, "%s%.1f", i > 0 ? "/" : "", pct);
	}
	for (i = 0; i < NODES_MAX; i++)
		node_send(&s.node[i], "stop");
	for (i = 0; i < NODES_MAX; i++) {
		rc = node_expect(&s.node[i], "result", 10000, out, sizeof(out));
		if (rc != 0) {
			snprintf(s.why, sizeof(s.why), "%s", out);
			goto fail;
		}
	}
	if (stop_requested) {
		rc = -EINTR;
		goto fail;
	}
	idle_pct[f][busy ? 0 : 1] = total;
	idle_ok[f][busy ? 0 : 1] = true;
	printf("bench=fabric test=idle driver=%s nodes=%u poll=%s cpu_pct=%.2f node_cpu_pct=%s "
	       "seconds=%.2f\n",
	       fab_names[f], NODES_MAX, poll_name(busy), total, per, secs);
	fflush(stdout);
	session_close(&s);
	return;
fail:
	print_error(&s, "idle", rc);
	if (rc != -ENODEV && rc != -EINTR) {
		session_fail(&s);
		failures++;
	}
	session_close(&s);
}

/* ---- ratios and the done-when bars ---- */

static int
sess_find(enum fab f, bool busy, int pin)
{
	unsigned int i;

	for (i = 0; i < N_SESS; i++)
		if (sessions[i].f == f && sessions[i].busy == busy && sessions[i].pin == pin)
			return (int)i;
	return -1;
}

static const struct rtt_res *
rtt_get(enum fab f, bool busy, int pin, unsigned int k)
{
	int i = sess_find(f, busy, pin);

	return i >= 0 && rtt_res[i][k].ok ? &rtt_res[i][k] : NULL;
}

static const struct tput_res *
tput_get(enum fab f, bool busy, int pin, unsigned int k)
{
	int i = sess_find(f, busy, pin);

	return i >= 0 && tput_res[i][k].ok ? &tput_res[i][k] : NULL;
}

static int
cmp_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Tern-framed vhost throughput over raw vhost at size @p k, paired by round: the median of
 * the rounds' own ratios (both sessions of a round run one after the other), so a machine
 * that changes speed between rounds does not pair one side's fast round with the other's
 * slow one, as a ratio of the two medians can. Returns the rounds paired, 0 when none.
 */
static unsigned int
tput_vs_raw_paired(enum fab raw, unsigned int k, double *median)
{
	int a = sess_find(FAB_VHOST, true, PIN_ANY), b = sess_find(raw, true, PIN_ANY);
	double v[ROUNDS_MAX];
	unsigned int r, n = 0;

	if (a < 0 || b < 0)
		return 0;
	for (r = 0; r < cfg.rounds; r++) {
		const struct tput_res *x = &tput_round[r][a][k], *y = &tput_round[r][b][k];

		if (x->ok && y->ok && y->fps > 0)
			v[n++] = x->fps / y->fps;
	}
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(v[0]), cmp_value);
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return n;
}

static void
check_line(const char *name, const char *extra, const char *want, double value, bool pass,
	   double best, double other_a, double other_b)
{
	double other = TERN_MAX(other_a, other_b);

	printf("bench=fabric check=%s%s want=%s value=%.3f pass=%s", name, extra, want, value,
	       pass ? "yes" : "no");
	/* The same ratio from each side's best round (rounds > 1): what the fabric can do. */
	if (best >= 0 && cfg.rounds > 1)
		printf(" value_best=%.3f", best);
	/* The busy-polling figures it compares were measured while the rest of the machine
	 * used this much CPU: above DISTURBED_PCT, do not trust the verdict. */
	if (other >= 0)
		printf(" other_cpu_pct=%.0f disturbed=%s", other,
		       other > DISTURBED_PCT ? "yes" : "no");
	putchar('\n');
}

static void
print_ratios(void)
{
	static const enum fab dpdk_fabs[] = {FAB_VHOST, FAB_MEMIF, FAB_AFPACKET};
	const struct rtt_res *udp_rtt_best = NULL;
	const struct tput_res *udp_tp_best = NULL;
	const char *udp_rtt_mode = NULL, *udp_tp_mode = NULL;
	char mode_buf[2][32];
	unsigned int i, k, m;

	/* Every dpdk fabric against udp in the same poll mode. */
	for (i = 0; i < TERN_DIM(dpdk_fabs); i++) {
		for (m = 0; m < 2; m++) {
			bool busy = m == 0;

			for (k = 0; k < N_SIZES_RTT; k++) {
				const struct rtt_res *a = rtt_get(dpdk_fabs[i], busy, PIN_ANY, k);
				const struct rtt_res *u = rtt_get(FAB_UDP, busy, PIN_ANY, k);

				if (a != NULL && u != NULL && u->p50 > 0)
					printf("bench=fabric ratio=rtt_p50_vs_udp driver=%s "
					       "poll=%s size=%u value=%.3f\n",
					       fab_names[dpdk_fabs[i]], poll_name(busy),
					       rtt_sizes[k], a->p50 / u->p50);
			}
			for (k = 0; k < N_SIZES_TP; k++) {
				const struct tput_res *a = tput_get(dpdk_fabs[i], busy, PIN_ANY, k);
				const struct tput_res *u = tput_get(FAB_UDP, busy, PIN_ANY, k);

				if (a != NULL && u != NULL && u->fps > 0)
					printf("bench=fabric ratio=tput_vs_udp driver=%s poll=%s "
					       "size=%u value=%.3f\n",
					       fab_names[dpdk_fabs[i]], poll_name(busy),
					       tput_sizes[k], a->fps / u->fps);
			}
		}
	}
	/* Tern framing against the raw fabric (both busy polling, same vhost link). */
	for (k = 0; k < N_SIZES_RTT; k++) {
		const struct rtt_res *a = rtt_get(FAB_VHOST, true, PIN_ANY, k);
		const struct rtt_res *r = rtt_get(FAB_RAW_VHOST, true, PIN_ANY, k);

		if (a != NULL && r != NULL && r->p50 > 0)
			printf("bench=fabric ratio=rtt_p50_vhost_vs_raw poll=busy size=%u "
			       "value=%.3f\n",
			       rtt_sizes[k], a->p50 / r->p50);
	}
	for (k = 0; k < N_SIZES_TP; k++) {
		static const enum fab raws[] = {FAB_RAW_VHOST, FAB_RAW_VHOST_DATA};
		const struct tput_res *a = tput_get(FAB_VHOST, true, PIN_ANY, k);

		for (i = 0; i < TERN_DIM(raws); i++) {
			const struct tput_res *r = tput_get(raws[i], true, PIN_ANY, k);
			double paired;
			unsigned int n = tput_vs_raw_paired(raws[i], k, &paired);

			if (a != NULL && r != NULL && r->fps > 0 && n > 0)
				printf("bench=fabric ratio=tput_vhost_vs_%s poll=busy size=%u "
				       "value=%.3f rounds_paired=%u value_of_medians=%.3f\n",
				       raws[i] == FAB_RAW_VHOST ? "raw" : "raw_data", tput_sizes[k],
				       paired, n, a->fps / r->fps);
		}
	}

	/* udp in its fastest mode: the best of every udp session. */
	for (i = 0; i < N_SESS; i++) {
		if (sessions[i].f != FAB_UDP)
			continue;
		if (rtt_res[i][0].ok &&
		    (udp_rtt_best == NULL || rtt_res[i][0].p50 < udp_rtt_best->p50)) {
			udp_rtt_best = &rtt_res[i][0];
			snprintf(mode_buf[0], sizeof(mode_buf[0]), "%s/%s",
				 poll_name(sessions[i].busy), pin_name(eff_pin(sessions[i].pin)));
			udp_rtt_mode = mode_buf[0];
		}
		if (tput_res[i][0].ok &&
		    (udp_tp_best == NULL || tput_res[i][0].fps > udp_tp_best->fps)) {
			udp_tp_best = &tput_res[i][0];
			snprintf(mode_buf[1], sizeof(mode_buf[1]), "%s/%s",
				 poll_name(sessions[i].busy), pin_name(eff_pin(sessions[i].pin)));
			udp_tp_mode = mode_buf[1];
		}
	}
	if (udp_rtt_best != NULL)
		printf("bench=fabric udp_fastest=rtt size=64 mode=%s p50_us=%.3f\n", udp_rtt_mode,
		       udp_rtt_best->p50);
	if (udp_tp_best != NULL)
		printf("bench=fabric udp_fastest=tput size=64 mode=%s frames_per_s=%.0f\n",
		       udp_tp_mode, udp_tp_best->fps);

	/* The done-when bars of issue 3. */
	{
		const struct rtt_res *v = rtt_get(FAB_VHOST, true, PIN_ANY, 0);
		const struct tput_res *t = tput_get(FAB_VHOST, true, PIN_ANY, 0);
		char extra[96];
		double x;

		if (v != NULL && udp_rtt_best != NULL) {
			x = v->p50 / udp_rtt_best->p50;
			printf("bench=fabric ratio=rtt_p50_vhost_vs_udp size=64 vhost=busy udp=%s "
			       "value=%.3f\n",
			       udp_rtt_mode, x);
			snprintf(extra, sizeof(extra), " size=64 vhost=busy udp=%s", udp_rtt_mode);
			check_line("rtt_p50_vhost_vs_udp", extra, "<=0.25", x, x <= 0.25,
				   v->p50_min / udp_rtt_best->p50_min, v->other_pct,
				   udp_rtt_best->other_pct);
		}
		if (t != NULL && udp_tp_best != NULL) {
			x = t->fps / udp_tp_best->fps;
			printf("bench=fabric ratio=tput64_vhost_vs_udp vhost=busy udp=%s "
			       "value=%.3f\n",
			       udp_tp_mode, x);
			snprintf(extra, sizeof(extra), " vhost=busy udp=%s", udp_tp_mode);
			check_line("tput64_vhost_vs_udp", extra, ">=10", x, x >= 10.0,
				   t->fps_max / udp_tp_best->fps_max, t->other_pct,
				   udp_tp_best->other_pct);
		}
		for (k = 0; k < N_SIZES_TP; k++) {
			const struct tput_res *a = tput_get(FAB_VHOST, true, PIN_ANY, k);
			const struct tput_res *r = tput_get(FAB_RAW_VHOST, true, PIN_ANY, k);

			if (a == NULL || r == NULL || r->fps <= 0 ||
			    tput_vs_raw_paired(FAB_RAW_VHOST, k, &x) == 0)
				continue;
			snprintf(extra, sizeof(extra), " size=%u", tput_sizes[k]);
			check_line("tput_vhost_vs_raw", extra, ">=0.5", x, x >= 0.5,
				   a->fps_max / r->fps_max, a->other_pct, r->other_pct);
		}
		if (idle_ok[FAB_VHOST][1]) {
			x = idle_pct[FAB_VHOST][1];
			check_line("idle_cpu_pct", " driver=dpdk-vhost nodes=3 poll=adaptive",
				   "<10", x, x < 10.0, -1, -1, -1);
		}
	}
	fflush(stdout);
}

/* ---- the cost of Tern framing alone, in this process ---- */

static void
run_framing(void)
{
	static uint8_t buf[FAB_SIZE_MAX] __attribute__((aligned(64)));
	uint64_t budget = (uint64_t)(TERN_MIN(cfg.seconds, 0.5) * 0.2e9);
	struct tern_wire_ctx tx, rx;
	unsigned int k;

	tern_wire_ctx_init(&tx, FAB_GROUP, 2);
	tern_wire_ctx_add_node(&tx, 1);
	tern_wire_ctx_init(&rx, FAB_GROUP, 1);
	tern_wire_ctx_add_node(&rx, 2);
	for (k = 0; k < N_SIZES_TP && !stop_requested; k++) {
		uint32_t size = tput_sizes[k], len = 0;
		const struct tern_wire_hdr *h;
		uint64_t t0, t1, n, seq = 0, bad = 0;
		double seal_ns, check_ns;

		memset(buf, 0x5a, size);
		t0 = fab_now_ns();
		for (n = 0; (n & 255) != 0 || fab_now_ns() - t0 < budget; n++) {
			seq++;
			memcpy(buf + TERN_WIRE_HDR_LEN, &seq, sizeof(seq));
			len = tern_wire_seal(&tx, buf, TERN_WIRE_ENTRIES, 1, FAB_TERM,
					     size - TERN_WIRE_HDR_LEN);
		}
		t1 = fab_now_ns();
		seal_ns = (double)(t1 - t0) / (double)n;
		t0 = fab_now_ns();
		for (n = 0; (n & 255) != 0 || fab_now_ns() - t0 < budget; n++)
			bad += tern_wire_check(&rx, buf, len, &h) != TERN_WIRE_REJ_NONE;
		t1 = fab_now_ns();
		check_ns = (double)(t1 - t0) / (double)n;
		printf("bench=fabric test=framing size=%u seal_ns=%.0f check_ns=%.0f "
		       "gbit_s_per_core=%.2f%s\n",
		       size, seal_ns, check_ns, (double)size * 8 / (seal_ns + check_ns),
		       bad != 0 ? " error=check_failed" : "");
	}
	fflush(stdout);
}

/* ---- options ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: tern-bench-fabric [options]\n"
		"Ping-pong RTT (64 B, 1 KiB) and one-way throughput (64 B, 1 KiB, 8 KiB) of Tern\n"
		"frames between two processes over dpdk-vhost, dpdk-memif, dpdk-afpacket (veth,\n"
		"network namespace; needs root) and udp, in busy and adaptive polling; the raw\n"
		"vhost figures (bare rte_eth bursts, no Tern work: raw-vhost never writes a\n"
		"payload; raw-vhost-data copies each payload in and reads every line of it on\n"
		"the other side, throughput only); then the CPU use of three idle\n"
		"nodes. Sizes are Tern datagrams (40-byte header + payload); the dpdk fabrics add\n"
		"42 bytes of Ethernet/IPv4/UDP on the wire, and raw-vhost sends frames of the\n"
		"same length.\n"
		"\n"
		"  --seconds S     seconds per measurement and round (default 0.6)\n"
		"  --rounds N      measure everything N times, the fabrics interleaved, and\n"
		"                  report the median round of each measurement (default 5)\n"
		"  --quick         one round of 0.5 seconds per measurement, a 2-second idle\n"
		"                  window (default: a 5-second one)\n"
		"  --only LIST     comma-separated: dpdk-vhost, dpdk-memif, dpdk-afpacket, udp,\n"
		"                  raw-vhost, raw-vhost-data, idle (default: all)\n"
		"  --poll MODE     busy, adaptive or both (default both)\n"
		"  --nice N        run the peer processes at this nice level (default 0; a\n"
		"                  negative one, as root, shields busy pollers from other load\n"
		"                  on a shared machine: say so when quoting such figures)\n"
		"  --spread        pin the two processes of a pair to different CPUs (DPDK:\n"
		"                  --lcores='0@N') instead of letting the kernel place them;\n"
		"                  lines say pin=spread\n"
		"  --help          this text\n"
		"\n"
		"Prints one key=value line per measurement (other_cpu_pct: what the rest of the\n"
		"machine used meanwhile, in %% of one CPU: above a few %%, busy-polling figures "
		"are\n"
		"disturbed), then ratio= lines against udp and the raw fabric, and check= lines\n"
		"for the bars of issue 3 (disturbed=yes: the figures compared were measured while\n"
		"the rest of the machine used over 25%% of a CPU); with several rounds, each\n"
		"round's figures also go to stderr. Tern-framed vs raw vhost throughput is\n"
		"the median of each round's own ratio (rounds_paired=; value_of_medians=: the\n"
		"ratio of the two medians).\n"
		"test=framing lines give what sealing and checking a datagram costs in-process.\n"
		"Every process, socket, /var/run/dpdk/<prefix> directory, veth and namespace it\n"
		"creates is removed.\n");
}

static int
parse_only(const char *s)
{
	char *dup = strdup(s), *tok, *save = NULL;
	unsigned int i;

	if (dup == NULL)
		return -ENOMEM;
	cfg.only = 0;
	for (tok = strtok_r(dup, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (i = 0; i < FAB_COUNT; i++) {
			if (strcmp(tok, fab_names[i]) == 0) {
				cfg.only |= 1U << i;
				found = true;
			}
		}
		if (strcmp(tok, "idle") == 0) {
			cfg.only |= ONLY_IDLE;
			found = true;
		}
		if (!found) {
			free(dup);
			return -EINVAL;
		}
	}
	free(dup);
	return cfg.only != 0 ? 0 : -EINVAL;
}

/* 0: run; 1: --help; -1: bad usage. */
static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seconds", required_argument, NULL, 's'},
		{"quick", no_argument, NULL, 'q'},
		{"only", required_argument, NULL, 'o'},
		{"poll", required_argument, NULL, 'p'},
		{"rounds", required_argument, NULL, 'r'},
		{"nice", required_argument, NULL, 'n'},
		{"spread", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool seconds_set = false, rounds_set = false;
	int c;

	cfg.seconds = 0.6;
	cfg.rounds = 5;
	cfg.idle_secs = 5.0;
	cfg.only = ~0U;
	cfg.polls = 3;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 's':
			errno = 0;
			cfg.seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' ||
			    !(cfg.seconds >= 0.05 && cfg.seconds <= 600)) {
				fprintf(stderr, "tern-bench-fabric: bad --seconds '%s'\n", optarg);
				return -1;
			}
			seconds_set = true;
			break;
		case 'q':
			cfg.quick = true;
			break;
		case 'r': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0 || v > ROUNDS_MAX) {
				fprintf(stderr, "tern-bench-fabric: bad --rounds '%s' (1..%d)\n",
					optarg, ROUNDS_MAX);
				return -1;
			}
			cfg.rounds = (unsigned int)v;
			rounds_set = true;
			break;
		}
		case 'o':
			if (parse_only(optarg) != 0) {
				fprintf(stderr, "tern-bench-fabric: bad --only '%s'\n", optarg);
				return -1;
			}
			break;
		case 'p':
			if (strcmp(optarg, "busy") == 0)
				cfg.polls = 1;
			else if (strcmp(optarg, "adaptive") == 0)
				cfg.polls = 2;
			else if (strcmp(optarg, "both") == 0)
				cfg.polls = 3;
			else {
				fprintf(stderr, "tern-bench-fabric: bad --poll '%s'\n", optarg);
				return -1;
			}
			break;
		case 'n': {
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < -20 || v > 19) {
				fprintf(stderr, "tern-bench-fabric: bad --nice '%s' (-20..19)\n",
					optarg);
				return -1;
			}
			cfg.nice = (int)v;
			break;
		}
		case 'S':
			cfg.spread = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tern-bench-fabric: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (cfg.quick) {
		if (!seconds_set)
			cfg.seconds = 0.5;
		if (!rounds_set)
			cfg.rounds = 1;
		cfg.idle_secs = 2.0;
	}
	return 0;
}

static double
loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static bool
poll_wanted(bool busy)
{
	return (cfg.polls & (busy ? 1U : 2U)) != 0;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	const char *tmp;
	unsigned int i, r;
	ssize_t len;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--peer") == 0)
		return fab_peer_main(argc, argv);
	rc = parse_args(argc, argv);
	if (rc != 0)
		return rc > 0 ? EXIT_SUCCESS : 2;
	len = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (len <= 0) {
		fprintf(stderr, "tern-bench-fabric: cannot find its own executable\n");
		return EXIT_FAILURE;
	}
	self_exe[len] = '\0';

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	tmp = getenv("TMPDIR");
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/tern-bench-fabric.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (strlen(tmp_dir) > 80) {
		fprintf(stderr, "tern-bench-fabric: TMPDIR is too long for unix socket paths\n");
		tmp_dir[0] = '\0';
		return EXIT_FAILURE;
	}
	if (mkdtemp(tmp_dir) == NULL) {
		fprintf(stderr, "tern-bench-fabric: mkdtemp %s: %s\n", tmp_dir, strerror(errno));
		tmp_dir[0] = '\0';
		return EXIT_FAILURE;
	}
	udp_base = 20000 + (int)(getpid() % 15000) * 3;

	printf("bench=fabric seconds=%.2f rounds=%u idle_seconds=%.2f nice=%d cpus=%ld "
	       "loadavg=%.2f "
	       "root=%s dpdk=%d.%02d.%d dpdk_driver=%s sizes=64,1024,8192 "
	       "size_unit=tern_datagram_bytes\n",
	       cfg.seconds, cfg.rounds, cfg.idle_secs, cfg.nice, sysconf(_SC_NPROCESSORS_ONLN),
	       loadavg(), geteuid() == 0 ? "yes" : "no", RTE_VER_YEAR, RTE_VER_MONTH, RTE_VER_MINOR,
#ifdef TERN_BENCH_FABRIC_DPDK
	       "yes"
#else
	       "no"
#endif
	);
	fflush(stdout);

	for (r = 0; r < cfg.rounds && !stop_requested; r++) {
		for (i = 0; i < N_SESS && !stop_requested; i++) {
			const struct sess_def *d = &sessions[i];

			if (!(cfg.only & (1U << d->f)))
				continue;
			if (d->f != FAB_RAW_VHOST && d->f != FAB_RAW_VHOST_DATA &&
			    !poll_wanted(d->busy))
				continue;
			run_session(i, r);
		}
	}
	netns_remove();
	if (!stop_requested) {
		print_results();
		run_framing();
	}
	if ((cfg.only & ONLY_IDLE) && !stop_requested) {
		if (poll_wanted(false)) {
			run_idle(FAB_VHOST, false);
			run_idle(FAB_UDP, false);
		}
		if (poll_wanted(true) && !stop_requested)
			run_idle(FAB_VHOST, true);
	}
	if (!stop_requested) {
		print_ratios();
		printf("bench=fabric end loadavg=%.2f\n", loadavg());
	}
	cleanup();
	if (stop_requested)
		return 130;
	return failures > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
