/*  loop.c: the reactor (see loop.h).
 *
 *  Readers, timers, pollers and hooks live in small arrays (a daemon has a handful of
 *  each). Ending one during a turn only marks it dead; the arrays are compacted at the
 *  end of the turn, so a handler can end anything, itself included, without the turn
 *  touching freed memory. What is added during a turn takes part from the next one.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define S_POLLER_ITEMS 256              /* items one poller may add to a turn */

typedef struct {
    void *socket;
    int fd;
    short events;
    ax_loop_reader_fn *fn;
    void *arg;
    int dead;
} s_reader_t;

typedef struct {
    int id;
    int64_t delay_ms, due_ms;
    unsigned left;                      /* runs left, 0: for ever */
    ax_loop_timer_fn *fn;
    void *arg;
    int dead;
} s_timer_t;

typedef struct {
    ax_loop_poller_t p;
    int dead;
} s_poller_t;

typedef struct {
    ax_loop_hook_fn *fn;
    void *arg;
} s_hook_t;

struct ax_loop {
    s_reader_t *readers;
    size_t n_readers, cap_readers;
    s_timer_t *timers;
    size_t n_timers, cap_timers;
    s_poller_t *pollers;
    size_t n_pollers, cap_pollers;
    s_hook_t *hooks;
    size_t n_hooks, cap_hooks;
    zmq_pollitem_t *items;              /* one turn's poll set */
    size_t cap_items;
    int next_timer_id;
    int stopped;
    const volatile sig_atomic_t *stop_flag;
    int64_t (*now_ms)(void *arg);
    void *now_arg;
};

/*  Room for one more element of size bytes in *v (n used, *cap allocated). -1 on OOM. */
static int s_grow(void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void *nv = realloc(*v, c * size);
    if (!nv)
        return -1;
    *v = nv;
    *cap = c;
    return 0;
}

