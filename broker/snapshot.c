/*  snapshot.c: streaming reader of the Kaggle arXiv snapshot (see snapshot.h).
 *
 *  Why a hand-written JSON scanner: the reader sits on the keyword pipeline's path
 *  (>= 50 000 papers/s end to end), and a general JSON library builds a tree of every
 *  value of every line: jansson's json_loadb alone reads ~34 000 of these ~2 KB lines a
 *  second. The records have one fixed shape, so s_record() makes one strict pass over the
 *  line (the JSON grammar, UTF-8 checked, nesting limited) that only notes where the
 *  wanted values lie; nothing is decoded or allocated until the record passes the filter.
 *  Before even that, s_precheck_drop() looks at the raw categories and v1 date where the
 *  snapshot's compact layout puts them, so a line outside the filter costs a memmem().
 */
#define _GNU_SOURCE
#include "snapshot.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "log.h"
#include "text.h"

#define S_MAX_DEPTH 64          /* nesting allowed in a record */
#define S_IO_BUFFER (1 << 20)   /* stdio buffer, bytes */

/*  A JSON string as it sits in the line: the bytes between its quotes. */
typedef struct {
    const char *p;              /* NULL: absent, null, or not a string */
    size_t n;
    int escaped;                /* has backslash escapes: decode before use */
} s_str_t;

/*  A JSON value kept raw (the arrays), walked once the line is known to pass. */
typedef struct {
    const char *p;              /* NULL: absent */
    size_t n;
} s_raw_t;

/*  Where the wanted values of one line lie. */
typedef struct {
    s_str_t id, title, abstract, authors, categories, comments, journal_ref, doi;
    s_raw_t versions, authors_parsed;
} s_record_t;

/*  Scanner state over one line (or one value of it). */
typedef struct {
    const char *p, *end, *start;
    const char *error;          /* first problem found (static text) */
    size_t at;                  /* its byte offset */
} s_json_t;

/*  A filter category, measured once. */
typedef struct {
    char *name;
    size_t len;
    int archive;                /* no '.': the whole archive ("cs", "hep-th") */
} s_cat_t;

struct ax_snapshot {
    char *path;
    FILE *fp;
    s_cat_t *cats;              /* category filter, n_cats 0 = all */
    size_t n_cats;
    int64_t from, to;           /* date filter (unix s), 0 = open */
    char *line;                 /* getline buffer */
    size_t line_cap;
    char *scratch;              /* decoding buffer, >= line length + 16 bytes */
    size_t scratch_cap;
    uint64_t offset;            /* byte offset of the next line */
    uint64_t next_line;         /* its 1-based number */
    ax_snapshot_stats_t stats;
    char error[256];
};

/*  The keys a record is read for; the others are scanned and skipped. */
static const struct {
    const char *name;
    size_t len;
    size_t offset;              /* of its s_str_t / s_raw_t in s_record_t */
    int raw;                    /* kept raw (s_raw_t) */
} s_fields[] = {
    {"id", 2, offsetof(s_record_t, id), 0},
    {"title", 5, offsetof(s_record_t, title), 0},
    {"abstract", 8, offsetof(s_record_t, abstract), 0},
    {"authors", 7, offsetof(s_record_t, authors), 0},
    {"categories", 10, offsetof(s_record_t, categories), 0},
    {"comments", 8, offsetof(s_record_t, comments), 0},
    {"journal-ref", 11, offsetof(s_record_t, journal_ref), 0},
    {"doi", 3, offsetof(s_record_t, doi), 0},
    {"versions", 8, offsetof(s_record_t, versions), 1},
    {"authors_parsed", 14, offsetof(s_record_t, authors_parsed), 1},
};

/*  Bytes that end the fast path of a string scan, and ASCII whitespace. */
static const unsigned char s_stop[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};
static const unsigned char s_space[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\f'] = 1, ['\v'] = 1,
};

/*  Outcome of turning a line into a paper. */
enum { S_PAPER = 1, S_FILTERED = 0, S_MALFORMED = -1, S_NOMEM = -2 };

