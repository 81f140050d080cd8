/*  config.c: arxdigest's configuration: defaults, a YAML file, ARXDIGEST_* variables
 *  and command-line overrides (see config.h).
 *
 *  Everything is table-driven. A field (ax_cfg_field_t) names a key, its type, where it
 *  lives in its struct, its range or value check and its default. Three tables use
 *  it: the config keys (dotted names, "broker.job_size"), the fields of a profile and
 *  those of a keyword. One store function parses and checks a value from text (the
 *  file, the environment, a flag) and one check function re-checks stored values for
 *  ax_config_validate, so every layer applies the same rules, and unknown-key
 *  suggestions come from the same tables. The YAML file is read by config_yaml.c;
 *  what the two files share is declared in config_internal.h.
 *
 *  A bad value is never stored: it is reported (every problem, each with its dotted
 *  key and file:line) and the previous value stays. Values are echoed in messages
 *  only when they came from the file or a flag and the key holds no secret (redis.url
 *  may carry a password); never from the environment.
 */
#define _GNU_SOURCE
#include "config_internal.h"

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

extern char **environ;

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
    [C_NAME] = "is not a profile name",          /* ax_profile_name_problem says why */
    [C_LANGUAGE] = "must be a language code like en, zh or pt-BR",
    [C_RESPONSE_FORMAT] = "must be json_object or json_schema",
    [C_ANNOUNCE] = "must be one of new, cross, replace, replace-cross",
    [C_TERM] = "has no letter or digit",        /* ax_keyword_problem says why */
    [C_NAMESPACE] = "must be 1-100 characters of [A-Za-z0-9_.:-]",
};

#define CF(m) offsetof(ax_config_t, m)
#define STR(n, m, c, f, d) {n, T_STR, CF(m), 0, 0, 0, c, f, d}
#define INT(n, m, lo, hi, d) {n, T_INT, CF(m), 0, lo, hi, C_ANY, 0, d}
#define DBL(n, m, hi, d) {n, T_DOUBLE, CF(m), 0, 0, hi, C_ANY, 0, d}
#define BOOL(n, m, d) {n, T_BOOL, CF(m), 0, 0, 1, C_ANY, 0, d}

