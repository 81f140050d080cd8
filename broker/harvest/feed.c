/*  feed.c: the reader loop every arXiv feed format shares, and the assembly of papers
 *  from what the formats find (see feed.h for the contract, feed_internal.h for how the
 *  formats plug in; the formats themselves are feed_atom.c, feed_oai.c, feed_rss.c).
 *
 *  The loop is libxml2's streaming xmlTextReader over the body in memory: one node at a
 *  time, the tree never built. Element starts and ends go to the format; character data is
 *  gathered between two tags so a leaf element's end sees its whole text. Every libxml2
 *  error goes through our handler into ctx->err with its line (nothing is printed), and
 *  the first error stops the loop. Papers are kept in ctx->out until the root element has
 *  closed and the reader reported the end of a well-formed document; only then are they
 *  handed to the caller, so a truncated body delivers nothing.
 */
#define _GNU_SOURCE
#include "feed_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "text.h"

#if LIBXML_VERSION >= 21200
typedef const xmlError *s_xml_error_t;
#else
typedef xmlErrorPtr s_xml_error_t;
#endif

/* ---- small helpers ---------------------------------------------------------------------- */

int ax_feed_buf_add(ax_feed_buf_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

void ax_feed_buf_reset(ax_feed_buf_t *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
}

void ax_feed_buf_free(ax_feed_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int ax_feed_fail(ax_feed_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->err)
        return -1;
    char *what = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    int line = ctx->reader ? xmlTextReaderGetParserLineNumber(ctx->reader) : 0;
    ax_set_error(&ctx->err, "%s at line %d", what ? what : "error", line);
    free(what);
    if (!ctx->err)                              /* keep failing even without a message */
        ctx->err = strdup("");
    return -1;
}

int ax_feed_nomem(ax_feed_ctx_t *ctx)
{
    return ax_feed_fail(ctx, "out of memory");
}

char *ax_feed_attr(ax_feed_ctx_t *ctx, const char *name)
{
    xmlChar *v = xmlTextReaderGetAttribute(ctx->reader, BAD_CAST name);
    if (!v)
        return NULL;
    char *s = strdup((const char *) v);
    xmlFree(v);
    return s;
}

/*  Bounds of text without leading and trailing whitespace. */
static void s_trim(const char **text, size_t *len)
{
    while (*len && ax_is_space((unsigned char) **text))
        (*text)++, (*len)--;
    while (*len && ax_is_space((unsigned char) (*text)[*len - 1]))
        (*len)--;
}

int ax_feed_set(ax_feed_ctx_t *ctx, char **field, const char *text, size_t len)
{
    char *s = ax_text_fold(text, len);
    if (!s)
        return ax_feed_nomem(ctx);
    if (!*s) {
        free(s);
        s = NULL;
    }
    free(*field);
    *field = s;
    return 0;
}

int ax_feed_set_raw(ax_feed_ctx_t *ctx, char **field, const char *text, size_t len)
{
    s_trim(&text, &len);
    char *s = strndup(text, len);
    if (!s)
        return ax_feed_nomem(ctx);
    free(*field);
    *field = s;
    return 0;
}

int ax_feed_join(ax_feed_ctx_t *ctx, ax_feed_buf_t *b, const char *sep, const char *text, size_t len)
{
    size_t n0 = b->n;
    if (b->n && ax_feed_buf_add(b, sep, strlen(sep)) < 0)
        return ax_feed_nomem(ctx);
    size_t at = b->n;
    if (ax_feed_buf_add(b, text, len) < 0)
        return ax_feed_nomem(ctx);
    size_t n = ax_text_fold_to(b->p + at, b->p + at, len);
    b->n = n ? at + n : n0;                     /* blank: as if nothing was added */
    b->p[b->n] = '\0';
    return 0;
}

int64_t ax_feed_int(const char *text, size_t len)
{
    int64_t v = 0;
    s_trim(&text, &len);
    if (!len || len > 18)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char) text[i]))
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

/*  Zone at the end of a date of length *len: its offset east of UTC in seconds, and *len
 *  shortened to leave the date and time only. 0 (and *len untouched) when there is none.
 *  ax_time_parse reads the local date and time and ignores what follows the seconds, so
 *  the offset is applied here. */
