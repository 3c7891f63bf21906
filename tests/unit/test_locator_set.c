/* The client's peer locator set (lib/locator_set.h, tern/locator.h): address
 * checks, policy checks, bounds and rate limit, duplicate vs conflict, the
 * preferred locator, the state machine (every illegal transition refused),
 * one validation at a time, failover order, and change records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "locator_set.h"

#define MS TERN_MS
#define SEC TERN_SEC

/* "198.18.0.1" or "2001:db8::1" with a port. */
static tern_addr A(const char *text, uint16_t port)
{
    tern_addr a;
    memset(&a, 0, sizeof a);
    a.port = port;
    if (strchr(text, ':')) {
        a.family = TERN_AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, a.ip), 1);
    } else {
        a.family = TERN_AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, a.ip), 1);
    }
    return a;
}

static tern_locator_prefix P(const char *text, uint8_t len)
{
    tern_locator_prefix p = {.addr = A(text, 0), .len = len};
    return p;
}

static bool addr_eq(const tern_addr *a, const tern_addr *b)
{
    if (a->family != b->family) return false;
    if (a->family == TERN_AF_NONE) return true;
    return a->port == b->port && memcmp(a->ip, b->ip, a->family == TERN_AF_INET ? 4 : 16) == 0;
}

static const tern_addr NONE = {.family = TERN_AF_NONE};

/* A set with the default policy (or *policy) whose handshake ran on
 * `current`. */
static void setup(tern_locator_set *s, const tern_locator_policy *policy, const char *current)
{
    tern_locator_policy def;
    tern_locator_policy_default(&def);
    assert_int_equal(tern_locator_set_init(s, policy ? policy : &def), TERN_OK);
    tern_addr cur = A(current, 443);
    assert_int_equal(tern_locator_set_add_handshake(s, &cur, 0, NULL), TERN_OK);
}

/* Adds an SAA carrying one address, in the slot of its family. */
static tern_locator_add_result add1(tern_locator_set *s, uint64_t seq, const tern_addr *a, tern_time now)
{
    return a->family == TERN_AF_INET ? tern_locator_set_add_saa(s, seq, a, &NONE, now, NULL)
                                     : tern_locator_set_add_saa(s, seq, &NONE, a, now, NULL);
}

static tern_locator_state state_of(const tern_locator_set *s, uint64_t seq)
{
    const tern_locator *l = tern_locator_set_find(s, seq);
    assert_non_null(l);
    return l->state;
}

/* ---- address checks ---- */

enum { POL_DEFAULT, POL_DENY, POL_ALLOW, POL_ALLOW_DENY, POL_COUNT };

static void make_policy(tern_locator_policy *p, int which)
{
    tern_locator_policy_default(p);
    switch (which) {
    case POL_DENY:
        p->deny[p->deny_count++] = P("198.18.5.0", 24);
        p->deny[p->deny_count++] = P("2001:db8:bad::", 48);
        p->deny[p->deny_count++] = P("198.18.128.0", 17); /* not a byte boundary */
        break;
    case POL_ALLOW:
        p->allow[p->allow_count++] = P("198.19.0.0", 16);
        p->allow[p->allow_count++] = P("2001:db8:1::", 48);
        break;
    case POL_ALLOW_DENY:
        p->allow[p->allow_count++] = P("198.19.0.0", 16);
        p->deny[p->deny_count++] = P("198.19.9.0", 24);
        break;
    }
    assert_int_equal(tern_locator_policy_check(p), TERN_OK);
}

typedef struct addr_case {
    int policy;
    const char *current; /* the handshake address (port 443) */
    const char *addr;
    uint16_t port;
    tern_locator_refusal want;
} addr_case;

