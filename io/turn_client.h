/* Sans-IO TURN client over UDP (RFC 8656), long-term credentials (RFC 8489
 * §9.2).
 *
 * The client owns no socket and reads no clock. The application (e.g.
 * tools/common/tl_relay.c) opens a UDP socket toward the TURN server and:
 *   - feeds every datagram from the server to turn_client_on_datagram;
 *   - after every call into the client, sends what turn_client_poll_send
 *     returns (until it returns 0) to the server;
 *   - wakes up at turn_client_next_timer and calls turn_client_on_timer;
 *   - wraps each datagram for a peer with turn_client_wrap and sends the
 *     result to the server.
 * Times are tern_time (monotonic ns, any origin) passed in by the caller.
 * Nothing here allocates; a turn_client is one plain struct.
 * See docs/turn.md for the state machine and timers. */
#ifndef TERN_IO_TURN_CLIENT_H
#define TERN_IO_TURN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun.h"
#include "tern/types.h"

#define TURN_MAX_PERMISSIONS 16 /* peer IP addresses */
#define TURN_MAX_CHANNELS 32    /* peer transport addresses (IP and port) */
#define TURN_MAX_CRED 128       /* longest username, password, realm, nonce, software */
#define TURN_TXN_BUF 512        /* largest request the client builds */
/* Bytes turn_client_wrap may add in front of a payload: a Send indication
 * to an IPv6 peer (20 header + 24 XOR-PEER-ADDRESS + 4 DATA header) plus 3
 * bytes of padding. ChannelData adds 4. */
#define TURN_WRAP_OVERHEAD 51

/* Default timings. */
#define TURN_DEFAULT_RTO TERN_MS(500)        /* RFC 8489 §6.2.1 initial RTO */
#define TURN_DEFAULT_MAX_TRIES 7             /* Rc: transmissions of a request */
#define TURN_RM 16                           /* Rm: last wait = Rm x initial RTO */
#define TURN_DEFAULT_LIFETIME 600            /* requested allocation lifetime, s */
#define TURN_PERMISSION_REFRESH TERN_SEC(240) /* permissions last 300 s */
#define TURN_CHANNEL_REFRESH TERN_SEC(480)    /* channel bindings last 600 s */

typedef enum turn_state {
    TURN_IDLE = 0,   /* initialised, turn_client_start not called */
    TURN_ALLOCATING, /* Allocate in progress (including the 401 round) */
    TURN_ALLOCATED,  /* relayed address known; refreshed automatically */
    TURN_FAILED,     /* gave up: turn_client_error says why; nothing more is sent */
    TURN_CLOSING,    /* deallocation (Refresh, lifetime 0) in flight */
    TURN_CLOSED,     /* deallocated (or closed before allocating) */
} turn_state;

/* Why the client failed (TURN_FAILED). */
typedef enum turn_error {
    TURN_ERR_NONE = 0,
    TURN_ERR_TIMEOUT,         /* the server did not answer a request (7 tries) */
    TURN_ERR_BAD_CREDENTIALS, /* 401 to a request that carried credentials */
    TURN_ERR_QUOTA,           /* 486 Allocation Quota Reached */
    TURN_ERR_CAPACITY,        /* 508 Insufficient Capacity */
    TURN_ERR_FORBIDDEN,       /* 403 Forbidden */
    TURN_ERR_MISMATCH,        /* 437 Allocation Mismatch (lost allocation) */
    TURN_ERR_SERVER,          /* any other error response, or a malformed answer */
    TURN_ERR_CONFIG,          /* credentials or realm/nonce too long, bad config */
} turn_error;

typedef struct turn_client_config {
    tern_addr server;     /* the TURN server (IPv4 or IPv6, UDP) */
    const char *username; /* long-term credentials; copied */
    const char *password;
    const char *software; /* SOFTWARE attribute, NULL: none; copied */
    uint32_t lifetime;    /* requested allocation lifetime, s (0: 600) */
    tern_time rto;        /* initial retransmission timeout (0: 500 ms) */
    unsigned max_tries;   /* transmissions per request (0: 7) */
} turn_client_config;

