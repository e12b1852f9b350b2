/*
 * poll.c: one poll of each due source, all run in one HTTP loop.
 *
 * A poll asks its provider for the requests covering its window, runs them
 * (http.c), has each response parsed as it arrives (a paginated API answers
 * with the next request), and calls finished once its last request is done,
 * with either a complete batch or the first error.  A poll with any error
 * writes nothing: a batch is stored whole or not at all.
 */
#include "postgres.h"

#include "ingest/ingest.h"
#include "miscadmin.h"
#include "utils/memutils.h"

/* How far back a source that was down for long is caught up in one poll. */
#define MAX_BACKFILL_S (24 * 3600)

typedef struct RunState
{
	IngestPollFinished finished;
	void	   *arg;
} RunState;

IngestPoll *
ingest_poll_new(IngestSource *source, TimestampTz now)
{
	IngestPoll *poll = palloc0(sizeof(IngestPoll));

	poll->source = source;
	poll->provider = ingest_provider(source->provider);
	poll->started = now;
	poll->batch.cxt = CurrentMemoryContext;
	return poll;
}

/* Replaces every occurrence of secret in message with "[redacted]". */
static char *
redact(const char *message, const char *secret)
{
	StringInfoData buf;
	const char *p = message;
	const char *hit;
	size_t		n;

	if (secret == NULL || secret[0] == '\0')
		return pstrdup(message);
	n = strlen(secret);
	initStringInfo(&buf);
	while ((hit = strstr(p, secret)) != NULL)
	{
		appendBinaryStringInfo(&buf, p, hit - p);
		appendStringInfoString(&buf, "[redacted]");
		p = hit + n;
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

/*
 * The secret (also URL-encoded, as a form body carries it), the access
 * tokens obtained with it, and the credentials the request sent never reach
 * a message, whatever a server echoed back.
 */
static char *
redacted(IngestSource *source, IngestRequest *r, const char *message)
{
	char	   *text = redact(message, source->secret);
	ListCell   *lc;

	if (source->secret)
		text = redact(text, ingest_url_escape(source->secret));
	foreach(lc, ingest_token_values(source->name))
		text = redact(text, lfirst(lc));
	if (r == NULL)
		return text;
	foreach(lc, r->headers)
	{
		const char *h = lfirst(lc);

		if (pg_strncasecmp(h, "Authorization:", 14) == 0)
		{
			const char *value = h + 14 + strspn(h + 14, " ");
			const char *credential = strchr(value, ' ');

			/* "Bearer X": X alone, so that the message still says "Bearer" */
			text = redact(text, credential ? credential + 1 : value);
		}
	}
	return redact(text, r->password);
}

static void
poll_failed(IngestPoll *poll, IngestRequest *r, const char *message, int retry_after_s)
{
	if (poll->error == NULL)
		poll->error = redacted(poll->source, r, message);
	poll->retry_after_s = Max(poll->retry_after_s, retry_after_s);
}

/*
 * Runs fn(poll, arg) and turns an error it raises into the poll's error, so
 * one source's bad response or config never stops the others.  A cancel is
 * re-raised: it is meant for the whole loop.
 */
static void *
capture_errors(IngestPoll *poll, void *(*fn) (IngestPoll *, void *), IngestRequest *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	void	   *result = NULL;

	PG_TRY();
	{
		result = fn(poll, arg);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		if (e->sqlerrcode == ERRCODE_QUERY_CANCELED || e->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		poll_failed(poll, arg, e->message, 0);
	}
	PG_END_TRY();
	return result;
}

static void *
parse_response(IngestPoll *poll, void *request)
{
	return poll->provider->parse(poll->source, request, &poll->batch);
}

static void *
retry_unauthorized(IngestPoll *poll, void *request)
{
	return poll->provider->unauthorized(poll->source, request);
}

/* Follow-up requests join the poll. */
static List *
adopt(IngestPoll *poll, List *requests, bool is_retry)
{
	ListCell   *lc;

	if (poll->error != NULL)
		return NIL;
	foreach(lc, requests)
	{
		IngestRequest *next = lfirst(lc);

		next->poll = poll;
		next->is_retry = is_retry;
		poll->pending++;
	}
	return requests;
}

static List *
request_done(IngestRequest *r, void *arg)
{
	RunState   *rs = arg;
	IngestPoll *poll = r->poll;
	List	   *more = NIL;

	if ((r->status == 401 || r->status == 403) && poll->provider->unauthorized &&
		!r->is_retry && poll->error == NULL &&
		(more = adopt(poll, capture_errors(poll, retry_unauthorized, r), true)) != NIL)
		;						/* retried with fresh credentials */
	else if (r->error)
		poll_failed(poll, r, r->error, r->retry_after_s);
	else if (poll->error == NULL)
		more = adopt(poll, capture_errors(poll, parse_response, r), r->is_retry);
	/* the body is parsed: drop it now, a poll may have many pages */
	if (r->response)
		pfree(r->response->data);
	r->response = NULL;

	if (--poll->pending == 0)
		rs->finished(poll, rs->arg);
	return more;
}

/*
 * The window a poll covers: from the watermark (or the look-back before now
 * when there is none, or when the look-back reaches further, to re-read late
 * samples), but never more than MAX_BACKFILL_S back.
 */
static void *
plan_poll(IngestPoll *poll, void *unused)
{
	IngestSource *s = poll->source;
	TimestampTz lookback_start = poll->started - (TimestampTz) s->lookback_s * USECS_PER_SEC;
	TimestampTz floor = poll->started - (TimestampTz) Max(MAX_BACKFILL_S, s->lookback_s) * USECS_PER_SEC;
	TimestampTz from = s->watermark ? Min(s->watermark, lookback_start) : lookback_start;

	return poll->provider->plan(s, Max(from, floor), poll->started);
}

void
ingest_polls_run(List *polls, IngestPollFinished finished, void *arg)
{
	RunState	rs = {finished, arg};
	List	   *requests = NIL;
	ListCell   *lc;

	foreach(lc, polls)
	{
		IngestPoll *poll = lfirst(lc);
		List	   *planned = capture_errors(poll, plan_poll, NULL);
		ListCell   *rc;

		foreach(rc, planned)
			((IngestRequest *) lfirst(rc))->poll = poll;
		poll->pending = list_length(planned);
		if (poll->pending == 0)
			finished(poll, arg);
		requests = list_concat(requests, planned);
	}
	if (requests != NIL)
		ingest_http_run(requests, request_done, &rs);
}
