/*
 * bench_ws — the OCPP-J transport of the real, optimised binary.
 *
 * Starts build/sitegate (or argv[1]) on a generated configuration with
 * ocpp.listen 127.0.0.1:0, reads the bound port from its "ocpp: listening"
 * log line, then drives it with clients built on our own ws client and rpc
 * layer (one process, one libevent loop):
 *
 *   1. Heartbeat CALL/CALLRESULT round trips per second over 1, 10 and 100
 *      concurrent connections, each connection in a closed loop (the next
 *      CALL leaves when the previous answer arrives), after a warm-up.
 *   2. The gateway's resident memory before and after 1 000 idle
 *      connections (VmRSS, and VmHWM, the peak, from /proc/<pid>/status).
 *
 * The load generator shares the machine's cores with the gateway; the
 * figures are what one box does talking to itself over loopback.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "transport/rpc.h"
#include "transport/ws.h"
#include "util/log.h"
#include "tests/bench/procstat.h"

#define WARMUP_MS 300
#define MEASURE_MS 2000
#define IDLE_CONNS 1000
#define BATCH 100

struct bench;

struct lconn {
	struct bench *b;
	struct ws_conn *ws;
	struct rpc *rpc;
	int n;
};

struct bench {
	struct event_base *base;
	struct rpc_handlers *handlers;
	char url[64];
	pid_t pid;
	int errfd;
	struct event *errev;
	struct lconn *conns;
	int nconns, launched, nopen, nfailed;
	bool measuring, stopping;
	long long calls;
	void (*on_all_open)(struct bench *);
};

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_ws: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ------------------------------------------------------------ gateway */

static void
write_config(const char *dir, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/sitegate.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write %s: %s", path, strerror(errno));
	/* Every client is a configured charger: an unknown one would wait
	 * as Pending and be refused. */
	fprintf(f,
	    "{\n"
	    "  \"site_id\": \"bench\",\n"
	    "  \"state_file\": \"%s/state.db\",\n"
	    "  \"log_level\": \"info\",\n"
	    "  \"ocpp\": { \"listen\": \"127.0.0.1:0\",\n"
	    "    \"versions\": [\"ocpp2.0.1\", \"ocpp1.6\"],\n"
	    "    \"max_connections\": 2000 },\n"
	    "  \"chargers\": [\n", dir);
	for (int i = 0; i < IDLE_CONNS; i++)
		fprintf(f, "    { \"id\": \"BENCH-%04d\", \"max_current_a\": 32 }%s\n",
		    i, i + 1 < IDLE_CONNS ? "," : "");
	fprintf(f,
	    "  ],\n"
	    "  \"site\": { \"voltage_v\": 230, \"min_current_a\": 6,\n"
	    "    \"failsafe_current_a\": 16,\n"
	    "    \"circuits\": [ { \"id\": \"main\", \"max_current_a\": 63 } ] },\n"
	    "  \"authorization\": { \"mode\": \"accept_all\" }\n"
	    "}\n");
	fclose(f);
}

/* Start the gateway; returns the port from its "listening" line once it
 * says "gateway: ready". */
