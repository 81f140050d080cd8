/*  live.c: the live arXiv sources (see live.h): a harvest thread per source, handing at
 *  most S_QUEUE_PAGES parsed pages ahead to the broker (handoff.h), and the consumer
 *  side the broker calls. */
#define _GNU_SOURCE
#include "live.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "fetch.h"
#include "handoff.h"
#include "log.h"
#include "snapshot.h"
#include "text.h"

#define S_QUEUE_PAGES 2                 /* parsed pages held ahead of the broker */
#define S_KEY_MAX (AX_LIVE_CURSOR_MAX - 24)     /* a page's key; the cursor adds "|N" */

enum { S_API, S_OAI, S_RSS };

typedef struct s_page {
    ax_paper_t *papers;
    size_t n, cap;
    size_t skip;                        /* papers of this page taken in an earlier life */
    uint64_t read, malformed, filtered; /* its entries: counted once the broker is past it */
    char key[S_KEY_MAX];                /* how to fetch this page again */
} s_page_t;

struct ax_live {
    /* settings (read-only once the thread runs) */
    int kind;
    char **cats;
    size_t n_cats;
    int64_t from, to;
    char *api_url, *oai_url, *rss_url, *user_agent;
    int min_interval_ms, page_size, cap, max_attempts, timeout_s;
    char **announce;
    size_t n_announce;
    char start_cursor[AX_LIVE_CURSOR_MAX];
    ax_handoff_t *queue;                /* pages, from the thread to the broker */
    atomic_uint_least64_t requests, pages;  /* the thread's counts */
    /* consumer side */
    s_page_t *cur;
    size_t cur_i;
    char cursor[AX_LIVE_CURSOR_MAX];
    ax_live_stats_t taken;              /* entries of the pages before cur (the cursor's) */
};

/* ---------------------------------------------------------------- helpers */

static char **s_strv_dup(char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    return out;
}

static void s_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void s_page_free(void *arg)
{
    s_page_t *p = arg;
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        ax_paper_clear(&p->papers[i]);
    free(p->papers);
    free(p);
}

