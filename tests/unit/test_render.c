/*  test_render.c: ranking, period keys, author lists, Markdown escaping and the
 *  digest.md renderer, whose output is compared byte for byte with hand-written golden
 *  files in tests/data/golden/ (laid out after seed 000).
 */
#define _GNU_SOURCE
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_helpers.h"

#include "paper.h"
#include "render.h"

#ifndef AX_SOURCE_DIR
#define AX_SOURCE_DIR "."
#endif
#ifndef AX_SHARED_DIR
#define AX_SHARED_DIR AX_SOURCE_DIR "/../shared"
#endif

#define GENERATED_AT 1771302182     /* 2026-02-17 04:23:02 UTC = 12:23:02 UTC+8 */
#define UTC8 (8 * 3600)

/* ---------------------------------------------------------------- builders */

/*  Fills the paper part of e; the verdict part stays zero (a keyword-only entry). */
static void s_paper(ax_entry_t *e, const char *id, int version, const char *title,
                    int64_t submitted, const char *const *authors, size_t n_authors,
                    const char *abstract)
{
    e->paper.id = ax_test_dup(id);
    e->paper.version = version;
    e->paper.title = ax_test_dup(title);
    e->paper.submitted = submitted;
    e->paper.updated = submitted;
    e->paper.authors = ax_test_strv(authors, n_authors);
    e->paper.n_authors = n_authors;
    e->paper.abstract = ax_test_dup(abstract);
}

static void s_hits(ax_entry_t *e, const char *const *hits, size_t n)
{
    e->verdict.hits = ax_test_strv(hits, n);
    e->verdict.n_hits = n;
    e->verdict.state = AX_STATE_MATCHED;
}

static void s_entries_free(ax_entry_t *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ax_entry_clear(&entries[i]);
}

static const char *const s_smes_authors[] = {
    "Yukun Zhang", "Si Dong",   "Xu Wang",   "Bo Chen",   "Author Five",
    "Author Six",  "Author 7",  "Author 8",  "Author 9",  "Author 10",
    "Author 11",   "Author 12", "Author 13", "Author 14",
};

/*  The three papers of the golden digests, in an order the ranking must change:
 *  [0] keyword-only, 2 hits; [1] 5 authors, 4 hits, score 3, no company or summary;
 *  [2] the seed's first paper (14 authors, 4 hits, score 5, all LLM fields). The LLM
 *  texts follow the language, as the worker asks the LLM in the profile's language. */
