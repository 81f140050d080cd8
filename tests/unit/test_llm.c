/*  test_llm.c: the response side of LLM enrichment (worker/llm/llm.c).
 *
 *  First the real recorded exchanges of tests/data/llm_fixtures/ (OpenAI, DeepSeek: 200s
 *  whose content is not our answer, a truncated reasoning answer, a 401, a 429 "overloaded"),
 *  then synthetic bodies for our own answer object and for every error shape and status the
 *  classifier knows, the wait-time parsers and the cache value codec. The request side
 *  (prompts, request body, cache key) is tested in test_llm_prompt.c.
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

#include "llm.h"
#include "paper.h"

#ifndef AX_SOURCE_DIR
#define AX_SOURCE_DIR "."
#endif
#define FIXTURES AX_SOURCE_DIR "/tests/data/llm_fixtures/"

/* ---------------------------------------------------------------- helpers */

/* The result of one ax_llm_parse_response call, owned by the test. */
typedef struct {
    ax_llm_outcome_t outcome;
    ax_llm_t llm;
    ax_llm_usage_t usage;
    int64_t wait_ms;
    char *answer, *error;
} parsed_t;

static void s_parsed_clear(parsed_t *p)
{
    ax_llm_clear(&p->llm);
    free(p->answer);
    free(p->error);
    memset(p, 0, sizeof *p);
}

static parsed_t s_parse_h(long status, const char *body, const ax_llm_headers_t *h)
{
    parsed_t p;
    memset(&p, 0, sizeof p);
    p.outcome = ax_llm_parse_response(status, body, body ? strlen(body) : 0, h, &p.llm, &p.usage,
                                      &p.wait_ms, &p.answer, &p.error);
    if (p.outcome == AX_LLM_OK)
        assert_null(p.error);
    else
        assert_non_null(p.error);
    if (p.outcome != AX_LLM_REPAIR)
        assert_null(p.answer);
    if (p.outcome != AX_LLM_RETRY)
        assert_int_equal(p.wait_ms, -1);
    return p;
}

static parsed_t s_parse(long status, const char *body)
{
    return s_parse_h(status, body, NULL);
}

#define assert_outcome(p, o)                                                               \
    do {                                                                                   \
        if ((p).outcome != (o))                                                            \
            fail_msg("outcome %s, expected %s (error: %s)", ax_llm_outcome_name((p).outcome), \
                     ax_llm_outcome_name(o), (p).error ? (p).error : "none");              \
    } while (0)

/* A valid answer object (as a jansson object, caller decrefs). */
static json_t *s_answer_obj(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:[s,s], s:[s,s,s]}",
                     "title_translated", "SMES：通过专家稀疏化实现可扩展的多任务推荐",
                     "one_sentence", "本文提出SMES框架，通过稀疏专家路由实现可扩展的多任务推荐。",
                     "summary", "该论文针对工业级推荐系统中多任务学习面临的挑战，"
                                "提出了可扩展的稀疏专家混合框架SMES。",
                     "tldr", "稀疏专家让多任务推荐可扩展。",
                     "motivation", "均匀扩展参数无法适应不同任务对容量的异质性需求。",
                     "method", "渐进式专家路由与全局多门负载均衡正则化。",
                     "result", "在快手部署，用户观看时长提升0.31%。",
                     "conclusion", "SMES 在保证稀疏性的同时保留任务特定能力。",
                     "score", 5,
                     "score_reason", "直接涉及推荐系统的排序与多任务建模。",
                     "company", "快手",
                     "tags_top", "machine learning", "systems",
                     "tags_detail", "multi-task learning", "mixture of experts", "recommender system");
}