/* ---- JSON scanning -------------------------------------------------------------------- */

static int s_fail(s_json_t *js, const char *what)
{
    if (!js->error) {
        js->error = what;
        js->at = (size_t) (js->p - js->start);
    }
    return -1;
}

static void s_ws(s_json_t *js)
{
    while (js->p < js->end &&
           (*js->p == ' ' || *js->p == '\t' || *js->p == '\n' || *js->p == '\r'))
        js->p++;
}

/*  Value of the 4 hex digits at p, -1 if they are not hex. */
static long s_hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char) p[i], l = c | 0x20;
        int h = c >= '0' && c <= '9' ? c - '0' : l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/*  Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), 0 if it is not one
 *  (overlong forms, surrogates and code points past U+10FFFF are refused). */
static size_t s_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp;
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || (size_t) (end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3) {
        cp = (c & 0x0f) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
        return cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : 3;
    }
    if (n == 4) {
        cp = (c & 0x07) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
        return cp < 0x10000 || cp > 0x10ffff ? 0 : 4;
    }
    return n;
}

/*  Skips the bytes at p that need no attention inside a string (not '"', '\\', a control
 *  byte or a non-ASCII byte), 16 (SSE2) or 8 (SWAR) at a time, the rest one by one. */
static const unsigned char *s_plain(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *) p);
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too */
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                 _mm_cmpeq_epi8(x, bslash)),
                                    _mm_cmplt_epi8(x, space));
        int mask = _mm_movemask_epi8(stop);
        if (mask)
            return p + __builtin_ctz((unsigned) mask);
        p += 16;
    }
#else
    /* a byte b is zero iff (b - 1) & ~b has its high bit set: no false negatives */
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t x, q, b;
        memcpy(&x, p, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | (x - ones * 0x20) | x) & high)
            break;
        p += 8;
    }
#endif
    while (p < end && !s_stop[*p])
        p++;
    return p;
}

/*  Scans the string at js->p (a '"'), checking its escapes and UTF-8, into *out. */
static int s_string(s_json_t *js, s_str_t *out)
{
    const char *start = js->p + 1;
    const unsigned char *p = (const unsigned char *) start;
    const unsigned char *end = (const unsigned char *) js->end;
    int escaped = 0;
    for (;;) {
        p = s_plain(p, end);
        js->p = (const char *) p;
        if (p >= end)
            return s_fail(js, "unterminated string");
        if (*p == '"')
            break;
        if (*p == '\\') {
            escaped = 1;
            if (end - p >= 6 && p[1] == 'u' && s_hex4((const char *) p + 2) >= 0)
                p += 6;
            else if (end - p >= 2 && p[1] && strchr("\"\\/bfnrt", p[1]))
                p += 2;
            else
                return s_fail(js, "bad escape in string");
        } else if (*p < 0x20) {
            return s_fail(js, "control character in string");
        } else {
            size_t n = s_utf8_len(p, end);
            if (n == 0)
                return s_fail(js, "invalid UTF-8");
            p += n;
        }
    }
    out->p = start;
    out->n = (size_t) ((const char *) p - start);
    out->escaped = escaped;
    js->p = (const char *) p + 1;
    return 0;
}

/*  -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int s_number(s_json_t *js)
{
    int part = 0;                               /* 0 integer, 1 fraction, 2 exponent */
    if (js->p < js->end && *js->p == '-')
        js->p++;
    for (;;) {
        const char *digits = js->p;
        while (js->p < js->end && *js->p >= '0' && *js->p <= '9')
            js->p++;
        if (js->p == digits || (part == 0 && *digits == '0' && js->p - digits > 1))
            return s_fail(js, "bad number");
        if (part == 0 && js->p < js->end && *js->p == '.')
            part = 1;
        else if (part < 2 && js->p < js->end && (*js->p == 'e' || *js->p == 'E'))
            part = 2;
        else
            return 0;
        js->p++;
        if (part == 2 && js->p < js->end && (*js->p == '+' || *js->p == '-'))
            js->p++;
    }
}

