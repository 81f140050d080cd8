/*  render.c: ranking and the digest.md renderer (see render.h).
 *
 *  The layout is seed 000 byte for byte: header lines without blank lines between
 *  them, then per paper one paragraph per field separated by blank lines, the summary
 *  on the line after its label, and "---" plus a blank line after every paper. The
 *  labels of each language are one row of s_labels; the rendering code is shared.
 */
#define _GNU_SOURCE
#include "render.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labels.h"
#include "text.h"
#include "writer.h"

#define S_AUTHORS_SHOWN 4

/* ---------------------------------------------------------------- ranking */

static int s_cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/*  qsort order of ax_rank_sort: a negative result puts a first. */
static int s_cmp_rank(const void *pa, const void *pb)
{
    const ax_entry_t *a = pa, *b = pb;
    int c = s_cmp_i64((int64_t) b->verdict.n_hits, (int64_t) a->verdict.n_hits);
    if (c == 0)
        c = s_cmp_i64(b->verdict.llm.score, a->verdict.llm.score);
    if (c == 0)
        c = s_cmp_i64(b->paper.submitted, a->paper.submitted);
    if (c == 0) {
        const char *ia = a->paper.id ? a->paper.id : "";
        const char *ib = b->paper.id ? b->paper.id : "";
        c = strcmp(ia, ib);
    }
    if (c == 0)
        c = s_cmp_i64(b->paper.version, a->paper.version);
    return c;
}

void ax_rank_sort(ax_entry_t *entries, size_t n)
{
    if (entries && n > 1)
        qsort(entries, n, sizeof *entries, s_cmp_rank);
}

/* ---------------------------------------------------------------- periods */

/*  strftime of t in UTC into buf; -1 when t is out of range or buf too small. */
static int s_format_utc(int64_t t, const char *fmt, char *buf, size_t size)
{
    time_t tt = (time_t) t;
    struct tm tm;
    if (size == 0 || (int64_t) tt != t || !gmtime_r(&tt, &tm))
        return -1;
    if (strftime(buf, size, fmt, &tm) == 0) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

int ax_period_key(int64_t t, const char *group_by, char *buf, size_t size)
{
    if (!group_by || !buf || size == 0)
        return -1;
    if (strcmp(group_by, "day") == 0)
        return s_format_utc(t, "%Y-%m-%d", buf, size);
    if (strcmp(group_by, "week") == 0)
        return s_format_utc(t, "%G-W%V", buf, size);    /* ISO 8601 year and week */
    if (strcmp(group_by, "month") == 0)
        return s_format_utc(t, "%Y-%m", buf, size);
    if (strcmp(group_by, "run") == 0) {
        if (size < sizeof "all")
            return -1;
        memcpy(buf, "all", sizeof "all");
        return 0;
    }
    return -1;
}

/* ---------------------------------------------------------------- text */

/*  ASCII letters and digits only, whatever the locale. */
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

/*  Growable string for building texts; on OOM err is set and appends do nothing. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int err;
} s_buf_t;

static void s_buf_add(s_buf_t *b, const char *s, size_t len)
{
    if (b->err)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->err = 1;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void s_buf_str(s_buf_t *b, const char *s)
{
    s_buf_add(b, s, strlen(s));
}

/*  The built string (caller frees), or NULL after an OOM. */
static char *s_buf_take(s_buf_t *b)
{
    if (!b->err && !b->data)
        s_buf_add(b, "", 0);
    if (b->err) {
        free(b->data);
        b->data = NULL;
        return NULL;
    }
    char *s = b->data;
    b->data = NULL;
    return s;
}

/*  The authors line in the words of l (see ax_format_authors). */
static char *s_format_authors(const ax_paper_t *paper, const ax_digest_labels_t *l)
{
    s_buf_t b = {0};
    size_t n = paper ? paper->n_authors : 0;
    size_t shown = n > S_AUTHORS_SHOWN ? S_AUTHORS_SHOWN : n;
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            s_buf_str(&b, l->author_sep);
        s_buf_str(&b, paper->authors[i] ? paper->authors[i] : "");
    }
    if (n > shown) {
        char num[32];
        snprintf(num, sizeof num, "%zu", n - shown);
        s_buf_str(&b, l->author_sep);
        s_buf_str(&b, l->more_pre);
        s_buf_str(&b, num);
        s_buf_str(&b, l->more_post);
    }
    return s_buf_take(&b);
}

