/*  test_config.c: configuration layers (defaults, YAML file, environment, flags),
 *  error reporting with dotted keys and file:line, and whole-config validation. */
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#ifndef AX_SOURCE_DIR
#define AX_SOURCE_DIR "."
#endif
#define DATA AX_SOURCE_DIR "/tests/data/config/"

static char s_tmpdir[] = "/tmp/ax_test_config.XXXXXX";
static int s_ntmp;

/*  ------------------------------------------------------------------------------
 *  Helpers
 */

/*  Writes text to a fresh file in the test's temp folder; returns its path (static). */
static const char *s_write(const char *text)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/t%03d.yaml", s_tmpdir, s_ntmp++);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

/*  Number of lines of an error text (0 for NULL). */
static int s_lines(const char *errors)
{
    int n = errors && *errors ? 1 : 0;
    for (const char *p = errors; p && *p; p++)
        n += *p == '\n';
    return n;
}

/*  Asserts that errors holds a line containing every one of the given pieces. */
#define assert_line(errors, ...) s_assert_line(errors, __FILE__, __LINE__, __VA_ARGS__, NULL)
static void s_assert_line(const char *errors, const char *file, int line, ...)
{
    const char *start = errors ? errors : "";
    while (*start) {
        size_t len = strcspn(start, "\n");
        char *one = strndup(start, len);
        va_list ap;
        va_start(ap, line);
        bool all = true;
        for (const char *piece = va_arg(ap, const char *); piece; piece = va_arg(ap, const char *))
            all &= strstr(one, piece) != NULL;
        va_end(ap);
        free(one);
        if (all)
            return;
        start += len + (start[len] == '\n');
    }
    va_list ap;
    va_start(ap, line);
    const char *first = va_arg(ap, const char *);
    va_end(ap);
    print_error("no error line with \"%s\"... in:\n%s\n", first, errors ? errors : "(none)");
    _fail(file, line);
}

static ax_config_t *s_load_ok(const char *path)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_non_null(cfg);
    int rc = ax_config_load_file(cfg, path, &errors);
    if (rc != 0)
        print_error("%s\n", errors);
    assert_int_equal(rc, 0);
    assert_null(errors);
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    assert_null(errors);
    return cfg;
}

/*  Loads text as a file and returns the errors (caller frees); asserts it failed. */
static char *s_load_bad(const char *text)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, s_write(text), &errors), -1);
    assert_non_null(errors);
    ax_config_destroy(&cfg);
    return errors;
}

static void s_assert_defaults(const ax_config_t *cfg)
{
    assert_string_equal(cfg->redis.url, "redis://127.0.0.1:6379/0");
    assert_string_equal(cfg->broker.bind, "tcp://*:5555");
    assert_string_equal(cfg->broker.control, "tcp://*:5556");
    assert_int_equal(cfg->broker.job_size, 64);
    assert_int_equal(cfg->broker.job_max_bytes, 8 << 20);
    assert_int_equal(cfg->broker.paper_max_bytes, 1 << 20);
    assert_int_equal(cfg->llm.max_retry_after_s, 300);
    assert_int_equal(cfg->llm.max_response_bytes, 4 << 20);
    assert_string_equal(cfg->broker.metrics, "0.0.0.0:9101");
    assert_string_equal(cfg->worker.broker, "tcp://127.0.0.1:5555");
    assert_string_equal(cfg->worker.collector, "tcp://127.0.0.1:5557");
    assert_int_equal(cfg->worker.concurrency, 32);
    assert_string_equal(cfg->worker.metrics, "0.0.0.0:9102");
    assert_string_equal(cfg->collector.bind, "tcp://*:5557");
    assert_string_equal(cfg->collector.output_dir, "./digests");
    assert_string_equal(cfg->collector.group_by, "day");
    assert_string_equal(cfg->collector.metrics, "0.0.0.0:9103");
    assert_string_equal(cfg->arxiv.api_url, "https://export.arxiv.org/api/query");
    assert_string_equal(cfg->arxiv.oai_url, "https://oaipmh.arxiv.org/oai");
    assert_string_equal(cfg->arxiv.rss_url, "https://rss.arxiv.org/rss");
    assert_int_equal(cfg->arxiv.min_interval_ms, 3000);
    assert_string_equal(cfg->arxiv.user_agent, "arxdigest (mailto:you@example.org)");
    assert_int_equal(cfg->arxiv.page_size, 2000);
    assert_int_equal(cfg->arxiv.api_result_cap, 30000);
    assert_int_equal(cfg->arxiv.n_rss_announce_types, 2);
    assert_string_equal(cfg->arxiv.rss_announce_types[0], "new");
    assert_string_equal(cfg->arxiv.rss_announce_types[1], "cross");
    assert_int_equal(cfg->arxiv.max_attempts, 6);
    assert_int_equal(cfg->arxiv.timeout_s, 120);
    assert_string_equal(cfg->llm.base_url, "https://api.deepseek.com");
    assert_string_equal(cfg->llm.model, "deepseek-chat");
    assert_string_equal(cfg->llm.api_key_env, "ARXDIGEST_LLM_API_KEY");
    assert_int_equal(cfg->llm.rpm, 600);
    assert_int_equal(cfg->llm.tpm, 1000000);
    assert_int_equal(cfg->llm.max_in_flight, 64);
    assert_int_equal(cfg->llm.timeout_s, 120);
    assert_float_equal(cfg->llm.price_input_per_mtok, 0.27, 1e-12);
    assert_float_equal(cfg->llm.price_output_per_mtok, 1.10, 1e-12);
    assert_float_equal(cfg->llm.budget_usd, 0, 0);
}

/*  ------------------------------------------------------------------------------
 *  Layers
 */

static void test_defaults(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_non_null(cfg);
    s_assert_defaults(cfg);
    assert_string_equal(cfg->run.source, "api");
    assert_null(cfg->run.categories);
    assert_int_equal(cfg->run.n_categories, 0);
    assert_null(cfg->run.from);
    assert_null(cfg->run.to);
    assert_int_equal(cfg->n_profiles, 0);
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    assert_null(errors);
    ax_config_destroy(&cfg);
    assert_null(cfg);
    ax_config_destroy(&cfg);        /* NULL is fine */
    ax_config_destroy(NULL);
}

static void test_minimal_file(void **state)
{
    ax_config_t *cfg = s_load_ok(DATA "minimal.yaml");
    s_assert_defaults(cfg);
    assert_string_equal(cfg->run.source, "api");
    assert_int_equal(cfg->n_profiles, 1);
    const ax_profile_t *p = &cfg->profiles[0];
    assert_string_equal(p->name, "recsys");
    assert_string_equal(p->title, "ArXiv cs.IR, cs.LG digest");
    assert_string_equal(p->language, "en");
    assert_string_equal(p->interest, "");
    assert_int_equal(p->n_categories, 2);
    assert_int_equal(p->n_keywords, 1);
    assert_string_equal(p->keywords[0].term, "recommendation");
    assert_int_equal(p->keywords[0].n_aliases, 0);
    assert_null(p->keywords[0].company);
    assert_int_equal(p->n_exclude, 0);
    assert_int_equal(p->min_hits, 1);
    assert_int_equal(p->top_n, 20);
    ax_config_destroy(&cfg);
}

