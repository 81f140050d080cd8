/*  test_site.c: the static site and the Atom feed (site.h, atom_feed.h).
 *
 *  A site with hostile papers (script tags in titles, attribute break-outs in abstracts,
 *  authors, categories and keywords, invalid UTF-8 and control characters) is written to
 *  a temporary folder, then every file is read back and checked as a user's browser or
 *  feed reader would meet it: every tag of every page is one the site emits, every
 *  attribute double-quoted and none an event handler, one script element per page and
 *  it is ours, the hostile text shows as text, no resource from the network (src=, href=,
 *  @import, url()) other than links to arxiv.org, every relative link resolves to a file
 *  that exists, the index lists periods newest first, feed.xml is well-formed Atom with
 *  unique ids, newest first. Also the escapers alone, file names, period order, errors,
 *  and byte-for-byte reproducible output.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libgen.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atom_feed.h"
#include "render.h"
#include "site.h"
#include "test_helpers.h"

#define S_GENERATED_AT 1782907200 /* 2026-07-01T12:00:00Z */

/* ---------------------------------------------------------------- fixtures */

static char *s_hostile_authors[] = {"Eve <b>Evil</b>", "Mallory \" onmouseover=\"alert(1)", "O'Brien & Sons"};
static char *s_hostile_cats[] = {"cs.IR", "cs.CR\"><svg onload=alert(1)>"};
static char *s_hostile_hits[] = {"ranking", "</script><b>kw</b>\"'&"};
static char *s_tags[] = {"<u>tag</u>"};
static char *s_plain_authors[] = {"Ada Lovelace", "Alan Turing"};
static char *s_ir[] = {"cs.IR", "cs.LG"};
static char *s_hep[] = {"hep-th"};
static char *s_hits_rank[] = {"ranking"};
static char *s_hits_graph[] = {"graph"};

/*  The papers of the fixture digests; [0] is the hostile one, [1] appears in two digests. */
static ax_entry_t s_entries[5];

static void s_fill_entries(void)
{
    memset(s_entries, 0, sizeof s_entries);
    ax_entry_t *e = &s_entries[0];
    e->paper =
        (ax_paper_t){.id = "2607.00001",
                     .version = 2,
                     .title = "<script>alert(1)</script> Ranking with $x<y$ & \\emph{bold} claims",
                     .authors = s_hostile_authors,
                     .n_authors = 3,
                     .abstract = "\"><img src=x onerror=alert(1)> and </script><script>alert(2)</script> "
                                 "see https://evil.example/x.js",
                     .categories = s_hostile_cats,
                     .n_categories = 2,
                     .submitted = 1782867600,
                     .updated = 1782867600,
                     .comments = "<!-- c --> ]]> 10 pages",
                     .journal_ref = "<i>J</i>",
                     .doi = "10.1/\"x\""};
    e->verdict =
        (ax_verdict_t){.profile = "p", .state = AX_STATE_ENRICHED, .hits = s_hostile_hits, .n_hits = 2};
    e->verdict.llm = (ax_llm_t){.title_translated = "<b>标题</b>",
                                .tldr = "</script><img src=x onerror=alert(3)>",
                                .motivation = "<style>body{display:none}</style>",
                                .method = "m & m",
                                .score = 5,
                                .score_reason = "<i>why</i>",
                                .company = "<b>ACME</b>",
                                .tags_top = s_tags,
                                .n_tags_top = 1,
                                .model = "<m>",
                                .prompt_version = "v\"1"};
    s_entries[1].paper = (ax_paper_t){.id = "2606.00002",
                                      .version = 1,
                                      .title = "Shared $\\alpha<\\beta$ ranking",
                                      .authors = s_plain_authors,
                                      .n_authors = 2,
                                      .abstract = "Plain.",
                                      .categories = s_ir,
                                      .n_categories = 2,
                                      .submitted = 1782781200};
    s_entries[1].verdict = (ax_verdict_t){.state = AX_STATE_ENRICHED, .hits = s_hits_rank, .n_hits = 1};
    s_entries[1].verdict.llm.score = 3;
    s_entries[2].paper = (ax_paper_t){.id = "hep-th/9901001",
                                      .title = "Old style graph",
                                      .authors = s_plain_authors,
                                      .n_authors = 1,
                                      .categories = s_hep,
                                      .n_categories = 1,
                                      .submitted = 915148800};
    s_entries[2].verdict = (ax_verdict_t){.state = AX_STATE_MATCHED, .hits = s_hits_graph, .n_hits = 1};
    s_entries[3].paper = (ax_paper_t){.id = "2606.00004",
                                      .version = 1,
                                      .title = "Bad\x01 bytes \xff\xfe here \xed\xa0\x80",
                                      .abstract = "Esc\x1b[31m and DEL\x7f.",
                                      .categories = s_ir,
                                      .n_categories = 1,
                                      .submitted = 1782694800};
    s_entries[3].verdict = (ax_verdict_t){.state = AX_STATE_ENRICHED, .hits = s_hits_graph, .n_hits = 1};
    s_entries[3].verdict.llm.score = 2;
    s_entries[4].paper = (ax_paper_t){.id = "2606.00005",
                                      .version = 1,
                                      .title = "Quiet paper",
                                      .categories = s_ir,
                                      .n_categories = 1,
                                      .submitted = 1782694800};
    s_entries[4].verdict = (ax_verdict_t){.state = AX_STATE_MATCHED, .hits = s_hits_rank, .n_hits = 1};
}

