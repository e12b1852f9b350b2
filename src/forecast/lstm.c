/*
 * lstm.c: the lstm model kind: its payload, describe(), forecasting with
 * prediction intervals, and the gradient check exposed as a diagnostic.
 *
 * Payload, format version 2 (little-endian, see core/model.h):
 *   u32 layers, hidden, inputs, window (values), horizon, calendar, normalize
 *   u32 epochs, batch, patience, threads; f64 learning_rate, clip, validation;
 *   u64 seed
 *   u32 season, deseasonalize, stride, loss, patch, members, validation_windows
 *   per member: u32 best_epoch, epochs_run; f64 train_loss[epochs_run];
 *   f64 validation_loss[epochs_run]; u32 nparams; f64 theta[nparams]
 *   (layout in lstm_layout)
 *   f64 residual_sd[horizon]
 *   u32 nseries; per series: string name; f64 mean, scale; u64 interval;
 *   u32 count; f64 last_values[window]; u64 last_ts[window]
 *
 * Version 1 had normalize 0 or 1 and, after the seed, u32 best_epoch,
 * validation_windows and one member without its best_epoch; it reads as
 * season 0, no deseasonalizing, stride 1, loss mse, patch 1 and one member.
 *
 * The reader checks every dimension against its bound and every count
 * against the bytes left before it allocates, so a forged value with a valid
 * checksum gets an error, never a huge allocation or a read out of bounds.
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "core/arrays.h"
#include "core/json.h"
#include "forecast/lstm.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/* normal quantiles of the 80% and 95% central intervals */
#define Z80 1.2815515655446004
#define Z95 1.959963984540054

static const char *const normalize_names[] = {"series", "window", "season"};

/*
 * The level a window's values are centred on and the unit they are divided
 * by: the series' mean and deviation (normalize "series"), the window's last
 * value and the series' deviation ("window"), or the mean of the window's
 * last season and the mean absolute value of that season ("season": for a
 * positive series, y / level - 1, so one global model fits series of every
 * scale), never below a hundredth of the series' deviation.
 */
void
lstm_window_scaling(const LstmScaling *sc, const double *values, int window,
					double series_mean, double series_scale,
					double *level, double *unit)
{
	double		sum = 0,
				abssum = 0;

	switch (sc->normalize)
	{
		case LSTM_NORM_SERIES:
			*level = series_mean;
			*unit = series_scale;
			break;
		case LSTM_NORM_WINDOW:
			*level = values[window - 1];
			*unit = series_scale;
			break;
		case LSTM_NORM_SEASON:
			for (int t = window - sc->season; t < window; t++)
			{
				sum += values[t];
				abssum += fabs(values[t]);
			}
			*level = sum / sc->season;
			*unit = Max(abssum / sc->season, 0.01 * series_scale);
			break;
	}
}

/*
 * The seasonal naive path of a window in its scaled units: step k + 1
 * repeats the value one season before it, from the window's last season
 * (zeros without deseasonalize, so the network predicts the values
 * themselves).
 */
void
lstm_seasonal_base(const LstmScaling *sc, const double *values, int window,
				   double level, double unit, int horizon, double *base)
{
	for (int k = 0; k < horizon; k++)
		base[k] = sc->deseasonalize ?
			(values[window - sc->season + k % sc->season] - level) / unit : 0.0;
}

