/*
 * spec — what each simulated charger is: identity, OCPP version, phases,
 * maximum current, EVSEs, password, phase rotation and quirks. Read from
 * a JSON file, or generated.
 *
 * The file is {"chargers": [...]} whose entries have the keys of the
 * gateway's own chargers[] (id, password, max_current_a, phases,
 * phase_rotation, evses; others such as circuit are ignored), so the
 * gateway's configuration file itself can be given, plus two of the
 * simulator's own: "version" ("1.6" or "2.0.1"; default: alternating,
 * 1.6 first) and "quirks" (an array of the names below). Comments are
 * allowed, as in the gateway's configuration.
 *
 * Generated chargers (spec_generate) are SIM-001, SIM-002, ...: versions
 * alternate (1.6, 2.0.1), every fourth charger is 1-phase, 32 A, one
 * EVSE, no password, no quirks, no rotation.
 */
#ifndef SITEGATE_SIM_SPEC_H
#define SITEGATE_SIM_SPEC_H

#include <stdbool.h>
#include "types/ocpp.h"

#define SPEC_ID_MAX 48
#define SPEC_EVSES_MAX 8

/* Quirks of real chargers, as bits. */
enum spec_quirk {
	SPEC_Q_REJECT_TX = 1 << 0,	/* rejects TxProfile */
	SPEC_Q_W_ONLY = 1 << 1,		/* schedules in W only */
	SPEC_Q_STACK0 = 1 << 2,		/* stack level 0 only */
	SPEC_Q_IGNORE_PHASES = 1 << 3,	/* ignores numberPhases */
};

enum spec_err {
	SPEC_OK = 0,
	SPEC_E_FILE = -1,	/* cannot read the file */
	SPEC_E_PARSE = -2,	/* not JSON, or not what is described above */
	SPEC_E_NOMEM = -3,
};

struct spec_charger {
	char id[SPEC_ID_MAX + 1];
	enum ocpp_version v;		/* OCPP_V16 or OCPP_V201 */
	int phases;			/* 1 or 3 */
	double max_a;			/* per EVSE, per phase */
	int evses;			/* 1..SPEC_EVSES_MAX */
	char rotation[8];		/* "L1L2L3", "L2", ... or "" */
	char password[128];		/* "" for none */
	unsigned quirks;		/* enum spec_quirk */
};

/* Read the chargers of the file at path into a malloc'd array (*out,
 * *n; the caller frees *out). Returns SPEC_OK, or an enum spec_err with
 * a malloc'd one-line *cause; *out is NULL and *n 0 on failure. */
int spec_load(const char *path, struct spec_charger **out, int *n,
    char **cause);

/* n generated chargers as described above (malloc'd; NULL when out of
 * memory). */
struct spec_charger *spec_generate(int n);

/* The bit of a quirk's name ("reject_tx_profile", "w_only",
 * "stack_level_0", "ignore_number_phases"), or 0 when unknown. */
unsigned spec_quirk_parse(const char *name);

/* The grid phase (0..2) of each of the charger's phases (rotation, else
 * L1L2L3, or L1 for a 1-phase charger) into grid[3]; returns how many. */
int spec_grid_phases(const struct spec_charger *s, int grid[3]);

#endif
