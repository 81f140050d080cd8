/*  site.c: the static HTML site of a profile's digests (see site.h).
 *
 *  Pages are written straight to a FILE through a writer with a sticky error, each to a
 *  temporary name renamed into place on success. Nothing from arXiv or the LLM reaches a
 *  page but through ax_html_put_text / ax_html_put_tex (text and attribute values alike;
 *  attributes are always double-quoted), the URL encoders, or the JSON-in-attribute
 *  writer of the filter data. The site keeps only the list of its digests (period, file,
 *  counts) for the index; paper pages are written as their digest is added.
 */
#define _GNU_SOURCE
#include "site.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render.h"
#include "text.h"
#include "writer.h"

/* ---------------------------------------------------------------- files */

/*  A page being written: out goes to tmp, renamed to path when closed without error. */
typedef struct {
    FILE *out;
    char *path, *tmp;
    int err;
} s_page_t;

/*  mkdir -p. */
static int s_mkdirs(const char *path)
{
    char *buf = strdup(path);
    if (!buf)
        return -1;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
                free(buf);
                return -1;
            }
            *p = '/';
        }
    int rc = mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
    free(buf);
    return rc;
}

static int s_page_open(s_page_t *pg, const char *dir, const char *name, char **err)
{
    memset(pg, 0, sizeof *pg);
    if (asprintf(&pg->path, "%s/%s", dir, name) < 0) {
        pg->path = NULL;
        ax_set_error(err, "site: out of memory");
        return -1;
    }
    if (asprintf(&pg->tmp, "%s.tmp", pg->path) < 0 || !(pg->out = fopen(pg->tmp, "w"))) {
        ax_set_error(err, "site: cannot write %s: %s", pg->path, strerror(errno));
        free(pg->path);
        free(pg->tmp);
        memset(pg, 0, sizeof *pg);
        return -1;
    }
    return 0;
}

