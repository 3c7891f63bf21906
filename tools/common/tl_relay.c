/* tl_node through a TURN relay; see tl_relay.h. */
#define _GNU_SOURCE /* struct mmsghdr in udp_socket.h */
#include "tl_relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define RELAY_SLOT 2048 /* a wrapped QUIC datagram plus TURN framing */
#define RELAY_TX_MAX TL_TX_BATCH

struct tl_relay {
    tl_node *node;
    turn_client tc;
    io_udp_socket sock;
    io_udp_recv_batch *rx;
    uint8_t *rxbuf;
    uint8_t *txbuf; /* RELAY_TX_MAX slots of RELAY_SLOT bytes */
    io_datagram tx[RELAY_TX_MAX];
    size_t ntx;
    turn_state reported;
    bool registered; /* relayed address added to the endpoint */
    uint64_t refreshes_seen, stale_seen, peer_errors_seen;
    tl_relay_state_fn on_state;
    void *ctx;
    tl_relay_stats stats;
};

static void send_batch(tl_relay *r)
{
    size_t done = 0;
    while (done < r->ntx) {
        int k = io_udp_send(&r->sock, r->tx + done, r->ntx - done);
        if (k <= 0) {
            /* Socket buffer full or a socket error: drop the rest (QUIC
             * recovers; TURN requests are retransmitted). */
            r->stats.send_dropped += r->ntx - done;
            break;
        }
        for (size_t i = done; i < done + (size_t)k; i++) {
            r->stats.to_relay_bytes += r->tx[i].len;
            r->stats.to_relay_datagrams++;
        }
        done += (size_t)k;
        if (done < r->ntx) {
            r->stats.send_dropped += r->ntx - done;
            break;
        }
    }
    r->ntx = 0;
}

static uint8_t *slot(tl_relay *r)
{
    if (r->ntx == RELAY_TX_MAX) send_batch(r);
    return r->txbuf + r->ntx * RELAY_SLOT;
}

static void push(tl_relay *r, uint8_t *p, size_t len)
{
    r->tx[r->ntx++] = (io_datagram){.remote = r->tc.cfg.server, .data = p, .len = len};
}

/* Control messages the client has, then the state change, if any. */
static void service(tl_relay *r)
{
    for (;;) {
        uint8_t *p = slot(r);
        size_t n = turn_client_poll_send(&r->tc, p, RELAY_SLOT);
        if (!n) break;
        push(r, p, n);
    }
    if (r->tc.stale_nonces != r->stale_seen) {
        r->stale_seen = r->tc.stale_nonces;
        tl_log("relay: stale nonce (438), retrying with the new one");
    }
    if (r->tc.peer_errors != r->peer_errors_seen) {
        r->peer_errors_seen = r->tc.peer_errors;
        tl_log("relay: %s", r->tc.peer_error);
    }
    if (r->tc.refreshes != r->refreshes_seen) {
        r->refreshes_seen = r->tc.refreshes;
        tl_log("relay: allocation refreshed, lifetime %u s", (unsigned)r->tc.lifetime);
    }
    turn_state st = turn_client_state(&r->tc);
    if (st == r->reported) return;
    r->reported = st;
    if (st == TURN_ALLOCATED && !r->registered) {
        tern_err e = tern_endpoint_add_address(r->node->ep, turn_client_relayed_addr(&r->tc));
        r->registered = e == TERN_OK;
        if (e != TERN_OK) {
            char a[IO_ADDR_STRLEN];
            tl_err("cannot register the relayed address %s: %s",
                   tl_addr_str(turn_client_relayed_addr(&r->tc), a, sizeof a), tern_err_name(e));
        }
    }
    if (r->on_state) r->on_state(r, st, r->ctx);
}

void tl_relay_flush(tl_relay *r)
{
    service(r);
    if (r->ntx) send_batch(r);
}

bool tl_relay_owns(const tl_relay *r, const tern_addr *local)
{
    return r->tc.relayed.family != TERN_AF_NONE && io_addr_equal(local, &r->tc.relayed);
}

void tl_relay_queue(tl_relay *r, const tern_datagram *d)
{
    tern_time now = io_now();
    /* A permission and a channel for every peer the endpoint sends to
     * (and the mark that keeps them refreshed while in use). */
    turn_client_add_peer(&r->tc, &d->remote, now);
    size_t seg = d->segment_size ? d->segment_size : d->len;
    for (size_t off = 0; off < d->len; off += seg) {
        size_t len = d->len - off < seg ? d->len - off : seg;
        uint8_t *p = slot(r);
        size_t n = turn_client_wrap(&r->tc, &d->remote, d->data + off, len, p, RELAY_SLOT);
        if (!n) {
            r->stats.send_dropped++;
            continue;
        }
        push(r, p, n);
    }
}

