/*  collector.c: store-then-ACK of RESULTs and rendering of collected runs (see collector.h). */
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
#include "metrics.h"
#include "output.h"
#include "proto.h"
#include "store.h"
#include "text.h"

struct ax_collector {
    void *zmq;
    void *results;                  /* ROUTER */
    ax_curve_t *curve;              /* CURVE keys and the ZAP allow-list (curve.h) */
    ax_redis_link_t redis;
    char *output_dir;
    int64_t last_render_check_ms;
    uint64_t stored, rejected;
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

/*  RESULT: decode, store, and only then ACK. A result that cannot be stored is not
 *  ACKed: the worker re-sends it. */
static void s_on_result(ax_collector_t *self, const ax_msg_t *msg)
{
    size_t len;
    const char *body = ax_msg_body(msg, &len);
    ax_result_t res;
    char *err = NULL;
    if (ax_result_decode(body, len, &res, &err) < 0) {
        self->rejected++;
        ax_metrics_add("arxdigest_collector_results_rejected_total", NULL, 1);
        ax_log_warn("bad RESULT dropped|peer=%s error=\"%s\"", ax_proto_peer(msg), err ? err : "?");
        free(err);
        return;
    }
    redisContext *c = s_redis(self);
    if (!c || ax_store_result(c, &res, &err) < 0) {
        ax_log_warn("result not stored, no ACK|run=%s job=%" PRIu64 " error=\"%s\"", res.run, res.job,
                    err ? err : "redis unreachable");
        ax_metrics_add("arxdigest_collector_results_unstored_total", NULL, 1);
        free(err);
        ax_result_clear(&res);
        return;
    }
    self->stored++;
    ax_metrics_add("arxdigest_collector_results_stored_total", NULL, 1);
    s_count_verdicts(&res);
    ax_ctl_t ack = {.run = res.run, .job = res.job};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_ctl_encode(&sb, &ack);
    if (ax_proto_send(self->results, msg->identity, msg->identity_len, "ACK", sb.data, sb.size) < 0)
        ax_log_warn("ACK not sent|run=%s job=%" PRIu64 " error=\"%s\"", res.run, res.job, zmq_strerror(errno));
    else
        ax_metrics_add("arxdigest_collector_acks_total", NULL, 1);
    msgpack_sbuffer_destroy(&sb);
    ax_result_clear(&res);
}

/*  Renders the runs the broker marked collected, oldest first. */
static void s_render_pending(ax_collector_t *self)
{
    redisContext *c = s_redis(self);
    char *err = NULL, render[200];
    if (!c)
        return;
    ax_ns_key(render, sizeof render, "render");
    redisReply *list = ax_redis_cmd(c, &err, "LRANGE %s 0 -1", render);
    if (!list) {
        ax_log_warn("cannot read render queue|error=\"%s\"", err);
        free(err);
        return;
    }
    for (size_t i = 0; i < list->elements; i++) {
        const char *run = list->element[i]->str;
        char key[300], *folder = NULL;
        int64_t t0 = ax_mono_ms();
        ax_run_key(key, sizeof key, run, "");
        redisReply *r = ax_redis_cmd(c, NULL, "HSET %s state rendering", key);
        freeReplyObject(r);
        if (ax_output_render_run(c, run, self->output_dir, NULL, (int64_t) time(NULL), &folder, &err) < 0) {
            ax_log_error("render failed|run=%s error=\"%s\"", run, err ? err : "?");
            ax_metrics_add("arxdigest_collector_renders_total", "outcome=\"failed\"", 1);
            r = ax_redis_cmd(c, NULL, "HSET %s state failed error %s", key, err ? err : "render failed");
            free(err);
            err = NULL;
        } else {
            ax_log_info("run rendered|run=%s folder=%s ms=%lld", run, folder, (long long) (ax_mono_ms() - t0));
            ax_metrics_add("arxdigest_collector_renders_total", "outcome=\"ok\"", 1);
            ax_metrics_observe("arxdigest_collector_render_duration_seconds", NULL, (double) (ax_mono_ms() - t0) / 1e3);
            r = ax_redis_cmd(c, NULL, "HSET %s state done output %s rendered_ms %lld", key, folder,
                             (long long) ax_now_ms());
        }
        freeReplyObject(r);
        free(folder);
        r = ax_redis_cmd(c, NULL, "LREM %s 0 %s", render, run);
        freeReplyObject(r);
    }
    freeReplyObject(list);
}

int ax_collector_run(ax_collector_t *self)
{
    while (!ax_stop_requested) {
        ax_metrics_heartbeat();
        zmq_pollitem_t items[] = {{self->results, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 1, 100) < 0 && errno != EINTR) {
            ax_log_error("poll failed|error=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        for (int n = 0; (items[0].revents & ZMQ_POLLIN) && n < 256; n++) {
            ax_msg_t msg;
            char *err = NULL;
            int rc = ax_proto_recv(self->results, 1, &msg, &err);
            if (rc == 0)
                break;
            if (rc < 0) {
                ax_log_warn("garbage dropped|socket=results peer=%s error=\"%s\"", ax_proto_peer(&msg),
                            err ? err : "?");
                free(err);
                continue;
            }
            if (strcmp(msg.command, "RESULT") == 0)
                s_on_result(self, &msg);
            else if (strcmp(msg.command, "HEARTBEAT") == 0)
                ax_proto_send(self->results, msg.identity, msg.identity_len, "HEARTBEAT", NULL, 0);
            else
                ax_log_warn("unknown command dropped|peer=%s cmd=%s", ax_proto_peer(&msg), msg.command);
            ax_msg_close(&msg);
        }
        int64_t now = ax_mono_ms();
        if (now - self->last_render_check_ms >= 250) {
            self->last_render_check_ms = now;
            s_render_pending(self);
        }
    }
    /* Every RESULT taken was stored before its ACK, so nothing is pending but the last ACKs:
     * let them leave (an ACK lost here only makes the worker re-send). */
    int linger = 1000;
    zmq_setsockopt(self->results, ZMQ_LINGER, &linger, sizeof linger);
    ax_log_info("collector stopping|stored=%" PRIu64 " rejected=%" PRIu64, self->stored, self->rejected);
    return 0;
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
    if (ax_redis_link_init(&self->redis, cfg->redis.url, err) < 0)
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
    if (self->results)
        zmq_close(self->results);
    ax_curve_destroy(&self->curve);
    if (self->zmq)
        zmq_ctx_term(self->zmq);
    ax_redis_link_close(&self->redis);
    free(self->output_dir);
    free(self);
    *self_p = NULL;
}
