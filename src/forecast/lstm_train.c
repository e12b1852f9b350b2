/*
 * lstm_train.c: aiml.lstm_train(query, options), training an LSTM on the
 * rows (series, ts, value) of a query.
 *
 * The query is read through an SPI cursor in chunks, so only the points
 * themselves (16 bytes each) are kept, never the tuples.  Each series is
 * sorted by time and cut into windows of `window` inputs and `horizon`
 * targets.  The last `validation` fraction of each series' windows is held
 * out (with the horizon - 1 windows before it, whose targets would overlap
 * the held-out targets); scaling (mean and standard deviation per series) is
 * fitted on the rest only, and values are centred on the series' mean or,
 * with normalize "window", on each window's last value, or with normalize
 * "season" measured relative to the level of the window's last season (see
 * lstm_window_scaling); with deseasonalize the targets are the differences
 * to the seasonal naive path.  With stride s only every s-th window is used,
 * counted back from the series' last one.  Training is mini-batch Adam on
 * the mean squared (or absolute) error with global-norm gradient clipping;
 * each epoch ends with the validation loss, and the weights of the best
 * epoch are kept (early stopping after `patience` epochs without
 * improvement).  With ensemble n, n networks are trained from seeds seed ..
 * seed + n - 1 on the same windows and their forecasts averaged.  Memory
 * beyond the data is the weights (five copies: weights, gradient, Adam's two
 * moments and the best weights, plus one per ensemble member) and one batch
 * of activations (lstm_work_bytes).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "core/blas.h"
#include "core/options.h"
#include "core/rng.h"
#include "executor/spi.h"
#include "forecast/lstm.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define CALLER "aiml.lstm_train"
#define SERIES_NAME_MAX 256
#define FETCH_ROWS 10000

typedef struct LstmOptions
{
	int			layers;
	int			hidden;
	int			window;
	int			horizon;
	int			epochs;
	int			batch;
	double		learning_rate;
	int			patience;
	int64		seed;
	double		clip;
	double		validation;
	bool		calendar;
	char	   *normalize;
	int			season;
	bool		deseasonalize;
	int			stride;
	char	   *loss;
	int			ensemble;
	int			patch;
	int			threads;
} LstmOptions;

typedef struct Point
{
	TimestampTz ts;
	double		value;
} Point;

/* A series as read from the query, then its split into windows. */
typedef struct RawSeries
{
	char		name[SERIES_NAME_MAX];	/* hash key */
	int			n;
	int			cap;
	Point	   *points;
	int			last;			/* the last window's start */
	int			ntrain;			/* windows starting at train_max, train_max - stride, ... */
	int			train_max;
	int			nval;			/* windows starting at last, last - stride, ... validate */
	double		mean;
	double		scale;
} RawSeries;

/* One window: which series, and where its inputs start. */
typedef struct Sample
{
	int			series;
	int			start;
} Sample;

typedef struct Trainer
{
	LstmShape	shape;
	LstmLayout	layout;
	LstmWork	work;
	RawSeries **series;
	int			nseries;
	Sample	   *train;
	int			ntrain;
	Sample	   *val;
	int			nval;
	double	   *theta;
	double	   *grad;
	double	   *adam_m;
	double	   *adam_v;
	double	   *best;
	double	   *target;
	double	   *dy;
	double	   *values;			/* one window's raw values */
	double	   *base;			/* its seasonal naive path, scaled */
	double	   *ysum;			/* batch x horizon: an ensemble's summed outputs */
	int64		adam_steps;
	int			window;			/* values per window: shape.window * patch */
	int			patch;
	int			stride;
	LstmScaling scaling;
	LstmLoss	loss;
} Trainer;

static const char *const normalize_names[] = {"series", "window", "season", NULL};
static const char *const loss_names[] = {"mse", "mae", NULL};

