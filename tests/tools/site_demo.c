/*  site_demo.c: writes a static site and feed.xml from real papers, for the browser test
 *  (tests/integration/test_site_browser.sh) and for looking at the site by hand.
 *
 *    site_demo OUTDIR [--input FILE.jsonl] [--lang en|zh] [--max-feed N]
 *
 *  Reads one day of daily-arXiv-ai-enhanced records (tests/data/shared/fixtures/dae/, see
 *  SOURCES.md: id, categories, authors, title, summary, comment and, in the enriched
 *  files, an "AI" object with tldr, motivation, method, result, conclusion). Keyword hits
 *  are faked with a substring match of a small keyword list against title and abstract
 *  (a paper without a hit is left out, as the matcher would; a repeated id too); the score is the record's
 *  "score" (top level or in "AI") when there is one, otherwise derived from the id (FNV-1a
 *  mod 6, 0 meaning keyword-only). Papers are spread over three days, 2026-06-29 ..
 *  2026-07-01, by line number; four hostile papers join the newest day. Each day is ranked
 *  (ax_rank_sort) and written with ax_site_add_digest and ax_atom_feed_add.
 *  Output is byte-for-byte reproducible (fixed generation time).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atom_feed.h"
#include "render.h"
#include "site.h"
#include "text.h"

#define S_GENERATED_AT 1782907200 /* 2026-07-01T12:00:00Z */
#define S_FIRST_DAY 1782691200    /* 2026-06-29T00:00:00Z */
#define S_DAYS 3

static const char *s_keywords[] = {"language model", "agent",     "reinforcement learning",
                                   "retrieval",      "diffusion", "benchmark",
                                   "graph",          "ranking",   "recommend"};
#define S_N_KEYWORDS (sizeof s_keywords / sizeof *s_keywords)

typedef struct {
    ax_entry_t *v;
    size_t n, cap;
} s_list_t;

static void s_die(const char *what)
{
    fprintf(stderr, "site_demo: %s\n", what);
    exit(1);
}

static char *s_xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        s_die("out of memory");
    return d;
}

static char *s_fold(const char *s)
{
    if (!s)
        return NULL;
    char *d = ax_text_fold(s, strlen(s));
    if (!d)
        s_die("out of memory");
    return d;
}

static ax_entry_t *s_push(s_list_t *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            s_die("out of memory");
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    return &l->v[l->n++];
}

static char **s_strv(const char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        s_die("out of memory");
    for (size_t i = 0; i < n; i++)
        out[i] = s_xstrdup(v[i]);
    return out;
}

/*  A JSON array of strings as a new string vector. */
static char **s_json_strv(json_t *a, size_t *n)
{
    *n = json_is_array(a) ? json_array_size(a) : 0;
    char **out = calloc(*n + 1, sizeof *out);
    if (!out)
        s_die("out of memory");
    for (size_t i = 0; i < *n; i++)
        out[i] = s_xstrdup(json_string_value(json_array_get(a, i)));
    return out;
}

static char *s_json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s_xstrdup(s) : NULL;
}

static uint32_t s_fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/*  The keywords of s_keywords found in the paper's title or abstract, in list order. */
static void s_fake_hits(ax_entry_t *e)
{
    const char *hits[S_N_KEYWORDS];
    size_t n = 0;
    for (size_t k = 0; k < S_N_KEYWORDS; k++)
        if ((e->paper.title && strcasestr(e->paper.title, s_keywords[k])) ||
            (e->paper.abstract && strcasestr(e->paper.abstract, s_keywords[k])))
            hits[n++] = s_keywords[k];
    e->verdict.hits = s_strv(hits, n);
    e->verdict.n_hits = n;
}

