/*  atom_feed.c: feed.xml, an Atom 1.0 feed of a profile's digests (see atom_feed.h).
 *
 *  Each digest is rendered into its <entry> element when it is added (so the entries are
 *  not kept); close orders the elements newest period first (ax_site_period_cmp, the
 *  site's order), keeps max_entries and writes the feed through a temporary file. Text
 *  goes through the site's escaper, which also yields valid XML (entities, no control
 *  characters, UTF-8 repaired); the HTML of <content type="html"> is built with the
 *  site's HTML writers and then escaped once more as XML text.
 */
#define _GNU_SOURCE
#include "atom_feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render.h"
#include "site.h"
#include "text.h"
#include "writer.h"

#define S_DEFAULT_MAX 20
#define S_TAG_AUTHORITY "tag:arxdigest,2026:" /* fixed: ids must not change with the clock */

typedef struct {
    char *period;
    char *xml;       /* the <entry> element */
    int64_t updated; /* unix s */
} s_entry_t;

struct ax_atom_feed {
    char *path;
    char *name, *title, *language; /* of the profile */
    char *run;
    char *base_url;       /* without trailing '/'; NULL: relative links */
    int64_t generated_at; /* unix s */
    size_t max_entries;
    const ax_site_labels_t *l;
    s_entry_t *v;
    size_t n, cap;
};

static void s_rfc3339(int64_t t, char buf[32])
{
    ax_time_format(t, "%Y-%m-%dT%H:%M:%SZ", buf, 32);
}

/*  A link target: href as given, or base_url + "/" + href. Escaped for an attribute. */
static void s_put_href(FILE *out, const ax_atom_feed_t *f, const char *href)
{
    if (f->base_url) {
        ax_html_put_text(out, f->base_url);
        fputc('/', out);
    }
    ax_html_put_text(out, href);
}

/*  The feed's id: tag:...:<run>/<profile>; with "/<period>" for an entry. */
static void s_put_id(FILE *out, const ax_atom_feed_t *f, const char *period)
{
    fputs(S_TAG_AUTHORITY, out);
    ax_url_put_component(out, f->run ? f->run : "-");
    fputc('/', out);
    ax_url_put_component(out, f->name);
    if (period) {
        fputc('/', out);
        ax_url_put_component(out, period);
    }
}

/*  The HTML listing of a digest's papers (before XML escaping). */
static void s_put_listing(FILE *html, const ax_atom_feed_t *f, const ax_entry_t *entries, size_t n)
{
    const ax_site_labels_t *l = f->l;
    fprintf(html, "<p>%s%zu%s · %s</p>\n", l->papers_pre, n, l->papers_post, l->sort_rule);
    if (n == 0) {
        fprintf(html, "<p>%s</p>\n", l->no_papers);
        return;
    }
    fputs("<ol>\n", html);
    for (size_t i = 0; i < n; i++) {
        const ax_paper_t *p = &entries[i].paper;
        const ax_verdict_t *v = &entries[i].verdict;
        fputs("<li><a href=\"", html);
        ax_arxiv_put_url(html, "abs", p);
        fputs("\">", html);
        ax_html_put_tex(html, p->title);
        fputs("</a>", html);
        char *authors = ax_format_authors(p, f->language);
        if (authors && *authors) {
            fputs("<br>", html);
            ax_html_put_text(html, authors);
        }
        free(authors);
        if (v->llm.score >= 1 && v->llm.score <= 5)
            fprintf(html, "<br>%s: %d/5", l->interest, v->llm.score);
        else
            fprintf(html, "<br>%s", l->not_scored);
        for (size_t k = 0; k < v->n_hits; k++) {
            if (k == 0)
                fprintf(html, " · %s: ", l->keywords);
            else
                fputs(", ", html);
            ax_html_put_text(html, v->hits[k]);
        }
        const char *gist = v->llm.tldr && *v->llm.tldr ? v->llm.tldr : v->llm.one_sentence;
        if (gist && *gist) {
            fputs("<br>", html);
            ax_html_put_tex(html, gist);
        }
        fputs("</li>\n", html);
    }
    fputs("</ol>\n", html);
}

/*  Latest paper time of a digest (updated, else submitted); 0 when none has one. */
static int64_t s_latest(const ax_entry_t *entries, size_t n)
{
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t e = entries[i].paper.updated > 0 ? entries[i].paper.updated : entries[i].paper.submitted;
        if (e > t)
            t = e;
    }
    return t;
}

/*  Renders the <entry> of one digest into a new string; NULL on OOM. */
static char *s_render_entry(const ax_atom_feed_t *f, const char *period, const char *href,
                            const ax_entry_t *entries, size_t n, int64_t updated)
{
    char *html = NULL, *xml = NULL, when[32];
    size_t html_len = 0, xml_len = 0;
    FILE *h = open_memstream(&html, &html_len);
    if (!h)
        return NULL;
    s_put_listing(h, f, entries, n);
    int bad = ferror(h);
    if (fclose(h) != 0 || bad) {
        free(html);
        return NULL;
    }
    FILE *x = open_memstream(&xml, &xml_len);
    if (!x) {
        free(html);
        return NULL;
    }
    fputs("<entry>\n<id>", x);
    s_put_id(x, f, period);
    fputs("</id>\n<title>", x);
    ax_html_put_text(x, f->title);
    if (strcmp(period, "all") != 0)
        fprintf(x, " — %s", period);
    fprintf(x, " (%s%zu%s)</title>\n", f->l->papers_pre, n, f->l->papers_post);
    s_rfc3339(updated, when);
    fprintf(x, "<updated>%s</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"", when);
    s_put_href(x, f, href);
    fputs("\"/>\n<content type=\"html\">", x);
    ax_html_put_text(x, html);
    fputs("</content>\n</entry>\n", x);
    free(html);
    bad = ferror(x);
    if (fclose(x) != 0 || bad) {
        free(xml);
        return NULL;
    }
    return xml;
}

static void s_feed_free(ax_atom_feed_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].period);
        free(f->v[i].xml);
    }
    free(f->v);
    free(f->path);
    free(f->name);
    free(f->title);
    free(f->language);
    free(f->run);
    free(f->base_url);
    free(f);
}

