/*  render_layouts.c: by-category.md and papers/<id>.md (see render_layouts.h).
 *
 *  Both renderers write through one small writer that remembers the first failed write,
 *  so the layout code reads like the layout. Text from arXiv or the LLM is never written
 *  raw: s_put_md (ax_md_escape) where it lands in Markdown, s_put_html
 *  (ax_md_html_block_escape) where it lands in the raw HTML of the <details> block,
 *  s_put_anchor for category anchors and s_put_abs_url for link targets.
 */
#define _GNU_SOURCE
#include "render_layouts.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labels.h"
#include "render.h"
#include "text.h"
#include "writer.h"

/*  The primary category of a paper that has none. */
#define S_NO_CATEGORY "unknown"

/* ---------------------------------------------------------------- text */

static int s_is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*  1 when s holds anything but whitespace. */
static int s_has_text(const char *s)
{
    for (; s && *s; s++)
        if (!ax_is_space((unsigned char) *s))
            return 1;
    return 0;
}

/*  The entity ax_md_html_block_escape writes for c, or NULL when c stays as it is. */
static const char *s_html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '[':
        return "&#91;";     /* "&#91;x&#93;(y)" is no link even read as Markdown */
    case ']':
        return "&#93;";
    default:
        return NULL;
    }
}

char *ax_md_html_block_escape(const char *s)
{
    if (!s)
        s = "";
    /* drop control characters (whitespace stays for folding), then fold */
    size_t len = strlen(s), n = 0;
    char *clean = malloc(len + 1);
    if (!clean)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (ax_is_space(c) || (c >= 0x20 && c != 0x7f))
            clean[n++] = (char) c;
    }
    n = ax_text_fold_to(clean, clean, n);

    char *out = malloc(5 * n + 1);     /* worst case: every byte "&amp;" or "&#91;" */
    if (!out) {
        free(clean);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = s_html_entity(clean[i]);
        if (!rep) {
            out[o++] = clean[i];
            continue;
        }
        size_t rlen = strlen(rep);
        memcpy(out + o, rep, rlen);
        o += rlen;
    }
    out[o] = '\0';
    free(clean);
    return out;
}

int ax_paper_file_name(const char *id, char *buf, size_t size)
{
    if (!buf || size == 0)
        return -1;
    buf[0] = '\0';
    if (!id || !s_is_alnum((unsigned char) id[0]))
        return -1;
    size_t len = strlen(id);
    if (len + sizeof ".md" > size)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) id[i];
        if (!(s_is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '/')) {
            buf[0] = '\0';
            return -1;
        }
        buf[i] = c == '/' ? '_' : (char) c;
    }
    memcpy(buf + len, ".md", sizeof ".md");
    return 0;
}

/* ---------------------------------------------------------------- writing */


/*  Writes escape(s) and frees it; OOM is a write error. */
static void s_put_escaped(ax_writer_t *w, const char *s, char *(*escape)(const char *))
{
    if (w->err)
        return;
    char *esc = escape(s);
    if (!esc) {
        w->err = 1;
        return;
    }
    ax_w_put(w, esc);
    free(esc);
}

/*  Untrusted text as Markdown inline text. */
static void s_put_md(ax_writer_t *w, const char *s)
{
    s_put_escaped(w, s, ax_md_escape);
}

/*  prefix and untrusted text, escaped as one text: text does not start the line, so
 *  ax_md_escape's rules for a line start ("1. ", "- ", "# ", "> ") do not hit it and
 *  "Method: 1) ..." stays as written. prefix must be inert Markdown ("Method: "). */
static void s_put_md_after(ax_writer_t *w, const char *prefix, const char *text)
{
    if (w->err)
        return;
    char *line = NULL;
    if (asprintf(&line, "%s%s", prefix, text ? text : "") < 0) {
        w->err = 1;
        return;
    }
    s_put_md(w, line);
    free(line);
}

/*  Untrusted text inside the raw HTML of a Markdown HTML block. */
static void s_put_html(ax_writer_t *w, const char *s)
{
    s_put_escaped(w, s, ax_md_html_block_escape);
}

/*  prefix, then untrusted strings v[0..n) joined by sep, as one Markdown text (see
 *  s_put_md_after; prefix "" when the strings start the text). */