static void test_full_spec_example(void **state)
{
    ax_config_t *cfg = s_load_ok(DATA "full.yaml");
    s_assert_defaults(cfg);
    assert_int_equal(cfg->n_profiles, 1);
    const ax_profile_t *p = &cfg->profiles[0];
    assert_string_equal(p->name, "recsys");
    assert_string_equal(p->title, "ArXiv cs.IR 每日论文摘要");
    assert_string_equal(p->language, "zh");
    assert_int_equal(p->n_categories, 1);
    assert_string_equal(p->categories[0], "cs.IR");
    assert_string_equal(p->interest, "推荐系统：召回、排序、重排、CTR/CVR 预估、LTV、因果推断与 uplift");
    assert_int_equal(p->n_keywords, 4);
    assert_string_equal(p->keywords[0].term, "recommendation");
    assert_int_equal(p->keywords[0].n_aliases, 1);
    assert_string_equal(p->keywords[0].aliases[0], "recommender");
    assert_string_equal(p->keywords[1].term, "ctr");
    assert_string_equal(p->keywords[1].aliases[0], "click-through rate");
    assert_string_equal(p->keywords[2].term, "cold-start");
    assert_int_equal(p->keywords[2].n_aliases, 0);
    assert_string_equal(p->keywords[3].term, "kuaishou");
    assert_string_equal(p->keywords[3].company, "快手");
    assert_null(p->keywords[0].company);
    assert_int_equal(p->n_exclude, 1);
    assert_string_equal(p->exclude[0], "survey");
    assert_int_equal(p->min_hits, 1);
    assert_int_equal(p->top_n, 20);
    ax_config_destroy(&cfg);
}

/*  Every key set to a non-default value, so each one is proven to be read. */
static void test_custom_every_key(void **state)
{
    ax_config_t *cfg = s_load_ok(DATA "custom.yaml");
    assert_string_equal(cfg->redis.url, "redis://:s3cret@10.0.0.5:6380/2");
    assert_string_equal(cfg->broker.bind, "tcp://*:6555");
    assert_string_equal(cfg->broker.control, "ipc:///tmp/arxdigest-control");
    assert_int_equal(cfg->broker.job_size, 500);
    assert_string_equal(cfg->broker.metrics, "");
    assert_string_equal(cfg->worker.broker, "tcp://broker.local:6555");
    assert_string_equal(cfg->worker.collector, "tcp://collector.local:6557");
    assert_int_equal(cfg->worker.concurrency, 4);
    assert_string_equal(cfg->worker.metrics, "127.0.0.1:9202");
    assert_string_equal(cfg->collector.bind, "inproc://results");
    assert_string_equal(cfg->collector.output_dir, "/var/lib/arxdigest");
    assert_string_equal(cfg->collector.group_by, "week");
    assert_string_equal(cfg->collector.metrics, "[::]:9203");
    assert_string_equal(cfg->arxiv.api_url, "http://127.0.0.1:8080/api/query");
    assert_string_equal(cfg->arxiv.oai_url, "http://127.0.0.1:8080/oai");
    assert_string_equal(cfg->arxiv.rss_url, "http://127.0.0.1:8080/rss");
    assert_int_equal(cfg->arxiv.min_interval_ms, 10);
    assert_string_equal(cfg->arxiv.user_agent, "arxdigest-test (mailto:ci@example.org)");
    assert_string_equal(cfg->llm.base_url, "http://127.0.0.1:9000/v1");
    assert_string_equal(cfg->llm.model, "gpt-4o-mini");
    assert_string_equal(cfg->llm.api_key_env, "OPENAI_API_KEY");
    assert_int_equal(cfg->llm.rpm, 30);
    assert_int_equal(cfg->llm.tpm, 40000);
    assert_int_equal(cfg->llm.max_in_flight, 8);
    assert_int_equal(cfg->llm.timeout_s, 30);
    assert_float_equal(cfg->llm.price_input_per_mtok, 0.15, 1e-12);
    assert_float_equal(cfg->llm.price_output_per_mtok, 0.6, 1e-12);
    assert_float_equal(cfg->llm.budget_usd, 2.5, 1e-12);
    /* snapshot:PATH relative to the file's folder */
    char *dir = realpath(DATA, NULL), want[PATH_MAX + 64];
    assert_non_null(dir);
    snprintf(want, sizeof want, "snapshot:%s/data/arxiv-sample.jsonl", dir);
    free(dir);
    assert_string_equal(cfg->run.source, want);
    assert_int_equal(cfg->run.n_categories, 2);
    assert_string_equal(cfg->run.categories[0], "cs.IR");
    assert_string_equal(cfg->run.categories[1], "cs.LG");
    assert_string_equal(cfg->run.from, "2024-01-01");
    assert_string_equal(cfg->run.to, "2024-01-31");
    assert_int_equal(cfg->n_profiles, 1);
    assert_string_equal(cfg->profiles[0].title, "ArXiv cs.LG, stat.ML digest");
    assert_int_equal(cfg->profiles[0].min_hits, 0);
    assert_int_equal(cfg->profiles[0].top_n, 5);
    ax_config_destroy(&cfg);
}

/*  A second file merges over the first: only the keys it names change. */
static void test_second_file_merges(void **state)
{
    ax_config_t *cfg = s_load_ok(DATA "full.yaml");
    char *errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, s_write("broker: {job_size: 8}\n"
                                                      "run: {source: \"snapshot:/data/x.jsonl\"}\n"),
                                         &errors), 0);
    assert_null(errors);
    assert_int_equal(cfg->broker.job_size, 8);
    assert_string_equal(cfg->broker.bind, "tcp://*:5555");
    assert_string_equal(cfg->run.source, "snapshot:/data/x.jsonl");   /* absolute: kept */
    assert_int_equal(cfg->n_profiles, 1);                              /* no profiles: kept */
    /* an empty file and a comment-only file change nothing */
    assert_int_equal(ax_config_load_file(cfg, s_write(""), &errors), 0);
    assert_int_equal(ax_config_load_file(cfg, s_write("# nothing\n"), &errors), 0);
    assert_null(errors);
    assert_int_equal(cfg->broker.job_size, 8);
    ax_config_destroy(&cfg);
}

