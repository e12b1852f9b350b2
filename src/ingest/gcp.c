/*
 * gcp.c: the gcp provider, Google Cloud Monitoring.
 *
 * A poll is one projects.timeSeries.list request per configured metric (our
 * metric name -> a Monitoring filter), aligned to the alignment period and
 * followed page by page through nextPageToken.  Requests carry an OAuth 2.0
 * access token, obtained either
 *  - from a service-account key, the source's secret: a JWT signed RS256
 *    with the key's private key (OpenSSL) is exchanged at the token endpoint;
 *  - or, with "auth": "metadata", from the metadata server of the VM or pod
 *    the database runs on;
 * and cached per backend until it expires.  Without a cached token a poll
 * first asks for one, and the token response brings the data requests.  A
 * 401 (a token revoked or expired early) forgets the token and asks for a
 * new one, once.
 *
 * The private key and the tokens never reach a message: errors about the
 * key say what is wrong with it, not what it is.
 */
#include "postgres.h"

#include <math.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/base64.h"
#include "ingest/ingest.h"
#include "utils/builtins.h"
#include "utils/json.h"

#define DEFAULT_ENDPOINT "https://monitoring.googleapis.com"
#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define DEFAULT_METADATA "http://metadata.google.internal"
#define MONITORING_SCOPE "https://www.googleapis.com/auth/monitoring.read"
#define JWT_HEADER "{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
/* RSA keys of up to 8192 bits */
#define MAX_SIGNATURE 1024

static const char *const gcp_keys[] = {
	"project", "metrics", "dimensions", "resource", "units", "scale", "auth",
	"endpoint", "token_endpoint", "metadata_endpoint", "alignment_period",
	"aligner", "page_size", "interval", "lookback", "timeout", NULL
};

/* What a request is for. */
typedef struct GcpState
{
	BearerState bearer;			/* first: the token flow's part */
	const char *metric;			/* data: our metric name */
	const char *filter;			/* data: the Monitoring filter */
} GcpState;

/* A config error: the key and what is wrong, never a value that may be secret. */
static void
bad_config(const char *message, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", message),
			 hint ? errhint("%s", hint) : 0));
}

/* Checks a gcp config when a source is added or altered, naming the bad key. */
static void
gcp_validate(json_object *config)
{
	const char *project;
	const char *auth;
	const char *aligner;
	json_object *v;

	ingest_check_config_keys(config, "gcp", gcp_keys);
	project = ingest_config_string(config, "project", NULL);
	if (project == NULL || project[0] == '\0')
		bad_config("a gcp source needs \"project\"",
				   "Name the Google Cloud project whose metrics to read, e.g. {\"project\": \"my-project\"}.");
	if (strpbrk(project, "/?#&% \t\n") != NULL)
		bad_config("config key \"project\" must be a project id", NULL);
	if (!json_object_object_get_ex(config, "metrics", &v))
		bad_config("a gcp source needs \"metrics\"",
				   "Map our metric names to Monitoring filters, e.g. {\"cpu_utilization\": \"metric.type = \\\"aiplatform.googleapis.com/prediction/online/cpu/utilization\\\"\"}.");
	ingest_check_string_map(config, "metrics",
							"For example {\"cpu_utilization\": \"metric.type = \\\"aiplatform.googleapis.com/prediction/online/cpu/utilization\\\"\"}.");
	ingest_check_string_list(config, "dimensions");
	ingest_check_string_map(config, "units", "For example {\"latency_ms\": \"ms\"}.");
	ingest_check_number_map(config, "scale",
							"For example {\"cpu_utilization\": 100} turns a fraction into percent.");
	ingest_config_string(config, "resource", NULL);
	auth = ingest_config_string(config, "auth", "service_account");
	if (strcmp(auth, "service_account") != 0 && strcmp(auth, "metadata") != 0)
		bad_config("config key \"auth\" of a gcp source must be \"service_account\" or \"metadata\"",
				   "\"service_account\" signs in with the key stored by aiml.set_metric_source_secret; \"metadata\" uses the metadata server's token.");
	if (json_object_object_get_ex(config, "endpoint", &v))
		ingest_config_base_url(config, "endpoint", NULL);
	if (json_object_object_get_ex(config, "token_endpoint", &v))
		ingest_config_base_url(config, "token_endpoint", NULL);
	if (json_object_object_get_ex(config, "metadata_endpoint", &v))
		ingest_config_base_url(config, "metadata_endpoint", NULL);
	ingest_config_int(config, "alignment_period", 60, 1, 86400);
	ingest_config_int(config, "page_size", 0, 1, 100000);
	aligner = ingest_config_string(config, "aligner", "ALIGN_MEAN");
	if (strncmp(aligner, "ALIGN_", 6) != 0 || strpbrk(aligner, "&?# ") != NULL)
		bad_config("config key \"aligner\" must be a Monitoring aligner such as \"ALIGN_MEAN\"", NULL);
}