tern_time tl_relay_next_timer(const tl_relay *r) { return turn_client_next_timer(&r->tc); }

void tl_relay_on_timer(tl_relay *r, tern_time now)
{
    if (turn_client_next_timer(&r->tc) <= now) turn_client_on_timer(&r->tc, now);
    tl_relay_flush(r);
}

static void on_readable(io_loop *loop, int fd, void *arg)
{
    (void)loop;
    (void)fd;
    tl_relay *r = arg;
    tl_node *n = r->node;
    for (int round = 0; round < 8; round++) {
        int k = io_udp_recv(&r->sock, r->rx);
        if (k <= 0) break;
        tern_time now = io_now();
        for (io_datagram d; io_udp_recv_next(r->rx, &d);) {
            r->stats.from_relay_bytes += d.len;
            r->stats.from_relay_datagrams++;
            tern_addr peer;
            const uint8_t *payload;
            size_t plen;
            turn_rx rx = turn_client_on_datagram(&r->tc, &d.remote, d.data, d.len, now, &peer, &payload, &plen);
            if (rx != TURN_RX_DATA || !r->registered) continue;
            /* A peer that reached us by a Data indication gets a channel. */
            if (!turn_client_peer_bound(&r->tc, &peer)) turn_client_add_peer(&r->tc, &peer, now);
            /* payload points into r->rxbuf (ours, writable): the engine
             * decrypts in place. */
            tern_endpoint_recv(n->ep, &r->tc.relayed, &peer, 0, (uint8_t *)(uintptr_t)payload, plen, now);
        }
        service(r);
        tl_node_kick(n); /* sends the endpoint's answers (and ours) */
    }
    tl_node_kick(n);
}

int tl_relay_open(tl_relay **out, tl_node *n, const turn_client_config *cfg, tl_relay_state_fn on_state,
                  void *ctx, char *err, size_t err_len)
{
    *out = NULL;
    tl_relay *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    r->sock.fd = -1;
    r->node = n;
    r->on_state = on_state;
    r->ctx = ctx;
    r->rx = malloc(sizeof *r->rx);
    r->rxbuf = malloc((size_t)IO_UDP_BATCH_MAX * RELAY_SLOT);
    r->txbuf = malloc((size_t)RELAY_TX_MAX * RELAY_SLOT);
    if (!r->rx || !r->rxbuf || !r->txbuf) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (turn_client_init(&r->tc, cfg) != 0) {
        snprintf(err, err_len, "%s", turn_client_error_text(&r->tc));
        goto fail;
    }
    io_udp_recv_batch_init(r->rx, r->rxbuf, RELAY_SLOT, IO_UDP_BATCH_MAX);
    tern_addr any = {.family = cfg->server.family};
    io_udp_options opt = {.disable_gso = true, .disable_gro = true};
    int rc = io_udp_open(&r->sock, &any, &opt);
    if (rc < 0) {
        r->sock.fd = -1;
        snprintf(err, err_len, "cannot open a socket toward the TURN server: %s", strerror(-rc));
        goto fail;
    }
    rc = io_loop_add_fd(n->loop, r->sock.fd, on_readable, r);
    if (rc < 0) {
        snprintf(err, err_len, "cannot watch the TURN socket: %s", strerror(-rc));
        goto fail;
    }
    n->relay = r;
    *out = r;
    turn_client_start(&r->tc, io_now());
    r->reported = TURN_ALLOCATING;
    tl_node_kick(n); /* sends the Allocate and arms the timer */
    return 0;
fail:
    if (r->sock.fd >= 0) io_udp_close(&r->sock);
    free(r->rx);
    free(r->rxbuf);
    free(r->txbuf);
    free(r);
    return -1;
}

int tl_relay_permit(tl_relay *r, const tern_addr *ip)
{
    int rc = turn_client_add_permission(&r->tc, ip, io_now());
    if (rc == 0) tl_node_kick(r->node);
    return rc;
}

void tl_relay_close(tl_relay *r)
{
    if (!r) return;
    turn_client_close(&r->tc, io_now());
    service(r);
    if (r->ntx) send_batch(r);
    if (r->node) {
        io_loop_remove_fd(r->node->loop, r->sock.fd);
        if (r->node->relay == r) r->node->relay = NULL;
    }
    io_udp_close(&r->sock);
    free(r->rx);
    free(r->rxbuf);
    free(r->txbuf);
    free(r);
}

const turn_client *tl_relay_client(const tl_relay *r) { return &r->tc; }
void tl_relay_get_stats(const tl_relay *r, tl_relay_stats *st) { *st = r->stats; }