static void test_env_overrides_file(void **state)
{
    ax_config_t *cfg = s_load_ok(DATA "custom.yaml");
    char *errors = NULL;
    char *env[] = {
        "PATH=/usr/bin",
        "HOME=/root",
        "ARXDIGEST_REDIS_URL=redis://10.1.1.1:6379/3",
        "ARXDIGEST_LLM_BASE_URL=https://api.openai.com/v1",
        "ARXDIGEST_LLM_MODEL=gpt-4o",
        "ARXDIGEST_BROKER_JOB_SIZE=7",
        "ARXDIGEST_COLLECTOR_OUTPUT_DIR=/tmp/digests",
        "ARXDIGEST_ARXIV_MIN_INTERVAL_MS=250",
        "ARXDIGEST_LLM_PRICE_PER_MTOK_INPUT=0.5",
        "ARXDIGEST_BROKER_METRICS=0.0.0.0:9999",
        "ARXDIGEST_RUN_CATEGORIES= math.AG, hep-th ,",
        "ARXDIGEST_RUN_FROM=",
        "ARXDIGEST_LLM_API_KEY=sk-never-parsed",      /* the default key variable */
        NULL,
    };
    assert_int_equal(ax_config_load_env(cfg, env, &errors), 0);
    assert_null(errors);
    assert_string_equal(cfg->redis.url, "redis://10.1.1.1:6379/3");
    assert_string_equal(cfg->llm.base_url, "https://api.openai.com/v1");
    assert_string_equal(cfg->llm.model, "gpt-4o");
    assert_int_equal(cfg->broker.job_size, 7);
    assert_string_equal(cfg->collector.output_dir, "/tmp/digests");
    assert_int_equal(cfg->arxiv.min_interval_ms, 250);
    assert_float_equal(cfg->llm.price_input_per_mtok, 0.5, 1e-12);
    assert_float_equal(cfg->llm.price_output_per_mtok, 0.6, 1e-12);   /* from the file */
    assert_string_equal(cfg->broker.metrics, "0.0.0.0:9999");
    assert_int_equal(cfg->run.n_categories, 2);
    assert_string_equal(cfg->run.categories[0], "math.AG");
    assert_string_equal(cfg->run.categories[1], "hep-th");
    assert_null(cfg->run.from);                                        /* "" unsets */
    assert_string_equal(cfg->run.to, "2024-01-31");
    assert_int_equal(cfg->worker.concurrency, 4);                      /* untouched */
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    ax_config_destroy(&cfg);
}

/*  The variable named by llm.api_key_env (which the environment may rename) holds the
 *  key: it is not a config key and not an error. Unknown ARXDIGEST_ names are. */
static void test_env_key_variable_and_unknown(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    char *env[] = {"ARXDIGEST_LLM_API_KEY_ENV=ARXDIGEST_DEEPSEEK_KEY", "ARXDIGEST_DEEPSEEK_KEY=sk-abc", NULL};
    assert_int_equal(ax_config_load_env(cfg, env, &errors), 0);
    assert_null(errors);
    assert_string_equal(cfg->llm.api_key_env, "ARXDIGEST_DEEPSEEK_KEY");

    char *typo[] = {"ARXDIGEST_BROKER_JOBSIZE=8", "ARXDIGEST_REDIS_URL=redis://h:1/0", "ARXDIGEST_NOTHING_LIKE_IT=1",
                    NULL};
    assert_int_equal(ax_config_load_env(cfg, typo, &errors), -1);
    assert_int_equal(s_lines(errors), 2);
    assert_line(errors, "ARXDIGEST_BROKER_JOBSIZE", "unknown", "did you mean ARXDIGEST_BROKER_JOB_SIZE?");
    assert_line(errors, "ARXDIGEST_NOTHING_LIKE_IT", "unknown variable");
    assert_string_equal(cfg->redis.url, "redis://h:1/0");      /* the good ones still apply */
    assert_int_equal(cfg->broker.job_size, 64);
    free(errors);
    ax_config_destroy(&cfg);
}

/*  Environment values may be secrets: never in messages, even when wrong. */
static void test_env_values_not_echoed(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    char *env[] = {"ARXDIGEST_BROKER_JOB_SIZE=sk-TOPSECRET-1", "ARXDIGEST_REDIS_URL=sk-TOPSECRET-2",
                   "ARXDIGEST_RUN_CATEGORIES=sk-TOPSECRET-3!", "ARXDIGEST_LLM_BUDGET_USD=sk-TOPSECRET-4", NULL};
    assert_int_equal(ax_config_load_env(cfg, env, &errors), -1);
    assert_int_equal(s_lines(errors), 4);
    assert_line(errors, "ARXDIGEST_BROKER_JOB_SIZE: broker.job_size: expected an integer");
    assert_line(errors, "ARXDIGEST_REDIS_URL: redis.url: must be redis://");
    assert_line(errors, "ARXDIGEST_RUN_CATEGORIES: run.categories:", "not an arXiv category");
    assert_line(errors, "ARXDIGEST_LLM_BUDGET_USD: llm.budget_usd: expected a number");
    assert_null(strstr(errors, "TOPSECRET"));
    free(errors);
    /* a file's redis.url may hold a password: not echoed either */
    errors = s_load_bad("redis: {url: \"http://:hunter2@host\"}\n");
    assert_line(errors, ":1: redis.url: must be redis://");
    assert_null(strstr(errors, "hunter2"));
    free(errors);
    ax_config_destroy(&cfg);
}

static void test_set_overrides_env(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    char *env[] = {"ARXDIGEST_BROKER_JOB_SIZE=7", "ARXDIGEST_LLM_MODEL=from-env", NULL};
    assert_int_equal(ax_config_load_env(cfg, env, &errors), 0);
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "9", &errors), 0);
    assert_int_equal(cfg->broker.job_size, 9);
    assert_string_equal(cfg->llm.model, "from-env");
    assert_int_equal(ax_config_set(cfg, "llm.price_per_mtok.output", "2", &errors), 0);
    assert_float_equal(cfg->llm.price_output_per_mtok, 2.0, 0);
    assert_int_equal(ax_config_set(cfg, "run.source", "snapshot:rel/x.jsonl", &errors), 0);
    assert_string_equal(cfg->run.source, "snapshot:rel/x.jsonl");   /* flags: relative to cwd */
    assert_int_equal(ax_config_set(cfg, "run.categories", "cs.IR,cs.LG", &errors), 0);
    assert_int_equal(cfg->run.n_categories, 2);
    assert_string_equal(cfg->run.categories[1], "cs.LG");
    assert_int_equal(ax_config_set(cfg, "run.from", "2024-02-29", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "run.to", "2024-03-01", &errors), 0);
    assert_string_equal(cfg->run.from, "2024-02-29");
    assert_int_equal(ax_config_set(cfg, "collector.metrics", "", &errors), 0);
    assert_string_equal(cfg->collector.metrics, "");
    assert_null(errors);
    assert_int_equal(ax_config_validate(cfg, &errors), 0);

    /* bad values are reported and the previous value stays */
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "100001", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "broker.jobsize", "5", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "run.to", "2024-02-30", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "profiles", "x", &errors), -1);
    assert_int_equal(s_lines(errors), 4);
    assert_line(errors, "broker.job_size: must be between 1 and 100000", "100001");
    assert_line(errors, "broker.jobsize: unknown key (did you mean broker.job_size?)");
    assert_line(errors, "run.to: must be a date YYYY-MM-DD");
    assert_line(errors, "profiles: can only be given in the config file");
    assert_int_equal(cfg->broker.job_size, 9);
    assert_string_equal(cfg->run.to, "2024-03-01");
    free(errors);
    ax_config_destroy(&cfg);
}

