/*  loop.h: the one small reactor every daemon's loop sits on (in the spirit of redis's ae
 *  and CZMQ's zloop): readers, timers and pollers over one zmq_poll.
 *
 *  - A reader is a ZeroMQ socket or a file descriptor with the events it waits for; its
 *    handler runs when they fire.
 *  - A timer runs its handler after delay_ms, once, a number of times, or for ever, with
 *    the delay counted from when it last ran (no catch-up bursts after a slow turn).
 *  - A poller is a set of poll items that changes from turn to turn (curl's sockets): it
 *    adds them before the poll (and may shorten its wait), and gets them back with their
 *    revents after it.
 *  - Turn hooks run once per turn, after the handlers (heartbeats of /healthz, flushes).
 *  A handler returns 0 to go on or -1 to end the loop (ax_loop_run then returns -1). The
 *  loop also ends at ax_loop_stop or when the flag given to ax_loop_stop_on is set (a
 *  signal handler's). Readers and timers may be added and ended from any handler, their
 *  own included. Time comes from a clock that tests can replace.
 */
#ifndef AX_LOOP_H
#define AX_LOOP_H

#include <signal.h>
#include <stdint.h>
#include <zmq.h>

typedef struct ax_loop ax_loop_t;

typedef int (ax_loop_reader_fn)(ax_loop_t *loop, zmq_pollitem_t *item, void *arg);
typedef int (ax_loop_timer_fn)(ax_loop_t *loop, int timer_id, void *arg);
typedef int (ax_loop_hook_fn)(ax_loop_t *loop, void *arg);

typedef struct {
    /*  Appends up to max items (the loop sets revents) and may lower *timeout_ms; returns
     *  how many it added. */
    int (*prepare)(void *arg, zmq_pollitem_t *items, int max, long *timeout_ms);
    /*  The items prepare added, with their revents (also when none fired). 0 / -1 as a handler. */
    int (*dispatch)(void *arg, const zmq_pollitem_t *items, int n);
    void *arg;
} ax_loop_poller_t;

/*  The longest wait of a turn when no timer is due sooner. */
#define AX_LOOP_MAX_WAIT_MS 1000

ax_loop_t *ax_loop_new(void);
void ax_loop_destroy(ax_loop_t **self_p);

/*  Watches socket (a ZeroMQ socket) or, when socket is NULL, fd, for events (ZMQ_POLLIN,
 *  ZMQ_POLLOUT). One reader per socket/fd: adding one again replaces it. 0 / -1 on OOM. */
int ax_loop_reader(ax_loop_t *self, void *socket, int fd, short events, ax_loop_reader_fn *fn, void *arg);
/*  Stops watching socket / fd (nothing when it is not watched). */
void ax_loop_reader_end(ax_loop_t *self, void *socket, int fd);

/*  A timer that runs fn after delay_ms (>= 0), times times (0: until ended). Returns its id
 *  (> 0) or -1 on OOM. */
int ax_loop_timer(ax_loop_t *self, int64_t delay_ms, unsigned times, ax_loop_timer_fn *fn, void *arg);
void ax_loop_timer_end(ax_loop_t *self, int timer_id);

/*  A poller (copied); at most one per arg. 0 / -1 on OOM. */
int ax_loop_poller(ax_loop_t *self, const ax_loop_poller_t *poller);
void ax_loop_poller_end(ax_loop_t *self, void *arg);

/*  fn runs once at the end of every turn. 0 / -1 on OOM. */
int ax_loop_hook(ax_loop_t *self, ax_loop_hook_fn *fn, void *arg);

/*  The loop ends (ax_loop_run returns 0) once *flag is non-zero; checked every turn (a
 *  signal interrupts the poll). */
void ax_loop_stop_on(ax_loop_t *self, const volatile sig_atomic_t *flag);

/*  Ends the loop after the current turn: ax_loop_run returns 0. */
void ax_loop_stop(ax_loop_t *self);

/*  The clock (ms, monotonic): ax_mono_ms unless a test sets another (NULL: back to it). */
void ax_loop_set_clock(ax_loop_t *self, int64_t (*now_ms)(void *arg), void *arg);
int64_t ax_loop_now(const ax_loop_t *self);

/*  One turn, waiting at most max_wait_ms (0: not at all) for something to happen: the
 *  poll, the handlers of what fired, the timers that are due, the hooks. 0, 1 when the
 *  loop was stopped, -1 when a handler said so or the poll failed (errno). */
int ax_loop_once(ax_loop_t *self, long max_wait_ms);

/*  Turns until stopped: 0 (ax_loop_stop, the stop flag) or -1 (a handler, a poll error). */
int ax_loop_run(ax_loop_t *self);

#endif
