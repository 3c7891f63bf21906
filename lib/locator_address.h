/* Which server addresses a client may be sent to (profile §2 "Ignore, never
 * use"), as pure functions of the address, the server address currently in
 * use and the operator's policy. The locator set calls this for every
 * address the server advertises; the connection can call it again to say in
 * qlog why an address was refused.
 *
 * Refused, in the order checked (the first that applies is reported):
 *  - unspecified: 0.0.0.0/8, ::, or port 0. Not a destination (RFC 1122
 *    §3.2.1.3, RFC 4291 §2.5.2); the all-zero "absent" marker never gets
 *    here (the decoder makes it TERN_AF_NONE).
 *  - multicast 224.0.0.0/4, ff00::/8, and broadcast 255.255.255.255: a
 *    locator must be unicast or anycast (draft-ietf-hip-multihoming §5.2);
 *    a server must not turn its clients into a flood (RFC 9000 §21.5).
 *  - loopback 127.0.0.0/8, ::1, unless the current server address is
 *    loopback too: RFC 9000 §21.5.6, services on loopback often lack
 *    authentication and an address "provided by a service at a non-loopback
 *    address" should not lead there. Tests on loopback keep working.
 *  - link-local 169.254.0.0/16, fe80::/10, unless the current server
 *    address is link-local in the same family: link-local addresses are
 *    only meaningful to a peer on the same link (draft-ietf-hip-multihoming
 *    §5.1); tern_addr has no scope ID, so an IPv6 one is only usable on the
 *    interface a link-local IPv6 path already uses.
 *  - deny-listed, or outside a non-empty allow list (the administrator's
 *    lists, draft-ietf-hip-multihoming §6).
 * An IPv4-mapped IPv6 address (::ffff:0:0/96, RFC 4291 §2.5.5.2) is checked
 * by the IPv4 rules on the address it embeds, and matched against IPv4
 * prefixes too, so that mapping cannot smuggle a refused IPv4 address. */
#ifndef TERN_LOCATOR_ADDRESS_H
#define TERN_LOCATOR_ADDRESS_H

#include <stdbool.h>

#include "tern/locator.h"
#include "tern/types.h"

typedef enum tern_locator_refusal {
    TERN_LOCATOR_ACCEPTABLE = 0,
    TERN_LOCATOR_REFUSE_UNSPECIFIED,
    TERN_LOCATOR_REFUSE_MULTICAST,
    TERN_LOCATOR_REFUSE_BROADCAST,
    TERN_LOCATOR_REFUSE_LOOPBACK,
    TERN_LOCATOR_REFUSE_LINK_LOCAL,
    TERN_LOCATOR_REFUSE_DENIED,
    TERN_LOCATOR_REFUSE_NOT_ALLOWED,
    TERN_LOCATOR_REFUSE_FAMILY, /* neither TERN_AF_INET nor TERN_AF_INET6 */
} tern_locator_refusal;

/* "acceptable", "unspecified", "multicast", "broadcast", "loopback",
 * "link_local", "denied", "not_allowed", "family"; "unknown" otherwise. */
const char *tern_locator_refusal_name(tern_locator_refusal r);

/* Whether `addr` may become (part of) a locator. current is the server
 * address the active path uses (NULL or TERN_AF_NONE: none, so the loopback
 * and link-local exemptions do not apply). policy may be NULL (no lists). */
tern_locator_refusal tern_locator_address_check(const tern_addr *addr, const tern_addr *current,
                                                const tern_locator_policy *policy);

/* tern_locator_prefix_valid and tern_locator_prefix_match: public, in
 * tern/locator.h. */

#endif