/* One timeSeries.list request: a metric's filter over the window, one page. */
static IngestRequest *
data_request(IngestSource *source, GcpState *st, const char *page_token)
{
	json_object *config = source->config;
	StringInfoData url;
	int			page_size = ingest_config_int(config, "page_size", 0, 1, 100000);
	IngestRequest *r;

	initStringInfo(&url);
	appendStringInfo(&url, "%s/v3/projects/%s/timeSeries?filter=%s",
					 ingest_config_base_url(config, "endpoint", DEFAULT_ENDPOINT),
					 ingest_url_escape(ingest_config_string(config, "project", "")),
					 ingest_url_escape(st->filter));
	appendStringInfo(&url, "&interval.startTime=%s&interval.endTime=%s",
					 ingest_format_rfc3339(st->bearer.from),
					 ingest_format_rfc3339(st->bearer.to));
	appendStringInfo(&url, "&aggregation.alignmentPeriod=%ds&aggregation.perSeriesAligner=%s",
					 ingest_config_int(config, "alignment_period", 60, 1, 86400),
					 ingest_config_string(config, "aligner", "ALIGN_MEAN"));
	if (page_size > 0)
		appendStringInfo(&url, "&pageSize=%d", page_size);
	if (page_token)
		appendStringInfo(&url, "&pageToken=%s", ingest_url_escape(page_token));
	r = ingest_request_new(NULL, url.data);
	r->provider_state = st;
	ingest_request_add_bearer(r, st->bearer.token);
	return r;
}

/* The first page of every metric's request over [from, to]. */
static List *
data_requests(IngestSource *source, TimestampTz from, TimestampTz to,
			  const char *token)
{
	json_object *metrics;
	List	   *requests = NIL;

	if (json_object_object_get_ex(source->config, "metrics", &metrics))
	{
		json_object_object_foreach(metrics, name, filter)
		{
			GcpState   *st = palloc0(sizeof(GcpState));

			st->metric = pstrdup(name);
			st->filter = pstrdup(json_object_get_string(filter));
			st->bearer.token = token;
			st->bearer.from = from;
			st->bearer.to = to;
			requests = lappend(requests, data_request(source, st, NULL));
		}
	}
	return requests;
}

/* base64url without padding (RFC 7515), as JWTs are encoded. */
static char *
base64url(const char *data, int len)
{
	int			cap = pg_b64_enc_len(len) + 1;
	char	   *out = palloc(cap);
	int			n = pg_b64_encode(data, len, out, cap);

	if (n < 0)
		elog(ERROR, "base64 encoding failed");
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++)
	{
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

/* An encrypted key is refused instead of OpenSSL prompting on a terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return 0;
}

/*
 * Signs input with RSA SHA-256 (RS256) using the PEM private key.  Only
 * OpenSSL calls happen between allocating and freeing its objects, so no
 * PostgreSQL error can leak them; returns false for an unusable key.
 */
static bool
rs256_sign(const char *pem, const char *input, unsigned char *sig, size_t *siglen)
{
	BIO		   *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY   *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t		needed = 0;
	bool		ok = false;

	if (bio)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey && EVP_PKEY_base_id(pkey) == EVP_PKEY_RSA)
		ctx = EVP_MD_CTX_new();
	if (ctx &&
		EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_DigestSign(ctx, NULL, &needed, (const unsigned char *) input, strlen(input)) == 1 &&
		needed <= *siglen &&
		EVP_DigestSign(ctx, sig, siglen, (const unsigned char *) input, strlen(input)) == 1)
		ok = true;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

/* A string field of the service-account key, or an error naming it. */
static char *
key_field(IngestSource *source, json_object *key, const char *field, bool required)
{
	json_object *v;

	if (json_object_object_get_ex(key, field, &v) && json_object_is_type(v, json_type_string) &&
		json_object_get_string_len(v) > 0)
		return pstrdup(json_object_get_string(v));
	if (required)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the service account key of gcp source \"%s\" has no \"%s\"",
						source->name, field),
				 errhint("Store the JSON key file Google issued for the service account, unchanged, with aiml.set_metric_source_secret.")));
	return NULL;
}

/*
 * The token request of the JWT bearer grant (RFC 7523): claims for the
 * monitoring.read scope, signed with the key, POSTed to the token endpoint.
 */
