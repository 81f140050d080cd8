/*  enrich.c: the I/O shell around a worker's LLM requests (see enrich.h).
 *
 *  What happens to a request (queues, retries, repairs, 429s, refusals, fatal errors,
 *  the budget) is decided by the pure state machine of llm_life.h; this file feeds it the
 *  events and carries out its decisions: cache lookups in one MGET per batch, limiter
 *  grants in one script call per turn, the transfers on curl's multi interface, and the
 *  turn's one Redis pipeline (lease releases, cache writes, usage). One turn
 *  (ax_enricher_perform): finished transfers, cache lookups, new grants, then the
 *  pipeline, and only then do the new transfers start, so a request is counted in Redis
 *  before the provider sees it.
 */
#define _GNU_SOURCE
#include "enrich.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "limiter.h"
#include "run_store.h"
#include "llm.h"
#include "llm_life.h"
#include "log.h"
#include "metrics.h"
#include "text.h"

#define AX_ENRICH_MAX_SOCKS 256         /* sockets curl may ask us to watch (>= worker.concurrency) */
#define AX_ENRICH_POOL 256              /* idle curl handles kept for reuse */
#define AX_ENRICH_LOOKUP_BATCH 256      /* cache keys asked in one MGET */
#define AX_ENRICH_LIMITER_RETRY_MS 1000 /* after the limiter could not be asked */

/*  The response headers llm.h reads, in the order of ax_llm_headers_t. */
static const char *const s_header_names[] = {
    "retry-after", "retry-after-ms", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
    "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
};
#define S_N_HEADERS (sizeof s_header_names / sizeof *s_header_names)

typedef struct s_req {
    ax_llm_req_t life;              /* first: the state machine's part (s_req_of) */
    ax_enricher_t *e;
    void *job;
    char *run;
    const ax_paper_t *paper;
    const ax_profile_t *profile;
    ax_verdict_t *verdict;
    char key[65];                   /* cache key */
    char *body;                     /* the request as sent (again, on a retry) */
    int est_tokens;
    char lease[40];                 /* the limiter's grant while in flight, "" when none */
    CURL *easy;
    char *resp;
    size_t resp_len, resp_cap;
    int too_large;                  /* the body passed llm.max_response_bytes: cut off */
    char *headers[S_N_HEADERS];     /* as named in s_header_names, NULL when absent */
} s_req_t;

typedef struct s_acct {
    char *run;
    ax_llm_counts_t n;
    double cost;
    int queued;                     /* on the turn's batch, dropped once Redis took it */
    struct s_acct *next;
} s_acct_t;

struct ax_enricher {
    CURLM *multi;
    ax_redis_link_t *redis;
    ax_limiter_t limiter;
    ax_llm_life_t *life;            /* what happens to the requests */
    ax_llm_opts_t opts;             /* language/interest set per request */
    char *url, *auth, *model;
    int timeout_s, concurrency;
    size_t max_response_bytes;      /* llm.max_response_bytes */
    int max_retry_after_s;          /* llm.max_retry_after_s */
    double budget_usd;
    ax_enrich_done_fn *done;
    void *arg;
    s_acct_t *acct;                 /* counters not yet written to the runs */
    ax_redis_batch_t *batch;        /* lease releases, cache writes and counters of this turn */
    struct curl_slist *headers;     /* the same for every request */
    CURL *pool[AX_ENRICH_POOL];     /* idle easy handles, reused (their connections stay warm) */
    size_t n_pool;
    struct {
        curl_socket_t fd;
        short events;               /* ZMQ_POLLIN / ZMQ_POLLOUT */
    } socks[AX_ENRICH_MAX_SOCKS];   /* what curl asked us to watch */
    size_t n_socks;
    int64_t timer_at_ms;            /* when curl wants to be called back, -1: never */
};

/* ---------------------------------------------------------------- requests */

static s_req_t *s_req_of(ax_llm_req_t *q)
{
    return (s_req_t *) q;           /* life is the first member */
}

