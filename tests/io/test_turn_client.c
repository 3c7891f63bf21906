/* The sans-IO TURN client (io/turn_client.c) against a scripted fake relay:
 * 401 -> authenticated Allocate -> success, Refresh timing, 438 -> retry,
 * permissions and channels, ChannelData and indications both ways,
 * retransmission and give-up, relay errors, deallocation, malformed input.
 * No sockets: datagrams are passed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "stun.h"
#include "turn_client.h"

static tern_addr SERVER, RELAYED, MAPPED, PEER, PEER2;
static const char REALM[] = "tern.test";

static void setup_addrs(void)
{
    io_addr_parse("198.18.0.3:3478", &SERVER);
    io_addr_parse("198.18.0.3:50000", &RELAYED);
    io_addr_parse("198.18.0.4:40000", &MAPPED);
    io_addr_parse("198.18.0.2:4433", &PEER);
    io_addr_parse("198.18.0.2:5555", &PEER2);
}

static void init_client(turn_client *tc, const char *pass)
{
    setup_addrs();
    turn_client_config cfg = {.server = SERVER, .username = "u", .password = pass, .software = "tern-test"};
    assert_int_equal(turn_client_init(tc, &cfg), 0);
    assert_int_equal(turn_client_state(tc), TURN_IDLE);
}

/* The next request the client wants to send, decoded into *m (buf keeps the
 * bytes). */
static size_t next_request(turn_client *tc, uint8_t *buf, size_t cap, stun_msg *m)
{
    size_t n = turn_client_poll_send(tc, buf, cap);
    assert_true(n > 0);
    assert_int_equal(stun_decode(buf, n, m), STUN_ERR_OK);
    assert_int_equal(m->cls, STUN_REQUEST);
    assert_int_equal(stun_check_fingerprint(m), STUN_ERR_OK);
    return n;
}

static void key_for(const char *pass, uint8_t key[16])
{
    assert_int_equal(stun_long_term_key("u", REALM, strlen(REALM), pass, key), 0);
}

/* Fake relay: answers req. code 0: success (with method-specific
 * attributes, integrity with key); otherwise an error response with REALM
 * and NONCE. */
static size_t answer(const stun_msg *req, unsigned code, const char *nonce, const uint8_t *key, uint32_t lifetime,
                     uint8_t *out, size_t cap)
{
    stun_writer w;
    stun_w_init(&w, out, cap, req->method, code ? STUN_ERROR_RESPONSE : STUN_SUCCESS, req->tid);
    if (code) {
        stun_w_error(&w, (uint16_t)code, code == 401 ? "Unauthorized" : code == 438 ? "Stale Nonce" : "");
        stun_w_attr(&w, STUN_ATTR_REALM, REALM, strlen(REALM));
        if (nonce) stun_w_attr(&w, STUN_ATTR_NONCE, nonce, strlen(nonce));
        if (key && code != 401 && code != 438) stun_w_integrity(&w, key, 16);
    } else {
        if (req->method == STUN_ALLOCATE) {
            stun_w_xor_addr(&w, STUN_ATTR_XOR_RELAYED_ADDRESS, &RELAYED);
            stun_w_xor_addr(&w, STUN_ATTR_XOR_MAPPED_ADDRESS, &MAPPED);
        }
        if (req->method == STUN_ALLOCATE || req->method == STUN_REFRESH) stun_w_u32(&w, STUN_ATTR_LIFETIME, lifetime);
        stun_w_attr(&w, STUN_ATTR_SOFTWARE, "fake relay", 10);
        if (key) stun_w_integrity(&w, key, 16);
    }
    stun_w_fingerprint(&w);
    int n = stun_w_finish(&w);
    assert_true(n > 0);
    return (size_t)n;
}

static turn_rx feed(turn_client *tc, const uint8_t *b, size_t n, tern_time now)
{
    tern_addr peer;
    const uint8_t *p;
    size_t pl;
    return turn_client_on_datagram(tc, &SERVER, b, n, now, &peer, &p, &pl);
}

