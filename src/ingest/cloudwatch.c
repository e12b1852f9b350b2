/*
 * cloudwatch.c: the cloudwatch provider: GetMetricData over the AWS JSON 1.0
 * protocol, signed with Signature V4 by libcurl (CURLOPT_AWS_SIGV4).
 *
 * Each (metric, dimension set) pair is one MetricDataQuery; queries go in
 * calls of at most 500 (the API's limit), each paginated with NextToken.
 *
 * Credentials, in this order unless config "auth" picks one:
 *   1. the source's secret: {"access_key_id", "secret_access_key", "session_token"}
 *   2. the server's environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   3. the shared credentials file of the server's OS user (profile "default"
 *      or config "profile"; AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials)
 *   4. the instance metadata service, IMDSv2: a session token (PUT), the
 *      role's name, then its credentials, cached until shortly before they
 *      expire.  This is a chain of requests, so a poll starts with the first
 *      and each answer plans the next.
 */
#include "postgres.h"

#include <math.h>
#include <pwd.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "storage/fd.h"
#include "utils/json.h"

#define MAX_QUERIES_PER_CALL 500
#define IMDS_TOKEN_TTL_S 21600
#define IMDS_CACHE_KEY "aws-imds"

static const char *const cloudwatch_keys[] = {
	"region", "endpoint", "namespace", "metrics", "dimensions", "resource",
	"period", "interval", "lookback", "timeout", "auth", "profile",
	"credentials_file", "imds_endpoint", NULL
};

static const char *const auth_modes[] = {"secret", "env", "profile", "imds", NULL};

/* One MetricDataQuery and where its samples go. */
typedef struct CwQuery
{
	int			id;				/* the query's Id is "q<id>" */
	char	   *metric;			/* our name */
	char	   *resource;
	char	   *labels;
	double		scale;
	char	   *json;			/* the query object, with Id "q<n>" */
} CwQuery;

/* The queries of one GetMetricData call. */
typedef struct CwCall
{
	int			nqueries;
	CwQuery    *queries;
	long		start;
	long		end;
} CwCall;

typedef enum CwStep
{
	CW_DATA,
	CW_IMDS_TOKEN,
	CW_IMDS_ROLE,
	CW_IMDS_CREDENTIALS
} CwStep;

typedef struct CwState
{
	CwStep		step;
	CwCall	   *call;			/* CW_DATA */
	List	   *calls;			/* IMDS steps: the calls to make afterwards */
	char	   *imds_token;
} CwState;

typedef struct AwsCredentials
{
	char	   *key_id;
	char	   *secret;
	char	   *token;			/* NULL unless temporary credentials */
} AwsCredentials;

/* The SageMaker metrics, by the names aiml.model_resource_usage reads. */
static const char *const default_metrics =
"{\"cpu_utilization\": {\"namespace\": \"/aws/sagemaker/Endpoints\", \"metric\": \"CPUUtilization\"},"
" \"memory_utilization\": {\"namespace\": \"/aws/sagemaker/Endpoints\", \"metric\": \"MemoryUtilization\"},"
" \"gpu_utilization\": {\"namespace\": \"/aws/sagemaker/Endpoints\", \"metric\": \"GPUUtilization\"},"
" \"gpu_memory_utilization\": {\"namespace\": \"/aws/sagemaker/Endpoints\", \"metric\": \"GPUMemoryUtilization\"},"
" \"invocations\": {\"namespace\": \"AWS/SageMaker\", \"metric\": \"Invocations\", \"stat\": \"Sum\"},"
" \"latency_ms\": {\"namespace\": \"AWS/SageMaker\", \"metric\": \"ModelLatency\", \"scale\": 0.001}}";

static void
config_error(const char *message, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", message),
			 hint ? errhint("%s", hint) : 0));
}

