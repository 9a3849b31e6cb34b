/*
 * http — the installer's page and its JSON API, served by the gateway on
 * web.listen (plain HTTP, or HTTPS only with web.tls).
 *
 * Files. The page's files (web.root) are served as they are: GET and HEAD
 * only, one file per path ("/" is index.html), regular files only (no
 * directory listing, no symbolic link followed), with the content type of
 * its extension and a validator (ETag; a matching If-None-Match answers
 * 304). A path is refused before it reaches the file system when, once
 * percent-decoded, it holds a NUL, a backslash, or a "." or ".." segment
 * ("/../x", "/%2e%2e/x", "//etc/passwd" all answer 404 without a lookup
 * outside root).
 *
 * API. Requests under /api/ go to the routes the owner registered
 * (http_route), after the checks every route shares, in this order:
 *   - a known path (404) and method (405 with Allow);
 *   - a change (POST, PUT, DELETE) from another origin: 403 (its Origin
 *     must be http[s]://<its Host>);
 *   - a session (webauth) unless the route is public: 401;
 *   - a change without the session's CSRF token (X-CSRF-Token): 403;
 *   - a body: a JSON object or nothing; 413 beyond 64 KiB, 400 naming the
 *     byte where the JSON went wrong.
 * Session, setup, login and logout are this module's own routes (see
 * webauth.h); docs/web.md is the contract of them all.
 *
 * Live updates. GET /api/events is a Server-Sent Events stream: the owner
 * sends events to every open stream (http_events_send); at most
 * opts.max_clients streams at once (503 beyond), and a stream whose
 * output waits beyond 1 MiB is closed (the browser reconnects and starts
 * again with a full event), so a stalled browser costs only itself.
 *
 * Every answer, errors included, carries the security headers: a
 * Content-Security-Policy without inline script and with frame-ancestors
 * 'none', X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer.
 * Files are Cache-Control: no-cache (revalidated with the ETag), the API
 * no-store.
 *
 * Bounds: headers 8 KiB, bodies 64 KiB, 10 s to send a request (evhttp
 * answers beyond them). The server runs on the gateway's loop and never
 * blocks it longer than a file read from the page's folder; password
 * checks run on webauth's worker thread.
 */
#ifndef SITEGATE_HTTP_H
#define SITEGATE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

struct http;
struct http_req;
struct store;

struct http_opts {
	const char *host;		/* listen address; NULL or "": any */
	uint16_t port;			/* 0: any free port */
	const char *root;		/* the page's folder */
	const char *tls_cert;		/* both or neither: HTTPS only */
	const char *tls_key;
	int max_clients;		/* event streams at once */
};

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_POST = 1 << 1,
	HTTP_PUT = 1 << 2,
	HTTP_DELETE = 1 << 3,
};

/* A route's handler: answers r exactly once, before it returns, with one
 * of the http_reply_* functions. */
typedef void http_handler(struct http_req *r, void *arg);

/* Listen and serve. The state file (not owned, must outlive the server)
 * keeps the installer's password. Returns NULL with a malloc'd *cause
 * when the address cannot be bound or the TLS files cannot be used. A
 * root that cannot be opened is logged, and every file is then 404 (the
 * API still answers). While no password is set, the one-time setup code
 * is logged ("web: setup code ..."). */
struct http *http_new(struct event_base *base, const struct http_opts *o,
    struct store *st, char **cause);

/* Serve methods (an or of enum http_method) of path under /api/ with fn.
 * A path ending in "/ *" (without the space) matches one more segment,
 * which http_req_param() gives; ".../ * /approve" matches that segment in
 * the middle. A route needs a session unless public. Returns 0, or -1
 * when the table is full (a programming error). */
int http_route(struct http *h, const char *path, unsigned methods,
    bool public, http_handler *fn, void *arg);

/* The bound port (the one chosen when opts.port was 0). */
uint16_t http_port(const struct http *h);

/* "http" or "https". */
const char *http_scheme(const struct http *h);

/* Whether the installer still has to choose a password. */
bool http_setup_needed(const struct http *h);

/* The request's method. */
enum http_method http_req_method(const struct http_req *r);

/* The segment a route's "*" matched, percent-decoded (no NUL, no '/');
 * "" when the route has none. */
const char *http_req_param(const struct http_req *r);

/* A query parameter's decoded value, or NULL. */
const char *http_req_query(const struct http_req *r, const char *key);

/* A request header, or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);

/* The body as a JSON object (checked before the handler runs), or NULL
 * when the request had none. Valid until the reply. */
const cJSON *http_req_body(const struct http_req *r);

/* Add a header to the reply (before replying). */
void http_req_add_header(struct http_req *r, const char *name,
    const char *value);

/* Answer with doc (freed here) as JSON. */
void http_reply_json(struct http_req *r, int status, cJSON *doc);

/* Answer {"error": <printf>} with status. */
void http_reply_error(struct http_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Answer 422 {"error": <what>, "errors": errors} (errors freed here). */
void http_reply_invalid(struct http_req *r, const char *what, cJSON *errors);

/* Answer len bytes of type; with filename, as a download of that name. */
void http_reply_data(struct http_req *r, int status, const char *type,
    const char *filename, const char *data, size_t len);

/* Streams open on GET /api/events. */
size_t http_events_clients(const struct http *h);

/* Whether a stream opened since the last http_events_send() and waits for
 * its first (full) event. */
bool http_events_want_full(const struct http *h);

/* Send an event to the open streams: full (may be NULL when no stream
 * wants one) to the streams that wait for their first event, partial
 * (NULL: nothing for them) to the others. data is one line of JSON. */
void http_events_send(struct http *h, const char *event, const char *full,
    const char *partial);

/* A request body (len bytes, any content) as a JSON object into *out
 * (the caller frees it). Returns 0, or -1 with *out NULL and why (whylen
 * bytes, always terminated) saying what is wrong: "malformed JSON at byte
 * N" (a NUL byte anywhere, anything but white space after the value) or
 * "the body must be a JSON object, got an array". Pure: the API's routes
 * and the fuzz target use it alike. */
int http_body_parse(const char *text, size_t len, cJSON **out, char *why,
    size_t whylen);

/* Stop listening, drop open connections, free. NULL is a no-op. */
void http_free(struct http *h);

#endif
