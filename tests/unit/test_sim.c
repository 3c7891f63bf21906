/* The network simulator (tests/sim): link model, NAT, addresses, timers,
 * determinism and speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "sim/sim.h"

/* ---- A test peer: logs what it receives, can echo, can pace sends. ---- */

typedef struct received {
    tern_time time;
    tern_addr local;
    tern_addr remote;
    uint8_t ecn;
    uint32_t seq;
    size_t len;
} received;

typedef struct peer {
    sim *s;
    sim_node *node;
    bool echo;
    received *log;
    size_t count;
    size_t capacity;

    /* Paced sender: `total` datagrams of `size` bytes, one per `interval`,
     * from `from` to `to`, starting at next_send. */
    tern_addr from;
    tern_addr to;
    uint32_t total;
    uint32_t sent;
    size_t size;
    tern_time interval;
    tern_time next_send;
} peer;

static void put_seq(uint8_t *buf, uint32_t seq)
{
    buf[0] = (uint8_t)(seq >> 24);
    buf[1] = (uint8_t)(seq >> 16);
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
}

static uint32_t get_seq(const uint8_t *buf)
{
    return (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
}

static void send_seq(peer *p, tern_time now, const tern_addr *from, const tern_addr *to,
                     uint32_t seq, size_t size, uint8_t ecn)
{
    uint8_t buf[2048] = {0};
    assert_true(size >= 4 && size <= sizeof buf);
    put_seq(buf, seq);
    sim_send(p->s, p->node, now, from, to, ecn, buf, size);
}

static void peer_receive(void *ctx, tern_time now, const tern_addr *local,
                         const tern_addr *remote, uint8_t ecn, const uint8_t *data, size_t len)
{
    peer *p = ctx;
    if (p->count == p->capacity) {
        p->capacity = p->capacity ? 2 * p->capacity : 64;
        p->log = realloc(p->log, p->capacity * sizeof *p->log);
        assert_non_null(p->log);
    }
    received *r = &p->log[p->count++];
    *r = (received){.time = now, .local = *local, .remote = *remote, .ecn = ecn, .len = len,
                    .seq = len >= 4 ? get_seq(data) : 0};
    if (p->echo)
        sim_send(p->s, p->node, now, local, remote, ecn, data, len);
}

static tern_time peer_next_timer(void *ctx)
{
    peer *p = ctx;
    return p->sent < p->total ? p->next_send : TERN_TIME_INFINITE;
}

static void peer_on_timer(void *ctx, tern_time now)
{
    peer *p = ctx;
    while (p->sent < p->total && p->next_send <= now) {
        send_seq(p, now, &p->from, &p->to, p->sent++, p->size, 0);
        p->next_send += p->interval;
    }
}

static const sim_node_callbacks peer_callbacks = {
    .receive = peer_receive, .next_timer = peer_next_timer, .on_timer = peer_on_timer};

static void peer_init(peer *p, sim *s, const char *name)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    p->node = sim_node_add(s, &peer_callbacks, p, name);
    assert_non_null(p->node);
}

/* Starts pacing; polls the timer because this runs outside a callback. */
static void peer_pace(peer *p, const tern_addr *from, const tern_addr *to, uint32_t total,
                      size_t size, tern_time start, tern_time interval)
{
    p->from = *from;
    p->to = *to;
    p->total = total;
    p->sent = 0;
    p->size = size;
    p->next_send = start;
    p->interval = interval;
    sim_node_poll_timer(p->s, p->node);
}

static void peer_free(peer *p)
{
    free(p->log);
}

/* Two public hosts A=10.0.0.1:1000 and B=10.0.0.2:2000. */
typedef struct pair {
    sim *s;
    peer a, b;
    tern_addr addr_a, addr_b;
    sim_link *link_a, *link_b;
} pair;

static void pair_init(pair *t, uint64_t seed, const sim_link_params *la,
                      const sim_link_params *lb)
{
    t->s = sim_new(seed);
    assert_non_null(t->s);
    peer_init(&t->a, t->s, "a");
    peer_init(&t->b, t->s, "b");
    t->addr_a = sim_addr("10.0.0.1:1000");
    t->addr_b = sim_addr("10.0.0.2:2000");
    t->link_a = sim_node_add_addr(t->s, t->a.node, &t->addr_a, la);
    t->link_b = sim_node_add_addr(t->s, t->b.node, &t->addr_b, lb);
    assert_non_null(t->link_a);
    assert_non_null(t->link_b);
}

static void pair_free(pair *t)
{
    peer_free(&t->a);
    peer_free(&t->b);
    sim_free(t->s);
}

/* ---- Tests. ---- */

static void test_addr_format_parse(void **state)
{
    (void)state;
    char buf[SIM_ADDR_STRLEN];
    tern_addr a = sim_addr_v4(192, 0, 2, 1, 443);
    assert_string_equal(sim_addr_format(&a, buf, sizeof buf), "192.0.2.1:443");
    tern_addr b;
    assert_true(sim_addr_parse("[2001:db8::1]:4433", &b));
    assert_int_equal(b.family, TERN_AF_INET6);
    assert_int_equal(b.port, 4433);
    assert_string_equal(sim_addr_format(&b, buf, sizeof buf), "[2001:db8::1]:4433");
    assert_true(sim_addr_parse("2001:db8::2", &b));
    assert_int_equal(b.port, 0);
    assert_true(sim_addr_parse("192.0.2.1:443", &b));
    assert_true(sim_addr_equal(&a, &b));
    tern_addr none = {0};
    assert_string_equal(sim_addr_format(&none, buf, sizeof buf), "none");
    assert_false(sim_addr_parse("192.0.2.1:70000", &b));
    assert_false(sim_addr_parse("300.0.2.1:1", &b));
    assert_false(sim_addr_parse("[::1", &b));
    assert_false(sim_addr_parse("1.2.3.4:", &b));
}

