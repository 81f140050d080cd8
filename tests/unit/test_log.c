/*  test_log.c: common/log.c. Every logged value is escaped where the line is made:
 *  a newline, an ANSI escape, a quote, a forged `key=value` or bytes that are not UTF-8
 *  in a value never make a second line or a second key; numbers format as printf does. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test_helpers.h"

static ax_test_stderr_t s_stderr;

/*  Points stderr at a fresh temp file. */
static int s_setup(void **state)
{
    (void) state;
    if (ax_test_stderr_begin(&s_stderr) < 0)
        return -1;
    ax_log_init("test");
    ax_log_set_level(AX_LOG_INFO);
    return 0;
}

/*  Gives stderr back and removes the file. */
static int s_teardown(void **state)
{
    (void) state;
    return ax_test_stderr_end(&s_stderr);
}

/*  Everything logged since the last call (caller frees). */
static char *s_take(void)
{
    return ax_test_stderr_take(&s_stderr);
}

/*  The one line logged since the last call, from "msg=" on, without its newline;
 *  asserts it is exactly one line. Caller frees. */
static char *s_one_line(void)
{
    char *text = s_take();
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    text[len - 1] = '\0';
    assert_null(strchr(text, '\n'));
    char *msg = strstr(text, " msg=\"");
    assert_non_null(msg);
    char *out = strdup(msg + 1);
    free(text);
    return out;
}

#define assert_logged(expected)                                                                                   \
    do {                                                                                                          \
        char *line_ = s_one_line();                                                                               \
        assert_string_equal(line_, expected);                                                                     \
        free(line_);                                                                                              \
    } while (0)

static void test_line_shape(void **state)
{
    ax_log_info("run started|run=%s profiles=%zu", "r1", (size_t) 3);
    char *text = s_take();
    assert_non_null(strstr(text, "Z level=info comp=test msg=\"run started\" run=r1 profiles=3\n"));
    assert_int_equal(text[4], '-');
    free(text);
    ax_log_warn("no key value part");
    assert_logged("msg=\"no key value part\"");
    ax_log_debug("not shown|x=%d", 1);
    char *none = s_take();
    assert_string_equal(none, "");
    free(none);
}

/*  The report of issue 11: a READY with these names forged a log line. */
static void test_forged_lines(void **state)
{
    const char *fmt = "worker joined|worker=%s credit=%u heartbeat_ms=%u";
    ax_log_info(fmt, "evil\nrun failed|run=x", 1u, 0u);
    assert_logged("msg=\"worker joined\" worker=\"evil\\nrun failed|run=x\" credit=1 heartbeat_ms=0");
    ax_log_info(fmt, "\x1b[2J", 1u, 0u);
    assert_logged("msg=\"worker joined\" worker=\\x1b[2J credit=1 heartbeat_ms=0");
    ax_log_info(fmt, "w1 credit=999", 1u, 0u);
    assert_logged("msg=\"worker joined\" worker=\"w1 credit=999\" credit=1 heartbeat_ms=0");
    ax_log_info(fmt, "a\"b\rc\td\\e\x7f\x01", 1u, 0u);
    assert_logged("msg=\"worker joined\" worker=\"a\\\"b\\rc\\td\\\\e\\x7f\\x01\" credit=1 heartbeat_ms=0");
}

static void test_quoted_and_message_values(void **state)
{
    ax_log_warn("bad message dropped|peer=%s error=\"%s\"", "p1", "x\" forged=\"1");
    assert_logged("msg=\"bad message dropped\" peer=p1 error=\"x\\\" forged=\\\"1\"");
    ax_log_warn("cannot read %s|path=%s", "a\"b|c=d\n", "p");
    assert_logged("msg=\"cannot read a\\\"b|c=d\\n\" path=p");
    ax_log_warn("%s", "one|two=2");             /* a '|' in a value splits nothing */
    assert_logged("msg=\"one|two=2\"");
    ax_log_warn("quote \"%s\" in the text|at=%s:%d", "q", "a b", 5);
    assert_logged("msg=\"quote \\\"q\\\" in the text\" at=a\\x20b:5");
    ax_log_warn("empty|a=%s b=%s", "", "x");
    assert_logged("msg=\"empty\" a= b=x");
}

static void test_utf8(void **state)
{
    ax_log_info("title|t=\"%s\"", "模型 é ok");
    assert_logged("msg=\"title\" t=\"模型 é ok\"");
    ax_log_info("bytes|t=%s", "\xff\xc3(\xe6\xa8");   /* invalid, then a cut sequence */
    assert_logged("msg=\"bytes\" t=\\xff\\xc3(\\xe6\\xa8");
    ax_log_info("bytes|t=%s", "\xc0\xaf");          /* overlong '/' */
    assert_logged("msg=\"bytes\" t=\\xc0\\xaf");
    ax_log_info("c1 and bidi|t=%s", "a\xc2\x9b" "2Jb\xe2\x80\xae" "c\xe2\x80\xa8");
    assert_logged("msg=\"c1 and bidi\" t=a\\u009b2Jb\\u202ec\\u2028");
}

static void test_numbers_like_printf(void **state)
{
#define S_KV "a=%d b=%lld c=%llu d=%zu e=%u f=%.1f g=\"%5s\" h=\"%-3d\" i=%.*s j=%% k=%c l=%x m=%ld n=%08.3f o=%+i"
#define S_ARGS -7, -9000000000LL, 18000000000ULL, (size_t) 42, 4000000000u, 2.25, "ab", 4, 3, "abcdef", 'z', 255u, \
               -5L, 3.14159, 6
    ax_log_info("n|" S_KV, S_ARGS);
    char expect[512];
    snprintf(expect, sizeof expect, "msg=\"n\" " S_KV, S_ARGS);
    assert_logged(expect);
#undef S_KV
#undef S_ARGS
    const char *volatile none = NULL;           /* glibc prints (null): so do we */
    ax_log_info("null|s=%s", none);
    assert_logged("msg=\"null\" s=(null)");
}

static void test_long_values_stay_one_line(void **state)
{
    size_t n = 10000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 3 == 0 ? '\n' : i % 3 == 1 ? '\x1b' : "\xe6\xa8\xa1"[i % 3];
    big[n] = '\0';
    ax_log_error("%s|v=%s w=%s", big, big, "end");
    char *line = s_one_line();                  /* asserts one line */
    assert_true(strlen(line) < 4200);
    assert_null(strchr(line, '\x1b'));
    free(line);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_shape),
        cmocka_unit_test(test_forged_lines),
        cmocka_unit_test(test_quoted_and_message_values),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_numbers_like_printf),
        cmocka_unit_test(test_long_values_stay_one_line),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
