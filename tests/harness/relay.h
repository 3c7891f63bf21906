/* A relay for simulated servers that cannot be reached directly (the
 * draft-kozuka-quic-server-migration scenario): a stand-in for a TURN
 * server (RFC 8656) with the protocol reduced to what the scenario needs.
 *
 * The relay owns a control address and a relayed address. A server node
 * registers with the relay from its own (possibly NATed) address; from then
 * on every datagram a peer sends to the relayed address reaches the server
 * wrapped, and the server's datagrams from the relayed address leave the
 * relay towards their peer. To the server's tern endpoint the relayed
 * address is just one more local address (h_node_use_relay).
 *
 * Wire format between server and relay (not TURN's): 6 bytes of the peer's
 * IPv4 address and port, then the payload. */
#ifndef TERN_TEST_RELAY_H
#define TERN_TEST_RELAY_H

#include <stdint.h>

#include "harness.h"

typedef struct h_relay h_relay;

/* The relay host, attached through one link (params NULL: ideal) that
 * carries both addresses: a relayed datagram crosses it twice. */
h_relay *h_relay_new(sim *s, const tern_addr *control, const tern_addr *relayed, const sim_link_params *params);
void h_relay_free(h_relay *r);
sim_link *h_relay_link(const h_relay *r);
/* Datagrams the relay forwarded, each way. */
uint64_t h_relay_forwarded_to_peer(const h_relay *r);
uint64_t h_relay_forwarded_to_server(const h_relay *r);

/* The node's endpoint sends and receives on the relay's relayed address
 * through the relay, from own (an address of the node's). Registers at
 * once (a NAT in between learns the mapping). */
void h_node_use_relay(h_node *n, h_relay *r, const tern_addr *own);

#endif
