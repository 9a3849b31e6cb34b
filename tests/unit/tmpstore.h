/*
 * tmpstore.h — a state file of a test's own, in a fresh folder under /tmp,
 * removed with its folder afterwards. Header-only; include after the
 * store's header.
 */
#ifndef SITEGATE_TEST_TMPSTORE_H
#define SITEGATE_TEST_TMPSTORE_H

#include <stdio.h>
#include <stdlib.h>

struct tmpstore {
	char dir[64];
	char path[128];
	struct store *st;
};

/* Open a new state file in /tmp/sg-<tag>-XXXXXX. Returns 0, or -1. */
static inline int
tmpstore_open(struct tmpstore *t, const char *tag)
{
	char *cause = NULL;
	int err;

	snprintf(t->dir, sizeof t->dir, "/tmp/sg-%s-XXXXXX", tag);
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof t->path, "%s/state.db", t->dir);
	t->st = store_open(t->path, &err, &cause);
	free(cause);
	return t->st != NULL ? 0 : -1;
}

/* Close the state file and remove its folder. Returns 0, or -1. */
static inline int
tmpstore_close(struct tmpstore *t)
{
	char cmd[160];

	store_close(t->st);
	t->st = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
