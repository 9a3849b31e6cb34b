/*
 * sitegate — command line. Everything else is in app/gateway.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/config.h"
#include "app/gateway.h"
#include "util/xalloc.h"

#define DEFAULT_CONFIG "/etc/sitegate/sitegate.json"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sitegate [--config FILE]\n"
	    "       sitegate --check-config [FILE]\n"
	    "       sitegate --version | --help\n"
	    "\n"
	    "Site gateway for EV charging depots: the CSMS for the local chargers\n"
	    "(OCPP 1.6J and 2.0.1), one charge point toward the upstream CSMS, and\n"
	    "a load balancer fed with the grid limit over MQTT.\n"
	    "\n"
	    "  -c, --config FILE    configuration file (default %s)\n"
	    "  -t, --check-config   validate the configuration, print every error\n"
	    "                       with its JSON path, and exit (0 valid, 1 not)\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n"
	    "\n"
	    "Logs go to stderr. SIGTERM/SIGINT stop cleanly; SIGHUP reloads FILE.\n",
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
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
	if (path == NULL)
		path = DEFAULT_CONFIG;
	if (check)
		return check_config(path);

	gw = gateway_new(path, &code);
	if (gw == NULL)
		return code;
	code = gateway_run(gw);
	gateway_free(gw);
	return code;
}
