#define _GNU_SOURCE
#include "udp_forwarder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "addr.h"
#include "udp_socket.h"

#define DEFAULT_QUEUE_CAPACITY 1024
#define DEFAULT_MAX_DATAGRAM 2048
#define DEFAULT_SEED 0x9e3779b97f4a7c15ULL
#define RECV_SLOTS 16

typedef struct forwarder_flow {
    io_forwarder *forwarder;
    bool in_use;
    tern_addr client;       /* the client's address as the listen socket sees it */
    tern_addr client_local; /* the address the client sent to: replies come from it */
    io_udp_socket upstream;
} forwarder_flow;

typedef struct delayed_datagram {
    tern_time due;
    size_t len;
    uint8_t flow;
} delayed_datagram;

/* Per direction FIFO: a fixed delay keeps due times in order. */
typedef struct delay_ring {
    delayed_datagram *entries;
    uint8_t *payloads;
    size_t head, count;
} delay_ring;

struct io_forwarder {
    io_loop *loop;
    io_forwarder_config config;
    bool blackhole;
    uint64_t random_state;
    io_udp_socket listen;
    int timer_fd;
    forwarder_flow flows[IO_FORWARDER_MAX_FLOWS];
    delay_ring rings[IO_FORWARD_DIRECTIONS];
    io_forwarder_stats stats;
    uint8_t *recv_storage;
    io_udp_recv_batch recv_batch;
};

