/*
 * Unit tests for transport/rpc.
 *
 * Pure parts first: error code spellings, the frame parser (one table, one
 * row per error class and version), message ids, the action lists. Then the
 * connection behaviour on a real event_base: each test gets a fixture with
 * a socketpair whose one end is an rpc (server side) and whose other end is
 * a plain ws_conn that the test drives as the peer, sending raw OCPP-J text
 * and recording what comes back. Waiting is always on a condition, with a
 * deadline only to fail a broken test instead of hanging it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "ocpp/schema.h"
#include "transport/rpc.h"
#include "transport/ws.h"
#include "util/log.h"

/* ---------------------------------------------------------------- pure */

static void
test_errcodes(void **state)
{
	static const struct {
		enum ocpp_errcode code;
		const char *v16, *v201;
	} rows[] = {
		{ OCPP_ERR_NOT_IMPLEMENTED, "NotImplemented", "NotImplemented" },
		{ OCPP_ERR_NOT_SUPPORTED, "NotSupported", "NotSupported" },
		{ OCPP_ERR_INTERNAL, "InternalError", "InternalError" },
		{ OCPP_ERR_PROTOCOL, "ProtocolError", "ProtocolError" },
		{ OCPP_ERR_SECURITY, "SecurityError", "SecurityError" },
		{ OCPP_ERR_FORMAT, "FormationViolation", "FormatViolation" },
		{ OCPP_ERR_PROPERTY, "PropertyConstraintViolation",
		    "PropertyConstraintViolation" },
		{ OCPP_ERR_OCCURRENCE,
		    "OccurenceConstraintViolation", "OccurrenceConstraintViolation" },
		{ OCPP_ERR_TYPE, "TypeConstraintViolation",
		    "TypeConstraintViolation" },
		{ OCPP_ERR_GENERIC, "GenericError", "GenericError" },
		{ OCPP_ERR_FRAMEWORK, "FormationViolation", "RpcFrameworkError" },
		{ OCPP_ERR_MESSAGE_TYPE, "GenericError",
		    "MessageTypeNotSupported" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		assert_string_equal(ocpp_errcode_name(rows[i].code, OCPP_V16),
		    rows[i].v16);
		assert_string_equal(ocpp_errcode_name(rows[i].code, OCPP_V201),
		    rows[i].v201);
		assert_string_equal(ocpp_errcode_name(rows[i].code, OCPP_V21),
		    rows[i].v201);
	}
	/* Both spellings in, one meaning out. */
	assert_int_equal(ocpp_errcode_parse("FormationViolation"),
	    OCPP_ERR_FORMAT);
	assert_int_equal(ocpp_errcode_parse("FormatViolation"),
	    OCPP_ERR_FORMAT);
	assert_int_equal(ocpp_errcode_parse("OccurenceConstraintViolation"),
	    OCPP_ERR_OCCURRENCE);
	assert_int_equal(ocpp_errcode_parse("OccurrenceConstraintViolation"),
	    OCPP_ERR_OCCURRENCE);
	assert_int_equal(ocpp_errcode_parse("RpcFrameworkError"),
	    OCPP_ERR_FRAMEWORK);
	assert_int_equal(ocpp_errcode_parse("MessageTypeNotSupported"),
	    OCPP_ERR_MESSAGE_TYPE);
	assert_int_equal(ocpp_errcode_parse("NotSupported"), OCPP_ERR_NOT_SUPPORTED);
	assert_int_equal(ocpp_errcode_parse("Bogus"), OCPP_ERR_OTHER);
	assert_int_equal(ocpp_errcode_parse(""), OCPP_ERR_OTHER);
}

struct frame_case {
	const char *text;
	enum ocpp_version v;
	int rc;			/* RPC_OK or RPC_E_FRAME */
	int type;
	const char *id;
	bool reply;		/* when rc != RPC_OK */
	const char *wire;	/* the error code answered, when reply */
};

#define ID37 "1234567890123456789012345678901234567"
#define ID36 "123456789012345678901234567890123456"

static const struct frame_case frame_cases[] = {
	/* valid */
	{ "[2,\"a1\",\"Heartbeat\",{}]", OCPP_V16, RPC_OK, 2, "a1", 0, NULL },
	{ " [2, \"" ID36 "\", \"Heartbeat\", {\"x\":[1]}]\r\n", OCPP_V201, RPC_OK,
	    2, ID36, 0, NULL },
	{ "[3,\"a1\",{}]", OCPP_V201, RPC_OK, 3, "a1", 0, NULL },
	{ "[4,\"a1\",\"NotSupported\",\"no\",{}]", OCPP_V16, RPC_OK, 4, "a1", 0,
	    NULL },
	{ "[4,\"a1\",\"GenericError\",\"\"]", OCPP_V201, RPC_OK, 4, "a1", 0,
	    NULL },
	{ "[6,\"s1\",\"NotifyPeriodicEventStream\",{}]", OCPP_V21, RPC_OK, 6,
	    "s1", 0, NULL },
	{ "[5,\"a1\",\"FormatViolation\",\"bad\",{}]", OCPP_V21, RPC_OK, 5,
	    "a1", 0, NULL },
	/* not JSON / truncated / trailing text */
	{ "[2,\"a1\",\"Heartbeat\",{}", OCPP_V16, RPC_E_FRAME, 0, "-1", 1,
	    "FormationViolation" },
	{ "[2,\"a1\",\"Heartbeat\",{}", OCPP_V201, RPC_E_FRAME, 0, "-1", 1,
	    "RpcFrameworkError" },
	{ "[2,\"a1\",\"Heartbeat\",{}] x", OCPP_V201, RPC_E_FRAME, 0, "-1", 1,
	    "RpcFrameworkError" },
	{ "", OCPP_V201, RPC_E_FRAME, 0, "-1", 1, "RpcFrameworkError" },
	/* not an array, empty, type not an integer */
	{ "{\"a\":1}", OCPP_V16, RPC_E_FRAME, 0, "-1", 1, "FormationViolation" },
	{ "{\"a\":1}", OCPP_V201, RPC_E_FRAME, 0, "-1", 1, "RpcFrameworkError" },
	{ "[]", OCPP_V201, RPC_E_FRAME, 0, "-1", 1, "RpcFrameworkError" },
	{ "[\"2\",\"a1\",\"Heartbeat\",{}]", OCPP_V201, RPC_E_FRAME, 0, "-1", 1,
	    "RpcFrameworkError" },
	{ "[2.5,\"a1\",\"Heartbeat\",{}]", OCPP_V16, RPC_E_FRAME, 0, "-1", 1,
	    "FormationViolation" },
	/* unknown message type: ignored on 1.6, answered on 2.x */
	{ "[7,\"a1\",\"Heartbeat\",{}]", OCPP_V16, RPC_E_FRAME, 7, "a1", 0,
	    NULL },
	{ "[7,\"a1\",\"Heartbeat\",{}]", OCPP_V201, RPC_E_FRAME, 7, "a1", 1,
	    "MessageTypeNotSupported" },
	{ "[6,\"a1\",\"Heartbeat\",{}]", OCPP_V201, RPC_E_FRAME, 6, "a1", 1,
	    "MessageTypeNotSupported" },
	{ "[5,\"a1\",\"GenericError\",\"\",{}]", OCPP_V16, RPC_E_FRAME, 5, "a1",
	    0, NULL },
	{ "[9]", OCPP_V201, RPC_E_FRAME, 9, "-1", 1, "MessageTypeNotSupported" },
	/* message id */
	{ "[2,1,\"Heartbeat\",{}]", OCPP_V201, RPC_E_FRAME, 2, "-1", 1,
	    "RpcFrameworkError" },
	{ "[2,\"\",\"Heartbeat\",{}]", OCPP_V16, RPC_E_FRAME, 2, "-1", 1,
	    "FormationViolation" },
	{ "[2,\"" ID37 "\",\"Heartbeat\",{}]", OCPP_V201, RPC_E_FRAME, 2, "-1", 1,
	    "RpcFrameworkError" },
	{ "[2]", OCPP_V201, RPC_E_FRAME, 2, "-1", 1, "RpcFrameworkError" },
	{ "[3,5,{}]", OCPP_V201, RPC_E_FRAME, 3, "-1", 0, NULL },
	/* CALL shape */
	{ "[2,\"a1\",\"Heartbeat\"]", OCPP_V16, RPC_E_FRAME, 2, "a1", 1,
	    "FormationViolation" },
	{ "[2,\"a1\",\"Heartbeat\"]", OCPP_V201, RPC_E_FRAME, 2, "a1", 1,
	    "RpcFrameworkError" },
	{ "[2,\"a1\",\"Heartbeat\",{},{}]", OCPP_V201, RPC_E_FRAME, 2, "a1", 1,
	    "RpcFrameworkError" },
	{ "[2,\"a1\",7,{}]", OCPP_V201, RPC_E_FRAME, 2, "a1", 1,
	    "RpcFrameworkError" },
	{ "[2,\"a1\",\"\",{}]", OCPP_V16, RPC_E_FRAME, 2, "a1", 1,
	    "FormationViolation" },
	/* payload of the wrong type */
	{ "[2,\"a1\",\"Heartbeat\",[]]", OCPP_V16, RPC_E_FRAME, 2, "a1", 1,
	    "FormationViolation" },
	{ "[2,\"a1\",\"Heartbeat\",\"x\"]", OCPP_V201, RPC_E_FRAME, 2, "a1", 1,
	    "FormatViolation" },
	{ "[2,\"a1\",\"Heartbeat\",null]", OCPP_V21, RPC_E_FRAME, 2, "a1", 1,
	    "FormatViolation" },
	/* responses of the wrong shape: never answered */
	{ "[3,\"a1\"]", OCPP_V201, RPC_E_FRAME, 3, "a1", 0, NULL },
	{ "[3,\"a1\",[]]", OCPP_V16, RPC_E_FRAME, 3, "a1", 0, NULL },
	{ "[4,\"a1\",5,\"d\",{}]", OCPP_V201, RPC_E_FRAME, 4, "a1", 0, NULL },
	{ "[4,\"a1\",\"GenericError\",\"d\",[]]", OCPP_V201, RPC_E_FRAME, 4, "a1",
	    0, NULL },
	{ "[4,\"a1\",\"GenericError\"]", OCPP_V16, RPC_E_FRAME, 4, "a1", 0,
	    NULL },
};

static void
test_frame_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof frame_cases / sizeof *frame_cases; i++) {
		const struct frame_case *c = &frame_cases[i];
		struct rpc_frame f;
		int rc = rpc_frame_parse(c->text, strlen(c->text), c->v, &f);

		if (rc != c->rc || f.type != c->type || strcmp(f.id, c->id) != 0)
			fail_msg("case %zu %s (%s): rc=%d type=%d id=%s", i, c->text,
			    ocpp_version_name(c->v), rc, f.type, f.id);
		if (rc != RPC_OK) {
			if (f.reply != c->reply)
				fail_msg("case %zu %s: reply=%d", i, c->text, f.reply);
			if (c->reply)
				assert_string_equal(ocpp_errcode_name(f.error, c->v),
				    c->wire);
			assert_non_null(f.why);
		}
		rpc_frame_clear(&f);
	}
}

