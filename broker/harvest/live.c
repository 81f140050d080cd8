/*  live.c: the live arXiv sources (see live.h): a harvest thread per source, handing at
 *  most AX_LIVE_QUEUE_PAGES parsed pages ahead to the broker (handoff.h), and the consumer
 *  side the broker calls. What differs between api, oai and rss is each source's
 *  ax_live_source_t (live_internal.h); the fetch-parse-retry step here is theirs in common. */
#define _GNU_SOURCE
#include "live.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live_internal.h"
#include "log.h"
#include "snapshot.h"
#include "text.h"

/* The sources, by the name run.source gives them. */
static const ax_live_source_t *const s_sources[] = {&ax_live_api, &ax_live_oai, &ax_live_rss};

/* ---------------------------------------------------------------- helpers */

static void s_page_free(void *arg)
{
    ax_live_page_t *p = arg;
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        ax_paper_clear(&p->papers[i]);
    free(p->papers);
    free(p);
}

void ax_live_put_encoded(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~')
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
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

static int s_on_paper(void *arg, ax_paper_t *paper, const ax_feed_extra_t *extra)
{
    ax_live_harvest_t *h = arg;
    ax_live_t *L = h->L;
    ax_snapshot_filter_t f = {.categories = L->cats, .n_categories = L->n_cats};
    h->read++;
    int keep = ax_snapshot_filter_categories(&f, paper->categories, paper->n_categories);
    if (keep && L->source->keep)
        keep = L->source->keep(L, paper, extra);
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
    ax_live_page_t *p = h->page;
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

/*  The URL and the key of the next page; 0, or -1 on OOM. */
static int s_next_url(const ax_live_harvest_t *h, char **url, char key[AX_LIVE_KEY_MAX])
{
    size_t len = 0;
    FILE *f = open_memstream(url, &len);
    if (!f)
        return -1;
    h->L->source->url(h, f, key);
    return fclose(f) == 0 ? 0 : -1;
}

/*  Queues the page (waiting while AX_LIVE_QUEUE_PAGES are queued) with the entries read
 *  since the page before it. -1 when stopping. */
static int s_push(ax_live_harvest_t *h, ax_live_page_t *page)
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

/*  Restores the state from a cursor "KEY|N". -1 when it is not one of this source. */
static int s_resume(ax_live_harvest_t *h, const char *cursor)
{
    const char *bar = strrchr(cursor, '|');
    if (!bar)
        return -1;
    char *end;
    unsigned long long k = strtoull(bar + 1, &end, 10);
    if (*end)
        return -1;
    h->skip = (size_t) k;
    return h->L->source->resume(h, cursor, (size_t) (bar - cursor));
}

/*  Fetches and parses the page at url into a new h->page. 1 = a good page (*pg to clear),
 *  0 = unusable but worth fetching again (*why says why, h as before), -1 = failed (*err). */
static int s_fetch_page(ax_live_harvest_t *h, const char *url, const char *key, ax_feed_page_t *pg, char *why,
                        size_t why_size, char **err)
{
    ax_live_t *L = h->L;
    ax_fetch_result_t res;
    if (ax_fetch_get(h->fetch, url, &res, err) < 0)
        return -1;
    if (!(h->page = calloc(1, sizeof *h->page))) {
        free(res.body);
        *err = strdup("out of memory");
        return -1;
    }
    snprintf(h->page->key, sizeof h->page->key, "%s", key);
    h->before.skip = h->skip, h->before.read = h->read, h->before.filtered = h->filtered;
    char *perr = NULL;
    int rc = ax_feed_parse(L->source->feed, res.body, res.len, pg, s_on_paper, h, &perr);
    long status = res.status;
    free(res.body);
    const char *transient = NULL;
    if (rc == -2)
        *err = strdup("out of memory");
    else if (rc < 0) {
        snprintf(why, why_size, "HTTP %ld, unreadable body: %s", status, perr ? perr : "?");
        transient = why;
    } else if (pg->error_code && strcmp(pg->error_code, "api") == 0)
        ax_set_error(err, "arXiv API refused %s: %s", url, pg->error_message ? pg->error_message : "?");
    else if (status != 200 && !pg->error_code)
        ax_set_error(err, "%s: HTTP %ld", url, status);
    else if (L->source->transient)
        transient = L->source->transient(h, pg, why, why_size);
    free(perr);
    if (!transient && !*err)
        return 1;
    s_page_free(h->page);               /* forget what the parser took from it */
    h->page = NULL;
    h->skip = h->before.skip;
    h->read = h->before.read, h->filtered = h->before.filtered;
    ax_feed_page_clear(pg);
    return *err ? -1 : 0;
}

/*  One page: fetch and parse, retrying transient failures, then let the source say where
 *  the next page is. 1 = a page was queued (or the position moved), 0 = the harvest is
 *  complete, -1 = failed (*err) or stopping. */
static int s_step(ax_live_harvest_t *h, char **err)
{
    ax_live_t *L = h->L;
    char key[AX_LIVE_KEY_MAX], *url = NULL, why[512];
    ax_feed_page_t pg;
    if (s_next_url(h, &url, key) < 0) {
        *err = strdup("out of memory");
        return -1;
    }
    int rc;
    for (int attempt = 1; (rc = s_fetch_page(h, url, key, &pg, why, sizeof why, err)) == 0; attempt++) {
        if (attempt >= L->max_attempts) {
            ax_set_error(err, "%s: gave up after %d tries: %s", url, attempt, why);
            rc = -1;
            break;
        }
        ax_log_warn("arXiv page unusable, will retry|url=%s attempt=%d error=\"%s\"", url, attempt, why);
        if (ax_fetch_backoff(h->fetch, attempt) < 0) {
            *err = strdup("stopped");
            rc = -1;
            break;
        }
    }
    if (rc < 0) {
        free(url);
        return -1;
    }
    if (pg.skipped)
        ax_log_warn("arXiv entries skipped as malformed|url=%s count=%zu reason=\"%s\"", url, pg.skipped,
                    pg.skip_reason ? pg.skip_reason : "?");
    ax_live_page_t *page = h->page;
    h->page = NULL;
    page->malformed = pg.skipped + pg.deleted;
    int drop = 0, more = L->source->advance(h, &pg, url, &drop, err);
    ax_feed_page_clear(&pg);
    free(url);
    if (more < 0 || drop) {
        s_page_free(page);
        if (drop)                       /* fetched again: its entries count then */
            h->read = h->before.read, h->filtered = h->before.filtered;
        return more;
    }
    if (s_push(h, page) < 0) {
        *err = strdup("stopped");
        return -1;
    }
    return more;
}

static void *s_thread(void *arg)
{
    ax_live_t *L = arg;
    ax_fetch_opts_t fo = {.user_agent = L->user_agent, .min_interval_ms = L->min_interval_ms,
                          .timeout_s = L->timeout_s, .max_attempts = L->max_attempts, .sleep = s_sleep,
                          .cancelled = s_cancelled, .sleep_arg = L};
    ax_live_harvest_t h = {.L = L, .a = L->from, .b = L->to};
    char *err = NULL;
    if (!(h.fetch = ax_fetch_new(&fo)))
        err = strdup("out of memory");
    else if (L->start_cursor[0] && s_resume(&h, L->start_cursor) < 0)
        ax_set_error(&err, "cannot resume the %s harvest at \"%s\"", L->source->name, L->start_cursor);
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
    const ax_live_source_t *source = NULL;
    for (size_t i = 0; i < sizeof s_sources / sizeof *s_sources; i++)
        if (strcmp(spec->kind, s_sources[i]->name) == 0)
            source = s_sources[i];
    if (!source) {
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
    L->source = source;
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
    if (!(L->cats = ax_strv_dup(spec->categories, spec->n_categories)) ||
        (cfg->n_rss_announce_types &&
         !(L->announce = ax_strv_dup(cfg->rss_announce_types, cfg->n_rss_announce_types))) ||
        !(L->api_url = strdup(cfg->api_url)) || !(L->oai_url = strdup(cfg->oai_url)) ||
        !(L->rss_url = strdup(cfg->rss_url)) || !(L->user_agent = strdup(cfg->user_agent)) ||
        !(L->queue = ax_handoff_new(AX_LIVE_QUEUE_PAGES, s_page_free))) {
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
    ax_strv_free(&L->cats, L->n_cats);
    ax_strv_free(&L->announce, L->n_announce);
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
    ax_live_page_t *p = ax_handoff_pop(L->queue, &finished);
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
