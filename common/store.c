/*  store.c: the generic Redis plumbing (see store.h): connections that survive restarts,
 *  URL parsing, commands, scripts by SHA, pipelines and the namespace. What is stored, and
 *  under which keys, is the run store's (run_store.h).
 */
#define _GNU_SOURCE
#include "store.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "text.h"

char *ax_redis_url_redacted(const char *url)
{
    const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : NULL;
    const char *at = p ? strrchr(p, '@') : NULL;
    if (!at)
        return strdup(url);
    const char *colon = memchr(p, ':', (size_t) (at - p));
    int user_len = colon ? (int) (colon - p) : 0;
    char *out = NULL;
    if (asprintf(&out, "redis://%.*s:***%s", user_len, p, at) < 0)
        return NULL;
    return out;
}

/*  Extracts "user:password" userinfo, host, port, db from a redis:// URL. */
static int s_parse_url(const char *url, char **user, char **pass, char **host, int *port,
                       char **path, int *db, char **err)
{
    *user = *pass = *host = *path = NULL;
    *port = 6379;
    *db = 0;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *q = strchr(url + 7, '?');
        *path = q ? strndup(url + 7, (size_t) (q - url - 7)) : strdup(url + 7);
        if (q && strncmp(q, "?db=", 4) == 0)
            *db = atoi(q + 4);
        return *path ? 0 : -1;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        if (asprintf(err, "redis.url: \"%s\" is not a redis:// or unix:// URL", url) < 0)
            *err = NULL;
        return -1;
    }
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t) (at - p));
        if (colon) {
            if (colon > p)
                *user = strndup(p, (size_t) (colon - p));
            *pass = strndup(colon + 1, (size_t) (at - colon - 1));
        } else
            *pass = strndup(p, (size_t) (at - p));
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    *host = hl ? strndup(p, hl) : strdup("127.0.0.1");
    p += hl;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v <= 0 || v > 65535) {
            if (asprintf(err, "redis.url: bad port in redis URL") < 0)
                *err = NULL;
            return -1;
        }
        *port = (int) v;
        p = end;
    }
    if (*p == '/' && p[1])
        *db = atoi(p + 1);
    return *host ? 0 : -1;
}

