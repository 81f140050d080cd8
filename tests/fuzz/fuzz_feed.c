/*  fuzz_feed.c: libFuzzer target for the arXiv feed parsers (broker/feed*.c), which read
 *  bodies straight from the network. The first byte picks the format (Atom, OAI-PMH, RSS),
 *  the rest is the document. A parse must either succeed with complete papers (an id, the
 *  affiliations parallel to the authors) or fail with a message that names a line; never
 *  crash, leak or read out of bounds (built with ASan and UBSan). Run by tests/fuzz/run.sh
 *  with the XML fixtures as seeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"

static int s_check(void *arg, ax_paper_t *p, const ax_feed_extra_t *extra)
{
    size_t *n = arg;
    if (!p->id || p->version < 0 || (p->n_authors && !p->authors))
        abort();
    for (size_t i = 0; p->affiliations && i < p->n_authors; i++)
        if (!p->affiliations[i] || !p->authors[i])
            abort();
    for (size_t i = 0; i < p->n_categories; i++)
        if (!p->categories[i] || !*p->categories[i])
            abort();
    if (extra->announce_type)
        (void) strlen(extra->announce_type);
    ax_paper_clear(p);
    return ++*n % 1000 == 999 ? -1 : 0;    /* now and then, the callback stops early */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ax_feed_kind_t kind = (ax_feed_kind_t) (data[0] % 3);
    ax_feed_page_t page;
    char *err = NULL;
    size_t n = 0;
    int rc = ax_feed_parse(kind, (const char *) data + 1, size - 1, &page, s_check, &n, &err);
    if (rc == -1 && (!err || !strstr(err, "line")))
        abort();
    if (rc != -1 && (err || page.entries != n))
        abort();
    if (rc == 0 && page.token && page.token_cursor < -1)
        abort();
    free(err);
    ax_feed_page_clear(&page);
    return 0;
}
