/*
 * gateway — see gateway.h.
 *
 * Module order matters: the store opens before anything that may write to
 * it, and modules are freed in the reverse order of creation so that none
 * outlives what it uses.
 *
 * systemd (util/sdnotify; every call a no-op when not started by it):
 * READY=1 goes out at the end of gateway_new, once every listener is bound
 * and the state file is open, so a unit ordered after ours finds the ports
 * taken; RELOADING=1 and READY=1 bracket a SIGHUP reload; STOPPING=1 when
 * a stop signal arrives. WATCHDOG=1 comes from a timer in the loop itself,
 * at half the WatchdogSec= period: a thread would keep pinging while the
 * loop hangs, which is exactly what the watchdog is there to catch.
 */
#include "app/gateway.h"

#include <event2/event.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/control.h"
#include "control/ems.h"
#include "app/config.h"
#include "app/opts.h"
#include "app/web.h"
#include "roles/csms.h"
#include "roles/uplink.h"
#include "site/site.h"
#include "site/store.h"
#include "util/isotime.h"
#include "util/log.h"
#include "util/sdnotify.h"

#define URL_LEN 300	/* a scheme, a host name, a port and a path */

struct gateway {
	char *config_path;
	struct config *cfg;
	struct opts *opts;		/* cfg as each module's options */
	struct store *store;
	struct site *site;
	struct event *flush_timer;	/* commits batched store writes */
	unsigned flushes;
	struct event *prune_timer;	/* drops meter samples past retention */
	struct csms *csms;
	struct event_base *base;
	struct event *sig_term, *sig_int, *sig_hup;
	struct ems *ems;		/* NULL without an mqtt section */
	struct control *control;
	struct uplink *uplink;		/* NULL without an upstream section */
	struct http *http;		/* NULL without a web section */
	struct web *web;		/* the page's routes, with http */
	struct event *watchdog;		/* WATCHDOG=1; NULL without WatchdogSec */
	bool notify_failed;		/* the last message to systemd failed */
	char chargers_url[URL_LEN];	/* where chargers connect, <id> last */
	char page_url[URL_LEN];		/* the installer's page; "" without */
	int exit_code;
};

/* scheme://host:port/path into buf; a literal IPv6 host in brackets, an
 * empty one (any address) as 0.0.0.0. */
static void
url_format(char *buf, size_t len, const char *scheme, const char *host,
    unsigned port, const char *path)
{
	bool v6;

	if (host == NULL || host[0] == '\0')
		host = "0.0.0.0";
	v6 = strchr(host, ':') != NULL;
	snprintf(buf, len, "%s://%s%s%s:%u%s", scheme, v6 ? "[" : "", host,
	    v6 ? "]" : "", port, path);
}

/* Tell systemd (when it listens). A failure is logged once, not at every
 * watchdog ping, and its end once too. */
static void notify(struct gateway *gw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
notify(struct gateway *gw, const char *fmt, ...)
{
	char msg[SDNOTIFY_MAX];
	va_list ap;
	int rc, n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof msg)
		abort();	/* our own fixed messages: a bug */
	rc = sdnotify_send(msg);
	if (rc != SDNOTIFY_OK && !gw->notify_failed) {
		char esc[LOG_ESC_LEN];

		log_warn("gateway", "cannot notify systemd socket=%s error=\"%s\"",
		    log_esc(esc, sizeof esc, getenv("NOTIFY_SOCKET")),
		    strerror(errno));
	} else if (rc == SDNOTIFY_OK && gw->notify_failed) {
		log_info("gateway", "notifying systemd again");
	}
	gw->notify_failed = rc != SDNOTIFY_OK;
}

/* The STATUS= systemd shows beside the unit (systemctl status). */
static void
notify_ready(struct gateway *gw)
{
	notify(gw, "READY=1\nSTATUS=ready: chargers on %s%s%s",
	    gw->chargers_url, gw->page_url[0] ? ", page on " : "", gw->page_url);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	notify(arg, "WATCHDOG=1");
}

/* With WatchdogSec= in the unit, a ping at half the period: one late
 * timer still arrives in time, a hung loop does not. */
