/*
 * opts — struct config to each module's options. See opts.h.
 *
 * Pure copying, one function per module. Where a module has an enum of
 * its own (dispatch's purpose and unit), the configuration holds it.
 */
#include "app/opts.h"

#include <stdbool.h>
#include <stdlib.h>

#include "app/gateway.h"
#include "util/xalloc.h"

struct opts {
	struct site_opts site;
	struct site_charger_opts *site_chargers;
	struct csms_opts csms;
	struct csms_charger_opts *csms_chargers;
	struct control_opts control;
	struct control_charger *control_chargers;
	struct control_circuit *circuits;
	struct dispatch_charger *dispatch_chargers;
	struct ems_opts ems;
	bool has_ems;
	struct uplink_opts uplink;
	bool has_uplink;
	struct http_opts http;
	bool has_http;
};

static void
fill_site(struct opts *o, const struct config *cfg)
{
	struct site_charger_opts *ch = xcalloc(cfg->nchargers + 1, sizeof *ch);

	for (size_t i = 0; i < cfg->nchargers; i++) {
		const struct config_charger *cc = &cfg->chargers[i];

		ch[i].id = cc->id;
		ch[i].first_evse = cc->first_evse;
		ch[i].evses = cc->evses;
		ch[i].connectors_per_evse = cc->connectors_per_evse;
	}
	o->site_chargers = ch;
	o->site.chargers = ch;
	o->site.nchargers = cfg->nchargers;
	o->site.max_evses = cfg->ocpp.max_evses;
	o->site.max_connectors_per_evse = cfg->ocpp.max_connectors_per_evse;
}

static void
fill_csms(struct opts *o, const struct config *cfg)
{
	const struct config_ocpp *oc = &cfg->ocpp;
	struct csms_opts *c = &o->csms;
	struct csms_charger_opts *ch = xcalloc(cfg->nchargers + 1, sizeof *ch);

	for (size_t i = 0; i < cfg->nchargers; i++) {
		ch[i].id = cfg->chargers[i].id;
		ch[i].password = cfg->chargers[i].password;
		ch[i].password_raw = cfg->chargers[i].password_raw;
	}
	o->csms_chargers = ch;
	c->host = oc->listen.host;
	c->port = oc->listen.port;
	for (int v = 0; v < OCPP_NVERSIONS; v++)
		c->versions[v] = oc->versions[v];
	if (oc->tls != NULL) {
		c->tls_cert = oc->tls->cert;
		c->tls_key = oc->tls->key;
		c->tls_client_ca = oc->tls->client_ca;
	}
	c->allow_unknown_chargers = oc->allow_unknown_chargers;
	c->heartbeat_interval_s = oc->heartbeat_interval_s;
	c->call_timeout_s = oc->call_timeout_s;
	c->ping_interval_s = oc->ping_interval_s;
	c->max_message_bytes = oc->max_message_bytes;
	c->max_connections = oc->max_connections;
	c->handshake_timeout_s = oc->handshake_timeout_s;
	c->idle_timeout_s = oc->idle_timeout_s;
	c->meter_interval_s = oc->meter_interval_s;
	c->chargers = ch;
	c->nchargers = cfg->nchargers;
	c->auth = &cfg->auth;
}

static void
fill_control(struct opts *o, const struct config *cfg)
{
	struct control_opts *c = &o->control;
	struct dispatch_opts *d = &c->dispatch;
	size_t n = cfg->nchargers, nc = cfg->site.ncircuits;
	struct control_charger *ch = xcalloc(n + 1, sizeof *ch);
	struct dispatch_charger *dc = xcalloc(n + 1, sizeof *dc);
	struct control_circuit *ci = xcalloc(nc + 1, sizeof *ci);

	for (size_t i = 0; i < n; i++) {
		const struct config_charger *cc = &cfg->chargers[i];

		ch[i].id = cc->id;
		ch[i].max_current_a = cc->max_current_a;
		ch[i].phases = cc->phases;
		for (int p = 0; p < 3; p++)
			ch[i].grid_phase[p] = cc->grid_phase[p];
		ch[i].circuit_index = cc->circuit_index;
		ch[i].priority = cc->priority;
		dc[i].id = cc->id;
		dc[i].purpose = cc->purpose;
		dc[i].unit = cc->unit;
		dc[i].max_stack_level = cc->max_stack_level;
		dc[i].number_phases = cc->number_phases;
	}
	for (size_t i = 0; i < nc; i++) {
		const struct config_circuit *cc = &cfg->site.circuits[i];

		ci[i].id = cc->id;
		ci[i].parent_index = cc->parent_index;
		for (int p = 0; p < 3; p++)
			ci[i].max_current_a[p] = cc->max_current_a[p];
	}
	o->control_chargers = ch;
	o->dispatch_chargers = dc;
	o->circuits = ci;
	c->circuits = ci;
	c->ncircuits = nc;
	c->root_index = cfg->site.root_index;
	c->chargers = ch;
	c->nchargers = n;
	c->min_current_a = cfg->site.min_current_a;
	c->failsafe_current_a = cfg->site.failsafe_current_a;
	c->coalesce_ms = cfg->control.coalesce_ms;
	c->hysteresis_a = cfg->control.hysteresis_a;
	d->chargers = dc;
	d->nchargers = n;
	d->voltage_v = cfg->site.voltage_v;
	d->profile_validity_s = cfg->control.profile_validity_s;
	d->retry_min_s = cfg->control.retry_min_s;
	d->retry_max_s = cfg->control.retry_max_s;
}

