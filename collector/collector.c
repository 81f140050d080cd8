/*  collector.c: store-then-ACK of RESULTs on the loop (loop.h), collected runs rendered by
 *  the render thread (renderer.h); see collector.h. */
#define _GNU_SOURCE
#include "collector.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "codec.h"
#include "curve.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "output.h"
#include "proto.h"
#include "renderer.h"
#include "run_store.h"
#include "store.h"
#include "text.h"

/*  What every RESULT of a run must match, from the run's spec (which never changes, so it
 *  is read once per run): its profile names, in order, and its job size. */
typedef struct {
    char *run;
    char **profiles;
    size_t n_profiles;
    uint32_t job_size;              /* papers in a job at most */
} s_run_info_t;

#define S_RUN_CACHE 8               /* runs remembered (one is active at a time) */

struct ax_collector {
    void *zmq;
    void *results;                  /* ROUTER */
    ax_curve_t *curve;              /* CURVE keys and the ZAP allow-list (curve.h) */
    ax_redis_link_t redis;
    char *output_dir;
    ax_renderer_t *renderer;        /* renders collected runs on its own thread */
    uint64_t stored, rejected, refused;
    s_run_info_t runs[S_RUN_CACHE];
    size_t next_run;                /* slot the next run read replaces */
    ax_log_quota_t refused_log;
};

static redisContext *s_redis(ax_collector_t *self)
{
    return ax_redis_link_get(&self->redis);
}

/*  Counts a stored RESULT's verdicts per profile and state (arxdigest_collector_papers_total). */
static void s_count_verdicts(const ax_result_t *res)
{
    for (size_t p = 0; p < res->n_profiles; p++) {
        size_t n[AX_STATE_COUNT] = {0};
        for (size_t i = 0; i < res->n_items; i++)
            if ((size_t) res->items[i].verdicts[p].state < AX_STATE_COUNT)
                n[res->items[i].verdicts[p].state]++;
        for (size_t s = AX_STATE_MATCHED; s < AX_STATE_COUNT; s++) {
            char labels[256] = "";
            if (n[s] == 0)
                continue;
            ax_metrics_label(labels, sizeof labels, "profile", res->profiles[p]);
            ax_metrics_label(labels, sizeof labels, "state", ax_state_name((ax_state_t) s));
            ax_metrics_add("arxdigest_collector_papers_total", labels, (double) n[s]);
        }
    }
}

static void s_run_info_clear(s_run_info_t *info)
{
    free(info->run);
    ax_strv_free(&info->profiles, info->n_profiles);
    memset(info, 0, sizeof *info);
}

/*  The run's info, read from its spec on first use. NULL with *err NULL when there is no
 *  such run, with *err set when Redis failed or the spec cannot be read. */
static const s_run_info_t *s_run_info(ax_collector_t *self, redisContext *c, const char *run, char **err)
{
    ax_runspec_t spec;
    *err = NULL;
    for (size_t i = 0; i < S_RUN_CACHE; i++)
        if (self->runs[i].run && strcmp(self->runs[i].run, run) == 0)
            return &self->runs[i];
    if (ax_run_store_spec(c, run, &spec, err) <= 0)
        return NULL;
    s_run_info_t *info = &self->runs[self->next_run++ % S_RUN_CACHE];
    s_run_info_clear(info);
    info->run = strdup(run);
    info->profiles = calloc(spec.n_profiles + 1, sizeof *info->profiles);
    info->job_size = spec.job_size;
    for (size_t p = 0; info->profiles && p < spec.n_profiles; p++) {
        info->profiles[p] = spec.profiles[p].name;         /* taken from the spec */
        spec.profiles[p].name = NULL;
        info->n_profiles = p + 1;
    }
    ax_runspec_clear(&spec);
    if (!info->run || !info->profiles) {
        s_run_info_clear(info);
        *err = strdup("out of memory");
        return NULL;
    }
    return info;
}

/*  Checks a RESULT against its run and stores it (ax_run_store_result): an ax_store_rc_t,
 *  with *reason and *err when not stored. Only a RESULT that names exactly the run's
 *  profiles, in order, and no more papers than a job holds goes as far as Redis, so what
 *  one message may make the collector do is bounded by the run. */
