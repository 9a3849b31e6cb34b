/*
 * types/neutral — the gateway's own words for what a charger reports: an
 * EVSE's status, the answer to a boot, a normalised meter reading, a
 * charging session, and the lengths of ids, tokens and texts.
 *
 * Both sides of every translation use them: the OCPP codecs decode 1.6 and
 * 2.0.1 into them and encode them back, the site model stores them, the
 * control loop and the uplink read them. They sit at the bottom of the
 * include graph so that a codec needs no stateful module to name them. The
 * names keep the site_ prefix: they are the site model's vocabulary,
 * merely defined below it. Types and constants only; nothing here has code.
 */
#ifndef SITEGATE_TYPES_NEUTRAL_H
#define SITEGATE_TYPES_NEUTRAL_H

#include <stdbool.h>
#include <stdint.h>

#define SITE_ID_LEN 49		/* charger ids: 48 + NUL */
#define SITE_TOKEN_LEN 37	/* id tokens and transaction ids: 36 + NUL */
#define SITE_TEXT_LEN 51	/* vendor, model, firmware: 50 + NUL */
#define SITE_MAX_EVSES 32	/* per charger */
#define SITE_MAX_CONNECTORS 4	/* per EVSE */
#define SITE_EVSE_NUMBER_MAX 10000	/* site-wide EVSE numbers: 1..this */

/* What an EVSE is doing, in the gateway's terms. */
enum site_status {
	SITE_STATUS_UNKNOWN = 0,	/* never reported */
	SITE_STATUS_AVAILABLE,
	SITE_STATUS_OCCUPIED,		/* vehicle plugged in / preparing, not charging */
	SITE_STATUS_CHARGING,
	SITE_STATUS_SUSPENDED_EV,
	SITE_STATUS_SUSPENDED_EVSE,
	SITE_STATUS_FINISHING,
	SITE_STATUS_RESERVED,
	SITE_STATUS_UNAVAILABLE,
	SITE_STATUS_FAULTED,
	SITE_STATUS_COUNT,
};

enum site_boot {
	SITE_BOOT_NONE = 0,		/* connected, no BootNotification yet */
	SITE_BOOT_ACCEPTED,
	SITE_BOOT_PENDING,
	SITE_BOOT_REJECTED,
};

/* Which fields of a reading are present. */
enum site_reading_have {
	SITE_HAVE_CURRENT = 1 << 0,	/* current_a[] (per charger phase) */
	SITE_HAVE_OFFERED = 1 << 1,
	SITE_HAVE_POWER = 1 << 2,
	SITE_HAVE_ENERGY = 1 << 3,
	SITE_HAVE_VOLTAGE = 1 << 4,
	SITE_HAVE_SOC = 1 << 5,
};

/* A meter reading, normalised: A, W, Wh, V, percent. Phases are the
 * charger's own L1..L3 (the allocator maps them onto the grid's). */
struct site_reading {
	int64_t ts_ms;
	unsigned have;			/* enum site_reading_have bits */
	double current_a[3];
	double offered_a;
	double power_w;
	double energy_wh;		/* the register, not a delta */
	double voltage_v[3];
	double soc_pct;
};

struct site_evse;

/* A charging session: our id, the charger's, who and what it metered.
 * The site owns every one; the codecs read them to report upstream. */
struct site_session {
	int64_t id;			/* ours; unique across restarts */
	struct site_evse *evse;
	int connector;
	char charger_tx_id[SITE_TOKEN_LEN];
	char id_token[SITE_TOKEN_LEN];
	int64_t start_ms, stop_ms;	/* stop_ms 0 while open */
	double meter_start_wh, meter_stop_wh;
	char stop_reason[SITE_TOKEN_LEN];
	int last_seq_no;		/* 2.0.1 TransactionEvent seqNo; -1 none */
	bool offline;			/* started while the charger was offline */
	bool open;
};

#endif
