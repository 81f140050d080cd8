/*  test_snapshot.c: the Kaggle snapshot reader (broker/harvest/snapshot.c) on the real 200-line
 *  sample and the bundled 6,356-paper sample, checked field by field against an
 *  independent decoding with jansson + ax_text_fold, against hand-checked counts, and on
 *  files written here with malformed lines, CRLF, a 1 MB line and no final newline. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "snapshot.h"
#include "test_helpers.h"
#include "text.h"

#define KAGGLE AX_SHARED_DIR "/fixtures/arxiv/kaggle_snapshot_sample.jsonl"
#define BUNDLED AX_SOURCE_DIR "/deploy/sample/arxiv-cs-2026-06.jsonl"
#define OLDSTYLE AX_SOURCE_DIR "/tests/data/snapshot/oldstyle.jsonl"

/* ---- helpers ------------------------------------------------------------------------- */

static char *s_dir;                     /* this test's temporary directory */

static int s_setup(void **state)
{
    s_dir = ax_test_tmpdir("ax_snapshot_");
    return 0;
}

static int s_teardown(void **state)
{
    int rc = ax_test_rmtree(s_dir);
    free(s_dir);
    s_dir = NULL;
    return rc;
}

/*  Path of a file in the test's temporary directory (static buffer). */
static const char *s_tmp(const char *name)
{
    return ax_test_path(s_dir, name);
}
static void s_write(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/*  Line n (1-based) of the Kaggle sample, without its newline; caller frees. */
static char *s_sample_line(int n)
{
    FILE *f = fopen(KAGGLE, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = -1;
    for (int i = 0; i < n; i++)
        len = getline(&line, &cap, f);
    fclose(f);
    assert_true(len > 1);
    char *out = strndup(line, (size_t) len - 1);
    free(line);
    assert_non_null(out);
    return out;
}

static ax_snapshot_t *s_open(const char *path, const ax_snapshot_filter_t *filter)
{
    char *err = NULL;
    ax_snapshot_t *s = ax_snapshot_open(path, filter, &err);
    if (!s)
        fail_msg("open %s: %s", path, err ? err : "?");
    assert_null(err);
    return s;
}

/*  Papers of path that pass filter; *stats (if given) gets the reader's stats. */
static uint64_t s_count(const char *path, const ax_snapshot_filter_t *filter,
                        ax_snapshot_stats_t *stats)
{
    ax_snapshot_t *s = s_open(path, filter);
    ax_paper_t p;
    uint64_t n = 0;
    int rc;
    while ((rc = ax_snapshot_next(s, &p)) == 1) {
        assert_true(ax_snapshot_filter_categories(filter, p.categories, p.n_categories));
        if (filter && filter->from)
            assert_true(p.submitted >= filter->from);
        if (filter && filter->to)
            assert_true(p.submitted <= filter->to);
        ax_paper_clear(&p);
        n++;
    }
    assert_int_equal(rc, 0);
    if (stats)
        *stats = *ax_snapshot_stats(s);
    ax_snapshot_destroy(&s);
    assert_null(s);
    return n;
}

/*  The same count done independently: every line through jansson, the filter rule
 *  written out again here. */
static uint64_t s_count_jansson(const char *path, const ax_snapshot_filter_t *f)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *line = NULL;
    size_t cap = 0;
    uint64_t n = 0;
    while (getline(&line, &cap, fp) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        assert_non_null(rec);
        char *cats = strdup(json_string_value(json_object_get(rec, "categories")));
        int keep = f->n_categories == 0;
        for (char *save, *c = strtok_r(cats, " ", &save); c && !keep; c = strtok_r(NULL, " ", &save))
            for (size_t i = 0; i < f->n_categories && !keep; i++) {
                size_t fl = strlen(f->categories[i]);
                keep = strcmp(c, f->categories[i]) == 0 ||
                       (!strchr(f->categories[i], '.') && strncmp(c, f->categories[i], fl) == 0 &&
                        c[fl] == '.');
            }
        free(cats);
        json_t *v1 = json_array_get(json_object_get(rec, "versions"), 0);
        int64_t t = 0;
        assert_int_equal(ax_time_parse(json_string_value(json_object_get(v1, "created")), &t), 0);
        n += keep && (!f->from || t >= f->from) && (!f->to || t <= f->to);
        json_decref(rec);
    }
    free(line);
    fclose(fp);
    return n;
}

/*  Redirects stderr (the log) into a temporary file until s_capture_end. */
static int s_saved_fd = -1;
static FILE *s_capture;

static void s_capture_begin(void)
{
    fflush(stderr);
    s_capture = tmpfile();
    assert_non_null(s_capture);
    s_saved_fd = dup(2);
    assert_true(s_saved_fd >= 0);
    assert_true(dup2(fileno(s_capture), 2) >= 0);
}

/*  Stops capturing; returns what was logged (caller frees). */
static char *s_capture_end(void)
{
    fflush(stderr);
    assert_true(dup2(s_saved_fd, 2) >= 0);
    close(s_saved_fd);
    long size = ftell(s_capture);
    char *text = calloc(1, (size_t) size + 1);
    rewind(s_capture);
    assert_int_equal(fread(text, 1, (size_t) size, s_capture), (size_t) size);
    fclose(s_capture);
    return text;
}

/*  Expected value of a text field from the jansson record: ax_text_fold, NULL if blank. */
static char *s_fold_field(json_t *rec, const char *key)
{
    const char *v = json_string_value(json_object_get(rec, key));
    if (!v)
        return NULL;
    char *f = ax_text_fold(v, strlen(v));
    if (!*f) {
        free(f);
        return NULL;
    }
    return f;
}

static void s_assert_prefix(const char *got, const char *prefix)
{
    assert_non_null(got);
    if (strncmp(got, prefix, strlen(prefix)) != 0)
        fail_msg("\"%.120s\" does not start with \"%s\"", got, prefix);
}

static void s_assert_str(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

/*  Every paper read from path equals its line decoded independently (jansson for JSON,
 *  ax_text_fold for whitespace); path has one valid record per line. */
static void s_check_against_jansson(const char *path, size_t expect)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    ax_snapshot_t *s = s_open(path, NULL);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ax_paper_t p;
    while (getline(&line, &cap, fp) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        assert_non_null(rec);
        assert_int_equal(ax_snapshot_next(s, &p), 1);
        assert_string_equal(p.id, json_string_value(json_object_get(rec, "id")));
        json_t *versions = json_object_get(rec, "versions");
        assert_int_equal(p.version, json_array_size(versions));
        int64_t t1, tn;
        json_t *last = json_array_get(versions, json_array_size(versions) - 1);
        assert_int_equal(ax_time_parse(json_string_value(json_object_get(
                                           json_array_get(versions, 0), "created")), &t1), 0);
        assert_int_equal(ax_time_parse(json_string_value(json_object_get(last, "created")), &tn), 0);
        assert_int_equal(p.submitted, t1);
        assert_int_equal(p.updated, tn);
        static const char *keys[] = {"title", "abstract", "comments", "journal-ref", "doi"};
        char **got[] = {&p.title, &p.abstract, &p.comments, &p.journal_ref, &p.doi};
        for (size_t k = 0; k < 5; k++) {
            char *want = s_fold_field(rec, keys[k]);
            s_assert_str(*got[k], want);
            free(want);
        }
        char *cats = strdup(json_string_value(json_object_get(rec, "categories")));
        size_t nc = 0;
        for (char *save, *c = strtok_r(cats, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
            assert_true(nc < p.n_categories);
            assert_string_equal(p.categories[nc++], c);
        }
        assert_int_equal(nc, p.n_categories);
        free(cats);
        size_t i, na = 0;
        json_t *a;
        json_array_foreach(json_object_get(rec, "authors_parsed"), i, a) {
            char name[1024];
            snprintf(name, sizeof name, "%s %s %s", json_string_value(json_array_get(a, 1)),
                     json_string_value(json_array_get(a, 0)), json_string_value(json_array_get(a, 2)));
            char *want = ax_text_fold(name, strlen(name));
            if (*want) {
                assert_true(na < p.n_authors);
                assert_string_equal(p.authors[na++], want);
            }
            free(want);
        }
        assert_int_equal(na, p.n_authors);
        ax_paper_clear(&p);
        json_decref(rec);
        n++;
    }
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    assert_int_equal(n, expect);
    assert_int_equal(ax_snapshot_stats(s)->papers, expect);
    assert_int_equal(ax_snapshot_stats(s)->malformed, 0);
    free(line);
    fclose(fp);
    ax_snapshot_destroy(&s);
}

/* ---- tests --------------------------------------------------------------------------- */

/*  The real sample: 200 papers, and the exact fields of a few. */
static void test_sample_fields(void **state)
{
    ax_snapshot_t *s = s_open(KAGGLE, NULL);
    ax_paper_t p;
    int found = 0;
    uint64_t n = 0;
    while (ax_snapshot_next(s, &p) == 1) {
        n++;
        if (strcmp(p.id, "0704.0001") == 0) {
            found++;
            assert_int_equal(p.version, 2);
            assert_string_equal(p.title, "Calculation of prompt diphoton production cross "
                                         "sections at Tevatron and LHC energies");
            assert_int_equal(p.n_authors, 4);
            assert_string_equal(p.authors[0], "C. Bal\xc3\xa1zs");
            assert_string_equal(p.authors[1], "E. L. Berger");
            assert_string_equal(p.authors[2], "P. M. Nadolsky");
            assert_string_equal(p.authors[3], "C. -P. Yuan");
            assert_int_equal(p.n_categories, 1);
            assert_string_equal(p.categories[0], "hep-ph");
            assert_int_equal(p.submitted, 1175541522);      /* Mon, 2 Apr 2007 19:18:42 GMT */
            assert_int_equal(p.updated, 1185307827);        /* Tue, 24 Jul 2007 20:10:27 GMT */
            assert_string_equal(p.doi, "10.1103/PhysRevD.76.013009");
            assert_string_equal(p.journal_ref, "Phys.Rev.D76:013009,2007");
            assert_string_equal(p.comments, "37 pages, 15 figures; published version");
            s_assert_prefix(p.abstract, "A fully differential calculation in perturbative "
                                        "quantum chromodynamics is presented for the");
            assert_non_null(strstr(p.abstract, "with judicious selection of events."));
            assert_null(strchr(p.abstract, '\n'));
            assert_null(strstr(p.abstract, "  "));
        } else if (strcmp(p.id, "0704.0002") == 0) {
            found++;
            assert_int_equal(p.n_authors, 2);
            assert_string_equal(p.authors[0], "Ileana Streinu");
            assert_string_equal(p.authors[1], "Louis Theran");
            assert_int_equal(p.n_categories, 2);
            assert_string_equal(p.categories[0], "math.CO");        /* primary first */
            assert_string_equal(p.categories[1], "cs.CG");
            assert_null(p.doi);
            assert_null(p.journal_ref);
            assert_non_null(strstr(p.abstract, "the $(k,\\ell)$-pebble game"));   /* LaTeX kept */
        } else if (strcmp(p.id, "0704.0185") == 0) {
            /* authors_parsed's 4th element is the affiliation: not part of the name */
            found++;
            assert_int_equal(p.n_authors, 2);
            assert_string_equal(p.authors[1], "Franz G\xc3\xa4hler");
        }
        ax_paper_clear(&p);
    }
    assert_int_equal(found, 3);
    assert_int_equal(n, 200);
    const ax_snapshot_stats_t *st = ax_snapshot_stats(s);
    assert_int_equal(st->lines, 200);
    assert_int_equal(st->papers, 200);
    assert_int_equal(st->malformed + st->filtered, 0);
    assert_string_equal(ax_snapshot_error(s), "");
    ax_snapshot_destroy(&s);
}

static void test_oldstyle_id(void **state)
{
    ax_snapshot_t *s = s_open(OLDSTYLE, NULL);
    ax_paper_t p;
    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_string_equal(p.id, "astro-ph/0601001");
    assert_int_equal(p.version, 1);
    assert_int_equal(p.submitted, 1136213878);              /* Mon, 2 Jan 2006 14:57:58 GMT */
    assert_int_equal(p.updated, p.submitted);
    assert_string_equal(p.title, "Frequency of Hot Jupiters and Very Hot Jupiters from the "
                                 "OGLE-III Transit Surveys Toward the Galactic Bulge and Carina");
    assert_int_equal(p.n_authors, 4);
    assert_string_equal(p.authors[2], "B. Scott Gaudi");
    assert_string_equal(p.authors[3], "Andrzej Udalski");
    assert_string_equal(p.categories[0], "astro-ph");
    assert_string_equal(p.journal_ref, "ActaAstron.56:1-50,2006");
    s_assert_prefix(p.comments, "62 pages including 16 figures and 9 tables. Submitted to "
                                "Acta Astronomica. Full resolution version at http://");
    ax_paper_clear(&p);
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    ax_snapshot_destroy(&s);

    /* an archive without subjects: "astro-ph" keeps it, a subject of it or a prefix does not */
    char *keep[] = {"astro-ph"}, *sub[] = {"astro-ph.GA"}, *prefix[] = {"astro"};
    assert_int_equal(s_count(OLDSTYLE, &(ax_snapshot_filter_t) {keep, 1, 0, 0}, NULL), 1);
    assert_int_equal(s_count(OLDSTYLE, &(ax_snapshot_filter_t) {sub, 1, 0, 0}, NULL), 0);
    assert_int_equal(s_count(OLDSTYLE, &(ax_snapshot_filter_t) {prefix, 1, 0, 0}, NULL), 0);
}

/*  Every field of every paper of both real files, against jansson + ax_text_fold. */
static void test_all_fields_match_jansson(void **state)
{
    s_check_against_jansson(KAGGLE, 200);
    s_check_against_jansson(BUNDLED, 6356);
}

/*  The sample re-serialised by jansson with ", " and ": " separators, which the raw-line
 *  pre-check does not recognise: the full parse must filter the same. */
static const char *s_spaced_copy(void)
{
    const char *path = s_tmp("spaced.jsonl");
    FILE *in = fopen(KAGGLE, "r"), *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        char *text = json_dumps(rec, JSON_PRESERVE_ORDER);
        assert_non_null(strstr(text, "\"categories\": \""));
        fprintf(out, "%s\n", text);
        free(text);
        json_decref(rec);
    }
    free(line);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    return path;
}

/*  Category filters: counts hand-checked (python3 over the sample), recomputed with
 *  jansson, and the same on the compact and the re-spaced file. */
static void test_filter_categories(void **state)
{
    static const struct {
        char *cats[2];
        size_t n;
        uint64_t want;
    } cases[] = {
        {{"cs"}, 1, 8},        {{"math"}, 1, 51},     {{"math.CO"}, 1, 6},
        {{"hep-ph"}, 1, 22},   {{"cs.IR"}, 1, 0},     {{"astro-ph"}, 1, 23},
        {{"cs", "hep-th"}, 2, 23}, {{"physics"}, 1, 29}, {{"math-ph"}, 1, 6},
    };
    const char *spaced = s_spaced_copy();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ax_snapshot_filter_t f = {(char **) cases[i].cats, cases[i].n, 0, 0};
        ax_snapshot_stats_t st;
        assert_int_equal(s_count(KAGGLE, &f, &st), cases[i].want);
        assert_int_equal(st.papers + st.filtered, 200);
        assert_int_equal(s_count_jansson(KAGGLE, &f), cases[i].want);
        assert_int_equal(s_count(spaced, &f, &st), cases[i].want);
        assert_int_equal(st.papers + st.filtered, 200);
    }
    char *ir[] = {"cs.IR"}, *math[] = {"math"};
    ax_snapshot_filter_t f_ir = {ir, 1, 0, 0}, f_math = {math, 1, 0, 0};
    assert_int_equal(s_count(BUNDLED, &f_ir, NULL), 98);
    assert_int_equal(s_count_jansson(BUNDLED, &f_ir), 98);
    assert_int_equal(s_count(BUNDLED, &f_math, NULL), 76);
    assert_int_equal(s_count_jansson(BUNDLED, &f_math), 76);

    /* the filter is copied: the caller's array may go away */
    char *tmp[] = {strdup("hep-ph")};
    ax_snapshot_t *s = s_open(KAGGLE, &(ax_snapshot_filter_t) {tmp, 1, 0, 0});
    free(tmp[0]);
    ax_paper_t p;
    uint64_t n = 0;
    while (ax_snapshot_next(s, &p) == 1) {
        ax_paper_clear(&p);
        n++;
    }
    assert_int_equal(n, 22);
    ax_snapshot_destroy(&s);
}