static int s_page_close(s_page_t *pg, char **err)
{
    int rc = ax_w_close(pg->out, pg->err || ferror(pg->out), pg->path, err);
    if (rc == 0 && rename(pg->tmp, pg->path) < 0) {
        ax_set_error(err, "cannot write %s: %s", pg->path, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        unlink(pg->tmp);
    free(pg->path);
    free(pg->tmp);
    memset(pg, 0, sizeof *pg);
    return rc;
}

static void s_put(s_page_t *pg, const char *s)
{
    if (!pg->err && fputs(s, pg->out) == EOF && *s)
        pg->err = 1;
}

static void s_putf(s_page_t *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_putf(s_page_t *pg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!pg->err && vfprintf(pg->out, fmt, ap) < 0)
        pg->err = 1;
    va_end(ap);
}

/*  Untrusted text, as text or inside a double-quoted attribute. */
static void s_text(s_page_t *pg, const char *s)
{
    if (!pg->err && ax_html_put_text(pg->out, s) < 0)
        pg->err = 1;
}

/*  Untrusted title or abstract, LaTeX shown readably. */
static void s_tex(s_page_t *pg, const char *s)
{
    if (!pg->err && ax_html_put_tex(pg->out, s) < 0)
        pg->err = 1;
}

static void s_url(s_page_t *pg, const char *s)
{
    if (!pg->err && ax_url_put_component(pg->out, s) < 0)
        pg->err = 1;
}

static void s_arxiv(s_page_t *pg, const char *kind, const ax_paper_t *paper)
{
    if (!pg->err && ax_arxiv_put_url(pg->out, kind, paper) < 0)
        pg->err = 1;
}

static int s_has_text(const char *s)
{
    for (; s && *s; s++)
        if (!ax_is_space((unsigned char)*s))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- the site */

typedef struct {
    char period[AX_SITE_PERIOD_MAX + 1];
    size_t n, n_scored; /* papers shown, papers with an LLM score */
} s_digest_t;

struct ax_site {
    char *dir;
    char *name, *title, *language; /* of the profile */
    char *run;
    char *feed_href;      /* NULL: no feed link */
    int64_t generated_at; /* unix s */
    const ax_site_labels_t *l;
    s_digest_t *digests;
    size_t n_digests, cap;
};

/*  A BCP 47-looking language tag for lang="" ("zh_Hans" -> "zh-Hans"), "en" otherwise. */
static void s_lang_tag(const char *language, char out[32])
{
    size_t len = language ? strlen(language) : 0;
    if (len == 0 || len >= 32 ||
        strspn(language, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != len) {
        strcpy(out, "en");
        return;
    }
    for (size_t i = 0; i <= len; i++)
        out[i] = language[i] == '_' ? '-' : language[i];
}

/*  Everything up to the text of <title>; root is "" or "../" (paper pages). */
static void s_page_start(s_page_t *pg, const ax_site_t *site, const char *root)
{
    char lang[32];
    s_lang_tag(site->language, lang);
    s_putf(pg, "<!DOCTYPE html>\n<html lang=\"%s\" class=\"nojs\">\n<head>\n<meta charset=\"utf-8\">\n",
           lang);
    s_put(pg, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s_put(pg, "<meta name=\"generator\" content=\"arxdigest\">\n");
    s_putf(pg, "<link rel=\"stylesheet\" href=\"%sassets/site.css\">\n", root);
    if (site->feed_href) {
        s_put(pg, "<link rel=\"alternate\" type=\"application/atom+xml\" href=\"");
        s_put(pg, root);
        s_text(pg, site->feed_href);
        s_put(pg, "\" title=\"");
        s_text(pg, site->title);
        s_put(pg, "\">\n");
    }
    s_put(pg, "<title>");
}

/*  </title> to the <body> tag. */
static void s_page_body(s_page_t *pg, const char *body_class)
{
    s_putf(pg, "</title>\n</head>\n<body class=\"%s\">\n", body_class);
}

static void s_page_end(s_page_t *pg, const ax_site_t *site, const char *root)
{
    char when[32];
    ax_time_format(site->generated_at, "%Y-%m-%d %H:%M UTC", when, sizeof when);
    s_putf(pg, "<footer>%s %s", site->l->generated, when);
    if (site->run) {
        s_putf(pg, " · %s ", site->l->run);
        s_text(pg, site->run);
    }
    s_putf(pg, " · arxdigest</footer>\n<script src=\"%sassets/site.js\"></script>\n</body>\n</html>\n", root);
}

/*  A distinct value with how many papers of the digest have it (filter options). */
typedef struct {
    const char *v;
    size_t n;
} s_count_t;

typedef struct {
    s_count_t *v;
    size_t n, cap;
} s_counts_t;

static int s_counts_add(s_counts_t *c, const char *v)
{
    if (!v)
        return 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcasecmp(c->v[i].v, v) == 0) {
            c->v[i].n++;
            return 0;
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        s_count_t *v2 = realloc(c->v, cap * sizeof *v2);
        if (!v2)
            return -1;
        c->v = v2;
        c->cap = cap;
    }
    c->v[c->n++] = (s_count_t){v, 1};
    return 0;
}

static int s_cmp_count(const void *pa, const void *pb)
{
    const s_count_t *a = pa, *b = pb;
    return a->n != b->n ? (a->n < b->n ? 1 : -1) : strcmp(a->v, b->v);
}

/*  <select> of a filter: "All", then the values by count. */
static void s_put_select(s_page_t *pg, const ax_site_labels_t *l, const char *key, const char *label,
                         s_counts_t *c)
{
    if (c->n > 1)
        qsort(c->v, c->n, sizeof *c->v, s_cmp_count);
    s_putf(pg, "<label><span>%s</span><select id=\"ax-%s\" name=\"%s\">\n<option value=\"\">%s</option>\n",
           label, key, key, l->any);
    for (size_t i = 0; i < c->n; i++) {
        s_put(pg, "<option value=\"");
        s_text(pg, c->v[i].v);
        s_put(pg, "\">");
        s_text(pg, c->v[i].v);
        s_putf(pg, " (%zu)</option>\n", c->v[i].n);
    }
    s_put(pg, "</select></label>\n");
}

/*  The filter bar of a digest; the options come from the digest's papers. */
static int s_put_filters(s_page_t *pg, const ax_site_labels_t *l, const ax_entry_t *entries, size_t n)
{
    s_counts_t kw = {0}, cat = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        for (size_t k = 0; k < entries[i].verdict.n_hits && rc == 0; k++)
            rc = s_counts_add(&kw, entries[i].verdict.hits[k]);
        for (size_t k = 0; k < entries[i].paper.n_categories && rc == 0; k++)
            rc = s_counts_add(&cat, entries[i].paper.categories[k]);
    }
    if (rc == 0) {
        s_put(pg, "<form class=\"filters\" id=\"ax-filters\" role=\"search\" autocomplete=\"off\">\n");
        s_putf(pg,
               "<label class=\"f-q\"><span>%s</span><input type=\"search\" id=\"ax-q\" name=\"q\" "
               "placeholder=\"%s\"></label>\n",
               l->search, l->search_hint);
        s_put_select(pg, l, "kw", l->keyword, &kw);
        s_putf(
            pg,
            "<label><span>%s</span><select id=\"ax-score\" name=\"score\">\n<option value=\"\">%s</option>\n"
            "<option value=\"5\">5</option>\n",
            l->score, l->any);
        for (int s = 4; s >= 1; s--)
            s_putf(pg, "<option value=\"%d\">&#8805; %d</option>\n", s, s);
        s_putf(pg, "<option value=\"none\">%s</option>\n</select></label>\n", l->not_scored);
        s_put_select(pg, l, "cat", l->category, &cat);
        s_putf(pg, "<button type=\"reset\">%s</button>\n</form>\n", l->clear);
    }
    free(kw.v);
    free(cat.v);
    return rc;
}

/*  A JSON array of strings inside a double-quoted attribute: JSON-escaped, then
 *  HTML-escaped, so the browser hands JSON.parse exactly the strings. */
static void s_put_json_attr(s_page_t *pg, char *const *v, size_t n)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&buf, &size);
    if (!mem) {
        pg->err = 1;
        return;
    }
    fputc('[', mem);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\"" : "\"", mem);
        for (const unsigned char *p = (const unsigned char *)(v[i] ? v[i] : ""); *p; p++) {
            if (*p == '"' || *p == '\\')
                fprintf(mem, "\\%c", *p);
            else if (*p == '\t' || *p == '\n' || *p == '\r')
                fprintf(mem, "\\u%04x", *p);
            else if (*p < 0x20)
                continue; /* dropped, as the escaper drops it from the visible text */
            else
                fputc(*p, mem);
        }
        fputc('"', mem);
    }
    fputc(']', mem);
    if (fclose(mem) != 0)
        pg->err = 1;
    else
        s_text(pg, buf);
    free(buf);
}

