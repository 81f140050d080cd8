/*  source.h: where a run's papers come from. One interface over every source of SPEC
 *  section 2 so the broker's harvest loop does not care which one it reads; today the
 *  `snapshot:PATH` source (snapshot.c), the live arXiv sources plug in here. */
#ifndef AX_SOURCE_H
#define AX_SOURCE_H

#include <stdint.h>

#include "codec.h"

typedef struct ax_source ax_source_t;

typedef struct {
    uint64_t read;          /* records read from the source */
    uint64_t malformed;     /* records that could not be parsed (skipped, logged) */
    uint64_t filtered;      /* records outside the run's categories / dates */
} ax_source_stats_t;

/*  Opens the source a run spec names, with its category and date filters. NULL with
 *  *err (caller frees) when the source is unknown or cannot be opened. */
ax_source_t *ax_source_open(const ax_runspec_t *spec, char **err);
void ax_source_destroy(ax_source_t **self_p);

/*  Next paper into *out (caller clears). 1 = paper, 0 = end, -1 = error (ax_source_error). */
int ax_source_next(ax_source_t *self, ax_paper_t *out);
void ax_source_stats(const ax_source_t *self, ax_source_stats_t *stats);
const char *ax_source_error(const ax_source_t *self);

/*  Position of the source after the last record returned, and back to it (resuming a
 *  run after a broker restart). 0 / -1. */
void ax_source_tell(const ax_source_t *self, uint64_t *offset, uint64_t *line);
int ax_source_seek(ax_source_t *self, uint64_t offset, uint64_t line);

/*  Day bounds of "YYYY-MM-DD" (from: 00:00:00, to: 23:59:59 UTC). -1 when malformed. */
int ax_source_day_bounds(const char *from, const char *to, int64_t *t_from, int64_t *t_to);

#endif
