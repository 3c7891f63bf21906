/* tern-client's output files (tools/client/output_file.c): temporary file
 * and rename, the destination untouched on failure, and the names derived
 * from URL paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "output_file.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tern-outfile-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[400];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    return rmdir(dir);
}

static size_t entries(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_content(const char *path, const char *text)
{
    char buf[64] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    assert_int_equal(n, strlen(text));
    assert_string_equal(buf, text);
}

static void test_commit_replaces(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/file", dir);
    put(p, "old");
    tc_out o;
    assert_int_equal(tc_out_open(&o, p), 0);
    assert_non_null(o.tmp);
    assert_non_null(strstr(o.tmp, "/.file."));
    assert_int_equal(tc_out_write(&o, "new content", 11), 0);
    expect_content(p, "old"); /* not touched before the commit */
    assert_int_equal(entries(), 2);
    assert_int_equal(tc_out_commit(&o), 0);
    assert_true(o.saved);
    expect_content(p, "new content");
    assert_int_equal(entries(), 1);
    tc_out_free(&o);
}

static void test_discard_keeps_old(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/keep", dir);
    put(p, "precious");
    tc_out o;
    assert_int_equal(tc_out_open(&o, p), 0);
    assert_int_equal(tc_out_write(&o, "x", 1), 0);
    tc_out_discard(&o);
    tc_out_discard(&o);
    expect_content(p, "precious");
    assert_int_equal(entries(), 1);
    tc_out_free(&o);
}

static void test_rename_failure_cleans_up(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/adir", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    tc_out o;
    assert_int_equal(tc_out_open(&o, p), 0);
    assert_int_equal(tc_out_write(&o, "x", 1), 0);
    assert_true(tc_out_commit(&o) < 0); /* rename onto a directory */
    assert_false(o.saved);
    assert_null(o.tmp);
    assert_int_equal(entries(), 1);
    tc_out_free(&o);
    rmdir(p);
}

static void test_open_missing_dir(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/nope/file", dir);
    tc_out o;
    assert_int_equal(tc_out_open(&o, p), -ENOENT);
    assert_int_equal(entries(), 0);
}

static void name_ok(const char *path, const char *want)
{
    char name[300];
    const char *why = NULL;
    assert_int_equal(tc_out_name(path, name, sizeof name, &why), 0);
    assert_string_equal(name, want);
}

static void name_refused(const char *path)
{
    char name[300];
    const char *why = NULL;
    assert_int_equal(tc_out_name(path, name, sizeof name, &why), -1);
    assert_non_null(why);
}

static void test_names(void **state)
{
    (void)state;
    name_ok("/f1m.bin", "f1m.bin");
    name_ok("/sub/f1m.bin", "f1m.bin");
    name_ok("/a/b%20c?x=1/2", "b c");
    name_ok("/dir/", "index.html");
    name_ok("/", "index.html");
    name_ok("/?q", "index.html");
    name_ok("/%41%62", "Ab");
    name_ok("/.hidden", ".hidden");
    name_refused("/a%2fb");
    name_refused("/a%2Fb");
    name_refused("/a%00b");
    name_refused("/%2e%2e");
    name_refused("/%2E");
    name_refused("/x/..");
    name_refused("/x/.");
    name_refused("/a%zz");
    name_refused("/a%4");
    name_refused("/a%0a");
    char longp[300];
    longp[0] = '/';
    memset(longp + 1, 'a', 256);
    longp[257] = 0;
    name_refused(longp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard_keeps_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_failure_cleans_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_dir, setup, teardown),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