static void test_rng_reproducible(void **state)
{
    (void)state;
    sim_rng r1, r2, r3;
    sim_rng_seed(&r1, 42);
    sim_rng_seed(&r2, 42);
    sim_rng_seed(&r3, 43);
    bool differs = false;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sim_rng_next(&r1);
        assert_true(x == sim_rng_next(&r2));
        differs |= x != sim_rng_next(&r3);
        assert_true(sim_rng_below(&r1, 10) < 10);
        double d = sim_rng_double(&r1);
        assert_true(d >= 0.0 && d < 1.0);
        sim_rng_below(&r2, 10);
        sim_rng_double(&r2);
    }
    assert_true(differs);
}

static void test_delay_is_exact(void **state)
{
    (void)state;
    sim_link_params la = {.up.delay = TERN_MS(7), .down.delay = TERN_MS(3)};
    sim_link_params lb = {.up.delay = TERN_MS(11), .down.delay = TERN_MS(5)};
    pair t;
    pair_init(&t, 1, &la, &lb);
    send_seq(&t.a, 0, &t.addr_a, &t.addr_b, 1, 100, 0);
    sim_run_until(t.s, TERN_MS(100));
    assert_int_equal(sim_now(t.s), TERN_MS(100));
    send_seq(&t.b, TERN_MS(100), &t.addr_b, &t.addr_a, 2, 100, 0);
    sim_run_until(t.s, TERN_SEC(1));

    assert_int_equal(t.b.count, 1);
    assert_true(t.b.log[0].time == TERN_MS(12)); /* A up 7 + B down 5 */
    assert_true(sim_addr_equal(&t.b.log[0].remote, &t.addr_a));
    assert_true(sim_addr_equal(&t.b.log[0].local, &t.addr_b));
    assert_int_equal(t.a.count, 1);
    assert_true(t.a.log[0].time == TERN_MS(114)); /* 100 + B up 11 + A down 3 */
    assert_int_equal(sim_global_counters(t.s)->delivered_packets, 2);
    assert_int_equal(sim_counters_dropped_total(sim_global_counters(t.s)), 0);
    pair_free(&t);
}

static void test_rate_limit_throughput(void **state)
{
    (void)state;
    const uint64_t rate = 10000000; /* 10 Mbit/s */
    const uint32_t packets = 2000;
    const size_t size = 1200;
    sim_link_params la = {.up = {.delay = TERN_MS(1), .rate_bps = rate}};
    pair t;
    pair_init(&t, 1, &la, NULL);
    /* Offer twice the link rate; the queue has no limit. */
    peer_pace(&t.a, &t.addr_a, &t.addr_b, packets, size, 0, TERN_US(480));
    sim_run_until(t.s, TERN_SEC(10));

    assert_int_equal(t.b.count, packets);
    tern_time serialization = (tern_time)size * 8 * 1000000000ULL / rate;
    tern_time first = t.b.log[0].time, last = t.b.log[packets - 1].time;
    assert_true(first == TERN_MS(1) + serialization);
    double seconds = (double)(last - first + serialization) / 1e9;
    double measured = (double)packets * (double)size * 8.0 / seconds;
    assert_true(measured > rate * 0.99 && measured < rate * 1.01);
    pair_free(&t);
}

static void test_queue_limit_tail_drop(void **state)
{
    (void)state;
    sim_link_params la = {.up = {.rate_bps = 1000000, .queue_limit_bytes = 10000}};
    pair t;
    pair_init(&t, 1, &la, NULL);
    for (uint32_t i = 0; i < 100; i++)
        send_seq(&t.a, 0, &t.addr_a, &t.addr_b, i, 1000, 0);
    sim_run_until(t.s, TERN_SEC(5));

    /* Ten 1000-byte packets fill the 10000-byte queue; the rest are tail
     * dropped, and the survivors are the first ten. */
    assert_int_equal(t.b.count, 10);
    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(t.b.log[i].seq, i);
    const sim_counters *up = sim_link_counters(t.link_a, SIM_UP);
    assert_int_equal(up->dropped[SIM_DROP_QUEUE_FULL], 90);
    assert_int_equal(sim_global_counters(t.s)->dropped[SIM_DROP_QUEUE_FULL], 90);
    assert_int_equal(up->sent_packets, 100);
    assert_int_equal(up->delivered_packets, 10);

    /* Once drained, the queue accepts again. */
    send_seq(&t.a, sim_now(t.s), &t.addr_a, &t.addr_b, 100, 1000, 0);
    sim_run_until(t.s, TERN_SEC(6));
    assert_int_equal(t.b.count, 11);
    pair_free(&t);
}

static void test_random_loss_rate(void **state)
{
    (void)state;
    const uint32_t n = 100000;
    const double loss = 0.1;
    sim_link_params la = {.up = {.loss = loss}};
    pair t;
    pair_init(&t, 7, &la, NULL);
    peer_pace(&t.a, &t.addr_a, &t.addr_b, n, 100, 0, TERN_US(10));
    sim_run_until(t.s, TERN_SEC(10));

    double expected = n * loss;
    double sigma = 94.87; /* sqrt(n * p * (1 - p)) */
    uint64_t lost = sim_link_counters(t.link_a, SIM_UP)->dropped[SIM_DROP_RANDOM_LOSS];
    assert_int_equal(lost + t.b.count, n);
    assert_true((double)lost > expected - 5 * sigma && (double)lost < expected + 5 * sigma);
    pair_free(&t);
}

/* Mean length of runs of consecutive missing sequence numbers. */
static double mean_loss_burst(const peer *receiver, uint32_t total, uint32_t *lost_out)
{
    uint8_t *seen = calloc(total, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < receiver->count; i++)
        seen[receiver->log[i].seq] = 1;
    uint32_t lost = 0, bursts = 0;
    for (uint32_t i = 0; i < total; i++) {
        if (seen[i])
            continue;
        lost++;
        if (i == 0 || seen[i - 1])
            bursts++;
    }
    free(seen);
    *lost_out = lost;
    return bursts ? (double)lost / bursts : 0.0;
}

