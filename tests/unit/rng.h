/*
 * rng.h — the tests' random numbers: splitmix64, seeded, so that a failing
 * case is reproduced from its printed seed, and the environment variables
 * that set seeds and iteration counts. Header-only (static inline) for the
 * property and differential tests of the allocator; include after cmocka.
 */
#ifndef SITEGATE_TEST_RNG_H
#define SITEGATE_TEST_RNG_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct rng {
	uint64_t s;
};

static inline uint64_t
rnext(struct rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline unsigned
rn(struct rng *r, unsigned n)
{
	return (unsigned)(rnext(r) % n);
}

/* A current in [0, max]: mostly whole or tenths of amperes, sometimes any
 * double, to exercise the rounding. */
static inline double
ramp(struct rng *r, double max)
{
	double u = (double)(rnext(r) >> 11) / 9007199254740992.0;

	switch (rn(r, 4)) {
	case 0:
		return floor(u * max);
	case 1:
		return u * max;
	default:
		return floor(u * max * 10) / 10;
	}
}

/* The unsigned decimal in environment variable name, or def when unset;
 * anything else fails the test. */
static inline uint64_t
env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || s[0] == '-')
		fail_msg("%s=%s: not a number", name, s);
	return v;
}

#endif
