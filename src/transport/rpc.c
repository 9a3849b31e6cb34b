/*
 * rpc — see rpc.h for the contract. Notes on the implementation:
 *
 * Outbound calls are serialised when rpc_call() is made (so a bad payload
 * is the caller's problem at once, not later) and kept in a singly linked
 * FIFO; `out` is the one on the wire. Its timeout is one evtimer per rpc.
 * Every completion goes through complete(), which unlinks the call before
 * running its callback, so a callback may call rpc_call() again.
 *
 * Inbound calls get a small handle (struct rpc_call) on a list; the handle
 * is freed when answered or when the connection goes. Answers go straight
 * to ws_conn_send() (which buffers while the connection is inside its read
 * callback).
 *
 * The wire format is built with cJSON, so ids and strings that came from
 * the peer are escaped correctly when echoed.
 */
#include "transport/rpc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "util/json.h"
#include "util/log.h"

#define ACTION_MAX 64		/* longer action names are unknown anyway */
#define LOG_MSG_MAX 600		/* how much of a message a debug line shows */

struct out_call {
	struct out_call *next;
	char id[RPC_ID_MAX + 1];
	char *action;
	char *frame;
	size_t len;
	rpc_result_fn cb;
	void *arg;
};

struct rpc_call {
	struct rpc *rpc;
	struct rpc_call *prev, *next;
	char id[RPC_ID_MAX + 1];
	char action[ACTION_MAX + 1];
};

struct rpc {
	struct event_base *base;
	struct ws_conn *conn;
	struct rpc_opts o;
	char *logmod;
	struct rpc_idgen ids;
	struct out_call *out;		/* on the wire */
	struct out_call *qhead, *qtail;	/* waiting */
	size_t qlen;
	struct event *timeout;
	struct rpc_call *inbound;
	size_t ninbound;
	int bad_in_row;
	bool closing;
};

struct handler_entry {
	enum ocpp_version v;
	char *action;
	rpc_handler_fn fn;
	void *arg;
};

struct rpc_handlers {
	struct handler_entry *e;
	size_t n;
};

/* ---------------------------------------------------------------- names */


/* ---------------------------------------------------------------- frames */

static int
bad(struct rpc_frame *f, bool reply, enum ocpp_errcode code, const char *why)
{
	f->reply = reply;
	f->error = code;
	f->why = why;
	return RPC_E_FRAME;
}

static bool
is_small_int(const cJSON *it, int *out)
{
	double d;

	if (!cJSON_IsNumber(it))
		return false;
	d = it->valuedouble;
	if (!(d >= 0 && d <= 1000) || floor(d) != d)
		return false;
	*out = (int)d;
	return true;
}

/* A frame cJSON parsed whose strings may hold U+0000 (see rpc.h). Returns
 * RPC_OK when none does, else RPC_E_FRAME with f describing the refusal:
 * the field named when it is in the payload (element payload_at). */
static int
check_nul(const char *text, size_t len, int payload_at, struct rpc_frame *f)
{
	char path[128], prefix[8];
	size_t n;

	if (json_find_nul(text, len, path, sizeof path) == 0)
		return RPC_OK;
	n = (size_t)snprintf(prefix, sizeof prefix, "[%d]", payload_at);
	if (payload_at > 0 && strncmp(path, prefix, n) == 0) {
		const char *field = path[n] == '.' ? path + n + 1 : path + n;

		snprintf(f->why_text, sizeof f->why_text, "%s: a string holding "
		    "U+0000 (\\u0000) is not accepted", field);
		f->payload_refused = true;
		return bad(f, f->type == RPC_MSG_CALL,
		    OCPP_ERR_PROPERTY, f->why_text);
	}
	if (strncmp(path, "[1]", 3) == 0)
		strcpy(f->id, "-1");	/* the id itself: cut short */
	return bad(f, f->type == RPC_MSG_CALL, OCPP_ERR_FRAMEWORK,
	    "a string of the message holds U+0000 (\\u0000)");
}

