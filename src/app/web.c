/*
 * web — see web.h.
 *
 * Every route answers before it returns. What a route reads from disk
 * (the configuration file) is read whole, bounded, on the loop: it is a
 * few kilobytes, read when an installer clicks.
 */
#include "app/web.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "app/confedit.h"
#include "app/gateway.h"
#include "control/control.h"
#include "control/emsmsg.h"
#include "http/http.h"
#include "roles/csms.h"
#include "site/site.h"
#include "site/store.h"
#include "util/isotime.h"
#include "util/json.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

#define MOD "web"
#define CONFIG_MAX_BYTES (1024 * 1024)
#define SESSIONS_MAX 100000
#define LOG_LINES_MAX 500

struct web {
	struct web_deps d;
	struct event *push;
	/* What the streams were sent last: each EVSE's number and the hash
	 * of its document, in the state's order, and the hash of the rest. */
	int *sent_numbers;
	uint64_t *sent_hashes;
	size_t nsent;
	uint64_t sent_rest;
	uint64_t sent_changes;		/* control_changes() then */
	int64_t sent_ms;		/* monotonic */
	bool sent_any;
};

static const struct config *
cfg_of(struct web *w)
{
	return w->d.config(w->d.arg);
}

/* The whole configuration file, NUL-terminated; NULL with *cause. */
static char *
read_config(struct web *w, size_t *len, char **cause)
{
	FILE *f = fopen(w->d.config_path, "rb");
	char *text;
	size_t n;

	if (f == NULL) {
		*cause = xasprintf("cannot read %s: %s", w->d.config_path,
		    strerror(errno));
		return NULL;
	}
	text = xmalloc(CONFIG_MAX_BYTES + 1);
	n = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f) || n > CONFIG_MAX_BYTES) {
		*cause = xasprintf("cannot read %s: %s", w->d.config_path,
		    ferror(f) ? strerror(errno) : "over 1 MiB");
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	text[n] = '\0';
	*len = n;
	return text;
}

/* 64-bit FNV-1a: tells documents apart, cheaply. */
static uint64_t
hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* ------------------------------------------------------------ state */

/* Where chargers connect; "{host}" when the gateway listens on every
 * address (the page puts in the name it was reached by). */
static void
add_charger_url(struct web *w, cJSON *doc)
{
	const struct config *cfg = cfg_of(w);
	const char *host = cfg->ocpp.listen.host;
	bool any = host == NULL || host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "::") == 0;
	bool v6 = !any && strchr(host, ':') != NULL;
	char url[320];

	snprintf(url, sizeof url, "%s://%s%s%s:%u/ocpp/",
	    cfg->ocpp.tls ? "wss" : "ws", v6 ? "[" : "", any ? "{host}" : host,
	    v6 ? "]" : "", cfg->ocpp.listen.port);
	cJSON_AddStringToObject(doc, "charger_url", url);
}

static cJSON *
state_doc(struct web *w)
{
	cJSON *doc = control_state_doc(w->d.control);

	if (doc != NULL)
		add_charger_url(w, doc);
	return doc;
}

static void
route_state(struct http_req *r, void *arg)
{
	cJSON *doc = state_doc(arg);

	if (doc == NULL) {
		http_req_add_header(r, "Retry-After", "1");
		http_reply_error(r, 503, "the site is changing; ask again in a "
		    "moment");
		return;
	}
	http_reply_json(r, 200, doc);
}

/* text with its final '}' replaced by tail (the rest of the object). */
static void
buf_object_tail(struct evbuffer *b, const char *text, size_t len)
{
	evbuffer_add(b, text, len - 1);
}

/* The event text: rest (an object's text) + "full" + the EVSEs' texts
 * (those of pick, or all when pick is NULL). Built from the texts printed
 * for the comparison, so that nothing is printed twice. */
