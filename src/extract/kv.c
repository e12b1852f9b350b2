/*
 * kv.c: aiml.extract_kv(text [, options]), the key=value and key: value
 * pairs of a log line or ticket as a jsonb object of strings.
 *
 * The text is read left to right as tokens.  A key is a run of characters
 * that are neither whitespace, pair separators nor key-value separators (or
 * a quoted string); it counts only when a key-value separator follows it,
 * possibly after spaces; anything else is skipped up to the next pair
 * separator.  After the separator, spaces are skipped and the value is a
 * quoted string ("..." or '...', backslash escapes) or the run up to the
 * next pair separator; unquoted values are trimmed of surrounding
 * whitespace.  Whitespace separates pairs when pair_sep contains a space.
 * A key seen twice keeps its last value, as in jsonb itself.
 */
#include "postgres.h"

#include "core/options.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(aiml_extract_kv);

typedef struct KvRules
{
	bool		pair_sep[256];	/* characters that end a pair */
	bool		kv_sep[256];	/* characters between key and value */
} KvRules;

typedef struct KvScanner
{
	const char *s;
	int			len;
	int			pos;
	const KvRules *rules;
} KvScanner;

/*
 * Turns a separator option into a character set.  Separators must be
 * single-byte, non-alphanumeric and not quotes or backslash, so they cannot
 * be confused with keys or quoting; a space stands for any whitespace.
 */
static void
separator_set(const char *option, const char *chars, bool *set)
{
	if (*chars == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of aiml.extract_kv must not be empty", option)));
	for (const unsigned char *c = (const unsigned char *) chars; *c; c++)
	{
		if (IS_HIGHBIT_SET(*c) || isalnum(*c) || *c == '"' || *c == '\'' || *c == '\\')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of aiml.extract_kv has an invalid separator \"%c\"",
							option, IS_HIGHBIT_SET(*c) ? '?' : *c),
					 errhint("Separators are ASCII punctuation or whitespace, not letters, "
							 "digits, quotes or backslash.")));
		set[*c] = true;
		if (isspace(*c))
			set[' '] = set['\t'] = set['\n'] = set['\r'] = set['\f'] = set['\v'] = true;
	}
}

static void
parse_rules(Jsonb *options, KvRules *rules)
{
	char	   *pair_sep = " ,;";
	char	   *kv_sep = "=:";
	AimlOption	spec[] = {
		{"pair_sep", AIML_OPT_STRING, &pair_sep, 0, 0, NULL, NULL},
		{"kv_sep", AIML_OPT_STRING, &kv_sep, 0, 0, NULL, NULL},
	};

	aiml_parse_options(options, spec, lengthof(spec), "aiml.extract_kv");
	memset(rules, 0, sizeof(*rules));
	separator_set("pair_sep", pair_sep, rules->pair_sep);
	separator_set("kv_sep", kv_sep, rules->kv_sep);
	for (int c = 0; c < 256; c++)
		if (rules->pair_sep[c] && rules->kv_sep[c])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%c\" cannot be both in pair_sep and in kv_sep of aiml.extract_kv",
							isspace(c) ? ' ' : c)));
}

static bool
at_end(const KvScanner *sc)
{
	return sc->pos >= sc->len;
}

static unsigned char
peek(const KvScanner *sc)
{
	return (unsigned char) sc->s[sc->pos];
}

static void
skip_spaces(KvScanner *sc)
{
	while (!at_end(sc) && isspace(peek(sc)))
		sc->pos++;
}

/* A character that can be part of an unquoted key. */
static bool
is_key_char(const KvScanner *sc, unsigned char c)
{
	return !isspace(c) && !sc->rules->pair_sep[c] && !sc->rules->kv_sep[c] &&
		c != '"' && c != '\'';
}

/*
 * Reads a quoted string starting at the opening quote into out: \n, \t, \r
 * become control characters, a backslash before anything else keeps that
 * character.  An unterminated quote runs to the end of the text.
 */
static void
read_quoted(KvScanner *sc, StringInfo out)
{
	char		quote = sc->s[sc->pos++];

	while (!at_end(sc) && sc->s[sc->pos] != quote)
	{
		char		c = sc->s[sc->pos++];

		if (c == '\\' && !at_end(sc))
		{
			c = sc->s[sc->pos++];
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'r')
				c = '\r';
		}
		appendStringInfoChar(out, c);
	}
	if (!at_end(sc))
		sc->pos++;				/* closing quote */
}

/* The key at the scanner, quoted or not; false when there is none. */
static bool
read_key(KvScanner *sc, StringInfo key)
{
	int			start = sc->pos;

	if (peek(sc) == '"' || peek(sc) == '\'')
	{
		read_quoted(sc, key);
		return true;
	}
	while (!at_end(sc) && is_key_char(sc, peek(sc)))
		sc->pos++;
	appendBinaryStringInfo(key, sc->s + start, sc->pos - start);
	return sc->pos > start;
}

/* An unquoted value: up to the next pair separator, trimmed. */
static void
read_bare_value(KvScanner *sc, StringInfo value)
{
	int			start = sc->pos,
				end;

	while (!at_end(sc) && !sc->rules->pair_sep[peek(sc)])
		sc->pos++;
	end = sc->pos;
	while (end > start && isspace((unsigned char) sc->s[end - 1]))
		end--;
	appendBinaryStringInfo(value, sc->s + start, end - start);
}

static void
push_string(JsonbParseState **state, JsonbIteratorToken token, StringInfo s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = s->data;
	v.val.string.len = s->len;
	pushJsonbValue(state, token, &v);
}

Datum
aiml_extract_kv(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(0);
	KvRules		rules;
	KvScanner	sc;
	JsonbParseState *state = NULL;
	JsonbValue *res;

	parse_rules(PG_NARGS() > 1 ? PG_GETARG_JSONB_P(1) : NULL, &rules);
	sc.s = VARDATA_ANY(input);
	sc.len = VARSIZE_ANY_EXHDR(input);
	sc.pos = 0;
	sc.rules = &rules;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (;;)
	{
		StringInfoData key,
					value;
		int			keyend;
		bool		spaced;
		unsigned char sep;

		CHECK_FOR_INTERRUPTS();
		while (!at_end(&sc) && (isspace(peek(&sc)) || rules.pair_sep[peek(&sc)]))
			sc.pos++;
		if (at_end(&sc))
			break;

		initStringInfo(&key);
		if (!read_key(&sc, &key))
		{
			sc.pos++;			/* a key-value separator without a key */
			continue;
		}
		keyend = sc.pos;
		skip_spaces(&sc);
		spaced = sc.pos > keyend;
		if (at_end(&sc) || !rules.kv_sep[peek(&sc)] || key.len == 0)
		{
			sc.pos = keyend;	/* a word that is not a key: look on after it */
			continue;
		}
		sep = peek(&sc);
		sc.pos++;
		if (!rules.pair_sep[' '] || spaced || sep == ':')
			while (!at_end(&sc) && (peek(&sc) == ' ' || peek(&sc) == '\t'))
				sc.pos++;

		initStringInfo(&value);
		if (!at_end(&sc) && (peek(&sc) == '"' || peek(&sc) == '\''))
			read_quoted(&sc, &value);
		else
			read_bare_value(&sc, &value);
		push_string(&state, WJB_KEY, &key);
		push_string(&state, WJB_VALUE, &value);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
