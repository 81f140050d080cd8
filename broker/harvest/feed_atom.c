/*  feed_atom.c: the arXiv API's Atom feed (export.arxiv.org/api/query).
 *
 *    <feed>                                          depth 0
 *      <opensearch:totalResults> startIndex itemsPerPage   1
 *      <entry>                                       1
 *        <id>http://arxiv.org/abs/2609.28471v1</id>  2   id and version
 *        <published> <updated> <title> <summary>     2   submitted, updated, folded texts
 *        <author><name/><arxiv:affiliation/>*</author>   2 / 3
 *        <category term=""/> <arxiv:primary_category term=""/>
 *        <arxiv:comment> <arxiv:journal_ref> <arxiv:doi>  2
 *        <link title="doi" href="https://doi.org/..."/>   2   DOI when no arxiv:doi
 *
 *  The legacy (2016) layout declares the namespaces on each element and hard-wraps
 *  titles and abstracts; matching by namespace URI and folding handle both alike. An entry
 *  whose id is an .../api/errors URL is the API's error report (sent with HTTP 400): it
 *  becomes page->error_code "api" with its summary as the message, not a paper.
 */
#include <stdlib.h>
#include <string.h>

#include "feed_internal.h"

static int s_start(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth)
{
    if (depth == 1 && ns == AX_NS_ATOM && strcmp(name, "entry") == 0) {
        ax_feed_entry_reset(&ctx->e);
        ctx->in_entry = 1;
        return 0;
    }
    if (!ctx->in_entry || depth != 2)
        return 0;
    int rc = 0;
    if (ns == AX_NS_ATOM && strcmp(name, "author") == 0)
        ctx->in_author = 1;
    else if ((ns == AX_NS_ATOM && strcmp(name, "category") == 0) ||
             (ns == AX_NS_ARXIV && strcmp(name, "primary_category") == 0)) {
        char *term = ax_feed_attr(ctx, "term");
        if (term && name[0] == 'p') {
            free(ctx->e.primary);
            ctx->e.primary = term;
            term = NULL;
        } else if (term)
            rc = ax_feed_add_categories(ctx, term, strlen(term));
        free(term);
    } else if (ns == AX_NS_ATOM && strcmp(name, "link") == 0) {
        char *title = ax_feed_attr(ctx, "title");
        if (title && strcmp(title, "doi") == 0) {
            char *href = ax_feed_attr(ctx, "href");
            if (href)
                rc = ax_feed_add_dois(ctx, &ctx->e.link_doi, href, strlen(href));
            free(href);
        }
        free(title);
    }
    return rc;
}

/*  The end of an entry: the API's error report, or a paper. */
static int s_entry_end(ax_feed_ctx_t *ctx)
{
    ax_feed_entry_t *e = &ctx->e;
    ctx->in_entry = 0;
    if (e->ids[AX_FEED_ID_MAIN] && strstr(e->ids[AX_FEED_ID_MAIN], "arxiv.org/api/errors")) {
        ax_feed_page_t *page = ctx->page;
        if (!page->error_code) {
            page->error_code = strdup("api");
            const char *msg = e->p.abstract ? e->p.abstract : e->p.title ? e->p.title : e->ids[0];
            page->error_message = strdup(msg);
            if (!page->error_code || !page->error_message)
                return ax_feed_nomem(ctx);
        }
        ax_feed_entry_reset(e);
        return 0;
    }
    return ax_feed_finish(ctx);
}

static int s_end(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth, const char *text,
                 size_t len)
{
    ax_feed_entry_t *e = &ctx->e;
    if (depth == 1) {
        if (ns == AX_NS_OPENSEARCH) {
            ax_feed_page_t *page = ctx->page;
            if (strcmp(name, "totalResults") == 0)
                page->total_results = ax_feed_int(text, len);
            else if (strcmp(name, "startIndex") == 0)
                page->start_index = ax_feed_int(text, len);
            else if (strcmp(name, "itemsPerPage") == 0)
                page->items_per_page = ax_feed_int(text, len);
        } else if (ctx->in_entry && ns == AX_NS_ATOM && strcmp(name, "entry") == 0)
            return s_entry_end(ctx);
        return 0;
    }
    if (!ctx->in_entry)
        return 0;
    if (depth == 3 && ctx->in_author) {
        if (ns == AX_NS_ATOM && strcmp(name, "name") == 0) {
            ax_feed_buf_reset(&e->name);
            return ax_feed_buf_add(&e->name, text, len) < 0 ? ax_feed_nomem(ctx) : 0;
        }
        if (ns == AX_NS_ARXIV && strcmp(name, "affiliation") == 0)
            return ax_feed_join(ctx, &e->aff, "; ", text, len);
        return 0;
    }
    if (depth != 2)
        return 0;
    if (ns == AX_NS_ATOM) {
        if (strcmp(name, "id") == 0)
            return ax_feed_set_id(ctx, AX_FEED_ID_MAIN, text, len);
        if (strcmp(name, "title") == 0)
            return ax_feed_set(ctx, &e->p.title, text, len);
        if (strcmp(name, "summary") == 0)
            return ax_feed_set(ctx, &e->p.abstract, text, len);
        if (strcmp(name, "published") == 0)
            e->p.submitted = ax_feed_time(text, len);
        else if (strcmp(name, "updated") == 0)
            e->p.updated = ax_feed_time(text, len);
        else if (strcmp(name, "author") == 0) {
            ctx->in_author = 0;
            return ax_feed_commit_author(ctx);
        }
    } else if (ns == AX_NS_ARXIV) {
        if (strcmp(name, "comment") == 0)
            return ax_feed_set(ctx, &e->p.comments, text, len);
        if (strcmp(name, "journal_ref") == 0)
            return ax_feed_set(ctx, &e->p.journal_ref, text, len);
        if (strcmp(name, "doi") == 0)
            return ax_feed_add_dois(ctx, &e->doi, text, len);
    }
    return 0;
}

const ax_feed_format_t ax_feed_atom = {
    .what = "an Atom feed",
    .root = "feed",
    .root_ns = AX_NS_ATOM,
    .start = s_start,
    .end = s_end,
};
