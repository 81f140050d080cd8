/*  cli.h: the pieces of the `arxdigest` command.
 *
 *  local.c  starts a private cluster on this machine (redis-server if none is reachable,
 *           broker, workers, collector on ipc:// endpoints in a private folder) and stops it;
 *  client.c talks to a broker (SUBMIT), follows a run in Redis with a progress bar, and
 *           prints where the digests are;
 *  main.c   parses the command line into a config and dispatches the subcommands.
 */
#ifndef AX_CLI_H
#define AX_CLI_H

#include <hiredis/hiredis.h>
#include <sys/types.h>

#include "config.h"
#include "store.h"

#define AX_CLI_MAX_CHILDREN 64

typedef struct {
    char dir[256];              /* private folder: sockets, logs, redis data */
    char redis_url[512];        /* the Redis the cluster uses */
    char control[300];          /* broker control endpoint */
    char namespace[AX_NAMESPACE_MAX + 1];   /* redis.namespace of the cluster (store.h) */
    pid_t redis_pid;            /* 0 when an existing Redis is used */
    pid_t pids[AX_CLI_MAX_CHILDREN];
    char names[AX_CLI_MAX_CHILDREN][32];
    int n;
} ax_local_t;

/*  The namespace `arxdigest run` works in on a shared Redis (one that answered at
 *  redis.url): "<redis.namespace>:local:<host>:<uid>", the same for every run of this
 *  user on this machine (so a later run finds its own runs) and never a cluster's. */
void ax_local_namespace(const char *base, char *buf, size_t size);

/*  Starts Redis (when cfg's is unreachable), the broker, `workers` workers and the
 *  collector. config_path (may be NULL) is passed on to the children. On a shared Redis
 *  the cluster works in ax_local_namespace, with the private redis-server in
 *  redis.namespace; either way its broker refuses to stand by (broker.standby false:
 *  another `arxdigest run` of this user on this machine is a clear error). The namespace
 *  is set for this process too. 0 / -1 with a message on stderr; on failure everything
 *  started is stopped. */
int ax_local_start(ax_local_t *local, const ax_config_t *cfg, const char *config_path, int workers);

/*  Name of a child that exited (and its status), or NULL when all are alive. */
const char *ax_local_dead(ax_local_t *local, int *status);

/*  Prints the last lines of a child's log on stderr. */
void ax_local_print_log(const ax_local_t *local, const char *name, int lines);

/*  SIGTERM every child (then SIGKILL after 5 s), stop a private Redis, remove the folder. */
void ax_local_stop(ax_local_t *local);

/*  A SUBMIT carries a random request id and a deadline AX_CLIENT_SUBMIT_DEADLINE_MS from
 *  now; we wait AX_CLIENT_SUBMIT_WAIT_MS for the answer. The broker creates no run past
 *  the deadline, so when we give up no run was created (5 s of slack for clock skew). */
#define AX_CLIENT_SUBMIT_DEADLINE_MS 25000
#define AX_CLIENT_SUBMIT_WAIT_MS 30000

/*  Builds the run spec from the config and submits it to the broker's control endpoint.
 *  Returns the run id (caller frees) or NULL with a message on stderr. */
char *ax_client_submit(const ax_config_t *cfg, const char *control);

/*  Follows run until it is done or failed, with a progress line on stderr, waiting out
 *  Redis restarts. local (may be NULL) is watched for dead children. 0 when done (prints
 *  the digests), -1 otherwise. */
int ax_client_wait(ax_redis_link_t *link, const char *run, ax_local_t *local);

/*  Prints the state of run, or of the latest runs when run is NULL. 0 / -1. */
int ax_client_status(redisContext *c, const char *run);

/*  `arxdigest keygen [--out DIR] [--force] NAME` (keygen.c): writes DIR/NAME.key (mode
 *  0600) and DIR/NAME.pub, prints the public key. Returns the exit code. */
int ax_cli_keygen(int argc, char **argv);

#endif
