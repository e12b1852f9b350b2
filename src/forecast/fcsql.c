/*
 * fcsql.c: aiml.forecast in its two forms, from a model and from an array,
 * and the 'auto' method.
 *
 * aiml.forecast(model, horizon) dispatches on the model's kind: every
 * forecasting kind (ets, theta, baseline; the LSTM later) registers here,
 * and a model of any other kind gets a clear error.  Rows carry the 80% and
 * 95% intervals in fixed columns, and every level the model was trained
 * with (option "levels") in the jsonb column intervals: {"90": [lo, hi]}.
 *
 * 'auto' (array form) backtests ETS, Theta and seasonal naive (and, for a
 * season of 24, i.e. hourly data, the weekly seasonal naive of 168 steps) on
 * the last part of the series (the horizon, at most a fifth of the series),
 * ranks them by MASE there, and refits the best on the whole series; when
 * the runner-up's backtest MASE is within 20% of the best, it forecasts the
 * mean of the two (means and interval bounds alike).  Selection guards
 * against a model that fails on a series, combining close ones against
 * picking by noise.  Without room for a backtest (fewer than three seasons
 * before the held-out part), it averages ETS and Theta.
 */
#include "postgres.h"

#include <math.h>

#include "core/arrays.h"
#include "core/json.h"
#include "forecast/forecast.h"
#include "forecast/lstm.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

static const char *const fc_methods[] = {"auto", "ets", "theta", "naive", "snaive", "drift", NULL};

/* fewest values each method fits to, in the order of fc_methods */
static const int min_values[] = {5, 5, 4, 2, 2, 2};

#define N_AUTO_CANDIDATES 4

/* Peeks at the kind of a model without detoasting all of it. */
static int
model_kind_of(Datum d)
{
	struct varlena *head = PG_DETOAST_DATUM_SLICE(d, 0, sizeof(uint16));
	uint16		kind = 0;

	if (VARSIZE_ANY_EXHDR(head) >= sizeof(uint16))
		memcpy(&kind, VARDATA_ANY(head), sizeof(uint16));
	return kind;
}

/* aiml_model_cached's loader for every forecasting kind. */
static void *
fc_load(const AimlModel *model, MemoryContext cxt)
{
	return fc_model_read(model, cxt);
}

/* The timestamp of step k after the model's last observation. */
static TimestampTz
step_ts(const FcModel *fm, int k)
{
	if (fm->interval_months)
	{
		Interval	iv;

		memset(&iv, 0, sizeof(iv));
		iv.month = fm->interval_months * k;
		return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													   TimestampTzGetDatum(fm->last_ts),
													   IntervalPGetDatum(&iv)));
	}
	return fm->last_ts + (int64) k * fm->interval_us;
}

/*
 * Writes the rows of a path into the SRF's tuplestore.  The path's levels
 * are 80, 95, then the model's nlevels levels.
 */