static void
validate_metric(const char *name, json_object *spec)
{
	json_object *v;

	if (json_object_is_type(spec, json_type_string))
		return;
	if (!json_object_is_type(spec, json_type_object) ||
		!json_object_object_get_ex(spec, "metric", &v) ||
		!json_object_is_type(v, json_type_string))
		config_error(psprintf("cloudwatch metric \"%s\" must be a metric name or an object with \"metric\"", name),
					 "For example {\"latency_ms\": {\"namespace\": \"AWS/SageMaker\", \"metric\": \"ModelLatency\", \"stat\": \"Average\", \"scale\": 0.001}}.");
	{
		json_object_object_foreach(spec, key, value)
		{
			if (strcmp(key, "metric") != 0 && strcmp(key, "namespace") != 0 &&
				strcmp(key, "stat") != 0 && strcmp(key, "scale") != 0)
				config_error(psprintf("unknown key \"%s\" in cloudwatch metric \"%s\"", key, name),
							 "A metric takes metric, namespace, stat and scale.");
			if (strcmp(key, "scale") == 0 ? !json_object_is_type(value, json_type_double) &&
				!json_object_is_type(value, json_type_int) :
				!json_object_is_type(value, json_type_string))
				config_error(psprintf("key \"%s\" of cloudwatch metric \"%s\" has the wrong type", key, name), NULL);
		}
	}
}

static void
cloudwatch_validate(json_object *config)
{
	json_object *dims;
	json_object *metrics;
	const char *auth;

	ingest_check_config_keys(config, "cloudwatch", cloudwatch_keys);
	if (ingest_config_string(config, "region", NULL) == NULL)
		config_error("a cloudwatch source needs \"region\"", "For example \"region\": \"us-east-1\".");
	if (ingest_config_string(config, "endpoint", NULL))
		ingest_check_url("endpoint", ingest_config_string(config, "endpoint", NULL));
	if (ingest_config_string(config, "imds_endpoint", NULL))
		ingest_check_url("imds_endpoint", ingest_config_string(config, "imds_endpoint", NULL));
	ingest_config_string(config, "namespace", NULL);
	ingest_config_string(config, "resource", NULL);
	ingest_config_string(config, "profile", NULL);
	ingest_config_string(config, "credentials_file", NULL);
	ingest_config_int(config, "period", 60, 1, 86400);
	auth = ingest_config_string(config, "auth", NULL);
	if (auth)
	{
		bool		known = false;

		for (const char *const *a = auth_modes; *a; a++)
			known |= strcmp(*a, auth) == 0;
		if (!known)
			config_error("config key \"auth\" of a cloudwatch source must be \"secret\", \"env\", \"profile\" or \"imds\"",
						 "Leave it out to try them in that order.");
	}
	if (json_object_object_get_ex(config, "metrics", &metrics))
	{
		if (!json_object_is_type(metrics, json_type_object) || json_object_object_length(metrics) == 0)
			config_error("config key \"metrics\" must map metric names to CloudWatch metrics", NULL);
		{
			json_object_object_foreach(metrics, name, spec)
				validate_metric(name, spec);
		}
	}
	if (!json_object_object_get_ex(config, "dimensions", &dims) ||
		!json_object_is_type(dims, json_type_array) || json_object_array_length(dims) == 0)
		config_error("a cloudwatch source needs \"dimensions\": a list of dimension sets",
					 "For example [{\"EndpointName\": \"fraud-scorer\", \"VariantName\": \"AllTraffic\"}].");
	for (size_t i = 0; i < json_object_array_length(dims); i++)
	{
		json_object *set = json_object_array_get_idx(dims, i);

		if (!json_object_is_type(set, json_type_object) || json_object_object_length(set) == 0)
			config_error("each element of \"dimensions\" must be an object of dimension names to values", NULL);
		{
			json_object_object_foreach(set, name, value)
			{
				(void) name;
				if (!json_object_is_type(value, json_type_string))
					config_error("dimension values must be strings", NULL);
			}
		}
	}
}

static const char *
endpoint(IngestSource *source)
{
	const char *e = ingest_config_string(source->config, "endpoint", NULL);

	return e ? e : psprintf("https://monitoring.%s.amazonaws.com",
							ingest_config_string(source->config, "region", ""));
}

/* ---- credentials ---- */

static bool
credentials_from_json(const char *text, AwsCredentials *c, const char *id_key,
					  const char *secret_key, const char *token_key)
{
	json_object *o = json_tokener_parse(text);
	bool		ok = false;

	if (o == NULL)
		return false;
	PG_TRY();
	{
		const char *id = ingest_config_string(o, id_key, NULL);
		const char *secret = ingest_config_string(o, secret_key, NULL);
		const char *token = ingest_config_string(o, token_key, NULL);

		if (id && secret)
		{
			c->key_id = pstrdup(id);
			c->secret = pstrdup(secret);
			c->token = token ? pstrdup(token) : NULL;
			ok = true;
		}
	}
	PG_FINALLY();
	{
		json_object_put(o);
	}
	PG_END_TRY();
	return ok;
}

