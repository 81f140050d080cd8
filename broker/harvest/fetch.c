/*  fetch.c: polite HTTP GETs to arXiv (see fetch.h). */
#define _GNU_SOURCE
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "text.h"

#define AX_FETCH_BACKOFF_MIN_MS 500     /* first backoff when min_interval_ms is smaller */
#define AX_FETCH_BACKOFF_MAX_MS 120000
#define AX_FETCH_MAX_BODY (512u << 20)  /* a page is a few MB; more is not arXiv */

struct ax_fetch {
    CURL *easy;
    char *user_agent;
    int min_interval_ms, timeout_s, max_attempts;
    ax_fetch_sleep_fn *sleep;
    ax_fetch_cancel_fn *cancelled;
    void *sleep_arg;
    int64_t last_end_ms;            /* monotonic end of the previous request (0: none yet) */
    uint64_t requests;
    /* the transfer in progress */
    char *buf;
    size_t len, cap;
    char *retry_after;
};

static int s_nanosleep(void *arg, int64_t ms)
{
    (void) arg;
    struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

static int s_sleep(ax_fetch_t *self, int64_t ms)
{
    return ms > 0 ? self->sleep(self->sleep_arg, ms) : 0;
}

static size_t s_on_body(char *data, size_t size, size_t n, void *userp)
{
    ax_fetch_t *self = userp;
    size_t len = size * n;
    if (self->len + len + 1 > AX_FETCH_MAX_BODY)
        return 0;
    if (self->len + len + 1 > self->cap) {
        size_t cap = self->cap ? self->cap : 1 << 16;
        while (cap < self->len + len + 1)
            cap *= 2;
        char *p = realloc(self->buf, cap);
        if (!p)
            return 0;                   /* curl fails the transfer: retried */
        self->buf = p;
        self->cap = cap;
    }
    memcpy(self->buf + self->len, data, len);
    self->len += len;
    self->buf[self->len] = '\0';
    return len;
}

static int s_on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    ax_fetch_t *self = userp;
    (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
    return self->cancelled && self->cancelled(self->sleep_arg);    /* non-zero aborts */
}

static size_t s_on_header(char *data, size_t size, size_t n, void *userp)
{
    ax_fetch_t *self = userp;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
        const char *v = data + 12;
        size_t vl = len - 12;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        free(self->retry_after);
        self->retry_after = strndup(v, vl);
    }
    return len;
}

ax_fetch_t *ax_fetch_new(const ax_fetch_opts_t *opts)
{
    ax_fetch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->min_interval_ms = opts->min_interval_ms > 0 ? opts->min_interval_ms : 0;
    self->timeout_s = opts->timeout_s > 0 ? opts->timeout_s : 120;
    self->max_attempts = opts->max_attempts > 0 ? opts->max_attempts : 1;
    self->sleep = opts->sleep ? opts->sleep : s_nanosleep;
    self->cancelled = opts->cancelled;
    self->sleep_arg = opts->sleep_arg;
    if (!(self->user_agent = strdup(opts->user_agent ? opts->user_agent : "arxdigest")) ||
        !(self->easy = curl_easy_init())) {
        ax_fetch_destroy(&self);
        return NULL;
    }
    CURL *e = self->easy;
    curl_easy_setopt(e, CURLOPT_USERAGENT, self->user_agent);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, self);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, self);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");          /* gzip when offered */
    curl_easy_setopt(e, CURLOPT_MAXCONNECTS, 1L);               /* one connection, ever */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long) self->timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);           /* stalled: < 1 B/s ... */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long) self->timeout_s);     /* ... this long */
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, self);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    return self;
}

void ax_fetch_destroy(ax_fetch_t **self_p)
{
    ax_fetch_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    if (self->easy)
        curl_easy_cleanup(self->easy);
    free(self->user_agent);
    free(self->buf);
    free(self->retry_after);
    free(self);
    *self_p = NULL;
}

uint64_t ax_fetch_requests(const ax_fetch_t *self)
{
    return self->requests;
}

