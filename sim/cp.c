/*
 * cp — one simulated charger (see cp.h).
 *
 * Design: a cp owns at most one connection at a time (ws while the
 * handshake runs, rpc once open). Everything it sends goes through
 * send_call(); the session steps chain through the answers (each answer's
 * callback sends the next message), so an EVSE is always in one state and
 * the gateway sees the order a real charger keeps. A connection lost in
 * the middle leaves the EVSE's session as it is, as in a real charger; a
 * car that arrives while the charger is offline waits for the owner to
 * plug it again.
 *
 * The configuration store (what discovery reads) is sim/cpconf.h, shared
 * with the load generator of tests/bench/bench_control.c, which this
 * module grew out of. A CALL from the gateway that breaks its schema is
 * refused as a strict charger does, counted (cp_stats.invalid) and
 * printed to stderr.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ocpp/schema.h"
#include "sim/cp.h"
#include "sim/cpconf.h"
#include "sim/prof.h"
#include "util/isotime.h"
#include "util/json.h"


struct evse {
	struct cp *cp;
	int id;
	enum cp_evse_state state;
	bool has_car;
	struct ev ev;
	char tx_id[64];
	int64_t tx_start;
	int seq_no;			/* 2.0.1: the next TransactionEvent's */
	double meter_wh;		/* the meter's register */
	double offered_a;
	int offered_phases;
	bool has_limit;
	bool reported_suspended;
};

struct cp {
	struct event_base *base;
	const struct rpc_handlers *handlers;
	struct spec_charger spec;
	char url[256], id_tag[32];
	double voltage;
	int reconnect_s;
	bool verbose;
	struct ws_conn *ws;
	struct rpc *rpc;
	bool booted, freeing;
	bool told_failure;		/* since the last connection */
	struct cpconf conf;		/* what discovery reads and writes */
	struct event *retry, *meter, *heartbeat;
	struct evse evses[SPEC_EVSES_MAX];
	struct prof_set *prof;		/* the profiles it holds */
	struct cp_stats st;
};

static void connect_now(struct cp *cp);
static void apply_limits(struct cp *cp);

/* ------------------------------------------------------------ sending */

static cJSON *
stamp(cJSON *o, const char *key)
{
	char ts[ISOTIME_LEN];

	cJSON_AddStringToObject(o, key, isotime_format(isotime_now_ms(), ts));
	return o;
}

static void
bug(struct cp *cp, const char *what, const char *action, const char *why)
{
	cp->st.bugs++;
	fprintf(stderr, "sitegate-sim: %s: bug: %s %s: %s\n", cp->spec.id, what,
	    action, why);
}

/* Send a CALL (payload taken); false when it could not be (not open, our
 * payload invalid). cb runs only when true was returned. */
static bool
send_call(struct cp *cp, const char *action, cJSON *payload, rpc_result_fn cb,
    void *arg)
{
	struct schema_error serr;

	if (cp->rpc == NULL) {
		cJSON_Delete(payload);
		return false;
	}
	if (schema_validate(cp->spec.v, action, SCHEMA_REQUEST, payload,
	    &serr) != SCHEMA_OK) {
		bug(cp, "our", action, serr.description);
		cJSON_Delete(payload);
		return false;
	}
	return rpc_call(cp->rpc, action, payload, cb, arg) == RPC_OK;
}

/* Answer a CALL after checking the answer against its schema. */
static void
answer(struct cp *cp, struct rpc_call *call, cJSON *res)
{
	struct schema_error serr;

	if (schema_validate(cp->spec.v, rpc_call_action(call), SCHEMA_RESPONSE,
	    res, &serr) != SCHEMA_OK)
		bug(cp, "our answer to", rpc_call_action(call), serr.description);
	rpc_reply(call, res);
}

/* A strict charger refuses a CALL that breaks its schema (and a gateway
 * that sends one has a bug worth seeing). Returns true when it did. */
