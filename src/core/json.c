/*
 * json.c: a minimal JSON text writer (see json.h).
 */
#include "postgres.h"

#include <math.h>

#include "core/json.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"

/* Writes "key": after a comma when the object already has members. */
void
aiml_json_key(StringInfo buf, const char *key)
{
	if (buf->len > 0 && buf->data[buf->len - 1] != '{' &&
		buf->data[buf->len - 1] != '[')
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

void
aiml_json_float_value(StringInfo buf, double v)
{
	if (isfinite(v))
		appendStringInfo(buf, "%.17g", v);
	else
		appendStringInfoString(buf, "null");
}

void
aiml_json_add_string(StringInfo buf, const char *key, const char *value)
{
	aiml_json_key(buf, key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

void
aiml_json_add_int(StringInfo buf, const char *key, int64 value)
{
	aiml_json_key(buf, key);
	appendStringInfo(buf, INT64_FORMAT, value);
}

void
aiml_json_add_float(StringInfo buf, const char *key, double value)
{
	aiml_json_key(buf, key);
	aiml_json_float_value(buf, value);
}

void
aiml_json_add_bool(StringInfo buf, const char *key, bool value)
{
	aiml_json_key(buf, key);
	appendStringInfoString(buf, value ? "true" : "false");
}

void
aiml_json_add_floats(StringInfo buf, const char *key, const double *v, int n)
{
	aiml_json_key(buf, key);
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		aiml_json_float_value(buf, v[i]);
	}
	appendStringInfoChar(buf, ']');
}

Datum
aiml_json_to_jsonb(StringInfo buf)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data));
}
