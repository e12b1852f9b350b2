/*
 * fcmodel.c: the forecasting kinds' model values (ets, theta, baseline):
 * fitting a series into the shared in-memory form FcModel, writing it as an
 * aiml.model payload, reading it back with every count, index and parameter
 * checked, describing it, and predicting from it.
 *
 * Payload, all kinds (format version 1), little-endian:
 *   u32 n, u32 season, u32 gaps_filled, u32 has_ts,
 *   u64 first_ts, u64 last_ts, u64 interval_us, u32 interval_months,
 *   f64 scale, u32 nlevels, f64 levels[nlevels], u64 seed, u32 simulations
 * then the kind's part:
 *   ets:      u32 error, trend, season, m; f64 alpha, beta, gamma, phi,
 *             level, slope; f64 seas[m]; f64 sigma2, loglik, aic, aicc, bic,
 *             mse; u32 nparams
 *   theta:    f64 alpha, level, drift, offset, sigma2; u32 m; f64 seas[m]
 *   baseline: u32 method, m, n; f64 slope, sigma2; f64 last[m]
 */
#include "postgres.h"

#include <math.h>

#include "core/json.h"
#include "forecast/forecast.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

static const char *const comp_names[] = {"N", "A", "M", "Ad"};

/* An empty model of a kind with the default levels, seed and simulations. */
void
fc_model_init(FcModel *fm, AimlModelKind kind, int n, int season)
{
	memset(fm, 0, sizeof(FcModel));
	fm->kind = kind;
	fm->n = n;
	fm->season = season;
	fm->nlevels = 2;
	fm->levels[0] = 80;
	fm->levels[1] = 95;
	fm->seed = FC_DEFAULT_SEED;
	fm->simulations = FC_DEFAULT_SIMULATIONS;
}

/*
 * Fits the model of fm's kind to y: spec for ETS, method for baselines.
 * fm->season must already be settled (1: no season).
 */
void
fc_fit(FcModel *fm, const double *y, int n, const EtsSpec *spec, int method,
	   const char *caller)
{
	fm->n = n;
	fm->scale = fc_snaive_mae(y, n, fm->season);
	switch (fm->kind)
	{
		case AIML_KIND_ETS:
			ets_fit_auto(y, n, fm->season, spec, &fm->ets, caller);
			break;
		case AIML_KIND_THETA:
			theta_fit(y, n, fm->season, &fm->theta);
			break;
		case AIML_KIND_BASELINE:
			baseline_fit(y, n, fm->season, method, &fm->base);
			break;
		default:
			elog(ERROR, "unexpected forecasting kind %d", fm->kind);
	}
}

/* The payload fields every forecasting kind starts with. */
static void
write_common(StringInfo buf, const FcModel *fm)
{
	aiml_write_u32(buf, fm->n);
	aiml_write_u32(buf, fm->season);
	aiml_write_u32(buf, fm->gaps_filled);
	aiml_write_u32(buf, fm->has_ts ? 1 : 0);
	aiml_write_u64(buf, (uint64) fm->first_ts);
	aiml_write_u64(buf, (uint64) fm->last_ts);
	aiml_write_u64(buf, (uint64) fm->interval_us);
	aiml_write_u32(buf, fm->interval_months);
	aiml_write_f64(buf, fm->scale);
	aiml_write_u32(buf, fm->nlevels);
	aiml_write_f64s(buf, fm->levels, fm->nlevels);
	aiml_write_u64(buf, fm->seed);
	aiml_write_u32(buf, fm->simulations);
}