static int64_t s_zone(const char *s, size_t *len)
{
    static const struct { const char *name; int hours; } names[] = {
        {" GMT", 0}, {" UTC", 0}, {" UT", 0}, {" EST", -5}, {" EDT", -4}, {" CST", -6},
        {" CDT", -5}, {" MST", -7}, {" MDT", -6}, {" PST", -8}, {" PDT", -7},
    };
    size_t n = *len;
    if (n < 10 || !memchr(s, ':', n))           /* a date without a time has no zone */
        return 0;
    if (s[n - 1] == 'Z' || s[n - 1] == 'z') {
        *len = n - 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t k = strlen(names[i].name);
        if (n > k && memcmp(s + n - k, names[i].name, k) == 0) {
            *len = n - k;
            return (int64_t) names[i].hours * 3600;
        }
    }
    /* "+hhmm" (RFC 2822, after a space) or "+hh:mm" (RFC 3339, after the seconds). */
    int colon = n >= 6 && s[n - 3] == ':';
    size_t k = colon ? 6 : 5;
    if (n <= k)
        return 0;
    const char *z = s + n - k;
    const char *mm = z + 3 + colon;
    if ((z[0] != '+' && z[0] != '-') || !isdigit((unsigned char) z[1]) || !isdigit((unsigned char) z[2]) ||
        !isdigit((unsigned char) mm[0]) || !isdigit((unsigned char) mm[1]))
        return 0;
    if (colon ? !isdigit((unsigned char) z[-1]) : z[-1] != ' ')
        return 0;
    int64_t off = ((z[1] - '0') * 10 + (z[2] - '0')) * 3600 + ((mm[0] - '0') * 10 + (mm[1] - '0')) * 60;
    *len = n - k;
    return z[0] == '-' ? -off : off;
}

int64_t ax_feed_time(const char *text, size_t len)
{
    char buf[64];
    int64_t t;
    s_trim(&text, &len);
    if (!len || len >= sizeof buf)
        return 0;
    int64_t off = s_zone(text, &len);
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (ax_time_parse(buf, &t) < 0)
        return 0;
    return t - off;
}

/* ---- paper assembly --------------------------------------------------------------------- */

/*  ax_strv_push, with side (may be NULL) a parallel array of the same capacity that
 *  grows with it. Frees s on failure. */
static int s_push(char ***v, size_t *n, size_t *cap, char ***side, char *s)
{
    if (side && *n == *cap) {
        char **ns = realloc(*side, AX_STRV_NEXT_CAP(*cap) * sizeof *ns);
        if (!ns) {
            free(s);
            return -1;
        }
        *side = ns;
    }
    return ax_strv_push(v, n, cap, s);
}

int ax_feed_add_author(ax_feed_ctx_t *ctx, const char *name, size_t len, const char *aff)
{
    ax_feed_entry_t *e = &ctx->e;
    char *s = ax_text_fold(name, len);
    if (!s)
        return ax_feed_nomem(ctx);
    if (!*s) {
        free(s);
        return 0;
    }
    char *a = NULL;
    if (aff && *aff && !(a = strdup(aff))) {
        free(s);
        return ax_feed_nomem(ctx);
    }
    if (s_push(&e->p.authors, &e->p.n_authors, &e->authors_cap, &e->affs, s) < 0) {
        free(a);
        return ax_feed_nomem(ctx);
    }
    e->affs[e->p.n_authors - 1] = a;
    e->any_aff |= a != NULL;
    return 0;
}

