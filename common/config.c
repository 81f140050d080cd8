/*  config.c: arxdigest's configuration: defaults, a YAML file, ARXDIGEST_* variables
 *  and command-line overrides (see config.h).
 *
 *  Everything is table-driven. A field (s_field_t) names a key, its type, where it
 *  lives in its struct, its range or value check and its default. Three tables use
 *  it: the config keys (dotted names, "broker.job_size"), the fields of a profile and
 *  those of a keyword. One store function parses and checks a value from text (the
 *  file, the environment, a flag) and one check function re-checks stored values for
 *  ax_config_validate, so every layer applies the same rules, and unknown-key
 *  suggestions come from the same tables. YAML is read with libyaml's document API.
 *
 *  A bad value is never stored: it is reported (every problem, each with its dotted
 *  key and file:line) and the previous value stays. Values are echoed in messages
 *  only when they came from the file or a flag and the key holds no secret (redis.url
 *  may carry a password); never from the environment.
 */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

extern char **environ;

typedef enum { T_STR, T_INT, T_DOUBLE, T_LIST, T_KEYWORDS, T_PROFILES } s_type_t;
typedef enum {
    C_ANY, C_NONEMPTY, C_ENDPOINT, C_REDIS, C_METRICS, C_HTTP, C_GROUP_BY,
    C_SOURCE, C_DATE, C_ENVNAME, C_CATEGORY, C_NAME, C_LANGUAGE
} s_check_t;

static const char *const s_reasons[] = {
    [C_ANY] = "is invalid",
    [C_NONEMPTY] = "must not be empty",
    [C_ENDPOINT] = "must be an endpoint tcp://HOST:PORT, ipc://PATH or inproc://NAME",
    [C_REDIS] = "must be redis://[:password@]host:port/db or unix://PATH",
    [C_METRICS] = "must be host:port, or \"\" to turn metrics off",
    [C_HTTP] = "must be an http:// or https:// URL with a host",
    [C_GROUP_BY] = "must be one of day, week, month, run",
    [C_SOURCE] = "must be api, oai, rss or snapshot:PATH",
    [C_DATE] = "must be a date YYYY-MM-DD",
    [C_ENVNAME] = "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
    [C_CATEGORY] = "is not an arXiv category (like cs.IR or hep-th)",
    [C_NAME] = "must be 1-64 characters of [A-Za-z0-9_.-], not only dots",
    [C_LANGUAGE] = "must be a language code like en, zh or pt-BR",
};

#define F_NULLABLE 1            /* may be NULL (unset): YAML null or "" */
#define F_SECRET 2              /* the value is never echoed in messages */

typedef struct {
    const char *name;           /* key: dotted for config keys, plain for records */
    s_type_t type;
    size_t off;                 /* of the value in its struct */
    size_t count_off;           /* lists: of the size_t count */
    double min, max;            /* T_INT, T_DOUBLE: inclusive range */
    s_check_t check;            /* T_STR value, T_LIST items */
    int flags;
    const char *dflt;           /* default as text; NULL = none */
} s_field_t;

#define CF(m) offsetof(ax_config_t, m)
#define STR(n, m, c, f, d) {n, T_STR, CF(m), 0, 0, 0, c, f, d}
#define INT(n, m, lo, hi, d) {n, T_INT, CF(m), 0, lo, hi, C_ANY, 0, d}
#define DBL(n, m, hi, d) {n, T_DOUBLE, CF(m), 0, 0, hi, C_ANY, 0, d}

static const s_field_t s_keys[] = {
    STR("redis.url", redis.url, C_REDIS, F_SECRET, "redis://127.0.0.1:6379/0"),
    STR("broker.bind", broker.bind, C_ENDPOINT, 0, "tcp://*:5555"),
    STR("broker.control", broker.control, C_ENDPOINT, 0, "tcp://*:5556"),
    INT("broker.job_size", broker.job_size, 1, 100000, "64"),
    STR("broker.metrics", broker.metrics, C_METRICS, 0, "0.0.0.0:9101"),
    STR("worker.broker", worker.broker, C_ENDPOINT, 0, "tcp://127.0.0.1:5555"),
    STR("worker.collector", worker.collector, C_ENDPOINT, 0, "tcp://127.0.0.1:5557"),
    INT("worker.concurrency", worker.concurrency, 1, 100000, "32"),
    STR("worker.metrics", worker.metrics, C_METRICS, 0, "0.0.0.0:9102"),
    STR("collector.bind", collector.bind, C_ENDPOINT, 0, "tcp://*:5557"),
    STR("collector.output_dir", collector.output_dir, C_NONEMPTY, 0, "./digests"),
    STR("collector.group_by", collector.group_by, C_GROUP_BY, 0, "day"),
    STR("collector.metrics", collector.metrics, C_METRICS, 0, "0.0.0.0:9103"),
    STR("arxiv.api_url", arxiv.api_url, C_HTTP, 0, "https://export.arxiv.org/api/query"),
    STR("arxiv.oai_url", arxiv.oai_url, C_HTTP, 0, "https://oaipmh.arxiv.org/oai"),
    STR("arxiv.rss_url", arxiv.rss_url, C_HTTP, 0, "https://rss.arxiv.org/rss"),
    INT("arxiv.min_interval_ms", arxiv.min_interval_ms, 0, 3600000, "3000"),
    STR("arxiv.user_agent", arxiv.user_agent, C_NONEMPTY, 0, "arxdigest (mailto:you@example.org)"),
    STR("llm.base_url", llm.base_url, C_HTTP, F_SECRET, "https://api.deepseek.com"),
    STR("llm.model", llm.model, C_NONEMPTY, 0, "deepseek-chat"),
    STR("llm.api_key_env", llm.api_key_env, C_ENVNAME, 0, "ARXDIGEST_LLM_API_KEY"),
    INT("llm.rpm", llm.rpm, 1, 10000000, "600"),
    INT("llm.tpm", llm.tpm, 1, INT_MAX, "1000000"),
    INT("llm.max_in_flight", llm.max_in_flight, 1, 100000, "64"),
    INT("llm.timeout_s", llm.timeout_s, 1, 86400, "120"),
    DBL("llm.price_per_mtok.input", llm.price_input_per_mtok, 1e6, "0.27"),
    DBL("llm.price_per_mtok.output", llm.price_output_per_mtok, 1e6, "1.10"),
    DBL("llm.budget_usd", llm.budget_usd, 1e9, "0"),
    STR("run.source", run.source, C_SOURCE, 0, "api"),
    {"run.categories", T_LIST, CF(run.categories), CF(run.n_categories), 0, 0, C_CATEGORY, 0, NULL},
    STR("run.from", run.from, C_DATE, F_NULLABLE, NULL),
    STR("run.to", run.to, C_DATE, F_NULLABLE, NULL),
    {"profiles", T_PROFILES, CF(profiles), CF(n_profiles), 0, 0, C_ANY, 0, NULL},
};

