/*  test_run_store.c: the run store (common/run_store.h) against a private redis-server.
 *
 *  One realistic scenario drives every operation of the store (a run created with its
 *  request id, jobs committed, RESULTs stored for two profiles, failed papers, jobs
 *  finished, LLM usage direct and pipelined, state changes, the render queue, the broker's
 *  registry, the namespace lease) and checks what each returns. Meanwhile MONITOR records
 *  every command Redis runs (those of scripts and transactions included); afterwards every
 *  key is scanned (SCAN, TYPE, HKEYS). Both must show only keys, types and hash fields
 *  that the table "Every key and field" of docs/protocol.md section 8 lists, parsed here
 *  from the document, and every key and field the table lists for the namespace must have
 *  been written: a field written without being documented, or documented but written by
 *  nobody, fails the test. The checker is itself checked on writes it must refuse.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "log.h"
#include "redis_fixture.h"
#include "run_store.h"
#include "store.h"
#include "text.h"

#define NS "axt:ns.1"
#define DOC AX_SOURCE_DIR "/docs/protocol.md"

static ax_redis_fixture_t s_redis;

static int s_setup(void **state)
{
    (void) state;
    ax_log_set_level(AX_LOG_ERROR);
    return ax_redis_fixture_start(&s_redis);
}

static int s_teardown(void **state)
{
    (void) state;
    ax_redis_fixture_stop(&s_redis);
    return 0;
}

static redisContext *s_connect(void)
{
    redisContext *c = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c);
    assert_int_equal(ax_redis_fixture_flush(c), 0);
    return c;
}

/* ---------------------------------------------------------------- the documented keys */

/*  One row of the table: a key pattern, its type, its fields (any_field: a field in
 *  italics, any field of that kind). used* note what the scenario wrote. */
typedef struct {
    char pattern[160];
    regex_t re;
    char type[32];
    char fields[8][40];
    size_t n_fields;
    int any_field, used, used_field[8];
} s_row_t;

typedef struct {
    s_row_t rows[64];
    size_t n;
} s_doc_t;

/*  The key pattern of a cell as an anchored regex: NS is the namespace, {X} any run id
 *  (or limiter hash) between braces, <X> any text; the rest is literal. */
static void s_pattern_regex(const char *pattern, char *re, size_t size)
{
    size_t o = 0;
    const char *p = pattern;
    o += (size_t) snprintf(re + o, size - o, "^");
    if (strncmp(p, "NS:", 3) == 0) {
        for (const char *q = NS; *q; q++)
            o += (size_t) snprintf(re + o, size - o, strchr(".", *q) ? "\\%c" : "%c", *q);
        p += 2;
    }
    for (; *p && o < size - 16; p++) {
        const char *end = NULL;
        if (*p == '{' && (end = strchr(p, '}'))) {
            o += (size_t) snprintf(re + o, size - o, "\\{[^{}]+\\}");
            p = end;
        } else if (*p == '<' && (end = strchr(p, '>'))) {
            o += (size_t) snprintf(re + o, size - o, ".+");
            p = end;
        } else
            o += (size_t) snprintf(re + o, size - o, strchr(".[]()*+?^$\\|", *p) ? "\\%c" : "%c", *p);
    }
    snprintf(re + o, size - o, "$");
}

/*  The text between backticks, and the cells of a table row. */
static void s_cell(const char *line, int index, char *out, size_t size)
{
    const char *p = strchr(line, '|');
    for (int i = 0; i < index && p; i++)
        p = strchr(p + 1, '|');
    const char *end = p ? strchr(p + 1, '|') : NULL;
    if (!p || !end) {
        out[0] = '\0';
        return;
    }
    p++;
    while (*p == ' ')
        p++;
    size_t n = (size_t) (end - p);
    while (n && p[n - 1] == ' ')
        n--;
    snprintf(out, size, "%.*s", (int) n, p);
}

