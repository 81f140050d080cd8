/*  test_codec.c: msgpack bodies round-trip exactly, and garbage is rejected with an error
 *  (never a crash): truncated buffers at every length, random bytes, wrong types, a newer
 *  schema version, trailing bytes. The AXP/1 framing and the command table: test_proto.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static char *s_authors[] = {"Yukun Zhang", "Si Dong", "Xu Wang"};
static char *s_affs[] = {"Kuaishou", "", "Tsinghua University; 快手"};
static char *s_cats[] = {"cs.IR", "cs.LG"};

static ax_paper_t s_paper(void)
{
    ax_paper_t p = {.id = "2602.09386", .version = 3,
                    .title = "SMES: Towards Scalable Multi-Task Recommendation via $\\alpha$-Sparsity 快手",
                    .authors = s_authors, .n_authors = 3, .affiliations = s_affs, .abstract = "Industrial recommender systems ...",
                    .categories = s_cats, .n_categories = 2, .submitted = 1770724560, .updated = 1770900000,
                    .comments = "10 pages", .journal_ref = NULL, .doi = "10.1145/xyz"};
    return p;
}

static char *s_aliases[] = {"recommender"};
static char *s_excl[] = {"survey"};

static ax_profile_t s_profile(void)
{
    static ax_keyword_t kw[] = {{.term = "recommendation", .aliases = s_aliases, .n_aliases = 1},
                                {.term = "kuaishou", .company = "快手"}};
    ax_profile_t p = {.name = "recsys", .title = "ArXiv cs.IR 每日论文摘要", .language = "zh",
                      .interest = "推荐系统", .categories = s_cats, .n_categories = 1, .keywords = kw,
                      .n_keywords = 2, .exclude = s_excl, .n_exclude = 1, .min_hits = 1, .top_n = 20};
    return p;
}

static void s_assert_paper_eq(const ax_paper_t *a, const ax_paper_t *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->title, b->title);
    assert_int_equal(a->n_authors, b->n_authors);
    for (size_t i = 0; i < a->n_authors; i++)
        assert_string_equal(a->authors[i], b->authors[i]);
    if (!a->affiliations)
        assert_null(b->affiliations);
    else {
        assert_non_null(b->affiliations);
        for (size_t i = 0; i < a->n_authors; i++)
            assert_string_equal(a->affiliations[i], b->affiliations[i]);
    }
    assert_string_equal(a->abstract, b->abstract);
    assert_int_equal(a->n_categories, b->n_categories);
    assert_string_equal(a->categories[0], b->categories[0]);
    assert_int_equal(a->submitted, b->submitted);
    assert_int_equal(a->updated, b->updated);
    assert_string_equal(a->comments, b->comments);
    assert_null(b->journal_ref);
    assert_string_equal(a->doi, b->doi);
}

static void s_make_job(msgpack_sbuffer *body, const ax_paper_t *papers, size_t n)
{
    ax_profile_t prof = s_profile();
    msgpack_sbuffer profs, paps;
    msgpack_sbuffer_init(&profs);
    msgpack_sbuffer_init(&paps);
    ax_pack_profiles(&profs, &prof, 1);
    ax_pack_papers(&paps, papers, n);
    msgpack_sbuffer_init(body);
    ax_job_encode(body, "20261124-010203-abcd", 42, 2, 60000, 0xfedcba9876543210ULL, &profs, &paps);
    msgpack_sbuffer_destroy(&profs);
    msgpack_sbuffer_destroy(&paps);
}

static void test_job_round_trip(void **state)
{
    (void) state;
    ax_paper_t papers[2] = {s_paper(), s_paper()};
    papers[1].id = "hep-th/9901001";
    papers[1].version = 1;
    papers[1].affiliations = NULL;              /* none known travels as nil */
    msgpack_sbuffer body;
    s_make_job(&body, papers, 2);
    ax_job_t job;
    char *err = NULL;
    assert_int_equal(ax_job_decode(body.data, body.size, &job, &err), 0);
    assert_null(err);
    assert_string_equal(job.run, "20261124-010203-abcd");
    assert_int_equal(job.job, 42);
    assert_int_equal(job.attempt, 2);
    assert_int_equal(job.lease_ms, 60000);
    assert_true(job.lease == 0xfedcba9876543210ULL);
    assert_int_equal(job.n_papers, 2);
    s_assert_paper_eq(&papers[0], &job.papers[0]);
    s_assert_paper_eq(&papers[1], &job.papers[1]);
    assert_string_equal(job.papers[1].id, "hep-th/9901001");
    assert_int_equal(job.n_profiles, 1);
    ax_profile_t *p = &job.profiles[0];
    assert_string_equal(p->name, "recsys");
    assert_string_equal(p->title, "ArXiv cs.IR 每日论文摘要");
    assert_int_equal(p->n_keywords, 2);
    assert_string_equal(p->keywords[0].aliases[0], "recommender");
    assert_null(p->keywords[0].company);
    assert_string_equal(p->keywords[1].company, "快手");
    assert_string_equal(p->exclude[0], "survey");
    assert_int_equal(p->min_hits, 1);
    assert_int_equal(p->top_n, 20);
    ax_job_clear(&job);
    msgpack_sbuffer_destroy(&body);
}