#define PF(m) offsetof(ax_profile_t, m)
enum { P_NAME, P_TITLE, P_LANGUAGE, P_INTEREST, P_CATEGORIES, P_KEYWORDS, P_EXCLUDE, P_MIN_HITS, P_TOP_N };
static const s_field_t s_profile_fields[] = {
    [P_NAME] = {"name", T_STR, PF(name), 0, 0, 0, C_NAME, 0, NULL},
    [P_TITLE] = {"title", T_STR, PF(title), 0, 0, 0, C_ANY, 0, NULL},     /* default: s_default_title */
    [P_LANGUAGE] = {"language", T_STR, PF(language), 0, 0, 0, C_LANGUAGE, 0, "en"},
    [P_INTEREST] = {"interest", T_STR, PF(interest), 0, 0, 0, C_ANY, 0, ""},
    [P_CATEGORIES] = {"categories", T_LIST, PF(categories), PF(n_categories), 0, 0, C_CATEGORY, 0, NULL},
    [P_KEYWORDS] = {"keywords", T_KEYWORDS, PF(keywords), PF(n_keywords), 0, 0, C_ANY, 0, NULL},
    [P_EXCLUDE] = {"exclude", T_LIST, PF(exclude), PF(n_exclude), 0, 0, C_NONEMPTY, 0, NULL},
    [P_MIN_HITS] = {"min_hits", T_INT, PF(min_hits), 0, 0, 1000, C_ANY, 0, "1"},
    [P_TOP_N] = {"top_n", T_INT, PF(top_n), 0, 1, 100000, C_ANY, 0, "20"},
};

#define KF(m) offsetof(ax_keyword_t, m)
static const s_field_t s_keyword_fields[] = {
    {"term", T_STR, KF(term), 0, 0, 0, C_NONEMPTY, 0, NULL},
    {"aliases", T_LIST, KF(aliases), KF(n_aliases), 0, 0, C_NONEMPTY, 0, NULL},
    {"company", T_STR, KF(company), 0, 0, 0, C_ANY, F_NULLABLE, NULL},
};

#define S_COUNT(a) (sizeof(a) / sizeof(a)[0])
#define S_NKEYS S_COUNT(s_keys)
#define S_AT(base, f, T) ((T *) (void *) ((char *) (base) + (f)->off))
#define S_COUNT_AT(base, f) ((size_t *) (void *) ((char *) (base) + (f)->count_off))

/*  Where problems go, and what to put in front of each line. */
typedef struct {
    char **errors;              /* '\n'-separated lines, may be NULL */
    const char *file;           /* "<file>:<line>: " prefix, or NULL */
    const char *env;            /* "<VAR>: " prefix (values never echoed), or NULL */
    int count;                  /* problems reported */
} s_err_t;

/*  ------------------------------------------------------------------------------
 *  Messages and suggestions
 */

/*  Appends "<file>:<line>: <key>: <message>" as one line to e->errors. */
__attribute__((format(printf, 4, 5)))
static void s_report(s_err_t *e, int line, const char *key, const char *fmt, ...)
{
    char msg[768], head[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->file && line > 0)
        snprintf(head, sizeof head, "%s:%d: ", e->file, line);
    else
        snprintf(head, sizeof head, "%s%s", e->file ? e->file : e->env ? e->env : "",
                 e->file || e->env ? ": " : "");
    e->count++;
    size_t old = e->errors && *e->errors ? strlen(*e->errors) : 0;
    size_t add = strlen(head) + strlen(key) + strlen(msg) + 4;
    char *grown = e->errors ? realloc(*e->errors, old + add + 1) : NULL;
    if (!grown)
        return;         /* no text (or no memory): the count still makes the call fail */
    snprintf(grown + old, add + 1, "%s%s%s%s%s", old ? "\n" : "", head, key, *key ? ": " : "", msg);
    *e->errors = grown;
}

/*  Formats a dotted key name into buf[S_KEYLEN]; absurdly deep names are cut. */
#define S_KEYLEN 256
__attribute__((format(printf, 2, 3)))
static void s_keyf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, S_KEYLEN, fmt, ap);
    va_end(ap);
}

/*  " (got "v")" for a message, or "" when v must not be echoed. */
static const char *s_echo(const s_err_t *e, const s_field_t *f, const char *v, char *buf, size_t size)
{
    buf[0] = '\0';
    if (e->env || (f->flags & F_SECRET) || strlen(v) > 60)
        return buf;
    for (const char *p = v; *p; p++)
        if ((unsigned char) *p < 0x20)
            return buf;
    snprintf(buf, size, " (got \"%s\")", v);
    return buf;
}