int
rpc_frame_parse(const char *text, size_t len, enum ocpp_version v,
    struct rpc_frame *f)
{
	const char *end = NULL;
	const cJSON *type_it, *id_it, *it;
	int type = 0, n;
	bool known, id_ok;

	memset(f, 0, sizeof *f);
	strcpy(f->id, "-1");
	f->root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (f->root != NULL) {
		while (end < text + len && (*end == ' ' || *end == '\t' ||
		    *end == '\r' || *end == '\n'))
			end++;
		if (end != text + len) {
			cJSON_Delete(f->root);
			f->root = NULL;
		}
	}
	if (f->root == NULL)
		return bad(f, true, OCPP_ERR_FRAMEWORK,
		    "message is not valid JSON");
	if (!cJSON_IsArray(f->root))
		return bad(f, true, OCPP_ERR_FRAMEWORK,
		    "message is not a JSON array");
	n = cJSON_GetArraySize(f->root);
	type_it = f->root->child;
	if (type_it == NULL || !is_small_int(type_it, &type))
		return bad(f, true, OCPP_ERR_FRAMEWORK,
		    "message type is not an integer");
	id_it = type_it->next;
	id_ok = cJSON_IsString(id_it) && id_it->valuestring[0] != '\0' &&
	    strlen(id_it->valuestring) <= RPC_ID_MAX;
	if (id_ok)
		strcpy(f->id, id_it->valuestring);
	known = (type >= RPC_MSG_CALL && type <= RPC_MSG_CALLERROR) ||
	    (v == OCPP_V21 && (type == RPC_MSG_CALLRESULTERROR ||
	    type == RPC_MSG_SEND));
	f->type = type;
	if (!known) {
		if (v == OCPP_V16)
			return bad(f, false, OCPP_ERR_GENERIC,
			    "unknown message type");
		return bad(f, true, OCPP_ERR_MESSAGE_TYPE,
		    "unknown message type");
	}
	if (!id_ok) {
		strcpy(f->id, "-1");
		return bad(f, type == RPC_MSG_CALL, OCPP_ERR_FRAMEWORK,
		    "message id is not a string of 1 to 36 characters");
	}
	switch (type) {
	case RPC_MSG_CALL:
	case RPC_MSG_SEND:
		if (n != 4)
			return bad(f, type == RPC_MSG_CALL, OCPP_ERR_FRAMEWORK,
			    "a CALL has 4 elements");
		it = id_it->next;
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
			return bad(f, type == RPC_MSG_CALL, OCPP_ERR_FRAMEWORK,
			    "action is not a string");
		f->action = it->valuestring;
		it = it->next;
		if (!cJSON_IsObject(it))
			return bad(f, type == RPC_MSG_CALL, OCPP_ERR_FORMAT,
			    "payload is not a JSON object");
		f->payload = it;
		break;
	case RPC_MSG_CALLRESULT:
		if (n != 3 || !cJSON_IsObject(id_it->next))
			return bad(f, false, OCPP_ERR_FORMAT,
			    "a CALLRESULT is [3, id, {payload}]");
		f->payload = id_it->next;
		return check_nul(text, len, 2, f);
	default:	/* CALLERROR, CALLRESULTERROR */
		it = id_it->next;
		if ((n != 4 && n != 5) || !cJSON_IsString(it) ||
		    !cJSON_IsString(it->next) ||
		    (n == 5 && !cJSON_IsObject(it->next->next)))
			return bad(f, false, OCPP_ERR_FORMAT, "a CALLERROR is "
			    "[4, id, code, description, {details}]");
		f->code_name = it->valuestring;
		f->code = ocpp_errcode_parse(it->valuestring);
		f->description = it->next->valuestring;
		f->details = n == 5 ? it->next->next : NULL;
		return check_nul(text, len, 0, f);
	}
	return check_nul(text, len, 3, f);
}

void
rpc_frame_clear(struct rpc_frame *f)
{
	cJSON_Delete(f->root);
	f->root = NULL;
}

