/*
 * sitegate — command line. Everything else is in app/gateway.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app/config.h"
#include "app/gateway.h"
#include "http/webauth.h"
#include "site/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DEFAULT_CONFIG "/etc/sitegate/sitegate.json"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sitegate [--config FILE]\n"
	    "       sitegate --check-config [FILE]\n"
	    "       sitegate [--config FILE] --set-web-password\n"
	    "       sitegate --version | --help\n"
	    "\n"
	    "Site gateway for EV charging depots: the CSMS for the local chargers\n"
	    "(OCPP 1.6J and 2.0.1), one charge point toward the upstream CSMS, and\n"
	    "a load balancer fed with the grid limit over MQTT.\n"
	    "\n"
	    "  -c, --config FILE    configuration file (default %s)\n"
	    "  -t, --check-config   validate the configuration, print every error\n"
	    "                       with its JSON path, and exit (0 valid, 1 not)\n"
	    "      --set-web-password\n"
	    "                       set the installer page's password to the line\n"
	    "                       read from standard input (10 to 128\n"
	    "                       characters), in the configuration's state file\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n"
	    "\n"
	    "Logs go to stderr. SIGTERM/SIGINT stop cleanly; SIGHUP reloads FILE.\n"
	    "Under systemd (Type=notify) it reports READY=1, RELOADING=1 and\n"
	    "STOPPING=1 to $NOTIFY_SOCKET and feeds WatchdogSec= from its loop.\n",
	    DEFAULT_CONFIG);
}

static int
check_config(const char *path)
{
	char *errors = NULL;
	int nerrors = 0;
	struct config *cfg = config_load(path, &errors, &nerrors);
	char versions[64] = "";

	if (cfg == NULL) {
		fputs(errors ? errors : "", stderr);
		fprintf(stderr, "%s: %d error%s\n", path, nerrors,
		    nerrors == 1 ? "" : "s");
		free(errors);
		return GATEWAY_EXIT_CONFIG;
	}
	for (int v = OCPP_NVERSIONS - 1; v >= 0; v--)
		if (cfg->ocpp.versions[v]) {
			if (*versions)
				strcat(versions, ",");
			strcat(versions, ocpp_version_name((enum ocpp_version)v));
		}
	printf("%s: valid: site %s, %zu charger%s, %zu circuit%s, ocpp %s on "
	    "%s:%u%s, mqtt %s, upstream %s, web %s\n", path, cfg->site_id,
	    cfg->nchargers, cfg->nchargers == 1 ? "" : "s", cfg->site.ncircuits,
	    cfg->site.ncircuits == 1 ? "" : "s", versions, cfg->ocpp.listen.host,
	    cfg->ocpp.listen.port, cfg->ocpp.tls ? " (tls)" : "",
	    cfg->mqtt ? "on" : "off", cfg->upstream ? "on" : "off",
	    cfg->web ? "on" : "off");
	config_free(cfg);
	return GATEWAY_EXIT_OK;
}

/* One line of standard input into *line (without its line ending);
 * prompt on a terminal, without echo. Returns its length, or -1. */
static ssize_t
read_line(const char *prompt, char **line, size_t *cap)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	ssize_t n;

	if (tty) {
		fputs(prompt, stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	n = getline(line, cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[--n] = '\0';
	if (n > 0 && (*line)[n - 1] == '\r')
		(*line)[--n] = '\0';
	return n;
}

/* sitegate --set-web-password: the password from standard input into the
 * state file the configuration at path names. A running gateway checks the
 * next login against it. */
static int
set_web_password(const char *path)
{
	char *errors = NULL, *cause = NULL, *pw = NULL, *again = NULL;
	size_t cap = 0, cap2 = 0;
	ssize_t n;
	int nerrors = 0, err, code = GATEWAY_EXIT_OK;
	struct config *cfg = config_load(path, &errors, &nerrors);
	struct store *st = NULL;

	if (cfg == NULL) {
		fputs(errors ? errors : "", stderr);
		fprintf(stderr, "%s: %d error%s\n", path, nerrors,
		    nerrors == 1 ? "" : "s");
		free(errors);
		return GATEWAY_EXIT_CONFIG;
	}
	n = read_line("web password: ", &pw, &cap);
	if (n < 0) {
		fprintf(stderr, "sitegate: no password on standard input\n");
		code = GATEWAY_EXIT_USAGE;
		goto out;
	}
	if (!webauth_password_ok(pw, (size_t)n)) {
		fprintf(stderr, "sitegate: the web password must be %d to %d "
		    "characters on one line\n", WEBAUTH_PASSWORD_MIN,
		    WEBAUTH_PASSWORD_MAX);
		code = GATEWAY_EXIT_USAGE;
		goto out;
	}
	if (isatty(STDIN_FILENO) && (read_line("again: ", &again, &cap2) != n ||
	    memcmp(pw, again, (size_t)n) != 0)) {
		fprintf(stderr, "sitegate: the passwords differ; nothing set\n");
		code = GATEWAY_EXIT_USAGE;
		goto out;
	}
	st = store_open(cfg->state_file, &err, &cause);
	if (st == NULL) {
		fprintf(stderr, "sitegate: %s\n", cause);
		code = GATEWAY_EXIT_STATE;
		goto out;
	}
	if (webauth_set_password(st, pw, (size_t)n, &cause) != 0) {
		fprintf(stderr, "sitegate: %s\n", cause);
		code = GATEWAY_EXIT_STATE;
		goto out;
	}
	printf("web password set in %s\n", cfg->state_file);
out:
	store_close(st);
	free(cause);
	if (pw != NULL)
		explicit_bzero(pw, cap);
	if (again != NULL)
		explicit_bzero(again, cap2);
	free(pw);
	free(again);
	config_free(cfg);
	return code;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "set-web-password", no_argument, NULL, 'W' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false, set_pw = false;
	struct gateway *gw;
	int ch, code;
	/* cJSON aborts on out-of-memory like the rest of the daemon: a
	 * failed allocation inside a nested cJSON_Add* would otherwise drop
	 * a field of a message silently. */
	cJSON_Hooks hooks = { xmalloc, free };

	cJSON_InitHooks(&hooks);

	while ((ch = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'W':	/* long only */
			set_pw = true;
			break;
		case 'V':
			printf("sitegate %s\n", SITEGATE_VERSION);
			return GATEWAY_EXIT_OK;
		case 'h':
			usage(stdout);
			return GATEWAY_EXIT_OK;
		default:
			usage(stderr);
			return GATEWAY_EXIT_USAGE;
		}
	}
	/* "sitegate --check-config FILE": the file may come as an operand. */
	if (optind < argc && path == NULL && check)
		path = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "sitegate: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return GATEWAY_EXIT_USAGE;
	}
	if (check && set_pw) {
		fprintf(stderr, "sitegate: --check-config and --set-web-password "
		    "do not go together\n");
		usage(stderr);
		return GATEWAY_EXIT_USAGE;
	}
	if (path == NULL)
		path = DEFAULT_CONFIG;
	if (check)
		return check_config(path);
	if (set_pw)
		return set_web_password(path);

	gw = gateway_new(path, &code);
	if (gw != NULL) {
		code = gateway_run(gw);
		gateway_free(gw);
	}
	/* The last line, once every module is freed (a start that failed
	 * freed what it had started): a supervisor reading the log knows
	 * the process is done and how. */
	log_info("gateway", "stopped exit=%d", code);
	return code;
}
