/*  client.c: submit a run, follow it, show its state (see cli.h). */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "codec.h"
#include "curve.h"
#include "daemon.h"
#include "proto.h"
#include "run_store.h"
#include "store.h"
#include "text.h"

/*  A random request id for a SUBMIT (16 hex digits). 0 / -1. */
static int s_request_id(char out[17])
{
    unsigned char b[8];
    if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
        return -1;
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

char *ax_client_submit(const ax_config_t *cfg, const char *control)
{
    ax_runspec_t spec = {0};
    char *run = NULL, request[17];
    size_t n_cats = 0;
    if (s_request_id(request) < 0) {
        fprintf(stderr, "arxdigest: no random bytes for a request id: %s\n", strerror(errno));
        return NULL;
    }
    char **cats = ax_config_run_categories(cfg, &n_cats);
    spec.source = cfg->run.source;
    spec.categories = cats;
    spec.n_categories = n_cats;
    spec.from = cfg->run.from;
    spec.to = cfg->run.to;
    spec.job_size = (uint32_t) cfg->broker.job_size;
    spec.group_by = cfg->collector.group_by;
    spec.profiles = cfg->profiles;
    spec.n_profiles = cfg->n_profiles;
    /* The broker creates nothing after the deadline, which comes before we stop waiting
     * for its answer: a submit reported failed never runs later (docs/protocol.md 6). */
    spec.request = request;
    spec.deadline_ms = (uint64_t) ax_now_ms() + AX_CLIENT_SUBMIT_DEADLINE_MS;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_runspec_encode(&sb, &spec);
    ax_strv_free(&cats, n_cats);

    void *ctx = zmq_ctx_new();
    void *req = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    char *curve_err = NULL;
    ax_curve_t *curve = ctx ? ax_curve_client_new(cfg, ctx, &curve_err) : NULL;
    int linger = 0;
    if (ctx && !curve) {
        fprintf(stderr, "arxdigest: %s\n", curve_err ? curve_err : "out of memory");
        free(curve_err);
        goto done;
    }
    if (!req || zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger) < 0
        || ax_curve_apply(curve, req, AX_CURVE_CONTROL) < 0 || zmq_connect(req, control) < 0) {
        fprintf(stderr, "arxdigest: cannot connect to the broker at %s: %s\n", control, zmq_strerror(errno));
        goto done;
    }
    /* REQ sends block until connected; poll for writability with a deadline. */
    zmq_pollitem_t out = {req, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&out, 1, 10000) <= 0 || ax_proto_send(req, NULL, 0, AX_CMD_SUBMIT, sb.data, sb.size) < 0) {
        fprintf(stderr, "arxdigest: the broker at %s does not answer\n", control);
        goto done;
    }
    zmq_pollitem_t in = {req, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&in, 1, AX_CLIENT_SUBMIT_WAIT_MS) <= 0) {
        fprintf(stderr, "arxdigest: no reply from the broker at %s within %d s; no run was created\n",
                control, AX_CLIENT_SUBMIT_WAIT_MS / 1000);
        goto done;
    }
    ax_msg_t msg;
    ax_drop_info_t drop;
    if (ax_proto_recv(req, AX_END_CLIENT, &msg, &drop) != 1) {
        fprintf(stderr, "arxdigest: bad reply from the broker: %s\n", drop.error[0] ? drop.error : "?");
        goto done;
    }
    ax_ctl_t *reply = &msg.body.ctl;
    if (msg.cmd != AX_CMD_OK || !reply->run) {
        fprintf(stderr, "arxdigest: the broker refused the run: %s\n", reply->error ? reply->error : ax_cmd_name(msg.cmd));
    } else {
        run = reply->run;
        reply->run = NULL;
    }
    ax_msg_close(&msg);
done:
    msgpack_sbuffer_destroy(&sb);
    if (req)
        zmq_close(req);
    ax_curve_destroy(&curve);
    if (ctx)
        zmq_ctx_term(ctx);
    return run;
}