static bool
refuse_invalid(struct cp *cp, struct rpc_call *call, const cJSON *payload)
{
	struct schema_error serr;
	int rc = schema_validate(cp->spec.v, rpc_call_action(call),
	    SCHEMA_REQUEST, payload, &serr);

	if (rc == SCHEMA_OK)
		return false;
	cp->st.invalid++;
	fprintf(stderr, "sitegate-sim: %s: invalid %s from the gateway: %s\n",
	    cp->spec.id, rpc_call_action(call), serr.description);
	rpc_reply_error(call, rc == SCHEMA_TYPE ? OCPP_ERR_TYPE :
	    rc == SCHEMA_OCCURRENCE ? OCPP_ERR_OCCURRENCE : OCPP_ERR_PROPERTY,
	    serr.description, NULL);
	return true;
}

static cJSON *
status_obj(const char *status)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", status);
	return o;
}

static bool
ok_result(const struct rpc_response *res)
{
	return res->outcome == RPC_OUTCOME_RESULT;
}

static void
status16(struct cp *cp, int connector, const char *status)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "connectorId", connector);
	cJSON_AddStringToObject(o, "errorCode", "NoError");
	cJSON_AddStringToObject(o, "status", status);
	send_call(cp, "StatusNotification", stamp(o, "timestamp"), NULL, NULL);
}

static void
status201(struct cp *cp, int evse, const char *status)
{
	cJSON *o = cJSON_CreateObject();

	stamp(o, "timestamp");
	cJSON_AddStringToObject(o, "connectorStatus", status);
	cJSON_AddNumberToObject(o, "evseId", evse);
	cJSON_AddNumberToObject(o, "connectorId", 1);
	send_call(cp, "StatusNotification", o, NULL, NULL);
}

/* One meterValue: current per charger phase, power, energy, SoC. */
static cJSON *
meter_value(struct cp *cp, struct evse *e)
{
	static const char *const ph[] = { "L1", "L2", "L3" };
	bool v16 = cp->spec.v == OCPP_V16;
	cJSON *mv = cJSON_CreateObject(), *sv;
	struct cp_evse_view view;
	double w = 0;

	cp_evse_view(cp, e->id, &view);
	stamp(mv, "timestamp");
	sv = cJSON_AddArrayToObject(mv, "sampledValue");
	for (int i = 0; i < cp->spec.phases; i++) {
		cpconf_add_sample(sv, v16, view.amps[i], "Current.Import", ph[i], "A");
		w += view.amps[i] * cp->voltage;
	}
	cpconf_add_sample(sv, v16, w, "Power.Active.Import", NULL, "W");
	cpconf_add_sample(sv, v16, e->meter_wh, "Energy.Active.Import.Register", NULL,
	    "Wh");
	if (e->has_car && strstr(cp->conf.measurands, "SoC") != NULL)
		cpconf_add_sample(sv, v16, e->ev.soc * 100, "SoC", NULL, "Percent");
	return mv;
}

/* 2.0.1 TransactionEvent of this EVSE's transaction. */
static cJSON *
tx_event(struct evse *e, const char *type, const char *trigger,
    const char *state)
{
	cJSON *o = cJSON_CreateObject(), *ti, *ev;

	cJSON_AddStringToObject(o, "eventType", type);
	stamp(o, "timestamp");
	cJSON_AddStringToObject(o, "triggerReason", trigger);
	cJSON_AddNumberToObject(o, "seqNo", e->seq_no++);
	ti = cJSON_AddObjectToObject(o, "transactionInfo");
	cJSON_AddStringToObject(ti, "transactionId", e->tx_id);
	if (state != NULL)
		cJSON_AddStringToObject(ti, "chargingState", state);
	ev = cJSON_AddObjectToObject(o, "evse");
	cJSON_AddNumberToObject(ev, "id", e->id);
	cJSON_AddNumberToObject(ev, "connectorId", 1);
	return o;
}

