/*  text.c: whitespace folding, arXiv id splitting and time parsing (see text.h). */
#define _GNU_SOURCE
#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int s_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *ax_text_fold(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    int pending_space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (s_is_space(c)) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space)
            out[o++] = ' ';
        pending_space = 0;
        out[o++] = (char) c;
    }
    out[o] = '\0';
    return out;
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
    while (len && s_is_space((unsigned char) s[len - 1]))
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
        ok = a > 0 && id_len - a - 1 == 7;
        for (size_t i = 0; ok && i < a; i++)
            ok = isalpha((unsigned char) s[i]) || s[i] == '-' || s[i] == '.';
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

int ax_time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;
    while (s && s_is_space((unsigned char) *s))
        s++;
    if (!s || !*s)
        return -1;
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
