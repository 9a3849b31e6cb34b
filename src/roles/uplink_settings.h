/*
 * uplink_settings — the gateway's own settings as an upstream CSMS sees
 * them (GetConfiguration / GetVariables) and partly changes them
 * (ChangeConfiguration / SetVariables): the heartbeat interval, the
 * interval of periodic meter values, the attempts and retry interval of a
 * transaction message, and read-only facts (the local list's size, the
 * number of EVSEs).
 *
 * What it decides: which values a setting takes (a strict integer in its
 * range: HeartbeatInterval 1..86400 s, the meter interval 0..3600 s with 0
 * for none, attempts 1..10, the retry interval 1..3600 s), and what is
 * kept: a value the upstream set lives in the meta table of the state
 * file and wins over the configuration's default, across restarts and
 * reloads. The heartbeat interval in force is the one the last accepted
 * BootNotification gave, else the kept one (300 s by default).
 *
 * The names the upstream uses are its version's (the codecs name enum
 * up_setting); nothing here knows them. No sockets, no event loop: the
 * caller re-arms its timers when a set is accepted.
 */
#ifndef SITEGATE_ROLES_UPLINK_SETTINGS_H
#define SITEGATE_ROLES_UPLINK_SETTINGS_H

#include "ocpp/up.h"

struct uplink_settings;
struct store;

/* The configuration's defaults of what the upstream may change. */
struct uplink_settings_defaults {
	int meter_interval_s;
	int message_attempts;
	int retry_interval_s;
};

/* Settings kept in store (not owned; must outlive them), with the
 * defaults d for what the store does not hold. Never NULL. */
struct uplink_settings *uplink_settings_new(struct store *store,
    const struct uplink_settings_defaults *d);

/* New defaults (a reload); what the upstream set still wins. */
void uplink_settings_defaults(struct uplink_settings *s,
    const struct uplink_settings_defaults *d);

/* NULL is a no-op. */
void uplink_settings_free(struct uplink_settings *s);

/* The value of a writable setting in force (UP_SET_HEARTBEAT_INTERVAL,
 * _METER_INTERVAL, _MESSAGE_ATTEMPTS, _RETRY_INTERVAL); 0 for the others. */
int uplink_settings_get(const struct uplink_settings *s,
    enum up_setting which);

/* An accepted boot gave interval_s (0: none): the heartbeat interval in
 * force from now, which this returns. */
int uplink_settings_boot(struct uplink_settings *s, int interval_s);

/* Set what k names to its value: ACCEPTED (kept in the state file),
 * REJECTED (read-only, or a value it does not take), UNKNOWN_COMPONENT or
 * UNKNOWN_VARIABLE (none of ours). */
enum ocpp_result uplink_settings_set(struct uplink_settings *s,
    const struct up_key *k);

/* Every setting's value, for a get answer; nevse is the number of EVSEs
 * of the site. */
void uplink_settings_values(const struct uplink_settings *s, int nevse,
    struct up_setting_value values[UP_NSETTINGS]);

#endif