static bool
credentials_from_env(AwsCredentials *c)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	if (id == NULL || secret == NULL || id[0] == '\0')
		return false;
	c->key_id = pstrdup(id);
	c->secret = pstrdup(secret);
	c->token = token && token[0] ? pstrdup(token) : NULL;
	return true;
}

static char *
credentials_file_path(IngestSource *source)
{
	const char *path = ingest_config_string(source->config, "credentials_file", NULL);
	const char *home;

	if (path)
		return pstrdup(path);
	if ((path = getenv("AWS_SHARED_CREDENTIALS_FILE")) != NULL)
		return pstrdup(path);
	home = getenv("HOME");
	if (home == NULL)
	{
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : NULL;
	}
	return home ? psprintf("%s/.aws/credentials", home) : NULL;
}

/* "  key = value  " into key and value, trimmed; false when no "=". */
static bool
split_ini_line(char *line, char **key, char **value)
{
	char	   *eq = strchr(line, '=');
	char	   *end;

	if (eq == NULL)
		return false;
	*eq = '\0';
	*key = line;
	*value = eq + 1;
	while (**key == ' ' || **key == '\t')
		(*key)++;
	while (**value == ' ' || **value == '\t')
		(*value)++;
	for (end = eq - 1; end >= *key && (*end == ' ' || *end == '\t'); end--)
		*end = '\0';
	end = *value + strlen(*value);
	while (end > *value && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return true;
}

static bool
credentials_from_file(IngestSource *source, AwsCredentials *c)
{
	const char *profile = ingest_config_string(source->config, "profile", "default");
	char	   *path = credentials_file_path(source);
	FILE	   *f;
	char		line[1024];
	bool		in_profile = false;
	char	   *section = psprintf("[%s]", profile);

	if (path == NULL || (f = AllocateFile(path, "r")) == NULL)
		return false;
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f))
	{
		char	   *key;
		char	   *value;

		if (line[0] == '[')
		{
			in_profile = strncmp(line, section, strlen(section)) == 0;
			continue;
		}
		if (!in_profile || !split_ini_line(line, &key, &value))
			continue;
		if (strcmp(key, "aws_access_key_id") == 0)
			c->key_id = pstrdup(value);
		else if (strcmp(key, "aws_secret_access_key") == 0)
			c->secret = pstrdup(value);
		else if (strcmp(key, "aws_session_token") == 0)
			c->token = pstrdup(value);
	}
	FreeFile(f);
	return c->key_id != NULL && c->secret != NULL;
}

/*
 * Credentials without the metadata service, in the chain's order; false
 * when the chain reaches IMDS and no cached IMDS credentials are valid.
 */
static bool
resolve_credentials(IngestSource *source, AwsCredentials *c)
{
	const char *auth = ingest_config_string(source->config, "auth", NULL);
	const char *cached;

	memset(c, 0, sizeof(*c));
	if ((auth == NULL || strcmp(auth, "secret") == 0) && source->secret &&
		credentials_from_json(source->secret, c, "access_key_id", "secret_access_key", "session_token"))
		return true;
	if (auth && strcmp(auth, "secret") == 0)
		config_error("cloudwatch source has no usable secret",
					 "Store {\"access_key_id\": ..., \"secret_access_key\": ...} with aiml.set_metric_source_secret.");
	if ((auth == NULL || strcmp(auth, "env") == 0) && credentials_from_env(c))
		return true;
	if (auth && strcmp(auth, "env") == 0)
		config_error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set in the server's environment", NULL);
	if ((auth == NULL || strcmp(auth, "profile") == 0) && credentials_from_file(source, c))
		return true;
	if (auth && strcmp(auth, "profile") == 0)
		config_error("no AWS credentials for the profile in the shared credentials file",
					 "Set \"credentials_file\" and \"profile\", or AWS_SHARED_CREDENTIALS_FILE in the server's environment.");
	cached = ingest_token_get(source->name, IMDS_CACHE_KEY);
	return cached && credentials_from_json(cached, c, "AccessKeyId", "SecretAccessKey", "Token");
}

/* ---- requests ---- */

static const char *
imds_base(IngestSource *source)
{
	return ingest_config_string(source->config, "imds_endpoint", "http://169.254.169.254");
}

