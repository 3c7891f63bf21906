/* Glue shared by tern-server and tern-client: drives a tern_endpoint from the
 * io/ epoll loop with real UDP sockets, implements tern_app_transport over
 * tern_conn_stream_*, writes the TLS key log, and logs connection events.
 *
 * One tl_node = one endpoint + its sockets + the loop's single timer, which
 * is shared between the engine's timer, a send retry (socket buffer full)
 * and one application deadline (tl_node_set_app_deadline). */
#ifndef TERN_TOOLS_TL_H
#define TERN_TOOLS_TL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "app.h"
#include "event_loop.h"
#include "tern/tern.h"
#include "udp_socket.h"

#define TL_MAX_SOCKETS 8
#define TL_TX_BATCH 64
#define TL_MAX_SERVE 32

/* ---- logging ---- */
/* Prefix of every log line ("tern-server", "tern-client"). */
void tl_log_init(const char *prog, bool quiet);
/* One line to stderr: "prog: ...\n" (nothing when quiet). */
void tl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Always printed (errors), even when quiet. */
void tl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *tl_addr_str(const tern_addr *a, char *buf, size_t len);
/* Writes s as a JSON string (quotes, backslashes and control characters
 * escaped), for the tools' --json output. */
void tl_json_str(FILE *f, const char *s);

/* ---- files ---- */
/* mkdir -p dir (tools/common/qlog_dir.c; --qlog-dir, --output-dir). Returns
 * 0 or a negative errno (-ENOTDIR when dir exists and is not a directory). */
int tl_make_dirs(const char *dir);

/* ---- key log (SSLKEYLOGFILE format) ---- */
typedef struct tl_keylog {
    FILE *f;
} tl_keylog;
/* Opens path, or $SSLKEYLOGFILE when path is NULL (nothing when neither).
 * Returns 0, or -1 with a message in err. */
int tl_keylog_open(tl_keylog *k, const char *path, char *err, size_t err_len);
/* Installs the config's keylog callback when a file is open. */
void tl_keylog_attach(tl_keylog *k, tern_config *cfg);
void tl_keylog_close(tl_keylog *k);

/* ---- endpoint driver ---- */
typedef struct tl_node tl_node;
typedef struct tl_relay tl_relay; /* tl_relay.h: serving through a TURN relay */
typedef void (*tl_event_fn)(tl_node *n, const tern_event *ev, void *ctx);
typedef void (*tl_deadline_fn)(tl_node *n, void *ctx);

typedef struct tl_pending {
    io_datagram dg;
    int sock;
} tl_pending;

struct tl_node {
    io_loop *loop;
    tern_endpoint *ep;
    io_udp_socket socks[TL_MAX_SOCKETS];
    size_t nsocks;
    io_udp_recv_batch *rx;
    uint8_t *rxbuf;
    uint8_t *txbuf;
    size_t txcap;
    tern_datagram tdg[TL_TX_BATCH];
    tl_pending pending[TL_TX_BATCH];
    size_t npending, pending_pos;
    bool allow_gso;
    tern_time retry_at;     /* send retry after a full socket buffer */
    tern_time app_deadline; /* TERN_TIME_INFINITE: none */
    tl_event_fn on_event;
    tl_deadline_fn on_deadline;
    void *ctx;
    uint64_t send_blocked; /* times the socket buffer was full */
    /* tl_node_set_serve_filter: the destinations served (none: all). */
    tern_locator_prefix serve[TL_MAX_SERVE];
    size_t nserve;
    uint64_t filtered; /* datagrams dropped by it */
    /* Set by tl_relay_open: datagrams from the relayed address go through
     * the relay (never GSO), its socket and timer join the loop's. */
    tl_relay *relay;
};

/* Creates the endpoint; on failure returns -1 with a message in err. */
int tl_node_init(tl_node *n, io_loop *loop, const tern_config *cfg, tl_event_fn on_event,
                 tl_deadline_fn on_deadline, void *ctx, char *err, size_t err_len);
void tl_node_destroy(tl_node *n);
/* Opens a UDP socket on addr (port 0: ephemeral) and watches it. Returns its
 * index, or a negative errno. */
int tl_node_add_socket(tl_node *n, const tern_addr *addr);
/* Same, with socket options (io_udp_options.freebind for a wildcard
 * socket serving a prefix). */
int tl_node_add_socket_opts(tl_node *n, const tern_addr *addr, const io_udp_options *options);
/* Serves only datagrams sent to an address inside one of the prefixes
 * (count 0: every datagram): what a wildcard socket receives for other
 * local addresses is dropped and counted in n->filtered. At most
 * TL_MAX_SERVE prefixes; returns -1 beyond. */
int tl_node_set_serve_filter(tl_node *n, const tern_locator_prefix *prefixes, size_t count);
/* Closes socket idx (its slot is reused by a later tl_node_add_socket);
 * datagrams still queued for it are dropped. */
void tl_node_remove_socket(tl_node *n, int idx);
/* Sends what the endpoint has, drains events, re-arms the timer. Call after
 * changing the endpoint outside a callback (connect, close, migrate...). */
void tl_node_kick(tl_node *n);
void tl_node_set_app_deadline(tl_node *n, tern_time when);

/* ---- HTTP session over one connection ---- */
typedef struct tl_session tl_session;
/* Creates the HTTP session once the ALPN is known; NULL on failure (the
 * connection is then closed). */
typedef tern_app *(*tl_make_app_fn)(tl_session *s, tern_app_proto proto);

struct tl_session {
    tl_node *node;
    tern_conn *conn;
    tern_app *app;
    tern_app_transport transport;
    tl_make_app_fn make_app;
    bool app_at_handshake; /* client: create the app at HANDSHAKE_DONE only */
    bool started;
    bool app_failed;
    void *user;
    uint64_t *fin_ids; /* streams whose FIN the app has seen */
    size_t nfin, capfin;
};
/* Frees what the session holds (app included) without a CONN_CLOSED. */
void tl_session_free(tl_session *s);

/* Initialises the transport table for conn. The app is created through
 * make_app as soon as the ALPN is known (server) or at HANDSHAKE_DONE
 * (app_at_handshake). */
void tl_session_init(tl_session *s, tl_node *n, tern_conn *conn, bool is_server, tl_make_app_fn make_app,
                     void *user);
/* The negotiated protocol, false when no ALPN or an unknown one. */
bool tl_session_proto(const tl_session *s, tern_app_proto *proto);
/* Forwards one stream/connection event to s->app (see docs/http.md's
 * table); HANDSHAKE_DONE starts the app. CONN_CLOSED frees the app. */
void tl_session_on_event(tl_session *s, const tern_event *ev);

/* Client, 0-RTT (tools/common/early.c): creates and starts the app for
 * proto now, before the handshake, when tern_conn_can_send_early_data; its
 * requests then leave in 0-RTT. False (nothing started) otherwise. */
bool tl_session_start_early(tl_session *s, tern_app_proto proto);

/* Event names and close descriptions for logs. */
const char *tl_event_name(tern_event_type t);
const char *tl_path_event_name(tern_path_event p);
/* "NO_ERROR", "application 0x100", "CRYPTO_ERROR 0x12a (TLS alert 42)"... */
void tl_close_desc(const tern_event *ev, char *buf, size_t len);

#endif
