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
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "daemon.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "run.h"
#include "run_store.h"
#include "source.h"
#include "store.h"
#include "text.h"

typedef struct {
    unsigned char identity[AX_PROTO_MAX_IDENTITY];
    size_t identity_len;
    char *name;
    uint32_t credit;
    int heartbeat_ms;               /* the worker's own interval (READY hb), else ours */
    int64_t last_seen_ms, last_sent_ms;
} s_worker_t;

struct ax_broker {
    void *zmq;
    void *jobs;                     /* ROUTER */
    void *control;                  /* REP */
    ax_curve_t *curve;              /* CURVE keys and the ZAP allow-list (curve.h) */
    ax_redis_link_t redis;
    ax_lease_t lease;               /* on the namespace: only its holder works it (lease.h) */
    int standby;                    /* broker.standby: wait while another broker holds it */
    int bound;                      /* the jobs socket is bound (once the lease is ours) */
    int ready;                      /* ... and the unfinished runs are loaded: we work */
    int64_t resume_at_ms;           /* monotonic: next try at loading them, after a failed one */
    char *bind;                     /* broker.bind */
    struct {
        int lease_ms, heartbeat_ms, liveness, max_attempts;
    } t;
    ax_run_bounds_t bounds;         /* job size in papers (the run's may differ) and bytes */
    const ax_arxiv_cfg_t *arxiv;    /* the live sources' settings (the config outlives us) */
    s_worker_t *workers;
    size_t n_workers, cap_workers, rr;
    ax_run_t *active;
    ax_run_t **queued;
    size_t n_queued;
};

/* ---------------------------------------------------------------- Redis */

static redisContext *s_redis(ax_broker_t *self)
{
    return ax_redis_link_get(&self->redis);
}

/* ---------------------------------------------------------------- runs */

/*  Puts a job back in the queue after a failed attempt, or finishes it as failed (its
 *  papers recorded failed) after max_attempts. */
static void s_job_retry(ax_broker_t *self, ax_run_t *run, ax_run_job_t *job, const char *why)
{
    free(job->last_error);
    job->last_error = strdup(why);
    ax_run_save_attempt(run, s_redis(self), job);
    if (job->attempt < (uint32_t) self->t.max_attempts) {
        ax_log_warn("job re-queued|run=%s job=%" PRIu64 " attempt=%u reason=\"%s\"", run->id, job->id,
                    job->attempt, why);
        ax_metrics_add("arxdigest_broker_jobs_requeued_total", NULL, 1);
        ax_run_push(run, job, 1);
        return;
    }
    uint64_t id = job->id;
    size_t n = job->n;
    if (ax_run_finish(run, s_redis(self), job, 1) < 0) {
        /* Redis is down: keep the job queued so its papers are recorded later. */
        job->attempt--;
        ax_run_push(run, job, 0);
        return;
    }
    ax_log_error("job failed for good|run=%s job=%" PRIu64 " papers=%zu reason=\"%s\"", run->id, id, n, why);
}

static void s_run_next(ax_broker_t *self);

/*  The active run cannot go on (its source failed): record why and move on. */
static void s_run_fail(ax_broker_t *self, const char *why)
{
    char *err = NULL;
    ax_run_t *run = self->active;
    redisContext *c = s_redis(self);
    why = why && *why ? why : "harvest failed";
    ax_log_error("run failed|run=%s error=\"%s\"", run->id, why);
    ax_metrics_add("arxdigest_broker_runs_total", "state=\"failed\"", 1);
    if (c && ax_run_store_fail(c, run->id, why, &err) < 0)
        ax_log_warn("cannot record the run failed|run=%s error=\"%s\"", run->id, err ? err : "?");
    free(err);
    ax_run_destroy(&self->active);
    s_run_next(self);
}

/*  Activates the next queued run when none is active. */
static void s_run_next(ax_broker_t *self)
{
    if (self->active || self->n_queued == 0)
        return;
    self->active = self->queued[0];
    memmove(self->queued, self->queued + 1, --self->n_queued * sizeof *self->queued);
    self->active->started_ms = ax_now_ms();
    ax_log_info("run started|run=%s source=%s profiles=%zu", self->active->id, self->active->spec.source,
                self->active->spec.n_profiles);
    redisContext *c = s_redis(self);
    if (c && self->active->state == AX_RUN_STATE_QUEUED)
        ax_run_publish(self->active, c, AX_RUN_STATE_HARVESTING);
}