static char *s_dup(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *oom = 1;
    return d;
}

ax_atom_feed_t *ax_atom_feed_open(const char *path, const ax_profile_t *profile, const char *run,
                                  int64_t generated_at, const ax_atom_feed_opts_t *opts, char **err)
{
    if (!path || !*path || !profile || !profile->name) {
        ax_set_error(err, "feed: a path and a named profile are required");
        return NULL;
    }
    ax_atom_feed_t *f = calloc(1, sizeof *f);
    int oom = !f;
    if (f) {
        f->path = s_dup(path, &oom);
        f->name = s_dup(profile->name, &oom);
        f->title = s_dup(profile->title && *profile->title ? profile->title : profile->name, &oom);
        f->language = s_dup(profile->language, &oom);
        f->run = s_dup(run, &oom);
        f->generated_at = generated_at;
        f->max_entries = opts && opts->max_entries ? opts->max_entries : S_DEFAULT_MAX;
        f->l = &ax_labels(profile->language)->site;
        if (opts && opts->base_url && *opts->base_url) {
            f->base_url = s_dup(opts->base_url, &oom);
            for (size_t len = f->base_url ? strlen(f->base_url) : 0; len > 0 && f->base_url[len - 1] == '/';
                 len--)
                f->base_url[len - 1] = '\0';
        }
    }
    if (oom) {
        ax_set_error(err, "feed: out of memory");
        s_feed_free(f);
        return NULL;
    }
    return f;
}

int ax_atom_feed_add(ax_atom_feed_t *f, const char *period, const char *digest_href,
                     const ax_entry_t *entries, size_t n)
{
    char file[128];
    if (!f || !digest_href || !*digest_href || (n && !entries) ||
        ax_site_digest_file(period, file, sizeof file) < 0)
        return -1;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].period, period) == 0)
            return -1;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        s_entry_t *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    int64_t updated = s_latest(entries, n);
    if (updated <= 0)
        updated = f->generated_at;
    s_entry_t *e = &f->v[f->n];
    e->updated = updated;
    e->period = strdup(period);
    e->xml = e->period ? s_render_entry(f, period, digest_href, entries, n, updated) : NULL;
    if (!e->xml) {
        free(e->period);
        return -1;
    }
    f->n++;
    return 0;
}

static int s_cmp_entry(const void *a, const void *b)
{
    return ax_site_period_cmp(((const s_entry_t *)a)->period, ((const s_entry_t *)b)->period);
}

/*  The whole feed to out: header, the kept entries, footer. */
static void s_write_feed(FILE *out, const ax_atom_feed_t *f, size_t keep)
{
    char when[32], lang[32] = "";
    int64_t updated = f->generated_at;
    for (size_t i = 0; i < keep; i++)
        if (f->v[i].updated > updated)
            updated = f->v[i].updated;
    size_t len = f->language ? strlen(f->language) : 0;
    if (len > 0 && len < sizeof lang &&
        strspn(f->language, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len)
        for (size_t i = 0; i <= len; i++)
            lang[i] = f->language[i] == '_' ? '-' : f->language[i];
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"", out);
    if (*lang)
        fprintf(out, " xml:lang=\"%s\"", lang);
    fputs(">\n<id>", out);
    s_put_id(out, f, NULL);
    fputs("</id>\n<title>", out);
    ax_html_put_text(out, f->title);
    s_rfc3339(updated, when);
    fprintf(out, "</title>\n<updated>%s</updated>\n<author><name>arxdigest (", when);
    ax_html_put_text(out, f->name);
    fputs(")</name></author>\n<generator>arxdigest</generator>\n<link rel=\"self\" "
          "type=\"application/atom+xml\" "
          "href=\"",
          out);
    const char *base = strrchr(f->path, '/');
    s_put_href(out, f, base ? base + 1 : f->path);
    fputs("\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"", out);
    s_put_href(out, f, "index.html");
    fputs("\"/>\n", out);
    for (size_t i = 0; i < keep; i++)
        fputs(f->v[i].xml, out);
    fputs("</feed>\n", out);
}

int ax_atom_feed_close(ax_atom_feed_t **f_p, char **err)
{
    if (!f_p || !*f_p)
        return 0;
    ax_atom_feed_t *f = *f_p;
    *f_p = NULL;
    if (f->n > 1)
        qsort(f->v, f->n, sizeof *f->v, s_cmp_entry);
    size_t keep = f->n < f->max_entries ? f->n : f->max_entries;
    char *tmp = NULL;
    FILE *out = NULL;
    int rc = -1;
    if (asprintf(&tmp, "%s.tmp", f->path) < 0) {
        tmp = NULL;
        ax_set_error(err, "feed: out of memory");
    } else if (!(out = fopen(tmp, "w")))
        ax_set_error(err, "cannot write %s: %s", f->path, strerror(errno));
    else {
        s_write_feed(out, f, keep);
        if (ax_w_close(out, ferror(out), f->path, err) == 0) {
            if (rename(tmp, f->path) == 0)
                rc = 0;
            else
                ax_set_error(err, "cannot write %s: %s", f->path, strerror(errno));
        }
    }
    if (rc < 0 && tmp)
        unlink(tmp);
    free(tmp);
    s_feed_free(f);
    return rc;
}
