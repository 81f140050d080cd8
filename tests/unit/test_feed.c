/*  test_feed.c: the Atom / OAI-PMH / RSS parsers (broker/feed*.c) on every real arXiv
 *  response in fixtures/arxiv: the number of papers of each file, and for chosen entries
 *  every field as a reader of the digest would see it (id and version, folded title,
 *  first / last author, affiliations, categories in order, dates in unix seconds, DOIs,
 *  comments, LaTeX / Unicode kept, entities decoded). Then documents written here for
 *  what the fixtures lack (deleted records, several affiliations, a weekend RSS...), every
 *  fixture cut every 997 bytes, garbage, a 50 MB title, and libxml2 staying quiet.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed.h"
#include "feed_internal.h"
#include "paper.h"

#define FIXTURES AX_SHARED_DIR "/fixtures/arxiv/"

/* ---- helpers ------------------------------------------------------------------------- */

/*  Papers a parse delivered, with their announce types. */
typedef struct {
    ax_paper_t *p;
    char **announce;
    size_t n, cap;
    size_t stop_after;      /* the callback returns -1 after this many (0 = never) */
} s_got_t;

static int s_collect(void *arg, ax_paper_t *paper, const ax_feed_extra_t *extra)
{
    s_got_t *g = arg;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->p = realloc(g->p, g->cap * sizeof *g->p);
        g->announce = realloc(g->announce, g->cap * sizeof *g->announce);
        assert_non_null(g->p);
        assert_non_null(g->announce);
    }
    g->p[g->n] = *paper;                        /* the callback owns it: move */
    g->announce[g->n] = extra->announce_type ? strdup(extra->announce_type) : NULL;
    g->n++;
    memset(paper, 0, sizeof *paper);
    return g->stop_after && g->n >= g->stop_after ? -1 : 0;
}

static void s_got_free(s_got_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        ax_paper_clear(&g->p[i]);
        free(g->announce[i]);
    }
    free(g->p);
    free(g->announce);
    memset(g, 0, sizeof *g);
}

/*  Whole file, caller frees; the test fails when it cannot be read. */
static char *s_read(const char *path, size_t *len)
{
    char *d = ax_test_read_file(path, len);
    assert_non_null(d);
    return d;
}

/*  Parses a fixture that must parse; fills *g and *page (caller frees both). */
static void s_parse_fixture(ax_feed_kind_t kind, const char *name, s_got_t *g, ax_feed_page_t *page)
{
    char path[512], *err = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s%s", FIXTURES, name);
    char *data = s_read(path, &len);
    memset(g, 0, sizeof *g);
    int rc = ax_feed_parse(kind, data, len, page, s_collect, g, &err);
    if (rc != 0)
        fail_msg("%s: %s", name, err ? err : "(no message)");
    assert_null(err);
    assert_int_equal(page->entries, g->n);
    free(data);
}

/*  Parses a document written here; returns the result, *err kept for the caller. */
static int s_parse_str(ax_feed_kind_t kind, const char *doc, s_got_t *g, ax_feed_page_t *page, char **err)
{
    memset(g, 0, sizeof *g);
    return ax_feed_parse(kind, doc, strlen(doc), page, s_collect, g, err);
}

static const ax_paper_t *s_find(const s_got_t *g, const char *id)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->p[i].id, id) == 0)
            return &g->p[i];
    fail_msg("paper %s not delivered", id);
    return NULL;
}

static void s_assert_cats(const ax_paper_t *p, size_t n, ...)
{
    va_list ap;
    assert_int_equal(p->n_categories, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(p->categories[i], va_arg(ap, const char *));
    va_end(ap);
}

static int s_starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/*  Folded: no control byte, no double space, no space at either end. */
static void s_assert_folded(const char *s)
{
    assert_non_null(s);
    assert_null(strstr(s, "  "));
    for (const char *c = s; *c; c++)
        assert_false(*c == '\n' || *c == '\t' || *c == '\r');
    assert_true(*s != ' ' && s[strlen(s) - 1] != ' ');
}

/* ---- every fixture: the number of papers ----------------------------------------------- */

static const struct {
    const char *name;
    ax_feed_kind_t kind;
    size_t papers, deleted, skipped;
    const char *error_code;
} s_fixtures[] = {
    {"api_atom_all_testing_m100_2026-04-12.xml", AX_FEED_ATOM, 100, 0, 0, NULL},
    {"api_atom_au_del_maestro_2016-10-09.xml", AX_FEED_ATOM, 10, 0, 0, NULL},
    {"api_atom_cat_cs.CL_m3_2026-09-24.xml", AX_FEED_ATOM, 3, 0, 0, NULL},
    {"api_atom_empty_idlist_2026-04-12.xml", AX_FEED_ATOM, 0, 0, 0, NULL},
    {"api_atom_error_badid_http400_2026-04-12.xml", AX_FEED_ATOM, 0, 0, 0, "api"},
    {"api_atom_idlist_oldstyle_astro-ph_2026.xml", AX_FEED_ATOM, 1, 0, 0, NULL},
    {"api_atom_idlist_two_2026.xml", AX_FEED_ATOM, 1, 0, 0, NULL},
    {"oai_error_badArgument_2015-06-23.xml", AX_FEED_OAI, 0, 0, 0, "badArgument"},
    {"oai_error_badResumptionToken_2015-06-23.xml", AX_FEED_OAI, 0, 0, 0, "badResumptionToken"},
    {"oai_error_idDoesNotExist_2015-06-23.xml", AX_FEED_OAI, 0, 0, 0, "idDoesNotExist"},
    {"oai_error_noRecordsMatch_2015-06-23.xml", AX_FEED_OAI, 0, 0, 0, "noRecordsMatch"},
    {"oai_getrecord_arXivRaw_1302.2146_2015-01-06.xml", AX_FEED_OAI, 1, 0, 0, NULL},
    {"oai_getrecord_arXivRaw_1810.09584_2019-03-05.xml", AX_FEED_OAI, 1, 0, 0, NULL},
    {"oai_getrecord_arXiv_1412.8544_2018-06-21.xml", AX_FEED_OAI, 1, 0, 0, NULL},
    {"oai_identify_2018-06-21.xml", AX_FEED_OAI, 0, 0, 0, NULL},
    {"oai_listidentifiers_arXiv_2009-01-01_2018-06-21.xml", AX_FEED_OAI, 0, 0, 0, NULL},
    {"oai_listmetadataformats_2018-06-21.xml", AX_FEED_OAI, 0, 0, 0, NULL},
    {"oai_listrecords_arXivRaw_from2014-10-01_trimmed6_2015-01-06.xml", AX_FEED_OAI, 6, 0, 0, NULL},
    {"oai_listrecords_arXiv_2015-01-01_trimmed2_2018-06-21.xml", AX_FEED_OAI, 2, 0, 0, NULL},
    {"oai_listrecords_arXiv_set-physics-hep-ex_trimmed3_2017-12-14.xml", AX_FEED_OAI, 3, 0, 0, NULL},
    {"oai_listrecords_arXiv_set-physics-hep-th_trimmed3_2017-12-14.xml", AX_FEED_OAI, 3, 0, 0, NULL},
    {"oai_listrecords_oai_dc_set-cs_from2024-01-25_trimmed5_2024-01-27.xml", AX_FEED_OAI, 5, 0, 0, NULL},
    {"oai_listsets_2018-06-21.xml", AX_FEED_OAI, 0, 0, 0, NULL},
    {"rss_cs.LG+cs.AI+cs.CL+stat.ML_trimmed4_2026-09-24.xml", AX_FEED_RSS, 4, 0, 0, NULL},
};
#define N_FIXTURES (sizeof s_fixtures / sizeof *s_fixtures)

/*  Every .xml in fixtures/arxiv is in the table (a new fixture must be counted here), and
 *  each parses into the expected number of papers, each with an id and a version. */
static void test_every_fixture_count(void **state)
{
    (void) state;
    DIR *dir = opendir(FIXTURES);
    assert_non_null(dir);
    size_t xml = 0;
    for (struct dirent *de; (de = readdir(dir));) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".xml") != 0)
            continue;
        int known = 0;
        for (size_t i = 0; i < N_FIXTURES && !known; i++)
            known = strcmp(s_fixtures[i].name, de->d_name) == 0;
        if (!known)
            fail_msg("fixture %s is not in s_fixtures", de->d_name);
        xml++;
    }
    closedir(dir);
    assert_int_equal(xml, N_FIXTURES);
    for (size_t i = 0; i < N_FIXTURES; i++) {
        s_got_t g;
        ax_feed_page_t page;
        s_parse_fixture(s_fixtures[i].kind, s_fixtures[i].name, &g, &page);
        if (g.n != s_fixtures[i].papers)
            fail_msg("%s: %zu papers, expected %zu", s_fixtures[i].name, g.n, s_fixtures[i].papers);
        assert_int_equal(page.deleted, s_fixtures[i].deleted);
        assert_int_equal(page.skipped, s_fixtures[i].skipped);
        if (s_fixtures[i].error_code) {
            assert_non_null(page.error_code);
            assert_string_equal(page.error_code, s_fixtures[i].error_code);
            assert_non_null(page.error_message);
        } else
            assert_null(page.error_code);
        for (size_t k = 0; k < g.n; k++) {
            assert_non_null(g.p[k].id);
            assert_non_null(g.p[k].title);
            s_assert_folded(g.p[k].title);
            s_assert_folded(g.p[k].abstract);
            assert_true(g.p[k].n_authors > 0);
            assert_true(g.p[k].submitted > 0 && g.p[k].updated >= g.p[k].submitted);
        }
        s_got_free(&g);
        ax_feed_page_clear(&page);
    }
}

