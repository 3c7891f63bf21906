/* Sans-IO TURN client (RFC 8656); see turn_client.h and docs/turn.md. */
#include "turn_client.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

enum { REQ_ALLOCATE, REQ_REFRESH, REQ_DEALLOCATE, REQ_PERMISSION, REQ_CHANNEL };

static void set_failed(turn_client *tc, turn_error e, const char *fmt, const char *a, unsigned code)
{
    if (tc->state == TURN_FAILED) return;
    tc->state = TURN_FAILED;
    tc->error = e;
    /* "TURN server A:P: what happened". */
    char srv[IO_ADDR_STRLEN] = "-";
    if (tc->cfg.server.family != TERN_AF_NONE) io_addr_format(&tc->cfg.server, srv, sizeof srv);
    int k = snprintf(tc->error_text, sizeof tc->error_text, "TURN server %s: ", srv);
    if (k < 0 || (size_t)k >= sizeof tc->error_text) k = 0;
    snprintf(tc->error_text + k, sizeof tc->error_text - (size_t)k, fmt, a, code);
    /* Nothing more goes out. */
    tc->alloc.active = tc->alloc.to_send = false;
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++) tc->perms[i].txn.active = tc->perms[i].txn.to_send = false;
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++) tc->chans[i].txn.active = tc->chans[i].txn.to_send = false;
}

static bool copy_str(char *dst, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > TURN_MAX_CRED) return false;
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
    return true;
}

int turn_client_init(turn_client *tc, const turn_client_config *cfg)
{
    memset(tc, 0, sizeof *tc);
    tc->cfg = *cfg;
    tc->cfg.username = tc->username;
    tc->cfg.password = tc->password;
    tc->cfg.software = cfg->software ? tc->software : NULL;
    if (!tc->cfg.lifetime) tc->cfg.lifetime = TURN_DEFAULT_LIFETIME;
    if (!tc->cfg.rto) tc->cfg.rto = TURN_DEFAULT_RTO;
    if (!tc->cfg.max_tries) tc->cfg.max_tries = TURN_DEFAULT_MAX_TRIES;
    if (cfg->server.family != TERN_AF_INET && cfg->server.family != TERN_AF_INET6) {
        set_failed(tc, TURN_ERR_CONFIG, "no TURN server address%s", "", 0);
        return -1;
    }
    if (!cfg->username || !cfg->password || !*cfg->username || !copy_str(tc->username, cfg->username) ||
        !copy_str(tc->password, cfg->password) || !copy_str(tc->software, cfg->software)) {
        set_failed(tc, TURN_ERR_CONFIG, "username/password missing or longer than %s bytes", "128", 0);
        return -1;
    }
    tc->state = TURN_IDLE;
    return 0;
}

/* ---- building requests ---------------------------------------------------- */

static void new_tid(uint8_t tid[STUN_TID_LEN])
{
    if (gnutls_rnd(GNUTLS_RND_NONCE, tid, STUN_TID_LEN) < 0) {
        /* Cannot happen in practice; keep transactions distinct anyway. */
        static uint32_t ctr;
        memset(tid, 0, STUN_TID_LEN);
        ctr++;
        memcpy(tid, &ctr, sizeof ctr);
    }
}