static void
send_meter(struct cp *cp, struct evse *e)
{
	cJSON *o;

	if (cp->spec.v == OCPP_V16) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "connectorId", e->id);
		cJSON_AddNumberToObject(o, "transactionId",
		    strtol(e->tx_id, NULL, 10));
		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "meterValue"),
		    meter_value(cp, e));
		if (send_call(cp, "MeterValues", o, NULL, NULL))
			cp->st.meters++;
		return;
	}
	o = tx_event(e, "Updated", "MeterValuePeriodic", NULL);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "meterValue"),
	    meter_value(cp, e));
	if (send_call(cp, "TransactionEvent", o, NULL, NULL))
		cp->st.meters++;
}

static void
on_meter_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cp *cp = arg;
	struct timeval tv = { cp->conf.meter_interval_s, 0 };

	(void)fd;
	(void)what;
	for (int i = 0; i < cp->spec.evses; i++) {
		struct evse *e = &cp->evses[i];

		if (cp->booted && (e->state == CP_EVSE_CHARGING ||
		    e->state == CP_EVSE_SUSPENDED))
			send_meter(cp, e);
	}
	evtimer_add(cp->meter, &tv);
}

/* ------------------------------------------------------------ sessions */

static void
on_started16(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct evse *e = arg;
	struct cp *cp = e->cp;
	const char *st;

	(void)rpc;
	if (!ok_result(res) || e->state != CP_EVSE_STARTING)
		return;
	st = json_str(cJSON_GetObjectItemCaseSensitive(res->payload,
	    "idTagInfo"), "status");
	snprintf(e->tx_id, sizeof e->tx_id, "%d",
	    json_int(res->payload, "transactionId", 0));
	if (st == NULL || strcmp(st, "Accepted") != 0) {
		/* A real charger ends a transaction whose tag is refused:
		 * StopTransaction, then the car leaves. */
		e->state = CP_EVSE_SUSPENDED;
		cp_unplug(cp, e->id);
		return;
	}
	e->tx_start = isotime_now_ms();
	e->state = CP_EVSE_CHARGING;
	cp->st.sessions++;
	status16(cp, e->id, "Charging");
	apply_limits(cp);
	send_meter(cp, e);
}

static void
on_authorized(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct evse *e = arg;
	struct cp *cp = e->cp;
	const char *st;
	cJSON *o;

	(void)rpc;
	if (!ok_result(res) || e->state != CP_EVSE_STARTING)
		return;
	st = json_str(cJSON_GetObjectItemCaseSensitive(res->payload,
	    cp->spec.v == OCPP_V16 ? "idTagInfo" : "idTokenInfo"), "status");
	if (st == NULL || strcmp(st, "Accepted") != 0) {
		e->state = CP_EVSE_STOPPING;
		cp_unplug(cp, e->id);
		return;
	}
	o = cJSON_CreateObject();
	if (cp->spec.v == OCPP_V16) {
		cJSON_AddNumberToObject(o, "connectorId", e->id);
		cJSON_AddStringToObject(o, "idTag", cp->id_tag);
		cJSON_AddNumberToObject(o, "meterStart", (int)e->meter_wh);
		send_call(cp, "StartTransaction", stamp(o, "timestamp"),
		    on_started16, e);
		return;
	}
	cJSON_Delete(o);
	/* Unique across runs too: a gateway's state file remembers the
	 * transactions of the last one. */
	snprintf(e->tx_id, sizeof e->tx_id, "%.16s-%d-%llx", cp->spec.id, e->id,
	    (unsigned long long)isotime_now_ms());
	e->seq_no = 0;
	o = tx_event(e, "Started", "Authorized", "Charging");
	{
		cJSON *tok = cJSON_AddObjectToObject(o, "idToken");

		cJSON_AddStringToObject(tok, "idToken", cp->id_tag);
		cJSON_AddStringToObject(tok, "type", "ISO14443");
	}
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "meterValue"),
	    meter_value(cp, e));
	e->tx_start = isotime_now_ms();
	e->state = CP_EVSE_CHARGING;
	cp->st.sessions++;
	send_call(cp, "TransactionEvent", o, NULL, NULL);
	apply_limits(cp);
}