/*  Damerau-Levenshtein (optimal string alignment) distance, for suggestions. */
static size_t s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), d[64][64];
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (tolower((unsigned char) a[i - 1]) != tolower((unsigned char) b[j - 1]));
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/*  Reports key as unknown, with the closest of the n candidates when it is close
 *  enough to be a typo of it. */
static void s_unknown(s_err_t *e, int line, const char *key, const char *word, const char *const *cand,
                      size_t n, const char *what)
{
    size_t len = strlen(word), limit = len <= 4 ? 1 : len <= 8 ? 2 : 3, best_d = SIZE_MAX;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = s_distance(word, cand[i]);
        if (d <= limit && d < best_d) {
            best = cand[i];
            best_d = d;
        }
    }
    if (best)
        s_report(e, line, key, "unknown %s (did you mean %s?)", what, best);
    else
        s_report(e, line, key, "unknown %s", what);
}

/*  ------------------------------------------------------------------------------
 *  Value checks
 */

static bool s_blank(const char *s)
{
    while (s && *s && isspace((unsigned char) *s))
        s++;
    return !s || !*s;
}

static bool s_only(const char *v, const char *set)
{
    return strspn(v, set) == strlen(v);
}

#define S_ALPHA "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define S_ALNUM S_ALPHA "0123456789"

/*  "host:port" with a non-empty host; the port may be "*" when star_ok. */
static bool s_hostport_ok(const char *s, bool star_ok)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return false;
    const char *p = colon + 1;
    size_t n = strspn(p, "0123456789");
    return (star_ok && strcmp(p, "*") == 0) || (n >= 1 && n <= 5 && !p[n] && atol(p) <= 65535);
}

/*  The lower-cased host of a URL into buf (no userinfo, port or trailing dot). */
static bool s_url_host(const char *url, char *buf, size_t size)
{
    const char *p = strstr(url, "://");
    if (!p)
        return false;
    p += 3;
    size_t n = strcspn(p, "/?#");
    for (const char *at; (at = memchr(p, '@', n)); p = at + 1)
        n -= (size_t) (at + 1 - p);
    const char *end = *p == '[' ? memchr(p, ']', n) : memchr(p, ':', n);
    if (end)
        n = (size_t) (end - p) + (*p == '[');
    while (n && p[n - 1] == '.')
        n--;
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char) tolower((unsigned char) p[i]);
    buf[n] = '\0';
    return true;
}

static bool s_is_arxiv_host(const char *url)
{
    char host[256];
    if (!url || !s_url_host(url, host, sizeof host))
        return false;
    size_t n = strlen(host);
    return strcmp(host, "arxiv.org") == 0 || (n > 10 && strcmp(host + n - 10, ".arxiv.org") == 0);
}

/*  A real calendar date written YYYY-MM-DD. */
static bool s_date_ok(const char *v)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(v) != 10 || v[4] != '-' || v[7] != '-' || strspn(v, "0123456789") != 4
        || strspn(v + 5, "0123456789") != 2 || strspn(v + 8, "0123456789") != 2)
        return false;
    int y = atoi(v), m = atoi(v + 5), d = atoi(v + 8);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] && !(m == 2 && d == 29 && !leap);
}

/*  A BCP-47-like code: 2-3 letters, then -subtags of 1-8 letters or digits. */
static bool s_language_ok(const char *v)
{
    size_t n = strspn(v, S_ALPHA);
    if (n < 2 || n > 3 || strlen(v) > 35)
        return false;
    for (v += n; *v == '-'; v += n + 1)
        if ((n = strspn(v + 1, S_ALNUM)) < 1 || n > 8)
            return false;
    return *v == '\0';
}

/*  True when v passes check; s_reasons[check] says why not. */
static bool s_value_ok(s_check_t check, const char *v)
{
    char host[256];
    size_t n = strlen(v);
    switch (check) {
    case C_ANY:
        return true;
    case C_NONEMPTY:
        return !s_blank(v);
    case C_ENDPOINT:
        return (!strncmp(v, "tcp://", 6) && s_hostport_ok(v + 6, true)) || (!strncmp(v, "ipc://", 6) && v[6])
               || (!strncmp(v, "inproc://", 9) && v[9]);
    case C_REDIS:
        return (!strncmp(v, "redis://", 8) && v[8]) || (!strncmp(v, "unix://", 7) && v[7]);
    case C_METRICS:
        return !*v || s_hostport_ok(v, false);
    case C_HTTP:
        return (!strncasecmp(v, "http://", 7) || !strncasecmp(v, "https://", 8)) && s_url_host(v, host, sizeof host);
    case C_GROUP_BY:
        return !strcmp(v, "day") || !strcmp(v, "week") || !strcmp(v, "month") || !strcmp(v, "run");
    case C_SOURCE:
        return !strcmp(v, "api") || !strcmp(v, "oai") || !strcmp(v, "rss") || (!strncmp(v, "snapshot:", 9) && v[9]);
    case C_DATE:
        return s_date_ok(v);
    case C_ENVNAME:
        return (isalpha((unsigned char) *v) || *v == '_') && s_only(v, S_ALNUM "_");
    case C_CATEGORY:
        return n >= 2 && n <= 32 && isalpha((unsigned char) *v) && s_only(v, S_ALNUM ".-");
    case C_NAME:
        return n >= 1 && n <= 64 && s_only(v, S_ALNUM "_.-") && !s_only(v, ".");
    case C_LANGUAGE:
        return s_language_ok(v);
    }
    return false;
}

/*  ------------------------------------------------------------------------------
 *  Storing a value from text (defaults, YAML scalars, environment, flags)
 */

static bool s_parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    *out = *s && !isspace((unsigned char) *s) ? strtoll(s, &end, 10) : 0;
    return *s && !isspace((unsigned char) *s) && errno == 0 && *end == '\0';
}

static bool s_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = *s && !isspace((unsigned char) *s) ? strtod(s, &end) : 0;
    return *s && !isspace((unsigned char) *s) && errno == 0 && *end == '\0' && isfinite(*out);
}

