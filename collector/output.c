/*  output.c: renders a collected run from Redis into digests and report.json (see output.h).
 *
 *  Per profile: every kept entry is read back (HSCAN, so a large run is read in slices),
 *  bucketed by period, each bucket ranked (render.h) and written. The report counts come
 *  from the exact per-state counters the store keeps, and are checked to add up to the
 *  papers harvested.
 */
#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "codec.h"
#include "log.h"
#include "render.h"
#include "store.h"
#include "text.h"

/*  mkdir -p. */
static int s_mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

typedef struct {
    ax_entry_t *v;
    size_t n, cap;
} s_entries_t;

static void s_entries_free(s_entries_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        ax_entry_clear(&e->v[i]);
    free(e->v);
    memset(e, 0, sizeof *e);
}

typedef struct {
    char period[24];
    size_t idx;
} s_keyed_t;

/*  Period key of an entry (group_by was validated by the caller). */
static void s_period_of(const ax_entry_t *e, const char *group_by, char period[24])
{
    if (ax_period_key(e->paper.submitted, group_by, period, 24) < 0)
        snprintf(period, 24, "unknown");
}

static int s_cmp_period(const void *a, const void *b)
{
    const s_keyed_t *x = a, *y = b;
    int c = strcmp(x->period, y->period);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/*  Orders the entries by period, then by rank within a period, and keeps only the
 *  top_n of each period: what a digest shows. Called while reading a profile's entries,
 *  so memory holds top_n per period, not every matched paper of a backfill. */
static int s_prune(s_entries_t *e, const char *group_by, int top_n)
{
    s_keyed_t *keys = calloc(e->n + 1, sizeof *keys);
    ax_entry_t *out = calloc(e->n + 1, sizeof *out);
    if (!keys || !out) {
        free(keys);
        free(out);
        return -1;
    }
    for (size_t i = 0; i < e->n; i++) {
        keys[i].idx = i;
        s_period_of(&e->v[i], group_by, keys[i].period);
    }
    qsort(keys, e->n, sizeof *keys, s_cmp_period);
    size_t o = 0;
    for (size_t i = 0, j; i < e->n; i = j) {
        size_t n = 0;
        for (j = i; j < e->n && strcmp(keys[j].period, keys[i].period) == 0; j++)
            out[o + n++] = e->v[keys[j].idx];
        ax_rank_sort(out + o, n);
        size_t keep = top_n > 0 && (size_t) top_n < n ? (size_t) top_n : n;
        for (size_t k = keep; k < n; k++)
            ax_entry_clear(&out[o + k]);
        o += keep;
    }
    free(keys);
    free(e->v);
    e->v = out;
    e->cap = e->n + 1;
    e->n = o;
    return 0;
}

/*  Reads the kept entries of a profile, pruned to what its digests show (s_prune). */
static int s_load_entries(redisContext *c, const char *run, const ax_profile_t *prof, const char *group_by,
                          s_entries_t *out, char **err)
{
    char key[512], suffix[300], cursor[32] = "0";
    size_t prune_at = 8192;
    snprintf(suffix, sizeof suffix, ":papers:%s", prof->name);
    ax_run_key(key, sizeof key, run, suffix);
    do {
        redisReply *r = ax_redis_cmd(c, err, "HSCAN %s %s COUNT 1000", key, cursor);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            *err = strdup("redis: unexpected HSCAN reply");
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *kv = r->element[1];
        for (size_t i = 0; i + 1 < kv->elements; i += 2) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 256;
                ax_entry_t *v = realloc(out->v, cap * sizeof *v);
                if (!v) {
                    freeReplyObject(r);
                    *err = strdup("out of memory");
                    return -1;
                }
                out->v = v;
                out->cap = cap;
            }
            char *derr = NULL;
            if (ax_entry_decode(kv->element[i + 1]->str, kv->element[i + 1]->len, &out->v[out->n], &derr) < 0) {
                ax_log_error("stored entry unreadable, skipped|run=%s profile=%s paper=%s error=\"%s\"", run,
                             prof->name, kv->element[i]->str, derr ? derr : "?");
                free(derr);
                continue;
            }
            out->n++;
        }
        freeReplyObject(r);
        if (out->n >= prune_at) {
            if (s_prune(out, group_by, prof->top_n) < 0) {
                *err = strdup("out of memory");
                return -1;
            }
            prune_at = 2 * out->n + 8192;
        }
    } while (strcmp(cursor, "0") != 0);
    if (s_prune(out, group_by, prof->top_n) < 0) {
        *err = strdup("out of memory");
        return -1;
    }
    return 0;
}

/*  Offset of the machine's local time zone at t, so the generation time reads as the
 *  reader's clock (the seed shows local time). */
static int s_tz_offset(int64_t t)
{
    time_t tt = (time_t) t;
    struct tm tm;
    return localtime_r(&tt, &tm) ? (int) tm.tm_gmtoff : 0;
}

/*  Writes one digest per period of a profile from entries s_prune ordered; appends the
 *  relative paths to digests. */
