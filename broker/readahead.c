/*  readahead.c: a snapshot read ahead on a thread (see readahead.h). The thread fills
 *  chunks of papers, each with the position and stats after it, and queues them; the
 *  consumer side takes papers one by one and keeps the position of the last taken. */
#define _GNU_SOURCE
#include "readahead.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define S_CHUNK_PAPERS 256              /* papers per chunk ... */
#define S_CHUNK_BYTES (1 << 20)         /* ... or bytes of their lines, whichever first */
#define S_QUEUE_CHUNKS 2                /* chunks queued ahead of the broker */

/*  A paper and the reader as it was right after it. */
typedef struct {
    ax_paper_t paper;
    uint64_t offset, line;
    ax_snapshot_stats_t stats;
} s_item_t;

typedef struct s_chunk {
    s_item_t items[S_CHUNK_PAPERS];
    size_t n;
    struct s_chunk *next;
} s_chunk_t;

struct ax_readahead {
    ax_snapshot_t *snap;                /* the thread's alone once it runs */
    atomic_int stop_now;                /* tells a long read to give up */
    /* shared with the thread, under mu */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop;
    s_chunk_t *head, *tail;
    size_t n_chunks;
    int finished;                       /* the thread is done: end, error or stop */
    char *error;
    uint64_t end_offset, end_line;      /* the reader at its end */
    ax_snapshot_stats_t end_stats;
    int pipe[2];                        /* the thread writes a byte when there is news */
    /* consumer side */
    s_chunk_t *cur;
    size_t cur_i;
    uint64_t offset, line;              /* after the last paper taken */
    ax_snapshot_stats_t stats;
};

static void s_chunk_free(s_chunk_t *chunk)
{
    for (size_t i = 0; chunk && i < chunk->n; i++)
        ax_paper_clear(&chunk->items[i].paper);
    free(chunk);
}

static void s_notify(ax_readahead_t *self)
{
    char b = 1;
    if (write(self->pipe[1], &b, 1) < 0 && errno != EAGAIN)
        ax_log_warn("snapshot reader: cannot wake the broker|error=\"%s\"", strerror(errno));
}

/* ---------------------------------------------------------------- thread side */

/*  Queues a chunk, waiting while the queue is full. -1 when stopping (chunk freed). */
static int s_push(ax_readahead_t *self, s_chunk_t *chunk)
{
    pthread_mutex_lock(&self->mu);
    while (!self->stop && self->n_chunks >= S_QUEUE_CHUNKS)
        pthread_cond_wait(&self->cond, &self->mu);
    int stop = self->stop;
    if (!stop) {
        if (self->tail)
            self->tail->next = chunk;
        else
            self->head = chunk;
        self->tail = chunk;
        self->n_chunks++;
    }
    pthread_mutex_unlock(&self->mu);
    if (stop) {
        s_chunk_free(chunk);
        return -1;
    }
    s_notify(self);
    return 0;
}

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
    int rc = 1;
    while (rc > 0) {
        s_chunk_t *chunk = calloc(1, sizeof *chunk);
        if (!chunk) {
            rc = -2;
            break;
        }
        rc = s_fill_chunk(self, chunk);
        if (chunk->n == 0)
            s_chunk_free(chunk);
        else if (s_push(self, chunk) < 0)
            rc = -3;
    }
    pthread_mutex_lock(&self->mu);
    self->finished = 1;
    ax_snapshot_tell(self->snap, &self->end_offset, &self->end_line);
    self->end_stats = *ax_snapshot_stats(self->snap);
    if (rc < 0 && !self->stop)
        self->error = strdup(rc == -2 ? "out of memory" : ax_snapshot_error(self->snap));
    pthread_mutex_unlock(&self->mu);
    s_notify(self);
    return NULL;
}

/* ---------------------------------------------------------------- consumer side */

ax_readahead_t *ax_readahead_new(ax_snapshot_t **snap)
{
    ax_readahead_t *self = calloc(1, sizeof *self);
    if (!self) {
        ax_snapshot_destroy(snap);
        return NULL;
    }
    self->snap = *snap;
    *snap = NULL;
    self->pipe[0] = self->pipe[1] = -1;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cond, NULL);
    atomic_init(&self->stop_now, 0);
    ax_snapshot_stop_on(self->snap, &self->stop_now);
    ax_snapshot_tell(self->snap, &self->offset, &self->line);
    if (pipe2(self->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        ax_readahead_destroy(&self);
        return NULL;
    }
    return self;
}

void ax_readahead_destroy(ax_readahead_t **self_p)
{
    ax_readahead_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    if (self->started) {
        atomic_store(&self->stop_now, 1);
        pthread_mutex_lock(&self->mu);
        self->stop = 1;
        pthread_cond_broadcast(&self->cond);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->thread, NULL);
    }
    while (self->head) {
        s_chunk_t *c = self->head;
        self->head = c->next;
        s_chunk_free(c);
    }
    s_chunk_free(self->cur);
    ax_snapshot_destroy(&self->snap);
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

/*  The next queued chunk becomes the current one. 1 = one did, 0 = none queued (*finished
 *  and *failed say whether one ever will). */
static int s_next_chunk(ax_readahead_t *self, int *finished, int *failed)
{
    char drain[64];
    while (read(self->pipe[0], drain, sizeof drain) > 0)
        ;                               /* news is read before the queue is looked at */
    pthread_mutex_lock(&self->mu);
    s_chunk_t *c = self->head;
    if (c) {
        self->head = c->next;
        if (!self->head)
            self->tail = NULL;
        self->n_chunks--;
        pthread_cond_broadcast(&self->cond);     /* room in the queue */
    }
    *finished = self->finished;
    *failed = self->error != NULL;
    if (!c && self->finished) {
        self->offset = self->end_offset;
        self->line = self->end_line;
        self->stats = self->end_stats;
    }
    pthread_mutex_unlock(&self->mu);
    if (!c)
        return 0;
    s_chunk_free(self->cur);
    self->cur = c;
    self->cur_i = 0;
    return 1;
}

int ax_readahead_next(ax_readahead_t *self, ax_paper_t *out)
{
    int finished, failed;
    memset(out, 0, sizeof *out);
    if (!self->started) {               /* started on first use: only the active run reads */
        if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
            free(self->error);
            self->error = strdup("cannot start the snapshot reader thread");
            return -1;
        }
        self->started = 1;
    }
    while (!self->cur || self->cur_i == self->cur->n)
        if (!s_next_chunk(self, &finished, &failed))
            return failed ? -1 : finished ? 0 : 2;
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
    return self->pipe[0];
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
    return self->error ? self->error : "no error";
}