static void
parse_lstm_options(Jsonb *options, LstmOptions *o)
{
	AimlOption	spec[] = {
		{"layers", AIML_OPT_INT, &o->layers, 1, LSTM_MAX_LAYERS},
		{"hidden", AIML_OPT_INT, &o->hidden, 1, LSTM_MAX_HIDDEN},
		{"window", AIML_OPT_INT, &o->window, 1, LSTM_MAX_WINDOW},
		{"horizon", AIML_OPT_INT, &o->horizon, 1, LSTM_MAX_HORIZON},
		{"epochs", AIML_OPT_INT, &o->epochs, 1, LSTM_MAX_EPOCHS},
		{"batch", AIML_OPT_INT, &o->batch, 1, 65536},
		{"learning_rate", AIML_OPT_FLOAT, &o->learning_rate, 1e-12, 10},
		{"patience", AIML_OPT_INT, &o->patience, 0, LSTM_MAX_EPOCHS},
		{"seed", AIML_OPT_INT64, &o->seed, 0, (double) PG_INT64_MAX},
		{"clip", AIML_OPT_FLOAT, &o->clip, 0, 1e6},
		{"validation", AIML_OPT_FLOAT, &o->validation, 0, 0.9},
		{"calendar", AIML_OPT_BOOL, &o->calendar},
		{"normalize", AIML_OPT_STRING, &o->normalize, 0, 0, normalize_names},
		{"season", AIML_OPT_INT, &o->season, 0, LSTM_MAX_WINDOW},
		{"deseasonalize", AIML_OPT_BOOL, &o->deseasonalize},
		{"stride", AIML_OPT_INT, &o->stride, 1, 100000},
		{"loss", AIML_OPT_STRING, &o->loss, 0, 0, loss_names},
		{"ensemble", AIML_OPT_INT, &o->ensemble, 1, LSTM_MAX_MEMBERS},
		{"patch", AIML_OPT_INT, &o->patch, 1, LSTM_MAX_WINDOW},
		{"threads", AIML_OPT_INT, &o->threads, 1, 64},
	};

	o->layers = 1;
	o->hidden = 32;
	o->window = 48;
	o->horizon = 24;
	o->epochs = 50;
	o->batch = 32;
	o->learning_rate = 0.001;
	o->patience = 10;
	o->seed = 0;
	o->clip = 1.0;
	o->validation = 0.1;
	o->calendar = false;
	o->normalize = "series";
	o->season = 0;
	o->deseasonalize = false;
	o->stride = 1;
	o->loss = "mse";
	o->ensemble = 1;
	o->patch = 1;
	o->threads = aiml_blas_threads;
	aiml_parse_options(options, spec, lengthof(spec), CALLER);

	if ((strcmp(o->normalize, "season") == 0 || o->deseasonalize) && o->season == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of %s needs the option \"season\"",
						o->deseasonalize ? "deseasonalize" : "normalize", CALLER),
				 errhint("Give the season length in steps, e.g. \"season\": 24 for hourly data with a daily cycle.")));
	if (o->season > o->window)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"season\" of %s is %d, longer than the window of %d",
						CALLER, o->season, o->window),
				 errhint("The network reads the last season of its window: make \"window\" at least \"season\".")));
	if (o->window % o->patch != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"window\" of %s is %d, not a multiple of the patch of %d",
						CALLER, o->window, o->patch),
				 errhint("The network reads the window in patches of \"patch\" values: make \"window\" a multiple of it.")));
}

/* The query must return (text, timestamptz, float8), in that order. */
static void
check_columns(TupleDesc desc)
{
	static const Oid want[] = {TEXTOID, TIMESTAMPTZOID, FLOAT8OID};

	if (desc->natts != 3)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("query of %s must return 3 columns (series text, ts timestamptz, value float8), not %d",
						CALLER, desc->natts),
				 errhint("For one series, select a constant name: SELECT 'cpu', ts, value FROM t.")));
	for (int i = 0; i < 3; i++)
		if (TupleDescAttr(desc, i)->atttypid != want[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of the query of %s has type %s, not %s",
							i + 1, CALLER, format_type_be(TupleDescAttr(desc, i)->atttypid),
							format_type_be(want[i])),
					 errhint("Cast the columns: SELECT series::text, ts::timestamptz, value::float8 FROM ...")));
}

