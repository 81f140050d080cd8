/*  log.c: structured log lines on stderr (see log.h).
 *
 *  What goes into a line comes from peers, files and the network as often as from us (a
 *  worker's name, a profile, an arXiv id, an error text), so every value is escaped here,
 *  where the line is made, and no caller can forget it: fmt is walked conversion by
 *  conversion, its literal text is kept (it is ours) and each conversion is formatted on
 *  its own and escaped for the place it lands in. One line per event, always: a newline,
 *  an ANSI escape or a forged `key=value` in a value stays inside that value.
 *
 *  Escapes: `\\`, `\n`, `\r`, `\t`, `\xNN` for other control bytes, DEL and bytes that are
 *  not UTF-8, `\uNNNN` for the C1 controls, line separators and bidi overrides, `\"` for a
 *  quote. A bare value (`worker=%s`) with a space or a quote is quoted whole
 *  (`worker="a b"`); a space inside a longer bare token (`at=%s:%d`) becomes `\x20`.
 */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "text.h"

#define S_LINE 2048                 /* bytes of the message, and of the key=value part */

static const char *s_component = "arxdigest";
static ax_log_level_t s_level = AX_LOG_INFO;
static const char *s_names[] = {"debug", "info", "warn", "error"};

/*  Where a piece of text lands. */
typedef enum {
    S_MSG,                          /* inside msg="..." */
    S_QUOTED,                       /* inside a "..." of the key=value part */
    S_BARE,                         /* part of an unquoted token of the key=value part */
} s_where_t;

/*  A buffer being filled; `end` keeps a byte for the NUL. */
typedef struct {
    char *p, *end;
    bool full;                      /* a piece did not fit: nothing more goes in */
} s_out_t;

/*  The arguments, in a struct so that helpers can consume them. */
typedef struct {
    va_list ap;
} s_args_t;

void ax_log_init(const char *component)
{
    s_component = component;
    const char *env = getenv("AX_LOG_LEVEL");
    for (int i = 0; env && i < 4; i++)
        if (strcasecmp(env, s_names[i]) == 0)
            s_level = (ax_log_level_t) i;
}

void ax_log_set_level(ax_log_level_t level)
{
    s_level = level;
}

/*  Appends s[0..n) whole, or nothing and marks o full: an escape or a UTF-8 sequence is
 *  never cut. */
static void s_put(s_out_t *o, const char *s, size_t n)
{
    if (o->full || (size_t) (o->end - o->p) < n) {
        o->full = true;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

/*  True for code points a terminal or viewer acts on: C1 controls, line and paragraph
 *  separators, bidi embeddings, overrides and isolates. */
static bool s_special(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E)
           || (cp >= 0x2066 && cp <= 0x2069);
}

/*  Appends s[0..n) escaped for where (see the top of the file). */
static void s_escape(s_out_t *o, const char *s, size_t n, s_where_t where)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + n;
    char esc[16];
    while (p < end && !o->full) {
        uint32_t cp;
        size_t len = ax_utf8_decode(p, end, &cp);
        const char *e = NULL;
        if (*p == '\\')
            e = "\\\\";
        else if (*p == '\n')
            e = "\\n";
        else if (*p == '\r')
            e = "\\r";
        else if (*p == '\t')
            e = "\\t";
        else if (*p == '"')
            e = "\\\"";
        else if (*p == ' ' && where == S_BARE)
            e = "\\x20";
        else if (len == 0 || *p < 0x20 || *p == 0x7F)
            snprintf(esc, sizeof esc, "\\x%02x", *p), e = esc, len = 1;
        else if (s_special(cp))
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned) cp), e = esc;
        if (e)
            s_put(o, e, strlen(e));
        else
            s_put(o, (const char *) p, len);
        p += len ? len : 1;
    }
}

/*  Appends a formatted value. A bare value that is a whole token (after `=`, before a
 *  space or the end) and holds a space or a quote is quoted instead of escaped. */
static void s_value(s_out_t *o, const char *v, s_where_t where, bool whole)
{
    if (where == S_BARE && whole && v[strcspn(v, " \"")]) {
        s_put(o, "\"", 1);
        s_escape(o, v, strlen(v), S_QUOTED);
        s_put(o, "\"", 1);
    } else
        s_escape(o, v, strlen(v), where);
}

/*  Formats the conversion that starts at p (a '%') with its arguments into out; returns
 *  what follows it, or NULL for a conversion this module does not take (%n, or not one). */
