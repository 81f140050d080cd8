/*  site_assets.c: what every page of the static site and the feed are made of (site.h):
 *  the escapers, file names and period order they share, the words in each language, the
 *  stylesheet and the script.
 *
 *  Kept apart from site.c so the page code reads as page code. The escapers are the only
 *  way text from arXiv or the LLM reaches a page or feed.xml. The CSS uses system fonts
 *  only and no url() or @import; the script loads nothing (no fetch, no XHR), so a site
 *  works opened from disk. Both are written verbatim as assets/site.css and assets/site.js.
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

/* ---------------------------------------------------------------- words */

static const ax_site_labels_t s_labels[] = {
    {
        .lang = "zh",
        .digests = "摘要列表",
        .all_digests = "← 全部摘要",
        .back_digest = "← 返回本期摘要",
        .generated = "生成时间",
        .papers_pre = "",
        .papers_post = " 篇论文",
        .scored_post = " 篇已评分",
        .sort_rule = "按关键词命中数 + 兴趣评分排序",
        .search = "搜索",
        .search_hint = "标题、作者、摘要……",
        .keyword = "关键词",
        .score = "评分",
        .category = "分类",
        .any = "全部",
        .not_scored = "未评分",
        .clear = "清除",
        .status_fmt = "显示 {shown} / {total} 篇",
        .no_match = "没有符合筛选条件的论文。",
        .no_papers = "本期没有匹配的论文。",
        .authors = "作者",
        .submitted = "提交时间",
        .categories = "分类",
        .keywords = "命中关键词",
        .interest = "感兴趣评分",
        .company = "所属公司",
        .tags = "标签",
        .comments = "备注",
        .journal_ref = "期刊",
        .links = "链接",
        .abstract = "英文摘要",
        .one_sentence = "一句话总结",
        .tldr = "TL;DR",
        .summary = "摘要总结",
        .motivation = "研究动机",
        .method = "方法",
        .result = "结果",
        .conclusion = "结论",
        .model = "模型",
        .run = "运行",
        .feed = "Atom 订阅",
    },
    {
        .lang = NULL,
        .digests = "Digests",
        .all_digests = "← All digests",
        .back_digest = "← Back to the digest",
        .generated = "Generated at",
        .papers_pre = "",
        .papers_post = " papers",
        .scored_post = " scored",
        .sort_rule = "ranked by keyword hits, then interest score",
        .search = "Search",
        .search_hint = "title, author, abstract…",
        .keyword = "Keyword",
        .score = "Score",
        .category = "Category",
        .any = "All",
        .not_scored = "not scored",
        .clear = "Clear",
        .status_fmt = "Showing {shown} of {total}",
        .no_match = "No paper matches these filters.",
        .no_papers = "No paper matched in this period.",
        .authors = "Authors",
        .submitted = "Submitted",
        .categories = "Categories",
        .keywords = "Keywords",
        .interest = "Interest",
        .company = "Company",
        .tags = "Tags",
        .comments = "Comments",
        .journal_ref = "Journal ref",
        .links = "Links",
        .abstract = "Abstract",
        .one_sentence = "In one sentence",
        .tldr = "TL;DR",
        .summary = "Summary",
        .motivation = "Motivation",
        .method = "Method",
        .result = "Results",
        .conclusion = "Conclusion",
        .model = "Model",
        .run = "Run",
        .feed = "Atom feed",
    },
};

const ax_site_labels_t *ax_site_labels(const char *language)
{
    size_t count = sizeof s_labels / sizeof *s_labels;
    for (size_t i = 0; language && i + 1 < count; i++) {
        size_t len = strlen(s_labels[i].lang);
        if (strncasecmp(language, s_labels[i].lang, len) == 0 &&
            (language[len] == '\0' || language[len] == '-' || language[len] == '_'))
            return &s_labels[i];
    }
    return &s_labels[count - 1];
}

/*  Responsive: one column on a phone (the filter bar wraps to two columns, the search box
 *  spans both), light and dark schemes, math in a serif italic. */