/* One request in flight (internal; per allocation, permission, channel). */
typedef struct turn_txn {
    bool active;   /* waiting for a response */
    bool to_send;  /* queued for turn_client_poll_send */
    uint8_t tid[STUN_TID_LEN];
    uint8_t buf[TURN_TXN_BUF];
    size_t len;
    unsigned tries;      /* transmissions so far */
    tern_time rto;       /* current interval */
    tern_time next_at;   /* next retransmission, or the give-up time */
    unsigned nonce_retries; /* 438 answers in a row */
} turn_txn;

typedef struct turn_permission {
    bool used;
    bool installed;     /* a CreatePermission (or ChannelBind) succeeded */
    bool pinned;        /* asked for with turn_client_add_permission: kept */
    bool refused;       /* the server answered an error: not retried before refresh_at */
    tern_addr ip;       /* port ignored (0) */
    tern_time refresh_at;
    tern_time last_used; /* last add_peer or datagram from this IP */
    turn_txn txn;
} turn_permission;

typedef struct turn_channel {
    bool used;
    bool bound;         /* ChannelBind succeeded: ChannelData may be used */
    bool refused;       /* the server refused it: indications until refresh_at */
    uint16_t number;    /* 0x4000 + index */
    tern_addr peer;
    tern_time refresh_at;
    tern_time last_used;   /* last add_peer or datagram from this peer */
    tern_time reuse_after; /* a freed slot's number may be bound again from then */
    turn_txn txn;
} turn_channel;

/* What turn_client_on_datagram found. */
typedef enum turn_rx {
    TURN_RX_IGNORED = 0, /* not from the server, malformed, unknown channel or
                            transaction, failed integrity: dropped */
    TURN_RX_CONTROL,     /* a STUN response/indication the client consumed */
    TURN_RX_DATA,        /* application data from a peer: *peer, *payload */
} turn_rx;

typedef struct turn_client {
    turn_client_config cfg;
    char username[TURN_MAX_CRED + 1], password[TURN_MAX_CRED + 1], software[TURN_MAX_CRED + 1];
    char realm[TURN_MAX_CRED + 1], nonce[TURN_MAX_CRED + 1];
    size_t realm_len, nonce_len;
    bool have_key; /* realm and nonce known: requests carry credentials */
    uint8_t key[STUN_LONG_TERM_KEY_LEN];
    turn_state state;
    turn_error error;
    char error_text[320];
    tern_addr relayed, mapped;
    uint32_t lifetime;     /* granted, s */
    tern_time expires_at;  /* allocation expiry (local estimate) */
    tern_time refresh_at;  /* next Refresh (80 % of the lifetime) */
    turn_txn alloc;        /* Allocate, Refresh or the deallocating Refresh */
    bool alloc_is_refresh; /* alloc holds a Refresh (not an Allocate) */
    turn_permission perms[TURN_MAX_PERMISSIONS];
    turn_channel chans[TURN_MAX_CHANNELS];
    uint64_t requests_sent, retransmissions, responses, data_in, data_out;
    uint64_t refreshes;    /* allocation Refreshes that succeeded */
    uint64_t stale_nonces; /* 438 answers (retried with the new nonce) */
    uint64_t peer_errors;  /* CreatePermission/ChannelBind refused (not fatal) */
    char peer_error[256];  /* the last of them, one line */
} turn_client;

/* Initialises tc from cfg (strings are copied). Who: the application, once,
 * before anything else. Returns 0, or -1 when cfg is unusable (no server
 * address, missing or too long credentials): then tc is TURN_FAILED with
 * TURN_ERR_CONFIG and a message. */
int turn_client_init(turn_client *tc, const turn_client_config *cfg);

/* Queues the first (unauthenticated) Allocate. Who: the application, once,
 * after init. Then call turn_client_poll_send. Returns 0, or -1 when not
 * TURN_IDLE. */
int turn_client_start(turn_client *tc, tern_time now);

/* Handles one datagram received from `from` (which must be the server's
 * address, else TURN_RX_IGNORED). Who: the application, for every datagram
 * on its socket toward the server. For TURN_RX_DATA, *peer is the peer's
 * address and *payload, *payload_len point into data (valid while data is).
 * After any call, send what turn_client_poll_send has and re-read the timer
 * and state. */