/* A chat completion whose content is the given text (content NULL: JSON null). */
static char *s_completion(const char *content, const char *finish)
{
    json_t *root = json_pack("{s:s, s:s, s:[{s:i, s:{s:s, s:o}, s:s}], s:{s:i, s:i, s:i}}",
                             "object", "chat.completion", "model", "deepseek-chat", "choices",
                             "index", 0, "message", "role", "assistant", "content",
                             content ? json_string(content) : json_null(), "finish_reason",
                             finish, "usage", "prompt_tokens", 1500, "completion_tokens", 700,
                             "total_tokens", 2200);
    assert_non_null(root);
    char *text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

/* A completion whose content is the answer object with one member changed:
 * value NULL removes key, else value is a JSON text. */
static char *s_completion_with(const char *key, const char *value)
{
    json_t *obj = s_answer_obj();
    if (key && !value) {
        json_object_del(obj, key);
    } else if (key) {
        json_error_t e;
        json_t *v = json_loads(value, JSON_DECODE_ANY, &e);
        assert_non_null(v);
        json_object_set_new(obj, key, v);
    }
    char *content = json_dumps(obj, 0);
    json_decref(obj);
    char *body = s_completion(content, "stop");
    free(content);
    return body;
}

static parsed_t s_parse_with(const char *key, const char *value)
{
    char *body = s_completion_with(key, value);
    parsed_t p = s_parse(200, body);
    free(body);
    return p;
}

/* ---------------------------------------------------------------- recordings */

static json_t *s_recording(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s.exchanges.json", name);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root)
        fail_msg("%s: %s", path, e.text);
    assert_true(json_is_array(root));
    return root;
}

static const char *s_header(const json_t *resp, const char *name)
{
    return json_string_value(json_object_get(json_object_get(resp, "headers"), name));
}

/* Parses exchange i of a recording with its real status, body and headers. */
static parsed_t s_parse_exchange(const json_t *exchanges, size_t i)
{
    const json_t *resp = json_object_get(json_array_get(exchanges, i), "response");
    assert_non_null(resp);
    const char *text = json_string_value(json_object_get(resp, "body_text"));
    char *dumped = NULL;
    if (!text)      /* pydantic-ai kept only the parsed body (DeepSeek): serialise it again */
        text = dumped = json_dumps(json_object_get(resp, "body"), 0);
    assert_non_null(text);
    ax_llm_headers_t h = {
        .retry_after = s_header(resp, "retry-after"),
        .retry_after_ms = s_header(resp, "retry-after-ms"),
        .reset_requests = s_header(resp, "x-ratelimit-reset-requests"),
        .reset_tokens = s_header(resp, "x-ratelimit-reset-tokens"),
        .remaining_requests = s_header(resp, "x-ratelimit-remaining-requests"),
        .remaining_tokens = s_header(resp, "x-ratelimit-remaining-tokens"),
    };
    parsed_t p = s_parse_h((long) json_integer_value(json_object_get(resp, "status")), text, &h);
    free(dumped);
    return p;
}

/* The 200 of a strict json_schema request: its content is a math tutor's object, so for us
 * it lacks every field. Usage is exact, cached tokens 0. */
static void test_recording_json_schema_strict(void **state)
{
    json_t *ex = s_recording("openai_chat_json_schema_strict_2025-10-10");
    parsed_t p = s_parse_exchange(ex, 0);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_contains(p.error, "missing fields: title_translated, one_sentence, summary, tldr, "
                             "motivation, method, result, conclusion, score, score_reason, "
                             "company, tags_top, tags_detail");
    assert_int_equal(p.usage.prompt_tokens, 127);
    assert_int_equal(p.usage.completion_tokens, 93);
    assert_int_equal(p.usage.cached_tokens, 0);
    assert_non_null(p.answer);
    assert_true(strncmp(p.answer, "{\"steps\":[{\"explanation\":\"Subtract 31", 36) == 0);
    s_parsed_clear(&p);
    json_decref(ex);
}

/* A reasoning model spent all 100 completion tokens thinking: empty content, finish_reason
 * "length". Repair, say it was truncated; 1216 of 1219 prompt tokens were cached. */
static void test_recording_finish_length(void **state)
{
    json_t *ex = s_recording("openai_chat_cached_tokens_reasoning_finish_length_2026-07-10");
    parsed_t p = s_parse_exchange(ex, 0);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_contains(p.error, "truncated");
    assert_contains(p.error, "100 completion tokens, 100 of them reasoning");
    assert_string_equal(p.answer, "");
    assert_int_equal(p.usage.prompt_tokens, 1219);
    assert_int_equal(p.usage.completion_tokens, 100);
    assert_int_equal(p.usage.cached_tokens, 1216);
    s_parsed_clear(&p);
    json_decref(ex);
}

/* Plain-text content ("1, 2, 3, ...") is not an object at all. */
static void test_recording_plain_text(void **state)
{
    json_t *ex = s_recording("openai_chat_200_ratelimit_headers_2023-11-07");
    parsed_t p = s_parse_exchange(ex, 0);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_contains(p.error, "not a JSON object");
    assert_true(strncmp(p.answer, "1, 2, 3, 4", 10) == 0);
    assert_int_equal(p.usage.prompt_tokens, 14);
    assert_int_equal(p.usage.completion_tokens, 298);
    assert_int_equal(p.usage.cached_tokens, 0);
    s_parsed_clear(&p);
    json_decref(ex);
}

/* A real 401: the run stops, with OpenAI's message. */
static void test_recording_401(void **state)
{
    json_t *ex = s_recording("openai_chat_401_invalid_api_key_2024-01-30");
    parsed_t p = s_parse_exchange(ex, 0);
    assert_outcome(p, AX_LLM_FATAL);
    assert_contains(p.error, "HTTP 401");
    assert_contains(p.error, "Incorrect API key");
    assert_contains(p.error, "invalid_api_key");
    assert_int_equal(p.usage.prompt_tokens, 0);
    s_parsed_clear(&p);
    json_decref(ex);
}

/*  200, 200, 429 overloaded, 200. The 429 has no Retry-After and its x-ratelimit-remaining-*
 *  show both buckets nearly full (3499 of 3500 requests, 89466 of 90000 tokens): its
 *  reset-tokens "356ms" is about our own bucket refilling, not about when the overloaded
 *  server recovers, so no wait is given (-1) and the caller's backoff decides. The 200s carry
 *  Auto-GPT's own JSON: a repair naming our fields. */
static void test_recording_429_overloaded(void **state)
{
    json_t *ex = s_recording("openai_chat_429_overloaded_then_200_2023-05-26");
    static const int64_t usage[4][2] = {{758, 202}, {1021, 188}, {0, 0}, {36, 8}};
    for (size_t i = 0; i < 4; i++) {
        parsed_t p = s_parse_exchange(ex, i);
        if (i == 2) {
            assert_outcome(p, AX_LLM_RETRY);
            assert_int_equal(p.wait_ms, -1);
            assert_contains(p.error, "HTTP 429");
            assert_contains(p.error, "currently overloaded");
            assert_contains(p.error, "server_error");
        } else {
            assert_outcome(p, AX_LLM_REPAIR);
            if (i < 2)
                assert_contains(p.error, "missing fields: title_translated");
            else
                assert_contains(p.error, "not a JSON object");  /* 'a simple greeting...' */
        }
        assert_int_equal(p.usage.prompt_tokens, usage[i][0]);
        assert_int_equal(p.usage.completion_tokens, usage[i][1]);
        s_parsed_clear(&p);
    }
    /* The same 429 with the tokens bucket empty: now the reset header is the wait. */
    const json_t *resp = json_object_get(json_array_get(ex, 2), "response");
    const char *body = json_string_value(json_object_get(resp, "body_text"));
    ax_llm_headers_t h = {.remaining_requests = "3499", .remaining_tokens = "0",
                          .reset_requests = "17ms", .reset_tokens = "356ms"};
    parsed_t p = s_parse_h(429, body, &h);
    assert_outcome(p, AX_LLM_RETRY);
    assert_int_equal(p.wait_ms, 356);
    s_parsed_clear(&p);
    json_decref(ex);
}

/* DeepSeek: markdown content (repair), usage with prompt_cache_hit_tokens; the same body
 * with a cache hit counts the DeepSeek field as cached. */
static void test_recording_deepseek(void **state)
{
    json_t *ex = s_recording("deepseek_reasoner_200_cache_hit_fields_2025-04-22");
    parsed_t p = s_parse_exchange(ex, 0);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_int_equal(p.usage.prompt_tokens, 12);
    assert_int_equal(p.usage.completion_tokens, 789);
    assert_int_equal(p.usage.cached_tokens, 0);
    s_parsed_clear(&p);

    json_t *body = json_object_get(json_object_get(json_array_get(ex, 0), "response"), "body");
    json_t *u = json_object_get(body, "usage");
    json_object_set_new(u, "prompt_cache_hit_tokens", json_integer(9));
    json_object_del(u, "prompt_tokens_details");
    char *text = json_dumps(body, 0);
    p = s_parse(200, text);
    assert_int_equal(p.usage.cached_tokens, 9);
    s_parsed_clear(&p);
    free(text);
    json_decref(ex);
}

/* ---------------------------------------------------------------- our answer */

static void test_valid_answer(void **state)
{
    json_t *obj = s_answer_obj();
    json_object_set_new(obj, "summary", json_string("  \n该论文提出了SMES。\n "));
    json_object_set_new(obj, "tldr", json_string("稀疏专家\n\n  让多任务推荐可扩展。"));
    json_object_set_new(obj, "extra", json_string("ignored"));
    char *content = json_dumps(obj, 0);
    char *body = s_completion(content, "stop");
    parsed_t p = s_parse(200, body);
    assert_outcome(p, AX_LLM_OK);
    assert_string_equal(p.llm.title_translated, "SMES：通过专家稀疏化实现可扩展的多任务推荐");
    assert_string_equal(p.llm.summary, "该论文提出了SMES。");         /* trimmed */
    assert_string_equal(p.llm.tldr, "稀疏专家 让多任务推荐可扩展。");  /* folded */
    assert_string_equal(p.llm.company, "快手");
    assert_int_equal(p.llm.score, 5);
    assert_int_equal(p.llm.n_tags_top, 2);
    assert_string_equal(p.llm.tags_top[1], "systems");
    assert_int_equal(p.llm.n_tags_detail, 3);
    assert_string_equal(p.llm.tags_detail[2], "recommender system");
    assert_string_equal(p.llm.model, "deepseek-chat");
    assert_string_equal(p.llm.prompt_version, AX_PROMPT_VERSION);
    assert_int_equal(p.usage.prompt_tokens, 1500);
    assert_int_equal(p.usage.completion_tokens, 700);
    s_parsed_clear(&p);

    /* Callers that want nothing but the outcome may pass NULLs. */
    ax_llm_t l = {0};
    assert_int_equal(ax_llm_parse_response(200, body, strlen(body), NULL, &l, NULL, NULL, NULL, NULL),
                     AX_LLM_OK);
    ax_llm_clear(&l);
    free(body);
    free(content);
    json_decref(obj);
}

/* Fences, blank lines (DeepSeek's keep-alives), chatter around the object, <think>. */
static void test_tolerated_wrappers(void **state)
{
    json_t *obj = s_answer_obj();
    char *json = json_dumps(obj, JSON_INDENT(2));
    json_decref(obj);
    const char *fmts[] = {
        "```json\n%s\n```", "```\n%s\n```\n", "\n\n  %s", "Here is the JSON:\n%s\nHope it helps.",
        "<think>The user wants {fields}. Let me write them.</think>\n\n```json\n%s\n```",
    };
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        char *content, *body;
        assert_true(asprintf(&content, fmts[i], json) > 0);
        body = s_completion(content, "stop");
        parsed_t p = s_parse(200, body);
        assert_outcome(p, AX_LLM_OK);
        assert_int_equal(p.llm.score, 5);
        s_parsed_clear(&p);
        /* the whole body preceded by keep-alive blank lines */
        char *padded;
        assert_true(asprintf(&padded, "\n\n\n\n%s", body) > 0);
        p = s_parse(200, padded);
        assert_outcome(p, AX_LLM_OK);
        s_parsed_clear(&p);
        free(padded);
        free(body);
        free(content);
    }
    free(json);
}

