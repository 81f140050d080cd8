/*  llm.c: the response side of LLM enrichment (see llm.h): classifying chat-completions
 *  responses, validating the answer object, wait times and the cache value. What is sent
 *  (prompts, request body, cache key) is in llm_prompt.c.
 *
 *  Everything here reads text a remote server or a model wrote, so nothing is trusted:
 *  every JSON member is type-checked, a body may be empty, HTML from a proxy, a vLLM flat
 *  error or an OpenAI nested one, and a model's content may be fenced, preceded by a
 *  <think> block or cut off. The rule of thumb for the outcome: what another attempt can fix
 *  is RETRY (server side) or REPAIR (the model's answer), what only this paper suffers is
 *  FAIL_PAPER, and what every paper would hit (key, quota, model name, base_url) is FATAL.
 */
#define _GNU_SOURCE
#include "llm.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "text.h"

#define S_MAX_MESSAGE 600               /* bytes of a server message kept in an error */
#define S_MAX_DURATION_NS (100LL * 86400 * 1000000000LL)

const char *const ax_llm_field_names[AX_LLM_N_FIELDS] = {
    "title_translated", "one_sentence", "summary", "tldr", "motivation", "method", "result",
    "conclusion", "score", "score_reason", "company", "tags_top", "tags_detail",
};

/* The string fields of an answer: where they live and whether they may be empty. */
static const struct {
    const char *name;
    size_t offset;
    int may_be_empty;
} s_text_fields[] = {
    {"title_translated", offsetof(ax_llm_t, title_translated), 0},
    {"one_sentence", offsetof(ax_llm_t, one_sentence), 0},
    {"summary", offsetof(ax_llm_t, summary), 0},
    {"tldr", offsetof(ax_llm_t, tldr), 0},
    {"motivation", offsetof(ax_llm_t, motivation), 0},
    {"method", offsetof(ax_llm_t, method), 0},
    {"result", offsetof(ax_llm_t, result), 0},
    {"conclusion", offsetof(ax_llm_t, conclusion), 0},
    {"score_reason", offsetof(ax_llm_t, score_reason), 1},
    {"company", offsetof(ax_llm_t, company), 1},
};
#define S_N_TEXT (sizeof s_text_fields / sizeof *s_text_fields)

static char **s_text_slot(ax_llm_t *l, size_t i)
{
    return (char **) ((char *) l + s_text_fields[i].offset);
}

const char *ax_llm_outcome_name(ax_llm_outcome_t outcome)
{
    static const char *const names[] = {"ok", "repair", "retry", "fail_paper", "fatal"};
    return (unsigned) outcome < sizeof names / sizeof *names ? names[outcome] : "?";
}

/* Copy of s[0..len) with whitespace runs folded to one space and the ends trimmed: the
 * fields land in one-line Markdown and HTML (real answers never hold line breaks). */
static char *s_text_dup(const char *s, size_t len)
{
    return ax_text_fold(s, len);
}

