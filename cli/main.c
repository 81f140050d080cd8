/*  arxdigest: the command line. run (everything on this machine), submit / status /
 *  render (against a running cluster). See `arxdigest --help`. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"
#include "output.h"
#include "run_store.h"
#include "store.h"

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: arxdigest COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  run      run a whole job on this machine: Redis (the configured one, or a private\n"
            "           redis-server), broker, workers and collector; prints where the digests are\n"
            "  submit   submit a run to a running cluster (prints the run id; --wait follows it)\n"
            "  status   [RUN] state of a run, or of the latest runs\n"
            "  render   RUN  write a run's digests again from what is stored (no LLM request)\n"
            "  keygen   [--out DIR] NAME  write a CURVE key pair DIR/NAME.key and NAME.pub (curve.*)\n"
            "\n"
            "options:\n"
            "  --config FILE       YAML config (default: ./arxdigest.yaml when it exists)\n"
            "  --source S          api | oai | rss | snapshot:PATH            (run.source)\n"
            "  --categories A,B    categories to harvest (default: the profiles')\n"
            "  --from YYYY-MM-DD   first submission day   --to YYYY-MM-DD  last one\n"
            "  --workers N         workers started by `run` (default: one per core)\n"
            "  --output DIR        where digests go (collector.output_dir)\n"
            "  --group-by G        day | week | month | run (collector.group_by)\n"
            "  --broker ENDPOINT   broker control endpoint for submit (default from broker.control)\n"
            "  --wait              submit: follow the run until it is done\n"
            "  --set KEY=VALUE     set any config key, e.g. --set broker.job_size=128\n");
}

/*  The subcommands: argv[1] is turned into one once (main), then switched on. */
typedef enum { S_RUN, S_SUBMIT, S_STATUS, S_RENDER, S_KEYGEN, S_UNKNOWN } s_cmd_t;

static const char *const s_cmd_names[S_UNKNOWN] = {"run", "submit", "status", "render", "keygen"};

static s_cmd_t s_cmd_lookup(const char *name)
{
    int c = 0;
    while (c < S_UNKNOWN && strcmp(s_cmd_names[c], name) != 0)
        c++;
    return (s_cmd_t) c;
}

typedef struct {
    s_cmd_t cmd;
    const char *config, *workers, *broker, *run;
    const char *group_by;           /* --group-by as given (render: else the run's own) */
    int wait;
} s_args_t;

/*  Flags that are config keys. */
static const struct {
    const char *flag, *key;
} s_flag_keys[] = {
    {"--source", "run.source"},       {"--categories", "run.categories"}, {"--from", "run.from"},
    {"--to", "run.to"},               {"--output", "collector.output_dir"}, {"--group-by", "collector.group_by"},
};

static ax_config_t *s_load(int argc, char **argv, s_args_t *a, int *code)
{
    ax_config_t *cfg = ax_config_new();
    char *errors = NULL;
    *code = 2;
    if (!cfg)
        return NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            a->config = argv[++i];
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            a->workers = argv[++i];
        else if (strcmp(argv[i], "--broker") == 0 && i + 1 < argc)
            a->broker = argv[++i];
        else if (strcmp(argv[i], "--wait") == 0)
            a->wait = 1;
        else if (argv[i][0] != '-' && !a->run)
            a->run = argv[i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            *code = 0;
            goto fail;
        } else {
            int known = strcmp(argv[i], "--set") == 0;
            for (size_t k = 0; k < sizeof s_flag_keys / sizeof *s_flag_keys; k++)
                known |= strcmp(argv[i], s_flag_keys[k].flag) == 0;
            if (!known || i + 1 >= argc) {
                fprintf(stderr, "arxdigest: unknown option or missing value: %s\n", argv[i]);
                goto fail;
            }
            if (strcmp(argv[i], "--group-by") == 0)
                a->group_by = argv[i + 1];
            i++;
        }
    }
    if (!a->config && access("arxdigest.yaml", R_OK) == 0)
        a->config = "arxdigest.yaml";
    if (a->config && ax_config_load_file(cfg, a->config, &errors) < 0)
        goto report;
    if (ax_config_load_env(cfg, NULL, &errors) < 0)
        goto report;
    for (int i = 2; i < argc - 1; i++) {
        const char *key = NULL;
        char kbuf[128];
        const char *value = argv[i + 1];
        for (size_t k = 0; k < sizeof s_flag_keys / sizeof *s_flag_keys; k++)
            if (strcmp(argv[i], s_flag_keys[k].flag) == 0)
                key = s_flag_keys[k].key;
        if (strcmp(argv[i], "--set") == 0) {
            const char *eq = strchr(value, '=');
            if (!eq) {
                fprintf(stderr, "arxdigest: --set needs KEY=VALUE, got '%s'\n", value);
                goto fail;
            }
            snprintf(kbuf, sizeof kbuf, "%.*s", (int) (eq - value), value);
            key = kbuf;
            value = eq + 1;
        }
        if (key) {
            if (ax_config_set(cfg, key, value, &errors) < 0)
                goto report;
            i++;
        }
    }
    if (ax_config_validate(cfg, &errors) < 0)
        goto report;
    *code = 0;
    return cfg;