/*  Ends the transfer (the body stays: a retry sends the same request). */
static void s_req_reset_transfer(s_req_t *r)
{
    if (r->easy) {
        ax_enricher_t *e = r->e;
        curl_multi_remove_handle(e->multi, r->easy);
        if (e->n_pool < AX_ENRICH_POOL)
            e->pool[e->n_pool++] = r->easy;
        else
            curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    free(r->resp);
    r->resp = NULL;
    r->resp_len = r->resp_cap = 0;
    r->too_large = 0;
    for (size_t i = 0; i < S_N_HEADERS; i++) {
        free(r->headers[i]);
        r->headers[i] = NULL;
    }
}

static void s_req_free(s_req_t *r)
{
    s_req_reset_transfer(r);
    ax_llm_req_clear(&r->life);
    free(r->body);
    free(r->run);
    free(r);
}

/*  The request is over (out of the machine's queues): its verdict is final. */
static void s_req_finish(s_req_t *r)
{
    ax_enricher_t *e = r->e;
    void *job = r->job;
    s_req_free(r);
    e->done(e->arg, job);
}

/*  Fails the paper with reason (taken; NULL: out of memory). */
static void s_req_fail(s_req_t *r, char *reason)
{
    ax_verdict_t *v = r->verdict;
    free(v->reason);
    v->reason = reason;
    v->state = AX_STATE_FAILED;
    ax_log_warn("paper not enriched|run=%s paper=%s profile=%s reason=\"%s\"", r->run, r->paper->id,
                r->profile->name, reason ? reason : "?");
    s_req_finish(r);
}

/* ---------------------------------------------------------------- accounting */

/*  Adds what a decision says was spent to the run (and to /metrics). The counters are summed in memory
 *  during a turn and written at its end, in the turn's one pipeline (s_flush_turn),
 *  before the requests granted in the turn go out: a request is counted before the
 *  provider sees it, the tokens of an answer in the turn it arrives. A job's RESULT is
 *  only ACKed, hence DONE and the run completed, in a later turn, so the report always
 *  sees them. */
static void s_account(ax_enricher_t *e, const char *run, const ax_llm_decision_t *d)
{
    ax_llm_counts_t u = {.requests = d->sent, .cache_hits = d->cache_hit, .prompt_tokens = d->usage.prompt_tokens,
                         .completion_tokens = d->usage.completion_tokens, .cached_tokens = d->usage.cached_tokens,
                         .http_429s = d->http_429};
    if (!u.requests && !u.cache_hits && !u.prompt_tokens && !u.completion_tokens && !u.cached_tokens &&
        !u.http_429s && d->cost_usd == 0)
        return;                         /* nothing spent */
    s_acct_t *a = e->acct;
    while (a && strcmp(a->run, run) != 0)
        a = a->next;
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a || !(a->run = strdup(run))) {
            free(a);
            return;
        }
        a->next = e->acct;
        e->acct = a;
    }
    a->n.requests += u.requests;
    a->n.cache_hits += u.cache_hits;
    a->n.prompt_tokens += u.prompt_tokens;
    a->n.completion_tokens += u.completion_tokens;
    a->n.cached_tokens += u.cached_tokens;
    a->n.http_429s += u.http_429s;
    a->cost += d->cost_usd;
    ax_metrics_add("arxdigest_worker_llm_requests_total", NULL, (double) u.requests);
    ax_metrics_add("arxdigest_worker_llm_cache_hits_total", NULL, (double) u.cache_hits);
    ax_metrics_add("arxdigest_worker_llm_tokens_total", "kind=\"prompt\"", (double) u.prompt_tokens);
    ax_metrics_add("arxdigest_worker_llm_tokens_total", "kind=\"completion\"", (double) u.completion_tokens);
    ax_metrics_add("arxdigest_worker_llm_tokens_total", "kind=\"cached\"", (double) u.cached_tokens);
    ax_metrics_add("arxdigest_worker_llm_rate_limited_total", NULL, (double) u.http_429s);
    ax_metrics_add("arxdigest_worker_llm_cost_usd_total", NULL, d->cost_usd);
}

/*  Sends the turn's lease releases, cache writes and counters in one round trip. What
 *  Redis does not take of the first two is dropped with a log line: a lease expires by
 *  itself, an answer not cached is asked again only if the paper comes again. Counters
 *  are kept and sent again next turn when the connection failed (they are what was paid). */
