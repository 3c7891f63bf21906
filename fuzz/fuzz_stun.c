/* Fuzzes the STUN codec and the TURN client's receive path (io/stun.c,
 * io/turn_client.c): the input is one datagram from the TURN server. Every
 * field stun_decode reports must lie inside the datagram; integrity and
 * fingerprint checks must not read past it; a client in each interesting
 * state must classify it without crashing, and data it reports must point
 * into the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "stun.h"
#include "turn_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) abort();
}

static void inside(const uint8_t *buf, size_t len, const stun_bytes *b)
{
    if (!b->p) return;
    check(b->p >= buf && b->len <= len && b->p + b->len <= buf + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy whose end ASan watches. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    stun_msg m;
    if (stun_decode(buf, size, &m) == STUN_ERR_OK) {
        check(m.len <= size && m.len >= STUN_HEADER_LEN && (m.len & 3) == 0);
        inside(buf, m.len, &m.username);
        inside(buf, m.len, &m.realm);
        inside(buf, m.len, &m.nonce);
        inside(buf, m.len, &m.software);
        inside(buf, m.len, &m.data);
        inside(buf, m.len, &m.error_reason);
        check(!m.integrity_at || m.integrity_at + 24 <= m.len);
        check(!m.fingerprint_at || m.fingerprint_at + 8 <= m.len);
        stun_check_integrity(&m, (const uint8_t *)"key", 3);
        stun_check_fingerprint(&m);
    }
    uint16_t ch;
    const uint8_t *p;
    size_t pl;
    if (stun_channel_data_decode(buf, size, &ch, &p, &pl) == STUN_ERR_OK) check(p + pl <= buf + size);

    /* The client, allocating (401 round pending) and allocated with a
     * channel: the input arrives from the server. */
    static turn_client tc;
    tern_addr server, peer;
    io_addr_parse("198.18.0.3:3478", &server);
    io_addr_parse("198.18.0.2:4433", &peer);
    turn_client_config cfg = {.server = server, .username = "u", .password = "p"};
    for (int round = 0; round < 2; round++) {
        turn_client_init(&tc, &cfg);
        turn_client_start(&tc, 0);
        if (round == 1) {
            /* Pretend the allocation succeeded (no key: the fuzzer cannot
             * forge integrity, so exercise the unauthenticated paths). */
            tc.state = TURN_ALLOCATED;
            tc.alloc.active = false;
            io_addr_parse("198.18.0.3:50000", &tc.relayed);
            turn_client_add_peer(&tc, &peer, 0);
            tc.chans[0].bound = true;
            /* Let the fuzzer's transaction ID match the ChannelBind. */
            if (size >= 20) memcpy(tc.chans[0].txn.tid, buf + 8, STUN_TID_LEN);
        } else if (size >= 20) {
            memcpy(tc.alloc.tid, buf + 8, STUN_TID_LEN);
        }
        tern_addr from;
        turn_rx r = turn_client_on_datagram(&tc, &server, buf, size, 1, &from, &p, &pl);
        if (r == TURN_RX_DATA) check(p >= buf && p + pl <= buf + size);
        uint8_t out[TURN_TXN_BUF];
        while (turn_client_poll_send(&tc, out, sizeof out)) {
        }
        turn_client_on_timer(&tc, turn_client_next_timer(&tc));
        uint8_t wrapped[2048];
        turn_client_wrap(&tc, &peer, buf, size < 1500 ? size : 1500, wrapped, sizeof wrapped);
    }
    free(buf);
    return 0;
}
