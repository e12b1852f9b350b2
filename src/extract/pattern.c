/*
 * pattern.c: compiled PCRE2 patterns, their per-query cache, and turning a
 * match into jsonb (see pattern.h).
 */
#include "postgres.h"

#include <limits.h>

#include "extract/pattern.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

int			aiml_regex_match_limit = 10000000;

/* Patterns one call site keeps compiled; a query rarely uses more. */
#define PATTERN_CACHE_SIZE 4

/* The JIT stack grows up to this; deep patterns fail cleanly beyond it. */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (4 * 1024 * 1024)

typedef struct PatternCacheEntry
{
	char	   *key;
	Size		keylen;
	uint32		options;
	AimlPattern *pattern;
} PatternCacheEntry;

typedef struct PatternCache
{
	int			n;
	int			next;			/* entry to evict next when full */
	PatternCacheEntry entries[PATTERN_CACHE_SIZE];
	void	   *extra;
} PatternCache;

void
aiml_extract_define_guc(void)
{
	DefineCustomIntVariable("aiml.regex_match_limit",
							"Most backtracking steps one regular expression or grok match may take.",
							"A match that needs more fails with an error instead of running for "
							"hours on a pathological pattern such as (a+)+$.",
							&aiml_regex_match_limit,
							10000000, 1000, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/*
 * PCRE2's allocator: palloc in the pattern's context.  It must not throw
 * (PCRE2 would be left half-way), so allocation failure returns NULL and
 * PCRE2 reports it as an error code we turn into an ERROR.
 */
static void *
pcre2_palloc(PCRE2_SIZE size, void *cxt)
{
	return MemoryContextAllocExtended((MemoryContext) cxt, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
pcre2_pfree(void *ptr, void *cxt)
{
	if (ptr != NULL)
		pfree(ptr);
}

/*
 * Frees what PCRE2 keeps outside palloc (JIT code, JIT stack) when the
 * pattern's context goes away, whether by eviction, end of query or error.
 */
static void
pattern_release(void *arg)
{
	AimlPattern *p = (AimlPattern *) arg;

	if (p->jit_stack)
		pcre2_jit_stack_free(p->jit_stack);
	if (p->code)
		pcre2_code_free(p->code);
	p->jit_stack = NULL;
	p->code = NULL;
}

static void
pcre2_out_of_memory(void *ptr)
{
	if (ptr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while compiling a regular expression")));
}

uint32
aiml_pattern_encoding_options(void)
{
	return GetDatabaseEncoding() == PG_UTF8 ? PCRE2_UTF : 0;
}

/*
 * Reports PCRE2's compile error with the byte offset it gives and the text
 * from there on, so a long (e.g. grok-expanded) pattern shows where it broke.
 */
static void
report_compile_error(int errorcode, PCRE2_SIZE offset, const char *pattern,
					 Size len, const char *what)
{
	PCRE2_UCHAR message[256];
	const char *near = pattern + Min(offset, len);
	int			nearlen = pg_mbcliplen(near, len - (near - pattern), 40);

	pcre2_get_error_message(errorcode, message, sizeof(message));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
			 errmsg("invalid %s at offset %zu: %s", what, (Size) offset,
					(char *) message),
			 nearlen > 0 ? errdetail("The error is at \"%.*s\".", nearlen, near) :
			 errdetail("The error is at the end of the pattern.")));
}

AimlPattern *
aiml_pattern_compile(const char *pattern, Size len, uint32 options,
					 MemoryContext parent, const char *what)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "aiml pattern",
											  ALLOCSET_SMALL_SIZES);
	AimlPattern *p = MemoryContextAllocZero(cxt, sizeof(AimlPattern));
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	pcre2_general_context *gcx;
	pcre2_compile_context *ccx;
	int			errorcode;
	PCRE2_SIZE	erroffset;

	p->cxt = cxt;
	p->utf = (options & PCRE2_UTF) != 0;
	cb->func = pattern_release;
	cb->arg = p;
	MemoryContextRegisterResetCallback(cxt, cb);

	gcx = pcre2_general_context_create(pcre2_palloc, pcre2_pfree, cxt);
	pcre2_out_of_memory(gcx);
	ccx = pcre2_compile_context_create(gcx);
	pcre2_out_of_memory(ccx);

	p->code = pcre2_compile((PCRE2_SPTR) pattern, len, options, &errorcode,
							&erroffset, ccx);
	if (p->code == NULL)
	{
		char	   *copy = pnstrdup(pattern, len);

		MemoryContextDelete(cxt);
		report_compile_error(errorcode, erroffset, copy, len, what);
	}
	p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;
	p->match_context = pcre2_match_context_create(gcx);
	pcre2_out_of_memory(p->match_context);
	if (p->jit)
	{
		p->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, gcx);
		if (p->jit_stack)
			pcre2_jit_stack_assign(p->match_context, NULL, p->jit_stack);
	}
	p->match_data = pcre2_match_data_create_from_pattern(p->code, gcx);
	pcre2_out_of_memory(p->match_data);
	return p;
}

