/*  test_llm_request.c: the LLM request life cycle (worker/llm/llm_life.h) with a fake
 *  clock: no network, no Redis. Time is whatever the test passes; the jitter comes from a
 *  fixed seed. Each rule of the enricher is checked where a user would notice it: when a
 *  request may go again, what a paper's reason says, what is paused, refused and counted.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm_life.h"
#include "test_helpers.h"

#define T0 1000000              /* the fake clock's start, ms */
#define MAX_WAIT_MS 300000      /* llm.max_retry_after_s = 300 */

static ax_llm_life_t *s_new(uint64_t seed)
{
    ax_llm_life_opts_t o = {.max_retry_after_ms = MAX_WAIT_MS, .max_response_bytes = 4194304, .budget_usd = 0.5,
                            .price_in_per_mtok = 1.0, .price_out_per_mtok = 2.0};
    ax_llm_life_t *m = ax_llm_life_new(&o, seed);
    assert_non_null(m);
    return m;
}

/*  A new request of run, past its cache miss: queued, due now. */
static void s_add(ax_llm_life_t *m, ax_llm_req_t *q, const char *run)
{
    ax_llm_decision_t d;
    ax_llm_req_init(q, run);
    ax_llm_life_add(m, q);
    assert_int_equal(q->state, AX_LLM_REQ_LOOKUP);
    ax_llm_life_cache_miss(m, q, &d);
    assert_int_equal(d.what, AX_LLM_DO_BUILD);
    assert_int_equal(q->state, AX_LLM_REQ_READY);
}

/*  The next request picked at now (NULL: none), its decision in *d. */
static ax_llm_req_t *s_pick(ax_llm_life_t *m, int64_t now, ax_llm_decision_t *d)
{
    memset(d, 0, sizeof *d);
    if (!ax_llm_life_pick_begin(m, now))
        return NULL;
    return ax_llm_life_pick(m, d);
}

/*  Picks at now, which must give q as due, and sends it. */
static void s_send(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now)
{
    ax_llm_decision_t d;
    assert_ptr_equal(s_pick(m, now, &d), q);
    assert_int_equal(d.what, AX_LLM_DO_SEND);
    ax_llm_life_sent(m, q, &d);
    assert_int_equal(q->state, AX_LLM_REQ_IN_FLIGHT);
    assert_int_equal(d.sent, 1);
}

static void s_reply(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now, ax_llm_outcome_t outcome, long status,
                    int64_t retry_after_ms, const char *error, ax_llm_decision_t *d)
{
    ax_llm_reply_t r = {.outcome = outcome, .http_status = status, .retry_after_ms = retry_after_ms, .error = error};
    ax_llm_life_reply(m, q, now, &r, d);
}

/*  Sends q at now and answers it 503 (a retry): returns when it may go again. */
static int64_t s_fail_once(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now)
{
    ax_llm_decision_t d;
    s_send(m, q, now);
    s_reply(m, q, now, AX_LLM_RETRY, 503, -1, "HTTP 503: overloaded", &d);
    assert_int_equal(d.what, AX_LLM_DO_WAIT);
    assert_int_equal(d.at_ms, q->not_before_ms);
    return d.at_ms;
}

/*  A machine (seed 1) with a of "run" sent at T0 and b (NULL: none) of "run" queued. */
static ax_llm_life_t *s_new_sent(ax_llm_req_t *a, ax_llm_req_t *b)
{
    ax_llm_life_t *m = s_new(1);
    s_add(m, a, "run");
    if (b)
        s_add(m, b, "run");
    s_send(m, a, T0);
    return m;
}

/*  d finished its request as what with reason (NULL: any); clears d. */
static void s_expect(ax_llm_decision_t *d, ax_llm_do_t what, const char *reason)
{
    assert_int_equal(d->what, what);
    if (reason)
        assert_string_equal(d->reason, reason);
    ax_llm_decision_clear(d);
}

/* ---------------------------------------------------------------- queue */