char *ax_format_authors(const ax_paper_t *paper, const char *language)
{
    return s_format_authors(paper, &ax_labels(language)->digest);
}

/*  s with runs of whitespace folded to one space, the ends trimmed and other control
 *  characters (C0 and DEL) dropped. They are dropped before folding, so the spaces
 *  around one fold together ("a \x01 b" gives "a b"). Caller frees; NULL on OOM. */
static char *s_clean_line(const char *s)
{
    size_t len = strlen(s), n = 0;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (ax_is_space(c) || (c >= 0x20 && c != 0x7f))
            out[n++] = (char) c;
    }
    ax_text_fold_to(out, out, n);
    return out;
}

/*  1 when s (just after an '&') reads like an HTML entity: "amp;", "#60;", "#x3C;". */
static int s_is_entity(const char *s)
{
    size_t i = 0;
    if (s[i] == '#') {
        i++;
        if (s[i] == 'x' || s[i] == 'X')
            i++;
    }
    size_t start = i;
    while (s_is_alnum((unsigned char) s[i]))
        i++;
    return i > start && s[i] == ';';
}

/*  Length of a leading ordered-list marker number ("12" of "12. x"), 0 when s does
 *  not start like an ordered list item. */
static size_t s_list_number_len(const char *s)
{
    size_t i = 0;
    while (i < 9 && isdigit((unsigned char) s[i]))
        i++;
    return (i > 0 && (s[i] == '.' || s[i] == ')')) ? i : 0;
}

/*  1 when the space-delimited token starting at s looks like a URL or an e-mail
 *  address. GFM links those as written, so a backslash added inside would end up in
 *  the link: their _ * ~ are left alone (at worst they emphasise a word elsewhere). */
static int s_is_link_token(const char *s)
{
    size_t n = strcspn(s, " ");
    return (n > 4 && strncasecmp(s, "www.", 4) == 0) || memmem(s, n, "://", 3) != NULL
           || memchr(s, '@', n) != NULL;
}

/*  1 when '<' at s could open raw HTML (<b, </b, <!--, <?) or an autolink (<http:,
 *  <a@b>); "a < b", "<= 3" and "<5" cannot. */
static int s_lt_opens(const char *s)
{
    unsigned char next = (unsigned char) s[1];
    return !(next == '\0' || next == ' ' || next == '=' || isdigit(next));
}

/*  1 when clean[i] must be preceded by a backslash. link: clean[i] is in a URL token;
 *  list_mark: index of the "." or ")" of a leading ordered-list marker, or 0. */
static int s_needs_backslash(const char *s, size_t i, int link, size_t list_mark)
{
    unsigned char c = (unsigned char) s[i];
    switch (c) {
    case '`': case '[': case ']': case '|':
        return 1;
    case '*': case '_': case '~':
        return !link;
    case '\\': {
        /* Only a backslash before punctuation escapes it; elsewhere (\alpha) it is a
         * literal and stays single, which keeps LaTeX readable. */
        unsigned char next = (unsigned char) s[i + 1];
        return next == '\0' || (next < 0x80 && ispunct(next));
    }
    case '#':
        return i == 0 || s[i - 1] == ' ';   /* heading, or a heading's closing #s */
    case '&':
        return s_is_entity(s + i + 1);      /* "&lt;" must stay four characters */
    case '>': case '-': case '+': case '=':
        return i == 0;                      /* quote, list, rule, setext underline */
    case '.': case ')':
        return list_mark > 0 && i == list_mark;
    default:
        return 0;
    }
}

