/*  run_store_jobs.c: a run's harvest, jobs and results in Redis (see run_store.h).
 *
 *  A harvested batch is one MULTI/EXEC (seen ids, job, counters), so a crash keeps all of
 *  it or none. Storing a RESULT is one Lua script so that a job's verdicts land
 *  atomically and the per-state counters stay exact under redelivery: for each (profile,
 *  paper) the script compares the stored state with the new one and moves the counter
 *  only when it changes.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_store.h"
#include "run_store_internal.h"
#include "text.h"

/*  KEYS[1]: the run's hash (its namespaced name; the other keys of the run extend it).
 *  ARGV: run, job, number of profiles, the profile names, then per item the paper id and
 *  per profile its state string and entry blob ("" for none). Before it writes anything
 *  the script checks that the result belongs (protocol.md section 4): the run is active
 *  (harvesting or dispatching), the job is outstanding (in :jobs; its ids in :jobids,
 *  joined by NUL, or else read from its packed papers) and the items are exactly its
 *  papers; job 0 (papers the broker recorded failed outside any job, refused by the
 *  collector on the wire) is checked for the run only. Returns {0, fresh papers} when
 *  stored, {1, reason, message} when the run or the job is finished (nothing can change
 *  any more), {2, reason, message} when refused. */
static const char *s_store_lua =
    "local R, J, np = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local base = KEYS[1]\n"
    "local state = redis.call('HGET', base, 'state')\n"
    "if not state then return {1, 'run', 'no such run'} end\n"
    "if state ~= '" AX_RS_HARVESTING "' and state ~= '" AX_RS_DISPATCHING "' then\n"
    "  if state == '" AX_RS_QUEUED "' then return {2, 'job', 'run not started'} end\n"
    "  return {1, 'finished', 'run ' .. state} end\n"
    "if J ~= '0' then\n"
    "  local want, n = {}, 0\n"
    "  local ids = redis.call('HGET', base .. ':jobids', J)\n"
    "  if ids then\n"
    "    for id in string.gmatch(ids, '[^%z]+') do want[id] = true; n = n + 1 end\n"
    "  else\n"
    "    local blob = redis.call('HGET', base .. ':jobs', J)\n"
    "    if not blob then\n"
    "      if tonumber(J) <= tonumber(redis.call('HGET', base, 'jobs_total') or '0') then\n"
    "        return {1, 'finished', 'job finished'} end\n"
    "      return {2, 'job', 'job never handed out'}\n"
    "    end\n"
    "    for _, p in ipairs(cmsgpack.unpack(blob)) do want[p.id] = true; n = n + 1 end\n"
    "  end\n"
    "  local step = 1 + 2 * np\n"
    "  for i = 4 + np, #ARGV, step do\n"
    "    if not want[ARGV[i]] then\n"
    "      return {2, 'papers', 'paper ' .. string.sub(ARGV[i], 1, 40) .. ' is not one of job ' .. J} end\n"
    "    want[ARGV[i]] = nil\n"
    "    n = n - 1\n"
    "  end\n"
    "  if n ~= 0 then return {2, 'papers', n .. ' papers of job ' .. J .. ' missing'} end\n"
    "end\n"
    "local skeys, ckeys, pkeys = {}, {}, {}\n"
    "for p = 1, np do\n"
    "  skeys[p] = base .. ':states:' .. ARGV[3 + p]\n"
    "  ckeys[p] = base .. ':counts:' .. ARGV[3 + p]\n"
    "  pkeys[p] = base .. ':papers:' .. ARGV[3 + p]\n"
    "end\n"
    "local i, fresh = 4 + np, 0\n"
    "while i <= #ARGV do\n"
    "  local id = ARGV[i]\n"
    "  i = i + 1\n"
    "  for p = 1, np do\n"
    "    local sv, blob = ARGV[i], ARGV[i + 1]\n"
    "    i = i + 2\n"
    "    local old = redis.call('HGET', skeys[p], id)\n"
    "    if p == 1 and not old then fresh = fresh + 1 end\n"
    "    if old ~= sv then\n"
    "      redis.call('HSET', skeys[p], id, sv)\n"
    "      if old then redis.call('HINCRBY', ckeys[p], string.match(old, '^[^\\t]*'), -1) end\n"
    "      redis.call('HINCRBY', ckeys[p], string.match(sv, '^[^\\t]*'), 1)\n"
    "    end\n"
    "    if blob ~= '' then redis.call('HSET', pkeys[p], id, blob)\n"
    "    elseif old then redis.call('HDEL', pkeys[p], id) end\n"
    "  end\n"
    "end\n"
    "if fresh > 0 then redis.call('HINCRBY', base, 'papers_done', fresh) end\n"
    "return {0, fresh}\n";

