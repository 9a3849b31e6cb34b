/*
 * uplink_down — the upstream CSMS's requests to the gateway ("down
 * commands"), routed to where they are served.
 *
 * Each request is checked against its schema first (a CALLERROR naming
 * the field), decoded by the upstream's codec into struct up_down (site
 * EVSE numbers, neutral values), then served by one small function per
 * command type:
 *   to chargers  remote start (on the EVSE asked for, or the first free
 *                one), remote stop (the session the upstream names),
 *                unlock, availability and reset of one EVSE, through
 *                csms_command(); availability of the whole site goes to
 *                every connected charger, and their answers make one
 *                (uplink_down_result)
 *   here         reset of the gateway (a new boot on a new link), trigger
 *                (the message follows the answer), settings
 *                (uplink_settings), the local list and the cache
 *                (uplink_auth), charging profiles (uplink_profiles; the
 *                composite schedule from the allocation), DataTransfer
 *                (no vendor known)
 * What cannot be honoured is answered (Rejected, NotSupported,
 * NotImplemented, UnknownConnector... in the upstream's words), never left
 * unanswered; a command type the gateway does not serve gets a
 * NotSupported CALLERROR.
 *
 * A command routed to chargers waits for their answers; its context
 * remembers the connection it came on (the link's generation), so that an
 * answer arriving after the upstream connection changed is dropped, not
 * sent on a freed call handle.
 */
#ifndef SITEGATE_ROLES_UPLINK_DOWN_H
#define SITEGATE_ROLES_UPLINK_DOWN_H

#include <stdbool.h>

#include "ocpp/up.h"
#include "transport/rpc.h"

struct uplink_down;
struct uplink_auth;
struct uplink_profiles;
struct uplink_settings;
struct site;
struct site_evse;
struct store;
struct csms;

/* What the router works with (none owned; all must outlive it), and what
 * only the link can do. */
struct uplink_down_env {
	struct site *site;
	struct csms *csms;
	struct store *store;		/* the upstream's transaction ids */
	const struct up_codec *codec;
	struct uplink_auth *auth;
	struct uplink_settings *settings;
	struct uplink_profiles *profiles;
	/* Send the message t asks for (of EVSE e, NULL: all), after the
	 * answer to the TriggerMessage. */
	void (*trigger)(enum up_trigger t, const struct site_evse *e,
	    void *arg);
	/* Restart the gateway's OCPP session: a new link, a new boot. */
	void (*reset)(void *arg);
	/* The upstream changed setting s (uplink_settings holds it). */
	void (*setting_changed)(enum up_setting s, void *arg);
	/* The profiles changed: keep them, apply them. */
	void (*profiles_changed)(void *arg);
	/* The allocation of EVSE number (0: the site), as uplink_hooks.offer;
	 * -1 when unknown. */
	int (*offer)(int number, double *limit_a, int *phases, void *arg);
	void *arg;
};

/* A router; env is copied. Never NULL. */
struct uplink_down *uplink_down_new(const struct uplink_down_env *env);

/* Serve the codec's down actions through h (those the schema of its
 * version knows). Anything else OCPP defines is answered NotSupported by
 * the rpc layer; unknown actions NotImplemented. */
void uplink_down_register(struct uplink_down *dn, struct rpc_handlers *h);

/* The upstream connection opened or closed: the commands still waiting
 * for chargers are answered no more. */
void uplink_down_link_changed(struct uplink_down *dn);

/* Free; commands still waiting for chargers are dropped when their
 * answers come. NULL is a no-op. */
void uplink_down_free(struct uplink_down *dn);

/* What the chargers said to one command. */
struct uplink_down_tally {
	int yes, no;			/* answers meaning yes / no or failed */
	int scheduled;			/* of the yes: Scheduled */
	enum ocpp_result last;		/* the last answer's status */
	bool failed;			/* the last one was no answer at all */
};

/* The one answer to the upstream for a command of type t that went to
 * chargers: any refusal refuses (remote start: any yes accepts); Scheduled
 * when one will act later (availability, reset); unlocking gives what the
 * charger said, or UNLOCK_FAILED. */
enum ocpp_result uplink_down_result(enum up_down_type t,
    const struct uplink_down_tally *n);

#endif
