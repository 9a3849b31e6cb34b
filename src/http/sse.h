/*
 * sse — Server-Sent Events streams over evhttp, fanned out to many
 * browsers.
 *
 * A stream is an evhttp request answered with a chunked text/event-stream
 * reply that never ends. sse_open() starts one; sse_send() writes an event
 * to every open stream, the full form to streams that have not had their
 * first event yet and the partial form to the others, so that a browser
 * that (re)connects always starts from the whole picture. A comment line
 * every SSE_KEEPALIVE_S keeps proxies and the browser from timing out.
 *
 * Bounds: at most max streams (sse_open refuses beyond: the caller answers
 * 503); a stream whose output waits beyond SSE_BACKLOG_MAX bytes (a
 * browser that stopped reading) is closed, so it costs its own buffer and
 * nothing else. A stream whose browser goes away is noticed through the
 * connection's close callback and freed.
 */
#ifndef SITEGATE_SSE_H
#define SITEGATE_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#define SSE_BACKLOG_MAX (1024 * 1024)
#define SSE_KEEPALIVE_S 15

struct sse;
struct evhttp_request;

/* A set of streams of at most max on base. Never returns NULL. */
struct sse *sse_new(struct event_base *base, int max);

/* Start a stream on req, whose headers the caller has set (the security
 * headers); the reply starts with 200 and text/event-stream. Returns 0, or
 * -1 when max streams are open (req untouched: the caller answers it). */
int sse_open(struct sse *s, struct evhttp_request *req);

/* Open streams. */
size_t sse_count(const struct sse *s);

/* Whether a stream waits for its first event. */
bool sse_want_full(const struct sse *s);

/* Write "event: <event>\ndata: <line>\n\n": full to the streams waiting
 * for their first event (NULL: they keep waiting), partial to the others
 * (NULL: nothing). Data must be one line. Streams over their backlog are
 * closed here. */
void sse_send(struct sse *s, const char *event, const char *full,
    const char *partial);

/* End every stream and free. NULL is a no-op. */
void sse_free(struct sse *s);

#endif
