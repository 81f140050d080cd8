/*  limiter.c: the cluster-wide LLM rate limit and answer cache (see limiter.h).
 *
 *  All the decisions are taken inside Redis by Lua scripts, so that any number of workers
 *  on any number of machines see one state and one clock (Redis's TIME), and a decision
 *  and its bookkeeping happen atomically. The C side only builds keys and arguments.
 */
#define _GNU_SOURCE
#include "limiter.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <pthread.h>

#include <openssl/evp.h>

#include "log.h"
#include "store.h"

/*  The acquire script. Requests: GCRA (the generic cell rate algorithm, a "virtual
 *  scheduling" rate limiter). ax:llm:{H}:gcra holds TAT, the theoretical arrival time of
 *  the next request; a request at time now is granted when TAT - now <= tau, and then
 *  TAT becomes max(TAT, now) + T, with T = 60 s / rpm stretched by the margin (0.5 %).
 *  tau (AX_LIMITER_TOLERANCE_MS, at most T/2) only lets a request in slightly before its
 *  slot, so that ms rounding of the wait and a caller that wakes late cost no rate: any k
 *  grants still span at least (k - 1) T - tau, so rpm + 1 grants span at least
 *  60 s * 1.005 - tau = 60.3 s - 4 ms. A provider counting arrivals in a sliding 60 s
 *  window therefore sees more than rpm requests only if the network delays the first of
 *  them almost 300 ms less than the last; that slack is what the margin buys, for 0.5 %
 *  of the rate (and as tau < 5 ms, even a 1 s window never holds more than rpm / 60). Tokens: a token bucket that refills at tpm / 60 s (with the same margin)
 *  up to token_burst tokens (200 ms of refill by default: a full-minute bucket would let
 *  a sliding 60 s window see up to 2 tpm). A request needs min(estimate, token_burst)
 *  tokens in the bucket and takes its whole estimate, so the level can go negative; the
 *  release settles the difference between the usage and the estimate the same way. In
 *  flight: a sorted set of leases scored by their expiry, expired ones dropped first; a
 *  lease that is never released frees its slot after lease_ms. Pause: nothing is granted
 *  before the stored time. The script grants the requests it is given in order, each
 *  only when all four allow it, and stops at the first that must wait; it returns the
 *  leases granted and that wait (us, 0 when all were granted). Grants in one call are
 *  spaced by T on the GCRA clock exactly as separate calls would be, so a batch never
 *  gets more than single requests would: it only saves round trips. */
static const char *s_acquire_lua =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local T, tau = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local rate, cap = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local maxf, lease_us, poll = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])\n"
    "local wait = 0\n"
    "local pause = tonumber(redis.call('GET', KEYS[4]) or '0')\n"
    "if pause > now then wait = pause - now end\n"
    "local tat = now\n"
    "if T > 0 then tat = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0')) end\n"
    "local level = cap\n"
    "if rate > 0 then\n"
    "  local b = redis.call('HMGET', KEYS[2], 'level', 't')\n"
    "  if b[1] and b[2] then\n"
    "    level = math.min(cap, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate)\n"
    "  end\n"
    "end\n"
    "local busy = 0\n"
    "if maxf > 0 then\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)\n"
    "  busy = redis.call('ZCARD', KEYS[3])\n"
    "end\n"
    "local out = {}\n"
    "local i = 1\n"
    "while wait == 0 and ARGV[9 + i] do\n"
    "  local est = tonumber(ARGV[9 + i])\n"
    "  if T > 0 and tat - now > tau then wait = tat - tau - now end\n"
    "  if rate > 0 and level < math.min(est, cap) then\n"
    "    wait = math.max(wait, (math.min(est, cap) - level) / rate)\n"
    "  end\n"
    "  if maxf > 0 and busy >= maxf then\n"
    "    local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "    wait = math.max(wait, math.min(tonumber(first[2]) - now, poll))\n"
    "  end\n"
    "  if wait == 0 then\n"
    "    if T > 0 then tat = tat + T end\n"
    "    if rate > 0 then level = level - est end\n"
    "    local lease = string.format('%.0f', now) .. '-' .. ARGV[8] .. '-' .. i\n"
    "    if maxf > 0 then\n"
    "      redis.call('ZADD', KEYS[3], string.format('%.0f', now + lease_us), lease)\n"
    "      busy = busy + 1\n"
    "    end\n"
    "    out[i] = lease\n"
    "    i = i + 1\n"
    "  end\n"
    "end\n"
    "if i > 1 then\n"
    "  if T > 0 then\n"
    "    redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)\n"
    "  end\n"
    "  if rate > 0 then\n"
    "    redis.call('HSET', KEYS[2], 'level', string.format('%.3f', level), 't', string.format('%.0f', now))\n"
    "    redis.call('PEXPIRE', KEYS[2], math.ceil((cap - level) / rate / 1000) + 1000)\n"
    "  end\n"
    "  if maxf > 0 then redis.call('PEXPIRE', KEYS[3], math.ceil(lease_us / 1000) + 1000) end\n"
    "end\n"
    "out[i] = math.ceil(wait)\n"
    "return out\n";

