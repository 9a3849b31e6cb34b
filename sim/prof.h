/*
 * prof — the charging profiles one simulated charger holds, and the offer
 * they make each EVSE at a given time. Pure: no I/O, the time is a
 * parameter, the SetChargingProfile and ClearChargingProfile payloads
 * come in as cJSON (already checked against the schema by the caller).
 *
 * As OCPP says:
 *   - a profile is refused for an unknown EVSE, a schedule whose first
 *     period does not start at 0 or with more than 24 periods, a TxProfile
 *     without the running transaction, a stack level above the maximum (3;
 *     0 with the stack_level_0 quirk), too many profiles (32); the quirks
 *     reject_tx_profile and w_only refuse TxProfiles and A schedules;
 *   - the same id replaces; in 1.6 the same stack level, purpose and EVSE
 *     replace too, where 2.0.1 refuses the second id (DuplicateProfile);
 *   - the offer of an EVSE at t: the TxProfile of its running transaction,
 *     else its TxDefaultProfile, else EVSE 0's, else the charger's
 *     maximum; within a purpose the highest stack level with a period in
 *     force at t (validFrom/validTo, Absolute/Relative/Recurring starts,
 *     duration); capped by the charger's maximum and by a
 *     ChargePointMax/ChargingStationMaxProfile, shared evenly among the
 *     EVSEs;
 *   - W become A per phase: limit / (voltage x phases), the phases being
 *     the period's numberPhases (the EVSE's with ignore_number_phases, or
 *     when absent), never more than the EVSE has.
 */
#ifndef SITEGATE_SIM_PROF_H
#define SITEGATE_SIM_PROF_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "types/ocpp.h"

#define PROF_MAX 32
#define PROF_PERIODS_MAX 24

struct prof_set;

struct prof_opts {
	enum ocpp_version v;
	int evses, phases;
	double max_a, voltage_v;
	unsigned quirks;		/* enum spec_quirk */
};

/* An EVSE's transaction, as a TxProfile needs it. */
struct prof_tx {
	const char *id;			/* "" or NULL: none */
	int64_t start_ms;		/* for Relative schedules */
};

/* What a SetChargingProfile said, for people (prof_set_install). */
struct prof_read {
	int id, evse, stack;
	const char *purpose;		/* static: "TxProfile", ... */
	double limit;			/* of the first period */
	bool watts;
	char tx[64];
};

struct prof_offer {
	double a;			/* A per phase */
	int phases;			/* phases it may use */
	bool limited;			/* some profile gave it */
};

/* An empty set for a charger described by o (copied). NULL when out of
 * memory. */
struct prof_set *prof_set_new(const struct prof_opts *o);

/* NULL is a no-op. */
void prof_set_free(struct prof_set *s);

/* Install the profile of a SetChargingProfile payload received at now;
 * txs[evses]: each EVSE's transaction. Returns NULL when installed, or
 * the reason it is refused (static text, an OCPP reasonCode). *r (may be
 * NULL) says what the payload asked, either way. */
const char *prof_set_install(struct prof_set *s, const cJSON *payload,
    const struct prof_tx *txs, int64_t now, struct prof_read *r);

/* Remove what a ClearChargingProfile payload matches; returns how many. */
int prof_set_clear(struct prof_set *s, const cJSON *payload);

/* The transaction on evse ended: its TxProfiles go. */
void prof_set_end_tx(struct prof_set *s, int evse);

/* The offer to evse (1-based) at t, with its transaction tx. */
void prof_set_offer(const struct prof_set *s, int evse,
    const struct prof_tx *tx, int64_t t, struct prof_offer *out);

#endif
