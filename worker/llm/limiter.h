/*  limiter.h: one LLM rate limit for the whole cluster and the LLM answer cache, both in
 *  Redis (SPEC section 4). The per-run LLM accounting is part of the run's record
 *  (ax_run_store_add_llm, run_store.h).
 *
 *  Every worker calls ax_limiter_acquire before each LLM request and ax_limiter_release
 *  after it. One atomic Lua script per call keeps, per base_url+model, under the hash tag
 *  {H} (H = 16 hex of SHA-1 over base_url and model) so a Redis Cluster keeps them on one
 *  slot:
 *    ax:llm:{H}:gcra     string  theoretical arrival time of the next request (us, Redis clock)
 *    ax:llm:{H}:tokens   hash    level (tokens, may be negative), t (us of the last update)
 *    ax:llm:{H}:flight   zset    lease id -> expiry (us): requests in flight
 *    ax:llm:{H}:pause    string  nobody sends before this time (us), set after a 429
 *    ax:llmcache:<hex>   string  the answer JSON of one content-addressed request
 *  Every key expires by itself once it no longer constrains anything.
 *
 *  The limits are met with a safety margin (AX_LIMITER_MARGIN) so that a provider that
 *  counts requests in a sliding 60 s window at arrival never sees more than rpm of them,
 *  even when the network delays some requests more than others (see limiter.c).
 */
#ifndef AX_LIMITER_H
#define AX_LIMITER_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*  Requests and tokens are spaced for a rate 0.5 % under the configured one. */
#define AX_LIMITER_MARGIN 0.005
/*  A request may be granted up to this much before its slot (never more than half the
 *  spacing): absorbs timer rounding and wake-up lateness without losing rate. Under 5 ms
 *  (1 s x the margin) so that even a 1 s window, where a provider enforces rpm / 60 per
 *  second, never sees more than its share. */
#define AX_LIMITER_TOLERANCE_MS 4
/*  The token bucket holds at most this many ms of refill (see token_burst). */
#define AX_LIMITER_TOKEN_BURST_MS 200
/*  When only the in-flight cap blocks, callers ask again after at most this long. */
#define AX_LIMITER_POLL_MS 20
/*  A pause longer than this (a day) is cut to it; workers never ask for one longer than
 *  llm.max_retry_after_s (llm_life.c). */
#define AX_LIMITER_MAX_PAUSE_MS 86400000LL

typedef struct {
    char key[256];          /* "ax:llm:{<16 hex>}": hash-tagged prefix of this limiter's keys */
    int rpm;                /* requests per minute, <= 0: no limit */
    int tpm;                /* tokens per minute, <= 0: no limit */
    int max_in_flight;      /* requests in flight across the cluster, <= 0: no limit */
    int lease_ms;           /* an in-flight slot is freed after this even if its holder died */
    int token_burst;        /* tokens the bucket holds at most: tpm * AX_LIMITER_TOKEN_BURST_MS
                               / 60000 by default, so no sliding 60 s window sees more than tpm;
                               raise it (up to tpm) for a provider with a full-minute bucket */
} ax_limiter_t;

/*  In all the calls below, c is a connected context, and on -1 *err (caller frees) says
 *  why; err may be NULL when the caller does not want the message. */

/*  Fills l for the endpoint base_url (a trailing '/' is ignored) and model. lease_ms <= 0
 *  takes 150 s. */
void ax_limiter_init(ax_limiter_t *l, const char *base_url, const char *model, int rpm, int tpm,
                     int max_in_flight, int lease_ms);

/*  Tries to take a request slot, reserving est_tokens. Returns 0 when granted: lease then
 *  holds a unique id ("<grant time, us of Redis's clock>-<18 hex unique to the call>-<n>") for
 *  ax_limiter_release, and the slot counts against max_in_flight until released or
 *  lease_ms passes. Otherwise nothing is taken and the result is the number of ms (> 0)
 *  to wait before asking again (rate, tokens, in-flight cap or a cluster pause), or -1
 *  on a Redis error with *err (caller frees). */
int64_t ax_limiter_acquire(redisContext *c, const ax_limiter_t *l, int est_tokens, char lease[40],
                           char **err);

/*  The same for up to n requests (at most AX_LIMITER_MAX_BATCH) in one script call: grants
 *  them in order while the limits allow and stops at the first that must wait. Returns
 *  how many were granted (their leases in leases[0..k)) and, when fewer than n, *wait_ms
 *  before asking again for the rest; -1 with *err on a Redis error. A worker asks for all
 *  its queued requests at once instead of one round trip each. The commands in before
 *  (NULL: none; lease releases, cache writes) go first in the same round trip, and the
 *  batch is empty afterwards; those that fail are logged. */
#define AX_LIMITER_MAX_BATCH 256
int ax_limiter_acquire_n(redisContext *c, ax_redis_batch_t *before, const ax_limiter_t *l, int n,
                         const int *est_tokens, char (*leases)[40], int64_t *wait_ms, char **err);

/*  Frees the slot of lease (NULL or "": none) and settles the tokens: the bucket is
 *  charged actual_tokens - est_tokens more (less when negative), which may leave it in
 *  debt so later requests wait. actual_tokens < 0: unknown, the estimate stands.
 *  0 / -1 with *err. */
int ax_limiter_release(redisContext *c, const ax_limiter_t *l, const char *lease, int est_tokens,
                       int actual_tokens, char **err);
/*  The same, queued on a pipeline (sent by ax_redis_batch_flush). -1 on OOM. */
int ax_limiter_release_batch(ax_redis_batch_t *b, const ax_limiter_t *l, const char *lease, int est_tokens,
                             int actual_tokens);

/*  A 429 (or a Retry-After) from the provider: nobody in the cluster is granted a request
 *  before now + ms (at most AX_LIMITER_MAX_PAUSE_MS; an earlier pause is only ever
 *  extended, never shortened). ms <= 0 does nothing. 0 / -1 with *err. */
int ax_limiter_pause(redisContext *c, const ax_limiter_t *l, int64_t ms, char **err);

/*  The LLM answer cache, ax:llmcache:<hexkey> (hexkey: 1..128 hex digits), no TTL.
 *  get: 1 hit with *value (caller frees, NUL-terminated) and *len, 0 miss, -1 with *err. */
int ax_llm_cache_get(redisContext *c, const char *hexkey, char **value, size_t *len, char **err);
int ax_llm_cache_put(redisContext *c, const char *hexkey, const char *value, size_t len, char **err);
/*  put queued on a pipeline; -1 on OOM or a bad key. */
int ax_llm_cache_put_batch(ax_redis_batch_t *b, const char *hexkey, const char *value, size_t len);
/*  n lookups in one MGET: values[i] (caller frees) / lens[i] for hits, NULL for misses.
 *  Returns the number of hits, or -1 with *err (every value NULL). */
int ax_llm_cache_get_many(redisContext *c, const char *const *hexkeys, size_t n, char **values, size_t *lens,
                          char **err);

#endif
