/*  live_internal.h: what live.c (the harvest thread, the handoff to the broker, the
 *  fetch-parse-retry step every source shares) offers the three live sources, and what
 *  each source is: live_api.c, live_oai.c, live_rss.c. Not for use outside broker/harvest/live*.
 *
 *  A source is one ax_live_source_t: how to name and build the URL of the next page, how
 *  to resume from a cursor, which parsed papers it keeps, which pages it treats as a
 *  transient fault, and where the next page is once a page is good. live.c never branches
 *  on the kind of source.
 */
#ifndef AX_LIVE_INTERNAL_H
#define AX_LIVE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "feed.h"
#include "fetch.h"
#include "handoff.h"
#include "live.h"

#define AX_LIVE_QUEUE_PAGES 2                   /* parsed pages held ahead of the broker */
#define AX_LIVE_KEY_MAX (AX_LIVE_CURSOR_MAX - 24)   /* a page's key; the cursor adds "|N" */

typedef struct ax_live_source ax_live_source_t;

/*  A parsed page on its way to the broker. */
typedef struct {
    ax_paper_t *papers;
    size_t n, cap;
    size_t skip;                        /* papers of this page taken in an earlier life */
    uint64_t read, malformed, filtered; /* its entries: counted once the broker is past it */
    char key[AX_LIVE_KEY_MAX];          /* how to fetch this page again */
} ax_live_page_t;

struct ax_live {
    /* settings (read-only once the thread runs) */
    const ax_live_source_t *source;
    char **cats;
    size_t n_cats;
    int64_t from, to;                   /* submission window, unix s */
    char *api_url, *oai_url, *rss_url, *user_agent;
    int min_interval_ms, page_size, cap, max_attempts, timeout_s;
    char **announce;                    /* rss: announce types kept */
    size_t n_announce;
    char start_cursor[AX_LIVE_CURSOR_MAX];
    ax_handoff_t *queue;                /* pages, from the thread to the broker */
    atomic_uint_least64_t requests, pages;  /* the thread's counts */
    /* consumer side */
    ax_live_page_t *cur;
    size_t cur_i;
    char cursor[AX_LIVE_CURSOR_MAX];
    ax_live_stats_t taken;              /* entries of the pages before cur (the cursor's) */
};

/*  The harvest's state, on the thread: where the next page is. */
typedef struct {
    ax_live_t *L;
    ax_fetch_t *fetch;
    int64_t a, b, start;                /* api: window [a, b] (unix s), next start index */
    size_t set;                         /* oai: index of the category being listed */
    char token[AX_LIVE_KEY_MAX - 32];   /* oai: resumptionToken of the next page ("": first) */
    int restarts;                       /* oai: set restarts since the last good page */
    size_t skip;                        /* papers of the next page taken in an earlier life */
    ax_live_page_t *page;               /* being filled by the parser */
    uint64_t read, filtered;            /* entries since the last page queued */
    struct {                            /* skip, read, filtered before the page being judged */
        size_t skip;
        uint64_t read, filtered;
    } before;
} ax_live_harvest_t;

struct ax_live_source {
    const char *name;                   /* "api", "oai", "rss": run.source and the cursor */
    ax_feed_kind_t feed;                /* the format of its pages */
    /*  Writes the URL of the next page onto f and its key (how to fetch it again, the
     *  cursor's part before "|N") into key. */
    void (*url)(const ax_live_harvest_t *h, FILE *f, char key[AX_LIVE_KEY_MAX]);
    /*  Restores the position from a cursor's key (key_len bytes, before its "|"). 0, or -1
     *  when it is not a key of this source. */
    int (*resume)(ax_live_harvest_t *h, const char *key, size_t key_len);
    /*  1 when a paper of the run's categories is kept (NULL: every one). */
    int (*keep)(const ax_live_t *L, const ax_paper_t *p, const ax_feed_extra_t *extra);
    /*  A parsed page that is no use now but may be fetched again (arXiv's empty page):
     *  its reason into why (returned), else NULL. NULL callback: none. */
    const char *(*transient)(const ax_live_harvest_t *h, const ax_feed_page_t *pg, char *why, size_t size);
    /*  A good page was parsed: moves h to the next page. *drop = 1 when the page is not
     *  to be queued but fetched again another way (an api window split, an oai token
     *  refused); the caller then forgets its entries (h->before holds the counts of
     *  before it; an api split fetches it again with the same skip, an oai restart with
     *  none). 1 = more pages, 0 = the harvest is
     *  complete, -1 = failed (*err set). */
    int (*advance)(ax_live_harvest_t *h, const ax_feed_page_t *pg, const char *url, int *drop, char **err);
};

extern const ax_live_source_t ax_live_api, ax_live_oai, ax_live_rss;

/*  Percent-encodes s (RFC 3986 unreserved characters kept) onto f. */
void ax_live_put_encoded(FILE *f, const char *s);

#endif
