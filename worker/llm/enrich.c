/*  enrich.c: cache, cluster limiter and curl multi for a worker's LLM requests (see enrich.h).
 *
 *  A request moves: added -> cache hit (done) | ready queue -> limiter grant -> in flight
 *  (curl) -> done | back to the ready queue (retry with a not-before time, or a repair).
 *  The ready queue is FIFO; a request that must wait (backoff) keeps its place but is
 *  skipped until its time. The limiter answers "wait N ms" for the whole worker, which
 *  then asks again no sooner than that.
 */
#define _GNU_SOURCE
#include "enrich.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "limiter.h"
#include "run_store.h"
#include "llm.h"
#include "log.h"
#include "metrics.h"
#include "text.h"

#define AX_LLM_MAX_ATTEMPTS 8           /* transport/5xx/overload retries of one request */
#define AX_LLM_MAX_RATE_LIMITED 100     /* 429s of one request before it fails */
#define AX_LLM_MAX_REPAIRS 1            /* repair requests after an invalid answer */
#define AX_LLM_BACKOFF_MS 500           /* first backoff; doubles, with jitter */
#define AX_LLM_BACKOFF_MAX_MS 60000
#define AX_ENRICH_MAX_SOCKS 256         /* sockets curl may ask us to watch (>= worker.concurrency) */
#define AX_ENRICH_POOL 256              /* idle curl handles kept for reuse */
#define AX_ENRICH_LOOKUP_BATCH 256      /* cache keys asked in one MGET */

typedef struct s_req {
    ax_enricher_t *e;
    void *job;
    char *run;
    const ax_paper_t *paper;
    const ax_profile_t *profile;
    ax_verdict_t *verdict;
    char key[65];                   /* cache key */
    int attempts, repairs;
    int rate_limited;               /* 429s: flow control, not failures (own cap) */
    char *previous_answer, *repair_error;
    char *body;
    int est_tokens;
    char lease[40];
    CURL *easy;
    char *resp;
    size_t resp_len, resp_cap;
    int too_large;                  /* the body passed llm.max_response_bytes: cut off */
    char *h_retry_after, *h_retry_after_ms, *h_reset_req, *h_reset_tok, *h_rem_req, *h_rem_tok;
    int64_t not_before_ms;
    struct s_req *next;
} s_req_t;

typedef struct s_acct {
    char *run;
    ax_llm_counts_t n;
    double cost;
    int queued;                     /* on the turn's batch, dropped once Redis took it */
    struct s_acct *next;
} s_acct_t;

typedef struct s_fatal {
    char *run, *message;
    struct s_fatal *next;
} s_fatal_t;

struct ax_enricher {
    CURLM *multi;
    ax_redis_link_t *redis;
    ax_limiter_t limiter;
    ax_llm_opts_t opts;             /* language/interest set per request */
    char *url, *auth, *model;
    int timeout_s, concurrency;
    size_t max_response_bytes;      /* llm.max_response_bytes */
    int64_t max_retry_after_ms;     /* llm.max_retry_after_s, in ms */
    int64_t refused_until_ms;       /* a 429/503 asked for longer than that: until this time, */
    char *refused_reason;           /* requests fail with this reason (the provider's words) */
    double price_in, price_out, budget_usd;
    ax_enrich_done_fn *done;
    void *arg;
    s_req_t *lookup_head, *lookup_tail;  /* added, not yet looked up in the cache */
    size_t n_lookup;
    int64_t lookup_retry_ms;        /* the last lookup failed: not again before this */
    s_req_t *ready_head, *ready_tail;
    s_req_t *active;                /* in flight (linked by next) */
    size_t n_ready, n_active;
    int64_t blocked_until_ms;       /* the limiter said wait */
    s_fatal_t *fatal;
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
    char *budget_run;               /* last run checked against the budget */
    int budget_spent;
};

/* ---------------------------------------------------------------- request life */

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
    free(r->h_retry_after);
    free(r->h_retry_after_ms);
    free(r->h_reset_req);
    free(r->h_reset_tok);
    free(r->h_rem_req);
    free(r->h_rem_tok);
    r->h_retry_after = r->h_retry_after_ms = r->h_reset_req = r->h_reset_tok = r->h_rem_req = r->h_rem_tok = NULL;
}

