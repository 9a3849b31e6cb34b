/*
 * auth — see auth.h.
 */
#include "roles/auth.h"

#include <strings.h>

struct auth_result
auth_decide(const struct auth_opts *cfg, const char *token, int64_t now_ms)
{
	struct auth_result r = { OCPP_AUTH_UNKNOWN, 0 };

	if (cfg->mode == AUTH_MODE_ACCEPT_ALL) {
		r.status = OCPP_AUTH_ACCEPTED;
		return r;
	}
	for (size_t i = 0; i < cfg->nlocal; i++) {
		const struct auth_token *t = &cfg->local_list[i];

		if (strcasecmp(t->id_token, token) != 0)
			continue;
		r.expiry_ms = (int64_t)t->expiry * 1000;
		switch (t->status) {
		case AUTH_TOKEN_ACCEPTED:
			r.status = t->expiry != 0 && r.expiry_ms <= now_ms ?
			    OCPP_AUTH_EXPIRED : OCPP_AUTH_ACCEPTED;
			break;
		case AUTH_TOKEN_BLOCKED:
			r.status = OCPP_AUTH_BLOCKED;
			break;
		case AUTH_TOKEN_EXPIRED:
			r.status = OCPP_AUTH_EXPIRED;
			break;
		case AUTH_TOKEN_INVALID:
			r.status = OCPP_AUTH_INVALID;
			break;
		}
		return r;
	}
	return r;
}