static int s_literal(s_json_t *js, const char *word, size_t len)
{
    if ((size_t) (js->end - js->p) < len || memcmp(js->p, word, len) != 0)
        return s_fail(js, "unexpected character");
    js->p += len;
    return 0;
}

/*  Steps to the next item of the array or object being read; close is its closing
 *  bracket, *first is 1 until the first item. 1 = an item follows (js->p on it), 0 = the
 *  container ended (bracket consumed), -1 = syntax error. */
static int s_item(s_json_t *js, char close, int *first)
{
    s_ws(js);
    if (js->p >= js->end)
        return s_fail(js, "unexpected end of line");
    if (*js->p == close) {
        js->p++;
        return 0;
    }
    if (*first)
        *first = 0;
    else if (*js->p == ',')
        js->p++;
    else
        return s_fail(js, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    s_ws(js);
    return js->p < js->end ? 1 : s_fail(js, "unexpected end of line");
}

/*  Scans an object's "key": and leaves js->p on the value. */
static int s_key(s_json_t *js, s_str_t *key)
{
    if (js->p >= js->end || *js->p != '"')
        return s_fail(js, "expected a key");
    if (s_string(js, key) < 0)
        return -1;
    s_ws(js);
    if (js->p >= js->end || *js->p != ':')
        return s_fail(js, "expected ':'");
    js->p++;
    s_ws(js);
    return 0;
}

/*  Scans (validates and skips) the value at js->p; depth is its nesting level. */
static int s_value(s_json_t *js, int depth)
{
    s_str_t str;
    int first = 1, rc;
    if (js->p >= js->end)
        return s_fail(js, "unexpected end of line");
    switch (*js->p) {
    case '"':
        return s_string(js, &str);
    case '{':
    case '[': {
        char close = *js->p == '{' ? '}' : ']';
        if (depth >= S_MAX_DEPTH)
            return s_fail(js, "nested too deep");
        js->p++;
        while ((rc = s_item(js, close, &first)) == 1)
            if ((close == '}' && s_key(js, &str) < 0) || s_value(js, depth + 1) < 0)
                return -1;
        return rc;
    }
    case 't':
        return s_literal(js, "true", 4);
    case 'f':
        return s_literal(js, "false", 5);
    case 'n':
        return s_literal(js, "null", 4);
    default:
        if (*js->p == '-' || (*js->p >= '0' && *js->p <= '9'))
            return s_number(js);
        return s_fail(js, "unexpected character");
    }
}

/*  Scans one whole line as a JSON object and notes the wanted values in *rec. A wanted
 *  string holding another type (a number for "doi") counts as absent; a repeated key's
 *  last value wins. -1 with js->error when the line is not one JSON object. */
static int s_record(s_json_t *js, s_record_t *rec)
{
    int first = 1, rc;
    s_str_t key;
    memset(rec, 0, sizeof *rec);
    s_ws(js);
    if (js->p >= js->end || *js->p != '{')
        return s_fail(js, "not a JSON object");
    js->p++;
    while ((rc = s_item(js, '}', &first)) == 1) {
        if (s_key(js, &key) < 0)
            return -1;
        size_t f = 0, n_fields = sizeof s_fields / sizeof *s_fields;
        while (f < n_fields && (key.escaped || key.n != s_fields[f].len ||
                                memcmp(key.p, s_fields[f].name, key.n) != 0))
            f++;
        char *slot = f < n_fields ? (char *) rec + s_fields[f].offset : NULL;
        const char *value = js->p;
        if (slot && !s_fields[f].raw && js->p < js->end && *js->p == '"') {
            if (s_string(js, (s_str_t *) slot) < 0)
                return -1;
            continue;
        }
        if (s_value(js, 1) < 0)
            return -1;
        if (slot && s_fields[f].raw)
            *(s_raw_t *) slot = (s_raw_t) {value, (size_t) (js->p - value)};
        else if (slot)
            memset(slot, 0, sizeof(s_str_t));
    }
    if (rc < 0)
        return -1;
    s_ws(js);
    return js->p == js->end ? 0 : s_fail(js, "characters after the object");
}

/* ---- decoding ------------------------------------------------------------------------- */

static size_t s_utf8_put(char *o, unsigned long cp)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (n == 1) {
        o[0] = (char) cp;
        return 1;
    }
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        o[i] = (char) (0x80 | (cp & 0x3f));
    o[0] = (char) (lead[n] | cp);
    return n;
}

