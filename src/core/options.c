/*
 * options.c: jsonb options parsing (see options.h).
 */
#include "postgres.h"

#include <math.h>

#include "core/options.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

static char *
valid_keys(const AimlOption *spec, int nspec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < nspec; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", spec[i].key);
	return buf.data;
}

static const char *
option_type_name(AimlOptionType type)
{
	switch (type)
	{
		case AIML_OPT_INT:
		case AIML_OPT_INT64:
			return "a whole number";
		case AIML_OPT_FLOAT:
			return "a number";
		case AIML_OPT_BOOL:
			return "true or false";
		case AIML_OPT_STRING:
			return "a string";
		case AIML_OPT_FLOATS:
			return "an array of numbers";
		case AIML_OPT_STRINGS:
			return "an array of non-empty strings";
	}
	return "?";
}

static void
option_wrong_type(const AimlOption *opt, const char *caller)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" of %s must be %s", opt->key, caller,
					option_type_name(opt->type))));
}

static bool
has_bounds(const AimlOption *opt)
{
	return !(opt->min == 0 && opt->max == 0);
}

static void
check_range(const AimlOption *opt, double v, const char *caller)
{
	if (has_bounds(opt) && (v < opt->min || v > opt->max))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" of %s must be between %g and %g, not %g",
						opt->key, caller, opt->min, opt->max, v)));
}

static double
numeric_value(const JsonbValue *v, const AimlOption *opt, const char *caller)
{
	double		d;

	if (v->type != jbvNumeric)
		option_wrong_type(opt, caller);
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(d))
		option_wrong_type(opt, caller);
	return d;
}

static double
whole_value(const JsonbValue *v, const AimlOption *opt, const char *caller)
{
	double		d = numeric_value(v, opt, caller);

	if (d != floor(d) || fabs(d) > 9007199254740992.0)
		option_wrong_type(opt, caller);
	check_range(opt, d, caller);
	return d;
}

static void
parse_string(const JsonbValue *v, const AimlOption *opt, const char *caller)
{
	char	   *s;

	if (v->type != jbvString)
		option_wrong_type(opt, caller);
	s = pnstrdup(v->val.string.val, v->val.string.len);
	if (opt->choices)
	{
		bool		ok = false;
		StringInfoData list;

		initStringInfo(&list);
		for (const char *const *c = opt->choices; *c; c++)
		{
			ok |= strcmp(*c, s) == 0;
			appendStringInfo(&list, "%s\"%s\"", c == opt->choices ? "" : ", ", *c);
		}
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of %s has unknown value \"%s\"",
							opt->key, caller, s),
					 errhint("Valid values are %s.", list.data)));
	}
	*(char **) opt->dest = s;
}

/* Reads an array value by iterating the container it sits in. */
static void
parse_floats(JsonbContainer *array, const AimlOption *opt, const char *caller)
{
	AimlFloatList *list = (AimlFloatList *) opt->dest;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			cap = 8;

	list->n = 0;
	list->values = palloc(sizeof(double) * cap);
	it = JsonbIteratorInit(array);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		double		d;

		if (tok != WJB_ELEM)
			continue;
		d = numeric_value(&v, opt, caller);
		check_range(opt, d, caller);
		if (list->n == cap)
		{
			cap *= 2;
			list->values = repalloc(list->values, sizeof(double) * cap);
		}
		list->values[list->n++] = d;
	}
}

/* Reads an array of strings; empty strings and other values are refused. */
static void
parse_strings(JsonbContainer *array, const AimlOption *opt, const char *caller)
{
	AimlStringList *list = (AimlStringList *) opt->dest;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			cap = 8;

	list->n = 0;
	list->values = palloc(sizeof(char *) * cap);
	it = JsonbIteratorInit(array);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvString || v.val.string.len == 0)
			option_wrong_type(opt, caller);
		if (list->n == cap)
		{
			cap *= 2;
			list->values = repalloc(list->values, sizeof(char *) * cap);
		}
		list->values[list->n++] = pnstrdup(v.val.string.val, v.val.string.len);
	}
}

static void
parse_one(const JsonbValue *v, const AimlOption *opt, const char *caller)
{
	switch (opt->type)
	{
		case AIML_OPT_INT:
			*(int *) opt->dest = (int) whole_value(v, opt, caller);
			break;
		case AIML_OPT_INT64:
			*(int64 *) opt->dest = (int64) whole_value(v, opt, caller);
			break;
		case AIML_OPT_FLOAT:
			{
				double		d = numeric_value(v, opt, caller);

				check_range(opt, d, caller);
				*(double *) opt->dest = d;
				break;
			}
		case AIML_OPT_BOOL:
			if (v->type != jbvBool)
				option_wrong_type(opt, caller);
			*(bool *) opt->dest = v->val.boolean;
			break;
		case AIML_OPT_STRING:
			parse_string(v, opt, caller);
			break;
		case AIML_OPT_FLOATS:
			if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
				option_wrong_type(opt, caller);
			parse_floats(v->val.binary.data, opt, caller);
			break;
		case AIML_OPT_STRINGS:
			if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
				option_wrong_type(opt, caller);
			parse_strings(v->val.binary.data, opt, caller);
			break;
	}
}

void
aiml_parse_options(Jsonb *options, const AimlOption *spec, int nspec,
				   const char *caller)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options of %s must be a JSON object", caller),
				 errhint("Write options as '{\"key\": value}'; valid keys are %s.",
						 valid_keys(spec, nspec))));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		const AimlOption *opt = NULL;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (int i = 0; i < nspec && opt == NULL; i++)
			if (strcmp(spec[i].key, key) == 0)
				opt = &spec[i];
		if (opt == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for %s", key, caller),
					 errhint("Valid options are %s.", valid_keys(spec, nspec))));

		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		if (v.type == jbvNull)
			continue;
		parse_one(&v, opt, caller);
		if (opt->given)
			*opt->given = true;
	}
}
