/*  live_oai.c: the `oai` source (live.h): OAI-PMH ListRecords, one set per category,
 *  from=FROM and resumption tokens; a record is kept only when its own v1 date is in the
 *  window (OAI datestamps are modification dates).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "live_internal.h"
#include "log.h"
#include "text.h"

int ax_live_oai_set(const char *category, char *buf, size_t size)
{
    static const char *physics[] = {"astro-ph", "cond-mat", "gr-qc",   "hep-ex",  "hep-lat", "hep-ph", "hep-th",
                                    "math-ph",  "nlin",     "nucl-ex", "nucl-th", "physics", "quant-ph"};
    const char *dot = strchr(category, '.');
    size_t alen = dot ? (size_t) (dot - category) : strlen(category);
    int is_physics = 0;
    for (size_t i = 0; i < sizeof physics / sizeof *physics; i++)
        if (strlen(physics[i]) == alen && strncmp(physics[i], category, alen) == 0)
            is_physics = 1;
    int n;
    if (is_physics && !(alen == 7 && strncmp(category, "physics", 7) == 0 && dot == NULL))
        n = dot ? snprintf(buf, size, "physics:%.*s:%s", (int) alen, category, dot + 1)
                : snprintf(buf, size, "physics:%s", category);
    else
        n = dot ? snprintf(buf, size, "%.*s:%.*s:%s", (int) alen, category, (int) alen, category, dot + 1)
                : snprintf(buf, size, "%s", category);
    return n < 0 || (size_t) n >= size ? -1 : 0;
}

static void s_url(const ax_live_harvest_t *h, FILE *f, char key[AX_LIVE_KEY_MAX])
{
    const ax_live_t *L = h->L;
    if (h->token[0]) {
        fprintf(f, "%s?verb=ListRecords&resumptionToken=", L->oai_url);
        ax_live_put_encoded(f, h->token);
    } else {
        char set[128], day[16];
        if (ax_live_oai_set(L->cats[h->set], set, sizeof set) < 0)
            snprintf(set, sizeof set, "%s", L->cats[h->set]);
        fprintf(f, "%s?verb=ListRecords&metadataPrefix=arXiv&set=", L->oai_url);
        ax_live_put_encoded(f, set);
        fprintf(f, "&from=%s", ax_time_format(L->from, "%Y-%m-%d", day, sizeof day));
    }
    snprintf(key, AX_LIVE_KEY_MAX, "oai %zu %s", h->set, h->token);
}

static int s_resume(ax_live_harvest_t *h, const char *key, size_t key_len)
{
    size_t set;
    int off = 0;
    if (sscanf(key, "oai %zu %n", &set, &off) != 1 || set >= h->L->n_cats || off <= 0 || (size_t) off > key_len)
        return -1;
    size_t tl = key_len - (size_t) off;
    if (tl >= sizeof h->token)
        return -1;
    memcpy(h->token, key + off, tl);
    h->token[tl] = '\0';
    h->set = set;
    return 0;
}

static int s_keep(const ax_live_t *L, const ax_paper_t *p, const ax_feed_extra_t *extra)
{
    (void) extra;
    return p->submitted >= L->from && p->submitted <= L->to;
}

static int s_advance(ax_live_harvest_t *h, const ax_feed_page_t *pg, const char *url, int *drop, char **err)
{
    const ax_live_t *L = h->L;
    if (pg->error_code && strcmp(pg->error_code, "badResumptionToken") == 0) {
        if (++h->restarts > L->max_attempts) {
            ax_set_error(err, "OAI-PMH refused %d resumption tokens in a row (last %s)", h->restarts, url);
            return -1;
        }
        ax_log_warn("OAI resumption token refused: listing the set again|set=%s token=%s", L->cats[h->set], h->token);
        h->token[0] = '\0';
        h->skip = 0;                    /* the seen set drops what was taken already */
        *drop = 1;
        return 1;
    }
    if (pg->error_code && strcmp(pg->error_code, "noRecordsMatch") != 0) {
        ax_set_error(err, "OAI-PMH error %s for %s: %s", pg->error_code, url,
                     pg->error_message ? pg->error_message : "?");
        return -1;
    }
    h->restarts = 0;
    if (pg->token && *pg->token) {
        if (strlen(pg->token) >= sizeof h->token) {
            ax_set_error(err, "OAI-PMH resumption token of %zu bytes from %s is too long to keep", strlen(pg->token),
                         url);
            return -1;
        }
        snprintf(h->token, sizeof h->token, "%s", pg->token);
        return 1;
    }
    h->token[0] = '\0';                 /* this set is done: the next one */
    return ++h->set < L->n_cats;
}

const ax_live_source_t ax_live_oai = {
    .name = "oai", .feed = AX_FEED_OAI, .url = s_url, .resume = s_resume, .keep = s_keep, .advance = s_advance,
};
