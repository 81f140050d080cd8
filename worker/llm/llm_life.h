/*  llm_life.h: the life of a worker's LLM requests as a pure state machine (SPEC section 4).
 *
 *  No curl, no Redis, no clock: the enricher (enrich.c) feeds it events with the time
 *  (cache hit or miss, a limiter's answer, a request sent, its reply or transport error,
 *  the budget spent) and carries out the decision each returns (build a body, send,
 *  finish enriched / failed / unenriched, pause the cluster, account what it cost). The
 *  jitter of retries comes from a generator seeded at ax_llm_life_new, so a test with a
 *  fixed seed sees the same delays every time and two workers do not.
 *
 *  A request moves
 *      LOOKUP --hit--> finished enriched
 *        |miss
 *        v
 *      READY (FIFO; a request not yet due keeps its place and is skipped) --picked,
 *        limiter granted, sent--> IN_FLIGHT --reply--> finished | READY again
 *  READY again is
 *    - a repair request (one, for an invalid answer): first in the queue, body rebuilt;
 *    - a retry (408/409/429/5xx, transport): at the back, not before now + a backoff of
 *      AX_LLM_BACKOFF_MS << attempts (capped at AX_LLM_BACKOFF_MAX_MS) drawn in [b/2, b],
 *      or later if the provider said so; the AX_LLM_MAX_ATTEMPTS-th failure fails it;
 *    - a 429 that says when: first in the queue, at that time (+ 20..69 ms), the cluster
 *      paused as long, no attempt consumed (flow control); AX_LLM_MAX_RATE_LIMITED of them
 *      fail it.
 *  A reply that asks to wait longer than max_retry_after_ms fails its request with the
 *  provider's words and refuses the endpoint for max_retry_after_ms: queued requests fail
 *  with the same reason when picked, and after the window they go again (the cluster is
 *  not paused). A fatal reply (401, no quota) fails its request and stops the run: its
 *  queued requests fail with "run stopped" when picked. A run whose budget is spent has
 *  its queued requests finished unenriched.
 */
#ifndef AX_LLM_LIFE_H
#define AX_LLM_LIFE_H

#include <stddef.h>
#include <stdint.h>

#include "llm.h"

#define AX_LLM_MAX_ATTEMPTS 8           /* transport/5xx/overload failures of one request */
#define AX_LLM_MAX_RATE_LIMITED 100     /* 429s (with a time) of one request before it fails */
#define AX_LLM_MAX_REPAIRS 1            /* repair requests after an invalid answer */
#define AX_LLM_BACKOFF_MS 500           /* backoff unit: the first retry waits 2 x this */
#define AX_LLM_BACKOFF_MAX_MS 60000
#define AX_LLM_LOOKUP_RETRY_MS 1000     /* after a failed cache lookup */
#define AX_LLM_UNSENT_RETRY_MS 1000     /* after a granted request could not be started */

typedef enum {
    AX_LLM_REQ_OUT,         /* in no queue: not added yet, or finished */
    AX_LLM_REQ_LOOKUP,      /* waiting for the cache lookup */
    AX_LLM_REQ_READY,       /* in the ready queue, due at not_before_ms */
    AX_LLM_REQ_IN_FLIGHT    /* sent, waiting for its reply */
} ax_llm_req_state_t;

/*  The machine's part of one request; the caller embeds it in its own request (the
 *  machine never allocates or frees one). Zero it with ax_llm_req_init. */
typedef struct ax_llm_req {
    const char *run;            /* run it belongs to (borrowed: outlives the request) */
    ax_llm_req_state_t state;
    int attempts;               /* failed tries (transport, 5xx, 429 without a time) */
    int rate_limited;           /* 429s with a time to retry at: flow control, own cap */
    int repairs;                /* repair requests made */
    int64_t not_before_ms;      /* READY: not picked before this (a retry's wait) */
    char *previous_answer;      /* a repair: the invalid answer to show the model (owned) */
    char *repair_error;         /* a repair: what is wrong with it (owned); NULL: first try */
    struct ax_llm_req *prev, *next;     /* the queue it is in */
} ax_llm_req_t;