const ax_cfg_field_t ax_cfg_keys[] = {
    STR("redis.url", redis.url, C_REDIS, F_SECRET, "redis://127.0.0.1:6379/0"),
    STR("redis.namespace", redis.namespace, C_NAMESPACE, 0, "ax"),
    STR("broker.bind", broker.bind, C_ENDPOINT, 0, "tcp://*:5555"),
    STR("broker.control", broker.control, C_ENDPOINT, 0, "tcp://*:5556"),
    INT("broker.job_size", broker.job_size, 1, 100000, "64"),
    STR("broker.metrics", broker.metrics, C_METRICS, 0, "0.0.0.0:9101"),
    INT("broker.lease_ms", broker.lease_ms, 100, 86400000, "60000"),
    INT("broker.heartbeat_ms", broker.heartbeat_ms, 10, 600000, "1000"),
    INT("broker.liveness", broker.liveness, 2, 100, "3"),
    INT("broker.max_attempts", broker.max_attempts, 1, 100, "3"),
    BOOL("broker.standby", broker.standby, "true"),
    INT("broker.namespace_lease_ms", broker.namespace_lease_ms, 500, 600000, "5000"),
    INT("broker.job_max_bytes", broker.job_max_bytes, 65536, 268435456, "8388608"),
    INT("broker.paper_max_bytes", broker.paper_max_bytes, 4096, 268435456, "1048576"),
    STR("worker.broker", worker.broker, C_ENDPOINT, 0, "tcp://127.0.0.1:5555"),
    STR("worker.collector", worker.collector, C_ENDPOINT, 0, "tcp://127.0.0.1:5557"),
    INT("worker.concurrency", worker.concurrency, 1, 200, "32"),      /* curl sockets polled: enrich.c */
    STR("worker.metrics", worker.metrics, C_METRICS, 0, "0.0.0.0:9102"),
    STR("worker.name", worker.name, C_ANY, 0, ""),
    INT("worker.capacity", worker.capacity, 1, 64, "4"),
    INT("worker.heartbeat_ms", worker.heartbeat_ms, 10, 600000, "1000"),
    INT("worker.liveness", worker.liveness, 2, 100, "3"),
    INT("worker.result_timeout_ms", worker.result_timeout_ms, 100, 3600000, "10000"),
    STR("collector.bind", collector.bind, C_ENDPOINT, 0, "tcp://*:5557"),
    STR("collector.output_dir", collector.output_dir, C_NONEMPTY, 0, "./digests"),
    STR("collector.group_by", collector.group_by, C_GROUP_BY, 0, "day"),
    STR("collector.metrics", collector.metrics, C_METRICS, 0, "0.0.0.0:9103"),
    STR("arxiv.api_url", arxiv.api_url, C_HTTP, 0, "https://export.arxiv.org/api/query"),
    STR("arxiv.oai_url", arxiv.oai_url, C_HTTP, 0, "https://oaipmh.arxiv.org/oai"),
    STR("arxiv.rss_url", arxiv.rss_url, C_HTTP, 0, "https://rss.arxiv.org/rss"),
    INT("arxiv.min_interval_ms", arxiv.min_interval_ms, 0, 3600000, "3000"),
    STR("arxiv.user_agent", arxiv.user_agent, C_NONEMPTY, 0, "arxdigest (mailto:you@example.org)"),
    INT("arxiv.page_size", arxiv.page_size, 1, 2000, "2000"),
    INT("arxiv.api_result_cap", arxiv.api_result_cap, 1, 1000000, "30000"),
    {"arxiv.rss_announce_types", T_LIST, CF(arxiv.rss_announce_types), CF(arxiv.n_rss_announce_types), 0, 0,
     C_ANNOUNCE, 0, "new,cross"},
    INT("arxiv.max_attempts", arxiv.max_attempts, 1, 20, "6"),
    INT("arxiv.timeout_s", arxiv.timeout_s, 1, 3600, "120"),
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
    STR("llm.response_format", llm.response_format, C_RESPONSE_FORMAT, 0, "json_object"),
    DBL("llm.temperature", llm.temperature, 2, "0.3"),
    INT("llm.max_tokens", llm.max_tokens, 16, 1000000, "2048"),
    INT("llm.max_retry_after_s", llm.max_retry_after_s, 1, 86400, "300"),
    INT("llm.max_response_bytes", llm.max_response_bytes, 65536, 268435456, "4194304"),
    STR("run.source", run.source, C_SOURCE, 0, "api"),
    {"run.categories", T_LIST, CF(run.categories), CF(run.n_categories), 0, 0, C_CATEGORY, 0, NULL},
    STR("run.from", run.from, C_DATE, F_NULLABLE, NULL),
    STR("run.to", run.to, C_DATE, F_NULLABLE, NULL),
    BOOL("curve.enabled", curve.enabled, "false"),
    STR("curve.secret_key_file", curve.secret_key_file, C_ANY, F_NULLABLE, NULL),
    STR("curve.server_public_key", curve.server_public_key, C_ANY, F_NULLABLE, NULL),
    STR("curve.allowed_clients", curve.allowed_clients, C_ANY, F_NULLABLE, NULL),
    STR("curve.allowed_control_clients", curve.allowed_control_clients, C_ANY, F_NULLABLE, NULL),
    {"profiles", T_PROFILES, CF(profiles), CF(n_profiles), 0, 0, C_ANY, 0, NULL},
};

