/*
 * csms_drive — the real CSMS role (roles/csms over site/site and
 * site/store) in a small process that takes commands on stdin, so that the
 * integration tests can send every command to real OCPP chargers before
 * any other part of the gateway (web page, uplink) sends them.
 *
 *   usage: csms_drive CONFIG
 *
 * Logs go to stderr as in the daemon ("ocpp: listening addr=..."). Each
 * stdin line is {"charger": "<id>", "command": {...}}; each answer is one
 * stdout line {"seq": n, "ok": true, "accepted": ..., "status": ..., ...}
 * or {"seq": n, "ok": false, "error": "..."}. The command object names the
 * neutral command ("type": "set_profile", "clear_profile",
 * "get_composite", "get_profiles", "remote_start", "remote_stop",
 * "availability", "reset", "unlock", "trigger", "get_config",
 * "set_config", "send_local_list", "clear_cache") and its fields. EOF on
 * stdin stops the process cleanly.
 */
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "app/opts.h"
#include "roles/csms.h"
#include "site/site.h"
#include "site/store.h"
#include "util/isotime.h"
#include "util/json.h"

struct drive {
	struct event_base *base;
	struct csms *cs;
	int seq;
	int outstanding;
	int eof;
	struct ocpp_list_entry entries[8];
	char tokens[8][SITE_TOKEN_LEN];
};

struct job {
	struct drive *d;
	int seq;
};

static void
emit(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	printf("%s\n", s);
	fflush(stdout);
	free(s);
	cJSON_Delete(o);
}

static void
maybe_exit(struct drive *d)
{
	if (d->eof && d->outstanding == 0)
		event_base_loopexit(d->base, NULL);
}

static void
on_done(const struct ocpp_command_result *r, const char *error, void *arg)
{
	struct job *j = arg;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "seq", j->seq);
	cJSON_AddBoolToObject(o, "ok", r != NULL);
	if (r == NULL) {
		cJSON_AddStringToObject(o, "error", error);
	} else {
		cJSON *keys = cJSON_AddArrayToObject(o, "keys");
		cJSON *periods;

		cJSON_AddBoolToObject(o, "accepted", r->accepted);
		cJSON_AddStringToObject(o, "status",
		    ocpp_result_name(r->status));
		cJSON_AddStringToObject(o, "reason", r->reason);
		cJSON_AddStringToObject(o, "tx_id", r->tx_id);
		for (int i = 0; i < r->nkeys; i++) {
			cJSON *k = cJSON_CreateObject();
			cJSON_AddStringToObject(k, "component", r->keys[i].key.component);
			cJSON_AddStringToObject(k, "variable", r->keys[i].key.variable);
			if (r->keys[i].key.has_value)
				cJSON_AddStringToObject(k, "value", r->keys[i].key.value);
			cJSON_AddStringToObject(k, "status",
			    ocpp_result_name(r->keys[i].status));
			cJSON_AddBoolToObject(k, "known", r->keys[i].known);
			cJSON_AddItemToArray(keys, k);
		}
		cJSON_AddStringToObject(o, "unit", r->schedule.unit == OCPP_UNIT_W ?
		    "W" : "A");
		periods = cJSON_AddArrayToObject(o, "periods");
		for (int i = 0; i < r->schedule.nperiods; i++) {
			cJSON *p = cJSON_CreateObject();
			cJSON_AddNumberToObject(p, "start_s", r->schedule.periods[i].start_s);
			cJSON_AddNumberToObject(p, "limit", r->schedule.periods[i].limit);
			cJSON_AddItemToArray(periods, p);
		}
	}
	emit(o);
	j->d->outstanding--;
	maybe_exit(j->d);
	free(j);
}

static enum ocpp_purpose
purpose_of(const char *s)
{
	if (s == NULL)
		return OCPP_PURPOSE_ANY;
	if (!strcmp(s, "max"))
		return OCPP_PURPOSE_MAX;
	if (!strcmp(s, "tx_default"))
		return OCPP_PURPOSE_TX_DEFAULT;
	return OCPP_PURPOSE_TX;
}

