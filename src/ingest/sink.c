/*
 * sink.c: everything ingestion reads and writes through SPI.  Callers hold a
 * transaction with an active snapshot and an SPI connection.
 *
 * Writing a poll (ingest_write_batch):
 *   1. each series is looked up, and inserted when new (ON CONFLICT DO
 *      NOTHING, then looked up again, so two writers never duplicate one);
 *   2. samples go in chunks of aiml.ingest_batch_rows through unnest() with
 *      ON CONFLICT (series_id, ts) DO NOTHING: writing a sample twice is a
 *      no-op, so a re-read window or a retried poll never duplicates;
 *   3. the source's state (watermark, counters, next attempt) is updated in
 *      the same transaction as the last chunk, so the watermark moves only
 *      once the samples it covers are committed.
 * The worker commits between chunks (bounded transactions); aiml.ingest_now
 * runs all of it in the caller's transaction.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "ingest/ingest.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

/* Longest wait between attempts of a failing source. */
#define MAX_BACKOFF_S 3600

static int64
spi_int8(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 1) < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", sql);
	if (SPI_processed == 0)
		return 0;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

static int64
series_id(IngestSource *source, IngestSeries *s)
{
	static const char *find =
		"SELECT id FROM aiml.metric_series "
		"WHERE source = $1 AND metric = $2 AND resource = $3 AND labels = $4::jsonb";
	static const char *insert =
		"INSERT INTO aiml.metric_series (source, metric, resource, labels, unit) "
		"VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING RETURNING id";
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', s->unit ? ' ' : 'n'};
	int64		id;

	values[0] = CStringGetTextDatum(source->name);
	values[1] = CStringGetTextDatum(s->metric);
	values[2] = CStringGetTextDatum(s->resource);
	values[3] = CStringGetTextDatum(s->labels);
	values[4] = s->unit ? CStringGetTextDatum(s->unit) : (Datum) 0;

	if ((id = spi_int8(find, 4, types, values, nulls)) != 0)
		return id;
	if ((id = spi_int8(insert, 5, types, values, nulls)) != 0)
		return id;
	return spi_int8(find, 4, types, values, nulls);
}