void
rpc_idgen_init(struct rpc_idgen *g)
{
	unsigned char r[4] = { 0 };

	if (RAND_bytes(r, sizeof r) != 1) {
		/* Not secret, only distinct: fall back to the address. */
		uintptr_t p = (uintptr_t)g;
		memcpy(r, &p, sizeof r);
	}
	snprintf(g->prefix, sizeof g->prefix, "%02x%02x%02x%02x", r[0], r[1],
	    r[2], r[3]);
	g->n = 0;
}

void
rpc_idgen_next(struct rpc_idgen *g, char out[RPC_ID_MAX + 1])
{
	/* 8 + 1 + at most 20 digits: always within 36. */
	snprintf(out, RPC_ID_MAX + 1, "%s-%llu", g->prefix,
	    (unsigned long long)++g->n);
}

/* ---------------------------------------------------------------- handlers */

struct rpc_handlers *
rpc_handlers_new(void)
{
	return calloc(1, sizeof(struct rpc_handlers));
}

int
rpc_handlers_add(struct rpc_handlers *h, enum ocpp_version v,
    const char *action, rpc_handler_fn fn, void *arg)
{
	struct handler_entry *e;

	if ((int)v < 0 || v >= OCPP_NVERSIONS || action == NULL ||
	    action[0] == '\0' || strlen(action) > ACTION_MAX || fn == NULL)
		return RPC_E_ARG;
	for (size_t i = 0; i < h->n; i++)
		if (h->e[i].v == v && strcmp(h->e[i].action, action) == 0) {
			h->e[i].fn = fn;
			h->e[i].arg = arg;
			return RPC_OK;
		}
	e = realloc(h->e, (h->n + 1) * sizeof *h->e);
	if (e == NULL)
		abort();
	h->e = e;
	e = &h->e[h->n++];
	e->v = v;
	if ((e->action = strdup(action)) == NULL)
		abort();
	e->fn = fn;
	e->arg = arg;
	return RPC_OK;
}

static const struct handler_entry *
handler_find(const struct rpc_handlers *h, enum ocpp_version v,
    const char *action)
{
	if (h == NULL)
		return NULL;
	for (size_t i = 0; i < h->n; i++)
		if (h->e[i].v == v && strcmp(h->e[i].action, action) == 0)
			return &h->e[i];
	return NULL;
}

void
rpc_handlers_free(struct rpc_handlers *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->e[i].action);
	free(h->e);
	free(h);
}

/* ---------------------------------------------------------------- sending */

static void
check_alloc(const void *p)
{
	if (p == NULL)
		abort();
}

/* Print a frame array and free it. */
static char *
print_frame(cJSON *a, size_t *len)
{
	char *s = json_print(a, len);

	check_alloc(s);
	cJSON_Delete(a);
	return s;
}

static cJSON *
frame_head(int type, const char *id)
{
	cJSON *a = cJSON_CreateArray();

	check_alloc(a);
	cJSON_AddItemToArray(a, cJSON_CreateNumber(type));
	cJSON_AddItemToArray(a, cJSON_CreateString(id));
	return a;
}

static void
log_msg(struct rpc *rpc, const char *dir, const char *text, size_t len)
{
	char copy[LOG_MSG_MAX + 1], esc[LOG_MSG_MAX * 2], idesc[LOG_ESC_LEN];
	size_t n = len < LOG_MSG_MAX ? len : LOG_MSG_MAX;

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	memcpy(copy, text, n);
	copy[n] = '\0';
	log_debug(rpc->logmod, "%s charger=%s msg=%s%s", dir,
	    log_esc(idesc, sizeof idesc, ws_conn_id(rpc->conn)),
	    log_esc(esc, sizeof esc, copy), len > n ? "..." : "");
}

static int
send_text(struct rpc *rpc, const char *text, size_t len)
{
	log_msg(rpc, "send", text, len);
	if (ws_conn_send(rpc->conn, text, len) != WS_OK) {
		rpc->closing = true;
		return RPC_E_CLOSED;
	}
	return RPC_OK;
}