/*  Percent-encodes s (RFC 3986 unreserved characters kept) onto f. */
static void s_put_encoded(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~')
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

int ax_live_oai_set(const char *category, char *buf, size_t size)
{
    static const char *physics[] = {"astro-ph", "cond-mat", "gr-qc",   "hep-ex",  "hep-lat", "hep-ph", "hep-th",
                                    "math-ph",  "nlin",     "nucl-ex", "nucl-th", "physics", "quant-ph"};
    const char *dot = strchr(category, '.');
    size_t alen = dot ? (size_t) (dot - category) : strlen(category);
    int is_physics = 0;
    for (size_t i = 0; i < sizeof physics / sizeof *physics; i++)
        if (strlen(physics[i]) == alen && strncmp(physics[i], category, alen) == 0)
            is_physics = 1;
    int n;
    if (is_physics && !(alen == 7 && strncmp(category, "physics", 7) == 0 && dot == NULL))
        n = dot ? snprintf(buf, size, "physics:%.*s:%s", (int) alen, category, dot + 1)
                : snprintf(buf, size, "physics:%s", category);
    else
        n = dot ? snprintf(buf, size, "%.*s:%.*s:%s", (int) alen, category, (int) alen, category, dot + 1)
                : snprintf(buf, size, "%s", category);
    return n < 0 || (size_t) n >= size ? -1 : 0;
}

/* ---------------------------------------------------------------- thread side */

/*  The fetcher's waits and cancellation: those of the handoff, which the broker stops. */
static int s_sleep(void *arg, int64_t ms)
{
    ax_live_t *self = arg;
    return ax_handoff_sleep(self->queue, ms);
}

static int s_cancelled(void *arg)
{
    ax_live_t *self = arg;
    return atomic_load(ax_handoff_stop_flag(self->queue));
}

/*  The harvest's state: where the next page is. */
typedef struct {
    ax_live_t *L;
    ax_fetch_t *fetch;
    int64_t a, b, start;                /* api: window [a, b] (unix s), next start index */
    size_t set;                         /* oai: index of the category being listed */
    char token[S_KEY_MAX - 32];         /* oai: resumptionToken of the next page ("": first) */
    size_t skip;                        /* papers of the next page taken in an earlier life */
    s_page_t *page;                     /* being filled by the parser */
    int restarts;                       /* oai: set restarts since the last good page */
    uint64_t read, filtered;
} s_harvest_t;

static int s_keep_announce(const ax_live_t *L, const char *type)
{
    if (!type)
        return 1;
    for (size_t i = 0; i < L->n_announce; i++)
        if (strcmp(L->announce[i], type) == 0)
            return 1;
    return 0;
}

static int s_on_paper(void *arg, ax_paper_t *paper, const ax_feed_extra_t *extra)
{
    s_harvest_t *h = arg;
    ax_live_t *L = h->L;
    ax_snapshot_filter_t f = {.categories = L->cats, .n_categories = L->n_cats};
    h->read++;
    int keep = ax_snapshot_filter_categories(&f, paper->categories, paper->n_categories);
    if (keep && L->kind == S_OAI)       /* OAI datestamps are modification dates */
        keep = paper->submitted >= L->from && paper->submitted <= L->to;
    if (keep && L->kind == S_RSS)
        keep = s_keep_announce(L, extra ? extra->announce_type : NULL);
    if (!keep) {
        h->filtered++;
        ax_paper_clear(paper);
        return 0;
    }
    if (h->skip) {                      /* taken before the restart */
        h->skip--;
        h->page->skip++;
        ax_paper_clear(paper);
        return 0;
    }
    s_page_t *p = h->page;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        ax_paper_t *v = realloc(p->papers, cap * sizeof *v);
        if (!v) {
            ax_paper_clear(paper);
            return -1;
        }
        p->papers = v;
        p->cap = cap;
    }
    p->papers[p->n++] = *paper;
    memset(paper, 0, sizeof *paper);
    return 0;
}

/*  "YYYYMMDDHHMM" of unix seconds. */
static void s_minute(int64_t t, char out[16])
{
    ax_time_format(t, "%Y%m%d%H%M", out, 16);
}

/*  The URL and the key of the next page; 0, or -1 on OOM. */
static int s_next_url(const s_harvest_t *h, char **url, char key[S_KEY_MAX])
{
    const ax_live_t *L = h->L;
    size_t len = 0;
    FILE *f = open_memstream(url, &len);
    if (!f)
        return -1;
    if (L->kind == S_API) {
        char a[16], b[16];
        s_minute(h->a, a);
        s_minute(h->b, b);
        char *q = NULL;
        size_t ql = 0;
        FILE *qf = open_memstream(&q, &ql);
        if (!qf) {
            fclose(f);
            free(*url);
            return -1;
        }
        fputs(L->n_cats > 1 ? "(" : "", qf);
        for (size_t i = 0; i < L->n_cats; i++)
            fprintf(qf, "%scat:%s%s", i ? " OR " : "", L->cats[i], strchr(L->cats[i], '.') ? "" : ".*");
        fprintf(qf, "%s AND submittedDate:[%s TO %s]", L->n_cats > 1 ? ")" : "", a, b);
        fclose(qf);
        fprintf(f, "%s?search_query=", L->api_url);
        s_put_encoded(f, q ? q : "");
        free(q);
        fprintf(f, "&start=%" PRId64 "&max_results=%d&sortBy=submittedDate&sortOrder=ascending", h->start,
                L->page_size);
        snprintf(key, S_KEY_MAX, "api %" PRId64 " %" PRId64 " %" PRId64, h->a, h->b, h->start);
    } else if (L->kind == S_OAI) {
        if (h->token[0]) {
            fprintf(f, "%s?verb=ListRecords&resumptionToken=", L->oai_url);
            s_put_encoded(f, h->token);
        } else {
            char set[128], day[16];
            if (ax_live_oai_set(L->cats[h->set], set, sizeof set) < 0)
                snprintf(set, sizeof set, "%s", L->cats[h->set]);
            fprintf(f, "%s?verb=ListRecords&metadataPrefix=arXiv&set=", L->oai_url);
            s_put_encoded(f, set);
            fprintf(f, "&from=%s", ax_time_format(L->from, "%Y-%m-%d", day, sizeof day));
        }
        snprintf(key, S_KEY_MAX, "oai %zu %s", h->set, h->token);
    } else {
        fprintf(f, "%s/", L->rss_url);
        for (size_t i = 0; i < L->n_cats; i++) {
            fputs(i ? "+" : "", f);
            s_put_encoded(f, L->cats[i]);
        }
        snprintf(key, S_KEY_MAX, "rss");
    }
    return fclose(f) == 0 ? 0 : -1;
}

