-- The LSTM forecaster: backward pass against finite differences, learning a
-- sine wave, reproducibility, round trips, global models, errors, forgery.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS aiml;
RESET client_min_messages;

-- the backward pass agrees with central finite differences
SELECT seed, aiml.lstm_gradient_check(seed) < 1e-6 AS gradient_ok
FROM generate_series(1, 3) seed;

-- a sine wave with a 24-hour period: 360 hours to learn from, 6 to predict
CREATE TABLE sine AS
SELECT 'wave'::text AS series, '2024-01-01 00:00+00'::timestamptz + i * interval '1 hour' AS ts,
       50 + 10 * sin(2 * pi() * i / 24) AS value
FROM generate_series(0, 365) i;
\set opts '{"window": 24, "horizon": 6, "hidden": 12, "epochs": 40, "batch": 16, "learning_rate": 0.01, "seed": 7}'
\set train_query 'SELECT series, ts, value FROM sine WHERE ts < ''2024-01-16 00:00+00'''
SET client_min_messages = warning;	-- progress NOTICEs depend on the machine's speed
CREATE TABLE m AS SELECT aiml.lstm_train(:'train_query', :'opts') AS m;
CREATE TABLE m_again AS SELECT aiml.lstm_train(:'train_query', :'opts') AS m;
CREATE TABLE m_other AS SELECT aiml.lstm_train(:'train_query',
    jsonb_set(:'opts'::jsonb, '{seed}', '8')) AS m;
RESET client_min_messages;

SELECT aiml.model_kind(m) FROM m;
SELECT d->'architecture' AS architecture, d->'parameters' AS parameters, d->'series' AS series,
       d->'options'->'seed' AS seed, d->'validation_windows' AS validation_windows,
       jsonb_array_length(d->'train_loss') = (d->>'epochs_run')::int AS one_loss_per_epoch,
       (d->>'best_epoch')::int BETWEEN 1 AND (d->>'epochs_run')::int AS best_epoch_ran,
       (d->'validation_loss'->>((d->>'best_epoch')::int - 1))::float8 < 0.01 AS small_validation_loss,
       jsonb_array_length(d->'residual_sd') AS residual_steps
FROM (SELECT aiml.describe(m) AS d FROM m) s;

-- the forecast continues the wave hourly from the last training point
SELECT f.step, f.ts, abs(f.yhat - s.value) < 1.5 AS close,
       f.lo_95 < f.lo_80 AND f.lo_80 < f.yhat AND f.yhat < f.hi_80 AND f.hi_80 < f.hi_95 AS nested
FROM m, aiml.forecast(m, 6, NULL) f JOIN sine s USING (ts)
ORDER BY f.step;
SELECT sqrt(avg((f.yhat - s.value) ^ 2)) < 1.0 AS rmse_below_1
FROM m, aiml.forecast(m, 6, 'wave') f JOIN sine s USING (ts);
SELECT count(*) AS steps FROM m, aiml.forecast(m, 3, NULL);

-- the same seed gives the same bytes; another seed another model
SELECT a.m::text = b.m::text AS same_seed_same_bytes FROM m a, m_again b;
SELECT a.m::text <> b.m::text AS other_seed_other_bytes FROM m a, m_other b;

-- text and binary round trips predict identically
SELECT bool_and(a.yhat = b.yhat AND a.hi_95 = b.hi_95 AND a.ts = b.ts) AS text_round_trip
FROM m, aiml.forecast(m, 6, NULL) a
JOIN aiml.forecast(m::text::aiml.model, 6, NULL) b USING (step);
SELECT current_setting('data_directory') || '/aiml_forecast_lstm.copy' AS copy_file \gset
COPY m TO :'copy_file' WITH (FORMAT binary);
CREATE TABLE m_copy (m aiml.model);
COPY m_copy FROM :'copy_file' WITH (FORMAT binary);
SELECT bool_and(a.yhat = b.yhat) AS binary_round_trip
FROM m, m_copy c, aiml.forecast(m.m, 6, NULL) a JOIN aiml.forecast(c.m, 6, NULL) b USING (step);

-- a global model over two series with calendar features, forecast per series
CREATE TABLE two AS
SELECT s.name AS series, '2024-03-01 00:00+00'::timestamptz + i * interval '30 minutes' AS ts,
       s.level + s.amp * sin(2 * pi() * i / 48) AS value