static RawSeries *
series_entry(HTAB *table, const char *name)
{
	char		key[SERIES_NAME_MAX];
	bool		found;
	RawSeries  *s;

	if (strlen(name) >= SERIES_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("series name \"%.40s...\" is longer than %d bytes", name, SERIES_NAME_MAX - 1)));
	memset(key, 0, sizeof(key));
	strlcpy(key, name, sizeof(key));
	s = hash_search(table, key, HASH_ENTER, &found);
	if (!found)
	{
		s->n = 0;
		s->cap = 64;
		s->points = palloc(sizeof(Point) * s->cap);
	}
	return s;
}

/*
 * Appends the rows of one fetched chunk to their series (in cxt); the series
 * name of each row is converted in rowcxt, reset every row, so memory grows
 * with the points only.
 */
static void
absorb_rows(HTAB *table, SPITupleTable *tuptable, uint64 nrows, MemoryContext cxt,
			MemoryContext rowcxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = tuptable->vals[i];
		bool		isnull[3];
		Datum		d[3];
		RawSeries  *s;
		char	   *name;
		double		v;

		for (int c = 0; c < 3; c++)
			d[c] = SPI_getbinval(tup, tuptable->tupdesc, c + 1, &isnull[c]);
		if (isnull[0] || isnull[1] || isnull[2])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("query of %s returned a NULL %s", CALLER,
							isnull[0] ? "series" : isnull[1] ? "ts" : "value"),
					 errhint("Filter missing points out (WHERE value IS NOT NULL) or fill them in first.")));
		v = DatumGetFloat8(d[2]);
		MemoryContextSwitchTo(rowcxt);
		name = TextDatumGetCString(d[0]);
		MemoryContextSwitchTo(cxt);
		s = series_entry(table, name);
		MemoryContextReset(rowcxt);
		if (!isfinite(v))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("series \"%s\" has a non-finite value at %s", s->name,
							timestamptz_to_str(DatumGetTimestampTz(d[1]))),
					 errhint("Filter NaN and infinite values out, or replace them.")));
		if (s->n == s->cap)
		{
			if (s->cap >= (int) (MaxAllocSize / sizeof(Point) / 2))
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("series \"%s\" has too many points", s->name)));
			s->cap *= 2;
			s->points = repalloc(s->points, sizeof(Point) * s->cap);
		}
		s->points[s->n].ts = DatumGetTimestampTz(d[1]);
		s->points[s->n].value = v;
		s->n++;
	}
	MemoryContextSwitchTo(old);
}

/* Runs the query through a cursor and groups its points by series, in cxt. */
static HTAB *
read_query(const char *query, MemoryContext cxt)
{
	HASHCTL		ctl;
	HTAB	   *table;
	SPIPlanPtr	plan;
	Portal		portal;
	bool		checked = false;
	MemoryContext rowcxt = AllocSetContextCreate(cxt, "aiml lstm row", ALLOCSET_SMALL_SIZES);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = SERIES_NAME_MAX;
	ctl.entrysize = sizeof(RawSeries);
	ctl.hcxt = cxt;
	table = hash_create("aiml lstm series", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query of %s must be a single SELECT returning rows", CALLER)));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (!checked)
		{
			check_columns(SPI_tuptable->tupdesc);
			checked = true;
		}
		if (SPI_processed == 0)
			break;
		absorb_rows(table, SPI_tuptable, SPI_processed, cxt, rowcxt);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(rowcxt);

	if (hash_get_num_entries(table) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("query of %s returned no rows", CALLER),
				 errhint("The query must return the points to learn from as (series, ts, value).")));
	return table;
}

