/*
 * grok.c: aiml.grok(text, pattern), Logstash's grok in SQL.
 *
 * A grok pattern is a regular expression with references %{SYNTAX},
 * %{SYNTAX:field} and %{SYNTAX:field:int|float}.  Each reference expands,
 * recursively, to the definition of SYNTAX: first from the table
 * aiml.grok_patterns (users' own patterns, which override), then from the
 * pattern library shipped as files in <sharedir>/extension/aiml/grok/, read
 * once per backend.  A reference with a field becomes a named group
 * (?<_aimlN>...), N indexing the field list, since field names such as
 * "[http][verb]" or "@timestamp" are not valid PCRE2 group names; one
 * without a field becomes (?:...).  The expanded pattern is compiled once
 * per query (see pattern.h).
 */
#include "postgres.h"

#include <dirent.h>

#include "executor/spi.h"
#include "extract/pattern.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(aiml_grok);
PG_FUNCTION_INFO_V1(aiml_grok_library);

#define GROK_NAME_MAX 64		/* longest pattern name */
#define GROK_MAX_DEPTH 64		/* deepest nesting of references */
#define GROK_MAX_EXPANDED (1024 * 1024) /* largest expanded pattern, bytes */
#define GROK_GROUP_PREFIX "_aiml"

typedef struct GrokDefinition
{
	char		name[GROK_NAME_MAX];	/* hash key */
	char	   *pattern;
	char	   *source;			/* file it came from, or "aiml.grok_patterns" */
} GrokDefinition;

typedef struct GrokField
{
	char	   *name;
	AimlCaptureType type;
} GrokField;

/* State of one expansion. */
typedef struct GrokExpander
{
	HTAB	   *user;			/* aiml.grok_patterns, may be NULL */
	StringInfoData out;
	GrokField  *fields;
	int			nfields;
	int			capacity;
	const char *path[GROK_MAX_DEPTH];	/* references being expanded */
	int			depth;
} GrokExpander;

/* The shipped library, loaded on first use in this backend. */
static HTAB *grok_library = NULL;

