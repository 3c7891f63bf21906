/* The endpoint's local addresses in the engine (docs/protocol.md §9.1,
 * profile §2 "Server"): every path of every connection counts on its local
 * address; a removed address drains and TERN_EVENT_ADDRESS_UNUSED comes
 * once its last path is forgotten; a server accepts new connections only
 * on SERVING addresses. */
#include "path_util.h"

#define SIZE (1u << 20)

/* One registered address of an endpoint, as tern_endpoint_addresses reads
 * it; state 0 when it is not registered. */
static tern_local_addr_info addr_info(tern_endpoint *ep, const tern_addr *a)
{
    tern_local_addr_info all[TERN_LOCAL_ADDR_MAX], none;
    memset(&none, 0, sizeof none);
    size_t n = tern_endpoint_addresses(ep, all, TERN_LOCAL_ADDR_MAX);
    assert_true(n <= TERN_LOCAL_ADDR_MAX);
    for (size_t i = 0; i < n; i++)
        if (sim_addr_equal(&all[i].addr, a)) return all[i];
    return none;
}

static void expect_addr(tern_endpoint *ep, const tern_addr *a, tern_local_addr_state state, uint32_t paths)
{
    tern_local_addr_info i = addr_info(ep, a);
    assert_int_equal(i.state, state);
    assert_int_equal(i.paths, paths);
    assert_int_equal(i.cids, 0);
}

static size_t paths_in_use(tern_conn *c)
{
    size_t n = 0;
    for (tern_path *q = NULL; (q = tern_path_set_next(&c->paths, q));) n++;
    return n;
}

/* What the test sees of the client's events, in order. */
typedef struct move_ctx {
    h_pair *p;
    tern_addr old_local, new_local;
    tern_err migrate_result, remove_result;
    tern_local_addr_info old_after_remove, new_after_migrate;
    tern_local_addr_info old_at_active, new_at_active;
    unsigned seq;                       /* client events seen */
    unsigned abandoned_seq, unused_seq; /* 0: not seen */
    tern_time active_at, abandoned_at, unused_at;
    unsigned unused_count, server_unused_count;
    tern_addr unused_local;
    bool unused_conn_null;
} move_ctx;

static move_ctx *g_move;

static void move_event(h_pair *p, bool is_client, const tern_event *ev)
{
    px_on_event(p, is_client, ev);
    move_ctx *m = g_move;
    if (!is_client) {
        if (ev->type == TERN_EVENT_ADDRESS_UNUSED) m->server_unused_count++;
        return;
    }
    m->seq++;
    tern_endpoint *ep = p->client.node->ep;
    if (ev->type == TERN_EVENT_PATH && ev->path == TERN_PATH_ACTIVE && sim_addr_equal(&ev->local, &m->new_local)) {
        m->active_at = sim_now(p->s);
        m->old_at_active = addr_info(ep, &m->old_local);
        m->new_at_active = addr_info(ep, &m->new_local);
    }
    if (ev->type == TERN_EVENT_PATH && ev->path == TERN_PATH_ABANDONED && sim_addr_equal(&ev->local, &m->old_local)) {
        m->abandoned_seq = m->seq;
        m->abandoned_at = sim_now(p->s);
    }
    if (ev->type == TERN_EVENT_ADDRESS_UNUSED) {
        m->unused_count++;
        m->unused_seq = m->seq;
        m->unused_at = sim_now(p->s);
        m->unused_local = ev->local;
        m->unused_conn_null = ev->conn == NULL;
    }
}

static void migrate_and_remove(sim *s, void *ctx, tern_time now)
{
    move_ctx *m = ctx;
    tern_endpoint *ep = m->p->client.node->ep;
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    sim_node_add_addr(s, m->p->client.node->node, &m->new_local, &lp);
    m->migrate_result = tern_conn_migrate(m->p->client.conn, &m->new_local, NULL, now);
    /* The probing path counts on the new address at once. */
    m->new_after_migrate = addr_info(ep, &m->new_local);
    /* The application will close the old socket once it may. */
    m->remove_result = tern_endpoint_remove_address(ep, &m->old_local);
    m->old_after_remove = addr_info(ep, &m->old_local);
    h_kick(m->p->client.node);
}

