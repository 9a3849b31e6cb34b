/*
 * codec — the pieces the 1.6 and 2.0.1 codecs share word for word, for
 * both roles (toward the chargers, toward an upstream CSMS).
 *
 * Each codec keeps its own translation (the versions name and shape
 * things differently); what is identical lives here, once: how a refusal
 * is described, how a charging schedule's periods are read and written
 * (the member names of a period are the same in both), the words of the
 * authorization statuses, how a meter reading is laid out in a meterValue,
 * the answer to a BootNotification, and the model of a down command before
 * a codec fills it. Internal to ocpp/: the roles include up.h, v16.h and
 * v201.h, never this.
 *
 * Numbers reach the codecs already held to 32-bit integers and decimals
 * within 1e15 (ocpp/schema); what is left for a decoder is what only the
 * model knows: an EVSE or connector id or a seqNo below 0 (0 is the whole
 * charger or EVSE, and -1 means "none" in the model) and a meter value out
 * of range once normalised (ocpp/meter). Both are property violations.
 */
#ifndef SITEGATE_OCPP_CODEC_H
#define SITEGATE_OCPP_CODEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "ocpp/model.h"
#include "ocpp/up.h"

/* Fill *err with code and a printf-style text. Returns -1, so that
 * a decoder can "return codec_refuse(...)". */
