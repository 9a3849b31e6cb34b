/*
 * xalloc — allocation that cannot fail: the daemon aborts on out-of-memory
 * (a gateway that cannot allocate a few bytes cannot serve anyone; systemd
 * restarts it). Pure libraries (policy/) return errors instead and do not
 * use this.
 */
#ifndef SITEGATE_XALLOC_H
#define SITEGATE_XALLOC_H

#include <stddef.h>

/* n zeroed bytes (at least one). */
void *xmalloc(size_t n);

/* n zeroed elements of size bytes. */
void *xcalloc(size_t n, size_t size);

/* p resized to n bytes (at least one); new bytes are not zeroed. */
void *xrealloc(void *p, size_t n);

/* A copy of s, or NULL when s is NULL. */
char *xstrdup(const char *s);

/* A formatted string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