/* Drives the client to TURN_ALLOCATED with nonce "n1" at time now. */
static void allocate(turn_client *tc, const char *pass, tern_time now)
{
    uint8_t req[600], resp[600], key[16];
    stun_msg m;
    init_client(tc, pass);
    assert_int_equal(turn_client_start(tc, now), 0);
    next_request(tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_ALLOCATE);
    assert_int_equal(m.integrity_at, 0); /* first request: no credentials */
    assert_true(m.has_requested_transport && m.requested_transport == 17);
    assert_int_equal(turn_client_poll_send(tc, req, sizeof req), 0);
    size_t n = answer(&m, 401, "n1", NULL, 0, resp, sizeof resp);
    assert_int_equal(feed(tc, resp, n, now), TURN_RX_CONTROL);
    /* Authenticated retry: new transaction, USERNAME/REALM/NONCE, integrity. */
    uint8_t old_tid[STUN_TID_LEN];
    memcpy(old_tid, m.tid, sizeof old_tid);
    next_request(tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_ALLOCATE);
    assert_memory_not_equal(m.tid, old_tid, STUN_TID_LEN);
    assert_memory_equal(m.username.p, "u", 1);
    assert_memory_equal(m.realm.p, REALM, strlen(REALM));
    assert_memory_equal(m.nonce.p, "n1", 2);
    key_for("p", key);
    assert_int_equal(stun_check_integrity(&m, key, 16), strcmp(pass, "p") ? STUN_ERR_INTEGRITY : STUN_ERR_OK);
}

static void finish_allocate(turn_client *tc, tern_time now)
{
    uint8_t resp[600], key[16];
    stun_msg m;
    key_for("p", key);
    /* allocate() took the authenticated Allocate: answer the transaction
     * in flight. */
    memset(&m, 0, sizeof m);
    m.method = STUN_ALLOCATE;
    memcpy(m.tid, tc->alloc.tid, STUN_TID_LEN);
    size_t n = answer(&m, 0, NULL, key, 600, resp, sizeof resp);
    assert_int_equal(feed(tc, resp, n, now), TURN_RX_CONTROL);
    assert_int_equal(turn_client_state(tc), TURN_ALLOCATED);
    assert_true(io_addr_equal(turn_client_relayed_addr(tc), &RELAYED));
    assert_true(io_addr_equal(turn_client_mapped_addr(tc), &MAPPED));
}

static void test_allocate_refresh_stale_nonce(void **state)
{
    (void)state;
    static turn_client tc;
    uint8_t req[600], resp[600], key[16];
    stun_msg m;
    key_for("p", key);
    tern_time t0 = TERN_SEC(100);
    allocate(&tc, "p", t0);
    /* A success without valid integrity is ignored (forged or corrupted). */
    memset(&m, 0, sizeof m);
    m.method = STUN_ALLOCATE;
    memcpy(m.tid, tc.alloc.tid, STUN_TID_LEN);
    uint8_t wrong[16] = {0};
    size_t n = answer(&m, 0, NULL, wrong, 600, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, t0), TURN_RX_IGNORED);
    assert_int_equal(turn_client_state(&tc), TURN_ALLOCATING);
    finish_allocate(&tc, t0 + TERN_MS(10));
    tern_time ta = t0 + TERN_MS(10);
    /* Refresh at 80 % of the 600 s lifetime. */
    assert_int_equal(turn_client_next_timer(&tc), ta + TERN_SEC(480));
    turn_client_on_timer(&tc, ta + TERN_SEC(479));
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
    turn_client_on_timer(&tc, ta + TERN_SEC(480));
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_REFRESH);
    assert_true(m.has_lifetime && m.lifetime == 600);
    assert_int_equal(stun_check_integrity(&m, key, 16), STUN_ERR_OK);
    /* 438 Stale Nonce: retried at once with the new nonce. */
    n = answer(&m, 438, "n2", NULL, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, ta + TERN_SEC(480)), TURN_RX_CONTROL);
    assert_int_equal(turn_client_state(&tc), TURN_ALLOCATED);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_REFRESH);
    assert_memory_equal(m.nonce.p, "n2", 2);
    assert_int_equal(stun_check_integrity(&m, key, 16), STUN_ERR_OK);
    /* Granted 300 s this time: next refresh 240 s later. */
    n = answer(&m, 0, NULL, key, 300, resp, sizeof resp);
    tern_time tr = ta + TERN_SEC(481);
    assert_int_equal(feed(&tc, resp, n, tr), TURN_RX_CONTROL);
    assert_int_equal(turn_client_next_timer(&tc), tr + TERN_SEC(240));
    /* A duplicate of that answer is ignored (no transaction). */
    assert_int_equal(feed(&tc, resp, n, tr), TURN_RX_IGNORED);

    /* Deallocation: Refresh with LIFETIME 0, then CLOSED. */
    turn_client_close(&tc, tr + TERN_SEC(1));
    assert_int_equal(turn_client_state(&tc), TURN_CLOSING);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_REFRESH);
    assert_true(m.has_lifetime && m.lifetime == 0);
    n = answer(&m, 0, NULL, key, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, tr + TERN_SEC(1)), TURN_RX_CONTROL);
    assert_int_equal(turn_client_state(&tc), TURN_CLOSED);
    assert_int_equal(turn_client_next_timer(&tc), TERN_TIME_INFINITE);
}