/* ---------------------------------------------------------------- harvest */

/*  A command's argv: a head of fixed words, then n strings. Caller frees both arrays. */
static int s_argv(const char *const *head, size_t n_head, char *const *v, size_t n, const char ***argv_p,
                  size_t **lens_p)
{
    const char **argv = calloc(n_head + n + 1, sizeof *argv);
    size_t *lens = calloc(n_head + n + 1, sizeof *lens);
    if (!argv || !lens) {
        free(argv);
        free(lens);
        return -1;
    }
    for (size_t i = 0; i < n_head + n; i++) {
        argv[i] = i < n_head ? head[i] : v[i - n_head];
        lens[i] = strlen(argv[i]);
    }
    *argv_p = argv;
    *lens_p = lens;
    return (int) (n_head + n);
}

int ax_run_store_seen(redisContext *c, const char *run, char *const *ids, size_t n, unsigned char *seen, char **err)
{
    ax_rkey_t k;
    const char **argv;
    size_t *lens;
    if (ax_rs_write_keys(c, err, run, 1, &k, ":seen") < 0)
        return -1;
    if (n == 0)
        return 0;
    const char *head[] = {"SMISMEMBER", k.s};
    int argc = s_argv(head, 2, ids, n, &argv, &lens);
    if (argc < 0)
        return ax_rs_fail(err, "out of memory");
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    free(argv);
    free(lens);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        ax_set_error(err, "redis: SMISMEMBER: %s",
                     !r ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        seen[i] = r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == 1;
    freeReplyObject(r);
    return 0;
}

/*  The job's paper ids joined by NUL (ids never contain one), the value of its
 *  NS:run:{R}:jobids entry: what the RESULT script checks a RESULT's papers against
 *  without unpacking the job. Caller frees; NULL on OOM. */
static char *s_ids_joined(char *const *ids, size_t n, size_t *len)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(ids[i]) + 1;
    char *out = malloc(total), *p = out;
    for (size_t i = 0; out && i < n; i++) {
        size_t l = strlen(ids[i]);
        memcpy(p, ids[i], l);
        p += l;
        *p++ = '\0';
    }
    *len = out && n ? (size_t) (p - out) - 1 : 0;   /* no NUL after the last */
    return out;
}

int ax_run_store_commit_batch(redisContext *c, const char *run, char *const *fresh, size_t n_fresh,
                              const ax_run_store_job_t *job, const ax_run_counts_t *n, ax_run_state_t state,
                              char **err)
{
    ax_rtx_t tx;
    const char **argv = NULL;
    size_t *lens = NULL, ids_len = 0;
    char *ids = NULL;
    ax_rkey_t k[4];
    if (ax_rs_write_keys(c, err, run, 4, k, "", ":seen", ":jobs", ":jobids") < 0)
        return -1;
    const char *head[] = {"SADD", k[1].s};
    int argc = n_fresh ? s_argv(head, 2, fresh, n_fresh, &argv, &lens) : 0;
    if (argc < 0 || (job && !(ids = s_ids_joined(job->ids, job->n_ids, &ids_len)))) {
        free(argv);
        free(lens);
        return ax_rs_fail(err, "out of memory");
    }
    ax_rtx_begin(&tx, c);
    if (n_fresh)
        ax_rtx_argv(&tx, argc, argv, lens);
    if (job) {
        ax_rtx_fmt(&tx, "HSET %s %" PRIu64 " %b", k[2].s, job->id, job->papers, job->papers_len);
        ax_rtx_fmt(&tx, "HSET %s %" PRIu64 " %b", k[3].s, job->id, ids, ids_len);
    }
    ax_rs_append_counts(&tx, k[0].s, n, state);
    int rc = ax_rtx_exec(&tx, err);
    free(ids);
    free(argv);
    free(lens);
    return rc;
}

int ax_run_store_save_attempt(redisContext *c, const char *run, uint64_t job, uint32_t attempt, char **err)
{
    ax_rkey_t k;
    if (ax_rs_write_keys(c, err, run, 1, &k, ":attempts") < 0)
        return -1;
    redisReply *r = ax_redis_cmd(c, err, "HSET %s %" PRIu64 " %u", k.s, job, attempt);
    int rc = r ? 0 : -1;
    freeReplyObject(r);
    return rc;
}

