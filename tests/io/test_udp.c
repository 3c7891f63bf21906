/* The UDP socket layer over loopback: batches, local addresses through
 * pktinfo, ECN, GSO/GRO and their fallbacks. Loopback addresses only. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "addr.h"
#include "event_loop.h"
#include "udp_socket.h"

#define MAX_RECEIVED 256
#define RECEIVE_TIMEOUT_MS 1000

typedef struct received {
    io_datagram datagram; /* data points into payload */
    uint8_t payload[2048];
} received;

typedef struct fixture {
    uint8_t *storage;
    io_udp_recv_batch batch;
    received got[MAX_RECEIVED];
    size_t got_count;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    f->storage = malloc((size_t)IO_UDP_BATCH_MAX * IO_UDP_GRO_SLOT_SIZE);
    if (f->storage == NULL)
        return -1;
    io_udp_recv_batch_init(&f->batch, f->storage, IO_UDP_GRO_SLOT_SIZE, IO_UDP_BATCH_MAX);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->storage);
    free(f);
    return 0;
}

/* Collects datagrams until `expected` arrived or the socket stays quiet
 * for RECEIVE_TIMEOUT_MS; returns how many UDP messages the kernel gave
 * (fewer than datagrams when GRO coalesced them). */
static size_t receive(fixture *f, io_udp_socket *sock, size_t expected)
{
    size_t messages = 0;
    f->got_count = 0;
    while (f->got_count < expected) {
        struct pollfd pfd = {.fd = sock->fd, .events = POLLIN};
        if (poll(&pfd, 1, RECEIVE_TIMEOUT_MS) <= 0)
            break;
        int rc = io_udp_recv(sock, &f->batch);
        assert_true(rc >= 0);
        messages += (size_t)rc;
        io_datagram datagram;
        while (io_udp_recv_next(&f->batch, &datagram)) {
            assert_true(f->got_count < MAX_RECEIVED);
            assert_true(datagram.len <= sizeof(f->got[0].payload));
            received *r = &f->got[f->got_count++];
            r->datagram = datagram;
            memcpy(r->payload, datagram.data, datagram.len);
            r->datagram.data = r->payload;
        }
    }
    return messages;
}

static void fill_pattern(uint8_t *data, size_t len, size_t seed)
{
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(seed * 31 + i);
}

static bool matches_pattern(const uint8_t *data, size_t len, size_t seed)
{
    for (size_t i = 0; i < len; i++)
        if (data[i] != (uint8_t)(seed * 31 + i))
            return false;
    return true;
}

static void open_or_skip(io_udp_socket *sock, tern_addr bind_addr, const io_udp_options *options)
{
    int rc = io_udp_open(sock, &bind_addr, options);
    /* Containers without IPv6 cannot run the v6 cases. */
    if (bind_addr.family == TERN_AF_INET6 && (rc == -EAFNOSUPPORT || rc == -EADDRNOTAVAIL))
        skip();
    assert_int_equal(rc, 0);
    assert_true(sock->bound.port != 0);
}

static void batch_of_64(void **state, tern_addr loopback)
{
    fixture *f = *state;
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, loopback, NULL);
    open_or_skip(&sender, loopback, NULL);

    static uint8_t payloads[64][1300];
    io_datagram datagrams[64];
    for (size_t i = 0; i < 64; i++) {
        size_t len = 100 + i * 17;
        fill_pattern(payloads[i], len, i);
        datagrams[i] = (io_datagram){.remote = receiver.bound, .data = payloads[i], .len = len};
    }
    assert_int_equal(io_udp_send(&sender, datagrams, 64), 64);
    receive(f, &receiver, 64);
    assert_int_equal(f->got_count, 64);
    for (size_t i = 0; i < 64; i++) {
        const io_datagram *d = &f->got[i].datagram;
        assert_int_equal(d->len, 100 + i * 17);
        assert_true(matches_pattern(d->data, d->len, i));
        assert_true(io_addr_equal(&d->remote, &sender.bound));
        assert_true(io_addr_equal(&d->local, &receiver.bound));
        assert_int_equal(d->segment_size, 0);
    }
    assert_int_equal(sender.send_dropped, 0);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_batch_ipv4(void **state)
{
    batch_of_64(state, io_addr_v4(127, 0, 0, 1, 0));
}

