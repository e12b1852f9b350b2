/*
 * source.c: reading a source's config (json-c), and the sample batches
 * providers fill.
 *
 * A config is parsed with json-c, whose objects are malloc'd: whoever holds
 * one releases it with json_object_put, on error paths too (the worker frees
 * its sources at the end of every pass; SQL functions in PG_FINALLY).
 */
#include "postgres.h"

#include <curl/curl.h>
#include <math.h>

#include "common/hashfn.h"
#include "ingest/ingest.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/memutils.h"

static const IngestProvider *const providers[] = {
	&prometheus_provider,
	&cloudwatch_provider,
	&gcp_provider,
	&azure_provider,
};

/* The providers this build knows, for messages. */
#define PROVIDER_NAMES "prometheus, cloudwatch, gcp, azure"

const IngestProvider *
ingest_provider(const char *name)
{
	for (int i = 0; i < lengthof(providers); i++)
		if (strcmp(providers[i]->name, name) == 0)
			return providers[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown metric source provider \"%s\"", name),
			 errhint("Known providers: " PROVIDER_NAMES ".")));
	return NULL;				/* keep compiler quiet */
}

json_object *
ingest_parse_config(const char *text)
{
	enum json_tokener_error jerr;
	json_object *config = json_tokener_parse_verbose(text, &jerr);

	if (config == NULL || !json_object_is_type(config, json_type_object))
	{
		json_object_put(config);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric source config must be a JSON object"),
				 errhint("For example '{\"endpoint\": \"http://127.0.0.1:9090\", \"query\": \"up\"}'.")));
	}
	return config;
}

void
ingest_check_config_keys(json_object *config, const char *provider,
						 const char *const *allowed)
{
	json_object_object_foreach(config, key, value)
	{
		bool		known = false;
		StringInfoData list;

		(void) value;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (known)
			continue;
		initStringInfo(&list);
		for (const char *const *a = allowed; *a; a++)
			appendStringInfo(&list, "%s%s", a == allowed ? "" : ", ", *a);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown config key \"%s\" for provider %s", key, provider),
				 errhint("Valid keys are %s.", list.data)));
	}
}