const char ax_site_css[] =
    "/* arxdigest site: one stylesheet, no web fonts, no images, no imports. */\n"
    ":root {\n"
    "  color-scheme: light dark;\n"
    "  --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --line: #d8dee4;\n"
    "  --card: #f6f8fa; --accent: #0b57d0; --chip: #e7eefc; --chip-fg: #123a8c;\n"
    "  --s5: #1a7f37; --s4: #4d8c1f; --s3: #9a6700; --s2: #bc4c00; --s1: #cf222e;\n"
    "}\n"
    "@media (prefers-color-scheme: dark) {\n"
    "  :root {\n"
    "    --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d;\n"
    "    --card: #161b22; --accent: #79b8ff; --chip: #1c2a44; --chip-fg: #b6d0ff;\n"
    "  }\n"
    "}\n"
    "* { box-sizing: border-box; }\n"
    "html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }\n"
    "body {\n"
    "  margin: 0 auto; max-width: 54rem; padding: 1rem 1rem 3rem;\n"
    "  font: 16px/1.55 system-ui, -apple-system, \"Segoe UI\", Roboto, \"Noto Sans\", \"PingFang SC\",\n"
    "        \"Hiragino Sans GB\", \"Microsoft YaHei\", sans-serif;\n"
    "  color: var(--fg); background: var(--bg); overflow-wrap: anywhere;\n"
    "}\n"
    "a { color: var(--accent); }\n"
    "h1 { font-size: 1.5rem; line-height: 1.3; margin: .5rem 0; }\n"
    "h2 { font-size: 1.1rem; line-height: 1.35; margin: 0 0 .35rem; }\n"
    ".crumbs { font-size: .9rem; }\n"
    ".meta, .status, .authors, footer, .count, .model { color: var(--muted); font-size: .9rem; }\n"
    ".period { color: var(--muted); font-weight: normal; white-space: nowrap; }\n"
    ".tex { font-family: \"Latin Modern Math\", \"STIX Two Math\", \"Cambria Math\", Georgia, serif; "
    "font-style: italic; }\n"
    "code { font-size: .92em; }\n"
    ".nojs .filters, .nojs .status { display: none; }\n"
    ".filters {\n"
    "  display: grid; grid-template-columns: 2fr 1fr 1fr 1fr auto; gap: .5rem; align-items: end;\n"
    "  position: sticky; top: 0; z-index: 1; background: var(--bg); padding: .5rem 0; border-bottom: 1px "
    "solid var(--line);\n"
    "}\n"
    ".filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); "
    "min-width: 0; }\n"
    ".filters input, .filters select, .filters button {\n"
    "  font: inherit; font-size: 1rem; color: var(--fg); background: var(--card); min-width: 0; width: "
    "100%;\n"
    "  border: 1px solid var(--line); border-radius: .4rem; padding: .4rem .5rem; min-height: 2.5rem;\n"
    "}\n"
    ".filters button { cursor: pointer; width: auto; }\n"
    "@media (max-width: 40rem) {\n"
    "  body { padding: .75rem .75rem 2rem; }\n"
    "  .filters { grid-template-columns: 1fr 1fr; position: static; }\n"
    "  .filters .f-q { grid-column: 1 / -1; }\n"
    "  h1 { font-size: 1.3rem; }\n"
    "}\n"
    ".papers, .digests { list-style: none; margin: 1rem 0; padding: 0; }\n"
    ".paper { background: var(--card); border: 1px solid var(--line); border-radius: .6rem; padding: .8rem "
    "1rem; margin: 0 0 .8rem; }\n"
    ".paper[hidden], [hidden] { display: none !important; }\n"
    ".rank { color: var(--muted); font-weight: normal; }\n"
    ".title a { text-decoration: none; }\n"
    ".title a:hover { text-decoration: underline; }\n"
    ".title-tr { margin: 0 0 .3rem; font-weight: 600; }\n"
    ".authors { margin: 0 0 .4rem; }\n"
    ".chips { display: flex; flex-wrap: wrap; gap: .3rem; margin: 0 0 .4rem; padding: 0; }\n"
    ".chip, .score {\n"
    "  display: inline-block; font-size: .8rem; line-height: 1.2; padding: .2rem .5rem; border-radius: "
    "1rem;\n"
    "  background: var(--chip); color: var(--chip-fg); text-decoration: none; white-space: nowrap;\n"
    "}\n"
    ".chip.cat { background: transparent; border: 1px solid var(--line); color: var(--muted); }\n"
    ".score { color: #fff; font-weight: 600; }\n"
    ".score.s5 { background: var(--s5); } .score.s4 { background: var(--s4); } .score.s3 { background: "
    "var(--s3); }\n"
    ".score.s2 { background: var(--s2); } .score.s1 { background: var(--s1); }\n"
    ".score.s0 { background: transparent; color: var(--muted); border: 1px dashed var(--line); font-weight: "
    "normal; }\n"
    ".tldr, .llm { white-space: pre-line; margin: .3rem 0; }\n"
    "details.abstract summary { cursor: pointer; color: var(--muted); font-size: .9rem; }\n"
    "details.abstract p { margin: .4rem 0; }\n"
    ".links { margin: .3rem 0 0; font-size: .9rem; }\n"
    ".empty { color: var(--muted); font-style: italic; }\n"
    ".fields { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 1rem 0; }\n"
    ".fields dt { color: var(--muted); }\n"
    ".fields dd { margin: 0; }\n"
    "@media (max-width: 40rem) {\n"
    "  .fields { grid-template-columns: 1fr; gap: 0; }\n"
    "  .fields dd { margin: 0 0 .5rem; }\n"
    "}\n"
    "section h2 { margin-top: 1.2rem; }\n"
    ".digests li { display: flex; flex-wrap: wrap; gap: .2rem .8rem; align-items: baseline; padding: .6rem "
    "0; border-bottom: 1px solid var(--line); }\n"
    ".digests a { font-size: 1.1rem; font-weight: 600; }\n"
    "footer { margin-top: 2rem; border-top: 1px solid var(--line); padding-top: .5rem; }\n";