/*  Queues the page (waiting while S_QUEUE_PAGES are queued) with the entries read since
 *  the page before it. -1 when stopping. */
static int s_push(s_harvest_t *h, s_page_t *page)
{
    ax_live_t *L = h->L;
    page->read = h->read;
    page->filtered = h->filtered;
    h->read = h->filtered = 0;
    atomic_store(&L->requests, ax_fetch_requests(h->fetch));
    if (ax_handoff_push(L->queue, page) < 0)
        return -1;
    atomic_fetch_add(&L->pages, 1);
    return 0;
}

/*  Restores the state from a cursor "KEY|N". -1 when it is not one of this kind. */
static int s_resume(s_harvest_t *h, const char *cursor)
{
    ax_live_t *L = h->L;
    const char *bar = strrchr(cursor, '|');
    if (!bar)
        return -1;
    char *end;
    unsigned long long k = strtoull(bar + 1, &end, 10);
    if (*end)
        return -1;
    h->skip = (size_t) k;
    if (L->kind == S_API) {
        long long a, b, start;
        if (sscanf(cursor, "api %lld %lld %lld|", &a, &b, &start) != 3)
            return -1;
        h->a = a, h->b = b, h->start = start;
        return 0;
    }
    if (L->kind == S_OAI) {
        size_t set, tl;
        int off = 0;
        if (sscanf(cursor, "oai %zu %n", &set, &off) != 1 || set >= L->n_cats || off <= 0)
            return -1;
        tl = (size_t) (bar - (cursor + off));
        if (tl >= sizeof h->token)
            return -1;
        memcpy(h->token, cursor + off, tl);
        h->token[tl] = '\0';
        h->set = set;
        return 0;
    }
    return strncmp(cursor, "rss|", 4) == 0 ? 0 : -1;
}

/*  One page: fetch and parse, retrying transient failures. 1 = a page was queued (or a
 *  state change made), 0 = the harvest is complete, -1 = failed (*err) or stopping. */
