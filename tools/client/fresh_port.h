/* tern-client --fresh-port-per-move: each server address the client moves
 * to (SERVER_ALTERNATE_ADDRESS) is reached from a new local UDP port, and a
 * port is closed once no path uses it, so that an observer of the network
 * cannot link the sub-flows by the client's port (profile §2
 * unlinkability; the CIDs already differ per path, RFC 9000 §9.5).
 *
 * The library follows locators itself unless tern_config.saa_follow_manual
 * is set; with it, this module does the following: the newest UNVERIFIED
 * locator is validated with tern_conn_follow_locator from a fresh socket
 * (one validation at a time: retried while another runs). */
#ifndef TERN_CLIENT_FRESH_PORT_H
#define TERN_CLIENT_FRESH_PORT_H

#include <stdbool.h>

#include "tl.h"

typedef struct fp_state {
    bool enabled;
    tern_addr local_ip;      /* the IP new sockets bind (port 0: the kernel's choice) */
    bool have_pending;
    uint64_t pending;        /* the newest UNVERIFIED locator not yet followed */
    tern_time pending_since;
    tern_time retry_at;      /* TERN_TIME_INFINITE: nothing to retry */
    unsigned sockets_opened, sockets_closed;
    unsigned follow_failures;
} fp_state;

void fp_init(fp_state *f, bool enabled, const tern_addr *local_ip);
/* TERN_EVENT_LOCATOR: a newly learned (UNVERIFIED) one is followed. */
void fp_on_locator(fp_state *f, tl_node *n, tern_conn *c, const tern_locator_change *l, tern_time now);
/* TERN_EVENT_PATH: an ABANDONED path's socket is closed when no path of c
 * uses its local address any more. */
void fp_on_path(fp_state *f, tl_node *n, tern_conn *c, const tern_event *ev);
/* When retry_at has come. */
void fp_on_deadline(fp_state *f, tl_node *n, tern_conn *c, tern_time now);

#endif