int
cp_plug(struct cp *cp, int evse, const struct ev_params *car)
{
	struct evse *e;
	cJSON *o, *tok;

	if (evse < 1 || evse > cp->spec.evses)
		return CP_E_ARG;
	e = &cp->evses[evse - 1];
	if (!cp->booted || e->state != CP_EVSE_FREE)
		return CP_E_STATE;
	ev_init(&e->ev, car);
	e->has_car = true;
	e->state = CP_EVSE_STARTING;
	e->reported_suspended = false;
	o = cJSON_CreateObject();
	if (cp->spec.v == OCPP_V16) {
		status16(cp, evse, "Preparing");
		cJSON_AddStringToObject(o, "idTag", cp->id_tag);
	} else {
		status201(cp, evse, "Occupied");
		tok = cJSON_AddObjectToObject(o, "idToken");
		cJSON_AddStringToObject(tok, "idToken", cp->id_tag);
		cJSON_AddStringToObject(tok, "type", "ISO14443");
	}
	if (!send_call(cp, "Authorize", o, on_authorized, e)) {
		e->state = CP_EVSE_FREE;
		e->has_car = false;
		return CP_E_STATE;
	}
	return CP_OK;
}

/* Drop what belonged to the transaction (its TxProfiles). */
static void
end_tx(struct cp *cp, struct evse *e)
{
	prof_set_end_tx(cp->prof, e->id);
	e->tx_id[0] = '\0';
}

void
cp_unplug(struct cp *cp, int evse)
{
	struct evse *e;
	bool tx;
	cJSON *o;

	if (evse < 1 || evse > cp->spec.evses)
		return;
	e = &cp->evses[evse - 1];
	if (e->state == CP_EVSE_FREE)
		return;
	tx = e->tx_id[0] != '\0' && e->state != CP_EVSE_STARTING;
	e->has_car = false;
	e->ev.draw_a = 0;
	if (tx && cp->spec.v == OCPP_V16) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "transactionId",
		    strtol(e->tx_id, NULL, 10));
		cJSON_AddNumberToObject(o, "meterStop", (int)e->meter_wh);
		cJSON_AddStringToObject(o, "reason", "EVDisconnected");
		send_call(cp, "StopTransaction", stamp(o, "timestamp"), NULL,
		    NULL);
		status16(cp, evse, "Finishing");
	} else if (tx) {
		o = tx_event(e, "Ended", "EVDeparted", "Idle");
		cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(o,
		    "transactionInfo"), "stoppedReason", "EVDisconnected");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "meterValue"),
		    meter_value(cp, e));
		send_call(cp, "TransactionEvent", o, NULL, NULL);
	}
	end_tx(cp, e);
	if (cp->spec.v == OCPP_V16)
		status16(cp, evse, "Available");
	else
		status201(cp, evse, "Available");
	e->state = CP_EVSE_FREE;
	e->offered_a = 0;
	apply_limits(cp);
}

/* The charging state changed (the car paused or resumed). */
static void
report_state(struct cp *cp, struct evse *e, bool suspended)
{
	if (e->reported_suspended == suspended)
		return;
	e->reported_suspended = suspended;
	e->state = suspended ? CP_EVSE_SUSPENDED : CP_EVSE_CHARGING;
	if (cp->spec.v == OCPP_V16) {
		status16(cp, e->id, !suspended ? "Charging" :
		    ev_full(&e->ev) ? "SuspendedEV" : "SuspendedEVSE");
		return;
	}
	send_call(cp, "TransactionEvent", tx_event(e, "Updated",
	    "ChargingStateChanged", !suspended ? "Charging" :
	    ev_full(&e->ev) ? "SuspendedEV" : "SuspendedEVSE"), NULL, NULL);
}

