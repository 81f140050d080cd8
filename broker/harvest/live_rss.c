/*  live_rss.c: the `rss` source (live.h): rss_url/A+B, today's announcements, kept by
 *  arxiv.rss_announce_types. One page; an empty feed is simply nothing announced.
 */
#define _GNU_SOURCE
#include <string.h>

#include "live_internal.h"

static void s_url(const ax_live_harvest_t *h, FILE *f, char key[AX_LIVE_KEY_MAX])
{
    const ax_live_t *L = h->L;
    fprintf(f, "%s/", L->rss_url);
    for (size_t i = 0; i < L->n_cats; i++) {
        fputs(i ? "+" : "", f);
        ax_live_put_encoded(f, L->cats[i]);
    }
    snprintf(key, AX_LIVE_KEY_MAX, "rss");
}

static int s_resume(ax_live_harvest_t *h, const char *key, size_t key_len)
{
    (void) h;
    return key_len == 3 && strncmp(key, "rss", 3) == 0 ? 0 : -1;
}

/*  An item without an announce type (older feeds) is kept. */
static int s_keep(const ax_live_t *L, const ax_paper_t *p, const ax_feed_extra_t *extra)
{
    (void) p;
    if (!extra || !extra->announce_type)
        return 1;
    for (size_t i = 0; i < L->n_announce; i++)
        if (strcmp(L->announce[i], extra->announce_type) == 0)
            return 1;
    return 0;
}

static int s_advance(ax_live_harvest_t *h, const ax_feed_page_t *pg, const char *url, int *drop, char **err)
{
    (void) h, (void) pg, (void) url, (void) drop, (void) err;
    return 0;                           /* the feed is one page */
}

const ax_live_source_t ax_live_rss = {
    .name = "rss", .feed = AX_FEED_RSS, .url = s_url, .resume = s_resume, .keep = s_keep, .advance = s_advance,
};
