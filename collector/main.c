/*  arxdigest-collector: stores workers' results and renders the digests of collected runs. */
#include <stdio.h>
#include <stdlib.h>

#include "collector.h"
#include "daemon.h"
#include "log.h"

int main(int argc, char **argv)
{
    int code;
    ax_log_init("collector");
    ax_config_t *cfg = ax_daemon_config(argc, argv, "arxdigest-collector",
                                        "Stores results (ACK after store) and renders digests of collected runs.", &code);
    if (!cfg)
        return code;
    ax_signals_install();
    ax_malloc_tune();
    char *err = NULL;
    ax_collector_t *collector = ax_collector_new(cfg, &err);
    if (!collector) {
        fprintf(stderr, "arxdigest-collector: %s\n", err ? err : "cannot start");
        free(err);
        ax_config_destroy(&cfg);
        return 1;
    }
    int rc = ax_collector_run(collector);
    ax_collector_destroy(&collector);
    ax_config_destroy(&cfg);
    return rc < 0 ? 1 : 0;
}
