/* The endpoint: configuration, TLS config, CID routing table, accepting new
 * connections, the event queue, timers across connections and batching of
 * datagrams (tern.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address_token.h"
#include "conn.h"
#include "move_engine.h"
#include "packet_header.h"
#include "table_alloc.h"

static const char *const default_alpn[] = {"tern"};

static char *dup_str(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static tern_err fail(char *errbuf, size_t len, tern_err err, const char *msg)
{
    if (errbuf && len) snprintf(errbuf, len, "%s", msg);
    return err;
}

static tern_err setup_tls(tern_endpoint *ep, char *errbuf, size_t errlen)
{
    tern_config *cfg = &ep->cfg;
    tern_err err = tern_tls_config_new(&ep->tls_cfg, cfg->role == TERN_ROLE_SERVER ? TERN_TLS_SERVER : TERN_TLS_CLIENT);
    if (err) return fail(errbuf, errlen, err, "TLS config");
    if (cfg->cert_pem && cfg->key_pem)
        err = tern_tls_config_set_cert_pem(ep->tls_cfg, cfg->cert_pem, strlen(cfg->cert_pem), cfg->key_pem,
                                           strlen(cfg->key_pem));
    else if (cfg->cert_file && cfg->key_file)
        err = tern_tls_config_set_cert_files(ep->tls_cfg, cfg->cert_file, cfg->key_file);
    else if (cfg->role == TERN_ROLE_SERVER)
        return fail(errbuf, errlen, TERN_ERR_INVALID_ARGUMENT, "server needs a certificate and key");
    if (err) return fail(errbuf, errlen, err, "cannot load certificate/key");
    if (cfg->role == TERN_ROLE_CLIENT) {
        if (cfg->insecure_skip_verify) tern_tls_config_set_insecure_skip_verify(ep->tls_cfg, true);
        else if (cfg->ca_file) err = tern_tls_config_set_ca_file(ep->tls_cfg, cfg->ca_file);
        else if (cfg->cert_pem) err = tern_tls_config_add_ca_pem(ep->tls_cfg, cfg->cert_pem, strlen(cfg->cert_pem));
        else err = tern_tls_config_use_system_trust(ep->tls_cfg);
        if (err) return fail(errbuf, errlen, err, "cannot load trust anchors");
    }
    err = tern_tls_config_set_alpn(ep->tls_cfg, cfg->alpn, cfg->alpn_count);
    if (err) return fail(errbuf, errlen, err, "bad ALPN list");
    tern_tls_config_enable_early_data(ep->tls_cfg, cfg->enable_0rtt);
    return TERN_OK;
}

tern_err tern_endpoint_new(const tern_config *cfg, tern_time now, tern_endpoint **out, char *errbuf,
                           size_t errbuf_len)
{
    (void)now;
    *out = NULL;
    if (!cfg || cfg->cid_len > TERN_MAX_CID_LEN || (cfg->role == TERN_ROLE_SERVER && cfg->cid_len < 8))
        return fail(errbuf, errbuf_len, TERN_ERR_INVALID_ARGUMENT, "bad cid_len");
    /* §18.2: no preferred address with zero-length CIDs. */
    if (cfg->role == TERN_ROLE_SERVER && (cfg->preferred_address_v4.family || cfg->preferred_address_v6.family) &&
        (cfg->cid_len == 0 || (cfg->preferred_address_v4.family && cfg->preferred_address_v4.family != TERN_AF_INET) ||
         (cfg->preferred_address_v6.family && cfg->preferred_address_v6.family != TERN_AF_INET6)))
        return fail(errbuf, errbuf_len, TERN_ERR_INVALID_ARGUMENT, "bad preferred address");
    /* profile §3: the server's new path needs a fresh CID of the client's. */
    if (cfg->role == TERN_ROLE_CLIENT && cfg->server_migration && cfg->cid_len == 0)
        return fail(errbuf, errbuf_len, TERN_ERR_INVALID_ARGUMENT, "server_migration needs cid_len > 0");
    if (cfg->role == TERN_ROLE_CLIENT && cfg->saa_offer && tern_locator_policy_check(&cfg->saa_policy) != 0)
        return fail(errbuf, errbuf_len, TERN_ERR_INVALID_ARGUMENT, "bad saa_policy (version, bounds or prefixes)");
    tern_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep) return fail(errbuf, errbuf_len, TERN_ERR_NOMEM, "out of memory");
    ep->cfg = *cfg;
    if (cfg->max_handshake_rate &&
        tern_token_bucket_init(&ep->handshake_rate, cfg->max_handshake_rate, cfg->max_handshake_rate) != TERN_OK) {
        free(ep);
        return fail(errbuf, errbuf_len, TERN_ERR_INVALID_ARGUMENT, "bad max_handshake_rate");
    }
    /* Own every string: the caller's may go away. */
    const char **fields[] = {&ep->cfg.cert_file, &ep->cfg.key_file, &ep->cfg.cert_pem, &ep->cfg.key_pem,
                             &ep->cfg.ca_file};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        ep->strings[i] = dup_str(*fields[i]);
        *fields[i] = ep->strings[i];
    }
    if (ep->cfg.alpn_count == 0) {
        ep->cfg.alpn = default_alpn;
        ep->cfg.alpn_count = 1;
    } else {
        ep->alpn_copy = calloc(ep->cfg.alpn_count, sizeof *ep->alpn_copy);
        if (!ep->alpn_copy) {
            tern_endpoint_free(ep);
            return fail(errbuf, errbuf_len, TERN_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < ep->cfg.alpn_count; i++) ep->alpn_copy[i] = dup_str(cfg->alpn[i]);
        ep->cfg.alpn = (const char *const *)ep->alpn_copy;
    }
    ep->backend = tern_crypto_backend_default();
    ep->frame_cfg.saa_type = cfg->saa_frame_type;
    ep->tp_cfg.enable_server_migration_id = cfg->tp_enable_server_migration;
    ep->tp_cfg.allow_server_migration_id = cfg->tp_allow_server_migration;
    static const uint8_t zero[32];
    if (memcmp(ep->cfg.static_key, zero, 32) == 0) tern_endpoint_random(ep, ep->cfg.static_key, 32);
    uint8_t route_key[16];
    tern_endpoint_random(ep, route_key, sizeof route_key);
    tern_cid_table_init(&ep->routes, route_key);
    ep->accepting = cfg->role == TERN_ROLE_SERVER;
    tern_timer_heap_init(&ep->timers);
    tern_endpoint_addrs_init(ep);
    tern_err err = setup_tls(ep, errbuf, errbuf_len);
    if (err) {
        tern_endpoint_free(ep);
        return err;
    }
    *out = ep;
    return TERN_OK;
}

