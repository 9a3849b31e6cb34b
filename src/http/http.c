/*
 * http — the page's files and the API over evhttp. See http.h.
 *
 * A file's path is checked as text first (check_path), then opened
 * relative to the root folder's descriptor with O_NOFOLLOW, so that nothing
 * outside root is ever looked up: no "..", no symbolic link, no absolute
 * path reaches openat(). The reply is built by evhttp; a file's bytes go
 * out through evbuffer_add_file (sendfile or mmap where libevent can).
 *
 * An API request becomes a struct http_req on the stack for the
 * synchronous routes; login and setup wait for webauth's worker, so their
 * request is kept (struct waiting) until the verdict comes back or the
 * browser goes away (the connection's close callback cancels the job).
 */
#include "http/http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "http/sse.h"
#include "http/webauth.h"
#include "transport/tls.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MOD "web"
#define PATH_MAX_LEN 512		/* a longer path is no file of ours */
#define FILE_MAX_BYTES (4 * 1024 * 1024)
#define HEADERS_MAX 8192
#define BODY_MAX (64 * 1024)
#define REQUEST_TIMEOUT_S 10
#define ROUTES_MAX 32
#define ROUTE_LEN 64
#define PARAM_LEN 128

struct route {
	char path[ROUTE_LEN];
	unsigned methods;
	bool public;
	http_handler *fn;
	void *arg;
};

/* A login or setup waiting for webauth's verdict. */
struct waiting {
	LIST_ENTRY(waiting) link;
	struct http *h;
	struct evhttp_request *req;
	struct evhttp_connection *con;
	struct webauth_job *job;
};

struct http {
	struct event_base *base;
	struct evhttp *ev;
	struct evhttp_bound_socket *sock;
	SSL_CTX *tls;			/* NULL: plain HTTP */
	int root_fd;
	uint16_t port;
	struct route routes[ROUTES_MAX];
	size_t nroutes;
	struct webauth *auth;
	struct sse *sse;
	LIST_HEAD(, waiting) waiting;
};

struct http_req {
	struct http *h;
	struct evhttp_request *req;
	enum http_method method;
	char param[PARAM_LEN];
	cJSON *body;
	struct evkeyvalq query;
	bool has_query;
	bool answered;
};

/* Content types by extension; anything else is refused (404): the page's
 * folder holds nothing else. */
static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static const char *
type_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return NULL;
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* On every answer, errors included; cache is the Cache-Control policy
 * ("no-cache" for the page's files, revalidated with their ETag;
 * "no-store" for the API). */
static void
security_headers(struct evhttp_request *req, const char *cache)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'; "
	    "script-src 'self'; style-src 'self'; img-src 'self' data:; "
	    "connect-src 'self'; object-src 'none'; base-uri 'none'; "
	    "form-action 'self'; frame-ancestors 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cache-Control", cache);
}