/* A client registers two local addresses, connects from the first,
 * migrates to the second mid-transfer and removes the first: it drains
 * while the path it left is kept (§9.6.2 delayed packets, 3 PTO), and
 * TERN_EVENT_ADDRESS_UNUSED comes exactly once, right when that path is
 * forgotten. The server, with its address registered, counts its paths on
 * it through the client's move. */
static void test_client_move_releases_old_address(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(41, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    move_ctx m = {.p = p, .old_local = p->caddr, .new_local = sim_addr("198.18.0.3:40001"),
                  .migrate_result = -1, .remove_result = -1};
    g_move = &m;
    tern_endpoint *cep = p->client.node->ep, *sep = p->server.node->ep;
    assert_int_equal(tern_endpoint_add_address(cep, &m.old_local), TERN_OK);
    assert_int_equal(tern_endpoint_add_address(cep, &m.new_local), TERN_OK);
    assert_int_equal(tern_endpoint_add_address(sep, &p->saddr), TERN_OK);
    assert_int_equal(tern_endpoint_addresses(cep, NULL, 0), 2);
    expect_addr(cep, &m.old_local, TERN_LOCAL_ADDR_SERVING, 0);
    px *x = px_new(p, SIZE);
    p->on_event = move_event;
    px_connect(p);
    expect_addr(cep, &m.old_local, TERN_LOCAL_ADDR_SERVING, 1);
    expect_addr(cep, &m.new_local, TERN_LOCAL_ADDR_SERVING, 0);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, 1);

    px_start(p, x);
    sim_at(p->s, sim_now(p->s) + TERN_MS(30), migrate_and_remove, &m);
    px_finish(p, x, TERN_SEC(60));
    assert_int_equal(m.migrate_result, TERN_OK);
    assert_int_equal(m.remove_result, TERN_OK);
    assert_int_equal(m.new_after_migrate.paths, 1);
    assert_int_equal(m.old_after_remove.state, TERN_LOCAL_ADDR_DRAINING);
    assert_int_equal(m.old_after_remove.paths, 1); /* the active path is still there */
    /* Moved: the old path is LEAVING and still counts, the new one is active. */
    assert_true(m.active_at > 0);
    assert_int_equal(m.old_at_active.state, TERN_LOCAL_ADDR_DRAINING);
    assert_int_equal(m.old_at_active.paths, 1);
    assert_int_equal(m.new_at_active.state, TERN_LOCAL_ADDR_SERVING);
    assert_int_equal(m.new_at_active.paths, 1);
    /* Let the old path be forgotten (3 PTO). */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    assert_true(m.abandoned_seq > 0);
    assert_int_equal(m.unused_count, 1);
    assert_true(m.unused_conn_null);
    assert_true(sim_addr_equal(&m.unused_local, &m.old_local));
    /* The event comes with the path's forgetting, not before, not later. */
    assert_int_equal(m.unused_seq, m.abandoned_seq + 1);
    assert_int_equal(m.unused_at, m.abandoned_at);
    assert_true(m.unused_at > m.active_at);
    /* Forgotten: only the new address is left, with the one path. */
    assert_int_equal(tern_endpoint_addresses(cep, NULL, 0), 1);
    assert_int_equal(addr_info(cep, &m.old_local).state, 0);
    expect_addr(cep, &m.new_local, TERN_LOCAL_ADDR_SERVING, 1);
    assert_int_equal(tern_endpoint_remove_address(cep, &m.old_local), TERN_ERR_INVALID_ARGUMENT);
    /* The server's count follows its paths: every one of them, the path
     * to the client's new address and whatever it keeps of the old one. */
    assert_true(paths_in_use(p->server.conn) >= 1);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, (uint32_t)paths_in_use(p->server.conn));
    /* The server forgets the path to the client's old address in its own
     * time (3 of its PTOs after its move): one path, one count. */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    assert_int_equal(paths_in_use(p->server.conn), 1);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, 1);
    assert_int_equal(m.server_unused_count, 0);

    /* The connection goes: its last path stops counting; a SERVING address
     * is not reported unused, a removal then is reported at once. */
    tern_conn_close(p->client.conn, 0, "done", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(p->client.closed);
    assert_true(p->server.closed);
    expect_addr(cep, &m.new_local, TERN_LOCAL_ADDR_SERVING, 0);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, 0);
    assert_int_equal(m.unused_count, 1);
    assert_int_equal(tern_endpoint_remove_address(cep, &m.new_local), TERN_OK);
    h_kick(p->client.node);
    assert_int_equal(m.unused_count, 2);
    assert_true(sim_addr_equal(&m.unused_local, &m.new_local));
    assert_int_equal(tern_endpoint_addresses(cep, NULL, 0), 0);
    assert_int_equal(m.server_unused_count, 0);
    px_free(x);
    h_pair_free(p);
}

