/* 0-RTT over the simulator (RFC 9001 §4.5-4.6, RFC 9000 §7.4.1, §17.2.3):
 * a first connection yields a session ticket; the second writes 50 KB on a
 * stream right after tern_endpoint_connect, before any packet left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

#define DATA_SIZE (50 * 1024)

typedef struct zctx {
    uint8_t ticket[8192];
    size_t ticket_len;
    /* The transfer of the second connection. */
    uint8_t src[DATA_SIZE];
    size_t written;
    uint64_t sid;
    uint8_t dst[DATA_SIZE];
    size_t received;
    bool fin;
    uint8_t rbuf[16384];
    /* Server events of the second connection, in order (1-based). */
    unsigned seq;
    unsigned first_readable_seq, server_hs_done_seq;
    unsigned streams_opened_after_replay;
    bool counting_replay;
    bool client_rejected_event;
    unsigned client_rejected_seq, client_hs_done_seq;
    /* Packets the client sent, by long header type (sim trace). */
    bool tracing;
    uint64_t zero_rtt_packets, initial_packets;
    /* The client's first datagram with 0-RTT, for the replay test. */
    uint8_t first_0rtt_dgram[1500];
    size_t first_0rtt_len;
    const sim_node *client_node;
} zctx;

static void pump_writes(tern_conn *c, zctx *z)
{
    while (z->written < DATA_SIZE) {
        tern_err err;
        size_t n = tern_conn_stream_write(c, z->sid, z->src + z->written, DATA_SIZE - z->written, true, &err);
        assert_int_equal(err, TERN_OK);
        if (!n) break;
        z->written += n;
    }
}

static void read_all(tern_conn *c, uint64_t id, zctx *z)
{
    for (;;) {
        bool fin = false;
        tern_err err;
        size_t n = tern_conn_stream_read(c, id, z->rbuf, sizeof z->rbuf, &fin, &err);
        if (err) return;
        assert_true(z->received + n <= DATA_SIZE);
        memcpy(z->dst + z->received, z->rbuf, n);
        z->received += n;
        if (fin) z->fin = true;
        if (!n) return;
    }
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    zctx *z = p->user;
    if (is_client) {
        if (ev->type == TERN_EVENT_SESSION_TICKET && ev->len <= sizeof z->ticket && !z->ticket_len) {
            memcpy(z->ticket, ev->data, ev->len);
            z->ticket_len = ev->len;
        } else if (ev->type == TERN_EVENT_STREAM_WRITABLE && ev->stream_id == z->sid) {
            pump_writes(ev->conn, z);
        } else if (ev->type == TERN_EVENT_EARLY_DATA_REJECTED) {
            z->client_rejected_event = true;
            z->client_rejected_seq = ++z->seq;
        } else if (ev->type == TERN_EVENT_HANDSHAKE_DONE) {
            z->client_hs_done_seq = ++z->seq;
        }
        return;
    }
    if (z->counting_replay) {
        if (ev->type == TERN_EVENT_STREAM_OPENED) z->streams_opened_after_replay++;
        return;
    }
    if (ev->type == TERN_EVENT_STREAM_READABLE) {
        if (!z->first_readable_seq) z->first_readable_seq = ++z->seq;
        read_all(ev->conn, ev->stream_id, z);
    } else if (ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        z->server_hs_done_seq = ++z->seq;
    }
}

static void trace(void *ctx, const sim_trace_event *e)
{
    zctx *z = ctx;
    if (!z->tracing || e->kind != SIM_TRACE_SEND || e->node != z->client_node) return;
    tern_header_parse_config pc = {.short_dcid_len = 8};
    size_t off = 0;
    bool has_0rtt = false;
    while (off < e->len && (e->data[off] & TERN_HEADER_FORM_BIT)) {
        tern_packet_header hdr;
        if (tern_packet_header_parse(e->data + off, e->len - off, &pc, &hdr) != TERN_OK) break;
        if (hdr.type == TERN_PKT_0RTT) {
            z->zero_rtt_packets++;
            has_0rtt = true;
        }
        if (hdr.type == TERN_PKT_INITIAL) z->initial_packets++;
        off += hdr.packet_len;
    }
    if (has_0rtt && !z->first_0rtt_len && e->len <= sizeof z->first_0rtt_dgram) {
        memcpy(z->first_0rtt_dgram, e->data, e->len);
        z->first_0rtt_len = e->len;
    }
}

