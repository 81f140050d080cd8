/*  feed_oai.c: OAI-PMH responses (arXiv's oaipmh.arxiv.org/oai, formerly export.arxiv.org/oai2).
 *
 *    <OAI-PMH>                                       depth 0
 *      <error code="badArgument">text</error>        1   page->error_code / _message
 *      <ListRecords> | <GetRecord>                   1   (other verbs: no record, no paper)
 *        <record>                                    2
 *          <header status="deleted"?>                3   deleted: counted, no paper
 *            <identifier>oai:arXiv.org:ID</identifier>   4   fallback id
 *          <metadata>                                3
 *            <arXiv> | <arXivRaw> | <oai_dc:dc>      4   the metadataPrefix's root
 *              fields                                5 (authors' parts 6 / 7)
 *        <resumptionToken cursor completeListSize expirationDate>   2
 *
 *  metadataPrefix arXiv (what the broker asks for): <id>, <created> (v1 date), <updated>
 *  (latest version's date; absent while there is one version, so version 1 is implied),
 *  <authors><author><keyname><forenames><suffix><affiliation>*, <title>, <categories>
 *  (space-separated, primary first), <comments>, <journal-ref>, <doi>, <abstract>.
 *  arXivRaw: the same texts, but authors as one "A, B and C" string and one
 *  <version><date> per version (submitted = the first, updated = the last, version = their
 *  count). oai_dc: dc:identifier (abs URL), dc:title, dc:creator ("Last, First"),
 *  dc:description (the abstract, and "Comment: ..."), dc:date (first and last); its
 *  dc:subject is a category's long name ("Computer Science - Information Theory"), not a
 *  code, so oai_dc papers have no categories.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "feed_internal.h"
#include "text.h"

static int s_start(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth)
{
    ax_feed_page_t *page = ctx->page;
    if (depth == 1 && ns == AX_NS_OAI && strcmp(name, "error") == 0) {
        free(ctx->attr);
        ctx->attr = ax_feed_attr(ctx, "code");
    } else if (depth == 2 && ns == AX_NS_OAI && strcmp(name, "record") == 0) {
        ax_feed_entry_reset(&ctx->e);
        ctx->in_entry = 1;
        ctx->in_metadata = ctx->in_author = ctx->deleted = ctx->meta = 0;
    } else if (depth == 2 && ns == AX_NS_OAI && strcmp(name, "resumptionToken") == 0) {
        char *v;
        if ((v = ax_feed_attr(ctx, "cursor")))
            page->token_cursor = ax_feed_int(v, strlen(v));
        free(v);
        if ((v = ax_feed_attr(ctx, "completeListSize")))
            page->token_size = ax_feed_int(v, strlen(v));
        free(v);
        free(page->token_expires);
        page->token_expires = ax_feed_attr(ctx, "expirationDate");
    } else if (!ctx->in_entry)
        return 0;
    else if (depth == 3 && ns == AX_NS_OAI && strcmp(name, "header") == 0) {
        char *status = ax_feed_attr(ctx, "status");
        ctx->deleted = status && strcmp(status, "deleted") == 0;
        free(status);
    } else if (depth == 3 && ns == AX_NS_OAI && strcmp(name, "metadata") == 0)
        ctx->in_metadata = 1;
    else if (depth == 4 && ctx->in_metadata && !ctx->meta) {
        if ((ns == AX_NS_OAI_ARXIV && strcmp(name, "arXiv") == 0) ||
            (ns == AX_NS_OAI_ARXIVRAW && strcmp(name, "arXivRaw") == 0) ||
            (ns == AX_NS_OAI_DC && strcmp(name, "dc") == 0))
            ctx->meta = (int) ns;
    } else if (depth == 6 && ctx->meta == AX_NS_OAI_ARXIV && ns == AX_NS_OAI_ARXIV &&
               strcmp(name, "author") == 0)
        ctx->in_author = 1;
    else if (depth == 5 && ctx->meta == AX_NS_OAI_ARXIVRAW && ns == AX_NS_OAI_ARXIVRAW &&
             strcmp(name, "version") == 0)
        ctx->e.versions++;
    return 0;
}

/*  The end of a record: deleted, no usable metadata, or a paper. */
static int s_record_end(ax_feed_ctx_t *ctx)
{
    ctx->in_entry = 0;
    if (ctx->deleted || !ctx->meta) {
        if (ctx->deleted)
            ctx->page->deleted++;
        else {
            ctx->page->skipped++;
            ctx->page->skip_reason = "no arXiv metadata";
        }
        ax_feed_entry_reset(&ctx->e);
        return 0;
    }
    if (ctx->meta == AX_NS_OAI_ARXIV && ctx->e.p.submitted && !ctx->e.p.updated)
        ctx->e.versions = 1;                    /* no <updated>: only v1 exists */
    return ax_feed_finish(ctx);
}

