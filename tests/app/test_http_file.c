/* Request-target sanitising, content types, the /bytes/N pattern, and the
 * status of a file that cannot be opened. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "http_file.h"

static int sanitize(const char *target, char *out)
{
    return tern_http_sanitize_path(target, strlen(target), out, TERN_HTTP_PATH_MAX);
}

static void test_sanitize_accepts(void **state)
{
    (void)state;
    char out[TERN_HTTP_PATH_MAX];
    assert_int_equal(sanitize("/", out), 0);
    assert_string_equal(out, "");
    assert_int_equal(sanitize("/a/b.txt", out), 0);
    assert_string_equal(out, "a/b.txt");
    assert_int_equal(sanitize("//a/./b/", out), 0);
    assert_string_equal(out, "a/b");
    assert_int_equal(sanitize("/hello%20world.txt?x=1#frag", out), 0);
    assert_string_equal(out, "hello world.txt");
    assert_int_equal(sanitize("/..hidden/...", out), 0); /* not "..": ordinary names */
    assert_string_equal(out, "..hidden/...");
    assert_int_equal(sanitize("/?q=/../x", out), 0); /* the query is not part of the path */
    assert_string_equal(out, "");
}

static void test_sanitize_rejects(void **state)
{
    (void)state;
    char out[TERN_HTTP_PATH_MAX];
    static const char *const bad[] = {
        "",          "a/b",        "*",           "http://x/",  "/..",         "/a/../..",
        "/%2e%2e/x", "/%2E%2e",    "/a%2fb",      "/a%00",      "/%",          "/%4",
        "/%zz",      "/a\x01",     "/a%5cb",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sanitize(bad[i], out), 400);
    char longpath[TERN_HTTP_PATH_MAX + 10];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(sanitize(longpath, out), 400);
}