/*  The score badge: "4/5" in a class per score, or "not scored". */
static void s_put_score(s_page_t *pg, const ax_site_labels_t *l, int score)
{
    if (score >= 1 && score <= 5)
        s_putf(pg, "<span class=\"score s%d\">%d/5</span>", score, score);
    else
        s_putf(pg, "<span class=\"score s0\">%s</span>", l->not_scored);
}

/*  Chips that narrow the view to a keyword or a category (site.js; the fragment link
 *  is what works without it). */
static void s_put_chip(s_page_t *pg, const char *key, const char *v)
{
    s_putf(pg, " <a class=\"chip %s\" href=\"#%s=", key, key);
    s_url(pg, v);
    s_putf(pg, "\" data-f=\"%s\" data-v=\"", key);
    s_text(pg, v);
    s_put(pg, "\">");
    s_text(pg, v);
    s_put(pg, "</a>");
}

/*  One paper of a digest as a card: the data-* attributes are what the filters read. */
static void s_put_card(s_page_t *pg, const ax_site_t *site, const char *digest_file, size_t rank,
                       const ax_entry_t *e)
{
    const ax_paper_t *p = &e->paper;
    const ax_verdict_t *v = &e->verdict;
    const ax_site_labels_t *l = site->l;
    char file[AX_SITE_ID_MAX + 32];
    int has_page = ax_site_paper_file(p->id, file, sizeof file) == 0;
    int score = v->llm.score >= 1 && v->llm.score <= 5 ? v->llm.score : 0;

    s_put(pg, "<li class=\"paper\" data-kw=\"");
    s_put_json_attr(pg, v->hits, v->n_hits);
    s_put(pg, "\" data-cat=\"");
    s_put_json_attr(pg, p->categories, p->n_categories);
    s_putf(pg, "\" data-score=\"%d\">\n<h2 class=\"title\"><span class=\"rank\">%zu.</span> ", score, rank);
    if (has_page) {
        s_putf(pg, "<a href=\"%s#from=%s\">", file, digest_file);
        s_tex(pg, p->title);
        s_put(pg, "</a>");
    } else
        s_tex(pg, p->title);
    s_put(pg, "</h2>\n");
    if (s_has_text(v->llm.title_translated)) {
        s_put(pg, "<p class=\"title-tr\">");
        s_tex(pg, v->llm.title_translated);
        s_put(pg, "</p>\n");
    }
    char *authors = ax_format_authors(p, site->language);
    if (!authors)
        pg->err = 1;
    else if (*authors) {
        s_put(pg, "<p class=\"authors\">");
        s_text(pg, authors);
        s_put(pg, "</p>\n");
    }
    free(authors);
    s_put(pg, "<p class=\"chips\">");
    s_put_score(pg, l, score);
    for (size_t i = 0; i < v->n_hits; i++)
        s_put_chip(pg, "kw", v->hits[i]);
    for (size_t i = 0; i < p->n_categories; i++)
        s_put_chip(pg, "cat", p->categories[i]);
    s_put(pg, "</p>\n");
    const char *gist = s_has_text(v->llm.tldr)           ? v->llm.tldr
                       : s_has_text(v->llm.one_sentence) ? v->llm.one_sentence
                                                         : v->llm.summary;
    if (s_has_text(gist)) {
        s_put(pg, "<p class=\"tldr\">");
        s_tex(pg, gist);
        s_put(pg, "</p>\n");
    }
    if (s_has_text(p->abstract)) {
        s_putf(pg, "<details class=\"abstract\"><summary>%s</summary><p>", l->abstract);
        s_tex(pg, p->abstract);
        s_put(pg, "</p></details>\n");
    }
    s_put(pg, "<p class=\"links\"><a href=\"");
    s_arxiv(pg, "abs", p);
    s_put(pg, "\">arXiv</a> · <a href=\"");
    s_arxiv(pg, "pdf", p);
    s_put(pg, "\">PDF</a>");
    if (p->submitted > 0) {
        char day[16];
        ax_time_format(p->submitted, "%Y-%m-%d", day, sizeof day);
        s_putf(pg, " · <time datetime=\"%s\">%s</time>", day, day);
    }
    s_put(pg, "</p>\n</li>\n");
}

