/*
 * regex.c: aiml.regex_extract, aiml.regex_extract_all and
 * aiml.regex_to_record: PCRE2 matches as jsonb objects of their named
 * groups, or as rows of a user's type.
 *
 * PostgreSQL's own regex engine has no named groups; these functions give
 * them with PCRE2 (JIT-compiled once per query, see pattern.h), bounded by
 * aiml.regex_match_limit so a pathological pattern ends in an error.
 */
#include "postgres.h"

#include "extract/pattern.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(aiml_regex_extract);
PG_FUNCTION_INFO_V1(aiml_regex_extract_all);
PG_FUNCTION_INFO_V1(aiml_regex_to_record);

/* Cache builder: a regular expression whose slots are its group names. */
static AimlPattern *
build_regex(const char *key, Size keylen, uint32 options, MemoryContext cxt,
			void *arg)
{
	AimlPattern *p = aiml_pattern_compile(key, keylen, options, cxt,
										  "regular expression");

	aiml_pattern_slots_from_names(p);
	return p;
}

/* The compiled pattern of argument patarg with the flags of argument flagsarg. */
static AimlPattern *
regex_for_call(FunctionCallInfo fcinfo, int patarg, int flagsarg,
			   const char *caller)
{
	text	   *pattern = PG_GETARG_TEXT_PP(patarg);
	uint32		options = aiml_pattern_encoding_options();

	if (PG_NARGS() > flagsarg)
		options |= aiml_regex_flags(PG_GETARG_TEXT_PP(flagsarg), caller);
	return aiml_pattern_cached(fcinfo, VARDATA_ANY(pattern),
							   VARSIZE_ANY_EXHDR(pattern), options,
							   build_regex, NULL);
}

/*
 * The first match in argument subjarg of the pattern that follows it (with
 * the flags after that) as jsonb, or NULL.
 */
static Jsonb *
first_match(FunctionCallInfo fcinfo, int subjarg, const char *caller)
{
	text	   *subject = PG_GETARG_TEXT_PP(subjarg);
	AimlPattern *p = regex_for_call(fcinfo, subjarg + 1, subjarg + 2, caller);

	if (!aiml_pattern_match(p, VARDATA_ANY(subject), VARSIZE_ANY_EXHDR(subject),
							0, 0, caller))
		return NULL;
	return aiml_pattern_captures_jsonb(p, VARDATA_ANY(subject));
}

Datum
aiml_regex_extract(PG_FUNCTION_ARGS)
{
	Jsonb	   *result = first_match(fcinfo, 0, "aiml.regex_extract");

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

/*
 * Every match, left to right, as one row each.  An empty match is retried
 * as a non-empty one at the same place before moving on one character, the
 * way Perl and PCRE2's own pcre2grep do, so "a*" over "baa" gives "", "aa",
 * "".  Each match's jsonb is built in a context reset per match, so a 10 MB
 * text with a million matches does not hold them all in memory twice.
 */
Datum
aiml_regex_extract_all(PG_FUNCTION_ARGS)
{
	const char *caller = "aiml.regex_extract_all";
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *subject = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(subject);
	Size		len = VARSIZE_ANY_EXHDR(subject);
	AimlPattern *p = regex_for_call(fcinfo, 1, 2, caller);
	MemoryContext rowcxt,
				oldcxt;
	Size		start = 0;
	uint32		match_options = 0;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "aiml regex row",
								   ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		PCRE2_SIZE *ov;
		Datum		value;
		bool		isnull = false;

		CHECK_FOR_INTERRUPTS();
		if (!aiml_pattern_match(p, s, len, start, match_options, caller))
		{
			if (match_options == 0 || start >= len)
				break;
			/* no non-empty match here: move on one character */
			start += pg_mblen(s + start);
			match_options = 0;
			continue;
		}
		ov = pcre2_get_ovector_pointer(p->match_data);
		if (ov[1] < ov[0] || ov[1] < start)
			break;				/* \K in a lookahead; cannot make progress */

		oldcxt = MemoryContextSwitchTo(rowcxt);
		value = JsonbPGetDatum(aiml_pattern_captures_jsonb(p, s));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);

		match_options = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
		start = ov[1];
	}
	MemoryContextDelete(rowcxt);
	return (Datum) 0;
}

/*
 * The first match filled into a row of the type of argument 0, through
 * jsonb_populate_record, so every column gets its type's input function.
 * jsonb_populate_record learns that type from its call expression; ours has
 * the same first argument, so we lend it our expression.  Its own per-query
 * cache lives in the FmgrInfo we keep beside our pattern cache.
 */
Datum
aiml_regex_to_record(PG_FUNCTION_ARGS)
{
	void	  **extra;
	FmgrInfo   *populate;
	Jsonb	   *captures;
	Datum		result;

	LOCAL_FCINFO(call, 2);

	for (int i = 1; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	captures = first_match(fcinfo, 1, "aiml.regex_to_record");
	if (captures == NULL)
		PG_RETURN_NULL();

	extra = aiml_pattern_cache_extra(fcinfo);
	if (*extra == NULL)
	{
		Oid			basetype = get_fn_expr_argtype(fcinfo->flinfo, 0);

		if (!OidIsValid(basetype) || !type_is_rowtype(basetype))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("first argument of aiml.regex_to_record must be a row type, not %s",
							OidIsValid(basetype) ? format_type_be(basetype) : "unknown"),
					 errhint("Pass NULL cast to a composite type, e.g. NULL::my_table.")));
		populate = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FmgrInfo));
		fmgr_info_cxt(F_JSONB_POPULATE_RECORD, populate, fcinfo->flinfo->fn_mcxt);
		fmgr_info_set_expr(fcinfo->flinfo->fn_expr, populate);
		*extra = populate;
	}
	populate = (FmgrInfo *) *extra;

	InitFunctionCallInfoData(*call, populate, 2, PG_GET_COLLATION(), NULL, NULL);
	call->args[0] = fcinfo->args[0];
	call->args[1].value = JsonbPGetDatum(captures);
	call->args[1].isnull = false;
	result = FunctionCallInvoke(call);
	if (call->isnull)
		PG_RETURN_NULL();
	return result;
}
