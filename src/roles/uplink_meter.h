/*
 * uplink_meter — the periodic meter values toward the upstream CSMS.
 *
 * Every meter interval (an uplink setting the upstream may change; 0:
 * none), each EVSE with an open session and a reading newer than the last
 * one queued for that session gets one meter value queued (the outbox
 * sends it). What was last queued is remembered per EVSE number and read
 * back from the state file when the session is new to this process, so a
 * restart neither repeats nor skips a reading. A TriggerMessage for meter
 * values queues the latest reading of the sessions asked for, whatever
 * was queued before.
 */
#ifndef SITEGATE_ROLES_UPLINK_METER_H
#define SITEGATE_ROLES_UPLINK_METER_H

#include <stdint.h>

#include <event2/event.h>

#include "types/neutral.h"

struct uplink_meter;
struct uplink_settings;
struct site;
struct site_evse;
struct store;

/* Queue the periodic meter value of session x (its EVSE's reading) at
 * now_ms. Returns 0, or -1 when it could not be queued. */
typedef int uplink_meter_queue_fn(const struct site_session *x,
    int64_t now_ms, void *arg);

/* A sampler of site's readings on base's timer, at the interval of
 * settings, remembering in store what was queued (none owned; all must
 * outlive it). Not armed yet. Never NULL. */
struct uplink_meter *uplink_meter_new(struct event_base *base,
    struct site *site, struct store *store,
    const struct uplink_settings *settings, uplink_meter_queue_fn *queue,
    void *arg);

/* NULL is a no-op. */
void uplink_meter_free(struct uplink_meter *m);

/* (Re)start the timer at the interval in force (none when 0). */
void uplink_meter_rearm(struct uplink_meter *m);

/* Queue the latest reading of the open sessions of e (NULL: every EVSE)
 * that have one. */
void uplink_meter_trigger(struct uplink_meter *m, const struct site_evse *e);

#endif