FROM generate_series(0, 199) i,
     (VALUES ('north', 100.0, 20.0), ('south', 5.0, 1.0)) s(name, level, amp);
SET client_min_messages = warning;
CREATE TABLE g AS SELECT aiml.lstm_train('SELECT series, ts, value FROM two',
    '{"window": 48, "horizon": 4, "hidden": 8, "layers": 2, "epochs": 8, "calendar": true, "seed": 3, "validation": 0.2,
      "normalize": "window"}') AS m;
RESET client_min_messages;
SELECT d->'series' AS series, d->'architecture'->'inputs' AS inputs, d->'architecture'->'layers' AS layers,
       d->'parameters' AS parameters, d->'options'->'normalize' AS normalize
FROM (SELECT aiml.describe(m) AS d FROM g) s;
SELECT n.series, min(f.ts) AS first_ts, count(*) AS steps,
       bool_and(abs(f.yhat - n.level) < 3 * n.amp) AS plausible
FROM g, (VALUES ('north', 100.0, 20.0), ('south', 5.0, 1.0)) n(series, level, amp),
     aiml.forecast(g.m, 4, n.series) f
GROUP BY n.series ORDER BY n.series;
SELECT * FROM g, aiml.forecast(g.m, 4, NULL);
SELECT * FROM g, aiml.forecast(g.m, 4, 'east');
SELECT * FROM g, aiml.forecast(g.m, 5, 'north');
SELECT * FROM g, aiml.forecast(g.m, 0, 'north');
SELECT count(*) FROM g, aiml.forecast(NULL, 4, 'north');
-- calendar features need timestamps, which a history array does not have
SELECT * FROM g, aiml.forecast(g.m, 4, ARRAY(SELECT value FROM two WHERE series = 'north' ORDER BY ts));

-- a global model over two series 500 times apart in scale, whose level triples (and
-- daily swing with it) 56 hours before the end of training: normalize "season" divides
-- each window by the level of its last day, deseasonalize learns a correction to the
-- last day repeated, patch 24 reads a day per step, an ensemble of two averages two seeds
CREATE TABLE shift AS
SELECT s.name AS series, '2024-01-01 00:00+00'::timestamptz + i * interval '1 hour' AS ts,
       s.base * (CASE WHEN i < 400 THEN 1 ELSE 3 END)
              * (1 + 0.3 * sin(2 * pi() * i / 24) + 0.05 * sin(2 * pi() * i / 7)) AS value
FROM generate_series(0, 479) i, (VALUES ('big', 1000.0), ('small', 2.0)) s(name, base);
\set season_opts '{"window": 48, "patch": 24, "horizon": 24, "season": 24, "normalize": "season", "deseasonalize": true, "loss": "mae", "hidden": 8, "epochs": 15, "batch": 32, "learning_rate": 0.01, "seed": 5, "ensemble": 2, "stride": 2}'
SET client_min_messages = warning;
CREATE TABLE ms AS SELECT aiml.lstm_train('SELECT series, ts, value FROM shift WHERE ts < ''2024-01-20 00:00+00''', :'season_opts') AS m;
CREATE TABLE ms_again AS SELECT aiml.lstm_train('SELECT series, ts, value FROM shift WHERE ts < ''2024-01-20 00:00+00''', :'season_opts') AS m;
CREATE TABLE mseries AS SELECT aiml.lstm_train('SELECT series, ts, value FROM shift WHERE ts < ''2024-01-20 00:00+00''',
    '{"window": 48, "horizon": 24, "hidden": 8, "epochs": 15, "batch": 32, "learning_rate": 0.01, "seed": 5, "stride": 2}') AS m;
RESET client_min_messages;
SELECT d->'architecture' AS architecture, d->'options'->'normalize' AS normalize, d->'options'->'season' AS season,
       d->'options'->'deseasonalize' AS deseasonalize, d->'options'->'loss' AS loss, d->'options'->'stride' AS stride,
       d->'options'->'ensemble' AS ensemble, jsonb_array_length(d->'members') AS members,
       d->'members'->1->'seed' AS second_seed, d->'validation_windows' AS validation_windows