/* xorshift64*: plenty for loss decisions, reproducible from the seed. */
static uint64_t next_random(io_forwarder *forwarder)
{
    uint64_t x = forwarder->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    forwarder->random_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static bool decide_loss(io_forwarder *forwarder, int direction)
{
    double probability = forwarder->config.loss[direction];
    if (probability <= 0.0)
        return false;
    if (probability >= 1.0)
        return true;
    /* 53 random bits give a uniform double in [0, 1). */
    double draw = (double)(next_random(forwarder) >> 11) * (1.0 / 9007199254740992.0);
    return draw < probability;
}

static void send_now(io_forwarder *forwarder, int direction, forwarder_flow *flow, uint8_t *data, size_t len)
{
    io_datagram datagram = {.data = data, .len = len};
    io_udp_socket *sock;
    if (direction == IO_FORWARD_TO_TARGET) {
        sock = &flow->upstream;
        datagram.remote = forwarder->config.target;
    } else {
        sock = &forwarder->listen;
        datagram.remote = flow->client;
        datagram.local = flow->client_local;
    }
    if (io_udp_send(sock, &datagram, 1) == 1)
        forwarder->stats.forwarded[direction]++;
    else
        forwarder->stats.dropped[direction]++;
}

static void arm_timer(io_forwarder *forwarder)
{
    tern_time earliest = TERN_TIME_INFINITE;
    for (int direction = 0; direction < IO_FORWARD_DIRECTIONS; direction++) {
        const delay_ring *ring = &forwarder->rings[direction];
        if (ring->count > 0 && ring->entries[ring->head].due < earliest)
            earliest = ring->entries[ring->head].due;
    }
    struct itimerspec spec = {0};
    if (earliest != TERN_TIME_INFINITE) {
        spec.it_value.tv_sec = (time_t)(earliest / 1000000000ULL);
        spec.it_value.tv_nsec = (long)(earliest % 1000000000ULL);
        if (earliest == 0)
            spec.it_value.tv_nsec = 1;
    }
    timerfd_settime(forwarder->timer_fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static void enqueue(io_forwarder *forwarder, int direction, size_t flow_index, const uint8_t *data, size_t len)
{
    delay_ring *ring = &forwarder->rings[direction];
    if (ring->count == forwarder->config.queue_capacity) {
        forwarder->stats.dropped[direction]++;
        return;
    }
    size_t slot = (ring->head + ring->count) % forwarder->config.queue_capacity;
    ring->entries[slot].due = io_now() + forwarder->config.delay[direction];
    ring->entries[slot].len = len;
    ring->entries[slot].flow = (uint8_t)flow_index;
    memcpy(ring->payloads + slot * forwarder->config.max_datagram, data, len);
    ring->count++;
    if (ring->count == 1)
        arm_timer(forwarder);
}

static void flush_due(io_forwarder *forwarder)
{
    tern_time now = io_now();
    for (int direction = 0; direction < IO_FORWARD_DIRECTIONS; direction++) {
        delay_ring *ring = &forwarder->rings[direction];
        while (ring->count > 0 && ring->entries[ring->head].due <= now) {
            delayed_datagram *entry = &ring->entries[ring->head];
            uint8_t *payload = ring->payloads + ring->head * forwarder->config.max_datagram;
            send_now(forwarder, direction, &forwarder->flows[entry->flow], payload, entry->len);
            ring->head = (ring->head + 1) % forwarder->config.queue_capacity;
            ring->count--;
        }
    }
    arm_timer(forwarder);
}

static void relay(io_forwarder *forwarder, int direction, size_t flow_index, uint8_t *data, size_t len)
{
    if (forwarder->blackhole) {
        forwarder->stats.blackholed[direction]++;
        return;
    }
    if (decide_loss(forwarder, direction)) {
        forwarder->stats.lost[direction]++;
        return;
    }
    if (len > forwarder->config.max_datagram) {
        forwarder->stats.dropped[direction]++;
        return;
    }
    if (forwarder->config.delay[direction] == 0 && forwarder->rings[direction].count == 0)
        send_now(forwarder, direction, &forwarder->flows[flow_index], data, len);
    else
        enqueue(forwarder, direction, flow_index, data, len);
}

static void on_upstream_readable(io_loop *loop, int fd, void *arg)
{
    (void)loop;
    (void)fd;
    forwarder_flow *flow = arg;
    io_forwarder *forwarder = flow->forwarder;
    size_t flow_index = (size_t)(flow - forwarder->flows);
    while (io_udp_recv(&flow->upstream, &forwarder->recv_batch) > 0) {
        io_datagram datagram;
        while (io_udp_recv_next(&forwarder->recv_batch, &datagram)) {
            /* Only the target may talk through this flow. */
            if (io_addr_equal(&datagram.remote, &forwarder->config.target))
                relay(forwarder, IO_FORWARD_TO_CLIENT, flow_index, datagram.data, datagram.len);
        }
    }
}

static forwarder_flow *find_or_create_flow(io_forwarder *forwarder, const io_datagram *datagram)
{
    forwarder_flow *free_flow = NULL;
    for (size_t i = 0; i < IO_FORWARDER_MAX_FLOWS; i++) {
        forwarder_flow *flow = &forwarder->flows[i];
        if (flow->in_use && io_addr_equal(&flow->client, &datagram->remote)) {
            flow->client_local = datagram->local;
            return flow;
        }
        if (!flow->in_use && free_flow == NULL)
            free_flow = flow;
    }
    if (free_flow == NULL)
        return NULL;
    tern_addr bind_addr = forwarder->config.upstream_bind;
    if (bind_addr.family == TERN_AF_NONE) {
        memset(&bind_addr, 0, sizeof(bind_addr));
        bind_addr.family = forwarder->config.target.family;
    }
    io_udp_options options = {.disable_gro = true, .buffer_size = 1 << 20};
    if (io_udp_open(&free_flow->upstream, &bind_addr, &options) != 0)
        return NULL;
    if (io_loop_add_fd(forwarder->loop, free_flow->upstream.fd, on_upstream_readable, free_flow) != 0) {
        io_udp_close(&free_flow->upstream);
        return NULL;
    }
    free_flow->forwarder = forwarder;
    free_flow->in_use = true;
    free_flow->client = datagram->remote;
    free_flow->client_local = datagram->local;
    return free_flow;
}

static void on_listen_readable(io_loop *loop, int fd, void *arg)
{
    (void)loop;
    (void)fd;
    io_forwarder *forwarder = arg;
    while (io_udp_recv(&forwarder->listen, &forwarder->recv_batch) > 0) {
        io_datagram datagram;
        while (io_udp_recv_next(&forwarder->recv_batch, &datagram)) {
            forwarder_flow *flow = find_or_create_flow(forwarder, &datagram);
            if (flow == NULL) {
                forwarder->stats.dropped[IO_FORWARD_TO_TARGET]++;
                continue;
            }
            relay(forwarder, IO_FORWARD_TO_TARGET, (size_t)(flow - forwarder->flows), datagram.data,
                  datagram.len);
        }
    }
}

static void on_timer_readable(io_loop *loop, int fd, void *arg)
{
    (void)loop;
    uint64_t expirations;
    if (read(fd, &expirations, sizeof(expirations)) > 0)
        flush_due(arg);
}

int io_forwarder_create(io_forwarder **out, io_loop *loop, const io_forwarder_config *config)
{
    *out = NULL;
    if (config->target.family == TERN_AF_NONE)
        return -EINVAL;
    io_forwarder *forwarder = calloc(1, sizeof(*forwarder));
    if (forwarder == NULL)
        return -ENOMEM;
    forwarder->loop = loop;
    forwarder->config = *config;
    forwarder->listen.fd = -1;
    forwarder->timer_fd = -1;
    if (forwarder->config.queue_capacity == 0)
        forwarder->config.queue_capacity = DEFAULT_QUEUE_CAPACITY;
    if (forwarder->config.max_datagram == 0)
        forwarder->config.max_datagram = DEFAULT_MAX_DATAGRAM;
    forwarder->random_state = config->seed != 0 ? config->seed : DEFAULT_SEED;

    size_t capacity = forwarder->config.queue_capacity;
    size_t max_datagram = forwarder->config.max_datagram;
    /* One spare byte per slot lets the kernel flag oversized datagrams as truncated. */
    forwarder->recv_storage = malloc(RECV_SLOTS * (max_datagram + 1));
    int rc = forwarder->recv_storage == NULL ? -ENOMEM : 0;
    for (int direction = 0; rc == 0 && direction < IO_FORWARD_DIRECTIONS; direction++) {
        forwarder->rings[direction].entries = calloc(capacity, sizeof(delayed_datagram));
        forwarder->rings[direction].payloads = malloc(capacity * max_datagram);
        if (forwarder->rings[direction].entries == NULL || forwarder->rings[direction].payloads == NULL)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        io_udp_recv_batch_init(&forwarder->recv_batch, forwarder->recv_storage, max_datagram + 1, RECV_SLOTS);
        io_udp_options options = {.disable_gro = true, .buffer_size = 1 << 20};
        rc = io_udp_open(&forwarder->listen, &config->listen, &options);
    }
    if (rc == 0) {
        forwarder->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (forwarder->timer_fd < 0)
            rc = -errno;
    }
    if (rc == 0)
        rc = io_loop_add_fd(loop, forwarder->listen.fd, on_listen_readable, forwarder);
    if (rc == 0)
        rc = io_loop_add_fd(loop, forwarder->timer_fd, on_timer_readable, forwarder);
    if (rc != 0) {
        io_forwarder_destroy(forwarder);
        return rc;
    }
    *out = forwarder;
    return 0;
}

void io_forwarder_destroy(io_forwarder *forwarder)
{
    if (forwarder == NULL)
        return;
    for (size_t i = 0; i < IO_FORWARDER_MAX_FLOWS; i++) {
        if (forwarder->flows[i].in_use) {
            io_loop_remove_fd(forwarder->loop, forwarder->flows[i].upstream.fd);
            io_udp_close(&forwarder->flows[i].upstream);
        }
    }
    if (forwarder->listen.fd >= 0) {
        io_loop_remove_fd(forwarder->loop, forwarder->listen.fd);
        io_udp_close(&forwarder->listen);
    }
    if (forwarder->timer_fd >= 0) {
        io_loop_remove_fd(forwarder->loop, forwarder->timer_fd);
        close(forwarder->timer_fd);
    }
    for (int direction = 0; direction < IO_FORWARD_DIRECTIONS; direction++) {
        free(forwarder->rings[direction].entries);
        free(forwarder->rings[direction].payloads);
    }
    free(forwarder->recv_storage);
    free(forwarder);
}

tern_addr io_forwarder_listen_address(const io_forwarder *forwarder)
{
    return forwarder->listen.bound;
}

void io_forwarder_set_loss(io_forwarder *forwarder, int direction, double probability)
{
    if (direction >= 0 && direction < IO_FORWARD_DIRECTIONS)
        forwarder->config.loss[direction] = probability;
}

void io_forwarder_set_delay(io_forwarder *forwarder, int direction, tern_time delay)
{
    if (direction >= 0 && direction < IO_FORWARD_DIRECTIONS)
        forwarder->config.delay[direction] = delay;
}

void io_forwarder_set_blackhole(io_forwarder *forwarder, bool on)
{
    forwarder->blackhole = on;
}

io_forwarder_stats io_forwarder_get_stats(const io_forwarder *forwarder)
{
    return forwarder->stats;
}
