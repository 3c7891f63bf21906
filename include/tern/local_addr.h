/* Local addresses of an endpoint as the application sees them (profile §2
 * "Server": the endpoint knows which local addresses it serves, and tells
 * the application when it may close a socket).
 *
 * The application registers the addresses it has sockets on with
 * tern_endpoint_add_address and takes them away with
 * tern_endpoint_remove_address (include/tern/tern.h). Each registered
 * address has a state and two reference counts: the paths of any
 * connection that use it as their local address (RFC 9000 §9), and the
 * connection IDs a SERVER_ALTERNATE_ADDRESS frame bound to it (profile §2).
 * A removed address that is still referenced is DRAINING: existing paths
 * keep working on it, nothing new starts there. When its last reference
 * goes it is forgotten and TERN_EVENT_ADDRESS_UNUSED (address in ev.local)
 * says the socket may be closed.
 *
 * An endpoint on which tern_endpoint_add_address was never called is in
 * *legacy mode*: every address counts as served and nothing is counted, as
 * before this API existed (docs/protocol.md §9.1). */
#ifndef TERN_LOCAL_ADDR_PUBLIC_H
#define TERN_LOCAL_ADDR_PUBLIC_H

#include <stdint.h>

#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most addresses an endpoint holds at once, SERVING and DRAINING together:
 * a fixed array, no allocation. */
#define TERN_LOCAL_ADDR_MAX 64

typedef enum tern_local_addr_state {
    /* Registered: new connections are accepted on it (a server) and it may
     * be advertised in SERVER_ALTERNATE_ADDRESS frames. */
    TERN_LOCAL_ADDR_SERVING = 1,
    /* Removed by the application but still referenced by a path or an
     * advertised CID: those keep working, no new connection is accepted on
     * it and it is never advertised again. Forgotten (with
     * TERN_EVENT_ADDRESS_UNUSED) when the last reference goes. */
    TERN_LOCAL_ADDR_DRAINING,
} tern_local_addr_state;

typedef struct tern_local_addr_info {
    tern_addr addr;
    tern_local_addr_state state;
    uint32_t paths; /* paths of any connection with this local address */
    uint32_t cids;  /* advertised CIDs bound to it (SAA frames) */
} tern_local_addr_info;

/* Lowercase name of a state ("serving", "draining"), for logs. */
const char *tern_local_addr_state_name(tern_local_addr_state s);

#ifdef __cplusplus
}
#endif

#endif