static HTAB *
definitions_create(const char *what, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = GROK_NAME_MAX;
	ctl.entrysize = sizeof(GrokDefinition);
	ctl.hcxt = cxt;
	return hash_create(what, 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static bool
is_pattern_name(const char *s, int len)
{
	if (len <= 0 || len >= GROK_NAME_MAX)
		return false;
	for (int i = 0; i < len; i++)
		if (!isalnum((unsigned char) s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Adds or replaces a definition; later files and the table override. */
static void
definition_put(HTAB *defs, const char *name, int namelen, const char *pattern,
			   const char *source, MemoryContext cxt)
{
	char		key[GROK_NAME_MAX];
	GrokDefinition *d;

	memset(key, 0, sizeof(key));
	memcpy(key, name, namelen);
	d = hash_search(defs, key, HASH_ENTER, NULL);
	d->pattern = MemoryContextStrdup(cxt, pattern);
	d->source = MemoryContextStrdup(cxt, source);
}

/*
 * Reads one pattern file: "NAME definition" per line, '#' starts a comment
 * line, blank lines are skipped.
 */
static void
load_pattern_file(HTAB *defs, const char *path, const char *source,
				  MemoryContext cxt)
{
	FILE	   *f = AllocateFile(path, "r");
	StringInfoData line;
	int			lineno = 0;

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open grok pattern file \"%s\": %m", path)));
	initStringInfo(&line);
	for (;;)
	{
		int			c;
		char	   *s,
				   *end,
				   *name;

		resetStringInfo(&line);
		while ((c = fgetc(f)) != EOF && c != '\n')
			appendStringInfoChar(&line, (char) c);
		if (c == EOF && line.len == 0)
			break;
		lineno++;

		s = line.data;
		end = s + line.len;
		while (end > s && isspace((unsigned char) end[-1]))
			*--end = '\0';
		while (*s && isspace((unsigned char) *s))
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		name = s;
		while (*s && !isspace((unsigned char) *s))
			s++;
		if (!is_pattern_name(name, s - name) || *s == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("grok pattern file \"%s\" line %d is not \"NAME pattern\"",
							path, lineno)));
		*s++ = '\0';
		while (*s && isspace((unsigned char) *s))
			s++;
		definition_put(defs, name, strlen(name), s, source, cxt);
	}
	FreeFile(f);
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The library's directory: <sharedir>/extension/aiml/grok. */
static char *
library_directory(void)
{
	char		share[MAXPGPATH];

	get_share_path(my_exec_path, share);
	return psprintf("%s/extension/aiml/grok", share);
}

/*
 * Loads every file of the library directory in name order into a hash in
 * its own long-lived context; on error the half-built hash is thrown away,
 * so the next call tries again.
 */
static HTAB *
load_library(void)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "aiml grok library",
											  ALLOCSET_DEFAULT_SIZES);
	HTAB	   *defs = NULL;

	PG_TRY();
	{
		char	   *dirpath = library_directory();
		DIR		   *dir = AllocateDir(dirpath);
		struct dirent *de;
		char	  **files = NULL;
		int			nfiles = 0;

		if (dir == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("grok pattern library \"%s\" is missing: %m", dirpath),
					 errhint("Reinstall aiml with \"make install\".")));
		while ((de = ReadDir(dir, dirpath)) != NULL)
		{
			if (de->d_name[0] == '.')
				continue;
			files = files ? repalloc(files, sizeof(char *) * (nfiles + 1)) :
				palloc(sizeof(char *));
			files[nfiles++] = pstrdup(de->d_name);
		}
		FreeDir(dir);
		if (nfiles > 0)
			qsort(files, nfiles, sizeof(char *), compare_strings);

		defs = definitions_create("aiml grok library", cxt);
		for (int i = 0; i < nfiles; i++)
			load_pattern_file(defs, psprintf("%s/%s", dirpath, files[i]),
							  files[i], cxt);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return defs;
}

static HTAB *
library(void)
{
	if (grok_library == NULL)
		grok_library = load_library();
	return grok_library;
}

/* The rows of aiml.grok_patterns, read in the query's snapshot. */
static HTAB *
load_user_patterns(MemoryContext cxt)
{
	HTAB	   *defs = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT name, pattern FROM aiml.grok_patterns", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading aiml.grok_patterns failed");
	if (SPI_processed > 0)
		defs = definitions_create("aiml grok user patterns", cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *pattern = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (name == NULL || pattern == NULL || !is_pattern_name(name, strlen(name)))
			continue;			/* the table's CHECK constraints forbid these */
		definition_put(defs, name, strlen(name), pattern, "aiml.grok_patterns", cxt);
	}
	SPI_finish();
	return defs;
}

static GrokDefinition *
definition_find(HTAB *defs, const char *name)
{
	char		key[GROK_NAME_MAX];

	if (defs == NULL)
		return NULL;
	memset(key, 0, sizeof(key));
	strlcpy(key, name, sizeof(key));
	return hash_search(defs, key, HASH_FIND, NULL);
}

/* "A -> B -> C": the chain of references being expanded, for errors. */
static char *
expansion_path(const GrokExpander *gx, const char *last)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < gx->depth; i++)
		appendStringInfo(&buf, "%s -> ", gx->path[i]);
	appendStringInfoString(&buf, last);
	return buf.data;
}

