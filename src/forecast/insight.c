/*
 * insight.c: what users ask about a series besides its forecast: its
 * decomposition, how strong its trend and season are, its season length, a
 * sparkline to see it in psql, and the accuracy of forecasts in backtests.
 *
 * Accuracy aggregates share one float8[8] state, so they are parallel safe
 * with a plain combine function and no serialization:
 *   [0] n, [1] sum |e|, [2] sum e^2, [3] sum |e|/|actual|, [4] rows in MAPE,
 *   [5] sum 200|e|/(|actual| + |predicted|), [6] rows in sMAPE, [7] scale.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "core/arrays.h"
#include "forecast/forecast.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define ACC_SLOTS 8

/* The season argument when given (checked), else the detected one. */
static int
settle_season(FunctionCallInfo fcinfo, int argno, const double *y, int n,
			  const char *caller)
{
	int			season;

	if (PG_NARGS() > argno && !PG_ARGISNULL(argno))
	{
		season = PG_GETARG_INT32(argno);
		fc_check_season(season, n, caller);
		return season;
	}
	return fc_detect_season(y, n, 0);
}

/* The series argument, with at least min values. */
static const double *
series_arg(FunctionCallInfo fcinfo, int *n, int min, const char *caller)
{
	const double *y = aiml_array_doubles(PG_GETARG_ARRAYTYPE_P(0), n, 0, "values");

	if (*n < min)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs at least %d values, but got %d", caller, min, *n),
				 errhint("Pass a longer series.")));
	return y;
}

PG_FUNCTION_INFO_V1(aiml_decompose);
PG_FUNCTION_INFO_V1(aiml_strength);
PG_FUNCTION_INFO_V1(aiml_detect_season);
PG_FUNCTION_INFO_V1(aiml_sparkline);
PG_FUNCTION_INFO_V1(aiml_accuracy_accum);
PG_FUNCTION_INFO_V1(aiml_mase_accum);
PG_FUNCTION_INFO_V1(aiml_accuracy_combine);
PG_FUNCTION_INFO_V1(aiml_mae_final);
PG_FUNCTION_INFO_V1(aiml_rmse_final);
PG_FUNCTION_INFO_V1(aiml_mape_final);
PG_FUNCTION_INFO_V1(aiml_smape_final);
PG_FUNCTION_INFO_V1(aiml_mase_final);
PG_FUNCTION_INFO_V1(aiml_mase_scale_values);
PG_FUNCTION_INFO_V1(aiml_mase_scale_model);

/*
 * aiml.decompose(values, season, multiplicative): classical decomposition,
 * one row per value; trend and remainder are NULL where the centred moving
 * average does not reach (half a season at each end).
 */