static int s_step(s_harvest_t *h, char **err)
{
    ax_live_t *L = h->L;
    char key[S_KEY_MAX], *url = NULL;
    if (s_next_url(h, &url, key) < 0) {
        *err = strdup("out of memory");
        return -1;
    }
    for (int attempt = 1;; attempt++) {
        ax_fetch_result_t res;
        if (ax_fetch_get(h->fetch, url, &res, err) < 0) {
            free(url);
            return -1;
        }
        h->page = calloc(1, sizeof *h->page);
        if (!h->page) {
            free(res.body);
            free(url);
            *err = strdup("out of memory");
            return -1;
        }
        snprintf(h->page->key, sizeof h->page->key, "%s", key);
        size_t skip_before = h->skip;
        uint64_t read_before = h->read, filtered_before = h->filtered;
        ax_feed_page_t pg;
        char *perr = NULL;
        ax_feed_kind_t fk = L->kind == S_API ? AX_FEED_ATOM : L->kind == S_OAI ? AX_FEED_OAI : AX_FEED_RSS;
        int rc = ax_feed_parse(fk, res.body, res.len, &pg, s_on_paper, h, &perr);
        long status = res.status;
        free(res.body);
        const char *why = NULL;
        char whybuf[512];
        if (rc == -2) {
            *err = strdup("out of memory");
        } else if (rc < 0) {
            snprintf(whybuf, sizeof whybuf, "HTTP %ld, unreadable body: %s", status, perr ? perr : "?");
            why = whybuf;
        } else if (pg.error_code && strcmp(pg.error_code, "api") == 0) {
            ax_set_error(err, "arXiv API refused %s: %s", url, pg.error_message ? pg.error_message : "?");
        } else if (status != 200 && !pg.error_code) {
            ax_set_error(err, "%s: HTTP %ld", url, status);
        } else if (L->kind == S_API && pg.entries + pg.skipped == 0 &&
                   h->start < (pg.total_results < L->cap ? pg.total_results : L->cap)) {
            snprintf(whybuf, sizeof whybuf, "empty page while totalResults is %" PRId64, pg.total_results);
            why = whybuf;               /* arXiv's known transient fault */
        }
        free(perr);
        if (why || *err) {
            s_page_free(h->page);
            h->page = NULL;
            h->skip = skip_before;
            h->read = read_before, h->filtered = filtered_before;
            ax_feed_page_clear(&pg);
            if (*err) {
                free(url);
                return -1;
            }
            if (attempt >= L->max_attempts) {
                ax_set_error(err, "%s: gave up after %d tries: %s", url, attempt, why);
                free(url);
                return -1;
            }
            ax_log_warn("arXiv page unusable, will retry|url=%s attempt=%d error=\"%s\"", url, attempt, why);
            if (ax_fetch_backoff(h->fetch, attempt) < 0) {
                *err = strdup("stopped");
                free(url);
                return -1;
            }
            continue;
        }
        if (pg.skipped)
            ax_log_warn("arXiv entries skipped as malformed|url=%s count=%zu reason=\"%s\"", url, pg.skipped,
                        pg.skip_reason ? pg.skip_reason : "?");
        int more = 1;
        s_page_t *page = h->page;
        h->page = NULL;
        page->malformed = pg.skipped + pg.deleted;
        if (L->kind == S_API) {
            int64_t total = pg.total_results, reach = total < L->cap ? total : L->cap;
            if (h->start == 0 && total > L->cap && h->b - h->a >= 60) {
                /* More than one query may return: halve the window, drop this page. */
                int64_t minutes = (h->b + 1 - h->a) / 60;
                int64_t old_b = h->b;
                h->b = h->a + (minutes / 2) * 60 - 1;
                ax_log_info("arXiv window split|results=%" PRId64 " cap=%d from=%" PRId64 " to=%" PRId64
                            " now_to=%" PRId64, total, L->cap, h->a, old_b, h->b);
                h->skip = skip_before;
                h->read = read_before, h->filtered = filtered_before;  /* fetched again, split */
                s_page_free(page);
                page = NULL;
            } else {
                if (total > L->cap && h->start == 0)
                    ax_log_warn("arXiv window cannot be split below a minute: results past the cap are "
                                "lost|results=%" PRId64 " cap=%d", total, L->cap);
                h->start += (int64_t) (pg.entries + pg.skipped);
                if (h->start >= reach) {            /* window done: the rest of the range */
                    if (h->b >= L->to)
                        more = 0;
                    h->a = h->b + 1;
                    h->b = L->to;
                    h->start = 0;
                }
            }
        } else if (L->kind == S_OAI) {
            if (pg.error_code && strcmp(pg.error_code, "badResumptionToken") == 0) {
                if (++h->restarts > L->max_attempts) {
                    ax_set_error(err, "OAI-PMH refused %d resumption tokens in a row (last %s)", h->restarts, url);
                    ax_feed_page_clear(&pg);
                    s_page_free(page);
                    free(url);
                    return -1;
                }
                ax_log_warn("OAI resumption token refused: listing the set again|set=%s token=%s",
                            L->cats[h->set], h->token);
                h->token[0] = '\0';
                h->skip = 0;            /* the seen set drops what was taken already */
                h->read = read_before, h->filtered = filtered_before;
                s_page_free(page);
                page = NULL;
            } else if (pg.error_code && strcmp(pg.error_code, "noRecordsMatch") != 0) {
                ax_set_error(err, "OAI-PMH error %s for %s: %s", pg.error_code, url,
                             pg.error_message ? pg.error_message : "?");
                ax_feed_page_clear(&pg);
                s_page_free(page);
                free(url);
                return -1;
            } else if (pg.token && *pg.token) {
                if (strlen(pg.token) >= sizeof h->token) {
                    ax_set_error(err, "OAI-PMH resumption token of %zu bytes from %s is too long to keep",
                                 strlen(pg.token), url);
                    ax_feed_page_clear(&pg);
                    s_page_free(page);
                    free(url);
                    return -1;
                }
                snprintf(h->token, sizeof h->token, "%s", pg.token);
            } else {
                h->token[0] = '\0';
                if (++h->set >= L->n_cats)
                    more = 0;
            }
        } else
            more = 0;
        ax_feed_page_clear(&pg);
        free(url);
        if (page)
            h->restarts = 0;
        if (page && s_push(h, page) < 0) {
            *err = strdup("stopped");
            return -1;
        }
        return more;
    }
}

