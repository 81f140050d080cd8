/*  arxdigest-broker: harvests papers for submitted runs and hands jobs to workers. */
#include "broker.h"
#include "daemon.h"

static void *s_create(const ax_config_t *cfg, char **err)
{
    return ax_broker_new(cfg, err);
}

static int s_run(void *self)
{
    return ax_broker_run(self);
}

static void s_destroy(void *self)
{
    ax_broker_t *broker = self;
    ax_broker_destroy(&broker);
}

int main(int argc, char **argv)
{
    static const ax_daemon_t daemon = {"arxdigest-broker", "broker",
                                       "Harvests papers for submitted runs and dispatches jobs to workers.",
                                       s_create, s_run, s_destroy};
    return ax_daemon_main(argc, argv, &daemon);
}
