/*
 * series.c: the training aggregates aiml.ets, aiml.theta and aiml.baseline
 * over (ts timestamptz, value float8 [, options jsonb]).
 *
 * The state is the series itself: (ts, value) pairs in arrival order, so
 * partial states from parallel workers simply concatenate.  The final
 * function sorts by ts, rejects duplicate timestamps, takes the median
 * difference as the interval (28-31 days: one month, 89-92: a quarter,
 * 365-366: a year), places every point on the grid first_ts + k * interval
 * (a point more than a quarter interval off the grid is an error), fills
 * empty slots by linear interpolation between their neighbours (an error
 * when more than max_gap_fraction of the slots are empty), settles the
 * season length (option, else detected), and fits the kind's model.
 *
 * NULL timestamps and NULL, NaN or infinite values are errors, not gaps:
 * silently skipping them would hide data problems, and a user who means
 * "missing" filters them out (WHERE value IS NOT NULL), which makes them
 * gaps that are interpolated.
 */
#include "postgres.h"

#include <math.h>

#include "core/model.h"
#include "core/options.h"
#include "core/series.h"
#include "forecast/forecast.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#define MONTH_USECS ((int64) (30.436875 * USECS_PER_DAY))

typedef struct Point
{
	TimestampTz ts;
	double		v;
} Point;

/* What the options of a training aggregate settle. */
typedef struct FcOptions
{
	int			season;			/* 0: detect */
	char	   *model;
	bool		damped;
	bool		damped_given;
	AimlFloatList levels;
	bool		levels_given;
	int64		seed;
	int			simulations;
	double		max_gap_fraction;
	char	   *method;
} FcOptions;

/* Errors unless 2 <= season <= n / 2. */
void
fc_check_season(int season, int n, const char *caller)
{
	if (season < 2 || season > n / 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("season length %d is invalid for %s on %d points", season, caller, n),
				 errhint("A season is at least 2 steps and at most half the series (%d here); "
						 "leave it out to detect it.", n / 2)));
}

/* Errors unless 1 <= horizon <= FC_MAX_HORIZON. */
void
fc_check_horizon(int h)
{
	if (h < 1 || h > FC_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon %d is out of range", h),
				 errhint("Forecast between 1 and %d steps ahead.", FC_MAX_HORIZON)));
}

/* Errors on NaN or infinite values. */
void
fc_check_values(const double *y, int n, const char *caller)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(y[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s got a non-finite value (%g)", caller, y[i]),
					 errhint("Filter out NaN and infinite values; missing timestamps are interpolated.")));
}

/* Errors when the series is shorter than the kind needs. */
static void
check_points(int n, int need, const char *caller)
{
	if (n < need)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs at least %d points, but the series has %d", caller, need, n),
				 errhint("Collect more history, or forecast with aiml.forecast(values, horizon, 'naive').")));
}

/* ---- the aggregate state: core/series.c ---- */

PG_FUNCTION_INFO_V1(aiml_ets_final);
PG_FUNCTION_INFO_V1(aiml_theta_final);
PG_FUNCTION_INFO_V1(aiml_baseline_final);

/* ---- options ---- */

static const char *const method_choices[] = {"naive", "snaive", "drift", NULL};

