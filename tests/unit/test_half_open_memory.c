/* What a half-open server connection costs (issue 9, docs/performance.md
 * "Half-open server connections"): real client Initials, each from its own
 * address, fed to a server endpoint in memory, its first flight taken; the
 * server's heap in use after minus before, per connection. Then the
 * handshake timeout frees them all and the heap comes back. Also the
 * admission rate for unvalidated clients (max_handshake_rate).
 *
 * Heap in use: mallinfo2().uordblks, or under AddressSanitizer (which
 * replaces malloc) __sanitizer_get_current_allocated_bytes. Only the
 * server's work is inside the measured windows: the client endpoint builds
 * its Initial outside them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "tern/tern.h"
#include "tls.h" /* tern_tls_cert_generate */

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_ASAN 1
#endif
#endif

#ifdef HEAP_ASAN
#include <sanitizer/allocator_interface.h>
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
#include <malloc.h>
static size_t heap_in_use(void) { return mallinfo2().uordblks; }
#endif

/* Measured 42.7 KB (gcc RelWithDebInfo, GnuTLS 3.7.9, OpenSSL 3.0): ~17 KB
 * GnuTLS session, ~7 KB OpenSSL AEAD/HP contexts (Initial both ways,
 * Handshake write), ~11 KB struct tern_conn, ~6 KB buffers and rings. It
 * was 131.6 KB before (a priority cache parsed per session, 16 KB CRYPTO
 * chunks, eager rings and contexts). */
#define HALF_OPEN_MAX_BYTES (48u * 1024u)
/* The connection object itself (the rest is allocated lazily). */
#define CONN_STRUCT_MAX_BYTES (12u * 1024u)

#define N_CONNS 300

static tern_addr addr_v4(uint32_t ip, uint16_t port)
{
    tern_addr a;
    memset(&a, 0, sizeof a);
    a.family = TERN_AF_INET;
    a.port = port;
    a.ip[0] = (uint8_t)(ip >> 24), a.ip[1] = (uint8_t)(ip >> 16), a.ip[2] = (uint8_t)(ip >> 8);
    a.ip[3] = (uint8_t)ip;
    return a;
}

static uint8_t cbuf[16 * 1500], sbuf[16 * 1500];
static tern_datagram cdgs[16], sdgs[16];

static void drain(tern_endpoint *ep)
{
    tern_event ev;
    while (tern_endpoint_poll_event(ep, &ev)) {}
}

static void test_half_open_bytes_bounded(void **state)
{
    (void)state;
    assert_true(sizeof(tern_conn) <= CONN_STRUCT_MAX_BYTES);

    char *cert, *key;
    size_t cl, kl;
    const char *hosts[] = {"localhost"};
    assert_int_equal(tern_tls_cert_generate(hosts, 1, 1, &cert, &cl, &key, &kl), TERN_OK);
    tern_config scfg, ccfg;
    tern_config_init(&scfg, TERN_ROLE_SERVER);
    scfg.cert_pem = cert;
    scfg.key_pem = key;
    scfg.max_handshakes = 0; /* state, not Retry */
    scfg.max_connections = 0;
    scfg.handshake_timeout_ms = 2000;
    tern_config_init(&ccfg, TERN_ROLE_CLIENT);
    ccfg.insecure_skip_verify = true;
    tern_endpoint *server, *client;
    char err[128];
    assert_int_equal(tern_endpoint_new(&scfg, 0, &server, err, sizeof err), TERN_OK);
    assert_int_equal(tern_endpoint_new(&ccfg, 0, &client, err, sizeof err), TERN_OK);
    const tern_addr saddr = addr_v4(0x7f000001, 4433);
    const tern_time t0 = TERN_SEC(1);

    size_t server_bytes = 0, received = 0, heap_before = 0;
    for (size_t i = 0; i <= N_CONNS; i++) {
        tern_addr local = addr_v4(0x0a000001, (uint16_t)(2000 + i));
        tern_conn *c;
        assert_int_equal(tern_endpoint_connect(client, &local, &saddr, "localhost", NULL, 0, t0, &c), TERN_OK);
        size_t nd = tern_endpoint_send(client, t0, cbuf, sizeof cbuf, cdgs, 16, false);
        assert_true(nd >= 1);
        /* Connection 0 pays one-time costs (tables, caches): not counted. */
        if (i == 1) heap_before = heap_in_use();
        size_t h0 = heap_in_use();
        for (size_t d = 0; d < nd; d++) {
            if (i > 0) received += cdgs[d].len;
            tern_endpoint_recv(server, &saddr, &cdgs[d].local, 0, (uint8_t *)cdgs[d].data, cdgs[d].len, t0);
        }
        size_t sent = 0;
        while ((nd = tern_endpoint_send(server, t0, sbuf, sizeof sbuf, sdgs, 16, false)) > 0) sent += nd;
        assert_true(sent >= 1); /* the server answered: it holds state */
        drain(server);
        if (i > 0) server_bytes += heap_in_use() - h0;
    }
    tern_endpoint_stats st;
    tern_endpoint_get_stats(server, &st);
    assert_int_equal(st.connections, N_CONNS + 1);
    assert_int_equal(st.handshakes, N_CONNS + 1);

    size_t per_conn = server_bytes / N_CONNS;
    printf("half-open server connection: %zu bytes (%zu received each)\n", per_conn, received / N_CONNS);
    assert_true(per_conn <= HALF_OPEN_MAX_BYTES);

    /* The handshake timeout frees them; what they held goes back (the
     * client endpoint, which grew meanwhile, is freed first). */
    tern_endpoint_free(client);
    tern_time t = t0 + TERN_MS(scfg.handshake_timeout_ms) + TERN_MS(1);
    tern_endpoint_on_timer(server, t);
    while (tern_endpoint_send(server, t, sbuf, sizeof sbuf, sdgs, 16, false)) {}
    drain(server);
    tern_endpoint_get_stats(server, &st);
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.handshakes, 0);
    size_t heap_after = heap_in_use();
    size_t left = heap_after > heap_before ? heap_after - heap_before : 0;
    printf("after the handshake timeout: %zu bytes left of %zu\n", left, server_bytes);
    assert_true(left < server_bytes / 10);

    tern_endpoint_free(server);
    free(cert);
    free(key);
}