static void s_doc_row(s_doc_t *doc, const char *line)
{
    char key[200], type[32], fields[400];
    s_cell(line, 0, key, sizeof key);
    s_cell(line, 1, type, sizeof type);
    s_cell(line, 2, fields, sizeof fields);
    assert_true(doc->n < 64);
    s_row_t *r = &doc->rows[doc->n++];
    memset(r, 0, sizeof *r);
    assert_true(key[0] == '`' && key[strlen(key) - 1] == '`');
    snprintf(r->pattern, sizeof r->pattern, "%.*s", (int) strlen(key) - 2, key + 1);
    snprintf(r->type, sizeof r->type, "%s", type);
    char re[400];
    s_pattern_regex(r->pattern, re, sizeof re);
    assert_int_equal(regcomp(&r->re, re, REG_EXTENDED | REG_NOSUB), 0);
    r->any_field = strchr(fields, '*') != NULL;
    for (const char *p = strchr(fields, '`'); p; p = strchr(p + 1, '`')) {
        const char *end = strchr(p + 1, '`');
        assert_non_null(end);
        assert_true(r->n_fields < 8);
        snprintf(r->fields[r->n_fields++], sizeof r->fields[0], "%.*s", (int) (end - p - 1), p + 1);
        p = end;
    }
}

/*  The table of docs/protocol.md that follows its header row. */
static void s_doc_load(s_doc_t *doc)
{
    FILE *f = fopen(DOC, "r");
    char *line = NULL;
    size_t cap = 0;
    int in = 0;
    assert_non_null(f);
    memset(doc, 0, sizeof *doc);
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, "| key | type | field | value | written by |", 43) == 0)
            in = 1;
        else if (in && line[0] != '|')
            break;
        else if (in && strncmp(line, "|---", 4) != 0)
            s_doc_row(doc, line);
    }
    free(line);
    fclose(f);
    assert_true(doc->n > 20);
}

static void s_doc_free(s_doc_t *doc)
{
    for (size_t i = 0; i < doc->n; i++)
        regfree(&doc->rows[i].re);
}

/*  Checks that key, of type (NULL: whichever the command does not say), may be written
 *  with the field (NULL: none), and notes the row as used. NULL when it may, else why. */
static const char *s_doc_allows(s_doc_t *doc, const char *key, const char *type, const char *field)
{
    static char why[600];
    int key_known = 0;
    for (size_t i = 0; i < doc->n; i++) {
        s_row_t *r = &doc->rows[i];
        if (regexec(&r->re, key, 0, NULL, 0) != 0)
            continue;
        key_known = 1;
        if (type && strcmp(type, r->type) != 0)
            continue;
        if (!field) {
            r->used = 1;
            return NULL;
        }
        if (r->any_field)
            return r->used = 1, NULL;
        for (size_t f = 0; f < r->n_fields; f++)
            if (strcmp(r->fields[f], field) == 0)
                return r->used = r->used_field[f] = 1, NULL;
    }
    snprintf(why, sizeof why, "%s %s%s%s is not in the table of docs/protocol.md section 8",
             key_known ? "key" : "undocumented key", key, field ? " field " : "", field ? field : "");
    if (key_known && type)
        snprintf(why + strlen(why), sizeof why - strlen(why), " (as a %s)", type);
    return why;
}

/*  What a command writes, judged against the table: NULL when it is allowed (or reads
 *  only), else why. argv[0] is the command's name. */
static const char *s_doc_check(s_doc_t *doc, int argc, char **argv)
{
    static const struct {
        const char *cmd, *type;
        int fields;                 /* 1: fields from argv[2] on, every 2nd; 2: argv[2] only */
    } writes[] = {
        {"HSET", "hash", 1}, {"HMSET", "hash", 1}, {"HSETNX", "hash", 1}, {"HINCRBY", "hash", 2},
        {"HINCRBYFLOAT", "hash", 2}, {"HDEL", "hash", 0}, {"SADD", "set", 0}, {"SREM", "set", 0},
        {"ZADD", "zset", 0}, {"ZREM", "zset", 0}, {"ZREMRANGEBYSCORE", "zset", 0}, {"RPUSH", "list", 0},
        {"LPUSH", "list", 0}, {"LREM", "list", 0}, {"SET", "string", 0}, {"INCR", "string", 0},
        {"INCRBY", "string", 0}, {"PEXPIRE", NULL, 0}, {"EXPIRE", NULL, 0}, {"PEXPIREAT", NULL, 0},
        {"DEL", NULL, 0}, {"UNLINK", NULL, 0},
    };
    static const char *reads =
        " HGET HMGET HGETALL HSCAN HKEYS HLEN GET MGET EXISTS ZCARD ZRANGE ZREVRANGE ZRANGEBYSCORE LRANGE LLEN "
        "SMISMEMBER SISMEMBER SCARD TYPE SCAN TIME PING ECHO MULTI EXEC DISCARD EVAL EVALSHA SCRIPT SELECT AUTH "
        "HELLO CLIENT INFO PTTL TTL ";
    static char why[200];
    char word[40];
    snprintf(word, sizeof word, " %s ", argv[0]);
    for (char *p = word; *p; p++)
        *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    if (strstr(reads, word))
        return NULL;
    for (size_t w = 0; w < sizeof writes / sizeof *writes; w++) {
        if (strcasecmp(argv[0], writes[w].cmd) != 0)
            continue;
        if (argc < 2)
            return "a write without a key";
        int n_keys = strcasecmp(argv[0], "DEL") == 0 || strcasecmp(argv[0], "UNLINK") == 0 ? argc - 1 : 1;
        for (int k = 1; k <= n_keys; k++) {
            const char *problem = s_doc_allows(doc, argv[k], writes[w].type, NULL);
            if (problem)
                return problem;
        }
        for (int i = 2; writes[w].fields && i < argc; i += writes[w].fields == 1 ? 2 : argc) {
            const char *problem = s_doc_allows(doc, argv[1], "hash", argv[i]);
            if (problem)
                return problem;
        }
        return NULL;
    }
    snprintf(why, sizeof why, "the test does not know the command %s: add it to s_doc_check", argv[0]);
    return why;
}

