/*
 * uplink_auth — see uplink_auth.h.
 */
#include "roles/uplink_auth.h"

#include <stdio.h>
#include <stdlib.h>

#include "site/store.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

#define MOD "uplink"
#define VERSION_KEY "uplink.LocalListVersion"

struct uplink_auth {
	struct store *store;
	struct auth_opts local;		/* the configuration's list */
	bool accept_unknown;
	int list_version;		/* of the upstream's list; 0 none */
};

struct uplink_auth *
uplink_auth_new(struct store *store)
{
	struct uplink_auth *a = xcalloc(1, sizeof *a);
	char buf[32];
	int64_t v;

	a->store = store;
	a->local.mode = AUTH_MODE_LOCAL_LIST;
	if (store_meta_get(store, VERSION_KEY, buf, sizeof buf) == STORE_OK &&
	    num_parse_i64(buf, 0, 86400 * 7, &v) == 0)
		a->list_version = (int)v;
	return a;
}

void
uplink_auth_free(struct uplink_auth *a)
{
	free(a);
}

void
uplink_auth_configure(struct uplink_auth *a, const struct auth_opts *local,
    bool accept_unknown)
{
	if (local != NULL)
		a->local = *local;
	/* Only the list of the configuration: the mode is "upstream". */
	a->local.mode = AUTH_MODE_LOCAL_LIST;
	a->accept_unknown = accept_unknown;
}

struct auth_result
uplink_auth_decide(struct uplink_auth *a, const char *token, int64_t now)
{
	struct auth_result r;
	int64_t exp;
	int st;

	/* 1. the local list of the configuration */
	r = auth_decide(&a->local, token, now);
	if (r.status != OCPP_AUTH_UNKNOWN)
		return r;
	/* 2. the list the upstream sent (SendLocalList) */
	if (store_local_list_get(a->store, token, &st, &exp) == STORE_OK) {
		r.status = (enum ocpp_auth_status)st;
		r.expiry_ms = exp;
		if (r.status == OCPP_AUTH_ACCEPTED && exp != 0 && exp <= now)
			r.status = OCPP_AUTH_EXPIRED;
		return r;
	}
	/* 3. the cache of the upstream's answers (an expired entry is not
	 * an answer any more) */
	if (store_auth_cache_get(a->store, token, &st, &exp) == STORE_OK &&
	    (exp == 0 || exp > now))
		return (struct auth_result){ (enum ocpp_auth_status)st, exp };
	/* 4. the offline policy */
	r.status = a->accept_unknown ? OCPP_AUTH_ACCEPTED : OCPP_AUTH_UNKNOWN;
	r.expiry_ms = 0;
	return r;
}

void
uplink_auth_remember(struct uplink_auth *a, const char *token,
    const struct auth_result *r, int64_t now_ms)
{
	store_auth_cache_put(a->store, token, (int)r->status, r->expiry_ms,
	    now_ms);
}

enum ocpp_result
uplink_auth_update_list(struct uplink_auth *a, const struct up_down *d)
{
	char buf[32];

	if (!d->list_full && d->list_version <= a->list_version &&
	    a->list_version > 0)
		return OCPP_RESULT_VERSION_MISMATCH;
	if (d->list_full)
		store_local_list_clear(a->store);
	for (int i = 0; i < d->nentries; i++)
		if (store_local_list_put(a->store, d->entries[i].token,
		    d->entries[i].status, d->entries[i].expiry_ms) != STORE_OK)
			return OCPP_RESULT_FAILED;
	a->list_version = d->list_version;
	snprintf(buf, sizeof buf, "%d", d->list_version);
	store_meta_set(a->store, VERSION_KEY, buf);
	log_info(MOD, "local list version=%d entries=%d full=%d",
	    d->list_version, d->nentries, d->list_full);
	return OCPP_RESULT_ACCEPTED;
}

int
uplink_auth_list_version(const struct uplink_auth *a)
{
	return a->list_version;
}

enum ocpp_result
uplink_auth_clear_cache(struct uplink_auth *a)
{
	return store_auth_cache_clear(a->store) == STORE_OK ?
	    OCPP_RESULT_ACCEPTED : OCPP_RESULT_REJECTED;
}
