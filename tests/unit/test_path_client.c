/* Client-side path behaviour (RFC 9000 §9.2, §9.5, §9, §18.2): active
 * migration with unlinkable CIDs and path events, packets from unknown
 * server addresses, disable_active_migration. */
#include "path_util.h"

#define SIZE (1u << 20)

typedef struct mig_ctx {
    h_pair *p;
    tern_addr new_local;
    tern_err result;
    tern_path_id path_id;
    tern_path_info info_after; /* the new path, right after the call */
} mig_ctx;

static void migrate(sim *s, void *ctx, tern_time now)
{
    mig_ctx *m = ctx;
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    sim_node_add_addr(s, m->p->client.node->node, &m->new_local, &lp);
    m->path_id = TERN_PATH_ID_NONE;
    m->result = tern_conn_migrate(m->p->client.conn, &m->new_local, &m->path_id, now);
    if (m->result == TERN_OK) assert_int_equal(tern_conn_path_info(m->p->client.conn, m->path_id, &m->info_after), TERN_OK);
    h_kick(m->p->client.node);
}

/* §9.2 + §9.5: probe, validate, switch; the new path uses fresh CIDs in
 * both directions and the old client-side CID is retired. */
static void test_client_migration_unlinkable(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(11, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, SIZE);
    px_connect(p);
    tern_conn *c = p->client.conn, *s = p->server.conn;
    const tern_peer_cid *old_c = tern_cid_manager_peer_for_path(&c->cids, tern_conn_active_path(c)->id);
    const tern_peer_cid *old_s = tern_cid_manager_peer_for_path(&s->cids, tern_conn_active_path(s)->id);
    assert_non_null(old_c);
    assert_non_null(old_s);
    tern_cid client_old_dcid = old_c->cid, server_old_dcid = old_s->cid;
    uint64_t client_old_seq = old_c->sequence;

    px_start(p, x);
    mig_ctx m = {.p = p, .new_local = sim_addr("198.18.0.3:40001"), .result = TERN_ERR_INVALID_ARGUMENT};
    sim_at(p->s, sim_now(p->s) + TERN_MS(30), migrate, &m);
    px_finish(p, x, TERN_SEC(60));
    assert_int_equal(m.result, TERN_OK);
    /* Let the old path's retirement run (3 PTO) and the RETIRE frame land. */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));

    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.local, &m.new_local));
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &m.new_local));
    /* Unlinkability: neither side uses the old DCID on the new path. */
    const tern_peer_cid *new_c = tern_cid_manager_peer_for_path(&c->cids, tern_conn_active_path(c)->id);
    const tern_peer_cid *new_s = tern_cid_manager_peer_for_path(&s->cids, tern_conn_active_path(s)->id);
    assert_non_null(new_c);
    assert_non_null(new_s);
    assert_false(new_c->cid.len == client_old_dcid.len &&
                 memcmp(new_c->cid.data, client_old_dcid.data, client_old_dcid.len) == 0);
    assert_false(new_s->cid.len == server_old_dcid.len &&
                 memcmp(new_s->cid.data, server_old_dcid.data, server_old_dcid.len) == 0);
    /* RETIRE_CONNECTION_ID reached the server: it no longer routes the old
     * CID, and the client's retirement completed (acknowledged). */
    assert_null(tern_cid_manager_local_find(&s->cids, &client_old_dcid));
    const tern_peer_cid *gone = tern_cid_manager_peer_find(&c->cids, client_old_seq);
    assert_true(gone == NULL || gone->state == TERN_PEER_CID_RETIRING);

    /* Client events in order with the new 4-tuple: PROBING, VALIDATED,
     * ACTIVE; then the old path ABANDONED. */
    const px_path_event *probing = px_find(x, true, TERN_PATH_PROBING, NULL);
    const px_path_event *validated = px_find(x, true, TERN_PATH_VALIDATED, NULL);
    const px_path_event *active = px_find(x, true, TERN_PATH_ACTIVE, NULL);
    const px_path_event *abandoned = px_find(x, true, TERN_PATH_ABANDONED, NULL);
    assert_non_null(probing);
    assert_non_null(validated);
    assert_non_null(active);
    assert_non_null(abandoned);
    assert_true(sim_addr_equal(&probing->local, &m.new_local));
    assert_true(sim_addr_equal(&probing->remote, &p->saddr));
    assert_true(sim_addr_equal(&active->local, &m.new_local));
    assert_true(sim_addr_equal(&abandoned->local, &p->caddr));
    assert_true(probing->at <= validated->at && validated->at <= active->at && active->at <= abandoned->at);
    /* Path ids: the call returned the id the events name; the new path was
     * PROBING right after it, is ACTIVE now, and the old path (id 0) is gone
     * for good. */
    assert_int_equal(m.path_id, 1);
    assert_int_equal(probing->path_id, m.path_id);
    assert_int_equal(validated->path_id, m.path_id);
    assert_int_equal(active->path_id, m.path_id);
    assert_int_equal(abandoned->path_id, 0);
    assert_int_equal(m.info_after.state, TERN_PATH_STATE_PROBING);
    assert_true(m.info_after.validating && !m.info_after.validated);
    tern_path_info infos[TERN_MAX_PATHS];
    assert_int_equal(tern_conn_paths(c, infos, TERN_MAX_PATHS), 1);
    assert_int_equal(infos[0].id, m.path_id);
    assert_int_equal(infos[0].state, TERN_PATH_STATE_ACTIVE);
    assert_true(infos[0].validated && !infos[0].validating);
    assert_true(sim_addr_equal(&infos[0].local, &m.new_local));
    tern_path_info gone_info;
    assert_int_equal(tern_conn_path_info(c, 0, &gone_info), TERN_ERR_INVALID_ARGUMENT);
    /* A second move takes the freed slot of path 0 but never its id. */
    mig_ctx m2 = {.p = p, .new_local = sim_addr("198.18.0.4:40001"), .result = TERN_ERR_INVALID_ARGUMENT};
    migrate(p->s, &m2, sim_now(p->s));
    assert_int_equal(m2.result, TERN_OK);
    assert_int_equal(m2.path_id, 2);
    assert_int_equal(tern_path_set_slot(&c->paths, tern_path_set_by_id(&c->paths, 2)), 0);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(1));
    assert_int_equal(tern_conn_active_path(c)->id, 2);
    /* Server side: it saw the new client address, validated and moved. */
    assert_int_equal(px_count(x, false, TERN_PATH_ACTIVE, &m.new_local), 1);
    assert_true(px_count(x, false, TERN_PATH_VALIDATED, &m.new_local) >= 1);
    px_free(x);
    h_pair_free(p);
}

