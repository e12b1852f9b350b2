/*
 * entities.c: aiml.extract_entities, rule-based entities plus the default
 * NER model, and the row output shared with aiml.ner.
 */
#include "postgres.h"

#include "extract/ner.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

static int
row_cmp(const void *a, const void *b)
{
	const EntityRow *x = a,
			   *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/*
 * Sorts rows by position and returns them as the SRF's result, turning byte
 * offsets into 1-based character offsets in one pass over the text.
 */
void
entity_rows_emit(FunctionCallInfo fcinfo, const char *s, EntityRow *rows, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			byte_pos = 0;
	int64		char_pos = 1;

	InitMaterializedSRF(fcinfo, 0);
	if (n > 1)
		qsort(rows, n, sizeof(EntityRow), row_cmp);
	for (int i = 0; i < n; i++)
	{
		EntityRow  *r = &rows[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		int64		start;

		char_pos += pg_mbstrlen_with_len(s + byte_pos, r->start - byte_pos);
		byte_pos = r->start;
		start = char_pos;
		values[0] = CStringGetTextDatum(r->label);
		values[1] = r->text ? CStringGetTextDatum(r->text)
			: PointerGetDatum(cstring_to_text_with_len(s + r->start, r->end - r->start));
		values[2] = r->normalized ? CStringGetTextDatum(r->normalized) : (Datum) 0;
		nulls[2] = r->normalized == NULL;
		values[3] = Int32GetDatum((int32) start);
		values[4] = Int32GetDatum((int32) (start + pg_mbstrlen_with_len(s + r->start, r->end - r->start)));
		values[5] = Float8GetDatum(r->score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}
