/*
 * azure.c: the azure provider, Azure Monitor metrics.
 *
 * A poll reads, for each configured resource URI (e.g. an Azure ML online
 * endpoint), the metrics REST API's
 *   GET {resource_uri}/providers/microsoft.insights/metrics?metricnames=A,B
 *       &timespan=START/END&interval=PT1M&aggregation=Average
 * in requests of at most 20 metric names (the API's limit), following
 * "@nextLink" when an answer is paginated.  Requests carry an access token for
 * Azure Resource Manager, obtained either
 *  - with client credentials: the config's tenant and client id, the
 *    client secret being the source's secret, posted to Microsoft Entra ID's
 *    token endpoint;
 *  - or, with "auth": "managed_identity", from the instance metadata service
 *    of the VM the database runs on;
 * and cached per backend until it expires.  Without a cached token a poll
 * first asks for one, and the token response brings the data requests; a 401
 * forgets the token and asks for a new one, once.
 */
#include "postgres.h"

#include <math.h>

#include "ingest/ingest.h"
#include "utils/builtins.h"

#define DEFAULT_ENDPOINT "https://management.azure.com"
#define DEFAULT_TOKEN_ENDPOINT "https://login.microsoftonline.com"
#define DEFAULT_METADATA "http://169.254.169.254"
#define ARM_RESOURCE "https://management.azure.com/"
/* Azure Monitor answers at most 20 metrics per request. */
#define MAX_NAMES 20

static const char *const azure_keys[] = {
	"resource_uri", "resources", "metrics", "aggregation", "granularity",
	"dimensions", "resource", "units", "scale", "auth", "tenant_id",
	"client_id", "endpoint", "token_endpoint", "metadata_endpoint",
	"api_version", "interval", "lookback", "timeout", NULL
};

static const char *const aggregations[] = {
	"Average", "Minimum", "Maximum", "Total", "Count", NULL
};

/* The granularities Azure Monitor offers, with their length in seconds. */
static const struct
{
	const char *iso;
	int			seconds;
}			granularities[] = {
	{"PT1M", 60}, {"PT5M", 300}, {"PT15M", 900}, {"PT30M", 1800},
	{"PT1H", 3600}, {"PT6H", 21600}, {"PT12H", 43200}, {"P1D", 86400},
};

/* What a request is for. */
typedef struct AzureState
{
	BearerState bearer;			/* first: the token flow's part */
	const char *resource_uri;	/* data: the resource read */
	List	   *metrics;		/* data: our metric names asked for */
} AzureState;

/* A config error: the key and what is wrong, never a value that may be secret. */
static void
bad_config(const char *message, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", message),
			 hint ? errhint("%s", hint) : 0));
}

/* The aggregation named name in its canonical spelling, or NULL. */
static const char *
canonical_aggregation(const char *name)
{
	for (const char *const *a = aggregations; *a; a++)
		if (pg_strcasecmp(*a, name) == 0)
			return *a;
	return NULL;
}

/* The aggregation to read for one of our metrics. */
static const char *
metric_aggregation(json_object *config, const char *metric)
{
	json_object *agg;
	json_object *v;

	if (!json_object_object_get_ex(config, "aggregation", &agg))
		return "Average";
	if (json_object_is_type(agg, json_type_object))
		return json_object_object_get_ex(agg, metric, &v) ?
			canonical_aggregation(json_object_get_string(v)) : "Average";
	return canonical_aggregation(json_object_get_string(agg));
}

static int
granularity_seconds(json_object *config)
{
	const char *g = ingest_config_string(config, "granularity", "PT1M");

	for (int i = 0; i < lengthof(granularities); i++)
		if (strcmp(granularities[i].iso, g) == 0)
			return granularities[i].seconds;
	bad_config("config key \"granularity\" must be one of PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D",
			   "It is the interval of the points Azure Monitor aggregates; \"interval\" is how often the source is polled.");
	return 0;					/* keep compiler quiet */
}

