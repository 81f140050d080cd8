/*  test_run.c: a run's harvest (broker/run.c) against a private redis-server: the source
 *  counters move with the cursor, so a broker that dies between a job and the next one
 *  counts every line once (issue 11 item 21); jobs are bounded by bytes and a paper too
 *  large for any job is recorded failed, never lost (item 9); a snapshot that is not a
 *  regular file is refused at once, without blocking on a FIFO (item 6). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "redis_fixture.h"
#include "run.h"
#include "snapshot.h"
#include "store.h"
#include "test_helpers.h"
#include "text.h"

#define BUNDLED AX_SOURCE_DIR "/deploy/sample/arxiv-cs-2026-06.jsonl"

static ax_redis_fixture_t s_redis;
static char *s_dir;                     /* this test's temporary directory */

static int s_setup(void **state)
{
    s_dir = ax_test_tmpdir("ax_run_");
    ax_log_set_level(AX_LOG_ERROR);
    return ax_redis_fixture_start(&s_redis);
}

static int s_teardown(void **state)
{
    ax_redis_fixture_stop(&s_redis);
    int rc = ax_test_rmtree(s_dir);
    free(s_dir);
    s_dir = NULL;
    return rc;
}

static const char *s_tmp(const char *name)
{
    return ax_test_path(s_dir, name);
}

static redisContext *s_connect(void)
{
    redisContext *c = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c);
    assert_int_equal(ax_redis_fixture_flush(c), 0);
    return c;
}

/*  A spec harvesting the snapshot at path for categories (NULL: all), one profile "p". */
static ax_runspec_t s_spec(const char *path, const char *category)
{
    ax_runspec_t spec = {0};
    assert_true(asprintf(&spec.source, "snapshot:%s", path) > 0);
    if (category) {
        spec.categories = calloc(2, sizeof *spec.categories);
        spec.categories[0] = strdup(category);
        spec.n_categories = 1;
    }
    spec.profiles = calloc(1, sizeof *spec.profiles);
    spec.n_profiles = 1;
    ax_profile_t *p = &spec.profiles[0];
    p->name = strdup("p");
    p->title = strdup("P");
    p->language = strdup("en");
    p->interest = strdup("");
    p->keywords = calloc(1, sizeof *p->keywords);
    p->keywords[0].term = strdup("video");
    p->n_keywords = 1;
    p->min_hits = 1;
    p->top_n = 10;
    return spec;
}

static ax_run_t *s_create(redisContext *c, const char *path, const char *category)
{
    ax_runspec_t spec = s_spec(path, category);
    char *err = NULL;
    ax_run_t *run = ax_run_create(c, &spec, NULL, &err);
    if (!run)
        fail_msg("ax_run_create: %s", err ? err : "?");
    ax_runspec_clear(&spec);
    return run;
}

/*  Harvests (waking on the source's descriptor) until the call makes progress (1) or
 *  until want_batch papers wait in the batch (c NULL: Redis unreachable). 10 s at most. */
static int s_harvest(ax_run_t *run, redisContext *c, const ax_run_bounds_t *b, size_t want_batch)
{
    for (int i = 0; i < 1000; i++) {
        int rc = ax_run_harvest(run, c, b);
        if (rc != 0 || (want_batch && run->n_batch >= want_batch) || !run->source)
            return rc;
        struct pollfd pfd = {ax_source_fd(run->source), POLLIN, 0};
        (void) poll(&pfd, 1, 10);
    }
    fail_msg("the harvest made no progress in 10 s");
    return -1;
}

/*  Line i (0-based) of the test snapshot: a paper of the bundled sample, a malformed
 *  line every 7th, a blank one every 11th. */
static void s_write_mixed(const char *path, int lines)
{
    FILE *in = fopen(BUNDLED, "r"), *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < lines; i++) {
        if (i % 7 == 3)
            fputs("{\"id\":\"0704.0002\",\"title\":}\n", out);
        else if (i % 11 == 5)
            fputs("\n", out);
        else {
            assert_true(getline(&line, &cap, in) > 0);
            fputs(line, out);
        }
    }
    free(line);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/*  The stats of reading path whole with the same filter: the oracle. */