static void *s_thread(void *arg)
{
    ax_live_t *L = arg;
    ax_fetch_opts_t fo = {.user_agent = L->user_agent, .min_interval_ms = L->min_interval_ms,
                          .timeout_s = L->timeout_s, .max_attempts = L->max_attempts, .sleep = s_sleep,
                          .cancelled = s_cancelled, .sleep_arg = L};
    s_harvest_t h = {.L = L, .a = L->from, .b = L->to};
    char *err = NULL;
    if (!(h.fetch = ax_fetch_new(&fo)))
        err = strdup("out of memory");
    else if (L->start_cursor[0] && s_resume(&h, L->start_cursor) < 0)
        ax_set_error(&err, "cannot resume the %s harvest at \"%s\"", L->kind == S_API ? "api" : L->kind == S_OAI ? "oai" : "rss",
                     L->start_cursor);
    int rc = err ? -1 : 1;
    while (rc > 0)
        rc = s_step(&h, &err);
    if (h.fetch)
        atomic_store(&L->requests, ax_fetch_requests(h.fetch));
    ax_fetch_destroy(&h.fetch);
    if (rc < 0 && !err)
        err = strdup("harvest failed");
    else if (rc >= 0) {
        free(err);
        err = NULL;
    }
    ax_handoff_finish(L->queue, err);   /* dropped when the broker stopped us */
    return NULL;
}

/* ---------------------------------------------------------------- consumer side */

ax_live_t *ax_live_open(const ax_live_spec_t *spec, const ax_arxiv_cfg_t *cfg, char **err)
{
    *err = NULL;
    int kind = !strcmp(spec->kind, "api") ? S_API : !strcmp(spec->kind, "oai") ? S_OAI
             : !strcmp(spec->kind, "rss") ? S_RSS : -1;
    if (kind < 0) {
        ax_set_error(err, "unknown live source \"%s\"", spec->kind);
        return NULL;
    }
    if (spec->n_categories == 0) {
        ax_set_error(err, "the %s source needs categories (run.categories, or the profiles' categories)", spec->kind);
        return NULL;
    }
    static int global_init;
    if (!global_init) {                 /* before any thread: neither is thread-safe */
        xmlInitParser();
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_init = 1;
    }
    ax_live_t *L = calloc(1, sizeof *L);
    if (!L) {
        *err = strdup("out of memory");
        return NULL;
    }
    atomic_init(&L->requests, 0);
    atomic_init(&L->pages, 0);
    L->kind = kind;
    L->n_cats = spec->n_categories;
    int64_t today = ax_now_ms() / 1000 / 86400 * 86400;
    L->from = spec->from ? spec->from : today - 86400;
    L->to = spec->to ? spec->to : today + 86399;
    L->min_interval_ms = cfg->min_interval_ms;
    L->page_size = cfg->page_size > 0 ? cfg->page_size : 2000;
    L->cap = cfg->api_result_cap > 0 ? cfg->api_result_cap : 30000;
    L->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 6;
    L->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 120;
    L->n_announce = cfg->n_rss_announce_types;
    snprintf(L->start_cursor, sizeof L->start_cursor, "%s", spec->cursor ? spec->cursor : "");
    snprintf(L->cursor, sizeof L->cursor, "%s", L->start_cursor);
    if (!(L->cats = s_strv_dup(spec->categories, spec->n_categories)) ||
        !(L->announce = s_strv_dup(cfg->rss_announce_types, cfg->n_rss_announce_types)) ||
        !(L->api_url = strdup(cfg->api_url)) || !(L->oai_url = strdup(cfg->oai_url)) ||
        !(L->rss_url = strdup(cfg->rss_url)) || !(L->user_agent = strdup(cfg->user_agent)) ||
        !(L->queue = ax_handoff_new(S_QUEUE_PAGES, s_page_free))) {
        ax_set_error(err, "cannot open the %s source: %s", spec->kind, errno ? strerror(errno) : "out of memory");
        ax_live_destroy(&L);
        return NULL;
    }
    return L;
}