/*  Release: drop the lease, charge the bucket (actual - estimate). Returns 1 when the
 *  lease was still held, 0 when it had expired (or was never given). */
static const char *s_release_lua =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local freed = 0\n"
    "if ARGV[1] ~= '' then freed = redis.call('ZREM', KEYS[2], ARGV[1]) end\n"
    "local delta, rate, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "if delta ~= 0 and rate > 0 then\n"
    "  local t = redis.call('TIME')\n"
    "  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "  local b = redis.call('HMGET', KEYS[1], 'level', 't')\n"
    "  local level = cap\n"
    "  if b[1] and b[2] then\n"
    "    level = math.min(cap, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate)\n"
    "  end\n"
    "  level = math.min(cap, level - delta)\n"
    "  redis.call('HSET', KEYS[1], 'level', string.format('%.3f', level), 't', string.format('%.0f', now))\n"
    "  redis.call('PEXPIRE', KEYS[1], math.ceil((cap - level) / rate / 1000) + 1000)\n"
    "end\n"
    "return freed\n";

/*  Pause: the pause time only ever moves later; the key expires when it ends. */
static const char *s_pause_lua =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local ms = tonumber(ARGV[1])\n"
    "local till = now + ms * 1000\n"
    "local old = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if till > old then redis.call('SET', KEYS[1], string.format('%.0f', till), 'PX', ms) end\n"
    "return 0\n";

/*  Accounting: counters that are not zero, then the cost. */
void ax_limiter_init(ax_limiter_t *l, const char *base_url, const char *model, int rpm, int tpm,
                     int max_in_flight, int lease_ms)
{
    memset(l, 0, sizeof *l);
    size_t ul = strlen(base_url);
    while (ul > 0 && base_url[ul - 1] == '/')
        ul--;
    /* base_url and model joined by a newline, which neither can contain. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1 &&
             EVP_DigestUpdate(md, base_url, ul) == 1 && EVP_DigestUpdate(md, "\n", 1) == 1 &&
             EVP_DigestUpdate(md, model, strlen(model)) == 1 && EVP_DigestFinal_ex(md, dig, &n) == 1;
    EVP_MD_CTX_free(md);
    char hex[17] = "0000000000000000";
    for (unsigned int i = 0; ok && i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    snprintf(l->key, sizeof l->key, "ax:llm:{%s}", hex);
    l->rpm = rpm > 0 ? rpm : 0;
    l->tpm = tpm > 0 ? tpm : 0;
    l->max_in_flight = max_in_flight > 0 ? max_in_flight : 0;
    l->lease_ms = lease_ms > 0 ? lease_ms : 150000;
    int64_t burst = (int64_t) l->tpm * AX_LIMITER_TOKEN_BURST_MS / 60000;
    l->token_burst = l->tpm ? (int) (burst > 0 ? burst : 1) : 0;
}

/*  Sets *err to a copy of msg (NULL: clears it); callers may pass err = NULL. */
static void s_err(char **err, const char *msg)
{
    if (err)
        *err = msg ? strdup(msg) : NULL;
}

/*  The part of a lease id that makes it unique: 12 random hex digits drawn once per
 *  process (again in a forked child) and a counter, so a grant costs no system call. */
static char s_tag_prefix[13];
static unsigned long s_tag_counter;

static void s_tag_forget(void)
{
    s_tag_prefix[0] = '\0';
}

static void s_tag_register(void)
{
    pthread_atfork(NULL, NULL, s_tag_forget);
}

static int s_lease_tag(char out[24])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!s_tag_prefix[0]) {
        pthread_once(&once, s_tag_register);
        unsigned char b[6];
        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
            return -1;
        for (int i = 0; i < 6; i++)
            snprintf(s_tag_prefix + 2 * i, 3, "%02x", b[i]);
    }
    snprintf(out, 24, "%s%06lx", s_tag_prefix, ++s_tag_counter & 0xffffffUL);
    return 0;
}

