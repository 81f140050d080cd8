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
#include <time.h>
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

/*  Issue 11: a RESULT naming 150 000 profiles left a 10 MB /metrics. A family keeps
 *  AX_METRICS_MAX_SERIES label sets; later ones are counted in its _other series, so
 *  the sums stay right and the exposition stays small. */
static void test_label_cardinality_bounded(void **state)
{
    (void) state;
    ax_metrics_define_component("collector");
    const char *name = "arxdigest_collector_papers_total";
    char labels[256];
    for (int i = 0; i < 150000; i++) {
        char profile[32];
        snprintf(profile, sizeof profile, "p%d", i);
        labels[0] = '\0';
        ax_metrics_label(labels, sizeof labels, "profile", profile);
        ax_metrics_label(labels, sizeof labels, "state", "matched");
        ax_metrics_add(name, labels, 2);
    }
    assert_true(ax_metrics_get(name, "profile=\"p0\",state=\"matched\"") == 2);
    assert_true(ax_metrics_get(name, "profile=\"p255\",state=\"matched\"") == 2);
    assert_true(ax_metrics_get(name, "profile=\"p256\",state=\"matched\"") == 0);
    double other = ax_metrics_get(name, "profile=\"_other\",state=\"_other\"");
    assert_true(other == 2.0 * (150000 - AX_METRICS_MAX_SERIES));
    double folded = ax_metrics_get("arxdigest_metrics_labels_folded_total", "metric=\"" "arxdigest_collector_papers_total\"");
    assert_true(folded == 150000 - AX_METRICS_MAX_SERIES);
    /* A label set already there keeps its own series. */
    ax_metrics_add(name, "profile=\"p7\",state=\"matched\"", 1);
    assert_true(ax_metrics_get(name, "profile=\"p7\",state=\"matched\"") == 3);
    /* Values that look like the fold do not get series of their own either. */
    ax_metrics_add(name, "profile=\"_other\",state=\"x\"", 1);
    assert_true(ax_metrics_get(name, "profile=\"_other\",state=\"x\"") == 0);
    /* Histograms fold too; other families are not affected. */
    for (int i = 0; i < 1000; i++) {
        snprintf(labels, sizeof labels, "kind=\"k%d\"", i);
        ax_metrics_observe("t_latency_seconds", labels, 0.2);
    }
    assert_true(ax_metrics_get("t_latency_seconds", "kind=\"_other\"") == 1000 - AX_METRICS_MAX_SERIES);
    ax_metrics_add("arxdigest_collector_acks_total", NULL, 1);
    assert_true(ax_metrics_get("arxdigest_collector_acks_total", NULL) == 1);
    char *text = ax_metrics_render();
    assert_non_null(text);
    assert_true(strlen(text) < 512 * 1024);
    int lines = 0;
    for (const char *l = strstr(text, "\narxdigest_collector_papers_total{"); l; l = strstr(l + 1, "\narxdigest_collector_papers_total{"))
        lines++;
    assert_int_equal(lines, AX_METRICS_MAX_SERIES + 1);
    assert_non_null(strstr(text, "arxdigest_collector_papers_total{profile=\"_other\",state=\"_other\"} "));
    assert_non_null(strstr(text, "# TYPE arxdigest_metrics_labels_folded_total counter\n"));
    free(text);
}

static size_t s_sink(char *data, size_t size, size_t n, void *userp)
{
    FILE *out = userp;
    return fwrite(data, size, n, out);
}

/*  GET http://127.0.0.1:port/path within timeout_ms: curl's result; status, body
 *  (caller frees) and content type. */
static CURLcode s_try_get(int port, const char *path, long timeout_ms, long *status, char **body, char *ctype,
                          size_t ctype_size)
{
    char url[128], *text = NULL;
    size_t len = 0;
    *status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    FILE *out = open_memstream(&text, &len);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, ctype_size, "%s", ct ? ct : "");
    curl_easy_cleanup(h);
    fclose(out);
    *body = text;
    return rc;
}

/*  GET http://127.0.0.1:port/path, which must succeed: the status; body (caller frees). */
static long s_get(int port, const char *path, char **body, char *ctype, size_t ctype_size)
{
    long status;
    assert_int_equal(s_try_get(port, path, 10000, &status, body, ctype, ctype_size), CURLE_OK);
    return status;
}

/*  Opens n TCP connections from source address src to 127.0.0.1:port that send nothing. */
static void s_idle_connections(int port, const char *src, int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons(port)};
        assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
        assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &to.sin_addr), 1);
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(bind(fds[i], (struct sockaddr *) &from, sizeof from), 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *) &to, sizeof to), 0);
    }
}

/*  Milliseconds until /healthz answers 200, trying until deadline_ms; -1 if it never did. */
static long s_healthz_ms(int port, long deadline_ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long status, ms;
        char *body = NULL, ctype[128];
        CURLcode rc = s_try_get(port, "/healthz", 1000, &status, &body, ctype, sizeof ctype);
        free(body);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (rc == CURLE_OK && status == 200)
            return ms;
        if (ms > deadline_ms)
            return -1;
        usleep(50 * 1000);
    }
}

/*  Issue 11: 70 idle connections to /metrics took /healthz down (a limit of 64, idle for
 *  10 s). 200 idle connections from another address leave /healthz answering at once;
 *  200 more from the health check's own address are closed within the idle timeout. */
static void test_idle_connections(void **state)
{
    (void) state;
    enum { N = 200 };
    int other[N], same[N];
    char *err = NULL;
    assert_int_equal(ax_metrics_start("127.0.0.1:0", "worker", &err), 0);
    int port = ax_metrics_port();
    ax_metrics_heartbeat();
    s_idle_connections(port, "127.0.0.2", other, N);
    usleep(100 * 1000);
    long ms = s_healthz_ms(port, 2000);
    print_message("healthz with %d idle connections from another address: %ld ms\n", N, ms);
    assert_true(ms >= 0 && ms < 2000);
    s_idle_connections(port, "127.0.0.1", same, N);
    usleep(100 * 1000);
    ms = s_healthz_ms(port, 6000);
    print_message("healthz with %d more from its own address: %ld ms\n", N, ms);
    assert_true(ms >= 0 && ms < 6000);
    for (int i = 0; i < N; i++) {
        close(other[i]);
        close(same[i]);
    }
    ax_metrics_stop();
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
        cmocka_unit_test_setup(test_label_cardinality_bounded, s_setup),
        cmocka_unit_test_setup(test_idle_connections, s_setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ax_metrics_stop();
    ax_metrics_reset();
    curl_global_cleanup();
    return rc;
}
