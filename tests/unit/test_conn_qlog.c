/* qlog and key log from the engine (docs/qlog.md "What the engine emits"):
 * a handshake, a 1 MB transfer with 2 % loss and a client migration over
 * the simulator write one trace per side whose records all parse as JSON
 * and carry the events the engine promises; without qlog_open nothing is
 * called; the key log has the SSLKEYLOGFILE format for both roles.
 *
 * With TERN_QLOG_DIR set, the traces are also written there as
 * <odcid hex>-<client|server>.sqlog (ctest then runs the Python checker on
 * them, tests/CMakeLists.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"
#include "json_check.h"

/* ---- qlog sinks ---- */

typedef struct trace {
    bool used, is_server;
    uint8_t odcid[TERN_MAX_CID_LEN];
    size_t odcid_len;
    char *buf;
    size_t len, cap;
    unsigned writes, closes;
    tern_conn *conn;
} trace;

typedef struct qlog_ctx {
    trace traces[4];
    unsigned opens;
    bool refuse; /* qlog_open returns NULL */
} qlog_ctx;

static void *open_trace(void *ctx, tern_conn *c, bool is_server, const uint8_t *odcid, size_t odcid_len)
{
    qlog_ctx *q = ctx;
    q->opens++;
    if (q->refuse) return NULL;
    for (size_t i = 0; i < 4; i++) {
        trace *t = &q->traces[i];
        if (t->used) continue;
        t->used = true;
        t->is_server = is_server;
        t->conn = c;
        assert_true(odcid_len <= TERN_MAX_CID_LEN);
        memcpy(t->odcid, odcid, odcid_len);
        t->odcid_len = odcid_len;
        return t;
    }
    fail_msg("too many traces");
    return NULL;
}

static void write_trace(void *sink, const char *data, size_t len)
{
    trace *t = sink;
    assert_int_equal(t->closes, 0);
    if (t->len + len > t->cap) {
        t->cap = (t->len + len) * 2;
        t->buf = realloc(t->buf, t->cap);
        assert_non_null(t->buf);
    }
    memcpy(t->buf + t->len, data, len);
    t->len += len;
    t->writes++;
}

static void close_trace(void *sink)
{
    trace *t = sink;
    t->closes++;
}

static void set_qlog(tern_config *cfg, qlog_ctx *q)
{
    cfg->qlog_open = open_trace;
    cfg->qlog_write = write_trace;
    cfg->qlog_close = close_trace;
    cfg->qlog_ctx = q;
}

/* The trace as the tools would name it, when TERN_QLOG_DIR is set. */
static void save_trace(const trace *t)
{
    const char *dir = getenv("TERN_QLOG_DIR");
    if (!dir) return;
    char name[512];
    int n = snprintf(name, sizeof name, "%s/", dir);
    for (size_t i = 0; i < t->odcid_len; i++) n += snprintf(name + n, sizeof name - (size_t)n, "%02x", t->odcid[i]);
    snprintf(name + n, sizeof name - (size_t)n, "-%s.sqlog", t->is_server ? "server" : "client");
    FILE *f = fopen(name, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(t->buf, 1, t->len, f), t->len);
    fclose(f);
}

/* Number of records containing `needle`. */
static size_t count(const trace *t, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (size_t i = 0; i + nl <= t->len; i++)
        if (memcmp(t->buf + i, needle, nl) == 0) n++;
    return n;
}

/* The record before the last one (k = 1) or the last one (k = 0). */
static const char *record_from_end(const trace *t, unsigned k, size_t *len)
{
    size_t end = t->len; /* one past the LF of the record */
    for (;;) {
        size_t start = end - 1;
        while (start > 0 && t->buf[start - 1] != 0x1e) start--;
        if (k == 0) {
            *len = end - 1 - start;
            return t->buf + start;
        }
        k--;
        end = start - 1;
    }
}

static bool record_has(const char *rec, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(rec + i, needle, nl) == 0) return true;
    return false;
}

/* ---- transfer + migration ---- */

#define SIZE (1u << 20)

typedef struct xfer {
    uint8_t *src;
    uint64_t id;
    size_t written, received;
    bool fin;
    uint8_t rbuf[65536];
} xfer;

