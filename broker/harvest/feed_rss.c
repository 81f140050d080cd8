/*  feed_rss.c: rss.arxiv.org's RSS 2.0 feed (the layout arXiv has used since January 2024).
 *
 *    <rss><channel>                                  depth 0, 1
 *      <pubDate>Thu, 24 Sep 2026 00:00:00 -0400</pubDate>   2   page->rss_pub_date
 *      <item>                                        2   (none on weekends and holidays)
 *        <title> <link>https://arxiv.org/abs/ID</link>       3
 *        <description>arXiv:2609.26811v1 Announce Type: new
 *          Abstract: ...</description>               3   id, version and abstract
 *        <guid>oai:arXiv.org:2609.26811v1</guid>     3   id when the description has none
 *        <category>cs.LG</category>*  <pubDate>      3
 *        <arxiv:announce_type> <arxiv:DOI> <arxiv:journal_reference>   3
 *        <dc:creator>A, B, C</dc:creator> <dc:rights>                  3
 *
 *  RSS gives no submission date: submitted and updated are the item's pubDate (the
 *  announcement day; for a "replace" that is the new version's day, not v1's).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "feed_internal.h"
#include "text.h"

static int s_start(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth)
{
    if (ns != AX_NS_NONE)
        return 0;
    if (depth == 1 && strcmp(name, "channel") == 0)
        ctx->in_channel = 1;
    else if (depth == 2 && ctx->in_channel && strcmp(name, "item") == 0) {
        ax_feed_entry_reset(&ctx->e);
        ctx->in_entry = 1;
        ctx->item_date = 0;
    }
    return 0;
}

/*  "arXiv:2609.26811v1 Announce Type: new \nAbstract: text": the id, the announce type
 *  (when no <arxiv:announce_type> gives it) and the abstract. A description without the
 *  "Abstract:" marker is all abstract. */
static int s_description(ax_feed_ctx_t *ctx, const char *text, size_t len)
{
    static const char type_key[] = "Announce Type:", abs_key[] = "Abstract:";
    ax_feed_entry_t *e = &ctx->e;
    const char *p = text, *end = text + len;
    while (p < end && ax_is_space((unsigned char) *p))
        p++;
    size_t head = (size_t) (end - p) < 256 ? (size_t) (end - p) : 256;
    if ((size_t) (end - p) > 6 && memcmp(p, "arXiv:", 6) == 0) {
        const char *w = p;
        while (w < end && !ax_is_space((unsigned char) *w))
            w++;
        if (ax_feed_set_id(ctx, AX_FEED_ID_MAIN, p, (size_t) (w - p)) < 0)
            return -1;
    }
    const char *type = memmem(p, head, type_key, sizeof type_key - 1);
    if (type && !e->announce) {
        const char *w = type + sizeof type_key - 1, *stop;
        while (w < end && ax_is_space((unsigned char) *w))
            w++;
        for (stop = w; stop < end && !ax_is_space((unsigned char) *stop);)
            stop++;
        if (stop > w && ax_feed_set_raw(ctx, &e->announce, w, (size_t) (stop - w)) < 0)
            return -1;
    }
    const char *abs = memmem(p, head, abs_key, sizeof abs_key - 1);
    if (abs)
        p = abs + sizeof abs_key - 1;
    return ax_feed_set(ctx, &e->p.abstract, p, (size_t) (end - p));
}

/*  The end of an item: its dates, then the paper. */
static int s_item_end(ax_feed_ctx_t *ctx)
{
    int64_t t = ctx->item_date ? ctx->item_date : ctx->page->rss_pub_date;
    ctx->in_entry = 0;
    ctx->e.p.submitted = ctx->e.p.updated = t;
    return ax_feed_finish(ctx);
}

static int s_end(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth, const char *text,
                 size_t len)
{
    ax_feed_entry_t *e = &ctx->e;
    if (depth == 2 && ns == AX_NS_NONE && ctx->in_channel) {
        if (ctx->in_entry && strcmp(name, "item") == 0)
            return s_item_end(ctx);
        if (!ctx->in_entry && strcmp(name, "pubDate") == 0)
            ctx->page->rss_pub_date = ax_feed_time(text, len);
        return 0;
    }
    if (depth == 1 && ns == AX_NS_NONE && strcmp(name, "channel") == 0)
        ctx->in_channel = 0;
    if (depth != 3 || !ctx->in_entry)
        return 0;
    if (ns == AX_NS_NONE) {
        if (strcmp(name, "title") == 0)
            return ax_feed_set(ctx, &e->p.title, text, len);
        if (strcmp(name, "description") == 0)
            return s_description(ctx, text, len);
        if (strcmp(name, "guid") == 0)
            return ax_feed_set_id(ctx, AX_FEED_ID_ALT, text, len);
        if (strcmp(name, "link") == 0)
            return ax_feed_set_id(ctx, AX_FEED_ID_LINK, text, len);
        if (strcmp(name, "category") == 0)
            return ax_feed_add_categories(ctx, text, len);
        if (strcmp(name, "pubDate") == 0)
            ctx->item_date = ax_feed_time(text, len);
    } else if (ns == AX_NS_DC) {
        if (strcmp(name, "creator") == 0)
            return ax_feed_split_authors(ctx, text, len);
    } else if (ns == AX_NS_ARXIV) {
        if (strcmp(name, "announce_type") == 0)
            return ax_feed_set_raw(ctx, &e->announce, text, len);
        if (strcmp(name, "DOI") == 0 || strcmp(name, "doi") == 0)
            return ax_feed_add_dois(ctx, &e->doi, text, len);
        if (strcmp(name, "journal_reference") == 0 || strcmp(name, "journal_ref") == 0)
            return ax_feed_set(ctx, &e->p.journal_ref, text, len);
    }
    return 0;
}

const ax_feed_format_t ax_feed_rss = {
    .what = "an RSS feed",
    .root = "rss",
    .root_ns = AX_NS_NONE,
    .start = s_start,
    .end = s_end,
};
