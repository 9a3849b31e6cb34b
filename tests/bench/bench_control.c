/*
 * bench_control — latency of the control loop (issue #6): from the MQTT
 * publish of a new site limit to the last SetChargingProfile read by the
 * chargers, at 10, 100 and 1 000 chargers on loopback; and the load
 * generator that drives those chargers.
 *
 * What runs (three processes on one machine):
 *
 *   this process ──mqtt──▶ mosquitto ──mqtt──▶ sitegate ──ws──▶ this process
 *   (one EMS client and N simulated chargers in one libevent loop)
 *
 *   1. mosquitto on a free loopback port (a port found by binding port 0,
 *      a generated configuration; ready once it accepts a connection).
 *   2. Per size N: build/sitegate (or the binary given) on a generated
 *      configuration — chargers LG-0001.. (3-phase, 32 A, alternately OCPP
 *      1.6 and 2.0.1), one root circuit, the mqtt section pointing at the
 *      broker with prefix lgbench/n<N>, ocpp.listen 127.0.0.1:0; its log
 *      goes to a file, where the bound port ("ocpp: listening"), "gateway:
 *      ready" and "ems: subscribed" are read.
 *   3. The load generator: N chargers on sitegate's own ws client and rpc
 *      layer, as real ones behave: BootNotification; the gateway's
 *      capability discovery answered (smart charging on, units A and W,
 *      stack levels 3; the configuration store is sim/cpconf.h, shared
 *      with sitegate-sim); its configuration writes accepted; a transaction
 *      started (1.6 StartTransaction + StatusNotification Charging, 2.0.1
 *      StatusNotification Occupied + TransactionEvent Started, chargingState
 *      Charging); MeterValues with Current.Import per phase at the interval
 *      the gateway configured (the car draws what it was last offered).
 *      Every SetChargingProfile is answered Accepted and recorded: receive
 *      time (CLOCK_MONOTONIC, when our handler runs), limit, purpose.
 *   4. Rounds: the EMS client publishes {"max_current_a": N*lo} and
 *      {"max_current_a": N*hi} alternately (default 8 and 10 A per EVSE),
 *      the clock read just before mosquitto_publish(). A round ends when
 *      every charger has received a SetChargingProfile carrying its new
 *      limit (latency = the last receipt - the publish), or at the round
 *      timeout (counted, reported, left out of the percentiles). A warm-up
 *      round is not counted. Profiles with another limit (the base
 *      TxDefaultProfile sent after boot, intermediate values) are counted
 *      but do not end a charger's round; a second profile with the awaited
 *      limit in the same round is counted as a duplicate.
 *
 * Printed per N: p50, p99 and max of the round latency, the p50 of the
 * first receipt (how much is the path to the first charger and how much
 * the fan-out), timeouts, what the chargers saw (profiles per charger per
 * round, purposes, duplicates, anything odd), and the CPU time of the
 * gateway, the broker and this process over the measured rounds, with the
 * gateway's memory. Warnings and errors in the gateway's log are counted.
 * Nothing is asserted on time: the exit status is non-zero only when the
 * set-up fails (a process does not start, a charger is refused or
 * disconnected, or no charger ever receives a profile).
 *
 * Another job on the box: --hog N runs N processes that only burn CPU (at
 * nice 0) for the whole run, and --nice N starts the gateway at nice N, as
 * the packaged unit's Nice= does, so that one can compare the control loop
 * with a CPU hog beside it with and without the unit's priority (cgroup
 * weights, CPUWeight=, need systemd and are not applied here).
 *
 * The three processes share the machine's cores; a real site has the
 * chargers and the EMS on other machines, so the figures here are an upper
 * bound on what the gateway adds, inflated by the load generator's own
 * work on the same cores.
 *
 * The broker runs with set_tcp_nodelay true. With mosquitto's default
 * (--nagle), its Nagle algorithm meets the gateway's delayed ACK and now
 * and then a limit waits 40 ms in the broker: that is the broker's
 * configuration, not the gateway, so it is kept out of the figures.
 *
 * The installer's page (--pages K; the default run uses K = 10 at 1 000
 * chargers, sizes given with --chargers none unless asked): the generated
 * configuration gets a web section (127.0.0.1:0, the port read from the
 * log's "web: page at"), the password is set with `sitegate
 * --set-web-password` before the gateway starts, and this process logs in
 * once (POST /api/login, Origin http://<Host>) and reuses the cookie. The
 * pages are libevent's evhttp client in the same loop as the chargers:
 * each is a GET /api/events on its own connection whose chunks (one per
 * event) are counted and dropped, as a browser reads them. Three figures,
 * each comparing in the same run, alternately, A B A B:
 *
 *   - the rounds above run in blocks (--page-block, default 25 rounds)
 *     with 0 and K pages open in turn (0, K, 0, K ...; a block starts once
 *     every page has had its first, whole, event and a second more):
 *     p50/p99 per page count and their ratio, the gateway's CPU per round
 *     and per second for each; the usual lines cover the 0-page rounds;
 *   - the state document: GET /api/state, one keep-alive connection, no
 *     page open, in blocks of 25 alternating with GET /api/session (the
 *     same HTTP and session check without the document): its size, the
 *     round trip (p50, p99), the gateway's CPU per request (/proc utime +
 *     stime over each block) for both and the difference;
 *   - the push channel: one limit change a second (no rounds), blocks of
 *     --push-seconds (default 10) with 0, 1 and K pages open in turn, twice:
 *     the gateway's CPU per second for each, bytes and events per stream
 *     per second (with 1 page against K: what is built once per push and
 *     what is paid per stream).
 *
 * The pages are read by this process, on the cores the gateway uses: with
 * them open, the load generator's own CPU grows too, and part of a
 * latency ratio is that; it is printed beside.
 *
 * Figures (three runs at 1 000 chargers, 10 pages, the shared 2-core AMD
 * EPYC VM): the state document 468 kB, 7.2-9.0 ms of gateway CPU per GET
 * /api/state (0.05-0.10 ms per GET /api/session); with one limit change a
 * second the gateway uses 79-95 ms/s with no page, 108-130 with 1, 117-139
 * with 10 (ratio 1.38-1.47: the first page pays the build of every push,
 * each further one about 1 ms/s), each page receiving 492 kB/s; the
 * control loop's p50 with 10 pages against none 1.00-1.03 (docs/
 * performance.md, "The installer's page").
 *
 * Manual experiments: --hold connects the chargers and keeps them (to a
 * gateway started here, or to one given with --url whose configuration
 * lists LG-0001..), printing what they receive each second until Ctrl-C;
 * lines "<topic under the prefix> <payload>" on stdin are published.
 * --verbose prints every profile; --answer-delay-ms answers dynamic
 * profiles late and reports increases that arrive while a decrease is
 * unanswered (the order dispatch promises).
 *
 * Reading the output: at 1 000 chargers the first charger should read its
 * profile about a millisecond after the publish. When the first receipt
 * comes as late as the last, frames are not leaving while the burst is
 * built (the fault ws.c once had: its direct write silently did nothing).
 *
 * Figures (issue #6; `build/bench/bench_control`, three runs on the shared
 * 2-core Xeon VM, main at the commit that added bench_codec):
 *
 *   chargers   p50            p99              gateway CPU per round
 *   10         0.7-0.8 ms     1.3-1.7 ms       0.60-0.65 ms
 *   100        2.8-2.9 ms     4.9-5.3 ms       2.5-2.7 ms
 *   1 000      17.2-17.6 ms   33.3-35.9 ms     23-25 ms
 *
 * The target, p99 <= 50 ms at 1 000 chargers, is met (docs/performance.md
 * has the current figures and how to rerun them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <mosquitto.h>

#include "ocpp/schema.h"
#include "transport/rpc.h"
#include "transport/ws.h"
#include "util/isotime.h"
#include "util/json.h"
#include "util/log.h"
#include "tests/bench/procstat.h"
#include "sim/cpconf.h"

#define PROG "bench_control"
#define BATCH 100		/* connections opened at a time */
#define MAX_SIZES 8
#define EMS_MAX_A 10000.0	/* the largest limit the EMS contract allows */
#define WARMUP_TIMEOUT_MS 60000
#define SETUP_TIMEOUT_MS 180000	/* all chargers connected and active */
#define TAG "LG-TAG"
#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#define PAGES_DEFAULT 10	/* at 1 000 chargers when run without options */
#define PAGE_BLOCK_ROUNDS 25	/* rounds per block, 0 and K pages in turn */
#define PUSH_BLOCK_S 10		/* seconds per block of the push figures */
#define PUSH_REPEATS 2		/* the push blocks 0, 1, K run this often */
#define STATE_BLOCK 25		/* GET /api/state, then as many /api/session */
#define STATE_BLOCKS 8		/* of each */
#define PAGE_SETTLE_MS 1000	/* after the first events, before measuring */
#define WEB_PASSWORD "lgbench installer password"
#define WEB_TIMEOUT_MS 30000

struct lg;

struct charger {
	struct lg *lg;
	int n;				/* 0-based; its id is LG-%04d of n + 1 */
	char id[16];
	enum ocpp_version v;
	struct ws_conn *ws;		/* while the handshake runs */
	struct rpc *rpc;		/* once open */
	bool active;			/* transaction running, first meter sent */
	bool discovered;		/* capability discovery answered */
	bool ready;			/* both */
	bool counted_discovered;
	char tx_id[40];
	int seq_no;			/* 2.0.1: the next TransactionEvent's */
	double energy_wh;
	double draw_a;			/* what the car draws: its last offer */
	double installed_a;		/* dynamic limit last accepted (32: none) */
	struct cpconf conf;		/* what discovery reads and writes */
	struct event *meter;
	/* the round running */
	bool done;
	int round_profiles;
};

/* What the chargers saw, over the measured rounds. */
struct seen {
	long profiles;			/* SetChargingProfile received */
	long purpose[3];		/* max, tx default, tx */
	long matching;			/* carrying the awaited limit */
	long dup;			/* ...for a charger that had it already */
	long other_limit;		/* another limit (base profile, ...) */
	long wrong_unit, wrong_evse, wrong_tx, invalid;
	long clears, other_calls, meters;
	int max_per_round;		/* most profiles one charger got in a round */
	double min_stack, max_stack;
	char other_names[160];		/* distinct other actions received */
};

/* One open page: GET /api/events on its own connection. */
struct page {
	struct lg *lg;
	struct evhttp_connection *con;
	bool open;			/* ours, not yet closed by us */
	bool got_first;			/* had its first (whole) event */
	long long bytes;		/* chunks received, SSE framing included */
	long events;
	long first_bytes;		/* its first event */
};

/* The installer's page client: the API connection and the pages. */
struct webc {
	int port;
	char host[32], origin[64], cookie[192];
	struct evhttp_connection *api;
	/* the API request in flight */
	bool done;
	int status;
	size_t len;
	/* pages */
	struct page *pg;
	int maxpages, nopen, nfirst;
	long dropped;			/* streams the gateway ended */
	long first_bytes;		/* the latest first event's size */
};

struct lg {
	struct event_base *base;
	struct rpc_handlers *handlers;
	char url[128];
	int n;
	struct charger *ch;
	int launched, nopen, nactive, ndiscovered, nready;
	bool stopping, holding, hold_announced, verbose;
	int answer_delay_ms, unanswered_dec;
	long order_violations;
	struct event *hold_tick, *sigint, *sigterm, *stdin_ev;
	char prefix[64];
	long long setup_deadline_us;

	/* the EMS client */
	struct mosquitto *mosq;
	struct event *mq_read, *mq_tick;
	bool mq_connected;
	char topic[128];