static void test_burst_loss_makes_bursts(void **state)
{
    (void)state;
    const uint32_t n = 100000;
    /* Stationary loss p / (p + r) = 0.0385; mean burst 1 / r = 4. */
    sim_link_params bursty = {.up.burst = {.p_good_to_bad = 0.01, .p_bad_to_good = 0.25,
                                           .loss_in_good = 0.0, .loss_in_bad = 1.0}};
    pair t;
    pair_init(&t, 3, &bursty, NULL);
    peer_pace(&t.a, &t.addr_a, &t.addr_b, n, 100, 0, TERN_US(10));
    sim_run_until(t.s, TERN_SEC(10));
    uint32_t lost;
    double burst = mean_loss_burst(&t.b, n, &lost);
    assert_true(lost > 3000 && lost < 4700);
    assert_true(burst > 3.3 && burst < 4.7);
    assert_int_equal(sim_link_counters(t.link_a, SIM_UP)->dropped[SIM_DROP_BURST_LOSS], lost);
    pair_free(&t);

    /* Independent loss at the same rate hardly ever loses two in a row. */
    sim_link_params iid = {.up.loss = 0.0385};
    pair_init(&t, 3, &iid, NULL);
    peer_pace(&t.a, &t.addr_a, &t.addr_b, n, 100, 0, TERN_US(10));
    sim_run_until(t.s, TERN_SEC(10));
    burst = mean_loss_burst(&t.b, n, &lost);
    assert_true(burst < 1.1);
    pair_free(&t);
}

static void test_reordering_and_duplication(void **state)
{
    (void)state;
    sim_link_params la = {.up = {.delay = TERN_MS(10), .reorder_prob = 0.1,
                                 .reorder_delay = TERN_MS(5)}};
    pair t;
    pair_init(&t, 11, &la, NULL);
    peer_pace(&t.a, &t.addr_a, &t.addr_b, 1000, 100, 0, TERN_MS(1));
    sim_run_until(t.s, TERN_SEC(5));
    assert_int_equal(t.b.count, 1000);
    size_t out_of_order = 0;
    uint32_t highest = 0;
    for (size_t i = 0; i < t.b.count; i++) {
        if (t.b.log[i].seq < highest)
            out_of_order++;
        else
            highest = t.b.log[i].seq;
    }
    uint64_t reordered = sim_link_counters(t.link_a, SIM_UP)->reordered;
    assert_int_equal(out_of_order, reordered);
    assert_true(reordered > 60 && reordered < 140);
    pair_free(&t);

    sim_link_params dup = {.up = {.delay = TERN_MS(10), .duplicate_prob = 0.1}};
    pair_init(&t, 11, &dup, NULL);
    peer_pace(&t.a, &t.addr_a, &t.addr_b, 1000, 100, 0, TERN_MS(1));
    sim_run_until(t.s, TERN_SEC(5));
    uint64_t duplicated = sim_link_counters(t.link_a, SIM_UP)->duplicated;
    assert_true(duplicated > 60 && duplicated < 140);
    assert_int_equal(t.b.count, 1000 + duplicated);
    assert_int_equal(sim_global_counters(t.s)->duplicated, duplicated);
    pair_free(&t);
}

static void set_blackhole(sim *s, void *ctx, tern_time now)
{
    (void)s;
    (void)now;
    sim_link_dir(ctx, SIM_DOWN)->blackhole = true;
}

static void lift_blackhole(sim *s, void *ctx, tern_time now)
{
    (void)s;
    (void)now;
    sim_link_set_blackhole(ctx, false, false);
}

static void test_blackhole_and_lift(void **state)
{
    (void)state;
    pair t;
    pair_init(&t, 1, NULL, NULL);
    peer_pace(&t.a, &t.addr_a, &t.addr_b, 300, 100, 0, TERN_MS(1));
    sim_at(t.s, TERN_MS(100), set_blackhole, t.link_b);
    sim_at(t.s, TERN_MS(200), lift_blackhole, t.link_b);
    sim_run_until(t.s, TERN_SEC(1));
    assert_int_equal(t.b.count, 200);
    assert_int_equal(sim_link_counters(t.link_b, SIM_DOWN)->dropped[SIM_DROP_BLACKHOLE], 100);
    for (size_t i = 0; i < t.b.count; i++)
        assert_true(t.b.log[i].seq < 100 || t.b.log[i].seq >= 200);
    pair_free(&t);
}

static void test_path_block(void **state)
{
    (void)state;
    pair t;
    pair_init(&t, 1, NULL, NULL);
    tern_addr other = sim_addr("10.0.0.1:1001");
    assert_non_null(sim_node_add_addr(t.s, t.a.node, &other, NULL));
    sim_path_block(t.s, &t.addr_a, &t.addr_b, true);
    send_seq(&t.a, 0, &t.addr_a, &t.addr_b, 1, 100, 0);
    send_seq(&t.b, 0, &t.addr_b, &t.addr_a, 2, 100, 0);
    send_seq(&t.a, 0, &other, &t.addr_b, 3, 100, 0); /* another path: open */
    sim_run_until(t.s, TERN_MS(1));
    assert_int_equal(t.b.count, 1);
    assert_int_equal(t.b.log[0].seq, 3);
    assert_int_equal(t.a.count, 0);
    assert_int_equal(sim_global_counters(t.s)->dropped[SIM_DROP_PATH_BLOCKED], 2);
    sim_path_block(t.s, &t.addr_a, &t.addr_b, false);
    send_seq(&t.a, sim_now(t.s), &t.addr_a, &t.addr_b, 4, 100, 0);
    sim_run_until(t.s, TERN_MS(2));
    assert_int_equal(t.b.count, 2);
    pair_free(&t);
}

