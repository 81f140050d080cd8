/*  bench_match.c: throughput of the keyword matcher alone (SPEC section 8: >= 500 MB/s
 *  per core).
 *
 *  Loads the titles and abstracts (and comments) of a day of real arXiv papers (a
 *  JSON-lines file such as ../shared/fixtures/dae/2026-07-01.jsonl, given as argv[1]),
 *  copies them in memory until the corpus is at least 64 MB (so it streams from RAM,
 *  not from cache), compiles a realistic recsys profile (~25 keywords with aliases, an
 *  exclude term) plus a second LLM/agents profile, and scans every text several times
 *  on one thread. Also times ax_matcher_judge (scan + verdicts with their allocations).
 *
 *  usage: bench_match PAPERS.jsonl [rounds]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match.h"
#include "paper.h"

#define MIN_CORPUS (64u << 20)  /* bytes */

/* One paper's texts inside the corpus buffer (offsets, bytes). */
typedef struct {
    size_t title, title_len, abstract, abstract_len, comments, comments_len;
} bench_paper_t;

static double s_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ax_keyword_t s_kw(const char *term, const char *alias1, const char *alias2,
                         const char *company)
{
    ax_keyword_t k = { 0 };
    k.term = (char *)term;
    static char *aliases[64][2];
    static int used;
    if (alias1 && used < 64) {
        aliases[used][0] = (char *)alias1;
        aliases[used][1] = (char *)alias2;
        k.aliases = aliases[used++];
        k.n_aliases = alias2 ? 2 : 1;
    }
    k.company = (char *)company;
    return k;
}

