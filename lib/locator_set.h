/* A client's set of peer locators: the server addresses it has learned
 * (handshake, preferred_address, SERVER_ALTERNATE_ADDRESS), each bound to the
 * CID sequence number it came with, with its state (tern/locator.h), the
 * checks that decide which ones to accept and the rules that decide which
 * one to validate or fail over to (profile §2, §4; draft-ietf-hip-multihoming
 * §5).
 *
 * Standalone and sans-IO: it sends nothing, owns no path and no CID. The
 * connection (lib/migration.c) feeds it what it learns and asks it what to
 * do: after the CID manager accepted a frame's CID (sequence conflicts
 * between CIDs are the CID manager's, profile §2), it calls
 * tern_locator_set_add_saa; it probes what tern_locator_set_next_to_validate
 * returns and reports the outcome; it calls tern_locator_set_deprecate from
 * the CID manager's peer_cid_withdrawn callback; when the active path dies it
 * asks tern_locator_set_failover.
 *
 * Preferred and older locators. The preferred locator is the one with the
 * highest sequence number that is not DEPRECATED (profile §2: the newest
 * advertised address is the server's preferred one; HIP §5.4 step 4: a
 * deprecated preferred locator gives way to a non-deprecated one). A FAILED
 * newest locator stays preferred, so nothing older gets validated in its
 * place: the client stays on its current path (profile §2 "on validation
 * failure ... stay on the current path"). Learning a newer locator changes
 * no older one: validated ones stay ACTIVE as fallbacks and never-validated
 * ones stay UNVERIFIED as failover candidates (HIP §4.2.2-§4.2.3: alternate
 * addresses kept for fault tolerance), until the server withdraws them by
 * retiring their CIDs. Deprecating them on our own would throw away
 * failover candidates whose CIDs the server still holds live, and the set
 * stays bounded anyway (max_locators, and the server's CIDs by our
 * active_connection_id_limit).
 *
 * Change records. Every call that changes a state (or learns a locator)
 * makes exactly one change, and fills the caller's tern_locator_change (may
 * be NULL) when, and only when, it succeeds; a refused call leaves it
 * untouched. Nothing is queued, so nothing can be lost or overflow, and the
 * caller turns each record into its event right away.
 *
 * Bounds. At most policy.max_locators (<= TERN_LOCATOR_MAX) locators, in a
 * fixed array inside the struct: no allocation, whatever the peer sends. When
 * full, the oldest DEPRECATED locator (not the current one) is forgotten to
 * make room (its CID is retired, nothing refers to it any more); if there is
 * none, the new one is dropped (FULL). SAA frames pass a token bucket
 * (policy.saa_rate, saa_burst) before anything else is done with them.
 *
 * Pointers returned by the queries point into the set and are valid until
 * the next call that changes it. The struct holds no pointers: it may be
 * copied. Not thread-safe. */
#ifndef TERN_LOCATOR_SET_H
#define TERN_LOCATOR_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "locator_address.h"
#include "tern/error.h"
#include "tern/locator.h"
#include "tern/types.h"
#include "token_bucket.h"

/* CID sequence numbers that are fixed by RFC 9000 (§5.1.1). */
#define TERN_LOCATOR_SEQ_HANDSHAKE 0
#define TERN_LOCATOR_SEQ_PREFERRED_ADDRESS 1

/* What became of an advertised address. */
typedef enum tern_locator_add_result {
    TERN_LOCATOR_ADDED = 0,         /* kept, UNVERIFIED (change filled) */
    TERN_LOCATOR_DUPLICATE,         /* same sequence, same addresses: ignored
                                       (a retransmission, profile §2) */
    TERN_LOCATOR_CONFLICT,          /* same sequence, other addresses: the
                                       caller closes with PROTOCOL_VIOLATION */
    TERN_LOCATOR_RATE_LIMITED,      /* token bucket empty: dropped */
    TERN_LOCATOR_FULL,              /* max_locators live: dropped */
    TERN_LOCATOR_REFUSED_ADDRESS,   /* no address passed the checks: dropped */
    TERN_LOCATOR_IGNORED_POLICY,    /* policy.follow is IGNORE: dropped */
    TERN_LOCATOR_INVALID,           /* caller error: set not initialised, an
                                       address of the wrong family for its
                                       slot, or both absent */
} tern_locator_add_result;

/* "added", "duplicate", "conflict", "rate_limited", "full",
 * "refused_address", "ignored_policy", "invalid"; "unknown" otherwise. */
const char *tern_locator_add_result_name(tern_locator_add_result r);

