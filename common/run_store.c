/*  run_store.c: the run record, its states, the run index, rendering, LLM usage and the
 *  broker's registry (see run_store.h; the harvest, the jobs and the results are in
 *  run_store_jobs.c). Every key of runs is built here, by ax_rkey_run / ax_rkey_ns.
 */
#define _GNU_SOURCE
#include "run_store.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "run_store_internal.h"
#include "text.h"

/* ---------------------------------------------------------------- states */

static const char *const s_state_names[AX_RUN_STATE_COUNT] = {
    [AX_RUN_STATE_NONE] = "none",
    [AX_RUN_STATE_QUEUED] = AX_RS_QUEUED,
    [AX_RUN_STATE_HARVESTING] = AX_RS_HARVESTING,
    [AX_RUN_STATE_DISPATCHING] = AX_RS_DISPATCHING,
    [AX_RUN_STATE_COLLECTED] = AX_RS_COLLECTED,
    [AX_RUN_STATE_RENDERING] = AX_RS_RENDERING,
    [AX_RUN_STATE_DONE] = AX_RS_DONE,
    [AX_RUN_STATE_FAILED] = AX_RS_FAILED,
};

const char *ax_run_state_name(ax_run_state_t state)
{
    return state > AX_RUN_STATE_NONE && state < AX_RUN_STATE_COUNT ? s_state_names[state] : "none";
}

ax_run_state_t ax_run_state_from_name(const char *name)
{
    for (int s = AX_RUN_STATE_NONE + 1; name && s < AX_RUN_STATE_COUNT; s++)
        if (strcmp(name, s_state_names[s]) == 0)
            return (ax_run_state_t) s;
    return AX_RUN_STATE_NONE;
}

int ax_run_state_unfinished(ax_run_state_t s)
{
    return s == AX_RUN_STATE_QUEUED || s == AX_RUN_STATE_HARVESTING || s == AX_RUN_STATE_DISPATCHING;
}

int ax_run_state_active(ax_run_state_t s)
{
    return s == AX_RUN_STATE_HARVESTING || s == AX_RUN_STATE_DISPATCHING;
}

/* ---------------------------------------------------------------- keys */

int ax_rkey_run_ok(const char *run)
{
    size_t n = run ? strlen(run) : 0;
    return n > 0 && n <= AX_RUN_ID_MAX && !strpbrk(run, "{}");
}

int ax_rkey_run(ax_rkey_t *k, const char *run, const char *suffix, const char *profile)
{
    k->s[0] = '\0';
    if (!ax_rkey_run_ok(run) || (profile && strlen(profile) > 64))
        return -1;
    int n = snprintf(k->s, sizeof k->s, "%s:run:{%s}%s%s", ax_store_namespace(), run, suffix ? suffix : "",
                     profile ? profile : "");
    return n > 0 && (size_t) n < sizeof k->s ? 0 : (k->s[0] = '\0', -1);
}

int ax_rkey_ns(ax_rkey_t *k, const char *name, const char *arg)
{
    int n = snprintf(k->s, sizeof k->s, "%s:%s%s", ax_store_namespace(), name, arg ? arg : "");
    return n > 0 && (size_t) n < sizeof k->s ? 0 : (k->s[0] = '\0', -1);
}

void ax_run_store_lease_keys(char lease[AX_RUN_STORE_KEY_MAX], char epoch[AX_RUN_STORE_KEY_MAX])
{
    ax_rkey_t k;
    ax_rkey_ns(&k, "broker:lease", NULL);     /* the namespace is bounded: it fits */
    memcpy(lease, k.s, sizeof k.s);
    ax_rkey_ns(&k, "broker:epoch", NULL);
    memcpy(epoch, k.s, sizeof k.s);
}

int ax_rs_fail(char **err, const char *what)
{
    if (err)
        *err = strdup(what);
    return -1;
}

