/*
 * worker.c: the ingestion background worker, its settings, and the SQL
 * functions that drive or wake it.
 *
 * The worker's loop (the skeleton of worker_spi.c):
 *
 *   1. in a short transaction, read the enabled sources whose next attempt
 *      is due, and when the next one falls due;
 *   2. poll them all at once (poll.c); as each poll finishes, write its
 *      samples or record its failure, each in transactions of its own, and
 *      report statistics so autovacuum sees the tables;
 *   3. sleep on the latch until the next source is due.  A change to
 *      aiml.metric_sources sets the latch at commit (a statement trigger
 *      registers a transaction callback), so a new or edited source is
 *      polled at once, without a polling loop (pg_net #164).
 *
 * SIGTERM ends the worker within a poll slice (http.c checks interrupts
 * every 100 ms); SIGHUP reloads settings.  The worker takes its tables'
 * lock conditionally, so it never blocks DROP EXTENSION.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "ingest/ingest.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* settings */
char	   *ingest_database = NULL;
char	   *ingest_allowed_hosts = NULL;
int			ingest_max_response_bytes = 64 * 1024 * 1024;
int			ingest_batch_rows = 50000;
static bool ingest_worker_enabled = true;

/* Longest sleep when nothing is due: a safety net, not a polling interval. */
#define MAX_SLEEP_MS (3600 * 1000L)

/* What the worker publishes so backends can wake it. */
typedef struct IngestShared
{
	slock_t		mutex;
	pid_t		pid;
	Latch	   *latch;
} IngestShared;

static IngestShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool wake_at_commit = false;
static bool wake_callback_registered = false;

PGDLLEXPORT void aiml_ingest_worker_main(Datum arg);

static void
ingest_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(IngestShared)));
}

