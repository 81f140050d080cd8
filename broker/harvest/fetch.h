/*  fetch.h: polite HTTP GETs to arXiv (SPEC section 2).
 *
 *  arXiv asks for one request every 3 seconds and one connection at a time, for all of
 *  a user's machines together. Only the broker fetches, and it does so through one
 *  ax_fetch_t: one curl easy handle (one connection, kept alive, never two at once),
 *  requests strictly one after another, each starting at least min_interval_ms after the
 *  previous one ended (retries included), a User-Agent with a contact address. Transient
 *  failures (connection errors, timeouts, a stalled or cut transfer, 5xx, 408, 429) are
 *  retried with exponential backoff and jitter, never sooner than a Retry-After says; a
 *  request that keeps failing ends with an error that names it.
 */
#ifndef AX_FETCH_H
#define AX_FETCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct ax_fetch ax_fetch_t;

/*  Sleeps up to ms, returning early (-1) when the caller is being stopped. */
typedef int (ax_fetch_sleep_fn)(void *arg, int64_t ms);
/*  1 when the caller is being stopped: a transfer in progress is abandoned. */
typedef int (ax_fetch_cancel_fn)(void *arg);

typedef struct {
    const char *user_agent;
    int min_interval_ms;            /* between the end of a request and the next start */
    int timeout_s;                  /* no byte for this long: the transfer is retried */
    int max_attempts;               /* tries of one request (>= 1) */
    ax_fetch_sleep_fn *sleep;       /* NULL: plain nanosleep */
    ax_fetch_cancel_fn *cancelled;  /* NULL: never */
    void *sleep_arg;                /* for both */
} ax_fetch_opts_t;

typedef struct {
    long status;                    /* HTTP status of the final answer */
    char *body;                     /* NUL-terminated (caller frees) */
    size_t len;
    int attempts;                   /* requests it took */
} ax_fetch_result_t;

/*  NULL on OOM (the strings are copied). */
ax_fetch_t *ax_fetch_new(const ax_fetch_opts_t *opts);
void ax_fetch_destroy(ax_fetch_t **self_p);

/*  GETs url politely. 0 with *out filled when an answer that is not transient came (any
 *  2xx, or a 4xx such as the Atom API's 400 error feed: the caller reads the status);
 *  -1 with *err (caller frees; it names the url and the last failure) when every attempt
 *  failed or the caller is stopping. */
int ax_fetch_get(ax_fetch_t *self, const char *url, ax_fetch_result_t *out, char **err);

/*  Waits like a failed attempt would before trying again (backoff with jitter after the
 *  attempt-th failure, at least min_interval_ms): for callers that find an answer bad
 *  only after parsing it (a truncated XML body, an empty page). -1 when stopping. */
int ax_fetch_backoff(ax_fetch_t *self, int attempt);

/*  Seconds of a Retry-After value ("120" or an HTTP date) from now (unix seconds), or -1. */
int64_t ax_fetch_retry_after_s(const char *value, int64_t now);

/*  Requests sent so far (attempts included). */
uint64_t ax_fetch_requests(const ax_fetch_t *self);

#endif
