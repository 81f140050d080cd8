/*  llm_life.c: the LLM request state machine (see llm_life.h).
 *
 *  Three intrusive doubly linked queues (lookup, ready, in flight) hold the requests; a
 *  request's state names the one it is in. Runs that were stopped by a fatal reply or
 *  spent their budget are remembered by name (a handful per worker's life). The jitter
 *  generator is splitmix64: any seed, including 0, gives a full-period sequence.
 */
#define _GNU_SOURCE
#include "llm_life.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ax_llm_req_t *head, *tail;
    size_t n;
} s_queue_t;

typedef struct s_run {
    char *run;
    char *fatal;                /* the message that stopped it, or NULL */
    int budget_spent;
    struct s_run *next;
} s_run_t;

struct ax_llm_life {
    ax_llm_life_opts_t o;
    uint64_t rng;               /* splitmix64 state */
    s_queue_t lookup, ready, flight;
    int64_t lookup_retry_ms;    /* a lookup failed: not again before this */
    int64_t blocked_until_ms;   /* the limiter said wait */
    int64_t refused_until_ms;   /* a reply asked for too long a wait: until then, */
    char *refused_reason;       /* queued requests fail with this (the provider's words) */
    s_run_t *runs;              /* stopped or out of budget */
    ax_llm_req_t *pick_at;      /* the walk of ax_llm_life_pick: next to look at */
    int64_t pick_now_ms;
};

/* ---------------------------------------------------------------- queues */

/* A constant as the text of its value, so a message names the bound it describes. */
#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)

static s_queue_t *s_queue_of(ax_llm_life_t *m, ax_llm_req_state_t state)
{
    switch (state) {
    case AX_LLM_REQ_LOOKUP:
        return &m->lookup;
    case AX_LLM_REQ_READY:
        return &m->ready;
    case AX_LLM_REQ_IN_FLIGHT:
        return &m->flight;
    case AX_LLM_REQ_OUT:
        break;
    }
    return NULL;
}

/*  Takes q out of its queue (state OUT); the walk of ax_llm_life_pick steps over it. */
static void s_unlink(ax_llm_life_t *m, ax_llm_req_t *q)
{
    s_queue_t *l = s_queue_of(m, q->state);
    if (!l)
        return;
    if (m->pick_at == q)
        m->pick_at = q->next;
    if (q->prev)
        q->prev->next = q->next;
    else
        l->head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        l->tail = q->prev;
    q->prev = q->next = NULL;
    l->n--;
    q->state = AX_LLM_REQ_OUT;
}

/*  Moves q to the back (or the front) of the queue of state. */
static void s_push(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_req_state_t state, int front)
{
    s_unlink(m, q);
    s_queue_t *l = s_queue_of(m, state);
    assert(l);
    q->state = state;
    if (front) {
        q->prev = NULL;
        q->next = l->head;
        if (l->head)
            l->head->prev = q;
        else
            l->tail = q;
        l->head = q;
    } else {
        q->next = NULL;
        q->prev = l->tail;
        if (l->tail)
            l->tail->next = q;
        else
            l->head = q;
        l->tail = q;
    }
    l->n++;
}

/* ---------------------------------------------------------------- helpers */