/* §9: a client discards packets from a server address it does not know,
 * even an authentic one that arrives before the original. */
static void test_unknown_server_address_discarded(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(12, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    px *x = px_new(p, SIZE);
    px_connect(p);
    px_attacker a;
    pxa_init(&a, p->s, "198.18.1.9:443");
    a.victim = p->server.node->node;
    a.victim_addr = p->saddr;
    a.to = p->caddr;
    a.min_len = 30;
    a.armed = true;
    px_start(p, x);
    h_kick(p->client.node);
    uint64_t before = p->client.conn->stats.packets_received;
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(40));
    assert_true(a.sent);
    (void)before;
    px_finish(p, x, TERN_SEC(60));
    tern_conn *c = p->client.conn;
    /* Never a path to that address, never moved. */
    assert_int_equal(px_count(x, true, TERN_PATH_PROBING, &a.addr), 0);
    assert_int_equal(px_count(x, true, TERN_PATH_ACTIVE, NULL), 0);
    assert_true(sim_addr_equal(&tern_conn_active_path(c)->tuple.remote, &p->saddr));
    for (tern_path *q = NULL; (q = tern_path_set_next(&c->paths, q));)
        assert_false(sim_addr_equal(&q->tuple.remote, &a.addr));
    /* Nothing was sent to the unknown address either. */
    assert_int_equal(a.bytes_in, 0);
    px_free(x);
    h_pair_free(p);
}

/* §18.2 disable_active_migration from the server: the client's migrate
 * and probe calls refuse. */