/* Builds the request `kind` (for permission/channel index idx) into txn. */
static bool build(turn_client *tc, turn_txn *txn, int kind, size_t idx)
{
    new_tid(txn->tid);
    stun_writer w;
    uint16_t method = kind == REQ_ALLOCATE                                 ? STUN_ALLOCATE
                      : kind == REQ_REFRESH || kind == REQ_DEALLOCATE      ? STUN_REFRESH
                      : kind == REQ_PERMISSION                             ? STUN_CREATE_PERMISSION
                                                                           : STUN_CHANNEL_BIND;
    stun_w_init(&w, txn->buf, sizeof txn->buf, method, STUN_REQUEST, txn->tid);
    switch (kind) {
    case REQ_ALLOCATE:
        stun_w_requested_transport(&w, 17 /* UDP */);
        if (tc->cfg.server.family == TERN_AF_INET6) {
            uint8_t fam[4] = {0x02, 0, 0, 0};
            stun_w_attr(&w, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, fam, 4);
        }
        stun_w_u32(&w, STUN_ATTR_LIFETIME, tc->cfg.lifetime);
        break;
    case REQ_REFRESH: stun_w_u32(&w, STUN_ATTR_LIFETIME, tc->cfg.lifetime); break;
    case REQ_DEALLOCATE: stun_w_u32(&w, STUN_ATTR_LIFETIME, 0); break;
    case REQ_PERMISSION: stun_w_xor_addr(&w, STUN_ATTR_XOR_PEER_ADDRESS, &tc->perms[idx].ip); break;
    case REQ_CHANNEL:
        stun_w_channel(&w, tc->chans[idx].number);
        stun_w_xor_addr(&w, STUN_ATTR_XOR_PEER_ADDRESS, &tc->chans[idx].peer);
        break;
    }
    if (tc->cfg.software && tc->software[0]) stun_w_attr(&w, STUN_ATTR_SOFTWARE, tc->software, strlen(tc->software));
    if (tc->have_key) {
        stun_w_attr(&w, STUN_ATTR_USERNAME, tc->username, strlen(tc->username));
        stun_w_attr(&w, STUN_ATTR_REALM, tc->realm, tc->realm_len);
        stun_w_attr(&w, STUN_ATTR_NONCE, tc->nonce, tc->nonce_len);
        stun_w_integrity(&w, tc->key, sizeof tc->key);
    }
    stun_w_fingerprint(&w);
    int n = stun_w_finish(&w);
    if (n < 0) return false;
    txn->len = (size_t)n;
    return true;
}

static tern_time wait_after(const turn_client *tc, unsigned tries)
{
    if (tries >= tc->cfg.max_tries) return tc->cfg.rto * TURN_RM;
    return tc->cfg.rto << (tries - 1 < 20 ? tries - 1 : 20);
}

/* (Re)starts txn as a fresh transaction: built, queued, first try. */
static bool start_txn(turn_client *tc, turn_txn *txn, int kind, size_t idx, tern_time now)
{
    if (!build(tc, txn, kind, idx)) {
        set_failed(tc, TURN_ERR_CONFIG, "request does not fit in %s bytes (realm or nonce too long?)", "512", 0);
        return false;
    }
    txn->active = txn->to_send = true;
    txn->tries = 1;
    txn->next_at = now + wait_after(tc, 1);
    tc->requests_sent++;
    return true;
}

int turn_client_start(turn_client *tc, tern_time now)
{
    if (tc->state != TURN_IDLE) return -1;
    tc->state = TURN_ALLOCATING;
    tc->alloc_is_refresh = false;
    tc->alloc.nonce_retries = 0;
    return start_txn(tc, &tc->alloc, REQ_ALLOCATE, 0, now) ? 0 : -1;
}

/* ---- permissions and channels --------------------------------------------- */

static bool same_ip(const tern_addr *a, const tern_addr *b)
{
    if (a->family != b->family) return false;
    return memcmp(a->ip, b->ip, a->family == TERN_AF_INET ? 4 : 16) == 0;
}

static bool family_ok(const turn_client *tc, const tern_addr *a)
{
    if (a->family != TERN_AF_INET && a->family != TERN_AF_INET6) return false;
    if (tc->relayed.family != TERN_AF_NONE) return a->family == tc->relayed.family;
    return a->family == tc->cfg.server.family;
}

static bool can_send(const turn_client *tc) { return tc->state == TURN_ALLOCATED; }

static int add_permission(turn_client *tc, const tern_addr *peer_ip, bool pinned, tern_time now)
{
    if (!peer_ip || !family_ok(tc, peer_ip)) return -1;
    size_t free_slot = TURN_MAX_PERMISSIONS;
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++) {
        turn_permission *p = &tc->perms[i];
        if (p->used && same_ip(&p->ip, peer_ip)) {
            p->pinned |= pinned;
            p->last_used = now;
            return 0;
        }
        if (!p->used && free_slot == TURN_MAX_PERMISSIONS) free_slot = i;
    }
    if (free_slot == TURN_MAX_PERMISSIONS) return -1;
    turn_permission *p = &tc->perms[free_slot];
    memset(p, 0, sizeof *p);
    p->used = true;
    p->pinned = pinned;
    p->last_used = now;
    p->ip = *peer_ip;
    p->ip.port = 0;
    if (can_send(tc)) start_txn(tc, &p->txn, REQ_PERMISSION, free_slot, now);
    return 0;
}

