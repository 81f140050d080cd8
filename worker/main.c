/*  arxdigest-worker: takes jobs from the broker, judges papers, sends results to the collector. */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"
#include "worker.h"

int main(int argc, char **argv)
{
    int code;
    ax_log_init("worker");
    ax_config_t *cfg = ax_daemon_config(argc, argv, "arxdigest-worker",
                                        "Matches papers of jobs against the run's profiles and sends verdicts to the collector.",
                                        &code);
    if (!cfg)
        return code;
    ax_signals_install();
    ax_malloc_tune();
    char *err = NULL;
    ax_worker_t *worker = ax_worker_new(cfg, getenv("AX_WORKER_NAME"), &err);
    if (!worker) {
        fprintf(stderr, "arxdigest-worker: %s\n", err ? err : "cannot start");
        free(err);
        ax_config_destroy(&cfg);
        return 1;
    }
    int rc = ax_worker_run(worker);
    ax_worker_destroy(&worker);
    ax_config_destroy(&cfg);
    return rc < 0 ? 1 : 0;
}
