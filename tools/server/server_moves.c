/* tern-server's address policies; see server_moves.h. */
#define _GNU_SOURCE /* struct mmsghdr in udp_socket.h */
#include "server_moves.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

bool sm_any(const sm_config *c)
{
    return c->nalt || c->rotate || c->npool || c->pool_range || c->have_prefix || c->have_balance || c->have_drain;
}

bool sm_moves_clients(const sm_state *s) { return sm_any(&s->cfg); }

static bool no_advertise(const sm_config *c, const tern_addr *a)
{
    for (size_t i = 0; i < c->nno_advertise; i++)
        if (tern_locator_prefix_match(&c->no_advertise[i], a)) return true;
    return false;
}

/* --no-advertise (draft-ietf-hip-multihoming §6: addresses the operator
 * never wants given out) for the prefix's random picks. */
static tern_err open_address(void *ctx, const tern_addr *addr)
{
    const sm_state *s = ctx;
    char a[IO_ADDR_STRLEN];
    if (no_advertise(&s->cfg, addr)) {
        tl_log("not advertising %s: in a --no-advertise prefix", tl_addr_str(addr, a, sizeof a));
        return TERN_ERR_INVALID_ARGUMENT;
    }
    return TERN_OK; /* the --prefix wildcard socket receives on it already */
}

const char *sm_check(const sm_config *c)
{
    static char why[160];
    char a[IO_ADDR_STRLEN];
    bool pool = c->npool || c->pool_range;
    if (!c->rotate != !(pool || c->have_prefix)) return "--rotate needs --pool or --prefix, and they need --rotate";
    if (pool && c->have_prefix) return "--pool and --prefix exclude each other";
    if (c->rotate_jitter && (!c->rotate || c->rotate_jitter >= c->rotate))
        return "--rotate-jitter needs --rotate and must be below it";
    if ((c->nalt > 0) + (c->rotate > 0) + c->have_balance > 1)
        return "--alt, --rotate and --balance exclude each other (one policy at a time; --drain-after may follow any)";
    const tern_addr *named[SM_MAX_POOL + 4];
    size_t k = 0;
    for (size_t i = 0; i < c->nalt; i++) named[k++] = &c->alt[i];
    for (size_t i = 0; i < c->npool; i++) named[k++] = &c->pool[i];
    if (c->have_balance) named[k++] = &c->balance_to;
    if (c->have_drain) named[k++] = &c->drain_to;
    for (size_t i = 0; i < k; i++)
        if (no_advertise(c, named[i])) {
            snprintf(why, sizeof why, "%s is in a --no-advertise prefix", tl_addr_str(named[i], a, sizeof a));
            return why;
        }
    if (c->pool_range)
        for (size_t i = 0; i < c->nno_advertise; i++) {
            tern_addr x = c->pool_first;
            for (unsigned b = c->pool_first.ip[3]; b <= c->pool_last.ip[3]; b++) {
                x.ip[3] = (uint8_t)b;
                if (tern_locator_prefix_match(&c->no_advertise[i], &x)) {
                    snprintf(why, sizeof why, "--pool address %s is in a --no-advertise prefix",
                             tl_addr_str(&x, a, sizeof a));
                    return why;
                }
            }
        }
    if (c->have_prefix) {
        tern_locator_prefix whole = {.addr = c->prefix, .len = (uint8_t)c->prefix_len};
        whole.addr.port = 0;
        for (size_t i = 0; i < c->nno_advertise; i++)
            if (c->no_advertise[i].len <= whole.len && tern_locator_prefix_match(&c->no_advertise[i], &whole.addr))
                return "--prefix lies entirely in a --no-advertise prefix";
    }
    return NULL;
}

