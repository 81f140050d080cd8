/*  test_match.c: the keyword matcher (worker/match/match.c) against SPEC section 3.
 *
 *  Most tests build a one-profile matcher from a compact spec string — keywords separated
 *  by ';', a keyword's aliases after '|' — and compare the hits (terms, in profile order,
 *  joined by ',') that ax_matcher_judge reports for a text. The last tests use real
 *  papers from ../shared/fixtures/dae/2026-07-01.jsonl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "paper.h"

#ifndef AX_SHARED_DIR
#define AX_SHARED_DIR "../shared"
#endif
#define DAE_DAY AX_SHARED_DIR "/fixtures/dae/2026-07-01.jsonl"

/* Fills p (name "t", min_hits 1) from a spec like "ctr|click-through rate;cold-start". */
static void s_profile(ax_profile_t *p, const char *name, const char *spec)
{
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    p->min_hits = 1;
    char *copy = strdup(spec), *save = NULL;
    for (char *kw = strtok_r(copy, ";", &save); kw; kw = strtok_r(NULL, ";", &save)) {
        p->keywords = realloc(p->keywords, (p->n_keywords + 1) * sizeof *p->keywords);
        ax_keyword_t *k = &p->keywords[p->n_keywords++];
        memset(k, 0, sizeof *k);
        char *save2 = NULL;
        for (char *t = strtok_r(kw, "|", &save2); t; t = strtok_r(NULL, "|", &save2)) {
            if (!k->term) {
                k->term = strdup(t);
                continue;
            }
            k->aliases = realloc(k->aliases, (k->n_aliases + 1) * sizeof *k->aliases);
            k->aliases[k->n_aliases++] = strdup(t);
        }
        assert_non_null(k->term);
    }
    free(copy);
}

static ax_matcher_t *s_matcher(const ax_profile_t *p, size_t n)
{
    char *err = NULL;
    ax_matcher_t *m = ax_matcher_new(p, n, &err);
    if (!m)
        fail_msg("ax_matcher_new: %s", err ? err : "?");
    assert_null(err);
    return m;
}

/* Hits of profile 0 for a paper with this title (the verdict is cleared). */
static const char *s_judge_title(ax_matcher_t *m, const char *title)
{
    static char buf[1024];
    ax_paper_t paper = { .title = (char *)title };
    ax_verdict_t v[4];
    memset(v, 0, sizeof v);
    assert_true(ax_matcher_profile_count(m) <= 4);
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < v[0].n_hits; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "", v[0].hits[i]);
    for (size_t i = 0; i < ax_matcher_profile_count(m); i++)
        ax_verdict_clear(&v[i]);
    return buf;
}

/* Hits for text of a one-profile matcher compiled from spec. */
static const char *s_hits(const char *spec, const char *text)
{
    ax_profile_t p;
    s_profile(&p, "t", spec);
    ax_matcher_t *m = s_matcher(&p, 1);
    const char *hits = s_judge_title(m, text);
    ax_matcher_destroy(&m);
    assert_null(m);
    ax_profile_clear(&p);
    return hits;
}

static void test_word_boundaries(void **state)
{
    assert_string_equal(s_hits("ctr", "electric"), "");
    assert_string_equal(s_hits("ctr", "press ctrl to go"), "");
    assert_string_equal(s_hits("ctr", "electrical ctrs-like"), "ctr");  /* plural */
    assert_string_equal(s_hits("ctr", "CTR prediction"), "ctr");
    assert_string_equal(s_hits("ctr", "predict (CTR)."), "ctr");
    assert_string_equal(s_hits("ctr", "CTR/CVR models"), "ctr");
    assert_string_equal(s_hits("ctr", "the ctr"), "ctr");
    assert_string_equal(s_hits("ctr", "ctr2 and 2ctr"), "");
    assert_string_equal(s_hits("rank", "re-rank the list"), "rank");
    assert_string_equal(s_hits("rank", "prerank"), "");
    /* short keys end on a boundary within their first bytes */
    assert_string_equal(s_hits("rl", "deep RL agents"), "rl");
    assert_string_equal(s_hits("rl", "deep RL, agents"), "rl");
    assert_string_equal(s_hits("rl", "world"), "");
    assert_string_equal(s_hits("r", "in R, we"), "r");
    assert_string_equal(s_hits("ai", "AI"), "ai");
    assert_string_equal(s_hits("ai", "AIs."), "ai");
    assert_string_equal(s_hits("ai", "aim"), "");
}