	/* rounds */
	double lo_a, hi_a;		/* per EVSE */
	int rounds, round;		/* round -1: warm-up */
	int pause_ms, timeout_ms;
	bool in_round, measuring;
	double want_a;
	long long t_pub, t_first, t_last;
	int ndone;
	struct event *round_timer, *pause_timer;
	double *lat, *first;		/* ms per completed round */
	bool *up;			/* that round was an increase */
	int nlat, timeouts;
	long missing;
	struct seen seen;
	/* --pages: blocks of rounds with 0 and K pages open */
	struct webc web;
	int pages_now, block_rounds;
	bool block_end;
	bool *paged;			/* per completed round: pages were open */
	int timeouts_pg[2];
	long missing_pg[2];
	long hold_profiles;
	double hold_min, hold_max;
};

/* Child processes, for the exit handler. */
static pid_t broker_pid = -1, gateway_pid = -1;
static char top_dir[PATH_MAX];
static bool keep_files;

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (top_dir[0] != '\0') {
		fprintf(stderr, PROG ": configurations and logs kept in %s\n",
		    top_dir);
		keep_files = true;
	}
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* ------------------------------------------------------------ /proc */

static double
self_cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/* Each charger is a socket here and one in the gateway (which raises its
 * own limit): the default soft limit of 1 024 is too low for 1 000. */
static void
raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need)
		die("RLIMIT_NOFILE is %llu, %d chargers need about %d (raise the "
		    "hard limit: ulimit -Hn)", (unsigned long long)rl.rlim_cur,
		    need - 64, need);
}

/* ------------------------------------------------------------ processes */

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
		die("bind 127.0.0.1:0: %s", strerror(errno));
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool
port_accepts(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* Start argv[0] with stdout and stderr appended to logpath. */
static pid_t
spawn(char *const argv[], const char *logpath)
{
	pid_t pid, parent;
	int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		die("cannot write %s: %s", logpath, strerror(errno));
	parent = getpid();
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		/* Not our sockets (the EMS client's, the chargers'). */
		close_range(3, ~0U, 0);
		/* Ctrl-C is for us: we stop the children in order; and should
		 * we die without doing so, they get SIGTERM. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	return pid;
}

/* True when pid has exited (and is reaped); *status then holds its
 * status. */
static bool
exited(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == pid;
}

/* SIGTERM, then SIGKILL after timeout_ms. Returns the wait status. */
static int
stop_child(pid_t pid, int timeout_ms)
{
	long long deadline = now_us() + timeout_ms * 1000LL;
	int status = 0;

	kill(pid, SIGTERM);
	while (!exited(pid, &status)) {
		if (now_us() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	return status;
}

static void
rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char p[PATH_MAX + 256];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

static void
at_exit(void)
{
	if (gateway_pid > 0)
		stop_child(gateway_pid, 3000);
	if (broker_pid > 0)
		stop_child(broker_pid, 3000);
	gateway_pid = broker_pid = -1;
	if (top_dir[0] != '\0' && !keep_files)
		rm_tree(top_dir);
}

/* The whole of a (small) file, NUL-terminated; NULL when unreadable. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			if ((buf = realloc(buf, cap)) == NULL)
				die("out of memory");
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static int
start_broker(const char *dir, bool nagle)
{
	char conf[PATH_MAX + 32], logp[PATH_MAX + 32];
	char *argv[] = { (char *)MOSQUITTO_BIN, (char *)"-c", conf, NULL };

	if (access(MOSQUITTO_BIN, X_OK) != 0)
		die("%s: %s (apt-get install mosquitto, or make deps-check)",
		    MOSQUITTO_BIN, strerror(errno));
	snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
	snprintf(logp, sizeof logp, "%s/mosquitto.log", dir);
	for (int attempt = 0; attempt < 3; attempt++) {
		int port = free_port(), status;
		long long deadline = now_us() + 10 * 1000000LL;
		FILE *f = fopen(conf, "w");

		if (f == NULL)
			die("cannot write %s: %s", conf, strerror(errno));
		fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\n"
		    "persistence false\nlog_dest stderr\nlog_type error\n"
		    "log_type warning\nlog_type notice\n", port);
		/* Without it, the broker's Nagle meets the gateway's delayed
		 * ACK and a limit now and then waits 40 ms (see --nagle). */
		if (!nagle)
			fprintf(f, "set_tcp_nodelay true\n");
		/* As root, mosquitto would switch to its own user. */
		if (geteuid() == 0)
			fprintf(f, "user root\n");
		fclose(f);
		broker_pid = spawn(argv, logp);
		for (;;) {
			if (exited(broker_pid, &status)) {
				broker_pid = -1;
				break;	/* the port was taken: try another */
			}
			if (port_accepts(port))
				return port;
			if (now_us() > deadline)
				die("mosquitto did not accept connections within 10 s "
				    "(log: %s)", logp);
			usleep(20000);
		}
	}
	die("mosquitto did not start (log: %s)", logp);
}

struct size_cfg {
	int n;
	double circuit_a, failsafe_a;
	char prefix[64];
};

static void
write_config(const char *dir, const struct size_cfg *s, int mqtt_port,
    int pages, char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/sitegate.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write %s: %s", path, strerror(errno));
	fprintf(f,
	    "{\n"
	    "  \"site_id\": \"lgbench\",\n"
	    "  \"state_file\": \"%s/state.db\",\n"
	    "  \"log_level\": \"info\",\n"
	    "  \"ocpp\": { \"listen\": \"127.0.0.1:0\",\n"
	    "    \"versions\": [\"ocpp2.0.1\", \"ocpp1.6\"],\n"
	    "    \"max_connections\": %d, \"idle_timeout_s\": 0,\n"
	    "    \"heartbeat_interval_s\": 3600 },\n"
	    "  \"chargers\": [\n", dir, s->n + 64);
	for (int i = 0; i < s->n; i++)
		fprintf(f, "    { \"id\": \"LG-%04d\", \"max_current_a\": 32, "
		    "\"phases\": 3 }%s\n", i + 1, i + 1 < s->n ? "," : "");
	fprintf(f,
	    "  ],\n"
	    "  \"site\": { \"voltage_v\": 230, \"min_current_a\": 6,\n"
	    "    \"failsafe_current_a\": %.1f,\n"
	    "    \"circuits\": [ { \"id\": \"main\", \"max_current_a\": %.1f } ] },\n"
	    "  \"authorization\": { \"mode\": \"accept_all\" },\n"
	    "  \"mqtt\": { \"host\": \"127.0.0.1\", \"port\": %d,\n"
	    "    \"prefix\": \"%s\", \"client_id\": \"sitegate-%s-%d\" }%s\n",
	    s->failsafe_a, s->circuit_a, mqtt_port, s->prefix, "lgbench", s->n,
	    pages > 0 ? "," : "");
	/* The page's files are not what is measured: an empty folder. */
	if (pages > 0)
		fprintf(f, "  \"web\": { \"listen\": \"127.0.0.1:0\", "
		    "\"root\": \"%s\", \"max_clients\": %d }\n", dir, pages);
	fprintf(f, "}\n");
	fclose(f);
}

/* `sitegate --set-web-password --config config`, the password on its
 * standard input, before the gateway starts. */
static void
set_web_password(const char *bin, const char *config, const char *logpath)
{
	char *argv[] = { (char *)bin, (char *)"--set-web-password",
		(char *)"--config", (char *)config, NULL };
	static const char pw[] = WEB_PASSWORD "\n";
	int fds[2], fd, status;
	pid_t pid;

	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) < 0)
		die("cannot write %s: %s", logpath, strerror(errno));
	if (pipe2(fds, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[0], 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close_range(3, ~0U, 0);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	close(fds[0]);
	if (write(fds[1], pw, sizeof pw - 1) != (ssize_t)(sizeof pw - 1))
		die("--set-web-password: cannot write the password: %s",
		    strerror(errno));
	close(fds[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("%s --set-web-password failed (status %d); log: %s", bin,
		    status, logpath);
}

/* The page's port, from "web: page at http://127.0.0.1:<port>/". */
static int
web_port(const char *logpath)
{
	char *log = slurp(logpath, NULL), *at;
	int port = -1;

	if (log != NULL && (at = strstr(log, "page at http://127.0.0.1:")) != NULL)
		port = (int)strtol(at + strlen("page at http://127.0.0.1:"), NULL,
		    10);
	free(log);
	if (port <= 0)
		die("no \"web: page at http://127.0.0.1:<port>/\" in %s", logpath);
	return port;
}

/* Start the gateway with its log in logpath; returns the OCPP port once
 * the log says it is ready and subscribed to the EMS topics. */
static int
start_gateway(const char *bin, const char *config, const char *logpath)
{
	char *argv[] = { (char *)bin, (char *)"--config", (char *)config, NULL };
	long long deadline = now_us() + 20 * 1000000LL;
	int status;

	gateway_pid = spawn(argv, logpath);
	for (;;) {
		char *log = slurp(logpath, NULL), *at, *nl;
		int port = -1;

		if (log != NULL && (at = strstr(log, "ocpp: listening addr=")) &&
		    (nl = strchr(at, '\n')) != NULL) {
			char *colon = nl;

			while (colon > at && *colon != ':')
				colon--;
			port = (int)strtol(colon + 1, NULL, 10);
		}
		if (port > 0 && strstr(log, "gateway: ready") != NULL &&
		    strstr(log, "ems: subscribed") != NULL) {
			free(log);
			return port;
		}
		free(log);
		if (exited(gateway_pid, &status)) {
			gateway_pid = -1;
			die("the gateway exited (status %d) during start-up; log: %s",
			    status, logpath);
		}
		if (now_us() > deadline)
			die("the gateway was not ready and subscribed within 20 s; "
			    "log: %s", logpath);
		usleep(20000);
	}
}

/* Count warn and error lines in the gateway's log and describe up to
 * three different kinds (module and event). */
static void
log_problems(const char *logpath, int *nwarn, int *nerr, char *kinds,
    size_t klen)
{
	char *log = slurp(logpath, NULL), *line, *save = NULL;
	int nkinds = 0;

	*nwarn = *nerr = 0;
	kinds[0] = '\0';
	if (log == NULL)
		return;
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *lvl = strchr(line, ' '), kind[96];
		size_t n;

		if (lvl == NULL)
			continue;
		lvl++;
		if (strncmp(lvl, "warn ", 5) == 0)
			(*nwarn)++;
		else if (strncmp(lvl, "error", 5) == 0)
			(*nerr)++;
		else
			continue;
		/* "module: event" after the padded level. */
		lvl += 5;
		lvl += strspn(lvl, " ");
		n = strcspn(lvl, " ");
		if (lvl[n] != '\0')
			n += strcspn(lvl + n + 1, " ") + 1;
		snprintf(kind, sizeof kind, "%.*s", (int)(n < 90 ? n : 90), lvl);
		if (strstr(kinds, kind) == NULL && nkinds < 3) {
			size_t used = strlen(kinds);

			snprintf(kinds + used, klen - used, "%s\"%s\"",
			    nkinds ? ", " : "", kind);
			nkinds++;
		}
	}
	free(log);
}

/* ------------------------------------------------------------ EMS client */

static void
mq_on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct lg *lg = obj;

	(void)m;
	if (rc != 0)
		die("the broker refused our EMS client: %s",
		    mosquitto_connack_string(rc));
	lg->mq_connected = true;
}

static void
mq_read(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	int rc;

	(void)fd;
	(void)what;
	if ((rc = mosquitto_loop_read(lg->mosq, 1)) != MOSQ_ERR_SUCCESS)
		die("EMS client: connection to the broker lost: %s",
		    mosquitto_strerror(rc));
}

static void
mq_flush(struct lg *lg)
{
	if (mosquitto_want_write(lg->mosq))
		(void)mosquitto_loop_write(lg->mosq, 1);
}

/* Keepalive and anything libmosquitto could not write at once. */
static void
mq_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	(void)mosquitto_loop_misc(lg->mosq);
	mq_flush(lg);
}

static void
mq_start(struct lg *lg, int port)
{
	struct timeval tv = { 1, 0 };
	char id[64];
	int rc;

	snprintf(id, sizeof id, "lgbench-ems-%d", (int)getpid());
	if ((lg->mosq = mosquitto_new(id, true, lg)) == NULL)
		die("mosquitto_new failed");
	mosquitto_connect_callback_set(lg->mosq, mq_on_connect);
	/* Our publish must not wait for an ACK of something earlier. */
	mosquitto_int_option(lg->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	/* A blocking TCP connect to loopback; the CONNACK arrives in the
	 * loop. */
	if ((rc = mosquitto_connect(lg->mosq, "127.0.0.1", port, 60)) !=
	    MOSQ_ERR_SUCCESS)
		die("EMS client: cannot connect to 127.0.0.1:%d: %s", port,
		    mosquitto_strerror(rc));
	lg->mq_read = event_new(lg->base, mosquitto_socket(lg->mosq),
	    EV_READ | EV_PERSIST, mq_read, lg);
	lg->mq_tick = event_new(lg->base, -1, EV_PERSIST, mq_tick, lg);
	event_add(lg->mq_read, NULL);
	event_add(lg->mq_tick, &tv);
	mq_flush(lg);
}

static void
mq_stop(struct lg *lg)
{
	if (lg->mosq == NULL)
		return;
	mosquitto_disconnect(lg->mosq);
	event_free(lg->mq_read);
	event_free(lg->mq_tick);
	mosquitto_destroy(lg->mosq);
	lg->mosq = NULL;
}

/* Publish the site limit for per_evse_a amps per EVSE; returns the time
 * read just before mosquitto_publish(). */
static long long
publish_limit(struct lg *lg, double per_evse_a)
{
	char payload[64];
	long long t;
	int len, rc;

	if (!lg->mq_connected)
		die("EMS client: not connected to the broker");
	len = snprintf(payload, sizeof payload, "{\"max_current_a\": %.1f}",
	    per_evse_a * lg->n);
	t = now_us();
	/* QoS 1, not retained: libmosquitto writes the packet at once when
	 * no thread runs its loop. */
	rc = mosquitto_publish(lg->mosq, NULL, lg->topic, len, payload, 1, false);
	if (rc != MOSQ_ERR_SUCCESS)
		die("mosquitto_publish: %s", mosquitto_strerror(rc));
	mq_flush(lg);
	return t;
}

/* ------------------------------------------------------------ the page
 *
 * libevent's evhttp client, in the loop that runs the chargers. */

/* Run the loop for ms (chargers, EMS client and pages all served). */
static void
run_for(struct lg *lg, int ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	event_base_loopexit(lg->base, &tv);
	event_base_dispatch(lg->base);
}

static void
on_api_done(struct evhttp_request *req, void *arg)
{
	struct webc *w = arg;
	const char *set;

	w->done = true;
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		w->status = 0;		/* connection failed or timed out */
		return;
	}
	w->status = evhttp_request_get_response_code(req);
	w->len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	set = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Set-Cookie");
	if (set != NULL)	/* "sitegate_session=...; Path=/; ..." */
		snprintf(w->cookie, sizeof w->cookie, "%.*s",
		    (int)strcspn(set, ";"), set);
}

static struct evhttp_request *
web_request_new(struct webc *w, void (*cb)(struct evhttp_request *, void *),
    void *arg)
{
	struct evhttp_request *req = evhttp_request_new(cb, arg);
	struct evkeyvalq *h;

	if (req == NULL)
		die("out of memory");
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", w->host);
	if (w->cookie[0] != '\0')
		evhttp_add_header(h, "Cookie", w->cookie);
	return req;
}

/* One API request on the keep-alive connection; the loop runs (chargers
 * included) until its answer. Returns the status, 0 when none came. */
static int
web_call(struct lg *lg, enum evhttp_cmd_type cmd, const char *path,
    const char *body)
{
	struct webc *w = &lg->web;
	struct evhttp_request *req = web_request_new(w, on_api_done, w);

	if (body != NULL) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);

		evhttp_add_header(h, "Origin", w->origin);
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body,
		    strlen(body));
	}
	w->done = false;
	w->status = 0;
	w->len = 0;
	if (evhttp_make_request(w->api, req, cmd, path) != 0)
		die("web: cannot send %s", path);
	while (!w->done)
		event_base_loop(lg->base, EVLOOP_ONCE);
	return w->status;
}