static void
test_frame_fields(void **state)
{
	const char *t = "[4,\"x\",\"OccurenceConstraintViolation\",\"missing\","
	    "{\"k\":1}]";
	struct rpc_frame f;

	(void)state;
	assert_int_equal(rpc_frame_parse(t, strlen(t), OCPP_V16, &f), RPC_OK);
	assert_int_equal(f.code, OCPP_ERR_OCCURRENCE);
	assert_string_equal(f.code_name, "OccurenceConstraintViolation");
	assert_string_equal(f.description, "missing");
	assert_non_null(cJSON_GetObjectItem(f.details, "k"));
	rpc_frame_clear(&f);

	t = "[2,\"q\",\"BootNotification\",{\"reason\":\"PowerUp\"}]";
	/* Not NUL-terminated input: parse only len bytes. */
	assert_int_equal(rpc_frame_parse(t, strlen(t), OCPP_V201, &f), RPC_OK);
	assert_string_equal(f.action, "BootNotification");
	assert_string_equal(cJSON_GetObjectItem(f.payload, "reason")->valuestring,
	    "PowerUp");
	rpc_frame_clear(&f);
	assert_int_equal(rpc_frame_parse(t, strlen(t) - 1, OCPP_V201, &f),
	    RPC_E_FRAME);
	rpc_frame_clear(&f);
}