static void test_disable_active_migration_client_refuses(void **state)
{
    (void)state;
    tern_config sc;
    h_server_config(&sc);
    sc.disable_active_migration = true;
    h_pair *p = h_pair_new(13, TERN_MS(5), 50000000, 0.0, NULL, &sc);
    px *x = px_new(p, SIZE);
    px_connect(p);
    tern_addr nl = sim_addr("198.18.0.3:40001");
    assert_int_equal(tern_conn_migrate(p->client.conn, &nl, NULL, sim_now(p->s)), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_conn_probe_path(p->client.conn, &nl, NULL, NULL, sim_now(p->s)), TERN_ERR_INVALID_STATE);
    px_start(p, x);
    h_kick(p->client.node);
    px_finish(p, x, TERN_SEC(60));
    assert_int_equal(px_count(x, true, TERN_PATH_PROBING, NULL), 0);
    px_free(x);
    h_pair_free(p);

    /* Without the parameter the same call is accepted (the test can fail). */
    p = h_pair_new(13, TERN_MS(5), 50000000, 0.0, NULL, NULL);
    x = px_new(p, SIZE);
    px_connect(p);
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    sim_node_add_addr(p->s, p->client.node->node, &nl, &lp);
    assert_int_equal(tern_conn_migrate(p->client.conn, &nl, NULL, sim_now(p->s)), TERN_OK);
    px_free(x);
    h_pair_free(p);
}

/* The migration calls' errors tell "not now" from "no CID" from misuse:
 * before confirmation INVALID_STATE; with the server's CIDs all in use
 * (client's active_connection_id_limit 2: one spare, taken by the first
 * probe) CID_BLOCKED; a server, or the active local address, INVALID_ARGUMENT. */
static void test_migrate_errors(void **state)
{
    (void)state;
    tern_config cc;
    h_client_config(&cc);
    cc.active_connection_id_limit = 2;
    h_pair *p = h_pair_new(14, TERN_MS(5), 50000000, 0.0, &cc, NULL);
    tern_conn *c = h_pair_connect(p);
    tern_addr a = sim_addr("198.18.0.3:40001"), b = sim_addr("198.18.0.4:40001");
    assert_int_equal(tern_conn_migrate(c, &a, NULL, sim_now(p->s)), TERN_ERR_INVALID_STATE);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    /* A server moves only with allow_server_migration (test_server_migration.c). */
    assert_int_equal(tern_conn_probe_path(p->server.conn, &a, NULL, NULL, sim_now(p->s)),
                     TERN_ERR_MIGRATION_NOT_ALLOWED);
    assert_int_equal(tern_conn_migrate(c, &tern_conn_active_path(c)->tuple.local, NULL, sim_now(p->s)),
                     TERN_ERR_INVALID_ARGUMENT);
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    sim_node_add_addr(p->s, p->client.node->node, &a, &lp);
    sim_node_add_addr(p->s, p->client.node->node, &b, &lp);
    /* §21.5: only server addresses the server gave may be probed; the
     * active 4-tuple itself is not a new path. */
    tern_addr stranger = sim_addr("198.18.0.99:443");
    const tern_path *act = tern_conn_active_path(c);
    assert_int_equal(tern_conn_probe_path(c, &act->tuple.local, &stranger, NULL, sim_now(p->s)),
                     TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_conn_probe_path(c, &act->tuple.local, &act->tuple.remote, NULL, sim_now(p->s)),
                     TERN_ERR_INVALID_ARGUMENT);
    tern_addr v6 = sim_addr("[2001:db8::1]:40001");
    assert_int_equal(tern_conn_probe_path(c, &v6, NULL, NULL, sim_now(p->s)), TERN_ERR_INVALID_ARGUMENT);
    tern_path_id id = TERN_PATH_ID_NONE;
    assert_int_equal(tern_conn_probe_path(c, &a, &act->tuple.remote, &id, sim_now(p->s)), TERN_OK);
    assert_int_equal(id, 1);
    assert_int_equal(tern_conn_probe_path(c, &b, NULL, NULL, sim_now(p->s)), TERN_ERR_CID_BLOCKED);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_errors),
        cmocka_unit_test(test_client_migration_unlinkable),
        cmocka_unit_test(test_unknown_server_address_discarded),
        cmocka_unit_test(test_disable_active_migration_client_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