static int
point_cmp(const void *a, const void *b)
{
	TimestampTz x = ((const Point *) a)->ts;
	TimestampTz y = ((const Point *) b)->ts;

	return x < y ? -1 : x > y;
}

static int
series_cmp(const void *a, const void *b)
{
	return strcmp((*(RawSeries *const *) a)->name, (*(RawSeries *const *) b)->name);
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * Sorts a series by time, rejects duplicate timestamps and series too short
 * for one window, and decides its training and validation windows: every
 * stride-th window counted back from the last, the last `validation`
 * fraction of them validate, and training windows end horizon steps before
 * the first validation window so their targets do not overlap.
 */
static void
split_series(RawSeries *s, const LstmOptions *o)
{
	int			nwin;

	qsort(s->points, s->n, sizeof(Point), point_cmp);
	for (int i = 1; i < s->n; i++)
		if (s->points[i].ts == s->points[i - 1].ts)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("series \"%s\" has two values at %s", s->name,
							timestamptz_to_str(s->points[i].ts)),
					 errhint("Aggregate the points first, e.g. GROUP BY series, ts with avg(value).")));
	if (s->n < o->window + o->horizon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("series \"%s\" has %d points, fewer than window + horizon = %d",
						s->name, s->n, o->window + o->horizon),
				 errhint("Lower the \"window\" or \"horizon\" option, or train on longer series.")));

	nwin = s->n - o->window - o->horizon + 1;
	s->last = nwin - 1;
	s->nval = (int) floor(o->validation * (s->last / o->stride + 1));
	s->train_max = s->nval > 0 ? s->last - (s->nval - 1) * o->stride - o->horizon : s->last;
	if (s->train_max < 0)
	{
		/* too short to spare a validation tail: train on all of it */
		s->nval = 0;
		s->train_max = s->last;
	}
	s->ntrain = s->train_max / o->stride + 1;
}

/* Mean and standard deviation of the points training windows touch. */
static void
fit_scaling(RawSeries *s, const LstmOptions *o)
{
	int			end = s->train_max + o->window + o->horizon;
	double		sum = 0,
				ss = 0;

	for (int i = 0; i < end; i++)
		sum += s->points[i].value;
	s->mean = sum / end;
	for (int i = 0; i < end; i++)
		ss += (s->points[i].value - s->mean) * (s->points[i].value - s->mean);
	s->scale = sqrt(ss / end);
	if (!(s->scale > 1e-12 * Max(1.0, fabs(s->mean))))
		s->scale = 1.0;
}

/* Median spacing of the timestamps: the step of the forecast's timestamps. */
static int64
median_interval(const RawSeries *s)
{
	int64	   *d = palloc(sizeof(int64) * (s->n - 1));
	int64		m;

	for (int i = 1; i < s->n; i++)
		d[i - 1] = s->points[i].ts - s->points[i - 1].ts;
	qsort(d, s->n - 1, sizeof(int64), int64_cmp);
	m = d[(s->n - 1) / 2];
	pfree(d);
	return m;
}

/*
 * Loads samples[0..batch-1] into the workspace inputs and the targets, in
 * the units of lstm_window_scaling (centred on the series' mean, the
 * window's last value or its last season's level), so with window-relative
 * normalization the network learns the path ahead relative to the current
 * level (robust to level shifts and trends, and to the series' scale in a
 * global model); with deseasonalize the targets are relative to the seasonal
 * naive path, so the network learns a correction to it.
 */
