/*  run_store.h: the one owner of the durable state of runs in Redis (docs/protocol.md
 *  section 8, whose table lists every key and field written here).
 *
 *  Every key of runs lives under the namespace NS (ax_store_namespace, redis.namespace):
 *    NS:run:{R}                 hash   the run record (ax_run_record_t): state, spec, counters, timings
 *    NS:run:{R}:seen            set    paper ids already harvested (de-duplication)
 *    NS:run:{R}:jobs            hash   job id -> packed papers, for every outstanding job
 *    NS:run:{R}:jobids          hash   job id -> its paper ids joined by NUL (with :jobs)
 *    NS:run:{R}:attempts        hash   job id -> failed dispatches
 *    NS:run:{R}:states:<P>      hash   paper id -> "state" or "state\treason" for profile P
 *    NS:run:{R}:counts:<P>      hash   state -> number of papers in it for profile P
 *    NS:run:{R}:papers:<P>      hash   paper id -> msgpack entry (matched/enriched papers)
 *    NS:runs                    zset   run ids by creation time (ms)
 *    NS:render                  list   runs collected, waiting to be rendered
 *    NS:broker                  hash   the active broker's view, for `arxdigest status`
 *    NS:broker:lease, :epoch    string the namespace lease (its scripts: broker/lease.c)
 *    NS:submit:<request id>     string the run a SUBMIT created (idempotent retries)
 *  Keys of a run share the hash tag {R}, so a Redis Cluster keeps them on one slot. No
 *  other file builds one of these keys: the broker, the worker (its LLM usage), the
 *  collector and the CLI call the operations below. The LLM cache and the rate limiter
 *  (ax:llmcache:*, ax:llm:*) are not run state and stay in worker/llm/limiter.c.
 *
 *  Writes that must hold together are one MULTI/EXEC or one Lua script: a job with the
 *  ids it marks seen and the counters after it; finished jobs with the counters that
 *  count them; a run with its request id; a RESULT's verdicts with its counters. In
 *  every call below c is a context (NULL: "redis: not connected"), and on -1 *err
 *  (caller frees; err may be NULL) says why.
 */
#ifndef AX_RUN_STORE_H
#define AX_RUN_STORE_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "store.h"

/*  The longest run id the store takes (the broker's ids are 20 characters); a longer one,
 *  or one with '{' or '}', names no run. */
#define AX_RUN_ID_MAX 128
/*  The longest harvest cursor (broker/harvest/source.h keeps its cursors this size). */
#define AX_RUN_CURSOR_MAX 1024
/*  How long the run created for a SUBMIT's request id is remembered (NS:submit:<id>),
 *  and the longest request id (of AX_NAMESPACE_CHARS). */
#define AX_RUN_REQUEST_TTL_S 86400
#define AX_RUN_REQUEST_MAX 64

/* ---------------------------------------------------------------- states */

/*  The life of a run (protocol.md section 8): queued -> harvesting -> dispatching (the
 *  harvest is done, jobs outstanding) -> collected (every job done or failed; on the
 *  render queue) -> rendering (the collector writes its files) -> done; or failed from
 *  any of them. The names (ax_run_state_name) are those stored in the `state` field. */
typedef enum {
    AX_RUN_STATE_NONE = 0,          /* no state recorded, or a name this build does not know */
    AX_RUN_STATE_QUEUED,
    AX_RUN_STATE_HARVESTING,
    AX_RUN_STATE_DISPATCHING,
    AX_RUN_STATE_COLLECTED,
    AX_RUN_STATE_RENDERING,
    AX_RUN_STATE_DONE,
    AX_RUN_STATE_FAILED,
    AX_RUN_STATE_COUNT
} ax_run_state_t;

/*  "queued", "harvesting", ...; "none" for AX_RUN_STATE_NONE or a value out of range. */
const char *ax_run_state_name(ax_run_state_t state);
/*  Inverse of ax_run_state_name; AX_RUN_STATE_NONE for NULL or an unknown name. */
ax_run_state_t ax_run_state_from_name(const char *name);
/*  1 for the states a broker resumes after a restart: queued, harvesting, dispatching. */
int ax_run_state_unfinished(ax_run_state_t state);
/*  1 for the states whose results are stored: harvesting, dispatching. */
int ax_run_state_active(ax_run_state_t state);