static ax_snapshot_stats_t s_oracle(const char *path, const char *category)
{
    char *cats[] = {(char *) category}, *err = NULL;
    ax_snapshot_filter_t f = {cats, category ? 1 : 0, 0, 0};
    ax_snapshot_t *s = ax_snapshot_open(path, &f, &err);
    assert_non_null(s);
    ax_paper_t p;
    while (ax_snapshot_next(s, &p) == 1)
        ax_paper_clear(&p);
    ax_snapshot_stats_t st = *ax_snapshot_stats(s);
    ax_snapshot_destroy(&s);
    return st;
}

/*  The run's single resumed copy from Redis (a restarted broker's view). */
static ax_run_t *s_reload(redisContext *c)
{
    size_t n = 0;
    char *err = NULL;
    ax_run_t **runs = ax_run_load_all(c, NULL, &n, &err);
    assert_non_null(runs);
    assert_int_equal(n, 1);
    ax_run_t *run = runs[0];
    free(runs);
    return run;
}

static long long s_hget(redisContext *c, const char *run, const char *field)
{
    redisReply *r = redisCommand(c, "HGET ax:run:{%s} %s", run, field);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

/*  Item 21: the broker read a batch it could not record (Redis away), then wrote the
 *  run's counters (a DONE flush), then died. The restarted broker reads that batch again
 *  from the cursor: read, malformed and filtered must still count each line once. */
static void test_counts_move_with_cursor(void **state)
{
    redisContext *c = s_connect();
    const char *path = s_tmp("mixed.jsonl");
    s_write_mixed(path, 400);
    ax_snapshot_stats_t want = s_oracle(path, "cs.CV");
    assert_true(want.malformed > 40 && want.filtered > 40 && want.papers > 40);
    ax_run_bounds_t b = {.papers = 10, .bytes = 1 << 20, .paper_bytes = 1 << 18};

    for (int life = 0; life < 3; life++) {
        ax_run_t *run = life == 0 ? s_create(c, path, "cs.CV") : s_reload(c);
        for (int j = 0; j < 2 + life; j++)
            assert_int_equal(s_harvest(run, c, &b, 0), 1);
        s_harvest(run, NULL, &b, b.papers);             /* read, not recorded */
        assert_int_equal(run->n_batch, b.papers);
        assert_int_equal(ax_run_publish(run, c, AX_RUN_STATE_NONE), 0);
        ax_run_destroy(&run);                           /* killed */
    }
    ax_run_t *run = s_reload(c);
    while (run->source)
        assert_int_not_equal(s_harvest(run, c, &b, 0), -1);
    assert_int_equal(run->n.read, want.lines);
    assert_int_equal(run->n.malformed, want.malformed);
    assert_int_equal(run->n.filtered, want.filtered);
    assert_int_equal(run->n.harvested, want.papers);
    assert_int_equal(run->n.duplicates, 0);
    assert_int_equal(s_hget(c, run->id, "read"), (long long) want.lines);
    assert_int_equal(s_hget(c, run->id, "malformed"), (long long) want.malformed);
    assert_int_equal(s_hget(c, run->id, "filtered"), (long long) want.filtered);
    ax_run_destroy(&run);
    redisFree(c);
}

/*  A paper of the bundled sample (line n, 1-based) with its abstract replaced by
 *  `bytes` bytes of words, written as one line to f. */
static void s_write_big(FILE *f, int n, size_t bytes)
{
    FILE *in = fopen(BUNDLED, "r");
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < n; i++)
        assert_true(getline(&line, &cap, in) > 0);
    fclose(in);
    char *abs = strstr(line, "\"abstract\":\"");
    assert_non_null(abs);
    char *end = strchr(abs + 12, '"');
    assert_non_null(end);
    fwrite(line, 1, (size_t) (abs + 12 - line), f);
    for (size_t k = 0; k < bytes; k += 8)
        fputs("lorem ip", f);
    fputs(end, f);
    free(line);
}

/*  Item 9: jobs are cut by bytes; a paper larger than paper_bytes goes in no job and is
 *  recorded failed for every profile with its size, and counted harvested. */