/* Serializes a trained model into an aiml.model value. */
AimlModel *
lstm_model_build(const LstmModel *m)
{
	StringInfoData buf;
	const LstmShape *s = &m->shape;

	initStringInfo(&buf);
	aiml_write_u32(&buf, s->layers);
	aiml_write_u32(&buf, s->hidden);
	aiml_write_u32(&buf, s->inputs);
	aiml_write_u32(&buf, m->window);
	aiml_write_u32(&buf, s->horizon);
	aiml_write_u32(&buf, m->calendar ? 1 : 0);
	aiml_write_u32(&buf, m->scaling.normalize);
	aiml_write_u32(&buf, m->epochs);
	aiml_write_u32(&buf, m->batch);
	aiml_write_u32(&buf, m->patience);
	aiml_write_u32(&buf, m->threads);
	aiml_write_f64(&buf, m->learning_rate);
	aiml_write_f64(&buf, m->clip);
	aiml_write_f64(&buf, m->validation);
	aiml_write_u64(&buf, (uint64) m->seed);
	aiml_write_u32(&buf, m->scaling.season);
	aiml_write_u32(&buf, m->scaling.deseasonalize ? 1 : 0);
	aiml_write_u32(&buf, m->stride);
	aiml_write_u32(&buf, m->loss);
	aiml_write_u32(&buf, m->patch);
	aiml_write_u32(&buf, m->members);
	aiml_write_u32(&buf, m->validation_windows);
	for (int j = 0; j < m->members; j++)
	{
		const LstmMember *mb = &m->member[j];

		aiml_write_u32(&buf, mb->best_epoch);
		aiml_write_u32(&buf, mb->epochs_run);
		aiml_write_f64s(&buf, mb->train_loss, mb->epochs_run);
		aiml_write_f64s(&buf, mb->validation_loss, mb->epochs_run);
		aiml_write_u32(&buf, (uint32) m->nparams);
		aiml_write_f64s(&buf, mb->theta, m->nparams);
	}
	aiml_write_f64s(&buf, m->residual_sd, s->horizon);
	aiml_write_u32(&buf, m->nseries);
	for (int i = 0; i < m->nseries; i++)
	{
		const LstmSeries *ser = &m->series[i];

		aiml_write_string(&buf, ser->name);
		aiml_write_f64(&buf, ser->mean);
		aiml_write_f64(&buf, ser->scale);
		aiml_write_u64(&buf, (uint64) ser->interval);
		aiml_write_u32(&buf, ser->count);
		aiml_write_f64s(&buf, ser->last_values, m->window);
		for (int t = 0; t < m->window; t++)
			aiml_write_u64(&buf, (uint64) ser->last_ts[t]);
	}
	return aiml_model_build(AIML_KIND_LSTM, LSTM_FORMAT_VERSION, buf.data, buf.len);
}

/* A u32 within [min, max], or the payload is corrupt. */
static int
read_bounded(AimlReader *r, uint32 min, uint32 max, const char *what)
{
	uint32		v = aiml_read_u32(r);

	if (v < min || v > max)
		aiml_payload_corrupt(r, psprintf("Its %s is %u, outside %u to %u.", what, v, min, max));
	return (int) v;
}

/* Errors unless n items of size bytes each remain, before allocating them. */
static void
reader_need(AimlReader *r, Size n, Size size, const char *what)
{
	if (n > (r->len - r->pos) / size)
		aiml_payload_corrupt(r, psprintf("It announces %zu %s, more than its payload can hold.",
										 n, what));
}

/* Reads n doubles that must all be finite (and >= 0 when nonneg). */
static double *
read_finite(AimlReader *r, Size n, bool nonneg, const char *what)
{
	double	   *v;

	reader_need(r, n, sizeof(double), what);
	v = palloc(sizeof(double) * Max(n, 1));
	aiml_read_f64s(r, v, n);
	for (Size i = 0; i < n; i++)
		if (!isfinite(v[i]) || (nonneg && v[i] < 0))
			aiml_payload_corrupt(r, psprintf("Its %s hold an impossible value.", what));
	return v;
}

static void
read_shape(AimlReader *r, int version, LstmModel *m)
{
	LstmShape  *s = &m->shape;

	s->layers = read_bounded(r, 1, LSTM_MAX_LAYERS, "layer count");
	s->hidden = read_bounded(r, 1, LSTM_MAX_HIDDEN, "hidden size");
	s->inputs = read_bounded(r, 1, LSTM_MAX_WINDOW + LSTM_CALENDAR_FEATURES, "input count");
	m->window = read_bounded(r, 1, LSTM_MAX_WINDOW, "window");
	s->horizon = read_bounded(r, 1, LSTM_MAX_HORIZON, "horizon");
	m->calendar = read_bounded(r, 0, 1, "calendar flag") == 1;
	m->scaling.normalize = read_bounded(r, 0, version >= 2 ? LSTM_NORM_SEASON : LSTM_NORM_WINDOW,
										"normalization code");
}

