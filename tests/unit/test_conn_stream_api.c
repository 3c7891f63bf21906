/* The stream API as an embedder sees it (tern.h): end of stream stays
 * readable until tern_conn_stream_close, which frees the stream; and
 * STREAM_READABLE is edge-triggered (one event per drain). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

/* ---- FIN readable until close ------------------------------------------- */

typedef struct echo {
    uint64_t id;          /* client's stream */
    bool server_done;
} echo;

/* Server: reads the request to its FIN, answers "world" with FIN. */
static void echo_event(h_pair *p, bool is_client, const tern_event *ev)
{
    echo *e = p->user;
    if (is_client || ev->type != TERN_EVENT_STREAM_READABLE) return;
    uint8_t buf[64];
    for (;;) {
        bool fin = false;
        tern_err err;
        size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err);
        assert_int_equal(err, TERN_OK);
        if (fin && !e->server_done) {
            e->server_done = true;
            tern_conn_stream_write(ev->conn, ev->stream_id, (const uint8_t *)"world", 5, true, &err);
            assert_int_equal(err, TERN_OK);
        }
        if (!n) break;
    }
}

/* Until the client's stream has all of the answer and its own data acked:
 * then the read that returns FIN ends both directions. */
static bool client_stream_not_complete(void *ctx)
{
    h_pair *p = ctx;
    echo *e = p->user;
    tern_stream *s = tern_stream_map_find(&p->client.conn->streams, e->id);
    return !(s && s->recv_state == TERN_RECV_DATA_RECVD && s->send_state == TERN_SEND_DATA_RECVD);
}

static bool no_stream_closed_event(void *ctx)
{
    h_pair *p = ctx;
    return p->client.events[TERN_EVENT_STREAM_CLOSED] == 0;
}

static bool keep_going(void *ctx)
{
    (void)ctx;
    return true;
}

static void test_fin_readable_until_close(void **state)
{
    (void)state;
    echo e = {0};
    h_pair *p = h_pair_new(7, TERN_MS(5), 0, 0.0, NULL, NULL);
    p->on_event = echo_event;
    p->user = &e;
    tern_conn *c = h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(10)));
    assert_int_equal(tern_conn_stream_open(c, true, &e.id), TERN_OK);
    tern_err err;
    assert_int_equal(tern_conn_stream_write(c, e.id, (const uint8_t *)"hello", 5, true, &err), 5);
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, client_stream_not_complete, p, sim_now(p->s) + TERN_SEC(10)));

    uint8_t buf[16];
    bool fin = false;
    assert_int_equal(tern_conn_stream_read(c, e.id, buf, sizeof buf, &fin, &err), 5);
    assert_int_equal(err, TERN_OK);
    assert_true(fin);
    assert_memory_equal(buf, "world", 5);
    /* Both directions are done now, and the FIN stays readable. */
    for (int i = 0; i < 2; i++) {
        fin = false;
        err = -1;
        assert_int_equal(tern_conn_stream_read(c, e.id, buf, sizeof buf, &fin, &err), 0);
        assert_int_equal(err, TERN_OK);
        assert_true(fin);
    }
    /* Also after STREAM_CLOSED came and more time passed. */
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, no_stream_closed_event, p, sim_now(p->s) + TERN_SEC(1)));
    sim_run_while(p->s, keep_going, NULL, sim_now(p->s) + TERN_MS(300));
    assert_int_equal(p->client.events[TERN_EVENT_STREAM_CLOSED], 1);
    fin = false;
    assert_int_equal(tern_conn_stream_read(c, e.id, buf, sizeof buf, &fin, &err), 0);
    assert_int_equal(err, TERN_OK);
    assert_true(fin);
    assert_non_null(tern_stream_map_find(&c->streams, e.id));

    /* Closing frees it; the ID is then unknown. */
    assert_int_equal(tern_conn_stream_close(c, e.id, 0), TERN_OK);
    assert_null(tern_stream_map_find(&c->streams, e.id));
    fin = true;
    assert_int_equal(tern_conn_stream_read(c, e.id, buf, sizeof buf, &fin, &err), 0);
    assert_int_equal(err, TERN_ERR_INVALID_ARGUMENT);
    assert_false(fin);
    assert_int_equal(tern_conn_stream_close(c, e.id, 0), TERN_ERR_INVALID_ARGUMENT);
    h_pair_free(p);
}