static void s_flush_turn(ax_enricher_t *e)
{
    for (s_acct_t *a = e->acct; a; a = a->next)
        if (ax_run_store_add_llm_batch(e->batch, a->run, &a->n, a->cost) == 0)
            a->queued = 1;
    if (!ax_redis_batch_size(e->batch))
        return;
    char *err = NULL;
    int rc = ax_redis_batch_flush(ax_redis_link_get(e->redis), e->batch, &err);
    if (rc != 0)
        ax_log_warn("Redis did not take the turn's LLM writes|failed=%d error=\"%s\"%s", rc, err ? err : "?",
                    rc < 0 && e->acct ? " accounting=kept" : "");
    free(err);
    for (s_acct_t **pp = &e->acct; *pp;) {
        s_acct_t *a = *pp;
        if (!a->queued || rc < 0) {     /* rc < 0: not known to be written: again next turn */
            a->queued = 0;
            pp = &a->next;
            continue;
        }
        *pp = a->next;
        free(a->run);
        free(a);
    }
}

/*  1 when the run's budget is spent (Redis says so). Asked before every request of a run
 *  not yet known spent when a budget is set, so the overshoot is at most the requests
 *  already in flight across the cluster. */
static int s_budget_spent(ax_enricher_t *e, const char *run)
{
    if (e->budget_usd <= 0)
        return 0;
    redisContext *c = ax_redis_link_get(e->redis);
    char *err = NULL;
    int spent = c ? ax_run_store_llm_budget_spent(c, run, e->budget_usd, &err) : 0;
    free(err);
    return spent == 1;
}

/* ---------------------------------------------------------------- decisions */

/*  Sets the request's body for its current state (first try or repair). -1 on OOM. */
static int s_build(ax_enricher_t *e, s_req_t *r)
{
    ax_llm_opts_t o = e->opts;
    o.language = r->profile->language;
    o.interest = r->profile->interest;
    free(r->body);
    r->body = ax_llm_request_body(&o, r->paper, r->life.previous_answer, r->life.repair_error);
    if (!r->body)
        return -1;
    r->est_tokens = ax_llm_estimate_tokens(r->body, e->opts.max_tokens);
    return 0;
}

/*  Carries out the machine's decision d about r and accounts what it cost; answer is the
 *  ENRICHED answer (taken; NULL otherwise). r is freed when d finishes it. d is cleared. */
static void s_execute(ax_enricher_t *e, s_req_t *r, ax_llm_decision_t *d, ax_llm_t *answer)
{
    s_account(e, r->run, d);
    switch (d->what) {
    case AX_LLM_DO_BUILD:
        if (s_build(e, r) < 0) {
            ax_llm_life_remove(e->life, &r->life);
            s_req_fail(r, strdup("LLM: out of memory"));
        }
        break;
    case AX_LLM_DO_ENRICHED:
        ax_llm_clear(&r->verdict->llm);
        r->verdict->llm = *answer;
        memset(answer, 0, sizeof *answer);
        r->verdict->state = AX_STATE_ENRICHED;
        s_req_finish(r);
        break;
    case AX_LLM_DO_FAILED:
        s_req_fail(r, d->reason);
        d->reason = NULL;
        break;
    case AX_LLM_DO_UNENRICHED:               /* stays "matched": left unenriched, with the reason */
        free(r->verdict->reason);
        r->verdict->reason = d->reason;
        d->reason = NULL;
        s_req_finish(r);
        break;
    default:                                 /* NOTHING, WAIT, SEND: in the machine's queues */
        break;
    }
    ax_llm_decision_clear(d);
}

/* ---------------------------------------------------------------- curl */

