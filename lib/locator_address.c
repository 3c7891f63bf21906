/* Address checks for peer locators (see locator_address.h). */
#include "locator_address.h"

#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The IPv4 address an address stands for: itself, or the one an
 * IPv4-mapped IPv6 address embeds (RFC 4291 §2.5.5.2). False if none. */
static bool as_ipv4(const tern_addr *a, uint8_t out[4])
{
    if (a->family == TERN_AF_INET) {
        memcpy(out, a->ip, 4);
        return true;
    }
    if (a->family == TERN_AF_INET6 && memcmp(a->ip, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
        memcpy(out, a->ip + 12, 4);
        return true;
    }
    return false;
}

static bool v4_loopback(const uint8_t ip[4]) { return ip[0] == 127; }
static bool v4_link_local(const uint8_t ip[4]) { return ip[0] == 169 && ip[1] == 254; }

static bool v6_loopback(const uint8_t ip[16])
{
    static const uint8_t one[16] = {[15] = 1};
    return memcmp(ip, one, 16) == 0;
}

static bool v6_link_local(const uint8_t ip[16]) { return ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80; }

static bool is_loopback(const tern_addr *a)
{
    uint8_t v4[4];
    if (as_ipv4(a, v4)) return v4_loopback(v4);
    return a->family == TERN_AF_INET6 && v6_loopback(a->ip);
}

static tern_locator_refusal check_v4(const uint8_t ip[4], const tern_addr *current)
{
    if (ip[0] == 0) return TERN_LOCATOR_REFUSE_UNSPECIFIED; /* 0.0.0.0/8, RFC 1122 §3.2.1.3 */
    if ((ip[0] & 0xf0) == 224) return TERN_LOCATOR_REFUSE_MULTICAST;
    if (ip[0] == 255 && ip[1] == 255 && ip[2] == 255 && ip[3] == 255) return TERN_LOCATOR_REFUSE_BROADCAST;
    if (v4_loopback(ip) && !is_loopback(current)) return TERN_LOCATOR_REFUSE_LOOPBACK;
    if (v4_link_local(ip)) {
        uint8_t cur[4];
        if (!as_ipv4(current, cur) || !v4_link_local(cur)) return TERN_LOCATOR_REFUSE_LINK_LOCAL;
    }
    return TERN_LOCATOR_ACCEPTABLE;
}

static tern_locator_refusal check_v6(const uint8_t ip[16], const tern_addr *current)
{
    static const uint8_t zero[16];
    if (memcmp(ip, zero, 16) == 0) return TERN_LOCATOR_REFUSE_UNSPECIFIED;
    if (ip[0] == 0xff) return TERN_LOCATOR_REFUSE_MULTICAST;
    if (v6_loopback(ip) && !is_loopback(current)) return TERN_LOCATOR_REFUSE_LOOPBACK;
    if (v6_link_local(ip) && !(current->family == TERN_AF_INET6 && v6_link_local(current->ip)))
        return TERN_LOCATOR_REFUSE_LINK_LOCAL;
    return TERN_LOCATOR_ACCEPTABLE;
}

static bool any_match(const tern_locator_prefix *list, uint32_t n, const tern_addr *a)
{
    for (uint32_t i = 0; i < n; i++)
        if (tern_locator_prefix_match(&list[i], a)) return true;
    return false;
}

tern_locator_refusal tern_locator_address_check(const tern_addr *addr, const tern_addr *current,
                                                const tern_locator_policy *policy)
{
    static const tern_addr none = {.family = TERN_AF_NONE};
    if (!current) current = &none;
    if (!addr || (addr->family != TERN_AF_INET && addr->family != TERN_AF_INET6)) return TERN_LOCATOR_REFUSE_FAMILY;
    if (addr->port == 0) return TERN_LOCATOR_REFUSE_UNSPECIFIED; /* no UDP destination */

    uint8_t v4[4];
    tern_locator_refusal r = as_ipv4(addr, v4) ? check_v4(v4, current) : check_v6(addr->ip, current);
    if (r != TERN_LOCATOR_ACCEPTABLE || !policy) return r;

    if (any_match(policy->deny, policy->deny_count, addr)) return TERN_LOCATOR_REFUSE_DENIED;
    if (policy->allow_count > 0 && !any_match(policy->allow, policy->allow_count, addr))
        return TERN_LOCATOR_REFUSE_NOT_ALLOWED;
    return TERN_LOCATOR_ACCEPTABLE;
}

static unsigned family_bits(uint8_t family)
{
    return family == TERN_AF_INET ? 32 : family == TERN_AF_INET6 ? 128 : 0;
}

/* Whether the first `len` bits of a and b agree. */
static bool same_leading_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
    unsigned whole = len / 8, rest = len % 8;
    if (memcmp(a, b, whole) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool tern_locator_prefix_valid(const tern_locator_prefix *p)
{
    unsigned bits = family_bits(p->addr.family);
    if (bits == 0 || p->len > bits || p->addr.port != 0) return false;
    /* Host bits set ("10.1.2.3/8") usually mean a typing mistake. */
    for (unsigned i = p->len; i < bits; i++)
        if (p->addr.ip[i / 8] & (0x80 >> (i % 8))) return false;
    return true;
}

bool tern_locator_prefix_match(const tern_locator_prefix *p, const tern_addr *addr)
{
    if (p->addr.family == addr->family) return same_leading_bits(p->addr.ip, addr->ip, p->len);
    uint8_t v4[4];
    if (p->addr.family == TERN_AF_INET && addr->family == TERN_AF_INET6 && as_ipv4(addr, v4))
        return same_leading_bits(p->addr.ip, v4, p->len);
    return false;
}

const char *tern_locator_refusal_name(tern_locator_refusal r)
{
    switch (r) {
    case TERN_LOCATOR_ACCEPTABLE: return "acceptable";
    case TERN_LOCATOR_REFUSE_UNSPECIFIED: return "unspecified";
    case TERN_LOCATOR_REFUSE_MULTICAST: return "multicast";
    case TERN_LOCATOR_REFUSE_BROADCAST: return "broadcast";
    case TERN_LOCATOR_REFUSE_LOOPBACK: return "loopback";
    case TERN_LOCATOR_REFUSE_LINK_LOCAL: return "link_local";
    case TERN_LOCATOR_REFUSE_DENIED: return "denied";
    case TERN_LOCATOR_REFUSE_NOT_ALLOWED: return "not_allowed";
    case TERN_LOCATOR_REFUSE_FAMILY: return "family";
    }
    return "unknown";
}
