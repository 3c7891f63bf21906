/* The lossy UDP relay between a client and an echo server, all on loopback. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "event_loop.h"
#include "udp_forwarder.h"
#include "udp_socket.h"

#define DATAGRAMS 100
#define SLOTS 16
#define SLOT_SIZE 2048

typedef struct peer {
    io_udp_socket sock;
    uint8_t storage[SLOTS * SLOT_SIZE];
    io_udp_recv_batch batch;
    int received;
    tern_time last_received_at;
    tern_addr sources[4]; /* distinct sources seen, for the echo server */
    int source_count;
    bool echo;
} peer;

typedef struct fixture {
    io_loop loop;
    peer server, client, second_client;
    io_forwarder *forwarder;
    int sent;          /* datagrams the clients sent, all exchanges */
    tern_time deadline;
} fixture;

static void remember_source(peer *p, const tern_addr *source)
{
    for (int i = 0; i < p->source_count; i++)
        if (io_addr_equal(&p->sources[i], source))
            return;
    if (p->source_count < 4)
        p->sources[p->source_count++] = *source;
}

static void on_peer_readable(io_loop *loop, int fd, void *arg)
{
    (void)loop;
    (void)fd;
    peer *p = arg;
    while (io_udp_recv(&p->sock, &p->batch) > 0) {
        io_datagram d;
        while (io_udp_recv_next(&p->batch, &d)) {
            p->received++;
            p->last_received_at = io_now();
            remember_source(p, &d.remote);
            if (p->echo) {
                io_datagram reply = {.local = d.local, .remote = d.remote, .data = d.data, .len = d.len};
                assert_int_equal(io_udp_send(&p->sock, &reply, 1), 1);
            }
        }
    }
}