/* Log in once with the password set before the start; the cookie is kept
 * for every request and page. */
static void
web_login(struct lg *lg, int port)
{
	struct webc *w = &lg->web;
	int st;

	w->port = port;
	snprintf(w->host, sizeof w->host, "127.0.0.1:%d", port);
	snprintf(w->origin, sizeof w->origin, "http://127.0.0.1:%d", port);
	w->cookie[0] = '\0';
	w->api = evhttp_connection_base_new(lg->base, NULL, "127.0.0.1",
	    (unsigned short)port);
	if (w->api == NULL)
		die("evhttp_connection_base_new failed");
	evhttp_connection_set_timeout(w->api, WEB_TIMEOUT_MS / 1000);
	st = web_call(lg, EVHTTP_REQ_POST, "/api/login",
	    "{\"password\": \"" WEB_PASSWORD "\"}");
	if (st != 200 || w->cookie[0] == '\0')
		die("web: POST /api/login answered %d%s", st, w->cookie[0] ? "" :
		    " without a session cookie");
	if ((st = web_call(lg, EVHTTP_REQ_GET, "/api/session", NULL)) != 200)
		die("web: GET /api/session with the session answered %d", st);
}

/* A page's event: one chunk each (the gateway sends an event in one
 * chunk); counted, then dropped by libevent. */
static void
on_page_chunk(struct evhttp_request *req, void *arg)
{
	struct page *p = arg;
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b);
	unsigned char *head = evbuffer_pullup(b, len < 6 ? (ssize_t)len : 6);

	p->bytes += (long long)len;
	if (len < 6 || memcmp(head, "event:", 6) != 0)
		return;			/* retry: or : keepalive */
	p->events++;
	if (!p->got_first) {
		p->got_first = true;
		p->first_bytes = (long)len;
		p->lg->web.first_bytes = (long)len;
		p->lg->web.nfirst++;
	}
}

/* The stream ended: refused, or the gateway closed it. */
static void
on_page_done(struct evhttp_request *req, void *arg)
{
	struct page *p = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	if (!p->open)
		return;
	if (!p->got_first)
		die("web: GET /api/events answered %d before any event", code);
	p->lg->web.dropped++;
	fprintf(stderr, PROG ": web: the gateway ended an event stream (%d)\n",
	    code);
}

static void
page_open(struct lg *lg, struct page *p)
{
	struct webc *w = &lg->web;
	struct evhttp_request *req;

	memset(p, 0, sizeof *p);
	p->lg = lg;
	p->con = evhttp_connection_base_new(lg->base, NULL, "127.0.0.1",
	    (unsigned short)w->port);
	if (p->con == NULL)
		die("evhttp_connection_base_new failed");
	/* Events come at least every 15 s (the keepalive). */
	evhttp_connection_set_timeout(p->con, 600);
	req = web_request_new(w, on_page_done, p);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Accept",
	    "text/event-stream");
	evhttp_request_set_chunked_cb(req, on_page_chunk);
	p->open = true;
	if (evhttp_make_request(p->con, req, EVHTTP_REQ_GET, "/api/events") != 0)
		die("web: cannot send GET /api/events");
}

static void
page_close(struct page *p)
{
	p->open = false;
	/* Frees the request too, without its callback. */
	evhttp_connection_free(p->con);
	p->con = NULL;
}

/* Have exactly k pages open, each past its first (whole) event, and a
 * moment more so that the first events' cost is behind. */
static void
pages_set(struct lg *lg, int k)
{
	struct webc *w = &lg->web;
	long long deadline = now_us() + WEB_TIMEOUT_MS * 1000LL;

	lg->pages_now = k;
	if (w->nopen == k)
		return;
	while (w->nopen > k) {
		struct page *p = &w->pg[--w->nopen];

		if (p->got_first)
			w->nfirst--;
		page_close(p);
	}
	while (w->nopen < k)
		page_open(lg, &w->pg[w->nopen++]);
	while (w->nfirst < k) {
		if (now_us() > deadline)
			die("web: %d of %d pages had their first event within %d s",
			    w->nfirst, k, WEB_TIMEOUT_MS / 1000);
		event_base_loop(lg->base, EVLOOP_ONCE);
	}
	run_for(lg, PAGE_SETTLE_MS);
}

/* Bytes and events received by the open pages so far. */
static void
pages_count(const struct lg *lg, long long *bytes, long *events)
{
	*bytes = 0;
	*events = 0;
	for (int i = 0; i < lg->web.nopen; i++) {
		*bytes += lg->web.pg[i].bytes;
		*events += lg->web.pg[i].events;
	}
}

static void
web_stop(struct lg *lg)
{
	struct webc *w = &lg->web;

	while (w->nopen > 0)
		page_close(&w->pg[--w->nopen]);
	w->nfirst = 0;
	if (w->api != NULL)
		evhttp_connection_free(w->api);
	w->api = NULL;
	free(w->pg);
	w->pg = NULL;
	w->maxpages = 0;
}

/* ------------------------------------------------------------ chargers:
 * what they send */

static cJSON *
stamp(cJSON *o, const char *key)
{
	char ts[ISOTIME_LEN];

	cJSON_AddStringToObject(o, key, isotime_format(isotime_now_ms(), ts));
	return o;
}

static void
on_answer(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct charger *c = arg;

	(void)rpc;
	if (c->lg->stopping)
		return;
	if (res->outcome == RPC_OUTCOME_ERROR)
		die("%s: %s answered with %s: %s", c->id, res->action,
		    res->code_name, res->description);
	if (res->outcome == RPC_OUTCOME_TIMEOUT)
		die("%s: %s not answered", c->id, res->action);
}

/* Send a CALL; our payloads are checked against the schema first, so a
 * refusal by the gateway is never our message's fault. */
static void
send_call(struct charger *c, const char *action, cJSON *payload,
    rpc_result_fn cb)
{
	struct schema_error serr;

	if (schema_validate(c->v == OCPP_V16 ? OCPP_V16 : OCPP_V201,
	    action, SCHEMA_REQUEST, payload, &serr) != SCHEMA_OK)
		die("bug: our %s is invalid: %s", action, serr.description);
	if (rpc_call(c->rpc, action, payload, cb ? cb : on_answer, c) != RPC_OK)
		die("%s: rpc_call %s refused", c->id, action);
}

/* MeterValues: the car draws its last offer on every phase. */
static void
send_meter(struct charger *c, rpc_result_fn cb)
{
	cJSON *o = cJSON_CreateObject(), *mv, *sv;
	bool v16 = c->v == OCPP_V16;
	static const char *const ph[] = { "L1", "L2", "L3" };

	c->energy_wh += c->draw_a * 230 * 3 * c->conf.meter_interval_s / 3600.0;
	if (v16) {
		cJSON_AddNumberToObject(o, "connectorId", 1);
		if (c->tx_id[0])
			cJSON_AddNumberToObject(o, "transactionId",
			    strtol(c->tx_id, NULL, 10));
	} else {
		cJSON_AddNumberToObject(o, "evseId", 1);
	}
	mv = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "meterValue"), mv);
	stamp(mv, "timestamp");
	sv = cJSON_AddArrayToObject(mv, "sampledValue");
	for (int i = 0; i < 3; i++)
		cpconf_add_sample(sv, v16, c->draw_a, "Current.Import", ph[i], "A");
	cpconf_add_sample(sv, v16, c->draw_a * 230 * 3, "Power.Active.Import", NULL,
	    "W");
	cpconf_add_sample(sv, v16, c->energy_wh, "Energy.Active.Import.Register", NULL,
	    "Wh");
	send_call(c, "MeterValues", o, cb);
	c->lg->seen.meters++;
}

static void
on_meter_timer(evutil_socket_t fd, short what, void *arg)
{
	struct charger *c = arg;
	struct timeval tv = { c->conf.meter_interval_s, 0 };

	(void)fd;
	(void)what;
	if (c->rpc != NULL && !c->lg->stopping)
		send_meter(c, NULL);
	evtimer_add(c->meter, &tv);
}

