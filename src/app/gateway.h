/*
 * gateway — the daemon: one libevent loop and the modules hung on it.
 *
 * gateway_new() loads the configuration, opens the state store, creates the
 * event base and starts every configured module; gateway_run() runs the
 * loop until SIGTERM or SIGINT; gateway_free() stops the modules in reverse
 * order. SIGHUP reloads the configuration file: a valid one is applied to
 * every module live (what cannot be applied live is logged as needing a
 * restart), an invalid one is refused with its errors logged, and the
 * running configuration stays.
 *
 * Signals are delivered through libevent (evsignal), so every reaction to
 * them runs in the loop, never inside a handler.
 */
#ifndef SITEGATE_GATEWAY_H
#define SITEGATE_GATEWAY_H

#define SITEGATE_VERSION "0.1.0"

/* Process exit codes, documented in docs/configuration.md. */
enum gateway_exit {
	GATEWAY_EXIT_OK = 0,
	GATEWAY_EXIT_CONFIG = 1,	/* the configuration is invalid */
	GATEWAY_EXIT_USAGE = 2,		/* bad command line */
	GATEWAY_EXIT_STATE = 3,		/* the state file cannot be used */
	GATEWAY_EXIT_START = 4,		/* a module could not start (port in use) */
};

struct gateway;

/* Load config_path and start everything. Returns the gateway, or NULL with
 * *exit_code set to a gateway_exit and the reason already logged. */
struct gateway *gateway_new(const char *config_path, int *exit_code);

/* Run until SIGTERM/SIGINT. Returns GATEWAY_EXIT_OK after a clean stop. */
int gateway_run(struct gateway *gw);

/* Stop every module and free the gateway. NULL is a no-op. */
void gateway_free(struct gateway *gw);

#endif
