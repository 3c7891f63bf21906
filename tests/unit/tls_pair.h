/* Test helper: a tern_tls client and server wired back to back in memory.
 * Each endpoint records what its callbacks saw; tls_pair_pump moves CRYPTO
 * bytes level by level between them until neither has anything to say. */
#ifndef TERN_TESTS_TLS_PAIR_H
#define TERN_TESTS_TLS_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tls.h"

#define TLS_PAIR_OUT_CAP 32768
#define TLS_PAIR_TP_CAP 512
#define TLS_PAIR_TICKET_CAP 8192

typedef struct tls_endpoint {
    const char *name;
    tern_tls *tls;

    /* CRYPTO bytes produced and not yet delivered, per level. */
    uint8_t out[TERN_TLS_LEVEL_COUNT][TLS_PAIR_OUT_CAP];
    size_t out_len[TERN_TLS_LEVEL_COUNT];
    /* First bytes ever produced at each level (to inspect message types). */
    uint8_t first_out[TERN_TLS_LEVEL_COUNT][8];
    size_t total_out[TERN_TLS_LEVEL_COUNT];

    /* Secrets, per level and direction (0 read, 1 write). */
    bool have_secret[TERN_TLS_LEVEL_COUNT][2];
    uint8_t secret[TERN_TLS_LEVEL_COUNT][2][TERN_TLS_MAX_SECRET_LEN];
    size_t secret_len[TERN_TLS_LEVEL_COUNT][2];
    tern_tls_cipher secret_cipher[TERN_TLS_LEVEL_COUNT][2];

    /* Peer transport parameters and the verdict to return on them. */
    uint8_t peer_tp[TLS_PAIR_TP_CAP];
    size_t peer_tp_len;
    int peer_tp_calls;
    tern_err tp_verdict;

    int alerts;
    uint8_t last_alert;
    int completions;
    int keylog_lines;
    bool keylog_labels_ok; /* every line formatted and looked right */
    char keylog_last[TERN_TLS_KEYLOG_LINE_MAX];

    uint8_t ticket[TLS_PAIR_TICKET_CAP];
    size_t ticket_len;
    int tickets;

    tern_err last_error; /* first error returned by a tern_tls call */
} tls_endpoint;

static inline tern_err tls_pair_on_secret(void *owner, tern_tls_level level, tern_tls_direction direction,
                                          tern_tls_cipher cipher, const uint8_t *secret, size_t len)
{
    tls_endpoint *ep = owner;
    if (len > TERN_TLS_MAX_SECRET_LEN) return TERN_ERR_INVALID_ARGUMENT;
    ep->have_secret[level][direction] = true;
    memcpy(ep->secret[level][direction], secret, len);
    ep->secret_len[level][direction] = len;
    ep->secret_cipher[level][direction] = cipher;
    return TERN_OK;
}

static inline tern_err tls_pair_on_crypto_data(void *owner, tern_tls_level level, const uint8_t *data, size_t len)
{
    tls_endpoint *ep = owner;
    if (ep->out_len[level] + len > TLS_PAIR_OUT_CAP) return TERN_CRYPTO_BUFFER_EXCEEDED;
    memcpy(ep->out[level] + ep->out_len[level], data, len);
    ep->out_len[level] += len;
    for (size_t i = 0; i < len && ep->total_out[level] + i < sizeof ep->first_out[level]; i++)
        ep->first_out[level][ep->total_out[level] + i] = data[i];
    ep->total_out[level] += len;
    return TERN_OK;
}

static inline void tls_pair_on_alert(void *owner, uint8_t alert)
{
    tls_endpoint *ep = owner;
    ep->alerts++;
    ep->last_alert = alert;
}

static inline tern_err tls_pair_on_peer_tp(void *owner, const uint8_t *data, size_t len)
{
    tls_endpoint *ep = owner;
    ep->peer_tp_calls++;
    if (len > TLS_PAIR_TP_CAP) return TERN_TRANSPORT_PARAMETER_ERROR;
    memcpy(ep->peer_tp, data, len);
    ep->peer_tp_len = len;
    return ep->tp_verdict;
}

static inline void tls_pair_on_complete(void *owner) { ((tls_endpoint *)owner)->completions++; }

static inline void tls_pair_on_ticket(void *owner, const uint8_t *data, size_t len)
{
    tls_endpoint *ep = owner;
    ep->tickets++;
    if (len <= TLS_PAIR_TICKET_CAP) {
        memcpy(ep->ticket, data, len);
        ep->ticket_len = len;
    }
}

static inline void tls_pair_keylog(void *owner, const char *label, const uint8_t *client_random,
                                   const uint8_t *secret, size_t secret_len)
{
    tls_endpoint *ep = owner;
    size_t n = tern_tls_keylog_format(ep->keylog_last, sizeof ep->keylog_last, label, client_random, secret,
                                      secret_len);
    if (ep->keylog_lines == 0) ep->keylog_labels_ok = true;
    if (n == 0 || strncmp(ep->keylog_last, label, strlen(label)) != 0) ep->keylog_labels_ok = false;
    ep->keylog_lines++;
}

static const tern_tls_callbacks tls_pair_callbacks = {
    .on_secret = tls_pair_on_secret,
    .on_crypto_data = tls_pair_on_crypto_data,
    .on_alert = tls_pair_on_alert,
    .on_peer_transport_params = tls_pair_on_peer_tp,
    .on_handshake_complete = tls_pair_on_complete,
    .on_session_ticket = tls_pair_on_ticket,
    .keylog = tls_pair_keylog,
};

static inline void tls_endpoint_init(tls_endpoint *ep, const char *name)
{
    memset(ep, 0, sizeof *ep);
    ep->name = name;
}

/* Delivers everything `from` has produced to `to`, lowest level first, in
 * chunks of at most `chunk` bytes. Returns whether anything moved. */
static inline bool tls_pair_deliver(tls_endpoint *from, tls_endpoint *to, size_t chunk)
{
    bool moved = false;
    static uint8_t pending[TLS_PAIR_OUT_CAP];
    for (int level = 0; level < TERN_TLS_LEVEL_COUNT; level++) {
        size_t len = from->out_len[level];
        if (len == 0) continue;
        memcpy(pending, from->out[level], len);
        from->out_len[level] = 0;
        moved = true;
        for (size_t off = 0; off < len && !to->last_error;) {
            size_t take = len - off < chunk ? len - off : chunk;
            to->last_error = tern_tls_provide_data(to->tls, (tern_tls_level)level, pending + off, take);
            off += take;
        }
    }
    return moved;
}

/* Runs the exchange to quiescence or until either side fails. */
static inline void tls_pair_pump(tls_endpoint *client, tls_endpoint *server, size_t chunk)
{
    for (int round = 0; round < 64; round++) {
        bool moved = tls_pair_deliver(client, server, chunk);
        moved |= tls_pair_deliver(server, client, chunk);
        if (!moved || client->last_error || server->last_error) return;
    }
}

#endif
