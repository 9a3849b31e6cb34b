/*
 * alloc — the load-balancing allocator: splits the site's grid limit and the
 * fuse limits of its circuits into one current limit per EVSE, and says for
 * each limit what bound it.
 *
 * A pure library: no I/O, no logging, no clock (time is an argument), no
 * globals, and no allocation once the site is built. Same site state and
 * inputs, same outputs. policy/README.md explains the algorithm and every
 * rule with a worked example.
 *
 * Use:
 *	struct alloc_site *s = alloc_site_new(&desc);	build from the config
 *	on every trigger:
 *		fill struct alloc_evse_in in[n] (index = order in desc.evses)
 *		rc = alloc_allocate(s, &input, now_ms, &output);
 *		rc < 0: error, nothing changed; rc == ALLOC_OVERLOADED: success, but
 *		the assumed draw of uncontrollable EVSEs alone exceeds a limit
 *		read output.evse[i] (limit_a per phase, 0 = paused; phases; reason)
 *	alloc_site_free(s);
 *
 * Indices: nodes and EVSEs are numbered in the order the desc gives them;
 * node 0 is the grid connection (root) and every other node's parent is an
 * earlier node. Phases are 0, 1, 2 for the grid's L1, L2, L3.
 *
 * Currents are in amperes, per phase. Results are multiples of 0.1 A
 * (ALLOC_RESOLUTION_A), computed exactly in integer tenths of an ampere,
 * rounded so that the limits always hold: limits and maxima are rounded
 * down, minima and assumed draws up (values within 1e-6 A of a 0.1 A step
 * snap to it). Times are ms of any monotonic clock; orderings by time
 * (session start, waiting, running) use whole seconds, ties going to the
 * lower EVSE index.
 *
 * Memory: a site is one object; the caller frees it. The library keeps no
 * pointer into the caller's desc, inputs or outputs after a call returns.
 */
#ifndef SITEGATE_ALLOC_H
#define SITEGATE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#define ALLOC_RESOLUTION_A	0.1
#define ALLOC_MAX_A		1000000.0	/* largest current accepted */
#define ALLOC_PRIORITY_MAX	1000		/* priorities are 0..this */
#define ALLOC_MAX_COUNT		1000000		/* nodes or EVSEs per site */

/* Errors: negative return values. */
enum alloc_err {
	ALLOC_EINVAL = -1,	/* an argument or input is out of range */
	ALLOC_ENOMEM = -2,	/* out of memory (only when building) */
	ALLOC_ENOSPC = -3,	/* a text did not fit the caller's buffer */
};

/* Non-negative results of alloc_allocate(). */
enum alloc_status {
	ALLOC_OK = 0,
	ALLOC_OVERLOADED = 1,	/* succeeded, but uncontrollable EVSEs alone
				   are assumed to exceed some node's limit */
};

enum alloc_rotation {		/* how a 3-phase EVSE's L1 L2 L3 land on
				   the grid's phases */
	ALLOC_ROT_L1L2L3,
	ALLOC_ROT_L2L3L1,
	ALLOC_ROT_L3L1L2,
	ALLOC_ROT_L1L3L2,
	ALLOC_ROT_L2L1L3,
	ALLOC_ROT_L3L2L1,
};

enum alloc_state {
	ALLOC_ST_IDLE,		/* no vehicle */
	ALLOC_ST_OCCUPIED,	/* vehicle connected, not charging (yet) */
	ALLOC_ST_CHARGING,
	ALLOC_ST_SUSPENDED_EV,	/* the vehicle does not take current */
	ALLOC_ST_SUSPENDED_EVSE,/* the EVSE withholds current (e.g. our 0) */
	ALLOC_ST_FAULTED,
	ALLOC_ST_OFFLINE,	/* no connection to the charger */
	ALLOC_ST_UNCONTROLLABLE,/* online but does not follow limits */
};