void tern_endpoint_free(tern_endpoint *ep)
{
    if (!ep) return;
    /* The move policies point at connections and see their last events. */
    tern_move_engine_free(ep->move);
    ep->move = NULL;
    /* The heap points into the connections: freed first. */
    tern_timer_heap_free(&ep->timers);
    tern_endpoint_addrs_shutdown(ep);
    while (ep->conns) {
        tern_conn *c = ep->conns;
        ep->conns = c->next;
        tern_conn_free(c);
    }
    while (ep->zombies) {
        tern_conn *c = ep->zombies;
        ep->zombies = c->next;
        tern_conn_free(c);
    }
    if (ep->free_after_poll) tern_conn_free(ep->free_after_poll);
    tern_tls_config_free(ep->tls_cfg);
    if (ep->token_aead) ep->backend->aead_free(ep->token_aead);
    for (size_t i = 0; i < 6; i++) free(ep->strings[i]);
    if (ep->alpn_copy) {
        for (size_t i = 0; i < ep->cfg.alpn_count; i++) free((void *)ep->alpn_copy[i]);
        free(ep->alpn_copy);
    }
    tern_cid_table_free(&ep->routes);
    tern_table_free(ep->events.items, ep->events.cap * sizeof *ep->events.items);
    free(ep);
}