/* The aiml.model value of a fitted model (layout in the file header). */
AimlModel *
fc_model_build(const FcModel *fm)
{
	StringInfoData buf;

	initStringInfo(&buf);
	write_common(&buf, fm);
	if (fm->kind == AIML_KIND_ETS)
	{
		const EtsFit *e = &fm->ets;

		aiml_write_u32(&buf, e->error);
		aiml_write_u32(&buf, e->trend);
		aiml_write_u32(&buf, e->season);
		aiml_write_u32(&buf, e->m);
		aiml_write_f64(&buf, e->alpha);
		aiml_write_f64(&buf, e->beta);
		aiml_write_f64(&buf, e->gamma);
		aiml_write_f64(&buf, e->phi);
		aiml_write_f64(&buf, e->level);
		aiml_write_f64(&buf, e->slope);
		aiml_write_f64s(&buf, e->seas, e->m);
		aiml_write_f64(&buf, e->sigma2);
		aiml_write_f64(&buf, e->loglik);
		aiml_write_f64(&buf, e->aic);
		aiml_write_f64(&buf, e->aicc);
		aiml_write_f64(&buf, e->bic);
		aiml_write_f64(&buf, e->mse);
		aiml_write_u32(&buf, e->nparams);
	}
	else if (fm->kind == AIML_KIND_THETA)
	{
		const ThetaFit *t = &fm->theta;

		aiml_write_f64(&buf, t->alpha);
		aiml_write_f64(&buf, t->level);
		aiml_write_f64(&buf, t->drift);
		aiml_write_f64(&buf, t->offset);
		aiml_write_f64(&buf, t->sigma2);
		aiml_write_u32(&buf, t->m);
		aiml_write_f64s(&buf, t->seas, t->m);
	}
	else
	{
		const BaselineFit *b = &fm->base;

		aiml_write_u32(&buf, b->method);
		aiml_write_u32(&buf, b->m);
		aiml_write_u32(&buf, b->n);
		aiml_write_f64(&buf, b->slope);
		aiml_write_f64(&buf, b->sigma2);
		aiml_write_f64s(&buf, b->last, b->m);
	}
	return aiml_model_build(fm->kind, FC_FORMAT_VERSION, buf.data, buf.len);
}

/* Reads a finite double; what names it in the error. */
static double
read_finite(AimlReader *r, const char *what)
{
	double		v = aiml_read_f64(r);

	if (!isfinite(v))
		aiml_payload_corrupt(r, psprintf("Its %s is not a finite number.", what));
	return v;
}

/* Reads a double in [lo, hi]; NaN passes only when allow_nan. */
static double
read_bounded(AimlReader *r, const char *what, double lo, double hi, bool allow_nan)
{
	double		v = aiml_read_f64(r);

	if (isnan(v) && allow_nan)
		return v;
	if (!(v >= lo && v <= hi))
		aiml_payload_corrupt(r, psprintf("Its %s %g is outside [%g, %g].", what, v, lo, hi));
	return v;
}

/* Reads an enum code, rejecting values above max. */
static uint32
read_code(AimlReader *r, const char *what, uint32 max)
{
	uint32		v = aiml_read_u32(r);

	if (v > max)
		aiml_payload_corrupt(r, psprintf("Its %s code %u is unknown.", what, v));
	return v;
}

/* Reads n finite doubles (positive ones when asked). */
static void
read_finite_array(AimlReader *r, double *v, int n, const char *what, bool positive)
{
	aiml_read_f64s(r, v, n);
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]) || (positive && v[i] <= 0))
			aiml_payload_corrupt(r, psprintf("Its %s %d is %g.", what, i + 1, v[i]));
}

