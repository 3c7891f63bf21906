/* Session resumption without 0-RTT (RFC 9001 §4.5): the ticket of a first
 * connection (TERN_EVENT_SESSION_TICKET) resumes the second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

typedef struct ticket {
    uint8_t data[8192];
    size_t len;
} ticket;

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    ticket *t = p->user;
    if (is_client && ev->type == TERN_EVENT_SESSION_TICKET && ev->len <= sizeof t->data) {
        memcpy(t->data, ev->data, ev->len);
        t->len = ev->len;
    }
}

static void test_resumption_without_0rtt(void **state)
{
    (void)state;
    ticket t = {.len = 0};
    h_pair *p = h_pair_new(1, TERN_MS(5), 0, 0.0, NULL, NULL);
    p->user = &t;
    p->on_event = on_event;
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    assert_true(t.len > 0);
    assert_false(tern_conn_is_resumed(p->client.conn));
    tern_conn_close(p->client.conn, 0, "done", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(p->client.closed && p->server.closed);

    p->client.handshake_done = p->server.handshake_done = false;
    tern_conn *c = NULL;
    assert_int_equal(tern_endpoint_connect(p->client.node->ep, &p->caddr, &p->saddr, "localhost", t.data, t.len,
                                           sim_now(p->s), &c),
                     TERN_OK);
    p->client.conn = c;
    h_kick(p->client.node);
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_true(tern_conn_is_resumed(c));
    assert_true(tern_conn_is_resumed(p->server.conn));
    assert_false(tern_conn_early_data_accepted(c));
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumption_without_0rtt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
