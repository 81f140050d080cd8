/*  run.c: runs and their jobs, in memory and in Redis (see run.h for the key layout and
 *  the crash-safety argument). */
#define _GNU_SOURCE
#include "run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "text.h"

/* ---------------------------------------------------------------- jobs */

static void s_job_destroy(ax_run_job_t **job_p)
{
    ax_run_job_t *job = *job_p;
    if (!job)
        return;
    msgpack_sbuffer_destroy(&job->papers);
    ax_strv_free(&job->ids, job->n);
    free(job->last_error);
    free(job);
    *job_p = NULL;
}

/*  Gives an empty sbuffer room for n bytes, so packing does not grow it by copies. */
static void s_sbuffer_reserve(msgpack_sbuffer *sb, size_t n)
{
    if (sb->alloc >= n)
        return;
    char *p = realloc(sb->data, n);
    if (p) {
        sb->data = p;
        sb->alloc = n;
    }
}

/*  Upper estimate of the packed size of a paper: its text plus per-field overhead. */
static size_t s_paper_size(const ax_paper_t *p)
{
    size_t total = 160 + strlen(p->id) + (p->title ? strlen(p->title) : 0) + (p->abstract ? strlen(p->abstract) : 0) +
                   (p->comments ? strlen(p->comments) : 0) + (p->journal_ref ? strlen(p->journal_ref) : 0) +
                   (p->doi ? strlen(p->doi) : 0);
    for (size_t a = 0; a < p->n_authors; a++)
        total += strlen(p->authors[a]) + 5;
    for (size_t c = 0; c < p->n_categories; c++)
        total += strlen(p->categories[c]) + 5;
    return total;
}

/*  A job from n papers (packed into a buffer of size_hint bytes, the sum of their
 *  s_paper_size; their ids kept). */
static ax_run_job_t *s_job_new(uint64_t id, const ax_paper_t *papers, size_t n, size_t size_hint)
{
    ax_run_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->id = id;
    job->worker = -1;
    msgpack_sbuffer_init(&job->papers);
    if (!(job->ids = calloc(n + 1, sizeof *job->ids))) {
        s_job_destroy(&job);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        job->ids[i] = strdup(papers[i].id);
        job->n = i + 1;
        if (!job->ids[i]) {
            s_job_destroy(&job);
            return NULL;
        }
    }
    s_sbuffer_reserve(&job->papers, size_hint + 16);
    ax_pack_papers(&job->papers, papers, n);
    return job;
}

/*  A job read back from Redis: its packed papers as stored. */
static ax_run_job_t *s_job_load(uint64_t id, const char *blob, size_t len, char **err)
{
    ax_paper_t *papers = NULL;
    size_t n = 0;
    if (ax_papers_decode(blob, len, &papers, &n, err) < 0)
        return NULL;
    size_t size = 0;
    for (size_t i = 0; i < n; i++)
        size += s_paper_size(&papers[i]);
    ax_run_job_t *job = s_job_new(id, papers, n, size);
    for (size_t i = 0; i < n; i++)
        ax_paper_clear(&papers[i]);
    free(papers);
    if (!job)
        *err = strdup("out of memory");
    return job;
}

void ax_run_push(ax_run_t *run, ax_run_job_t *job, int front)
{
    job->worker = -1;
    job->next = NULL;
    if (!run->pending_head)
        run->pending_head = run->pending_tail = job;
    else if (front) {
        job->next = run->pending_head;
        run->pending_head = job;
    } else {
        run->pending_tail->next = job;
        run->pending_tail = job;
    }
    run->n_pending++;
}

ax_run_job_t *ax_run_pop(ax_run_t *run)
{
    ax_run_job_t *job = run->pending_head;
    if (job) {
        run->pending_head = job->next;
        if (!run->pending_head)
            run->pending_tail = NULL;
        run->n_pending--;
        job->next = NULL;
    }
    return job;
}