#define PF(m) offsetof(ax_profile_t, m)
enum { P_NAME, P_TITLE, P_LANGUAGE, P_INTEREST, P_CATEGORIES, P_KEYWORDS, P_EXCLUDE, P_MIN_HITS, P_TOP_N };
static const ax_cfg_field_t s_profile_fields[] = {
    [P_NAME] = {"name", T_STR, PF(name), 0, 0, 0, C_NAME, 0, NULL},
    [P_TITLE] = {"title", T_STR, PF(title), 0, 0, 0, C_ANY, 0, NULL},     /* default: see config_yaml.c */
    [P_LANGUAGE] = {"language", T_STR, PF(language), 0, 0, 0, C_LANGUAGE, 0, "en"},
    [P_INTEREST] = {"interest", T_STR, PF(interest), 0, 0, 0, C_ANY, 0, ""},
    [P_CATEGORIES] = {"categories", T_LIST, PF(categories), PF(n_categories), 0, 0, C_CATEGORY, 0, NULL},
    [P_KEYWORDS] = {"keywords", T_KEYWORDS, PF(keywords), PF(n_keywords), 0, 0, C_ANY, 0, NULL},
    [P_EXCLUDE] = {"exclude", T_LIST, PF(exclude), PF(n_exclude), 0, 0, C_TERM, 0, NULL},
    [P_MIN_HITS] = {"min_hits", T_INT, PF(min_hits), 0, 0, 1000, C_ANY, 0, "1"},
    [P_TOP_N] = {"top_n", T_INT, PF(top_n), 0, 1, 100000, C_ANY, 0, "20"},
};

#define KF(m) offsetof(ax_keyword_t, m)
static const ax_cfg_field_t s_keyword_fields[] = {
    {"term", T_STR, KF(term), 0, 0, 0, C_TERM, 0, NULL},
    {"aliases", T_LIST, KF(aliases), KF(n_aliases), 0, 0, C_TERM, 0, NULL},
    {"company", T_STR, KF(company), 0, 0, 0, C_ANY, F_NULLABLE, NULL},
};

#define S_COUNT(a) (sizeof(a) / sizeof(a)[0])
#define S_NKEYS S_COUNT(ax_cfg_keys)
const size_t ax_cfg_n_keys = S_NKEYS;

/*  The two kinds of record: what config_yaml.c needs to build, check and free them. */
static void s_profile_clear(void *rec);
static void s_keyword_clear(void *rec);
const ax_cfg_record_t ax_cfg_profile_record = {
    s_profile_fields, S_COUNT(s_profile_fields), sizeof(ax_profile_t), s_profile_clear};
const ax_cfg_record_t ax_cfg_keyword_record = {
    s_keyword_fields, S_COUNT(s_keyword_fields), sizeof(ax_keyword_t), s_keyword_clear};

/*  ------------------------------------------------------------------------------
 *  Messages and suggestions
 */

/*  Appends "<file>:<line>: <key>: <message>" as one line to e->errors. */
void ax_cfg_report(ax_cfg_err_t *e, int line, const char *key, const char *fmt, ...)
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

/*  Formats a dotted key name into buf[AX_CFG_KEYLEN]; absurdly deep names are cut. */
void ax_cfg_keyf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, AX_CFG_KEYLEN, fmt, ap);
    va_end(ap);
}

/*  " (got "v")" for a message, or "" when v must not be echoed. */
static const char *s_echo(const ax_cfg_err_t *e, const ax_cfg_field_t *f, const char *v, char *buf,
                          size_t size)
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
            bool same = tolower((unsigned char) a[i - 1]) == tolower((unsigned char) b[j - 1]);
            size_t best = d[i - 1][j - 1] + !same;
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
void ax_cfg_unknown(ax_cfg_err_t *e, int line, const char *key, const char *word, const char *const *cand,
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
        ax_cfg_report(e, line, key, "unknown %s (did you mean %s?)", what, best);
    else
        ax_cfg_report(e, line, key, "unknown %s", what);
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
static bool s_value_ok(ax_cfg_check_t check, const char *v)
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
        return (!strncasecmp(v, "http://", 7) || !strncasecmp(v, "https://", 8))
               && s_url_host(v, host, sizeof host);
    case C_GROUP_BY:
        return !strcmp(v, "day") || !strcmp(v, "week") || !strcmp(v, "month") || !strcmp(v, "run");
    case C_SOURCE:
        return !strcmp(v, "api") || !strcmp(v, "oai") || !strcmp(v, "rss")
               || (!strncmp(v, "snapshot:", 9) && v[9]);
    case C_DATE:
        return s_date_ok(v);
    case C_ENVNAME:
        return (isalpha((unsigned char) *v) || *v == '_') && s_only(v, S_ALNUM "_");
    case C_CATEGORY:
        return n >= 2 && n <= 32 && isalpha((unsigned char) *v) && s_only(v, S_ALNUM ".-");
    case C_NAME:
        return !ax_profile_name_problem(v);
    case C_LANGUAGE:
        return s_language_ok(v);
    case C_RESPONSE_FORMAT:
        return !strcmp(v, "json_object") || !strcmp(v, "json_schema");
    case C_ANNOUNCE:
        return !strcmp(v, "new") || !strcmp(v, "cross") || !strcmp(v, "replace") || !strcmp(v, "replace-cross");
    case C_TERM:
        return !ax_keyword_problem(v);
    case C_NAMESPACE:
        return n >= 1 && n <= AX_NAMESPACE_MAX && s_only(v, AX_NAMESPACE_CHARS);
    }
    return false;
}

