/*
 * sse — see sse.h.
 *
 * libevent 2.1's evhttp keeps reading an incoming connection while the
 * reply is pending, so a browser that closes its stream shows up as the
 * connection's close callback; evhttp has then detached the request from
 * the connection, and ending the reply frees it. The read timeout evhttp
 * sets for requests would cut an idle stream: it is lifted once the
 * stream starts (the keepalive shows a dead peer through the write side).
 */
#include "http/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "util/log.h"
#include "util/xalloc.h"

#define WRITE_TIMEOUT_S 30

struct stream {
	TAILQ_ENTRY(stream) link;
	struct sse *owner;
	struct evhttp_request *req;
	struct evhttp_connection *con;
	bool started;			/* had its first event */
};

struct sse {
	TAILQ_HEAD(, stream) streams;
	size_t n;
	int max;
	struct event *keepalive;
};

static void
stream_free(struct stream *st)
{
	TAILQ_REMOVE(&st->owner->streams, st, link);
	st->owner->n--;
	free(st);
}

/* The browser went away: evhttp detached the request; ending it frees it. */
static void
on_close(struct evhttp_connection *con, void *arg)
{
	struct stream *st = arg;

	(void)con;
	evhttp_send_reply_end(st->req);
	stream_free(st);
}

/* Close a stream ourselves (its browser stopped reading). */
static void
stream_close(struct stream *st)
{
	struct evhttp_connection *con = st->con;

	evhttp_connection_set_closecb(con, NULL, NULL);
	stream_free(st);
	/* Frees the request with the connection. */
	evhttp_connection_free(con);
}

static size_t
backlog(const struct stream *st)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(st->con);

	return bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* An event's bytes, shared by every stream it goes to: each stream's
 * output holds a reference, and the last one done with it frees it, so
 * that a whole state sent to ten pages is in memory once. */
struct shared {
	int refs;
	size_t len;
	char data[];
};

static struct shared *
shared_new(const char *event, const char *data)
{
	size_t len = strlen("event: \ndata: \n\n") + strlen(event) + strlen(data);
	struct shared *sh = xmalloc(sizeof *sh + len + 1);

	sh->refs = 1;
	sh->len = len;
	snprintf(sh->data, len + 1, "event: %s\ndata: %s\n\n", event, data);
	return sh;
}

static void
shared_unref(const void *data, size_t len, void *arg)
{
	struct shared *sh = arg;

	(void)data;
	(void)len;
	if (--sh->refs == 0)
		free(sh);
}

static void
put_shared(struct stream *st, struct shared *sh)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		abort();
	sh->refs++;
	if (evbuffer_add_reference(b, sh->data, sh->len, shared_unref, sh) != 0)
		abort();
	evhttp_send_reply_chunk(st->req, b);
	evbuffer_free(b);
}

/* A line of the stream's own (a comment, the retry time). */
static void
put(struct stream *st, const char *line)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		abort();
	evbuffer_add_printf(b, "%s\n\n", line);
	evhttp_send_reply_chunk(st->req, b);
	evbuffer_free(b);
}

static void
on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct sse *s = arg;
	struct stream *st, *next;

	(void)fd;
	(void)what;
	for (st = TAILQ_FIRST(&s->streams); st != NULL; st = next) {
		next = TAILQ_NEXT(st, link);
		if (backlog(st) > SSE_BACKLOG_MAX)
			stream_close(st);
		else
			put(st, ": keepalive");
	}
}

struct sse *
sse_new(struct event_base *base, int max)
{
	struct sse *s = xcalloc(1, sizeof *s);
	struct timeval tv = { SSE_KEEPALIVE_S, 0 };

	TAILQ_INIT(&s->streams);
	s->max = max;
	s->keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, s);
	if (s->keepalive == NULL || event_add(s->keepalive, &tv) != 0)
		abort();
	return s;
}

int
sse_open(struct sse *s, struct evhttp_request *req)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct stream *st;

	if ((int)s->n >= s->max || con == NULL)
		return -1;
	st = xcalloc(1, sizeof *st);
	st->owner = s;
	st->req = req;
	st->con = con;
	TAILQ_INSERT_TAIL(&s->streams, st, link);
	s->n++;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/event-stream");
	evhttp_send_reply_start(req, 200, "OK");
	if ((bev = evhttp_connection_get_bufferevent(con)) != NULL) {
		struct timeval w = { WRITE_TIMEOUT_S, 0 };

		bufferevent_set_timeouts(bev, NULL, &w);
	}
	evhttp_connection_set_closecb(con, on_close, st);
	/* Tell the browser how soon to come back after a drop. */
	put(st, "retry: 2000");
	return 0;
}

size_t
sse_count(const struct sse *s)
{
	return s->n;
}

bool
sse_want_full(const struct sse *s)
{
	const struct stream *st;

	TAILQ_FOREACH(st, &s->streams, link)
		if (!st->started)
			return true;
	return false;
}

void
sse_send(struct sse *s, const char *event, const char *full,
    const char *partial)
{
	struct shared *f = NULL, *p = NULL;
	struct stream *st, *next;

	for (st = TAILQ_FIRST(&s->streams); st != NULL; st = next) {
		struct shared **sh = st->started ? &p : &f;
		const char *data = st->started ? partial : full;

		next = TAILQ_NEXT(st, link);
		if (data == NULL)
			continue;
		if (backlog(st) > SSE_BACKLOG_MAX) {
			log_info("web", "event stream closed: the browser does "
			    "not read backlog=%zu", backlog(st));
			stream_close(st);
			continue;
		}
		if (*sh == NULL)
			*sh = shared_new(event, data);
		put_shared(st, *sh);
		st->started = true;
	}
	if (f != NULL)
		shared_unref(NULL, 0, f);
	if (p != NULL)
		shared_unref(NULL, 0, p);
}

void
sse_free(struct sse *s)
{
	struct stream *st;

	if (s == NULL)
		return;
	while ((st = TAILQ_FIRST(&s->streams)) != NULL)
		stream_close(st);
	if (s->keepalive != NULL)
		event_free(s->keepalive);
	free(s);
}
