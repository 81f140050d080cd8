/*  bench_feed.c: throughput of the arXiv feed parsers (broker/feed*.c).
 *
 *  Builds one ~20 MB document per format by repeating the entries of a real response
 *  (the Atom page of 100 "testing" results, the OAI-PMH ListRecords page in the arXiv
 *  metadata format the broker asks for, the RSS feed) between its own head and tail,
 *  then parses each several times on one thread, papers delivered to a callback that
 *  frees them. Prints MB/s and papers/s of the best round.
 *
 *  usage: bench_feed [FIXTURES_DIR] [rounds]
 *         (FIXTURES_DIR defaults to tests/data/shared/fixtures/arxiv, run from the source root)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed.h"

#define TARGET (20u << 20)      /* bytes per document */

static double s_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *s_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *d = n >= 0 ? malloc((size_t) n + 1) : NULL;
    if (d && fread(d, 1, (size_t) n, f) != (size_t) n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    if (d) {
        d[n] = '\0';
        *len = (size_t) n;
    }
    return d;
}

/*  head + entries repeated to TARGET bytes + tail, where the entries are the text from the
 *  first `open` to the end of the last `close`. NULL when the file lacks them. */
static char *s_grow(const char *file, const char *open, const char *close, size_t *len)
{
    size_t n;
    char *d = s_read(file, &n);
    if (!d)
        return NULL;
    char *first = strstr(d, open), *last = NULL;
    for (char *p = d; (p = strstr(p, close)); p += strlen(close))
        last = p;
    if (!first || !last || last < first) {
        free(d);
        return NULL;
    }
    size_t head = (size_t) (first - d), body = (size_t) (last + strlen(close) - first);
    size_t tail = n - head - body, reps = TARGET / body + 1;
    char *out = malloc(head + reps * body + tail);
    if (!out) {
        free(d);
        return NULL;
    }
    memcpy(out, d, head);
    for (size_t i = 0; i < reps; i++)
        memcpy(out + head + i * body, first, body);
    memcpy(out + head + reps * body, first + body, tail);
    *len = head + reps * body + tail;
    free(d);
    return out;
}

static int s_drop(void *arg, ax_paper_t *paper, const ax_feed_extra_t *extra)
{
    (void) extra;
    (*(size_t *) arg)++;
    ax_paper_clear(paper);
    return 0;
}

static int s_bench(const char *label, ax_feed_kind_t kind, const char *doc, size_t len, int rounds)
{
    double best = 1e30;
    size_t papers = 0;
    for (int r = 0; r < rounds; r++) {
        ax_feed_page_t page;
        char *err = NULL;
        size_t n = 0;
        double t0 = s_now_s();
        int rc = ax_feed_parse(kind, doc, len, &page, s_drop, &n, &err);
        double dt = s_now_s() - t0;
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", label, err ? err : "parse failed");
            free(err);
            ax_feed_page_clear(&page);
            return -1;
        }
        ax_feed_page_clear(&page);
        papers = n;
        if (dt < best)
            best = dt;
    }
    printf("%-5s %6.1f MB  %7zu papers  %7.1f MB/s  %9.0f papers/s\n", label, (double) len / 1e6, papers,
           (double) len / 1e6 / best, (double) papers / best);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data/shared/fixtures/arxiv";
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    static const struct {
        const char *label, *file, *open, *close;
        ax_feed_kind_t kind;
    } docs[] = {
        {"atom", "api_atom_all_testing_m100_2026-04-12.xml", "<entry>", "</entry>", AX_FEED_ATOM},
        {"oai", "oai_listrecords_arXiv_set-physics-hep-th_trimmed3_2017-12-14.xml", "<record>", "</record>", AX_FEED_OAI},
        {"rss", "rss_cs.LG+cs.AI+cs.CL+stat.ML_trimmed4_2026-09-24.xml", "<item>", "</item>", AX_FEED_RSS},
    };
    if (rounds < 1)
        rounds = 1;
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char path[1024];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, docs[i].file);
        char *doc = s_grow(path, docs[i].open, docs[i].close, &len);
        if (!doc) {
            fprintf(stderr, "cannot read %s (usage: %s [FIXTURES_DIR] [rounds])\n", path, argv[0]);
            return 1;
        }
        int rc = s_bench(docs[i].label, docs[i].kind, doc, len, rounds);
        free(doc);
        if (rc < 0)
            return 1;
    }
    return 0;
}