/*  One progress line: a bar when stderr is a terminal, else a plain line every 2 s. */
static void s_progress(const ax_run_record_t *rec, int64_t t0, int tty, int64_t *last_line)
{
    long long harvested = (long long) rec->n.harvested, done = (long long) rec->papers_done;
    const char *state = rec->state != AX_RUN_STATE_NONE ? ax_run_state_name(rec->state) : "starting";
    double secs = (double) (ax_mono_ms() - t0) / 1000.0;
    double rate = secs > 0 ? (double) done / secs : 0;
    int harvesting = rec->state == AX_RUN_STATE_HARVESTING || rec->state == AX_RUN_STATE_QUEUED;
    if (tty) {
        int width = 30, fill = harvested ? (int) (width * (double) done / (double) harvested) : 0;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %lld/%lld%s papers  %.0f/s  %s   ", bar, done, harvested, harvesting ? "+" : "",
                rate, state);
    } else if (ax_mono_ms() - *last_line >= 2000) {
        *last_line = ax_mono_ms();
        fprintf(stderr, "progress: %lld/%lld%s papers, %.0f/s, %s\n", done, harvested, harvesting ? "+" : "", rate,
                state);
    }
}

/*  Prints the digests and counts of a finished run from its report.json. */
static void s_print_done(const char *folder, int64_t t0)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/report.json", folder);
    json_error_t jerr;
    json_t *rep = json_load_file(path, 0, &jerr);
    printf("run finished in %.1f s\n", (double) (ax_mono_ms() - t0) / 1000.0);
    if (!rep) {
        printf("output: %s\n", folder);
        return;
    }
    printf("harvested %lld papers (%lld duplicates dropped, %lld malformed records skipped)\n",
           (long long) json_integer_value(json_object_get(rep, "harvested")),
           (long long) json_integer_value(json_object_get(rep, "duplicates")),
           (long long) json_integer_value(json_object_get(rep, "malformed")));
    const char *name;
    json_t *p;
    json_object_foreach(json_object_get(rep, "profiles"), name, p)
    {
        printf("profile %s: %lld matched, %lld enriched, %lld below threshold, %lld excluded, %lld failed\n", name,
               (long long) json_integer_value(json_object_get(p, "matched")),
               (long long) json_integer_value(json_object_get(p, "enriched")),
               (long long) json_integer_value(json_object_get(p, "below_threshold")),
               (long long) json_integer_value(json_object_get(p, "excluded")),
               (long long) json_integer_value(json_object_get(p, "failed")));
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(p, "digests"), i, d)
        {
            if (i < 5)
                printf("  digest: %s/%s\n", folder, json_string_value(d));
            else if (i == 5)
                printf("  ... and %zu more digests under %s/%s/\n", json_array_size(json_object_get(p, "digests")) - 5,
                       folder, name);
        }
        printf("  site:   %s/%s/site/index.html (feed: site/feed.xml, all periods: index.md)\n", folder, name);
    }
    printf("report: %s\n", path);
    json_decref(rep);
}