/* ---------------------------------------------------------------- the run record */

/*  LLM usage, as added to a run's llm_* counters (ax_run_store_add_llm). */
typedef struct {
    int64_t requests;           /* requests sent (retries included) */
    int64_t cache_hits;         /* answers taken from the cache */
    int64_t prompt_tokens;      /* usage.prompt_tokens */
    int64_t completion_tokens;  /* usage.completion_tokens */
    int64_t cached_tokens;      /* usage.prompt_tokens_details.cached_tokens (or prompt_cache_hit_tokens) */
    int64_t http_429s;          /* 429 answers received */
} ax_llm_counts_t;

/*  The broker's counters and harvest cursor, written together (ax_run_store_put_counts
 *  and the transactions that carry them). */
typedef struct {
    uint64_t harvested, duplicates, jobs_total, jobs_done, jobs_failed;
    uint64_t read, malformed, filtered;     /* source records, summed over restarts */
    uint64_t harvest_done;                  /* 1 once the source is exhausted */
    char cursor[AX_RUN_CURSOR_MAX];         /* source position after the last job */
} ax_run_counts_t;

/*  NS:run:{R} as read back (ax_run_store_load). Absent fields are 0 / NULL. */
typedef struct {
    ax_run_state_t state;
    char *spec;                     /* the packed run spec (ax_run_record_spec decodes it) */
    size_t spec_len;                /* bytes */
    char *source;                   /* the spec's source, for operators */
    ax_run_counts_t n;
    uint64_t papers_done;           /* papers with a stored verdict (the RESULT script) */
    ax_llm_counts_t llm;
    double llm_cost_usd;
    int64_t created_ms, updated_ms, completed_ms, rendered_ms;     /* unix ms */
    char *output;                   /* done: the run's output folder */
    char *error;                    /* failed: why */
} ax_run_record_t;

void ax_run_record_clear(ax_run_record_t *rec);
/*  Decodes the record's spec into *spec (the caller's: ax_runspec_clear). 0, or -1 with
 *  *err ("no spec" when the record has none). */
int ax_run_record_spec(const ax_run_record_t *rec, ax_runspec_t *spec, char **err);

/*  Records a new run: its hash (state queued, the packed spec, source, created_ms), its
 *  entry in NS:runs and, when spec->request is set, NS:submit:<request> (for
 *  AX_RUN_REQUEST_TTL_S), in one transaction. 0 / -1. */
int ax_run_store_create(redisContext *c, const char *run, const ax_runspec_t *spec, int64_t created_ms,
                        char **err);
/*  The run that a SUBMIT with this request id created: 1 with *run (caller frees), 0 when
 *  there is none, -1 for Redis or a request id that is not 1-AX_RUN_REQUEST_MAX
 *  characters of AX_NAMESPACE_CHARS. */
int ax_run_store_by_request(redisContext *c, const char *request, char **run, char **err);

/*  Reads the run record into *rec (cleared first; ax_run_record_clear after). 1 when the
 *  run exists, 0 when it does not, -1 for Redis. */
int ax_run_store_load(redisContext *c, const char *run, ax_run_record_t *rec, char **err);
/*  Only the spec / only the state of a run: 1 (found), 0 (no such run or field), -1. */
int ax_run_store_spec(redisContext *c, const char *run, ax_runspec_t *spec, char **err);
int ax_run_store_state(redisContext *c, const char *run, ax_run_state_t *state, char **err);
/*  1 when the run exists (run NULL: when any run is recorded in the namespace), 0 when
 *  not, -1 for Redis. */
int ax_run_store_exists(redisContext *c, const char *run, char **err);
/*  The recorded run ids by creation: oldest first, or newest first; at most limit (0: all).
 *  *ids is the caller's (ax_strv_free(ids, *n)). 0 / -1. */
int ax_run_store_list(redisContext *c, int newest_first, size_t limit, char ***ids, size_t *n, char **err);

/*  Writes the counters, state (AX_RUN_STATE_NONE: not written) and updated_ms. 0 / -1. */
int ax_run_store_put_counts(redisContext *c, const char *run, const ax_run_counts_t *n, ax_run_state_t state,
                            char **err);