/* Both sides send allow_server_migration in the first connection. */
static bool g_server_migration;

static void configs(tern_config *cc, tern_config *sc, bool server_0rtt)
{
    h_client_config(cc);
    h_server_config(sc);
    cc->enable_0rtt = true;
    sc->enable_0rtt = server_0rtt;
    cc->server_migration = sc->server_migration = g_server_migration;
}

static void close_and_settle(h_pair *p)
{
    tern_conn_close(p->client.conn, 0, "done", sim_now(p->s));
    h_kick(p->client.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(p->client.closed && p->server.closed);
    p->client.closed = p->server.closed = false;
    p->client.handshake_done = p->server.handshake_done = false;
}

/* First connection: a full handshake that leaves a ticket in z. ZSEED
 * picks another simulator seed (loss pattern) than 7. */
static h_pair *pair_with_ticket(zctx *z, bool server_0rtt)
{
    tern_config cc, sc;
    configs(&cc, &sc, server_0rtt);
    h_pair *p = h_pair_new(getenv("ZSEED") ? strtoull(getenv("ZSEED"), NULL, 10) : 7, TERN_MS(5), 0, 0.0, &cc, &sc);
    p->user = z;
    p->on_event = on_event;
    z->client_node = p->client.node->node;
    sim_set_trace(p->s, trace, z);
    for (size_t i = 0; i < DATA_SIZE; i++) z->src[i] = (uint8_t)(i * 131u + (i >> 9));
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    assert_true(z->ticket_len > 0);
    close_and_settle(p);
    return p;
}

/* Second connection: resumes with the ticket and writes DATA_SIZE bytes on
 * a bidirectional stream before the first packet leaves. Returns whether
 * the stream could be opened before the handshake. */
static bool connect_and_write_early(h_pair *p, zctx *z)
{
    tern_conn *c = NULL;
    z->tracing = true;
    assert_int_equal(tern_endpoint_connect(p->client.node->ep, &p->caddr, &p->saddr, "localhost", z->ticket,
                                           z->ticket_len, sim_now(p->s), &c),
                     TERN_OK);
    p->client.conn = c;
    bool opened = tern_conn_stream_open(c, true, &z->sid) == TERN_OK;
    if (opened) pump_writes(c, z);
    h_kick(p->client.node);
    return opened;
}

static bool transfer_pending(void *ctx)
{
    const zctx *z = ((h_pair *)ctx)->user;
    return !z->fin;
}

static void assert_intact(h_pair *p, zctx *z, tern_time deadline)
{
    assert_true(sim_run_while(p->s, transfer_pending, p, deadline));
    assert_int_equal(z->received, DATA_SIZE);
    uint8_t a[32], b[32];
    h_sha256(z->src, DATA_SIZE, a);
    h_sha256(z->dst, DATA_SIZE, b);
    assert_memory_equal(a, b, 32);
}

/* (a) Accepted: the server's application has data before its handshake is
 * done, and every byte arrives. */
static void test_0rtt_accepted(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    h_pair *p = pair_with_ticket(&z, true);
    z.zero_rtt_packets = 0;
    assert_true(connect_and_write_early(p, &z));
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_intact(p, &z, sim_now(p->s) + TERN_SEC(10));
    assert_true(z.zero_rtt_packets > 0);
    assert_true(z.first_readable_seq > 0);
    assert_true(z.first_readable_seq < z.server_hs_done_seq);
    assert_true(tern_conn_is_resumed(p->client.conn));
    assert_true(tern_conn_early_data_accepted(p->client.conn));
    assert_true(tern_conn_early_data_accepted(p->server.conn));
    assert_false(z.client_rejected_event);
    /* RFC 9001 §4.9.3: the client's 0-RTT keys went with the handshake, the
     * server's go a few PTOs later. */
    assert_false(p->client.conn->has_tx[TERN_TLS_LEVEL_EARLY]);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    assert_false(p->server.conn->has_rx[TERN_TLS_LEVEL_EARLY]);
    h_pair_free(p);
}

/* allow_server_migration is never remembered (draft-kozuka §5, profile
 * §3): the ticket's server sent it, the resumed connection's server does
 * not; during 0-RTT nothing is assumed, and afterwards it is not
 * negotiated, so the client may move again. */
static void test_0rtt_does_not_remember_server_migration(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    g_server_migration = true;
    h_pair *p = pair_with_ticket(&z, true);
    g_server_migration = false;
    p->server.node->ep->cfg.server_migration = false;
    assert_true(connect_and_write_early(p, &z));
    assert_false(tern_conn_server_migration_negotiated(p->client.conn));
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_intact(p, &z, sim_now(p->s) + TERN_SEC(10));
    assert_true(tern_conn_early_data_accepted(p->client.conn));
    assert_false(tern_conn_server_migration_negotiated(p->client.conn));
    assert_false(tern_conn_server_migration_negotiated(p->server.conn));
    tern_addr moved = sim_addr("198.18.0.9:40000");
    sim_node_add_addr(p->s, p->client.node->node, &moved, NULL);
    assert_int_equal(tern_conn_migrate(p->client.conn, &moved, NULL, sim_now(p->s)), TERN_OK);
    h_pair_free(p);
}

/* (b) The server no longer accepts 0-RTT: the data comes through 1-RTT. */
static void test_0rtt_rejected_by_server_config(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    h_pair *p = pair_with_ticket(&z, true);
    tern_endpoint *sep = p->server.node->ep;
    sep->cfg.enable_0rtt = false;
    tern_tls_config_enable_early_data(sep->tls_cfg, false);
    z.zero_rtt_packets = 0;
    assert_true(connect_and_write_early(p, &z));
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_intact(p, &z, sim_now(p->s) + TERN_SEC(10));
    assert_true(z.zero_rtt_packets > 0);
    assert_true(tern_conn_is_resumed(p->client.conn));
    assert_false(tern_conn_early_data_accepted(p->client.conn));
    assert_true(z.client_rejected_event);
    assert_true(z.client_rejected_seq < z.client_hs_done_seq);
    /* Nothing reached the server's application before its handshake. */
    assert_true(z.first_readable_seq > z.server_hs_done_seq);
    /* Rejected 0-RTT packets are not congestion (RFC 9002 §6.4). */
    assert_int_equal(p->client.conn->stats.congestion_events, 0);
    h_pair_free(p);
}

/* (c) 0-RTT with 20 % loss in both directions. */
static void test_0rtt_with_loss(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    h_pair *p = pair_with_ticket(&z, true);
    sim_link_dir(p->clink, SIM_UP)->loss = 0.2;
    sim_link_dir(p->clink, SIM_DOWN)->loss = 0.2;
    assert_true(connect_and_write_early(p, &z));
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(30)));
    assert_intact(p, &z, sim_now(p->s) + TERN_SEC(60));
    assert_true(z.zero_rtt_packets > 0);
    h_pair_free(p);
}