/* A resource URI as Azure Resource Manager spells them. */
static void
check_resource_uri(const char *uri)
{
	if (uri[0] != '/' || strpbrk(uri, "?#&% \t\n") != NULL || strstr(uri, "//") != NULL)
		bad_config("a resource URI must be a path such as \"/subscriptions/.../resourceGroups/.../providers/...\"",
				   "Copy it from the resource's JSON view in the Azure portal, or from \"az resource show --query id\".");
}

/* "resource_uri" or "resources", exactly one, checked. */
static void
check_resources(json_object *config)
{
	json_object *list;
	bool		has_list = json_object_object_get_ex(config, "resources", &list) &&
		!json_object_is_type(list, json_type_null);
	const char *uri = ingest_config_string(config, "resource_uri", NULL);

	if (has_list == (uri != NULL))
		bad_config("an azure source needs either \"resource_uri\" or \"resources\"",
				   "For example {\"resource_uri\": \"/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/WS/onlineEndpoints/EP\"}.");
	if (uri)
	{
		check_resource_uri(uri);
		return;
	}
	if (!json_object_is_type(list, json_type_array) || json_object_array_length(list) == 0)
		bad_config("config key \"resources\" must be a non-empty list of resource URIs", NULL);
	for (size_t i = 0; i < json_object_array_length(list); i++)
	{
		json_object *v = json_object_array_get_idx(list, i);

		if (!json_object_is_type(v, json_type_string))
			bad_config("config key \"resources\" must be a non-empty list of resource URIs", NULL);
		check_resource_uri(json_object_get_string(v));
	}
}

/* "aggregation": one of the API's names, or an object of metric name to one. */
static void
check_aggregation(json_object *config)
{
	json_object *agg;
	bool		ok = true;

	if (!json_object_object_get_ex(config, "aggregation", &agg))
		return;
	if (json_object_is_type(agg, json_type_string))
		ok = canonical_aggregation(json_object_get_string(agg)) != NULL;
	else if (json_object_is_type(agg, json_type_object))
	{
		json_object_object_foreach(agg, name, value)
		{
			(void) name;
			ok &= json_object_is_type(value, json_type_string) &&
				canonical_aggregation(json_object_get_string(value)) != NULL;
		}
	}
	else
		ok = false;
	if (!ok)
		bad_config("config key \"aggregation\" must be Average, Minimum, Maximum, Total or Count, or map metric names to those",
				   "For example {\"aggregation\": {\"cpu_utilization\": \"Average\", \"invocations\": \"Total\"}}.");
}