static void
check_ready(struct charger *c)
{
	if (c->discovered && !c->ready && !c->counted_discovered) {
		c->counted_discovered = true;
		c->lg->ndiscovered++;
	}
	if (c->ready || !c->active || !c->discovered)
		return;
	c->ready = true;
	c->lg->nready++;
	if (c->lg->nready == c->lg->n && !c->lg->holding)
		event_base_loopexit(c->lg->base, NULL);
}

static void
on_first_meter(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct charger *c = arg;
	struct timeval tv;

	on_answer(rpc, res, arg);
	if (res->outcome != RPC_OUTCOME_RESULT)
		return;
	c->active = true;
	c->lg->nactive++;
	/* Spread the periodic meter values over the interval. */
	tv.tv_sec = (c->n * 31L) % c->conf.meter_interval_s;
	tv.tv_usec = (c->n * 7919L) % 1000 * 1000;
	evtimer_add(c->meter, &tv);
	check_ready(c);
}

static void
status16(struct charger *c, const char *status)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "connectorId", 1);
	cJSON_AddStringToObject(o, "errorCode", "NoError");
	cJSON_AddStringToObject(o, "status", status);
	send_call(c, "StatusNotification", stamp(o, "timestamp"), NULL);
}

static void
on_started16(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct charger *c = arg;
	const cJSON *info;
	const char *st;

	on_answer(rpc, res, arg);
	if (res->outcome != RPC_OUTCOME_RESULT)
		return;
	info = cJSON_GetObjectItemCaseSensitive(res->payload, "idTagInfo");
	st = json_str(info, "status");
	if (st == NULL || strcmp(st, "Accepted") != 0)
		die("%s: StartTransaction answered idTagInfo.status %s", c->id,
		    st ? st : "(none)");
	snprintf(c->tx_id, sizeof c->tx_id, "%d",
	    json_int(res->payload, "transactionId", 0));
	status16(c, "Charging");
	send_meter(c, on_first_meter);
}

/* After an accepted boot: plug in, start a transaction, charge. */
static void
start_session(struct charger *c)
{
	cJSON *o = cJSON_CreateObject();

	if (c->v == OCPP_V16) {
		status16(c, "Preparing");
		cJSON_AddNumberToObject(o, "connectorId", 1);
		cJSON_AddStringToObject(o, "idTag", TAG);
		cJSON_AddNumberToObject(o, "meterStart", 0);
		send_call(c, "StartTransaction", stamp(o, "timestamp"),
		    on_started16);
		return;
	}
	stamp(o, "timestamp");
	cJSON_AddStringToObject(o, "connectorStatus", "Occupied");
	cJSON_AddNumberToObject(o, "evseId", 1);
	cJSON_AddNumberToObject(o, "connectorId", 1);
	send_call(c, "StatusNotification", o, NULL);

	snprintf(c->tx_id, sizeof c->tx_id, "%s-tx1", c->id);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "eventType", "Started");
	stamp(o, "timestamp");
	cJSON_AddStringToObject(o, "triggerReason", "Authorized");
	cJSON_AddNumberToObject(o, "seqNo", c->seq_no++);
	{
		cJSON *ti = cJSON_AddObjectToObject(o, "transactionInfo");
		cJSON *ev = cJSON_AddObjectToObject(o, "evse");
		cJSON *tok = cJSON_AddObjectToObject(o, "idToken");

		cJSON_AddStringToObject(ti, "transactionId", c->tx_id);
		cJSON_AddStringToObject(ti, "chargingState", "Charging");
		cJSON_AddNumberToObject(ev, "id", 1);
		cJSON_AddNumberToObject(ev, "connectorId", 1);
		cJSON_AddStringToObject(tok, "idToken", TAG);
		cJSON_AddStringToObject(tok, "type", "ISO14443");
	}
	send_call(c, "TransactionEvent", o, NULL);
	send_meter(c, on_first_meter);
}

static void
on_boot(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct charger *c = arg;
	const char *st;

	on_answer(rpc, res, arg);
	if (res->outcome != RPC_OUTCOME_RESULT)
		return;
	st = json_str(res->payload, "status");
	if (st == NULL || strcmp(st, "Accepted") != 0)
		die("%s: BootNotification answered %s", c->id, st ? st : "(none)");
	start_session(c);
}

static void
send_boot(struct charger *c)
{
	cJSON *o = cJSON_CreateObject();

	if (c->v == OCPP_V16) {
		cJSON_AddStringToObject(o, "chargePointVendor", "sitegate-bench");
		cJSON_AddStringToObject(o, "chargePointModel", "loadgen");
	} else {
		cJSON *cs = cJSON_AddObjectToObject(o, "chargingStation");

		cJSON_AddStringToObject(cs, "model", "loadgen");
		cJSON_AddStringToObject(cs, "vendorName", "sitegate-bench");
		cJSON_AddStringToObject(o, "reason", "PowerUp");
	}
	send_call(c, "BootNotification", o, on_boot);
}

/* ------------------------------------------------------------ chargers:
 * what they answer */

/* Answer a CALL, after checking our answer against its schema. */
static void
answer(struct rpc_call *call, cJSON *res)
{
	struct charger *c = rpc_arg(rpc_call_rpc(call));
	struct schema_error serr;

	if (schema_validate(c->v == OCPP_V16 ? OCPP_V16 : OCPP_V201,
	    rpc_call_action(call), SCHEMA_RESPONSE, res, &serr) != SCHEMA_OK)
		die("bug: our answer to %s is invalid: %s", rpc_call_action(call),
		    serr.description);
	rpc_reply(call, res);
}

static cJSON *
status_obj(const char *status)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", status);
	return o;
}

/* A strict charger refuses a CALL that breaks its schema. Returns true
 * when it did. */
static bool
refuse_invalid(struct charger *c, struct rpc_call *call, const cJSON *p)
{
	enum ocpp_version sv = c->v == OCPP_V16 ? OCPP_V16 :
	    OCPP_V201;
	struct schema_error serr;
	int rc = schema_validate(sv, rpc_call_action(call), SCHEMA_REQUEST, p,
	    &serr);

	if (rc == SCHEMA_OK)
		return false;
	c->lg->seen.invalid++;
	fprintf(stderr, PROG ": %s: invalid %s from the gateway: %s\n", c->id,
	    rpc_call_action(call), serr.description);
	rpc_reply_error(call, rc == SCHEMA_TYPE ? OCPP_ERR_TYPE :
	    rc == SCHEMA_OCCURRENCE ? OCPP_ERR_OCCURRENCE :
	    OCPP_ERR_PROPERTY, serr.description, NULL);
	return true;
}

/* Capability discovery, answered from the charger's configuration store
 * (sim/cpconf.h, shared with sitegate-sim). */
static void
h_get_configuration(struct rpc *rpc, struct rpc_call *call,
    const cJSON *payload, void *arg)
{
	struct charger *c = rpc_arg(rpc);

	(void)arg;
	if (refuse_invalid(c, call, payload))
		return;
	answer(call, cpconf_get_configuration(&c->conf, payload));
	c->discovered = true;
	check_ready(c);
}

static void
h_change_configuration(struct rpc *rpc, struct rpc_call *call,
    const cJSON *payload, void *arg)
{
	struct charger *c = rpc_arg(rpc);

	(void)arg;
	if (refuse_invalid(c, call, payload))
		return;
	answer(call, cpconf_change_configuration(&c->conf, payload));
}

/* 2.0.1 GetVariables and SetVariables. */
static void
h_variables(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct charger *c = rpc_arg(rpc);
	bool set = strcmp(rpc_call_action(call), "SetVariables") == 0;

	(void)arg;
	if (refuse_invalid(c, call, payload))
		return;
	answer(call, cpconf_variables(&c->conf, set, payload));
	if (!set) {
		c->discovered = true;
		check_ready(c);
	}
}

static void round_done(struct lg *lg);

static int
purpose_index(const char *p)
{
	if (p == NULL)
		return -1;
	if (!strcmp(p, "TxProfile"))
		return 2;
	if (!strcmp(p, "TxDefaultProfile"))
		return 1;
	if (!strcmp(p, "ChargePointMaxProfile") ||
	    !strcmp(p, "ChargingStationMaxProfile"))
		return 0;
	return -1;
}

/* Record one SetChargingProfile read at time t. */
static void
record_profile(struct charger *c, long long t, double limit, bool unit_a,
    int purpose, int stack, int evse, const char *tx)
{
	struct lg *lg = c->lg;
	struct seen *s = &lg->seen;
	bool match = unit_a && fabs(limit - lg->want_a) < 0.05;

	if (lg->holding) {
		if (lg->verbose)
			printf("%.6f %s %s evse %d %s stack %d limit %.1f %s%s%s\n",
			    (double)t / 1e6, c->id, c->v == OCPP_V16 ? "1.6" : "2.0.1",
			    evse, purpose == 2 ? "TxProfile" : purpose == 1 ?
			    "TxDefaultProfile" : purpose == 0 ? "MaxProfile" : "?",
			    stack, limit, unit_a ? "A" : "W", tx[0] ? " tx " : "", tx);
		lg->hold_profiles++;
		if (lg->hold_profiles == 1 || limit < lg->hold_min)
			lg->hold_min = limit;
		if (lg->hold_profiles == 1 || limit > lg->hold_max)
			lg->hold_max = limit;
		if (unit_a)
			c->draw_a = limit;
		return;
	}
	if (!lg->in_round)
		return;			/* before the warm-up: boot profiles */
	if (match)
		c->draw_a = limit;
	c->round_profiles++;
	if (!lg->measuring) {
		/* warm-up: only the completion counts */
		if (match && !c->done) {
			c->done = true;
			if (++lg->ndone == lg->n)
				round_done(lg);
		}
		return;
	}
	s->profiles++;
	if (purpose >= 0)
		s->purpose[purpose]++;
	if (s->profiles == 1 || stack < s->min_stack)
		s->min_stack = stack;
	if (s->profiles == 1 || stack > s->max_stack)
		s->max_stack = stack;
	if (!unit_a)
		s->wrong_unit++;
	if (evse != 1)
		s->wrong_evse++;
	if (purpose == 2 && strcmp(tx, c->tx_id) != 0)
		s->wrong_tx++;
	if (c->round_profiles > s->max_per_round)
		s->max_per_round = c->round_profiles;
	if (!match) {
		s->other_limit++;
		return;
	}
	s->matching++;
	if (c->done) {
		s->dup++;
		return;
	}
	c->done = true;
	if (lg->ndone++ == 0)
		lg->t_first = t;
	lg->t_last = t;
	if (lg->ndone == lg->n)
		round_done(lg);
}

/* --answer-delay-ms (hold mode): a dynamic profile is answered that much
 * later, so that an increase sent before every decrease was answered
 * shows. */
struct later {
	struct charger *c;
	struct rpc_call *call;
	double limit;
	bool dec;
};

static void
on_answer_later(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;
	struct lg *lg = l->c->lg;

	(void)fd;
	(void)what;
	/* Once stopping, the rpc (and the call) may be gone. */
	if (!lg->stopping) {
		answer(l->call, status_obj("Accepted"));
		l->c->installed_a = l->limit;
		if (l->dec)
			lg->unanswered_dec--;
		if (lg->verbose)
			printf("%.6f %s answered %.1f A\n", (double)now_us() / 1e6,
			    l->c->id, l->limit);
	}
	free(l);
}

static void
answer_later(struct charger *c, struct rpc_call *call, long long t,
    double limit)
{
	struct lg *lg = c->lg;
	struct later *l = xcalloc(1, sizeof *l);
	struct timeval tv = { lg->answer_delay_ms / 1000,
		lg->answer_delay_ms % 1000 * 1000 };

	l->c = c;
	l->call = call;
	l->limit = limit;
	l->dec = limit < c->installed_a - 0.05;
	if (limit > c->installed_a + 0.05 && lg->unanswered_dec > 0) {
		lg->order_violations++;
		printf("%.6f %s ORDER: an increase to %.1f A while %d decreases "
		    "are unanswered\n", (double)t / 1e6, c->id, limit,
		    lg->unanswered_dec);
	}
	if (l->dec)
		lg->unanswered_dec++;
	event_base_once(lg->base, -1, EV_TIMEOUT, on_answer_later, l, &tv);
}