/*  Sets the run's state (nothing else). 0 / -1. */
int ax_run_store_set_state(redisContext *c, const char *run, ax_run_state_t state, char **err);
/*  The run failed: state failed and error. 0 / -1. */
int ax_run_store_fail(redisContext *c, const char *run, const char *error, char **err);
/*  Every job is finished: state collected, completed_ms, and the run pushed on the render
 *  queue, in one transaction. 0 / -1. */
int ax_run_store_collected(redisContext *c, const char *run, int64_t completed_ms, char **err);

/* ---------------------------------------------------------------- harvest and jobs */

/*  A job as the broker records it. */
typedef struct {
    uint64_t id;
    const char *papers;             /* packed papers (ax_pack_papers) */
    size_t papers_len;              /* bytes */
    char *const *ids;               /* its papers' ids, for NS:run:{R}:jobids */
    size_t n_ids;
} ax_run_store_job_t;

/*  A job as read back (ax_run_store_load_jobs): the very bytes recorded. */
typedef struct {
    uint64_t id;
    uint32_t attempt;               /* failed dispatches recorded (ax_run_store_save_attempt) */
    char *papers;                   /* packed papers */
    size_t papers_len;
} ax_run_stored_job_t;

/*  seen[i] = 1 when ids[i] is in the run's seen set, else 0. 0 / -1. */
int ax_run_store_seen(redisContext *c, const char *run, char *const *ids, size_t n, unsigned char *seen,
                      char **err);
/*  Records a harvested batch in one transaction: its fresh ids join the seen set, its job
 *  (NULL: none, every fresh paper went elsewhere) is recorded, and the counters and state
 *  after it are written. Either all of it or nothing is recorded. 0 / -1. */
int ax_run_store_commit_batch(redisContext *c, const char *run, char *const *fresh, size_t n_fresh,
                              const ax_run_store_job_t *job, const ax_run_counts_t *n, ax_run_state_t state,
                              char **err);
/*  Records the number of failed dispatches of a job. 0 / -1. */
int ax_run_store_save_attempt(redisContext *c, const char *run, uint64_t job, uint32_t attempt, char **err);
/*  Finished jobs: removed from :jobs, :jobids and :attempts, with the counters and state
 *  that count them, in one transaction. 0 / -1. */
int ax_run_store_finish_jobs(redisContext *c, const char *run, const uint64_t *jobs, size_t n_jobs,
                             const ax_run_counts_t *n, ax_run_state_t state, char **err);
/*  The run's outstanding jobs, in job order, with their attempts. *jobs is the caller's
 *  (ax_run_stored_jobs_free). 0 / -1. */
int ax_run_store_load_jobs(redisContext *c, const char *run, ax_run_stored_job_t **jobs, size_t *n, char **err);
void ax_run_stored_jobs_free(ax_run_stored_job_t **jobs, size_t n);

/* ---------------------------------------------------------------- results */

/*  What storing a RESULT (or failed papers) did. */
typedef enum {
    AX_STORE_ERROR = -1,            /* Redis failed (*err): nothing known, try again */
    AX_STORE_STORED = 0,
    AX_STORE_FINISHED = 1,          /* not stored: its run is unknown or finished, or its job done */
    AX_STORE_REFUSED = 2,           /* not stored: not the papers of an outstanding job of the run */
} ax_store_rc_t;

/*  Stores a RESULT: per item and profile the state (with its reason) and, for kept
 *  papers, the entry record; keeps NS:run:{R}:counts:<P> exact and the run's papers_done
 *  counter. Idempotent on (run, profile, paper): storing the same result twice changes
 *  nothing. Only the result of an outstanding job (in NS:run:{R}:jobs) of an active run
 *  is stored, and only when its items are exactly the job's papers; the check and the
 *  writes are one script, so a result is never half-judged. Job 0 (papers the broker
 *  records failed outside any job) is checked for the run only. The caller checks the
 *  profiles (the run's, in order). Returns an ax_store_rc_t; when not stored, *err says
 *  why and *reason (may be NULL) is a short word for a metric label: "run", "finished",
 *  "job" or "papers". */
