/* Loss detection and the PTO timer (RFC 9002 §6, Appendix A), feeding the
 * per-path RTT estimators and congestion controllers (§5, §7).
 *
 * Ownership:
 *   - per connection, in tern_recovery: the three packet number spaces
 *     (their sent packets, largest acked, loss time, ECN-CE count), the PTO
 *     backoff and the single loss detection timer;
 *   - per path, in tern_path_recovery (embedded in the caller's path): RTT
 *     estimator, congestion controller, pacer.
 * Each sent packet records the path it left on (a small caller-chosen id);
 * recovery finds the path's state through the path_lookup callback, so an
 * ACK updates the RTT and window of the path the packet was sent on.
 *
 * The caller keeps its own per-packet frame records and passes an opaque
 * handle (tern_sent_packet.frames); recovery reports each packet exactly once
 * as acked, lost or discarded through callbacks. Callbacks must not call back
 * into the same tern_recovery.
 *
 * Sans-IO: every call takes the current time; the caller arms one timer at
 * tern_recovery_next_timer() and calls tern_recovery_on_timer() when it
 * fires (immediately if it is already in the past). */
#ifndef TERN_RECOVERY_H
#define TERN_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc.h"
#include "pacer.h"
#include "rtt.h"
#include "sent_packets.h"
#include "ack_range.h"
#include "tern/error.h"
#include "tern/types.h"

/* Packet number spaces in RFC 9002 order (0-RTT and 1-RTT share
 * APPLICATION). */
typedef enum tern_recovery_space {
    TERN_RECOVERY_SPACE_INITIAL = 0,
    TERN_RECOVERY_SPACE_HANDSHAKE = 1,
    TERN_RECOVERY_SPACE_APPLICATION = 2,
} tern_recovery_space;
#define TERN_RECOVERY_SPACE_COUNT 3

/* ---- per path ---------------------------------------------------------- */

/* Recovery state of one path (4-tuple). On migration to a new path, init a
 * fresh one (RFC 9000 §9.4); when only the peer's port changed, keep it.
 * tern_path_recovery_reset() restarts it in place: packets sent on the path
 * before the reset no longer touch its RTT or window. */
typedef struct tern_path_recovery {
    tern_rtt rtt;
    tern_cc cc;
    tern_pacer pacer;
    tern_time epoch_start; /* packets sent before this are ignored */
} tern_path_recovery;

/* cc_cfg NULL = tern_cc_config_init defaults; initial_rtt 0 = 333 ms. */
void tern_path_recovery_init(tern_path_recovery *path, const tern_cc_config *cc_cfg,
                             tern_time initial_rtt, tern_time now);
void tern_path_recovery_reset(tern_path_recovery *path, tern_time now);
/* PMTU change: updates the window computations and the pacer burst. */
void tern_path_recovery_set_max_datagram_size(tern_path_recovery *path, uint64_t mds);
/* Pacing helpers on the path's own window and RTT. */
tern_time tern_path_recovery_next_send_time(const tern_path_recovery *path, tern_time now,
                                            uint64_t bytes);
void tern_path_recovery_on_paced_send(tern_path_recovery *path, tern_time now, uint64_t bytes);

/* ---- per connection ---------------------------------------------------- */

typedef struct tern_recovery_callbacks {
    void *user;
    /* The state of path `path_id`, or NULL if the path is gone (its packets
     * are then still reported acked/lost, but touch no RTT or window). */
    tern_path_recovery *(*path_lookup)(void *user, tern_path_id path_id);
    /* Newly acknowledged packet. */
    void (*on_acked)(void *user, tern_recovery_space space, const tern_sent_packet *packet);
    /* Packet declared lost: retransmit its frames as needed. */
    void (*on_lost)(void *user, tern_recovery_space space, const tern_sent_packet *packet);
    /* Packet forgotten because its space's keys were discarded (§6.4) or on
     * tern_recovery_reset; optional (NULL). */
    void (*on_discarded)(void *user, tern_recovery_space space, const tern_sent_packet *packet);
} tern_recovery_callbacks;