/*  A run is complete when it is harvested and every job is finished and recorded: tell
 *  the collector (NS:render) and move on. */
static void s_run_check_complete(ax_broker_t *self)
{
    ax_run_t *run = self->active;
    redisContext *c = s_redis(self);
    if (!run || !c)
        return;
    ax_run_flush(run, c);
    if (!ax_run_complete(run))
        return;
    char *err = NULL;
    if (ax_run_store_collected(c, run->id, ax_now_ms(), &err) < 0) {
        ax_log_warn("cannot mark run collected, will retry|run=%s error=\"%s\"", run->id, err ? err : "?");
        free(err);
        return;
    }
    run->state = AX_RUN_STATE_COLLECTED;
    ax_metrics_add("arxdigest_broker_runs_total", "state=\"collected\"", 1);
    ax_log_info("run collected|run=%s harvested=%" PRIu64 " jobs=%" PRIu64 " failed_jobs=%" PRIu64 " seconds=%.1f",
                run->id, run->n.harvested, run->n.jobs_total, run->n.jobs_failed,
                (double) (ax_now_ms() - run->started_ms) / 1000.0);
    ax_run_destroy(&self->active);
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

static void s_worker_send(ax_broker_t *self, s_worker_t *w, ax_cmd_t cmd, const void *body, size_t len)
{
    if (ax_proto_send(self->jobs, w->identity, w->identity_len, cmd, body, len) < 0)
        ax_log_warn("send failed|worker=%s cmd=%s error=\"%s\"", w->name, ax_cmd_name(cmd), zmq_strerror(errno));
    w->last_sent_ms = ax_mono_ms();
}

/*  Worker i said BYE: the jobs it held go back to the front of the queue at once. A
 *  hand-back is not a failed dispatch, so it does not count towards max_attempts. */
static void s_worker_handback(ax_broker_t *self, size_t i)
{
    ax_run_t *run = self->active;
    for (size_t k = 0; run && k < run->n_inflight;) {
        ax_run_job_t *job = run->inflight[k];
        if (job->worker != (int) i) {
            k++;
            continue;
        }
        run->inflight[k] = run->inflight[--run->n_inflight];
        if (job->attempt > 0)
            job->attempt--;
        ax_log_info("job handed back|run=%s job=%" PRIu64 " worker=%s", run->id, job->id, self->workers[i].name);
        ax_metrics_add("arxdigest_broker_jobs_handed_back_total", NULL, 1);
        ax_run_push(run, job, 1);
    }
}

/*  Forgets worker i and re-queues the jobs it held. */
static void s_worker_remove(ax_broker_t *self, size_t i, const char *why)
{
    ax_run_t *run = self->active;
    ax_log_warn("worker gone|worker=%s reason=\"%s\"", self->workers[i].name, why);
    for (size_t k = 0; run && k < run->n_inflight;) {
        ax_run_job_t *job = run->inflight[k];
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

/*  A fresh lease token: 64 random bits, never 0 (0 stands for "none"). -1 when the
 *  system has no randomness to give (the job then waits for the next turn). */
static int s_lease_token(uint64_t *token)
{
    do {
        if (getrandom(token, sizeof *token, GRND_NONBLOCK) != (ssize_t) sizeof *token)
            return -1;
    } while (*token == 0);
    return 0;
}

static void s_dispatch(ax_broker_t *self)
{
    ax_run_t *run = self->active;
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
        ax_run_job_t *job = ax_run_pop(run);
        if (s_lease_token(&job->lease) < 0 || ax_run_lease(run, job) < 0) {
            ax_run_push(run, job, 1);
            return;
        }
        job->attempt++;
        job->worker = (int) w;
        job->deadline_ms = ax_mono_ms() + self->t.lease_ms;
        msgpack_sbuffer body;
        msgpack_sbuffer_init(&body);
        body.data = malloc(job->papers.size + run->profiles.size + 256);
        body.alloc = body.data ? job->papers.size + run->profiles.size + 256 : 0;
        ax_job_encode(&body, run->id, job->id, job->attempt, (uint32_t) self->t.lease_ms, job->lease,
                      &run->profiles, &job->papers);
        s_worker_t *wk = &self->workers[w];
        size_t size = body.size;
        if (ax_proto_send_owned(self->jobs, wk->identity, wk->identity_len, AX_CMD_JOB,
                                msgpack_sbuffer_release(&body), size) < 0)
            ax_log_warn("send failed|worker=%s cmd=JOB error=\"%s\"", wk->name, zmq_strerror(errno));
        wk->last_sent_ms = ax_mono_ms();
        self->workers[w].credit--;
    }
}

/*  The job a WORKING / DONE / FAIL names, when its sender holds the job's lease: the
 *  job is in flight (or, with pending_ok, re-queued since its lease ran out: its results
 *  may well be stored) and the report echoes the token of its last JOB. Whoever sends
 *  the report, on whatever connection (a worker that reconnected has a new identity), the
 *  token is what proves the job was leased to it. NULL otherwise. */
static ax_run_job_t *s_leased_job(ax_run_t *run, const ax_ctl_t *ctl, int pending_ok)
{
    if (ctl->lease == 0)
        return NULL;
    for (size_t i = 0; i < run->n_inflight; i++)
        if (run->inflight[i]->id == ctl->job)
            return run->inflight[i]->lease == ctl->lease ? run->inflight[i] : NULL;
    for (ax_run_job_t *job = run->pending_head; pending_ok && job; job = job->next)
        if (job->id == ctl->job)
            return job->lease == ctl->lease ? job : NULL;
    return NULL;
}

/*  A report without the lease of its job: not the worker's to make (a forged message, or
 *  a stale one from a worker whose lease ran out and was given to another). Changes
 *  nothing; logged (at most one line a second) and counted. */
static void s_report_refused(ax_cmd_t cmd, const ax_ctl_t *ctl, const char *peer)
{
    static ax_log_quota_t quota;
    unsigned skipped;
    char labels[64];
    snprintf(labels, sizeof labels, "cmd=\"%s\"", ax_cmd_name(cmd));
    ax_metrics_add("arxdigest_broker_reports_refused_total", labels, 1);
    if (ax_log_quota(&quota, 1000, &skipped))
        ax_log_info("report without the job's lease ignored|cmd=%s run=%s job=%" PRIu64 " peer=%s not_logged=%u",
                    ax_cmd_name(cmd), ctl->run, ctl->job, peer, skipped);
}

/*  DONE / FAIL / WORKING for (run, job), from whoever holds the job's lease (protocol.md
 *  section 3): WORKING extends the lease, DONE finishes the job, FAIL re-queues it or, with
 *  state "fatal", fails the whole run. */
static void s_on_job_report(ax_broker_t *self, ax_cmd_t cmd, const ax_ctl_t *ctl, const char *peer)
{
    ax_run_t *run = self->active;
    if (!run || strcmp(ctl->run, run->id) != 0) {
        ax_log_debug("report for an inactive run ignored|cmd=%s run=%s", ax_cmd_name(cmd), ctl->run);
        return;
    }
    int is_done = cmd == AX_CMD_DONE;
    ax_run_job_t *job = s_leased_job(run, ctl, is_done);
    if (!job) {
        s_report_refused(cmd, ctl, peer);
        return;
    }
    if (cmd == AX_CMD_WORKING) {
        job->deadline_ms = ax_mono_ms() + self->t.lease_ms;
        return;
    }
    if (!is_done && ctl->state && strcmp(ctl->state, "fatal") == 0) {
        /* The LLM refuses the whole run (wrong key, no quota): stop it with that message. */
        char why[600];
        snprintf(why, sizeof why, "LLM: %s", ctl->reason ? ctl->reason : "fatal error");
        s_run_fail(self, why);
        return;
    }
    job = ax_run_take(run, ctl->job);
    if (is_done)
        ax_run_finish(run, s_redis(self), job, 0);     /* cannot fail: not a failed job */
    else
        s_job_retry(self, run, job, ctl->reason ? ctl->reason : "worker reported failure");
}

/*  READY from a peer we do not know: it becomes worker i (returned), or -1 on OOM. */
static int s_worker_join(ax_broker_t *self, const ax_msg_t *msg)
{
    const ax_ctl_t *ctl = &msg->body.ctl;
    if (self->n_workers == self->cap_workers) {
        size_t cap = self->cap_workers ? self->cap_workers * 2 : 8;
        s_worker_t *p = realloc(self->workers, cap * sizeof *p);
        if (!p)
            return -1;
        self->workers = p;
        self->cap_workers = cap;
    }
    s_worker_t *w = &self->workers[self->n_workers];
    memset(w, 0, sizeof *w);
    memcpy(w->identity, msg->identity, msg->identity_len);
    w->identity_len = msg->identity_len;
    w->name = strdup(ctl->worker);
    w->last_sent_ms = ax_mono_ms();
    ax_log_info("worker joined|worker=%s credit=%u heartbeat_ms=%u", w->name, ctl->credit, ctl->heartbeat_ms);
    return (int) self->n_workers++;
}

/*  A message from a worker: a command the jobs socket receives, its body checked
 *  (proto.h). READY registers a new peer; any other command from a peer we do not know is
 *  answered RESET, after a DONE or FAIL with its job's lease is counted. */
static void s_on_worker_msg(ax_broker_t *self, ax_msg_t *msg)
{
    int i = s_worker_find(self, msg);
    const ax_ctl_t *ctl = &msg->body.ctl;       /* all 0 for HEARTBEAT and BYE */
    if (i < 0 && msg->cmd != AX_CMD_READY) {
        /* Unknown peer (it reconnected with a new identity, or was declared dead): a DONE
         * or FAIL that carries its job's lease still counts, then it must re-announce
         * itself. */
        if (msg->cmd == AX_CMD_DONE || msg->cmd == AX_CMD_FAIL)
            s_on_job_report(self, msg->cmd, ctl, ax_proto_peer(msg));
        ax_proto_send(self->jobs, msg->identity, msg->identity_len, AX_CMD_RESET, NULL, 0);
        return;
    }
    switch (msg->cmd) {
    case AX_CMD_READY:
        if (i < 0 && (i = s_worker_join(self, msg)) < 0)
            return;
        self->workers[i].credit += ctl->credit;
        if (ctl->heartbeat_ms)
            self->workers[i].heartbeat_ms = (int) ctl->heartbeat_ms;
        break;
    case AX_CMD_BYE:
        s_worker_handback(self, (size_t) i);
        s_worker_remove(self, (size_t) i, "said BYE");
        return;
    case AX_CMD_WORKING:
    case AX_CMD_DONE:
    case AX_CMD_FAIL:
        self->workers[i].credit += ctl->credit;
        s_on_job_report(self, msg->cmd, ctl, self->workers[i].name);
        break;
    default:                                    /* HEARTBEAT: only a sign of life */
        break;
    }
    i = s_worker_find(self, msg);
    if (i >= 0)
        self->workers[i].last_seen_ms = ax_mono_ms();
}

/* ---------------------------------------------------------------- control */

/*  Adds a run to the queue (and activates it when the broker is idle). -1 on OOM. */
static int s_enqueue(ax_broker_t *self, ax_run_t *run)
{
    ax_run_t **q = realloc(self->queued, (self->n_queued + 1) * sizeof *q);
    if (!q)
        return -1;
    self->queued = q;
    self->queued[self->n_queued++] = run;
    s_run_next(self);
    return 0;
}

/*  Why this broker takes no run now (caller frees), or NULL when it does: it must work
 *  the namespace (hold its lease, runs loaded) and reach Redis. Answered at once, so a
 *  submitter never waits on a broker that cannot record its run. */
static char *s_not_working(ax_broker_t *self, redisContext *c)
{
    char *why = NULL;
    int rc = 0;
    if (self->lease.state == AX_LEASE_TAKEN)
        rc = asprintf(&why, "standby: broker %s works namespace %s", self->lease.holder,
                      ax_store_namespace());
    else if (!c)
        rc = asprintf(&why, "redis unreachable: the broker cannot record runs until Redis is back");
    else if (!self->ready || !ax_lease_valid(&self->lease, ax_mono_ms()))
        rc = asprintf(&why, "the broker is starting or re-checking its lease: try again in a moment");
    return rc < 0 ? strdup("out of memory") : why;
}

/*  SUBMIT: validate, check the source (a snapshot that is missing, unreadable or not a
 *  regular file is reported to the submitter here: a stat(), never an open, which a
 *  FIFO would block), record the run in Redis and queue it. A request id seen before
 *  gets the run it created; past the request's deadline nothing is created (run.c).
 *  Replies OK {run} or ERROR {error}. The file itself is opened and read on the
 *  source's own thread. spec (the request's, checked by proto.h) is taken by the run it
 *  creates (zeroed), else left to the caller. */
static void s_on_submit(ax_broker_t *self, ax_runspec_t *spec, ax_ctl_t *reply)
{
    char *err = NULL;
    redisContext *c = s_redis(self);
    reply->error = s_not_working(self, c);
    if (!reply->error && spec->request) {
        int rc = ax_run_store_by_request(c, spec->request, &reply->run, &err);
        if (rc < 0)
            reply->error = err ? err : strdup("out of memory");
        else if (rc == 1)
            ax_log_info("run submitted again, same run|run=%s request=%s", reply->run, spec->request);
    }
    if (reply->error || reply->run)
        return;
    ax_run_t *run = ax_run_create(c, spec, self->arxiv, &err);
    if (!run) {
        reply->error = err ? err : strdup("cannot create the run");
        return;
    }
    ax_log_info("run submitted|run=%s source=%s categories=%zu from=%s to=%s", run->id, run->spec.source,
                run->spec.n_categories, run->spec.from ? run->spec.from : "-", run->spec.to ? run->spec.to : "-");
    reply->run = strdup(run->id);
    if (s_enqueue(self, run) < 0) {
        free(reply->run);
        reply->run = NULL;
        reply->error = strdup("out of memory");
        ax_run_destroy(&run);
    }
}

/*  STATUS {run}: the run's state as recorded in Redis; without a run, the active one's. */
static void s_on_status(ax_broker_t *self, const ax_ctl_t *req, ax_ctl_t *reply)
{
    char *err = NULL;
    redisContext *c = s_redis(self);
    const char *run = req->run ? req->run : self->active ? self->active->id : NULL;
    if (!run)
        reply->state = strdup(self->lease.state == AX_LEASE_TAKEN ? "standby"
                              : self->ready                      ? "idle"
                                                                 : "starting");
    else if (!c)
        reply->error = strdup("redis unreachable");
    else {
        ax_run_state_t state;
        if (ax_run_store_state(c, run, &state, &err) == 1) {
            reply->run = strdup(run);
            reply->state = strdup(ax_run_state_name(state));
        } else if (asprintf(&reply->error, "run %s: %s", run, err ? err : "not found") < 0)
            reply->error = NULL;
        free(err);
    }
}

/*  One control request, answered at once: OK or ERROR. A request dropped by proto.h (bad
 *  frames, a body that does not decode, a required key missing) is answered ERROR with
 *  what was wrong. */
static void s_on_control(ax_broker_t *self)
{
    ax_msg_t msg;
    ax_drop_info_t drop;
    int rc = ax_proto_recv(self->control, AX_END_CONTROL, &msg, &drop);
    if (rc == 0)
        return;
    ax_ctl_t reply = {0};
    if (rc < 0)
        reply.error = strdup(drop.error);
    else if (msg.cmd == AX_CMD_SUBMIT)
        s_on_submit(self, &msg.body.spec, &reply);
    else                                        /* STATUS: the only other one the socket receives */
        s_on_status(self, &msg.body.ctl, &reply);
    /* REP must answer every request, or the socket is stuck. */
    if (ax_proto_send_ctl(self->control, NULL, 0, reply.error ? AX_CMD_ERROR : AX_CMD_OK, &reply) < 0)
        ax_log_warn("control reply failed|error=\"%s\"", zmq_strerror(errno));
    ax_ctl_clear(&reply);
    ax_msg_close(&msg);
}

/* ---------------------------------------------------------------- timers */

static void s_check_leases_and_heartbeats(ax_broker_t *self)
{
    int64_t now = ax_mono_ms();
    ax_run_t *run = self->active;
    for (size_t k = 0; run && k < run->n_inflight;) {
        ax_run_job_t *job = run->inflight[k];
        if (now > job->deadline_ms) {
            run->inflight[k] = run->inflight[--run->n_inflight];
            s_job_retry(self, run, job, "lease expired");
        } else
            k++;
    }
    for (size_t i = 0; i < self->n_workers;) {
        s_worker_t *w = &self->workers[i];
        /* Judged by the slower of the two intervals, so differently configured peers
         * never declare each other dead while both are alive. */
        int64_t interval = w->heartbeat_ms > self->t.heartbeat_ms ? w->heartbeat_ms : self->t.heartbeat_ms;
        if (now - w->last_seen_ms > interval * self->t.liveness) {
            s_worker_remove(self, i, "heartbeat lost");
            continue;
        }
        /* ... and heartbeated at the faster one, so it never thinks us dead either. */
        if (now - w->last_sent_ms >= (w->heartbeat_ms < self->t.heartbeat_ms ? w->heartbeat_ms : self->t.heartbeat_ms))
            s_worker_send(self, w, AX_CMD_HEARTBEAT, NULL, 0);
        i++;
    }
}

/*  The broker's gauges for /metrics, sampled every tick (100 ms). */
static void s_metrics_gauges(ax_broker_t *self)
{
    ax_run_t *run = self->active;
    ax_metrics_set("arxdigest_broker_workers", NULL, (double) self->n_workers);
    ax_metrics_set("arxdigest_broker_jobs_queued", NULL, run ? (double) run->n_pending : 0);
    ax_metrics_set("arxdigest_broker_jobs_in_flight", NULL, run ? (double) run->n_inflight : 0);
    ax_metrics_set("arxdigest_broker_runs_active", NULL, run ? 1 : 0);
    ax_metrics_set("arxdigest_broker_runs_waiting", NULL, (double) self->n_queued);
}

/*  NS:broker: what `arxdigest status` shows of the broker (workers alive, jobs in
 *  flight and queued), refreshed every second. Best effort: a failure is retried. */
static void s_publish_broker(ax_broker_t *self)
{
    redisContext *c = s_redis(self);
    ax_run_t *run = self->active;
    if (!c)
        return;
    ax_run_store_broker_t b = {.workers = (int64_t) self->n_workers,
                               .jobs_inflight = run ? (int64_t) run->n_inflight : 0,
                               .jobs_queued = run ? (int64_t) run->n_pending : 0,
                               .runs_waiting = (int64_t) self->n_queued,
                               .updated_ms = ax_now_ms(),
                               .pid = (int64_t) getpid()};
    snprintf(b.run, sizeof b.run, "%s", run ? run->id : "");
    snprintf(b.id, sizeof b.id, "%s", self->lease.id);
    ax_run_store_put_broker(c, &b, NULL);
}

/* ---------------------------------------------------------------- the namespace */

/*  The lease is ours: bind the jobs socket (once) and resume what a previous broker
 *  left unfinished: every unfinished run or, when Redis fails on the way, none of them
 *  yet (tried again a second later, until it works). 0 / -1 fatal. */
static int s_activate(ax_broker_t *self, redisContext *c)
{
    char *err = NULL;
    if (ax_mono_ms() < self->resume_at_ms)
        return 0;
    if (!self->bound && zmq_bind(self->jobs, self->bind) < 0) {
        ax_log_error("cannot bind the jobs socket|bind=%s error=\"%s\"", self->bind, zmq_strerror(errno));
        return -1;
    }
    self->bound = 1;
    size_t n_runs = 0;
    ax_run_t **runs = ax_run_load_all(c, self->arxiv, &n_runs, &err);
    if (!runs) {
        ax_log_warn("cannot load the unfinished runs, will retry|error=\"%s\"", err ? err : "?");
        free(err);
        self->resume_at_ms = ax_mono_ms() + 1000;
        return 0;
    }
    for (size_t i = 0; i < n_runs; i++)
        if (s_enqueue(self, runs[i]) < 0) {
            while (i < n_runs)
                ax_run_destroy(&runs[i++]);
            free(runs);
            return -1;
        }
    free(runs);
    self->ready = 1;
    ax_log_info("broker ready|bind=%s namespace=%s id=%s lease_ms=%d heartbeat_ms=%d", self->bind,
                ax_store_namespace(), self->lease.id, self->t.lease_ms, self->t.heartbeat_ms);
    return 0;
}

/*  Takes or renews the namespace lease (lease.h) and acts on the answer: works the
 *  namespace once it is ours, stands by (one log line per holder) while another broker
 *  holds it. -1 = stop now: the lease was lost (another broker works our runs), or it
 *  is taken and broker.standby is false, or the jobs socket cannot be bound. */
static int s_lease_turn(ax_broker_t *self)
{
    redisContext *c = s_redis(self);
    char before[sizeof self->lease.holder];
    memcpy(before, self->lease.holder, sizeof before);
    ax_lease_state_t was = self->lease.state;
    switch (ax_lease_tick(&self->lease, c, ax_mono_ms())) {
    case AX_LEASE_LOST:
        ax_log_error("namespace lease lost, stopping: another broker works this namespace|namespace=%s id=%s",
                     ax_store_namespace(), self->lease.id);
        return -1;
    case AX_LEASE_TAKEN:
        if (!self->standby) {
            ax_log_error("another broker works this namespace and broker.standby is false"
                         "|namespace=%s holder=%s", ax_store_namespace(), self->lease.holder);
            return -1;
        }
        if (was != AX_LEASE_TAKEN || strcmp(before, self->lease.holder) != 0)
            ax_log_info("another broker works this namespace, standing by|namespace=%s holder=%s",
                        ax_store_namespace(), self->lease.holder);
        return 0;
    case AX_LEASE_HELD:
        return self->ready || !c ? 0 : s_activate(self, c);
    default:
        return 0;
    }
}

/*  One turn of a broker that does not work the namespace (yet): it serves the control
 *  socket only, and a SUBMIT gets its ERROR at once (s_not_working). */
static int s_idle_turn(ax_broker_t *self)
{
    zmq_pollitem_t item = {self->control, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 100) < 0 && errno != EINTR) {
        ax_log_error("poll failed|error=\"%s\"", zmq_strerror(errno));
        return -1;
    }
    if (item.revents & ZMQ_POLLIN)
        s_on_control(self);
    return 0;
}

int ax_broker_run(ax_broker_t *self)
{
    int64_t last_tick = 0, last_publish = 0;
    while (!ax_stop_requested) {
        ax_metrics_heartbeat();
        if (s_lease_turn(self) < 0)
            return -1;
        if (!self->ready) {
            if (s_idle_turn(self) < 0)
                return -1;
            continue;
        }
        /* Harvest and dispatch only while the namespace is surely ours. */
        int ours = ax_lease_valid(&self->lease, ax_mono_ms());
        ax_run_t *run = self->active;
        /* Harvest only a bounded window ahead of the workers. */
        uint32_t credit = 0;
        for (size_t i = 0; i < self->n_workers; i++)
            credit += self->workers[i].credit;
        size_t window = 2 * (size_t) credit + 8;
        int busy = 0;
        if (ours && run && (run->source || run->n_batch) && run->n_pending < window) {
            ax_run_bounds_t bounds = self->bounds;
            bounds.papers = run->spec.job_size ? run->spec.job_size : bounds.papers;
            int rc = ax_run_harvest(run, s_redis(self), &bounds);
            if (rc < 0) {
                s_run_fail(self, ax_source_error(run->source));
                continue;
            }
            busy = rc > 0;
        }
        if (ours)
            s_dispatch(self);
        /* A live source harvesting on its thread wakes us when a page is ready. */
        int source_fd = run && run->source && run->n_pending < window ? ax_source_fd(run->source) : -1;
        zmq_pollitem_t items[] = {{self->jobs, 0, ZMQ_POLLIN, 0},
                                  {self->control, 0, ZMQ_POLLIN, 0},
                                  {NULL, source_fd, ZMQ_POLLIN, 0}};
        int timeout = busy ? 0 : 100;
        if (zmq_poll(items, source_fd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) {
            ax_log_error("poll failed|error=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        /* Paused (SIGSTOP, swapped out) past the lease's validity: learn whether it is
         * still ours before acting on what arrived meanwhile. */
        if (!ax_lease_valid(&self->lease, ax_mono_ms()) && s_lease_turn(self) < 0)
            return -1;
        if (items[0].revents & ZMQ_POLLIN) {
            for (int n = 0; n < 1000; n++) {
                ax_msg_t msg;
                int rc = ax_proto_recv(self->jobs, AX_END_BROKER, &msg, NULL);
                if (rc == 0)
                    break;
                if (rc < 0)
                    continue;           /* dropped, counted and logged by proto.c */
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
            s_metrics_gauges(self);
        }
        if (!ax_lease_valid(&self->lease, now))
            continue;
        if (now - last_publish >= 1000) {
            last_publish = now;
            s_publish_broker(self);
        }
        s_run_check_complete(self);
    }
    /* Save what this turn finished: a restarted broker then re-sends nothing done. */
    if (self->active && ax_lease_valid(&self->lease, ax_mono_ms()))
        ax_run_flush(self->active, s_redis(self));
    if (ax_lease_valid(&self->lease, ax_mono_ms()))
        s_publish_broker(self);
    ax_log_info("broker stopping|run=%s jobs_inflight=%zu jobs_queued=%zu", self->active ? self->active->id : "-",
                self->active ? self->active->n_inflight : 0, self->active ? self->active->n_pending : 0);
    return 0;
}

ax_broker_t *ax_broker_new(const ax_config_t *cfg, char **err)
{
    ax_broker_t *self = calloc(1, sizeof *self);
    *err = NULL;
    if (!self)
        return NULL;
    self->t.lease_ms = cfg->broker.lease_ms;
    self->t.heartbeat_ms = cfg->broker.heartbeat_ms;
    self->t.liveness = cfg->broker.liveness;
    self->t.max_attempts = cfg->broker.max_attempts;
    self->bounds.papers = (uint32_t) cfg->broker.job_size;
    self->bounds.bytes = (size_t) cfg->broker.job_max_bytes;
    self->bounds.paper_bytes = (size_t) cfg->broker.paper_max_bytes;
    self->arxiv = &cfg->arxiv;
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
    if (!(self->curve = ax_curve_server_new(cfg, self->zmq, err)) || ax_curve_apply(self->curve, self->jobs, NULL) < 0
        || ax_curve_apply(self->curve, self->control, AX_CURVE_CONTROL) < 0)
        goto fail;
    /* The control socket answers at once, also while Redis is down or another broker
     * works the namespace; the jobs socket is bound only once the lease is ours. */
    if (zmq_bind(self->control, cfg->broker.control) < 0) {
        if (asprintf(err, "broker.control: cannot bind %s: %s", cfg->broker.control, zmq_strerror(errno)) < 0)
            *err = NULL;
        goto fail;
    }
    self->standby = cfg->broker.standby;
    if (!(self->bind = strdup(cfg->broker.bind))
        || ax_lease_init(&self->lease, cfg->broker.namespace_lease_ms) < 0
        || ax_redis_link_try(&self->redis, cfg->redis.url, err) < 0)
        goto fail;
    ax_log_info("broker started|control=%s namespace=%s id=%s", cfg->broker.control, ax_store_namespace(),
                self->lease.id);
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
    ax_run_destroy(&self->active);
    for (size_t i = 0; i < self->n_queued; i++)
        ax_run_destroy(&self->queued[i]);
    free(self->queued);
    for (size_t i = 0; i < self->n_workers; i++)
        free(self->workers[i].name);
    free(self->workers);
    if (self->jobs)
        zmq_close(self->jobs);
    if (self->control)
        zmq_close(self->control);
    ax_curve_destroy(&self->curve);
    if (self->zmq)
        zmq_ctx_term(self->zmq);
    ax_lease_release(&self->lease, self->redis.c);     /* a standby takes over at once */
    ax_redis_link_close(&self->redis);
    free(self->bind);
    free(self);
    *self_p = NULL;
}
