/*
 * codec — the few pieces the 1.6 and 2.0.1 codecs share word for word.
 *
 * Each codec keeps its own translation (the versions name and shape
 * things differently); what is identical lives here: how a refusal is
 * described, and how a charging schedule's periods are read (the member
 * names of a period are the same in both).
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

#endif