FROM (SELECT aiml.describe(m) AS d FROM ms) s;
SELECT a.m::text = b.m::text AS same_seed_same_bytes FROM ms a, ms_again b;
-- the next day of each series after the shift: within 2% with season normalization,
-- clearly worse when standardized by the series' mean and deviation (which straddle both levels)
SELECT x.series, avg(abs(fs.yhat - x.value) / x.value) < 0.02 AS season_within_2pct,
       avg(abs(fs.yhat - x.value) / x.value) < avg(abs(fm.yhat - x.value) / x.value) AS season_beats_series
FROM ms, mseries, shift x,
     LATERAL aiml.forecast(ms.m, 24, x.series) fs, LATERAL aiml.forecast(mseries.m, 24, x.series) fm
WHERE fs.ts = x.ts AND fm.ts = x.ts
GROUP BY x.series ORDER BY x.series;
-- the combination of docs/lstm.md: the LSTM averaged with automatic ETS per series and step;
-- both continue the same hourly grid, and after the level shift, which ETS follows only slowly,
-- the mean is closer to the truth than ETS alone
SELECT e.series, count(*) AS steps, bool_and(l.ts = f.ts) AS same_timestamps,
       avg(abs((l.yhat + f.yhat) / 2 - x.value)) < avg(abs(f.yhat - x.value)) AS mean_beats_ets
FROM ms, (SELECT series, aiml.ets(ts, value, '{"season": 24}') AS m FROM shift
          WHERE ts < '2024-01-20 00:00+00' GROUP BY series) e,
     LATERAL aiml.forecast(ms.m, 24, e.series) l
     JOIN LATERAL aiml.forecast(e.m, 24) f USING (step), shift x
WHERE x.series = e.series AND x.ts = l.ts
GROUP BY e.series ORDER BY e.series;
-- a forecast from a history the caller passes: from a training series' own values it is
-- exactly the forecast by name (the same last window, the same season scaling), without ts
CREATE TABLE hist AS
SELECT series, array_agg(value ORDER BY ts) AS y FROM shift
WHERE ts < '2024-01-20 00:00+00' GROUP BY series;
SELECT h.series, count(*) AS steps, bool_and(f.ts IS NULL) AS no_ts,
       bool_and(f.yhat = n.yhat AND f.lo_80 = n.lo_80 AND f.hi_80 = n.hi_80
                AND f.lo_95 = n.lo_95 AND f.hi_95 = n.hi_95) AS same_as_by_name
FROM ms, hist h, LATERAL aiml.forecast(ms.m, 24, h.y) f
     JOIN LATERAL aiml.forecast(ms.m, 24, h.series) n USING (step)
GROUP BY h.series ORDER BY h.series;
-- a series the model never saw, 7 times "big": season scaling makes the forecast 7 times big's
SELECT count(*) AS steps, bool_and(abs(f.yhat - 7 * n.yhat) < 1e-9 * n.yhat
                                   AND abs(f.hi_95 - 7 * n.hi_95) < 1e-9 * n.hi_95) AS seven_times
FROM ms, hist h, LATERAL aiml.forecast(ms.m, 24, ARRAY(SELECT 7 * v FROM unnest(h.y) v)) f
     JOIN LATERAL aiml.forecast(ms.m, 24, h.series) n USING (step)
WHERE h.series = 'big';
-- fresher data without retraining: 12 hours after the end of training, then the next 12
SELECT x.series, count(*) AS steps, avg(abs(f.yhat - x.value) / x.value) < 0.02 AS within_2pct
FROM ms, (SELECT series, array_agg(value ORDER BY ts) AS y FROM shift
          WHERE ts < '2024-01-20 12:00+00' GROUP BY series) h,
     LATERAL aiml.forecast(ms.m, 12, h.y) f, shift x
