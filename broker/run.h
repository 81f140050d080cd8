/*  run.h: a run and its jobs, in the broker's memory and durably in Redis.
 *
 *  Everything a broker needs to resume a run after a crash is in Redis, written before
 *  it is acted upon, through the run store (run_store.h: the run record with its
 *  counters and harvest cursor, the outstanding jobs, their attempts, the seen set).
 *  A new job, the ids it adds to the seen set, the cursor after it and the counters are
 *  written in one transaction (ax_run_store_commit_batch), so a crash either keeps all
 *  of them or none: papers are never marked seen without being in a job, and never
 *  split twice. A done job is deleted in the same transaction that counts it
 *  (ax_run_store_finish_jobs). Memory holds only the window of jobs not yet done, so it
 *  stays flat however large the source.
 */
#ifndef AX_RUN_H
#define AX_RUN_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "codec.h"
#include "run_store.h"
#include "source.h"

/*  A job of a run. Its papers stay packed from creation to completion, so a re-dispatch
 *  (or a resumed broker) sends the very same papers. */
typedef struct ax_run_job {
    uint64_t id;
    uint32_t attempt;               /* dispatches so far (after a broker restart: failed ones) */
    msgpack_sbuffer papers;         /* msgpack array of papers */
    char **ids;                     /* paper ids: its :jobids entry, and to record failures */
    size_t n;
    int worker;                     /* index of the worker holding its lease, or -1 */
    uint64_t lease;                 /* token of its last dispatch (never 0), 0 before the first */
    int64_t deadline_ms;            /* lease end (monotonic) */
    char *last_error;
    struct ax_run_job *next;        /* pending queue link */
} ax_run_job_t;

typedef struct {
    char *id;
    ax_runspec_t spec;
    msgpack_sbuffer profiles;       /* the spec's profiles, packed once */
    ax_source_t *source;            /* NULL once harvested */
    ax_run_state_t state;           /* queued, harvesting, dispatching, collected */
    ax_run_counts_t n;              /* counters and cursor, as in the run record (run_store.h) */
    ax_source_stats_t base;         /* source stats before the last (re)open */
    ax_run_job_t *pending_head, *pending_tail;
    size_t n_pending;
    ax_run_job_t **inflight;
    size_t n_inflight, cap_inflight;
    uint64_t *done_unsaved;         /* completions Redis has not taken yet (retried) */
    size_t n_done_unsaved;
    ax_paper_t *batch;              /* papers read but not yet in a job */
    size_t *batch_sizes;            /* their packed sizes (upper estimates), bytes */
    size_t n_batch, cap_batch, batch_bytes;
    /* The source's position, its end and its counters (read, malformed, filtered: those
     * of earlier lives included) after the batch: they reach n (and Redis) only with the
     * job that holds the batch, so nothing written before can skip papers or count a
     * record that a restarted broker reads again. */
    char batch_cursor[AX_SOURCE_CURSOR_MAX];
    ax_source_stats_t batch_stats;
    int batch_done;
    int64_t started_ms;
} ax_run_t;

/*  A new run from a submitted spec (taken: *spec is zeroed): opens its source, records
 *  it in Redis as queued, with its request id when it has one. Nothing is recorded past
 *  the spec's deadline. NULL with *err. */
ax_run_t *ax_run_create(redisContext *c, ax_runspec_t *spec, const ax_arxiv_cfg_t *arxiv, char **err);

/*  The unfinished runs recorded in Redis, oldest first, with their outstanding jobs
 *  loaded and their sources re-opened at the saved cursor. *n is set. A run that cannot
 *  be resumed (its spec or a job unreadable, its source vanished) is marked failed and
 *  left out. NULL with *err when Redis fails at any point: never a part of the runs
 *  (those loaded are dropped), so the caller tries the whole load again later. */
ax_run_t **ax_run_load_all(redisContext *c, const ax_arxiv_cfg_t *arxiv, size_t *n, char **err);

void ax_run_destroy(ax_run_t **self_p);

/*  How large a job may grow. A job is closed at `papers` papers, or once its papers pass
 *  bytes - paper_bytes (so the next one, at most paper_bytes, cannot take it over bytes:
 *  the job, its Redis record and its JOB message stay below bytes). A paper packed
 *  larger than paper_bytes goes in no job: it is recorded failed for every profile, with
 *  the reason, and counted harvested (SPEC section 7: the counts still add up). Sizes
 *  are upper estimates of the packed size (text plus per-field overhead).
 *  paper_bytes <= bytes (config.c checks broker.paper_max_bytes <= broker.job_max_bytes). */
typedef struct {
    uint32_t papers;                /* broker.job_size, or the run's own job_size */
    size_t bytes;                   /* broker.job_max_bytes */
    size_t paper_bytes;             /* broker.paper_max_bytes */
} ax_run_bounds_t;

/*  Reads papers up to the bounds, de-duplicates them and, when any is new, records and
 *  queues them as one job (a shorter one when a live source has nothing more yet).
 *  1 = progress, 0 = nothing done (Redis unreachable, or the source has nothing yet:
 *  try again when ax_source_fd wakes), -1 = the source failed (ax_source_error). */
int ax_run_harvest(ax_run_t *self, redisContext *c, const ax_run_bounds_t *bounds);

/*  Writes counters and state (AX_RUN_STATE_NONE: unchanged) to the run record. 0 / -1. */
int ax_run_publish(ax_run_t *self, redisContext *c, ax_run_state_t state);

/*  Pending queue and in-flight set. */
void ax_run_push(ax_run_t *self, ax_run_job_t *job, int front);
ax_run_job_t *ax_run_pop(ax_run_t *self);
int ax_run_lease(ax_run_t *self, ax_run_job_t *job);     /* into the in-flight set; -1 OOM */
/*  Removes job `id` from the in-flight set or the pending queue; NULL if neither. */
ax_run_job_t *ax_run_take(ax_run_t *self, uint64_t id);

/*  Records a failed dispatch of a job (its attempt count), so a restarted broker keeps
 *  counting towards max_attempts; a broker restart itself is not held against a job.
 *  Failures to write are logged only: the worst case is one attempt more. */
void ax_run_save_attempt(ax_run_t *self, redisContext *c, const ax_run_job_t *job);

/*  A job is finished: done, or failed for good (its papers recorded failed first, with
 *  its last error). Frees the job. The completion is recorded in Redis by the next
 *  ax_run_flush, which the broker calls once per loop turn, so the DONEs of one turn
 *  share one transaction (a crash before it only re-dispatches those jobs: results are
 *  idempotent). 0 / -1 (failed papers not recorded: job kept, retry). */
int ax_run_finish(ax_run_t *self, redisContext *c, ax_run_job_t *job, int failed);
void ax_run_flush(ax_run_t *self, redisContext *c);

/*  1 when harvested and every job is finished and recorded. */
int ax_run_complete(const ax_run_t *self);

#endif