static void
reply_error(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		abort();
	security_headers(req, "no-cache");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/* A decoded path we may open below root: it starts with '/', has no NUL
 * (decoded length == strlen), no backslash, and no empty, "." or ".."
 * segment. Writes the relative path ("index.html" for "/") into out. */
static bool
check_path(const char *decoded, size_t len, char *out, size_t outlen)
{
	const char *p, *seg;

	if (len != strlen(decoded) || decoded[0] != '/' || len >= outlen ||
	    strchr(decoded, '\\') != NULL)
		return false;
	if (strcmp(decoded, "/") == 0) {
		snprintf(out, outlen, "index.html");
		return true;
	}
	for (seg = decoded + 1;; seg = p + 1) {
		size_t n;

		p = strchr(seg, '/');
		n = p ? (size_t)(p - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (p == NULL)
			break;
	}
	snprintf(out, outlen, "%s", decoded + 1);
	return true;
}

/* Open rel below root, one segment at a time, never following a link.
 * Returns the descriptor of a regular file, or -1. */
static int
open_below(int root_fd, const char *rel, struct stat *st)
{
	char buf[PATH_MAX_LEN];
	char *seg, *next;
	int dir = root_fd, fd = -1;

	snprintf(buf, sizeof buf, "%s", rel);
	for (seg = buf; seg != NULL; seg = next) {
		next = strchr(seg, '/');
		if (next != NULL)
			*next++ = '\0';
		/* O_NONBLOCK: a FIFO left in the folder must not stall the
		 * loop (it is then refused as no regular file). */
		fd = openat(dir, seg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK | (next != NULL ? O_DIRECTORY : 0));
		if (dir != root_fd)
			close(dir);
		if (fd < 0)
			return -1;
		dir = fd;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    st->st_size > FILE_MAX_BYTES) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
serve_file(struct http *h, struct evhttp_request *req, const char *rel)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *type = type_of(rel), *inm;
	char etag[64];
	struct evbuffer *b;
	struct stat st;
	int fd;

	if (type == NULL || h->root_fd < 0 ||
	    (fd = open_below(h->root_fd, rel, &st)) < 0) {
		reply_error(req, HTTP_NOTFOUND, "Not Found", "not found");
		return;
	}
	snprintf(etag, sizeof etag, "\"%llx-%llx.%lx\"",
	    (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
	    (unsigned long)st.st_mtim.tv_nsec);
	security_headers(req, "no-cache");
	evhttp_add_header(out, "ETag", etag);
	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		evhttp_send_reply(req, HTTP_NOTMODIFIED, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type", type);
	if ((b = evbuffer_new()) == NULL)
		abort();
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* evhttp would send the body: say its length, send none. */
		char n[24];

		snprintf(n, sizeof n, "%lld", (long long)st.st_size);
		evhttp_add_header(out, "Content-Length", n);
		close(fd);
		evhttp_send_reply(req, HTTP_OK, "OK", b);
		evbuffer_free(b);
		return;
	}
	if (st.st_size > 0 && evbuffer_add_file(b, fd, 0, st.st_size) != 0) {
		evbuffer_free(b);
		close(fd);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (st.st_size == 0)
		close(fd);
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ API answers */

/* The JSON text of doc (freed here) with status, no-store. */
static void
send_json(struct evhttp_request *req, int status, cJSON *doc)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	size_t len = 0;
	char *json = json_print(doc, &len);

	cJSON_Delete(doc);
	if (b == NULL)
		abort();
	security_headers(req, "no-store");
	if (json == NULL) {		/* only for a tree cJSON cannot print */
		evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type", "application/json");
	evbuffer_add(b, json, len);
	free(json);
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

static void
send_error(struct evhttp_request *req, int status, const char *text)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "error", text);
	send_json(req, status, doc);
}

void
http_reply_json(struct http_req *r, int status, cJSON *doc)
{
	r->answered = true;
	send_json(r->req, status, doc);
}

void
http_reply_error(struct http_req *r, int status, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	r->answered = true;
	send_error(r->req, status, text);
}

void
http_reply_invalid(struct http_req *r, const char *what, cJSON *errors)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "error", what);
	cJSON_AddItemToObject(doc, "errors", errors);
	http_reply_json(r, 422, doc);
}

void
http_reply_data(struct http_req *r, int status, const char *type,
    const char *filename, const char *data, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		abort();
	security_headers(r->req, "no-store");
	evhttp_add_header(out, "Content-Type", type);
	if (filename != NULL) {
		char cd[256];

		snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", filename);
		evhttp_add_header(out, "Content-Disposition", cd);
	}
	evbuffer_add(b, data, len);
	r->answered = true;
	evhttp_send_reply(r->req, status, NULL, b);
	evbuffer_free(b);
}

void
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

enum http_method
http_req_method(const struct http_req *r)
{
	return r->method;
}

const char *
http_req_param(const struct http_req *r)
{
	return r->param;
}

const char *
http_req_query(const struct http_req *r, const char *key)
{
	return r->has_query ? evhttp_find_header(&r->query, key) : NULL;
}

const char *
http_req_header(const struct http_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const cJSON *
http_req_body(const struct http_req *r)
{
	return r->body;
}

/* ------------------------------------------------------------ routing */

static enum http_method
method_of(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		return HTTP_GET;
	case EVHTTP_REQ_POST:
		return HTTP_POST;
	case EVHTTP_REQ_PUT:
		return HTTP_PUT;
	case EVHTTP_REQ_DELETE:
		return HTTP_DELETE;
	default:
		return 0;
	}
}

static void
allow_header(struct evhttp_request *req, unsigned methods)
{
	char allow[64] = "";
	static const struct {
		unsigned m;
		const char *name;
	} names[] = { { HTTP_GET, "GET" }, { HTTP_POST, "POST" },
		{ HTTP_PUT, "PUT" }, { HTTP_DELETE, "DELETE" } };

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (methods & names[i].m) {
			if (allow[0] != '\0')
				strcat(allow, ", ");
			strcat(allow, names[i].name);
		}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
}

/* Whether path (raw, not decoded) matches the route's pattern; the
 * segment a '*' matched is decoded into param. */
static bool
match(const char *pattern, const char *path, char *param, size_t plen)
{
	const char *p = pattern, *q = path;

	param[0] = '\0';
	while (*p != '\0' && *q != '\0') {
		if (*p == '*') {
			const char *end = strchr(q, '/');
			size_t n = end ? (size_t)(end - q) : strlen(q), dlen = 0;
			char raw[PARAM_LEN], *dec;
			bool ok;

			if (n == 0 || n >= sizeof raw)
				return false;
			memcpy(raw, q, n);
			raw[n] = '\0';
			if ((dec = evhttp_uridecode(raw, 0, &dlen)) == NULL)
				return false;
			ok = dlen == strlen(dec) && dlen < plen &&
			    strchr(dec, '/') == NULL;
			if (ok)
				memcpy(param, dec, dlen + 1);
			free(dec);
			if (!ok)
				return false;
			p++;
			q += n;
			continue;
		}
		if (*p != *q)
			return false;
		p++;
		q++;
	}
	return *p == '\0' && *q == '\0';
}

/* A change must come from the page: Origin is http[s]://<Host>. */
static bool
same_origin(struct http *h, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");
	char want[300];

	if (origin == NULL || host == NULL)
		return false;
	snprintf(want, sizeof want, "%s://%s", http_scheme(h), host);
	return strcmp(origin, want) == 0;
}

int
http_body_parse(const char *text, size_t len, cJSON **out, char *why,
    size_t whylen)
{
	const char *end = NULL, *nul;
	cJSON *doc;

	*out = NULL;
	if ((nul = memchr(text, '\0', len)) != NULL) {
		snprintf(why, whylen, "malformed JSON at byte %zu: a NUL byte",
		    (size_t)(nul - text));
		return -1;
	}
	doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (doc != NULL)		/* only white space may follow */
		while (end < text + len && strchr(" \t\r\n", *end) != NULL)
			end++;
	if (doc == NULL || end != text + len) {
		size_t at = end != NULL && end >= text ? (size_t)(end - text) : 0;

		cJSON_Delete(doc);
		snprintf(why, whylen, "malformed JSON at byte %zu", at);
		return -1;
	}
	if (!cJSON_IsObject(doc)) {
		snprintf(why, whylen, "the body must be a JSON object, got %s",
		    json_type_name(doc));
		cJSON_Delete(doc);
		return -1;
	}
	*out = doc;
	return 0;
}

/* The request's body as a JSON object into r->body; false when answered
 * (over the limit, not JSON, not an object). */
static bool
read_body(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	char why[96], *text;
	int rc;

	if (len == 0)
		return true;
	if (len > BODY_MAX) {
		http_reply_error(r, 413, "the body is over %d bytes", BODY_MAX);
		return false;
	}
	text = xmalloc(len);
	evbuffer_copyout(in, text, len);
	rc = http_body_parse(text, len, &r->body, why, sizeof why);
	free(text);
	if (rc != 0) {
		http_reply_error(r, 400, "%s", why);
		return false;
	}
	return true;
}

static void
serve_api(struct http *h, struct evhttp_request *req, const char *path)
{
	struct http_req r = { .h = h, .req = req, .method = method_of(req) };
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *cookie = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Cookie");
	const struct route *rt = NULL;
	unsigned allowed = 0;
	char param[PARAM_LEN];

	for (size_t i = 0; i < h->nroutes; i++) {
		if (!match(h->routes[i].path, path, param, sizeof param))
			continue;
		allowed |= h->routes[i].methods;
		if (rt == NULL && (h->routes[i].methods & r.method)) {
			rt = &h->routes[i];
			memcpy(r.param, param, sizeof r.param);
		}
	}
	if (allowed == 0) {
		send_error(req, HTTP_NOTFOUND, "no such endpoint");
		return;
	}
	if (rt == NULL) {
		allow_header(req, allowed);
		send_error(req, 405, "method not allowed");
		return;
	}
	if (r.method != HTTP_GET && !same_origin(h, req)) {
		send_error(req, 403, "cross-origin request refused");
		return;
	}
	if (!rt->public) {
		if (!webauth_session(h->auth, cookie, NULL)) {
			send_error(req, 401, "login required");
			return;
		}
		if (r.method != HTTP_GET && !webauth_csrf_ok(h->auth, cookie,
		    evhttp_find_header(evhttp_request_get_input_headers(req),
		    "X-CSRF-Token"))) {
			send_error(req, 403, "missing or wrong CSRF token");
			return;
		}
	}
	if (!read_body(&r))
		goto out;
	if (uri != NULL && evhttp_uri_get_query(uri) != NULL) {
		if (evhttp_parse_query_str(evhttp_uri_get_query(uri),
		    &r.query) != 0) {
			http_reply_error(&r, 400, "malformed query string");
			goto out;
		}
		r.has_query = true;
	}
	rt->fn(&r, rt->arg);
	if (!r.answered)	/* a route that forgot to answer: a bug */
		http_reply_error(&r, 500, "no answer");
out:
	if (r.has_query)
		evhttp_clear_headers(&r.query);
	cJSON_Delete(r.body);
}

int
http_route(struct http *h, const char *path, unsigned methods, bool public,
    http_handler *fn, void *arg)
{
	struct route *rt;

	if (h->nroutes == ROUTES_MAX || strlen(path) >= ROUTE_LEN)
		return -1;
	rt = &h->routes[h->nroutes++];
	snprintf(rt->path, sizeof rt->path, "%s", path);
	rt->methods = methods;
	rt->public = public;
	rt->fn = fn;
	rt->arg = arg;
	return 0;
}

/* ------------------------------------------------------------ session */

static cJSON *
session_doc(bool authenticated, const char *csrf)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddBoolToObject(doc, "authenticated", authenticated);
	if (authenticated && csrf != NULL)
		cJSON_AddStringToObject(doc, "csrf", csrf);
	return doc;
}

static void
route_session(struct http_req *r, void *arg)
{
	struct http *h = arg;
	char csrf[WEBAUTH_TOKEN_LEN];
	bool in = webauth_session(h->auth, http_req_header(r, "Cookie"), csrf);
	cJSON *doc = session_doc(in, csrf);

	cJSON_AddBoolToObject(doc, "setup_needed", webauth_setup_needed(h->auth));
	cJSON_AddBoolToObject(doc, "tls", h->tls != NULL);
	http_reply_json(r, 200, doc);
}

static void
route_logout(struct http_req *r, void *arg)
{
	struct http *h = arg;
	char cookie[128];

	webauth_logout(h->auth, http_req_header(r, "Cookie"));
	snprintf(cookie, sizeof cookie, WEBAUTH_COOKIE "=; Path=/; Max-Age=0; HttpOnly; "
	    "SameSite=Strict%s", h->tls ? "; Secure" : "");
	http_req_add_header(r, "Set-Cookie", cookie);
	http_reply_json(r, 200, session_doc(false, NULL));
}

static void
waiting_free(struct waiting *w)
{
	LIST_REMOVE(w, link);
	free(w);
}

/* The browser went away before the verdict: evhttp detached the request;
 * it is freed, and the job's answer will not come. */
static void
on_waiting_close(struct evhttp_connection *con, void *arg)
{
	struct waiting *w = arg;

	(void)con;
	webauth_cancel(w->h->auth, w->job);
	evhttp_request_free(w->req);
	waiting_free(w);
}

static void
on_verdict(const struct webauth_result *res, void *arg)
{
	struct waiting *w = arg;
	struct http *h = w->h;
	struct evhttp_request *req = w->req;
	char text[64], cookie[160];

	evhttp_connection_set_closecb(w->con, NULL, NULL);
	waiting_free(w);
	switch (res->verdict) {
	case WEBAUTH_OK:
		snprintf(cookie, sizeof cookie, WEBAUTH_COOKIE "=%s; Path=/; HttpOnly; "
		    "SameSite=Strict%s", res->session, h->tls ? "; Secure" : "");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Set-Cookie", cookie);
		send_json(req, 200, session_doc(true, res->csrf));
		break;
	case WEBAUTH_WRONG:
		send_error(req, webauth_setup_needed(h->auth) ? 403 : 401,
		    webauth_setup_needed(h->auth) ? "wrong setup code" :
		    "wrong password");
		break;
	case WEBAUTH_THROTTLED:
		snprintf(text, sizeof text, "%d", res->retry_after_s);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", text);
		snprintf(text, sizeof text, "too many failed attempts; try again "
		    "in %d s", res->retry_after_s);
		send_error(req, 429, text);
		break;
	case WEBAUTH_BUSY:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
		send_error(req, 503, "too many logins at once; try again");
		break;
	case WEBAUTH_ALREADY_SET:
		send_error(req, 409, "a password is set already: log in");
		break;
	case WEBAUTH_WEAK:
		send_error(req, 422, "the password must have 10 to 128 characters");
		break;
	default:
		send_error(req, 500, "the password could not be stored");
		break;
	}
}

/* Login and setup: the request waits for the worker's verdict. */
static void
start_check(struct http_req *r, bool setup)
{
	struct http *h = r->h;
	const cJSON *body = r->body;
	const char *pw = json_str(body, "password"), *code = json_str(body, "code");
	struct evhttp_connection *con = evhttp_request_get_connection(r->req);
	char *addr = NULL;
	uint16_t port = 0;
	struct waiting *w;

	if (pw == NULL || (setup && code == NULL)) {
		http_reply_error(r, 400, setup ? "expected {\"code\": string, "
		    "\"password\": string}" : "expected {\"password\": string}");
		return;
	}
	evhttp_connection_get_peer(con, &addr, &port);
	w = xcalloc(1, sizeof *w);
	w->h = h;
	w->req = r->req;
	w->con = con;
	LIST_INSERT_HEAD(&h->waiting, w, link);
	w->job = setup ? webauth_setup(h->auth, addr ? addr : "-", code, pw,
	    on_verdict, w) : webauth_login(h->auth, addr ? addr : "-", pw,
	    on_verdict, w);
	evhttp_connection_set_closecb(con, on_waiting_close, w);
	r->answered = true;		/* later, by on_verdict */
}

static void
route_login(struct http_req *r, void *arg)
{
	(void)arg;
	start_check(r, false);
}

static void
route_setup(struct http_req *r, void *arg)
{
	(void)arg;
	start_check(r, true);
}

static void
route_events(struct http_req *r, void *arg)
{
	struct http *h = arg;

	security_headers(r->req, "no-store");
	if (sse_open(h->sse, r->req) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Retry-After", "5");
		r->answered = true;
		send_error(r->req, 503, "too many pages open");
		return;
	}
	r->answered = true;
}

size_t
http_events_clients(const struct http *h)
{
	return sse_count(h->sse);
}

bool
http_events_want_full(const struct http *h)
{
	return sse_want_full(h->sse);
}

void
http_events_send(struct http *h, const char *event, const char *full,
    const char *partial)
{
	sse_send(h->sse, event, full, partial);
}

/* ------------------------------------------------------------ server */

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char rel[PATH_MAX_LEN];
	size_t len = 0;
	char *decoded;

	if (path != NULL && strncmp(path, "/api/", 5) == 0) {
		serve_api(h, req, path);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply_error(req, 405, "Method Not Allowed",
		    "method not allowed: the page's files are read with GET");
		return;
	}
	if (path == NULL || path[0] == '\0')
		path = "/";
	decoded = evhttp_uridecode(path, 0, &len);
	if (decoded == NULL) {
		reply_error(req, HTTP_BADREQUEST, "Bad Request", "bad path");
		return;
	}
	if (!check_path(decoded, len, rel, sizeof rel))
		reply_error(req, HTTP_NOTFOUND, "Not Found", "not found");
	else
		serve_file(h, req, rel);
	free(decoded);
}