static void test_mtu_and_ecn_marking(void **state)
{
    (void)state;
    sim_link_params la = {.up = {.rate_bps = 1000000, .mtu = 1200, .ecn_ce_threshold = 2500}};
    pair t;
    pair_init(&t, 1, &la, NULL);
    send_seq(&t.a, 0, &t.addr_a, &t.addr_b, 0, 1201, 2);
    for (uint32_t i = 1; i <= 5; i++)
        send_seq(&t.a, 0, &t.addr_a, &t.addr_b, i, 1000, 2 /* ECT(0) */);
    sim_run_until(t.s, TERN_SEC(1));
    assert_int_equal(sim_global_counters(t.s)->dropped[SIM_DROP_MTU], 1);
    assert_int_equal(t.b.count, 5);
    /* Backlog before packets 1..5: 0, 1000, 2000, 3000, 4000 bytes. */
    const uint8_t expected_ecn[] = {2, 2, 2, 3, 3};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(t.b.log[i].ecn, expected_ecn[i]);
    assert_int_equal(sim_link_counters(t.link_a, SIM_UP)->ce_marked, 2);
    pair_free(&t);
}

/* Client 10.0.0.2:5000 behind a NAT (public 198.51.100.1), echo server at
 * 203.0.113.1:443, and a stranger at 203.0.113.9:9. */
typedef struct nat_world {
    sim *s;
    peer client, server, stranger;
    sim_nat *nat;
    tern_addr client_private, server_addr, stranger_addr;
} nat_world;

static void nat_world_init(nat_world *w, const sim_nat_config *cfg)
{
    w->s = sim_new(5);
    peer_init(&w->client, w->s, "client");
    peer_init(&w->server, w->s, "server");
    peer_init(&w->stranger, w->s, "stranger");
    w->server.echo = true;
    tern_addr public_addr = sim_addr("198.51.100.1:40000");
    sim_link_params wan = sim_link_params_symmetric(TERN_MS(5), 0);
    w->nat = sim_nat_add(w->s, &public_addr, cfg, &wan);
    assert_non_null(w->nat);
    w->client_private = sim_addr("10.0.0.2:5000");
    w->server_addr = sim_addr("203.0.113.1:443");
    w->stranger_addr = sim_addr("203.0.113.9:9");
    sim_link_params lan = sim_link_params_symmetric(TERN_MS(1), 0);
    assert_non_null(sim_node_add_addr_behind_nat(w->s, w->client.node, w->nat,
                                                 &w->client_private, &lan));
    sim_link_params server_link = sim_link_params_symmetric(TERN_MS(10), 0);
    assert_non_null(sim_node_add_addr(w->s, w->server.node, &w->server_addr, &server_link));
    assert_non_null(sim_node_add_addr(w->s, w->stranger.node, &w->stranger_addr, NULL));
}

static void nat_world_free(nat_world *w)
{
    peer_free(&w->client);
    peer_free(&w->server);
    peer_free(&w->stranger);
    sim_free(w->s);
}

static void rebind_nat(sim *s, void *ctx, tern_time now)
{
    (void)now;
    tern_addr moved = sim_addr("198.51.100.2:50000");
    sim_nat_rebind(s, ctx, &moved);
}

static void test_nat_mapping_and_rebinding(void **state)
{
    (void)state;
    nat_world w;
    nat_world_init(&w, NULL);
    send_seq(&w.client, 0, &w.client_private, &w.server_addr, 1, 100, 0);
    sim_run_until(w.s, TERN_MS(100));

    tern_addr first_public = sim_addr("198.51.100.1:40000");
    assert_int_equal(w.server.count, 1);
    assert_true(sim_addr_equal(&w.server.log[0].remote, &first_public));
    /* LAN 1 + NAT uplink 5 + server downlink 10. */
    assert_true(w.server.log[0].time == TERN_MS(16));
    assert_int_equal(w.client.count, 1); /* the echo came back through the NAT */
    assert_true(sim_addr_equal(&w.client.log[0].local, &w.client_private));
    assert_true(sim_addr_equal(&w.client.log[0].remote, &w.server_addr));
    assert_true(w.client.log[0].time == TERN_MS(32));
    tern_addr mapped;
    assert_true(sim_nat_lookup(w.s, w.nat, &w.client_private, &mapped));
    assert_true(sim_addr_equal(&mapped, &first_public));
    assert_int_equal(sim_nat_mapping_count(w.s, w.nat), 1);

    /* Endpoint-independent filtering: a stranger reaches the mapped port. */
    send_seq(&w.stranger, sim_now(w.s), &w.stranger_addr, &first_public, 2, 100, 0);
    sim_run_until(w.s, TERN_MS(200));
    assert_int_equal(w.client.count, 2);

    /* Rebinding: new IP and port; the old mapping is gone. */
    sim_at(w.s, TERN_MS(300), rebind_nat, w.nat);
    sim_run_until(w.s, TERN_MS(400));
    tern_addr second_public = sim_addr("198.51.100.2:50000");
    assert_true(sim_addr_equal(sim_nat_public_addr(w.nat), &(tern_addr){
        .family = TERN_AF_INET, .ip = {198, 51, 100, 2}}));
    send_seq(&w.server, sim_now(w.s), &w.server_addr, &first_public, 3, 100, 0);
    send_seq(&w.client, sim_now(w.s), &w.client_private, &w.server_addr, 4, 100, 0);
    sim_run_until(w.s, TERN_MS(500));
    assert_int_equal(sim_global_counters(w.s)->dropped[SIM_DROP_NO_ROUTE], 1); /* old IP */
    assert_int_equal(w.server.count, 2);
    assert_true(sim_addr_equal(&w.server.log[1].remote, &second_public));
    assert_int_equal(w.client.count, 3); /* return traffic still arrives */
    assert_int_equal(w.client.log[2].seq, 4);

    /* A port-only rebind: the same IP, the next port. */
    sim_nat_rebind(w.s, w.nat, NULL);
    send_seq(&w.server, sim_now(w.s), &w.server_addr, &second_public, 5, 100, 0);
    send_seq(&w.client, sim_now(w.s), &w.client_private, &w.server_addr, 6, 100, 0);
    sim_run_until(w.s, TERN_MS(600));
    assert_int_equal(sim_global_counters(w.s)->dropped[SIM_DROP_NAT_NO_MAPPING], 1);
    tern_addr third_public = sim_addr("198.51.100.2:50001");
    assert_true(sim_addr_equal(&w.server.log[2].remote, &third_public));
    assert_int_equal(w.client.count, 4);
    nat_world_free(&w);
}