/* ---------------------------------------------------------------- MONITOR */

/*  The arguments of a MONITOR line ('1700000000.1 [0 lua] "HSET" "k" "f" "v"'), unquoted
 *  (\" \\ \n \r \t \a \b \xHH). Returns argc; argv[i] are the caller's (free each). */
static int s_monitor_argv(const char *line, char **argv, int max)
{
    int argc = 0;
    const char *p = strchr(line, ']');
    while (p && (p = strchr(p, '"')) && argc < max) {
        char *out = malloc(strlen(p) + 1), *o = out;
        assert_non_null(out);
        for (p++; *p && *p != '"'; p++) {
            if (*p != '\\') {
                *o++ = *p;
                continue;
            }
            p++;
            if (*p == 'x' && p[1] && p[2]) {
                char hex[3] = {p[1], p[2], 0};
                *o++ = (char) strtol(hex, NULL, 16);
                p += 2;
            } else
                *o++ = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p == 'a' ? '\a' : *p == 'b' ? '\b' : *p;
        }
        *o = '\0';
        argv[argc++] = out;
        if (*p)
            p++;
    }
    return argc;
}

/*  Reads the monitor's lines until the marker `ECHO end` sent by c, and checks every
 *  command against the table. Returns the number of commands seen. */
static size_t s_monitor_check(redisContext *mon, redisContext *c, s_doc_t *doc)
{
    redisReply *r = redisCommand(c, "ECHO ax-monitor-end");
    freeReplyObject(r);
    size_t seen = 0;
    for (;;) {
        void *reply = NULL;
        assert_int_equal(redisGetReply(mon, &reply), REDIS_OK);
        r = reply;
        assert_int_equal(r->type, REDIS_REPLY_STATUS);
        char *argv[4096];
        int argc = s_monitor_argv(r->str, argv, 4096);
        int end = argc == 2 && strcmp(argv[0], "ECHO") == 0 && strcmp(argv[1], "ax-monitor-end") == 0;
        const char *problem = argc > 0 && !end ? s_doc_check(doc, argc, argv) : NULL;
        if (problem)
            fail_msg("%s\n  (command: %.300s)", problem, r->str);
        for (int i = 0; i < argc; i++)
            free(argv[i]);
        freeReplyObject(r);
        if (end)
            return seen;
        seen++;
    }
}

/*  Every key in the db now: its type and (hashes) its fields must be in the table. */
static size_t s_scan_check(redisContext *c, s_doc_t *doc)
{
    char cursor[32] = "0";
    size_t keys = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %s COUNT 1000", cursor);
        assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++, keys++) {
            const char *key = r->element[1]->element[i]->str;
            redisReply *t = redisCommand(c, "TYPE %s", key);
            const char *problem = s_doc_allows(doc, key, t->str, NULL);
            if (problem)
                fail_msg("%s", problem);
            if (strcmp(t->str, "hash") == 0) {
                redisReply *f = redisCommand(c, "HKEYS %s", key);
                for (size_t k = 0; k < f->elements; k++)
                    if ((problem = s_doc_allows(doc, key, "hash", f->element[k]->str)))
                        fail_msg("%s", problem);
                freeReplyObject(f);
            }
            freeReplyObject(t);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return keys;
}

/*  Every key and field the table lists in the namespace was written by the scenario:
 *  the table describes what the code does, not what it once did. */
