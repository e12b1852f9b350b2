-- core: models as values, named models.
\echo
\echo '=== models are values: a scaler per endpoint, learned with one aggregate ==='
SELECT endpoint,
       aiml.describe(aiml.scaler(ARRAY[latency_ms, cpu, memory]))->'mean' AS mean_latency_cpu_memory,
       aiml.describe(aiml.scaler(ARRAY[latency_ms, cpu, memory]))->'stddev' AS stddev
FROM model_metrics GROUP BY endpoint ORDER BY endpoint;

\echo
\echo '=== save a model under a name, load it back, apply it ==='
SELECT aiml.model_kind(aiml.save_model('metrics_scaler', aiml.scaler(ARRAY[latency_ms, cpu, memory])))
FROM model_metrics;
SELECT name, kind, owner, pg_column_size(model) AS bytes FROM aiml.models;
SELECT endpoint, ts, aiml.scale(aiml.load_model('metrics_scaler'), ARRAY[latency_ms, cpu, memory]) AS standardized
FROM model_metrics ORDER BY latency_ms DESC LIMIT 3;

\echo
\echo '=== a damaged model is refused, never trusted ==='
\set ON_ERROR_STOP off
SELECT aiml.describe(('scaler:' || overlay(split_part(model::text, ':', 2) PLACING 'AAAA' FROM 30))::aiml.model)
FROM aiml.models WHERE name = 'metrics_scaler';
\set ON_ERROR_STOP on