int ax_feed_commit_author(ax_feed_ctx_t *ctx)
{
    ax_feed_entry_t *e = &ctx->e;
    int rc;
    if (e->name.n)
        rc = ax_feed_add_author(ctx, e->name.p, e->name.n, e->aff.p);
    else {
        /* "Forenames Keyname Suffix" from OAI arXiv's parts. */
        ax_feed_buf_t full = {0};
        const ax_feed_buf_t *parts[] = {&e->forenames, &e->keyname, &e->suffix};
        rc = 0;
        for (size_t i = 0; i < 3 && rc == 0; i++)
            if (parts[i]->n && ((full.n && ax_feed_buf_add(&full, " ", 1) < 0) ||
                                ax_feed_buf_add(&full, parts[i]->p, parts[i]->n) < 0))
                rc = ax_feed_nomem(ctx);
        if (rc == 0 && full.n)
            rc = ax_feed_add_author(ctx, full.p, full.n, e->aff.p);
        ax_feed_buf_free(&full);
    }
    ax_feed_buf_reset(&e->name);
    ax_feed_buf_reset(&e->keyname);
    ax_feed_buf_reset(&e->forenames);
    ax_feed_buf_reset(&e->suffix);
    ax_feed_buf_reset(&e->aff);
    return rc;
}

/*  1 when s[0..n) is a name suffix that a comma split cut off its author ("Jr."). */
static int s_is_suffix(const char *s, size_t n)
{
    static const char *suffixes[] = {"Jr", "Jr.", "Sr", "Sr.", "II", "III", "IV"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
        if (strlen(suffixes[i]) == n && memcmp(s, suffixes[i], n) == 0)
            return 1;
    return 0;
}

int ax_feed_split_authors(ax_feed_ctx_t *ctx, const char *text, size_t len)
{
    ax_feed_entry_t *e = &ctx->e;
    char *s = ax_text_fold(text, len);
    if (!s)
        return ax_feed_nomem(ctx);
    const char *p = s, *end = s + strlen(s);
    int rc = 0;
    while (rc == 0 && p < end) {
        const char *comma = memchr(p, ',', (size_t) (end - p));
        const char *stop = comma ? comma : end;
        const char *and = memmem(p, (size_t) (stop - p), " and ", 5);
        if (!and && (size_t) (stop - p) >= 4 && memcmp(p, "and ", 4) == 0)
            p += 4;                             /* "A,and B" ("A, and B" is found below) */
        if (and)
            stop = and;
        const char *a = p;
        size_t n = (size_t) (stop - p);
        s_trim(&a, &n);
        if (n && e->p.n_authors && s_is_suffix(a, n)) {
            /* "John Smith, Jr., Jane Doe": the suffix belongs to the previous author. */
            char **last = &e->p.authors[e->p.n_authors - 1];
            char *joined = NULL;
            if (asprintf(&joined, "%s %.*s", *last, (int) n, a) < 0)
                rc = ax_feed_nomem(ctx);
            else {
                free(*last);
                *last = joined;
            }
        } else if (n)
            rc = ax_feed_add_author(ctx, a, n, NULL);
        if (stop == end)
            break;
        p = stop + (stop == and ? 5 : 1);
    }
    free(s);
    return rc;
}

/*  1 when the space-separated list b holds the word w[0..n). */
static int s_has_word(const ax_feed_buf_t *b, const char *w, size_t n)
{
    if (!b->p)
        return 0;
    const char *p = b->p, *end = b->p + b->n;
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t) (end - p));
        size_t k = (size_t) ((sp ? sp : end) - p);
        if (k == n && memcmp(p, w, n) == 0)
            return 1;
        p = sp ? sp + 1 : end;
    }
    return 0;
}

/*  Next whitespace-separated word of [*p, end) into *w, its length returned (0: none). */
static size_t s_word(const char **p, const char *end, const char **w)
{
    while (*p < end && ax_is_space((unsigned char) **p))
        (*p)++;
    *w = *p;
    while (*p < end && !ax_is_space((unsigned char) **p))
        (*p)++;
    return (size_t) (*p - *w);
}

int ax_feed_add_categories(ax_feed_ctx_t *ctx, const char *text, size_t len)
{
    ax_feed_entry_t *e = &ctx->e;
    const char *p = text, *end = text + len, *w;
    size_t n;
    while ((n = s_word(&p, end, &w)) > 0) {
        int dup = 0;
        for (size_t i = 0; i < e->p.n_categories && !dup; i++)
            dup = strlen(e->p.categories[i]) == n && memcmp(e->p.categories[i], w, n) == 0;
        if (dup)
            continue;
        char *c = strndup(w, n);
        if (!c || s_push(&e->p.categories, &e->p.n_categories, &e->categories_cap, NULL, c) < 0)
            return ax_feed_nomem(ctx);
    }
    return 0;
}

