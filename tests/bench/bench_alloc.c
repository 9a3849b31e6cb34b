/*
 * Benchmark of alloc_allocate(): time per call for 10, 100, 1 000 and
 * 10 000 EVSEs in a three-level tree (site -> circuits -> sub-circuits ->
 * EVSEs) with mixed phases, rotations, priorities, caps and states, the
 * limits tight enough that circuits at every level bind and some EVSEs
 * are paused. Between calls the clock moves 1 s, the site limit alternates
 * between two values 3 % apart and 1 % of the EVSEs change their draw, so
 * every call refills the tree (and hysteresis, reclaim and the sort see
 * real changes): what a control loop sends. Target: 1 000 EVSEs <= 50 us.
 *
 * A second run does the same while every EVSE also reports a new reading
 * on every call (its L2 and L3 move by 0.01 A, which changes no decision),
 * so that no EVSE's input is ever the same as in the call before: the
 * allocator keeps what it derives from an unchanged input, and this shows
 * the cost when nothing can be kept.
 *
 * Prints, per size, the median and the minimum over 31 samples, each
 * sample the mean of a batch of calls lasting about 2 ms or more.
 *
 * For a profiler: "bench_alloc [-a] EVSES CALLS" builds one site, makes
 * the 200 warm-up calls and then CALLS more (-a: the second run's inputs),
 * and prints nothing; e.g. instructions per call are callgrind's total over
 * (200 + CALLS) with
 *	valgrind --tool=callgrind --toggle-collect=alloc_allocate \
 *	    build/bench/bench_alloc 1000 100
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/alloc.h"

#define SAMPLES 31

struct bench {
	size_t nn, ne;
	struct alloc_node_desc *node;
	struct alloc_evse_desc *ev;
	struct alloc_evse_in *in;
	struct alloc_evse_out *out;
	struct alloc_site *site;
	double root;
	uint64_t now, rng;
	unsigned flip;
	int all;		/* every EVSE's reading changes every call */
};

static uint64_t
rnd(struct bench *b)		/* xorshift64*: fixed seed, same run */
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * UINT64_C(2685821657736338717);
}

