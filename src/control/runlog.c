/*
 * runlog — see runlog.h.
 *
 * A run is one block: the run's header, then its entries, then its
 * strings (NUL-separated, each kept once). Entries refer to strings by
 * offset, so the block can be built in a growing buffer and shrunk to
 * fit at the end. Interning uses a small open-addressing table over the
 * offsets, alive during runlog_add only.
 */
#include "control/runlog.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/xalloc.h"

/* One EVSE of a stored run: 24 bytes. */
struct entry {
	int32_t number;
	uint32_t charger;		/* offsets into the run's strings */
	uint32_t reason;
	uint32_t text;			/* NO_TEXT: none */
	float setpoint_a;		/* multiples of 0.1 A: float is exact
					   enough, rounded again on output */
	uint8_t phases;
};

#define NO_TEXT UINT32_MAX

struct run {
	struct runlog_run head;
	unsigned repeats;		/* runs folded into this one */
	int64_t last_ms;		/* the time of the last of them */
	size_t n;
	struct entry *e;		/* n entries */
	char *strings;
	size_t nstrings;		/* bytes */
};


static const char *const trigger_names[] = {
	"ems_limit", "upstream_limit", "cap", "status", "session", "reading",
	"connect", "disconnect", "boot", "control", "reconfigure", "periodic",
};

/* ------------------------------------------------------------ interning */

struct interner {
	char *buf;
	size_t len, cap;
	uint32_t *slot;			/* offset + 1; 0: empty */
	size_t nslot;			/* a power of two */
};

struct runlog {
	struct run *ring;
	size_t cap, count, next;	/* next: the slot the next run takes */
	size_t bytes;
	/* the run being recorded (runlog_begin .. runlog_end): it joins
	 * the ring at runlog_end, or is folded into the newest run */
	struct run scratch;
	bool open;
	size_t room;			/* entries allocated */
	uint32_t prev_charger;		/* offset of the last charger id */
	struct interner in;
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The offset of s in the run's strings, adding it the first time. */
static uint32_t
intern(struct interner *in, const char *s)
{
	size_t i = hash(s) & (in->nslot - 1), n = strlen(s) + 1;
	uint32_t off;

	while (in->slot[i] != 0) {
		off = in->slot[i] - 1;
		if (strcmp(in->buf + off, s) == 0)
			return off;
		i = (i + 1) & (in->nslot - 1);
	}
	if (in->len + n > in->cap) {
		in->cap = (in->len + n) * 2;
		in->buf = xrealloc(in->buf, in->cap);
	}
	off = (uint32_t)in->len;
	memcpy(in->buf + in->len, s, n);
	in->len += n;
	in->slot[i] = off + 1;
	return off;
}

/* ------------------------------------------------------------------ API */

struct runlog *
runlog_new(size_t capacity)
{
	struct runlog *rl = xcalloc(1, sizeof *rl);

	rl->cap = capacity ? capacity : 1;
	rl->ring = xcalloc(rl->cap, sizeof *rl->ring);
	return rl;
}

static void
run_clear(struct runlog *rl, struct run *r)
{
	rl->bytes -= r->n * sizeof *r->e + r->nstrings;
	free(r->e);
	free(r->strings);
	memset(r, 0, sizeof *r);
}

void
runlog_free(struct runlog *rl)
{
	if (rl == NULL)
		return;
	runlog_end(rl);
	for (size_t i = 0; i < rl->cap; i++)
		run_clear(rl, &rl->ring[i]);
	free(rl->ring);
	free(rl);
}

void
runlog_begin(struct runlog *rl, const struct runlog_run *run, size_t n)
{
	struct run *r = &rl->scratch;
	struct interner *in = &rl->in;

	if (rl->open)
		runlog_end(rl);
	memset(r, 0, sizeof *r);
	r->head = *run;
	r->e = n ? xcalloc(n, sizeof *r->e) : NULL;
	rl->room = n;
	rl->prev_charger = NO_TEXT;
	/* Room for every distinct string at a load of at most a half:
	 * three per EVSE at most. */
	in->len = in->cap = 0;
	in->buf = NULL;
	in->nslot = 16;
	while (in->nslot < 6 * n + 16)
		in->nslot *= 2;
	in->slot = xcalloc(in->nslot, sizeof *in->slot);
	rl->open = true;
}

void
runlog_put(struct runlog *rl, const struct runlog_evse *x)
{
	struct run *r = &rl->scratch;
	struct interner *in = &rl->in;
	const char *ch = x->charger ? x->charger : "";
	struct entry *e;

	if (!rl->open || r->n == rl->room)
		return;
	e = &r->e[r->n++];
	e->number = x->number;
	/* The EVSEs of a charger come together: skip the hash. */
	if (rl->prev_charger != NO_TEXT &&
	    strcmp(in->buf + rl->prev_charger, ch) == 0)
		e->charger = rl->prev_charger;
	else
		e->charger = rl->prev_charger = intern(in, ch);
	e->reason = intern(in, x->reason ? x->reason : "");
	e->text = x->reason_text && x->reason_text[0] ?
	    intern(in, x->reason_text) : NO_TEXT;
	e->setpoint_a = (float)x->setpoint_a;
	e->phases = (uint8_t)x->phases;
}

/* Whether b decided the same as a: the same limit and source per phase,
 * the same EVSEs with the same setpoints and reasons. Entries are zeroed
 * before they are filled and strings are interned in the order the EVSEs
 * come, so equal runs are equal byte for byte. */
static bool
same_outcome(const struct run *a, const struct run *b)
{
	for (int p = 0; p < 3; p++)
		if (a->head.limit_a[p] != b->head.limit_a[p] ||
		    a->head.source[p] != b->head.source[p])
			return false;
	return a->n == b->n && a->nstrings == b->nstrings &&
	    (a->n == 0 || memcmp(a->e, b->e, a->n * sizeof *a->e) == 0) &&
	    (a->nstrings == 0 || memcmp(a->strings, b->strings,
	    a->nstrings) == 0);
}

void
runlog_end(struct runlog *rl)
{
	struct run *r = &rl->scratch, *newest, *slot;
	struct interner *in = &rl->in;

	if (!rl->open)
		return;
	rl->open = false;
	free(in->slot);
	in->slot = NULL;
	if (in->len > 0) {
		r->strings = xrealloc(in->buf, in->len);
	} else {
		free(in->buf);
		r->strings = NULL;
	}
	in->buf = NULL;
	r->nstrings = in->len;
	if (r->n == 0) {
		free(r->e);
		r->e = NULL;
	} else if (r->n < rl->room) {
		r->e = xrealloc(r->e, r->n * sizeof *r->e);
	}
	newest = rl->count > 0 ?
	    &rl->ring[(rl->next + rl->cap - 1) % rl->cap] : NULL;
	if (newest != NULL && same_outcome(newest, r)) {
		/* Nothing changed: counted on the newest, no place taken. */
		newest->head.triggers |= r->head.triggers;
		newest->repeats++;
		newest->last_ms = r->head.time_ms;
		free(r->e);
		free(r->strings);
		memset(r, 0, sizeof *r);
		return;
	}
	slot = &rl->ring[rl->next];
	run_clear(rl, slot);		/* the oldest, when the ring is full */
	*slot = *r;
	memset(r, 0, sizeof *r);
	rl->bytes += slot->n * sizeof *slot->e + slot->nstrings;
	rl->next = (rl->next + 1) % rl->cap;
	if (rl->count < rl->cap)
		rl->count++;
}

void
runlog_add(struct runlog *rl, const struct runlog_run *run,
    const struct runlog_evse *evses, size_t n)
{
	runlog_begin(rl, run, n);
	for (size_t i = 0; i < n; i++)
		runlog_put(rl, &evses[i]);
	runlog_end(rl);
}

size_t
runlog_count(const struct runlog *rl)
{
	return rl->count;
}

size_t
runlog_bytes(const struct runlog *rl)
{
	return rl->bytes;
}

const char *
runlog_trigger_names(unsigned triggers, char *buf, size_t len)
{
	size_t at = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t b = 0; b < sizeof trigger_names / sizeof *trigger_names;
	    b++) {
		size_t n = strlen(trigger_names[b]);

		if (!(triggers & (1u << b)))
			continue;
		if (at + (at > 0) + n >= len)
			break;
		if (at > 0)
			buf[at++] = '+';
		memcpy(buf + at, trigger_names[b], n);
		at += n;
		buf[at] = '\0';
	}
	return buf;
}

