/* Milestone 2: streams, loss recovery, congestion control and flow control
 * end to end over the simulator (RFC 9000 §2-4, §13; RFC 9002). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "harness/harness.h"

#define MAX_STREAMS_T 128

typedef struct xfer {
    const uint8_t *src;
    size_t size;
    size_t nstreams;          /* streams opened by the client, each carries `size` */
    uint64_t ids[MAX_STREAMS_T];
    size_t written[MAX_STREAMS_T];
    uint8_t *dst[MAX_STREAMS_T]; /* server side, by stream index */
    size_t received[MAX_STREAMS_T];
    bool fin[MAX_STREAMS_T];
    size_t done;
    uint8_t rbuf[65536];
} xfer;

static size_t index_of(uint64_t id) { return (size_t)(id >> 2); }

static void pump_writes(h_pair *p, xfer *x)
{
    tern_conn *c = p->client.conn;
    for (size_t i = 0; i < x->nstreams; i++) {
        while (x->written[i] < x->size) {
            tern_err err;
            size_t n = tern_conn_stream_write(c, x->ids[i], x->src + x->written[i], x->size - x->written[i], true, &err);
            assert_int_equal(err, TERN_OK);
            if (!n) break;
            x->written[i] += n;
        }
    }
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    xfer *x = p->user;
    if (is_client && ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        for (size_t i = 0; i < x->nstreams; i++)
            assert_int_equal(tern_conn_stream_open(ev->conn, true, &x->ids[i]), TERN_OK);
        pump_writes(p, x);
    } else if (is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) {
        pump_writes(p, x);
    } else if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        size_t i = index_of(ev->stream_id);
        assert_true(i < x->nstreams);
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, x->rbuf, sizeof x->rbuf, &fin, &err);
            if (err) break; /* already finished and freed */
            assert_true(x->received[i] + n <= x->size);
            memcpy(x->dst[i] + x->received[i], x->rbuf, n);
            x->received[i] += n;
            if (fin && !x->fin[i]) {
                x->fin[i] = true;
                x->done++;
            }
            if (!n) break;
        }
    }
}

static bool not_done(void *ctx)
{
    h_pair *p = ctx;
    xfer *x = p->user;
    return x->done < x->nstreams;
}

static uint8_t *make_data(size_t size, uint32_t seed)
{
    uint8_t *d = malloc(size);
    uint32_t v = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        v = v * 1103515245u + 12345u;
        d[i] = (uint8_t)(v >> 16);
    }
    return d;
}

/* Runs a transfer of nstreams x size bytes client -> server; returns the
 * simulated time it took after the handshake. */
static tern_time run_transfer(uint64_t seed, tern_time delay, uint64_t rate, double loss, size_t size, size_t nstreams,
                              const tern_config *ccfg, const tern_config *scfg, h_pair **out_pair)
{
    h_pair *p = h_pair_new(seed, delay, rate, loss, ccfg, scfg);
    xfer *x = calloc(1, sizeof *x);
    x->src = make_data(size, (uint32_t)seed);
    x->size = size;
    x->nstreams = nstreams;
    for (size_t i = 0; i < nstreams; i++) x->dst[i] = malloc(size ? size : 1);
    p->user = x;
    p->on_event = on_event;
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(60)));
    tern_time start = sim_now(p->s);
    bool ok = sim_run_while(p->s, not_done, p, start + TERN_SEC(3600));
    if (!ok) {
        fprintf(stderr, "transfer stalled: %zu/%zu streams, received[0]=%zu written[0]=%zu\n", x->done, nstreams,
                x->received[0], x->written[0]);
    }
    assert_true(ok);
    tern_time took = sim_now(p->s) - start;
    uint8_t a[32], b[32];
    h_sha256(x->src, size, a);
    for (size_t i = 0; i < nstreams; i++) {
        assert_int_equal(x->received[i], size);
        h_sha256(x->dst[i], size, b);
        assert_memory_equal(a, b, 32);
        free(x->dst[i]);
    }
    free((void *)x->src);
    free(x);
    p->user = NULL;
    p->on_event = NULL;
    if (out_pair) *out_pair = p;
    else h_pair_free(p);
    return took;
}

static void transfer_10mb(double loss, uint64_t seed)
{
    h_pair *p;
    tern_time t = run_transfer(seed, TERN_MS(5), 200000000, loss, 10u << 20, 1, NULL, NULL, &p);
    tern_conn_stats st;
    tern_conn_get_stats(p->client.conn, &st);
    printf("10 MB at %.0f%% loss: %.3f s simulated, %llu packets sent, %llu lost\n", loss * 100, (double)t / 1e9,
           (unsigned long long)st.packets_sent, (unsigned long long)st.packets_lost);
    h_pair_free(p);
}

static void test_10mb_no_loss(void **state) { (void)state; transfer_10mb(0.0, 100); }
static void test_10mb_1pct_loss(void **state) { (void)state; transfer_10mb(0.01, 101); }
static void test_10mb_5pct_loss(void **state) { (void)state; transfer_10mb(0.05, 102); }
static void test_10mb_20pct_loss(void **state) { (void)state; transfer_10mb(0.20, 103); }

static void test_100_streams(void **state)
{
    (void)state;
    run_transfer(7, TERN_MS(5), 100000000, 0.01, 50000, 100, NULL, NULL, NULL);
}

/* Tiny windows without auto-tuning: the sender is flow-control limited and
 * must wait for MAX_DATA / MAX_STREAM_DATA (and says so with *_BLOCKED). */
static void test_flow_control_limited(void **state)
{
    (void)state;
    tern_config sc;
    h_server_config(&sc);
    sc.initial_max_data = 20000;
    sc.initial_max_stream_data = 8000;
    sc.max_connection_window = 0;
    sc.max_stream_window = 0;
    h_pair *p;
    run_transfer(8, TERN_MS(5), 0, 0.0, 1u << 20, 2, NULL, &sc, &p);
    h_pair_free(p);
}

/* The measurement asked for: 10 MB on a 100 Mbit/s, 50 ms RTT path. */
static void test_10mb_100mbit_50ms(void **state)
{
    (void)state;
    h_pair *p;
    /* RTT = client up + server down + server up + client down = 4 x 12.5 ms. */
    tern_time t = run_transfer(9, TERN_US(12500), 100000000, 0.0, 10u << 20, 1, NULL, NULL, &p);
    tern_conn_stats st;
    tern_conn_get_stats(p->client.conn, &st);
    printf("10 MB over 100 Mbit/s, 50 ms RTT: %.3f s simulated (%.1f Mbit/s goodput), srtt %.1f ms, cwnd %llu\n",
           (double)t / 1e9, (10.0 * 8 * 1048576) / ((double)t / 1e9) / 1e6, (double)st.smoothed_rtt / 1e6,
           (unsigned long long)st.cwnd);
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_10mb_no_loss),     cmocka_unit_test(test_10mb_1pct_loss),
        cmocka_unit_test(test_10mb_5pct_loss),   cmocka_unit_test(test_10mb_20pct_loss),
        cmocka_unit_test(test_100_streams),      cmocka_unit_test(test_flow_control_limited),
        cmocka_unit_test(test_10mb_100mbit_50ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