static const addr_case addr_cases[] = {
    /* plain unicast */
    {POL_DEFAULT, "198.18.0.1", "198.18.0.2", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "198.18.0.1", "2001:db8::2", 4433, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "2001:db8::1", "198.18.0.2", 443, TERN_LOCATOR_ACCEPTABLE},
    /* unspecified: 0.0.0.0/8, ::, port 0 */
    {POL_DEFAULT, "198.18.0.1", "0.0.0.0", 443, TERN_LOCATOR_REFUSE_UNSPECIFIED},
    {POL_DEFAULT, "198.18.0.1", "0.1.2.3", 443, TERN_LOCATOR_REFUSE_UNSPECIFIED},
    {POL_DEFAULT, "198.18.0.1", "1.0.0.0", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "198.18.0.1", "::", 443, TERN_LOCATOR_REFUSE_UNSPECIFIED},
    {POL_DEFAULT, "198.18.0.1", "198.18.0.2", 0, TERN_LOCATOR_REFUSE_UNSPECIFIED},
    {POL_DEFAULT, "198.18.0.1", "2001:db8::2", 0, TERN_LOCATOR_REFUSE_UNSPECIFIED},
    /* multicast 224.0.0.0/4 and ff00::/8, with the neighbours of 224/4 */
    {POL_DEFAULT, "198.18.0.1", "224.0.0.1", 443, TERN_LOCATOR_REFUSE_MULTICAST},
    {POL_DEFAULT, "198.18.0.1", "239.255.255.255", 443, TERN_LOCATOR_REFUSE_MULTICAST},
    {POL_DEFAULT, "198.18.0.1", "223.255.255.255", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "198.18.0.1", "240.0.0.1", 443, TERN_LOCATOR_ACCEPTABLE}, /* reserved, not multicast */
    {POL_DEFAULT, "198.18.0.1", "ff02::1", 443, TERN_LOCATOR_REFUSE_MULTICAST},
    {POL_DEFAULT, "198.18.0.1", "ff0e::1:3", 443, TERN_LOCATOR_REFUSE_MULTICAST},
    {POL_DEFAULT, "198.18.0.1", "fec0::1", 443, TERN_LOCATOR_ACCEPTABLE},
    /* limited broadcast */
    {POL_DEFAULT, "198.18.0.1", "255.255.255.255", 443, TERN_LOCATOR_REFUSE_BROADCAST},
    {POL_DEFAULT, "198.18.0.1", "255.255.255.254", 443, TERN_LOCATOR_ACCEPTABLE},
    /* link-local, refused from a global current address, with the edges */
    {POL_DEFAULT, "198.18.0.1", "169.254.1.1", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    {POL_DEFAULT, "198.18.0.1", "169.254.255.255", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    {POL_DEFAULT, "198.18.0.1", "169.253.255.255", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "198.18.0.1", "169.255.0.1", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "198.18.0.1", "fe80::1", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    {POL_DEFAULT, "198.18.0.1", "febf:ffff::1", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    {POL_DEFAULT, "2001:db8::1", "fe80::2", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    /* link-local accepted from a link-local current address of its family */
    {POL_DEFAULT, "169.254.0.1", "169.254.9.9", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "169.254.0.1", "fe80::1", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    {POL_DEFAULT, "fe80::1", "fe80::2", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "fe80::1", "169.254.1.1", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    /* loopback (RFC 9000 §21.5.6) only from a loopback current address */
    {POL_DEFAULT, "198.18.0.1", "127.0.0.1", 443, TERN_LOCATOR_REFUSE_LOOPBACK},
    {POL_DEFAULT, "198.18.0.1", "127.255.0.9", 443, TERN_LOCATOR_REFUSE_LOOPBACK},
    {POL_DEFAULT, "198.18.0.1", "::1", 443, TERN_LOCATOR_REFUSE_LOOPBACK},
    {POL_DEFAULT, "127.0.0.1", "127.0.0.2", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "127.0.0.1", "::1", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "::1", "127.0.0.5", 443, TERN_LOCATOR_ACCEPTABLE},
    /* IPv4-mapped IPv6: the embedded IPv4 address decides */
    {POL_DEFAULT, "198.18.0.1", "::ffff:224.0.0.1", 443, TERN_LOCATOR_REFUSE_MULTICAST},
    {POL_DEFAULT, "198.18.0.1", "::ffff:255.255.255.255", 443, TERN_LOCATOR_REFUSE_BROADCAST},
    {POL_DEFAULT, "198.18.0.1", "::ffff:0.0.0.0", 443, TERN_LOCATOR_REFUSE_UNSPECIFIED},
    {POL_DEFAULT, "198.18.0.1", "::ffff:169.254.1.1", 443, TERN_LOCATOR_REFUSE_LINK_LOCAL},
    {POL_DEFAULT, "198.18.0.1", "::ffff:127.0.0.1", 443, TERN_LOCATOR_REFUSE_LOOPBACK},
    {POL_DEFAULT, "198.18.0.1", "::ffff:198.18.0.9", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "169.254.0.1", "::ffff:169.254.3.3", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DEFAULT, "198.18.0.1", "::fffe:224.0.0.1", 443, TERN_LOCATOR_ACCEPTABLE}, /* not mapped */
    /* deny list */
    {POL_DENY, "198.18.0.1", "198.18.5.7", 443, TERN_LOCATOR_REFUSE_DENIED},
    {POL_DENY, "198.18.0.1", "198.18.6.1", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DENY, "198.18.0.1", "198.18.127.255", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DENY, "198.18.0.1", "198.18.128.0", 443, TERN_LOCATOR_REFUSE_DENIED},
    {POL_DENY, "198.18.0.1", "198.18.255.255", 443, TERN_LOCATOR_REFUSE_DENIED},
    {POL_DENY, "198.18.0.1", "2001:db8:bad::1", 443, TERN_LOCATOR_REFUSE_DENIED},
    {POL_DENY, "198.18.0.1", "2001:db8:bad1::1", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_DENY, "198.18.0.1", "::ffff:198.18.5.7", 443, TERN_LOCATOR_REFUSE_DENIED},
    /* allow list */
    {POL_ALLOW, "198.18.0.1", "198.19.3.4", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_ALLOW, "198.18.0.1", "198.18.0.2", 443, TERN_LOCATOR_REFUSE_NOT_ALLOWED},
    {POL_ALLOW, "198.18.0.1", "2001:db8:1::5", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_ALLOW, "198.18.0.1", "2001:db8:2::5", 443, TERN_LOCATOR_REFUSE_NOT_ALLOWED},
    {POL_ALLOW, "198.18.0.1", "::ffff:198.19.0.1", 443, TERN_LOCATOR_ACCEPTABLE},
    {POL_ALLOW, "198.18.0.1", "224.0.0.1", 443, TERN_LOCATOR_REFUSE_MULTICAST},
    /* deny wins over allow */
    {POL_ALLOW_DENY, "198.18.0.1", "198.19.9.1", 443, TERN_LOCATOR_REFUSE_DENIED},
    {POL_ALLOW_DENY, "198.18.0.1", "198.19.10.1", 443, TERN_LOCATOR_ACCEPTABLE},
};

static void test_address_checks(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++) {
        const addr_case *c = &addr_cases[i];
        tern_locator_policy policy;
        make_policy(&policy, c->policy);
        tern_locator_set s;
        setup(&s, &policy, c->current);
        tern_addr a = A(c->addr, c->port);
        tern_locator_refusal got = tern_locator_set_check_address(&s, &a);
        if (got != c->want)
            fail_msg("case %zu: %s from %s: %s, want %s", i, c->addr, c->current, tern_locator_refusal_name(got),
                     tern_locator_refusal_name(c->want));
        /* add_saa applies exactly that check. */
        tern_locator_add_result r = add1(&s, 2, &a, MS(1));
        if (c->want == TERN_LOCATOR_ACCEPTABLE) {
            assert_int_equal(r, TERN_LOCATOR_ADDED);
            const tern_locator *l = tern_locator_set_find(&s, 2);
            assert_non_null(l);
            assert_true(addr_eq(a.family == TERN_AF_INET ? &l->ipv4 : &l->ipv6, &a));
        } else {
            if (r != TERN_LOCATOR_REFUSED_ADDRESS) fail_msg("case %zu: %s", i, tern_locator_add_result_name(r));
            assert_null(tern_locator_set_find(&s, 2));
            assert_int_equal(tern_locator_set_count(&s), 1);
        }
    }
}

/* One family refused, the other fine: the fine one is kept. */
static void test_address_pair_keeps_the_fine_one(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "198.18.0.1");
    tern_addr bad4 = A("224.1.2.3", 443), good6 = A("2001:db8::7", 443);
    tern_locator_change ch;
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &bad4, &good6, MS(1), &ch), TERN_LOCATOR_ADDED);
    const tern_locator *l = tern_locator_set_find(&s, 2);
    assert_int_equal(l->ipv4.family, TERN_AF_NONE);
    assert_true(addr_eq(&l->ipv6, &good6));
    assert_int_equal(ch.ipv4.family, TERN_AF_NONE);
    assert_true(addr_eq(&ch.ipv6, &good6));

    tern_addr good4 = A("198.18.0.7", 443), bad6 = A("fe80::7", 443);
    assert_int_equal(tern_locator_set_add_saa(&s, 3, &good4, &bad6, MS(2), NULL), TERN_LOCATOR_ADDED);
    l = tern_locator_set_find(&s, 3);
    assert_true(addr_eq(&l->ipv4, &good4));
    assert_int_equal(l->ipv6.family, TERN_AF_NONE);

    /* Both refused. */
    assert_int_equal(tern_locator_set_add_saa(&s, 4, &bad4, &bad6, MS(3), NULL), TERN_LOCATOR_REFUSED_ADDRESS);

    /* The frame retransmitted as received is a duplicate (its refused half
     * included), not a conflict. */
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &bad4, &good6, MS(4), NULL), TERN_LOCATOR_DUPLICATE);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &NONE, &good6, MS(4), NULL), TERN_LOCATOR_CONFLICT);
}

/* ---- policy ---- */