static void
read_options(AimlReader *r, int version, LstmModel *m)
{
	m->epochs = read_bounded(r, 1, LSTM_MAX_EPOCHS, "epoch limit");
	m->batch = read_bounded(r, 1, INT32_MAX, "batch size");
	m->patience = read_bounded(r, 0, LSTM_MAX_EPOCHS, "patience");
	m->threads = read_bounded(r, 1, 64, "thread count");
	m->learning_rate = aiml_read_f64(r);
	m->clip = aiml_read_f64(r);
	m->validation = aiml_read_f64(r);
	m->seed = (int64) aiml_read_u64(r);
	if (!(m->learning_rate > 0) || !isfinite(m->learning_rate) ||
		!(m->clip >= 0) || !isfinite(m->clip) ||
		!(m->validation >= 0 && m->validation < 1))
		aiml_payload_corrupt(r, "Its training options are impossible.");
	if (version >= 2)
	{
		m->scaling.season = read_bounded(r, 0, m->window, "season");
		m->scaling.deseasonalize = read_bounded(r, 0, 1, "deseasonalize flag") == 1;
		m->stride = read_bounded(r, 1, INT32_MAX, "stride");
		m->loss = read_bounded(r, LSTM_LOSS_MSE, LSTM_LOSS_MAE, "loss code");
		m->patch = read_bounded(r, 1, m->window, "patch");
		m->members = read_bounded(r, 1, LSTM_MAX_MEMBERS, "member count");
		if (m->scaling.season == 0 &&
			(m->scaling.deseasonalize || m->scaling.normalize == LSTM_NORM_SEASON))
			aiml_payload_corrupt(r, "It uses a season but has none.");
	}
	else
	{
		m->scaling.season = 0;
		m->scaling.deseasonalize = false;
		m->stride = 1;
		m->loss = LSTM_LOSS_MSE;
		m->patch = 1;
		m->members = 1;
	}
	if (m->window % m->patch != 0)
		aiml_payload_corrupt(r, "Its window is not a whole number of patches.");
	m->shape.window = m->window / m->patch;
	if (m->shape.inputs != m->patch + (m->calendar ? LSTM_CALENDAR_FEATURES : 0))
		aiml_payload_corrupt(r, "Its input count does not match its patch and calendar flag.");
}

/* One member's epochs, losses and weights; best_epoch is read by the caller. */
static void
read_member(AimlReader *r, LstmModel *m, LstmMember *mb, const LstmLayout *layout)
{
	Size		nparams;

	mb->epochs_run = read_bounded(r, 1, m->epochs, "epochs run");
	if (mb->best_epoch < 1 || mb->best_epoch > mb->epochs_run)
		aiml_payload_corrupt(r, "Its best epoch is not one it ran.");
	mb->train_loss = read_finite(r, mb->epochs_run, true, "training losses");
	reader_need(r, mb->epochs_run, sizeof(double), "validation losses");
	mb->validation_loss = palloc(sizeof(double) * mb->epochs_run);
	aiml_read_f64s(r, mb->validation_loss, mb->epochs_run);
	nparams = aiml_read_u32(r);
	if (nparams != layout->total)
		aiml_payload_corrupt(r, psprintf("It announces %zu parameters, but its shape has %zu.",
										 nparams, layout->total));
	mb->theta = read_finite(r, nparams, false, "parameters");
}