static void
ingest_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("aiml ingest", sizeof(IngestShared), &found);
	if (!found)
	{
		SpinLockInit(&shared->mutex);
		shared->pid = 0;
		shared->latch = NULL;
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
define_settings(void)
{
	DefineCustomStringVariable("aiml.ingest_database",
							   "Database the ingestion worker connects to.",
							   "It must be the database where CREATE EXTENSION aiml ran.",
							   &ingest_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("aiml.ingest_worker",
							 "Starts the metric ingestion worker.",
							 NULL, &ingest_worker_enabled, true,
							 PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("aiml.ingest_allowed_hosts",
							   "Hosts metric sources may fetch from (comma-separated); empty allows all.",
							   NULL, &ingest_allowed_hosts, "",
							   PGC_SUSET, GUC_LIST_INPUT, NULL, NULL, NULL);
	DefineCustomIntVariable("aiml.ingest_max_response_bytes",
							"Largest HTTP response body a metric source may return.",
							NULL, &ingest_max_response_bytes, 64 * 1024 * 1024,
							1024, 1024 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("aiml.ingest_batch_rows",
							"Samples written per statement (and per transaction, in the worker).",
							NULL, &ingest_batch_rows, 50000, 100, 10000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
}

/* Called from _PG_init: settings always; shared memory and the worker only
 * when preloaded. */
void
ingest_init(void)
{
	BackgroundWorker worker;

	define_settings();
	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ingest_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ingest_shmem_startup;

	if (!ingest_worker_enabled)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "aiml", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "aiml_ingest_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "aiml ingest worker", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "aiml ingest worker", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

static void
unpublish_latch(int code, Datum arg)
{
	SpinLockAcquire(&shared->mutex);
	shared->pid = 0;
	shared->latch = NULL;
	SpinLockRelease(&shared->mutex);
}

/* Where the worker was allocating before a transaction: commit and abort
 * leave CurrentMemoryContext at TopMemoryContext, where nothing may pile up. */
static MemoryContext outer_cxt = NULL;

static void
begin_transaction(const char *activity)
{
	outer_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
end_transaction(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(outer_cxt);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Commit what is written so far and go on in a new transaction. */
static void
commit_chunk(void)
{
	end_transaction();
	begin_transaction("aiml ingest: writing samples");
}

/*
 * Runs fn in a transaction of its own.  An error is caught, the transaction
 * rolled back, and the message returned (NULL when all went well), so a
 * failing write never ends the worker.
 */
static char *
in_transaction(const char *activity, void (*fn) (IngestPoll *), IngestPoll *poll)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *error = NULL;

	begin_transaction(activity);
	PG_TRY();
	{
		fn(poll);
		end_transaction();
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		pgstat_report_activity(STATE_IDLE, NULL);
		error = e->message;
	}
	PG_END_TRY();
	return error;
}

static void
write_poll(IngestPoll *poll)
{
	ingest_write_batch(poll->source, &poll->batch, poll->started, commit_chunk);
}

static void
record_poll_failure(IngestPoll *poll)
{
	IngestSource *s = poll->source;

	ingest_record_failure(s->name, poll->error, poll->retry_after_s, s->interval_s,
						  s->consecutive_failures);
}

/*
 * Writes a finished poll, or records its failure.  A failure while writing
 * (e.g. the source was dropped meanwhile) rolls the write back and is
 * recorded too; when even that fails (DROP EXTENSION ran), it is logged.
 */
static void
worker_poll_finished(IngestPoll *poll, void *arg)
{
	IngestSource *s = poll->source;
	char	   *error;

	if (poll->error == NULL &&
		(error = in_transaction(psprintf("aiml ingest: writing source %s", s->name),
								write_poll, poll)) != NULL)
		poll->error = error;
	if (poll->error == NULL)
		return;
	elog(LOG, "aiml ingest: source \"%s\" failed: %s", s->name, poll->error);
	error = in_transaction(psprintf("aiml ingest: recording failure of source %s", s->name),
						   record_poll_failure, poll);
	if (error)
		elog(LOG, "aiml ingest: could not record the failure of source \"%s\": %s",
			 s->name, error);
}

/* The extension's sources table, if the extension is installed; NULL else. */
static Oid
sources_table(void)
{
	Oid			nsp = get_namespace_oid("aiml", true);

	return OidIsValid(nsp) ? get_relname_relid("metric_sources", nsp) : InvalidOid;
}

/* One pass; returns how long to sleep (ms). */
static long
run_pass(void)
{
	Oid			table;
	List	   *due = NIL;
	List	   *polls = NIL;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_due = DT_NOEND;
	ListCell   *lc;
	long		sleep_ms;

	begin_transaction("aiml ingest: reading sources");
	table = sources_table();
	if (!OidIsValid(table))
	{
		end_transaction();
		return MAX_SLEEP_MS;
	}
	/* DROP EXTENSION holds it exclusively: step aside, try again soon */
	if (!ConditionalLockRelationOid(table, AccessShareLock))
	{
		end_transaction();
		return 1000;
	}
	due = ingest_load_sources(NULL, now, &next_due, outer_cxt);
	end_transaction();

	foreach(lc, due)
		polls = lappend(polls, ingest_poll_new(lfirst(lc), now));
	if (polls != NIL)
	{
		pgstat_report_activity(STATE_RUNNING, "aiml ingest: polling sources");
		ingest_polls_run(polls, worker_poll_finished, NULL);
		pgstat_report_activity(STATE_IDLE, NULL);
		/* polled sources are due again after their interval */
		foreach(lc, due)
		{
			IngestSource *s = lfirst(lc);
			TimestampTz again = now + (TimestampTz) s->interval_s * USECS_PER_SEC;

			next_due = Min(next_due, again);
			ingest_source_free(s);
		}
	}

	if (next_due == DT_NOEND)
		return MAX_SLEEP_MS;
	sleep_ms = (long) ((next_due - GetCurrentTimestamp()) / 1000);
	return Max(Min(sleep_ms, MAX_SLEEP_MS), 10);
}

void
aiml_ingest_worker_main(Datum arg)
{
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(ingest_database, NULL, 0);
	pgstat_report_appname("aiml ingest worker");

	SpinLockAcquire(&shared->mutex);
	shared->pid = MyProcPid;
	shared->latch = MyLatch;
	SpinLockRelease(&shared->mutex);
	before_shmem_exit(unpublish_latch, (Datum) 0);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "aiml ingest loop",
									 ALLOCSET_DEFAULT_SIZES);
	elog(LOG, "aiml ingest worker started in database \"%s\"", ingest_database);

	for (;;)
	{
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextSwitchTo(loop_cxt);
		sleep_ms = run_pass();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loop_cxt);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---- waking the worker when sources change ---- */

static void
wake_worker_at_commit(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit && shared != NULL)
	{
		SpinLockAcquire(&shared->mutex);
		if (shared->latch)
			SetLatch(shared->latch);
		SpinLockRelease(&shared->mutex);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_at_commit = false;
}

PG_FUNCTION_INFO_V1(aiml_wake_ingest_worker);
PG_FUNCTION_INFO_V1(aiml_ingest_worker_pid);
PG_FUNCTION_INFO_V1(aiml_validate_metric_source);
PG_FUNCTION_INFO_V1(aiml_ingest_now);

/* Statement trigger on aiml.metric_sources and its state: wake at commit. */
Datum
aiml_wake_ingest_worker(PG_FUNCTION_ARGS)
{
	if (!wake_callback_registered)
	{
		RegisterXactCallback(wake_worker_at_commit, NULL);
		wake_callback_registered = true;
	}
	wake_at_commit = true;
	return PointerGetDatum(NULL);
}

/* The worker's process id, NULL when it does not run (not preloaded). */
Datum
aiml_ingest_worker_pid(PG_FUNCTION_ARGS)
{
	pid_t		pid = 0;

	if (shared != NULL)
	{
		SpinLockAcquire(&shared->mutex);
		pid = shared->pid;
		SpinLockRelease(&shared->mutex);
	}
	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

/* aiml.validate_metric_source(provider, config): errors on a bad config. */
Datum
aiml_validate_metric_source(PG_FUNCTION_ARGS)
{
	char	   *provider = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *jb = PG_GETARG_JSONB_P(1);
	char	   *config_text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	const IngestProvider *p = ingest_provider(provider);
	json_object *config = ingest_parse_config(config_text);

	PG_TRY();
	{
		ingest_config_int(config, "interval", 60, 1, 86400);
		ingest_config_int(config, "lookback", 300, 1, 7 * 86400);
		ingest_config_int(config, "timeout", 10, 1, 600);
		p->validate(config);
	}
	PG_FINALLY();
	{
		json_object_put(config);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

typedef struct NowResult
{
	IngestPoll *poll;
} NowResult;

static void
now_poll_finished(IngestPoll *poll, void *arg)
{
	((NowResult *) arg)->poll = poll;
}

/*
 * aiml.ingest_now(source): one poll, synchronously, written in the caller's
 * transaction.  Returns the samples inserted; a failed poll is an error (and
 * the caller's transaction rolls back, so nothing partial is kept).
 */
Datum
aiml_ingest_now(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *sources;
	IngestSource *s;
	NowResult	result = {NULL};
	int64		inserted = 0;
	MemoryContext caller = CurrentMemoryContext;

	SPI_connect();
	sources = ingest_load_sources(name, GetCurrentTimestamp(), NULL, caller);
	if (sources == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("metric source \"%s\" does not exist", name),
				 errhint("SELECT name FROM aiml.metric_sources lists them.")));
	s = linitial(sources);
	PG_TRY();
	{
		ingest_polls_run(list_make1(ingest_poll_new(s, GetCurrentTimestamp())),
						 now_poll_finished, &result);
		if (result.poll->error)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("metric source \"%s\" failed: %s", name, result.poll->error),
					 errhint("aiml.metric_source_status shows the worker's view of each source.")));
		inserted = ingest_write_batch(s, &result.poll->batch, result.poll->started, NULL);
	}
	PG_FINALLY();
	{
		ingest_source_free(s);
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(inserted);
}
