/*  test_llm_prompt.c: the request side of LLM enrichment (worker/llm/llm_prompt.c): the request
 *  body (messages, response_format, repair turn), the language templates, a pin on the
 *  template text that forces an AX_PROMPT_VERSION bump, the cache key (with a golden value
 *  computed independently, see the comment there) and the token estimate. The response side
 *  is tested in test_llm.c.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_helpers.h"
#include <jansson.h>
#include <openssl/evp.h>

#include "llm.h"
#include "paper.h"

/* sha256 of the v1 templates: see test_templates_pinned */
#define TEMPLATES_V1_SHA256 "715c795d24fd6d1911a826ea0ae7865fc0c7b68df650d830bd8f35223baf0613"

/* ---------------------------------------------------------------- cache key */

static void s_fixed_paper(ax_paper_t *p)
{
    memset(p, 0, sizeof *p);
    p->id = strdup("2602.09386");
    p->version = 1;
    p->title = strdup("SMES: Towards Scalable Multi-Task Recommendation via Expert Sparsity");
    p->abstract = strdup("Industrial recommender systems typically rely on multi-task learning.");
}

/*  The golden key was computed outside this code base, with Python's hashlib:
 *      h = sha256(); for f in fields: h.update(len(f.encode()).to_bytes(8, 'big') + f.encode())
 *  over ["arxdigest-llm-cache", model, "v1", language, interest, id, "1", title, abstract].
 *  A change of the key scheme (or of AX_PROMPT_VERSION) shows here. */
static void test_cache_key(void **state)
{
    ax_paper_t p;
    s_fixed_paper(&p);
    const char *interest = "推荐系统：召回、排序、重排";
    char key[65], other[65];
    ax_llm_cache_key("deepseek-chat", "zh", interest, &p, key);
    assert_string_equal(AX_PROMPT_VERSION, "v1");
    assert_string_equal(key, "83a2ee290eb042ae4e707aa99c55c3f98f6899ac1406e88d5efa47a7a2c0aac0");
    ax_llm_cache_key("deepseek-chat", "zh", interest, &p, other);
    assert_string_equal(key, other);

    /* every input changes it */
    ax_llm_cache_key("deepseek-reasoner", "zh", interest, &p, other);
    assert_string_not_equal(key, other);
    ax_llm_cache_key("deepseek-chat", "en", interest, &p, other);
    assert_string_not_equal(key, other);
    ax_llm_cache_key("deepseek-chat", "zh", "推荐系统", &p, other);
    assert_string_not_equal(key, other);
    char *fields[] = {p.id, p.title, p.abstract};
    for (size_t i = 0; i < 3; i++) {
        char saved = fields[i][0];
        fields[i][0] = '#';
        ax_llm_cache_key("deepseek-chat", "zh", interest, &p, other);
        assert_string_not_equal(key, other);
        fields[i][0] = saved;
    }
    p.version = 2;
    ax_llm_cache_key("deepseek-chat", "zh", interest, &p, other);
    assert_string_not_equal(key, other);
    p.version = 1;
    /* authors, categories, comments are not part of it */
    p.comments = strdup("10 pages");
    ax_llm_cache_key("deepseek-chat", "zh", interest, &p, other);
    assert_string_equal(key, other);

    /* field boundaries: "ab"+"c" and "a"+"bc" differ */
    ax_llm_cache_key("ab", "c", interest, &p, key);
    ax_llm_cache_key("a", "bc", interest, &p, other);
    assert_string_not_equal(key, other);
    ax_llm_cache_key("m", "zh", "x", &p, key);
    ax_llm_cache_key("m", "zhx", "", &p, other);
    assert_string_not_equal(key, other);

    /* NULL counts as "": the all-empty golden value */
    ax_paper_t empty = {0};
    ax_llm_cache_key(NULL, NULL, NULL, &empty, key);
    assert_string_equal(key, "8e4a7b5e58aabbe679724604258f3855549ceeb539240b21bb2d77356adc75de");
    ax_llm_cache_key("", "", "", &empty, other);
    assert_string_equal(key, other);
    assert_int_equal(strlen(key), 64);
    ax_paper_clear(&p);
}

/* ---------------------------------------------------------------- request body */

static void s_request_paper(ax_paper_t *p, size_t n_authors)
{
    s_fixed_paper(p);
    p->n_authors = n_authors;
    p->authors = calloc(n_authors, sizeof *p->authors);
    for (size_t i = 0; i < n_authors; i++)
        assert_true(asprintf(&p->authors[i], "Author %zu", i + 1) > 0);
    p->n_categories = 2;
    p->categories = calloc(2, sizeof *p->categories);
    p->categories[0] = strdup("cs.IR");
    p->categories[1] = strdup("cs.LG");
    p->comments = strdup("Accepted by KDD 2026; code: https://example.org/\"smes\"");
}