static void test_separator_variants(void **state)
{
    const char *texts[] = { "cold-start", "cold start", "coldstart", "Cold-Start",
                            "COLD START", "cold -  start", "cold\n  start", "cold_start",
                            "cold/start" };
    const char *terms[] = { "cold-start", "cold start", "coldstart", "Cold-Start" };
    for (size_t t = 0; t < sizeof terms / sizeof *terms; t++)
        for (size_t x = 0; x < sizeof texts / sizeof *texts; x++) {
            ax_profile_t p;
            s_profile(&p, "t", terms[t]);
            ax_matcher_t *m = s_matcher(&p, 1);
            char text[64];
            snprintf(text, sizeof text, "the %s problem", texts[x]);
            if (strcmp(s_judge_title(m, text), terms[t]) != 0)
                fail_msg("term '%s' does not hit '%s'", terms[t], text);
            ax_matcher_destroy(&m);
            ax_profile_clear(&p);
        }
    assert_string_equal(s_hits("cold-start", "cold, start"), "");
    assert_string_equal(s_hits("cold-start", "cold. Start"), "");
    assert_string_equal(s_hits("cold-start", "cold-starter"), "");
    assert_string_equal(s_hits("cold-start", "a cold-start"), "cold-start");
    assert_string_equal(s_hits("click-through rate", "click through rate"), "click-through rate");
    assert_string_equal(s_hits("click-through rate", "Click-Through-Rates"), "click-through rate");
    assert_string_equal(s_hits("click-through rate", "clickthrough rate"), "click-through rate");
    assert_string_equal(s_hits("click-through rate", "click-through ratio"), "");
    assert_string_equal(s_hits("a/b test", "online A/B testing and AB tests"), "a/b test");
}

static void test_plurals(void **state)
{
    assert_string_equal(s_hits("recommendation", "Recommendations for you"), "recommendation");
    assert_string_equal(s_hits("recommendations", "a recommendation"), "recommendations");
    assert_string_equal(s_hits("query", "many queries"), "query");
    assert_string_equal(s_hits("queries", "one query"), "queries");
    assert_string_equal(s_hits("index", "inverted indexes"), "index");
    assert_string_equal(s_hits("indexes", "an index"), "indexes");
    assert_string_equal(s_hits("system", "systems"), "system");
    assert_string_equal(s_hits("recommender system", "Recommender-Systems"), "recommender system");
    assert_string_equal(s_hits("llm", "LLMs"), "llm");
    assert_string_equal(s_hits("rank", "ranking"), "");
    assert_string_equal(s_hits("rank", "ranks"), "rank");
    assert_string_equal(s_hits("ranking", "rank"), "");
    assert_string_equal(s_hits("ranking", "learning-to-rank rankings"), "ranking");
    assert_string_equal(s_hits("query", "queried"), "");
    assert_string_equal(s_hits("class", "classes"), "class");
    assert_string_equal(s_hits("analysis", "analysi"), "");   /* -is is not a plural */
    /* plurals only on the last word */
    assert_string_equal(s_hits("user model", "users model"), "");
}

static void test_aliases_count_once(void **state)
{
    ax_profile_t p;
    s_profile(&p, "t", "recommendation|recommender|recsys;ranking");
    ax_matcher_t *m = s_matcher(&p, 1);
    assert_int_equal(ax_matcher_keyword_count(m), 2);
    const char *text = "A recommender for recommendation in RecSys";
    unsigned char hit[2];
    assert_int_equal(ax_matcher_scan(m, text, strlen(text), hit), 1);
    assert_int_equal(hit[0], 1);
    assert_int_equal(hit[1], 0);
    assert_string_equal(s_judge_title(m, text), "recommendation");
    /* the alias alone hits the keyword, reported by its term */
    assert_string_equal(s_judge_title(m, "recsys and ranking"), "recommendation,ranking");
    ax_matcher_destroy(&m);
    ax_profile_clear(&p);
}