/*  Decodes the (scanned, so valid) JSON string s into dst, which has room for s->n + 1
 *  bytes: decoding never makes a string longer. NUL-terminates; returns the length.
 *  \u0000 and unpaired surrogates become U+FFFD, so the result is clean UTF-8. */
static size_t s_decode(const s_str_t *s, char *dst)
{
    const char *p = s->p, *end = s->p + s->n;
    char *o = dst;
    while (p < end) {
        const char *bs = s->escaped ? memchr(p, '\\', (size_t) (end - p)) : NULL;
        size_t run = (size_t) ((bs ? bs : end) - p);
        memcpy(o, p, run);
        o += run;
        p += run;
        if (!bs)
            break;
        char e = p[1];
        p += 2;
        if (e != 'u') {
            *o++ = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                 : e == 't' ? '\t' : e;                         /* " \ / as themselves */
            continue;
        }
        long cp = s_hex4(p), lo;
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
            (lo = s_hex4(p + 2)) >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }
        if (cp <= 0 || (cp >= 0xd800 && cp <= 0xdfff))
            cp = 0xfffd;
        o += s_utf8_put(o, (unsigned long) cp);
    }
    *o = '\0';
    return (size_t) (o - dst);
}

/*  The result of ax_text_fold (runs of ASCII whitespace -> one space, ends trimmed; the
 *  unit test checks that they agree on real and random text), but fast: ax_text_fold was
 *  40 % of the reader's time. Words of 8 bytes with no control byte and no two spaces in
 *  a row (most of them) are copied whole, the rest byte by byte. Caller frees; NULL on OOM. */
static char *s_text_fold(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    unsigned prev = 1;                              /* leading whitespace vanishes */
    while (i < len) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        const uint64_t ones = 0x0101010101010101ull, low7 = 0x7f7f7f7f7f7f7f7full;
        if (len - i >= 8) {
            uint64_t x, y, sp, ctl;
            memcpy(&x, s + i, 8);
            y = x ^ (ones * ' ');
            sp = ~(((y & low7) + low7) | y | low7);             /* 0x80 on each ' ' */
            ctl = ~(((x & low7) + ones * 0x60) | x | low7);     /* 0x80 on each < 0x20 */
            if (!(ctl | (sp & (sp << 8 | (uint64_t) prev << 7)))) {
                memcpy(out + o, &x, 8);
                o += 8;
                i += 8;
                prev = (unsigned) (sp >> 63);
                continue;
            }
        }
#endif
        for (size_t stop = len - i > 8 ? i + 8 : len; i < stop; i++) {
            unsigned space = s_space[(unsigned char) s[i]];
            out[o] = space ? ' ' : s[i];
            o += !(space & prev);
            prev = space;
        }
    }
    if (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return out;
}

/*  Folded copy of an optional string into *dst: NULL when absent or blank. -1 on OOM. */
static int s_fold(ax_snapshot_t *self, const s_str_t *s, char **dst)
{
    *dst = NULL;
    if (!s->p)
        return 0;
    char *v = s_text_fold(self->scratch, s_decode(s, self->scratch));
    if (!v)
        return -1;
    if (*v)
        *dst = v;
    else
        free(v);
    return 0;
}

/*  Unix seconds of a version's "created" date, 0 when absent or unreadable. */
static int64_t s_time(const s_str_t *s)
{
    char buf[64];
    int64_t t;
    if (!s->p || s->n >= sizeof buf)
        return 0;
    s_decode(s, buf);
    return ax_time_parse(buf, &t) == 0 ? t : 0;
}

/*  Appends s to the growing array *v (n used, cap allocated); frees s on failure. */
static int s_push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        char **nv = realloc(*v, c * sizeof *nv);
        if (!nv) {
            free(s);
            return -1;
        }
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = s;
    return 0;
}

