/*  live_api.c: the `api` source (live.h): export.arxiv.org/api/query, the run's
 *  categories OR-ed, a submittedDate window paged by arxiv.page_size, a window over
 *  arxiv.api_result_cap halved until it fits.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "live_internal.h"
#include "log.h"
#include "text.h"

/*  "YYYYMMDDHHMM" of unix seconds. */
static void s_minute(int64_t t, char out[16])
{
    ax_time_format(t, "%Y%m%d%H%M", out, 16);
}

static void s_url(const ax_live_harvest_t *h, FILE *f, char key[AX_LIVE_KEY_MAX])
{
    const ax_live_t *L = h->L;
    char a[16], b[16], *q = NULL;
    s_minute(h->a, a);
    s_minute(h->b, b);
    size_t ql = 0;
    FILE *qf = open_memstream(&q, &ql);
    if (qf) {
        fputs(L->n_cats > 1 ? "(" : "", qf);
        for (size_t i = 0; i < L->n_cats; i++)
            fprintf(qf, "%scat:%s%s", i ? " OR " : "", L->cats[i], strchr(L->cats[i], '.') ? "" : ".*");
        fprintf(qf, "%s AND submittedDate:[%s TO %s]", L->n_cats > 1 ? ")" : "", a, b);
        fclose(qf);
    }
    fprintf(f, "%s?search_query=", L->api_url);
    ax_live_put_encoded(f, q ? q : "");
    free(q);
    fprintf(f, "&start=%" PRId64 "&max_results=%d&sortBy=submittedDate&sortOrder=ascending", h->start, L->page_size);
    snprintf(key, AX_LIVE_KEY_MAX, "api %" PRId64 " %" PRId64 " %" PRId64, h->a, h->b, h->start);
}

static int s_resume(ax_live_harvest_t *h, const char *key, size_t key_len)
{
    long long a, b, start;
    int end = 0;
    if (sscanf(key, "api %lld %lld %lld%n", &a, &b, &start, &end) != 3 || (size_t) end != key_len)
        return -1;
    h->a = a, h->b = b, h->start = start;
    return 0;
}

/*  arXiv's known transient fault: an empty page while totalResults says there is more. */
static const char *s_transient(const ax_live_harvest_t *h, const ax_feed_page_t *pg, char *why, size_t size)
{
    int64_t reach = pg->total_results < h->L->cap ? pg->total_results : h->L->cap;
    if (pg->entries + pg->skipped != 0 || h->start >= reach)
        return NULL;
    snprintf(why, size, "empty page while totalResults is %" PRId64, pg->total_results);
    return why;
}

static int s_advance(ax_live_harvest_t *h, const ax_feed_page_t *pg, const char *url, int *drop, char **err)
{
    const ax_live_t *L = h->L;
    int64_t total = pg->total_results, reach = total < L->cap ? total : L->cap;
    (void) url;
    (void) err;
    if (h->start == 0 && total > L->cap && h->b - h->a >= 60) {
        /* More than one query may return: halve the window, drop this page. */
        int64_t minutes = (h->b + 1 - h->a) / 60, old_b = h->b;
        h->b = h->a + (minutes / 2) * 60 - 1;
        ax_log_info("arXiv window split|results=%" PRId64 " cap=%d from=%" PRId64 " to=%" PRId64 " now_to=%" PRId64,
                    total, L->cap, h->a, old_b, h->b);
        h->skip = h->before.skip;       /* fetched again, split */
        *drop = 1;
        return 1;
    }
    if (total > L->cap && h->start == 0)
        ax_log_warn("arXiv window cannot be split below a minute: results past the cap are lost|results=%" PRId64
                    " cap=%d", total, L->cap);
    h->start += (int64_t) (pg->entries + pg->skipped);
    if (h->start < reach)
        return 1;
    if (h->b >= L->to)                  /* the last window is done */
        return 0;
    h->a = h->b + 1;                    /* window done: the rest of the range */
    h->b = L->to;
    h->start = 0;
    return 1;
}

const ax_live_source_t ax_live_api = {
    .name = "api", .feed = AX_FEED_ATOM, .url = s_url, .resume = s_resume, .transient = s_transient,
    .advance = s_advance,
};
