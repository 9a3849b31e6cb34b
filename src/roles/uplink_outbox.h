/*
 * uplink_outbox — the transaction messages toward the upstream CSMS that
 * must not be lost: a session's start and end, and its periodic meter
 * values.
 *
 * Each message is written to the state file before it is sent and deleted
 * only when the upstream answered it; after a reconnect or a restart the
 * rest is replayed in order. One message is in flight at a time: the head
 * of the table (lowest seq). Its answer deletes it (one durable commit,
 * with the 1.6 transaction id of a StartTransaction in the same commit),
 * then the next one goes. When that commit fails (a full disk) the answer
 * is kept and recording it is tried again after the retry interval: the
 * message is not sent again while the gateway runs. A CALLERROR or a
 * timeout costs an attempt; the next try waits the retry interval times
 * the attempts made; when they are used up the message is dropped with a
 * warning. The table is bounded (queue_max): when full, the oldest meter
 * value is dropped; starts and stops never are.
 *
 * A message is added inside a site unit when one is open (the session's
 * start or end and its entry are one transaction), so the pump never runs
 * inside add: it is scheduled, and a message leaves only once its entry is
 * committed.
 *
 * The payloads are built and patched by the upstream's codec (ocpp/up);
 * the link sends them through the callbacks of struct uplink_outbox_link,
 * so this module knows no socket. The attempts and the retry interval are
 * settings the upstream may change (uplink_settings).
 */
#ifndef SITEGATE_ROLES_UPLINK_OUTBOX_H
#define SITEGATE_ROLES_UPLINK_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "ocpp/up.h"
#include "transport/rpc.h"
#include "types/neutral.h"

struct uplink_outbox;
struct uplink_settings;
struct store;

/* What the outbox needs of the link. */
struct uplink_outbox_link {
	/* True when messages may go: connected, the boot accepted. */
	bool (*up)(void *arg);
	/* Send a CALL as rpc_call() does (RPC_OK: done runs once, later). */
	int (*send)(const char *action, cJSON *payload, rpc_result_fn done,
	    void *done_arg, void *arg);
	/* The depth changed, or a message was answered. May be NULL. */
	void (*changed)(void *arg);
	void *arg;
};

/* An outbox on store's table, timers on base, payloads from codec, the
 * attempts and retry interval from settings (none owned; all must outlive
 * it); link is copied. Never NULL. */
struct uplink_outbox *uplink_outbox_new(struct event_base *base,
    struct store *store, const struct up_codec *codec,
    const struct uplink_settings *settings,
    const struct uplink_outbox_link *link, int queue_max);

/* NULL is a no-op. Calls in flight must be over (their done callbacks
 * run) or the link gone before. */
void uplink_outbox_free(struct uplink_outbox *ob);

/* The bound of the table, in messages. */
void uplink_outbox_set_max(struct uplink_outbox *ob, int queue_max);

/* Queue the message of kind for session x (OCPP_TX_UPDATED: its EVSE's
 * reading) created at now_ms, marked offline when the link is not up.
 * Returns 0, or -1 when the state file refused it. */
int uplink_outbox_add(struct uplink_outbox *ob, const struct site_session *x,
    enum ocpp_tx_kind kind, int64_t now_ms);

/* The link was accepted: send what is queued, in order. */
void uplink_outbox_replay(struct uplink_outbox *ob);

/* The link is gone: the message in flight will go again after the
 * reconnect, and a retry waits no more; only an answer still to be
 * recorded keeps its timer (that message must not go again). */
void uplink_outbox_lost(struct uplink_outbox *ob);

/* Messages in the table and the creation time of the oldest (0: none), as
 * last read. */
void uplink_outbox_stats(const struct uplink_outbox *ob, int64_t *depth,
    int64_t *oldest_ms);

#endif
