/*
 * source.c: reading a source's config (json-c), and the sample batches
 * providers fill.
 *
 * A config is parsed with json-c, whose objects are malloc'd: whoever holds
 * one releases it with json_object_put, on error paths too (the worker frees
 * its sources at the end of every pass; SQL functions in PG_FINALLY).
 */
#include "postgres.h"

#include <math.h>

#include "ingest/ingest.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

static const IngestProvider *const providers[] = {
	&prometheus_provider,
	&cloudwatch_provider,
};

/* The providers this build knows and the ones still to come, for messages. */
#define PROVIDER_NAMES "prometheus, cloudwatch (gcp and azure are planned)"

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
				 errmsg("unknown config key \"%s\" for a %s source", key, provider),
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