/*  The category rule itself: an archive keeps its subjects, a subject only itself. */
static void test_category_rule(void **state)
{
    static struct {
        char *filter, *category;
        int keep;
    } cases[] = {
        {"cs", "cs.IR", 1},         {"cs", "cs", 1},           {"cs.IR", "cs.IR", 1},
        {"cs.IR", "cs.CL", 0},      {"cs.IR", "cs", 0},        {"cs", "csx.IR", 0},
        {"math", "math-ph", 0},     {"math", "math.CO", 1},    {"hep-th", "hep-th", 1},
        {"hep", "hep-th", 0},       {"cs.IR", "cs.IR.x", 0},   {"cond-mat", "cond-mat.str-el", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ax_snapshot_filter_t f = {&cases[i].filter, 1, 0, 0};
        if (ax_snapshot_filter_categories(&f, &cases[i].category, 1) != cases[i].keep)
            fail_msg("filter %s, category %s: want %d", cases[i].filter, cases[i].category,
                     cases[i].keep);
    }
    char *cats[] = {"math.CO", "cs.CG"}, *fl[] = {"hep-th", "cs"};
    assert_int_equal(ax_snapshot_filter_categories(&(ax_snapshot_filter_t) {fl, 2, 0, 0}, cats, 2), 1);
    assert_int_equal(ax_snapshot_filter_categories(&(ax_snapshot_filter_t) {fl, 1, 0, 0}, cats, 2), 0);
    assert_int_equal(ax_snapshot_filter_categories(NULL, cats, 2), 1);
    assert_int_equal(ax_snapshot_filter_categories(&(ax_snapshot_filter_t) {NULL, 0, 0, 0}, cats, 0), 1);
}

/*  Date filters on v1's creation time, inclusive at both ends. */
static void test_filter_dates(void **state)
{
    static const struct {
        int64_t from, to;
        int math;
        uint64_t want;
    } cases[] = {
        {1175385600, 1175471999, 0, 49},    /* 2007-04-01 */
        {1175299200, 1175471999, 0, 92},    /* 2007-03-31 .. 04-01 */
        {1175299200, 1175471999, 1, 30},    /* same, math only */
        {1175472000, 0, 0, 108},            /* from 2007-04-02 */
        {0, 1175385599, 0, 43},             /* until the end of 2007-03-31 */
        {1175541522, 1175541522, 0, 1},     /* the very second of 0704.0001 */
        {1175541523, 1175541523, 0, 0},
    };
    char *math[] = {"math"};
    const char *spaced = s_spaced_copy();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ax_snapshot_filter_t f = {cases[i].math ? math : NULL, cases[i].math ? 1 : 0,
                                  cases[i].from, cases[i].to};
        ax_snapshot_stats_t st;
        assert_int_equal(s_count(KAGGLE, &f, &st), cases[i].want);
        assert_int_equal(st.papers + st.filtered, 200);
        assert_int_equal(s_count_jansson(KAGGLE, &f), cases[i].want);
        assert_int_equal(s_count(spaced, &f, NULL), cases[i].want);
    }
}

