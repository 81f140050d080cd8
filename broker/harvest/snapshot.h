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
 *
 *  Hostile paths: only a readable regular file is a snapshot (a FIFO, /dev/zero or a
 *  directory is refused by ax_snapshot_open, which only stat()s the path), and the file
 *  is opened by the first read, without blocking, so that the broker can open the
 *  reader on its loop thread and read it on another (readahead.h). A line longer than
 *  AX_SNAPSHOT_LINE_MAX is counted malformed and skipped without being held whole.
 */
#ifndef AX_SNAPSHOT_H
#define AX_SNAPSHOT_H

#include <stdatomic.h>
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

/*  The longest line read (bytes, without its newline): a real record is a few kB, the
 *  longest of the 2.5 M in the Kaggle snapshot about 60 kB. */
#define AX_SNAPSHOT_LINE_MAX (16 << 20)

typedef struct ax_snapshot ax_snapshot_t;

/*  A reader of the snapshot at path; filter (may be NULL) is copied. Only checks the
 *  path, with stat() and access() (no open, no read: never blocks on a FIFO): NULL with
 *  *err set (caller frees, it names the path and the reason) when it does not exist,
 *  cannot be read or is not a regular file. The file is opened by the first
 *  ax_snapshot_next; an error then (the file replaced meanwhile) is its -1. */
ax_snapshot_t *ax_snapshot_open(const char *path, const ax_snapshot_filter_t *filter, char **err);
void ax_snapshot_destroy(ax_snapshot_t **self_p);

/*  While *stop is set (by another thread), ax_snapshot_next gives up within a few
 *  thousand lines: -1, error "stopped". NULL: never. */
void ax_snapshot_stop_on(ax_snapshot_t *self, const atomic_int *stop);

/*  Next paper passing the filter into *out (zeroed here; the caller frees it with
 *  ax_paper_clear). 1 = a paper, 0 = end of file, -1 = I/O error or out of memory
 *  (ax_snapshot_error says which). A malformed line (bad JSON, invalid UTF-8, missing or
 *  bad id, missing title) is counted in stats.malformed, logged as
 *  `snapshot: malformed line skipped|file=... line=N reason="..."` and skipped.
 *  A line longer than AX_SNAPSHOT_LINE_MAX is malformed too ("line longer than ...").
 *  Blank lines are skipped silently. With a filter, a line whose raw categories or v1
 *  date already put it outside is dropped unparsed: counted as filtered even if the rest
 *  of it is malformed. */
int ax_snapshot_next(ax_snapshot_t *self, ax_paper_t *out);

/*  Position of the next line to read: its byte offset and its line number (1-based; a
 *  fresh reader is at 0, 1). ax_snapshot_seek restores a position told before (line 0 is
 *  taken as 1; before the first read it only sets where that read starts). 0 / -1. Stats
 *  are not reset. */
void ax_snapshot_tell(const ax_snapshot_t *self, uint64_t *offset, uint64_t *line);
int ax_snapshot_seek(ax_snapshot_t *self, uint64_t offset, uint64_t line);

const ax_snapshot_stats_t *ax_snapshot_stats(const ax_snapshot_t *self);
/*  Last I/O error, "" when none. */
const char *ax_snapshot_error(const ax_snapshot_t *self);

/*  1 when a paper with these categories passes the category part of filter, else 0. */
int ax_snapshot_filter_categories(const ax_snapshot_filter_t *filter, char *const *categories,
                                  size_t n_categories);

#endif
