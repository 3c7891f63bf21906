/* Bandwidth-delay product: CUBIC (RFC 9438, RFC 9002 §7) must fill at least
 * 80 % of a 100 Mbit/s, 50 ms RTT bottleneck whose queue holds one BDP.
 * One bulk stream client -> server, long enough to leave slow start; the
 * goodput is measured over the second half of the bytes and after the
 * first 2 s (steady state), and the bytes are checked end to end with
 * sha256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/crypto.h>

#include "conn.h"
#include "harness/harness.h"

#define LINK_RATE_BPS 100000000ULL
/* RTT = client up + server down + server up + client down = 4 x 12.5 ms. */
#define ONE_WAY_DELAY TERN_US(12500)
#define RTT_SECONDS 0.050
/* One BDP of queue at the bottleneck (the client's uplink). */
#define BOTTLENECK_QUEUE ((size_t)(LINK_RATE_BPS / 8 * RTT_SECONDS))
#define TRANSFER_BYTES ((size_t)48 << 20)
#define PATTERN_BYTES 65536

typedef struct bulk {
    uint8_t pattern[PATTERN_BYTES];
    uint8_t chunk[PATTERN_BYTES];
    uint64_t id;
    size_t written, received;
    bool fin;
    gnutls_hash_hd_t sent_hash, received_hash;
    tern_time start, half_at, end, two_s;
    size_t at_two_s;
} bulk;

/* Byte i of the stream: a random pattern, varied per 64 KiB block so that
 * a misplaced block changes the hash. */
static void fill_chunk(const bulk *b, size_t offset, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        size_t pos = offset + i;
        out[i] = (uint8_t)(b->pattern[pos % PATTERN_BYTES] ^ (uint8_t)(pos / PATTERN_BYTES));
    }
}

static void pump_writes(h_pair *p, bulk *b)
{
    while (b->written < TRANSFER_BYTES) {
        size_t len = TRANSFER_BYTES - b->written;
        if (len > sizeof b->chunk) len = sizeof b->chunk;
        fill_chunk(b, b->written, b->chunk, len);
        tern_err err;
        bool last = b->written + len == TRANSFER_BYTES;
        size_t n = tern_conn_stream_write(p->client.conn, b->id, b->chunk, len, last, &err);
        assert_int_equal(err, TERN_OK);
        gnutls_hash(b->sent_hash, b->chunk, n);
        b->written += n;
        if (n < len) break; /* send buffer full: wait for STREAM_WRITABLE */
    }
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    bulk *b = p->user;
    tern_time now = sim_now(p->s);
    if (is_client && ev->type == TERN_EVENT_HANDSHAKE_DONE) {
        assert_int_equal(tern_conn_stream_open(ev->conn, true, &b->id), TERN_OK);
        b->start = now;
        pump_writes(p, b);
    } else if (is_client && ev->type == TERN_EVENT_STREAM_WRITABLE) {
        pump_writes(p, b);
    } else if (!is_client && ev->type == TERN_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            tern_err err;
            size_t n = tern_conn_stream_read(ev->conn, ev->stream_id, b->chunk, sizeof b->chunk, &fin, &err);
            if (err) break;
            gnutls_hash(b->received_hash, b->chunk, n);
            b->received += n;
            if (!b->half_at && b->received >= TRANSFER_BYTES / 2) b->half_at = now;
            if (fin && !b->fin) {
                b->fin = true;
                b->end = now;
            }
            if (!n) break;
        }
    }
}

static bool not_done(void *ctx)
{
    h_pair *p = ctx;
    const bulk *b = p->user;
    return !b->fin;
}

/* Steady state by time as well: the bytes received 2 s after the start. */
static void mark_two_seconds(sim *s, void *ctx, tern_time now)
{
    (void)s;
    bulk *b = ((h_pair *)ctx)->user;
    b->at_two_s = b->received;
    b->two_s = now;
}

static double mbit_per_s(size_t bytes, tern_time t)
{
    return (double)bytes * 8.0 / ((double)t / 1e9) / 1e6;
}

static void test_cubic_fills_100mbit_50ms(void **state)
{
    (void)state;
    h_pair *p = h_pair_new(42, ONE_WAY_DELAY, LINK_RATE_BPS, 0.0, NULL, NULL);
    sim_link_dir(p->clink, SIM_UP)->queue_limit_bytes = BOTTLENECK_QUEUE;
    bulk *b = calloc(1, sizeof *b);
    assert_non_null(b);
    uint32_t v = 12345;
    for (size_t i = 0; i < PATTERN_BYTES; i++) {
        v = v * 1103515245u + 12345u;
        b->pattern[i] = (uint8_t)(v >> 16);
    }
    assert_int_equal(gnutls_hash_init(&b->sent_hash, GNUTLS_DIG_SHA256), 0);
    assert_int_equal(gnutls_hash_init(&b->received_hash, GNUTLS_DIG_SHA256), 0);
    p->user = b;
    p->on_event = on_event;
    h_pair_connect(p);
    assert_true(h_pair_run_handshake(p, TERN_SEC(5)));
    sim_at(p->s, b->start + TERN_SEC(2), mark_two_seconds, p);
    assert_true(sim_run_while(p->s, not_done, p, sim_now(p->s) + TERN_SEC(120)));

    assert_int_equal(b->received, TRANSFER_BYTES);
    uint8_t sent[32], received[32];
    gnutls_hash_deinit(b->sent_hash, sent);
    gnutls_hash_deinit(b->received_hash, received);
    assert_memory_equal(sent, received, 32);

    tern_conn_stats st;
    tern_conn_get_stats(p->client.conn, &st);
    uint64_t queue_drops = sim_link_counters(p->clink, SIM_UP)->dropped[SIM_DROP_QUEUE_FULL];
    double overall = mbit_per_s(TRANSFER_BYTES, b->end - b->start);
    double second_half = mbit_per_s(TRANSFER_BYTES - TRANSFER_BYTES / 2, b->end - b->half_at);
    double after_two_s = mbit_per_s(TRANSFER_BYTES - b->at_two_s, b->end - b->two_s);
    printf("CUBIC, %zu MiB over 100 Mbit/s, 50 ms RTT, %zu-byte bottleneck queue: %.3f s simulated; goodput "
           "%.1f Mbit/s overall, %.1f Mbit/s over the second half of the bytes, %.1f Mbit/s after the first 2 s; "
           "%llu packets sent, %llu declared lost, %llu queue drops; srtt %.1f ms, min_rtt %.1f ms, cwnd %llu\n",
           TRANSFER_BYTES >> 20, BOTTLENECK_QUEUE, (double)(b->end - b->start) / 1e9, overall, second_half,
           after_two_s, (unsigned long long)st.packets_sent, (unsigned long long)st.packets_lost,
           (unsigned long long)queue_drops, (double)st.smoothed_rtt / 1e6, (double)st.min_rtt / 1e6,
           (unsigned long long)st.cwnd);
    /* The bottleneck queue overflowed: CUBIC was window-limited and saw
     * losses, not held back by flow control or the send buffer. */
    assert_true(queue_drops > 0);
    assert_true(b->two_s > 0 && b->at_two_s < TRANSFER_BYTES / 2);
    assert_true(second_half >= 0.80 * (LINK_RATE_BPS / 1e6));
    assert_true(after_two_s >= 0.80 * (LINK_RATE_BPS / 1e6));

    free(b);
    p->user = NULL;
    p->on_event = NULL;
    h_pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cubic_fills_100mbit_50ms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