int ax_rs_read_key(redisContext *c, char **err, const char *run, const char *suffix, const char *profile,
                   ax_rkey_t *k)
{
    if (err)
        *err = NULL;
    if (!c)
        return ax_rs_fail(err, "redis: not connected");
    return ax_rkey_run(k, run, suffix, profile) < 0 ? 0 : 1;
}

int ax_rs_write_keys(redisContext *c, char **err, const char *run, int n, ax_rkey_t *keys, ...)
{
    va_list ap;
    int rc = 0;
    if (err)
        *err = NULL;
    if (!c)
        return ax_rs_fail(err, "redis: not connected");
    va_start(ap, keys);
    for (int i = 0; i < n && rc == 0; i++)
        rc = ax_rkey_run(&keys[i], run, va_arg(ap, const char *), NULL);
    va_end(ap);
    return rc < 0 ? ax_rs_fail(err, "bad run id") : 0;
}

/* ---------------------------------------------------------------- transactions */

void ax_rtx_begin(ax_rtx_t *tx, redisContext *c)
{
    tx->c = c;
    tx->count = 0;
    tx->oom = 0;
    ax_rtx_fmt(tx, "MULTI");
}

void ax_rtx_argv(ax_rtx_t *tx, int argc, const char **argv, const size_t *lens)
{
    if (tx->oom || redisAppendCommandArgv(tx->c, argc, argv, lens) != REDIS_OK)
        tx->oom = 1;
    else
        tx->count++;
}

void ax_rtx_fmt(ax_rtx_t *tx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (tx->oom || redisvAppendCommand(tx->c, fmt, ap) != REDIS_OK)
        tx->oom = 1;
    else
        tx->count++;
    va_end(ap);
}

/*  The first error among the replies EXEC gave for the queued commands, or NULL. */
static const char *s_exec_error(const redisReply *r)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ERROR)
            return r->element[i]->str;
    return r->type == REDIS_REPLY_ARRAY ? NULL : "transaction aborted";
}

int ax_rtx_exec(ax_rtx_t *tx, char **err)
{
    int rc = 0, oom = tx->oom;
    /* On OOM the commands appended so far are thrown away by DISCARD. */
    tx->oom = 0;
    ax_rtx_fmt(tx, oom ? "DISCARD" : "EXEC");
    if (tx->oom) {
        rc = -1;                        /* could not even end it: the replies are not read */
        ax_set_error(err, "redis: out of memory");
        return rc;
    }
    for (int i = 0; i < tx->count; i++) {
        redisReply *r = NULL;
        if (redisGetReply(tx->c, (void **) &r) != REDIS_OK || !r) {
            if (rc == 0)
                ax_set_error(err, "redis: %s", tx->c->errstr[0] ? tx->c->errstr : "no reply");
            return -1;                  /* connection broken: the link reconnects */
        }
        const char *why = r->type == REDIS_REPLY_ERROR ? r->str : i == tx->count - 1 && !oom ? s_exec_error(r) : NULL;
        if (why && rc == 0) {
            ax_set_error(err, "redis: %s", why);
            rc = -1;
        }
        freeReplyObject(r);
    }
    if (oom && rc == 0) {
        ax_set_error(err, "redis: out of memory");
        rc = -1;
    }
    return rc;
}

void ax_rs_append_counts(ax_rtx_t *tx, const char *key, const ax_run_counts_t *n, ax_run_state_t state)
{
    const char *names[] = {"harvested", "duplicates", "jobs_total", "jobs_done", "jobs_failed", "read",
                           "malformed", "filtered", "harvest_done"};
    const uint64_t values[] = {n->harvested, n->duplicates, n->jobs_total, n->jobs_done, n->jobs_failed,
                               n->read, n->malformed, n->filtered, n->harvest_done};
    enum { N = sizeof names / sizeof *names };
    char num[N + 1][24];
    const char *argv[2 + 2 * (N + 3)];
    int argc = 0;
    argv[argc++] = "HSET";
    argv[argc++] = key;
    for (int i = 0; i < N; i++) {
        snprintf(num[i], sizeof num[i], "%llu", (unsigned long long) values[i]);
        argv[argc++] = names[i];
        argv[argc++] = num[i];
    }
    snprintf(num[N], sizeof num[N], "%lld", (long long) ax_now_ms());
    argv[argc++] = "cursor";
    argv[argc++] = n->cursor;
    argv[argc++] = "updated_ms";
    argv[argc++] = num[N];
    if (state != AX_RUN_STATE_NONE) {
        argv[argc++] = "state";
        argv[argc++] = ax_run_state_name(state);
    }
    ax_rtx_argv(tx, argc, argv, NULL);
}