/*  FIFO; a request not yet due keeps nobody waiting and goes when due. */
static void test_queue_fifo_skips_not_due(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(1);
    ax_llm_req_t a, b, c;
    ax_llm_decision_t d;
    s_add(m, &a, "run");
    s_add(m, &b, "run");
    s_add(m, &c, "run");
    assert_true(ax_llm_life_pick_begin(m, T0));
    assert_ptr_equal(ax_llm_life_pick(m, &d), &a);
    assert_ptr_equal(ax_llm_life_pick(m, &d), &b);
    assert_ptr_equal(ax_llm_life_pick(m, &d), &c);
    assert_null(ax_llm_life_pick(m, &d));
    int64_t at = s_fail_once(m, &a, T0);
    assert_true(ax_llm_life_pick_begin(m, at - 1));
    assert_ptr_equal(ax_llm_life_pick(m, &d), &b);
    assert_ptr_equal(ax_llm_life_pick(m, &d), &c);
    assert_null(ax_llm_life_pick(m, &d));       /* a is skipped until its time */
    ax_llm_life_sent(m, &b, &d);
    ax_llm_life_sent(m, &c, &d);
    assert_int_equal(ax_llm_life_wake_ms(m, T0, 1), at);
    assert_int_equal(ax_llm_life_wake_ms(m, T0, 0), INT64_MAX);  /* no room: a reply wakes us */
    assert_null(s_pick(m, at - 1, &d));
    assert_ptr_equal(s_pick(m, at, &d), &a);
    assert_int_equal(d.what, AX_LLM_DO_SEND);
    assert_int_equal(ax_llm_life_pending(m), 3);
    assert_int_equal(ax_llm_life_in_flight(m), 2);
    ax_llm_life_destroy(&m);
    assert_null(m);
}

/*  Cache lookups: the oldest first; a failed lookup is retried after a second; a hit is
 *  finished enriched and counted as a cache hit. */
static void test_lookup(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(1);
    ax_llm_req_t a, b, c, *qs[4];
    ax_llm_decision_t d;
    ax_llm_req_init(&a, "run");
    ax_llm_req_init(&b, "run");
    ax_llm_req_init(&c, "run");
    ax_llm_life_add(m, &a);
    ax_llm_life_add(m, &b);
    ax_llm_life_add(m, &c);
    assert_int_equal(ax_llm_life_lookups(m, T0, qs, 2), 2);
    assert_ptr_equal(qs[0], &a);
    assert_ptr_equal(qs[1], &b);
    ax_llm_life_lookup_failed(m, T0);
    assert_int_equal(ax_llm_life_lookups(m, T0 + 999, qs, 4), 0);
    assert_int_equal(ax_llm_life_wake_ms(m, T0, 8), T0 + 1000);
    assert_int_equal(ax_llm_life_lookups(m, T0 + 1000, qs, 4), 3);
    ax_llm_life_cache_hit(m, &a, &d);
    assert_int_equal(d.what, AX_LLM_DO_ENRICHED);
    assert_int_equal(d.cache_hit, 1);
    assert_int_equal(d.sent, 0);
    assert_int_equal(a.state, AX_LLM_REQ_OUT);
    ax_llm_life_cache_miss(m, &b, &d);
    assert_int_equal(ax_llm_life_lookups(m, T0 + 1000, qs, 4), 1);
    assert_ptr_equal(qs[0], &c);
    assert_int_equal(ax_llm_life_pending(m), 2);
    ax_llm_life_remove(m, &c);
    ax_llm_life_remove(m, &b);
    assert_null(ax_llm_life_any(m));
    ax_llm_life_destroy(&m);
}