static void test_batch_ipv6(void **state)
{
    batch_of_64(state, io_addr_v6_loopback(0));
}

static void test_wildcard_reports_local_address(void **state)
{
    fixture *f = *state;
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(0, 0, 0, 0, 0), NULL);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    uint8_t payload[4] = {1, 2, 3, 4};
    io_datagram datagrams[2] = {
        {.remote = io_addr_v4(127, 0, 0, 2, receiver.bound.port), .data = payload, .len = sizeof(payload)},
        {.remote = io_addr_v4(127, 0, 0, 5, receiver.bound.port), .data = payload, .len = sizeof(payload)},
    };
    assert_int_equal(io_udp_send(&sender, datagrams, 2), 2);
    receive(f, &receiver, 2);
    assert_int_equal(f->got_count, 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(io_addr_equal(&f->got[i].datagram.local, &datagrams[i].remote));
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_wildcard_sends_from_chosen_source(void **state)
{
    fixture *f = *state;
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), NULL);
    open_or_skip(&sender, io_addr_v4(0, 0, 0, 0, 0), NULL);
    uint8_t payload[8] = {0};
    io_datagram datagrams[3] = {
        {.local = io_addr_v4(127, 0, 0, 3, 0), .remote = receiver.bound, .data = payload, .len = 8},
        {.local = io_addr_v4(127, 0, 0, 4, 0), .remote = receiver.bound, .data = payload, .len = 8},
        {.remote = receiver.bound, .data = payload, .len = 8}, /* kernel's choice */
    };
    assert_int_equal(io_udp_send(&sender, datagrams, 3), 3);
    receive(f, &receiver, 3);
    assert_int_equal(f->got_count, 3);
    tern_addr expected_sources[3] = {
        io_addr_v4(127, 0, 0, 3, sender.bound.port),
        io_addr_v4(127, 0, 0, 4, sender.bound.port),
        io_addr_v4(127, 0, 0, 1, sender.bound.port),
    };
    for (size_t i = 0; i < 3; i++)
        assert_true(io_addr_equal(&f->got[i].datagram.remote, &expected_sources[i]));
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void ecn_round_trip(void **state, tern_addr loopback)
{
    fixture *f = *state;
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, loopback, NULL);
    open_or_skip(&sender, loopback, NULL);
    assert_true(receiver.ecn_enabled);
    uint8_t payload[16] = {0};
    /* not-ECT, ECT(1), ECT(0), CE */
    io_datagram datagrams[4];
    for (uint8_t ecn = 0; ecn < 4; ecn++)
        datagrams[ecn] = (io_datagram){.remote = receiver.bound, .ecn = ecn, .data = payload, .len = 16};
    assert_int_equal(io_udp_send(&sender, datagrams, 4), 4);
    receive(f, &receiver, 4);
    assert_int_equal(f->got_count, 4);
    for (uint8_t ecn = 0; ecn < 4; ecn++)
        assert_int_equal(f->got[ecn].datagram.ecn, ecn);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_ecn_ipv4(void **state)
{
    ecn_round_trip(state, io_addr_v4(127, 0, 0, 1, 0));
}

static void test_ecn_ipv6(void **state)
{
    ecn_round_trip(state, io_addr_v6_loopback(0));
}

/* Sends `segments` segments of segment_size (the last one shorter) as one
 * GSO entry and checks they all arrive as separate datagrams in order. */
