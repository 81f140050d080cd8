/*  local.c: a private arxdigest cluster on this machine (see cli.h).
 *
 *  Everything lives in one folder made with mkdtemp: Redis's unix socket and data (when
 *  no configured Redis answers), the ipc:// endpoints of the broker and collector, and
 *  one log file per process. Nothing listens on a TCP port, so several runs on one
 *  machine never collide.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "text.h"

/*  Folder of this executable, where the daemons are built beside it. */
static int s_bin_dir(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    return 0;
}

/*  Puts the effective config (file, environment, flags: every key) in the environment
 *  the daemons inherit, where it overrides their file: so every --set and flag reaches
 *  every process, and no value (secrets included) appears on a command line. */
static int s_export_config(const ax_config_t *cfg)
{
    size_t n = 0;
    char *errors = NULL, **env = ax_config_env(cfg, &n, &errors);
    if (!env) {
        fprintf(stderr, "arxdigest: cannot pass the configuration on: %s\n", errors ? errors : "out of memory");
        free(errors);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *eq = strchr(env[i], '=');
        *eq = '\0';
        rc = setenv(env[i], eq + 1, 1);
    }
    ax_strv_free(&env, n);
    return rc;
}

/*  fork+exec argv with stdout/stderr to DIR/<name>.log. */
static pid_t s_spawn(ax_local_t *local, const char *name, char *const argv[])
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", local->dir, name);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        setpgid(0, 0);          /* a Ctrl-C in the terminal goes to us, we stop them */
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static int s_add(ax_local_t *local, const char *name, pid_t pid)
{
    if (pid < 0 || local->n >= AX_CLI_MAX_CHILDREN)
        return -1;
    local->pids[local->n] = pid;
    snprintf(local->names[local->n], sizeof local->names[0], "%s", name);
    local->n++;
    return 0;
}

static int s_start_redis(ax_local_t *local)
{
    char sock[400], conf_dir[300];
    snprintf(sock, sizeof sock, "%s/redis.sock", local->dir);
    snprintf(conf_dir, sizeof conf_dir, "%s", local->dir);
    char *argv[] = {"/usr/bin/redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
                    "--dir", conf_dir, "--save", "", "--appendonly", "no", NULL};
    if (access(argv[0], X_OK) != 0)
        argv[0] = "/usr/local/bin/redis-server";
    if (access(argv[0], X_OK) != 0) {
        fprintf(stderr, "arxdigest: no Redis reachable and no redis-server installed (run deploy/install-deps.sh)\n");
        return -1;
    }
    local->redis_pid = s_spawn(local, "redis", argv);
    if (local->redis_pid < 0)
        return -1;
    snprintf(local->redis_url, sizeof local->redis_url, "unix://%s", sock);
    for (int i = 0; i < 100; i++) {
        char *err = NULL;
        redisContext *c = ax_redis_connect(local->redis_url, 200, &err);
        free(err);
        if (c) {
            redisFree(c);
            return 0;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "arxdigest: the private redis-server did not start (see %s/redis.log)\n", local->dir);
    return -1;
}

void ax_local_namespace(const char *base, char *buf, size_t size)
{
    char host[41] = "host";
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!strchr(AX_NAMESPACE_CHARS, *p) || *p == ':')
            *p = '_';
    /* 40 + 7 + 40 + 1 + 10 characters: within AX_NAMESPACE_MAX whatever the base. */
    snprintf(buf, size, "%.40s:local:%s:%u", base, host, (unsigned) getuid());
}

