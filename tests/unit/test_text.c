/*  test_text.c: the text helpers of common/text.c. Folding against a byte-by-byte model
 *  on hand-picked and random text (every whitespace kind at every 8-byte alignment, in
 *  place too); arXiv id splitting on new, old, prefixed and bad ids; ax_time_parse's
 *  RFC 2822 fast path against glibc strptime + timegm on every month, 1- and 2-digit
 *  days, leap and common years and mutated strings, plus hand-computed values. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lang.h"
#include "text.h"

/* ---- folding ------------------------------------------------------------------------- */

/*  The folding contract written the plain way: a space is owed after a word when
 *  whitespace follows it, and paid only before the next word. Caller frees. */
static char *s_model_fold(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    int owed = 0;
    assert_non_null(out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\0' && strchr(" \t\n\v\f\r", s[i])) {
            owed = o > 0;
        } else {
            if (owed)
                out[o++] = ' ';
            owed = 0;
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/*  ax_text_fold(s, len) is want, and so is ax_text_fold_to, in place and not. */
static void s_check_fold(const char *s, size_t len, const char *want)
{
    char *got = ax_text_fold(s, len);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    assert_int_equal(ax_text_fold_to(buf, s, len), strlen(want));
    assert_string_equal(buf, want);
    memcpy(buf, s, len);
    assert_int_equal(ax_text_fold_to(buf, buf, len), strlen(want));
    assert_string_equal(buf, want);
    free(buf);
}

static void test_is_space(void **state)
{
    for (int c = 0; c < 256; c++) {
        int want = c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
        assert_int_equal(ax_is_space((unsigned char) c) != 0, want);
    }
}

static void test_fold_cases(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"   ", ""},
        {" \t\n\v\f\r ", ""},
        {"word", "word"},
        {"  a  b  ", "a b"},
        {"a\tb\nc\r\nd\fe\vf", "a b c d e f"},
        {"Deep\n  Learning   for\tRecommender\r\n Systems\n", "Deep Learning for Recommender Systems"},
        {"$\\mathcal{O}(n \\log n)$  bound", "$\\mathcal{O}(n \\log n)$ bound"},
        {"caf\xc3\xa9  \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 ",
         "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"},
        {"keep\x01 other\x1f controls\x7f", "keep\x01 other\x1f controls\x7f"},
        {"\xc2\xa0 nbsp is not ASCII", "\xc2\xa0 nbsp is not ASCII"},
        {"12345678  12345678", "12345678 12345678"},
        {"1234567 12345678 1234567  x", "1234567 12345678 1234567 x"},
        {"abcdefgh\nabcdefgh\tabcdefgh ", "abcdefgh abcdefgh abcdefgh"},
        {"        eight leading", "eight leading"},
        {"eight trailing        ", "eight trailing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        s_check_fold(cases[i].in, strlen(cases[i].in), cases[i].want);
    /* only s[0..len) is read: the rest may hold anything, even a missing NUL */
    s_check_fold("a  b  c", 4, "a b");
    char raw[8] = {'x', ' ', ' ', 'y', 'z', ' ', '\t', 'w'};
    s_check_fold(raw, sizeof raw, "x yz w");
}

/*  A double space, each kind of whitespace and a control byte at every offset of a
 *  40-byte text: the word-at-a-time path and the byte path must agree everywhere. */
static void test_fold_alignment(void **state)
{
    static const char *inserts[] = {"  ", "\t", "\n", "\v", "\f", "\r", " \r\n ", "\x01", "\x7f",
                                    "\xe2\x80\x83"};
    for (size_t k = 0; k < sizeof inserts / sizeof *inserts; k++)
        for (size_t at = 0; at <= 40; at++) {
            char text[64];
            const char *base = "abc defghij klmnopqr stuvw xyz 0123456789";
            snprintf(text, sizeof text, "%.*s%s%s", (int) at, base, inserts[k], base + at);
            size_t len = strlen(text);
            char *want = s_model_fold(text, len);
            s_check_fold(text, len, want);
            free(want);
        }
}

/*  Random texts built from whitespace, words, UTF-8 and control bytes, at every length
 *  from 0 to ~300: folding equals the model. */
static void test_fold_random(void **state)
{
    static const char *pieces[] = {"word", "x", " ", "  ", "        ", "\n", "\t", "\r\n  ", "\f",
                                    "\v", "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
                                    "\x01", "\x1b[0m", "\x7f", "$\\ell$", "longerwordhere",
                                    "a b c d e f g h"};
    srand(4242);
    for (int round = 0; round < 20000; round++) {
        char text[512] = "";
        size_t len = 0;
        int n = rand() % 40;
        for (int k = 0; k < n; k++) {
            const char *p = pieces[rand() % (sizeof pieces / sizeof *pieces)];
            size_t pl = strlen(p);
            if (len + pl >= sizeof text)
                break;
            memcpy(text + len, p, pl);
            len += pl;
        }
        text[len] = '\0';
        char *want = s_model_fold(text, len);
        s_check_fold(text, len, want);
        free(want);
    }
}

/* ---- arXiv ids ----------------------------------------------------------------------- */

static void test_arxiv_id_split(void **state)
{
    static const struct {
        const char *in, *id;
        int version;
    } good[] = {
        {"2602.09386v3", "2602.09386", 3},
        {"2602.09386", "2602.09386", 0},
        {"0704.0001", "0704.0001", 0},
        {"2602.09386v12", "2602.09386", 12},
        {"hep-th/9901001v2", "hep-th/9901001", 2},
        {"hep-th/9901001", "hep-th/9901001", 0},
        {"math.AG/0601001v1", "math.AG/0601001", 1},
        {"http://arxiv.org/abs/2602.09386v1", "2602.09386", 1},
        {"https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001", 0},
        {"http://export.arxiv.org/abs/1412.8544v4", "1412.8544", 4},
        {"oai:arXiv.org:1412.8544", "1412.8544", 0},
        {"arXiv:2602.09386v2", "2602.09386", 2},
        {"2602.09386v3 \n", "2602.09386", 3},
        {"http://arxiv.org/abs/cond-mat/0102536v1", "cond-mat/0102536", 1},
        {"oai:arXiv.org:q-bio/0309001", "q-bio/0309001", 0},
        {"cs/9901001", "cs/9901001", 0},
        {"math.GT/0309136", "math.GT/0309136", 0},
    };
    static const char *bad[] = {
        "", "garbage", "v3", "2602.09386v", "2602-09386", "26020.9386", "2602.093861",
        "2602.0938x", "12345678", "hep-th/990100", "hep-th/99010011", "/9901001",
        "hep_th/9901001", "hep-th/99010a1", "http://arxiv.org/abs/", "oai:arXiv.org:garbage",
        "https://example.com/abs/2602.09386",
        /* an archive is lower-case words joined by '-', then optionally .XX: no path parts */
        "../1234567", "./1234567", "http://arxiv.org/abs/../1234567v1", "a/../1234567", ".a/1234567",
        "hep-/9901001", "-th/9901001", "hep--th/9901001", "HEP-TH/9901001", "math.ag/0601001",
        "math.AGX/0601001", "math./0601001", "math.A/0601001", "a..b/1234567", "cs.AI.LG/9901001",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char *id = NULL;
        int version = -1;
        assert_int_equal(ax_arxiv_id_split(good[i].in, &id, &version), 0);
        assert_string_equal(id, good[i].id);
        assert_int_equal(version, good[i].version);
        free(id);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *id = NULL;
        int version = -7;
        if (ax_arxiv_id_split(bad[i], &id, &version) != -1)
            fail_msg("accepted bad id \"%s\" as \"%s\"", bad[i], id);
        assert_null(id);
        assert_int_equal(version, -7);
    }
}

/* ---- time parsing -------------------------------------------------------------------- */

/*  What glibc makes of an RFC 2822 date after leading whitespace: 0 and *t, or -1
 *  (timegm's -1 included, as ax_time_parse refuses it too). */
static int s_strptime_2822(const char *s, int64_t *t)
{
    struct tm tm = {0};
    if (!strptime(s + strspn(s, " \t\n\v\f\r"), "%a, %d %b %Y %H:%M:%S", &tm))
        return -1;
    time_t v = timegm(&tm);
    *t = (int64_t) v;
    return v == (time_t) -1 ? -1 : 0;
}

/*  ax_time_parse(s) agrees with strptime on s: same success, same time. */
static void s_check_time(const char *s)
{
    int64_t got = 42, want = 42;
    int rc = ax_time_parse(s, &got), want_rc = s_strptime_2822(s, &want);
    if (rc != want_rc || (rc == 0 && got != want))
        fail_msg("\"%s\": ax_time_parse %d %lld, strptime %d %lld", s, rc, (long long) got,
                 want_rc, (long long) want);
    if (rc < 0)
        assert_int_equal(got, 42);
}

/*  Fixed values, worked out independently (date -u -d ... +%s). */
static void test_time_known(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } cases[] = {
        {"Mon, 2 Apr 2007 19:18:42 GMT", 1175541522},
        {"Mon, 02 Apr 2007 19:18:42 GMT", 1175541522},
        {"Mon, 2 Apr 2007 19:18:42", 1175541522},
        {"  \tMon, 2 Apr 2007 19:18:42 GMT", 1175541522},
        {"Fri, 2 Apr 2007 19:18:42 GMT", 1175541522},         /* day name not checked */
        {"Thu, 1 Jan 1970 00:00:00 GMT", 0},
        {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600},
        {"Tue, 31 Dec 2024 23:59:59 GMT", 1735689599},
        {"Fri, 31 Dec 1999 23:59:59 GMT", 946684799},
        {"Wed, 31 Dec 1969 23:59:58 GMT", -2},
        {"Sat, 31 Feb 2007 00:00:00 GMT", 1172880000},        /* runs on to 3 March */
        {"Mon, 1 Jan 0001 00:00:00 GMT", -62135596800},
        {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
        {"mon, 2 apr 2007 19:18:42 GMT", 1175541522},         /* strptime's way */
        {"Monday, 2 April 2007 19:18:42 GMT", 1175541522},
        {"Mon,  2 Apr 2007 19:18:42 GMT", 1175541522},
        {"Mon, 2 Apr 2007 19:18:60 GMT", 1175541540},
        {"2007-04-02T19:18:42Z", 1175541522},
        {"2007-04-02", 1175472000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t t = 0;
        if (ax_time_parse(cases[i].in, &t) != 0 || t != cases[i].want)
            fail_msg("\"%s\": got %lld, want %lld", cases[i].in, (long long) t,
                     (long long) cases[i].want);
    }
}

/*  Every month and day 1..31 (1-digit, 2-digit and zero-padded) of leap, common and
 *  century years, at several times of day, against strptime. */
static void test_time_calendar(void **state)
{
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const int years[] = {1, 1600, 1900, 1969, 1970, 1999, 2000, 2001, 2004, 2007,
                                2023, 2024, 2025, 2100, 2400, 9999};
    static const char *times[] = {"00:00:00", "19:18:42", "23:59:59", "12:05:09"};
    char s[64];
    for (size_t y = 0; y < sizeof years / sizeof *years; y++)
        for (size_t m = 0; m < 12; m++)
            for (int d = 1; d <= 31; d++)
                for (size_t k = 0; k < sizeof times / sizeof *times; k++) {
                    snprintf(s, sizeof s, "Sun, %d %s %04d %s GMT", d, months[m], years[y],
                             times[k]);
                    s_check_time(s);
                    snprintf(s, sizeof s, "Wed, %02d %s %04d %s", d, months[m], years[y],
                             times[k]);
                    s_check_time(s);
                }
    /* 29 February: a real day in leap years, 1 March in the others */
    int64_t leap, common;
    assert_int_equal(ax_time_parse("Tue, 29 Feb 2000 00:00:00 GMT", &leap), 0);
    assert_int_equal(ax_time_parse("Wed, 1 Mar 2000 00:00:00 GMT", &common), 0);
    assert_int_equal(common - leap, 86400);
    assert_int_equal(ax_time_parse("Thu, 29 Feb 1900 00:00:00 GMT", &leap), 0);
    assert_int_equal(ax_time_parse("Thu, 1 Mar 1900 00:00:00 GMT", &common), 0);
    assert_int_equal(common, leap);
}

/*  Not a date: -1 and *out untouched. */
static void test_time_bad(void **state)
{
    static const char *bad[] = {
        "", "   ", "garbage", "Mon,", "Mon, 2 Apr", "Mon, 2 Apr 2007",
        "Xyz, 2 Apr 2007 19:18:42 GMT", "Mon, 2 Foo 2007 19:18:42 GMT",
        "Mon, 0 Apr 2007 19:18:42 GMT", "Mon, 32 Apr 2007 19:18:42 GMT",
        "Mon, 2 Apr 2007 24:18:42 GMT", "Mon, 2 Apr 2007 19:60:42 GMT",
        "Mon, 2 Apr 2007 19:18:62 GMT", "Mon, 2 Apr 2007 19-18-42 GMT",
        "Mon 2 Apr 2007 19:18:42 GMT", "Mon, 123 Apr 2007 19:18:42 GMT",
        "Mon, 2 Apr 20071 19:18:42 GMT", "Mon, x Apr 2007 19:18:42 GMT",
        "Wed, 31 Dec 1969 23:59:59 GMT",    /* comes out as -1: timegm's error value */
        "2007-13-02", "2007/04/02", "April 2, 2007",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t t = 42;
        if (ax_time_parse(bad[i], &t) != -1)
            fail_msg("accepted \"%s\" as %lld", bad[i], (long long) t);
        assert_int_equal(t, 42);
    }
    int64_t t = 42;
    assert_int_equal(ax_time_parse(NULL, &t), -1);
    assert_int_equal(t, 42);
}

/*  Every prefix of a date, and random one- to three-byte edits of dates: ax_time_parse
 *  agrees with strptime (inputs that could read as a "%Y-%m-%d" date are left out). */
static void test_time_mutations(void **state)
{
    static const char alphabet[] = "0123456789 ,:-GMTADSJFMNOaceglnoprtuvy\t";
    const char *date = "Wed, 29 Feb 2012 07:08:09 GMT";
    char s[64];
    for (size_t n = 0; n <= strlen(date); n++) {
        snprintf(s, sizeof s, "%.*s", (int) n, date);
        s_check_time(s);
    }
    srand(777);
    for (int round = 0; round < 30000; round++) {
        snprintf(s, sizeof s, "%s, %d %s %04d %02d:%02d:%02d GMT",
                 (const char *[]) {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}[rand() % 7],
                 rand() % 40, (const char *[]) {"Jan", "Feb", "Jun", "Sep", "Dec"}[rand() % 5],
                 rand() % 10000, rand() % 26, rand() % 62, rand() % 63);
        for (int edits = rand() % 4; edits > 0; edits--) {
            size_t len = strlen(s), at = (size_t) rand() % (len + 1);
            char c = alphabet[rand() % (sizeof alphabet - 1)];
            switch (rand() % 3) {
            case 0:                                         /* replace */
                if (at < len)
                    s[at] = c;
                break;
            case 1:                                         /* insert */
                memmove(s + at + 1, s + at, len - at + 1);
                s[at] = c;
                break;
            default:                                        /* delete */
                if (at < len)
                    memmove(s + at, s + at + 1, len - at);
            }
        }
        const char *first = s + strspn(s, " \t\n\v\f\r");
        if (*first < '0' || *first > '9')
            s_check_time(s);
    }
}

/*  The one language rule (lang.h): "zh" alone or with a subtag, any case; "zhx" and
 *  "english" are other languages, not Chinese or English. */
static void test_lang(void **state)
{
    (void) state;
    const char *zh[] = {"zh", "ZH", "zh-CN", "zh_Hans", "zh-Hant-TW", "Zh-tw"};
    for (size_t i = 0; i < sizeof zh / sizeof *zh; i++)
        assert_int_equal(ax_lang_of(zh[i]), AX_LANG_ZH);
    const char *en[] = {NULL, "", "en", "EN", "en-GB", "en_US"};
    for (size_t i = 0; i < sizeof en / sizeof *en; i++)
        assert_int_equal(ax_lang_of(en[i]), AX_LANG_EN);
    const char *other[] = {"zhx", "zh2", "english", "e", "z", "pt-BR", "ja", "enx"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        assert_int_equal(ax_lang_of(other[i]), AX_LANG_OTHER);
    assert_true(ax_lang_traditional("zh-Hant"));
    assert_true(ax_lang_traditional("zh_TW"));
    assert_true(ax_lang_traditional("zh-HK"));
    assert_false(ax_lang_traditional("zh-Hans"));
    assert_false(ax_lang_traditional("zh"));
    assert_false(ax_lang_traditional("en-TW"));
    assert_false(ax_lang_traditional(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_space),
        cmocka_unit_test(test_lang),
        cmocka_unit_test(test_fold_cases),
        cmocka_unit_test(test_fold_alignment),
        cmocka_unit_test(test_fold_random),
        cmocka_unit_test(test_arxiv_id_split),
        cmocka_unit_test(test_time_known),
        cmocka_unit_test(test_time_calendar),
        cmocka_unit_test(test_time_bad),
        cmocka_unit_test(test_time_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