static int s_render_profile(const ax_profile_t *prof, const s_entries_t *e, const char *group_by,
                            const char *folder, int64_t generated_at, json_t *digests, char **err)
{
    int whole = strcmp(group_by, "run") == 0;
    /* A profile with no kept paper still gets one (empty) digest, so the reader sees "0". */
    size_t i = 0;
    do {
        char period[24] = "all", next[24];
        if (e->n)
            s_period_of(&e->v[i], group_by, period);
        size_t j = i + (e->n ? 1 : 0);
        for (; j < e->n; j++) {
            s_period_of(&e->v[j], group_by, next);
            if (strcmp(next, period) != 0)
                break;
        }
        char dir[4096], path[4200], rel[512];
        int too_long = snprintf(rel, sizeof rel, "%s%s%s/digest.md", prof->name, whole ? "" : "/",
                                whole ? "" : period) >= (int) sizeof rel;
        too_long |= snprintf(dir, sizeof dir, "%s/%s%s%s", folder, prof->name, whole ? "" : "/",
                             whole ? "" : period) >= (int) sizeof dir;
        too_long |= snprintf(path, sizeof path, "%s/%s", folder, rel) >= (int) sizeof path;
        FILE *f = NULL;
        if (too_long) {
            *err = strdup("output path too long");
            return -1;
        }
        if (s_mkdirs(dir) < 0 || !(f = fopen(path, "w"))) {
            if (asprintf(err, "cannot write %s: %s", path, strerror(errno)) < 0)
                *err = NULL;
            return -1;
        }
        int wrc = ax_render_digest_md(f, prof, whole ? "all" : period, e->v + i, j - i, generated_at,
                                      s_tz_offset(generated_at));
        if (fclose(f) != 0 || wrc < 0) {
            if (asprintf(err, "cannot write %s", path) < 0)
                *err = NULL;
            return -1;
        }
        json_array_append_new(digests, json_string(rel));
        i = j;
    } while (i < e->n);
    return 0;
}

static const char *s_state_keys[] = {"matched", "enriched", "below_threshold", "excluded", "failed"};

/*  Counts of a profile from ax:run:{R}:counts:{P}; adds "total" and "consistent". */
static json_t *s_profile_counts(redisContext *c, const char *run, const char *profile, long long harvested,
                                char **err)
{
    char key[512], suffix[300];
    snprintf(suffix, sizeof suffix, ":counts:%s", profile);
    ax_run_key(key, sizeof key, run, suffix);
    redisReply *r = ax_redis_cmd(c, err, "HGETALL %s", key);
    if (!r)
        return NULL;
    json_t *o = json_object();
    long long total = 0;
    json_object_set_new(o, "harvested", json_integer(harvested));
    for (size_t i = 0; i < sizeof s_state_keys / sizeof *s_state_keys; i++) {
        long long v = ax_redis_hash_ll(r, s_state_keys[i]);
        total += v;
        json_object_set_new(o, s_state_keys[i], json_integer(v));
    }
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "consistent", json_boolean(total == harvested));
    if (total != harvested)
        ax_log_error("counts do not add up|run=%s profile=%s harvested=%lld states=%lld", run, profile,
                     harvested, total);
    freeReplyObject(r);
    return o;
}

/*  With an LLM, a paper that passed the keywords but stayed "matched" was left
 *  unenriched (budget spent): the report lists them with the reason. */
