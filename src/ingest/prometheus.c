/*
 * prometheus.c: the prometheus provider.
 *
 * Two ways to read a Prometheus-speaking target:
 *  - the HTTP API's /api/v1/query_range, one request per PromQL query (and per
 *    chunk of at most MAX_POINTS steps), for a Prometheus server;
 *  - scraping a /metrics endpoint in the text exposition format, for
 *    exporters (Triton, KServe, node, DCGM) that no Prometheus collects.
 *
 * Query windows are aligned to multiples of the step, so the same instant
 * always gets the same timestamp and re-reading an overlap inserts nothing
 * twice.
 */
#include "postgres.h"

#include <math.h>

#include "ingest/ingest.h"
#include "utils/builtins.h"

/* Prometheus refuses ranges of more than 11,000 points per series. */
#define MAX_POINTS 10000

static const char *const prometheus_keys[] = {
	"endpoint", "scrape", "query", "metric", "metrics", "step", "dimensions",
	"resource", "interval", "lookback", "timeout", "auth", "username", "units",
	NULL
};

/* What one query_range request is for. */
typedef struct QueryState
{
	const char *metric;			/* our metric name, or NULL: use __name__ */
} QueryState;

static void
check_string_map_or_list(json_object *v, const char *key, bool allow_list)
{
	if (json_object_is_type(v, json_type_object))
	{
		json_object_object_foreach(v, name, expr)
		{
			if (!json_object_is_type(expr, json_type_string) || name[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("config key \"%s\" must map metric names to strings", key)));
		}
		return;
	}
	if (allow_list && json_object_is_type(v, json_type_array))
	{
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("config key \"%s\" must be a list of metric names", key)));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("config key \"%s\" must be %s", key,
					allow_list ? "an object or a list of metric names" : "an object of metric name to PromQL query"),
			 errhint("For example {\"cpu_utilization\": \"avg by (model) (rate(process_cpu_seconds_total[1m])) * 100\"}.")));
}

static void
prometheus_validate(json_object *config)
{
	bool		scrape;
	json_object *v;
	const char *auth;

	ingest_check_config_keys(config, "prometheus", prometheus_keys);
	ingest_check_url("endpoint", ingest_config_string(config, "endpoint", ""));
	scrape = ingest_config_bool(config, "scrape", false);
	ingest_config_int(config, "step", 60, 1, 86400);
	ingest_config_string(config, "resource", NULL);
	ingest_config_string(config, "username", NULL);

	if (scrape && json_object_object_get_ex(config, "query", &v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a prometheus source either scrapes or queries, not both"),
				 errhint("Remove \"query\", or set \"scrape\": false.")));
	if (json_object_object_get_ex(config, "metrics", &v))
		check_string_map_or_list(v, "metrics", scrape);
	if (!scrape)
	{
		const char *query = ingest_config_string(config, "query", NULL);

		ingest_config_string(config, "metric", NULL);
		if (query == NULL && !json_object_object_get_ex(config, "metrics", &v))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a prometheus source needs \"query\", \"metrics\" or \"scrape\": true"),
					 errhint("Query the HTTP API with {\"query\": \"...\"} or {\"metrics\": {\"name\": \"query\"}}; scrape an exporter's /metrics with {\"scrape\": true}.")));
	}
	if (json_object_object_get_ex(config, "dimensions", &v))
	{
		if (!json_object_is_type(v, json_type_array))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("config key \"dimensions\" must be a list of label names")));
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("config key \"dimensions\" must be a list of label names")));
	}
	if (json_object_object_get_ex(config, "units", &v))
		check_string_map_or_list(v, "units", false);
	auth = ingest_config_string(config, "auth", NULL);
	if (auth && strcmp(auth, "bearer") != 0 && strcmp(auth, "basic") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"auth\" must be \"bearer\" or \"basic\"")));
	if (auth && strcmp(auth, "basic") == 0 && ingest_config_string(config, "username", NULL) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("basic auth needs \"username\""),
				 errhint("The password is the source's secret: aiml.set_metric_source_secret.")));
}

/* The endpoint without a trailing slash. */
static char *
endpoint_base(IngestSource *source)
{
	char	   *e = pstrdup(ingest_config_string(source->config, "endpoint", ""));
	int			n = strlen(e);

	while (n > 0 && e[n - 1] == '/')
		e[--n] = '\0';
	return e;
}

static void
add_auth(IngestSource *source, IngestRequest *r)
{
	const char *auth = ingest_config_string(source->config, "auth", NULL);

	if (auth == NULL || source->secret == NULL)
		return;
	if (strcmp(auth, "bearer") == 0)
		r->headers = lappend(r->headers, psprintf("Authorization: Bearer %s", source->secret));
	else
	{
		r->username = pstrdup(ingest_config_string(source->config, "username", ""));
		r->password = source->secret;
	}
}

/* query_range requests for one query over [from, to], in chunks. */
static List *
plan_query(IngestSource *source, const char *metric, const char *query,
		   double from, double to, int step)
{
	List	   *requests = NIL;
	char	   *base = endpoint_base(source);
	char	   *q = ingest_url_escape(query);
	QueryState *state = palloc0(sizeof(QueryState));

	state->metric = metric;
	for (double start = from; start <= to; start += (double) step * MAX_POINTS)
	{
		double		end = Min(to, start + (double) step * (MAX_POINTS - 1));
		IngestRequest *r = ingest_request_new(NULL,
											  psprintf("%s/api/v1/query_range?query=%s&start=%.0f&end=%.0f&step=%d",
													   base, q, start, end, step));

		r->provider_state = state;
		add_auth(source, r);
		requests = lappend(requests, r);
	}
	return requests;
}