static char *
event_text(const char *rest, size_t rlen, bool full, char **texts,
    size_t *lens, const bool *pick, size_t n)
{
	struct evbuffer *b = evbuffer_new();
	bool first = true;
	size_t len;
	char *out;

	if (b == NULL)
		abort();
	buf_object_tail(b, rest, rlen);
	evbuffer_add_printf(b, ",\"full\":%s,\"evses\":[", full ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		if (pick != NULL && !pick[i])
			continue;
		if (!first)
			evbuffer_add(b, ",", 1);
		evbuffer_add(b, texts[i], lens[i]);
		first = false;
	}
	evbuffer_add(b, "]}", 3);	/* with the NUL */
	len = evbuffer_get_length(b);
	out = xmalloc(len);
	evbuffer_remove(b, out, len);
	evbuffer_free(b);
	return out;
}

/* The live updates: what changed since the last event. */
static void
on_push(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;
	bool want_full = http_events_want_full(w->d.http), same_set, any = false;
	int64_t now = isotime_mono_ms();
	uint64_t changes = control_changes(w->d.control);
	cJSON *doc, *evses, *e;
	int *numbers;
	uint64_t *hashes, rest_hash;
	size_t n, i = 0, rlen = 0, *lens;
	char **texts, *rest, *full = NULL, *part = NULL;
	bool *changed;

	(void)fd;
	(void)what;
	if (http_events_clients(w->d.http) == 0) {
		w->sent_any = false;
		return;
	}
	/* Nothing happened: nothing to build, but for the ages now and then. */
	if (w->sent_any && !want_full && changes == w->sent_changes &&
	    now - w->sent_ms < WEB_IDLE_REFRESH_MS)
		return;
	if ((doc = state_doc(w)) == NULL)
		return;			/* the site is changing: next time */
	evses = cJSON_DetachItemFromObject(doc, "evses");
	n = (size_t)cJSON_GetArraySize(evses);
	numbers = xcalloc(n + 1, sizeof *numbers);
	hashes = xcalloc(n + 1, sizeof *hashes);
	texts = xcalloc(n + 1, sizeof *texts);
	lens = xcalloc(n + 1, sizeof *lens);
	changed = xcalloc(n + 1, sizeof *changed);
	same_set = w->sent_any && n == w->nsent;
	cJSON_ArrayForEach(e, evses) {
		numbers[i] = json_int(e, "evse", 0);
		texts[i] = json_print(e, &lens[i]);
		hashes[i] = hash(texts[i], lens[i]);
		if (same_set && numbers[i] != w->sent_numbers[i])
			same_set = false;
		changed[i] = !same_set || hashes[i] != w->sent_hashes[i];
		any = any || changed[i];
		i++;
	}
	rest = json_print(doc, &rlen);
	rest_hash = hash(rest, rlen);

	if (want_full || !same_set)
		full = event_text(rest, rlen, true, texts, lens, NULL, n);
	if (!same_set)
		part = full;		/* EVSEs came or went: all start again */
	else if (any || rest_hash != w->sent_rest)
		part = event_text(rest, rlen, false, texts, lens, changed, n);
	if (full != NULL || part != NULL)
		http_events_send(w->d.http, "state", full, part);
	if (part != full)
		free(part);
	free(full);
	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	free(changed);
	free(rest);
	free(w->sent_numbers);
	free(w->sent_hashes);
	w->sent_numbers = numbers;
	w->sent_hashes = hashes;
	w->nsent = n;
	w->sent_rest = rest_hash;
	w->sent_changes = changes;
	w->sent_ms = now;
	w->sent_any = true;
	cJSON_Delete(evses);
	cJSON_Delete(doc);
}

static void
route_history(struct http_req *r, void *arg)
{
	struct web *w = arg;

	http_reply_json(r, 200, control_history_doc(w->d.control));
}

static void
route_trend(struct http_req *r, void *arg)
{
	struct web *w = arg;

	http_reply_json(r, 200, control_trend_doc(w->d.control));
}