static void test_nat_filtering_and_timeout(void **state)
{
    (void)state;
    sim_nat_config cfg = {.mapping_timeout = TERN_SEC(30), .address_port_restricted = true};
    nat_world w;
    nat_world_init(&w, &cfg);
    send_seq(&w.client, 0, &w.client_private, &w.server_addr, 1, 100, 0);
    sim_run_until(w.s, TERN_MS(100));
    assert_int_equal(w.client.count, 1);
    tern_addr mapped;
    assert_true(sim_nat_lookup(w.s, w.nat, &w.client_private, &mapped));

    /* The client never sent to the stranger: filtered. */
    send_seq(&w.stranger, sim_now(w.s), &w.stranger_addr, &mapped, 2, 100, 0);
    sim_run_until(w.s, TERN_MS(200));
    assert_int_equal(w.client.count, 1);
    assert_int_equal(sim_global_counters(w.s)->dropped[SIM_DROP_NAT_FILTERED], 1);

    /* Idle past the timeout: inbound finds no mapping ... */
    sim_run_until(w.s, TERN_SEC(40));
    assert_false(sim_nat_lookup(w.s, w.nat, &w.client_private, &mapped));
    assert_int_equal(sim_nat_mapping_count(w.s, w.nat), 0);
    send_seq(&w.server, sim_now(w.s), &w.server_addr, &mapped, 3, 100, 0);
    sim_run_until(w.s, TERN_SEC(41));
    assert_int_equal(sim_global_counters(w.s)->dropped[SIM_DROP_NAT_NO_MAPPING], 1);
    /* ... and the next outbound datagram gets a fresh port. */
    send_seq(&w.client, sim_now(w.s), &w.client_private, &w.server_addr, 4, 100, 0);
    sim_run_until(w.s, TERN_SEC(42));
    assert_int_equal(w.server.count, 2);
    assert_int_equal(w.server.log[1].remote.port, mapped.port + 1);
    assert_int_equal(w.client.count, 2);

    /* sim_nat_flush forgets mappings at once. */
    sim_nat_flush(w.nat);
    assert_int_equal(sim_nat_mapping_count(w.s, w.nat), 0);
    nat_world_free(&w);
}

static void test_nat_private_spaces_overlap(void **state)
{
    (void)state;
    /* Two NATs both use 10.0.0.2:5000 inside; the server tells them apart. */
    sim *s = sim_new(1);
    peer c1, c2, server;
    peer_init(&c1, s, "c1");
    peer_init(&c2, s, "c2");
    peer_init(&server, s, "server");
    server.echo = true;
    tern_addr pub1 = sim_addr("198.51.100.1"), pub2 = sim_addr("198.51.100.2");
    sim_nat *n1 = sim_nat_add(s, &pub1, NULL, NULL);
    sim_nat *n2 = sim_nat_add(s, &pub2, NULL, NULL);
    tern_addr inside = sim_addr("10.0.0.2:5000"), srv = sim_addr("[2001:db8::1]:443");
    assert_non_null(sim_node_add_addr_behind_nat(s, c1.node, n1, &inside, NULL));
    assert_non_null(sim_node_add_addr_behind_nat(s, c2.node, n2, &inside, NULL));
    assert_non_null(sim_node_add_addr(s, server.node, &srv, NULL));
    /* An IPv6 server from IPv4 clients would need NAT64; use v4 here too. */
    tern_addr srv4 = sim_addr("203.0.113.1:443");
    assert_non_null(sim_node_add_addr(s, server.node, &srv4, NULL));
    send_seq(&c1, 0, &inside, &srv4, 1, 50, 0);
    send_seq(&c2, 0, &inside, &srv4, 2, 50, 0);
    sim_run_until(s, TERN_MS(1));
    assert_int_equal(server.count, 2);
    tern_addr seen1 = sim_addr("198.51.100.1:49152"), seen2 = sim_addr("198.51.100.2:49152");
    assert_true(sim_addr_equal(&server.log[0].remote, &seen1));
    assert_true(sim_addr_equal(&server.log[1].remote, &seen2));
    assert_int_equal(c1.count, 1);
    assert_int_equal(c1.log[0].seq, 1);
    assert_int_equal(c2.count, 1);
    assert_int_equal(c2.log[0].seq, 2);
    peer_free(&c1);
    peer_free(&c2);
    peer_free(&server);
    sim_free(s);
}

static void test_nat_lan_and_hairpin(void **state)
{
    (void)state;
    sim *s = sim_new(1);
    peer c1, c2, server;
    peer_init(&c1, s, "c1");
    peer_init(&c2, s, "c2");
    peer_init(&server, s, "server");
    tern_addr pub = sim_addr("198.51.100.1:40000");
    sim_nat *nat = sim_nat_add(s, &pub, NULL, NULL);
    tern_addr in1 = sim_addr("10.0.0.1:1111"), in2 = sim_addr("10.0.0.2:2222");
    tern_addr srv = sim_addr("203.0.113.1:443");
    assert_non_null(sim_node_add_addr_behind_nat(s, c1.node, nat, &in1, NULL));
    assert_non_null(sim_node_add_addr_behind_nat(s, c2.node, nat, &in2, NULL));
    assert_non_null(sim_node_add_addr(s, server.node, &srv, NULL));

    /* LAN: private to private, untranslated. */
    send_seq(&c1, 0, &in1, &in2, 1, 50, 0);
    sim_run_until(s, TERN_MS(1));
    assert_int_equal(c2.count, 1);
    assert_true(sim_addr_equal(&c2.log[0].remote, &in1));
    assert_int_equal(sim_nat_mapping_count(s, nat), 0);

    /* Hairpin: c2 gets a mapping, c1 sends to it through the public side. */
    send_seq(&c2, sim_now(s), &in2, &srv, 2, 50, 0);
    sim_run_until(s, TERN_MS(2));
    tern_addr c2_public;
    assert_true(sim_nat_lookup(s, nat, &in2, &c2_public));
    send_seq(&c1, sim_now(s), &in1, &c2_public, 3, 50, 0);
    sim_run_until(s, TERN_MS(3));
    assert_int_equal(c2.count, 2);
    tern_addr c1_public;
    assert_true(sim_nat_lookup(s, nat, &in1, &c1_public));
    assert_true(sim_addr_equal(&c2.log[1].remote, &c1_public));
    assert_true(sim_addr_equal(&c2.log[1].local, &in2));
    peer_free(&c1);
    peer_free(&c2);
    peer_free(&server);
    sim_free(s);
}

