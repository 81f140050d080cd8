/*  feed_internal.h: what feed.c (the reader loop and the paper assembly shared by every
 *  format) offers feed_atom.c, feed_oai.c and feed_rss.c. Not for use outside broker/feed*.
 *
 *  A format is two callbacks. feed.c walks the document with libxml2's xmlTextReader and
 *  calls start() at every element start (attributes readable with ax_feed_attr) and end()
 *  at every element end with the character data read since the last tag: for a leaf
 *  element that is its whole text, entities decoded, not yet folded. Both get the element's
 *  namespace as an ax_feed_ns_t and its depth (root = 0). A format fills ctx->e while an
 *  entry is open and calls ax_feed_finish at the entry's end; page-level facts go straight
 *  into ctx->page.
 */
#ifndef AX_FEED_INTERNAL_H
#define AX_FEED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "feed.h"

/*  Namespaces the formats care about (by URI; prefixes do not matter). */
typedef enum {
    AX_NS_NONE,             /* no namespace (RSS) */
    AX_NS_ATOM,             /* http://www.w3.org/2005/Atom */
    AX_NS_ARXIV,            /* http://arxiv.org/schemas/atom (Atom and RSS extensions) */
    AX_NS_OPENSEARCH,       /* http://a9.com/-/spec/opensearch/1.1/ */
    AX_NS_OAI,              /* http://www.openarchives.org/OAI/2.0/ */
    AX_NS_OAI_ARXIV,        /* http://arxiv.org/OAI/arXiv/ */
    AX_NS_OAI_ARXIVRAW,     /* http://arxiv.org/OAI/arXivRaw/ */
    AX_NS_OAI_DC,           /* http://www.openarchives.org/OAI/2.0/oai_dc/ */
    AX_NS_DC,               /* http://purl.org/dc/elements/1.1/ */
    AX_NS_OTHER
} ax_feed_ns_t;

/*  Growable NUL-terminated byte string. */
typedef struct {
    char *p;
    size_t n;               /* bytes used, without the NUL */
    size_t cap;             /* bytes allocated */
} ax_feed_buf_t;

/*  Where an entry's id may come from, best first; the first that splits wins. */
enum { AX_FEED_ID_MAIN, AX_FEED_ID_ALT, AX_FEED_ID_LINK, AX_FEED_ID_COUNT };

/*  The paper being assembled from one entry / record / item. */
typedef struct {
    ax_paper_t p;           /* authors and categories grow here; id set by ax_feed_finish */
    size_t authors_cap;
    size_t categories_cap;
    char **affs;            /* parallel to p.authors (NULL entry: none), capacity authors_cap */
    int any_aff;            /* 1 when some author has an affiliation */
    char *ids[AX_FEED_ID_COUNT];    /* id candidates as found (untrimmed) */
    char *primary;          /* primary category, moved first at the end */
    ax_feed_buf_t doi;      /* DOIs, one space between */
    ax_feed_buf_t link_doi; /* DOIs from Atom <link title="doi">, used when doi is empty */
    ax_feed_buf_t name;     /* author being read: Atom <name> */
    ax_feed_buf_t keyname, forenames, suffix;   /* ... or OAI arXiv's parts */
    ax_feed_buf_t aff;      /* ... and its affiliations, "; " between */
    int versions;           /* versions seen (arXivRaw), or a version implied by the format */
    int n_dates;            /* dates seen (arXivRaw <date>, oai_dc <dc:date>) */
    int has_abstract;       /* oai_dc: first non-"Comment:" description taken */
    char *announce;         /* RSS announce type */
} ax_feed_entry_t;

typedef struct ax_feed_ctx ax_feed_ctx_t;

/*  One format: the root element it expects and its two callbacks (0 / -1, see
 *  ax_feed_fail). */
typedef struct {
    const char *what;       /* "an Atom feed", for messages */
    const char *root;       /* local name of the root element */
    ax_feed_ns_t root_ns;
    int (*start)(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth);
    int (*end)(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth, const char *text,
               size_t len);
} ax_feed_format_t;

extern const ax_feed_format_t ax_feed_atom;
extern const ax_feed_format_t ax_feed_oai;
extern const ax_feed_format_t ax_feed_rss;