/*  The limiter said wait: nothing is picked before then, and the wake-up says when. */
static void test_limiter_wait(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(1);
    ax_llm_req_t a;
    ax_llm_decision_t d;
    s_add(m, &a, "run");
    ax_llm_life_limited(m, T0, 250);
    assert_false(ax_llm_life_pick_begin(m, T0 + 249));
    assert_int_equal(ax_llm_life_wake_ms(m, T0, 4), T0 + 250);
    assert_ptr_equal(s_pick(m, T0 + 250, &d), &a);
    ax_llm_life_limited(m, T0 + 300, 0);        /* "wait 0": not in the same ms again */
    assert_false(ax_llm_life_pick_begin(m, T0 + 300));
    assert_true(ax_llm_life_pick_begin(m, T0 + 301));
    /* A granted request that could not be started goes again after a second, no attempt lost. */
    ax_llm_life_unsent(m, &a, T0 + 400);
    assert_int_equal(a.state, AX_LLM_REQ_READY);
    assert_int_equal(a.attempts, 0);
    assert_true(a.not_before_ms >= T0 + 1400);
    ax_llm_life_remove(m, &a);
    ax_llm_life_destroy(&m);
}

/* ---------------------------------------------------------------- retries */

/*  The 7 delays of one request failing 7 times with seed (ms after each failure). */
static void s_delays(uint64_t seed, int64_t out[7])
{
    ax_llm_life_t *m = s_new(seed);
    ax_llm_req_t a;
    s_add(m, &a, "run");
    int64_t now = T0;
    for (int k = 0; k < 7; k++) {
        int64_t at = s_fail_once(m, &a, now);
        out[k] = at - now;
        now = at;
    }
    ax_llm_life_remove(m, &a);
    ax_llm_life_destroy(&m);
}

/*  A failed attempt k waits b = 500 ms << k, capped at 60 s, drawn in [b/2, b]; a longer
 *  Retry-After wins; draws differ (jitter). */
static void test_retry_backoff_jitter(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(7);
    ax_llm_req_t a;
    s_add(m, &a, "run");
    int64_t now = T0;
    static const int64_t b[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000};
    for (int k = 0; k < 7; k++) {
        int64_t at = s_fail_once(m, &a, now);
        assert_int_equal(a.attempts, k + 1);
        assert_true(at - now >= b[k] / 2);
        assert_true(at - now <= b[k]);
        now = at;
    }
    ax_llm_life_remove(m, &a);
    ax_llm_life_destroy(&m);

    /* Over many seeds: the first delay is not always the same and stays in [500, 1000];
     * the 7th (500 << 7 = 64 s uncapped) never passes the 60 s cap. */
    int64_t lo = INT64_MAX, hi = 0;
    for (uint64_t seed = 1; seed <= 64; seed++) {
        int64_t w[7];
        s_delays(seed, w);
        lo = w[0] < lo ? w[0] : lo;
        hi = w[0] > hi ? w[0] : hi;
        assert_true(w[6] >= 30000 && w[6] <= 60000);
    }
    assert_true(lo >= 500 && hi <= 1000);
    assert_true(hi - lo >= 100);

    /* A 503 that says Retry-After 10 s (longer than the backoff) waits exactly that. */
    ax_llm_decision_t d;
    m = s_new(1);
    s_add(m, &a, "run");
    s_send(m, &a, T0);
    s_reply(m, &a, T0, AX_LLM_RETRY, 503, 10000, "HTTP 503: busy", &d);
    assert_int_equal(d.what, AX_LLM_DO_WAIT);
    assert_int_equal(d.at_ms, T0 + 10000);
    assert_int_equal(d.attempt, 1);
    assert_int_equal(d.pause_ms, 0);            /* only a 429 pauses the cluster */
    ax_llm_life_remove(m, &a);
    ax_llm_life_destroy(&m);
}