static int s_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!ax_is_space((unsigned char) s[i]))
            return 0;
    return 1;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t s_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max && ((unsigned char) s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* ------------------------------------------------------------------ durations */

/* Nanoseconds of a duration unit at *p (advanced past it), 0 when there is none. */
static int64_t s_unit_ns(const char **p)
{
    static const struct {
        const char *text;
        int64_t ns;
    } units[] = {
        {"ns", 1}, {"us", 1000}, {"\xC2\xB5s", 1000}, {"\xCE\xBCs", 1000},
        {"ms", 1000000}, {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        size_t n = strlen(units[i].text);
        if (strncmp(*p, units[i].text, n) == 0) {
            *p += n;
            return units[i].ns;
        }
    }
    return 0;
}

/*  Go-style duration ("6m0s", "2.335s", "17ms") or plain seconds ("20", "1.5"). Each
 *  component's whole part is multiplied exactly; its fraction digit by digit, and what falls
 *  below a nanosecond rounds up, so a wait is never shortened. */
int64_t ax_llm_duration_ms(const char *s)
{
    if (!s)
        return -1;
    while (ax_is_space((unsigned char) *s))
        s++;
    int64_t total = 0;
    int components = 0;
    while (*s && !ax_is_space((unsigned char) *s)) {
        const char *num = s;
        int64_t whole = 0;
        while (isdigit((unsigned char) *s)) {
            if (whole > 100000000)
                return -1;
            whole = whole * 10 + (*s++ - '0');
        }
        const char *frac = NULL, *frac_end = NULL;
        if (*s == '.') {
            frac = ++s;
            while (isdigit((unsigned char) *s))
                s++;
            frac_end = s;
        }
        if (s == num || (frac && s == frac && frac - 1 == num))
            return -1;                              /* no digit at all: "", ".", "s" */
        int64_t unit = s_unit_ns(&s);
        if (!unit) {
            if (components || (*s && !ax_is_space((unsigned char) *s)))
                return -1;
            unit = 1000000000LL;                    /* a bare number is seconds */
        }
        int64_t part;
        if (__builtin_mul_overflow(whole, unit, &part) || part > S_MAX_DURATION_NS)
            return -1;
        int64_t place = unit;
        for (const char *f = frac; f && f < frac_end; f++) {
            place /= 10;
            if (!place) {
                while (f < frac_end && *f == '0')
                    f++;
                part += f < frac_end;               /* sub-ns remainder: round up */
                break;
            }
            part += (*f - '0') * place;
        }
        if (__builtin_add_overflow(total, part, &total) || total > S_MAX_DURATION_NS)
            return -1;
        components++;
    }
    while (ax_is_space((unsigned char) *s))
        s++;
    if (!components || *s)
        return -1;
    return (total + 999999) / 1000000;
}

/* "1500" or "1500.5" milliseconds (retry-after-ms), rounded up; -1 when it is not one. */
static int64_t s_plain_ms(const char *s)
{
    char *end;
    if (!s || !isdigit((unsigned char) *s))
        return -1;
    double v = strtod(s, &end);
    while (ax_is_space((unsigned char) *end))
        end++;
    if (*end || !isfinite(v) || v < 0 || v > 1e10)
        return -1;
    return (int64_t) ceil(v);
}

/* Retry-After: seconds (or a duration) or an HTTP-date, relative to now_ms. */
static int64_t s_retry_after_header(const char *s, int64_t now_ms)
{
    int64_t ms = ax_llm_duration_ms(s);
    if (ms >= 0)
        return ms;
    int64_t when;
    if (!s || ax_time_parse(s, &when) != 0)
        return -1;
    int64_t delta = when * 1000 - now_ms;
    return delta > 0 ? delta : 0;
}

/*  The wait a server wrote in prose: "Please try again in 1.2s.", "try again in 6m0s",
 *  "Please retry after 20 seconds", "retry in 500 milliseconds". */
static int64_t s_retry_in_text(const char *msg)
{
    static const char *const phrases[] = {"try again in ", "retry after ", "retry in "};
    static const struct {
        const char *word, *unit;
    } words[] = {
        {"millisecond", "ms"}, {"msec", "ms"}, {"ms", "ms"}, {"second", "s"}, {"sec", "s"},
        {"s", "s"}, {"minute", "m"}, {"min", "m"}, {"m", "m"}, {"hour", "h"}, {"h", "h"},
    };
    if (!msg)
        return -1;
    for (size_t i = 0; i < sizeof phrases / sizeof *phrases; i++) {
        for (const char *p = strcasestr(msg, phrases[i]); p; p = strcasestr(p + 1, phrases[i])) {
            const char *t = p + strlen(phrases[i]);
            char tok[48];
            size_t n = 0;
            while (n + 4 < sizeof tok && (isalnum((unsigned char) t[n]) || t[n] == '.'
                                          || (unsigned char) t[n] >= 0x80))
                n++;
            memcpy(tok, t, n);
            tok[n] = '\0';
            while (n && tok[n - 1] == '.')          /* end of the sentence */
                tok[--n] = '\0';
            if (!n || !isdigit((unsigned char) tok[0]))
                continue;
            if (strspn(tok, "0123456789.") == n && t[n] == ' ') {   /* "20 seconds" */
                const char *w = t + n + 1;
                for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
                    size_t wl = strlen(words[k].word);
                    if (strncasecmp(w, words[k].word, wl) == 0
                        && (wl >= 3 || !isalpha((unsigned char) w[wl]))) {
                        strcat(tok, words[k].unit);     /* n + 4 < sizeof tok: room */
                        break;
                    }
                }
            }
            int64_t ms = ax_llm_duration_ms(tok);
            if (ms >= 0)
                return ms;
        }
    }
    return -1;
}

/* 1 when a remaining-* header says the bucket is empty, or is absent. */
static int s_exhausted(const char *remaining)
{
    if (!remaining)
        return 1;
    while (ax_is_space((unsigned char) *remaining))
        remaining++;
    return strtoll(remaining, NULL, 10) <= 0 && isdigit((unsigned char) *remaining);
}

int64_t ax_llm_retry_after_ms(const ax_llm_headers_t *h, const char *message, int64_t now_ms)
{
    int64_t ms = -1;
    if (h && h->retry_after_ms && (ms = s_plain_ms(h->retry_after_ms)) >= 0)
        return ms;
    if (h && h->retry_after && (ms = s_retry_after_header(h->retry_after, now_ms)) >= 0)
        return ms;
    if ((ms = s_retry_in_text(message)) >= 0)
        return ms;
    if (!h)
        return -1;
    int64_t req = s_exhausted(h->remaining_requests) ? ax_llm_duration_ms(h->reset_requests) : -1;
    int64_t tok = s_exhausted(h->remaining_tokens) ? ax_llm_duration_ms(h->reset_tokens) : -1;
    return req > tok ? req : tok;
}

/* ------------------------------------------------------------------ the answer */

/* A short rendering of a JSON value for an error message: "\"high\"", "4.5", "null". */
static void s_show(const json_t *v, char *buf, size_t size)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) {
        snprintf(buf, size, "?");
        return;
    }
    size_t n = strlen(text);
    if (n + 1 > size) {
        n = s_utf8_cut(text, n, size - 4);
        snprintf(buf, size, "%.*s...", (int) n, text);
    } else {
        memcpy(buf, text, n + 1);
    }
    free(text);
}

