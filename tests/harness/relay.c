#include "relay.h"

#include <stdlib.h>
#include <string.h>

#define RELAY_HEADER 6
#define RELAY_MAX 2048

struct h_relay {
    sim *s;
    sim_node *node;
    sim_link *link;
    tern_addr control, relayed;
    tern_addr server; /* as it reaches the relay (after any NAT) */
    bool registered;
    uint64_t to_peer, to_server;
    uint8_t buf[RELAY_MAX + RELAY_HEADER];
};

static void put_addr(uint8_t *b, const tern_addr *a)
{
    memcpy(b, a->ip, 4);
    b[4] = (uint8_t)(a->port >> 8);
    b[5] = (uint8_t)a->port;
}

static tern_addr get_addr(const uint8_t *b)
{
    return sim_addr_v4(b[0], b[1], b[2], b[3], (uint16_t)(b[4] << 8 | b[5]));
}

static void relay_receive(void *ctx, tern_time now, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                          const uint8_t *data, size_t len)
{
    h_relay *r = ctx;
    if (sim_addr_equal(local, &r->control)) {
        /* From the server: a registration (empty) or a datagram to send. */
        r->server = *remote;
        r->registered = true;
        if (len <= RELAY_HEADER) return;
        tern_addr peer = get_addr(data);
        r->to_peer++;
        sim_send(r->s, r->node, now, &r->relayed, &peer, ecn, data + RELAY_HEADER, len - RELAY_HEADER);
        return;
    }
    if (!r->registered || len > RELAY_MAX) return;
    put_addr(r->buf, remote);
    memcpy(r->buf + RELAY_HEADER, data, len);
    r->to_server++;
    sim_send(r->s, r->node, now, &r->control, &r->server, ecn, r->buf, len + RELAY_HEADER);
}

h_relay *h_relay_new(sim *s, const tern_addr *control, const tern_addr *relayed, const sim_link_params *params)
{
    h_relay *r = calloc(1, sizeof *r);
    r->s = s;
    r->control = *control;
    r->relayed = *relayed;
    sim_node_callbacks cb = {.receive = relay_receive};
    r->node = sim_node_add(s, &cb, r, "relay");
    /* One IP, every port: control and relayed address share the link. */
    tern_addr host = *control;
    host.port = 0;
    r->link = sim_node_add_addr(s, r->node, &host, params);
    return r;
}

void h_relay_free(h_relay *r) { free(r); }
sim_link *h_relay_link(const h_relay *r) { return r->link; }
uint64_t h_relay_forwarded_to_peer(const h_relay *r) { return r->to_peer; }
uint64_t h_relay_forwarded_to_server(const h_relay *r) { return r->to_server; }

/* ---- the server's side (hooks in harness.c) ---- */

static bool relay_wrap(h_node *n, const tern_datagram *dg, const uint8_t *data, size_t len, tern_time now)
{
    h_relay *r = n->relay;
    if (!sim_addr_equal(&dg->local, &r->relayed)) return false;
    uint8_t buf[RELAY_MAX + RELAY_HEADER];
    if (len > RELAY_MAX) return true;
    put_addr(buf, &dg->remote);
    memcpy(buf + RELAY_HEADER, data, len);
    sim_send(n->s, n->node, now, &n->relay_own, &r->control, dg->ecn, buf, len + RELAY_HEADER);
    return true;
}

static bool relay_unwrap(h_node *n, const tern_addr *local, const tern_addr *remote, uint8_t ecn, const uint8_t *data,
                         size_t len, tern_time now)
{
    h_relay *r = n->relay;
    if (!sim_addr_equal(local, &n->relay_own) || !sim_addr_equal(remote, &r->control)) return false;
    if (len <= RELAY_HEADER) return true;
    tern_addr peer = get_addr(data);
    h_node_deliver(n, &r->relayed, &peer, ecn, data + RELAY_HEADER, len - RELAY_HEADER, now);
    return true;
}

void h_node_use_relay(h_node *n, h_relay *r, const tern_addr *own)
{
    n->relay = r;
    n->relay_own = *own;
    n->relay_wrap = relay_wrap;
    n->relay_unwrap = relay_unwrap;
    uint8_t reg = 0;
    sim_send(n->s, n->node, sim_now(n->s), own, &r->control, 0, &reg, 0);
}
