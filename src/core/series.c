/*
 * series.c: the time-series aggregate state (see series.h).
 */
#include "postgres.h"

#include <math.h>

#include "core/model.h"
#include "core/series.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/* An empty series state in the aggregate's context. */
static SeriesState *
state_new(MemoryContext cxt)
{
	SeriesState *st = MemoryContextAllocZero(cxt, sizeof(SeriesState));

	st->cap = 64;
	st->ts = MemoryContextAlloc(cxt, sizeof(TimestampTz) * st->cap);
	st->v = MemoryContextAlloc(cxt, sizeof(double) * st->cap);
	return st;
}

/* Room for more points, doubling; errors beyond AIML_SERIES_MAX_POINTS. */
static void
state_reserve(SeriesState *st, int64 more)
{
	int64		need = st->n + more;

	if (need > AIML_SERIES_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a series may have at most %d points", AIML_SERIES_MAX_POINTS),
				 errhint("Aggregate the series to a coarser interval first.")));
	if (need <= st->cap)
		return;
	while (st->cap < need)
		st->cap *= 2;
	st->ts = repalloc_huge(st->ts, sizeof(TimestampTz) * st->cap);
	st->v = repalloc_huge(st->v, sizeof(double) * st->cap);
}

/* Keeps a copy of the first options seen. */
static void
state_set_options(SeriesState *st, Jsonb *options, MemoryContext cxt)
{
	if (options == NULL || st->options != NULL)
		return;
	st->options = MemoryContextAlloc(cxt, VARSIZE(options));
	memcpy(st->options, options, VARSIZE(options));
}

PG_FUNCTION_INFO_V1(aiml_series_accum);
PG_FUNCTION_INFO_V1(aiml_series_combine);
PG_FUNCTION_INFO_V1(aiml_series_serialize);
PG_FUNCTION_INFO_V1(aiml_series_deserialize);

/* aiml_series_accum(state, ts, value [, options]) */
Datum
aiml_series_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SeriesState *st = PG_ARGISNULL(0) ? NULL : (SeriesState *) PG_GETARG_POINTER(0);
	double		v;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_series_accum called in non-aggregate context");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a time series cannot have a NULL timestamp"),
				 errhint("Filter the rows with WHERE ts IS NOT NULL.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a time series cannot have a NULL value"),
				 errhint("Filter the rows with WHERE value IS NOT NULL; their timestamps then count as gaps.")));
	v = PG_GETARG_FLOAT8(2);
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a time series cannot have a NaN or infinite value"),
				 errhint("Filter those rows out; their timestamps then count as gaps.")));
	if (st == NULL)
		st = state_new(aggcxt);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		state_set_options(st, PG_GETARG_JSONB_P(3), aggcxt);
	state_reserve(st, 1);
	st->ts[st->n] = PG_GETARG_TIMESTAMPTZ(1);
	st->v[st->n] = v;
	st->n++;
	PG_RETURN_POINTER(st);
}

/* Appends a partial series to another (parallel aggregation). */
Datum
aiml_series_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SeriesState *a = PG_ARGISNULL(0) ? NULL : (SeriesState *) PG_GETARG_POINTER(0);
	SeriesState *b = PG_ARGISNULL(1) ? NULL : (SeriesState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_series_combine called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = state_new(aggcxt);
	state_set_options(a, b->options, aggcxt);
	state_reserve(a, b->n);
	memcpy(a->ts + a->n, b->ts, sizeof(TimestampTz) * b->n);
	memcpy(a->v + a->n, b->v, sizeof(double) * b->n);
	a->n += b->n;
	PG_RETURN_POINTER(a);
}

/* Partial state to bytes: n, timestamps, values, options. */
Datum
aiml_series_serialize(PG_FUNCTION_ARGS)
{
	SeriesState *st = (SeriesState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	aiml_write_u64(&buf, st->n);
	aiml_write_bytes(&buf, st->ts, sizeof(TimestampTz) * st->n);
	aiml_write_f64s(&buf, st->v, st->n);
	aiml_write_u32(&buf, st->options ? VARSIZE(st->options) : 0);
	if (st->options)
		aiml_write_bytes(&buf, st->options, VARSIZE(st->options));
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

/* Bytes back to a partial state, every length checked. */
Datum
aiml_series_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	AimlReader	r;
	SeriesState *st;
	uint64		n;
	uint32		optlen;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "aiml_series_deserialize called in non-aggregate context");
	aiml_reader_init_bytes(&r, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), "time series state");
	n = aiml_read_u64(&r);
	if (n > AIML_SERIES_MAX_POINTS || n * 16 > r.len)
		aiml_payload_corrupt(&r, "It announces more points than it holds.");
	st = state_new(aggcxt);
	state_reserve(st, (int64) n);
	memcpy(st->ts, aiml_read_bytes(&r, sizeof(TimestampTz) * n), sizeof(TimestampTz) * n);
	aiml_read_f64s(&r, st->v, n);
	st->n = (int64) n;
	optlen = aiml_read_u32(&r);
	if (optlen > 0)
	{
		const char *p = aiml_read_bytes(&r, optlen);

		if (optlen < VARHDRSZ || VARSIZE(p) != optlen)
			aiml_payload_corrupt(&r, "Its options are damaged.");
		st->options = MemoryContextAlloc(aggcxt, optlen);
		memcpy(st->options, p, optlen);
	}
	aiml_reader_finish(&r);
	PG_RETURN_POINTER(st);
}