int ax_run_store_finish_jobs(redisContext *c, const char *run, const uint64_t *jobs, size_t n_jobs,
                             const ax_run_counts_t *n, ax_run_state_t state, char **err)
{
    ax_rkey_t k[4];
    ax_rtx_t tx;
    if (ax_rs_write_keys(c, err, run, 4, k, "", ":jobs", ":jobids", ":attempts") < 0)
        return -1;
    ax_rtx_begin(&tx, c);
    for (size_t i = 0; i < n_jobs; i++)
        for (int h = 1; h < 4; h++)
            ax_rtx_fmt(&tx, "HDEL %s %" PRIu64, k[h].s, jobs[i]);
    ax_rs_append_counts(&tx, k[0].s, n, state);
    return ax_rtx_exec(&tx, err);
}

void ax_run_stored_jobs_free(ax_run_stored_job_t **jobs_p, size_t n)
{
    for (size_t i = 0; *jobs_p && i < n; i++)
        free((*jobs_p)[i].papers);
    free(*jobs_p);
    *jobs_p = NULL;
}

static int s_job_cmp(const void *a, const void *b)
{
    uint64_t x = ((const ax_run_stored_job_t *) a)->id, y = ((const ax_run_stored_job_t *) b)->id;
    return x < y ? -1 : x > y;
}

int ax_run_store_load_jobs(redisContext *c, const char *run, ax_run_stored_job_t **jobs, size_t *n, char **err)
{
    ax_rkey_t k[2];
    *jobs = NULL;
    *n = 0;
    if (ax_rs_write_keys(c, err, run, 2, k, ":jobs", ":attempts") < 0)
        return -1;
    redisReply *attempts = ax_redis_cmd(c, err, "HGETALL %s", k[1].s);
    redisReply *h = attempts ? ax_redis_cmd(c, err, "HGETALL %s", k[0].s) : NULL;
    int rc = h ? 0 : -1;
    size_t count = h ? h->elements / 2 : 0;
    if (rc == 0 && !(*jobs = calloc(count + 1, sizeof **jobs)))
        rc = ax_rs_fail(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const redisReply *f = h->element[2 * i], *v = h->element[2 * i + 1];
        ax_run_stored_job_t *j = &(*jobs)[i];
        j->id = strtoull(f->str, NULL, 10);
        j->attempt = (uint32_t) ax_redis_hash_ll(attempts, f->str);
        if (!(j->papers = malloc(v->len + 1))) {
            rc = ax_rs_fail(err, "out of memory");
            break;
        }
        memcpy(j->papers, v->str, v->len + 1);
        j->papers_len = v->len;
        *n = i + 1;
    }
    if (rc == 0)
        qsort(*jobs, *n, sizeof **jobs, s_job_cmp);
    else {
        ax_run_stored_jobs_free(jobs, *n);
        *n = 0;
    }
    freeReplyObject(h);
    freeReplyObject(attempts);
    return rc;
}

/* ---------------------------------------------------------------- results */

/*  Growable argument list (ARGV of the store script). */
typedef struct {
    const char **argv;
    size_t *lens;
    size_t n, cap;
} s_args_t;

static int s_arg(s_args_t *a, const char *s, size_t len)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        const char **argv = realloc(a->argv, cap * sizeof *argv);
        if (!argv)
            return -1;
        a->argv = argv;
        size_t *lens = realloc(a->lens, cap * sizeof *lens);
        if (!lens)
            return -1;
        a->lens = lens;
        a->cap = cap;
    }
    a->argv[a->n] = s;
    a->lens[a->n++] = len;
    return 0;
}

/*  The head of the script's ARGV: run, job, the number of profiles and their names (the
 *  numbers are written into np and job, which must outlive the call). -1 on OOM. */
static int s_args_head(s_args_t *a, const char *run, uint64_t job_id, char *const *profiles, size_t n_profiles,
                       char np[24], char job[24])
{
    snprintf(np, 24, "%zu", n_profiles);
    snprintf(job, 24, "%" PRIu64, job_id);
    if (s_arg(a, run, strlen(run)) < 0 || s_arg(a, job, strlen(job)) < 0 || s_arg(a, np, strlen(np)) < 0)
        return -1;
    for (size_t p = 0; p < n_profiles; p++)
        if (s_arg(a, profiles[p], strlen(profiles[p])) < 0)
            return -1;
    return 0;
}

