/*
 * detect.c: anomaly detectors for time series.
 *
 * aiml.detect_anomalies(ts, value [, options]) is an aggregate over the
 * time-series state of core/series.h (one series per GROUP BY group); its
 * final function orders the series by time and returns the anomalous points
 * as an array of aiml.anomaly_point.  Methods:
 *
 *   robust_zscore  each point against the median and MAD of the `window`
 *                  points before it (a trailing window: the same answer a
 *                  live check would have given at that time);
 *   seasonal_esd   seasonal hybrid ESD (Hochenbaum, Vallis & Kejariwal 2017):
 *                  remove a per-phase median season and a rolling median
 *                  trend, then run the generalized ESD test (Rosner 1983) on
 *                  the residuals with median and MAD in place of mean and
 *                  standard deviation;
 *   auto           seasonal_esd when the series covers two seasons, else
 *                  robust_zscore.
 *
 * aiml.robust_zscore(value) is the first method as a window aggregate, for
 * OVER (ORDER BY ts ROWS BETWEEN n PRECEDING AND CURRENT ROW).
 *
 * A spread of zero (a constant stretch) is never divided by: a point equal to
 * the median scores 0, any other scores +Infinity.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "core/arrays.h"
#include "core/model.h"
#include "core/options.h"
#include "core/series.h"
#include "core/stats.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

/* 1 / Phi^-1(3/4): makes the MAD a consistent estimate of a standard deviation. */
#define MAD_SCALE 1.4826
/* sqrt(pi / 2): the same for the mean absolute deviation. */
#define MEAN_AD_SCALE 1.2533

typedef enum DetectMethod
{
	METHOD_AUTO,
	METHOD_ROBUST_ZSCORE,
	METHOD_SEASONAL_ESD
} DetectMethod;

static const char *const method_names[] = {"auto", "robust_zscore", "seasonal_esd", NULL};

typedef struct DetectOptions
{
	int			method;
	int			window;
	double		threshold;
	int			season;			/* 0: from the interval */
	double		alpha;
	double		max_anomalies;
	bool		all;
} DetectOptions;

/* One output point. */
typedef struct Point
{
	TimestampTz ts;
	double		value;
	double		expected;
	double		score;			/* NaN: not scored (no history yet) */
	bool		anomaly;
} Point;

static void
parse_detect_options(Jsonb *options, DetectOptions *o)
{
	char	   *method = "auto";
	AimlOption spec[] = {
		{"method", AIML_OPT_STRING, &method, 0, 0, method_names, NULL},
		{"window", AIML_OPT_INT, &o->window, 3, 100000, NULL, NULL},
		{"threshold", AIML_OPT_FLOAT, &o->threshold, 0.1, 1000, NULL, NULL},
		{"season", AIML_OPT_INT, &o->season, 2, 100000, NULL, NULL},
		{"alpha", AIML_OPT_FLOAT, &o->alpha, 1e-6, 0.5, NULL, NULL},
		{"max_anomalies", AIML_OPT_FLOAT, &o->max_anomalies, 1e-6, 0.5, NULL, NULL},
		{"all", AIML_OPT_BOOL, &o->all, 0, 0, NULL, NULL},
	};

	o->window = 24;
	o->threshold = 3.5;
	o->season = 0;
	o->alpha = 0.05;
	o->max_anomalies = 0.02;
	o->all = false;
	aiml_parse_options(options, spec, lengthof(spec), "aiml.detect_anomalies");
	for (o->method = 0; strcmp(method_names[o->method], method) != 0; o->method++)
		;
}

PG_FUNCTION_INFO_V1(aiml_detect_final);
PG_FUNCTION_INFO_V1(aiml_robust_zscore_accum);
PG_FUNCTION_INFO_V1(aiml_robust_zscore_final);

/* ---- ordering the series ---- */

static int
compare_by_ts(const void *a, const void *b)
{
	TimestampTz ta = ((const Point *) a)->ts;
	TimestampTz tb = ((const Point *) b)->ts;

	return ta < tb ? -1 : ta > tb;
}