/* ---- Atom ------------------------------------------------------------------------------ */

static void test_atom_cs_cl(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_ATOM, "api_atom_cat_cs.CL_m3_2026-09-24.xml", &g, &page);
    assert_int_equal(page.total_results, 119894);
    assert_int_equal(page.start_index, 0);
    assert_int_equal(page.items_per_page, 3);
    assert_null(page.token);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "2609.28471");
    assert_int_equal(p->version, 1);
    assert_string_equal(p->title, "Contrastive Learning for Authorship Verification");
    assert_int_equal(p->n_authors, 1);
    assert_string_equal(p->authors[0], "Peter Kirby");
    assert_null(p->affiliations);
    s_assert_cats(p, 2, "cs.CL", "cs.LG");
    assert_int_equal(p->submitted, 1790186348);             /* 2026-09-23T17:59:08Z */
    assert_int_equal(p->updated, 1790186348);
    assert_string_equal(p->comments, "Published in the proceedings of CLEF 2026. Code: "
                                     "https://github.com/petekirby/contrastive-av");
    assert_string_equal(p->journal_ref, "Experimental IR Meets Multilinguality, Multimodality, and "
                                        "Interaction (CLEF 2026), LNCS 17087, pp. 92-102, Springer (2027)");
    assert_string_equal(p->doi, "10.1007/978-3-032-39150-6_7");
    assert_non_null(strstr(p->abstract, "achieves 98.4% accuracy on the PAN21"));
    p = &g.p[1];
    assert_string_equal(p->id, "2609.28449");
    s_assert_cats(p, 3, "cs.SE", "cs.AI", "cs.CL");
    assert_int_equal(p->n_authors, 6);
    assert_string_equal(p->authors[0], "Hamed Taherkhani");
    assert_string_equal(p->authors[4], "Tien N. Nguyen");
    assert_string_equal(p->authors[5], "Hadi Hemmati");
    assert_null(p->doi);
    assert_null(p->comments);
    assert_null(p->journal_ref);
    s_assert_cats(&g.p[2], 4, "cs.LG", "cs.AI", "cs.CL", "cs.SC");
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

static void test_atom_testing_m100(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_ATOM, "api_atom_all_testing_m100_2026-04-12.xml", &g, &page);
    assert_int_equal(page.total_results, 214881);
    assert_int_equal(page.items_per_page, 100);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "2202.12139");
    assert_string_equal(p->title, "Testing Deep Learning Models: A First Comparative Study of Multiple "
                                  "Testing Techniques");
    assert_int_equal(p->submitted, 1645715119);
    assert_string_equal(p->doi, "10.1109/ICSTW55395.2022.00035");
    assert_string_equal(p->authors[2], "Helge Spieker");
    /* LaTeX and Unicode as written. */
    p = s_find(&g, "2306.03845");
    assert_string_equal(p->title, "$ω$Test: WebView-Oriented Testing for Android Applications");
    /* Entities decoded: &amp; in a title, &gt; in LaTeX of an abstract. */
    p = s_find(&g, "2302.03287");
    assert_string_equal(p->title, "ChatGPT and Software Testing Education: Promises & Perils");
    assert_int_equal(p->version, 3);
    assert_int_equal(p->submitted, 1675752062);             /* published: v1 */
    assert_int_equal(p->updated, 1678568589);               /* updated: v3 */
    assert_string_equal(p->authors[0], "Sajed Jalil");
    assert_string_equal(p->authors[4], "Wing Lam");
    int found_gt = 0;
    for (size_t i = 0; i < g.n; i++)
        found_gt |= g.p[i].abstract && strstr(g.p[i].abstract, "no more than $r>0$ samples") != NULL;
    assert_true(found_gt);
    /* Unicode authors; two versions. */
    p = s_find(&g, "2002.06611");
    assert_int_equal(p->version, 2);
    assert_int_equal(p->submitted, 1581869969);
    assert_int_equal(p->updated, 1582023130);
    assert_string_equal(p->authors[1], "Karl Bäckström");
    assert_string_equal(p->authors[3], "Sólrún Einarsdóttir");
    /* Old-style id; the only affiliations of the page. */
    p = s_find(&g, "gr-qc/0103067");
    assert_int_equal(p->version, 1);
    assert_string_equal(p->doi, "10.1007/3-540-40988-2_10");
    assert_non_null(strstr(p->comments, "(C. Lämmerzahl, C.W.F. Everitt, F.W. Hehl eds.)"));
    size_t with_aff = 0;
    for (size_t i = 0; i < g.n; i++)
        with_aff += g.p[i].affiliations != NULL;
    assert_int_equal(with_aff, 1);
    p = s_find(&g, "0804.0970");
    assert_int_equal(p->submitted, 1207550144);
    assert_string_equal(p->authors[0], "Marie-Claude Gaudel");
    assert_string_equal(p->affiliations[0], "LRI");
    assert_string_equal(p->authors[1], "Pascale Le Gall");
    assert_string_equal(p->affiliations[1], "IBISC");
    assert_string_equal(p->journal_ref, "Formal Methods and Testing, Springer-Verlag (Ed.) (2008) 209-239");
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