/*  The script's answer {0, fresh} / {1 or 2, reason, message} as an ax_store_rc_t, with
 *  *reason (one of a fixed set of words, fit for a metric label) and *err set when not
 *  stored. */
static int s_store_reply(const redisReply *r, const char **reason, char **err)
{
    static const char *reasons[] = {"run", "finished", "job", "papers"};
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[0]->integer < AX_STORE_STORED || r->element[0]->integer > AX_STORE_REFUSED) {
        ax_rs_fail(err, "redis: unexpected reply of the store script");
        return AX_STORE_ERROR;
    }
    int rc = (int) r->element[0]->integer;
    if (rc == AX_STORE_STORED)
        return rc;
    const redisReply *why = r->element[1], *msg = r->elements > 2 ? r->element[2] : NULL;
    for (size_t i = 0; reason && why->type == REDIS_REPLY_STRING && i < sizeof reasons / sizeof *reasons; i++)
        if (strcmp(why->str, reasons[i]) == 0)
            *reason = reasons[i];
    ax_rs_fail(err, msg && msg->type == REDIS_REPLY_STRING ? msg->str : "refused");
    return rc;
}

/*  Runs the store script for run with the arguments a: an ax_store_rc_t. A run id that
 *  can name no run is "no such run". */
static int s_store_run(redisContext *c, const char *run, const s_args_t *a, const char **reason, char **err)
{
    ax_rkey_t base;
    if (ax_rkey_run(&base, run, NULL, NULL) < 0) {
        if (reason)
            *reason = "run";
        ax_rs_fail(err, c ? "no such run" : "redis: not connected");
        return c ? AX_STORE_FINISHED : AX_STORE_ERROR;
    }
    const char *keys[] = {base.s};
    redisReply *r = ax_redis_eval_bin(c, s_store_lua, 1, keys, (int) a->n, a->argv, a->lens, err);
    if (!r)
        return AX_STORE_ERROR;
    int rc = s_store_reply(r, reason, err);
    freeReplyObject(r);
    return rc;
}

/*  "state" or "state\treason" of a verdict (caller frees), NULL on OOM. */
static char *s_state_value(ax_state_t state, const char *reason, size_t *len)
{
    char *v = NULL;
    int n = reason ? asprintf(&v, "%s\t%s", ax_state_name(state), reason) : asprintf(&v, "%s", ax_state_name(state));
    *len = n > 0 ? (size_t) n : 0;
    return n < 0 ? NULL : v;
}

int ax_run_store_result(redisContext *c, const ax_result_t *res, const char **reason, char **err)
{
    s_args_t a = {0};
    char np[24], job[24];
    int rc = AX_STORE_ERROR;
    size_t n_vals = res->n_items * res->n_profiles;
    /* Values (state strings and entry blobs) live here until the call returns. */
    char **vals = calloc(n_vals ? n_vals * 2 : 1, sizeof *vals);
    size_t *vlens = calloc(n_vals ? n_vals * 2 : 1, sizeof *vlens);
    if (err)
        *err = NULL;
    if (reason)
        *reason = "refused";
    if (!vals || !vlens || s_args_head(&a, res->run, res->job, res->profiles, res->n_profiles, np, job) < 0)
        goto oom;
    for (size_t i = 0; i < res->n_items; i++) {
        const ax_item_t *it = &res->items[i];
        if (s_arg(&a, it->paper.id, strlen(it->paper.id)) < 0)
            goto oom;
        for (size_t p = 0; p < res->n_profiles; p++) {
            const ax_verdict_t *v = &it->verdicts[p];
            size_t k = (i * res->n_profiles + p) * 2;
            if (!(vals[k] = s_state_value(v->state, v->reason, &vlens[k])))
                goto oom;
            if (v->state == AX_STATE_MATCHED || v->state == AX_STATE_ENRICHED) {
                msgpack_sbuffer sb;
                msgpack_sbuffer_init(&sb);
                ax_entry_encode(&sb, &it->paper, v);
                vlens[k + 1] = sb.size;
                vals[k + 1] = msgpack_sbuffer_release(&sb);
                msgpack_sbuffer_destroy(&sb);
            }
            if (s_arg(&a, vals[k], vlens[k]) < 0 || s_arg(&a, vals[k + 1] ? vals[k + 1] : "", vlens[k + 1]) < 0)
                goto oom;
        }
    }
    rc = s_store_run(c, res->run, &a, reason, err);
    goto done;
oom:
    ax_rs_fail(err, "out of memory");
done:
    for (size_t k = 0; vals && k < n_vals * 2; k++)
        free(vals[k]);
    free(vals);
    free(vlens);
    free(a.argv);
    free(a.lens);
    return rc;
}