static ax_profile_t s_profile(void)
{
    return (ax_profile_t){.name = "recsys", .title = "Digest <of> \"recsys\" & co", .language = "en"};
}

/*  Digests: 2026-07-01 {0, 1, 2}, 2026-06-30 {1, 4}, 2026-06-29 {3}, 2026-05 {} (empty),
 *  added out of order. */
static const struct {
    const char *period;
    size_t idx[3], n;
} s_digests[] = {
    {"2026-06-30", {1, 4}, 2}, {"2026-07-01", {0, 1, 2}, 3}, {"2026-05", {0}, 0}, {"2026-06-29", {3}, 1}};
#define S_N_DIGESTS (sizeof s_digests / sizeof *s_digests)

/*  Writes the fixture site and feed into dir (created). */
static void s_write_site(const char *dir, const ax_atom_feed_opts_t *opts)
{
    ax_profile_t prof = s_profile();
    char *err = NULL, feed_path[512];
    ax_site_t *site = ax_site_open(dir, &prof, "run-1", S_GENERATED_AT, &err);
    assert_non_null(site);
    assert_int_equal(ax_site_set_feed(site, "feed.xml"), 0);
    snprintf(feed_path, sizeof feed_path, "%s/feed.xml", dir);
    ax_atom_feed_t *feed = ax_atom_feed_open(feed_path, &prof, "run-1", S_GENERATED_AT, opts, &err);
    assert_non_null(feed);
    for (size_t d = 0; d < S_N_DIGESTS; d++) {
        ax_entry_t v[3];
        for (size_t i = 0; i < s_digests[d].n; i++)
            v[i] = s_entries[s_digests[d].idx[i]];
        ax_rank_sort(v, s_digests[d].n);
        char href[128];
        assert_int_equal(ax_site_digest_file(s_digests[d].period, href, sizeof href), 0);
        assert_int_equal(ax_site_add_digest(site, s_digests[d].period, v, s_digests[d].n, &err), 0);
        assert_int_equal(ax_atom_feed_add(feed, s_digests[d].period, href, v, s_digests[d].n), 0);
    }
    assert_int_equal(ax_site_close(&site, &err), 0);
    assert_null(site);
    assert_int_equal(ax_atom_feed_close(&feed, &err), 0);
    assert_null(feed);
    assert_null(err);
}

static char *s_slurp(const char *path)
{
    char *text = ax_test_read_file(path, NULL);
    assert_non_null(text);
    return text;
}

static char *s_tmpdir(void)
{
    return ax_test_tmpdir("axsite-");
}

static void s_rmtree(char *dir)
{
    ax_test_rmtree(dir);
    free(dir);
}
/*  Every regular file under the site, collected by nftw. */
static char *s_files[4096];
static size_t s_n_files;

