/* Loopback datagrams per second through the io layer: plain sendmmsg,
 * GSO to a plain receiver, GSO to a GRO receiver. One thread alternates
 * sending a batch and draining it, so the numbers are per-core costs of
 * the system calls and copies, not of the network. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "event_loop.h"
#include "udp_socket.h"

#define DATAGRAM_SIZE 1200
#define BATCH 64
#define RUN_TIME TERN_MS(1000)

static double run(const char *label, bool use_gso, bool use_gro, uint8_t *storage, io_udp_recv_batch *batch)
{
    tern_addr loopback = io_addr_v4(127, 0, 0, 1, 0);
    io_udp_options sender_options = {.disable_gso = !use_gso};
    io_udp_options receiver_options = {.disable_gro = !use_gro};
    io_udp_socket sender, receiver;
    if (io_udp_open(&sender, &loopback, &sender_options) != 0 ||
        io_udp_open(&receiver, &loopback, &receiver_options) != 0) {
        fprintf(stderr, "%s: cannot open sockets\n", label);
        return 0;
    }
    io_udp_recv_batch_init(batch, storage, use_gro ? IO_UDP_GRO_SLOT_SIZE : 2048, BATCH);
    static uint8_t payload[BATCH * DATAGRAM_SIZE];
    memset(payload, 0xab, sizeof(payload));

    uint64_t received = 0, lost_batches = 0;
    tern_time start = io_now(), now = start;
    while (now - start < RUN_TIME) {
        io_datagram datagrams[BATCH];
        size_t entries;
        if (use_gso) {
            datagrams[0] = (io_datagram){.remote = receiver.bound, .data = payload, .len = sizeof(payload),
                                         .segment_size = DATAGRAM_SIZE};
            entries = 1;
        } else {
            for (size_t i = 0; i < BATCH; i++)
                datagrams[i] = (io_datagram){.remote = receiver.bound, .data = payload + i * DATAGRAM_SIZE,
                                             .len = DATAGRAM_SIZE};
            entries = BATCH;
        }
        if (io_udp_send(&sender, datagrams, entries) != (int)entries)
            lost_batches++;
        size_t this_batch = 0;
        /* Loopback delivers during the send call, so the data is waiting. */
        while (this_batch < BATCH && io_udp_recv(&receiver, batch) > 0) {
            io_datagram d;
            while (io_udp_recv_next(batch, &d))
                this_batch++;
        }
        received += this_batch;
        now = io_now();
    }
    double rate = (double)received / ((double)(now - start) / 1e9);
    printf("%-28s %10.0f datagrams/s  %7.2f Gbit/s  (gso %s, gro %s, short batches %llu, send drops %llu)\n", label, rate,
           rate * DATAGRAM_SIZE * 8 / 1e9, sender.gso_enabled ? "on" : "off", receiver.gro_enabled ? "on" : "off",
           (unsigned long long)lost_batches, (unsigned long long)sender.send_dropped);
    io_udp_close(&sender);
    io_udp_close(&receiver);
    return rate;
}

int main(void)
{
    uint8_t *storage = malloc((size_t)BATCH * IO_UDP_GRO_SLOT_SIZE);
    io_udp_recv_batch *batch = malloc(sizeof(*batch));
    if (storage == NULL || batch == NULL)
        return 1;
    printf("loopback, %d-byte datagrams, batches of %d\n", DATAGRAM_SIZE, BATCH);
    run("sendmmsg/recvmmsg", false, false, storage, batch);
    run("GSO send, plain receive", true, false, storage, batch);
    run("GSO send, GRO receive", true, true, storage, batch);
    free(batch);
    free(storage);
    return 0;
}
