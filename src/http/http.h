/*
 * http — the installer's page, served by the gateway on web.listen.
 *
 * Today it serves the page's files (web.root) as they are: GET and HEAD
 * only, one file per path ("/" is index.html), regular files only (no
 * directory listing, no symbolic link followed), with the content type of
 * its extension and a validator (ETag; a matching If-None-Match answers
 * 304). A path is refused before it reaches the file system when, once
 * percent-decoded, it holds a NUL, a backslash, or a "." or ".." segment
 * ("/../x", "/%2e%2e/x", "//etc/passwd" all answer 404 without a lookup
 * outside root). Every answer, errors included, carries the security
 * headers: a Content-Security-Policy without inline script and with
 * frame-ancestors 'none', X-Content-Type-Options: nosniff, Referrer-Policy:
 * no-referrer, and Cache-Control: no-cache (revalidate with the ETag).
 *
 * The JSON API lives under /api/ (docs/web.md is its contract): today
 * GET /api/state, the site's live state as the owner builds it. Its
 * answers are JSON, errors included ({"error": "..."}), never cached.
 *
 * Bounds: headers 8 KiB, bodies 64 KiB (no request here has one yet), 10 s
 * to send a request; evhttp answers beyond them. The server runs on the
 * gateway's loop and never blocks it longer than a file read from the
 * page's folder (small static files).
 */
#ifndef SITEGATE_HTTP_H
#define SITEGATE_HTTP_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

struct http;

struct http_opts {
	const char *host;		/* listen address; NULL or "": any */
	uint16_t port;			/* 0: any free port */
	const char *root;		/* the page's folder */
};

/* What the API answers with, from the owner (the composition root). */
struct http_api {
	/* The site's state, a new tree the server frees; NULL: not now
	 * (503, ask again). */
	cJSON *(*state)(void *arg);
	void *arg;
};

/* Listen and serve. api is copied. Returns NULL with a malloc'd *cause
 * when the address cannot be bound. A root that cannot be opened is
 * logged, and every file is then 404 (the API still answers). */
struct http *http_new(struct event_base *base, const struct http_opts *o,
    const struct http_api *api, char **cause);

/* The bound port (the one chosen when opts.port was 0). */
uint16_t http_port(const struct http *h);

/* Stop listening, drop open connections, free. NULL is a no-op. */
void http_free(struct http *h);

#endif
