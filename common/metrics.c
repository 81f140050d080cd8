/*  metrics.c: the metrics registry, its text exposition and the /metrics + /healthz
 *  server (see metrics.h).
 *
 *  The registry is a short list of families, each with a short list of series: a few
 *  dozen entries, found by name with strcmp under one mutex. Updates happen per job or
 *  per LLM request, never per paper, so this costs nothing measurable. Label values can
 *  come from peers (a profile named in a RESULT), so a family holds at most
 *  AX_METRICS_MAX_SERIES label sets: a new one beyond that is counted in the family's
 *  `_other` series (every label value "_other"), which keeps the sums right and /metrics
 *  small; the first fold of a family is logged and every fold counted in
 *  arxdigest_metrics_labels_folded_total{metric}.
 *
 *  The HTTP server is libmicrohttpd with its own polling thread (epoll where there is
 *  one), on a socket we bind ourselves so that "address in use" is a plain errno and
 *  port 0 works for tests. Idle connections are closed after S_HTTP_TIMEOUT_S, and one
 *  address may hold only S_HTTP_PER_IP of the S_HTTP_MAX connections: a host that opens
 *  many and sends nothing cannot keep /healthz from the health check.
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "text.h"

#define S_HTTP_TIMEOUT_S 3          /* an idle HTTP connection is closed after this */
#define S_HTTP_MAX 512              /* HTTP connections at once (file descriptors) */
#define S_HTTP_PER_IP 64            /* ... of which one client address may hold */
#define S_FOLDED "arxdigest_metrics_labels_folded_total"

typedef struct s_series {
    char *labels;                   /* preformatted, "" = none */
    double value;                   /* counter / gauge value; histogram sum */
    uint64_t count;                 /* histogram: observations */
    uint64_t *buckets;              /* histogram: per bound, not cumulative */
    struct s_series *next;
} s_series_t;

typedef struct s_family {
    char *name, *help;
    ax_metric_type_t type;
    double *bounds;                 /* histogram upper bounds, increasing */
    size_t n_bounds;
    s_series_t *series, *series_tail;   /* in creation order */
    size_t n_series;
    bool folding;                   /* reached AX_METRICS_MAX_SERIES (logged once) */
    struct s_family *next;
} s_family_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_family_t *s_families, *s_families_tail;
static _Atomic int64_t s_heartbeat_ms;
static struct MHD_Daemon *s_daemon;
static int s_port;

/*  Seconds: from a cache hit on a local Redis to an LLM that takes its two minutes. */
static const double s_default_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

/* ---------------------------------------------------------------- catalogue */

/*  What each component exposes (docs/metrics.md says the same in prose). `zero` lists the
 *  label sets, separated by '|', whose series exist from the start; "" = the unlabelled
 *  series; NULL = series appear with their first event. */
typedef struct {
    const char *component, *name;
    ax_metric_type_t type;
    const char *help, *zero;
} s_def_t;