struct ax_feed_ctx {
    void *reader;           /* xmlTextReaderPtr */
    ax_feed_page_t *page;
    char *err;              /* first error (with its line); set = the parse fails */
    int xml_line, xml_col;  /* line and column of libxml2's first error (0: none) ... */
    char *xml_msg;          /* ... and its message */
    const char *open[32];   /* local names of the open elements by depth (reader's dictionary) */
    int open_depth;         /* how many elements are open */
    const void *ns_uri;     /* last namespace URI seen and what it maps to (a cache) */
    ax_feed_ns_t ns;
    /* Format state: where the reader is. */
    int in_entry;           /* inside an Atom entry / OAI record / RSS item */
    int in_author;          /* inside an author element */
    int in_metadata;        /* OAI: inside <metadata> */
    int meta;               /* OAI: the metadata format's namespace (ax_feed_ns_t), 0 = none */
    int deleted;            /* OAI: the record's header says status="deleted" */
    int in_channel;         /* RSS: inside <channel> */
    int64_t item_date;      /* RSS: the item's pubDate */
    char *attr;             /* an attribute kept from start() to end() (OAI error code) */
    ax_feed_entry_t e;
    /* Papers parsed so far, delivered when the document is known good. */
    ax_paper_t *out;
    char **out_announce;    /* parallel to out */
    size_t n_out, cap_out;
};

/*  Appends s[0..n) to b. 0 / -1 on OOM. */
int ax_feed_buf_add(ax_feed_buf_t *b, const char *s, size_t n);
void ax_feed_buf_reset(ax_feed_buf_t *b);
void ax_feed_buf_free(ax_feed_buf_t *b);

/*  Records the first error as "<what> at line N" and returns -1. */
int ax_feed_fail(ax_feed_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*  Out of memory: ax_feed_fail with a fixed message. */
int ax_feed_nomem(ax_feed_ctx_t *ctx);

/*  Value of attribute name of the element at start(), caller frees; NULL when absent. */
char *ax_feed_attr(ax_feed_ctx_t *ctx, const char *name);

/*  *field = text folded (the old value freed); NULL when it folds to nothing. 0 / -1. */
int ax_feed_set(ax_feed_ctx_t *ctx, char **field, const char *text, size_t len);
/*  *field = text with its ends trimmed (may be ""). 0 / -1. */
int ax_feed_set_raw(ax_feed_ctx_t *ctx, char **field, const char *text, size_t len);
/*  Appends the folded text to b, with sep before it when b is not empty; blank text is
 *  ignored. 0 / -1. */
int ax_feed_join(ax_feed_ctx_t *ctx, ax_feed_buf_t *b, const char *sep, const char *text, size_t len);
/*  Decimal integer text (trimmed), -1 when absent or not one. */
int64_t ax_feed_int(const char *text, size_t len);
/*  Date text (RFC 2822, RFC 3339 or YYYY-MM-DD; a zone offset is applied) in unix
 *  seconds, 0 when it is none of those. */
int64_t ax_feed_time(const char *text, size_t len);

/*  Adds an author from name[0..len) (folded; blank names are dropped) with the folded
 *  affiliations aff (may be NULL or ""). 0 / -1. */
int ax_feed_add_author(ax_feed_ctx_t *ctx, const char *name, size_t len, const char *aff);
/*  Adds the author read into e.name or e.keyname/forenames/suffix and e.aff, and empties
 *  those. 0 / -1. */
int ax_feed_commit_author(ax_feed_ctx_t *ctx);
/*  Adds the authors of "A, B and C" (also "A, B, and C"). 0 / -1. */
int ax_feed_split_authors(ax_feed_ctx_t *ctx, const char *text, size_t len);
/*  Adds the whitespace-separated categories of text, skipping duplicates. 0 / -1. */
int ax_feed_add_categories(ax_feed_ctx_t *ctx, const char *text, size_t len);
/*  Adds the whitespace-separated DOIs of text to b, skipping duplicates; "doi:" and
 *  doi.org URL prefixes are taken off. 0 / -1. */
int ax_feed_add_dois(ax_feed_ctx_t *ctx, ax_feed_buf_t *b, const char *text, size_t len);
/*  Sets e.ids[slot] from text (the old one freed). 0 / -1. */
int ax_feed_set_id(ax_feed_ctx_t *ctx, int slot, const char *text, size_t len);

/*  Ends the entry: a paper when one of e.ids splits into an id and it has a date
 *  (ax_paper_problem; kept until the document is known good), else page->skipped + 1
 *  with page->skip_reason. e is reset either way. 0 / -1 on OOM. */
int ax_feed_finish(ax_feed_ctx_t *ctx);
/*  Frees what e holds and zeroes it. */
void ax_feed_entry_reset(ax_feed_entry_t *e);

#endif
