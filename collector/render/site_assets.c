/*  site_assets.c: what every page of the static site and the feed are made of (site.h):
 *  the escapers, file names and period order they share (the words in each language are
 *  labels.c's, the stylesheet and the script real files in assets/).
 *
 *  Kept apart from site.c so the page code reads as page code. The escapers are the only
 *  way text from arXiv or the LLM reaches a page or feed.xml. The CSS uses system fonts
 *  only and no url() or @import; the script loads nothing (no fetch, no XHR), so a site
 *  works opened from disk. Both are real files, collector/render/assets/site.css and
 *  site.js, embedded at build time (cmake/embed.cmake) as ax_site_css and ax_site_js and
 *  written verbatim as assets/site.css and assets/site.js of every site.
 */
#define _GNU_SOURCE
#include "site.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "text.h"

/* ---------------------------------------------------------------- escaping */

/*  Writes s[0..len) escaped for HTML and XML text and attribute values (site.h). */
static int s_put_escaped(FILE *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        uint32_t cp;
        size_t n = ax_utf8_decode(p, end, &cp);
        const char *rep = NULL;
        if (n == 0) {
            rep = "\xEF\xBF\xBD"; /* U+FFFD for a byte that is no UTF-8 */
            n = 1;
        } else if (cp == '&')
            rep = "&amp;";
        else if (cp == '<')
            rep = "&lt;";
        else if (cp == '>')
            rep = "&gt;";
        else if (cp == '"')
            rep = "&quot;";
        else if (cp == '\'')
            rep = "&#39;";
        else if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7F && cp <= 0x9F) ||
                 cp == 0xFFFE || cp == 0xFFFF)
            rep = ""; /* controls and non-characters XML 1.0 cannot hold */
        if (rep ? fputs(rep, out) == EOF && *rep : fwrite(p, 1, n, out) != n)
            return -1;
        p += n;
    }
    return 0;
}

int ax_html_put_text(FILE *out, const char *s)
{
    return s ? s_put_escaped(out, s, strlen(s)) : 0;
}

/*  End of the math that starts at s[i] ($, $$ or \(), just past its closing delimiter,
 *  or 0 when it is not closed (then the $ is plain text). */
static size_t s_math_end(const char *s, size_t i)
{
    const char *close = s[i] == '\\' ? "\\)" : s[i + 1] == '$' ? "$$" : "$";
    size_t open = s[i] == '$' && s[i + 1] != '$' ? 1 : 2;
    for (size_t j = i + open; s[j]; j++) {
        if (s[j] == '\\' && s[j + 1] && s[j + 1] != ')') {
            j++; /* \$ inside math is no delimiter */
            continue;
        }
        if (strncmp(s + j, close, strlen(close)) == 0)
            return j > i + open ? j + strlen(close) : 0;
    }
    return 0;
}

/*  The text macros shown as markup, and their tags. */
static const struct {
    const char *cmd, *tag;
} s_tex_macros[] = {{"\\emph{", "em"}, {"\\textit{", "em"}, {"\\textbf{", "strong"}, {"\\texttt{", "code"}};

int ax_html_put_tex(FILE *out, const char *s)
{
    if (!s)
        return 0;
    size_t plain = 0, i = 0;
    while (s[i]) {
        size_t end = 0, arg = 0;
        const char *tag = NULL;
        if (s[i] == '\\' && s[i + 1] == '$') {
            i += 2;
            continue;
        }
        if (s[i] == '$' || (s[i] == '\\' && s[i + 1] == '('))
            end = s_math_end(s, i);
        for (size_t m = 0; !end && s[i] == '\\' && m < sizeof s_tex_macros / sizeof *s_tex_macros; m++) {
            size_t len = strlen(s_tex_macros[m].cmd);
            if (strncmp(s + i, s_tex_macros[m].cmd, len) != 0)
                continue;
            size_t j = i + len;
            while (s[j] && !strchr("{}$\\", s[j]))
                j++;
            if (s[j] == '}' && j > i + len)
                end = j + 1, arg = i + len, tag = s_tex_macros[m].tag;
        }
        if (!end) {
            i++;
            continue;
        }
        if (s_put_escaped(out, s + plain, i - plain) < 0)
            return -1;
        int rc = tag ? fprintf(out, "<%s>", tag) : fputs("<span class=\"tex\">", out);
        if (rc < 0 || s_put_escaped(out, s + (tag ? arg : i), (tag ? end - 1 : end) - (tag ? arg : i)) < 0)
            return -1;
        if ((tag ? fprintf(out, "</%s>", tag) : fputs("</span>", out)) < 0)
            return -1;
        i = plain = end;
    }
    return s_put_escaped(out, s + plain, i - plain);
}