#define C AX_METRIC_COUNTER
#define G AX_METRIC_GAUGE
#define H AX_METRIC_HISTOGRAM
static const s_def_t s_catalogue[] = {
    {"*", "arxdigest_process_start_time_seconds", G, "Start time of the process, unix seconds.", ""},
    {"*", S_FOLDED, C, "Updates of label sets beyond the cap of a metric, counted in its _other series.", NULL},
    {"*", "arxdigest_protocol_frames_dropped_total", C,
     "Messages dropped as malformed (docs/protocol.md section 2), by socket and reason.", NULL},
    {"broker", "arxdigest_broker_jobs_queued", G, "Jobs of the active run waiting for a worker.", ""},
    {"broker", "arxdigest_broker_jobs_in_flight", G, "Jobs leased to workers.", ""},
    {"broker", "arxdigest_broker_jobs_created_total", C, "Jobs created from harvested papers.", ""},
    {"broker", "arxdigest_broker_jobs_done_total", C, "Jobs finished with DONE (results stored by the collector).", ""},
    {"broker", "arxdigest_broker_jobs_failed_total", C,
     "Jobs failed for good after broker.max_attempts (their papers recorded failed).", ""},
    {"broker", "arxdigest_broker_jobs_requeued_total", C,
     "Failed dispatches re-queued: lease expired, worker lost or FAIL.", ""},
    {"broker", "arxdigest_broker_jobs_handed_back_total", C,
     "Jobs re-queued at once because their worker left with BYE (not a failed attempt).", ""},
    {"broker", "arxdigest_broker_papers_harvested_total", C, "New papers harvested (after de-duplication).", ""},
    {"broker", "arxdigest_broker_papers_duplicate_total", C, "Harvested papers dropped as duplicates.", ""},
    {"broker", "arxdigest_broker_workers", G, "Workers alive (registered, heartbeating).", ""},
    {"broker", "arxdigest_broker_runs_active", G, "Runs being harvested or dispatched (0 or 1).", ""},
    {"broker", "arxdigest_broker_runs_waiting", G, "Runs queued behind the active one.", ""},
    {"broker", "arxdigest_broker_runs_total", C, "Runs finished, by final state.", "state=\"collected\"|state=\"failed\""},
    {"worker", "arxdigest_worker_jobs_received_total", C, "JOBs received from the broker.", ""},
    {"worker", "arxdigest_worker_jobs_done_total", C, "Jobs whose RESULT the collector ACKed (DONE sent).", ""},
    {"worker", "arxdigest_worker_jobs_failed_total", C, "Jobs answered with FAIL.", ""},
    {"worker", "arxdigest_worker_jobs_in_hand", G, "Jobs held from JOB to ACK (judging, enriching, awaiting ACK).", ""},
    {"worker", "arxdigest_worker_papers_total", C, "Verdicts sent (one per paper and profile), by profile and state.",
     NULL},
    {"worker", "arxdigest_worker_llm_requests_total", C, "LLM requests made (retries and repairs included).", ""},
    {"worker", "arxdigest_worker_llm_tokens_total", C, "LLM tokens, by kind.",
     "kind=\"prompt\"|kind=\"completion\"|kind=\"cached\""},
    {"worker", "arxdigest_worker_llm_cost_usd_total", C, "LLM cost in US dollars (llm.price_per_mtok).", ""},
    {"worker", "arxdigest_worker_llm_rate_limited_total", C, "LLM answers with HTTP 429.", ""},
    {"worker", "arxdigest_worker_llm_cache_hits_total", C, "Enrichments answered by the LLM cache.", ""},
    {"worker", "arxdigest_worker_llm_requests_in_flight", G, "LLM transfers in flight on this worker.", ""},
    {"worker", "arxdigest_worker_llm_request_duration_seconds", H, "Duration of LLM transfers (curl total time).",
     ""},
    {"collector", "arxdigest_collector_results_stored_total", C, "RESULTs stored in Redis (redeliveries included).",
     ""},
    {"collector", "arxdigest_collector_results_rejected_total", C, "RESULTs dropped as malformed.", ""},
    {"collector", "arxdigest_collector_results_unstored_total", C,
     "RESULTs not stored (Redis unreachable or refused): not ACKed, the worker re-sends.", ""},
    {"collector", "arxdigest_collector_acks_total", C, "ACKs sent to workers.", ""},
    {"collector", "arxdigest_collector_papers_total", C,
     "Verdicts in stored RESULTs (one per paper and profile), by profile and state; redeliveries included.", NULL},
    {"collector", "arxdigest_collector_renders_total", C, "Runs rendered, by outcome.",
     "outcome=\"ok\"|outcome=\"failed\""},
    {"collector", "arxdigest_collector_render_duration_seconds", H, "Time to render a run's digests.", ""},
};
#undef C
#undef G
#undef H

/* ---------------------------------------------------------------- registry */

