/*  collector.h: the collector stores results and renders digests.
 *
 *  Workers send it one RESULT per job; it stores the verdicts in Redis (idempotently on
 *  run, profile and paper: store.h) and only then ACKs, on its loop (loop.h). When the
 *  broker marks a run collected (NS:render), the render thread (renderer.h) reads the run
 *  back from Redis, ranks each profile's papers per period and writes the digests and
 *  report.json (output.h), while the loop goes on acknowledging.
 */
#ifndef AX_COLLECTOR_H
#define AX_COLLECTOR_H

#include "config.h"

typedef struct ax_collector ax_collector_t;

/*  Binds collector.bind and connects to Redis. NULL with *err. */
ax_collector_t *ax_collector_new(const ax_config_t *cfg, char **err);
void ax_collector_destroy(ax_collector_t **self_p);

/*  Serves until ax_stop_requested. 0 on a clean stop, -1 on a fatal error. */
int ax_collector_run(ax_collector_t *self);

#endif