void
aiml_pattern_free(AimlPattern *p)
{
	if (p)
		MemoryContextDelete(p->cxt);
}

uint32
aiml_regex_flags(const text *flags, const char *caller)
{
	const char *s = VARDATA_ANY(flags);
	int			len = VARSIZE_ANY_EXHDR(flags);
	uint32		options = 0;

	for (int i = 0; i < len; i++)
	{
		switch (s[i])
		{
			case 'i':
				options |= PCRE2_CASELESS;
				break;
			case 'm':
				options |= PCRE2_MULTILINE;
				break;
			case 's':
				options |= PCRE2_DOTALL;
				break;
			case 'x':
				options |= PCRE2_EXTENDED;
				break;
			case 'U':
				options |= PCRE2_UNGREEDY;
				break;
			case 'n':
				options |= PCRE2_NO_AUTO_CAPTURE;
				break;
			case 'u':
				if (GetDatabaseEncoding() != PG_UTF8)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("flag \"u\" of %s needs a UTF8 database", caller),
							 errhint("Unicode properties (\\w, \\d, \\b for all letters) "
									 "are available only when the database encoding is UTF8.")));
				options |= PCRE2_UCP;
				break;
			case 'g':
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("flag \"g\" is not accepted by %s", caller),
						 errhint("Use aiml.regex_extract_all for every match.")));
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown flag \"%.*s\" for %s", pg_mblen(s + i), s + i,
								caller),
						 errhint("Valid flags are i (ignore case), m (multiline), "
								 "s (dot matches newline), x (extended), u (Unicode "
								 "classes), U (ungreedy), n (no auto-capture).")));
		}
	}
	return options;
}

bool
aiml_pattern_match(AimlPattern *p, const char *subject, Size len, Size start,
				   uint32 match_options, const char *caller)
{
	int			rc;

	pcre2_set_match_limit(p->match_context, (uint32) aiml_regex_match_limit);
	pcre2_set_depth_limit(p->match_context, (uint32) aiml_regex_match_limit);
	/*
	 * The JIT code straight away: pcre2_match would check its arguments
	 * first, a fifth of the cost of a short anchored match.  Anchoring at
	 * match time is only for the interpreter.
	 */
	if (p->jit && (match_options & (PCRE2_ANCHORED | PCRE2_ENDANCHORED)) == 0)
		rc = pcre2_jit_match(p->code, (PCRE2_SPTR) subject, len, start, match_options,
							 p->match_data, p->match_context);
	else
		rc = pcre2_match(p->code, (PCRE2_SPTR) subject, len, start,
						 match_options | PCRE2_NO_UTF_CHECK, p->match_data,
						 p->match_context);
	if (rc >= 0)
		return true;
	if (rc == PCRE2_ERROR_NOMATCH)
		return false;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: match exceeded aiml.regex_match_limit (%d)",
						caller, aiml_regex_match_limit),
				 errdetail("The pattern backtracks too much on this text."),
				 errhint("Make the pattern less ambiguous, e.g. write (a+)+ as a+ "
						 "or use possessive quantifiers, or raise aiml.regex_match_limit.")));
	if (rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
		rc == PCRE2_ERROR_NOMEMORY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: match ran out of backtracking memory", caller),
				 errhint("Make the pattern less ambiguous, or shorten the text.")));

	{
		PCRE2_UCHAR message[256];

		pcre2_get_error_message(rc, message, sizeof(message));
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s: regular expression match failed: %s", caller,
						(char *) message)));
	}
	return false;				/* not reached */
}

