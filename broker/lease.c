/*  lease.c: the broker's lease on its namespace (see lease.h). Its two keys are named by
 *  the run store (ax_run_store_lease_keys), like every key of the namespace; the scripts
 *  that read and write them are the lease's algorithm and stay here, beside it. */
#define _GNU_SOURCE
#include "lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "run_store.h"
#include "store.h"

/*  KEYS[1] the lease, KEYS[2] the epoch; ARGV[1] our id, ARGV[2] the time to live (ms),
 *  ARGV[3] the epoch of our acquisition (0: we never held it). Returns {1, epoch} when
 *  the lease is ours (renewed, taken back, or newly acquired), {0, holder} when another
 *  broker holds it now, {0, ""} when it was ours and another broker held it since. */
static const char *s_acquire_lua =
    "local cur = redis.call('GET', KEYS[1])\n"
    "local mine = tonumber(ARGV[3])\n"
    "if cur == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return {1, mine}\n"
    "end\n"
    "if cur then return {0, cur} end\n"
    "local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if mine > 0 and epoch ~= mine then return {0, ''} end\n"
    "if mine == 0 then epoch = redis.call('INCR', KEYS[2]) end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "return {1, epoch}\n";

/*  KEYS[1] the lease; ARGV[1] our id: deleted only when it is still ours. */
static const char *s_release_lua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

int ax_lease_init(ax_lease_t *l, int ttl_ms)
{
    unsigned char rnd[4];
    char host[64] = "host";
    memset(l, 0, sizeof *l);
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
        return -1;
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)       /* the id is logged and shown: keep it plain */
        if (!strchr(AX_NAMESPACE_CHARS, *p) || *p == ':')
            *p = '_';
    snprintf(l->id, sizeof l->id, "%s:%d:%02x%02x%02x%02x", host, (int) getpid(), rnd[0], rnd[1], rnd[2],
             rnd[3]);
    ax_run_store_lease_keys(l->key, l->epoch_key);
    l->ttl_ms = ttl_ms;
    return 0;
}

int ax_lease_valid(const ax_lease_t *l, int64_t now_ms)
{
    return l->state == AX_LEASE_HELD && now_ms < l->valid_until_ms;
}

/*  Reads the script's {ok, value} reply into the lease's state. */
static void s_apply(ax_lease_t *l, const redisReply *r, int64_t sent_ms)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER)
        return;
    const redisReply *v = r->element[1];
    if (r->element[0]->integer == 1 && v->type == REDIS_REPLY_INTEGER && v->integer > 0) {
        l->epoch = (uint64_t) v->integer;
        l->state = AX_LEASE_HELD;
        l->valid_until_ms = sent_ms + l->ttl_ms - l->ttl_ms / 5;
    } else if (l->epoch > 0) {
        l->state = AX_LEASE_LOST;
        snprintf(l->holder, sizeof l->holder, "%s", v->type == REDIS_REPLY_STRING ? v->str : "");
    } else {
        l->state = AX_LEASE_TAKEN;
        snprintf(l->holder, sizeof l->holder, "%s", v->type == REDIS_REPLY_STRING ? v->str : "?");
    }
}

/*  A try is due at its time, and at once when the lease we hold is no longer surely
 *  ours; a lost lease is never tried again. */
static int s_due(const ax_lease_t *l, int64_t now_ms)
{
    if (l->state == AX_LEASE_LOST)
        return 0;
    return now_ms >= l->next_try_ms || (l->state == AX_LEASE_HELD && now_ms >= l->valid_until_ms);
}

ax_lease_state_t ax_lease_tick(ax_lease_t *l, redisContext *c, int64_t now_ms)
{
    if (!c || !s_due(l, now_ms))
        return l->state;
    int period = l->ttl_ms / 5 < 1000 ? l->ttl_ms / 5 : 1000;
    l->next_try_ms = now_ms + period;
    char ttl[16], epoch[24], *err = NULL;
    snprintf(ttl, sizeof ttl, "%d", l->ttl_ms);
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long) l->epoch);
    const char *keys[] = {l->key, l->epoch_key};
    const char *args[] = {l->id, ttl, epoch};
    redisReply *r = ax_redis_eval(c, s_acquire_lua, 2, keys, 3, args, &err);
    if (!r) {
        ax_log_warn("namespace lease not renewed, will retry|namespace=%s error=\"%s\"", ax_store_namespace(),
                    err ? err : "?");
        free(err);
        return l->state;
    }
    s_apply(l, r, now_ms);
    freeReplyObject(r);
    return l->state;
}

void ax_lease_release(ax_lease_t *l, redisContext *c)
{
    if (l->state != AX_LEASE_HELD || !c)
        return;
    const char *keys[] = {l->key};
    const char *args[] = {l->id};
    redisReply *r = ax_redis_eval(c, s_release_lua, 1, keys, 1, args, NULL);
    freeReplyObject(r);
    l->state = AX_LEASE_UNKNOWN;
}