static void test_policy_defaults_and_checks(void **state)
{
    (void)state;
    tern_locator_policy p;
    tern_locator_policy_default(&p);
    assert_int_equal(p.version, TERN_LOCATOR_POLICY_VERSION);
    assert_int_equal(p.max_locators, 8);
    assert_int_equal(p.saa_rate, 10);
    assert_int_equal(p.saa_burst, 4);
    assert_int_equal(p.follow, TERN_LOCATOR_FOLLOW);
    assert_int_equal(p.deny_count, 0);
    assert_int_equal(p.allow_count, 0);
    assert_int_equal(tern_locator_policy_check(&p), TERN_OK);
    assert_int_equal(tern_locator_policy_check(NULL), TERN_ERR_INVALID_ARGUMENT);

    /* Each field out of range, one at a time. */
    tern_locator_policy q;
#define EXPECT_BAD(stmt)                                                                                          \
    do {                                                                                                          \
        tern_locator_policy_default(&q);                                                                          \
        stmt;                                                                                                     \
        assert_int_equal(tern_locator_policy_check(&q), TERN_ERR_INVALID_ARGUMENT);                               \
        tern_locator_set s;                                                                                       \
        assert_int_equal(tern_locator_set_init(&s, &q), TERN_ERR_INVALID_ARGUMENT);                               \
        tern_addr cur = A("198.18.0.1", 443);                                                                     \
        assert_int_equal(tern_locator_set_add_handshake(&s, &cur, 0, NULL), TERN_ERR_INVALID_ARGUMENT);           \
        assert_int_equal(add1(&s, 2, &cur, 0), TERN_LOCATOR_INVALID);                                             \
    } while (0)
#define EXPECT_GOOD(stmt)                                                                                         \
    do {                                                                                                          \
        tern_locator_policy_default(&q);                                                                          \
        stmt;                                                                                                     \
        assert_int_equal(tern_locator_policy_check(&q), TERN_OK);                                                 \
    } while (0)
    EXPECT_BAD(q.version = 0);
    EXPECT_BAD(q.version = TERN_LOCATOR_POLICY_VERSION + 1);
    EXPECT_BAD(q.max_locators = 1);
    EXPECT_BAD(q.max_locators = TERN_LOCATOR_MAX + 1);
    EXPECT_GOOD(q.max_locators = 2);
    EXPECT_GOOD(q.max_locators = TERN_LOCATOR_MAX);
    EXPECT_BAD(q.saa_burst = 0);
    EXPECT_BAD(q.saa_rate = 1000000001u);
    EXPECT_GOOD(q.saa_rate = 0);
    EXPECT_BAD(q.follow = (tern_locator_follow)2);
    EXPECT_GOOD(q.follow = TERN_LOCATOR_IGNORE);
    EXPECT_BAD(q.deny_count = TERN_LOCATOR_MAX_PREFIXES + 1);
    EXPECT_BAD(q.allow_count = TERN_LOCATOR_MAX_PREFIXES + 1);
    EXPECT_BAD((q.deny[0] = P("198.18.0.0", 33), q.deny_count = 1));
    EXPECT_BAD((q.allow[0] = P("2001:db8::", 129), q.allow_count = 1));
    EXPECT_BAD((q.deny[0] = P("10.1.2.3", 8), q.deny_count = 1)); /* host bits */
    EXPECT_BAD((q.deny[0] = P("2001:db8::1", 64), q.deny_count = 1));
    EXPECT_BAD((q.deny[0] = P("198.18.128.0", 16), q.deny_count = 1));
    EXPECT_BAD((q.deny[0] = P("198.18.0.0", 16), q.deny[0].addr.port = 443, q.deny_count = 1));
    EXPECT_BAD((q.deny[0] = P("198.18.0.0", 16), q.deny[0].addr.family = TERN_AF_NONE, q.deny_count = 1));
    /* A bad entry past the count is not looked at. */
    EXPECT_GOOD((q.deny[3] = P("198.18.0.0", 33), q.deny_count = 3, q.deny[0] = q.deny[1] = q.deny[2] =
                                                                        P("198.18.0.0", 15)));
    EXPECT_GOOD((q.deny[0] = P("0.0.0.0", 0), q.deny_count = 1));
    EXPECT_GOOD((q.allow[0] = P("2001:db8::1", 128), q.allow_count = 1));
    EXPECT_GOOD((q.allow[0] = P("198.18.128.0", 17), q.allow_count = 1));
    assert_int_equal(tern_locator_set_init(NULL, &p), TERN_ERR_INVALID_ARGUMENT);
}

static void test_ignore_policy(void **state)
{
    (void)state;
    tern_locator_policy p;
    tern_locator_policy_default(&p);
    p.follow = TERN_LOCATOR_IGNORE;
    tern_locator_set s;
    setup(&s, &p, "198.18.0.1");
    tern_addr a = A("198.18.0.2", 443);
    for (int i = 0; i < 10; i++) assert_int_equal(add1(&s, 2 + i, &a, 0), TERN_LOCATOR_IGNORED_POLICY);
    assert_int_equal(tern_locator_set_count(&s), 1);
    /* preferred_address is not an SAA: the policy does not apply. */
    assert_int_equal(tern_locator_set_add_preferred_address(&s, &a, NULL, 0, NULL), TERN_LOCATOR_ADDED);
    /* A conflict with what is held is still found. */
    tern_addr b = A("198.18.0.3", 443);
    assert_int_equal(add1(&s, 0, &b, 0), TERN_LOCATOR_CONFLICT);
    assert_int_equal(add1(&s, 1, &a, 0), TERN_LOCATOR_DUPLICATE);
}

static void test_names(void **state)
{
    (void)state;
    static const char *states[] = {"unverified", "validating", "active", "deprecated", "failed"};
    for (int i = 0; i < 5; i++) assert_string_equal(tern_locator_state_name((tern_locator_state)i), states[i]);
    assert_int_equal(TERN_LOCATOR_UNVERIFIED, 0);
    assert_int_equal(TERN_LOCATOR_FAILED, 4);
    assert_string_equal(tern_locator_state_name((tern_locator_state)5), "unknown");
    static const char *reasons[] = {"handshake",  "preferred_address", "advertised", "probe_started",
                                    "validated",  "validation_timeout", "path_dead", "withdrawn",
                                    "superseded", "retired"};
    for (int i = 0; i < 10; i++) assert_string_equal(tern_locator_reason_name((tern_locator_reason)i), reasons[i]);
    assert_string_equal(tern_locator_reason_name((tern_locator_reason)10), "unknown");
    static const char *results[] = {"added", "duplicate",       "conflict",       "rate_limited",
                                    "full",  "refused_address", "ignored_policy", "invalid"};
    for (int i = 0; i < 8; i++)
        assert_string_equal(tern_locator_add_result_name((tern_locator_add_result)i), results[i]);
    assert_string_equal(tern_locator_add_result_name((tern_locator_add_result)8), "unknown");
    assert_string_equal(tern_locator_refusal_name(TERN_LOCATOR_REFUSE_LINK_LOCAL), "link_local");
    assert_string_equal(tern_locator_refusal_name((tern_locator_refusal)99), "unknown");
}

/* ---- learning ---- */

static void test_handshake_and_preferred_address(void **state)
{
    (void)state;
    tern_locator_policy p;
    tern_locator_policy_default(&p);
    p.saa_rate = 0;
    p.saa_burst = 1;
    tern_locator_set s;
    assert_int_equal(tern_locator_set_init(&s, &p), TERN_OK);
    tern_addr hs = A("2001:db8::1", 443);
    assert_int_equal(tern_locator_set_add_handshake(&s, &NONE, MS(1), NULL), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_locator_set_add_handshake(&s, NULL, MS(1), NULL), TERN_ERR_INVALID_ARGUMENT);
    tern_locator_change ch;
    assert_int_equal(tern_locator_set_add_handshake(&s, &hs, MS(1), &ch), TERN_OK);
    assert_int_equal(tern_locator_set_add_handshake(&s, &hs, MS(1), NULL), TERN_ERR_INVALID_STATE);
    assert_true(ch.sequence == 0 && ch.new_state == TERN_LOCATOR_ACTIVE && ch.old_state == TERN_LOCATOR_ACTIVE);
    assert_int_equal(ch.reason, TERN_LOCATOR_REASON_HANDSHAKE);
    const tern_locator *l = tern_locator_set_find(&s, 0);
    assert_int_equal(l->ipv4.family, TERN_AF_NONE);
    assert_true(addr_eq(&l->ipv6, &hs));
    assert_true(l->learned_at == MS(1) && l->validated_at == MS(1));
    assert_true(l->current && l->preferred);
    assert_ptr_equal(tern_locator_set_current(&s), l);
    assert_null(tern_locator_set_next_to_validate(&s, SEC(1)));

    /* The SAA token goes first; preferred_address is not rate limited. */
    tern_addr x = A("2001:db8::9", 443);
    assert_int_equal(add1(&s, 5, &x, MS(2)), TERN_LOCATOR_ADDED);
    assert_int_equal(add1(&s, 6, &x, MS(2)), TERN_LOCATOR_RATE_LIMITED);
    tern_addr p4 = A("224.0.0.9", 443), p6 = A("2001:db8::2", 8443);
    assert_int_equal(tern_locator_set_add_preferred_address(&s, &p4, &p6, MS(3), &ch), TERN_LOCATOR_ADDED);
    assert_true(ch.sequence == 1 && ch.new_state == TERN_LOCATOR_UNVERIFIED);
    assert_int_equal(ch.reason, TERN_LOCATOR_REASON_PREFERRED_ADDRESS);
    l = tern_locator_set_find(&s, 1);
    assert_int_equal(l->ipv4.family, TERN_AF_NONE); /* multicast dropped */
    assert_true(addr_eq(&l->ipv6, &p6));
    assert_true(l->learned_at == MS(3) && l->validated_at == TERN_TIME_INFINITE);
    assert_int_equal(tern_locator_set_add_preferred_address(&s, &p4, &p6, MS(4), NULL), TERN_LOCATOR_DUPLICATE);
    assert_int_equal(tern_locator_set_add_preferred_address(&s, NULL, &p6, MS(4), NULL), TERN_LOCATOR_CONFLICT);
    /* The SAA with sequence 1 is the same CID as preferred_address. */
    assert_int_equal(tern_locator_set_add_saa(&s, 1, &p4, &p6, MS(4), NULL), TERN_LOCATOR_DUPLICATE);
    /* Ascending order: 0, 1, 5. */
    tern_locator out[4];
    assert_int_equal(tern_locator_set_copy(&s, out, 4), 3);
    assert_true(out[0].sequence == 0 && out[1].sequence == 1 && out[2].sequence == 5);
}