static void test_add_remove_addr(void **state)
{
    (void)state;
    sim_link_params slow_down = {.down.delay = TERN_MS(10)};
    pair t;
    pair_init(&t, 1, NULL, &slow_down);
    tern_addr second = sim_addr("10.0.0.3:2000");
    tern_addr v6 = sim_addr("[2001:db8::2]:2000");
    tern_addr v6_client = sim_addr("[2001:db8::1]:1000");

    send_seq(&t.a, 0, &t.addr_a, &second, 1, 100, 0);
    sim_run_until(t.s, TERN_MS(50));
    assert_int_equal(sim_global_counters(t.s)->dropped[SIM_DROP_NO_ROUTE], 1);

    /* The server gains an IPv4 and an IPv6 address. */
    assert_non_null(sim_node_add_addr(t.s, t.b.node, &second, &slow_down));
    assert_null(sim_node_add_addr(t.s, t.b.node, &second, NULL)); /* taken */
    assert_non_null(sim_node_add_addr(t.s, t.b.node, &v6, &slow_down));
    assert_non_null(sim_node_add_addr(t.s, t.a.node, &v6_client, NULL));
    assert_non_null(sim_node_link(t.s, t.b.node, &v6));
    send_seq(&t.a, sim_now(t.s), &t.addr_a, &second, 2, 100, 0);
    send_seq(&t.a, sim_now(t.s), &v6_client, &v6, 3, 100, 0);
    sim_run_until(t.s, TERN_MS(100));
    assert_int_equal(t.b.count, 2);
    assert_true(sim_addr_equal(&t.b.log[0].local, &second));
    assert_true(sim_addr_equal(&t.b.log[1].local, &v6));
    assert_true(sim_addr_equal(&t.b.log[1].remote, &v6_client));

    /* It drops its first address while a datagram to it is in flight. */
    send_seq(&t.a, sim_now(t.s), &t.addr_a, &t.addr_b, 4, 100, 0);
    sim_run_until(t.s, TERN_MS(105));
    sim_link *old_link = t.link_b;
    assert_true(sim_node_remove_addr(t.s, t.b.node, &t.addr_b));
    assert_false(sim_node_remove_addr(t.s, t.b.node, &t.addr_b));
    assert_false(sim_link_attached(old_link));
    assert_null(sim_node_link(t.s, t.b.node, &t.addr_b));
    sim_run_until(t.s, TERN_MS(200));
    assert_int_equal(t.b.count, 2);
    assert_int_equal(sim_global_counters(t.s)->dropped[SIM_DROP_ADDR_GONE], 1);

    /* It can no longer send from it, and nothing new reaches it. */
    send_seq(&t.b, sim_now(t.s), &t.addr_b, &t.addr_a, 5, 100, 0);
    send_seq(&t.a, sim_now(t.s), &t.addr_a, &t.addr_b, 6, 100, 0);
    sim_run_until(t.s, TERN_MS(300));
    assert_int_equal(sim_global_counters(t.s)->dropped[SIM_DROP_BAD_SOURCE], 1);
    assert_int_equal(sim_global_counters(t.s)->dropped[SIM_DROP_NO_ROUTE], 2);
    assert_int_equal(t.a.count, 0);

    /* Port 0 owns every port of the IP, for sending and receiving. */
    tern_addr any_port = sim_addr("10.0.0.4");
    assert_non_null(sim_node_add_addr(t.s, t.b.node, &any_port, NULL));
    tern_addr some_port = sim_addr("10.0.0.4:1234");
    send_seq(&t.a, sim_now(t.s), &t.addr_a, &some_port, 7, 100, 0);
    sim_run_until(t.s, TERN_MS(400));
    assert_int_equal(t.b.count, 3);
    assert_true(sim_addr_equal(&t.b.log[2].local, &some_port));
    tern_addr other_port = sim_addr("10.0.0.4:999");
    send_seq(&t.b, sim_now(t.s), &other_port, &t.addr_a, 8, 100, 0);
    sim_run_until(t.s, TERN_MS(500));
    assert_int_equal(t.a.count, 1);
    assert_true(sim_addr_equal(&t.a.log[0].remote, &other_port));
    pair_free(&t);
}

/* ---- Determinism. ---- */

static void hash_bytes(uint64_t *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ULL; /* FNV-1a */
    }
}

static void hash_trace(void *ctx, const sim_trace_event *ev)
{
    uint64_t *h = ctx;
    uint64_t fields[] = {ev->kind, ev->time, ev->packet_id, ev->reason, ev->len, ev->ecn};
    hash_bytes(h, fields, sizeof fields);
    hash_bytes(h, &ev->src->port, sizeof ev->src->port);
    hash_bytes(h, ev->dst->ip, sizeof ev->dst->ip);
    hash_bytes(h, ev->data, ev->len);
}

static uint64_t run_lossy_scenario(uint64_t seed)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    sim_link_params lossy = {
        .up = {.delay = TERN_MS(20), .rate_bps = 5000000, .queue_limit_bytes = 30000,
               .loss = 0.02, .reorder_prob = 0.05, .reorder_delay = TERN_MS(3),
               .duplicate_prob = 0.02},
        .down = {.delay = TERN_MS(5),
                 .burst = {.p_good_to_bad = 0.02, .p_bad_to_good = 0.3, .loss_in_bad = 0.8}},
    };
    sim *s = sim_new(seed);
    sim_set_trace(s, hash_trace, &hash);
    peer client, server;
    peer_init(&client, s, "client");
    peer_init(&server, s, "server");
    server.echo = true;
    tern_addr pub = sim_addr("198.51.100.1");
    sim_nat *nat = sim_nat_add(s, &pub, NULL, &lossy);
    tern_addr inside = sim_addr("10.0.0.2:5000"), srv = sim_addr("203.0.113.1:443");
    sim_node_add_addr_behind_nat(s, client.node, nat, &inside, NULL);
    sim_node_add_addr(s, server.node, &srv, &lossy);
    peer_pace(&client, &inside, &srv, 3000, 1000, 0, TERN_US(700));
    sim_at(s, TERN_SEC(1), rebind_nat, nat);
    sim_run_until(s, TERN_SEC(5));
    hash_bytes(&hash, sim_global_counters(s), sizeof(sim_counters));
    peer_free(&client);
    peer_free(&server);
    sim_free(s);
    return hash;
}