static void s_put_md_joined(ax_writer_t *w, const char *prefix, char *const *v, size_t n, const char *sep)
{
    size_t len = strlen(prefix) + 1;
    for (size_t i = 0; i < n; i++)
        len += (v[i] ? strlen(v[i]) : 0) + strlen(sep);
    char *joined = malloc(len);
    if (!joined) {
        w->err = 1;
        return;
    }
    size_t o = strlen(prefix);
    memcpy(joined, prefix, o);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(joined + o, sep, strlen(sep));
            o += strlen(sep);
        }
        size_t l = v[i] ? strlen(v[i]) : 0;
        memcpy(joined + o, v[i] ? v[i] : "", l);
        o += l;
    }
    joined[o] = '\0';
    s_put_md(w, joined);
    free(joined);
}

/*  A category as an HTML id / URL fragment: bytes outside [A-Za-z0-9._-] become '_', so
 *  nothing can leave the quoted attribute or the link destination. */
static void s_put_anchor(ax_writer_t *w, const char *category)
{
    for (const char *p = category; *p; p++) {
        unsigned char c = (unsigned char) *p;
        int keep = s_is_alnum(c) || c == '.' || c == '_' || c == '-';
        ax_w_putf(w, "%c", keep ? c : '_');
    }
}

/*  https://arxiv.org/abs/<id> without a version (the latest), as the real rendering links.
 *  The id is percent-encoded outside [A-Za-z0-9._/-], so it cannot end the link. */
static void s_put_abs_url(ax_writer_t *w, const char *id)
{
    ax_w_put(w, "https://arxiv.org/abs/");
    for (const char *p = id ? id : ""; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (s_is_alnum(c) || c == '.' || c == '_' || c == '/' || c == '-')
            ax_w_putf(w, "%c", c);
        else
            ax_w_putf(w, "%%%02X", c);
    }
}

/*  An arXiv id as link text: as it is when it holds only [A-Za-z0-9./-] (ax_md_escape
 *  would write "2605\\.25749", as "2605." could start a list elsewhere), escaped otherwise. */
static void s_put_id_text(ax_writer_t *w, const char *id)
{
    const char *p = id ? id : "";
    while (*p && (s_is_alnum((unsigned char) *p) || *p == '.' || *p == '/' || *p == '-'))
        p++;
    if (*p)
        s_put_md(w, id);
    else
        ax_w_put(w, id ? id : "");
}

/* ---------------------------------------------------------------- by-category.md */

/*  One section of by-category.md. */
typedef struct {
    const char *name;       /* primary category (borrowed from an entry) */
    size_t rank;            /* index of the first profile category naming it, or n_categories */
    size_t first;           /* index of its first entry */
    size_t count;           /* papers in it */
} s_section_t;

/*  Primary category of an entry: its first category, "unknown" when it has none. */
static const char *s_primary(const ax_entry_t *e)
{
    const ax_paper_t *p = &e->paper;
    if (p->n_categories > 0 && p->categories && s_has_text(p->categories[0]))
        return p->categories[0];
    return S_NO_CATEGORY;
}

/*  1 when profile category pc names category c: equal (ignoring case), or pc is c's
 *  archive ("cs" names "cs.AI"), the rule the matcher uses to admit papers. */
static int s_category_names(const char *pc, const char *c)
{
    size_t n = strlen(pc);
    if (strcasecmp(c, pc) == 0)
        return 1;
    return n > 0 && !strchr(pc, '.') && strncasecmp(c, pc, n) == 0 && c[n] == '.';
}

/*  Place of category c in the profile's list: the index of the first profile category
 *  naming it, or n_categories (after all of them) when none does. */
static size_t s_category_rank(const ax_profile_t *profile, const char *c)
{
    for (size_t i = 0; i < profile->n_categories; i++)
        if (profile->categories && profile->categories[i] && s_category_names(profile->categories[i], c))
            return i;
    return profile->n_categories;
}

static int s_cmp_section(const void *pa, const void *pb)
{
    const s_section_t *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return (a->first > b->first) - (a->first < b->first);
}

/*  The sections of entries in output order, *n_sections of them. Caller frees; NULL on
 *  OOM (or when n == 0). Quadratic in the number of categories, which is small. */