static void test_overlapping_terms(void **state)
{
    assert_string_equal(s_hits("click-through rate;rate", "click-through rate"),
                        "click-through rate,rate");
    assert_string_equal(s_hits("cold start;problem", "the cold-start problem"), "cold start,problem");
    assert_string_equal(s_hits("cold;cold start;start", "cold-start"), "cold,cold start,start");
    assert_string_equal(s_hits("start problem", "cold-start problem"), "start problem");
    assert_string_equal(s_hits("large language model;language model", "large language models"),
                        "large language model,language model");
}

static void test_unicode(void **state)
{
    assert_string_equal(s_hits("llm", "用LLM进行推荐"), "llm");
    assert_string_equal(s_hits("llm", "the LLM’s output — LLM—based"), "llm");
    assert_string_equal(s_hits("llm", "éllm and llmé"), "");       /* é is a letter */
    assert_string_equal(s_hits("café", "Un café à Paris"), "café");
    assert_string_equal(s_hits("café", "cafés"), "");               /* no plural after é */
    assert_string_equal(s_hits("cafe", "café"), "");
    assert_string_equal(s_hits("naïve bayes", "Naïve-Bayes"), "naïve bayes");
    assert_string_equal(s_hits("bayes", "naïve bayes"), "bayes");
    assert_string_equal(s_hits("快手", "来自快手公司的推荐系统"), "快手");
    assert_string_equal(s_hits("推荐系统", "快手推荐系统"), "推荐系统");
    assert_string_equal(s_hits("快手", "快递"), "");
    assert_string_equal(s_hits("kuaishou|快手", "在快手"), "kuaishou");
    /* CJK with ASCII: a substring, ASCII case-insensitive */
    assert_string_equal(s_hits("快手app", "使用快手APP的用户"), "快手app");
    assert_string_equal(s_hits("快手app", "快手 app"), "");
    /* LaTeX around terms */
    assert_string_equal(s_hits("recommendation", "\\emph{recommendation}"), "recommendation");
    assert_string_equal(s_hits("ctr", "$\\mathrm{CTR}_{t}$"), "ctr");
    assert_string_equal(s_hits("cold-start", "\\textbf{Cold-Start}~item"), "cold-start");
    /* punctuation inside a term is literal */
    assert_string_equal(s_hits("c++", "written in C++."), "c++");
    assert_string_equal(s_hits("c++", "the c language"), "");
}

/* Word starts and UTF-8 sequences at every offset around the 64-byte scan chunks. */
static void test_chunk_boundaries(void **state)
{
    ax_profile_t p;
    s_profile(&p, "t", "llm;cold start");
    ax_matcher_t *m = s_matcher(&p, 1);
    char text[256];
    for (size_t pad = 0; pad < 140; pad++) {
        memset(text, 'x', pad);
        snprintf(text + pad, sizeof text - pad, "llm");
        assert_string_equal(s_judge_title(m, text), pad ? "" : "llm");   /* xxxxllm */
        snprintf(text + pad, sizeof text - pad, ".llm");
        assert_string_equal(s_judge_title(m, text), "llm");
        snprintf(text + pad, sizeof text - pad, "éllm");
        assert_string_equal(s_judge_title(m, text), "");
        snprintf(text + pad, sizeof text - pad, "推llm");
        assert_string_equal(s_judge_title(m, text), "llm");
        snprintf(text + pad, sizeof text - pad, " cold - start");
        assert_string_equal(s_judge_title(m, text), "cold start");
    }
    ax_matcher_destroy(&m);
    ax_profile_clear(&p);
}