static IngestRequest *
imds_request(IngestSource *source, CwStep step, const char *path, List *calls,
			 const char *token)
{
	IngestRequest *r = ingest_request_new(NULL, psprintf("%s%s", imds_base(source), path));
	CwState    *state = palloc0(sizeof(CwState));

	state->step = step;
	state->calls = calls;
	state->imds_token = token ? pstrdup(token) : NULL;
	r->provider_state = state;
	if (step == CW_IMDS_TOKEN)
	{
		r->method = "PUT";
		r->headers = list_make1(psprintf("X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL_S));
	}
	else
		r->headers = list_make1(psprintf("X-aws-ec2-metadata-token: %s", token));
	return r;
}

static IngestRequest *
data_request(IngestSource *source, CwCall *call, const AwsCredentials *c,
			 const char *next_token)
{
	IngestRequest *r = ingest_request_new(NULL, psprintf("%s/", endpoint(source)));
	CwState    *state = palloc0(sizeof(CwState));
	StringInfoData body;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"MetricDataQueries\":[");
	for (int i = 0; i < call->nqueries; i++)
		appendStringInfo(&body, "%s%s", i ? "," : "", call->queries[i].json);
	appendStringInfo(&body, "],\"StartTime\":%ld,\"EndTime\":%ld,\"ScanBy\":\"TimestampAscending\"",
					 call->start, call->end);
	if (next_token)
	{
		appendStringInfoString(&body, ",\"NextToken\":");
		escape_json(&body, next_token);
	}
	appendStringInfoChar(&body, '}');

	state->step = CW_DATA;
	state->call = call;
	r->provider_state = state;
	r->method = "POST";
	r->body = body.data;
	r->headers = list_make3("Content-Type: application/x-amz-json-1.0",
							"X-Amz-Target: GraniteServiceVersion20100801.GetMetricData",
							"Accept: application/json");
	if (c->token)
		r->headers = lappend(r->headers, psprintf("X-Amz-Security-Token: %s", c->token));
	r->aws_sigv4 = psprintf("aws:amz:%s:monitoring",
							ingest_config_string(source->config, "region", ""));
	r->username = c->key_id;
	r->password = c->secret;
	return r;
}

static List *
data_requests(IngestSource *source, List *calls, const AwsCredentials *c)
{
	List	   *requests = NIL;
	ListCell   *lc;

	foreach(lc, calls)
		requests = lappend(requests, data_request(source, lfirst(lc), c, NULL));
	return requests;
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * The dimension set as the query's Dimensions, and its values joined by "/"
 * as the resource, both in order of dimension name (jsonb keeps no order of
 * its own): EndpointName before VariantName.
 */
static void
append_dimensions(StringInfo json, StringInfo resource, json_object *dims)
{
	int			n = json_object_object_length(dims);
	const char **names = palloc(sizeof(char *) * Max(n, 1));
	int			i = 0;

	{
		json_object_object_foreach(dims, dname, dvalue)
		{
			(void) dvalue;
			names[i++] = dname;
		}
	}
	qsort(names, n, sizeof(char *), compare_strings);
	for (i = 0; i < n; i++)
	{
		json_object *v;

		json_object_object_get_ex(dims, names[i], &v);
		appendStringInfo(json, "%s{\"Name\":", i ? "," : "");
		escape_json(json, names[i]);
		appendStringInfoString(json, ",\"Value\":");
		escape_json(json, json_object_get_string(v));
		appendStringInfoChar(json, '}');
		appendStringInfo(resource, "%s%s", i ? "/" : "", json_object_get_string(v));
	}
}

/* The query object of one (metric, dimension set) pair. */
static void
build_query(CwQuery *q, int id, const char *name, json_object *spec, json_object *dims,
			IngestSource *source, int period)
{
	const char *metric;
	const char *ns = ingest_config_string(source->config, "namespace", "AWS/SageMaker");
	const char *stat = "Average";
	StringInfoData json;
	StringInfoData resource;

	q->scale = 1.0;
	if (json_object_is_type(spec, json_type_string))
		metric = json_object_get_string(spec);
	else
	{
		json_object *v;

		metric = ingest_config_string(spec, "metric", "");
		ns = ingest_config_string(spec, "namespace", ns);
		stat = ingest_config_string(spec, "stat", stat);
		if (json_object_object_get_ex(spec, "scale", &v))
			q->scale = json_object_get_double(v);
	}

	initStringInfo(&json);
	initStringInfo(&resource);
	appendStringInfo(&json, "{\"Id\":\"q%d\",\"ReturnData\":true,\"MetricStat\":{\"Period\":%d,\"Stat\":", id, period);
	escape_json(&json, stat);
	appendStringInfoString(&json, ",\"Metric\":{\"Namespace\":");
	escape_json(&json, ns);
	appendStringInfoString(&json, ",\"MetricName\":");
	escape_json(&json, metric);
	appendStringInfoString(&json, ",\"Dimensions\":[");
	append_dimensions(&json, &resource, dims);
	appendStringInfoString(&json, "]}}}");

	q->id = id;
	q->metric = pstrdup(name);
	q->json = json.data;
	q->resource = ingest_config_string(source->config, "resource", NULL) ?
		pstrdup(ingest_config_string(source->config, "resource", NULL)) : resource.data;
	q->labels = ingest_labels_json(dims, NULL);
}

/* All queries of the window, in calls of at most MAX_QUERIES_PER_CALL. */
static List *
build_calls(IngestSource *source, long start, long end)
{
	json_object *metrics = NULL;
	json_object *dims;
	json_object *defaults = NULL;
	int			period = ingest_config_int(source->config, "period", 60, 1, 86400);
	List	   *calls = NIL;
	CwCall	   *call = NULL;
	int			n = 0;

	if (!json_object_object_get_ex(source->config, "metrics", &metrics))
		metrics = defaults = json_tokener_parse(default_metrics);
	json_object_object_get_ex(source->config, "dimensions", &dims);
	PG_TRY();
	{
		json_object_object_foreach(metrics, name, spec)
		{
			for (size_t d = 0; d < json_object_array_length(dims); d++)
			{
				if (call == NULL || call->nqueries == MAX_QUERIES_PER_CALL)
				{
					call = palloc0(sizeof(CwCall));
					call->queries = palloc0(sizeof(CwQuery) * MAX_QUERIES_PER_CALL);
					call->start = start;
					call->end = end;
					calls = lappend(calls, call);
				}
				build_query(&call->queries[call->nqueries], n++, name, spec,
							json_object_array_get_idx(dims, d), source, period);
				call->nqueries++;
			}
		}
	}
	PG_FINALLY();
	{
		json_object_put(defaults);
	}
	PG_END_TRY();
	return calls;
}

static List *
cloudwatch_plan(IngestSource *source, TimestampTz from, TimestampTz to)
{
	int			period = ingest_config_int(source->config, "period", 60, 1, 86400);
	long		start = (long) ceil(ingest_timestamptz_to_unix(from) / period) * period;
	long		end = (long) floor(ingest_timestamptz_to_unix(to) / period) * period;
	List	   *calls;
	AwsCredentials c;

	if (end <= start)
		return NIL;
	calls = build_calls(source, start, end);
	if (resolve_credentials(source, &c))
		return data_requests(source, calls, &c);
	return list_make1(imds_request(source, CW_IMDS_TOKEN, "/latest/api/token", calls, NULL));
}

/* ---- responses ---- */

static void
malformed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed CloudWatch response: %s", what)));
}

static CwQuery *
query_by_id(CwCall *call, const char *id)
{
	char	   *end;
	long		n;

	if (id == NULL || id[0] != 'q')
		return NULL;
	n = strtol(id + 1, &end, 10);
	for (int i = 0; *end == '\0' && i < call->nqueries; i++)
		if (call->queries[i].id == n)
			return &call->queries[i];
	return NULL;
}

static void
parse_result(CwCall *call, json_object *result, IngestBatch *batch)
{
	json_object *id;
	json_object *ts;
	json_object *values;
	CwQuery    *q;
	IngestSeries *series;

	if (!json_object_object_get_ex(result, "Id", &id) ||
		!json_object_object_get_ex(result, "Timestamps", &ts) ||
		!json_object_object_get_ex(result, "Values", &values) ||
		!json_object_is_type(ts, json_type_array) || !json_object_is_type(values, json_type_array) ||
		json_object_array_length(ts) != json_object_array_length(values))
		malformed("a result lacks Id, Timestamps or Values, or their lengths differ");
	q = query_by_id(call, json_object_get_string(id));
	if (q == NULL)
		malformed("a result has an Id that was not asked for");
	series = ingest_batch_series(batch, q->metric, q->resource, q->labels, NULL);
	for (size_t i = 0; i < json_object_array_length(ts); i++)
	{
		json_object *t = json_object_array_get_idx(ts, i);
		json_object *v = json_object_array_get_idx(values, i);

		if ((!json_object_is_type(t, json_type_int) && !json_object_is_type(t, json_type_double)) ||
			(!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)))
			malformed("a timestamp or value is not a number");
		ingest_series_add(batch, series, ingest_unix_to_timestamptz(json_object_get_double(t)),
						  json_object_get_double(v) * q->scale);
	}
}