/* Reads and checks the fields every forecasting kind starts with. */
static void
read_common(AimlReader *r, FcModel *fm)
{
	uint32		has_ts;

	fm->n = aiml_read_u32(r);
	if (fm->n < 1 || fm->n > FC_MAX_POINTS)
		aiml_payload_corrupt(r, psprintf("It claims %d observations.", fm->n));
	fm->season = aiml_read_u32(r);
	if (fm->season < 1 || fm->season > FC_MAX_SEASON || fm->season > fm->n)
		aiml_payload_corrupt(r, psprintf("Its season length %d is impossible.", fm->season));
	fm->gaps_filled = aiml_read_u32(r);
	if (fm->gaps_filled < 0 || fm->gaps_filled >= fm->n)
		aiml_payload_corrupt(r, "It claims more filled gaps than observations.");
	has_ts = read_code(r, "timestamp flag", 1);
	fm->has_ts = has_ts == 1;
	fm->first_ts = (TimestampTz) aiml_read_u64(r);
	fm->last_ts = (TimestampTz) aiml_read_u64(r);
	fm->interval_us = (int64) aiml_read_u64(r);
	fm->interval_months = aiml_read_u32(r);
	if (fm->has_ts &&
		(!IS_VALID_TIMESTAMP(fm->first_ts) || !IS_VALID_TIMESTAMP(fm->last_ts) ||
		 fm->last_ts < fm->first_ts || fm->interval_months > 12 ||
		 (fm->interval_months == 0 && (fm->interval_us <= 0 || fm->interval_us > USECS_PER_DAY * 366))))
		aiml_payload_corrupt(r, "Its timestamps or interval are impossible.");
	fm->scale = aiml_read_f64(r);
	if (!isnan(fm->scale) && !(fm->scale >= 0 && isfinite(fm->scale)))
		aiml_payload_corrupt(r, "Its MASE scale is impossible.");
	fm->nlevels = aiml_read_count(r, FC_MAX_LEVELS, "levels");
	aiml_read_f64s(r, fm->levels, fm->nlevels);
	for (int i = 0; i < fm->nlevels; i++)
		if (!(fm->levels[i] > 0 && fm->levels[i] < 100))
			aiml_payload_corrupt(r, psprintf("Its level %d is %g.", i + 1, fm->levels[i]));
	fm->seed = aiml_read_u64(r);
	fm->simulations = aiml_read_u32(r);
	if (fm->simulations < 1 || fm->simulations > FC_MAX_SIMULATIONS)
		aiml_payload_corrupt(r, psprintf("It asks for %d simulations.", fm->simulations));
}

/* Reads an ETS model's structure, parameters and states. */
static void
read_ets(AimlReader *r, FcModel *fm, MemoryContext cxt)
{
	EtsFit	   *e = &fm->ets;

	e->error = read_code(r, "error", ETS_M);
	e->trend = read_code(r, "trend", ETS_AD);
	e->season = read_code(r, "season", ETS_M);
	if (e->error == ETS_N || e->trend == ETS_M)
		aiml_payload_corrupt(r, "Its model structure is not one aiml fits.");
	e->m = aiml_read_count(r, FC_MAX_SEASON, "seasonal states");
	if ((e->season == ETS_N) != (e->m == 1) || e->m < 1 || e->m > fm->n)
		aiml_payload_corrupt(r, psprintf("Its %d seasonal states do not match its season.", e->m));
	e->alpha = read_bounded(r, "alpha", 1e-4, 1, false);
	e->beta = read_bounded(r, "beta", 0, 1, e->trend == ETS_N);
	e->gamma = read_bounded(r, "gamma", 0, 1, e->season == ETS_N);
	e->phi = read_bounded(r, "phi", 0, 1, e->trend == ETS_N);
	e->level = read_finite(r, "level");
	e->slope = read_finite(r, "slope");
	e->seas = MemoryContextAlloc(cxt, sizeof(double) * e->m);
	read_finite_array(r, e->seas, e->m, "seasonal state", e->season == ETS_M);
	e->sigma2 = read_bounded(r, "sigma2", 0, 1e300, false);
	e->loglik = aiml_read_f64(r);
	e->aic = aiml_read_f64(r);
	e->aicc = aiml_read_f64(r);
	e->bic = aiml_read_f64(r);
	e->mse = aiml_read_f64(r);
	e->nparams = aiml_read_u32(r);
	if (e->trend == ETS_N)
		e->slope = 0;
}