static void test_score(void **state)
{
    static const char *bad[] = {"0", "6", "-1", "\"high\"", "\"4\"", "4.5", "null", "true", "[4]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        parsed_t p = s_parse_with("score", bad[i]);
        assert_outcome(p, AX_LLM_REPAIR);
        assert_contains(p.error, "score must be an integer from 1 to 5, got ");
        assert_contains(p.error, bad[i]);
        assert_non_null(p.answer);
        assert_contains(p.answer, "\"score\"");
        s_parsed_clear(&p);
    }
    static const struct {
        const char *json;
        int score;
    } good[] = {{"1", 1}, {"5", 5}, {"4.0", 4}, {"3", 3}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        parsed_t p = s_parse_with("score", good[i].json);
        assert_outcome(p, AX_LLM_OK);
        assert_int_equal(p.llm.score, good[i].score);
        s_parsed_clear(&p);
    }
}

static void test_fields(void **state)
{
    parsed_t p = s_parse_with("summary", NULL);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_string_equal(p.error, "missing fields: summary");
    s_parsed_clear(&p);

    /* every problem in one message: missing first, then the wrong ones */
    json_t *obj = s_answer_obj();
    json_object_del(obj, "tldr");
    json_object_del(obj, "tags_detail");
    json_object_set_new(obj, "method", json_string(" \n "));
    json_object_set_new(obj, "result", json_integer(3));
    json_object_set_new(obj, "score", json_string("high"));
    json_object_set_new(obj, "tags_top", json_string("systems, ml"));
    char *content = json_dumps(obj, 0), *body = s_completion(content, "stop");
    p = s_parse(200, body);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_string_equal(p.error, "missing fields: tldr, tags_detail; method must not be empty; "
                                 "result must be a string, got 3; score must be an integer from "
                                 "1 to 5, got \"high\"; tags_top must be an array of strings");
    assert_string_equal(p.answer, content);
    s_parsed_clear(&p);
    free(body);
    free(content);
    json_decref(obj);

    /* company and score_reason may be empty; "未知" is a company like any other */
    p = s_parse_with("company", "\"\"");
    assert_outcome(p, AX_LLM_OK);
    assert_string_equal(p.llm.company, "");
    s_parsed_clear(&p);
    p = s_parse_with("company", "\"未知\"");
    assert_outcome(p, AX_LLM_OK);
    assert_string_equal(p.llm.company, "未知");
    s_parsed_clear(&p);
    p = s_parse_with("score_reason", "\"\"");
    assert_outcome(p, AX_LLM_OK);
    s_parsed_clear(&p);
    p = s_parse_with("title_translated", "null");
    assert_outcome(p, AX_LLM_REPAIR);
    assert_string_equal(p.error, "title_translated must be a string, got null");
    s_parsed_clear(&p);
}