void tern_endpoint_random(tern_endpoint *ep, uint8_t *out, size_t len)
{
    if (ep->cfg.random) ep->cfg.random(ep->cfg.random_ctx, out, len);
    else if (ep->backend->random(out, len) != TERN_OK) memset(out, 0x5a, len);
}

void tern_endpoint_reset_token(tern_endpoint *ep, const tern_cid *cid, uint8_t token[TERN_STATELESS_RESET_TOKEN_LEN])
{
    /* HKDF-Extract(static key, CID): a keyed PRF, so only this endpoint can
     * produce the token for a CID (§10.3.2). */
    uint8_t prk[TERN_HASH_MAX_LEN];
    ep->backend->hkdf_extract(TERN_HASH_SHA256, ep->cfg.static_key, sizeof ep->cfg.static_key, cid->data, cid->len,
                              prk);
    memcpy(token, prk, TERN_STATELESS_RESET_TOKEN_LEN);
}

/* ---- routing --------------------------------------------------------------- */

tern_err tern_endpoint_route_add(tern_endpoint *ep, const tern_cid *cid, tern_conn *c)
{
    if (cid->len == 0) return TERN_OK;
    return tern_cid_table_put(&ep->routes, cid, c);
}

void tern_endpoint_route_remove(tern_endpoint *ep, const tern_cid *cid)
{
    tern_cid_table_remove(&ep->routes, cid->data, cid->len);
}

static void route_remove_conn(tern_endpoint *ep, tern_conn *c) { tern_cid_table_remove_value(&ep->routes, c); }

static tern_conn *route_find(tern_endpoint *ep, const uint8_t *dcid, size_t len)
{
    return tern_cid_table_get(&ep->routes, dcid, len);
}

/* ---- events ------------------------------------------------------------------ */

void tern_endpoint_push_event(tern_endpoint *ep, const tern_event *ev)
{
    tern_event_queue *q = &ep->events;
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        /* Regrown under load (a flood): its own mapping above a page. */
        tern_event *n = tern_table_calloc(ncap * sizeof *n);
        if (!n) return;
        for (size_t i = 0; i < q->count; i++) n[i] = q->items[(q->head + i) % q->cap];
        tern_table_free(q->items, q->cap * sizeof *q->items);
        q->items = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->items[(q->head + q->count) % q->cap] = *ev;
    q->count++;
    /* The move policies learn from events (they may queue their own). */
    if (ep->move) tern_move_engine_observe(ep->move, ev);
}

bool tern_endpoint_poll_event(tern_endpoint *ep, tern_event *ev)
{
    if (ep->free_after_poll) {
        tern_conn_free(ep->free_after_poll);
        ep->free_after_poll = NULL;
    }
    tern_event_queue *q = &ep->events;
    if (q->count == 0) return false;
    *ev = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    if (ev->type == TERN_EVENT_CONN_CLOSED && ev->conn && ev->conn->state == TERN_CONN_CLOSED) {
        /* The reason string lives in the connection: keep it until the
         * next poll, then free the connection (tern.h). */
        for (tern_conn **pp = &ep->zombies; *pp; pp = &(*pp)->next)
            if (*pp == ev->conn) {
                *pp = ev->conn->next;
                ep->free_after_poll = ev->conn;
                break;
            }
    }
    return true;
}

/* ---- ready list, timers, closed connections ------------------------------- */

static void ready_remove(tern_endpoint *ep, tern_conn *c)
{
    if (!c->in_ready) return;
    if (c->ready_prev) c->ready_prev->ready_next = c->ready_next;
    else ep->ready_head = c->ready_next;
    if (c->ready_next) c->ready_next->ready_prev = c->ready_prev;
    else ep->ready_tail = c->ready_prev;
    c->ready_next = c->ready_prev = NULL;
    c->in_ready = false;
}

void tern_endpoint_wake(tern_conn *c)
{
    tern_endpoint *ep = c->ep;
    if (c->in_ready || c->state == TERN_CONN_CLOSED) return;
    c->in_ready = true;
    c->ready_next = NULL;
    c->ready_prev = ep->ready_tail;
    if (ep->ready_tail) ep->ready_tail->ready_next = c;
    else ep->ready_head = c;
    ep->ready_tail = c;
}