int ax_run_lease(ax_run_t *run, ax_run_job_t *job)
{
    if (run->n_inflight == run->cap_inflight) {
        size_t cap = run->cap_inflight ? run->cap_inflight * 2 : 16;
        ax_run_job_t **p = realloc(run->inflight, cap * sizeof *p);
        if (!p)
            return -1;
        run->inflight = p;
        run->cap_inflight = cap;
    }
    run->inflight[run->n_inflight++] = job;
    return 0;
}

ax_run_job_t *ax_run_take(ax_run_t *run, uint64_t id)
{
    for (size_t i = 0; i < run->n_inflight; i++)
        if (run->inflight[i]->id == id) {
            ax_run_job_t *job = run->inflight[i];
            run->inflight[i] = run->inflight[--run->n_inflight];
            return job;
        }
    for (ax_run_job_t **pp = &run->pending_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next)
        if ((*pp)->id == id) {
            ax_run_job_t *job = *pp;
            *pp = job->next;
            if (run->pending_tail == job)
                run->pending_tail = prev;
            run->n_pending--;
            return job;
        }
    return NULL;
}

/* ---------------------------------------------------------------- Redis */

_Static_assert(AX_SOURCE_CURSOR_MAX == AX_RUN_CURSOR_MAX, "the run record holds any source's cursor");

int ax_run_publish(ax_run_t *run, redisContext *c, ax_run_state_t state)
{
    char *err = NULL;
    if (state != AX_RUN_STATE_NONE)
        run->state = state;
    if (ax_run_store_put_counts(c, run->id, &run->n, run->state, &err) < 0) {
        ax_log_warn("cannot update run|run=%s error=\"%s\"", run->id, err ? err : "?");
        free(err);
        return -1;
    }
    return 0;
}

/*  Notes where the source is after the batch, and its counters there plus those of
 *  earlier broker lives: both move to run->n with the batch's job (s_commit_batch). */
static void s_note_source_position(ax_run_t *run)
{
    ax_source_stats_t st = {0};
    if (!run->source)
        return;
    ax_source_stats(run->source, &st);
    run->batch_stats.read = run->base.read + st.read;
    run->batch_stats.malformed = run->base.malformed + st.malformed;
    run->batch_stats.filtered = run->base.filtered + st.filtered;
    ax_source_tell(run->source, run->batch_cursor);
}

/* ---------------------------------------------------------------- failed papers */

/*  Records papers as failed for every profile of the run, with reason. job_id is their
 *  job, still outstanding (ax_run_flush removes it after this), or 0 for papers that went
 *  in no job (too large): the store takes job 0 only from the broker (the collector
 *  refuses it on the wire). Idempotent. 0 / -1 (logged; retry). A store that refuses
 *  them (the run finished meanwhile) is logged and taken as done: no retry could ever
 *  store them. */
static int s_store_failed(ax_run_t *run, redisContext *c, uint64_t job_id, char *const *ids, size_t n,
                          const char *reason)
{
    size_t np = run->spec.n_profiles;
    char **names = calloc(np + 1, sizeof *names), *err = NULL;
    int rc = -1;
    for (size_t p = 0; names && p < np; p++)
        names[p] = run->spec.profiles[p].name;
    if (names)
        rc = ax_run_store_fail_papers(c, run->id, names, np, job_id, ids, n, reason, &err);
    if (rc > 0) {
        ax_log_error("failed papers not recorded|run=%s job=%" PRIu64 " error=\"%s\"", run->id, job_id,
                     err ? err : "?");
        rc = 0;
    }
    if (rc < 0)
        ax_log_warn("cannot record failed papers|run=%s job=%" PRIu64 " error=\"%s\"", run->id, job_id,
                    err ? err : "out of memory");
    free(err);
    free(names);
    return rc;
}

/*  Records every paper of a job as failed for every profile, with the job's last error. */
static int s_fail_papers(ax_run_t *run, redisContext *c, const ax_run_job_t *job)
{
    char reason[512];
    snprintf(reason, sizeof reason, "job %" PRIu64 " failed %u times: %s", job->id, job->attempt,
             job->last_error ? job->last_error : "lease expired");
    return s_store_failed(run, c, job->id, job->ids, job->n, reason);
}

/* ---------------------------------------------------------------- harvest */