static int
send_error(struct rpc *rpc, const char *id, enum ocpp_errcode code,
    const char *description, cJSON *details)
{
	cJSON *a = frame_head(RPC_MSG_CALLERROR, id);
	size_t len;
	char *s;
	int r;

	cJSON_AddItemToArray(a, cJSON_CreateString(ocpp_errcode_name(code,
	    rpc->o.version)));
	cJSON_AddItemToArray(a, cJSON_CreateString(description ? description :
	    ""));
	cJSON_AddItemToArray(a, details ? details : cJSON_CreateObject());
	s = print_frame(a, &len);
	r = send_text(rpc, s, len);
	free(s);
	return r;
}

static void
out_free(struct out_call *oc)
{
	free(oc->action);
	free(oc->frame);
	free(oc);
}

/* Finish one call: it is already unlinked from out/queue. */
static void
complete(struct rpc *rpc, struct out_call *oc, struct rpc_response *res)
{
	res->action = oc->action;
	res->id = oc->id;
	if (oc->cb != NULL)
		oc->cb(rpc, res, oc->arg);
	out_free(oc);
}

static void
complete_closed(struct rpc *rpc, struct out_call *oc)
{
	struct rpc_response res = { .outcome = RPC_OUTCOME_CLOSED };

	complete(rpc, oc, &res);
}

static void
start_timeout(struct rpc *rpc)
{
	struct timeval tv = { rpc->o.call_timeout_ms / 1000,
		rpc->o.call_timeout_ms % 1000 * 1000 };

	evtimer_add(rpc->timeout, &tv);
}

/* Put queued calls on the wire while none is outstanding. */
static void
pump(struct rpc *rpc)
{
	while (rpc->out == NULL && rpc->qhead != NULL) {
		struct out_call *oc = rpc->qhead;

		rpc->qhead = oc->next;
		if (rpc->qhead == NULL)
			rpc->qtail = NULL;
		rpc->qlen--;
		oc->next = NULL;
		if (rpc->closing || send_text(rpc, oc->frame, oc->len) != RPC_OK) {
			complete_closed(rpc, oc);
			continue;
		}
		free(oc->frame);
		oc->frame = NULL;
		rpc->out = oc;
		start_timeout(rpc);
	}
}

static void
on_call_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rpc *rpc = arg;
	struct out_call *oc = rpc->out;
	struct rpc_response res = { .outcome = RPC_OUTCOME_TIMEOUT };
	char esc[LOG_ESC_LEN];

	(void)fd;
	(void)what;
	if (oc == NULL)
		return;
	rpc->out = NULL;
	log_warn(rpc->logmod, "call timeout charger=%s action=%s id=%s "
	    "timeout_ms=%d", log_esc(esc, sizeof esc, ws_conn_id(rpc->conn)),
	    oc->action, oc->id, rpc->o.call_timeout_ms);
	complete(rpc, oc, &res);
	pump(rpc);
}

int
rpc_call(struct rpc *rpc, const char *action, cJSON *payload,
    rpc_result_fn cb, void *arg)
{
	struct out_call *oc;
	cJSON *a;

	if (action == NULL || action[0] == '\0' ||
	    (payload != NULL && !cJSON_IsObject(payload))) {
		cJSON_Delete(payload);
		return RPC_E_ARG;
	}
	if (rpc->closing) {
		cJSON_Delete(payload);
		return RPC_E_CLOSED;
	}
	if (rpc->out != NULL && rpc->qlen >= rpc->o.queue_max) {
		cJSON_Delete(payload);
		return RPC_E_QUEUE_FULL;
	}
	oc = calloc(1, sizeof *oc);
	check_alloc(oc);
	rpc_idgen_next(&rpc->ids, oc->id);
	oc->action = strdup(action);
	check_alloc(oc->action);
	oc->cb = cb;
	oc->arg = arg;
	a = frame_head(RPC_MSG_CALL, oc->id);
	cJSON_AddItemToArray(a, cJSON_CreateString(action));
	cJSON_AddItemToArray(a, payload ? payload : cJSON_CreateObject());
	oc->frame = print_frame(a, &oc->len);
	if (rpc->out == NULL) {
		/* Straight to the wire; a failure here is reported by the
		 * return value, so cb never runs from inside this call. */
		if (send_text(rpc, oc->frame, oc->len) != RPC_OK) {
			out_free(oc);
			return RPC_E_CLOSED;
		}
		free(oc->frame);
		oc->frame = NULL;
		rpc->out = oc;
		start_timeout(rpc);
		return RPC_OK;
	}
	if (rpc->qtail)
		rpc->qtail->next = oc;
	else
		rpc->qhead = oc;
	rpc->qtail = oc;
	rpc->qlen++;
	return RPC_OK;
}