static int s_unenriched(redisContext *c, const char *run, const char *profile, json_t *counts, char **err)
{
    char key[512], suffix[300], cursor[32] = "0";
    json_t *list = json_array();
    snprintf(suffix, sizeof suffix, ":states:%s", profile);
    ax_run_key(key, sizeof key, run, suffix);
    do {
        redisReply *r = ax_redis_cmd(c, err, "HSCAN %s %s COUNT 1000", key, cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            json_decref(list);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i + 1 < r->element[1]->elements; i += 2) {
            const char *v = r->element[1]->element[i + 1]->str;
            if (strncmp(v, "matched", 7) == 0)
                json_array_append_new(list, json_pack("{s:s,s:s}", "id", r->element[1]->element[i]->str, "reason",
                                                      v[7] == '\t' ? v + 8 : "not enriched"));
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    json_object_set_new(counts, "unenriched", list);
    return 0;
}

static json_t *s_time_json(long long ms)
{
    char buf[32];
    if (ms <= 0)
        return json_null();
    ax_time_format(ms / 1000, "%Y-%m-%dT%H:%M:%SZ", buf, sizeof buf);
    return json_string(buf);
}

static json_t *s_strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

int ax_output_render_run(redisContext *c, const char *run, const char *output_dir, const char *group_by,
                         int64_t generated_at, char **folder_out, char **err)
{
    char key[300], folder[4096];
    ax_runspec_t spec = {0};
    json_t *report = NULL;
    int rc = -1;
    *err = NULL;
    *folder_out = NULL;
    ax_run_key(key, sizeof key, run, "");
    redisReply *h = ax_redis_cmd(c, err, "HGETALL %s", key);
    if (!h)
        return -1;
    const redisReply *blob = ax_redis_hash_field(h, "spec");
    if (!blob) {
        if (asprintf(err, "run %s not found in Redis", run) < 0)
            *err = NULL;
        goto done;
    }
    char *derr = NULL;
    if (ax_runspec_decode(blob->str, blob->len, &spec, &derr) < 0) {
        if (asprintf(err, "run %s: stored spec unreadable: %s", run, derr ? derr : "?") < 0)
            *err = NULL;
        free(derr);
        goto done;
    }
    if (!group_by)
        group_by = spec.group_by && *spec.group_by ? spec.group_by : "day";
    char probe[24];
    if (ax_period_key(0, group_by, probe, sizeof probe) < 0) {
        if (asprintf(err, "group_by: unknown value \"%s\" (day, week, month, run)", group_by) < 0)
            *err = NULL;
        goto done;
    }
    snprintf(folder, sizeof folder, "%s/%s", output_dir, run);
    if (s_mkdirs(folder) < 0) {
        if (asprintf(err, "cannot create %s: %s", folder, strerror(errno)) < 0)
            *err = NULL;
        goto done;
    }
    long long harvested = ax_redis_hash_ll(h, "harvested");
    int llm_mode = ax_redis_hash_ll(h, "llm_requests") > 0 || ax_redis_hash_ll(h, "llm_cache_hits") > 0;
    report = json_object();
    json_t *profiles = json_object();
    json_object_set_new(report, "run", json_string(run));
    json_object_set_new(report, "sources", json_pack("[s]", spec.source));
    json_object_set_new(report, "categories", s_strv_json(spec.categories, spec.n_categories));
    json_object_set_new(report, "from", spec.from ? json_string(spec.from) : json_null());
    json_object_set_new(report, "to", spec.to ? json_string(spec.to) : json_null());
    json_object_set_new(report, "group_by", json_string(group_by));
    json_object_set_new(report, "harvested", json_integer(harvested));
    json_object_set_new(report, "duplicates", json_integer(ax_redis_hash_ll(h, "duplicates")));
    json_object_set_new(report, "read", json_integer(ax_redis_hash_ll(h, "read")));
    json_object_set_new(report, "malformed", json_integer(ax_redis_hash_ll(h, "malformed")));
    json_object_set_new(report, "filtered", json_integer(ax_redis_hash_ll(h, "filtered")));
    json_object_set_new(report, "jobs", json_pack("{s:I,s:I,s:I}", "total", (json_int_t) ax_redis_hash_ll(h, "jobs_total"),
                                                  "done", (json_int_t) ax_redis_hash_ll(h, "jobs_done"), "failed",
                                                  (json_int_t) ax_redis_hash_ll(h, "jobs_failed")));
    for (size_t p = 0; p < spec.n_profiles; p++) {
        const ax_profile_t *prof = &spec.profiles[p];
        s_entries_t e = {0};
        json_t *counts = s_profile_counts(c, run, prof->name, harvested, err);
        if (!counts)
            goto done;
        json_object_set_new(profiles, prof->name, counts);
        json_t *digests = json_array();
        json_object_set_new(counts, "digests", digests);
        if (llm_mode && s_unenriched(c, run, prof->name, counts, err) < 0)
            goto done;
        if (s_load_entries(c, run, prof, group_by, &e, err) < 0 ||
            s_render_profile(prof, &e, group_by, folder, generated_at, digests, err) < 0) {
            s_entries_free(&e);
            goto done;
        }
        s_entries_free(&e);
    }
    json_object_set_new(report, "profiles", profiles);
    const char *cost = ax_redis_hash_str(h, "llm_cost_usd");
    json_object_set_new(report, "llm",
                        json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "mode", llm_mode ? "llm" : "keyword-only",
                                  "requests", (json_int_t) ax_redis_hash_ll(h, "llm_requests"), "cache_hits",
                                  (json_int_t) ax_redis_hash_ll(h, "llm_cache_hits"), "prompt_tokens",
                                  (json_int_t) ax_redis_hash_ll(h, "llm_prompt_tokens"), "completion_tokens",
                                  (json_int_t) ax_redis_hash_ll(h, "llm_completion_tokens"), "cached_tokens",
                                  (json_int_t) ax_redis_hash_ll(h, "llm_cached_tokens"), "http_429s",
                                  (json_int_t) ax_redis_hash_ll(h, "llm_429s"), "cost_usd",
                                  cost ? strtod(cost, NULL) : 0.0));
    long long created = ax_redis_hash_ll(h, "created_ms"), completed = ax_redis_hash_ll(h, "completed_ms");
    json_object_set_new(report, "timings",
                        json_pack("{s:o,s:o,s:o,s:f}", "created", s_time_json(created), "completed",
                                  s_time_json(completed), "rendered", s_time_json(generated_at * 1000),
                                  "seconds", completed > created ? (double) (completed - created) / 1000.0 : 0.0));
    char path[4200];
    snprintf(path, sizeof path, "%s/report.json", folder);
    if (json_dump_file(report, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
        if (asprintf(err, "cannot write %s", path) < 0)
            *err = NULL;
        goto done;
    }
    *folder_out = strdup(folder);
    rc = *folder_out ? 0 : -1;
done:
    json_decref(report);
    ax_runspec_clear(&spec);
    freeReplyObject(h);
    return rc;
}