/* The series as points ordered by time; duplicate timestamps are an error. */
static Point *
ordered_points(SeriesState *st)
{
	Point	   *p = palloc_extended(sizeof(Point) * Max(st->n, 1), MCXT_ALLOC_HUGE);

	for (int i = 0; i < st->n; i++)
	{
		p[i].ts = st->ts[i];
		p[i].value = st->v[i];
		p[i].expected = NAN;
		p[i].score = NAN;
		p[i].anomaly = false;
	}
	qsort(p, st->n, sizeof(Point), compare_by_ts);
	for (int i = 1; i < st->n; i++)
		if (p[i].ts == p[i - 1].ts)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("aiml.detect_anomalies got two values at %s",
							timestamptz_to_str(p[i].ts)),
					 errhint("Aggregate duplicates first, e.g. with avg(value) GROUP BY ts.")));
	return p;
}

/* The median spacing of the timestamps, in microseconds. */
static TimestampTz
median_interval(const Point *p, int n)
{
	double	   *gaps = palloc(sizeof(double) * Max(n - 1, 1));

	for (int i = 1; i < n; i++)
		gaps[i - 1] = (double) (p[i].ts - p[i - 1].ts);
	return (TimestampTz) aiml_median_inplace(gaps, n - 1);
}

/* The usual season of a sampling interval: a day of hours, a week of days... */
static int
season_of_interval(TimestampTz interval)
{
	static const struct
	{
		int64		usecs;
		int			season;
	}			known[] = {
		{USECS_PER_MINUTE, 1440}, {5 * USECS_PER_MINUTE, 288},
		{15 * USECS_PER_MINUTE, 96}, {30 * USECS_PER_MINUTE, 48},
		{USECS_PER_HOUR, 24}, {USECS_PER_DAY, 7},
	};

	for (int i = 0; i < lengthof(known); i++)
		if (llabs(interval - known[i].usecs) <= known[i].usecs / 20)
			return known[i].season;
	return 0;
}

/* ---- scores ---- */

/*
 * How far x is from center in units of spread; a zero spread scores 0 at
 * the center and +Infinity elsewhere.
 */
static double
robust_score(double x, double center, double spread)
{
	if (spread > 0)
		return (x - center) / spread;
	return x == center ? 0 : (x > center ? INFINITY : -INFINITY);
}

/* MAD-based spread of v, with the mean absolute deviation when the MAD is 0. */
static double
robust_spread(const double *v, int n, double center, double *scratch)
{
	double		mad = aiml_mad(v, n, center, scratch) * MAD_SCALE;
	double		mean_ad = 0;

	if (mad > 0)
		return mad;
	for (int i = 0; i < n; i++)
		mean_ad += fabs(v[i] - center);
	return mean_ad / n * MEAN_AD_SCALE;
}

