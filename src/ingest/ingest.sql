-- ingest: resource metrics of deployed models, pulled into tables by a
-- background worker.  Managing sources is for the extension owner (and the
-- roles it grants EXECUTE to): a source makes the server fetch URLs.

CREATE TABLE aiml.metric_sources (
    name        text PRIMARY KEY CHECK (name <> ''),
    provider    text NOT NULL CHECK (provider IN ('prometheus', 'cloudwatch', 'gcp', 'azure')),
    config      jsonb NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE aiml.metric_sources IS 'where the ingestion worker pulls metrics from; managed with aiml.add_metric_source and friends';

-- Secrets (bearer tokens, passwords): no grant to anyone, so only the
-- extension owner (and superusers) can read them.
CREATE TABLE aiml.metric_source_secrets (
    source      text PRIMARY KEY REFERENCES aiml.metric_sources (name) ON DELETE CASCADE ON UPDATE CASCADE,
    secret      text NOT NULL
);
COMMENT ON TABLE aiml.metric_source_secrets IS 'tokens and passwords of metric sources; readable only by the extension owner';
REVOKE ALL ON aiml.metric_source_secrets FROM PUBLIC;

CREATE TABLE aiml.metric_source_state (
    source                text PRIMARY KEY REFERENCES aiml.metric_sources (name) ON DELETE CASCADE ON UPDATE CASCADE,
    watermark             timestamptz,
    last_attempt          timestamptz,
    last_success          timestamptz,
    last_error            text,
    consecutive_failures  int NOT NULL DEFAULT 0,
    next_attempt          timestamptz,
    samples_total         bigint NOT NULL DEFAULT 0,
    last_samples          bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE aiml.metric_source_state IS 'per source: what was ingested up to when, and how the last attempts went (written by the worker)';

CREATE TABLE aiml.metric_series (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text NOT NULL REFERENCES aiml.metric_sources (name) ON DELETE CASCADE ON UPDATE CASCADE,
    metric      text NOT NULL,
    resource    text NOT NULL,
    labels      jsonb NOT NULL DEFAULT '{}',
    unit        text,
    UNIQUE (source, metric, resource, labels)
);
COMMENT ON TABLE aiml.metric_series IS 'one row per ingested series: source, metric name, resource (model, endpoint, instance) and labels';

CREATE TABLE aiml.metric_samples (
    series_id   bigint NOT NULL REFERENCES aiml.metric_series (id) ON DELETE CASCADE,
    ts          timestamptz NOT NULL,
    value       float8 NOT NULL,
    PRIMARY KEY (series_id, ts)
);
CREATE INDEX metric_samples_ts ON aiml.metric_samples (ts);
COMMENT ON TABLE aiml.metric_samples IS 'ingested samples; (series_id, ts) is unique, so re-reading a window never duplicates';

SELECT pg_catalog.pg_extension_config_dump('aiml.metric_sources', '');
SELECT pg_catalog.pg_extension_config_dump('aiml.metric_source_secrets', '');

-- Hourly prices a user fills in, and which instances serve which model.
CREATE TABLE aiml.instance_prices (
    instance_type  text PRIMARY KEY,
    usd_per_hour   numeric NOT NULL CHECK (usd_per_hour >= 0)
);
COMMENT ON TABLE aiml.instance_prices IS 'hourly price per instance type, filled by the user; used by aiml.model_cost';
CREATE TABLE aiml.model_deployments (
    source          text NOT NULL,
    resource        text NOT NULL,
    instance_type   text NOT NULL REFERENCES aiml.instance_prices (instance_type),
    instance_count  int NOT NULL DEFAULT 1 CHECK (instance_count > 0),
    PRIMARY KEY (source, resource)
);
COMMENT ON TABLE aiml.model_deployments IS 'which instance type (and how many) serves each resource, filled by the user; used by aiml.model_cost';
SELECT pg_catalog.pg_extension_config_dump('aiml.instance_prices', '');
SELECT pg_catalog.pg_extension_config_dump('aiml.model_deployments', '');

CREATE FUNCTION aiml.validate_metric_source(provider text, config jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'aiml_validate_metric_source' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION aiml.validate_metric_source(text, jsonb) IS 'raise an error naming what is wrong with a metric source config';

CREATE FUNCTION aiml.metric_sources_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM aiml.validate_metric_source(NEW.provider, NEW.config);
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION aiml.metric_sources_validate() IS 'trigger: a source row always holds a valid config';
CREATE TRIGGER validate BEFORE INSERT OR UPDATE ON aiml.metric_sources
    FOR EACH ROW EXECUTE FUNCTION aiml.metric_sources_validate();

CREATE FUNCTION aiml.wake_ingest_worker() RETURNS trigger
    AS 'MODULE_PATHNAME', 'aiml_wake_ingest_worker' LANGUAGE C;
COMMENT ON FUNCTION aiml.wake_ingest_worker() IS 'trigger: wake the ingestion worker when the transaction commits';
CREATE TRIGGER wake AFTER INSERT OR UPDATE OR DELETE ON aiml.metric_sources
    FOR EACH STATEMENT EXECUTE FUNCTION aiml.wake_ingest_worker();
CREATE TRIGGER wake AFTER INSERT OR UPDATE OR DELETE ON aiml.metric_source_secrets
    FOR EACH STATEMENT EXECUTE FUNCTION aiml.wake_ingest_worker();

CREATE FUNCTION aiml.ingest_worker_pid() RETURNS int
    AS 'MODULE_PATHNAME', 'aiml_ingest_worker_pid' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION aiml.ingest_worker_pid() IS 'process id of the ingestion worker, NULL when it is not running';

CREATE FUNCTION aiml.add_metric_source(name text, provider text, config jsonb, enabled boolean DEFAULT true)
RETURNS void LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO aiml.metric_sources (name, provider, config, enabled) VALUES (name, provider, config, enabled);
    -- a new source is due at once
    INSERT INTO aiml.metric_source_state (source, next_attempt) VALUES (name, now());
$$;
COMMENT ON FUNCTION aiml.add_metric_source(text, text, jsonb, boolean) IS 'add a metric source (provider prometheus, gcp or azure; cloudwatch planned); the config is validated';

CREATE FUNCTION aiml.alter_metric_source(name text, config jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE aiml.metric_sources s SET config = alter_metric_source.config WHERE s.name = alter_metric_source.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE aiml.metric_source_state st SET next_attempt = now() WHERE st.source = alter_metric_source.name;
END
$$;
COMMENT ON FUNCTION aiml.alter_metric_source(text, jsonb) IS 'replace a metric source''s config; it is polled again at once';

CREATE FUNCTION aiml.set_metric_source_enabled(name text, enabled boolean)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE aiml.metric_sources s SET enabled = set_metric_source_enabled.enabled
    WHERE s.name = set_metric_source_enabled.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM aiml.metric_sources lists them.';
    END IF;
    UPDATE aiml.metric_source_state st SET next_attempt = now(), consecutive_failures = 0
    WHERE st.source = set_metric_source_enabled.name;
END
$$;
COMMENT ON FUNCTION aiml.set_metric_source_enabled(text, boolean) IS 'enable or disable a metric source';

CREATE FUNCTION aiml.enable_metric_source(name text) RETURNS void
    LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
    AS $$ SELECT aiml.set_metric_source_enabled(name, true) $$;
COMMENT ON FUNCTION aiml.enable_metric_source(text) IS 'enable a metric source; it is polled at once';
CREATE FUNCTION aiml.disable_metric_source(name text) RETURNS void
    LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
    AS $$ SELECT aiml.set_metric_source_enabled(name, false) $$;
COMMENT ON FUNCTION aiml.disable_metric_source(text) IS 'stop polling a metric source; its samples stay';

CREATE FUNCTION aiml.drop_metric_source(name text, keep_samples boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF keep_samples THEN
        RAISE EXCEPTION 'keep_samples is not supported: samples belong to their source'
            USING ERRCODE = 'feature_not_supported', HINT = 'Disable the source instead to stop polling and keep its samples.';
    END IF;
    DELETE FROM aiml.metric_sources s WHERE s.name = drop_metric_source.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM aiml.metric_sources lists them.';
    END IF;
END
$$;
COMMENT ON FUNCTION aiml.drop_metric_source(text, boolean) IS 'delete a metric source with its series and samples';

-- SECURITY DEFINER so that its SET clause may raise log_min_error_statement (a
-- superuser setting) for the call: an error inside, such as a mistyped source
-- name, then logs no STATEMENT line, which would quote the secret.
CREATE FUNCTION aiml.set_metric_source_secret(name text, secret text)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET log_min_error_statement = panic AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM aiml.metric_sources s WHERE s.name = set_metric_source_secret.name) THEN
        RAISE EXCEPTION 'metric source "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    IF secret IS NULL THEN
        DELETE FROM aiml.metric_source_secrets s WHERE s.source = name;
    ELSE
        INSERT INTO aiml.metric_source_secrets AS s (source, secret) VALUES (name, secret)
        ON CONFLICT (source) DO UPDATE SET secret = EXCLUDED.secret;
    END IF;
    UPDATE aiml.metric_source_state st SET next_attempt = now() WHERE st.source = name;
END
$$;
COMMENT ON FUNCTION aiml.set_metric_source_secret(text, text) IS 'store (or with NULL remove) the bearer token or password of a metric source; pass it as a bind parameter';

CREATE FUNCTION aiml.ingest_now(source text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'aiml_ingest_now' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION aiml.ingest_now(text) IS 'poll one metric source now, in this transaction; returns the samples inserted';

CREATE FUNCTION aiml.prune_metric_samples(older_than interval) RETURNS bigint
LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM aiml.metric_samples WHERE ts < now() - older_than RETURNING 1)
    SELECT count(*) FROM gone
$$;
COMMENT ON FUNCTION aiml.prune_metric_samples(interval) IS 'retention: delete samples older than the interval (schedule it with pg_cron)';

REVOKE ALL ON FUNCTION aiml.add_metric_source(text, text, jsonb, boolean), aiml.alter_metric_source(text, jsonb),
    aiml.set_metric_source_enabled(text, boolean), aiml.enable_metric_source(text),
    aiml.disable_metric_source(text), aiml.drop_metric_source(text, boolean),
    aiml.set_metric_source_secret(text, text), aiml.ingest_now(text),
    aiml.prune_metric_samples(interval) FROM PUBLIC;

CREATE VIEW aiml.metric_source_status AS
SELECT s.name AS source, s.provider, s.enabled,
       st.last_attempt, st.last_success, st.last_error, coalesce(st.consecutive_failures, 0) AS consecutive_failures,
       st.next_attempt, st.watermark, coalesce(st.samples_total, 0) AS samples_total,
       coalesce(st.last_samples, 0) AS last_samples,
       (SELECT count(*) FROM aiml.metric_series m WHERE m.source = s.name) AS series,
       CASE WHEN NOT s.enabled THEN 'disabled'
            WHEN st.last_attempt IS NULL THEN 'pending'
            WHEN st.consecutive_failures > 0 THEN 'failing'
            ELSE 'ok' END AS status
FROM aiml.metric_sources s LEFT JOIN aiml.metric_source_state st ON st.source = s.name;
COMMENT ON VIEW aiml.metric_source_status IS 'per metric source: status, last error, failures in a row, next attempt, samples ingested';

-- Per model (resource) and hour: the standard metric names every provider maps to.
CREATE VIEW aiml.model_resource_usage AS
SELECT s.source, s.resource AS model, date_trunc('hour', m.ts) AS hour,
       avg(m.value) FILTER (WHERE s.metric = 'cpu_utilization') AS cpu_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'cpu_utilization') AS cpu_p95,
       avg(m.value) FILTER (WHERE s.metric = 'memory_utilization') AS memory_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'memory_utilization') AS memory_p95,
       avg(m.value) FILTER (WHERE s.metric = 'gpu_utilization') AS gpu_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'gpu_utilization') AS gpu_p95,
       avg(m.value) FILTER (WHERE s.metric = 'gpu_memory_utilization') AS gpu_memory_avg,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'gpu_memory_utilization') AS gpu_memory_p95,
       sum(m.value) FILTER (WHERE s.metric = 'invocations') AS requests,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'latency_ms') AS latency_p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value) FILTER (WHERE s.metric = 'latency_ms') AS latency_p95_ms
FROM aiml.metric_samples m JOIN aiml.metric_series s ON s.id = m.series_id
WHERE s.metric IN ('cpu_utilization', 'memory_utilization', 'gpu_utilization',
                   'gpu_memory_utilization', 'invocations', 'latency_ms')
GROUP BY s.source, s.resource, date_trunc('hour', m.ts);
COMMENT ON VIEW aiml.model_resource_usage IS 'per model and hour: CPU, memory, GPU (avg, p95), requests, latency (p50, p95)';

CREATE VIEW aiml.model_cost AS
SELECT u.source, u.model, u.hour, d.instance_type, d.instance_count,
       d.instance_count * p.usd_per_hour AS usd,
       CASE WHEN u.requests > 0 THEN d.instance_count * p.usd_per_hour / u.requests::numeric END AS usd_per_request
FROM aiml.model_resource_usage u
JOIN aiml.model_deployments d ON d.source = u.source AND d.resource = u.model
JOIN aiml.instance_prices p ON p.instance_type = d.instance_type;
COMMENT ON VIEW aiml.model_cost IS 'per model and hour: instance cost from aiml.instance_prices and aiml.model_deployments, and cost per request';
