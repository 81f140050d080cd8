/*  test_render_layouts.c: by-category.md and papers/<id>.md (collector/render/render_layouts.c).
 *
 *  Golden files in tests/data/golden/ (by-category-zh.md, paper-zh.md, paper-en.md) are
 *  compared byte for byte; on a difference the output is saved under /tmp and the test
 *  prints the diff command (the convention of test_render.c). Two tests tie the goldens
 *  to the seeds they imitate, one renders a real day of the other system
 *  (fixtures/dae/2026-07-01*) and compares it with that system's own rendering, and the
 *  escaping tests feed hostile arXiv and LLM texts through both layouts.
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
#include <unistd.h>

#include <cmocka.h>

#include "test_helpers.h"
#include <jansson.h>

#include "paper.h"
#include "render.h"
#include "render_layouts.h"
#include "text.h"

#ifndef AX_SOURCE_DIR
#define AX_SOURCE_DIR "."
#endif
#ifndef AX_SHARED_DIR
#define AX_SHARED_DIR AX_SOURCE_DIR "/../shared"
#endif
#define DAE_AI_DAY AX_SHARED_DIR "/fixtures/dae/2026-07-01_AI_enhanced_Chinese.jsonl"
#define DAE_MD_DAY AX_SHARED_DIR "/fixtures/dae/2026-07-01.md"

#define GENERATED_AT 1782878400     /* 2026-07-01 04:00:00 UTC */
#define UTC8 (8 * 3600)

/* ---------------------------------------------------------------- builders */

/*  Fills the paper part of e; the verdict stays a keyword-only one with the given hits. */
static void s_paper(ax_entry_t *e, const char *id, const char *title, int64_t submitted,
                    const char *const *authors, size_t n_authors, const char *const *cats, size_t n_cats,
                    const char *abstract, size_t n_hits)
{
    static const char *const hit_names[] = {"a", "b", "c", "d", "e"};
    e->paper.id = ax_test_dup(id);
    e->paper.version = 1;
    e->paper.title = ax_test_dup(title);
    e->paper.submitted = submitted;
    e->paper.updated = submitted;
    e->paper.authors = ax_test_strv(authors, n_authors);
    e->paper.n_authors = n_authors;
    e->paper.categories = ax_test_strv(cats, n_cats);
    e->paper.n_categories = n_cats;
    e->paper.abstract = ax_test_dup(abstract);
    e->verdict.state = AX_STATE_MATCHED;
    e->verdict.hits = ax_test_strv(hit_names, n_hits);
    e->verdict.n_hits = n_hits;
}

/*  The LLM fields of by-category.md. */
static void s_llm(ax_entry_t *e, int score, const char *tldr, const char *motivation, const char *method,
                  const char *result, const char *conclusion)
{
    e->verdict.state = AX_STATE_ENRICHED;
    e->verdict.llm.score = score;
    e->verdict.llm.tldr = ax_test_dup(tldr);
    e->verdict.llm.motivation = ax_test_dup(motivation);
    e->verdict.llm.method = ax_test_dup(method);
    e->verdict.llm.result = ax_test_dup(result);
    e->verdict.llm.conclusion = ax_test_dup(conclusion);
}

static void s_entries_free(ax_entry_t *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ax_entry_clear(&entries[i]);
}

static ax_profile_t s_profile(const char *language, const char *const *cats, size_t n_cats)
{
    ax_profile_t p = {0};
    p.name = (char *) "recsys";
    p.title = (char *) "ArXiv cs.IR 每日论文摘要";
    p.language = (char *) language;
    p.categories = (char **) cats;
    p.n_categories = n_cats;
    p.top_n = 2;                    /* limits digest.md only */
    return p;
}

/*  The four papers of the by-category golden, in an order ax_rank_sort changes:
 *  [0] cs.CL, keyword-only, 2 hits (a real paper of 2026-07-01, no LLM output);
 *  [1] cs.IR, seed 002's second paper, 3 hits, score 3; [2] cs.AI, a real paper with its
 *  real LLM output, 4 hits (ranked first overall, printed in the second section);
 *  [3] cs.IR, seed 002's first paper, 3 hits, score 4. */
