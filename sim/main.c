/*
 * sitegate-sim — simulated chargers and cars for a sitegate gateway: N
 * chargers of both OCPP versions (sim/cp) connect, boot and answer the
 * gateway; cars (sim/ev) arrive at random (seeded) gaps, charge under the
 * profiles the gateway sends, and leave when full or when their stay is
 * over. A live summary (sim/summary) shows what the site draws. Useful to
 * load-test a gateway on a real site before the chargers arrive; the
 * `make demo` depot runs on it.
 *
 * Time: one clock event every TICK_MS moves the cars (ramping, filling)
 * and handles arrivals and departures; the summary and the JSON lines run
 * on their own timers. Ctrl-C (SIGINT) or SIGTERM stops the loop (the
 * handlers are libevent signal events), then every charger closes its
 * connection.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/cp.h"
#include "sim/ev.h"
#include "sim/spec.h"
#include "sim/summary.h"
#include "util/isotime.h"
#include "util/log.h"

#define PROG "sitegate-sim"
#define TICK_MS 200
#define CHARGERS_MAX 5000

struct slot {			/* one EVSE, as the arrivals see it */
	struct cp *cp;
	int evse;
	int64_t next_ms;	/* a car arrives (free) or leaves (busy) */
	bool busy;
};

struct sim {
	struct event_base *base;
	struct cp **cps;
	int n;
	struct slot *slots;
	int nslots;
	uint64_t rng;
	double arrival_s, stay_s;
	int car_phases;			/* 0: mixed */
	double car_max_a;		/* 0: mixed */
	bool quiet, tty;
	FILE *json;
	const char *url;
	int64_t started, last_tick;
};

/* xorshift64*: a seeded stream, the same for the same --seed. */
static double
rnd(struct sim *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * 2685821657736338717ULL) >> 11) /
	    9007199254740992.0;
}

static double
uniform(struct sim *s, double lo, double hi)
{
	return lo + (hi - lo) * rnd(s);
}

static int64_t
expo_ms(struct sim *s, double mean_s)
{
	return (int64_t)(-log(1.0 - rnd(s)) * mean_s * 1000.0);
}

/* A car: battery, state of charge, its on-board charger. About a
 * quarter are 1-phase, a quarter take less than a charger offers (unless
 * --car-phases, --car-max-a say otherwise). The draws are the same for
 * every option, so a seed gives the same batteries either way. */
static void
new_car(struct sim *s, const struct spec_charger *sp, struct ev_params *p)
{
	memset(p, 0, sizeof *p);
	p->battery_kwh = uniform(s, 40, 100);
	p->soc = uniform(s, 0.1, 0.6);
	p->target_soc = uniform(s, 0.8, 1.0);
	p->phases = rnd(s) < 0.25 ? 1 : 3;
	p->max_a = rnd(s) < 0.25 ? uniform(s, 10, 16) : sp->max_a;
	if (s->car_phases > 0)
		p->phases = s->car_phases;
	if (s->car_max_a > 0)
		p->max_a = s->car_max_a;
	p->ramp_a_per_s = uniform(s, 2, 6);
	p->taper_soc = 0.8;
	p->voltage_v = 230;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	int64_t now = isotime_mono_ms();

	double dt;

	(void)fd;
	(void)what;
	/* The time that really passed: a busy machine runs late ticks. */
	dt = (double)(now - s->last_tick) / 1000.0;
	s->last_tick = now;
	if (dt < 0 || dt > 5)
		dt = TICK_MS / 1000.0;
	for (int i = 0; i < s->n; i++)
		cp_tick(s->cps[i], dt);
	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		struct cp_evse_view v;

		cp_evse_view(sl->cp, sl->evse, &v);
		if (sl->busy && v.state == CP_EVSE_FREE) {
			/* It left by itself (full): the next car. */
			sl->busy = false;
			sl->next_ms = now + expo_ms(s, s->arrival_s);
		}
		if (now < sl->next_ms)
			continue;
		if (!sl->busy) {
			struct ev_params car;

			new_car(s, cp_spec(sl->cp), &car);
			if (cp_plug(sl->cp, sl->evse, &car) == CP_OK) {
				sl->busy = true;
				sl->next_ms = now + expo_ms(s, s->stay_s);
			}
		} else {
			cp_unplug(sl->cp, sl->evse);
			sl->busy = false;
			sl->next_ms = now + expo_ms(s, s->arrival_s);
		}
	}
}

static void
on_summary(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct summary t;

	(void)fd;
	(void)what;
	summary_collect(s->cps, s->n, &t);
	if (!s->quiet)
		summary_print(stdout, s->tty, &t, s->url,
		    (double)(isotime_mono_ms() - s->started) / 1000.0);
}