static IngestRequest *
service_account_request(IngestSource *source)
{
	json_object *key;
	char	   *email = NULL;
	char	   *pem = NULL;
	char	   *token_uri = NULL;
	char	   *url;
	StringInfoData claims;
	char	   *input;
	unsigned char sig[MAX_SIGNATURE];
	size_t		siglen = sizeof(sig);
	long		now = (long) floor(ingest_timestamptz_to_unix(GetCurrentTimestamp()));
	IngestRequest *r;

	if (source->secret == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("gcp source \"%s\" has no service account key", source->name),
				 errhint("Store the key file's JSON with aiml.set_metric_source_secret, or set \"auth\": \"metadata\" to use the metadata server.")));
	key = json_tokener_parse(source->secret);
	PG_TRY();
	{
		if (key == NULL || !json_object_is_type(key, json_type_object))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the secret of gcp source \"%s\" is not a service account key", source->name),
					 errhint("Store the JSON key file Google issued for the service account, unchanged, with aiml.set_metric_source_secret.")));
		email = key_field(source, key, "client_email", true);
		pem = key_field(source, key, "private_key", true);
		token_uri = key_field(source, key, "token_uri", false);
	}
	PG_FINALLY();
	{
		json_object_put(key);
	}
	PG_END_TRY();

	if (token_uri)
		ingest_check_url("token_uri", token_uri);
	url = json_object_object_get_ex(source->config, "token_endpoint", NULL) ?
		ingest_config_base_url(source->config, "token_endpoint", NULL) :
		(token_uri ? token_uri : DEFAULT_TOKEN_URI);

	initStringInfo(&claims);
	appendStringInfoString(&claims, "{\"iss\":");
	escape_json(&claims, email);
	appendStringInfoString(&claims, ",\"scope\":\"" MONITORING_SCOPE "\",\"aud\":");
	escape_json(&claims, token_uri ? token_uri : url);
	appendStringInfo(&claims, ",\"iat\":%ld,\"exp\":%ld}", now, now + 3600);

	input = psprintf("%s.%s", base64url(JWT_HEADER, strlen(JWT_HEADER)),
					 base64url(claims.data, claims.len));
	if (!rs256_sign(pem, input, sig, &siglen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the service account key of gcp source \"%s\" has no usable RSA private key", source->name),
				 errhint("Store the JSON key file Google issued for the service account, unchanged, with aiml.set_metric_source_secret.")));
	memset(pem, 0, strlen(pem));

	r = ingest_request_new(NULL, url);
	r->method = "POST";
	r->body = psprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&assertion=%s.%s",
					   input, base64url((char *) sig, (int) siglen));
	r->headers = lappend(r->headers, "Content-Type: application/x-www-form-urlencoded");
	return r;
}

/* The request for an access token: the metadata server's or a JWT's. */
static IngestRequest *
token_request(IngestSource *source)
{
	const char *auth = ingest_config_string(source->config, "auth", "service_account");
	IngestRequest *r;

	if (strcmp(auth, "metadata") == 0)
	{
		r = ingest_request_new(NULL,
							   psprintf("%s/computeMetadata/v1/instance/service-accounts/default/token",
										ingest_config_base_url(source->config, "metadata_endpoint",
															   DEFAULT_METADATA)));
		r->headers = lappend(r->headers, "Metadata-Flavor: Google");
	}
	else
		r = service_account_request(source);
	return r;
}

static List *parse_page(IngestSource *source, IngestRequest *r, IngestBatch *batch);

static const BearerFlow gcp_flow = {
	.provider = "gcp",
	.state_size = sizeof(GcpState),
	.refused_hint = "Check the service account key and that the account is enabled.",
	.token_request = token_request,
	.data_requests = data_requests,
	.parse_data = parse_page,
};

/*
 * The window, aligned to the alignment period so that a point always gets
 * the same timestamp; the token request first when none is cached.
 */
static List *
gcp_plan(IngestSource *source, TimestampTz from_ts, TimestampTz to_ts)
{
	int			period = ingest_config_int(source->config, "alignment_period", 60, 1, 86400);
	double		from = floor(ingest_timestamptz_to_unix(from_ts) / period) * period;
	double		to = floor(ingest_timestamptz_to_unix(to_ts) / period) * period;

	if (to <= from)
		return NIL;
	from_ts = ingest_unix_to_timestamptz(from);
	to_ts = ingest_unix_to_timestamptz(to);
	return bearer_plan(&gcp_flow, source, from_ts, to_ts);
}

/* A response the provider cannot read; the body is not quoted (size, secrets). */
static void
malformed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed Cloud Monitoring response: %s", what)));
}

/* A number of the API's JSON: a JSON number, or (int64, NaN) a string. */
static bool
json_number(json_object *v, double *d)
{
	const char *s;
	char	   *end;

	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
	{
		*d = json_object_get_double(v);
		return true;
	}
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	*d = strtod(s, &end);
	return end != s && *end == '\0';
}

