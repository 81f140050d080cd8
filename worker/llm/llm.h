/*  llm.h: the pure part of LLM enrichment (SPEC section 4): no network, no Redis.
 *
 *  One request per paper per profile language goes to an OpenAI-compatible
 *  chat-completions endpoint (DeepSeek, OpenAI, vLLM, Ollama, llama.cpp). This module
 *  builds its body (system prompt from the language's template with the reader's interest,
 *  user message with the paper), classifies the answer (ok / repair / retry / fail the
 *  paper / stop the run), validates the JSON object the model wrote into an ax_llm_t,
 *  reads usage and the time a 429 or 503 asks us to wait, and computes the cache key and
 *  the cache value. The transport (curl multi), the shared rate limit and the cache store
 *  live elsewhere and call these functions.
 *
 *  The answer is one JSON object with the fields
 *      title_translated, one_sentence, summary, tldr, motivation, method, result,
 *      conclusion            non-empty strings
 *      score                 integer 1..5 (4.0 is accepted, "4", 4.5, 0 and 6 are not)
 *      score_reason, company strings (may be empty; company is the language's word for
 *                            unknown, 未知 / unknown, when the model cannot tell)
 *      tags_top, tags_detail arrays of strings (may be empty; blank tags are dropped)
 *  Each string field holds at most AX_LLM_FIELD_MAX_BYTES bytes, each tag list at most
 *  AX_LLM_MAX_TAGS tags of at most AX_LLM_TAG_MAX_BYTES: a longer one makes the answer
 *  invalid (a repair request, then the paper fails), never a 10 MB digest entry.
 *  Strings are stored with whitespace runs folded to one space and the ends trimmed (they
 *  land in one-line Markdown fields). Other keys are ignored. The content may come wrapped
 *  in a ``` / ```json fence, after a <think> block, with blank lines or a sentence around
 *  the object: the first '{' to the last '}' is taken.
 */
#ifndef AX_LLM_H
#define AX_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "paper.h"

/*  Version of the prompt templates (worker/llm/llm_prompt.c). It is part of the cache key:
 *  bump it whenever a template or the schema changes, or old answers are served from the
 *  cache for the new prompt. tests/unit/test_llm.c pins a hash of the templates so that a
 *  change without a bump fails there. */
#define AX_PROMPT_VERSION "v1"

/*  Bounds of one answer's fields (bytes of the JSON string's value). Real answers are far
 *  below: the longest field of a month of DeepSeek output is about 1 KB. */
#define AX_LLM_FIELD_MAX_BYTES 16384
#define AX_LLM_MAX_TAGS 32
#define AX_LLM_TAG_MAX_BYTES 256

/*  The answer's fields in the order the prompt lists them (for schemas and messages). */
#define AX_LLM_N_FIELDS 13
extern const char *const ax_llm_field_names[AX_LLM_N_FIELDS];

/*  How the request is built. Strings are borrowed. */
typedef struct {
    const char *model;
    const char *language;   /* profile language: "zh*" -> Chinese template, "en*" (or NULL/"") ->
                               English, other codes: English template told to write in <code> */
    const char *interest;   /* profile interest text the score is against (NULL/"": general) */
    int json_schema;        /* 1: response_format json_schema (strict); 0: json_object */
    double temperature;     /* e.g. 0.2; < 0: not sent (reasoning models reject it) */
    int max_tokens;         /* e.g. 2048; <= 0: not sent */
} ax_llm_opts_t;

/*  The request body (compact JSON text, caller frees; NULL on OOM, a NULL model or invalid
 *  UTF-8 in the paper) for one paper: "model", "messages", "response_format", "temperature",
 *  "max_tokens", "stream": false. The messages: a system message (the template of the
 *  language with the interest and the field instructions), a user message with the paper's
 *  id+version, title, authors (first 20), categories, comments, journal-ref and abstract. With repair_error != NULL it is a repair request: after those two
 *  messages the conversation holds the previous assistant answer (when previous_answer is
 *  non-blank; cut to 8000 bytes) and a user message that quotes repair_error and asks for the
 *  complete corrected object. The system and paper messages are byte-identical between a
 *  request and its repair, and the system message between papers of one profile, so
 *  providers' prompt caches hit. */
char *ax_llm_request_body(const ax_llm_opts_t *o, const ax_paper_t *paper,
                          const char *previous_answer, const char *repair_error);
/*  The same body built as a whole by jansson. ax_llm_request_body dumps the parts around
 *  the paper message once per set of options and encodes only the paper per request (a
 *  third of a worker's CPU otherwise); tests check both give the same bytes. */
char *ax_llm_request_body_uncached(const ax_llm_opts_t *o, const ax_paper_t *paper,
                                   const char *previous_answer, const char *repair_error);

/*  The system prompt alone for a language and interest (caller frees; NULL on OOM). */
char *ax_llm_system_prompt(const char *language, const char *interest);

/*  Response headers that matter, NULL when absent (the caller collects them from curl; header
 *  names are case-insensitive). The remaining_* pair says whether a reset_* header is about
 *  our own exhausted bucket (see ax_llm_retry_after_ms). */
typedef struct {
    const char *retry_after;        /* Retry-After: seconds or an HTTP-date */
    const char *retry_after_ms;     /* retry-after-ms (OpenAI, Azure) */
    const char *reset_requests;     /* x-ratelimit-reset-requests: "6m0s", "17ms" */
    const char *reset_tokens;       /* x-ratelimit-reset-tokens */
    const char *remaining_requests; /* x-ratelimit-remaining-requests */
    const char *remaining_tokens;   /* x-ratelimit-remaining-tokens */
} ax_llm_headers_t;

