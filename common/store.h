/*  store.h: Redis connection and the run's keys (docs/protocol.md section 8).
 *
 *  Every key of runs lives under one namespace NS (redis.namespace, default "ax"), so
 *  that clusters and `arxdigest run` can share a Redis without seeing each other's runs.
 *  Keys of a run share the hash tag {RUN} so a Redis Cluster keeps them on one slot:
 *    NS:run:{R}                 hash   state, spec, counts of the harvest, timings, output
 *    NS:run:{R}:seen            set    paper ids already harvested (de-duplication)
 *    NS:run:{R}:states:{P}      hash   paper id -> "state" or "state\treason" for profile P
 *    NS:run:{R}:counts:{P}      hash   state -> number of papers in it for profile P
 *    NS:run:{R}:papers:{P}      hash   paper id -> msgpack entry (matched/enriched papers)
 *    NS:run:{R}:jobids          hash   job id -> its paper ids joined by NUL (outstanding jobs)
 *    NS:runs                    zset   run ids by creation time (ms)
 *    NS:render                  list   runs whose jobs are all done, waiting to be rendered
 *    NS:broker                  hash   the active broker's view, for `arxdigest status`
 *    NS:broker:lease, :epoch    string the broker lease on the namespace (broker/lease.h)
 *    NS:submit:<request id>     string run id created for a SUBMIT (idempotent retries)
 *  The LLM cache (ax:llmcache:*) and the rate limiter (ax:llm:*) are not namespaced:
 *  one provider limit and one cache for everybody on the Redis (limiter.h).
 */
#ifndef AX_STORE_H
#define AX_STORE_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "codec.h"

/*  Connects to a "redis://[user:password@]host[:port][/db]" or "unix:///path[?db=N]" URL,
 *  authenticates and selects the db. timeout_ms bounds connect and every command. NULL with
 *  *err (caller frees) on failure. The password never appears in *err. */
redisContext *ax_redis_connect(const char *url, int timeout_ms, char **err);

/*  url with the password of its userinfo replaced by "***" ("redis://alice:***@h:6379/0"),
 *  fit for messages. Caller frees; NULL on OOM. */
char *ax_redis_url_redacted(const char *url);

/*  A connection that survives Redis restarts: ax_redis_link_get returns a live context,
 *  reconnecting (at most once a second, with a log line) after any failure, or NULL
 *  while Redis is unreachable. Callers retry later; nothing blocks for long. */
typedef struct {
    redisContext *c;
    char *url;
    int64_t retry_at_ms;
} ax_redis_link_t;

/*  Connects, waiting while Redis is unreachable (a log line each try, one a second)
 *  until it answers or ax_stop_requested is set. -1 with *err only for a bad URL, a
 *  refused password or a stop. */
int ax_redis_link_init(ax_redis_link_t *link, const char *url, char **err);
/*  Tries to connect once and never waits: an unreachable server leaves link->c NULL
 *  (ax_redis_link_get retries). -1 with *err only for a bad URL or a refused password. */
int ax_redis_link_try(ax_redis_link_t *link, const char *url, char **err);
redisContext *ax_redis_link_get(ax_redis_link_t *link);
void ax_redis_link_close(ax_redis_link_t *link);

/*  Field of an HGETALL reply: its value reply (borrowed; binary-safe via ->len), as a
 *  string, or as a number (0 when absent). NULL when absent. */
const redisReply *ax_redis_hash_field(const redisReply *hash, const char *field);
const char *ax_redis_hash_str(const redisReply *hash, const char *field);
long long ax_redis_hash_ll(const redisReply *hash, const char *field);

/*  The namespace of every key of runs (redis.namespace). Set once at start, before
 *  any key is built (ax_daemon_main, the CLI); "ax" until then. -1 when ns is not 1 to
 *  AX_NAMESPACE_MAX characters of AX_NAMESPACE_CHARS (config.h; then it is unchanged). */
int ax_store_namespace_set(const char *ns);
const char *ax_store_namespace(void);

/*  "NS:name" into buf (NS:runs, NS:render, NS:broker, ...). Returns buf. */
char *ax_ns_key(char *buf, size_t size, const char *name);

/*  "NS:run:{R}" + suffix into buf. Returns buf. */
char *ax_run_key(char *buf, size_t size, const char *run, const char *suffix);