static int64
insert_samples(int n, Datum *ids, Datum *ts, Datum *vals)
{
	static const char *sql =
		"INSERT INTO aiml.metric_samples (series_id, ts, value) "
		"SELECT * FROM unnest($1::int8[], $2::timestamptz[], $3::float8[]) "
		"ON CONFLICT (series_id, ts) DO NOTHING";
	Oid			types[3] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID};
	Datum		args[3];

	args[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(ts, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(vals, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args(sql, 3, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inserting metric samples failed");
	return SPI_processed;
}

static void
record_success(IngestSource *source, IngestBatch *batch, int64 inserted,
			   TimestampTz polled_at)
{
	static const char *sql =
		"INSERT INTO aiml.metric_source_state AS st "
		"  (source, watermark, last_attempt, last_success, last_error, consecutive_failures, "
		"   next_attempt, samples_total, last_samples) "
		"VALUES ($1, $2, $3, $3, NULL, 0, $3 + make_interval(secs => $4), $5, $5) "
		"ON CONFLICT (source) DO UPDATE SET "
		"  watermark = GREATEST(st.watermark, EXCLUDED.watermark), "
		"  last_attempt = EXCLUDED.last_attempt, last_success = EXCLUDED.last_success, "
		"  last_error = NULL, consecutive_failures = 0, next_attempt = EXCLUDED.next_attempt, "
		"  samples_total = st.samples_total + EXCLUDED.samples_total, "
		"  last_samples = EXCLUDED.last_samples";
	Oid			types[5] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, FLOAT8OID, INT8OID};
	Datum		values[5];
	char		nulls[5] = {' ', batch->max_ts ? ' ' : 'n', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(source->name);
	values[1] = TimestampTzGetDatum(batch->max_ts);
	values[2] = TimestampTzGetDatum(polled_at);
	values[3] = Float8GetDatum(source->interval_s);
	values[4] = Int64GetDatum(inserted);
	if (SPI_execute_with_args(sql, 5, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "updating metric source state failed");
}

int64
ingest_write_batch(IngestSource *source, IngestBatch *batch, TimestampTz polled_at,
				   void (*between_chunks) (void))
{
	int			chunk = ingest_batch_rows;

	/* not in SPI's memory: between_chunks ends the SPI connection */
	Datum	   *ids = MemoryContextAlloc(batch->cxt, sizeof(Datum) * chunk);
	Datum	   *ts = MemoryContextAlloc(batch->cxt, sizeof(Datum) * chunk);
	Datum	   *vals = MemoryContextAlloc(batch->cxt, sizeof(Datum) * chunk);
	int			n = 0;
	int64		inserted = 0;
	ListCell   *lc;

	foreach(lc, batch->series)
	{
		IngestSeries *s = lfirst(lc);
		int64		id;

		if (s->nsamples == 0)
			continue;
		id = series_id(source, s);
		for (int i = 0; i < s->nsamples; i++)
		{
			ids[n] = Int64GetDatum(id);
			ts[n] = TimestampTzGetDatum(s->ts[i]);
			vals[n] = Float8GetDatum(s->values[i]);
			if (++n == chunk)
			{
				inserted += insert_samples(n, ids, ts, vals);
				n = 0;
				CHECK_FOR_INTERRUPTS();
				if (between_chunks)
					between_chunks();
			}
		}
	}
	if (n > 0)
		inserted += insert_samples(n, ids, ts, vals);
	record_success(source, batch, inserted, polled_at);
	pfree(ids);
	pfree(ts);
	pfree(vals);
	return inserted;
}

/*
 * Exponential backoff with jitter: interval * 2^failures, at most an hour,
 * scaled by a random factor in [0.5, 1], and never sooner than the server's
 * Retry-After.
 */
static double
backoff_seconds(int interval_s, int failures, int retry_after_s)
{
	double		delay = Min((double) interval_s * pow(2.0, Min(failures, 20)), MAX_BACKOFF_S);

	delay *= 0.5 + 0.5 * pg_prng_double(&pg_global_prng_state);
	return Max(delay, retry_after_s);
}

void
ingest_record_failure(const char *source, const char *error, int retry_after_s,
					  int interval_s, int consecutive_failures)
{
	static const char *sql =
		"INSERT INTO aiml.metric_source_state AS st "
		"  (source, last_attempt, last_error, consecutive_failures, next_attempt) "
		"VALUES ($1, now(), $2, 1, now() + make_interval(secs => $3)) "
		"ON CONFLICT (source) DO UPDATE SET "
		"  last_attempt = now(), last_error = EXCLUDED.last_error, "
		"  consecutive_failures = st.consecutive_failures + 1, "
		"  next_attempt = EXCLUDED.next_attempt";
	Oid			types[3] = {TEXTOID, TEXTOID, FLOAT8OID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(source);
	values[1] = CStringGetTextDatum(error);
	values[2] = Float8GetDatum(backoff_seconds(interval_s, consecutive_failures, retry_after_s));
	if (SPI_execute_with_args(sql, 3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "recording a metric source failure failed");
}

static char *
text_column(HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Sources to poll, copied into cxt (outliving SPI): every enabled
 * one whose next attempt is due (only_name NULL), or the one named.  next_due
 * gets the earliest next attempt among the enabled sources not due now.
 */
List *
ingest_load_sources(const char *only_name, TimestampTz now, TimestampTz *next_due,
					MemoryContext cxt)
{
	static const char *sql =
		"SELECT s.name, s.provider, s.config::text, sec.secret, st.watermark, "
		"       coalesce(st.consecutive_failures, 0), st.next_attempt, "
		"       (s.config->>'interval')::int, (s.config->>'lookback')::int, "
		"       (s.config->>'timeout')::int "
		"FROM aiml.metric_sources s "
		"LEFT JOIN aiml.metric_source_state st ON st.source = s.name "
		"LEFT JOIN aiml.metric_source_secrets sec ON sec.source = s.name "
		"WHERE ($1::text IS NULL AND s.enabled) OR s.name = $1 "
		"ORDER BY s.name";
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {only_name ? CStringGetTextDatum(only_name) : (Datum) 0};
	char		nulls[1] = {only_name ? ' ' : 'n'};
	List	   *due = NIL;

	if (next_due)
		*next_due = DT_NOEND;
	if (SPI_execute_with_args(sql, 1, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading metric sources failed");

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		next = SPI_getbinval(tup, desc, 7, &isnull);
		TimestampTz next_attempt = isnull ? 0 : DatumGetTimestampTz(next);
		MemoryContext old;
		IngestSource *s;
		Datum		d;

		if (only_name == NULL && next_attempt > now)
		{
			if (next_due && next_attempt < *next_due)
				*next_due = next_attempt;
			continue;
		}

		old = MemoryContextSwitchTo(cxt);
		s = palloc0(sizeof(IngestSource));
		s->name = text_column(tup, desc, 1);
		s->provider = text_column(tup, desc, 2);
		s->secret = text_column(tup, desc, 4);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		s->watermark = isnull ? 0 : DatumGetTimestampTz(d);
		s->consecutive_failures = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		d = SPI_getbinval(tup, desc, 8, &isnull);
		s->interval_s = isnull ? 60 : DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 9, &isnull);
		s->lookback_s = isnull ? Max(300, 5 * s->interval_s) : DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 10, &isnull);
		s->timeout_ms = isnull ? 10000 : DatumGetInt32(d) * 1000;
		s->config = ingest_parse_config(text_column(tup, desc, 3));
		due = lappend(due, s);
		MemoryContextSwitchTo(old);
	}
	return due;
}