/* A server with a registered address set drops Initials to any other
 * address: no connection, no answer at all (not even a Retry). Once the
 * address is registered, the client's retransmitted Initial gets through
 * (the same test with the address served: it can fail). */
static void test_server_drops_initials_to_unregistered_address(void **state)
{
    (void)state;
    tern_config sc;
    h_server_config(&sc);
    sc.retry = true;
    h_pair *p = h_pair_new(42, TERN_MS(5), 50000000, 0.0, NULL, &sc);
    tern_endpoint *sep = p->server.node->ep;
    tern_addr other = sim_addr("198.18.1.2:443");
    assert_int_equal(tern_endpoint_add_address(sep, &other), TERN_OK);
    h_pair_connect(p);
    assert_false(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(1)));
    assert_true(p->client.node->datagrams_sent > 0);
    assert_int_equal(p->server.node->datagrams_sent, 0);
    assert_int_equal(tern_endpoint_connection_count(sep), 0);
    assert_int_equal(p->server.events[TERN_EVENT_CONN_NEW], 0);

    assert_int_equal(tern_endpoint_add_address(sep, &p->saddr), TERN_OK);
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(10)));
    assert_true(tern_conn_was_retried(p->server.conn));
    assert_int_equal(tern_endpoint_connection_count(sep), 1);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, 1);
    expect_addr(sep, &other, TERN_LOCAL_ADDR_SERVING, 0);
    h_pair_free(p);
}

typedef struct second_client {
    h_node *node;
    bool handshake_done;
} second_client;

static void second_event(h_node *n, const tern_event *ev, void *ctx)
{
    (void)n;
    second_client *sc = ctx;
    if (ev->type == TERN_EVENT_HANDSHAKE_DONE) sc->handshake_done = true;
}

static bool second_pending(void *ctx) { return !((second_client *)ctx)->handshake_done; }

/* A DRAINING server address: the connection on it keeps working to the
 * end of its transfer, a new client's Initials to it are dropped, and when
 * the connection is gone the address is reported unused, once. */