/*  Marks in fresh[] the batch papers not seen before in this run: not in the seen set
 *  and not earlier in the same batch. -1 with *err. */
static int s_dedup(ax_run_t *run, redisContext *c, unsigned char *fresh, char **err)
{
    size_t n = run->n_batch;
    char **ids = calloc(n + 1, sizeof *ids);
    if (!ids) {
        *err = strdup("out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = run->batch[i].id;                  /* borrowed */
    int rc = ax_run_store_seen(c, run->id, ids, n, fresh, err);
    free(ids);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        fresh[i] = !fresh[i];
        for (size_t j = 0; fresh[i] && j < i; j++)
            if (fresh[j] && strcmp(run->batch[j].id, run->batch[i].id) == 0)
                fresh[i] = 0;
    }
    return rc;
}

/*  Records the fresh papers of the batch too large for any job (s_refuse) as failed,
 *  each with its size in the reason. Before the batch's transaction, so that a crash in
 *  between only records them again (idempotent). 0 / -1. */
static int s_fail_refused(ax_run_t *run, redisContext *c, const unsigned char *fresh, size_t paper_bytes)
{
    for (size_t i = 0; i < run->n_batch; i++) {
        if (!fresh[i] || run->batch_sizes[i] <= paper_bytes)
            continue;
        char reason[256], *ids[1] = {run->batch[i].id};
        snprintf(reason, sizeof reason, "paper of %zu bytes is larger than broker.paper_max_bytes (%zu): not sent to "
                 "the workers", run->batch_sizes[i], paper_bytes);
        if (s_store_failed(run, c, 0, ids, 1, reason) < 0)
            return -1;
        ax_log_warn("paper too large, recorded failed|run=%s paper=%s bytes=%zu max=%zu", run->id, run->batch[i].id,
                    run->batch_sizes[i], paper_bytes);
    }
    return 0;
}

/*  The fresh papers of the batch that fit a job, as one job (NULL with *none set when
 *  there are none). NULL without *none on OOM. */
static ax_run_job_t *s_batch_job(ax_run_t *run, const unsigned char *fresh, size_t paper_bytes, uint64_t id,
                                 int *none)
{
    ax_paper_t *papers = calloc(run->n_batch + 1, sizeof *papers);
    size_t k = 0, size = 0;
    *none = 0;
    if (!papers)
        return NULL;
    for (size_t i = 0; i < run->n_batch; i++)
        if (fresh[i] && run->batch_sizes[i] <= paper_bytes) {
            papers[k++] = run->batch[i];        /* shallow: the batch still owns them */
            size += run->batch_sizes[i];
        }
    ax_run_job_t *job = k ? s_job_new(id, papers, k, size) : NULL;
    *none = k == 0;
    free(papers);
    return job;
}

/*  Records the batch as one job (when it has fresh papers that fit one) with the cursor
 *  and counters after it, in one transaction; then queues the job. Fresh papers over
 *  paper_bytes are recorded failed first and only marked seen and counted harvested
 *  here. 0 / -1 (nothing recorded, batch kept). */
static int s_commit_batch(ax_run_t *run, redisContext *c, const unsigned char *fresh, size_t paper_bytes,
                          char **err)
{
    ax_run_job_t *job = NULL;
    ax_run_counts_t n = run->n;
    size_t n_fresh = 0;
    int none = 1;
    /* The cursor, the end of the harvest and the source counters move with the job that
     * holds the papers read up to them (the counters written by anyone in between keep
     * the old ones). */
    memcpy(n.cursor, run->batch_cursor, sizeof n.cursor);
    n.harvest_done = (uint64_t) run->batch_done;
    n.read = run->batch_stats.read;
    n.malformed = run->batch_stats.malformed;
    n.filtered = run->batch_stats.filtered;
    for (size_t i = 0; i < run->n_batch; i++)
        n_fresh += fresh[i] ? 1 : 0;
    n.duplicates += run->n_batch - n_fresh;
    n.harvested += n_fresh;
    if (n_fresh && !(job = s_batch_job(run, fresh, paper_bytes, n.jobs_total + 1, &none)) && !none) {
        *err = strdup("out of memory");
        return -1;
    }
    if (n_fresh && s_fail_refused(run, c, fresh, paper_bytes) < 0) {
        s_job_destroy(&job);
        *err = strdup("cannot record the papers too large for a job");
        return -1;
    }
    n.jobs_total += job ? 1 : 0;
    char **fresh_ids = calloc(n_fresh + 1, sizeof *fresh_ids);
    if (!fresh_ids) {
        s_job_destroy(&job);
        *err = strdup("out of memory");
        return -1;
    }
    for (size_t i = 0, k = 0; i < run->n_batch; i++)
        if (fresh[i])
            fresh_ids[k++] = run->batch[i].id;      /* borrowed */
    ax_run_store_job_t stored = {0};
    if (job)
        stored = (ax_run_store_job_t) {.id = job->id, .papers = job->papers.data, .papers_len = job->papers.size,
                                       .ids = job->ids, .n_ids = job->n};
    ax_run_state_t state = n.harvest_done ? AX_RUN_STATE_DISPATCHING : AX_RUN_STATE_HARVESTING;
    int rc = ax_run_store_commit_batch(c, run->id, fresh_ids, n_fresh, job ? &stored : NULL, &n, state, err);
    free(fresh_ids);
    if (rc < 0) {
        s_job_destroy(&job);
        return -1;
    }
    ax_metrics_add("arxdigest_broker_papers_harvested_total", NULL, (double) (n.harvested - run->n.harvested));
    ax_metrics_add("arxdigest_broker_papers_duplicate_total", NULL, (double) (n.duplicates - run->n.duplicates));
    ax_metrics_add("arxdigest_broker_jobs_created_total", NULL, job ? 1 : 0);
    run->n = n;
    run->state = state;
    if (job)
        ax_run_push(run, job, 0);
    for (size_t i = 0; i < run->n_batch; i++)
        ax_paper_clear(&run->batch[i]);
    run->n_batch = 0;
    run->batch_bytes = 0;
    return 0;
}

/*  Room for `papers` papers in the batch. -1 on OOM. */
static int s_batch_reserve(ax_run_t *run, size_t papers)
{
    if (run->cap_batch >= papers)
        return 0;
    ax_paper_t *b = realloc(run->batch, papers * sizeof *b);
    if (!b)
        return -1;
    memset(b + run->cap_batch, 0, (papers - run->cap_batch) * sizeof *b);
    run->batch = b;
    size_t *sizes = realloc(run->batch_sizes, papers * sizeof *sizes);
    if (!sizes)
        return -1;
    run->batch_sizes = sizes;
    run->cap_batch = papers;
    return 0;
}

/*  A paper too large for any job keeps only what recording it failed needs (its id and
 *  date), so a stream of such papers holds no memory while the batch fills. */
static void s_refuse(ax_paper_t *p)
{
    ax_paper_t keep = {.id = p->id, .submitted = p->submitted};
    p->id = NULL;
    ax_paper_clear(p);
    *p = keep;
}

/*  Reads the next papers into the batch, within the bounds. 1 = the source has nothing
 *  yet, 0 = the batch is full or the source ended, -1 = the source failed. */
static int s_fill_batch(ax_run_t *run, const ax_run_bounds_t *b)
{
    while (run->source && run->n_batch < b->papers && run->batch_bytes <= b->bytes - b->paper_bytes) {
        ax_paper_t *p = &run->batch[run->n_batch];
        int rc = ax_source_next(run->source, p);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            run->batch_done = 1;
            break;
        }
        if (rc == 2)
            return 1;
        size_t size = s_paper_size(p);
        run->batch_sizes[run->n_batch++] = size;
        if (size > b->paper_bytes) {
            s_refuse(p);
            size = s_paper_size(p);
        }
        run->batch_bytes += size;
    }
    return 0;
}