static void pump(h_pair *p, xfer *x)
{
    while (x->written < SIZE) {
        size_t n = tern_conn_stream_write(p->client.conn, x->id, x->src + x->written, SIZE - x->written, true, NULL);
        if (!n) break;
        x->written += n;
    }
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    xfer *x = p->user;
    if (is_client && ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        assert_int_equal(tern_conn_stream_open(ev->conn, true, &x->id), TERN_OK);
        pump(p, x);
    } else if (is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) {
        pump(p, x);
    } else if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, x->rbuf, sizeof x->rbuf, &fin, &err);
            if (err) break;
            assert_memory_equal(x->rbuf, x->src + x->received, n);
            x->received += n;
            if (fin) x->fin = true;
            if (!n) break;
        }
    }
}

static bool not_done(void *ctx)
{
    h_pair *p = ctx;
    return !((xfer *)p->user)->fin;
}

static bool not_closed(void *ctx)
{
    h_pair *p = ctx;
    return !(p->client.closed && p->server.closed);
}

typedef struct mig_ctx {
    h_pair *p;
    tern_addr new_local;
} mig_ctx;

static void migrate(sim *s, void *ctx, tern_time now)
{
    mig_ctx *m = ctx;
    sim_link_params lp = sim_link_params_symmetric(TERN_MS(5), 50000000);
    lp.up.loss = lp.down.loss = 0.02; /* the new path loses as much */
    sim_node_add_addr(s, m->p->client.node->node, &m->new_local, &lp);
    assert_int_equal(tern_conn_migrate(m->p->client.conn, &m->new_local, NULL, now), TERN_OK);
    h_kick(m->p->client.node);
}

static void check_trace(const trace *t)
{
    assert_int_equal(t->closes, 1);
    long records = check_records(t->buf, t->len);
    assert_true(records > 10);
    assert_int_equal(count(t, t->is_server ? "\"type\":\"server\"" : "\"type\":\"client\""), 1);
    assert_int_equal(count(t, "\"name\":\"quic:connection_started\""), 1);
    assert_int_equal(count(t, "\"name\":\"quic:parameters_set\""), 2); /* local and remote */
    assert_true(count(t, "\"name\":\"quic:packet_sent\"") > 10);
    assert_true(count(t, "\"name\":\"quic:packet_received\"") > 10);
    assert_true(count(t, "\"frames\":[{\"frame_type\":\"ack\"") > 0);
    assert_true(count(t, "\"frame_type\":\"stream\"") > 0);
    assert_true(count(t, "\"frame_type\":\"crypto\"") > 0);
    assert_true(count(t, "\"name\":\"quic:recovery_metrics_updated\"") > 0);
    assert_true(count(t, "\"smoothed_rtt\"") > 0);
    assert_true(count(t, "\"name\":\"quic:congestion_state_updated\"") > 0);
    assert_true(count(t, "\"new\":\"handshake_complete\"") == 1);
    assert_true(count(t, "\"new\":\"handshake_confirmed\"") == 1);
    /* RFC 9001 §4.9: Initial and Handshake keys, both directions. */
    assert_true(count(t, "\"name\":\"quic:key_discarded\",\"data\":{\"key_type\":\"client_initial_secret\"") == 1);
    assert_true(count(t, "\"name\":\"quic:key_discarded\",\"data\":{\"key_type\":\"server_initial_secret\"") == 1);
    assert_true(count(t, "\"name\":\"quic:key_discarded\",\"data\":{\"key_type\":\"client_handshake_secret\"") == 1);
    assert_true(count(t, "\"name\":\"quic:key_discarded\",\"data\":{\"key_type\":\"server_handshake_secret\"") == 1);
    assert_true(count(t, "\"key_type\":\"client_1rtt_secret\"") >= 1);
    assert_true(count(t, "\"key_type\":\"server_1rtt_secret\"") >= 1);
    /* The client's move, seen from both sides. */
    assert_true(count(t, "\"name\":\"quic:path_assigned\"") >= 2);
    assert_true(count(t, "\"name\":\"tern:path_updated\"") >= 3);
    assert_true(count(t, "\"name\":\"quic:migration_state_updated\"") >= 1);
    assert_true(count(t, "\"new\":\"migration_complete\"") >= 1);
    /* The end: connection_closed, then the closed state. */
    assert_int_equal(count(t, "\"name\":\"quic:connection_closed\""), 1);
    size_t len;
    const char *last = record_from_end(t, 0, &len);
    assert_true(record_has(last, len, "\"new\":\"closed\""));
    const char *closed = record_from_end(t, 1, &len);
    assert_true(record_has(closed, len, "\"name\":\"quic:connection_closed\""));
    assert_true(record_has(closed, len, "\"application_code\":7"));
    assert_true(record_has(closed, len, t->is_server ? "\"owner\":\"remote\"" : "\"owner\":\"local\""));
    save_trace(t);
}