/*  Reads the records of path into entries with their day (0..S_DAYS-1) in *days. */
static void s_read(const char *path, s_list_t *out, int **days)
{
    FILE *in = fopen(path, "r");
    if (!in)
        s_die("cannot open the input");
    char *line = NULL;
    size_t size = 0, lineno = 0;
    ssize_t got;
    *days = NULL;
    while ((got = getline(&line, &size, in)) > 0) {
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)got, 0, &jerr);
        size_t no = lineno++;
        if (!o || !json_is_object(o) || !json_string_value(json_object_get(o, "id"))) {
            json_decref(o);
            continue;
        }
        const char *id = json_string_value(json_object_get(o, "id"));
        int seen = 0;
        for (size_t i = 0; i < out->n && !seen; i++)
            seen = strcmp(out->v[i].paper.id, id) == 0;
        if (seen) { /* the file repeats some papers; a digest lists a paper once */
            json_decref(o);
            continue;
        }
        ax_entry_t e = {0};
        json_t *ai = json_object_get(o, "AI");
        e.paper.id = s_xstrdup(json_string_value(json_object_get(o, "id")));
        e.paper.version = 1;
        e.paper.title = s_fold(json_string_value(json_object_get(o, "title")));
        e.paper.abstract = s_fold(json_string_value(json_object_get(o, "summary")));
        e.paper.comments = s_json_str(o, "comment");
        e.paper.authors = s_json_strv(json_object_get(o, "authors"), &e.paper.n_authors);
        e.paper.categories = s_json_strv(json_object_get(o, "categories"), &e.paper.n_categories);
        e.paper.submitted = e.paper.updated =
            S_FIRST_DAY + (int64_t)(no % S_DAYS) * 86400 + 3600 + (int64_t)no;
        s_fake_hits(&e);
        json_t *score = json_object_get(o, "score");
        if (!json_is_integer(score))
            score = json_object_get(ai, "score");
        e.verdict.llm.score =
            json_is_integer(score) ? (int)json_integer_value(score) : (int)(s_fnv1a(e.paper.id) % 6);
        e.verdict.profile = s_xstrdup("demo");
        if (json_is_object(ai)) {
            e.verdict.llm.tldr = s_json_str(ai, "tldr");
            e.verdict.llm.motivation = s_json_str(ai, "motivation");
            e.verdict.llm.method = s_json_str(ai, "method");
            e.verdict.llm.result = s_json_str(ai, "result");
            e.verdict.llm.conclusion = s_json_str(ai, "conclusion");
            e.verdict.llm.model = s_xstrdup("daily-arXiv-ai-enhanced (DeepSeek)");
        }
        e.verdict.state = e.verdict.llm.score ? AX_STATE_ENRICHED : AX_STATE_MATCHED;
        json_decref(o);
        if (e.verdict.n_hits == 0) {
            ax_entry_clear(&e);
            continue;
        }
        *days = realloc(*days, (out->n + 1) * sizeof **days);
        if (!*days)
            s_die("out of memory");
        (*days)[out->n] = (int)(no % S_DAYS);
        *s_push(out) = e;
    }
    free(line);
    fclose(in);
}