typedef struct {
    int64_t max_retry_after_ms; /* llm.max_retry_after_s in ms: never wait longer */
    size_t max_response_bytes;  /* llm.max_response_bytes (named in the cut-off reason) */
    double budget_usd;          /* llm.budget_usd (named in the budget reason) */
    double price_in_per_mtok;   /* llm.price_per_mtok: USD per million prompt tokens */
    double price_out_per_mtok;  /* and per million completion tokens */
} ax_llm_life_opts_t;

/*  What became of a request that went out: ax_llm_parse_response's classification, or
 *  a transport error (outcome AX_LLM_RETRY, http_status 0, retry_after_ms -1). */
typedef struct {
    ax_llm_outcome_t outcome;
    long http_status;           /* 0: no response */
    int64_t retry_after_ms;     /* how long the provider asks to wait, -1: it did not say */
    ax_llm_usage_t usage;       /* tokens the reply cost (0 when it did not say) */
    const char *error;          /* the one-line message (borrowed), NULL when OK */
    char *answer;               /* REPAIR: the raw content; the machine takes it (NULLs it) for
                                   the repair request, else it stays the caller's */
    int cut_off;                /* the body passed max_response_bytes and was cut off */
} ax_llm_reply_t;

typedef enum {
    AX_LLM_DO_NOTHING,          /* queued or in flight: nothing to do now */
    AX_LLM_DO_BUILD,            /* queued: build its body now (a repair when repair_error is set) */
    AX_LLM_DO_WAIT,             /* queued again: not before at_ms (a retry) */
    AX_LLM_DO_SEND,             /* due: ask the limiter for it (ax_llm_life_sent once out) */
    AX_LLM_DO_ENRICHED,         /* finished: the answer (reply or cache) is the verdict */
    AX_LLM_DO_FAILED,           /* finished: the paper failed with reason */
    AX_LLM_DO_UNENRICHED        /* finished: left matched with reason (budget spent) */
} ax_llm_do_t;

/*  A decision: what to do about one request, and what it cost. */
typedef struct {
    ax_llm_do_t what;
    char *reason;               /* FAILED / UNENRICHED: the verdict's reason (ax_llm_decision_clear
                                   frees it; the caller may take it); NULL on OOM */
    int64_t at_ms;              /* WAIT: when it may go again */
    int attempt;                /* WAIT after a failure that counts: its number (for logs) */
    int64_t pause_ms;           /* > 0: a 429: pause the whole cluster this long */
    int stops_run;              /* FAILED by a fatal reply: the run is stopped (ax_llm_life_fatal) */
    int refuses;                /* FAILED by a too long wait: the endpoint is newly refused */
    /* To account to the request's run: */
    int sent;                   /* one request goes out */
    int cache_hit;              /* one answer from the cache */
    int http_429;               /* one 429 received */
    ax_llm_usage_t usage;       /* tokens of a reply */
    double cost_usd;            /* what usage cost at the configured prices */
} ax_llm_decision_t;

typedef struct ax_llm_life ax_llm_life_t;

/*  NULL on OOM. seed picks the jitter sequence (the same seed, the same delays). */
ax_llm_life_t *ax_llm_life_new(const ax_llm_life_opts_t *o, uint64_t seed);
/*  Forgets the requests still held (take them out first with ax_llm_life_any). */
void ax_llm_life_destroy(ax_llm_life_t **self_p);

/*  Zeroes q for run (borrowed); ax_llm_req_clear frees what a repair left in it. */
void ax_llm_req_init(ax_llm_req_t *q, const char *run);
void ax_llm_req_clear(ax_llm_req_t *q);
void ax_llm_decision_clear(ax_llm_decision_t *d);