/*  A one-command write: 0 / -1. */
static int s_write(redisContext *c, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = ax_redis_vcmd(c, err, fmt, ap);
    va_end(ap);
    int rc = r ? 0 : -1;
    freeReplyObject(r);
    return rc;
}

/* ---------------------------------------------------------------- the record */

void ax_run_record_clear(ax_run_record_t *rec)
{
    free(rec->spec);
    free(rec->source);
    free(rec->output);
    free(rec->error);
    memset(rec, 0, sizeof *rec);
}

int ax_run_record_spec(const ax_run_record_t *rec, ax_runspec_t *spec, char **err)
{
    memset(spec, 0, sizeof *spec);
    if (!rec->spec)
        return ax_rs_fail(err, "no spec");
    return ax_runspec_decode(rec->spec, rec->spec_len, spec, err);
}

/*  The fields of NS:run:{R} the record reads, and where each goes. */
typedef enum { S_U64, S_I64, S_F64, S_STR, S_BLOB, S_STATE, S_CURSOR } s_kind_t;

#define S_AT(member) offsetof(ax_run_record_t, member)
static const struct {
    const char *name;
    s_kind_t kind;
    size_t offset;
} s_fields[] = {
    {"state", S_STATE, S_AT(state)},
    {"spec", S_BLOB, S_AT(spec)},
    {"source", S_STR, S_AT(source)},
    {"harvested", S_U64, S_AT(n.harvested)},
    {"duplicates", S_U64, S_AT(n.duplicates)},
    {"jobs_total", S_U64, S_AT(n.jobs_total)},
    {"jobs_done", S_U64, S_AT(n.jobs_done)},
    {"jobs_failed", S_U64, S_AT(n.jobs_failed)},
    {"read", S_U64, S_AT(n.read)},
    {"malformed", S_U64, S_AT(n.malformed)},
    {"filtered", S_U64, S_AT(n.filtered)},
    {"harvest_done", S_U64, S_AT(n.harvest_done)},
    {"cursor", S_CURSOR, S_AT(n.cursor)},
    {"papers_done", S_U64, S_AT(papers_done)},
    {"llm_requests", S_I64, S_AT(llm.requests)},
    {"llm_cache_hits", S_I64, S_AT(llm.cache_hits)},
    {"llm_prompt_tokens", S_I64, S_AT(llm.prompt_tokens)},
    {"llm_completion_tokens", S_I64, S_AT(llm.completion_tokens)},
    {"llm_cached_tokens", S_I64, S_AT(llm.cached_tokens)},
    {"llm_429s", S_I64, S_AT(llm.http_429s)},
    {"llm_cost_usd", S_F64, S_AT(llm_cost_usd)},
    {"created_ms", S_I64, S_AT(created_ms)},
    {"updated_ms", S_I64, S_AT(updated_ms)},
    {"completed_ms", S_I64, S_AT(completed_ms)},
    {"rendered_ms", S_I64, S_AT(rendered_ms)},
    {"output", S_STR, S_AT(output)},
    {"error", S_STR, S_AT(error)},
};