/*  Papers whose every text tries to break out of its context. */
static void s_add_hostile(s_list_t *out, int **days)
{
    static const char *authors1[] = {"Eve <b>Evil</b>", "Mallory \" onmouseover=\"alert(1)",
                                     "O'Brien & Sons"};
    static const char *cats1[] = {"cs.IR", "cs.CR\"><svg onload=alert(1)>"};
    static const char *hits1[] = {"ranking", "</script><b>kw</b>\"'&"};
    static const char *authors2[] = {"Edward Witten"};
    static const char *cats2[] = {"hep-th"};
    static const char *hits2[] = {"graph"};
    struct {
        const char *id, *title, *abstract, *tldr, *comments;
        const char *const *authors, *const *cats, *const *hits;
        size_t n_authors, n_cats, n_hits;
        int score;
    } h[] = {
        {"2607.00001", "<script>alert(1)</script> Ranking with $x<y$ & \\emph{bold} claims",
         "\"><img src=x onerror=alert(1)> and </script><script>document.documentElement.setAttribute("
         "'data-pwned','1')</script> done",
         "</script><img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\">",
         "<!-- comment --> ]]> &amp; 10 pages", authors1, cats1, hits1, 3, 2, 2, 5},
        {"hep-th/9901001", "$\\mathcal{N}=4$ super Yang--Mills, \\textbf{dualities} and a graph",
         "We show that $a<b$ implies $b>a$ for \\emph{all} $a, b \\in \\mathbb{R}$; 100\\% of cases.", NULL,
         NULL, authors2, cats2, hits2, 1, 1, 1, 0},
        {"2607.00003", "Bad\x01 bytes \xff\xfe and a graph \xed\xa0\x80 here", "Control\x1b[31m chars \x7f.",
         NULL, NULL, authors2, cats2, hits2, 1, 1, 1, 2},
        {"2607.00004", "A <![CDATA[ x ]]> graph & \"quotes\" 'single' `back`",
         "javascript:alert(1) <a href=\"x\">", "<style>body{display:none}</style>", NULL, authors2, cats2,
         hits2, 1, 1, 1, 4},
    };
    for (size_t i = 0; i < sizeof h / sizeof *h; i++) {
        *days = realloc(*days, (out->n + 1) * sizeof **days);
        if (!*days)
            s_die("out of memory");
        (*days)[out->n] = S_DAYS - 1;
        ax_entry_t *e = s_push(out);
        e->paper.id = s_xstrdup(h[i].id);
        e->paper.version = 2;
        e->paper.title = s_xstrdup(h[i].title);
        e->paper.abstract = s_xstrdup(h[i].abstract);
        e->paper.comments = h[i].comments ? s_xstrdup(h[i].comments) : NULL;
        e->paper.authors = s_strv(h[i].authors, h[i].n_authors);
        e->paper.n_authors = h[i].n_authors;
        e->paper.categories = s_strv(h[i].cats, h[i].n_cats);
        e->paper.n_categories = h[i].n_cats;
        e->paper.submitted = e->paper.updated = S_FIRST_DAY + (S_DAYS - 1) * 86400 + 7200;
        e->verdict.profile = s_xstrdup("demo");
        e->verdict.hits = s_strv(h[i].hits, h[i].n_hits);
        e->verdict.n_hits = h[i].n_hits;
        e->verdict.llm.score = h[i].score;
        e->verdict.llm.tldr = h[i].tldr ? s_xstrdup(h[i].tldr) : NULL;
        e->verdict.llm.score_reason = h[i].score ? s_xstrdup("<i>reason</i> & \"why\"") : NULL;
        e->verdict.state = h[i].score ? AX_STATE_ENRICHED : AX_STATE_MATCHED;
    }
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *input = AX_SHARED_DIR "/fixtures/dae/2026-07-01.jsonl", *lang = "en";
    size_t max_feed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
            input = argv[++i];
        else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            lang = argv[++i];
        else if (strcmp(argv[i], "--max-feed") == 0 && i + 1 < argc)
            max_feed = (size_t)strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: site_demo OUTDIR [--input FILE.jsonl] [--lang en|zh] [--max-feed N]\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: site_demo OUTDIR [--input FILE.jsonl] [--lang en|zh] [--max-feed N]\n");
        return 2;
    }
    s_list_t all = {0};
    int *days = NULL;
    s_read(input, &all, &days);
    s_add_hostile(&all, &days);

    ax_keyword_t kws[S_N_KEYWORDS] = {{0}};
    for (size_t k = 0; k < S_N_KEYWORDS; k++)
        kws[k].term = (char *)s_keywords[k];
    ax_profile_t profile = {.name = "demo",
                            .title = "arxdigest demo <cs.* & friends>",
                            .language = (char *)lang,
                            .keywords = kws,
                            .n_keywords = S_N_KEYWORDS,
                            .min_hits = 1,
                            .top_n = 0};
    char *err = NULL, feed_path[4096];
    snprintf(feed_path, sizeof feed_path, "%s/feed.xml", dir);
    ax_site_t *site = ax_site_open(dir, &profile, "demo-run", S_GENERATED_AT, &err);
    if (!site || ax_site_set_feed(site, "feed.xml") < 0)
        s_die(err ? err : "cannot open the site");
    ax_atom_feed_opts_t opts = {.max_entries = max_feed};
    ax_atom_feed_t *feed = ax_atom_feed_open(feed_path, &profile, "demo-run", S_GENERATED_AT, &opts, &err);
    if (!feed)
        s_die(err ? err : "cannot open the feed");

    ax_entry_t *bucket = calloc(all.n + 1, sizeof *bucket);
    if (!bucket)
        s_die("out of memory");
    for (int d = 0; d < S_DAYS; d++) {
        size_t n = 0;
        for (size_t i = 0; i < all.n; i++)
            if (days[i] == d)
                bucket[n++] = all.v[i]; /* shallow: all owns the strings */
        ax_rank_sort(bucket, n);
        char period[16], href[64];
        ax_period_key(S_FIRST_DAY + (int64_t)d * 86400, "day", period, sizeof period);
        ax_site_digest_file(period, href, sizeof href);
        if (ax_site_add_digest(site, period, bucket, n, &err) < 0)
            s_die(err ? err : "cannot write a digest");
        if (ax_atom_feed_add(feed, period, href, bucket, n) < 0)
            s_die("cannot add a feed entry");
        printf("site_demo: %s: %zu papers -> %s\n", period, n, href);
    }
    if (ax_site_close(&site, &err) < 0 || ax_atom_feed_close(&feed, &err) < 0)
        s_die(err ? err : "cannot finish");
    printf("site_demo: wrote %s/index.html and %s\n", dir, feed_path);
    free(bucket);
    for (size_t i = 0; i < all.n; i++)
        ax_entry_clear(&all.v[i]);
    free(all.v);
    free(days);
    return 0;
}