void tern_endpoint_wake_all(tern_endpoint *ep)
{
    for (tern_conn *c = ep->conns; c; c = c->next) tern_endpoint_wake(c);
}

/* c left the ready list: its timer goes (back) into the heap. The heap
 * has room for every connection (link_conn), so this cannot fail; if it
 * did, c would stay ready, which is slower but still correct. */
static void park(tern_endpoint *ep, tern_conn *c)
{
    ready_remove(ep, c);
    if (tern_timer_heap_set(&ep->timers, &c->timer, tern_conn_next_timer(c)) != TERN_OK) tern_endpoint_wake(c);
}

void tern_endpoint_conn_closed(tern_conn *c)
{
    if (c->in_closed) return;
    c->in_closed = true;
    c->closed_next = c->ep->closed;
    c->ep->closed = c;
}

static tern_conn *conn_of_timer(tern_timer_heap_node *n)
{
    return (tern_conn *)(void *)((char *)n - offsetof(tern_conn, timer));
}

/* Takes c out of everything the endpoint indexes it by. */
static void unlink_conn(tern_endpoint *ep, tern_conn *c)
{
    if (c->prev) c->prev->next = c->next;
    else ep->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = NULL;
    ready_remove(ep, c);
    tern_timer_heap_remove(&ep->timers, &c->timer);
    tern_conn_uncount_handshake(c);
    route_remove_conn(ep, c);
    ep->conn_count--;
}

/* Unlinks connections that reached CLOSED. Their CONN_CLOSED event is
 * queued; they wait on the zombie list until it is taken (tern.h: the
 * tern_conn is freed after that event). Only the closed ones are visited. */
static void reap(tern_endpoint *ep)
{
    while (ep->closed) {
        tern_conn *c = ep->closed;
        ep->closed = c->closed_next;
        c->in_closed = false;
        unlink_conn(ep, c);
        c->next = ep->zombies;
        ep->zombies = c;
    }
}

/* ---- connections ----------------------------------------------------------- */

static tern_err link_conn(tern_endpoint *ep, tern_conn *c)
{
    /* Room in the heap for every connection, so that parking one never
     * fails later. */
    if (tern_timer_heap_reserve(&ep->timers, ep->conn_count + 1) != TERN_OK) return TERN_ERR_NOMEM;
    c->prev = NULL;
    c->next = ep->conns;
    if (ep->conns) ep->conns->prev = c;
    ep->conns = c;
    ep->conn_count++;
    tern_endpoint_wake(c);
    return TERN_OK;
}

static void random_cid(tern_endpoint *ep, tern_cid *cid, size_t len)
{
    cid->len = (uint8_t)len;
    tern_endpoint_random(ep, cid->data, len);
}

tern_err tern_endpoint_connect(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote,
                               const char *server_name, const uint8_t *session, size_t session_len,
                               tern_time now, tern_conn **out)
{
    *out = NULL;
    if (ep->cfg.role != TERN_ROLE_CLIENT) return TERN_ERR_INVALID_ARGUMENT;
    /* RFC 9000 §7.2: the first DCID is random, at least 8 bytes. */
    tern_cid dcid, scid;
    random_cid(ep, &dcid, 8);
    random_cid(ep, &scid, ep->cfg.cid_len);
    tern_conn *c = tern_conn_new(ep, TERN_ROLE_CLIENT, local, remote, &scid, &dcid, now);
    if (!c) return TERN_ERR_NOMEM;
    if (link_conn(ep, c) != TERN_OK) {
        tern_conn_free(c);
        return TERN_ERR_NOMEM;
    }
    tern_err err = TERN_OK;
    if (server_name) err = tern_tls_set_server_name(c->tls, server_name);
    if (!err && session) err = tern_tls_set_resumption(c->tls, session, session_len);
    if (!err) tern_conn_qlog_start(c, now);
    if (!err) err = tern_tls_start(c->tls);
    if (err) {
        unlink_conn(ep, c);
        tern_conn_free(c);
        return err;
    }
    *out = c;
    return TERN_OK;
}