/* Score 1..5 from an integer or an integral real; 0 when it is neither. */
static int s_score(const json_t *v)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i >= 1 && i <= 5 ? (int) i : 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return d >= 1 && d <= 5 && d == floor(d) ? (int) d : 0;
    }
    return 0;
}

/* Folded non-blank strings of a JSON array into *v, *n; -1 with a reason in why. */
static int s_tags(const json_t *arr, char ***v, size_t *n, char *why, size_t why_size)
{
    if (!json_is_array(arr)) {
        snprintf(why, why_size, "must be an array of strings");
        return -1;
    }
    size_t count = json_array_size(arr), i;
    json_t *item;
    if (count > AX_LLM_MAX_TAGS) {
        snprintf(why, why_size, "has %zu items, at most %d are allowed", count, AX_LLM_MAX_TAGS);
        return -1;
    }
    json_array_foreach(arr, i, item) {
        if (!json_is_string(item)) {
            char shown[48];
            s_show(item, shown, sizeof shown);
            snprintf(why, why_size, "must be an array of strings, item %zu is %s", i, shown);
            return -1;
        }
        if (json_string_length(item) > AX_LLM_TAG_MAX_BYTES) {
            snprintf(why, why_size, "item %zu is %zu bytes long, at most %d are allowed", i,
                     json_string_length(item), AX_LLM_TAG_MAX_BYTES);
            return -1;
        }
    }
    *v = NULL;
    *n = 0;
    if (!count)
        return 0;
    if (!(*v = calloc(count, sizeof **v)))
        goto oom;
    json_array_foreach(arr, i, item) {
        const char *s = json_string_value(item);
        if (s_blank(s, json_string_length(item)))
            continue;
        if (!((*v)[*n] = s_text_dup(s, json_string_length(item))))
            goto oom;
        (*n)++;
    }
    if (!*n) {
        free(*v);
        *v = NULL;
    }
    return 0;
oom:
    ax_strv_free(v, *n);
    *n = 0;
    snprintf(why, why_size, "out of memory");
    return -1;
}