static s_section_t *s_sections(const ax_profile_t *profile, const ax_entry_t *entries, size_t n,
                               size_t *n_sections)
{
    *n_sections = 0;
    s_section_t *sec = n ? calloc(n, sizeof *sec) : NULL;
    if (!sec)
        return NULL;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = s_primary(&entries[i]);
        size_t k = 0;
        while (k < count && strcmp(sec[k].name, c) != 0)
            k++;
        if (k == count) {
            sec[count] = (s_section_t){.name = c, .rank = s_category_rank(profile, c), .first = i};
            count++;
        }
        sec[k].count++;
    }
    qsort(sec, count, sizeof *sec, s_cmp_section);
    *n_sections = count;
    return sec;
}

/*  The <details> block: Motivation / Method / Result / Conclusion / Abstract, each only
 *  when it has text; nothing when none has. GFM ends the HTML block that "<details>"
 *  opens at the first blank line, so the first field (on the line under "<summary>") is
 *  raw HTML and gets HTML escaping; the later ones are Markdown paragraphs. */
static void s_put_details(ax_writer_t *w, const ax_entry_t *e)
{
    const ax_llm_t *llm = &e->verdict.llm;
    const struct {
        const char *label;
        const char *text;
    } fields[] = {
        {"Motivation", llm->motivation}, {"Method", llm->method},         {"Result", llm->result},
        {"Conclusion", llm->conclusion}, {"Abstract", e->paper.abstract},
    };
    int first = 1;
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (!s_has_text(fields[i].text))
            continue;
        if (first) {
            ax_w_putf(w, "\n\n<details>\n  <summary>Details</summary>\n%s: ", fields[i].label);
            s_put_html(w, fields[i].text);
        } else {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "%s: ", fields[i].label);
            s_put_md_after(w, prefix, fields[i].text);
        }
        ax_w_put(w, "\n\n");
        first = 0;
    }
    if (!first)
        ax_w_put(w, "</details>\n");
}

/*  One paper of by-category.md, from its "### [n]" heading to its last line's newline. */
static void s_put_category_paper(ax_writer_t *w, size_t number, const char *category, const ax_entry_t *e)
{
    const ax_paper_t *p = &e->paper;
    const ax_llm_t *llm = &e->verdict.llm;

    ax_w_putf(w, "### [%zu] [", number);
    s_put_md(w, s_has_text(p->title) ? p->title : p->id);
    ax_w_put(w, "](");
    s_put_abs_url(w, p->id);
    ax_w_put(w, ")\n");
    if (p->n_authors > 0 && p->authors) {
        ax_w_put(w, "*");
        s_put_md_joined(w, "", p->authors, p->n_authors, ",");
        ax_w_put(w, "*\n");
    }
    ax_w_put(w, "\n");
    s_put_md_after(w, "Main category: ", category);
    ax_w_put(w, "\n");

    const char *tldr = s_has_text(llm->tldr) ? llm->tldr : llm->one_sentence;
    if (s_has_text(tldr)) {
        ax_w_put(w, "\n");
        s_put_md_after(w, "TL;DR: ", tldr);
        ax_w_put(w, "\n");
    }
    s_put_details(w, e);
}

/*  The table of contents: one line per section. */
static void s_put_toc(ax_writer_t *w, const s_section_t *sec, size_t n_sections)
{
    ax_w_put(w, "<div id=toc></div>\n\n# Table of Contents\n\n");
    for (size_t k = 0; k < n_sections; k++) {
        ax_w_put(w, "- [");
        s_put_md(w, sec[k].name);
        ax_w_put(w, "](#");
        s_put_anchor(w, sec[k].name);
        ax_w_putf(w, ") [Total: %zu]\n", sec[k].count);
    }
}