/* Under TLS every connection starts with a handshake. */
static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	struct http *h = arg;
	SSL *ssl = SSL_new(h->tls);

	if (ssl == NULL)
		abort();
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

struct http *
http_new(struct event_base *base, const struct http_opts *o,
    struct store *st, char **cause)
{
	struct http *h = xcalloc(1, sizeof *h);
	const char *host = o->host && o->host[0] ? o->host : "0.0.0.0";
	struct webauth_opts ao = { .idle_s = 1800, .absolute_s = 12 * 3600,
		.max_sessions = 16 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	evutil_socket_t fd;

	*cause = NULL;
	h->base = base;
	h->root_fd = -1;
	LIST_INIT(&h->waiting);
	if (o->tls_cert != NULL) {
		struct tls_server_opts to = { o->tls_cert, o->tls_key, NULL };

		if ((h->tls = tls_server_ctx(&to, cause)) == NULL)
			goto fail;
	}
	if ((h->auth = webauth_new(base, st, &ao, cause)) == NULL)
		goto fail;
	h->sse = sse_new(base, o->max_clients > 0 ? o->max_clients : 10);
	/* A missing page is no reason to stop serving chargers, nor the API:
	 * said once, and every file is then 404. */
	h->root_fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->root_fd < 0)
		log_error(MOD, "cannot open web.root %s: %s; the page's files are "
		    "not served", o->root, strerror(errno));
	if ((h->ev = evhttp_new(base)) == NULL)
		abort();
	evhttp_set_max_headers_size(h->ev, HEADERS_MAX);
	evhttp_set_max_body_size(h->ev, BODY_MAX);
	evhttp_set_timeout(h->ev, REQUEST_TIMEOUT_S);
	evhttp_set_allowed_methods(h->ev, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->ev, on_request, h);
	if (h->tls != NULL)
		evhttp_set_bevcb(h->ev, tls_bev, h);
	http_route(h, "/api/session", HTTP_GET, true, route_session, h);
	http_route(h, "/api/setup", HTTP_POST, true, route_setup, h);
	http_route(h, "/api/login", HTTP_POST, true, route_login, h);
	http_route(h, "/api/logout", HTTP_POST, false, route_logout, h);
	http_route(h, "/api/events", HTTP_GET, false, route_events, h);
	h->sock = evhttp_bind_socket_with_handle(h->ev, host, o->port);
	if (h->sock == NULL) {
		*cause = xasprintf("cannot listen on web.listen %s:%u: %s", host,
		    o->port, strerror(errno));
		goto fail;
	}
	fd = evhttp_bound_socket_get_fd(h->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		h->port = ss.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (webauth_setup_code(h->auth) != NULL)
		log_warn(MOD, "setup code %s: no installer password is set yet; "
		    "the page asks for this code to set one (or run sitegate "
		    "--set-web-password)", webauth_setup_code(h->auth));
	return h;
fail:
	http_free(h);
	return NULL;
}

uint16_t
http_port(const struct http *h)
{
	return h->port;
}

const char *
http_scheme(const struct http *h)
{
	return h->tls != NULL ? "https" : "http";
}

bool
http_setup_needed(const struct http *h)
{
	return webauth_setup_needed(h->auth);
}

void
http_free(struct http *h)
{
	struct waiting *w;

	if (h == NULL)
		return;
	/* Streams and waiting logins end before their connections go. */
	sse_free(h->sse);
	while ((w = LIST_FIRST(&h->waiting)) != NULL) {
		struct evhttp_request *req = w->req;

		evhttp_connection_set_closecb(w->con, NULL, NULL);
		webauth_cancel(h->auth, w->job);
		waiting_free(w);
		send_error(req, 503, "the gateway is stopping");
	}
	if (h->ev != NULL)
		evhttp_free(h->ev);
	webauth_free(h->auth);
	if (h->tls != NULL)
		SSL_CTX_free(h->tls);
	if (h->root_fd >= 0)
		close(h->root_fd);
	free(h);
}