static size_t s_on_body(char *data, size_t size, size_t n, void *userp)
{
    s_req_t *r = userp;
    size_t len = size * n, max = r->e->max_response_bytes;
    if (len > max - r->resp_len) {
        r->too_large = 1;
        return 0;                       /* an endless or giant answer: curl ends the transfer */
    }
    if (r->resp_len + len + 1 > r->resp_cap) {
        size_t cap = (r->resp_len + len + 1) * 2;
        if (cap > max + 1)
            cap = max + 1;
        char *p = realloc(r->resp, cap);
        if (!p)
            return 0;                   /* makes curl fail the transfer: retried */
        r->resp = p;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, data, len);
    r->resp_len += len;
    r->resp[r->resp_len] = '\0';
    return len;
}

/*  Keeps the headers llm.h needs (names are case-insensitive). */
static size_t s_on_header(char *data, size_t size, size_t n, void *userp)
{
    s_req_t *r = userp;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t nl = (size_t) (colon - data);
    for (size_t i = 0; i < S_N_HEADERS; i++) {
        if (strlen(s_header_names[i]) != nl || strncasecmp(data, s_header_names[i], nl) != 0)
            continue;
        const char *v = colon + 1;
        size_t vl = len - nl - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        free(r->headers[i]);
        r->headers[i] = strndup(v, vl);
    }
    return len;
}

/*  An easy handle with the options every request shares: from the pool, or new. */
static CURL *s_easy(ax_enricher_t *e)
{
    if (e->n_pool)
        return e->pool[--e->n_pool];
    CURL *easy = curl_easy_init();
    if (!easy)
        return NULL;
    curl_easy_setopt(easy, CURLOPT_URL, e->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, e->headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long) e->timeout_s);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "arxdigest");
    return easy;
}

/*  Starts the transfer of a granted request (it goes out when curl is next driven).
 *  -1 on OOM / curl refusal. */
static int s_start(ax_enricher_t *e, s_req_t *r)
{
    if (!(r->easy = s_easy(e)))
        return -1;
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(r->body));
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    if (curl_multi_add_handle(e->multi, r->easy) != CURLM_OK) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        return -1;
    }
    return 0;
}

/*  Masks every occurrence of our API key in text (in place): "sk-abc…" -> "sk-*****…". */
static void s_redact_key(const ax_enricher_t *e, char *text)
{
    const char *key = e->auth ? e->auth + strlen("Authorization: Bearer ") : NULL;
    size_t n = key ? strlen(key) : 0;
    if (!text || n < 6)
        return;                         /* (a key that short would mask ordinary words) */
    for (char *at = strstr(text, key); at; at = strstr(at + n, key))
        memset(at + 3, '*', n - 3);
}

/*  What the ended transfer of r brought: *rep for the machine, the answer into *answer
 *  when valid. Returns the error message that rep->error points to (caller frees; NULL
 *  when none); rep->answer is the caller's to free too. */
static char *s_classify(ax_enricher_t *e, s_req_t *r, CURLcode code, ax_llm_reply_t *rep, ax_llm_t *answer)
{
    char *error = NULL;
    memset(rep, 0, sizeof *rep);
    rep->retry_after_ms = -1;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &rep->http_status);
    if (code == CURLE_WRITE_ERROR && r->too_large) {
        rep->outcome = AX_LLM_FAIL_PAPER;
        rep->cut_off = 1;
    } else if (code != CURLE_OK) {
        rep->outcome = AX_LLM_RETRY;
        if (asprintf(&error, "transport: %s", curl_easy_strerror(code)) < 0)
            error = NULL;
    } else {
        char **h = r->headers;
        ax_llm_headers_t hs = {h[0], h[1], h[2], h[3], h[4], h[5]};
        rep->outcome = ax_llm_parse_response(rep->http_status, r->resp ? r->resp : "", r->resp_len, &hs, answer,
                                             &rep->usage, &rep->retry_after_ms, &rep->answer, &error);
    }
    s_redact_key(e, error);             /* providers quote a wrong key back: it goes to logs and Redis */
    rep->error = error;
    return error;
}