static void s_golden_entries(ax_entry_t e[3], int zh)
{
    memset(e, 0, 3 * sizeof *e);

    static const char *const cold_authors[] = {"Alice Example", "Bob Example"};
    static const char *const cold_hits[] = {"cold-start", "recommendation"};
    s_paper(&e[0], "2602.11111", 2, "Cold-Start Recommendation with\n  Graph Priors", 1770883500,
            cold_authors, 2,
            "New items have no interactions.\n  We place a graph prior on item embeddings $x_i$ "
            "and improve CTR by 3.1% on two public data sets.");
    s_hits(&e[0], cold_hits, 2);
    e[0].verdict.company = ax_test_dup("Alibaba");

    static const char *const gr_authors[] = {"Ana Souza", "Wei Chen", "Priya Natarajan",
                                             "Tomás García", "Jonas Berg"};
    static const char *const gr_hits[] = {"ranking", "recommendation", "retrieval", "explore"};
    s_paper(&e[1], "2602.13001", 3, "Generative Re-ranking with Large Language Models", 1770978120,
            gr_authors, 5,
            "We propose a generative re-ranker that scores candidate lists with a large language "
            "model and explores beyond the top-$k$ items.");
    s_hits(&e[1], gr_hits, 4);
    e[1].verdict.state = AX_STATE_ENRICHED;
    e[1].verdict.llm.score = 3;
    if (zh) {
        e[1].verdict.llm.title_translated = ax_test_dup("基于大语言模型的生成式重排");
        e[1].verdict.llm.score_reason = ax_test_dup("与重排相关，但未涉及工业部署。");
    } else {
        /* An English LLM echoes the title: the digest must not print it twice. */
        e[1].verdict.llm.title_translated = ax_test_dup("Generative Re-ranking with Large Language Models");
        e[1].verdict.llm.score_reason =
            ax_test_dup("Re-ranking is in scope, but there is no industrial deployment.");
    }

    static const char *const smes_hits[] = {"kuaishou", "ranking", "recommendation", "uplift"};
    s_paper(&e[2], "2602.09386", 1,
            "SMES: Towards Scalable Multi-Task Recommendation via Expert Sparsity", 1770724560,
            s_smes_authors, 14,
            "Industrial recommender systems serve many tasks with one model ...");
    s_hits(&e[2], smes_hits, 4);
    e[2].verdict.state = AX_STATE_ENRICHED;
    e[2].verdict.company = ax_test_dup(zh ? "快手" : "Kuaishou");
    e[2].verdict.llm.score = 5;
    if (zh) {
        e[2].verdict.llm.title_translated = ax_test_dup("SMES：通过专家稀疏化实现可扩展的多任务推荐");
        e[2].verdict.llm.company = ax_test_dup("快手");
        e[2].verdict.llm.score_reason = ax_test_dup(
            "该论文直接涉及推荐系统核心的排序和多任务价值建模，来自知名公司快手，并提出了创新的稀疏"
            "专家路由框架解决实际工业场景的扩展性问题。");
        e[2].verdict.llm.summary = ax_test_dup(
            "该论文针对工业级推荐系统中多任务学习面临的挑战，提出了一种可扩展的稀疏专家混合框架SMES。"
            "核心问题是传统模型均匀扩展参数无法适应不同任务对容量的异质性需求，导致推理成本高且稀疏任务"
            "收益递减。SMES通过渐进式专家路由机制，将专家激活分解为跨任务共享的专家子集和任务自适应的私"
            "有专家，在保证实例级稀疏性的同时保留任务特定能力。此外，引入全局多门负载均衡正则化器，通过"
            "调节所有任务的聚合专家利用率来稳定训练。该方法已在快手大规模短视频服务中部署，支持超过4亿日"
            "活用户，在线实验显示用户观看时长提升0.31%。");
    } else {
        e[2].verdict.llm.company = ax_test_dup("Kuaishou");
        e[2].verdict.llm.score_reason =
            ax_test_dup("Directly about multi-task ranking in an industrial recommender at Kuaishou.");
        e[2].verdict.llm.summary = ax_test_dup(
            "SMES scales multi-task recommendation with a sparse mixture of experts: shared and "
            "task-specific experts are routed per task, and a global load-balancing term stabilises "
            "training. Deployed at Kuaishou for 400M daily users, it adds 0.31% watch time.");
    }
}

static ax_profile_t s_profile(const char *title, const char *language, int top_n)
{
    ax_profile_t p = {0};
    p.name = (char *) "recsys";
    p.title = (char *) title;
    p.language = (char *) language;
    p.top_n = top_n;
    return p;
}

/*  Renders into a malloc'ed string (caller frees); asserts the renderer returned 0.
 *  (noinline: at -O3 GCC mistakes the returned memstream buffer for the local &buf.) */
static __attribute__((noinline)) char *s_render(const ax_profile_t *profile, const char *period, const ax_entry_t *e,
                      size_t n, int64_t generated_at, int tz_offset_s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ax_render_digest_md(f, profile, period, e, n, generated_at, tz_offset_s), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/*  Number of lines of s equal to line. */
static int s_count_lines(const char *s, const char *line)
{
    int count = 0;
    size_t len = strlen(line);
    for (const char *p = s; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t) (end - p) : strlen(p);
        if (n == len && memcmp(p, line, len) == 0)
            count++;
        p = end ? end + 1 : NULL;
    }
    return count;
}

/* ---------------------------------------------------------------- tests */

/*  hits desc, then score desc, then newest first, then id asc: whatever the input order. */
static void test_rank_order(void **state)
{
    struct { const char *id; size_t hits; int score; int64_t submitted; } spec[] = {
        {"c-two-hits-old", 2, 0, 100},      {"a-three-hits-score1", 3, 1, 50},
        {"b-two-hits-new", 2, 0, 300},      {"d-three-hits-score4", 3, 4, 10},
        {"f-tie", 2, 0, 200},               {"e-tie", 2, 0, 200},
        {"g-one-hit-score5", 1, 5, 999},    {"h-three-hits-score4-new", 3, 4, 20},
    };
    const char *expected[] = {
        "h-three-hits-score4-new", "d-three-hits-score4", "a-three-hits-score1",
        "b-two-hits-new", "e-tie", "f-tie", "c-two-hits-old", "g-one-hit-score5",
    };
    enum { N = sizeof spec / sizeof *spec };
    static const char *const hit_names[] = {"a", "b", "c"};

    for (size_t rot = 0; rot < 2 * N; rot++) {
        ax_entry_t e[N];
        memset(e, 0, sizeof e);
        for (size_t i = 0; i < N; i++) {
            /* rotations, then reversed rotations of the spec order */
            size_t k = rot < N ? (i + rot) % N : (N - 1 - i + rot) % N;
            e[i].paper.id = ax_test_dup(spec[k].id);
            e[i].paper.submitted = spec[k].submitted;
            s_hits(&e[i], hit_names, spec[k].hits);
            e[i].verdict.llm.score = spec[k].score;
        }
        ax_rank_sort(e, N);
        for (size_t i = 0; i < N; i++)
            assert_string_equal(e[i].paper.id, expected[i]);
        s_entries_free(e, N);
    }
    ax_rank_sort(NULL, 0);      /* nothing to sort is fine */
}