/* POST /api/evses/<n>: the semantics (and the parser) of evse/<n>/set. */
static void
route_evse(struct http_req *r, void *arg)
{
	struct web *w = arg;
	struct ems_evse_set set;
	char why[256];
	int64_t n;
	size_t len = 0;
	char *text;
	int rc;

	if (num_parse_i64(http_req_param(r), 1, SITE_EVSE_NUMBER_MAX, &n) != 0) {
		http_reply_error(r, 404, "no EVSE number %s: expected 1 to %d",
		    http_req_param(r), SITE_EVSE_NUMBER_MAX);
		return;
	}
	if (http_req_body(r) == NULL) {
		http_reply_error(r, 400, "expected a body: {\"max_current_a\": "
		    "number or null, \"priority\": integer}");
		return;
	}
	text = json_print(http_req_body(r), &len);
	rc = emsmsg_evse_set_parse(text, len, &set, why, sizeof why);
	free(text);
	if (rc != EMS_OK) {
		http_reply_invalid(r, why, confedit_errors(why));
		return;
	}
	set.evse = (int)n;
	control_evse_set(w->d.control, &set);
	{
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddNumberToObject(doc, "evse", (double)n);
		http_reply_json(r, 200, doc);
	}
}

/* ------------------------------------------------------------ sessions */

struct csv {
	char *buf;
	size_t len, cap;
};

static void
csv_put(struct csv *c, const char *s, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		c->cap = (c->len + n + 1) * 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	c->buf[c->len] = '\0';
}

/* One field, quoted when it holds a comma, a quote or a line break; a
 * leading = + - @ is prefixed with ' so that a spreadsheet never runs a
 * charger-supplied token as a formula. */
static void
csv_field(struct csv *c, const char *s, bool last)
{
	bool quote = s != NULL && strpbrk(s, ",\"\r\n") != NULL;

	if (s != NULL && s[0] != '\0' && strchr("=+-@", s[0]) != NULL &&
	    !(s[0] == '-' && s[1] >= '0' && s[1] <= '9'))
		csv_put(c, "'", 1);
	if (quote)
		csv_put(c, "\"", 1);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"')
			csv_put(c, "\"", 1);
		csv_put(c, s, 1);
	}
	if (quote)
		csv_put(c, "\"", 1);
	csv_put(c, last ? "\r\n" : ",", last ? 2 : 1);
}

static void
csv_time(struct csv *c, int64_t ms)
{
	char t[ISOTIME_LEN] = "";

	if (ms > 0)
		isotime_format(ms, t);
	csv_field(c, t, false);
}

static void
csv_num(struct csv *c, double v, bool have, bool last)
{
	char t[40] = "";

	if (have)
		snprintf(t, sizeof t, "%.0f", v);
	csv_field(c, t, last);
}

static void
on_session_row(const struct store_session_row *row, void *arg)
{
	struct csv *c = arg;
	char t[32];
	bool closed = !row->open;

	snprintf(t, sizeof t, "%lld", (long long)row->id);
	csv_field(c, t, false);
	csv_field(c, row->charger_id, false);
	snprintf(t, sizeof t, "%d", row->evse);
	csv_field(c, t, false);
	snprintf(t, sizeof t, "%d", row->connector);
	csv_field(c, t, false);
	csv_field(c, row->charger_tx_id, false);
	csv_field(c, row->id_token, false);
	csv_time(c, row->start_ms);
	csv_time(c, closed ? row->stop_ms : 0);
	csv_num(c, row->meter_start_wh, true, false);
	csv_num(c, row->meter_stop_wh, closed, false);
	csv_num(c, row->meter_stop_wh - row->meter_start_wh, closed, false);
	csv_field(c, closed ? row->stop_reason : NULL, true);
}

static void
route_sessions(struct http_req *r, void *arg)
{
	struct web *w = arg;
	struct csv c = { 0 };

	csv_put(&c, "id,charger,evse,connector,transaction_id,id_token,started,"
	    "stopped,meter_start_wh,meter_stop_wh,energy_wh,stop_reason\r\n",
	    strlen("id,charger,evse,connector,transaction_id,id_token,started,"
	    "stopped,meter_start_wh,meter_stop_wh,energy_wh,stop_reason\r\n"));
	if (store_sessions_list(w->d.store, SESSIONS_MAX, on_session_row, &c) !=
	    STORE_OK) {
		free(c.buf);
		http_reply_error(r, 500, "cannot read the sessions from the "
		    "state file");
		return;
	}
	http_reply_data(r, 200, "text/csv; charset=utf-8", "sessions.csv", c.buf,
	    c.len);
	free(c.buf);
}