static void
start_watchdog(struct gateway *gw)
{
	uint64_t usec = sdnotify_watchdog_usec();
	struct timeval half;

	if (usec == 0 || !sdnotify_enabled())
		return;
	usec /= 2;
	half.tv_sec = (time_t)(usec / 1000000);
	half.tv_usec = (suseconds_t)(usec % 1000000);
	gw->watchdog = event_new(gw->base, -1, EV_PERSIST, on_watchdog, gw);
	if (gw->watchdog == NULL || event_add(gw->watchdog, &half) != 0)
		abort();
	log_info("gateway", "watchdog ping_ms=%llu",
	    (unsigned long long)(usec / 1000));
}

/* libevent's own warnings go through our log. */
static void
libevent_log(int severity, const char *msg)
{
	char esc[LOG_ESC_LEN * 2];

	log_esc(esc, sizeof esc, msg);
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent", "msg=%s", esc);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent", "msg=%s", esc);
		break;
	case EVENT_LOG_WARN:
		log_warn("libevent", "msg=%s", esc);
		break;
	default:
		log_error("libevent", "msg=%s", esc);
		break;
	}
}

/* Log a multi-line error list, one log line per error. */
static void
log_lines(enum log_level level, const char *what, const char *path,
    const char *lines)
{
	char esc[LOG_ESC_LEN * 3], pesc[LOG_ESC_LEN];
	const char *p = lines;

	log_esc(pesc, sizeof pesc, path);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];

		snprintf(line, sizeof line, "%.*s", (int)n, p);
		if (log_enabled(level))
			log_write(level, "config", "%s file=%s error=%s", what, pesc,
			    log_esc(esc, sizeof esc, line));
		p = nl ? nl + 1 : NULL;
	}
}

/* Batched writes (meter readings) reach the disk once a second; every
 * CHECKPOINT_S the WAL goes into the database and is cut back, so that it
 * stays small even when a reader kept SQLite's own checkpoints short. */
#define CHECKPOINT_S 60
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)fd;
	(void)what;
	if (++gw->flushes % CHECKPOINT_S == 0)
		store_checkpoint(gw->store);
	else
		store_flush(gw->store);
}

static void
prune(struct gateway *gw)
{
	int64_t cutoff = isotime_now_ms() -
	    (int64_t)gw->cfg->meter_retention_days * 86400 * 1000;
	int64_t deleted = 0;

	if (store_samples_prune(gw->store, cutoff, &deleted) == STORE_OK &&
	    deleted > 0)
		log_info("store", "pruned samples=%lld retention_days=%d",
		    (long long)deleted, gw->cfg->meter_retention_days);
}

static void
on_prune(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	prune(arg);
}

static void
on_ems_limit(const struct ems_limit *limit, void *arg)
{
	struct gateway *gw = arg;

	if (gw->control != NULL)
		control_ems_limit(gw->control, limit);
	if (gw->uplink != NULL)
		uplink_ems_limit(gw->uplink, limit->source == EMS_SOURCE_EMS ?
		    limit->current_a : NULL);
}

static void
on_ems_evse_set(const struct ems_evse_set *set, void *arg)
{
	struct gateway *gw = arg;

	if (gw->control != NULL)
		control_evse_set(gw->control, set);
}

static struct ems *
start_ems(struct gateway *gw, const struct opts *opts)
{
	struct ems_callbacks cb = { on_ems_limit, on_ems_evse_set, gw };
	char *cause = NULL;
	struct ems *ems = ems_new(gw->base, opts_ems(opts), &cb, &cause);

	if (ems == NULL) {
		log_error("ems", "cannot start: %s", cause);
		free(cause);
		return NULL;
	}
	return ems;
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)what;
	log_info("gateway", "stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
	notify(gw, "STOPPING=1\nSTATUS=stopping");
	gw->exit_code = GATEWAY_EXIT_OK;
	event_base_loopexit(gw->base, NULL);
}

/* ------------------------------------------------------------ uplink
 * The upstream CSMS's limits go to the control loop as inputs; its
 * GetCompositeSchedule is answered from the allocation; the outbox and the
 * link state join the MQTT status document. */
static void
hook_station_limit(const double *limit_a, void *arg)
{
	struct gateway *gw = arg;

	if (gw->control != NULL)
		control_upstream_limit(gw->control, limit_a);
}

static void
hook_evse_cap(int number, double cap_a, void *arg)
{
	struct gateway *gw = arg;

	if (gw->control != NULL)
		control_upstream_cap(gw->control, number, cap_a);
}