/*  A transfer ended: its lease goes back, the machine decides, the decision is carried out. */
static void s_on_done(ax_enricher_t *e, s_req_t *r, CURLcode code)
{
    curl_off_t total_us = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK)
        ax_metrics_observe("arxdigest_worker_llm_request_duration_seconds", NULL, (double) total_us / 1e6);
    ax_llm_reply_t rep;
    ax_llm_t answer = {0};
    char *error = s_classify(e, r, code, &rep, &answer);
    const char *why = error ? error : "?";
    int actual = code == CURLE_OK && (rep.usage.prompt_tokens || rep.usage.completion_tokens)
                     ? (int) (rep.usage.prompt_tokens + rep.usage.completion_tokens)
                     : -1;
    if (ax_limiter_release_batch(e->batch, &e->limiter, r->lease, r->est_tokens, actual) < 0)
        ax_log_warn("limiter release dropped: out of memory (the lease expires)|run=%s paper=%s", r->run, r->paper->id);
    r->lease[0] = '\0';
    s_req_reset_transfer(r);
    ax_llm_decision_t d;
    ax_llm_life_reply(e->life, &r->life, ax_mono_ms(), &rep, &d);
    ax_metrics_set("arxdigest_worker_llm_requests_in_flight", NULL, (double) ax_llm_life_in_flight(e->life));
    redisContext *c = d.pause_ms > 0 ? ax_redis_link_get(e->redis) : NULL;
    if (c) {
        char *perr = NULL;
        if (ax_limiter_pause(c, &e->limiter, d.pause_ms, &perr) < 0)
            free(perr);
        ax_log_warn("LLM 429: cluster paused|run=%s paper=%s ms=%lld", r->run, r->paper->id, (long long) d.pause_ms);
    }
    if (d.refuses)
        ax_log_warn("LLM provider refuses for longer than llm.max_retry_after_s: papers fail|wait_s=%lld "
                    "refused_for_s=%lld error=\"%s\"", (long long) ((rep.retry_after_ms + 999) / 1000),
                    (long long) e->max_retry_after_s, why);
    if (d.stops_run)
        ax_log_error("LLM error stops the run|run=%s error=\"%s\"", r->run, why);
    if (d.attempt)
        ax_log_debug("LLM request retried|run=%s paper=%s attempt=%d error=\"%s\"", r->run, r->paper->id, d.attempt, why);
    if (d.what == AX_LLM_DO_ENRICHED) {
        char *json = ax_llm_to_json(&answer);
        if (!json || ax_llm_cache_put_batch(e->batch, r->key, json, strlen(json)) < 0)
            ax_log_warn("LLM answer not cached: out of memory|run=%s paper=%s", r->run, r->paper->id);
        free(json);
        if (!answer.model)
            answer.model = strdup(e->model);
    }
    s_execute(e, r, &d, &answer);
    ax_llm_clear(&answer);
    free(rep.answer);
    free(error);
}

/* ---------------------------------------------------------------- scheduling */

/*  How many more requests may be in flight (worker.concurrency). */
static size_t s_room(const ax_enricher_t *e)
{
    size_t active = ax_llm_life_in_flight(e->life);
    return active < (size_t) e->concurrency ? (size_t) e->concurrency - active : 0;
}

/*  Starts the granted requests (want[0..granted)) and counts them sent. */
static void s_start_granted(ax_enricher_t *e, ax_llm_req_t **want, int granted, char (*leases)[40])
{
    int64_t now = ax_mono_ms();
    for (int i = 0; i < granted; i++) {
        s_req_t *r = s_req_of(want[i]);
        memcpy(r->lease, leases[i], sizeof r->lease);
        if (s_start(e, r) < 0) {
            ax_limiter_release_batch(e->batch, &e->limiter, r->lease, r->est_tokens, 0);
            r->lease[0] = '\0';
            ax_llm_life_unsent(e->life, &r->life, now);
            continue;
        }
        ax_llm_decision_t d;
        ax_llm_life_sent(e->life, &r->life, &d);
        s_execute(e, r, &d, NULL);      /* written before the request goes out (s_flush_turn) */
    }
    ax_metrics_set("arxdigest_worker_llm_requests_in_flight", NULL, (double) ax_llm_life_in_flight(e->life));
}

/*  Starts queued requests while the worker has room and the limiter grants: the requests
 *  that may go now are asked for in one limiter call, which grants a prefix of them. */