/*  Under s_lock. */
static s_family_t *s_family_find(const char *name)
{
    for (s_family_t *f = s_families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/*  Under s_lock. NULL on OOM. */
static s_family_t *s_family_new(const char *name, ax_metric_type_t type, const char *help, const double *bounds,
                                size_t n_bounds)
{
    s_family_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (type == AX_METRIC_HISTOGRAM) {
        if (!bounds) {
            bounds = s_default_bounds;
            n_bounds = sizeof s_default_bounds / sizeof *s_default_bounds;
        }
        f->bounds = malloc((n_bounds + 1) * sizeof *f->bounds);
        if (f->bounds)
            memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
        f->n_bounds = n_bounds;
    }
    if (!f->name || !f->help || (type == AX_METRIC_HISTOGRAM && !f->bounds)) {
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
        return NULL;
    }
    if (s_families_tail)
        s_families_tail->next = f;
    else
        s_families = f;
    s_families_tail = f;
    return f;
}

/*  Under s_lock: the series of f with exactly these labels, or NULL. */
static s_series_t *s_series_find(const s_family_t *f, const char *labels)
{
    for (s_series_t *s = f->series; s; s = s->next)
        if (strcmp(s->labels, labels) == 0)
            return s;
    return NULL;
}

/*  Under s_lock: a new series of f, appended. NULL on OOM. */
static s_series_t *s_series_new(s_family_t *f, const char *labels)
{
    s_series_t *s = calloc(1, sizeof *s);
    if (!s || !(s->labels = strdup(labels)) ||
        (f->type == AX_METRIC_HISTOGRAM && !(s->buckets = calloc(f->n_bounds + 1, sizeof *s->buckets)))) {
        if (s)
            free(s->labels);
        free(s);
        return NULL;
    }
    if (f->series_tail)
        f->series_tail->next = s;
    else
        f->series = s;
    f->series_tail = s;
    f->n_series++;
    return s;
}

/*  labels (`k="v",k2="v2"`) with every value replaced by "_other", into out. */
static void s_other_labels(const char *labels, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *p = labels; *p;) {
        const char *eq = strchr(p, '=');
        if (!eq || eq[1] != '"')
            break;
        int n = snprintf(out + len, size - len, "%s%.*s=\"_other\"", len ? "," : "", (int) (eq - p), p);
        if (n < 0 || (size_t) n >= size - len) {
            out[len] = '\0';
            break;
        }
        len += (size_t) n;
        for (p = eq + 2; *p && *p != '"'; p += p[0] == '\\' && p[1] ? 2 : 1)
            ;
        p += *p == '"';
        p += *p == ',';
    }
}

static s_series_t *s_series_get(s_family_t *f, const char *labels);

/*  Under s_lock: the series a new label set of a full family f is counted in; logs the
 *  first fold of f, counts each. NULL on OOM. */
static s_series_t *s_series_fold(s_family_t *f, const char *labels)
{
    char other[256];
    s_other_labels(labels, other, sizeof other);
    if (!f->folding)
        ax_log_warn("metric has too many label sets: new ones are counted as _other|metric=%s max=%d labels=%s",
                    f->name, AX_METRICS_MAX_SERIES, labels);
    f->folding = true;
    s_family_t *c = s_family_find(S_FOLDED);
    if (f != c && (c || (c = s_family_new(S_FOLDED, AX_METRIC_COUNTER, NULL, NULL, 0)))) {
        char metric[192] = "";
        ax_metrics_label(metric, sizeof metric, "metric", f->name);
        s_series_t *n = s_series_get(c, metric);
        if (n)
            n->value += 1;
    }
    s_series_t *s = s_series_find(f, other);
    return s ? s : s_series_new(f, other);
}

/*  Under s_lock: the series of f with these labels, made at first use; a label set
 *  beyond AX_METRICS_MAX_SERIES is folded (s_series_fold). NULL on OOM. */
static s_series_t *s_series_get(s_family_t *f, const char *labels)
{
    labels = labels ? labels : "";
    s_series_t *s = s_series_find(f, labels);
    if (s)
        return s;
    return f->n_series < AX_METRICS_MAX_SERIES ? s_series_new(f, labels) : s_series_fold(f, labels);
}

int ax_metrics_define(const char *name, ax_metric_type_t type, const char *help, const double *bounds,
                      size_t n_bounds)
{
    if (!name || !*name)
        return -1;
    for (size_t i = 1; bounds && i < n_bounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return -1;
    pthread_mutex_lock(&s_lock);
    int rc = s_family_find(name) || s_family_new(name, type, help, bounds, n_bounds) ? 0 : -1;
    pthread_mutex_unlock(&s_lock);
    return rc;
}

void ax_metrics_define_component(const char *component)
{
    for (size_t i = 0; i < sizeof s_catalogue / sizeof *s_catalogue; i++) {
        const s_def_t *d = &s_catalogue[i];
        if (strcmp(d->component, "*") != 0 && (!component || strcmp(d->component, component) != 0))
            continue;
        ax_metrics_define(d->name, d->type, d->help, NULL, 0);
        if (!d->zero)
            continue;
        pthread_mutex_lock(&s_lock);
        s_family_t *f = s_family_find(d->name);
        const char *p = d->zero;
        do {
            const char *bar = strchr(p, '|');
            size_t len = bar ? (size_t) (bar - p) : strlen(p);
            char labels[128];
            snprintf(labels, sizeof labels, "%.*s", (int) len, p);
            if (f)
                s_series_get(f, labels);
            p = bar ? bar + 1 : NULL;
        } while (p);
        pthread_mutex_unlock(&s_lock);
    }
    ax_metrics_set("arxdigest_process_start_time_seconds", NULL, (double) ax_now_ms() / 1000.0);
}

/*  Under s_lock: the series of name/labels, declaring the family as `type` if needed. */
static s_series_t *s_lookup(const char *name, const char *labels, ax_metric_type_t type)
{
    s_family_t *f = s_family_find(name);
    if (!f && !(f = s_family_new(name, type, NULL, NULL, 0)))
        return NULL;
    if (f->type == AX_METRIC_HISTOGRAM && type != AX_METRIC_HISTOGRAM)
        return NULL;                    /* add/set on a histogram: our bug, ignored */
    if (f->type != AX_METRIC_HISTOGRAM && type == AX_METRIC_HISTOGRAM)
        return NULL;
    return s_series_get(f, labels);
}

void ax_metrics_add(const char *name, const char *labels, double delta)
{
    pthread_mutex_lock(&s_lock);
    s_series_t *s = s_lookup(name, labels, AX_METRIC_COUNTER);
    if (s)
        s->value += delta;
    pthread_mutex_unlock(&s_lock);
}

void ax_metrics_set(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&s_lock);
    s_series_t *s = s_lookup(name, labels, AX_METRIC_GAUGE);
    if (s)
        s->value = value;
    pthread_mutex_unlock(&s_lock);
}

void ax_metrics_observe(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&s_lock);
    s_series_t *s = s_lookup(name, labels, AX_METRIC_HISTOGRAM);
    if (s) {
        s_family_t *f = s_family_find(name);
        size_t b = 0;
        while (b < f->n_bounds && value > f->bounds[b])
            b++;
        s->buckets[b]++;                /* b == n_bounds: only +Inf */
        s->count++;
        s->value += value;
    }
    pthread_mutex_unlock(&s_lock);
}