static int
hook_offer(int number, double *limit_a, int *phases, void *arg)
{
	struct gateway *gw = arg;

	return gw->control != NULL ? control_offer(gw->control, number, limit_a,
	    phases) : -1;
}

static void
hook_state_changed(void *arg)
{
	struct gateway *gw = arg;

	if (gw->control != NULL)
		control_status_changed(gw->control);
}

static void
uplink_status(cJSON *doc, void *arg)
{
	struct gateway *gw = arg;
	struct uplink_state st;
	cJSON *u;

	u = cJSON_AddObjectToObject(doc, "uplink");
	if (gw->uplink == NULL) {
		cJSON_AddStringToObject(u, "state", "disabled");
		return;
	}
	uplink_state(gw->uplink, &st);
	cJSON_AddStringToObject(u, "state", st.link);
	cJSON_AddBoolToObject(u, "connected", st.connected);
	cJSON_AddStringToObject(u, "boot", st.boot);
	cJSON_AddNumberToObject(u, "outbox_depth", (double)st.depth);
	cJSON_AddNumberToObject(u, "outbox_oldest_age_s",
	    (double)(st.oldest_age_ms / 1000));
}

static int reload(struct gateway *gw, char **restart, char **errors);

static const struct config *
web_config(void *arg)
{
	struct gateway *gw = arg;

	return gw->cfg;
}

static int
web_reload(void *arg, char **restart, char **errors)
{
	return reload(arg, restart, errors);
}

/* The installer's page; logs its address, to open in a browser. */
static struct http *
start_http(struct gateway *gw, const struct http_opts *o)
{
	char *cause = NULL;
	struct http *h = http_new(gw->base, o, gw->store, &cause);
	struct web_deps d = { gw->base, NULL, gw->control, gw->csms, gw->site,
		gw->store, gw->config_path, web_config, web_reload, gw };

	if (h == NULL) {
		log_error("web", "cannot start: %s", cause);
		free(cause);
		return NULL;
	}
	d.http = h;
	gw->web = web_new(&d);
	url_format(gw->page_url, sizeof gw->page_url, http_scheme(h), o->host,
	    http_port(h), "/");
	log_info("web", "page at %s root=%s", gw->page_url, o->root);
	return h;
}

static struct uplink *
start_uplink(struct gateway *gw, const struct opts *opts)
{
	struct uplink_hooks h = { hook_station_limit, hook_evse_cap, hook_offer,
		hook_state_changed, gw };
	char *cause = NULL;
	struct uplink *ul = uplink_new(gw->base, opts_uplink(opts), gw->site,
	    gw->store, gw->csms, &h, &cause);

	if (ul == NULL) {
		log_error("uplink", "cannot start: %s", cause);
		free(cause);
	}
	return ul;
}

/* Apply a reload to the uplink: it goes with its section, starts with a
 * new one, or takes the new settings. */
static void
reload_uplink(struct gateway *gw, const struct config *cfg,
    const struct opts *opts)
{
	if (gw->uplink != NULL && cfg->upstream == NULL) {
		uplink_free(gw->uplink);
		gw->uplink = NULL;
		if (gw->control != NULL)
			control_upstream_limit(gw->control, NULL);
		log_info("uplink", "stopped: no upstream section any more");
	} else if (gw->uplink != NULL) {
		uplink_reconfigure(gw->uplink, opts_uplink(opts));
	} else if (cfg->upstream != NULL) {
		gw->uplink = start_uplink(gw, opts);
	}
}
/* ------------------------------------------------------------ end uplink */

/* Apply the file on disk to every module live. Returns 0, with *restart
 * (malloc'd, may be NULL) naming what needs a restart when asked for; -1
 * when the file is refused (its errors in *errors when asked for). */