/*  A date of a version (arXivRaw <date>, oai_dc <dc:date>): the first is v1's. */
static void s_version_date(ax_feed_entry_t *e, const char *text, size_t len)
{
    int64_t t = ax_feed_time(text, len);
    if (!t)
        return;
    if (e->n_dates++ == 0)
        e->p.submitted = t;
    e->p.updated = t;
}

/*  Texts that arXiv and arXivRaw share. */
static int s_arxiv_field(ax_feed_ctx_t *ctx, const char *name, const char *text, size_t len)
{
    ax_feed_entry_t *e = &ctx->e;
    if (strcmp(name, "id") == 0)
        return ax_feed_set_id(ctx, AX_FEED_ID_MAIN, text, len);
    if (strcmp(name, "title") == 0)
        return ax_feed_set(ctx, &e->p.title, text, len);
    if (strcmp(name, "abstract") == 0)
        return ax_feed_set(ctx, &e->p.abstract, text, len);
    if (strcmp(name, "categories") == 0)
        return ax_feed_add_categories(ctx, text, len);
    if (strcmp(name, "comments") == 0)
        return ax_feed_set(ctx, &e->p.comments, text, len);
    if (strcmp(name, "journal-ref") == 0)
        return ax_feed_set(ctx, &e->p.journal_ref, text, len);
    if (strcmp(name, "doi") == 0)
        return ax_feed_add_dois(ctx, &e->doi, text, len);
    if (ctx->meta == AX_NS_OAI_ARXIVRAW)
        return strcmp(name, "authors") == 0 ? ax_feed_split_authors(ctx, text, len) : 0;
    if (strcmp(name, "created") == 0)
        e->p.submitted = ax_feed_time(text, len);
    else if (strcmp(name, "updated") == 0)
        e->p.updated = ax_feed_time(text, len);
    return 0;
}

/*  dc:creator "Last, First" (or "Last, First, Suffix") as "First Last Suffix". */
static int s_dc_creator(ax_feed_ctx_t *ctx, const char *text, size_t len)
{
    char *s = ax_text_fold(text, len);
    if (!s)
        return ax_feed_nomem(ctx);
    ax_feed_buf_t b = {0};
    char *comma = strstr(s, ", ");
    int rc = 0;
    if (!comma)
        rc = ax_feed_add_author(ctx, s, strlen(s), NULL);
    else {
        char *first = comma + 2, *suffix = strstr(first, ", ");
        *comma = '\0';
        if (suffix)
            *suffix = '\0';
        if (ax_feed_buf_add(&b, first, strlen(first)) < 0 || ax_feed_buf_add(&b, " ", 1) < 0 ||
            ax_feed_buf_add(&b, s, strlen(s)) < 0 ||
            (suffix && (ax_feed_buf_add(&b, " ", 1) < 0 || ax_feed_buf_add(&b, suffix + 2, strlen(suffix + 2)) < 0)))
            rc = ax_feed_nomem(ctx);
        else
            rc = ax_feed_add_author(ctx, b.p, b.n, NULL);
    }
    ax_feed_buf_free(&b);
    free(s);
    return rc;
}