/* A server accepts a connection on a client's first Initial (RFC 9000 §7.2,
 * §14.1: only in a datagram of at least 1200 bytes, DCID at least 8 bytes).
 * Under pressure it answers statelessly instead: CONNECTION_REFUSED at
 * max_connections, Retry (unless the address is validated) at
 * max_handshakes. */
static tern_conn *accept_conn(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote, uint8_t *data,
                              size_t len, tern_time now)
{
    tern_packet_header hdr;
    if (ep->cfg.role != TERN_ROLE_SERVER || len < TERN_DATAGRAM_SIZE) return NULL;
    /* Not on an address the application does not serve (never added, or
     * removed and DRAINING): dropped, no Retry either (docs/protocol.md §9.1);
     * but a draining server refuses on the addresses it drains, below. */
    bool serves = tern_endpoint_serves(ep, local);
    if (!serves && (ep->accepting || !tern_local_addrs_known(&ep->local_addrs, local))) return NULL;
    if (tern_packet_header_parse(data, len, NULL, &hdr) != TERN_OK) return NULL;
    if (hdr.type != TERN_PKT_INITIAL || hdr.dcid_len < 8 || hdr.dcid_len > TERN_MAX_CID_LEN) return NULL;
    if (!ep->accepting) {
        /* §10.2.3: a server that takes no new connection says so, at once. */
        tern_endpoint_send_refusal(ep, local, remote, &hdr, len, "server not accepting new connections", now);
        return NULL;
    }
    tern_cid dcid, scid, odcid;
    dcid.len = (uint8_t)hdr.dcid_len;
    memcpy(dcid.data, hdr.dcid, hdr.dcid_len);
    /* §8.1.3: a token that does not check out is as if there were none. */
    tern_token_result tok = TERN_TOKEN_INVALID;
    if (hdr.token_len) tok = tern_token_check(ep, hdr.token, hdr.token_len, remote, now, &odcid);
    if (ep->cfg.max_connections && ep->conn_count >= ep->cfg.max_connections) {
        tern_endpoint_send_refusal(ep, local, remote, &hdr, len, "server at its connection limit", now);
        return NULL;
    }
    bool pressure = ep->cfg.max_handshakes && ep->handshakes >= ep->cfg.max_handshakes;
    /* The admission rate counts only clients that would get state without
     * a validated address (a token-bearing client is not spoofed). */
    if (!pressure && !ep->cfg.retry && tok == TERN_TOKEN_INVALID && ep->cfg.max_handshake_rate)
        pressure = !tern_token_bucket_take(&ep->handshake_rate, now);
    if ((ep->cfg.retry || pressure) && tok == TERN_TOKEN_INVALID) {
        if (tern_endpoint_send_retry(ep, local, remote, &hdr, len, now) && !ep->cfg.retry)
            ep->retries_pressure++;
        return NULL;
    }
    random_cid(ep, &scid, ep->cfg.cid_len);
    tern_conn *c = tern_conn_new(ep, TERN_ROLE_SERVER, local, remote, &scid, &dcid, now);
    if (!c) return NULL;
    if (link_conn(ep, c) != TERN_OK) {
        tern_conn_free(c);
        return NULL;
    }
    c->counted_handshake = true;
    ep->handshakes++;
    /* Clients retransmit Initials to this DCID until they learn ours:
     * route it here too. */
    tern_endpoint_route_add(ep, &dcid, c);
    if (tok != TERN_TOKEN_INVALID) {
        /* §8.1: the token validated the address: no amplification limit. */
        tern_conn_active_path(c)->tuple.validated = true;
    }
    if (tok == TERN_TOKEN_VALID_RETRY) {
        /* §7.3: original_destination_connection_id is the DCID before the
         * Retry, retry_source_connection_id the one the client uses now. */
        c->original_dcid = odcid;
        c->retry_scid = dcid;
        c->retried = true;
    }
    bool tp_ok = tern_conn_tls_set_transport_params(c) == TERN_OK;
    if (tp_ok) tern_conn_early_server_check(c);
    if (tp_ok) tern_conn_qlog_start(c, now);
    if (!tp_ok || tern_tls_start(c->tls) != TERN_OK) {
        /* No event was queued for it: freed here, not left as a zombie. */
        unlink_conn(ep, c);
        tern_conn_free(c);
        return NULL;
    }
    tern_event ev = {.type = TERN_EVENT_CONN_NEW, .conn = c};
    tern_endpoint_push_event(ep, &ev);
    return c;
}