int ax_run_harvest(ax_run_t *run, redisContext *c, const ax_run_bounds_t *bounds)
{
    char *err = NULL;
    if (s_batch_reserve(run, bounds->papers) < 0)
        return 0;
    int waiting = s_fill_batch(run, bounds);   /* the source has nothing more yet */
    if (waiting < 0)
        return -1;
    s_note_source_position(run);
    /* A live source's next page is seconds away: a short job now. A snapshot's next
     * papers are milliseconds away: the job fills first. */
    if (!c || (waiting && (run->n_batch == 0 || !ax_source_is_live(run->source))))
        return 0;
    unsigned char *fresh = calloc(run->n_batch + 1, 1);
    if (!fresh || s_dedup(run, c, fresh, &err) < 0 || s_commit_batch(run, c, fresh, bounds->paper_bytes, &err) < 0) {
        ax_log_warn("cannot record a job, will retry|run=%s error=\"%s\"", run->id, err ? err : "out of memory");
        free(err);
        free(fresh);
        return 0;
    }
    free(fresh);
    if (run->n.harvest_done && run->source) {
        ax_log_info("harvest finished|run=%s harvested=%" PRIu64 " duplicates=%" PRIu64 " malformed=%" PRIu64
                    " filtered=%" PRIu64 " jobs=%" PRIu64,
                    run->id, run->n.harvested, run->n.duplicates, run->n.malformed, run->n.filtered,
                    run->n.jobs_total);
        ax_source_destroy(&run->source);
    }
    return 1;
}

