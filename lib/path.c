/* Network paths: validation and anti-amplification (RFC 9000 §8, §9). */
#include "path.h"

#include "packet_number.h"

#include <string.h>

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

void tern_path_init(tern_path *p, uint8_t id, const tern_addr *local, const tern_addr *remote,
                    const tern_cc_config *cc, tern_time initial_rtt, tern_time now)
{
    memset(p, 0, sizeof *p);
    p->in_use = true;
    p->id = id;
    p->local = *local;
    p->remote = *remote;
    p->validation_deadline = TERN_TIME_INFINITE;
    p->abandon_at = TERN_TIME_INFINITE;
    p->last_received = now;
    p->rx_pn_floor = TERN_PN_NONE;
    tern_path_recovery_init(&p->rec, cc, initial_rtt, now);
}

uint64_t tern_path_send_allowance(const tern_path *p)
{
    if (p->validated || p->remote_trusted) return UINT64_MAX;
    uint64_t credit = 3 * p->bytes_received;
    return credit > p->bytes_sent ? credit - p->bytes_sent : 0;
}

void tern_path_start_validation(tern_path *p, const uint8_t challenge[TERN_PATH_DATA_LEN], tern_time now,
                                tern_time timeout)
{
    memcpy(p->challenge, challenge, TERN_PATH_DATA_LEN);
    p->challenge_pending = true;
    p->challenge_outstanding = false;
    p->challenges_sent = 0;
    p->validation_deadline = now + timeout;
}

bool tern_path_on_response(tern_path *p, const uint8_t data[TERN_PATH_DATA_LEN])
{
    if (!p->challenge_outstanding && !p->challenge_pending) return false;
    if (memcmp(p->challenge, data, TERN_PATH_DATA_LEN) != 0) return false;
    p->challenge_pending = false;
    p->challenge_outstanding = false;
    p->validated = true;
    p->validation_deadline = TERN_TIME_INFINITE;
    return true;
}
