/*
 * schema_tables — the shape of the generated OCPP tables, shared by
 * ocpp/schema and the files tools/gen-schema.js writes (schema_v16.c,
 * schema_v201.c, schema_v21.c). The gateway speaks 1.6 and 2.0.1 (a 2.1
 * charger is served with the 2.0.1 message set); of 2.1 it uses the
 * action names today, and its tables are ready for a 2.1 codec. Nothing
 * else includes it.
 *
 * One schema_set per version: every action with the member tables of its
 * request and response payloads (util/jcheck rows), sorted by name as
 * strcmp orders them, and the number limits of the version (see schema.h).
 */
#ifndef SITEGATE_OCPP_SCHEMA_TABLES_H
#define SITEGATE_OCPP_SCHEMA_TABLES_H

#include <stddef.h>

#include "util/jcheck.h"

struct schema_action {
	const char *action;
	const struct jc_field *req, *conf;	/* conf NULL: a 2.1 SEND */
};

struct schema_set {
	const struct schema_action *actions;	/* sorted by action */
	size_t nactions;
	struct jc_limits limits;
};

extern const struct schema_set schema_v16, schema_v201, schema_v21;

#endif