/* ------------------------------------------------------------ config */

static cJSON *
config_doc(const char *text, size_t len, char **cause)
{
	char version[CONFEDIT_VERSION_LEN];
	cJSON *pub = confedit_public(text, len, cause), *doc;

	if (pub == NULL)
		return NULL;
	confedit_version(text, len, version);
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "version", version);
	cJSON_AddItemToObject(doc, "config", pub);
	cJSON_AddItemToObject(doc, "restart_keys", confedit_restart_keys());
	return doc;
}

static void
route_config_get(struct http_req *r, void *arg)
{
	struct web *w = arg;
	size_t len = 0;
	char *cause = NULL, *text = read_config(w, &len, &cause), etag[40];
	cJSON *doc;

	if (text == NULL || (doc = config_doc(text, len, &cause)) == NULL) {
		http_reply_error(r, 500, "%s", cause);
		free(cause);
		free(text);
		return;
	}
	snprintf(etag, sizeof etag, "\"%s\"", json_str(doc, "version"));
	http_req_add_header(r, "ETag", etag);
	free(text);
	http_reply_json(r, 200, doc);
}

static void
route_config_export(struct http_req *r, void *arg)
{
	struct web *w = arg;
	size_t len = 0, plen = 0;
	char *cause = NULL, *text = read_config(w, &len, &cause), *out;
	cJSON *pub;

	if (text == NULL || (pub = confedit_public(text, len, &cause)) == NULL) {
		http_reply_error(r, 500, "%s", cause);
		free(cause);
		free(text);
		return;
	}
	free(text);
	out = cJSON_Print(pub);
	cJSON_Delete(pub);
	plen = strlen(out);
	http_reply_data(r, 200, "application/json", "sitegate-config.json", out,
	    plen);
	free(out);
}

/* A list of lines as a JSON array of strings. */
static cJSON *
lines_array(const char *lines)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = lines;

	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xasprintf("%.*s", (int)n, p);

		if (n > 0)
			cJSON_AddItemToArray(a, cJSON_CreateString(line));
		free(line);
		p = nl ? nl + 1 : NULL;
	}
	return a;
}

/* Validate doc against the file on disk (current), write it and apply it
 * as SIGHUP does; answers r. extra (may be NULL) joins a success. Returns
 * whether the new file is in force. */
static bool
save(struct web *w, struct http_req *r, const char *current, size_t len,
    const cJSON *doc, cJSON *extra)
{
	cJSON *errors = NULL, *ok;
	char *text, *cause = NULL, *restart = NULL, *rerr = NULL;
	char version[CONFEDIT_VERSION_LEN];
	int rc;

	text = confedit_apply(current, len, doc, &errors, NULL);
	if (text == NULL) {
		int n = cJSON_GetArraySize(errors);

		cJSON_Delete(extra);
		http_reply_invalid(r, n == 1 ? "the configuration has 1 error" :
		    "the configuration has errors", errors);
		return false;
	}
	rc = confedit_write(w->d.config_path, text, strlen(text), &cause);
	if (rc == CONFEDIT_ERR_UNSYNCED) {
		/* The new file is in place; only its durability is in doubt.
		 * It is what a restart would read: apply it. */
		log_error(MOD, "configuration saved but not synced: %s", cause);
		free(cause);
		cause = NULL;
	} else if (rc != CONFEDIT_OK) {
		log_error(MOD, "cannot save the configuration: %s", cause);
		http_reply_error(r, 500, "%s", cause);
		free(cause);
		free(text);
		cJSON_Delete(extra);
		return false;
	}
	confedit_version(text, strlen(text), version);
	free(text);
	log_info(MOD, "configuration saved from the page file=%s version=%s",
	    w->d.config_path, version);
	if (w->d.reload(w->d.arg, &restart, &rerr) != 0) {
		/* Validated above by the same parser: only a file changed by
		 * hand in between gets here. */
		http_reply_error(r, 500, "saved, but the reload refused it: %s",
		    rerr ? rerr : "?");
		free(rerr);
		cJSON_Delete(extra);
		return false;
	}
	ok = extra != NULL ? extra : cJSON_CreateObject();
	cJSON_AddStringToObject(ok, "version", version);
	cJSON_AddItemToObject(ok, "restart_needed", lines_array(restart));
	free(restart);
	http_reply_json(r, 200, ok);
	return true;
}