const char *
ingest_config_string(json_object *config, const char *key, const char *dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(config, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	if (!json_object_is_type(v, json_type_string))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be a string", key)));
	return json_object_get_string(v);
}

int
ingest_config_int(json_object *config, const char *key, int dflt, int min, int max)
{
	json_object *v;
	double		d;

	if (!json_object_object_get_ex(config, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be a number", key)));
	d = json_object_get_double(v);
	if (d != floor(d) || d < min || d > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be a whole number between %d and %d", key, min, max)));
	return (int) d;
}

bool
ingest_config_bool(json_object *config, const char *key, bool dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(config, key, &v) || json_object_is_type(v, json_type_null))
		return dflt;
	if (!json_object_is_type(v, json_type_boolean))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be true or false", key)));
	return json_object_get_boolean(v);
}

/* http(s) only, and no credentials in the URL: those belong in the secret. */
void
ingest_check_url(const char *what, const char *url)
{
	const char *rest;

	if (pg_strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (pg_strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be an http:// or https:// URL", what)));
	if (rest[0] == '\0' || rest[0] == '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" has no host", what)));
	if (strchr(rest, '@') != NULL && (strchr(rest, '/') == NULL || strchr(rest, '@') < strchr(rest, '/')))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must not contain credentials", what),
				 errhint("Store a password or token with aiml.set_metric_source_secret, where only the extension owner can read it.")));
}

void
ingest_source_free(IngestSource *source)
{
	if (source->config)
		json_object_put(source->config);
	source->config = NULL;
}

/* A JSON object of the labels (all but skip), for the series' labels column. */
char *
ingest_labels_json(json_object *labels, const char *skip)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	if (labels)
	{
		json_object_object_foreach(labels, key, value)
		{
			if (skip && strcmp(key, skip) == 0)
				continue;
			if (!first)
				appendStringInfoChar(&buf, ',');
			first = false;
			escape_json(&buf, key);
			appendStringInfoChar(&buf, ':');
			escape_json(&buf, json_object_get_string(value));
		}
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * The resource (model, endpoint, instance) a series belongs to: the values of
 * the config's "dimensions" labels joined by "/", else the config's
 * "resource", else the label "instance", else fallback.
 */
char *
ingest_resource_from_labels(IngestSource *source, json_object *labels,
							const char *fallback)
{
	json_object *dims;
	const char *fixed = ingest_config_string(source->config, "resource", NULL);
	json_object *v;

	if (json_object_object_get_ex(source->config, "dimensions", &dims) &&
		json_object_is_type(dims, json_type_array) && json_object_array_length(dims) > 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (size_t i = 0; i < json_object_array_length(dims); i++)
		{
			const char *name = json_object_get_string(json_object_array_get_idx(dims, i));
			const char *value = "";

			if (labels && json_object_object_get_ex(labels, name, &v))
				value = json_object_get_string(v);
			appendStringInfo(&buf, "%s%s", i ? "/" : "", value);
		}
		return buf.data;
	}
	if (fixed)
		return pstrdup(fixed);
	if (labels && json_object_object_get_ex(labels, "instance", &v))
		return pstrdup(json_object_get_string(v));
	return pstrdup(fallback);
}

/* A query parameter's value, percent-encoded (libcurl's malloc'd copy is freed). */
char *
ingest_url_escape(const char *s)
{
	char	   *e = curl_easy_escape(NULL, s, 0);
	char	   *copy;

	if (e == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	copy = pstrdup(e);
	curl_free(e);
	return copy;
}

/*
 * A base URL from the config (or dflt), checked, without trailing slashes, so
 * that providers can append paths to it.
 */
char *
ingest_config_base_url(json_object *config, const char *key, const char *dflt)
{
	char	   *e = pstrdup(ingest_config_string(config, key, dflt));
	int			n = strlen(e);

	ingest_check_url(key, e);
	while (n > 0 && e[n - 1] == '/')
		e[--n] = '\0';
	return e;
}

/* A config key that, when present, must be a list of strings (label names). */
void
ingest_check_string_list(json_object *config, const char *key)
{
	json_object *v;
	bool		ok;

	if (!json_object_object_get_ex(config, key, &v))
		return;
	ok = json_object_is_type(v, json_type_array);
	for (size_t i = 0; ok && i < json_object_array_length(v); i++)
		ok = json_object_is_type(json_object_array_get_idx(v, i), json_type_string);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be a list of label names", key)));
}

/* A config key that, when present, must map names to strings; hint shows one. */
void
ingest_check_string_map(json_object *config, const char *key, const char *hint)
{
	json_object *v;
	bool		ok;

	if (!json_object_object_get_ex(config, key, &v))
		return;
	ok = json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0;
	if (ok)
	{
		json_object_object_foreach(v, name, value)
			ok &= json_object_is_type(value, json_type_string) && name[0] != '\0';
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must be a non-empty object of metric names to strings", key),
				 errhint("%s", hint)));
}

/*
 * A config key that, when present, must map metric names to finite numbers
 * (e.g. "scale"); hint shows one.
 */
void
ingest_check_number_map(json_object *config, const char *key, const char *hint)
{
	json_object *v;
	bool		ok;

	if (!json_object_object_get_ex(config, key, &v))
		return;
	ok = json_object_is_type(v, json_type_object);
	if (ok)
	{
		json_object_object_foreach(v, name, number)
		{
			(void) name;
			ok &= (json_object_is_type(number, json_type_double) ||
				   json_object_is_type(number, json_type_int)) &&
				isfinite(json_object_get_double(number));
		}
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config key \"%s\" must map metric names to numbers", key),
				 errhint("%s", hint)));
}

/* config[key][metric] of a map checked by ingest_check_number_map, or dflt. */
double
ingest_config_metric_number(json_object *config, const char *key,
							const char *metric, double dflt)
{
	json_object *map;
	json_object *v;

	if (json_object_object_get_ex(config, key, &map) &&
		json_object_is_type(map, json_type_object) &&
		json_object_object_get_ex(map, metric, &v))
		return json_object_get_double(v);
	return dflt;
}

/* A member of a JSON object with the given type, or NULL (obj may be NULL). */
json_object *
ingest_json_member(json_object *obj, const char *key, json_type type)
{
	json_object *v;

	if (obj && json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, type))
		return v;
	return NULL;
}

IngestSeries *
ingest_batch_series(IngestBatch *batch, const char *metric, const char *resource,
					const char *labels, const char *unit)
{
	IngestSeries *s = palloc0(sizeof(IngestSeries));

	s->metric = pstrdup(metric);
	s->resource = pstrdup(resource);
	s->labels = pstrdup(labels);
	s->unit = unit ? pstrdup(unit) : NULL;
	batch->series = lappend(batch->series, s);
	return s;
}

/* Non-finite values (Prometheus' NaN staleness markers, +Inf) are not stored. */
void
ingest_series_add(IngestBatch *batch, IngestSeries *s, TimestampTz ts, double value)
{
	if (!isfinite(value))
		return;
	if (s->nsamples == s->capacity)
	{
		s->capacity = s->capacity ? s->capacity * 2 : 16;
		s->ts = s->ts ? repalloc(s->ts, sizeof(TimestampTz) * s->capacity)
			: palloc(sizeof(TimestampTz) * s->capacity);
		s->values = s->values ? repalloc(s->values, sizeof(double) * s->capacity)
			: palloc(sizeof(double) * s->capacity);
	}
	s->ts[s->nsamples] = ts;
	s->values[s->nsamples] = value;
	s->nsamples++;
	batch->nsamples++;
	if (ts > batch->max_ts)
		batch->max_ts = ts;
}

/* Unix seconds, rounded to the millisecond Prometheus works in. */
TimestampTz
ingest_unix_to_timestamptz(double unix_seconds)
{
	double		ms = rint(unix_seconds * 1000.0);

	return (TimestampTz) (ms * 1000.0) -
		((TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC);
}

double
ingest_timestamptz_to_unix(TimestampTz ts)
{
	return (double) ts / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/*
 * RFC 3339 in UTC, whole seconds ("2026-11-23T10:00:00Z"): the time format
 * of the Google and Azure APIs.
 */
char *
ingest_format_rfc3339(TimestampTz ts)
{
	int64		secs = ts / USECS_PER_SEC - (ts % USECS_PER_SEC < 0 ? 1 : 0);
	int64		days = secs / SECS_PER_DAY - (secs % SECS_PER_DAY < 0 ? 1 : 0);
	int			tod = (int) (secs - days * SECS_PER_DAY);
	int			y,
				m,
				d;

	j2date((int) days + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
					tod / 3600, tod / 60 % 60, tod % 60);
}

/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)"; false when text
 * is not that.  No PostgreSQL error, so a caller can report which field of a
 * response was bad.
 */
bool
ingest_parse_rfc3339(const char *text, TimestampTz *ts)
{
	int			y,
				mo,
				d,
				h,
				mi,
				s,
				n = 0;
	const char *p;
	double		frac = 0;
	int			offset_s = 0;

	if (sscanf(text, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
		n == 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 ||
		y < 1900 || y > 9999 || h < 0 || mi < 0 || s < 0)
		return false;
	p = text + n;
	if (*p == '.')
	{
		double		scale = 0.1;

		p++;
		if (!isdigit((unsigned char) *p))
			return false;
		while (isdigit((unsigned char) *p))
		{
			frac += (*p++ - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			oh,
					om,
					m = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
			return false;
		offset_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	}
	else
		return false;
	if (*p != '\0')
		return false;
	*ts = ((int64) (date2j(y, mo, d) - POSTGRES_EPOCH_JDATE) * SECS_PER_DAY +
		   h * 3600 + mi * 60 + s - offset_s) * USECS_PER_SEC +
		(int64) rint(frac * 1000000.0);
	return true;
}

/*
 * Credentials cached per backend: the worker keeps an access token until it
 * expires instead of asking the token endpoint on every poll.  Entries live
 * in TopMemoryContext; a minute before expiry a token counts as expired.
 */
typedef struct CachedToken
{
	char	   *source;
	char	   *what;
	char	   *token;
	TimestampTz expires;
} CachedToken;

static List *tokens = NIL;

static CachedToken *
find_token(const char *source, const char *what)
{
	ListCell   *lc;

	foreach(lc, tokens)
	{
		CachedToken *t = lfirst(lc);

		if (strcmp(t->source, source) == 0 && strcmp(t->what, what) == 0)
			return t;
	}
	return NULL;
}

const char *
ingest_token_get(const char *source, const char *what)
{
	CachedToken *t = find_token(source, what);

	if (t == NULL || t->expires - 60 * USECS_PER_SEC < GetCurrentTimestamp())
		return NULL;
	return t->token;
}

void
ingest_token_put(const char *source, const char *what, const char *token,
				 TimestampTz expires)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	CachedToken *t = find_token(source, what);

	if (t == NULL)
	{
		t = palloc0(sizeof(CachedToken));
		t->source = pstrdup(source);
		t->what = pstrdup(what);
		tokens = lappend(tokens, t);
	}
	else
		pfree(t->token);
	t->token = pstrdup(token);
	t->expires = expires;
	MemoryContextSwitchTo(old);
}

/*
 * The cache key of a provider's access token for a source: it names a hash of
 * the config and the secret, so that a new key, client secret or auth mode
 * is used at once instead of a token obtained with the old one.
 */
char *
ingest_token_key(IngestSource *source, const char *provider)
{
	const char *config = json_object_to_json_string(source->config);
	uint32		h = hash_bytes((const unsigned char *) config, strlen(config));

	if (source->secret)
		h = hash_combine(h, hash_bytes((const unsigned char *) source->secret,
									   strlen(source->secret)));
	return psprintf("%s access token %08x", provider, h);
}

/* Every token cached for source, expired or forgotten ones too: for redaction. */
List *
ingest_token_values(const char *source)
{
	List	   *values = NIL;
	ListCell   *lc;

	foreach(lc, tokens)
	{
		CachedToken *t = lfirst(lc);

		if (strcmp(t->source, source) == 0)
			values = lappend(values, t->token);
	}
	return values;
}

void
ingest_token_forget(const char *source)
{
	ListCell   *lc;

	foreach(lc, tokens)
	{
		CachedToken *t = lfirst(lc);

		if (strcmp(t->source, source) == 0)
			t->expires = 0;
	}
}

/*
 * Reads an OAuth 2.0 token response ({"access_token": ..., "expires_in": N},
 * where N may be a number or, from Azure's metadata service, a string) and
 * caches the token under what until it expires.  Error messages name what
 * was wrong, never the body: it holds the token.
 */
const char *
ingest_token_from_response(IngestSource *source, const char *what,
						   IngestRequest *r)
{
	json_object *root = json_tokener_parse(r->response->data);
	const char *token = NULL;
	const char *problem = NULL;

	PG_TRY();
	{
		json_object *t;
		json_object *e;
		double		expires_in = 3600;

		if (root == NULL || !json_object_is_type(root, json_type_object))
			problem = "it is not a JSON object";
		else if (!json_object_object_get_ex(root, "access_token", &t) ||
				 !json_object_is_type(t, json_type_string) ||
				 json_object_get_string_len(t) == 0)
			problem = "it has no \"access_token\"";
		else
		{
			if (json_object_object_get_ex(root, "expires_in", &e))
			{
				const char *text = json_object_get_string(e);
				char	   *end;

				expires_in = strtod(text, &end);
				if (end == text || *end != '\0' || !(expires_in > 0 && expires_in < 366 * 86400.0))
					problem = "its \"expires_in\" is not a number of seconds";
			}
			if (problem == NULL)
			{
				ingest_token_put(source->name, what, json_object_get_string(t),
								 GetCurrentTimestamp() + (TimestampTz) (expires_in * USECS_PER_SEC));
				token = ingest_token_get(source->name, what);
				if (token == NULL)
					problem = "the token expires within a minute";
			}
		}
		if (problem)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("malformed token response from %s: %s",
							pnstrdup(r->url, strcspn(r->url, "?")), problem)));
	}
	PG_FINALLY();
	{
		json_object_put(root);
	}
	PG_END_TRY();
	return token;
}

/* Sends a bearer token with the request. */
void
ingest_request_add_bearer(IngestRequest *r, const char *token)
{
	r->headers = lappend(r->headers, psprintf("Authorization: Bearer %s", token));
}