int ax_feed_add_dois(ax_feed_ctx_t *ctx, ax_feed_buf_t *b, const char *text, size_t len)
{
    static const char *prefixes[] = {"https://doi.org/", "http://doi.org/", "https://dx.doi.org/",
                                     "http://dx.doi.org/", "doi:", "DOI:"};
    const char *p = text, *end = text + len, *w;
    size_t n;
    while ((n = s_word(&p, end, &w)) > 0) {
        for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
            size_t k = strlen(prefixes[i]);
            if (n > k && memcmp(w, prefixes[i], k) == 0) {
                w += k;
                n -= k;
                break;
            }
        }
        if (s_has_word(b, w, n))
            continue;
        if ((b->n && ax_feed_buf_add(b, " ", 1) < 0) || ax_feed_buf_add(b, w, n) < 0)
            return ax_feed_nomem(ctx);
    }
    return 0;
}

int ax_feed_set_id(ax_feed_ctx_t *ctx, int slot, const char *text, size_t len)
{
    return ax_feed_set_raw(ctx, &ctx->e.ids[slot], text, len);
}

void ax_feed_entry_reset(ax_feed_entry_t *e)
{
    ax_strv_free(&e->affs, e->p.n_authors);    /* parallel to authors until the end */
    ax_paper_clear(&e->p);
    for (int i = 0; i < AX_FEED_ID_COUNT; i++)
        free(e->ids[i]);
    free(e->primary);
    ax_feed_buf_free(&e->doi);
    ax_feed_buf_free(&e->link_doi);
    ax_feed_buf_free(&e->name);
    ax_feed_buf_free(&e->keyname);
    ax_feed_buf_free(&e->forenames);
    ax_feed_buf_free(&e->suffix);
    ax_feed_buf_free(&e->aff);
    free(e->announce);
    memset(e, 0, sizeof *e);
}

/*  Moves e->primary to the front of the categories (adding it when absent). 0 / -1. */
static int s_primary_first(ax_feed_entry_t *e)
{
    if (!e->primary || !*e->primary)
        return 0;
    size_t at = e->p.n_categories;
    for (size_t i = 0; i < e->p.n_categories && at == e->p.n_categories; i++)
        if (strcmp(e->p.categories[i], e->primary) == 0)
            at = i;
    if (at == e->p.n_categories) {
        char *c = e->primary;
        e->primary = NULL;
        if (s_push(&e->p.categories, &e->p.n_categories, &e->categories_cap, NULL, c) < 0)
            return -1;
    }
    char *c = e->p.categories[at];
    memmove(e->p.categories + 1, e->p.categories, at * sizeof *e->p.categories);
    e->p.categories[0] = c;
    return 0;
}

/*  Appends the finished paper p (moved) and its announce type (moved) to ctx->out. */
static int s_emit(ax_feed_ctx_t *ctx, ax_paper_t *p, char **announce)
{
    if (ctx->n_out == ctx->cap_out) {
        size_t c = ctx->cap_out ? ctx->cap_out * 2 : 64;
        ax_paper_t *o = realloc(ctx->out, c * sizeof *o);
        if (!o)
            return -1;
        ctx->out = o;
        char **a = realloc(ctx->out_announce, c * sizeof *a);
        if (!a)
            return -1;
        ctx->out_announce = a;
        ctx->cap_out = c;
    }
    ctx->out[ctx->n_out] = *p;
    ctx->out_announce[ctx->n_out] = *announce;
    ctx->n_out++;
    memset(p, 0, sizeof *p);
    *announce = NULL;
    return 0;
}

