/*  broker.c: runs, jobs, leases and credit-based dispatch (see broker.h).
 *
 *  One loop serves everything: it polls the jobs ROUTER and the control REP, harvests
 *  one job's worth of papers when the queue is below its window, dispatches queued jobs
 *  to workers with credit, and on every turn checks leases and heartbeats. A run moves
 *  harvesting -> dispatching -> collected; runs submitted meanwhile wait their turn.
 */
#define _GNU_SOURCE
#include "broker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "source.h"
#include "store.h"
#include "text.h"

/*  A job: its papers stay packed from creation to completion, so a re-dispatch sends the
 *  very same papers. ids/subs are kept to record the papers as failed if it never succeeds. */
typedef struct s_job {
    uint64_t id;
    uint32_t attempt;               /* dispatches so far */
    msgpack_sbuffer papers;         /* msgpack array of papers */
    char **ids;
    int64_t *subs;
    size_t n;
    int worker;                     /* index in workers while leased, else -1 */
    int64_t deadline_ms;            /* lease end (monotonic) */
    char *last_error;
    struct s_job *next;             /* pending queue link */
} s_job_t;

typedef struct {
    char *id;
    ax_runspec_t spec;
    msgpack_sbuffer profiles;       /* the spec's profiles, packed once */
    ax_source_t *source;
    int harvest_done;
    uint64_t next_job, jobs_total, jobs_done, jobs_failed, harvested, duplicates;
    s_job_t *pending_head, *pending_tail;
    size_t n_pending;
    s_job_t **inflight;
    size_t n_inflight, cap_inflight;
    ax_paper_t *batch;              /* papers read but not yet in a job */
    size_t n_batch;
    int64_t started_ms;
    const char *state;              /* static string: harvesting, dispatching, collected */
} s_run_t;

typedef struct {
    unsigned char identity[AX_PROTO_MAX_IDENTITY];
    size_t identity_len;
    char *name;
    uint32_t credit;
    int64_t last_seen_ms, last_sent_ms;
} s_worker_t;

struct ax_broker {
    void *zmq;
    void *jobs;                     /* ROUTER */
    void *control;                  /* REP */
    ax_redis_link_t redis;
    ax_broker_timing_t t;
    uint32_t job_size;
    s_worker_t *workers;
    size_t n_workers, cap_workers, rr;
    s_run_t *active;
    s_run_t **queued;
    size_t n_queued;
};

static int64_t s_env_int(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoll(v, NULL, 10) : dflt;
}

/* ---------------------------------------------------------------- Redis */

static redisContext *s_redis(ax_broker_t *self)
{
    return ax_redis_link_get(&self->redis);
}

/*  HSET of the run's counters and state (state NULL: unchanged); failures are logged and
 *  the next update writes everything again. */
static void s_run_publish(ax_broker_t *self, s_run_t *run, const char *state)
{
    redisContext *c = s_redis(self);
    if (!c)
        return;
    char key[300], *err = NULL;
    ax_source_stats_t st = {0};
    if (state)
        run->state = state;
    if (run->source)
        ax_source_stats(run->source, &st);
    ax_run_key(key, sizeof key, run->id, "");
    redisReply *r = ax_redis_cmd(
        c, &err,
        "HSET %s harvested %" PRIu64 " duplicates %" PRIu64 " jobs_total %" PRIu64
        " jobs_done %" PRIu64 " jobs_failed %" PRIu64 " read %" PRIu64 " malformed %" PRIu64
        " filtered %" PRIu64 " updated_ms %lld state %s",
        key, run->harvested, run->duplicates, run->jobs_total, run->jobs_done, run->jobs_failed,
        st.read, st.malformed, st.filtered, (long long) ax_now_ms(), run->state);
    if (!r)
        ax_log_warn("cannot update run state|run=%s error=\"%s\"", run->id, err);
    freeReplyObject(r);
    free(err);
}

/* ---------------------------------------------------------------- jobs and runs */

static void s_job_destroy(s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    msgpack_sbuffer_destroy(&job->papers);
    ax_strv_free(&job->ids, job->n);
    free(job->subs);
    free(job->last_error);
    free(job);
    *job_p = NULL;
}