/* Checks an azure config when a source is added or altered, naming the bad key. */
static void
azure_validate(json_object *config)
{
	json_object *v;
	const char *auth;
	const char *tenant;

	ingest_check_config_keys(config, "azure", azure_keys);
	check_resources(config);
	if (!json_object_object_get_ex(config, "metrics", &v))
		bad_config("an azure source needs \"metrics\"",
				   "Map our metric names to Azure Monitor metric names, e.g. {\"cpu_utilization\": \"CpuUtilizationPercentage\"}.");
	ingest_check_string_map(config, "metrics",
							"For example {\"cpu_utilization\": \"CpuUtilizationPercentage\", \"latency_ms\": \"RequestLatency\"}.");
	{
		json_object_object_foreach(v, name, azure_name)
		{
			(void) name;
			if (json_object_get_string_len(azure_name) == 0 ||
				strpbrk(json_object_get_string(azure_name), ",&?#") != NULL)
				bad_config("config key \"metrics\" must map to Azure Monitor metric names, without commas", NULL);
		}
	}
	check_aggregation(config);
	granularity_seconds(config);
	ingest_check_string_list(config, "dimensions");
	ingest_check_string_map(config, "units", "For example {\"latency_ms\": \"ms\"}.");
	ingest_check_number_map(config, "scale",
							"For example {\"gpu_memory_utilization\": 100} turns a fraction into percent.");
	ingest_config_string(config, "resource", NULL);
	ingest_config_string(config, "client_id", NULL);
	if (strpbrk(ingest_config_string(config, "api_version", "2018-01-01"), "&?# ") != NULL)
		bad_config("config key \"api_version\" must be a version such as \"2018-01-01\"", NULL);
	auth = ingest_config_string(config, "auth", "client_credentials");
	tenant = ingest_config_string(config, "tenant_id", NULL);
	if (strcmp(auth, "client_credentials") == 0)
	{
		if (tenant == NULL || ingest_config_string(config, "client_id", NULL) == NULL)
			bad_config("client credentials need \"tenant_id\" and \"client_id\"",
					   "The client secret is the source's secret: aiml.set_metric_source_secret.  Or set \"auth\": \"managed_identity\".");
		if (tenant[0] == '\0' || strpbrk(tenant, "/?#&% ") != NULL)
			bad_config("config key \"tenant_id\" must be a tenant id or domain", NULL);
	}
	else if (strcmp(auth, "managed_identity") != 0)
		bad_config("config key \"auth\" of an azure source must be \"client_credentials\" or \"managed_identity\"",
				   "\"client_credentials\" signs in with tenant_id, client_id and the secret stored by aiml.set_metric_source_secret; \"managed_identity\" uses the instance metadata service.");
	if (json_object_object_get_ex(config, "endpoint", &v))
		ingest_config_base_url(config, "endpoint", NULL);
	if (json_object_object_get_ex(config, "token_endpoint", &v))
		ingest_config_base_url(config, "token_endpoint", NULL);
	if (json_object_object_get_ex(config, "metadata_endpoint", &v))
		ingest_config_base_url(config, "metadata_endpoint", NULL);
}

/*
 * The "$filter" that splits series by the configured dimensions ("dim eq
 * '*'"), without the ones this provider adds itself; NULL when none.
 */
static char *
dimension_filter(json_object *config)
{
	json_object *dims;
	StringInfoData buf;

	if (!json_object_object_get_ex(config, "dimensions", &dims))
		return NULL;
	initStringInfo(&buf);
	for (size_t i = 0; i < json_object_array_length(dims); i++)
	{
		const char *d = json_object_get_string(json_object_array_get_idx(dims, i));

		if (strcmp(d, "resource_name") == 0 || strcmp(d, "resource_uri") == 0)
			continue;
		appendStringInfo(&buf, "%s%s eq '*'", buf.len ? " and " : "", d);
	}
	return buf.len ? buf.data : NULL;
}

/* One metrics request: a resource, some metrics, the window. */
static IngestRequest *
data_request(IngestSource *source, AzureState *st)
{
	json_object *config = source->config;
	json_object *metrics;
	StringInfoData names;
	StringInfoData aggs;
	StringInfoData url;
	ListCell   *lc;
	char	   *filter = dimension_filter(config);
	IngestRequest *r;

	json_object_object_get_ex(config, "metrics", &metrics);
	initStringInfo(&names);
	initStringInfo(&aggs);
	foreach(lc, st->metrics)
	{
		json_object *v;
		const char *agg = metric_aggregation(config, lfirst(lc));

		json_object_object_get_ex(metrics, lfirst(lc), &v);
		appendStringInfo(&names, "%s%s", names.len ? "," : "", json_object_get_string(v));
		if (strstr(aggs.data, agg) == NULL)
			appendStringInfo(&aggs, "%s%s", aggs.len ? "," : "", agg);
	}
	initStringInfo(&url);
	appendStringInfo(&url, "%s%s/providers/microsoft.insights/metrics?api-version=%s",
					 ingest_config_base_url(config, "endpoint", DEFAULT_ENDPOINT),
					 st->resource_uri,
					 ingest_config_string(config, "api_version", "2018-01-01"));
	appendStringInfo(&url, "&metricnames=%s&timespan=%s&interval=%s&aggregation=%s",
					 ingest_url_escape(names.data),
					 ingest_url_escape(psprintf("%s/%s", ingest_format_rfc3339(st->bearer.from),
												ingest_format_rfc3339(st->bearer.to))),
					 ingest_config_string(config, "granularity", "PT1M"),
					 ingest_url_escape(aggs.data));
	if (filter)
		appendStringInfo(&url, "&$filter=%s", ingest_url_escape(filter));
	r = ingest_request_new(NULL, url.data);
	r->provider_state = st;
	ingest_request_add_bearer(r, st->bearer.token);
	return r;
}

