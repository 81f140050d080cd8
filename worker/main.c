/*  arxdigest-worker: takes jobs from the broker, judges papers, sends results to the collector. */
#include <stdlib.h>

#include "daemon.h"
#include "worker.h"

static void *s_create(const ax_config_t *cfg, char **err)
{
    return ax_worker_new(cfg, *cfg->worker.name ? cfg->worker.name : NULL, err);
}

static int s_run(void *self)
{
    return ax_worker_run(self);
}

static void s_destroy(void *self)
{
    ax_worker_t *worker = self;
    ax_worker_destroy(&worker);
}

int main(int argc, char **argv)
{
    static const ax_daemon_t daemon = {
        "arxdigest-worker", "worker",
        "Matches papers of jobs against the run's profiles and sends verdicts to the collector.", s_create, s_run,
        s_destroy};
    return ax_daemon_main(argc, argv, &daemon);
}