const char *ax_cfg_problem(ax_cfg_check_t check, const char *v)
{
    if (check == C_NAME)            /* the rules shared with SUBMIT say why themselves */
        return ax_profile_name_problem(v);
    if (check == C_TERM)
        return ax_keyword_problem(v);
    return s_value_ok(check, v) ? NULL : s_reasons[check];
}

/*  ------------------------------------------------------------------------------
 *  Storing a value from text (defaults, YAML scalars, environment, flags)
 */

/*  A finite number that is all of s (no space around it, nothing after it); when
 *  integer, a base-10 integer that fits a long long. */
static bool s_parse_number(const char *s, bool integer, double *out)
{
    char *end;
    if (!*s || isspace((unsigned char) *s))
        return false;
    errno = 0;
    *out = integer ? (double) strtoll(s, &end, 10) : strtod(s, &end);
    return errno == 0 && *end == '\0' && isfinite(*out);
}

/*  Replaces the list f of base with items (taken), freeing the old one. */
void ax_cfg_set_list(void *base, const ax_cfg_field_t *f, char **items, size_t n)
{
    ax_strv_free(AX_CFG_AT(base, f, char **), *AX_CFG_COUNT_AT(base, f));
    *AX_CFG_AT(base, f, char **) = items;
    *AX_CFG_COUNT_AT(base, f) = n;
}

/*  A comma-separated list (flags, environment); blank items are skipped, so "" is
 *  the empty list. */
static int s_store_list(void *base, const ax_cfg_field_t *f, const char *text, ax_cfg_err_t *e,
                        const char *key, int line)
{
    char **items = calloc(strlen(text) / 2 + 2, sizeof *items);
    char *copy = strdup(text), *save = NULL;
    size_t n = 0;
    int before = e->count;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && items;
         tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char) *tok))
            tok++;
        size_t len = strlen(tok);
        while (len && isspace((unsigned char) tok[len - 1]))
            tok[--len] = '\0';
        const char *why = len ? ax_cfg_problem(f->check, tok) : NULL;
        if (why)
            ax_cfg_report(e, line, key, "item %zu %s", n + 1, why);
        else if (len && !(items[n++] = strdup(tok)))
            break;
    }
    if (!items || !copy || (n && !items[n - 1]))
        ax_cfg_report(e, line, key, "out of memory");
    free(copy);
    if (e->count != before) {
        ax_strv_free(&items, n);
        return -1;
    }
    ax_cfg_set_list(base, f, items, n);
    return 0;
}

/*  Parses text for field f of base, checks it and stores a copy. text NULL is YAML
 *  null. dir, when given, anchors a relative snapshot:PATH. */