static int s_store(ax_collector_t *self, redisContext *c, const ax_result_t *res, const char **reason, char **err)
{
    const s_run_info_t *info = s_run_info(self, c, res->run, err);
    if (!info) {
        *reason = "run";
        if (*err)
            return AX_STORE_ERROR;
        *err = strdup("no such run");
        return AX_STORE_FINISHED;   /* nothing will ever store it: the worker may stop */
    }
    int same = res->n_profiles == info->n_profiles;
    for (size_t p = 0; same && p < res->n_profiles; p++)
        same = strcmp(res->profiles[p], info->profiles[p]) == 0;
    if (!same) {
        *reason = "profiles";
        if (asprintf(err, "%zu profiles named, the run has %zu: not the run's", res->n_profiles,
                     info->n_profiles) < 0)
            *err = NULL;
        return AX_STORE_REFUSED;
    }
    if (res->job == 0) {
        *reason = "job";
        *err = strdup("job 0 is the broker's own, never a worker's");
        return AX_STORE_REFUSED;
    }
    if (res->n_items > info->job_size) {
        *reason = "papers";
        if (asprintf(err, "%zu papers, a job of the run has at most %u", res->n_items, info->job_size) < 0)
            *err = NULL;
        return AX_STORE_REFUSED;
    }
    return ax_run_store_result(c, res, reason, err);
}

/*  A RESULT not stored because it does not belong (rc AX_STORE_FINISHED / REFUSED):
 *  counted by reason, logged at most once a second. */
static void s_refused(ax_collector_t *self, const ax_msg_t *msg, const ax_result_t *res, int rc, const char *reason,
                      const char *err)
{
    char labels[64];
    unsigned skipped;
    self->refused++;
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    ax_metrics_add("arxdigest_collector_results_refused_total", labels, 1);
    if (ax_log_quota(&self->refused_log, 1000, &skipped))
        ax_log_warn("result refused, not stored|run=%s job=%" PRIu64 " peer=%s worker=%s ack=%s error=\"%s\" "
                    "not_logged=%u", res->run, res->job, ax_proto_peer(msg), res->worker ? res->worker : "-",
                    rc == AX_STORE_FINISHED ? "yes" : "no", err ? err : "?", skipped);
}

/*  ACK: the RESULT is stored, or can never be. */
static void s_ack(ax_collector_t *self, const ax_msg_t *msg, const ax_result_t *res)
{
    ax_ctl_t ack = {.run = res->run, .job = res->job};
    if (ax_proto_send_ctl(self->results, msg->identity, msg->identity_len, AX_CMD_ACK, &ack) < 0)
        ax_log_warn("ACK not sent|run=%s job=%" PRIu64 " error=\"%s\"", res->run, res->job, zmq_strerror(errno));
    else
        ax_metrics_add("arxdigest_collector_acks_total", NULL, 1);
}

/*  RESULT (decoded and checked by proto.c): check it belongs, store, and only then ACK. A
 *  result that cannot be stored now (Redis) is not ACKed: the worker re-sends it. One
 *  that does not belong is never stored: ACKed when its run or job is finished
 *  (re-sending it can change nothing), not ACKed when it does not match its job
 *  (protocol.md section 4). */
static void s_on_result(ax_collector_t *self, const ax_msg_t *msg)
{
    const ax_result_t *res = &msg->body.result;
    char *err = NULL;
    const char *reason = "?";
    redisContext *c = s_redis(self);
    int rc = c ? s_store(self, c, res, &reason, &err) : AX_STORE_ERROR;
    if (rc == AX_STORE_ERROR) {
        ax_log_warn("result not stored, no ACK|run=%s job=%" PRIu64 " error=\"%s\"", res->run, res->job,
                    err ? err : "redis unreachable");
        ax_metrics_add("arxdigest_collector_results_unstored_total", NULL, 1);
    } else if (rc != AX_STORE_STORED)
        s_refused(self, msg, res, rc, reason, err);
    free(err);
    if (rc == AX_STORE_STORED) {
        self->stored++;
        ax_metrics_add("arxdigest_collector_results_stored_total", NULL, 1);
        s_count_verdicts(res);
    }
    if (rc == AX_STORE_STORED || rc == AX_STORE_FINISHED)
        s_ack(self, msg, res);
}

/*  The results socket is readable: up to 256 messages a turn (the loop's other work,
 *  the heartbeat of /healthz, comes between batches). */