/*  Sets the record's member for field from v. -1 on OOM. */
static int s_record_set(ax_run_record_t *rec, const char *field, const redisReply *v)
{
    for (size_t i = 0; i < sizeof s_fields / sizeof *s_fields; i++) {
        if (strcmp(field, s_fields[i].name) != 0)
            continue;
        char *at = (char *) rec + s_fields[i].offset;
        switch (s_fields[i].kind) {
        case S_U64: *(uint64_t *) (void *) at = strtoull(v->str, NULL, 10); break;
        case S_I64: *(int64_t *) (void *) at = strtoll(v->str, NULL, 10); break;
        case S_F64: *(double *) (void *) at = strtod(v->str, NULL); break;
        case S_STATE: *(ax_run_state_t *) (void *) at = ax_run_state_from_name(v->str); break;
        case S_CURSOR: snprintf(at, AX_RUN_CURSOR_MAX, "%s", v->str); break;
        case S_STR:
        case S_BLOB: {
            char **p = (char **) (void *) at;
            free(*p);
            if (!(*p = malloc(v->len + 1)))
                return -1;
            memcpy(*p, v->str, v->len + 1);
            if (s_fields[i].kind == S_BLOB)
                rec->spec_len = v->len;
            break;
        }
        }
        return 0;
    }
    return 0;                           /* a field the record does not hold */
}

int ax_run_store_load(redisContext *c, const char *run, ax_run_record_t *rec, char **err)
{
    ax_rkey_t k;
    memset(rec, 0, sizeof *rec);
    int go = ax_rs_read_key(c, err, run, NULL, NULL, &k);
    if (go <= 0)
        return go;
    redisReply *h = ax_redis_cmd(c, err, "HGETALL %s", k.s);
    if (!h)
        return -1;
    int rc = h->type == REDIS_REPLY_ARRAY && h->elements > 0 ? 1 : 0;
    for (size_t i = 0; rc == 1 && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && h->element[i + 1]->type == REDIS_REPLY_STRING &&
            s_record_set(rec, h->element[i]->str, h->element[i + 1]) < 0) {
            ax_run_record_clear(rec);
            rc = ax_rs_fail(err, "out of memory");
        }
    freeReplyObject(h);
    return rc;
}

/*  HGET of one field of the run's hash: 1 with *r (a string reply, caller frees), 0 when
 *  absent (or no such run), -1. */
static int s_hget(redisContext *c, const char *run, const char *field, redisReply **r, char **err)
{
    ax_rkey_t k;
    *r = NULL;
    int go = ax_rs_read_key(c, err, run, NULL, NULL, &k);
    if (go <= 0)
        return go;
    redisReply *v = ax_redis_cmd(c, err, "HGET %s %s", k.s, field);
    if (!v)
        return -1;
    if (v->type != REDIS_REPLY_STRING) {
        freeReplyObject(v);
        return 0;
    }
    *r = v;
    return 1;
}

int ax_run_store_spec(redisContext *c, const char *run, ax_runspec_t *spec, char **err)
{
    redisReply *r;
    memset(spec, 0, sizeof *spec);
    int rc = s_hget(c, run, "spec", &r, err);
    if (rc == 1 && ax_runspec_decode(r->str, r->len, spec, err) < 0)
        rc = -1;
    freeReplyObject(r);
    return rc;
}

int ax_run_store_state(redisContext *c, const char *run, ax_run_state_t *state, char **err)
{
    redisReply *r;
    int rc = s_hget(c, run, "state", &r, err);
    *state = rc == 1 ? ax_run_state_from_name(r->str) : AX_RUN_STATE_NONE;
    freeReplyObject(r);
    return rc;
}

int ax_run_store_exists(redisContext *c, const char *run, char **err)
{
    ax_rkey_t k;
    int go = run ? ax_rs_read_key(c, err, run, NULL, NULL, &k) : 1;
    if (go <= 0)
        return go;
    if (!run)
        ax_rkey_ns(&k, "runs", NULL);
    redisReply *r = ax_redis_cmd(c, err, run ? "EXISTS %s" : "ZCARD %s", k.s);
    int rc = !r ? -1 : r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? 1 : 0;
    freeReplyObject(r);
    return rc;
}

