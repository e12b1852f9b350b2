/*
 * arrays.h: float8[] <-> double* for every function that takes or returns
 * vectors, with the checks users are owed: one dimension, no NULL element
 * and finite values unless the caller allows them.
 */
#ifndef AIML_ARRAYS_H
#define AIML_ARRAYS_H

#include "postgres.h"

#include "utils/array.h"

/* flags for aiml_array_doubles */
#define AIML_ARRAY_ALLOW_EMPTY		0x01	/* zero elements is not an error */
#define AIML_ARRAY_ALLOW_NULLS		0x02	/* NULL elements come back as NaN */
#define AIML_ARRAY_ALLOW_NONFINITE	0x04	/* NaN and +-Infinity pass */

/*
 * The elements of a one-dimensional float8[] as doubles.  When the array has
 * no NULLs the result points into the array itself (no copy), so it lives as
 * long as the array does.  what names the argument in error messages.
 */
extern const double *aiml_array_doubles(ArrayType *arr, int *n, int flags,
										const char *what);

/* A new one-dimensional float8[] holding v[0..n-1]. */
extern ArrayType *aiml_doubles_array(const double *v, int n);

#endif							/* AIML_ARRAYS_H */