report:
    fprintf(stderr, "arxdigest: configuration error%s%s:\n%s\n", a->config ? " in " : "",
            a->config ? a->config : "", errors ? errors : "?");
    free(errors);
fail:
    ax_config_destroy(&cfg);
    return NULL;
}

/*  A broker binds "tcp://ANY:5556"; a client connects to the same port on 127.0.0.1. */
static void s_connect_endpoint(const char *bind, char *buf, size_t size)
{
    if (strncmp(bind, "tcp://*:", 8) == 0 || strncmp(bind, "tcp://0.0.0.0:", 14) == 0)
        snprintf(buf, size, "tcp://127.0.0.1:%s", strrchr(bind, ':') + 1);
    else
        snprintf(buf, size, "%s", bind);
}

static void s_llm_notice(const ax_config_t *cfg)
{
    const char *key = getenv(cfg->llm.api_key_env);
    if (!key || !*key)
        fprintf(stderr, "llm: no API key in $%s: keyword-only run (papers are matched and ranked, not enriched)\n",
                cfg->llm.api_key_env);
    else
        fprintf(stderr, "llm: matched papers are enriched by %s at %s (key from $%s)\n", cfg->llm.model,
                cfg->llm.base_url, cfg->llm.api_key_env);
}

static int s_need_profiles(const ax_config_t *cfg, const s_args_t *a)
{
    if (cfg->n_profiles > 0)
        return 0;
    fprintf(stderr, "arxdigest: no profiles configured%s%s: add a `profiles:` section (see README)\n",
            a->config ? " in " : "", a->config ? a->config : " (no --config and no ./arxdigest.yaml)");
    return -1;
}

/*  A digest folder that cannot be written is found now, not after all the work (and the
 *  paid LLM answers, gone with a private Redis) when the run is rendered. */
static int s_output_writable(const ax_config_t *cfg)
{
    char *err = NULL;
    if (ax_output_check_dir(cfg->collector.output_dir, &err) == 0)
        return 0;
    fprintf(stderr, "arxdigest: collector.output_dir: %s\n", err ? err : "cannot be written");
    free(err);
    return -1;
}

static int s_cmd_run(ax_config_t *cfg, const s_args_t *a)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = a->workers ? atoi(a->workers) : (int) (cores > 0 ? cores : 1);
    if (workers < 1 || workers > AX_CLI_MAX_CHILDREN - 2) {
        fprintf(stderr, "arxdigest: --workers must be 1..%d\n", AX_CLI_MAX_CHILDREN - 2);
        return 2;
    }
    if (s_need_profiles(cfg, a) < 0 || s_output_writable(cfg) < 0)
        return 2;
    s_llm_notice(cfg);
    ax_local_t local;
    if (ax_local_start(&local, cfg, a->config, workers) < 0)
        return 1;
    fprintf(stderr, "cluster: broker, %d worker%s and collector started (logs in %s)\n", workers,
            workers > 1 ? "s" : "", local.dir);
    int rc = 1;
    char *err = NULL;
    ax_redis_link_t link = {0};
    char *run = ax_client_submit(cfg, local.control);
    if (!run)
        goto done;
    fprintf(stderr, "run %s: source %s\n", run, cfg->run.source);
    if (ax_redis_link_init(&link, local.redis_url, &err) < 0) {
        fprintf(stderr, "arxdigest: %s\n", err);
        goto done;
    }
    rc = ax_client_wait(&link, run, &local) == 0 ? 0 : 1;
    if (rc != 0) {
        ax_local_print_log(&local, "broker", 10);
        ax_local_print_log(&local, "collector", 10);
    }
done:
    ax_redis_link_close(&link);
    free(err);
    free(run);
    ax_local_stop(&local);
    return rc;
}