static void s_assert_key(int64_t t, const char *group_by, const char *expected)
{
    char buf[32];
    assert_int_equal(ax_period_key(t, group_by, buf, sizeof buf), 0);
    assert_string_equal(buf, expected);
}

static void test_period_key(void **state)
{
    s_assert_key(1780272000, "day", "2026-06-01");          /* 2026-06-01 00:00:00 */
    s_assert_key(1780272000 - 1, "day", "2026-05-31");      /* one second earlier */
    s_assert_key(1780272000, "week", "2026-W23");
    s_assert_key(1780272000, "month", "2026-06");
    s_assert_key(1780272000, "run", "all");
    s_assert_key(1609675200, "week", "2020-W53");           /* Sunday 2021-01-03 */
    s_assert_key(1609675200 + 86400, "week", "2021-W01");   /* Monday 2021-01-04 */
    s_assert_key(1735516800, "week", "2025-W01");           /* Monday 2024-12-30 */
    s_assert_key(1609675200, "month", "2021-01");

    char buf[32] = "untouched";
    assert_int_equal(ax_period_key(1780272000, "year", buf, sizeof buf), -1);
    assert_int_equal(ax_period_key(1780272000, "", buf, sizeof buf), -1);
    assert_int_equal(ax_period_key(1780272000, NULL, buf, sizeof buf), -1);
    char small[5];
    assert_int_equal(ax_period_key(1780272000, "day", small, sizeof small), -1);
    assert_int_equal(ax_period_key(1780272000, "run", small, 3), -1);
}

static void s_assert_authors(size_t n, const char *language, const char *expected)
{
    ax_paper_t paper = {0};
    paper.authors = (char **) s_smes_authors;
    paper.n_authors = n;
    char *got = ax_format_authors(&paper, language);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);
}

static void test_format_authors(void **state)
{
    s_assert_authors(0, "zh", "");
    s_assert_authors(1, "zh", "Yukun Zhang");
    s_assert_authors(4, "zh", "Yukun Zhang、Si Dong、Xu Wang、Bo Chen");
    s_assert_authors(5, "zh", "Yukun Zhang、Si Dong、Xu Wang、Bo Chen、等1人");
    s_assert_authors(14, "zh", "Yukun Zhang、Si Dong、Xu Wang、Bo Chen、等10人");
    s_assert_authors(14, "zh-CN", "Yukun Zhang、Si Dong、Xu Wang、Bo Chen、等10人");
    s_assert_authors(0, "en", "");
    s_assert_authors(1, "en", "Yukun Zhang");
    s_assert_authors(4, "en", "Yukun Zhang, Si Dong, Xu Wang, Bo Chen");
    s_assert_authors(5, "en", "Yukun Zhang, Si Dong, Xu Wang, Bo Chen, et al. (1 more)");
    s_assert_authors(14, "en", "Yukun Zhang, Si Dong, Xu Wang, Bo Chen, et al. (10 more)");
    s_assert_authors(14, "de", "Yukun Zhang, Si Dong, Xu Wang, Bo Chen, et al. (10 more)");
    s_assert_authors(2, NULL, "Yukun Zhang, Si Dong");
}

