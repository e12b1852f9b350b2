/*
 * rng.c: xoshiro256** seeded through splitmix64 (see rng.h).
 */
#include "postgres.h"

#include <math.h>

#include "core/rng.h"

static inline uint64
rotl(uint64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64 spreads one 64-bit seed over the 256-bit state, as the
 * xoshiro authors recommend; it never yields the all-zero state. */
static uint64
splitmix64(uint64 *x)
{
	uint64		z = (*x += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

void
aiml_rng_seed(AimlRng *rng, uint64 seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
	rng->has_spare = false;
	rng->spare = 0;
}

uint64
aiml_rng_next(AimlRng *rng)
{
	uint64	   *s = rng->s;
	uint64		result = rotl(s[1] * 5, 7) * 9;
	uint64		t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* 53 random bits scaled into [0, 1). */
double
aiml_rng_uniform(AimlRng *rng)
{
	return (aiml_rng_next(rng) >> 11) * 0x1.0p-53;
}

double
aiml_rng_uniform_range(AimlRng *rng, double lo, double hi)
{
	return lo + (hi - lo) * aiml_rng_uniform(rng);
}

/* Lemire's nearly divisionless method: unbiased for every bound. */
uint64
aiml_rng_below(AimlRng *rng, uint64 bound)
{
	uint128		m;
	uint64		low;

	Assert(bound > 0);
	m = (uint128) aiml_rng_next(rng) * bound;
	low = (uint64) m;
	if (low < bound)
	{
		uint64		threshold = -bound % bound;

		while (low < threshold)
		{
			m = (uint128) aiml_rng_next(rng) * bound;
			low = (uint64) m;
		}
	}
	return (uint64) (m >> 64);
}

/* Marsaglia's polar method; keeps the second deviate for the next call. */
double
aiml_rng_normal(AimlRng *rng)
{
	double		u,
				v,
				s;

	if (rng->has_spare)
	{
		rng->has_spare = false;
		return rng->spare;
	}
	do
	{
		u = 2.0 * aiml_rng_uniform(rng) - 1.0;
		v = 2.0 * aiml_rng_uniform(rng) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	s = sqrt(-2.0 * log(s) / s);
	rng->spare = v * s;
	rng->has_spare = true;
	return u * s;
}
