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