static size_t gso_exchange(fixture *f, io_udp_socket *sender, io_udp_socket *receiver, size_t segments,
                           size_t segment_size)
{
    size_t last_len = segment_size / 2;
    size_t total = (segments - 1) * segment_size + last_len;
    uint8_t *buffer = malloc(total);
    assert_non_null(buffer);
    for (size_t i = 0; i < segments; i++)
        fill_pattern(buffer + i * segment_size, i + 1 == segments ? last_len : segment_size, i);
    io_datagram datagram = {
        .remote = receiver->bound, .ecn = 2, .data = buffer, .len = total, .segment_size = segment_size};
    assert_int_equal(io_udp_send(sender, &datagram, 1), 1);
    size_t messages = receive(f, receiver, segments);
    assert_int_equal(f->got_count, segments);
    for (size_t i = 0; i < segments; i++) {
        const io_datagram *d = &f->got[i].datagram;
        assert_int_equal(d->len, i + 1 == segments ? last_len : segment_size);
        assert_true(matches_pattern(d->data, d->len, i));
        assert_int_equal(d->ecn, 2);
        assert_true(io_addr_equal(&d->remote, &sender->bound));
    }
    free(buffer);
    return messages;
}

static void test_gso_to_gro_receiver(void **state)
{
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), NULL);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    if (!sender.gso_enabled || !receiver.gro_enabled)
        skip();
    size_t messages = gso_exchange(*state, &sender, &receiver, 10, 1200);
    /* Loopback hands the GSO super-packet to a GRO socket whole. */
    assert_int_equal(messages, 1);
    assert_true(sender.gso_enabled);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_gso_to_plain_receiver(void **state)
{
    io_udp_options no_gro = {.disable_gro = true};
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v6_loopback(0), &no_gro);
    open_or_skip(&sender, io_addr_v6_loopback(0), NULL);
    assert_false(receiver.gro_enabled);
    size_t messages = gso_exchange(*state, &sender, &receiver, 10, 1200);
    assert_int_equal(messages, 10);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_gso_disabled_splits(void **state)
{
    io_udp_options no_gso = {.disable_gso = true};
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), NULL);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), &no_gso);
    assert_false(sender.gso_enabled);
    size_t messages = gso_exchange(*state, &sender, &receiver, 10, 1200);
    /* Separate sends are never coalesced on loopback. */
    assert_int_equal(messages, 10);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_gso_refused_at_run_time(void **state)
{
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), NULL);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    if (!sender.gso_enabled)
        skip();
    /* Without UDP checksums the kernel cannot segment and answers EINVAL:
     * a real refusal to exercise the fallback. */
    int one = 1;
    assert_int_equal(setsockopt(sender.fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
    gso_exchange(*state, &sender, &receiver, 10, 1200);
    assert_false(sender.gso_enabled);
    assert_int_equal(sender.send_dropped, 0);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_gso_long_batch_is_chunked(void **state)
{
    io_udp_options no_gro = {.disable_gro = true};
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), &no_gro);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    gso_exchange(*state, &sender, &receiver, 150, 200);
    assert_int_equal(sender.send_dropped, 0);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_gso_batch_over_64k_is_chunked(void **state)
{
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), NULL);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    /* 64 * 1200 bytes exceed one IP packet: must go as two GSO sends. */
    size_t messages = gso_exchange(*state, &sender, &receiver, 64, 1200);
    if (receiver.gro_enabled && sender.gso_enabled)
        assert_int_equal(messages, 2);
    assert_int_equal(sender.send_dropped, 0);
    assert_true(sender.gso_enabled || !receiver.gro_enabled);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_oversized_datagram_is_dropped_alone(void **state)
{
    fixture *f = *state;
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), NULL);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    static uint8_t huge[70000];
    uint8_t small[3] = {7, 8, 9};
    io_datagram datagrams[3] = {
        {.remote = receiver.bound, .data = small, .len = 3},
        {.remote = receiver.bound, .data = huge, .len = sizeof(huge)}, /* over the 65507 UDP limit */
        {.remote = receiver.bound, .data = small, .len = 2},
    };
    assert_int_equal(io_udp_send(&sender, datagrams, 3), 3);
    assert_int_equal(sender.send_dropped, 1);
    assert_int_equal(sender.last_send_error, EMSGSIZE);
    receive(f, &receiver, 2);
    assert_int_equal(f->got_count, 2);
    assert_int_equal(f->got[0].datagram.len, 3);
    assert_int_equal(f->got[1].datagram.len, 2);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_wrong_family_is_dropped_alone(void **state)
{
    fixture *f = *state;
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), NULL);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    uint8_t payload[2400] = {0};
    io_datagram datagrams[3] = {
        {.remote = receiver.bound, .data = payload, .len = 5},
        {.remote = io_addr_v6_loopback(receiver.bound.port), .data = payload, .len = 2400, .segment_size = 1200},
        {.remote = receiver.bound, .data = payload, .len = 2400, .segment_size = 1200},
    };
    bool gso_before = sender.gso_enabled;
    assert_int_equal(io_udp_send(&sender, datagrams, 3), 3);
    assert_int_equal(sender.send_dropped, 1);
    assert_int_equal(sender.last_send_error, EAFNOSUPPORT);
    receive(f, &receiver, 3);
    assert_int_equal(f->got_count, 3);
    /* The dropped GSO entry was not mistaken for a GSO refusal. */
    assert_int_equal(sender.gso_enabled, gso_before);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_truncated_datagram_is_skipped(void **state)
{
    (void)state;
    io_udp_options no_gro = {.disable_gro = true};
    io_udp_socket sender, receiver;
    open_or_skip(&receiver, io_addr_v4(127, 0, 0, 1, 0), &no_gro);
    open_or_skip(&sender, io_addr_v4(127, 0, 0, 1, 0), NULL);
    uint8_t payload[200] = {0};
    io_datagram datagrams[2] = {
        {.remote = receiver.bound, .data = payload, .len = 200},
        {.remote = receiver.bound, .data = payload, .len = 50},
    };
    assert_int_equal(io_udp_send(&sender, datagrams, 2), 2);

    uint8_t storage[4 * 100];
    io_udp_recv_batch *batch = malloc(sizeof(*batch));
    assert_non_null(batch);
    io_udp_recv_batch_init(batch, storage, 100, 4);
    struct pollfd pfd = {.fd = receiver.fd, .events = POLLIN};
    size_t delivered = 0, last_len = 0;
    while (delivered + receiver.recv_truncated < 2 && poll(&pfd, 1, RECEIVE_TIMEOUT_MS) > 0) {
        assert_true(io_udp_recv(&receiver, batch) >= 0);
        io_datagram d;
        while (io_udp_recv_next(batch, &d)) {
            delivered++;
            last_len = d.len;
        }
    }
    assert_int_equal(receiver.recv_truncated, 1);
    assert_int_equal(delivered, 1);
    assert_int_equal(last_len, 50);
    free(batch);
    io_udp_close(&sender);
    io_udp_close(&receiver);
}

