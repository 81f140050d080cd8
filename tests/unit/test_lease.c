/*  test_lease.c: the broker's namespace lease (broker/lease.h) against a real redis-server,
 *  with the clock given by the test: one holder per namespace, a standby sees who holds
 *  it, a holder whose lease expired takes it back only when nobody held it meanwhile, a
 *  released lease is free at once, namespaces do not see each other's leases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lease.h"
#include "redis_fixture.h"
#include "store.h"

static ax_redis_fixture_t s_redis;

static int s_setup(void **state)
{
    (void) state;
    return ax_redis_fixture_start(&s_redis);
}

static int s_teardown(void **state)
{
    (void) state;
    ax_redis_fixture_stop(&s_redis);
    return 0;
}

static void s_del(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "DEL %s", key);
    assert_non_null(r);
    freeReplyObject(r);
}

static void test_one_holder_and_a_standby(void **state)
{
    (void) state;
    redisContext *c = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c);
    assert_int_equal(ax_redis_fixture_flush(c), 0);
    ax_lease_t a, b;
    assert_int_equal(ax_lease_init(&a, 5000), 0);
    assert_int_equal(ax_lease_init(&b, 5000), 0);
    assert_string_not_equal(a.id, b.id);
    assert_string_equal(a.key, "ax:broker:lease");

    assert_int_equal(ax_lease_tick(&a, c, 1000), AX_LEASE_HELD);
    assert_true(ax_lease_valid(&a, 1000));
    assert_true(ax_lease_valid(&a, 4999));         /* sent at 1000: valid for 4/5 of 5000 */
    assert_false(ax_lease_valid(&a, 5000));
    assert_int_equal(ax_lease_tick(&b, c, 1000), AX_LEASE_TAKEN);
    assert_string_equal(b.holder, a.id);
    assert_false(ax_lease_valid(&b, 1000));

    /* Not due yet: nothing asked. Due: renewed, and valid further on. */
    assert_int_equal(ax_lease_tick(&a, c, 1500), AX_LEASE_HELD);
    assert_int_equal(ax_lease_tick(&a, c, 2000), AX_LEASE_HELD);
    assert_true(ax_lease_valid(&a, 5999));
    assert_int_equal(ax_lease_tick(&b, c, 2000), AX_LEASE_TAKEN);

    /* Redis unreachable: the state stays, the validity runs out. */
    assert_int_equal(ax_lease_tick(&a, NULL, 7000), AX_LEASE_HELD);
    assert_false(ax_lease_valid(&a, 7000));
    redisFree(c);
}

static void test_expired_lease_taken_back_or_lost(void **state)
{
    (void) state;
    redisContext *c = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c);
    assert_int_equal(ax_redis_fixture_flush(c), 0);
    ax_lease_t a, b;
    assert_int_equal(ax_lease_init(&a, 5000), 0);
    assert_int_equal(ax_lease_init(&b, 5000), 0);
    assert_int_equal(ax_lease_tick(&a, c, 0), AX_LEASE_HELD);

    /* Expired while nobody else held it (say Redis was away): a takes it back. */
    s_del(c, a.key);
    assert_int_equal(ax_lease_tick(&a, c, 6000), AX_LEASE_HELD);
    assert_true(ax_lease_valid(&a, 6000));

    /* Expired, and b took it meanwhile: a has lost it, for good, even once b is gone. */
    s_del(c, a.key);
    assert_int_equal(ax_lease_tick(&b, c, 7000), AX_LEASE_HELD);
    assert_int_equal(ax_lease_tick(&a, c, 20000), AX_LEASE_LOST);
    assert_false(ax_lease_valid(&a, 20000));
    ax_lease_release(&b, c);
    assert_int_equal(ax_lease_tick(&a, c, 30000), AX_LEASE_LOST);

    /* A lost lease is not released: the holder's key stays. */
    assert_int_equal(ax_lease_tick(&b, c, 30000), AX_LEASE_HELD);
    ax_lease_release(&a, c);
    redisReply *r = redisCommand(c, "GET %s", b.key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, b.id);
    freeReplyObject(r);
    redisFree(c);
}

static void test_release_and_namespaces(void **state)
{
    (void) state;
    redisContext *c = ax_redis_fixture_connect(&s_redis);
    assert_non_null(c);
    assert_int_equal(ax_redis_fixture_flush(c), 0);
    ax_lease_t a, b, other;
    assert_int_equal(ax_lease_init(&a, 60000), 0);
    assert_int_equal(ax_lease_init(&b, 60000), 0);
    assert_int_equal(ax_lease_tick(&a, c, 0), AX_LEASE_HELD);
    assert_int_equal(ax_lease_tick(&b, c, 0), AX_LEASE_TAKEN);
    ax_lease_release(&a, c);                       /* a clean stop: free at once */
    assert_int_equal(ax_lease_tick(&b, c, 1000), AX_LEASE_HELD);

    assert_int_equal(ax_store_namespace_set("ax:local:host:1000"), 0);
    assert_int_equal(ax_lease_init(&other, 60000), 0);
    assert_string_equal(other.key, "ax:local:host:1000:broker:lease");
    assert_int_equal(ax_lease_tick(&other, c, 0), AX_LEASE_HELD);
    assert_int_equal(ax_store_namespace_set("bad{ns}"), -1);
    assert_string_equal(ax_store_namespace(), "ax:local:host:1000");
    assert_int_equal(ax_store_namespace_set("ax"), 0);
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_holder_and_a_standby),
        cmocka_unit_test(test_expired_lease_taken_back_or_lost),
        cmocka_unit_test(test_release_and_namespaces),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