static const char *s_convert(const char *p, s_args_t *a, char *out, size_t size)
{
    char spec[48] = "%";
    size_t n = 1;
    const char *q = p + 1;
    while (*q && strchr("-+ #0'", *q) && n < 8)
        spec[n++] = *q++;
    if (*q == '*')
        n += (size_t) snprintf(spec + n, 16, "%d", va_arg(a->ap, int)), q++;
    while (*q >= '0' && *q <= '9' && n < 20)
        spec[n++] = *q++;
    if (*q == '.' && q[1] == '*') {
        int prec = va_arg(a->ap, int);
        if (prec >= 0)
            n += (size_t) snprintf(spec + n, 16, ".%d", prec);
        q += 2;
    } else if (*q == '.')
        for (spec[n++] = *q++; *q >= '0' && *q <= '9' && n < 36;)
            spec[n++] = *q++;
    const char *len = q;
    while (*q && strchr("hlzjtL", *q) && q - len < 2)
        spec[n++] = *q++;
    char conv = *q;
    spec[n++] = conv;
    spec[n] = '\0';
    bool l = q - len == 1 && *len == 'l', ll = q - len == 2 || *len == 'L';
    char m = q - len == 1 ? *len : 0;   /* a one-letter length: z, j, t */
#define S_FMT(type) snprintf(out, size, spec, va_arg(a->ap, type))
    switch (conv) {
    case 'd': case 'i':
        m == 'z' ? S_FMT(ssize_t) : m == 'j' ? S_FMT(intmax_t) : m == 't' ? S_FMT(ptrdiff_t)
            : ll ? S_FMT(long long) : l ? S_FMT(long) : S_FMT(int);
        break;
    case 'u': case 'o': case 'x': case 'X':
        m == 'z' ? S_FMT(size_t) : m == 'j' ? S_FMT(uintmax_t) : m == 't' ? S_FMT(ptrdiff_t)
            : ll ? S_FMT(unsigned long long) : l ? S_FMT(unsigned long) : S_FMT(unsigned);
        break;
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
        *len == 'L' ? S_FMT(long double) : S_FMT(double);
        break;
    case 'c':
        S_FMT(int);
        break;
    case 'p':
        S_FMT(void *);
        break;
    case 's': {
        const char *s = va_arg(a->ap, const char *);
        snprintf(out, size, spec, s ? s : "(null)");
        break;
    }
    default:
        return NULL;
    }
#undef S_FMT
    return q + 1;
}

/*  Walks fmt: its text up to the first '|' is the message, the rest the key=value part;
 *  literal text is kept, each conversion escaped for where it lands. */
static void s_format(s_out_t *msg, s_out_t *kv, const char *fmt, s_args_t *a)
{
    s_out_t *o = msg;
    bool quoted = false;            /* inside "..." of the key=value part's own text */
    char value[S_LINE];
    for (const char *p = fmt; *p;) {
        if (*p == '%' && p[1] != '%') {
            const char *next = s_convert(p, a, value, sizeof value);
            if (!next)
                return;             /* the arguments can no longer be told apart */
            s_where_t where = o == msg ? S_MSG : quoted ? S_QUOTED : S_BARE;
            s_value(o, value, where, p > fmt && p[-1] == '=' && (*next == ' ' || !*next));
            p = next;
            continue;
        }
        char c = *p;
        p += *p == '%' ? 2 : 1;
        if (c == '|' && o == msg)
            o = kv;
        else if (o == msg)
            s_escape(o, &c, 1, S_MSG);
        else {
            quoted ^= c == '"';
            s_put(o, &c, 1);
        }
    }
}

void ax_log(ax_log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    char msg[S_LINE], kv[S_LINE];
    s_out_t m = {msg, msg + sizeof msg - 1, false}, k = {kv, kv + sizeof kv - 1, false};
    s_args_t a;
    va_start(a.ap, fmt);
    s_format(&m, &k, fmt, &a);
    va_end(a.ap);
    *m.p = '\0';
    *k.p = '\0';
    int64_t now = ax_now_ms();
    char ts[32];
    ax_time_format(now / 1000, "%Y-%m-%dT%H:%M:%S", ts, sizeof ts);
    /* One fprintf: lines of concurrent processes do not interleave. */
    fprintf(stderr, "%s.%03dZ level=%s comp=%s msg=\"%s\"%s%s\n", ts, (int) (now % 1000), s_names[level],
            s_component, msg, *kv ? " " : "", kv);
}

int ax_log_quota(ax_log_quota_t *q, int64_t interval_ms, unsigned *skipped)
{
    int64_t now = ax_mono_ms();
    if (now < q->next_ms) {
        q->skipped++;
        return 0;
    }
    *skipped = q->skipped;
    q->skipped = 0;
    q->next_ms = now + interval_ms;
    return 1;
}
