/*
 * http — the page's files over evhttp. See http.h.
 *
 * A request's path is checked as text first (check_path), then opened
 * relative to the root folder's descriptor with O_NOFOLLOW, so that nothing
 * outside root is ever looked up: no "..", no symbolic link, no absolute
 * path reaches openat(). The reply is built by evhttp; a file's bytes go
 * out through evbuffer_add_file (sendfile or mmap where libevent can).
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

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MOD "web"
#define PATH_MAX_LEN 512		/* a longer path is no file of ours */
#define FILE_MAX_BYTES (4 * 1024 * 1024)
#define HEADERS_MAX 8192
#define BODY_MAX (64 * 1024)
#define REQUEST_TIMEOUT_S 10

struct http {
	struct evhttp *ev;
	struct evhttp_bound_socket *sock;
	int root_fd;
	uint16_t port;
	struct http_api api;
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

/* A JSON answer: doc (freed here) or {"error": text}. */
static void
reply_json(struct evhttp_request *req, int code, const char *reason,
    cJSON *doc, const char *text)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	size_t len = 0;
	char *json;

	if (b == NULL)
		abort();
	if (doc == NULL) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "error", text);
	}
	json = json_print(doc, &len);
	cJSON_Delete(doc);
	if (json == NULL) {		/* only for a tree cJSON cannot print */
		evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	security_headers(req, "no-store");
	evhttp_add_header(out, "Content-Type", "application/json");
	evbuffer_add(b, json, len);
	free(json);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void
serve_api(struct http *h, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	cJSON *doc;

	if (strcmp(path, "/api/state") != 0) {
		reply_json(req, HTTP_NOTFOUND, "Not Found", NULL,
		    "no such endpoint");
		return;
	}
	if (cmd != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		reply_json(req, 405, "Method Not Allowed", NULL,
		    "method not allowed: GET /api/state");
		return;
	}
	doc = h->api.state != NULL ? h->api.state(h->api.arg) : NULL;
	if (doc == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
		reply_json(req, 503, "Service Unavailable", NULL,
		    "the site is changing; ask again in a moment");
		return;
	}
	reply_json(req, HTTP_OK, "OK", doc, NULL);
}

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

struct http *
http_new(struct event_base *base, const struct http_opts *o,
    const struct http_api *api, char **cause)
{
	struct http *h = xcalloc(1, sizeof *h);
	const char *host = o->host && o->host[0] ? o->host : "0.0.0.0";
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	evutil_socket_t fd;

	*cause = NULL;
	if (api != NULL)
		h->api = *api;
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
	h->sock = evhttp_bind_socket_with_handle(h->ev, host, o->port);
	if (h->sock == NULL) {
		*cause = xasprintf("cannot listen on web.listen %s:%u: %s", host,
		    o->port, strerror(errno));
		http_free(h);
		return NULL;
	}
	fd = evhttp_bound_socket_get_fd(h->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		h->port = ss.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return h;
}

uint16_t
http_port(const struct http *h)
{
	return h->port;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	if (h->ev != NULL)
		evhttp_free(h->ev);
	if (h->root_fd >= 0)
		close(h->root_fd);
	free(h);
}