/*  The bucket's refill rate (tokens per us, with the margin; "0": no token limit) and its
 *  capacity, as script arguments. */
static void s_token_args(const ax_limiter_t *l, char rate[32], char cap[24])
{
    snprintf(rate, 32, "%.17g", l->tpm > 0 ? l->tpm / (60e6 * (1.0 + AX_LIMITER_MARGIN)) : 0.0);
    snprintf(cap, 24, "%d", l->token_burst > 0 ? l->token_burst : 1);
}

int ax_limiter_acquire_n(redisContext *c, ax_redis_batch_t *before, const ax_limiter_t *l, int n,
                         const int *est_tokens, char (*leases)[40], int64_t *wait_ms, char **err)
{
    s_err(err, NULL);
    *wait_ms = 0;
    if (n <= 0) {
        char *ferr = NULL;
        if (before && ax_redis_batch_flush(c, before, &ferr) != 0)
            ax_log_warn("pipelined redis commands failed|error=\"%s\"", ferr ? ferr : "?");
        free(ferr);
        return 0;
    }
    if (n > AX_LIMITER_MAX_BATCH)
        n = AX_LIMITER_MAX_BATCH;
    char k_gcra[300], k_tok[300], k_flight[300], k_pause[300];
    snprintf(k_gcra, sizeof k_gcra, "%s:gcra", l->key);
    snprintf(k_tok, sizeof k_tok, "%s:tokens", l->key);
    snprintf(k_flight, sizeof k_flight, "%s:flight", l->key);
    snprintf(k_pause, sizeof k_pause, "%s:pause", l->key);
    const char *keys[] = {k_gcra, k_tok, k_flight, k_pause};

    /* T in whole us, rounded up (never faster than asked); tau at most T/2. */
    double window_us = 60e6 * (1.0 + AX_LIMITER_MARGIN);
    int64_t t_us = l->rpm > 0 ? (int64_t) ceil(window_us / l->rpm) : 0;
    int64_t tau_us = (int64_t) AX_LIMITER_TOLERANCE_MS * 1000;
    if (tau_us > t_us / 2)
        tau_us = t_us / 2;
    char a_t[24], a_tau[24], a_rate[32], a_cap[24], a_maxf[24], a_lease[24], a_poll[24], a_rand[24];
    char a_est[AX_LIMITER_MAX_BATCH][16];
    const char *args[9 + AX_LIMITER_MAX_BATCH];
    snprintf(a_t, sizeof a_t, "%lld", (long long) t_us);
    snprintf(a_tau, sizeof a_tau, "%lld", (long long) tau_us);
    s_token_args(l, a_rate, a_cap);
    snprintf(a_maxf, sizeof a_maxf, "%d", l->max_in_flight);
    snprintf(a_lease, sizeof a_lease, "%lld", (long long) l->lease_ms * 1000);
    snprintf(a_poll, sizeof a_poll, "%d", AX_LIMITER_POLL_MS * 1000);
    if (s_lease_tag(a_rand) < 0) {
        s_err(err, "limiter: no random bytes for a lease id");
        return -1;
    }
    const char *fixed[] = {a_t, a_tau, a_rate, a_cap, a_maxf, a_lease, a_poll, a_rand};
    memcpy(args, fixed, sizeof fixed);
    args[8] = "";                       /* ARGV[9]: reserved, estimates follow */
    for (int i = 0; i < n; i++) {
        snprintf(a_est[i], sizeof a_est[i], "%d", est_tokens[i] > 0 ? est_tokens[i] : 0);
        args[9 + i] = a_est[i];
    }
    int failed = 0;
    redisReply *r = before && ax_redis_batch_size(before)
                        ? ax_redis_batch_flush_eval(c, before, s_acquire_lua, 4, keys, 9 + n, args, &failed, err)
                        : ax_redis_eval(c, s_acquire_lua, 4, keys, 9 + n, args, err);
    if (!r)
        return -1;
    int granted = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->elements <= (size_t) n + 1 &&
        r->element[r->elements - 1]->type == REDIS_REPLY_INTEGER) {
        granted = (int) r->elements - 1;
        for (int i = 0; i < granted && granted >= 0; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len >= 40)
                granted = -1;
            else
                memcpy(leases[i], e->str, e->len + 1);
        }
        long long us = r->element[r->elements - 1]->integer;
        *wait_ms = us > 0 ? (us + 999) / 1000 : 0;
        if (granted == n)
            *wait_ms = 0;
    }
    if (granted < 0)
        s_err(err, "limiter: unexpected reply from the acquire script");
    freeReplyObject(r);
    return granted;
}