static void test_transfer_loss_migration(void **state)
{
    (void)state;
    qlog_ctx q;
    memset(&q, 0, sizeof q);
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    set_qlog(&cc, &q);
    set_qlog(&sc, &q);
    h_pair *p = h_pair_new(41, TERN_MS(5), 50000000, 0.02, &cc, &sc);
    xfer x;
    memset(&x, 0, sizeof x);
    x.src = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++) x.src[i] = (uint8_t)(i * 13 + (i >> 10));
    p->user = &x;
    p->on_event = on_event;
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(10)));
    /* The server's CIDs arrive with the first 1-RTT packets. */
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(50));
    mig_ctx m = {.p = p, .new_local = sim_addr("198.18.0.3:40001")};
    sim_at(p->s, sim_now(p->s) + TERN_MS(20), migrate, &m);
    assert_true(sim_run_while(p->s, not_done, p, sim_now(p->s) + TERN_SEC(120)));
    assert_int_equal(x.received, SIZE);
    assert_true(sim_addr_equal(&tern_conn_active_path(p->client.conn)->tuple.local, &m.new_local));

    tern_conn_stats st;
    tern_conn_get_stats(p->client.conn, &st);
    assert_true(st.packets_lost > 0);
    tern_conn_close(p->client.conn, 7, "done", sim_now(p->s));
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, not_closed, p, sim_now(p->s) + TERN_SEC(30)));
    h_pair_free(p); /* frees the connections: qlog_close */

    assert_int_equal(q.opens, 2);
    trace *client = q.traces[0].is_server ? &q.traces[1] : &q.traces[0];
    trace *server = q.traces[0].is_server ? &q.traces[0] : &q.traces[1];
    assert_true(!client->is_server && server->is_server);
    /* Same group_id on both sides: the client's first DCID. */
    assert_int_equal(client->odcid_len, server->odcid_len);
    assert_memory_equal(client->odcid, server->odcid, client->odcid_len);
    check_trace(client);
    check_trace(server);
    /* The sender saw its packets lost; the count matches the stats. */
    assert_int_equal(count(client, "\"name\":\"quic:packet_lost\""), st.packets_lost);
    assert_true(count(client, "\"trigger\":\"reordering_threshold\"") + count(client, "\"trigger\":\"time_threshold\"") >=
                st.packets_lost);
    /* The server validated the client's new address. */
    assert_true(count(server, "\"frame_type\":\"path_challenge\"") >= 1);
    assert_true(count(client, "\"new\":\"probing_successful\"") >= 1);
    printf("qlog: client %zu bytes, %ld records (%zu packet_lost); server %zu bytes, %ld records\n", client->len,
           check_records(client->buf, client->len), count(client, "quic:packet_lost"), server->len,
           check_records(server->buf, server->len));
    for (size_t i = 0; i < 4; i++) free(q.traces[i].buf);
    free(x.src);
}

/* Without qlog_open, the write and close callbacks are never called and no
 * connection has a trace; with a qlog_open that declines, nothing but the
 * open is called. */
static void run_small(qlog_ctx *q, bool with_open)
{
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    set_qlog(&cc, q);
    set_qlog(&sc, q);
    if (!with_open) cc.qlog_open = sc.qlog_open = NULL;
    h_pair *p = h_pair_new(42, TERN_MS(5), 50000000, 0.0, &cc, &sc);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    assert_null(p->client.conn->qlog);
    assert_null(p->server.conn->qlog);
    tern_conn_close(p->client.conn, 0, "bye", sim_now(p->s));
    h_kick(p->client.node);
    assert_true(sim_run_while(p->s, not_closed, p, sim_now(p->s) + TERN_SEC(30)));
    h_pair_free(p);
}