static void s_run_destroy(s_run_t **run_p)
{
    s_run_t *run = *run_p;
    if (!run)
        return;
    for (s_job_t *j = run->pending_head, *next; j; j = next) {
        next = j->next;
        s_job_destroy(&j);
    }
    for (size_t i = 0; i < run->n_inflight; i++)
        s_job_destroy(&run->inflight[i]);
    free(run->inflight);
    for (size_t i = 0; i < run->n_batch; i++)
        ax_paper_clear(&run->batch[i]);
    free(run->batch);
    ax_source_destroy(&run->source);
    msgpack_sbuffer_destroy(&run->profiles);
    ax_runspec_clear(&run->spec);
    free(run->id);
    free(run);
    *run_p = NULL;
}

static void s_pending_push(s_run_t *run, s_job_t *job, int front)
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

static s_job_t *s_pending_pop(s_run_t *run)
{
    s_job_t *job = run->pending_head;
    if (job) {
        run->pending_head = job->next;
        if (!run->pending_head)
            run->pending_tail = NULL;
        run->n_pending--;
        job->next = NULL;
    }
    return job;
}

/*  Removes job `id` from the in-flight set or the pending queue and returns it. */
static s_job_t *s_job_take(s_run_t *run, uint64_t id)
{
    for (size_t i = 0; i < run->n_inflight; i++)
        if (run->inflight[i]->id == id) {
            s_job_t *job = run->inflight[i];
            run->inflight[i] = run->inflight[--run->n_inflight];
            return job;
        }
    for (s_job_t **pp = &run->pending_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next)
        if ((*pp)->id == id) {
            s_job_t *job = *pp;
            *pp = job->next;
            if (run->pending_tail == job)
                run->pending_tail = prev;
            run->n_pending--;
            return job;
        }
    return NULL;
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

/*  Upper estimate of the packed size of papers: their text plus per-field overhead. */
static size_t s_papers_size_hint(const ax_paper_t *papers, size_t n)
{
    size_t total = 16;
    for (size_t i = 0; i < n; i++) {
        const ax_paper_t *p = &papers[i];
        total += 160 + strlen(p->id) + (p->title ? strlen(p->title) : 0) +
                 (p->abstract ? strlen(p->abstract) : 0) + (p->comments ? strlen(p->comments) : 0) +
                 (p->journal_ref ? strlen(p->journal_ref) : 0) + (p->doi ? strlen(p->doi) : 0);
        for (size_t a = 0; a < p->n_authors; a++)
            total += strlen(p->authors[a]) + 5;
        for (size_t c = 0; c < p->n_categories; c++)
            total += strlen(p->categories[c]) + 5;
    }
    return total;
}

/*  Records every paper of a job as failed for every profile, so none is lost silently. */
static int s_job_fail_papers(ax_broker_t *self, s_run_t *run, s_job_t *job)
{
    redisContext *c = s_redis(self);
    if (!c)
        return -1;
    ax_result_t res = {.run = run->id, .job = job->id, .attempt = job->attempt};
    char *names[run->spec.n_profiles + 1];
    for (size_t p = 0; p < run->spec.n_profiles; p++)
        names[p] = run->spec.profiles[p].name;
    res.profiles = names;
    res.n_profiles = run->spec.n_profiles;
    res.items = calloc(job->n ? job->n : 1, sizeof *res.items);
    ax_verdict_t *verdicts = calloc(job->n * res.n_profiles + 1, sizeof *verdicts);
    int rc = -1;
    if (res.items && verdicts) {
        char reason[512];
        snprintf(reason, sizeof reason, "job %" PRIu64 " failed %u times: %s", job->id,
                 job->attempt, job->last_error ? job->last_error : "lease expired");
        for (size_t i = 0; i < job->n; i++) {
            res.items[i].paper.id = job->ids[i];
            res.items[i].paper.submitted = job->subs[i];
            res.items[i].verdicts = &verdicts[i * res.n_profiles];
            for (size_t p = 0; p < res.n_profiles; p++) {
                verdicts[i * res.n_profiles + p].state = AX_STATE_FAILED;
                verdicts[i * res.n_profiles + p].reason = reason;
            }
        }
        res.n_items = job->n;
        char *err = NULL;
        rc = ax_store_result(c, &res, &err);
        if (rc < 0)
            ax_log_error("cannot record failed papers|run=%s job=%" PRIu64 " error=\"%s\"", run->id,
                         job->id, err);
        free(err);
    }
    free(res.items);
    free(verdicts);
    return rc;
}

/*  Puts a job back in the queue after a failed attempt, or fails its papers for good. */
static void s_job_retry(ax_broker_t *self, s_run_t *run, s_job_t *job, const char *why)
{
    free(job->last_error);
    job->last_error = strdup(why);
    if (job->attempt < (uint32_t) self->t.max_attempts) {
        ax_log_warn("job re-queued|run=%s job=%" PRIu64 " attempt=%u reason=\"%s\"", run->id,
                    job->id, job->attempt, why);
        s_pending_push(run, job, 1);
        return;
    }
    if (s_job_fail_papers(self, run, job) < 0) {
        /* Redis is down: keep the job queued so its papers are recorded later. */
        job->attempt--;
        s_pending_push(run, job, 0);
        return;
    }
    ax_log_error("job failed for good|run=%s job=%" PRIu64 " papers=%zu reason=\"%s\"", run->id,
                 job->id, job->n, why);
    run->jobs_failed++;
    run->jobs_done++;
    s_job_destroy(&job);
    s_run_publish(self, run, NULL);
}

/*  Reads up to job_size papers into the run's batch, de-duplicates them in Redis and
 *  queues them as one job. Returns 1 when it did something, 0 when idle, -1 when the
 *  run failed. */
static int s_harvest_step(ax_broker_t *self, s_run_t *run)
{
    uint32_t size = run->spec.job_size ? run->spec.job_size : self->job_size;
    if (!run->batch && !(run->batch = calloc(size, sizeof *run->batch)))
        return -1;
    while (!run->harvest_done && run->n_batch < size) {
        int rc = ax_source_next(run->source, &run->batch[run->n_batch]);
        if (rc < 0) {
            ax_log_error("harvest failed|run=%s error=\"%s\"", run->id, ax_source_error(run->source));
            return -1;
        }
        if (rc == 0)
            run->harvest_done = 1;
        else
            run->n_batch++;
    }
    if (run->n_batch > 0) {
        redisContext *c = s_redis(self);
        if (!c)
            return 0;
        char *ids[size];
        unsigned char fresh[size];
        char *err = NULL;
        for (size_t i = 0; i < run->n_batch; i++)
            ids[i] = run->batch[i].id;
        if (ax_store_dedup(c, run->id, ids, run->n_batch, fresh, &err) < 0) {
            ax_log_warn("de-duplication failed, will retry|run=%s error=\"%s\"", run->id, err);
            free(err);
            return 0;
        }
        /* Compact the fresh papers to the front; count the others as duplicates. */
        size_t n = 0;
        for (size_t i = 0; i < run->n_batch; i++) {
            if (fresh[i]) {
                if (n != i) {
                    run->batch[n] = run->batch[i];
                    memset(&run->batch[i], 0, sizeof run->batch[i]);
                }
                n++;
            } else {
                run->duplicates++;
                ax_paper_clear(&run->batch[i]);
            }
        }
        if (n > 0) {
            s_job_t *job = calloc(1, sizeof *job);
            if (!job || !(job->ids = calloc(n, sizeof *job->ids)) ||
                !(job->subs = calloc(n, sizeof *job->subs))) {
                s_job_destroy(&job);
                return -1;
            }
            job->id = ++run->next_job;
            job->n = n;
            msgpack_sbuffer_init(&job->papers);
            s_sbuffer_reserve(&job->papers, s_papers_size_hint(run->batch, n));
            ax_pack_papers(&job->papers, run->batch, n);
            for (size_t i = 0; i < n; i++) {
                job->ids[i] = run->batch[i].id;    /* ownership moves to the job */
                run->batch[i].id = NULL;
                job->subs[i] = run->batch[i].submitted;
                ax_paper_clear(&run->batch[i]);
            }
            run->harvested += n;
            run->jobs_total++;
            s_pending_push(run, job, 0);
        }
        run->n_batch = 0;
    }
    if (run->harvest_done) {
        ax_source_stats_t st;
        ax_source_stats(run->source, &st);
        ax_log_info("harvest finished|run=%s harvested=%" PRIu64 " duplicates=%" PRIu64
                    " malformed=%" PRIu64 " filtered=%" PRIu64 " jobs=%" PRIu64,
                    run->id, run->harvested, run->duplicates, st.malformed, st.filtered,
                    run->jobs_total);
        s_run_publish(self, run, "dispatching");
    } else if (run->jobs_total % 16 == 1)
        s_run_publish(self, run, NULL);
    return 1;
}

/*  Activates the next queued run when none is active. */
static void s_run_next(ax_broker_t *self)
{
    if (self->active || self->n_queued == 0)
        return;
    self->active = self->queued[0];
    memmove(self->queued, self->queued + 1, --self->n_queued * sizeof *self->queued);
    self->active->started_ms = ax_now_ms();
    ax_log_info("run started|run=%s source=%s profiles=%zu", self->active->id,
                self->active->spec.source, self->active->spec.n_profiles);
    s_run_publish(self, self->active, "harvesting");
}

/*  A run is complete when it is harvested and every job is done or failed: tell the
 *  collector (ax:render) and move on. */
static void s_run_check_complete(ax_broker_t *self)
{
    s_run_t *run = self->active;
    if (!run || !run->harvest_done || run->n_pending || run->n_inflight)
        return;
    redisContext *c = s_redis(self);
    char key[300], *err = NULL;
    if (!c)
        return;
    ax_run_key(key, sizeof key, run->id, "");
    redisReply *r = ax_redis_cmd(c, &err, "HSET %s completed_ms %lld", key, (long long) ax_now_ms());
    if (r) {
        freeReplyObject(r);
        r = ax_redis_cmd(c, &err, "RPUSH ax:render %s", run->id);
    }
    if (!r) {
        ax_log_warn("cannot mark run collected, will retry|run=%s error=\"%s\"", run->id, err);
        free(err);
        return;
    }
    freeReplyObject(r);
    s_run_publish(self, run, "collected");
    ax_log_info("run collected|run=%s harvested=%" PRIu64 " jobs=%" PRIu64 " failed_jobs=%" PRIu64
                " seconds=%.1f",
                run->id, run->harvested, run->jobs_total, run->jobs_failed,
                (double) (ax_now_ms() - run->started_ms) / 1000.0);
    s_run_destroy(&self->active);
    s_run_next(self);
}

/* ---------------------------------------------------------------- workers */

static int s_worker_find(ax_broker_t *self, const ax_msg_t *msg)
{
    for (size_t i = 0; i < self->n_workers; i++)
        if (self->workers[i].identity_len == msg->identity_len &&
            memcmp(self->workers[i].identity, msg->identity, msg->identity_len) == 0)
            return (int) i;
    return -1;
}

static void s_worker_send(ax_broker_t *self, s_worker_t *w, const char *cmd, const void *body,
                          size_t len)
{
    if (ax_proto_send(self->jobs, w->identity, w->identity_len, cmd, body, len) < 0)
        ax_log_warn("send failed|worker=%s cmd=%s error=\"%s\"", w->name, cmd, zmq_strerror(errno));
    w->last_sent_ms = ax_mono_ms();
}

/*  Forgets worker i and re-queues the jobs it held. */
static void s_worker_remove(ax_broker_t *self, size_t i, const char *why)
{
    s_run_t *run = self->active;
    ax_log_warn("worker gone|worker=%s reason=\"%s\"", self->workers[i].name, why);
    for (size_t k = 0; run && k < run->n_inflight;) {
        s_job_t *job = run->inflight[k];
        if (job->worker == (int) i) {
            run->inflight[k] = run->inflight[--run->n_inflight];
            s_job_retry(self, run, job, why);
        } else {
            if (job->worker > (int) i)
                job->worker--;
            k++;
        }
    }
    free(self->workers[i].name);
    memmove(&self->workers[i], &self->workers[i + 1], (self->n_workers - i - 1) * sizeof *self->workers);
    self->n_workers--;
}

static void s_dispatch(ax_broker_t *self)
{
    s_run_t *run = self->active;
    while (run && run->pending_head && self->n_workers) {
        size_t k, w = 0;
        for (k = 0; k < self->n_workers; k++) {
            w = (self->rr + k) % self->n_workers;
            if (self->workers[w].credit > 0)
                break;
        }
        if (k == self->n_workers)
            return;                     /* nobody asked for more */
        self->rr = w + 1;
        if (run->n_inflight == run->cap_inflight) {
            size_t cap = run->cap_inflight ? run->cap_inflight * 2 : 16;
            s_job_t **p = realloc(run->inflight, cap * sizeof *p);
            if (!p)
                return;
            run->inflight = p;
            run->cap_inflight = cap;
        }
        s_job_t *job = s_pending_pop(run);
        job->attempt++;
        job->worker = (int) w;
        job->deadline_ms = ax_mono_ms() + self->t.lease_ms;
        run->inflight[run->n_inflight++] = job;
        msgpack_sbuffer body;
        msgpack_sbuffer_init(&body);
        s_sbuffer_reserve(&body, job->papers.size + run->profiles.size + 256);
        ax_job_encode(&body, run->id, job->id, job->attempt, (uint32_t) self->t.lease_ms,
                      &run->profiles, &job->papers);
        s_worker_t *wk = &self->workers[w];
        size_t size = body.size;
        if (ax_proto_send_owned(self->jobs, wk->identity, wk->identity_len, "JOB",
                                msgpack_sbuffer_release(&body), size) < 0)
            ax_log_warn("send failed|worker=%s cmd=JOB error=\"%s\"", wk->name, zmq_strerror(errno));
        wk->last_sent_ms = ax_mono_ms();
        self->workers[w].credit--;
    }
}

/*  DONE / FAIL / WORKING for (run, job). */
static void s_on_job_report(ax_broker_t *self, const char *cmd, const ax_ctl_t *ctl)
{
    s_run_t *run = self->active;
    if (!run || !ctl->run || strcmp(ctl->run, run->id) != 0) {
        ax_log_debug("report for an inactive run ignored|cmd=%s run=%s", cmd, ctl->run ? ctl->run : "-");
        return;
    }
    if (strcmp(cmd, "WORKING") == 0) {
        for (size_t i = 0; i < run->n_inflight; i++)
            if (run->inflight[i]->id == ctl->job)
                run->inflight[i]->deadline_ms = ax_mono_ms() + self->t.lease_ms;
        return;
    }
    s_job_t *job = s_job_take(run, ctl->job);
    if (!job)
        return;                         /* already done: results are idempotent */
    if (strcmp(cmd, "DONE") == 0) {
        run->jobs_done++;
        s_job_destroy(&job);
        if (run->jobs_done % 16 == 0 || run->harvest_done)
            s_run_publish(self, run, NULL);
    } else
        s_job_retry(self, run, job, ctl->reason ? ctl->reason : "worker reported failure");
}

static void s_on_worker_msg(ax_broker_t *self, ax_msg_t *msg)
{
    int i = s_worker_find(self, msg);
    size_t len;
    const char *body = ax_msg_body(msg, &len);
    ax_ctl_t ctl = {0};
    char *err = NULL;
    int is_hb = strcmp(msg->command, "HEARTBEAT") == 0, is_bye = strcmp(msg->command, "BYE") == 0;
    static const char *known[] = {"READY", "DONE", "FAIL", "WORKING", "HEARTBEAT", "BYE"};
    size_t k = 0;
    while (k < sizeof known / sizeof *known && strcmp(msg->command, known[k]) != 0)
        k++;
    if (k == sizeof known / sizeof *known) {
        ax_log_warn("unknown command dropped|peer=%s cmd=%s", ax_proto_peer(msg), msg->command);
        return;
    }
    if (!is_hb && !is_bye && ax_ctl_decode(body, len, &ctl, &err) < 0) {
        ax_log_warn("bad message dropped|peer=%s cmd=%s error=\"%s\"", ax_proto_peer(msg), msg->command,
                    err ? err : "?");
        free(err);
        return;
    }
    if (strcmp(msg->command, "READY") == 0) {
        if (i < 0) {
            if (self->n_workers == self->cap_workers) {
                size_t cap = self->cap_workers ? self->cap_workers * 2 : 8;
                s_worker_t *p = realloc(self->workers, cap * sizeof *p);
                if (!p)
                    goto done;
                self->workers = p;
                self->cap_workers = cap;
            }
            i = (int) self->n_workers++;
            s_worker_t *w = &self->workers[i];
            memset(w, 0, sizeof *w);
            memcpy(w->identity, msg->identity, msg->identity_len);
            w->identity_len = msg->identity_len;
            w->name = strdup(ctl.worker ? ctl.worker : ax_proto_peer(msg));
            w->last_sent_ms = ax_mono_ms();
            ax_log_info("worker joined|worker=%s credit=%u", w->name, ctl.credit);
        }
        self->workers[i].credit += ctl.credit;
    } else if (i < 0) {
        /* Unknown peer (we restarted, or it was declared dead): a DONE still counts,
         * then it must re-announce itself. */
        if (strcmp(msg->command, "DONE") == 0 || strcmp(msg->command, "FAIL") == 0)
            s_on_job_report(self, msg->command, &ctl);
        ax_proto_send(self->jobs, msg->identity, msg->identity_len, "RESET", NULL, 0);
        goto done;
    } else if (is_bye) {
        s_worker_remove(self, (size_t) i, "said BYE");
        goto done;
    } else if (!is_hb) {
        self->workers[i].credit += ctl.credit;
        s_on_job_report(self, msg->command, &ctl);
    }
    i = s_worker_find(self, msg);
    if (i >= 0)
        self->workers[i].last_seen_ms = ax_mono_ms();
done:
    ax_ctl_clear(&ctl);
}

/* ---------------------------------------------------------------- control */

static int s_spec_check(const ax_runspec_t *spec, char *why, size_t size)
{
    if (spec->n_profiles == 0)
        return snprintf(why, size, "a run needs at least one profile"), -1;
    for (size_t p = 0; p < spec->n_profiles; p++)
        if (!spec->profiles[p].name || !*spec->profiles[p].name ||
            strpbrk(spec->profiles[p].name, "{}/ \t\n"))
            return snprintf(why, size, "profile %zu: bad name", p), -1;
    return 0;
}

static char *s_new_run_id(void)
{
    char ts[32], *id = NULL;
    int64_t now = ax_now_ms();
    ax_time_format(now / 1000, "%Y%m%d-%H%M%S", ts, sizeof ts);
    unsigned rnd = (unsigned) (now ^ (getpid() << 16)) & 0xffff;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&rnd, sizeof rnd, 1, f) != 1)
            rnd ^= 0x5a5a;
        fclose(f);
    }
    if (asprintf(&id, "%s-%04x", ts, rnd & 0xffff) < 0)
        return NULL;
    return id;
}