static void
emit_rows(FunctionCallInfo fcinfo, const FcModel *fm, const FcPath *path)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			h = path->h;

	for (int i = 0; i < h; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {0};
		StringInfoData json;

		if ((i & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(i + 1);
		if (fm != NULL && fm->has_ts)
			values[1] = TimestampTzGetDatum(step_ts(fm, i + 1));
		else
			nulls[1] = true;
		values[2] = Float8GetDatum(path->mean[i]);
		values[3] = Float8GetDatum(path->lo[i]);
		values[4] = Float8GetDatum(path->hi[i]);
		values[5] = Float8GetDatum(path->lo[h + i]);
		values[6] = Float8GetDatum(path->hi[h + i]);
		initStringInfo(&json);
		appendStringInfoChar(&json, '{');
		for (int l = 2; l < path->nlevels; l++)
		{
			char		key[32];
			double		pair[2] = {path->lo[l * h + i], path->hi[l * h + i]};

			snprintf(key, sizeof(key), "%g", path->levels[l]);
			aiml_json_add_floats(&json, key, pair, 2);
		}
		appendStringInfoChar(&json, '}');
		values[7] = aiml_json_to_jsonb(&json);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* A path with the fixed 80 and 95 levels first, then the model's own. */
static void
path_for_model(FcPath *path, const FcModel *fm, int h)
{
	double		levels[FC_MAX_LEVELS + 2] = {80, 95};
	int			nl = 2;

	if (fm != NULL)
		for (int l = 0; l < fm->nlevels; l++)
			levels[nl++] = fm->levels[l];
	else
	{
		levels[nl++] = 80;
		levels[nl++] = 95;
	}
	fc_path_alloc(path, h, levels, nl);
}

/*
 * aiml.forecast(model, horizon) for an LSTM of one series: its own forecast
 * (lstm.c), in the same columns; intervals holds no further levels.
 */
static Datum
forecast_lstm_rows(FunctionCallInfo fcinfo, int h)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AimlModel  *m = aiml_model_expect(PG_GETARG_DATUM(0), AIML_KIND_LSTM, "aiml.forecast");
	double	   *out = palloc(sizeof(double) * 5 * h);
	TimestampTz *ts = palloc(sizeof(TimestampTz) * h);

	lstm_forecast(m, h, NULL, out, out + h, out + 2 * h, out + 3 * h, out + 4 * h, ts);
	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < h; i++)
	{
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = Int32GetDatum(i + 1);
		values[1] = TimestampTzGetDatum(ts[i]);
		for (int c = 0; c < 5; c++)
			values[2 + c] = Float8GetDatum(out[c * h + i]);
		nulls[7] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(aiml_forecast_model);
PG_FUNCTION_INFO_V1(aiml_forecast_values);

/* aiml.forecast(model, horizon): the model is deserialized once per query. */
Datum
aiml_forecast_model(PG_FUNCTION_ARGS)
{
	int			kind = model_kind_of(PG_GETARG_DATUM(0));
	int			h = PG_GETARG_INT32(1);
	FcModel    *fm;
	FcPath		path;

	if (kind == AIML_KIND_LSTM)
		return forecast_lstm_rows(fcinfo, h);
	if (kind != AIML_KIND_ETS && kind != AIML_KIND_THETA && kind != AIML_KIND_BASELINE)
	{
		AimlModel  *m = aiml_model_verify(PG_GETARG_DATUM(0));

		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("aiml.forecast needs a forecasting model, but this is a %s model",
						aiml_kind_name(m->kind)),
				 errhint("Train one with aiml.ets, aiml.theta, aiml.baseline or aiml.lstm_train.")));
	}
	fc_check_horizon(h);
	fm = aiml_model_cached(fcinfo, 0, kind, "aiml.forecast", fc_load);
	InitMaterializedSRF(fcinfo, 0);
	path_for_model(&path, fm, h);
	fc_model_predict(fm, &path);
	emit_rows(fcinfo, fm, &path);
	return (Datum) 0;
}

/* Fits one method ("ets", ..., never "auto") to y and forecasts path->h steps. */
static void
fit_and_forecast(const double *y, int n, int season, int method, FcPath *path,
				 const char *caller)
{
	FcModel		fm;
	EtsSpec		spec;
	AimlModelKind kind;
	int			base = BASE_SNAIVE;

	switch (method)
	{
		case 1:
			kind = AIML_KIND_ETS;
			break;
		case 2:
			kind = AIML_KIND_THETA;
			break;
		default:
			kind = AIML_KIND_BASELINE;
			base = method == 3 ? BASE_NAIVE : method == 4 ? BASE_SNAIVE : BASE_DRIFT;
			break;
	}
	ets_parse_spec("ZZZ", -1, &spec, caller);
	fc_model_init(&fm, kind, n, season);
	fc_fit(&fm, y, n, &spec, base, caller);
	fc_model_predict(&fm, path);
}

/* qsort order of (score, candidate) pairs, best first. */
static int
cmp_score(const void *a, const void *b)
{
	const double *x = a,
			   *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

/* The 'auto' method: see the file header. */
static void
auto_forecast(const double *y, int n, int season, FcPath *path, const char *caller)
{
	int			cmethod[N_AUTO_CANDIDATES];
	int			cseason[N_AUTO_CANDIDATES];
	int			ncand = 0;
	double		score[N_AUTO_CANDIDATES][2];
	int			hold = Min(path->h, n / 5);
	int			ntrain = n - hold;
	bool		backtest = hold >= 1 && (season < 2 || ntrain >= 3 * season) && ntrain >= 10;
	double		scale = fc_snaive_mae(y, ntrain, Max(season, 1));
	FcPath		sub[2];
	int			ncomb;

	cmethod[ncand] = 1;			/* ets */
	cseason[ncand++] = season;
	cmethod[ncand] = 2;			/* theta */
	cseason[ncand++] = season;
	cmethod[ncand] = 4;			/* snaive */
	cseason[ncand++] = season;
	if (season == 24 && ntrain >= 2 * 7 * season)
	{
		cmethod[ncand] = 4;
		cseason[ncand++] = 7 * season;
	}
	for (int c = 0; c < ncand; c++)
	{
		score[c][0] = c;		/* without a backtest: the order above */
		score[c][1] = c;
		if (!backtest)
			continue;
		{
			FcPath		bt;
			double		err = 0;

			fc_path_alloc(&bt, hold, path->levels, 0);
			fit_and_forecast(y, ntrain, cseason[c], cmethod[c], &bt, caller);
			for (int i = 0; i < hold; i++)
				err += fabs(y[ntrain + i] - bt.mean[i]);
			score[c][0] = err / hold / (scale > 0 ? scale : 1);
		}
	}
	qsort(score, ncand, sizeof(score[0]), cmp_score);
	ncomb = !backtest || score[1][0] <= 1.2 * score[0][0] ? 2 : 1;
	for (int k = 0; k < ncomb; k++)
	{
		int			c = (int) score[k][1];

		fc_path_alloc(&sub[k], path->h, path->levels, path->nlevels);
		fit_and_forecast(y, n, cseason[c], cmethod[c], &sub[k], caller);
	}
	for (int i = 0; i < path->h; i++)
		path->mean[i] = ncomb == 1 ? sub[0].mean[i] : (sub[0].mean[i] + sub[1].mean[i]) / 2;
	for (int i = 0; i < path->h * path->nlevels; i++)
	{
		path->lo[i] = ncomb == 1 ? sub[0].lo[i] : (sub[0].lo[i] + sub[1].lo[i]) / 2;
		path->hi[i] = ncomb == 1 ? sub[0].hi[i] : (sub[0].hi[i] + sub[1].hi[i]) / 2;
	}
}

/* aiml.forecast(values, horizon, method, season) */
Datum
aiml_forecast_values(PG_FUNCTION_ARGS)
{
	const char *caller = "aiml.forecast";
	const double *y;
	int			n,
				h,
				season,
				method = 0;
	char	   *mname;
	FcPath		path;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	y = aiml_array_doubles(PG_GETARG_ARRAYTYPE_P(0), &n, 0, "values");
	h = PG_GETARG_INT32(1);
	fc_check_horizon(h);
	mname = PG_ARGISNULL(2) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	while (fc_methods[method] != NULL && strcmp(fc_methods[method], mname) != 0)
		method++;
	if (fc_methods[method] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown forecasting method \"%s\"", mname),
				 errhint("Use auto, ets, theta, naive, snaive or drift.")));
	if (n < min_values[method])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs at least %d values for method %s, but got %d", caller,
						min_values[method], mname, n),
				 errhint("Collect more history, or use method 'naive'.")));
	if (!PG_ARGISNULL(3))
	{
		season = PG_GETARG_INT32(3);
		fc_check_season(season, n, caller);
	}
	else
		season = fc_detect_season(y, n, 0);

	path_for_model(&path, NULL, h);
	if (method == 0)
		auto_forecast(y, n, season, &path, caller);
	else
		fit_and_forecast(y, n, season, method, &path, caller);
	emit_rows(fcinfo, NULL, &path);
	return (Datum) 0;
}