static void
fill_batch(Trainer *tr, const Sample *samples, int batch)
{
	const LstmShape *s = &tr->shape;

	for (int b = 0; b < batch; b++)
	{
		const RawSeries *ser = tr->series[samples[b].series];
		const Point *p = ser->points + samples[b].start;
		double		level,
					unit;

		for (int t = 0; t < tr->window; t++)
			tr->values[t] = p[t].value;
		lstm_window_scaling(&tr->scaling, tr->values, tr->window, ser->mean, ser->scale,
							&level, &unit);
		lstm_seasonal_base(&tr->scaling, tr->values, tr->window, level, unit, s->horizon,
						   tr->base);
		for (int t = 0; t < s->window; t++)
		{
			double	   *x = tr->work.x + ((Size) t * batch + b) * s->inputs;
			const Point *q = p + (Size) t * tr->patch;

			for (int j = 0; j < tr->patch; j++)
				x[j] = (q[j].value - level) / unit;
			if (s->inputs > tr->patch)
				lstm_calendar_features(q[tr->patch - 1].ts, x + tr->patch);
		}
		for (int k = 0; k < s->horizon; k++)
			tr->target[(Size) b * s->horizon + k] =
				(p[tr->window + k].value - level) / unit - tr->base[k];
	}
}

/* Scales the gradient down so its global L2 norm is at most clip (0: off). */
static void
clip_gradient(Trainer *tr, double clip)
{
	double		norm2 = 0;

	if (clip <= 0)
		return;
	for (Size p = 0; p < tr->layout.total; p++)
		norm2 += tr->grad[p] * tr->grad[p];
	if (norm2 > clip * clip)
	{
		double		f = clip / sqrt(norm2);

		for (Size p = 0; p < tr->layout.total; p++)
			tr->grad[p] *= f;
	}
}

/* One Adam step (Kingma & Ba, beta1 0.9, beta2 0.999, epsilon 1e-8). */
static void
adam_step(Trainer *tr, double lr)
{
	const double b1 = 0.9,
				b2 = 0.999,
				eps = 1e-8;
	double		c1,
				c2;

	tr->adam_steps++;
	c1 = 1.0 - pow(b1, (double) tr->adam_steps);
	c2 = 1.0 - pow(b2, (double) tr->adam_steps);
	for (Size p = 0; p < tr->layout.total; p++)
	{
		double		g = tr->grad[p];

		tr->adam_m[p] = b1 * tr->adam_m[p] + (1 - b1) * g;
		tr->adam_v[p] = b2 * tr->adam_v[p] + (1 - b2) * g * g;
		tr->theta[p] -= lr * (tr->adam_m[p] / c1) / (sqrt(tr->adam_v[p] / c2) + eps);
	}
}

/* One pass over the shuffled training windows; returns their mean loss. */
static double
train_epoch(Trainer *tr, const LstmOptions *o, AimlRng *rng)
{
	double		total = 0;

	for (int i = tr->ntrain - 1; i > 0; i--)
	{
		int			j = (int) aiml_rng_below(rng, (uint64) i + 1);
		Sample		tmp = tr->train[i];

		tr->train[i] = tr->train[j];
		tr->train[j] = tmp;
	}
	for (int first = 0; first < tr->ntrain; first += o->batch)
	{
		int			batch = Min(o->batch, tr->ntrain - first);

		CHECK_FOR_INTERRUPTS();
		fill_batch(tr, tr->train + first, batch);
		lstm_forward(&tr->shape, &tr->layout, tr->theta, &tr->work, batch);
		total += batch * lstm_loss(&tr->shape, &tr->work, batch, tr->target, tr->loss, tr->dy);
		lstm_backward(&tr->shape, &tr->layout, tr->theta, &tr->work, batch, tr->dy, tr->grad);
		clip_gradient(tr, o->clip);
		adam_step(tr, o->learning_rate);
	}
	return total / tr->ntrain;
}

/* The training loss of the current weights over samples. */
static double
evaluate(Trainer *tr, const Sample *samples, int n)
{
	double		total = 0;
	int			max_batch = tr->work.max_batch;

	for (int first = 0; first < n; first += max_batch)
	{
		int			batch = Min(max_batch, n - first);

		CHECK_FOR_INTERRUPTS();
		fill_batch(tr, samples + first, batch);
		lstm_forward(&tr->shape, &tr->layout, tr->theta, &tr->work, batch);
		total += batch * lstm_loss(&tr->shape, &tr->work, batch, tr->target, tr->loss, NULL);
	}
	return total / n;
}

