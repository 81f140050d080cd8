/*  run_store_internal.h: what the two files of the run store share (run_store.c: records,
 *  states, rendering, LLM usage, the broker; run_store_jobs.c: harvest, jobs, results):
 *  the key builders and a MULTI/EXEC helper. Nobody outside the store includes it.
 */
#ifndef AX_RUN_STORE_INTERNAL_H
#define AX_RUN_STORE_INTERNAL_H

#include <hiredis/hiredis.h>

#include "run_store.h"

/*  The stored names of the run states, one definition each: the name table
 *  (ax_run_state_name) and the Lua scripts are built from them. */
#define AX_RS_QUEUED "queued"
#define AX_RS_HARVESTING "harvesting"
#define AX_RS_DISPATCHING "dispatching"
#define AX_RS_COLLECTED "collected"
#define AX_RS_RENDERING "rendering"
#define AX_RS_DONE "done"
#define AX_RS_FAILED "failed"

/*  A key, built in place. Every part that goes in one is bounded (the namespace by
 *  AX_NAMESPACE_MAX, a run id by AX_RUN_ID_MAX, a profile name by the config's 64), so it
 *  always fits. */
typedef struct {
    char s[AX_RUN_STORE_KEY_MAX];
} ax_rkey_t;

/*  1 when run can name a run: 1-AX_RUN_ID_MAX characters, none of them '{' or '}'. */
int ax_rkey_run_ok(const char *run);
/*  "NS:run:{run}" + suffix (NULL: none) + profile (NULL: none). -1 (k empty) when run
 *  cannot name a run, or profile is longer than a profile name can be. */
int ax_rkey_run(ax_rkey_t *k, const char *run, const char *suffix, const char *profile);
/*  "NS:" + name + arg (NULL: none). -1 when it does not fit. */
int ax_rkey_ns(ax_rkey_t *k, const char *name, const char *arg);

/*  A MULTI ... EXEC pipeline: commands appended, then every reply read at once. */
typedef struct {
    redisContext *c;
    int count;                      /* commands appended, MULTI included */
    int oom;                        /* an append failed: the transaction is not sent */
} ax_rtx_t;

void ax_rtx_begin(ax_rtx_t *tx, redisContext *c);
void ax_rtx_argv(ax_rtx_t *tx, int argc, const char **argv, const size_t *lens);
void ax_rtx_fmt(ax_rtx_t *tx, const char *fmt, ...);
/*  Sends EXEC and reads every reply: 0 when every command was queued and ran without an
 *  error, -1 with *err otherwise (the link reconnects after a broken connection). */
int ax_rtx_exec(ax_rtx_t *tx, char **err);

/*  *err = what (a copy; err may be NULL); returns -1. */
int ax_rs_fail(char **err, const char *what);

/*  The start of every operation that reads a key of run (suffix: NULL for the record,
 *  profile: NULL for none): *err NULL, *k built. 1 to go on, 0 when run can name no run
 *  (nothing to read), -1 with *err when c is NULL. */
int ax_rs_read_key(redisContext *c, char **err, const char *run, const char *suffix, const char *profile,
                   ax_rkey_t *k);
/*  The start of every operation that writes n keys of run: *err NULL, keys[i] = the run's
 *  key + the i-th suffix (const char *, "" for the record itself). 0, or -1 with *err
 *  when c is NULL or run can name no run. */
int ax_rs_write_keys(redisContext *c, char **err, const char *run, int n, ax_rkey_t *keys, ...);

/*  HSET of the counters, the state (NONE: not written) and updated_ms on the
 *  transaction. */
void ax_rs_append_counts(ax_rtx_t *tx, const char *key, const ax_run_counts_t *n, ax_run_state_t state);

#endif