int ax_feed_finish(ax_feed_ctx_t *ctx)
{
    ax_feed_entry_t *e = &ctx->e;
    int version = 0, rc = 0;
    for (int i = 0; i < AX_FEED_ID_COUNT && !e->p.id; i++)
        if (e->ids[i] && ax_arxiv_id_split(e->ids[i], &e->p.id, &version) < 0)
            e->p.id = NULL;
    e->p.version = version > e->versions ? version : e->versions;
    if (!e->p.updated)
        e->p.updated = e->p.submitted;
    if (!e->p.submitted)            /* no v1 date (published, created): the entry's updated */
        e->p.submitted = e->p.updated;
    const char *why = e->p.id ? ax_paper_problem(&e->p) : "no arXiv id";
    if (why) {
        ctx->page->skipped++;
        ctx->page->skip_reason = why;
        ax_feed_entry_reset(e);
        return 0;
    }
    if (s_primary_first(e) < 0)
        rc = -1;
    const ax_feed_buf_t *doi = e->doi.n ? &e->doi : &e->link_doi;
    if (rc == 0 && doi->n && !(e->p.doi = strdup(doi->p)))
        rc = -1;
    if (rc == 0 && e->any_aff) {
        /* Affiliations travel in the paper only when some author has one. */
        for (size_t i = 0; i < e->p.n_authors && rc == 0; i++)
            if (!e->affs[i] && !(e->affs[i] = strdup("")))
                rc = -1;
        if (rc == 0) {
            e->p.affiliations = e->affs;
            e->affs = NULL;
        }
    }
    if (rc == 0)
        rc = s_emit(ctx, &e->p, &e->announce);
    ax_feed_entry_reset(e);
    return rc < 0 ? ax_feed_nomem(ctx) : 0;
}

/* ---- the reader loop -------------------------------------------------------------------- */

static const struct {
    const char *uri;
    ax_feed_ns_t ns;
} s_namespaces[] = {
    {"http://www.w3.org/2005/Atom", AX_NS_ATOM},
    {"http://arxiv.org/schemas/atom", AX_NS_ARXIV},
    {"http://a9.com/-/spec/opensearch/1.1/", AX_NS_OPENSEARCH},
    {"http://www.openarchives.org/OAI/2.0/", AX_NS_OAI},
    {"http://arxiv.org/OAI/arXiv/", AX_NS_OAI_ARXIV},
    {"http://arxiv.org/OAI/arXivRaw/", AX_NS_OAI_ARXIVRAW},
    {"http://www.openarchives.org/OAI/2.0/oai_dc/", AX_NS_OAI_DC},
    {"http://purl.org/dc/elements/1.1/", AX_NS_DC},
};

/*  The namespace of the current node. URIs are interned in the reader's dictionary, so
 *  the same pointer as last time is the same namespace. */
static ax_feed_ns_t s_ns(ax_feed_ctx_t *ctx)
{
    const xmlChar *uri = xmlTextReaderConstNamespaceUri(ctx->reader);
    if (!uri)
        return AX_NS_NONE;
    if (uri == ctx->ns_uri)
        return ctx->ns;
    ax_feed_ns_t ns = AX_NS_OTHER;
    for (size_t i = 0; i < sizeof s_namespaces / sizeof *s_namespaces && ns == AX_NS_OTHER; i++)
        if (strcmp((const char *) uri, s_namespaces[i].uri) == 0)
            ns = s_namespaces[i].ns;
    ctx->ns_uri = uri;
    ctx->ns = ns;
    return ns;
}

/*  libxml2's errors (through the reader's handler, or the thread's global handlers while a
 *  parse runs): the first error-level one is kept with its line; warnings are dropped. */
static void s_on_error(void *arg, s_xml_error_t error)
{
    ax_feed_ctx_t *ctx = arg;
    if (!error || error->level < XML_ERR_ERROR || ctx->err)
        return;
    const char *msg = error->message ? error->message : "unknown error";
    size_t n = strlen(msg);
    while (n && ax_is_space((unsigned char) msg[n - 1]))
        n--;
    ax_set_error(&ctx->err, "XML error at line %d: %.*s", error->line, (int) n, msg);
    if (!ctx->err)
        ctx->err = strdup("");
    ctx->xml_line = error->line;
    ctx->xml_col = error->int2;
    ctx->xml_msg = strndup(msg, n);
}

/*  Line and column (in characters, as libxml2 counts) just past data[0..len). */
static void s_end_position(const char *data, size_t len, int *line, int *col)
{
    const char *last = data, *end = data + len;
    *line = 1;
    *col = 1;
    for (const char *p = data; (p = memchr(p, '\n', (size_t) (end - p))); last = ++p)
        (*line)++;
    for (const char *p = last; p < end; p++)
        *col += ((unsigned char) *p & 0xc0) != 0x80;
}