/* (d) A ticket from a server without 0-RTT: no 0-RTT packet at all, and
 * streams wait for the handshake (no remembered limits). */
static void test_ticket_without_0rtt(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    h_pair *p = pair_with_ticket(&z, false);
    z.zero_rtt_packets = z.initial_packets = 0;
    assert_false(connect_and_write_early(p, &z));
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_int_equal(tern_conn_stream_open(p->client.conn, true, &z.sid), TERN_OK);
    pump_writes(p->client.conn, &z);
    h_kick(p->client.node);
    assert_intact(p, &z, sim_now(p->s) + TERN_SEC(10));
    assert_true(z.initial_packets > 0);
    assert_int_equal(z.zero_rtt_packets, 0);
    assert_true(tern_conn_is_resumed(p->client.conn));
    assert_false(tern_conn_early_data_accepted(p->client.conn));
    h_pair_free(p);
}

/* (e) The server lowered initial_max_data since the ticket (RFC 9000
 * §7.4.1): it rejects 0-RTT, and the data goes through 1-RTT. */
static void test_0rtt_server_lowered_limits_rejects(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    h_pair *p = pair_with_ticket(&z, true);
    p->server.node->ep->cfg.initial_max_data = 512 * 1024;
    assert_true(connect_and_write_early(p, &z));
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_intact(p, &z, sim_now(p->s) + TERN_SEC(10));
    assert_false(tern_conn_early_data_accepted(p->client.conn));
    assert_true(z.client_rejected_event);
    assert_int_equal(p->client.conn->streams.conn_send.limit, 512 * 1024);
    h_pair_free(p);
}

