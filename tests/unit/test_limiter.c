/*  test_limiter.c: the cluster-wide LLM rate limit against a real redis-server.
 *
 *  Grant times are read from the lease ids (they start with Redis's clock at the grant),
 *  so the spacing and window checks are exact, whatever the scheduler does to the test.
 *  The 60 s window is checked in compressed form: rpm = 6000 is 100 per second, and no
 *  1 s window may hold more than 100 grants while the achieved rate stays >= 98 % of it,
 *  with one client and with four processes hammering on their own connections. Also: the
 *  token reservation and its settlement, the in-flight cap and lease expiry, the cluster
 *  pause, the NOSCRIPT fallback and errors, the answer cache, accounting and budget.
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "limiter.h"
#include "redis_fixture.h"
#include "store.h"

static ax_redis_fixture_t s_redis;

static int s_setup(void **state)
{
    return ax_redis_fixture_start(&s_redis);
}

static int s_teardown(void **state)
{
    ax_redis_fixture_stop(&s_redis);
    return 0;
}

/*  A connection to an empty db. */
static redisContext *s_fresh(void)
{
    redisContext *c = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c);
    assert_int_equal(ax_redis_fixture_flush(c), 0);
    return c;
}

static void s_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*  Redis's clock, in us. */
static int64_t s_redis_us(redisContext *c)
{
    redisReply *r = redisCommand(c, "TIME");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    int64_t us = strtoll(r->element[0]->str, NULL, 10) * 1000000 + strtoll(r->element[1]->str, NULL, 10);
    freeReplyObject(r);
    return us;
}

/*  The grant time (us, Redis clock) at the head of a lease id. */
static int64_t s_grant_us(const char *lease)
{
    char *end;
    long long us = strtoll(lease, &end, 10);
    return *end == '-' ? us : -1;
}