/*  Runs a command (printf-style, as redisCommand) and checks the reply is not an error.
 *  Returns the reply (caller frees with freeReplyObject) or NULL with *err. */
redisReply *ax_redis_cmd(redisContext *c, char **err, const char *fmt, ...);

/*  Runs a Lua script: EVALSHA with the script's SHA-1 (computed here), falling back to
 *  EVAL when the server does not have it cached (first use, SCRIPT FLUSH, a restart).
 *  keys and args are C strings; ax_redis_eval_bin takes the args' lengths (NULL: strlen)
 *  for binary values. Returns the reply (caller frees with freeReplyObject) or NULL with
 *  *err (caller frees; err may be NULL) on a connection error or a script error. */
redisReply *ax_redis_eval(redisContext *c, const char *script, int nkeys, const char **keys,
                          int nargs, const char **args, char **err);
redisReply *ax_redis_eval_bin(redisContext *c, const char *script, int nkeys, const char **keys,
                              int nargs, const char **args, const size_t *arg_lens, char **err);

/*  A pipeline: commands collected (copied in) and sent together, one round trip for all,
 *  for writes whose replies only matter as "did it work" (releasing limiter leases,
 *  cache writes). Scripts go as EVALSHA and are re-sent as EVAL when the server does not
 *  know them, as ax_redis_eval does. */
typedef struct ax_redis_batch ax_redis_batch_t;

ax_redis_batch_t *ax_redis_batch_new(void);
void ax_redis_batch_destroy(ax_redis_batch_t **self_p);
size_t ax_redis_batch_size(const ax_redis_batch_t *b);
/*  Adds a command (lens NULL: strlen of each argv) / a script call. -1 on OOM. */
int ax_redis_batch_cmd(ax_redis_batch_t *b, int argc, const char **argv, const size_t *lens);
int ax_redis_batch_eval(ax_redis_batch_t *b, const char *script, int nkeys, const char **keys, int nargs,
                        const char **args, const size_t *arg_lens);
/*  Sends every command and reads every reply; the batch is empty afterwards. Returns the
 *  number of commands answered with an error (*err: the first one), or -1 with *err when
 *  the connection failed (the commands are dropped: callers only batch what may be lost,
 *  such as a lease that expires by itself). */
int ax_redis_batch_flush(redisContext *c, ax_redis_batch_t *b, char **err);
/*  Flushes the batch and runs a script after it in the same round trip: the script's
 *  reply (caller frees), or NULL with *err as ax_redis_eval. *failed counts the batch's
 *  commands that failed (-1: the connection did), which are logged here. */
redisReply *ax_redis_batch_flush_eval(redisContext *c, ax_redis_batch_t *b, const char *script, int nkeys,
                                      const char **keys, int nargs, const char **args, int *failed,
                                      char **err);

/*  What ax_store_result did with a result. */
typedef enum {
    AX_STORE_ERROR = -1,            /* Redis failed (*err): nothing known, try again */
    AX_STORE_STORED = 0,
    AX_STORE_FINISHED = 1,          /* not stored: its run is unknown or finished, or its job done */
    AX_STORE_REFUSED = 2,           /* not stored: not the papers of an outstanding job of the run */
} ax_store_rc_t;

/*  Stores a RESULT: per item and profile the state (with its reason) and, for kept
 *  papers, the entry record; keeps ax:run:{R}:counts:{P} exact and the run's papers_done
 *  counter. Idempotent on (run, profile, paper): storing the same result twice changes
 *  nothing. Only the result of an outstanding job (in ax:run:{R}:jobs) of an active run
 *  (harvesting, dispatching) is stored, and only when its items are exactly the job's
 *  papers; the check and the writes are one script, so a result is never half-judged.
 *  The caller checks the profiles (the run's, in order). Returns an ax_store_rc_t; when
 *  not stored, *err says why and *reason (may be NULL) is a short word for a metric
 *  label: "run", "finished", "job" or "papers". */
int ax_store_result(redisContext *c, const ax_result_t *result, const char **reason, char **err);

/*  Adds the ids to the run's seen set; fresh[i] = 1 for ids not seen before. 0 / -1. */
int ax_store_dedup(redisContext *c, const char *run, char *const *ids, size_t n,
                   unsigned char *fresh, char **err);

#endif