WHERE x.series = h.series AND x.ts = '2024-01-20 12:00+00'::timestamptz + (f.step - 1) * interval '1 hour'
GROUP BY x.series ORDER BY x.series;
-- overloads: an untyped literal or NULL is a series name, an array a history
SELECT * FROM ms, aiml.forecast(ms.m, 24, '{1,2,3}');
SELECT * FROM ms, aiml.forecast(ms.m, 24, NULL);
SELECT count(*) AS no_rows_for_null_history FROM ms, aiml.forecast(ms.m, 24, NULL::float8[]);
-- bad histories
SELECT * FROM ms, aiml.forecast(ms.m, 24, ARRAY[1, 2, 3]::float8[]);
SELECT * FROM ms, aiml.forecast(ms.m, 24, '{}'::float8[]);
SELECT * FROM ms, hist, aiml.forecast(ms.m, 24, hist.y || NULL::float8) WHERE series = 'big';
SELECT * FROM ms, hist, aiml.forecast(ms.m, 24, hist.y || 'NaN'::float8) WHERE series = 'big';
SELECT * FROM ms, aiml.forecast(ms.m, 24, ARRAY[[1, 2], [3, 4]]::float8[]);
SELECT * FROM ms, hist, aiml.forecast(ms.m, 25, hist.y) WHERE series = 'big';
SELECT * FROM ms, hist, aiml.forecast(ms.m, 0, hist.y) WHERE series = 'big';
SELECT * FROM aiml.forecast((SELECT aiml.scaler(ARRAY[i, 2 * i]::float8[]) FROM generate_series(1, 5) i),
                            3, ARRAY[1, 2, 3]::float8[]);
-- the holdout-weighted combination of docs/lstm.md: the last 24 training hours are the holdout
-- (validation targets of the model, never training targets); per series the LSTM gets the
-- weight mae_ets / (mae_lstm + mae_ets) of their holdout errors
CREATE TABLE weights AS
WITH numbered AS (
    SELECT series, ts, value, row_number() OVER (PARTITION BY series ORDER BY ts DESC) AS back
    FROM shift WHERE ts < '2024-01-20 00:00+00'),
short AS (
    SELECT series, array_agg(value ORDER BY ts) AS y, aiml.ets(ts, value, '{"season": 24}') AS ets
    FROM numbered WHERE back > 24 GROUP BY series),
errors AS (
    SELECT s.series, avg(abs(a.value - l.yhat)) AS mae_lstm, avg(abs(a.value - e.yhat)) AS mae_ets
    FROM ms, short s
         CROSS JOIN LATERAL aiml.forecast(ms.m, 24, s.y) l
         JOIN LATERAL aiml.forecast(s.ets, 24) e USING (step)
         JOIN numbered a ON a.series = s.series AND a.back = 25 - l.step
    GROUP BY s.series)
SELECT series, coalesce(mae_ets / nullif(mae_lstm + mae_ets, 0), 0.5) AS w_lstm FROM errors;
SELECT series, w_lstm > 0.5 AS lstm_weighs_more FROM weights ORDER BY series;
SELECT w.series, count(*) AS steps,
       avg(abs(w.w_lstm * l.yhat + (1 - w.w_lstm) * f.yhat - x.value))
         < avg(abs((l.yhat + f.yhat) / 2 - x.value)) AS weighted_beats_mean
FROM ms, weights w,
     (SELECT series, aiml.ets(ts, value, '{"season": 24}') AS m FROM shift
      WHERE ts < '2024-01-20 00:00+00' GROUP BY series) e,
     LATERAL aiml.forecast(ms.m, 24, e.series) l
     JOIN LATERAL aiml.forecast(e.m, 24) f USING (step), shift x
WHERE w.series = e.series AND x.series = e.series AND x.ts = l.ts
GROUP BY w.series ORDER BY w.series;
DROP TABLE shift, ms, ms_again, mseries, hist, weights;