int ax_local_start(ax_local_t *local, const ax_config_t *cfg, const char *config_path, int workers)
{
    char bin[PATH_MAX - 64], path[PATH_MAX], *err = NULL;
    memset(local, 0, sizeof *local);
    snprintf(local->dir, sizeof local->dir, "%s/arxdigest-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(local->dir)) {
        fprintf(stderr, "arxdigest: cannot create a private folder: %s\n", strerror(errno));
        local->dir[0] = '\0';
        return -1;
    }
    if (s_bin_dir(bin, sizeof bin) < 0) {
        fprintf(stderr, "arxdigest: cannot find my own folder\n");
        return -1;
    }
    redisContext *c = ax_redis_connect(cfg->redis.url, 500, &err);
    snprintf(local->namespace, sizeof local->namespace, "%s", cfg->redis.namespace);
    if (c) {
        /* Shared: a cluster's runs may be there; ours live in a namespace of our own. */
        redisFree(c);
        snprintf(local->redis_url, sizeof local->redis_url, "%s", cfg->redis.url);
        ax_local_namespace(cfg->redis.namespace, local->namespace, sizeof local->namespace);
        char *shown = ax_redis_url_redacted(cfg->redis.url);     /* never the password */
        fprintf(stderr, "redis: using %s (namespace %s)\n", shown ? shown : "redis.url", local->namespace);
        free(shown);
    } else {
        char *shown = ax_redis_url_redacted(cfg->redis.url);
        fprintf(stderr, "redis: %s is not reachable (%s); starting a private redis-server\n",
                shown ? shown : "redis.url", err ? err : "?");
        free(shown);
        if (s_start_redis(local) < 0)
            goto fail;
    }
    free(err);
    err = NULL;
    char jobs[300], results[300], set_bind[400], set_ctl[400], set_cbind[400], set_wb[400],
        set_wc[400], set_out[PATH_MAX + 32], set_mb[64] = "broker.metrics=", set_mw[64] = "worker.metrics=",
        set_mc[64] = "collector.metrics=", set_ns[AX_NAMESPACE_MAX + 32], set_sb[] = "broker.standby=false";
    if (ax_store_namespace_set(local->namespace) < 0) {
        fprintf(stderr, "arxdigest: bad redis namespace %s\n", local->namespace);
        goto fail;
    }
    snprintf(set_ns, sizeof set_ns, "redis.namespace=%s", local->namespace);
    snprintf(jobs, sizeof jobs, "ipc://%s/jobs", local->dir);
    snprintf(results, sizeof results, "ipc://%s/results", local->dir);
    snprintf(local->control, sizeof local->control, "ipc://%s/control", local->dir);
    snprintf(set_bind, sizeof set_bind, "broker.bind=%s", jobs);
    snprintf(set_ctl, sizeof set_ctl, "broker.control=%s", local->control);
    snprintf(set_cbind, sizeof set_cbind, "collector.bind=%s", results);
    snprintf(set_wb, sizeof set_wb, "worker.broker=%s", jobs);
    snprintf(set_wc, sizeof set_wc, "worker.collector=%s", results);
    char out_abs[PATH_MAX];
    if (cfg->collector.output_dir[0] == '/')
        snprintf(out_abs, sizeof out_abs, "%s", cfg->collector.output_dir);
    else {
        char cwd[PATH_MAX - 256];
        if (!getcwd(cwd, sizeof cwd))
            goto fail;
        snprintf(out_abs, sizeof out_abs, "%s/%s", cwd, cfg->collector.output_dir);
    }
    snprintf(set_out, sizeof set_out, "collector.output_dir=%s", out_abs);
    /* The children read the same file and the effective config in the environment
     * (which overrides the file); --set pins what is private. The Redis URL goes through
     * the environment too, not the command line: it may hold a password, and any user can
     * read a process's arguments. */
    if (s_export_config(cfg) < 0 || setenv("ARXDIGEST_REDIS_URL", local->redis_url, 1) < 0)
        goto fail;
    const char *cfgarg = config_path ? "--config" : "--set";
    const char *cfgval = config_path ? config_path : set_mw;    /* (a no-op pin) */
    struct {
        const char *name, *exe, *s1, *s2, *s3, *s4, *s5;
    } procs[] = {
        {"collector", "arxdigest-collector", set_cbind, set_out, set_mc, set_mw, set_ns},
        {"broker", "arxdigest-broker", set_bind, set_ctl, set_mb, set_ns, set_sb},
    };
    for (size_t i = 0; i < sizeof procs / sizeof *procs; i++) {
        snprintf(path, sizeof path, "%s/%s", bin, procs[i].exe);
        char *argv[] = {path, (char *) cfgarg, (char *) cfgval, "--set", (char *) procs[i].s1, "--set",
                        (char *) procs[i].s2, "--set", (char *) procs[i].s3, "--set", (char *) procs[i].s4,
                        "--set", (char *) procs[i].s5, NULL};
        if (s_add(local, procs[i].name, s_spawn(local, procs[i].name, argv)) < 0)
            goto fail;
    }
    for (int w = 0; w < workers; w++) {
        char name[32];
        snprintf(name, sizeof name, "worker-%d", w + 1);
        snprintf(path, sizeof path, "%s/arxdigest-worker", bin);
        char *argv[] = {path, (char *) cfgarg, (char *) cfgval, "--set", set_wb, "--set", set_wc,
                        "--set", set_mw, "--set", set_ns, NULL};
        if (s_add(local, name, s_spawn(local, name, argv)) < 0)
            goto fail;
    }
    /* Give them a moment to bind; a config error kills them at once. */
    for (int i = 0; i < 10; i++) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    int status;
    const char *dead = ax_local_dead(local, &status);
    if (dead) {
        fprintf(stderr, "arxdigest: %s exited at start (status %d):\n", dead, status);
        ax_local_print_log(local, dead, 20);
        goto fail;
    }
    return 0;
fail:
    free(err);
    ax_local_stop(local);
    return -1;
}

const char *ax_local_dead(ax_local_t *local, int *status)
{
    for (int i = 0; i < local->n; i++) {
        if (local->pids[i] <= 0)
            continue;
        int st;
        pid_t r = waitpid(local->pids[i], &st, WNOHANG);
        if (r == local->pids[i]) {
            local->pids[i] = 0;
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return local->names[i];
        }
    }
    return NULL;
}

void ax_local_print_log(const ax_local_t *local, const char *name, int lines)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.log", local->dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *ring[64] = {0}, *line = NULL;
    size_t cap = 0;
    int n = 0;
    if (lines > 64)
        lines = 64;
    while (getline(&line, &cap, f) > 0) {
        free(ring[n % lines]);
        ring[n % lines] = strdup(line);
        n++;
    }
    free(line);
    fclose(f);
    for (int i = n > lines ? n - lines : 0; i < n; i++) {
        fprintf(stderr, "  %s| %s", name, ring[i % lines] ? ring[i % lines] : "\n");
    }
    for (int i = 0; i < 64; i++)
        free(ring[i]);
}

static void s_stop_pids(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int waited = 0; waited < 100; waited++) {
        int alive = 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            if (waitpid(pids[i], NULL, WNOHANG) == pids[i])
                pids[i] = 0;
            else
                alive++;
        }
        if (!alive)
            return;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < n; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
}

/*  rm -r of the private folder (flat: sockets, logs, redis files). */
static void s_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[600];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

void ax_local_stop(ax_local_t *local)
{
    s_stop_pids(local->pids, local->n);
    local->n = 0;
    if (local->redis_pid > 0) {
        s_stop_pids(&local->redis_pid, 1);
        local->redis_pid = 0;
    }
    if (local->dir[0] && !getenv("AX_KEEP_TMP"))
        s_remove_dir(local->dir);
    local->dir[0] = '\0';
}