static void test_content_type(void **state)
{
    (void)state;
    assert_string_equal(tern_http_content_type("x/index.HTML"), "text/html; charset=utf-8");
    assert_string_equal(tern_http_content_type("a.png"), "image/png");
    assert_string_equal(tern_http_content_type("style.css"), "text/css; charset=utf-8");
    assert_string_equal(tern_http_content_type("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(tern_http_content_type("a.txt"), "text/plain; charset=utf-8");
    assert_string_equal(tern_http_content_type("d.json"), "application/json");
    assert_string_equal(tern_http_content_type("i.svg"), "image/svg+xml");
    assert_string_equal(tern_http_content_type("p.JPG"), "image/jpeg");
    assert_string_equal(tern_http_content_type("m.wasm"), "application/wasm");
    assert_string_equal(tern_http_content_type("favicon.ico"), "image/x-icon");
    assert_string_equal(tern_http_content_type("big.bin"), "application/octet-stream");
    assert_string_equal(tern_http_content_type("a.tar.gz"), "application/gzip");
    assert_string_equal(tern_http_content_type("dir.d/noext"), "application/octet-stream");
    assert_string_equal(tern_http_content_type("a.unknown"), "application/octet-stream");
}

static void test_bytes_resource_open(void **state)
{
    (void)state;
    tern_http_resource res;
    assert_int_equal(tern_http_resource_open("/nonexistent", "/bytes/1000", 11, &res), 200);
    assert_int_equal(res.size, 1000);
    uint8_t a[600], b[600];
    assert_int_equal(tern_http_resource_read(&res, a, sizeof a), 600);
    assert_int_equal(tern_http_resource_read(&res, a + 0, 0), 0);
    assert_int_equal(tern_http_resource_read(&res, b, sizeof b), 400);
    assert_int_equal(tern_http_resource_read(&res, b, sizeof b), 0);
    /* The pattern is position-dependent, not chunk-dependent. */
    uint8_t whole[1000];
    tern_http_pattern_fill(0, whole, sizeof whole);
    assert_memory_equal(whole, a, 600);
    assert_memory_equal(whole + 600, b, 400);
    assert_int_equal(whole[250], 250);
    assert_int_equal(whole[251], 0);
    tern_http_resource_close(&res);
    assert_int_equal(tern_http_resource_open("/x", "/bytes/", 7, &res), 404);
    assert_int_equal(tern_http_resource_open("/x", "/bytes/99999999999999999999", 27, &res), 404);
    assert_int_equal(tern_http_resource_open("/x", "/bytes/1099511627777", 20, &res), 404);
}

static void test_file_resource_open(void **state)
{
    (void)state;
    char *root = make_temp_root();
    write_file(root, "f.json", (const uint8_t *)"{}", 2);
    tern_http_resource res;
    assert_int_equal(tern_http_resource_open(root, "/f.json", 7, &res), 200);
    assert_int_equal(res.size, 2);
    assert_string_equal(res.content_type, "application/json");
    uint8_t buf[8];
    assert_int_equal(tern_http_resource_read(&res, buf, sizeof buf), 2);
    assert_memory_equal(buf, "{}", 2);
    tern_http_resource_close(&res);
    /* A directory without index.html is not servable. */
    assert_int_equal(tern_http_resource_open(root, "/", 1, &res), 404);
    assert_int_equal(tern_http_resource_open(root, "/nope", 5, &res), 404);
    remove_temp_root(root);
}

static int open_status(const char *root, const char *target, tern_http_resource *res)
{
    int status = tern_http_resource_open(root, target, strlen(target), res);
    if (status == 200)
        tern_http_resource_close(res);
    return status;
}

static void test_status_for_errno(void **state)
{
    (void)state;
    static const struct {
        int err, status;
    } rows[] = {
        {ENOENT, 404}, {ENOTDIR, 404}, {ENAMETOOLONG, 404}, {EACCES, 403}, {EPERM, 403},
        {EMFILE, 503}, {ENFILE, 503},  {ENOMEM, 503},       {EIO, 500},    {ELOOP, 500},
        {EOVERFLOW, 500},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(tern_http_status_for_errno(rows[i].err), rows[i].status);
}

/* Absent files by several routes: 404 with the errno kept for the log. */
static void test_file_absent(void **state)
{
    (void)state;
    char *root = make_temp_root();
    write_file(root, "f.txt", (const uint8_t *)"x", 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/dangling", root);
    assert_int_equal(symlink("/nonexistent/tern-test-target", path), 0);
    tern_http_resource res;
    assert_int_equal(open_status(root, "/nope", &res), 404);
    assert_int_equal(res.error, ENOENT);
    assert_int_equal(open_status(root, "/f.txt/x", &res), 404);
    assert_int_equal(res.error, ENOTDIR);
    assert_int_equal(open_status(root, "/dangling", &res), 404);
    assert_int_equal(res.error, ENOENT);
    assert_int_equal(open_status(root, "/f.txt", &res), 200);
    assert_int_equal(res.error, 0);
    remove_temp_root(root);
}

/* A FIFO is not a regular file: 404 at once. Without O_NONBLOCK the open
 * would wait for a writer and stall the whole server (this test with it). */
static void test_fifo_does_not_block(void **state)
{
    (void)state;
    char *root = make_temp_root();
    char path[4200];
    snprintf(path, sizeof path, "%s/fifo", root);
    assert_int_equal(mkfifo(path, 0644), 0);
    tern_http_resource res;
    assert_int_equal(open_status(root, "/fifo", &res), 404);
    assert_int_equal(res.error, 0);
    remove_temp_root(root);
}

/* Mode 000: 403 (EACCES). Root reads any file (CAP_DAC_OVERRIDE), so as
 * root the open runs in a child that has become nobody (uid/gid 65534). */
static void test_file_forbidden(void **state)
{
    (void)state;
    char *root = make_temp_root();
    assert_int_equal(chmod(root, 0755), 0); /* nobody must reach the file */
    write_file(root, "secret.txt", (const uint8_t *)"x", 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/secret.txt", root);
    assert_int_equal(chmod(path, 0), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        tern_http_resource res;
        int status = open_status(root, "/secret.txt", &res);
        _exit(status == 403 && res.error == EACCES ? 0 : status == 200 ? 11 : 12);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    remove_temp_root(root);
}

/* Out of descriptors: 503 (EMFILE), and 200 again once one is free. The
 * soft RLIMIT_NOFILE is lowered to the lowest free descriptor, so the
 * next open() fails; it is restored before asserting. */
static void test_file_emfile(void **state)
{
    (void)state;
    char *root = make_temp_root();
    write_file(root, "f.txt", (const uint8_t *)"x", 1);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit low = {.rlim_cur = (rlim_t)lowest, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    tern_http_resource res;
    int status = open_status(root, "/f.txt", &res);
    int err = res.error;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(status, 503);
    assert_int_equal(err, EMFILE);
    assert_int_equal(open_status(root, "/f.txt", &res), 200);
    remove_temp_root(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize_accepts),  cmocka_unit_test(test_sanitize_rejects),
        cmocka_unit_test(test_content_type),      cmocka_unit_test(test_bytes_resource_open),
        cmocka_unit_test(test_file_resource_open), cmocka_unit_test(test_status_for_errno),
        cmocka_unit_test(test_file_absent),        cmocka_unit_test(test_fifo_does_not_block),
        cmocka_unit_test(test_file_forbidden),     cmocka_unit_test(test_file_emfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
