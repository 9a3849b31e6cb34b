/*
 * uplink_settings — see uplink_settings.h.
 *
 * One table says, per setting, where it is kept and what it takes; the
 * values are read from the state file once (and again on a reload), since
 * nothing but this module writes those keys.
 */
#include "roles/uplink_settings.h"

#include <stdio.h>
#include <stdlib.h>

#include "site/store.h"
#include "util/num.h"
#include "util/xalloc.h"

#define HEARTBEAT_DEFAULT_S 300
#define LOCAL_LIST_MAX 100000		/* LocalAuthListMaxLength */
#define KEPT_MAX (86400 * 7)		/* a kept value beyond: not ours */

/* The writable settings: the meta key that keeps each, and its range.
 * meta NULL: read-only. */
static const struct {
	const char *meta;
	int min, max;
} writable[UP_NSETTINGS] = {
	[UP_SET_HEARTBEAT_INTERVAL] = { "uplink.HeartbeatInterval", 1, 86400 },
	[UP_SET_METER_INTERVAL] = { "uplink.MeterInterval", 0, 3600 },
	[UP_SET_MESSAGE_ATTEMPTS] = { "uplink.MessageAttempts", 1, 10 },
	[UP_SET_RETRY_INTERVAL] = { "uplink.RetryInterval", 1, 3600 },
};

struct uplink_settings {
	struct store *store;
	int value[UP_NSETTINGS];	/* the writable ones: kept or default */
	int heartbeat_s;		/* in force since the last boot; 0: none */
};

/* The value kept under key, else dflt. */
static int
kept(struct store *st, const char *key, int dflt)
{
	char buf[32];
	int64_t v;

	if (store_meta_get(st, key, buf, sizeof buf) != STORE_OK ||
	    num_parse_i64(buf, 0, KEPT_MAX, &v) != 0)
		return dflt;
	return (int)v;
}

void
uplink_settings_defaults(struct uplink_settings *s,
    const struct uplink_settings_defaults *d)
{
	const int dflt[UP_NSETTINGS] = {
		[UP_SET_HEARTBEAT_INTERVAL] = HEARTBEAT_DEFAULT_S,
		[UP_SET_METER_INTERVAL] = d->meter_interval_s,
		[UP_SET_MESSAGE_ATTEMPTS] = d->message_attempts,
		[UP_SET_RETRY_INTERVAL] = d->retry_interval_s,
	};

	for (int i = 0; i < UP_NSETTINGS; i++)
		if (writable[i].meta != NULL)
			s->value[i] = kept(s->store, writable[i].meta, dflt[i]);
}

struct uplink_settings *
uplink_settings_new(struct store *store,
    const struct uplink_settings_defaults *d)
{
	struct uplink_settings *s = xcalloc(1, sizeof *s);

	s->store = store;
	uplink_settings_defaults(s, d);
	return s;
}

void
uplink_settings_free(struct uplink_settings *s)
{
	free(s);
}

int
uplink_settings_get(const struct uplink_settings *s, enum up_setting which)
{
	if ((unsigned)which >= UP_NSETTINGS || writable[which].meta == NULL)
		return 0;
	if (which == UP_SET_HEARTBEAT_INTERVAL && s->heartbeat_s > 0)
		return s->heartbeat_s;
	return s->value[which];
}

int
uplink_settings_boot(struct uplink_settings *s, int interval_s)
{
	s->heartbeat_s = interval_s > 0 ? interval_s :
	    s->value[UP_SET_HEARTBEAT_INTERVAL];
	return s->heartbeat_s;
}

enum ocpp_result
uplink_settings_set(struct uplink_settings *s, const struct up_key *k)
{
	char buf[32];
	int64_t v;

	if (k->setting < 0 || k->setting >= UP_NSETTINGS)
		return k->component_known ? OCPP_RESULT_UNKNOWN_VARIABLE :
		    OCPP_RESULT_UNKNOWN_COMPONENT;
	if (writable[k->setting].meta == NULL ||
	    num_parse_i64(k->key.value, writable[k->setting].min,
	    writable[k->setting].max, &v) != 0)
		return OCPP_RESULT_REJECTED;
	snprintf(buf, sizeof buf, "%d", (int)v);
	store_meta_set(s->store, writable[k->setting].meta, buf);
	s->value[k->setting] = (int)v;
	if (k->setting == UP_SET_HEARTBEAT_INTERVAL)
		s->heartbeat_s = (int)v;
	return OCPP_RESULT_ACCEPTED;
}

void
uplink_settings_values(const struct uplink_settings *s, int nevse,
    struct up_setting_value values[UP_NSETTINGS])
{
	for (int i = 0; i < UP_NSETTINGS; i++) {
		int v = writable[i].meta != NULL ?
		    uplink_settings_get(s, (enum up_setting)i) :
		    i == UP_SET_LOCAL_LIST_ENTRIES ? LOCAL_LIST_MAX :
		    i == UP_SET_LOCAL_LIST_PER_MESSAGE ? UP_MAX_LIST :
		    i == UP_SET_EVSE_COUNT ? nevse : 0;

		snprintf(values[i].text, sizeof values[i].text, "%d", v);
		values[i].readonly = writable[i].meta == NULL;
	}
	snprintf(values[UP_SET_LOCAL_LIST_ENABLED].text,
	    sizeof values[UP_SET_LOCAL_LIST_ENABLED].text, "true");
}