/* Closing a stream that is still busy: STOP_SENDING/RESET_STREAM go out,
 * the stream disappears for the application at once and is freed once both
 * directions are done (LeakSanitizer checks the rest). */
static bool server_not_opened(void *ctx)
{
    h_pair *p = ctx;
    return p->server.events[TERN_EVENT_STREAM_OPENED] == 0;
}

static bool server_not_reset(void *ctx)
{
    h_pair *p = ctx;
    return p->server.events[TERN_EVENT_STREAM_RESET] == 0 || p->server.events[TERN_EVENT_STREAM_STOP_SENDING] == 0;
}

static void test_close_busy_stream(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(8, TERN_MS(5), 0, 0.0, NULL, NULL);
    tern_conn *c = h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(10)));
    uint64_t id;
    tern_err err;
    assert_int_equal(tern_conn_stream_open(c, true, &id), TERN_OK);
    assert_int_equal(tern_conn_stream_write(c, id, (const uint8_t *)"abc", 3, false, &err), 3);
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, server_not_opened, p, sim_now(p->s) + TERN_SEC(5)));
    assert_int_equal(tern_conn_stream_close(c, id, 42), TERN_OK);
    assert_int_equal(tern_conn_stream_write(c, id, (const uint8_t *)"x", 1, false, &err), 0);
    assert_int_equal(err, TERN_ERR_INVALID_ARGUMENT);
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, server_not_reset, p, sim_now(p->s) + TERN_SEC(5)));
    assert_int_equal(p->server.events[TERN_EVENT_STREAM_RESET], 1);
    assert_int_equal(p->server.events[TERN_EVENT_STREAM_STOP_SENDING], 1);
    /* No events for the closed stream on the client. */
    assert_int_equal(p->client.events[TERN_EVENT_STREAM_CLOSED], 0);
    h_pair_free(p);
}

/* A peer's reset: one STREAM_RESET, reads then return 0 without fin
 * (TERN_OK) until the application closes the stream, which frees it once
 * our own RESET_STREAM for the other direction is acknowledged. */
typedef struct rst {
    uint64_t id;
    unsigned resets;
    bool closed_by_app;
    tern_conn *server;
} rst;

static void rst_event(h_pair *p, bool is_client, const tern_event *ev)
{
    rst *r = p->user;
    if (is_client || ev->type != TERN_EVENT_STREAM_RESET) return;
    r->resets++;
    r->server = ev->conn;
    assert_int_equal(ev->error_code, 7);
    uint8_t buf[16];
    for (int i = 0; i < 2; i++) {
        bool fin = true;
        tern_err err = -1;
        assert_int_equal(tern_conn_stream_read(ev->conn, ev->stream_id, buf, sizeof buf, &fin, &err), 0);
        assert_int_equal(err, TERN_OK);
        assert_false(fin);
    }
    assert_int_equal(tern_conn_stream_close(ev->conn, ev->stream_id, 9), TERN_OK);
    r->closed_by_app = true;
}

static bool server_stream_alive(void *ctx)
{
    h_pair *p = ctx;
    rst *r = p->user;
    return !r->closed_by_app || tern_stream_map_find(&r->server->streams, r->id) != NULL;
}

static void test_peer_reset_then_close(void **state)
{
    (void)state;
    rst r = {0};
    h_pair *p = h_pair_new(10, TERN_MS(5), 0, 0.0, NULL, NULL);
    p->on_event = rst_event;
    p->user = &r;
    tern_conn *c = h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(10)));
    assert_int_equal(tern_conn_stream_open(c, true, &r.id), TERN_OK);
    tern_err err;
    assert_int_equal(tern_conn_stream_write(c, r.id, (const uint8_t *)"abc", 3, false, &err), 3);
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, server_not_opened, p, sim_now(p->s) + TERN_SEC(5)));
    assert_int_equal(tern_conn_stream_reset(c, r.id, 7), TERN_OK);
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, server_stream_alive, p, sim_now(p->s) + TERN_SEC(5)));
    assert_int_equal(r.resets, 1);
    /* The client saw our RESET_STREAM for its receiving part. */
    assert_int_equal(p->client.events[TERN_EVENT_STREAM_RESET], 1);
    h_pair_free(p);
}