static void s_send_ready(ax_enricher_t *e)
{
    int64_t now = ax_mono_ms();
    if (!ax_llm_life_pick_begin(e->life, now))
        return;
    ax_llm_req_t *want[AX_LIMITER_MAX_BATCH];
    int est[AX_LIMITER_MAX_BATCH], n = 0;
    size_t room = s_room(e);
    ax_llm_decision_t d;
    ax_llm_req_t *q;
    while ((size_t) n < room && n < AX_LIMITER_MAX_BATCH && (q = ax_llm_life_pick(e->life, &d))) {
        if (d.what == AX_LLM_DO_SEND && s_budget_spent(e, q->run))
            ax_llm_life_budget_spent(e->life, q, &d);
        if (d.what == AX_LLM_DO_SEND) {
            want[n] = q;
            est[n++] = s_req_of(q)->est_tokens;
        } else
            s_execute(e, s_req_of(q), &d, NULL);
    }
    redisContext *c = n ? ax_redis_link_get(e->redis) : NULL;
    if (!c)
        return;
    char (*leases)[40] = malloc((size_t) n * sizeof *leases);
    char *err = NULL;
    int64_t wait = 0;
    int granted = leases ? ax_limiter_acquire_n(c, e->batch, &e->limiter, n, est, leases, &wait, &err) : -1;
    if (granted < 0) {
        ax_log_warn("limiter unavailable|error=\"%s\"", err ? err : "out of memory");
        free(err);
        ax_llm_life_limited(e->life, now, AX_ENRICH_LIMITER_RETRY_MS);
    } else {
        if (granted < n)
            ax_llm_life_limited(e->life, now, wait);
        s_start_granted(e, want, granted, leases);
    }
    free(leases);
}

/*  Answers what the cache knows for the requests added since the last turn, in one MGET
 *  per AX_ENRICH_LOOKUP_BATCH; the others go to the ready queue. While Redis is away they
 *  wait (nothing could be sent without the limiter anyway). */
static void s_lookup(ax_enricher_t *e)
{
    ax_llm_req_t *batch[AX_ENRICH_LOOKUP_BATCH];
    const char *keys[AX_ENRICH_LOOKUP_BATCH];
    char *values[AX_ENRICH_LOOKUP_BATCH];
    size_t lens[AX_ENRICH_LOOKUP_BATCH], n;
    redisContext *c = NULL;
    while ((n = ax_llm_life_lookups(e->life, ax_mono_ms(), batch, AX_ENRICH_LOOKUP_BATCH)) > 0) {
        if (!c && !(c = ax_redis_link_get(e->redis))) {
            ax_llm_life_lookup_failed(e->life, ax_mono_ms());
            return;
        }
        for (size_t i = 0; i < n; i++)
            keys[i] = s_req_of(batch[i])->key;
        char *err = NULL;
        if (ax_llm_cache_get_many(c, keys, n, values, lens, &err) < 0) {
            ax_log_warn("LLM cache unavailable, will retry|error=\"%s\"", err ? err : "?");
            free(err);
            ax_llm_life_lookup_failed(e->life, ax_mono_ms());
            return;
        }
        for (size_t i = 0; i < n; i++) {
            s_req_t *r = s_req_of(batch[i]);
            ax_llm_t l = {0};
            ax_llm_decision_t d;
            if (values[i] && ax_llm_from_json(values[i], lens[i], &l, NULL) == 0)
                ax_llm_life_cache_hit(e->life, &r->life, &d);
            else
                ax_llm_life_cache_miss(e->life, &r->life, &d);
            s_execute(e, r, &d, &l);
            ax_llm_clear(&l);
            free(values[i]);
        }
    }
}

int ax_enricher_add(ax_enricher_t *e, void *job, const char *run, const ax_paper_t *paper,
                    const ax_profile_t *profile, ax_verdict_t *verdict)
{
    s_req_t *r = calloc(1, sizeof *r);
    if (!r || !(r->run = strdup(run))) {
        free(r);
        return -1;
    }
    ax_llm_req_init(&r->life, r->run);
    r->e = e;
    r->job = job;
    r->paper = paper;
    r->profile = profile;
    r->verdict = verdict;
    ax_llm_cache_key(e->model, profile->language, profile->interest, paper, r->key);
    ax_llm_life_add(e->life, &r->life);
    return 0;
}