static void
read_series(AimlReader *r, LstmModel *m, LstmSeries *ser)
{
	int			w = m->window;

	ser->name = aiml_read_string(r);
	ser->mean = aiml_read_f64(r);
	ser->scale = aiml_read_f64(r);
	ser->interval = (int64) aiml_read_u64(r);
	ser->count = read_bounded(r, w + m->shape.horizon, INT32_MAX, "series length");
	if (!isfinite(ser->mean) || !isfinite(ser->scale) || !(ser->scale > 0) ||
		ser->interval <= 0)
		aiml_payload_corrupt(r, psprintf("Series \"%s\" has impossible scaling or interval.",
										 ser->name));
	ser->last_values = read_finite(r, w, false, "last values");
	reader_need(r, w, sizeof(uint64), "timestamps");
	ser->last_ts = palloc(sizeof(TimestampTz) * w);
	for (int t = 0; t < w; t++)
	{
		ser->last_ts[t] = (TimestampTz) aiml_read_u64(r);
		if (!IS_VALID_TIMESTAMP(ser->last_ts[t]) ||
			(t > 0 && ser->last_ts[t] <= ser->last_ts[t - 1]))
			aiml_payload_corrupt(r, psprintf("Series \"%s\" has impossible timestamps.",
											 ser->name));
	}
	if (m->nseries > 0 && ser > m->series && strcmp(ser[-1].name, ser->name) >= 0)
		aiml_payload_corrupt(r, "Its series are not sorted by name.");
}

/* Reads and validates a payload into the current memory context. */
static LstmModel *
lstm_model_read(const AimlModel *model)
{
	AimlReader	r;
	LstmModel  *m = palloc0(sizeof(LstmModel));
	LstmLayout	layout;
	Size		per_series;

	aiml_reader_init(&r, model);
	read_shape(&r, model->version, m);
	read_options(&r, model->version, m);
	lstm_layout(&m->shape, &layout);
	m->nparams = layout.total;
	m->member = palloc0(sizeof(LstmMember) * m->members);
	if (model->version < 2)
	{
		m->member[0].best_epoch = read_bounded(&r, 0, LSTM_MAX_EPOCHS, "best epoch");
		m->validation_windows = read_bounded(&r, 0, INT32_MAX, "validation window count");
		read_member(&r, m, &m->member[0], &layout);
	}
	else
	{
		m->validation_windows = read_bounded(&r, 0, INT32_MAX, "validation window count");
		for (int j = 0; j < m->members; j++)
		{
			m->member[j].best_epoch = read_bounded(&r, 0, LSTM_MAX_EPOCHS, "best epoch");
			read_member(&r, m, &m->member[j], &layout);
		}
	}
	m->residual_sd = read_finite(&r, m->shape.horizon, true, "residual deviations");

	m->nseries = read_bounded(&r, 1, LSTM_MAX_SERIES, "series count");
	per_series = sizeof(uint32) + 2 * sizeof(double) + sizeof(uint64) + sizeof(uint32) +
		(Size) m->window * (sizeof(double) + sizeof(uint64));
	reader_need(&r, m->nseries, per_series, "series");
	m->series = palloc0(sizeof(LstmSeries) * m->nseries);
	for (int i = 0; i < m->nseries; i++)
		read_series(&r, m, &m->series[i]);
	aiml_reader_finish(&r);
	return m;
}

/* A model with what forecasting needs beside it: layout and a 1-sample workspace. */
typedef struct LstmLoaded
{
	LstmModel  *model;
	LstmLayout	layout;
	LstmWork	work;
	double	   *ysum;			/* horizon: the members' summed outputs */
	double	   *base;			/* horizon: the seasonal naive path, scaled */
} LstmLoaded;

static void *
lstm_load(const AimlModel *model, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	LstmLoaded *ld = palloc0(sizeof(LstmLoaded));

	ld->model = lstm_model_read(model);
	lstm_layout(&ld->model->shape, &ld->layout);
	lstm_work_init(&ld->work, &ld->model->shape, 1);
	ld->ysum = palloc(sizeof(double) * ld->model->shape.horizon);
	ld->base = palloc(sizeof(double) * ld->model->shape.horizon);
	MemoryContextSwitchTo(old);
	return ld;
}

static void
json_open(StringInfo json, const char *key)
{
	aiml_json_key(json, key);
	appendStringInfoChar(json, '{');
}

