/* NAT boxes: endpoint-independent mapping (RFC 4787 REQ-1) of a private
 * addr:port to a port of the NAT's public IP, endpoint-independent or
 * address-and-port-dependent filtering, idle timeout, and rebinding.
 * Public ports are handed out sequentially so runs stay deterministic. */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

enum { SIM_NAT_FIRST_DYNAMIC_PORT = 49152, SIM_NAT_LOWEST_PORT = 1024 };

sim_nat *sim_nat_add(sim *s, const tern_addr *public_addr, const sim_nat_config *cfg,
                     const sim_link_params *params)
{
    sim_nat *nat = calloc(1, sizeof *nat);
    if (!nat)
        return NULL;
    if (cfg)
        nat->config = *cfg;
    nat->next_port = public_addr->port ? public_addr->port : SIM_NAT_FIRST_DYNAMIC_PORT;
    tern_addr every_port = *public_addr;
    every_port.port = 0;
    nat->public_link = sim_attach_link(s, NULL, nat, NULL, &every_port, params);
    if (!nat->public_link) {
        free(nat);
        return NULL;
    }
    nat->next_in_sim = s->nats;
    s->nats = nat;
    return nat;
}

sim_link *sim_nat_link(const sim_nat *nat)
{
    return nat->public_link;
}

const tern_addr *sim_nat_public_addr(const sim_nat *nat)
{
    return &nat->public_link->addr;
}

static bool mapping_live(const sim_nat *nat, const sim_nat_mapping *m, tern_time now)
{
    return nat->config.mapping_timeout == 0 || now - m->last_used < nat->config.mapping_timeout;
}

static void remove_mapping(sim_nat *nat, size_t index)
{
    free(nat->mappings[index].remotes);
    /* Keep creation order, so that a rebind hands out new ports in the
     * order the mappings were made. */
    memmove(&nat->mappings[index], &nat->mappings[index + 1],
            (nat->mapping_count - index - 1) * sizeof *nat->mappings);
    nat->mapping_count--;
}

static void purge_expired(sim_nat *nat, tern_time now)
{
    for (size_t i = nat->mapping_count; i-- > 0;)
        if (!mapping_live(nat, &nat->mappings[i], now))
            remove_mapping(nat, i);
}

static bool port_in_use(const sim_nat *nat, uint16_t port)
{
    for (size_t i = 0; i < nat->mapping_count; i++)
        if (nat->mappings[i].public_port == port)
            return true;
    return false;
}

static uint16_t allocate_port(sim_nat *nat)
{
    for (;;) {
        uint16_t port = nat->next_port;
        nat->next_port = port == 65535 ? SIM_NAT_LOWEST_PORT : (uint16_t)(port + 1);
        if (port >= SIM_NAT_LOWEST_PORT && !port_in_use(nat, port))
            return port;
    }
}

static bool remember_remote(sim_nat_mapping *m, const tern_addr *remote)
{
    for (size_t i = 0; i < m->remote_count; i++)
        if (sim_addr_equal(&m->remotes[i], remote))
            return true;
    if (!sim_grow((void **)&m->remotes, &m->remote_capacity, m->remote_count + 1,
                  sizeof *m->remotes))
        return false;
    m->remotes[m->remote_count++] = *remote;
    return true;
}

static sim_nat_mapping *find_by_private(sim_nat *nat, const tern_addr *private_addr)
{
    for (size_t i = 0; i < nat->mapping_count; i++)
        if (sim_addr_equal(&nat->mappings[i].private_addr, private_addr))
            return &nat->mappings[i];
    return NULL;
}

bool sim_nat_translate_outbound(sim_nat *nat, tern_time now, tern_addr *src,
                                const tern_addr *dst)
{
    sim_nat_mapping *m = find_by_private(nat, src);
    if (m && !mapping_live(nat, m, now)) {
        purge_expired(nat, now);
        m = NULL;
    }
    if (!m) {
        if (!sim_grow((void **)&nat->mappings, &nat->mapping_capacity, nat->mapping_count + 1,
                      sizeof *nat->mappings))
            return false;
        m = &nat->mappings[nat->mapping_count];
        *m = (sim_nat_mapping){.private_addr = *src};
        m->public_port = allocate_port(nat);
        nat->mapping_count++;
    }
    m->last_used = now;
    if (!remember_remote(m, dst))
        return false;
    tern_addr translated = nat->public_link->addr;
    translated.port = m->public_port;
    *src = translated;
    return true;
}

bool sim_nat_translate_inbound(sim_nat *nat, tern_time now, const tern_addr *src,
                               tern_addr *dst, sim_drop_reason *reason)
{
    for (size_t i = 0; i < nat->mapping_count; i++) {
        sim_nat_mapping *m = &nat->mappings[i];
        if (m->public_port != dst->port)
            continue;
        if (!mapping_live(nat, m, now))
            break;
        if (nat->config.address_port_restricted) {
            bool known = false;
            for (size_t r = 0; r < m->remote_count && !known; r++)
                known = sim_addr_equal(&m->remotes[r], src);
            if (!known) {
                *reason = SIM_DROP_NAT_FILTERED;
                return false;
            }
        }
        if (nat->config.inbound_refreshes)
            m->last_used = now;
        *dst = m->private_addr;
        return true;
    }
    *reason = SIM_DROP_NAT_NO_MAPPING;
    return false;
}

void sim_nat_rebind(sim *s, sim_nat *nat, const tern_addr *new_public)
{
    purge_expired(nat, s->now);
    if (new_public && new_public->family != TERN_AF_NONE) {
        tern_addr every_port = *new_public;
        every_port.port = 0;
        nat->public_link->addr = every_port;
    }
    if (new_public && new_public->port)
        nat->next_port = new_public->port;
    for (size_t i = 0; i < nat->mapping_count; i++) {
        sim_nat_mapping *m = &nat->mappings[i];
        /* allocate_port skips every port still held, this one's old port
         * included, so each mapping really moves. */
        m->public_port = allocate_port(nat);
        m->remote_count = 0;
    }
}

void sim_nat_flush(sim_nat *nat)
{
    while (nat->mapping_count)
        remove_mapping(nat, nat->mapping_count - 1);
}

void sim_nat_free_mappings(sim_nat *nat)
{
    sim_nat_flush(nat);
    free(nat->mappings);
    nat->mappings = NULL;
    nat->mapping_capacity = 0;
}

bool sim_nat_lookup(const sim *s, const sim_nat *nat, const tern_addr *private_addr,
                    tern_addr *public_out)
{
    for (size_t i = 0; i < nat->mapping_count; i++) {
        const sim_nat_mapping *m = &nat->mappings[i];
        if (sim_addr_equal(&m->private_addr, private_addr) && mapping_live(nat, m, s->now)) {
            *public_out = nat->public_link->addr;
            public_out->port = m->public_port;
            return true;
        }
    }
    return false;
}

size_t sim_nat_mapping_count(const sim *s, const sim_nat *nat)
{
    size_t live = 0;
    for (size_t i = 0; i < nat->mapping_count; i++)
        live += mapping_live(nat, &nat->mappings[i], s->now);
    return live;
}