/*  A "<dt>label</dt><dd>text</dd>" row when text has any. */
static void s_put_field(s_page_t *pg, const char *label, const char *text, int tex)
{
    if (!s_has_text(text))
        return;
    s_putf(pg, "<dt>%s</dt><dd>", label);
    if (tex)
        s_tex(pg, text);
    else
        s_text(pg, text);
    s_put(pg, "</dd>\n");
}

/*  A "<dt>label</dt><dd>a, b, c</dd>" row when the list has any. */
static void s_put_list_field(s_page_t *pg, const char *label, char *const *v, size_t n)
{
    if (n == 0)
        return;
    s_putf(pg, "<dt>%s</dt><dd>", label);
    for (size_t i = 0; i < n; i++) {
        s_put(pg, i ? ", " : "");
        s_text(pg, v[i]);
    }
    s_put(pg, "</dd>\n");
}

/*  papers/<id>.html: every field of the paper and of its verdict. */
static int s_write_paper(const ax_site_t *site, const ax_entry_t *e, char **err)
{
    const ax_paper_t *p = &e->paper;
    const ax_llm_t *llm = &e->verdict.llm;
    const ax_site_labels_t *l = site->l;
    char file[AX_SITE_ID_MAX + 32];
    s_page_t pg;
    if (ax_site_paper_file(p->id, file, sizeof file) < 0)
        return 0; /* no usable id: the card has no link either */
    if (s_page_open(&pg, site->dir, file, err) < 0)
        return -1;
    s_page_start(&pg, site, "../");
    s_text(&pg, p->title);
    s_page_body(&pg, "paper-page");
    s_putf(&pg,
           "<nav class=\"crumbs\"><a id=\"ax-back\" href=\"../index.html\" data-label=\"%s\">%s</a></nav>\n",
           l->back_digest, l->all_digests);
    s_put(&pg, "<main>\n<article>\n<h1>");
    s_tex(&pg, p->title);
    s_put(&pg, "</h1>\n");
    if (s_has_text(llm->title_translated)) {
        s_put(&pg, "<p class=\"title-tr\">");
        s_tex(&pg, llm->title_translated);
        s_put(&pg, "</p>\n");
    }
    s_put(&pg, "<dl class=\"fields\">\n");
    s_put_list_field(&pg, l->authors, p->authors, p->n_authors);
    if (p->submitted > 0) {
        char when[32];
        ax_time_format(p->submitted, "%Y-%m-%d %H:%M UTC", when, sizeof when);
        s_put_field(&pg, l->submitted, when, 0);
    }
    s_put_list_field(&pg, l->categories, p->categories, p->n_categories);
    s_put_list_field(&pg, l->keywords, e->verdict.hits, e->verdict.n_hits);
    s_putf(&pg, "<dt>%s</dt><dd>", l->interest);
    s_put_score(&pg, l, llm->score);
    if (s_has_text(llm->score_reason)) {
        s_put(&pg, " ");
        s_text(&pg, llm->score_reason);
    }
    s_put(&pg, "</dd>\n");
    s_put_field(&pg, l->company, s_has_text(llm->company) ? llm->company : e->verdict.company, 0);
    if (llm->n_tags_top + llm->n_tags_detail > 0) {
        s_putf(&pg, "<dt>%s</dt><dd>", l->tags);
        for (size_t i = 0; i < llm->n_tags_top + llm->n_tags_detail; i++) {
            s_put(&pg, i ? ", " : "");
            s_text(&pg, i < llm->n_tags_top ? llm->tags_top[i] : llm->tags_detail[i - llm->n_tags_top]);
        }
        s_put(&pg, "</dd>\n");
    }
    s_put_field(&pg, l->comments, p->comments, 1);
    s_put_field(&pg, l->journal_ref, p->journal_ref, 1);
    s_put_field(&pg, "DOI", p->doi, 0);
    s_putf(&pg, "<dt>%s</dt><dd><a href=\"", l->links);
    s_arxiv(&pg, "abs", p);
    s_put(&pg, "\">arXiv</a> · <a href=\"");
    s_arxiv(&pg, "pdf", p);
    s_put(&pg, "\">PDF</a></dd>\n</dl>\n");
    const struct {
        const char *label, *text;
    } sections[] = {
        {l->one_sentence, llm->one_sentence}, {l->tldr, llm->tldr},      {l->summary, llm->summary},
        {l->motivation, llm->motivation},     {l->method, llm->method},  {l->result, llm->result},
        {l->conclusion, llm->conclusion},     {l->abstract, p->abstract}};
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        if (!s_has_text(sections[i].text))
            continue;
        s_putf(&pg, "<section>\n<h2>%s</h2>\n<p class=\"llm\">", sections[i].label);
        s_tex(&pg, sections[i].text);
        s_put(&pg, "</p>\n</section>\n");
    }
    if (s_has_text(llm->model)) {
        s_putf(&pg, "<p class=\"model\">%s: ", l->model);
        s_text(&pg, llm->model);
        if (s_has_text(llm->prompt_version)) {
            s_put(&pg, ", ");
            s_text(&pg, llm->prompt_version);
        }
        s_put(&pg, "</p>\n");
    }
    s_put(&pg, "</article>\n</main>\n");
    s_page_end(&pg, site, "../");
    return s_page_close(&pg, err);
}

