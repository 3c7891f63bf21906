/* A network path of a connection (RFC 9000 §9), in two parts, as
 * picoquic separates them:
 *   - the tuple: our local address and the peer's, whether the peer's
 *     address is validated (§8.2) with the validation object, the
 *     anti-amplification credit (§8.1, §9.3.1) and the PATH_RESPONSE owed
 *     on it (§8.2.2); the peer CID it uses (§9.5) is held by the
 *     cid_manager under the path's id;
 *   - the path: a stable 64-bit id (never reused within a connection, so
 *     packets sent on a path that is gone can never touch a newer one), an
 *     explicit state, and its own RTT/congestion/pacing (§9.4).
 *
 * Role-symmetric on purpose (profile §2-§3): a client probing a new local
 * address, a server seeing a client's new address, and a server moving to
 * a new address of its own all use the same structure. The paths of a
 * connection live in its path set (lib/path_set.h). */
#ifndef TERN_PATH_H
#define TERN_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "path_validation.h"
#include "recovery.h"
#include "tern/path.h"
#include "tern/types.h"

typedef struct tern_path_tuple {
    tern_addr local, remote;
    /* §8.1/§8.2: once validated the peer's address has no amplification
     * limit. */
    bool validated;
    /* The peer's address is the one already validated (we moved our own
     * end, e.g. a client migrating): no amplification limit applies. */
    bool remote_trusted;
    uint64_t bytes_received; /* anti-amplification credit, §8.1 */
    uint64_t bytes_sent;
    tern_path_validation pv; /* our PATH_CHALLENGE (§8.2.1) */
    /* PATH_RESPONSE owed to the peer (§8.2.2), sent on this tuple. */
    bool response_pending;
    uint8_t response[TERN_PATH_DATA_LEN];
} tern_path_tuple;

/* tern_path_state (include/tern/path.h): which transitions are legal is
 * checked in tern_path_set_state (debug builds assert). */

typedef struct tern_path {
    tern_path_id id;
    tern_path_state state;
    tern_path_tuple tuple;
    tern_path_recovery rec;
    tern_time last_received;
    tern_time abandon_at; /* LEAVING: freed then; INFINITE otherwise */
    /* Largest 1-RTT packet number received when we started probing this
     * path ourselves: the peer's packets on it come later, so their numbers
     * are above it (a bound for decoding overtaken packets, conn_recv.c).
     * TERN_PN_NONE when the peer opened the path. */
    uint64_t rx_pn_floor;
    /* PTOs in a row that fired while this path was active, without an
     * acknowledgement of a packet sent on it (path death, profile §2). */
    unsigned pto_count;
    bool dead_reported; /* its death was acted on (once per death) */
} tern_path;
/* A connection holds TERN_MAX_PATHS of them inline: keep it small (msquic
 * keeps the same check). Measured 472 bytes, most of it recovery. */
_Static_assert(sizeof(tern_path) <= 512, "tern_path grew");

void tern_path_init(tern_path *p, tern_path_id id, tern_path_state state, const tern_addr *local,
                    const tern_addr *remote, const tern_cc_config *cc, tern_time initial_rtt, tern_time now);
/* Changes the state; false (and no change) for a transition that is not
 * one of the table in path.c. */
bool tern_path_set_state(tern_path *p, tern_path_state next);
static inline bool tern_path_in_use(const tern_path *p) { return p->state != TERN_PATH_STATE_FREE; }

/* Bytes the anti-amplification limit still allows on this path (§8.1: three
 * times what was received until the address is validated). */
uint64_t tern_path_send_allowance(const tern_path *p);

bool tern_addr_equal(const tern_addr *a, const tern_addr *b);
/* Same IP, possibly another port: §9.4 lets a port-only change keep the
 * congestion state. */
bool tern_addr_same_ip(const tern_addr *a, const tern_addr *b);

#endif
