/*
 * scaler.c: aiml.scaler(features [, options]) learns per-feature location and
 * scale; aiml.scale and aiml.unscale apply them.
 *
 * The aggregate state holds count, mean and the sum of squared deviations
 * (Welford), plus min and max, for each feature.  Partial states merge with
 * Chan et al.'s pairwise formula, so a parallel plan gives the same model as
 * a serial one up to floating-point rounding.
 */
#include "postgres.h"

#include <math.h>

#include "core/arrays.h"
#include "core/json.h"
#include "core/model.h"
#include "core/options.h"
#include "core/scaler.h"
#include "fmgr.h"
#include "utils/builtins.h"

typedef enum ScalerMethod
{
	SCALER_STANDARD = 0,		/* (x - mean) / stddev */
	SCALER_MINMAX = 1			/* (x - min) / (max - min) */
} ScalerMethod;

static const char *const method_names[] = {"standard", "minmax", NULL};

/* Most features a scaler takes: a float8[] this long is already 800 kB. */
#define SCALER_MAX_FEATURES 100000

typedef struct ScalerState
{
	ScalerMethod method;
	int			nfeatures;
	int64		count;
	double	   *mean;
	double	   *m2;
	double	   *min;
	double	   *max;
} ScalerState;

/* The fitted model in memory. */
typedef struct Scaler
{
	ScalerMethod method;
	int			nfeatures;
	int64		count;
	double	   *mean;
	double	   *stddev;
	double	   *min;
	double	   *max;
} Scaler;

static ScalerState *
state_new(MemoryContext cxt, ScalerMethod method, int nfeatures)
{
	ScalerState *st = MemoryContextAllocZero(cxt, sizeof(ScalerState));

	st->method = method;
	st->nfeatures = nfeatures;
	st->mean = MemoryContextAllocZero(cxt, sizeof(double) * nfeatures);
	st->m2 = MemoryContextAllocZero(cxt, sizeof(double) * nfeatures);
	st->min = MemoryContextAlloc(cxt, sizeof(double) * nfeatures);
	st->max = MemoryContextAlloc(cxt, sizeof(double) * nfeatures);
	for (int j = 0; j < nfeatures; j++)
	{
		st->min[j] = INFINITY;
		st->max[j] = -INFINITY;
	}
	return st;
}

static ScalerMethod
parse_method(Jsonb *options)
{
	char	   *method = "standard";
	AimlOption spec[] = {
		{"method", AIML_OPT_STRING, &method, 0, 0, method_names, NULL},
	};

	aiml_parse_options(options, spec, lengthof(spec), "aiml.scaler");
	return strcmp(method, "minmax") == 0 ? SCALER_MINMAX : SCALER_STANDARD;
}

/* against is "earlier rows" or "the model" */
static void
check_width(int expected, int got, const char *against)
{
	if (expected != got)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features has %d elements, but %s had %d", got, against, expected),
				 errhint("Every row must have the same number of features, in the same order.")));
}

PG_FUNCTION_INFO_V1(aiml_scaler_accum);
PG_FUNCTION_INFO_V1(aiml_scaler_combine);
PG_FUNCTION_INFO_V1(aiml_scaler_serialize);
PG_FUNCTION_INFO_V1(aiml_scaler_deserialize);
PG_FUNCTION_INFO_V1(aiml_scaler_final);
PG_FUNCTION_INFO_V1(aiml_scale);
PG_FUNCTION_INFO_V1(aiml_unscale);

/* aiml_scaler_accum(state, features [, options]): NULL rows are skipped. */
Datum
aiml_scaler_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ScalerState *st = PG_ARGISNULL(0) ? NULL : (ScalerState *) PG_GETARG_POINTER(0);
	const double *x;
	int			n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_scaler_accum called in non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);

	x = aiml_array_doubles(PG_GETARG_ARRAYTYPE_P(1), &n, 0, "features");
	if (st == NULL)
	{
		Jsonb	   *options = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_JSONB_P(2) : NULL;

		if (n > SCALER_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("features has %d elements, more than the %d a scaler takes",
							n, SCALER_MAX_FEATURES)));
		st = state_new(aggcxt, parse_method(options), n);
	}
	check_width(st->nfeatures, n, "earlier rows");

	st->count++;
	for (int j = 0; j < n; j++)
	{
		double		delta = x[j] - st->mean[j];

		st->mean[j] += delta / st->count;
		st->m2[j] += delta * (x[j] - st->mean[j]);
		st->min[j] = Min(st->min[j], x[j]);
		st->max[j] = Max(st->max[j], x[j]);
	}
	PG_RETURN_POINTER(st);
}

