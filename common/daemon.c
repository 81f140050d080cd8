/*  daemon.c: start-up shared by the broker, worker and collector (see daemon.h). */
#include "daemon.h"

#include "log.h"
#include "metrics.h"
#include "store.h"

#include <malloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t ax_stop_requested = 0;

static void s_on_signal(int sig)
{
    (void) sig;
    ax_stop_requested = 1;
}

void ax_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void ax_malloc_tune(void)
{
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

static void s_usage(FILE *out, const char *name, const char *summary)
{
    fprintf(out,
            "usage: %s [--config FILE] [--set KEY=VALUE]...\n"
            "%s\n"
            "  --config FILE     YAML config (see README: every key has a default)\n"
            "  --set KEY=VALUE   override one key, e.g. --set redis.url=redis://host:6379/0\n"
            "Environment: ARXDIGEST_<SECTION>_<KEY> overrides the file; --set overrides both.\n",
            name, summary);
}

static void s_report(const char *name, char *errors)
{
    if (errors)
        fprintf(stderr, "%s: configuration error:\n%s\n", name, errors);
    free(errors);
}

ax_config_t *ax_daemon_config(int argc, char **argv, const char *name, const char *summary,
                              int *exit_code)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    const char *file = NULL;
    *exit_code = 2;
    if (!cfg) {
        fprintf(stderr, "%s: out of memory\n", name);
        return NULL;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout, name, summary);
            *exit_code = 0;
            goto fail;
        } else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
            i++;
        else {
            fprintf(stderr, "%s: unknown argument '%s'\n", name, argv[i]);
            s_usage(stderr, name, summary);
            goto fail;
        }
    }
    if (file && ax_config_load_file(cfg, file, &errors) < 0)
        goto report;
    if (ax_config_load_env(cfg, NULL, &errors) < 0)
        goto report;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") != 0)
            continue;
        const char *kv = argv[++i];
        const char *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, "%s: --set needs KEY=VALUE, got '%s'\n", name, kv);
            goto fail;
        }
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int) (eq - kv), kv);
        if (ax_config_set(cfg, key, eq + 1, &errors) < 0)
            goto report;
    }
    if (ax_config_validate(cfg, &errors) < 0)
        goto report;
    *exit_code = 0;
    return cfg;
report:
    s_report(name, errors);
fail:
    ax_config_destroy(&cfg);
    return NULL;
}

/*  /metrics and /healthz at the component's `metrics` address. Not being able to serve
 *  them (several workers on one host share the default port) is logged once, never
 *  fatal (SPEC section 6). */
static void s_metrics_start(const ax_config_t *cfg, const char *component)
{
    const char *addr = strcmp(component, "broker") == 0   ? cfg->broker.metrics
                       : strcmp(component, "worker") == 0 ? cfg->worker.metrics
                       : strcmp(component, "collector") == 0 ? cfg->collector.metrics
                                                             : NULL;
    char *err = NULL;
    int rc = ax_metrics_start(addr, component, &err);
    if (rc < 0)
        ax_log_warn("running without /metrics|addr=%s error=\"%s\"", addr, err ? err : "?");
    else if (rc == 0)
        ax_log_info("metrics served|addr=%s port=%d", addr, ax_metrics_port());
    free(err);
}

int ax_daemon_main(int argc, char **argv, const ax_daemon_t *d)
{
    int code;
    ax_log_init(d->component);
    ax_config_t *cfg = ax_daemon_config(argc, argv, d->name, d->summary, &code);
    if (!cfg)
        return code;
    ax_signals_install();
    ax_malloc_tune();
    ax_store_namespace_set(cfg->redis.namespace);      /* validated with the config */
    char *err = NULL;
    void *self = d->create(cfg, &err);
    if (!self) {
        fprintf(stderr, "%s: %s\n", d->name, err ? err : "cannot start");
        free(err);
        ax_config_destroy(&cfg);
        return 1;
    }
    s_metrics_start(cfg, d->component);
    int rc = d->run(self);
    ax_metrics_stop();
    d->destroy(self);
    ax_config_destroy(&cfg);
    return rc < 0 ? 1 : 0;
}