/* ---------------------------------------------------------------- polling */

/*  curl's multi-socket interface: curl tells us which sockets to watch (s_on_socket) and
 *  when to call it back (s_on_timer); we poll exactly those with the ZeroMQ sockets and
 *  hand curl only the sockets that fired, so a turn costs O(events), not O(transfers). */
static int s_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    ax_enricher_t *e = userp;
    (void) easy;
    (void) socketp;
    size_t i = 0;
    while (i < e->n_socks && e->socks[i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < e->n_socks)
            e->socks[i] = e->socks[--e->n_socks];
        return 0;
    }
    if (i == e->n_socks) {
        if (e->n_socks == AX_ENRICH_MAX_SOCKS)
            return -1;
        e->n_socks++;
    }
    e->socks[i].fd = fd;
    e->socks[i].events = (short) (((what & CURL_POLL_IN) ? ZMQ_POLLIN : 0) | ((what & CURL_POLL_OUT) ? ZMQ_POLLOUT : 0));
    return 0;
}

static int s_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    ax_enricher_t *e = userp;
    (void) multi;
    e->timer_at_ms = timeout_ms < 0 ? -1 : ax_mono_ms() + timeout_ms;
    return 0;
}

/*  Lowers *timeout_ms to reach at_ms (a monotonic time) from now_ms. */
static void s_wake_at(long *timeout_ms, int64_t at_ms, int64_t now_ms)
{
    int64_t t = at_ms > now_ms ? at_ms - now_ms : 0;
    if (t < *timeout_ms)
        *timeout_ms = (long) t;
}

int ax_enricher_pollitems(ax_enricher_t *e, zmq_pollitem_t *items, int max, long *timeout_ms)
{
    int n = 0;
    int64_t now = ax_mono_ms();
    for (size_t i = 0; i < e->n_socks && n < max; i++)
        items[n++] = (zmq_pollitem_t){NULL, e->socks[i].fd, e->socks[i].events, 0};
    if (e->timer_at_ms >= 0)
        s_wake_at(timeout_ms, e->timer_at_ms, now);
    int64_t at = ax_llm_life_wake_ms(e->life, now, s_room(e));
    if (at != INT64_MAX)
        s_wake_at(timeout_ms, at, now);
    return n;
}

/*  Lets curl act on what is due: the sockets that fired, then its timer. */
static void s_drive(ax_enricher_t *e, const zmq_pollitem_t *items, int n)
{
    int running = 0;
    for (int i = 0; i < n; i++) {
        int flags = ((items[i].revents & ZMQ_POLLIN) ? CURL_CSELECT_IN : 0) |
                    ((items[i].revents & ZMQ_POLLOUT) ? CURL_CSELECT_OUT : 0) |
                    ((items[i].revents & ZMQ_POLLERR) ? CURL_CSELECT_ERR : 0);
        if (flags)
            curl_multi_socket_action(e->multi, items[i].fd, flags, &running);
    }
    if (e->timer_at_ms >= 0 && ax_mono_ms() >= e->timer_at_ms) {
        e->timer_at_ms = -1;
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

void ax_enricher_perform(ax_enricher_t *e, const zmq_pollitem_t *items, int n)
{
    s_drive(e, items, n);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        s_req_t *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &r);
        if (r)
            s_on_done(e, r, m->data.result);
    }
    s_lookup(e);
    s_send_ready(e);
    s_flush_turn(e);                    /* counted before they go out */
    s_drive(e, NULL, 0);                /* new transfers asked for a timer of 0: start them */
}

size_t ax_enricher_pending(const ax_enricher_t *e)
{
    return ax_llm_life_pending(e->life);
}

const char *ax_enricher_fatal(const ax_enricher_t *e, const char *run)
{
    return ax_llm_life_fatal(e->life, run);
}

/* ---------------------------------------------------------------- life cycle */

/*  A seed for the retry jitter, different in every process (two workers started together
 *  must not back off in step). */
static uint64_t s_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t) sizeof seed)
        return seed;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec) ^ ((uint64_t) getpid() << 32);
}