int turn_client_add_permission(turn_client *tc, const tern_addr *peer_ip, tern_time now)
{
    return add_permission(tc, peer_ip, true, now);
}

static void touch_ip(turn_client *tc, const tern_addr *ip, tern_time now)
{
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++)
        if (tc->perms[i].used && same_ip(&tc->perms[i].ip, ip)) tc->perms[i].last_used = now;
}

static turn_channel *find_channel(const turn_client *tc, const tern_addr *peer)
{
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++)
        if (tc->chans[i].used && io_addr_equal(&tc->chans[i].peer, peer)) return (turn_channel *)&tc->chans[i];
    return NULL;
}

int turn_client_add_peer(turn_client *tc, const tern_addr *peer, tern_time now)
{
    if (!peer || !family_ok(tc, peer) || peer->port == 0) return -1;
    turn_channel *known = find_channel(tc, peer);
    if (known) {
        known->last_used = now;
        touch_ip(tc, peer, now);
        return 0;
    }
    if (add_permission(tc, peer, false, now) != 0) return -1;
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++) {
        turn_channel *c = &tc->chans[i];
        if (c->used || now < c->reuse_after) continue;
        memset(c, 0, sizeof *c);
        c->used = true;
        c->last_used = now;
        c->number = (uint16_t)(STUN_CHANNEL_MIN + i);
        c->peer = *peer;
        if (can_send(tc)) start_txn(tc, &c->txn, REQ_CHANNEL, i, now);
        return 0;
    }
    return -1;
}

bool turn_client_peer_bound(const turn_client *tc, const tern_addr *peer)
{
    const turn_channel *c = find_channel(tc, peer);
    return c && c->bound;
}

/* ---- sending --------------------------------------------------------------- */

static size_t take(turn_txn *t, uint8_t *buf, size_t cap)
{
    t->to_send = false;
    if (t->len > cap) return 0;
    memcpy(buf, t->buf, t->len);
    return t->len;
}

size_t turn_client_poll_send(turn_client *tc, uint8_t *buf, size_t cap)
{
    for (;;) {
        turn_txn *t = NULL;
        if (tc->alloc.to_send) t = &tc->alloc;
        for (size_t i = 0; !t && i < TURN_MAX_PERMISSIONS; i++)
            if (tc->perms[i].used && tc->perms[i].txn.to_send) t = &tc->perms[i].txn;
        for (size_t i = 0; !t && i < TURN_MAX_CHANNELS; i++)
            if (tc->chans[i].used && tc->chans[i].txn.to_send) t = &tc->chans[i].txn;
        if (!t) return 0;
        size_t n = take(t, buf, cap);
        if (n) return n;
    }
}