static void s_make_result(msgpack_sbuffer *body)
{
    static char *profiles[] = {"recsys", "agents"};
    static char *hits[] = {"kuaishou", "recommendation"};
    ax_verdict_t v[4] = {
        {.state = AX_STATE_MATCHED, .hits = hits, .n_hits = 2, .company = "快手"},
        {.state = AX_STATE_BELOW_THRESHOLD, .reason = "hits 0 < min_hits 1"},
        {.state = AX_STATE_EXCLUDED, .reason = "exclude: survey", .hits = hits, .n_hits = 1},
        {.state = AX_STATE_ENRICHED, .llm = {.score = 4, .summary = "摘要", .title_translated = "标题"}},
    };
    ax_item_t items[2] = {{.paper = s_paper(), .verdicts = &v[0]}, {.paper = s_paper(), .verdicts = &v[2]}};
    items[1].paper.id = "2602.00001";
    ax_result_t r = {.run = "R1", .job = 7, .attempt = 1, .worker = "w1", .profiles = profiles,
                     .n_profiles = 2, .items = items, .n_items = 2};
    msgpack_sbuffer_init(body);
    ax_result_encode(body, &r);
}

static void test_result_round_trip(void **state)
{
    (void) state;
    msgpack_sbuffer body;
    s_make_result(&body);
    ax_result_t r;
    char *err = NULL;
    assert_int_equal(ax_result_decode(body.data, body.size, &r, &err), 0);
    assert_int_equal(r.n_items, 2);
    assert_int_equal(r.n_profiles, 2);
    ax_verdict_t *v = r.items[0].verdicts;
    assert_int_equal(v[0].state, AX_STATE_MATCHED);
    assert_string_equal(v[0].profile, "recsys");
    assert_int_equal(v[0].n_hits, 2);
    assert_string_equal(v[0].hits[1], "recommendation");
    assert_string_equal(v[0].company, "快手");
    assert_int_equal(v[1].state, AX_STATE_BELOW_THRESHOLD);
    assert_string_equal(v[1].reason, "hits 0 < min_hits 1");
    assert_string_equal(v[1].profile, "agents");
    /* Item 0 has a kept verdict: the full paper travels. */
    s_paper();
    assert_non_null(r.items[0].paper.title);
    /* Item 1 too (enriched for profile 2), with its LLM fields. */
    v = r.items[1].verdicts;
    assert_int_equal(v[0].state, AX_STATE_EXCLUDED);
    assert_int_equal(v[1].state, AX_STATE_ENRICHED);
    assert_int_equal(v[1].llm.score, 4);
    assert_string_equal(v[1].llm.title_translated, "标题");
    ax_result_clear(&r);
    msgpack_sbuffer_destroy(&body);
}