enum alloc_reason {		/* stable: stored and published */
	ALLOC_R_IDLE,		/* no vehicle */
	ALLOC_R_EV_MAX,		/* its own maximum */
	ALLOC_R_CAP,		/* its upstream (CSMS) cap */
	ALLOC_R_CIRCUIT,	/* a circuit's limit on a phase */
	ALLOC_R_SITE_LIMIT,	/* the site (root) limit on a phase */
	ALLOC_R_BELOW_MIN,	/* paused: less than its minimum is left */
	ALLOC_R_PRIORITY,	/* paused: higher priorities use the room */
	ALLOC_R_ROTATION,	/* paused: waiting for its turn */
	ALLOC_R_EV_DRAWS_LESS,	/* capped near what the EV draws (reclaim) */
	ALLOC_R_UNCONTROLLABLE,	/* offline/faulted/uncontrollable with a
				   session: counted at its assumed draw */
	ALLOC_R_UNAVAILABLE,	/* faulted/offline/uncontrollable, no session */
};

/* Site settings; alloc_settings_default() gives the defaults in brackets. */
struct alloc_settings {
	double min_current_a;		/* [6] per phase; 0 or at least this */
	double hysteresis_a;		/* [1] smaller moves are not made */
	double reclaim_margin_a;	/* [2] "draws less" = below offer - this */
	uint64_t reclaim_hold_ms;	/* [60 000] ... for this long */
	uint64_t reclaim_retry_ms;	/* [600 000] then offer more again */
	uint64_t rotation_period_ms;	/* [0 = off] turns for paused sessions */
	uint64_t phase_switch_interval_ms;/* [300 000] min. time between switches */
	int trust_measured;		/* [0] 1: an uncontrollable EVSE is
					   assumed at its measured draw, not
					   its maximum */
};

struct alloc_node_desc {
	int parent;		/* earlier node's index; -1 for node 0 only */
	double limit_a[3];	/* fuse limit per grid phase */
	const char *name;	/* optional, copied; used by reason texts */
};

struct alloc_evse_desc {
	int node;		/* the node it hangs off */
	int phases;		/* 1 or 3, as wired */
	enum alloc_rotation rotation;	/* phases == 3; in 1-phase mode a
					   switching EVSE uses its own L1,
					   i.e. the first grid phase named */
	int grid_phase;		/* phases == 1: 0..2 for L1..L3 */
};

struct alloc_site_desc {
	const struct alloc_node_desc *nodes;
	size_t n_nodes;		/* >= 1 */
	const struct alloc_evse_desc *evses;
	size_t n_evses;
	struct alloc_settings settings;
};

/* Per EVSE, per call. Currents per phase, >= 0 and finite. */
struct alloc_evse_in {
	enum alloc_state state;
	int has_session;	/* a transaction is open (matters for the
				   faulted, offline, uncontrollable states) */
	double measured_a[3];	/* by the EVSE's own phases L1 L2 L3 */
	uint64_t session_start_ms;	/* earlier sessions are paused last
					   (0: unknown, counts as earliest) */
	double min_a;		/* its minimum (the site minimum if higher;
				   at least 0.1 A) */
	double max_a;		/* its maximum (EVSE, cable and vehicle) */
	int has_cap;
	double cap_a;		/* upstream cap, an extra maximum */
	int priority;		/* 0..ALLOC_PRIORITY_MAX, higher first */
	int can_switch_phases;	/* a 3-phase EVSE that can run on 1 */
};

struct alloc_input {
	double root_limit_a[3];	/* effective site limit per grid phase (the
				   lower of this and node 0's fuse counts) */
	const struct alloc_evse_in *evse;
	size_t n_evse;		/* == alloc_site_evse_count() */
};

struct alloc_evse_out {
	double limit_a;		/* per phase, multiple of 0.1; 0 = paused */
	double max_a;		/* its effective maximum in this call: the
				   lowest of its own, the cap and a reclaim
				   cap (active EVSEs; else 0) */
	int phases;		/* 1 or 3: phases to use */
	enum alloc_reason reason;
	int node;		/* node that bound it, or -1 */
	int phase;		/* grid phase (0..2) that bound it, or -1 */
	int held;		/* 1: kept at its previous value (hysteresis) */
	int switched;		/* 1: its phase count changed in this call */
	double grid_a[3];	/* what it counts for on each grid phase */
};

