/*
 * web — what the installer's page can see and change, on the http
 * server's routes (docs/web.md is the contract).
 *
 * The http module serves files, checks sessions, CSRF tokens and bodies;
 * this module, beside the composition root, answers the routes with the
 * gateway's modules: the site's state and its live updates from control,
 * the configuration file read, validated, written and applied, chargers
 * waiting for approval, caps and priorities, history, sessions, the log.
 *
 * Live updates: while at least one page is open, every WEB_PUSH_MS the
 * state is built — unless control says nothing changed since the last
 * event (control_changes), when it waits up to WEB_IDLE_REFRESH_MS (for
 * the ages) — and compared with the one sent last, EVSE by EVSE (a hash of
 * each EVSE's printed document), so that an event carries only the EVSEs
 * that changed and nothing is sent when nothing did; a page that just
 * opened gets the whole state. The event's text is put together from the
 * texts printed for the comparison: each EVSE is printed once per push.
 * With no page open nothing is built.
 *
 * A configuration change goes through the same parser as --check-config
 * (confedit), is written atomically, and is applied by the gateway's own
 * reload, the one SIGHUP runs.
 */
#ifndef SITEGATE_WEB_H
#define SITEGATE_WEB_H

#include <event2/event.h>

#include "app/config.h"

#define WEB_PUSH_MS 500
#define WEB_IDLE_REFRESH_MS 5000

struct web;
struct http;
struct control;
struct csms;
struct site;
struct store;

/* What the page works with; pointers are not owned and outlive the web. */
struct web_deps {
	struct event_base *base;
	struct http *http;
	struct control *control;
	struct csms *csms;
	struct site *site;
	struct store *store;
	const char *config_path;
	/* The running configuration. */
	const struct config *(*config)(void *arg);
	/* Reload the file on disk exactly as SIGHUP does. Returns 0 when
	 * applied, with *restart (malloc'd, one key per line; NULL: none)
	 * naming what only a restart applies; -1 when refused (*errors). */
	int (*reload)(void *arg, char **restart, char **errors);
	void *arg;
};

/* Register the routes and start the live updates. Never returns NULL. */
struct web *web_new(const struct web_deps *d);

/* Stop and free. NULL is a no-op. */
void web_free(struct web *w);

#endif