/*  Validates an answer object into *out (filled only on success). Every problem is listed
 *  in one message, missing fields first, so one repair can fix them all. */
static int s_answer_from_obj(const json_t *obj, ax_llm_t *out, char **error)
{
    ax_llm_t l = {0};
    char *msg = NULL, why[160];
    size_t msg_len = 0;
    FILE *f = open_memstream(&msg, &msg_len);
    if (!f) {
        ax_set_error(error, "out of memory");
        return -1;
    }
    int problems = 0, missing = 0;
    for (size_t i = 0; i < AX_LLM_N_FIELDS; i++)
        if (!json_object_get(obj, ax_llm_field_names[i]))
            fprintf(f, "%s%s", missing++ ? ", " : "missing fields: ", ax_llm_field_names[i]);
    problems = missing;
#define S_PROBLEM(...) (fputs(problems++ ? "; " : "", f), fprintf(f, __VA_ARGS__))
    for (size_t i = 0; i < S_N_TEXT; i++) {
        const json_t *v = json_object_get(obj, s_text_fields[i].name);
        if (!v)
            continue;
        if (!json_is_string(v)) {
            s_show(v, why, 48);
            S_PROBLEM("%s must be a string, got %s", s_text_fields[i].name, why);
            continue;
        }
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!s_text_fields[i].may_be_empty && s_blank(s, n)) {
            S_PROBLEM("%s must not be empty", s_text_fields[i].name);
            continue;
        }
        if (n > AX_LLM_FIELD_MAX_BYTES) {
            S_PROBLEM("%s is %zu bytes long, at most %d are allowed", s_text_fields[i].name, n,
                      AX_LLM_FIELD_MAX_BYTES);
            continue;
        }
        if (!(*s_text_slot(&l, i) = s_text_dup(s, n)))
            S_PROBLEM("out of memory");
    }
    const json_t *score = json_object_get(obj, "score");
    if (score && !(l.score = s_score(score))) {
        s_show(score, why, 48);
        S_PROBLEM("score must be an integer from 1 to 5, got %s", why);
    }
    const json_t *tags = json_object_get(obj, "tags_top");
    if (tags && s_tags(tags, &l.tags_top, &l.n_tags_top, why, sizeof why) != 0)
        S_PROBLEM("tags_top %s", why);
    tags = json_object_get(obj, "tags_detail");
    if (tags && s_tags(tags, &l.tags_detail, &l.n_tags_detail, why, sizeof why) != 0)
        S_PROBLEM("tags_detail %s", why);
#undef S_PROBLEM
    if (fclose(f) != 0 || !msg) {
        free(msg);
        ax_llm_clear(&l);
        ax_set_error(error, "out of memory");
        return -1;
    }
    if (problems) {
        ax_llm_clear(&l);
        if (error)
            *error = msg;
        else
            free(msg);
        return -1;
    }
    free(msg);
    *out = l;
    return 0;
}

/*  The object in a model's content: skips a leading <think>...</think> block (reasoning
 *  models served by vLLM or Ollama), a ``` or ```json fence, and any text before the first
 *  '{' or after the last '}'. Returns the root (caller decrefs) or NULL with *error. */
