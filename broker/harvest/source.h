/*  source.h: where a run's papers come from. One interface over every source of SPEC
 *  section 2 so the broker's harvest loop does not care which one it reads: the
 *  `snapshot:PATH` file (snapshot.c) and the live `api`, `oai` and `rss` harvests
 *  (live.c), which fetch on a thread of their own and so can say "nothing yet". */
#ifndef AX_SOURCE_H
#define AX_SOURCE_H

#include <stdint.h>

#include "codec.h"
#include "config.h"

#define AX_SOURCE_CURSOR_MAX 1024

typedef struct ax_source ax_source_t;

typedef struct {
    uint64_t read;          /* records read from the source */
    uint64_t malformed;     /* records that could not be parsed (skipped, logged) */
    uint64_t filtered;      /* records outside the run's categories / dates */
} ax_source_stats_t;

/*  Opens the source a run spec names, with its category and date filters, resuming at
 *  cursor (ax_source_tell of an earlier life; NULL or "": from the start). arxiv holds
 *  the broker's settings for the live sources. NULL with *err (caller frees) when the
 *  source is unknown or the cursor is not one of its own, or a snapshot's path is not
 *  a readable regular file (checked with stat() only). Never blocks: every source is
 *  read on a thread of its own, started by the first ax_source_next, and an error met
 *  there (the file cannot be opened after all) is that call's -1. */
ax_source_t *ax_source_open(const ax_runspec_t *spec, const ax_arxiv_cfg_t *arxiv, const char *cursor,
                            char **err);
void ax_source_destroy(ax_source_t **self_p);

/*  Next paper into *out (caller clears). 1 = paper, 0 = end, -1 = error (ax_source_error),
 *  2 = nothing yet (its thread has not read further: poll ax_source_fd). Never blocks,
 *  neither on the network nor on a disk. */
int ax_source_next(ax_source_t *self, ax_paper_t *out);
/*  A descriptor that turns readable when a source that said "nothing yet" has news. */
int ax_source_fd(const ax_source_t *self);
/*  1 for a live source, whose "nothing yet" may last seconds (arXiv's pace); 0 for a
 *  snapshot, whose next papers are milliseconds away. */
int ax_source_is_live(const ax_source_t *self);
/*  The records read up to the position ax_source_tell reports: saved together, the two
 *  let a restarted broker count every record once. */
void ax_source_stats(const ax_source_t *self, ax_source_stats_t *stats);
const char *ax_source_error(const ax_source_t *self);

/*  Position of the source after the last record returned, as text for the run's record
 *  ("" at the start): a byte offset and line for a snapshot, the page and the papers taken
 *  from it for a live source (live.h). */
void ax_source_tell(const ax_source_t *self, char cursor[AX_SOURCE_CURSOR_MAX]);

/*  Day bounds of "YYYY-MM-DD" (from: 00:00:00, to: 23:59:59 UTC). -1 when malformed. */
int ax_source_day_bounds(const char *from, const char *to, int64_t *t_from, int64_t *t_to);

#endif