int64_t ax_fetch_retry_after_s(const char *value, int64_t now)
{
    if (!value || !*value)
        return -1;
    char *end;
    long long s = strtoll(value, &end, 10);
    if (end != value && *end == '\0')
        return s >= 0 ? s : -1;
    int64_t at;
    if (ax_time_parse(value, &at) < 0)
        return -1;
    return at > now ? at - now : 0;
}

/*  Backoff before try attempt + 1: base * 2^(attempt - 1), jitter to [b/2, b]. */
static int64_t s_backoff_ms(const ax_fetch_t *self, int attempt)
{
    int64_t base = self->min_interval_ms > AX_FETCH_BACKOFF_MIN_MS ? self->min_interval_ms : AX_FETCH_BACKOFF_MIN_MS;
    int64_t b = base << (attempt > 1 ? (attempt - 1 < 10 ? attempt - 1 : 10) : 0);
    if (b > AX_FETCH_BACKOFF_MAX_MS)
        b = AX_FETCH_BACKOFF_MAX_MS;
    return b / 2 + rand() % (b / 2 + 1);
}

int ax_fetch_backoff(ax_fetch_t *self, int attempt)
{
    return s_sleep(self, s_backoff_ms(self, attempt));
}

/*  Waits until min_interval_ms has passed since the previous request ended. */
static int s_polite_wait(ax_fetch_t *self)
{
    if (!self->last_end_ms)
        return 0;
    int64_t due = self->last_end_ms + self->min_interval_ms - ax_mono_ms();
    return s_sleep(self, due);
}

/*  1 when the answer (or failure) is worth another try. */
static int s_transient(CURLcode code, long status)
{
    if (code != CURLE_OK)
        return 1;                       /* connection, timeout, cut transfer (PARTIAL_FILE), ... */
    return status == 408 || status == 429 || status >= 500;
}

int ax_fetch_get(ax_fetch_t *self, const char *url, ax_fetch_result_t *out, char **err)
{
    memset(out, 0, sizeof *out);
    *err = NULL;
    char why[256] = "";
    for (int attempt = 1; attempt <= self->max_attempts; attempt++) {
        if (s_polite_wait(self) < 0)
            break;
        self->len = 0;
        free(self->retry_after);
        self->retry_after = NULL;
        curl_easy_setopt(self->easy, CURLOPT_URL, url);
        self->requests++;
        CURLcode code = curl_easy_perform(self->easy);
        self->last_end_ms = ax_mono_ms();
        if (code == CURLE_ABORTED_BY_CALLBACK)
            break;
        long status = 0;
        curl_easy_getinfo(self->easy, CURLINFO_RESPONSE_CODE, &status);
        out->attempts = attempt;
        if (!s_transient(code, status)) {
            out->status = status;
            out->body = self->buf ? self->buf : strdup("");
            out->len = self->len;
            self->buf = NULL;
            self->len = self->cap = 0;
            if (!out->body) {
                *err = strdup("out of memory");
                return -1;
            }
            return 0;
        }
        if (code != CURLE_OK)
            snprintf(why, sizeof why, "%s", curl_easy_strerror(code));
        else
            snprintf(why, sizeof why, "HTTP %ld", status);
        int64_t wait = s_backoff_ms(self, attempt);
        int64_t ra = ax_fetch_retry_after_s(self->retry_after, ax_now_ms() / 1000);
        if (ra >= 0 && ra * 1000 > wait)
            wait = ra * 1000 > AX_FETCH_BACKOFF_MAX_MS * 5 ? AX_FETCH_BACKOFF_MAX_MS * 5 : ra * 1000;
        if (attempt == self->max_attempts)
            break;
        ax_log_warn("arXiv request failed, will retry|url=%s attempt=%d error=\"%s\" wait_ms=%lld", url, attempt,
                    why, (long long) wait);
        /* From the end of this request, like the politeness interval (which it covers:
         * the backoff is never shorter than min_interval_ms). */
        if (s_sleep(self, wait) < 0)
            break;
    }
    if (why[0] && out->attempts == self->max_attempts)
        ax_set_error(err, "%s failed %d times, last: %s", url, out->attempts, why);
    else
        ax_set_error(err, "%s: stopped", url);
    return -1;
}
