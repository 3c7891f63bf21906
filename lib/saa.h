/* SERVER_ALTERNATE_ADDRESS (draft-saa-ali-quic, profile §2): the two small
 * policy layers on the path manager (lib/migration.c).
 *   - lib/saa_server.c: a server advertises and withdraws its addresses
 *     (a local CID per address, the frame retransmitted until acked);
 *   - lib/saa_client.c: a client keeps the server's addresses as peer
 *     locators (lib/locator_set.h, the HIP multihoming model), validates the
 *     preferred one on a path of its own CID and moves there, fails over
 *     and follows withdrawals.
 * Neither moves packets itself: paths are opened, validated and switched
 * by lib/migration.c, as for any other migration. */
#ifndef TERN_SAA_H
#define TERN_SAA_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "path.h"
#include "tern/tern.h"

/* Client: after this many validations in a row fail, no more server
 * addresses are probed until one validates (a server that keeps naming
 * hosts that never answer gets at most this many x TERN_PATH_MAX_CHALLENGES
 * datagrams sent there, whatever it withdraws and re-advertises: RFC 9000
 * §21.5). */
#define TERN_SAA_MAX_FAILED_VALIDATIONS 8

/* Server: SAA frames not acknowledged yet (each its own address). */
#define TERN_SAA_OUT_MAX 8
/* Server: addresses advertised whose CID the client has not retired yet
 * (each holds a CID ref on its local address, lib/local_addrs.h). */
#define TERN_SAA_ADVERTISED_MAX 16

typedef struct tern_saa_advertised {
    uint64_t sequence;
    tern_addr ipv4, ipv6;
} tern_saa_advertised;

typedef struct tern_saa_out {
    uint64_t sequence;
    tern_addr ipv4, ipv6;
    tern_cid cid;
    uint8_t reset_token[TERN_STATELESS_RESET_TOKEN_LEN];
    bool pending; /* to send (first time or after loss); else in flight */
} tern_saa_out;

/* Server: what it advertised (allocated with the first advertisement: a
 * connection that never gets one, e.g. a half-open one, does not pay). */
typedef struct tern_saa_server_tables {
    tern_saa_out out[TERN_SAA_OUT_MAX];
    uint8_t out_count;
    tern_saa_advertised advertised[TERN_SAA_ADVERTISED_MAX];
    uint8_t advertised_count;
} tern_saa_server_tables;

typedef struct tern_saa_state {
    bool negotiated;
    /* client */
    struct tern_locator_set *locators; /* allocated when offering */
    tern_path_id probe_path;           /* validating a locator; NONE */
    uint64_t probe_seq;
    bool recheck;                      /* look for a locator to go to (timer, now) */
    /* Liveness of the server address (failover, profile §2): a client that
     * only receives sends nothing ack-eliciting, so its PTO never runs and
     * a dead path would go unnoticed until the idle timeout. When the
     * server falls silent for 2 PTO after sending, one PING per silence
     * starts the PTO chain that declares the path dead. */
    tern_time last_eliciting_rx;       /* last ack-eliciting packet received */
    tern_time liveness_ping_for;       /* the silence last pinged (its start) */
    tern_time follow_not_before;       /* no path slot was free: retry then */
    unsigned failed_in_a_row;          /* validations that failed since the last success */
    /* server: NULL until the first advertisement */
    tern_saa_server_tables *srv;
} tern_saa_state;

struct tern_conn;

/* Both roles. */
void tern_saa_init(struct tern_conn *c);
void tern_saa_free(struct tern_conn *c);
/* The peer's transport parameters arrived (negotiation, CID reserve). */
void tern_saa_on_peer_tp(struct tern_conn *c);

/* Client (lib/saa_client.c). */
tern_err tern_saa_client_on_frame(struct tern_conn *c, const tern_saa_frame *f, tern_time now);
void tern_saa_client_on_handshake_confirmed(struct tern_conn *c, tern_time now);
void tern_saa_client_on_path_event(struct tern_conn *c, const tern_path *p, tern_path_event what, tern_time now);
/* The server retired a CID of ours by Retire Prior To (withdrawal). */
void tern_saa_client_on_cid_withdrawn(struct tern_conn *c, uint64_t sequence, tern_time now);
/* The active path is dead and no validated standby exists: true when a
 * locator is being validated to fail over to. */
bool tern_saa_client_on_path_dead(struct tern_conn *c, tern_time now);
tern_time tern_saa_next_timer(const struct tern_conn *c);
void tern_saa_on_timer(struct tern_conn *c, tern_time now);

/* Server (lib/saa_server.c): frames to send. */
tern_saa_out *tern_saa_server_next_pending(struct tern_conn *c);
void tern_saa_server_on_sent(struct tern_conn *c, tern_saa_out *o);
void tern_saa_server_on_lost(struct tern_conn *c, uint64_t sequence);
void tern_saa_server_on_acked(struct tern_conn *c, uint64_t sequence);
/* The client retired one of our CIDs: if it was an address's, that
 * address is no longer referenced by it. */
void tern_saa_server_on_cid_retired(struct tern_conn *c, uint64_t sequence);

#endif
