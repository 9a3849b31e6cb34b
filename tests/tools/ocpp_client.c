/*
 * ocpp_client — a small OCPP-J client on transport/ws + transport/rpc, for
 * the integration tests of the client side (the daemon gets its uplink in a
 * later issue). It connects, makes the CALLs given on the command line one
 * after the other, answers the server's Reset and GetVariables/
 * GetConfiguration CALLs, and reports every event as one line on stdout:
 *
 *   open protocol=ocpp1.6
 *   result Heartbeat {"currentTime":"..."}
 *   error DataTransfer NotSupported "..."
 *   timeout Heartbeat
 *   inbound Reset {"type":"Soft"}
 *   closed code=1006 http=401 reason="HTTP 401 Unauthorized"
 *   done
 *
 * With --sessions N it runs the calls N times: after each session but the
 * last it waits for the server to drop the connection, then reconnects
 * every --retry-ms until it gets through (or --give-up-ms passes), so a
 * test can stop the server and start it again.
 *
 * Exit status: 0 when all sessions ran, 2 when the connection failed for
 * good, 3 on the overall --timeout-ms, 1 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "transport/rpc.h"
#include "transport/ws.h"
#include "util/log.h"

#define MAXCALLS 32

struct app {
	struct event_base *base;
	struct ws_client_opts wo;
	struct rpc_handlers *handlers;
	struct rpc *rpc;
	struct ws_conn *conn;		/* while connecting, before rpc */
	struct {
		const char *action, *json;
	} calls[MAXCALLS];
	int ncalls, next;
	int sessions, done_sessions;
	int retry_ms, give_up_ms, call_timeout_ms;
	long long down_since;
	bool finishing;
	int exit_code;
	struct event *retry, *deadline;
};

static void start_connect(struct app *a);

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
finish(struct app *a, int code)
{
	a->exit_code = code;
	event_base_loopexit(a->base, NULL);
}

static void do_next_call(struct app *a);

static void
on_result(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct app *a = arg;
	char *s;

	(void)rpc;
	switch (res->outcome) {
	case RPC_OUTCOME_RESULT:
		s = cJSON_PrintUnformatted(res->payload);
		say("result %s %s", res->action, s);
		free(s);
		break;
	case RPC_OUTCOME_ERROR:
		say("error %s %s \"%s\"", res->action, res->code_name,
		    res->description);
		break;
	case RPC_OUTCOME_TIMEOUT:
		say("timeout %s", res->action);
		break;
	case RPC_OUTCOME_CLOSED:
		say("aborted %s", res->action);
		return;
	}
	a->next++;
	do_next_call(a);
}

static void
do_next_call(struct app *a)
{
	cJSON *payload;

	if (a->rpc == NULL)
		return;
	if (a->next < a->ncalls) {
		payload = cJSON_Parse(a->calls[a->next].json);
		if (payload == NULL) {
			say("bad-json %s", a->calls[a->next].json);
			finish(a, 1);
			return;
		}
		if (rpc_call(a->rpc, a->calls[a->next].action, payload, on_result,
		    a) != RPC_OK)
			say("call-refused %s", a->calls[a->next].action);
		return;
	}
	a->done_sessions++;
	if (a->done_sessions >= a->sessions) {
		a->finishing = true;
		rpc_close(a->rpc, WS_CLOSE_NORMAL, "done");
	} else {
		say("waiting");
	}
}

static void
h_reset(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	char *s = cJSON_PrintUnformatted(payload);
	cJSON *res = cJSON_CreateObject();

	(void)rpc;
	(void)arg;
	say("inbound %s %s", rpc_call_action(call), s);
	free(s);
	cJSON_AddStringToObject(res, "status", "Accepted");
	rpc_reply(call, res);
}

static void
schedule_retry(struct app *a)
{
	struct timeval tv = { a->retry_ms / 1000, a->retry_ms % 1000 * 1000 };

	if (a->down_since == 0)
		a->down_since = now_ms();
	if (now_ms() - a->down_since >= a->give_up_ms) {
		say("give-up");
		finish(a, 2);
		return;
	}
	evtimer_add(a->retry, &tv);
}

static void
on_disconnect(struct rpc *rpc, const struct ws_close_info *info, void *arg)
{
	struct app *a = arg;

	(void)rpc;
	a->rpc = NULL;
	say("closed code=%u http=%d reason=\"%s\"", info->code, info->http_status,
	    info->reason);
	if (a->finishing) {
		say("done");
		finish(a, 0);
		return;
	}
	schedule_retry(a);
}

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct app *a = arg;
	struct rpc_opts o;
	enum ocpp_version v;

	a->conn = NULL;
	a->down_since = 0;
	if (ocpp_version_parse(ws_conn_protocol(conn), &v) != 0) {
		say("bad-protocol %s", ws_conn_protocol(conn));
		ws_conn_close(conn, WS_CLOSE_PROTOCOL_ERROR, "unknown subprotocol");
		return;
	}
	say("open protocol=%s", ws_conn_protocol(conn));
	memset(&o, 0, sizeof o);
	o.version = v;
	o.handlers = a->handlers;
	o.call_timeout_ms = a->call_timeout_ms;
	o.on_disconnect = on_disconnect;
	o.arg = a;
	o.log_module = "client";
	a->rpc = rpc_new(a->base, conn, &o);
	a->next = 0;
	do_next_call(a);
}