int64_t ax_limiter_acquire(redisContext *c, const ax_limiter_t *l, int est_tokens, char lease[40],
                           char **err)
{
    char leases[1][40];
    int64_t wait = 0;
    lease[0] = '\0';
    int granted = ax_limiter_acquire_n(c, NULL, l, 1, &est_tokens, leases, &wait, err);
    if (granted < 0)
        return -1;
    if (granted == 0)
        return wait > 0 ? wait : 1;
    memcpy(lease, leases[0], 40);
    return 0;
}

/*  The release script's keys and arguments. */
typedef struct {
    char k_tok[300], k_flight[300], a_delta[24], a_rate[32], a_cap[24];
    const char *keys[2], *args[4];
} s_release_t;

static void s_release_args(s_release_t *x, const ax_limiter_t *l, const char *lease, int est_tokens,
                           int actual_tokens)
{
    snprintf(x->k_tok, sizeof x->k_tok, "%s:tokens", l->key);
    snprintf(x->k_flight, sizeof x->k_flight, "%s:flight", l->key);
    long long delta = actual_tokens < 0 ? 0 : (long long) actual_tokens - (est_tokens > 0 ? est_tokens : 0);
    snprintf(x->a_delta, sizeof x->a_delta, "%lld", delta);
    s_token_args(l, x->a_rate, x->a_cap);
    x->keys[0] = x->k_tok, x->keys[1] = x->k_flight;
    x->args[0] = lease ? lease : "", x->args[1] = x->a_delta, x->args[2] = x->a_rate, x->args[3] = x->a_cap;
}