int ax_run_store_fail_papers(redisContext *c, const char *run, char *const *profiles, size_t n_profiles,
                             uint64_t job, char *const *ids, size_t n, const char *reason, char **err)
{
    s_args_t a = {0};
    char np[24], jb[24];
    size_t len = 0;
    int rc = AX_STORE_ERROR;
    char *value = s_state_value(AX_STATE_FAILED, reason, &len);     /* the same for every paper */
    if (err)
        *err = NULL;
    if (!value || s_args_head(&a, run, job, profiles, n_profiles, np, jb) < 0)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (s_arg(&a, ids[i], strlen(ids[i])) < 0)
            goto oom;
        for (size_t p = 0; p < n_profiles; p++)
            if (s_arg(&a, value, len) < 0 || s_arg(&a, "", 0) < 0)
                goto oom;
    }
    rc = s_store_run(c, run, &a, NULL, err);
    goto done;
oom:
    ax_rs_fail(err, "out of memory");
done:
    free(value);
    free(a.argv);
    free(a.lens);
    return rc;
}

/* ---------------------------------------------------------------- reading results */

int ax_run_store_profile_counts(redisContext *c, const char *run, const char *profile,
                                uint64_t counts[AX_STATE_COUNT], char **err)
{
    ax_rkey_t k;
    memset(counts, 0, AX_STATE_COUNT * sizeof *counts);
    int go = ax_rs_read_key(c, err, run, ":counts:", profile, &k);
    if (go <= 0)
        return go;
    redisReply *h = ax_redis_cmd(c, err, "HGETALL %s", k.s);
    if (!h)
        return -1;
    for (int s = AX_STATE_NONE + 1; s < AX_STATE_COUNT; s++)
        counts[s] = (uint64_t) ax_redis_hash_ll(h, ax_state_name((ax_state_t) s));
    freeReplyObject(h);
    return 0;
}

/*  HSCANs key, calling visit for every (field, value) pair, until the cursor comes back to
 *  0. visit returns 0 to go on, -1 to stop. 0 / -1. */
static int s_hscan(redisContext *c, const char *key, int (*visit)(void *ctx, const redisReply *f, const redisReply *v),
                   void *ctx, char **err)
{
    char cursor[32] = "0";
    do {
        redisReply *r = ax_redis_cmd(c, err, "HSCAN %s %s COUNT 1000", key, cursor);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return ax_rs_fail(err, "redis: unexpected HSCAN reply");
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *kv = r->element[1];
        for (size_t i = 0; i + 1 < kv->elements; i += 2)
            if (visit(ctx, kv->element[i], kv->element[i + 1]) < 0) {
                freeReplyObject(r);
                return -1;
            }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

typedef struct {
    ax_run_entry_fn entry;
    ax_run_state_fn state;
    void *ctx;
} s_visit_t;

static int s_visit_entry(void *ctx, const redisReply *f, const redisReply *v)
{
    const s_visit_t *x = ctx;
    return x->entry(x->ctx, f->str, v->str, v->len);
}

/*  The stored "state" or "state\treason", split. */
static int s_visit_state(void *ctx, const redisReply *f, const redisReply *v)
{
    const s_visit_t *x = ctx;
    const char *tab = strchr(v->str, '\t');
    char name[32];
    snprintf(name, sizeof name, "%.*s", tab ? (int) (tab - v->str) : (int) v->len, v->str);
    return x->state(x->ctx, f->str, ax_state_from_name(name), tab ? tab + 1 : NULL);
}

int ax_run_store_scan_entries(redisContext *c, const char *run, const char *profile, ax_run_entry_fn fn,
                              void *ctx, char **err)
{
    ax_rkey_t k;
    s_visit_t x = {.entry = fn, .ctx = ctx};
    int go = ax_rs_read_key(c, err, run, ":papers:", profile, &k);
    return go <= 0 ? go : s_hscan(c, k.s, s_visit_entry, &x, err);
}

int ax_run_store_scan_states(redisContext *c, const char *run, const char *profile, ax_run_state_fn fn, void *ctx,
                             char **err)
{
    ax_rkey_t k;
    s_visit_t x = {.state = fn, .ctx = ctx};
    int go = ax_rs_read_key(c, err, run, ":states:", profile, &k);
    return go <= 0 ? go : s_hscan(c, k.s, s_visit_state, &x, err);
}
