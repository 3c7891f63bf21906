/* Request-target sanitising, content types and the /bytes/N pattern. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize_accepts),  cmocka_unit_test(test_sanitize_rejects),
        cmocka_unit_test(test_content_type),      cmocka_unit_test(test_bytes_resource_open),
        cmocka_unit_test(test_file_resource_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