static void test_no_qlog_no_calls(void **state)
{
    (void)state;
    qlog_ctx q;
    memset(&q, 0, sizeof q);
    run_small(&q, false);
    assert_int_equal(q.opens, 0);
    for (size_t i = 0; i < 4; i++) assert_false(q.traces[i].used);

    memset(&q, 0, sizeof q);
    q.refuse = true;
    run_small(&q, true);
    assert_int_equal(q.opens, 2);
    for (size_t i = 0; i < 4; i++) assert_false(q.traces[i].used);
}

/* ---- key log ---- */

#define MAX_LINES 32

typedef struct keylog {
    char lines[MAX_LINES][TERN_TLS_KEYLOG_LINE_MAX];
    size_t count;
} keylog;

static void on_keylog(void *ctx, const char *line)
{
    keylog *k = ctx;
    assert_true(k->count < MAX_LINES);
    snprintf(k->lines[k->count++], TERN_TLS_KEYLOG_LINE_MAX, "%s", line);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* "LABEL <64 hex> <hex>": returns the label length, 0 when malformed. */
static size_t check_line(const char *line, char client_random[65])
{
    size_t label = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
    if (label == 0 || line[label] != ' ') return 0;
    const char *cr = line + label + 1;
    if (strlen(cr) < 66 || !is_hex(cr, 64) || cr[64] != ' ') return 0;
    const char *secret = cr + 65;
    size_t n = strlen(secret);
    /* A TLS 1.3 secret is a hash output: 32 or 48 bytes. */
    if ((n != 64 && n != 96) || !is_hex(secret, n)) return 0;
    memcpy(client_random, cr, 64);
    client_random[64] = 0;
    return label;
}

static bool has_label(const keylog *k, const char *label)
{
    size_t n = strlen(label);
    for (size_t i = 0; i < k->count; i++)
        if (strncmp(k->lines[i], label, n) == 0 && k->lines[i][n] == ' ') return true;
    return false;
}

static void update_keys(sim *s, void *ctx, tern_time now)
{
    (void)s;
    h_pair *p = ctx;
    assert_int_equal(tern_conn_update_keys(p->client.conn, now), TERN_OK);
    /* Something to send in the new key phase. */
    uint64_t id;
    assert_int_equal(tern_conn_stream_open(p->client.conn, true, &id), TERN_OK);
    assert_int_equal(tern_conn_stream_write(p->client.conn, id, (const uint8_t *)"ping", 4, true, NULL), 4);
    h_kick(p->client.node);
}

static void test_keylog_both_roles(void **state)
{
    (void)state;
    keylog kc, ks;
    memset(&kc, 0, sizeof kc);
    memset(&ks, 0, sizeof ks);
    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    cc.keylog = on_keylog;
    cc.keylog_ctx = &kc;
    sc.keylog = on_keylog;
    sc.keylog_ctx = &ks;
    h_pair *p = h_pair_new(43, TERN_MS(5), 50000000, 0.0, &cc, &sc);
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(100));
    static const char *const labels[] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                         "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"};
    for (size_t i = 0; i < 4; i++) {
        assert_true(has_label(&kc, labels[i]));
        assert_true(has_label(&ks, labels[i]));
    }
    /* Every line well-formed, all with the same client random on both
     * sides (one connection). */
    char first[65] = {0}, cr[65];
    const keylog *both[2] = {&kc, &ks};
    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < both[s]->count; i++) {
            assert_true(check_line(both[s]->lines[i], cr) > 0);
            if (!first[0]) memcpy(first, cr, sizeof first);
            assert_string_equal(cr, first);
        }
    /* A QUIC key update (RFC 9001 §6) has no SSLKEYLOGFILE label: no line. */
    size_t before_c = kc.count, before_s = ks.count;
    sim_at(p->s, sim_now(p->s) + TERN_MS(1), update_keys, p);
    sim_run_until(p->s, sim_now(p->s) + TERN_MS(200));
    tern_conn_stats st;
    tern_conn_get_stats(p->server.conn, &st);
    assert_int_equal(st.key_updates, 1);
    assert_int_equal(kc.count, before_c);
    assert_int_equal(ks.count, before_s);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_loss_migration),
        cmocka_unit_test(test_no_qlog_no_calls),
        cmocka_unit_test(test_keylog_both_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