/*  ax_config_env hands a whole config to a child (`arxdigest run` -> daemons): loaded
 *  over a file that says otherwise, the environment gives back every key's value. */
static void test_env_hands_on_every_key(void **state)
{
    ax_config_t *cfg = s_load_ok(DATA "custom.yaml"), *child = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_set(cfg, "llm.base_url", "http://127.0.0.1:1/flag", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "llm.budget_usd", "0.002", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "llm.temperature", "0.1", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "run.to", "", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "curve.enabled", "true", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "curve.secret_key_file", "/k/w.key", &errors), 0);
    size_t n = 0, n2 = 0;
    char **env = ax_config_env(cfg, &n, &errors);
    assert_non_null(env);
    assert_null(errors);
    /* the child's file says otherwise about everything: the environment wins */
    assert_int_equal(ax_config_load_file(child, DATA "../../../deploy/sample/arxdigest.yaml", &errors), 0);
    assert_int_equal(ax_config_load_env(child, env, &errors), 0);
    assert_null(errors);
    assert_string_equal(child->llm.base_url, "http://127.0.0.1:1/flag");
    assert_float_equal(child->llm.budget_usd, 0.002, 0);
    assert_float_equal(child->llm.temperature, 0.1, 0);
    assert_null(child->run.to);
    assert_string_equal(child->redis.url, "redis://:s3cret@10.0.0.5:6380/2");
    assert_string_equal(child->run.categories[1], "cs.LG");
    assert_string_equal(child->broker.metrics, "");
    assert_true(child->curve.enabled);
    /* every key: the child's environment is the parent's */
    char **env2 = ax_config_env(child, &n2, &errors);
    assert_non_null(env2);
    assert_int_equal(n, n2);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(env[i], env2[i]);
    assert_true(n > 40);        /* every key but the profiles */
    ax_strv_free(&env, n);
    ax_strv_free(&env2, n2);
    ax_config_destroy(&cfg);
    ax_config_destroy(&child);
}

/*  ------------------------------------------------------------------------------
 *  Errors
 */

static void test_typo_suggestion(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, DATA "typo.yaml", &errors), -1);
    assert_line(errors, "typo.yaml:2: collector.output_dri: unknown key (did you mean output_dir?)");
    assert_line(errors, "typo.yaml:6: profiles[0].keywrods: unknown key (did you mean keywords?)");
    assert_string_equal(cfg->collector.group_by, "week");    /* good keys still apply */
    free(errors);
    errors = s_load_bad("brokr: {job_size: 3}\nllm: {price_per_mtok: {inptu: 1}}\nzzzzzz: 1\n");
    assert_int_equal(s_lines(errors), 3);
    assert_line(errors, ":1: brokr: unknown key (did you mean broker?)");
    assert_line(errors, ":2: llm.price_per_mtok.inptu: unknown key (did you mean input?)");
    assert_line(errors, ":3: zzzzzz: unknown key");
    assert_null(strstr(errors, "zzzzzz: unknown key (did"));
    free(errors);
    ax_config_destroy(&cfg);
}

/*  One file, many problems: every one reported with its line and dotted key. */
static void test_wrong_types_and_ranges(void **state)
{
    char *errors = s_load_bad("redis:\n"                           /* 1 */
                              "  url: [a, b]\n"                    /* 2 */
                              "broker:\n"                          /* 3 */
                              "  job_size: abc\n"                  /* 4 */
                              "  control: \"http://x:1\"\n"        /* 5 */
                              "worker:\n"                          /* 6 */
                              "  concurrency: 0\n"                 /* 7 */
                              "collector:\n"                       /* 8 */
                              "  group_by: hourly\n"               /* 9 */
                              "  metrics: \"nohost\"\n"            /* 10 */
                              "llm:\n"                             /* 11 */
                              "  price_per_mtok: {input: -1}\n"    /* 12 */
                              "  rpm: 1.5\n"                       /* 13 */
                              "  budget_usd: lots\n"               /* 14 */
                              "  timeout_s: {a: 1}\n"              /* 15 */
                              "run:\n"                             /* 16 */
                              "  from: 2023-02-29\n"               /* 17 */
                              "  categories: cs.IR\n"              /* 18 */
                              "  source: ftp\n"                    /* 19 */
                              "arxiv: 5\n"                         /* 20 */
                              "profiles:\n"                        /* 21 */
                              "  - name: \"bad name!\"\n"          /* 22 */
                              "    keywords:\n"                    /* 23 */
                              "      - ok\n"                       /* 24 */
                              "      - term: \"\"\n"               /* 25 */
                              "      - {aliases: [x]}\n"           /* 26 */
                              "      - [nested]\n"                 /* 27 */
                              "    min_hits: -1\n"                 /* 28 */
                              "    top_n: 0\n"                     /* 29 */
                              "    language: english\n"            /* 30 */
                              "    categories: [cs.IR, \"no way\"]\n" /* 31 */
                              "  - name: second\n"                 /* 32 */
                              "    top_n: many\n"                  /* 33 */
                              "    keywords: ranking\n");          /* 34 */
    assert_line(errors, ":2: redis.url: expected a single value, not a list");
    assert_line(errors, ":4: broker.job_size: expected an integer", "\"abc\"");
    assert_line(errors, ":5: broker.control: must be an endpoint tcp://");
    assert_line(errors, ":7: worker.concurrency: must be between 1 and");
    assert_line(errors, ":9: collector.group_by: must be one of day, week, month, run", "hourly");
    assert_line(errors, ":10: collector.metrics: must be host:port");
    assert_line(errors, ":12: llm.price_per_mtok.input: must be between 0 and");
    assert_line(errors, ":13: llm.rpm: expected an integer");
    assert_line(errors, ":14: llm.budget_usd: expected a number");
    assert_line(errors, ":15: llm.timeout_s: expected a single value, not a mapping");
    assert_line(errors, ":17: run.from: must be a date YYYY-MM-DD");
    assert_line(errors, ":18: run.categories: expected a list");
    assert_line(errors, ":19: run.source: must be api, oai, rss or snapshot:PATH");
    assert_line(errors, ":20: arxiv: expected a mapping, not a single value");
    assert_line(errors, ":22: profiles[0].name: must be 1-64 characters of [A-Za-z0-9_.-]");
    assert_line(errors, ":25: profiles[0].keywords[1].term: must not be empty");
    assert_line(errors, ":26: profiles[0].keywords[2].term: required");
    assert_line(errors, ":27: profiles[0].keywords[3]: expected a term or a mapping");
    assert_line(errors, ":28: profiles[0].min_hits: must be between 0 and 1000 (got \"-1\")");
    assert_line(errors, ":29: profiles[0].top_n: must be between 1 and 100000 (got \"0\")");
    assert_line(errors, ":30: profiles[0].language: must be a language code");
    assert_line(errors, ":31: profiles[0].categories[1]: is not an arXiv category");
    assert_line(errors, ":33: profiles[1].top_n: expected an integer");
    assert_line(errors, ":34: profiles[1].keywords: expected a list");
    assert_int_equal(s_lines(errors), 24);      /* nothing else, nothing twice */
    free(errors);
}