/*  The options and handles every request shares. -1 with *err. */
static int s_init(ax_enricher_t *e, const ax_config_t *cfg, const char *api_key, char **err)
{
    size_t bl = strlen(cfg->llm.base_url);
    while (bl && cfg->llm.base_url[bl - 1] == '/')
        bl--;
    ax_llm_life_opts_t lo = {.max_retry_after_ms = (int64_t) e->max_retry_after_s * 1000,
                             .max_response_bytes = e->max_response_bytes, .budget_usd = e->budget_usd,
                             .price_in_per_mtok = cfg->llm.price_input_per_mtok,
                             .price_out_per_mtok = cfg->llm.price_output_per_mtok};
    if (asprintf(&e->url, "%.*s/chat/completions", (int) bl, cfg->llm.base_url) < 0 ||
        asprintf(&e->auth, "Authorization: Bearer %s", api_key) < 0 || !(e->model = strdup(cfg->llm.model)) ||
        !(e->life = ax_llm_life_new(&lo, s_seed())) || !(e->batch = ax_redis_batch_new()) ||
        !(e->headers = curl_slist_append(NULL, "Content-Type: application/json")) ||
        !(e->headers = curl_slist_append(e->headers, e->auth))) {
        *err = strdup("out of memory");
        return -1;
    }
    e->opts.model = e->model;
    e->opts.json_schema = strcmp(cfg->llm.response_format, "json_schema") == 0;
    e->opts.temperature = cfg->llm.temperature;
    e->opts.max_tokens = cfg->llm.max_tokens;
    ax_limiter_init(&e->limiter, cfg->llm.base_url, cfg->llm.model, cfg->llm.rpm, cfg->llm.tpm,
                    cfg->llm.max_in_flight, (cfg->llm.timeout_s + 30) * 1000);
    if (!(e->multi = curl_multi_init())) {
        *err = strdup("curl: cannot create a multi handle");
        return -1;
    }
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long) e->concurrency);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    return 0;
}

ax_enricher_t *ax_enricher_new(const ax_config_t *cfg, const char *api_key, ax_redis_link_t *redis,
                               ax_enrich_done_fn *done, void *arg, char **err)
{
    ax_enricher_t *e = calloc(1, sizeof *e);
    *err = NULL;
    if (!e)
        return NULL;
    e->redis = redis;
    e->done = done;
    e->arg = arg;
    e->timeout_s = cfg->llm.timeout_s;
    e->concurrency = cfg->worker.concurrency;
    e->budget_usd = cfg->llm.budget_usd;
    e->max_response_bytes = (size_t) cfg->llm.max_response_bytes;
    e->max_retry_after_s = cfg->llm.max_retry_after_s;
    e->timer_at_ms = -1;
    if (s_init(e, cfg, api_key, err) < 0)
        ax_enricher_destroy(&e);
    return e;
}

void ax_enricher_destroy(ax_enricher_t **self_p)
{
    ax_enricher_t *e = self_p ? *self_p : NULL;
    if (!e)
        return;
    for (ax_llm_req_t *q; e->life && (q = ax_llm_life_any(e->life));) {
        s_req_t *r = s_req_of(q);
        if (r->lease[0] && e->batch)
            ax_limiter_release_batch(e->batch, &e->limiter, r->lease, r->est_tokens, -1);
        ax_llm_life_remove(e->life, q);
        s_req_free(r);
    }
    while (e->n_pool)
        curl_easy_cleanup(e->pool[--e->n_pool]);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    if (e->batch)
        s_flush_turn(e);                /* releases the leases of the requests just dropped */
    ax_redis_batch_destroy(&e->batch);
    while (e->acct) {
        s_acct_t *a = e->acct;
        e->acct = a->next;
        free(a->run);
        free(a);
    }
    ax_llm_life_destroy(&e->life);
    curl_slist_free_all(e->headers);
    if (e->auth) {
        memset(e->auth, 0, strlen(e->auth));        /* the key does not outlive us in memory */
        free(e->auth);
    }
    free(e->url);
    free(e->model);
    free(e);
    *self_p = NULL;
}