Datum
aiml_scaler_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ScalerState *a = PG_ARGISNULL(0) ? NULL : (ScalerState *) PG_GETARG_POINTER(0);
	ScalerState *b = PG_ARGISNULL(1) ? NULL : (ScalerState *) PG_GETARG_POINTER(1);
	double		n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_scaler_combine called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		a = state_new(aggcxt, b->method, b->nfeatures);
		a->count = b->count;
		memcpy(a->mean, b->mean, sizeof(double) * b->nfeatures);
		memcpy(a->m2, b->m2, sizeof(double) * b->nfeatures);
		memcpy(a->min, b->min, sizeof(double) * b->nfeatures);
		memcpy(a->max, b->max, sizeof(double) * b->nfeatures);
		PG_RETURN_POINTER(a);
	}
	check_width(a->nfeatures, b->nfeatures, "earlier rows");

	n = (double) a->count + b->count;
	for (int j = 0; j < a->nfeatures; j++)
	{
		double		delta = b->mean[j] - a->mean[j];

		a->mean[j] += delta * b->count / n;
		a->m2[j] += b->m2[j] + delta * delta * a->count * b->count / n;
		a->min[j] = Min(a->min[j], b->min[j]);
		a->max[j] = Max(a->max[j], b->max[j]);
	}
	a->count += b->count;
	PG_RETURN_POINTER(a);
}

Datum
aiml_scaler_serialize(PG_FUNCTION_ARGS)
{
	ScalerState *st = (ScalerState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			n = st->nfeatures;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	aiml_write_u32(&buf, st->method);
	aiml_write_u32(&buf, n);
	aiml_write_u64(&buf, st->count);
	aiml_write_f64s(&buf, st->mean, n);
	aiml_write_f64s(&buf, st->m2, n);
	aiml_write_f64s(&buf, st->min, n);
	aiml_write_f64s(&buf, st->max, n);
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

Datum
aiml_scaler_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	AimlReader	r;
	ScalerState *st;
	ScalerMethod method;
	int			n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_scaler_deserialize called in non-aggregate context");
	aiml_reader_init_bytes(&r, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), "scaler state");
	method = aiml_read_u32(&r);
	n = aiml_read_count(&r, SCALER_MAX_FEATURES, "features");
	st = state_new(aggcxt, method, n);
	st->count = (int64) aiml_read_u64(&r);
	aiml_read_f64s(&r, st->mean, n);
	aiml_read_f64s(&r, st->m2, n);
	aiml_read_f64s(&r, st->min, n);
	aiml_read_f64s(&r, st->max, n);
	aiml_reader_finish(&r);
	PG_RETURN_POINTER(st);
}

Datum
aiml_scaler_final(PG_FUNCTION_ARGS)
{
	ScalerState *st = PG_ARGISNULL(0) ? NULL : (ScalerState *) PG_GETARG_POINTER(0);
	StringInfoData payload;
	int			n;

	if (st == NULL || st->count == 0)
		PG_RETURN_NULL();
	n = st->nfeatures;
	initStringInfo(&payload);
	aiml_write_u32(&payload, st->method);
	aiml_write_u32(&payload, n);
	aiml_write_u64(&payload, st->count);
	aiml_write_f64s(&payload, st->mean, n);
	for (int j = 0; j < n; j++)
		aiml_write_f64(&payload, st->count > 1 ? sqrt(Max(st->m2[j], 0) / (st->count - 1)) : 0);
	aiml_write_f64s(&payload, st->min, n);
	aiml_write_f64s(&payload, st->max, n);
	PG_RETURN_POINTER(aiml_model_build(AIML_KIND_SCALER, SCALER_FORMAT_VERSION,
									   payload.data, payload.len));
}