int ax_render_by_category_md(FILE *out, const ax_profile_t *profile, const char *period,
                             const ax_entry_t *entries, size_t n, int64_t generated_at, int tz_offset_s)
{
    (void) period;          /* no header in this layout: see render_layouts.h */
    (void) generated_at;
    (void) tz_offset_s;
    if (!out || !profile || (n > 0 && !entries))
        return -1;
    size_t n_sections = 0;
    s_section_t *sec = s_sections(profile, entries, n, &n_sections);
    if (n > 0 && !sec)
        return -1;

    ax_writer_t w = {.out = out};
    s_put_toc(&w, sec, n_sections);
    if (n == 0)
        ax_w_putf(&w, "%s\n", ax_labels(profile->language)->page.no_papers);

    size_t number = 0;
    for (size_t k = 0; k < n_sections && !w.err; k++) {
        ax_w_put(&w, "\n\n<div id='");
        s_put_anchor(&w, sec[k].name);
        ax_w_put(&w, "'></div>\n\n# ");
        s_put_md(&w, sec[k].name);
        ax_w_put(&w, " [[Back]](#toc)\n\n");
        size_t shown = 0;
        for (size_t i = sec[k].first; i < n && shown < sec[k].count; i++) {
            if (strcmp(s_primary(&entries[i]), sec[k].name) != 0)
                continue;
            if (shown++ > 0)
                ax_w_put(&w, "\n\n");      /* the real rendering joins papers with "\n\n" */
            s_put_category_paper(&w, ++number, sec[k].name, &entries[i]);
        }
    }
    free(sec);
    if (fflush(out) != 0 || ferror(out))
        w.err = 1;
    return w.err ? -1 : 0;
}

/* ---------------------------------------------------------------- papers/<id>.md */

/*  "label: a, b, c\n" for a non-empty list of tags. */
static void s_put_tags(ax_writer_t *w, const char *label, char *const *tags, size_t n)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", label);
    s_put_md_joined(w, prefix, tags, n, ", ");
    ax_w_put(w, "\n");
}

int ax_render_paper_md(FILE *out, const ax_profile_t *profile, const ax_entry_t *entry)
{
    if (!out || !profile || !entry)
        return -1;
    const ax_page_labels_t *l = &ax_labels(profile->language)->page;
    const ax_paper_t *p = &entry->paper;
    const ax_llm_t *llm = &entry->verdict.llm;
    const char *title = s_has_text(p->title) ? p->title : p->id;
    ax_writer_t w = {.out = out};

    char date[32];
    time_t t = (time_t) p->submitted;
    struct tm tm;
    if (p->submitted <= 0 || (int64_t) t != p->submitted || !gmtime_r(&t, &tm)
        || strftime(date, sizeof date, "%Y-%m-%d", &tm) == 0)
        snprintf(date, sizeof date, "%s", l->unknown);
    ax_w_putf(&w, "%s: %s\n", l->submitted, date);
    s_put_md_after(&w, l->abstract, title);
    ax_w_put(&w, "\n\n");
    if (s_has_text(p->abstract))
        s_put_md(&w, p->abstract);
    else
        ax_w_put(&w, l->no_abstract);
    ax_w_put(&w, "\n\n");

    int top = llm->n_tags_top > 0 && llm->tags_top, detail = llm->n_tags_detail > 0 && llm->tags_detail;
    if (top)
        s_put_tags(&w, l->tags_top, llm->tags_top, llm->n_tags_top);
    if (detail)
        s_put_tags(&w, l->tags_detail, llm->tags_detail, llm->n_tags_detail);
    if (top || detail)
        ax_w_put(&w, "\n");

    /* an English LLM may echo the title as its "translation": print it once */
    if (s_has_text(llm->title_translated) && !(p->title && strcmp(llm->title_translated, p->title) == 0)) {
        char *both = NULL;
        if (asprintf(&both, "%s / %s", llm->title_translated, title ? title : "") < 0) {
            w.err = 1;
        } else {
            s_put_md(&w, both);
            free(both);
        }
    } else {
        s_put_md(&w, title);
    }
    ax_w_put(&w, "\n\n");

    const char *sentence = s_has_text(llm->one_sentence) ? llm->one_sentence : llm->tldr;
    if (s_has_text(sentence)) {
        ax_w_putf(&w, "\n%s\n\n", l->one_sentence);
        s_put_md(&w, sentence);
        ax_w_put(&w, "\n\n");
    }

    ax_w_putf(&w, "%s: [", l->source);
    s_put_id_text(&w, p->id);
    ax_w_put(&w, "](");
    s_put_abs_url(&w, p->id);
    ax_w_put(&w, ")\n");
    if (fflush(out) != 0 || ferror(out))
        w.err = 1;
    return w.err ? -1 : 0;
}