static void test_invalid_adds(void **state)
{
    (void)state;
    tern_locator_set s;
    memset(&s, 0, sizeof s);
    tern_addr a4 = A("198.18.0.2", 443), a6 = A("2001:db8::2", 443);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &a4, NULL, 0, NULL), TERN_LOCATOR_INVALID); /* not init */
    assert_int_equal(tern_locator_set_add_saa(NULL, 2, &a4, NULL, 0, NULL), TERN_LOCATOR_INVALID);
    setup(&s, NULL, "198.18.0.1");
    tern_locator_change ch, sentinel;
    memset(&sentinel, 0xa5, sizeof sentinel);
    ch = sentinel;
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &a6, NULL, 0, &ch), TERN_LOCATOR_INVALID); /* v6 in v4 slot */
    assert_int_equal(tern_locator_set_add_saa(&s, 2, NULL, &a4, 0, &ch), TERN_LOCATOR_INVALID);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, NULL, NULL, 0, &ch), TERN_LOCATOR_INVALID);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &NONE, &NONE, 0, &ch), TERN_LOCATOR_INVALID);
    assert_int_equal(tern_locator_set_add_preferred_address(&s, NULL, NULL, 0, &ch), TERN_LOCATOR_INVALID);
    assert_memory_equal(&ch, &sentinel, sizeof ch);
    assert_int_equal(tern_locator_set_count(&s), 1);
    /* None of them spent a token: the burst of 4 is whole. */
    for (uint64_t i = 0; i < 4; i++) {
        tern_addr b = A("198.18.1.0", 443);
        b.ip[3] = (uint8_t)i;
        assert_int_equal(add1(&s, 10 + i, &b, 0), TERN_LOCATOR_ADDED);
    }
}

/* ---- bounds and rate limit ---- */

/* 10,000 SAA frames, one per millisecond, distinct sequences and addresses,
 * against the default policy (8 locators, 10/s, burst 4). */
static void test_flood_is_bounded(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "198.18.0.1");
    size_t added = 0, full = 0, limited = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        tern_addr a = A("198.18.0.0", 443);
        a.ip[2] = (uint8_t)(1 + i / 250);
        a.ip[3] = (uint8_t)(1 + i % 250);
        tern_locator_add_result r = add1(&s, 2 + i, &a, MS(i));
        if (r == TERN_LOCATOR_ADDED) added++;
        else if (r == TERN_LOCATOR_FULL) full++;
        else if (r == TERN_LOCATOR_RATE_LIMITED) limited++;
        else fail_msg("frame %u: %s", i, tern_locator_add_result_name(r));
        assert_true(tern_locator_set_count(&s) <= 8);
    }
    /* Tokens: the burst of 4 at t=0, then one per 100 ms up to 9.999 s: 99. */
    assert_int_equal(added + full, 4 + 99);
    assert_int_equal(added, 7); /* 8 with the handshake address */
    assert_int_equal(full, 96);
    assert_int_equal(limited, 10000 - 103);
    tern_locator out[TERN_LOCATOR_MAX];
    assert_int_equal(tern_locator_set_copy(&s, out, TERN_LOCATOR_MAX), 8);
    /* The first seven frames were kept (the burst, then t = 100..300 ms). */
    static const uint64_t kept[] = {0, 2, 3, 4, 5, 102, 202, 302};
    for (int i = 0; i < 8; i++) assert_true(out[i].sequence == kept[i]);

    /* The storage is the struct itself: a byte copy answers the same. */
    tern_locator_set copy;
    memcpy(&copy, &s, sizeof s);
    memset(&s, 0, sizeof s);
    assert_int_equal(tern_locator_set_count(&copy), 8);
    assert_true(tern_locator_set_preferred(&copy)->sequence == 302);

    /* Withdrawn locators make room again, oldest first. */
    assert_int_equal(tern_locator_set_deprecate(&copy, 3, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_deprecate(&copy, 2, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    tern_addr a = A("198.19.0.1", 443), b = A("198.19.0.2", 443), c = A("198.19.0.3", 443);
    assert_int_equal(add1(&copy, 20000, &a, SEC(20)), TERN_LOCATOR_ADDED);
    assert_null(tern_locator_set_find(&copy, 2));
    assert_non_null(tern_locator_set_find(&copy, 3));
    assert_int_equal(add1(&copy, 20001, &b, SEC(20)), TERN_LOCATOR_ADDED);
    assert_null(tern_locator_set_find(&copy, 3));
    assert_int_equal(add1(&copy, 20002, &c, SEC(20)), TERN_LOCATOR_FULL);
    assert_int_equal(tern_locator_set_count(&copy), 8);
}

/* A full set forgets DEPRECATED locators to make room, but never the one the
 * active path still uses. */
static void test_full_keeps_current(void **state)
{
    (void)state;
    tern_locator_policy p;
    tern_locator_policy_default(&p);
    p.max_locators = 3;
    tern_locator_set s;
    setup(&s, &p, "198.18.0.1");
    tern_addr a = A("198.18.0.2", 443), b = A("198.18.0.3", 443), c = A("198.18.0.4", 443);
    assert_int_equal(add1(&s, 2, &a, 0), TERN_LOCATOR_ADDED);
    assert_int_equal(add1(&s, 3, &b, 0), TERN_LOCATOR_ADDED);
    assert_int_equal(tern_locator_set_deprecate(&s, 0, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_int_equal(add1(&s, 4, &c, 0), TERN_LOCATOR_FULL);
    assert_non_null(tern_locator_set_find(&s, 0));
    assert_int_equal(tern_locator_set_deprecate(&s, 3, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_int_equal(add1(&s, 4, &c, 0), TERN_LOCATOR_ADDED);
    assert_null(tern_locator_set_find(&s, 3));
    assert_true(tern_locator_set_current(&s)->sequence == 0);
    assert_int_equal(tern_locator_set_count(&s), 3);
}

/* The bucket refills at exactly the configured rate: 10/s with a burst of 4,
 * one frame per millisecond for a second, room for all of them. */
static void test_rate_limit_counts_exactly(void **state)
{
    (void)state;
    tern_locator_policy p;
    tern_locator_policy_default(&p);
    p.max_locators = TERN_LOCATOR_MAX;
    tern_locator_set s;
    setup(&s, &p, "198.18.0.1");
    const tern_time t0 = SEC(50);
    uint64_t added_seq[16];
    size_t added = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        tern_addr a = A("198.18.7.0", 443);
        a.ip[2] = (uint8_t)(i >> 8);
        a.ip[3] = (uint8_t)i;
        tern_locator_add_result r = add1(&s, 2 + i, &a, t0 + MS(i));
        if (r == TERN_LOCATOR_ADDED) {
            assert_true(added < 16);
            added_seq[added++] = 2 + i;
        } else {
            assert_int_equal(r, TERN_LOCATOR_RATE_LIMITED);
        }
    }
    /* 4 at t0, then t0 + 100 ms, ..., t0 + 900 ms. */
    assert_int_equal(added, 13);
    for (size_t k = 0; k < 4; k++) assert_true(added_seq[k] == 2 + k);
    for (size_t k = 4; k < 13; k++) assert_true(added_seq[k] == 2 + 100 * (k - 3));
}

static void test_duplicate_vs_conflict(void **state)
{
    (void)state;
    tern_locator_policy p;
    tern_locator_policy_default(&p);
    p.saa_rate = 0;
    p.saa_burst = 2;
    tern_locator_set s;
    setup(&s, &p, "198.18.0.1");
    tern_addr a = A("198.18.0.2", 443), a_port = A("198.18.0.2", 444), b = A("198.18.0.3", 443);
    tern_addr v6 = A("2001:db8::2", 443);
    tern_locator_change ch, sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &a, NULL, MS(1), NULL), TERN_LOCATOR_ADDED);
    ch = sentinel;
    for (int i = 0; i < 5; i++)
        assert_int_equal(tern_locator_set_add_saa(&s, 2, &a, &NONE, MS(2), &ch), TERN_LOCATOR_DUPLICATE);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &b, NULL, MS(2), &ch), TERN_LOCATOR_CONFLICT);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &a_port, NULL, MS(2), &ch), TERN_LOCATOR_CONFLICT);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &a, &v6, MS(2), &ch), TERN_LOCATOR_CONFLICT);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, NULL, &v6, MS(2), &ch), TERN_LOCATOR_CONFLICT);
    /* Against the handshake address (sequence 0). */
    tern_addr hs = A("198.18.0.1", 443);
    assert_int_equal(tern_locator_set_add_saa(&s, 0, &hs, NULL, MS(2), &ch), TERN_LOCATOR_DUPLICATE);
    assert_int_equal(tern_locator_set_add_saa(&s, 0, &b, NULL, MS(2), &ch), TERN_LOCATOR_CONFLICT);
    assert_memory_equal(&ch, &sentinel, sizeof ch); /* no change reported */
    const tern_locator *l = tern_locator_set_find(&s, 2);
    assert_true(addr_eq(&l->ipv4, &a) && l->learned_at == MS(1));
    /* Duplicates and conflicts spent no token: the second one is left. */
    assert_int_equal(tern_locator_set_add_saa(&s, 3, &b, NULL, MS(3), NULL), TERN_LOCATOR_ADDED);
    tern_addr c = A("198.18.0.4", 443);
    assert_int_equal(tern_locator_set_add_saa(&s, 4, &c, NULL, MS(3), NULL), TERN_LOCATOR_RATE_LIMITED);
    /* With the bucket empty a conflict is still a conflict. */
    assert_int_equal(tern_locator_set_add_saa(&s, 3, &c, NULL, MS(3), NULL), TERN_LOCATOR_CONFLICT);
    assert_int_equal(tern_locator_set_add_saa(&s, 3, &b, NULL, MS(3), NULL), TERN_LOCATOR_DUPLICATE);
}