void
cp_tick(struct cp *cp, double dt_s)
{
	for (int i = 0; i < cp->spec.evses; i++) {
		struct evse *e = &cp->evses[i];
		double a;

		if (!e->has_car || (e->state != CP_EVSE_CHARGING &&
		    e->state != CP_EVSE_SUSPENDED))
			continue;
		a = e->ev.draw_a;
		ev_step(&e->ev, e->offered_a, e->offered_phases, dt_s);
		e->meter_wh += a * cp->voltage * ev_phases(&e->ev,
		    e->offered_phases) * dt_s / 3600.0;
		if (ev_full(&e->ev)) {
			cp_unplug(cp, e->id);	/* full: the driver leaves */
			continue;
		}
		if (cp->booted)
			report_state(cp, e, e->ev.draw_a <= 0 &&
			    ev_wants(&e->ev, e->offered_a) <= 0);
	}
}

/* ------------------------------------------------------------ profiles */

/* The transaction of e, as sim/prof needs it: one that runs. */
static struct prof_tx
tx_of(const struct evse *e)
{
	struct prof_tx t = { NULL, e->tx_start };

	if (e->tx_id[0] != '\0' && (e->state == CP_EVSE_CHARGING ||
	    e->state == CP_EVSE_SUSPENDED))
		t.id = e->tx_id;
	return t;
}

/* Every EVSE's offer now; a car's draw falls at once with it. */
static void
apply_limits(struct cp *cp)
{
	int64_t t = isotime_now_ms();

	for (int n = 0; n < cp->spec.evses; n++) {
		struct evse *e = &cp->evses[n];
		struct prof_tx tx = tx_of(e);
		struct prof_offer o;

		prof_set_offer(cp->prof, e->id, &tx, t, &o);
		e->offered_a = o.a;
		e->offered_phases = o.phases;
		e->has_limit = o.limited;
		if (e->has_car)
			ev_step(&e->ev, o.a, o.phases, 0);
	}
}

/* --verbose: one line per SetChargingProfile, as the charger read it. */
static void
print_profile(const struct cp *cp, const struct prof_read *r, const char *why)
{
	char ts[ISOTIME_LEN];

	printf("%.23s %s evse %d %s id %d stack %d limit %.1f %s%s%s -> %s%s%s\n",
	    isotime_format(isotime_now_ms(), ts), cp->spec.id, r->evse,
	    r->purpose, r->id, r->stack, r->limit, r->watts ? "W" : "A",
	    r->tx[0] ? " tx " : "", r->tx, why ? "Rejected" : "Accepted",
	    why ? " " : "", why ? why : "");
	fflush(stdout);
}

static void
h_set_profile(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct cp *cp = rpc_arg(rpc);
	struct prof_tx txs[SPEC_EVSES_MAX];
	struct prof_read r;
	const char *why;

	(void)arg;
	cp->st.profiles++;
	if (refuse_invalid(cp, call, payload)) {
		cp->st.rejected++;
		return;
	}
	for (int i = 0; i < cp->spec.evses; i++)
		txs[i] = tx_of(&cp->evses[i]);
	why = prof_set_install(cp->prof, payload, txs, isotime_now_ms(), &r);
	if (cp->verbose)
		print_profile(cp, &r, why);
	if (why != NULL) {
		cJSON *res = status_obj("Rejected");

		cp->st.rejected++;
		if (cp->spec.v != OCPP_V16)
			cJSON_AddStringToObject(cJSON_AddObjectToObject(res,
			    "statusInfo"), "reasonCode", why);
		answer(cp, call, res);
		return;
	}
	answer(cp, call, status_obj("Accepted"));
	apply_limits(cp);
}

static void
h_clear_profile(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct cp *cp = rpc_arg(rpc);

	(void)arg;
	if (refuse_invalid(cp, call, payload))
		return;
	answer(cp, call, status_obj(prof_set_clear(cp->prof, payload) > 0 ?
	    "Accepted" : "Unknown"));
	apply_limits(cp);
}

