/*
 * http.c: run a set of HTTP requests with libcurl's multi interface.
 *
 * All requests of all due sources run in one loop, so a slow or hanging
 * source costs its own timeout and nothing else.  The loop waits at most
 * 100 ms at a time and checks for interrupts in between: a cancel, a
 * statement_timeout or SIGTERM stops it promptly (pg_net and pgsql-http
 * learned that a blocking transfer makes a backend deaf to them).
 *
 * libcurl allocates with malloc.  Response bodies are therefore collected in
 * malloc'd buffers that the write callback can grow without ever raising a
 * PostgreSQL error inside libcurl's stack, and are copied into palloc'd
 * memory when a transfer ends; every handle is released in PG_FINALLY, so an
 * error or a cancel leaks nothing.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "ingest/ingest.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

/* Wait at most this long in curl_multi_poll before checking interrupts. */
#define POLL_SLICE_MS 100
/* At most this many transfers run at once. */
#define MAX_PARALLEL 16

typedef struct Transfer
{
	IngestRequest *request;
	CURL	   *easy;
	struct curl_slist *headers;
	char	   *body;			/* malloc'd */
	size_t		len;
	size_t		cap;
	bool		too_large;
	int			retry_after_s;
	char		errbuf[CURL_ERROR_SIZE];
} Transfer;

static bool curl_ready = false;

static void
ensure_curl(void)
{
	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("could not initialize libcurl")));
		curl_ready = true;
	}
}

IngestRequest *
ingest_request_new(IngestPoll *poll, const char *url)
{
	IngestRequest *r = palloc0(sizeof(IngestRequest));

	r->poll = poll;
	r->url = pstrdup(url);
	r->method = "GET";
	return r;
}

/* Grows the malloc'd body; returning less than given makes libcurl abort. */
static size_t
write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	Transfer   *t = arg;
	size_t		n = size * nmemb;

	if (t->len + n > (size_t) ingest_max_response_bytes)
	{
		t->too_large = true;
		return 0;
	}
	if (t->len + n + 1 > t->cap)
	{
		size_t		cap = Max(t->cap * 2, t->len + n + 1);
		char	   *grown;

		cap = Max(cap, 16384);
		grown = realloc(t->body, cap);
		if (grown == NULL)
			return 0;
		t->body = grown;
		t->cap = cap;
	}
	memcpy(t->body + t->len, data, n);
	t->len += n;
	t->body[t->len] = '\0';
	return n;
}

/* Remembers Retry-After (seconds form) for 429 and 503 answers. */
static size_t
read_header(char *data, size_t size, size_t nmemb, void *arg)
{
	Transfer   *t = arg;
	size_t		n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) - 1 && pg_strncasecmp(data, name, sizeof(name) - 1) == 0)
	{
		long		s = strtol(data + sizeof(name) - 1, NULL, 10);

		if (s > 0 && s < 86400)
			t->retry_after_s = (int) s;
	}
	return n;
}

/* scheme://host/path of a URL: for messages, without a query that may be long. */
static char *
url_for_message(const char *url)
{
	const char *q = strchr(url, '?');

	return q ? pnstrdup(url, q - url) : pstrdup(url);
}

/* NULL when the URL's host may be fetched, else why not. */
static char *
host_refused(const char *url)
{
	CURLU	   *u;
	char	   *host = NULL;
	char	   *reason = NULL;

	if (ingest_allowed_hosts == NULL || ingest_allowed_hosts[0] == '\0')
		return NULL;

	u = curl_url();
	if (u == NULL)
		return pstrdup("out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		reason = psprintf("%s is not a valid URL", url_for_message(url));
	else
	{
		char	   *list = pstrdup(ingest_allowed_hosts);
		List	   *hosts;
		ListCell   *lc;
		bool		allowed = false;

		if (!SplitIdentifierString(list, ',', &hosts))
			reason = pstrdup("aiml.ingest_allowed_hosts is not a valid list");
		else
		{
			foreach(lc, hosts)
				allowed |= pg_strcasecmp(lfirst(lc), host) == 0;
			if (!allowed)
				reason = psprintf("host \"%s\" is not in aiml.ingest_allowed_hosts", host);
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return reason;
}

static Transfer *
transfer_start(CURLM *multi, IngestRequest *r, int timeout_ms)
{
	Transfer   *t = palloc0(sizeof(Transfer));
	CURL	   *easy;
	ListCell   *lc;

	t->request = r;
	easy = t->easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));

	curl_easy_setopt(easy, CURLOPT_URL, r->url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/* a redirect could lead outside the allow-list: follow none */
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) Min(timeout_ms, 5000));
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "aiml/" AIML_VERSION);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	if (r->aws_sigv4)
		curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, r->aws_sigv4);
	else if (r->username)
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	if (r->username)
	{
		curl_easy_setopt(easy, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, r->password ? r->password : "");
	}
	foreach(lc, r->headers)
		t->headers = curl_slist_append(t->headers, lfirst(lc));
	if (t->headers)
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
	if (strcmp(r->method, "GET") != 0)
	{
		curl_easy_setopt(easy, CURLOPT_POST, 1L);
		curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, r->body ? r->body : "");
		if (strcmp(r->method, "POST") != 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r->method);
	}
	curl_multi_add_handle(multi, easy);
	return t;
}