/*  Acquires until granted (sleeping the waits); the grant time in us. */
static int64_t s_acquire_wait(redisContext *c, const ax_limiter_t *l, int est, char lease[40])
{
    char *err = NULL;
    for (;;) {
        int64_t w = ax_limiter_acquire(c, l, est, lease, &err);
        if (w < 0)
            fail_msg("acquire: %s", err ? err : "?");
        if (w == 0)
            return s_grant_us(lease);
        s_sleep_ms(w);
    }
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/*  Largest number of the sorted times within any window of window_us (both ends in). */
static size_t s_max_in_window(const int64_t *t, size_t n, int64_t window_us)
{
    size_t best = 0;
    for (size_t i = 0, j = 0; j < n; j++) {
        while (t[j] - t[i] > window_us)
            i++;
        if (j - i + 1 > best)
            best = j - i + 1;
    }
    return best;
}

/*  T and tau as the limiter computes them, for the exact spacing checks. */
static int64_t s_t_us(int rpm)
{
    return (int64_t) ceil(60e6 * (1.0 + AX_LIMITER_MARGIN) / rpm);
}

static int64_t s_tau_us(int rpm)
{
    int64_t tau = AX_LIMITER_TOLERANCE_MS * 1000;
    return tau > s_t_us(rpm) / 2 ? s_t_us(rpm) / 2 : tau;
}

static void test_init_key(void **state)
{
    ax_limiter_t a, b, c;
    ax_limiter_init(&a, "https://api.deepseek.com", "deepseek-chat", 600, 1000000, 64, 0);
    ax_limiter_init(&b, "https://api.deepseek.com/", "deepseek-chat", 600, 1000000, 64, 0);
    ax_limiter_init(&c, "https://api.deepseek.com", "deepseek-reasoner", 600, 1000000, 64, 0);
    assert_int_equal(strlen(a.key), strlen("ax:llm:{0123456789abcdef}"));
    assert_memory_equal(a.key, "ax:llm:{", 8);
    assert_int_equal(a.key[24], '}');
    assert_string_equal(a.key, b.key);
    assert_string_not_equal(a.key, c.key);
    assert_int_equal(a.lease_ms, 150000);
    assert_int_equal(a.token_burst, 1000000 * AX_LIMITER_TOKEN_BURST_MS / 60000);
    ax_limiter_init(&a, "http://x", "m", -1, 0, -5, 1000);
    assert_int_equal(a.rpm, 0);
    assert_int_equal(a.tpm, 0);
    assert_int_equal(a.max_in_flight, 0);
    assert_int_equal(a.token_burst, 0);
}

/*  rpm = 600: the first request goes at once, then one per T = 100.5 ms, never closer
 *  than T - tau, and no wait is longer than T. */
static void test_spacing(void **state)
{
    redisContext *c = s_fresh();
    ax_limiter_t l;
    ax_limiter_init(&l, "http://spacing", "m", 600, 0, 0, 0);
    char lease[40], *err = NULL;
    assert_int_equal(ax_limiter_acquire(c, &l, 100, lease, &err), 0);
    int64_t prev = s_grant_us(lease), first = prev;
    assert_true(prev > 0);
    int64_t w = ax_limiter_acquire(c, &l, 100, lease, &err);
    assert_true(w > 0 && w <= 101);
    enum { N = 20 };
    for (int i = 1; i < N; i++) {
        int64_t g = s_acquire_wait(c, &l, 100, lease);
        assert_true(g - prev >= s_t_us(600) - s_tau_us(600));
        prev = g;
    }
    /* N grants span at least (N - 1) T - tau: no rate beyond 600/min even for a moment. */
    assert_true(prev - first >= (N - 1) * s_t_us(600) - s_tau_us(600));
    double ratio = (double) (N - 1) * 100000 / (double) (prev - first);
    print_message("rpm=600, 1 client: achieved/allowed = %.4f\n", ratio);
    assert_true(ratio >= 0.98 && ratio <= 1.0);
    redisFree(c);
}

/*  Checks grant times of a run at rpm = 6000 (100 per second): spacing, the most in any
 *  1 s window, and the achieved rate. Returns the ratio achieved/allowed. */
static double s_check_window(int64_t *t, size_t n, const char *what)
{
    qsort(t, n, sizeof *t, s_cmp_i64);
    assert_true(n > 100);
    for (size_t i = 1; i < n; i++)
        assert_true(t[i] - t[i - 1] >= s_t_us(6000) - s_tau_us(6000));
    size_t most = s_max_in_window(t, n, 1000000);
    double ratio = (double) (n - 1) * 10000 / (double) (t[n - 1] - t[0]);
    print_message("rpm=6000, %s: %zu grants in %.2f s, achieved/allowed = %.4f, most in a 1 s window = %zu (limit 100)\n",
                  what, n, (double) (t[n - 1] - t[0]) / 1e6, ratio, most);
    assert_true(most <= 100);
    assert_true(ratio >= 0.98);
    return ratio;
}

static void test_window_one_client(void **state)
{
    redisContext *c = s_fresh();
    ax_limiter_t l;
    ax_limiter_init(&l, "http://window", "m", 6000, 0, 0, 0);
    enum { MAX = 2000 };
    int64_t *t = calloc(MAX, sizeof *t);
    assert_non_null(t);
    size_t n = 0;
    char lease[40];
    int64_t end = s_mono_us() + 5000000;
    while (s_mono_us() < end && n < MAX)
        t[n++] = s_acquire_wait(c, &l, 0, lease);
    s_check_window(t, n, "1 client");
    free(t);
    redisFree(c);
}

/*  Four processes, each with its own connection, acquire as fast as the limiter lets them
 *  for 8 s; grant times go to shared memory. */
static void test_window_four_processes(void **state)
{
    redisContext *c = s_fresh();
    redisFree(c);
    enum { P = 4, MAX = 2000 };
    int64_t *shm = mmap(NULL, P * MAX * sizeof(int64_t) + P * sizeof(int64_t), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shm != MAP_FAILED);
    int64_t *counts = shm + P * MAX;
    int64_t end = s_mono_us() + 8000000;
    pid_t pids[P];
    for (int p = 0; p < P; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            /* No cmocka asserts in a child: it reports by its exit code. */
            redisContext *cc = ax_redis_fixture_connect(&s_redis);
            if (!cc)
                _exit(2);
            ax_limiter_t l;
            ax_limiter_init(&l, "http://window", "m", 6000, 0, 0, 0);
            char lease[40], *err = NULL;
            int64_t n = 0;
            while (s_mono_us() < end && n < MAX) {
                int64_t w = ax_limiter_acquire(cc, &l, 0, lease, &err);
                if (w < 0)
                    _exit(3);
                if (w > 0)
                    s_sleep_ms(w);
                else
                    shm[p * MAX + n++] = s_grant_us(lease);
            }
            counts[p] = n;
            redisFree(cc);
            _exit(0);
        }
    }
    for (int p = 0; p < P; p++) {
        int st;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    int64_t *t = calloc(P * MAX, sizeof *t);
    assert_non_null(t);
    size_t n = 0;
    for (int p = 0; p < P; p++) {
        assert_true(counts[p] > 0);       /* nobody starves */
        for (int64_t i = 0; i < counts[p]; i++)
            t[n++] = shm[p * MAX + i];
    }
    s_check_window(t, n, "4 processes");
    free(t);
    munmap(shm, P * MAX * sizeof(int64_t) + P * sizeof(int64_t));
}

/*  tpm = 600000 (10 tokens/ms): the bucket holds 2000. Reservations take the estimate;
 *  settling more than estimated puts the bucket in debt, less gives room back. */
static void test_tokens(void **state)
{
    redisContext *c = s_fresh();
    ax_limiter_t l;
    ax_limiter_init(&l, "http://tokens", "m", 0, 600000, 0, 0);
    assert_int_equal(l.token_burst, 2000);
    char l1[40], l2[40], l3[40], *err = NULL;
    assert_int_equal(ax_limiter_acquire(c, &l, 1000, l1, &err), 0);
    assert_int_equal(ax_limiter_acquire(c, &l, 1000, l2, &err), 0);
    /* Empty: 1000 tokens take 100.5 ms to come back (less whatever elapsed already). */
    int64_t w = ax_limiter_acquire(c, &l, 1000, l3, &err);
    assert_true(w >= 50 && w <= 101);
    /* l1 used nothing: its 1000 come back at once. */
    assert_int_equal(ax_limiter_release(c, &l, l1, 1000, 0, &err), 0);
    assert_int_equal(ax_limiter_acquire(c, &l, 1000, l3, &err), 0);
    /* l2 used 3000: 2000 more than reserved, the bucket owes them; the next 1000 wait
       for 3000 tokens of refill, about 300 ms. */
    assert_int_equal(ax_limiter_release(c, &l, l2, 1000, 3000, &err), 0);
    w = ax_limiter_acquire(c, &l, 1000, l1, &err);
    assert_true(w >= 250 && w <= 302);
    /* Unknown usage keeps the estimate: nothing changes. */
    assert_int_equal(ax_limiter_release(c, &l, l3, 1000, -1, &err), 0);
    int64_t w2 = ax_limiter_acquire(c, &l, 1000, l1, &err);
    assert_true(w2 > 0 && w2 <= w);
    assert_true(w2 >= w - 60);
    /* A request larger than the bucket still goes once the bucket is full. */
    s_sleep_ms(w2 + 210);
    assert_int_equal(ax_limiter_acquire(c, &l, 5000, l1, &err), 0);
    w = ax_limiter_acquire(c, &l, 1, l2, &err);
    assert_true(w >= 250 && w <= 302);     /* 3000 in debt + 1 */
    redisFree(c);
}

/*  max_in_flight = 3: a fourth waits until a release; a lease never released frees its
 *  slot after lease_ms, and releasing it late frees nobody else's slot. */
static void test_in_flight(void **state)
{
    redisContext *c = s_fresh();
    ax_limiter_t l;
    ax_limiter_init(&l, "http://flight", "m", 0, 0, 3, 400);
    char a[40], b[40], d[40], e[40], f[40], *err = NULL;
    assert_int_equal(ax_limiter_acquire(c, &l, 10, a, &err), 0);
    assert_int_equal(ax_limiter_acquire(c, &l, 10, b, &err), 0);
    assert_int_equal(ax_limiter_acquire(c, &l, 10, d, &err), 0);
    assert_string_not_equal(a, b);
    assert_string_not_equal(b, d);
    int64_t w = ax_limiter_acquire(c, &l, 10, e, &err);
    assert_true(w > 0 && w <= AX_LIMITER_POLL_MS);
    assert_int_equal(ax_limiter_release(c, &l, b, 10, 10, &err), 0);
    assert_int_equal(ax_limiter_acquire(c, &l, 10, e, &err), 0);
    s_sleep_ms(200);
    w = ax_limiter_acquire(c, &l, 10, b, &err);
    assert_true(w > 0 && w <= AX_LIMITER_POLL_MS);
    /* a, d and e are never released: the first slot frees when a's lease expires. */
    int64_t g = s_acquire_wait(c, &l, 10, b);
    assert_true(g - s_grant_us(a) >= 400000);
    assert_true(g - s_grant_us(a) <= 400000 + 250000);
    /* Fill the cap again (d and e have expired by now too), then release the expired
       lease a: it must not free a slot held by b, d or f. */
    assert_int_equal(s_acquire_wait(c, &l, 10, d) >= g, 1);
    assert_int_equal(s_acquire_wait(c, &l, 10, f) >= g, 1);
    assert_true(ax_limiter_acquire(c, &l, 10, e, &err) > 0);
    assert_int_equal(ax_limiter_release(c, &l, a, 10, -1, &err), 0);
    assert_true(ax_limiter_acquire(c, &l, 10, e, &err) > 0);
    assert_int_equal(ax_limiter_release(c, &l, f, 10, -1, NULL), 0);     /* err may be NULL */
    assert_int_equal(ax_limiter_acquire(c, &l, 10, e, NULL), 0);
    redisFree(c);
}

/*  acquire_n: a batch gets what single calls would. With a request rate, never more than
 *  one grant per call (the next slot is T away, more than tau); with only an in-flight
 *  cap, up to the cap, then the wait; leases all distinct. */
static void test_acquire_batch(void **state)
{
    redisContext *c = s_fresh();
    ax_limiter_t l;
    char leases[8][40], *err = NULL;
    int est[8] = {10, 10, 10, 10, 10, 10, 10, 10};
    int64_t wait = 0;
    ax_limiter_init(&l, "http://batch-rate", "m", 600, 0, 0, 0);     /* T = 100.5 ms */
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 8, est, leases, &wait, &err), 1);
    assert_true(wait >= 50 && wait <= 101);
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 8, est, leases, &wait, &err), 0);
    assert_true(wait > 0 && wait <= 101);

    ax_limiter_init(&l, "http://batch-flight", "m", 0, 0, 5, 0);
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 3, est, leases, &wait, &err), 3);
    assert_int_equal(wait, 0);
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 8, est, leases + 3, &wait, &err), 2);
    assert_true(wait > 0 && wait <= AX_LIMITER_POLL_MS);
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            assert_string_not_equal(leases[i], leases[j]);
    assert_int_equal(ax_limiter_release(c, &l, leases[1], 10, 10, &err), 0);
    assert_int_equal(ax_limiter_release(c, &l, leases[3], 10, 10, &err), 0);
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 8, est, leases, &wait, &err), 2);

    /* Tokens: a bucket of 1000 (tpm 300000 -> 200 ms of refill) takes three requests of
       300 and stops the fourth; estimates are taken in order. */
    ax_limiter_init(&l, "http://batch-tokens", "m", 0, 300000, 0, 0);
    int est3[4] = {300, 300, 300, 300};
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 4, est3, leases, &wait, &err), 3);
    assert_true(wait > 0 && wait <= 60);
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 0, est3, leases, &wait, &err), 0);
    redisFree(c);
}