turn_rx turn_client_on_datagram(turn_client *tc, const tern_addr *from, const uint8_t *data, size_t len,
                                tern_time now, tern_addr *peer, const uint8_t **payload, size_t *payload_len);

/* Frames payload for peer into out[0..cap): ChannelData when a channel to
 * peer is bound, else a Send indication. Who: the application, for each
 * datagram to a peer; send the result to the server. payload may overlap
 * out (it is moved with memmove); cap must leave TURN_WRAP_OVERHEAD bytes
 * beyond len for a Send indication.
 * Returns the length, or 0 when not TURN_ALLOCATED, peer is of a family
 * other than the relayed address's, or cap is too small. Does not create
 * a permission: call turn_client_add_peer first for new peers. */
size_t turn_client_wrap(turn_client *tc, const tern_addr *peer, const uint8_t *payload, size_t len, uint8_t *out,
                        size_t cap);

/* Asks for a permission for peer's IP address (CreatePermission, refreshed
 * every 4 minutes for as long as the client runs). Who: the application,
 * when it learns of a peer IP (signalling, configuration). Idempotent. Before TURN_ALLOCATED the request
 * is queued and sent once allocated. Returns 0, or -1 when the table is full
 * or the family does not match the server's. */
int turn_client_add_permission(turn_client *tc, const tern_addr *peer_ip, tern_time now);

/* Permission for peer's IP plus a channel for peer (ChannelBind, refreshed
 * every 8 minutes); until the binding succeeds turn_client_wrap uses Send
 * indications. Who: the application, before each datagram it sends to a
 * peer (it also marks the peer as in use) and on data from one without a
 * channel. Cheap when known (a scan of the tables). A channel idle (no
 * add_peer, no data from the peer) for 8 minutes is not refreshed but
 * dropped, and its number rebound to another peer only 15 minutes after
 * its last binding (RFC 8656 §12); a permission made here (not pinned by
 * turn_client_add_permission) is dropped after 4 idle minutes once no
 * channel uses its IP. Returns 0, or -1 when the family does not match or
 * the permission table is full; with the channel table full it returns -1
 * too, but the permission exists and turn_client_wrap sends indications. */
int turn_client_add_peer(turn_client *tc, const tern_addr *peer, tern_time now);

/* True when a ChannelBind to peer has succeeded. */
bool turn_client_peer_bound(const turn_client *tc, const tern_addr *peer);

/* Copies the next control message (request or retransmission) to send to
 * the server into buf[0..cap) and returns its length; 0 when none is due.
 * Who: the application, after every call into the client, until 0. A
 * message that does not fit in cap is skipped (lost; retransmitted later). */
size_t turn_client_poll_send(turn_client *tc, uint8_t *buf, size_t cap);

/* When turn_client_on_timer must run next, TERN_TIME_INFINITE when never. */
tern_time turn_client_next_timer(const turn_client *tc);

/* Runs retransmissions, give-ups and refreshes that are due at now. Who:
 * the application, at (or after) turn_client_next_timer. */
void turn_client_on_timer(turn_client *tc, tern_time now);

/* Deallocates: a Refresh with LIFETIME 0 is queued (TURN_CLOSING; CLOSED
 * when answered or after its retransmissions). Who: the application when
 * it stops; it may send the poll_send output once and exit without waiting.
 * From TURN_IDLE/ALLOCATING/FAILED: TURN_CLOSED at once, nothing sent. */
void turn_client_close(turn_client *tc, tern_time now);

turn_state turn_client_state(const turn_client *tc);
/* "idle", "allocating", "allocated", "failed", "closing", "closed". */
const char *turn_state_name(turn_state s);
/* The relayed transport address (TERN_AF_NONE before TURN_ALLOCATED). */
const tern_addr *turn_client_relayed_addr(const turn_client *tc);
/* Our address as the server saw it (XOR-MAPPED-ADDRESS of the Allocate). */
const tern_addr *turn_client_mapped_addr(const turn_client *tc);
turn_error turn_client_error(const turn_client *tc);
/* A one-line description of the failure ("" when none), e.g.
 * "relay refused the credentials (401 Unauthorized after authenticating)". */
const char *turn_client_error_text(const turn_client *tc);

#endif