/* Reads a Theta model's parameters and seasonal indices. */
static void
read_theta(AimlReader *r, FcModel *fm, MemoryContext cxt)
{
	ThetaFit   *t = &fm->theta;

	t->alpha = read_bounded(r, "alpha", 1e-10, 1, false);
	t->level = read_finite(r, "level");
	t->drift = read_finite(r, "drift");
	t->offset = read_finite(r, "offset");
	t->sigma2 = read_bounded(r, "sigma2", 0, 1e300, false);
	t->m = aiml_read_count(r, FC_MAX_SEASON, "seasonal indices");
	if (t->m < 1 || t->m > fm->n)
		aiml_payload_corrupt(r, psprintf("It has %d seasonal indices.", t->m));
	t->seas = MemoryContextAlloc(cxt, sizeof(double) * t->m);
	read_finite_array(r, t->seas, t->m, "seasonal index", true);
}

/* Reads a baseline's method, last values and residual variance. */
static void
read_baseline(AimlReader *r, FcModel *fm, MemoryContext cxt)
{
	BaselineFit *b = &fm->base;

	b->method = read_code(r, "method", BASE_DRIFT);
	b->m = aiml_read_count(r, FC_MAX_SEASON, "last values");
	b->n = aiml_read_u32(r);
	if (b->m < 1 || b->n < b->m || b->n != fm->n)
		aiml_payload_corrupt(r, psprintf("It keeps %d last values of %d observations.", b->m, b->n));
	b->slope = read_finite(r, "slope");
	b->sigma2 = read_bounded(r, "sigma2", 0, 1e300, false);
	b->last = MemoryContextAlloc(cxt, sizeof(double) * b->m);
	read_finite_array(r, b->last, b->m, "last value", false);
}

/* Reads and validates a forecasting model of any of the three kinds into cxt. */
FcModel *
fc_model_read(const AimlModel *model, MemoryContext cxt)
{
	AimlReader	r;
	FcModel    *fm = MemoryContextAllocZero(cxt, sizeof(FcModel));

	aiml_reader_init(&r, model);
	fm->kind = model->kind;
	read_common(&r, fm);
	if (fm->kind == AIML_KIND_ETS)
		read_ets(&r, fm, cxt);
	else if (fm->kind == AIML_KIND_THETA)
		read_theta(&r, fm, cxt);
	else if (fm->kind == AIML_KIND_BASELINE)
		read_baseline(&r, fm, cxt);
	else
		elog(ERROR, "unexpected forecasting kind %d", fm->kind);
	aiml_reader_finish(&r);
	return fm;
}

/* Room for h steps of forecasts at nlevels levels. */
void
fc_path_alloc(FcPath *path, int h, const double *levels, int nlevels)
{
	path->h = h;
	path->nlevels = nlevels;
	path->levels = palloc(sizeof(double) * Max(nlevels, 1));
	memcpy(path->levels, levels, sizeof(double) * nlevels);
	path->mean = palloc(sizeof(double) * h);
	path->lo = palloc(sizeof(double) * (Size) h * Max(nlevels, 1));
	path->hi = palloc(sizeof(double) * (Size) h * Max(nlevels, 1));
}

/* Forecasts path->h steps with the model of any forecasting kind. */
void
fc_model_predict(const FcModel *fm, FcPath *path)
{
	if (fm->kind == AIML_KIND_ETS)
		ets_forecast(&fm->ets, path, fm->seed, fm->simulations);
	else if (fm->kind == AIML_KIND_THETA)
		theta_forecast(&fm->theta, path);
	else
		baseline_forecast(&fm->base, path);
}

/* ---- describe ---- */