void
lstm_describe(const AimlModel *model, StringInfo json)
{
	LstmModel  *m = lstm_model_read(model);

	json_open(json, "architecture");
	aiml_json_add_int(json, "layers", m->shape.layers);
	aiml_json_add_int(json, "hidden", m->shape.hidden);
	aiml_json_add_int(json, "inputs", m->shape.inputs);
	aiml_json_add_int(json, "window", m->window);
	aiml_json_add_int(json, "steps", m->shape.window);
	aiml_json_add_int(json, "horizon", m->shape.horizon);
	aiml_json_add_string(json, "output", "direct multi-step dense head");
	appendStringInfoChar(json, '}');
	aiml_json_add_int(json, "parameters", m->nparams);
	json_open(json, "options");
	aiml_json_add_int(json, "layers", m->shape.layers);
	aiml_json_add_int(json, "hidden", m->shape.hidden);
	aiml_json_add_int(json, "window", m->window);
	aiml_json_add_int(json, "horizon", m->shape.horizon);
	aiml_json_add_int(json, "epochs", m->epochs);
	aiml_json_add_int(json, "batch", m->batch);
	aiml_json_add_float(json, "learning_rate", m->learning_rate);
	aiml_json_add_int(json, "patience", m->patience);
	aiml_json_add_int(json, "seed", m->seed);
	aiml_json_add_float(json, "clip", m->clip);
	aiml_json_add_float(json, "validation", m->validation);
	aiml_json_add_bool(json, "calendar", m->calendar);
	aiml_json_add_string(json, "normalize", normalize_names[m->scaling.normalize]);
	aiml_json_add_int(json, "season", m->scaling.season);
	aiml_json_add_bool(json, "deseasonalize", m->scaling.deseasonalize);
	aiml_json_add_int(json, "stride", m->stride);
	aiml_json_add_string(json, "loss", m->loss == LSTM_LOSS_MAE ? "mae" : "mse");
	aiml_json_add_int(json, "patch", m->patch);
	aiml_json_add_int(json, "ensemble", m->members);
	aiml_json_add_int(json, "threads", m->threads);
	appendStringInfoChar(json, '}');
	aiml_json_add_int(json, "series", m->nseries);
	aiml_json_add_int(json, "epochs_run", m->member[0].epochs_run);
	aiml_json_add_int(json, "best_epoch", m->member[0].best_epoch);
	aiml_json_add_int(json, "validation_windows", m->validation_windows);
	aiml_json_add_floats(json, "train_loss", m->member[0].train_loss, m->member[0].epochs_run);
	aiml_json_add_floats(json, "validation_loss", m->member[0].validation_loss,
						 m->member[0].epochs_run);
	if (m->members > 1)
	{
		/* the top-level losses are the first member's; here are all */
		aiml_json_key(json, "members");
		appendStringInfoChar(json, '[');
		for (int j = 0; j < m->members; j++)
		{
			if (j > 0)
				appendStringInfoChar(json, ',');
			appendStringInfoChar(json, '{');
			aiml_json_add_int(json, "seed", m->seed + j);
			aiml_json_add_int(json, "epochs_run", m->member[j].epochs_run);
			aiml_json_add_int(json, "best_epoch", m->member[j].best_epoch);
			aiml_json_add_floats(json, "train_loss", m->member[j].train_loss,
								 m->member[j].epochs_run);
			aiml_json_add_floats(json, "validation_loss", m->member[j].validation_loss,
								 m->member[j].epochs_run);
			appendStringInfoChar(json, '}');
		}
		appendStringInfoChar(json, ']');
	}
	aiml_json_add_floats(json, "residual_sd", m->residual_sd, m->shape.horizon);
}

/* The series a forecast asks for: by name, or the only one when name is NULL. */
static const LstmSeries *
find_series(const LstmModel *m, const char *name)
{
	int			lo = 0,
				hi = m->nseries - 1;

	if (name == NULL)
	{
		if (m->nseries == 1)
			return &m->series[0];
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lstm model holds %d series, so a forecast must name one", m->nseries),
				 errhint("Pass the series as the third argument: aiml.forecast(model, horizon, series).")));
	}
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(m->series[mid].name, name);

		if (c == 0)
			return &m->series[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("lstm model has no series \"%s\"", name),
			 errhint("A global model forecasts the series it was trained on; aiml.describe(model) shows how many.")));
	pg_unreachable();
}

