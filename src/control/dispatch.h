/*
 * dispatch — turns the allocator's setpoints into charging profiles on the
 * chargers, in each charger's OCPP version and dialect, in a safe order.
 *
 * The owner (control) hands over the complete set of targets after every
 * allocation: one per EVSE, its limit per phase and the phases to use, and
 * its fallback share (the allocation for the failsafe limit with every
 * EVSE active). Dispatch keeps, per EVSE, what the charger has installed,
 * and sends what differs:
 *
 *   - The dynamic profile carries the target: a TxProfile bound to the
 *     running transaction, or a TxDefaultProfile on the EVSE when there is
 *     none (or the charger does not take TxProfile). Stack level 1 above
 *     the base, unit A or W, numberPhases, a startSchedule an hour in the
 *     past (chargers' clocks drift) and, when a base profile is beneath
 *     it, validTo = now + control.profile_validity_s, renewed when half of
 *     it has passed. Profile ids are stable: 2000 + evse for the TxProfile,
 *     3000 + evse for the dynamic TxDefaultProfile.
 *   - The base profile (TxDefaultProfile, stack level 0, id 1000 + evse, no
 *     validity) holds the fallback share. It is sent once per connection,
 *     after the first dynamic profile was accepted, and again when the
 *     share changes. If the gateway stops, the dynamic profiles lapse and
 *     every charger falls back to its share on its own. A charger limited
 *     to stack level 0 gets no base (the dynamic TxDefaultProfile would
 *     replace it) and dynamic profiles without validTo.
 *
 * Order: a limit that goes down is sent at once. A limit that goes up is
 * sent only when no EVSE may still be above its target (every decrease
 * answered, or failed and the EVSE counted as uncontrollable), so the site
 * never overshoots in between. An EVSE has at most one profile in flight;
 * a newer target waits for the answer. What the charger holds is unknown
 * after a (re)connection and counts as its maximum.
 *
 * Dialects: the first choice is TxProfile, unit A (W when the charger
 * reports only W), stack level 1. A Rejected profile moves this charger to
 * the next choice (TxDefaultProfile, then the other unit, then stack level
 * 0) and the profile is sent again; what worked is remembered for the
 * charger for the life of the process. chargers[].smart_charging in the
 * configuration forces a choice. A charger that rejects every choice,
 * answers with a CALLERROR or does not answer within ocpp.call_timeout_s is
 * uncontrollable: the allocator assumes it at its maximum, and dispatch
 * tries again after control.retry_min_s, doubling up to retry_max_s. A
 * charger that reports no smart charging at all is uncontrollable until it
 * reconnects.
 */
#ifndef SITEGATE_DISPATCH_H
#define SITEGATE_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>


struct csms;
struct dispatch;
struct site;
struct site_evse;

/* One EVSE's setpoint. */
struct dispatch_target {
	const struct site_evse *evse;
	double limit_a;			/* per phase, multiple of 0.1 A; 0 = paused */
	int phases;			/* 1 or 3 */
	double fallback_a;		/* base profile: the fallback share */
	int fallback_phases;
	double max_a;			/* its maximum: what it counts as while
					   its profile is unknown */
};

enum dispatch_control {
	DISPATCH_OK = 0,		/* follows the profiles sent */
	DISPATCH_PENDING,		/* a profile is on its way */
	DISPATCH_UNCONTROLLABLE,	/* does not follow: assumed at its max */
};

/* What dispatch knows about one EVSE, for status documents. */
struct dispatch_evse_state {
	enum dispatch_control control;
	char why[96];			/* uncontrollable: the reason */
	bool known;			/* installed_a is what the charger holds */
	double installed_a;		/* the dynamic limit it acknowledged */
	int phases;
	const char *purpose;		/* "TxProfile", "TxDefaultProfile" or "" */
	const char *unit;		/* "A", "W" or "" */
	int64_t retry_ms;		/* uncontrollable: next attempt (wall) */
};

