/*
 * series.h: the state of every aggregate over a time series (ts, value
 * [, options]): the forecasting aggregates (aiml.ets, aiml.theta,
 * aiml.baseline) and aiml.detect_anomalies share its transition, combine,
 * serialize and deserialize functions (aiml.series_*), and each has its own
 * final function.
 *
 * The state is the series itself, (ts, value) pairs in arrival order, so
 * partial states from parallel workers simply concatenate; final functions
 * sort.  NULL timestamps and NULL, NaN or infinite values are errors: a user
 * who means "missing" filters the rows out, which makes them gaps.
 */
#ifndef AIML_SERIES_H
#define AIML_SERIES_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#define AIML_SERIES_MAX_POINTS 10000000

typedef struct SeriesState
{
	int64		n;
	int64		cap;
	TimestampTz *ts;
	double	   *v;
	Jsonb	   *options;		/* the first row's options, or NULL */
} SeriesState;

#endif							/* AIML_SERIES_H */