/*
 * One TimeSeries: the resource's and the metric's labels (metric labels win
 * a clash) name the series and, through "dimensions" (by default the
 * endpoint_id label of Vertex AI endpoints), its resource.
 */
static void
parse_series(IngestSource *source, GcpState *st, json_object *item, IngestBatch *batch)
{
	json_object *metric = ingest_json_member(item, "metric", json_type_object);
	json_object *resource = ingest_json_member(item, "resource", json_type_object);
	json_object *labels;
	json_object *rlabels = ingest_json_member(resource, "labels", json_type_object);
	json_object *points = ingest_json_member(item, "points", json_type_array);
	json_object *unit = ingest_json_member(item, "unit", json_type_string);
	json_object *units = ingest_json_member(source->config, "units", json_type_object);
	json_object *v;
	const char *fallback = source->name;
	double		scale = ingest_config_metric_number(source->config, "scale", st->metric, 1.0);
	IngestSeries *series;

	if (metric == NULL || resource == NULL)
		malformed("a time series lacks \"metric\" or \"resource\"");
	labels = ingest_json_member(metric, "labels", json_type_object);
	if (labels == NULL)
	{
		/* owned by the response, freed with it */
		labels = json_object_new_object();
		json_object_object_add(metric, "labels", labels);
	}
	if (rlabels)
	{
		json_object_object_foreach(rlabels, name, value)
		{
			if (!json_object_object_get_ex(labels, name, NULL))
				json_object_object_add(labels, name, json_object_get(value));
		}
	}
	if (json_object_object_get_ex(labels, "endpoint_id", &v))
		fallback = json_object_get_string(v);
	if (units && (v = ingest_json_member(units, st->metric, json_type_string)) != NULL)
		unit = v;
	series = ingest_batch_series(batch, st->metric,
								 ingest_resource_from_labels(source, labels, fallback),
								 ingest_labels_json(labels, NULL),
								 unit ? json_object_get_string(unit) : NULL);

	for (size_t i = 0; points && i < json_object_array_length(points); i++)
	{
		json_object *point = json_object_array_get_idx(points, i);
		json_object *interval = ingest_json_member(point, "interval", json_type_object);
		json_object *end = ingest_json_member(interval, "endTime", json_type_string);
		json_object *value = ingest_json_member(point, "value", json_type_object);
		TimestampTz ts;
		double		d;

		if (end == NULL || !ingest_parse_rfc3339(json_object_get_string(end), &ts))
			malformed("a point has no valid interval.endTime");
		if (value == NULL)
			malformed("a point has no value");
		if (!json_object_object_get_ex(value, "doubleValue", &v) &&
			!json_object_object_get_ex(value, "int64Value", &v))
			malformed("a point has neither doubleValue nor int64Value");
		if (!json_number(v, &d))
			malformed("a point's value is not a number");
		ingest_series_add(batch, series, ts, d * scale);
	}
}

/* A page of timeSeries.list; the next page's request when there is one. */
static List *
parse_page(IngestSource *source, IngestRequest *r, IngestBatch *batch)
{
	GcpState   *st = r->provider_state;
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(r->response->data, &jerr);
	char	   *next = NULL;

	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("malformed Cloud Monitoring response: %s", json_tokener_error_desc(jerr))));
	PG_TRY();
	{
		json_object *series;
		json_object *v;

		if (!json_object_is_type(root, json_type_object))
			malformed("not a JSON object");
		/* an empty result has no "timeSeries" at all */
		if (json_object_object_get_ex(root, "timeSeries", &series))
		{
			if (!json_object_is_type(series, json_type_array))
				malformed("\"timeSeries\" is not a list");
			for (size_t i = 0; i < json_object_array_length(series); i++)
				parse_series(source, st, json_object_array_get_idx(series, i), batch);
		}
		if (json_object_object_get_ex(root, "nextPageToken", &v))
		{
			if (!json_object_is_type(v, json_type_string))
				malformed("\"nextPageToken\" is not a string");
			if (json_object_get_string_len(v) > 0)
				next = pstrdup(json_object_get_string(v));
		}
	}
	PG_FINALLY();
	{
		json_object_put(root);
	}
	PG_END_TRY();
	return next ? list_make1(data_request(source, st, next)) : NIL;
}

static List *
gcp_parse(IngestSource *source, IngestRequest *r, IngestBatch *batch)
{
	return bearer_parse(&gcp_flow, source, r, batch);
}

static List *
gcp_unauthorized(IngestSource *source, IngestRequest *r)
{
	return bearer_unauthorized(&gcp_flow, source, r);
}

const IngestProvider gcp_provider = {
	.name = "gcp",
	.validate = gcp_validate,
	.plan = gcp_plan,
	.parse = gcp_parse,
	.unauthorized = gcp_unauthorized,
};
