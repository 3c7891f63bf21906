/* The endpoint's local addresses (profile §2 "Server", docs/protocol.md
 * §9.1): the public calls, the TERN_EVENT_ADDRESS_UNUSED event, and the
 * glue that makes every path and every advertised CID of every connection
 * count on the address it uses (lib/local_addrs.h keeps the counts). */
#include "conn.h"

/* The set forgot an address: nothing refers to it any more. */
static void on_unused(void *ctx, const tern_addr *addr)
{
    tern_endpoint *ep = ctx;
    tern_event ev = {.type = TERN_EVENT_ADDRESS_UNUSED, .local = *addr};
    tern_endpoint_push_event(ep, &ev);
}

void tern_endpoint_addrs_init(tern_endpoint *ep) { tern_local_addrs_init(&ep->local_addrs, on_unused, ep); }

void tern_endpoint_addrs_shutdown(tern_endpoint *ep)
{
    /* The endpoint is being freed: its connections' unrefs must not turn
     * into events nobody will read. An empty set in legacy mode counts
     * nothing, so every unref after this is a no-op. */
    tern_local_addrs_init(&ep->local_addrs, NULL, NULL);
}

bool tern_endpoint_serves(const tern_endpoint *ep, const tern_addr *local)
{
    return tern_local_addrs_serves(&ep->local_addrs, local);
}

/* ---- connections ---- */

static bool path_local(void *ctx, const tern_addr *local, bool used)
{
    tern_conn *c = ctx;
    if (used) return tern_local_addrs_ref_path(&c->ep->local_addrs, local);
    tern_local_addrs_unref_path(&c->ep->local_addrs, local);
    return false;
}

void tern_conn_local_addrs_attach(tern_conn *c) { tern_path_set_observe_local(&c->paths, path_local, c); }

void tern_conn_local_addrs_detach(tern_conn *c)
{
    /* Every path of a freed connection, the active one included, stops
     * using its address; so do the CIDs it advertised. */
    tern_path_set_release_all(&c->paths);
    tern_local_addr_refs_give_all(&c->local_addr_cid_refs, &c->ep->local_addrs);
}

tern_err tern_conn_local_addr_ref_cid(tern_conn *c, const tern_addr *addr)
{
    return tern_local_addr_refs_take(&c->local_addr_cid_refs, &c->ep->local_addrs, addr);
}

void tern_conn_local_addr_unref_cid(tern_conn *c, const tern_addr *addr)
{
    tern_local_addr_refs_give(&c->local_addr_cid_refs, &c->ep->local_addrs, addr);
}

/* ---- public API (tern.h) ---- */

tern_err tern_endpoint_add_address(tern_endpoint *ep, const tern_addr *addr)
{
    if (!ep) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = tern_local_addrs_add(&ep->local_addrs, addr);
    if (err) return err;
    /* Paths that already use addr (the application registered an address
     * it had connections on) were not counted when they were made: count
     * them now, or the address could be reported unused under them. */
    for (tern_conn *c = ep->conns; c; c = c->next) tern_path_set_observe_local(&c->paths, path_local, c);
    return TERN_OK;
}

tern_err tern_endpoint_remove_address(tern_endpoint *ep, const tern_addr *addr)
{
    if (!ep) return TERN_ERR_INVALID_ARGUMENT;
    return tern_local_addrs_remove(&ep->local_addrs, addr);
}

size_t tern_endpoint_addresses(const tern_endpoint *ep, tern_local_addr_info *out, size_t max)
{
    if (!ep) return 0;
    if (!out) max = 0;
    return tern_local_addrs_list(&ep->local_addrs, out, max);
}