static void
fill_ems(struct opts *o, const struct config *cfg)
{
	const struct config_mqtt *m = cfg->mqtt;
	struct ems_opts *e = &o->ems;

	if (m == NULL)
		return;
	o->has_ems = true;
	e->host = m->host;
	e->port = m->port;
	e->prefix = m->prefix;
	e->client_id = m->client_id;
	e->username = m->username;
	e->password = m->password;
	e->keepalive_s = m->keepalive_s;
	e->ca_file = m->ca_file;
	e->cert = m->cert;
	e->key = m->key;
	e->limit_timeout_s = m->limit_timeout_s;
	e->voltage_v = cfg->site.voltage_v;
	e->failsafe_a = cfg->site.failsafe_current_a;
}

static void
fill_uplink(struct opts *o, const struct config *cfg)
{
	const struct config_upstream *u = cfg->upstream;

	if (u == NULL)
		return;
	o->has_uplink = true;
	o->uplink = (struct uplink_opts){
		.url = u->url, .id = u->id, .version = u->version,
		.password = u->password, .ca_file = u->ca_file, .cert = u->cert,
		.key = u->key, .meter_interval_s = u->meter_interval_s,
		.queue_max = u->queue_max,
		.offline_accept_unknown = u->offline_accept_unknown,
		.message_attempts = u->message_attempts,
		.retry_interval_s = u->retry_interval_s,
		.reconnect_max_s = u->reconnect_max_s,
		.call_timeout_s = u->call_timeout_s, .site_id = cfg->site_id,
		.voltage_v = cfg->site.voltage_v, .auth = &cfg->auth,
		.firmware = SITEGATE_VERSION,
	};
}

static void
fill_http(struct opts *o, const struct config *cfg)
{
	if (cfg->web == NULL)
		return;
	o->has_http = true;
	o->http.host = cfg->web->listen.host;
	o->http.port = cfg->web->listen.port;
	o->http.root = cfg->web->root;
	o->http.tls_cert = cfg->web->tls_cert;
	o->http.tls_key = cfg->web->tls_key;
	o->http.max_clients = cfg->web->max_clients;
}

struct opts *
opts_new(const struct config *cfg)
{
	struct opts *o = xcalloc(1, sizeof *o);

	fill_site(o, cfg);
	fill_csms(o, cfg);
	fill_control(o, cfg);
	fill_ems(o, cfg);
	fill_uplink(o, cfg);
	fill_http(o, cfg);
	return o;
}

void
opts_free(struct opts *o)
{
	if (o == NULL)
		return;
	free(o->site_chargers);
	free(o->csms_chargers);
	free(o->control_chargers);
	free(o->circuits);
	free(o->dispatch_chargers);
	free(o);
}

const struct site_opts *
opts_site(const struct opts *o)
{
	return &o->site;
}

const struct csms_opts *
opts_csms(const struct opts *o)
{
	return &o->csms;
}

const struct control_opts *
opts_control(const struct opts *o)
{
	return &o->control;
}

const struct ems_opts *
opts_ems(const struct opts *o)
{
	return o->has_ems ? &o->ems : NULL;
}

const struct uplink_opts *
opts_uplink(const struct opts *o)
{
	return o->has_uplink ? &o->uplink : NULL;
}

const struct http_opts *
opts_http(const struct opts *o)
{
	return o->has_http ? &o->http : NULL;
}
