-- forecast: ETS, Theta and baseline models over (ts, value), aiml.forecast,
-- decomposition, strength, sparklines, accuracy.  See docs/forecast.md.

-- training aggregates: the state is the series; combine concatenates, the
-- final function sorts, regularizes and fits
CREATE FUNCTION aiml.ets_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_ets_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.ets_final(internal) IS 'final function of aiml.ets: fits and selects the ETS model';
CREATE FUNCTION aiml.theta_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_theta_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.theta_final(internal) IS 'final function of aiml.theta: fits the Theta method';
CREATE FUNCTION aiml.baseline_final(internal) RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_baseline_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.baseline_final(internal) IS 'final function of aiml.baseline: fits naive, seasonal naive or drift';

CREATE AGGREGATE aiml.ets(ts timestamptz, value float8) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.ets_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.ets(timestamptz, float8) IS 'fit an ETS model, chosen by AICc among all admissible ones, to a time series';
CREATE AGGREGATE aiml.ets(ts timestamptz, value float8, options jsonb) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.ets_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.ets(timestamptz, float8, jsonb) IS 'fit an ETS model to a time series; options: season, model ("ZZZ", "AAdA"...), damped, levels, seed, simulations, max_gap_fraction';

CREATE AGGREGATE aiml.theta(ts timestamptz, value float8) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.theta_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.theta(timestamptz, float8) IS 'fit the Theta method (SES with drift, seasonally adjusted when the data is seasonal) to a time series';
CREATE AGGREGATE aiml.theta(ts timestamptz, value float8, options jsonb) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.theta_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.theta(timestamptz, float8, jsonb) IS 'fit the Theta method to a time series; options: season, levels, max_gap_fraction';

CREATE AGGREGATE aiml.baseline(ts timestamptz, value float8) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.baseline_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.baseline(timestamptz, float8) IS 'a seasonal naive model of a time series, the baseline to compare forecasts with';
CREATE AGGREGATE aiml.baseline(ts timestamptz, value float8, options jsonb) (
    SFUNC = aiml.series_accum, STYPE = internal,
    COMBINEFUNC = aiml.series_combine,
    SERIALFUNC = aiml.series_serialize, DESERIALFUNC = aiml.series_deserialize,
    FINALFUNC = aiml.baseline_final, PARALLEL = SAFE
);
COMMENT ON AGGREGATE aiml.baseline(timestamptz, float8, jsonb) IS 'a baseline model of a time series; options: method ("naive", "snaive", "drift"), season, levels, max_gap_fraction';

-- forecasting
CREATE FUNCTION aiml.forecast(model aiml.model, horizon int)
RETURNS TABLE(step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
              lo_95 float8, hi_95 float8, intervals jsonb)
    AS 'MODULE_PATHNAME', 'aiml_forecast_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(aiml.model, int) IS 'forecast horizon steps from a forecasting model (ets, theta, baseline, or a one-series lstm), with 80% and 95% intervals and every further level the model was trained with in intervals';

CREATE FUNCTION aiml.forecast(series float8[], horizon int, method text DEFAULT 'auto', season int DEFAULT NULL)
RETURNS TABLE(step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
              lo_95 float8, hi_95 float8, intervals jsonb)
    AS 'MODULE_PATHNAME', 'aiml_forecast_values' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(float8[], int, text, int) IS 'forecast a series given as an array; method auto (backtested combination), ets, theta, naive, snaive or drift; season detected when NULL';

-- insight
CREATE FUNCTION aiml.decompose(series float8[], season int DEFAULT NULL, multiplicative boolean DEFAULT false)
RETURNS TABLE(i int, observed float8, trend float8, seasonal float8, remainder float8)
    AS 'MODULE_PATHNAME', 'aiml_decompose' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.decompose(float8[], int, boolean) IS 'classical decomposition of a series into trend (centred moving average), seasonal and remainder';

CREATE FUNCTION aiml.strength(series float8[], season int DEFAULT NULL,
                              OUT season_length int, OUT trend_strength float8, OUT seasonal_strength float8)
    AS 'MODULE_PATHNAME', 'aiml_strength' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.strength(float8[], int) IS 'season length and the strength (0..1) of trend and season (Wang, Smith & Hyndman)';

CREATE FUNCTION aiml.detect_season(series float8[]) RETURNS int
    AS 'MODULE_PATHNAME', 'aiml_detect_season' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.detect_season(float8[]) IS 'the season length of a series from its autocorrelation; 1 when it has none';

CREATE FUNCTION aiml.sparkline(series float8[]) RETURNS text
    AS 'MODULE_PATHNAME', 'aiml_sparkline' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.sparkline(float8[]) IS 'a series as a line of Unicode blocks, NULLs as spaces';

-- accuracy
CREATE FUNCTION aiml.accuracy_accum(float8[], float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_accuracy_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.accuracy_accum(float8[], float8, float8) IS 'transition function of the accuracy aggregates';
CREATE FUNCTION aiml.mase_accum(float8[], float8, float8, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_mase_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_accum(float8[], float8, float8, float8) IS 'transition function of aiml.mase';
CREATE FUNCTION aiml.accuracy_combine(float8[], float8[]) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'aiml_accuracy_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.accuracy_combine(float8[], float8[]) IS 'combine function of the accuracy aggregates';
CREATE FUNCTION aiml.mae_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mae_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mae_final(float8[]) IS 'final function of aiml.mae';
CREATE FUNCTION aiml.rmse_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_rmse_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.rmse_final(float8[]) IS 'final function of aiml.rmse';
CREATE FUNCTION aiml.mape_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mape_final(float8[]) IS 'final function of aiml.mape';
CREATE FUNCTION aiml.smape_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_smape_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.smape_final(float8[]) IS 'final function of aiml.smape';
CREATE FUNCTION aiml.mase_final(float8[]) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mase_final' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_final(float8[]) IS 'final function of aiml.mase';

CREATE AGGREGATE aiml.mae(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.mae_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.mae(float8, float8) IS 'mean absolute error of forecasts';
CREATE AGGREGATE aiml.rmse(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.rmse_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.rmse(float8, float8) IS 'root mean squared error of forecasts';
CREATE AGGREGATE aiml.mape(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.mape_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.mape(float8, float8) IS 'mean absolute percentage error of forecasts (rows with actual = 0 left out)';
CREATE AGGREGATE aiml.smape(actual float8, predicted float8) (
    SFUNC = aiml.accuracy_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.smape_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.smape(float8, float8) IS 'symmetric mean absolute percentage error of forecasts, 0..200 (M4 definition)';
CREATE AGGREGATE aiml.mase(actual float8, predicted float8, scale float8) (
    SFUNC = aiml.mase_accum, STYPE = float8[], INITCOND = '{0,0,0,0,0,0,0,0}',
    COMBINEFUNC = aiml.accuracy_combine, FINALFUNC = aiml.mase_final, PARALLEL = SAFE);
COMMENT ON AGGREGATE aiml.mase(float8, float8, float8) IS 'mean absolute scaled error: MAE divided by scale, the in-sample seasonal naive MAE (aiml.mase_scale)';

CREATE FUNCTION aiml.mase_scale(series float8[], season int DEFAULT 1) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mase_scale_values' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_scale(float8[], int) IS 'in-sample MAE of the seasonal naive forecast of a training series: the scale of MASE';
CREATE FUNCTION aiml.mase_scale(model aiml.model) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_mase_scale_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.mase_scale(aiml.model) IS 'the MASE scale of the series a forecasting model was fitted to (seasonal naive MAE at its season length)';
