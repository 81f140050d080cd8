/*  worker.c: jobs in, verdicts out (see worker.h).
 *
 *  One loop polls the broker and collector DEALERs. A JOB is judged at once (keyword
 *  matching is microseconds per paper) and its RESULT kept in `held` until the collector
 *  ACKs it; only then is DONE sent and one credit granted back. Timers re-send RESULTs
 *  without ACK, extend leases of held jobs (WORKING), send heartbeats and detect a silent
 *  broker.
 */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "codec.h"
#include "curve.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "enrich.h"
#include "match.h"
#include "proto.h"
#include "store.h"
#include "text.h"

/*  A job being worked on: judged, waiting for its LLM requests (enrich.h). */
typedef struct s_work {
    ax_job_t job;
    ax_verdict_t *verdicts;         /* n_papers x n_profiles */
    size_t pending;                 /* LLM requests not finished */
    int64_t working_ms;             /* last WORKING sent */
    struct s_work *next;
} s_work_t;

/*  A job between its RESULT and the collector's ACK. */
typedef struct {
    char *run;
    uint64_t job;
    uint64_t lease;                 /* the JOB's lease token, echoed in WORKING and DONE */
    msgpack_sbuffer result;
    int64_t sent_ms, working_ms;
    uint32_t lease_ms;
} s_held_t;

struct ax_worker {
    void *zmq;
    void *broker, *collector;
    ax_curve_t *curve;              /* CURVE keys of this worker (curve.h) */
    char *broker_ep, *collector_ep, *name;
    uint32_t capacity;
    uint32_t granted;               /* credit the broker still holds from us */
    s_held_t held[AX_WORKER_MAX_CAPACITY];
    size_t n_held;
    char *matcher_run;              /* run the cached matcher was built for */
    ax_matcher_t *matcher;
    int heartbeat_ms, liveness;
    int result_timeout_ms;          /* re-send a RESULT not ACKed within this */
    int test_delay_ms;              /* AX_TEST_JOB_DELAY_MS: slows jobs down for fault tests */
    int64_t broker_seen_ms, broker_sent_ms, collector_sent_ms, reconnect_at_ms;
    int reconnect_delay_ms;
    uint64_t jobs_done, papers_done;
    s_work_t *working;              /* jobs waiting for LLM answers */
    size_t n_working;
    ax_redis_link_t redis;          /* LLM cache and limiter (only with an LLM) */
    ax_enricher_t *enricher;        /* NULL: keyword-only */
};