/*  The pipeline: releases and cache writes in one round trip, scripts re-sent as EVAL
 *  after SCRIPT FLUSH, an error reply counted without losing the rest; the multi-get. */
static void test_batch_pipeline(void **state)
{
    redisContext *c = s_fresh();
    ax_limiter_t l;
    ax_limiter_init(&l, "http://pipe", "m", 0, 0, 4, 0);
    char leases[4][40], *err = NULL;
    int est[4] = {1, 1, 1, 1};
    int64_t wait;
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 4, est, leases, &wait, &err), 4);
    redisReply *r = redisCommand(c, "SCRIPT FLUSH");
    assert_non_null(r);
    freeReplyObject(r);
    ax_redis_batch_t *b = ax_redis_batch_new();
    assert_non_null(b);
    assert_int_equal(ax_limiter_release_batch(b, &l, leases[0], 1, 1), 0);
    assert_int_equal(ax_llm_cache_put_batch(b, "abc1", "{\"x\":1}", 7), 0);
    const char *bad[] = {"NOSUCHCOMMAND"};
    assert_int_equal(ax_redis_batch_cmd(b, 1, bad, NULL), 0);
    assert_int_equal(ax_limiter_release_batch(b, &l, leases[2], 1, 1), 0);
    assert_int_equal(ax_llm_cache_put_batch(b, "abc2", "v\0w", 3), 0);
    assert_int_equal(ax_llm_cache_put_batch(b, "not hex", "v", 1), -1);
    assert_int_equal(ax_redis_batch_size(b), 5);
    assert_int_equal(ax_redis_batch_flush(c, b, &err), 1);
    assert_non_null(err);
    assert_non_null(strstr(err, "NOSUCHCOMMAND") ? err : strstr(err, "unknown"));
    free(err);
    err = NULL;
    assert_int_equal(ax_redis_batch_size(b), 0);
    assert_int_equal(ax_limiter_acquire_n(c, NULL, &l, 4, est, leases, &wait, &err), 2);   /* two released */
    const char *keys[] = {"abc1", "ffff", "abc2"};
    char *values[3];
    size_t lens[3];
    assert_int_equal(ax_llm_cache_get_many(c, keys, 3, values, lens, &err), 2);
    assert_string_equal(values[0], "{\"x\":1}");
    assert_null(values[1]);
    assert_int_equal(lens[2], 3);
    assert_memory_equal(values[2], "v\0w", 3);
    free(values[0]);
    free(values[2]);
    /* Releases and an acquire in one round trip, after SCRIPT FLUSH: the acquire sees the
       releases (it runs after them), and its own NOSCRIPT is run again. */
    r = redisCommand(c, "SCRIPT FLUSH");
    freeReplyObject(r);
    char more[4][40];
    assert_int_equal(ax_limiter_release_batch(b, &l, leases[0], 1, 1), 0);
    assert_int_equal(ax_limiter_release_batch(b, &l, leases[1], 1, 1), 0);
    assert_int_equal(ax_limiter_acquire_n(c, b, &l, 4, est, more, &wait, &err), 2);
    assert_int_equal(ax_redis_batch_size(b), 0);
    assert_int_equal(ax_limiter_acquire_n(c, b, &l, 4, est, more, &wait, &err), 0);
    assert_true(wait > 0);
    assert_int_equal(ax_redis_batch_flush(c, b, &err), 0);          /* empty: nothing sent */
    assert_int_equal(ax_limiter_release_batch(b, &l, leases[0], 1, 1), 0);
    assert_int_equal(ax_redis_batch_flush(NULL, b, &err), -1);      /* no connection: dropped */
    assert_non_null(err);
    free(err);
    assert_int_equal(ax_redis_batch_size(b), 0);
    ax_redis_batch_destroy(&b);
    assert_null(b);
    redisFree(c);
}