static void test_job_bytes(void **state)
{
    redisContext *c = s_connect();
    const char *path = s_tmp("big.jsonl");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 1; i <= 12; i++)
        s_write_big(f, i, i == 6 ? 3000000 : 200000);   /* paper 6 is too large */
    assert_int_equal(fclose(f), 0);
    char id[64], *line = NULL;
    size_t cap = 0;
    FILE *in = fopen(path, "r");
    for (int i = 0; i < 6; i++)
        assert_true(getline(&line, &cap, in) > 0);
    fclose(in);
    assert_int_equal(sscanf(line, "{\"id\":\"%63[^\"]\"", id), 1);
    free(line);
    ax_run_bounds_t b = {.papers = 64, .bytes = 1 << 20, .paper_bytes = 300000};
    ax_run_t *run = s_create(c, path, NULL);
    while (run->source)
        assert_int_not_equal(s_harvest(run, c, &b, 0), -1);
    assert_int_equal(run->n.harvested, 12);
    size_t papers = 0;
    for (ax_run_job_t *job = ax_run_pop(run); job; job = ax_run_pop(run)) {
        assert_true(job->papers.size <= b.bytes);
        assert_true(job->n >= 1 && job->n <= 4);        /* 1 MB holds 4 papers of 200 kB */
        for (size_t i = 0; i < job->n; i++)
            assert_string_not_equal(job->ids[i], id);
        papers += job->n;
        assert_int_equal(ax_run_finish(run, c, job, 0), 0);
    }
    assert_int_equal(papers, 11);
    assert_true(run->n.jobs_total >= 3);
    ax_run_flush(run, c);
    assert_true(ax_run_complete(run));

    /* the refused paper: failed, with the reason, and counted */
    redisReply *r = redisCommand(c, "HGET ax:run:{%s}:states:p %s", run->id, id);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, "failed\t"));
    assert_non_null(strstr(r->str, "broker.paper_max_bytes"));
    freeReplyObject(r);
    r = redisCommand(c, "HGET ax:run:{%s}:counts:p failed", run->id);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    assert_int_equal(s_hget(c, run->id, "harvested"), 12);
    ax_run_destroy(&run);
    redisFree(c);
}

/*  Item 6: /dev/zero, a FIFO and a directory are refused when the run is created, at
 *  once (a FIFO with no writer would block an open); nothing is recorded. */
static void test_not_a_regular_file(void **state)
{
    redisContext *c = s_connect();
    const char *fifo = s_tmp("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {"/dev/zero", fifo, s_dir};
    const char *why[] = {"not a regular file", "not a regular file", "directory"};
    for (size_t i = 0; i < 3; i++) {
        ax_runspec_t spec = s_spec(paths[i], NULL);
        char *err = NULL;
        int64_t t0 = ax_mono_ms();
        assert_null(ax_run_create(c, &spec, NULL, &err));
        assert_true(ax_mono_ms() - t0 < 1000);
        assert_non_null(err);
        if (!strstr(err, why[i]) || !strstr(err, paths[i]))
            fail_msg("%s: %s", paths[i], err);
        free(err);
        ax_runspec_clear(&spec);
    }
    redisReply *r = redisCommand(c, "ZCARD ax:runs");
    assert_non_null(r);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    redisFree(c);
}

/*  Item 6: a run whose snapshot became a FIFO fails with a clear error: when its thread
 *  opens it (replaced after SUBMIT), and when a restarted broker resumes it. */
static void test_source_replaced(void **state)
{
    redisContext *c = s_connect();
    const char *path = s_tmp("replaced.jsonl");
    ax_run_bounds_t b = {.papers = 10, .bytes = 1 << 20, .paper_bytes = 1 << 18};
    for (int resumed = 0; resumed < 2; resumed++) {
        unlink(path);
        s_write_mixed(path, 100);
        ax_run_t *run = s_create(c, path, NULL);
        if (resumed) {
            assert_int_equal(s_harvest(run, c, &b, 0), 1);
            ax_run_destroy(&run);               /* killed */
        }
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkfifo(path, 0600), 0);
        if (!resumed) {
            int64_t t0 = ax_mono_ms();
            assert_int_equal(s_harvest(run, c, &b, 0), -1);
            assert_true(ax_mono_ms() - t0 < 2000);
            if (!strstr(ax_source_error(run->source), "not a regular file"))
                fail_msg("error: %s", ax_source_error(run->source));
            ax_run_destroy(&run);
            continue;
        }
        size_t n = 0;
        char *err = NULL, *id = NULL;
        redisReply *r = redisCommand(c, "ZRANGE ax:runs -1 -1");
        assert_true(r && r->elements == 1);
        id = strdup(r->element[0]->str);
        freeReplyObject(r);
        ax_run_t **runs = ax_run_load_all(c, NULL, &n, &err);
        assert_non_null(runs);
        assert_int_equal(n, 0);
        free(runs);
        r = redisCommand(c, "HMGET ax:run:{%s} state error", id);
        assert_true(r && r->elements == 2 && r->element[0]->str && r->element[1]->str);
        assert_string_equal(r->element[0]->str, "failed");
        if (!strstr(r->element[1]->str, "FIFO") || !strstr(r->element[1]->str, path))
            fail_msg("error: %s", r->element[1]->str);
        freeReplyObject(r);
        free(id);
    }
    unlink(path);
    redisFree(c);
}