static void *s_connect(ax_worker_t *self, const char *endpoint)
{
    void *s = zmq_socket(self->zmq, ZMQ_DEALER);
    int linger = 0;
    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (ax_curve_apply(self->curve, s, endpoint == self->broker_ep ? "broker" : "collector") < 0
        || zmq_connect(s, endpoint) < 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int s_send_ctl(void *socket, const char *cmd, const ax_ctl_t *ctl)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_ctl_encode(&sb, ctl);
    int rc = ax_proto_send(socket, NULL, 0, cmd, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int s_to_broker(ax_worker_t *self, const char *cmd, const ax_ctl_t *ctl)
{
    int rc = ctl ? s_send_ctl(self->broker, cmd, ctl) : ax_proto_send(self->broker, NULL, 0, cmd, NULL, 0);
    static int64_t logged_ms = -30000;  /* a broker that refuses us: one line per 30 s, not per heartbeat */
    static unsigned quiet;
    if (rc < 0 && ax_mono_ms() - logged_ms >= 30000) {
        ax_log_warn("send to broker failed|cmd=%s error=\"%s\" not_logged_since=%u", cmd, zmq_strerror(errno), quiet);
        logged_ms = ax_mono_ms();
        quiet = 0;
    } else if (rc < 0)
        quiet++;
    else if (strcmp(cmd, "FAIL") == 0)
        ax_metrics_add("arxdigest_worker_jobs_failed_total", NULL, 1);
    self->broker_sent_ms = ax_mono_ms();
    return rc;
}

/*  Grants the broker all the credit we have free: capacity minus jobs held and credit
 *  it already has. */
static void s_ready(ax_worker_t *self)
{
    uint32_t used = (uint32_t) (self->n_held + self->n_working) + self->granted;
    if (used >= self->capacity)
        return;
    ax_ctl_t ctl = {.worker = self->name, .credit = self->capacity - used, .heartbeat_ms = (uint32_t) self->heartbeat_ms};
    if (s_to_broker(self, "READY", &ctl) == 0)
        self->granted += ctl.credit;
}

static int s_matcher_for(ax_worker_t *self, const ax_job_t *job, char **err)
{
    if (self->matcher && self->matcher_run && strcmp(self->matcher_run, job->run) == 0)
        return 0;
    ax_matcher_destroy(&self->matcher);
    free(self->matcher_run);
    self->matcher_run = NULL;
    self->matcher = ax_matcher_new(job->profiles, job->n_profiles, err);
    if (!self->matcher)
        return -1;
    self->matcher_run = strdup(job->run);
    return self->matcher_run ? 0 : -1;
}

static void s_work_free(s_work_t *w)
{
    size_t nv = w->job.n_papers * w->job.n_profiles;
    for (size_t i = 0; w->verdicts && i < nv; i++)
        ax_verdict_clear(&w->verdicts[i]);
    free(w->verdicts);
    ax_job_clear(&w->job);
    free(w);
}

/*  Counts the verdicts of a finished job per profile and state (arxdigest_worker_papers_total). */
static void s_count_verdicts(const s_work_t *w)
{
    size_t np = w->job.n_profiles;
    for (size_t p = 0; p < np; p++) {
        size_t n[AX_STATE_FAILED + 1] = {0};
        for (size_t i = 0; i < w->job.n_papers; i++)
            if ((size_t) w->verdicts[i * np + p].state <= AX_STATE_FAILED)
                n[w->verdicts[i * np + p].state]++;
        for (size_t s = AX_STATE_MATCHED; s <= AX_STATE_FAILED; s++) {
            char labels[256] = "";
            if (n[s] == 0)
                continue;
            ax_metrics_label(labels, sizeof labels, "profile", w->job.profiles[p].name);
            ax_metrics_label(labels, sizeof labels, "state", ax_state_name((ax_state_t) s));
            ax_metrics_add("arxdigest_worker_papers_total", labels, (double) n[s]);
        }
    }
}

/*  The job's verdicts are final: send the RESULT to the collector and hold it until the
 *  ACK. A run stopped by a fatal LLM error gets FAIL instead (the broker stops it). */
static void s_work_finish(ax_worker_t *self, s_work_t *w)
{
    const char *fatal = self->enricher ? ax_enricher_fatal(self->enricher, w->job.run) : NULL;
    if (fatal) {
        ax_ctl_t ctl = {.run = w->job.run, .job = w->job.job, .lease = w->job.lease, .reason = (char *) fatal,
                        .state = "fatal", .credit = 1};
        if (s_to_broker(self, "FAIL", &ctl) == 0)
            self->granted++;
        s_work_free(w);
        return;
    }
    size_t np = w->job.n_profiles;
    char **names = calloc(np + 1, sizeof *names);       /* np comes from the JOB: no VLA */
    for (size_t p = 0; names && p < np; p++)
        names[p] = w->job.profiles[p].name;
    ax_result_t res = {.run = w->job.run, .job = w->job.job, .attempt = w->job.attempt, .worker = self->name,
                       .profiles = names, .n_profiles = np};
    res.items = names ? calloc(w->job.n_papers + 1, sizeof *res.items) : NULL;
    if (!res.items) {
        free(names);
        ax_ctl_t ctl = {.run = w->job.run, .job = w->job.job, .lease = w->job.lease, .reason = "worker out of memory",
                        .credit = 1};
        if (s_to_broker(self, "FAIL", &ctl) == 0)
            self->granted++;
        s_work_free(w);
        return;
    }
    for (size_t i = 0; i < w->job.n_papers; i++) {
        res.items[i].paper = w->job.papers[i];      /* borrowed */
        res.items[i].verdicts = &w->verdicts[i * np];
    }
    res.n_items = w->job.n_papers;
    s_count_verdicts(w);
    s_held_t *h = &self->held[self->n_held++];
    msgpack_sbuffer_init(&h->result);
    ax_result_encode(&h->result, &res);
    free(res.items);
    free(names);
    if (self->test_delay_ms) {
        struct timespec ts = {self->test_delay_ms / 1000, (self->test_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    h->run = w->job.run;
    w->job.run = NULL;
    h->job = w->job.job;
    h->lease = w->job.lease;
    h->lease_ms = w->job.lease_ms ? w->job.lease_ms : AX_BROKER_LEASE_MS;
    h->sent_ms = h->working_ms = ax_mono_ms();
    self->papers_done += w->job.n_papers;
    if (ax_proto_send(self->collector, NULL, 0, "RESULT", h->result.data, h->result.size) < 0)
        ax_log_warn("send to collector failed, will retry|run=%s job=%" PRIu64 " error=\"%s\"", h->run, h->job,
                    zmq_strerror(errno));
    self->collector_sent_ms = ax_mono_ms();
    s_work_free(w);
}

/*  Enricher callback: one LLM request of a working job is over. */
static void s_on_enriched(void *arg, void *job)
{
    ax_worker_t *self = arg;
    s_work_t *w = job;
    if (--w->pending > 0)
        return;
    for (s_work_t **pp = &self->working; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            self->n_working--;
            s_work_finish(self, w);
            return;
        }
    /* Not listed yet: s_on_job is still adding its requests and finishes it itself. */
}

/*  JOB: judge every paper for every profile; matched ones go to the LLM when there is
 *  one. The job is finished (RESULT sent) when its last LLM request is. */
static void s_on_job(ax_worker_t *self, const char *body, size_t len)
{
    char *err = NULL;
    ax_metrics_add("arxdigest_worker_jobs_received_total", NULL, 1);
    if (self->granted > 0)
        self->granted--;
    s_work_t *w = calloc(1, sizeof *w);
    if (!w || ax_job_decode(body, len, &w->job, &err) < 0) {
        /* We cannot even name the job: log it; its lease expires at the broker. */
        ax_log_warn("bad JOB dropped|error=\"%s\"", err ? err : "out of memory");
        free(err);
        free(w);
        s_ready(self);
        return;
    }
    size_t np = w->job.n_profiles;
    if (self->n_held + self->n_working >= AX_WORKER_MAX_CAPACITY ||
        !(w->verdicts = calloc(w->job.n_papers * np + 1, sizeof *w->verdicts)) ||
        s_matcher_for(self, &w->job, &err) < 0) {
        ax_ctl_t ctl = {.run = w->job.run, .job = w->job.job, .lease = w->job.lease,
                        .reason = err ? err : "worker over capacity or out of memory", .credit = 1};
        ax_log_warn("job failed|run=%s job=%" PRIu64 " error=\"%s\"", w->job.run, w->job.job, ctl.reason);
        if (s_to_broker(self, "FAIL", &ctl) == 0)
            self->granted++;
        free(err);
        s_work_free(w);
        return;
    }
    w->pending = 1;                     /* held by this function until every request is added */
    w->working_ms = ax_mono_ms();
    for (size_t i = 0; i < w->job.n_papers; i++) {
        ax_verdict_t *v = &w->verdicts[i * np];
        if (ax_matcher_judge(self->matcher, &w->job.papers[i], v) < 0)
            ax_log_error("out of memory judging|paper=%s", w->job.papers[i].id);
        for (size_t p = 0; self->enricher && p < np; p++) {
            if (v[p].state != AX_STATE_MATCHED)
                continue;
            w->pending++;
            if (ax_enricher_add(self->enricher, w, w->job.run, &w->job.papers[i], &w->job.profiles[p], &v[p]) < 0) {
                w->pending--;
                v[p].state = AX_STATE_FAILED;
                free(v[p].reason);
                v[p].reason = strdup("worker out of memory");
            }
        }
    }
    if (--w->pending == 0) {
        s_work_finish(self, w);
        return;
    }
    w->next = self->working;
    self->working = w;
    self->n_working++;
}

static void s_on_ack(ax_worker_t *self, const char *body, size_t len)
{
    ax_ctl_t ack;
    char *err = NULL;
    if (ax_ctl_decode(body, len, &ack, &err) < 0 || !ack.run) {
        ax_log_warn("bad ACK dropped|error=\"%s\"", err ? err : "no run");
        free(err);
        ax_ctl_clear(&ack);
        return;
    }
    for (size_t i = 0; i < self->n_held; i++) {
        s_held_t *h = &self->held[i];
        if (h->job != ack.job || strcmp(h->run, ack.run) != 0)
            continue;
        /* A stopping worker asks for nothing more. */
        ax_ctl_t done = {.run = h->run, .job = h->job, .lease = h->lease, .credit = ax_stop_requested ? 0 : 1};
        if (s_to_broker(self, "DONE", &done) == 0)
            self->granted += done.credit;
        self->jobs_done++;
        ax_metrics_add("arxdigest_worker_jobs_done_total", NULL, 1);
        free(h->run);
        msgpack_sbuffer_destroy(&h->result);
        self->held[i] = self->held[--self->n_held];
        break;
    }
    ax_ctl_clear(&ack);
}

/*  New broker connection (new identity): after a broker restart or silence. */
static int s_reconnect_broker(ax_worker_t *self)
{
    if (self->broker)
        zmq_close(self->broker);
    self->broker = s_connect(self, self->broker_ep);
    if (!self->broker)
        return -1;
    self->granted = 0;
    self->broker_seen_ms = ax_mono_ms();
    s_ready(self);
    return 0;
}

static void s_on_broker(ax_worker_t *self)
{
    /* Once stopping, JOBs not yet read stay unread: BYE hands them back to the broker. */
    for (int n = 0; n < 64 && !ax_stop_requested; n++) {
        ax_msg_t msg;
        char *err = NULL;
        int rc = ax_proto_recv(self->broker, 0, &msg, &err);
        if (rc == 0)
            return;
        self->broker_seen_ms = ax_mono_ms();
        self->reconnect_delay_ms = 1000;
        if (rc < 0) {
            ax_log_warn("garbage from broker dropped|error=\"%s\"", err ? err : "?");
            free(err);
            continue;
        }
        size_t len;
        const char *body = ax_msg_body(&msg, &len);
        if (strcmp(msg.command, "JOB") == 0)
            s_on_job(self, body, len);
        else if (strcmp(msg.command, "RESET") == 0) {
            ax_log_info("broker does not know us: announcing again");
            self->granted = 0;
            s_ready(self);
        } else if (strcmp(msg.command, "HEARTBEAT") != 0)
            ax_log_warn("unknown command from broker dropped|cmd=%s", msg.command);
        ax_msg_close(&msg);
    }
}

static void s_on_collector(ax_worker_t *self)
{
    for (int n = 0; n < 64; n++) {
        ax_msg_t msg;
        char *err = NULL;
        int rc = ax_proto_recv(self->collector, 0, &msg, &err);
        if (rc == 0)
            return;
        if (rc < 0) {
            ax_log_warn("garbage from collector dropped|error=\"%s\"", err ? err : "?");
            free(err);
            continue;
        }
        size_t len;
        const char *body = ax_msg_body(&msg, &len);
        if (strcmp(msg.command, "ACK") == 0)
            s_on_ack(self, body, len);
        else if (strcmp(msg.command, "HEARTBEAT") != 0)
            ax_log_warn("unknown command from collector dropped|cmd=%s", msg.command);
        ax_msg_close(&msg);
    }
}

static void s_timers(ax_worker_t *self)
{
    int64_t now = ax_mono_ms();
    ax_metrics_heartbeat();
    ax_metrics_set("arxdigest_worker_jobs_in_hand", NULL, (double) (self->n_held + self->n_working));
    for (size_t i = 0; i < self->n_held; i++) {
        s_held_t *h = &self->held[i];
        if (now - h->sent_ms >= self->result_timeout_ms) {
            ax_log_warn("no ACK, re-sending result|run=%s job=%" PRIu64, h->run, h->job);
            ax_proto_send(self->collector, NULL, 0, "RESULT", h->result.data, h->result.size);
            h->sent_ms = now;
            self->collector_sent_ms = now;
        }
        if (now - h->working_ms >= h->lease_ms / 3) {
            ax_ctl_t ctl = {.run = h->run, .job = h->job, .lease = h->lease};
            s_to_broker(self, "WORKING", &ctl);
            h->working_ms = now;
        }
    }
    for (s_work_t *w = self->working; w; w = w->next)
        if (now - w->working_ms >= (w->job.lease_ms ? w->job.lease_ms : AX_BROKER_LEASE_MS) / 3) {
            ax_ctl_t ctl = {.run = w->job.run, .job = w->job.job, .lease = w->job.lease};
            s_to_broker(self, "WORKING", &ctl);
            w->working_ms = now;
        }
    if (now - self->broker_seen_ms > (int64_t) self->heartbeat_ms * self->liveness &&
        now >= self->reconnect_at_ms) {
        ax_log_warn("broker silent, reconnecting|endpoint=%s", self->broker_ep);
        s_reconnect_broker(self);
        self->reconnect_at_ms = now + self->reconnect_delay_ms;
        if (self->reconnect_delay_ms < 32000)
            self->reconnect_delay_ms *= 2;
    }
    if (now - self->broker_sent_ms >= self->heartbeat_ms)
        s_to_broker(self, "HEARTBEAT", NULL);
    if (now - self->collector_sent_ms >= self->heartbeat_ms) {
        ax_proto_send(self->collector, NULL, 0, "HEARTBEAT", NULL, 0);
        self->collector_sent_ms = now;
    }
}

int ax_worker_run(ax_worker_t *self)
{
    int64_t stop_deadline = 0;
    s_ready(self);
    for (;;) {
        if (ax_stop_requested && !stop_deadline) {
            stop_deadline = ax_mono_ms() + 5000;
            ax_log_info("stopping: finishing jobs and delivering results|held=%zu working=%zu", self->n_held,
                        self->n_working);
        }
        if (stop_deadline && (self->n_held + self->n_working == 0 || ax_mono_ms() > stop_deadline))
            break;
        /* ZeroMQ sockets and curl's sockets in one poll (enrich.h). */
        zmq_pollitem_t items[2 + 256] = {{self->broker, 0, ZMQ_POLLIN, 0}, {self->collector, 0, ZMQ_POLLIN, 0}};
        long timeout = 100;
        int n = 2;
        if (self->enricher)
            n += ax_enricher_pollitems(self->enricher, items + 2, 256, &timeout);
        if (zmq_poll(items, n, timeout) < 0 && errno != EINTR) {
            ax_log_error("poll failed|error=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        if (self->enricher)
            ax_enricher_perform(self->enricher, items + 2, n - 2);
        if (items[1].revents & ZMQ_POLLIN)
            s_on_collector(self);
        if ((items[0].revents & ZMQ_POLLIN) && !stop_deadline)
            s_on_broker(self);
        s_timers(self);
    }
    /* BYE hands back every job still leased to us (docs/protocol.md section 3); with linger
     * it and the last DONEs leave before the socket closes instead of being dropped. */
    int linger = 2000;
    zmq_setsockopt(self->broker, ZMQ_LINGER, &linger, sizeof linger);
    s_to_broker(self, "BYE", NULL);
    ax_log_info("worker stopped|jobs=%" PRIu64 " papers=%" PRIu64 " undelivered=%zu unfinished=%zu", self->jobs_done,
                self->papers_done, self->n_held, self->n_working);
    return 0;
}

ax_worker_t *ax_worker_new(const ax_config_t *cfg, const char *name, char **err)
{
    ax_worker_t *self = calloc(1, sizeof *self);
    *err = NULL;
    if (!self)
        return NULL;
    const char *td = getenv("AX_TEST_JOB_DELAY_MS");
    self->heartbeat_ms = cfg->worker.heartbeat_ms;
    self->liveness = cfg->worker.liveness;
    self->result_timeout_ms = cfg->worker.result_timeout_ms;
    self->test_delay_ms = td && atoi(td) > 0 ? atoi(td) : 0;
    self->capacity = (uint32_t) cfg->worker.capacity;
    self->reconnect_delay_ms = 1000;
    if (name)
        self->name = strdup(name);
    else {
        char host[128] = "worker";
        gethostname(host, sizeof host - 1);
        if (asprintf(&self->name, "%s:%d", host, (int) getpid()) < 0)
            self->name = NULL;
    }
    self->broker_ep = strdup(cfg->worker.broker);
    self->collector_ep = strdup(cfg->worker.collector);
    self->zmq = zmq_ctx_new();
    if (!self->name || !self->broker_ep || !self->collector_ep || !self->zmq)
        goto fail;
    if (!(self->curve = ax_curve_client_new(cfg, self->zmq, err)))
        goto fail;
    self->collector = s_connect(self, self->collector_ep);
    if (!self->collector) {
        if (asprintf(err, "worker.collector: cannot connect %s: %s", self->collector_ep, zmq_strerror(errno)) < 0)
            *err = NULL;
        goto fail;
    }
    self->broker = s_connect(self, self->broker_ep);
    if (!self->broker) {
        if (asprintf(err, "worker.broker: cannot connect %s: %s", self->broker_ep, zmq_strerror(errno)) < 0)
            *err = NULL;
        goto fail;
    }
    /* With an API key, matched papers are enriched by the LLM; without, keyword-only. */
    const char *key = getenv(cfg->llm.api_key_env);
    if (key && *key) {
        if (ax_redis_link_init(&self->redis, cfg->redis.url, err) < 0)
            goto fail;
        if (!(self->enricher = ax_enricher_new(cfg, key, &self->redis, s_on_enriched, self, err)))
            goto fail;
    }
    self->broker_seen_ms = ax_mono_ms();
    ax_log_info("worker ready|name=%s broker=%s collector=%s capacity=%u llm=%s", self->name, self->broker_ep,
                self->collector_ep, self->capacity, self->enricher ? cfg->llm.model : "off (keyword-only)");
    return self;
fail:
    if (!*err)
        *err = strdup("out of memory");
    ax_worker_destroy(&self);
    return NULL;
}

void ax_worker_destroy(ax_worker_t **self_p)
{
    ax_worker_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_held; i++) {
        free(self->held[i].run);
        msgpack_sbuffer_destroy(&self->held[i].result);
    }
    ax_enricher_destroy(&self->enricher);
    while (self->working) {
        s_work_t *w = self->working;
        self->working = w->next;
        s_work_free(w);
    }
    ax_redis_link_close(&self->redis);
    ax_matcher_destroy(&self->matcher);
    free(self->matcher_run);
    if (self->broker)
        zmq_close(self->broker);
    if (self->collector)
        zmq_close(self->collector);
    ax_curve_destroy(&self->curve);
    if (self->zmq)
        zmq_ctx_term(self->zmq);
    free(self->broker_ep);
    free(self->collector_ep);
    free(self->name);
    free(self);
    *self_p = NULL;
}
