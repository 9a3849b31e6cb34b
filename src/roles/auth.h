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

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ocpp/model.h"

enum auth_mode {
	AUTH_MODE_LOCAL_LIST = 0,
	AUTH_MODE_ACCEPT_ALL,
	AUTH_MODE_UPSTREAM,
};

enum auth_token_status {
	AUTH_TOKEN_ACCEPTED = 0,
	AUTH_TOKEN_BLOCKED,
	AUTH_TOKEN_EXPIRED,
	AUTH_TOKEN_INVALID,
};

struct auth_token {
	char *id_token;
	enum auth_token_status status;
	time_t expiry;			/* 0: none */
};

struct auth_opts {
	enum auth_mode mode;
	struct auth_token *local_list;
	size_t nlocal;
};

struct auth_result {
	enum ocpp_auth_status status;
	int64_t expiry_ms;		/* 0: none given */
};

/* Decide for token at now_ms under cfg (the configuration's
 * "authorization" section, filled by app/config). Never fails. */
struct auth_result auth_decide(const struct auth_opts *cfg,
    const char *token, int64_t now_ms);

#endif
