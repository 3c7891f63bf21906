/* Regression: a late packet carrying a CID the peer has just retired
 * (RFC 9000 §5.1.2, §19.16) must not be answered with a Stateless Reset
 * (§10.3). The client migrates during an upload and retires the server CID
 * it used on the old path; a 1-RTT datagram it sent on the old path with
 * that CID, held back in the network, reaches the server only after the
 * server processed the RETIRE_CONNECTION_ID. lib/conn.c cid_retired keeps
 * the last retired CIDs routed, so the server authenticates the packet as
 * usual instead of resetting the connection. */
#include "path_util.h"

/* Big and slow enough (about 3.5 s at 10 Mbit/s) that the retirement
 * completes while the upload is still running. */
#define SIZE (4u << 20)
#define RATE 10000000

typedef struct late_ctx {
    h_pair *p;
    tern_cid old_cid;       /* server CID the client used on the old path */
    tern_addr new_local;
    tern_err migrate_result;
    bool migrated;
    /* The latest client datagram on the old path with old_cid. */
    uint8_t held[1500];
    size_t held_len;
    bool injected, delivered;
    /* Server datagrams ending in the Stateless Reset token of old_cid. */
    unsigned resets_for_old_cid;
} late_ctx;

static bool dcid_is(const uint8_t *data, size_t len, const tern_cid *cid)
{
    return len > 1u + cid->len && !(data[0] & 0x80) && memcmp(data + 1, cid->data, cid->len) == 0;
}

static void trace(void *ctx, const sim_trace_event *ev)
{
    late_ctx *l = ctx;
    h_pair *p = l->p;
    if (ev->kind == SIM_TRACE_SEND && ev->node == p->client.node->node && !l->injected &&
        sim_addr_equal(ev->src, &p->caddr) && ev->len <= sizeof l->held && dcid_is(ev->data, ev->len, &l->old_cid)) {
        memcpy(l->held, ev->data, ev->len);
        l->held_len = ev->len;
    }
    if (ev->kind == SIM_TRACE_SEND && ev->node == p->server.node->node && ev->len >= TERN_STATELESS_RESET_TOKEN_LEN) {
        uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN];
        tern_endpoint_reset_token(p->server.node->ep, &l->old_cid, token);
        if (memcmp(ev->data + ev->len - sizeof token, token, sizeof token) == 0) l->resets_for_old_cid++;
    }
    if (ev->kind == SIM_TRACE_DELIVER && l->injected && ev->node == p->server.node->node &&
        sim_addr_equal(ev->src, &p->caddr) && ev->len == l->held_len && memcmp(ev->data, l->held, ev->len) == 0)
        l->delivered = true;
}

static void migrate(sim *s, void *ctx, tern_time now)
{
    late_ctx *l = ctx;
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), RATE);
    sim_node_add_addr(s, l->p->client.node->node, &l->new_local, &lp);
    l->migrate_result = tern_conn_migrate(l->p->client.conn, &l->new_local, NULL, now);
    l->migrated = true;
    h_kick(l->p->client.node);
}

/* Keeps running until the server no longer knows old_cid as one of its
 * local CIDs, i.e. the client's RETIRE_CONNECTION_ID was processed. */
static bool server_still_has_old_cid(void *ctx)
{
    late_ctx *l = ctx;
    return !l->migrated || tern_cid_manager_local_find(&l->p->server.conn->cids, &l->old_cid) != NULL;
}

static void test_late_packet_with_retired_cid_no_reset(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(31, TERN_MS(5), RATE, 0.0, NULL, NULL);
    px *x = px_new(p, SIZE);
    px_connect(p);
    late_ctx l = {.p = p, .new_local = sim_addr("198.18.0.3:40001"), .migrate_result = TERN_ERR_INVALID_ARGUMENT};
    tern_conn *c = p->client.conn, *s = p->server.conn;
    const tern_peer_cid *old = tern_cid_manager_peer_for_path(&c->cids, tern_conn_active_path(c)->id);
    assert_non_null(old);
    l.old_cid = old->cid;
    assert_true(l.old_cid.len > 0);
    /* The server routes it now (else the test would prove nothing). */
    assert_non_null(tern_cid_manager_local_find(&s->cids, &l.old_cid));
    sim_set_trace(p->s, trace, &l);

    px_start(p, x);
    h_kick(p->client.node);
    sim_at(p->s, sim_now(p->s) + TERN_MS(100), migrate, &l);
    assert_true(sim_run_while(p->s, server_still_has_old_cid, &l, sim_now(p->s) + TERN_SEC(10)));
    assert_int_equal(l.migrate_result, TERN_OK);
    assert_true(sim_addr_equal(&tern_conn_active_path(s)->tuple.remote, &l.new_local));
    /* Retirement done mid-transfer, with a packet from the old path held. */
    assert_false(x->fin);
    assert_true(l.held_len > 0);
    assert_int_equal(l.resets_for_old_cid, 0);

    /* The held-back datagram arrives now, from the old address. */
    l.injected = true;
    sim_send(p->s, p->client.node->node, sim_now(p->s), &p->caddr, &p->saddr, 0, l.held, l.held_len);
    px_finish(p, x, TERN_SEC(60));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(500));
    printf("# late %zu-byte datagram with the retired CID delivered after retirement; resets sent: %u\n", l.held_len,
           l.resets_for_old_cid);
    if (p->client.closed) printf("# client closed: \"%s\"\n", p->client.close_reason);
    assert_true(l.delivered);
    /* No Stateless Reset for it, and both connections are alive. */
    assert_int_equal(l.resets_for_old_cid, 0);
    assert_false(p->client.closed);
    assert_false(p->server.closed);
    assert_non_null(p->client.conn);
    assert_non_null(p->server.conn);
    assert_false(tern_conn_is_closing(p->client.conn));
    assert_false(tern_conn_is_closing(p->server.conn));
    px_free(x);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_packet_with_retired_cid_no_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