/*  NULL with *err for no reply (connection) or an error reply; else the reply. */
static redisReply *s_checked(redisContext *c, redisReply *r, char **err)
{
    if (!r) {
        if (err && asprintf(err, "redis: %s", c->errstr[0] ? c->errstr : "no reply") < 0)
            *err = NULL;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (err && asprintf(err, "redis: %s", r->str) < 0)
            *err = NULL;
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *ax_redis_vcmd(redisContext *c, char **err, const char *fmt, va_list ap)
{
    if (err)
        *err = NULL;
    if (!c) {
        if (err)
            *err = strdup("redis: not connected");
        return NULL;
    }
    return s_checked(c, redisvCommand(c, fmt, ap), err);
}

redisReply *ax_redis_cmd(redisContext *c, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = ax_redis_vcmd(c, err, fmt, ap);
    va_end(ap);
    return r;
}

redisContext *ax_redis_connect(const char *url, int timeout_ms, char **err)
{
    char *user, *pass, *host, *path;
    int port, db;
    redisContext *c = NULL;
    *err = NULL;
    if (s_parse_url(url, &user, &pass, &host, &port, &path, &db, err) < 0)
        goto done;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    c = path ? redisConnectUnixWithTimeout(path, tv) : redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        if (asprintf(err, "redis: cannot connect to %s%s%d: %s", path ? path : host,
                     path ? "" : ":", path ? 0 : port, c ? c->errstr : "out of memory") < 0)
            *err = NULL;
        goto fail;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        *err = strdup("redis: cannot set timeout");
        goto fail;
    }
    redisReply *r;
    if (pass) {
        r = user ? ax_redis_cmd(c, NULL, "AUTH %s %s", user, pass) : ax_redis_cmd(c, NULL, "AUTH %s", pass);
        if (!r) {
            *err = strdup("redis: authentication failed (check the password in redis.url)");
            goto fail;
        }
        freeReplyObject(r);
    }
    if (db) {
        if (!(r = ax_redis_cmd(c, err, "SELECT %d", db)))
            goto fail;
        freeReplyObject(r);
    }
    goto done;
fail:
    if (c)
        redisFree(c);
    c = NULL;
done:
    free(user);
    free(pass);
    free(host);
    free(path);
    return c;
}

/*  One connection attempt for a link: 0 connected, 1 unreachable (*err says why), -1
 *  a bad URL, a refused password or no memory (*err). */
static int s_link_connect(ax_redis_link_t *link, char **err)
{
    link->c = ax_redis_connect(link->url, 5000, err);
    if (link->c)
        return 0;
    /* Only an unreachable server is worth waiting for. */
    return *err && strstr(*err, "cannot connect") ? 1 : -1;
}

int ax_redis_link_try(ax_redis_link_t *link, const char *url, char **err)
{
    memset(link, 0, sizeof *link);
    *err = NULL;
    link->url = strdup(url);
    if (!link->url) {
        *err = strdup("out of memory");
        return -1;
    }
    int rc = s_link_connect(link, err);
    if (rc == 1) {
        ax_log_warn("redis unreachable, retrying|error=\"%s\"", *err);
        free(*err);
        *err = NULL;
        link->retry_at_ms = ax_mono_ms() + 1000;
    }
    return rc < 0 ? -1 : 0;
}

int ax_redis_link_init(ax_redis_link_t *link, const char *url, char **err)
{
    memset(link, 0, sizeof *link);
    link->url = strdup(url);
    if (!link->url) {
        *err = strdup("out of memory");
        return -1;
    }
    for (;;) {
        int rc = s_link_connect(link, err);
        if (rc <= 0 || ax_stop_requested)
            return rc == 0 ? 0 : -1;
        ax_log_warn("redis unreachable, waiting|error=\"%s\"", *err);
        free(*err);
        *err = NULL;
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
}

redisContext *ax_redis_link_get(ax_redis_link_t *link)
{
    if (link->c && !link->c->err)
        return link->c;
    if (link->c) {
        ax_log_warn("redis connection lost|error=\"%s\"", link->c->errstr);
        redisFree(link->c);
        link->c = NULL;
    }
    int64_t now = ax_mono_ms();
    if (now < link->retry_at_ms)
        return NULL;
    char *err = NULL;
    link->c = ax_redis_connect(link->url, 5000, &err);
    if (!link->c) {
        ax_log_warn("redis unreachable, retrying|error=\"%s\"", err ? err : "?");
        link->retry_at_ms = now + 1000;
    } else
        ax_log_info("redis connected");
    free(err);
    return link->c;
}

void ax_redis_link_close(ax_redis_link_t *link)
{
    if (link->c)
        redisFree(link->c);
    free(link->url);
    memset(link, 0, sizeof *link);
}

const redisReply *ax_redis_hash_field(const redisReply *h, const char *field)
{
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1] : NULL;
    return NULL;
}

const char *ax_redis_hash_str(const redisReply *h, const char *field)
{
    const redisReply *v = ax_redis_hash_field(h, field);
    return v ? v->str : NULL;
}

long long ax_redis_hash_ll(const redisReply *h, const char *field)
{
    const char *v = ax_redis_hash_str(h, field);
    return v ? strtoll(v, NULL, 10) : 0;
}

/*  The namespace of run keys: set once at start, read everywhere a key is built. */
static char s_namespace[AX_NAMESPACE_MAX + 1] = "ax";

int ax_store_namespace_set(const char *ns)
{
    size_t n = ns ? strlen(ns) : 0;
    if (n == 0 || n > AX_NAMESPACE_MAX || strspn(ns, AX_NAMESPACE_CHARS) != n)
        return -1;
    memcpy(s_namespace, ns, n + 1);
    return 0;
}

const char *ax_store_namespace(void)
{
    return s_namespace;
}

/*  Lowercase hex SHA-1 of the script: the name EVALSHA knows it by. The last few
 *  scripts' digests are remembered with their whole text (a lookup compares the text, so
 *  a changed script can never be sent under an old name), behind a lock: threads with a
 *  connection each (the collector's renderer) share the memory. */
static int s_script_sha(const char *script, char sha[41])
{
    static struct {
        char *text;
        size_t len;
        char sha[41];
    } known[16];
    static size_t next;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    size_t len = strlen(script);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i].text && known[i].len == len && memcmp(known[i].text, script, len) == 0) {
            memcpy(sha, known[i].sha, 41);
            pthread_mutex_unlock(&lock);
            return 0;
        }
    pthread_mutex_unlock(&lock);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(script, len, md, &n, EVP_sha1(), NULL) != 1 || n != 20)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        sha[2 * i] = hex[md[i] >> 4];
        sha[2 * i + 1] = hex[md[i] & 15];
    }
    sha[40] = '\0';
    char *copy = malloc(len + 1);
    if (copy) {                         /* not remembered on OOM: computed again next time */
        pthread_mutex_lock(&lock);
        size_t slot = next++ % (sizeof known / sizeof *known);
        free(known[slot].text);
        memcpy(copy, script, len + 1);
        known[slot].text = copy;
        known[slot].len = len;
        memcpy(known[slot].sha, sha, 41);
        pthread_mutex_unlock(&lock);
    }
    return 0;
}