static int s_dc_field(ax_feed_ctx_t *ctx, const char *name, const char *text, size_t len)
{
    ax_feed_entry_t *e = &ctx->e;
    while (len && ax_is_space((unsigned char) *text))
        text++, len--;
    if (strcmp(name, "title") == 0)
        return ax_feed_set(ctx, &e->p.title, text, len);
    if (strcmp(name, "creator") == 0)
        return s_dc_creator(ctx, text, len);
    if (strcmp(name, "description") == 0) {
        if (len >= 8 && memcmp(text, "Comment:", 8) == 0)
            return ax_feed_set(ctx, &e->p.comments, text + 8, len - 8);
        if (e->has_abstract)
            return 0;
        e->has_abstract = 1;
        return ax_feed_set(ctx, &e->p.abstract, text, len);
    }
    if (strcmp(name, "date") == 0)
        s_version_date(e, text, len);
    else if (strcmp(name, "identifier") == 0) {
        if (len > 4 && (memcmp(text, "doi:", 4) == 0 || memcmp(text, "DOI:", 4) == 0))
            return ax_feed_add_dois(ctx, &e->doi, text, len);
        if (memmem(text, len, "arxiv.org/abs/", 14))
            return ax_feed_set_id(ctx, AX_FEED_ID_MAIN, text, len);
    }
    return 0;
}

/*  An element of the record's metadata ended (depth 5 and below). */
static int s_metadata_end(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth,
                          const char *text, size_t len)
{
    ax_feed_entry_t *e = &ctx->e;
    if (ctx->meta == AX_NS_OAI_DC)
        return depth == 5 && ns == AX_NS_DC ? s_dc_field(ctx, name, text, len) : 0;
    if ((int) ns != ctx->meta)
        return 0;
    if (depth == 5)
        return s_arxiv_field(ctx, name, text, len);
    if (ctx->meta == AX_NS_OAI_ARXIVRAW) {
        if (depth == 6 && strcmp(name, "date") == 0)
            s_version_date(e, text, len);
        return 0;
    }
    if (depth == 6 && strcmp(name, "author") == 0) {
        ctx->in_author = 0;
        return ax_feed_commit_author(ctx);
    }
    if (depth != 7 || !ctx->in_author)
        return 0;
    ax_feed_buf_t *part = strcmp(name, "keyname") == 0     ? &e->keyname
                          : strcmp(name, "forenames") == 0 ? &e->forenames
                          : strcmp(name, "suffix") == 0    ? &e->suffix
                                                           : NULL;
    if (part) {
        ax_feed_buf_reset(part);
        return ax_feed_join(ctx, part, " ", text, len);
    }
    return strcmp(name, "affiliation") == 0 ? ax_feed_join(ctx, &e->aff, "; ", text, len) : 0;
}

static int s_end(ax_feed_ctx_t *ctx, ax_feed_ns_t ns, const char *name, int depth, const char *text,
                 size_t len)
{
    ax_feed_page_t *page = ctx->page;
    if (depth == 1 && ns == AX_NS_OAI && strcmp(name, "error") == 0) {
        int rc = 0;
        if (!page->error_code) {
            page->error_code = ctx->attr ? ctx->attr : strdup("");
            ctx->attr = NULL;
            rc = !page->error_code ? ax_feed_nomem(ctx) : ax_feed_set(ctx, &page->error_message, text, len);
        }
        free(ctx->attr);
        ctx->attr = NULL;
        return rc;
    }
    if (depth == 2 && ns == AX_NS_OAI && strcmp(name, "resumptionToken") == 0)
        return ax_feed_set_raw(ctx, &page->token, text, len);
    if (!ctx->in_entry)
        return 0;
    if (depth == 2 && ns == AX_NS_OAI && strcmp(name, "record") == 0)
        return s_record_end(ctx);
    if (depth == 3 && ns == AX_NS_OAI && strcmp(name, "metadata") == 0)
        ctx->in_metadata = 0;
    else if (depth == 4 && !ctx->in_metadata && ns == AX_NS_OAI && strcmp(name, "identifier") == 0)
        return ax_feed_set_id(ctx, AX_FEED_ID_ALT, text, len);
    else if (depth >= 5 && ctx->in_metadata && ctx->meta)
        return s_metadata_end(ctx, ns, name, depth, text, len);
    return 0;
}

const ax_feed_format_t ax_feed_oai = {
    .what = "an OAI-PMH response",
    .root = "OAI-PMH",
    .root_ns = AX_NS_OAI,
    .start = s_start,
    .end = s_end,
};
