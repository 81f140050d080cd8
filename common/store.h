/*  store.h: the generic Redis plumbing every process shares: a connection that survives
 *  Redis restarts, commands and Lua scripts (by SHA, re-sent when the server forgot them),
 *  pipelines, and the namespace NS (redis.namespace, default "ax") under which every key
 *  of runs lives, so that clusters and `arxdigest run` can share a Redis without seeing
 *  each other's runs. The keys themselves, their fields and the transactions over them
 *  belong to the run store (run_store.h, docs/protocol.md section 8); the LLM cache and
 *  the rate limiter (ax:llmcache:*, ax:llm:*, not namespaced) to worker/llm/limiter.h.
 */
#ifndef AX_STORE_H
#define AX_STORE_H

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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

/*  Runs a command (printf-style, as redisCommand) and checks the reply is not an error.
 *  Returns the reply (caller frees with freeReplyObject) or NULL with *err (err may be
 *  NULL; c NULL: "redis: not connected"). */
redisReply *ax_redis_cmd(redisContext *c, char **err, const char *fmt, ...);
redisReply *ax_redis_vcmd(redisContext *c, char **err, const char *fmt, va_list ap);

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

#endif