/*
 * Accumulates into sq the squared error of each step ahead of the members'
 * averaged forecast over samples (for the prediction intervals).
 */
static void
ensemble_errors(Trainer *tr, const LstmModel *m, const Sample *samples, int n, double *sq)
{
	int			max_batch = tr->work.max_batch;
	int			k = tr->shape.horizon;

	for (int first = 0; first < n; first += max_batch)
	{
		int			batch = Min(max_batch, n - first);

		CHECK_FOR_INTERRUPTS();
		fill_batch(tr, samples + first, batch);
		memset(tr->ysum, 0, sizeof(double) * batch * k);
		for (int j = 0; j < m->members; j++)
		{
			lstm_forward(&tr->shape, &tr->layout, m->member[j].theta, &tr->work, batch);
			for (int i = 0; i < batch * k; i++)
				tr->ysum[i] += tr->work.y[i];
		}
		for (int i = 0; i < batch * k; i++)
		{
			double		e = tr->ysum[i] / m->members - tr->target[i];

			sq[i % k] += e * e;
		}
	}
}

/* Lists every training and validation window of every series. */
static void
make_samples(Trainer *tr)
{
	int64		nt = 0,
				nv = 0;

	for (int i = 0; i < tr->nseries; i++)
	{
		nt += tr->series[i]->ntrain;
		nv += tr->series[i]->nval;
	}
	if (nt + nv > (int64) (MaxAllocSize / sizeof(Sample)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the query of %s gives %lld windows, more than it can hold",
						CALLER, (long long) (nt + nv)),
				 errhint("Train on fewer or shorter series, e.g. only their recent points.")));
	tr->train = palloc(sizeof(Sample) * nt);
	tr->val = palloc(sizeof(Sample) * Max(nv, 1));
	for (int i = 0; i < tr->nseries; i++)
	{
		RawSeries  *s = tr->series[i];

		for (int w = s->train_max % tr->stride; w <= s->train_max; w += tr->stride)
			tr->train[tr->ntrain++] = (Sample) {i, w};
		for (int j = s->nval - 1; j >= 0; j--)
			tr->val[tr->nval++] = (Sample) {i, s->last - j * tr->stride};
	}
}

static void
check_memory(const LstmShape *shape, int batch)
{
	Size		bytes = lstm_work_bytes(shape, batch);

	if (bytes > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a batch of %d windows needs %zu MB of activations, more than the 1 GB %s allows",
						batch, bytes >> 20, CALLER),
				 errhint("Lower the \"batch\", \"window\" or \"hidden\" option.")));
}

