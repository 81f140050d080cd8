/*  live.h: the live arXiv sources of SPEC section 2 — `api`, `oai` and `rss`.
 *
 *  A live source harvests on its own thread, so that the broker's loop never waits on
 *  arXiv's 3-second rule: the thread fetches pages politely through one ax_fetch_t,
 *  parses them (feed.h), filters the papers and queues whole pages (at most two ahead of
 *  the broker: memory stays flat however long the harvest). The broker takes papers with
 *  ax_live_next, which never blocks, and polls ax_live_fd to learn when more arrived.
 *
 *  What each source asks for:
 *   api  search_query=(cat:A OR cat:B) AND submittedDate:[FROM TO], sortBy=submittedDate
 *        ascending, page_size per request. A window whose totalResults passes the cap
 *        (30 000, arxiv.api_result_cap) is halved until it fits, then the rest of the
 *        range follows. An empty page while totalResults says more is retried; the HTTP
 *        400 error feed ends the harvest with arXiv's message.
 *   oai  ListRecords metadataPrefix=arXiv, one set per category (cs.IR -> cs:cs:IR,
 *        cs -> cs, hep-th -> physics:hep-th, ...), from=FROM and no until (datestamps are
 *        modification dates: a paper of the window may have been modified since), then
 *        every record is kept only when its own v1 date is in [FROM, TO]. resumptionToken
 *        paging; noRecordsMatch is an empty set; badResumptionToken (an expired token, a
 *        resume after a restart) restarts the set from its first page; deleted records are
 *        counted and skipped.
 *   rss  rss_url/A+B: today's announcements, kept by arxiv.rss_announce_types; an empty
 *        feed (weekends, holidays) is simply nothing announced. No date filter.
 *  Without run.from/run.to, api and oai take yesterday and today (UTC).
 *
 *  The cursor (ax_live_tell) names the page being consumed and how many of its papers
 *  were taken ("api 1717200000 1719791999 4000|37"); a broker restarted with it fetches
 *  that page again and skips those papers: the harvest resumes at the same page, and the
 *  pages before it are never fetched again.
 */
#ifndef AX_LIVE_H
#define AX_LIVE_H

#include <stdint.h>

#include "config.h"
#include "paper.h"

#define AX_LIVE_CURSOR_MAX 1024

typedef struct ax_live ax_live_t;

typedef struct {
    const char *kind;               /* "api", "oai" or "rss" */
    char *const *categories;        /* what to harvest (the run's categories) */
    size_t n_categories;
    int64_t from, to;               /* submission window, unix s (0: yesterday / today) */
    const char *cursor;             /* resume here (ax_live_tell of an earlier life), or NULL */
} ax_live_spec_t;

/*  read, malformed and filtered count the entries of the pages before the one the
 *  cursor names (all of them once the harvest is complete): a broker restarted at the
 *  cursor fetches that page again and counts it then, so each entry counts once. A page
 *  dropped to be fetched again (a split API window, a refused OAI token) counts only
 *  when fetched again. */
typedef struct {
    uint64_t read;                  /* entries parsed */
    uint64_t malformed;             /* entries without a usable id, deleted records */
    uint64_t filtered;              /* outside the categories, window or announce types */
    uint64_t requests;              /* HTTP requests sent (retries included) */
    uint64_t pages;                 /* pages queued */
} ax_live_stats_t;

/*  Checks the spec and starts the harvest thread. NULL with *err (caller frees) on a bad
 *  spec (no categories, unknown kind, a cursor of another source) or OOM. The settings
 *  in cfg are copied. */
ax_live_t *ax_live_open(const ax_live_spec_t *spec, const ax_arxiv_cfg_t *cfg, char **err);

/*  Stops the thread (an ongoing request is abandoned at its next progress callback or
 *  wait) and frees everything. */
void ax_live_destroy(ax_live_t **self_p);

/*  1 = a paper into *out (zeroed here; caller clears), 0 = the harvest is complete and
 *  every paper was taken, 2 = nothing yet (poll ax_live_fd), -1 = the harvest failed
 *  (ax_live_error) and every paper fetched before was taken. Never blocks. */
int ax_live_next(ax_live_t *self, ax_paper_t *out);

/*  A descriptor that turns readable when ax_live_next may return something new. */
int ax_live_fd(const ax_live_t *self);

const char *ax_live_error(const ax_live_t *self);
void ax_live_stats(const ax_live_t *self, ax_live_stats_t *stats);
void ax_live_tell(const ax_live_t *self, char cursor[AX_LIVE_CURSOR_MAX]);

/*  The OAI set of a category ("cs.IR" -> "cs:cs:IR", "hep-th" -> "physics:hep-th",
 *  "astro-ph.CO" -> "physics:astro-ph:CO", "cs" -> "cs") into buf. -1 when it does not fit. */
int ax_live_oai_set(const char *category, char *buf, size_t size);

#endif