/*  Random text with every kind of whitespace, escape and UTF-8 at every alignment: the
 *  reader's folding equals ax_text_fold of jansson's decoding. */
static void test_fold_random(void **state)
{
    static const char *pieces[] = {"word", "x", " ", "  ", "\n", "\t", "\r\n  ", "\f", "\v",
                                   "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
                                   "\"", "\\", "/", "a b", "$\\ell$", "longerwordhere"};
    const char *path = s_tmp("random.jsonl");
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    srand(12345);
    char *texts[500];
    for (int i = 0; i < 500; i++) {
        char buf[4096] = "";
        int n = rand() % 80;
        for (int k = 0; k < n; k++)
            strcat(buf, pieces[rand() % (sizeof pieces / sizeof *pieces)]);
        texts[i] = strdup(buf);
        json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}", "id", "0704.0001", "title", "T",
                                "categories", "cs.IR", "abstract", buf, "versions", "version", "v1", "created",
                                "Mon, 2 Apr 2007 19:18:42 GMT");
        char *line = json_dumps(rec, JSON_COMPACT | (i % 2 ? JSON_ENSURE_ASCII : 0));
        fprintf(out, "%s\n", line);
        free(line);
        json_decref(rec);
    }
    assert_int_equal(fclose(out), 0);
    ax_snapshot_t *s = s_open(path, NULL);
    ax_paper_t p;
    for (int i = 0; i < 500; i++) {
        assert_int_equal(ax_snapshot_next(s, &p), 1);
        char *want = ax_text_fold(texts[i], strlen(texts[i]));
        s_assert_str(p.abstract, *want ? want : NULL);
        free(want);
        free(texts[i]);
        ax_paper_clear(&p);
    }
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    ax_snapshot_destroy(&s);
}