int ax_cfg_store(void *base, const ax_cfg_field_t *f, const char *text, ax_cfg_err_t *e, const char *key,
                 int line, const char *dir)
{
    char echo[96];
    if (f->type == T_LIST)
        return s_store_list(base, f, text ? text : "", e, key, line);
    if (!text && f->check == C_METRICS)
        text = "";
    if ((f->flags & F_NULLABLE) && (!text || (!*text && f->type == T_STR))) {
        free(*AX_CFG_AT(base, f, char *));
        *AX_CFG_AT(base, f, char *) = NULL;
        return 0;
    }
    if (!text) {
        ax_cfg_report(e, line, key, "needs a value");
        return -1;
    }
    if (f->type == T_BOOL) {
        static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++)
            if (!strcasecmp(text, yes[i]) || !strcasecmp(text, no[i])) {
                *AX_CFG_AT(base, f, bool) = !strcasecmp(text, yes[i]);
                return 0;
            }
        ax_cfg_report(e, line, key, "expected true or false%s", s_echo(e, f, text, echo, sizeof echo));
        return -1;
    }
    if (f->type == T_INT || f->type == T_DOUBLE) {
        double dv = 0;
        bool ok = s_parse_number(text, f->type == T_INT, &dv);
        if (!ok || dv < f->min || dv > f->max) {
            if (!ok)
                ax_cfg_report(e, line, key, "expected %s%s", f->type == T_INT ? "an integer" : "a number",
                              s_echo(e, f, text, echo, sizeof echo));
            else
                ax_cfg_report(e, line, key, "must be between %.15g and %.15g%s", f->min, f->max,
                              s_echo(e, f, text, echo, sizeof echo));
            return -1;
        }
        if (f->type == T_INT)
            *AX_CFG_AT(base, f, int) = (int) dv;     /* an integer within [min, max] */
        else
            *AX_CFG_AT(base, f, double) = dv;
        return 0;
    }
    const char *why = ax_cfg_problem(f->check, text);
    if (why) {
        ax_cfg_report(e, line, key, "%s%s", why, s_echo(e, f, text, echo, sizeof echo));
        return -1;
    }
    char *copy = NULL;
    if (f->check == C_SOURCE && dir && !strncmp(text, "snapshot:", 9) && text[9] != '/') {
        if (asprintf(&copy, "snapshot:%s/%s", dir, text + 9) < 0)
            copy = NULL;
    } else
        copy = strdup(text);
    if (!copy) {
        ax_cfg_report(e, line, key, "out of memory");
        return -1;
    }
    free(*AX_CFG_AT(base, f, char *));
    *AX_CFG_AT(base, f, char *) = copy;
    return 0;
}

/*  Stores the defaults of n fields into base (zeroed). -1 on OOM. */
int ax_cfg_defaults(void *base, const ax_cfg_field_t *fields, size_t n)
{
    ax_cfg_err_t quiet = {0};
    for (const ax_cfg_field_t *f = fields; f < fields + n; f++)
        if (f->dflt && ax_cfg_store(base, f, f->dflt, &quiet, f->name, 0, NULL) < 0)
            return -1;
    return 0;
}

/*  ------------------------------------------------------------------------------
 *  Construction and destruction
 */

/*  The clear functions of ax_cfg_keyword_record and ax_cfg_profile_record. */
static void s_keyword_clear(void *rec)
{
    ax_keyword_t *kw = rec;
    free(kw->term);
    ax_strv_free(&kw->aliases, kw->n_aliases);
    free(kw->company);
    memset(kw, 0, sizeof *kw);
}

static void s_profile_clear(void *rec)
{
    ax_profile_clear(rec);
}

void ax_cfg_records_free(const ax_cfg_record_t *r, void **recs_p, size_t n)
{
    for (size_t i = 0; *recs_p && i < n; i++)
        r->clear((char *) *recs_p + i * r->size);
    free(*recs_p);
    *recs_p = NULL;
}

ax_config_t *ax_config_new(void)
{
    ax_config_t *cfg = calloc(1, sizeof *cfg);
    if (cfg && ax_cfg_defaults(cfg, ax_cfg_keys, S_NKEYS) < 0)
        ax_config_destroy(&cfg);
    return cfg;
}

void ax_config_destroy(ax_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ax_config_t *cfg = *self_p;
    for (const ax_cfg_field_t *f = ax_cfg_keys; f < ax_cfg_keys + S_NKEYS; f++)
        if (f->type == T_STR)
            free(*AX_CFG_AT(cfg, f, char *));
        else if (f->type == T_LIST)
            ax_cfg_set_list(cfg, f, NULL, 0);
        else if (f->type == T_PROFILES)
            ax_cfg_records_free(&ax_cfg_profile_record, AX_CFG_AT(cfg, f, void *), *AX_CFG_COUNT_AT(cfg, f));
    free(cfg);
    *self_p = NULL;
}

/*  ------------------------------------------------------------------------------
 *  Checks of stored values, shared by the file reader and ax_config_validate
 */