/*  A pause holds every client of the cluster, and is only ever extended. */
static void test_pause(void **state)
{
    redisContext *c = s_fresh();
    redisContext *c2 = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c2);
    ax_limiter_t l;
    ax_limiter_init(&l, "http://pause", "m", 600, 100000, 8, 0);
    char lease[40], *err = NULL;
    assert_int_equal(ax_limiter_acquire(c, &l, 10, lease, &err), 0);
    assert_int_equal(ax_limiter_release(c, &l, lease, 10, 10, &err), 0);
    int64_t t0 = s_redis_us(c);
    assert_int_equal(ax_limiter_pause(c, &l, 500, &err), 0);
    assert_int_equal(ax_limiter_pause(c, &l, 10, &err), 0);     /* does not shorten it */
    assert_int_equal(ax_limiter_pause(c, &l, 0, &err), 0);
    int64_t w = ax_limiter_acquire(c2, &l, 10, lease, &err);
    assert_true(w >= 350 && w <= 500);
    w = ax_limiter_acquire(c, &l, 10, lease, &err);
    assert_true(w >= 350 && w <= 500);
    int64_t g = s_acquire_wait(c2, &l, 10, lease);
    assert_true(g - t0 >= 500000);
    assert_true(g - t0 <= 500000 + 250000);
    redisFree(c2);
    redisFree(c);
}