int ax_client_wait(ax_redis_link_t *link, const char *run, ax_local_t *local)
{
    int tty = isatty(2);
    int64_t t0 = ax_mono_ms(), last_line = 0;
    for (;;) {
        if (ax_stop_requested) {
            fprintf(stderr, "\narxdigest: interrupted; run %s is left as it is (see `arxdigest status %s`)\n", run,
                    run);
            return -1;
        }
        /* Redis may restart under a long run: wait for it (the link logs and retries). */
        ax_run_record_t rec;
        redisContext *c = ax_redis_link_get(link);
        if (!c || ax_run_store_load(c, run, &rec, NULL) < 0) {
            struct timespec ts = {0, 500 * 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        s_progress(&rec, t0, tty, &last_line);
        if (rec.state == AX_RUN_STATE_DONE) {
            if (tty)
                fputc('\n', stderr);
            s_print_done(rec.output ? rec.output : "?", t0);
            ax_run_record_clear(&rec);
            return 0;
        }
        if (rec.state == AX_RUN_STATE_FAILED) {
            fprintf(stderr, "\narxdigest: run %s failed: %s\n", run, rec.error ? rec.error : "unknown error");
            ax_run_record_clear(&rec);
            return -1;
        }
        ax_run_record_clear(&rec);
        int status;
        const char *dead = local ? ax_local_dead(local, &status) : NULL;
        if (dead) {
            fprintf(stderr, "\narxdigest: %s exited unexpectedly (status %d):\n", dead, status);
            ax_local_print_log(local, dead, 20);
            return -1;
        }
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/*  The largest count of a state over the run's profiles (a failed job fails its papers
 *  for every profile). */
static long long s_state_count(redisContext *c, const char *run, const ax_run_record_t *rec, ax_state_t state)
{
    ax_runspec_t spec;
    uint64_t best = 0, n[AX_STATE_COUNT];
    if (ax_run_record_spec(rec, &spec, NULL) < 0)
        return 0;
    for (size_t p = 0; p < spec.n_profiles; p++)
        if (ax_run_store_profile_counts(c, run, spec.profiles[p].name, n, NULL) == 0 && n[state] > best)
            best = n[state];
    ax_runspec_clear(&spec);
    return (long long) best;
}

/*  One run: state, papers, jobs, the broker's view (when this run is its active one),
 *  rate and ETA. */
static void s_print_run(redisContext *c, const char *run, const ax_run_record_t *rec, const ax_run_store_broker_t *b)
{
    char created[32] = "-";
    long long cms = rec->created_ms, done = (long long) rec->papers_done;
    long long harvested = (long long) rec->n.harvested, end_ms = rec->completed_ms;
    if (cms)
        ax_time_format(cms / 1000, "%Y-%m-%d %H:%M:%S", created, sizeof created);
    int harvest_done = rec->n.harvest_done != 0;
    printf("run %s  %s  (created %s UTC)\n", run, rec->state != AX_RUN_STATE_NONE ? ax_run_state_name(rec->state) : "?",
           created);
    printf("  papers: harvested %lld%s, done %lld, failed %lld, duplicates %lld, malformed %lld\n", harvested,
           harvest_done ? "" : " (harvest running)", done, s_state_count(c, run, rec, AX_STATE_FAILED),
           (long long) rec->n.duplicates, (long long) rec->n.malformed);
    printf("  jobs: %lld created, %lld finished (%lld failed)", (long long) rec->n.jobs_total,
           (long long) rec->n.jobs_done, (long long) rec->n.jobs_failed);
    if (strcmp(b->run, run) == 0)
        printf(", %lld in flight, %lld queued; workers alive: %lld (broker seen %.1f s ago)",
               (long long) b->jobs_inflight, (long long) b->jobs_queued, (long long) b->workers,
               (double) (ax_now_ms() - b->updated_ms) / 1000.0);
    printf("\n");
    long long until = end_ms ? end_ms : ax_now_ms();
    double secs = cms && until > cms ? (double) (until - cms) / 1000.0 : 0;
    if (secs > 0 && done > 0) {
        double rate = (double) done / secs;
        printf("  rate: %.0f papers/s over %.1f s", rate, secs);
        if (!end_ms && harvest_done && harvested > done)
            printf(", ETA %.0f s", (double) (harvested - done) / rate);
        else if (!end_ms && !harvest_done)
            printf(", ETA when the harvest is done");
        printf("\n");
    }
    const ax_llm_counts_t *u = &rec->llm;
    if (u->requests || u->cache_hits)
        printf("  llm: %lld requests, %lld cache hits, %lld prompt + %lld completion tokens (%lld cached), "
               "%lld 429s, $%.4f\n",
               (long long) u->requests, (long long) u->cache_hits, (long long) u->prompt_tokens,
               (long long) u->completion_tokens, (long long) u->cached_tokens, (long long) u->http_429s,
               rec->llm_cost_usd);
    if (rec->output)
        printf("  output: %s\n", rec->output);
    if (rec->error)
        printf("  error: %s\n", rec->error);
}

int ax_client_status(redisContext *c, const char *run)
{
    char *err = NULL, **runs = NULL;
    size_t n = 0;
    ax_run_record_t rec;
    ax_run_store_broker_t broker;
    if (run) {
        if (ax_run_store_load(c, run, &rec, &err) <= 0) {
            fprintf(stderr, "arxdigest: run %s not found%s%s\n", run, err ? ": " : "", err ? err : "");
            free(err);
            return -1;
        }
        ax_run_store_get_broker(c, &broker, NULL);
        s_print_run(c, run, &rec, &broker);
        ax_run_record_clear(&rec);
        return 0;
    }
    if (ax_run_store_list(c, 1, 10, &runs, &n, &err) < 0) {
        fprintf(stderr, "arxdigest: %s\n", err ? err : "redis error");
        free(err);
        return -1;
    }
    if (n == 0)
        printf("no runs yet\n");
    ax_run_store_get_broker(c, &broker, NULL);
    for (size_t i = 0; i < n; i++) {
        if (ax_run_store_load(c, runs[i], &rec, NULL) >= 0)
            s_print_run(c, runs[i], &rec, &broker);
        ax_run_record_clear(&rec);
    }
    ax_strv_free(&runs, n);
    return 0;
}
