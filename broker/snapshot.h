/*  snapshot.h: streaming reader of the Kaggle arXiv metadata snapshot (SPEC section 2,
 *  source `snapshot:PATH`).
 *
 *  The snapshot (`arxiv-metadata-oai-snapshot.json`) is JSON lines, one paper per line,
 *  about 2.5 M lines and 4 GB: it is read one line at a time and never held whole. Each
 *  line becomes an ax_paper_t; lines outside the filter are dropped cheaply (the
 *  categories and v1 date are looked at on the raw line before the record is parsed).
 *  A malformed line is logged with its line number, counted and skipped: it never stops
 *  the stream. The position (byte offset + line number) can be saved and restored, so a
 *  restarted broker resumes where it stopped.
 */
#ifndef AX_SNAPSHOT_H
#define AX_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "paper.h"

typedef struct {
    char **categories;      /* keep a paper if any of its categories equals one of these, or
                               lies in an archive given without subject ("cs" keeps "cs.IR",
                               "cs.IR" keeps only cs.IR); n_categories 0 = every category */
    size_t n_categories;
    int64_t from, to;       /* keep if v1's creation time is in [from, to] (unix s, inclusive);
                               0 = open. With a bound set, a paper with no v1 date is dropped */
} ax_snapshot_filter_t;

typedef struct {
    uint64_t lines;         /* lines read (blank ones included) */
    uint64_t malformed;     /* lines that were not a valid record (logged, skipped) */
    uint64_t filtered;      /* records dropped by the filter */
    uint64_t papers;        /* records returned */
} ax_snapshot_stats_t;

typedef struct ax_snapshot ax_snapshot_t;

/*  Opens the snapshot at path; filter (may be NULL) is copied. NULL with *err set (caller
 *  frees) when the file cannot be opened or is a directory. */
ax_snapshot_t *ax_snapshot_open(const char *path, const ax_snapshot_filter_t *filter, char **err);
void ax_snapshot_destroy(ax_snapshot_t **self_p);

/*  Next paper passing the filter into *out (zeroed here; the caller frees it with
 *  ax_paper_clear). 1 = a paper, 0 = end of file, -1 = I/O error or out of memory
 *  (ax_snapshot_error says which). A malformed line (bad JSON, invalid UTF-8, missing or
 *  bad id, missing title) is counted in stats.malformed, logged as
 *  `snapshot: malformed line skipped|file=... line=N reason="..."` and skipped.
 *  Blank lines are skipped silently. With a filter, a line whose raw categories or v1
 *  date already put it outside is dropped unparsed: counted as filtered even if the rest
 *  of it is malformed. */
int ax_snapshot_next(ax_snapshot_t *self, ax_paper_t *out);

/*  Position of the next line to read: its byte offset and its line number (1-based; a
 *  fresh reader is at 0, 1). ax_snapshot_seek restores a position told before (line 0 is
 *  taken as 1). 0 / -1 when the file cannot seek (a pipe). Stats are not reset. */
void ax_snapshot_tell(const ax_snapshot_t *self, uint64_t *offset, uint64_t *line);
int ax_snapshot_seek(ax_snapshot_t *self, uint64_t offset, uint64_t line);

const ax_snapshot_stats_t *ax_snapshot_stats(const ax_snapshot_t *self);
/*  Last I/O error, "" when none. */
const char *ax_snapshot_error(const ax_snapshot_t *self);

/*  1 when a paper with these categories passes the category part of filter, else 0. */
int ax_snapshot_filter_categories(const ax_snapshot_filter_t *filter, char *const *categories,
                                  size_t n_categories);

#endif