Datum
aiml_decompose(PG_FUNCTION_ARGS)
{
	const char *caller = "aiml.decompose";
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n,
				m;
	const double *y;
	bool		mult = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	double	   *trend,
			   *figure;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	y = series_arg(fcinfo, &n, 4, caller);
	m = settle_season(fcinfo, 1, y, n, caller);
	if (m < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s found no season in the series", caller),
				 errhint("Give the season length, e.g. aiml.decompose(values, 24).")));
	if (mult && !fc_all_positive(y, n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a multiplicative decomposition needs strictly positive data"),
				 errhint("Use the additive decomposition.")));
	trend = palloc(sizeof(double) * n);
	figure = palloc(sizeof(double) * m);
	fc_classical_decompose(y, n, m, mult, trend, figure);
	for (int t = 0; t < n; t++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};
		double		s = figure[t % m];

		values[0] = Int32GetDatum(t + 1);
		values[1] = Float8GetDatum(y[t]);
		values[2] = Float8GetDatum(trend[t]);
		values[3] = Float8GetDatum(s);
		values[4] = Float8GetDatum(mult ? y[t] / (trend[t] * s) : y[t] - trend[t] - s);
		nulls[2] = nulls[4] = isnan(trend[t]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Sample variance. */
static double
variance(const double *v, int n)
{
	double		mean = 0,
				s = 0;

	for (int i = 0; i < n; i++)
		mean += v[i];
	mean /= n;
	for (int i = 0; i < n; i++)
		s += (v[i] - mean) * (v[i] - mean);
	return n > 1 ? s / (n - 1) : 0;
}

/*
 * aiml.strength(values, season): the season length and Wang, Smith &
 * Hyndman's strength of trend and of season, 1 - Var(R) / Var(T + R) and
 * 1 - Var(R) / Var(S + R), floored at 0, from the additive classical
 * decomposition (trend by a 5-term moving average when there is no season).
 */
Datum
aiml_strength(PG_FUNCTION_ARGS)
{
	const char *caller = "aiml.strength";
	int			n,
				m,
				k = 0;
	const double *y;
	double	   *trend,
			   *figure,
			   *r,
			   *tr,
			   *sr;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {0};
	double		vr;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	y = series_arg(fcinfo, &n, 6, caller);
	trend = palloc(sizeof(double) * n);
	r = palloc(sizeof(double) * n);
	tr = palloc(sizeof(double) * n);
	sr = palloc(sizeof(double) * n);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	m = settle_season(fcinfo, 1, y, n, caller);
	figure = palloc0(sizeof(double) * Max(m, 1));
	if (m >= 2)
		fc_classical_decompose(y, n, m, false, trend, figure);
	else
		fc_moving_average(y, n, 5, trend);
	for (int t = 0; t < n; t++)
	{
		if (isnan(trend[t]))
			continue;
		r[k] = y[t] - trend[t] - figure[t % Max(m, 1)];
		tr[k] = trend[t] + r[k];
		sr[k] = figure[t % Max(m, 1)] + r[k];
		k++;
	}
	vr = variance(r, k);
	values[0] = Int32GetDatum(m);
	values[1] = Float8GetDatum(variance(tr, k) > 0 ? Max(0, 1 - vr / variance(tr, k)) : 0);
	values[2] = Float8GetDatum(variance(sr, k) > 0 ? Max(0, 1 - vr / variance(sr, k)) : 0);
	nulls[2] = m < 2;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* aiml.detect_season(values): the season length, 1 when there is none. */
Datum
aiml_detect_season(PG_FUNCTION_ARGS)
{
	int			n;
	const double *y = series_arg(fcinfo, &n, 1, "aiml.detect_season");

	PG_RETURN_INT32(fc_detect_season(y, n, 0));
}

/* aiml.sparkline(values): one block character per value, NULL and NaN as spaces. */
Datum
aiml_sparkline(PG_FUNCTION_ARGS)
{
	static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	int			n;
	const double *y = aiml_array_doubles(PG_GETARG_ARRAYTYPE_P(0), &n,
										 AIML_ARRAY_ALLOW_EMPTY | AIML_ARRAY_ALLOW_NULLS |
										 AIML_ARRAY_ALLOW_NONFINITE, "values");
	double		lo = INFINITY,
				hi = -INFINITY;
	StringInfoData buf;

	for (int i = 0; i < n; i++)
		if (isfinite(y[i]))
		{
			lo = Min(lo, y[i]);
			hi = Max(hi, y[i]);
		}
	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
	{
		int			b;

		if (!isfinite(y[i]))
		{
			appendStringInfoChar(&buf, ' ');
			continue;
		}
		b = hi > lo ? (int) floor((y[i] - lo) / (hi - lo) * 7 + 0.5) : 3;
		appendStringInfoString(&buf, blocks[Max(0, Min(7, b))]);
	}
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}

/* ---- accuracy aggregates ---- */

/* The accuracy state, changed in place when called by an aggregate. */
static double *
acc_state(FunctionCallInfo fcinfo, ArrayType **arr)
{
	ArrayType  *a;

	if (AggCheckCallContext(fcinfo, NULL))
		a = PG_GETARG_ARRAYTYPE_P(0);	/* ours to change in place */
	else
		a = PG_GETARG_ARRAYTYPE_P_COPY(0);
	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != ACC_SLOTS || ARR_HASNULL(a) ||
		ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "aiml accuracy state must be a float8[%d]", ACC_SLOTS);
	*arr = a;
	return (double *) ARR_DATA_PTR(a);
}

/* Adds one (actual, predicted) pair to the accuracy sums. */
static void
acc_add(double *s, double a, double p)
{
	double		e = fabs(a - p);

	if (!isfinite(a) || !isfinite(p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("accuracy measures need finite actual and predicted values"),
				 errhint("Filter out NaN and infinite values.")));
	s[0] += 1;
	s[1] += e;
	s[2] += e * e;
	if (a != 0)
	{
		s[3] += e / fabs(a);
		s[4] += 1;
	}
	s[5] += fabs(a) + fabs(p) > 0 ? 200 * e / (fabs(a) + fabs(p)) : 0;
	s[6] += 1;
}

/* (state, actual, predicted); STRICT, so rows with a NULL are skipped */
Datum
aiml_accuracy_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	double	   *s = acc_state(fcinfo, &arr);

	acc_add(s, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2));
	PG_RETURN_ARRAYTYPE_P(arr);
}