static int
compare_ints(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	return (x > y) - (x < y);
}

/*
 * Adds group number group to the slot named key, creating the slot (with
 * type) if new.
 */
void
aiml_pattern_add_slot(AimlPattern *p, const char *key, int group,
					  AimlCaptureType type)
{
	int		   *capacity = &p->slots_capacity;
	AimlCaptureSlot *slot = NULL;

	for (int i = 0; i < p->nslots; i++)
		if (strcmp(p->slots[i].key, key) == 0)
			slot = &p->slots[i];
	if (slot == NULL)
	{
		if (p->nslots == *capacity)
		{
			*capacity = Max(8, *capacity * 2);
			p->slots = p->slots ?
				repalloc(p->slots, sizeof(AimlCaptureSlot) * *capacity) :
				MemoryContextAlloc(p->cxt, sizeof(AimlCaptureSlot) * *capacity);
		}
		slot = &p->slots[p->nslots++];
		slot->key = MemoryContextStrdup(p->cxt, key);
		slot->type = type;
		slot->ngroups = 0;
		slot->groups = NULL;
	}
	slot->groups = slot->groups ?
		repalloc(slot->groups, sizeof(int) * (slot->ngroups + 1)) :
		MemoryContextAlloc(p->cxt, sizeof(int));
	slot->groups[slot->ngroups++] = group;
	qsort(slot->groups, slot->ngroups, sizeof(int), compare_ints);
}

void
aiml_pattern_slots_from_names(AimlPattern *p)
{
	uint32		namecount,
				entrysize,
				captures;
	PCRE2_SPTR	table;

	pcre2_pattern_info(p->code, PCRE2_INFO_NAMECOUNT, &namecount);
	pcre2_pattern_info(p->code, PCRE2_INFO_NAMEENTRYSIZE, &entrysize);
	pcre2_pattern_info(p->code, PCRE2_INFO_NAMETABLE, &table);
	pcre2_pattern_info(p->code, PCRE2_INFO_CAPTURECOUNT, &captures);

	for (uint32 i = 0; i < namecount; i++)
	{
		PCRE2_SPTR	entry = table + i * entrysize;

		aiml_pattern_add_slot(p, (const char *) entry + 2,
					   (entry[0] << 8) | entry[1], AIML_CAPTURE_STRING);
	}
	if (namecount > 0)
		return;
	if (captures == 0)
		aiml_pattern_add_slot(p, "0", 0, AIML_CAPTURE_STRING);
	for (uint32 g = 1; g <= captures; g++)
	{
		char		key[16];

		snprintf(key, sizeof(key), "%u", g);
		aiml_pattern_add_slot(p, key, g, AIML_CAPTURE_STRING);
	}
}

/*
 * Whether s[0..len) is a decimal number JSON can hold: optional sign,
 * digits with an optional fraction, an optional exponent of at most three
 * digits (so numeric_in cannot overflow).
 */
static bool
is_decimal_number(const char *s, int len)
{
	int			i = 0,
				digits = 0,
				expdigits = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < len && isdigit((unsigned char) s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char) s[i]); i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < len && isdigit((unsigned char) s[i]); i++)
			expdigits++;
		if (expdigits == 0 || expdigits > 3)
			return false;
	}
	return i == len;
}

/*
 * A capture converted for grok's :int or :float.  Text that is not a number
 * becomes JSON null rather than an error, so one odd line does not stop a
 * scan of millions.
 */