static void
check_horizon(const LstmModel *m, int horizon)
{
	if (horizon < 1 || horizon > m->shape.horizon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon %d is outside 1 to %d, the steps this lstm model predicts",
						horizon, m->shape.horizon),
				 errhint("The network predicts its trained horizon at once; retrain with a larger \"horizon\" option.")));
}

/*
 * The forecast of one series: each member network reads the series' last
 * window and predicts every step at once, and their outputs are averaged;
 * intervals are yhat +- z times the per-step residual deviation measured on
 * the validation tail, unscaled.  ts NULL skips the timestamps (a history
 * without them).
 */
static void
forecast_loaded(LstmLoaded *ld, int horizon, const LstmSeries *ser,
				double *yhat, double *lo80, double *hi80,
				double *lo95, double *hi95, TimestampTz *ts)
{
	const LstmModel *m = ld->model;
	const LstmShape *s = &m->shape;
	double		level,
				unit;

	check_horizon(m, horizon);
	lstm_window_scaling(&m->scaling, ser->last_values, m->window, ser->mean, ser->scale,
						&level, &unit);
	lstm_seasonal_base(&m->scaling, ser->last_values, m->window, level, unit, s->horizon,
					   ld->base);
	for (int t = 0; t < s->window; t++)
	{
		double	   *x = ld->work.x + (Size) t * s->inputs;
		const double *v = ser->last_values + (Size) t * m->patch;

		for (int j = 0; j < m->patch; j++)
			x[j] = (v[j] - level) / unit;
		if (m->calendar)
			lstm_calendar_features(ser->last_ts[(t + 1) * m->patch - 1], x + m->patch);
	}
	memset(ld->ysum, 0, sizeof(double) * s->horizon);
	for (int j = 0; j < m->members; j++)
	{
		lstm_forward(s, &ld->layout, m->member[j].theta, &ld->work, 1);
		for (int k = 0; k < s->horizon; k++)
			ld->ysum[k] += ld->work.y[k];
	}
	for (int k = 0; k < horizon; k++)
	{
		double		y = (ld->ysum[k] / m->members + ld->base[k]) * unit + level;
		double		sd = m->residual_sd[k] * unit;
		int64		step;

		yhat[k] = y;
		lo80[k] = y - Z80 * sd;
		hi80[k] = y + Z80 * sd;
		lo95[k] = y - Z95 * sd;
		hi95[k] = y + Z95 * sd;
		if (ts == NULL)
			continue;
		if (pg_mul_s64_overflow(ser->interval, k + 1, &step) ||
			pg_add_s64_overflow(ser->last_ts[m->window - 1], step, &ts[k]) ||
			!IS_VALID_TIMESTAMP(ts[k]))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("forecast timestamps of series \"%s\" are out of range", ser->name)));
	}
}

/*
 * For the forecasting module's dispatcher: forecasts series (NULL for the
 * only series) of a verified lstm model into the caller's arrays of horizon
 * elements.
 */
void
lstm_forecast(const AimlModel *model, int horizon, const char *series,
			  double *yhat, double *lo80, double *hi80,
			  double *lo95, double *hi95, TimestampTz *ts)
{
	LstmLoaded *ld = lstm_load(model, CurrentMemoryContext);

	forecast_loaded(ld, horizon, find_series(ld->model, series),
					yhat, lo80, hi80, lo95, hi95, ts);
}

PG_FUNCTION_INFO_V1(aiml_lstm_forecast_series);
PG_FUNCTION_INFO_V1(aiml_lstm_forecast_history);
PG_FUNCTION_INFO_V1(aiml_lstm_gradient_check);

/*
 * The rows (step, ts, yhat, lo_80, hi_80, lo_95, hi_95) of a forecast whose
 * five columns of values lie one after the other in out; ts NULL gives NULL
 * timestamps.
 */
