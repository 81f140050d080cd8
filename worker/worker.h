/*  worker.h: a stateless worker.
 *
 *  It asks the broker for jobs (READY with credit), judges every paper of a job for
 *  every profile of its run (match.h), sends the verdicts to the collector as one RESULT
 *  and, once the collector ACKed that the RESULT is stored, reports DONE to the broker.
 *  A job is in the worker's hands from JOB to ACK; the credit it grants never lets the
 *  broker give it more jobs than its capacity. Losing the broker (no heartbeat) makes it
 *  reconnect and re-announce; a RESULT without ACK is re-sent. Protocol: docs/protocol.md.
 */
#ifndef AX_WORKER_H
#define AX_WORKER_H

#include "config.h"

#define AX_WORKER_MAX_CAPACITY 64       /* upper bound of worker.capacity (jobs held, JOB .. ACK) */

typedef struct ax_worker ax_worker_t;

/*  Connects to the broker and the collector (worker.broker, worker.collector); timing
 *  from worker.capacity, heartbeat_ms, liveness, result_timeout_ms. NULL with *err. name
 *  identifies the worker in logs (NULL: host:pid). AX_TEST_JOB_DELAY_MS in the
 *  environment slows every job down (fault-injection tests only). */
ax_worker_t *ax_worker_new(const ax_config_t *cfg, const char *name, char **err);
void ax_worker_destroy(ax_worker_t **self_p);

/*  Works until ax_stop_requested; then delivers what it holds (up to 5 s), says BYE and
 *  returns 0. -1 on a fatal error. */
int ax_worker_run(ax_worker_t *self);

#endif
