/*  test_metrics.c: the metrics registry (common/metrics.c): counters, gauges and
 *  histograms; the text exposition (HELP/TYPE, label escaping, cumulative buckets with
 *  le="+Inf", _sum and _count); every catalogued name documented in docs/metrics.md;
 *  the server: "" is off, an address in use is an error the caller survives, and real
 *  HTTP GETs of /metrics, /healthz and an unknown path with libcurl. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"

static int s_setup(void **state)
{
    (void) state;
    ax_metrics_stop();
    ax_metrics_reset();
    return 0;
}

static void test_registry(void **state)
{
    (void) state;
    assert_int_equal(ax_metrics_define("t_jobs_total", AX_METRIC_COUNTER, "Jobs.", NULL, 0), 0);
    assert_int_equal(ax_metrics_define("t_jobs_total", AX_METRIC_GAUGE, "again", NULL, 0), 0);  /* idempotent */
    ax_metrics_add("t_jobs_total", NULL, 1);
    ax_metrics_add("t_jobs_total", "", 2);                  /* "" and NULL: the same series */
    ax_metrics_add("t_jobs_total", "state=\"x\"", 5);
    assert_true(ax_metrics_get("t_jobs_total", NULL) == 3);
    assert_true(ax_metrics_get("t_jobs_total", "state=\"x\"") == 5);
    assert_true(ax_metrics_get("t_jobs_total", "state=\"y\"") == 0);
    ax_metrics_set("t_level", NULL, 7);                     /* declared on the fly */
    ax_metrics_set("t_level", NULL, 4);
    assert_true(ax_metrics_get("t_level", NULL) == 4);
    ax_metrics_observe("t_jobs_total", NULL, 1);            /* wrong type: ignored */
    assert_true(ax_metrics_get("t_jobs_total", NULL) == 3);
    double bad[] = {1, 1};
    assert_int_equal(ax_metrics_define("t_bad", AX_METRIC_HISTOGRAM, "", bad, 2), -1);
    assert_int_equal(ax_metrics_define("", AX_METRIC_COUNTER, "", NULL, 0), -1);
    assert_true(ax_metrics_get("t_missing", NULL) == 0);
}

static void test_labels(void **state)
{
    (void) state;
    char buf[64] = "";
    ax_metrics_label(buf, sizeof buf, "profile", "a\"b\\c\nd");
    assert_string_equal(buf, "profile=\"a\\\"b\\\\c\\nd\"");
    ax_metrics_label(buf, sizeof buf, "state", "matched");
    assert_string_equal(buf, "profile=\"a\\\"b\\\\c\\nd\",state=\"matched\"");
    /* A label that does not fit is dropped whole, never cut in the middle. */
    char small[24] = "";
    ax_metrics_label(small, sizeof small, "k", "v");
    ax_metrics_label(small, sizeof small, "long", "0123456789abcdef");
    assert_string_equal(small, "k=\"v\"");
}

static void test_exposition(void **state)
{
    (void) state;
    ax_metrics_define("t_papers_total", AX_METRIC_COUNTER, "Papers\\judged\nper state.", NULL, 0);
    char labels[64] = "";
    ax_metrics_label(labels, sizeof labels, "profile", "q\"uote");
    ax_metrics_add("t_papers_total", labels, 12);
    ax_metrics_set("t_gauge", NULL, 0.25);
    double bounds[] = {0.1, 1, 10};
    ax_metrics_define("t_seconds", AX_METRIC_HISTOGRAM, "Latency.", bounds, 3);
    ax_metrics_observe("t_seconds", NULL, 0.05);
    ax_metrics_observe("t_seconds", NULL, 0.1);             /* on a bound: counted in it (le) */
    ax_metrics_observe("t_seconds", NULL, 5);
    ax_metrics_observe("t_seconds", NULL, 100);             /* only in +Inf */
    ax_metrics_define("t_empty_total", AX_METRIC_COUNTER, "No series yet.", NULL, 0);
    char *text = ax_metrics_render();
    assert_non_null(text);
    assert_non_null(strstr(text, "# HELP t_papers_total Papers\\\\judged\\nper state.\n"
                                 "# TYPE t_papers_total counter\n"
                                 "t_papers_total{profile=\"q\\\"uote\"} 12\n"));
    assert_non_null(strstr(text, "# TYPE t_gauge gauge\nt_gauge 0.25\n"));
    assert_null(strstr(text, "# HELP t_gauge"));            /* declared on the fly: no help */
    assert_non_null(strstr(text, "# HELP t_seconds Latency.\n"
                                 "# TYPE t_seconds histogram\n"
                                 "t_seconds_bucket{le=\"0.1\"} 2\n"
                                 "t_seconds_bucket{le=\"1\"} 2\n"
                                 "t_seconds_bucket{le=\"10\"} 3\n"
                                 "t_seconds_bucket{le=\"+Inf\"} 4\n"
                                 "t_seconds_sum 105.15\n"
                                 "t_seconds_count 4\n"));
    assert_null(strstr(text, "t_empty_total"));
    free(text);
    /* Labels and le together. */
    ax_metrics_observe("t_seconds", "kind=\"a\"", 0.5);
    text = ax_metrics_render();
    assert_non_null(strstr(text, "t_seconds_bucket{kind=\"a\",le=\"1\"} 1\n"));
    assert_non_null(strstr(text, "t_seconds_count{kind=\"a\"} 1\n"));
    free(text);
}