static void
keys_of(struct ocpp_command *c, const cJSON *keys)
{
	for (const cJSON *k = keys ? keys->child : NULL;
	    k && c->u.config.nkeys < OCPP_MAX_KEYS; k = k->next) {
		struct ocpp_key *x = &c->u.config.keys[c->u.config.nkeys++];
		json_copy(x->component, sizeof x->component, k, "component");
		json_copy(x->variable, sizeof x->variable, k, "variable");
		x->has_value = json_copy(x->value, sizeof x->value, k, "value");
	}
}

/* The neutral command a test line describes. Returns -1 on a type we do
 * not know (a test bug). */
static int
command_of(struct drive *d, const cJSON *j, struct ocpp_command *c)
{
	const char *type = json_str(j, "type");
	const cJSON *p;

	memset(c, 0, sizeof *c);
	c->evse = json_int(j, "evse", 0);
	c->connector = json_int(j, "connector", 0);
	if (type == NULL)
		return -1;
	if (!strcmp(type, "set_profile")) {
		struct ocpp_profile *pr = &c->u.profile;
		const cJSON *periods;
		p = cJSON_GetObjectItemCaseSensitive(j, "profile");
		c->type = OCPP_CMD_SET_PROFILE;
		pr->id = json_int(p, "id", 1);
		pr->stack_level = json_int(p, "stack_level", 0);
		pr->purpose = purpose_of(json_str(p, "purpose"));
		pr->unit = json_str(p, "unit") && !strcmp(json_str(p, "unit"), "W") ?
		    OCPP_UNIT_W : OCPP_UNIT_A;
		json_copy(pr->tx_id, sizeof pr->tx_id, p, "tx_id");
		if (json_time(p, "valid_to", &pr->valid_to_ms) != 0)
			pr->valid_to_ms = 0;
		periods = cJSON_GetObjectItemCaseSensitive(p, "periods");
		for (const cJSON *x = periods ? periods->child : NULL;
		    x && pr->nperiods < OCPP_MAX_PERIODS; x = x->next) {
			struct ocpp_period *pe = &pr->periods[pr->nperiods++];
			pe->start_s = json_int(x, "start_s", 0);
			pe->limit = json_num(x, "limit", 0);
			pe->phases = json_int(x, "phases", 0);
		}
	} else if (!strcmp(type, "clear_profile")) {
		c->type = OCPP_CMD_CLEAR_PROFILE;
		c->u.clear.id = json_int(j, "id", -1);
		c->u.clear.purpose = purpose_of(json_str(j, "purpose"));
		c->u.clear.stack_level = json_int(j, "stack_level", -1);
	} else if (!strcmp(type, "get_composite")) {
		c->type = OCPP_CMD_GET_COMPOSITE;
		c->u.composite.duration_s = json_int(j, "duration_s", 60);
		c->u.composite.unit = OCPP_UNIT_A;
	} else if (!strcmp(type, "get_profiles")) {
		c->type = OCPP_CMD_GET_PROFILES;
		c->u.get_profiles.request_id = json_int(j, "request_id", 1);
	} else if (!strcmp(type, "remote_start")) {
		c->type = OCPP_CMD_REMOTE_START;
		json_copy(c->u.start.token.id, sizeof c->u.start.token.id, j, "token");
		c->u.start.remote_start_id = json_int(j, "remote_start_id", 1);
	} else if (!strcmp(type, "remote_stop")) {
		c->type = OCPP_CMD_REMOTE_STOP;
		json_copy(c->u.stop.tx_id, sizeof c->u.stop.tx_id, j, "tx_id");
	} else if (!strcmp(type, "availability")) {
		c->type = OCPP_CMD_AVAILABILITY;
		c->u.availability.operative = json_bool(j, "operative", true);
	} else if (!strcmp(type, "reset")) {
		c->type = OCPP_CMD_RESET;
		c->u.reset.hard = json_bool(j, "hard", false);
	} else if (!strcmp(type, "unlock")) {
		c->type = OCPP_CMD_UNLOCK;
	} else if (!strcmp(type, "trigger")) {
		c->type = OCPP_CMD_TRIGGER;
		json_copy(c->u.trigger.message, sizeof c->u.trigger.message, j,
		    "message");
	} else if (!strcmp(type, "get_config") || !strcmp(type, "set_config")) {
		c->type = type[0] == 'g' ? OCPP_CMD_GET_CONFIG : OCPP_CMD_SET_CONFIG;
		keys_of(c, cJSON_GetObjectItemCaseSensitive(j, "keys"));
	} else if (!strcmp(type, "send_local_list")) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "entries");
		size_t n = 0;
		c->type = OCPP_CMD_SEND_LOCAL_LIST;
		c->u.local_list.version = json_int(j, "version", 1);
		c->u.local_list.full = json_bool(j, "full", true);
		for (const cJSON *e = list ? list->child : NULL; e && n < 8;
		    e = e->next, n++) {
			json_copy(d->tokens[n], SITE_TOKEN_LEN, e, "token");
			d->entries[n].id_token = d->tokens[n];
			d->entries[n].status = json_bool(e, "blocked", false) ?
			    OCPP_AUTH_BLOCKED : OCPP_AUTH_ACCEPTED;
			d->entries[n].expiry_ms = 0;
		}
		c->u.local_list.nentries = n;
		c->u.local_list.entries = d->entries;
	} else if (!strcmp(type, "clear_cache")) {
		c->type = OCPP_CMD_CLEAR_CACHE;
	} else {
		return -1;
	}
	return 0;
}

