/*  snapshot_json.c: the snapshot reader's strict JSON scanner (see snapshot_json.h).
 *
 *  Why a hand-written scanner: the reader sits on the keyword pipeline's path (>= 50 000
 *  papers/s end to end), and a general JSON library builds a tree of every value of every
 *  line: jansson's json_loadb alone reads ~34 000 of these ~2 KB lines a second. The
 *  records have one fixed shape, so ax_jscan_object() makes one strict pass over the line
 *  (the JSON grammar, UTF-8 checked, nesting limited) that only notes where the wanted
 *  values lie; nothing is decoded or allocated until the record passes the filter. Most of
 *  a line is string bytes, so s_plain() skips the plain ones 16 (SSE2) or 8 at a time.
 */
#include "snapshot_json.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*  Bytes that end the fast path of a string scan. */
static const unsigned char s_stop[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

static int s_fail(ax_jscan_t *js, const char *what)
{
    if (!js->error) {
        js->error = what;
        js->at = (size_t) (js->p - js->start);
    }
    return -1;
}

static void s_ws(ax_jscan_t *js)
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

int ax_jscan_string(ax_jscan_t *js, ax_jscan_str_t *out)
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
static int s_number(ax_jscan_t *js)
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

int ax_jscan_literal(ax_jscan_t *js, const char *word, size_t len)
{
    if ((size_t) (js->end - js->p) < len || memcmp(js->p, word, len) != 0)
        return s_fail(js, "unexpected character");
    js->p += len;
    return 0;
}

int ax_jscan_item(ax_jscan_t *js, char close, int *first)
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

int ax_jscan_key(ax_jscan_t *js, ax_jscan_str_t *key)
{
    if (js->p >= js->end || *js->p != '"')
        return s_fail(js, "expected a key");
    if (ax_jscan_string(js, key) < 0)
        return -1;
    s_ws(js);
    if (js->p >= js->end || *js->p != ':')
        return s_fail(js, "expected ':'");
    js->p++;
    s_ws(js);
    return 0;
}

int ax_jscan_value(ax_jscan_t *js, int depth)
{
    ax_jscan_str_t str;
    int first = 1, rc;
    if (js->p >= js->end)
        return s_fail(js, "unexpected end of line");
    switch (*js->p) {
    case '"':
        return ax_jscan_string(js, &str);
    case '{':
    case '[': {
        char close = *js->p == '{' ? '}' : ']';
        if (depth >= AX_JSCAN_MAX_DEPTH)
            return s_fail(js, "nested too deep");
        js->p++;
        while ((rc = ax_jscan_item(js, close, &first)) == 1)
            if ((close == '}' && ax_jscan_key(js, &str) < 0) || ax_jscan_value(js, depth + 1) < 0)
                return -1;
        return rc;
    }
    case 't':
        return ax_jscan_literal(js, "true", 4);
    case 'f':
        return ax_jscan_literal(js, "false", 5);
    case 'n':
        return ax_jscan_literal(js, "null", 4);
    default:
        if (*js->p == '-' || (*js->p >= '0' && *js->p <= '9'))
            return s_number(js);
        return s_fail(js, "unexpected character");
    }
}

void ax_jscan_init(ax_jscan_t *js, const char *text, size_t len)
{
    *js = (ax_jscan_t) {text, text + len, text, NULL, 0};
}

int ax_jscan_object(ax_jscan_t *js, const ax_jscan_field_t *fields, size_t n_fields,
                    void *rec)
{
    int first = 1, rc;
    ax_jscan_str_t key;
    for (size_t f = 0; f < n_fields; f++)
        memset((char *) rec + fields[f].offset, 0,
               fields[f].raw ? sizeof(ax_jscan_raw_t) : sizeof(ax_jscan_str_t));
    s_ws(js);
    if (js->p >= js->end || *js->p != '{')
        return s_fail(js, "not a JSON object");
    js->p++;
    while ((rc = ax_jscan_item(js, '}', &first)) == 1) {
        if (ax_jscan_key(js, &key) < 0)
            return -1;
        size_t f = 0;
        while (f < n_fields && (key.escaped || key.n != fields[f].len ||
                                memcmp(key.p, fields[f].name, key.n) != 0))
            f++;
        char *slot = f < n_fields ? (char *) rec + fields[f].offset : NULL;
        const char *value = js->p;
        if (slot && !fields[f].raw && js->p < js->end && *js->p == '"') {
            if (ax_jscan_string(js, (ax_jscan_str_t *) slot) < 0)
                return -1;
            continue;
        }
        if (ax_jscan_value(js, 1) < 0)
            return -1;
        if (slot && fields[f].raw)
            *(ax_jscan_raw_t *) slot = (ax_jscan_raw_t) {value, (size_t) (js->p - value)};
        else if (slot)
            memset(slot, 0, sizeof(ax_jscan_str_t));
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

/*  \uXXXX escapes: a pair of surrogates is one code point; \u0000 and an unpaired
 *  surrogate become U+FFFD (see snapshot_json.h). */
size_t ax_jscan_decode(const ax_jscan_str_t *s, char *dst)
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