static List *
parse_data(IngestSource *source, IngestRequest *r, CwCall *call, IngestBatch *batch)
{
	json_object *root = json_tokener_parse(r->response->data);
	List	   *next = NIL;

	if (root == NULL || !json_object_is_type(root, json_type_object))
	{
		json_object_put(root);
		malformed("the body is not a JSON object");
	}
	PG_TRY();
	{
		json_object *results;
		const char *token = ingest_config_string(root, "NextToken", NULL);

		if (!json_object_object_get_ex(root, "MetricDataResults", &results) ||
			!json_object_is_type(results, json_type_array))
			malformed("no MetricDataResults");
		for (size_t i = 0; i < json_object_array_length(results); i++)
			parse_result(call, json_object_array_get_idx(results, i), batch);
		if (token)
		{
			AwsCredentials c;

			if (!resolve_credentials(source, &c))
				malformed("credentials expired in the middle of a call");
			next = list_make1(data_request(source, call, &c, token));
		}
	}
	PG_FINALLY();
	{
		json_object_put(root);
	}
	PG_END_TRY();
	return next;
}

/* The IMDS credentials document: cache it, then make the waiting calls. */
static List *
parse_imds_credentials(IngestSource *source, IngestRequest *r, CwState *state)
{
	json_object *o = json_tokener_parse(r->response->data);
	AwsCredentials c;
	TimestampTz expires = GetCurrentTimestamp() + (TimestampTz) 300 * USECS_PER_SEC;

	if (o == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("malformed instance metadata credentials")));
	PG_TRY();
	{
		const char *exp = ingest_config_string(o, "Expiration", NULL);

		if (exp)
			expires = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(exp),
															  ObjectIdGetDatum(InvalidOid),
															  Int32GetDatum(-1)));
	}
	PG_FINALLY();
	{
		json_object_put(o);
	}
	PG_END_TRY();
	if (!credentials_from_json(r->response->data, &c, "AccessKeyId", "SecretAccessKey", "Token"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("instance metadata credentials lack AccessKeyId or SecretAccessKey")));
	ingest_token_put(source->name, IMDS_CACHE_KEY, r->response->data, expires);
	return data_requests(source, state->calls, &c);
}