/* max_handshake_rate: of 60 Initials at once, 10 (the burst) get state,
 * the others a Retry each (their own budget, not the 64/s of other
 * stateless answers); a second later the bucket has refilled. */
static void test_handshake_rate(void **state)
{
    (void)state;
    char *cert, *key;
    size_t cl, kl;
    const char *hosts[] = {"localhost"};
    assert_int_equal(tern_tls_cert_generate(hosts, 1, 1, &cert, &cl, &key, &kl), TERN_OK);
    tern_config scfg, ccfg;
    tern_config_init(&scfg, TERN_ROLE_SERVER);
    scfg.cert_pem = cert;
    scfg.key_pem = key;
    scfg.max_handshake_rate = 10;
    tern_config_init(&ccfg, TERN_ROLE_CLIENT);
    ccfg.insecure_skip_verify = true;
    tern_endpoint *server, *client;
    char err[128];
    assert_int_equal(tern_endpoint_new(&scfg, 0, &server, err, sizeof err), TERN_OK);
    assert_int_equal(tern_endpoint_new(&ccfg, 0, &client, err, sizeof err), TERN_OK);
    const tern_addr saddr = addr_v4(0x7f000001, 4433);
    size_t retries = 0;
    for (int round = 0; round < 2; round++) {
        const tern_time t = TERN_SEC(1) + TERN_SEC(round) + TERN_MS(1);
        for (size_t i = 0; i < 60; i++) {
            tern_addr local = addr_v4(0x0a000002, (uint16_t)(3000 + 100 * round + i));
            tern_conn *c;
            assert_int_equal(tern_endpoint_connect(client, &local, &saddr, "localhost", NULL, 0, t, &c), TERN_OK);
            size_t nd = tern_endpoint_send(client, t, cbuf, sizeof cbuf, cdgs, 16, false);
            for (size_t d = 0; d < nd; d++)
                tern_endpoint_recv(server, &saddr, &cdgs[d].local, 0, (uint8_t *)cdgs[d].data, cdgs[d].len, t);
            while ((nd = tern_endpoint_send(server, t, sbuf, sizeof sbuf, sdgs, 16, false)) > 0)
                for (size_t d = 0; d < nd; d++)
                    if ((((const uint8_t *)sdgs[d].data)[0] & 0xf0) == 0xf0) retries++; /* v1 Retry */
            drain(server);
        }
        tern_endpoint_stats st;
        tern_endpoint_get_stats(server, &st);
        assert_int_equal(st.handshakes, 10 * (size_t)(round + 1));
        assert_int_equal(retries, 50 * (size_t)(round + 1));
        assert_int_equal(st.retries_pressure, 50 * (uint64_t)(round + 1));
    }
    tern_endpoint_free(client);
    tern_endpoint_free(server);
    free(cert);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_open_bytes_bounded),
        cmocka_unit_test(test_handshake_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