static void test_peers_and_data(void **state)
{
    (void)state;
    static turn_client tc;
    uint8_t req[600], resp[600], key[16], buf[2048];
    stun_msg m;
    key_for("p", key);
    tern_time t0 = TERN_SEC(1);
    allocate(&tc, "p", t0);
    /* Asked before the allocation exists: sent once allocated. */
    tern_addr ip_only = PEER;
    ip_only.port = 0;
    assert_int_equal(turn_client_add_permission(&tc, &ip_only, t0), 0);
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
    finish_allocate(&tc, t0);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_CREATE_PERMISSION);
    assert_true(m.has_xor_peer);
    assert_memory_equal(m.xor_peer.ip, PEER.ip, 4);
    size_t n = answer(&m, 0, NULL, key, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, t0), TURN_RX_CONTROL);

    /* Before a channel: Send indication. */
    assert_int_equal(turn_client_add_peer(&tc, &PEER, t0), 0);
    assert_int_equal(turn_client_add_peer(&tc, &PEER, t0), 0); /* idempotent */
    assert_false(turn_client_peer_bound(&tc, &PEER));
    const char payload[] = "quic packet";
    n = turn_client_wrap(&tc, &PEER, (const uint8_t *)payload, sizeof payload, buf, sizeof buf);
    assert_true(n > 0);
    stun_msg ind;
    assert_int_equal(stun_decode(buf, n, &ind), STUN_ERR_OK);
    assert_int_equal(ind.method, STUN_SEND);
    assert_int_equal(ind.cls, STUN_INDICATION);
    assert_true(io_addr_equal(&ind.xor_peer, &PEER));
    assert_int_equal(ind.data.len, sizeof payload);
    assert_memory_equal(ind.data.p, payload, sizeof payload);
    /* In-place wrapping: the payload already in the output buffer. */
    memcpy(buf + 100, payload, sizeof payload);
    n = turn_client_wrap(&tc, &PEER, buf + 100, sizeof payload, buf, sizeof buf);
    assert_int_equal(stun_decode(buf, n, &ind), STUN_ERR_OK);
    assert_memory_equal(ind.data.p, payload, sizeof payload);

    /* The permission for PEER's IP exists already: only a ChannelBind. */
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_CHANNEL_BIND);
    assert_true(m.has_channel && m.channel == 0x4000);
    assert_true(io_addr_equal(&m.xor_peer, &PEER));
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
    n = answer(&m, 0, NULL, key, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, t0), TURN_RX_CONTROL);
    assert_true(turn_client_peer_bound(&tc, &PEER));

    /* Bound: ChannelData, 4 bytes of overhead, in place too. */
    memcpy(buf + 4, payload, sizeof payload);
    n = turn_client_wrap(&tc, &PEER, buf + 4, sizeof payload, buf, sizeof buf);
    assert_int_equal(n, 4 + sizeof payload);
    assert_int_equal(buf[0], 0x40);
    assert_int_equal(buf[1], 0x00);
    assert_memory_equal(buf + 4, payload, sizeof payload);

    /* Inbound ChannelData, padded or not: data from PEER. */
    tern_addr from;
    const uint8_t *p;
    size_t pl;
    uint8_t cd[64] = {0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    assert_int_equal(turn_client_on_datagram(&tc, &SERVER, cd, 9, t0, &from, &p, &pl), TURN_RX_DATA);
    assert_true(io_addr_equal(&from, &PEER));
    assert_int_equal(pl, 5);
    assert_memory_equal(p, "hello", 5);
    assert_int_equal(turn_client_on_datagram(&tc, &SERVER, cd, 12, t0, &from, &p, &pl), TURN_RX_DATA);
    assert_int_equal(pl, 5);
    /* Unknown channel, truncated, or not from the server: ignored. */
    cd[1] = 0x07;
    assert_int_equal(turn_client_on_datagram(&tc, &SERVER, cd, 9, t0, &from, &p, &pl), TURN_RX_IGNORED);
    cd[1] = 0x00;
    assert_int_equal(turn_client_on_datagram(&tc, &SERVER, cd, 8, t0, &from, &p, &pl), TURN_RX_IGNORED);
    assert_int_equal(turn_client_on_datagram(&tc, &PEER, cd, 9, t0, &from, &p, &pl), TURN_RX_IGNORED);

    /* Inbound Data indication from another port of the peer. */
    uint8_t tid[STUN_TID_LEN] = {9};
    stun_writer w;
    stun_w_init(&w, buf, sizeof buf, STUN_DATA, STUN_INDICATION, tid);
    stun_w_xor_addr(&w, STUN_ATTR_XOR_PEER_ADDRESS, &PEER2);
    stun_w_attr(&w, STUN_ATTR_DATA, "abc", 3);
    n = (size_t)stun_w_finish(&w);
    assert_int_equal(turn_client_on_datagram(&tc, &SERVER, buf, n, t0, &from, &p, &pl), TURN_RX_DATA);
    assert_true(io_addr_equal(&from, &PEER2));
    assert_int_equal(pl, 3);
    assert_memory_equal(p, "abc", 3);

    /* Permission refreshed after 4 minutes, channel after 8. */
    tern_time tp = turn_client_next_timer(&tc);
    assert_int_equal(tp, t0 + TURN_PERMISSION_REFRESH);
    turn_client_on_timer(&tc, tp);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_CREATE_PERMISSION);
    n = answer(&m, 0, NULL, key, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, tp), TURN_RX_CONTROL);
    assert_int_equal(turn_client_next_timer(&tc), t0 + TURN_CHANNEL_REFRESH);
    /* The application keeps sending to PEER (it calls add_peer each time):
     * the channel stays in use and is refreshed. */
    assert_int_equal(turn_client_add_peer(&tc, &PEER, t0 + TERN_SEC(400)), 0);
    turn_client_on_timer(&tc, t0 + TURN_CHANNEL_REFRESH);
    /* The allocation refresh (480 s), the channel refresh and the second
     * permission refresh are all due now. */
    int refresh = 0, bind = 0, perm = 0;
    for (int i = 0; i < 3; i++) {
        next_request(&tc, req, sizeof req, &m);
        refresh += m.method == STUN_REFRESH;
        bind += m.method == STUN_CHANNEL_BIND;
        perm += m.method == STUN_CREATE_PERMISSION;
    }
    assert_int_equal(refresh, 1);
    assert_int_equal(bind, 1);
    assert_int_equal(perm, 1);
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);

    /* Garbage of all kinds is ignored, never a crash. */
    srand(7);
    for (int i = 0; i < 5000; i++) {
        uint8_t g[200];
        size_t gl = (size_t)(rand() % (int)sizeof g);
        for (size_t k = 0; k < gl; k++) g[k] = (uint8_t)rand();
        if (i % 3 == 0 && gl >= 20) g[0] = 0x01, g[1] = 0x03, g[4] = 0x21, g[5] = 0x12, g[6] = 0xa4, g[7] = 0x42;
        if (i % 3 == 1 && gl >= 4) g[0] = 0x40;
        turn_rx r = turn_client_on_datagram(&tc, &SERVER, g, gl, t0, &from, &p, &pl);
        assert_true(r == TURN_RX_IGNORED || r == TURN_RX_DATA);
        if (r == TURN_RX_DATA) assert_true(p >= g && p + pl <= g + gl);
    }
    assert_int_equal(turn_client_state(&tc), TURN_ALLOCATED);
}