/* (state, actual, predicted, scale): scale is the group's in-sample snaive MAE */
Datum
aiml_mase_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	double	   *s = acc_state(fcinfo, &arr);
	double		scale = PG_GETARG_FLOAT8(3);

	if (!(scale > 0) || !isfinite(scale))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("MASE scale must be a positive number, got %g", scale),
				 errhint("Pass aiml.mase_scale(training values, season) or aiml.mase_scale(model); "
						 "a series whose seasonal naive forecast is perfect has no MASE.")));
	acc_add(s, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2));
	s[7] = scale;
	PG_RETURN_ARRAYTYPE_P(arr);
}

/* Adds two partial accuracy states (parallel aggregation). */
Datum
aiml_accuracy_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *arr,
			   *other;
	double	   *a = acc_state(fcinfo, &arr);
	double	   *b;

	other = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(other) != 1 || ARR_DIMS(other)[0] != ACC_SLOTS || ARR_HASNULL(other))
		elog(ERROR, "aiml accuracy state must be a float8[%d]", ACC_SLOTS);
	b = (double *) ARR_DATA_PTR(other);
	for (int i = 0; i < 7; i++)
		a[i] += b[i];
	if (b[7] > 0)
		a[7] = b[7];
	PG_RETURN_ARRAYTYPE_P(arr);
}

/* The accuracy state as a final function sees it. */
static const double *
acc_final_state(FunctionCallInfo fcinfo)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);

	if (ARR_NDIM(a) != 1 || ARR_DIMS(a)[0] != ACC_SLOTS || ARR_HASNULL(a))
		elog(ERROR, "aiml accuracy state must be a float8[%d]", ACC_SLOTS);
	return (const double *) ARR_DATA_PTR(a);
}

/* MAE from the accuracy state. */
Datum
aiml_mae_final(PG_FUNCTION_ARGS)
{
	const double *s = acc_final_state(fcinfo);

	if (s[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s[1] / s[0]);
}

/* RMSE from the accuracy state. */
Datum
aiml_rmse_final(PG_FUNCTION_ARGS)
{
	const double *s = acc_final_state(fcinfo);

	if (s[0] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sqrt(s[2] / s[0]));
}

/* MAPE (percent) from the accuracy state. */
Datum
aiml_mape_final(PG_FUNCTION_ARGS)
{
	const double *s = acc_final_state(fcinfo);

	if (s[4] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(100 * s[3] / s[4]);
}

/* sMAPE (0..200) from the accuracy state. */
Datum
aiml_smape_final(PG_FUNCTION_ARGS)
{
	const double *s = acc_final_state(fcinfo);

	if (s[6] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s[5] / s[6]);
}

/* MASE from the accuracy state. */
Datum
aiml_mase_final(PG_FUNCTION_ARGS)
{
	const double *s = acc_final_state(fcinfo);

	if (s[0] == 0 || !(s[7] > 0))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(s[1] / s[0] / s[7]);
}

/* aiml.mase_scale(values, season): in-sample MAE of the seasonal naive forecast. */
Datum
aiml_mase_scale_values(PG_FUNCTION_ARGS)
{
	int			n,
				m = PG_ARGISNULL(1) ? 1 : PG_GETARG_INT32(1);
	const double *y;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	y = series_arg(fcinfo, &n, 2, "aiml.mase_scale");
	if (m < 1 || m >= n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("season length %d is invalid for aiml.mase_scale on %d values", m, n),
				 errhint("The season must be at least 1 and shorter than the series.")));
	PG_RETURN_FLOAT8(fc_snaive_mae(y, n, m));
}

/* aiml.mase_scale(model): the scale stored with a forecasting model. */
Datum
aiml_mase_scale_model(PG_FUNCTION_ARGS)
{
	AimlModel  *m = aiml_model_verify(PG_GETARG_DATUM(0));
	FcModel    *fm;

	if (m->kind != AIML_KIND_ETS && m->kind != AIML_KIND_THETA && m->kind != AIML_KIND_BASELINE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("aiml.mase_scale needs a forecasting model, but this is a %s model",
						aiml_kind_name(m->kind)),
				 errhint("Train one with aiml.ets, aiml.theta or aiml.baseline.")));
	fm = fc_model_read(m, CurrentMemoryContext);
	if (isnan(fm->scale))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(fm->scale);
}
