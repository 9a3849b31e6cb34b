/*
 * uplink_auth — the gateway's own answer to "may this id token charge?"
 * when the upstream CSMS decides (authorization.mode "upstream") but
 * cannot be asked: the link is down, the call failed, or the token does
 * not fit the upstream's version.
 *
 * The decision, first that knows the token wins:
 *   1. the local list of the configuration (auth_decide);
 *   2. the list the upstream sent with SendLocalList (an Accepted entry
 *      past its expiry is Expired);
 *   3. the cache of the upstream's answers, while they have not expired;
 *   4. the offline policy: Accepted when upstream.offline_unknown_tokens
 *      says so, else Unknown.
 * It also keeps what feeds 2 and 3: the upstream's local list, with its
 * version (a differential update must be newer than what is held), and
 * the upstream's answers.
 *
 * Everything lives in the state file (the store); no sockets, no event
 * loop, no clock (the time is a parameter).
 */
#ifndef SITEGATE_ROLES_UPLINK_AUTH_H
#define SITEGATE_ROLES_UPLINK_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "ocpp/up.h"
#include "roles/auth.h"

struct uplink_auth;
struct store;

/* Decisions kept in store (not owned; must outlive it). Never NULL. */
struct uplink_auth *uplink_auth_new(struct store *store);

/* NULL is a no-op. */
void uplink_auth_free(struct uplink_auth *a);

/* The configuration's part: its local list (referenced, not copied: it
 * must stay valid until the next call or uplink_auth_free) and the
 * offline policy for unknown tokens. */
void uplink_auth_configure(struct uplink_auth *a, const struct auth_opts *local,
    bool accept_unknown);

/* The decision for token at now_ms without asking the upstream. */
struct auth_result uplink_auth_decide(struct uplink_auth *a,
    const char *token, int64_t now_ms);

/* Remember the upstream's answer r for token, given at now_ms. */
void uplink_auth_remember(struct uplink_auth *a, const char *token,
    const struct auth_result *r, int64_t now_ms);

/* Take the upstream's SendLocalList d: ACCEPTED, VERSION_MISMATCH (a
 * differential update not newer than the list held) or FAILED (the state
 * file refused it; the entries before the failing one are kept). */
enum ocpp_result uplink_auth_update_list(struct uplink_auth *a,
    const struct up_down *d);

/* The version of the list held; 0 when none. */
int uplink_auth_list_version(const struct uplink_auth *a);

/* Forget the upstream's answers: ACCEPTED, or REJECTED when the state
 * file refused. */
enum ocpp_result uplink_auth_clear_cache(struct uplink_auth *a);

#endif