/*  A new request (state OUT): to the cache lookup. */
void ax_llm_life_add(ax_llm_life_t *m, ax_llm_req_t *q);

/*  Up to max requests waiting for the cache lookup (the oldest first) into qs, or 0 while
 *  a failed lookup is not to be retried yet. They stay LOOKUP until each gets
 *  ax_llm_life_cache_hit / _miss; ax_llm_life_lookup_failed defers them all. */
size_t ax_llm_life_lookups(const ax_llm_life_t *m, int64_t now_ms, ax_llm_req_t **qs, size_t max);
void ax_llm_life_lookup_failed(ax_llm_life_t *m, int64_t now_ms);
/*  d: ENRICHED (a cache hit). */
void ax_llm_life_cache_hit(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d);
/*  d: BUILD; q is at the back of the ready queue, due now. */
void ax_llm_life_cache_miss(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d);

/*  Picking what may go out at now_ms: ax_llm_life_pick_begin starts a walk over the ready
 *  queue (0 when nothing can go: the queue is empty or the limiter said wait), each
 *  ax_llm_life_pick returns the next request that needs the caller, oldest first, and
 *  NULL at the end. d is then SEND (due: it stays queued until ax_llm_life_sent) or
 *  FAILED / UNENRICHED (taken out: its run is stopped, the endpoint refused, its budget
 *  known spent). Requests not yet due are skipped. A caller that checks the budget calls
 *  ax_llm_life_budget_spent for a SEND whose run's budget it finds spent. */
int ax_llm_life_pick_begin(ax_llm_life_t *m, int64_t now_ms);
ax_llm_req_t *ax_llm_life_pick(ax_llm_life_t *m, ax_llm_decision_t *d);
/*  q's run has spent its budget: d is UNENRICHED, and so are the run's queued requests
 *  when picked (a spent budget stays spent). */
void ax_llm_life_budget_spent(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d);
/*  The limiter granted fewer than asked: nothing is picked before now + wait_ms (>= 1). */
void ax_llm_life_limited(ax_llm_life_t *m, int64_t now_ms, int64_t wait_ms);

/*  A granted request went out: IN_FLIGHT, d.sent (counted before it reaches the provider). */
void ax_llm_life_sent(ax_llm_life_t *m, ax_llm_req_t *q, ax_llm_decision_t *d);
/*  A granted request could not be started (OOM, curl refused): back in the queue, not
 *  before a backoff of at least AX_LLM_UNSENT_RETRY_MS; no attempt consumed. */
void ax_llm_life_unsent(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now_ms);
/*  The reply (or transport error) of an IN_FLIGHT request at now_ms: d says what next
 *  (ENRICHED, BUILD for a repair, WAIT for a retry, FAILED) and what the reply cost. */
void ax_llm_life_reply(ax_llm_life_t *m, ax_llm_req_t *q, int64_t now_ms, ax_llm_reply_t *r,
                       ax_llm_decision_t *d);

/*  Takes q out of whatever queue it is in (state OUT): the caller gives up on it. */
void ax_llm_life_remove(ax_llm_life_t *m, ax_llm_req_t *q);
/*  Some request still held (state tells where), NULL when none: for teardown. */
ax_llm_req_t *ax_llm_life_any(const ax_llm_life_t *m);

/*  Requests held (lookup, ready, in flight) and in flight. */
size_t ax_llm_life_pending(const ax_llm_life_t *m);
size_t ax_llm_life_in_flight(const ax_llm_life_t *m);
/*  When the machine next needs a turn, given room requests may still start: the time a
 *  lookup may be retried, or the first queued request is due (not before the limiter's
 *  wait); INT64_MAX when nothing is waiting for time. <= now_ms: now. */
int64_t ax_llm_life_wake_ms(const ax_llm_life_t *m, int64_t now_ms, size_t room);
/*  The message of the fatal reply that stopped run, or NULL. */
const char *ax_llm_life_fatal(const ax_llm_life_t *m, const char *run);

#endif