/*  The strings of an array reply, copied: 0 / -1 on OOM (nothing kept). */
static int s_strings(const redisReply *r, char ***out, size_t *n, char **err)
{
    *out = calloc(r->elements + 1, sizeof **out);
    *n = 0;
    if (!*out)
        return ax_rs_fail(err, "out of memory");
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        if (!((*out)[*n] = strdup(r->element[i]->str))) {
            ax_strv_free(out, *n);
            *n = 0;
            return ax_rs_fail(err, "out of memory");
        }
        (*n)++;
    }
    return 0;
}

int ax_run_store_list(redisContext *c, int newest_first, size_t limit, char ***ids, size_t *n, char **err)
{
    ax_rkey_t k;
    *ids = NULL;
    *n = 0;
    ax_rkey_ns(&k, "runs", NULL);
    redisReply *r = ax_redis_cmd(c, err, newest_first ? "ZREVRANGE %s 0 %lld" : "ZRANGE %s 0 %lld", k.s,
                          limit ? (long long) limit - 1 : -1LL);
    if (!r)
        return -1;
    int rc = r->type == REDIS_REPLY_ARRAY ? s_strings(r, ids, n, err) : ax_rs_fail(err, "redis: bad ZRANGE reply");
    freeReplyObject(r);
    return rc;
}

/* ---------------------------------------------------------------- creation */

int ax_run_store_create(redisContext *c, const char *run, const ax_runspec_t *spec, int64_t created_ms, char **err)
{
    ax_rkey_t key, runs, req;
    ax_rtx_t tx;
    if (ax_rs_write_keys(c, err, run, 1, &key, "") < 0)
        return -1;
    ax_rkey_ns(&runs, "runs", NULL);
    if (spec->request && ax_rkey_ns(&req, "submit:", spec->request) < 0)
        return ax_rs_fail(err, "bad request id");
    msgpack_sbuffer blob;
    msgpack_sbuffer_init(&blob);
    ax_runspec_encode(&blob, spec);
    ax_rtx_begin(&tx, c);
    ax_rtx_fmt(&tx, "HSET %s state %s spec %b source %s created_ms %lld", key.s, AX_RS_QUEUED, blob.data,
               blob.size, spec->source ? spec->source : "", (long long) created_ms);
    ax_rtx_fmt(&tx, "ZADD %s %lld %s", runs.s, (long long) created_ms, run);
    if (spec->request)              /* a retry of this request gets this run */
        ax_rtx_fmt(&tx, "SET %s %s EX %d", req.s, run, AX_RUN_REQUEST_TTL_S);
    int rc = ax_rtx_exec(&tx, err);
    msgpack_sbuffer_destroy(&blob);
    return rc;
}

int ax_run_store_by_request(redisContext *c, const char *request, char **run, char **err)
{
    ax_rkey_t k;
    size_t n = strlen(request);
    *run = NULL;
    if (n == 0 || n > AX_RUN_REQUEST_MAX || strspn(request, AX_NAMESPACE_CHARS) != n)
        return ax_rs_fail(err, "bad run spec: req must be 1-64 characters of [A-Za-z0-9_.:-]");
    ax_rkey_ns(&k, "submit:", request);
    redisReply *r = ax_redis_cmd(c, err, "GET %s", k.s);
    int rc = !r ? -1 : r->type == REDIS_REPLY_STRING ? 1 : 0;
    if (rc == 1 && !(*run = strdup(r->str)))
        rc = ax_rs_fail(err, "out of memory");
    freeReplyObject(r);
    return rc;
}

/* ---------------------------------------------------------------- state changes */

int ax_run_store_put_counts(redisContext *c, const char *run, const ax_run_counts_t *n, ax_run_state_t state,
                            char **err)
{
    ax_rkey_t k;
    ax_rtx_t tx;
    if (ax_rs_write_keys(c, err, run, 1, &k, "") < 0)
        return -1;
    ax_rtx_begin(&tx, c);
    ax_rs_append_counts(&tx, k.s, n, state);
    return ax_rtx_exec(&tx, err);
}