/* (e') A server that accepts 0-RTT with reduced limits anyway (as one that
 * shares the ticket key but not the check would): the client closes with
 * PROTOCOL_VIOLATION (§7.4.1). */
static void test_0rtt_accepted_with_reduced_limits_is_violation(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    h_pair *p = pair_with_ticket(&z, true);
    p->server.node->ep->cfg.initial_max_data = 512 * 1024;
    memset(&p->server.node->ep->early_floor, 0, sizeof p->server.node->ep->early_floor);
    connect_and_write_early(p, &z);
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(3));
    assert_true(p->client.closed);
    assert_false(p->client.closed_by_peer);
    assert_int_equal(p->client.close_code, TERN_PROTOCOL_VIOLATION);
    h_pair_free(p);
}

/* (f) The client's first datagram (ClientHello + 0-RTT) replayed from its
 * address once the connection is gone: the server's anti-replay store
 * refuses the early data, so the application sees no stream twice. */
static void test_0rtt_replay_not_delivered_twice(void **state)
{
    (void)state;
    static zctx z;
    memset(&z, 0, sizeof z);
    h_pair *p = pair_with_ticket(&z, true);
    assert_true(connect_and_write_early(p, &z));
    assert_true(h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(5)));
    assert_intact(p, &z, sim_now(p->s) + TERN_SEC(10));
    assert_true(tern_conn_early_data_accepted(p->server.conn));
    assert_true(z.first_0rtt_len >= 1200);
    size_t conns_before = tern_endpoint_connection_count(p->server.node->ep);
    close_and_settle(p);
    assert_true(tern_endpoint_connection_count(p->server.node->ep) < conns_before);

    z.counting_replay = true;
    unsigned hs_events_before = p->server.events[TERN_EVENT_CONN_NEW];
    uint8_t copy[1500];
    memcpy(copy, z.first_0rtt_dgram, z.first_0rtt_len);
    tern_endpoint_recv(p->server.node->ep, &p->saddr, &p->caddr, 0, copy, z.first_0rtt_len, sim_now(p->s));
    h_kick(p->server.node);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(500));
    /* The ClientHello was taken (a new connection), its early data not. */
    assert_int_equal(p->server.events[TERN_EVENT_CONN_NEW], hs_events_before + 1);
    assert_int_equal(z.streams_opened_after_replay, 0);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_0rtt_accepted),
        cmocka_unit_test(test_0rtt_rejected_by_server_config),
        cmocka_unit_test(test_0rtt_with_loss),
        cmocka_unit_test(test_ticket_without_0rtt),
        cmocka_unit_test(test_0rtt_does_not_remember_server_migration),
        cmocka_unit_test(test_0rtt_server_lowered_limits_rejects),
        cmocka_unit_test(test_0rtt_accepted_with_reduced_limits_is_violation),
        cmocka_unit_test(test_0rtt_replay_not_delivered_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
