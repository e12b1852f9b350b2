/*
 * exposition.c: the Prometheus text exposition format (version 0.0.4), by
 * hand: it is line-based and small enough that a parser is clearer than a
 * dependency.
 *
 *     # HELP name text
 *     # TYPE name counter|gauge|histogram|summary|untyped
 *     name{label="value",...} value [timestamp_ms]
 *
 * Every sample becomes a series of its own name (histogram buckets keep their
 * le label), filtered and renamed by the source's "metrics" config.  Samples
 * without a timestamp get the scrape time.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "ingest/ingest.h"

typedef struct Line
{
	const char *start;
	const char *p;
	const char *end;
	int			number;
} Line;

static void
line_error(Line *l, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed exposition format at line %d: %s", l->number, what),
			 errdetail("The line starts \"%.*s\".", (int) Min(l->end - l->start, 80), l->start)));
}

static void
skip_blanks(Line *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
		l->p++;
}

static bool
is_name_char(char c, bool first)
{
	return isalpha((unsigned char) c) || c == '_' || c == ':' ||
		(!first && isdigit((unsigned char) c));
}

static char *
read_name(Line *l, const char *what)
{
	const char *s = l->p;

	if (l->p >= l->end || !is_name_char(*l->p, true))
		line_error(l, what);
	while (l->p < l->end && is_name_char(*l->p, false))
		l->p++;
	return pnstrdup(s, l->p - s);
}

/* A quoted label value with \\, \" and \n escapes. */
static char *
read_label_value(Line *l)
{
	StringInfoData buf;

	if (l->p >= l->end || *l->p != '"')
		line_error(l, "a label value must be quoted");
	l->p++;
	initStringInfo(&buf);
	while (l->p < l->end && *l->p != '"')
	{
		char		c = *l->p++;

		if (c == '\\')
		{
			if (l->p >= l->end)
				break;
			c = *l->p++;
			if (c == 'n')
				c = '\n';
			else if (c != '\\' && c != '"')
				line_error(l, "unknown escape in a label value");
		}
		appendStringInfoChar(&buf, c);
	}
	if (l->p >= l->end)
		line_error(l, "unterminated label value");
	l->p++;
	return buf.data;
}

/* {a="x",b="y"} into a json-c object (caller puts it). */
static json_object *
read_labels(Line *l)
{
	json_object *labels = json_object_new_object();

	if (l->p >= l->end || *l->p != '{')
		return labels;
	l->p++;
	PG_TRY();
	{
		for (;;)
		{
			char	   *name;

			skip_blanks(l);
			if (l->p < l->end && *l->p == '}')
				break;
			name = read_name(l, "a label name is expected");
			skip_blanks(l);
			if (l->p >= l->end || *l->p != '=')
				line_error(l, "\"=\" is expected after a label name");
			l->p++;
			skip_blanks(l);
			json_object_object_add(labels, name, json_object_new_string(read_label_value(l)));
			skip_blanks(l);
			if (l->p < l->end && *l->p == ',')
				l->p++;
			else if (l->p >= l->end || *l->p != '}')
				line_error(l, "\",\" or \"}\" is expected after a label");
		}
		l->p++;
	}
	PG_CATCH();
	{
		json_object_put(labels);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return labels;
}

static double
read_number(Line *l, const char *what)
{
	char	   *copy;
	char	   *end;
	const char *s = l->p;
	double		d;

	while (l->p < l->end && *l->p != ' ' && *l->p != '\t')
		l->p++;
	if (l->p == s)
		line_error(l, what);
	copy = pnstrdup(s, l->p - s);
	d = strtod(copy, &end);
	if (*end != '\0')
		line_error(l, what);
	return d;
}

/*
 * The name a sample is stored under, or NULL to drop it.  With a "metrics"
 * list, a sample is kept when its name or its family (name without _bucket,
 * _sum, _count, _total) is listed; with a {"ours": "theirs"} object it is
 * kept and renamed ours (plus the same suffix).
 */
static const char *
stored_name(IngestSource *source, const char *name)
{
	static const char *const suffixes[] = {"", "_bucket", "_sum", "_count", "_total", NULL};
	json_object *metrics;

	if (!json_object_object_get_ex(source->config, "metrics", &metrics))
		return name;
	for (const char *const *sfx = suffixes; *sfx; sfx++)
	{
		size_t		nlen = strlen(name),
					slen = strlen(*sfx);
		char	   *family;

		if (nlen <= slen || strcmp(name + nlen - slen, *sfx) != 0)
			continue;
		family = pnstrdup(name, nlen - slen);
		if (json_object_is_type(metrics, json_type_array))
		{
			for (size_t i = 0; i < json_object_array_length(metrics); i++)
				if (strcmp(json_object_get_string(json_object_array_get_idx(metrics, i)), family) == 0)
					return name;
		}
		else
		{
			json_object_object_foreach(metrics, ours, theirs)
				if (strcmp(json_object_get_string(theirs), family) == 0)
				return psprintf("%s%s", ours, *sfx);
		}
	}
	return NULL;
}

static void
parse_sample_line(IngestSource *source, Line *l, const char *host,
				  TimestampTz scrape_time, IngestBatch *batch)
{
	char	   *name = read_name(l, "a metric name is expected");
	json_object *labels = read_labels(l);

	PG_TRY();
	{
		double		value;
		TimestampTz ts = scrape_time;
		const char *stored;

		skip_blanks(l);
		value = read_number(l, "a sample value is expected");
		skip_blanks(l);
		if (l->p < l->end)
		{
			double		ms = read_number(l, "a timestamp in milliseconds is expected");

			skip_blanks(l);
			if (l->p < l->end || !isfinite(ms))
				line_error(l, "unexpected text after the timestamp");
			ts = ingest_unix_to_timestamptz(ms / 1000.0);
		}
		stored = stored_name(source, name);
		if (stored)
		{
			IngestSeries *series =
				ingest_batch_series(batch, stored,
									ingest_resource_from_labels(source, labels, host),
									ingest_labels_json(labels, NULL), NULL);

			ingest_series_add(batch, series, ts, value);
		}
	}
	PG_FINALLY();
	{
		json_object_put(labels);
	}
	PG_END_TRY();
}

/* host:port of the endpoint: the resource of samples without dimensions. */
static char *
endpoint_host(IngestSource *source)
{
	const char *url = ingest_config_string(source->config, "endpoint", "");
	const char *s = strstr(url, "://");
	const char *e;

	s = s ? s + 3 : url;
	e = s;
	while (*e && *e != '/' && *e != '?')
		e++;
	return pnstrdup(s, e - s);
}

void
ingest_parse_exposition(IngestSource *source, const char *text, Size len,
						TimestampTz scrape_time, IngestBatch *batch)
{
	const char *p = text;
	const char *end = text + len;
	char	   *host = endpoint_host(source);
	int			number = 0;

	while (p < end)
	{
		const char *eol = memchr(p, '\n', end - p);
		Line		l;

		if (eol == NULL)
			eol = end;
		l.start = l.p = p;
		l.end = eol;
		if (l.end > l.start && l.end[-1] == '\r')
			l.end--;
		l.number = ++number;
		p = eol + 1;

		skip_blanks(&l);
		if (l.p == l.end || *l.p == '#')
			continue;
		parse_sample_line(source, &l, host, scrape_time, batch);
	}
}