int
rpc_send_message(struct rpc *rpc, const char *action, cJSON *payload)
{
	char id[RPC_ID_MAX + 1];
	cJSON *a;
	size_t len;
	char *s;
	int r;

	if (rpc->o.version != OCPP_V21 || action == NULL || action[0] == '\0') {
		cJSON_Delete(payload);
		return RPC_E_ARG;
	}
	if (rpc->closing) {
		cJSON_Delete(payload);
		return RPC_E_CLOSED;
	}
	rpc_idgen_next(&rpc->ids, id);
	a = frame_head(RPC_MSG_SEND, id);
	cJSON_AddItemToArray(a, cJSON_CreateString(action));
	cJSON_AddItemToArray(a, payload ? payload : cJSON_CreateObject());
	s = print_frame(a, &len);
	r = send_text(rpc, s, len);
	free(s);
	return r;
}

static void
call_unlink(struct rpc_call *call)
{
	struct rpc *rpc = call->rpc;

	if (call->prev)
		call->prev->next = call->next;
	else
		rpc->inbound = call->next;
	if (call->next)
		call->next->prev = call->prev;
	rpc->ninbound--;
}

int
rpc_reply(struct rpc_call *call, cJSON *result)
{
	struct rpc *rpc = call->rpc;
	cJSON *a;
	size_t len;
	char *s;
	int r;

	call_unlink(call);
	if (result != NULL && !cJSON_IsObject(result)) {
		/* A codec bug, not the peer's fault: say so to the peer. */
		cJSON_Delete(result);
		r = send_error(rpc, call->id, OCPP_ERR_INTERNAL,
		    "the answer is not an object", NULL);
		free(call);
		return r;
	}
	a = frame_head(RPC_MSG_CALLRESULT, call->id);
	cJSON_AddItemToArray(a, result ? result : cJSON_CreateObject());
	s = print_frame(a, &len);
	r = rpc->closing ? RPC_E_CLOSED : send_text(rpc, s, len);
	free(s);
	free(call);
	return r;
}

int
rpc_reply_error(struct rpc_call *call, enum ocpp_errcode code,
    const char *description, cJSON *details)
{
	struct rpc *rpc = call->rpc;
	int r;

	call_unlink(call);
	if (rpc->closing) {
		cJSON_Delete(details);
		r = RPC_E_CLOSED;
	} else {
		r = send_error(rpc, call->id, code, description, details);
	}
	free(call);
	return r;
}

const char *
rpc_call_action(const struct rpc_call *call)
{
	return call->action;
}

const char *
rpc_call_id(const struct rpc_call *call)
{
	return call->id;
}

struct rpc *
rpc_call_rpc(const struct rpc_call *call)
{
	return call->rpc;
}

/* ---------------------------------------------------------------- receiving */

