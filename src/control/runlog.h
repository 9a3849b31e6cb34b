/*
 * runlog — the last allocation runs of the control loop, for the
 * installer's page (GET /api/history in docs/web.md): when each ran, what
 * made it run, the site limit per phase with its source, and what every
 * numbered EVSE was given and why.
 *
 * A ring of a fixed number of runs; the oldest is dropped when a new one
 * comes. A run that decided nothing new — the same limit and source per
 * phase and the same EVSEs with the same setpoints and reasons as the
 * newest — takes no place: it is counted on the newest (repeats, the time
 * of the last one, its triggers added), so that a ring of 32 holds the
 * last 32 changes, not the last 32 meter readings. Each run is one allocation of its own, sized for the EVSEs that
 * took part, so memory follows the site: an EVSE costs 24 bytes per run
 * plus the strings it brings that the run does not hold yet. Strings are
 * copied (a charger id may be gone after a reload, a reason text is built
 * per run) and interned per run: the EVSEs of one charger share its id,
 * and the few distinct reason texts of a run are kept once. A thousand
 * EVSEs in each of 32 runs take about 1.2 MB (runlog_bytes).
 *
 * Pure bookkeeping: no clock, no loop, no logging; the caller passes the
 * time. Strings given to runlog_add and runlog_put need only live during
 * the call; source names must be static (they are kept by pointer). A run
 * being recorded is not in runlog_json until runlog_end.
 */
#ifndef SITEGATE_RUNLOG_H
#define SITEGATE_RUNLOG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct runlog;

/* What made a run, as bits; several may come together. The names are
 * those of docs/web.md. */
enum runlog_trigger {
	RUNLOG_TRIG_EMS_LIMIT = 1u << 0,	/* "ems_limit" */
	RUNLOG_TRIG_UPSTREAM_LIMIT = 1u << 1,	/* "upstream_limit" */
	RUNLOG_TRIG_CAP = 1u << 2,		/* "cap": a cap or a priority */
	RUNLOG_TRIG_STATUS = 1u << 3,		/* "status" */
	RUNLOG_TRIG_SESSION = 1u << 4,		/* "session": started or ended */
	RUNLOG_TRIG_READING = 1u << 5,		/* "reading" */
	RUNLOG_TRIG_CONNECT = 1u << 6,		/* "connect" */
	RUNLOG_TRIG_DISCONNECT = 1u << 7,	/* "disconnect" */
	RUNLOG_TRIG_BOOT = 1u << 8,		/* "boot" */
	RUNLOG_TRIG_CONTROL = 1u << 9,		/* "control": (un)controllable,
						   profile or capabilities known */
	RUNLOG_TRIG_RECONFIGURE = 1u << 10,	/* "reconfigure": configuration
						   or the site's EVSEs changed */
	RUNLOG_TRIG_PERIODIC = 1u << 11,	/* "periodic": a timer */
};

/* One run as the caller describes it. source[p] is a static string. */
struct runlog_run {
	int64_t time_ms;		/* wall clock, ms since the epoch */
	unsigned triggers;		/* enum runlog_trigger bits */
	double limit_a[3];		/* effective site limit per grid phase */
	const char *source[3];		/* what set it on that phase */
};

/* One EVSE of a run. */
struct runlog_evse {
	int number;			/* site-wide EVSE number */
	const char *charger;		/* charger id */
	double setpoint_a;		/* per phase, as sent */
	int phases;
	const char *reason;		/* the allocator's code */
	const char *reason_text;	/* its sentence; NULL or "": none */
};

/* A ring of the last capacity runs (at least 1). Never NULL (aborts when
 * out of memory, as the daemon does). */
struct runlog *runlog_new(size_t capacity);

/* Free the ring and every run. NULL is a no-op. */
void runlog_free(struct runlog *rl);

/* Record a run with its n EVSEs (copied), dropping the oldest when the
 * ring is full. */
void runlog_add(struct runlog *rl, const struct runlog_run *run,
    const struct runlog_evse *evses, size_t n);

/* The same, one EVSE at a time (so that a caller needs no array of its
 * texts): begin drops the oldest run when the ring is full and makes room
 * for at most n EVSEs; put copies one (beyond n: ignored); end shrinks
 * the run to what it holds and makes it the newest. A begin while a run
 * is open ends that one first. */
void runlog_begin(struct runlog *rl, const struct runlog_run *run, size_t n);
void runlog_put(struct runlog *rl, const struct runlog_evse *e);
void runlog_end(struct runlog *rl);

/* Runs held (at most the capacity). */
size_t runlog_count(const struct runlog *rl);

/* Bytes held by the runs (their EVSEs and strings, not the ring itself):
 * for the memory bound. */
size_t runlog_bytes(const struct runlog *rl);

/* {"runs": [...]}, newest first, each run {"time", "trigger", "limit_a",
 * "source", "repeats" and "last_time" (when runs were folded into it),
 * "evses": [{"evse", "charger", "setpoint_a", "phases",
 * "reason", "reason_text"}]} as docs/web.md shows; reason_text only when
 * there is one. The caller owns the tree. */
cJSON *runlog_json(const struct runlog *rl);

/* The trigger bits as names joined with '+' ("status+reading"), in the
 * order of enum runlog_trigger, into buf (always NUL-terminated when len
 * > 0); "" for none. Returns buf. */
const char *runlog_trigger_names(unsigned triggers, char *buf, size_t len);

#endif
