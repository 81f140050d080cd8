/*  text.c: whitespace folding, arXiv id splitting and time parsing (see text.h). */
#define _GNU_SOURCE
#include "text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Folding is on the snapshot reader's path (every title, abstract and author of ~2.5 M
 *  papers), where a byte-by-byte loop was 40 % of the reader's time. So 8-byte words with
 *  no control byte and no space right after a space (most words of prose) are copied
 *  whole; the rest goes byte by byte. A control byte sends its word to the byte loop,
 *  which folds the whitespace ones ('\t'..'\r') and keeps the others. */
size_t ax_text_fold_to(char *dst, const char *s, size_t len)
{
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
                memcpy(dst + o, &x, 8);         /* o <= i: in place is safe, x is read */
                o += 8;
                i += 8;
                prev = (unsigned) (sp >> 63);
                continue;
            }
        }
#endif
        for (size_t stop = len - i > 8 ? i + 8 : len; i < stop; i++) {
            unsigned space = (unsigned) ax_is_space((unsigned char) s[i]);
            dst[o] = space ? ' ' : s[i];
            o += !(space & prev);
            prev = space;
        }
    }
    if (o && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
    return o;
}

char *ax_text_fold(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out)
        ax_text_fold_to(out, s, len);
    return out;
}

/*  One UTF-8 sequence checked and decoded (text.h). */
size_t ax_utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    size_t n;
    uint32_t c = p[0], min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, c &= 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, c &= 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
    if ((size_t) (end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/*  The archive of an old-style id, s[0..n): lower-case words joined by single hyphens,
 *  then optionally a dot and a two-letter subject class ("hep-th", "cond-mat", "math.AG").
 *  So no ".", ".." or empty part can reach a path or a link built from the id. */
static bool s_archive_ok(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t word = i;
        while (i < n && s[i] >= 'a' && s[i] <= 'z')
            i++;
        if (i == word)
            return false;                   /* an empty word: "", "-x", "x--y", "." */
        if (i == n || s[i] != '-')
            break;
        i++;
    }
    return i == n || (s[i] == '.' && n - i == 3 && s[i + 1] >= 'A' && s[i + 1] <= 'Z' && s[i + 2] >= 'A'
                      && s[i + 2] <= 'Z');
}

int ax_arxiv_id_split(const char *s, char **id, int *version)
{
    static const char *prefixes[] = {"http://arxiv.org/abs/", "https://arxiv.org/abs/",
                                     "http://export.arxiv.org/abs/", "oai:arXiv.org:",
                                     "arXiv:", "arxiv:"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(s, prefixes[i], n) == 0) {
            s += n;
            break;
        }
    }
    size_t len = strlen(s);
    while (len && ax_is_space((unsigned char) s[len - 1]))
        len--;
    /* A trailing vN is the version. */
    size_t end = len;
    while (end > 0 && isdigit((unsigned char) s[end - 1]))
        end--;
    int ver = 0;
    size_t id_len = len;
    if (end > 1 && end < len && s[end - 1] == 'v' && isdigit((unsigned char) s[end - 2])) {
        ver = atoi(s + end);
        id_len = end - 1;
    }
    /* New style: YYMM.NNNN(N); old style: archive(.SUB)/YYMMNNN. */
    const char *slash = memchr(s, '/', id_len);
    int ok = id_len >= 9;
    if (ok && !slash) {
        ok = isdigit((unsigned char) s[0]) && id_len <= 10 && s[4] == '.';
        for (size_t i = 0; ok && i < id_len; i++)
            ok = i == 4 || isdigit((unsigned char) s[i]);
    } else if (ok) {
        size_t a = (size_t) (slash - s);
        ok = s_archive_ok(s, a) && id_len - a - 1 == 7;
        for (size_t i = a + 1; ok && i < id_len; i++)
            ok = isdigit((unsigned char) s[i]);
    }
    if (!ok)
        return -1;
    *id = strndup(s, id_len);
    if (!*id)
        return -1;
    *version = ver;
    return 0;
}

