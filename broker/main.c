/*  arxdigest-broker: harvests papers for submitted runs and hands jobs to workers. */
#include <stdio.h>
#include <stdlib.h>

#include "broker.h"
#include "daemon.h"
#include "log.h"

int main(int argc, char **argv)
{
    int code;
    ax_log_init("broker");
    ax_config_t *cfg = ax_daemon_config(argc, argv, "arxdigest-broker",
                                        "Harvests papers for submitted runs and dispatches jobs to workers.", &code);
    if (!cfg)
        return code;
    ax_signals_install();
    ax_malloc_tune();
    char *err = NULL;
    ax_broker_t *broker = ax_broker_new(cfg, NULL, &err);
    if (!broker) {
        fprintf(stderr, "arxdigest-broker: %s\n", err ? err : "cannot start");
        free(err);
        ax_config_destroy(&cfg);
        return 1;
    }
    int rc = ax_broker_run(broker);
    ax_broker_destroy(&broker);
    ax_config_destroy(&cfg);
    return rc < 0 ? 1 : 0;
}