/*  Reports what is wrong with the stored value of f ("required" when unset). */
static void s_check_value(ax_cfg_err_t *e, const void *base, const ax_cfg_field_t *f, const char *key,
                          int line)
{
    char echo[96];
    if (f->type == T_STR) {
        const char *v = *AX_CFG_AT(base, f, char *), *why = v ? ax_cfg_problem(f->check, v) : NULL;
        if (!v && !(f->flags & F_NULLABLE))
            ax_cfg_report(e, line, key, "required");
        else if (why)
            ax_cfg_report(e, line, key, "%s%s", why, s_echo(e, f, v, echo, sizeof echo));
    } else if (f->type == T_INT || f->type == T_DOUBLE) {
        double v = f->type == T_INT ? *AX_CFG_AT(base, f, int) : *AX_CFG_AT(base, f, double);
        if (!(v >= f->min && v <= f->max))
            ax_cfg_report(e, line, key, "must be between %.15g and %.15g (got %.15g)", f->min, f->max, v);
    } else if (f->type == T_LIST) {
        char *const *v = *AX_CFG_AT(base, f, char **);
        for (size_t i = 0; i < *AX_CFG_COUNT_AT(base, f); i++) {
            const char *why = v[i] ? ax_cfg_problem(f->check, v[i]) : "is missing";
            if (why)
                ax_cfg_report(e, line, key, "item %zu %s%s", i + 1, why,
                              v[i] ? s_echo(e, f, v[i], echo, sizeof echo) : "");
        }
    }
}

/*  Checks every field of a record (a profile or a keyword) not in the failed mask,
 *  with lines[i] (or line) as the line of field i. deep also checks the keywords. */
void ax_cfg_check_record(ax_cfg_err_t *e, const void *base, const ax_cfg_field_t *fields, size_t n,
                         uint32_t failed, const char *prefix, const int *lines, int line, bool deep)
{
    char key[AX_CFG_KEYLEN];
    for (size_t i = 0; i < n; i++) {
        ax_cfg_keyf(key, "%s.%s", prefix, fields[i].name);
        if (!(failed & (1u << i)))
            s_check_value(e, base, &fields[i], key, lines && lines[i] ? lines[i] : line);
        size_t n_keywords = deep && fields[i].type == T_KEYWORDS ? *AX_CFG_COUNT_AT(base, &fields[i]) : 0;
        for (size_t j = 0; j < n_keywords; j++) {
            ax_cfg_keyf(key, "%s.keywords[%zu]", prefix, j);
            ax_cfg_check_record(e, &(*AX_CFG_AT(base, &fields[i], ax_keyword_t *))[j], s_keyword_fields,
                                S_COUNT(s_keyword_fields), 0, key, NULL, line, false);
        }
    }
}

/*  The rules that span fields of profiles[i]: a unique name, at least one keyword,
 *  min_hits reachable. Fields in failed were already reported and are skipped. */
void ax_cfg_profile_rules(ax_cfg_err_t *e, const ax_profile_t *profiles, size_t i, uint32_t failed,
                          const int *lines, int line)
{
    const ax_profile_t *p = &profiles[i];
    char key[64];
#define S_LINE(f) (lines && lines[f] ? lines[f] : line)
    snprintf(key, sizeof key, "profiles[%zu].keywords", i);
    if (!(failed & (1u << P_KEYWORDS)) && p->n_keywords == 0)
        ax_cfg_report(e, S_LINE(P_KEYWORDS), key, "at least one keyword is required");
    snprintf(key, sizeof key, "profiles[%zu].min_hits", i);
    if (!(failed & (1u << P_KEYWORDS | 1u << P_MIN_HITS)) && p->n_keywords && p->min_hits >= 0
        && (size_t) p->min_hits > p->n_keywords)
        ax_cfg_report(e, S_LINE(P_MIN_HITS), key, "%d is more than the %zu keywords: no paper could pass",
                      p->min_hits, p->n_keywords);
    snprintf(key, sizeof key, "profiles[%zu].name", i);
    for (size_t j = 0; p->name && !(failed & (1u << P_NAME)) && j < i; j++)
        if (profiles[j].name && strcmp(profiles[j].name, p->name) == 0) {
            ax_cfg_report(e, S_LINE(P_NAME), key, "duplicate profile name \"%s\" (also profiles[%zu])",
                          p->name, j);
            break;
        }
#undef S_LINE
}