static void
set_number_value(JsonbValue *v, const char *s, int len, AimlCaptureType type)
{
	Datum		num;
	char	   *copy;

	if (!is_decimal_number(s, len))
	{
		v->type = jbvNull;
		return;
	}
	copy = pnstrdup(s[0] == '+' ? s + 1 : s, s[0] == '+' ? len - 1 : len);
	num = DirectFunctionCall3(numeric_in, CStringGetDatum(copy),
							  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	if (type == AIML_CAPTURE_INT)
		num = DirectFunctionCall2(numeric_trunc, num, Int32GetDatum(0));
	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(num);
}

/*
 * Without PCRE2_UTF a capture in a multibyte database encoding could end
 * inside a character; refuse to put such bytes into jsonb.
 */
static void
check_capture_encoding(const AimlPattern *p, const char *s, int len)
{
	if (!p->utf && pg_database_encoding_max_length() > 1 &&
		!pg_verifymbstr(s, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("a capture splits a character of the database encoding %s",
						GetDatabaseEncodingName()),
				 errhint("Match whole characters, e.g. use .+ rather than byte classes.")));
}

Jsonb *
aiml_pattern_captures_jsonb(const AimlPattern *p, const char *subject)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->match_data);
	JsonbParseState *state = NULL;
	JsonbValue	key,
				val,
			   *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < p->nslots; i++)
	{
		const AimlCaptureSlot *slot = &p->slots[i];

		key.type = jbvString;
		key.val.string.val = slot->key;
		key.val.string.len = strlen(slot->key);
		pushJsonbValue(&state, WJB_KEY, &key);

		val.type = jbvNull;
		for (int j = 0; j < slot->ngroups; j++)
		{
			int			g = slot->groups[j];
			PCRE2_SIZE	start = ov[2 * g],
						end = ov[2 * g + 1];

			if (start == PCRE2_UNSET)
				continue;
			if (end < start)	/* \K in a lookahead can do this */
				end = start;
			check_capture_encoding(p, subject + start, end - start);
			if (slot->type == AIML_CAPTURE_STRING)
			{
				val.type = jbvString;
				val.val.string.val = (char *) subject + start;
				val.val.string.len = end - start;
			}
			else
				set_number_value(&val, subject + start, end - start, slot->type);
			break;
		}
		pushJsonbValue(&state, WJB_VALUE, &val);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

static PatternCache *
pattern_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(PatternCache));
	return (PatternCache *) fcinfo->flinfo->fn_extra;
}

AimlPattern *
aiml_pattern_cached(FunctionCallInfo fcinfo, const char *key, Size keylen,
					uint32 options, AimlPatternBuilder build, void *arg)
{
	PatternCache *cache = pattern_cache(fcinfo);
	PatternCacheEntry *e;

	for (int i = 0; i < cache->n; i++)
	{
		e = &cache->entries[i];
		if (e->options == options && e->keylen == keylen &&
			memcmp(e->key, key, keylen) == 0)
			return e->pattern;
	}

	if (cache->n < PATTERN_CACHE_SIZE)
		e = &cache->entries[cache->n++];
	else
	{
		e = &cache->entries[cache->next];
		cache->next = (cache->next + 1) % PATTERN_CACHE_SIZE;
		aiml_pattern_free(e->pattern);
		if (e->key)
			pfree(e->key);
	}
	/* an error while building leaves an entry that matches nothing */
	e->key = NULL;
	e->keylen = 0;
	e->options = UINT32_MAX;
	e->pattern = NULL;

	e->pattern = build(key, keylen, options, fcinfo->flinfo->fn_mcxt, arg);
	e->key = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, Max(keylen, 1));
	memcpy(e->key, key, keylen);
	e->keylen = keylen;
	e->options = options;
	return e->pattern;
}

void	  **
aiml_pattern_cache_extra(FunctionCallInfo fcinfo)
{
	return &pattern_cache(fcinfo)->extra;
}