static void s_golden_category_entries(ax_entry_t e[4])
{
    memset(e, 0, 4 * sizeof *e);

    static const char *const rr_authors[] = {"Orian Dabod", "Amir Cohen", "Gabriel Stanovsky"};
    static const char *const rr_cats[] = {"cs.CL", "cs.AI"};
    s_paper(&e[0], "2606.31087", "When Reranking Hurts: Uncertainty-Based Gating for Few-Shot Reranking",
            1782751500, rr_authors, 3, rr_cats, 2,
            "Few-shot selection typically assumes that reranking retrieved examples always improves "
            "performance. We challenge this view by identifying that the expensive reranking step can in "
            "fact degrade performance. Instead, we propose \\emph{Training-Free Gated Reranking}, which "
            "decides whether to rerank the few-shot examples based on the model's uncertainty. Extensive "
            "experiments across 8 LLMs, covering 7 NLU datasets and 9 MT domain-language combinations, "
            "demonstrate that our approach reduces computational costs by 15\\%-80\\% while improving "
            "average performance by up to 2\\%. These findings indicate that higher computational cost "
            "does not guarantee better performance, and that reranking is most beneficial when targeted "
            "at high-uncertainty instances.",
            2);

    static const char *const pv_authors[] = {"Tuo Zhang", "Yuechun Sun", "Ruiliang Liu"};
    static const char *const pv_cats[] = {"cs.IR", "cs.CV"};
    s_paper(&e[1], "2509.20769", "Provenance Analysis of Archaeological Artifacts via Multimodal RAG Systems",
            1758787200, pv_authors, 3, pv_cats, 2,
            "In this work, we present a retrieval-augmented generation (RAG)-based system\nfor "
            "provenance analysis of archaeological artifacts, designed to support expert\nreasoning by "
            "integrating multimodal retrieval and large vision-language models\n(VLMs). The system "
            "constructs a dual-modal knowledge base from reference texts\nand images, enabling raw "
            "visual, edge-enhanced, and semantic retrieval to\nidentify stylistically similar objects. "
            "Retrieved candidates are synthesized by\nthe VLM to generate structured inferences, "
            "including chronological,\ngeographical, and cultural attributions, alongside interpretive "
            "justifications.\nWe evaluate the system on a set of Eastern Eurasian Bronze Age artifacts "
            "from\nthe British Museum. Expert evaluation demonstrates that the system produces\n"
            "meaningful and interpretable outputs, offering scholars concrete starting\npoints for "
            "analysis and significantly alleviating the cognitive burden of\nnavigating vast comparative "
            "corpora.",
            3);
    s_llm(&e[1], 3,
          "本文提出了一种基于检索增强生成（RAG）的系统，用于考古文物的来源分析，"
          "通过整合多模态检索和大型视觉语言模型（VLM）来支持专家推理。",
          "旨在减轻学者在分析大量比较语料库时的认知负担，为考古文物分析提供具体的起点。",
          "系统构建了包含参考文本和图像的双模态知识库，支持原始视觉、边缘增强和语义检索，以识别风格相似的文物。"
          "检索到的候选对象由VLM合成，生成结构化的推断，包括年代、地理和文化归属以及解释性理由。",
          "在英国博物馆的东欧亚青铜时代文物集上进行的专家评估表明，该系统能够产生有意义且可解释的输出。",
          "该系统为学者提供了有效的分析工具，显著减轻了处理大量比较数据的认知负担，并提供了有价值的分析起点。");

    static const char *const hy_authors[] = {"Arshia Rafieioskouei", "Tzu-Han Hsu", "Matthew Lucas",
                                             "Borzoo Bonakdarpour"};
    static const char *const hy_cats[] = {"cs.AI", "cs.LO", "cs.MA"};
    s_paper(&e[2], "2606.30966",
            "HyPOLE: Hyperproperty-Guided Multi-Agent Reinforcement Learning under Partial Observation",
            1782820800, hy_authors, 4, hy_cats, 3,
            "Formal specification is a powerful tool to guide the learning process and provides "
            "significant advantages over reward shaping: (1) mathematical rigor; (2) expressiveness to "
            "specify objectives and constraints, and (3) the ability to define tactics to achieve "
            "objectives. However, these benefits remain largely unexplored in the context of Multi-Agent "
            "Reinforcement Learning (MARL). This paper introduces HyPOLE, a novel framework for MARL "
            "under partial observability, where learning is guided by the expressive power of the "
            "so-called hyperproperties and, in particular, the temporal logic HyperLTL. We integrate "
            "Centralized Training for Decentralized Execution (CTDE) techniques with HyPOLE to "
            "synthesize decentralized policies, and our evaluation on SMAC, MessySMAC, and WildFire "
            "benchmark demonstrates clear advantages over baselines.",
            4);
    s_llm(&e[2], 5,
          "本文提出HyPOLE框架，利用超属性逻辑HyperLTL指导部分可观测环境下的多智能体强化学习，"
          "结合CTDE技术生成去中心化策略，在多个基准测试中优于基线方法。",
          "形式化规约在MARL中的优势（数学严谨性、表达力、策略定义能力）尚未被充分探索，"
          "尤其在部分可观测场景下缺乏利用超属性逻辑指导学习的框架。",
          "提出HyPOLE框架，将HyperLTL超属性逻辑与CTDE（集中训练-去中心化执行）技术相结合，"
          "在部分可观测条件下合成去中心化策略。",
          "在SMAC、MessySMAC和WildFire基准测试上的评估表明，HyPOLE明显优于基线方法。",
          "HyPOLE成功将超属性逻辑的形式化表达能力引入MARL，验证了利用HyperLTL指导部分可观测多智能体学习的有效性。");

    static const char *const dm_authors[] = {"Eric Fithian", "Kirill Skobelev"};
    static const char *const dm_cats[] = {"cs.IR", "cs.CL"};
    s_paper(&e[3], "2509.20617", "DELM: a Python toolkit for Data Extraction with Language Models",
            1758733500, dm_authors, 2, dm_cats, 2,
            "Large Language Models (LLMs) have become powerful tools for annotating\nunstructured data. "
            "However, most existing workflows rely on ad hoc scripts,\nmaking reproducibility, "
            "robustness, and systematic evaluation difficult. To\naddress these challenges, we introduce "
            "DELM (Data Extraction with Language\nModels), an open-source Python toolkit designed for "
            "rapid experimental\niteration of LLM-based data extraction pipelines and for quantifying the"
            "\ntrade-offs between them. DELM minimizes boilerplate code and offers a modular\nframework "
            "with structured outputs, built-in validation, flexible data-loading\nand scoring "
            "strategies, and efficient batch processing. It also includes robust\nsupport for working "
            "with LLM APIs, featuring retry logic, result caching,\ndetailed cost tracking, and "
            "comprehensive configuration management. We showcase\nDELM's capabilities through two case "
            "studies: one featuring a novel prompt\noptimization algorithm, and another illustrating how "
            "DELM quantifies trade-offs\nbetween cost and coverage when selecting keywords to decide "
            "which paragraphs to\npass to an LLM. DELM is available at\n"
            "\\href{https://github.com/Center-for-Applied-AI/delm}{\\texttt{github.com/Center-for-Applied-AI/delm}}.",
            3);
    s_llm(&e[3], 4, "DELM是一个开源的Python工具包，用于快速迭代基于LLM的数据提取流程，并量化不同方法之间的权衡。",
          "现有的大语言模型数据标注工作流大多依赖临时脚本，导致可复现性、鲁棒性和系统性评估困难。",
          "DELM提供模块化框架，包含结构化输出、内置验证、灵活的数据加载和评分策略、高效批处理，"
          "以及对LLM API的稳健支持（重试逻辑、结果缓存、成本跟踪等）。",
          "通过两个案例研究展示了DELM的能力：一个是新的提示优化算法，"
          "另一个是量化在决定哪些段落传递给LLM时关键词选择在成本和覆盖率之间的权衡。",
          "DELM解决了LLM数据提取流程中的可复现性和系统性评估问题，为研究人员提供了实用的工具支持。");
}