/*  Ends the transfer (the body stays: a retry sends the same request). */
static void s_req_free(s_req_t *r)
{
    s_req_reset_transfer(r);
    free(r->body);
    free(r->run);
    free(r->previous_answer);
    free(r->repair_error);
    free(r);
}

/*  The request is over: its verdict is final. */
static void s_req_finish(s_req_t *r)
{
    ax_enricher_t *e = r->e;
    void *job = r->job;
    s_req_free(r);
    e->done(e->arg, job);
}

static void s_req_fail(s_req_t *r, const char *fmt, const char *what)
{
    ax_verdict_t *v = r->verdict;
    free(v->reason);
    if (asprintf(&v->reason, fmt, what ? what : "?") < 0)
        v->reason = NULL;
    v->state = AX_STATE_FAILED;
    ax_log_warn("paper not enriched|run=%s paper=%s profile=%s reason=\"%s\"", r->run, r->paper->id,
                r->profile->name, v->reason ? v->reason : "?");
    s_req_finish(r);
}

static void s_ready_push(ax_enricher_t *e, s_req_t *r, int front)
{
    r->next = NULL;
    if (!e->ready_head)
        e->ready_head = e->ready_tail = r;
    else if (front) {
        r->next = e->ready_head;
        e->ready_head = r;
    } else {
        e->ready_tail->next = r;
        e->ready_tail = r;
    }
    e->n_ready++;
}

/*  The same counters, process-wide, for /metrics. */
static void s_account_metrics(const ax_llm_counts_t *u, double cost)
{
    ax_metrics_add("arxdigest_worker_llm_requests_total", NULL, (double) u->requests);
    ax_metrics_add("arxdigest_worker_llm_cache_hits_total", NULL, (double) u->cache_hits);
    ax_metrics_add("arxdigest_worker_llm_tokens_total", "kind=\"prompt\"", (double) u->prompt_tokens);
    ax_metrics_add("arxdigest_worker_llm_tokens_total", "kind=\"completion\"", (double) u->completion_tokens);
    ax_metrics_add("arxdigest_worker_llm_tokens_total", "kind=\"cached\"", (double) u->cached_tokens);
    ax_metrics_add("arxdigest_worker_llm_rate_limited_total", NULL, (double) u->http_429s);
    ax_metrics_add("arxdigest_worker_llm_cost_usd_total", NULL, cost);
}

/*  Adds counters to the run. They are summed in memory during a turn and written at its
 *  end, in the turn's one pipeline (s_flush_turn), before the requests granted in the turn
 *  go out: a request is counted before the provider sees it, the tokens of an answer in
 *  the turn it arrives. A job's RESULT is only ACKed, hence DONE and the run completed, in
 *  a later turn, so the report always sees them. */
static void s_account(ax_enricher_t *e, const char *run, const ax_llm_counts_t *u, double cost)
{
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
    a->n.requests += u->requests;
    a->n.cache_hits += u->cache_hits;
    a->n.prompt_tokens += u->prompt_tokens;
    a->n.completion_tokens += u->completion_tokens;
    a->n.cached_tokens += u->cached_tokens;
    a->n.http_429s += u->http_429s;
    a->cost += cost;
    s_account_metrics(u, cost);
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
        if (!a->queued) {
            pp = &a->next;
            continue;
        }
        if (rc < 0) {                   /* not known to be written: again next turn */
            a->queued = 0;
            pp = &a->next;
            continue;
        }
        *pp = a->next;
        free(a->run);
        free(a);
    }
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
    static const struct {
        const char *name;
        size_t off;
    } wanted[] = {
        {"retry-after", offsetof(s_req_t, h_retry_after)},
        {"retry-after-ms", offsetof(s_req_t, h_retry_after_ms)},
        {"x-ratelimit-reset-requests", offsetof(s_req_t, h_reset_req)},
        {"x-ratelimit-reset-tokens", offsetof(s_req_t, h_reset_tok)},
        {"x-ratelimit-remaining-requests", offsetof(s_req_t, h_rem_req)},
        {"x-ratelimit-remaining-tokens", offsetof(s_req_t, h_rem_tok)},
    };
    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t nl = (size_t) (colon - data);
    for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++) {
        if (strlen(wanted[i].name) != nl || strncasecmp(data, wanted[i].name, nl) != 0)
            continue;
        char **slot = (char **) ((char *) r + wanted[i].off);
        const char *v = colon + 1;
        size_t vl = len - nl - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        free(*slot);
        *slot = strndup(v, vl);
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

/*  Starts the transfer of a granted request. -1 on OOM / curl refusal. */
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
    r->next = e->active;
    e->active = r;
    e->n_active++;
    ax_llm_counts_t sent = {.requests = 1};
    s_account(e, r->run, &sent, 0);     /* written before the request goes out (s_flush_turn) */
    ax_metrics_set("arxdigest_worker_llm_requests_in_flight", NULL, (double) e->n_active);
    return 0;
}