static json_t *s_body_json(const ax_llm_opts_t *o, const ax_paper_t *p, const char *prev,
                           const char *err)
{
    char *text = ax_llm_request_body(o, p, prev, err);
    assert_non_null(text);
    json_error_t e;
    json_t *root = json_loads(text, 0, &e);
    if (!root)
        fail_msg("request body is not JSON: %s", e.text);
    assert_int_equal(ax_llm_estimate_tokens(text, o->max_tokens),
                     (int) ((strlen(text) + 3) / 4) + (o->max_tokens > 0 ? o->max_tokens : 0));
    free(text);
    return root;
}

static const char *s_msg(const json_t *root, size_t i, const char *role)
{
    const json_t *m = json_array_get(json_object_get(root, "messages"), i);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "role")), role);
    const char *content = json_string_value(json_object_get(m, "content"));
    assert_non_null(content);
    return content;
}

static void test_request_body(void **state)
{
    ax_paper_t p;
    s_request_paper(&p, 25);
    ax_llm_opts_t o = {.model = "deepseek-chat", .language = "zh",
                       .interest = "推荐系统：召回、排序、重排、CTR/CVR 预估",
                       .json_schema = 1, .temperature = 0.2, .max_tokens = 2048};
    json_t *root = s_body_json(&o, &p, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(root, "model")), "deepseek-chat");
    assert_true(json_is_real(json_object_get(root, "temperature")));
    assert_true(json_real_value(json_object_get(root, "temperature")) == 0.2);
    assert_int_equal(json_integer_value(json_object_get(root, "max_tokens")), 2048);
    assert_true(json_is_false(json_object_get(root, "stream")));
    assert_int_equal(json_array_size(json_object_get(root, "messages")), 2);
    const char *sys = s_msg(root, 0, "system"), *user = s_msg(root, 1, "user");
    assert_contains(sys, "<interest>\n推荐系统：召回、排序、重排、CTR/CVR 预估\n</interest>");
    assert_contains(sys, "JSON");
    assert_contains(sys, "未知");
    assert_contains(sys, "150～300 字");
    assert_contains(sys, "简体中文");
    for (size_t i = 0; i < AX_LLM_N_FIELDS; i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", ax_llm_field_names[i]);
        assert_contains(sys, quoted);
    }
    assert_contains(user, "arXiv ID: 2602.09386v1\n");
    assert_contains(user, "Title: SMES: Towards Scalable Multi-Task Recommendation via Expert Sparsity\n");
    assert_contains(user, "Authors: Author 1, Author 2,");
    assert_contains(user, "Author 20 and 5 more\n");
    assert_null(strstr(user, "Author 21"));
    assert_contains(user, "Categories: cs.IR, cs.LG\n");
    assert_contains(user, "Comments: Accepted by KDD 2026; code: https://example.org/\"smes\"\n");
    assert_contains(user, "Abstract: Industrial recommender systems typically rely on multi-task learning.");

    /* strict schema: every field required, nothing else allowed */
    const json_t *rf = json_object_get(root, "response_format");
    assert_string_equal(json_string_value(json_object_get(rf, "type")), "json_schema");
    const json_t *js = json_object_get(rf, "json_schema");
    assert_string_equal(json_string_value(json_object_get(js, "name")), "paper_digest");
    assert_true(json_is_true(json_object_get(js, "strict")));
    const json_t *schema = json_object_get(js, "schema");
    assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
    assert_true(json_is_false(json_object_get(schema, "additionalProperties")));
    const json_t *props = json_object_get(schema, "properties"), *req = json_object_get(schema, "required");
    assert_int_equal(json_object_size(props), AX_LLM_N_FIELDS);
    assert_int_equal(json_array_size(req), AX_LLM_N_FIELDS);
    for (size_t i = 0; i < AX_LLM_N_FIELDS; i++) {
        assert_string_equal(json_string_value(json_array_get(req, i)), ax_llm_field_names[i]);
        assert_non_null(json_object_get(props, ax_llm_field_names[i]));
    }
    const json_t *score = json_object_get(props, "score");
    assert_string_equal(json_string_value(json_object_get(score, "type")), "integer");
    assert_int_equal(json_array_size(json_object_get(score, "enum")), 5);
    const json_t *tags = json_object_get(props, "tags_detail");
    assert_string_equal(json_string_value(json_object_get(tags, "type")), "array");
    assert_string_equal(json_string_value(json_object_get(json_object_get(tags, "items"), "type")), "string");
    const json_t *summary = json_object_get(props, "summary");
    assert_string_equal(json_string_value(json_object_get(summary, "type")), "string");

    /* the repair request keeps the first two messages byte for byte */
    json_t *repair = s_body_json(&o, &p, "```json\n{\"title_translated\": \"x\"}\n```",
                                 "missing fields: summary, tldr");
    assert_int_equal(json_array_size(json_object_get(repair, "messages")), 4);
    assert_string_equal(s_msg(repair, 0, "system"), sys);
    assert_string_equal(s_msg(repair, 1, "user"), user);
    assert_string_equal(s_msg(repair, 2, "assistant"), "```json\n{\"title_translated\": \"x\"}\n```");
    const char *fix = s_msg(repair, 3, "user");
    assert_contains(fix, "missing fields: summary, tldr");
    assert_contains(fix, "JSON");
    assert_contains(fix, "13");
    json_decref(repair);
    /* an empty previous answer (truncated reasoning) is not sent as an empty assistant turn */
    repair = s_body_json(&o, &p, " \n", "the answer was truncated");
    assert_int_equal(json_array_size(json_object_get(repair, "messages")), 3);
    assert_contains(s_msg(repair, 2, "user"), "the answer was truncated");
    json_decref(repair);
    repair = s_body_json(&o, &p, NULL, "the answer is empty");
    assert_int_equal(json_array_size(json_object_get(repair, "messages")), 3);
    json_decref(repair);
    /* a huge previous answer is cut */
    char *huge = malloc(30001);
    memset(huge, 'a', 30000);
    huge[30000] = '\0';
    repair = s_body_json(&o, &p, huge, "x");
    assert_int_equal(strlen(s_msg(repair, 2, "assistant")), 8000);
    json_decref(repair);
    free(huge);
    json_decref(root);

    /* json_object mode, English, no temperature */
    o = (ax_llm_opts_t){.model = "gpt-4o-mini", .language = "en", .interest = "",
                        .json_schema = 0, .temperature = -1, .max_tokens = 0};
    root = s_body_json(&o, &p, NULL, NULL);
    rf = json_object_get(root, "response_format");
    assert_string_equal(json_string_value(json_object_get(rf, "type")), "json_object");
    assert_int_equal(json_object_size(rf), 1);
    assert_null(json_object_get(root, "temperature"));
    assert_null(json_object_get(root, "max_tokens"));
    sys = s_msg(root, 0, "system");
    assert_contains(sys, "JSON");
    assert_contains(sys, "write \"unknown\"");
    assert_contains(sys, "The reader gave no specific interest");
    assert_null(strstr(sys, "<interest>"));
    assert_contains(sys, "the title exactly as given");
    json_decref(root);

    ax_paper_clear(&p);
    o.model = NULL;
    assert_null(ax_llm_request_body(&o, &p, NULL, NULL));
}