static int s_collect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F && s_n_files < sizeof s_files / sizeof *s_files)
        s_files[s_n_files++] = strdup(path);
    return 0;
}

static void s_list_files(const char *dir)
{
    s_n_files = 0;
    assert_int_equal(nftw(dir, s_collect, 16, FTW_PHYS), 0);
}

static void s_free_files(void)
{
    for (size_t i = 0; i < s_n_files; i++)
        free(s_files[i]);
    s_n_files = 0;
}

static int s_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static size_t s_count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---------------------------------------------------------------- page checks */

static const char *s_allowed_tags[] = {"html",   "head", "meta",    "link",    "title",  "body",   "header",
                                       "nav",    "main", "footer",  "h1",      "h2",     "p",      "span",
                                       "a",      "form", "label",   "input",   "select", "option", "button",
                                       "ol",     "li",   "details", "summary", "time",   "script", "em",
                                       "strong", "code", "article", "section", "dl",     "dt",     "dd"};

/*  An href or src value: relative (then it must exist next to page) or a paper on arxiv. */
static void s_check_link(const char *page, const char *value, size_t len)
{
    char v[1024];
    assert_true(len < sizeof v);
    memcpy(v, value, len);
    v[len] = '\0';
    if (strncmp(v, "https://arxiv.org/abs/", 22) == 0 || strncmp(v, "https://arxiv.org/pdf/", 22) == 0)
        return;
    if (strstr(v, "//") || strchr(v, ':')) /* any scheme or network-path reference */
        fail_msg("%s: non-arxiv absolute reference \"%s\"", page, v);
    if (v[0] == '#')
        return;
    v[strcspn(v, "#?")] = '\0';
    char *copy = strdup(page), target[2048];
    snprintf(target, sizeof target, "%s/%s", dirname(copy), v);
    free(copy);
    struct stat st;
    if (stat(target, &st) != 0 || !S_ISREG(st.st_mode))
        fail_msg("%s: link \"%s\" resolves to no file (%s)", page, v, target);
}

/*  Tokenizes every tag of an HTML page: known tag names only, attributes double-quoted,
 *  no on* handler, every href/src checked; exactly one script element, ours. */
static void s_check_html(const char *path, const char *html)
{
    size_t scripts = 0;
    for (const char *p = html; (p = strchr(p, '<'));) {
        p++;
        if (strncmp(p, "!DOCTYPE html>", 14) == 0)
            continue;
        if (*p == '/')
            p++;
        size_t nlen = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");
        if (nlen == 0)
            fail_msg("%s: '<' that is no tag: \"%.40s\"", path, p - 1);
        int known = 0;
        for (size_t i = 0; i < sizeof s_allowed_tags / sizeof *s_allowed_tags; i++)
            known |= strlen(s_allowed_tags[i]) == nlen && strncmp(p, s_allowed_tags[i], nlen) == 0;
        if (!known)
            fail_msg("%s: unexpected tag <%.*s>", path, (int)nlen, p);
        if (p[-1] != '/' && nlen == 6 && strncmp(p, "script", 6) == 0) {
            scripts++;
            if (strncmp(p, "script src=\"assets/site.js\"></script>", 37) != 0 &&
                strncmp(p, "script src=\"../assets/site.js\"></script>", 40) != 0)
                fail_msg("%s: foreign script \"%.60s\"", path, p);
        }
        p += nlen;
        for (;;) {
            p += strspn(p, " \n");
            if (*p == '>')
                break;
            size_t alen = strspn(p, "abcdefghijklmnopqrstuvwxyz-");
            if (alen == 0)
                fail_msg("%s: bad attribute syntax \"%.40s\"", path, p);
            if (strncmp(p, "on", 2) == 0)
                fail_msg("%s: event handler attribute \"%.40s\"", path, p);
            const char *name = p;
            p += alen;
            if (*p != '=')
                continue; /* boolean attribute (hidden) */
            if (p[1] != '"')
                fail_msg("%s: unquoted attribute \"%.40s\"", path, name);
            const char *v = p + 2, *end = strchr(v, '"');
            assert_non_null(end);
            assert_null(memchr(v, '<', (size_t)(end - v)));
            if ((alen == 4 && strncmp(name, "href", 4) == 0) || (alen == 3 && strncmp(name, "src", 3) == 0))
                s_check_link(path, v, (size_t)(end - v));
            p = end + 1;
        }
    }
    assert_int_equal(scripts, 1);
    assert_int_equal(s_count(html, "</script"), 1);
}