static void test_ranges_at_the_edges(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "1", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "100000", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "llm.budget_usd", "0", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "llm.price_per_mtok.input", "0", &errors), 0);
    assert_null(errors);
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "0", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "99999999999999999999", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "broker.job_size", " 5", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "llm.price_per_mtok.output", "-0.01", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "llm.budget_usd", "nan", &errors), -1);
    assert_int_equal(ax_config_set(cfg, "llm.budget_usd", "inf", &errors), -1);
    assert_int_equal(s_lines(errors), 7);
    assert_int_equal(cfg->broker.job_size, 100000);
    free(errors);
    ax_config_destroy(&cfg);
}

static void test_endpoints_and_urls(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    const char *good[][2] = {
        {"redis.url", "unix:///var/run/redis.sock"}, {"redis.url", "redis://:pw@10.0.0.1:6379/1"},
        {"broker.bind", "ipc:///tmp/b"},             {"broker.bind", "inproc://jobs"},
        {"broker.bind", "tcp://*:*"},                {"worker.broker", "tcp://[::1]:5555"},
        {"worker.metrics", ""},                      {"worker.metrics", "localhost:0"},
        {"arxiv.api_url", "HTTP://127.0.0.1:1/x"},   {"llm.api_key_env", "_KEY2"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(ax_config_set(cfg, good[i][0], good[i][1], &errors), 0);
    assert_null(errors);
    const char *bad[][2] = {
        {"redis.url", "127.0.0.1:6379"}, {"redis.url", "redis://"},        {"broker.bind", "tcp://5555"},
        {"broker.bind", "tcp://*:"},     {"broker.bind", "udp://*:1"},     {"worker.metrics", ":9102"},
        {"worker.metrics", "host:70000"}, {"arxiv.api_url", "ftp://x/"},   {"arxiv.api_url", "https://"},
        {"llm.api_key_env", "1KEY"},     {"llm.api_key_env", "MY-KEY"},    {"collector.output_dir", " "},
        {"arxiv.user_agent", ""},        {"llm.model", ""},                {"collector.group_by", "Day"},
        {"run.source", "snapshot:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ax_config_set(cfg, bad[i][0], bad[i][1], &errors), -1);
        assert_line(errors, bad[i][0]);
    }
    assert_int_equal(s_lines(errors), (int) (sizeof bad / sizeof bad[0]));
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "broker.control", "tcp://*:*", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "arxiv.min_interval_ms", "10", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), -1);
    assert_line(errors, "broker.control: must differ from broker.bind");
    free(errors);
    ax_config_destroy(&cfg);
}

/*  A job's byte bound: in range, and never below the bound of one paper. */
static void test_job_byte_bounds(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_set(cfg, "broker.job_max_bytes", "1000", &errors), -1);
    assert_line(errors, "broker.job_max_bytes: must be between 65536 and 268435456");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "broker.job_max_bytes", "600000", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), -1);
    assert_line(errors, "broker.paper_max_bytes: 1048576 is more than broker.job_max_bytes 600000");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "broker.paper_max_bytes", "600000", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    ax_config_destroy(&cfg);
}

/*  What a provider may ask of us is bounded: a wait of at most a day, a body of 64 KiB to
 *  256 MiB. */
static void test_llm_bounds(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_set(cfg, "llm.max_retry_after_s", "0", &errors), -1);
    assert_line(errors, "llm.max_retry_after_s: must be between 1 and 86400");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "llm.max_response_bytes", "1000", &errors), -1);
    assert_line(errors, "llm.max_response_bytes: must be between 65536 and 268435456");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "llm.max_retry_after_s", "5", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "llm.max_response_bytes", "65536", &errors), 0);
    assert_int_equal(cfg->llm.max_retry_after_s, 5);
    assert_int_equal(cfg->llm.max_response_bytes, 65536);
    ax_config_destroy(&cfg);
    (void) state;
}

/*  The 3 s floor applies to arXiv hosts only; tests use a local server. */
/*  The live sources' list and bounds: announce types are checked by name, page_size stays
 *  within arXiv's 2000. */
static void test_arxiv_harvest_keys(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_set(cfg, "arxiv.rss_announce_types", "new,replace-cross", &errors), 0);
    assert_int_equal(cfg->arxiv.n_rss_announce_types, 2);
    assert_string_equal(cfg->arxiv.rss_announce_types[1], "replace-cross");
    assert_int_equal(ax_config_set(cfg, "arxiv.rss_announce_types", "new,updated", &errors), -1);
    assert_line(errors, "arxiv.rss_announce_types", "must be one of new, cross, replace, replace-cross");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "arxiv.page_size", "2001", &errors), -1);
    assert_line(errors, "arxiv.page_size");
    free(errors);
    ax_config_destroy(&cfg);
}

static void test_min_interval_floor(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_set(cfg, "arxiv.min_interval_ms", "100", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), -1);
    assert_int_equal(s_lines(errors), 1);
    assert_line(errors, "arxiv.min_interval_ms: 100 is below the 3000 ms", "arxiv.api_url");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "arxiv.api_url", "http://127.0.0.1:8080/api/query", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "arxiv.oai_url", "http://127.0.0.1:8080/oai", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), -1);       /* rss_url is still arXiv's */
    assert_line(errors, "arxiv.rss_url");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "arxiv.rss_url", "http://localhost:8080/rss", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    assert_null(errors);
    const char *arxiv[] = {"https://arxiv.org/api", "https://user@EXPORT.ArXiv.org:443/api/query",
                           "http://arxiv.org./x", "https://a.b.arxiv.org"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ax_config_set(cfg, "arxiv.api_url", arxiv[i], &errors), 0);
        assert_int_equal(ax_config_validate(cfg, &errors), -1);
        free(errors);
        errors = NULL;
    }
    const char *other[] = {"https://notarxiv.org/api", "https://arxiv.org.example.com/api",
                           "http://127.0.0.1/arxiv.org"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ax_config_set(cfg, "arxiv.api_url", other[i], &errors), 0);
        assert_int_equal(ax_config_validate(cfg, &errors), 0);
    }
    /* one below the floor is not */
    assert_int_equal(ax_config_set(cfg, "arxiv.oai_url", "https://oaipmh.arxiv.org/oai", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "arxiv.min_interval_ms", "2999", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), -1);
    assert_line(errors, "arxiv.min_interval_ms: 2999 is below", "arxiv.oai_url");
    free(errors);
    errors = NULL;
    /* at the floor an arXiv host is fine */
    assert_int_equal(ax_config_set(cfg, "arxiv.api_url", "https://export.arxiv.org/api/query", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "arxiv.min_interval_ms", "3000", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    assert_null(errors);
    ax_config_destroy(&cfg);
}

static void test_dates(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_set(cfg, "run.from", "2024-03-02", &errors), 0);
    assert_int_equal(ax_config_set(cfg, "run.to", "2024-03-01", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), -1);
    assert_line(errors, "run.to: 2024-03-01 is before run.from 2024-03-02");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_set(cfg, "run.to", "2024-03-02", &errors), 0);   /* inclusive */
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    const char *bad[] = {"2024-13-01", "2024-00-10", "2024-04-31", "1900-02-29", "24-01-01", "2024/01/01",
                         "2024-1-01", "2024-01-01T00:00:00Z", "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ax_config_set(cfg, "run.from", bad[i], &errors), -1);
    assert_int_equal(ax_config_set(cfg, "run.from", "2000-02-29", &errors), 0);
    assert_int_equal(s_lines(errors), (int) (sizeof bad / sizeof bad[0]));
    free(errors);
    ax_config_destroy(&cfg);
}