static cJSON *
run_json(const struct run *r)
{
	cJSON *o = cJSON_CreateObject(), *src, *ev;
	char trig[256];

	json_add_time(o, "time", r->head.time_ms);
	cJSON_AddStringToObject(o, "trigger", runlog_trigger_names(
	    r->head.triggers, trig, sizeof trig));
	if (r->repeats > 0) {
		cJSON_AddNumberToObject(o, "repeats", r->repeats);
		json_add_time(o, "last_time", r->last_ms);
	}
	cJSON_AddItemToObject(o, "limit_a", json_tenths3(r->head.limit_a));
	src = cJSON_AddArrayToObject(o, "source");
	for (int p = 0; p < 3; p++)
		cJSON_AddItemToArray(src, cJSON_CreateString(
		    r->head.source[p] ? r->head.source[p] : ""));
	ev = cJSON_AddArrayToObject(o, "evses");
	for (size_t i = 0; i < r->n; i++) {
		const struct entry *e = &r->e[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "evse", e->number);
		cJSON_AddStringToObject(x, "charger", r->strings + e->charger);
		cJSON_AddNumberToObject(x, "setpoint_a",
		    round((double)e->setpoint_a * 10) / 10);
		cJSON_AddNumberToObject(x, "phases", e->phases);
		cJSON_AddStringToObject(x, "reason", r->strings + e->reason);
		if (e->text != NO_TEXT)
			cJSON_AddStringToObject(x, "reason_text",
			    r->strings + e->text);
		cJSON_AddItemToArray(ev, x);
	}
	return o;
}

cJSON *
runlog_json(const struct runlog *rl)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
	size_t at = rl->next;

	for (size_t i = 0; i < rl->count; i++) {
		at = at == 0 ? rl->cap - 1 : at - 1;
		cJSON_AddItemToArray(runs, run_json(&rl->ring[at]));
	}
	return doc;
}