static void test_empty_text(void **state)
{
    ax_profile_t p;
    s_profile(&p, "t", "ranking");
    p.min_hits = 1;
    ax_matcher_t *m = s_matcher(&p, 1);
    ax_paper_t paper = { .title = "Learning to rank", .abstract = "", .comments = NULL };
    ax_verdict_t v = { 0 };
    assert_int_equal(ax_matcher_judge(m, &paper, &v), 0);
    assert_string_equal(v.profile, "t");
    assert_int_equal(v.state, AX_STATE_BELOW_THRESHOLD);
    assert_string_equal(v.reason, "hits 0 < min_hits 1");
    assert_int_equal(v.n_hits, 0);
    assert_null(v.hits);
    ax_verdict_clear(&v);
    ax_paper_t empty = { 0 };
    assert_int_equal(ax_matcher_judge(m, &empty, &v), 0);
    assert_int_equal(v.state, AX_STATE_BELOW_THRESHOLD);
    ax_verdict_clear(&v);
    unsigned char hit[1] = { 1 };
    assert_int_equal(ax_matcher_scan(m, "", 0, hit), 0);
    assert_int_equal(hit[0], 0);
    assert_int_equal(ax_matcher_scan(m, "ranking", 7, hit), 1);
    assert_int_equal(ax_matcher_scan(m, "ranking", 4, hit), 0);   /* len is honoured */
    /* the parts are separate texts: no match across title and abstract */
    ax_profile_t q;
    s_profile(&q, "u", "cold start");
    ax_matcher_t *mq = s_matcher(&q, 1);
    ax_paper_t split = { .title = "Warm and cold", .abstract = "start" };
    assert_int_equal(ax_matcher_judge(mq, &split, &v), 0);
    assert_int_equal(v.n_hits, 0);
    ax_verdict_clear(&v);
    ax_matcher_destroy(&mq);
    ax_profile_clear(&q);
    ax_matcher_destroy(&m);
    ax_profile_clear(&p);
}

static void test_exclude_and_min_hits(void **state)
{
    ax_profile_t p;
    s_profile(&p, "recsys", "recommendation;ranking;ctr");
    char *exclude[] = { "benchmark", "survey" };
    p.exclude = ax_strv_dup(exclude, 2);
    p.n_exclude = 2;
    p.min_hits = 2;
    ax_matcher_t *m = s_matcher(&p, 1);
    ax_verdict_t v = { 0 };
    ax_paper_t survey = { .title = "A Survey of Ranking for Recommendation" };
    assert_int_equal(ax_matcher_judge(m, &survey, &v), 0);
    assert_int_equal(v.state, AX_STATE_EXCLUDED);
    assert_string_equal(v.reason, "exclude: survey");
    assert_int_equal(v.n_hits, 2);                     /* hits are still reported */
    assert_string_equal(v.hits[0], "recommendation");
    assert_string_equal(v.hits[1], "ranking");
    ax_verdict_clear(&v);
    ax_paper_t plural = { .title = "Ranking", .abstract = "We review surveys of CTR." };
    assert_int_equal(ax_matcher_judge(m, &plural, &v), 0);
    assert_int_equal(v.state, AX_STATE_EXCLUDED);
    assert_string_equal(v.reason, "exclude: survey");
    ax_verdict_clear(&v);
    ax_paper_t one = { .title = "Ranking with surveyors" };
    assert_int_equal(ax_matcher_judge(m, &one, &v), 0);
    assert_int_equal(v.state, AX_STATE_BELOW_THRESHOLD);
    assert_string_equal(v.reason, "hits 1 < min_hits 2");
    assert_int_equal(v.n_hits, 1);
    assert_string_equal(v.hits[0], "ranking");
    ax_verdict_clear(&v);
    ax_paper_t two = { .title = "Ranking", .comments = "CTR data" };
    assert_int_equal(ax_matcher_judge(m, &two, &v), 0);
    assert_int_equal(v.state, AX_STATE_MATCHED);
    assert_null(v.reason);
    assert_int_equal(v.n_hits, 2);
    ax_verdict_clear(&v);
    ax_matcher_destroy(&m);
    /* min_hits 0: everything in the categories passes */
    p.min_hits = 0;
    m = s_matcher(&p, 1);
    ax_paper_t none = { .title = "Graphs" };
    assert_int_equal(ax_matcher_judge(m, &none, &v), 0);
    assert_int_equal(v.state, AX_STATE_MATCHED);
    assert_int_equal(v.n_hits, 0);
    ax_verdict_clear(&v);
    ax_matcher_destroy(&m);
    ax_profile_clear(&p);
}