int ax_run_store_result(redisContext *c, const ax_result_t *result, const char **reason, char **err);
/*  Records papers (by id) failed with reason for every one of the profiles, as job's
 *  (0: papers in no job). An ax_store_rc_t, as ax_run_store_result. */
int ax_run_store_fail_papers(redisContext *c, const char *run, char *const *profiles, size_t n_profiles,
                             uint64_t job, char *const *ids, size_t n, const char *reason, char **err);

/*  counts[s] = the papers of profile in state s (NS:run:{R}:counts:<P>). 0 / -1. */
int ax_run_store_profile_counts(redisContext *c, const char *run, const char *profile,
                                uint64_t counts[AX_STATE_COUNT], char **err);

/*  Visits, in slices of about a thousand, the profile's kept entries (paper id, the packed
 *  entry) / every paper's state (state, reason or NULL). fn returns 0 to go on, -1 to
 *  stop (the scan then returns -1, *err left to the caller's ctx: NULL). 0 / -1. */
typedef int (*ax_run_entry_fn)(void *ctx, const char *paper, const char *entry, size_t entry_len);
typedef int (*ax_run_state_fn)(void *ctx, const char *paper, ax_state_t state, const char *reason);
int ax_run_store_scan_entries(redisContext *c, const char *run, const char *profile, ax_run_entry_fn fn,
                              void *ctx, char **err);
int ax_run_store_scan_states(redisContext *c, const char *run, const char *profile, ax_run_state_fn fn,
                             void *ctx, char **err);

/* ---------------------------------------------------------------- rendering */

/*  The runs waiting to be rendered, oldest first (ax_strv_free(runs, *n)). 0 / -1. */
int ax_run_store_render_queue(redisContext *c, char ***runs, size_t *n, char **err);
/*  A run is rendered: state done, output folder and rendered_ms; or, with error, state
 *  failed and error. It leaves the render queue in the same transaction. 0 / -1. */
int ax_run_store_render_finish(redisContext *c, const char *run, const char *folder, const char *error,
                               int64_t rendered_ms, char **err);

/* ---------------------------------------------------------------- LLM usage */

/*  Adds u and cost_usd to the run's llm_* counters, atomically (one script). 0 / -1
 *  (also for a cost that is not finite). */
int ax_run_store_add_llm(redisContext *c, const char *run, const ax_llm_counts_t *u, double cost_usd, char **err);
/*  The same, queued on a pipeline (the worker's one round trip a turn). -1 on OOM or a
 *  cost that is not finite. */
int ax_run_store_add_llm_batch(ax_redis_batch_t *b, const char *run, const ax_llm_counts_t *u, double cost_usd);
/*  1 when budget_usd > 0 and the run's llm_cost_usd has reached it, 0 when not, -1. */
int ax_run_store_llm_budget_spent(redisContext *c, const char *run, double budget_usd, char **err);

/* ---------------------------------------------------------------- the broker */

/*  NS:broker: what `arxdigest status` shows of the active broker. */
typedef struct {
    int64_t workers;                /* workers alive */
    int64_t jobs_inflight, jobs_queued;     /* of its active run */
    int64_t runs_waiting;           /* runs queued behind it */
    int64_t updated_ms;             /* unix ms of this view */
    int64_t pid;
    char run[AX_RUN_ID_MAX + 1];    /* its active run, "" for none */
    char id[128];                   /* the broker's id (its lease, broker/lease.h) */
} ax_run_store_broker_t;

int ax_run_store_put_broker(redisContext *c, const ax_run_store_broker_t *b, char **err);
/*  1 with *b filled, 0 when no broker ever wrote one (*b zeroed), -1. */
int ax_run_store_get_broker(redisContext *c, ax_run_store_broker_t *b, char **err);

/*  The names of the namespace lease's keys (NS:broker:lease, NS:broker:epoch), which the
 *  lease's own scripts read and write (broker/lease.c). */
#define AX_RUN_STORE_KEY_MAX 512
void ax_run_store_lease_keys(char lease[AX_RUN_STORE_KEY_MAX], char epoch[AX_RUN_STORE_KEY_MAX]);

#endif