typedef struct tern_recovery_config {
    bool is_server;
    /* Peer's max_ack_delay transport parameter (RFC 9000 §18.2). */
    tern_time max_ack_delay;
    /* Probes to send when the PTO fires: 1 or 2 (§6.2.4; 2 is more robust
     * to the loss of a single probe). */
    unsigned pto_probe_packets;
    /* RFC 9002 §6.1.1 kPacketThreshold. */
    unsigned packet_threshold;
    /* Initial RTT for packets whose path is gone. */
    tern_time initial_rtt;
} tern_recovery_config;

/* Client, max_ack_delay 25 ms, 2 probes, threshold 3, 333 ms. */
void tern_recovery_config_init(tern_recovery_config *cfg, bool is_server);

/* What an ACK did (for the caller's qlog and decisions). */
typedef struct tern_ack_result {
    size_t newly_acked;
    size_t lost;
    bool rtt_sampled;
    bool congestion_event;      /* a path entered recovery (loss or CE) */
    bool persistent_congestion; /* a path collapsed to the minimum window */
} tern_ack_result;

typedef enum tern_timeout_kind {
    TERN_TIMEOUT_NONE = 0,  /* nothing was due */
    TERN_TIMEOUT_LOSS,      /* time-threshold losses were reported via on_lost */
    TERN_TIMEOUT_PTO,       /* send `probes` ack-eliciting packets in `space` */
} tern_timeout_kind;

typedef struct tern_timeout_action {
    tern_timeout_kind kind;
    tern_recovery_space space;
    /* PTO: ack-eliciting packets to send in `space` now, ignoring the
     * congestion window and the pacer (§7.5). New data first, else
     * retransmitted data, else PING (§6.2.4). Also send ack-eliciting
     * packets in other spaces with data in flight when possible. */
    unsigned probes;
    /* Client anti-deadlock probe (§6.2.2.1): nothing is in flight; send a
     * Handshake packet, or without Handshake keys an Initial packet in a
     * datagram padded to at least 1200 bytes. */
    bool anti_deadlock;
} tern_timeout_action;

typedef struct tern_recovery_space_state {
    tern_sent_packets sent;
    uint64_t largest_sent;
    bool has_sent;
    uint64_t largest_acked;
    bool has_largest_acked;
    tern_path_id largest_acked_path;    /* path the largest acked packet was sent on */
    bool discarded;
    tern_time time_of_last_ack_eliciting;
    tern_path_id last_ack_eliciting_path;
    tern_time loss_time;            /* TERN_TIME_INFINITE when unset */
    size_t ack_eliciting_in_flight;
    uint64_t bytes_in_flight;
    uint64_t ecn_ce;                /* highest ECN-CE count reported */
    unsigned probes_pending;
} tern_recovery_space_state;

typedef struct tern_recovery {
    tern_recovery_config cfg;
    tern_recovery_callbacks cb;
    tern_recovery_space_state spaces[TERN_RECOVERY_SPACE_COUNT];
    tern_rtt fallback_rtt;          /* for packets whose path is gone */
    unsigned pto_count;
    tern_time timer;                /* TERN_TIME_INFINITE when not armed */
    tern_timeout_kind timer_kind;
    tern_path_id last_path_id;         /* path of the latest packet sent */
    bool handshake_confirmed;
    bool has_handshake_keys;
    bool handshake_ack_received;
    bool amplification_blocked;
    uint64_t spurious_losses;       /* acknowledged after being declared lost */
} tern_recovery;

/* cfg NULL = client defaults. Allocates the (small) sent-packet rings. */
tern_err tern_recovery_init(tern_recovery *rec, const tern_recovery_config *cfg,
                            const tern_recovery_callbacks *cb);
void tern_recovery_free(tern_recovery *rec);

/* Packet `p` was sent in `space` at p->time_sent. Its pn must be larger
 * than every pn sent before in the space. In-flight packets are added to
 * their path's congestion controller (the caller feeds the pacer itself, as
 * only it knows which packets are paced). Errors: TERN_ERR_INVALID_ARGUMENT
 * (pn order, discarded space), TERN_ERR_NOMEM. */