/* ---------------------------------------------------------------- completion */

void ax_run_save_attempt(ax_run_t *run, redisContext *c, const ax_run_job_t *job)
{
    char *err = NULL;
    if (c && ax_run_store_save_attempt(c, run->id, job->id, job->attempt, &err) < 0)
        ax_log_warn("cannot record an attempt|run=%s job=%" PRIu64 " error=\"%s\"", run->id, job->id,
                    err ? err : "?");
    free(err);
}

void ax_run_flush(ax_run_t *run, redisContext *c)
{
    char *err = NULL;
    if (!c || run->n_done_unsaved == 0)
        return;
    if (ax_run_store_finish_jobs(c, run->id, run->done_unsaved, run->n_done_unsaved, &run->n, run->state, &err) < 0) {
        ax_log_warn("cannot record finished jobs, will retry|run=%s jobs=%zu error=\"%s\"", run->id,
                    run->n_done_unsaved, err ? err : "?");
        free(err);
        return;
    }
    run->n_done_unsaved = 0;
}

int ax_run_finish(ax_run_t *run, redisContext *c, ax_run_job_t *job, int failed)
{
    if (failed && (!c || s_fail_papers(run, c, job) < 0))
        return -1;
    uint64_t *p = realloc(run->done_unsaved, (run->n_done_unsaved + 1) * sizeof *p);
    if (!p)
        return -1;
    run->done_unsaved = p;
    run->done_unsaved[run->n_done_unsaved++] = job->id;
    run->n.jobs_done++;
    run->n.jobs_failed += failed ? 1 : 0;
    ax_metrics_add(failed ? "arxdigest_broker_jobs_failed_total" : "arxdigest_broker_jobs_done_total", NULL, 1);
    s_job_destroy(&job);
    return 0;                           /* recorded by the next ax_run_flush, with its neighbours */
}

int ax_run_complete(const ax_run_t *run)
{
    return run->n.harvest_done && !run->source && run->n_batch == 0 && run->n_pending == 0 &&
           run->n_inflight == 0 && run->n_done_unsaved == 0;
}

/* ---------------------------------------------------------------- life cycle */

void ax_run_destroy(ax_run_t **run_p)
{
    ax_run_t *run = run_p ? *run_p : NULL;
    if (!run)
        return;
    for (ax_run_job_t *j = run->pending_head, *next; j; j = next) {
        next = j->next;
        s_job_destroy(&j);
    }
    for (size_t i = 0; i < run->n_inflight; i++)
        s_job_destroy(&run->inflight[i]);
    free(run->inflight);
    free(run->done_unsaved);
    for (size_t i = 0; i < run->n_batch; i++)
        ax_paper_clear(&run->batch[i]);
    free(run->batch);
    free(run->batch_sizes);
    ax_source_destroy(&run->source);
    msgpack_sbuffer_destroy(&run->profiles);
    ax_runspec_clear(&run->spec);
    free(run->id);
    free(run);
    *run_p = NULL;
}

