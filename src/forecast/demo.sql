-- forecast: every endpoint's requests for the next day, a backtest, a scheduled job.
\echo
\echo '=== the shape of each series: a sparkline of the last three days, season and strength ==='
SELECT endpoint, sparkline AS last_72_hours, (st).season_length,
       round((st).trend_strength::numeric, 2) AS trend_strength,
       round((st).seasonal_strength::numeric, 2) AS seasonal_strength
FROM (SELECT endpoint, aiml.sparkline((array_agg(requests::float8 ORDER BY ts))[601:]) AS sparkline,
             aiml.strength(array_agg(requests::float8 ORDER BY ts)) AS st
      FROM model_metrics GROUP BY endpoint) s
ORDER BY endpoint;

\echo
\echo '=== one ETS model per endpoint, chosen by AICc ==='
CREATE TEMP TABLE request_models AS
SELECT endpoint, aiml.ets(ts, requests) AS model FROM model_metrics GROUP BY endpoint;
SELECT endpoint, d->>'model' AS model, round((d->>'alpha')::numeric, 3) AS alpha,
       round((d->>'gamma')::numeric, 3) AS gamma, d->>'season_length' AS season,
       round((d->>'aicc')::numeric, 1) AS aicc, d->>'last_ts' AS last_ts
FROM (SELECT endpoint, aiml.describe(model) d FROM request_models) s ORDER BY endpoint;

\echo
\echo '=== the next 6 hours of every endpoint, with 80% and 95% intervals ==='
SELECT s.endpoint, f.ts, round(f.yhat) AS requests, round(f.lo_80) AS lo_80, round(f.hi_80) AS hi_80,
       round(f.lo_95) AS lo_95, round(f.hi_95) AS hi_95
FROM request_models s, aiml.forecast(s.model, 6) f ORDER BY s.endpoint, f.step;

\echo
\echo '=== backtest: hold out the last day, compare ETS, Theta and seasonal naive by MASE ==='
WITH cut AS (SELECT max(ts) - interval '24 hours' AS t FROM model_metrics),
train AS (
    SELECT endpoint, aiml.ets(ts, requests) AS ets, aiml.theta(ts, requests) AS theta,
           aiml.baseline(ts, requests) AS snaive
    FROM model_metrics, cut WHERE ts <= cut.t GROUP BY endpoint
),
predicted AS (
    SELECT endpoint, 'ets' AS method, f.ts, f.yhat, aiml.mase_scale(ets) AS scale FROM train, aiml.forecast(ets, 24) f
    UNION ALL
    SELECT endpoint, 'theta', f.ts, f.yhat, aiml.mase_scale(theta) FROM train, aiml.forecast(theta, 24) f
    UNION ALL
    SELECT endpoint, 'snaive', f.ts, f.yhat, aiml.mase_scale(snaive) FROM train, aiml.forecast(snaive, 24) f
)
SELECT p.endpoint, p.method, round(aiml.mase(m.requests, p.yhat, p.scale)::numeric, 3) AS mase,
       round(aiml.smape(m.requests, p.yhat)::numeric, 2) AS smape,
       round(aiml.mae(m.requests, p.yhat)::numeric, 1) AS mae
FROM predicted p JOIN model_metrics m USING (endpoint, ts)
GROUP BY p.endpoint, p.method ORDER BY p.endpoint, mase;

\echo
\echo '=== decomposition of one day of fraud-scorer latency ==='
SELECT i AS hour, round(observed::numeric, 1) AS observed, round(trend::numeric, 1) AS trend,
       round(seasonal::numeric, 1) AS seasonal, round(remainder::numeric, 1) AS remainder
FROM aiml.decompose((SELECT array_agg(latency_ms ORDER BY ts) FROM model_metrics WHERE endpoint = 'fraud-scorer'), 24)
WHERE i BETWEEN 337 AND 342;

\echo
\echo '=== a pg_cron job writes tomorrow''s forecasts every night at 01:00 ==='
CREATE TABLE IF NOT EXISTS request_forecasts (
    endpoint text, ts timestamptz, yhat float8, lo_95 float8, hi_95 float8,
    made_at timestamptz DEFAULT now(), PRIMARY KEY (endpoint, ts)
);
SELECT cron.schedule('forecast-daily', '0 1 * * *', $$
    INSERT INTO request_forecasts (endpoint, ts, yhat, lo_95, hi_95)
    SELECT s.endpoint, f.ts, f.yhat, f.lo_95, f.hi_95
    FROM (SELECT endpoint, aiml.ets(ts, requests) AS m FROM model_metrics
          WHERE ts > now() - interval '28 days' GROUP BY endpoint) s,
         aiml.forecast(s.m, 24) f
    ON CONFLICT (endpoint, ts) DO UPDATE
        SET yhat = EXCLUDED.yhat, lo_95 = EXCLUDED.lo_95, hi_95 = EXCLUDED.hi_95, made_at = now()
$$) AS job_id \gset
SELECT jobname, schedule FROM cron.job WHERE jobid = :job_id;