/* ------------------------------------------------------------ discovery */

static void
h_get_configuration(struct rpc *rpc, struct rpc_call *call,
    const cJSON *payload, void *arg)
{
	struct cp *cp = rpc_arg(rpc);

	(void)arg;
	if (!refuse_invalid(cp, call, payload))
		answer(cp, call, cpconf_get_configuration(&cp->conf, payload));
}

static void
h_change_configuration(struct rpc *rpc, struct rpc_call *call,
    const cJSON *payload, void *arg)
{
	struct cp *cp = rpc_arg(rpc);

	(void)arg;
	if (!refuse_invalid(cp, call, payload))
		answer(cp, call, cpconf_change_configuration(&cp->conf, payload));
}

/* 2.0.1 GetVariables and SetVariables. */
static void
h_variables(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	struct cp *cp = rpc_arg(rpc);

	(void)arg;
	if (!refuse_invalid(cp, call, payload))
		answer(cp, call, cpconf_variables(&cp->conf,
		    !strcmp(rpc_call_action(call), "SetVariables"), payload));
}

/* What a simulated charger declines. */
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
	{ OCPP_V16, "DataTransfer", "UnknownVendorId" },
	{ OCPP_V201, "GetCompositeSchedule", "Rejected" },
	{ OCPP_V201, "GetChargingProfiles", "NoProfiles" },
	{ OCPP_V201, "TriggerMessage", "Rejected" },
	{ OCPP_V201, "RequestStartTransaction", "Rejected" },
	{ OCPP_V201, "RequestStopTransaction", "Rejected" },
	{ OCPP_V201, "ChangeAvailability", "Accepted" },
	{ OCPP_V201, "Reset", "Rejected" },
	{ OCPP_V201, "UnlockConnector", "UnlockFailed" },
	{ OCPP_V201, "ClearCache", "Accepted" },
	{ OCPP_V201, "DataTransfer", "UnknownVendorId" },
	{ OCPP_V201, "GetBaseReport", "NotSupported" },
};

static void
h_other(struct rpc *rpc, struct rpc_call *call, const cJSON *payload,
    void *arg)
{
	const struct other *o = arg;
	struct cp *cp = rpc_arg(rpc);

	if (!refuse_invalid(cp, call, payload))
		answer(cp, call, status_obj(o->status));
}

struct rpc_handlers *
cp_handlers_new(void)
{
	struct rpc_handlers *h = rpc_handlers_new();

	if (h == NULL)
		return NULL;
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

/* ------------------------------------------------------------ connection */

static void
retry_later(struct cp *cp, int s)
{
	struct timeval tv = { s, (cp->spec.id[strlen(cp->spec.id) - 1] % 10) *
	    100000 };

	if (!cp->freeing)
		evtimer_add(cp->retry, &tv);
}

static void send_boot(struct cp *cp);

/* Heartbeat at the interval the boot answer gave (a gateway closes a
 * connection that stays silent too long). */
static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct cp *cp = arg;

	(void)fd;
	(void)what;
	if (cp->booted)
		send_call(cp, "Heartbeat", cJSON_CreateObject(), NULL, NULL);
}

static void
on_boot(struct rpc *rpc, const struct rpc_response *res, void *arg)
{
	struct cp *cp = arg;
	const char *st;

	(void)rpc;
	if (!ok_result(res))
		return;
	st = json_str(res->payload, "status");
	if (st == NULL || strcmp(st, "Accepted") != 0) {
		int s = json_int(res->payload, "interval", 10);

		retry_later(cp, s > 0 && s < 300 ? s : 10);
		return;
	}
	cp->booted = true;
	{
		int s = json_int(res->payload, "interval", 300);
		struct timeval tv = { s >= 10 && s <= 86400 ? s : 300, 0 };

		event_del(cp->heartbeat);
		event_add(cp->heartbeat, &tv);
	}
	for (int i = 1; i <= cp->spec.evses; i++) {
		struct evse *e = &cp->evses[i - 1];
		bool busy = e->state == CP_EVSE_CHARGING ||
		    e->state == CP_EVSE_SUSPENDED;

		if (cp->spec.v == OCPP_V16)
			status16(cp, i, busy ? "Charging" : "Available");
		else
			status201(cp, i, busy ? "Occupied" : "Available");
	}
}