double ax_metrics_get(const char *name, const char *labels)
{
    double v = 0;
    pthread_mutex_lock(&s_lock);
    s_family_t *f = s_family_find(name);
    for (s_series_t *s = f ? f->series : NULL; s; s = s->next)
        if (strcmp(s->labels, labels ? labels : "") == 0)
            v = f->type == AX_METRIC_HISTOGRAM ? (double) s->count : s->value;
    pthread_mutex_unlock(&s_lock);
    return v;
}

void ax_metrics_reset(void)
{
    pthread_mutex_lock(&s_lock);
    while (s_families) {
        s_family_t *f = s_families;
        s_families = f->next;
        while (f->series) {
            s_series_t *s = f->series;
            f->series = s->next;
            free(s->labels);
            free(s->buckets);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
    }
    s_families_tail = NULL;
    pthread_mutex_unlock(&s_lock);
}

char *ax_metrics_label(char *buf, size_t size, const char *key, const char *value)
{
    size_t len = strnlen(buf, size), keep = len;
    if (size == 0)
        return buf;
    char *p = buf + len, *end = buf + size - 1;     /* room for the NUL */
    if (len > 0 && p < end)
        *p++ = ',';
    for (const char *k = key; *k && p < end; k++)
        *p++ = *k;
    for (const char *q = "=\""; *q && p < end; q++)
        *p++ = *q;
    for (const char *v = value ? value : ""; *v && p < end; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        if (!esc) {
            *p++ = *v;
            continue;
        }
        if (end - p < 2) {
            p = end;
            break;
        }
        *p++ = esc[0];
        *p++ = esc[1];
    }
    if (p < end) {
        *p++ = '"';
        *p = '\0';
    } else
        buf[keep] = '\0';               /* did not fit: drop this label whole */
    return buf;
}

/* ---------------------------------------------------------------- exposition */

/*  A sample value as the format wants it: shortest round-tripping decimal, +Inf, NaN. */
static void s_number(char *out, size_t size, double v)
{
    if (isnan(v))
        snprintf(out, size, "NaN");
    else if (isinf(v))
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(out, size, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, size, "%.17g", v);
    }
}

static void s_help(FILE *out, const s_family_t *f)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    if (*f->help) {
        fprintf(out, "# HELP %s ", f->name);
        for (const char *h = f->help; *h; h++)
            fputs(*h == '\\' ? "\\\\" : *h == '\n' ? "\\n" : (char[2]){*h, 0}, out);
        fputc('\n', out);
    }
    fprintf(out, "# TYPE %s %s\n", f->name, types[f->type]);
}

/*  name{labels[,extra]} value */
static void s_sample(FILE *out, const char *name, const char *suffix, const char *labels, const char *extra,
                     double v)
{
    char num[64];
    s_number(num, sizeof num, v);
    int has = *labels || extra;
    fprintf(out, "%s%s%s%s%s%s%s %s\n", name, suffix, has ? "{" : "", labels, *labels && extra ? "," : "",
            extra ? extra : "", has ? "}" : "", num);
}