/* The definition of name, the user's first; errors when there is none. */
static const char *
lookup_definition(GrokExpander *gx, const char *name)
{
	GrokDefinition *d = definition_find(gx->user, name);

	if (d == NULL)
		d = definition_find(library(), name);
	if (d == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("grok pattern \"%s\" does not exist", name),
				 gx->depth > 0 ?
				 errdetail("It is referenced by %s.", expansion_path(gx, name)) : 0,
				 errhint("Add it with INSERT INTO aiml.grok_patterns (name, pattern), "
						 "or list the built-in patterns with SELECT * FROM aiml.grok_library().")));
	for (int i = 0; i < gx->depth; i++)
		if (strcmp(gx->path[i], name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("grok pattern \"%s\" refers to itself", name),
					 errdetail("The references run %s.", expansion_path(gx, name))));
	if (gx->depth >= GROK_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("grok patterns nest more than %d levels deep", GROK_MAX_DEPTH),
				 errdetail("The references run %s.", expansion_path(gx, name))));
	return d->pattern;
}

static AimlCaptureType
parse_field_type(const char *type, const char *reference)
{
	if (strcmp(type, "int") == 0 || strcmp(type, "integer") == 0)
		return AIML_CAPTURE_INT;
	if (strcmp(type, "float") == 0)
		return AIML_CAPTURE_FLOAT;
	if (strcmp(type, "string") == 0)
		return AIML_CAPTURE_STRING;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown grok type \"%s\" in %%{%s}", type, reference),
			 errhint("Valid types are int and float; without a type the field is a string.")));
	return AIML_CAPTURE_STRING;	/* not reached */
}

static int
add_field(GrokExpander *gx, const char *name, AimlCaptureType type)
{
	if (gx->nfields == gx->capacity)
	{
		gx->capacity = Max(16, gx->capacity * 2);
		gx->fields = gx->fields ?
			repalloc(gx->fields, sizeof(GrokField) * gx->capacity) :
			palloc(sizeof(GrokField) * gx->capacity);
	}
	gx->fields[gx->nfields].name = pstrdup(name);
	gx->fields[gx->nfields].type = type;
	return gx->nfields++;
}

static void expand(GrokExpander *gx, const char *pattern, int len);

/*
 * Expands one reference, the text between "%{" and "}": SYNTAX, optionally
 * ":field", optionally ":type" (after the last colon).
 */
static void
expand_reference(GrokExpander *gx, const char *ref, int len)
{
	char	   *reference = pnstrdup(ref, len);
	char	   *field = strchr(reference, ':');
	char	   *syntax = reference;
	const char *definition;
	AimlCaptureType type = AIML_CAPTURE_STRING;

	if (field)
	{
		char	   *typesep;

		*field++ = '\0';
		typesep = strrchr(field, ':');
		if (typesep)
		{
			*typesep = '\0';
			type = parse_field_type(typesep + 1, pnstrdup(ref, len));
		}
		if (*field == '\0')
			field = NULL;
	}
	if (!is_pattern_name(syntax, strlen(syntax)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid grok reference %%{%.*s}", len, ref),
				 errhint("A reference is %%{NAME}, %%{NAME:field} or %%{NAME:field:int}, "
						 "NAME made of letters, digits and underscores.")));

	definition = lookup_definition(gx, syntax);
	if (field)
		appendStringInfo(&gx->out, "(?<" GROK_GROUP_PREFIX "%d>",
						 add_field(gx, field, type));
	else
		appendStringInfoString(&gx->out, "(?:");
	gx->path[gx->depth++] = syntax;
	expand(gx, definition, strlen(definition));
	gx->depth--;
	appendStringInfoChar(&gx->out, ')');
}

/*
 * Copies pattern to the output, expanding references.  A backslash and the
 * character after it are copied as they are, so \%{ is a literal "%{".
 */