/*  Days from 1970-01-01 to y-m-1 (proleptic Gregorian, as timegm), plus d - 1: a day past
 *  the month's end runs on into the next month, as timegm normalises it. */
static int64_t s_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                        /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;      /* from 1 March */
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int s_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*  Value of the two digits at s, -1 when they are not two digits (s[0] is checked first,
 *  so this never reads past a NUL). */
static int s_2digits(const char *s)
{
    return s_digit(s[0]) && s_digit(s[1]) ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

/*  Fast path for the form every arXiv date has, "Mon, 2 Apr 2007 19:18:42 GMT": strptime
 *  was ~14 % of the snapshot reader's time. Takes only the exact form (day and month
 *  names as written here, single spaces, 1- or 2-digit day, 4-digit year, 2-digit time
 *  fields in range), which strptime's "%a, %d %b %Y %H:%M:%S" reads the same way; what
 *  follows the seconds is ignored, as there. The day name is not checked against the
 *  date, as strptime does not. -1 for anything else, strptime then decides. */
static int s_rfc2822(const char *s, int64_t *out)
{
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int wday = -1, month = -1;
    if (!s[0] || !s[1] || !s[2] || s[3] != ',' || s[4] != ' ')
        return -1;
    for (int i = 0; i < 7 && wday < 0; i++)
        if (memcmp(s, days + 3 * i, 3) == 0)
            wday = i;
    s += 5;
    if (wday < 0 || !s_digit(s[0]))
        return -1;
    int two = s_digit(s[1]);
    int day = two ? s_2digits(s) : s[0] - '0';
    s += 1 + two;
    if (day < 1 || day > 31 || s[0] != ' ' || !s[1] || !s[2] || !s[3] || s[4] != ' ')
        return -1;
    for (int i = 0; i < 12 && month < 0; i++)
        if (memcmp(s + 1, months + 3 * i, 3) == 0)
            month = i + 1;
    s += 5;
    int hi = s_2digits(s), lo = hi < 0 ? -1 : s_2digits(s + 2);
    if (month < 0 || lo < 0 || s[4] != ' ')
        return -1;
    int year = hi * 100 + lo;
    int hour = s_2digits(s + 5);
    if (hour < 0 || hour > 23 || s[7] != ':')
        return -1;
    int min = s_2digits(s + 8);
    if (min < 0 || min > 59 || s[10] != ':')
        return -1;
    int sec = s_2digits(s + 11);
    if (sec < 0 || sec > 59)
        return -1;
    int64_t t = s_days(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
    if (t == -1)                                        /* timegm's error value: see below */
        return -1;
    *out = t;
    return 0;
}

/*  Leading whitespace is skipped; what follows a parsed date is ignored. A time that comes
 *  out as -1 (1969-12-31 23:59:59) is refused, since timegm's -1 also means "error". */
int ax_time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;
    while (s && ax_is_space((unsigned char) *s))
        s++;
    if (!s || !*s)
        return -1;
    if (s_rfc2822(s, out) == 0)
        return 0;
    memset(&tm, 0, sizeof tm);
    if ((end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm)) != NULL ||
        (memset(&tm, 0, sizeof tm), (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL) ||
        (memset(&tm, 0, sizeof tm), (end = strptime(s, "%Y-%m-%d", &tm)) != NULL)) {
        time_t t = timegm(&tm);
        if (t == (time_t) -1)
            return -1;
        *out = (int64_t) t;
        return 0;
    }
    return -1;
}

char *ax_time_format(int64_t t, const char *fmt, char *buf, size_t size)
{
    time_t tt = (time_t) t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, size, fmt, &tm) == 0) {
        if (size)
            buf[0] = '\0';
    }
    return buf;
}

void ax_set_error(char **err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        *err = NULL;
    va_end(ap);
}

int64_t ax_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ax_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
