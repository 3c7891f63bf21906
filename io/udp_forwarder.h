/* A UDP relay for tests on machines without netem: clients send to the
 * listen address, each client gets its own upstream socket towards the
 * target (like a NAT, so a client that changes address shows up at the
 * target from a new address too), and replies go back to the client.
 * Per direction it can drop a random fraction of datagrams, add a fixed
 * delay, or drop everything (blackhole). Runs inside an io_loop. */
#ifndef TERN_IO_UDP_FORWARDER_H
#define TERN_IO_UDP_FORWARDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_loop.h"
#include "tern/types.h"

#define IO_FORWARDER_MAX_FLOWS 16

enum { IO_FORWARD_TO_TARGET = 0, IO_FORWARD_TO_CLIENT = 1, IO_FORWARD_DIRECTIONS = 2 };

typedef struct io_forwarder_config {
    tern_addr listen;        /* port 0: ephemeral, see io_forwarder_listen_address */
    tern_addr target;
    tern_addr upstream_bind; /* source for upstream sockets; TERN_AF_NONE: any, same family as target */
    double loss[IO_FORWARD_DIRECTIONS]; /* probability in [0, 1] */
    tern_time delay[IO_FORWARD_DIRECTIONS];
    uint64_t seed;           /* of the loss decisions; 0 picks a fixed default */
    size_t queue_capacity;   /* datagrams held for delay, all flows; 0: 1024 */
    size_t max_datagram;     /* larger datagrams are dropped; 0: 2048 */
} io_forwarder_config;

typedef struct io_forwarder_stats {
    uint64_t forwarded[IO_FORWARD_DIRECTIONS];
    uint64_t lost[IO_FORWARD_DIRECTIONS];       /* random loss */
    uint64_t blackholed[IO_FORWARD_DIRECTIONS];
    uint64_t dropped[IO_FORWARD_DIRECTIONS];    /* queue full, too large, send error, no flow */
} io_forwarder_stats;

typedef struct io_forwarder io_forwarder;

int io_forwarder_create(io_forwarder **out, io_loop *loop, const io_forwarder_config *config);
void io_forwarder_destroy(io_forwarder *forwarder);

tern_addr io_forwarder_listen_address(const io_forwarder *forwarder);
void io_forwarder_set_loss(io_forwarder *forwarder, int direction, double probability);
void io_forwarder_set_delay(io_forwarder *forwarder, int direction, tern_time delay);
/* While on, every datagram in both directions is dropped. */
void io_forwarder_set_blackhole(io_forwarder *forwarder, bool on);
io_forwarder_stats io_forwarder_get_stats(const io_forwarder *forwarder);

#endif