/* Zero-length local CIDs: the connection whose active path has these
 * addresses, else one bound to this local address (each connection of such
 * a client normally has a socket of its own; the remote may have moved,
 * e.g. to a preferred address, §9.6). */
static tern_conn *route_by_address(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote)
{
    tern_conn *by_local = NULL;
    for (tern_conn *it = ep->conns; it; it = it->next) {
        const tern_path *p = tern_conn_active_path(it);
        if (!tern_addr_equal(&p->tuple.local, local)) continue;
        if (tern_addr_equal(&p->tuple.remote, remote)) return it;
        by_local = it;
    }
    return by_local;
}

void tern_endpoint_recv(tern_endpoint *ep, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                        uint8_t *data, size_t len, tern_time now)
{
    tern_packet_header hdr;
    if (tern_packet_header_parse_invariant(data, len, ep->cfg.cid_len, &hdr) != TERN_OK) return;
    tern_conn *c = route_find(ep, hdr.dcid, hdr.dcid_len);
    /* §5.2: only an endpoint that issues zero-length CIDs (cid_len 0, a
     * client) relies on addresses. Elsewhere an empty DCID names none of
     * our connections: a long header then goes to accept_conn (a v1
     * Initial with a DCID under 8 bytes is dropped, §7.2) or gets Version
     * Negotiation like any unknown packet (§6.1, §14.1). */
    if (!c && hdr.dcid_len == 0 && ep->cfg.cid_len == 0) c = route_by_address(ep, local, remote);
    if (!c) {
        if (ep->cfg.role == TERN_ROLE_SERVER && hdr.is_long && hdr.version == TERN_VERSION_1)
            c = accept_conn(ep, local, remote, data, len, now);
        if (!c) {
            tern_endpoint_on_unrouted(ep, local, remote, &hdr, data, len, now);
            reap(ep);
            return;
        }
    }
    tern_conn_recv_datagram(c, local, remote, ecn, data, len, now);
    tern_endpoint_wake(c); /* acknowledgements to send, timers moved */
    reap(ep);
}

/* Linux UDP GSO: at most 64 segments (UDP_MAX_SEGMENTS) in one send of at
 * most 65507 bytes of UDP payload. */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65507

static bool same_flow(const tern_datagram *a, const tern_datagram *b)
{
    return a->ecn == b->ecn && tern_addr_equal(&a->local, &b->local) && tern_addr_equal(&a->remote, &b->remote);
}

/* Appends further datagrams of c to the full-size datagram *dg as GSO
 * segments of its size, while they go to the same addresses. Each one is
 * built by tern_conn_send_datagram, so the congestion window and the pacer
 * decide how many leave now (a batch never exceeds the pacer's burst). A
 * datagram for another path ends the batch and is returned as *extra. */
static size_t extend_batch(tern_conn *c, tern_time now, uint8_t *buf, size_t buf_len, size_t *used,
                           tern_datagram *dg, tern_datagram *extra)
{
    size_t seg = dg->len, count = 1;
    size_t max_count = GSO_MAX_BYTES / seg;
    if (max_count > GSO_MAX_SEGMENTS) max_count = GSO_MAX_SEGMENTS;
    while (count < max_count && buf_len - *used >= seg) {
        tern_datagram next;
        size_t len = tern_conn_send_datagram(c, now, buf + *used, seg, &next);
        if (!len) break;
        *used += len;
        if (!same_flow(dg, &next)) {
            *extra = next;
            return 1;
        }
        dg->len += len;
        dg->segment_size = seg;
        count++;
        if (len < seg) break; /* a short segment can only be the last */
    }
    return 0;
}

