/*  lease.h: a broker's lease on its Redis namespace, so that two brokers never work
 *  the same runs (docs/protocol.md section 8).
 *
 *  The lease is NS:broker:lease = "<broker id>" with a time to live (broker.
 *  namespace_lease_ms). A broker takes it when it is free (SET NX PX) and renews it
 *  several times per time to live, compared-and-renewed by one Lua script so that
 *  only its holder can extend it. Every acquisition increments NS:broker:epoch: a
 *  holder whose lease expired (Redis unreachable for a while, the broker paused) takes
 *  it back only when the epoch is still its own, i.e. when nobody held it meanwhile;
 *  otherwise the lease is lost and the broker must stop working the namespace at once.
 *
 *  The holder acts only while the lease is surely its own: until the last renewal's
 *  send time plus the time to live less a fifth (Redis counts the time to live from
 *  a later moment, so the key outlives that point). Released on a clean exit.
 */
#ifndef AX_LEASE_H
#define AX_LEASE_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "run_store.h"

typedef enum {
    AX_LEASE_UNKNOWN,           /* not held and not known to be taken (Redis unreachable) */
    AX_LEASE_HELD,              /* ours (check ax_lease_valid before acting) */
    AX_LEASE_TAKEN,             /* another broker holds it: holder names it */
    AX_LEASE_LOST               /* it was ours and another broker held it since: stop */
} ax_lease_state_t;

typedef struct {
    char id[128];               /* this broker: "host:pid:random" */
    char holder[128];           /* TAKEN: the broker that holds it */
    char key[AX_RUN_STORE_KEY_MAX];         /* NS:broker:lease */
    char epoch_key[AX_RUN_STORE_KEY_MAX];   /* NS:broker:epoch */
    int ttl_ms;
    uint64_t epoch;             /* of our acquisition; 0 = never held */
    ax_lease_state_t state;
    int64_t valid_until_ms;     /* monotonic: we may act until then */
    int64_t next_try_ms;        /* monotonic: next renewal or acquisition attempt */
} ax_lease_t;

/*  A lease on the current namespace (ax_store_namespace) with this time to live, not
 *  yet tried. 0 / -1 (no random id). */
int ax_lease_init(ax_lease_t *lease, int ttl_ms);

/*  Acquires or renews the lease when due (every ttl/5 and at least once a second, and at
 *  once when its validity ran out), else changes nothing. c may be NULL (Redis
 *  unreachable: the state stays, the validity runs out). Returns the state. */
ax_lease_state_t ax_lease_tick(ax_lease_t *lease, redisContext *c, int64_t now_ms);

/*  1 when the lease is held and still surely ours at now_ms. */
int ax_lease_valid(const ax_lease_t *lease, int64_t now_ms);

/*  Deletes the lease when it is still ours (a clean exit): a standby takes over at
 *  once instead of after the time to live. */
void ax_lease_release(ax_lease_t *lease, redisContext *c);

#endif