/* ---- edge-triggered STREAM_READABLE -------------------------------------- */

#define BIG (2u * 1024 * 1024)

typedef struct lazy {
    uint64_t id;
    size_t written, received;
    const uint8_t *src;
    uint8_t *dst;
    unsigned readable_events;
    unsigned drains;          /* reads that found the stream empty, or fin */
    bool pending;             /* READABLE seen, not drained yet */
    bool fin;
    tern_conn *server;
    tern_time next_drain;
} lazy;

static void pump(tern_conn *c, lazy *l)
{
    while (l->written < BIG) {
        tern_err err;
        size_t n = tern_conn_stream_write(c, l->id, l->src + l->written, BIG - l->written, true, &err);
        assert_int_equal(err, TERN_OK);
        if (!n) break;
        l->written += n;
    }
}

static void drain(lazy *l)
{
    uint8_t buf[4096];
    for (;;) {
        bool fin = false;
        tern_err err;
        size_t n = tern_conn_stream_read(l->server, l->id, buf, sizeof buf, &fin, &err);
        assert_int_equal(err, TERN_OK);
        assert_true(l->received + n <= BIG);
        memcpy(l->dst + l->received, buf, n);
        l->received += n;
        if (fin) l->fin = true;
        if (!n || fin) break;
    }
    l->drains++;
    l->pending = false;
}

static void lazy_event(h_pair *p, bool is_client, const tern_event *ev)
{
    lazy *l = p->user;
    if (is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) pump(ev->conn, l);
    if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        assert_int_equal(ev->stream_id, l->id);
        /* Edge-triggered: never a second event before the drain. */
        assert_false(l->pending);
        l->pending = true;
        l->readable_events++;
        l->server = ev->conn;
    }
}

/* The reader drains every 20 ms of simulated time, not on each event. */
static bool lazy_not_done(void *ctx)
{
    h_pair *p = ctx;
    lazy *l = p->user;
    if (l->pending && sim_now(p->s) >= l->next_drain) {
        drain(l);
        l->next_drain = sim_now(p->s) + TERN_MS(20);
        h_kick(p->server.node); /* MAX_STREAM_DATA after the read */
    }
    return !l->fin;
}

static void test_readable_edge_triggered(void **state)
{
    (void)state;
    lazy l = {0};
    uint8_t *src = malloc(BIG);
    for (size_t i = 0; i < BIG; i++) src[i] = (uint8_t)(i * 7 + (i >> 11));
    l.src = src;
    l.dst = malloc(BIG);
    h_pair *p = h_pair_new(9, TERN_MS(5), 100000000, 0.0, NULL, NULL);
    p->on_event = lazy_event;
    p->user = &l;
    tern_conn *c = h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(10)));
    assert_int_equal(tern_conn_stream_open(c, true, &l.id), TERN_OK);
    pump(c, &l);
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, lazy_not_done, p, sim_now(p->s) + TERN_SEC(60)));
    assert_int_equal(l.received, BIG);
    assert_memory_equal(l.dst, src, BIG);

    tern_conn_stats st;
    tern_conn_get_stats(l.server, &st);
    print_message("readable events %u, drains %u, server packets %llu\n", l.readable_events, l.drains,
                  (unsigned long long)st.packets_received);
    /* One event per drain (the first drain follows the first event). */
    assert_true(l.readable_events <= l.drains + 1);
    assert_true(l.readable_events >= 1);
    /* Far fewer than the packets that carried the data. */
    assert_true(st.packets_received > 1000);
    assert_true(l.readable_events * 10 < st.packets_received);
    /* No event after the FIN was read. */
    unsigned after = l.readable_events;
    sim_run_while(p->s, keep_going, NULL, sim_now(p->s) + TERN_MS(200));
    assert_int_equal(l.readable_events, after);
    h_pair_free(p);
    free(src);
    free(l.dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fin_readable_until_close),
        cmocka_unit_test(test_close_busy_stream),
        cmocka_unit_test(test_peer_reset_then_close),
        cmocka_unit_test(test_readable_edge_triggered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