/* A string holding U+0000 (escaped or a raw zero byte) would be cut short
 * by cJSON's NUL-terminated strings: the frame is refused instead, naming
 * the field when it is in the payload. Texts use ~ for a raw zero byte. */
static void
test_frame_nul(void **state)
{
	static const struct {
		const char *text;
		enum ocpp_version v;
		int type;
		const char *id;
		bool reply;
		enum ocpp_errcode error;
		const char *why;	/* its start */
	} cases[] = {
		{ "[2,\"a1\",\"Authorize\",{\"idTag\":\"04A2\\u0000X\"}]", OCPP_V16,
		    2, "a1", true, OCPP_ERR_PROPERTY,
		    "idTag: a string holding U+0000" },
		{ "[2,\"a1\",\"Authorize\",{\"idTag\":\"04A2~\"}]", OCPP_V201, 2,
		    "a1", true, OCPP_ERR_PROPERTY,
		    "idTag: a string holding U+0000" },
		{ "[2,\"a1\",\"MeterValues\",{\"meterValue\":[{\"sampledValue\":"
		    "[{},{\"value\":\"12\\u0000\"}]}]}]", OCPP_V16, 2, "a1", true,
		    OCPP_ERR_PROPERTY,
		    "meterValue[0].sampledValue[1].value: a string holding U+0000" },
		{ "[2,\"a1\",\"Auth\\u0000orize\",{}]", OCPP_V201, 2, "a1", true,
		    OCPP_ERR_FRAMEWORK, "a string of the message holds U+0000" },
		{ "[2,\"a\\u00001\",\"Authorize\",{}]", OCPP_V16, 2, "-1", true,
		    OCPP_ERR_FRAMEWORK, "a string of the message holds U+0000" },
		{ "[6,\"s1\",\"NotifyPeriodicEventStream\",{\"x\":\"\\u0000\"}]",
		    OCPP_V21, 6, "s1", false, OCPP_ERR_PROPERTY,
		    "x: a string holding U+0000" },
		{ "[3,\"a1\",{\"status\":\"Accepted\\u0000\"}]", OCPP_V201, 3, "a1",
		    false, OCPP_ERR_PROPERTY,
		    "status: a string holding U+0000" },
		{ "[4,\"a1\",\"GenericError\",\"x\\u0000\",{}]", OCPP_V201, 4,
		    "a1", false, OCPP_ERR_FRAMEWORK,
		    "a string of the message holds U+0000" },
	};
	char text[160];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n = strlen(cases[i].text);
		struct rpc_frame f;
		int rc;

		for (size_t k = 0; k < n; k++)
			text[k] = cases[i].text[k] == '~' ? '\0' : cases[i].text[k];
		rc = rpc_frame_parse(text, n, cases[i].v, &f);
		if (rc != RPC_E_FRAME || f.type != cases[i].type ||
		    strcmp(f.id, cases[i].id) != 0 || f.reply != cases[i].reply ||
		    f.error != cases[i].error || f.why == NULL ||
		    strncmp(f.why, cases[i].why, strlen(cases[i].why)) != 0)
			fail_msg("case %zu %s: rc=%d type=%d id=%s reply=%d error=%d "
			    "why=%s", i, cases[i].text, rc, f.type, f.id, f.reply,
			    f.error, f.why ? f.why : "(null)");
		rpc_frame_clear(&f);
	}
}