/* Reads and validates a scaler payload into cxt. */
static Scaler *
scaler_read(const AimlModel *model, MemoryContext cxt)
{
	AimlReader	r;
	Scaler	   *s = MemoryContextAllocZero(cxt, sizeof(Scaler));
	uint32		method;
	int			n;

	aiml_reader_init(&r, model);
	method = aiml_read_u32(&r);
	if (method > SCALER_MINMAX)
		aiml_payload_corrupt(&r, psprintf("Its method code %u is unknown.", method));
	s->method = method;
	n = s->nfeatures = aiml_read_count(&r, SCALER_MAX_FEATURES, "features");
	s->count = (int64) aiml_read_u64(&r);
	s->mean = MemoryContextAlloc(cxt, sizeof(double) * n);
	s->stddev = MemoryContextAlloc(cxt, sizeof(double) * n);
	s->min = MemoryContextAlloc(cxt, sizeof(double) * n);
	s->max = MemoryContextAlloc(cxt, sizeof(double) * n);
	aiml_read_f64s(&r, s->mean, n);
	aiml_read_f64s(&r, s->stddev, n);
	aiml_read_f64s(&r, s->min, n);
	aiml_read_f64s(&r, s->max, n);
	aiml_reader_finish(&r);

	if (n == 0 || s->count <= 0)
		aiml_payload_corrupt(&r, "It has no features or no rows.");
	for (int j = 0; j < n; j++)
		if (!isfinite(s->mean[j]) || !isfinite(s->stddev[j]) || s->stddev[j] < 0 ||
			!isfinite(s->min[j]) || !isfinite(s->max[j]) || s->min[j] > s->max[j])
			aiml_payload_corrupt(&r, psprintf("Feature %d has impossible statistics.", j + 1));
	return s;
}

static void *
scaler_load(const AimlModel *model, MemoryContext cxt)
{
	return scaler_read(model, cxt);
}

void
scaler_describe(const AimlModel *model, StringInfo json)
{
	Scaler	   *s = scaler_read(model, CurrentMemoryContext);

	aiml_json_add_string(json, "method", method_names[s->method]);
	aiml_json_add_int(json, "features", s->nfeatures);
	aiml_json_add_int(json, "rows", s->count);
	aiml_json_add_floats(json, "mean", s->mean, s->nfeatures);
	aiml_json_add_floats(json, "stddev", s->stddev, s->nfeatures);
	aiml_json_add_floats(json, "min", s->min, s->nfeatures);
	aiml_json_add_floats(json, "max", s->max, s->nfeatures);
}

/*
 * Location and spread of feature j under the model's method.  A constant
 * feature has no spread; it is only centred (spread 1), never divided by 0.
 */
static void
feature_location_spread(const Scaler *s, int j, double *loc, double *spread)
{
	if (s->method == SCALER_MINMAX)
	{
		*loc = s->min[j];
		*spread = s->max[j] - s->min[j];
	}
	else
	{
		*loc = s->mean[j];
		*spread = s->stddev[j];
	}
	if (*spread == 0)
		*spread = 1;
}

static Datum
apply_scaler(FunctionCallInfo fcinfo, bool inverse, const char *caller)
{
	Scaler	   *s = aiml_model_cached(fcinfo, 0, AIML_KIND_SCALER, caller, scaler_load);
	int			n;
	const double *x = aiml_array_doubles(PG_GETARG_ARRAYTYPE_P(1), &n, 0, "features");
	double	   *y = palloc(sizeof(double) * n);

	check_width(s->nfeatures, n, "the model");
	for (int j = 0; j < n; j++)
	{
		double		loc,
					spread;

		feature_location_spread(s, j, &loc, &spread);
		y[j] = inverse ? x[j] * spread + loc : (x[j] - loc) / spread;
	}
	PG_RETURN_ARRAYTYPE_P(aiml_doubles_array(y, n));
}

Datum
aiml_scale(PG_FUNCTION_ARGS)
{
	return apply_scaler(fcinfo, false, "aiml.scale");
}

Datum
aiml_unscale(PG_FUNCTION_ARGS)
{
	return apply_scaler(fcinfo, true, "aiml.unscale");
}
