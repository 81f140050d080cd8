/*  renderer.c: the render thread (see renderer.h). */
#define _GNU_SOURCE
#include "renderer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "output.h"
#include "run_store.h"
#include "store.h"
#include "text.h"

struct ax_renderer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;                           /* under lock */
    ax_redis_link_t redis;              /* the thread's own connection */
    char *output_dir;
};

/*  Renders one run of the queue: `rendering` while its files are written, then `done`
 *  (or `failed`) and off the queue, in one transaction. */
static void s_render_one(ax_renderer_t *self, redisContext *c, const char *run)
{
    char *folder = NULL, *err = NULL, *rerr = NULL;
    int64_t t0 = ax_mono_ms();
    if (ax_run_store_set_state(c, run, AX_RUN_STATE_RENDERING, &err) < 0) {
        ax_log_warn("cannot mark run rendering|run=%s error=\"%s\"", run, err ? err : "?");
        free(err);
        err = NULL;
    }
    if (ax_output_render_run(c, run, self->output_dir, NULL, (int64_t) time(NULL), &folder, &rerr) < 0) {
        ax_log_error("render failed|run=%s error=\"%s\"", run, rerr ? rerr : "?");
        ax_metrics_add("arxdigest_collector_renders_total", "outcome=\"failed\"", 1);
    } else {
        ax_log_info("run rendered|run=%s folder=%s ms=%lld", run, folder, (long long) (ax_mono_ms() - t0));
        ax_metrics_add("arxdigest_collector_renders_total", "outcome=\"ok\"", 1);
        ax_metrics_observe("arxdigest_collector_render_duration_seconds", NULL, (double) (ax_mono_ms() - t0) / 1e3);
    }
    const char *failed = folder ? NULL : rerr ? rerr : "render failed";
    if (ax_run_store_render_finish(c, run, folder, failed, ax_now_ms(), &err) < 0) {
        ax_log_warn("cannot record the render, will render again|run=%s error=\"%s\"", run, err ? err : "?");
        free(err);
    }
    free(rerr);
    free(folder);
}

/*  Renders the runs the broker marked collected, oldest first; 1 when there were any. */
static int s_render_pending(ax_renderer_t *self)
{
    redisContext *c = ax_redis_link_get(&self->redis);
    char *err = NULL, **runs = NULL;
    size_t n = 0;
    if (!c)
        return 0;
    if (ax_run_store_render_queue(c, &runs, &n, &err) < 0) {
        ax_log_warn("cannot read render queue|error=\"%s\"", err ? err : "?");
        free(err);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        s_render_one(self, c, runs[i]);
    ax_strv_free(&runs, n);
    return n > 0;
}

/*  1 when asked to stop; otherwise waits up to ms for it. */
static int s_wait(ax_renderer_t *self, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&self->lock);
    while (!self->stop && pthread_cond_timedwait(&self->wake, &self->lock, &until) != ETIMEDOUT)
        ;
    int stop = self->stop;
    pthread_mutex_unlock(&self->lock);
    return stop;
}

static void *s_thread(void *arg)
{
    ax_renderer_t *self = arg;
    do {
        while (s_render_pending(self))  /* a render may have queued behind another */
            if (s_wait(self, 0))
                return NULL;
    } while (!s_wait(self, AX_RENDERER_POLL_MS));
    return NULL;
}

ax_renderer_t *ax_renderer_start(const char *redis_url, const char *output_dir, char **err)
{
    *err = NULL;
    ax_renderer_t *self = calloc(1, sizeof *self);
    if (!self || !(self->output_dir = strdup(output_dir))) {
        free(self);
        *err = strdup("out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    if (ax_redis_link_try(&self->redis, redis_url, err) < 0)
        goto fail;
    int rc = pthread_create(&self->thread, NULL, s_thread, self);
    if (rc != 0) {
        ax_set_error(err, "cannot start the render thread: %s", strerror(rc));
        goto fail;
    }
    return self;
fail:
    ax_redis_link_close(&self->redis);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self->output_dir);
    free(self);
    return NULL;
}

void ax_renderer_stop(ax_renderer_t **self_p)
{
    ax_renderer_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    ax_redis_link_close(&self->redis);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self->output_dir);
    free(self);
    *self_p = NULL;
}