/*  Sets the request's body for its current state (first try or repair). -1 on OOM. */
static int s_build(ax_enricher_t *e, s_req_t *r)
{
    ax_llm_opts_t o = e->opts;
    o.language = r->profile->language;
    o.interest = r->profile->interest;
    free(r->body);
    r->body = ax_llm_request_body(&o, r->paper, r->previous_answer, r->repair_error);
    if (!r->body)
        return -1;
    r->est_tokens = ax_llm_estimate_tokens(r->body, e->opts.max_tokens);
    return 0;
}

/*  Back in the queue, to be sent again not before now + delay (with jitter). */
static void s_retry_later(ax_enricher_t *e, s_req_t *r, int64_t hint_ms)
{
    int64_t backoff = AX_LLM_BACKOFF_MS << (r->attempts < 8 ? r->attempts : 8);
    if (backoff > AX_LLM_BACKOFF_MAX_MS)
        backoff = AX_LLM_BACKOFF_MAX_MS;
    backoff = backoff / 2 + rand() % (backoff / 2 + 1);           /* jitter: [b/2, b] */
    if (hint_ms > backoff)
        backoff = hint_ms;
    s_req_reset_transfer(r);
    r->not_before_ms = ax_mono_ms() + backoff;
    s_ready_push(e, r, 0);
}

