/* Network paths: tuple, state and anti-amplification (RFC 9000 §8, §9). */
#include "path.h"

#include <assert.h>
#include <string.h>

#include "packet_number.h"

bool tern_addr_same_ip(const tern_addr *a, const tern_addr *b)
{
    if (a->family != b->family) return false;
    size_t n = a->family == TERN_AF_INET6 ? 16 : 4;
    return memcmp(a->ip, b->ip, n) == 0;
}

bool tern_addr_equal(const tern_addr *a, const tern_addr *b)
{
    return tern_addr_same_ip(a, b) && a->port == b->port;
}

void tern_path_init(tern_path *p, tern_path_id id, tern_path_state state, const tern_addr *local,
                    const tern_addr *remote, const tern_cc_config *cc, tern_time initial_rtt, tern_time now)
{
    memset(p, 0, sizeof *p);
    p->id = id;
    p->state = state;
    p->tuple.local = *local;
    p->tuple.remote = *remote;
    tern_path_validation_init(&p->tuple.pv);
    p->abandon_at = TERN_TIME_INFINITE;
    p->last_received = now;
    p->rx_pn_floor = TERN_PN_NONE;
    tern_path_recovery_init(&p->rec, cc, initial_rtt, now);
}

/* Legal moves, by current state (bit per next state). */
#define BIT(s) (1u << (s))
static const unsigned legal_next[] = {
    [TERN_PATH_STATE_FREE] = BIT(TERN_PATH_STATE_PROBING) | BIT(TERN_PATH_STATE_ACTIVE),
    [TERN_PATH_STATE_PROBING] = BIT(TERN_PATH_STATE_STANDBY) | BIT(TERN_PATH_STATE_ACTIVE) | BIT(TERN_PATH_STATE_FREE),
    [TERN_PATH_STATE_STANDBY] = BIT(TERN_PATH_STATE_ACTIVE) | BIT(TERN_PATH_STATE_LEAVING) | BIT(TERN_PATH_STATE_FREE),
    /* The active path is never freed directly: it is left first. */
    [TERN_PATH_STATE_ACTIVE] = BIT(TERN_PATH_STATE_FALLBACK) | BIT(TERN_PATH_STATE_LEAVING),
    [TERN_PATH_STATE_FALLBACK] = BIT(TERN_PATH_STATE_ACTIVE) | BIT(TERN_PATH_STATE_LEAVING) | BIT(TERN_PATH_STATE_FREE),
    /* §9.3.3: the peer may come back to a path we were leaving. */
    [TERN_PATH_STATE_LEAVING] = BIT(TERN_PATH_STATE_ACTIVE) | BIT(TERN_PATH_STATE_FREE),
};

bool tern_path_set_state(tern_path *p, tern_path_state next)
{
    if (p->state == next) return true;
    if (!(legal_next[p->state] & BIT(next))) {
        assert(!"illegal path state transition");
        return false;
    }
    p->state = next;
    return true;
}

const char *tern_path_state_name(tern_path_state s)
{
    switch (s) {
    case TERN_PATH_STATE_FREE: return "free";
    case TERN_PATH_STATE_PROBING: return "probing";
    case TERN_PATH_STATE_STANDBY: return "standby";
    case TERN_PATH_STATE_ACTIVE: return "active";
    case TERN_PATH_STATE_FALLBACK: return "fallback";
    case TERN_PATH_STATE_LEAVING: return "leaving";
    }
    return "?";
}

uint64_t tern_path_send_allowance(const tern_path *p)
{
    if (p->tuple.validated || p->tuple.remote_trusted) return UINT64_MAX;
    uint64_t credit = 3 * p->tuple.bytes_received;
    return credit > p->tuple.bytes_sent ? credit - p->tuple.bytes_sent : 0;
}