static void
handle_call(struct rpc *rpc, const struct rpc_frame *f)
{
	const struct handler_entry *h;
	struct rpc_call *call;
	char esc[LOG_ESC_LEN], aesc[LOG_ESC_LEN];

	if (f->type == RPC_MSG_CALL) {
		for (call = rpc->inbound; call != NULL; call = call->next)
			if (strcmp(call->id, f->id) == 0) {
				send_error(rpc, f->id, OCPP_ERR_GENERIC, "a call "
				    "with this id is still being processed", NULL);
				return;
			}
		if (rpc->ninbound >= rpc->o.max_inbound) {
			send_error(rpc, f->id, OCPP_ERR_GENERIC, "too many "
			    "calls at once; wait for the answers", NULL);
			return;
		}
	}
	h = strlen(f->action) <= ACTION_MAX ?
	    handler_find(rpc->o.handlers, rpc->o.version, f->action) : NULL;
	if (h == NULL) {
		bool known = rpc->o.action_known != NULL &&
		    rpc->o.action_known(rpc->o.version, f->action);

		log_info(rpc->logmod, "no handler charger=%s action=%s "
		    "answer=%s", log_esc(esc, sizeof esc, ws_conn_id(rpc->conn)),
		    log_esc(aesc, sizeof aesc, f->action),
		    known ? "NotSupported" : "NotImplemented");
		if (f->type == RPC_MSG_CALL)
			send_error(rpc, f->id, known ? OCPP_ERR_NOT_SUPPORTED :
			    OCPP_ERR_NOT_IMPLEMENTED, known ? "action not supported" :
			    "unknown action", NULL);
		return;
	}
	if (f->type == RPC_MSG_SEND) {
		h->fn(rpc, NULL, f->payload, h->arg);
		return;
	}
	call = calloc(1, sizeof *call);
	check_alloc(call);
	call->rpc = rpc;
	strcpy(call->id, f->id);
	strcpy(call->action, f->action);
	call->next = rpc->inbound;
	if (rpc->inbound)
		rpc->inbound->prev = call;
	rpc->inbound = call;
	rpc->ninbound++;
	h->fn(rpc, call, f->payload, h->arg);
}

static void
handle_response(struct rpc *rpc, const struct rpc_frame *f, bool malformed)
{
	struct out_call *oc = rpc->out;
	struct rpc_response res = { 0 };
	char esc[LOG_ESC_LEN], idesc[LOG_ESC_LEN];

	if (oc == NULL || strcmp(oc->id, f->id) != 0) {
		log_warn(rpc->logmod, "response to no pending call dropped "
		    "charger=%s id=%s", log_esc(esc, sizeof esc,
		    ws_conn_id(rpc->conn)), log_esc(idesc, sizeof idesc, f->id));
		return;
	}
	rpc->out = NULL;
	evtimer_del(rpc->timeout);
	if (malformed) {
		/* FormatViolation for a response of the wrong shape;
		 * PropertyConstraintViolation for a payload string holding
		 * U+0000. */
		res.outcome = RPC_OUTCOME_ERROR;
		res.code = f->error;
		res.code_name = ocpp_errcode_name(f->error, rpc->o.version);
		res.description = f->why;
	} else if (f->type == RPC_MSG_CALLRESULT) {
		res.outcome = RPC_OUTCOME_RESULT;
		res.payload = f->payload;
	} else {
		res.outcome = RPC_OUTCOME_ERROR;
		res.code = f->code;
		res.code_name = f->code_name;
		res.description = f->description;
		res.details = f->details;
	}
	complete(rpc, oc, &res);
	pump(rpc);
}

static void
on_message(struct ws_conn *conn, const char *text, size_t len, void *arg)
{
	struct rpc *rpc = arg;
	struct rpc_frame f;
	char esc[LOG_ESC_LEN], idesc[LOG_ESC_LEN];

	(void)conn;
	log_msg(rpc, "recv", text, len);
	if (rpc->closing)
		return;
	if (rpc_frame_parse(text, len, rpc->o.version, &f) != RPC_OK) {
		log_warn(rpc->logmod, "bad message charger=%s type=%d id=%s "
		    "error=\"%s\" answer=%s", log_esc(esc, sizeof esc,
		    ws_conn_id(rpc->conn)), f.type, log_esc(idesc, sizeof idesc,
		    f.id), f.why, f.reply ? ocpp_errcode_name(f.error,
		    rpc->o.version) : "none");
		if (f.reply)
			send_error(rpc, f.id, f.error, f.why, NULL);
		else if ((f.type == RPC_MSG_CALLRESULT ||
		    f.type == RPC_MSG_CALLERROR) && strcmp(f.id, "-1") != 0)
			handle_response(rpc, &f, true);
		rpc_frame_clear(&f);
		/* A refused payload is the peer's data, not a broken peer. */
		if (f.payload_refused)
			return;
		if (++rpc->bad_in_row >= rpc->o.max_bad_messages) {
			log_warn(rpc->logmod, "too many bad messages charger=%s",
			    log_esc(esc, sizeof esc, ws_conn_id(rpc->conn)));
			rpc_close(rpc, WS_CLOSE_POLICY, "too many bad messages");
		}
		return;
	}
	rpc->bad_in_row = 0;
	switch (f.type) {
	case RPC_MSG_CALL:
	case RPC_MSG_SEND:
		handle_call(rpc, &f);
		break;
	case RPC_MSG_CALLRESULT:
	case RPC_MSG_CALLERROR:
		handle_response(rpc, &f, false);
		break;
	default:	/* CALLRESULTERROR: the peer could not use our answer */
		log_warn(rpc->logmod, "peer refused our answer charger=%s id=%s "
		    "code=%s", log_esc(esc, sizeof esc, ws_conn_id(rpc->conn)),
		    log_esc(idesc, sizeof idesc, f.id), ocpp_errcode_name(f.code,
		    rpc->o.version));
		break;
	}
	rpc_frame_clear(&f);
}