/*  A redisContext logged in as user (password pw) on the fixture's server. */
static redisContext *s_connect_as(const char *user, const char *pw)
{
    redisContext *c = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "AUTH %s %s", user, pw);
    assert_true(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    return c;
}

/*  Issue 12: Redis fails in the middle of loading the unfinished runs: an ACL refuses the
 *  keys of the second run (its record: the first one loaded fine; or only its jobs, so its
 *  record reads but its jobs do not). The load gives nothing, never the runs before the
 *  failure, so the broker tries the whole load again instead of never resuming the
 *  others; and a run whose jobs could not be read is not marked failed (it would be lost
 *  for good). Once Redis answers again every run is resumed. */
static void test_load_all_fails_whole(void **state)
{
    redisContext *c = s_connect();
    const char *path = s_tmp("three.jsonl");
    s_write_mixed(path, 60);
    for (int i = 0; i < 3; i++) {
        ax_run_t *run = s_create(c, path, NULL);
        ax_run_destroy(&run);
    }
    redisReply *ids = redisCommand(c, "ZRANGE ax:runs 0 -1");
    assert_true(ids && ids->elements == 3);
    const char *second[] = {"", "~ax:run:{%s}"};       /* none of its keys / only its record */
    for (int variant = 0; variant < 2; variant++) {
        char acl[512];
        snprintf(acl, sizeof acl, "ACL SETUSER loader reset on >pw +@all ~ax:runs ~ax:run:{%s}* ~ax:run:{%s}* %s",
                 ids->element[0]->str, ids->element[2]->str, second[variant]);
        redisReply *r = redisCommand(c, acl, ids->element[1]->str);
        assert_true(r && r->type == REDIS_REPLY_STATUS);
        freeReplyObject(r);
        redisContext *loader = s_connect_as("loader", "pw");
        size_t n = 99;
        char *err = NULL;
        ax_run_t **runs = ax_run_load_all(loader, NULL, &n, &err);
        if (runs)
            fail_msg("variant %d: a list of %zu runs (error: %s)", variant, n, err ? err : "none");
        assert_int_equal(n, 0);
        assert_non_null(err);
        assert_non_null(strstr(err, "NOPERM"));
        free(err);
        for (size_t i = 0; i < 3; i++) {
            r = redisCommand(c, "HGET ax:run:{%s} state", ids->element[i]->str);
            assert_string_equal(r->str, "queued");     /* none marked failed */
            freeReplyObject(r);
        }
        redisFree(loader);
    }
    redisReply *r = redisCommand(c, "ACL SETUSER loader ~*");       /* Redis answers again */
    freeReplyObject(r);
    redisContext *loader = s_connect_as("loader", "pw");
    size_t n = 0;
    char *err = NULL;
    ax_run_t **runs = ax_run_load_all(loader, NULL, &n, &err);
    assert_non_null(runs);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(runs[i]->id, ids->element[i]->str);     /* oldest first */
        ax_run_destroy(&runs[i]);
    }
    free(runs);
    freeReplyObject(ids);
    redisFree(loader);
    redisFree(c);
}

int main(void)
{
    ax_log_init("test_run");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_move_with_cursor),
        cmocka_unit_test(test_job_bytes),
        cmocka_unit_test(test_not_a_regular_file),
        cmocka_unit_test(test_source_replaced),
        cmocka_unit_test(test_load_all_fails_whole),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