static void
test_ids(void **state)
{
	struct rpc_idgen a, b;
	char id[RPC_ID_MAX + 1], first_a[RPC_ID_MAX + 1], first_b[RPC_ID_MAX + 1];
	char (*seen)[RPC_ID_MAX + 1] = calloc(5000, sizeof *seen);

	(void)state;
	assert_non_null(seen);
	rpc_idgen_init(&a);
	rpc_idgen_init(&b);
	for (int i = 0; i < 5000; i++) {
		rpc_idgen_next(&a, seen[i]);
		assert_true(strlen(seen[i]) >= 1 && strlen(seen[i]) <= RPC_ID_MAX);
		/* Unique: the counter part increases. */
		if (i > 0)
			assert_string_not_equal(seen[i], seen[i - 1]);
	}
	for (int i = 0; i < 5000; i += 97)
		for (int k = i + 1; k < 5000; k += 13)
			assert_string_not_equal(seen[i], seen[k]);
	/* A fresh prefix per generator (per connection). */
	rpc_idgen_next(&b, first_b);
	memcpy(first_a, seen[0], sizeof first_a);
	assert_memory_not_equal(first_a, first_b, 8);
	/* Still within 36 characters at the counter's end. */
	a.n = UINT64_MAX - 1;
	rpc_idgen_next(&a, id);
	assert_true(strlen(id) <= RPC_ID_MAX);
	free(seen);
}

/* ---------------------------------------------------------------- fixture */

#define MAXMSG 64

struct peer {
	struct ws_conn *conn;
	char *msgs[MAXMSG];
	size_t nmsgs;
	bool closed;
	uint16_t close_code;
};

struct result {
	enum rpc_outcome outcome;
	char action[64];
	enum ocpp_errcode code;
	char payload[256];
};

struct fx {
	struct event_base *base;
	struct peer peer;
	struct rpc *rpc;
	struct rpc_handlers *handlers;
	bool rpc_gone;
	int disconnects;
	uint16_t disconnect_code;
	struct result results[16];
	int nresults;
	struct rpc_call *held;		/* a call the test answers later */
	bool close_in_handler;
	bool timed_out;
};

static void
peer_message(struct ws_conn *c, const char *text, size_t len, void *arg)
{
	struct peer *p = arg;

	(void)c;
	if (p->nmsgs < MAXMSG)
		p->msgs[p->nmsgs++] = strndup(text, len);
}

static void
peer_close(struct ws_conn *c, const struct ws_close_info *info, void *arg)
{
	struct peer *p = arg;

	(void)c;
	p->closed = true;
	p->close_code = info->code;
	p->conn = NULL;
}

static const struct ws_handler peer_handler = { NULL, peer_message,
	peer_close };

static void
on_disconnect(struct rpc *rpc, const struct ws_close_info *info, void *arg)
{
	struct fx *fx = arg;

	(void)rpc;
	fx->disconnects++;
	fx->disconnect_code = info->code;
	fx->rpc_gone = true;
	fx->rpc = NULL;
	fx->held = NULL;	/* freed with the rpc */
}

static void
record(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct fx *fx = arg;
	struct result *r = &fx->results[fx->nresults++];

	(void)rpc;
	r->outcome = res->outcome;
	snprintf(r->action, sizeof r->action, "%s", res->action);
	r->code = res->code;
	if (res->payload != NULL) {
		char *s = cJSON_PrintUnformatted(res->payload);

		snprintf(r->payload, sizeof r->payload, "%s", s);
		free(s);
	}
}

static void
h_heartbeat(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	cJSON *o = cJSON_CreateObject();

	(void)rpc;
	(void)payload;
	(void)arg;
	cJSON_AddStringToObject(o, "currentTime", "2026-01-01T00:00:00.000Z");
	assert_int_equal(rpc_reply(call, o), RPC_OK);
}

/* Keeps the call to answer later (or closes the connection instead). */
static void
h_hold(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct fx *fx = arg;

	(void)payload;
	fx->held = call;
	if (fx->close_in_handler)
		rpc_close(rpc, WS_CLOSE_NORMAL, "bye");
}

static void
h_typed(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	(void)rpc;
	(void)arg;
	if (!cJSON_IsString(cJSON_GetObjectItem(payload, "vendor")))
		rpc_reply_error(call, OCPP_ERR_OCCURRENCE,
		    "vendor is required", NULL);
	else
		rpc_reply(call, NULL);
}