struct alloc_node_out {
	double limit_a[3];	/* effective limit */
	double assumed_a[3];	/* assumed draw of uncontrollable EVSEs */
	double allocated_a[3];	/* sum of controllable limits */
	unsigned overloaded;	/* bit p: assumed_a[p] > limit_a[p] */
};

struct alloc_output {
	struct alloc_evse_out *evse;	/* required, n_evse entries */
	size_t n_evse;
	struct alloc_node_out *node;	/* optional (NULL, 0) */
	size_t n_node;
};

struct alloc_site;

/* Fill *s with the defaults. */
void alloc_settings_default(struct alloc_settings *s);

/* Build a site: copies everything it needs from desc (names included) and
 * allocates all the storage later calls use. Returns NULL when desc is
 * invalid or memory runs out. The caller frees it with alloc_site_free(). */
struct alloc_site *alloc_site_new(const struct alloc_site_desc *desc);

/* Free a site. NULL is a no-op. */
void alloc_site_free(struct alloc_site *site);

size_t alloc_site_evse_count(const struct alloc_site *site);
size_t alloc_site_node_count(const struct alloc_site *site);

/* The name given to node i, or NULL (none, or i out of range). Owned by
 * the site. */
const char *alloc_site_node_name(const struct alloc_site *site, size_t i);

/* Replace the settings (e.g. a live configuration change) without losing
 * the per-EVSE memory. Returns 0 or ALLOC_EINVAL (then nothing changes). */
int alloc_site_set_settings(struct alloc_site *site,
    const struct alloc_settings *s);

/* Copy what the site remembers about one EVSE (last setpoint, reclaim,
 * rotation and phase-switch history) from EVSE src_i of src to EVSE dst_i
 * of dst: lets a rebuilt site carry on. Returns 0 or ALLOC_EINVAL. */
int alloc_site_adopt_state(struct alloc_site *dst, size_t dst_i,
    const struct alloc_site *src, size_t src_i);

/* Compute every EVSE's limit. in->evse and out->evse are indexed like the
 * desc's EVSEs (n_evse must equal alloc_site_evse_count()); out->node
 * (optional; n_node == alloc_site_node_count()) like its nodes. now_ms is
 * any monotonic clock in ms. Returns ALLOC_OK; ALLOC_OVERLOADED, a success
 * where the assumed draw of uncontrollable EVSEs alone exceeds some limit
 * (out->node[].overloaded says where; the controllable EVSEs there get 0);
 * or ALLOC_EINVAL when an argument or input is out of range: then every
 * out->evse is zeroed (limit 0, reason ALLOC_R_IDLE, node/phase -1) and
 * the site's memory is unchanged. Never allocates, never fails otherwise. */
int alloc_allocate(struct alloc_site *site, const struct alloc_input *in,
    uint64_t now_ms, struct alloc_output *out);

/* A stable short code for r ("ev_max", "circuit", ...); "unknown" for
 * values outside the enum. Static storage. */
const char *alloc_reason_code(enum alloc_reason r);

/* An English sentence for one result, e.g. "limited by circuit row-a on
 * L2", into buf (always NUL-terminated when len > 0). Node names come from
 * site (NULL: nodes are called "node 3"). Returns 0, ALLOC_ENOSPC when
 * truncated, ALLOC_EINVAL when buf or o is NULL or len is 0. */
int alloc_reason_text(const struct alloc_site *site,
    const struct alloc_evse_out *o, char *buf, size_t len);

/* "L1L2L3" style names of rotations, and the reverse. parse returns 0 or
 * ALLOC_EINVAL (then *out is untouched). */
const char *alloc_rotation_name(enum alloc_rotation r);
int alloc_rotation_parse(const char *s, enum alloc_rotation *out);

/* A short text for an alloc_err or alloc_status value. */
const char *alloc_strerror(int rc);

#endif
