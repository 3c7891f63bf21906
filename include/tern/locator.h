/* Peer locators: the server addresses a client has learned, and the policy
 * that decides which ones it accepts (profile §2, §4).
 *
 * A *locator* is one server address (an IPv4 and/or an IPv6 transport
 * address) bound to the connection ID the server issued with it, as a HIP
 * Type 1 locator is an address bound to an SPI (draft-ietf-hip-multihoming
 * §4.1). The handshake address (CID sequence 0), the preferred_address
 * transport parameter (RFC 9000 §9.6, sequence 1) and each
 * SERVER_ALTERNATE_ADDRESS frame (draft-saa-ali-quic, same sequence space)
 * give one locator each.
 *
 * The application reads locators (state, addresses, times) through the
 * connection, and sets a tern_locator_policy in its configuration. The
 * names below give qlog and logs stable lowercase strings. */
#ifndef TERN_LOCATOR_H
#define TERN_LOCATOR_H

#include <stdbool.h>

#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most locators a connection can hold, whatever the policy says: the storage
 * is a fixed array of this size (bounded memory whatever the peer sends,
 * draft-ietf-hip-multihoming §6 "avoid accepting large numbers of peer
 * locators"). tern_locator_policy.max_locators is at most this. */
#define TERN_LOCATOR_MAX 16
/* Entries in each of the policy's deny and allow lists. */
#define TERN_LOCATOR_MAX_PREFIXES 16

/* Where a locator stands (profile §2; HIP's UNVERIFIED / ACTIVE / DEPRECATED
 * plus VALIDATING and FAILED). Legal transitions:
 *   UNVERIFIED -> VALIDATING            path validation started
 *   VALIDATING -> ACTIVE                PATH_RESPONSE received
 *   VALIDATING -> FAILED                no PATH_RESPONSE in time
 *   ACTIVE     -> FAILED                its path was declared dead
 *   any but DEPRECATED -> DEPRECATED    its CID retired (withdrawn by the
 *                                       server, or retired by us)
 * DEPRECATED is final: a retired CID never comes back (RFC 9000 §5.1.2). */
typedef enum tern_locator_state {
    TERN_LOCATOR_UNVERIFIED = 0, /* learned, not validated: only probing frames
                                    may go there (RFC 9000 §9.6.3, §21.5.3) */
    TERN_LOCATOR_VALIDATING,     /* PATH_CHALLENGE sent, waiting (at most one) */
    TERN_LOCATOR_ACTIVE,         /* validated: usable for all traffic */
    TERN_LOCATOR_DEPRECATED,     /* its CID is retired: never used again */
    TERN_LOCATOR_FAILED,         /* validation timed out or its path died */
} tern_locator_state;

/* Why a locator entered its state. The first three are how it was learned
 * (the change that created it); the others name a transition. */
typedef enum tern_locator_reason {
    TERN_LOCATOR_REASON_HANDSHAKE = 0,     /* the address the handshake ran on: ACTIVE */
    TERN_LOCATOR_REASON_PREFERRED_ADDRESS, /* RFC 9000 §18.2 preferred_address */
    TERN_LOCATOR_REASON_ADVERTISED,        /* a SERVER_ALTERNATE_ADDRESS frame */
    TERN_LOCATOR_REASON_PROBE_STARTED,     /* UNVERIFIED -> VALIDATING */
    TERN_LOCATOR_REASON_VALIDATED,         /* VALIDATING -> ACTIVE */
    TERN_LOCATOR_REASON_VALIDATION_TIMEOUT,/* VALIDATING -> FAILED */
    TERN_LOCATOR_REASON_PATH_DEAD,         /* ACTIVE -> FAILED */
    TERN_LOCATOR_REASON_WITHDRAWN,         /* -> DEPRECATED: the server retired its
                                              CID (Retire Prior To, profile §2) */
    TERN_LOCATOR_REASON_SUPERSEDED,        /* -> DEPRECATED: we moved to a newer
                                              locator and retired this one's CID */
    TERN_LOCATOR_REASON_RETIRED,           /* -> DEPRECATED: we retired its CID for
                                              another reason (e.g. it failed) */
} tern_locator_reason;

/* One locator, read-only for the application. */
typedef struct tern_locator {
    uint64_t sequence;         /* sequence number of its connection ID */
    tern_addr ipv4;            /* TERN_AF_NONE when absent or refused */
    tern_addr ipv6;            /* TERN_AF_NONE when absent or refused */
    tern_locator_state state;
    tern_locator_reason reason; /* of the latest change */
    tern_time learned_at;
    tern_time validated_at;    /* TERN_TIME_INFINITE until validated */
    uint8_t current;           /* 1: the active path goes to it */
    uint8_t preferred;         /* 1: the server's preferred address: the
                                  highest sequence not DEPRECATED (profile §2) */
} tern_locator;

/* One state change, as reported to the connection for its event and qlog.
 * For the learning reasons (HANDSHAKE, PREFERRED_ADDRESS, ADVERTISED) the
 * locator is new and old_state equals new_state. */
typedef struct tern_locator_change {
    uint64_t sequence;
    tern_addr ipv4, ipv6;      /* the locator's addresses */
    tern_locator_state old_state;
    tern_locator_state new_state;
    tern_locator_reason reason;
} tern_locator_change;

/* What a client does with SERVER_ALTERNATE_ADDRESS frames (profile §2). */
typedef enum tern_locator_follow {
    TERN_LOCATOR_FOLLOW = 0, /* learn them and validate the preferred one */
    TERN_LOCATOR_IGNORE,     /* drop them (their CIDs stay usable as spares) */
} tern_locator_follow;

/* An address prefix: addr.family TERN_AF_INET (len <= 32) or TERN_AF_INET6
 * (len <= 128), the bits past len zero, addr.port 0 (prefixes match
 * addresses, not ports). len 0 matches every address of the family. */
typedef struct tern_locator_prefix {
    tern_addr addr;
    uint8_t len;
} tern_locator_prefix;

#define TERN_LOCATOR_POLICY_VERSION 1

/* Which server addresses a client accepts, and how many. Set by the
 * application in its configuration; the connection copies it into each
 * connection's locator set. Start from tern_locator_policy_default. */
typedef struct tern_locator_policy {
    /* TERN_LOCATOR_POLICY_VERSION: lets later versions of the struct grow
     * without breaking applications built against this one. */
    uint32_t version;
    /* Most locators kept per connection, handshake address included
     * (2..TERN_LOCATOR_MAX; default 8). Live locators are also bounded by
     * the CIDs our active_connection_id_limit lets the server issue: the
     * slack holds DEPRECATED ones for the API until their slot is needed. */
    uint32_t max_locators;
    /* SAA frames accepted per second, and how many at once (token bucket;
     * defaults 10 and 4). rate 0: at most saa_burst frames per connection.
     * Excess frames are dropped, not a connection error (profile §2). */
    uint32_t saa_rate;
    uint32_t saa_burst;
    tern_locator_follow follow; /* default TERN_LOCATOR_FOLLOW */
    /* Operator lists (draft-ietf-hip-multihoming §6: let the administrator
     * block address ranges). An address matching a deny prefix is refused;
     * with a non-empty allow list, an address matching no allow prefix is
     * refused. An IPv4-mapped IPv6 address is matched in both forms. Both
     * lists are empty by default. */
    uint32_t deny_count;
    tern_locator_prefix deny[TERN_LOCATOR_MAX_PREFIXES];
    uint32_t allow_count;
    tern_locator_prefix allow[TERN_LOCATOR_MAX_PREFIXES];
} tern_locator_policy;

/* Fills *policy with the defaults above (policy may not be NULL). */
void tern_locator_policy_default(tern_locator_policy *policy);

/* 0 if *policy is usable, else TERN_ERR_INVALID_ARGUMENT (a tern_err,
 * tern/error.h): NULL, another
 * version, max_locators outside 2..TERN_LOCATOR_MAX, saa_burst 0, saa_rate
 * above 10^9, an unknown follow value, a count above
 * TERN_LOCATOR_MAX_PREFIXES, or a prefix of another family, a length
 * beyond the family's, bits set past the length, or a non-zero port. */
int tern_locator_policy_check(const tern_locator_policy *policy);
/* A prefix as tern_locator_policy requires it: a family, len within it, no
 * bits set past len, port 0. */
bool tern_locator_prefix_valid(const tern_locator_prefix *p);
/* Whether addr's IP is inside p (ports ignored; families must agree, an
 * IPv4-mapped IPv6 address is also tried as IPv4). Any time, any thread. */
bool tern_locator_prefix_match(const tern_locator_prefix *p, const tern_addr *addr);

/* "unverified", "validating", "active", "deprecated", "failed";
 * "unknown" for any other value. */
const char *tern_locator_state_name(tern_locator_state state);

/* "handshake", "preferred_address", "advertised", "probe_started",
 * "validated", "validation_timeout", "path_dead", "withdrawn",
 * "superseded", "retired"; "unknown" for any other value. */
const char *tern_locator_reason_name(tern_locator_reason reason);

#ifdef __cplusplus
}
#endif

#endif