/* Which profile purpose carries the dynamic limit. */
enum dispatch_purpose {
	DISPATCH_PURPOSE_AUTO = 0,	/* TxProfile, falling back on rejection */
	DISPATCH_PURPOSE_TX,		/* always TxProfile */
	DISPATCH_PURPOSE_TX_DEFAULT,	/* always TxDefaultProfile */
};

enum dispatch_unit {
	DISPATCH_UNIT_AUTO = 0,		/* A when accepted, else W */
	DISPATCH_UNIT_A,
	DISPATCH_UNIT_W,
};

/* A configured charger's "smart_charging" overrides: what to send it when
 * what the gateway would learn from its answers must be overridden. */
struct dispatch_charger {
	const char *id;
	enum dispatch_purpose purpose;	/* AUTO: learn */
	enum dispatch_unit unit;	/* AUTO: learn */
	int max_stack_level;		/* -1: as the charger reports */
	bool number_phases;		/* send numberPhases */
};

/* What dispatch takes from the configuration. Kept by reference: o and
 * what it points to stay valid until dispatch_reconfigure() or free. */
struct dispatch_opts {
	const struct dispatch_charger *chargers;
	size_t nchargers;
	double voltage_v;		/* A -> W for chargers that take W */
	int profile_validity_s;		/* validTo of dynamic profiles */
	int retry_min_s;		/* first retry of an uncontrollable
					   charger, doubling up to ... */
	int retry_max_s;
};

/* Called (from the loop) when an EVSE became uncontrollable or
 * controllable again: the owner re-runs the allocation. */
typedef void dispatch_change_cb(void *arg);

/* Create a dispatcher sending through cs. The site, csms and o are not
 * owned (o: see struct dispatch_opts). */
struct dispatch *dispatch_new(struct event_base *base, struct site *site,
    struct csms *cs, const struct dispatch_opts *o, dispatch_change_cb *cb,
    void *arg);

/* Apply new options (smart_charging overrides, control timings); o
 * replaces the previous one (same lifetime rule). */
void dispatch_reconfigure(struct dispatch *d, const struct dispatch_opts *o);

/* The new set of targets, all EVSEs that take part, after an allocation.
 * Sends what must be sent now, schedules the rest. t is not kept. */
void dispatch_apply(struct dispatch *d, const struct dispatch_target *t,
    size_t n);

/* Whether evse follows profiles (for the allocator's input); hint is its
 * position in the last dispatch_apply (a lookup is saved when it matches;
 * SIZE_MAX: none). When known
 * is not NULL, *known says whether what evse applies now is known: one of
 * its profiles was accepted on this connection (until then it may draw
 * its maximum). */
enum dispatch_control dispatch_control_of(struct dispatch *d, size_t hint,
    const struct site_evse *evse, bool *known);

/* The limit evse applies by the profiles it accepted and that are still
 * valid (TxProfile of its session, else the dynamic default, else the
 * base), also while its charger is away; -1 when unknown. *until_mono
 * gets when that profile lapses (monotonic ms; 0: it does not). */
double dispatch_evse_holds(struct dispatch *d, const struct site_evse *evse,
    int64_t *until_mono);

/* Fill *out for evse. */
void dispatch_evse_state(struct dispatch *d, const struct site_evse *evse,
    struct dispatch_evse_state *out);

/* Whether every profile sent has been answered and no increase waits. */
bool dispatch_settled(const struct dispatch *d);

/* Profiles sent, and answered, since the start (for tests and status). */
void dispatch_counts(const struct dispatch *d, uint64_t *sent,
    uint64_t *accepted, uint64_t *failed);

/* "ok", "pending", "uncontrollable". */
const char *dispatch_control_name(enum dispatch_control c);

/* Free. Commands still in flight complete into nothing. NULL is a no-op. */
void dispatch_free(struct dispatch *d);

#endif