/*  Adds the folded name s[0..len) to out->authors unless it is blank. -2 on OOM. */
static int s_add_author(ax_paper_t *out, size_t *cap, const char *s, size_t len)
{
    char *name = s_text_fold(s, len);
    if (!name)
        return -2;
    if (!*name) {
        free(name);
        return 0;
    }
    return s_push(&out->authors, &out->n_authors, cap, name) < 0 ? -2 : 0;
}

/* ---- filter --------------------------------------------------------------------------- */

static int s_cat_match(const char *f, size_t fl, int archive, const char *t, size_t tl)
{
    if (tl == fl)
        return memcmp(f, t, fl) == 0;
    return archive && tl > fl && t[fl] == '.' && memcmp(f, t, fl) == 0;
}

/*  Next whitespace-separated word of [*p, end) into *word, its length returned (0: none
 *  left); *p moves past it. */
static size_t s_word(const char **p, const char *end, const char **word)
{
    while (*p < end && s_space[(unsigned char) **p])
        (*p)++;
    *word = *p;
    while (*p < end && !s_space[(unsigned char) **p])
        (*p)++;
    return (size_t) (*p - *word);
}

/*  1 when one of the space-separated categories in s[0..n) passes the category filter. */
static int s_cats_pass(const ax_snapshot_t *self, const char *s, size_t n)
{
    const char *p = s, *t;
    size_t tl;
    if (self->n_cats == 0)
        return 1;
    while ((tl = s_word(&p, s + n, &t)) > 0)
        for (size_t i = 0; i < self->n_cats; i++)
            if (s_cat_match(self->cats[i].name, self->cats[i].len, self->cats[i].archive, t, tl))
                return 1;
    return 0;
}

/*  1 when v1's creation time t (0 = unknown) passes the date filter. */
static int s_date_pass(const ax_snapshot_t *self, int64_t t)
{
    if (!self->from && !self->to)
        return 1;
    return t != 0 && (!self->from || t >= self->from) && (!self->to || t <= self->to);
}

int ax_snapshot_filter_categories(const ax_snapshot_filter_t *filter, char *const *categories,
                                  size_t n_categories)
{
    if (!filter || filter->n_categories == 0)
        return 1;
    for (size_t i = 0; i < n_categories; i++)
        for (size_t j = 0; j < filter->n_categories; j++) {
            const char *f = filter->categories[j];
            if (s_cat_match(f, strlen(f), !strchr(f, '.'), categories[i], strlen(categories[i])))
                return 1;
        }
    return 0;
}

/*  The raw string value after key in line, where the snapshot's compact layout puts it:
 *  right after a ',' or '{' (so the match cannot sit inside a string) and without escapes.
 *  0 when not found that way. */
static int s_raw_value(const char *line, size_t len, const char *key, size_t key_len, s_str_t *v)
{
    const char *k = memmem(line, len, key, key_len), *q;
    if (!k || k == line || (k[-1] != ',' && k[-1] != '{'))
        return 0;
    v->p = k + key_len;
    q = memchr(v->p, '"', (size_t) (line + len - v->p));
    if (!q || memchr(v->p, '\\', (size_t) (q - v->p)))
        return 0;
    v->n = (size_t) (q - v->p);
    v->escaped = 0;
    return 1;
}

/*  1 when the filter surely drops this raw line, 0 when it must be parsed. Anything
 *  unusual is left to the full parse; a malformed line dropped here counts as filtered. */
static int s_precheck_drop(const ax_snapshot_t *self, const char *line, size_t len)
{
    static const char cat_key[] = "\"categories\":\"";
    static const char v1_key[] = "\"versions\":[{\"version\":\"v1\",\"created\":\"";
    s_str_t v;
    if (self->n_cats && s_raw_value(line, len, cat_key, sizeof cat_key - 1, &v) &&
        !s_cats_pass(self, v.p, v.n))
        return 1;
    if ((self->from || self->to) && s_raw_value(line, len, v1_key, sizeof v1_key - 1, &v)) {
        int64_t t = s_time(&v);
        return t && !s_date_pass(self, t);
    }
    return 0;
}