static List *
prometheus_plan(IngestSource *source, TimestampTz from_ts, TimestampTz to_ts)
{
	json_object *metrics;
	List	   *requests = NIL;
	int			step = ingest_config_int(source->config, "step", 60, 1, 86400);
	double		from = ceil(ingest_timestamptz_to_unix(from_ts) / step) * step;
	double		to = floor(ingest_timestamptz_to_unix(to_ts) / step) * step;

	if (ingest_config_bool(source->config, "scrape", false))
	{
		IngestRequest *r = ingest_request_new(NULL, ingest_config_string(source->config, "endpoint", ""));

		r->headers = lappend(r->headers, "Accept: text/plain;version=0.0.4");
		add_auth(source, r);
		return list_make1(r);
	}
	if (to < from)
		return NIL;

	if (json_object_object_get_ex(source->config, "metrics", &metrics))
	{
		json_object_object_foreach(metrics, name, query)
			requests = list_concat(requests,
								   plan_query(source, pstrdup(name), json_object_get_string(query),
											  from, to, step));
	}
	if (ingest_config_string(source->config, "query", NULL))
	{
		const char *metric = ingest_config_string(source->config, "metric", NULL);

		requests = list_concat(requests,
							   plan_query(source, metric ? pstrdup(metric) : NULL,
										  ingest_config_string(source->config, "query", ""),
										  from, to, step));
	}
	return requests;
}

/* The unit the config gives a metric, or NULL. */
static const char *
metric_unit(IngestSource *source, const char *metric)
{
	json_object *units;
	json_object *u;

	if (json_object_object_get_ex(source->config, "units", &units) &&
		json_object_object_get_ex(units, metric, &u))
		return json_object_get_string(u);
	return NULL;
}

static void
malformed(IngestRequest *r, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed Prometheus API response: %s", what)));
}

static double
sample_value(IngestRequest *r, json_object *v)
{
	const char *s;
	char	   *end;
	double		d;

	if (!json_object_is_type(v, json_type_string))
		malformed(r, "a sample value is not a string");
	s = json_object_get_string(v);
	d = strtod(s, &end);
	if (end == s || *end != '\0')
		malformed(r, "a sample value is not a number");
	return d;
}

/* One element of data.result: {"metric": {labels}, "values": [[t, "v"], ...]}. */
static void
parse_matrix_series(IngestSource *source, IngestRequest *r, json_object *item,
					IngestBatch *batch)
{
	QueryState *state = r->provider_state;
	json_object *labels;
	json_object *values;
	json_object *name;
	const char *metric;
	IngestSeries *series;

	if (!json_object_object_get_ex(item, "metric", &labels) ||
		!json_object_is_type(labels, json_type_object) ||
		!json_object_object_get_ex(item, "values", &values) ||
		!json_object_is_type(values, json_type_array))
		malformed(r, "a result lacks \"metric\" or \"values\"");

	metric = state->metric;
	if (metric == NULL)
		metric = json_object_object_get_ex(labels, "__name__", &name) ?
			json_object_get_string(name) : "value";
	series = ingest_batch_series(batch, metric,
								 ingest_resource_from_labels(source, labels, source->name),
								 ingest_labels_json(labels, "__name__"),
								 metric_unit(source, metric));

	for (size_t i = 0; i < json_object_array_length(values); i++)
	{
		json_object *pair = json_object_array_get_idx(values, i);
		json_object *t;

		if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
			malformed(r, "a sample is not a [time, value] pair");
		t = json_object_array_get_idx(pair, 0);
		if (!json_object_is_type(t, json_type_double) && !json_object_is_type(t, json_type_int))
			malformed(r, "a sample time is not a number");
		ingest_series_add(batch, series, ingest_unix_to_timestamptz(json_object_get_double(t)),
						  sample_value(r, json_object_array_get_idx(pair, 1)));
	}
}

static void
parse_query_range(IngestSource *source, IngestRequest *r, IngestBatch *batch)
{
	json_object *root;
	enum json_tokener_error jerr;

	root = json_tokener_parse_verbose(r->response->data, &jerr);
	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("malformed Prometheus API response: %s", json_tokener_error_desc(jerr))));
	PG_TRY();
	{
		json_object *status;
		json_object *data;
		json_object *type;
		json_object *result;

		if (!json_object_is_type(root, json_type_object) ||
			!json_object_object_get_ex(root, "status", &status))
			malformed(r, "no \"status\"");
		if (strcmp(json_object_get_string(status), "success") != 0)
		{
			json_object *err;

			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("Prometheus answered %s: %s", json_object_get_string(status),
							json_object_object_get_ex(root, "error", &err) ?
							json_object_get_string(err) : "no error message")));
		}
		if (!json_object_object_get_ex(root, "data", &data) ||
			!json_object_object_get_ex(data, "resultType", &type) ||
			!json_object_object_get_ex(data, "result", &result) ||
			!json_object_is_type(result, json_type_array))
			malformed(r, "no data.result");
		if (strcmp(json_object_get_string(type), "matrix") != 0)
			malformed(r, "data.resultType is not \"matrix\"");
		for (size_t i = 0; i < json_object_array_length(result); i++)
			parse_matrix_series(source, r, json_object_array_get_idx(result, i), batch);
	}
	PG_FINALLY();
	{
		json_object_put(root);
	}
	PG_END_TRY();
}

static List *
prometheus_parse(IngestSource *source, IngestRequest *r, IngestBatch *batch)
{
	if (ingest_config_bool(source->config, "scrape", false))
		ingest_parse_exposition(source, r->response->data, r->response->len,
								r->poll->started, batch);
	else
		parse_query_range(source, r, batch);
	return NIL;
}

const IngestProvider prometheus_provider = {
	.name = "prometheus",
	.validate = prometheus_validate,
	.plan = prometheus_plan,
	.parse = prometheus_parse,
};
