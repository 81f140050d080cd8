/*  renderer.h: the collector's render thread, off the RESULT/ACK path.
 *
 *  The broker queues a run on NS:render once its jobs are all done; the renderer takes
 *  the queue oldest first, renders every output of the run (collector/render/output.h)
 *  and records the run done (or failed with the error), then removes it from the queue.
 *  It runs on a thread of its own with a Redis connection of its own, so however long a
 *  render takes (a backfill of hundreds of thousands of papers), the collector's loop
 *  goes on storing and acknowledging RESULTs and its /healthz stays healthy. Why a
 *  thread rather than a child process or a process of its own: it shares nothing with
 *  the loop but the log and the metrics (both locked), needs no fork of a ZeroMQ context,
 *  and is started, stopped and deployed with the collector. A collector killed during a
 *  render leaves the run on the queue: the next one renders it again from the start.
 */
#ifndef AX_RENDERER_H
#define AX_RENDERER_H

typedef struct ax_renderer ax_renderer_t;

/*  How often the queue is looked at when it was empty. */
#define AX_RENDERER_POLL_MS 250

/*  Starts the thread (strings copied). It connects to redis_url itself and waits while
 *  Redis is away. NULL with *err (a bad URL or password, no thread). */
ax_renderer_t *ax_renderer_start(const char *redis_url, const char *output_dir, char **err);

/*  Stops the thread once the render in progress (if any) is finished, and frees it. */
void ax_renderer_stop(ax_renderer_t **self_p);

#endif