/*  Seed 001's paper (DeGRe) with its LLM fields in the profile's language. */
static void s_golden_paper_entry(ax_entry_t *e, int zh)
{
    memset(e, 0, sizeof *e);
    static const char *const authors[] = {"Author One", "Author Two"};
    static const char *const cats[] = {"cs.IR"};
    static const char *const top[] = {"systems", "machine learning"};
    static const char *const detail[] = {"recommender system", "generative reranking", "dense supervision",
                                         "lookahead planning"};
    s_paper(e, "2605.25749", "DeGRe: Dense-supervised Generative Reranking for Recommendation", 1779701400,
            authors, 2, cats, 1,
            "In multi-stage recommender systems, reranking optimizes overall utility by capturing "
            "intra-list contextual dependencies, yet its central challenge lies in exploring optimal "
            "sequences within an exponentially large permutation space. Recent studies have shifted "
            "towards end-to-end generative frameworks, which typically leverage list-wise rewards or "
            "preference alignment to guide generator training. However, these methods still face two "
            "critical issues. First is the heuristic label bias. Existing methods often construct "
            "training targets based on simple rules, such as promoting clicked items to the top, while "
            "ignoring causal dependencies within the list context. Second is the credit assignment "
            "problem. Sparse list-level posterior rewards fail to directly guide intermediate steps in "
            "sequence generation, leading to ambiguous optimization directions. To address these issues, "
            "we propose DeGRe (Dense-supervised Generative Reranking), a generative reranking framework "
            "that bridges the gap between offline exploration and online efficiency through dense "
            "supervision. The core of DeGRe lies in its offline-online decoupled design. During the "
            "offline phase, we introduce a Lookahead Evaluator based on cumulative regression, which "
            "leverages beam search to actively mine high-value lookahead sequences in the unexposed "
            "space. During training, we transform the step-wise value estimations from the evaluator "
            "into dense supervision signals and distill them into a lightweight Online Generator. This "
            "mechanism enables the generator to internalize lookahead planning capabilities, requiring "
            "only a single efficient greedy decoding pass during online inference to approximate the "
            "global optimum. Experiments demonstrate that DeGRe outperforms baseline models on public "
            "benchmarks and industrial datasets. We have successfully deployed DeGRe on Taobao Flash "
            "Shopping, significantly improving online recommendations.",
            3);
    ax_llm_t *llm = &e->verdict.llm;
    e->verdict.state = AX_STATE_ENRICHED;
    llm->score = 5;
    llm->tags_top = ax_test_strv(top, 2);
    llm->n_tags_top = 2;
    llm->tags_detail = ax_test_strv(detail, 4);
    llm->n_tags_detail = 4;
    if (zh) {
        llm->title_translated = ax_test_dup("密集监督生成式重排序方法在推荐系统中的应用");
        llm->one_sentence = ax_test_dup(
            "本文提出了一种名为DeGRe的生成式重排序框架,通过离线阶段使用“前瞻评估器”探索高质量序列,"
            "并将密集的步骤级监督信号蒸馏到轻量级在线生成器中,从而在保持在线推理高效的同时,"
            "解决了现有方法中启发式标签偏差和稀疏奖励导致的优化方向模糊问题。");
        llm->tldr = ax_test_dup("不应出现：有一句话总结时不用 TL;DR。");
    } else {
        /* an English LLM echoes the title as its translation: printed once */
        llm->title_translated = ax_test_dup("DeGRe: Dense-supervised Generative Reranking for Recommendation");
        llm->one_sentence = ax_test_dup(
            "DeGRe explores high-value sequences offline with a lookahead evaluator and distils its dense "
            "step-level supervision into a lightweight online generator, curing heuristic label bias and "
            "sparse-reward credit assignment while online inference stays one greedy pass.");
    }
}

/* ---------------------------------------------------------------- rendering and files */

/*  Renders by-category.md into a malloc'ed string (caller frees); asserts success.
 *  (noinline: at -O3 GCC mistakes the returned memstream buffer for the local &buf.) */
