/*  source.c: dispatch from a run spec's `source` to the reader behind it (see source.h). */
#define _GNU_SOURCE
#include "source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "readahead.h"
#include "snapshot.h"
#include "text.h"

_Static_assert(AX_SOURCE_CURSOR_MAX == AX_LIVE_CURSOR_MAX, "one cursor size for every source");

struct ax_source {
    ax_readahead_t *snapshot;           /* one of these two */
    ax_live_t *live;
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

/*  A snapshot resumed at "OFFSET LINE". */
static int s_snapshot_seek(ax_snapshot_t *snap, const char *cursor, char **err)
{
    unsigned long long offset, line;
    int used = 0;
    if (sscanf(cursor, "%llu %llu%n", &offset, &line, &used) != 2 || cursor[used]) {
        ax_set_error(err, "cannot resume the snapshot at \"%s\": not a snapshot position", cursor);
        return -1;
    }
    if (line && ax_snapshot_seek(snap, offset, line) < 0) {
        ax_set_error(err, "cannot seek to line %llu of the snapshot", line);
        return -1;
    }
    return 0;
}

ax_source_t *ax_source_open(const ax_runspec_t *spec, const ax_arxiv_cfg_t *arxiv, const char *cursor,
                            char **err)
{
    *err = NULL;
    int snapshot = strncmp(spec->source, "snapshot:", 9) == 0;
    int live = !strcmp(spec->source, "api") || !strcmp(spec->source, "oai") || !strcmp(spec->source, "rss");
    if (!snapshot && !live) {
        ax_set_error(err, "source \"%s\" is not one of api, oai, rss, snapshot:PATH", spec->source);
        return NULL;
    }
    int64_t from, to;
    if (ax_source_day_bounds(spec->from, spec->to, &from, &to) < 0) {
        *err = strdup("run.from / run.to: expected YYYY-MM-DD");
        return NULL;
    }
    ax_source_t *self = calloc(1, sizeof *self);
    if (!self) {
        *err = strdup("out of memory");
        return NULL;
    }
    if (live) {
        ax_live_spec_t ls = {.kind = spec->source, .categories = spec->categories,
                             .n_categories = spec->n_categories, .from = from, .to = to, .cursor = cursor};
        if (!arxiv) {
            *err = strdup("live sources need the broker's arxiv settings");
            free(self);
            return NULL;
        }
        if (!(self->live = ax_live_open(&ls, arxiv, err))) {
            free(self);
            return NULL;
        }
        return self;
    }
    ax_snapshot_filter_t filter = {.categories = spec->categories, .n_categories = spec->n_categories,
                                   .from = from, .to = to};
    ax_snapshot_t *snap = ax_snapshot_open(spec->source + 9, &filter, err);
    if (!snap || (cursor && *cursor && s_snapshot_seek(snap, cursor, err) < 0) ||
        !(self->snapshot = ax_readahead_new(&snap))) {
        if (!*err)
            ax_set_error(err, "%s: cannot start its reader (out of memory or descriptors)", spec->source);
        ax_snapshot_destroy(&snap);
        ax_source_destroy(&self);
        return NULL;
    }
    return self;
}

void ax_source_destroy(ax_source_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ax_readahead_destroy(&(*self_p)->snapshot);
    ax_live_destroy(&(*self_p)->live);
    free(*self_p);
    *self_p = NULL;
}

int ax_source_next(ax_source_t *self, ax_paper_t *out)
{
    return self->live ? ax_live_next(self->live, out) : ax_readahead_next(self->snapshot, out);
}

int ax_source_fd(const ax_source_t *self)
{
    return self->live ? ax_live_fd(self->live) : ax_readahead_fd(self->snapshot);
}

int ax_source_is_live(const ax_source_t *self)
{
    return self->live != NULL;
}

void ax_source_stats(const ax_source_t *self, ax_source_stats_t *stats)
{
    if (self->live) {
        ax_live_stats_t st;
        ax_live_stats(self->live, &st);
        stats->read = st.read;
        stats->malformed = st.malformed;
        stats->filtered = st.filtered;
        return;
    }
    const ax_snapshot_stats_t *s = ax_readahead_stats(self->snapshot);
    stats->read = s->lines;
    stats->malformed = s->malformed;
    stats->filtered = s->filtered;
}

const char *ax_source_error(const ax_source_t *self)
{
    return self->live ? ax_live_error(self->live) : ax_readahead_error(self->snapshot);
}

void ax_source_tell(const ax_source_t *self, char cursor[AX_SOURCE_CURSOR_MAX])
{
    if (self->live) {
        ax_live_tell(self->live, cursor);
        return;
    }
    uint64_t offset, line;
    ax_readahead_tell(self->snapshot, &offset, &line);
    snprintf(cursor, AX_SOURCE_CURSOR_MAX, "%" PRIu64 " %" PRIu64, offset, line);
}