static void test_several_errors_together(void **state)
{
    /* load_file and validate append to the same text, one line per problem */
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, s_write("broker: {job_size: 0}\nworker: {concurrency: x}\n"), &errors),
                     -1);
    assert_int_equal(s_lines(errors), 2);
    assert_int_equal(ax_config_set(cfg, "arxiv.min_interval_ms", "5", &errors), 0);
    assert_int_equal(ax_config_validate(cfg, &errors), -1);
    assert_int_equal(s_lines(errors), 3);
    assert_line(errors, "broker.job_size");
    assert_line(errors, "worker.concurrency");
    assert_line(errors, "arxiv.min_interval_ms");
    assert_int_equal(errors[strlen(errors) - 1] != '\n', 1);
    free(errors);
    /* NULL errors: still fails, nothing written */
    assert_int_equal(ax_config_set(cfg, "broker.job_size", "0", NULL), -1);
    ax_config_destroy(&cfg);
}

/*  ------------------------------------------------------------------------------
 *  Profiles
 */

static void test_keyword_forms(void **state)
{
    ax_config_t *cfg = s_load_ok(DATA "keywords.yaml");
    const ax_profile_t *p = &cfg->profiles[0];
    assert_string_equal(p->language, "pt-BR");
    assert_string_equal(p->title, "ArXiv digest");       /* no categories */
    assert_int_equal(p->n_categories, 0);
    assert_int_equal(p->n_keywords, 5);
    assert_string_equal(p->keywords[0].term, "ranking");
    assert_int_equal(p->keywords[0].n_aliases, 0);
    assert_null(p->keywords[0].company);
    assert_string_equal(p->keywords[1].term, "learning to rank");
    assert_string_equal(p->keywords[2].term, "recommendation");
    assert_int_equal(p->keywords[2].n_aliases, 2);
    assert_string_equal(p->keywords[2].aliases[0], "recommender");
    assert_string_equal(p->keywords[2].aliases[1], "recommender system");
    assert_string_equal(p->keywords[3].company, "快手");
    assert_string_equal(p->keywords[4].term, "ctr");
    assert_string_equal(p->keywords[4].aliases[0], "click-through rate");
    assert_null(p->keywords[4].company);            /* "" = no company */
    assert_int_equal(p->n_exclude, 2);
    assert_string_equal(p->exclude[1], "position paper");
    assert_int_equal(p->min_hits, 2);
    ax_config_destroy(&cfg);

    char *errors = s_load_bad("profiles:\n"
                              "  - name: a\n"
                              "    keywords:\n"
                              "      - term: x\n"
                              "        alias: [y]\n"
                              "        aliases: y\n"
                              "        company: [c]\n"
                              "    min_hits: 3\n");
    assert_line(errors, ":5: profiles[0].keywords[0].alias: unknown key (did you mean aliases?)");
    assert_line(errors, ":6: profiles[0].keywords[0].aliases: expected a list");
    assert_line(errors, ":7: profiles[0].keywords[0].company: expected a single value, not a list");
    assert_int_equal(s_lines(errors), 3);
    free(errors);
    errors = s_load_bad("profiles:\n  - name: a\n    keywords: [x, y]\n    min_hits: 3\n");
    assert_line(errors, ":4: profiles[0].min_hits: 3 is more than the 2 keywords");
    free(errors);
    errors = s_load_bad("profiles:\n  - name: a\n    keywords: []\n  - keywords: [x]\n  - x\n");
    assert_line(errors, ":3: profiles[0].keywords: at least one keyword is required");
    assert_line(errors, ":4: profiles[1].name: required");
    assert_line(errors, ":5: profiles[2]: expected a mapping");
    assert_int_equal(s_lines(errors), 3);
    free(errors);
}

static void test_duplicate_profiles(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, DATA "dup_profiles.yaml", &errors), -1);
    assert_int_equal(s_lines(errors), 1);
    assert_line(errors, "dup_profiles.yaml:6: profiles[2].name: duplicate profile name \"recsys\" (also profiles[0])");
    free(errors);
    errors = NULL;
    /* the bad profile is left out; validate does not report it again */
    assert_int_equal(cfg->n_profiles, 2);
    assert_string_equal(cfg->profiles[1].name, "ir");
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    /* a profile built by code is checked by validate */
    ax_profile_t *grown = realloc(cfg->profiles, 3 * sizeof *grown);
    assert_non_null(grown);
    cfg->profiles = grown;
    assert_int_equal(ax_profile_copy(&cfg->profiles[2], &cfg->profiles[1]), 0);
    cfg->n_profiles = 3;
    free(cfg->profiles[2].language);
    cfg->profiles[2].language = NULL;
    cfg->profiles[2].top_n = 0;
    assert_int_equal(ax_config_validate(cfg, &errors), -1);
    assert_int_equal(s_lines(errors), 3);
    assert_line(errors, "profiles[2].name: duplicate profile name \"ir\" (also profiles[1])");
    assert_line(errors, "profiles[2].language:");
    assert_line(errors, "profiles[2].top_n: must be between 1 and 100000 (got 0)");
    free(errors);
    ax_config_destroy(&cfg);
}

static void test_profile_names(void **state)
{
    char *errors = s_load_bad("profiles:\n"
                              "  - {name: ok.name_1-x, keywords: [a]}\n"
                              "  - {name: .., keywords: [a]}\n"
                              "  - {name: \"a/b\", keywords: [a]}\n"
                              "  - {name: \"\", keywords: [a]}\n"
                              "  - {name: [x], keywords: [a]}\n"
                              "  - {name: n, keywords: [a], name: m}\n");
    assert_int_equal(s_lines(errors), 5);
    assert_line(errors, ":3: profiles[1].name: must be");
    assert_line(errors, ":4: profiles[2].name: must be");
    assert_line(errors, ":5: profiles[3].name: must be");
    assert_line(errors, ":6: profiles[4].name: expected a single value, not a list");
    assert_line(errors, ":7: profiles[5].name: duplicate key (first at line 7)");
    free(errors);
}

/*  A name is a folder of the run's output: no ".", "..", hidden or option-like name, and
 *  not the run's own report.json (issue 11). */
