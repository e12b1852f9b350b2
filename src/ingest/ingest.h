/*
 * ingest.h: pulling resource metrics of deployed models into tables.
 *
 * The pieces, and who owns what:
 *
 *   provider (prometheus.c, later cloudwatch.c, gcp.c, azure.c)
 *       turns a source's config and a time window into HTTP requests, and
 *       each response into samples (and, for paginated APIs, the next request).
 *   http.c
 *       runs requests with libcurl's multi interface: several sources at
 *       once, bounded bodies, host allow-list, cancellable.
 *   sink.c
 *       writes one source's samples with SPI: series upserted, samples
 *       inserted ON CONFLICT DO NOTHING, watermark and status moved in the
 *       same transaction, so a crash never loses or duplicates a sample.
 *   worker.c
 *       the background worker: schedules due sources, retries with backoff,
 *       records failures; and aiml.ingest_now() for one synchronous poll.
 */
#ifndef AIML_INGEST_H
#define AIML_INGEST_H

#include "postgres.h"

/*
 * PostgreSQL's fmgrprotos.h declares a function json_object() and json-c a
 * type of that name: PostgreSQL's is renamed in the files that use json-c,
 * which include this header before any other that pulls in fmgrprotos.h.
 */
#define json_object pg_json_object_function
#include "utils/builtins.h"
#undef json_object
#include <json-c/json.h>

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/timestamp.h"

/* One source row of aiml.metric_sources, with its config parsed. */
typedef struct IngestSource
{
	char	   *name;
	char	   *provider;
	json_object *config;		/* owned; freed by ingest_source_free */
	char	   *secret;			/* NULL when none; never logged */
	int			interval_s;
	int			lookback_s;
	int			timeout_ms;
	TimestampTz watermark;		/* 0 when nothing was ingested yet */
	int			consecutive_failures;
} IngestSource;

/* One series and the samples read for it in this poll. */
typedef struct IngestSeries
{
	char	   *metric;
	char	   *resource;
	char	   *labels;			/* JSON object text */
	char	   *unit;			/* NULL when unknown */
	int			nsamples;
	int			capacity;
	TimestampTz *ts;
	double	   *values;
} IngestSeries;

typedef struct IngestBatch
{
	MemoryContext cxt;			/* where the poll lives: outlives the
								 * transactions that write the batch */
	List	   *series;			/* of IngestSeries * */
	int64		nsamples;
	TimestampTz max_ts;
} IngestBatch;

struct IngestPoll;

/* An HTTP request a provider wants made, and what came back. */
typedef struct IngestRequest
{
	struct IngestPoll *poll;	/* the poll it belongs to */
	char	   *url;
	char	   *method;			/* "GET" or "POST" */
	char	   *body;			/* POST body or NULL */
	List	   *headers;		/* of char *, "Name: value" */
	char	   *username;		/* basic auth or AWS access key, or NULL */
	char	   *password;
	char	   *aws_sigv4;		/* "aws:amz:region:service": sign with SigV4 */
	void	   *provider_state; /* e.g. which metric a query is for */
	bool		is_retry;		/* sent again after a 401: not retried twice */

	/* filled by http.c */
	long		status;
	StringInfo	response;
	char	   *error;			/* transport error, NULL when a response came */
	int			retry_after_s;	/* from a 429/503's Retry-After, else 0 */
} IngestRequest;

/* One poll of one source: its requests, what they gave, how it ended. */
typedef struct IngestPoll
{
	IngestSource *source;
	const struct IngestProvider *provider;
	TimestampTz started;
	IngestBatch batch;
	int			pending;		/* requests not finished yet */
	char	   *error;			/* first failure, NULL while all went well */
	int			retry_after_s;
} IngestPoll;

typedef struct IngestProvider
{
	const char *name;

	/* Raise an error naming what is wrong with a config (add_metric_source). */
	void		(*validate) (json_object *config);

	/* The first requests of a poll covering [from, to]. */
	List	   *(*plan) (IngestSource *source, TimestampTz from, TimestampTz to);

	/*
	 * Parse a successful response into batch; returns follow-up requests
	 * (the next page; the data requests after a token request), else NIL.
	 * Raises an error for a malformed body.
	 */
	List	   *(*parse) (IngestSource *source, IngestRequest *request,
						  IngestBatch *batch);

	/*
	 * Optional: a request was refused with 401 or 403 (expired credentials).  Forget
	 * cached credentials and return the requests that retry it, once.
	 */
	List	   *(*unauthorized) (IngestSource *source, IngestRequest *request);
} IngestProvider;

/* worker.c: settings, and worker registration from _PG_init */
extern char *ingest_database;
extern char *ingest_allowed_hosts;
extern int	ingest_max_response_bytes;
extern int	ingest_batch_rows;
extern void ingest_init(void);

/* providers */
extern const IngestProvider *ingest_provider(const char *name);
extern const IngestProvider prometheus_provider;
extern const IngestProvider cloudwatch_provider;
extern const IngestProvider gcp_provider;
extern const IngestProvider azure_provider;