static void s_golden_test(int zh)
{
    ax_entry_t e[3];
    s_golden_entries(e, zh);
    ax_rank_sort(e, 3);
    assert_string_equal(e[0].paper.id, "2602.09386");
    assert_string_equal(e[1].paper.id, "2602.13001");
    assert_string_equal(e[2].paper.id, "2602.11111");

    ax_profile_t profile = zh ? s_profile("ArXiv cs.IR 每日论文摘要", "zh", 20)
                              : s_profile("ArXiv cs.IR daily digest", "en", 20);
    /* zh: the whole run, printed in UTC+8 like the seed; en: a week, printed in UTC */
    char *out = zh ? s_render(&profile, "all", e, 3, GENERATED_AT, UTC8)
                   : s_render(&profile, "2026-W08", e, 3, GENERATED_AT, 0);
    int same = ax_test_matches_golden(out, zh ? "digest_zh.md" : "digest_en.md");
    free(out);
    s_entries_free(e, 3);
    assert_true(same);
}

static void test_golden_zh(void **state)
{
    s_golden_test(1);
}

static void test_golden_en(void **state)
{
    s_golden_test(0);
}

/*  The golden zh digest is the seed's own header and first paper byte for byte (only the
 *  count differs: 3 papers instead of 20), so it cannot drift from the seed's layout. */
static void test_golden_matches_seed(void **state)
{
    char pattern[1024], path[1024];
    snprintf(pattern, sizeof pattern, "%s/seeds/000_*.txt", AX_SHARED_DIR);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        globfree(&g);
        print_message("seed not found at %s: skipped\n", pattern);
        skip();
    }
    char *seed = ax_test_read_file(g.gl_pathv[0], NULL);
    globfree(&g);
    assert_non_null(seed);
    snprintf(path, sizeof path, "%s/tests/data/golden/digest_zh.md", AX_SOURCE_DIR);
    char *golden = ax_test_read_file(path, NULL);
    assert_non_null(golden);

    const char *seed_end = strstr(seed, "## 2. "), *golden_end = strstr(golden, "## 2. ");
    assert_non_null(seed_end);
    assert_non_null(golden_end);
    static const char seed_count[] = "**论文数量**: 20 篇（Top 20）\n";
    const char *count = strstr(seed, seed_count);
    assert_non_null(count);
    assert_true(count < seed_end);
    /* the seed up to its second paper, with the count line saying 3 */
    char *seed_head = NULL;
    assert_true(asprintf(&seed_head, "%.*s**论文数量**: 3 篇（Top 20）\n%.*s", (int) (count - seed), seed,
                         (int) (seed_end - count - strlen(seed_count)),
                         count + strlen(seed_count)) > 0);
    char *golden_head = strndup(golden, (size_t) (golden_end - golden));
    assert_non_null(golden_head);
    assert_string_equal(golden_head, seed_head);
    free(seed_head);
    free(golden_head);
    free(seed);
    free(golden);
}

static void test_period_heading_and_top_n(void **state)
{
    ax_entry_t e[3];
    s_golden_entries(e, 1);
    ax_rank_sort(e, 3);
    ax_profile_t profile = s_profile("ArXiv cs.IR 每日论文摘要", "zh", 2);
    char *out = s_render(&profile, "2026-02-17", e, 3, GENERATED_AT, 0);
    assert_true(ax_test_starts_with(out, "# ArXiv cs.IR 每日论文摘要 — 2026-02-17\n\n"
                                   "**生成时间**: 2026年02月17日 04:23:02\n"
                                   "**论文数量**: 2 篇（Top 2）\n"));
    assert_non_null(strstr(out, "\n## 2. "));
    assert_null(strstr(out, "## 3. "));
    assert_null(strstr(out, "Cold-Start"));
    assert_int_equal(s_count_lines(out, "---"), 3);
    free(out);

    /* top_n <= 0: no limit, the count shows the papers */
    profile.top_n = 0;
    out = s_render(&profile, NULL, e, 3, GENERATED_AT, 0);
    assert_non_null(strstr(out, "**论文数量**: 3 篇（Top 3）\n"));
    assert_non_null(strstr(out, "## 3. Cold-Start Recommendation with Graph Priors\n"));
    assert_true(ax_test_starts_with(out, "# ArXiv cs.IR 每日论文摘要\n\n"));
    free(out);
    s_entries_free(e, 3);
}