int ax_limiter_release(redisContext *c, const ax_limiter_t *l, const char *lease, int est_tokens,
                       int actual_tokens, char **err)
{
    s_err(err, NULL);
    s_release_t x;
    s_release_args(&x, l, lease, est_tokens, actual_tokens);
    redisReply *r = ax_redis_eval(c, s_release_lua, 2, x.keys, 4, x.args, err);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int ax_limiter_release_batch(ax_redis_batch_t *b, const ax_limiter_t *l, const char *lease, int est_tokens,
                             int actual_tokens)
{
    s_release_t x;
    s_release_args(&x, l, lease, est_tokens, actual_tokens);
    return ax_redis_batch_eval(b, s_release_lua, 2, x.keys, 4, x.args, NULL);
}

int ax_limiter_pause(redisContext *c, const ax_limiter_t *l, int64_t ms, char **err)
{
    s_err(err, NULL);
    if (ms <= 0)
        return 0;
    if (ms > AX_LIMITER_MAX_PAUSE_MS)
        ms = AX_LIMITER_MAX_PAUSE_MS;
    char k_pause[300], a_ms[24];
    snprintf(k_pause, sizeof k_pause, "%s:pause", l->key);
    snprintf(a_ms, sizeof a_ms, "%lld", (long long) ms);
    const char *keys[] = {k_pause};
    const char *args[] = {a_ms};
    redisReply *r = ax_redis_eval(c, s_pause_lua, 1, keys, 1, args, err);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

/*  -1 with *err when there is no connection (ax_redis_eval checks this itself). */
static int s_no_conn(const redisContext *c, char **err)
{
    if (c)
        return 0;
    s_err(err, "redis: not connected");
    return -1;
}

/*  "ax:llmcache:<hexkey>" into buf; -1 with *err when hexkey is not 1..128 hex digits. */
static int s_cache_key(char *buf, size_t size, const char *hexkey, char **err)
{
    size_t n = strlen(hexkey);
    int ok = n > 0 && n <= 128;
    for (size_t i = 0; ok && i < n; i++)
        ok = isxdigit((unsigned char) hexkey[i]);
    if (!ok) {
        s_err(err, "llm cache: the key is not 1 to 128 hex digits");
        return -1;
    }
    snprintf(buf, size, "ax:llmcache:%s", hexkey);
    return 0;
}

int ax_llm_cache_get(redisContext *c, const char *hexkey, char **value, size_t *len, char **err)
{
    char key[160];
    s_err(err, NULL);
    *value = NULL;
    *len = 0;
    if (s_no_conn(c, err) < 0 || s_cache_key(key, sizeof key, hexkey, err) < 0)
        return -1;
    redisReply *r = ax_redis_cmd(c, err, "GET %s", key);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        *value = malloc(r->len + 1);
        if (!*value) {
            s_err(err, "out of memory");
            rc = -1;
        } else {
            memcpy(*value, r->str, r->len + 1);
            *len = r->len;
            rc = 1;
        }
    } else if (r->type != REDIS_REPLY_NIL) {
        s_err(err, "llm cache: GET gave an unexpected reply");
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

int ax_llm_cache_put(redisContext *c, const char *hexkey, const char *value, size_t len, char **err)
{
    char key[160];
    s_err(err, NULL);
    if (s_no_conn(c, err) < 0 || s_cache_key(key, sizeof key, hexkey, err) < 0)
        return -1;
    redisReply *r = ax_redis_cmd(c, err, "SET %s %b", key, value, len);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int ax_llm_cache_put_batch(ax_redis_batch_t *b, const char *hexkey, const char *value, size_t len)
{
    char key[160];
    if (s_cache_key(key, sizeof key, hexkey, NULL) < 0)
        return -1;
    const char *argv[] = {"SET", key, value};
    size_t lens[] = {3, strlen(key), len};
    return ax_redis_batch_cmd(b, 3, argv, lens);
}

int ax_llm_cache_get_many(redisContext *c, const char *const *hexkeys, size_t n, char **values, size_t *lens,
                          char **err)
{
    s_err(err, NULL);
    for (size_t i = 0; i < n; i++)
        values[i] = NULL, lens[i] = 0;
    if (n == 0)
        return 0;
    if (s_no_conn(c, err) < 0)
        return -1;
    char (*keys)[160] = malloc(n * sizeof *keys);
    const char **argv = malloc((n + 1) * sizeof *argv);
    int rc = -1;
    if (!keys || !argv) {
        s_err(err, "out of memory");
        goto done;
    }
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        if (s_cache_key(keys[i], sizeof keys[i], hexkeys[i], err) < 0)
            goto done;
        argv[i + 1] = keys[i];
    }
    redisReply *r = redisCommandArgv(c, (int) n + 1, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        if (r && r->type == REDIS_REPLY_ERROR) {
            if (err && asprintf(err, "llm cache: %s", r->str) < 0)
                *err = NULL;
        } else if (err && asprintf(err, "llm cache: %s", !r ? (c->errstr[0] ? c->errstr : "no reply") : "MGET gave an unexpected reply") < 0)
            *err = NULL;
        if (r)
            freeReplyObject(r);
        goto done;
    }
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        if (!(values[i] = malloc(e->len + 1)))
            continue;                   /* out of memory: a miss, asked of the LLM */
        memcpy(values[i], e->str, e->len + 1);
        lens[i] = e->len;
        rc++;
    }
    freeReplyObject(r);
done:
    free(keys);
    free(argv);
    return rc;
}
