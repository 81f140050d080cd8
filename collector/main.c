/*  arxdigest-collector: stores workers' results and renders the digests of collected runs. */
#include "collector.h"
#include "daemon.h"

static void *s_create(const ax_config_t *cfg, char **err)
{
    return ax_collector_new(cfg, err);
}

static int s_run(void *self)
{
    return ax_collector_run(self);
}

static void s_destroy(void *self)
{
    ax_collector_t *collector = self;
    ax_collector_destroy(&collector);
}

int main(int argc, char **argv)
{
    static const ax_daemon_t daemon = {"arxdigest-collector", "collector",
                                       "Stores results (ACK after store) and renders digests of collected runs.",
                                       s_create, s_run, s_destroy};
    return ax_daemon_main(argc, argv, &daemon);
}
