/*  handoff.h: a bounded queue from a source's thread to the broker's loop.
 *
 *  A source that reads on a thread of its own (a live harvest fetching arXiv, a snapshot
 *  read ahead) hands what it produced to the loop through one of these: the thread
 *  pushes items (waiting while max_items are queued, so memory stays flat), then says it
 *  finished, with an error or not; the loop pops items without ever blocking and polls
 *  ax_handoff_fd, which turns readable when there is news. Destroying it stops the
 *  thread: a push or a sleep returns -1, ax_handoff_stop_flag is set, then it is joined.
 */
#ifndef AX_HANDOFF_H
#define AX_HANDOFF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ax_handoff ax_handoff_t;

/*  An empty queue of at most max_items items, which free_item frees when they are left
 *  at destruction. NULL on OOM or when no pipe can be made. */
ax_handoff_t *ax_handoff_new(size_t max_items, void (*free_item)(void *));

/*  Stops and joins the thread (if started), frees the items left. */
void ax_handoff_destroy(ax_handoff_t **self_p);

/*  Starts run(arg) on the thread, once (later calls do nothing). 0 / -1 (the handoff is
 *  then finished with that error). */
int ax_handoff_start(ax_handoff_t *self, void *(*run)(void *), void *arg);

/* ---- the thread's side */

/*  Queues item, waiting while the queue is full. -1 when stopping (item freed). */
int ax_handoff_push(ax_handoff_t *self, void *item);
/*  The thread is done: error (taken; NULL: complete) is what ax_handoff_error will say,
 *  unless the handoff is being destroyed. Wakes the loop. */
void ax_handoff_finish(ax_handoff_t *self, char *error);
/*  Waits ms or until stopping: 0, or -1 when stopping. */
int ax_handoff_sleep(ax_handoff_t *self, int64_t ms);
/*  Set once destruction began; a long job checks it to give up. */
const atomic_int *ax_handoff_stop_flag(const ax_handoff_t *self);

/* ---- the loop's side (never blocks) */

/*  The oldest item (the caller's now), or NULL when none is queued: *finished then says
 *  whether none ever will be (ax_handoff_error: why, or NULL when complete). */
void *ax_handoff_pop(ax_handoff_t *self, int *finished);
/*  A descriptor that turns readable when ax_handoff_pop may return something new. */
int ax_handoff_fd(const ax_handoff_t *self);
/*  The thread's error, or NULL (none yet, or it completed). */
const char *ax_handoff_error(const ax_handoff_t *self);

#endif
