/* Milestone 3: closing (RFC 9000 §10): application close, closing and
 * draining states, idle timeout, and peer violations closing with the
 * RFC's error code on both sides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

static h_pair *established(uint64_t seed, const tern_config *ccfg, const tern_config *scfg)
{
    h_pair *p = h_pair_new(seed, TERN_MS(5), 0, 0.0, ccfg, scfg);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    return p;
}

static void test_app_close(void **state)
{
    (void)state;
    h_pair *p = established(1, NULL, NULL);
    tern_conn *c = p->client.conn;
    tern_conn_close(c, 42, "bye", sim_now(p->s));
    assert_int_equal(c->state, TERN_CONN_CLOSING);
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    /* The server got CONNECTION_CLOSE: draining (§10.2.2). */
    assert_int_equal(p->server.conn->state, TERN_CONN_DRAINING);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(5));
    assert_true(p->client.closed && p->server.closed);
    assert_int_equal(p->client.close_code, 42);
    assert_true(p->client.close_app);
    assert_false(p->client.closed_by_peer);
    assert_int_equal(p->server.close_code, 42);
    assert_true(p->server.close_app);
    assert_true(p->server.closed_by_peer);
    assert_string_equal(p->server.close_reason, "bye");
    assert_int_equal(tern_endpoint_connection_count(p->client.node->ep), 0);
    assert_int_equal(tern_endpoint_connection_count(p->server.node->ep), 0);
    h_pair_free(p);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    cc.max_idle_timeout_ms = 2000;
    sc.max_idle_timeout_ms = 1000; /* the smaller one wins (§10.1) */
    h_pair *p = established(2, &cc, &sc);
    tern_time t0 = sim_now(p->s);
    sim_run_until(p->s, t0 + TERN_MS(900));
    assert_false(p->client.closed || p->server.closed);
    sim_run_until(p->s, t0 + TERN_SEC(3));
    assert_true(p->client.closed && p->server.closed);
    assert_int_equal(p->client.close_code, 0);
    assert_string_equal(p->client.close_reason, "idle timeout");
    h_pair_free(p);
}

static void expect_violation(h_pair *p, uint64_t code)
{
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(5));
    assert_true(p->server.closed);
    assert_true(p->client.closed);
    /* The server detected it ... */
    assert_int_equal(p->server.close_code, code);
    assert_false(p->server.close_app);
    assert_false(p->server.closed_by_peer);
    /* ... and the client learned the code from CONNECTION_CLOSE. */
    assert_int_equal(p->client.close_code, code);
    assert_false(p->client.close_app);
    assert_true(p->client.closed_by_peer);
}

static void inject(h_pair *p, int space, const uint8_t *bytes, size_t len)
{
    tern_conn *c = p->client.conn;
    memcpy(c->test_inject, bytes, len);
    c->test_inject_len = len;
    c->test_inject_space = space;
    c->spaces[space].ping_pending = true; /* make it send a packet now */
    h_kick(p->client.node);
}

/* §12.4: a STREAM frame in an Initial packet. */
static void test_frame_not_allowed(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(3, TERN_MS(5), 0, 0.0, NULL, NULL);
    tern_conn *c = NULL;
    assert_int_equal(tern_endpoint_connect(p->client.node->ep, &p->caddr, &p->saddr, "localhost", NULL, 0, 0, &c), 0);
    p->client.conn = c;
    static const uint8_t stream_frame[] = {0x0a, 0x00, 0x01, 'x'};
    inject(p, TERN_RECOVERY_SPACE_INITIAL, stream_frame, sizeof stream_frame);
    expect_violation(p, TERN_PROTOCOL_VIOLATION);
    h_pair_free(p);
}

/* §19.8: STREAM on the server's own unidirectional (send-only) stream. */
static void test_stream_on_send_only_stream(void **state)
{
    (void)state;
    h_pair *p = established(4, NULL, NULL);
    static const uint8_t frame[] = {0x0a, 0x03, 0x01, 'x'};
    inject(p, TERN_RECOVERY_SPACE_APPLICATION, frame, sizeof frame);
    expect_violation(p, TERN_STREAM_STATE_ERROR);
    h_pair_free(p);
}

/* §4.1: data beyond the stream's flow-control limit. */
static void test_flow_control_overflow(void **state)
{
    (void)state;
    h_pair *p = established(5, NULL, NULL);
    /* STREAM|OFF|LEN, stream 0, offset 0x100000 (1 MiB > 256 KiB window). */
    static const uint8_t frame[] = {0x0e, 0x00, 0x80, 0x10, 0x00, 0x00, 0x01, 'x'};
    inject(p, TERN_RECOVERY_SPACE_APPLICATION, frame, sizeof frame);
    expect_violation(p, TERN_FLOW_CONTROL_ERROR);
    h_pair_free(p);
}

/* §19.20: HANDSHAKE_DONE sent by a client. */
static void test_handshake_done_from_client(void **state)
{
    (void)state;
    h_pair *p = established(6, NULL, NULL);
    static const uint8_t frame[] = {0x1e};
    inject(p, TERN_RECOVERY_SPACE_APPLICATION, frame, sizeof frame);
    expect_violation(p, TERN_PROTOCOL_VIOLATION);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_close),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_frame_not_allowed),
        cmocka_unit_test(test_stream_on_send_only_stream),
        cmocka_unit_test(test_flow_control_overflow),
        cmocka_unit_test(test_handshake_done_from_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