/* Parses the options a kind takes; the others are unknown keys. */
static void
parse_fc_options(Jsonb *options, AimlModelKind kind, FcOptions *o, const char *caller)
{
	AimlOption	spec[10];
	int			k = 0;

	memset(o, 0, sizeof(FcOptions));
	o->model = "ZZZ";
	o->seed = FC_DEFAULT_SEED;
	o->simulations = FC_DEFAULT_SIMULATIONS;
	o->max_gap_fraction = 0.2;
	o->method = "snaive";

	spec[k++] = (AimlOption) {"season", AIML_OPT_INT, &o->season, 1, FC_MAX_SEASON, NULL, NULL};
	spec[k++] = (AimlOption) {"levels", AIML_OPT_FLOATS, &o->levels, 0.001, 99.999, NULL, &o->levels_given};
	spec[k++] = (AimlOption) {"max_gap_fraction", AIML_OPT_FLOAT, &o->max_gap_fraction, 0, 0.9, NULL, NULL};
	if (kind == AIML_KIND_ETS)
	{
		spec[k++] = (AimlOption) {"model", AIML_OPT_STRING, &o->model, 0, 0, NULL, NULL};
		spec[k++] = (AimlOption) {"damped", AIML_OPT_BOOL, &o->damped, 0, 0, NULL, &o->damped_given};
		spec[k++] = (AimlOption) {"seed", AIML_OPT_INT64, &o->seed, 0, 9007199254740991.0, NULL, NULL};
		spec[k++] = (AimlOption) {"simulations", AIML_OPT_INT, &o->simulations, 100, FC_MAX_SIMULATIONS, NULL, NULL};
	}
	if (kind == AIML_KIND_BASELINE)
		spec[k++] = (AimlOption) {"method", AIML_OPT_STRING, &o->method, 0, 0, method_choices, NULL};
	aiml_parse_options(options, spec, k, caller);
	if (o->levels_given && (o->levels.n < 1 || o->levels.n > FC_MAX_LEVELS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"levels\" of %s must list 1 to %d levels", caller, FC_MAX_LEVELS),
				 errhint("Give coverage percentages, e.g. [80, 95].")));
}

/* ---- from rows to a regular series ---- */

/* qsort order of points by timestamp. */
static int
cmp_point(const void *a, const void *b)
{
	TimestampTz x = ((const Point *) a)->ts,
				y = ((const Point *) b)->ts;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* qsort order of int64. */
static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Median difference, with whole months recognised by their length. */
static void
detect_interval(const Point *p, int n, FcModel *fm)
{
	int64	   *d = palloc(sizeof(int64) * (n - 1));
	int64		med;

	for (int i = 1; i < n; i++)
		d[i - 1] = p[i].ts - p[i - 1].ts;
	qsort(d, n - 1, sizeof(int64), cmp_int64);
	med = d[(n - 1) / 2];
	pfree(d);
	fm->interval_months = 0;
	fm->interval_us = med;
	if (med >= 28 * USECS_PER_DAY && med <= 31 * USECS_PER_DAY)
		fm->interval_months = 1;
	else if (med >= 89 * USECS_PER_DAY && med <= 92 * USECS_PER_DAY)
		fm->interval_months = 3;
	else if (med >= 365 * USECS_PER_DAY && med <= 366 * USECS_PER_DAY)
		fm->interval_months = 12;
	if (fm->interval_months)
		fm->interval_us = fm->interval_months * MONTH_USECS;
}

/* The season the interval suggests: a day of hours, a week of days... */
static int
season_hint(const FcModel *fm)
{
	int64		iv = fm->interval_us;

	if (fm->interval_months == 1)
		return 12;
	if (fm->interval_months == 3)
		return 4;
	if (fm->interval_months == 12)
		return 1;
	if (iv == USECS_PER_DAY)
		return 7;
	if (iv == 7 * USECS_PER_DAY)
		return 52;
	if (iv < USECS_PER_DAY && USECS_PER_DAY % iv == 0 && USECS_PER_DAY / iv <= fm->n / 2)
		return (int) (USECS_PER_DAY / iv);
	if (iv < USECS_PER_HOUR && USECS_PER_HOUR % iv == 0)
		return (int) (USECS_PER_HOUR / iv);
	return 1;
}

/*
 * Sorts the state's points and lays them on a regular grid, interpolating
 * empty slots.  Returns the values; fills n, timestamps and gaps_filled of fm.
 */
static double *
regular_series(SeriesState *st, FcModel *fm, double max_gap_fraction, const char *caller)
{
	int			n = (int) st->n;
	Point	   *p = palloc(sizeof(Point) * n);
	double		span;
	int64		slots;
	double	   *y;
	bool	   *have;
	int			prev = -1;

	for (int i = 0; i < n; i++)
	{
		p[i].ts = st->ts[i];
		p[i].v = st->v[i];
	}
	qsort(p, n, sizeof(Point), cmp_point);
	for (int i = 1; i < n; i++)
		if (p[i].ts == p[i - 1].ts)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s got two values for timestamp %s", caller, timestamptz_to_str(p[i].ts)),
					 errhint("Give one value per timestamp, e.g. aggregate duplicates with avg() in a subquery.")));
	detect_interval(p, n, fm);
	fm->has_ts = true;
	fm->first_ts = p[0].ts;
	fm->last_ts = p[n - 1].ts;

	span = (double) (p[n - 1].ts - p[0].ts) / fm->interval_us;
	slots = (int64) llround(span) + 1;
	if (slots > FC_MAX_POINTS || (double) (slots - n) > max_gap_fraction * slots)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s found %lld missing steps in a series of %lld, more than max_gap_fraction allows",
						caller, (long long) (slots - n), (long long) slots),
				 errhint("Gaps are filled by linear interpolation up to max_gap_fraction (default 0.2) of the steps; "
						 "raise it in the options, or aggregate to a coarser interval.")));

	y = palloc(sizeof(double) * slots);
	have = palloc0(sizeof(bool) * slots);
	for (int i = 0; i < n; i++)
	{
		double		pos = (double) (p[i].ts - p[0].ts) / fm->interval_us;
		int64		k = (int64) llround(pos);

		if (fabs(pos - k) > 0.25 || k >= slots || have[k])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s found irregular timestamps: %s is not on the grid of the series' interval",
							caller, timestamptz_to_str(p[i].ts)),
					 errhint("Timestamps must be a regular grid (the interval is the median difference); "
							 "truncate them, e.g. date_trunc('hour', ts), and aggregate.")));
		have[k] = true;
		y[k] = p[i].v;
	}
	for (int64 k = 0; k < slots; k++)
	{
		if (!have[k])
			continue;
		if (prev >= 0 && k - prev > 1)
			for (int64 j = prev + 1; j < k; j++)
				y[j] = y[prev] + (y[k] - y[prev]) * (double) (j - prev) / (k - prev);
		prev = (int) k;
	}
	fm->n = (int) slots;
	fm->gaps_filled = (int) (slots - n);
	fm->last_ts = fm->interval_months ? p[n - 1].ts : p[0].ts + (slots - 1) * fm->interval_us;
	pfree(p);
	pfree(have);
	return y;
}