int codec_refuse(struct ocpp_error *err, enum ocpp_errcode code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Refuse sampled value j of meter value i of the array name (e.g.
 * "meterValue") because meter_apply() found it out of range: v in unit
 * after normalisation. Returns -1. */
int codec_refuse_meter(struct ocpp_error *err, const char *name, int i, int j,
    double v, const char *unit);

/* Refuse field (its wire path, e.g. "evse.id") holding v, an id below 0.
 * Returns -1. */
int codec_refuse_negative(struct ocpp_error *err, const char *field, int v);

/* Read a schedule: its chargingRateUnit and chargingSchedulePeriod array
 * (at most OCPP_MAX_PERIODS periods), and duration and the start time
 * from the members named start_key (1.6 "startSchedule" inside the
 * schedule, 2.0.1 "scheduleStart"). */
void codec_schedule(const cJSON *sched, const char *start_key,
    struct ocpp_profile *p);

/* Add p's chargingRateUnit and chargingSchedulePeriod array to sched.
 * tenths: every limit rounded down to a multiple of 0.1 (codec_tenths);
 * else as it is. */
void codec_add_periods(cJSON *sched, const struct ocpp_profile *p,
    bool tenths);

/* A schedule of one period from 0 to sched: limit_a in A (rounded down to
 * 0.1), on phases (0: not given). What the gateway reports of a limit. */
void codec_add_limit(cJSON *sched, double limit_a, int phases);

/* v rounded down to a multiple of 0.1, so that a limit never grows; the
 * 1e-9 absorbs binary error (0.7 + 0.1 is 0.7999999999999999). */
double codec_tenths(double v);

/* A new object; aborts when out of memory (as every cJSON allocation of
 * the daemon does). */
cJSON *codec_object(void);

/* True when s (may be NULL: false) is in the NULL-terminated list. */
bool codec_in_list(const char *const *list, const char *s);

/* The status of the entry of names (indexed by enum site_status) that
 * spells word, the first from SITE_STATUS_AVAILABLE on; UNKNOWN when none
 * does. names[SITE_STATUS_UNKNOWN] is what the model's UNKNOWN is sent
 * as, never read. */
enum site_status codec_status_parse(const char *const *names,
    const char *word);

/* The word of an authorization status; 1.6 has no Unknown (its codec
 * asks for OCPP_AUTH_INVALID instead). */
const char *codec_auth_name(enum ocpp_auth_status s);

/* The status a word of either version means: 2.0.1 words 1.6 lacks become
 * the nearest (NoCredit: Blocked; NotAtThisLocation...: Invalid); NULL or
 * any other word: Invalid. */
enum ocpp_auth_status codec_auth_parse(const char *word);

/* ------------------------------------------------------------ upstream */

/* Add one sampled value to arr: a codec's own encoding (1.6 strings,
 * 2.0.1 numbers with unitOfMeasure). context is the ReadingContext. */
typedef void codec_sample_fn(cJSON *arr, double value, const char *measurand,
    const char *unit, const char *phase, const char *context);

/* A meterValue array of one entry at ts_ms: the energy register, and from
 * r (may be NULL) power, current per phase and state of charge; begin /
 * end: the Transaction.Begin / .End context, else Sample.Periodic. */
cJSON *codec_meter_value(codec_sample_fn *sample,
    const struct site_reading *r, double energy_wh, int64_t ts_ms,
    bool begin, bool end);

/* Heartbeat: the same empty request in every version. */
cJSON *codec_heartbeat(const char **action);

/* The answer to our BootNotification (same members in every version). */
void codec_boot_result(const cJSON *payload, struct up_boot_result *out);

/* Where a version puts an id token's authorization: the info object
 * (status and expiry), its expiry member, the list version member of
 * SendLocalList, and in a list entry the object holding the token (NULL:
 * the entry itself) and the token's member. */
struct codec_auth_words {
	const char *info, *expiry, *version, *token_object, *token;
};

/* The authorization in the answer p (has_auth when it carries one). */
void codec_auth_result(const cJSON *p, const struct codec_auth_words *w,
    struct up_auth_result *out);

/* SendLocalList: version, update type and the entries (status -1: an
 * entry to remove). Returns 0, or -1 with *err beyond UP_MAX_LIST. */
int codec_down_list(const cJSON *p, const struct codec_auth_words *w,
    struct up_down *d, struct ocpp_error *err);

/* A down command a codec serves: its action, type and decoder. */
struct codec_down {
	const char *action;
	enum up_down_type type;
	int (*decode)(const cJSON *payload, struct up_down *d,
	    struct ocpp_error *err);
};

/* Decode action's payload with its entry of table (n entries): 0, or -1
 * with *err; UP_DOWN_NONE for an action not in it. */
int codec_decode_down(const struct codec_down *table, size_t n,
    const char *action, const cJSON *payload, struct up_down *d,
    struct ocpp_error *err);

/* The action of entry i of table (n entries); NULL past the end. */
const char *codec_down_action(const struct codec_down *table, size_t n,
    size_t i);

/* The decoder of the commands whose type says it all. Returns 0. */
int codec_down_nothing(const cJSON *payload, struct up_down *d,
    struct ocpp_error *err);

/* GetCompositeSchedule: the EVSE (member evse_key), duration and unit. */
void codec_down_composite(const cJSON *payload, const char *evse_key,
    struct up_down *d);

/* ClearChargingProfile: the profile id (member id_key of p) and the
 * criteria of c (NULL: none): the EVSE (member evse_key), the purpose (one
 * of the NULL-terminated purposes, by enum ocpp_purpose), the stack
 * level. */
void codec_down_clear(const cJSON *p, const char *id_key, const cJSON *c,
    const char *evse_key, const char *const *purposes, struct up_down *d);

/* The index of s in the NULL-terminated names; -1 when not there. */
int codec_index(const char *const *names, const char *s);

/* Clear d for a decoder: nothing given (evse -1, any profile), and err. */
void codec_down_init(struct up_down *d, struct ocpp_error *err);

/* Append a key to d (value NULL: a get). Returns it, or NULL when d holds
 * OCPP_MAX_KEYS already. */
struct up_key *codec_down_key(struct up_down *d, const char *component,
    const char *variable, const char *value);

/* The message a TriggerMessage asks for (the four the gateway sends are
 * spelled alike in both versions). */
enum up_trigger codec_trigger(const char *message);

#endif