static __attribute__((noinline)) char *s_render_bc(const ax_profile_t *profile, const ax_entry_t *e, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ax_render_by_category_md(f, profile, "2026-07-01", e, n, GENERATED_AT, UTC8), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static __attribute__((noinline)) char *s_render_paper(const ax_profile_t *profile, const ax_entry_t *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ax_render_paper_md(f, profile, e), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/*  The shared file matching pattern (a glob under AX_SHARED_DIR), or NULL (then skip). */
static char *s_read_shared(const char *pattern)
{
    char full[1024];
    snprintf(full, sizeof full, "%s/%s", AX_SHARED_DIR, pattern);
    glob_t g;
    char *text = NULL;
    if (glob(full, 0, NULL, &g) == 0 && g.gl_pathc > 0)
        text = ax_test_read_file(g.gl_pathv[0], NULL);
    globfree(&g);
    if (!text)
        print_message("%s not found: skipped\n", full);
    return text;
}

/*  Lines of s that start with prefix. */
static int s_count_line_starts(const char *s, const char *prefix)
{
    int count = 0;
    size_t len = strlen(prefix);
    for (const char *p = s; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, len) == 0)
            count++;
    return count;
}

/*  Copy of s with every occurrence of from replaced by to. */
static char *s_replace(const char *s, const char *from, const char *to)
{
    size_t flen = strlen(from), tlen = strlen(to);
    char *out = malloc(strlen(s) * (tlen > flen ? tlen : 1) + 1);
    assert_non_null(out);
    size_t o = 0;
    for (const char *p = s; *p;) {
        if (strncmp(p, from, flen) == 0) {
            memcpy(out + o, to, tlen);
            o += tlen;
            p += flen;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

/*  In place: the text of every "Abstract: " paragraph (up to its blank line) folded to
 *  one line, as our renderer folds what the real rendering keeps hard-wrapped. */
static void s_fold_abstracts(char *s)
{
    for (char *p = strstr(s, "\nAbstract: "); p; p = strstr(p + 1, "\nAbstract: ")) {
        char *start = p + 1, *end = strstr(start, "\n\n");
        if (!end)
            end = start + strlen(start);
        char keep = *end;           /* folding NUL-terminates, at *end when nothing folds */
        size_t len = ax_text_fold_to(start, start, (size_t) (end - start));
        *end = keep;
        memmove(start + len, end, strlen(end) + 1);
    }
}

/* ---------------------------------------------------------------- goldens */

static const char *const s_golden_profile_cats[] = {"cs.IR", "cs.AI"};

static void test_golden_by_category_zh(void **state)
{
    ax_entry_t e[4];
    s_golden_category_entries(e);
    ax_rank_sort(e, 4);
    assert_string_equal(e[0].paper.id, "2606.30966");      /* 4 hits: first, yet in the 2nd section */
    assert_string_equal(e[1].paper.id, "2509.20617");      /* 3 hits, score 4 */
    ax_profile_t profile = s_profile("zh", s_golden_profile_cats, 2);
    char *out = s_render_bc(&profile, e, 4);
    int same = ax_test_matches_golden(out, "by-category-zh.md");
    free(out);
    s_entries_free(e, 4);
    assert_true(same);
}

/*  The golden's header and cs.IR section are seed 002's byte for byte, up to the end of
 *  the second paper, once the seed's hard-wrapped abstracts are folded (and its total is 9). */
static void test_golden_by_category_matches_seed(void **state)
{
    char *seed = s_read_shared("seeds/002_*.txt");
    if (!seed)
        skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/golden/by-category-zh.md", AX_SOURCE_DIR);
    char *golden = ax_test_read_file(path, NULL);
    assert_non_null(golden);
    s_fold_abstracts(seed);

    char *seed_total = s_replace(seed, "[Total: 9]\n", "[Total: 2]\n- [cs.AI](#cs.AI) [Total: 1]\n"
                                                      "- [cs.CL](#cs.CL) [Total: 1]\n");
    const char *s_end = strstr(seed_total, "### [3]"), *g_end = strstr(golden, "\n\n<div id='cs.AI'>");
    assert_non_null(s_end);
    assert_non_null(g_end);
    /* seed: papers joined by "\n\n" after "</details>\n"; golden: the section ends there */
    assert_true((size_t) (g_end - golden) + 2 == (size_t) (s_end - seed_total));
    assert_memory_equal(golden, seed_total, (size_t) (g_end - golden));
    free(seed_total);
    free(seed);
    free(golden);
}

static void s_golden_paper_test(int zh)
{
    ax_entry_t e;
    s_golden_paper_entry(&e, zh);
    ax_profile_t profile = s_profile(zh ? "zh" : "en", NULL, 0);
    char *out = s_render_paper(&profile, &e);
    int same = ax_test_matches_golden(out, zh ? "paper-zh.md" : "paper-en.md");
    free(out);
    ax_entry_clear(&e);
    assert_true(same);
}

static void test_golden_paper_zh(void **state)
{
    s_golden_paper_test(1);
}

static void test_golden_paper_en(void **state)
{
    s_golden_paper_test(0);
}

/*  The zh paper golden is seed 001 without the web page's chrome ("菜单", "关于 🐙 GitHub",
 *  the tag search box " 或 搜索:"), with tags joined by ", " where the page shows chips,
 *  and the id as a link; nothing else differs. */
static void test_golden_paper_matches_seed(void **state)
{
    char *seed = s_read_shared("seeds/001_*.txt");
    if (!seed)
        skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/golden/paper-zh.md", AX_SOURCE_DIR);
    char *golden = ax_test_read_file(path, NULL);
    assert_non_null(golden);

    static const char chrome[] = "菜单\n\n关于 🐙 GitHub\n";
    assert_true(strncmp(seed, chrome, strlen(chrome)) == 0);
    char *a = s_replace(seed + strlen(chrome), " 或 搜索:", "");
    char *b = s_replace(golden, "顶级标签: systems, machine learning\n", "顶级标签: systems machine learning\n");
    char *c = s_replace(b, "详细标签: recommender system, generative reranking, dense supervision, lookahead planning\n",
                        "详细标签: recommender system generative reranking dense supervision lookahead planning\n");
    char *d = s_replace(c, "[2605.25749](https://arxiv.org/abs/2605.25749)\n", "2605.25749");
    assert_string_equal(d, a);
    free(a);
    free(b);
    free(c);
    free(d);
    free(seed);
    free(golden);
}

/* ---------------------------------------------------------------- the real day */

/*  The categories of the other system's run, in its configured order (its convert.py sorts
 *  the sections by its CATEGORIES setting; the order is neither first appearance nor size). */
static const char *const s_dae_cats[] = {"cs.CV", "cs.CL", "cs.GT", "cs.IT", "cs.GR", "cs.AI", "cs.CE"};

/*  Entries from the enriched day: id, categories, authors, title, abstract ("summary") and
 *  the LLM's "AI" object. *n is set; caller frees. */
static ax_entry_t *s_load_dae_day(size_t *n)
{
    FILE *f = fopen(DAE_AI_DAY, "r");
    if (!f)
        return NULL;
    ax_entry_t *v = NULL;
    size_t count = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        v = realloc(v, (count + 1) * sizeof *v);
        assert_non_null(v);
        ax_entry_t *e = &v[count++];
        memset(e, 0, sizeof *e);
        e->paper.id = ax_test_dup(json_string_value(json_object_get(o, "id")));
        e->paper.title = ax_test_dup(json_string_value(json_object_get(o, "title")));
        e->paper.abstract = ax_test_dup(json_string_value(json_object_get(o, "summary")));
        const char *names[2] = {"categories", "authors"};
        for (int k = 0; k < 2; k++) {
            json_t *arr = json_object_get(o, names[k]);
            size_t len = json_array_size(arr);
            char **strs = calloc(len ? len : 1, sizeof *strs);
            assert_non_null(strs);
            for (size_t i = 0; i < len; i++)
                strs[i] = ax_test_dup(json_string_value(json_array_get(arr, i)));
            if (k == 0)
                e->paper.categories = strs, e->paper.n_categories = len;
            else
                e->paper.authors = strs, e->paper.n_authors = len;
        }
        json_t *ai = json_object_get(o, "AI");
        s_llm(e, 0, json_string_value(json_object_get(ai, "tldr")),
              json_string_value(json_object_get(ai, "motivation")),
              json_string_value(json_object_get(ai, "method")), json_string_value(json_object_get(ai, "result")),
              json_string_value(json_object_get(ai, "conclusion")));
        json_decref(o);
    }
    free(line);
    fclose(f);
    *n = count;
    return v;
}

/*  The structure of a by-category.md: per section "name total=N ids: a b c\n" (ids from
 *  the "### [n]" headings' links, in order), after the table of contents lines it checks
 *  against the sections. Asserts the papers are numbered 1, 2, 3, ... across sections.
 *  Caller frees. */
static char *s_structure(const char *md)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    int number = 0;
    for (const char *p = md; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        int n = (int) strcspn(p, "\n");
        int total = 0, num = 0, used = 0;
        if (strncmp(p, "- [", 3) == 0) {
            const char *t = strstr(p, ") [Total: "), *name_end = strstr(p, "](#");
            assert_true(t && t < p + n && name_end && name_end < t && sscanf(t, ") [Total: %d]", &total) == 1);
            fprintf(f, "toc %.*s %d\n", (int) (name_end - p - 3), p + 3, total);
        } else if (strncmp(p, "<div id='", 9) == 0) {
            fprintf(f, "\nsection %.*s:", n - 9 - (int) strlen("'></div>"), p + 9);
        } else if (sscanf(p, "### [%d] [%n", &num, &used) == 1 && used > 0) {
            assert_int_equal(num, ++number);
            const char *link = NULL;
            for (const char *q = strstr(p, "](https://arxiv.org/abs/"); q && q < p + n;
                 q = strstr(q + 1, "](https://arxiv.org/abs/"))
                link = q;
            assert_non_null(link);
            link += strlen("](https://arxiv.org/abs/");
            fprintf(f, " %.*s", (int) strcspn(link, ")"), link);
        }
    }
    fputc('\n', f);
    assert_int_equal(fclose(f), 0);
    return out;
}

/*  1 when a paper of the real rendering (len bytes at b, from its "\n### [" on) holds no
 *  text that our escaping changes: none of ` [ ] | * _ ~ \\ # & < > in its title,
 *  authors, LLM texts or abstract, and a title that does not start like a block
 *  (digit, - + = > #). Such a paper must come out byte for byte the same (with the next
 *  section's header when it is the last of its section). */
static int s_block_is_plain(const char *b, size_t len)
{
    char *copy = strndup(b, len);
    assert_non_null(copy);
    char *next_section = strstr(copy, "\n\n<div id='");     /* the layout's, after a section's last paper */
    if (next_section)
        *next_section = '\0';
    char *title = strstr(copy, "] ["), *link = strstr(copy, "](https://arxiv.org/abs/");
    assert_true(title && link && title < link);
    title += 3;
    int plain = !strchr("0123456789-+=>#", *title);
    char *authors = strstr(copy, ")\n*");
    if (authors)
        authors[2] = ' ';                                   /* the layout's emphasis */
    char *end_authors = authors ? strstr(authors, "*\n\nMain category: ") : NULL;
    if (end_authors)
        *end_authors = ' ';
    char *a = s_replace(link + 2, "<details>\n  <summary>Details</summary>\n", "");
    char *rest = s_replace(a, "</details>\n", "");
    *link = '\0';
    for (const char *p = title; plain && *p; p++)
        plain = !strchr("`[]|*_~\\#&<>", *p);
    for (const char *p = rest; plain && *p; p++)
        plain = !strchr("`[]|*_~\\#&<>", *p);
    free(a);
    free(rest);
    free(copy);
    return plain;
}

/*  Ours and the real rendering of 2026-07-01: the same categories in the same order with
 *  the same totals, the same paper ids in each section, numbered alike; and every paper
 *  whose texts hold nothing our escaping changes renders byte for byte as the real one. */
static void test_real_day(void **state)
{
    char *real = ax_test_read_file(DAE_MD_DAY, NULL);
    size_t n = 0;
    ax_entry_t *e = real ? s_load_dae_day(&n) : NULL;
    if (!real || !e) {
        free(real);
        print_message("%s or %s missing: skipped\n", DAE_MD_DAY, DAE_AI_DAY);
        skip();
    }
    assert_int_equal(n, 301);
    ax_profile_t profile = s_profile("zh", s_dae_cats, sizeof s_dae_cats / sizeof *s_dae_cats);
    char *ours = s_render_bc(&profile, e, n);

    char *real_structure = s_structure(real), *our_structure = s_structure(ours);
    assert_string_equal(our_structure, real_structure);
    assert_int_equal(s_count_line_starts(ours, "### ["), 301);
    assert_int_equal(ax_test_count_substr(ours, "<details>"), 301);
    assert_int_equal(ax_test_count_substr(ours, "</details>"), 301);
    assert_non_null(strstr(real_structure, "toc cs.CV 145\ntoc cs.CL 57\ntoc cs.GT 5\n"));

    /* paper by paper, with the real abstracts folded like ours */
    s_fold_abstracts(real);
    size_t plain = 0, identical = 0;
    const char *r = strstr(real, "\n### ["), *o = strstr(ours, "\n### [");
    for (size_t i = 0; i < n; i++) {
        assert_true(r && o);
        const char *r_end = strstr(r + 1, "\n### ["), *o_end = strstr(o + 1, "\n### [");
        size_t r_len = r_end ? (size_t) (r_end - r) : strlen(r), o_len = o_end ? (size_t) (o_end - o) : strlen(o);
        int same = r_len == o_len && memcmp(r, o, r_len) == 0;
        identical += same;
        if (s_block_is_plain(r, r_len)) {
            plain++;
            if (!same)
                print_error("paper %zu differs from the real rendering:\n%.*s\n---- ours:\n%.*s\n", i + 1,
                            (int) r_len, r, (int) o_len, o);
            assert_true(same);
        }
        r = r_end, o = o_end;
    }
    print_message("real day: %zu of %zu papers byte-identical to the real rendering; %zu plain ones all are\n",
                  identical, n, plain);
    assert_true(plain > n / 2);

    free(real_structure);
    free(our_structure);
    free(ours);
    free(real);
    s_entries_free(e, n);
    free(e);
}

/* ---------------------------------------------------------------- layout rules */

/*  Sections follow the profile's categories ("cs" names every cs.*), then first appearance. */
static void test_section_order(void **state)
{
    size_t n = 0;
    ax_entry_t *e = s_load_dae_day(&n);
    if (!e)
        skip();
    /* no profile categories: order of first appearance in the entries */
    ax_profile_t profile = s_profile("zh", NULL, 0);
    char *out = s_render_bc(&profile, e, n);
    char *structure = s_structure(out);
    assert_true(ax_test_starts_with(structure, "toc cs.GT 5\ntoc cs.CE 2\ntoc cs.GR 9\ntoc cs.IT 7\ntoc cs.CV 145\n"
                                         "toc cs.CL 57\ntoc cs.AI 76\n\nsection cs.GT: 2606.30776 "));
    free(structure);
    free(out);

    /* a category first, then an archive naming the rest, case-insensitively */
    static const char *const cats[] = {"CS.AI", "cs.GR", "cs"};
    profile = s_profile("zh", cats, 3);
    out = s_render_bc(&profile, e, n);
    structure = s_structure(out);
    assert_true(ax_test_starts_with(structure, "toc cs.AI 76\ntoc cs.GR 9\ntoc cs.GT 5\ntoc cs.CE 2\ntoc cs.IT 7\n"));
    free(structure);
    free(out);
    s_entries_free(e, n);
    free(e);

    /* a paper without categories goes to "unknown"; numbering follows the sections */
    ax_entry_t two[2];
    memset(two, 0, sizeof two);
    static const char *const ir[] = {"cs.IR"};
    s_paper(&two[0], "2601.00001", "No category", 0, NULL, 0, NULL, 0, "A.", 1);
    s_paper(&two[1], "2601.00002", "Retrieval", 0, NULL, 0, ir, 1, "B.", 1);
    profile = s_profile("en", ir, 1);
    out = s_render_bc(&profile, two, 2);
    assert_true(ax_test_starts_with(out, "<div id=toc></div>\n\n# Table of Contents\n\n- [cs.IR](#cs.IR) [Total: 1]\n"
                                   "- [unknown](#unknown) [Total: 1]\n\n\n<div id='cs.IR'></div>\n\n"
                                   "# cs.IR [[Back]](#toc)\n\n### [1] [Retrieval](https://arxiv.org/abs/2601.00002)\n"));
    assert_non_null(strstr(out, "\n# unknown [[Back]](#toc)\n\n### [2] [No category](https://arxiv.org/abs/2601.00001)\n"
                                "\nMain category: unknown\n"));
    free(out);
    s_entries_free(two, 2);
}

/*  A keyword-only entry: the same layout without the LLM lines; the <details> block keeps
 *  the abstract, which is then the line under <summary> (raw HTML: no backslashes). */
static void test_keyword_only(void **state)
{
    ax_entry_t e;
    memset(&e, 0, sizeof e);
    static const char *const authors[] = {"Orian Dabod", "Amir Cohen"};
    static const char *const cats[] = {"cs.CL", "cs.AI"};
    s_paper(&e, "2606.31087", "When Reranking Hurts", 1782751500, authors, 2, cats, 2,
            "We propose \\emph{Gated Reranking}:\ncosts drop by 15\\%-80\\% & a<b.", 2);
    ax_profile_t profile = s_profile("zh", NULL, 0);
    char *out = s_render_bc(&profile, &e, 1);
    assert_string_equal(out, "<div id=toc></div>\n\n# Table of Contents\n\n- [cs.CL](#cs.CL) [Total: 1]\n"
                             "\n\n<div id='cs.CL'></div>\n\n# cs.CL [[Back]](#toc)\n\n"
                             "### [1] [When Reranking Hurts](https://arxiv.org/abs/2606.31087)\n"
                             "*Orian Dabod,Amir Cohen*\n\nMain category: cs.CL\n\n\n"
                             "<details>\n  <summary>Details</summary>\n"
                             "Abstract: We propose \\emph{Gated Reranking}: costs drop by 15\\%-80\\% &amp; a&lt;b.\n\n"
                             "</details>\n");
    free(out);

    out = s_render_paper(&profile, &e);
    assert_string_equal(out, "arXiv 提交日期: 2026-06-29\n📄 Abstract - When Reranking Hurts\n\n"
                             "We propose \\emph{Gated Reranking}: costs drop by 15\\\\%-80\\\\% & a&lt;b.\n\n"
                             "When Reranking Hurts\n\n"
                             "源自 arXiv: [2606.31087](https://arxiv.org/abs/2606.31087)\n");
    free(out);

    /* English labels; no date, no abstract; a partial LLM answer shows what it has */
    profile = s_profile("en", NULL, 0);
    e.paper.submitted = 0;
    free(e.paper.abstract);
    e.paper.abstract = NULL;
    e.verdict.llm.tldr = ax_test_dup("Gating saves compute.");
    e.verdict.llm.result = ax_test_dup("15-80% cheaper.");
    out = s_render_paper(&profile, &e);
    assert_string_equal(out, "arXiv submission date: unknown\n📄 Abstract - When Reranking Hurts\n\n"
                             "(no abstract)\n\nWhen Reranking Hurts\n\n\n1️⃣ One-sentence summary\n\n"
                             "Gating saves compute.\n\nFrom arXiv: [2606.31087](https://arxiv.org/abs/2606.31087)\n");
    free(out);
    out = s_render_bc(&profile, &e, 1);
    assert_non_null(strstr(out, "*Orian Dabod,Amir Cohen*\n\nMain category: cs.CL\n\nTL;DR: Gating saves compute.\n"
                                "\n\n<details>\n  <summary>Details</summary>\nResult: 15-80% cheaper.\n\n"
                                "</details>\n"));
    free(out);

    /* nothing for the <details> block: no block; no authors: no author line */
    free(e.verdict.llm.result);
    e.verdict.llm.result = ax_test_dup(" \n ");
    ax_strv_free(&e.paper.authors, e.paper.n_authors);
    e.paper.n_authors = 0;
    out = s_render_bc(&profile, &e, 1);
    assert_non_null(strstr(out, "(https://arxiv.org/abs/2606.31087)\n\nMain category: cs.CL\n\n"
                                "TL;DR: Gating saves compute.\n"));
    assert_null(strstr(out, "details"));
    assert_null(strstr(out, "**"));
    free(out);
    ax_entry_clear(&e);
}

/*  Markdown rendered by cmark-gfm (GitHub's renderer) with raw HTML let through, or NULL
 *  when cmark-gfm is not installed. Caller frees. */
static char *s_cmark(const char *md)
{
    char path[] = "/tmp/test_render_layouts.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(md, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cmark-gfm --unsafe -e autolink -e table -e strikethrough %s 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *html = NULL;
    size_t len = 0, got;
    char chunk[4096];
    FILE *m = open_memstream(&html, &len);
    assert_non_null(m);
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0)
        fwrite(chunk, 1, got, m);
    fclose(m);
    int status = pclose(p);
    unlink(path);
    if (status != 0) {
        free(html);
        return NULL;
    }
    return html;
}

/*  Hostile arXiv and LLM texts: the paper, and a keyword-only twin whose abstract is the
 *  raw-HTML line of its <details> block. */
static void s_hostile_entries(ax_entry_t e[2])
{
    memset(e, 0, 2 * sizeof *e);
    static const char *const authors[] = {"*Eve*", "</details>", "[x](javascript:alert(1))", "# Trent"};
    static const char *const cats[] = {"cs.AI'><script>alert(1)</script>", "cs.IR"};
    static const char *const abstract =
        "Normal start.\n\n](javascript:alert(1)) | a | b |\n|---|---|\n*bold* _it_ `code`\n</details>\n"
        "<details>\n# heading\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n[ref]: javascript:x";
    for (int i = 0; i < 2; i++)
        s_paper(&e[i], i ? "2601.00002" : "2601.00001", "<script>alert(1)</script>\n# heading", 1779701400,
                authors, 4, cats, 2, abstract, 1);
    ax_llm_t *llm = &e[0].verdict.llm;
    s_llm(&e[0], 5, "](javascript:alert(1)) </details>\n# tl",
          "</details><script>alert(1)</script>\n\n# x [a](javascript:alert(1)) & R&D",
          "<details><summary>x</summary>", "*", "`code` | x |\n---");
    llm->title_translated = ax_test_dup("<img src=x onerror=alert(1)>\n# 标题");
    llm->one_sentence = ax_test_dup("</details>[a](javascript:alert(1))\n# x");
    static const char *const top[] = {"<b>x</b>", "[t](javascript:1)"};
    static const char *const detail[] = {"# h", "*"};
    llm->tags_top = ax_test_strv(top, 2);
    llm->n_tags_top = 2;
    llm->tags_detail = ax_test_strv(detail, 2);
    llm->n_tags_detail = 2;
}

static void test_hostile_by_category(void **state)
{
    ax_entry_t e[2];
    s_hostile_entries(e);
    ax_profile_t profile = s_profile("zh", NULL, 0);
    char *out = s_render_bc(&profile, e, 2);

    /* the only HTML is the layout's own */
    char *a = s_replace(out, "<div id=toc></div>", "");
    char *b = s_replace(a, "<div id='cs.AI___script_alert_1___script_'></div>", "");
    char *c = s_replace(b, "<details>\n  <summary>Details</summary>\n", "");
    char *d = s_replace(c, "\n</details>\n", "\n");
    assert_null(strchr(d, '<'));
    free(a), free(b), free(c), free(d);
    assert_int_equal(ax_test_count_substr(out, "<details>"), 2);
    assert_int_equal(ax_test_count_substr(out, "</details>"), 2);
    assert_int_equal(s_count_line_starts(out, "</details>"), 2);
    /* headings: contents, one section, two papers; no link but ours */
    assert_int_equal(s_count_line_starts(out, "#"), 4);
    assert_int_equal(s_count_line_starts(out, "### ["), 2);
    assert_int_equal(ax_test_count_unescaped(out, "](javascript"), 0);
    assert_int_equal(ax_test_count_unescaped(out, "]("), 1 + 1 + 2);      /* toc, back, two titles */
    assert_non_null(strstr(out, "- [cs.AI'>&lt;script>alert(1)&lt;/script>](#cs.AI___script_alert_1___script_) "
                                "[Total: 2]\n"));
    assert_non_null(strstr(out, "\n### [1] [&lt;script>alert(1)&lt;/script> \\# heading]"
                                "(https://arxiv.org/abs/2601.00001)\n"
                                "*\\*Eve\\*,&lt;/details>,\\[x\\](javascript:alert(1)),# Trent*\n"));
    assert_non_null(strstr(out, "\nTL;DR: \\](javascript:alert(1)) &lt;/details> \\# tl\n"));
    /* the raw-HTML line: entities, no backslashes */
    assert_non_null(strstr(out, "\nMotivation: &lt;/details&gt;&lt;script&gt;alert(1)&lt;/script&gt; "
                                "# x &#91;a&#93;(javascript:alert(1)) &amp; R&amp;D\n\n"));
    assert_non_null(strstr(out, "\nMethod: &lt;details>&lt;summary>x&lt;/summary>\n\n"));
    assert_non_null(strstr(out, "\nResult: \\*\n\nConclusion: \\`code\\` \\| x \\| ---\n\n"));
    assert_non_null(strstr(out, "\nAbstract: Normal start. \\](javascript:alert(1)) \\| a \\| b \\| "
                                "\\|---\\|---\\| \\*bold\\* \\_it\\_ \\`code\\` &lt;/details> &lt;details> "
                                "\\# heading &lt;script>alert(1)&lt;/script> &lt;img src=x onerror=alert(1)> "
                                "\\[ref\\]: javascript:x\n\n</details>\n"));
    /* the keyword-only twin: its abstract is the raw-HTML line */
    assert_non_null(strstr(out, "<summary>Details</summary>\nAbstract: Normal start. &#93;(javascript:alert(1)) "
                                "| a | b | |---|---| *bold* _it_ `code` &lt;/details&gt; &lt;details&gt; "
                                "# heading &lt;script&gt;alert(1)&lt;/script&gt; "
                                "&lt;img src=x onerror=alert(1)&gt; &#91;ref&#93;: javascript:x\n\n</details>\n"));

    /* what a reader gets: GitHub's renderer, raw HTML allowed */
    char *html = s_cmark(out);
    if (html) {
        assert_null(strstr(html, "<script"));
        assert_null(strstr(html, "<img"));
        assert_null(strstr(html, "javascript:alert(1)\""));
        assert_null(strstr(html, "href=\"javascript"));
        assert_int_equal(ax_test_count_substr(html, "<details>"), 2);
        assert_int_equal(ax_test_count_substr(html, "</details>"), 2);
        assert_int_equal(ax_test_count_substr(html, "<h1"), 2);
        assert_int_equal(ax_test_count_substr(html, "<h2"), 0);
        assert_int_equal(ax_test_count_substr(html, "<h3"), 2);
        assert_int_equal(ax_test_count_substr(html, "<hr"), 0);
        assert_int_equal(ax_test_count_substr(html, "<table"), 0);
        assert_int_equal(ax_test_count_substr(html, "<a href"), 1 + 1 + 2);
        assert_non_null(strstr(html, "<p>Method: &lt;details&gt;&lt;summary&gt;x&lt;/summary&gt;</p>"));
        free(html);
    } else {
        print_message("cmark-gfm not installed: rendered-HTML checks skipped\n");
    }
    free(out);
    s_entries_free(e, 2);
}

static void test_hostile_paper_page(void **state)
{
    ax_entry_t e[2];
    s_hostile_entries(e);
    for (int lang = 0; lang < 2; lang++) {
        for (int i = 0; i < 2; i++) {
            ax_profile_t profile = s_profile(lang ? "en" : "zh", NULL, 0);
            char *out = s_render_paper(&profile, &e[i]);
            assert_null(strchr(out, '<'));                  /* no HTML at all on a paper page */
            assert_int_equal(s_count_line_starts(out, "#"), 0);
            assert_int_equal(s_count_line_starts(out, "---"), 0);
            assert_int_equal(s_count_line_starts(out, "|"), 0);
            assert_int_equal(ax_test_count_unescaped(out, "](javascript"), 0);
            assert_int_equal(ax_test_count_unescaped(out, "]("), 1);  /* the arXiv link */
            if (i == 0) {
                assert_non_null(strstr(out, ": &lt;b>x&lt;/b>, \\[t\\](javascript:1)\n"));
                assert_non_null(strstr(out, ": \\# h, \\*\n\n&lt;img src=x onerror=alert(1)> \\# 标题 / "
                                            "&lt;script>alert(1)&lt;/script> \\# heading\n\n\n"));
                assert_non_null(strstr(out, "\n\n&lt;/details>\\[a\\](javascript:alert(1)) \\# x\n\n"));
            }
            char *html = s_cmark(out);
            if (html) {
                assert_null(strstr(html, "<script"));
                assert_null(strstr(html, "<img"));
                assert_null(strstr(html, "<b>"));
                assert_null(strstr(html, "<h"));
                assert_int_equal(ax_test_count_substr(html, "<a href"), 1);
                assert_non_null(strstr(html, "<a href=\"https://arxiv.org/abs/"));
                free(html);
            }
            free(out);
        }
    }
    s_entries_free(e, 2);
}

static void s_assert_html_escape(const char *in, const char *expected)
{
    char *got = ax_md_html_block_escape(in);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);
}

