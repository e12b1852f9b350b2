/*
 * blas.h: OpenBLAS inside a backend.  OpenBLAS would otherwise start one
 * thread per core in every backend that calls it; aiml pins it to
 * aiml.blas_threads (default 1) so a query uses the cores PostgreSQL's own
 * parallel query gives it, not all of them.
 */
#ifndef AIML_BLAS_H
#define AIML_BLAS_H

#include <cblas.h>

extern int	aiml_blas_threads;

extern void aiml_blas_define_guc(void);

#endif							/* AIML_BLAS_H */
