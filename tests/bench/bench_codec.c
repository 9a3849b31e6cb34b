/*
 * Benchmark of what the gateway does per SetChargingProfile besides the
 * socket write, and per message it receives: encoding a profile (OCPP 1.6
 * and 2.0.1, a TxProfile with validTo and startSchedule, one period in A),
 * printing it as the rpc layer does (json_print, and libcjson's
 * cJSON_PrintUnformatted for comparison: the same bytes), and checking the
 * payload against its schema (schema_validate). The 1 000-charger control
 * loop does each of these a thousand times per limit change.
 *
 * Prints, per step, the median and the minimum over 31 samples of the time
 * per operation, each sample the mean of a batch lasting 2 ms or more.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ocpp/model.h"
#include "ocpp/schema.h"
#include "ocpp/v16.h"
#include "ocpp/v201.h"
#include "util/json.h"
#include "tests/bench/procstat.h"

#define SAMPLES 31

enum step { ENCODE, PRINT_JSON, PRINT_CJSON, VALIDATE, NSTEPS };

static const char *const step_names[NSTEPS] = {
	"encode (ocpp_command -> cJSON tree)",
	"print with json_print",
	"print with cJSON_PrintUnformatted",
	"schema_validate of the payload",
};

struct item {
	bool v201;
	struct ocpp_command cmd;
	cJSON *payload;			/* encoded once, for print and validate */
};

static volatile size_t sink;		/* keeps the work from being dropped */

static void
build(struct item *it, bool v201)
{
	struct ocpp_profile *p = &it->cmd.u.profile;
	const char *action;

	memset(it, 0, sizeof *it);
	it->v201 = v201;
	it->cmd.type = OCPP_CMD_SET_PROFILE;
	it->cmd.evse = 1;
	p->id = 2001;
	p->stack_level = 1;
	p->purpose = OCPP_PURPOSE_TX;
	p->unit = OCPP_UNIT_A;
	snprintf(p->tx_id, sizeof p->tx_id, "%s", v201 ?
	    "4f1c2a9e-77b0-4c55-9d1e-0a6b3c2d8e11" : "1234");
	p->start_ms = 1795000000000;
	p->valid_to_ms = 1795000300000;
	p->nperiods = 1;
	p->periods[0].limit = 8;
	p->periods[0].phases = 3;
	if ((v201 ? v201_encode_command : v16_encode_command)(&it->cmd, &action,
	    &it->payload) != 0)
		abort();
}

static void
once(struct item *it, enum step s)
{
	const char *action;
	cJSON *o;
	char *t;

	switch (s) {
	case ENCODE:
		if ((it->v201 ? v201_encode_command : v16_encode_command)(&it->cmd,
		    &action, &o) != 0)
			abort();
		sink += (size_t)o->type;
		cJSON_Delete(o);
		break;
	case PRINT_JSON:
		t = json_print(it->payload, NULL);
		sink += strlen(t);
		free(t);
		break;
	case PRINT_CJSON:
		t = cJSON_PrintUnformatted(it->payload);
		sink += strlen(t);
		cJSON_free(t);
		break;
	default:
		if (schema_validate(it->v201 ? OCPP_V201 : OCPP_V16,
		    "SetChargingProfile", SCHEMA_REQUEST, it->payload, NULL) !=
		    SCHEMA_OK)
			abort();
		break;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Microseconds per operation: median and minimum over SAMPLES batches. */
static void
measure(struct item *it, enum step s, double *median, double *min)
{
	double t[SAMPLES];
	long batch = 1;

	for (;;) {			/* a batch of 2 ms or more */
		long long t0 = now_us();

		for (long i = 0; i < batch; i++)
			once(it, s);
		if (now_us() - t0 >= 2000)
			break;
		batch *= 2;
	}
	for (int k = 0; k < SAMPLES; k++) {
		long long t0 = now_us();

		for (long i = 0; i < batch; i++)
			once(it, s);
		t[k] = (double)(now_us() - t0) / (double)batch;
	}
	qsort(t, SAMPLES, sizeof t[0], cmp_double);
	*median = t[SAMPLES / 2];
	*min = t[0];
}

int
main(void)
{
	printf("SetChargingProfile: time per operation (TxProfile, validTo, "
	    "one period in A)\n");
	printf("  %-6s %-36s %10s %10s\n", "ocpp", "step", "median_us", "min_us");
	for (int v = 0; v < 2; v++) {
		struct item it;

		build(&it, v == 1);
		for (int s = 0; s < NSTEPS; s++) {
			double med, min;

			measure(&it, (enum step)s, &med, &min);
			printf("  %-6s %-36s %10.3f %10.3f\n", v ? "2.0.1" : "1.6",
			    step_names[s], med, min);
		}
		cJSON_Delete(it.payload);
	}
	return sink == 0;
}