static json_t *s_content_object(const char *s, size_t len, char **error)
{
    const char *end = s + len;
    while (s < end && ax_is_space((unsigned char) *s))
        s++;
    if (end - s >= 7 && strncmp(s, "<think>", 7) == 0) {
        const char *close = memmem(s, (size_t) (end - s), "</think>", 8);
        if (close)
            s = close + 8;
    }
    const char *open = memchr(s, '{', (size_t) (end - s));
    const char *last = NULL;
    for (const char *p = end; p > s; p--)
        if (p[-1] == '}') {
            last = p;
            break;
        }
    if (!open) {
        ax_set_error(error, "the answer is not a JSON object");
        return NULL;
    }
    if (!last || last <= open)
        last = end;                     /* unterminated: let the parser say where it ends */
    json_error_t jerr;
    json_t *root = json_loadb(open, (size_t) (last - open), 0, &jerr);
    if (!root) {
        ax_set_error(error, "the answer is not valid JSON: %s (line %d, column %d)", jerr.text,
              jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        ax_set_error(error, "the answer is not a JSON object");
        return NULL;
    }
    return root;
}

int ax_llm_from_json(const char *json, size_t len, ax_llm_t *out, char **error)
{
    if (error)
        *error = NULL;
    if (!json) {
        ax_set_error(error, "no answer");
        return -1;
    }
    json_t *root = s_content_object(json, len, error);
    if (!root)
        return -1;
    ax_llm_t l = {0};
    int rc = s_answer_from_obj(root, &l, error);
    const char *model = json_string_value(json_object_get(root, "model"));
    const char *version = json_string_value(json_object_get(root, "prompt_version"));
    if (rc == 0 && ((model && !(l.model = strdup(model)))
                    || (version && !(l.prompt_version = strdup(version))))) {
        ax_llm_clear(&l);
        ax_set_error(error, "out of memory");
        rc = -1;
    }
    json_decref(root);
    if (rc == 0)
        *out = l;
    return rc;
}

static json_t *s_strv_json(char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_string(v[i] ? v[i] : "")) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

char *ax_llm_to_json(const ax_llm_t *l)
{
    if (!l || l->score < 1 || l->score > 5)
        return NULL;
    json_t *obj = json_object();
    int failed = !obj;
    for (size_t i = 0; !failed && i < S_N_TEXT; i++) {
        const char *s = *s_text_slot((ax_llm_t *) l, i);
        if (!s_text_fields[i].may_be_empty && (!s || s_blank(s, strlen(s))))
            failed = 1;
        else if (strcmp(s_text_fields[i].name, "score_reason") == 0  /* the answer's order */
                 && json_object_set_new(obj, "score", json_integer(l->score)) != 0)
            failed = 1;
        else
            failed = json_object_set_new(obj, s_text_fields[i].name, json_string(s ? s : "")) != 0;
    }
    failed = failed || json_object_set_new(obj, "tags_top", s_strv_json(l->tags_top, l->n_tags_top))
             || json_object_set_new(obj, "tags_detail", s_strv_json(l->tags_detail, l->n_tags_detail))
             || (l->model && json_object_set_new(obj, "model", json_string(l->model)))
             || (l->prompt_version
                 && json_object_set_new(obj, "prompt_version", json_string(l->prompt_version)));
    char *text = failed ? NULL : json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

/* ------------------------------------------------------------------ responses */

/* The integer or string at key as text in buf ("" when absent or null). */
static const char *s_code_text(const json_t *obj, const char *key, char *buf, size_t size)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long) json_integer_value(v));
    else
        buf[0] = '\0';
    return buf;
}

/* What an error body says. */
typedef struct {
    char message[S_MAX_MESSAGE + 8];
    char type[64], code[64];
    int status;                 /* a numeric "code" of the error (vLLM, OpenRouter), or 0 */
} s_error_t;

/*  Reads {"error":{"message","type","code"}}, {"error":"text"}, vLLM's flat
 *  {"object":"error","message","type","code"}, {"message"} and FastAPI's {"detail"};
 *  a body that is not JSON gives its own folded text. */