/*  Replaces the list f of base with items (taken), freeing the old one. */
static void s_set_list(void *base, const s_field_t *f, char **items, size_t n)
{
    ax_strv_free(S_AT(base, f, char **), *S_COUNT_AT(base, f));
    *S_AT(base, f, char **) = items;
    *S_COUNT_AT(base, f) = n;
}

/*  A comma-separated list (flags, environment); blank items are skipped, so "" is
 *  the empty list. */
static int s_store_list(void *base, const s_field_t *f, const char *text, s_err_t *e, const char *key, int line)
{
    char **items = calloc(strlen(text) / 2 + 2, sizeof *items);
    char *copy = strdup(text), *save = NULL;
    size_t n = 0;
    int before = e->count;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && items; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char) *tok))
            tok++;
        size_t len = strlen(tok);
        while (len && isspace((unsigned char) tok[len - 1]))
            tok[--len] = '\0';
        if (len && !s_value_ok(f->check, tok))
            s_report(e, line, key, "item %zu %s", n + 1, s_reasons[f->check]);
        else if (len && !(items[n++] = strdup(tok)))
            break;
    }
    if (!items || !copy || (n && !items[n - 1]))
        s_report(e, line, key, "out of memory");
    free(copy);
    if (e->count != before) {
        ax_strv_free(&items, n);
        return -1;
    }
    s_set_list(base, f, items, n);
    return 0;
}

/*  Parses text for field f of base, checks it and stores a copy. text NULL is YAML
 *  null. dir, when given, anchors a relative snapshot:PATH. */
static int s_store(void *base, const s_field_t *f, const char *text, s_err_t *e, const char *key, int line,
                   const char *dir)
{
    char echo[96];
    if (f->type == T_LIST)
        return s_store_list(base, f, text ? text : "", e, key, line);
    if (!text && f->check == C_METRICS)
        text = "";
    if ((f->flags & F_NULLABLE) && (!text || (!*text && f->type == T_STR))) {
        free(*S_AT(base, f, char *));
        *S_AT(base, f, char *) = NULL;
        return 0;
    }
    if (!text) {
        s_report(e, line, key, "needs a value");
        return -1;
    }
    if (f->type == T_INT || f->type == T_DOUBLE) {
        long long iv = 0;
        double dv = 0;
        bool ok = f->type == T_INT ? s_parse_int(text, &iv) : s_parse_double(text, &dv);
        dv = f->type == T_INT ? (double) iv : dv;
        if (!ok || dv < f->min || dv > f->max) {
            if (!ok)
                s_report(e, line, key, "expected %s%s", f->type == T_INT ? "an integer" : "a number",
                         s_echo(e, f, text, echo, sizeof echo));
            else
                s_report(e, line, key, "must be between %.15g and %.15g%s", f->min, f->max,
                         s_echo(e, f, text, echo, sizeof echo));
            return -1;
        }
        if (f->type == T_INT)
            *S_AT(base, f, int) = (int) iv;
        else
            *S_AT(base, f, double) = dv;
        return 0;
    }
    if (!s_value_ok(f->check, text)) {
        s_report(e, line, key, "%s%s", s_reasons[f->check], s_echo(e, f, text, echo, sizeof echo));
        return -1;
    }
    char *copy = NULL;
    if (f->check == C_SOURCE && dir && !strncmp(text, "snapshot:", 9) && text[9] != '/') {
        if (asprintf(&copy, "snapshot:%s/%s", dir, text + 9) < 0)
            copy = NULL;
    } else
        copy = strdup(text);
    if (!copy) {
        s_report(e, line, key, "out of memory");
        return -1;
    }
    free(*S_AT(base, f, char *));
    *S_AT(base, f, char *) = copy;
    return 0;
}

/*  Stores the defaults of n fields into base (zeroed). -1 on OOM. */
static int s_defaults(void *base, const s_field_t *fields, size_t n)
{
    s_err_t quiet = {0};
    for (size_t i = 0; i < n; i++)
        if (fields[i].dflt && s_store(base, &fields[i], fields[i].dflt, &quiet, fields[i].name, 0, NULL) < 0)
            return -1;
    return 0;
}

/*  ------------------------------------------------------------------------------
 *  Construction and destruction
 */

static void s_keyword_clear(ax_keyword_t *kw)
{
    free(kw->term);
    ax_strv_free(&kw->aliases, kw->n_aliases);
    free(kw->company);
    memset(kw, 0, sizeof *kw);
}

static void s_keywords_free(ax_keyword_t **keywords, size_t n)
{
    for (size_t i = 0; *keywords && i < n; i++)
        s_keyword_clear(&(*keywords)[i]);
    free(*keywords);
    *keywords = NULL;
}

static void s_profiles_free(ax_profile_t **profiles, size_t n)
{
    for (size_t i = 0; *profiles && i < n; i++)
        ax_profile_clear(&(*profiles)[i]);
    free(*profiles);
    *profiles = NULL;
}

ax_config_t *ax_config_new(void)
{
    ax_config_t *cfg = calloc(1, sizeof *cfg);
    if (cfg && s_defaults(cfg, s_keys, S_NKEYS) < 0)
        ax_config_destroy(&cfg);
    return cfg;
}

void ax_config_destroy(ax_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ax_config_t *cfg = *self_p;
    for (size_t i = 0; i < S_NKEYS; i++)
        if (s_keys[i].type == T_STR)
            free(*S_AT(cfg, &s_keys[i], char *));
        else if (s_keys[i].type == T_LIST)
            s_set_list(cfg, &s_keys[i], NULL, 0);
    s_profiles_free(&cfg->profiles, cfg->n_profiles);
    free(cfg);
    *self_p = NULL;
}

/*  ------------------------------------------------------------------------------
 *  Checks of stored values, shared by the file reader and ax_config_validate
 */