static void test_server_draining_address(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(43, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    tern_endpoint *sep = p->server.node->ep;
    assert_int_equal(tern_endpoint_add_address(sep, &p->saddr), TERN_OK);
    px *x = px_new(p, SIZE);
    px_connect(p);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, 1);
    assert_int_equal(tern_endpoint_remove_address(sep, &p->saddr), TERN_OK);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_DRAINING, 1);
    /* Removing a DRAINING address again changes nothing. */
    assert_int_equal(tern_endpoint_remove_address(sep, &p->saddr), TERN_OK);

    second_client two = {0};
    tern_config cc;
    h_client_config(&cc);
    two.node = h_node_new(p->s, &cc, "client2", second_event, &two);
    tern_addr addr2 = sim_addr("198.18.0.9:40000");
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    sim_node_add_addr(p->s, two.node->node, &addr2, &lp);
    tern_conn *c2 = NULL;
    assert_int_equal(tern_endpoint_connect(two.node->ep, &addr2, &p->saddr, "localhost", NULL, 0, sim_now(p->s), &c2),
                     TERN_OK);
    h_kick(two.node);

    px_start(p, x);
    h_kick(p->client.node);
    px_finish(p, x, TERN_SEC(60));
    assert_false(two.handshake_done);
    assert_int_equal(p->server.events[TERN_EVENT_CONN_NEW], 1);
    assert_int_equal(tern_endpoint_connection_count(sep), 1);
    assert_false(sim_run_while(p->s, second_pending, &two, sim_now(p->s) + TERN_SEC(1)));
    assert_int_equal(p->server.events[TERN_EVENT_CONN_NEW], 1);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_DRAINING, 1);
    assert_int_equal(p->server.events[TERN_EVENT_ADDRESS_UNUSED], 0);

    tern_conn_close(p->client.conn, 0, "done", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(p->server.closed);
    assert_int_equal(p->server.events[TERN_EVENT_ADDRESS_UNUSED], 1);
    assert_int_equal(tern_endpoint_addresses(sep, NULL, 0), 0);
    /* Nothing is served any more: still no connection for client 2. */
    assert_false(sim_run_while(p->s, second_pending, &two, sim_now(p->s) + TERN_SEC(1)));
    assert_int_equal(p->server.events[TERN_EVENT_CONN_NEW], 1);
    assert_int_equal(p->server.events[TERN_EVENT_ADDRESS_UNUSED], 1);
    h_node_free(two.node);
    px_free(x);
    h_pair_free(p);
}

/* Legacy mode: an endpoint that registers nothing counts nothing, reports
 * nothing and accepts on any address, as before the API existed. */
static void test_legacy_endpoint_unchanged(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(44, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, SIZE);
    px_connect(p);
    px_start(p, x);
    h_kick(p->client.node);
    px_finish(p, x, TERN_SEC(60));
    assert_int_equal(tern_endpoint_addresses(p->client.node->ep, NULL, 0), 0);
    assert_int_equal(tern_endpoint_addresses(p->server.node->ep, NULL, 0), 0);
    assert_int_equal(tern_endpoint_remove_address(p->server.node->ep, &p->saddr), TERN_ERR_INVALID_ARGUMENT);
    tern_conn_close(p->client.conn, 0, "done", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(p->server.closed);
    assert_int_equal(p->client.events[TERN_EVENT_ADDRESS_UNUSED], 0);
    assert_int_equal(p->server.events[TERN_EVENT_ADDRESS_UNUSED], 0);
    px_free(x);
    h_pair_free(p);
}

/* An address registered while a connection already uses it counts that
 * path from then on: removing it drains instead of reporting it unused
 * under the live connection. */
static void test_register_after_connect_counts_existing_path(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(45, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px_connect(p);
    tern_endpoint *sep = p->server.node->ep;
    assert_int_equal(tern_endpoint_add_address(sep, &p->saddr), TERN_OK);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, 1);
    assert_int_equal(tern_endpoint_add_address(sep, &p->saddr), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_endpoint_remove_address(sep, &p->saddr), TERN_OK);
    h_kick(p->server.node);
    assert_int_equal(p->server.events[TERN_EVENT_ADDRESS_UNUSED], 0);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_DRAINING, 1);
    /* Added back while draining: serving again, the count kept. */
    assert_int_equal(tern_endpoint_add_address(sep, &p->saddr), TERN_OK);
    expect_addr(sep, &p->saddr, TERN_LOCAL_ADDR_SERVING, 1);
    tern_addr any = sim_addr("0.0.0.0:443");
    assert_int_equal(tern_endpoint_add_address(sep, &any), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_endpoint_add_address(NULL, &p->saddr), TERN_ERR_INVALID_ARGUMENT);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_move_releases_old_address),
        cmocka_unit_test(test_server_drops_initials_to_unregistered_address),
        cmocka_unit_test(test_server_draining_address),
        cmocka_unit_test(test_legacy_endpoint_unchanged),
        cmocka_unit_test(test_register_after_connect_counts_existing_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