static void s_error_read(const json_t *root, const char *body, size_t len, s_error_t *e)
{
    memset(e, 0, sizeof *e);
    const json_t *src = root, *err = json_object_get(root, "error");
    const char *msg = NULL;
    if (json_is_object(err)) {
        src = err;
        msg = json_string_value(json_object_get(err, "message"));
    } else if (json_is_string(err)) {
        msg = json_string_value(err);
    } else if (json_is_object(root)) {
        msg = json_string_value(json_object_get(root, "message"));
        if (!msg)
            msg = json_string_value(json_object_get(root, "detail"));
    }
    if (json_is_object(src)) {
        s_code_text(src, "type", e->type, sizeof e->type);
        s_code_text(src, "code", e->code, sizeof e->code);
        const json_t *code = json_object_get(src, "code");
        if (json_is_integer(code) && json_integer_value(code) >= 100 && json_integer_value(code) < 600)
            e->status = (int) json_integer_value(code);
    }
    char *folded = NULL;
    if (!msg && !root && body && len) {
        folded = ax_text_fold(body, len < 4 * S_MAX_MESSAGE ? len : 4 * S_MAX_MESSAGE);
        msg = folded;
    } else if (!msg && json_is_object(root)) {
        const json_t *detail = json_object_get(root, "detail");
        if (detail || err)
            msg = folded = json_dumps(detail ? detail : err, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    if (msg) {
        size_t n = s_utf8_cut(msg, strlen(msg), S_MAX_MESSAGE);
        snprintf(e->message, sizeof e->message, "%.*s%s", (int) n, msg, n < strlen(msg) ? "..." : "");
    }
    free(folded);
}

static int s_is_quota(const s_error_t *e)
{
    static const char *const codes[] = {"insufficient_quota", "credit_balance_exhausted",
                                        "billing_hard_limit_reached", "billing_not_active"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(e->code, codes[i]) == 0 || strcmp(e->type, codes[i]) == 0)
            return 1;
    return 0;
}

/* The outcome of an error status (not 2xx). */
static ax_llm_outcome_t s_outcome_of_status(long status, const s_error_t *e)
{
    if (s_is_quota(e))
        return AX_LLM_FATAL;
    if (status >= 300 && status < 400)
        return AX_LLM_FATAL;
    switch (status) {
    case 401: case 402: case 403: case 404:
        return AX_LLM_FATAL;
    case 408: case 409: case 425: case 429:
        return AX_LLM_RETRY;
    default:
        return status >= 400 && status < 500 ? AX_LLM_FAIL_PAPER : AX_LLM_RETRY;
    }
}

/* "HTTP 401: Incorrect API key provided (invalid_request_error, invalid_api_key)". */
static void s_error_message(char **error, long status, const s_error_t *e)
{
    const char *hint = status >= 300 && status < 400 ? " (a redirect: check llm.base_url)"
                       : status == 404                ? " (check llm.model and llm.base_url)"
                                                      : "";
    const char *sep = e->type[0] && e->code[0] ? ", " : "";
    if (e->type[0] || e->code[0])
        ax_set_error(error, "HTTP %ld: %s (%s%s%s)%s", status, e->message[0] ? e->message : "no message",
              e->type, sep, e->code, hint);
    else
        ax_set_error(error, "HTTP %ld: %s%s", status, e->message[0] ? e->message : "no message", hint);
}

static int64_t s_int(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (int64_t) json_integer_value(v) : 0;
    if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 9e18)
        return (int64_t) json_real_value(v);
    return 0;
}

static void s_usage(const json_t *root, ax_llm_usage_t *u)
{
    const json_t *usage = json_object_get(root, "usage");
    if (!json_is_object(usage))
        return;
    u->prompt_tokens = s_int(usage, "prompt_tokens");
    u->completion_tokens = s_int(usage, "completion_tokens");
    int64_t cached = s_int(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
    int64_t hit = s_int(usage, "prompt_cache_hit_tokens");
    u->cached_tokens = cached > hit ? cached : hit;
}

/*  The 2xx part: a choice with content that must be a valid answer. Sets *answer for a
 *  repair and *error for everything but OK. */
static ax_llm_outcome_t s_parse_choice(const json_t *root, long status, ax_llm_t *out,
                                       char **answer, char **error)
{
    const json_t *choices = json_object_get(root, "choices");
    const json_t *choice = json_array_get(choices, 0);
    const json_t *message = json_object_get(choice, "message");
    if (!json_is_object(choice) || !json_is_object(message)) {
        ax_set_error(error, "HTTP %ld: the response has no choice with a message", status);
        return AX_LLM_RETRY;
    }
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    const json_t *content_v = json_object_get(message, "content");
    const char *content = json_is_string(content_v) ? json_string_value(content_v) : "";
    size_t content_len = json_is_string(content_v) ? json_string_length(content_v) : 0;
    const char *refusal = json_string_value(json_object_get(message, "refusal"));
    if (refusal && *refusal) {
        size_t n = s_utf8_cut(refusal, strlen(refusal), S_MAX_MESSAGE);
        ax_set_error(error, "the model refused: %.*s", (int) n, refusal);
        return AX_LLM_FAIL_PAPER;
    }
    if (finish && strcmp(finish, "content_filter") == 0) {
        ax_set_error(error, "the answer was blocked by the provider's content filter");
        return AX_LLM_FAIL_PAPER;
    }
    ax_llm_outcome_t outcome = AX_LLM_REPAIR;
    if (finish && strcmp(finish, "length") == 0) {
        const json_t *usage = json_object_get(root, "usage");
        int64_t reasoning = s_int(json_object_get(usage, "completion_tokens_details"), "reasoning_tokens");
        char spent[80] = "";
        if (s_int(usage, "completion_tokens"))
            snprintf(spent, sizeof spent, " after %lld completion tokens, %lld of them reasoning",
                     (long long) s_int(usage, "completion_tokens"), (long long) reasoning);
        ax_set_error(error, "the answer was truncated at the token limit (finish_reason \"length\"%s): "
                     "write shorter texts", spent);
    } else if (s_blank(content, content_len)) {
        ax_set_error(error, "the answer is empty");
    } else {
        json_t *obj = s_content_object(content, content_len, error);
        if (obj && s_answer_from_obj(obj, out, error) == 0)
            outcome = AX_LLM_OK;
        json_decref(obj);
    }
    if (outcome == AX_LLM_REPAIR && answer)
        *answer = strndup(content, content_len);
    return outcome;
}

/*  Classification in order: no status; error statuses (by status, then quota codes); an
 *  empty or non-JSON 2xx body; a 2xx that carries an error object (OpenRouter does that);
 *  then the choice itself. */
ax_llm_outcome_t ax_llm_parse_response(long http_status, const char *body, size_t len,
                                       const ax_llm_headers_t *h, ax_llm_t *out,
                                       ax_llm_usage_t *usage, int64_t *retry_after_ms,
                                       char **answer, char **error)
{
    ax_llm_usage_t u = {0};
    char *err = NULL, *ans = NULL;
    ax_llm_outcome_t outcome;
    json_t *root = NULL;
    s_error_t e;
    int is_2xx = http_status >= 200 && http_status < 300;

    if (!body)
        len = 0;
    if (len && !s_blank(body, len)) {
        json_error_t jerr;
        root = json_loadb(body, len, 0, &jerr);
    }
    s_error_read(root, body, len, &e);
    if (http_status <= 0) {
        outcome = AX_LLM_RETRY;
        ax_set_error(&err, "no HTTP response");
    } else if (!is_2xx) {
        outcome = s_outcome_of_status(http_status, &e);
        s_error_message(&err, http_status, &e);
    } else if (!len || s_blank(body, len)) {
        outcome = AX_LLM_RETRY;
        ax_set_error(&err, "HTTP %ld: empty response body", http_status);
    } else if (!json_is_object(root)) {
        outcome = AX_LLM_RETRY;
        ax_set_error(&err, "HTTP %ld: the response body is not a JSON object: %s", http_status, e.message);
    } else if (json_object_get(root, "error") && !json_object_get(root, "choices")) {
        long status = e.status >= 300 ? e.status : 500;
        outcome = s_outcome_of_status(status, &e);
        s_error_message(&err, http_status, &e);
    } else {
        s_usage(root, &u);
        ax_llm_t l = {0};
        outcome = s_parse_choice(root, http_status, &l, &ans, &err);
        if (outcome == AX_LLM_OK) {
            const char *model = json_string_value(json_object_get(root, "model"));
            if ((model && !(l.model = strdup(model))) || !(l.prompt_version = strdup(AX_PROMPT_VERSION))) {
                ax_llm_clear(&l);
                outcome = AX_LLM_RETRY;
                ax_set_error(&err, "out of memory");
            } else if (out) {
                *out = l;
            } else {
                ax_llm_clear(&l);
            }
        }
    }
    int64_t wait = outcome == AX_LLM_RETRY ? ax_llm_retry_after_ms(h, e.message, ax_now_ms()) : -1;
    json_decref(root);
    if (usage)
        *usage = u;
    if (retry_after_ms)
        *retry_after_ms = wait;
    if (answer)
        *answer = ans;
    else
        free(ans);
    if (error)
        *error = err;
    else
        free(err);
    return outcome;
}