/*  Appends line (len bytes) and nl to the buffer *buf of size *n. */
static void s_add(char **buf, size_t *n, const char *line, size_t len, const char *nl)
{
    size_t nll = strlen(nl);
    *buf = realloc(*buf, *n + len + nll + 1);
    memcpy(*buf + *n, line, len);
    memcpy(*buf + *n + len, nl, nll);
    *n += len + nll;
}
#define S_ADD(buf, n, lit, nl) s_add(buf, n, lit, sizeof lit - 1, nl)

/*  Malformed lines of every kind are counted, logged with their line numbers and skipped;
 *  blank lines are skipped silently; CRLF and a last line without newline are read. */
static void test_malformed_lines(void **state)
{
    char *l1 = s_sample_line(1), *l3 = s_sample_line(3), *l4 = s_sample_line(4);
    char *l5 = s_sample_line(5), *l6 = s_sample_line(6);
    char *id = strstr(l4, "\"id\":");
    assert_non_null(id);
    id[1] = 'I';                                                   /* no "id" key: "ID" */
    id[2] = 'D';
    char deep[400] = "{\"id\":\"0704.0001\",\"title\":\"x\",\"deep\":";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    for (int i = 0; i < 100; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    char *buf = NULL;
    size_t n = 0;
    s_add(&buf, &n, l1, strlen(l1), "\n");                                       /* 1 ok */
    S_ADD(&buf, &n, "{\"id\":\"0704.0002\",\"title\":}", "\n");                  /* 2 */
    s_add(&buf, &n, l3, strlen(l3) / 2, "\n");                                   /* 3 truncated */
    s_add(&buf, &n, l4, strlen(l4), "\n");                                       /* 4 */
    S_ADD(&buf, &n, "\x00\x01\xff\xfe{\"\x80garbage\x00", "\n");                 /* 5 binary */
    S_ADD(&buf, &n, "", "\n");                                                   /* 6 empty */
    S_ADD(&buf, &n, "  \t ", "\r\n");                                            /* 7 blank */
    S_ADD(&buf, &n, "{\"id\":\"not-an-id\",\"title\":\"x\"}", "\n");             /* 8 */
    S_ADD(&buf, &n, "{\"id\":\"0704.0009\",\"title\":\"bad \xff utf8\"}", "\n"); /* 9 */
    S_ADD(&buf, &n, "{\"id\":\"0704.0010\",\"abstract\":\"no title\"}", "\n");   /* 10 */
    s_add(&buf, &n, l5, strlen(l5), "\r\n");                                     /* 11 ok, CRLF */
    S_ADD(&buf, &n, "[1,2,3]", "\n");                                            /* 12 */
    S_ADD(&buf, &n, "{\"id\":\"0704.0013\",\"title\":\"x\"} trailing", "\n");    /* 13 */
    s_add(&buf, &n, deep, strlen(deep), "\n");                                   /* 14 */
    s_add(&buf, &n, l6, strlen(l6), "");                                         /* 15 ok, no \n */
    const char *path = s_tmp("malformed.jsonl");
    s_write(path, buf, n);

    ax_log_set_level(AX_LOG_WARN);
    s_capture_begin();
    ax_snapshot_t *s = s_open(path, NULL);
    ax_paper_t p;
    const char *want_ids[] = {"0704.0001", "0704.0005", "0704.0006"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ax_snapshot_next(s, &p), 1);
        assert_string_equal(p.id, want_ids[i]);
        ax_paper_clear(&p);
    }
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    assert_int_equal(ax_snapshot_next(s, &p), 0);                /* end stays the end */
    const ax_snapshot_stats_t *st = ax_snapshot_stats(s);
    assert_int_equal(st->lines, 15);
    assert_int_equal(st->papers, 3);
    assert_int_equal(st->malformed, 10);
    assert_int_equal(st->filtered, 0);
    ax_snapshot_destroy(&s);
    char *log = s_capture_end();

    static const struct {
        int line;
        const char *reason;
    } bad[] = {{2, "unexpected character"}, {3, "unterminated string"}, {4, "missing id"},
               {5, "not a JSON object"},    {8, "bad id"},              {9, "invalid UTF-8"},
               {10, "missing title"},       {12, "not a JSON object"},
               {13, "characters after the object"}, {14, "nested too deep"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char key[64];
        snprintf(key, sizeof key, " line=%d reason=\"", bad[i].line);
        const char *at = strstr(log, key);
        if (!at)
            fail_msg("line %d not logged in:\n%s", bad[i].line, log);
        const char *eol = strchr(at, '\n');
        assert_non_null(eol);
        char *entry = strndup(at, (size_t) (eol - at));
        if (!strstr(entry, bad[i].reason))
            fail_msg("line %d: want reason \"%s\", got %s", bad[i].line, bad[i].reason, entry);
        free(entry);
    }
    static const int good[] = {1, 6, 7, 11, 15};              /* papers and blank lines */
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char key[64];
        snprintf(key, sizeof key, " line=%d reason=", good[i]);
        assert_null(strstr(log, key));
    }
    assert_non_null(strstr(log, "msg=\"snapshot: malformed line skipped\" file="));
    assert_non_null(strstr(log, path));
    free(log);
    free(buf);
    free(l1), free(l3), free(l4), free(l5), free(l6);
}

