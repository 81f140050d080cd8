/*  source.c: dispatch from a run spec's `source` to the reader behind it (see source.h). */
#define _GNU_SOURCE
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "text.h"

struct ax_source {
    ax_snapshot_t *snapshot;
    char *error;
};

int ax_source_day_bounds(const char *from, const char *to, int64_t *t_from, int64_t *t_to)
{
    *t_from = *t_to = 0;
    if (from && *from && ax_time_parse(from, t_from) < 0)
        return -1;
    if (to && *to) {
        if (ax_time_parse(to, t_to) < 0)
            return -1;
        *t_to += 86399;
    }
    return 0;
}

ax_source_t *ax_source_open(const ax_runspec_t *spec, char **err)
{
    *err = NULL;
    if (strncmp(spec->source, "snapshot:", 9) != 0) {
        if (asprintf(err, "source \"%s\" is not available in this build: use snapshot:PATH",
                     spec->source) < 0)
            *err = NULL;
        return NULL;
    }
    ax_snapshot_filter_t filter = {.categories = spec->categories,
                                   .n_categories = spec->n_categories};
    if (ax_source_day_bounds(spec->from, spec->to, &filter.from, &filter.to) < 0) {
        *err = strdup("run.from / run.to: expected YYYY-MM-DD");
        return NULL;
    }
    ax_source_t *self = calloc(1, sizeof *self);
    if (!self) {
        *err = strdup("out of memory");
        return NULL;
    }
    self->snapshot = ax_snapshot_open(spec->source + 9, &filter, err);
    if (!self->snapshot) {
        free(self);
        return NULL;
    }
    return self;
}

void ax_source_destroy(ax_source_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ax_snapshot_destroy(&(*self_p)->snapshot);
    free((*self_p)->error);
    free(*self_p);
    *self_p = NULL;
}

int ax_source_next(ax_source_t *self, ax_paper_t *out)
{
    return ax_snapshot_next(self->snapshot, out);
}

void ax_source_stats(const ax_source_t *self, ax_source_stats_t *stats)
{
    const ax_snapshot_stats_t *s = ax_snapshot_stats(self->snapshot);
    stats->read = s->lines;
    stats->malformed = s->malformed;
    stats->filtered = s->filtered;
}

const char *ax_source_error(const ax_source_t *self)
{
    return ax_snapshot_error(self->snapshot);
}

void ax_source_tell(const ax_source_t *self, uint64_t *offset, uint64_t *line)
{
    ax_snapshot_tell(self->snapshot, offset, line);
}

int ax_source_seek(ax_source_t *self, uint64_t offset, uint64_t line)
{
    return ax_snapshot_seek(self->snapshot, offset, line);
}