/*  SUBMIT: validate, open the source (so a missing file is reported to the submitter),
 *  record the run in Redis and queue it. Replies OK {run} or ERROR {error}. */
static void s_on_submit(ax_broker_t *self, const char *body, size_t len, ax_ctl_t *reply)
{
    char why[512], *err = NULL;
    s_run_t *run = calloc(1, sizeof *run);
    redisContext *c = s_redis(self);
    if (!run) {
        reply->error = strdup("out of memory");
        return;
    }
    msgpack_sbuffer_init(&run->profiles);
    if (ax_runspec_decode(body, len, &run->spec, &err) < 0) {
        if (asprintf(&reply->error, "bad run spec: %s", err ? err : "?") < 0)
            reply->error = NULL;
        goto fail;
    }
    if (s_spec_check(&run->spec, why, sizeof why) < 0) {
        reply->error = strdup(why);
        goto fail;
    }
    if (!(run->source = ax_source_open(&run->spec, &err))) {
        reply->error = err;
        err = NULL;
        goto fail;
    }
    if (!c) {
        reply->error = strdup("redis unreachable: cannot record the run");
        goto fail;
    }
    ax_pack_profiles(&run->profiles, run->spec.profiles, run->spec.n_profiles);
    run->id = s_new_run_id();
    run->state = "queued";
    msgpack_sbuffer spec;
    msgpack_sbuffer_init(&spec);
    ax_runspec_encode(&spec, &run->spec);
    char key[300];
    ax_run_key(key, sizeof key, run->id, "");
    long long now = (long long) ax_now_ms();
    redisReply *r = ax_redis_cmd(c, &err, "HSET %s state queued spec %b source %s created_ms %lld",
                                 key, spec.data, spec.size, run->spec.source, now);
    msgpack_sbuffer_destroy(&spec);
    if (r) {
        freeReplyObject(r);
        r = ax_redis_cmd(c, &err, "ZADD ax:runs %lld %s", now, run->id);
    }
    if (!r) {
        reply->error = err;
        err = NULL;
        goto fail;
    }
    freeReplyObject(r);
    s_run_t **q = realloc(self->queued, (self->n_queued + 1) * sizeof *q);
    if (!q) {
        reply->error = strdup("out of memory");
        goto fail;
    }
    self->queued = q;
    self->queued[self->n_queued++] = run;
    reply->run = strdup(run->id);
    ax_log_info("run submitted|run=%s source=%s categories=%zu from=%s to=%s", run->id,
                run->spec.source, run->spec.n_categories, run->spec.from ? run->spec.from : "-",
                run->spec.to ? run->spec.to : "-");
    s_run_next(self);
    return;
fail:
    free(err);
    s_run_destroy(&run);
}

