/*  redis_fixture.h: a private redis-server for a unit test (header-only).
 *
 *  Starts `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no` on a free
 *  port in a fresh temp dir, waits (5 s at most) until it answers PING, and stops it
 *  (SIGTERM, then SIGKILL) and removes the dir at teardown. The server is also killed by
 *  the kernel if the test process dies (PR_SET_PDEATHSIG), so a crashing test leaves
 *  nothing behind. Typical use with cmocka group fixtures:
 *
 *      static ax_redis_fixture_t s_redis;
 *      static int s_setup(void **state) { return ax_redis_fixture_start(&s_redis); }
 *      static int s_teardown(void **state) { ax_redis_fixture_stop(&s_redis); return 0; }
 *      static void test_x(void **state) {
 *          redisContext *c = ax_redis_fixture_connect(&s_redis);
 *          assert_non_null(c);
 *          assert_int_equal(ax_redis_fixture_flush(c), 0);     // start from an empty db
 *          ...
 *          redisFree(c);
 *      }
 *      return cmocka_run_group_tests(tests, s_setup, s_teardown);
 *
 *  s_redis.url is a "redis://127.0.0.1:P/0" URL for code that takes one (ax_redis_connect).
 *  Children forked by a test must open their own connection (ax_redis_fixture_connect).
 */
#ifndef AX_REDIS_FIXTURE_H
#define AX_REDIS_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

typedef struct {
    pid_t pid;          /* the redis-server process, 0 when not running */
    int port;           /* its TCP port on 127.0.0.1 */
    char dir[256];      /* its private working dir (holds redis.log) */
    char url[64];       /* "redis://127.0.0.1:<port>/0" */
} ax_redis_fixture_t;

/*  A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick), or -1. */
static inline int ax_redis_fixture_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *) &a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *) &a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/*  A new connection to the fixture's server (2 s timeouts), or NULL. */
static inline redisContext *ax_redis_fixture_connect(const ax_redis_fixture_t *f)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", f->port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/*  FLUSHALL: an empty db for the next test. 0 / -1. */
static inline int ax_redis_fixture_flush(redisContext *c)
{
    redisReply *r = redisCommand(c, "FLUSHALL");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

/*  1 when the server answers PING with PONG. */
static inline int ax_redis_fixture_ping(const ax_redis_fixture_t *f)
{
    redisContext *c = ax_redis_fixture_connect(f);
    if (!c)
        return 0;
    redisReply *r = redisCommand(c, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

/*  Stops the server (if running) and removes its dir. Safe to call twice. */
static inline void ax_redis_fixture_stop(ax_redis_fixture_t *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        int st, i;
        for (i = 0; i < 200 && waitpid(f->pid, &st, WNOHANG) == 0; i++) {   /* 2 s */
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (i == 200) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, &st, 0);
        }
        f->pid = 0;
    }
    if (f->dir[0]) {
        DIR *d = opendir(f->dir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[600];
            snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
            unlink(path);
        }
        if (d)
            closedir(d);
        rmdir(f->dir);
        f->dir[0] = '\0';
    }
}

/*  Starts the server; 0 when it answers PING, -1 (with a message on stderr) otherwise.
 *  Retries with another port when the picked one was taken meanwhile. */
static inline int ax_redis_fixture_start(ax_redis_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/ax-redis-XXXXXX", tmp);
    if (!mkdtemp(f->dir)) {
        fprintf(stderr, "redis fixture: mkdtemp %s: %s\n", f->dir, strerror(errno));
        f->dir[0] = '\0';
        return -1;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        f->port = ax_redis_fixture_free_port();
        if (f->port < 0)
            break;
        snprintf(f->url, sizeof f->url, "redis://127.0.0.1:%d/0", f->port);
        char port[16], log[300];
        snprintf(port, sizeof port, "%d", f->port);
        snprintf(log, sizeof log, "%s/redis.log", f->dir);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(127);
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
            if (chdir(f->dir) < 0)
                _exit(127);
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", f->dir, (char *) NULL);
            _exit(127);
        }
        f->pid = pid;
        for (int i = 0; i < 500; i++) {      /* 5 s */
            if (ax_redis_fixture_ping(f))
                return 0;
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {   /* died: port taken, or no binary */
                f->pid = 0;
                break;
            }
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (f->pid) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, NULL, 0);
            f->pid = 0;
        }
    }
    fprintf(stderr, "redis fixture: redis-server did not start (see %s/redis.log)\n", f->dir);
    /* Keep the log for the reader: only the dir entry of a failed start is left. */
    f->dir[0] = '\0';
    return -1;
}

#endif