static void
expand(GrokExpander *gx, const char *pattern, int len)
{
	for (int i = 0; i < len; i++)
	{
		const char *close;

		if (pattern[i] == '\\' && i + 1 < len)
		{
			appendBinaryStringInfo(&gx->out, pattern + i, 2);
			i++;
			continue;
		}
		if (pattern[i] == '%' && i + 1 < len && pattern[i + 1] == '{' &&
			(close = memchr(pattern + i + 2, '}', len - i - 2)) != NULL)
		{
			expand_reference(gx, pattern + i + 2, close - (pattern + i + 2));
			i = close - pattern;
		}
		else
			appendStringInfoChar(&gx->out, pattern[i]);

		if (gx->out.len > GROK_MAX_EXPANDED)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("grok pattern expands to more than %d bytes", GROK_MAX_EXPANDED),
					 errhint("Patterns that refer to others several times multiply in size.")));
	}
}

/* Field number of a group name _aimlN, or -1 for a user's own name. */
static int
field_of_group(const char *name, int nfields)
{
	const char *digits = name + strlen(GROK_GROUP_PREFIX);
	char	   *end;
	long		n;

	if (strncmp(name, GROK_GROUP_PREFIX, strlen(GROK_GROUP_PREFIX)) != 0 ||
		!isdigit((unsigned char) *digits))
		return -1;
	n = strtol(digits, &end, 10);
	return *end == '\0' && n < nfields ? (int) n : -1;
}

/*
 * Slots from the compiled pattern's name table: our groups under their
 * field names and types, the user's own (?<name>...) groups as strings.
 */
static void
grok_slots(AimlPattern *p, const GrokExpander *gx)
{
	uint32		namecount,
				entrysize;
	PCRE2_SPTR	table;

	pcre2_pattern_info(p->code, PCRE2_INFO_NAMECOUNT, &namecount);
	pcre2_pattern_info(p->code, PCRE2_INFO_NAMEENTRYSIZE, &entrysize);
	pcre2_pattern_info(p->code, PCRE2_INFO_NAMETABLE, &table);
	for (uint32 i = 0; i < namecount; i++)
	{
		PCRE2_SPTR	entry = table + i * entrysize;
		const char *name = (const char *) entry + 2;
		int			group = (entry[0] << 8) | entry[1];
		int			f = field_of_group(name, gx->nfields);

		if (f >= 0)
			aiml_pattern_add_slot(p, gx->fields[f].name, group, gx->fields[f].type);
		else
			aiml_pattern_add_slot(p, name, group, AIML_CAPTURE_STRING);
	}
}

/* Cache builder: expand, compile, map groups to fields. */
static AimlPattern *
build_grok(const char *key, Size keylen, uint32 options, MemoryContext cxt,
		   void *arg)
{
	GrokExpander gx;
	AimlPattern *p;

	memset(&gx, 0, sizeof(gx));
	gx.user = load_user_patterns(CurrentMemoryContext);
	initStringInfo(&gx.out);
	expand(&gx, key, keylen);
	p = aiml_pattern_compile(gx.out.data, gx.out.len, options | PCRE2_DUPNAMES,
							 cxt, "grok pattern");
	grok_slots(p, &gx);
	return p;
}

Datum
aiml_grok(PG_FUNCTION_ARGS)
{
	const char *caller = "aiml.grok";
	text	   *subject = PG_GETARG_TEXT_PP(0);
	text	   *pattern = PG_GETARG_TEXT_PP(1);
	AimlPattern *p = aiml_pattern_cached(fcinfo, VARDATA_ANY(pattern),
										 VARSIZE_ANY_EXHDR(pattern),
										 aiml_pattern_encoding_options(),
										 build_grok, NULL);

	if (!aiml_pattern_match(p, VARDATA_ANY(subject), VARSIZE_ANY_EXHDR(subject),
							0, 0, caller))
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(aiml_pattern_captures_jsonb(p, VARDATA_ANY(subject)));
}

/* aiml.grok_library(): the shipped patterns, for browsing. */
Datum
aiml_grok_library(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	GrokDefinition *d;

	InitMaterializedSRF(fcinfo, 0);
	hash_seq_init(&seq, library());
	while ((d = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(d->name);
		values[1] = CStringGetTextDatum(d->pattern);
		values[2] = CStringGetTextDatum(d->source);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