/* Appends s (may be NULL) to the corpus; returns its offset. */
static int s_append(char **buf, size_t *len, size_t *cap, const char *s, size_t *off,
                    size_t *n)
{
    size_t l = s ? strlen(s) : 0;
    if (*len + l + 1 > *cap) {
        size_t c = *cap ? *cap * 2 : (1u << 20);
        while (c < *len + l + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    *off = *len;
    *n = l;
    if (l)
        memcpy(*buf + *len, s, l);
    (*buf)[*len + l] = '\0';
    *len += l + 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PAPERS.jsonl [rounds]\n"
                        "  e.g. %s ../shared/fixtures/dae/2026-07-01.jsonl\n", argv[0], argv[0]);
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1)
        rounds = 1;
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    /* the day's papers, once */
    char *line = NULL, *corpus = NULL;
    size_t line_cap = 0, len = 0, cap = 0, n_papers = 0, papers_cap = 0;
    bench_paper_t *papers = NULL;
    ssize_t got;
    while ((got = getline(&line, &line_cap, f)) > 0) {
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)got, 0, &jerr);
        if (!o || !json_is_object(o)) {
            fprintf(stderr, "%s: line %zu: %s\n", argv[1], n_papers + 1, jerr.text);
            json_decref(o);
            continue;
        }
        if (n_papers == papers_cap) {
            papers_cap = papers_cap ? papers_cap * 2 : 512;
            bench_paper_t *p = realloc(papers, papers_cap * sizeof *p);
            if (!p)
                return 1;
            papers = p;
        }
        bench_paper_t *p = &papers[n_papers++];
        if (s_append(&corpus, &len, &cap, json_string_value(json_object_get(o, "title")),
                     &p->title, &p->title_len) < 0
            || s_append(&corpus, &len, &cap, json_string_value(json_object_get(o, "summary")),
                        &p->abstract, &p->abstract_len) < 0
            || s_append(&corpus, &len, &cap, json_string_value(json_object_get(o, "comment")),
                        &p->comments, &p->comments_len) < 0)
            return 1;
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (n_papers == 0) {
        fprintf(stderr, "%s: no papers\n", argv[1]);
        return 1;
    }
    /* replicated until >= 64 MB */
    size_t day_len = len, day_papers = n_papers, copies = MIN_CORPUS / day_len + 1;
    char *big = malloc(day_len * copies);
    bench_paper_t *all = malloc(day_papers * copies * sizeof *all);
    if (!big || !all)
        return 1;
    size_t text_bytes = 0;
    for (size_t c = 0; c < copies; c++) {
        memcpy(big + c * day_len, corpus, day_len);
        for (size_t i = 0; i < day_papers; i++) {
            bench_paper_t p = papers[i];
            p.title += c * day_len;
            p.abstract += c * day_len;
            p.comments += c * day_len;
            all[c * day_papers + i] = p;
            text_bytes += p.title_len + p.abstract_len + p.comments_len;
        }
    }
    n_papers = day_papers * copies;
    free(corpus);
    free(papers);

    ax_keyword_t recsys_kw[] = {
        s_kw("recommendation", "recommender", "recommender system", NULL),
        s_kw("ranking", "learning to rank", "re-ranking", NULL),
        s_kw("retrieval", NULL, NULL, NULL),
        s_kw("ctr", "click-through rate", NULL, NULL),
        s_kw("cvr", "conversion rate", NULL, NULL),
        s_kw("cold-start", NULL, NULL, NULL),
        s_kw("uplift", NULL, NULL, NULL),
        s_kw("causal", "causal inference", NULL, NULL),
        s_kw("ltv", "lifetime value", NULL, NULL),
        s_kw("relevance", NULL, NULL, NULL),
        s_kw("diversity", NULL, NULL, NULL),
        s_kw("explore", "exploration", NULL, NULL),
        s_kw("collaborative filtering", NULL, NULL, NULL),
        s_kw("user modeling", "user modelling", NULL, NULL),
        s_kw("sequential recommendation", NULL, NULL, NULL),
        s_kw("multi-task", "multi-objective", NULL, NULL),
        s_kw("a/b test", "online experiment", NULL, NULL),
        s_kw("kuaishou", NULL, NULL, "快手"),
        s_kw("taobao", "alibaba", NULL, "阿里巴巴"),
        s_kw("douyin", "tiktok", "bytedance", "字节跳动"),
        s_kw("xiaohongshu", "rednote", NULL, "小红书"),
        s_kw("amazon", NULL, NULL, "Amazon"),
        s_kw("airbnb", NULL, NULL, "Airbnb"),
        s_kw("shopee", NULL, NULL, "Shopee"),
        s_kw("llm", "large language model", NULL, NULL),
    };
    ax_keyword_t llm_kw[] = {
        s_kw("agent", "agentic", NULL, NULL),
        s_kw("reinforcement learning", "rl", NULL, NULL),
        s_kw("reasoning", "chain-of-thought", NULL, NULL),
        s_kw("benchmark", NULL, NULL, NULL),
        s_kw("fine-tuning", "finetune", "sft", NULL),
        s_kw("hallucination", NULL, NULL, NULL),
        s_kw("retrieval-augmented generation", "rag", NULL, NULL),
        s_kw("推荐系统", NULL, NULL, NULL),
    };
    char *recsys_cats[] = { "cs.IR", "cs.AI", "cs.LG" };
    char *exclude[] = { "survey" };
    ax_profile_t profiles[2] = {
        { .name = "recsys", .categories = recsys_cats, .n_categories = 3,
          .keywords = recsys_kw, .n_keywords = sizeof recsys_kw / sizeof *recsys_kw,
          .exclude = exclude, .n_exclude = 1, .min_hits = 1, .top_n = 20 },
        { .name = "llm", .keywords = llm_kw, .n_keywords = sizeof llm_kw / sizeof *llm_kw,
          .min_hits = 2, .top_n = 20 },
    };
    char *err = NULL;
    ax_matcher_t *m = ax_matcher_new(profiles, 2, &err);
    if (!m) {
        fprintf(stderr, "ax_matcher_new: %s\n", err ? err : "?");
        free(err);
        return 1;
    }
    size_t n_kw = ax_matcher_keyword_count(m);
    unsigned char *hit = calloc(n_kw, 1);
    if (!hit)
        return 1;

    /* scan only */
    size_t hits = 0;
    double best = 1e30;
    for (int r = 0; r < rounds; r++) {
        size_t h = 0;
        double t0 = s_now_s();
        for (size_t i = 0; i < n_papers; i++) {
            const bench_paper_t *p = &all[i];
            h += ax_matcher_scan(m, big + p->title, p->title_len, hit);
            h += ax_matcher_scan(m, big + p->abstract, p->abstract_len, hit);
            if (p->comments_len)
                h += ax_matcher_scan(m, big + p->comments, p->comments_len, hit);
        }
        double dt = s_now_s() - t0;
        if (dt < best)
            best = dt;
        hits = h;
    }
    double mb = (double)text_bytes / 1e6;
    printf("corpus: %zu papers (%zu copies of %zu), %.1f MB of text, %zu keywords, %d rounds\n",
           n_papers, copies, day_papers, mb, n_kw, rounds);
    printf("matcher: %.0f MB/s per core (target >= 500), %.0f papers/s, hits=%zu\n", mb / best,
           (double)n_papers / best, hits);

    /* judge: scan + verdicts (allocations included), one copy of the day, many times */
    char *cats[] = { "cs.IR" };
    ax_paper_t paper = { .categories = cats, .n_categories = 1 };
    ax_verdict_t v[2];
    size_t judged = 0, matched = 0;
    double t0 = s_now_s();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < n_papers; i++) {
            const bench_paper_t *p = &all[i];
            paper.title = big + p->title;
            paper.abstract = big + p->abstract;
            paper.comments = p->comments_len ? big + p->comments : NULL;
            memset(v, 0, sizeof v);
            if (ax_matcher_judge(m, &paper, v) < 0)
                return 1;
            matched += v[0].state == AX_STATE_MATCHED;
            ax_verdict_clear(&v[0]);
            ax_verdict_clear(&v[1]);
            judged++;
        }
    double dt = s_now_s() - t0;
    printf("judge: %.0f papers/s per core (2 profiles, verdicts allocated), recsys matched=%zu\n",
           (double)judged / dt, matched / (size_t)rounds);
    free(hit);
    ax_matcher_destroy(&m);
    free(all);
    free(big);
    return 0;
}