static uint64_t s_random(ax_llm_life_t *m)
{
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*  A uniform draw in [0, n) (n > 0). */
static int64_t s_random_below(ax_llm_life_t *m, int64_t n)
{
    return (int64_t) (s_random(m) % (uint64_t) n);
}

/*  fmt with one %s filled by what ("?" when NULL); NULL on OOM. */
static char *s_reason(const char *fmt, const char *what)
{
    char *s = NULL;
    if (asprintf(&s, fmt, what ? what : "?") < 0)
        return NULL;
    return s;
}

static void s_finish(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d, ax_llm_do_t what, char *reason)
{
    s_unlink(m, q);
    d->what = what;
    d->reason = reason;
}

static void s_fail(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d, const char *fmt, const char *what)
{
    s_finish(m, q, d, AX_LLM_DO_FAILED, s_reason(fmt, what));
}

/*  The record of run, created when create is set (NULL on OOM or when absent). */
static s_run_t *s_run(ax_llm_life_t *m, const char *run, int create)
{
    s_run_t *r = m->runs;
    while (r && strcmp(r->run, run) != 0)
        r = r->next;
    if (r || !create)
        return r;
    if (!(r = calloc(1, sizeof *r)) || !(r->run = strdup(run))) {
        free(r);
        return NULL;
    }
    r->next = m->runs;
    m->runs = r;
    return r;
}

/*  Back in the ready queue at the back, not before now + a backoff for the attempts so
 *  far with jitter in [b/2, b], or hint_ms when that is longer. */
static void s_retry_later(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now_ms, int64_t hint_ms,
                          ax_llm_decision_t *d)
{
    int64_t backoff = (int64_t) AX_LLM_BACKOFF_MS << (q->attempts < 8 ? q->attempts : 8);
    if (backoff > AX_LLM_BACKOFF_MAX_MS)
        backoff = AX_LLM_BACKOFF_MAX_MS;
    backoff = backoff / 2 + s_random_below(m, backoff / 2 + 1);
    if (hint_ms > backoff)
        backoff = hint_ms;
    q->not_before_ms = now_ms + backoff;
    s_push(m, q, AX_LLM_REQ_READY, 0);
    d->what = AX_LLM_DO_WAIT;
    d->at_ms = q->not_before_ms;
}

/* ---------------------------------------------------------------- life cycle */

ax_llm_life_t *ax_llm_life_new(const ax_llm_life_opts_t *o, uint64_t seed)
{
    ax_llm_life_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->o = *o;
    m->rng = seed;
    return m;
}

void ax_llm_life_destroy(ax_llm_life_t **self_p)
{
    ax_llm_life_t *m = self_p ? *self_p : NULL;
    if (!m)
        return;
    while (m->runs) {
        s_run_t *r = m->runs;
        m->runs = r->next;
        free(r->run);
        free(r->fatal);
        free(r);
    }
    free(m->refused_reason);
    free(m);
    *self_p = NULL;
}

void ax_llm_req_init(ax_llm_req_t *q, const char *run)
{
    memset(q, 0, sizeof *q);
    q->run = run;
}

void ax_llm_req_clear(ax_llm_req_t *q)
{
    free(q->previous_answer);
    free(q->repair_error);
    q->previous_answer = q->repair_error = NULL;
}

void ax_llm_decision_clear(ax_llm_decision_t *d)
{
    free(d->reason);
    memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------- cache lookup */

void ax_llm_life_add(ax_llm_life_t *m, ax_llm_req_t *q)
{
    s_push(m, q, AX_LLM_REQ_LOOKUP, 0);
}

size_t ax_llm_life_lookups(const ax_llm_life_t *m, int64_t now_ms, ax_llm_req_t **qs, size_t max)
{
    size_t n = 0;
    if (now_ms < m->lookup_retry_ms)
        return 0;
    for (ax_llm_req_t *q = m->lookup.head; q && n < max; q = q->next)
        qs[n++] = q;
    return n;
}

void ax_llm_life_lookup_failed(ax_llm_life_t *m, int64_t now_ms)
{
    m->lookup_retry_ms = now_ms + AX_LLM_LOOKUP_RETRY_MS;
}

void ax_llm_life_cache_hit(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d)
{
    memset(d, 0, sizeof *d);
    s_finish(m, q, d, AX_LLM_DO_ENRICHED, NULL);
    d->cache_hit = 1;
}

void ax_llm_life_cache_miss(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d)
{
    memset(d, 0, sizeof *d);
    s_push(m, q, AX_LLM_REQ_READY, 0);
    d->what = AX_LLM_DO_BUILD;
}

/* ---------------------------------------------------------------- picking and sending */

int ax_llm_life_pick_begin(ax_llm_life_t *m, int64_t now_ms)
{
    m->pick_now_ms = now_ms;
    m->pick_at = now_ms < m->blocked_until_ms ? NULL : m->ready.head;
    return m->pick_at != NULL;
}

ax_llm_req_t *ax_llm_life_pick(ax_llm_life_t *m, ax_llm_decision_t *d)
{
    memset(d, 0, sizeof *d);
    int64_t now = m->pick_now_ms;
    while (m->pick_at) {
        ax_llm_req_t *q = m->pick_at;
        m->pick_at = q->next;
        const s_run_t *run = m->runs ? s_run(m, q->run, 0) : NULL;
        if (run && run->fatal)              /* the run is stopping: no more requests */
            s_fail(m, q, d, "LLM: run stopped: %s", run->fatal);
        else if (now < m->refused_until_ms) /* the provider said not for a long while */
            s_fail(m, q, d, "%s", m->refused_reason ? m->refused_reason : "LLM: refused");
        else if (q->not_before_ms > now)
            continue;
        else if (run && run->budget_spent)
            ax_llm_life_budget_spent(m, q, d);
        else
            d->what = AX_LLM_DO_SEND;
        return q;
    }
    return NULL;
}

void ax_llm_life_budget_spent(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d)
{
    s_run_t *run = s_run(m, q->run, 1);
    if (run)
        run->budget_spent = 1;          /* spent stays spent */
    char *reason = NULL;
    if (asprintf(&reason, "LLM budget of $%.2f spent: not enriched", m->o.budget_usd) < 0)
        reason = NULL;
    memset(d, 0, sizeof *d);
    s_finish(m, q, d, AX_LLM_DO_UNENRICHED, reason);
}

void ax_llm_life_limited(ax_llm_life_t *m, int64_t now_ms, int64_t wait_ms)
{
    m->blocked_until_ms = now_ms + (wait_ms > 0 ? wait_ms : 1);
}

void ax_llm_life_sent(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d)
{
    memset(d, 0, sizeof *d);
    s_push(m, q, AX_LLM_REQ_IN_FLIGHT, 0);
    d->sent = 1;
}

void ax_llm_life_unsent(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now_ms)
{
    ax_llm_decision_t d = {0};
    s_retry_later(m, q, now_ms, AX_LLM_UNSENT_RETRY_MS, &d);
}

/* ---------------------------------------------------------------- replies */

/*  The reply asks for a wait over max_retry_after_ms: nobody waits for it. For
 *  max_retry_after_ms every queued request fails with the provider's words (the run goes
 *  on and finishes); then the endpoint is asked again. The cluster is not paused: a shared
 *  Redis would hold every later run too. */
static void s_refuse(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now_ms, const ax_llm_reply_t *r,
                     ax_llm_decision_t *d)
{
    char *reason = NULL;
    if (asprintf(&reason, "LLM: the provider asks to wait %lld s, longer than llm.max_retry_after_s (%lld s): %s",
                 (long long) ((r->retry_after_ms + 999) / 1000), (long long) (m->o.max_retry_after_ms / 1000),
                 r->error ? r->error : "?") < 0)
        reason = NULL;
    d->refuses = now_ms >= m->refused_until_ms;
    m->refused_until_ms = now_ms + m->o.max_retry_after_ms;
    if (reason) {
        free(m->refused_reason);
        m->refused_reason = reason;
    } else if (!m->refused_reason)
        m->refused_reason = strdup("LLM: the provider asks to wait longer than llm.max_retry_after_s");
    s_fail(m, q, d, "%s", m->refused_reason);
}

/*  A retryable reply: refused when it asks too much, flow control for a 429 that says
 *  when, else a failed attempt with backoff. */
static void s_on_retry(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now_ms, const ax_llm_reply_t *r,
                       ax_llm_decision_t *d)
{
    if (r->retry_after_ms > m->o.max_retry_after_ms) {
        s_refuse(m, q, now_ms, r, d);
        return;
    }
    if (r->http_status == 429)
        d->pause_ms = r->retry_after_ms > 0 ? r->retry_after_ms : 1000;
    if (r->http_status == 429 && r->retry_after_ms >= 0) {
        /* The provider's limit speaks: flow control, not a failure. Retry when it says
         * (the cluster is paused until then too), without exponential backoff. */
        if (++q->rate_limited >= AX_LLM_MAX_RATE_LIMITED)
            s_fail(m, q, d, "LLM: still rate limited after " S_STR(AX_LLM_MAX_RATE_LIMITED) " tries: %s", r->error);
        else {
            q->not_before_ms = now_ms + r->retry_after_ms + 20 + s_random_below(m, 50);
            s_push(m, q, AX_LLM_REQ_READY, 1);
            d->what = AX_LLM_DO_WAIT;
            d->at_ms = q->not_before_ms;
        }
    } else if (++q->attempts >= AX_LLM_MAX_ATTEMPTS)
        s_fail(m, q, d, "LLM: gave up after " S_STR(AX_LLM_MAX_ATTEMPTS) " attempts: %s", r->error);
    else {
        s_retry_later(m, q, now_ms, r->retry_after_ms, d);
        d->attempt = q->attempts;
    }
}

/*  An invalid answer: one repair request, first in the queue, then the paper fails. */
static void s_on_repair(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_reply_t *r, ax_llm_decision_t *d)
{
    if (q->repairs >= AX_LLM_MAX_REPAIRS) {
        s_fail(m, q, d, "LLM answer invalid after a repair request: %s", r->error);
        return;
    }
    char *error = strdup(r->error ? r->error : "the answer is not valid");
    if (!error) {
        s_fail(m, q, d, "LLM: %s", "out of memory");
        return;
    }
    q->repairs++;
    ax_llm_req_clear(q);
    q->previous_answer = r->answer;
    r->answer = NULL;
    q->repair_error = error;
    s_push(m, q, AX_LLM_REQ_READY, 1);
    d->what = AX_LLM_DO_BUILD;
}

/*  A fatal reply: the request fails and its run stops. */
static void s_on_fatal(ax_llm_life_t *m, ax_llm_req_t *q, const ax_llm_reply_t *r, ax_llm_decision_t *d)
{
    s_run_t *run = s_run(m, q->run, 1);
    char *message = strdup(r->error ? r->error : "fatal LLM error");
    if (run && message) {
        free(run->fatal);               /* the newest message is the one reported */
        run->fatal = message;
    } else
        free(message);
    d->stops_run = 1;
    s_fail(m, q, d, "LLM: %s", r->error);
}

void ax_llm_life_reply(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now_ms, ax_llm_reply_t *r, ax_llm_decision_t *d)
{
    assert(q->state == AX_LLM_REQ_IN_FLIGHT);
    memset(d, 0, sizeof *d);
    s_unlink(m, q);
    d->usage = r->usage;
    d->cost_usd = ((double) r->usage.prompt_tokens * m->o.price_in_per_mtok +
                   (double) r->usage.completion_tokens * m->o.price_out_per_mtok) / 1e6;
    d->http_429 = r->http_status == 429;
    if (r->cut_off) {
        char *reason = NULL;
        if (asprintf(&reason, "LLM answer cut off: longer than llm.max_response_bytes (%zu bytes)",
                     m->o.max_response_bytes) < 0)
            reason = NULL;
        s_finish(m, q, d, AX_LLM_DO_FAILED, reason);
        return;
    }
    switch (r->outcome) {
    case AX_LLM_OK:
        s_finish(m, q, d, AX_LLM_DO_ENRICHED, NULL);
        break;
    case AX_LLM_REPAIR:
        s_on_repair(m, q, r, d);
        break;
    case AX_LLM_RETRY:
        s_on_retry(m, q, now_ms, r, d);
        break;
    case AX_LLM_FAIL_PAPER:
        s_fail(m, q, d, "LLM refused the paper: %s", r->error);
        break;
    case AX_LLM_FATAL:
        s_on_fatal(m, q, r, d);
        break;
    }
}

/* ---------------------------------------------------------------- queries */

void ax_llm_life_remove(ax_llm_life_t *m, ax_llm_req_t *q)
{
    s_unlink(m, q);
}

ax_llm_req_t *ax_llm_life_any(const ax_llm_life_t *m)
{
    return m->lookup.head ? m->lookup.head : m->ready.head ? m->ready.head : m->flight.head;
}

size_t ax_llm_life_pending(const ax_llm_life_t *m)
{
    return m->lookup.n + m->ready.n + m->flight.n;
}

size_t ax_llm_life_in_flight(const ax_llm_life_t *m)
{
    return m->flight.n;
}

int64_t ax_llm_life_wake_ms(const ax_llm_life_t *m, int64_t now_ms, size_t room)
{
    int64_t wake = m->lookup.n ? m->lookup_retry_ms : INT64_MAX;
    /* Queued requests matter only when one could start: with every slot in flight, a
     * finished transfer (an event of its own) is what frees the next one. */
    if (m->ready.n && room) {
        int64_t at = INT64_MAX;
        for (const ax_llm_req_t *q = m->ready.head; q && at > now_ms; q = q->next)
            if (q->not_before_ms < at)
                at = q->not_before_ms;
        if (m->blocked_until_ms > at)
            at = m->blocked_until_ms;
        if (at < wake)
            wake = at;
    }
    return wake;
}

const char *ax_llm_life_fatal(const ax_llm_life_t *m, const char *run)
{
    for (const s_run_t *r = m->runs; r; r = r->next)
        if (r->fatal && strcmp(r->run, run) == 0)
            return r->fatal;
    return NULL;
}