static void
h_set_profile(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	long long t = now_us();
	struct charger *c = rpc_arg(rpc);
	const cJSON *prof, *sched, *periods;
	char tx[40] = "";
	const char *unit;
	int evse, stack, purpose;
	double limit;

	(void)arg;
	if (refuse_invalid(c, call, payload))
		return;
	if (c->v == OCPP_V16) {
		const cJSON *txj;

		evse = json_int(payload, "connectorId", -1);
		prof = cJSON_GetObjectItemCaseSensitive(payload, "csChargingProfiles");
		sched = cJSON_GetObjectItemCaseSensitive(prof, "chargingSchedule");
		txj = cJSON_GetObjectItemCaseSensitive(prof, "transactionId");
		if (cJSON_IsNumber(txj))
			snprintf(tx, sizeof tx, "%d", txj->valueint);
	} else {
		evse = json_int(payload, "evseId", -1);
		prof = cJSON_GetObjectItemCaseSensitive(payload, "chargingProfile");
		sched = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(prof,
		    "chargingSchedule"), 0);
		json_copy(tx, sizeof tx, prof, "transactionId");
	}
	stack = json_int(prof, "stackLevel", -1);
	purpose = purpose_index(json_str(prof, "chargingProfilePurpose"));
	unit = json_str(sched, "chargingRateUnit");
	periods = cJSON_GetObjectItemCaseSensitive(sched, "chargingSchedulePeriod");
	/* The limit in force now: the first period (startPeriod 0). */
	limit = json_num(cJSON_GetArrayItem(periods, 0), "limit", -1);
	if (c->lg->answer_delay_ms > 0 && stack >= 1 && unit != NULL &&
	    !strcmp(unit, "A")) {
		answer_later(c, call, t, limit);
	} else {
		answer(call, status_obj("Accepted"));
		if (stack >= 1)
			c->installed_a = limit;
	}
	record_profile(c, t, limit, unit != NULL && !strcmp(unit, "A"), purpose,
	    stack, evse, tx);
}

static void
h_clear_profile(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct charger *c = rpc_arg(rpc);

	(void)arg;
	if (refuse_invalid(c, call, payload))
		return;
	if (c->lg->measuring)
		c->lg->seen.clears++;
	answer(call, status_obj("Accepted"));
}

/* Commands this benchmark has no use for, answered as a charger that
 * declines them would; counted and named in the output. */
struct other {
	enum ocpp_version v;
	const char *action, *status;
};

static const struct other others[] = {
	{ OCPP_V16, "GetCompositeSchedule", "Rejected" },
	{ OCPP_V16, "TriggerMessage", "Rejected" },
	{ OCPP_V16, "RemoteStartTransaction", "Rejected" },
	{ OCPP_V16, "RemoteStopTransaction", "Rejected" },
	{ OCPP_V16, "ChangeAvailability", "Accepted" },
	{ OCPP_V16, "Reset", "Rejected" },
	{ OCPP_V16, "UnlockConnector", "NotSupported" },
	{ OCPP_V16, "ClearCache", "Accepted" },
	{ OCPP_V16, "SendLocalList", "NotSupported" },
	{ OCPP_V16, "DataTransfer", "UnknownVendorId" },
	{ OCPP_V16, "ReserveNow", "Rejected" },
	{ OCPP_V16, "CancelReservation", "Rejected" },
	{ OCPP_V201, "GetCompositeSchedule", "Rejected" },
	{ OCPP_V201, "GetChargingProfiles", "NoProfiles" },
	{ OCPP_V201, "TriggerMessage", "Rejected" },
	{ OCPP_V201, "RequestStartTransaction", "Rejected" },
	{ OCPP_V201, "RequestStopTransaction", "Rejected" },
	{ OCPP_V201, "ChangeAvailability", "Accepted" },
	{ OCPP_V201, "Reset", "Rejected" },
	{ OCPP_V201, "UnlockConnector", "UnlockFailed" },
	{ OCPP_V201, "ClearCache", "Accepted" },
	{ OCPP_V201, "SendLocalList", "Failed" },
	{ OCPP_V201, "DataTransfer", "UnknownVendorId" },
	{ OCPP_V201, "GetBaseReport", "NotSupported" },
	{ OCPP_V201, "ReserveNow", "Rejected" },
	{ OCPP_V201, "CancelReservation", "Rejected" },
};

static void
h_other(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	const struct other *o = arg;
	struct charger *c = rpc_arg(rpc);
	struct seen *s = &c->lg->seen;

	if (refuse_invalid(c, call, payload))
		return;
	s->other_calls++;
	if (strstr(s->other_names, o->action) == NULL) {
		size_t used = strlen(s->other_names);

		snprintf(s->other_names + used, sizeof s->other_names - used,
		    "%s%s", used ? "," : "", o->action);
	}
	answer(call, status_obj(o->status));
}

static struct rpc_handlers *
charger_handlers(void)
{
	struct rpc_handlers *h = rpc_handlers_new();

	if (h == NULL)
		die("out of memory");
	rpc_handlers_add(h, OCPP_V16, "GetConfiguration", h_get_configuration,
	    NULL);
	rpc_handlers_add(h, OCPP_V16, "ChangeConfiguration",
	    h_change_configuration, NULL);
	rpc_handlers_add(h, OCPP_V201, "GetVariables", h_variables, NULL);
	rpc_handlers_add(h, OCPP_V201, "SetVariables", h_variables, NULL);
	for (int v = OCPP_V16; v <= OCPP_V201; v++) {
		rpc_handlers_add(h, (enum ocpp_version)v, "SetChargingProfile",
		    h_set_profile, NULL);
		rpc_handlers_add(h, (enum ocpp_version)v, "ClearChargingProfile",
		    h_clear_profile, NULL);
	}
	for (size_t i = 0; i < sizeof others / sizeof *others; i++)
		rpc_handlers_add(h, others[i].v, others[i].action, h_other,
		    (void *)&others[i]);
	return h;
}

/* ------------------------------------------------------------ chargers:
 * connections */

static void
on_disconnect(struct rpc *rpc, const struct ws_close_info *info, void *arg)
{
	struct charger *c = arg;

	(void)rpc;
	c->rpc = NULL;
	if (!c->lg->stopping)
		die("%s: connection lost: %u %s", c->id, info->code, info->reason);
}

static void launch(struct lg *lg, int upto);

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct charger *c = arg;
	struct lg *lg = c->lg;
	struct rpc_opts o;

	memset(&o, 0, sizeof o);
	o.version = c->v;
	o.handlers = lg->handlers;
	o.call_timeout_ms = 60000;
	o.on_disconnect = on_disconnect;
	o.arg = c;
	o.log_module = "lg";
	c->ws = NULL;
	c->rpc = rpc_new(lg->base, conn, &o);
	send_boot(c);
	if (++lg->nopen == lg->launched)
		launch(lg, lg->launched + BATCH);
}

static void
on_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct charger *c = arg;

	(void)conn;
	c->ws = NULL;
	die("%s: connection failed: %d %s", c->id, info->http_status,
	    info->reason);
}

static const struct ws_handler handler = { on_open, NULL, on_close };

/* Start connections [launched, upto). */
static void
launch(struct lg *lg, int upto)
{
	if (upto > lg->n)
		upto = lg->n;
	for (; lg->launched < upto; lg->launched++) {
		struct charger *c = &lg->ch[lg->launched];
		struct ws_client_opts o;
		char *cause = NULL;

		memset(&o, 0, sizeof o);
		o.url = lg->url;
		o.id = c->id;
		o.protocol = c->v == OCPP_V16 ? "ocpp1.6" : "ocpp2.0.1";
		o.limits.handshake_timeout_ms = 60000;
		c->ws = ws_connect(lg->base, &o, &handler, c, &cause);
		if (c->ws == NULL)
			die("ws_connect: %s", cause);
	}
}

static void
on_setup_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	die("chargers not ready after %d s: %d of %d open, %d active, %d "
	    "discovered", SETUP_TIMEOUT_MS / 1000, lg->nopen, lg->n, lg->nactive,
	    lg->ndiscovered);
}

/* Connect n chargers and run the loop until all are ready (transaction
 * running, discovery answered), or, when holding, until stopped. */
static void
chargers_connect(struct lg *lg, int n)
{
	struct timeval tv = { SETUP_TIMEOUT_MS / 1000, 0 };
	struct event *deadline;

	lg->ch = xcalloc((size_t)n, sizeof *lg->ch);
	lg->n = n;
	lg->launched = lg->nopen = lg->nactive = lg->ndiscovered = 0;
	lg->nready = 0;
	lg->stopping = false;
	for (int i = 0; i < n; i++) {
		struct charger *c = &lg->ch[i];

		c->lg = lg;
		c->n = i;
		snprintf(c->id, sizeof c->id, "LG-%04d", i + 1);
		c->v = i % 2 == 0 ? OCPP_V16 : OCPP_V201;
		c->draw_a = 16;
		c->installed_a = 32;
		cpconf_init(&c->conf, 1, false, false);
		c->meter = evtimer_new(lg->base, on_meter_timer, c);
	}
	launch(lg, BATCH);
	if (lg->holding)
		return;
	deadline = evtimer_new(lg->base, on_setup_timeout, lg);
	evtimer_add(deadline, &tv);
	event_base_dispatch(lg->base);
	event_free(deadline);
}

static void
chargers_close(struct lg *lg)
{
	lg->stopping = true;
	for (int i = 0; i < lg->n; i++) {
		struct charger *c = &lg->ch[i];

		rpc_free(c->rpc);
		ws_conn_free(c->ws);
		event_free(c->meter);
	}
	free(lg->ch);
	lg->ch = NULL;
	lg->n = 0;
}

/* ------------------------------------------------------------ rounds */

static void start_round(evutil_socket_t fd, short what, void *arg);

static void
next_round(struct lg *lg)
{
	struct timeval tv = { lg->pause_ms / 1000, lg->pause_ms % 1000 * 1000 };

	evtimer_del(lg->round_timer);
	lg->round++;
	/* In blocks (--pages), the block's loop sees block_end and changes
	 * the pages before the next round. */
	if (lg->block_rounds > 0 && (lg->round >= lg->rounds ||
	    lg->round % lg->block_rounds == 0)) {
		lg->in_round = false;
		lg->block_end = true;
		return;
	}
	if (lg->round >= lg->rounds) {
		lg->in_round = false;
		event_base_loopexit(lg->base, NULL);
		return;
	}
	evtimer_add(lg->pause_timer, &tv);
}

static void
round_done(struct lg *lg)
{
	if (lg->measuring) {
		lg->lat[lg->nlat] = (double)(lg->t_last - lg->t_pub) / 1000.0;
		lg->first[lg->nlat] = (double)(lg->t_first - lg->t_pub) / 1000.0;
		lg->up[lg->nlat] = lg->want_a > lg->lo_a;
		lg->paged[lg->nlat] = lg->pages_now > 0;
		lg->nlat++;
	}
	next_round(lg);
}

static void
on_round_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	if (!lg->measuring) {
		if (lg->ndone == 0)
			die("warm-up: no charger received a SetChargingProfile of "
			    "%.1f A within %d s (does this build have the control "
			    "loop?)", lg->want_a, WARMUP_TIMEOUT_MS / 1000);
		fprintf(stderr, PROG ": warm-up: only %d of %d chargers received "
		    "%.1f A; measuring anyway\n", lg->ndone, lg->n, lg->want_a);
	} else {
		lg->timeouts_pg[lg->pages_now > 0]++;
		lg->missing_pg[lg->pages_now > 0] += lg->n - lg->ndone;
	}
	next_round(lg);
}

/* Rounds 0, 2, 4 ... go down to lo, 1, 3 ... up to hi; the warm-up
 * (round -1) goes to hi from wherever the failsafe left the chargers. */
