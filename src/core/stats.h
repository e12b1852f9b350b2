/*
 * stats.h: small statistics every module needs: order statistics without a
 * full sort, robust location and spread, normal and Student t quantiles.
 */
#ifndef AIML_STATS_H
#define AIML_STATS_H

#include "postgres.h"

/* The median of v[0..n-1]; reorders v (quickselect, O(n) expected). */
extern double aiml_median_inplace(double *v, int n);

/* Median absolute deviation around center; reorders scratch, which it fills. */
extern double aiml_mad(const double *v, int n, double center, double *scratch);

/* Quantile functions, for p in (0, 1). */
extern double aiml_normal_quantile(double p);
extern double aiml_t_quantile(double p, double df);

#endif							/* AIML_STATS_H */