-- bad input
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"window": 300, "horizon": 100}');
SELECT aiml.lstm_train('SELECT series, ts, NULL::float8 FROM sine', '{"window": 4, "horizon": 1}');
SELECT aiml.lstm_train('SELECT series, ts, CASE WHEN ts = ''2024-01-02 00:00+00'' THEN ''NaN'' ELSE value END FROM sine', '{"window": 4, "horizon": 1}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine UNION ALL SELECT series, ts, value FROM sine WHERE ts = ''2024-01-03 00:00+00''', '{"window": 4, "horizon": 1}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"hidden": 0}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"hidden": 257}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"layers": 0}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"layers": 4}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"learning_rate": 0}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"learning_rate": -0.1}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"epochs": "many"}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"dropout": 0.5}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"normalize": "log"}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"normalize": "season"}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"deseasonalize": true}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"window": 12, "season": 24, "normalize": "season"}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"season": -1}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"window": 48, "patch": 10}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"patch": 0}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"stride": 0}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"ensemble": 0}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"ensemble": 21}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine', '{"loss": "huber"}');
SELECT aiml.lstm_train('SELECT series, ts, value FROM sine WHERE false');
SELECT aiml.lstm_train('SELECT series, ts::timestamp, value FROM sine');
SELECT aiml.lstm_train('SELECT series, ts, value::numeric FROM sine');
SELECT aiml.lstm_train('SELECT ts, value FROM sine');
SELECT aiml.lstm_train('DELETE FROM sine');
SELECT aiml.lstm_train('SELECT nonsense FROM nowhere');
SELECT count(*) AS sine_rows_kept FROM sine;
-- a model of another kind
CREATE TABLE pts AS SELECT ARRAY[i, 2 * i]::float8[] AS f FROM generate_series(1, 5) i;
SELECT * FROM aiml.forecast((SELECT aiml.scaler(f) FROM pts), 3, NULL);

-- forged values with a correct checksum: the reader rejects them
\set ECHO none
\i test/sql/forge.sql
\set ECHO all
SELECT forge.model('lstm', 6, forge.payload(m), 2)::text = m::text AS forge_reproduces_checksum FROM m;
-- payload header: layers, hidden, inputs, window, horizon, calendar
CREATE FUNCTION forged(head bytea, m aiml.model) RETURNS aiml.model LANGUAGE sql AS $$
    SELECT forge.model('lstm', 6, head || substring(forge.payload(m) FROM length(head) + 1), 2)
$$;
SELECT aiml.describe(forged(forge.u32(4), m)) FROM m;
SELECT aiml.describe(forged(forge.u32(1) || forge.u32(0), m)) FROM m;
SELECT aiml.describe(forged(forge.u32(1) || forge.u32(257), m)) FROM m;
SELECT aiml.describe(forged(forge.u32(1) || forge.u32(13), m)) FROM m;
SELECT aiml.describe(forged(forge.u32(1) || forge.u32(12) || forge.u32(5), m)) FROM m;
SELECT aiml.describe(forged(forge.u32(1) || forge.u32(12) || forge.u32(1) || forge.u32(5000), m)) FROM m;
-- truncated, with bytes left over, with a parameter made NaN
SELECT aiml.describe(forge.model('lstm', 6, substring(forge.payload(m) FROM 1 FOR 200), 2)) FROM m;
SELECT aiml.describe(forge.model('lstm', 6, forge.payload(m) || '\x00'::bytea, 2)) FROM m;
-- (the 41st parameter: 756 bytes of header and losses come first)
SELECT f.* FROM m, aiml.forecast(forge.model('lstm', 6,
    overlay(forge.payload(m) PLACING forge.f64('NaN') FROM 756 + 8 * 40 + 1), 2), 6, NULL) f;
-- 21 ensemble members (the member count is the 25th u32 field, at byte 96)
SELECT aiml.describe(forge.model('lstm', 6, overlay(forge.payload(m) PLACING forge.u32(21) FROM 97), 2)) FROM m;
-- a patch of 5 that does not divide the window of 24 (byte 92)
SELECT aiml.describe(forge.model('lstm', 6, overlay(forge.payload(m) PLACING forge.u32(5) FROM 93), 2)) FROM m;
-- deseasonalize (byte 80) without a season (byte 76)
SELECT aiml.describe(forge.model('lstm', 6, overlay(forge.payload(m) PLACING forge.u32(1) FROM 81), 2)) FROM m;
-- a series count of five million in a small payload
-- (the count precedes one series: "wave", mean, scale, interval, count, 24 values and times)
SELECT f.* FROM m, aiml.forecast(forge.model('lstm', 6,
    overlay(forge.payload(m) PLACING forge.u32(5000000)
            FROM length(forge.payload(m)) - (4 + 4 + 4 + 8 * 3 + 4 + 24 * 16) + 1), 2), 6, NULL) f;
-- a window of timestamps out of order
SELECT f.* FROM m, aiml.forecast(forge.model('lstm', 6,
    overlay(forge.payload(m) PLACING forge.u64(0) FROM length(forge.payload(m)) - 8 + 1), 2), 6, NULL) f;