size_t turn_client_wrap(turn_client *tc, const tern_addr *peer, const uint8_t *payload, size_t len, uint8_t *out,
                        size_t cap)
{
    if (!can_send(tc) || !peer || !out || (len && !payload) || peer->family != tc->relayed.family) return 0;
    const turn_channel *c = find_channel(tc, peer);
    if (c && c->bound) {
        size_t n = stun_channel_data_encode(c->number, payload, len, out, cap);
        if (n) tc->data_out++;
        return n;
    }
    /* Send indication: header, XOR-PEER-ADDRESS, DATA. The payload is moved
     * first (it may lie inside out), then the attributes written before it. */
    size_t peer_len = peer->family == TERN_AF_INET ? 8 : 20;
    size_t head = STUN_HEADER_LEN + 4 + peer_len + 4;
    size_t padded = (len + 3) & ~(size_t)3;
    if (len > 0xFFFF || cap < head || cap - head < padded || head + padded - STUN_HEADER_LEN > 0xFFFF) return 0;
    if (len) memmove(out + head, payload, len);
    memset(out + head + len, 0, padded - len);
    uint8_t tid[STUN_TID_LEN];
    new_tid(tid);
    stun_writer w;
    stun_w_init(&w, out, head, STUN_SEND, STUN_INDICATION, tid);
    stun_w_xor_addr(&w, STUN_ATTR_XOR_PEER_ADDRESS, peer);
    if (w.overflow || w.len != head - 4) return 0;
    out[w.len] = (uint8_t)(STUN_ATTR_DATA >> 8);
    out[w.len + 1] = (uint8_t)STUN_ATTR_DATA;
    out[w.len + 2] = (uint8_t)(len >> 8);
    out[w.len + 3] = (uint8_t)len;
    size_t total = head + padded;
    out[2] = (uint8_t)((total - STUN_HEADER_LEN) >> 8);
    out[3] = (uint8_t)(total - STUN_HEADER_LEN);
    tc->data_out++;
    return total;
}

/* ---- timers ---------------------------------------------------------------- */

static tern_time min_t(tern_time a, tern_time b) { return a < b ? a : b; }

tern_time turn_client_next_timer(const turn_client *tc)
{
    tern_time t = TERN_TIME_INFINITE;
    if (tc->state == TURN_FAILED || tc->state == TURN_CLOSED || tc->state == TURN_IDLE) return t;
    if (tc->alloc.active) t = min_t(t, tc->alloc.next_at);
    else if (tc->state == TURN_ALLOCATED) t = min_t(t, tc->refresh_at);
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++) {
        const turn_permission *p = &tc->perms[i];
        if (!p->used) continue;
        if (p->txn.active) t = min_t(t, p->txn.next_at);
        else if ((p->installed || p->refused) && tc->state == TURN_ALLOCATED) t = min_t(t, p->refresh_at);
    }
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++) {
        const turn_channel *c = &tc->chans[i];
        if (!c->used) continue;
        if (c->txn.active) t = min_t(t, c->txn.next_at);
        else if ((c->bound || c->refused) && tc->state == TURN_ALLOCATED) t = min_t(t, c->refresh_at);
    }
    return t;
}

static const char *method_name(int kind);
static int txn_kind(const turn_client *tc, const turn_txn *t, size_t *idx);
static int txn_kind_of(const turn_client *tc, const turn_txn *t)
{
    size_t idx = 0;
    return txn_kind(tc, t, &idx);
}

/* A request gave up: the server is not answering. */
static void txn_timeout(turn_client *tc, turn_txn *t)
{
    t->active = t->to_send = false;
    if (t == &tc->alloc && tc->state == TURN_CLOSING) {
        tc->state = TURN_CLOSED;
        return;
    }
    set_failed(tc, TURN_ERR_TIMEOUT, "no answer to its %s request (%u tries)", method_name(txn_kind_of(tc, t)),
               tc->cfg.max_tries);
}

static void txn_tick(turn_client *tc, turn_txn *t, tern_time now)
{
    if (!t->active || t->next_at > now) return;
    if (t->tries >= tc->cfg.max_tries) {
        txn_timeout(tc, t);
        return;
    }
    t->tries++;
    t->to_send = true;
    t->next_at = now + wait_after(tc, t->tries);
    tc->retransmissions++;
}