static void s_doc_all_used(const s_doc_t *doc)
{
    for (size_t i = 0; i < doc->n; i++) {
        const s_row_t *r = &doc->rows[i];
        if (strncmp(r->pattern, "NS:", 3) != 0)
            continue;               /* the limiter's keys: not the run store's */
        if (!r->used)
            fail_msg("docs/protocol.md lists %s (%s), which the scenario never wrote", r->pattern, r->type);
        for (size_t f = 0; !r->any_field && f < r->n_fields; f++)
            if (!r->used_field[f])
                fail_msg("docs/protocol.md lists %s field %s, which the scenario never wrote", r->pattern,
                         r->fields[f]);
    }
}

/* ---------------------------------------------------------------- the scenario */

static ax_runspec_t s_spec(const char *request)
{
    ax_runspec_t spec = {.source = strdup("snapshot:/data/x.jsonl"), .job_size = 3, .group_by = strdup("day")};
    spec.request = request ? strdup(request) : NULL;
    spec.profiles = calloc(2, sizeof *spec.profiles);
    spec.n_profiles = 2;
    const char *names[] = {"p1", "p2"};
    for (size_t i = 0; i < 2; i++) {
        ax_profile_t *p = &spec.profiles[i];
        p->name = strdup(names[i]);
        p->title = strdup("T");
        p->language = strdup("en");
        p->interest = strdup("");
        p->min_hits = 1;
        p->top_n = 10;
    }
    return spec;
}

static ax_paper_t s_paper(const char *id)
{
    ax_paper_t p = {.id = (char *) id, .version = 1, .title = "A title", .abstract = "An abstract.",
                    .submitted = 1780000000, .updated = 1780000000};
    return p;
}

/*  A RESULT of job for ids, one verdict per profile: verdicts[i][p]. */
static int s_store(redisContext *c, const char *run, uint64_t job, const char *const *ids, size_t n,
                   const ax_state_t (*states)[2], const char **reason)
{
    char *profiles[] = {"p1", "p2"}, *err = NULL;
    ax_item_t items[4];
    ax_verdict_t verdicts[4][2];
    memset(verdicts, 0, sizeof verdicts);
    for (size_t i = 0; i < n; i++) {
        items[i].paper = s_paper(ids[i]);
        items[i].verdicts = verdicts[i];
        for (size_t p = 0; p < 2; p++) {
            verdicts[i][p].profile = profiles[p];
            verdicts[i][p].state = states[i][p];
            verdicts[i][p].reason = states[i][p] == AX_STATE_EXCLUDED ? "category" : NULL;
            if (states[i][p] == AX_STATE_ENRICHED)
                verdicts[i][p].llm.score = 4;
        }
    }
    ax_result_t res = {.run = (char *) run, .job = job, .attempt = 1, .profiles = profiles, .n_profiles = 2,
                       .items = items, .n_items = n};
    int rc = ax_run_store_result(c, &res, reason, &err);
    if (rc == AX_STORE_ERROR)
        fail_msg("store: %s", err ? err : "?");
    free(err);
    return rc;
}