/* Only before the rpc takes over: the connection never opened. */
static void
on_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct app *a = arg;

	(void)conn;
	a->conn = NULL;
	say("closed code=%u http=%d reason=\"%s\"", info->code, info->http_status,
	    info->reason);
	schedule_retry(a);
}

static const struct ws_handler handler = { on_open, NULL, on_close };

static void
start_connect(struct app *a)
{
	char *cause = NULL;

	a->conn = ws_connect(a->base, &a->wo, &handler, a, &cause);
	if (a->conn == NULL) {
		say("unusable %s", cause);
		free(cause);
		finish(a, 1);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_connect(arg);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	say("overall-timeout");
	finish(arg, 3);
}

static int
num(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ocpp_client --url URL --id ID --protocol P "
	    "[--password PW] [--ca FILE] [--cert FILE --key FILE]\n"
	    "       [--call ACTION JSON]... [--sessions N] [--retry-ms MS] "
	    "[--give-up-ms MS]\n"
	    "       [--call-timeout-ms MS] [--timeout-ms MS] [--debug]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "id", required_argument, NULL, 'i' },
		{ "protocol", required_argument, NULL, 'p' },
		{ "password", required_argument, NULL, 'w' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "call", required_argument, NULL, 'C' },
		{ "sessions", required_argument, NULL, 's' },
		{ "retry-ms", required_argument, NULL, 'r' },
		{ "give-up-ms", required_argument, NULL, 'g' },
		{ "call-timeout-ms", required_argument, NULL, 'T' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct app a;
	struct timeval tv;
	int ch, timeout_ms = 20000;

	/* A peer that goes away while we write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	memset(&a, 0, sizeof a);
	a.sessions = 1;
	a.retry_ms = 200;
	a.give_up_ms = 0;
	a.call_timeout_ms = 5000;
	log_set_level(LOG_LEVEL_WARN);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': a.wo.url = optarg; break;
		case 'i': a.wo.id = optarg; break;
		case 'p': a.wo.protocol = optarg; break;
		case 'w': a.wo.password = optarg; break;
		case 'a': a.wo.ca_file = optarg; break;
		case 'c': a.wo.cert = optarg; break;
		case 'k': a.wo.key = optarg; break;
		case 'C':
			if (a.ncalls == MAXCALLS || optind >= argc) {
				usage();
				return 1;
			}
			a.calls[a.ncalls].action = optarg;
			a.calls[a.ncalls++].json = argv[optind++];
			break;
		case 's':
			if (num(optarg, 1, 100, &a.sessions) != 0)
				goto bad;
			break;
		case 'r':
			if (num(optarg, 10, 60000, &a.retry_ms) != 0)
				goto bad;
			break;
		case 'g':
			if (num(optarg, 0, 600000, &a.give_up_ms) != 0)
				goto bad;
			break;
		case 'T':
			if (num(optarg, 10, 600000, &a.call_timeout_ms) != 0)
				goto bad;
			break;
		case 't':
			if (num(optarg, 100, 600000, &timeout_ms) != 0)
				goto bad;
			break;
		case 'd':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		default:
			goto bad;
		}
	}
	if (a.wo.url == NULL || a.wo.id == NULL || a.wo.protocol == NULL ||
	    optind != argc)
		goto bad;
	a.wo.limits.handshake_timeout_ms = 5000;
	a.base = event_base_new();
	a.handlers = rpc_handlers_new();
	for (int v = 0; v < OCPP_NVERSIONS; v++)
		rpc_handlers_add(a.handlers, (enum ocpp_version)v, "Reset", h_reset,
		    &a);
	a.retry = evtimer_new(a.base, on_retry, &a);
	a.deadline = evtimer_new(a.base, on_deadline, &a);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = timeout_ms % 1000 * 1000;
	evtimer_add(a.deadline, &tv);
	start_connect(&a);
	event_base_dispatch(a.base);
	rpc_free(a.rpc);
	ws_conn_free(a.conn);
	event_free(a.retry);
	event_free(a.deadline);
	rpc_handlers_free(a.handlers);
	event_base_free(a.base);
	return a.exit_code;
bad:
	usage();
	return 1;
}
