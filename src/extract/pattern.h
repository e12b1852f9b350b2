/*
 * pattern.h: PCRE2 inside a backend, shared by the regex and grok functions.
 *
 * A compiled pattern (AimlPattern) owns a memory context: PCRE2 allocates
 * through a general context whose malloc and free go to palloc in it, so the
 * compiled code, match data and the interpreter's frames go away with the
 * context, on error paths too.  JIT code and the JIT stack live in memory
 * PCRE2 maps itself; a reset callback on the context frees them.
 *
 * Patterns are compiled once per query: AimlPatternCache lives in fn_extra
 * and keeps the last few patterns a call site used, keyed by the pattern
 * text and its flags.
 *
 * A match turns into jsonb through capture slots: one JSON key per slot,
 * filled from the first of the slot's groups that took part in the match, so
 * a name used by several groups (grok's alternations, (?J) patterns) gives
 * one key.
 */
#ifndef AIML_EXTRACT_PATTERN_H
#define AIML_EXTRACT_PATTERN_H

#include "postgres.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "fmgr.h"
#include "utils/jsonb.h"

/* How a capture becomes a JSON value. */
typedef enum AimlCaptureType
{
	AIML_CAPTURE_STRING = 0,
	AIML_CAPTURE_INT,			/* grok's :int, a JSON number truncated to whole */
	AIML_CAPTURE_FLOAT			/* grok's :float, a JSON number */
} AimlCaptureType;

typedef struct AimlCaptureSlot
{
	char	   *key;
	AimlCaptureType type;
	int			ngroups;
	int		   *groups;			/* group numbers, in pattern order */
} AimlCaptureSlot;

typedef struct AimlPattern
{
	MemoryContext cxt;			/* holds everything below */
	pcre2_code *code;
	pcre2_match_data *match_data;
	pcre2_match_context *match_context;
	pcre2_jit_stack *jit_stack;
	bool		jit;			/* JIT compilation succeeded */
	bool		utf;			/* compiled with PCRE2_UTF */
	int			nslots;
	int			slots_capacity;
	AimlCaptureSlot *slots;
	void	   *extra;			/* owner's data, e.g. grok's field names */
} AimlPattern;

/* aiml.regex_match_limit: most backtracking steps one match may take */
extern int	aiml_regex_match_limit;

extern void aiml_extract_define_guc(void);

/*
 * Compiles pattern (len bytes) with PCRE2 options in a new context under
 * parent.  what names the pattern in error messages ("regular expression",
 * "grok pattern").  Invalid patterns raise ERRCODE_INVALID_REGULAR_EXPRESSION
 * with PCRE2's message and the offset.
 */
extern AimlPattern *aiml_pattern_compile(const char *pattern, Size len,
										 uint32 options, MemoryContext parent,
										 const char *what);

/* Frees a compiled pattern and its JIT code. */
extern void aiml_pattern_free(AimlPattern *p);

/* PCRE2 options for a flags string such as "im"; errors on unknown flags. */
extern uint32 aiml_regex_flags(const text *flags, const char *caller);

/* The PCRE2_UTF option when the database encoding is UTF-8, else 0. */
extern uint32 aiml_pattern_encoding_options(void);

/*
 * Runs one match of p over subject[0..len) from offset start.  Returns true
 * on a match (the ovector is in p->match_data), false on none; errors when
 * the match limit is reached.
 */
extern bool aiml_pattern_match(AimlPattern *p, const char *subject, Size len,
							   Size start, uint32 match_options, const char *caller);

/* Adds group to the slot named key, creating the slot (with type) if new. */
extern void aiml_pattern_add_slot(AimlPattern *p, const char *key, int group,
								  AimlCaptureType type);

/* Slots for every named group, or "1".."n" (or "0") when none is named. */
extern void aiml_pattern_slots_from_names(AimlPattern *p);

/* The captures of the last match of p over subject as a jsonb object. */
extern Jsonb *aiml_pattern_captures_jsonb(const AimlPattern *p, const char *subject);

/*
 * Per-query cache of compiled patterns in fn_extra.  build compiles key
 * (keylen bytes) with options into a pattern allocated under cxt; it is
 * called only on a cache miss.
 */
typedef AimlPattern *(*AimlPatternBuilder) (const char *key, Size keylen,
											 uint32 options, MemoryContext cxt,
											 void *arg);

extern AimlPattern *aiml_pattern_cached(FunctionCallInfo fcinfo, const char *key,
										Size keylen, uint32 options,
										AimlPatternBuilder build, void *arg);

/* A per-call-site pointer kept beside the cache (e.g. regex_to_record's). */
extern void **aiml_pattern_cache_extra(FunctionCallInfo fcinfo);

#endif							/* AIML_EXTRACT_PATTERN_H */