static void test_profile_names_are_safe_folders(void **state)
{
    char *errors = s_load_bad("profiles:\n"
                              "  - {name: 9ok, keywords: [a]}\n"
                              "  - {name: .hidden, keywords: [a]}\n"
                              "  - {name: -x, keywords: [a]}\n"
                              "  - {name: _x, keywords: [a]}\n"
                              "  - {name: report.json, keywords: [a]}\n"
                              "  - {name: a123456789a123456789a123456789a123456789a123456789a123456789abcde, "
                              "keywords: [a]}\n"
                              "  - {name: a12345678.a123456789a123456789a123456789a123456789a123456789abcd, "
                              "keywords: [a]}\n");
    assert_int_equal(s_lines(errors), 5);
    assert_line(errors, ":3: profiles[1].name: must be 1-64 characters of [A-Za-z0-9_.-] starting with a letter");
    assert_line(errors, ":4: profiles[2].name: must be");
    assert_line(errors, ":5: profiles[3].name: must be");
    assert_line(errors, ":6: profiles[4].name: is the name of a file the run's output folder holds itself",
                "report.json");
    assert_line(errors, ":7: profiles[5].name: must be");
    free(errors);
    errors = NULL;
    /* profiles from elsewhere (a SUBMIT) get the same check and message */
    ax_config_t *cfg = s_load_ok(s_write("profiles:\n  - {name: a, keywords: [x]}\n"));
    free(cfg->profiles[0].name);
    cfg->profiles[0].name = strdup("..");
    assert_int_equal(ax_config_check_profiles(cfg->profiles, cfg->n_profiles, &errors), -1);
    assert_int_equal(s_lines(errors), 1);
    assert_line(errors, "profiles[0].name: must be 1-64 characters", "\"..\"");
    free(errors);
    ax_config_destroy(&cfg);
}

/*  A keyword, alias or exclude term the matcher cannot match (no letter or digit) is a
 *  config error, not a failure of every job (issue 11). */
static void test_keywords_need_a_letter_or_digit(void **state)
{
    const char *text = "profiles:\n"                           /* 1 */
                       "  - name: a\n"                         /* 2 */
                       "    keywords:\n"                       /* 3 */
                       "      - model\n"                       /* 4 */
                       "      - \"c++\"\n"                     /* 5 */
                       "      - 快手\n"                        /* 6 */
                       "      - \"Ω\"\n"                       /* 7 */
                       "      - \"*\"\n"                       /* 8 */
                       "      - term: x\n"                     /* 9 */
                       "        aliases: [\"[\", ok]\n"        /* 10 */
                       "      - \" - \"\n"                     /* 11 */
                       "    exclude: [survey, \"...\"]\n";     /* 12 */
    char *errors = s_load_bad(text);
    assert_int_equal(s_lines(errors), 4);
    assert_line(errors, ":8: profiles[0].keywords[4].term: has no letter or digit (got \"*\")");
    assert_line(errors, ":10: profiles[0].keywords[5].aliases[0]: has no letter or digit");
    assert_line(errors, ":11: profiles[0].keywords[6].term: has no letter or digit");
    assert_line(errors, ":12: profiles[0].exclude[1]: has no letter or digit");
    free(errors);
    errors = NULL;
    /* the same profile built by code (a SUBMIT) */
    ax_config_t *cfg = s_load_ok(s_write("profiles:\n  - {name: a, keywords: [x, y], exclude: [z]}\n"));
    ax_profile_t *p = &cfg->profiles[0];
    free(p->keywords[1].term);
    p->keywords[1].term = strdup("[");
    free(p->exclude[0]);
    p->exclude[0] = strdup("*");
    assert_int_equal(ax_config_check_profiles(cfg->profiles, cfg->n_profiles, &errors), -1);
    assert_int_equal(s_lines(errors), 2);
    assert_line(errors, "profiles[0].keywords[1].term: has no letter or digit (got \"[\")");
    assert_line(errors, "profiles[0].exclude: item 1 has no letter or digit (got \"*\")");
    free(errors);
    ax_config_destroy(&cfg);
}

/*  redis.namespace (every key of runs) and the broker's namespace lease: defaults, the
 *  environment, and a namespace that could break keys or hash tags is refused. */
static void test_redis_namespace(void **state)
{
    (void) state;
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_non_null(cfg);
    assert_string_equal(cfg->redis.namespace, "ax");
    assert_true(cfg->broker.standby);
    assert_int_equal(cfg->broker.namespace_lease_ms, 5000);
    char *env[] = {"ARXDIGEST_REDIS_NAMESPACE=team2:prod", "ARXDIGEST_BROKER_STANDBY=false",
                   "ARXDIGEST_BROKER_NAMESPACE_LEASE_MS=2000", NULL};
    assert_int_equal(ax_config_load_env(cfg, env, &errors), 0);
    assert_string_equal(cfg->redis.namespace, "team2:prod");
    assert_false(cfg->broker.standby);
    assert_int_equal(cfg->broker.namespace_lease_ms, 2000);
    const char *bad[] = {"", "a{b}", "with space", "x/y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(ax_config_set(cfg, "redis.namespace", bad[i], &errors), -1);
        assert_non_null(strstr(errors, "redis.namespace: must be 1-100 characters of [A-Za-z0-9_.:-]"));
        free(errors);
        errors = NULL;
    }
    assert_string_equal(cfg->redis.namespace, "team2:prod");      /* a bad value is never stored */
    assert_int_equal(ax_config_set(cfg, "broker.namespace_lease_ms", "100", &errors), -1);
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_validate(cfg, &errors), 0);
    ax_config_destroy(&cfg);
}

static void test_profile_languages(void **state)
{
    const char *good[] = {"en", "zh", "fil", "pt-BR", "zh-Hans", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1901"};
    const char *bad[] = {"e", "english", "en5", "zh-", "zh--CN", "-en", "en_US", "pt-toolongsub", "中文"};
    char text[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(text, sizeof text, "profiles:\n  - {name: p, language: \"%s\", keywords: [x]}\n", good[i]);
        ax_config_t *cfg = s_load_ok(s_write(text));
        assert_string_equal(cfg->profiles[0].language, good[i]);
        ax_config_destroy(&cfg);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "profiles:\n  - {name: p, language: \"%s\", keywords: [x]}\n", bad[i]);
        char *errors = s_load_bad(text);
        assert_int_equal(s_lines(errors), 1);
        assert_line(errors, ":2: profiles[0].language: must be a language code");
        free(errors);
    }
}