/*  Reports what is wrong with the stored value of f ("required" when unset). */
static void s_check_value(s_err_t *e, const void *base, const s_field_t *f, const char *key, int line)
{
    if (f->type == T_STR) {
        const char *v = *S_AT(base, f, char *);
        if (!v && !(f->flags & F_NULLABLE))
            s_report(e, line, key, "required");
        else if (v && !s_value_ok(f->check, v))
            s_report(e, line, key, "%s", s_reasons[f->check]);
    } else if (f->type == T_INT || f->type == T_DOUBLE) {
        double v = f->type == T_INT ? *S_AT(base, f, int) : *S_AT(base, f, double);
        if (!(v >= f->min && v <= f->max))
            s_report(e, line, key, "must be between %.15g and %.15g (got %.15g)", f->min, f->max, v);
    } else if (f->type == T_LIST) {
        char *const *v = *S_AT(base, f, char **);
        for (size_t i = 0; i < *S_COUNT_AT(base, f); i++)
            if (!v[i] || !s_value_ok(f->check, v[i]))
                s_report(e, line, key, "item %zu %s", i + 1, s_reasons[f->check]);
    }
}

/*  Checks every field of a record (a profile or a keyword) not in the failed mask,
 *  with lines[i] (or line) as the line of field i. deep also checks the keywords. */
static void s_check_record(s_err_t *e, const void *base, const s_field_t *fields, size_t n, uint32_t failed,
                           const char *prefix, const int *lines, int line, bool deep)
{
    char key[S_KEYLEN];
    for (size_t i = 0; i < n; i++) {
        s_keyf(key, "%s.%s", prefix, fields[i].name);
        if (!(failed & (1u << i)))
            s_check_value(e, base, &fields[i], key, lines && lines[i] ? lines[i] : line);
        for (size_t j = 0; deep && fields[i].type == T_KEYWORDS && j < *S_COUNT_AT(base, &fields[i]); j++) {
            s_keyf(key, "%s.keywords[%zu]", prefix, j);
            s_check_record(e, &(*S_AT(base, &fields[i], ax_keyword_t *))[j], s_keyword_fields,
                           S_COUNT(s_keyword_fields), 0, key, NULL, line, false);
        }
    }
}

/*  The rules that span fields of profiles[i]: a unique name, at least one keyword,
 *  min_hits reachable. Fields in failed were already reported and are skipped. */
static void s_profile_rules(s_err_t *e, const ax_profile_t *profiles, size_t i, uint32_t failed,
                            const int *lines, int line)
{
    const ax_profile_t *p = &profiles[i];
    char key[64];
#define S_LINE(f) (lines && lines[f] ? lines[f] : line)
    snprintf(key, sizeof key, "profiles[%zu].keywords", i);
    if (!(failed & (1u << P_KEYWORDS)) && p->n_keywords == 0)
        s_report(e, S_LINE(P_KEYWORDS), key, "at least one keyword is required");
    snprintf(key, sizeof key, "profiles[%zu].min_hits", i);
    if (!(failed & (1u << P_KEYWORDS | 1u << P_MIN_HITS)) && p->n_keywords && p->min_hits >= 0
        && (size_t) p->min_hits > p->n_keywords)
        s_report(e, S_LINE(P_MIN_HITS), key, "%d is more than the %zu keywords: no paper could pass", p->min_hits,
                 p->n_keywords);
    snprintf(key, sizeof key, "profiles[%zu].name", i);
    for (size_t j = 0; p->name && !(failed & (1u << P_NAME)) && j < i; j++)
        if (profiles[j].name && strcmp(profiles[j].name, p->name) == 0) {
            s_report(e, S_LINE(P_NAME), key, "duplicate profile name \"%s\" (also profiles[%zu])", p->name, j);
            break;
        }
#undef S_LINE
}

/*  ------------------------------------------------------------------------------
 *  Reading the YAML document
 */

typedef struct {
    ax_config_t *cfg;
    yaml_document_t *doc;
    s_err_t err;
    const char *dir;            /* folder of the file, for snapshot:PATH */
} s_ctx_t;

static int s_line(const yaml_node_t *node)
{
    return node ? (int) node->start_mark.line + 1 : 0;
}