#define S_PUSH(self, name) \
    s_grow((void **) &(self)->name, (self)->n_##name, &(self)->cap_##name, sizeof *(self)->name)

ax_loop_t *ax_loop_new(void)
{
    ax_loop_t *self = calloc(1, sizeof *self);
    if (self)
        self->next_timer_id = 1;
    return self;
}

void ax_loop_destroy(ax_loop_t **self_p)
{
    ax_loop_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    free(self->readers);
    free(self->timers);
    free(self->pollers);
    free(self->hooks);
    free(self->items);
    free(self);
    *self_p = NULL;
}

int ax_loop_reader(ax_loop_t *self, void *socket, int fd, short events, ax_loop_reader_fn *fn, void *arg)
{
    ax_loop_reader_end(self, socket, fd);
    if (S_PUSH(self, readers) < 0)
        return -1;
    self->readers[self->n_readers++] = (s_reader_t){socket, socket ? -1 : fd, events, fn, arg, 0};
    return 0;
}

void ax_loop_reader_end(ax_loop_t *self, void *socket, int fd)
{
    for (size_t i = 0; i < self->n_readers; i++) {
        s_reader_t *r = &self->readers[i];
        if (socket ? r->socket == socket : (!r->socket && r->fd == fd))
            r->dead = 1;
    }
}

int ax_loop_timer(ax_loop_t *self, int64_t delay_ms, unsigned times, ax_loop_timer_fn *fn, void *arg)
{
    if (S_PUSH(self, timers) < 0)
        return -1;
    if (delay_ms < 0)
        delay_ms = 0;
    int id = self->next_timer_id++;
    if (self->next_timer_id <= 0)
        self->next_timer_id = 1;
    self->timers[self->n_timers++] = (s_timer_t){id, delay_ms, ax_loop_now(self) + delay_ms, times, fn, arg, 0};
    return id;
}

void ax_loop_timer_end(ax_loop_t *self, int timer_id)
{
    for (size_t i = 0; i < self->n_timers; i++)
        if (self->timers[i].id == timer_id)
            self->timers[i].dead = 1;
}

int ax_loop_poller(ax_loop_t *self, const ax_loop_poller_t *poller)
{
    ax_loop_poller_end(self, poller->arg);
    if (S_PUSH(self, pollers) < 0)
        return -1;
    self->pollers[self->n_pollers++] = (s_poller_t){*poller, 0};
    return 0;
}

void ax_loop_poller_end(ax_loop_t *self, void *arg)
{
    for (size_t i = 0; i < self->n_pollers; i++)
        if (self->pollers[i].p.arg == arg)
            self->pollers[i].dead = 1;
}

int ax_loop_hook(ax_loop_t *self, ax_loop_hook_fn *fn, void *arg)
{
    if (S_PUSH(self, hooks) < 0)
        return -1;
    self->hooks[self->n_hooks++] = (s_hook_t){fn, arg};
    return 0;
}

void ax_loop_stop_on(ax_loop_t *self, const volatile sig_atomic_t *flag)
{
    self->stop_flag = flag;
}

void ax_loop_stop(ax_loop_t *self)
{
    self->stopped = 1;
}

void ax_loop_set_clock(ax_loop_t *self, int64_t (*now_ms)(void *arg), void *arg)
{
    self->now_ms = now_ms;
    self->now_arg = arg;
}

int64_t ax_loop_now(const ax_loop_t *self)
{
    return self->now_ms ? self->now_ms(self->now_arg) : ax_mono_ms();
}

/*  Drops what was ended during the turn. */
static void s_compact(ax_loop_t *self)
{
#define S_COMPACT(name)                                                    \
    do {                                                                   \
        size_t k = 0;                                                      \
        for (size_t i = 0; i < self->n_##name; i++)                        \
            if (!self->name[i].dead)                                       \
                self->name[k++] = self->name[i];                           \
        self->n_##name = k;                                                \
    } while (0)
    S_COMPACT(readers);
    S_COMPACT(timers);
    S_COMPACT(pollers);
#undef S_COMPACT
}

/*  How long the poll may wait: until the first timer, at most max_wait_ms. */
static long s_wait_ms(const ax_loop_t *self, long max_wait_ms, int64_t now)
{
    long wait = max_wait_ms;
    for (size_t i = 0; i < self->n_timers; i++) {
        const s_timer_t *t = &self->timers[i];
        int64_t left = t->due_ms > now ? t->due_ms - now : 0;
        if (!t->dead && left < wait)
            wait = (long) left;
    }
    return wait;
}

/*  The poll set: the readers, then each poller's items; *poller_at[i] is where poller i's
 *  items start and *poller_n[i] how many it added. -1 on OOM. */
static int s_prepare(ax_loop_t *self, long *wait, size_t *n_items, size_t *poller_at, int *poller_n)
{
    size_t need = self->n_readers + self->n_pollers * S_POLLER_ITEMS;
    if (need > self->cap_items) {
        zmq_pollitem_t *v = realloc(self->items, need * sizeof *v);
        if (!v)
            return -1;
        self->items = v;
        self->cap_items = need;
    }
    size_t n = 0;
    for (size_t i = 0; i < self->n_readers; i++) {
        const s_reader_t *r = &self->readers[i];
        self->items[n++] = (zmq_pollitem_t){r->socket, r->socket ? 0 : r->fd, r->dead ? 0 : r->events, 0};
    }
    for (size_t i = 0; i < self->n_pollers; i++) {
        poller_at[i] = n;
        s_poller_t *p = &self->pollers[i];
        int k = p->dead ? 0 : p->p.prepare(p->p.arg, self->items + n, S_POLLER_ITEMS, wait);
        poller_n[i] = k > 0 ? k : 0;
        n += (size_t) poller_n[i];
    }
    *n_items = n;
    return 0;
}

/*  Runs the handlers of what fired and of the timers that are due. -1 when one said so. */
static int s_dispatch(ax_loop_t *self, size_t n_readers, size_t n_pollers, const size_t *poller_at,
                      const int *poller_n)
{
    int rc = 0;
    for (size_t i = 0; i < n_readers && rc == 0; i++) {
        zmq_pollitem_t *item = &self->items[i];
        s_reader_t *r = &self->readers[i];
        if (item->revents && !r->dead)
            rc = r->fn(self, item, r->arg);
    }
    for (size_t i = 0; i < n_pollers && rc == 0; i++) {
        s_poller_t *p = &self->pollers[i];
        if (!p->dead)
            rc = p->p.dispatch(p->p.arg, self->items + poller_at[i], poller_n[i]);
    }
    int64_t now = ax_loop_now(self);
    size_t n_timers = self->n_timers;   /* timers added by a handler wait for the next turn */
    for (size_t i = 0; i < n_timers && rc == 0; i++) {
        s_timer_t *t = &self->timers[i];
        if (t->dead || t->due_ms > now)
            continue;
        t->due_ms = now + t->delay_ms;
        if (t->left && --t->left == 0)
            t->dead = 1;
        int id = t->id;
        ax_loop_timer_fn *fn = t->fn;
        void *arg = t->arg;
        rc = fn(self, id, arg);         /* may grow self->timers: t is not used after */
    }
    for (size_t i = 0; i < self->n_hooks && rc == 0; i++)
        rc = self->hooks[i].fn(self, self->hooks[i].arg);
    return rc;
}

int ax_loop_once(ax_loop_t *self, long max_wait_ms)
{
    if (self->stopped || (self->stop_flag && *self->stop_flag))
        return 1;
    size_t n_readers = self->n_readers, n_pollers = self->n_pollers, n_items = 0;
    size_t *poller_at = calloc(n_pollers + 1, sizeof *poller_at);
    int *poller_n = calloc(n_pollers + 1, sizeof *poller_n);
    long wait = s_wait_ms(self, max_wait_ms, ax_loop_now(self));
    int rc = 0;
    if (!poller_at || !poller_n || s_prepare(self, &wait, &n_items, poller_at, poller_n) < 0) {
        errno = ENOMEM;
        rc = -1;
    } else if (zmq_poll(self->items, (int) n_items, wait) < 0) {
        if (errno != EINTR)
            rc = -1;
        else                            /* a signal only ends the wait: nothing fired */
            for (size_t i = 0; i < n_items; i++)
                self->items[i].revents = 0;
    }
    if (rc == 0)
        rc = s_dispatch(self, n_readers, n_pollers, poller_at, poller_n);
    free(poller_at);
    free(poller_n);
    s_compact(self);
    if (rc < 0)
        return -1;
    return self->stopped || (self->stop_flag && *self->stop_flag) ? 1 : 0;
}

int ax_loop_run(ax_loop_t *self)
{
    int rc;
    while ((rc = ax_loop_once(self, AX_LOOP_MAX_WAIT_MS)) == 0)
        ;
    return rc < 0 ? -1 : 0;
}
