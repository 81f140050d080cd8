/*  test_helpers.h: what several unit tests need, written once: reading a file, comparing
 *  with a golden file, building test data, counting in text, a temporary directory.
 *
 *  Include after <cmocka.h> (the helpers assert with it). Every function is static (one
 *  copy per test binary) and marked unused, so a test includes the whole header and uses
 *  what it needs.
 */
#ifndef AX_TEST_HELPERS_H
#define AX_TEST_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paper.h"

#ifndef AX_SOURCE_DIR
#define AX_SOURCE_DIR "."
#endif

#define AX_TEST_UNUSED __attribute__((unused))

/*  Fails the test with both texts unless needle is in hay. */
#define assert_contains(hay, needle)                                                       \
    do {                                                                                   \
        const char *h_ = (hay);                                                            \
        if (!h_ || !strstr(h_, (needle)))                                                  \
            fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", (needle));     \
    } while (0)

/*  The whole file, NUL-terminated (caller frees), its length in *len (len may be NULL);
 *  NULL when it cannot be read. */
static AX_TEST_UNUSED char *ax_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL, chunk[65536];
    size_t size = 0, got;
    FILE *mem = open_memstream(&buf, &size);
    assert_non_null(mem);
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(fwrite(chunk, 1, got, mem), got);
    int bad = ferror(f);
    fclose(f);
    assert_int_equal(fclose(mem), 0);
    if (bad) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = size;
    return buf;
}

/*  strdup that keeps NULL and asserts on OOM. */
static AX_TEST_UNUSED char *ax_test_dup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/*  A copy of n strings (NULL when n is 0), as the model's string vectors are. */
static AX_TEST_UNUSED char **ax_test_strv(const char *const *v, size_t n)
{
    char **out = ax_strv_dup((char *const *) v, n);
    if (n > 0)
        assert_non_null(out);
    return out;
}

/*  1 when actual equals the golden file tests/data/golden/<name>. Otherwise prints the
 *  first differing line of each, saves actual as /tmp/<name>.actual, says how to diff
 *  them, and returns 0. */
static AX_TEST_UNUSED int ax_test_matches_golden(const char *actual, const char *name)
{
    char path[1024], out_path[1024];
    snprintf(path, sizeof path, "%s/tests/data/golden/%s", AX_SOURCE_DIR, name);
    snprintf(out_path, sizeof out_path, "/tmp/%s.actual", name);
    char *golden = ax_test_read_file(path, NULL);
    if (!golden)
        print_error("cannot read golden file %s\n", path);
    int same = golden && strcmp(golden, actual) == 0;
    if (!same) {
        const char *start = golden ? golden : "", *g = start, *a = actual;
        int line = 1;
        while (*g && *g == *a) {
            if (*g == '\n')
                line++;
            g++, a++;
        }
        while (g > start && g[-1] != '\n')
            g--, a--;
        const char *gshow = *g ? g : "(end of file)", *ashow = *a ? a : "(end of file)";
        int glen = (int) strcspn(gshow, "\n"), alen = (int) strcspn(ashow, "\n");
        FILE *f = fopen(out_path, "w");
        if (f) {
            fputs(actual, f);
            fclose(f);
        }
        print_error("%s differs from the output at line %d:\n  golden: |%.*s|\n"
                    "  actual: |%.*s|\n  see: diff -u %s %s\n",
                    name, line, glen, gshow, alen, ashow, path, out_path);
    }
    free(golden);
    return same;
}

/*  Occurrences of needle in s (overlapping ones included). */
static AX_TEST_UNUSED int ax_test_count_substr(const char *s, const char *needle)
{
    int count = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        count++;
    return count;
}

/*  Occurrences of needle not preceded by a backslash. */
static AX_TEST_UNUSED int ax_test_count_unescaped(const char *s, const char *needle)
{
    int count = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        if (p == s || p[-1] != '\\')
            count++;
    return count;
}

static AX_TEST_UNUSED int ax_test_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*  A new empty directory /tmp/<prefix>XXXXXX (caller frees the path). */
static AX_TEST_UNUSED char *ax_test_tmpdir(const char *prefix)
{
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/%sXXXXXX", prefix);
    assert_non_null(mkdtemp(tmpl));
    return ax_test_dup(tmpl);
}

static AX_TEST_UNUSED int ax_test_rm_one_(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove(path);
}

/*  Removes dir and everything in it; 0 / -1. */
static AX_TEST_UNUSED int ax_test_rmtree(const char *dir)
{
    return dir ? nftw(dir, ax_test_rm_one_, 16, FTW_DEPTH | FTW_PHYS) : 0;
}

/*  "<dir>/<name>" (static buffer: use it before the next call). */
static AX_TEST_UNUSED const char *ax_test_path(const char *dir, const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

#endif
