/* The addresses the move policies send connections to: a small table of
 * slots, each held by the entries meant to use it. An address the endpoint
 * did not serve is added by the policy (open_address first) and owned;
 * once no entry holds an owned address it is removed from the endpoint
 * (DRAINING), and TERN_EVENT_ADDRESS_UNUSED frees its slot when the last
 * path or CID on it goes. */
#include <string.h>

#include "conn.h"
#include "move_engine.h"

static int find(const tern_move_engine *m, const tern_addr *addr)
{
    for (int i = 0; i < TERN_LOCAL_ADDR_MAX; i++)
        if (m->addrs[i].in_use && tern_addr_equal(&m->addrs[i].addr, addr)) return i;
    return -1;
}

static int take_slot(tern_move_engine *m, const tern_addr *addr)
{
    for (int i = 0; i < TERN_LOCAL_ADDR_MAX; i++)
        if (!m->addrs[i].in_use) {
            memset(&m->addrs[i], 0, sizeof m->addrs[i]);
            m->addrs[i].in_use = true;
            m->addrs[i].addr = *addr;
            return i;
        }
    return -1;
}

int tern_move_addr_ensure(tern_move_engine *m, const tern_addr *addr, tern_err *err)
{
    tern_endpoint *ep = m->ep;
    int slot = find(m, addr);
    if (tern_endpoint_serves(ep, addr)) {
        if (slot < 0) slot = take_slot(m, addr);
        if (slot < 0) *err = TERN_ERR_NOMEM;
        else if (m->addrs[slot].removed) m->addrs[slot].removed = false; /* re-added behind our back */
        return slot;
    }
    /* DRAINING: its socket is still open, it is served again. Unknown: the
     * application opens it first. */
    bool draining = tern_local_addrs_known(&ep->local_addrs, addr);
    if (!draining && m->common.open_address) {
        tern_err e = m->common.open_address(m->common.open_ctx, addr);
        if (e != TERN_OK) {
            *err = e;
            return -1;
        }
    }
    if (slot < 0) slot = take_slot(m, addr);
    if (slot < 0) {
        *err = TERN_ERR_NOMEM;
        return -1;
    }
    tern_err e = tern_endpoint_add_address(ep, addr);
    if (e != TERN_OK) {
        if (m->addrs[slot].uses == 0) m->addrs[slot].in_use = false;
        *err = e;
        return -1;
    }
    m->addrs[slot].owned = true;
    m->addrs[slot].removed = false;
    if (!draining) {
        tern_move_stats(m)->addresses_added++;
        tern_move_record r = {.action = TERN_MOVE_ADDED, .to = *addr};
        tern_move_emit(m, NULL, &r);
    }
    return slot;
}

static void release(tern_move_engine *m, int slot)
{
    tern_move_addr *a = &m->addrs[slot];
    if (!a->owned) {
        a->in_use = false; /* the application's: nothing to do */
        return;
    }
    if (a->removed) return;
    a->removed = true;
    tern_addr addr = a->addr;
    tern_move_stats(m)->addresses_released++;
    tern_move_record r = {.action = TERN_MOVE_RELEASED, .from = addr};
    tern_move_emit(m, NULL, &r);
    /* May forget it at once: its ADDRESS_UNUSED frees the slot. */
    tern_endpoint_remove_address(m->ep, &addr);
}

void tern_move_addr_hold(tern_move_engine *m, tern_move_entry *e, int slot)
{
    if (slot == e->held) return;
    if (slot >= 0) m->addrs[slot].uses++;
    int old = e->held;
    e->held = slot;
    if (old >= 0 && --m->addrs[old].uses == 0 && m->kind != TERN_MOVE_POLICY_NONE) release(m, old);
}

void tern_move_addr_release_idle(tern_move_engine *m)
{
    for (int i = 0; i < TERN_LOCAL_ADDR_MAX; i++)
        if (m->addrs[i].in_use && m->addrs[i].uses == 0) release(m, i);
}

void tern_move_addr_on_unused(tern_move_engine *m, const tern_addr *addr)
{
    int slot = find(m, addr);
    if (slot < 0) return;
    if (m->addrs[slot].uses == 0) m->addrs[slot].in_use = false;
    else m->addrs[slot].owned = false; /* forgotten by the endpoint: not ours to remove */
}
