/* A tl_node served through a TURN relay (RFC 8656): one UDP socket toward
 * the relay, the sans-IO io/turn_client.c driven from the node's loop.
 *
 * Once the allocation succeeds, the relayed address is registered with the
 * endpoint (tern_endpoint_add_address) and behaves as a local address:
 * datagrams from the relay are unwrapped and given to the endpoint with
 * local = relayed address, remote = the peer the relay names; datagrams the
 * endpoint sends from the relayed address are wrapped (ChannelData, or a
 * Send indication until the channel is bound; never GSO) and sent to the
 * relay. Every peer the endpoint talks to gets a permission and a channel.
 * tl.c calls the tl_relay_* hooks below when node->relay is set. */
#ifndef TERN_TOOLS_TL_RELAY_H
#define TERN_TOOLS_TL_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl.h"
#include "turn_client.h"

/* Called when the client's state changes (TURN_ALLOCATED: the relayed
 * address is registered; TURN_FAILED: turn_client_error_text says why). */
typedef void (*tl_relay_state_fn)(tl_relay *r, turn_state state, void *ctx);

typedef struct tl_relay_stats {
    uint64_t to_relay_bytes, to_relay_datagrams;     /* UDP payload bytes sent to the relay */
    uint64_t from_relay_bytes, from_relay_datagrams; /* received from it */
    uint64_t send_dropped;                           /* could not wrap or send */
} tl_relay_stats;

/* Opens a socket toward cfg->server (ephemeral port on the kernel's choice
 * of source address), watches it on n's loop, starts the allocation and
 * attaches to n (n->relay). Returns 0, or -1 with a message in err. */
int tl_relay_open(tl_relay **out, tl_node *n, const turn_client_config *cfg, tl_relay_state_fn on_state,
                  void *ctx, char *err, size_t err_len);
/* Asks for a permission for ip (--turn-permit); before the allocation
 * succeeds it is queued. Returns 0, or -1 (table full, wrong family). */
int tl_relay_permit(tl_relay *r, const tern_addr *ip);
/* Deallocates (one Refresh with lifetime 0, sent once, not waited for),
 * detaches from the node and frees r. */
void tl_relay_close(tl_relay *r);

const turn_client *tl_relay_client(const tl_relay *r);
void tl_relay_get_stats(const tl_relay *r, tl_relay_stats *st);

/* ---- hooks for tl.c ---- */
/* True when local is the relayed address (the datagram goes via the relay). */
bool tl_relay_owns(const tl_relay *r, const tern_addr *local);
/* Wraps one datagram from the endpoint and queues it for the relay. */
void tl_relay_queue(tl_relay *r, const tern_datagram *d);
/* Sends what tl_relay_queue queued and the client's control messages. */
void tl_relay_flush(tl_relay *r);
tern_time tl_relay_next_timer(const tl_relay *r);
void tl_relay_on_timer(tl_relay *r, tern_time now);

#endif