static double s_cost(const ax_enricher_t *e, const ax_llm_usage_t *u)
{
    return ((double) u->prompt_tokens * e->price_in + (double) u->completion_tokens * e->price_out) / 1e6;
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

/*  The provider asks us to wait retry_ms, longer than llm.max_retry_after_s: nobody waits
 *  for it. For max_retry_after_s every request of this worker fails at once with the
 *  provider's words (the run goes on and finishes); then the endpoint is asked again. The
 *  cluster is not paused: a shared Redis would hold every later run too. */
static void s_refuse(ax_enricher_t *e, int64_t retry_ms, const char *error)
{
    char *reason = NULL;
    if (asprintf(&reason, "LLM: the provider asks to wait %lld s, longer than llm.max_retry_after_s (%lld s): %s",
                 (long long) ((retry_ms + 999) / 1000), (long long) (e->max_retry_after_ms / 1000),
                 error ? error : "?") < 0)
        reason = NULL;
    int64_t now = ax_mono_ms();
    if (now >= e->refused_until_ms)
        ax_log_warn("LLM provider refuses for longer than llm.max_retry_after_s: papers fail|wait_s=%lld "
                    "refused_for_s=%lld error=\"%s\"",
                    (long long) ((retry_ms + 999) / 1000), (long long) (e->max_retry_after_ms / 1000),
                    error ? error : "?");
    e->refused_until_ms = now + e->max_retry_after_ms;
    if (reason) {
        free(e->refused_reason);
        e->refused_reason = reason;
    } else if (!e->refused_reason)
        e->refused_reason = strdup("LLM: the provider asks to wait longer than llm.max_retry_after_s");
}

/*  A transfer ended: classify the answer and move the request on. */
static void s_on_done(ax_enricher_t *e, s_req_t *r, CURLcode code)
{
    long status = 0;
    redisContext *c = ax_redis_link_get(e->redis);
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    for (s_req_t **pp = &e->active; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->next = NULL;
    e->n_active--;
    ax_metrics_set("arxdigest_worker_llm_requests_in_flight", NULL, (double) e->n_active);
    curl_off_t total_us = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK)
        ax_metrics_observe("arxdigest_worker_llm_request_duration_seconds", NULL, (double) total_us / 1e6);
    ax_llm_headers_t h = {r->h_retry_after, r->h_retry_after_ms, r->h_reset_req, r->h_reset_tok, r->h_rem_req,
                          r->h_rem_tok};
    ax_llm_t answer = {0};
    ax_llm_usage_t usage = {0};
    int64_t retry_ms = -1;
    char *raw = NULL, *error = NULL;
    ax_llm_outcome_t out;
    if (code == CURLE_WRITE_ERROR && r->too_large) {
        out = AX_LLM_FAIL_PAPER;
        if (asprintf(&error, "LLM answer cut off: longer than llm.max_response_bytes (%zu bytes)",
                     e->max_response_bytes) < 0)
            error = NULL;
    } else if (code != CURLE_OK) {
        out = AX_LLM_RETRY;
        if (asprintf(&error, "transport: %s", curl_easy_strerror(code)) < 0)
            error = NULL;
    } else
        out = ax_llm_parse_response(status, r->resp ? r->resp : "", r->resp_len, &h, &answer, &usage, &retry_ms,
                                    &raw, &error);
    s_redact_key(e, error);             /* providers quote a wrong key back: it goes to logs and Redis */
    int actual = code == CURLE_OK && (usage.prompt_tokens || usage.completion_tokens)
                     ? (int) (usage.prompt_tokens + usage.completion_tokens)
                     : -1;
    if (ax_limiter_release_batch(e->batch, &e->limiter, r->lease, r->est_tokens, actual) < 0)
        ax_log_warn("limiter release dropped: out of memory (the lease expires)|run=%s paper=%s", r->run, r->paper->id);
    r->lease[0] = '\0';
    ax_llm_counts_t n = {.prompt_tokens = usage.prompt_tokens,
                         .completion_tokens = usage.completion_tokens, .cached_tokens = usage.cached_tokens,
                         .http_429s = status == 429};
    s_account(e, r->run, &n, s_cost(e, &usage));
    switch (out) {
    case AX_LLM_OK: {
        char *json = ax_llm_to_json(&answer);
        if (!json || ax_llm_cache_put_batch(e->batch, r->key, json, strlen(json)) < 0)
            ax_log_warn("LLM answer not cached: out of memory|run=%s paper=%s", r->run, r->paper->id);
        free(json);
        if (!answer.model)
            answer.model = strdup(e->model);
        ax_llm_clear(&r->verdict->llm);
        r->verdict->llm = answer;
        memset(&answer, 0, sizeof answer);
        r->verdict->state = AX_STATE_ENRICHED;
        s_req_finish(r);
        break;
    }
    case AX_LLM_REPAIR:
        if (r->repairs < AX_LLM_MAX_REPAIRS) {
            r->repairs++;
            free(r->previous_answer);
            free(r->repair_error);
            r->previous_answer = raw;
            r->repair_error = error;
            raw = error = NULL;
            s_req_reset_transfer(r);
            if (s_build(e, r) < 0)
                s_req_fail(r, "LLM: %s", "out of memory");
            else
                s_ready_push(e, r, 1);
        } else
            s_req_fail(r, "LLM answer invalid after a repair request: %s", error);
        break;
    case AX_LLM_RETRY:
        if (retry_ms > e->max_retry_after_ms) {
            s_refuse(e, retry_ms, error);
            s_req_fail(r, "%s", e->refused_reason);
            break;
        }
        if (status == 429 && c) {
            int64_t pause = retry_ms > 0 ? retry_ms : 1000;
            char *perr = NULL;
            if (ax_limiter_pause(c, &e->limiter, pause, &perr) < 0)
                free(perr);
            ax_log_warn("LLM 429: cluster paused|run=%s paper=%s ms=%lld", r->run, r->paper->id, (long long) pause);
        }
        if (status == 429 && retry_ms >= 0) {
            /* The provider's limit speaks: flow control, not a failure. Retry when it says
             * (the cluster is paused until then too), without exponential backoff. */
            if (++r->rate_limited >= AX_LLM_MAX_RATE_LIMITED)
                s_req_fail(r, "LLM: still rate limited after 100 tries: %s", error);
            else {
                s_req_reset_transfer(r);
                r->not_before_ms = ax_mono_ms() + retry_ms + 20 + rand() % 50;
                s_ready_push(e, r, 1);
            }
        } else if (++r->attempts >= AX_LLM_MAX_ATTEMPTS)
            s_req_fail(r, "LLM: gave up after 8 attempts: %s", error);
        else {
            ax_log_debug("LLM request retried|run=%s paper=%s attempt=%d error=\"%s\"", r->run, r->paper->id, r->attempts,
                         error ? error : "?");
            s_retry_later(e, r, retry_ms);
        }
        break;
    case AX_LLM_FAIL_PAPER:
        s_req_fail(r, r->too_large ? "%s" : "LLM refused the paper: %s", error);
        break;
    case AX_LLM_FATAL: {
        s_fatal_t *f = calloc(1, sizeof *f);
        if (f && (f->run = strdup(r->run)) && (f->message = strdup(error ? error : "fatal LLM error"))) {
            f->next = e->fatal;
            e->fatal = f;
        } else if (f) {
            free(f->run);
            free(f);
        }
        ax_log_error("LLM error stops the run|run=%s error=\"%s\"", r->run, error ? error : "?");
        s_req_fail(r, "LLM: %s", error);
        break;
    }
    }
    ax_llm_clear(&answer);
    free(raw);
    free(error);
}

/* ---------------------------------------------------------------- scheduling */

/*  1 when the run's budget is spent. Asked before every request when a budget is set, so
 *  the overshoot is at most the requests already in flight across the cluster. */
static int s_budget_spent(ax_enricher_t *e, const char *run)
{
    if (e->budget_usd <= 0)
        return 0;
    if (e->budget_run && strcmp(e->budget_run, run) == 0 && e->budget_spent)
        return 1;                       /* spent stays spent */
    redisContext *c = ax_redis_link_get(e->redis);
    char *err = NULL;
    int spent = c ? ax_run_store_llm_budget_spent(c, run, e->budget_usd, &err) : 0;
    free(err);
    free(e->budget_run);
    e->budget_run = strdup(run);
    e->budget_spent = spent == 1;
    return e->budget_spent;
}

/*  Takes r off the ready queue; prev is the request before it (NULL: r is the head). */
static void s_ready_unlink(ax_enricher_t *e, s_req_t *r, s_req_t *prev)
{
    if (prev)
        prev->next = r->next;
    else
        e->ready_head = r->next;
    if (e->ready_tail == r)
        e->ready_tail = prev;
    r->next = NULL;
    e->n_ready--;
}

/*  Starts queued requests while the worker has room and the limiter grants: the requests
 *  that may go now are asked for in one limiter call, which grants a prefix of them. */
static void s_send_ready(ax_enricher_t *e)
{
    int64_t now = ax_mono_ms();
    if (now < e->blocked_until_ms || !e->n_ready)
        return;
    s_req_t *want[AX_LIMITER_MAX_BATCH];
    int est[AX_LIMITER_MAX_BATCH], n = 0;
    size_t room = e->n_active < (size_t) e->concurrency ? (size_t) e->concurrency - e->n_active : 0;
    for (s_req_t *r = e->ready_head, *prev = NULL, *next; r && (size_t) n < room && n < AX_LIMITER_MAX_BATCH;
         r = next) {
        next = r->next;
        const char *fatal = ax_enricher_fatal(e, r->run);
        if (fatal) {                    /* the run is stopping: no more requests */
            s_ready_unlink(e, r, prev);
            s_req_fail(r, "LLM: run stopped: %s", fatal);
            continue;
        }
        if (now < e->refused_until_ms) {   /* the provider said not for a long while */
            s_ready_unlink(e, r, prev);
            s_req_fail(r, "%s", e->refused_reason ? e->refused_reason : "LLM: refused");
            continue;
        }
        if (r->not_before_ms > now) {
            prev = r;
            continue;
        }
        if (s_budget_spent(e, r->run)) {
            s_ready_unlink(e, r, prev);
            free(r->verdict->reason);
            if (asprintf(&r->verdict->reason, "LLM budget of $%.2f spent: not enriched", e->budget_usd) < 0)
                r->verdict->reason = NULL;
            s_req_finish(r);            /* stays "matched": left unenriched, with the reason */
            continue;
        }
        want[n] = r;
        est[n++] = r->est_tokens;
        prev = r;
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
        free(leases);
        e->blocked_until_ms = now + 1000;
        return;
    }
    if (granted < n)
        e->blocked_until_ms = now + (wait > 0 ? wait : 1);
    for (int i = 0; i < granted; i++) {
        s_req_t *r = want[i], *prev = NULL;
        for (s_req_t *q = e->ready_head; q != r; q = q->next)
            prev = q;                   /* granted ones are near the head: short walks */
        s_ready_unlink(e, r, prev);
        memcpy(r->lease, leases[i], sizeof r->lease);
        if (s_start(e, r) < 0) {
            ax_limiter_release_batch(e->batch, &e->limiter, r->lease, r->est_tokens, 0);
            r->lease[0] = '\0';
            s_retry_later(e, r, 1000);
        }
    }
    free(leases);
}

/*  Answers what the cache knows for the requests added since the last turn, in one MGET
 *  per AX_ENRICH_LOOKUP_BATCH; the others go to the ready queue. While Redis is away they
 *  wait (nothing could be sent without the limiter anyway). */
static void s_lookup(ax_enricher_t *e)
{
    if (!e->n_lookup || ax_mono_ms() < e->lookup_retry_ms)
        return;
    redisContext *c = ax_redis_link_get(e->redis);
    if (!c) {
        e->lookup_retry_ms = ax_mono_ms() + 1000;
        return;
    }
    while (e->lookup_head) {
        s_req_t *batch[AX_ENRICH_LOOKUP_BATCH];
        const char *keys[AX_ENRICH_LOOKUP_BATCH];
        char *values[AX_ENRICH_LOOKUP_BATCH];
        size_t lens[AX_ENRICH_LOOKUP_BATCH], n = 0;
        for (s_req_t *r = e->lookup_head; r && n < AX_ENRICH_LOOKUP_BATCH; r = r->next) {
            batch[n] = r;
            keys[n++] = r->key;
        }
        char *err = NULL;
        if (ax_llm_cache_get_many(c, keys, n, values, lens, &err) < 0) {
            ax_log_warn("LLM cache unavailable, will retry|error=\"%s\"", err ? err : "?");
            free(err);
            e->lookup_retry_ms = ax_mono_ms() + 1000;
            return;
        }
        e->lookup_head = batch[n - 1]->next;
        if (!e->lookup_head)
            e->lookup_tail = NULL;
        e->n_lookup -= n;
        for (size_t i = 0; i < n; i++) {
            s_req_t *r = batch[i];
            r->next = NULL;
            ax_llm_t l = {0};
            if (values[i] && ax_llm_from_json(values[i], lens[i], &l, NULL) == 0) {
                ax_llm_clear(&r->verdict->llm);
                r->verdict->llm = l;
                r->verdict->state = AX_STATE_ENRICHED;
                ax_llm_counts_t hit = {.cache_hits = 1};
                s_account(e, r->run, &hit, 0);
                s_req_finish(r);
            } else if (s_build(e, r) < 0)
                s_req_fail(r, "LLM: %s", "out of memory");
            else
                s_ready_push(e, r, 0);
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
    r->e = e;
    r->job = job;
    r->paper = paper;
    r->profile = profile;
    r->verdict = verdict;
    ax_llm_cache_key(e->model, profile->language, profile->interest, paper, r->key);
    if (e->lookup_tail)
        e->lookup_tail->next = r;
    else
        e->lookup_head = r;
    e->lookup_tail = r;
    e->n_lookup++;
    return 0;
}

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

int ax_enricher_pollitems(ax_enricher_t *e, zmq_pollitem_t *items, int max, long *timeout_ms)
{
    int n = 0;
    int64_t now = ax_mono_ms();
    for (size_t i = 0; i < e->n_socks && n < max; i++)
        items[n++] = (zmq_pollitem_t){NULL, e->socks[i].fd, e->socks[i].events, 0};
    if (e->timer_at_ms >= 0) {
        long t = e->timer_at_ms > now ? (long) (e->timer_at_ms - now) : 0;
        if (t < *timeout_ms)
            *timeout_ms = t;
    }
    /* Queued requests matter only when one could start: with every slot in flight, a
     * finished transfer (a socket event) is what frees the next one. */
    if (e->n_lookup) {
        long t = e->lookup_retry_ms > now ? (long) (e->lookup_retry_ms - now) : 0;
        if (t < *timeout_ms)
            *timeout_ms = t;
    }
    if (e->n_ready && e->n_active < (size_t) e->concurrency) {
        int64_t at = INT64_MAX;
        for (s_req_t *q = e->ready_head; q && at > now; q = q->next)
            if (q->not_before_ms < at)
                at = q->not_before_ms;
        if (e->blocked_until_ms > at)
            at = e->blocked_until_ms;
        long t = at > now ? (long) (at - now) : 0;
        if (t < *timeout_ms)
            *timeout_ms = t;
    }
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
    return e->n_lookup + e->n_ready + e->n_active;
}

const char *ax_enricher_fatal(const ax_enricher_t *e, const char *run)
{
    for (const s_fatal_t *f = e->fatal; f; f = f->next)
        if (strcmp(f->run, run) == 0)
            return f->message;
    return NULL;
}

/* ---------------------------------------------------------------- life cycle */

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
    e->price_in = cfg->llm.price_input_per_mtok;
    e->price_out = cfg->llm.price_output_per_mtok;
    e->budget_usd = cfg->llm.budget_usd;
    e->max_response_bytes = (size_t) cfg->llm.max_response_bytes;
    e->max_retry_after_ms = (int64_t) cfg->llm.max_retry_after_s * 1000;
    size_t bl = strlen(cfg->llm.base_url);
    while (bl && cfg->llm.base_url[bl - 1] == '/')
        bl--;
    if (asprintf(&e->url, "%.*s/chat/completions", (int) bl, cfg->llm.base_url) < 0 ||
        asprintf(&e->auth, "Authorization: Bearer %s", api_key) < 0 || !(e->model = strdup(cfg->llm.model))) {
        *err = strdup("out of memory");
        goto fail;
    }
    e->opts.model = e->model;
    e->opts.json_schema = strcmp(cfg->llm.response_format, "json_schema") == 0;
    e->opts.temperature = cfg->llm.temperature;
    e->opts.max_tokens = cfg->llm.max_tokens;
    ax_limiter_init(&e->limiter, cfg->llm.base_url, cfg->llm.model, cfg->llm.rpm, cfg->llm.tpm,
                    cfg->llm.max_in_flight, (cfg->llm.timeout_s + 30) * 1000);
    if (!(e->batch = ax_redis_batch_new()) ||
        !(e->headers = curl_slist_append(NULL, "Content-Type: application/json")) ||
        !(e->headers = curl_slist_append(e->headers, e->auth))) {
        *err = strdup("out of memory");
        goto fail;
    }
    if (!(e->multi = curl_multi_init())) {
        *err = strdup("curl: cannot create a multi handle");
        goto fail;
    }
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long) e->concurrency);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    e->timer_at_ms = -1;
    return e;
fail:
    ax_enricher_destroy(&e);
    return NULL;
}

void ax_enricher_destroy(ax_enricher_t **self_p)
{
    ax_enricher_t *e = self_p ? *self_p : NULL;
    if (!e)
        return;
    while (e->lookup_head) {
        s_req_t *r = e->lookup_head;
        e->lookup_head = r->next;
        s_req_free(r);
    }
    while (e->ready_head) {
        s_req_t *r = e->ready_head;
        e->ready_head = r->next;
        s_req_free(r);
    }
    while (e->active) {
        s_req_t *r = e->active;
        e->active = r->next;
        if (r->lease[0] && e->batch)
            ax_limiter_release_batch(e->batch, &e->limiter, r->lease, r->est_tokens, -1);
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
    while (e->fatal) {
        s_fatal_t *f = e->fatal;
        e->fatal = f->next;
        free(f->run);
        free(f->message);
        free(f);
    }
    curl_slist_free_all(e->headers);
    if (e->auth) {
        memset(e->auth, 0, strlen(e->auth));        /* the key does not outlive us in memory */
        free(e->auth);
    }
    free(e->url);
    free(e->model);
    free(e->budget_run);
    free(e->refused_reason);
    free(e);
    *self_p = NULL;
}