/*  ------------------------------------------------------------------------------
 *  Environment, flags, validation
 */

/*  The variable of a config key: ARXDIGEST_ + the key upper-cased, '.' -> '_'. */
static void s_env_name(const char *key, char *buf, size_t size)
{
    int len = snprintf(buf, size, "ARXDIGEST_%s", key);
    for (int j = 10; j < len && (size_t) j < size; j++)
        buf[j] = buf[j] == '.' ? '_' : (char) toupper((unsigned char) buf[j]);
}

int ax_config_load_env(ax_config_t *cfg, char *const *envp, char **errors)
{
    ax_cfg_err_t e = {.errors = errors};
    char names[S_NKEYS][64];
    const char *cand[S_NKEYS + 1], *key_env = cfg->llm.api_key_env;
    envp = envp ? envp : environ;
    for (size_t i = 0; i < S_NKEYS; i++) {
        s_env_name(ax_cfg_keys[i].name, names[i], sizeof names[i]);
        /* profiles have no variable: suggest the key's own variable in their place */
        cand[i] = ax_cfg_keys[i].type == T_PROFILES ? "ARXDIGEST_LLM_API_KEY" : names[i];
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
        while (k < S_NKEYS && (strcmp(names[k], name) != 0 || ax_cfg_keys[k].type == T_PROFILES))
            k++;
        e.env = name;
        if (k < S_NKEYS)
            ax_cfg_store(cfg, &ax_cfg_keys[k], eq + 1, &e, ax_cfg_keys[k].name, 0, NULL);
        else
            ax_cfg_unknown(&e, 0, "", name, cand, S_NKEYS, "variable");
    }
    return e.count ? -1 : 0;
}

/*  The value of key f of cfg as text that ax_cfg_store reads back to the same value
 *  (caller frees; NULL on OOM or when a list item holds the separator ','). */
static char *s_value_text(const ax_config_t *cfg, const ax_cfg_field_t *f)
{
    char *out = NULL;
    int rc = 0;
    switch (f->type) {
    case T_STR:
        return strdup(*AX_CFG_AT(cfg, f, char *) ? *AX_CFG_AT(cfg, f, char *) : "");
    case T_INT:
        rc = asprintf(&out, "%d", *AX_CFG_AT(cfg, f, int));
        break;
    case T_DOUBLE:
        rc = asprintf(&out, "%.17g", *AX_CFG_AT(cfg, f, double));
        break;
    case T_BOOL:
        return strdup(*AX_CFG_AT(cfg, f, bool) ? "true" : "false");
    case T_LIST: {
        char *const *v = *AX_CFG_AT(cfg, f, char **);
        size_t n = *AX_CFG_COUNT_AT(cfg, f), len = 1;
        for (size_t i = 0; i < n; i++)
            len += strlen(v[i]) + 1;
        if (!(out = calloc(1, len)))
            return NULL;
        for (size_t i = 0; i < n; i++) {
            if (strchr(v[i], ',')) {
                free(out);
                return NULL;
            }
            strcat(strcat(out, i ? "," : ""), v[i]);
        }
        return out;
    }
    case T_KEYWORDS:
    case T_PROFILES:
        break;
    }
    return rc < 0 ? NULL : out;
}

char **ax_config_env(const ax_config_t *cfg, size_t *n, char **errors)
{
    ax_cfg_err_t e = {.errors = errors};
    char **env = calloc(S_NKEYS + 1, sizeof *env), name[64];
    size_t got = 0;
    for (size_t i = 0; env && i < S_NKEYS; i++) {
        const ax_cfg_field_t *f = &ax_cfg_keys[i];
        if (f->type == T_PROFILES)
            continue;
        char *value = s_value_text(cfg, f);
        s_env_name(f->name, name, sizeof name);
        if (!value || asprintf(&env[got], "%s=%s", name, value) < 0) {
            env[got] = NULL;
            ax_cfg_report(&e, 0, f->name, "cannot be passed on (out of memory, or a list item with ',')");
        } else
            got++;
        free(value);
    }
    if (!env || e.count) {
        ax_strv_free(&env, got);
        if (!e.count)
            ax_cfg_report(&e, 0, "", "out of memory");
        return NULL;
    }
    *n = got;
    return env;
}