static void test_zero_entries(void **state)
{
    ax_profile_t zh = s_profile("ArXiv cs.IR 每日论文摘要", "zh", 20);
    char *out = s_render(&zh, "2026-02-17", NULL, 0, GENERATED_AT, UTC8);
    assert_string_equal(out, "# ArXiv cs.IR 每日论文摘要 — 2026-02-17\n"
                             "\n"
                             "**生成时间**: 2026年02月17日 12:23:02\n"
                             "**论文数量**: 0 篇（Top 20）\n"
                             "**排序规则**: 按关键词命中数 + 兴趣评分排序\n"
                             "\n"
                             "---\n"
                             "\n"
                             "今日没有匹配的论文。\n");
    free(out);

    ax_profile_t en = s_profile("Daily", "en", 5);
    out = s_render(&en, "all", NULL, 0, GENERATED_AT, 0);
    assert_string_equal(out, "# Daily\n"
                             "\n"
                             "**Generated at**: 2026-02-17 04:23:02\n"
                             "**Papers**: 0 (Top 5)\n"
                             "**Sorted by**: keyword hits, then interest score\n"
                             "\n"
                             "---\n"
                             "\n"
                             "No paper matched.\n");
    free(out);
}

static void s_assert_escape(const char *in, const char *expected)
{
    char *got = ax_md_escape(in);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);
}

static void test_md_escape(void **state)
{
    s_assert_escape(NULL, "");
    s_assert_escape("  plain\n text  \t", "plain text");
    s_assert_escape("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>");
    s_assert_escape("<!-- x --> <?php <http://a.b> <a@b.c>", "&lt;!-- x --> &lt;?php &lt;http://a.b> &lt;a@b.c>");
    s_assert_escape("p < 0.05, a <= b, n<5, a > b", "p < 0.05, a <= b, n<5, a > b");
    s_assert_escape("](javascript:alert(1))", "\\](javascript:alert(1))");
    s_assert_escape("[a](b)", "\\[a\\](b)");
    s_assert_escape("![x](y)", "!\\[x\\](y)");
    s_assert_escape("---", "\\---");
    s_assert_escape("===", "\\===");
    s_assert_escape("+ item", "\\+ item");
    s_assert_escape("- item", "\\- item");
    s_assert_escape("1. item", "1\\. item");
    s_assert_escape("12) item", "12\\) item");
    s_assert_escape("3D vision, 1.5x faster", "3D vision, 1.5x faster");
    s_assert_escape("# title #", "\\# title \\#");
    s_assert_escape("C# and F#", "C# and F#");
    s_assert_escape("*bold* _it_ `code` ~~s~~ a|b", "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~ a\\|b");
    s_assert_escape("> quote", "\\> quote");
    s_assert_escape("Code: https://github.com/a/my_repo_v2 and www.x.org/~u/*a* or a_b@c.org, not a_b",
                    "Code: https://github.com/a/my_repo_v2 and www.x.org/~u/*a* or a_b@c.org, not a\\_b");
    s_assert_escape("http://x/[a](javascript:alert(1))", "http://x/\\[a\\](javascript:alert(1))");
    s_assert_escape("&lt;b&gt; R&D &#60; &#x3C;", "\\&lt;b\\&gt; R&D \\&#60; \\&#x3C;");
    s_assert_escape("$\\alpha$-test", "$\\alpha$-test");
    s_assert_escape("$x_i^2$ and \\{a\\}", "$x\\_i^2$ and \\\\{a\\\\}");
    s_assert_escape("ends with \\", "ends with \\\\");
    s_assert_escape("a\\*b", "a\\\\\\*b");
    s_assert_escape("bell\a and\x1b[31m esc\x7f", "bell and\\[31m esc");
    s_assert_escape("中文（括号）与 Tomás", "中文（括号）与 Tomás");
    s_assert_escape("line one\n---\n# two", "line one --- \\# two");
}

