/*
 * opts — the configuration, as each module's own options.
 *
 * The lower modules do not know the configuration file: each declares the
 * options it takes (site_opts, csms_opts, control_opts with its
 * dispatch_opts, ...) and this module, beside the composition root, fills
 * them from one parsed struct config. The options borrow the
 * configuration's strings and own the arrays built for them, so a
 * configuration and its options live and die together: the gateway keeps
 * both until a reload has handed the modules the next pair.
 */
#ifndef SITEGATE_OPTS_H
#define SITEGATE_OPTS_H

#include "control/control.h"
#include "control/ems.h"
#include "http/http.h"
#include "app/config.h"
#include "roles/csms.h"
#include "roles/uplink.h"
#include "site/site.h"

struct opts;

/* Build every module's options from cfg, which must outlive the result.
 * Never returns NULL (aborts on allocation failure). */
struct opts *opts_new(const struct config *cfg);

/* Free what opts_new() built. NULL is a no-op. */
void opts_free(struct opts *o);

/* The options of one module; valid as long as o. */
const struct site_opts *opts_site(const struct opts *o);
const struct csms_opts *opts_csms(const struct opts *o);
const struct control_opts *opts_control(const struct opts *o);
/* NULL without an mqtt section. */
const struct ems_opts *opts_ems(const struct opts *o);
/* NULL without an upstream section. */
const struct uplink_opts *opts_uplink(const struct opts *o);
/* NULL without a web section. */
const struct http_opts *opts_http(const struct opts *o);

#endif