/*  The argv of "EVALSHA sha nkeys keys... args..." in a (argv, lens) pair of arrays. */
static int s_eval_argv(const char *script, char sha[41], char nk[16], int nkeys, const char **keys, int nargs,
                       const char **args, const size_t *arg_lens, const char ***argv_p, size_t **lens_p)
{
    assert(nkeys >= 0 && nargs >= 0);
    if (s_script_sha(script, sha) < 0)
        return -1;
    snprintf(nk, 16, "%d", nkeys);
    size_t n = 3 + (size_t) nkeys + (size_t) nargs;
    const char **argv = malloc(n * sizeof *argv);
    size_t *lens = malloc(n * sizeof *lens);
    if (!argv || !lens) {
        free(argv);
        free(lens);
        return -1;
    }
    argv[0] = "EVALSHA", lens[0] = 7;
    argv[1] = sha, lens[1] = 40;
    argv[2] = nk, lens[2] = strlen(nk);
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i], lens[3 + i] = strlen(keys[i]);
    for (int i = 0; i < nargs; i++) {
        size_t k = 3 + (size_t) nkeys + (size_t) i;
        argv[k] = args[i], lens[k] = arg_lens ? arg_lens[i] : strlen(args[i]);
    }
    *argv_p = argv;
    *lens_p = lens;
    return (int) n;
}

static int s_is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

redisReply *ax_redis_eval(redisContext *c, const char *script, int nkeys, const char **keys,
                          int nargs, const char **args, char **err)
{
    return ax_redis_eval_bin(c, script, nkeys, keys, nargs, args, NULL, err);
}

redisReply *ax_redis_eval_bin(redisContext *c, const char *script, int nkeys, const char **keys,
                              int nargs, const char **args, const size_t *arg_lens, char **err)
{
    char sha[41], nk[16];
    const char **argv;
    size_t *lens;
    if (err)
        *err = NULL;
    if (!c) {
        if (err)
            *err = strdup("redis: not connected");
        return NULL;
    }
    int n = s_eval_argv(script, sha, nk, nkeys, keys, nargs, args, arg_lens, &argv, &lens);
    if (n < 0) {
        if (err)
            *err = strdup("out of memory");
        return NULL;
    }
    redisReply *r = redisCommandArgv(c, n, argv, lens);
    if (s_is_noscript(r)) {
        /* Not in the server's cache: EVAL runs it and caches it for the next EVALSHA. */
        freeReplyObject(r);
        argv[0] = "EVAL", lens[0] = 4;
        argv[1] = script, lens[1] = strlen(script);
        r = redisCommandArgv(c, n, argv, lens);
    }
    free(argv);
    free(lens);
    return s_checked(c, r, err);
}

/* ---------------------------------------------------------------- pipelines */

/*  One command of a batch: its arguments copied into one block. */
typedef struct {
    const char *script;             /* EVALSHA of this script (argv[0..1] swap to EVAL), or NULL */
    int argc;
    const char **argv;
    size_t *lens;
} s_bcmd_t;

struct ax_redis_batch {
    s_bcmd_t *cmds;
    size_t n, cap;
};

ax_redis_batch_t *ax_redis_batch_new(void)
{
    return calloc(1, sizeof(ax_redis_batch_t));
}

static void s_batch_clear(ax_redis_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->cmds[i].argv);          /* one block: argv, lens and the bytes */
    b->n = 0;
}

void ax_redis_batch_destroy(ax_redis_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_batch_clear(*self_p);
    free((*self_p)->cmds);
    free(*self_p);
    *self_p = NULL;
}

size_t ax_redis_batch_size(const ax_redis_batch_t *b)
{
    return b->n;
}

static int s_batch_add(ax_redis_batch_t *b, const char *script, int argc, const char **argv, const size_t *lens)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        s_bcmd_t *cmds = realloc(b->cmds, cap * sizeof *cmds);
        if (!cmds)
            return -1;
        b->cmds = cmds;
        b->cap = cap;
    }
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += (lens ? lens[i] : strlen(argv[i])) + 1;
    size_t head = (size_t) argc * (sizeof(char *) + sizeof(size_t));
    char *block = malloc(head + bytes);
    if (!block)
        return -1;
    s_bcmd_t *cmd = &b->cmds[b->n];
    cmd->script = script;
    cmd->argc = argc;
    cmd->argv = (const char **) (void *) block;
    cmd->lens = (size_t *) (void *) (block + (size_t) argc * sizeof(char *));
    char *p = block + head;
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        memcpy(p, argv[i], len);
        p[len] = '\0';
        cmd->argv[i] = p;
        cmd->lens[i] = len;
        p += len + 1;
    }
    b->n++;
    return 0;
}