static void test_categories(void **state)
{
    ax_profile_t p[2];
    s_profile(&p[0], "ir", "ranking");
    char *cats[] = { "cs.IR", "cs.AI" };
    p[0].categories = ax_strv_dup(cats, 2);
    p[0].n_categories = 2;
    s_profile(&p[1], "cs", "ranking");
    char *cs[] = { "cs" };
    p[1].categories = ax_strv_dup(cs, 1);
    p[1].n_categories = 1;
    ax_matcher_t *m = s_matcher(p, 2);
    ax_verdict_t v[2];
    char *cl[] = { "cs.CL" }, *ai[] = { "cs.CL", "cs.AI" }, *st[] = { "stat.ML", "csx.LG" };
    ax_paper_t paper = { .title = "Ranking", .categories = cl, .n_categories = 1 };
    memset(v, 0, sizeof v);
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    assert_string_equal(v[0].profile, "ir");
    assert_int_equal(v[0].state, AX_STATE_EXCLUDED);
    assert_string_equal(v[0].reason, "category: not in cs.IR, cs.AI");
    assert_int_equal(v[0].n_hits, 0);
    assert_string_equal(v[1].profile, "cs");
    assert_int_equal(v[1].state, AX_STATE_MATCHED);     /* "cs" takes cs.CL */
    ax_verdict_clear(&v[0]);
    ax_verdict_clear(&v[1]);
    paper.categories = ai;                              /* cross-list in cs.AI */
    paper.n_categories = 2;
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    assert_int_equal(v[0].state, AX_STATE_MATCHED);
    ax_verdict_clear(&v[0]);
    ax_verdict_clear(&v[1]);
    paper.categories = st;
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    assert_int_equal(v[1].state, AX_STATE_EXCLUDED);
    assert_string_equal(v[1].reason, "category: not in cs");
    ax_verdict_clear(&v[0]);
    ax_verdict_clear(&v[1]);
    paper.categories = NULL;                            /* no categories at all */
    paper.n_categories = 0;
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    assert_int_equal(v[0].state, AX_STATE_EXCLUDED);
    ax_verdict_clear(&v[0]);
    ax_verdict_clear(&v[1]);
    ax_matcher_destroy(&m);
    ax_profile_clear(&p[0]);
    ax_profile_clear(&p[1]);
}

static void test_company_and_order(void **state)
{
    ax_profile_t p;
    s_profile(&p, "recsys", "recommendation;ranking;kuaishou;taobao;uplift");
    p.keywords[2].company = strdup("快手");
    p.keywords[3].company = strdup("阿里巴巴");
    ax_matcher_t *m = s_matcher(&p, 1);
    ax_verdict_t v = { 0 };
    ax_paper_t paper = { .title = "Uplift at Taobao",
                         .abstract = "Ranking for Kuaishou's recommendations." };
    assert_int_equal(ax_matcher_judge(m, &paper, &v), 0);
    assert_int_equal(v.state, AX_STATE_MATCHED);
    assert_int_equal(v.n_hits, 5);
    const char *order[] = { "recommendation", "ranking", "kuaishou", "taobao", "uplift" };
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(v.hits[i], order[i]);
    assert_string_equal(v.company, "快手");
    ax_verdict_clear(&v);
    ax_paper_t taobao = { .title = "Uplift at TAOBAO" };
    assert_int_equal(ax_matcher_judge(m, &taobao, &v), 0);
    assert_string_equal(v.company, "阿里巴巴");
    ax_verdict_clear(&v);
    ax_paper_t plain = { .title = "Uplift" };
    assert_int_equal(ax_matcher_judge(m, &plain, &v), 0);
    assert_null(v.company);
    ax_verdict_clear(&v);
    ax_matcher_destroy(&m);
    ax_profile_clear(&p);
}

