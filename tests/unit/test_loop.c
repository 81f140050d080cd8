/*  test_loop.c: the reactor (common/loop.c): timers on a fake clock, readers on real
 *  ZeroMQ sockets and pipes, pollers, hooks, and every way a loop ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "loop.h"
#include "text.h"

/* ---------------------------------------------------------------- fake clock */

static int64_t s_clock_ms;

static int64_t s_fake_now(void *arg)
{
    (void) arg;
    return s_clock_ms;
}

static ax_loop_t *s_fake_loop(void)
{
    ax_loop_t *loop = ax_loop_new();
    assert_non_null(loop);
    s_clock_ms = 1000;
    ax_loop_set_clock(loop, s_fake_now, NULL);
    return loop;
}

/*  A timer's record of its runs. */
typedef struct {
    int runs;
    int64_t at[16];                     /* clock at each run */
    int end_self_after;                 /* > 0: ends its own timer after that many runs */
    int end_other;                      /* a timer id to end on the first run */
    int add_on_run;                     /* 1: adds a one-shot timer (to arg2) on its first run */
    void *arg2;
    int ret;                            /* what the handler returns */
} s_rec_t;

static int s_on_timer(ax_loop_t *loop, int id, void *arg)
{
    s_rec_t *r = arg;
    if (r->runs < 16)
        r->at[r->runs] = ax_loop_now(loop);
    r->runs++;
    if (r->end_self_after && r->runs == r->end_self_after)
        ax_loop_timer_end(loop, id);
    if (r->end_other && r->runs == 1)
        ax_loop_timer_end(loop, r->end_other);
    if (r->add_on_run && r->runs == 1)
        assert_true(ax_loop_timer(loop, 0, 1, s_on_timer, r->arg2) > 0);
    return r->ret;
}

/*  Timers fire when due, from their last run, as many times as asked. */
static void test_timers(void **state)
{
    (void) state;
    ax_loop_t *loop = s_fake_loop();
    s_rec_t once = {0}, thrice = {0}, forever = {0};
    assert_true(ax_loop_timer(loop, 50, 1, s_on_timer, &once) > 0);
    assert_true(ax_loop_timer(loop, 10, 3, s_on_timer, &thrice) > 0);
    int id = ax_loop_timer(loop, 20, 0, s_on_timer, &forever);
    assert_true(id > 0);
    for (int step = 0; step < 10; step++) {   /* 10 ms a turn, 100 ms in all */
        s_clock_ms += 10;
        assert_int_equal(ax_loop_once(loop, 0), 0);
    }
    assert_int_equal(once.runs, 1);
    assert_int_equal(once.at[0], 1050);
    assert_int_equal(thrice.runs, 3);
    assert_int_equal(thrice.at[0], 1010);
    assert_int_equal(thrice.at[2], 1030);
    assert_int_equal(forever.runs, 5);
    assert_int_equal(forever.at[4], 1100);
    /* a slow turn does not make a due timer run twice */
    s_clock_ms += 1000;
    assert_int_equal(ax_loop_once(loop, 0), 0);
    assert_int_equal(forever.runs, 6);
    ax_loop_timer_end(loop, id);
    s_clock_ms += 1000;
    assert_int_equal(ax_loop_once(loop, 0), 0);
    assert_int_equal(forever.runs, 6);
    ax_loop_destroy(&loop);
    assert_null(loop);
}

/*  A handler ends its own timer or another one; a timer added by a handler runs from the
 *  next turn on. */
