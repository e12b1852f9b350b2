/*
 * aiml.c: the library's entry point.  _PG_init defines aiml's settings and,
 * when the library is preloaded, says so in the server log with the settings
 * it registered, so an operator can confirm the configuration took.
 */
#include "postgres.h"

#include "core/blas.h"
#include "extract/pattern.h"
#include "ingest/ingest.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* "aiml.a, aiml.b": the settings registered under the aiml prefix. */
static char *
registered_settings(void)
{
	struct config_generic **vars = get_guc_variables();
	int			nvars = GetNumConfigOptions();
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < nvars; i++)
		if (strncmp(vars[i]->name, "aiml.", 5) == 0 &&
			!(vars[i]->flags & GUC_CUSTOM_PLACEHOLDER))
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", vars[i]->name);
	return buf.data;
}

void
_PG_init(void)
{
	/* pg_upgrade loads every library; it needs none of aiml's machinery */
	if (IsBinaryUpgrade)
		return;

	aiml_blas_define_guc();
	aiml_extract_define_guc();
	ingest_init();
	MarkGUCPrefixReserved("aiml");

	if (process_shared_preload_libraries_in_progress)
		ereport(LOG,
				(errmsg("aiml %s loaded, settings registered: %s",
						AIML_VERSION, registered_settings())));
}