static void
start_round(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	int ms = lg->round < 0 ? WARMUP_TIMEOUT_MS : lg->timeout_ms;
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	(void)fd;
	(void)what;
	lg->measuring = lg->round >= 0;
	lg->want_a = lg->round < 0 || lg->round % 2 == 1 ? lg->hi_a : lg->lo_a;
	lg->ndone = 0;
	for (int i = 0; i < lg->n; i++) {
		lg->ch[i].done = false;
		lg->ch[i].round_profiles = 0;
	}
	lg->in_round = true;
	evtimer_add(lg->round_timer, &tv);
	lg->t_pub = publish_limit(lg, lg->want_a);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[n]. */
static double
pct(const double *v, int n, double p)
{
	int k;

	if (n == 0)
		return NAN;
	k = (int)ceil(p / 100.0 * n);
	return v[k < 1 ? 0 : k - 1];
}

/* p50 and p99 of the rounds in one direction (up or down). */
static void
direction(const struct lg *lg, bool up, double *p50, double *p99)
{
	double *v = xcalloc((size_t)lg->nlat + 1, sizeof *v);
	int n = 0;

	for (int i = 0; i < lg->nlat; i++)
		if (lg->up[i] == up)
			v[n++] = lg->lat[i];
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	*p50 = pct(v, n, 50);
	*p99 = pct(v, n, 99);
	free(v);
}

struct opts {
	const char *bin;
	int sizes[MAX_SIZES], nsizes;
	bool sizes_given;
	int rounds;			/* 0: by size */
	int pause_ms, timeout_ms;
	double lo_a, hi_a;
	bool hold, verbose, nagle;
	int answer_delay_ms;
	const char *url;
	int pages;			/* -1: PAGES_DEFAULT at 1 000 by default */
	int page_block, push_s;
	bool nice_given;		/* --nice: the gateway's nice value */
	int nice;
	int hogs;			/* --hog: busy processes beside it */
};

/* Pages for a size: --pages for every size; without it, PAGES_DEFAULT at
 * 1 000 chargers when the sizes are the default ones, else none. */
static int
pages_for(const struct opts *o, int n)
{
	if (o->pages >= 0)
		return o->pages;
	return !o->sizes_given && n == 1000 ? PAGES_DEFAULT : 0;
}

/* Write the configuration for n chargers into <top_dir>/n<n>, start the
 * gateway on it and point lg at its OCPP port. With pages, the web section
 * and the installer's password first. Fills *s; config and logp
 * (PATH_MAX + 64 bytes) get the paths. */
static void
gateway_for_size(struct lg *lg, const struct opts *o, int n, int mqtt_port,
    int pages, struct size_cfg *s, char *config, char *logp)
{
	char dir[PATH_MAX + 32], pwlog[PATH_MAX + 64];
	int port;

	memset(s, 0, sizeof *s);
	s->n = n;
	s->circuit_a = fmin(n * 32.0, EMS_MAX_A);
	s->failsafe_a = fmin(n * 6.0, EMS_MAX_A);
	snprintf(s->prefix, sizeof s->prefix, "lgbench/n%d", n);
	snprintf(dir, sizeof dir, "%s/n%d", top_dir, n);
	if (mkdir(dir, 0700) != 0)
		die("mkdir %s: %s", dir, strerror(errno));
	write_config(dir, s, mqtt_port, pages, config, PATH_MAX + 64);
	snprintf(logp, PATH_MAX + 64, "%s/gateway.log", dir);
	if (pages > 0) {
		snprintf(pwlog, sizeof pwlog, "%s/set-web-password.log", dir);
		set_web_password(o->bin, config, pwlog);
	}
	port = start_gateway(o->bin, config, logp);
	/* As the unit's Nice= would (the packaged unit says -5). */
	if (o->nice_given && setpriority(PRIO_PROCESS, (id_t)gateway_pid,
	    o->nice) != 0)
		die("setpriority %d: %s", o->nice, strerror(errno));
	snprintf(lg->url, sizeof lg->url, "ws://127.0.0.1:%d/ocpp", port);
}

/* --hog N: N processes that only burn CPU at nice 0 beside the gateway
 * (another job on the box: a build, an update), for the whole run; they
 * die with this process. */
static void
start_hogs(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			volatile unsigned long x = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (setpriority(PRIO_PROCESS, 0, 0) != 0)
				_exit(1);
			for (;;)
				x++;
		}
	}
}

/* ------------------------------------------------------------ the page's
 * figures */

/* GET /api/state against GET /api/session, alternating blocks on one
 * keep-alive connection, no page open. */
static void
measure_state(struct lg *lg, int n)
{
	int total = STATE_BLOCK * STATE_BLOCKS, cnt[2] = { 0, 0 }, bad = 0;
	double *rtt[2], cpu[2] = { 0, 0 };
	size_t size = 0, size_min = 0, size_max = 0;

	pages_set(lg, 0);
	rtt[0] = xcalloc((size_t)total, sizeof *rtt[0]);
	rtt[1] = xcalloc((size_t)total, sizeof *rtt[1]);
	for (int b = 0; b < 2 * STATE_BLOCKS; b++) {
		int g = b % 2;
		const char *path = g ? "/api/session" : "/api/state";
		double c0 = proc_cpu_ms(gateway_pid);

		for (int i = 0; i < STATE_BLOCK; i++) {
			long long t = now_us();
			int st = web_call(lg, EVHTTP_REQ_GET, path, NULL);

			if (st != 200) {	/* 503: the site was changing */
				bad++;
				continue;
			}
			rtt[g][cnt[g]++] = (double)(now_us() - t) / 1000.0;
			if (g == 0) {
				size = lg->web.len;
				if (size_min == 0 || size < size_min)
					size_min = size;
				if (size > size_max)
					size_max = size;
			}
		}
		cpu[g] += proc_cpu_ms(gateway_pid) - c0;
	}
	qsort(rtt[0], (size_t)cnt[0], sizeof *rtt[0], cmp_double);
	qsort(rtt[1], (size_t)cnt[1], sizeof *rtt[1], cmp_double);
	printf("    GET /api/state (no page open): %zu bytes (%zu-%zu), %.0f per "
	    "EVSE; round trip p50 %.2f ms, p99 %.2f ms; gateway cpu %.2f ms per "
	    "request\n", size, size_min, size_max, (double)size / n,
	    pct(rtt[0], cnt[0], 50), pct(rtt[0], cnt[0], 99), cpu[0] / total);
	printf("        against GET /api/session in alternating blocks of %d (%d "
	    "of each): p50 %.2f ms, p99 %.2f ms, gateway cpu %.2f ms per request; "
	    "the state document costs %.2f ms of gateway cpu; %d answers not "
	    "200\n", STATE_BLOCK, total, pct(rtt[1], cnt[1], 50),
	    pct(rtt[1], cnt[1], 99), cpu[1] / total, (cpu[0] - cpu[1]) / total,
	    bad);
	fflush(stdout);
	free(rtt[0]);
	free(rtt[1]);
}

static bool push_up;

static void
on_push_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	push_up = !push_up;
	(void)publish_limit(lg, push_up ? lg->hi_a : lg->lo_a);
}

/* The push channel: one limit change a second, blocks of 0, 1 and K
 * pages in turn; the gateway's CPU per second for each. */
static void
measure_push(struct lg *lg, int pages, int secs)
{
	int kind[3] = { 0, 1, pages }, nk = pages > 1 ? 3 : 2;
	double cpu[3] = { 0 }, self[3] = { 0 }, dur[3] = { 0 };
	long long bytes[3] = { 0 };
	long events[3] = { 0 }, dropped0 = lg->web.dropped;
	struct timeval sec = { 1, 0 };
	struct event *tick = event_new(lg->base, -1, EV_PERSIST, on_push_tick,
	    lg);

	for (int r = 0; r < PUSH_REPEATS; r++)
		for (int k = 0; k < nk; k++) {
			long long b0, b1, t0;
			long e0, e1;
			double g0, m0;

			pages_set(lg, kind[k]);
			pages_count(lg, &b0, &e0);
			g0 = proc_cpu_ms(gateway_pid);
			m0 = self_cpu_ms();
			t0 = now_us();
			on_push_tick(-1, 0, lg);
			event_add(tick, &sec);
			run_for(lg, secs * 1000);
			event_del(tick);
			cpu[k] += proc_cpu_ms(gateway_pid) - g0;
			self[k] += self_cpu_ms() - m0;
			dur[k] += (double)(now_us() - t0) / 1e6;
			pages_count(lg, &b1, &e1);
			bytes[k] += b1 - b0;
			events[k] += e1 - e0;
		}
	pages_set(lg, 0);
	event_free(tick);
	printf("    push, one limit change a second, blocks of %d s with 0, 1 and "
	    "%d pages in turn (%d times): gateway cpu", secs, pages,
	    PUSH_REPEATS);
	for (int k = 0; k < nk; k++)
		printf("%s pages=%d %.1f ms/s", k ? "," : "", kind[k],
		    cpu[k] / dur[k]);
	printf("; ratio %d pages / none %.2f\n", pages,
	    cpu[nk - 1] / dur[nk - 1] / (cpu[0] / dur[0]));
	printf("        the first page adds %.1f ms/s, each further one %.2f ms/s; "
	    "each stream received %.1f kB/s in %.2f events/s (pages=%d), the "
	    "first event (the whole state) %ld bytes; load generator cpu",
	    cpu[1] / dur[1] - cpu[0] / dur[0], nk == 3 ? (cpu[2] / dur[2] -
	    cpu[1] / dur[1]) / (pages - 1) : NAN, (double)bytes[nk - 1] / 1000.0 /
	    (kind[nk - 1] * dur[nk - 1]), (double)events[nk - 1] / (kind[nk - 1] *
	    dur[nk - 1]), kind[nk - 1], lg->web.first_bytes);
	for (int k = 0; k < nk; k++)
		printf("%s pages=%d %.1f ms/s", k ? "," : "", kind[k],
		    self[k] / dur[k]);
	printf("; streams ended by the gateway %ld\n", lg->web.dropped - dropped0);
	fflush(stdout);
}

/* Move the rounds of one page group (0: none open, 1: pages open) to the
 * front of lat/first/up; returns how many. */
static int
group_rounds(struct lg *lg, bool paged, double *lat, double *first, bool *up)
{
	int k = 0;

	for (int i = 0; i < lg->nlat; i++)
		if (lg->paged[i] == paged) {
			lat[k] = lg->lat[i];
			first[k] = lg->first[i];
			up[k] = lg->up[i];
			k++;
		}
	return k;
}