static void test_determinism(void **state)
{
    (void)state;
    uint64_t first = run_lossy_scenario(1234);
    assert_true(first == run_lossy_scenario(1234));
    assert_true(first != run_lossy_scenario(1235));
}

/* ---- Timers and the run loop. ---- */

typedef struct pinger {
    sim *s;
    sim_node *node;
    tern_addr local, remote;
    tern_time next_ping;
    uint32_t pings;
    tern_time sent_at[64];
    tern_time rtt[64];
    uint32_t pongs;
} pinger;

static tern_time pinger_next_timer(void *ctx)
{
    pinger *p = ctx;
    return p->pings < 10 ? p->next_ping : TERN_TIME_INFINITE;
}

static void pinger_on_timer(void *ctx, tern_time now)
{
    pinger *p = ctx;
    uint8_t buf[4];
    put_seq(buf, p->pings);
    p->sent_at[p->pings++] = now;
    sim_send(p->s, p->node, now, &p->local, &p->remote, 0, buf, sizeof buf);
    p->next_ping = now + TERN_MS(100);
}

static void pinger_receive(void *ctx, tern_time now, const tern_addr *local,
                           const tern_addr *remote, uint8_t ecn, const uint8_t *data, size_t len)
{
    (void)local;
    (void)remote;
    (void)ecn;
    pinger *p = ctx;
    assert_int_equal(len, 4);
    uint32_t seq = get_seq(data);
    p->rtt[seq] = now - p->sent_at[seq];
    p->pongs++;
}

static void test_ping_pong_rtt(void **state)
{
    (void)state;
    sim *s = sim_new(9);
    pinger client = {.s = s, .local = sim_addr("192.0.2.10:5000"),
                     .remote = sim_addr("192.0.2.20:443"), .next_ping = TERN_MS(10)};
    sim_node_callbacks cb = {.receive = pinger_receive, .next_timer = pinger_next_timer,
                             .on_timer = pinger_on_timer};
    client.node = sim_node_add(s, &cb, &client, "pinger");
    peer server;
    peer_init(&server, s, "echo");
    server.echo = true;
    /* 10 + 10 one way, 15 + 15 back: an asymmetric 50 ms RTT. */
    sim_link_params client_link = {.up.delay = TERN_MS(10), .down.delay = TERN_MS(15)};
    sim_link_params server_link = {.up.delay = TERN_MS(15), .down.delay = TERN_MS(10)};
    sim_node_add_addr(s, client.node, &client.local, &client_link);
    sim_node_add_addr(s, server.node, &client.remote, &server_link);
    sim_run_until(s, TERN_SEC(2));
    assert_int_equal(client.pings, 10);
    assert_int_equal(client.pongs, 10);
    for (int i = 0; i < 10; i++) {
        assert_true(client.sent_at[i] == TERN_MS(10) + (tern_time)i * TERN_MS(100));
        assert_true(client.rtt[i] == TERN_MS(50));
    }
    peer_free(&server);
    sim_free(s);
}

typedef struct order_log {
    int order[8];
    int count;
} order_log;

typedef struct order_step {
    order_log *log;
    int id;
} order_step;

static void record_order(sim *s, void *ctx, tern_time now)
{
    (void)s;
    (void)now;
    order_step *step = ctx;
    step->log->order[step->log->count++] = step->id;
}

static void schedule_more(sim *s, void *ctx, tern_time now)
{
    record_order(s, ctx, now);
    order_step *step = ctx;
    /* Scheduled for "now" from inside an event: runs after the events
     * already due now. */
    sim_at(s, now, record_order, step + 1);
}

static bool fewer_than_three(void *ctx)
{
    return ((order_log *)ctx)->count < 3;
}

static void test_event_order_and_run_while(void **state)
{
    (void)state;
    sim *s = sim_new(1);
    order_log log = {0};
    order_step steps[5];
    for (int i = 0; i < 5; i++)
        steps[i] = (order_step){.log = &log, .id = i};
    sim_at(s, TERN_MS(5), record_order, &steps[2]);
    sim_at(s, TERN_MS(1), schedule_more, &steps[0]); /* adds steps[1] at 1 ms */
    sim_at(s, TERN_MS(1), record_order, &steps[3]);
    sim_at(s, TERN_MS(1), record_order, &steps[4]);
    assert_true(sim_next_event_time(s) == TERN_MS(1));
    assert_true(sim_run_while(s, fewer_than_three, &log, TERN_SEC(1)));
    assert_int_equal(log.count, 3);
    assert_true(sim_now(s) == TERN_MS(1));
    assert_int_equal(log.order[0], 0);
    assert_int_equal(log.order[1], 3);
    assert_int_equal(log.order[2], 4);
    sim_run_until(s, TERN_MS(2));
    assert_int_equal(log.count, 4);
    assert_int_equal(log.order[3], 1);
    /* The deadline comes before the predicate turns false. */
    log.count = 0;
    assert_false(sim_run_while(s, fewer_than_three, &log, TERN_MS(4)));
    assert_true(sim_now(s) == TERN_MS(4));
    assert_true(sim_step(s));
    assert_int_equal(log.order[0], 2);
    assert_false(sim_step(s));
    assert_true(sim_next_event_time(s) == TERN_TIME_INFINITE);
    sim_free(s);
}