static bool s_is_null(const yaml_node_t *node)
{
    if (!node || node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *) node->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *s_kind(const yaml_node_t *node)
{
    return node->type == YAML_SEQUENCE_NODE  ? "a list"
           : node->type == YAML_MAPPING_NODE ? "a mapping"
           : s_is_null(node)                 ? "null"
                                             : "a single value";
}

static yaml_node_t *s_node(s_ctx_t *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

static size_t s_items(const yaml_node_t *seq)
{
    return (size_t) (seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/*  The text of a scalar node; NULL for YAML null and, reported, for anything else
 *  that is not a usable string. */
static const char *s_text(s_ctx_t *c, yaml_node_t *node, const char *key, bool *bad)
{
    *bad = node->type != YAML_SCALAR_NODE;
    if (*bad)
        s_report(&c->err, s_line(node), key, "expected a single value, not %s", s_kind(node));
    else if (strlen((const char *) node->data.scalar.value) != node->data.scalar.length) {
        s_report(&c->err, s_line(node), key, "contains a NUL character");
        *bad = true;
    }
    return *bad || s_is_null(node) ? NULL : (const char *) node->data.scalar.value;
}

/*  A YAML list into the list field f of base: each item a string that passes f's
 *  check. Null is the empty list. On any problem the old value stays. */
static void s_read_list(s_ctx_t *c, void *base, const s_field_t *f, yaml_node_t *node, const char *key)
{
    if (s_is_null(node) || node->type != YAML_SEQUENCE_NODE) {
        if (s_is_null(node))
            s_set_list(base, f, NULL, 0);
        else
            s_report(&c->err, s_line(node), key, "expected a list, like [a, b], not %s", s_kind(node));
        return;
    }
    size_t count = s_items(node), got = 0;
    char **items = calloc(count + 1, sizeof *items);
    int before = c->err.count;
    for (size_t i = 0; items && i < count; i++) {
        char ikey[S_KEYLEN];
        bool bad;
        yaml_node_t *item = s_node(c, node->data.sequence.items.start[i]);
        s_keyf(ikey, "%s[%zu]", key, i);
        const char *t = s_text(c, item, ikey, &bad);
        if (!bad && (!t || !s_value_ok(f->check, t)))
            s_report(&c->err, s_line(item), ikey, "%s", t ? s_reasons[f->check] : "must not be null");
        else if (t && !(items[got++] = strdup(t)))
            s_report(&c->err, s_line(item), ikey, "out of memory");
    }
    if (!items)
        s_report(&c->err, s_line(node), key, "out of memory");
    if (c->err.count != before)
        ax_strv_free(&items, got);
    else
        s_set_list(base, f, items, got);
}

static uint32_t s_read_map(s_ctx_t *c, void *base, const s_field_t *fields, size_t n, yaml_node_t *map,
                           const char *shown, const char *lookup, int *lines);

/*  "ArXiv cs.IR, cs.LG digest" from the profile's categories. */
static char *s_default_title(const ax_profile_t *p)
{
    size_t len = 16;
    for (size_t i = 0; i < p->n_categories; i++)
        len += strlen(p->categories[i]) + 2;
    char *t = malloc(len);
    if (!t)
        return NULL;
    strcpy(t, "ArXiv");
    for (size_t i = 0; i < p->n_categories; i++)
        strcat(strcat(t, i ? ", " : " "), p->categories[i]);
    return strcat(t, " digest");
}

/*  A YAML list of records (profiles or keywords) into the field f of base, replacing
 *  what was there. Each record gets its defaults, its fields, then its checks; one
 *  with any problem is reported and left out. A keyword may also be a plain term. */
static void s_read_records(s_ctx_t *c, void *base, const s_field_t *f, yaml_node_t *node, const char *key)
{
    bool profiles = f->type == T_PROFILES;
    const s_field_t *fields = profiles ? s_profile_fields : s_keyword_fields;
    size_t nf = profiles ? S_COUNT(s_profile_fields) : S_COUNT(s_keyword_fields);
    size_t size = profiles ? sizeof(ax_profile_t) : sizeof(ax_keyword_t);
    if (node->type != YAML_SEQUENCE_NODE) {
        s_report(&c->err, s_line(node), key, "expected a list of %s, not %s",
                 profiles ? "profiles" : "terms or {term, aliases, company}", s_kind(node));
        return;
    }
    size_t count = s_items(node), kept = 0;
    char *recs = calloc(count + 1, size);
    bool *bad = calloc(count + 1, sizeof *bad);
    if (!recs || !bad) {
        s_report(&c->err, s_line(node), key, "out of memory");
        free(recs);
        free(bad);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = s_node(c, node->data.sequence.items.start[i]);
        char ikey[S_KEYLEN], tkey[S_KEYLEN];
        int lines[16] = {0}, before = c->err.count;
        uint32_t failed = 0;
        void *rec = recs + i * size;
        bool map = item->type == YAML_MAPPING_NODE;
        s_keyf(ikey, "%s[%zu]", key, i);
        s_keyf(tkey, "%s.term", ikey);
        if (s_defaults(rec, fields, nf) < 0)
            s_report(&c->err, s_line(item), ikey, "out of memory");
        else if (map)
            failed = s_read_map(c, rec, fields, nf, item, ikey, "", lines);
        else if (!profiles && item->type == YAML_SCALAR_NODE && !s_is_null(item))
            failed = s_store(rec, &fields[0], (const char *) item->data.scalar.value, &c->err, tkey,
                             s_line(item), NULL) < 0;
        else
            s_report(&c->err, s_line(item), ikey, "expected %s, not %s",
                     profiles ? "a mapping {name, keywords, ...}" : "a term or a mapping {term, aliases, company}",
                     s_kind(item));
        ax_profile_t *prof = profiles ? rec : NULL;
        if (map && prof && !prof->title && !(prof->title = s_default_title(prof)))
            s_report(&c->err, s_line(item), ikey, "out of memory");
        if (map || c->err.count == before)
            s_check_record(&c->err, rec, fields, nf, failed, ikey, lines, s_line(item), false);
        if (map && prof)
            s_profile_rules(&c->err, (ax_profile_t *) (void *) recs, i, failed, lines, s_line(item));
        bad[i] = c->err.count != before;
    }
    for (size_t i = 0; i < count; i++) {        /* keep the records without problems */
        void *rec = recs + i * size;
        if (!bad[i])
            memmove(recs + kept++ * size, rec, size);
        else if (profiles)
            ax_profile_clear(rec);
        else
            s_keyword_clear(rec);
    }
    free(bad);
    if (profiles)
        s_profiles_free(S_AT(base, f, ax_profile_t *), *S_COUNT_AT(base, f));
    else
        s_keywords_free(S_AT(base, f, ax_keyword_t *), *S_COUNT_AT(base, f));
    *S_AT(base, f, void *) = recs;
    *S_COUNT_AT(base, f) = kept;
}

/*  Reads the value node of field f of base. */
static void s_read_value(s_ctx_t *c, void *base, const s_field_t *f, yaml_node_t *node, const char *key)
{
    bool bad;
    if (f->type == T_LIST)
        s_read_list(c, base, f, node, key);
    else if ((f->type == T_KEYWORDS || f->type == T_PROFILES) && !s_is_null(node))
        s_read_records(c, base, f, node, key);
    else if (f->type == T_KEYWORDS)
        s_report(&c->err, s_line(node), key, "expected a list of terms, not null");
    else if (f->type != T_PROFILES) {
        const char *t = s_text(c, node, key, &bad);
        if (!bad)
            s_store(base, f, t, &c->err, key, s_line(node), c->dir);
    }
}

/*  The distinct names one level below lookup in fields, for suggestions. */
static size_t s_children(const s_field_t *fields, size_t n, const char *lookup, const char **out, char names[][32])
{
    size_t got = 0, plen = strlen(lookup);
    for (size_t i = 0; i < n; i++) {
        const char *rest = fields[i].name;
        if (plen && (strncmp(rest, lookup, plen) != 0 || rest[plen] != '.'))
            continue;
        rest += plen ? plen + 1 : 0;
        snprintf(names[got], 32, "%.*s", (int) strcspn(rest, "."), rest);
        size_t j = 0;
        while (j < got && strcmp(out[j], names[got]) != 0)
            j++;
        if (j == got)
            out[got] = names[got], got++;
    }
    return got;
}

/*  Reads a mapping into base: each key is looked up in fields as lookup.key (a
 *  dotted prefix of a field name is a section mapping, read recursively) and shown
 *  in messages as shown.key. lines[i], when given, gets the line of field i's value.
 *  Returns the mask of fields that had problems. */
static uint32_t s_read_map(s_ctx_t *c, void *base, const s_field_t *fields, size_t n, yaml_node_t *map,
                           const char *shown, const char *lookup, int *lines)
{
    uint32_t failed = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *knode = s_node(c, p->key), *value = s_node(c, p->value);
        if (knode->type != YAML_SCALAR_NODE) {
            s_report(&c->err, s_line(knode), shown, "keys must be plain strings, not %s", s_kind(knode));
            continue;
        }
        const char *name = (const char *) knode->data.scalar.value;
        char key[S_KEYLEN], full[S_KEYLEN];
        s_keyf(key, "%s%s%s", shown, *shown ? "." : "", name);
        s_keyf(full, "%s%s%s", lookup, *lookup ? "." : "", name);
        yaml_node_pair_t *q = map->data.mapping.pairs.start;
        while (q < p && !(s_node(c, q->key)->type == YAML_SCALAR_NODE
                          && !strcmp((const char *) s_node(c, q->key)->data.scalar.value, name)))
            q++;
        if (q < p) {
            s_report(&c->err, s_line(knode), key, "duplicate key (first at line %d)", s_line(s_node(c, q->key)));
            continue;
        }
        size_t i = 0, flen = strlen(full);
        bool section = false;
        while (i < n && strcmp(fields[i].name, full) != 0)
            i++;
        for (size_t j = 0; j < n && !section; j++)
            section = !strncmp(fields[j].name, full, flen) && fields[j].name[flen] == '.';
        int before = c->err.count;
        if (i < n)
            s_read_value(c, base, &fields[i], value, key);
        else if (section && value->type == YAML_MAPPING_NODE)
            s_read_map(c, base, fields, n, value, key, full, NULL);
        else if (section && !s_is_null(value))
            s_report(&c->err, s_line(value), key, "expected a mapping, not %s", s_kind(value));
        else if (!section) {
            char names[48][32];
            const char *cand[48];
            s_unknown(&c->err, s_line(knode), key, name, cand, s_children(fields, n, lookup, cand, names), "key");
        }
        if (i < n && i < 32 && lines)
            lines[i] = s_line(value);
        if (i < n && i < 32 && c->err.count != before)
            failed |= 1u << i;
    }
    return failed;
}

/*  The absolute folder of path (for snapshot:PATH), or its dirname; caller frees. */
static char *s_dir_of(const char *path)
{
    char *dir = realpath(path, NULL);
    if (!dir && !(dir = strdup(path)))
        return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        slash[slash == dir] = '\0';
    return dir;
}

int ax_config_load_file(ax_config_t *cfg, const char *path, char **errors)
{
    s_ctx_t c = {.cfg = cfg, .err = {.errors = errors, .file = path}};
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    FILE *f = fopen(path, "rb");
    if (!f || !yaml_parser_initialize(&parser)) {
        s_report(&c.err, 0, "", "cannot open: %s", f ? "out of memory" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    bool have_doc = yaml_parser_load(&parser, &doc), loaded = have_doc;
    yaml_node_t *root = loaded ? yaml_document_get_root_node(&doc) : NULL;
    if (root && yaml_parser_load(&parser, &extra)) {
        if (yaml_document_get_root_node(&extra))
            s_report(&c.err, s_line(yaml_document_get_root_node(&extra)), "", "only one YAML document is allowed");
        yaml_document_delete(&extra);
    } else if (root)
        loaded = false;
    if (!loaded && parser.context && parser.context_mark.line != parser.problem_mark.line)
        s_report(&c.err, (int) parser.problem_mark.line + 1, "", "invalid YAML: %s (%s at line %d)",
                 parser.problem ? parser.problem : "error", parser.context, (int) parser.context_mark.line + 1);
    else if (!loaded)
        s_report(&c.err, (int) parser.problem_mark.line + 1, "", "invalid YAML: %s%s%s",
                 parser.problem ? parser.problem : "error", parser.context ? " " : "",
                 parser.context ? parser.context : "");
    else if (root && root->type != YAML_MAPPING_NODE && !s_is_null(root))
        s_report(&c.err, s_line(root), "", "the file must be a mapping of sections (redis:, broker:, profiles:, ...)");
    else if (root && !s_is_null(root)) {
        c.doc = &doc;
        if (!(c.dir = s_dir_of(path)))
            s_report(&c.err, 0, "", "out of memory");
        else
            s_read_map(&c, cfg, s_keys, S_NKEYS, root, "", "", NULL);
        free((char *) c.dir);
    }
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return c.err.count ? -1 : 0;
}

/*  ------------------------------------------------------------------------------
 *  Environment, flags, validation
 */

int ax_config_load_env(ax_config_t *cfg, char *const *envp, char **errors)
{
    s_err_t e = {.errors = errors};
    char names[S_NKEYS][64];
    const char *cand[S_NKEYS + 1], *key_env = cfg->llm.api_key_env;
    envp = envp ? envp : environ;
    for (size_t i = 0; i < S_NKEYS; i++) {      /* ARXDIGEST_ + KEY upper-cased, '.' -> '_' */
        int len = snprintf(names[i], sizeof names[i], "ARXDIGEST_%s", s_keys[i].name);
        for (int j = 10; j < len; j++)
            names[i][j] = names[i][j] == '.' ? '_' : (char) toupper((unsigned char) names[i][j]);
        /* profiles have no variable: suggest the key's own variable in their place */
        cand[i] = s_keys[i].type == T_PROFILES ? "ARXDIGEST_LLM_API_KEY" : names[i];
    }
    for (size_t i = 0; envp && envp[i]; i++)     /* the key's variable may be renamed here too */
        if (!strncmp(envp[i], "ARXDIGEST_LLM_API_KEY_ENV=", 26))
            key_env = envp[i] + 26;
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        char name[128];
        if (strncmp(envp[i], "ARXDIGEST_", 10) != 0 || !eq || (size_t) (eq - envp[i]) >= sizeof name)
            continue;
        snprintf(name, sizeof name, "%.*s", (int) (eq - envp[i]), envp[i]);
        if (!strcmp(name, "ARXDIGEST_LLM_API_KEY") || (key_env && !strcmp(name, key_env)))
            continue;
        size_t k = 0;
        while (k < S_NKEYS && (strcmp(names[k], name) != 0 || s_keys[k].type == T_PROFILES))
            k++;
        e.env = name;
        if (k < S_NKEYS)
            s_store(cfg, &s_keys[k], eq + 1, &e, s_keys[k].name, 0, NULL);
        else
            s_unknown(&e, 0, "", name, cand, S_NKEYS, "variable");
    }
    return e.count ? -1 : 0;
}

int ax_config_set(ax_config_t *cfg, const char *key, const char *value, char **errors)
{
    s_err_t e = {.errors = errors};
    const char *cand[S_NKEYS];
    size_t k = 0;
    while (key && k < S_NKEYS && strcmp(s_keys[k].name, key) != 0)
        k++;
    if (key && k < S_NKEYS && s_keys[k].type == T_PROFILES)
        s_report(&e, 0, key, "can only be given in the config file");
    else if (!key || k == S_NKEYS) {
        for (size_t i = 0; i < S_NKEYS; i++)
            cand[i] = s_keys[i].name;
        s_unknown(&e, 0, key ? key : "(null)", key ? key : "", cand, S_NKEYS, "key");
    } else if (!value)
        s_report(&e, 0, key, "needs a value");
    else
        s_store(cfg, &s_keys[k], value, &e, key, 0, NULL);
    return e.count ? -1 : 0;
}

int ax_config_validate(const ax_config_t *cfg, char **errors)
{
    s_err_t e = {.errors = errors};
    for (size_t i = 0; i < S_NKEYS; i++)
        s_check_value(&e, cfg, &s_keys[i], s_keys[i].name, 0);
    for (size_t i = 0; i < cfg->n_profiles; i++) {
        char key[48];
        snprintf(key, sizeof key, "profiles[%zu]", i);
        s_check_record(&e, &cfg->profiles[i], s_profile_fields, S_COUNT(s_profile_fields), 0, key, NULL, 0, true);
        s_profile_rules(&e, cfg->profiles, i, 0, NULL, 0);
    }
    const char *urls[][2] = {{"arxiv.api_url", cfg->arxiv.api_url}, {"arxiv.oai_url", cfg->arxiv.oai_url},
                             {"arxiv.rss_url", cfg->arxiv.rss_url}};
    for (size_t i = 0; i < 3 && cfg->arxiv.min_interval_ms < 3000; i++)
        if (s_is_arxiv_host(urls[i][1])) {
            s_report(&e, 0, "arxiv.min_interval_ms",
                     "%d is below the 3000 ms arXiv allows (%s is an arXiv host); only local test servers "
                     "may use less", cfg->arxiv.min_interval_ms, urls[i][0]);
            break;
        }
    if (cfg->run.from && cfg->run.to && s_date_ok(cfg->run.from) && s_date_ok(cfg->run.to)
        && strcmp(cfg->run.from, cfg->run.to) > 0)
        s_report(&e, 0, "run.to", "%s is before run.from %s", cfg->run.to, cfg->run.from);
    if (cfg->broker.bind && cfg->broker.control && !strcmp(cfg->broker.bind, cfg->broker.control))
        s_report(&e, 0, "broker.control", "must differ from broker.bind");
    return e.count ? -1 : 0;
}

char **ax_config_run_categories(const ax_config_t *cfg, size_t *n)
{
    bool own = cfg->run.n_categories > 0;
    size_t cap = cfg->run.n_categories, got = 0;
    for (size_t i = 0; !own && i < cfg->n_profiles; i++)
        cap += cfg->profiles[i].n_categories;
    char **out = calloc(cap + 1, sizeof *out);
    for (size_t i = 0; out && i < (own ? 1 : cfg->n_profiles); i++) {
        char *const *cats = own ? cfg->run.categories : cfg->profiles[i].categories;
        size_t count = own ? cfg->run.n_categories : cfg->profiles[i].n_categories;
        for (size_t j = 0; j < count; j++) {
            size_t s = 0;
            while (s < got && strcmp(out[s], cats[j]) != 0)
                s++;
            if (s == got && !(out[got++] = strdup(cats[j]))) {
                ax_strv_free(&out, got);
                break;
            }
        }
    }
    *n = out ? got : 0;
    return out;
}