/*  No @import, no CSS url() (a "url(" that is not the end of a longer name such as the
 *  script's fromUrl()), no fetch or XHR. */
static void s_check_no_remote(const char *path, const char *text)
{
    if (strcasestr(text, "@import"))
        fail_msg("%s: @import", path);
    for (const char *p = text; (p = strcasestr(p, "url(")); p++)
        if (p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '$'))
            fail_msg("%s: url() \"%.40s\"", path, p);
    assert_null(strstr(text, "fetch("));
    assert_null(strstr(text, "XMLHttpRequest"));
}

/* ---------------------------------------------------------------- tests */

static void test_escapers(void **state)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    ax_html_put_text(m, "<a href=\"x\" title='y'>&amp;</a> 快手 \x01\xff\xed\xa0\x80\t\n");
    fclose(m);
    assert_string_equal(buf, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt; 快手 "
                             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\t\n");
    free(buf);

    m = open_memstream(&buf, &size);
    ax_html_put_tex(m, "If $x<y$ then \\emph{a<b} and \\(z>1\\); $$\\sum$$, \\textbf{B} \\texttt{c} "
                       "\\textit{i}; costs \\$5 and $3 only; \\emph{\\alpha} \\emph{}");
    fclose(m);
    assert_string_equal(buf, "If <span class=\"tex\">$x&lt;y$</span> then <em>a&lt;b</em> and "
                             "<span class=\"tex\">\\(z&gt;1\\)</span>; <span class=\"tex\">$$\\sum$$</span>, "
                             "<strong>B</strong> <code>c</code> <em>i</em>; costs \\$5 and $3 only; "
                             "\\emph{\\alpha} \\emph{}");
    free(buf);

    m = open_memstream(&buf, &size);
    ax_url_put_component(m, "a b/<\"&'>~.-_é");
    fclose(m);
    assert_string_equal(buf, "a%20b%2F%3C%22%26%27%3E~.-_%C3%A9");
    free(buf);

    ax_paper_t p = {.id = "hep-th/99\"><x", .version = 3};
    m = open_memstream(&buf, &size);
    ax_arxiv_put_url(m, "abs", &p);
    fclose(m);
    assert_string_equal(buf, "https://arxiv.org/abs/hep-th/99%22%3E%3Cxv3");
    free(buf);
}

static void test_file_names(void **state)
{
    char buf[256];
    assert_int_equal(ax_site_paper_file("hep-th/9901001", buf, sizeof buf), 0);
    assert_string_equal(buf, "papers/hep-th_9901001.html");
    assert_int_equal(ax_site_paper_file("2602.09386", buf, sizeof buf), 0);
    assert_string_equal(buf, "papers/2602.09386.html");
    assert_int_equal(ax_site_paper_file("../../etc/passwd", buf, sizeof buf), 0);
    assert_string_equal(buf, "papers/.._.._etc_passwd.html");
    assert_int_equal(ax_site_paper_file("", buf, sizeof buf), -1);
    assert_int_equal(ax_site_paper_file(NULL, buf, sizeof buf), -1);
    assert_int_equal(ax_site_paper_file("2602.09386", buf, 10), -1);
    assert_int_equal(ax_site_digest_file("2026-W23", buf, sizeof buf), 0);
    assert_string_equal(buf, "digest-2026-W23.html");
    assert_int_equal(ax_site_digest_file("../x", buf, sizeof buf), -1);
    assert_int_equal(ax_site_digest_file("a b", buf, sizeof buf), -1);
    assert_int_equal(ax_site_digest_file("", buf, sizeof buf), -1);
}

