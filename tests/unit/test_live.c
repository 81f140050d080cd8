/*  test_live.c: the pieces of the live sources that need no network: OAI set names of
 *  categories (old archives, physics groups, new-style subject sets), Retry-After values,
 *  and the checks ax_live_open makes before any thread starts. The harvests themselves
 *  run against the fake arXiv in tests/integration/test_live_sources.sh.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fetch.h"
#include "live.h"

static void test_oai_sets(void **state)
{
    static const char *cases[][2] = {
        {"cs.IR", "cs:cs:IR"},           {"cs", "cs"},
        {"math.AG", "math:math:AG"},     {"stat.ML", "stat:stat:ML"},
        {"hep-th", "physics:hep-th"},    {"astro-ph.CO", "physics:astro-ph:CO"},
        {"quant-ph", "physics:quant-ph"}, {"physics.optics", "physics:physics:optics"},
        {"physics", "physics"},          {"q-bio.NC", "q-bio:q-bio:NC"},
        {"eess.SP", "eess:eess:SP"},     {"cond-mat.str-el", "physics:cond-mat:str-el"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(ax_live_oai_set(cases[i][0], buf, sizeof buf), 0);
        assert_string_equal(buf, cases[i][1]);
    }
    assert_int_equal(ax_live_oai_set("cs.IR", buf, 5), -1);
}

static void test_retry_after(void **state)
{
    int64_t now = 1782864000;   /* Wed, 01 Jul 2026 00:00:00 GMT */
    assert_int_equal(ax_fetch_retry_after_s("10", now), 10);
    assert_int_equal(ax_fetch_retry_after_s("0", now), 0);
    assert_int_equal(ax_fetch_retry_after_s("Wed, 01 Jul 2026 00:02:00 GMT", now), 120);
    assert_int_equal(ax_fetch_retry_after_s("Tue, 30 Jun 2026 23:00:00 GMT", now), 0);   /* past */
    assert_int_equal(ax_fetch_retry_after_s("-5", now), -1);
    assert_int_equal(ax_fetch_retry_after_s("soon", now), -1);
    assert_int_equal(ax_fetch_retry_after_s("", now), -1);
    assert_int_equal(ax_fetch_retry_after_s(NULL, now), -1);
}

static void test_open_checks(void **state)
{
    char *cats[] = {"cs.IR"};
    char *announce[] = {"new"};
    ax_arxiv_cfg_t cfg = {.api_url = "http://127.0.0.1:1/api/query", .oai_url = "http://127.0.0.1:1/oai",
                          .rss_url = "http://127.0.0.1:1/rss", .min_interval_ms = 10, .user_agent = "t",
                          .page_size = 10, .api_result_cap = 100, .rss_announce_types = announce,
                          .n_rss_announce_types = 1, .max_attempts = 1, .timeout_s = 1};
    char *err = NULL;
    ax_live_spec_t spec = {.kind = "ftp", .categories = cats, .n_categories = 1};
    assert_null(ax_live_open(&spec, &cfg, &err));
    assert_non_null(strstr(err, "ftp"));
    free(err);
    spec.kind = "api";
    spec.n_categories = 0;
    assert_null(ax_live_open(&spec, &cfg, &err));
    assert_non_null(strstr(err, "categories"));
    free(err);
    /* A cursor of another source: the thread reports it as the harvest's error. */
    spec.n_categories = 1;
    spec.cursor = "oai 0 tok|3";
    ax_live_t *L = ax_live_open(&spec, &cfg, &err);
    assert_non_null(L);
    ax_paper_t p;
    int rc;
    for (int i = 0; i < 500 && (rc = ax_live_next(L, &p)) == 2; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(ax_live_error(L), "cannot resume"));
    ax_live_destroy(&L);
    assert_null(L);
    /* Nothing listening: the harvest fails naming the request, after max_attempts. */
    spec.cursor = NULL;
    L = ax_live_open(&spec, &cfg, &err);
    assert_non_null(L);
    for (int i = 0; i < 500 && (rc = ax_live_next(L, &p)) == 2; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(ax_live_error(L), "http://127.0.0.1:1/api/query?search_query="));
    assert_non_null(strstr(ax_live_error(L), "failed 1 times"));
    ax_live_destroy(&L);
    /* Destroying a harvest that never started, and one in the middle of a wait. */
    L = ax_live_open(&spec, &cfg, &err);
    ax_live_destroy(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oai_sets),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_open_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
