/*
 * control — the control loop: site model + limits → allocator → dispatch,
 * and the site's live status on MQTT.
 *
 * Inputs:
 *   - the EMS limit in force (ems: the EMS's, or the failsafe), per phase;
 *   - the upstream CSMS's station limit, per phase, when it set one;
 *   - the root circuit's fuse (the allocator applies it itself);
 *   - per EVSE (by site-wide number): a cap and a priority from
 *     <prefix>/evse/<n>/set, and a cap from the upstream CSMS;
 *   - the site model: who is connected, statuses, sessions, readings.
 * The effective site limit per phase is the lowest of the fuse, the EMS
 * limit (or failsafe) and the upstream limit; which one it is, per phase,
 * is published. Without an mqtt section there is no EMS limit: the fuse
 * (and the upstream) bound the site.
 *
 * Triggers: a new limit or cap, any site event (status, session start or
 * end, a meter reading, a charger connecting, disconnecting or booting), a
 * reload, and dispatch reporting an EVSE (un)controllable or its profile
 * known. A trigger runs the allocation at once (in the loop's next turn,
 * so everything that arrived in the same turn joins it) unless one ran
 * less than control.coalesce_ms ago; then the triggers of that window make
 * one allocation at its end. An EVSE with a session whose profile is not
 * known yet (its charger just connected) counts as uncontrollable: at its
 * maximum, until the charger accepted one.
 *
 * Every EVSE of every configured charger takes part; chargers not in the
 * configuration (approved unknown ones) are not controlled. The
 * allocator's site is rebuilt when EVSEs appear or the configuration
 * changes, carrying each EVSE's memory over (alloc_site_adopt_state).
 *
 * Meter readings are a lazy trigger: they matter to the allocator over
 * tens of seconds (reclaim), and a thousand chargers send a hundred a
 * second, so a reading waits up to 1 s for a run that any other trigger
 * brings forward.
 *
 * Status: after allocations, at most every 250 ms, the module publishes
 * <prefix>/status, and at most once a second <prefix>/evse/<n> for every
 * numbered EVSE, through the ems module (which deduplicates and
 * rate-limits per topic); while profiles are on their way the documents
 * wait (up to 1 s), so that the profiles leave first. docs/mqtt.md's
 * contract shows both documents.
 */
#ifndef SITEGATE_CONTROL_H
#define SITEGATE_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "control/dispatch.h"

struct control;
struct csms;
struct ems;
struct ems_evse_set;
struct ems_limit;
struct site;

/* Adds the uplink's part to the status document (may be NULL). */
typedef void control_status_fn(cJSON *doc, void *arg);

/* A circuit of the site's tree: a fuse with its limit per grid phase. */
struct control_circuit {
	const char *id;
	int parent_index;		/* -1 for the grid connection */
	double max_current_a[3];	/* per grid phase L1, L2, L3 */
};

/* A configured charger, as the allocator sees it. */
struct control_charger {
	const char *id;
	double max_current_a;
	int phases;			/* 1 or 3 */
	int grid_phase[3];		/* grid phase (0..2) of its phase i */
	int circuit_index;		/* into control_opts.circuits */
	int priority;			/* higher is served first */
};

/* What the control loop takes from the configuration. Kept by reference:
 * o and what it points to stay valid until control_reconfigure() or
 * control_free(). */
struct control_opts {
	const struct control_circuit *circuits;
	size_t ncircuits;
	int root_index;			/* the circuit without a parent */
	const struct control_charger *chargers;
	size_t nchargers;
	double min_current_a;
	double failsafe_current_a;
	int coalesce_ms;		/* triggers this close make one run */
	double hysteresis_a;		/* smaller moves are not sent */
	struct dispatch_opts dispatch;
};

/* Start the loop. site and csms are not owned and must outlive it; ems
 * may be NULL (no mqtt section). Returns NULL with a malloc'd *cause when
 * the options cannot be turned into an allocator site. */
struct control *control_new(struct event_base *base,
    const struct control_opts *o, struct site *site, struct csms *cs,
    struct ems *ems, char **cause);

/* Apply new options and EMS link (NULL: none). Returns 0, or -1 with
 * *cause (malloc'd) when they are refused; the running ones stay. */
int control_reconfigure(struct control *c, const struct control_opts *o,
    struct ems *ems, char **cause);

/* The site's state for the installer's page (docs/web.md, GET
 * /api/state): { "status": the document published on <prefix>/status
 * (with an EMS link, its "ems" member with "age_s"), "circuits": [ each
 * circuit of the configuration: id, parent (null for the root), max_a,
 * allocated_a, measured_a per grid phase ], "evses": [ the document of
 * each numbered EVSE, as on <prefix>/evse/<n> ], "pending": [ at most 100
 * chargers waiting for approval: id, address, version, attempts,
 * last_seen, connected ], "pending_total": how many wait }, whether or
 * not an EMS link exists. The caller owns it. NULL while EVSEs came or
 * went since the last run (one is triggered): ask again in a moment. */
cJSON *control_state_doc(struct control *c);

/* The last allocation runs, newest first (docs/web.md, GET /api/history):
 * {"runs": [...]}, at most 32. The caller owns it. */
cJSON *control_history_doc(struct control *c);

/* The site's limit, allocated and measured current per grid phase over
 * the last hour, one point every 10 s, oldest first (docs/web.md, GET
 * /api/trend): {"interval_s": 10, "points": [...]}; the first point is
 * taken at the first allocation. The caller owns it. */
cJSON *control_trend_doc(struct control *c);

/* A number that moves whenever something control_state_doc() shows may
 * have changed (an input, a site event, a reading, a run, the uplink's
 * status); equal numbers: nothing did, save the clock (ages). */
uint64_t control_changes(const struct control *c);

/* The EMS limit in force changed (ems's on_limit). */
void control_ems_limit(struct control *c, const struct ems_limit *limit);

/* A valid <prefix>/evse/<n>/set arrived (ems's on_evse_set). */
void control_evse_set(struct control *c, const struct ems_evse_set *set);

/* The upstream CSMS's station limit per grid phase in A; NULL: none. */
void control_upstream_limit(struct control *c, const double *limit_a);

/* An upstream cap on EVSE number (A per phase); cap_a < 0 clears it. */
void control_upstream_cap(struct control *c, int number, double cap_a);

/* The latest allocation for EVSE number (0: the whole site, the sum per
 * phase): limit per phase and phases. Returns 0, or -1 when unknown. */
int control_offer(struct control *c, int number, double *limit_a,
    int *phases);

/* Something the status document shows changed outside the loop (the
 * uplink's state or outbox): publish it again soon. */
void control_status_changed(struct control *c);

/* Set the function that adds the uplink's state to the status document. */
void control_set_status_fn(struct control *c, control_status_fn *fn,
    void *arg);

/* Stop and free. NULL is a no-op. */
void control_free(struct control *c);

#endif