void ax_live_destroy(ax_live_t **self_p)
{
    ax_live_t *L = self_p ? *self_p : NULL;
    if (!L)
        return;
    ax_handoff_destroy(&L->queue);      /* stops the thread first */
    s_page_free(L->cur);
    s_strv_free(L->cats, L->n_cats);
    s_strv_free(L->announce, L->n_announce);
    free(L->api_url);
    free(L->oai_url);
    free(L->rss_url);
    free(L->user_agent);
    free(L);
    *self_p = NULL;
}

/*  The broker is past the current page: its entries count (the cursor names a later
 *  page, or the harvest is over), and it is freed. */
static void s_page_done(ax_live_t *L)
{
    if (!L->cur)
        return;
    L->taken.read += L->cur->read;
    L->taken.malformed += L->cur->malformed;
    L->taken.filtered += L->cur->filtered;
    s_page_free(L->cur);
    L->cur = NULL;
}

int ax_live_next(ax_live_t *L, ax_paper_t *out)
{
    memset(out, 0, sizeof *out);
    /* Started on first use: only the active run fetches. */
    if (ax_handoff_start(L->queue, s_thread, L) < 0)
        return -1;
    if (L->cur && L->cur_i < L->cur->n) {
        *out = L->cur->papers[L->cur_i];
        memset(&L->cur->papers[L->cur_i], 0, sizeof *out);
        L->cur_i++;
        snprintf(L->cursor, sizeof L->cursor, "%s|%zu", L->cur->key, L->cur->skip + L->cur_i);
        return 1;
    }
    int finished;
    s_page_t *p = ax_handoff_pop(L->queue, &finished);
    if (p || finished)
        s_page_done(L);
    if (p) {
        L->cur = p;
        L->cur_i = 0;
        snprintf(L->cursor, sizeof L->cursor, "%s|%zu", p->key, p->skip);
        return ax_live_next(L, out);    /* an empty page (all filtered) moves on */
    }
    return !finished ? 2 : ax_handoff_error(L->queue) ? -1 : 0;
}

int ax_live_fd(const ax_live_t *L)
{
    return ax_handoff_fd(L->queue);
}

const char *ax_live_error(const ax_live_t *L)
{
    const char *error = L->queue ? ax_handoff_error(L->queue) : NULL;
    return error ? error : "no error";
}

void ax_live_stats(const ax_live_t *L, ax_live_stats_t *stats)
{
    *stats = L->taken;
    stats->requests = atomic_load((atomic_uint_least64_t *) &L->requests);
    stats->pages = atomic_load((atomic_uint_least64_t *) &L->pages);
}

void ax_live_tell(const ax_live_t *L, char cursor[AX_LIVE_CURSOR_MAX])
{
    snprintf(cursor, AX_LIVE_CURSOR_MAX, "%s", L->cursor);
}