/* ---- record -> paper ------------------------------------------------------------------ */

/*  Walks the "versions" array: counts its entries and finds the "created" strings of the
 *  first (v1) and the last. -1 when it is not an array of objects. */
static int s_versions(const s_raw_t *raw, int *count, s_str_t *v1, s_str_t *last)
{
    s_json_t js = {raw->p, raw->p + raw->n, raw->p, NULL, 0};
    int first = 1, rc;
    *count = 0;
    if (*js.p++ != '[')
        return -1;
    while ((rc = s_item(&js, ']', &first)) == 1) {
        s_str_t created = {0}, key;
        int ofirst = 1, orc;
        if (*js.p++ != '{')
            return -1;
        while ((orc = s_item(&js, '}', &ofirst)) == 1) {
            if (s_key(&js, &key) < 0)
                return -1;
            int want = !key.escaped && key.n == 7 && memcmp(key.p, "created", 7) == 0;
            if (want && js.p < js.end && *js.p == '"' ? s_string(&js, &created) < 0
                                                       : s_value(&js, 1) < 0)
                return -1;
        }
        if (orc < 0)
            return -1;
        if ((*count)++ == 0)
            *v1 = created;
        *last = created;
    }
    return rc;
}

/*  Authors from "authors_parsed" ([[last, first, suffix(, affiliation)], ...]) as
 *  "First Last Suffix", folded, the affiliation left out. -1 when it is not an array of
 *  arrays of strings or nulls (the caller then uses "authors"), -2 on OOM. */
static int s_authors_parsed(ax_snapshot_t *self, const s_raw_t *raw, ax_paper_t *out)
{
    static const int order[] = {1, 0, 2};          /* first, last, suffix */
    s_json_t js = {raw->p, raw->p + raw->n, raw->p, NULL, 0};
    int first = 1, rc;
    size_t cap = 0;
    if (*js.p++ != '[')
        return -1;
    while ((rc = s_item(&js, ']', &first)) == 1) {
        s_str_t part[3];
        size_t n_part = 0;
        int ifirst = 1, irc;
        memset(part, 0, sizeof part);
        if (*js.p++ != '[')
            return -1;
        while ((irc = s_item(&js, ']', &ifirst)) == 1) {
            s_str_t s = {0};
            if (*js.p == '"' ? s_string(&js, &s) < 0 : s_literal(&js, "null", 4) < 0)
                return -1;
            if (n_part < 3)
                part[n_part++] = s;
        }
        if (irc < 0)
            return -1;
        char *o = self->scratch;
        for (size_t i = 0; i < 3; i++)
            if (part[order[i]].p) {
                o += s_decode(&part[order[i]], o);
                *o++ = ' ';
            }
        if (s_add_author(out, &cap, self->scratch, (size_t) (o - self->scratch)) < 0)
            return -2;
    }
    return rc;
}

/*  Authors from the "authors" string, split on "," and " and ". -2 on OOM. */
static int s_authors_string(ax_snapshot_t *self, const s_str_t *s, ax_paper_t *out)
{
    size_t cap = 0, len = s_decode(s, self->scratch);
    const char *p = self->scratch, *end = p + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t) (end - p));
        const char *stop = comma ? comma : end;
        const char *and = memmem(p, (size_t) (stop - p), " and ", 5);
        if (and)
            stop = and;
        if (s_add_author(out, &cap, p, (size_t) (stop - p)) < 0)
            return -2;
        if (stop == end)
            break;
        p = stop + (stop == and ? 5 : 1);
    }
    return 0;
}

/*  Space-separated categories s[0..n) into out->categories. -1 on OOM. */
static int s_categories(const char *s, size_t n, ax_paper_t *out)
{
    const char *p = s, *t;
    size_t cap = 0, tl;
    while ((tl = s_word(&p, s + n, &t)) > 0) {
        char *c = strndup(t, tl);
        if (!c || s_push(&out->categories, &out->n_categories, &cap, c) < 0)
            return -1;
    }
    return 0;
}