void turn_client_on_timer(turn_client *tc, tern_time now)
{
    if (tc->state == TURN_FAILED || tc->state == TURN_CLOSED || tc->state == TURN_IDLE) return;
    txn_tick(tc, &tc->alloc, now);
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++)
        if (tc->perms[i].used) txn_tick(tc, &tc->perms[i].txn, now);
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++)
        if (tc->chans[i].used) txn_tick(tc, &tc->chans[i].txn, now);
    if (tc->state != TURN_ALLOCATED) return;
    if (!tc->alloc.active && tc->refresh_at <= now) {
        tc->alloc_is_refresh = true;
        tc->alloc.nonce_retries = 0;
        start_txn(tc, &tc->alloc, REQ_REFRESH, 0, now);
    }
    for (size_t i = 0; i < TURN_MAX_CHANNELS && tc->state == TURN_ALLOCATED; i++) {
        turn_channel *c = &tc->chans[i];
        if (!c->used || c->txn.active || c->refresh_at > now) continue;
        if (c->refused) {
            c->used = c->refused = false; /* asked again when next in use */
            continue;
        }
        if (!c->bound) continue;
        if (now - c->last_used >= TURN_CHANNEL_REFRESH) {
            /* Idle: let the binding expire at the server (600 s after the
             * last one, i.e. at refresh_at + 120 s); the number stays
             * reserved for 5 minutes more. */
            tern_time bound_at = c->refresh_at - TURN_CHANNEL_REFRESH;
            c->used = c->bound = false;
            c->reuse_after = bound_at + TERN_SEC(900);
            continue;
        }
        c->txn.nonce_retries = 0;
        start_txn(tc, &c->txn, REQ_CHANNEL, i, now);
    }
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS && tc->state == TURN_ALLOCATED; i++) {
        turn_permission *p = &tc->perms[i];
        if (!p->used || p->txn.active || p->refresh_at > now) continue;
        if (p->refused) {
            p->used = p->refused = false;
            continue;
        }
        if (!p->installed) continue;
        bool channel = false;
        for (size_t k = 0; k < TURN_MAX_CHANNELS; k++)
            if (tc->chans[k].used && same_ip(&tc->chans[k].peer, &p->ip)) channel = true;
        if (!p->pinned && !channel && now - p->last_used >= TURN_PERMISSION_REFRESH) {
            p->used = false; /* idle: expires at the server */
            continue;
        }
        p->txn.nonce_retries = 0;
        start_txn(tc, &p->txn, REQ_PERMISSION, i, now);
    }
}

void turn_client_close(turn_client *tc, tern_time now)
{
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++) tc->perms[i].txn.active = tc->perms[i].txn.to_send = false;
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++) tc->chans[i].txn.active = tc->chans[i].txn.to_send = false;
    if (tc->state != TURN_ALLOCATED) {
        if (tc->state != TURN_FAILED) tc->state = TURN_CLOSED;
        tc->alloc.active = tc->alloc.to_send = false;
        return;
    }
    tc->state = TURN_CLOSING;
    tc->alloc.nonce_retries = 0;
    if (!start_txn(tc, &tc->alloc, REQ_DEALLOCATE, 0, now)) tc->state = TURN_CLOSED;
}

/* ---- receiving -------------------------------------------------------------- */

/* The kind of request txn holds and, for permissions/channels, its index. */
static int txn_kind(const turn_client *tc, const turn_txn *t, size_t *idx)
{
    if (t == &tc->alloc)
        return tc->state == TURN_CLOSING ? REQ_DEALLOCATE : tc->alloc_is_refresh ? REQ_REFRESH : REQ_ALLOCATE;
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++)
        if (t == &tc->perms[i].txn) {
            *idx = i;
            return REQ_PERMISSION;
        }
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++)
        if (t == &tc->chans[i].txn) {
            *idx = i;
            return REQ_CHANNEL;
        }
    return -1;
}

static turn_txn *find_txn(turn_client *tc, const uint8_t tid[STUN_TID_LEN])
{
    if (tc->alloc.active && !memcmp(tc->alloc.tid, tid, STUN_TID_LEN)) return &tc->alloc;
    for (size_t i = 0; i < TURN_MAX_PERMISSIONS; i++)
        if (tc->perms[i].used && tc->perms[i].txn.active && !memcmp(tc->perms[i].txn.tid, tid, STUN_TID_LEN))
            return &tc->perms[i].txn;
    for (size_t i = 0; i < TURN_MAX_CHANNELS; i++)
        if (tc->chans[i].used && tc->chans[i].txn.active && !memcmp(tc->chans[i].txn.tid, tid, STUN_TID_LEN))
            return &tc->chans[i].txn;
    return NULL;
}

