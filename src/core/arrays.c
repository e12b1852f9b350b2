/*
 * arrays.c: float8[] <-> double* (see arrays.h).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "core/arrays.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

/* nullmap, when given, marks the positions that hold real values. */
static void
reject_nonfinite(const double *v, int n, const bits8 *nullmap, const char *what)
{
	for (int i = 0; i < n; i++)
		if (unlikely(!isfinite(v[i])) &&
			(nullmap == NULL || (nullmap[i / 8] & (1 << (i % 8)))))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s element %d is %s", what, i + 1,
							isnan(v[i]) ? "NaN" : "infinite"),
					 errhint("Remove or replace non-finite values, e.g. with NULLIF or a CASE expression.")));
}

/* Copies the elements of an array with NULLs, writing NaN for each NULL. */
static double *
copy_with_nulls(ArrayType *arr, int n, int flags, const char *what)
{
	const double *src = (const double *) ARR_DATA_PTR(arr);
	bits8	   *nullmap = ARR_NULLBITMAP(arr);
	double	   *out = palloc(sizeof(double) * n);

	for (int i = 0; i < n; i++)
	{
		if (nullmap[i / 8] & (1 << (i % 8)))
			out[i] = *src++;
		else if (flags & AIML_ARRAY_ALLOW_NULLS)
			out[i] = NAN;
		else
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s element %d is NULL", what, i + 1),
					 errhint("Replace missing values, e.g. with COALESCE, or filter those rows out.")));
	}
	return out;
}

const double *
aiml_array_doubles(ArrayType *arr, int *n, int flags, const char *what)
{
	const double *v;
	int			count;

	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		elog(ERROR, "%s must be a float8[], not an array of type %s", what,
			 format_type_be(ARR_ELEMTYPE(arr)));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array, not %d-dimensional",
						what, ARR_NDIM(arr)),
				 errhint("Pass one row's values as a flat array, e.g. ARRAY[a, b, c].")));

	count = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	if (count == 0 && !(flags & AIML_ARRAY_ALLOW_EMPTY))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is empty", what),
				 errhint("Pass at least one value.")));

	if (ARR_HASNULL(arr))
	{
		double	   *copy = copy_with_nulls(arr, count, flags, what);

		/* NaN standing for a NULL is allowed here; a real NaN is not */
		if (!(flags & AIML_ARRAY_ALLOW_NONFINITE))
			reject_nonfinite(copy, count, ARR_NULLBITMAP(arr), what);
		v = copy;
	}
	else
	{
		v = (const double *) ARR_DATA_PTR(arr);
		if (!(flags & AIML_ARRAY_ALLOW_NONFINITE))
			reject_nonfinite(v, count, NULL, what);
	}
	*n = count;
	return v;
}

ArrayType *
aiml_doubles_array(const double *v, int n)
{
	ArrayType  *arr;
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(double) * (Size) n;

	if (n == 0)
		return construct_empty_array(FLOAT8OID);
	arr = palloc0(nbytes);
	SET_VARSIZE(arr, nbytes);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT8OID;
	ARR_DIMS(arr)[0] = n;
	ARR_LBOUND(arr)[0] = 1;
	memcpy(ARR_DATA_PTR(arr), v, sizeof(double) * n);
	return arr;
}