int ax_url_put_component(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        int keep = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   strchr("._~-", *p);
        if ((keep ? fputc(*p, out) : fprintf(out, "%%%02X", *p)) < 0)
            return -1;
    }
    return 0;
}

int ax_arxiv_put_url(FILE *out, const char *kind, const ax_paper_t *paper)
{
    if (fprintf(out, "https://arxiv.org/%s/", kind) < 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)(paper->id ? paper->id : ""); *p; p++) {
        int keep = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   strchr("._/-", *p);
        if ((keep ? fputc(*p, out) : fprintf(out, "%%%02X", *p)) < 0)
            return -1;
    }
    return paper->version > 0 && fprintf(out, "v%d", paper->version) < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- names and periods */

static int s_valid_period(const char *period)
{
    size_t len = period ? strlen(period) : 0;
    if (len == 0 || len > AX_SITE_PERIOD_MAX)
        return 0;
    return strspn(period, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

int ax_site_digest_file(const char *period, char *buf, size_t size)
{
    if (!s_valid_period(period))
        return -1;
    int n = snprintf(buf, size, "digest-%s.html", period);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int ax_site_paper_file(const char *id, char *buf, size_t size)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > AX_SITE_ID_MAX || size < len + sizeof "papers/.html")
        return -1;
    char *p = buf + sprintf(buf, "papers/");
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        int keep = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
                   c == '-';
        *p++ = keep ? c : '_';
    }
    strcpy(p, ".html");
    return 0;
}

/*  Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t s_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int s_month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/*  First and last day (days since the epoch) of a dated period key; -1 for "all" and
 *  anything that is no day, ISO week or month. */
static int s_period_span(const char *k, int64_t *first, int64_t *last)
{
    int y, m, d, w, pos = -1;
    if (sscanf(k, "%4d-%2d-%2d%n", &y, &m, &d, &pos) == 3 && pos == 10 && k[pos] == '\0' && m >= 1 &&
        m <= 12 && d >= 1 && d <= s_month_days(y, m)) {
        *first = *last = s_days(y, m, d);
        return 0;
    }
    pos = -1;
    if (sscanf(k, "%4d-W%2d%n", &y, &w, &pos) == 2 && pos == 8 && k[pos] == '\0' && w >= 1 && w <= 53) {
        int64_t jan4 = s_days(y, 1, 4);
        int64_t wday = ((jan4 + 3) % 7 + 7) % 7; /* 0 = Monday (1970-01-01 was a Thursday) */
        *first = jan4 - wday + 7 * (w - 1);
        *last = *first + 6;
        return 0;
    }
    pos = -1;
    if (sscanf(k, "%4d-%2d%n", &y, &m, &pos) == 2 && pos == 7 && k[pos] == '\0' && m >= 1 && m <= 12) {
        *first = s_days(y, m, 1);
        *last = *first + s_month_days(y, m) - 1;
        return 0;
    }
    return -1;
}

int ax_site_period_cmp(const char *a, const char *b)
{
    int all_a = strcmp(a, "all") == 0, all_b = strcmp(b, "all") == 0;
    if (all_a || all_b)
        return all_a && all_b ? 0 : all_a ? -1 : 1;
    int64_t fa, la, fb, lb;
    int da = s_period_span(a, &fa, &la) == 0, db = s_period_span(b, &fb, &lb) == 0;
    if (da != db)
        return da ? -1 : 1;
    if (da && la != lb)
        return la > lb ? -1 : 1;
    if (da && fa != fb)
        return fa > fb ? -1 : 1;
    return -strcmp(a, b);
}