/*  The 2016 layout: namespaces on each element, hard-wrapped texts, link-and-doi. */
static void test_atom_legacy_2016(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_ATOM, "api_atom_au_del_maestro_2016-10-09.xml", &g, &page);
    assert_int_equal(page.total_results, 31);
    assert_int_equal(page.start_index, 0);
    assert_int_equal(page.items_per_page, 10);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "1201.4869");
    assert_int_equal(p->version, 1);
    assert_string_equal(p->title, "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores");
    assert_int_equal(p->submitted, 1327353302);
    assert_string_equal(p->authors[0], "Adrian Del Maestro");
    assert_string_equal(p->doi, "10.1142/S021797921244002X");
    assert_string_equal(p->comments, "26 pages, 10 figures");
    assert_string_equal(p->journal_ref, "Int. J. Mod. Phys. B, 26, 1244002 (2012)");
    s_assert_cats(p, 2, "cond-mat.mes-hall", "cond-mat.other");
    assert_true(s_starts(p->abstract, "As helium-4 is cooled below 2.17 K it undergoes a phase transition to "
                                      "a fundamentally new state of matter known as a superfluid which"));
    assert_non_null(strstr(p->abstract, "low dimensional state of matter."));
    p = s_find(&g, "cond-mat/0412498");
    assert_int_equal(p->submitted, 1103473104);
    assert_string_equal(p->title, "Thermal melting of density waves on the square lattice");
    assert_string_equal(p->authors[1], "Subir Sachdev");
    assert_non_null(strstr(p->abstract, "commensurate \"p x p\" density wave ordering on the square "
                                        "lattice (p >= 3, integer)."));
    p = s_find(&g, "cond-mat/0607501");
    assert_int_equal(p->version, 2);
    assert_int_equal(p->submitted, 1153339974);
    assert_int_equal(p->updated, 1162841620);
    assert_string_equal(p->authors[2], "A. A. Burkov");
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

static void test_atom_oldstyle_affiliations(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_ATOM, "api_atom_idlist_oldstyle_astro-ph_2026.xml", &g, &page);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "astro-ph/0601001");
    assert_int_equal(p->version, 1);
    assert_int_equal(p->submitted, 1136213878);
    s_assert_cats(p, 1, "astro-ph");
    assert_int_equal(p->n_authors, 4);
    const char *names[] = {"Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski"};
    const char *affs[] = {"Ohio State", "Ohio State", "CfA", "Warsaw University Observatory"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(p->authors[i], names[i]);
        assert_string_equal(p->affiliations[i], affs[i]);
    }
    assert_string_equal(p->journal_ref, "ActaAstron.56:1-50,2006");
    assert_non_null(strstr(p->abstract, "following Gould & Morgan (2003)"));
    assert_non_null(strstr(p->abstract, "limit of V_max<17.5."));
    assert_non_null(strstr(p->abstract, "(1/310)(1^{+1.39}_{-0.59})"));
    assert_true(s_starts(p->abstract, "We derive"));
    s_got_free(&g);
    ax_feed_page_clear(&page);

    s_parse_fixture(AX_FEED_ATOM, "api_atom_idlist_two_2026.xml", &g, &page);
    p = &g.p[0];
    assert_string_equal(p->id, "1707.08567");
    assert_int_equal(p->n_authors, 34);
    assert_string_equal(p->authors[0], "Kees A. Schouhamer Immink");
    assert_string_equal(p->authors[32], "Dirk Wübben");
    assert_string_equal(p->authors[33], "Hirosuke Yamamoto");
    assert_non_null(strstr(p->abstract, "workshop in \"Concepts in Information Theory"));
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

static void test_atom_empty_and_error(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_ATOM, "api_atom_empty_idlist_2026-04-12.xml", &g, &page);
    assert_int_equal(g.n, 0);
    assert_int_equal(page.total_results, 0);
    assert_int_equal(page.items_per_page, 100);
    assert_null(page.error_code);
    s_got_free(&g);
    ax_feed_page_clear(&page);

    s_parse_fixture(AX_FEED_ATOM, "api_atom_error_badid_http400_2026-04-12.xml", &g, &page);
    assert_int_equal(g.n, 0);
    assert_int_equal(page.skipped, 0);
    assert_string_equal(page.error_code, "api");
    assert_string_equal(page.error_message, "incorrect id format for abc");
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

/*  What no fixture has: several affiliations of one author, several <arxiv:doi>, a DOI
 *  only in a link, a primary category listed last or not at all, duplicate categories,
 *  CDATA, entries without a usable id (skipped), a feed in a namespace prefix. */