/* Complete every call with "closed" and forget the inbound ones. */
static void
drop_all(struct rpc *rpc)
{
	struct out_call *oc;

	rpc->closing = true;
	evtimer_del(rpc->timeout);
	if ((oc = rpc->out) != NULL) {
		rpc->out = NULL;
		complete_closed(rpc, oc);
	}
	while ((oc = rpc->qhead) != NULL) {
		rpc->qhead = oc->next;
		if (rpc->qhead == NULL)
			rpc->qtail = NULL;
		rpc->qlen--;
		complete_closed(rpc, oc);
	}
}

static void
rpc_destroy(struct rpc *rpc)
{
	struct rpc_call *call;

	while ((call = rpc->inbound) != NULL) {
		call_unlink(call);
		free(call);
	}
	event_free(rpc->timeout);
	free(rpc->logmod);
	free(rpc);
}

static void
on_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct rpc *rpc = arg;

	(void)conn;
	drop_all(rpc);
	if (rpc->o.on_disconnect != NULL)
		rpc->o.on_disconnect(rpc, info, rpc->o.arg);
	rpc_destroy(rpc);
}

struct rpc *
rpc_new(struct event_base *base, struct ws_conn *conn,
    const struct rpc_opts *opts)
{
	static const struct ws_handler handler = { NULL, on_message, on_close };
	struct rpc *rpc = calloc(1, sizeof *rpc);

	check_alloc(rpc);
	rpc->base = base;
	rpc->conn = conn;
	rpc->o = *opts;
	if (rpc->o.call_timeout_ms <= 0)
		rpc->o.call_timeout_ms = 30000;
	if (rpc->o.queue_max == 0)
		rpc->o.queue_max = 32;
	if (rpc->o.max_inbound == 0)
		rpc->o.max_inbound = 8;
	if (rpc->o.max_bad_messages <= 0)
		rpc->o.max_bad_messages = 20;
	rpc->logmod = strdup(opts->log_module ? opts->log_module : "rpc");
	check_alloc(rpc->logmod);
	rpc->o.log_module = rpc->logmod;
	rpc_idgen_init(&rpc->ids);
	rpc->timeout = evtimer_new(base, on_call_timeout, rpc);
	check_alloc(rpc->timeout);
	ws_conn_set_handler(conn, &handler, rpc);
	return rpc;
}

void
rpc_close(struct rpc *rpc, uint16_t code, const char *reason)
{
	rpc->closing = true;
	ws_conn_close(rpc->conn, code, reason);
}

void
rpc_free(struct rpc *rpc)
{
	if (rpc == NULL)
		return;
	drop_all(rpc);
	ws_conn_free(rpc->conn);
	rpc_destroy(rpc);
}

enum ocpp_version
rpc_version(const struct rpc *rpc)
{
	return rpc->o.version;
}

struct ws_conn *
rpc_conn(const struct rpc *rpc)
{
	return rpc->conn;
}

void *
rpc_arg(const struct rpc *rpc)
{
	return rpc->o.arg;
}

size_t
rpc_pending(const struct rpc *rpc)
{
	return (rpc->out ? 1 : 0) + rpc->qlen;
}