static int s_on_results(ax_loop_t *loop, zmq_pollitem_t *item, void *arg)
{
    ax_collector_t *self = arg;
    (void) loop, (void) item;
    for (int n = 0; n < 256; n++) {
        ax_msg_t msg;
        ax_drop_info_t drop;
        int rc = ax_proto_recv(self->results, AX_END_COLLECTOR, &msg, &drop);
        if (rc == 0)
            break;
        if (rc < 0) {                   /* dropped, counted and logged by proto.c */
            if (drop.cmd == AX_CMD_RESULT) {
                self->rejected++;
                ax_metrics_add("arxdigest_collector_results_rejected_total", NULL, 1);
            }
            continue;
        }
        switch (msg.cmd) {
        case AX_CMD_RESULT:
            s_on_result(self, &msg);
            break;
        default:                        /* HEARTBEAT: answered */
            ax_proto_send(self->results, msg.identity, msg.identity_len, AX_CMD_HEARTBEAT, NULL, 0);
            break;
        }
        ax_msg_close(&msg);
    }
    return 0;
}

static int s_heartbeat(ax_loop_t *loop, void *arg)
{
    (void) loop, (void) arg;
    ax_metrics_heartbeat();
    return 0;
}

int ax_collector_run(ax_collector_t *self)
{
    ax_loop_t *loop = ax_loop_new();
    int rc = -1;
    if (!loop || ax_loop_reader(loop, self->results, -1, ZMQ_POLLIN, s_on_results, self) < 0 ||
        ax_loop_hook(loop, s_heartbeat, NULL) < 0)
        ax_log_error("collector loop: out of memory");
    else {
        ax_loop_stop_on(loop, &ax_stop_requested);
        if ((rc = ax_loop_run(loop)) < 0)
            ax_log_error("poll failed|error=\"%s\"", zmq_strerror(errno));
    }
    ax_loop_destroy(&loop);
    /* Every RESULT taken was stored before its ACK, so nothing is pending but the last ACKs:
     * let them leave (an ACK lost here only makes the worker re-send). */
    int linger = 1000;
    zmq_setsockopt(self->results, ZMQ_LINGER, &linger, sizeof linger);
    ax_log_info("collector stopping|stored=%" PRIu64 " rejected=%" PRIu64 " refused=%" PRIu64, self->stored,
                self->rejected, self->refused);
    return rc;
}

ax_collector_t *ax_collector_new(const ax_config_t *cfg, char **err)
{
    ax_collector_t *self = calloc(1, sizeof *self);
    *err = NULL;
    if (!self)
        return NULL;
    self->output_dir = strdup(cfg->collector.output_dir);
    self->zmq = zmq_ctx_new();
    if (!self->output_dir || !self->zmq)
        goto fail;
    char *derr = NULL;          /* refuse to collect what could never be rendered */
    if (ax_output_check_dir(self->output_dir, &derr) < 0) {
        ax_set_error(err, "collector.output_dir: %s", derr ? derr : "cannot be written");
        free(derr);
        goto fail;
    }
    self->results = zmq_socket(self->zmq, ZMQ_ROUTER);
    int linger = 0;
    if (!self->results)
        goto fail;
    zmq_setsockopt(self->results, ZMQ_LINGER, &linger, sizeof linger);
    if (!(self->curve = ax_curve_server_new(cfg, self->zmq, err)) || ax_curve_apply(self->curve, self->results, NULL) < 0)
        goto fail;
    if (zmq_bind(self->results, cfg->collector.bind) < 0) {
        if (asprintf(err, "collector.bind: cannot bind %s: %s", cfg->collector.bind, zmq_strerror(errno)) < 0)
            *err = NULL;
        goto fail;
    }
    if (ax_redis_link_init(&self->redis, cfg->redis.url, err) < 0 ||
        !(self->renderer = ax_renderer_start(cfg->redis.url, self->output_dir, err)))
        goto fail;
    ax_log_info("collector ready|bind=%s output_dir=%s", cfg->collector.bind, self->output_dir);
    return self;
fail:
    if (!*err)
        *err = strdup("out of memory");
    ax_collector_destroy(&self);
    return NULL;
}

void ax_collector_destroy(ax_collector_t **self_p)
{
    ax_collector_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    ax_renderer_stop(&self->renderer);   /* after the render in progress */
    if (self->results)
        zmq_close(self->results);
    ax_curve_destroy(&self->curve);
    if (self->zmq)
        zmq_ctx_term(self->zmq);
    ax_redis_link_close(&self->redis);
    for (size_t i = 0; i < S_RUN_CACHE; i++)
        s_run_info_clear(&self->runs[i]);
    free(self->output_dir);
    free(self);
    *self_p = NULL;
}