/*  Creation, request id, index: a run R1 (with a request id) and a run R2 (without). */
static void s_scenario_create(redisContext *c)
{
    char *err = NULL, *run = NULL, **ids = NULL;
    size_t n = 0;
    ax_runspec_t spec = s_spec("req-1");
    assert_int_equal(ax_run_store_create(c, "R1", &spec, 1000, &err), 0);
    ax_runspec_clear(&spec);
    spec = s_spec(NULL);
    assert_int_equal(ax_run_store_create(c, "R2", &spec, 2000, &err), 0);
    ax_runspec_clear(&spec);
    assert_int_equal(ax_run_store_by_request(c, "req-1", &run, &err), 1);
    assert_string_equal(run, "R1");
    free(run);
    assert_int_equal(ax_run_store_by_request(c, "req-2", &run, &err), 0);
    assert_int_equal(ax_run_store_by_request(c, "bad{req}", &run, &err), -1);
    free(err);
    err = NULL;
    assert_int_equal(ax_run_store_exists(c, "R1", &err), 1);
    assert_int_equal(ax_run_store_exists(c, "R9", &err), 0);
    assert_int_equal(ax_run_store_exists(c, NULL, &err), 1);
    assert_int_equal(ax_run_store_list(c, 1, 1, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "R2");              /* newest first */
    ax_strv_free(&ids, n);
    assert_int_equal(ax_run_store_list(c, 0, 0, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "R1");
    ax_strv_free(&ids, n);
    ax_run_state_t st;
    assert_int_equal(ax_run_store_state(c, "R1", &st, &err), 1);
    assert_int_equal(st, AX_RUN_STATE_QUEUED);
    assert_int_equal(ax_run_store_spec(c, "R1", &spec, &err), 1);
    assert_int_equal(spec.n_profiles, 2);
    assert_string_equal(spec.profiles[1].name, "p2");
    ax_runspec_clear(&spec);
}

/*  The harvest: two jobs, a paper too large for any (failed outside a job), duplicates. */
static void s_scenario_harvest(redisContext *c, ax_run_counts_t *n)
{
    char *err = NULL, *ab[] = {"2601.00001", "2601.00002", "2601.00003"}, *de[] = {"2601.00004", "2601.00005"};
    char *big[] = {"2601.00006"}, *profiles[] = {"p1", "p2"};
    unsigned char seen[3];
    assert_int_equal(ax_run_store_put_counts(c, "R1", n, AX_RUN_STATE_HARVESTING, &err), 0);
    assert_int_equal(ax_run_store_seen(c, "R1", ab, 3, seen, &err), 0);
    assert_true(!seen[0] && !seen[1] && !seen[2]);
    ax_paper_t papers[3] = {s_paper(ab[0]), s_paper(ab[1]), s_paper(ab[2])};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ax_pack_papers(&sb, papers, 3);
    ax_run_store_job_t job = {.id = 1, .papers = sb.data, .papers_len = sb.size, .ids = ab, .n_ids = 3};
    n->harvested = 3, n->jobs_total = 1, n->read = 4, n->malformed = 1;
    snprintf(n->cursor, sizeof n->cursor, "100 4");
    assert_int_equal(ax_run_store_commit_batch(c, "R1", ab, 3, &job, n, AX_RUN_STATE_HARVESTING, &err), 0);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_init(&sb);
    papers[0] = s_paper(de[0]), papers[1] = s_paper(de[1]);
    ax_pack_papers(&sb, papers, 2);                 /* job 2 has no :jobids entry: read from its papers */
    job = (ax_run_store_job_t) {.id = 2, .papers = sb.data, .papers_len = sb.size, .ids = de, .n_ids = 2};
    n->harvested = 5, n->duplicates = 1, n->jobs_total = 2;
    assert_int_equal(ax_run_store_commit_batch(c, "R1", de, 2, &job, n, AX_RUN_STATE_HARVESTING, &err), 0);
    msgpack_sbuffer_destroy(&sb);
    redisReply *r = redisCommand(c, "HDEL " NS ":run:{R1}:jobids 2");
    freeReplyObject(r);
    assert_int_equal(ax_run_store_fail_papers(c, "R1", profiles, 2, 0, big, 1, "paper of 3000000 bytes", &err),
                     AX_STORE_STORED);
    n->harvested = 6, n->harvest_done = 1;
    assert_int_equal(ax_run_store_commit_batch(c, "R1", big, 1, NULL, n, AX_RUN_STATE_DISPATCHING, &err), 0);
    assert_int_equal(ax_run_store_seen(c, "R1", de, 2, seen, &err), 0);
    assert_true(seen[0] && seen[1]);
    assert_int_equal(ax_run_store_save_attempt(c, "R1", 2, 1, &err), 0);
    ax_run_stored_job_t *jobs = NULL;
    size_t n_jobs = 0;
    assert_int_equal(ax_run_store_load_jobs(c, "R1", &jobs, &n_jobs, &err), 0);
    assert_int_equal(n_jobs, 2);
    assert_int_equal(jobs[0].id, 1);
    assert_int_equal(jobs[0].attempt, 0);
    assert_int_equal(jobs[1].id, 2);
    assert_int_equal(jobs[1].attempt, 1);
    ax_run_stored_jobs_free(&jobs, n_jobs);
}

/*  The results of job 1 for two profiles (stored, stored again, refused), job 2 failed,
 *  both finished. */
static void s_scenario_results(redisContext *c, ax_run_counts_t *n)
{
    const char *ids[] = {"2601.00001", "2601.00002", "2601.00003"}, *reason = NULL;
    char *err = NULL, *de[] = {"2601.00004", "2601.00005"}, *profiles[] = {"p1", "p2"};
    const ax_state_t st[3][2] = {{AX_STATE_MATCHED, AX_STATE_BELOW_THRESHOLD},
                                 {AX_STATE_ENRICHED, AX_STATE_ENRICHED},
                                 {AX_STATE_EXCLUDED, AX_STATE_EXCLUDED}};
    assert_int_equal(s_store(c, "R1", 1, ids, 3, st, &reason), AX_STORE_STORED);
    assert_int_equal(s_store(c, "R1", 1, ids, 3, st, &reason), AX_STORE_STORED);      /* again: no change */
    assert_int_equal(s_store(c, "R1", 1, ids, 2, st, &reason), AX_STORE_REFUSED);     /* a paper missing */
    assert_string_equal(reason, "papers");
    assert_int_equal(s_store(c, "R1", 2, ids, 2, st, &reason), AX_STORE_REFUSED);     /* not job 2's */
    assert_int_equal(s_store(c, "R1", 9, ids, 3, st, &reason), AX_STORE_REFUSED);
    assert_string_equal(reason, "job");
    assert_int_equal(s_store(c, "R9", 1, ids, 3, st, &reason), AX_STORE_FINISHED);
    assert_string_equal(reason, "run");
    assert_int_equal(ax_run_store_fail_papers(c, "R1", profiles, 2, 2, de, 2, "job 2 failed 3 times: lease expired",
                                              &err),
                     AX_STORE_STORED);
    uint64_t jobs[] = {1, 2};
    n->jobs_done = 2, n->jobs_failed = 1;
    assert_int_equal(ax_run_store_finish_jobs(c, "R1", jobs, 2, n, AX_RUN_STATE_DISPATCHING, &err), 0);
    assert_int_equal(s_store(c, "R1", 1, ids, 3, st, &reason), AX_STORE_FINISHED);    /* job done */
    uint64_t counts[AX_STATE_COUNT];
    assert_int_equal(ax_run_store_profile_counts(c, "R1", "p1", counts, &err), 0);
    assert_int_equal(counts[AX_STATE_MATCHED], 1);
    assert_int_equal(counts[AX_STATE_ENRICHED], 1);
    assert_int_equal(counts[AX_STATE_EXCLUDED], 1);
    assert_int_equal(counts[AX_STATE_FAILED], 3);
    assert_int_equal(ax_run_store_profile_counts(c, "R1", "p2", counts, &err), 0);
    assert_int_equal(counts[AX_STATE_BELOW_THRESHOLD], 1);
    assert_int_equal(counts[AX_STATE_FAILED], 3);
}

static int s_count_entry(void *ctx, const char *paper, const char *entry, size_t len)
{
    ax_entry_t e;
    char *err = NULL;
    assert_int_equal(ax_entry_decode(entry, len, &e, &err), 0);
    assert_string_equal(e.paper.id, paper);
    ax_entry_clear(&e);
    (*(int *) ctx)++;
    return 0;
}

static int s_count_failed(void *ctx, const char *paper, ax_state_t state, const char *reason)
{
    (void) paper;
    if (state == AX_STATE_FAILED) {
        assert_non_null(reason);
        (*(int *) ctx)++;
    } else if (state == AX_STATE_EXCLUDED)
        assert_string_equal(reason, "category");
    else
        assert_null(reason);
    return 0;
}

/*  Reading the results back: the entries kept, the states with their reasons. */
static void s_scenario_read(redisContext *c)
{
    char *err = NULL;
    int entries = 0, failed = 0;
    assert_int_equal(ax_run_store_scan_entries(c, "R1", "p1", s_count_entry, &entries, &err), 0);
    assert_int_equal(entries, 2);                   /* matched + enriched */
    assert_int_equal(ax_run_store_scan_states(c, "R1", "p2", s_count_failed, &failed, &err), 0);
    assert_int_equal(failed, 3);
}

/*  LLM usage (direct and on a pipeline) and the budget. */
static void s_scenario_llm(redisContext *c)
{
    char *err = NULL;
    ax_llm_counts_t u = {.requests = 2, .prompt_tokens = 1500, .completion_tokens = 300, .cached_tokens = 1024,
                         .http_429s = 1}, hit = {.cache_hits = 3};
    assert_int_equal(ax_run_store_llm_budget_spent(c, "R1", 0.5, &err), 0);
    assert_int_equal(ax_run_store_add_llm(c, "R1", &u, 0.3, &err), 0);
    ax_redis_batch_t *b = ax_redis_batch_new();
    assert_int_equal(ax_run_store_add_llm_batch(b, "R1", &hit, 0), 0);
    assert_int_equal(ax_run_store_add_llm_batch(b, "R1", &u, 0.25), 0);
    assert_int_equal(ax_redis_batch_flush(c, b, &err), 0);
    assert_int_equal(ax_run_store_add_llm_batch(b, "R1", &u, 0.0 / 0.0), -1);
    ax_redis_batch_destroy(&b);
    assert_int_equal(ax_run_store_llm_budget_spent(c, "R1", 0.5, &err), 1);
    assert_int_equal(ax_run_store_llm_budget_spent(c, "R1", 0, &err), 0);     /* no budget */
    assert_int_equal(ax_run_store_llm_budget_spent(c, "R2", 0.5, &err), 0);   /* other run */
}

/*  Collected, rendering, done; R2 failed; the broker's registry and lease. */
static void s_scenario_finish(redisContext *c)
{
    char *err = NULL, **runs = NULL;
    size_t n = 0;
    assert_int_equal(ax_run_store_collected(c, "R1", 5000, &err), 0);
    assert_int_equal(ax_run_store_render_queue(c, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(runs[0], "R1");
    ax_strv_free(&runs, n);
    assert_int_equal(ax_run_store_set_state(c, "R1", AX_RUN_STATE_RENDERING, &err), 0);
    assert_int_equal(ax_run_store_render_finish(c, "R1", "/out/R1", NULL, 6000, &err), 0);
    assert_int_equal(ax_run_store_render_queue(c, &runs, &n, &err), 0);
    assert_int_equal(n, 0);
    ax_strv_free(&runs, n);
    assert_int_equal(ax_run_store_fail(c, "R2", "source failed", &err), 0);
    ax_run_store_broker_t b = {.workers = 3, .jobs_inflight = 2, .jobs_queued = 5, .runs_waiting = 1,
                               .updated_ms = 7000, .pid = 42}, got;
    snprintf(b.run, sizeof b.run, "R1");
    snprintf(b.id, sizeof b.id, "host:42:abcd");
    assert_int_equal(ax_run_store_get_broker(c, &got, &err), 0);
    assert_int_equal(ax_run_store_put_broker(c, &b, &err), 0);
    assert_int_equal(ax_run_store_get_broker(c, &got, &err), 1);
    assert_true(got.workers == 3 && got.jobs_inflight == 2 && got.jobs_queued == 5 && got.runs_waiting == 1);
    assert_true(got.updated_ms == 7000 && got.pid == 42);
    assert_string_equal(got.run, "R1");
    assert_string_equal(got.id, "host:42:abcd");
    ax_lease_t lease;
    assert_int_equal(ax_lease_init(&lease, 5000), 0);
    assert_int_equal(ax_lease_tick(&lease, c, 1000), AX_LEASE_HELD);
    ax_lease_release(&lease, c);
}

/*  The record as every reader sees it, after the scenario. */
static void s_check_records(redisContext *c)
{
    ax_run_record_t rec;
    ax_runspec_t spec;
    char *err = NULL;
    assert_int_equal(ax_run_store_load(c, "R1", &rec, &err), 1);
    assert_int_equal(rec.state, AX_RUN_STATE_DONE);
    assert_string_equal(rec.source, "snapshot:/data/x.jsonl");
    assert_int_equal(ax_run_record_spec(&rec, &spec, &err), 0);
    assert_int_equal(spec.n_profiles, 2);
    ax_runspec_clear(&spec);
    assert_int_equal(rec.n.harvested, 6);
    assert_int_equal(rec.n.duplicates, 1);
    assert_int_equal(rec.n.jobs_total, 2);
    assert_int_equal(rec.n.jobs_done, 2);
    assert_int_equal(rec.n.jobs_failed, 1);
    assert_int_equal(rec.n.read, 4);
    assert_int_equal(rec.n.malformed, 1);
    assert_int_equal(rec.n.harvest_done, 1);
    assert_string_equal(rec.n.cursor, "100 4");
    assert_int_equal(rec.papers_done, 6);           /* 3 stored + 1 too large + 2 of job 2, each once */
    assert_int_equal(rec.llm.requests, 4);
    assert_int_equal(rec.llm.cache_hits, 3);
    assert_int_equal(rec.llm.prompt_tokens, 3000);
    assert_int_equal(rec.llm.completion_tokens, 600);
    assert_int_equal(rec.llm.cached_tokens, 2048);
    assert_int_equal(rec.llm.http_429s, 2);
    assert_float_equal(rec.llm_cost_usd, 0.55, 1e-9);
    assert_int_equal(rec.created_ms, 1000);
    assert_true(rec.updated_ms > 0);
    assert_int_equal(rec.completed_ms, 5000);
    assert_int_equal(rec.rendered_ms, 6000);
    assert_string_equal(rec.output, "/out/R1");
    assert_null(rec.error);
    ax_run_record_clear(&rec);
    assert_int_equal(ax_run_store_load(c, "R2", &rec, &err), 1);
    assert_int_equal(rec.state, AX_RUN_STATE_FAILED);
    assert_string_equal(rec.error, "source failed");
    ax_run_record_clear(&rec);
    assert_int_equal(ax_run_store_load(c, "R9", &rec, &err), 0);
    assert_int_equal(ax_run_store_load(c, "R{1}", &rec, &err), 0);     /* can name no run */
}

static void test_every_key_is_documented(void **state)
{
    (void) state;
    redisContext *c = s_connect(), *mon = ax_redis_fixture_connect(&s_redis);
    s_doc_t doc;
    ax_run_counts_t n = {0};
    s_doc_load(&doc);
    assert_int_equal(ax_store_namespace_set(NS), 0);
    redisReply *r = redisCommand(mon, "MONITOR");
    assert_true(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    s_scenario_create(c);
    s_scenario_harvest(c, &n);
    s_scenario_results(c, &n);
    s_scenario_read(c);
    s_scenario_llm(c);
    s_scenario_finish(c);
    assert_true(s_monitor_check(mon, c, &doc) > 40);
    assert_true(s_scan_check(c, &doc) > 10);
    s_doc_all_used(&doc);
    s_check_records(c);
    assert_int_equal(ax_store_namespace_set("ax"), 0);
    s_doc_free(&doc);
    redisFree(mon);
    redisFree(c);
}

/*  The checker refuses what the table does not list: a field, a key, a type. */
static void test_checker_refuses(void **state)
{
    (void) state;
    s_doc_t doc;
    s_doc_load(&doc);
    char *ok[] = {"HSET", NS ":run:{R}", "state", "queued", "llm_429s", "1"};
    char *field[] = {"HSET", NS ":run:{R}", "state", "queued", "bogus", "1"};
    char *incr[] = {"HINCRBY", NS ":run:{R}", "llm_tokens", "1"};
    char *key[] = {"SET", NS ":run:{R}:bogus", "1"};
    char *type[] = {"SADD", NS ":runs", "R"};
    char *other_ns[] = {"HSET", "ax:run:{R}", "state", "queued"};
    char *unknown[] = {"XADD", NS ":run:{R}", "*", "a", "b"};
    assert_null(s_doc_check(&doc, 6, ok));
    assert_non_null(strstr(s_doc_check(&doc, 6, field), "field bogus"));
    assert_non_null(strstr(s_doc_check(&doc, 4, incr), "field llm_tokens"));
    assert_non_null(strstr(s_doc_check(&doc, 3, key), "undocumented key"));
    assert_non_null(strstr(s_doc_check(&doc, 3, type), "as a set"));
    assert_non_null(s_doc_check(&doc, 4, other_ns));
    assert_non_null(strstr(s_doc_check(&doc, 5, unknown), "does not know"));
    s_doc_free(&doc);
}

static void test_state_names(void **state)
{
    (void) state;
    const char *names[] = {"queued", "harvesting", "dispatching", "collected", "rendering", "done", "failed"};
    for (int s = AX_RUN_STATE_NONE + 1; s < AX_RUN_STATE_COUNT; s++) {
        assert_string_equal(ax_run_state_name((ax_run_state_t) s), names[s - 1]);
        assert_int_equal(ax_run_state_from_name(names[s - 1]), s);
    }
    assert_int_equal(ax_run_state_from_name("bogus"), AX_RUN_STATE_NONE);
    assert_int_equal(ax_run_state_from_name(NULL), AX_RUN_STATE_NONE);
    assert_string_equal(ax_run_state_name(AX_RUN_STATE_COUNT), "none");
    assert_true(ax_run_state_unfinished(AX_RUN_STATE_QUEUED) && !ax_run_state_unfinished(AX_RUN_STATE_COLLECTED));
    assert_true(ax_run_state_active(AX_RUN_STATE_DISPATCHING) && !ax_run_state_active(AX_RUN_STATE_QUEUED));
}

int main(void)
{
    ax_log_init("test_run_store");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_is_documented),
        cmocka_unit_test(test_checker_refuses),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