static void
line(struct drive *d, const char *text)
{
	cJSON *j = cJSON_Parse(text);
	struct ocpp_command cmd;
	struct job *job;
	const char *id = json_str(j, "charger");
	int seq = ++d->seq;

	if (j == NULL || id == NULL || command_of(d,
	    cJSON_GetObjectItemCaseSensitive(j, "command"), &cmd) != 0) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "seq", seq);
		cJSON_AddBoolToObject(o, "ok", false);
		cJSON_AddStringToObject(o, "error", "bad test line");
		emit(o);
		cJSON_Delete(j);
		return;
	}
	if ((job = calloc(1, sizeof *job)) == NULL)
		abort();
	job->d = d;
	job->seq = seq;
	d->outstanding++;
	if (csms_command(d->cs, id, &cmd, on_done, job) != 0) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "seq", seq);
		cJSON_AddBoolToObject(o, "ok", false);
		cJSON_AddStringToObject(o, "error", "not sent");
		emit(o);
		d->outstanding--;
		free(job);
	}
	cJSON_Delete(j);
}

static void
on_stdin(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *l;

	while ((l = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF)) != NULL) {
		line(arg, l);
		free(l);
	}
}

static void
on_stdin_event(struct bufferevent *bev, short what, void *arg)
{
	struct drive *d = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		d->eof = 1;
		maybe_exit(d);
	}
}

int
main(int argc, char **argv)
{
	struct drive d = { 0 };
	struct config *cfg;
	struct opts *opts = NULL;
	struct store *st;
	struct site *site;
	struct bufferevent *in;
	char *cause = NULL, *errors = NULL;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: csms_drive CONFIG\n");
		return 2;
	}
	if ((cfg = config_load(argv[1], &errors, NULL)) == NULL) {
		fprintf(stderr, "%s", errors);
		return 1;
	}
	if ((st = store_open(cfg->state_file, &err, &cause)) == NULL ||
	    (site = site_new(st, opts_site(opts = opts_new(cfg)), &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		return 3;
	}
	d.base = event_base_new();
	if ((d.cs = csms_new(d.base, opts_csms(opts), site, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		return 4;
	}
	in = bufferevent_socket_new(d.base, 0, 0);
	bufferevent_setcb(in, on_stdin, NULL, on_stdin_event, &d);
	bufferevent_enable(in, EV_READ);
	event_base_dispatch(d.base);

	bufferevent_free(in);
	csms_free(d.cs);
	event_base_free(d.base);
	site_free(site);
	store_close(st);
	opts_free(opts);
	config_free(cfg);
	return 0;
}
