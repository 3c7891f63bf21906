/* Test harness: a tern endpoint living on a simulator node. Received
 * datagrams go to tern_endpoint_recv, timers to tern_endpoint_on_timer;
 * after each, events are handed to the test's callback and every datagram
 * the endpoint has is sent through the simulator. */
#ifndef TERN_TEST_HARNESS_H
#define TERN_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"
#include "tern/tern.h"

#define H_BATCH 32

typedef struct h_node h_node;
typedef void (*h_event_fn)(h_node *n, const tern_event *ev, void *ctx);

struct h_node {
    sim *s;
    sim_node *node;
    tern_endpoint *ep;
    h_event_fn on_event;
    void *ctx;
    uint8_t rxbuf[65536];
    uint8_t txbuf[H_BATCH * 1500];
    tern_datagram dgs[H_BATCH];
    uint64_t datagrams_sent;
    /* tern_endpoint_send with allow_gso (default false); batches are split
     * into their segments before they enter the simulator. */
    bool allow_gso;
    uint64_t gso_batches, gso_segments;
    size_t largest_gso_batch; /* bytes */
    /* Traffic of an address reached through a relay (tests/harness/relay.h):
     * relay_wrap sends a datagram of the endpoint's (true: taken care of),
     * relay_unwrap receives one for it (true: taken care of). */
    struct h_relay *relay;
    tern_addr relay_own;
    bool (*relay_wrap)(h_node *n, const tern_datagram *dg, const uint8_t *data, size_t len, tern_time now);
    bool (*relay_unwrap)(h_node *n, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                         const uint8_t *data, size_t len, tern_time now);
};

/* A self-signed certificate for "localhost" (generated once, shared). */
void h_cert(const char **cert_pem, const char **key_pem);
/* Configs for a test server / a client trusting h_cert. */
void h_server_config(tern_config *cfg);
void h_client_config(tern_config *cfg);

h_node *h_node_new(sim *s, const tern_config *cfg, const char *name, h_event_fn on_event, void *ctx);
void h_node_free(h_node *n);
/* Sends what the endpoint has now and re-arms its timer (after the test
 * changed the endpoint outside a callback, through the API or by setting
 * a connection's fields: every connection is made ready first). */
void h_kick(h_node *n);

/* Hands one datagram to the endpoint and sends what it answers. */
void h_node_deliver(h_node *n, const tern_addr *local, const tern_addr *remote, uint8_t ecn, const uint8_t *data,
                    size_t len, tern_time now);

/* sha256 of data, as 32 bytes. */
void h_sha256(const uint8_t *data, size_t len, uint8_t out[32]);


/* A client and a server on one simulated link pair. */
typedef struct h_pair h_pair;
typedef void (*h_pair_event_fn)(h_pair *p, bool is_client, const tern_event *ev);

typedef struct h_side {
    h_node *node;
    tern_conn *conn;
    bool handshake_done;
    bool closed;
    uint64_t close_code;
    bool close_app, closed_by_peer;
    char close_reason[128];
    unsigned events[32];
} h_side;

struct h_pair {
    sim *s;
    h_side client, server;
    tern_addr caddr, saddr;
    sim_link *clink, *slink;
    h_pair_event_fn on_event;
    void *user;
};

/* Link: one-way delay and rate on each side's link (so RTT = 4 x delay),
 * random loss on both directions of the client's link. cfgs may be NULL. */
h_pair *h_pair_new(uint64_t seed, tern_time one_way_delay, uint64_t rate_bps, double loss,
                   const tern_config *ccfg, const tern_config *scfg);
void h_pair_free(h_pair *p);
/* Starts the connection; returns the client's. */
tern_conn *h_pair_connect(h_pair *p);
/* Runs until both sides report HANDSHAKE_DONE or deadline; true on success. */
bool h_pair_run_handshake(h_pair *p, tern_time deadline);
/* Same, with the client behind a NAT (public IP 198.18.2.1). */
h_pair *h_pair_new_nat(uint64_t seed, tern_time one_way_delay, uint64_t rate_bps, sim_nat **nat);
/* Both nodes and no address: the test builds the network (sets caddr,
 * saddr, and clink/slink if it uses them). */
h_pair *h_pair_new_nodes(uint64_t seed, const tern_config *ccfg, const tern_config *scfg);

#endif
