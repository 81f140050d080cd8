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
    free(job->subs);
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
 *  s_paper_size; their ids and submission times kept). */
static ax_run_job_t *s_job_new(uint64_t id, const ax_paper_t *papers, size_t n, size_t size_hint)
{
    ax_run_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->id = id;
    job->worker = -1;
    msgpack_sbuffer_init(&job->papers);
    if (!(job->ids = calloc(n + 1, sizeof *job->ids)) || !(job->subs = calloc(n + 1, sizeof *job->subs))) {
        s_job_destroy(&job);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        job->ids[i] = strdup(papers[i].id);
        job->subs[i] = papers[i].submitted;
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

/*  Reads the replies of `count` commands appended to c and checks them: none is an
 *  error and, for a MULTI ... EXEC pipeline, the last (EXEC) is an array (nil when the
 *  transaction was aborted). 0 / -1 with *err. */
static int s_replies(redisContext *c, int count, int exec, char **err)
{
    int rc = 0;
    for (int i = 0; i < count; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **) &r) != REDIS_OK || !r) {
            if (asprintf(err, "redis: %s", c->errstr[0] ? c->errstr : "no reply") < 0)
                *err = NULL;
            return -1;                  /* connection broken: the link reconnects */
        }
        if (r->type == REDIS_REPLY_ERROR || (exec && i == count - 1 && r->type != REDIS_REPLY_ARRAY)) {
            if (rc == 0 && asprintf(err, "redis: %s", r->type == REDIS_REPLY_ERROR ? r->str : "transaction aborted") < 0)
                *err = NULL;
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

/*  Appends HSET of every counter, the state and the time to the pipeline. */
static void s_append_counts(redisContext *c, const char *key, const ax_run_counts_t *n, const char *state)
{
    redisAppendCommand(c,
                       "HSET %s harvested %" PRIu64 " duplicates %" PRIu64 " jobs_total %" PRIu64
                       " jobs_done %" PRIu64 " jobs_failed %" PRIu64 " read %" PRIu64 " malformed %" PRIu64
                       " filtered %" PRIu64 " cursor %s harvest_done %" PRIu64 " updated_ms %lld state %s",
                       key, n->harvested, n->duplicates, n->jobs_total, n->jobs_done, n->jobs_failed, n->read,
                       n->malformed, n->filtered, n->cursor, n->harvest_done, (long long) ax_now_ms(), state);
}

int ax_run_publish(ax_run_t *run, redisContext *c, const char *state)
{
    char key[300], *err = NULL;
    if (state)
        run->state = state;
    ax_run_key(key, sizeof key, run->id, "");
    s_append_counts(c, key, &run->n, run->state);
    if (s_replies(c, 1, 0, &err) < 0) {
        ax_log_warn("cannot update run|run=%s error=\"%s\"", run->id, err);
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

/*  Records papers (ids and submission times) as failed for every profile of the run,
 *  with reason. job_id is their job, still outstanding (ax_run_flush removes it after
 *  this), or 0 for papers that went in no job (too large): the store takes job 0 only
 *  from the broker (the collector refuses it on the wire). Idempotent (ax_store_result).
 *  0 / -1 (logged; retry). A store that refuses them (the run finished meanwhile) is
 *  logged and taken as done: no retry could ever store them. */
static int s_store_failed(ax_run_t *run, redisContext *c, uint64_t job_id, uint32_t attempt, char *const *ids,
                          const int64_t *subs, size_t n, char *reason)
{
    size_t np = run->spec.n_profiles;
    char **names = calloc(np + 1, sizeof *names), *err = NULL;
    ax_result_t res = {.run = run->id, .job = job_id, .attempt = attempt, .profiles = names, .n_profiles = np};
    res.items = calloc(n + 1, sizeof *res.items);
    ax_verdict_t *verdicts = calloc(n * np + 1, sizeof *verdicts);
    int rc = -1;
    if (names && res.items && verdicts) {
        for (size_t p = 0; p < np; p++)
            names[p] = run->spec.profiles[p].name;
        for (size_t i = 0; i < n; i++) {
            res.items[i].paper.id = ids[i];                 /* borrowed */
            res.items[i].paper.submitted = subs[i];
            res.items[i].verdicts = &verdicts[i * np];
            for (size_t p = 0; p < np; p++) {
                verdicts[i * np + p].state = AX_STATE_FAILED;
                verdicts[i * np + p].reason = reason;
            }
        }
        res.n_items = n;
        rc = ax_store_result(c, &res, NULL, &err);
        if (rc > 0) {
            ax_log_error("failed papers not recorded|run=%s job=%" PRIu64 " error=\"%s\"", run->id, job_id,
                         err ? err : "?");
            rc = 0;
        }
    }
    if (rc < 0)
        ax_log_warn("cannot record failed papers|run=%s job=%" PRIu64 " error=\"%s\"", run->id, job_id,
                    err ? err : "out of memory");
    free(err);
    free(names);
    free(res.items);
    free(verdicts);
    return rc;
}

/*  Records every paper of a job as failed for every profile, with the job's last error. */
static int s_fail_papers(ax_run_t *run, redisContext *c, const ax_run_job_t *job)
{
    char reason[512];
    snprintf(reason, sizeof reason, "job %" PRIu64 " failed %u times: %s", job->id, job->attempt,
             job->last_error ? job->last_error : "lease expired");
    return s_store_failed(run, c, job->id, job->attempt, job->ids, job->subs, job->n, reason);
}

/* ---------------------------------------------------------------- harvest */

/*  Marks in fresh[] the batch papers not seen before in this run: not in the seen set
 *  (SMISMEMBER) and not earlier in the same batch. -1 with *err. */
static int s_dedup(ax_run_t *run, redisContext *c, unsigned char *fresh, char **err)
{
    char key[300];
    size_t n = run->n_batch;
    if (n == 0)
        return 0;
    const char **argv = calloc(n + 2, sizeof *argv);
    size_t *lens = calloc(n + 2, sizeof *lens);
    int rc = -1;
    if (!argv || !lens) {
        *err = strdup("out of memory");
        goto done;
    }
    ax_run_key(key, sizeof key, run->id, ":seen");
    argv[0] = "SMISMEMBER";
    lens[0] = 10;
    argv[1] = key;
    lens[1] = strlen(key);
    for (size_t i = 0; i < n; i++) {
        argv[i + 2] = run->batch[i].id;
        lens[i + 2] = strlen(run->batch[i].id);
    }
    redisReply *r = redisCommandArgv(c, (int) n + 2, argv, lens);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        if (asprintf(err, "redis: SMISMEMBER: %s", !r ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply") < 0)
            *err = NULL;
        freeReplyObject(r);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        fresh[i] = r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == 0;
        for (size_t j = 0; fresh[i] && j < i; j++)
            if (fresh[j] && strcmp(run->batch[j].id, run->batch[i].id) == 0)
                fresh[i] = 0;
    }
    freeReplyObject(r);
    rc = 0;
done:
    free(argv);
    free(lens);
    return rc;
}

/*  The job's paper ids joined by NUL (ids never contain one), the value of its
 *  ax:run:{R}:jobids entry: what the collector checks a RESULT's papers against without
 *  unpacking the job. Caller frees; NULL on OOM. */
static char *s_job_ids_joined(const ax_run_job_t *job, size_t *len)
{
    size_t total = 1;
    for (size_t i = 0; i < job->n; i++)
        total += strlen(job->ids[i]) + 1;
    char *out = malloc(total), *p = out;
    for (size_t i = 0; out && i < job->n; i++) {
        size_t n = strlen(job->ids[i]);
        memcpy(p, job->ids[i], n);
        p += n;
        *p++ = '\0';
    }
    *len = out && job->n ? (size_t) (p - out) - 1 : 0;   /* no NUL after the last */
    return out;
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
        if (s_store_failed(run, c, 0, 0, ids, &run->batch[i].submitted, 1, reason) < 0)
            return -1;
        ax_log_warn("paper too large, recorded failed|run=%s paper=%s bytes=%zu max=%zu", run->id, run->batch[i].id,
                    run->batch_sizes[i], paper_bytes);
    }
    return 0;
}

/*  Appends to the pipeline the SADD of every fresh id of the batch to the seen set. */
static void s_append_seen(ax_run_t *run, redisContext *c, const unsigned char *fresh, size_t n_fresh)
{
    char seen_key[300];
    const char **argv = calloc(n_fresh + 2, sizeof *argv);
    size_t *lens = calloc(n_fresh + 2, sizeof *lens), k = 2;
    ax_run_key(seen_key, sizeof seen_key, run->id, ":seen");
    if (!argv || !lens) {
        redisAppendCommand(c, "SADD");      /* an error reply: the transaction aborts */
    } else {
        argv[0] = "SADD";
        lens[0] = 4;
        argv[1] = seen_key;
        lens[1] = strlen(seen_key);
        for (size_t i = 0; i < run->n_batch; i++)
            if (fresh[i]) {
                argv[k] = run->batch[i].id;
                lens[k++] = strlen(run->batch[i].id);
            }
        redisAppendCommandArgv(c, (int) k, argv, lens);
    }
    free(argv);
    free(lens);
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
    char key[300], jobs_key[300], ids_key[300];
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
    size_t ids_len = 0;
    char *ids = job ? s_job_ids_joined(job, &ids_len) : NULL;
    if (job && !ids) {
        s_job_destroy(&job);
        *err = strdup("out of memory");
        return -1;
    }
    ax_run_key(key, sizeof key, run->id, "");
    ax_run_key(jobs_key, sizeof jobs_key, run->id, ":jobs");
    ax_run_key(ids_key, sizeof ids_key, run->id, ":jobids");
    const char *state = n.harvest_done ? "dispatching" : "harvesting";
    int count = 3;
    redisAppendCommand(c, "MULTI");
    if (n_fresh) {
        s_append_seen(run, c, fresh, n_fresh);
        count++;
    }
    if (job) {
        redisAppendCommand(c, "HSET %s %" PRIu64 " %b", jobs_key, job->id, job->papers.data, job->papers.size);
        redisAppendCommand(c, "HSET %s %" PRIu64 " %b", ids_key, job->id, ids, ids_len);
        count += 2;
    }
    s_append_counts(c, key, &n, state);
    redisAppendCommand(c, "EXEC");
    free(ids);
    if (s_replies(c, count, 1, err) < 0) {
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
    char key[300], *err = NULL;
    if (!c)
        return;
    redisReply *r = ax_redis_cmd(c, &err, "HSET %s %" PRIu64 " %u", ax_run_key(key, sizeof key, run->id, ":attempts"),
                                 job->id, job->attempt);
    if (!r)
        ax_log_warn("cannot record an attempt|run=%s job=%" PRIu64 " error=\"%s\"", run->id, job->id, err);
    freeReplyObject(r);
    free(err);
}

void ax_run_flush(ax_run_t *run, redisContext *c)
{
    char key[300], jobs_key[300], ids_key[300], att_key[300], *err = NULL;
    if (!c || run->n_done_unsaved == 0)
        return;
    ax_run_key(key, sizeof key, run->id, "");
    ax_run_key(jobs_key, sizeof jobs_key, run->id, ":jobs");
    ax_run_key(ids_key, sizeof ids_key, run->id, ":jobids");
    ax_run_key(att_key, sizeof att_key, run->id, ":attempts");
    redisAppendCommand(c, "MULTI");
    for (size_t i = 0; i < run->n_done_unsaved; i++) {
        redisAppendCommand(c, "HDEL %s %" PRIu64, jobs_key, run->done_unsaved[i]);
        redisAppendCommand(c, "HDEL %s %" PRIu64, ids_key, run->done_unsaved[i]);
        redisAppendCommand(c, "HDEL %s %" PRIu64, att_key, run->done_unsaved[i]);
    }
    s_append_counts(c, key, &run->n, run->state);
    redisAppendCommand(c, "EXEC");
    if (s_replies(c, 3 + 3 * (int) run->n_done_unsaved, 1, &err) < 0) {
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
    run->state = "queued";
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
    msgpack_sbuffer blob;
    msgpack_sbuffer_init(&blob);
    ax_runspec_encode(&blob, &run->spec);
    char key[300];
    long long now = (long long) ax_now_ms();
    ax_run_key(key, sizeof key, run->id, "");
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "HSET %s state queued spec %b source %s created_ms %lld", key, blob.data, blob.size,
                       run->spec.source, now);
    char runs[200], name[100], req[300];
    redisAppendCommand(c, "ZADD %s %lld %s", ax_ns_key(runs, sizeof runs, "runs"), now, run->id);
    if (run->spec.request) {        /* a retry of this request gets this run (broker.c) */
        snprintf(name, sizeof name, "submit:%s", run->spec.request);
        redisAppendCommand(c, "SET %s %s EX %d", ax_ns_key(req, sizeof req, name), run->id,
                           AX_RUN_REQUEST_TTL_S);
    }
    redisAppendCommand(c, "EXEC");
    msgpack_sbuffer_destroy(&blob);
    if (s_replies(c, run->spec.request ? 5 : 4, 1, err) < 0)
        goto fail;
    return run;
fail:
    ax_run_destroy(&run);
    return NULL;
}

int ax_run_by_request(redisContext *c, const char *request, char **run, char **err)
{
    char name[100], key[300];
    size_t n = strlen(request);
    *run = NULL;
    if (n == 0 || n > AX_RUN_REQUEST_MAX || strspn(request, AX_NAMESPACE_CHARS) != n) {
        *err = strdup("bad run spec: req must be 1-64 characters of [A-Za-z0-9_.:-]");
        return -1;
    }
    snprintf(name, sizeof name, "submit:%s", request);
    redisReply *r = ax_redis_cmd(c, err, "GET %s", ax_ns_key(key, sizeof key, name));
    int rc = !r ? -1 : r->type == REDIS_REPLY_STRING ? 1 : 0;
    if (rc == 1 && !(*run = strdup(r->str))) {
        *err = strdup("out of memory");
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/*  Loads the outstanding jobs of a run from its jobs hash, in job order. */
static int s_load_jobs(ax_run_t *run, redisContext *c, char **err)
{
    char jobs_key[300], att_key[300];
    ax_run_key(jobs_key, sizeof jobs_key, run->id, ":jobs");
    ax_run_key(att_key, sizeof att_key, run->id, ":attempts");
    redisReply *attempts = ax_redis_cmd(c, err, "HGETALL %s", att_key);
    redisReply *jobs = attempts ? ax_redis_cmd(c, err, "HGETALL %s", jobs_key) : NULL;
    int rc = jobs ? 0 : -1;
    size_t n = jobs ? jobs->elements / 2 : 0;
    ax_run_job_t **loaded = calloc(n + 1, sizeof *loaded);
    if (rc == 0 && !loaded) {
        *err = strdup("out of memory");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const redisReply *f = jobs->element[2 * i], *v = jobs->element[2 * i + 1];
        uint64_t id = strtoull(f->str, NULL, 10);
        if (!(loaded[i] = s_job_load(id, v->str, v->len, err))) {
            rc = -1;
            break;
        }
        loaded[i]->attempt = (uint32_t) ax_redis_hash_ll(attempts, f->str);
    }
    /* Job order: insertion sort, the window is small. */
    for (size_t i = 1; rc == 0 && i < n; i++)
        for (size_t j = i; j > 0 && loaded[j - 1]->id > loaded[j]->id; j--) {
            ax_run_job_t *t = loaded[j];
            loaded[j] = loaded[j - 1];
            loaded[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            ax_run_push(run, loaded[i], 0);
        else
            s_job_destroy(&loaded[i]);
    }
    free(loaded);
    freeReplyObject(jobs);
    freeReplyObject(attempts);
    return rc;
}

/*  Rebuilds one unfinished run from its hash. NULL with *err. */
static ax_run_t *s_run_load(redisContext *c, const ax_arxiv_cfg_t *arxiv, const char *id, const redisReply *h,
                            char **err)
{
    ax_run_t *run = calloc(1, sizeof *run);
    const redisReply *blob = ax_redis_hash_field(h, "spec");
    if (!run || !(run->id = strdup(id))) {
        free(run);
        *err = strdup("out of memory");
        return NULL;
    }
    msgpack_sbuffer_init(&run->profiles);
    if (!blob || ax_runspec_decode(blob->str, blob->len, &run->spec, err) < 0)
        goto fail;
    ax_pack_profiles(&run->profiles, run->spec.profiles, run->spec.n_profiles);
    ax_run_counts_t *n = &run->n;
    n->harvested = (uint64_t) ax_redis_hash_ll(h, "harvested");
    n->duplicates = (uint64_t) ax_redis_hash_ll(h, "duplicates");
    n->jobs_total = (uint64_t) ax_redis_hash_ll(h, "jobs_total");
    n->jobs_done = (uint64_t) ax_redis_hash_ll(h, "jobs_done");
    n->jobs_failed = (uint64_t) ax_redis_hash_ll(h, "jobs_failed");
    n->read = run->base.read = (uint64_t) ax_redis_hash_ll(h, "read");
    n->malformed = run->base.malformed = (uint64_t) ax_redis_hash_ll(h, "malformed");
    n->filtered = run->base.filtered = (uint64_t) ax_redis_hash_ll(h, "filtered");
    const char *cursor = ax_redis_hash_str(h, "cursor");
    snprintf(n->cursor, sizeof n->cursor, "%s", cursor ? cursor : "");
    n->harvest_done = (uint64_t) ax_redis_hash_ll(h, "harvest_done");
    memcpy(run->batch_cursor, n->cursor, sizeof run->batch_cursor);
    run->batch_stats = run->base;
    run->batch_done = (int) n->harvest_done;
    const char *state = ax_redis_hash_str(h, "state");
    run->state = state && strcmp(state, "queued") == 0 ? "queued" : n->harvest_done ? "dispatching" : "harvesting";
    if (!n->harvest_done) {
        if (!(run->source = ax_source_open(&run->spec, arxiv, n->cursor, err)))
            goto fail;
    }
    if (s_load_jobs(run, c, err) < 0)
        goto fail;
    return run;
fail:
    ax_run_destroy(&run);
    return NULL;
}

ax_run_t **ax_run_load_all(redisContext *c, const ax_arxiv_cfg_t *arxiv, size_t *count, char **err)
{
    *count = 0;
    char runs_key[200];
    redisReply *ids = ax_redis_cmd(c, err, "ZRANGE %s 0 -1", ax_ns_key(runs_key, sizeof runs_key, "runs"));
    if (!ids)
        return NULL;
    ax_run_t **runs = calloc(ids->elements + 1, sizeof *runs);
    for (size_t i = 0; runs && i < ids->elements; i++) {
        const char *id = ids->element[i]->str;
        char key[300], *why = NULL;
        redisReply *h = ax_redis_cmd(c, err, "HGETALL %s", ax_run_key(key, sizeof key, id, ""));
        if (!h)
            break;
        const char *state = ax_redis_hash_str(h, "state");
        if (state && (strcmp(state, "queued") == 0 || strcmp(state, "harvesting") == 0 ||
                      strcmp(state, "dispatching") == 0)) {
            ax_run_t *run = s_run_load(c, arxiv, id, h, &why);
            if (run) {
                runs[(*count)++] = run;
                ax_log_info("run resumed|run=%s state=%s harvested=%" PRIu64 " jobs_outstanding=%zu cursor=\"%s\"",
                            id, run->state, run->n.harvested, run->n_pending, run->n.cursor);
            } else {
                ax_log_error("run cannot be resumed, marked failed|run=%s error=\"%s\"", id, why ? why : "?");
                redisReply *r = ax_redis_cmd(c, NULL, "HSET %s state failed error %s", key,
                                             why ? why : "cannot be resumed");
                freeReplyObject(r);
            }
            free(why);
        }
        freeReplyObject(h);
    }
    freeReplyObject(ids);
    if (!runs)
        *err = strdup("out of memory");
    return runs;
}