static void open_peer(fixture *f, peer *p, bool echo)
{
    tern_addr loopback = io_addr_v4(127, 0, 0, 1, 0);
    io_udp_options options = {.disable_gro = true};
    assert_int_equal(io_udp_open(&p->sock, &loopback, &options), 0);
    io_udp_recv_batch_init(&p->batch, p->storage, SLOT_SIZE, SLOTS);
    p->echo = echo;
    assert_int_equal(io_loop_add_fd(&f->loop, p->sock.fd, on_peer_readable, p), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || io_loop_init(&f->loop, false) != 0)
        return -1;
    open_peer(f, &f->server, true);
    open_peer(f, &f->client, false);
    open_peer(f, &f->second_client, false);
    io_forwarder_config config = {
        .listen = io_addr_v4(127, 0, 0, 1, 0),
        .target = f->server.sock.bound,
        .seed = 12345,
    };
    if (io_forwarder_create(&f->forwarder, &f->loop, &config) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    io_forwarder_destroy(f->forwarder);
    io_udp_close(&f->server.sock);
    io_udp_close(&f->client.sock);
    io_udp_close(&f->second_client.sock);
    io_loop_destroy(&f->loop);
    free(f);
    return 0;
}

/* Everything sent so far is accounted for: each datagram towards the target
 * was forwarded or dropped (and each forwarded one echoed), each echo was
 * forwarded to its client or dropped, and the clients got every forwarded
 * echo. A condition on counters, not on time: the loop runs until it holds
 * however slow the machine is. */
static bool settled(const fixture *f)
{
    io_forwarder_stats st = io_forwarder_get_stats(f->forwarder);
    uint64_t to_target = st.forwarded[IO_FORWARD_TO_TARGET] + st.lost[IO_FORWARD_TO_TARGET] +
                         st.blackholed[IO_FORWARD_TO_TARGET] + st.dropped[IO_FORWARD_TO_TARGET];
    uint64_t to_client = st.forwarded[IO_FORWARD_TO_CLIENT] + st.lost[IO_FORWARD_TO_CLIENT] +
                         st.blackholed[IO_FORWARD_TO_CLIENT] + st.dropped[IO_FORWARD_TO_CLIENT];
    return to_target == (uint64_t)f->sent && (uint64_t)f->server.received == st.forwarded[IO_FORWARD_TO_TARGET] &&
           to_client == (uint64_t)f->server.received &&
           (uint64_t)(f->client.received + f->second_client.received) == st.forwarded[IO_FORWARD_TO_CLIENT];
}

#define SETTLE_DEADLINE TERN_SEC(10) /* only a broken forwarder takes this long */

static void on_check(io_loop *loop, void *arg)
{
    fixture *f = arg;
    if (settled(f) || io_now() >= f->deadline) {
        io_loop_stop(loop);
        return;
    }
    assert_int_equal(io_loop_set_timer(loop, io_now() + TERN_MS(1), on_check, f), 0);
}

/* Sends `count` datagrams from the client through the forwarder, then runs
 * the loop until all of them and their echoes are accounted for. */
static void exchange(fixture *f, peer *client, int count)
{
    uint8_t payload[100];
    for (int i = 0; i < count; i++) {
        memset(payload, i, sizeof(payload));
        io_datagram d = {.remote = io_forwarder_listen_address(f->forwarder), .data = payload, .len = 100};
        assert_int_equal(io_udp_send(&client->sock, &d, 1), 1);
    }
    f->sent += count;
    f->deadline = io_now() + SETTLE_DEADLINE;
    assert_int_equal(io_loop_set_timer(&f->loop, io_now() + TERN_MS(1), on_check, f), 0);
    assert_int_equal(io_loop_run(&f->loop), 0);
    assert_int_equal(io_loop_set_timer(&f->loop, TERN_TIME_INFINITE, NULL, NULL), 0);
    assert_true(settled(f));
}

static void test_no_loss_delivers_all(void **state)
{
    fixture *f = *state;
    exchange(f, &f->client, DATAGRAMS);
    assert_int_equal(f->server.received, DATAGRAMS);
    assert_int_equal(f->client.received, DATAGRAMS);
    io_forwarder_stats stats = io_forwarder_get_stats(f->forwarder);
    assert_int_equal(stats.forwarded[IO_FORWARD_TO_TARGET], DATAGRAMS);
    assert_int_equal(stats.forwarded[IO_FORWARD_TO_CLIENT], DATAGRAMS);
    /* The server sees the forwarder, never the client. */
    assert_int_equal(f->server.source_count, 1);
    assert_false(io_addr_equal(&f->server.sources[0], &f->client.sock.bound));

    /* A second client gets its own upstream address, like behind a NAT. */
    exchange(f, &f->second_client, 5);
    assert_int_equal(f->second_client.received, 5);
    assert_int_equal(f->server.source_count, 2);
}

static void test_full_loss_drops_all(void **state)
{
    fixture *f = *state;
    io_forwarder_set_loss(f->forwarder, IO_FORWARD_TO_TARGET, 1.0);
    exchange(f, &f->client, DATAGRAMS);
    assert_int_equal(f->server.received, 0);
    assert_int_equal(f->client.received, 0);
    assert_int_equal(io_forwarder_get_stats(f->forwarder).lost[IO_FORWARD_TO_TARGET], DATAGRAMS);

    /* Loss on the way back only: the server still sees everything. */
    io_forwarder_set_loss(f->forwarder, IO_FORWARD_TO_TARGET, 0.0);
    io_forwarder_set_loss(f->forwarder, IO_FORWARD_TO_CLIENT, 1.0);
    exchange(f, &f->client, DATAGRAMS);
    assert_int_equal(f->server.received, DATAGRAMS);
    assert_int_equal(f->client.received, 0);
}

static void test_partial_loss(void **state)
{
    fixture *f = *state;
    io_forwarder_set_loss(f->forwarder, IO_FORWARD_TO_TARGET, 0.5);
    exchange(f, &f->client, DATAGRAMS);
    io_forwarder_stats stats = io_forwarder_get_stats(f->forwarder);
    assert_int_equal(stats.lost[IO_FORWARD_TO_TARGET] + stats.forwarded[IO_FORWARD_TO_TARGET], DATAGRAMS);
    /* Binomial(100, 0.5) stays within 20..80 with overwhelming probability. */
    assert_in_range(f->server.received, 20, 80);
    assert_int_equal(f->client.received, f->server.received);
}

static void test_blackhole_switch(void **state)
{
    fixture *f = *state;
    io_forwarder_set_blackhole(f->forwarder, true);
    exchange(f, &f->client, 10);
    assert_int_equal(f->client.received, 0);
    assert_int_equal(io_forwarder_get_stats(f->forwarder).blackholed[IO_FORWARD_TO_TARGET], 10);
    io_forwarder_set_blackhole(f->forwarder, false);
    exchange(f, &f->client, 10);
    assert_int_equal(f->client.received, 10);
}

static void test_delay(void **state)
{
    fixture *f = *state;
    io_forwarder_set_delay(f->forwarder, IO_FORWARD_TO_TARGET, TERN_MS(30));
    io_forwarder_set_delay(f->forwarder, IO_FORWARD_TO_CLIENT, TERN_MS(20));
    tern_time start = io_now();
    exchange(f, &f->client, 20);
    assert_int_equal(f->client.received, 20);
    tern_time round_trip = f->client.last_received_at - start;
    assert_true(round_trip >= TERN_MS(50));
    /* Not twice the delay (a generous bound: a loaded machine adds latency). */
    assert_true(round_trip < TERN_MS(100) + TERN_MS(900));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_loss_delivers_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_loss_drops_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blackhole_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delay, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