/*  Turns a scanned record into *out, filtering before the costly fields are decoded.
 *  S_PAPER, S_FILTERED, S_MALFORMED (*why says why) or S_NOMEM; on anything but S_PAPER
 *  the caller clears *out. */
static int s_build(ax_snapshot_t *self, const s_record_t *rec, ax_paper_t *out, const char **why)
{
    char *scratch = self->scratch;
    int id_version = 0, count = 0;
    s_str_t v1, last;
    *why = !rec->id.p ? "missing id" : !rec->title.p ? "missing title" : NULL;
    if (*why)
        return S_MALFORMED;
    s_decode(&rec->id, scratch);
    if (ax_arxiv_id_split(scratch, &out->id, &id_version) < 0) {
        *why = "bad id";
        return S_MALFORMED;
    }
    size_t n = rec->categories.p ? s_decode(&rec->categories, scratch) : 0;
    if (!s_cats_pass(self, scratch, n))
        return S_FILTERED;
    if (s_categories(scratch, n, out) < 0)
        return S_NOMEM;
    if (rec->versions.p && s_versions(&rec->versions, &count, &v1, &last) == 0 && count) {
        out->submitted = s_time(&v1);
        out->updated = v1.p && last.p && last.n == v1.n && memcmp(last.p, v1.p, v1.n) == 0
                           ? out->submitted : s_time(&last);
    }
    out->version = count ? count : id_version;
    if (!s_date_pass(self, out->submitted))
        return S_FILTERED;

    if (s_fold(self, &rec->title, &out->title) < 0)
        return S_NOMEM;
    if (!out->title) {
        *why = "empty title";
        return S_MALFORMED;
    }
    int rc = rec->authors_parsed.p ? s_authors_parsed(self, &rec->authors_parsed, out) : -1;
    if (rc == -1) {
        ax_strv_free(&out->authors, out->n_authors);
        out->n_authors = 0;
        rc = rec->authors.p ? s_authors_string(self, &rec->authors, out) : 0;
    }
    if (rc < 0 || s_fold(self, &rec->abstract, &out->abstract) < 0 ||
        s_fold(self, &rec->comments, &out->comments) < 0 ||
        s_fold(self, &rec->journal_ref, &out->journal_ref) < 0 ||
        s_fold(self, &rec->doi, &out->doi) < 0)
        return S_NOMEM;
    return S_PAPER;
}

/*  One non-blank line (without its newline) into *out; see s_build for the result. */
static int s_parse_line(ax_snapshot_t *self, const char *line, size_t len, ax_paper_t *out,
                        char *why, size_t why_size)
{
    if (s_precheck_drop(self, line, len))
        return S_FILTERED;
    if (self->scratch_cap < len + 16) {
        size_t cap = len + 16 > 2 * self->scratch_cap ? len + 16 : 2 * self->scratch_cap;
        char *scratch = realloc(self->scratch, cap);
        if (!scratch)
            return S_NOMEM;
        self->scratch = scratch;
        self->scratch_cap = cap;
    }
    s_json_t js = {line, line + len, line, NULL, 0};
    s_record_t rec;
    if (s_record(&js, &rec) < 0) {
        snprintf(why, why_size, "%s at byte %zu", js.error, js.at + 1);
        return S_MALFORMED;
    }
    const char *what = NULL;
    int rc = s_build(self, &rec, out, &what);
    if (rc == S_MALFORMED)
        snprintf(why, why_size, "%s", what);
    return rc;
}

/* ---- reader --------------------------------------------------------------------------- */

static void s_set_error(ax_snapshot_t *self, const char *what, int errnum)
{
    snprintf(self->error, sizeof self->error, "snapshot %s: %s%s%s", self->path, what,
             errnum ? ": " : "", errnum ? strerror(errnum) : "");
}