/*  The 8th failed attempt fails the paper. */
static void test_attempts_exhausted(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(1);
    ax_llm_req_t a;
    ax_llm_decision_t d;
    s_add(m, &a, "run");
    int64_t now = T0;
    for (int k = 0; k < 7; k++)
        now = s_fail_once(m, &a, now);
    s_send(m, &a, now);
    s_reply(m, &a, now, AX_LLM_RETRY, 0, -1, "transport: Timeout was reached", &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_string_equal(d.reason, "LLM: gave up after 8 attempts: transport: Timeout was reached");
    assert_int_equal(a.state, AX_LLM_REQ_OUT);
    assert_int_equal(ax_llm_life_pending(m), 0);
    ax_llm_decision_clear(&d);
    assert_null(d.reason);
    ax_llm_life_destroy(&m);
}

/*  A 429 that says when: the cluster is paused that long, the request goes first again at
 *  that time (+20..69 ms), no attempt consumed; the 100th fails it. A 429 that does not
 *  say: paused for a second, and an attempt with backoff. */
static void test_rate_limited(void **state)
{
    (void) state;
    ax_llm_req_t a, b;
    ax_llm_decision_t d;
    ax_llm_life_t *m = s_new_sent(&a, &b);
    s_reply(m, &a, T0, AX_LLM_RETRY, 429, 3000, "HTTP 429: slow down", &d);
    assert_int_equal(d.what, AX_LLM_DO_WAIT);
    assert_int_equal(d.pause_ms, 3000);
    assert_int_equal(d.http_429, 1);
    assert_int_equal(d.attempt, 0);
    assert_true(d.at_ms >= T0 + 3020 && d.at_ms <= T0 + 3069);
    assert_int_equal(a.attempts, 0);
    int64_t at = d.at_ms;
    assert_ptr_equal(s_pick(m, at, &d), &a);    /* ahead of b, queued before it */
    assert_ptr_equal(ax_llm_life_pick(m, &d), &b);
    ax_llm_life_remove(m, &b);

    int64_t now = at;
    for (int k = 1; k < 99; k++) {
        s_send(m, &a, now);
        s_reply(m, &a, now, AX_LLM_RETRY, 429, 0, "HTTP 429: slow down", &d);
        assert_int_equal(d.what, AX_LLM_DO_WAIT);
        assert_int_equal(d.pause_ms, 1000);     /* "0 s" still pauses a second */
        now = d.at_ms;
    }
    assert_int_equal(a.rate_limited, 99);
    assert_int_equal(a.attempts, 0);
    s_send(m, &a, now);
    s_reply(m, &a, now, AX_LLM_RETRY, 429, 500, "HTTP 429: slow down", &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_string_equal(d.reason, "LLM: still rate limited after 100 tries: HTTP 429: slow down");
    assert_int_equal(d.http_429, 1);
    ax_llm_decision_clear(&d);

    s_add(m, &a, "run");
    s_send(m, &a, T0);
    s_reply(m, &a, T0, AX_LLM_RETRY, 429, -1, "HTTP 429: overloaded", &d);
    assert_int_equal(d.what, AX_LLM_DO_WAIT);
    assert_int_equal(d.pause_ms, 1000);
    assert_int_equal(a.attempts, 1);
    assert_true(d.at_ms >= T0 + 500 && d.at_ms <= T0 + 1000);
    ax_llm_life_remove(m, &a);
    ax_llm_life_destroy(&m);
}

/*  A wait over llm.max_retry_after_s is not waited for: the paper fails with the
 *  provider's words, the cluster is not paused, queued papers fail at once, and after
 *  max_retry_after_s the endpoint is asked again. */
static void test_refused(void **state)
{
    (void) state;
    ax_llm_req_t a, b, c, e, f, g;
    ax_llm_decision_t d;
    const char *want = "LLM: the provider asks to wait 86400 s, longer than llm.max_retry_after_s (300 s): "
                       "HTTP 429: come back tomorrow";
    ax_llm_life_t *m = s_new_sent(&a, &b);
    s_add(m, &c, "other");
    s_reply(m, &a, T0, AX_LLM_RETRY, 429, 86400000, "HTTP 429: come back tomorrow", &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_string_equal(d.reason, want);
    assert_int_equal(d.pause_ms, 0);
    assert_int_equal(d.refuses, 1);
    assert_int_equal(d.http_429, 1);
    ax_llm_decision_clear(&d);
    assert_ptr_equal(s_pick(m, T0 + 1, &d), &b);
    s_expect(&d, AX_LLM_DO_FAILED, want);
    assert_ptr_equal(ax_llm_life_pick(m, &d), &c);
    s_expect(&d, AX_LLM_DO_FAILED, NULL);
    assert_int_equal(ax_llm_life_pending(m), 0);
    s_add(m, &e, "run");
    assert_ptr_equal(s_pick(m, T0 + MAX_WAIT_MS - 1, &d), &e);
    s_expect(&d, AX_LLM_DO_FAILED, NULL);
    s_add(m, &f, "run");
    s_add(m, &g, "run");
    s_send(m, &f, T0 + MAX_WAIT_MS);            /* the window is over */
    s_send(m, &g, T0 + MAX_WAIT_MS);
    /* A 503 asking too long refuses again; the log line is for the first of a window only
     * (g was in flight when f's reply came). */
    s_reply(m, &f, T0 + MAX_WAIT_MS, AX_LLM_RETRY, 503, MAX_WAIT_MS + 1, "HTTP 503: maintenance", &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_int_equal(d.refuses, 1);
    assert_contains(d.reason, "asks to wait 301 s");
    ax_llm_decision_clear(&d);
    s_reply(m, &g, T0 + MAX_WAIT_MS + 5, AX_LLM_RETRY, 429, 86400000, "HTTP 429: again", &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_int_equal(d.refuses, 0);
    assert_contains(d.reason, "HTTP 429: again");
    ax_llm_decision_clear(&d);
    ax_llm_life_destroy(&m);
    /* Exactly max_retry_after_s is waited for. */
    m = s_new(1);
    s_add(m, &f, "run");
    s_send(m, &f, T0);
    s_reply(m, &f, T0, AX_LLM_RETRY, 429, MAX_WAIT_MS, "HTTP 429: wait", &d);
    assert_int_equal(d.what, AX_LLM_DO_WAIT);
    assert_int_equal(d.pause_ms, MAX_WAIT_MS);
    ax_llm_life_remove(m, &f);
    ax_llm_life_destroy(&m);
}

/* ---------------------------------------------------------------- answers */

/*  An invalid answer gets exactly one repair request, first in the queue, showing the
 *  model its answer and the error; a second invalid answer fails the paper. */
static void test_repair(void **state)
{
    (void) state;
    ax_llm_req_t a, b;
    ax_llm_decision_t d;
    ax_llm_life_t *m = s_new_sent(&a, &b);
    ax_llm_reply_t r = {.outcome = AX_LLM_REPAIR, .http_status = 200, .retry_after_ms = -1,
                        .error = "field summary missing", .answer = strdup("{\"title\": 1}"),
                        .usage = {100, 20, 0}};
    ax_llm_life_reply(m, &a, T0, &r, &d);
    assert_int_equal(d.what, AX_LLM_DO_BUILD);
    assert_null(r.answer);                      /* taken */
    assert_string_equal(a.previous_answer, "{\"title\": 1}");
    assert_string_equal(a.repair_error, "field summary missing");
    assert_int_equal(d.usage.prompt_tokens, 100);
    assert_int_equal(d.usage.completion_tokens, 20);
    assert_int_equal(d.sent, 0);
    assert_int_equal(a.attempts, 0);
    assert_ptr_equal(s_pick(m, T0, &d), &a);    /* before b */
    ax_llm_life_sent(m, &a, &d);
    r.answer = strdup("still bad");
    r.error = "field score out of range";
    ax_llm_life_reply(m, &a, T0, &r, &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_string_equal(d.reason, "LLM answer invalid after a repair request: field score out of range");
    assert_string_equal(r.answer, "still bad"); /* not taken: the caller's */
    assert_int_equal(d.usage.prompt_tokens, 100);
    free(r.answer);
    ax_llm_decision_clear(&d);
    ax_llm_req_clear(&a);
    assert_null(a.previous_answer);
    ax_llm_life_remove(m, &b);
    ax_llm_life_destroy(&m);
}

/*  The paper itself refused (400, content filter), and a body cut off. */
static void test_fail_paper_and_cut_off(void **state)
{
    (void) state;
    ax_llm_req_t a;
    ax_llm_decision_t d;
    ax_llm_life_t *m = s_new_sent(&a, NULL);
    s_reply(m, &a, T0, AX_LLM_FAIL_PAPER, 400, -1, "HTTP 400: content filter", &d);
    s_expect(&d, AX_LLM_DO_FAILED, "LLM refused the paper: HTTP 400: content filter");
    s_add(m, &a, "run");
    s_send(m, &a, T0);
    ax_llm_reply_t r = {.outcome = AX_LLM_FAIL_PAPER, .retry_after_ms = -1, .cut_off = 1};
    ax_llm_life_reply(m, &a, T0, &r, &d);
    s_expect(&d, AX_LLM_DO_FAILED, "LLM answer cut off: longer than llm.max_response_bytes (4194304 bytes)");
    /* Cut off whatever the status said (a 503 body that never ends is not retried). */
    s_add(m, &a, "run");
    s_send(m, &a, T0);
    r = (ax_llm_reply_t){.outcome = AX_LLM_RETRY, .http_status = 503, .retry_after_ms = -1, .cut_off = 1};
    ax_llm_life_reply(m, &a, T0, &r, &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_contains(d.reason, "cut off");
    ax_llm_decision_clear(&d);
    assert_int_equal(ax_llm_life_pending(m), 0);
    ax_llm_life_destroy(&m);
}

/*  A spent budget finishes the request unenriched with the reason, and the run's other
 *  queued requests without asking again; other runs go on. */
static void test_budget_spent(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(1);
    ax_llm_req_t a, b, c;
    ax_llm_decision_t d;
    s_add(m, &a, "r1");
    s_add(m, &b, "r1");
    s_add(m, &c, "r2");
    assert_ptr_equal(s_pick(m, T0, &d), &a);
    assert_int_equal(d.what, AX_LLM_DO_SEND);
    ax_llm_life_budget_spent(m, &a, &d);
    assert_int_equal(d.what, AX_LLM_DO_UNENRICHED);
    assert_string_equal(d.reason, "LLM budget of $0.50 spent: not enriched");
    assert_int_equal(a.state, AX_LLM_REQ_OUT);
    ax_llm_decision_clear(&d);
    assert_ptr_equal(ax_llm_life_pick(m, &d), &b);
    s_expect(&d, AX_LLM_DO_UNENRICHED, "LLM budget of $0.50 spent: not enriched");
    assert_ptr_equal(ax_llm_life_pick(m, &d), &c);
    assert_int_equal(d.what, AX_LLM_DO_SEND);
    assert_null(ax_llm_life_fatal(m, "r1"));     /* a spent budget does not stop the run */
    ax_llm_life_remove(m, &c);
    ax_llm_life_destroy(&m);
}

/*  A fatal reply (401) fails its request and stops its run: the run's other requests fail
 *  with "run stopped" (queued ones when picked, those in flight when they come back to
 *  the queue); another run goes on. */
static void test_fatal_stops_run(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(1);
    ax_llm_req_t a, b, c, x;
    ax_llm_decision_t d;
    s_add(m, &a, "run");
    s_add(m, &b, "run");
    s_add(m, &c, "run");
    s_add(m, &x, "other");
    s_send(m, &a, T0);
    s_send(m, &b, T0);
    s_reply(m, &a, T0, AX_LLM_FATAL, 401, -1, "HTTP 401: invalid api key", &d);
    assert_int_equal(d.what, AX_LLM_DO_FAILED);
    assert_int_equal(d.stops_run, 1);
    assert_string_equal(d.reason, "LLM: HTTP 401: invalid api key");
    ax_llm_decision_clear(&d);
    assert_string_equal(ax_llm_life_fatal(m, "run"), "HTTP 401: invalid api key");
    assert_null(ax_llm_life_fatal(m, "other"));
    assert_ptr_equal(s_pick(m, T0, &d), &c);
    s_expect(&d, AX_LLM_DO_FAILED, "LLM: run stopped: HTTP 401: invalid api key");
    assert_ptr_equal(ax_llm_life_pick(m, &d), &x);
    assert_int_equal(d.what, AX_LLM_DO_SEND);
    s_reply(m, &b, T0, AX_LLM_RETRY, 500, -1, "HTTP 500", &d);
    assert_int_equal(d.what, AX_LLM_DO_WAIT);
    assert_ptr_equal(s_pick(m, T0, &d), &x);
    assert_ptr_equal(ax_llm_life_pick(m, &d), &b);  /* failed although not yet due */
    s_expect(&d, AX_LLM_DO_FAILED, "LLM: run stopped: HTTP 401: invalid api key");
    assert_int_equal(ax_llm_life_pending(m), 1);
    ax_llm_life_remove(m, &x);
    ax_llm_life_destroy(&m);
}

/*  Every request is counted when it is sent (once: not again with its reply), and every
 *  reply's tokens and cost are accounted, repairs, 429s and failures included. */
static void test_usage_accounted(void **state)
{
    (void) state;
    ax_llm_life_t *m = s_new(1);
    ax_llm_req_t a;
    ax_llm_decision_t d;
    static const struct {
        ax_llm_outcome_t outcome;
        long status;
        int64_t retry_after_ms;
    } replies[] = {{AX_LLM_RETRY, 429, 100}, {AX_LLM_REPAIR, 200, -1}, {AX_LLM_RETRY, 503, -1},
                   {AX_LLM_OK, 200, -1}};
    s_add(m, &a, "run");
    int64_t now = T0;
    for (size_t i = 0; i < sizeof replies / sizeof *replies; i++) {
        assert_ptr_equal(s_pick(m, now, &d), &a);
        ax_llm_life_sent(m, &a, &d);
        assert_int_equal(d.sent, 1);
        assert_int_equal(d.usage.prompt_tokens, 0);
        ax_llm_reply_t r = {.outcome = replies[i].outcome, .http_status = replies[i].status,
                            .retry_after_ms = replies[i].retry_after_ms, .error = "x",
                            .usage = {1000 * (int64_t) (i + 1), 500, 200}};
        ax_llm_life_reply(m, &a, now, &r, &d);
        assert_int_equal(d.sent, 0);
        assert_int_equal(d.cache_hit, 0);
        assert_int_equal(d.http_429, replies[i].status == 429);
        assert_int_equal(d.usage.prompt_tokens, 1000 * (int64_t) (i + 1));
        assert_int_equal(d.usage.completion_tokens, 500);
        assert_int_equal(d.usage.cached_tokens, 200);
        /* $1 per million prompt tokens, $2 per million completion tokens */
        double want = (1000.0 * (double) (i + 1) + 1000.0) / 1e6;
        assert_true(d.cost_usd > want - 1e-12 && d.cost_usd < want + 1e-12);
        now = d.what == AX_LLM_DO_WAIT ? d.at_ms : now;
        free(r.answer);
    }
    assert_int_equal(d.what, AX_LLM_DO_ENRICHED);
    assert_int_equal(a.state, AX_LLM_REQ_OUT);
    ax_llm_req_clear(&a);
    ax_llm_life_destroy(&m);
}

/*  The jitter is the seed's: one seed, the same delays; two seeds, different ones. */
static void test_seeded_jitter(void **state)
{
    (void) state;
    int64_t x[7], y[7], z[7];
    s_delays(42, x);
    s_delays(42, y);
    s_delays(43, z);
    assert_memory_equal(x, y, sizeof x);
    assert_memory_not_equal(x, z, sizeof x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_fifo_skips_not_due),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_limiter_wait),
        cmocka_unit_test(test_retry_backoff_jitter),
        cmocka_unit_test(test_attempts_exhausted),
        cmocka_unit_test(test_rate_limited),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_fail_paper_and_cut_off),
        cmocka_unit_test(test_budget_spent),
        cmocka_unit_test(test_fatal_stops_run),
        cmocka_unit_test(test_usage_accounted),
        cmocka_unit_test(test_seeded_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