/* Peers that go quiet are dropped; a refused ChannelBind is not fatal. */
static void test_idle_and_refused_peers(void **state)
{
    (void)state;
    static turn_client tc;
    uint8_t req[600], resp[600], key[16], buf[256];
    stun_msg m;
    key_for("p", key);
    tern_time t0 = TERN_SEC(1);
    allocate(&tc, "p", t0);
    finish_allocate(&tc, t0);
    assert_int_equal(turn_client_add_peer(&tc, &PEER, t0), 0);
    for (int i = 0; i < 2; i++) { /* CreatePermission, ChannelBind */
        next_request(&tc, req, sizeof req, &m);
        size_t n = answer(&m, 0, NULL, key, 0, resp, sizeof resp);
        assert_int_equal(feed(&tc, resp, n, t0), TURN_RX_CONTROL);
    }
    assert_true(turn_client_peer_bound(&tc, &PEER));
    /* 240 s: the permission is refreshed (its channel is alive). */
    turn_client_on_timer(&tc, t0 + TURN_PERMISSION_REFRESH);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_CREATE_PERMISSION);
    size_t n = answer(&m, 0, NULL, key, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, t0 + TURN_PERMISSION_REFRESH), TURN_RX_CONTROL);
    /* 480 s without traffic: channel and permission dropped, only the
     * allocation is refreshed. */
    tern_time t8 = t0 + TURN_CHANNEL_REFRESH;
    turn_client_on_timer(&tc, t8);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_REFRESH);
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
    assert_false(turn_client_peer_bound(&tc, &PEER));
    n = turn_client_wrap(&tc, &PEER, (const uint8_t *)"x", 1, buf, sizeof buf);
    assert_true(n > 4 && buf[0] == 0x00 && buf[1] == 0x16); /* Send indication */
    /* Back: a new channel, not number 0x4000 (reserved for 15 minutes after
     * its last binding). */
    assert_int_equal(turn_client_add_peer(&tc, &PEER, t8 + TERN_SEC(1)), 0);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_CREATE_PERMISSION);
    next_request(&tc, req, sizeof req, &m);
    assert_int_equal(m.method, STUN_CHANNEL_BIND);
    assert_int_equal(m.channel, 0x4001);
    /* The server refuses it (400): reported, not fatal, not retried at
     * once; data goes in Send indications. */
    n = answer(&m, 400, NULL, key, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, t8 + TERN_SEC(1)), TURN_RX_CONTROL);
    assert_int_equal(turn_client_state(&tc), TURN_ALLOCATED);
    assert_int_equal(tc.peer_errors, 1);
    assert_non_null(strstr(tc.peer_error, "ChannelBind for 198.18.0.2:4433 refused: 400"));
    assert_int_equal(turn_client_add_peer(&tc, &PEER, t8 + TERN_SEC(2)), 0);
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
    n = turn_client_wrap(&tc, &PEER, (const uint8_t *)"x", 1, buf, sizeof buf);
    assert_true(n > 4 && buf[0] == 0x00 && buf[1] == 0x16);
}