/* One size: gateway up, chargers ready, warm-up, rounds, figures. */
static void
run_size(struct lg *lg, const struct opts *o, int n, int mqtt_port)
{
	char config[PATH_MAX + 64], logp[PATH_MAX + 64];
	char kinds[320];
	struct size_cfg s;
	double g0, g1, b0, b1, m0, m1, d50, d99, u50, u99, *sorted;
	double acc[2][5] = { { 0 } };	/* gateway, broker, self, s, kB */
	double elapsed, p1_lat[2] = { NAN, NAN }, p1_max = NAN;
	int nwarn, nerr, status, worst = -1, pages = pages_for(o, n);
	int rounds0, n1 = 0;
	double worst_first;
	long rss, hwm;
	long long t0;

	gateway_for_size(lg, o, n, mqtt_port, pages, &s, config, logp);
	snprintf(lg->topic, sizeof lg->topic, "%s/limit", s.prefix);
	if (pages > 0) {
		web_login(lg, web_port(logp));
		lg->web.pg = xcalloc((size_t)pages, sizeof *lg->web.pg);
		lg->web.maxpages = pages;
	}

	t0 = now_us();
	chargers_connect(lg, n);
	printf("chargers=%-5d connected, booted, charging, discovered in %.1f s\n",
	    n, (double)(now_us() - t0) / 1e6);
	fflush(stdout);

	lg->rounds = o->rounds > 0 ? o->rounds : pages > 0 || n <= 100 ? 200 :
	    100;
	lg->lat = xcalloc((size_t)lg->rounds, sizeof *lg->lat);
	lg->first = xcalloc((size_t)lg->rounds, sizeof *lg->first);
	lg->up = xcalloc((size_t)lg->rounds, sizeof *lg->up);
	lg->paged = xcalloc((size_t)lg->rounds, sizeof *lg->paged);
	lg->nlat = lg->timeouts = 0;
	lg->missing = 0;
	memset(lg->timeouts_pg, 0, sizeof lg->timeouts_pg);
	memset(lg->missing_pg, 0, sizeof lg->missing_pg);
	memset(&lg->seen, 0, sizeof lg->seen);
	lg->pause_ms = o->pause_ms;
	lg->timeout_ms = o->timeout_ms;
	lg->lo_a = o->lo_a;
	lg->hi_a = o->hi_a;
	lg->pages_now = 0;
	lg->block_rounds = pages > 0 ? o->page_block : 0;
	lg->block_end = false;

	/* Warm-up: the first EMS limit after the failsafe. */
	lg->round = -1;
	start_round(-1, 0, lg);
	while (lg->round < 0)
		event_base_loop(lg->base, EVLOOP_ONCE);
	if (pages == 0) {
		g0 = proc_cpu_ms(gateway_pid);
		b0 = proc_cpu_ms(broker_pid);
		m0 = self_cpu_ms();
		t0 = now_us();
		/* The pause timer started by the warm-up starts round 0. */
		event_base_dispatch(lg->base);
		g1 = proc_cpu_ms(gateway_pid);
		b1 = proc_cpu_ms(broker_pid);
		m1 = self_cpu_ms();
		acc[0][0] = g1 - g0;
		acc[0][1] = b1 - b0;
		acc[0][2] = m1 - m0;
		acc[0][3] = (double)(now_us() - t0) / 1e6;
	} else {
		/* Blocks of rounds with 0 and K pages open in turn. */
		while (lg->round < lg->rounds) {
			int grp = lg->round / lg->block_rounds % 2;
			long long by0, by1;
			long ev;

			pages_set(lg, grp ? pages : 0);
			run_for(lg, lg->pause_ms);
			pages_count(lg, &by0, &ev);
			g0 = proc_cpu_ms(gateway_pid);
			b0 = proc_cpu_ms(broker_pid);
			m0 = self_cpu_ms();
			t0 = now_us();
			lg->block_end = false;
			start_round(-1, 0, lg);
			while (!lg->block_end)
				event_base_loop(lg->base, EVLOOP_ONCE);
			acc[grp][0] += proc_cpu_ms(gateway_pid) - g0;
			acc[grp][1] += proc_cpu_ms(broker_pid) - b0;
			acc[grp][2] += self_cpu_ms() - m0;
			acc[grp][3] += (double)(now_us() - t0) / 1e6;
			pages_count(lg, &by1, &ev);
			acc[grp][4] += (double)(by1 - by0) / 1000.0;
		}
		pages_set(lg, 0);
	}
	rss = proc_kb(gateway_pid, "VmRSS");
	hwm = proc_kb(gateway_pid, "VmHWM");

	/* With pages, the usual lines are the rounds without a page open;
	 * those with pages are set apart first. */
	if (pages > 0) {
		double *lat1 = xcalloc((size_t)lg->nlat + 1, sizeof *lat1);
		double *first1 = xcalloc((size_t)lg->nlat + 1, sizeof *first1);
		bool *up1 = xcalloc((size_t)lg->nlat + 1, sizeof *up1);
		int n0;

		n1 = group_rounds(lg, true, lat1, first1, up1);
		qsort(lat1, (size_t)n1, sizeof *lat1, cmp_double);
		p1_lat[0] = pct(lat1, n1, 50);
		p1_lat[1] = pct(lat1, n1, 99);
		p1_max = n1 ? lat1[n1 - 1] : NAN;
		n0 = group_rounds(lg, false, lg->lat, lg->first, lg->up);
		lg->nlat = n0;
		free(lat1);
		free(first1);
		free(up1);
	}
	lg->timeouts = lg->timeouts_pg[0];
	lg->missing = lg->missing_pg[0];
	rounds0 = lg->nlat + lg->timeouts;
	elapsed = acc[0][3];

	sorted = xcalloc((size_t)lg->nlat + 1, sizeof *sorted);
	memcpy(sorted, lg->lat, (size_t)lg->nlat * sizeof *sorted);
	qsort(sorted, (size_t)lg->nlat, sizeof *sorted, cmp_double);
	direction(lg, false, &d50, &d99);
	direction(lg, true, &u50, &u99);
	/* In the slowest round, was the first charger late too (the delay
	 * came before the profiles went out) or only the last? */
	for (int i = 0; i < lg->nlat; i++)
		if (worst < 0 || lg->lat[i] > lg->lat[worst])
			worst = i;
	worst_first = worst >= 0 ? lg->first[worst] : NAN;
	qsort(lg->first, (size_t)lg->nlat, sizeof *lg->first, cmp_double);
	printf("limit -> last SetChargingProfile  chargers=%-5d p50 %6.1f ms   "
	    "p99 %6.1f ms   max %6.1f ms   (%d rounds, %d timed out)\n", n,
	    pct(sorted, lg->nlat, 50), pct(sorted, lg->nlat, 99),
	    lg->nlat ? sorted[lg->nlat - 1] : NAN, rounds0, lg->timeouts);
	printf("    first charger p50 %.1f ms (in the slowest round %.1f ms); "
	    "decreases p50 %.1f / p99 %.1f ms, increases p50 %.1f / p99 %.1f "
	    "ms; %.1f s for the rounds\n", pct(lg->first, lg->nlat, 50),
	    worst_first, d50, d99, u50, u99, elapsed);
	printf("    cpu over the rounds: gateway %.0f ms (%.2f ms per round), "
	    "mosquitto %.0f ms, load generator %.0f ms; gateway VmRSS %ld kB, "
	    "VmHWM %ld kB\n", acc[0][0], acc[0][0] / rounds0, acc[0][1],
	    acc[0][2], rss, hwm);
	printf("    chargers saw %.2f SetChargingProfile per charger per round "
	    "(TxProfile %ld, TxDefaultProfile %ld, max %ld; stack levels "
	    "%.0f-%.0f), at most %d in one round\n",
	    (double)lg->seen.profiles / ((double)n * lg->rounds),
	    lg->seen.purpose[2], lg->seen.purpose[1], lg->seen.purpose[0],
	    lg->seen.min_stack, lg->seen.max_stack, lg->seen.max_per_round);
	printf("    duplicates %ld, other limits %ld, unit not A %ld, wrong "
	    "evse %ld, wrong transaction %ld, invalid %ld, clears %ld, "
	    "meter values sent %ld, other calls %ld%s%s%s\n", lg->seen.dup,
	    lg->seen.other_limit, lg->seen.wrong_unit, lg->seen.wrong_evse,
	    lg->seen.wrong_tx, lg->seen.invalid, lg->seen.clears,
	    lg->seen.meters, lg->seen.other_calls,
	    lg->seen.other_names[0] ? " (" : "", lg->seen.other_names,
	    lg->seen.other_names[0] ? ")" : "");
	if (lg->timeouts > 0)
		printf("    timed out rounds: %d (%ld charger-rounds without their "
		    "limit within %d ms)\n", lg->timeouts, lg->missing,
		    lg->timeout_ms);
	if (pages > 0) {
		int rounds1 = n1 + lg->timeouts_pg[1];
		double p0_50 = pct(sorted, lg->nlat, 50);
		double p0_99 = pct(sorted, lg->nlat, 99);

		printf("    pages: the lines above are the rounds with no page open; "
		    "blocks of %d rounds alternate 0 and %d open event streams (GET "
		    "/api/events, read by this process)\n", lg->block_rounds, pages);
		printf("    pages=0   p50 %6.1f ms   p99 %6.1f ms   max %6.1f ms   "
		    "(%d rounds, %d timed out); gateway cpu %.2f ms per round, "
		    "%.0f ms/s; load generator %.2f ms per round\n", p0_50, p0_99,
		    lg->nlat ? sorted[lg->nlat - 1] : NAN, rounds0, lg->timeouts,
		    acc[0][0] / rounds0, acc[0][0] / acc[0][3], acc[0][2] / rounds0);
		printf("    pages=%-3d p50 %6.1f ms   p99 %6.1f ms   max %6.1f ms   "
		    "(%d rounds, %d timed out); gateway cpu %.2f ms per round, "
		    "%.0f ms/s; load generator %.2f ms per round\n", pages,
		    p1_lat[0], p1_lat[1], p1_max, rounds1, lg->timeouts_pg[1],
		    acc[1][0] / rounds1, acc[1][0] / acc[1][3],
		    acc[1][2] / rounds1);
		printf("    ratio pages=%d / pages=0: p50 %.2f, p99 %.2f, gateway cpu "
		    "per round %.2f; each stream received %.1f kB/s during the "
		    "rounds\n", pages, p1_lat[0] / p0_50, p1_lat[1] / p0_99,
		    (acc[1][0] / rounds1) / (acc[0][0] / rounds0),
		    acc[1][4] / (pages * acc[1][3]));
		fflush(stdout);
		measure_state(lg, n);
		measure_push(lg, pages, o->push_s);
		web_stop(lg);
	}
	fflush(stdout);
	free(sorted);
	free(lg->lat);
	free(lg->first);
	free(lg->up);
	free(lg->paged);

	chargers_close(lg);
	status = stop_child(gateway_pid, 10000);
	gateway_pid = -1;
	log_problems(logp, &nwarn, &nerr, kinds, sizeof kinds);
	printf("    gateway log: %d warnings, %d errors%s%s; exit status %d\n",
	    nwarn, nerr, kinds[0] ? ": " : "", kinds,
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	fflush(stdout);
}

/* ------------------------------------------------------------ hold */

static void
on_hold_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	if (lg->nready == lg->n && !lg->hold_announced) {
		lg->hold_announced = true;
		printf("hold: all %d chargers charging and discovered\n", lg->n);
	}
	if (lg->hold_profiles > 0)
		printf("hold: %ld SetChargingProfile in the last second, limits "
		    "%.1f-%.1f A; %d of %d chargers ready\n", lg->hold_profiles,
		    lg->hold_min, lg->hold_max, lg->nready, lg->n);
	else if (lg->nready < lg->n)
		printf("hold: %d of %d chargers open, %d ready\n", lg->nopen,
		    lg->n, lg->nready);
	fflush(stdout);
	lg->hold_profiles = 0;
}

/* Ctrl-C during the rounds: stop the children and clean up (exit
 * handler), from the loop. */
static void
on_interrupt(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fflush(stdout);
	fprintf(stderr, PROG ": interrupted\n");
	exit(1);
}

/* Hold mode, our own broker: each line "<topic under the prefix> <payload>"
 * on stdin is published, e.g. limit {"max_current_a": 40}. */
static void
on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	char buf[4096], topic[256], *line, *save = NULL;
	ssize_t n;

	(void)what;
	n = read(fd, buf, sizeof buf - 1);
	if (n <= 0) {
		event_del(lg->stdin_ev);
		return;
	}
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		int rc;

		if (sp == NULL) {
			printf("hold: expected \"<topic> <payload>\", e.g. limit "
			    "{\"max_current_a\": 40}\n");
			continue;
		}
		*sp = '\0';
		snprintf(topic, sizeof topic, "%s/%s", lg->prefix, line);
		rc = mosquitto_publish(lg->mosq, NULL, topic, (int)strlen(sp + 1),
		    sp + 1, 1, false);
		mq_flush(lg);
		printf("hold: %.3f published on %s: %s (%s)\n",
		    (double)now_us() / 1e6, topic, sp + 1, mosquitto_strerror(rc));
	}
	fflush(stdout);
}

static void
on_stop_signal(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;

	(void)fd;
	(void)what;
	event_base_loopexit(lg->base, NULL);
}