/* The final function of every training aggregate. */
static Datum
series_final(FunctionCallInfo fcinfo, AimlModelKind kind, const char *caller, int min_points)
{
	SeriesState *st = PG_ARGISNULL(0) ? NULL : (SeriesState *) PG_GETARG_POINTER(0);
	FcOptions	o;
	FcModel		fm;
	EtsSpec		spec;
	double	   *y;
	int			method = BASE_SNAIVE;

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	parse_fc_options(st->options, kind, &o, caller);
	if (kind == AIML_KIND_ETS)
		ets_parse_spec(o.model, o.damped_given ? (o.damped ? 1 : 0) : -1, &spec, caller);
	if (kind == AIML_KIND_BASELINE)
		for (method = 0; strcmp(fc_baseline_names[method], o.method) != 0; method++)
			;
	check_points((int) st->n, min_points, caller);

	fc_model_init(&fm, kind, (int) st->n, 1);
	y = regular_series(st, &fm, o.max_gap_fraction, caller);
	if (o.season != 0)
	{
		fc_check_season(o.season, fm.n, caller);
		fm.season = o.season;
	}
	else if (kind == AIML_KIND_ETS && spec.season == ETS_N)
		fm.season = 1;			/* a non-seasonal model was asked for */
	else
		fm.season = fc_detect_season(y, fm.n, season_hint(&fm));
	if (o.levels_given)
	{
		fm.nlevels = o.levels.n;
		memcpy(fm.levels, o.levels.values, sizeof(double) * o.levels.n);
	}
	fm.seed = (uint64) o.seed;
	fm.simulations = o.simulations;
	fc_fit(&fm, y, fm.n, &spec, method, caller);
	PG_RETURN_POINTER(fc_model_build(&fm));
}

/* aiml.ets's final function. */
Datum
aiml_ets_final(PG_FUNCTION_ARGS)
{
	return series_final(fcinfo, AIML_KIND_ETS, "aiml.ets", 5);
}

/* aiml.theta's final function. */
Datum
aiml_theta_final(PG_FUNCTION_ARGS)
{
	return series_final(fcinfo, AIML_KIND_THETA, "aiml.theta", 4);
}

/* aiml.baseline's final function. */
Datum
aiml_baseline_final(PG_FUNCTION_ARGS)
{
	return series_final(fcinfo, AIML_KIND_BASELINE, "aiml.baseline", 2);
}
