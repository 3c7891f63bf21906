/* tern-server's address policies (draft-saa-ali-quic use cases) on the
 * library's move policies (include/tern/move_policy.h): --alt (advertise),
 * --rotate with --pool or --prefix (rotate), --balance, --drain-after
 * (drain), --no-advertise. This file owns the sockets those options need,
 * the policy's start, one log line per TERN_EVENT_MOVE, GOAWAY for a
 * draining connection, and the release of sockets of addresses nothing
 * uses any more (TERN_EVENT_ADDRESS_UNUSED). */
#ifndef TERN_SERVER_MOVES_H
#define TERN_SERVER_MOVES_H

#include <stdbool.h>

#include "tern/locator.h"
#include "tern/move_policy.h"
#include "tl.h"

#define SM_MAX_POOL 6
#define SM_MAX_NO_ADVERTISE 16

typedef struct sm_config {
    tern_addr alt[2];                /* --alt, one per family (port 0: a free one) */
    size_t nalt;
    tern_time rotate, rotate_jitter; /* --rotate, --rotate-jitter (0: none) */
    tern_addr pool[SM_MAX_POOL];     /* --pool of up to SM_MAX_POOL: a socket each */
    size_t npool;
    bool pool_range;                 /* --pool of more: one wildcard socket, a range */
    tern_addr pool_first, pool_last;
    bool have_prefix;                /* --prefix CIDR:PORT */
    tern_addr prefix;
    unsigned prefix_len;
    bool have_balance;               /* --balance SHARE --balance-to ADDR:PORT */
    double balance_share;
    tern_addr balance_to;
    uint64_t balance_rate;           /* --balance-rate per second (0: the library's) */
    tern_time balance_after;         /* --balance-after (it acts on the connections there then) */
    bool have_drain;                 /* --drain-after S --drain-to ADDR:PORT */
    tern_time drain_after, drain_deadline;
    tern_addr drain_to;
    tern_locator_prefix no_advertise[SM_MAX_NO_ADVERTISE]; /* --no-advertise */
    size_t nno_advertise;
} sm_config;

/* The application's GOAWAY for a connection the drain will close. */
typedef void (*sm_goaway_fn)(void *ctx, tern_conn *c);

typedef struct sm_state {
    sm_config cfg;
    tl_node *node;
    sm_goaway_fn goaway;
    void *goaway_ctx;
    tern_time drain_at;   /* TERN_TIME_INFINITE: no drain pending */
    tern_time balance_at; /* TERN_TIME_INFINITE: no balance pending */
    int prefix_sock;    /* the wildcard socket of --prefix, -1: none */
} sm_state;

/* Checks the options together; NULL when fine, else a one-line reason. */
const char *sm_check(const sm_config *cfg);
/* True when any option of this file was given. */
bool sm_any(const sm_config *cfg);
/* Parses "CIDR:PORT" ("2001:db8:1::/64:4433", "127.0.0.0/24:0"); the
 * prefix bits past the length must be zero. Returns 0 or -1. */
int sm_parse_prefix_port(const char *text, tern_addr *prefix, unsigned *len);

/* After the node's listen sockets are open: binds what the options need
 * (--alt, --pool, targets: a socket each; --prefix: one wildcard socket
 * with IP(V6)_FREEBIND and a serve filter), registers the addresses with
 * the endpoint, starts the policy (a drain waits for its time). Logs one
 * "listening on" line per socket. Returns 0, or -1 with a message. */
int sm_start(sm_state *s, tl_node *n, const sm_config *cfg, const tern_addr *listen, size_t nlisten,
             sm_goaway_fn goaway, void *goaway_ctx, tern_time now, char *err, size_t err_len);
/* When a pending balance or drain starts, TERN_TIME_INFINITE for none. */
tern_time sm_next_deadline(const sm_state *s);
void sm_on_deadline(sm_state *s, tern_time now);
/* TERN_EVENT_MOVE and TERN_EVENT_ADDRESS_UNUSED (others are ignored):
 * a log line, GOAWAY, closing a socket. conn_id names the connection in
 * logs (0: none). */
void sm_on_event(sm_state *s, const tern_event *ev, unsigned conn_id);
/* Whether a policy that sends SAA frames runs or will run (for the
 * "client did not offer" line at handshake confirmation). */
bool sm_moves_clients(const sm_state *s);

#endif