static void
hold(struct lg *lg, const struct opts *o, int mqtt_port)
{
	struct timeval tv = { 1, 0 };
	char config[PATH_MAX + 64], logp[PATH_MAX + 64];
	int n = o->sizes[0];
	struct stat st;
	sigset_t stop;

	lg->holding = true;
	lg->verbose = o->verbose;
	lg->answer_delay_ms = o->answer_delay_ms;
	if (o->url != NULL) {
		snprintf(lg->url, sizeof lg->url, "%s", o->url);
	} else {
		struct size_cfg s;

		gateway_for_size(lg, o, n, mqtt_port, 0, &s, config, logp);
		keep_files = true;
		printf("hold: gateway %s (pid %d), config %s, log %s\n", lg->url,
		    (int)gateway_pid, config, logp);
		printf("hold: broker 127.0.0.1:%d, prefix %s; type a topic under "
		    "it and a payload to publish, e.g.\n  limit {\"max_current_a\": "
		    "%d}\n  evse/1/set {\"max_current_a\": 6}\n", mqtt_port, s.prefix,
		    n * 8);
		snprintf(lg->prefix, sizeof lg->prefix, "%s", s.prefix);
		/* epoll refuses files and /dev/null: only a terminal or a
		 * pipe is read. */
		if (fstat(0, &st) == 0 && (isatty(0) || S_ISFIFO(st.st_mode) ||
		    S_ISSOCK(st.st_mode))) {
			lg->stdin_ev = event_new(lg->base, 0, EV_READ | EV_PERSIST,
			    on_stdin, lg);
			event_add(lg->stdin_ev, NULL);
		}
	}
	printf("hold: %d chargers LG-0001.. to %s; Ctrl-C stops\n", n, lg->url);
	fflush(stdout);
	lg->hold_tick = event_new(lg->base, -1, EV_PERSIST, on_hold_tick, lg);
	lg->sigint = evsignal_new(lg->base, SIGINT, on_stop_signal, lg);
	lg->sigterm = evsignal_new(lg->base, SIGTERM, on_stop_signal, lg);
	event_add(lg->hold_tick, &tv);
	event_add(lg->sigint, NULL);
	event_add(lg->sigterm, NULL);
	chargers_connect(lg, n);
	event_base_dispatch(lg->base);
	printf("hold: stopping; %ld increases arrived while decreases were "
	    "unanswered%s\n", lg->order_violations, lg->answer_delay_ms > 0 ?
	    "" : " (only checked with --answer-delay-ms)");
	chargers_close(lg);
	if (lg->stdin_ev != NULL)
		event_free(lg->stdin_ev);
	event_free(lg->hold_tick);
	/* Freeing the signal events restores the default action: a second
	 * Ctrl-C must not cut the clean stop of the children short. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	event_free(lg->sigint);
	event_free(lg->sigterm);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
}

/* ------------------------------------------------------------ main */

static int
num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
parse_sizes(char *arg, struct opts *o)
{
	char *save = NULL;

	o->nsizes = 0;
	for (char *t = strtok_r(arg, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		long v;

		if (o->nsizes == MAX_SIZES || num(t, 1, 9999, &v) != 0)
			return -1;
		o->sizes[o->nsizes++] = (int)v;
	}
	return o->nsizes > 0 ? 0 : -1;
}

static int
parse_levels(const char *arg, struct opts *o)
{
	char *end;
	double hi, lo;

	errno = 0;
	hi = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != ',')
		return -1;
	arg = end + 1;
	lo = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0')
		return -1;
	/* Different by more than the hysteresis (1 A), within the min (6 A)
	 * and the chargers' 32 A, in tenths. */
	if (!(lo >= 6 && hi <= 32 && hi - lo >= 1.5) ||
	    fabs(hi * 10 - round(hi * 10)) > 1e-9 ||
	    fabs(lo * 10 - round(lo * 10)) > 1e-9)
		return -1;
	o->hi_a = hi;
	o->lo_a = lo;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: " PROG " [options] [SITEGATE_BINARY]\n"
	    "  --chargers N[,N...]  sizes to measure (default 10,100,1000)\n"
	    "  --rounds R           rounds per size (default 200 up to 100 "
	    "chargers, else 100)\n"
	    "  --pause-ms MS        pause between rounds (default 100)\n"
	    "  --timeout-ms MS      round timeout (default 5000)\n"
	    "  --levels HI,LO       per-EVSE amps the rounds alternate between "
	    "(default 10,8)\n"
	    "  --hold               connect the chargers (first size) and keep "
	    "them until Ctrl-C\n"
	    "  --url URL            with --hold: an already running gateway, "
	    "e.g. ws://127.0.0.1:8180/ocpp\n"
	    "  --nagle              leave mosquitto's set_tcp_nodelay at its default "
	    "(false)\n"
	    "  --verbose            with --hold: print every SetChargingProfile\n"
	    "  --answer-delay-ms MS with --hold: answer dynamic profiles this late "
	    "and report\n"
	    "                       increases that arrive before every decrease "
	    "was answered\n"
	    "  --pages K            0-100: the installer's page figures with K "
	    "open pages (default:\n"
	    "                       10 at 1 000 chargers when no --chargers is "
	    "given, else none)\n"
	    "  --page-block R       with pages: rounds per block, 0 and K pages "
	    "in turn (default %d)\n"
	    "  --push-seconds S     with pages: seconds per block of the push "
	    "figures (default %d)\n"
	    "  --nice N             run the gateway at nice N (-20..19), as a "
	    "unit's Nice= would\n"
	    "  --hog N              N busy processes beside it for the whole "
	    "run (another job on the box)\n"
	    "  --keep               keep the configurations and logs\n",
	    PAGE_BLOCK_ROUNDS, PUSH_BLOCK_S);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "chargers", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "pause-ms", required_argument, NULL, 'p' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "levels", required_argument, NULL, 'l' },
		{ "hold", no_argument, NULL, 'H' },
		{ "url", required_argument, NULL, 'u' },
		{ "keep", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "nagle", no_argument, NULL, 'N' },
		{ "answer-delay-ms", required_argument, NULL, 'D' },
		{ "pages", required_argument, NULL, 'P' },
		{ "page-block", required_argument, NULL, 'B' },
		{ "push-seconds", required_argument, NULL, 'S' },
		{ "nice", required_argument, NULL, 'i' },
		{ "hog", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct lg lg;
	char cpu[128];
	int ch, mqtt_port = -1, maxn = 0;
	long v;

	memset(&o, 0, sizeof o);
	o.bin = "build/sitegate";
	o.sizes[0] = 10;
	o.sizes[1] = 100;
	o.sizes[2] = 1000;
	o.nsizes = 3;
	o.pause_ms = 100;
	o.timeout_ms = 5000;
	o.hi_a = 10;
	o.lo_a = 8;
	o.pages = -1;
	o.page_block = PAGE_BLOCK_ROUNDS;
	o.push_s = PUSH_BLOCK_S;
	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_sizes(optarg, &o) != 0)
				goto bad;
			o.sizes_given = true;
			break;
		case 'P':
			if (num(optarg, 0, 100, &v) != 0)
				goto bad;
			o.pages = (int)v;
			break;
		case 'B':
			if (num(optarg, 1, 100000, &v) != 0)
				goto bad;
			o.page_block = (int)v;
			break;
		case 'S':
			if (num(optarg, 1, 3600, &v) != 0)
				goto bad;
			o.push_s = (int)v;
			break;
		case 'i':
			if (num(optarg, -20, 19, &v) != 0)
				goto bad;
			o.nice = (int)v;
			o.nice_given = true;
			break;
		case 'g':
			if (num(optarg, 0, 64, &v) != 0)
				goto bad;
			o.hogs = (int)v;
			break;
		case 'r':
			if (num(optarg, 1, 100000, &v) != 0)
				goto bad;
			o.rounds = (int)v;
			break;
		case 'p':
			if (num(optarg, 0, 60000, &v) != 0)
				goto bad;
			o.pause_ms = (int)v;
			break;
		case 't':
			if (num(optarg, 10, 600000, &v) != 0)
				goto bad;
			o.timeout_ms = (int)v;
			break;
		case 'l':
			if (parse_levels(optarg, &o) != 0)
				goto bad;
			break;
		case 'H':
			o.hold = true;
			break;
		case 'u':
			o.url = optarg;
			break;
		case 'k':
			keep_files = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'N':
			o.nagle = true;
			break;
		case 'D':
			if (num(optarg, 0, 60000, &v) != 0)
				goto bad;
			o.answer_delay_ms = (int)v;
			break;
		case 'h':
			usage();
			return 0;
		default:
			goto bad;
		}
	}
	if (optind < argc)
		o.bin = argv[optind++];
	if (optind != argc || (o.url != NULL && !o.hold))
		goto bad;
	for (int i = 0; i < o.nsizes; i++) {
		if (o.sizes[i] > maxn)
			maxn = o.sizes[i];
		if (!o.hold && o.sizes[i] * o.hi_a > EMS_MAX_A)
			die("%d chargers at %.1f A exceed the largest EMS limit "
			    "(%.0f A): lower --levels", o.sizes[i], o.hi_a, EMS_MAX_A);
	}

	signal(SIGPIPE, SIG_IGN);
	raise_nofile(maxn + 64);
	log_set_level(LOG_LEVEL_WARN);
	if (o.url == NULL && access(o.bin, X_OK) != 0)
		die("%s: %s (run `make build/sitegate` first)", o.bin,
		    strerror(errno));
	{
		const char *tmp = getenv("TMPDIR");

		snprintf(top_dir, sizeof top_dir, "%s/sitegate-lgbench-XXXXXX",
		    tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(top_dir) == NULL) {
			top_dir[0] = '\0';
			die("mkdtemp: %s", strerror(errno));
		}
	}
	atexit(at_exit);
	mosquitto_lib_init();
	memset(&lg, 0, sizeof lg);
	lg.base = event_base_new();
	lg.handlers = charger_handlers();
	lg.round_timer = evtimer_new(lg.base, on_round_timeout, &lg);
	lg.pause_timer = evtimer_new(lg.base, start_round, &lg);

	if (o.url == NULL) {
		mqtt_port = start_broker(top_dir, o.nagle);
		mq_start(&lg, mqtt_port);
	}
	if (o.hogs > 0) {
		printf("beside the gateway: %d busy process%s at nice 0 for the "
		    "whole run; the gateway at nice %d\n", o.hogs,
		    o.hogs == 1 ? "" : "es", o.nice_given ? o.nice : 0);
		start_hogs(o.hogs);
	}
	cpu_model(cpu, sizeof cpu);
	if (o.hold) {
		hold(&lg, &o, mqtt_port);
	} else {
		printf(PROG ": %s, mosquitto on 127.0.0.1:%d; nproc %ld, %s\n",
		    o.bin, mqtt_port, sysconf(_SC_NPROCESSORS_ONLN), cpu);
		printf(PROG ": the load generator (chargers on sitegate's ws client "
		    "+ rpc, and the EMS client) is this one process; it, the broker "
		    "and the gateway share these cores\n");
		printf(PROG ": latency = MQTT publish of a new site limit -> the "
		    "last charger reads its SetChargingProfile; limits alternate "
		    "%.1f / %.1f A per EVSE, pause %d ms; broker set_tcp_nodelay "
		    "%s\n", o.hi_a, o.lo_a, o.pause_ms, o.nagle ? "false (--nagle)" :
		    "true");
		fflush(stdout);
		lg.sigint = evsignal_new(lg.base, SIGINT, on_interrupt, NULL);
		event_add(lg.sigint, NULL);
		for (int i = 0; i < o.nsizes; i++)
			run_size(&lg, &o, o.sizes[i], mqtt_port);
		event_free(lg.sigint);
	}

	mq_stop(&lg);
	event_free(lg.round_timer);
	event_free(lg.pause_timer);
	rpc_handlers_free(lg.handlers);
	event_base_free(lg.base);
	mosquitto_lib_cleanup();
	return 0;
bad:
	usage();
	return 2;
}