/*  Filters and search of a digest page, back link of a paper page. The state lives in the
 *  URL fragment (kw, score, cat, q) so a filtered view can be linked or loaded headless;
 *  a paper that does not match gets the hidden attribute. */
const char ax_site_js[] =
    "/* arxdigest site: the filters and search of a digest page, the back link of a paper page.\n"
    "   Loads nothing: every datum is in the page (data-kw, data-cat, data-score of each paper).\n"
    "   Filters come from the form and from the URL: #kw=..&score=..&cat=..&q=.. (or ?kw=..). */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var root = document.documentElement;\n"
    "  var KEYS = ['kw', 'score', 'cat', 'q'];\n"
    "  root.className = root.className.replace(/(^|\\s)nojs(\\s|$)/, '$1js$2');\n"
    "\n"
    "  function $(id) { return document.getElementById(id); }\n"
    "  function low(s) { return String(s).toLowerCase(); }\n"
    "  function hashParams() { return new URLSearchParams(location.hash.replace(/^#/, '')); }\n"
    "\n"
    "  /* Paper page: \"#from=digest-X.html\" (set by the digest's links) makes the back link\n"
    "     return to that digest instead of the index. */\n"
    "  var back = $('ax-back');\n"
    "  if (back) {\n"
    "    var from = hashParams().get('from');\n"
    "    if (from && /^digest-[A-Za-z0-9_.-]+\\.html$/.test(from)) {\n"
    "      back.setAttribute('href', '../' + from);\n"
    "      if (back.getAttribute('data-label')) back.textContent = back.getAttribute('data-label');\n"
    "    }\n"
    "    return;\n"
    "  }\n"
    "\n"
    "  var list = $('ax-papers'), form = $('ax-filters'), status = $('ax-status'), empty = $('ax-empty');\n"
    "  if (!list || !form) return;\n"
    "  var ctl = { kw: $('ax-kw'), score: $('ax-score'), cat: $('ax-cat'), q: $('ax-q') };\n"
    "\n"
    "  function words(el, name) {\n"
    "    try {\n"
    "      var v = JSON.parse(el.getAttribute(name) || '[]');\n"
    "      return Array.isArray(v) ? v.map(low) : [];\n"
    "    } catch (e) { return []; }\n"
    "  }\n"
    "  var items = Array.prototype.map.call(list.querySelectorAll('li.paper'), function (el) {\n"
    "    return { el: el, kw: words(el, 'data-kw'), cat: words(el, 'data-cat'),\n"
    "             score: parseInt(el.getAttribute('data-score'), 10) || 0,\n"
    "             text: low(el.textContent).replace(/\\s+/g, ' ') };\n"
    "  });\n"
    "\n"
    "  /* The filter state of the URL: the fragment wins over the query string. */\n"
    "  function fromUrl() {\n"
    "    var q = new URLSearchParams(location.search), h = hashParams(), s = {};\n"
    "    KEYS.forEach(function (k) {\n"
    "      var v = h.has(k) ? h.get(k) : q.get(k);\n"
    "      s[k] = v ? v.trim() : '';\n"
    "    });\n"
    "    return s;\n"
    "  }\n"
    "  function fromForm() {\n"
    "    var s = {};\n"
    "    KEYS.forEach(function (k) { s[k] = ctl[k] ? ctl[k].value.trim() : ''; });\n"
    "    return s;\n"
    "  }\n"
    "  /* Records the state in the fragment (no reload, no history entry). A filter the query\n"
    "     string sets is written even when empty, so the fragment overrides it. */\n"
    "  function toUrl(s) {\n"
    "    var q = new URLSearchParams(location.search), p = new URLSearchParams();\n"
    "    KEYS.forEach(function (k) { if (s[k] || q.has(k)) p.set(k, s[k]); });\n"
    "    var h = p.toString();\n"
    "    try {\n"
    "      history.replaceState(null, '', location.href.split('#')[0] + (h ? '#' + h : ''));\n"
    "    } catch (e) { /* some browsers refuse it for file:// pages: the view still filters */ }\n"
    "  }\n"
    "  function setSelect(sel, v) {\n"
    "    if (!sel) return;\n"
    "    var opts = Array.prototype.slice.call(sel.options), i;\n"
    "    for (i = 0; i < opts.length; i++)\n"
    "      if (low(opts[i].value) === low(v)) { sel.value = opts[i].value; return; }\n"
    "    var o = document.createElement('option');   /* a value from the URL that no paper has */\n"
    "    o.value = v; o.textContent = v;\n"
    "    sel.appendChild(o);\n"
    "    sel.value = v;\n"
    "  }\n"
    "  function matches(it, s, terms) {\n"
    "    if (s.kw && it.kw.indexOf(low(s.kw)) < 0) return false;\n"
    "    if (s.cat && it.cat.indexOf(low(s.cat)) < 0) return false;\n"
    "    if (s.score === 'none') {\n"
    "      if (it.score) return false;\n"
    "    } else if (s.score) {\n"
    "      var min = parseInt(s.score, 10);\n"
    "      if (min > 0 && it.score < min) return false;\n"
    "    }\n"
    "    for (var i = 0; i < terms.length; i++)\n"
    "      if (it.text.indexOf(terms[i]) < 0) return false;\n"
    "    return true;\n"
    "  }\n"
    "  function apply(s) {\n"
    "    setSelect(ctl.kw, s.kw); setSelect(ctl.score, s.score); setSelect(ctl.cat, s.cat);\n"
    "    if (ctl.q && ctl.q.value.trim() !== s.q) ctl.q.value = s.q;\n"
    "    var terms = low(s.q).split(/\\s+/).filter(Boolean), shown = 0;\n"
    "    items.forEach(function (it) {\n"
    "      var ok = matches(it, s, terms);\n"
    "      it.el.hidden = !ok;\n"
    "      if (ok) shown++;\n"
    "    });\n"
    "    status.setAttribute('data-shown', String(shown));\n"
    "    status.textContent = (status.getAttribute('data-fmt') || '{shown} / {total}')\n"
    "      .replace('{shown}', shown).replace('{total}', items.length);\n"
    "    if (empty) empty.hidden = shown > 0 || items.length === 0;\n"
    "    root.classList.toggle('filtered', !!(s.kw || s.score || s.cat || s.q));\n"
    "  }\n"
    "  function update(s) { toUrl(s); apply(s); }\n"
    "\n"
    "  form.addEventListener('input', function () { update(fromForm()); });\n"
    "  form.addEventListener('change', function () { update(fromForm()); });\n"
    "  form.addEventListener('submit', function (e) { e.preventDefault(); update(fromForm()); });\n"
    "  form.addEventListener('reset', function () { setTimeout(function () { update(fromForm()); }, 0); });\n"
    "  /* A keyword or category chip narrows the current view instead of replacing it. */\n"
    "  list.addEventListener('click', function (e) {\n"
    "    var a = e.target.closest ? e.target.closest('a[data-f]') : null;\n"
    "    if (!a) return;\n"
    "    e.preventDefault();\n"
    "    var s = fromForm();\n"
    "    s[a.getAttribute('data-f')] = a.getAttribute('data-v') || '';\n"
    "    update(s);\n"
    "  });\n"
    "  window.addEventListener('hashchange', function () { apply(fromUrl()); });\n"
    "  document.addEventListener('keydown', function (e) {\n"
    "    if (e.key === '/' && document.activeElement !== ctl.q && ctl.q) { e.preventDefault(); "
    "ctl.q.focus(); }\n"
    "  });\n"
    "  apply(fromUrl());\n"
    "})();\n";
