/*
 * blas.c: the aiml.blas_threads setting (see blas.h).
 */
#include "postgres.h"

#include "core/blas.h"
#include "utils/guc.h"

int			aiml_blas_threads = 1;

static void
assign_blas_threads(int newval, void *extra)
{
	openblas_set_num_threads(newval);
}

void
aiml_blas_define_guc(void)
{
	DefineCustomIntVariable("aiml.blas_threads",
							"Threads OpenBLAS may use in one backend.",
							"1 keeps a backend on one core; raise it for a single large LSTM training.",
							&aiml_blas_threads,
							1, 1, 64,
							PGC_USERSET, 0,
							NULL, assign_blas_threads, NULL);
}
