/*
 * json.h: write JSON text into a StringInfo, for describe() output and other
 * jsonb results that are built member by member.
 *
 * Members are appended to an object the caller opened with '{'; each helper
 * writes the separating comma itself when the object already has a member.
 * Non-finite floats are written as null, since JSON has no NaN.
 */
#ifndef AIML_JSON_H
#define AIML_JSON_H

#include "postgres.h"

#include "lib/stringinfo.h"

extern void aiml_json_key(StringInfo buf, const char *key);
extern void aiml_json_float_value(StringInfo buf, double v);
extern void aiml_json_add_string(StringInfo buf, const char *key, const char *value);
extern void aiml_json_add_int(StringInfo buf, const char *key, int64 value);
extern void aiml_json_add_float(StringInfo buf, const char *key, double value);
extern void aiml_json_add_bool(StringInfo buf, const char *key, bool value);
extern void aiml_json_add_floats(StringInfo buf, const char *key, const double *v, int n);

/* Parse finished JSON text into a jsonb Datum. */
extern Datum aiml_json_to_jsonb(StringInfo buf);

#endif							/* AIML_JSON_H */