static void test_atom_synthetic(void **state)
{
    (void) state;
    const char *doc =
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<a:feed xmlns:a='http://www.w3.org/2005/Atom' xmlns:x='http://arxiv.org/schemas/atom'>\n"
        "<a:entry><a:id>http://arxiv.org/abs/2601.00001v4</a:id>\n"
        " <a:title><![CDATA[A <b>bold</b> &   title]]></a:title>\n"
        " <a:published>2026-01-01T10:00:00Z</a:published><a:updated>2026-02-01T00:00:00-05:00</a:updated>\n"
        " <a:author><a:name> Ann\n  Lee </a:name><x:affiliation>MIT</x:affiliation>"
        "<x:affiliation> CERN\n</x:affiliation></a:author>\n"
        " <a:author><a:name>Bo Chen</a:name></a:author><a:author><a:name>  </a:name></a:author>\n"
        " <a:category term='cs.LG'/><a:category term='stat.ML'/><a:category term='cs.LG'/>\n"
        " <x:primary_category term='stat.ML'/>\n"
        " <x:doi>10.1/a  10.1/b</x:doi><x:doi>10.1/c 10.1/a</x:doi>\n"
        " <a:link title='doi' href='https://doi.org/10.9/ignored'/>\n"
        "</a:entry>\n"
        "<a:entry><a:id>http://arxiv.org/abs/2601.00002v1</a:id><a:title>T</a:title>\n"
        " <a:link title='doi' href='http://dx.doi.org/10.5/x'/><a:category term='math.AG'/>"
        "<x:primary_category term='math.CO'/><a:updated>2026-01-03T00:00:00Z</a:updated></a:entry>\n"
        "<a:entry><a:title>no id</a:title></a:entry>\n"
        "<a:entry><a:id>http://arxiv.org/abs/not-an-id</a:id></a:entry>\n"
        "<a:entry><a:id>http://arxiv.org/abs/../1234567v1</a:id><a:published>2026-01-01T10:00:00Z</a:published>"
        "<a:title>T</a:title></a:entry>\n"
        "<a:entry><a:id>http://arxiv.org/abs/2601.00005v1</a:id><a:title>no date</a:title>"
        "<a:published>someday</a:published></a:entry>\n"
        "</a:feed>\n";
    s_got_t g;
    ax_feed_page_t page;
    char *err = NULL;
    assert_int_equal(s_parse_str(AX_FEED_ATOM, doc, &g, &page, &err), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(page.skipped, 4);       /* no id, not an id, "../1234567", no date */
    assert_string_equal(page.skip_reason, "no readable submission date");
    assert_int_equal(page.total_results, -1);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "2601.00001");
    assert_int_equal(p->version, 4);
    assert_string_equal(p->title, "A <b>bold</b> & title");
    assert_int_equal(p->submitted, 1767261600);             /* 2026-01-01T10:00:00Z */
    assert_int_equal(p->updated, 1769922000);               /* 2026-02-01T05:00:00Z */
    assert_int_equal(p->n_authors, 2);                      /* the blank name is dropped */
    assert_string_equal(p->authors[0], "Ann Lee");
    assert_string_equal(p->affiliations[0], "MIT; CERN");
    assert_string_equal(p->authors[1], "Bo Chen");
    assert_string_equal(p->affiliations[1], "");
    s_assert_cats(p, 2, "stat.ML", "cs.LG");
    assert_string_equal(p->doi, "10.1/a 10.1/b 10.1/c");
    p = &g.p[1];
    assert_string_equal(p->doi, "10.5/x");
    s_assert_cats(p, 2, "math.CO", "math.AG");
    assert_null(p->affiliations);
    assert_int_equal(p->submitted, 1767398400);             /* no published: dated by updated */
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

/* ---- OAI-PMH --------------------------------------------------------------------------- */

static void test_oai_arxiv_format(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_OAI, "oai_listrecords_arXiv_set-physics-hep-th_trimmed3_2017-12-14.xml", &g, &page);
    assert_null(page.token);
    assert_int_equal(page.token_cursor, -1);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "1412.8323");
    assert_int_equal(p->version, 0);                        /* several versions, count unknown */
    assert_string_equal(p->title, "Toolbox for reconstructing quantum theory from rules on information acquisition");
    assert_int_equal(p->submitted, 1419811200);             /* created 2014-12-29 */
    assert_int_equal(p->updated, 1513123200);               /* updated 2017-12-13 */
    s_assert_cats(p, 6, "quant-ph", "gr-qc", "hep-th", "math-ph", "math.MP", "physics.hist-ph");
    assert_string_equal(p->authors[0], "Philipp A Hoehn");
    assert_null(p->affiliations);
    assert_true(s_starts(p->comments, "78 pages, many figures, graphs and references. Version accepted for "
                                      "publication in Quantum (completed missing part"));
    assert_non_null(strstr(p->abstract, "O's `catalogue of knowledge' about S."));
    p = &g.p[2];
    assert_string_equal(p->id, "1607.01710");
    assert_int_equal(p->n_authors, 5);
    assert_string_equal(p->authors[0], "R. A. C. Correa");
    assert_string_equal(p->authors[3], "A. de Souza Dutra");
    assert_string_equal(p->authors[4], "C. A. S. Almeida");
    assert_string_equal(p->doi, "10.1002/andp.201700188");
    assert_null(p->comments);
    s_got_free(&g);
    ax_feed_page_clear(&page);

    s_parse_fixture(AX_FEED_OAI, "oai_listrecords_arXiv_set-physics-hep-ex_trimmed3_2017-12-14.xml", &g, &page);
    p = s_find(&g, "1707.00874");
    assert_string_equal(p->title, "Implications of right-handed neutrinos in $B-L$ extended standard model "
                                  "with scalar dark matter");
    s_assert_cats(p, 3, "hep-ph", "astro-ph.CO", "hep-ex");
    assert_int_equal(s_find(&g, "1706.05371")->n_authors, 13);
    assert_string_equal(s_find(&g, "1706.09418")->journal_ref, "Eur. Phys. J. C (2017) 77:856");
    s_got_free(&g);
    ax_feed_page_clear(&page);

    s_parse_fixture(AX_FEED_OAI, "oai_getrecord_arXiv_1412.8544_2018-06-21.xml", &g, &page);
    p = &g.p[0];
    assert_string_equal(p->id, "1412.8544");
    assert_int_equal(p->version, 1);                        /* no <updated>: one version */
    assert_int_equal(p->submitted, 1419811200);
    assert_int_equal(p->updated, 1419811200);
    assert_string_equal(p->authors[0], "Sander Uijlen");
    assert_string_equal(p->authors[1], "Bas Westerbaan");
    assert_string_equal(p->affiliations[0], "Radboud Universiteit");
    assert_string_equal(p->affiliations[1], "Radboud Universiteit");
    assert_string_equal(p->doi, "10.4204/EPTCS.172.11");
    assert_string_equal(p->journal_ref, "EPTCS 172, 2014, pp. 154-164");
    assert_string_equal(p->comments, "In Proceedings QPL 2014, arXiv:1412.8102");
    s_assert_cats(p, 1, "cs.DM");
    s_got_free(&g);
    ax_feed_page_clear(&page);

    s_parse_fixture(AX_FEED_OAI, "oai_listrecords_arXiv_2015-01-01_trimmed2_2018-06-21.xml", &g, &page);
    p = s_find(&g, "hep-th/9504118");
    assert_int_equal(p->submitted, 798681600);
    assert_string_equal(p->authors[0], "M. Requardt");
    assert_non_null(strstr(p->abstract, "the \"strength\" of the bonds"));
    assert_non_null(strstr(p->abstract, "'{\\it cellular network}'"));
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