static int
reload(struct gateway *gw, char **restart_out, char **errors_out)
{
	char *errors = NULL, *restart;
	int nerrors = 0;
	struct config *cfg = config_load(gw->config_path, &errors, &nerrors);
	struct opts *opts;

	if (cfg == NULL) {
		log_lines(LOG_LEVEL_ERROR, "reload refused", gw->config_path, errors);
		log_error("config", "reload refused errors=%d; the running "
		    "configuration stays", nerrors);
		if (errors_out != NULL)
			*errors_out = errors;
		else
			free(errors);
		return -1;
	}
	restart = config_restart_needed(gw->cfg, cfg);
	if (restart != NULL)
		log_lines(LOG_LEVEL_WARN, "needs restart", gw->config_path, restart);
	if (restart_out != NULL)
		*restart_out = restart;
	else
		free(restart);
	log_set_level(cfg->log_level);
	opts = opts_new(cfg);
	site_reconfigure(gw->site, opts_site(opts));
	csms_reconfigure(gw->csms, opts_csms(opts));
	/* The EMS link goes away with its section, or reconnects. */
	if (gw->ems != NULL && cfg->mqtt == NULL) {
		ems_free(gw->ems);
		gw->ems = NULL;
		log_info("ems", "stopped: no mqtt section any more");
	} else if (gw->ems != NULL) {
		char *cause = NULL;

		if (ems_reconfigure(gw->ems, opts_ems(opts), &cause) != EMS_OK) {
			log_error("ems", "reconfigure refused: %s; the running "
			    "link stays", cause);
			free(cause);
		}
	} else if (cfg->mqtt != NULL) {
		gw->ems = start_ems(gw, opts);
	}
	{
		char *cause = NULL;

		if (control_reconfigure(gw->control, opts_control(opts), gw->ems,
		    &cause) != 0) {
			log_error("control", "reconfigure refused: %s", cause);
			free(cause);
		}
	}
	reload_uplink(gw, cfg, opts);

	opts_free(gw->opts);
	config_free(gw->cfg);
	gw->cfg = cfg;
	gw->opts = opts;
	log_info("config", "reloaded chargers=%zu circuits=%zu", cfg->nchargers,
	    cfg->site.ncircuits);
	return 0;
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gateway *gw = arg;
	struct timespec now;

	(void)sig;
	(void)what;
	log_info("gateway", "reloading signal=HUP");
	/* MONOTONIC_USEC: what Type=notify-reload matches the reload by. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	notify(gw, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)now.tv_sec * 1000000ULL +
	    (unsigned long long)now.tv_nsec / 1000);
	/* Refused or applied, the gateway runs on: ready again either way. */
	reload(gw, NULL, NULL);
	notify_ready(gw);
}