int sm_parse_prefix_port(const char *text, tern_addr *prefix, unsigned *len)
{
    /* CIDR:PORT: the port after the last colon; an IPv6 prefix may be
     * written [2001:db8::]/64:443 or 2001:db8::/64:443. */
    const char *colon = strrchr(text, ':');
    const char *slash = strchr(text, '/');
    if (!colon || !slash || colon < slash) return -1;
    char cidr[80];
    size_t n = (size_t)(colon - text);
    if (n >= sizeof cidr) return -1;
    memcpy(cidr, text, n);
    cidr[n] = 0;
    char *c = cidr;
    if (c[0] == '[') {
        char *close = strchr(c, ']');
        if (!close || close[1] != '/') return -1;
        memmove(close, close + 1, strlen(close));
        c++;
    }
    uint8_t l;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535 || io_prefix_parse(c, prefix, &l) != 0) return -1;
    prefix->port = (uint16_t)port;
    *len = l;
    return 0;
}

static bool is_listen(const tern_addr *a, const tern_addr *listen, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (io_addr_equal(a, &listen[i])) return true;
    return false;
}

/* Binds addr (port 0: a free one) unless a listen socket has it, registers
 * it with the endpoint, logs it; *bound gets the address as bound. */
static int open_named(sm_state *s, const tern_addr *addr, const tern_addr *listen, size_t nlisten, const char *what,
                      tern_addr *bound, char *err, size_t err_len)
{
    char a[IO_ADDR_STRLEN];
    *bound = *addr;
    if (!is_listen(addr, listen, nlisten)) {
        int r = tl_node_add_socket(s->node, addr);
        if (r < 0) {
            snprintf(err, err_len, "cannot listen on %s: %s", tl_addr_str(addr, a, sizeof a), strerror(-r));
            return -1;
        }
        *bound = s->node->socks[r].bound;
        tl_err("listening on %s (%s)", tl_addr_str(bound, a, sizeof a), what);
    }
    tern_err e = tern_endpoint_add_address(s->node->ep, bound);
    if (e != TERN_OK && e != TERN_ERR_INVALID_STATE) {
        snprintf(err, err_len, "cannot serve %s: %s", tl_addr_str(bound, a, sizeof a), tern_err_name(e));
        return -1;
    }
    return 0;
}

static void set_common(sm_state *s, tern_move_common *c)
{
    c->open_address = open_address;
    c->open_ctx = s;
}

static int start_policy(sm_state *s, tern_time now, char *err, size_t err_len)
{
    sm_config *c = &s->cfg;
    tern_err e = TERN_OK;
    const char *what = NULL;
    if (c->nalt) {
        tern_move_advertise_config ac;
        tern_move_advertise_config_init(&ac);
        set_common(s, &ac.common);
        ac.addresses = c->alt;
        ac.count = c->nalt;
        what = "advertise";
        e = tern_move_advertise_start(s->node->ep, &ac, now);
    } else if (c->rotate) {
        tern_move_rotate_config rc;
        tern_move_rotate_config_init(&rc);
        set_common(s, &rc.common);
        rc.period_ms = c->rotate / 1000000;
        rc.jitter_ms = c->rotate_jitter / 1000000;
        if (c->pool_range) {
            rc.pool.kind = TERN_MOVE_POOL_RANGE;
            rc.pool.first = c->pool_first;
            rc.pool.last = c->pool_last;
        } else if (c->have_prefix) {
            rc.pool.kind = TERN_MOVE_POOL_PREFIX;
            rc.pool.prefix = c->prefix;
            rc.pool.prefix_len = c->prefix_len;
        } else {
            rc.pool.kind = TERN_MOVE_POOL_LIST;
            rc.pool.list = c->pool;
            rc.pool.count = c->npool;
        }
        what = "rotate";
        e = tern_move_rotate_start(s->node->ep, &rc, now);
    }
    if (e != TERN_OK) {
        snprintf(err, err_len, "cannot start the %s policy: %s", what, tern_err_name(e));
        return -1;
    }
    return 0;
}

/* --balance-after: the balance acts on the connections there at its start
 * (tern_move_balance_config: later ones are not moved). */