/*  digest-<period>.html: heading, filters, the ranked cards. */
static int s_write_digest(const ax_site_t *site, const char *period, const char *file,
                          const ax_entry_t *entries, size_t n, char **err)
{
    const ax_site_labels_t *l = site->l;
    s_page_t pg;
    char when[32];
    if (s_page_open(&pg, site->dir, file, err) < 0)
        return -1;
    s_page_start(&pg, site, "");
    s_text(&pg, site->title);
    s_putf(&pg, " — %s", period);
    s_page_body(&pg, "digest");
    ax_time_format(site->generated_at, "%Y-%m-%d %H:%M UTC", when, sizeof when);
    s_putf(&pg, "<header>\n<nav class=\"crumbs\"><a href=\"index.html\">%s</a></nav>\n<h1>", l->all_digests);
    s_text(&pg, site->title);
    s_putf(&pg, " <span class=\"period\">%s</span></h1>\n", period);
    s_putf(&pg, "<p class=\"meta\">%s %s · %s%zu%s · %s</p>\n</header>\n<main>\n", l->generated, when,
           l->papers_pre, n, l->papers_post, l->sort_rule);
    if (s_put_filters(&pg, l, entries, n) < 0)
        pg.err = 1;
    s_putf(&pg,
           "<p id=\"ax-status\" class=\"status\" aria-live=\"polite\" data-total=\"%zu\" data-shown=\"%zu\" "
           "data-fmt=\"%s\">%s%zu%s</p>\n<ol class=\"papers\" id=\"ax-papers\">\n",
           n, n, l->status_fmt, l->papers_pre, n, l->papers_post);
    for (size_t i = 0; i < n; i++)
        s_put_card(&pg, site, file, i + 1, &entries[i]);
    s_putf(&pg, "</ol>\n<p id=\"ax-empty\" class=\"empty\"%s>%s</p>\n</main>\n", n ? " hidden" : "",
           n ? l->no_match : l->no_papers);
    s_page_end(&pg, site, "");
    return s_page_close(&pg, err);
}