/*  STATUS {run}: the run's state as recorded in Redis; without a run, the active one's. */
static void s_on_status(ax_broker_t *self, const char *body, size_t len, ax_ctl_t *reply)
{
    ax_ctl_t req = {0};
    char *err = NULL, key[300];
    redisContext *c = s_redis(self);
    if (body && ax_ctl_decode(body, len, &req, &err) < 0) {
        if (asprintf(&reply->error, "bad STATUS body: %s", err ? err : "?") < 0)
            reply->error = NULL;
        free(err);
        return;
    }
    const char *run = req.run ? req.run : self->active ? self->active->id : NULL;
    if (!run)
        reply->state = strdup("idle");
    else if (!c)
        reply->error = strdup("redis unreachable");
    else {
        redisReply *r = ax_redis_cmd(c, &err, "HGET %s state", ax_run_key(key, sizeof key, run, ""));
        if (r && r->type == REDIS_REPLY_STRING) {
            reply->run = strdup(run);
            reply->state = strdup(r->str);
        } else if (asprintf(&reply->error, "run %s: %s", run, err ? err : "not found") < 0)
            reply->error = NULL;
        freeReplyObject(r);
        free(err);
    }
    ax_ctl_clear(&req);
}

static void s_on_control(ax_broker_t *self)
{
    ax_msg_t msg;
    char *err = NULL;
    int rc = ax_proto_recv(self->control, 0, &msg, &err);
    if (rc == 0)
        return;
    ax_ctl_t reply = {0};
    if (rc < 0) {
        reply.error = err ? err : strdup("malformed request");
        err = NULL;
    } else if (strcmp(msg.command, "SUBMIT") == 0) {
        size_t len;
        const char *body = ax_msg_body(&msg, &len);
        s_on_submit(self, body, len, &reply);
    } else if (strcmp(msg.command, "STATUS") == 0) {
        size_t len;
        const char *body = ax_msg_body(&msg, &len);
        s_on_status(self, body, len, &reply);
    } else
        reply.error = strdup("unknown command");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_ctl_encode(&sb, &reply);
    /* REP must answer every request, or the socket is stuck. */
    if (ax_proto_send(self->control, NULL, 0, reply.error ? "ERROR" : "OK", sb.data, sb.size) < 0)
        ax_log_warn("control reply failed|error=\"%s\"", zmq_strerror(errno));
    msgpack_sbuffer_destroy(&sb);
    ax_ctl_clear(&reply);
    ax_msg_close(&msg);
    free(err);
}