static void test_oai_arxivraw(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_OAI, "oai_listrecords_arXivRaw_from2014-10-01_trimmed6_2015-01-06.xml", &g, &page);
    assert_string_equal(page.token, "726959|1001");
    assert_int_equal(page.token_cursor, 0);
    assert_int_equal(page.token_size, 58011);
    assert_null(page.token_expires);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "0704.0471");
    assert_int_equal(p->version, 1);
    assert_int_equal(p->submitted, 1175637851);             /* Tue, 3 Apr 2007 22:04:11 GMT */
    assert_int_equal(p->updated, 1175637851);
    assert_int_equal(p->n_authors, 3);                      /* "A, B, and C" */
    assert_string_equal(p->authors[0], "D.V. Shetty");
    assert_string_equal(p->authors[1], "S.J. Yennello");
    assert_string_equal(p->authors[2], "G.A. Souliotis");
    assert_string_equal(p->doi, "10.1103/PhysRevC.76.024606 10.1103/PhysRevC.76.039902");
    assert_string_equal(p->title, "Density dependence of the symmetry energy and the nuclear equation of "
                                  "state: A Dynamical and Statistical model perspective");
    assert_non_null(strstr(p->abstract, "an extremely \" stiff \" and \" soft \" form"));
    s_assert_cats(p, 2, "nucl-ex", "nucl-th");
    p = &g.p[1];
    assert_string_equal(p->id, "0704.0716");
    assert_int_equal(p->version, 4);
    assert_int_equal(p->submitted, 1175777103);             /* v1: Thu, 5 Apr 2007 12:45:03 GMT */
    assert_int_equal(p->updated, 1226653645);               /* v4: Fri, 14 Nov 2008 09:07:25 GMT */
    s_assert_cats(p, 2, "math-ph", "math.MP");
    assert_string_equal(p->journal_ref, "Polygons, polyominoes and polycubes, 247-299, Lecture Notes in "
                                        "Phys., 775, Springer, Dordrecht, 2009");
    p = &g.p[5];
    assert_string_equal(p->id, "0704.1586");
    assert_string_equal(p->title, "Core excitation in the elastic scattering and breakup of $^{11}$Be on protons");
    assert_string_equal(p->authors[0], "N.C. Summers");
    assert_string_equal(p->authors[1], "F.M. Nunes");
    s_got_free(&g);
    ax_feed_page_clear(&page);

    s_parse_fixture(AX_FEED_OAI, "oai_getrecord_arXivRaw_1810.09584_2019-03-05.xml", &g, &page);
    p = &g.p[0];
    assert_string_equal(p->id, "1810.09584");
    assert_int_equal(p->version, 2);
    assert_int_equal(p->submitted, 1540248110);
    assert_int_equal(p->updated, 1547378229);
    assert_int_equal(p->n_authors, 4);
    assert_string_equal(p->authors[0], "Raphael Chetrite");
    assert_string_equal(p->authors[3], "\\'Edgar Rold\\'an");  /* TeX accents as written */
    s_assert_cats(p, 3, "cond-mat.stat-mech", "physics.bio-ph", "physics.data-an");
    assert_non_null(strstr(p->abstract, "(in units of $k_{\\rm B}T$, with $k_{\\rm B}$ the Boltzmann constant"));
    s_got_free(&g);
    ax_feed_page_clear(&page);

    s_parse_fixture(AX_FEED_OAI, "oai_getrecord_arXivRaw_1302.2146_2015-01-06.xml", &g, &page);
    p = &g.p[0];
    assert_int_equal(p->n_authors, 4);
    assert_string_equal(p->authors[2], "Michael Saelim");
    assert_string_equal(p->authors[3], "Philip Tanedo");
    assert_string_equal(p->comments, "18 pages, 6 figures; v2: References added");
    s_assert_cats(p, 2, "hep-ph", "hep-ex");
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

static void test_oai_dc(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_OAI, "oai_listrecords_oai_dc_set-cs_from2024-01-25_trimmed5_2024-01-27.xml", &g, &page);
    assert_string_equal(page.token, "6960524|1001");
    assert_int_equal(page.token_cursor, 0);
    assert_int_equal(page.token_size, 1162);
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "1303.2033");
    assert_string_equal(p->title, "Extended Fourier analysis of signals");
    assert_string_equal(p->authors[0], "Vilnis Liepins");     /* from "Liepins, Vilnis" */
    assert_string_equal(p->comments, "32 pages, 9 figures");
    assert_true(s_starts(p->abstract, "This summary of the doctoral thesis"));
    assert_int_equal(p->submitted, 1362700800);
    assert_int_equal(p->updated, 1705968000);
    assert_int_equal(p->n_categories, 0);                   /* dc:subject has no codes */
    p = &g.p[4];
    assert_string_equal(p->id, "2401.14040");
    assert_string_equal(p->title, "(Chat)GPT v BERT: Dawn of Justice for Semantic Change Detection");
    assert_string_equal(p->authors[2], "Nina Tahmasebi");
    assert_string_equal(p->comments, "Accepted to the Findings of EACL 2024");
    assert_int_equal(g.p[1].n_authors, 6);
    assert_string_equal(g.p[1].authors[5], "Wanqing Li");
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

static void test_oai_errors_and_other_verbs(void **state)
{
    (void) state;
    static const struct { const char *file, *code, *msg; } errors[] = {
        {"oai_error_badArgument_2015-06-23.xml", "badArgument", "Verb 'ListRecords', illegal argument 'identifier'."},
        {"oai_error_badResumptionToken_2015-06-23.xml", "badResumptionToken",
         "The resumptionToken supplied is illegal for this repository"},
        {"oai_error_idDoesNotExist_2015-06-23.xml", "idDoesNotExist",
         "Identifier 'oai:arXiv.org:0813.2274' has correct form but does not correspond to an item in this repository"},
        {"oai_error_noRecordsMatch_2015-06-23.xml", "noRecordsMatch", "Set argument doesn't match any sets. The setSpec was 'moo'"},
    };
    s_got_t g;
    ax_feed_page_t page;
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        s_parse_fixture(AX_FEED_OAI, errors[i].file, &g, &page);
        assert_int_equal(g.n, 0);
        assert_string_equal(page.error_code, errors[i].code);
        assert_string_equal(page.error_message, errors[i].msg);
        assert_null(page.token);
        s_got_free(&g);
        ax_feed_page_clear(&page);
    }
    static const char *others[] = {"oai_identify_2018-06-21.xml", "oai_listidentifiers_arXiv_2009-01-01_2018-06-21.xml",
                                   "oai_listsets_2018-06-21.xml", "oai_listmetadataformats_2018-06-21.xml"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        s_parse_fixture(AX_FEED_OAI, others[i], &g, &page);
        assert_int_equal(g.n, 0);
        assert_int_equal(page.deleted + page.skipped, 0);
        assert_null(page.error_code);
        s_got_free(&g);
        ax_feed_page_clear(&page);
    }
}

/*  Deleted records, a record without metadata, an unknown metadata format, suffixes and
 *  several affiliations, the token's attributes, an empty (last) token. */