static void test_poll_timer_after_external_change(void **state)
{
    (void)state;
    pair t;
    pair_init(&t, 1, NULL, NULL);
    sim_run_until(t.s, TERN_MS(10));
    /* The test changes the node's state outside a callback. */
    t.a.from = t.addr_a;
    t.a.to = t.addr_b;
    t.a.total = 1;
    t.a.size = 10;
    t.a.next_send = TERN_MS(20);
    sim_run_until(t.s, TERN_MS(30));
    assert_int_equal(t.b.count, 0); /* the sim did not know */
    sim_node_poll_timer(t.s, t.a.node);
    sim_run_until(t.s, TERN_MS(40));
    assert_int_equal(t.b.count, 1);
    assert_true(t.b.log[0].time == TERN_MS(30)); /* overdue timers fire at once */

    /* A deadline moved later without a poll does not fire early. */
    t.a.total = 2;
    t.a.next_send = TERN_MS(50);
    sim_node_poll_timer(t.s, t.a.node);
    t.a.next_send = TERN_MS(70);
    sim_run_until(t.s, TERN_MS(100));
    assert_int_equal(t.b.count, 2);
    assert_true(t.b.log[1].time == TERN_MS(70));
    pair_free(&t);
}

static void test_trace_reports_drops(void **state)
{
    (void)state;
    char buf[SIM_ADDR_STRLEN];
    pair t;
    pair_init(&t, 1, NULL, NULL);
    uint64_t hash = 0;
    sim_set_trace(t.s, hash_trace, &hash);
    tern_addr nowhere = sim_addr("10.9.9.9:9");
    send_seq(&t.a, 0, &t.addr_a, &nowhere, 1, 10, 0);
    send_seq(&t.a, 0, &nowhere, &t.addr_b, 2, 10, 0);
    sim_run_until(t.s, TERN_MS(1));
    const sim_counters *c = sim_global_counters(t.s);
    assert_int_equal(c->sent_packets, 2);
    assert_int_equal(c->dropped[SIM_DROP_NO_ROUTE], 1);
    assert_int_equal(c->dropped[SIM_DROP_BAD_SOURCE], 1);
    assert_int_equal(sim_counters_dropped_total(c), 2);
    assert_true(hash != 0);
    assert_string_equal(sim_drop_reason_name(SIM_DROP_NAT_FILTERED), "nat-filtered");
    assert_string_equal(sim_node_name(t.a.node), "a");
    assert_string_equal(sim_addr_format(sim_link_addr(t.link_a), buf, sizeof buf),
                        "10.0.0.1:1000");
    assert_ptr_equal(sim_link_node(t.link_a), t.a.node);
    pair_free(&t);
}

/* ---- Speed. ---- */

/* A bare echo host: no logging, so the test measures the simulator. */
typedef struct bouncer {
    sim *s;
    sim_node *node;
    uint64_t received;
} bouncer;

static void bouncer_receive(void *ctx, tern_time now, const tern_addr *local,
                            const tern_addr *remote, uint8_t ecn, const uint8_t *data, size_t len)
{
    bouncer *b = ctx;
    b->received++;
    sim_send(b->s, b->node, now, local, remote, ecn, data, len);
}

static bool under_a_million(void *ctx)
{
    return sim_events_processed(ctx) < 1000000;
}

#if defined(__SANITIZE_ADDRESS__)
#define SIM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_SANITIZED 1
#endif
#endif

static void test_million_events_fast(void **state)
{
    (void)state;
    sim *s = sim_new(1);
    sim_node_callbacks cb = {.receive = bouncer_receive};
    bouncer a = {.s = s}, b = {.s = s};
    a.node = sim_node_add(s, &cb, &a, "a");
    b.node = sim_node_add(s, &cb, &b, "b");
    tern_addr addr_a = sim_addr("10.0.0.1:1000"), addr_b = sim_addr("10.0.0.2:2000");
    sim_link_params link = {.up.delay = TERN_US(100), .down.delay = TERN_US(150)};
    sim_node_add_addr(s, a.node, &addr_a, &link);
    sim_node_add_addr(s, b.node, &addr_b, &link);
    /* 64 datagrams of 1200 bytes bouncing between two echoing hosts. */
    uint8_t payload[1200] = {0};
    for (uint32_t i = 0; i < 64; i++)
        sim_send(s, a.node, TERN_US(i), &addr_a, &addr_b, 0, payload, sizeof payload);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_true(sim_run_while(s, under_a_million, s, TERN_TIME_INFINITE));
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("sim: 1e6 events in %.3f s (%.1f M events/s)\n", seconds, 1.0 / seconds);
    assert_int_equal(sim_events_processed(s), 1000000);
    assert_true(a.received + b.received >= 499000);
#ifdef SIM_SANITIZED
    assert_true(seconds < 10.0); /* instrumentation costs several times */
#else
    assert_true(seconds < 1.0);
#endif
    sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_format_parse),
        cmocka_unit_test(test_rng_reproducible),
        cmocka_unit_test(test_delay_is_exact),
        cmocka_unit_test(test_rate_limit_throughput),
        cmocka_unit_test(test_queue_limit_tail_drop),
        cmocka_unit_test(test_random_loss_rate),
        cmocka_unit_test(test_burst_loss_makes_bursts),
        cmocka_unit_test(test_reordering_and_duplication),
        cmocka_unit_test(test_blackhole_and_lift),
        cmocka_unit_test(test_path_block),
        cmocka_unit_test(test_mtu_and_ecn_marking),
        cmocka_unit_test(test_nat_mapping_and_rebinding),
        cmocka_unit_test(test_nat_filtering_and_timeout),
        cmocka_unit_test(test_nat_private_spaces_overlap),
        cmocka_unit_test(test_nat_lan_and_hairpin),
        cmocka_unit_test(test_add_remove_addr),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_ping_pong_rtt),
        cmocka_unit_test(test_event_order_and_run_while),
        cmocka_unit_test(test_poll_timer_after_external_change),
        cmocka_unit_test(test_trace_reports_drops),
        cmocka_unit_test(test_million_events_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