static void
route_config_put(struct http_req *r, void *arg, bool import)
{
	struct web *w = arg;
	const char *match = http_req_header(r, "If-Match");
	char version[CONFEDIT_VERSION_LEN], *cause = NULL, *text;
	size_t len = 0, mlen;

	if (http_req_body(r) == NULL) {
		http_reply_error(r, 400, "expected the configuration as a JSON "
		    "object");
		return;
	}
	if (!import && match == NULL) {
		http_reply_error(r, 428, "If-Match is required: the version the "
		    "change was made on");
		return;
	}
	if ((text = read_config(w, &len, &cause)) == NULL) {
		http_reply_error(r, 500, "%s", cause);
		free(cause);
		return;
	}
	confedit_version(text, len, version);
	if (!import) {
		/* With or without the quotes of an ETag. */
		if (match[0] == '"')
			match++;
		mlen = strlen(match);
		if (mlen > 0 && match[mlen - 1] == '"')
			mlen--;
		if (mlen != strlen(version) || strncmp(match, version, mlen) != 0) {
			cJSON *doc = cJSON_CreateObject();

			cJSON_AddStringToObject(doc, "error", "the configuration "
			    "changed since it was loaded (another browser, or by "
			    "hand); load it again and redo the change");
			cJSON_AddStringToObject(doc, "version", version);
			free(text);
			http_reply_json(r, 409, doc);
			return;
		}
	}
	save(w, r, text, len, http_req_body(r), NULL);
	free(text);
}

static void
route_config(struct http_req *r, void *arg)
{
	if (http_req_method(r) == HTTP_GET)
		route_config_get(r, arg);
	else
		route_config_put(r, arg, false);
}

static void
route_config_import(struct http_req *r, void *arg)
{
	route_config_put(r, arg, true);
}

/* ------------------------------------------------------------ approval */

/* A charger that waits for approval: known, not configured. */
static struct site_charger *
waiting_charger(struct web *w, const char *id)
{
	struct site_charger *ch = site_charger(w->d.site, id);

	return ch != NULL && !ch->configured ? ch : NULL;
}

/* chargers[<index>].x → x: the approve form's own field names. */
static void
strip_prefix(cJSON *errors, int index)
{
	char prefix[32];
	size_t plen;
	cJSON *e;

	plen = (size_t)snprintf(prefix, sizeof prefix, "chargers[%d].", index);
	cJSON_ArrayForEach(e, errors) {
		const char *path = json_str(e, "path");

		if (path != NULL && strncmp(path, prefix, plen) == 0) {
			char *rest = xstrdup(path + plen);

			cJSON_ReplaceItemInObject(e, "path", cJSON_CreateString(rest));
			free(rest);
		}
	}
}