static void test_retransmit_and_give_up(void **state)
{
    (void)state;
    static turn_client tc;
    uint8_t req[600];
    stun_msg m;
    init_client(&tc, "p");
    tern_time now = TERN_SEC(5);
    assert_int_equal(turn_client_start(&tc, now), 0);
    next_request(&tc, req, sizeof req, &m);
    uint8_t tid[STUN_TID_LEN];
    memcpy(tid, m.tid, sizeof tid);
    /* RFC 8489 §6.2.1: sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; failed
     * at 31.5 + 16 x 0.5 = 39.5 s. */
    const tern_time at[] = {TERN_MS(500), TERN_MS(1500), TERN_MS(3500), TERN_MS(7500), TERN_MS(15500),
                            TERN_MS(31500)};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        assert_int_equal(turn_client_next_timer(&tc), now + at[i]);
        turn_client_on_timer(&tc, now + at[i] - 1);
        assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
        turn_client_on_timer(&tc, now + at[i]);
        next_request(&tc, req, sizeof req, &m);
        assert_memory_equal(m.tid, tid, sizeof tid); /* same transaction */
    }
    assert_int_equal(turn_client_next_timer(&tc), now + TERN_MS(39500));
    turn_client_on_timer(&tc, now + TERN_MS(39500));
    assert_int_equal(turn_client_state(&tc), TURN_FAILED);
    assert_int_equal(turn_client_error(&tc), TURN_ERR_TIMEOUT);
    assert_non_null(strstr(turn_client_error_text(&tc), "TURN server 198.18.0.3:3478: no answer to its Allocate request (7 tries)"));
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
    assert_int_equal(turn_client_next_timer(&tc), TERN_TIME_INFINITE);
    assert_int_equal(tc.retransmissions, 6);
}