/*  Token usage of one response (0 when the server did not say). cached_tokens is the larger
 *  of usage.prompt_tokens_details.cached_tokens (OpenAI) and usage.prompt_cache_hit_tokens
 *  (DeepSeek); it is part of prompt_tokens, not added to it. */
typedef struct {
    int64_t prompt_tokens, completion_tokens, cached_tokens;
} ax_llm_usage_t;

typedef enum {
    AX_LLM_OK,          /* *out filled and valid */
    AX_LLM_REPAIR,      /* 2xx, but the content is not a valid answer (bad JSON, missing or
                           invalid field, truncated by finish_reason "length", empty): *error
                           says what is wrong, *answer is the raw content to show the model in
                           a repair request ("" when there was none) */
    AX_LLM_RETRY,       /* 408, 409, 425, 429 (rate limit, overloaded), 5xx, no status, empty
                           or non-JSON 2xx body, 2xx without choices: try again later;
                           *retry_after_ms from headers or "try again in Xs" text, -1 if none */
    AX_LLM_FAIL_PAPER,  /* 400, 413, 422 and other 4xx not listed here, refusal or content
                           filter: this paper fails with the server's message */
    AX_LLM_FATAL        /* 401, 402, 403, 404 (model or endpoint not found), 3xx (base_url
                           redirects), insufficient_quota / credit_balance_exhausted (any
                           status): the whole run must stop with this message */
} ax_llm_outcome_t;

/*  Name of an outcome for logs: "ok", "repair", "retry", "fail_paper", "fatal". */
const char *ax_llm_outcome_name(ax_llm_outcome_t outcome);

/*  Classifies one response. http_status is curl's (0 = no response); body need not be
 *  NUL-terminated; h may be NULL. Every out-pointer is written on every return:
 *    *out           filled only on AX_LLM_OK (must be zeroed or cleared by the caller; it is
 *                   the caller's to ax_llm_clear); model = the response's "model" (else
 *                   NULL), prompt_version = AX_PROMPT_VERSION;
 *    *usage         from the body's usage whenever present (a REPAIR costs tokens too);
 *    *retry_after_ms  for AX_LLM_RETRY, see ax_llm_retry_after_ms; -1 otherwise;
 *    *answer        for AX_LLM_REPAIR the raw content (caller frees), NULL otherwise;
 *    *error         NULL on AX_LLM_OK, else a one-line message (caller frees) that names
 *                   the HTTP status and the server's message / what is wrong with the answer.
 *  On OOM the outcome is AX_LLM_RETRY with *error possibly NULL. usage, retry_after_ms, answer
 *  and error may be NULL when the caller does not want them. */
ax_llm_outcome_t ax_llm_parse_response(long http_status, const char *body, size_t len,
                                       const ax_llm_headers_t *h, ax_llm_t *out,
                                       ax_llm_usage_t *usage, int64_t *retry_after_ms,
                                       char **answer, char **error);

/*  How long a server asks us to wait, in ms, -1 when it does not say. First found wins:
 *  1. retry-after-ms header;
 *  2. Retry-After header: seconds, or an HTTP-date made relative to now_ms (unix ms; >= 0);
 *  3. "try again in 84ms" / "Please try again in 1.2s" / "try again in 6m0s" / "retry after
 *     20 seconds" in message (case-insensitive);
 *  4. x-ratelimit-reset-requests / -tokens, each only when its remaining-* header is "0" or
 *     absent (the longer of the two): a 429 "overloaded" that leaves our buckets full says
 *     nothing about when the server recovers. */
int64_t ax_llm_retry_after_ms(const ax_llm_headers_t *h, const char *message, int64_t now_ms);

/*  "6m0s" -> 360000, "180ms" -> 180, "1.5s" -> 1500, "0s" -> 0, "2h1m" -> 7260000,
 *  "20" (plain seconds, as Retry-After) -> 20000, "1.5" -> 1500; units h, m, s, ms, us/µs, ns
 *  (Go's time.Duration text, as OpenAI's x-ratelimit-reset-* use), fractions rounded up to
 *  the next ms; surrounding whitespace allowed. -1 when unparseable, negative or absurd
 *  (> 100 days). */
int64_t ax_llm_duration_ms(const char *s);

/*  SHA-256 hex (64 chars + NUL into out) over a domain tag, model, AX_PROMPT_VERSION,
 *  language, interest and the paper's id, version, title and abstract, each prefixed with its
 *  length (8 bytes, big-endian) so that field boundaries cannot collide. NULL strings count
 *  as ""; the interest is hashed as written (the prompt folds its whitespace). On a libcrypto
 *  failure (OOM) out is "": skip the cache for that paper then. */
void ax_llm_cache_key(const char *model, const char *language, const char *interest,
                      const ax_paper_t *p, char out[65]);

/*  Cache value: the answer as compact JSON with the 13 fields plus model and prompt_version
 *  when set (caller frees). NULL on OOM or when l is not a valid answer (a required string
 *  NULL or blank, score outside 1..5), so an invalid answer is never cached. */
char *ax_llm_to_json(const ax_llm_t *l);

/*  Parses and validates a cache value (or any answer object: the same rules as a model's
 *  content) into *out (zeroed or cleared by the caller; filled only on success). 0, or -1
 *  with *error set (caller frees; error may be NULL). */
int ax_llm_from_json(const char *json, size_t len, ax_llm_t *out, char **error);

/*  Rough token estimate of a request body for rate-limit reservations: ceil(bytes / 4) +
 *  max_tokens (OpenAI's own limiter counts about chars/4 of the request plus the completion
 *  limit; bytes over-count CJK text, which errs on the safe side). */
int ax_llm_estimate_tokens(const char *request_body, int max_tokens);

#endif