struct gateway *
gateway_new(const char *config_path, int *exit_code)
{
	struct gateway *gw = calloc(1, sizeof *gw);
	char *errors = NULL, *cause = NULL, esc[3][LOG_ESC_LEN];
	int nerrors = 0, serr;
	int64_t starts = 0;

	if (gw == NULL || (gw->config_path = strdup(config_path)) == NULL)
		abort();
	event_set_log_callback(libevent_log);
	/* A peer that closes while we write must not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	gw->cfg = config_load(config_path, &errors, &nerrors);
	if (gw->cfg == NULL) {
		log_lines(LOG_LEVEL_ERROR, "invalid", config_path, errors);
		log_error("config", "cannot start errors=%d", nerrors);
		free(errors);
		*exit_code = GATEWAY_EXIT_CONFIG;
		goto fail;
	}
	log_set_level(gw->cfg->log_level);
	gw->opts = opts_new(gw->cfg);

	gw->store = store_open(gw->cfg->state_file, &serr, &cause);
	if (gw->store == NULL) {
		log_error("store", "cannot start: %s", cause);
		free(cause);
		*exit_code = GATEWAY_EXIT_STATE;
		goto fail;
	}
	/* A state file that takes no writes (a full disk) does not stop the
	 * gateway: chargers are still served, and what cannot be stored is
	 * refused message by message until space returns. */
	if (store_count_start(gw->store, &starts) != STORE_OK)
		log_error("store", "cannot write the state file path=%s: starting "
		    "anyway; messages that must be stored are refused until it "
		    "takes writes again", gw->cfg->state_file);

	gw->site = site_new(gw->store, opts_site(gw->opts), &cause);
	if (gw->site == NULL) {
		log_error("site", "cannot start: %s", cause);
		free(cause);
		*exit_code = GATEWAY_EXIT_STATE;
		goto fail;
	}

	gw->base = event_base_new();
	if (gw->base == NULL)
		abort();
	{
		struct timeval second = { 1, 0 }, hour = { 3600, 0 };

		gw->flush_timer = event_new(gw->base, -1, EV_PERSIST, on_flush, gw);
		gw->prune_timer = event_new(gw->base, -1, EV_PERSIST, on_prune, gw);
		if (gw->flush_timer == NULL || gw->prune_timer == NULL ||
		    event_add(gw->flush_timer, &second) != 0 ||
		    event_add(gw->prune_timer, &hour) != 0)
			abort();
		prune(gw);
	}
	gw->sig_term = evsignal_new(gw->base, SIGTERM, on_stop, gw);
	gw->sig_int = evsignal_new(gw->base, SIGINT, on_stop, gw);
	gw->sig_hup = evsignal_new(gw->base, SIGHUP, on_hup, gw);
	if (!gw->sig_term || !gw->sig_int || !gw->sig_hup ||
	    evsignal_add(gw->sig_term, NULL) || evsignal_add(gw->sig_int, NULL) ||
	    evsignal_add(gw->sig_hup, NULL))
		abort();

	/* The chargers' CSMS first: the EMS status reports on its site. */
	gw->csms = csms_new(gw->base, opts_csms(gw->opts), gw->site, &cause);
	if (gw->csms == NULL) {
		log_error("ocpp", "cannot start: %s", cause);
		free(cause);
		*exit_code = GATEWAY_EXIT_START;
		goto fail;
	}
	if (gw->cfg->mqtt != NULL &&
	    (gw->ems = start_ems(gw, gw->opts)) == NULL) {
		*exit_code = GATEWAY_EXIT_START;
		goto fail;
	}
	gw->control = control_new(gw->base, opts_control(gw->opts), gw->site,
	    gw->csms, gw->ems, &cause);
	if (gw->control == NULL) {
		log_error("control", "cannot start: %s", cause);
		free(cause);
		*exit_code = GATEWAY_EXIT_START;
		goto fail;
	}
	control_set_status_fn(gw->control, uplink_status, gw);
	if (gw->cfg->upstream != NULL &&
	    (gw->uplink = start_uplink(gw, gw->opts)) == NULL) {
		*exit_code = GATEWAY_EXIT_START;
		goto fail;
	}

	if (opts_http(gw->opts) != NULL &&
	    (gw->http = start_http(gw, opts_http(gw->opts))) == NULL) {
		*exit_code = GATEWAY_EXIT_START;
		goto fail;
	}

	url_format(gw->chargers_url, sizeof gw->chargers_url,
	    gw->cfg->ocpp.tls ? "wss" : "ws", gw->cfg->ocpp.listen.host,
	    csms_port(gw->csms), "/ocpp/<id>");
	start_watchdog(gw);
	log_info("gateway", "ready version=%s site=%s config=%s state=%s "
	    "starts=%lld chargers=%s page=%s", SITEGATE_VERSION,
	    log_esc(esc[0], sizeof esc[0], gw->cfg->site_id),
	    log_esc(esc[1], sizeof esc[1], config_path),
	    log_esc(esc[2], sizeof esc[2], gw->cfg->state_file),
	    (long long)starts, gw->chargers_url,
	    gw->page_url[0] ? gw->page_url : "off");
	notify_ready(gw);
	*exit_code = GATEWAY_EXIT_OK;
	return gw;
fail:
	gateway_free(gw);
	return NULL;
}

int
gateway_run(struct gateway *gw)
{
	gw->exit_code = GATEWAY_EXIT_OK;
	if (event_base_dispatch(gw->base) < 0) {
		log_error("gateway", "event loop failed");
		return GATEWAY_EXIT_START;
	}
	return gw->exit_code;
}

void
gateway_free(struct gateway *gw)
{
	if (gw == NULL)
		return;
	/* In the reverse order of creation. */
	web_free(gw->web);
	http_free(gw->http);
	uplink_free(gw->uplink);
	control_free(gw->control);
	ems_free(gw->ems);
	csms_free(gw->csms);
	if (gw->watchdog)
		event_free(gw->watchdog);
	if (gw->flush_timer)
		event_free(gw->flush_timer);
	if (gw->prune_timer)
		event_free(gw->prune_timer);
	if (gw->sig_term)
		event_free(gw->sig_term);
	if (gw->sig_int)
		event_free(gw->sig_int);
	if (gw->sig_hup)
		event_free(gw->sig_hup);
	if (gw->base)
		event_base_free(gw->base);
	site_free(gw->site);
	store_close(gw->store);	/* commits what is still batched */
	opts_free(gw->opts);
	config_free(gw->cfg);
	free(gw->config_path);
	free(gw);
}