static void test_bad_credentials(void **state)
{
    (void)state;
    static turn_client tc;
    uint8_t req[600], resp[600];
    stun_msg m;
    allocate(&tc, "wrong", TERN_SEC(1));
    memset(&m, 0, sizeof m);
    m.method = STUN_ALLOCATE;
    memcpy(m.tid, tc.alloc.tid, STUN_TID_LEN);
    size_t n = answer(&m, 401, "n1", NULL, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, TERN_SEC(1)), TURN_RX_CONTROL);
    assert_int_equal(turn_client_state(&tc), TURN_FAILED);
    assert_int_equal(turn_client_error(&tc), TURN_ERR_BAD_CREDENTIALS);
    assert_non_null(strstr(turn_client_error_text(&tc), "refused the credentials"));
    assert_int_equal(turn_client_poll_send(&tc, req, sizeof req), 0);
}

static void relay_error(unsigned code, turn_error want, const char *text)
{
    static turn_client tc;
    uint8_t resp[600], key[16];
    stun_msg m;
    key_for("p", key);
    allocate(&tc, "p", TERN_SEC(1));
    memset(&m, 0, sizeof m);
    m.method = STUN_ALLOCATE;
    memcpy(m.tid, tc.alloc.tid, STUN_TID_LEN);
    size_t n = answer(&m, code, "n1", key, 0, resp, sizeof resp);
    assert_int_equal(feed(&tc, resp, n, TERN_SEC(1)), TURN_RX_CONTROL);
    assert_int_equal(turn_client_state(&tc), TURN_FAILED);
    assert_int_equal(turn_client_error(&tc), want);
    assert_non_null(strstr(turn_client_error_text(&tc), text));
}

static void test_relay_errors(void **state)
{
    (void)state;
    relay_error(486, TURN_ERR_QUOTA, "486");
    relay_error(508, TURN_ERR_CAPACITY, "508");
    relay_error(403, TURN_ERR_FORBIDDEN, "403");
    relay_error(500, TURN_ERR_SERVER, "500");
}

static void test_config_errors(void **state)
{
    (void)state;
    static turn_client tc;
    setup_addrs();
    turn_client_config cfg = {.server = SERVER, .username = "", .password = "p"};
    assert_int_equal(turn_client_init(&tc, &cfg), -1);
    assert_int_equal(turn_client_error(&tc), TURN_ERR_CONFIG);
    cfg.username = "u";
    cfg.server.family = TERN_AF_NONE;
    assert_int_equal(turn_client_init(&tc, &cfg), -1);
    /* Data before allocation, wrong family: not wrapped. */
    init_client(&tc, "p");
    uint8_t buf[64];
    assert_int_equal(turn_client_wrap(&tc, &PEER, (const uint8_t *)"x", 1, buf, sizeof buf), 0);
    tern_addr v6;
    io_addr_parse("[2001:db8::2]:1", &v6);
    assert_int_equal(turn_client_add_peer(&tc, &v6, 0), -1);
    /* Closing before allocating: CLOSED, nothing sent. */
    turn_client_close(&tc, 0);
    assert_int_equal(turn_client_state(&tc), TURN_CLOSED);
    assert_int_equal(turn_client_poll_send(&tc, buf, sizeof buf), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate_refresh_stale_nonce), cmocka_unit_test(test_peers_and_data),
        cmocka_unit_test(test_idle_and_refused_peers),
        cmocka_unit_test(test_retransmit_and_give_up),       cmocka_unit_test(test_bad_credentials),
        cmocka_unit_test(test_relay_errors),                 cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