/*  tell/seek: a saved position resumes at the same paper, in the same reader or a new one,
 *  and line numbers continue from it. */
static void test_tell_seek(void **state)
{
    ax_snapshot_t *s = s_open(KAGGLE, NULL), *s2 = s_open(KAGGLE, NULL);
    ax_paper_t p;
    uint64_t off, line, off2, line2, o, l;
    ax_snapshot_tell(s, &off, &line);
    assert_int_equal(off, 0);
    assert_int_equal(line, 1);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(ax_snapshot_next(s, &p), 1);
        ax_paper_clear(&p);
    }
    ax_snapshot_tell(s, &off, &line);
    assert_int_equal(line, 51);
    assert_int_equal(ax_snapshot_next(s, &p), 1);
    char *id51 = strdup(p.id);
    char *title51 = strdup(p.title);
    ax_paper_clear(&p);
    ax_snapshot_tell(s, &off2, &line2);
    assert_int_equal(line2, 52);
    assert_true(off2 > off);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ax_snapshot_next(s, &p), 1);
        ax_paper_clear(&p);
    }
    ax_snapshot_t *readers[] = {s, s2};
    for (int r = 0; r < 2; r++) {
        assert_int_equal(ax_snapshot_seek(readers[r], off, line), 0);
        ax_snapshot_tell(readers[r], &o, &l);
        assert_int_equal(o, off);
        assert_int_equal(l, line);
        assert_int_equal(ax_snapshot_next(readers[r], &p), 1);
        assert_string_equal(p.id, id51);
        assert_string_equal(p.title, title51);
        ax_paper_clear(&p);
        ax_snapshot_tell(readers[r], &o, &l);
        assert_int_equal(o, off2);
        assert_int_equal(l, line2);
    }
    /* after the seek, s2 reads exactly the remaining 149 papers */
    uint64_t rest = 0;
    while (ax_snapshot_next(s2, &p) == 1) {
        ax_paper_clear(&p);
        rest++;
    }
    assert_int_equal(rest, 149);
    free(id51);
    free(title51);
    ax_snapshot_destroy(&s);
    ax_snapshot_destroy(&s2);

    /* with a filter, and the line numbers of the log after a seek */
    char *l1 = s_sample_line(1), *l2 = s_sample_line(2), *buf = NULL;
    size_t n = 0;
    s_add(&buf, &n, l1, strlen(l1), "\n");
    s_add(&buf, &n, l2, strlen(l2), "\n");
    S_ADD(&buf, &n, "{oops", "\n");
    const char *path = s_tmp("seek.jsonl");
    s_write(path, buf, n);
    char *math[] = {"math"};
    s = s_open(path, &(ax_snapshot_filter_t) {math, 1, 0, 0});
    assert_int_equal(ax_snapshot_seek(s, (uint64_t) strlen(l1) + 1, 2), 0);
    ax_log_set_level(AX_LOG_WARN);
    s_capture_begin();
    assert_int_equal(ax_snapshot_next(s, &p), 1);       /* 0704.0002 is math.CO */
    assert_string_equal(p.id, "0704.0002");
    ax_paper_clear(&p);
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    char *log = s_capture_end();
    assert_non_null(strstr(log, " line=3 reason=\""));
    free(log);
    ax_snapshot_destroy(&s);
    free(buf);
    free(l1);
    free(l2);
}