/*  Refuses a run spec that could not run to the end: no profile, or a profile the
 *  config would have refused. -1 with *err (caller frees). */
static int s_spec_check(const ax_runspec_t *spec, char **err)
{
    if (spec->n_profiles == 0)
        return (*err = strdup("a run needs at least one profile")) ? -1 : -1;
    /* A spec from any client passes the checks of a config file's profiles: a name that
     * is a safe folder, keywords the matcher can match, ... (the same messages). */
    if (ax_config_check_profiles(spec->profiles, spec->n_profiles, err) < 0) {
        if (!*err)
            *err = strdup("bad profiles");
        return -1;
    }
    return 0;
}

/*  The submitter gave up at the spec's deadline (wall clock): creating the run after it
 *  would start a run it reported as failed. -1 with *err then. */
static int s_deadline_check(const ax_runspec_t *spec, char **err)
{
    long long late = spec->deadline_ms ? (long long) ax_now_ms() - (long long) spec->deadline_ms : 0;
    if (late <= 0)
        return 0;
    if (asprintf(err, "request expired %lld ms ago (the submitter has given up): no run created", late) < 0)
        *err = NULL;
    return -1;
}

static char *s_new_run_id(void)
{
    char ts[32], *id = NULL;
    int64_t now = ax_now_ms();
    unsigned rnd = (unsigned) (now ^ ((int64_t) getpid() << 16));
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&rnd, sizeof rnd, 1, f) != 1)
            rnd ^= 0x5a5a;
        fclose(f);
    }
    ax_time_format(now / 1000, "%Y%m%d-%H%M%S", ts, sizeof ts);
    if (asprintf(&id, "%s-%04x", ts, rnd & 0xffff) < 0)
        return NULL;
    return id;
}

ax_run_t *ax_run_create(redisContext *c, ax_runspec_t *spec, const ax_arxiv_cfg_t *arxiv, char **err)
{
    ax_run_t *run = calloc(1, sizeof *run);
    *err = NULL;
    if (!run) {
        *err = strdup("out of memory");
        return NULL;
    }
    run->spec = *spec;
    memset(spec, 0, sizeof *spec);
    msgpack_sbuffer_init(&run->profiles);
    run->state = AX_RUN_STATE_QUEUED;
    if (s_spec_check(&run->spec, err) < 0 || !(run->source = ax_source_open(&run->spec, arxiv, NULL, err)))
        goto fail;
    if (!c) {
        *err = strdup("redis unreachable: cannot record the run");
        goto fail;
    }
    if (s_deadline_check(&run->spec, err) < 0)
        goto fail;
    if (!(run->id = s_new_run_id())) {
        *err = strdup("out of memory");
        goto fail;
    }
    ax_pack_profiles(&run->profiles, run->spec.profiles, run->spec.n_profiles);
    /* With its request id, if any: a retry of this request gets this run (broker.c). */
    if (ax_run_store_create(c, run->id, &run->spec, ax_now_ms(), err) < 0)
        goto fail;
    return run;
fail:
    ax_run_destroy(&run);
    return NULL;
}

/*  Queues the outstanding jobs of a run, as recorded, in job order. -1 with *err, and
 *  *redis set when Redis failed (else a job is unreadable). */
static int s_load_jobs(ax_run_t *run, redisContext *c, int *redis, char **err)
{
    ax_run_stored_job_t *stored = NULL;
    size_t n = 0;
    *redis = 1;
    if (ax_run_store_load_jobs(c, run->id, &stored, &n, err) < 0)
        return -1;
    *redis = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ax_run_job_t *job = s_job_load(stored[i].id, stored[i].papers, stored[i].papers_len, err);
        if (!job) {
            rc = -1;
            break;
        }
        job->attempt = stored[i].attempt;
        ax_run_push(run, job, 0);
    }
    ax_run_stored_jobs_free(&stored, n);
    return rc;
}