/* Empty tag arrays are allowed (tags are decoration); blank tags are dropped. */
static void test_tags(void **state)
{
    parsed_t p = s_parse_with("tags_top", "[]");
    assert_outcome(p, AX_LLM_OK);
    assert_int_equal(p.llm.n_tags_top, 0);
    assert_null(p.llm.tags_top);
    s_parsed_clear(&p);
    p = s_parse_with("tags_detail", "[\"\", \"  dense supervision \", \" \"]");
    assert_outcome(p, AX_LLM_OK);
    assert_int_equal(p.llm.n_tags_detail, 1);
    assert_string_equal(p.llm.tags_detail[0], "dense supervision");
    s_parsed_clear(&p);
    p = s_parse_with("tags_detail", "[\"a\", 1]");
    assert_outcome(p, AX_LLM_REPAIR);
    assert_string_equal(p.error, "tags_detail must be an array of strings, item 1 is 1");
    s_parsed_clear(&p);
}

/* Bounds of a field: a string of AX_LLM_FIELD_MAX_BYTES is kept, one byte more is refused;
 * so are more than AX_LLM_MAX_TAGS tags and a tag over AX_LLM_TAG_MAX_BYTES. A cache value
 * follows the same rules (an old over-long one is a miss). */
static void test_field_bounds(void **state)
{
    char *at_max = malloc(AX_LLM_FIELD_MAX_BYTES + 3), *over = malloc(AX_LLM_FIELD_MAX_BYTES + 4);
    assert_non_null(at_max);
    assert_non_null(over);
    at_max[0] = over[0] = '"';
    memset(at_max + 1, 'a', AX_LLM_FIELD_MAX_BYTES);
    memset(over + 1, 'a', AX_LLM_FIELD_MAX_BYTES + 1);
    strcpy(at_max + 1 + AX_LLM_FIELD_MAX_BYTES, "\"");
    strcpy(over + 2 + AX_LLM_FIELD_MAX_BYTES, "\"");
    parsed_t p = s_parse_with("summary", at_max);
    assert_outcome(p, AX_LLM_OK);
    assert_int_equal(strlen(p.llm.summary), AX_LLM_FIELD_MAX_BYTES);
    s_parsed_clear(&p);
    p = s_parse_with("summary", over);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_string_equal(p.error, "summary is 16385 bytes long, at most 16384 are allowed");
    s_parsed_clear(&p);
    p = s_parse_with("company", over);
    assert_outcome(p, AX_LLM_REPAIR);
    s_parsed_clear(&p);

    char tags[4096] = "[";
    for (int i = 0; i <= AX_LLM_MAX_TAGS; i++)
        strcat(tags, i ? ", \"t\"" : "\"t\"");
    strcat(tags, "]");
    p = s_parse_with("tags_top", tags);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_string_equal(p.error, "tags_top has 33 items, at most 32 are allowed");
    s_parsed_clear(&p);
    char long_tag[AX_LLM_TAG_MAX_BYTES + 8];
    long_tag[0] = '[', long_tag[1] = '"';
    memset(long_tag + 2, 'x', AX_LLM_TAG_MAX_BYTES + 1);
    strcpy(long_tag + 3 + AX_LLM_TAG_MAX_BYTES, "\"]");
    p = s_parse_with("tags_detail", long_tag);
    assert_outcome(p, AX_LLM_REPAIR);
    assert_string_equal(p.error, "tags_detail item 0 is 257 bytes long, at most 256 are allowed");
    s_parsed_clear(&p);

    /* the cache value codec refuses it too */
    json_t *obj = s_answer_obj();
    json_object_set_new(obj, "method", json_stringn(over + 1, AX_LLM_FIELD_MAX_BYTES + 1));
    char *json = json_dumps(obj, 0), *err = NULL;
    ax_llm_t l = {0};
    assert_int_equal(ax_llm_from_json(json, strlen(json), &l, &err), -1);
    assert_non_null(strstr(err, "method is 16385 bytes long"));
    free(err);
    free(json);
    json_decref(obj);
    free(at_max);
    free(over);
    (void) state;
}