static double
jitter(struct bench *b)		/* 0.8 .. 1.2 */
{
	return 0.8 + (double)(rnd(b) % 401) / 1000.0;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
build(struct bench *b, size_t n)
{
	static const double maxes[] = { 16, 32, 11, 20 };
	size_t leaves = n / 10 ? n / 10 : 1, mids, per_mid;
	struct alloc_site_desc d;

	memset(b, 0, sizeof *b);
	b->rng = UINT64_C(0x5eed) + n;
	mids = (size_t)ceil(sqrt((double)leaves));
	per_mid = (leaves + mids - 1) / mids;
	leaves = mids * per_mid;
	b->nn = 1 + mids + leaves;
	b->ne = n;
	b->node = calloc(b->nn, sizeof *b->node);
	b->ev = calloc(n, sizeof *b->ev);
	b->in = calloc(n, sizeof *b->in);
	b->out = calloc(n, sizeof *b->out);
	if (!b->node || !b->ev || !b->in || !b->out) {
		fprintf(stderr, "bench_alloc: out of memory\n");
		exit(1);
	}
	/* about 9 A per EVSE per phase at the site, more below it */
	b->root = 9.0 * (double)n;
	b->node[0].parent = -1;
	for (int p = 0; p < 3; p++)
		b->node[0].limit_a[p] = b->root * 1.5;	/* the EMS binds */
	for (size_t m = 0; m < mids; m++) {
		struct alloc_node_desc *nd = &b->node[1 + m];

		nd->parent = 0;
		for (int p = 0; p < 3; p++)
			nd->limit_a[p] = 1.3 * b->root / (double)mids *
			    jitter(b);
	}
	for (size_t l = 0; l < leaves; l++) {
		struct alloc_node_desc *nd = &b->node[1 + mids + l];

		nd->parent = (int)(1 + l / per_mid);
		for (int p = 0; p < 3; p++)
			nd->limit_a[p] = 1.3 * 1.3 * b->root /
			    (double)leaves * jitter(b);
	}
	for (size_t e = 0; e < n; e++) {
		struct alloc_evse_desc *ed = &b->ev[e];
		struct alloc_evse_in *in = &b->in[e];
		unsigned st = (unsigned)(rnd(b) % 100);

		ed->node = (int)(1 + mids + e % leaves);
		ed->phases = rnd(b) % 10 < 6 ? 3 : 1;
		ed->rotation = (enum alloc_rotation)(rnd(b) % 6);
		ed->grid_phase = (int)(rnd(b) % 3);
		in->max_a = maxes[rnd(b) % 4];
		in->has_session = 1;
		in->state = st < 70 ? ALLOC_ST_CHARGING :
		    st < 80 ? ALLOC_ST_IDLE :
		    st < 85 ? ALLOC_ST_SUSPENDED_EV :
		    st < 90 ? ALLOC_ST_OCCUPIED :
		    st < 94 ? ALLOC_ST_SUSPENDED_EVSE :
		    st < 97 ? ALLOC_ST_OFFLINE : ALLOC_ST_FAULTED;
		if (st >= 97)
			in->has_session = 0;
		st = (unsigned)(rnd(b) % 100);
		in->priority = st < 80 ? 0 : st < 95 ? 1 : 2;
		in->can_switch_phases = rnd(b) % 10 < 3;
		in->has_cap = rnd(b) % 10 == 0;
		in->cap_a = 10;
		in->session_start_ms = 1000 * (rnd(b) % 36000);
		for (int k = 0; k < 3; k++)
			in->measured_a[k] = in->max_a;
	}
	alloc_settings_default(&d.settings);
	d.settings.rotation_period_ms = 900000;
	d.nodes = b->node;
	d.n_nodes = b->nn;
	d.evses = b->ev;
	d.n_evses = n;
	if ((b->site = alloc_site_new(&d)) == NULL) {
		fprintf(stderr, "bench_alloc: alloc_site_new failed\n");
		exit(1);
	}
	b->now = 40000000;
}

static void
step(struct bench *b)
{
	double r = b->root * ((b->flip++ & 1) ? 0.97 : 1.0);
	struct alloc_input in = { { r, r, r }, b->in, b->ne };
	struct alloc_output out = { b->out, b->ne, NULL, 0 };
	size_t changes = b->ne / 100 ? b->ne / 100 : 1;
	int rc;

	b->now += 1000;
	for (size_t e = 0; b->all && e < b->ne; e++) {
		struct alloc_evse_in *x = &b->in[e];

		x->measured_a[1] = x->measured_a[2] = x->max_a +
		    ((b->flip & 1) ? 0.01 : -0.01);
	}
	for (size_t k = 0; k < changes; k++) {
		struct alloc_evse_in *e = &b->in[rnd(b) % b->ne];

		/* a car that takes less than offered, or all of it again */
		e->measured_a[0] = e->measured_a[0] < e->max_a ? e->max_a :
		    e->max_a / 3;
	}
	rc = alloc_allocate(b->site, &in, b->now, &out);
	if (rc < 0) {
		fprintf(stderr, "bench_alloc: alloc_allocate: %s\n",
		    alloc_strerror(rc));
		exit(1);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
run(size_t n, int all)
{
	struct bench b;
	double sample[SAMPLES], t0, t1;
	size_t batch = 1, paused = 0, calls = 0;

	build(&b, n);
	b.all = all;
	for (int k = 0; k < 200; k++)		/* warm up, settle rotation */
		step(&b);
	/* batch size: calls that take at least 2 ms */
	for (;;) {
		t0 = now_us();
		for (size_t k = 0; k < batch; k++)
			step(&b);
		t1 = now_us();
		if (t1 - t0 >= 2000 || batch >= (1u << 20))
			break;
		batch *= 2;
	}
	for (int s = 0; s < SAMPLES; s++) {
		t0 = now_us();
		for (size_t k = 0; k < batch; k++)
			step(&b);
		t1 = now_us();
		sample[s] = (t1 - t0) / (double)batch;
		calls += batch;
	}
	qsort(sample, SAMPLES, sizeof sample[0], cmp_double);
	for (size_t e = 0; e < n; e++)
		paused += b.in[e].state != ALLOC_ST_IDLE &&
		    b.out[e].limit_a == 0;
	printf("%7zu %7zu %12.2f %10.2f %10zu %8zu\n", n, b.nn,
	    sample[SAMPLES / 2], sample[0], calls, paused);
	alloc_site_free(b.site);
	free(b.node);
	free(b.ev);
	free(b.in);
	free(b.out);
}

static size_t
arg_count(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 ||
	    v > ALLOC_MAX_COUNT) {
		fprintf(stderr, "bench_alloc: %s: not a count (1..%d)\n", s,
		    ALLOC_MAX_COUNT);
		exit(2);
	}
	return (size_t)v;
}

/* bench_alloc [-a] EVSES CALLS: for profilers, see the top. */
static void
profile(int argc, char **argv)
{
	struct bench b;
	int all = argc > 1 && strcmp(argv[1], "-a") == 0;
	size_t n, calls;

	if (argc - all != 3) {
		fprintf(stderr, "usage: bench_alloc [[-a] EVSES CALLS]\n");
		exit(2);
	}
	n = arg_count(argv[1 + all]);
	calls = arg_count(argv[2 + all]);
	build(&b, n);
	b.all = all;
	for (size_t k = 0; k < 200 + calls; k++)
		step(&b);
	alloc_site_free(b.site);
	free(b.node);
	free(b.ev);
	free(b.in);
	free(b.out);
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 10, 100, 1000, 10000 };

	if (argc > 1) {
		profile(argc, argv);
		return 0;
	}

	for (int all = 0; all < 2; all++) {
		printf("alloc_allocate(): time per call, three-level tree, "
		    "mixed phases and states%s\n", all ? "; every EVSE's "
		    "reading changes every call" : "");
		printf("%7s %7s %12s %10s %10s %8s\n", "evses", "nodes",
		    "median_us", "min_us", "calls", "paused");
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			run(sizes[i], all);
	}
	return 0;
}