static int s_cmp_digest(const void *a, const void *b)
{
    return ax_site_period_cmp(((const s_digest_t *)a)->period, ((const s_digest_t *)b)->period);
}

/*  index.html: the digests newest first, with their counts. */
static int s_write_index(ax_site_t *site, char **err)
{
    const ax_site_labels_t *l = site->l;
    s_page_t pg;
    char when[32];
    if (site->n_digests > 1)
        qsort(site->digests, site->n_digests, sizeof *site->digests, s_cmp_digest);
    if (s_page_open(&pg, site->dir, "index.html", err) < 0)
        return -1;
    s_page_start(&pg, site, "");
    s_text(&pg, site->title);
    s_page_body(&pg, "index");
    ax_time_format(site->generated_at, "%Y-%m-%d %H:%M UTC", when, sizeof when);
    s_put(&pg, "<header>\n<h1>");
    s_text(&pg, site->title);
    s_putf(&pg, "</h1>\n<p class=\"meta\">%s %s", l->generated, when);
    if (site->feed_href) {
        s_put(&pg, " · <a href=\"");
        s_text(&pg, site->feed_href);
        s_putf(&pg, "\" type=\"application/atom+xml\">%s</a>", l->feed);
    }
    s_putf(&pg, "</p>\n</header>\n<main>\n<h2>%s</h2>\n<ol class=\"digests\">\n", l->digests);
    for (size_t i = 0; i < site->n_digests; i++) {
        const s_digest_t *d = &site->digests[i];
        s_putf(&pg,
               "<li><a href=\"digest-%s.html\">%s</a> <span class=\"count\">%s%zu%s · %zu%s</span></li>\n",
               d->period, d->period, l->papers_pre, d->n, l->papers_post, d->n_scored, l->scored_post);
    }
    s_put(&pg, "</ol>\n</main>\n");
    s_page_end(&pg, site, "");
    return s_page_close(&pg, err);
}

/*  An asset, written verbatim. */
static int s_write_asset(const ax_site_t *site, const char *name, const char *text, char **err)
{
    s_page_t pg;
    if (s_page_open(&pg, site->dir, name, err) < 0)
        return -1;
    s_put(&pg, text);
    return s_page_close(&pg, err);
}