char *ax_md_escape(const char *s)
{
    char *clean = s_clean_line(s ? s : "");
    if (!clean)
        return NULL;
    size_t len = strlen(clean);
    char *out = malloc(4 * len + 1);        /* worst case: every byte a '<' -> "&lt;" */
    if (!out) {
        free(clean);
        return NULL;
    }
    size_t list_mark = s_list_number_len(clean);
    size_t o = 0;
    int link = 0;
    for (size_t i = 0; i < len; i++) {
        if (i == 0 || clean[i - 1] == ' ')
            link = s_is_link_token(clean + i);
        if (clean[i] == '<' && s_lt_opens(clean + i)) {
            /* an entity, not "\<": a backslash does not escape '<' in every Markdown */
            memcpy(out + o, "&lt;", 4);
            o += 4;
            continue;
        }
        if (s_needs_backslash(clean, i, link, list_mark))
            out[o++] = '\\';
        out[o++] = clean[i];
    }
    out[o] = '\0';
    free(clean);
    return out;
}

/* ---------------------------------------------------------------- writing */


/*  Writes untrusted text s escaped for Markdown. */
static void s_put_md(ax_writer_t *w, const char *s)
{
    if (w->err)
        return;
    char *esc = ax_md_escape(s);
    if (!esc) {
        w->err = 1;
        return;
    }
    ax_w_put(w, esc);
    free(esc);
}

/*  "**label**: " at the start of a field. */
static void s_put_label(ax_writer_t *w, const char *label)
{
    ax_w_putf(w, "**%s**: ", label);
}

/*  Abstract page of a paper: http://arxiv.org/abs/<id>v<version>. The id is written
 *  byte by byte, percent-encoding anything outside [A-Za-z0-9._/-], so a hostile id
 *  cannot end the link or add a title to it. */
static void s_put_abs_url(ax_writer_t *w, const ax_paper_t *paper)
{
    ax_w_put(w, "http://arxiv.org/abs/");
    for (const char *p = paper->id ? paper->id : ""; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (s_is_alnum(c) || c == '.' || c == '_' || c == '/' || c == '-')
            ax_w_putf(w, "%c", c);
        else
            ax_w_putf(w, "%%%02X", c);
    }
    if (paper->version > 0)
        ax_w_putf(w, "v%d", paper->version);
}

/*  Digest header: heading, generation time, count and sort rule, then the rule. */
static void s_put_header(ax_writer_t *w, const ax_digest_labels_t *l, const ax_profile_t *profile,
                         const char *period, size_t shown, int64_t generated_at,
                         int tz_offset_s)
{
    ax_w_put(w, "# ");
    s_put_md(w, s_has_text(profile->title) ? profile->title : profile->name);
    if (period && *period && strcmp(period, "all") != 0) {
        ax_w_put(w, " — ");
        s_put_md(w, period);
    }
    ax_w_put(w, "\n\n");

    char when[64];
    int64_t local;
    if (__builtin_add_overflow(generated_at, (int64_t) tz_offset_s, &local)
        || s_format_utc(local, l->generated_fmt, when, sizeof when) != 0)
        snprintf(when, sizeof when, "%s", l->unknown);
    s_put_label(w, l->generated);
    ax_w_putf(w, "%s\n", when);
    s_put_label(w, l->count);
    size_t top = profile->top_n > 0 ? (size_t) profile->top_n : shown;
    ax_w_putf(w, "%zu%s%zu%s\n", shown, l->count_mid, top, l->count_end);
    s_put_label(w, l->sort);
    ax_w_putf(w, "%s\n\n---\n\n", l->sort_rule);
}

/*  The interest field: 【5分】 reason, or the "not scored" text of a keyword-only run. */
static void s_put_score(ax_writer_t *w, const ax_digest_labels_t *l, const ax_llm_t *llm)
{
    s_put_label(w, l->interest);
    if (llm->score < 1 || llm->score > 5) {
        ax_w_put(w, l->not_scored);
    } else {
        ax_w_putf(w, "【%d%s】", llm->score, l->score_post);
        if (s_has_text(llm->score_reason)) {
            ax_w_put(w, " ");
            s_put_md(w, llm->score_reason);
        }
    }
    ax_w_put(w, "\n\n");
}

