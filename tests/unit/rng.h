/*
 * rng.h — the tests' random numbers: splitmix64, seeded, so that a failing
 * case is reproduced from its printed seed. Header-only (static inline) for
 * the property and differential tests of the allocator.
 */
#ifndef SITEGATE_TEST_RNG_H
#define SITEGATE_TEST_RNG_H

#include <math.h>
#include <stdint.h>

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

#endif