/*  The scripts run again after SCRIPT FLUSH (EVALSHA's NOSCRIPT -> EVAL), and a script
 *  error comes back as -1 with the error text. */
static void test_script_flush(void **state)
{
    redisContext *c = s_fresh();
    ax_limiter_t l;
    ax_limiter_init(&l, "http://flush", "m", 0, 60000, 4, 0);
    char lease[40], *err = NULL;
    assert_int_equal(ax_limiter_acquire(c, &l, 10, lease, &err), 0);
    redisReply *r = redisCommand(c, "SCRIPT FLUSH");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(ax_limiter_release(c, &l, lease, 10, 20, &err), 0);
    assert_int_equal(ax_limiter_acquire(c, &l, 10, lease, &err), 0);
    r = redisCommand(c, "SCRIPT FLUSH");
    freeReplyObject(r);
    assert_int_equal(ax_limiter_pause(c, &l, 50, &err), 0);
    assert_true(ax_limiter_acquire(c, &l, 10, lease, &err) > 0);

    const char *keys[] = {"ax:test:{x}"};
    const char *args[] = {"v\0w", "z"};
    size_t lens[] = {3, 1};
    r = ax_redis_eval_bin(c, "redis.call('SET', KEYS[1], ARGV[1]) return #ARGV[1] + #ARGV[2]", 1, keys, 2,
                          args, lens, &err);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 4);
    freeReplyObject(r);
    r = ax_redis_eval(c, "return redis.call('GET', KEYS[1])", 1, keys, 0, NULL, &err);
    assert_non_null(r);
    assert_int_equal(r->len, 3);
    assert_memory_equal(r->str, "v\0w", 3);
    freeReplyObject(r);
    r = ax_redis_eval(c, "return redis.call('NOSUCHCOMMAND')", 0, NULL, 0, NULL, &err);
    assert_null(r);
    assert_non_null(err);
    free(err);
    err = NULL;
    /* A broken connection gives -1 with *err, not a crash. */
    redisContext *dead = ax_redis_fixture_connect(&s_redis);
    assert_non_null(dead);
    r = redisCommand(dead, "PING");      /* accepted by the server before the kill */
    assert_non_null(r);
    freeReplyObject(r);
    r = redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(ax_limiter_acquire(dead, &l, 10, lease, &err), -1);
    assert_non_null(err);
    free(err);
    assert_int_equal(ax_limiter_release(dead, &l, lease, 10, 10, NULL), -1);
    assert_int_equal(ax_limiter_acquire(NULL, &l, 10, lease, &err), -1);
    assert_non_null(err);
    free(err);
    redisFree(dead);
    redisFree(c);
}