static void
detect_robust_zscore(Point *p, int n, const DetectOptions *o)
{
	int			w = o->window;
	double	   *hist = palloc(sizeof(double) * w);
	double	   *scratch = palloc(sizeof(double) * w);

	if (n <= w)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("robust_zscore needs more points than its window of %d, but the series has %d", w, n),
				 errhint("Use a smaller \"window\" option, or a longer series.")));
	for (int i = w; i < n; i++)
	{
		double		center,
					spread;

		for (int j = 0; j < w; j++)
			hist[j] = p[i - w + j].value;
		center = aiml_median_inplace(hist, w);
		for (int j = 0; j < w; j++)
			hist[j] = p[i - w + j].value;
		spread = robust_spread(hist, w, center, scratch);
		p[i].expected = center;
		p[i].score = robust_score(p[i].value, center, spread);
		p[i].anomaly = fabs(p[i].score) > o->threshold;
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Expected values of a seasonal series: per-phase medians (the season) plus
 * a centered rolling median of the deseasonalized series (the trend).
 */
static void
seasonal_expected(Point *p, int n, int season, TimestampTz interval, double *residual)
{
	int		   *phase = palloc(sizeof(int) * n);
	double	   *seasonal = palloc0(sizeof(double) * season);
	double	   *deseason = palloc(sizeof(double) * n);
	double	   *buf = palloc(sizeof(double) * Max(n, season));
	int			half = season / 2;
	double		overall;

	for (int i = 0; i < n; i++)
	{
		int64		k = (int64) llround((double) (p[i].ts - p[0].ts) / interval);

		phase[i] = (int) (k % season);
		buf[i] = p[i].value;
	}
	overall = aiml_median_inplace(buf, n);
	for (int s = 0; s < season; s++)
	{
		int			m = 0;

		for (int i = 0; i < n; i++)
			if (phase[i] == s)
				buf[m++] = p[i].value;
		seasonal[s] = m > 0 ? aiml_median_inplace(buf, m) - overall : 0;
	}
	for (int i = 0; i < n; i++)
		deseason[i] = p[i].value - seasonal[phase[i]];
	for (int i = 0; i < n; i++)
	{
		int			lo = Max(0, i - half);
		int			hi = Min(n - 1, i + half);
		double		trend;

		memcpy(buf, deseason + lo, sizeof(double) * (hi - lo + 1));
		trend = aiml_median_inplace(buf, hi - lo + 1);
		p[i].expected = trend + seasonal[phase[i]];
		residual[i] = p[i].value - p[i].expected;
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Generalized ESD on the residuals, with median and MAD: remove the most
 * extreme residual max_k times, and flag the first k removals where k is
 * the largest step whose statistic exceeds Rosner's critical value.
 */
static void
generalized_esd(Point *p, int n, const double *residual, const DetectOptions *o)
{
	int			max_k = Max(1, (int) floor(o->max_anomalies * n));
	int		   *alive = palloc(sizeof(int) * n);
	int		   *removed = palloc(sizeof(int) * max_k);
	double	   *stat = palloc(sizeof(double) * max_k);
	double	   *buf = palloc(sizeof(double) * n);
	double	   *scratch = palloc(sizeof(double) * n);
	int			m = n;
	int			flagged = 0;

	for (int i = 0; i < n; i++)
		alive[i] = i;
	for (int k = 0; k < max_k && m > 2; k++)
	{
		double		center,
					spread,
					worst = -1;
		int			worst_at = 0;
		double		df = m - 2;
		double		t,
					lambda;

		for (int i = 0; i < m; i++)
			buf[i] = residual[alive[i]];
		center = aiml_median_inplace(buf, m);
		for (int i = 0; i < m; i++)
			buf[i] = residual[alive[i]];
		spread = robust_spread(buf, m, center, scratch);
		for (int i = 0; i < m; i++)
		{
			double		dev = fabs(residual[alive[i]] - center);

			if (dev > worst)
			{
				worst = dev;
				worst_at = i;
			}
		}
		stat[k] = fabs(robust_score(center + worst, center, spread));
		removed[k] = alive[worst_at];
		alive[worst_at] = alive[--m];

		t = aiml_t_quantile(1 - o->alpha / (2.0 * (m + 1)), Max(df, 1));
		lambda = (m) * t / sqrt((df + t * t) * (m + 1));
		if (stat[k] > lambda)
			flagged = k + 1;
		CHECK_FOR_INTERRUPTS();
	}
	for (int k = 0; k < flagged; k++)
	{
		p[removed[k]].anomaly = true;
		p[removed[k]].score = residual[removed[k]] >= 0 ? stat[k] : -stat[k];
	}
}

static void
detect_seasonal_esd(Point *p, int n, const DetectOptions *o, int season, TimestampTz interval)
{
	double	   *residual = palloc(sizeof(double) * n);
	double	   *buf = palloc(sizeof(double) * n);
	double	   *scratch = palloc(sizeof(double) * n);
	double		center,
				spread;

	seasonal_expected(p, n, season, interval, residual);
	memcpy(buf, residual, sizeof(double) * n);
	center = aiml_median_inplace(buf, n);
	spread = robust_spread(residual, n, center, scratch);
	for (int i = 0; i < n; i++)
		p[i].score = robust_score(residual[i], center, spread);
	generalized_esd(p, n, residual, o);
}

/* ---- output ---- */

static Datum
points_array(FunctionCallInfo fcinfo, Point *p, int n, bool all)
{
	Oid			array_type = get_fn_expr_rettype(fcinfo->flinfo);
	Oid			elem_type = get_element_type(array_type);
	TupleDesc	desc;
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			m = 0;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (!OidIsValid(elem_type))
		elog(ERROR, "aiml.detect_anomalies must return an array of aiml.anomaly_point");
	desc = lookup_rowtype_tupdesc(elem_type, -1);
	for (int i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, isnan(p[i].expected), isnan(p[i].score), false};

		if (!all && !p[i].anomaly)
			continue;
		values[0] = TimestampTzGetDatum(p[i].ts);
		values[1] = Float8GetDatum(p[i].value);
		values[2] = Float8GetDatum(p[i].expected);
		values[3] = Float8GetDatum(p[i].score);
		values[4] = BoolGetDatum(p[i].anomaly);
		elems[m++] = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
	}
	ReleaseTupleDesc(desc);
	get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, m, elem_type, typlen, typbyval, typalign));
}

