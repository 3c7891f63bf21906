/* Key update rules (RFC 9001 §6) over the simulator: a server-initiated
 * update answered by the client during a transfer, the local refusals of
 * §6.1/§6.5, and a peer that updates twice without waiting (§6.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "path_util.h" /* px: a client-to-server upload checked by sha256 */

static void server_update(sim *s, void *ctx, tern_time now)
{
    (void)s;
    h_pair *p = ctx;
    assert_int_equal(tern_conn_update_keys(p->server.conn, now), TERN_OK);
    h_kick(p->server.node);
}

/* The server initiates; the client answers; the transfer is intact. */
static void test_server_initiated_update(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(11, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, 1u << 20);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    px_start(p, x);
    h_kick(p->client.node);
    sim_at(p->s, sim_now(p->s) + TERN_MS(30), server_update, p);
    px_finish(p, x, TERN_SEC(30));
    tern_conn_stats cs, ss;
    tern_conn_get_stats(p->client.conn, &cs);
    tern_conn_get_stats(p->server.conn, &ss);
    assert_int_equal(ss.key_updates, 1);
    assert_int_equal(cs.key_updates, 1);
    assert_true(p->client.conn->key_phase && p->server.conn->key_phase);
    assert_true(p->client.conn->rx_key_phase && p->server.conn->rx_key_phase);
    assert_false(p->client.closed || p->server.closed);
    px_free(x);
    h_pair_free(p);
}

/* §6.1: not before the handshake is confirmed; §6.5: not before a packet
 * of the current phase is acknowledged. */
static void test_update_refused_locally(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(12, TERN_MS(5), 0, 0.0, NULL, NULL);
    tern_conn *c = h_pair_connect(p);
    assert_int_equal(tern_conn_update_keys(c, sim_now(p->s)), TERN_ERR_INVALID_STATE);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    assert_int_equal(tern_conn_update_keys(c, sim_now(p->s)), TERN_OK);
    /* Nothing of the new phase is acknowledged yet. */
    assert_int_equal(tern_conn_update_keys(c, sim_now(p->s)), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_conn_update_keys(p->server.conn, sim_now(p->s)), TERN_OK);
    h_kick(p->server.node);
    /* An ack-eliciting exchange in the new phase gets it acknowledged. */
    uint64_t id;
    assert_int_equal(tern_conn_stream_open(c, true, &id), TERN_OK);
    tern_conn_stream_write(c, id, (const uint8_t *)"ping", 4, true, NULL);
    h_kick(p->client.node);
    /* Old read keys go after 3 PTO (§6.5); only then a new update. */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_true(c->key_update_acked);
    assert_int_equal(tern_conn_update_keys(c, sim_now(p->s)), TERN_OK);
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    assert_false(p->client.closed || p->server.closed);
    tern_conn_stats cs;
    tern_conn_get_stats(c, &cs);
    assert_int_equal(cs.key_updates, 2);
    h_pair_free(p);
}

/* §6.2: the server updates twice in a row, the second before the client
 * could acknowledge the first: the client closes with KEY_UPDATE_ERROR. */
static void test_peer_updates_twice(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(13, TERN_MS(5), 0, 0.0, NULL, NULL);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    tern_conn *s = p->server.conn;
    uint64_t id;
    assert_int_equal(tern_conn_stream_open(s, true, &id), TERN_OK);
    assert_int_equal(tern_conn_update_keys(s, sim_now(p->s)), TERN_OK);
    tern_conn_stream_write(s, id, (const uint8_t *)"one", 3, false, NULL);
    h_kick(p->server.node);
    /* Misbehave: pretend the new phase was acknowledged and update again. */
    s->key_update_acked = true;
    assert_int_equal(tern_conn_update_keys(s, sim_now(p->s)), TERN_OK);
    tern_conn_stream_write(s, id, (const uint8_t *)"two", 3, true, NULL);
    h_kick(p->server.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    assert_true(p->client.closed);
    assert_int_equal(p->client.close_code, TERN_KEY_UPDATE_ERROR);
    assert_false(p->client.closed_by_peer);
    assert_true(p->server.closed);
    assert_int_equal(p->server.close_code, TERN_KEY_UPDATE_ERROR);
    assert_true(p->server.closed_by_peer);
    h_pair_free(p);
}

/* The event-driven start: a key update asked for at HANDSHAKE_DONE is
 * refused on the client (not confirmed yet), and accepted at the
 * HANDSHAKE_CONFIRMED event that follows; the server sees DONE, then
 * CONFIRMED. Each side gets CONFIRMED once. */
typedef struct {
    tern_err at_done[2], at_confirmed[2];
    bool confirmed_before_done[2];
} confirm_probe;

static void confirm_event(h_pair *p, bool is_client, const tern_event *ev)
{
    confirm_probe *cp = p->user;
    h_side *side = is_client ? &p->client : &p->server;
    if (ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        if (side->events[TERN_EVENT_HANDSHAKE_CONFIRMED]) cp->confirmed_before_done[is_client] = true;
        if (is_client) cp->at_done[1] = tern_conn_update_keys(ev->conn, sim_now(p->s));
    }
    if (ev->type == TERN_EVENT_HANDSHAKE_CONFIRMED)
        cp->at_confirmed[is_client] = is_client ? tern_conn_update_keys(ev->conn, sim_now(p->s)) : TERN_OK;
}

static void test_update_at_confirmation_event(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(13, TERN_MS(5), 0, 0.0, NULL, NULL);
    confirm_probe cp = {.at_done = {-1, -1}, .at_confirmed = {-1, -1}};
    p->user = &cp;
    p->on_event = confirm_event;
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    assert_int_equal(cp.at_done[1], TERN_ERR_INVALID_STATE);
    assert_int_equal(cp.at_confirmed[1], TERN_OK);
    assert_int_equal(cp.at_confirmed[0], TERN_OK);
    assert_false(cp.confirmed_before_done[0] || cp.confirmed_before_done[1]);
    assert_int_equal(p->client.events[TERN_EVENT_HANDSHAKE_CONFIRMED], 1);
    assert_int_equal(p->server.events[TERN_EVENT_HANDSHAKE_CONFIRMED], 1);
    assert_false(p->client.closed || p->server.closed);
    tern_conn_stats cs;
    tern_conn_get_stats(p->client.conn, &cs);
    assert_int_equal(cs.key_updates, 1);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_initiated_update),
        cmocka_unit_test(test_update_refused_locally),
        cmocka_unit_test(test_peer_updates_twice),
        cmocka_unit_test(test_update_at_confirmation_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
