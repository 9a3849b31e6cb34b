/*
 * rpc — OCPP-J message framing over one WebSocket connection.
 *
 *   CALL        [2, "<id>", "<Action>", {payload}]
 *   CALLRESULT  [3, "<id>", {payload}]
 *   CALLERROR   [4, "<id>", "<code>", "<description>", {details}]
 *   OCPP 2.1 only: CALLRESULTERROR [5, ...as CALLERROR], SEND [6, ...as CALL]
 *
 * Outbound: one CALL at a time per connection. rpc_call() queues behind the
 * outstanding one (a bounded queue); each call ends exactly once in its
 * callback with a result, an error, a timeout, or "closed". A response
 * whose id is not that of the outstanding call is logged and dropped (a
 * late answer to a call that timed out is one). Our message ids are a
 * random prefix and a counter, unique per connection, at most 36 chars.
 *
 * Inbound: CALLs are dispatched to the handler registered for (version,
 * action). The handler answers with rpc_reply() or rpc_reply_error(), at
 * once or later (asynchronously). No handler: NotSupported when OCPP
 * defines the action for that version (opts.action_known), NotImplemented
 * otherwise. A frame
 * that is not a JSON array of the right shape is answered as Part 4 and
 * the 1.6 specification say, with "-1" as the id when none can be read:
 *
 *   problem                           1.6                  2.0.1 / 2.1
 *   not JSON, not an array, no type,  FormationViolation   RpcFrameworkError
 *     bad id, wrong element count,
 *     action not a string
 *   payload not an object             FormationViolation   FormatViolation
 *   unknown message type              (ignored)            MessageTypeNotSupported
 *   a payload string holding U+0000   PropertyConstraintViolation (both),
 *                                     naming the field
 *   any other string holding U+0000   FormationViolation   RpcFrameworkError
 *
 * U+0000 ("\u0000" or a raw zero byte) is refused because cJSON's strings
 * end at the first NUL: an idTag "A\u0000B" would reach the handler as "A".
 * The payload case is answered like a schema violation and, like one, does
 * not count toward max_bad_messages; a response holding one completes its
 * call as an error with that description.
 *
 * Error codes: enum ocpp_errcode has one value per meaning;
 * ocpp_errcode_name() spells it for a version (1.6 has FormationViolation
 * and OccurenceConstraintViolation), ocpp_errcode_parse() accepts every
 * spelling. Payload validation is not done here: the codecs answer with
 * rpc_reply_error(call, OCPP_ERR_TYPE, ...) and friends.
 *
 * Lifetime: rpc_new() takes over a connection's callbacks. When the
 * connection ends (either side, any reason), outstanding and queued calls
 * complete with RPC_OUTCOME_CLOSED, then on_disconnect runs, then the rpc,
 * its unanswered inbound call handles and the connection are freed by this
 * module: after on_disconnect returns, none of them may be used.
 */
#ifndef SITEGATE_RPC_H
#define SITEGATE_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "transport/ws.h"
#include "types/ocpp.h"

#define RPC_ID_MAX 36		/* message ids, both ways */

struct rpc;
struct rpc_call;		/* an inbound CALL waiting for its answer */
struct rpc_handlers;		/* (version, action) -> handler */

enum rpc_err {
	RPC_OK = 0,
	RPC_E_CLOSED = -1,	/* the connection is closing or gone */
	RPC_E_QUEUE_FULL = -2,	/* too many calls waiting already */
	RPC_E_ARG = -3,		/* bad argument (empty action, unknown version) */
	RPC_E_FRAME = -4,	/* rpc_frame_parse: not a valid frame */
};

enum rpc_msg_type {
	RPC_MSG_CALL = 2,
	RPC_MSG_CALLRESULT = 3,
	RPC_MSG_CALLERROR = 4,
	RPC_MSG_CALLRESULTERROR = 5,	/* 2.1 */
	RPC_MSG_SEND = 6,		/* 2.1 */
};

/* ---------------------------------------------------------------- frames */

/* One parsed message. root owns everything the pointers point into. */
struct rpc_frame {
	cJSON *root;
	int type;			/* enum rpc_msg_type; 0 when unreadable */
	char id[RPC_ID_MAX + 1];	/* "-1" when unreadable */
	const char *action;		/* CALL, SEND */
	const cJSON *payload;		/* CALL, SEND, CALLRESULT */
	enum ocpp_errcode code;		/* CALLERROR, CALLRESULTERROR */
	const char *code_name;		/* ...as received */
	const char *description;	/* ...as received ("" if absent) */
	const cJSON *details;		/* ...as received (NULL if absent) */
	/* When rpc_frame_parse() fails: */
	bool reply;			/* answer with a CALLERROR... */
	enum ocpp_errcode error;		/* ...with this code */
	const char *why;		/* description: static, or why_text */
	bool payload_refused;		/* a sound frame whose payload was
					   refused: not a bad message */
	char why_text[160];
};

/* Parse one text message as version v. Returns RPC_OK, or RPC_E_FRAME with
 * f->reply/error/why saying what to do (and f->type/f->id as far as they
 * could be read). Either way, release f with rpc_frame_clear(). */
int rpc_frame_parse(const char *text, size_t len, enum ocpp_version v,
    struct rpc_frame *f);

/* Free what rpc_frame_parse() allocated. */
void rpc_frame_clear(struct rpc_frame *f);

/* Message ids: a random 8-hex-digit prefix and a counter. */
struct rpc_idgen {
	char prefix[9];
	uint64_t n;
};

/* Start a generator with a fresh random prefix. */
void rpc_idgen_init(struct rpc_idgen *g);