/*  The framed body (parts around the paper dumped once) is byte-identical to jansson's
 *  whole body: for papers with quotes, backslashes, every control character, CJK, emoji
 *  and LaTeX, under several option sets and for more profiles than the frame cache holds;
 *  and invalid UTF-8 (overlong, surrogate, cut sequence, > U+10FFFF) is refused by both. */
static void test_body_frames(void **state)
{
    static const char *texts[] = {
        "plain ASCII abstract",
        "quotes \" and \\ backslashes \\\" and /slashes/",
        "\x01\x02\x07\b\t\n\v\f\r\x1b\x1f controls, DEL \x7f",
        "推荐系统：召回、排序 — ∑_{i=1}^{n} $\\alpha$ 😀 é",
        "",
    };
    static const char *bad[] = {"overlong \xc0\xaf", "surrogate \xed\xa0\x80", "cut \xe6\x8e",
                                "too big \xf4\x90\x80\x80", "lone \x80 continuation", "\xff"};
    const char *interests[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9", "i10", "i11",
                               "i12", "i13", "i14", "i15", "i16", "i17", "i18", "i19", "推荐\"系统\"\n"};
    for (int round = 0; round < 2; round++)     /* second round: frames come from the cache */
        for (size_t k = 0; k < sizeof interests / sizeof *interests; k++)
            for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
                ax_paper_t p;
                s_fixed_paper(&p);
                free(p.abstract);
                p.abstract = strdup(texts[t]);
                p.comments = strdup(texts[(t + 1) % 5]);
                ax_llm_opts_t o = {.model = "m\"odel", .language = k % 2 ? "en" : "zh",
                                   .interest = interests[k], .json_schema = (int) (k % 3 == 0),
                                   .temperature = k % 4 ? 0.2 : -1, .max_tokens = (int) (k % 5) * 100};
                char *fast = ax_llm_request_body(&o, &p, NULL, NULL);
                char *slow = ax_llm_request_body_uncached(&o, &p, NULL, NULL);
                assert_non_null(fast);
                assert_non_null(slow);
                assert_string_equal(fast, slow);
                free(fast);
                free(slow);
                ax_paper_clear(&p);
            }
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        ax_paper_t p;
        s_fixed_paper(&p);
        free(p.abstract);
        p.abstract = strdup(bad[b]);
        ax_llm_opts_t o = {.model = "m", .language = "en", .interest = "x", .temperature = -1};
        assert_null(ax_llm_request_body_uncached(&o, &p, NULL, NULL));
        assert_null(ax_llm_request_body(&o, &p, NULL, NULL));
        ax_paper_clear(&p);
    }
}