static int s_cmd_submit(ax_config_t *cfg, const s_args_t *a)
{
    char control[300], *err = NULL;
    if (s_need_profiles(cfg, a) < 0)
        return 2;
    s_connect_endpoint(a->broker ? a->broker : cfg->broker.control, control, sizeof control);
    char *run = ax_client_submit(cfg, control);
    if (!run)
        return 1;
    printf("%s\n", run);
    fflush(stdout);
    int rc = 0;
    if (a->wait) {
        ax_redis_link_t link = {0};
        if (ax_redis_link_init(&link, cfg->redis.url, &err) < 0) {
            fprintf(stderr, "arxdigest: %s\n", err);
            rc = 1;
        } else
            rc = ax_client_wait(&link, run, NULL) == 0 ? 0 : 1;
        ax_redis_link_close(&link);
    }
    free(err);
    free(run);
    return rc;
}

/*  1 when the current namespace holds runs: run's hash, or any run when run is NULL. */
static int s_has_runs(redisContext *c, const char *run)
{
    return ax_run_store_exists(c, run, NULL) == 1;
}

/*  A run that is not in redis.namespace but in the namespace of this user's `arxdigest
 *  run` on this machine (ax_local_namespace) is looked at there: switches to it. */
static void s_find_run(redisContext *c, const ax_config_t *cfg, const char *run)
{
    char local[AX_NAMESPACE_MAX + 1];
    ax_local_namespace(cfg->redis.namespace, local, sizeof local);
    if (!s_has_runs(c, run) && ax_store_namespace_set(local) == 0 && !s_has_runs(c, run))
        ax_store_namespace_set(cfg->redis.namespace);
}

/*  status RUN (in either namespace, s_find_run), or the latest runs of redis.namespace
 *  and then those of this user's `arxdigest run` on this machine, when it has any. */
static int s_cmd_status(redisContext *c, const ax_config_t *cfg, const char *run)
{
    char local[AX_NAMESPACE_MAX + 1];
    if (run) {
        s_find_run(c, cfg, run);
        return ax_client_status(c, run) == 0 ? 0 : 1;
    }
    ax_local_namespace(cfg->redis.namespace, local, sizeof local);
    int rc = ax_client_status(c, NULL) == 0 ? 0 : 1;
    if (rc == 0 && ax_store_namespace_set(local) == 0 && s_has_runs(c, NULL)) {
        printf("\nruns of `arxdigest run` on this machine (namespace %s):\n", local);
        rc = ax_client_status(c, NULL) == 0 ? 0 : 1;
    }
    ax_store_namespace_set(cfg->redis.namespace);
    return rc;
}

static int s_cmd_redis(ax_config_t *cfg, const s_args_t *a)
{
    char *err = NULL, *folder = NULL;
    redisContext *c = ax_redis_connect(cfg->redis.url, 5000, &err);
    if (!c) {
        fprintf(stderr, "arxdigest: %s\n", err);
        free(err);
        return 1;
    }
    int rc;
    if (a->cmd == S_STATUS)
        rc = s_cmd_status(c, cfg, a->run);
    else if (!a->run) {
        fprintf(stderr, "arxdigest: render needs a run id (see `arxdigest status`)\n");
        rc = 2;
    } else {
        s_find_run(c, cfg, a->run);
        rc = ax_output_render_run(c, a->run, cfg->collector.output_dir,
                                  a->group_by ? cfg->collector.group_by : NULL, (int64_t) time(NULL), &folder,
                                  &err) < 0;
        if (rc)
            fprintf(stderr, "arxdigest: render failed: %s\n", err ? err : "?");
        else
            printf("rendered %s into %s\n", a->run, folder);
    }
    free(folder);
    free(err);
    redisFree(c);
    return rc;
}

int main(int argc, char **argv)
{
    ax_log_init("arxdigest");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    s_args_t a = {.cmd = s_cmd_lookup(argv[1])};
    if (a.cmd == S_KEYGEN)
        return ax_cli_keygen(argc, argv);
    if (a.cmd == S_UNKNOWN) {
        fprintf(stderr, "arxdigest: unknown command '%s'\n", argv[1]);
        s_usage(stderr);
        return 2;
    }
    int code;
    ax_config_t *cfg = s_load(argc, argv, &a, &code);
    if (!cfg)
        return code;
    ax_signals_install();
    ax_store_namespace_set(cfg->redis.namespace);      /* validated with the config */
    switch (a.cmd) {
    case S_RUN:
        code = s_cmd_run(cfg, &a);
        break;
    case S_SUBMIT:
        code = s_cmd_submit(cfg, &a);
        break;
    default:                                    /* status, render */
        code = s_cmd_redis(cfg, &a);
        break;
    }
    ax_config_destroy(&cfg);
    return code;
}