static void test_minimal_paper_when_nothing_kept(void **state)
{
    (void) state;
    static char *profiles[] = {"recsys"};
    ax_verdict_t v = {.state = AX_STATE_BELOW_THRESHOLD, .reason = "hits 0 < min_hits 1"};
    ax_item_t item = {.paper = s_paper(), .verdicts = &v};
    ax_result_t r = {.run = "R", .job = 1, .profiles = profiles, .n_profiles = 1, .items = &item, .n_items = 1};
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    ax_result_encode(&body, &r);
    ax_result_t back;
    char *err = NULL;
    assert_int_equal(ax_result_decode(body.data, body.size, &back, &err), 0);
    assert_string_equal(back.items[0].paper.id, "2602.09386");
    assert_int_equal(back.items[0].paper.submitted, 1770724560);
    assert_null(back.items[0].paper.title);     /* not sent: nobody keeps it */
    ax_result_clear(&back);
    msgpack_sbuffer_destroy(&body);
}

static void test_entry_and_runspec_round_trip(void **state)
{
    (void) state;
    ax_paper_t p = s_paper();
    static char *hits[] = {"recommendation"};
    ax_verdict_t v = {.profile = "recsys", .state = AX_STATE_MATCHED, .hits = hits, .n_hits = 1};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_entry_encode(&sb, &p, &v);
    ax_entry_t e;
    char *err = NULL;
    assert_int_equal(ax_entry_decode(sb.data, sb.size, &e, &err), 0);
    s_assert_paper_eq(&p, &e.paper);
    assert_string_equal(e.verdict.profile, "recsys");
    assert_string_equal(e.verdict.hits[0], "recommendation");
    ax_entry_clear(&e);
    msgpack_sbuffer_destroy(&sb);

    ax_profile_t prof = s_profile();
    ax_runspec_t spec = {.source = "snapshot:/data/x.jsonl", .categories = s_cats, .n_categories = 2,
                         .from = "2026-06-01", .to = NULL, .job_size = 64, .group_by = "month",
                         .profiles = &prof, .n_profiles = 1};
    msgpack_sbuffer_init(&sb);
    ax_runspec_encode(&sb, &spec);
    ax_runspec_t back;
    assert_int_equal(ax_runspec_decode(sb.data, sb.size, &back, &err), 0);
    assert_string_equal(back.source, "snapshot:/data/x.jsonl");
    assert_int_equal(back.n_categories, 2);
    assert_string_equal(back.from, "2026-06-01");
    assert_null(back.to);
    assert_int_equal(back.job_size, 64);
    assert_string_equal(back.group_by, "month");
    assert_string_equal(back.profiles[0].keywords[1].term, "kuaishou");
    assert_null(back.request);                  /* optional: absent stays absent */
    assert_int_equal(back.deadline_ms, 0);
    ax_runspec_clear(&back);
    msgpack_sbuffer_destroy(&sb);

    /* A SUBMIT's request id and deadline (docs/protocol.md section 6). */
    spec.request = "0123456789abcdef";
    spec.deadline_ms = 1780000000123ULL;
    msgpack_sbuffer_init(&sb);
    ax_runspec_encode(&sb, &spec);
    assert_int_equal(ax_runspec_decode(sb.data, sb.size, &back, &err), 0);
    assert_string_equal(back.request, "0123456789abcdef");
    assert_true(back.deadline_ms == 1780000000123ULL);
    assert_string_equal(back.source, "snapshot:/data/x.jsonl");
    ax_runspec_clear(&back);
    msgpack_sbuffer_destroy(&sb);
}