static void test_languages(void **state)
{
    char *zh = ax_llm_system_prompt("zh-CN", "x"), *tw = ax_llm_system_prompt("zh-TW", "x");
    char *en = ax_llm_system_prompt("en-GB", "x"), *def = ax_llm_system_prompt(NULL, "x");
    char *pt = ax_llm_system_prompt("pt-BR", "x"), *zhx = ax_llm_system_prompt("zha", "x");
    assert_contains(zh, "简体中文");
    assert_contains(tw, "繁體中文");
    assert_contains(en, "Write plain, precise English.");
    assert_string_equal(en, def);
    assert_contains(pt, "in the language with the code \"pt-BR\"");
    assert_contains(pt, "the title translated into the output language");
    assert_contains(pt, "the output language's word for \"unknown\"");
    assert_contains(zhx, "with the code \"zha\"");   /* Zhuang is not Chinese */
    free(zh), free(tw), free(en), free(def), free(pt), free(zhx);
    /* the interest's whitespace is folded, its text kept */
    char *folded = ax_llm_system_prompt("zh", "  召回\n\n排序  ");
    assert_contains(folded, "<interest>\n召回 排序\n</interest>");
    free(folded);
}

/*  The templates are pinned: this hash covers the system prompts of three languages, a
 *  repair turn and the schema. If it fails you changed what the model is asked: bump
 *  AX_PROMPT_VERSION in worker/llm/llm.h (old cached answers answer the old prompt), then put the
 *  new hash here. */
static void test_templates_pinned(void **state)
{
    ax_paper_t p = {0};
    p.id = "0000.00000";
    ax_llm_opts_t o = {.model = "m", .language = "zh", .interest = "I", .json_schema = 1,
                       .temperature = -1, .max_tokens = 1};     /* no real: no float format */
    const char *langs[] = {"zh", "en", "pt"};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 3; i++) {
        o.language = langs[i];
        char *body = ax_llm_request_body(&o, &p, "prev", "err");
        assert_non_null(body);
        EVP_DigestUpdate(ctx, body, strlen(body) + 1);
        free(body);
    }
    unsigned char md[32];
    unsigned n = 0;
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (strcmp(AX_PROMPT_VERSION, "v1") != 0 || strcmp(hex, TEMPLATES_V1_SHA256) != 0)
        fail_msg("prompt templates changed (sha256 %s, version %s): bump AX_PROMPT_VERSION and "
                 "update TEMPLATES_V1_SHA256", hex, AX_PROMPT_VERSION);
}

static void test_estimate(void **state)
{
    assert_int_equal(ax_llm_estimate_tokens("", 2048), 2048);
    assert_int_equal(ax_llm_estimate_tokens(NULL, 100), 100);
    assert_int_equal(ax_llm_estimate_tokens("abcd", 0), 1);
    assert_int_equal(ax_llm_estimate_tokens("abcde", 10), 12);
    assert_int_equal(ax_llm_estimate_tokens("abcdefgh", -5), 2);
    /* a real request: a Chinese profile, a typical abstract */
    ax_paper_t p;
    s_request_paper(&p, 10);
    ax_llm_opts_t o = {.model = "deepseek-chat", .language = "zh", .interest = "推荐系统",
                       .json_schema = 0, .temperature = 0.2, .max_tokens = 2048};
    char *body = ax_llm_request_body(&o, &p, NULL, NULL);
    int est = ax_llm_estimate_tokens(body, o.max_tokens);
    assert_true(est > 2048 + 500 && est < 2048 + 3000);
    free(body);
    ax_paper_clear(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_key),
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_body_frames),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_templates_pinned),
        cmocka_unit_test(test_estimate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