/* ---------------------------------------------------------------- timers */

static void s_check_leases_and_heartbeats(ax_broker_t *self)
{
    int64_t now = ax_mono_ms();
    s_run_t *run = self->active;
    for (size_t k = 0; run && k < run->n_inflight;) {
        s_job_t *job = run->inflight[k];
        if (now > job->deadline_ms) {
            run->inflight[k] = run->inflight[--run->n_inflight];
            s_job_retry(self, run, job, "lease expired");
        } else
            k++;
    }
    for (size_t i = 0; i < self->n_workers;) {
        s_worker_t *w = &self->workers[i];
        if (now - w->last_seen_ms > (int64_t) self->t.heartbeat_ms * self->t.liveness) {
            s_worker_remove(self, i, "heartbeat lost");
            continue;
        }
        if (now - w->last_sent_ms >= self->t.heartbeat_ms)
            s_worker_send(self, w, "HEARTBEAT", NULL, 0);
        i++;
    }
}

int ax_broker_run(ax_broker_t *self)
{
    int64_t last_tick = 0;
    while (!ax_stop_requested) {
        s_run_t *run = self->active;
        /* Harvest only a bounded window ahead of the workers. */
        uint32_t credit = 0;
        for (size_t i = 0; i < self->n_workers; i++)
            credit += self->workers[i].credit;
        size_t window = 2 * (size_t) credit + 8;
        int busy = 0;
        if (run && !run->harvest_done && run->n_pending < window) {
            int rc = s_harvest_step(self, run);
            if (rc < 0) {
                char key[300], *err = NULL;
                ax_run_key(key, sizeof key, run->id, "");
                redisContext *c = s_redis(self);
                redisReply *r = c ? ax_redis_cmd(c, &err, "HSET %s state failed error %s", key,
                                                 ax_source_error(run->source) ? ax_source_error(run->source)
                                                                              : "harvest failed")
                                  : NULL;
                freeReplyObject(r);
                free(err);
                s_run_destroy(&self->active);
                s_run_next(self);
                continue;
            }
            busy = rc > 0;
        }
        s_dispatch(self);
        zmq_pollitem_t items[] = {{self->jobs, 0, ZMQ_POLLIN, 0}, {self->control, 0, ZMQ_POLLIN, 0}};
        int timeout = busy ? 0 : 100;
        if (zmq_poll(items, 2, timeout) < 0 && errno != EINTR) {
            ax_log_error("poll failed|error=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            for (int n = 0; n < 1000; n++) {
                ax_msg_t msg;
                char *err = NULL;
                int rc = ax_proto_recv(self->jobs, 1, &msg, &err);
                if (rc == 0)
                    break;
                if (rc < 0) {
                    ax_log_warn("garbage dropped|socket=jobs peer=%s error=\"%s\"", ax_proto_peer(&msg),
                                err ? err : "?");
                    free(err);
                    continue;
                }
                s_on_worker_msg(self, &msg);
                ax_msg_close(&msg);
            }
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_on_control(self);
        int64_t now = ax_mono_ms();
        if (now - last_tick >= 100) {
            last_tick = now;
            s_check_leases_and_heartbeats(self);
        }
        s_run_check_complete(self);
    }
    ax_log_info("broker stopping");
    return 0;
}

ax_broker_t *ax_broker_new(const ax_config_t *cfg, const ax_broker_timing_t *timing, char **err)
{
    ax_broker_t *self = calloc(1, sizeof *self);
    *err = NULL;
    if (!self)
        return NULL;
    self->t.lease_ms = (int) s_env_int("AX_LEASE_MS", timing ? timing->lease_ms : AX_BROKER_LEASE_MS);
    self->t.heartbeat_ms = (int) s_env_int("AX_HEARTBEAT_MS", timing ? timing->heartbeat_ms : AX_HEARTBEAT_MS);
    self->t.liveness = (int) s_env_int("AX_LIVENESS", timing ? timing->liveness : AX_LIVENESS);
    self->t.max_attempts = (int) s_env_int("AX_MAX_ATTEMPTS", timing ? timing->max_attempts : AX_MAX_ATTEMPTS);
    self->job_size = (uint32_t) cfg->broker.job_size;
    self->zmq = zmq_ctx_new();
    if (!self->zmq)
        goto fail;
    self->jobs = zmq_socket(self->zmq, ZMQ_ROUTER);
    self->control = zmq_socket(self->zmq, ZMQ_REP);
    int linger = 0, mandatory = 1;
    if (!self->jobs || !self->control)
        goto fail;
    zmq_setsockopt(self->jobs, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->control, ZMQ_LINGER, &linger, sizeof linger);
    /* Unroutable sends fail instead of vanishing, so a JOB to a gone worker is noticed. */
    zmq_setsockopt(self->jobs, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
    if (zmq_bind(self->jobs, cfg->broker.bind) < 0) {
        if (asprintf(err, "broker.bind: cannot bind %s: %s", cfg->broker.bind, zmq_strerror(errno)) < 0)
            *err = NULL;
        goto fail;
    }
    if (zmq_bind(self->control, cfg->broker.control) < 0) {
        if (asprintf(err, "broker.control: cannot bind %s: %s", cfg->broker.control, zmq_strerror(errno)) < 0)
            *err = NULL;
        goto fail;
    }
    if (ax_redis_link_init(&self->redis, cfg->redis.url, err) < 0)
        goto fail;
    ax_log_info("broker ready|bind=%s control=%s lease_ms=%d heartbeat_ms=%d", cfg->broker.bind,
                cfg->broker.control, self->t.lease_ms, self->t.heartbeat_ms);
    return self;
fail:
    if (!*err)
        *err = strdup("out of memory");
    ax_broker_destroy(&self);
    return NULL;
}

void ax_broker_destroy(ax_broker_t **self_p)
{
    ax_broker_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    s_run_destroy(&self->active);
    for (size_t i = 0; i < self->n_queued; i++)
        s_run_destroy(&self->queued[i]);
    free(self->queued);
    for (size_t i = 0; i < self->n_workers; i++)
        free(self->workers[i].name);
    free(self->workers);
    if (self->jobs)
        zmq_close(self->jobs);
    if (self->control)
        zmq_close(self->control);
    if (self->zmq)
        zmq_ctx_term(self->zmq);
    ax_redis_link_close(&self->redis);
    free(self);
    *self_p = NULL;
}