/*  A 1 MB abstract, CRLF line ends and a last line without newline. */
static void test_long_line(void **state)
{
    char *l1 = s_sample_line(1), *l2 = s_sample_line(2), *l3 = s_sample_line(3);
    json_t *rec = json_loads(l1, 0, NULL);
    assert_non_null(rec);
    size_t big_len = 0, cap = 1200000;
    char *big = malloc(cap);
    for (int i = 0; big_len + 32 < cap - 100000; i++)
        big_len += (size_t) sprintf(big + big_len, "lorem%d\n  ipsum  $x_%d$ ", i, i);
    json_object_set_new(rec, "abstract", json_string(big));
    char *line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_true(strlen(line) > 1000000);
    char *buf = NULL;
    size_t n = 0;
    s_add(&buf, &n, line, strlen(line), "\r\n");
    s_add(&buf, &n, l2, strlen(l2), "\r\n");
    s_add(&buf, &n, l3, strlen(l3), "");
    const char *path = s_tmp("long.jsonl");
    s_write(path, buf, n);

    ax_snapshot_t *s = s_open(path, NULL);
    ax_paper_t p;
    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_string_equal(p.id, "0704.0001");
    char *want = ax_text_fold(big, big_len);
    assert_true(strlen(want) > 900000);
    assert_string_equal(p.abstract, want);
    assert_string_equal(p.doi, "10.1103/PhysRevD.76.013009");     /* fields after it too */
    ax_paper_clear(&p);
    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_string_equal(p.id, "0704.0002");
    assert_string_equal(p.categories[1], "cs.CG");                 /* no '\r' left */
    ax_paper_clear(&p);
    assert_int_equal(ax_snapshot_next(s, &p), 1);                  /* no final newline */
    assert_string_equal(p.id, "0704.0003");
    ax_paper_clear(&p);
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    uint64_t off, ln;
    ax_snapshot_tell(s, &off, &ln);
    assert_int_equal(off, n);
    assert_int_equal(ln, 4);
    assert_int_equal(ax_snapshot_stats(s)->malformed, 0);
    ax_snapshot_destroy(&s);
    free(want);
    free(big);
    free(line);
    free(buf);
    json_decref(rec);
    free(l1), free(l2), free(l3);
}