/*  A hostile paper and LLM answer must not add a link, HTML, a heading or a rule. */
static void test_hostile_paper(void **state)
{
    ax_entry_t e[1];
    memset(e, 0, sizeof e);
    static const char *const authors[] = {"*Eve* [x](http://evil)", "<b>Mallory</b>", "# Trent"};
    static const char *const hits[] = {"recommendation"};
    s_paper(&e[0], "2602.00001) [x](javascript:alert(1)", 1, "<script>alert(1)</script>",
            1770724560, authors, 3,
            "Normal start.\n\n](javascript:alert(1))\n---\n# Heading\n| a | b |\n|---|---|\n"
            "<img src=x onerror=alert(1)>\n```\ncode\n```\n[ref]: http://evil");
    s_hits(&e[0], hits, 1);
    e[0].verdict.llm.score = 4;
    e[0].verdict.llm.score_reason = ax_test_dup("**bold** [click](http://evil)\n\n## injected");
    e[0].verdict.llm.company = ax_test_dup("<iframe src=//evil>");
    e[0].verdict.llm.title_translated = ax_test_dup("标题\n---");

    ax_profile_t profile = s_profile("T", "zh", 20);
    char *out = s_render(&profile, NULL, e, 1, GENERATED_AT, 0);

    /* the only link is ours, and its URL cannot be closed early */
    assert_int_equal(ax_test_count_unescaped(out, "]("), 1);
    assert_non_null(strstr(out, "[查看原文](http://arxiv.org/abs/"
                                "2602.00001%29%20%5Bx%5D%28javascript%3Aalert%281%29v1)\n"));
    /* no raw HTML: every '<' that could open a tag became an entity */
    assert_null(strchr(out, '<'));
    assert_non_null(strstr(out, "**英文标题**: &lt;script>alert(1)&lt;/script>\n\n"));
    /* one heading for the digest, one per paper; two rules: header and paper */
    assert_int_equal(s_count_lines(out, "---"), 2);
    assert_int_equal(ax_test_count_substr(out, "\n#"), 1);
    assert_int_equal(ax_test_count_substr(out, "\n## "), 1);
    assert_non_null(strstr(out, "\n## 1. 标题 ---\n\n"));
    assert_non_null(strstr(out, "**作者**: \\*Eve\\* \\[x\\](http://evil)、&lt;b>Mallory&lt;/b>、# Trent\n\n"));
    assert_non_null(strstr(out, "**所属公司**: &lt;iframe src=//evil>\n\n"));
    assert_non_null(strstr(out, "**感兴趣评分**: 【4分】 \\*\\*bold\\*\\* \\[click\\](http://evil) \\## injected\n\n"));
    /* the abstract is one line right under its label */
    assert_non_null(strstr(out, "**摘要总结**:\nNormal start. \\](javascript:alert(1)) --- \\# Heading "
                                "\\| a \\| b \\| \\|---\\|---\\| &lt;img src=x onerror=alert(1)> "
                                "\\`\\`\\` code \\`\\`\\` \\[ref\\]: http://evil\n\n---\n\n"));
    free(out);
    s_entries_free(e, 1);
}

/*  Missing fields: no authors, no time, no title, no abstract, no company. */
static void test_missing_fields(void **state)
{
    ax_entry_t e[1];
    memset(e, 0, sizeof e);
    e[0].paper.id = ax_test_dup("hep-th/9901001");
    ax_profile_t profile = s_profile("T", "en", 20);
    char *out = s_render(&profile, NULL, e, 1, GENERATED_AT, 0);
    assert_string_equal(out, "# T\n\n"
                             "**Generated at**: 2026-02-17 04:23:02\n"
                             "**Papers**: 1 (Top 20)\n"
                             "**Sorted by**: keyword hits, then interest score\n\n"
                             "---\n\n"
                             "## 1. hep-th/9901001\n\n"
                             "**Authors**: unknown\n\n"
                             "**Submitted**: unknown\n\n"
                             "**Link**: [arXiv](http://arxiv.org/abs/hep-th/9901001)\n\n"
                             "**Company**: unknown\n\n"
                             "**Keywords**: 【0】\n\n"
                             "**Interest**: 【-】 not scored (keyword-only run)\n\n"
                             "**Summary**:\n"
                             "(no abstract)\n\n"
                             "---\n\n");
    free(out);
    ax_entry_clear(&e[0]);
}

/*  A failing stream is reported, not ignored. */
static void test_write_error(void **state)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    ax_entry_t e[3];
    s_golden_entries(e, 1);
    ax_profile_t profile = s_profile("T", "zh", 20);
    assert_int_equal(ax_render_digest_md(f, &profile, NULL, e, 3, GENERATED_AT, 0), -1);
    fclose(f);
    s_entries_free(e, 3);
    assert_int_equal(ax_render_digest_md(NULL, &profile, NULL, NULL, 0, GENERATED_AT, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_order),
        cmocka_unit_test(test_period_key),
        cmocka_unit_test(test_format_authors),
        cmocka_unit_test(test_golden_zh),
        cmocka_unit_test(test_golden_en),
        cmocka_unit_test(test_golden_matches_seed),
        cmocka_unit_test(test_period_heading_and_top_n),
        cmocka_unit_test(test_zero_entries),
        cmocka_unit_test(test_md_escape),
        cmocka_unit_test(test_hostile_paper),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
