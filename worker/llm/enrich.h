/*  enrich.h: LLM enrichment of matched papers (SPEC section 4), inside a worker.
 *
 *  One request per (paper, profile) that passed the keywords. Each is first looked up in
 *  the cluster-wide cache (a hit costs no request); a miss waits for the cluster-wide
 *  limiter (requests/min, tokens/min, requests in flight, pauses after a 429), then goes
 *  out on curl's multi interface: many requests in flight on the worker's one thread,
 *  polled together with its ZeroMQ sockets. Answers are validated (llm.h); an invalid one
 *  gets one repair request that shows the model its error; 408/409/429/5xx/timeouts are
 *  retried with exponential backoff and jitter (seeded per process), never waiting longer
 *  than llm.max_retry_after_s for a provider that asks to (those papers fail with its
 *  words); a response body over llm.max_response_bytes is cut off and its paper failed;
 *  401/403/insufficient quota are fatal for the run. Those rules are the state machine of
 *  llm_life.h; this module is the I/O around it. Every finished request fills its verdict
 *  (enriched, or failed with the reason, or left matched when the budget is spent) and is
 *  reported through the done callback.
 */
#ifndef AX_ENRICH_H
#define AX_ENRICH_H

#include <zmq.h>

#include "config.h"
#include "store.h"

typedef struct ax_enricher ax_enricher_t;

/*  Called once per finished request with the job it belongs to (its RESULT may go out
 *  from here). What the requests cost is written to Redis at the end of every turn, in the
 *  turn's one pipeline: a request is counted before it goes out, an answer's tokens and
 *  cost in the turn it arrives, so a run's report (which needs the job's ACK first, a
 *  later turn) sees them, and a worker killed at any moment leaves reported what was paid
 *  except the tokens of answers still on their way. */
typedef void (ax_enrich_done_fn)(void *arg, void *job);

/*  NULL with *err. api_key is copied and never logged; redis is borrowed. */
ax_enricher_t *ax_enricher_new(const ax_config_t *cfg, const char *api_key, ax_redis_link_t *redis,
                               ax_enrich_done_fn *done, void *arg, char **err);
void ax_enricher_destroy(ax_enricher_t **self_p);

/*  Queues the enrichment of paper for profile into verdict (all borrowed until the done
 *  callback for it). A cache hit completes at once (the callback runs before this
 *  returns). 0 / -1 on OOM. */
int ax_enricher_add(ax_enricher_t *self, void *job, const char *run, const ax_paper_t *paper,
                    const ax_profile_t *profile, ax_verdict_t *verdict);

/*  Poll integration: appends curl's sockets to items (at most max, returns how many) and
 *  lowers *timeout_ms to when curl or a waiting request next needs attention. */
int ax_enricher_pollitems(ax_enricher_t *self, zmq_pollitem_t *items, int max, long *timeout_ms);

/*  After the poll: drives the transfers whose sockets fired (items/n as filled by
 *  ax_enricher_pollitems, with revents), handles finished ones and starts what the
 *  limiter allows. */
void ax_enricher_perform(ax_enricher_t *self, const zmq_pollitem_t *items, int n);

/*  Requests queued or in flight. */
size_t ax_enricher_pending(const ax_enricher_t *self);

/*  The message of a fatal error (wrong key, no quota) of run, or NULL. */
const char *ax_enricher_fatal(const ax_enricher_t *self, const char *run);

#endif
