/*
 * rng.h: a seeded random number generator (xoshiro256**, Blackman & Vigna),
 * so every randomized algorithm gives the same answer for the same seed on
 * every platform, independent of the C library's rand().
 */
#ifndef AIML_RNG_H
#define AIML_RNG_H

#include "postgres.h"

typedef struct AimlRng
{
	uint64		s[4];
	bool		has_spare;		/* aiml_rng_normal makes two at a time */
	double		spare;
} AimlRng;

extern void aiml_rng_seed(AimlRng *rng, uint64 seed);
extern uint64 aiml_rng_next(AimlRng *rng);
extern double aiml_rng_uniform(AimlRng *rng);	/* [0, 1) */
extern double aiml_rng_uniform_range(AimlRng *rng, double lo, double hi);
extern uint64 aiml_rng_below(AimlRng *rng, uint64 bound);	/* [0, bound) */
extern double aiml_rng_normal(AimlRng *rng);	/* mean 0, sd 1 */

#endif							/* AIML_RNG_H */