typedef struct tern_locator_entry {
    tern_locator pub;               /* what the API shows */
    /* As received, a refused family included: a retransmission of the same
     * frame is then a DUPLICATE, not a CONFLICT. */
    tern_addr advertised_v4, advertised_v6;
    tern_time not_before;           /* next_to_validate waits until then */
} tern_locator_entry;

typedef struct tern_locator_set {
    tern_locator_policy policy;
    tern_token_bucket saa_bucket;
    tern_locator_entry entries[TERN_LOCATOR_MAX]; /* ascending sequence */
    uint32_t count;
    /* The server address the active path uses (loopback and link-local
     * rules, locator_address.h); TERN_AF_NONE before the handshake. */
    tern_addr current_addr;
    bool initialized;
} tern_locator_set;

/* An empty set under a copy of *policy (checked first with
 * tern_locator_policy_check). Errors: TERN_ERR_INVALID_ARGUMENT if s is NULL
 * or the policy is not valid (*s is then left unusable: every later call
 * fails). */
tern_err tern_locator_set_init(tern_locator_set *s, const tern_locator_policy *policy);

/* ---- learning ---- */

/* The address the handshake ran on (sequence 0): ACTIVE and current, with
 * validated_at = learned_at = now (reason HANDSHAKE). No address checks: the
 * application chose it. It must be the first locator. Errors:
 * TERN_ERR_INVALID_ARGUMENT (s not initialised, remote NULL or of no
 * family), TERN_ERR_INVALID_STATE (the set is not empty). */
tern_err tern_locator_set_add_handshake(tern_locator_set *s, const tern_addr *remote, tern_time now,
                                        tern_locator_change *change);

/* The preferred_address transport parameter (RFC 9000 §9.6, §18.2; sequence
 * 1), when the client means to follow it. v4 is TERN_AF_NONE or
 * TERN_AF_INET, v6 TERN_AF_NONE or TERN_AF_INET6, not both absent (NULL
 * counts as absent). Goes through the address checks (a refused family is
 * dropped, the other kept) but not the SAA rate limit or follow policy
 * (RFC 9000 has its own switch for it). Returns ADDED, DUPLICATE, CONFLICT,
 * FULL, REFUSED_ADDRESS or INVALID. */
tern_locator_add_result tern_locator_set_add_preferred_address(tern_locator_set *s, const tern_addr *v4,
                                                               const tern_addr *v6, tern_time now,
                                                               tern_locator_change *change);

/* A SERVER_ALTERNATE_ADDRESS frame (profile §2) whose CID the CID manager
 * accepted as live: sequence, its IPv4 and IPv6 addresses as decoded
 * (absent = TERN_AF_NONE or NULL). In this order:
 *   INVALID           as for add_preferred_address;
 *   DUPLICATE/CONFLICT the sequence is held with the same / other addresses
 *                     (checked before the rate limit: a violation is found
 *                     whatever the timing, a retransmission costs no token);
 *   IGNORED_POLICY    policy.follow is IGNORE;
 *   RATE_LIMITED      no token left (every other frame spends one, whatever
 *                     becomes of it: the limit bounds the work a peer causes,
 *                     HIP §6 "rate limit any UPDATE messages");
 *   REFUSED_ADDRESS   neither address passed tern_locator_set_check_address
 *                     (if one did, only that one is kept);
 *   FULL              max_locators held and no DEPRECATED one (other than
 *                     the current one) to forget;
 *   ADDED             UNVERIFIED, learned_at now, reason ADVERTISED.
 * Nothing is remembered of a dropped frame: the caller should retire its CID
 * (the server then knows it will not be used). */
tern_locator_add_result tern_locator_set_add_saa(tern_locator_set *s, uint64_t sequence, const tern_addr *v4,
                                                 const tern_addr *v6, tern_time now, tern_locator_change *change);

/* Do not return this UNVERIFIED locator from next_to_validate before
 * not_before: the caller's random delay against a thundering herd of
 * clients all following the same SAA (profile §2). The set draws no random
 * numbers. Errors: TERN_ERR_INVALID_ARGUMENT (unknown sequence),
 * TERN_ERR_INVALID_STATE (not UNVERIFIED). */
tern_err tern_locator_set_defer(tern_locator_set *s, uint64_t sequence, tern_time not_before);

/* ---- transitions ----
 * Each fills *change (if not NULL) on success. Errors:
 * TERN_ERR_INVALID_ARGUMENT (s not initialised, unknown sequence, or a
 * reason deprecate does not take), TERN_ERR_INVALID_STATE (the transition is
 * not legal from the locator's state; nothing changes). */

