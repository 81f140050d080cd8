/*  handoff.c: a bounded queue from a source's thread to the broker's loop (handoff.h):
 *  a ring of item pointers under a mutex, a condition for "room" and "stop", and a
 *  non-blocking pipe the thread writes a byte to whenever the loop has news. */
#define _GNU_SOURCE
#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct ax_handoff {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cond;                /* room in the queue, or stop */
    atomic_int stop;                    /* written under mu */
    int finished;
    char *error;
    void **ring;                        /* queued items: ring[(head + i) % cap], i < n */
    size_t cap, head, n;
    void (*free_item)(void *);
    int pipe[2];                        /* the thread writes a byte when there is news */
};

static void s_notify(ax_handoff_t *self)
{
    char b = 1;
    if (write(self->pipe[1], &b, 1) < 0 && errno != EAGAIN)
        ax_log_warn("source thread: cannot wake the broker|error=\"%s\"", strerror(errno));
}

ax_handoff_t *ax_handoff_new(size_t max_items, void (*free_item)(void *))
{
    ax_handoff_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pipe[0] = self->pipe[1] = -1;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cond, NULL);
    atomic_init(&self->stop, 0);
    self->cap = max_items ? max_items : 1;
    self->free_item = free_item;
    if (!(self->ring = calloc(self->cap, sizeof *self->ring)) || pipe2(self->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        ax_handoff_destroy(&self);
        return NULL;
    }
    return self;
}

void ax_handoff_destroy(ax_handoff_t **self_p)
{
    ax_handoff_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    if (self->started) {
        pthread_mutex_lock(&self->mu);
        atomic_store(&self->stop, 1);
        pthread_cond_broadcast(&self->cond);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->thread, NULL);
    }
    for (size_t i = 0; i < self->n; i++)
        self->free_item(self->ring[(self->head + i) % self->cap]);
    free(self->ring);
    free(self->error);
    if (self->pipe[0] >= 0)
        close(self->pipe[0]);
    if (self->pipe[1] >= 0)
        close(self->pipe[1]);
    pthread_mutex_destroy(&self->mu);
    pthread_cond_destroy(&self->cond);
    free(self);
    *self_p = NULL;
}

int ax_handoff_start(ax_handoff_t *self, void *(*run)(void *), void *arg)
{
    if (self->started || self->finished)
        return self->error ? -1 : 0;
    if (pthread_create(&self->thread, NULL, run, arg) != 0) {
        ax_handoff_finish(self, strdup("cannot start the source's thread"));
        return -1;
    }
    self->started = 1;
    return 0;
}

int ax_handoff_push(ax_handoff_t *self, void *item)
{
    pthread_mutex_lock(&self->mu);
    while (!atomic_load(&self->stop) && self->n == self->cap)
        pthread_cond_wait(&self->cond, &self->mu);
    int stop = atomic_load(&self->stop);
    if (!stop)
        self->ring[(self->head + self->n++) % self->cap] = item;
    pthread_mutex_unlock(&self->mu);
    if (stop) {
        self->free_item(item);
        return -1;
    }
    s_notify(self);
    return 0;
}

void ax_handoff_finish(ax_handoff_t *self, char *error)
{
    pthread_mutex_lock(&self->mu);
    self->finished = 1;
    if (error && !atomic_load(&self->stop) && !self->error)
        self->error = error;
    else
        free(error);
    pthread_mutex_unlock(&self->mu);
    s_notify(self);
}

int ax_handoff_sleep(ax_handoff_t *self, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t) (ms / 1000);
    until.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&self->mu);
    while (!atomic_load(&self->stop) && pthread_cond_timedwait(&self->cond, &self->mu, &until) != ETIMEDOUT)
        ;
    int stop = atomic_load(&self->stop);
    pthread_mutex_unlock(&self->mu);
    return stop ? -1 : 0;
}

const atomic_int *ax_handoff_stop_flag(const ax_handoff_t *self)
{
    return &self->stop;
}

void *ax_handoff_pop(ax_handoff_t *self, int *finished)
{
    char drain[64];
    while (read(self->pipe[0], drain, sizeof drain) > 0)
        ;                               /* news is read before the queue is looked at */
    pthread_mutex_lock(&self->mu);
    void *item = NULL;
    if (self->n) {
        item = self->ring[self->head];
        self->head = (self->head + 1) % self->cap;
        self->n--;
        pthread_cond_broadcast(&self->cond);     /* room in the queue */
    }
    *finished = !item && self->finished;
    pthread_mutex_unlock(&self->mu);
    return item;
}

int ax_handoff_fd(const ax_handoff_t *self)
{
    return self->pipe[0];
}

const char *ax_handoff_error(const ax_handoff_t *self)
{
    pthread_mutex_lock((pthread_mutex_t *) &self->mu);
    const char *error = self->error;
    pthread_mutex_unlock((pthread_mutex_t *) &self->mu);
    return error;
}