static void test_period_order(void **state)
{
    /* 2026-W26 is 06-22..06-28, 2026-W22 05-25..05-31, 2020-W53 2020-12-28..2021-01-03 */
    const char *sorted[] = {"all",      "2026-07-01", "2026-06-30", "2026-06",    "2026-06-28",
                            "2026-W26", "2026-06-01", "2026-W22",   "2025-12-31", "2021-01-03",
                            "2020-W53", "unknown",    "aaa"};
    size_t n = sizeof sorted / sizeof *sorted;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int c = ax_site_period_cmp(sorted[i], sorted[j]);
            if ((i < j && c >= 0) || (i > j && c <= 0) || (i == j && c != 0))
                fail_msg("period order: %s vs %s gave %d", sorted[i], sorted[j], c);
        }
}

static void test_site_is_safe_and_self_contained(void **state)
{
    s_fill_entries();
    char *dir = s_tmpdir();
    s_write_site(dir, NULL);
    s_list_files(dir);
    size_t html_pages = 0;
    int saw_hostile_digest = 0, saw_hostile_paper = 0;
    for (size_t i = 0; i < s_n_files; i++) {
        char *text = s_slurp(s_files[i]);
        s_check_no_remote(s_files[i], text);
        assert_null(strstr(text, "<script>alert"));
        assert_null(strstr(text, "<img"));
        assert_null(strstr(text, "<svg"));
        assert_null(strstr(text, ".tmp"));
        if (s_ends_with(s_files[i], ".html")) {
            html_pages++;
            s_check_html(s_files[i], text);
            assert_non_null(
                strstr(text, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
            assert_null(strstr(text, "http://"));
            if (strstr(
                    text,
                    "&lt;script&gt;alert(1)&lt;/script&gt; Ranking with <span class=\"tex\">$x&lt;y$</span>"
                    " &amp; <em>bold</em> claims")) {
                if (strstr(s_files[i], "/papers/"))
                    saw_hostile_paper = 1;
                else
                    saw_hostile_digest = 1;
            }
        }
        free(text);
    }
    /* index, 4 digests, 5 papers (one shared, one old-style id) */
    assert_int_equal(html_pages, 1 + 4 + 5);
    assert_true(saw_hostile_digest && saw_hostile_paper);
    s_free_files();

    char path[512];
    snprintf(path, sizeof path, "%s/papers/hep-th_9901001.html", dir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/assets/site.css", dir);
    assert_int_equal(access(path, R_OK), 0);

    /* the filter data of the hostile paper is JSON inside an escaped attribute */
    snprintf(path, sizeof path, "%s/digest-2026-07-01.html", dir);
    char *digest = s_slurp(path);
    assert_non_null(strstr(digest, "data-kw=\"[&quot;ranking&quot;,&quot;&lt;/script&gt;&lt;b&gt;kw&lt;/b&gt;"
                                   "\\&quot;&#39;&amp;&quot;]\""));
    assert_non_null(strstr(digest, "data-score=\"5\""));
    assert_non_null(strstr(digest, "data-score=\"0\""));
    assert_non_null(strstr(digest, "<option value=\"ranking\">ranking (2)</option>"));
    assert_non_null(strstr(digest, "<option value=\"cs.IR\">cs.IR (2)</option>"));
    assert_non_null(strstr(digest, "id=\"ax-q\""));
    free(digest);
    snprintf(path, sizeof path, "%s/digest-2026-06-29.html", dir);
    digest = s_slurp(path); /* invalid UTF-8 shown as U+FFFD, control characters dropped */
    assert_non_null(
        strstr(digest, "Bad bytes \xEF\xBF\xBD\xEF\xBF\xBD here \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD<"));
    assert_non_null(strstr(digest, "Esc[31m and DEL."));
    free(digest);

    /* the index: newest first, counts */
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *index = s_slurp(path);
    const char *order[] = {"digest-2026-07-01.html", "digest-2026-06-30.html", "digest-2026-06-29.html",
                           "digest-2026-05.html"};
    const char *prev = index;
    for (size_t i = 0; i < 4; i++) {
        const char *at = strstr(index, order[i]);
        if (!at || at < prev)
            fail_msg("index: %s missing or out of order", order[i]);
        prev = at;
    }
    assert_non_null(strstr(index, "2026-07-01</a> <span class=\"count\">3 papers · 2 scored</span>"));
    assert_non_null(strstr(index, "2026-05</a> <span class=\"count\">0 papers · 0 scored</span>"));
    assert_non_null(strstr(index, "href=\"feed.xml\""));
    free(index);
    s_rmtree(dir);
}

/*  The text of the first child element of node named name (caller frees). */
static xmlNode *s_child(xmlNode *node, const char *name)
{
    for (xmlNode *c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static int s_is_rfc3339(const char *s)
{
    int y, mo, d, h, mi, se, n = -1;
    return sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) == 6 && n == 20 &&
           s[n] == '\0';
}

static void test_feed_is_valid_atom(void **state)
{
    s_fill_entries();
    char *dir = s_tmpdir(), path[512];
    s_write_site(dir, NULL);
    snprintf(path, sizeof path, "%s/feed.xml", dir);
    char *raw = s_slurp(path);
    assert_null(strstr(raw, "<script"));
    assert_null(strstr(raw, "<img"));
    assert_null(strstr(raw, "<b>"));
    assert_non_null(strstr(raw, "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;"));

    xmlDoc *doc = xmlReadMemory(raw, (int)strlen(raw), "feed.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlNode *feed = xmlDocGetRootElement(doc);
    assert_string_equal((const char *)feed->name, "feed");
    assert_non_null(feed->ns);
    assert_string_equal((const char *)feed->ns->href, "http://www.w3.org/2005/Atom");
    const char *required[] = {"id", "title", "updated", "author", "link"};
    for (size_t i = 0; i < 5; i++)
        assert_non_null(s_child(feed, required[i]));
    xmlChar *title = xmlNodeGetContent(s_child(feed, "title"));
    assert_string_equal((const char *)title, "Digest <of> \"recsys\" & co");
    xmlFree(title);
    const char *periods[] = {"2026-07-01", "2026-06-30", "2026-06-29", "2026-05"};
    size_t n = 0;
    char *ids[8] = {0};
    for (xmlNode *e = feed->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || strcmp((const char *)e->name, "entry") != 0)
            continue;
        assert_true(n < 4);
        xmlChar *id = xmlNodeGetContent(s_child(e, "id"));
        xmlChar *updated = xmlNodeGetContent(s_child(e, "updated"));
        xmlChar *content = xmlNodeGetContent(s_child(e, "content"));
        xmlNode *link = s_child(e, "link");
        assert_non_null(s_child(e, "title"));
        assert_non_null(link);
        assert_true(s_is_rfc3339((const char *)updated));
        assert_int_equal(strncmp((const char *)id, "tag:arxdigest,2026:run-1/recsys/", 32), 0);
        assert_string_equal((const char *)id + 32, periods[n]);
        for (size_t k = 0; k < n; k++)
            assert_string_not_equal(ids[k], (const char *)id);
        ids[n] = strdup((const char *)id);
        xmlChar *href = xmlGetProp(link, (const xmlChar *)"href");
        char want[64];
        snprintf(want, sizeof want, "digest-%s.html", periods[n]);
        assert_string_equal((const char *)href, want);
        xmlChar *type = xmlGetProp(s_child(e, "content"), (const xmlChar *)"type");
        assert_string_equal((const char *)type, "html");
        if (n == 0) /* the hostile digest: its HTML holds the title as escaped text */
            assert_non_null(strstr((const char *)content, "&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_null(strstr((const char *)content, "<script"));
        assert_null(strstr((const char *)content, "<img"));
        xmlFree(id);
        xmlFree(updated);
        xmlFree(content);
        xmlFree(href);
        xmlFree(type);
        n++;
    }
    assert_int_equal(n, 4);
    xmlChar *updated = xmlNodeGetContent(s_child(feed, "updated"));
    assert_string_equal((const char *)updated, "2026-07-01T12:00:00Z");
    xmlFree(updated);
    for (size_t k = 0; k < n; k++)
        free(ids[k]);
    xmlFreeDoc(doc);
    free(raw);
    s_rmtree(dir);
}

static void test_feed_options(void **state)
{
    s_fill_entries();
    char *dir = s_tmpdir(), path[512];
    ax_atom_feed_opts_t opts = {.base_url = "https://example.org/d/", .max_entries = 2};
    s_write_site(dir, &opts);
    snprintf(path, sizeof path, "%s/feed.xml", dir);
    char *raw = s_slurp(path);
    assert_int_equal(s_count(raw, "<entry>"), 2);
    assert_non_null(strstr(
        raw, "<link rel=\"self\" type=\"application/atom+xml\" href=\"https://example.org/d/feed.xml\"/>"));
    assert_non_null(strstr(raw, "href=\"https://example.org/d/digest-2026-07-01.html\""));
    assert_non_null(strstr(raw, "href=\"https://example.org/d/digest-2026-06-30.html\""));
    assert_null(strstr(raw, "digest-2026-06-29.html"));
    free(raw);
    s_rmtree(dir);
}

static void test_reproducible(void **state)
{
    s_fill_entries();
    char *a = s_tmpdir(), *b = s_tmpdir();
    s_write_site(a, NULL);
    s_write_site(b, NULL);
    const char *files[] = {"index.html", "digest-2026-07-01.html", "papers/2606.00002.html", "feed.xml"};
    for (size_t i = 0; i < 4; i++) {
        char pa[512], pb[512];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        char *ta = s_slurp(pa), *tb = s_slurp(pb);
        assert_string_equal(ta, tb);
        free(ta);
        free(tb);
    }
    s_rmtree(a);
    s_rmtree(b);
}

static void test_errors(void **state)
{
    s_fill_entries();
    ax_profile_t prof = s_profile();
    char *err = NULL, *dir = s_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    snprintf(path, sizeof path, "%s/file/site", dir);
    assert_null(ax_site_open(path, &prof, "r", 0, &err));
    assert_non_null(err);
    free(err);
    err = NULL;

    snprintf(path, sizeof path, "%s/site", dir);
    ax_site_t *site = ax_site_open(path, &prof, NULL, 0, &err);
    assert_non_null(site);
    assert_int_equal(ax_site_add_digest(site, "../evil", s_entries, 1, &err), -1);
    assert_non_null(strstr(err, "period"));
    free(err);
    err = NULL;
    assert_int_equal(ax_site_add_digest(site, "2026-06-01", s_entries, 1, &err), 0);
    assert_int_equal(ax_site_add_digest(site, "2026-06-01", s_entries, 1, &err), -1);
    assert_non_null(strstr(err, "twice"));
    free(err);
    err = NULL;
    assert_int_equal(ax_site_close(&site, &err), 0);
    assert_int_equal(ax_site_close(&site, &err), 0); /* NULL: nothing to do */
    assert_int_equal(ax_site_close(NULL, &err), 0);

    snprintf(path, sizeof path, "%s/no/such/dir/feed.xml", dir);
    ax_atom_feed_t *feed = ax_atom_feed_open(path, &prof, "r", 0, NULL, &err);
    assert_non_null(feed);
    assert_int_equal(ax_atom_feed_add(feed, "bad period", "x.html", s_entries, 1), -1);
    assert_int_equal(ax_atom_feed_add(feed, "2026-06-01", "digest-2026-06-01.html", s_entries, 1), 0);
    assert_int_equal(ax_atom_feed_add(feed, "2026-06-01", "digest-2026-06-01.html", s_entries, 1), -1);
    assert_int_equal(ax_atom_feed_close(&feed, &err), -1);
    assert_null(feed);
    assert_non_null(strstr(err, "feed.xml"));
    free(err);
    s_rmtree(dir);
}

static void test_assets_load_nothing(void **state)
{
    s_check_no_remote("site.css", ax_site_css);
    s_check_no_remote("site.js", ax_site_js);
    assert_null(strstr(ax_site_css, "http"));
    assert_null(strstr(ax_site_js, "http"));
    assert_null(strstr(ax_site_js, "innerHTML"));
    assert_null(strstr(ax_site_js, "eval("));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapers),
        cmocka_unit_test(test_file_names),
        cmocka_unit_test(test_period_order),
        cmocka_unit_test(test_site_is_safe_and_self_contained),
        cmocka_unit_test(test_feed_is_valid_atom),
        cmocka_unit_test(test_feed_options),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_assets_load_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