/* The configured resource URIs. */
static List *
resource_uris(json_object *config)
{
	json_object *list;
	const char *uri = ingest_config_string(config, "resource_uri", NULL);
	List	   *uris = NIL;

	if (uri)
		return list_make1(pstrdup(uri));
	if (json_object_object_get_ex(config, "resources", &list) &&
		json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list); i++)
			uris = lappend(uris, pstrdup(json_object_get_string(json_object_array_get_idx(list, i))));
	return uris;
}

/* Every resource's requests over [from, to], MAX_NAMES metrics each. */
static List *
data_requests(IngestSource *source, TimestampTz from, TimestampTz to,
			  const char *token)
{
	json_object *metrics;
	List	   *names = NIL;
	List	   *requests = NIL;
	ListCell   *lc;

	if (json_object_object_get_ex(source->config, "metrics", &metrics))
	{
		json_object_object_foreach(metrics, name, azure_name)
		{
			(void) azure_name;
			names = lappend(names, pstrdup(name));
		}
	}
	foreach(lc, resource_uris(source->config))
	{
		for (int i = 0; i < list_length(names); i += MAX_NAMES)
		{
			AzureState *st = palloc0(sizeof(AzureState));

			st->resource_uri = lfirst(lc);
			st->metrics = list_copy_tail(names, i);
			st->metrics = list_truncate(st->metrics, MAX_NAMES);
			st->bearer.token = token;
			st->bearer.from = from;
			st->bearer.to = to;
			requests = lappend(requests, data_request(source, st));
		}
	}
	return requests;
}

/*
 * The request for an access token for Azure Resource Manager: the managed
 * identity's, or the app registration's client credentials.
 */
static IngestRequest *
token_request(IngestSource *source)
{
	json_object *config = source->config;
	const char *auth = ingest_config_string(config, "auth", "client_credentials");
	const char *client_id = ingest_config_string(config, "client_id", NULL);
	IngestRequest *r;

	if (strcmp(auth, "managed_identity") == 0)
	{
		r = ingest_request_new(NULL,
							   psprintf("%s/metadata/identity/oauth2/token?api-version=2018-02-01&resource=%s%s%s",
										ingest_config_base_url(config, "metadata_endpoint", DEFAULT_METADATA),
										ingest_url_escape(ARM_RESOURCE),
										client_id ? "&client_id=" : "",
										client_id ? ingest_url_escape(client_id) : ""));
		r->headers = lappend(r->headers, "Metadata: true");
	}
	else
	{
		if (source->secret == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("azure source \"%s\" has no client secret", source->name),
					 errhint("Store the app registration's client secret with aiml.set_metric_source_secret, or set \"auth\": \"managed_identity\".")));
		r = ingest_request_new(NULL,
							   psprintf("%s/%s/oauth2/v2.0/token",
										ingest_config_base_url(config, "token_endpoint", DEFAULT_TOKEN_ENDPOINT),
										ingest_config_string(config, "tenant_id", "")));
		r->method = "POST";
		r->body = psprintf("client_id=%s&client_secret=%s&scope=%s&grant_type=client_credentials",
						   ingest_url_escape(client_id), ingest_url_escape(source->secret),
						   ingest_url_escape(ARM_RESOURCE ".default"));
		r->headers = lappend(r->headers, "Content-Type: application/x-www-form-urlencoded");
	}
	return r;
}