/*  A libxml2 error at the document's very end while the root element is still open is
 *  what a body cut mid-transfer looks like, whatever libxml2 calls it (the reader often
 *  says "Extra content at the end of the document"): say so, and where. libxml2 puts
 *  the error at the end of the data or at the end of its last non-blank line. */
static void s_explain_truncation(ax_feed_ctx_t *ctx, const char *data, size_t len)
{
    int line, col, line2, col2;
    size_t n = len;
    while (n && ax_is_space((unsigned char) data[n - 1]))
        n--;
    s_end_position(data, len, &line, &col);
    s_end_position(data, n, &line2, &col2);
    if (!ctx->xml_msg ||
        !((ctx->xml_line == line && ctx->xml_col + 1 >= col) || (ctx->xml_line == line2 && ctx->xml_col + 1 >= col2)))
        return;
    int d = ctx->open_depth <= 32 ? ctx->open_depth - 1 : 31;
    char *why = NULL;
    if (ctx->open_depth < 1)
        ax_set_error(&why, "XML error at line %d, where the document ends before its root element (truncated?): %s",
                     ctx->xml_line, ctx->xml_msg);
    else
        ax_set_error(&why, "XML error at line %d, where the document ends inside <%s> (truncated?): %s",
                     ctx->xml_line, ctx->open[d] ? ctx->open[d] : "", ctx->xml_msg);
    if (why) {
        free(ctx->err);
        ctx->err = why;
    }
}

static void s_silent(void *arg, const char *msg, ...)
{
    (void) arg;
    (void) msg;
}

/*  Walks the document; 0 when it is well-formed and of fmt's kind, -1 with ctx->err. */
static int s_walk(ax_feed_ctx_t *ctx, const ax_feed_format_t *fmt, const char *data, size_t len)
{
    xmlTextReaderPtr r = ctx->reader;
    ax_feed_buf_t text = {0};
    int rc = 0, root_open = 0, root_done = 0;
    while (!ctx->err && (rc = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
            type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE || type == XML_READER_TYPE_WHITESPACE) {
            const char *v = (const char *) xmlTextReaderConstValue(r);
            if (v && ax_feed_buf_add(&text, v, strlen(v)) < 0)
                ax_feed_nomem(ctx);
            continue;
        }
        if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
            ax_feed_fail(ctx, "a DOCTYPE is not accepted in %s", fmt->what);
            break;
        }
        if (type != XML_READER_TYPE_ELEMENT && type != XML_READER_TYPE_END_ELEMENT)
            continue;
        int depth = xmlTextReaderDepth(r);
        const char *name = (const char *) xmlTextReaderConstLocalName(r);
        ax_feed_ns_t ns = s_ns(ctx);
        if (!name)
            name = "";
        if (type == XML_READER_TYPE_ELEMENT) {
            if (depth == 0) {
                if (root_done || strcmp(name, fmt->root) != 0 || ns != fmt->root_ns) {
                    const xmlChar *q = xmlTextReaderConstName(r);
                    ax_feed_fail(ctx, "not %s: the root element is <%s>", fmt->what, q ? (const char *) q : "");
                    break;
                }
                root_open = 1;
            }
            ax_feed_buf_reset(&text);
            if (fmt->start(ctx, ns, name, depth) < 0)
                break;
            if (!xmlTextReaderIsEmptyElement(r)) {
                if (depth < 32)
                    ctx->open[depth] = name;
                ctx->open_depth = depth + 1;
                continue;
            }
        }
        ctx->open_depth = depth;
        /* An element's end (or an empty element, which has no end node). */
        if (fmt->end(ctx, ns, name, depth, text.p ? text.p : "", text.n) < 0)
            break;
        ax_feed_buf_reset(&text);
        if (depth == 0)
            root_done = 1;
    }
    ax_feed_buf_free(&text);
    if (ctx->err && !root_done)
        s_explain_truncation(ctx, data, len);
    if (ctx->err)
        return -1;
    if (rc < 0)
        return ax_feed_fail(ctx, "XML error (%s)", root_open ? "unreadable document" : "no document");
    if (!root_done)
        return ax_feed_fail(ctx, root_open ? "truncated: the document ends before its root element closes"
                                           : "no document: no root element");
    return 0;
}