/* Moves a finished transfer's outcome into its request. */
static void
transfer_finish(Transfer *t, CURLcode code)
{
	IngestRequest *r = t->request;
	char	   *where = url_for_message(r->url);

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
	r->retry_after_s = t->retry_after_s;
	r->response = makeStringInfo();
	if (t->len > 0)
		appendBinaryStringInfo(r->response, t->body, t->len);

	if (t->too_large)
		r->error = psprintf("%s %s: response is larger than aiml.ingest_max_response_bytes (%d bytes)",
							r->method, where, ingest_max_response_bytes);
	else if (code != CURLE_OK)
		r->error = psprintf("%s %s: %s", r->method, where,
							t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
	else if (r->status >= 400)
		r->error = psprintf("%s %s: HTTP %ld%s%.200s", r->method, where, r->status,
							r->response->len > 0 ? ": " : "", r->response->data);
}

static void
transfer_release(CURLM *multi, Transfer *t)
{
	if (t->easy)
	{
		curl_multi_remove_handle(multi, t->easy);
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	free(t->body);
	t->body = NULL;
}

/* Starts queued requests (hosts already checked) while fewer than MAX_PARALLEL run. */
static void
start_queued(CURLM *multi, List **queue, List **running)
{
	while (*queue != NIL && list_length(*running) < MAX_PARALLEL)
	{
		IngestRequest *r = linitial(*queue);

		*queue = list_delete_first(*queue);
		*running = lappend(*running, transfer_start(multi, r, r->poll->source->timeout_ms));
	}
}

void
ingest_http_run(List *requests, IngestRequestDone on_done, void *arg)
{
	CURLM	   *multi;
	List	   *queue = list_copy(requests);
	List	   *running = NIL;
	List	   *refused = NIL;

	ensure_curl();
	multi = curl_multi_init();
	if (multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));

	PG_TRY();
	{
		while (queue != NIL || running != NIL)
		{
			int			still_running;
			CURLMsg    *msg;
			int			left;
			ListCell   *lc;

			/* refused hosts finish at once, without a transfer */
			foreach(lc, queue)
			{
				IngestRequest *r = lfirst(lc);
				char	   *why = host_refused(r->url);

				if (why)
				{
					r->error = why;
					r->response = makeStringInfo();
					refused = lappend(refused, r);
					queue = foreach_delete_current(queue, lc);
				}
			}
			foreach(lc, refused)
				queue = list_concat(queue, on_done(lfirst(lc), arg));
			list_free(refused);
			refused = NIL;

			start_queued(multi, &queue, &running);
			if (running == NIL)
				continue;

			curl_multi_perform(multi, &still_running);
			while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			{
				Transfer   *t;

				if (msg->msg != CURLMSG_DONE)
					continue;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
				transfer_finish(t, msg->data.result);
				transfer_release(multi, t);
				running = list_delete_ptr(running, t);
				queue = list_concat(queue, on_done(t->request, arg));
			}
			if (running != NIL)
				curl_multi_poll(multi, NULL, 0, POLL_SLICE_MS, NULL);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		ListCell   *lc;

		foreach(lc, running)
			transfer_release(multi, lfirst(lc));
		curl_multi_cleanup(multi);
	}
	PG_END_TRY();
}