static void s_site_free(ax_site_t *site)
{
    if (!site)
        return;
    free(site->dir);
    free(site->name);
    free(site->title);
    free(site->language);
    free(site->run);
    free(site->feed_href);
    free(site->digests);
    free(site);
}

static char *s_dup(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *oom = 1;
    return d;
}

ax_site_t *ax_site_open(const char *dir, const ax_profile_t *profile, const char *run, int64_t generated_at,
                        char **err)
{
    if (!dir || !*dir || !profile || !profile->name) {
        ax_set_error(err, "site: a folder and a named profile are required");
        return NULL;
    }
    ax_site_t *site = calloc(1, sizeof *site);
    int oom = !site;
    if (site) {
        site->dir = s_dup(dir, &oom);
        site->name = s_dup(profile->name, &oom);
        site->title = s_dup(s_has_text(profile->title) ? profile->title : profile->name, &oom);
        site->language = s_dup(profile->language, &oom);
        site->run = s_dup(run, &oom);
        site->generated_at = generated_at;
        site->l = &ax_labels(profile->language)->site;
    }
    if (oom) {
        ax_set_error(err, "site: out of memory");
        s_site_free(site);
        return NULL;
    }
    char *papers = NULL, *assets = NULL;
    if (asprintf(&papers, "%s/papers", dir) < 0 || asprintf(&assets, "%s/assets", dir) < 0 ||
        s_mkdirs(dir) < 0 || s_mkdirs(papers) < 0 || s_mkdirs(assets) < 0) {
        ax_set_error(err, "site: cannot create %s: %s", dir, strerror(errno));
        s_site_free(site);
        site = NULL;
    }
    free(papers);
    free(assets);
    return site;
}

int ax_site_set_feed(ax_site_t *site, const char *href)
{
    char *copy = href && *href ? strdup(href) : NULL;
    if (href && *href && !copy)
        return -1;
    free(site->feed_href);
    site->feed_href = copy;
    return 0;
}

int ax_site_add_digest(ax_site_t *site, const char *period, const ax_entry_t *entries, size_t n, char **err)
{
    char file[AX_SITE_PERIOD_MAX + 32];
    if (!site || (n && !entries) || ax_site_digest_file(period, file, sizeof file) < 0) {
        ax_set_error(err, "site: bad period key \"%s\" (want [A-Za-z0-9_.-], at most %d bytes)",
                     period ? period : "(null)", AX_SITE_PERIOD_MAX);
        return -1;
    }
    for (size_t i = 0; i < site->n_digests; i++)
        if (strcmp(site->digests[i].period, period) == 0) {
            ax_set_error(err, "site: period %s added twice", period);
            return -1;
        }
    if (site->n_digests == site->cap) {
        size_t cap = site->cap ? 2 * site->cap : 8;
        s_digest_t *d = realloc(site->digests, cap * sizeof *d);
        if (!d) {
            ax_set_error(err, "site: out of memory");
            return -1;
        }
        site->digests = d;
        site->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        if (s_write_paper(site, &entries[i], err) < 0)
            return -1;
    if (s_write_digest(site, period, file, entries, n, err) < 0)
        return -1;
    s_digest_t *d = &site->digests[site->n_digests++];
    memset(d, 0, sizeof *d);
    strcpy(d->period, period);
    d->n = n;
    for (size_t i = 0; i < n; i++)
        d->n_scored += entries[i].verdict.llm.score >= 1 && entries[i].verdict.llm.score <= 5;
    return 0;
}

int ax_site_close(ax_site_t **site_p, char **err)
{
    if (!site_p || !*site_p)
        return 0;
    ax_site_t *site = *site_p;
    *site_p = NULL;
    int rc = s_write_asset(site, "assets/site.css", ax_site_css, err) < 0 ||
                     s_write_asset(site, "assets/site.js", ax_site_js, err) < 0 ||
                     s_write_index(site, err) < 0
                 ? -1
                 : 0;
    s_site_free(site);
    return rc;
}
