/* Fuzzes the connection engine with frames that arrive inside correctly
 * protected packets: a client and a server connect over the simulator
 * (tests/harness), then the test hook test_inject (lib/conn.h) puts the
 * fuzzer's bytes as frames into packets one side sends to the other. The
 * simulation then runs for a bounded simulated time. Checked: no crash, leak
 * or undefined behaviour (sanitizers), the simulation ends, and a
 * connection closed locally carries a transport error code RFC 9000 §20.1
 * or RFC 9001 §4.8 defines (a peer's CONNECTION_CLOSE may carry anything).
 *
 * Input:
 *   byte 0: where the first chunk goes (mode % 6):
 *     0 1-RTT client->server    1 1-RTT server->client
 *     2 Initial client->server  3 Handshake client->server
 *     4 Initial server->client  5 Handshake server->client
 *     later chunks go into 1-RTT packets in the same direction;
 *   byte 1: bit 0: the receiver opens a bidirectional stream and sends
 *           data on it first; bit 1: the sender does; bit 2: both read
 *           what arrives on streams; bit 3: both sides send
 *           allow_server_migration; bits 4-7: ms of simulated time between
 *           chunks (x 4);
 *   then chunks: len (1 byte) | len bytes of frames, at most MAX_CHUNKS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CHUNKS 8

typedef struct run {
    int mode;
    bool read_streams;
    const uint8_t *first;
    size_t first_len;
} run;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_conn_frames: invariant broken: %s\n", what);
        abort();
    }
}

static void set_inject(tern_conn *c, int space, const uint8_t *bytes, size_t len)
{
    if (!c || len == 0 || len > sizeof c->test_inject) return;
    memcpy(c->test_inject, bytes, len);
    c->test_inject_len = len;
    c->test_inject_space = space;
    c->spaces[space].ping_pending = true; /* send a packet of that space now */
}

static void on_event(h_pair *p, bool is_client, const tern_event *ev)
{
    run *r = p->user;
    h_side *side = is_client ? &p->client : &p->server;
    /* Server-sent handshake frames: the server's connection exists from its
     * first Initial on, before it sends anything. */
    if (!is_client && ev->type == TERN_EVENT_CONN_NEW && (r->mode == 4 || r->mode == 5))
        set_inject(ev->conn, r->mode == 4 ? TERN_RECOVERY_SPACE_INITIAL : TERN_RECOVERY_SPACE_HANDSHAKE, r->first,
                   r->first_len);
    if (r->read_streams && ev->type == TERN_EVENT_STREAM_READABLE && side->conn) {
        static uint8_t buf[4096];
        bool fin = false;
        tern_err err = TERN_OK;
        for (int i = 0; i < 64; i++)
            if (tern_conn_stream_read(side->conn, ev->stream_id, buf, sizeof buf, &fin, &err) == 0) break;
    }
}

static void check_close(const h_side *side, const char *name)
{
    if (getenv("TERN_FUZZ_VERBOSE"))
        fprintf(stderr, "%-6s handshake %d closed %d code 0x%llx app %d by_peer %d (%s)\n",
                name, side->handshake_done, side->closed,
                (unsigned long long)side->close_code, side->close_app, side->closed_by_peer, side->close_reason);
    if (!side->closed || side->closed_by_peer) return;
    if (side->close_app) return;
    uint64_t code = side->close_code;
    check(code <= TERN_NO_VIABLE_PATH || (code >= TERN_CRYPTO_ERROR_BASE && code <= TERN_CRYPTO_ERROR_BASE + 0xff),
          "locally chosen close code is not a transport error");
}

static void open_and_send(h_side *side, tern_time now)
{
    static uint8_t payload[3000];
    uint64_t id;
    if (!side->conn || tern_conn_stream_open(side->conn, true, &id) != TERN_OK) return;
    tern_err err = TERN_OK;
    (void)tern_conn_stream_write(side->conn, id, payload, sizeof payload, false, &err);
    (void)now;
    h_kick(side->node);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    run r = {.mode = data[0] % 6, .read_streams = data[1] & 4};
    tern_time gap = TERN_MS(4 * (data[1] >> 4) + 1);
    const uint8_t *chunks[MAX_CHUNKS];
    size_t lens[MAX_CHUNKS], n = 0, pos = 2;
    while (n < MAX_CHUNKS && pos < size) {
        size_t len = data[pos++];
        if (len > size - pos) len = size - pos;
        chunks[n] = data + pos;
        lens[n++] = len;
        pos += len;
    }
    if (n == 0) return 0;
    r.first = chunks[0];
    r.first_len = lens[0];

    tern_config cc, sc;
    h_client_config(&cc);
    h_server_config(&sc);
    cc.server_migration = sc.server_migration = data[1] & 8;
    h_pair *p = h_pair_new(1, TERN_MS(5), 0, 0.0, &cc, &sc);
    p->on_event = on_event;
    p->user = &r;
    bool from_client = r.mode == 0 || r.mode == 2 || r.mode == 3;
    size_t next = 0;
    if (r.mode == 2 || r.mode == 3) {
        tern_conn *c = NULL;
        if (tern_endpoint_connect(p->client.node->ep, &p->caddr, &p->saddr, "localhost", NULL, 0, sim_now(p->s),
                                  &c) != TERN_OK)
            abort();
        p->client.conn = c;
        set_inject(c, r.mode == 2 ? TERN_RECOVERY_SPACE_INITIAL : TERN_RECOVERY_SPACE_HANDSHAKE, r.first,
                   r.first_len);
        if (r.mode == 3) c->spaces[TERN_RECOVERY_SPACE_HANDSHAKE].ping_pending = false;
        h_kick(p->client.node);
        next = 1;
    } else {
        h_pair_connect(p);
        if (r.mode >= 4) next = 1;
    }
    bool established = h_pair_run_handshake(p, sim_now(p->s) + TERN_SEC(3));
    h_side *sender = from_client ? &p->client : &p->server;
    h_side *receiver = from_client ? &p->server : &p->client;
    if (established) {
        if (data[1] & 1) open_and_send(receiver, sim_now(p->s));
        if (data[1] & 2) open_and_send(sender, sim_now(p->s));
        sim_run_until(p->s, sim_now(p->s) + TERN_MS(30));
        for (; next < n && sender->conn && receiver->conn; next++) {
            set_inject(sender->conn, TERN_RECOVERY_SPACE_APPLICATION, chunks[next], lens[next]);
            h_kick(sender->node);
            sim_run_until(p->s, sim_now(p->s) + gap);
        }
    }
    /* Long enough for closing and draining (3 PTO) to finish. */
    sim_run_until(p->s, sim_now(p->s) + TERN_SEC(2));
    check_close(&p->client, "client");
    check_close(&p->server, "server");
    h_pair_free(p);
    return 0;
}