static List *
cloudwatch_parse(IngestSource *source, IngestRequest *r, IngestBatch *batch)
{
	CwState    *state = r->provider_state;
	char	   *role;

	switch (state->step)
	{
		case CW_DATA:
			return parse_data(source, r, state->call, batch);
		case CW_IMDS_TOKEN:
			return list_make1(imds_request(source, CW_IMDS_ROLE,
										   "/latest/meta-data/iam/security-credentials/",
										   state->calls, r->response->data));
		case CW_IMDS_ROLE:
			role = pstrdup(r->response->data);
			role[strcspn(role, "\r\n")] = '\0';
			if (role[0] == '\0' || strchr(role, '/') != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("instance metadata names no usable IAM role")));
			return list_make1(imds_request(source, CW_IMDS_CREDENTIALS,
										   psprintf("/latest/meta-data/iam/security-credentials/%s", role),
										   state->calls, state->imds_token));
		case CW_IMDS_CREDENTIALS:
			return parse_imds_credentials(source, r, state);
	}
	return NIL;
}

/* Expired credentials: forget cached IMDS credentials and start the chain again. */
static List *
cloudwatch_unauthorized(IngestSource *source, IngestRequest *r)
{
	CwState    *state = r->provider_state;
	AwsCredentials c;

	if (state->step != CW_DATA || ingest_token_get(source->name, IMDS_CACHE_KEY) == NULL)
		return NIL;
	ingest_token_forget(source->name);
	if (resolve_credentials(source, &c))
		return list_make1(data_request(source, state->call, &c, NULL));
	return list_make1(imds_request(source, CW_IMDS_TOKEN, "/latest/api/token",
								   list_make1(state->call), NULL));
}

const IngestProvider cloudwatch_provider = {
	.name = "cloudwatch",
	.validate = cloudwatch_validate,
	.plan = cloudwatch_plan,
	.parse = cloudwatch_parse,
	.unauthorized = cloudwatch_unauthorized,
};
