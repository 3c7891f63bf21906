/* A network path of a connection (RFC 9000 §9): our local address, the
 * peer's address, its validation state (§8.2), anti-amplification credit
 * (§8.1, §9.3.1), its own RTT/congestion/pacing state (§9.4) and the peer
 * CID used on it (§9.5, held in the cid_manager under the path's id).
 *
 * Role-symmetric on purpose (profile §2-§3): a client probing a new local
 * address, a server seeing a client's new address, and a server moving to
 * a new address of its own all use the same structure. A connection has a
 * few of them; one is active (carries non-probing traffic). */
#ifndef TERN_PATH_H
#define TERN_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "recovery.h"
#include "tern/types.h"

#define TERN_MAX_PATHS 4

typedef struct tern_path {
    bool in_use;
    uint8_t id;                  /* index in the connection's table */
    tern_addr local, remote;

    /* §8.1/§8.2: once validated the path has no amplification limit. */
    bool validated;
    /* The peer's address is the one already validated (we moved our own
     * end, e.g. a client migrating): no amplification limit applies. */
    bool remote_trusted;
    uint64_t bytes_received;     /* anti-amplification credit, §8.1 */
    uint64_t bytes_sent;

    /* Our PATH_CHALLENGE (§8.2.1). */
    bool challenge_pending;      /* to be sent */
    bool challenge_outstanding;  /* sent, waiting for PATH_RESPONSE */
    uint8_t challenge[TERN_PATH_DATA_LEN];
    tern_time challenge_sent_at;
    tern_time validation_deadline; /* INFINITE when not validating */
    unsigned challenges_sent;

    /* PATH_RESPONSE owed to the peer (§8.2.2), sent on this path. */
    bool response_pending;
    uint8_t response[TERN_PATH_DATA_LEN];

    /* Migration state (lib/migration.c). */
    bool switch_on_validation;   /* we probed it to move there (§9.2, §9.6.1),
                                    or the peer moved there while our own
                                    address on it is new (§9.6.2) */
    tern_time abandon_at;        /* a path we left: forgotten then (§9.5);
                                    INFINITE for the active path, a fallback
                                    and a validated standby */

    tern_path_recovery rec;
    tern_time last_received;
    /* Largest 1-RTT packet number received when we started probing this
     * path ourselves: the peer's packets on it come later, so their numbers
     * are above it (a bound for decoding overtaken packets, conn_recv.c).
     * TERN_PN_NONE when the peer opened the path. */
    uint64_t rx_pn_floor;
} tern_path;

void tern_path_init(tern_path *p, uint8_t id, const tern_addr *local, const tern_addr *remote,
                    const tern_cc_config *cc, tern_time initial_rtt, tern_time now);

/* Bytes the anti-amplification limit still allows on this path (§8.1: three
 * times what was received until the address is validated). */
uint64_t tern_path_send_allowance(const tern_path *p);

/* Starts validating the path: a fresh challenge is queued. */
void tern_path_start_validation(tern_path *p, const uint8_t challenge[TERN_PATH_DATA_LEN], tern_time now,
                                tern_time timeout);

/* A PATH_RESPONSE arrived: true when it answers this path's challenge. */
bool tern_path_on_response(tern_path *p, const uint8_t data[TERN_PATH_DATA_LEN]);

bool tern_addr_equal(const tern_addr *a, const tern_addr *b);
/* Same IP, possibly another port: §9.4 lets a port-only change keep the
 * congestion state. */
bool tern_addr_same_ip(const tern_addr *a, const tern_addr *b);

#endif