static List *parse_metrics(IngestSource *source, IngestRequest *r, IngestBatch *batch);

static const BearerFlow azure_flow = {
	.provider = "azure",
	.state_size = sizeof(AzureState),
	.refused_hint = "Check tenant_id, client_id and the client secret.",
	.token_request = token_request,
	.data_requests = data_requests,
	.parse_data = parse_metrics,
};

/*
 * The window, aligned to the granularity: points are stamped with the start
 * of their interval, and only complete intervals are read.  The token
 * request first when none is cached.
 */
static List *
azure_plan(IngestSource *source, TimestampTz from_ts, TimestampTz to_ts)
{
	int			g = granularity_seconds(source->config);
	double		from = floor(ingest_timestamptz_to_unix(from_ts) / g) * g;
	double		to = floor(ingest_timestamptz_to_unix(to_ts) / g) * g;

	if (to <= from)
		return NIL;
	from_ts = ingest_unix_to_timestamptz(from);
	to_ts = ingest_unix_to_timestamptz(to);
	return bearer_plan(&azure_flow, source, from_ts, to_ts);
}

/* A response the provider cannot read; the body is not quoted (size, secrets). */
static void
malformed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed Azure Monitor response: %s", what)));
}

/*
 * The labels of one timeseries: its dimension values (metadatavalues), and
 * the resource's URI and name.  The object is added to item, so that it is
 * freed with the response.
 */
static json_object *
series_labels(AzureState *st, json_object *item)
{
	json_object *labels = json_object_new_object();
	json_object *meta = ingest_json_member(item, "metadatavalues", json_type_array);
	const char *slash = strrchr(st->resource_uri, '/');

	json_object_object_add(item, " labels", labels);
	for (size_t i = 0; meta && i < json_object_array_length(meta); i++)
	{
		json_object *m = json_object_array_get_idx(meta, i);
		json_object *name = ingest_json_member(ingest_json_member(m, "name", json_type_object), "value", json_type_string);
		json_object *value = ingest_json_member(m, "value", json_type_string);

		if (name == NULL || value == NULL)
			malformed("a metadatavalue lacks name.value or value");
		json_object_object_add(labels, json_object_get_string(name), json_object_get(value));
	}
	json_object_object_add(labels, "resource_uri", json_object_new_string(st->resource_uri));
	json_object_object_add(labels, "resource_name", json_object_new_string(slash ? slash + 1 : st->resource_uri));
	return labels;
}

/* One timeseries of one Azure metric into the series of our metric. */
static void
parse_timeseries(IngestSource *source, AzureState *st, const char *metric,
				 const char *unit, json_object *item, IngestBatch *batch)
{
	json_object *labels = series_labels(st, item);
	json_object *data = ingest_json_member(item, "data", json_type_array);
	json_object *units = ingest_json_member(source->config, "units", json_type_object);
	json_object *v;
	char	   *field = pstrdup(metric_aggregation(source->config, metric));
	double		scale = ingest_config_metric_number(source->config, "scale", metric, 1.0);
	IngestSeries *series;

	if (data == NULL)
		malformed("a timeseries has no \"data\"");
	for (char *p = field; *p; p++)
		*p = pg_tolower((unsigned char) *p);
	if (units && (v = ingest_json_member(units, metric, json_type_string)) != NULL)
		unit = json_object_get_string(v);
	json_object_object_get_ex(labels, "resource_name", &v);
	series = ingest_batch_series(batch, metric,
								 ingest_resource_from_labels(source, labels, json_object_get_string(v)),
								 ingest_labels_json(labels, NULL), unit);
	for (size_t i = 0; i < json_object_array_length(data); i++)
	{
		json_object *point = json_object_array_get_idx(data, i);
		json_object *stamp = ingest_json_member(point, "timeStamp", json_type_string);
		TimestampTz ts;

		if (stamp == NULL || !ingest_parse_rfc3339(json_object_get_string(stamp), &ts))
			malformed("a data point has no valid timeStamp");
		/* an interval without data has no aggregate at all */
		if (!json_object_object_get_ex(point, field, &v) || json_object_is_type(v, json_type_null))
			continue;
		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			malformed("a data point's aggregate is not a number");
		ingest_series_add(batch, series, ts, json_object_get_double(v) * scale);
	}
}

