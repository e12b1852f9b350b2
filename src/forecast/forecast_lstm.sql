-- forecast, LSTM part: aiml.lstm_train, the global-model and history forms of
-- aiml.forecast and the gradient-check diagnostic (C in lstm*.c).

CREATE FUNCTION aiml.lstm_train(query text, options jsonb DEFAULT '{}') RETURNS aiml.model
    AS 'MODULE_PATHNAME', 'aiml_lstm_train' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION aiml.lstm_train(text, jsonb) IS
    'train an LSTM forecaster on the rows (series text, ts timestamptz, value float8) of a query; options: layers, hidden, window, horizon, epochs, batch, learning_rate, patience, seed, clip, validation, calendar, normalize, threads';

CREATE FUNCTION aiml.forecast(model aiml.model, horizon int, series text)
RETURNS TABLE (step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
               lo_95 float8, hi_95 float8)
    AS 'MODULE_PATHNAME', 'aiml_lstm_forecast_series' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(aiml.model, int, text) IS
    'the next horizon values of one series of a global (lstm) model, with 80% and 95% intervals; series NULL means the model''s only series';

CREATE FUNCTION aiml.lstm_gradient_check(seed int) RETURNS float8
    AS 'MODULE_PATHNAME', 'aiml_lstm_gradient_check' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.lstm_gradient_check(int) IS
    'diagnostic: largest relative difference between the LSTM backward pass and finite differences on a tiny random network (about 1e-9 when correct)';

CREATE FUNCTION aiml.forecast(model aiml.model, horizon int, history float8[])
RETURNS TABLE (step int, ts timestamptz, yhat float8, lo_80 float8, hi_80 float8,
               lo_95 float8, hi_95 float8)
    AS 'MODULE_PATHNAME', 'aiml_lstm_forecast_history' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 24;
COMMENT ON FUNCTION aiml.forecast(aiml.model, int, float8[]) IS
    'the next horizon values after a history (oldest first) from an lstm model, for a series it never saw or fresher data; ts is NULL';