static void
fx_start(struct fx *fx, enum ocpp_version v, const struct rpc_opts *extra)
{
	int sv[2];
	struct ws_conn *conn;
	struct rpc_opts o;

	memset(fx, 0, sizeof *fx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->handlers = rpc_handlers_new();
	assert_int_equal(rpc_handlers_add(fx->handlers, v, "Heartbeat",
	    h_heartbeat, fx), RPC_OK);
	assert_int_equal(rpc_handlers_add(fx->handlers, v, "Authorize", h_hold,
	    fx), RPC_OK);
	assert_int_equal(rpc_handlers_add(fx->handlers, v, "DataTransfer",
	    h_typed, fx), RPC_OK);
	assert_int_equal(rpc_handlers_add(fx->handlers, v, "", h_hold, fx),
	    RPC_E_ARG);
	fx->peer.conn = ws_conn_adopt(fx->base, sv[1], false, NULL, "peer",
	    ocpp_version_name(v), &peer_handler, &fx->peer);
	conn = ws_conn_adopt(fx->base, sv[0], true, NULL, "CP-T",
	    ocpp_version_name(v), NULL, NULL);
	assert_non_null(fx->peer.conn);
	assert_non_null(conn);
	if (extra != NULL)
		o = *extra;
	else
		memset(&o, 0, sizeof o);
	o.version = v;
	o.handlers = fx->handlers;
	o.action_known = schema_has_action;
	o.on_disconnect = on_disconnect;
	o.arg = fx;
	fx->rpc = rpc_new(fx->base, conn, &o);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;

	(void)fd;
	(void)what;
	fx->timed_out = true;
	event_base_loopbreak(fx->base);
}

/* Run the loop until pred holds; fail after ms. */
static void
run_until(struct fx *fx, bool (*pred)(struct fx *, const void *),
    const void *arg, int ms, const char *what)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };
	struct event *t = evtimer_new(fx->base, on_deadline, fx);

	fx->timed_out = false;
	evtimer_add(t, &tv);
	while (!pred(fx, arg) && !fx->timed_out)
		event_base_loop(fx->base, EVLOOP_ONCE);
	event_free(t);
	if (!pred(fx, arg))
		fail_msg("timed out waiting for %s", what);
}

static bool
has_msgs(struct fx *fx, const void *n)
{
	return fx->peer.nmsgs >= *(const size_t *)n;
}

static bool
has_results(struct fx *fx, const void *n)
{
	return fx->nresults >= *(const int *)n;
}

static bool
is_disconnected(struct fx *fx, const void *unused)
{
	(void)unused;
	return fx->disconnects > 0 && fx->peer.closed;
}

static bool
has_held(struct fx *fx, const void *unused)
{
	(void)unused;
	return fx->held != NULL;
}

static void
wait_msgs(struct fx *fx, size_t n)
{
	run_until(fx, has_msgs, &n, 3000, "messages at the peer");
}

static void
wait_results(struct fx *fx, int n)
{
	run_until(fx, has_results, &n, 3000, "call results");
}