/* One element of "value": an Azure metric, read for each of our names for it. */
static void
parse_metric(IngestSource *source, AzureState *st, json_object *item, IngestBatch *batch)
{
	json_object *name = ingest_json_member(ingest_json_member(item, "name", json_type_object), "value", json_type_string);
	json_object *timeseries = ingest_json_member(item, "timeseries", json_type_array);
	json_object *unit = ingest_json_member(item, "unit", json_type_string);
	json_object *metrics;
	ListCell   *lc;

	if (name == NULL || timeseries == NULL)
		malformed("a metric lacks name.value or timeseries");
	json_object_object_get_ex(source->config, "metrics", &metrics);
	foreach(lc, st->metrics)
	{
		json_object *azure_name;

		json_object_object_get_ex(metrics, lfirst(lc), &azure_name);
		if (pg_strcasecmp(json_object_get_string(azure_name), json_object_get_string(name)) != 0)
			continue;
		for (size_t i = 0; i < json_object_array_length(timeseries); i++)
			parse_timeseries(source, st, lfirst(lc), unit ? json_object_get_string(unit) : NULL,
							 json_object_array_get_idx(timeseries, i), batch);
	}
}

/* An answer of the metrics API; the next page's request when there is one. */
static List *
parse_metrics(IngestSource *source, IngestRequest *r, IngestBatch *batch)
{
	AzureState *st = r->provider_state;
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(r->response->data, &jerr);
	char	   *next = NULL;

	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("malformed Azure Monitor response: %s", json_tokener_error_desc(jerr))));
	PG_TRY();
	{
		json_object *value = ingest_json_member(root, "value", json_type_array);
		json_object *link;

		if (value == NULL)
			malformed("no \"value\" list");
		for (size_t i = 0; i < json_object_array_length(value); i++)
			parse_metric(source, st, json_object_array_get_idx(value, i), batch);
		if (json_object_object_get_ex(root, "@nextLink", &link) &&
			!json_object_is_type(link, json_type_null))
		{
			if (!json_object_is_type(link, json_type_string))
				malformed("\"@nextLink\" is not a string");
			next = pstrdup(json_object_get_string(link));
		}
	}
	PG_FINALLY();
	{
		json_object_put(root);
	}
	PG_END_TRY();
	if (next == NULL || next[0] == '\0')
		return NIL;

	/* the token goes with the next page: only to the same API */
	{
		char	   *base = psprintf("%s/", ingest_config_base_url(source->config, "endpoint",
																  DEFAULT_ENDPOINT));
		IngestRequest *page;

		if (strncmp(next, base, strlen(base)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("Azure Monitor answered an @nextLink outside its endpoint %s", base)));
		page = ingest_request_new(NULL, next);
		page->provider_state = st;
		ingest_request_add_bearer(page, st->bearer.token);
		return list_make1(page);
	}
}

static List *
azure_parse(IngestSource *source, IngestRequest *r, IngestBatch *batch)
{
	return bearer_parse(&azure_flow, source, r, batch);
}

static List *
azure_unauthorized(IngestSource *source, IngestRequest *r)
{
	return bearer_unauthorized(&azure_flow, source, r);
}

const IngestProvider azure_provider = {
	.name = "azure",
	.validate = azure_validate,
	.plan = azure_plan,
	.parse = azure_parse,
	.unauthorized = azure_unauthorized,
};