static void test_oai_synthetic(void **state)
{
    (void) state;
    const char *head = "<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'><ListRecords>\n";
    const char *records =
        "<record><header status='deleted'><identifier>oai:arXiv.org:1001.0001</identifier></header></record>\n"
        "<record><header><identifier>oai:arXiv.org:hep-th/9901001</identifier></header><metadata>\n"
        " <arXiv xmlns='http://arxiv.org/OAI/arXiv/'><created>1999-01-01</created>"
        "<authors><author><keyname>King</keyname><forenames>Martin L.</forenames><suffix>Jr</suffix>"
        "<affiliation>A</affiliation><affiliation>B</affiliation></author>"
        "<author><keyname>Nobody</keyname></author></authors><title>T</title>"
        "<categories>hep-th  hep-th gr-qc</categories></arXiv></metadata></record>\n"
        "<record><header><identifier>oai:arXiv.org:1001.0003</identifier></header></record>\n"
        "<record><header><identifier>oai:arXiv.org:1001.0004</identifier></header>"
        "<metadata><other xmlns='urn:x'><id>1001.0004</id></other></metadata></record>\n"
        "<resumptionToken cursor='1000' completeListSize='2500' expirationDate='2026-01-02T03:04:05Z'>"
        " 7261|2001 </resumptionToken>\n";
    char doc[4096];
    snprintf(doc, sizeof doc, "%s%s</ListRecords></OAI-PMH>", head, records);
    s_got_t g;
    ax_feed_page_t page;
    char *err = NULL;
    assert_int_equal(s_parse_str(AX_FEED_OAI, doc, &g, &page, &err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(page.deleted, 1);
    assert_int_equal(page.skipped, 2);
    assert_string_equal(page.skip_reason, "no arXiv metadata");
    assert_string_equal(page.token, "7261|2001");
    assert_int_equal(page.token_cursor, 1000);
    assert_int_equal(page.token_size, 2500);
    assert_string_equal(page.token_expires, "2026-01-02T03:04:05Z");
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "hep-th/9901001");              /* from the header */
    assert_int_equal(p->version, 1);
    assert_string_equal(p->authors[0], "Martin L. King Jr");
    assert_string_equal(p->affiliations[0], "A; B");
    assert_string_equal(p->authors[1], "Nobody");
    assert_string_equal(p->affiliations[1], "");
    s_assert_cats(p, 2, "hep-th", "gr-qc");
    s_got_free(&g);
    ax_feed_page_clear(&page);

    /* The last page of a list: an empty token. */
    snprintf(doc, sizeof doc, "%s<resumptionToken completeListSize='2500' cursor='2000'/></ListRecords></OAI-PMH>", head);
    assert_int_equal(s_parse_str(AX_FEED_OAI, doc, &g, &page, &err), 0);
    assert_non_null(page.token);
    assert_string_equal(page.token, "");
    assert_int_equal(page.token_cursor, 2000);
    assert_null(page.token_expires);
    s_got_free(&g);
    ax_feed_page_clear(&page);

    /* arXivRaw authors with a comma-separated suffix, " and " only. */
    snprintf(doc, sizeof doc,
             "%s<record><header><identifier>oai:arXiv.org:0704.0001</identifier></header><metadata>"
             "<arXivRaw xmlns='http://arxiv.org/OAI/arXivRaw/'><id>0704.0001</id>"
             "<version version='v1'><date>Mon, 2 Apr 2007 19:18:42 GMT</date></version>"
             "<authors>John Smith, Jr., Jane Doe and\n  Li Wei</authors></arXivRaw></metadata></record>"
             "</ListRecords></OAI-PMH>", head);
    assert_int_equal(s_parse_str(AX_FEED_OAI, doc, &g, &page, &err), 0);
    assert_int_equal(g.p[0].n_authors, 3);
    assert_string_equal(g.p[0].authors[0], "John Smith Jr.");
    assert_string_equal(g.p[0].authors[1], "Jane Doe");
    assert_string_equal(g.p[0].authors[2], "Li Wei");
    assert_int_equal(g.p[0].version, 1);                  /* one <version> */
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

/* ---- RSS ------------------------------------------------------------------------------- */

static void test_rss(void **state)
{
    (void) state;
    s_got_t g;
    ax_feed_page_t page;
    s_parse_fixture(AX_FEED_RSS, "rss_cs.LG+cs.AI+cs.CL+stat.ML_trimmed4_2026-09-24.xml", &g, &page);
    assert_int_equal(page.rss_pub_date, 1790222400);        /* Thu, 24 Sep 2026 00:00:00 -0400 */
    const ax_paper_t *p = &g.p[0];
    assert_string_equal(p->id, "2609.26811");
    assert_int_equal(p->version, 1);
    assert_string_equal(g.announce[0], "new");
    assert_string_equal(p->title, "The Drift Contract: Spectral Updates for Depth-Robust Local Learning");
    assert_string_equal(p->authors[0], "Fabien Polly");
    assert_int_equal(p->n_authors, 1);
    s_assert_cats(p, 1, "cs.LG");
    assert_int_equal(p->submitted, 1790222400);
    assert_int_equal(p->updated, 1790222400);
    assert_true(s_starts(p->abstract, "Local learning trains each layer"));
    assert_null(strstr(p->abstract, "Announce Type"));
    assert_non_null(strstr(p->abstract, "lr = epsilon / RMS(input)"));
    p = &g.p[1];
    assert_int_equal(p->n_authors, 3);
    assert_string_equal(p->authors[0], "Naser Mansour");
    assert_string_equal(p->authors[2], "Ameer Rahwan");
    s_assert_cats(p, 2, "cs.LG", "cs.AI");
    p = &g.p[2];
    assert_string_equal(p->id, "2205.06398");
    assert_int_equal(p->version, 2);
    assert_string_equal(g.announce[2], "cross");
    assert_string_equal(p->doi, "10.1093/bioinformatics/btac431");
    s_assert_cats(p, 3, "stat.ME", "stat.AP", "stat.ML");
    assert_string_equal(p->authors[2], "David B. Dunson");
    p = &g.p[3];
    assert_string_equal(p->id, "2009.13987");
    assert_int_equal(p->version, 3);
    assert_string_equal(g.announce[3], "replace");
    assert_string_equal(p->authors[1], "Marek Kaluba");
    assert_null(p->doi);
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

/*  A weekend: an empty channel. An item whose id is only in the guid or the link, a
 *  replace-cross known only from the description, a journal reference. */
static void test_rss_synthetic(void **state)
{
    (void) state;
    const char *empty =
        "<?xml version='1.0' encoding='UTF-8'?>\n<rss version='2.0'><channel><title>cs.IR updates</title>"
        "<pubDate>Sat, 26 Sep 2026 00:00:00 -0400</pubDate><skipDays><day>Sunday</day></skipDays></channel></rss>";
    s_got_t g;
    ax_feed_page_t page;
    char *err = NULL;
    assert_int_equal(s_parse_str(AX_FEED_RSS, empty, &g, &page, &err), 0);
    assert_int_equal(g.n, 0);
    assert_int_equal(page.entries, 0);
    assert_int_equal(page.rss_pub_date, 1790395200);
    s_got_free(&g);
    ax_feed_page_clear(&page);

    const char *doc =
        "<rss xmlns:arxiv='http://arxiv.org/schemas/atom' xmlns:dc='http://purl.org/dc/elements/1.1/' version='2.0'>"
        "<channel><pubDate>Mon, 28 Sep 2026 00:00:00 -0400</pubDate>"
        "<item><title>Only a guid</title><description>arXiv:2609.1 Announce Type: replace-cross \n"
        "Abstract: Text &amp; more.</description><guid>oai:arXiv.org:2609.00002v5</guid>"
        "<category>cs.IR</category><dc:creator>A B and C D</dc:creator>"
        "<arxiv:journal_reference>J. Foo 1 (2026)</arxiv:journal_reference></item>"
        "<item><title>Only a link</title><description>Plain abstract.</description>"
        "<link>https://arxiv.org/abs/hep-th/9901001v2</link><pubDate>Tue, 29 Sep 2026 00:00:00 +0000</pubDate></item>"
        "<item><title>No id at all</title></item>"
        "</channel></rss>";
    assert_int_equal(s_parse_str(AX_FEED_RSS, doc, &g, &page, &err), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(page.skipped, 1);
    assert_string_equal(g.p[0].id, "2609.00002");
    assert_int_equal(g.p[0].version, 5);
    assert_string_equal(g.announce[0], "replace-cross");
    assert_string_equal(g.p[0].abstract, "Text & more.");
    assert_string_equal(g.p[0].journal_ref, "J. Foo 1 (2026)");
    assert_int_equal(g.p[0].submitted, 1790568000);         /* the channel's day */
    assert_string_equal(g.p[0].authors[1], "C D");
    assert_string_equal(g.p[1].id, "hep-th/9901001");
    assert_int_equal(g.p[1].version, 2);
    assert_null(g.announce[1]);
    assert_string_equal(g.p[1].abstract, "Plain abstract.");
    assert_int_equal(g.p[1].submitted, 1790640000);
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

/* ---- dates ----------------------------------------------------------------------------- */

/*  Every date form of the fixtures, zone offsets applied (ax_time_parse alone ignores
 *  them: "Thu, 24 Sep 2026 00:00:00 -0400" is 04:00 UTC, not 00:00). */
static void test_dates(void **state)
{
    (void) state;
    static const struct { const char *s; int64_t t; } cases[] = {
        {"Thu, 24 Sep 2026 00:00:00 -0400", 1790222400},
        {"Thu, 24 Sep 2026 08:58:05 +0000", 1790240285},
        {"Tue, 3 Apr 2007 22:04:11 GMT", 1175637851},
        {"2026-09-24T17:59:59Z", 1790272799},
        {"2016-10-09T00:00:00-04:00", 1475985600},
        {"2016-10-09T05:30:00+05:30", 1475971200},
        {"  2014-12-29\n", 1419811200},
        {"Mon, 9 Apr 2007 14:45:43 EDT", 1176144343},
        {"", 0},
        {"yesterday", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (ax_feed_time(cases[i].s, strlen(cases[i].s)) != cases[i].t)
            fail_msg("%s: %lld, expected %lld", cases[i].s,
                     (long long) ax_feed_time(cases[i].s, strlen(cases[i].s)), (long long) cases[i].t);
}

/* ---- broken input ---------------------------------------------------------------------- */

/*  1 when data[from..len) is only whitespace (the cut left the whole root element in). */
static int s_only_space_after(const char *data, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++)
        if (!strchr(" \t\r\n", data[i]))
            return 0;
    return 1;
}

/*  Every fixture cut at 0, 1, every 997 bytes and one byte short: -1 with the line in
 *  the message and no paper delivered, unless the cut kept the whole root element. */
static void test_truncated_every_fixture(void **state)
{
    (void) state;
    size_t cuts = 0, said_truncated = 0;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        char path[512];
        size_t len;
        snprintf(path, sizeof path, "%s%s", FIXTURES, s_fixtures[i].name);
        char *data = s_read(path, &len);
        for (size_t cut = 0; cut < len; cut = cut < 2 ? cut + 1 : cut + 997) {
            for (int last = 0; last < 2; last++) {
                size_t at = last ? len - 1 : cut;
                char *copy = malloc(at ? at : 1);   /* exact size: ASan sees any overread */
                assert_non_null(copy);
                memcpy(copy, data, at);
                s_got_t g = {0};
                ax_feed_page_t page;
                char *err = NULL;
                int rc = ax_feed_parse(s_fixtures[i].kind, copy, at, &page, s_collect, &g, &err);
                if (rc == 0) {
                    if (!s_only_space_after(data, len, at))
                        fail_msg("%s cut at %zu parsed", s_fixtures[i].name, at);
                } else {
                    assert_int_equal(rc, -1);
                    assert_non_null(err);
                    if (!strstr(err, "line"))
                        fail_msg("%s cut at %zu: '%s' has no line", s_fixtures[i].name, at, err);
                    assert_int_equal(g.n, 0);
                    assert_int_equal(page.entries, 0);
                    assert_null(page.token);
                    said_truncated += strstr(err, "truncated") != NULL;
                    /* Inside the root element, the message says what happened. */
                    if (at >= 999 && !strstr(err, "truncated"))
                        fail_msg("%s cut at %zu: '%s'", s_fixtures[i].name, at, err);
                    cuts++;
                }
                free(err);
                s_got_free(&g);
                ax_feed_page_clear(&page);
                free(copy);
            }
        }
        free(data);
    }
    print_message("%zu cuts, %zu said \"truncated\"\n", cuts, said_truncated);
    assert_true(cuts > 300);
    /* Denser on one file of each format: every 13th byte. */
    static const size_t dense[] = {2, 17, 23};
    for (size_t k = 0; k < sizeof dense / sizeof *dense; k++) {
        char path[512];
        size_t len, i = dense[k];
        snprintf(path, sizeof path, "%s%s", FIXTURES, s_fixtures[i].name);
        char *data = s_read(path, &len);
        const char *root = strstr(data, s_fixtures[i].kind == AX_FEED_ATOM  ? "<feed"
                                        : s_fixtures[i].kind == AX_FEED_OAI ? "<OAI-PMH" : "<rss");
        assert_non_null(root);
        for (size_t at = (size_t) (strchr(root, '>') - data) + 1; at < len; at += 13) {
            s_got_t g = {0};
            ax_feed_page_t page;
            char *err = NULL;
            if (ax_feed_parse(s_fixtures[i].kind, data, at, &page, s_collect, &g, &err) == 0)
                assert_true(s_only_space_after(data, len, at));
            else if (!err || !strstr(err, "truncated?"))
                fail_msg("%s cut at %zu: '%s'", s_fixtures[i].name, at, err ? err : "");
            assert_int_equal(g.n, 0);
            free(err);
            ax_feed_page_clear(&page);
        }
        free(data);
    }
}

static void s_expect_error(ax_feed_kind_t kind, const char *data, size_t len, const char *needle)
{
    ax_feed_page_t page;
    char *err = NULL;
    s_got_t g = {0};
    int rc = ax_feed_parse(kind, data, len, &page, s_collect, &g, &err);
    if (rc != -1 || !err || !strstr(err, "line") || (needle && !strstr(err, needle)))
        fail_msg("rc %d, error '%s' (expected one with '%s')", rc, err ? err : "", needle ? needle : "line");
    assert_int_equal(g.n, 0);
    free(err);
    s_got_free(&g);
    ax_feed_page_clear(&page);
}

static void test_garbage(void **state)
{
    (void) state;
    s_expect_error(AX_FEED_ATOM, "", 0, "empty");
    s_expect_error(AX_FEED_OAI, NULL, 0, "empty");
    s_expect_error(AX_FEED_RSS, "   \n", 4, NULL);
    s_expect_error(AX_FEED_ATOM, "{\"error\": \"rate limited\"}", 25, NULL);
    const char *html = "<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>";
    s_expect_error(AX_FEED_OAI, html, strlen(html), "DOCTYPE");
    const char *html2 = "<html><body>Retry later</body></html>";
    s_expect_error(AX_FEED_OAI, html2, strlen(html2), "root element is <html>");
    const char *atom = "<feed xmlns='http://www.w3.org/2005/Atom'/>";
    s_expect_error(AX_FEED_RSS, atom, strlen(atom), "not an RSS feed");
    s_expect_error(AX_FEED_OAI, atom, strlen(atom), "not an OAI-PMH response");
    const char *no_ns = "<feed><entry><id>http://arxiv.org/abs/2601.00001v1</id></entry></feed>";
    s_expect_error(AX_FEED_ATOM, no_ns, strlen(no_ns), "not an Atom feed");
    /* Billion laughs: refused at the DOCTYPE, before anything expands. */
    const char *laughs =
        "<?xml version='1.0'?><!DOCTYPE feed [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>"
        "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;'>]>"
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>&d;&d;&d;&d;</title></feed>";
    s_expect_error(AX_FEED_ATOM, laughs, strlen(laughs), NULL);     /* libxml2 or we refuse */
    const char *xxe = "<!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><rss><channel>&x;</channel></rss>";
    s_expect_error(AX_FEED_RSS, xxe, strlen(xxe), "DOCTYPE");
    const char nul[] = "<rss><channel><title>a\0b</title></channel></rss>";
    s_expect_error(AX_FEED_RSS, nul, sizeof nul - 1, NULL);
    const char *latin1 = "<rss><channel><title>caf\xe9</title></channel></rss>";
    s_expect_error(AX_FEED_RSS, latin1, strlen(latin1), NULL);
    const char *two_roots = "<rss><channel/></rss><rss><channel/></rss>";
    s_expect_error(AX_FEED_RSS, two_roots, strlen(two_roots), NULL);
    const char *bad_enc = "<?xml version='1.0' encoding='x-unknown'?><rss/>";
    s_expect_error(AX_FEED_RSS, bad_enc, strlen(bad_enc), NULL);
    ax_feed_page_t page;
    char *err = NULL;
    assert_int_equal(ax_feed_parse((ax_feed_kind_t) 42, atom, strlen(atom), &page, NULL, NULL, &err), -1);
    assert_non_null(err);
    free(err);
    assert_int_equal(ax_feed_parse(AX_FEED_RSS, html2, strlen(html2), &page, NULL, NULL, NULL), -1);
    ax_feed_page_clear(&page);

    /* Random bytes, and random bytes after a valid start: never a crash or a leak. */
    srand(11);
    char buf[2048];
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t) (rand() % (int) sizeof buf), at = 0;
        if (round % 2) {
            const char *start = round % 4 == 1 ? "<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>"
                                               : "<rss><channel><item><title>";
            at = strlen(start);
            memcpy(buf, start, at);
        }
        for (size_t i = at; i < n; i++)
            buf[i] = (char) (round % 3 ? "<>/&;= \"'abc\n"[rand() % 13] : rand());
        s_got_t g = {0};
        int rc = ax_feed_parse((ax_feed_kind_t) (round % 3), buf, n < at ? at : n, &page, s_collect, &g, &err);
        assert_true(rc == 0 || rc == -1);
        assert_true(rc == 0 || (err && strstr(err, "line")));
        free(err);
        err = NULL;
        s_got_free(&g);
        ax_feed_page_clear(&page);
    }
}

/*  A 50 MB title: refused with a clear message (libxml2's 10 MB text limit) or parsed,
 *  never a crash. */
static void test_huge_field(void **state)
{
    (void) state;
    const char *head = "<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>http://arxiv.org/abs/2601.00001v1</id><title>";
    const char *tail = "</title></entry></feed>";
    size_t big = 50u << 20, hl = strlen(head), tl = strlen(tail);
    char *doc = malloc(hl + big + tl);
    assert_non_null(doc);
    memcpy(doc, head, hl);
    for (size_t i = 0; i < big; i++)
        doc[hl + i] = i % 80 == 79 ? '\n' : "abcdefgh "[i % 9];
    memcpy(doc + hl + big, tail, tl);
    s_got_t g = {0};
    ax_feed_page_t page;
    char *err = NULL;
    int rc = ax_feed_parse(AX_FEED_ATOM, doc, hl + big + tl, &page, s_collect, &g, &err);
    if (rc == 0) {
        assert_int_equal(g.n, 1);
        assert_true(strlen(g.p[0].title) > (40u << 20));
    } else {
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "line"));
        print_message("50 MB title: %s\n", err);
    }
    free(err);
    s_got_free(&g);
    ax_feed_page_clear(&page);
    free(doc);
}

/*  The callback stops the delivery: -2, the rest freed (ASan checks); no callback at all:
 *  papers only counted. */
static void test_callback_stop_and_null(void **state)
{
    (void) state;
    char path[512], *err = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s%s", FIXTURES, "api_atom_all_testing_m100_2026-04-12.xml");
    char *data = s_read(path, &len);
    s_got_t g = {.stop_after = 2};
    ax_feed_page_t page;
    assert_int_equal(ax_feed_parse(AX_FEED_ATOM, data, len, &page, s_collect, &g, &err), -2);
    assert_null(err);
    assert_int_equal(g.n, 2);
    assert_int_equal(page.entries, 2);
    s_got_free(&g);
    ax_feed_page_clear(&page);
    assert_int_equal(ax_feed_parse(AX_FEED_ATOM, data, len, &page, NULL, NULL, &err), 0);
    assert_int_equal(page.entries, 100);
    ax_feed_page_clear(&page);
    ax_feed_page_clear(NULL);
    assert_string_equal(ax_feed_kind_name(AX_FEED_OAI), "oai");
    free(data);
}

/*  libxml2 never writes to stderr, whatever the input. */
static void test_libxml2_is_quiet(void **state)
{
    (void) state;
    char tmpl[] = "/tmp/ax_feed_stderr_XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    const char *docs[] = {
        "<rss><channel><title>a</titl></channel></rss>",
        "<?xml version='1.0' encoding='x-unknown'?><rss/>",
        "<rss><channel><x:y/></channel></rss>",
        "<rss xmlns:a='urn:a' xmlns:a='urn:b'/>",
        "<?xml version='1.0' encoding='UTF-16'?><rss/>",
        "<rss><channel>&nbsp;\xff\xfe</channel></rss>",
        "<rss><channel><title>\x01</title></channel></rss>",
        "\xef\xbb\xbf<?xml version='2.0'?><rss/>",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        ax_feed_page_t page;
        char *err = NULL;
        ax_feed_parse(AX_FEED_RSS, docs[i], strlen(docs[i]), &page, NULL, NULL, &err);
        free(err);
        ax_feed_page_clear(&page);
    }
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(tmpl);
    assert_int_equal(size, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_count),
        cmocka_unit_test(test_atom_cs_cl),
        cmocka_unit_test(test_atom_testing_m100),
        cmocka_unit_test(test_atom_legacy_2016),
        cmocka_unit_test(test_atom_oldstyle_affiliations),
        cmocka_unit_test(test_atom_empty_and_error),
        cmocka_unit_test(test_atom_synthetic),
        cmocka_unit_test(test_oai_arxiv_format),
        cmocka_unit_test(test_oai_arxivraw),
        cmocka_unit_test(test_oai_dc),
        cmocka_unit_test(test_oai_errors_and_other_verbs),
        cmocka_unit_test(test_oai_synthetic),
        cmocka_unit_test(test_rss),
        cmocka_unit_test(test_rss_synthetic),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_truncated_every_fixture),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_huge_field),
        cmocka_unit_test(test_callback_stop_and_null),
        cmocka_unit_test(test_libxml2_is_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