static void test_preferred_is_highest_sequence(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "198.18.0.1");
    assert_true(tern_locator_set_preferred(&s)->sequence == 0);
    static const uint64_t order[] = {5, 3, 9, 7};
    for (int i = 0; i < 4; i++) {
        tern_addr a = A("198.18.1.0", 443);
        a.ip[3] = (uint8_t)order[i];
        assert_int_equal(add1(&s, order[i], &a, MS(i)), TERN_LOCATOR_ADDED);
    }
    tern_locator out[8];
    assert_int_equal(tern_locator_set_copy(&s, out, 8), 5);
    static const uint64_t asc[] = {0, 3, 5, 7, 9};
    int preferred = 0;
    for (int i = 0; i < 5; i++) {
        assert_true(out[i].sequence == asc[i]);
        preferred += out[i].preferred;
    }
    assert_int_equal(preferred, 1);
    assert_true(out[4].preferred);
    assert_true(tern_locator_set_preferred(&s)->sequence == 9);
    /* A newer locator changes no older one. */
    for (int i = 1; i < 5; i++) assert_int_equal(out[i].state, TERN_LOCATOR_UNVERIFIED);
    assert_int_equal(out[0].state, TERN_LOCATOR_ACTIVE);
    assert_true(tern_locator_set_next_to_validate(&s, MS(10))->sequence == 9);

    /* Withdrawn: the next newest takes over (HIP §5.4 step 4). */
    assert_int_equal(tern_locator_set_deprecate(&s, 9, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_true(tern_locator_set_preferred(&s)->sequence == 7);
    assert_false(tern_locator_set_find(&s, 9)->preferred);
    /* Failed: stays preferred, nothing older is validated in its place. */
    assert_int_equal(tern_locator_set_start_validation(&s, 7, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_validation_failed(&s, 7, NULL), TERN_OK);
    assert_true(tern_locator_set_preferred(&s)->sequence == 7);
    assert_null(tern_locator_set_next_to_validate(&s, SEC(10)));
    assert_true(tern_locator_set_next_to_validate_at(&s) == TERN_TIME_INFINITE);
    /* A newer advertisement is followed again. */
    tern_addr n = A("198.18.2.1", 443);
    assert_int_equal(add1(&s, 11, &n, SEC(11)), TERN_LOCATOR_ADDED);
    assert_true(tern_locator_set_next_to_validate(&s, SEC(11))->sequence == 11);
    /* Validated newest: no validation, the caller switches to it. */
    assert_int_equal(tern_locator_set_start_validation(&s, 11, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_validated(&s, 11, SEC(12), NULL), TERN_OK);
    assert_null(tern_locator_set_next_to_validate(&s, SEC(12)));
    assert_true(tern_locator_set_find(&s, 11)->validated_at == SEC(12));
    /* Every one withdrawn: nothing preferred. */
    static const uint64_t all[] = {0, 3, 5, 7, 11};
    for (int i = 0; i < 5; i++)
        assert_int_equal(tern_locator_set_deprecate(&s, all[i], TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_null(tern_locator_set_preferred(&s));
}

/* ---- state machine ---- */

typedef enum op { OP_START, OP_VALIDATED, OP_FAILED, OP_PATH_DEAD, OP_DEPRECATE, OP_COUNT } op;

static tern_err run_op(tern_locator_set *s, op o, uint64_t seq, tern_locator_change *ch)
{
    switch (o) {
    case OP_START: return tern_locator_set_start_validation(s, seq, ch);
    case OP_VALIDATED: return tern_locator_set_validated(s, seq, SEC(9), ch);
    case OP_FAILED: return tern_locator_set_validation_failed(s, seq, ch);
    case OP_PATH_DEAD: return tern_locator_set_path_dead(s, seq, ch);
    case OP_DEPRECATE: return tern_locator_set_deprecate(s, seq, TERN_LOCATOR_REASON_WITHDRAWN, ch);
    case OP_COUNT: break;
    }
    return -1;
}

/* A set whose locator 2 is in `st`, reached through legal transitions. */
static void set_in_state(tern_locator_set *s, tern_locator_state st)
{
    setup(s, NULL, "198.18.0.1");
    tern_addr a = A("198.18.0.2", 443);
    assert_int_equal(add1(s, 2, &a, MS(1)), TERN_LOCATOR_ADDED);
    switch (st) {
    case TERN_LOCATOR_UNVERIFIED: break;
    case TERN_LOCATOR_VALIDATING: assert_int_equal(run_op(s, OP_START, 2, NULL), TERN_OK); break;
    case TERN_LOCATOR_ACTIVE:
        assert_int_equal(run_op(s, OP_START, 2, NULL), TERN_OK);
        assert_int_equal(run_op(s, OP_VALIDATED, 2, NULL), TERN_OK);
        break;
    case TERN_LOCATOR_FAILED:
        assert_int_equal(run_op(s, OP_START, 2, NULL), TERN_OK);
        assert_int_equal(run_op(s, OP_FAILED, 2, NULL), TERN_OK);
        break;
    case TERN_LOCATOR_DEPRECATED: assert_int_equal(run_op(s, OP_DEPRECATE, 2, NULL), TERN_OK); break;
    }
    assert_int_equal(state_of(s, 2), st);
}

static void test_every_transition(void **state)
{
    (void)state;
    /* legal[from][op]: the state reached, or -1 when refused. */
    enum { X = -1 };
    static const int legal[5][OP_COUNT] = {
        /* columns: START, VALIDATED, FAILED, PATH_DEAD, DEPRECATE */
        [TERN_LOCATOR_UNVERIFIED] = {TERN_LOCATOR_VALIDATING, X, X, X, TERN_LOCATOR_DEPRECATED},
        [TERN_LOCATOR_VALIDATING] = {X, TERN_LOCATOR_ACTIVE, TERN_LOCATOR_FAILED, X, TERN_LOCATOR_DEPRECATED},
        [TERN_LOCATOR_ACTIVE] = {X, X, X, TERN_LOCATOR_FAILED, TERN_LOCATOR_DEPRECATED},
        [TERN_LOCATOR_DEPRECATED] = {X, X, X, X, X},
        [TERN_LOCATOR_FAILED] = {X, X, X, X, TERN_LOCATOR_DEPRECATED},
    };
    static const tern_locator_reason reason[OP_COUNT] = {
        TERN_LOCATOR_REASON_PROBE_STARTED, TERN_LOCATOR_REASON_VALIDATED, TERN_LOCATOR_REASON_VALIDATION_TIMEOUT,
        TERN_LOCATOR_REASON_PATH_DEAD, TERN_LOCATOR_REASON_WITHDRAWN};
    int legal_seen = 0, refused_seen = 0;
    for (int from = 0; from < 5; from++) {
        for (int o = 0; o < OP_COUNT; o++) {
            tern_locator_set s;
            set_in_state(&s, (tern_locator_state)from);
            tern_locator before = *tern_locator_set_find(&s, 2);
            tern_locator_change ch, sentinel;
            memset(&sentinel, 0x77, sizeof sentinel);
            ch = sentinel;
            tern_err err = run_op(&s, (op)o, 2, &ch);
            const tern_locator *after = tern_locator_set_find(&s, 2);
            if (legal[from][o] == X) {
                if (err != TERN_ERR_INVALID_STATE)
                    fail_msg("%s: op %d accepted", tern_locator_state_name((tern_locator_state)from), o);
                assert_memory_equal(&before, after, sizeof before);
                assert_memory_equal(&ch, &sentinel, sizeof ch);
                refused_seen++;
            } else {
                assert_int_equal(err, TERN_OK);
                assert_int_equal(after->state, legal[from][o]);
                assert_int_equal(after->reason, reason[o]);
                assert_true(ch.sequence == 2);
                assert_int_equal(ch.old_state, from);
                assert_int_equal(ch.new_state, legal[from][o]);
                assert_int_equal(ch.reason, reason[o]);
                assert_true(addr_eq(&ch.ipv4, &after->ipv4) && addr_eq(&ch.ipv6, &after->ipv6));
                tern_time want_validated = after->state == TERN_LOCATOR_ACTIVE ? SEC(9) : before.validated_at;
                assert_true(after->validated_at == want_validated);
                legal_seen++;
            }
            /* Unknown sequence: an argument error for every operation. */
            ch = sentinel;
            assert_int_equal(run_op(&s, (op)o, 77, &ch), TERN_ERR_INVALID_ARGUMENT);
            assert_memory_equal(&ch, &sentinel, sizeof ch);
        }
    }
    assert_int_equal(legal_seen, 8);
    assert_int_equal(refused_seen, 17);
}

static void test_deprecate_reasons(void **state)
{
    (void)state;
    for (int r = 0; r <= TERN_LOCATOR_REASON_RETIRED; r++) {
        tern_locator_set s;
        set_in_state(&s, TERN_LOCATOR_ACTIVE);
        tern_err err = tern_locator_set_deprecate(&s, 2, (tern_locator_reason)r, NULL);
        bool ok = r == TERN_LOCATOR_REASON_WITHDRAWN || r == TERN_LOCATOR_REASON_SUPERSEDED ||
                  r == TERN_LOCATOR_REASON_RETIRED;
        assert_int_equal(err, ok ? TERN_OK : TERN_ERR_INVALID_ARGUMENT);
        assert_int_equal(state_of(&s, 2), ok ? TERN_LOCATOR_DEPRECATED : TERN_LOCATOR_ACTIVE);
        if (ok) assert_int_equal(tern_locator_set_find(&s, 2)->reason, r);
    }
}

static void test_one_validation_at_a_time(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "198.18.0.1");
    tern_addr a = A("198.18.0.2", 443), b = A("198.18.0.3", 443), c = A("198.18.0.4", 443);
    assert_int_equal(add1(&s, 2, &a, 0), TERN_LOCATOR_ADDED);
    assert_int_equal(add1(&s, 3, &b, 0), TERN_LOCATOR_ADDED);
    assert_int_equal(add1(&s, 4, &c, 0), TERN_LOCATOR_ADDED);
    assert_true(tern_locator_set_next_to_validate(&s, 0)->sequence == 4);
    assert_int_equal(tern_locator_set_start_validation(&s, 2, NULL), TERN_OK);
    assert_true(tern_locator_set_validating(&s)->sequence == 2);
    assert_null(tern_locator_set_next_to_validate(&s, SEC(100)));
    assert_true(tern_locator_set_next_to_validate_at(&s) == TERN_TIME_INFINITE);
    assert_int_equal(tern_locator_set_start_validation(&s, 3, NULL), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_locator_set_start_validation(&s, 4, NULL), TERN_ERR_INVALID_STATE);
    assert_int_equal(state_of(&s, 3), TERN_LOCATOR_UNVERIFIED);
    /* Each outcome frees the slot: validated, failed, withdrawn. */
    assert_int_equal(tern_locator_set_validated(&s, 2, SEC(1), NULL), TERN_OK);
    assert_null(tern_locator_set_validating(&s));
    assert_true(tern_locator_set_next_to_validate(&s, SEC(1))->sequence == 4);
    assert_int_equal(tern_locator_set_start_validation(&s, 3, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_start_validation(&s, 4, NULL), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_locator_set_validation_failed(&s, 3, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_start_validation(&s, 4, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_deprecate(&s, 4, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_null(tern_locator_set_validating(&s));
    tern_addr d = A("198.18.0.5", 443);
    assert_int_equal(add1(&s, 5, &d, SEC(2)), TERN_LOCATOR_ADDED);
    assert_int_equal(tern_locator_set_start_validation(&s, 5, NULL), TERN_OK);
}

/* The thundering-herd delay: the caller's not_before. */
static void test_follow_delay(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "198.18.0.1");
    assert_true(tern_locator_set_next_to_validate_at(&s) == TERN_TIME_INFINITE);
    tern_addr a = A("198.18.0.2", 443);
    assert_int_equal(add1(&s, 2, &a, SEC(1)), TERN_LOCATOR_ADDED);
    assert_true(tern_locator_set_next_to_validate_at(&s) == 0);
    assert_int_equal(tern_locator_set_defer(&s, 2, SEC(1) + MS(700)), TERN_OK);
    assert_true(tern_locator_set_next_to_validate_at(&s) == SEC(1) + MS(700));
    assert_null(tern_locator_set_next_to_validate(&s, SEC(1) + MS(700) - 1));
    assert_true(tern_locator_set_next_to_validate(&s, SEC(1) + MS(700))->sequence == 2);
    /* Failover does not wait: the path is dead already. */
    assert_true(tern_locator_set_failover(&s)->sequence == 2);
    assert_int_equal(tern_locator_set_defer(&s, 9, SEC(5)), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_locator_set_defer(&s, 0, SEC(5)), TERN_ERR_INVALID_STATE); /* ACTIVE */
    assert_int_equal(tern_locator_set_start_validation(&s, 2, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_defer(&s, 2, SEC(5)), TERN_ERR_INVALID_STATE);
}

static void test_failover_order(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "198.18.0.1");
    for (uint64_t seq = 2; seq <= 7; seq++) {
        tern_addr a = A("198.18.3.0", 443);
        a.ip[3] = (uint8_t)seq;
        assert_int_equal(add1(&s, seq, &a, MS(100 * seq)), TERN_LOCATOR_ADDED); /* within the rate */
    }
    /* 2 UNVERIFIED, 3 and 4 ACTIVE, 5 FAILED, 6 DEPRECATED, 7 UNVERIFIED. */
    static const uint64_t validate[] = {3, 4};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tern_locator_set_start_validation(&s, validate[i], NULL), TERN_OK);
        assert_int_equal(tern_locator_set_validated(&s, validate[i], SEC(1), NULL), TERN_OK);
    }
    assert_int_equal(tern_locator_set_start_validation(&s, 5, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_validation_failed(&s, 5, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_deprecate(&s, 6, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);

    assert_true(tern_locator_set_failover(&s)->sequence == 4); /* newest ACTIVE */
    /* Move to 4: the handshake address becomes a fallback. */
    tern_addr four = tern_locator_set_find(&s, 4)->ipv4;
    assert_int_equal(tern_locator_set_switch_to(&s, 4, &four), TERN_OK);
    assert_true(tern_locator_set_current(&s)->sequence == 4);
    assert_false(tern_locator_set_find(&s, 0)->current);
    assert_true(tern_locator_set_failover(&s)->sequence == 3);
    assert_int_equal(tern_locator_set_path_dead(&s, 4, NULL), TERN_OK);
    assert_true(tern_locator_set_failover(&s)->sequence == 3);
    assert_int_equal(tern_locator_set_deprecate(&s, 3, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_true(tern_locator_set_failover(&s)->sequence == 0);
    assert_int_equal(tern_locator_set_path_dead(&s, 0, NULL), TERN_OK);
    /* No ACTIVE fallback: the newest UNVERIFIED, never 5 (FAILED) or 6. */
    assert_true(tern_locator_set_failover(&s)->sequence == 7);
    assert_int_equal(tern_locator_set_start_validation(&s, 7, NULL), TERN_OK);
    assert_true(tern_locator_set_failover(&s)->sequence == 7); /* wait for it */
    assert_int_equal(tern_locator_set_validation_failed(&s, 7, NULL), TERN_OK);
    assert_true(tern_locator_set_failover(&s)->sequence == 2);
    assert_int_equal(tern_locator_set_deprecate(&s, 2, TERN_LOCATOR_REASON_RETIRED, NULL), TERN_OK);
    assert_null(tern_locator_set_failover(&s));
}

static void test_switch_to(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "127.0.0.1");
    tern_addr g4 = A("198.18.0.2", 443), g6 = A("2001:db8::2", 443), lo = A("127.0.0.3", 443);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &g4, &g6, 0, NULL), TERN_LOCATOR_ADDED);
    assert_int_equal(tern_locator_set_switch_to(&s, 2, &g6), TERN_ERR_INVALID_STATE); /* not validated */
    assert_int_equal(tern_locator_set_start_validation(&s, 2, NULL), TERN_OK);
    assert_int_equal(tern_locator_set_validated(&s, 2, SEC(1), NULL), TERN_OK);
    assert_int_equal(tern_locator_set_switch_to(&s, 2, &lo), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_locator_set_switch_to(&s, 2, NULL), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_locator_set_switch_to(&s, 9, &g6), TERN_ERR_INVALID_ARGUMENT);
    assert_true(tern_locator_set_current(&s)->sequence == 0);
    assert_int_equal(tern_locator_set_check_address(&s, &lo), TERN_LOCATOR_ACCEPTABLE);
    assert_int_equal(tern_locator_set_switch_to(&s, 2, &g6), TERN_OK);
    assert_true(tern_locator_set_current(&s)->sequence == 2);
    /* The loopback exemption followed the move away from loopback. */
    assert_int_equal(tern_locator_set_check_address(&s, &lo), TERN_LOCATOR_REFUSE_LOOPBACK);
    assert_int_equal(add1(&s, 3, &lo, SEC(2)), TERN_LOCATOR_REFUSED_ADDRESS);
    /* Back to the handshake address (still ACTIVE, a fallback). */
    tern_addr hs = A("127.0.0.1", 443);
    assert_int_equal(tern_locator_set_switch_to(&s, 0, &hs), TERN_OK);
    assert_int_equal(add1(&s, 3, &lo, SEC(2)), TERN_LOCATOR_ADDED);
    /* A deprecated current locator stays current, and is never forgotten. */
    assert_int_equal(tern_locator_set_deprecate(&s, 0, TERN_LOCATOR_REASON_WITHDRAWN, NULL), TERN_OK);
    assert_true(tern_locator_set_current(&s)->sequence == 0);
    assert_int_equal(tern_locator_set_switch_to(&s, 0, &hs), TERN_ERR_INVALID_STATE);
}

static void test_find_address_and_copy(void **state)
{
    (void)state;
    tern_locator_set s;
    setup(&s, NULL, "198.18.0.1");
    tern_addr a = A("198.18.0.2", 443), a6 = A("2001:db8::2", 443), other_port = A("198.18.0.2", 444);
    assert_int_equal(tern_locator_set_add_saa(&s, 2, &a, &a6, 0, NULL), TERN_LOCATOR_ADDED);
    assert_int_equal(tern_locator_set_add_saa(&s, 4, &a, NULL, 0, NULL), TERN_LOCATOR_ADDED);
    assert_true(tern_locator_set_find_address(&s, &a)->sequence == 4);
    assert_true(tern_locator_set_find_address(&s, &a6)->sequence == 2);
    assert_null(tern_locator_set_find_address(&s, &other_port));
    assert_null(tern_locator_set_find_address(&s, &NONE));
    assert_int_equal(tern_locator_set_deprecate(&s, 4, TERN_LOCATOR_REASON_SUPERSEDED, NULL), TERN_OK);
    assert_true(tern_locator_set_find_address(&s, &a)->sequence == 2);
    assert_int_equal(tern_locator_set_deprecate(&s, 2, TERN_LOCATOR_REASON_SUPERSEDED, NULL), TERN_OK);
    assert_true(tern_locator_set_find_address(&s, &a)->sequence == 4);
    tern_addr hs = A("198.18.0.1", 443);
    assert_true(tern_locator_set_find_address(&s, &hs)->sequence == 0);

    tern_locator out[2];
    memset(out, 0xee, sizeof out);
    assert_int_equal(tern_locator_set_copy(&s, out, 1), 3);
    assert_true(out[0].sequence == 0);
    assert_true(out[1].sequence == 0xeeeeeeeeeeeeeeeeULL); /* not written past max */
    assert_int_equal(tern_locator_set_copy(&s, NULL, 0), 3);
    assert_null(tern_locator_set_find(&s, 3));
}

/* ---- change records ---- */

#define LOG_MAX 64

typedef struct change_log {
    tern_locator_change rec[LOG_MAX];
    size_t n;
    size_t calls_ok, calls_refused;
} change_log;

static tern_locator_change sentinel_change(void)
{
    tern_locator_change c;
    memset(&c, 0x3c, sizeof c);
    return c;
}

/* Records the change of a successful call; a refused one must leave the
 * record untouched. */
static void note(change_log *log, bool ok, const tern_locator_change *ch)
{
    tern_locator_change sentinel = sentinel_change();
    if (!ok) {
        assert_memory_equal(ch, &sentinel, sizeof *ch);
        log->calls_refused++;
        return;
    }
    assert_memory_not_equal(ch, &sentinel, sizeof *ch);
    assert_true(log->n < LOG_MAX);
    log->rec[log->n++] = *ch;
    log->calls_ok++;
}

static bool learning(tern_locator_reason r)
{
    return r == TERN_LOCATOR_REASON_HANDSHAKE || r == TERN_LOCATOR_REASON_PREFERRED_ADDRESS ||
           r == TERN_LOCATOR_REASON_ADVERTISED;
}

static void test_change_records(void **state)
{
    (void)state;
    change_log log = {.n = 0};
    tern_locator_policy p;
    tern_locator_policy_default(&p);
    p.max_locators = 4;
    tern_locator_set s;
    assert_int_equal(tern_locator_set_init(&s, &p), TERN_OK);
    tern_locator_change ch;
    tern_addr hs = A("198.18.0.1", 443), pa = A("198.18.0.9", 443), mc = A("224.0.0.1", 443);
    tern_addr a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = A("198.18.4.0", 443);
        a[i].ip[3] = (uint8_t)(10 + i);
    }

#define CALL_ERR(expr)                                                                                            \
    do {                                                                                                          \
        ch = sentinel_change();                                                                                   \
        tern_err e_ = (expr);                                                                                     \
        note(&log, e_ == TERN_OK, &ch);                                                                           \
    } while (0)
#define CALL_ADD(expr)                                                                                            \
    do {                                                                                                          \
        ch = sentinel_change();                                                                                   \
        tern_locator_add_result r_ = (expr);                                                                      \
        note(&log, r_ == TERN_LOCATOR_ADDED, &ch);                                                                \
    } while (0)

    CALL_ERR(tern_locator_set_add_handshake(&s, &hs, 0, &ch));
    CALL_ERR(tern_locator_set_add_handshake(&s, &hs, 0, &ch));         /* refused: not empty */
    CALL_ADD(tern_locator_set_add_preferred_address(&s, &pa, NULL, MS(1), &ch));
    CALL_ADD(tern_locator_set_add_saa(&s, 2, &a[0], NULL, MS(2), &ch));
    CALL_ADD(tern_locator_set_add_saa(&s, 2, &a[0], NULL, MS(2), &ch)); /* duplicate */
    CALL_ADD(tern_locator_set_add_saa(&s, 2, &a[1], NULL, MS(2), &ch)); /* conflict */
    CALL_ADD(tern_locator_set_add_saa(&s, 3, &mc, NULL, MS(2), &ch));   /* refused address */
    CALL_ADD(tern_locator_set_add_saa(&s, 4, &a[2], NULL, MS(3), &ch));
    CALL_ADD(tern_locator_set_add_saa(&s, 5, &a[3], NULL, MS(4), &ch)); /* full */
    CALL_ERR(tern_locator_set_start_validation(&s, 4, &ch));
    CALL_ERR(tern_locator_set_start_validation(&s, 2, &ch));            /* one at a time */
    CALL_ERR(tern_locator_set_validated(&s, 2, MS(5), &ch));            /* not validating */
    CALL_ERR(tern_locator_set_validated(&s, 4, MS(5), &ch));
    /* A switch is not a state change: no record. */
    ch = sentinel_change();
    assert_int_equal(tern_locator_set_switch_to(&s, 4, &a[2]), TERN_OK);
    CALL_ERR(tern_locator_set_start_validation(&s, 1, &ch));
    CALL_ERR(tern_locator_set_validation_failed(&s, 1, &ch));
    CALL_ERR(tern_locator_set_validation_failed(&s, 1, &ch));           /* FAILED already */
    CALL_ERR(tern_locator_set_path_dead(&s, 4, &ch));
    CALL_ERR(tern_locator_set_deprecate(&s, 1, TERN_LOCATOR_REASON_RETIRED, &ch));
    CALL_ERR(tern_locator_set_deprecate(&s, 1, TERN_LOCATOR_REASON_RETIRED, &ch)); /* final */
    CALL_ERR(tern_locator_set_deprecate(&s, 0, TERN_LOCATOR_REASON_VALIDATED, &ch)); /* bad reason */
    CALL_ADD(tern_locator_set_add_saa(&s, 5, &a[3], NULL, SEC(1), &ch)); /* a token again; evicts 1 */
    CALL_ERR(tern_locator_set_deprecate(&s, 0, TERN_LOCATOR_REASON_WITHDRAWN, &ch));
    CALL_ERR(tern_locator_set_start_validation(&s, 5, &ch));

    /* 1 handshake + 4 adds + (start, validated) + (start, failed) + dead +
     * 2 deprecations + start = 13 changes; the switch is not one. */
    assert_int_equal(log.n, 13);
    assert_int_equal(log.calls_ok, 13);

    /* Replay: each record starts where the previous one of its locator
     * ended, the first one is a learning one, and the last one is the
     * locator's state now (none lost, none invented). */
    uint64_t seen[16];
    tern_locator_state last[16];
    tern_locator_reason last_reason[16];
    size_t nseen = 0;
    for (size_t i = 0; i < log.n; i++) {
        const tern_locator_change *c = &log.rec[i];
        size_t k = 0;
        while (k < nseen && seen[k] != c->sequence) k++;
        if (k == nseen) {
            assert_true(learning(c->reason));
            assert_int_equal(c->old_state, c->new_state);
            seen[nseen++] = c->sequence;
        } else {
            assert_false(learning(c->reason));
            assert_int_equal(c->old_state, last[k]);
        }
        last[k] = c->new_state;
        last_reason[k] = c->reason;
    }
    assert_int_equal(nseen, 5); /* 0, 1, 2, 4, 5 */
    tern_locator out[TERN_LOCATOR_MAX];
    size_t n = tern_locator_set_copy(&s, out, TERN_LOCATOR_MAX);
    assert_int_equal(n, 4); /* 1 was forgotten */
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < nseen && seen[k] != out[i].sequence) k++;
        assert_true(k < nseen);
        assert_int_equal(out[i].state, last[k]);
        assert_int_equal(out[i].reason, last_reason[k]);
    }
    assert_int_equal(state_of(&s, 0), TERN_LOCATOR_DEPRECATED);
    assert_int_equal(state_of(&s, 2), TERN_LOCATOR_UNVERIFIED);
    assert_int_equal(state_of(&s, 4), TERN_LOCATOR_FAILED);
    assert_int_equal(state_of(&s, 5), TERN_LOCATOR_VALIDATING);
    /* Record contents for one of them. */
    assert_true(log.rec[1].sequence == 1 && addr_eq(&log.rec[1].ipv4, &pa) && log.rec[1].ipv6.family == TERN_AF_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_checks),
        cmocka_unit_test(test_address_pair_keeps_the_fine_one),
        cmocka_unit_test(test_policy_defaults_and_checks),
        cmocka_unit_test(test_ignore_policy),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_handshake_and_preferred_address),
        cmocka_unit_test(test_invalid_adds),
        cmocka_unit_test(test_flood_is_bounded),
        cmocka_unit_test(test_full_keeps_current),
        cmocka_unit_test(test_rate_limit_counts_exactly),
        cmocka_unit_test(test_duplicate_vs_conflict),
        cmocka_unit_test(test_preferred_is_highest_sequence),
        cmocka_unit_test(test_every_transition),
        cmocka_unit_test(test_deprecate_reasons),
        cmocka_unit_test(test_one_validation_at_a_time),
        cmocka_unit_test(test_follow_delay),
        cmocka_unit_test(test_failover_order),
        cmocka_unit_test(test_switch_to),
        cmocka_unit_test(test_find_address_and_copy),
        cmocka_unit_test(test_change_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