/*  Every name of the catalogue is documented, and a component's zero series exist. */
static void test_catalogue_documented(void **state)
{
    (void) state;
    static const char *components[] = {"broker", "worker", "collector"};
    FILE *f = fopen(AX_SOURCE_DIR "/docs/metrics.md", "r");
    assert_non_null(f);
    char *doc = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&doc, &cap, '\0', f);
    fclose(f);
    assert_true(n > 0);
    for (size_t c = 0; c < 3; c++) {
        ax_metrics_reset();
        ax_metrics_define_component(components[c]);
        char *text = ax_metrics_render();
        assert_non_null(text);
        int types = 0;
        for (char *line = strstr(text, "# TYPE "); line; line = strstr(line + 1, "# TYPE ")) {
            char name[128];
            assert_int_equal(sscanf(line, "# TYPE %127s", name), 1);
            if (!strstr(doc, name))
                fail_msg("%s is not documented in docs/metrics.md", name);
            assert_non_null(strstr(name, "arxdigest_"));
            types++;
        }
        assert_true(types >= 5);
        free(text);
    }
    assert_true(ax_metrics_get("arxdigest_collector_renders_total", "outcome=\"ok\"") == 0);
    assert_true(ax_metrics_get("arxdigest_process_start_time_seconds", NULL) > 1.7e9);
    free(doc);
}

static void test_off_and_bad_address(void **state)
{
    (void) state;
    char *err = NULL;
    assert_int_equal(ax_metrics_start("", "worker", &err), 1);
    assert_null(err);
    assert_int_equal(ax_metrics_start(NULL, "worker", &err), 1);
    assert_int_equal(ax_metrics_port(), 0);
    assert_int_equal(ax_metrics_start("nohost", "worker", &err), -1);
    assert_non_null(err);
    free(err);
    assert_int_equal(ax_metrics_port(), 0);
}

/*  A port held by another listener (a second worker on the same host): -1 with a
 *  message, and the process can go on (here: serve elsewhere). */
static void test_in_use_is_not_fatal(void **state)
{
    (void) state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
    char addr[64], *err = NULL;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sa.sin_port));
    assert_int_equal(ax_metrics_start(addr, "worker", &err), -1);
    assert_non_null(err);
    assert_non_null(strstr(err, "in use"));
    free(err);
    assert_int_equal(ax_metrics_port(), 0);
    close(fd);
    /* Still usable afterwards. */
    assert_int_equal(ax_metrics_start("127.0.0.1:0", "worker", &err), 0);
    assert_true(ax_metrics_port() > 0);
    ax_metrics_stop();
    assert_int_equal(ax_metrics_port(), 0);
}

static size_t s_sink(char *data, size_t size, size_t n, void *userp)
{
    FILE *out = userp;
    return fwrite(data, size, n, out);
}

/*  GET http://127.0.0.1:port/path: status, body (caller frees) and content type. */
static long s_get(int port, const char *path, char **body, char *ctype, size_t ctype_size)
{
    char url[128], *text = NULL;
    size_t len = 0;
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    FILE *out = open_memstream(&text, &len);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, ctype_size, "%s", ct ? ct : "");
    curl_easy_cleanup(h);
    fclose(out);
    *body = text;
    return status;
}

static void test_http(void **state)
{
    (void) state;
    char *err = NULL, *body = NULL, ctype[128];
    assert_int_equal(ax_metrics_start("127.0.0.1:0", "worker", &err), 0);
    int port = ax_metrics_port();
    assert_true(port > 0);
    ax_metrics_add("arxdigest_worker_jobs_done_total", NULL, 3);

    assert_int_equal(s_get(port, "/metrics", &body, ctype, sizeof ctype), 200);
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(body, "# TYPE arxdigest_worker_jobs_done_total counter\narxdigest_worker_jobs_done_total 3\n"));
    assert_non_null(strstr(body, "arxdigest_worker_llm_tokens_total{kind=\"prompt\"} 0\n"));
    assert_non_null(strstr(body, "arxdigest_worker_llm_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
    free(body);

    ax_metrics_heartbeat();
    assert_int_equal(s_get(port, "/healthz", &body, ctype, sizeof ctype), 200);
    assert_string_equal(body, "ok\n");
    free(body);

    assert_int_equal(s_get(port, "/nope", &body, ctype, sizeof ctype), 404);
    free(body);

    /* A second server in the same process is refused, the first keeps serving. */
    assert_int_equal(ax_metrics_start("127.0.0.1:0", "worker", &err), -1);
    free(err);
    assert_int_equal(s_get(port, "/healthz", &body, ctype, sizeof ctype), 200);
    free(body);
    ax_metrics_stop();
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_registry, s_setup),
        cmocka_unit_test_setup(test_labels, s_setup),
        cmocka_unit_test_setup(test_exposition, s_setup),
        cmocka_unit_test_setup(test_catalogue_documented, s_setup),
        cmocka_unit_test_setup(test_off_and_bad_address, s_setup),
        cmocka_unit_test_setup(test_in_use_is_not_fatal, s_setup),
        cmocka_unit_test_setup(test_http, s_setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ax_metrics_stop();
    ax_metrics_reset();
    curl_global_cleanup();
    return rc;
}
