/*
 * options.h: parse a jsonb options object against a table of known keys.
 *
 * Each module declares the options it takes, with their type, bounds and
 * where to store them; callers set defaults before parsing.  Unknown keys,
 * ill-typed values and values out of range get an error that names the key
 * and the function, with the valid keys in the hint.
 */
#ifndef AIML_OPTIONS_H
#define AIML_OPTIONS_H

#include "postgres.h"

#include "utils/jsonb.h"

typedef enum AimlOptionType
{
	AIML_OPT_INT,				/* int *, whole number within [min, max] */
	AIML_OPT_INT64,				/* int64 *, whole number within [min, max] */
	AIML_OPT_FLOAT,				/* double *, finite, within [min, max] */
	AIML_OPT_BOOL,				/* bool * */
	AIML_OPT_STRING,			/* char **, palloc'd; one of choices if given */
	AIML_OPT_FLOATS,			/* AimlFloatList *, each within [min, max] */
	AIML_OPT_STRINGS			/* AimlStringList *, each a non-empty string */
} AimlOptionType;

typedef struct AimlFloatList
{
	int			n;
	double	   *values;
} AimlFloatList;

typedef struct AimlStringList
{
	int			n;
	char	  **values;			/* palloc'd, NUL-terminated */
} AimlStringList;

typedef struct AimlOption
{
	const char *key;
	AimlOptionType type;
	void	   *dest;
	double		min;			/* numbers only; ignored when min == max == 0 */
	double		max;
	const char *const *choices; /* strings only: NULL-terminated, or NULL */
	bool	   *given;			/* set true when the key is present, if not NULL */
} AimlOption;

/*
 * Parses options (may be NULL: nothing to do) for function caller.  A JSON
 * null value leaves the default in place.
 */
extern void aiml_parse_options(Jsonb *options, const AimlOption *spec, int nspec,
							   const char *caller);

#endif							/* AIML_OPTIONS_H */
