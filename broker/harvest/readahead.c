/*  readahead.c: a snapshot read ahead on a thread (see readahead.h). The thread fills
 *  chunks of papers, each with the position and stats after it, and hands them over
 *  (handoff.h); the consumer side takes papers one by one and keeps the position of the
 *  last taken. */
#define _GNU_SOURCE
#include "readahead.h"

#include <stdlib.h>
#include <string.h>

#include "handoff.h"

#define S_CHUNK_PAPERS 256              /* papers per chunk ... */
#define S_CHUNK_BYTES (1 << 20)         /* ... or bytes of their lines, whichever first */
#define S_QUEUE_CHUNKS 2                /* chunks queued ahead of the broker */

/*  A paper and the reader as it was right after it. */
typedef struct {
    ax_paper_t paper;
    uint64_t offset, line;
    ax_snapshot_stats_t stats;
} s_item_t;

typedef struct {
    s_item_t items[S_CHUNK_PAPERS];
    size_t n;
} s_chunk_t;

struct ax_readahead {
    ax_snapshot_t *snap;                /* the thread's alone once it runs */
    ax_handoff_t *queue;                /* chunks, from the thread to the broker */
    /* the reader at its end: written by the thread before ax_handoff_finish */
    uint64_t end_offset, end_line;
    ax_snapshot_stats_t end_stats;
    /* consumer side */
    s_chunk_t *cur;
    size_t cur_i;
    uint64_t offset, line;              /* after the last paper taken */
    ax_snapshot_stats_t stats;
};

static void s_chunk_free(void *arg)
{
    s_chunk_t *chunk = arg;
    for (size_t i = 0; chunk && i < chunk->n; i++)
        ax_paper_clear(&chunk->items[i].paper);
    free(chunk);
}

/* ---------------------------------------------------------------- thread side */

/*  Reads papers into chunk until it is full: 1 = full, 0 = end of file, -1 = error. */
static int s_fill_chunk(ax_readahead_t *self, s_chunk_t *chunk)
{
    uint64_t first, line, bytes = 0;
    ax_snapshot_tell(self->snap, &first, &line);
    while (chunk->n < S_CHUNK_PAPERS && bytes < S_CHUNK_BYTES) {
        s_item_t *it = &chunk->items[chunk->n];
        int rc = ax_snapshot_next(self->snap, &it->paper);
        if (rc <= 0)
            return rc;
        ax_snapshot_tell(self->snap, &it->offset, &it->line);
        it->stats = *ax_snapshot_stats(self->snap);
        bytes = it->offset - first;
        chunk->n++;
    }
    return 1;
}

static void *s_thread(void *arg)
{
    ax_readahead_t *self = arg;
    const char *error = NULL;
    int rc = 1;
    while (rc > 0) {
        s_chunk_t *chunk = calloc(1, sizeof *chunk);
        if (!chunk) {
            error = "out of memory";
            break;
        }
        rc = s_fill_chunk(self, chunk);
        if (rc < 0)
            error = ax_snapshot_error(self->snap);
        if (chunk->n == 0)
            s_chunk_free(chunk);
        else if (ax_handoff_push(self->queue, chunk) < 0)
            break;                      /* stopping */
    }
    ax_snapshot_tell(self->snap, &self->end_offset, &self->end_line);
    self->end_stats = *ax_snapshot_stats(self->snap);
    ax_handoff_finish(self->queue, error ? strdup(error) : NULL);
    return NULL;
}

/* ---------------------------------------------------------------- consumer side */

ax_readahead_t *ax_readahead_new(ax_snapshot_t **snap)
{
    ax_readahead_t *self = calloc(1, sizeof *self);
    if (!self || !(self->queue = ax_handoff_new(S_QUEUE_CHUNKS, s_chunk_free))) {
        free(self);
        ax_snapshot_destroy(snap);
        return NULL;
    }
    self->snap = *snap;
    *snap = NULL;
    ax_snapshot_stop_on(self->snap, ax_handoff_stop_flag(self->queue));
    ax_snapshot_tell(self->snap, &self->offset, &self->line);
    return self;
}

void ax_readahead_destroy(ax_readahead_t **self_p)
{
    ax_readahead_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    ax_handoff_destroy(&self->queue);   /* stops the thread first */
    s_chunk_free(self->cur);
    ax_snapshot_destroy(&self->snap);
    free(self);
    *self_p = NULL;
}

int ax_readahead_next(ax_readahead_t *self, ax_paper_t *out)
{
    memset(out, 0, sizeof *out);
    /* Started on first use: only the active run reads. */
    if (ax_handoff_start(self->queue, s_thread, self) < 0)
        return -1;
    while (!self->cur || self->cur_i == self->cur->n) {
        int finished;
        s_chunk_t *chunk = ax_handoff_pop(self->queue, &finished);
        if (!chunk && !finished)
            return 2;
        if (!chunk) {                   /* every paper taken: the reader's end is ours */
            self->offset = self->end_offset;
            self->line = self->end_line;
            self->stats = self->end_stats;
            return ax_handoff_error(self->queue) ? -1 : 0;
        }
        s_chunk_free(self->cur);
        self->cur = chunk;
        self->cur_i = 0;
    }
    s_item_t *it = &self->cur->items[self->cur_i++];
    *out = it->paper;
    memset(&it->paper, 0, sizeof it->paper);
    self->offset = it->offset;
    self->line = it->line;
    self->stats = it->stats;
    return 1;
}

int ax_readahead_fd(const ax_readahead_t *self)
{
    return ax_handoff_fd(self->queue);
}

void ax_readahead_tell(const ax_readahead_t *self, uint64_t *offset, uint64_t *line)
{
    *offset = self->offset;
    *line = self->line;
}

const ax_snapshot_stats_t *ax_readahead_stats(const ax_readahead_t *self)
{
    return &self->stats;
}

const char *ax_readahead_error(const ax_readahead_t *self)
{
    const char *error = ax_handoff_error(self->queue);
    return error ? error : "no error";
}