static void start_balance(sm_state *s, tern_time now)
{
    sm_config *c = &s->cfg;
    char a[IO_ADDR_STRLEN];
    tern_move_balance_config bc;
    tern_move_balance_config_init(&bc);
    set_common(s, &bc.common);
    bc.target = c->balance_to;
    bc.share = c->balance_share;
    if (c->balance_rate) bc.rate_per_sec = c->balance_rate;
    tern_err e = tern_move_balance_start(s->node->ep, &bc, now);
    if (e != TERN_OK) {
        tl_err("cannot start the balance to %s: %s", tl_addr_str(&c->balance_to, a, sizeof a), tern_err_name(e));
        return;
    }
    tl_log("balancing %.3g of the connections to %s", c->balance_share, tl_addr_str(&c->balance_to, a, sizeof a));
}

/* A wildcard socket serves only the node's own concrete addresses and
 * the prefix (addr/len) of the pool it is for (tl_node_set_serve_filter). */
static void serve_only(tl_node *n, const tern_addr *addr, unsigned len)
{
    tern_locator_prefix serve[TL_MAX_SERVE];
    size_t ns = 0;
    for (size_t i = 0; i < n->nsocks && ns < TL_MAX_SERVE - 1; i++) {
        if (n->socks[i].fd < 0 || io_addr_is_wildcard(&n->socks[i].bound)) continue;
        serve[ns].addr = n->socks[i].bound;
        serve[ns].addr.port = 0;
        serve[ns++].len = n->socks[i].bound.family == TERN_AF_INET ? 32 : 128;
    }
    /* The prefix's address with its host bits cleared (a valid prefix). */
    tern_locator_prefix *p = &serve[ns++];
    memset(p, 0, sizeof *p);
    p->addr.family = addr->family;
    p->len = (uint8_t)len;
    for (unsigned b = 0; b < len; b++)
        if (addr->ip[b / 8] & (0x80u >> (b % 8))) p->addr.ip[b / 8] |= (uint8_t)(0x80u >> (b % 8));
    tl_node_set_serve_filter(n, serve, ns);
}