static int
start_gateway(struct bench *b, const char *bin, const char *config)
{
	char buf[8192];
	size_t len = 0;
	int fds[2], port = -1;
	long long deadline = now_us() + 15 * 1000000LL;

	if (pipe(fds) != 0)
		die("pipe: %s", strerror(errno));
	b->pid = fork();
	if (b->pid < 0)
		die("fork: %s", strerror(errno));
	if (b->pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, "--config", config, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	b->errfd = fds[0];
	for (;;) {
		struct pollfd p = { b->errfd, POLLIN, 0 };
		char *nl, *at;
		ssize_t n;

		if (now_us() > deadline)
			die("the gateway did not get ready; log:\n%.*s", (int)len, buf);
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(b->errfd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			die("the gateway exited; log:\n%.*s", (int)len, buf);
		len += (size_t)n;
		buf[len] = '\0';
		if ((at = strstr(buf, "ocpp: listening addr=")) != NULL &&
		    (nl = strchr(at, '\n')) != NULL && port < 0) {
			char *colon = nl;

			while (colon > at && *colon != ':')
				colon--;
			port = (int)strtol(colon + 1, NULL, 10);
		}
		if (strstr(buf, "gateway: ready") != NULL && port > 0)
			return port;
		if (len > sizeof buf / 2) {
			/* Keep the tail only. */
			memmove(buf, buf + len - 1024, 1024);
			len = 1024;
		}
	}
}

/* Keep reading the gateway's log so it never blocks on a full pipe. */
static void
drain_log(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	char buf[4096];

	(void)what;
	if (read(fd, buf, sizeof buf) <= 0)
		event_del(b->errev);
}

/* SIGTERM, and keep reading its log (it logs every disconnect) until it
 * has exited. */
static void
stop_gateway(struct bench *b)
{
	char buf[4096];
	int status = 0;

	kill(b->pid, SIGTERM);
	for (;;) {
		struct pollfd p = { b->errfd, POLLIN, 0 };
		pid_t r = waitpid(b->pid, &status, WNOHANG);

		if (r == b->pid)
			break;
		if (r < 0)
			die("waitpid: %s", strerror(errno));
		if (poll(&p, 1, 100) > 0 && read(b->errfd, buf, sizeof buf) <= 0) {
			if (waitpid(b->pid, &status, 0) != b->pid)
				die("waitpid: %s", strerror(errno));
			break;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the gateway did not exit cleanly (status %d)", status);
}

/* ------------------------------------------------------------ clients */

static void fire(struct lconn *lc);

static void
on_heartbeat(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct lconn *lc = arg;

	(void)rpc;
	if (res->outcome == RPC_OUTCOME_ERROR)
		die("Heartbeat answered with %s: %s", res->code_name,
		    res->description);
	if (res->outcome != RPC_OUTCOME_RESULT)
		return;		/* closed or timed out while stopping */
	if (lc->b->measuring)
		lc->b->calls++;
	if (!lc->b->stopping)
		fire(lc);
}

static void
fire(struct lconn *lc)
{
	if (rpc_call(lc->rpc, "Heartbeat", NULL, on_heartbeat, lc) != RPC_OK)
		die("rpc_call refused");
}

static void
on_disconnect(struct rpc *rpc, const struct ws_close_info *info, void *arg)
{
	struct lconn *lc = arg;

	(void)rpc;
	lc->rpc = NULL;
	if (!lc->b->stopping)
		die("connection %d lost: %u %s", lc->n, info->code, info->reason);
}

static void launch(struct bench *b, int upto);

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct lconn *lc = arg;
	struct bench *b = lc->b;
	struct rpc_opts o;

	memset(&o, 0, sizeof o);
	o.version = OCPP_V201;
	o.handlers = b->handlers;
	o.call_timeout_ms = 30000;
	o.on_disconnect = on_disconnect;
	o.arg = lc;
	lc->ws = NULL;
	lc->rpc = rpc_new(b->base, conn, &o);
	b->nopen++;
	if (b->nopen == b->nconns)
		b->on_all_open(b);
	else if (b->nopen == b->launched)
		launch(b, b->launched + BATCH);
}

static void
on_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct lconn *lc = arg;

	(void)conn;
	lc->ws = NULL;
	die("connection %d failed: %s", lc->n, info->reason);
}

static const struct ws_handler handler = { on_open, NULL, on_close };

/* Start connections [launched, upto). */
static void
launch(struct bench *b, int upto)
{
	if (upto > b->nconns)
		upto = b->nconns;
	for (; b->launched < upto; b->launched++) {
		struct lconn *lc = &b->conns[b->launched];
		struct ws_client_opts o;
		char id[32], *cause = NULL;

		memset(&o, 0, sizeof o);
		snprintf(id, sizeof id, "BENCH-%04d", b->launched);
		o.url = b->url;
		o.id = id;
		o.protocol = "ocpp2.0.1";
		o.limits.handshake_timeout_ms = 30000;
		lc->b = b;
		lc->n = b->launched;
		lc->ws = ws_connect(b->base, &o, &handler, lc, &cause);
		if (lc->ws == NULL)
			die("ws_connect: %s", cause);
	}
}

static void
open_conns(struct bench *b, int n, void (*cb)(struct bench *))
{
	b->conns = calloc((size_t)n, sizeof *b->conns);
	if (b->conns == NULL)
		die("out of memory");
	b->nconns = n;
	b->launched = b->nopen = 0;
	b->measuring = b->stopping = false;
	b->calls = 0;
	b->on_all_open = cb;
	launch(b, BATCH);
}

static void
close_conns(struct bench *b)
{
	b->stopping = true;
	for (int i = 0; i < b->nconns; i++) {
		rpc_free(b->conns[i].rpc);
		ws_conn_free(b->conns[i].ws);
	}
	free(b->conns);
	b->conns = NULL;
	b->nconns = 0;
}

/* ------------------------------------------------------------ phases */

static long long t_start, t_end;

static void
end_measure(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)fd;
	(void)what;
	b->measuring = false;
	b->stopping = true;
	t_end = now_us();
	event_base_loopexit(b->base, NULL);
}

static void
start_measure(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	struct timeval tv = { MEASURE_MS / 1000, MEASURE_MS % 1000 * 1000 };

	(void)fd;
	(void)what;
	b->calls = 0;
	t_start = now_us();
	b->measuring = true;
	event_base_once(b->base, -1, EV_TIMEOUT, end_measure, b, &tv);
}

static void
all_open_load(struct bench *b)
{
	struct timeval tv = { 0, WARMUP_MS * 1000 };

	for (int i = 0; i < b->nconns; i++)
		fire(&b->conns[i]);
	event_base_once(b->base, -1, EV_TIMEOUT, start_measure, b, &tv);
}

static void
all_open_idle(struct bench *b)
{
	event_base_loopexit(b->base, NULL);
}

int
main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "build/sitegate";
	char dir[] = "/tmp/sitegate-bench-XXXXXX", config[256], cpu[128];
	static const int loads[] = { 1, 10, 100 };
	struct bench b;
	long rss0, rss1, hwm;
	int port;

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	log_set_level(LOG_LEVEL_WARN);
	memset(&b, 0, sizeof b);
	if (access(bin, X_OK) != 0)
		die("%s: %s (run `make build/sitegate` first)", bin, strerror(errno));
	if (mkdtemp(dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	write_config(dir, config, sizeof config);
	port = start_gateway(&b, bin, config);
	snprintf(b.url, sizeof b.url, "ws://127.0.0.1:%d/ocpp", port);
	cpu_model(cpu, sizeof cpu);
	printf("bench_ws: %s on 127.0.0.1:%d; nproc %ld, %s\n", bin, port,
	    sysconf(_SC_NPROCESSORS_ONLN), cpu);
	printf("bench_ws: clients use sitegate's own ws client + rpc, in one "
	    "process on the same machine\n");
	fflush(stdout);

	b.base = event_base_new();
	b.handlers = rpc_handlers_new();
	b.errev = event_new(b.base, b.errfd, EV_READ | EV_PERSIST, drain_log,
	    &b);
	event_add(b.errev, NULL);

	for (size_t i = 0; i < sizeof loads / sizeof *loads; i++) {
		double secs, rps;

		open_conns(&b, loads[i], all_open_load);
		event_base_dispatch(b.base);
		close_conns(&b);
		secs = (double)(t_end - t_start) / 1e6;
		rps = (double)b.calls / secs;
		printf("heartbeat round trips  conns=%-4d  %9.0f per s   "
		    "mean latency %7.1f us   (%lld in %.2f s)\n", loads[i], rps,
		    rps > 0 ? 1e6 * loads[i] / rps : 0.0, b.calls, secs);
		fflush(stdout);
	}

	rss0 = proc_kb(b.pid, "VmRSS");
	open_conns(&b, IDLE_CONNS, all_open_idle);
	event_base_dispatch(b.base);
	rss1 = proc_kb(b.pid, "VmRSS");
	hwm = proc_kb(b.pid, "VmHWM");
	printf("gateway memory         idle conns=0     VmRSS %6ld kB\n", rss0);
	printf("gateway memory         idle conns=%-5d VmRSS %6ld kB   "
	    "peak VmHWM %6ld kB   (%.1f kB per connection)\n", IDLE_CONNS,
	    rss1, hwm, (double)(rss1 - rss0) / IDLE_CONNS);
	fflush(stdout);
	close_conns(&b);
	stop_gateway(&b);
	event_free(b.errev);
	close(b.errfd);
	rpc_handlers_free(b.handlers);
	event_base_free(b.base);
	{
		char p[300];

		snprintf(p, sizeof p, "%s/state.db", dir);
		unlink(p);
		snprintf(p, sizeof p, "%s/state.db-wal", dir);
		unlink(p);
		snprintf(p, sizeof p, "%s/state.db-shm", dir);
		unlink(p);
		unlink(config);
		rmdir(dir);
	}
	return 0;
}
