/*
 * gateway — see gateway.h.
 *
 * Module order matters: the store opens before anything that may write to
 * it, and modules are freed in the reverse order of creation so that none
 * outlives what it uses.
 */
#include "core/gateway.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "site/store.h"
#include "util/log.h"

struct gateway {
	char *config_path;
	struct config *cfg;
	struct store *store;
	struct event_base *base;
	struct event *sig_term, *sig_int, *sig_hup;
	int exit_code;
};

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

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct gateway *gw = arg;

	(void)what;
	log_info("gateway", "stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
	gw->exit_code = GATEWAY_EXIT_OK;
	event_base_loopexit(gw->base, NULL);
}

static void
reload(struct gateway *gw)
{
	char *errors = NULL, *restart;
	int nerrors = 0;
	struct config *cfg = config_load(gw->config_path, &errors, &nerrors);

	if (cfg == NULL) {
		log_lines(LOG_LEVEL_ERROR, "reload refused", gw->config_path, errors);
		log_error("config", "reload refused errors=%d; the running "
		    "configuration stays", nerrors);
		free(errors);
		return;
	}
	restart = config_restart_needed(gw->cfg, cfg);
	if (restart != NULL) {
		log_lines(LOG_LEVEL_WARN, "needs restart", gw->config_path, restart);
		free(restart);
	}
	log_set_level(cfg->log_level);
	/* csms: reconfigure */

	config_free(gw->cfg);
	gw->cfg = cfg;
	log_info("config", "reloaded chargers=%zu circuits=%zu", cfg->nchargers,
	    cfg->site.ncircuits);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_info("gateway", "reloading signal=HUP");
	reload(arg);
}

struct gateway *
gateway_new(const char *config_path, int *exit_code)
{
	struct gateway *gw = calloc(1, sizeof *gw);
	char *errors = NULL, *cause = NULL;
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

	gw->store = store_open(gw->cfg->state_file, &serr, &cause);
	if (gw->store == NULL) {
		log_error("store", "cannot start: %s", cause);
		free(cause);
		*exit_code = GATEWAY_EXIT_STATE;
		goto fail;
	}
	if (store_count_start(gw->store, &starts) != STORE_OK) {
		log_error("store", "cannot write the state file path=%s",
		    gw->cfg->state_file);
		*exit_code = GATEWAY_EXIT_STATE;
		goto fail;
	}

	gw->base = event_base_new();
	if (gw->base == NULL)
		abort();
	gw->sig_term = evsignal_new(gw->base, SIGTERM, on_stop, gw);
	gw->sig_int = evsignal_new(gw->base, SIGINT, on_stop, gw);
	gw->sig_hup = evsignal_new(gw->base, SIGHUP, on_hup, gw);
	if (!gw->sig_term || !gw->sig_int || !gw->sig_hup ||
	    evsignal_add(gw->sig_term, NULL) || evsignal_add(gw->sig_int, NULL) ||
	    evsignal_add(gw->sig_hup, NULL))
		abort();

	/* csms: create */

	log_info("gateway", "ready version=%s site=%s config=%s state=%s "
	    "starts=%lld", SITEGATE_VERSION, gw->cfg->site_id, config_path,
	    gw->cfg->state_file, (long long)starts);
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
	/* csms: free */
	if (gw->sig_term)
		event_free(gw->sig_term);
	if (gw->sig_int)
		event_free(gw->sig_int);
	if (gw->sig_hup)
		event_free(gw->sig_hup);
	if (gw->base)
		event_base_free(gw->base);
	store_close(gw->store);
	config_free(gw->cfg);
	free(gw->config_path);
	free(gw);
}