int sm_start(sm_state *s, tl_node *n, const sm_config *cfg, const tern_addr *listen, size_t nlisten,
             sm_goaway_fn goaway, void *goaway_ctx, tern_time now, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->node = n;
    s->goaway = goaway;
    s->goaway_ctx = goaway_ctx;
    s->drain_at = s->balance_at = TERN_TIME_INFINITE;
    s->prefix_sock = -1;
    if (!sm_any(cfg)) return 0;
    sm_config *c = &s->cfg;
    char a[IO_ADDR_STRLEN];
    /* The policies count references per registered address (docs/protocol.md
     * §9.1): every concrete address served is registered. */
    size_t concrete = 0;
    for (size_t i = 0; i < n->nsocks; i++) {
        if (n->socks[i].fd < 0 || io_addr_is_wildcard(&n->socks[i].bound)) continue;
        tern_err e = tern_endpoint_add_address(n->ep, &n->socks[i].bound);
        if (e != TERN_OK && e != TERN_ERR_INVALID_STATE) {
            snprintf(err, err_len, "cannot serve %s: %s", tl_addr_str(&n->socks[i].bound, a, sizeof a),
                     tern_err_name(e));
            return -1;
        }
        concrete++;
    }
    if (!concrete) {
        snprintf(err, err_len, "the address policies need a --listen address that is not a wildcard");
        return -1;
    }
    tern_addr bound_listen[TL_MAX_SOCKETS];
    size_t nbl = 0;
    for (size_t i = 0; i < n->nsocks; i++)
        if (n->socks[i].fd >= 0) bound_listen[nbl++] = n->socks[i].bound;
    (void)listen, (void)nlisten;
    /* A drain moves clients off the addresses they use: not onto one. */
    if (c->have_drain && is_listen(&c->drain_to, bound_listen, nbl)) {
        snprintf(err, err_len, "--drain-to %s is an address being drained (a --listen address)",
                 tl_addr_str(&c->drain_to, a, sizeof a));
        return -1;
    }
    for (size_t i = 0; i < c->nalt; i++)
        if (open_named(s, &c->alt[i], bound_listen, nbl, "alternate address", &c->alt[i], err, err_len)) return -1;
    for (size_t i = 0; i < c->npool; i++)
        if (open_named(s, &c->pool[i], bound_listen, nbl, "rotation pool", &c->pool[i], err, err_len)) return -1;
    if (c->have_balance &&
        open_named(s, &c->balance_to, bound_listen, nbl, "balance target", &c->balance_to, err, err_len))
        return -1;
    if (c->have_drain && open_named(s, &c->drain_to, bound_listen, nbl, "drain target", &c->drain_to, err, err_len))
        return -1;
    if (c->pool_range) {
        /* Every address must be local: a bind on each end says so. */
        for (int end = 0; end < 2; end++) {
            tern_addr probe = end ? c->pool_last : c->pool_first;
            probe.port = 0;
            io_udp_socket ps;
            int r = io_udp_open(&ps, &probe, NULL);
            if (r < 0) {
                snprintf(err, err_len, "--pool address %s is not local: %s", tl_addr_str(&probe, a, sizeof a),
                         strerror(-r));
                return -1;
            }
            io_udp_close(&ps);
        }
        tern_addr any = {.family = TERN_AF_INET, .port = c->pool_first.port};
        int r = tl_node_add_socket(n, &any);
        if (r < 0) {
            snprintf(err, err_len, "cannot listen on port %u for --pool: %s", (unsigned)any.port, strerror(-r));
            return -1;
        }
        c->pool_first.port = c->pool_last.port = n->socks[r].bound.port;
        /* The range as a few prefixes would be tighter; the pool is one
         * /24's last byte: serve that /24 through one check. */
        serve_only(n, &c->pool_first, 24);
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, c->pool_first.ip, ip, sizeof ip);
        tl_err("listening on %s-%u port %u (rotation pool, one socket)", ip, (unsigned)c->pool_last.ip[3],
               (unsigned)c->pool_first.port);
    }
    if (c->have_prefix) {
        /* One wildcard socket receives on the whole prefix (an AnyIP route
         * sends it here) and sends from any of it: IP(V6)_FREEBIND with the
         * source chosen per datagram (pktinfo). */
        tern_addr any = {.family = c->prefix.family, .port = c->prefix.port};
        io_udp_options opt = {.freebind = true};
        int r = tl_node_add_socket_opts(n, &any, &opt);
        if (r < 0) {
            snprintf(err, err_len, "cannot listen on port %u for --prefix: %s", (unsigned)c->prefix.port,
                     strerror(-r));
            return -1;
        }
        s->prefix_sock = r;
        c->prefix.port = n->socks[r].bound.port;
        /* Only the configured addresses are served through it. */
        serve_only(n, &c->prefix, c->prefix_len);
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(c->prefix.family == TERN_AF_INET ? AF_INET : AF_INET6, c->prefix.ip, ip, sizeof ip);
        tl_err("listening on %s/%u port %u (rotation prefix, one socket)", ip, c->prefix_len,
               (unsigned)c->prefix.port);
    }
    if (start_policy(s, now, err, err_len)) return -1;
    if (c->have_balance) s->balance_at = now + c->balance_after;
    if (c->have_drain) s->drain_at = now + c->drain_after;
    return 0;
}

tern_time sm_next_deadline(const sm_state *s) { return s->drain_at < s->balance_at ? s->drain_at : s->balance_at; }

void sm_on_deadline(sm_state *s, tern_time now)
{
    if (now >= s->balance_at) {
        s->balance_at = TERN_TIME_INFINITE;
        start_balance(s, now);
    }
    if (now < s->drain_at) return;
    s->drain_at = TERN_TIME_INFINITE;
    sm_config *c = &s->cfg;
    tern_move_drain_config dc;
    tern_move_drain_config_init(&dc);
    set_common(s, &dc.common);
    dc.target = c->drain_to;
    dc.deadline_ms = c->drain_deadline / 1000000;
    if (!dc.deadline_ms) dc.deadline_ms = 1;
    dc.close_reason = "server draining";
    char a[IO_ADDR_STRLEN];
    tern_err e = tern_move_drain_start(s->node->ep, &dc, now);
    if (e != TERN_OK) {
        tl_err("cannot start the drain to %s: %s", tl_addr_str(&c->drain_to, a, sizeof a), tern_err_name(e));
        return;
    }
    tl_log("draining to %s: no new connections; the rest closed in %.3g s", tl_addr_str(&c->drain_to, a, sizeof a),
           (double)c->drain_deadline / 1e9);
}