/*  Packs [{"id": "2602.09386", "authors": [...n_authors], "aff": [...n_aff] or absent}]. */
static void s_pack_old_paper(msgpack_sbuffer *sb, size_t n_authors, int with_aff, size_t n_aff)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, with_aff ? 3 : 2);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, "2602.09386", 10);
    msgpack_pack_str_with_body(&pk, "authors", 7);
    msgpack_pack_array(&pk, n_authors);
    for (size_t i = 0; i < n_authors; i++)
        msgpack_pack_str_with_body(&pk, "A B", 3);
    if (with_aff) {
        msgpack_pack_str_with_body(&pk, "aff", 3);
        msgpack_pack_array(&pk, n_aff);
        for (size_t i = 0; i < n_aff; i++)
            msgpack_pack_str_with_body(&pk, "X", 1);
    }
}

/*  A paper packed before "aff" existed still decodes (affiliations NULL); an "aff" array
 *  that is not one per author is refused, without leaking what was decoded. */
static void test_paper_affiliations_compat(void **state)
{
    (void) state;
    msgpack_sbuffer sb;
    ax_paper_t *papers = NULL;
    size_t n = 0;
    char *err = NULL;
    s_pack_old_paper(&sb, 2, 0, 0);
    assert_int_equal(ax_papers_decode(sb.data, sb.size, &papers, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(papers[0].n_authors, 2);
    assert_null(papers[0].affiliations);
    ax_paper_clear(&papers[0]);
    free(papers);
    msgpack_sbuffer_destroy(&sb);

    s_pack_old_paper(&sb, 2, 1, 3);
    assert_int_equal(ax_papers_decode(sb.data, sb.size, &papers, &n, &err), -1);
    assert_non_null(strstr(err, "aff: expected one per author"));
    free(err);
    msgpack_sbuffer_destroy(&sb);

    /* A copy keeps them. */
    ax_paper_t src = s_paper(), dst;
    assert_int_equal(ax_paper_copy(&dst, &src), 0);
    assert_string_equal(dst.affiliations[2], "Tsinghua University; 快手");
    assert_string_equal(dst.affiliations[1], "");
    ax_paper_clear(&dst);
}

/*  Every strict prefix of a valid body is truncated: each must fail cleanly. */
static void test_truncated_bodies_rejected(void **state)
{
    (void) state;
    ax_paper_t papers[1] = {s_paper()};
    msgpack_sbuffer job, res;
    s_make_job(&job, papers, 1);
    s_make_result(&res);
    for (size_t len = 0; len < job.size; len++) {
        ax_job_t j;
        char *err = NULL;
        assert_int_equal(ax_job_decode(job.data, len, &j, &err), -1);
        assert_non_null(err);
        free(err);
    }
    for (size_t len = 0; len < res.size; len++) {
        ax_result_t r;
        char *err = NULL;
        assert_int_equal(ax_result_decode(res.data, len, &r, &err), -1);
        assert_non_null(err);
        free(err);
    }
    msgpack_sbuffer_destroy(&job);
    msgpack_sbuffer_destroy(&res);
}

static void test_garbage_rejected(void **state)
{
    (void) state;
    char *err = NULL;
    ax_job_t j;
    ax_result_t r;
    /* Random bytes, many seeds. */
    srand(7);
    for (int round = 0; round < 2000; round++) {
        unsigned char buf[256];
        size_t len = (size_t) (rand() % (int) sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char) rand();
        if (ax_job_decode((char *) buf, len, &j, &err) == 0)
            ax_job_clear(&j);
        free(err);
        err = NULL;
        if (ax_result_decode((char *) buf, len, &r, &err) == 0)
            ax_result_clear(&r);
        free(err);
        err = NULL;
    }
    /* A few bytes declaring 2^32 elements must not make the decoder allocate 64 GiB. */
    const char huge[] = "\xdd\xff\xff\xff\xff\x01";
    assert_int_equal(ax_job_decode(huge, sizeof huge - 1, &j, &err), -1);
    assert_non_null(strstr(err, "malformed"));
    free(err);
    err = NULL;
    /* Flipped bytes of a valid job never crash and never yield a half-filled struct. */
    ax_paper_t papers[1] = {s_paper()};
    msgpack_sbuffer job;
    s_make_job(&job, papers, 1);
    for (size_t i = 0; i < job.size; i++) {
        char saved = job.data[i];
        job.data[i] = (char) (saved ^ 0x5c);
        if (ax_job_decode(job.data, job.size, &j, &err) == 0) {
            assert_non_null(j.run);
            ax_job_clear(&j);
        } else
            assert_non_null(err);
        free(err);
        err = NULL;
        job.data[i] = saved;
    }
    /* Trailing bytes are garbage. */
    msgpack_sbuffer_write(&job, "xx", 2);
    assert_int_equal(ax_job_decode(job.data, job.size, &j, &err), -1);
    assert_non_null(strstr(err, "trailing"));
    free(err);
    msgpack_sbuffer_destroy(&job);
}

/*  Control bodies round-trip every field, the lease token of WORKING / DONE / FAIL with
 *  all its 64 bits; fields left out decode as 0 / NULL. */
static void test_ctl_round_trip(void **state)
{
    (void) state;
    ax_ctl_t in = {.run = "R1", .job = 7, .lease = UINT64_MAX - 1, .credit = 1, .heartbeat_ms = 250,
                   .reason = "LLM: 401", .worker = "w1", .state = "fatal", .error = "e"};
    ax_ctl_t out;
    char *err = NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_ctl_encode(&sb, &in, NULL);
    assert_int_equal(ax_ctl_decode(sb.data, sb.size, &out, &err), 0);
    assert_string_equal(out.run, "R1");
    assert_int_equal(out.job, 7);
    assert_true(out.lease == UINT64_MAX - 1);
    assert_int_equal(out.credit, 1);
    assert_int_equal(out.heartbeat_ms, 250);
    assert_string_equal(out.reason, "LLM: 401");
    assert_string_equal(out.worker, "w1");
    assert_string_equal(out.state, "fatal");
    assert_string_equal(out.error, "e");
    ax_ctl_clear(&out);
    msgpack_sbuffer_clear(&sb);
    ax_ctl_t bare = {.run = "R1", .job = 7};
    ax_ctl_encode(&sb, &bare, NULL);
    assert_int_equal(ax_ctl_decode(sb.data, sb.size, &out, &err), 0);
    assert_true(out.lease == 0);
    assert_null(out.reason);
    ax_ctl_clear(&out);
    msgpack_sbuffer_destroy(&sb);
}

static void test_wrong_types_and_version(void **state)
{
    (void) state;
    char *err = NULL;
    ax_ctl_t c;
    /* {"v": 2, "run": "R"}: newer schema than ours. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 2);
    msgpack_pack_str_with_body(&pk, "run", 3);
    msgpack_pack_str_with_body(&pk, "R", 1);
    assert_int_equal(ax_ctl_decode(sb.data, sb.size, &c, &err), -1);
    assert_non_null(strstr(err, "version"));
    free(err);
    err = NULL;
    /* {"v": 1, "job": "seven"}: a string where a number belongs. */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "job", 3);
    msgpack_pack_str_with_body(&pk, "seven", 5);
    assert_int_equal(ax_ctl_decode(sb.data, sb.size, &c, &err), -1);
    assert_non_null(strstr(err, "job"));
    free(err);
    err = NULL;
    /* An array instead of a map. */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 0);
    assert_int_equal(ax_ctl_decode(sb.data, sb.size, &c, &err), -1);
    free(err);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_round_trip),
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_minimal_paper_when_nothing_kept),
        cmocka_unit_test(test_entry_and_runspec_round_trip),
        cmocka_unit_test(test_paper_affiliations_compat),
        cmocka_unit_test(test_truncated_bodies_rejected),
        cmocka_unit_test(test_garbage_rejected),
        cmocka_unit_test(test_ctl_round_trip),
        cmocka_unit_test(test_wrong_types_and_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