static void
on_json(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct summary t;

	(void)fd;
	(void)what;
	summary_collect(s->cps, s->n, &t);
	summary_json(s->json, s->cps, s->n, &t);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static int
num(const char *str, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(str, &end);
	if (errno != 0 || end == str || *end != '\0' || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* The first line of path, without its newline. */
static int
read_password(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (f == NULL || fgets(buf, (int)len, f) == NULL) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? 0 : -1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [options]\n"
	    "Simulated OCPP 1.6J and 2.0.1 chargers, with cars that arrive, "
	    "charge under the\nprofiles a gateway sends, and leave.\n\n"
	    "  --url URL            the gateway's OCPP endpoint without the "
	    "charger id\n"
	    "                       (default ws://127.0.0.1:8180/ocpp)\n"
	    "  --chargers N         N generated chargers SIM-001..: versions "
	    "alternate, every\n"
	    "                       fourth is 1-phase, 32 A (default 10)\n"
	    "  --config FILE        the chargers of FILE instead: {\"chargers\": "
	    "[...]} with the\n"
	    "                       keys of the gateway's chargers[] (its own "
	    "configuration\n"
	    "                       works) and \"version\", \"quirks\"; --chargers "
	    "N takes the first N\n"
	    "  --password P         the password of every charger without "
	    "one\n"
	    "  --password-file F    the same, from the first line of F\n"
	    "  --arrival-s S        mean gap before a car comes to a free EVSE "
	    "(default 30)\n"
	    "  --stay-s S           mean time a car stays unless full first "
	    "(default 1800)\n"
	    "  --car-phases 1|3     every car on 1 or 3 phases (default: a "
	    "quarter 1-phase)\n"
	    "  --car-max-a A        every car takes up to A per phase (default: "
	    "the charger's,\n"
	    "                       a quarter 10-16 A)\n"
	    "  --duration-s S       stop after S seconds (default: at Ctrl-C)\n"
	    "  --seed N             the random stream of cars (default 1)\n"
	    "  --summary-s S        the live summary every S seconds (default "
	    "1)\n"
	    "  --quiet              no live summary\n"
	    "  --json-summary FILE  append one JSON line per second: totals, "
	    "drawn current per\n"
	    "                       grid phase, every EVSE (- for stdout)\n"
	    "  --id-tag TAG         the token cars present (default SIM-TAG)\n"
	    "  --verbose            print every SetChargingProfile received and "
	    "the answer\n"
	    "  --help               this text\n\n"
	    "Quirks (per charger in --config): reject_tx_profile, w_only, "
	    "stack_level_0,\nignore_number_phases. See sitegate-sim(1).\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "chargers", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "arrival-s", required_argument, NULL, 'a' },
		{ "stay-s", required_argument, NULL, 's' },
		{ "duration-s", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'S' },
		{ "summary-s", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json-summary", required_argument, NULL, 'j' },
		{ "id-tag", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "car-phases", required_argument, NULL, 'C' },
		{ "car-max-a", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim s;
	struct spec_charger *specs = NULL;
	const char *config = NULL, *json = NULL, *id_tag = "SIM-TAG";
	char password[128] = "";
	bool verbose = false;
	double v, chargers = -1, duration = 0, summary_s = 1, seed = 1;
	struct event *tick, *sum = NULL, *js = NULL, *sigint, *sigterm;
	struct event *end = NULL;
	struct rpc_handlers *h;
	struct cp_opts co;
	struct summary t;
	int ch, n;

	memset(&s, 0, sizeof s);
	s.url = "ws://127.0.0.1:8180/ocpp";
	s.arrival_s = 30;
	s.stay_s = 1800;
	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'u': s.url = optarg; break;
		case 'c': config = optarg; break;
		case 'j': json = optarg; break;
		case 't': id_tag = optarg; break;
		case 'q': s.quiet = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'p':
			snprintf(password, sizeof password, "%s", optarg);
			break;
		case 'P':
			if (read_password(optarg, password, sizeof password) != 0) {
				fprintf(stderr, PROG ": %s: no password on its first "
				    "line\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (num(optarg, 1, CHARGERS_MAX, &chargers) != 0)
				goto bad;
			break;
		case 'a':
			if (num(optarg, 0, 86400, &s.arrival_s) != 0)
				goto bad;
			break;
		case 's':
			if (num(optarg, 1, 7 * 86400, &s.stay_s) != 0)
				goto bad;
			break;
		case 'd':
			if (num(optarg, 0, 365 * 86400.0, &duration) != 0)
				goto bad;
			break;
		case 'S':
			if (num(optarg, 0, 4294967295.0, &seed) != 0)
				goto bad;
			break;
		case 'm':
			if (num(optarg, 0.1, 3600, &summary_s) != 0)
				goto bad;
			break;
		case 'C':
			if (num(optarg, 1, 3, &v) != 0 || (v != 1 && v != 3))
				goto bad;
			s.car_phases = (int)v;
			break;
		case 'M':
			if (num(optarg, 6, 80, &s.car_max_a) != 0)
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (config != NULL) {
		char *cause = NULL;

		if (spec_load(config, &specs, &n, &cause) != SPEC_OK) {
			fprintf(stderr, PROG ": %s\n", cause);
			free(cause);
			return 2;
		}
		if (chargers > 0 && chargers < n)
			n = (int)chargers;
	} else {
		n = chargers > 0 ? (int)chargers : 10;
		if ((specs = spec_generate(n)) == NULL)
			goto nomem;
	}
	for (int i = 0; i < n; i++)
		if (specs[i].password[0] == '\0')
			snprintf(specs[i].password, sizeof specs[i].password, "%s",
			    password);
	if (json != NULL) {
		s.json = strcmp(json, "-") == 0 ? stdout : fopen(json, "a");
		if (s.json == NULL) {
			fprintf(stderr, PROG ": %s: %s\n", json, strerror(errno));
			return 2;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_ERROR);
	/* The block redraws itself: with other lines on stdout, lines. */
	s.tty = isatty(1) && s.json != stdout && !verbose;
	s.rng = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
	s.base = event_base_new();
	h = cp_handlers_new();
	s.cps = calloc((size_t)n, sizeof *s.cps);
	if (s.base == NULL || h == NULL || s.cps == NULL)
		goto nomem;
	memset(&co, 0, sizeof co);
	co.url = s.url;
	co.voltage_v = 230;
	co.id_tag = id_tag;
	co.verbose = verbose;
	for (int i = 0; i < n; i++) {
		if ((s.cps[i] = cp_new(s.base, h, &specs[i], &co)) == NULL)
			goto nomem;
		s.n++;
		s.nslots += specs[i].evses;
	}
	s.slots = calloc((size_t)s.nslots, sizeof *s.slots);
	if (s.slots == NULL)
		goto nomem;
	s.started = s.last_tick = isotime_mono_ms();
	for (int i = 0, k = 0; i < n; i++)
		for (int e = 1; e <= specs[i].evses; e++, k++) {
			s.slots[k].cp = s.cps[i];
			s.slots[k].evse = e;
			/* The first cars within the first arrival gap. */
			s.slots[k].next_ms = s.started + 1000 +
			    (int64_t)(uniform(&s, 0, s.arrival_s) * 1000);
		}

	tick = event_new(s.base, -1, EV_PERSIST, on_tick, &s);
	event_add(tick, &(struct timeval){ 0, TICK_MS * 1000 });
	if (!s.quiet) {
		long us = (long)(summary_s * 1e6);

		sum = event_new(s.base, -1, EV_PERSIST, on_summary, &s);
		event_add(sum, &(struct timeval){ us / 1000000, us % 1000000 });
	}
	if (s.json != NULL) {
		js = event_new(s.base, -1, EV_PERSIST, on_json, &s);
		event_add(js, &(struct timeval){ 1, 0 });
	}
	if (duration > 0) {
		long us = (long)(duration * 1e6);
		struct timeval tv = { us / 1000000, us % 1000000 };

		end = evtimer_new(s.base, on_stop, s.base);
		evtimer_add(end, &tv);
	}
	sigint = evsignal_new(s.base, SIGINT, on_stop, s.base);
	sigterm = evsignal_new(s.base, SIGTERM, on_stop, s.base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	if (!s.quiet && !s.tty)
		printf(PROG ": %d charger%s to %s\n", n, n == 1 ? "" : "s",
		    s.url);
	for (int i = 0; i < n; i++)
		cp_start(s.cps[i]);
	event_base_dispatch(s.base);

	summary_collect(s.cps, s.n, &t);
	if (!s.quiet)
		printf("%s" PROG ": stopped; %ld sessions, %ld profiles (%ld "
		    "rejected), %ld meter values\n", s.tty ? "" : "", t.sessions,
		    t.profiles, t.rejected, t.meters);
	for (int i = 0; i < s.n; i++)
		cp_free(s.cps[i]);
	event_free(tick);
	if (sum)
		event_free(sum);
	if (js)
		event_free(js);
	if (end)
		event_free(end);
	event_free(sigint);
	event_free(sigterm);
	rpc_handlers_free(h);
	event_base_free(s.base);
	if (s.json != NULL && s.json != stdout)
		fclose(s.json);
	free(s.slots);
	free(s.cps);
	free(specs);
	return t.bugs > 0 ? 1 : 0;
nomem:
	fprintf(stderr, PROG ": out of memory\n");
	return 1;
bad:
	usage(stderr);
	return 2;
}