int ax_config_set(ax_config_t *cfg, const char *key, const char *value, char **errors)
{
    ax_cfg_err_t e = {.errors = errors};
    const char *cand[S_NKEYS];
    size_t k = 0;
    while (key && k < S_NKEYS && strcmp(ax_cfg_keys[k].name, key) != 0)
        k++;
    if (key && k < S_NKEYS && ax_cfg_keys[k].type == T_PROFILES)
        ax_cfg_report(&e, 0, key, "can only be given in the config file");
    else if (!key || k == S_NKEYS) {
        for (size_t i = 0; i < S_NKEYS; i++)
            cand[i] = ax_cfg_keys[i].name;
        ax_cfg_unknown(&e, 0, key ? key : "(null)", key ? key : "", cand, S_NKEYS, "key");
    } else if (!value)
        ax_cfg_report(&e, 0, key, "needs a value");
    else
        ax_cfg_store(cfg, &ax_cfg_keys[k], value, &e, key, 0, NULL);
    return e.count ? -1 : 0;
}

/*  Every check of the config file on n profiles, reported into e. */
static void s_check_profiles(ax_cfg_err_t *e, const ax_profile_t *profiles, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof key, "profiles[%zu]", i);
        ax_cfg_check_record(e, &profiles[i], s_profile_fields, S_COUNT(s_profile_fields), 0, key, NULL, 0, true);
        ax_cfg_profile_rules(e, profiles, i, 0, NULL, 0);
    }
}

int ax_config_check_profiles(const ax_profile_t *profiles, size_t n, char **errors)
{
    ax_cfg_err_t e = {.errors = errors};
    s_check_profiles(&e, profiles, n);
    return e.count ? -1 : 0;
}

int ax_config_validate(const ax_config_t *cfg, char **errors)
{
    ax_cfg_err_t e = {.errors = errors};
    for (size_t i = 0; i < S_NKEYS; i++)
        s_check_value(&e, cfg, &ax_cfg_keys[i], ax_cfg_keys[i].name, 0);
    s_check_profiles(&e, cfg->profiles, cfg->n_profiles);
    const char *urls[][2] = {{"arxiv.api_url", cfg->arxiv.api_url}, {"arxiv.oai_url", cfg->arxiv.oai_url},
                             {"arxiv.rss_url", cfg->arxiv.rss_url}};
    for (size_t i = 0; i < 3 && cfg->arxiv.min_interval_ms < 3000; i++)
        if (s_is_arxiv_host(urls[i][1])) {
            ax_cfg_report(&e, 0, "arxiv.min_interval_ms",
                          "%d is below the 3000 ms arXiv allows (%s is an arXiv host); "
                          "only local test servers may use less", cfg->arxiv.min_interval_ms, urls[i][0]);
            break;
        }
    if (cfg->run.from && cfg->run.to && s_date_ok(cfg->run.from) && s_date_ok(cfg->run.to)
        && strcmp(cfg->run.from, cfg->run.to) > 0)
        ax_cfg_report(&e, 0, "run.to", "%s is before run.from %s", cfg->run.to, cfg->run.from);
    if (cfg->broker.paper_max_bytes > cfg->broker.job_max_bytes)
        ax_cfg_report(&e, 0, "broker.paper_max_bytes", "%d is more than broker.job_max_bytes %d: such a paper "
                      "could fit no job", cfg->broker.paper_max_bytes, cfg->broker.job_max_bytes);
    if (cfg->broker.bind && cfg->broker.control && !strcmp(cfg->broker.bind, cfg->broker.control))
        ax_cfg_report(&e, 0, "broker.control", "must differ from broker.bind");
    if (cfg->curve.enabled && !cfg->curve.secret_key_file)
        ax_cfg_report(&e, 0, "curve.secret_key_file",
                      "required when curve.enabled is true (write one with `arxdigest keygen NAME`)");
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