/* Copies a realm/nonce value; false when too long. */
static bool take_bytes(char *dst, size_t *dst_len, const stun_bytes *b)
{
    if (!b->p || b->len > TURN_MAX_CRED) return false;
    memcpy(dst, b->p, b->len);
    dst[b->len] = 0;
    *dst_len = b->len;
    return true;
}

static bool derive_key(turn_client *tc)
{
    if (stun_long_term_key(tc->username, tc->realm, tc->realm_len, tc->password, tc->key) != 0) return false;
    tc->have_key = true;
    return true;
}

static const char *method_name(int kind)
{
    switch (kind) {
    case REQ_ALLOCATE: return "Allocate";
    case REQ_REFRESH: return "Refresh";
    case REQ_DEALLOCATE: return "Refresh (deallocate)";
    case REQ_PERMISSION: return "CreatePermission";
    default: return "ChannelBind";
    }
}

static void on_error_response(turn_client *tc, turn_txn *t, int kind, size_t idx, const stun_msg *m, tern_time now)
{
    unsigned code = m->has_error ? m->error_code : 0;
    char reason[96];
    size_t rl = m->error_reason.len < sizeof reason - 1 ? m->error_reason.len : sizeof reason - 1;
    for (size_t i = 0; i < rl; i++) {
        uint8_t c = m->error_reason.p[i];
        reason[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    reason[rl] = 0;
    bool authed = tc->have_key; /* the request carried credentials */
    t->active = t->to_send = false;
    if (kind == REQ_DEALLOCATE) {
        tc->state = TURN_CLOSED;
        return;
    }
    if (code == 401 && !authed) {
        if (!take_bytes(tc->realm, &tc->realm_len, &m->realm) || !take_bytes(tc->nonce, &tc->nonce_len, &m->nonce) ||
            !derive_key(tc)) {
            set_failed(tc, TURN_ERR_SERVER, "401 without a usable REALM and NONCE%s", "", 0);
            return;
        }
        start_txn(tc, t, kind, idx, now);
        return;
    }
    if (code == 401) {
        set_failed(tc, TURN_ERR_BAD_CREDENTIALS,
                   "refused the credentials of user '%s' (%u Unauthorized after authenticating)",
                   tc->username, code);
        return;
    }
    if (code == 438) {
        tc->stale_nonces++;
        if (++t->nonce_retries > 3 || !take_bytes(tc->nonce, &tc->nonce_len, &m->nonce)) {
            set_failed(tc, TURN_ERR_SERVER, "keeps answering 438 Stale Nonce%s (or without a NONCE)", "",
                       code);
            return;
        }
        if (m->realm.p && take_bytes(tc->realm, &tc->realm_len, &m->realm)) {
            /* A new realm changes the key. */
        }
        if (!derive_key(tc)) {
            set_failed(tc, TURN_ERR_SERVER, "cannot derive the long-term key%s", "", 0);
            return;
        }
        unsigned keep = t->nonce_retries;
        start_txn(tc, t, kind, idx, now);
        t->nonce_retries = keep;
        return;
    }
    if (kind == REQ_PERMISSION || kind == REQ_CHANNEL) {
        /* This peer is refused (403: the server's policy; 400: e.g. the
         * address still bound to another channel number): the allocation
         * itself is fine. No new request for it before the refresh time;
         * data to it goes in Send indications (and is dropped by the
         * server without a permission). */
        char a[IO_ADDR_STRLEN];
        if (kind == REQ_PERMISSION) {
            turn_permission *p = &tc->perms[idx];
            p->refused = true;
            p->installed = false;
            p->refresh_at = now + TURN_PERMISSION_REFRESH;
            io_addr_format(&p->ip, a, sizeof a);
        } else {
            turn_channel *c = &tc->chans[idx];
            c->refused = true;
            c->bound = false;
            c->refresh_at = now + TURN_CHANNEL_REFRESH;
            io_addr_format(&c->peer, a, sizeof a);
        }
        tc->peer_errors++;
        snprintf(tc->peer_error, sizeof tc->peer_error, "%s for %s refused: %u %s", method_name(kind), a, code,
                 rl ? reason : "");
        return;
    }
    turn_error e = code == 486   ? TURN_ERR_QUOTA
                   : code == 508 ? TURN_ERR_CAPACITY
                   : code == 403 ? TURN_ERR_FORBIDDEN
                   : code == 437 ? TURN_ERR_MISMATCH
                                 : TURN_ERR_SERVER;
    char text[160];
    snprintf(text, sizeof text, "%s failed: %u %s", method_name(kind), code,
             rl ? reason
             : code == 486 ? "Allocation Quota Reached"
             : code == 508 ? "Insufficient Capacity"
             : code == 403 ? "Forbidden"
             : code == 437 ? "Allocation Mismatch"
                           : "(no reason)");
    set_failed(tc, e, "%s", text, 0);
}

static void on_success(turn_client *tc, turn_txn *t, int kind, size_t idx, const stun_msg *m, tern_time now)
{
    t->active = t->to_send = false;
    switch (kind) {
    case REQ_ALLOCATE: {
        if (!m->has_xor_relayed || !family_ok(tc, &m->xor_relayed)) {
            set_failed(tc, TURN_ERR_SERVER, "Allocate succeeded without a usable XOR-RELAYED-ADDRESS%s", "", 0);
            return;
        }
        tc->relayed = m->xor_relayed;
        if (m->has_xor_mapped) tc->mapped = m->xor_mapped;
        tc->lifetime = m->has_lifetime ? m->lifetime : tc->cfg.lifetime;
        if (tc->lifetime < 10) tc->lifetime = 10;
        tc->expires_at = now + TERN_SEC(tc->lifetime);
        tc->refresh_at = now + TERN_SEC(tc->lifetime) / 10 * 8;
        tc->state = TURN_ALLOCATED;
        /* Permissions and channels asked for before the allocation. */
        for (size_t i = 0; i < TURN_MAX_PERMISSIONS && tc->state == TURN_ALLOCATED; i++)
            if (tc->perms[i].used && !tc->perms[i].txn.active && !tc->perms[i].installed) {
                if (!family_ok(tc, &tc->perms[i].ip)) tc->perms[i].used = false;
                else start_txn(tc, &tc->perms[i].txn, REQ_PERMISSION, i, now);
            }
        for (size_t i = 0; i < TURN_MAX_CHANNELS && tc->state == TURN_ALLOCATED; i++)
            if (tc->chans[i].used && !tc->chans[i].txn.active && !tc->chans[i].bound) {
                if (!family_ok(tc, &tc->chans[i].peer)) tc->chans[i].used = false;
                else start_txn(tc, &tc->chans[i].txn, REQ_CHANNEL, i, now);
            }
        return;
    }
    case REQ_REFRESH:
        tc->refreshes++;
        tc->lifetime = m->has_lifetime ? m->lifetime : tc->cfg.lifetime;
        if (tc->lifetime < 10) tc->lifetime = 10;
        tc->expires_at = now + TERN_SEC(tc->lifetime);
        tc->refresh_at = now + TERN_SEC(tc->lifetime) / 10 * 8;
        return;
    case REQ_DEALLOCATE: tc->state = TURN_CLOSED; return;
    case REQ_PERMISSION:
        tc->perms[idx].installed = true;
        tc->perms[idx].refresh_at = now + TURN_PERMISSION_REFRESH;
        return;
    case REQ_CHANNEL:
        tc->chans[idx].bound = true;
        tc->chans[idx].refresh_at = now + TURN_CHANNEL_REFRESH;
        return;
    }
}

turn_rx turn_client_on_datagram(turn_client *tc, const tern_addr *from, const uint8_t *data, size_t len,
                                tern_time now, tern_addr *peer, const uint8_t **payload, size_t *payload_len)
{
    if (!data || !from || !io_addr_equal(from, &tc->cfg.server)) return TURN_RX_IGNORED;
    if (tc->state == TURN_IDLE || tc->state == TURN_CLOSED) return TURN_RX_IGNORED;
    if (stun_is_channel_data(data, len)) {
        uint16_t ch;
        const uint8_t *p;
        size_t n;
        if (stun_channel_data_decode(data, len, &ch, &p, &n) != STUN_ERR_OK) return TURN_RX_IGNORED;
        size_t i = (size_t)(ch - STUN_CHANNEL_MIN);
        if (i >= TURN_MAX_CHANNELS || !tc->chans[i].used) return TURN_RX_IGNORED;
        tc->chans[i].last_used = now;
        touch_ip(tc, &tc->chans[i].peer, now);
        if (peer) *peer = tc->chans[i].peer;
        if (payload) *payload = p;
        if (payload_len) *payload_len = n;
        tc->data_in++;
        return TURN_RX_DATA;
    }
    stun_msg m;
    if (stun_decode(data, len, &m) != STUN_ERR_OK) return TURN_RX_IGNORED;
    if (m.fingerprint_at && stun_check_fingerprint(&m) != STUN_ERR_OK) return TURN_RX_IGNORED;
    if (m.cls == STUN_INDICATION) {
        if (m.method != STUN_DATA || !m.has_xor_peer || !m.data.p) return TURN_RX_IGNORED;
        if (tc->state != TURN_ALLOCATED) return TURN_RX_IGNORED;
        touch_ip(tc, &m.xor_peer, now);
        if (peer) *peer = m.xor_peer;
        if (payload) *payload = m.data.p;
        if (payload_len) *payload_len = m.data.len;
        tc->data_in++;
        return TURN_RX_DATA;
    }
    if (m.cls != STUN_SUCCESS && m.cls != STUN_ERROR_RESPONSE) return TURN_RX_IGNORED;
    turn_txn *t = find_txn(tc, m.tid);
    if (!t) return TURN_RX_IGNORED;
    size_t idx = 0;
    int kind = txn_kind(tc, t, &idx);
    uint16_t want = kind == REQ_ALLOCATE                               ? STUN_ALLOCATE
                    : kind == REQ_REFRESH || kind == REQ_DEALLOCATE    ? STUN_REFRESH
                    : kind == REQ_PERMISSION                           ? STUN_CREATE_PERMISSION
                                                                       : STUN_CHANNEL_BIND;
    if (m.method != want) return TURN_RX_IGNORED;
    /* Answers to authenticated requests must prove the key (RFC 8489
     * §9.2.5), except 401/438, which the server sends without it. */
    bool auth_exempt = m.cls == STUN_ERROR_RESPONSE && m.has_error && (m.error_code == 401 || m.error_code == 438);
    if (tc->have_key && !auth_exempt && stun_check_integrity(&m, tc->key, sizeof tc->key) != STUN_ERR_OK)
        return TURN_RX_IGNORED;
    tc->responses++;
    if (m.cls == STUN_SUCCESS) {
        if (m.unknown_count) {
            /* Comprehension-required attributes we do not know: the answer
             * cannot be used (RFC 8489 §7.3.3). */
            t->active = t->to_send = false;
            set_failed(tc, TURN_ERR_SERVER, "%s answer has %u unknown required attributes", method_name(kind),
                       (unsigned)m.unknown_count);
            return TURN_RX_CONTROL;
        }
        on_success(tc, t, kind, idx, &m, now);
    } else {
        on_error_response(tc, t, kind, idx, &m, now);
    }
    return TURN_RX_CONTROL;
}

/* ---- accessors -------------------------------------------------------------- */

turn_state turn_client_state(const turn_client *tc) { return tc->state; }

const char *turn_state_name(turn_state s)
{
    switch (s) {
    case TURN_IDLE: return "idle";
    case TURN_ALLOCATING: return "allocating";
    case TURN_ALLOCATED: return "allocated";
    case TURN_FAILED: return "failed";
    case TURN_CLOSING: return "closing";
    case TURN_CLOSED: return "closed";
    }
    return "?";
}

const tern_addr *turn_client_relayed_addr(const turn_client *tc) { return &tc->relayed; }
const tern_addr *turn_client_mapped_addr(const turn_client *tc) { return &tc->mapped; }
turn_error turn_client_error(const turn_client *tc) { return tc->error; }
const char *turn_client_error_text(const turn_client *tc) { return tc->error_text; }