static void
route_approve(struct http_req *r, void *arg)
{
	struct web *w = arg;
	const char *id = http_req_param(r);
	const cJSON *b = http_req_body(r);
	const cJSON *max = b ? cJSON_GetObjectItemCaseSensitive(b, "max_current_a") :
	    NULL;
	const cJSON *phases = b ? cJSON_GetObjectItemCaseSensitive(b, "phases") :
	    NULL;
	char gen[CONFEDIT_PASSWORD_LEN + 1] = "", *cause = NULL, *text, *out;
	cJSON *pub, *errors = NULL, *extra;
	size_t len = 0;
	int index;
	bool saved;
	struct ocpp_command cmd;

	if (waiting_charger(w, id) == NULL) {
		http_reply_error(r, 404, "no charger %s waits for approval", id);
		return;
	}
	if (b == NULL || json_str(b, "circuit") == NULL || !cJSON_IsNumber(max) ||
	    !cJSON_IsNumber(phases)) {
		http_reply_error(r, 400, "expected {\"circuit\": string, "
		    "\"max_current_a\": number, \"phases\": 1 or 3, "
		    "\"phase_rotation\": string (optional), \"password\": "
		    "string (optional)}");
		return;
	}
	if ((text = read_config(w, &len, &cause)) == NULL ||
	    (pub = confedit_public(text, len, &cause)) == NULL) {
		http_reply_error(r, 500, "%s", cause);
		free(cause);
		free(text);
		return;
	}
	index = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pub,
	    "chargers"));
	if (confedit_add_charger(pub, id, json_str(b, "circuit"),
	    max->valuedouble, (int)phases->valuedouble,
	    json_str(b, "phase_rotation"), json_str(b, "password"), gen,
	    &cause) != 0) {
		http_reply_error(r, 409, "%s", cause);
		free(cause);
		cJSON_Delete(pub);
		free(text);
		return;
	}
	/* Check first, to name the form's fields in the errors. */
	if ((out = confedit_apply(text, len, pub, &errors, NULL)) == NULL) {
		strip_prefix(errors, index);
		http_reply_invalid(r, "the charger cannot be added", errors);
		cJSON_Delete(pub);
		free(text);
		return;
	}
	free(out);
	extra = cJSON_CreateObject();
	cJSON_AddStringToObject(extra, "charger", id);
	if (gen[0] != '\0')
		cJSON_AddStringToObject(extra, "password", gen);
	saved = save(w, r, text, len, pub, extra);
	cJSON_Delete(pub);
	free(text);
	if (!saved)
		return;
	/* Accepted at its next boot: ask for one now. */
	memset(&cmd, 0, sizeof cmd);
	cmd.type = OCPP_CMD_TRIGGER;
	snprintf(cmd.u.trigger.message, sizeof cmd.u.trigger.message,
	    "BootNotification");
	if (csms_command(w->d.csms, id, &cmd, NULL, NULL) == 0)
		log_info(MOD, "approved charger=%s; asked it to boot again", id);
}

static void
route_forget(struct http_req *r, void *arg)
{
	struct web *w = arg;
	const char *id = http_req_param(r);
	struct site_charger *ch = waiting_charger(w, id);

	if (ch == NULL) {
		http_reply_error(r, 404, "no charger %s waits for approval", id);
		return;
	}
	if (ch->connected)
		csms_disconnect(w->d.csms, id);
	if (site_charger_forget(w->d.site, id) != 0) {
		http_reply_error(r, 500, "cannot forget %s", id);
		return;
	}
	log_info(MOD, "forgot waiting charger=%s", id);
	http_reply_json(r, 200, cJSON_CreateObject());
}

/* ------------------------------------------------------------ diagnostics */

struct lines {
	cJSON *arr;
};

static void
on_log_line(int64_t ms, enum log_level level, const char *module,
    const char *text, void *arg)
{
	struct lines *l = arg;
	cJSON *o = cJSON_CreateObject();

	json_add_time(o, "time", ms);
	cJSON_AddStringToObject(o, "level", log_level_name(level));
	cJSON_AddStringToObject(o, "module", module);
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddItemToArray(l->arr, o);
}

static cJSON *
log_doc(enum log_level min, size_t max)
{
	struct lines l = { cJSON_CreateArray() };
	cJSON *doc = cJSON_CreateObject();

	log_recent(min, max, on_log_line, &l);
	cJSON_AddItemToObject(doc, "lines", l.arr);
	return doc;
}

static void
route_log(struct http_req *r, void *arg)
{
	const char *lv = http_req_query(r, "level");
	const char *lim = http_req_query(r, "limit");
	enum log_level min = LOG_LEVEL_WARN;
	int64_t max = 200;

	(void)arg;
	if (lv != NULL && log_level_parse(lv, &min) != 0) {
		http_reply_error(r, 400, "level: expected debug, info, warn or "
		    "error");
		return;
	}
	if (lim != NULL && num_parse_i64(lim, 1, LOG_LINES_MAX, &max) != 0) {
		http_reply_error(r, 400, "limit: expected an integer from 1 to %d",
		    LOG_LINES_MAX);
		return;
	}
	http_reply_json(r, 200, log_doc(min, (size_t)max));
}