static void test_timer_changes_in_handlers(void **state)
{
    (void) state;
    ax_loop_t *loop = s_fake_loop();
    s_rec_t victim = {0}, added = {0};
    s_rec_t self_ender = {.end_self_after = 2}, killer = {.add_on_run = 1, .arg2 = &added};
    assert_true(ax_loop_timer(loop, 5, 0, s_on_timer, &self_ender) > 0);
    int victim_id = ax_loop_timer(loop, 5, 0, s_on_timer, &victim);
    killer.end_other = victim_id;
    assert_true(ax_loop_timer(loop, 1, 1, s_on_timer, &killer) > 0);
    s_clock_ms += 3;
    assert_int_equal(ax_loop_once(loop, 0), 0);
    assert_int_equal(killer.runs, 1);
    assert_int_equal(added.runs, 0);          /* added during the turn: not run in it */
    for (int i = 0; i < 5; i++) {
        s_clock_ms += 5;
        assert_int_equal(ax_loop_once(loop, 0), 0);
    }
    assert_int_equal(added.runs, 1);
    assert_int_equal(victim.runs, 0);
    assert_int_equal(self_ender.runs, 2);
    ax_loop_destroy(&loop);
}

/*  A message on a ZeroMQ socket runs its reader; an ended reader does not run. */
static int s_on_zmq(ax_loop_t *loop, zmq_pollitem_t *item, void *arg)
{
    int *got = arg;
    char buf[16];
    assert_true(item->revents & ZMQ_POLLIN);
    int n = zmq_recv(item->socket, buf, sizeof buf, ZMQ_DONTWAIT);
    assert_int_equal(n, 5);
    (*got)++;
    (void) loop;
    return 0;
}

static void test_zmq_reader(void **state)
{
    (void) state;
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://test_loop"), 0);
    assert_int_equal(zmq_connect(b, "inproc://test_loop"), 0);
    ax_loop_t *loop = ax_loop_new();
    int got = 0;
    assert_int_equal(ax_loop_reader(loop, a, -1, ZMQ_POLLIN, s_on_zmq, &got), 0);
    assert_int_equal(ax_loop_once(loop, 0), 0);
    assert_int_equal(got, 0);
    assert_int_equal(zmq_send(b, "hello", 5, 0), 5);
    int64_t t0 = ax_mono_ms();
    assert_int_equal(ax_loop_once(loop, 2000), 0);      /* woken by the message, not the wait */
    assert_int_equal(got, 1);
    assert_true(ax_mono_ms() - t0 < 1000);
    ax_loop_reader_end(loop, a, -1);
    assert_int_equal(zmq_send(b, "hello", 5, 0), 5);
    assert_int_equal(ax_loop_once(loop, 50), 0);
    assert_int_equal(got, 1);
    ax_loop_destroy(&loop);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
}

/*  A pipe's reader that ends itself in its handler, and a reader added again replaces
 *  the first. */
static int s_on_fd(ax_loop_t *loop, zmq_pollitem_t *item, void *arg)
{
    int *got = arg;
    char c;
    assert_int_equal(read(item->fd, &c, 1), 1);
    (*got)++;
    ax_loop_reader_end(loop, NULL, item->fd);
    return 0;
}

static void test_fd_reader(void **state)
{
    (void) state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    ax_loop_t *loop = ax_loop_new();
    int first = 0, second = 0;
    assert_int_equal(ax_loop_reader(loop, NULL, fds[0], ZMQ_POLLIN, s_on_fd, &first), 0);
    assert_int_equal(ax_loop_reader(loop, NULL, fds[0], ZMQ_POLLIN, s_on_fd, &second), 0);
    assert_int_equal(write(fds[1], "xy", 2), 2);
    assert_int_equal(ax_loop_once(loop, 1000), 0);
    assert_int_equal(first, 0);
    assert_int_equal(second, 1);
    assert_int_equal(ax_loop_once(loop, 50), 0);       /* ended: the second byte stays */
    assert_int_equal(second, 1);
    ax_loop_destroy(&loop);
    close(fds[0]);
    close(fds[1]);
}

/*  A poller adds its own items each turn, may shorten the wait, and gets them back. */
typedef struct {
    int fd;
    long timeout;
    int prepared, dispatched, fired;
} s_poll_t;

static int s_prepare(void *arg, zmq_pollitem_t *items, int max, long *timeout_ms)
{
    s_poll_t *p = arg;
    assert_true(max >= 1);
    p->prepared++;
    items[0] = (zmq_pollitem_t){NULL, p->fd, ZMQ_POLLIN, 0};
    if (p->timeout < *timeout_ms)
        *timeout_ms = p->timeout;
    return 1;
}

