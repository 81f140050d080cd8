/*  readahead.h: a snapshot (snapshot.h) read ahead on a thread of its own.
 *
 *  The broker's loop serves sockets and must never wait on a disk, so the snapshot of a
 *  run is opened and read by a thread that parses papers into chunks (256 papers or
 *  1 MB of lines) and queues at most two of them ahead of the broker: memory stays flat
 *  however large the file. The broker takes papers with ax_readahead_next,
 *  which never blocks, and polls ax_readahead_fd to learn when a chunk arrived.
 *
 *  Each paper carries the reader's position and stats as they were right after it, so
 *  ax_readahead_tell and ax_readahead_stats describe what the broker has taken, not
 *  what the thread has read: a cursor saved with them resumes at the next paper, and
 *  the lines up to it (malformed and filtered ones included) are counted once.
 */
#ifndef AX_READAHEAD_H
#define AX_READAHEAD_H

#include <stdint.h>

#include "snapshot.h"

typedef struct ax_readahead ax_readahead_t;

/*  Takes the reader (*snap is NULLed; seek it first to resume): no thread starts and
 *  nothing is read until the first ax_readahead_next. NULL on OOM (*snap then freed). */
ax_readahead_t *ax_readahead_new(ax_snapshot_t **snap);

/*  Stops the thread (within a few thousand lines) and frees everything. */
void ax_readahead_destroy(ax_readahead_t **self_p);

/*  1 = a paper into *out (zeroed here; caller clears), 0 = end of the file and every
 *  paper taken, 2 = nothing yet (poll ax_readahead_fd), -1 = the reader failed
 *  (ax_readahead_error) and every paper read before was taken. Never blocks. */
int ax_readahead_next(ax_readahead_t *self, ax_paper_t *out);

/*  A descriptor that turns readable when ax_readahead_next may return something new. */
int ax_readahead_fd(const ax_readahead_t *self);

/*  Position after the last paper taken (the end once 0 was returned), as
 *  ax_snapshot_tell, and the stats at that position. */
void ax_readahead_tell(const ax_readahead_t *self, uint64_t *offset, uint64_t *line);
const ax_snapshot_stats_t *ax_readahead_stats(const ax_readahead_t *self);
const char *ax_readahead_error(const ax_readahead_t *self);

#endif