static void
route_diagnostics(struct http_req *r, void *arg)
{
	struct web *w = arg;
	cJSON *doc = cJSON_CreateObject(), *v, *state;
	size_t len = 0;
	char *cause = NULL, *text = read_config(w, &len, &cause), *out;
	char name[160], now[ISOTIME_LEN];

	isotime_format(isotime_now_ms(), now);
	json_add_time(doc, "time", isotime_now_ms());
	v = cJSON_AddObjectToObject(doc, "versions");
	cJSON_AddStringToObject(v, "sitegate", SITEGATE_VERSION);
	cJSON_AddStringToObject(v, "libevent", event_get_version());
	cJSON_AddStringToObject(v, "openssl", OpenSSL_version(OPENSSL_VERSION));
	cJSON_AddStringToObject(v, "sqlite", sqlite3_libversion());
	cJSON_AddStringToObject(v, "cjson", cJSON_Version());
	if (text != NULL) {
		cJSON *pub = confedit_public(text, len, &cause);

		if (pub != NULL)
			cJSON_AddItemToObject(doc, "config", pub);
	}
	if (cause != NULL)
		cJSON_AddStringToObject(doc, "config_error", cause);
	free(cause);
	free(text);
	state = state_doc(w);
	cJSON_AddItemToObject(doc, "state", state ? state : cJSON_CreateNull());
	cJSON_AddItemToObject(doc, "log", cJSON_DetachItemFromObject(
	    v = log_doc(LOG_LEVEL_DEBUG, LOG_LINES_MAX), "lines"));
	cJSON_Delete(v);
	cJSON_AddItemToObject(doc, "history", control_history_doc(w->d.control));
	cJSON_AddItemToObject(doc, "trend", control_trend_doc(w->d.control));
	out = cJSON_Print(doc);
	cJSON_Delete(doc);
	/* A file name of the site id and the time, with no ':' in it. */
	for (char *p = now; *p != '\0'; p++)
		if (*p == ':')
			*p = '-';
	snprintf(name, sizeof name, "sitegate-diagnostics-%s-%s.json",
	    cfg_of(w)->site_id, now);
	http_reply_data(r, 200, "application/json", name, out, strlen(out));
	free(out);
}

/* ------------------------------------------------------------ life */

struct web *
web_new(const struct web_deps *d)
{
	struct web *w = xcalloc(1, sizeof *w);
	struct timeval tv = { 0, WEB_PUSH_MS * 1000 };
	static const struct {
		const char *path;
		unsigned methods;
		http_handler *fn;
	} routes[] = {
		{ "/api/state", HTTP_GET, route_state },
		{ "/api/history", HTTP_GET, route_history },
		{ "/api/trend", HTTP_GET, route_trend },
		{ "/api/evses/*", HTTP_POST, route_evse },
		{ "/api/sessions.csv", HTTP_GET, route_sessions },
		{ "/api/config", HTTP_GET | HTTP_PUT, route_config },
		{ "/api/config/export", HTTP_GET, route_config_export },
		{ "/api/config/import", HTTP_POST, route_config_import },
		{ "/api/pending/*/approve", HTTP_POST, route_approve },
		{ "/api/pending/*", HTTP_DELETE, route_forget },
		{ "/api/log", HTTP_GET, route_log },
		{ "/api/diagnostics", HTTP_GET, route_diagnostics },
	};

	w->d = *d;
	for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
		if (http_route(d->http, routes[i].path, routes[i].methods, false,
		    routes[i].fn, w) != 0)
			abort();
	w->push = event_new(d->base, -1, EV_PERSIST, on_push, w);
	if (w->push == NULL || event_add(w->push, &tv) != 0)
		abort();
	return w;
}

void
web_free(struct web *w)
{
	if (w == NULL)
		return;
	if (w->push != NULL)
		event_free(w->push);
	free(w->sent_numbers);
	free(w->sent_hashes);
	free(w);
}