ax_snapshot_t *ax_snapshot_open(const char *path, const ax_snapshot_filter_t *filter, char **err)
{
    struct stat st;
    const char *why = "out of memory";
    int errnum = 0;
    *err = NULL;
    ax_snapshot_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path)))
        goto fail;
    self->next_line = 1;
    if (filter) {
        self->from = filter->from;
        self->to = filter->to;
        if (filter->n_categories &&
            !(self->cats = calloc(filter->n_categories, sizeof *self->cats)))
            goto fail;
        for (size_t i = 0; i < filter->n_categories; i++) {
            s_cat_t *c = &self->cats[self->n_cats];
            if (!filter->categories[i] || !*filter->categories[i])
                continue;
            if (!(c->name = strdup(filter->categories[i])))
                goto fail;
            c->len = strlen(c->name);
            c->archive = strchr(c->name, '.') == NULL;
            self->n_cats++;
        }
    }
    if (!(self->fp = fopen(path, "rb"))) {
        why = "cannot open";
        errnum = errno;
        goto fail;
    }
    if (fstat(fileno(self->fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        why = "is a directory";
        goto fail;
    }
    /* Only a speed-up: on failure stdio keeps its default buffer. */
    (void) setvbuf(self->fp, NULL, _IOFBF, S_IO_BUFFER);
    return self;
fail:
    if (asprintf(err, "snapshot %s: %s%s%s", path, why, errnum ? ": " : "",
                 errnum ? strerror(errnum) : "") < 0)
        *err = NULL;
    ax_snapshot_destroy(&self);
    return NULL;
}

void ax_snapshot_destroy(ax_snapshot_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ax_snapshot_t *self = *self_p;
    if (self->fp)
        fclose(self->fp);
    for (size_t i = 0; i < self->n_cats; i++)
        free(self->cats[i].name);
    free(self->cats);
    free(self->line);
    free(self->scratch);
    free(self->path);
    free(self);
    *self_p = NULL;
}

int ax_snapshot_next(ax_snapshot_t *self, ax_paper_t *out)
{
    memset(out, 0, sizeof *out);
    for (;;) {
        errno = 0;
        ssize_t got = getline(&self->line, &self->line_cap, self->fp);
        if (got < 0) {
            if (feof(self->fp) && !ferror(self->fp))
                return 0;
            s_set_error(self, "read failed", errno ? errno : EIO);
            return -1;
        }
        uint64_t line_no = self->next_line++;
        self->offset += (uint64_t) got;
        self->stats.lines++;
        size_t len = (size_t) got, lead = 0;
        while (len && (self->line[len - 1] == '\n' || self->line[len - 1] == '\r'))
            len--;
        while (lead < len && s_space[(unsigned char) self->line[lead]])
            lead++;
        if (lead == len)
            continue;                               /* blank line */
        char why[160];
        int rc = s_parse_line(self, self->line, len, out, why, sizeof why);
        if (rc == S_PAPER) {
            self->stats.papers++;
            return 1;
        }
        ax_paper_clear(out);
        if (rc == S_NOMEM) {
            s_set_error(self, "out of memory", 0);
            return -1;
        }
        if (rc == S_FILTERED) {
            self->stats.filtered++;
        } else {
            self->stats.malformed++;
            ax_log_warn("snapshot: malformed line skipped|file=%s line=%llu reason=\"%s\"",
                        self->path, (unsigned long long) line_no, why);
        }
    }
}

void ax_snapshot_tell(const ax_snapshot_t *self, uint64_t *offset, uint64_t *line)
{
    *offset = self->offset;
    *line = self->next_line;
}

int ax_snapshot_seek(ax_snapshot_t *self, uint64_t offset, uint64_t line)
{
    if (offset > (uint64_t) INT64_MAX || fseeko(self->fp, (off_t) offset, SEEK_SET) != 0) {
        s_set_error(self, "cannot seek", errno);
        return -1;
    }
    self->offset = offset;
    self->next_line = line ? line : 1;
    return 0;
}

const ax_snapshot_stats_t *ax_snapshot_stats(const ax_snapshot_t *self)
{
    return &self->stats;
}

const char *ax_snapshot_error(const ax_snapshot_t *self)
{
    return self->error;
}
