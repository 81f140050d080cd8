/*  broker.h: the broker, the only process that reads a source.
 *
 *  It takes runs on its control socket (SUBMIT), harvests each run's papers from its
 *  source, drops duplicates (a Redis set per run), packs them into jobs of job_size
 *  papers and hands jobs to workers that asked for them (credit: never more than a
 *  worker's READY granted). Every dispatched job is leased; an expired lease, a dead
 *  worker, a BYE or a FAIL puts the job back in the queue with attempt + 1, and after
 *  max_attempts its papers are recorded as failed. Harvesting runs only a bounded
 *  window ahead of the workers, so memory stays flat however large the source.
 *  The protocol is docs/protocol.md.
 */
#ifndef AX_BROKER_H
#define AX_BROKER_H

#include "config.h"
#include "proto.h"

typedef struct ax_broker ax_broker_t;

/*  Binds the control socket and tries Redis once (without waiting for it). The rest
 *  happens in ax_broker_run: once the namespace lease is ours (lease.h) the jobs socket
 *  is bound and the unfinished runs recorded in Redis are resumed; until then, or while
 *  another broker holds the lease (a standby), only the control socket answers. Timing:
 *  broker.lease_ms, heartbeat_ms, liveness, max_attempts, namespace_lease_ms. NULL with
 *  *err (a bad Redis URL or password, an endpoint that cannot be bound). */
ax_broker_t *ax_broker_new(const ax_config_t *cfg, char **err);
void ax_broker_destroy(ax_broker_t **self_p);

/*  Serves until ax_stop_requested is set. 0 on a clean stop, -1 on a fatal error or
 *  when the broker must not work the namespace: its lease was lost, or another broker
 *  holds it and broker.standby is false. */
int ax_broker_run(ax_broker_t *self);

#endif