/* Write the next id (at most RPC_ID_MAX chars) into out. */
void rpc_idgen_next(struct rpc_idgen *g, char out[RPC_ID_MAX + 1]);

/* ---------------------------------------------------------------- handlers */

/* A CALL (or, with call NULL, a 2.1 SEND) from the peer. payload is valid
 * during the call only. Answer through call, now or later, exactly once. */
typedef void (*rpc_handler_fn)(struct rpc *rpc, struct rpc_call *call,
    const cJSON *payload, void *arg);

/* An empty table. Returns NULL only on allocation failure. */
struct rpc_handlers *rpc_handlers_new(void);

/* Register fn for action in version v (replacing any earlier one). The
 * action string is copied. Returns RPC_OK or RPC_E_ARG. */
int rpc_handlers_add(struct rpc_handlers *h, enum ocpp_version v,
    const char *action, rpc_handler_fn fn, void *arg);

/* Free a table. Every rpc using it must be gone. NULL is a no-op. */
void rpc_handlers_free(struct rpc_handlers *h);

/* ---------------------------------------------------------------- rpc */

struct rpc_opts {
	enum ocpp_version version;
	const struct rpc_handlers *handlers;	/* must outlive the rpc */
	int call_timeout_ms;		/* default 30000 */
	size_t queue_max;		/* calls waiting behind one; default 32 */
	size_t max_inbound;		/* unanswered peer CALLs; default 8 */
	int max_bad_messages;		/* in a row, then 1008; default 20 */
	/* The connection is gone; see the lifetime note above. */
	void (*on_disconnect)(struct rpc *rpc, const struct ws_close_info *info,
	    void *arg);
	void *arg;			/* rpc_arg() */
	const char *log_module;		/* default "rpc" */
	/* Whether version v defines action (either direction): a CALL with
	 * no handler is then NotSupported, else NotImplemented. NULL: every
	 * action without a handler is NotImplemented. The transport knows no
	 * action names of its own; the owner passes ocpp/schema's. */
	bool (*action_known)(enum ocpp_version v, const char *action);
};

/* Run OCPP-J over the open connection conn (its handler is replaced).
 * Never returns NULL (aborts on allocation failure). */
struct rpc *rpc_new(struct event_base *base, struct ws_conn *conn,
    const struct rpc_opts *opts);

/* How an outbound call ended. */
enum rpc_outcome {
	RPC_OUTCOME_RESULT = 0,		/* payload */
	RPC_OUTCOME_ERROR,		/* code, code_name, description, details */
	RPC_OUTCOME_TIMEOUT,		/* no answer within call_timeout_ms */
	RPC_OUTCOME_CLOSED,		/* the connection ended first */
};

struct rpc_response {
	enum rpc_outcome outcome;
	const char *action;
	const char *id;
	const cJSON *payload;
	enum ocpp_errcode code;
	const char *code_name;
	const char *description;
	const cJSON *details;
};

/* Completion of rpc_call(); res and what it points to are valid during
 * the call only. */
typedef void (*rpc_result_fn)(struct rpc *rpc, const struct rpc_response *res,
    void *arg);

/* Send a CALL (now, or when the ones before it are done). Takes ownership
 * of payload (NULL means {}), whatever the outcome. Returns RPC_OK, and then
 * cb (may be NULL) runs exactly once, never from inside this function; or
 * RPC_E_CLOSED / RPC_E_QUEUE_FULL / RPC_E_ARG, and then cb never runs. */
int rpc_call(struct rpc *rpc, const char *action, cJSON *payload,
    rpc_result_fn cb, void *arg);

/* 2.1 only: send a SEND message (no answer). Takes ownership of payload.
 * Returns RPC_OK, RPC_E_CLOSED, or RPC_E_ARG (not 2.1). */
int rpc_send_message(struct rpc *rpc, const char *action, cJSON *payload);

/* Answer call with a CALLRESULT. Takes ownership of result (NULL means {})
 * and frees call. Returns RPC_OK, or RPC_E_CLOSED when the answer could not
 * be sent (call is freed all the same). */
int rpc_reply(struct rpc_call *call, cJSON *result);

/* Answer call with a CALLERROR: code (spelled for the connection's
 * version), description (may be NULL) and details (taken; NULL means {}).
 * Frees call. Returns as rpc_reply(). */
int rpc_reply_error(struct rpc_call *call, enum ocpp_errcode code,
    const char *description, cJSON *details);

/* The action, the peer's message id, and the rpc of an inbound call. */
const char *rpc_call_action(const struct rpc_call *call);
const char *rpc_call_id(const struct rpc_call *call);
struct rpc *rpc_call_rpc(const struct rpc_call *call);

/* Close the connection (code and reason as ws_conn_close()); on_disconnect
 * follows from the loop. New calls are refused from now on. */
void rpc_close(struct rpc *rpc, uint16_t code, const char *reason);

/* Tear down now, outside any callback of this rpc: pending calls complete
 * with RPC_OUTCOME_CLOSED, on_disconnect is NOT called, the connection is
 * freed (ws_conn_free). NULL is a no-op. */
void rpc_free(struct rpc *rpc);

/* The OCPP version the connection speaks. */
enum ocpp_version rpc_version(const struct rpc *rpc);

/* The WebSocket connection underneath (identity, peer, TLS); owned by the
 * rpc: do not close or free it directly. */
struct ws_conn *rpc_conn(const struct rpc *rpc);

/* opts.arg as given to rpc_new() (the owner's per-connection context). */
void *rpc_arg(const struct rpc *rpc);

/* Calls sent or queued and not yet completed. */
size_t rpc_pending(const struct rpc *rpc);

#endif