static void log_record(unsigned id, const tern_move_record *m)
{
    char a[IO_ADDR_STRLEN], b[IO_ADDR_STRLEN];
    const char *policy = tern_move_policy_kind_name(m->policy);
    switch (m->action) {
    case TERN_MOVE_ADVERTISED:
        tl_log("conn %u: told to move to %s (alternate address, sequence %llu)", id, tl_addr_str(&m->to, a, sizeof a),
               (unsigned long long)m->sequence);
        break;
    case TERN_MOVE_DECIDED:
        tl_log("conn %u: %s to %s (sequence %llu)%s%s", id,
               m->policy == TERN_MOVE_POLICY_ROTATE    ? "rotating"
               : m->policy == TERN_MOVE_POLICY_BALANCE ? "balancing"
                                                        : "draining",
               tl_addr_str(&m->to, a, sizeof a), (unsigned long long)m->sequence,
               m->withdrawn.family != TERN_AF_NONE ? ", withdrawing " : "",
               m->withdrawn.family != TERN_AF_NONE ? tl_addr_str(&m->withdrawn, b, sizeof b) : "");
        break;
    case TERN_MOVE_CONFIRMED:
        tl_log("conn %u: moved to %s (%s)", id, tl_addr_str(&m->to, a, sizeof a), policy);
        break;
    case TERN_MOVE_WITHDRAWN:
        tl_log("conn %u: withdrew %s (%s)", id, tl_addr_str(&m->from, a, sizeof a), policy);
        break;
    case TERN_MOVE_FAILED:
        tl_log("conn %u: move to %s failed (%s): %s", id, tl_addr_str(&m->to, a, sizeof a), policy,
               m->err ? tern_err_name((tern_err)m->err) : "not confirmed in time");
        break;
    case TERN_MOVE_GOAWAY:
        tl_log("conn %u: GOAWAY (drain: it stays on a drained address until it is closed)", id);
        break;
    case TERN_MOVE_CLOSED: tl_log("conn %u: closed at the drain deadline", id); break;
    case TERN_MOVE_ADDED: tl_log("address %s added (%s)", tl_addr_str(&m->to, a, sizeof a), policy); break;
    case TERN_MOVE_RELEASED: tl_log("address %s released (%s)", tl_addr_str(&m->from, a, sizeof a), policy); break;
    case TERN_MOVE_DONE:
        tl_log("%s done: %llu moved, %llu failed, %llu closed", policy, (unsigned long long)m->moved,
               (unsigned long long)m->failed, (unsigned long long)m->closed);
        break;
    }
}

void sm_on_event(sm_state *s, const tern_event *ev, unsigned conn_id)
{
    if (ev->type == TERN_EVENT_MOVE) {
        log_record(conn_id, &ev->move);
        if (ev->move.action == TERN_MOVE_GOAWAY && ev->conn && s->goaway) s->goaway(s->goaway_ctx, ev->conn);
        return;
    }
    if (ev->type != TERN_EVENT_ADDRESS_UNUSED) return;
    /* Nothing refers to it any more: its own socket goes (never the
     * wildcard of --prefix, nor a socket that serves other addresses). */
    char a[IO_ADDR_STRLEN];
    for (size_t i = 0; i < s->node->nsocks; i++) {
        if (s->node->socks[i].fd < 0 || !io_addr_equal(&s->node->socks[i].bound, &ev->local)) continue;
        tl_node_remove_socket(s->node, (int)i);
        tl_log("address %s unused: socket closed", tl_addr_str(&ev->local, a, sizeof a));
        return;
    }
}