static void test_global_numbering(void **state)
{
    ax_profile_t p[2];
    s_profile(&p[0], "a", "ranking;ctr");
    s_profile(&p[1], "b", "llm;ranking;agent");
    ax_matcher_t *m = s_matcher(p, 2);
    assert_int_equal(ax_matcher_profile_count(m), 2);
    assert_int_equal(ax_matcher_keyword_count(m), 5);
    unsigned char hit[5];
    const char *text = "LLM agents for ranking";
    assert_int_equal(ax_matcher_scan(m, text, strlen(text), hit), 4);
    const unsigned char want[5] = { 1, 0, 1, 1, 1 };
    assert_memory_equal(hit, want, 5);
    ax_matcher_destroy(&m);
    ax_matcher_destroy(&m);     /* NULL is fine */
    ax_matcher_destroy(NULL);
    /* no profiles at all */
    char *err = NULL;
    m = ax_matcher_new(NULL, 0, &err);
    assert_non_null(m);
    assert_int_equal(ax_matcher_keyword_count(m), 0);
    assert_int_equal(ax_matcher_scan(m, text, strlen(text), hit), 0);
    ax_matcher_destroy(&m);
    ax_profile_clear(&p[0]);
    ax_profile_clear(&p[1]);
}

/* ax_matcher_new fails with a message containing want for profile spec + change. */
static void s_expect_bad(ax_profile_t *p, const char *want)
{
    char *err = NULL;
    ax_matcher_t *m = ax_matcher_new(p, 1, &err);
    assert_null(m);
    assert_non_null(err);
    if (!strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
    free(err);
}

static void test_bad_profiles(void **state)
{
    ax_profile_t p;
    s_profile(&p, "recsys", "ranking;x");
    free(p.keywords[1].term);
    p.keywords[1].term = strdup("");
    s_expect_bad(&p, "profile recsys: keyword 2: term is empty");
    free(p.keywords[1].term);
    p.keywords[1].term = strdup(" - ");
    s_expect_bad(&p, "keyword 2: term is empty");
    free(p.keywords[1].term);
    p.keywords[1].term = strdup("+++");
    s_expect_bad(&p, "has no letter or digit");
    free(p.keywords[1].term);
    p.keywords[1].term = NULL;
    s_expect_bad(&p, "keyword 2: term is missing");
    p.keywords[1].term = strdup("ctr");
    char *aliases[] = { "click-through rate", "" };
    p.keywords[1].aliases = ax_strv_dup(aliases, 2);
    p.keywords[1].n_aliases = 2;
    s_expect_bad(&p, "keyword ctr: alias 2 is empty");
    free(p.keywords[1].aliases[1]);
    p.keywords[1].aliases[1] = strdup("ctr rate");
    char *exclude[] = { "" };
    p.exclude = ax_strv_dup(exclude, 1);
    p.n_exclude = 1;
    s_expect_bad(&p, "profile recsys: exclude 1 is empty");
    free(p.exclude[0]);
    p.exclude[0] = strdup("survey");
    p.min_hits = -1;
    s_expect_bad(&p, "min_hits -1");
    p.min_hits = 1;
    free(p.name);
    p.name = NULL;
    s_expect_bad(&p, "profile 1 has no name");
    p.name = strdup("recsys");
    char *err = NULL;
    ax_matcher_t *m = ax_matcher_new(&p, 1, &err);    /* repaired: fine again */
    assert_non_null(m);
    assert_null(err);
    assert_string_equal(s_judge_title(m, "CTR rate"), "ctr");
    ax_matcher_destroy(&m);
    ax_profile_clear(&p);
}

/* Loads the paper with this id from the day's fixture (title, abstract, comment,
 * categories) into *paper. */
static void s_load_paper(const char *id, ax_paper_t *paper)
{
    FILE *f = fopen(DAE_DAY, "r");
    if (!f)
        fail_msg("cannot open %s", DAE_DAY);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    memset(paper, 0, sizeof *paper);
    while ((got = getline(&line, &cap, f)) > 0) {
        json_t *o = json_loadb(line, (size_t)got, 0, NULL);
        assert_non_null(o);
        if (strcmp(json_string_value(json_object_get(o, "id")), id) == 0 && !paper->id) {
            const char *comment = json_string_value(json_object_get(o, "comment"));
            paper->id = strdup(id);
            paper->title = strdup(json_string_value(json_object_get(o, "title")));
            paper->abstract = strdup(json_string_value(json_object_get(o, "summary")));
            paper->comments = comment ? strdup(comment) : NULL;
            json_t *cats = json_object_get(o, "categories");
            paper->n_categories = json_array_size(cats);
            paper->categories = calloc(paper->n_categories, sizeof *paper->categories);
            for (size_t i = 0; i < paper->n_categories; i++)
                paper->categories[i] = strdup(json_string_value(json_array_get(cats, i)));
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (!paper->id)
        fail_msg("paper %s not in %s", id, DAE_DAY);
}

/* Real papers: hits checked by hand against the abstracts. */
static void test_real_papers(void **state)
{
    ax_profile_t p[2];
    s_profile(&p[0], "recsys", "recommendation|recommender;ranking;retrieval;"
                               "ctr|click-through rate;cold-start;kuaishou;uplift;"
                               "llm|large language model");
    p[0].keywords[5].company = strdup("快手");
    s_profile(&p[1], "ir", "recommendation|recommender;ranking;llm|large language model");
    char *cats[] = { "cs.IR", "cs.AI" };
    p[1].categories = ax_strv_dup(cats, 2);
    p[1].n_categories = 2;
    ax_matcher_t *m = s_matcher(p, 2);
    ax_verdict_t v[2];
    memset(v, 0, sizeof v);

    /* 2606.30911: "...every competition is a cold start." "In a cold-start run" and
     * "LLM-driven abstraction"; "warm-start", "ML engineering" hit nothing. */
    ax_paper_t paper;
    s_load_paper("2606.30911", &paper);
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    assert_int_equal(v[0].state, AX_STATE_MATCHED);
    assert_int_equal(v[0].n_hits, 2);
    assert_string_equal(v[0].hits[0], "cold-start");
    assert_string_equal(v[0].hits[1], "llm");
    assert_null(v[0].company);
    assert_int_equal(v[1].state, AX_STATE_MATCHED);    /* cs.AI */
    assert_int_equal(v[1].n_hits, 1);
    ax_verdict_clear(&v[0]);
    ax_verdict_clear(&v[1]);
    ax_paper_clear(&paper);

    /* 2606.30814 (cs.CL): title "When Calibration Rankings Reverse ... of LLMs", abstract
     * "large language models", "ranking reversal"; "Accuracy-Controlled" is no ctr. */
    s_load_paper("2606.30814", &paper);
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    assert_int_equal(v[0].state, AX_STATE_MATCHED);
    assert_int_equal(v[0].n_hits, 2);
    assert_string_equal(v[0].hits[0], "ranking");
    assert_string_equal(v[0].hits[1], "llm");
    assert_int_equal(v[1].state, AX_STATE_EXCLUDED);
    assert_string_equal(v[1].reason, "category: not in cs.IR, cs.AI");
    ax_verdict_clear(&v[0]);
    ax_verdict_clear(&v[1]);
    ax_paper_clear(&paper);

    /* 2606.30776: auctions, nothing of recsys */
    s_load_paper("2606.30776", &paper);
    assert_int_equal(ax_matcher_judge(m, &paper, v), 0);
    assert_int_equal(v[0].state, AX_STATE_BELOW_THRESHOLD);
    assert_string_equal(v[0].reason, "hits 0 < min_hits 1");
    ax_verdict_clear(&v[0]);
    ax_verdict_clear(&v[1]);
    ax_paper_clear(&paper);

    ax_matcher_destroy(&m);
    ax_profile_clear(&p[0]);
    ax_profile_clear(&p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_boundaries),
        cmocka_unit_test(test_separator_variants),
        cmocka_unit_test(test_plurals),
        cmocka_unit_test(test_aliases_count_once),
        cmocka_unit_test(test_overlapping_terms),
        cmocka_unit_test(test_unicode),
        cmocka_unit_test(test_chunk_boundaries),
        cmocka_unit_test(test_empty_text),
        cmocka_unit_test(test_exclude_and_min_hits),
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_company_and_order),
        cmocka_unit_test(test_global_numbering),
        cmocka_unit_test(test_bad_profiles),
        cmocka_unit_test(test_real_papers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