/*  Rebuilds one unfinished run from its record. NULL with *err, and *redis set when Redis
 *  failed (else the run cannot be resumed: its spec or a job unreadable, its source
 *  gone). */
static ax_run_t *s_run_load(redisContext *c, const ax_arxiv_cfg_t *arxiv, const char *id,
                            const ax_run_record_t *rec, int *redis, char **err)
{
    ax_run_t *run = calloc(1, sizeof *run);
    *redis = 0;
    if (!run || !(run->id = strdup(id))) {
        free(run);
        *err = strdup("out of memory");
        return NULL;
    }
    msgpack_sbuffer_init(&run->profiles);
    if (ax_run_record_spec(rec, &run->spec, err) < 0)
        goto fail;
    ax_pack_profiles(&run->profiles, run->spec.profiles, run->spec.n_profiles);
    run->n = rec->n;
    run->base.read = rec->n.read;
    run->base.malformed = rec->n.malformed;
    run->base.filtered = rec->n.filtered;
    memcpy(run->batch_cursor, run->n.cursor, sizeof run->batch_cursor);
    run->batch_stats = run->base;
    run->batch_done = (int) run->n.harvest_done;
    run->state = rec->state == AX_RUN_STATE_QUEUED ? AX_RUN_STATE_QUEUED
                 : run->n.harvest_done             ? AX_RUN_STATE_DISPATCHING
                                                   : AX_RUN_STATE_HARVESTING;
    if (!run->n.harvest_done && !(run->source = ax_source_open(&run->spec, arxiv, run->n.cursor, err)))
        goto fail;
    if (s_load_jobs(run, c, redis, err) < 0)
        goto fail;
    return run;
fail:
    ax_run_destroy(&run);
    return NULL;
}

/*  Resumes run `id` into runs[*count] when it is unfinished; marks it failed when it
 *  cannot be resumed. 0, or -1 with *err when Redis failed. */
static int s_resume_one(redisContext *c, const ax_arxiv_cfg_t *arxiv, const char *id, ax_run_t **runs,
                        size_t *count, char **err)
{
    ax_run_record_t rec;
    char *why = NULL;
    int redis = 0;
    int found = ax_run_store_load(c, id, &rec, err);
    if (found <= 0 || !ax_run_state_unfinished(rec.state)) {
        ax_run_record_clear(&rec);
        return found < 0 ? -1 : 0;
    }
    ax_run_t *run = s_run_load(c, arxiv, id, &rec, &redis, &why);
    ax_run_record_clear(&rec);
    if (run) {
        runs[(*count)++] = run;
        ax_log_info("run resumed|run=%s state=%s harvested=%" PRIu64 " jobs_outstanding=%zu cursor=\"%s\"", id,
                    ax_run_state_name(run->state), run->n.harvested, run->n_pending, run->n.cursor);
        return 0;
    }
    if (redis) {
        *err = why;
        return -1;
    }
    ax_log_error("run cannot be resumed, marked failed|run=%s error=\"%s\"", id, why ? why : "?");
    int rc = ax_run_store_fail(c, id, why ? why : "cannot be resumed", err);
    free(why);
    return rc;
}

ax_run_t **ax_run_load_all(redisContext *c, const ax_arxiv_cfg_t *arxiv, size_t *count, char **err)
{
    char **ids = NULL;
    size_t n_ids = 0;
    *count = 0;
    *err = NULL;
    if (ax_run_store_list(c, 0, 0, &ids, &n_ids, err) < 0)
        return NULL;
    ax_run_t **runs = calloc(n_ids + 1, sizeof *runs);
    int rc = runs ? 0 : -1;
    if (!runs)
        *err = strdup("out of memory");
    for (size_t i = 0; rc == 0 && i < n_ids; i++)
        rc = s_resume_one(c, arxiv, ids[i], runs, count, err);
    ax_strv_free(&ids, n_ids);
    if (rc == 0)
        return runs;
    /* Never a part: the runs after the failure would never be resumed. */
    for (size_t i = 0; i < *count; i++)
        ax_run_destroy(&runs[i]);
    free(runs);
    *count = 0;
    if (!*err)
        *err = strdup("redis failed");
    return NULL;
}