static void
put_forecast_rows(ReturnSetInfo *rsinfo, int horizon, const double *out,
				  const TimestampTz *ts)
{
	for (int k = 0; k < horizon; k++)
	{
		Datum		values[7];
		bool		nulls[7] = {0};

		values[0] = Int32GetDatum(k + 1);
		if (ts != NULL)
			values[1] = TimestampTzGetDatum(ts[k]);
		else
			nulls[1] = true;
		for (int c = 0; c < 5; c++)
			values[2 + c] = Float8GetDatum(out[c * horizon + k]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * aiml.forecast(model, horizon, series): one row per step.  The model is
 * deserialized once per query (fn_extra), so a lateral join over many
 * series of one global model reads it once.
 */
Datum
aiml_lstm_forecast_series(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LstmLoaded *ld;
	int			horizon;
	char	   *series;
	double	   *out;
	TimestampTz *ts;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	ld = aiml_model_cached(fcinfo, 0, AIML_KIND_LSTM, "aiml.forecast", lstm_load);
	horizon = PG_GETARG_INT32(1);
	series = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	check_horizon(ld->model, horizon);
	out = palloc(sizeof(double) * 5 * horizon);
	ts = palloc(sizeof(TimestampTz) * horizon);
	forecast_loaded(ld, horizon, find_series(ld->model, series), out, out + horizon,
					out + 2 * horizon, out + 3 * horizon, out + 4 * horizon, ts);
	put_forecast_rows(rsinfo, horizon, out, ts);
	return (Datum) 0;
}

/*
 * The stand-in for a training series that a forecast from a caller's
 * history reads: its last window, scaled by the mean and deviation of the
 * whole history as training scales a series by the points it trains on (a
 * constant history is only centred).  No timestamps: the caller's array has
 * none, so a model with calendar features cannot forecast from it.
 */
static void
history_series(const LstmModel *m, const double *v, int n, LstmSeries *ser)
{
	double		sum = 0,
				ss = 0;

	if (m->calendar)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lstm model reads calendar features, so it cannot forecast from an array without timestamps"),
				 errhint("Forecast a training series by name, or train the model without the \"calendar\" option.")));
	if (n < m->window)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("history has %d values, fewer than the window of %d this lstm model reads",
						n, m->window),
				 errhint("Pass at least the last %d values of the series, oldest first.", m->window)));
	for (int i = 0; i < n; i++)
		sum += v[i];
	memset(ser, 0, sizeof(LstmSeries));
	ser->name = "history";
	ser->mean = sum / n;
	for (int i = 0; i < n; i++)
		ss += (v[i] - ser->mean) * (v[i] - ser->mean);
	ser->scale = sqrt(ss / n);
	if (!(ser->scale > 1e-12 * Max(1.0, fabs(ser->mean))))
		ser->scale = 1.0;
	ser->count = n;
	ser->last_values = (double *) v + (n - m->window);
}

/*
 * aiml.forecast(model, horizon, history float8[]): the next horizon values
 * after a series the caller passes (oldest first), for a series the model
 * never saw or fresher data than it was trained on; ts is NULL.
 */
Datum
aiml_lstm_forecast_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LstmLoaded *ld;
	int			horizon = PG_GETARG_INT32(1);
	const double *v;
	int			n;
	LstmSeries	ser;
	double	   *out;

	InitMaterializedSRF(fcinfo, 0);
	ld = aiml_model_cached(fcinfo, 0, AIML_KIND_LSTM, "aiml.forecast", lstm_load);
	check_horizon(ld->model, horizon);
	v = aiml_array_doubles(PG_GETARG_ARRAYTYPE_P(2), &n, 0, "history");
	history_series(ld->model, v, n, &ser);
	out = palloc(sizeof(double) * 5 * horizon);
	forecast_loaded(ld, horizon, &ser, out, out + horizon, out + 2 * horizon,
					out + 3 * horizon, out + 4 * horizon, NULL);
	put_forecast_rows(rsinfo, horizon, out, NULL);
	return (Datum) 0;
}

/* aiml.lstm_gradient_check(seed): see lstm_gradient_check. */
Datum
aiml_lstm_gradient_check(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(lstm_gradient_check((uint64) PG_GETARG_INT32(0)));
}