/* UNVERIFIED -> VALIDATING (PROBE_STARTED): the caller sent PATH_CHALLENGE
 * to one of its addresses. At most one validation in flight (profile §2):
 * INVALID_STATE while another locator is VALIDATING. */
tern_err tern_locator_set_start_validation(tern_locator_set *s, uint64_t sequence, tern_locator_change *change);

/* VALIDATING -> ACTIVE (VALIDATED), validated_at = now: PATH_RESPONSE. */
tern_err tern_locator_set_validated(tern_locator_set *s, uint64_t sequence, tern_time now,
                                    tern_locator_change *change);

/* VALIDATING -> FAILED (VALIDATION_TIMEOUT): no PATH_RESPONSE within
 * max(3 PTO, 6 x initial RTT) (profile §2). */
tern_err tern_locator_set_validation_failed(tern_locator_set *s, uint64_t sequence, tern_locator_change *change);

/* ACTIVE -> FAILED (PATH_DEAD): the path to it was declared dead (no ACK
 * within the PTO backoff limit, profile §2). */
tern_err tern_locator_set_path_dead(tern_locator_set *s, uint64_t sequence, tern_locator_change *change);

/* Any state but DEPRECATED -> DEPRECATED: its CID is retired. reason is
 * WITHDRAWN (the server's Retire Prior To), SUPERSEDED (we moved to a newer
 * locator and retire this one) or RETIRED (we retire it for another reason,
 * e.g. it FAILED and we free the CID). A deprecated current locator stays
 * current until the caller switches away. */
tern_err tern_locator_set_deprecate(tern_locator_set *s, uint64_t sequence, tern_locator_reason reason,
                                    tern_locator_change *change);

/* The active path now goes to `remote`, one of this ACTIVE locator's
 * addresses. Not a state change (no change record). Errors:
 * TERN_ERR_INVALID_ARGUMENT (unknown sequence, remote NULL or not one of its
 * addresses), TERN_ERR_INVALID_STATE (not ACTIVE). */
tern_err tern_locator_set_switch_to(tern_locator_set *s, uint64_t sequence, const tern_addr *remote);

/* ---- queries ---- */

size_t tern_locator_set_count(const tern_locator_set *s);
const tern_locator *tern_locator_set_find(const tern_locator_set *s, uint64_t sequence);
/* The locator one of whose addresses equals addr (IP and port): the newest
 * not DEPRECATED, else the newest DEPRECATED; NULL if none. */
const tern_locator *tern_locator_set_find_address(const tern_locator_set *s, const tern_addr *addr);
const tern_locator *tern_locator_set_current(const tern_locator_set *s);
/* Highest sequence not DEPRECATED (see the top of this file). */
const tern_locator *tern_locator_set_preferred(const tern_locator_set *s);
/* The one VALIDATING locator, or NULL. */
const tern_locator *tern_locator_set_validating(const tern_locator_set *s);

/* The locator to validate now to follow the server: the preferred one, if
 * it is UNVERIFIED, its not_before has passed, and no validation is in
 * flight; else NULL. (An ACTIVE preferred one other than the current one
 * needs no validation: switch to it.) */
const tern_locator *tern_locator_set_next_to_validate(const tern_locator_set *s, tern_time now);
/* When next_to_validate will return a locator if nothing else changes: the
 * preferred locator's not_before (<= now: already), or TERN_TIME_INFINITE
 * (nothing to validate, or a validation in flight). For the caller's timer. */
tern_time tern_locator_set_next_to_validate_at(const tern_locator_set *s);

/* Where to go when the active path dies (profile §2 fault tolerance, HIP
 * §4.2.3): an ACTIVE locator other than the current one, newest first
 * (switch to it now); else the VALIDATING one if a validation is in flight
 * (wait for it: one at a time); else the newest UNVERIFIED one (validate it;
 * not_before is not waited for, the path is already dead). Never DEPRECATED
 * or FAILED. NULL if there is nowhere to go. */
const tern_locator *tern_locator_set_failover(const tern_locator_set *s);

/* Copies min(count, max) locators, ascending sequence, into out (may be NULL
 * when max is 0); returns count (like snprintf: > max means truncated). */
size_t tern_locator_set_copy(const tern_locator_set *s, tern_locator *out, size_t max);

/* tern_locator_address_check for this set (initialised): its current
 * address and policy.
 * What add_saa applies to each address; the caller may use it to say in qlog
 * why an address was refused. */
tern_locator_refusal tern_locator_set_check_address(const tern_locator_set *s, const tern_addr *addr);

#endif