char *ax_metrics_render(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    pthread_mutex_lock(&s_lock);
    for (const s_family_t *f = s_families; f; f = f->next) {
        if (!f->series)
            continue;
        s_help(out, f);
        for (const s_series_t *s = f->series; s; s = s->next) {
            if (f->type != AX_METRIC_HISTOGRAM) {
                s_sample(out, f->name, "", s->labels, NULL, s->value);
                continue;
            }
            uint64_t cum = 0;
            char le[80], num[64];
            for (size_t b = 0; b <= f->n_bounds; b++) {
                cum += s->buckets[b];
                s_number(num, sizeof num, b < f->n_bounds ? f->bounds[b] : INFINITY);
                snprintf(le, sizeof le, "le=\"%s\"", num);
                s_sample(out, f->name, "_bucket", s->labels, le, (double) cum);
            }
            s_sample(out, f->name, "_sum", s->labels, NULL, s->value);
            s_sample(out, f->name, "_count", s->labels, NULL, (double) s->count);
        }
    }
    pthread_mutex_unlock(&s_lock);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---------------------------------------------------------------- HTTP */

void ax_metrics_heartbeat(void)
{
    atomic_store(&s_heartbeat_ms, ax_mono_ms());
}

static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned int status, char *body, const char *type)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result s_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                    const char *version, const char *upload, size_t *upload_size, void **state)
{
    static const char *plain = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("method not allowed\n"), plain);
    if (strcmp(url, "/metrics") == 0) {
        char *text = ax_metrics_render();
        if (!text)
            return s_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, strdup("out of memory\n"), plain);
        return s_reply(conn, MHD_HTTP_OK, text, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (strcmp(url, "/healthz") == 0) {
        int64_t age = ax_mono_ms() - atomic_load(&s_heartbeat_ms);
        if (age > AX_METRICS_STALE_MS) {
            char *msg = NULL;
            if (asprintf(&msg, "stale: loop silent for %lld ms\n", (long long) age) < 0)
                msg = strdup("stale\n");
            return s_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg, plain);
        }
        return s_reply(conn, MHD_HTTP_OK, strdup("ok\n"), plain);
    }
    return s_reply(conn, MHD_HTTP_NOT_FOUND, strdup("not found: try /metrics or /healthz\n"), plain);
}

/*  Binds and listens on "host:port" / "[v6]:port". The socket, or -1 with *err. */
static int s_listen(const char *addr, char **err)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1]) {
        if (asprintf(err, "bad address '%s': must be host:port", addr) < 0)
            *err = NULL;
        return -1;
    }
    char host[256];
    const char *h = addr;
    size_t hlen = (size_t) (colon - addr);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    snprintf(host, sizeof host, "%.*s", (int) hlen, h);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int gai = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0) {
        if (asprintf(err, "bad address '%s': %s", addr, gai_strerror(gai)) < 0)
            *err = NULL;
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        /* SO_REUSEADDR (not SO_REUSEPORT): a restart binds at once, a second process does not. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0 && asprintf(err, "cannot listen on %s: %s", addr, strerror(saved)) < 0)
        *err = NULL;
    return fd;
}

int ax_metrics_start(const char *addr, const char *component, char **err)
{
    *err = NULL;
    ax_metrics_heartbeat();
    if (!addr || !*addr)
        return 1;
    if (s_daemon) {
        *err = strdup("metrics server already running");
        return -1;
    }
    ax_metrics_define_component(component);
    int fd = s_listen(addr, err);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int port = 0;
    if (getsockname(fd, (struct sockaddr *) &ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                              : ((struct sockaddr_in *) &ss)->sin_port);
    s_daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
                                NULL, NULL, s_on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) S_HTTP_TIMEOUT_S,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned int) S_HTTP_MAX,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) S_HTTP_PER_IP, MHD_OPTION_END);
    if (!s_daemon) {
        close(fd);
        if (asprintf(err, "cannot start the HTTP server on %s", addr) < 0)
            *err = NULL;
        return -1;
    }
    s_port = port;
    return 0;
}

int ax_metrics_port(void)
{
    return s_daemon ? s_port : 0;
}

void ax_metrics_stop(void)
{
    if (!s_daemon)
        return;
    MHD_stop_daemon(s_daemon);          /* also closes the listening socket */
    s_daemon = NULL;
    s_port = 0;
}
