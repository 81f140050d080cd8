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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atom_feed.h"
#include "codec.h"
#include "labels.h"
#include "log.h"
#include "render.h"
#include "render_layouts.h"
#include "site.h"
#include "run_store.h"
#include "text.h"
#include "writer.h"

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

int ax_output_check_dir(const char *output_dir, char **err)
{
    char probe[4200];
    if (s_mkdirs(output_dir) < 0) {
        ax_set_error(err, "cannot create %s: %s", output_dir, strerror(errno));
        return -1;
    }
    snprintf(probe, sizeof probe, "%s/.arxdigest-probe-XXXXXX", output_dir);
    int fd = mkstemp(probe);
    if (fd < 0) {
        ax_set_error(err, "cannot write in %s: %s", output_dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
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

/*  Papers of one period kept for by-category.md, papers.jsonl and the site (digest.md
 *  shows the first top_n of them): the best AX_OUTPUT_PERIOD_MAX when a period has more. */
#define AX_OUTPUT_PERIOD_MAX 1000

static size_t s_period_keep(int top_n)
{
    return top_n <= 0 ? SIZE_MAX : (size_t) top_n > AX_OUTPUT_PERIOD_MAX ? (size_t) top_n : AX_OUTPUT_PERIOD_MAX;
}

/*  Orders the entries by period, then by rank within a period, and keeps only what the
 *  outputs show of each period (s_period_keep). Called while reading a profile's entries,
 *  so memory holds a bounded number per period, not every matched paper of a backfill. */
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
        size_t keep = s_period_keep(top_n) < n ? s_period_keep(top_n) : n;
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

/*  What reading a profile's entries needs (s_add_entry). */
typedef struct {
    s_entries_t *out;
    const char *run, *profile, *group_by;
    int top_n;
    size_t prune_at;                /* entries held before the next s_prune */
    int oom;
} s_reading_t;

/*  One stored entry: decoded and kept (an unreadable one is logged and skipped); the
 *  entries are pruned whenever they grow past prune_at. */
static int s_add_entry(void *ctx, const char *paper, const char *blob, size_t len)
{
    s_reading_t *x = ctx;
    s_entries_t *out = x->out;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        ax_entry_t *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return (x->oom = 1) ? -1 : -1;
        out->v = v;
        out->cap = cap;
    }
    char *derr = NULL;
    if (ax_entry_decode(blob, len, &out->v[out->n], &derr) < 0) {
        ax_log_error("stored entry unreadable, skipped|run=%s profile=%s paper=%s error=\"%s\"", x->run,
                     x->profile, paper, derr ? derr : "?");
        free(derr);
        return 0;
    }
    out->n++;
    if (out->n >= x->prune_at) {
        if (s_prune(out, x->group_by, x->top_n) < 0)
            return (x->oom = 1) ? -1 : -1;
        x->prune_at = 2 * out->n + 8192;
    }
    return 0;
}

/*  Reads the kept entries of a profile, pruned to what its digests show (s_prune). */
static int s_load_entries(redisContext *c, const char *run, const ax_profile_t *prof, const char *group_by,
                          s_entries_t *out, char **err)
{
    s_reading_t x = {.out = out, .run = run, .profile = prof->name, .group_by = group_by, .top_n = prof->top_n,
                     .prune_at = 8192};
    if (ax_run_store_scan_entries(c, run, prof->name, s_add_entry, &x, err) < 0 || s_prune(out, group_by, prof->top_n) < 0) {
        if (!*err)
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

/*  One paper of a digest as a JSON object with every field (papers.jsonl). */
static json_t *s_strv_json(char *const *v, size_t n);

static json_t *s_time_or_null(int64_t t)
{
    char buf[32];
    return t > 0 ? json_string(ax_time_format(t, "%Y-%m-%dT%H:%M:%SZ", buf, sizeof buf)) : json_null();
}

static json_t *s_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *s_entry_json(const ax_entry_t *e)
{
    const ax_paper_t *p = &e->paper;
    const ax_verdict_t *v = &e->verdict;
    const ax_llm_t *l = &v->llm;
    char abs[300];
    snprintf(abs, sizeof abs, "https://arxiv.org/abs/%s", p->id ? p->id : "");
    json_t *o = json_object();
    json_object_set_new(o, "id", s_str_or_null(p->id));
    json_object_set_new(o, "version", json_integer(p->version));
    json_object_set_new(o, "url", json_string(abs));
    json_object_set_new(o, "title", s_str_or_null(p->title));
    json_object_set_new(o, "authors", s_strv_json(p->authors, p->n_authors));
    json_object_set_new(o, "affiliations", p->affiliations ? s_strv_json(p->affiliations, p->n_authors) : json_null());
    json_object_set_new(o, "abstract", s_str_or_null(p->abstract));
    json_object_set_new(o, "categories", s_strv_json(p->categories, p->n_categories));
    json_object_set_new(o, "submitted", s_time_or_null(p->submitted));
    json_object_set_new(o, "updated", s_time_or_null(p->updated));
    json_object_set_new(o, "comments", s_str_or_null(p->comments));
    json_object_set_new(o, "journal_ref", s_str_or_null(p->journal_ref));
    json_object_set_new(o, "doi", s_str_or_null(p->doi));
    json_object_set_new(o, "state", json_string(ax_state_name(v->state)));
    json_object_set_new(o, "reason", s_str_or_null(v->reason));
    json_object_set_new(o, "hits", s_strv_json(v->hits, v->n_hits));
    json_object_set_new(o, "company", s_str_or_null(v->company ? v->company : l->company));
    json_t *llm = json_null();
    if (l->model || l->score || l->summary) {
        llm = json_object();
        json_object_set_new(llm, "title_translated", s_str_or_null(l->title_translated));
        json_object_set_new(llm, "one_sentence", s_str_or_null(l->one_sentence));
        json_object_set_new(llm, "summary", s_str_or_null(l->summary));
        json_object_set_new(llm, "tldr", s_str_or_null(l->tldr));
        json_object_set_new(llm, "motivation", s_str_or_null(l->motivation));
        json_object_set_new(llm, "method", s_str_or_null(l->method));
        json_object_set_new(llm, "result", s_str_or_null(l->result));
        json_object_set_new(llm, "conclusion", s_str_or_null(l->conclusion));
        json_object_set_new(llm, "score", l->score ? json_integer(l->score) : json_null());
        json_object_set_new(llm, "score_reason", s_str_or_null(l->score_reason));
        json_object_set_new(llm, "company", s_str_or_null(l->company));
        json_object_set_new(llm, "tags_top", s_strv_json(l->tags_top, l->n_tags_top));
        json_object_set_new(llm, "tags_detail", s_strv_json(l->tags_detail, l->n_tags_detail));
        json_object_set_new(llm, "model", s_str_or_null(l->model));
        json_object_set_new(llm, "prompt_version", s_str_or_null(l->prompt_version));
    }
    json_object_set_new(o, "llm", llm);
    return o;
}

/*  fopen for writing, with the error naming the file. */
static FILE *s_create(const char *path, char **err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        ax_set_error(err, "cannot write %s: %s", path, strerror(errno));
    return f;
}

/*  Closes f; -1 with *err naming the file and the cause when writing failed (wrc < 0,
 *  the flush or the close). Call it right after the writes: errno holds their cause. */
static int s_finish(FILE *f, int wrc, const char *path, char **err)
{
    return ax_w_close(f, wrc < 0, path, err);
}

/*  The Markdown files of one period in dir: digest.md (the first top_n), by-category.md,
 *  papers.jsonl and papers/<id>.md (all n). */
static int s_render_period(const ax_profile_t *prof, const char *period, const ax_entry_t *v, size_t n,
                           const char *dir, int64_t generated_at, char **err)
{
    char path[4800];
    int tz = s_tz_offset(generated_at);
    size_t top = prof->top_n > 0 && (size_t) prof->top_n < n ? (size_t) prof->top_n : n;
    FILE *f;
    snprintf(path, sizeof path, "%s/digest.md", dir);
    if (!(f = s_create(path, err)) ||
        s_finish(f, ax_render_digest_md(f, prof, period, v, top, generated_at, tz), path, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/by-category.md", dir);
    if (!(f = s_create(path, err)) ||
        s_finish(f, ax_render_by_category_md(f, prof, period, v, n, generated_at, tz), path, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/papers.jsonl", dir);
    if (!(f = s_create(path, err)))
        return -1;
    int wrc = 0;
    for (size_t i = 0; i < n && wrc == 0; i++) {
        json_t *o = s_entry_json(&v[i]);
        wrc = o && json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 && fputc('\n', f) != EOF ? 0 : -1;
        json_decref(o);
    }
    if (s_finish(f, wrc, path, err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/papers", dir);
    if (n && s_mkdirs(path) < 0) {
        ax_set_error(err, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char name[256];
        if (ax_paper_file_name(v[i].paper.id, name, sizeof name) < 0)
            continue;                   /* an id no file can be named after: no page */
        snprintf(path, sizeof path, "%s/papers/%s", dir, name);
        if (!(f = s_create(path, err)) || s_finish(f, ax_render_paper_md(f, prof, &v[i]), path, err) < 0)
            return -1;
    }
    return 0;
}

/*  Every output of one profile from the entries s_prune ordered: per period its folder
 *  (s_render_period), the site with feed.xml, and index.md across the periods. Appends
 *  the digests' relative paths to digests. */
static int s_render_profile(const ax_profile_t *prof, const char *run, const s_entries_t *e, const char *group_by,
                            const char *folder, int64_t generated_at, json_t *digests, char **err)
{
    int whole = strcmp(group_by, "run") == 0;
    char pdir[4096], sdir[4200], path[4400];
    if (snprintf(pdir, sizeof pdir, "%s/%s", folder, prof->name) >= (int) sizeof pdir) {
        *err = strdup("output path too long");
        return -1;
    }
    snprintf(sdir, sizeof sdir, "%s/site", pdir);
    snprintf(path, sizeof path, "%s/feed.xml", sdir);
    ax_site_t *site = ax_site_open(sdir, prof, run, generated_at, err);
    ax_atom_feed_t *feed = site ? ax_atom_feed_open(path, prof, run, generated_at, NULL, err) : NULL;
    json_t *index = json_array();       /* [period, papers] of each digest, for index.md */
    int rc = -1;
    if (!feed || ax_site_set_feed(site, "feed.xml") < 0)
        goto done;
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
        const char *shown = whole ? "all" : period;
        char dir[4400], rel[512], href[128];
        if (snprintf(rel, sizeof rel, "%s%s%s/digest.md", prof->name, whole ? "" : "/", whole ? "" : period) >=
                (int) sizeof rel ||
            snprintf(dir, sizeof dir, "%s%s%s", pdir, whole ? "" : "/", whole ? "" : period) >= (int) sizeof dir) {
            *err = strdup("output path too long");
            goto done;
        }
        if (s_mkdirs(dir) < 0) {
            ax_set_error(err, "cannot create %s: %s", dir, strerror(errno));
            goto done;
        }
        size_t n = j - i, top = prof->top_n > 0 && (size_t) prof->top_n < n ? (size_t) prof->top_n : n;
        if (s_render_period(prof, shown, e->v + i, n, dir, generated_at, err) < 0 ||
            ax_site_add_digest(site, shown, e->v + i, n, err) < 0)
            goto done;
        if (ax_site_digest_file(shown, href, sizeof href) < 0 || ax_atom_feed_add(feed, shown, href, e->v + i, top) < 0) {
            ax_set_error(err, "feed.xml: cannot add the digest of %s", shown);
            goto done;
        }
        json_array_append_new(digests, json_string(rel));
        json_array_append_new(index, json_pack("[s,I,I]", shown, (json_int_t) n, (json_int_t) top));
        i = j;
    } while (i < e->n);
    /* index.md: the periods, newest first, with links to their files. */
    snprintf(path, sizeof path, "%s/index.md", pdir);
    FILE *f = s_create(path, err);
    if (!f)
        goto done;
    const ax_index_labels_t *l = &ax_labels(prof->language)->index;
    int wrc = 0;
    char *title = ax_md_escape(prof->title && *prof->title ? prof->title : prof->name);
    wrc |= fprintf(f, "# %s\n\n", title ? title : "") < 0;
    free(title);
    wrc |= fprintf(f, "%s%zu%s[%s](site/index.html) · [%s](site/feed.xml)\n\n", l->count_pre, json_array_size(index),
                   l->count_post, l->site, l->feed) < 0;
    for (size_t k = json_array_size(index); k-- > 0;) {
        json_t *row = json_array_get(index, k);
        const char *per = json_string_value(json_array_get(row, 0));
        const char *sub = whole ? "" : per;
        const char *sep = *sub ? "/" : "";
        wrc |= fprintf(f, "- **%s** — %s%lld%s%lld%s: [%s](%s%sdigest.md) · [%s](%s%sby-category.md) · "
                          "[papers.jsonl](%s%spapers.jsonl)\n",
                       per, l->papers_pre, (long long) json_integer_value(json_array_get(row, 1)), l->top_mid,
                       (long long) json_integer_value(json_array_get(row, 2)), l->top_end, l->digest, sub, sep,
                       l->by_category, sub, sep, sub, sep) < 0;
    }
    if (s_finish(f, wrc ? -1 : 0, path, err) < 0)
        goto done;
    rc = 0;
done:
    json_decref(index);
    char *cerr = NULL;                  /* the feed and the site are written as they close */
    if (feed && ax_atom_feed_close(&feed, &cerr) < 0 && rc == 0) {
        *err = cerr, cerr = NULL;
        rc = -1;
    }
    free(cerr);
    cerr = NULL;
    if (site && ax_site_close(&site, &cerr) < 0 && rc == 0) {
        *err = cerr, cerr = NULL;
        rc = -1;
    }
    free(cerr);
    return rc;
}

/*  Counts of a profile (the store's exact per-state counters); adds "total" and
 *  "consistent". */
static json_t *s_profile_counts(redisContext *c, const char *run, const char *profile, long long harvested,
                                char **err)
{
    uint64_t n[AX_STATE_COUNT];
    if (ax_run_store_profile_counts(c, run, profile, n, err) < 0)
        return NULL;
    json_t *o = json_object();
    long long total = 0;
    json_object_set_new(o, "harvested", json_integer(harvested));
    for (int s = AX_STATE_NONE + 1; s < AX_STATE_COUNT; s++) {
        total += (long long) n[s];
        json_object_set_new(o, ax_state_name((ax_state_t) s), json_integer((json_int_t) n[s]));
    }
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "consistent", json_boolean(total == harvested));
    if (total != harvested)
        ax_log_error("counts do not add up|run=%s profile=%s harvested=%lld states=%lld", run, profile,
                     harvested, total);
    return o;
}

/*  One paper's state: a paper that stayed "matched" in a run with an LLM is listed. */
static int s_add_unenriched(void *ctx, const char *paper, ax_state_t state, const char *reason)
{
    if (state == AX_STATE_MATCHED)
        json_array_append_new(ctx, json_pack("{s:s,s:s}", "id", paper, "reason", reason ? reason : "not enriched"));
    return 0;
}

/*  With an LLM, a paper that passed the keywords but stayed "matched" was left
 *  unenriched (budget spent): the report lists them with the reason. */
static int s_unenriched(redisContext *c, const char *run, const char *profile, json_t *counts, char **err)
{
    json_t *list = json_array();
    if (ax_run_store_scan_states(c, run, profile, s_add_unenriched, list, err) < 0) {
        json_decref(list);
        return -1;
    }
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

/*  The run-wide part of report.json, from the run's record and spec. */
static json_t *s_report_new(const char *run, const ax_run_record_t *rec, const ax_runspec_t *spec,
                            const char *group_by)
{
    json_t *report = json_object();
    json_object_set_new(report, "run", json_string(run));
    json_object_set_new(report, "sources", json_pack("[s]", spec->source));
    json_object_set_new(report, "categories", s_strv_json(spec->categories, spec->n_categories));
    json_object_set_new(report, "from", spec->from ? json_string(spec->from) : json_null());
    json_object_set_new(report, "to", spec->to ? json_string(spec->to) : json_null());
    json_object_set_new(report, "group_by", json_string(group_by));
    json_object_set_new(report, "harvested", json_integer((json_int_t) rec->n.harvested));
    json_object_set_new(report, "duplicates", json_integer((json_int_t) rec->n.duplicates));
    json_object_set_new(report, "read", json_integer((json_int_t) rec->n.read));
    json_object_set_new(report, "malformed", json_integer((json_int_t) rec->n.malformed));
    json_object_set_new(report, "filtered", json_integer((json_int_t) rec->n.filtered));
    json_object_set_new(report, "jobs", json_pack("{s:I,s:I,s:I}", "total", (json_int_t) rec->n.jobs_total, "done",
                                                  (json_int_t) rec->n.jobs_done, "failed",
                                                  (json_int_t) rec->n.jobs_failed));
    return report;
}

/*  The LLM usage and the timings of report.json. */
static void s_report_finish(json_t *report, const ax_run_record_t *rec, int llm_mode, int64_t generated_at)
{
    const ax_llm_counts_t *u = &rec->llm;
    json_object_set_new(report, "llm",
                        json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "mode", llm_mode ? "llm" : "keyword-only",
                                  "requests", (json_int_t) u->requests, "cache_hits", (json_int_t) u->cache_hits,
                                  "prompt_tokens", (json_int_t) u->prompt_tokens, "completion_tokens",
                                  (json_int_t) u->completion_tokens, "cached_tokens", (json_int_t) u->cached_tokens,
                                  "http_429s", (json_int_t) u->http_429s, "cost_usd", rec->llm_cost_usd));
    long long created = rec->created_ms, completed = rec->completed_ms;
    json_object_set_new(report, "timings",
                        json_pack("{s:o,s:o,s:o,s:f}", "created", s_time_json(created), "completed",
                                  s_time_json(completed), "rendered", s_time_json(generated_at * 1000),
                                  "seconds", completed > created ? (double) (completed - created) / 1000.0 : 0.0));
}

/*  Renders one profile: its counts (and, with an LLM, its unenriched papers) into
 *  profiles, its digests into folder. 0 / -1. */
static int s_render_one(redisContext *c, const char *run, const ax_profile_t *prof, const char *group_by,
                        const char *folder, int64_t generated_at, long long harvested, int llm_mode, json_t *profiles,
                        char **err)
{
    s_entries_t e = {0};
    json_t *counts = s_profile_counts(c, run, prof->name, harvested, err);
    if (!counts)
        return -1;
    json_object_set_new(profiles, prof->name, counts);
    json_t *digests = json_array();
    json_object_set_new(counts, "digests", digests);
    if (llm_mode && s_unenriched(c, run, prof->name, counts, err) < 0)
        return -1;
    int rc = s_load_entries(c, run, prof, group_by, &e, err) < 0 ||
                     s_render_profile(prof, run, &e, group_by, folder, generated_at, digests, err) < 0
                 ? -1
                 : 0;
    s_entries_free(&e);
    return rc;
}

int ax_output_render_run(redisContext *c, const char *run, const char *output_dir, const char *group_by,
                         int64_t generated_at, char **folder_out, char **err)
{
    char folder[4096], *derr = NULL;
    ax_run_record_t rec;
    ax_runspec_t spec = {0};
    json_t *report = NULL;
    int rc = -1;
    *err = NULL;
    *folder_out = NULL;
    int found = ax_run_store_load(c, run, &rec, err);
    if (found < 0)
        return -1;
    if (found == 0 || !rec.spec) {
        ax_set_error(err, "run %s not found in Redis", run);
        goto done;
    }
    if (ax_run_record_spec(&rec, &spec, &derr) < 0) {
        ax_set_error(err, "run %s: stored spec unreadable: %s", run, derr ? derr : "?");
        free(derr);
        goto done;
    }
    if (!group_by)
        group_by = spec.group_by && *spec.group_by ? spec.group_by : "day";
    char probe[24];
    if (ax_period_key(0, group_by, probe, sizeof probe) < 0) {
        ax_set_error(err, "group_by: unknown value \"%s\" (day, week, month, run)", group_by);
        goto done;
    }
    snprintf(folder, sizeof folder, "%s/%s", output_dir, run);
    if (s_mkdirs(folder) < 0) {
        ax_set_error(err, "cannot create %s: %s", folder, strerror(errno));
        goto done;
    }
    long long harvested = (long long) rec.n.harvested;
    int llm_mode = rec.llm.requests > 0 || rec.llm.cache_hits > 0;
    report = s_report_new(run, &rec, &spec, group_by);
    json_t *profiles = json_object();
    json_object_set_new(report, "profiles", profiles);
    for (size_t p = 0; p < spec.n_profiles; p++)
        if (s_render_one(c, run, &spec.profiles[p], group_by, folder, generated_at, harvested, llm_mode, profiles,
                         err) < 0)
            goto done;
    s_report_finish(report, &rec, llm_mode, generated_at);
    char path[4200];
    snprintf(path, sizeof path, "%s/" AX_RUN_REPORT_FILE, folder);
    FILE *f = s_create(path, err);
    if (!f || s_finish(f, json_dumpf(report, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER), path, err) < 0)
        goto done;
    *folder_out = strdup(folder);
    rc = *folder_out ? 0 : -1;
done:
    json_decref(report);
    ax_runspec_clear(&spec);
    ax_run_record_clear(&rec);
    return rc;
}