/*  Runs the reader over the document with ctx as the receiver of every libxml2 error of
 *  this thread (libxml2's handlers are per thread; the previous ones are put back). */
static int s_parse(ax_feed_ctx_t *ctx, const ax_feed_format_t *fmt, const char *data, size_t len)
{
    xmlStructuredErrorFunc old_s = xmlStructuredError;
    void *old_s_arg = xmlStructuredErrorContext;
    xmlGenericErrorFunc old_g = xmlGenericError;
    void *old_g_arg = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(ctx, s_on_error);
    xmlSetGenericErrorFunc(NULL, s_silent);
    int rc = -1;
    ctx->reader = xmlReaderForMemory(data, (int) len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_COMPACT);
    if (!ctx->reader)
        ax_feed_fail(ctx, "cannot start the XML reader");
    else {
        xmlTextReaderSetStructuredErrorHandler(ctx->reader, s_on_error, ctx);
        rc = s_walk(ctx, fmt, data, len);
        xmlFreeTextReader(ctx->reader);
        ctx->reader = NULL;
    }
    xmlSetStructuredErrorFunc(old_s_arg, old_s);
    xmlSetGenericErrorFunc(old_g_arg, old_g);
    return rc;
}

/* ---- API -------------------------------------------------------------------------------- */

const char *ax_feed_kind_name(ax_feed_kind_t kind)
{
    switch (kind) {
    case AX_FEED_ATOM: return "atom";
    case AX_FEED_OAI: return "oai";
    case AX_FEED_RSS: return "rss";
    }
    return "unknown";
}

void ax_feed_page_clear(ax_feed_page_t *page)
{
    if (!page)
        return;
    free(page->token);
    free(page->token_expires);
    free(page->error_code);
    free(page->error_message);
    memset(page, 0, sizeof *page);
}

int ax_feed_parse(ax_feed_kind_t kind, const char *data, size_t len, ax_feed_page_t *page,
                  ax_feed_paper_fn fn, void *arg, char **err)
{
    const ax_feed_format_t *fmt = kind == AX_FEED_ATOM  ? &ax_feed_atom
                                  : kind == AX_FEED_OAI ? &ax_feed_oai
                                  : kind == AX_FEED_RSS ? &ax_feed_rss : NULL;
    ax_feed_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    memset(page, 0, sizeof *page);
    page->total_results = page->start_index = page->items_per_page = -1;
    page->token_cursor = page->token_size = -1;
    ctx.page = page;
    if (err)
        *err = NULL;
    if (!fmt) {
        ax_set_error(err, "unknown feed kind %d", (int) kind);
        return -1;
    }
    if (!data || len == 0) {
        ax_set_error(err, "empty document (line 1): no %s", fmt->what);
        return -1;
    }
    if (len > INT_MAX) {
        ax_set_error(err, "document of %zu bytes is too large (line 1)", len);
        return -1;
    }
    xmlInitParser();
    int rc = s_parse(&ctx, fmt, data, len);
    ax_feed_entry_reset(&ctx.e);
    free(ctx.attr);
    /* Deliver only a good document; a bad one frees what it had parsed. */
    size_t i = 0;
    for (; rc == 0 && i < ctx.n_out; i++) {
        ax_feed_extra_t extra = {.announce_type = ctx.out_announce[i]};
        page->entries++;
        if (fn && fn(arg, &ctx.out[i], &extra) < 0)
            rc = -2;
        else if (!fn)
            ax_paper_clear(&ctx.out[i]);
        free(ctx.out_announce[i]);
    }
    for (; i < ctx.n_out; i++) {
        ax_paper_clear(&ctx.out[i]);
        free(ctx.out_announce[i]);
    }
    free(ctx.out);
    free(ctx.out_announce);
    free(ctx.xml_msg);
    if (rc == -1) {
        ax_feed_page_clear(page);               /* nothing half-read leaks out */
        if (err) {
            *err = ctx.err;
            ctx.err = NULL;
        }
    }
    free(ctx.err);
    return rc;
}