int ax_run_store_set_state(redisContext *c, const char *run, ax_run_state_t state, char **err)
{
    ax_rkey_t k;
    assert(state != AX_RUN_STATE_NONE);
    if (ax_rs_write_keys(c, err, run, 1, &k, "") < 0)
        return -1;
    return s_write(c, err, "HSET %s state %s", k.s, ax_run_state_name(state));
}

int ax_run_store_fail(redisContext *c, const char *run, const char *error, char **err)
{
    ax_rkey_t k;
    if (ax_rs_write_keys(c, err, run, 1, &k, "") < 0)
        return -1;
    return s_write(c, err, "HSET %s state %s error %s", k.s, AX_RS_FAILED, error && *error ? error : "failed");
}

int ax_run_store_collected(redisContext *c, const char *run, int64_t completed_ms, char **err)
{
    ax_rkey_t k, render;
    ax_rtx_t tx;
    if (ax_rs_write_keys(c, err, run, 1, &k, "") < 0)
        return -1;
    ax_rkey_ns(&render, "render", NULL);
    ax_rtx_begin(&tx, c);
    ax_rtx_fmt(&tx, "HSET %s completed_ms %lld state %s", k.s, (long long) completed_ms, AX_RS_COLLECTED);
    ax_rtx_fmt(&tx, "RPUSH %s %s", render.s, run);
    return ax_rtx_exec(&tx, err);
}

/* ---------------------------------------------------------------- rendering */

int ax_run_store_render_queue(redisContext *c, char ***runs, size_t *n, char **err)
{
    ax_rkey_t k;
    *runs = NULL;
    *n = 0;
    ax_rkey_ns(&k, "render", NULL);
    redisReply *r = ax_redis_cmd(c, err, "LRANGE %s 0 -1", k.s);
    if (!r)
        return -1;
    int rc = r->type == REDIS_REPLY_ARRAY ? s_strings(r, runs, n, err) : ax_rs_fail(err, "redis: bad LRANGE reply");
    freeReplyObject(r);
    return rc;
}

int ax_run_store_render_finish(redisContext *c, const char *run, const char *folder, const char *error,
                               int64_t rendered_ms, char **err)
{
    ax_rkey_t k, render;
    ax_rtx_t tx;
    int named = ax_rs_read_key(c, err, run, NULL, NULL, &k);
    if (named < 0)
        return -1;
    ax_rkey_ns(&render, "render", NULL);
    ax_rtx_begin(&tx, c);
    if (!named)
        ;                               /* no such run can exist: it only leaves the queue */
    else if (error)
        ax_rtx_fmt(&tx, "HSET %s state %s error %s", k.s, AX_RS_FAILED, error);
    else
        ax_rtx_fmt(&tx, "HSET %s state %s output %s rendered_ms %lld", k.s, AX_RS_DONE, folder ? folder : "",
                   (long long) rendered_ms);
    ax_rtx_fmt(&tx, "LREM %s 0 %s", render.s, run);
    return ax_rtx_exec(&tx, err);
}

/* ---------------------------------------------------------------- LLM usage */

/*  KEYS[1] the run's hash; ARGV the six counters of ax_llm_counts_t, then the cost. Only
 *  what is not zero is written, so a turn with nothing to add leaves no field behind. */
static const char *s_account_lua =
    "local f = {'llm_requests', 'llm_cache_hits', 'llm_prompt_tokens', 'llm_completion_tokens',\n"
    "           'llm_cached_tokens', 'llm_429s'}\n"
    "for i = 1, #f do\n"
    "  if ARGV[i] ~= '0' then redis.call('HINCRBY', KEYS[1], f[i], ARGV[i]) end\n"
    "end\n"
    "if tonumber(ARGV[#f + 1]) ~= 0 then redis.call('HINCRBYFLOAT', KEYS[1], 'llm_cost_usd', ARGV[#f + 1]) end\n"
    "return 0\n";

/*  The account script's key and arguments for u and cost_usd. */
typedef struct {
    ax_rkey_t key;
    char a[7][32];
    const char *keys[1];
    const char *args[7];
} s_account_t;

