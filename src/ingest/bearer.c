/*
 * bearer.c: the OAuth 2.0 bearer-token flow the gcp and azure providers
 * share.
 *
 * A poll needs an access token first: a cached one, else a token request
 * whose response brings the poll's data requests.  Every data request
 * carries the token it was sent with.  A 401 on a data request either
 * retries it with a fresher token that another request of the same poll
 * already fetched, or forgets the cached token and asks for a new one, whose
 * response retries the request (once: the retry is not retried).  A refused
 * token request is final.
 *
 * A provider supplies only what differs (a BearerFlow): how to ask for a
 * token, which data requests a window needs, how to read a data response.
 * Its per-request state struct begins with a BearerState, so this file can
 * copy it for a retry without knowing the rest.
 */
#include "postgres.h"

#include "ingest/ingest.h"

/* The cache key of the source's token for this provider. */
static char *
token_key(const BearerFlow *flow, IngestSource *source)
{
	return ingest_token_key(source, flow->provider);
}

/* The request that sends r again with another token. */
static IngestRequest *
retry_with(const BearerFlow *flow, IngestRequest *r, const char *token)
{
	IngestRequest *again = ingest_request_new(NULL, r->url);
	BearerState *st = palloc(flow->state_size);

	memcpy(st, r->provider_state, flow->state_size);
	st->token = pstrdup(token);
	again->provider_state = st;
	ingest_request_add_bearer(again, st->token);
	return again;
}

/*
 * The provider's token request, marked as such; its response brings the
 * data requests over [from, to], or the retry of retry.
 */
static IngestRequest *
token_request(const BearerFlow *flow, IngestSource *source,
			  TimestampTz from, TimestampTz to, IngestRequest *retry)
{
	IngestRequest *r = flow->token_request(source);
	BearerState *st = palloc0(flow->state_size);

	st->is_token_request = true;
	st->from = from;
	st->to = to;
	st->retry = retry;
	r->provider_state = st;
	return r;
}

/* The first requests of a poll over [from, to]: data, or a token first. */
List *
bearer_plan(const BearerFlow *flow, IngestSource *source,
			TimestampTz from, TimestampTz to)
{
	const char *token = ingest_token_get(source->name, token_key(flow, source));

	if (token)
		return flow->data_requests(source, from, to, pstrdup(token));
	return list_make1(token_request(flow, source, from, to, NULL));
}

/* A data response gives samples; a token response, what waited for it. */
List *
bearer_parse(const BearerFlow *flow, IngestSource *source, IngestRequest *r,
			 IngestBatch *batch)
{
	BearerState *st = r->provider_state;
	const char *token;

	if (!st->is_token_request)
		return flow->parse_data(source, r, batch);
	token = ingest_token_from_response(source, token_key(flow, source), r);
	if (st->retry)
		return list_make1(retry_with(flow, st->retry, token));
	return flow->data_requests(source, st->from, st->to, pstrdup(token));
}

/* A 401 or 403: retry with a fresher token, or ask for one (see the top). */
List *
bearer_unauthorized(const BearerFlow *flow, IngestSource *source,
					IngestRequest *r)
{
	BearerState *st = r->provider_state;
	const char *token;

	if (st->is_token_request)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s", r->error),
				 errhint("%s", flow->refused_hint)));
	token = ingest_token_get(source->name, token_key(flow, source));
	if (token && strcmp(token, st->token) != 0)
		return list_make1(retry_with(flow, r, token));
	ingest_token_forget(source->name);
	return list_make1(token_request(flow, source, st->from, st->to, r));
}