static void
send_boot(struct cp *cp)
{
	cJSON *o = cJSON_CreateObject();

	if (cp->spec.v == OCPP_V16) {
		cJSON_AddStringToObject(o, "chargePointVendor", "sitegate");
		cJSON_AddStringToObject(o, "chargePointModel", "sitegate-sim");
		cJSON_AddStringToObject(o, "chargePointSerialNumber", cp->spec.id);
	} else {
		cJSON *cs = cJSON_AddObjectToObject(o, "chargingStation");

		cJSON_AddStringToObject(cs, "model", "sitegate-sim");
		cJSON_AddStringToObject(cs, "vendorName", "sitegate");
		cJSON_AddStringToObject(cs, "serialNumber", cp->spec.id);
		cJSON_AddStringToObject(o, "reason", "PowerUp");
	}
	send_call(cp, "BootNotification", o, on_boot, cp);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct cp *cp = arg;

	(void)fd;
	(void)what;
	if (cp->rpc != NULL)
		send_boot(cp);		/* Pending/Rejected: boot again */
	else if (cp->ws == NULL)
		connect_now(cp);
}

static void
on_disconnect(struct rpc *rpc, const struct ws_close_info *info, void *arg)
{
	struct cp *cp = arg;

	(void)rpc;
	(void)info;
	cp->rpc = NULL;
	cp->booted = false;
	event_del(cp->heartbeat);
	cp->st.drops++;
	retry_later(cp, cp->reconnect_s);
}

static void
on_open(struct ws_conn *conn, void *arg)
{
	struct cp *cp = arg;
	struct rpc_opts o;

	memset(&o, 0, sizeof o);
	o.version = cp->spec.v;
	o.handlers = cp->handlers;
	o.call_timeout_ms = 30000;
	o.queue_max = 256;
	o.on_disconnect = on_disconnect;
	o.arg = cp;
	o.log_module = "sim";
	o.action_known = schema_has_action;
	cp->ws = NULL;
	cp->rpc = rpc_new(cp->base, conn, &o);
	cp->st.connects++;
	cp->told_failure = false;
	send_boot(cp);
}

static void
on_close(struct ws_conn *conn, const struct ws_close_info *info, void *arg)
{
	struct cp *cp = arg;

	(void)conn;
	cp->ws = NULL;
	/* Say why once, not at every retry. */
	if (!cp->told_failure) {
		cp->told_failure = true;
		if (info->http_status > 0)
			fprintf(stderr, "sitegate-sim: %s: refused by the gateway: "
			    "HTTP %d%s%s; retrying every %d s\n", cp->spec.id,
			    info->http_status, info->http_status == 401 ?
			    " (wrong password?)" : info->http_status == 404 ?
			    " (unknown charger id?)" : "", "", cp->reconnect_s);
		else
			fprintf(stderr, "sitegate-sim: %s: cannot connect to %s: "
			    "%s; retrying every %d s\n", cp->spec.id, cp->url,
			    info->reason[0] ? info->reason : "no connection",
			    cp->reconnect_s);
	}
	retry_later(cp, cp->reconnect_s);
}

static const struct ws_handler handler = { on_open, NULL, on_close };