static void test_run_categories(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    size_t n = 99;
    char **cats = ax_config_run_categories(cfg, &n);     /* nothing anywhere */
    assert_non_null(cats);
    assert_int_equal(n, 0);
    ax_strv_free(&cats, n);
    assert_int_equal(ax_config_load_file(cfg, s_write("profiles:\n"
                                                      "  - {name: a, categories: [cs.IR, cs.LG], keywords: [x]}\n"
                                                      "  - {name: b, keywords: [y]}\n"
                                                      "  - {name: c, categories: [cs.LG, stat.ML, cs.IR, hep-th], "
                                                      "keywords: [z]}\n"),
                                         &errors), 0);
    cats = ax_config_run_categories(cfg, &n);
    assert_int_equal(n, 4);
    assert_string_equal(cats[0], "cs.IR");
    assert_string_equal(cats[1], "cs.LG");
    assert_string_equal(cats[2], "stat.ML");
    assert_string_equal(cats[3], "hep-th");
    ax_strv_free(&cats, n);
    assert_int_equal(ax_config_set(cfg, "run.categories", "math.AG", &errors), 0);
    cats = ax_config_run_categories(cfg, &n);
    assert_int_equal(n, 1);
    assert_string_equal(cats[0], "math.AG");
    ax_strv_free(&cats, n);
    assert_int_equal(ax_config_set(cfg, "run.categories", "", &errors), 0);   /* back to the union */
    cats = ax_config_run_categories(cfg, &n);
    assert_int_equal(n, 4);
    ax_strv_free(&cats, n);
    assert_null(errors);
    ax_config_destroy(&cfg);
}

/*  ------------------------------------------------------------------------------
 *  Malformed YAML
 */

static void test_malformed_yaml(void **state)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, DATA "bad_yaml_quote.yaml", &errors), -1);
    assert_int_equal(s_lines(errors), 1);
    assert_line(errors, "bad_yaml_quote.yaml:", "invalid YAML", "quoted scalar", "line 2");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, DATA "bad_yaml_indent.yaml", &errors), -1);
    assert_int_equal(s_lines(errors), 1);
    assert_line(errors, "bad_yaml_indent.yaml:3: invalid YAML");
    free(errors);
    s_assert_defaults(cfg);     /* nothing half-applied */

    const char *texts[] = {
        "just a string\n",                          /* not a mapping */
        "- a\n- b\n",                               /* a list */
        "broker: {job_size: 1}\n---\nbroker: {}\n", /* two documents */
        "broker: {job_size: 1\n",                   /* unclosed flow mapping */
        "broker:\n\tjob_size: 1\n",                 /* a tab */
        "? [a, b]\n: 1\n",                          /* complex key */
        "broker: &b {job_size: 1}\nworker: *b\n",   /* an alias: read as what it points to */
        "redis: {url: *nope}\n",                    /* undefined alias */
        "broker: {job_size: \xc3\x28}\n",          /* not UTF-8 */
        "broker: {job_size: 1}\nbroker: {job_size: 2}\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        errors = s_load_bad(texts[i]);
        assert_int_equal(s_lines(errors) >= 1, 1);
        assert_non_null(strstr(errors, s_tmpdir));
        free(errors);
    }
    errors = s_load_bad("broker: {job_size: 1}\nbroker: {job_size: 2}\n");
    assert_line(errors, ":2: broker: duplicate key (first at line 1)");
    free(errors);
    errors = NULL;
    assert_int_equal(ax_config_load_file(cfg, "/nonexistent/arxdigest.yaml", &errors), -1);
    assert_line(errors, "/nonexistent/arxdigest.yaml: cannot open");
    free(errors);
    ax_config_destroy(&cfg);
}

/*  Milliseconds on the monotonic clock. */
static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*  Loads a generated file; returns its errors (caller frees) and how long it took. */
static char *s_load_timed(const char *text, double *elapsed_ms)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    const char *path = s_write(text);
    double t0 = s_now_ms();
    assert_int_equal(ax_config_load_file(cfg, path, &errors), -1);
    *elapsed_ms = s_now_ms() - t0;
    assert_non_null(errors);
    ax_config_destroy(&cfg);
    return errors;
}

/*  100 000 nested `[` (libyaml alone takes half a minute on it) and a file of several
 *  MiB are refused at once, with the line where the nesting goes too deep. */
static void test_hostile_yaml_bounded(void **state)
{
    size_t n = 100000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "broker:\n  job_size: 1\nprofiles: ");
    size_t len = strlen(text);
    memset(text + len, '[', n);
    text[len + n] = '\0';
    double ms;
    char *errors = s_load_timed(text, &ms);
    assert_true(ms < 1000);
    assert_int_equal(s_lines(errors), 1);
    assert_line(errors, ":3: ", "nested deeper than 64 levels");
    free(errors);

    memset(text, '[', n);               /* the same, spread over lines */
    for (size_t i = 0; i < n; i += 2)
        text[i] = '\n';
    text[n] = '\0';
    errors = s_load_timed(text, &ms);
    assert_true(ms < 1000);
    assert_line(errors, ":66: ", "nested deeper than 64 levels");
    free(errors);
    free(text);

    size_t big = (size_t) 3 << 20;      /* 3 MiB of comments */
    text = malloc(big + 1);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = i % 64 == 63 ? '\n' : '#';
    text[big] = '\0';
    errors = s_load_timed(text, &ms);
    assert_true(ms < 1000);
    assert_int_equal(s_lines(errors), 1);
    assert_line(errors, "larger than 1 MiB");
    free(errors);
    free(text);

    char deep[64 * 3 + 32] = "profiles: ";  /* 64 levels still load */
    for (int i = 0; i < 63; i++)
        strcat(deep, "[");
    for (int i = 0; i < 63; i++)
        strcat(deep, "]");
    errors = s_load_bad(deep);
    assert_null(strstr(errors, "nested deeper"));
    free(errors);
}

/*  ------------------------------------------------------------------------------ */

static int s_setup(void **state)
{
    return mkdtemp(s_tmpdir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    char path[PATH_MAX];
    for (int i = 0; i < s_ntmp; i++) {
        snprintf(path, sizeof path, "%s/t%03d.yaml", s_tmpdir, i);
        unlink(path);
    }
    return rmdir(s_tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_minimal_file),
        cmocka_unit_test(test_full_spec_example),
        cmocka_unit_test(test_custom_every_key),
        cmocka_unit_test(test_second_file_merges),
        cmocka_unit_test(test_env_overrides_file),
        cmocka_unit_test(test_env_key_variable_and_unknown),
        cmocka_unit_test(test_env_values_not_echoed),
        cmocka_unit_test(test_set_overrides_env),
        cmocka_unit_test(test_env_hands_on_every_key),
        cmocka_unit_test(test_typo_suggestion),
        cmocka_unit_test(test_wrong_types_and_ranges),
        cmocka_unit_test(test_ranges_at_the_edges),
        cmocka_unit_test(test_endpoints_and_urls),
        cmocka_unit_test(test_arxiv_harvest_keys),
        cmocka_unit_test(test_min_interval_floor),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_several_errors_together),
        cmocka_unit_test(test_keyword_forms),
        cmocka_unit_test(test_duplicate_profiles),
        cmocka_unit_test(test_profile_names),
        cmocka_unit_test(test_profile_names_are_safe_folders),
        cmocka_unit_test(test_keywords_need_a_letter_or_digit),
        cmocka_unit_test(test_redis_namespace),
        cmocka_unit_test(test_profile_languages),
        cmocka_unit_test(test_run_categories),
        cmocka_unit_test(test_malformed_yaml),
        cmocka_unit_test(test_hostile_yaml_bounded),
        cmocka_unit_test(test_job_byte_bounds),
        cmocka_unit_test(test_llm_bounds),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