/*  A line longer than AX_SNAPSHOT_LINE_MAX (valid JSON, 20 MB) is malformed, logged with
 *  its number and skipped without being held: the papers around it are read, the
 *  position stays exact; so is an endless last line without a newline. */
static void test_overlong_line(void **state)
{
    char *l1 = s_sample_line(1), *l2 = s_sample_line(2);
    const char *path = s_tmp("overlong.jsonl");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "%s\n{\"id\":\"0704.0009\",\"title\":\"t\",\"abstract\":\"", l1);
    for (int i = 0; i < 20 << 10; i++)
        fprintf(f, "%01023d ", i);
    fprintf(f, "\"}\n%s\n", l2);
    for (int i = 0; i < 17 << 10; i++)          /* a last line of 17 MB, no newline */
        fprintf(f, "%01023d ", i);
    long size = ftell(f);
    assert_int_equal(fclose(f), 0);

    ax_log_set_level(AX_LOG_WARN);
    s_capture_begin();
    ax_snapshot_t *s = s_open(path, NULL);
    ax_paper_t p;
    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_string_equal(p.id, "0704.0001");
    ax_paper_clear(&p);
    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_string_equal(p.id, "0704.0002");
    ax_paper_clear(&p);
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    uint64_t off, ln;
    ax_snapshot_tell(s, &off, &ln);
    assert_int_equal(off, (uint64_t) size);
    assert_int_equal(ln, 5);
    assert_int_equal(ax_snapshot_stats(s)->lines, 4);
    assert_int_equal(ax_snapshot_stats(s)->malformed, 2);
    ax_snapshot_destroy(&s);
    char *log = s_capture_end();
    assert_non_null(strstr(log, " line=2 reason=\"line longer than"));
    assert_non_null(strstr(log, " line=4 reason=\"line longer than"));
    free(log);
    free(l1), free(l2);
}

/*  Only a readable regular file is a snapshot: /dev/zero and a FIFO are refused by the
 *  open, at once (it only stat()s), naming the path and the reason. */
static void test_not_regular(void **state)
{
    const char *fifo = s_tmp("fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {"/dev/zero", fifo};
    const char *why[] = {"is a device, not a regular file", "is a FIFO, not a regular file"};
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        assert_null(ax_snapshot_open(paths[i], NULL, &err));
        assert_non_null(err);
        if (!strstr(err, paths[i]) || !strstr(err, why[i]))
            fail_msg("%s", err);
        free(err);
    }
    unlink(fifo);
}

/*  Valid but unusual records: the "authors" fallback, escapes, extra keys, odd types. */
static void test_unusual_records(void **state)
{
#define S_V1 ",\"versions\":[{\"version\":\"v1\",\"created\":\"Mon, 2 Apr 2007 19:18:42 GMT\"}]"
    static const char text[] =
        "{\"id\":\"0704.0002\",\"title\":\"T\",\"authors\":\"Ileana Streinu and Louis Theran\","
        "\"categories\":\"math.CO\"" S_V1 "}\n"
        "{\"id\":\"0704.0003v3\",\"title\":\"T\",\"authors\":\"A. One, B. Two, and C. Three\","
        "\"authors_parsed\":\"not a list\"" S_V1 "}\n"
        "{ \"id\" : \"0704.0004\" " S_V1 ", \"doi\":\"first\", \"title\" : \"caf\\u00e9 \\ud83d\\ude00 "
        "\\ud800 x\\u0000y \\\"q\\\" a\\/b\\u00E9\", \"doi\": 12, \"extra\": {\"a\": [1, -2.5e+3, "
        "0, true, false, null, {\"b\": \"c\"}], \"e\": {}, \"f\": []} }\n"
        "{\"id\":\"0704.0005\",\"title\":\"T\",\"authors_parsed\":[[\"Last\",\"First\",null],"
        "[\"\",\"\",\"\"],[\"Solo\"]],\"authors\":\"ignored\"" S_V1 "}\n"
        "{\"id\":\"0704.0006\",\"title\":\"T\",\"versions\":[{\"version\":\"v1\","
        "\"created\":\"yesterday\"}]}\n";
    const char *path = s_tmp("unusual.jsonl");
    s_write(path, text, sizeof text - 1);
    ax_snapshot_t *s = s_open(path, NULL);
    ax_paper_t p;

    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_int_equal(p.n_authors, 2);
    assert_string_equal(p.authors[0], "Ileana Streinu");
    assert_string_equal(p.authors[1], "Louis Theran");
    assert_int_equal(p.version, 1);
    assert_int_equal(p.submitted, 1175541522);
    assert_null(p.abstract);
    ax_paper_clear(&p);

    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_string_equal(p.id, "0704.0003");
    assert_int_equal(p.version, 1);                     /* the versions listed, not the id's vN */
    assert_int_equal(p.n_authors, 3);
    assert_string_equal(p.authors[1], "B. Two");
    assert_string_equal(p.authors[2], "C. Three");
    assert_int_equal(p.n_categories, 0);
    ax_paper_clear(&p);

    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_string_equal(p.title, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbd x\xef\xbf\xbdy "
                                 "\"q\" a/b\xc3\xa9");
    assert_null(p.doi);                                 /* last value wins; a number is none */
    ax_paper_clear(&p);

    assert_int_equal(ax_snapshot_next(s, &p), 1);
    assert_int_equal(p.n_authors, 2);
    assert_string_equal(p.authors[0], "First Last");
    assert_string_equal(p.authors[1], "Solo");
    ax_paper_clear(&p);

    assert_int_equal(ax_snapshot_next(s, &p), 0);       /* an unreadable date: malformed */
    assert_int_equal(ax_snapshot_stats(s)->malformed, 1);
    ax_snapshot_destroy(&s);

    /* also with a date bound: malformed, not filtered */
    ax_snapshot_stats_t st;
    assert_int_equal(s_count(path, &(ax_snapshot_filter_t) {NULL, 0, 1, 0}, &st), 4);
    assert_int_equal(st.filtered, 0);
    assert_int_equal(st.malformed, 1);
#undef S_V1
}