SELECT aiml.describe(forge.model('lstm', 6, ''::bytea, 2));

-- a model of format version 1 (made by the previous release: one member, normalize "window")
-- still loads and forecasts as it did then (9.515553, 9.625049, 9.095123; hi_95 12.229703, ...)
CREATE TABLE v1 AS SELECT 'lstm:BgABAIICAAAOQpt8AQAAAAIAAAABAAAACAAAAAMAAAAAAAAAAQAAAAIAAAAgAAAACgAAAAEAAAD8qfHSTWJQPwAAAAAAAPA/mpmZmZmZuT8BAAAAAAAAAAEAAAADAAAAAgAAAL32ifl3yABAsCsFuC3GAECt3yD4Nq72P8VCkIRetPY/KQAAABdoB0ppTdI/PDUxGJCenj+z3AyeuJK6P7MJxfgqi8O/jba9ZVXI0T+o7dlQHBngv+Lkpyq8ceO/QEQg+UFhxb+deIFZW5XgP6i8WZMa+rI/dB1wfaWb4z8okXcAyqjkP76c4iOVjeM/bEuTdd+8zj+a2nWUxjfCPxKZC0FVpOE/2A+PorUE47+mWKQB7/mGv8WUVdeWheS/YwSnNvjF4795fPmv3CKrv+gj0WaJVHC/8RnsKfsuxD+uqEIVvFLLv9EuqzsRbcG/laDFThYC2r83ffuCXH7Ev7wiKnP6AeA/5dzWhbiq1j9l3hnNH9vlP2GikQ+VKea/0eAjkqM44T/FqmU+XNO5v+vzrfcK5MK/2ILyjDQgyz/4UcxFn9jXv6A8o2Vw0Na/h30fSqWb3j9XR2lKFtzEv9rgIs6V1aW/g90bMNjN4r8p4rKJfrHkPzygsLVF0fQ/VmiC2iRq9z8BAAAAAgAAAHYxySmOEfNpJEB0Ii93qSEBQACkk9YAAAAAKAAAADbbN7MdPihAAAAAAAAAKkA52zezHT4oQAIAAAAAACRAlEmQmcSDH0AAAAAAAAAcQI5JkJnEgx9A/v//////I0AApI1oaeoCAABIIT9q6gIAAOy0FWvqAgAAkEjsa+oCAAA03MJs6gIAANhvmW3qAgAAfANwbuoCAAAgl0Zv6gIA'::aiml.model AS m;
SELECT d->'format_version' AS format_version FROM (SELECT aiml.describe(m) AS d FROM v1) s;
SELECT d->'options'->'normalize' AS normalize, d->'options'->'patch' AS patch, d->'options'->'ensemble' AS ensemble,
       d->'options'->'season' AS season, d->'epochs_run' AS epochs_run
FROM (SELECT aiml.describe(m) AS d FROM v1) s;
SELECT step, ts, round(yhat::numeric, 6) AS yhat, round(hi_95::numeric, 6) AS hi_95
FROM v1, aiml.forecast(v1.m, 3, 'v1') ORDER BY step;

DROP TABLE sine, m, m_again, m_other, m_copy, two, g, pts, v1;
DROP FUNCTION forged(bytea, aiml.model);

-- the two-argument aiml.forecast dispatches a one-series LSTM to the same forecast
CREATE TABLE lstm_dispatch AS
SELECT aiml.lstm_train($$SELECT 's', '2026-01-01'::timestamptz + i * interval '1 hour', 10 * sin(i / 4.0)
                        FROM generate_series(1, 200) i$$,
                       '{"window": 12, "horizon": 4, "hidden": 8, "epochs": 3, "seed": 1}') AS m;
SELECT count(*) AS steps, bool_and(a.yhat = b.yhat AND a.ts = b.ts AND a.lo_95 = b.lo_95 AND a.hi_80 = b.hi_80) AS same,
       bool_and(a.intervals IS NULL) AS no_further_levels
FROM lstm_dispatch CROSS JOIN LATERAL aiml.forecast(m, 4) a
     JOIN LATERAL aiml.forecast(m, 4, NULL) b USING (step);
DROP TABLE lstm_dispatch;
