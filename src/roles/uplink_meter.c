/*
 * uplink_meter — see uplink_meter.h.
 */
#include "roles/uplink_meter.h"

#include <stdlib.h>
#include <string.h>

#include "ocpp/up.h"
#include "roles/uplink_settings.h"
#include "site/site.h"
#include "site/store.h"
#include "util/isotime.h"
#include "util/xalloc.h"

struct uplink_meter {
	struct site *site;
	struct store *store;
	const struct uplink_settings *settings;
	uplink_meter_queue_fn *queue;
	void *arg;
	struct event *ev;
	/* per EVSE number: the session and the time of the reading last
	 * queued for it */
	struct sent { int64_t session, ms; } *sent;
	int nsent;
};

/* The time of the reading last queued for EVSE number num's session x:
 * remembered per EVSE, read from the state file when the session is new
 * to this process. NULL when the state file cannot say. */
static struct sent *
sent_of(struct uplink_meter *m, int num, const struct site_session *x)
{
	struct sent *s;

	if (num >= m->nsent) {
		int nn = num + 16;

		m->sent = xrealloc(m->sent, (size_t)nn * sizeof *m->sent);
		memset(m->sent + m->nsent, 0, (size_t)(nn - m->nsent) *
		    sizeof *m->sent);
		m->nsent = nn;
	}
	s = &m->sent[num];
	if (s->session != x->id) {
		if (store_uplink_meter_get(m->store, x->id, &s->ms) != STORE_OK)
			return NULL;	/* unknown: asked again next time */
		s->session = x->id;
	}
	return s;
}

/* Periodic meter values of every EVSE with an open session and a newer
 * reading than the last one queued. */
static void
on_meter(evutil_socket_t fd, short what, void *arg)
{
	struct uplink_meter *m = arg;
	size_t n = site_charger_count(m->site);
	int64_t now = isotime_now_ms();

	(void)fd;
	(void)what;
	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(m->site, i);
		for (int k = 0; k < ch->nevses; k++) {
			struct site_evse *e = ch->evses[k];
			struct sent *s;

			if (e->session == NULL || !e->session->open ||
			    e->reading.ts_ms == 0 || e->number < 1)
				continue;
			s = sent_of(m, e->number, e->session);
			if (s == NULL || e->reading.ts_ms <= s->ms)
				continue;
			if (m->queue(e->session, now, m->arg) == 0)
				s->ms = e->reading.ts_ms;
		}
	}
	uplink_meter_rearm(m);
}

void
uplink_meter_trigger(struct uplink_meter *m, const struct site_evse *e)
{
	size_t n = site_charger_count(m->site);

	for (size_t i = 0; i < n; i++) {
		struct site_charger *ch = site_charger_at(m->site, i);
		for (int k = 0; k < ch->nevses; k++) {
			struct site_evse *x = ch->evses[k];
			/* A session with no reading of its own yet has
			 * nothing to report (readings belong to it). */
			if ((e == NULL || e == x) && x->session &&
			    x->session->open && x->reading.ts_ms != 0)
				m->queue(x->session, isotime_now_ms(), m->arg);
		}
	}
}

void
uplink_meter_rearm(struct uplink_meter *m)
{
	struct timeval tv = { uplink_settings_get(m->settings,
	    UP_SET_METER_INTERVAL), 0 };

	event_del(m->ev);
	if (tv.tv_sec > 0)
		event_add(m->ev, &tv);
}

struct uplink_meter *
uplink_meter_new(struct event_base *base, struct site *site,
    struct store *store, const struct uplink_settings *settings,
    uplink_meter_queue_fn *queue, void *arg)
{
	struct uplink_meter *m = xcalloc(1, sizeof *m);

	m->site = site;
	m->store = store;
	m->settings = settings;
	m->queue = queue;
	m->arg = arg;
	if ((m->ev = evtimer_new(base, on_meter, m)) == NULL)
		abort();
	return m;
}

void
uplink_meter_free(struct uplink_meter *m)
{
	if (m == NULL)
		return;
	event_free(m->ev);
	free(m->sent);
	free(m);
}