static void
trainer_init(Trainer *tr, const LstmOptions *o, HTAB *table)
{
	HASH_SEQ_STATUS seq;
	RawSeries  *s;
	Size		np;

	tr->shape.layers = o->layers;
	tr->shape.hidden = o->hidden;
	tr->shape.inputs = o->patch + (o->calendar ? LSTM_CALENDAR_FEATURES : 0);
	tr->shape.window = o->window / o->patch;
	tr->window = o->window;
	tr->patch = o->patch;
	tr->shape.horizon = o->horizon;
	tr->scaling.normalize = strcmp(o->normalize, "season") == 0 ? LSTM_NORM_SEASON :
		strcmp(o->normalize, "window") == 0 ? LSTM_NORM_WINDOW : LSTM_NORM_SERIES;
	tr->scaling.season = o->season;
	tr->scaling.deseasonalize = o->deseasonalize;
	tr->loss = strcmp(o->loss, "mae") == 0 ? LSTM_LOSS_MAE : LSTM_LOSS_MSE;
	tr->stride = o->stride;
	lstm_layout(&tr->shape, &tr->layout);

	tr->nseries = hash_get_num_entries(table);
	if (tr->nseries > LSTM_MAX_SERIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("query of %s returned %d series, more than %d", CALLER,
						tr->nseries, LSTM_MAX_SERIES)));
	tr->series = palloc(sizeof(RawSeries *) * tr->nseries);
	tr->nseries = 0;
	hash_seq_init(&seq, table);
	while ((s = hash_seq_search(&seq)) != NULL)
		tr->series[tr->nseries++] = s;
	qsort(tr->series, tr->nseries, sizeof(RawSeries *), series_cmp);
	for (int i = 0; i < tr->nseries; i++)
	{
		split_series(tr->series[i], o);
		fit_scaling(tr->series[i], o);
	}
	make_samples(tr);

	check_memory(&tr->shape, Min(o->batch, Max(tr->ntrain, tr->nval)));
	lstm_work_init(&tr->work, &tr->shape, Min(o->batch, Max(tr->ntrain, tr->nval)));
	np = tr->layout.total;
	tr->theta = palloc(sizeof(double) * np);
	tr->grad = palloc0(sizeof(double) * np);
	tr->adam_m = palloc0(sizeof(double) * np);
	tr->adam_v = palloc0(sizeof(double) * np);
	tr->best = palloc(sizeof(double) * np);
	tr->target = palloc(sizeof(double) * tr->work.max_batch * o->horizon);
	tr->dy = palloc(sizeof(double) * tr->work.max_batch * o->horizon);
	tr->ysum = palloc(sizeof(double) * tr->work.max_batch * o->horizon);
	tr->values = palloc(sizeof(double) * o->window);
	tr->base = palloc(sizeof(double) * o->horizon);
}

/*
 * The epochs of one member, trained from seed, with early stopping on the
 * validation loss when there is a validation tail; fills the per-epoch
 * losses and a copy of the kept weights into m.
 */
static void
run_epochs(Trainer *tr, const LstmOptions *o, uint64 seed, int number, LstmMember *m)
{
	AimlRng		rng;
	double		best_loss = INFINITY;
	int			since_best = 0;
	TimestampTz last_notice = GetCurrentTimestamp();
	Size		np = tr->layout.total;

	aiml_rng_seed(&rng, seed);
	lstm_init_params(&tr->shape, &tr->layout, tr->theta, &rng);
	memcpy(tr->best, tr->theta, sizeof(double) * np);
	memset(tr->adam_m, 0, sizeof(double) * np);
	memset(tr->adam_v, 0, sizeof(double) * np);
	tr->adam_steps = 0;
	aiml_rng_seed(&rng, seed ^ UINT64CONST(0x9E3779B97F4A7C15));
	m->train_loss = palloc(sizeof(double) * o->epochs);
	m->validation_loss = palloc(sizeof(double) * o->epochs);
	for (int e = 0; e < o->epochs; e++)
	{
		double		tl = train_epoch(tr, o, &rng);
		double		vl = tr->nval > 0 ? evaluate(tr, tr->val, tr->nval) : NAN;
		double		score = tr->nval > 0 ? vl : tl;
		TimestampTz now = GetCurrentTimestamp();

		m->train_loss[e] = tl;
		m->validation_loss[e] = vl;
		m->epochs_run = e + 1;
		if (!isfinite(tl))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("lstm training diverged at epoch %d", e + 1),
					 errhint("Lower the \"learning_rate\" option or set \"clip\".")));
		if (TimestampDifferenceExceeds(last_notice, now, 1000))
		{
			if (o->ensemble > 1)
				ereport(NOTICE,
						(errmsg("member %d of %d, epoch %d of %d: train loss %.6g, validation loss %.6g",
								number, o->ensemble, e + 1, o->epochs, tl, vl)));
			else
				ereport(NOTICE,
						(errmsg("epoch %d of %d: train loss %.6g, validation loss %.6g",
								e + 1, o->epochs, tl, vl)));
			last_notice = now;
		}
		if (score < best_loss)
		{
			best_loss = score;
			since_best = 0;
			m->best_epoch = e + 1;
			memcpy(tr->best, tr->theta, sizeof(double) * np);
		}
		else if (tr->nval > 0 && o->patience > 0 && ++since_best >= o->patience)
			break;
	}
	m->theta = palloc(sizeof(double) * np);
	memcpy(m->theta, tr->best, sizeof(double) * np);
}