/*  One paper: "## i. title" and its fields, ending with the rule and a blank line. */
static void s_put_paper(ax_writer_t *w, const ax_digest_labels_t *l, size_t rank, const ax_entry_t *e)
{
    const ax_paper_t *p = &e->paper;
    const ax_verdict_t *v = &e->verdict;
    const ax_llm_t *llm = &v->llm;
    int translated = s_has_text(llm->title_translated)
                     && !(p->title && strcmp(llm->title_translated, p->title) == 0);

    ax_w_putf(w, "## %zu. ", rank);
    if (translated)
        s_put_md(w, llm->title_translated);
    else
        s_put_md(w, s_has_text(p->title) ? p->title : p->id);
    ax_w_put(w, "\n\n");

    if (translated || l->english_title_always) {
        s_put_label(w, l->english_title);
        if (s_has_text(p->title))
            s_put_md(w, p->title);
        else
            ax_w_put(w, l->unknown);
        ax_w_put(w, "\n\n");
    }

    s_put_label(w, l->authors);
    if (p->n_authors == 0) {
        ax_w_put(w, l->unknown);
    } else {
        char *authors = s_format_authors(p, l);
        if (!authors)
            w->err = 1;
        else
            s_put_md(w, authors);
        free(authors);
    }
    ax_w_put(w, "\n\n");

    char when[32];
    s_put_label(w, l->submitted);
    if (p->submitted > 0 && s_format_utc(p->submitted, "%Y-%m-%d %H:%M", when, sizeof when) == 0)
        ax_w_put(w, when);
    else
        ax_w_put(w, l->unknown);
    ax_w_put(w, "\n\n");

    s_put_label(w, l->link);
    ax_w_putf(w, "[%s](", l->link_text);
    s_put_abs_url(w, p);
    ax_w_put(w, ")\n\n");

    s_put_label(w, l->company);
    if (s_has_text(llm->company))
        s_put_md(w, llm->company);
    else if (s_has_text(v->company))
        s_put_md(w, v->company);
    else
        ax_w_put(w, l->unknown);
    ax_w_put(w, "\n\n");

    s_put_label(w, l->keywords);
    ax_w_putf(w, "【%zu】", v->n_hits);
    for (size_t i = 0; i < v->n_hits; i++) {
        ax_w_put(w, i == 0 ? " " : ", ");
        s_put_md(w, v->hits[i]);
    }
    ax_w_put(w, "\n\n");

    s_put_score(w, l, llm);

    ax_w_putf(w, "**%s**:\n", l->summary);
    if (s_has_text(llm->summary))
        s_put_md(w, llm->summary);
    else if (s_has_text(p->abstract))
        s_put_md(w, p->abstract);
    else
        ax_w_put(w, l->no_summary);
    ax_w_put(w, "\n\n---\n\n");
}

int ax_render_digest_md(FILE *out, const ax_profile_t *profile, const char *period,
                        const ax_entry_t *entries, size_t n, int64_t generated_at,
                        int tz_offset_s)
{
    if (!out || !profile || (n > 0 && !entries))
        return -1;
    const ax_digest_labels_t *l = &ax_labels(profile->language)->digest;
    size_t shown = n;
    if (profile->top_n > 0 && (size_t) profile->top_n < shown)
        shown = (size_t) profile->top_n;

    ax_writer_t w = {.out = out};
    s_put_header(&w, l, profile, period, shown, generated_at, tz_offset_s);
    if (shown == 0)
        ax_w_putf(&w, "%s\n", l->no_papers);
    for (size_t i = 0; i < shown; i++)
        s_put_paper(&w, l, i + 1, &entries[i]);
    if (fflush(out) != 0 || ferror(out))
        w.err = 1;
    return w.err ? -1 : 0;
}