/* describe() members every forecasting kind shares. */
static void
describe_common(const FcModel *fm, StringInfo json)
{
	aiml_json_add_int(json, "n", fm->n);
	aiml_json_add_int(json, "season_length", fm->season);
	if (fm->has_ts)
	{
		Interval	iv;

		memset(&iv, 0, sizeof(iv));
		iv.time = fm->interval_months ? 0 : fm->interval_us;
		iv.month = fm->interval_months;
		aiml_json_add_string(json, "interval",
							 DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(&iv))));
		aiml_json_add_string(json, "first_ts", timestamptz_to_str(fm->first_ts));
		aiml_json_add_string(json, "last_ts", timestamptz_to_str(fm->last_ts));
		aiml_json_add_int(json, "gaps_filled", fm->gaps_filled);
	}
	aiml_json_add_float(json, "mase_scale", fm->scale);
	aiml_json_add_floats(json, "levels", fm->levels, fm->nlevels);
}

/* describe() of an ETS model: its structure, parameters, criteria, states. */
void
ets_describe(const AimlModel *model, StringInfo json)
{
	FcModel    *fm = fc_model_read(model, CurrentMemoryContext);
	EtsFit	   *e = &fm->ets;
	char		name[16];

	aiml_json_add_string(json, "model", ets_name(e, name));
	aiml_json_add_string(json, "error", comp_names[e->error]);
	aiml_json_add_string(json, "trend", comp_names[e->trend]);
	aiml_json_add_string(json, "season", comp_names[e->season]);
	aiml_json_add_float(json, "alpha", e->alpha);
	if (e->trend != ETS_N)
		aiml_json_add_float(json, "beta", e->beta);
	if (e->season != ETS_N)
		aiml_json_add_float(json, "gamma", e->gamma);
	if (e->trend == ETS_AD)
		aiml_json_add_float(json, "phi", e->phi);
	aiml_json_add_float(json, "sigma", sqrt(e->sigma2));
	aiml_json_add_float(json, "aicc", e->aicc);
	aiml_json_add_float(json, "aic", e->aic);
	aiml_json_add_float(json, "bic", e->bic);
	aiml_json_add_float(json, "loglik", e->loglik);
	aiml_json_add_float(json, "mse", e->mse);
	aiml_json_add_int(json, "parameters", e->nparams);
	aiml_json_add_float(json, "level", e->level);
	if (e->trend != ETS_N)
		aiml_json_add_float(json, "slope", e->slope);
	if (e->season != ETS_N)
		aiml_json_add_floats(json, "seasonal", e->seas, e->m);
	aiml_json_add_string(json, "intervals", ets_analytic(e) ? "analytic" : "simulated");
	if (!ets_analytic(e))
	{
		aiml_json_add_int(json, "seed", (int64) fm->seed);
		aiml_json_add_int(json, "simulations", fm->simulations);
	}
	describe_common(fm, json);
}

/* describe() of a Theta model. */
void
theta_describe(const AimlModel *model, StringInfo json)
{
	FcModel    *fm = fc_model_read(model, CurrentMemoryContext);
	ThetaFit   *t = &fm->theta;

	aiml_json_add_string(json, "model", "Theta");
	aiml_json_add_bool(json, "seasonally_adjusted", t->m > 1);
	aiml_json_add_float(json, "alpha", t->alpha);
	aiml_json_add_float(json, "level", t->level);
	aiml_json_add_float(json, "drift", t->drift);
	aiml_json_add_float(json, "sigma", sqrt(t->sigma2));
	if (t->m > 1)
		aiml_json_add_floats(json, "seasonal", t->seas, t->m);
	describe_common(fm, json);
}

/* describe() of a baseline model. */
void
baseline_describe(const AimlModel *model, StringInfo json)
{
	FcModel    *fm = fc_model_read(model, CurrentMemoryContext);
	BaselineFit *b = &fm->base;

	aiml_json_add_string(json, "model", fc_baseline_names[b->method]);
	if (b->method == BASE_DRIFT)
		aiml_json_add_float(json, "slope", b->slope);
	aiml_json_add_float(json, "sigma", sqrt(b->sigma2));
	describe_common(fm, json);
}