/*
 * Root mean squared error per step ahead of the members' averaged forecast,
 * on validation (else training) windows.
 */
static double *
residual_sd(Trainer *tr, const LstmModel *m)
{
	int			k = tr->shape.horizon;
	double	   *sq = palloc0(sizeof(double) * k);
	const Sample *samples = tr->nval > 0 ? tr->val : tr->train;
	int			n = tr->nval > 0 ? tr->nval : tr->ntrain;

	ensemble_errors(tr, m, samples, n, sq);
	for (int i = 0; i < k; i++)
		sq[i] = sqrt(sq[i] / n);
	return sq;
}

/* What the model keeps of each series: scaling, spacing, last window. */
static LstmSeries *
model_series(Trainer *tr)
{
	int			w = tr->window;
	LstmSeries *out = palloc0(sizeof(LstmSeries) * tr->nseries);

	for (int i = 0; i < tr->nseries; i++)
	{
		RawSeries  *s = tr->series[i];
		LstmSeries *o = &out[i];

		o->name = s->name;
		o->mean = s->mean;
		o->scale = s->scale;
		o->interval = median_interval(s);
		o->count = s->n;
		o->last_values = palloc(sizeof(double) * w);
		o->last_ts = palloc(sizeof(TimestampTz) * w);
		for (int t = 0; t < w; t++)
		{
			o->last_values[t] = s->points[s->n - w + t].value;
			o->last_ts[t] = s->points[s->n - w + t].ts;
		}
	}
	return out;
}

static AimlModel *
train(const char *query, const LstmOptions *o)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "aiml lstm training",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	MemoryContext result_cxt = old;
	HTAB	   *table = read_query(query, cxt);
	Trainer		tr = {0};
	LstmModel	m = {0};
	AimlModel  *model;

	trainer_init(&tr, o, table);
	m.shape = tr.shape;
	m.window = tr.window;
	m.patch = tr.patch;
	m.calendar = o->calendar;
	m.scaling = tr.scaling;
	m.stride = o->stride;
	m.loss = tr.loss;
	m.epochs = o->epochs;
	m.batch = o->batch;
	m.patience = o->patience;
	m.threads = o->threads;
	m.learning_rate = o->learning_rate;
	m.clip = o->clip;
	m.validation = o->validation;
	m.seed = o->seed;
	m.validation_windows = tr.nval;
	m.members = o->ensemble;
	m.member = palloc0(sizeof(LstmMember) * m.members);
	for (int i = 0; i < m.members; i++)
		run_epochs(&tr, o, (uint64) o->seed + i, i + 1, &m.member[i]);
	m.residual_sd = residual_sd(&tr, &m);
	m.nparams = tr.layout.total;
	m.nseries = tr.nseries;
	m.series = model_series(&tr);

	MemoryContextSwitchTo(result_cxt);
	model = lstm_model_build(&m);
	MemoryContextDelete(cxt);
	return model;
}

PG_FUNCTION_INFO_V1(aiml_lstm_train);

/*
 * aiml.lstm_train(query, options): OpenBLAS runs on the "threads" option's
 * thread count during training and is put back to aiml.blas_threads after,
 * errors included.
 */
Datum
aiml_lstm_train(PG_FUNCTION_ARGS)
{
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *options = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	LstmOptions o;
	AimlModel  *model = NULL;

	parse_lstm_options(options, &o);
	openblas_set_num_threads(o.threads);
	PG_TRY();
	{
		model = train(query, &o);
	}
	PG_FINALLY();
	{
		openblas_set_num_threads(aiml_blas_threads);
	}
	PG_END_TRY();
	PG_RETURN_POINTER(model);
}