int ax_redis_batch_cmd(ax_redis_batch_t *b, int argc, const char **argv, const size_t *lens)
{
    return s_batch_add(b, NULL, argc, argv, lens);
}

int ax_redis_batch_eval(ax_redis_batch_t *b, const char *script, int nkeys, const char **keys, int nargs,
                        const char **args, const size_t *arg_lens)
{
    char sha[41], nk[16];
    const char **argv;
    size_t *lens;
    int n = s_eval_argv(script, sha, nk, nkeys, keys, nargs, args, arg_lens, &argv, &lens);
    if (n < 0)
        return -1;
    int rc = s_batch_add(b, script, n, argv, lens);
    free(argv);
    free(lens);
    return rc;
}

/*  Sends the batch and reads every reply: the number of error replies (*err: the first)
 *  or -1 when the connection failed. With last, the last command's reply is not judged
 *  but handed over in *last (NULL when it did not come, or when it was a NOSCRIPT that
 *  the caller must run again: *noscript = 1). */
static int s_batch_send(redisContext *c, ax_redis_batch_t *b, redisReply **last, int *noscript, char **err)
{
    int failed = 0;
    size_t resent = 0;                  /* EVALSHAs the server did not know, sent again as EVAL */
    if (last)
        *last = NULL, *noscript = 0;
    if (!c) {
        if (err && !*err)
            *err = strdup("redis: not connected");
        failed = -1;
    }
    for (size_t i = 0; failed == 0 && i < b->n; i++)
        if (redisAppendCommandArgv(c, b->cmds[i].argc, b->cmds[i].argv, b->cmds[i].lens) != REDIS_OK) {
            if (err && !*err)
                *err = strdup("redis: out of memory");
            failed = -1;
        }
    /* The batch's replies, then those of the re-sent scripts (they queue behind). */
    for (size_t i = 0; failed >= 0 && i < b->n + resent; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            s_checked(c, NULL, err && !*err ? err : NULL);
            failed = -1;
            break;
        }
        redisReply *r = reply;
        if (last && i == b->n - 1) {
            if (s_is_noscript(r)) {
                freeReplyObject(r);
                *noscript = 1;
            } else
                *last = r;
            continue;
        }
        s_bcmd_t *cmd = i < b->n ? &b->cmds[i] : NULL;
        if (cmd && cmd->script && s_is_noscript(r)) {
            freeReplyObject(r);
            cmd->argv[0] = "EVAL", cmd->lens[0] = 4;
            cmd->argv[1] = cmd->script, cmd->lens[1] = strlen(cmd->script);
            if (redisAppendCommandArgv(c, cmd->argc, cmd->argv, cmd->lens) != REDIS_OK) {
                if (err && !*err)
                    *err = strdup("redis: out of memory");
                failed = -1;
                break;
            }
            resent++;
            continue;
        }
        if (!s_checked(c, r, err && !*err ? err : NULL))
            failed++;
        else
            freeReplyObject(r);
    }
    s_batch_clear(b);
    return failed;
}

int ax_redis_batch_flush(redisContext *c, ax_redis_batch_t *b, char **err)
{
    if (err)
        *err = NULL;
    return b->n ? s_batch_send(c, b, NULL, NULL, err) : 0;
}

redisReply *ax_redis_batch_flush_eval(redisContext *c, ax_redis_batch_t *b, const char *script, int nkeys,
                                      const char **keys, int nargs, const char **args, int *failed,
                                      char **err)
{
    char *ferr = NULL;
    if (err)
        *err = NULL;
    *failed = 0;
    if (!c) {
        s_batch_clear(b);
        *failed = -1;
        if (err)
            *err = strdup("redis: not connected");
        return NULL;
    }
    if (ax_redis_batch_eval(b, script, nkeys, keys, nargs, args, NULL) < 0) {
        *failed = ax_redis_batch_flush(c, b, &ferr);
        free(ferr);
        if (err)
            *err = strdup("out of memory");
        return NULL;
    }
    redisReply *last = NULL;
    int noscript = 0;
    *failed = s_batch_send(c, b, &last, &noscript, &ferr);
    if (noscript)
        last = ax_redis_eval(c, script, nkeys, keys, nargs, args, err);
    else if (!last) {
        if (err && asprintf(err, "redis: %s", ferr ? ferr : "no reply") < 0)
            *err = NULL;
    } else
        last = s_checked(c, last, err);
    if (*failed > 0 && ferr)
        ax_log_warn("pipelined redis commands failed|n=%d error=\"%s\"", *failed, ferr);
    free(ferr);
    return last;
}