/*  Ids that are not arXiv's ("../1234567": a link to arxiv.org/abs/../1234567, no paper
 *  page) and papers without a readable submission date (a 1970-01 digest) are malformed,
 *  each logged with its reason; the real forms of both id styles pass (issue 11). */
static void test_bad_ids_and_dates(void **state)
{
#define S_V1 ",\"versions\":[{\"version\":\"v1\",\"created\":\"Mon, 2 Apr 2007 19:18:42 GMT\"}]"
    static const char text[] =
        "{\"id\":\"../1234567\",\"title\":\"T\"" S_V1 "}\n"                     /* 1 */
        "{\"id\":\"hep-th/9901001v2\",\"title\":\"T\"" S_V1 "}\n"               /* 2 ok */
        "{\"id\":\"0704.0007\",\"title\":\"T\"}\n"                              /* 3 */
        "{\"id\":\"0704.0008\",\"title\":\"T\",\"versions\":[{\"version\":\"v1\","
        "\"created\":\"yesterday\"}]}\n"                                         /* 4 */
        "{\"id\":\"math.GT/0309136\",\"title\":\"T\"" S_V1 "}\n"                /* 5 ok */
        "{\"id\":\"a/../1234567\",\"title\":\"T\"" S_V1 "}\n"                   /* 6 */
        "{\"id\":\"cond-mat/0102536\",\"title\":\"T\",\"versions\":[]}\n";      /* 7 */
#undef S_V1
    const char *path = s_tmp("badids.jsonl");
    s_write(path, text, sizeof text - 1);
    ax_log_set_level(AX_LOG_WARN);
    s_capture_begin();
    ax_snapshot_t *s = s_open(path, NULL);
    ax_paper_t p;
    const char *want[] = {"hep-th/9901001", "math.GT/0309136"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ax_snapshot_next(s, &p), 1);
        assert_string_equal(p.id, want[i]);
        assert_int_equal(p.submitted, 1175541522);
        ax_paper_clear(&p);
    }
    assert_int_equal(ax_snapshot_next(s, &p), 0);
    assert_int_equal(ax_snapshot_stats(s)->malformed, 5);
    ax_snapshot_destroy(&s);
    char *log = s_capture_end();
    static const struct {
        int line;
        const char *reason;
    } bad[] = {{1, "bad id"}, {3, "no readable submission date"}, {4, "no readable submission date"},
               {6, "bad id"}, {7, "no readable submission date"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char key[96];
        snprintf(key, sizeof key, " line=%d reason=\"%s\"", bad[i].line, bad[i].reason);
        if (!strstr(log, key))
            fail_msg("line %d not logged with \"%s\" in:\n%s", bad[i].line, bad[i].reason, log);
    }
    free(log);
}

static void test_open_errors(void **state)
{
    char *err = NULL;
    assert_null(ax_snapshot_open("/nonexistent/snapshot.json", NULL, &err));
    assert_non_null(err);
    assert_non_null(strstr(err, "/nonexistent/snapshot.json"));
    assert_non_null(strstr(err, "No such file"));
    free(err);
    err = NULL;
    assert_null(ax_snapshot_open(s_dir, NULL, &err));
    assert_non_null(strstr(err, "directory"));
    free(err);
    ax_snapshot_t *none = NULL;
    ax_snapshot_destroy(&none);
    ax_snapshot_destroy(NULL);

    /* an empty file is a stream of no papers */
    s_write(s_tmp("empty.jsonl"), "", 0);
    ax_snapshot_stats_t st;
    assert_int_equal(s_count(s_tmp("empty.jsonl"), NULL, &st), 0);
    assert_int_equal(st.lines, 0);
}

int main(void)
{
    ax_log_init("test_snapshot");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_fields),
        cmocka_unit_test(test_oldstyle_id),
        cmocka_unit_test(test_all_fields_match_jansson),
        cmocka_unit_test(test_category_rule),
        cmocka_unit_test(test_filter_categories),
        cmocka_unit_test(test_filter_dates),
        cmocka_unit_test(test_fold_random),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_bad_ids_and_dates),
        cmocka_unit_test(test_tell_seek),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_unusual_records),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_overlong_line),
        cmocka_unit_test(test_not_regular),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