size_t tern_endpoint_send(tern_endpoint *ep, tern_time now, uint8_t *buf, size_t buf_len, tern_datagram *out,
                          size_t max_datagrams, bool allow_gso)
{
    size_t used = 0;
    size_t n = tern_endpoint_take_stateless(ep, buf, buf_len, &used, out, max_datagrams);
    /* Passes over the ready list, one datagram (or batch) per connection
     * each, for fairness; a connection with nothing to send is parked. Idle
     * connections are never visited: O(active), not O(n). */
    bool progress = true;
    while (progress && n < max_datagrams && ep->ready_head) {
        progress = false;
        for (tern_conn *c = ep->ready_head, *next; c && n < max_datagrams; c = next) {
            if (buf_len - used < TERN_MAX_DATAGRAM_SIZE) goto full;
            next = c->ready_next;
            size_t len = tern_conn_send_datagram(c, now, buf + used, buf_len - used, &out[n]);
            if (!len) {
                park(ep, c);
                continue;
            }
            used += len;
            progress = true;
            /* Only full-size datagrams start a batch: a smaller first one
             * would shrink every segment after it. */
            /* The datagram's own path decides (a probe on another path is
             * padded to 1200 bytes and never starts a batch there). */
            const tern_path *dp = tern_conn_find_path(c, &out[n].local, &out[n].remote);
            bool full = dp && len == dp->rec.cc.max_datagram_size;
            if (allow_gso && full && n + 1 < max_datagrams)
                n += extend_batch(c, now, buf, buf_len, &used, &out[n], &out[n + 1]);
            n++;
        }
    }
full:
    reap(ep);
    return n;
}

tern_time tern_endpoint_next_timer(const tern_endpoint *ep)
{
    /* Parked connections: the heap. Ready ones: asked (their heap entry, if
     * any, may be stale), O(ready). */
    tern_time t = tern_timer_heap_min_time(&ep->timers);
    for (const tern_conn *c = ep->ready_head; c; c = c->ready_next) {
        tern_time ct = tern_conn_next_timer(c);
        if (ct < t) t = ct;
    }
    if (ep->move) {
        tern_time mt = tern_move_engine_next_timer(ep->move);
        if (mt < t) t = mt;
    }
    return t;
}

void tern_endpoint_on_timer(tern_endpoint *ep, tern_time now)
{
    for (tern_conn *c = ep->ready_head; c; c = c->ready_next)
        if (tern_conn_next_timer(c) <= now) tern_conn_on_timer(c, now);
    /* Expired parked connections: fired and made ready (a probe, an ACK
     * may be due); tern_endpoint_send parks them again with their new
     * timer. An entry that was early (the timer moved later) just moves. */
    tern_timer_heap_node *m;
    while ((m = tern_timer_heap_min(&ep->timers)) && m->when <= now) {
        tern_conn *c = conn_of_timer(m);
        tern_timer_heap_remove(&ep->timers, m);
        if (!c->in_ready) {
            if (tern_conn_next_timer(c) <= now) tern_conn_on_timer(c, now);
            tern_endpoint_wake(c);
        }
    }
    if (ep->move) tern_move_engine_on_timer(ep->move, now);
    reap(ep);
}

void tern_endpoint_set_accepting(tern_endpoint *ep, bool accepting) { ep->accepting = accepting; }

size_t tern_endpoint_connection_count(const tern_endpoint *ep) { return ep->conn_count; }

void tern_endpoint_get_stats(const tern_endpoint *ep, tern_endpoint_stats *st)
{
    *st = (tern_endpoint_stats){.connections = ep->conn_count,
                                .handshakes = ep->handshakes,
                                .refused = ep->refused,
                                .retries_sent = ep->retries_sent,
                                .retries_pressure = ep->retries_pressure};
}