tern_err tern_recovery_on_packet_sent(tern_recovery *rec, tern_recovery_space space,
                                      const tern_sent_packet *p);

/* An ACK frame received in `space`: ranges largest first, ack_delay decoded
 * with the peer's ack_delay_exponent, ecn NULL without an ECN section.
 * Reports packets through the callbacks (lost first, then acked), updates
 * RTT and congestion state, re-arms the timer. TERN_PROTOCOL_VIOLATION when
 * the ACK covers a packet never sent (RFC 9000 §13.1, §21.4 skipped
 * numbers); TERN_FRAME_ENCODING_ERROR for malformed ranges. ACKs in a
 * discarded space are ignored. out may be NULL. */
tern_err tern_recovery_on_ack(tern_recovery *rec, tern_recovery_space space,
                              const tern_ack_range *ranges, size_t range_count,
                              tern_time ack_delay, const tern_ecn_counts *ecn, tern_time now,
                              tern_ack_result *out);

/* Time the loss detection timer fires, TERN_TIME_INFINITE if not armed. */
static inline tern_time tern_recovery_next_timer(const tern_recovery *rec) { return rec->timer; }

/* Runs the timer if it is due at now (§A.9). out must not be NULL. */
void tern_recovery_on_timer(tern_recovery *rec, tern_time now, tern_timeout_action *out);

/* Initial or Handshake keys were discarded (§6.4): the space's packets are
 * removed from bytes in flight and reported via on_discarded, the PTO
 * backoff is reset and the timer re-armed. Later sends and ACKs in the
 * space are refused / ignored. Application space is accepted too (for a
 * connection that is being torn down). */
void tern_recovery_discard_space(tern_recovery *rec, tern_recovery_space space, tern_time now);

/* 0-RTT rejected (RFC 9001 §4.6.2, RFC 9002 §6.4): every outstanding packet
 * of `space` leaves bytes in flight without a congestion signal and is
 * reported via on_lost, so its frames are sent again (in 1-RTT). The space
 * stays usable and its packet numbers keep growing. */
void tern_recovery_requeue_space(tern_recovery *rec, tern_recovery_space space, tern_time now);

/* Retry (§6.3): forgets every packet of every space (on_discarded) and the
 * PTO backoff. The caller resets its paths (tern_path_recovery_reset). */
void tern_recovery_reset(tern_recovery *rec, tern_time now);

/* Handshake state the PTO logic depends on (§6.2.1, §6.2.2.1). */
void tern_recovery_set_handshake_confirmed(tern_recovery *rec, tern_time now);
void tern_recovery_set_has_handshake_keys(tern_recovery *rec, tern_time now);
void tern_recovery_set_max_ack_delay(tern_recovery *rec, tern_time max_ack_delay, tern_time now);

/* Server anti-amplification hook (§6.2.2.1): while blocked, the PTO timer is
 * not armed (time-threshold loss timers still are). On unblocking (a
 * datagram arrived) the timer is re-armed; if it is then in the past, the
 * caller runs tern_recovery_on_timer at once. */
void tern_recovery_set_amplification_blocked(tern_recovery *rec, bool blocked, tern_time now);

/* Ack-eliciting packets in flight, in one space / in all spaces. */
size_t tern_recovery_ack_eliciting_in_flight(const tern_recovery *rec, tern_recovery_space space);
size_t tern_recovery_total_ack_eliciting_in_flight(const tern_recovery *rec);
/* Bytes in flight sent in one space (all paths). */
uint64_t tern_recovery_bytes_in_flight(const tern_recovery *rec, tern_recovery_space space);
/* PTO probes still owed in `space`; each ack-eliciting packet sent there
 * pays one. */
unsigned tern_recovery_probes_pending(const tern_recovery *rec, tern_recovery_space space);
static inline unsigned tern_recovery_pto_count(const tern_recovery *rec) { return rec->pto_count; }

/* PTO duration for a space with the current backoff (§6.2.1), on the RTT
 * of the path that carried the space's latest ack-eliciting packet. */
tern_time tern_recovery_pto_duration(tern_recovery *rec, tern_recovery_space space);

#endif