/* Let the loop run for a moment with nothing expected to happen. */
static void
settle(struct fx *fx, int ms)
{
	struct timeval tv = { 0, ms * 1000 };

	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

static void
peer_send(struct fx *fx, const char *text)
{
	assert_int_equal(ws_conn_send(fx->peer.conn, text, strlen(text)), WS_OK);
}

static void
fx_stop(struct fx *fx)
{
	if (!fx->rpc_gone)
		rpc_free(fx->rpc);
	if (!fx->peer.closed)
		ws_conn_free(fx->peer.conn);
	for (size_t i = 0; i < fx->peer.nmsgs; i++)
		free(fx->peer.msgs[i]);
	rpc_handlers_free(fx->handlers);
	event_base_free(fx->base);
}

/* The id (element 1) of a frame the peer got. */
static void
frame_id(const char *text, char *out, size_t size)
{
	cJSON *a = cJSON_Parse(text);

	assert_non_null(a);
	snprintf(out, size, "%s", cJSON_GetArrayItem(a, 1)->valuestring);
	cJSON_Delete(a);
}

/* ---------------------------------------------------------------- inbound */

static void
check_answers(enum ocpp_version v, const char *const *expect)
{
	static const char *const sent[] = {
		"[2,\"h1\",\"Heartbeat\",{}]",
		"[2,\"u1\",\"FooBar\",{}]",
		"[2,\"n1\",\"StatusNotification\",{}]",
		"[2,\"p1\",\"Heartbeat\",[]]",
		"[2,\"t1\",\"Heartbeat\"",
		"[2,\"d1\",\"DataTransfer\",{}]",
		"[2,\"e1\",\"Heartbeat\",{},1]",
	};
	struct fx fx;
	size_t n = sizeof sent / sizeof *sent;

	fx_start(&fx, v, NULL);
	for (size_t i = 0; i < n; i++)
		peer_send(&fx, sent[i]);
	wait_msgs(&fx, n);
	for (size_t i = 0; i < n; i++)
		if (strncmp(fx.peer.msgs[i], expect[i], strlen(expect[i])) != 0)
			fail_msg("%s answer %zu: got %s, expected %s...",
			    ocpp_version_name(v), i, fx.peer.msgs[i], expect[i]);
	fx_stop(&fx);
}

static void
test_dispatch_v16(void **state)
{
	static const char *const expect[] = {
		"[3,\"h1\",{\"currentTime\":\"2026-01-01T00:00:00.000Z\"}]",
		"[4,\"u1\",\"NotImplemented\",",
		"[4,\"n1\",\"NotSupported\",",
		"[4,\"p1\",\"FormationViolation\",",
		"[4,\"-1\",\"FormationViolation\",",
		"[4,\"d1\",\"OccurenceConstraintViolation\",\"vendor is required\",{}]",
		"[4,\"e1\",\"FormationViolation\",",
	};

	(void)state;
	check_answers(OCPP_V16, expect);
}

static void
test_dispatch_v201(void **state)
{
	static const char *const expect[] = {
		"[3,\"h1\",{\"currentTime\":\"2026-01-01T00:00:00.000Z\"}]",
		"[4,\"u1\",\"NotImplemented\",",
		"[4,\"n1\",\"NotSupported\",",
		"[4,\"p1\",\"FormatViolation\",",
		"[4,\"-1\",\"RpcFrameworkError\",",
		"[4,\"d1\",\"OccurrenceConstraintViolation\",\"vendor is required\","
		    "{}]",
		"[4,\"e1\",\"RpcFrameworkError\",",
	};

	(void)state;
	check_answers(OCPP_V201, expect);
}

static void
test_unknown_type(void **state)
{
	struct fx fx;

	(void)state;
	/* 1.6: ignored; the next CALL is the first thing answered. */
	fx_start(&fx, OCPP_V16, NULL);
	peer_send(&fx, "[7,\"x1\",{}]");
	peer_send(&fx, "[2,\"h1\",\"Heartbeat\",{}]");
	wait_msgs(&fx, 1);
	assert_true(strncmp(fx.peer.msgs[0], "[3,\"h1\"", 7) == 0);
	fx_stop(&fx);

	/* 2.0.1: MessageTypeNotSupported with the id. */
	fx_start(&fx, OCPP_V201, NULL);
	peer_send(&fx, "[7,\"x1\",{}]");
	wait_msgs(&fx, 1);
	assert_true(strncmp(fx.peer.msgs[0],
	    "[4,\"x1\",\"MessageTypeNotSupported\"", 33) == 0);
	fx_stop(&fx);
}

static void
test_async_reply(void **state)
{
	struct fx fx;
	size_t one = 1;

	(void)state;
	fx_start(&fx, OCPP_V201, NULL);
	peer_send(&fx, "[2,\"a1\",\"Authorize\",{\"idToken\":{}}]");
	run_until(&fx, has_held, NULL, 3000, "the held call");
	assert_string_equal(rpc_call_action(fx.held), "Authorize");
	assert_string_equal(rpc_call_id(fx.held), "a1");
	assert_ptr_equal(rpc_call_rpc(fx.held), fx.rpc);
	/* The same id again while it is pending is refused... */
	peer_send(&fx, "[2,\"a1\",\"Heartbeat\",{}]");
	run_until(&fx, has_msgs, &one, 3000, "the duplicate refusal");
	assert_true(strncmp(fx.peer.msgs[0], "[4,\"a1\",\"GenericError\"", 22) ==
	    0);
	/* ...and the answer comes when the handler's owner is ready. */
	assert_int_equal(rpc_reply(fx.held, NULL), RPC_OK);
	fx.held = NULL;
	wait_msgs(&fx, 2);
	assert_string_equal(fx.peer.msgs[1], "[3,\"a1\",{}]");
	fx_stop(&fx);
}

static void
test_too_many_inbound(void **state)
{
	struct rpc_opts o = { .max_inbound = 1 };
	struct fx fx;

	(void)state;
	fx_start(&fx, OCPP_V201, &o);
	peer_send(&fx, "[2,\"a1\",\"Authorize\",{}]");
	peer_send(&fx, "[2,\"a2\",\"Authorize\",{}]");
	wait_msgs(&fx, 1);
	assert_true(strncmp(fx.peer.msgs[0], "[4,\"a2\",\"GenericError\"", 22) ==
	    0);
	rpc_reply_error(fx.held, OCPP_ERR_SECURITY, "no", NULL);
	fx.held = NULL;
	wait_msgs(&fx, 2);
	assert_true(strncmp(fx.peer.msgs[1], "[4,\"a1\",\"SecurityError\",\"no\"",
	    28) == 0);
	fx_stop(&fx);
}

/* ---------------------------------------------------------------- outbound */

static void
test_queue_order(void **state)
{
	struct fx fx;
	char id[RPC_ID_MAX + 1], answer[160];
	cJSON *p = cJSON_CreateObject();

	(void)state;
	fx_start(&fx, OCPP_V16, NULL);
	cJSON_AddStringToObject(p, "type", "Soft");
	assert_int_equal(rpc_call(fx.rpc, "Reset", p, record, &fx), RPC_OK);
	assert_int_equal(rpc_call(fx.rpc, "ClearCache", NULL, record, &fx),
	    RPC_OK);
	assert_int_equal(rpc_call(fx.rpc, "GetConfiguration", NULL, record, &fx),
	    RPC_OK);
	assert_int_equal(rpc_pending(fx.rpc), 3);
	/* Only the first is on the wire. */
	wait_msgs(&fx, 1);
	settle(&fx, 50);
	assert_int_equal(fx.peer.nmsgs, 1);
	assert_true(strstr(fx.peer.msgs[0], "\"Reset\",{\"type\":\"Soft\"}]") !=
	    NULL);
	frame_id(fx.peer.msgs[0], id, sizeof id);
	assert_true(strlen(id) <= RPC_ID_MAX);
	snprintf(answer, sizeof answer, "[3,\"%s\",{\"status\":\"Accepted\"}]",
	    id);
	peer_send(&fx, answer);
	wait_results(&fx, 1);
	assert_int_equal(fx.results[0].outcome, RPC_OUTCOME_RESULT);
	assert_string_equal(fx.results[0].action, "Reset");
	assert_string_equal(fx.results[0].payload, "{\"status\":\"Accepted\"}");
	/* Then the second; answered with the 1.6 spelling of an error. */
	wait_msgs(&fx, 2);
	assert_true(strstr(fx.peer.msgs[1], "\"ClearCache\",{}]") != NULL);
	{
		char id2[RPC_ID_MAX + 1];

		frame_id(fx.peer.msgs[1], id2, sizeof id2);
		assert_string_not_equal(id2, id);
		memcpy(id, id2, sizeof id);
	}
	snprintf(answer, sizeof answer, "[4,\"%s\",\"OccurenceConstraintViolation\""
	    ",\"x\",{}]", id);
	peer_send(&fx, answer);
	wait_results(&fx, 2);
	assert_int_equal(fx.results[1].outcome, RPC_OUTCOME_ERROR);
	assert_int_equal(fx.results[1].code, OCPP_ERR_OCCURRENCE);
	wait_msgs(&fx, 3);
	assert_true(strstr(fx.peer.msgs[2], "\"GetConfiguration\"") != NULL);
	assert_int_equal(rpc_pending(fx.rpc), 1);
	fx_stop(&fx);
	/* rpc_free completed the last one as closed. */
	assert_int_equal(fx.nresults, 3);
	assert_int_equal(fx.results[2].outcome, RPC_OUTCOME_CLOSED);
	assert_int_equal(fx.disconnects, 0);
}

static void
test_timeout_then_late_answer(void **state)
{
	struct rpc_opts o = { .call_timeout_ms = 150 };
	struct fx fx;
	char id1[RPC_ID_MAX + 1], id2[RPC_ID_MAX + 1], answer[128];

	(void)state;
	fx_start(&fx, OCPP_V201, &o);
	assert_int_equal(rpc_call(fx.rpc, "GetVariables", NULL, record, &fx),
	    RPC_OK);
	assert_int_equal(rpc_call(fx.rpc, "ClearCache", NULL, record, &fx),
	    RPC_OK);
	wait_msgs(&fx, 1);
	frame_id(fx.peer.msgs[0], id1, sizeof id1);
	/* Nobody answers: the first times out, then the second goes out. */
	wait_results(&fx, 1);
	assert_int_equal(fx.results[0].outcome, RPC_OUTCOME_TIMEOUT);
	assert_string_equal(fx.results[0].action, "GetVariables");
	wait_msgs(&fx, 2);
	frame_id(fx.peer.msgs[1], id2, sizeof id2);
	/* The late answer to the first is dropped... */
	snprintf(answer, sizeof answer, "[3,\"%s\",{}]", id1);
	peer_send(&fx, answer);
	settle(&fx, 50);
	assert_int_equal(fx.nresults, 1);
	/* ...and the second still completes normally. */
	snprintf(answer, sizeof answer, "[3,\"%s\",{\"status\":\"Accepted\"}]",
	    id2);
	peer_send(&fx, answer);
	wait_results(&fx, 2);
	assert_int_equal(fx.results[1].outcome, RPC_OUTCOME_RESULT);
	assert_string_equal(fx.results[1].action, "ClearCache");
	fx_stop(&fx);
}

static void
test_queue_full(void **state)
{
	struct rpc_opts o = { .queue_max = 2 };
	struct fx fx;

	(void)state;
	fx_start(&fx, OCPP_V201, &o);
	assert_int_equal(rpc_call(fx.rpc, "A1", NULL, record, &fx), RPC_OK);
	assert_int_equal(rpc_call(fx.rpc, "A2", NULL, record, &fx), RPC_OK);
	assert_int_equal(rpc_call(fx.rpc, "A3", NULL, record, &fx), RPC_OK);
	assert_int_equal(rpc_call(fx.rpc, "A4", cJSON_CreateObject(), record,
	    &fx), RPC_E_QUEUE_FULL);
	assert_int_equal(rpc_call(fx.rpc, "", NULL, record, &fx), RPC_E_ARG);
	assert_int_equal(rpc_call(fx.rpc, "A5", cJSON_CreateArray(), record,
	    &fx), RPC_E_ARG);
	assert_int_equal(rpc_pending(fx.rpc), 3);
	fx_stop(&fx);
	assert_int_equal(fx.nresults, 3);
}

static void
test_unknown_and_malformed_response(void **state)
{
	struct fx fx;
	char id[RPC_ID_MAX + 1], answer[128];

	(void)state;
	fx_start(&fx, OCPP_V201, NULL);
	assert_int_equal(rpc_call(fx.rpc, "GetVariables", NULL, record, &fx),
	    RPC_OK);
	wait_msgs(&fx, 1);
	frame_id(fx.peer.msgs[0], id, sizeof id);
	peer_send(&fx, "[3,\"nobody\",{}]");
	peer_send(&fx, "[4,\"nobody\",\"GenericError\",\"\",{}]");
	settle(&fx, 50);
	assert_int_equal(fx.nresults, 0);
	assert_int_equal(rpc_pending(fx.rpc), 1);
	/* A malformed answer to the pending call ends it as an error. */
	snprintf(answer, sizeof answer, "[3,\"%s\",[]]", id);
	peer_send(&fx, answer);
	wait_results(&fx, 1);
	assert_int_equal(fx.results[0].outcome, RPC_OUTCOME_ERROR);
	assert_int_equal(fx.results[0].code, OCPP_ERR_FORMAT);
	/* None of this was answered. */
	assert_int_equal(fx.peer.nmsgs, 1);
	fx_stop(&fx);
}

static void
test_peer_close_completes_calls(void **state)
{
	struct fx fx;

	(void)state;
	fx_start(&fx, OCPP_V16, NULL);
	assert_int_equal(rpc_call(fx.rpc, "Reset", NULL, record, &fx), RPC_OK);
	assert_int_equal(rpc_call(fx.rpc, "ClearCache", NULL, record, &fx),
	    RPC_OK);
	wait_msgs(&fx, 1);
	ws_conn_close(fx.peer.conn, WS_CLOSE_NORMAL, "done");
	run_until(&fx, is_disconnected, NULL, 3000, "the disconnect");
	assert_int_equal(fx.nresults, 2);
	assert_int_equal(fx.results[0].outcome, RPC_OUTCOME_CLOSED);
	assert_int_equal(fx.results[1].outcome, RPC_OUTCOME_CLOSED);
	assert_int_equal(fx.disconnects, 1);
	assert_int_equal(fx.disconnect_code, WS_CLOSE_NORMAL);
	assert_int_equal(fx.peer.close_code, WS_CLOSE_NORMAL);
	fx_stop(&fx);
}

static void
test_close_inside_handler(void **state)
{
	struct fx fx;

	(void)state;
	fx_start(&fx, OCPP_V201, NULL);
	fx.close_in_handler = true;
	/* The handler closes while holding an unanswered call, and more
	 * input follows in the same read: nothing may touch freed memory. */
	peer_send(&fx, "[2,\"a1\",\"Authorize\",{}]");
	peer_send(&fx, "[2,\"h1\",\"Heartbeat\",{}]");
	run_until(&fx, is_disconnected, NULL, 3000, "the disconnect");
	assert_int_equal(fx.disconnects, 1);
	assert_int_equal(fx.peer.close_code, WS_CLOSE_NORMAL);
	/* The Heartbeat after the close was not answered. */
	assert_int_equal(fx.peer.nmsgs, 0);
	fx_stop(&fx);
}

/* A payload with U+0000 is answered like any payload violation: the
 * charger stays connected, however many it sends. */
static void
test_nul_answered(void **state)
{
	struct rpc_opts o = { .max_bad_messages = 3 };
	struct fx fx;
	char text[64];

	(void)state;
	fx_start(&fx, OCPP_V201, &o);
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof text, "[2,\"n%d\",\"Authorize\",{\"idTag\":"
		    "\"A\\u0000\"}]", i);
		peer_send(&fx, text);
	}
	peer_send(&fx, "[2,\"h1\",\"Heartbeat\",{}]");
	wait_msgs(&fx, 5);
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof text, "[4,\"n%d\",\"PropertyConstraintViolation\","
		    "\"idTag: ", i);
		if (strncmp(fx.peer.msgs[i], text, strlen(text)) != 0)
			fail_msg("answer %d: %s", i, fx.peer.msgs[i]);
	}
	assert_int_equal(strncmp(fx.peer.msgs[4], "[3,\"h1\",", 8), 0);
	assert_null(fx.held);			/* no handler saw it */
	assert_int_equal(fx.disconnects, 0);
	fx_stop(&fx);
}

static void
test_bad_message_limit(void **state)
{
	struct rpc_opts o = { .max_bad_messages = 3 };
	struct fx fx;

	(void)state;
	fx_start(&fx, OCPP_V201, &o);
	for (int i = 0; i < 3; i++)
		peer_send(&fx, "garbage");
	run_until(&fx, is_disconnected, NULL, 3000, "the disconnect");
	assert_int_equal(fx.peer.close_code, WS_CLOSE_POLICY);
	fx_stop(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errcodes),
		cmocka_unit_test(test_frame_table),
		cmocka_unit_test(test_frame_fields),
		cmocka_unit_test(test_frame_nul),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_dispatch_v16),
		cmocka_unit_test(test_dispatch_v201),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_async_reply),
		cmocka_unit_test(test_too_many_inbound),
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_timeout_then_late_answer),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_unknown_and_malformed_response),
		cmocka_unit_test(test_peer_close_completes_calls),
		cmocka_unit_test(test_close_inside_handler),
		cmocka_unit_test(test_nul_answered),
		cmocka_unit_test(test_bad_message_limit),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