static void test_cache(void **state)
{
    redisContext *c = s_fresh();
    char *v = NULL, *err = NULL;
    size_t len = 99;
    const char *key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_int_equal(ax_llm_cache_get(c, key, &v, &len, &err), 0);
    assert_null(v);
    assert_int_equal(len, 0);
    const char answer[] = "{\"score\":4,\"summary\":\"\xe6\x8e\xa8\xe8\x8d\x90\"}\0tail";
    assert_int_equal(ax_llm_cache_put(c, key, answer, sizeof answer - 1, &err), 0);
    assert_int_equal(ax_llm_cache_get(c, key, &v, &len, &err), 1);
    assert_int_equal(len, sizeof answer - 1);
    assert_memory_equal(v, answer, len);
    assert_int_equal(v[len], '\0');
    free(v);
    redisReply *r = redisCommand(c, "TTL ax:llmcache:%s", key);
    assert_int_equal(r->integer, -1);       /* no expiry */
    freeReplyObject(r);
    assert_int_equal(ax_llm_cache_get(c, "not hex!", &v, &len, &err), -1);
    assert_non_null(err);
    free(err);
    assert_int_equal(ax_llm_cache_put(c, "", "x", 1, &err), -1);
    free(err);
    assert_int_equal(ax_llm_cache_get(NULL, key, &v, &len, NULL), -1);
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_key),
        cmocka_unit_test(test_spacing),         cmocka_unit_test(test_window_one_client),
        cmocka_unit_test(test_window_four_processes), cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_in_flight),       cmocka_unit_test(test_pause),
        cmocka_unit_test(test_acquire_batch),   cmocka_unit_test(test_batch_pipeline),
        cmocka_unit_test(test_script_flush),    cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
