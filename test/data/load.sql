-- Loads the sample data in test/data/ (run by psql from the project root).
CREATE TABLE model_metrics (
    endpoint    text NOT NULL,
    ts          timestamptz NOT NULL,
    requests    int NOT NULL,
    latency_ms  float8 NOT NULL,
    cpu         float8 NOT NULL,
    memory      float8 NOT NULL,
    PRIMARY KEY (endpoint, ts)
);
COMMENT ON TABLE model_metrics IS 'sample: hourly resource usage of three deployed models, four weeks';
\copy model_metrics FROM 'test/data/model_metrics.csv' WITH (FORMAT csv, HEADER true)

CREATE TABLE incidents (endpoint text, ts timestamptz, what text, metric text);
COMMENT ON TABLE incidents IS 'sample: the incidents injected into model_metrics';
\copy incidents FROM 'test/data/incidents.csv' WITH (FORMAT csv, HEADER true)
ANALYZE model_metrics, incidents;

-- extract: a web-server access log and support tickets, one text line per row
-- (csv with delimiter and quote bytes that never occur keeps lines verbatim).
CREATE TABLE access_log (id bigserial PRIMARY KEY, line text NOT NULL);
COMMENT ON TABLE access_log IS 'sample: raw access log lines of the model endpoints (test/data/make_access_log.py)';
\copy access_log (line) FROM 'test/data/access.log' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE tickets (id bigserial PRIMARY KEY, body text NOT NULL);
COMMENT ON TABLE tickets IS 'sample: support tickets as key=value text (test/data/make_access_log.py)';
\copy tickets (body) FROM 'test/data/tickets.txt' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
ANALYZE access_log, tickets;