static int s_account_args(s_account_t *x, const char *run, const ax_llm_counts_t *u, double cost_usd, char **err)
{
    if (!isfinite(cost_usd))
        return ax_rs_fail(err, "llm accounting: the cost is not a finite number");
    if (ax_rkey_run(&x->key, run, NULL, NULL) < 0)
        return ax_rs_fail(err, "llm accounting: bad run id");
    const int64_t v[] = {u->requests, u->cache_hits, u->prompt_tokens, u->completion_tokens, u->cached_tokens,
                         u->http_429s};
    for (int i = 0; i < 6; i++)
        snprintf(x->a[i], sizeof x->a[i], "%lld", (long long) v[i]);
    snprintf(x->a[6], sizeof x->a[6], "%.17g", cost_usd);
    x->keys[0] = x->key.s;
    for (int i = 0; i < 7; i++)
        x->args[i] = x->a[i];
    return 0;
}

int ax_run_store_add_llm(redisContext *c, const char *run, const ax_llm_counts_t *u, double cost_usd, char **err)
{
    s_account_t x;
    if (err)
        *err = NULL;
    if (s_account_args(&x, run, u, cost_usd, err) < 0)
        return -1;
    redisReply *r = ax_redis_eval(c, s_account_lua, 1, x.keys, 7, x.args, err);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int ax_run_store_add_llm_batch(ax_redis_batch_t *b, const char *run, const ax_llm_counts_t *u, double cost_usd)
{
    s_account_t x;
    if (s_account_args(&x, run, u, cost_usd, NULL) < 0)
        return -1;
    return ax_redis_batch_eval(b, s_account_lua, 1, x.keys, 7, x.args, NULL);
}

int ax_run_store_llm_budget_spent(redisContext *c, const char *run, double budget_usd, char **err)
{
    redisReply *r;
    if (err)
        *err = NULL;
    if (!(budget_usd > 0))
        return 0;
    int rc = s_hget(c, run, "llm_cost_usd", &r, err);
    double spent = rc == 1 ? strtod(r->str, NULL) : 0.0;
    freeReplyObject(r);
    return rc < 0 ? -1 : spent >= budget_usd ? 1 : 0;
}

/* ---------------------------------------------------------------- the broker */

int ax_run_store_put_broker(redisContext *c, const ax_run_store_broker_t *b, char **err)
{
    ax_rkey_t k;
    ax_rkey_ns(&k, "broker", NULL);
    return s_write(c, err,
                   "HSET %s workers %lld run %s jobs_inflight %lld jobs_queued %lld runs_waiting %lld "
                   "updated_ms %lld pid %lld id %s",
                   k.s, (long long) b->workers, b->run, (long long) b->jobs_inflight, (long long) b->jobs_queued,
                   (long long) b->runs_waiting, (long long) b->updated_ms, (long long) b->pid, b->id);
}

int ax_run_store_get_broker(redisContext *c, ax_run_store_broker_t *b, char **err)
{
    ax_rkey_t k;
    memset(b, 0, sizeof *b);
    ax_rkey_ns(&k, "broker", NULL);
    redisReply *h = ax_redis_cmd(c, err, "HGETALL %s", k.s);
    if (!h)
        return -1;
    int rc = h->type == REDIS_REPLY_ARRAY && h->elements > 0 ? 1 : 0;
    b->workers = ax_redis_hash_ll(h, "workers");
    b->jobs_inflight = ax_redis_hash_ll(h, "jobs_inflight");
    b->jobs_queued = ax_redis_hash_ll(h, "jobs_queued");
    b->runs_waiting = ax_redis_hash_ll(h, "runs_waiting");
    b->updated_ms = ax_redis_hash_ll(h, "updated_ms");
    b->pid = ax_redis_hash_ll(h, "pid");
    const char *run = ax_redis_hash_str(h, "run"), *id = ax_redis_hash_str(h, "id");
    snprintf(b->run, sizeof b->run, "%s", run ? run : "");
    snprintf(b->id, sizeof b->id, "%s", id ? id : "");
    freeReplyObject(h);
    return rc;
}