static int s_dispatch(void *arg, const zmq_pollitem_t *items, int n)
{
    s_poll_t *p = arg;
    assert_int_equal(n, 1);
    p->dispatched++;
    if (items[0].revents & ZMQ_POLLIN)
        p->fired++;
    return 0;
}

static void test_poller(void **state)
{
    (void) state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    ax_loop_t *loop = ax_loop_new();
    s_poll_t p = {.fd = fds[0], .timeout = 20};
    ax_loop_poller_t poller = {s_prepare, s_dispatch, &p};
    assert_int_equal(ax_loop_poller(loop, &poller), 0);
    int64_t t0 = ax_mono_ms();
    assert_int_equal(ax_loop_once(loop, 5000), 0);     /* its 20 ms, not 5 s */
    assert_true(ax_mono_ms() - t0 < 2000);
    assert_int_equal(p.dispatched, 1);
    assert_int_equal(p.fired, 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(ax_loop_once(loop, 1000), 0);
    assert_int_equal(p.fired, 1);
    ax_loop_poller_end(loop, &p);
    assert_int_equal(ax_loop_once(loop, 0), 0);
    assert_int_equal(p.prepared, 2);
    ax_loop_destroy(&loop);
    close(fds[0]);
    close(fds[1]);
}

/*  How a loop ends: a handler's -1, ax_loop_stop, the stop flag; hooks run every turn. */
static int s_count_hook(ax_loop_t *loop, void *arg)
{
    (void) loop;
    (*(int *) arg)++;
    return 0;
}

static int s_stop_timer(ax_loop_t *loop, int id, void *arg)
{
    (void) id, (void) arg;
    ax_loop_stop(loop);
    return 0;
}

static volatile sig_atomic_t s_flag;

static int s_flag_timer(ax_loop_t *loop, int id, void *arg)
{
    (void) loop, (void) id, (void) arg;
    s_flag = 1;
    return 0;
}

static void test_ending(void **state)
{
    (void) state;
    /* a handler's -1 */
    ax_loop_t *loop = ax_loop_new();
    s_rec_t failing = {.ret = -1};
    int hooks = 0;
    assert_int_equal(ax_loop_hook(loop, s_count_hook, &hooks), 0);
    assert_int_equal(ax_loop_once(loop, 0), 0);
    assert_int_equal(ax_loop_once(loop, 0), 0);
    assert_int_equal(hooks, 2);                 /* once a turn */
    assert_true(ax_loop_timer(loop, 30, 0, s_on_timer, &failing) > 0);
    int64_t t0 = ax_mono_ms();
    assert_int_equal(ax_loop_run(loop), -1);
    int64_t took = ax_mono_ms() - t0;
    assert_true(took >= 29 && took < 900);     /* waited for the timer, not the max wait */
    assert_int_equal(failing.runs, 1);
    ax_loop_destroy(&loop);
    /* ax_loop_stop */
    loop = ax_loop_new();
    assert_true(ax_loop_timer(loop, 0, 1, s_stop_timer, NULL) > 0);
    assert_int_equal(ax_loop_run(loop), 0);
    assert_int_equal(ax_loop_once(loop, 0), 1);
    ax_loop_destroy(&loop);
    /* the stop flag */
    loop = ax_loop_new();
    s_flag = 0;
    ax_loop_stop_on(loop, &s_flag);
    assert_true(ax_loop_timer(loop, 10, 1, s_flag_timer, NULL) > 0);
    assert_int_equal(ax_loop_run(loop), 0);
    assert_int_equal(s_flag, 1);
    ax_loop_destroy(&loop);
    ax_loop_destroy(&loop);             /* NULL is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_timer_changes_in_handlers),
        cmocka_unit_test(test_zmq_reader),
        cmocka_unit_test(test_fd_reader),
        cmocka_unit_test(test_poller),
        cmocka_unit_test(test_ending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