static void test_bad_content(void **state)
{
    static const struct {
        const char *content;    /* NULL: JSON null */
        const char *finish;
        ax_llm_outcome_t outcome;
        const char *error;
    } cases[] = {
        {"", "stop", AX_LLM_REPAIR, "the answer is empty"},
        {"\n\n  \n", "stop", AX_LLM_REPAIR, "the answer is empty"},
        {NULL, "stop", AX_LLM_REPAIR, "the answer is empty"},
        {"{\"title_translated\": \"x\",", "stop", AX_LLM_REPAIR, "the answer is not valid JSON: "},
        {"Sure! Here it is: {\"title_translated\": \"x\"", "stop", AX_LLM_REPAIR, "not valid JSON"},
        {"I cannot summarise this paper.", "stop", AX_LLM_REPAIR, "the answer is not a JSON object"},
        {"{\"title_translated\": \"x\",}", "stop", AX_LLM_REPAIR, "the answer is not valid JSON: "},
        {"[1, 2]", "stop", AX_LLM_REPAIR, "not a JSON object"},
        {"{\"title_translated\": \"SMES：通过", "length", AX_LLM_REPAIR, "truncated at the token limit"},
        {"", "content_filter", AX_LLM_FAIL_PAPER, "content filter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *body = s_completion(cases[i].content, cases[i].finish);
        parsed_t p = s_parse(200, body);
        assert_outcome(p, cases[i].outcome);
        assert_contains(p.error, cases[i].error);
        if (p.outcome == AX_LLM_REPAIR)
            assert_string_equal(p.answer, cases[i].content ? cases[i].content : "");
        s_parsed_clear(&p);
        free(body);
    }
    /* a refusal fails the paper with the model's words */
    const char *refusal = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                          "\"refusal\":\"I can't help with that.\"},\"finish_reason\":\"stop\"}]}";
    parsed_t p = s_parse(200, refusal);
    assert_outcome(p, AX_LLM_FAIL_PAPER);
    assert_string_equal(p.error, "the model refused: I can't help with that.");
    s_parsed_clear(&p);
}

/* ---------------------------------------------------------------- error statuses */

static void test_statuses(void **state)
{
    static const struct {
        long status;
        const char *body;
        ax_llm_outcome_t outcome;
        const char *error;      /* substring of the error */
    } cases[] = {
        {500, "{\"error\":{\"message\":\"The server had an error while processing your request.\","
              "\"type\":\"server_error\",\"param\":null,\"code\":null}}",
         AX_LLM_RETRY, "HTTP 500: The server had an error while processing your request. (server_error)"},
        {502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n</body></html>",
         AX_LLM_RETRY, "HTTP 502: <html> <head><title>502 Bad Gateway</title>"},
        {503, "", AX_LLM_RETRY, "HTTP 503: no message"},
        {504, NULL, AX_LLM_RETRY, "HTTP 504"},
        {408, "{\"error\":{\"message\":\"Request timed out.\"}}", AX_LLM_RETRY,
         "HTTP 408: Request timed out."},
        {409, "{\"error\":{\"message\":\"conflict\"}}", AX_LLM_RETRY, "HTTP 409"},
        {0, NULL, AX_LLM_RETRY, "no HTTP response"},
        {400, "{\"error\":{\"message\":\"This model's maximum context length is 65536 tokens.\","
              "\"type\":\"invalid_request_error\",\"param\":\"messages\","
              "\"code\":\"context_length_exceeded\"}}",
         AX_LLM_FAIL_PAPER, "HTTP 400: This model's maximum context length is 65536 tokens. "
                            "(invalid_request_error, context_length_exceeded)"},
        {422, "{\"detail\":[{\"loc\":[\"body\",\"messages\"],\"msg\":\"field required\"}]}",
         AX_LLM_FAIL_PAPER, "field required"},
        {400, "{\"object\":\"error\",\"message\":\"max_tokens must be at least 1, got -1.\","
              "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}",
         AX_LLM_FAIL_PAPER, "HTTP 400: max_tokens must be at least 1, got -1. (BadRequestError, 400)"},
        {404, "{\"object\":\"error\",\"message\":\"The model `qwen-x` does not exist.\","
              "\"type\":\"NotFoundError\",\"param\":null,\"code\":404}",
         AX_LLM_FATAL, "The model `qwen-x` does not exist."},
        {404, "{\"error\":{\"message\":\"The model `gpt-5-nope` does not exist or you do not have "
              "access to it.\",\"type\":\"invalid_request_error\",\"param\":null,"
              "\"code\":\"model_not_found\"}}",
         AX_LLM_FATAL, "check llm.model"},
        {403, "{\"error\":{\"message\":\"Country, region, or territory not supported\","
              "\"type\":\"request_forbidden\",\"param\":null,"
              "\"code\":\"unsupported_country_region_territory\"}}",
         AX_LLM_FATAL, "HTTP 403: Country, region, or territory not supported"},
        {402, "{\"error\":{\"message\":\"Insufficient Balance\",\"type\":\"unknown_error\",\"param\":null,"
              "\"code\":\"invalid_request_error\"}}",
         AX_LLM_FATAL, "Insufficient Balance"},
        {429, "{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and "
              "billing details.\",\"type\":\"insufficient_quota\",\"param\":null,"
              "\"code\":\"insufficient_quota\"}}",
         AX_LLM_FATAL, "You exceeded your current quota"},
        {429, "{\"error\":{\"message\":\"Your credit balance is too low.\",\"type\":\"insufficient_quota\","
              "\"code\":\"credit_balance_exhausted\"}}",
         AX_LLM_FATAL, "(insufficient_quota, credit_balance_exhausted)"},
        {400, "{\"error\":{\"message\":\"no credits\",\"code\":\"credit_balance_exhausted\"}}",
         AX_LLM_FATAL, "no credits"},
        {301, "<html>Moved Permanently</html>", AX_LLM_FATAL, "check llm.base_url"},
        {200, "{\"error\":{\"code\":429,\"message\":\"Rate limit exceeded: free-models-per-min.\"}}",
         AX_LLM_RETRY, "Rate limit exceeded"},
        {200, "{\"error\":{\"code\":401,\"message\":\"No auth credentials found\"}}",
         AX_LLM_FATAL, "No auth credentials found"},
        {200, "", AX_LLM_RETRY, "HTTP 200: empty response body"},
        {200, "\n\n\n", AX_LLM_RETRY, "HTTP 200: empty response body"},
        {200, "<html><body>Service temporarily unavailable</body></html>", AX_LLM_RETRY,
         "not a JSON object: <html><body>Service temporarily unavailable"},
        {200, "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"mess", AX_LLM_RETRY, "not a JSON object"},
        {200, "[]", AX_LLM_RETRY, "not a JSON object"},
        {200, "{\"choices\":[]}", AX_LLM_RETRY, "no choice with a message"},
        {200, "{\"choices\":[{\"index\":0}]}", AX_LLM_RETRY, "no choice with a message"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        parsed_t p = s_parse(cases[i].status, cases[i].body);
        if (p.outcome != cases[i].outcome)
            fail_msg("case %zu (HTTP %ld): %s, expected %s: %s", i, cases[i].status,
                     ax_llm_outcome_name(p.outcome), ax_llm_outcome_name(cases[i].outcome), p.error);
        assert_contains(p.error, cases[i].error);
        if (p.outcome == AX_LLM_RETRY)
            assert_int_equal(p.wait_ms, -1);
        s_parsed_clear(&p);
    }
}

/* A long HTML error page is cut, on a UTF-8 boundary. */
static void test_long_error_body(void **state)
{
    size_t n = 20000;
    char *body = malloc(n + 1);
    for (size_t i = 0; i < n; i += 3)
        memcpy(body + i, "错", 3);      /* 3-byte characters, 20000 = 3 * 6666 + 2 */
    body[n - 2] = 'x', body[n - 1] = 'y';
    body[n] = '\0';
    parsed_t p = s_parse(500, body);
    assert_outcome(p, AX_LLM_RETRY);
    assert_true(strlen(p.error) < 700);
    assert_contains(p.error, "...");
    /* valid UTF-8: jansson accepts it as a string */
    json_t *s = json_string(p.error);
    assert_non_null(s);
    json_decref(s);
    s_parsed_clear(&p);
    free(body);
}

/* Wait times for retries, in the documented order of precedence. */
static void test_retry_after(void **state)
{
    const char *rate = "{\"error\":{\"message\":\"Rate limit reached for gpt-4o-mini in organization "
                       "org-x on tokens per min (TPM): Limit 200000, Used 195869, Requested 4412. "
                       "Please try again in 84ms. Visit https://platform.openai.com/account/rate-limits "
                       "to learn more.\",\"type\":\"tokens\",\"param\":null,"
                       "\"code\":\"rate_limit_exceeded\"}}";
    parsed_t p = s_parse(429, rate);
    assert_outcome(p, AX_LLM_RETRY);
    assert_int_equal(p.wait_ms, 84);
    s_parsed_clear(&p);

    ax_llm_headers_t h = {.retry_after_ms = "1500", .retry_after = "20", .reset_tokens = "6m0s",
                          .remaining_tokens = "0"};
    p = s_parse_h(429, rate, &h);
    assert_int_equal(p.wait_ms, 1500);          /* retry-after-ms first */
    s_parsed_clear(&p);
    h.retry_after_ms = NULL;
    p = s_parse_h(429, rate, &h);
    assert_int_equal(p.wait_ms, 20000);         /* then Retry-After */
    s_parsed_clear(&p);
    h.retry_after = NULL;
    p = s_parse_h(429, rate, &h);
    assert_int_equal(p.wait_ms, 84);            /* then the message */
    s_parsed_clear(&p);
    p = s_parse_h(429, "{\"error\":{\"message\":\"Too many requests\"}}", &h);
    assert_int_equal(p.wait_ms, 360000);        /* then the reset of the empty bucket */
    s_parsed_clear(&p);
    h = (ax_llm_headers_t){.retry_after = "7"};
    p = s_parse_h(503, "Service Unavailable", &h);
    assert_outcome(p, AX_LLM_RETRY);
    assert_int_equal(p.wait_ms, 7000);
    s_parsed_clear(&p);
    p = s_parse_h(400, "{\"error\":{\"message\":\"bad\"}}", &h);
    assert_int_equal(p.wait_ms, -1);            /* only retries get a wait */
    s_parsed_clear(&p);

    /* the function alone, with a fixed clock for the HTTP-date */
    int64_t now = 1445412460000;                /* Wed, 21 Oct 2015 07:27:40 GMT */
    h = (ax_llm_headers_t){.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"};
    assert_int_equal(ax_llm_retry_after_ms(&h, NULL, now), 20000);
    assert_int_equal(ax_llm_retry_after_ms(&h, NULL, now + 60000), 0);    /* in the past */
    h = (ax_llm_headers_t){.retry_after = "soon", .retry_after_ms = "abc"};
    assert_int_equal(ax_llm_retry_after_ms(&h, NULL, now), -1);
    assert_int_equal(ax_llm_retry_after_ms(NULL, NULL, now), -1);
    h = (ax_llm_headers_t){.reset_requests = "1s", .reset_tokens = "2.335s"};   /* no remaining */
    assert_int_equal(ax_llm_retry_after_ms(&h, NULL, now), 2335);
    h.remaining_tokens = "86497";
    assert_int_equal(ax_llm_retry_after_ms(&h, NULL, now), 1000);
    h.remaining_requests = "12";
    assert_int_equal(ax_llm_retry_after_ms(&h, NULL, now), -1);

    static const struct {
        const char *text;
        int64_t ms;
    } texts[] = {
        {"Please try again in 1.2s.", 1200},
        {"Rate limit reached. Please try again in 6m0s. Visit ...", 360000},
        {"Please retry after 20 seconds.", 20000},
        {"Try again in 2 minutes", 120000},
        {"please retry in 500 milliseconds", 500},
        {"Try again in 30 sec", 30000},
        {"try again in 5", 5000},
        {"try again in a moment", -1},
        {"try again later", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        if (ax_llm_retry_after_ms(NULL, texts[i].text, now) != texts[i].ms)
            fail_msg("\"%s\": %lld, expected %lld", texts[i].text,
                     (long long) ax_llm_retry_after_ms(NULL, texts[i].text, now), (long long) texts[i].ms);
}

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"6m0s", 360000}, {"180ms", 180}, {"1.5s", 1500}, {"0s", 0}, {"2h1m", 7260000},
        {"20", 20000}, {"1.5", 1500}, {"0", 0}, {"356ms", 356}, {"2.335s", 2335}, {"17ms", 17},
        {"1.1s", 1100}, {"0.5ms", 1}, {"1500us", 2}, {"1500\xC2\xB5s", 2}, {"999999ns", 1},
        {"1000000ns", 1}, {"1h30m15.5s", 5415500}, {" 7s\r\n", 7000}, {"5.", 5000}, {".5s", 500},
        {"2400h", 8640000000}, {"2401h", -1}, {"1.0000000001s", 1001}, {"0.0000000001s", 1},
        {"", -1}, {"  ", -1}, {"s", -1}, {".", -1},
        {"-1s", -1}, {"1 s", -1}, {"5x", -1}, {"5m3", -1}, {"1h 30m", -1}, {"abc", -1},
        {"99999999999999999999s", -1}, {"1e3", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (ax_llm_duration_ms(cases[i].text) != cases[i].ms)
            fail_msg("\"%s\": %lld, expected %lld", cases[i].text,
                     (long long) ax_llm_duration_ms(cases[i].text), (long long) cases[i].ms);
    assert_int_equal(ax_llm_duration_ms(NULL), -1);
}

/* ---------------------------------------------------------------- cache value */

static void s_assert_llm_equal(const ax_llm_t *a, const ax_llm_t *b)
{
    assert_string_equal(a->title_translated, b->title_translated);
    assert_string_equal(a->one_sentence, b->one_sentence);
    assert_string_equal(a->summary, b->summary);
    assert_string_equal(a->tldr, b->tldr);
    assert_string_equal(a->motivation, b->motivation);
    assert_string_equal(a->method, b->method);
    assert_string_equal(a->result, b->result);
    assert_string_equal(a->conclusion, b->conclusion);
    assert_int_equal(a->score, b->score);
    assert_string_equal(a->score_reason, b->score_reason);
    assert_string_equal(a->company, b->company);
    assert_int_equal(a->n_tags_top, b->n_tags_top);
    for (size_t i = 0; i < a->n_tags_top; i++)
        assert_string_equal(a->tags_top[i], b->tags_top[i]);
    assert_int_equal(a->n_tags_detail, b->n_tags_detail);
    for (size_t i = 0; i < a->n_tags_detail; i++)
        assert_string_equal(a->tags_detail[i], b->tags_detail[i]);
    if (a->model || b->model)
        assert_string_equal(a->model, b->model);
    if (a->prompt_version || b->prompt_version)
        assert_string_equal(a->prompt_version, b->prompt_version);
}

static void test_cache_value(void **state)
{
    char *body = s_completion_with("summary", "\"含 LaTeX $\\\\alpha$、\\\"引号\\\" 与换行\\n的摘要\"");
    parsed_t p = s_parse(200, body);
    free(body);
    assert_outcome(p, AX_LLM_OK);
    assert_string_equal(p.llm.summary, "含 LaTeX $\\alpha$、\"引号\" 与换行 的摘要");   /* folded */

    char *json = ax_llm_to_json(&p.llm);
    assert_non_null(json);
    assert_null(strchr(json, '\n'));                /* compact */
    assert_true(strncmp(json, "{\"title_translated\":", 20) == 0);
    assert_contains(json, "\"conclusion\":\"SMES 在保证稀疏性的同时保留任务特定能力。\","
                          "\"score\":5,\"score_reason\"");
    assert_contains(json, "\"model\":\"deepseek-chat\",\"prompt_version\":\"v1\"}");
    ax_llm_t back = {0};
    char *error = NULL;
    assert_int_equal(ax_llm_from_json(json, strlen(json), &back, &error), 0);
    assert_null(error);
    s_assert_llm_equal(&p.llm, &back);
    char *again = ax_llm_to_json(&back);
    assert_string_equal(json, again);               /* stable */
    free(again);
    ax_llm_clear(&back);
    free(json);

    /* empty tags, empty company, no model: round trip too */
    ax_strv_free(&p.llm.tags_top, p.llm.n_tags_top);
    p.llm.n_tags_top = 0;
    free(p.llm.company);
    p.llm.company = strdup("");
    free(p.llm.model);
    p.llm.model = NULL;
    json = ax_llm_to_json(&p.llm);
    assert_contains(json, "\"tags_top\":[]");
    assert_null(strstr(json, "\"model\""));
    assert_int_equal(ax_llm_from_json(json, strlen(json), &back, NULL), 0);
    s_assert_llm_equal(&p.llm, &back);
    assert_null(back.model);
    ax_llm_clear(&back);
    free(json);

    /* an incomplete answer is never written */
    p.llm.score = 0;
    assert_null(ax_llm_to_json(&p.llm));
    p.llm.score = 3;
    free(p.llm.tldr);
    p.llm.tldr = NULL;
    assert_null(ax_llm_to_json(&p.llm));
    p.llm.tldr = strdup(" ");
    assert_null(ax_llm_to_json(&p.llm));
    assert_null(ax_llm_to_json(NULL));
    s_parsed_clear(&p);

    /* and a bad value is refused with a reason */
    static const char *bad[] = {"", "garbage", "{\"title_translated\":1}", "{\"a\":", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(ax_llm_from_json(bad[i], strlen(bad[i]), &back, &error), -1);
        assert_non_null(error);
        free(error);
        error = NULL;
        assert_null(back.summary);
    }
    assert_int_equal(ax_llm_from_json(NULL, 0, &back, &error), -1);
    free(error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recording_json_schema_strict),
        cmocka_unit_test(test_recording_finish_length),
        cmocka_unit_test(test_recording_plain_text),
        cmocka_unit_test(test_recording_401),
        cmocka_unit_test(test_recording_429_overloaded),
        cmocka_unit_test(test_recording_deepseek),
        cmocka_unit_test(test_valid_answer),
        cmocka_unit_test(test_tolerated_wrappers),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_field_bounds),
        cmocka_unit_test(test_bad_content),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_long_error_body),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_cache_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
