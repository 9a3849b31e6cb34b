/*
 * auth — the gateway's own answer to "may this id token charge?".
 *
 * By authorization.mode:
 *   local_list  the entry's status (Accepted, Blocked, Expired, Invalid);
 *               an Accepted entry past its expiry is Expired; a token not
 *               on the list is Unknown (which the 1.6 codec spells Invalid)
 *   accept_all  Accepted
 *   upstream    the upstream CSMS decides (a later part fills the hook);
 *               until it can be asked, the local list answers
 * Tokens compare case-insensitively (1.6 IdToken is a CiString).
 *
 * Pure: the time is a parameter; no I/O.
 */
#ifndef SITEGATE_AUTH_H
#define SITEGATE_AUTH_H

#include <stdint.h>

#include "core/config.h"
#include "ocpp/model.h"

struct auth_result {
	enum ocpp_auth_status status;
	int64_t expiry_ms;		/* 0: none given */
};

/* Decide for token at now_ms under cfg. Never fails. */
struct auth_result auth_decide(const struct config_auth *cfg,
    const char *token, int64_t now_ms);

#endif
