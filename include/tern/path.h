/* Paths of a connection as the application sees them (RFC 9000 §9).
 *
 * Every path has an id (tern_path_id, include/tern/types.h): 0 for the
 * handshake's 4-tuple, then one more per new path, never reused within a
 * connection. TERN_EVENT_PATH carries it; tern_conn_migrate and
 * tern_conn_probe_path return it; tern_conn_path_info reads a path by it. */
#ifndef TERN_PATH_PUBLIC_H
#define TERN_PATH_PUBLIC_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/types.h"

/* What a path is for (docs/protocol.md §9). */
typedef enum tern_path_state {
    TERN_PATH_STATE_FREE = 0, /* not a path (internal: an unused slot) */
    TERN_PATH_STATE_PROBING,  /* new: probes only, until validated or switched to */
    TERN_PATH_STATE_STANDBY,  /* validated, probes only: a failover target */
    TERN_PATH_STATE_ACTIVE,   /* carries the non-probing traffic (exactly one) */
    TERN_PATH_STATE_FALLBACK, /* the previous active path, kept while the new
                                 one is not validated (§9.3.2) */
    TERN_PATH_STATE_LEAVING,  /* left: delayed packets still processed for
                                 3 PTO, then forgotten and its CID retired (§9.5) */
} tern_path_state;

typedef struct tern_path_info {
    tern_path_id id;
    tern_path_state state;
    tern_addr local, remote;
    bool validated;      /* the peer's address on it answered our challenge (§8.2) */
    bool validating;     /* a PATH_CHALLENGE of ours is pending or unanswered */
    tern_time smoothed_rtt;
    uint64_t cwnd;
    uint64_t bytes_in_flight;
} tern_path_info;

/* Lowercase name of a state ("probing", "active", ...), for logs. */
const char *tern_path_state_name(tern_path_state s);

#endif