/* credentials cached per backend until they expire (source.c) */
extern const char *ingest_token_get(const char *source, const char *what);
extern void ingest_token_put(const char *source, const char *what,
							 const char *token, TimestampTz expires);
extern void ingest_token_forget(const char *source);
extern List *ingest_token_values(const char *source);
extern char *ingest_token_key(IngestSource *source, const char *provider);
extern const char *ingest_token_from_response(IngestSource *source,
											  const char *what,
											  IngestRequest *request);
extern void ingest_request_add_bearer(IngestRequest *request, const char *token);

/*
 * The OAuth 2.0 bearer-token flow of gcp and azure (bearer.c).  A provider's
 * per-request state struct begins with a BearerState.
 */
typedef struct BearerState
{
	bool		is_token_request;	/* else a data request */
	const char *token;			/* data: the access token sent */
	TimestampTz from;			/* the poll's aligned window */
	TimestampTz to;
	IngestRequest *retry;		/* token: the request refused with 401 */
} BearerState;

typedef struct BearerFlow
{
	const char *provider;		/* names the token in the cache */
	Size		state_size;		/* of the provider's state struct */
	const char *refused_hint;	/* errhint when the token request is refused */
	IngestRequest *(*token_request) (IngestSource *source);
	List	   *(*data_requests) (IngestSource *source, TimestampTz from,
								  TimestampTz to, const char *token);
	List	   *(*parse_data) (IngestSource *source, IngestRequest *request,
							   IngestBatch *batch);
} BearerFlow;

extern List *bearer_plan(const BearerFlow *flow, IngestSource *source,
						 TimestampTz from, TimestampTz to);
extern List *bearer_parse(const BearerFlow *flow, IngestSource *source,
						  IngestRequest *request, IngestBatch *batch);
extern List *bearer_unauthorized(const BearerFlow *flow, IngestSource *source,
								 IngestRequest *request);

/* source config helpers (source.c) */
extern json_object *ingest_parse_config(const char *text);
extern const char *ingest_config_string(json_object *config, const char *key,
										const char *dflt);
extern int	ingest_config_int(json_object *config, const char *key, int dflt,
							  int min, int max);
extern bool ingest_config_bool(json_object *config, const char *key, bool dflt);
extern void ingest_check_config_keys(json_object *config, const char *provider,
									 const char *const *allowed);
extern void ingest_check_url(const char *what, const char *url);
extern void ingest_source_free(IngestSource *source);
extern char *ingest_labels_json(json_object *labels, const char *skip);
extern char *ingest_resource_from_labels(IngestSource *source, json_object *labels,
										 const char *fallback);
extern char *ingest_url_escape(const char *s);
extern char *ingest_config_base_url(json_object *config, const char *key,
									const char *dflt);
extern void ingest_check_string_list(json_object *config, const char *key);
extern void ingest_check_string_map(json_object *config, const char *key,
									const char *hint);
extern void ingest_check_number_map(json_object *config, const char *key,
									const char *hint);
extern double ingest_config_metric_number(json_object *config, const char *key,
										  const char *metric, double dflt);
extern json_object *ingest_json_member(json_object *obj, const char *key,
									   json_type type);

/* batches */
extern IngestSeries *ingest_batch_series(IngestBatch *batch, const char *metric,
										 const char *resource, const char *labels,
										 const char *unit);
extern void ingest_series_add(IngestBatch *batch, IngestSeries *series,
							  TimestampTz ts, double value);
extern TimestampTz ingest_unix_to_timestamptz(double unix_seconds);
extern double ingest_timestamptz_to_unix(TimestampTz ts);
extern char *ingest_format_rfc3339(TimestampTz ts);
extern bool ingest_parse_rfc3339(const char *text, TimestampTz *ts);

/* http.c: run requests; on_done is called for each as it finishes and may
 * return follow-up requests to run in the same loop. */
typedef List *(*IngestRequestDone) (IngestRequest *request, void *arg);

extern IngestRequest *ingest_request_new(IngestPoll *poll, const char *url);
extern void ingest_http_run(List *requests, IngestRequestDone on_done, void *arg);

/* prometheus exposition format (exposition.c) */
extern void ingest_parse_exposition(IngestSource *source, const char *text, Size len,
									TimestampTz scrape_time, IngestBatch *batch);

/* sink.c */
extern int64 ingest_write_batch(IngestSource *source, IngestBatch *batch,
								TimestampTz polled_at, void (*between_chunks) (void));
extern List *ingest_load_sources(const char *only_name, TimestampTz now,
								 TimestampTz *next_due, MemoryContext cxt);
extern void ingest_record_failure(const char *source, const char *error,
								  int retry_after_s, int interval_s,
								  int consecutive_failures);

/* poll.c: polls shared by the worker and aiml.ingest_now; finished is
 * called once per poll, when its last request is done. */
typedef void (*IngestPollFinished) (IngestPoll *poll, void *arg);

extern IngestPoll *ingest_poll_new(IngestSource *source, TimestampTz now);
extern void ingest_polls_run(List *polls, IngestPollFinished finished, void *arg);

#endif							/* AIML_INGEST_H */