static void test_recv_when_empty(void **state)
{
    fixture *f = *state;
    io_udp_socket sock;
    open_or_skip(&sock, io_addr_v4(127, 0, 0, 1, 0), NULL);
    assert_int_equal(io_udp_recv(&sock, &f->batch), 0);
    io_datagram d;
    assert_false(io_udp_recv_next(&f->batch, &d));
    io_udp_close(&sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_ipv4),
        cmocka_unit_test(test_batch_ipv6),
        cmocka_unit_test(test_wildcard_reports_local_address),
        cmocka_unit_test(test_wildcard_sends_from_chosen_source),
        cmocka_unit_test(test_ecn_ipv4),
        cmocka_unit_test(test_ecn_ipv6),
        cmocka_unit_test(test_gso_to_gro_receiver),
        cmocka_unit_test(test_gso_to_plain_receiver),
        cmocka_unit_test(test_gso_disabled_splits),
        cmocka_unit_test(test_gso_refused_at_run_time),
        cmocka_unit_test(test_gso_long_batch_is_chunked),
        cmocka_unit_test(test_gso_batch_over_64k_is_chunked),
        cmocka_unit_test(test_oversized_datagram_is_dropped_alone),
        cmocka_unit_test(test_wrong_family_is_dropped_alone),
        cmocka_unit_test(test_truncated_datagram_is_skipped),
        cmocka_unit_test(test_recv_when_empty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