static void
connect_now(struct cp *cp)
{
	struct ws_client_opts o;
	char *cause = NULL;

	memset(&o, 0, sizeof o);
	o.url = cp->url;
	o.id = cp->spec.id;
	o.protocol = cp->spec.v == OCPP_V16 ? "ocpp1.6" : "ocpp2.0.1";
	o.password = cp->spec.password[0] ? cp->spec.password : NULL;
	o.limits.handshake_timeout_ms = 30000;
	cp->ws = ws_connect(cp->base, &o, &handler, cp, &cause);
	if (cp->ws == NULL) {
		fprintf(stderr, "sitegate-sim: %s: %s\n", cp->spec.id, cause);
		free(cause);
		retry_later(cp, cp->reconnect_s);
	}
}

/* ------------------------------------------------------------ life */

struct cp *
cp_new(struct event_base *base, const struct rpc_handlers *h,
    const struct spec_charger *spec, const struct cp_opts *opts)
{
	struct cp *cp = calloc(1, sizeof *cp);

	if (cp == NULL)
		return NULL;
	cp->base = base;
	cp->handlers = h;
	cp->spec = *spec;
	snprintf(cp->url, sizeof cp->url, "%s", opts->url);
	snprintf(cp->id_tag, sizeof cp->id_tag, "%s", opts->id_tag ?
	    opts->id_tag : "SIM-TAG");
	cp->voltage = opts->voltage_v > 0 ? opts->voltage_v : 230;
	cp->reconnect_s = opts->reconnect_s > 0 ? opts->reconnect_s : 5;
	cp->verbose = opts->verbose;
	cpconf_init(&cp->conf, spec->evses, (spec->quirks & SPEC_Q_W_ONLY) != 0,
	    (spec->quirks & SPEC_Q_STACK0) != 0);
	for (int i = 0; i < SPEC_EVSES_MAX; i++) {
		cp->evses[i].cp = cp;
		cp->evses[i].id = i + 1;
		cp->evses[i].offered_phases = spec->phases;
	}
	cp->retry = evtimer_new(base, on_retry, cp);
	cp->meter = evtimer_new(base, on_meter_timer, cp);
	cp->heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, cp);
	{
		struct prof_opts po = { spec->v, spec->evses, spec->phases,
			spec->max_a, cp->voltage, spec->quirks };

		cp->prof = prof_set_new(&po);
	}
	if (cp->retry == NULL || cp->meter == NULL || cp->heartbeat == NULL ||
	    cp->prof == NULL) {
		cp_free(cp);
		return NULL;
	}
	return cp;
}

void
cp_start(struct cp *cp)
{
	struct timeval tv = { cp->conf.meter_interval_s, 0 };

	evtimer_add(cp->meter, &tv);
	connect_now(cp);
}

void
cp_free(struct cp *cp)
{
	if (cp == NULL)
		return;
	cp->freeing = true;
	rpc_free(cp->rpc);
	ws_conn_free(cp->ws);
	if (cp->retry)
		event_free(cp->retry);
	if (cp->meter)
		event_free(cp->meter);
	if (cp->heartbeat)
		event_free(cp->heartbeat);
	prof_set_free(cp->prof);
	free(cp);
}

bool
cp_booted(const struct cp *cp)
{
	return cp->booted;
}

const struct spec_charger *
cp_spec(const struct cp *cp)
{
	return &cp->spec;
}

const struct cp_stats *
cp_stats(const struct cp *cp)
{
	return &cp->st;
}

void
cp_evse_view(const struct cp *cp, int evse, struct cp_evse_view *out)
{
	const struct evse *e = &cp->evses[evse - 1];
	int n;

	memset(out, 0, sizeof *out);
	out->state = e->state;
	out->offered_a = e->offered_a;
	out->has_limit = e->has_limit;
	if (!e->has_car)
		return;
	out->soc = e->ev.soc;
	if (e->state != CP_EVSE_CHARGING && e->state != CP_EVSE_SUSPENDED)
		return;
	n = ev_phases(&e->ev, e->offered_phases);
	for (int i = 0; i < n && i < 3; i++)
		out->amps[i] = e->ev.draw_a;
}