static void test_html_block_escape(void **state)
{
    s_assert_html_escape(NULL, "");
    s_assert_html_escape("  plain\n\n text \t", "plain text");
    s_assert_html_escape("</details><b>&amp;</b>", "&lt;/details&gt;&lt;b&gt;&amp;amp;&lt;/b&gt;");
    s_assert_html_escape("[a](javascript:x) ![i](y)", "&#91;a&#93;(javascript:x) !&#91;i&#93;(y)");
    s_assert_html_escape("*b* _i_ `c` \\alpha $x_i$ # 1. - |", "*b* _i_ `c` \\alpha $x_i$ # 1. - |");
    s_assert_html_escape("bell\a esc\x1b[0m\x7f 中文", "bell esc&#91;0m 中文");
}

static void s_assert_file_name(const char *id, int rc, const char *expected)
{
    char buf[64] = "untouched";
    assert_int_equal(ax_paper_file_name(id, buf, sizeof buf), rc);
    assert_string_equal(buf, expected);
}

static void test_paper_file_name(void **state)
{
    s_assert_file_name("2606.30776", 0, "2606.30776.md");
    s_assert_file_name("hep-th/9901001", 0, "hep-th_9901001.md");
    s_assert_file_name("math.AG/0309136", 0, "math.AG_0309136.md");
    s_assert_file_name("", -1, "");
    s_assert_file_name(NULL, -1, "");
    s_assert_file_name("../etc/passwd", -1, "");
    s_assert_file_name(".hidden", -1, "");
    s_assert_file_name("/abs", -1, "");
    s_assert_file_name("2606.30776\n", -1, "");
    s_assert_file_name("a b", -1, "");
    s_assert_file_name("2606.30776%2F", -1, "");
    char small[14];                                     /* "2606.30776.md" needs 14 */
    assert_int_equal(ax_paper_file_name("2606.30776", small, sizeof small), 0);
    assert_int_equal(ax_paper_file_name("2606.30776", small, sizeof small - 1), -1);
    assert_string_equal(small, "");
    assert_int_equal(ax_paper_file_name("2606.30776", NULL, 0), -1);
}

