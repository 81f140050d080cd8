/*  feed.h: parsers for the three live arXiv formats (SPEC section 2).
 *
 *  One call parses one HTTP response body of one of
 *    - AX_FEED_ATOM: the export.arxiv.org/api/query Atom feed (the post-2025 layout and the
 *      legacy one with namespaces declared per element), including the HTTP 400 "Error"
 *      feed and empty results;
 *    - AX_FEED_OAI:  an OAI-PMH response: ListRecords / GetRecord with metadataPrefix
 *      arXiv (the one the broker asks for), arXivRaw or oai_dc; deleted records; the
 *      resumptionToken; <error> envelopes. Other verbs parse and yield no paper;
 *    - AX_FEED_RSS:  the rss.arxiv.org RSS 2.0 feed (post-2024 layout).
 *  Every paper comes out normalised the same way whatever the format: id without version
 *  plus the version number (old-style ids are fine), title / abstract / comments /
 *  journal_ref whitespace-folded with LaTeX and Unicode kept and XML entities decoded,
 *  categories primary first without duplicates, submitted = v1 date and updated = latest
 *  version date (unix seconds, zone offsets applied), every DOI kept (one space between),
 *  authors "Forenames Keyname Suffix", affiliations where the source has them.
 *
 *  Delivery is all-or-nothing per document: papers are buffered while the document is
 *  read and handed to the callback only after the whole document parsed well-formed.
 *  A body cut mid-transfer (or otherwise malformed) therefore delivers nothing and
 *  returns -1, and the caller simply retries the page. A page holds at most a few
 *  thousand entries, so buffering them costs a few MB at worst.
 *
 *  Built on libxml2's streaming xmlTextReader (no DOM is ever built); the network is never
 *  touched (XML_PARSE_NONET), a DOCTYPE is refused (arXiv never sends one, and it is the
 *  door to entity tricks), and libxml2 never prints: its errors become *err.
 *  Thread-safe as long as libxml2 was initialised (xmlInitParser) before threads start.
 */
#ifndef AX_FEED_H
#define AX_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "paper.h"

typedef enum {
    AX_FEED_ATOM,           /* export.arxiv.org/api/query */
    AX_FEED_OAI,            /* OAI-PMH (oaipmh.arxiv.org/oai, formerly export.arxiv.org/oai2) */
    AX_FEED_RSS             /* rss.arxiv.org/rss/<cat> */
} ax_feed_kind_t;

/*  What a page says about itself, besides its papers. Strings are owned by the page
 *  (ax_feed_page_clear frees them). */
typedef struct {
    int64_t total_results;  /* Atom opensearch:totalResults, -1 when absent */
    int64_t start_index;    /* Atom opensearch:startIndex, -1 when absent */
    int64_t items_per_page; /* Atom opensearch:itemsPerPage, -1 when absent */
    char *token;            /* OAI resumptionToken text; NULL (absent) or "" = no more pages */
    int64_t token_cursor;   /* its cursor attribute, -1 when absent */
    int64_t token_size;     /* its completeListSize attribute, -1 when absent */
    char *token_expires;    /* its expirationDate attribute, NULL when absent */
    char *error_code;       /* OAI <error code="..">, or "api" for the Atom API's error entry */
    char *error_message;    /* the OAI error's text / the Atom error entry's summary */
    int64_t rss_pub_date;   /* RSS channel pubDate (the announcement day), 0 when absent */
    size_t entries;         /* papers handed to the callback */
    size_t deleted;         /* OAI records whose header says status="deleted" (no paper) */
    size_t skipped;         /* entries / records without a usable id or metadata (no paper) */
    const char *skip_reason;    /* why the last of them was skipped (static), NULL when none */
} ax_feed_page_t;

/*  Per-paper facts that are not part of ax_paper_t. Borrowed for the callback's duration. */
typedef struct {
    const char *announce_type;  /* RSS: "new", "cross", "replace", "replace-cross" (as
                                 * arXiv wrote it); NULL for Atom and OAI */
} ax_feed_extra_t;

/*  Called once per paper, in document order, after the whole document parsed. The
 *  callback owns *paper afterwards: it must ax_paper_clear it or keep (move) it. Return
 *  < 0 to stop: the papers not yet delivered are freed and ax_feed_parse returns -2. */
typedef int (*ax_feed_paper_fn)(void *arg, ax_paper_t *paper, const ax_feed_extra_t *extra);

/*  Parses the document data[0..len) of the given kind. *page is overwritten (clear it
 *  with ax_feed_page_clear afterwards, whatever the result; on -1 it is left empty); fn
 *  may be NULL (papers are then only counted and freed).
 *    0  the document is well-formed and of the expected kind: page filled, every paper
 *       delivered. An arXiv-level error (page->error_code) is a 0 too: the document
 *       itself is fine, it just carries an error instead of papers;
 *   -1  malformed, truncated or not the expected kind (an HTML page, an Atom feed given
 *       as RSS...): *err (caller frees; err may be NULL) says what, with the line, e.g.
 *       "XML error at line 35, where the document ends inside <summary> (truncated?):
 *       Extra content at the end of the document". No paper was delivered; retry the page;
 *   -2  the callback returned < 0 (no *err). */
int ax_feed_parse(ax_feed_kind_t kind, const char *data, size_t len, ax_feed_page_t *page,
                  ax_feed_paper_fn fn, void *arg, char **err);

/*  Frees the page's strings and zeroes it (counts included). Accepts NULL. */
void ax_feed_page_clear(ax_feed_page_t *page);

/*  "atom", "oai", "rss" (for logs). */
const char *ax_feed_kind_name(ax_feed_kind_t kind);

#endif