Datum
aiml_detect_final(PG_FUNCTION_ARGS)
{
	SeriesState *st = PG_ARGISNULL(0) ? NULL : (SeriesState *) PG_GETARG_POINTER(0);
	DetectOptions opt;
	DetectOptions *o = &opt;
	Point	   *p;
	TimestampTz interval = 0;
	int			season;
	int			method;

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	parse_detect_options(st->options, o);
	p = ordered_points(st);
	if (st->n >= 2)
		interval = median_interval(p, st->n);
	season = o->season ? o->season : (interval > 0 ? season_of_interval(interval) : 0);

	method = o->method;
	if (method == METHOD_AUTO)
		method = season >= 2 && st->n >= 2 * season ? METHOD_SEASONAL_ESD : METHOD_ROBUST_ZSCORE;
	if (method == METHOD_SEASONAL_ESD)
	{
		if (season < 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot tell the season of a series sampled every %.0f seconds",
							(double) interval / USECS_PER_SEC),
					 errhint("Give it: {\"method\": \"seasonal_esd\", \"season\": 24}.")));
		if (st->n < 2 * season)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("seasonal_esd needs two seasons (%d points), but the series has %d",
							2 * season, (int) st->n),
					 errhint("Use \"method\": \"robust_zscore\" for short series.")));
		detect_seasonal_esd(p, st->n, o, season, interval);
	}
	else
		detect_robust_zscore(p, st->n, o);
	return points_array(fcinfo, p, st->n, o->all);
}

/* ---- aiml.robust_zscore as a window aggregate ---- */

typedef struct ZState
{
	bool		last_is_null;	/* the current row has no value: no score */
	int			n;
	int			cap;
	double	   *v;
} ZState;

Datum
aiml_robust_zscore_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ZState	   *st = PG_ARGISNULL(0) ? NULL : (ZState *) PG_GETARG_POINTER(0);
	double		v;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_robust_zscore_accum called in non-aggregate context");
	if (st == NULL)
		st = MemoryContextAllocZero(aggcxt, sizeof(ZState));
	st->last_is_null = PG_ARGISNULL(1);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	v = PG_GETARG_FLOAT8(1);
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("aiml.robust_zscore got a value that is %s", isnan(v) ? "NaN" : "infinite"),
				 errhint("Replace it with NULL or a finite value.")));
	if (st->n == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 64;
		st->v = st->v ? repalloc_huge(st->v, sizeof(double) * st->cap)
			: MemoryContextAllocHuge(aggcxt, sizeof(double) * st->cap);
	}
	st->v[st->n++] = v;
	PG_RETURN_POINTER(st);
}

/*
 * The last value against the median and MAD of the values before it in the
 * frame; NULL with fewer than three of those, or when the last is NULL.
 */
Datum
aiml_robust_zscore_final(PG_FUNCTION_ARGS)
{
	ZState	   *st = PG_ARGISNULL(0) ? NULL : (ZState *) PG_GETARG_POINTER(0);
	double	   *hist;
	double	   *scratch;
	double		center;
	int			m;

	if (st == NULL || st->n < 4 || st->last_is_null)
		PG_RETURN_NULL();
	m = st->n - 1;
	hist = palloc(sizeof(double) * m);
	scratch = palloc(sizeof(double) * m);
	memcpy(hist, st->v, sizeof(double) * m);
	center = aiml_median_inplace(hist, m);
	memcpy(hist, st->v, sizeof(double) * m);
	PG_RETURN_FLOAT8(robust_score(st->v[m], center, robust_spread(hist, m, center, scratch)));
}
