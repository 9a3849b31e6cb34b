/*
 * uplink_profiles — the charging profiles an upstream CSMS set on the
 * gateway, evaluated over time.
 *
 * A profile targets the whole station (number 0: a station limit) or one
 * site EVSE (a cap on it). Each has a schedule: periods from its time zero
 * (its startSchedule when absolute, else the moment it was set), within
 * its duration and validTo. At any time the limit of a profile is that of
 * its latest period already begun, in A per phase (a W limit is divided by
 * the site voltage and the period's phases, 3 when not given), or none
 * when no period is in force; the station limit is the lowest of the
 * station profiles in force.
 *
 * What it decides: which profile a new one replaces (same id, or same
 * target, purpose and stack level), when the next change is due, and when
 * a profile is over for good (then it is dropped and its EVSE's cap
 * cleared). Who may set what (an EVSE that exists, a TxProfile on a
 * session) is the down-command router's business.
 *
 * Pure: no I/O, no clock (the time is a parameter), no logging; the limits
 * go out through the sink's callbacks. The upstream's profiles survive a
 * restart (OCPP asks charge points to keep them): save gives them as one
 * JSON text, load takes it back; the caller keeps it.
 */
#ifndef SITEGATE_ROLES_UPLINK_PROFILES_H
#define SITEGATE_ROLES_UPLINK_PROFILES_H

#include <stdint.h>

#include "ocpp/model.h"

#define UPLINK_MAX_PROFILES 64

struct uplink_profiles;

/* Where the limits go. Either callback may be NULL. */
struct uplink_profiles_sink {
	/* The station limit in force, per grid phase in A; NULL: none. */
	void (*station_limit)(const double *limit_a, void *arg);
	/* The cap on site EVSE number in A, or < 0: none any more. */
	void (*evse_cap)(int number, double cap_a, void *arg);
	void *arg;
};

/* An empty set; sink is copied. Never NULL (aborts without memory). */
struct uplink_profiles *uplink_profiles_new(
    const struct uplink_profiles_sink *sink);

/* NULL is a no-op. */
void uplink_profiles_free(struct uplink_profiles *ps);

/* Keep p (at least one period, a purpose) for number (0: the station),
 * set at now_ms, replacing the one with its id or with its target,
 * purpose and stack level. Returns 0, or -1 when all
 * UPLINK_MAX_PROFILES slots are taken. Nothing is applied yet. */
int uplink_profiles_put(struct uplink_profiles *ps, int number,
    const struct ocpp_profile *p, int64_t now_ms);

/* Drop the profiles matching every criterion given (id, number, stack
 * level: -1 any; purpose: OCPP_PURPOSE_ANY any); the cap of each EVSE one
 * dropped is cleared through the sink. Returns how many were dropped. */
int uplink_profiles_clear(struct uplink_profiles *ps, int id, int number,
    enum ocpp_purpose purpose, int stack_level);

/* Send the limits in force at now_ms to the sink (every EVSE cap, then
 * the station limit), dropping the profiles that are over. voltage_v
 * converts W into A. Returns the time of the next change, or INT64_MAX
 * when none is due. */
int64_t uplink_profiles_apply(struct uplink_profiles *ps, int64_t now_ms,
    double voltage_v);

/* The profiles as a JSON text the caller frees (never NULL). */
char *uplink_profiles_save(const struct uplink_profiles *ps);

/* Replace the profiles with those of text (from uplink_profiles_save);
 * entries without periods are skipped. Returns how many entries were
 * read (0 when text is not such a document). */
int uplink_profiles_load(struct uplink_profiles *ps, const char *text);

#endif