/*  No entries, bad arguments and a failing stream. */
static void test_edges(void **state)
{
    ax_profile_t zh = s_profile("zh", NULL, 0), en = s_profile("en", NULL, 0);
    char *out = s_render_bc(&zh, NULL, 0);
    assert_string_equal(out, "<div id=toc></div>\n\n# Table of Contents\n\n没有匹配的论文。\n");
    free(out);
    out = s_render_bc(&en, NULL, 0);
    assert_string_equal(out, "<div id=toc></div>\n\n# Table of Contents\n\nNo paper matched.\n");
    free(out);

    ax_entry_t e[4];
    s_golden_category_entries(e);
    assert_int_equal(ax_render_by_category_md(NULL, &zh, NULL, e, 4, 0, 0), -1);
    assert_int_equal(ax_render_by_category_md(stdout, NULL, NULL, e, 4, 0, 0), -1);
    assert_int_equal(ax_render_by_category_md(stdout, &zh, NULL, NULL, 4, 0, 0), -1);
    assert_int_equal(ax_render_paper_md(NULL, &zh, e), -1);
    assert_int_equal(ax_render_paper_md(stdout, NULL, e), -1);
    assert_int_equal(ax_render_paper_md(stdout, &zh, NULL), -1);
    FILE *f = fopen("/dev/full", "w");
    if (f) {
        assert_int_equal(ax_render_by_category_md(f, &zh, NULL, e, 4, 0, 0), -1);
        assert_int_equal(ax_render_paper_md(f, &zh, &e[1]), -1);
        fclose(f);
    }
    s_entries_free(e, 4);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_by_category_zh),
        cmocka_unit_test(test_golden_by_category_matches_seed),
        cmocka_unit_test(test_golden_paper_zh),
        cmocka_unit_test(test_golden_paper_en),
        cmocka_unit_test(test_golden_paper_matches_seed),
        cmocka_unit_test(test_real_day),
        cmocka_unit_test(test_section_order),
        cmocka_unit_test(test_keyword_only),
        cmocka_unit_test(test_hostile_by_category),
        cmocka_unit_test(test_hostile_paper_page),
        cmocka_unit_test(test_html_block_escape),
        cmocka_unit_test(test_paper_file_name),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
