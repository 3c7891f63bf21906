/* TLS 1.3 handshake glue for QUIC over GnuTLS's QUIC interface (RFC 9001).
 *
 * GnuTLS runs the handshake without a transport: received CRYPTO data goes in
 * through gnutls_handshake_write(), handshake messages to send come out of
 * the "read function" hook, secrets out of the secret hook and alerts out of
 * the alert hook. The push/pull transport functions exist only to make any
 * stray transport use fail loudly. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "tls_internal.h"

/* TLS handshake message header: type (1) + length (3), RFC 8446 §4. */
#define HANDSHAKE_HEADER_LEN 4
#define HANDSHAKE_TYPE_NEW_SESSION_TICKET 4

struct tern_tls {
    tern_tls_config *cfg;
    tern_tls_callbacks cb;
    void *owner;
    gnutls_session_t session;

    bool started;
    bool complete;
    tern_err error;
    char error_text[256];

    bool has_local_tp;
    uint8_t *local_tp;
    size_t local_tp_len;
    bool peer_tp_received;
    /* Client: the server's parameters, kept for tickets (RFC 9000 §7.4.1). */
    uint8_t *peer_tp;
    size_t peer_tp_len;

    char *server_name;
    /* Client resumption: GnuTLS's session data and what our ticket wrapper
     * remembered with it. */
    uint8_t *resumption;
    size_t resumption_len;
    bool resumption_allows_early_data;
    uint8_t *remembered_tp;
    size_t remembered_tp_len;
    bool reject_early_data;
    bool early_attempted;
    bool ticket_allows_early_data; /* of the NewSessionTicket being processed */

    /* Application-level CRYPTO stream: where the next handshake message
     * starts, so its type can be checked before GnuTLS sees it. */
    uint8_t app_header[HANDSHAKE_HEADER_LEN];
    size_t app_header_len;
    size_t app_body_left;
};

/* ---- small helpers ----------------------------------------------------- */

static tern_tls_level level_from_gnutls(gnutls_record_encryption_level_t level)
{
    switch (level) {
    case GNUTLS_ENCRYPTION_LEVEL_INITIAL: return TERN_TLS_LEVEL_INITIAL;
    case GNUTLS_ENCRYPTION_LEVEL_EARLY: return TERN_TLS_LEVEL_EARLY;
    case GNUTLS_ENCRYPTION_LEVEL_HANDSHAKE: return TERN_TLS_LEVEL_HANDSHAKE;
    default: return TERN_TLS_LEVEL_APPLICATION;
    }
}

static gnutls_record_encryption_level_t level_to_gnutls(tern_tls_level level)
{
    switch (level) {
    case TERN_TLS_LEVEL_INITIAL: return GNUTLS_ENCRYPTION_LEVEL_INITIAL;
    case TERN_TLS_LEVEL_EARLY: return GNUTLS_ENCRYPTION_LEVEL_EARLY;
    case TERN_TLS_LEVEL_HANDSHAKE: return GNUTLS_ENCRYPTION_LEVEL_HANDSHAKE;
    default: return GNUTLS_ENCRYPTION_LEVEL_APPLICATION;
    }
}

static tern_tls_cipher cipher_from_gnutls(gnutls_cipher_algorithm_t cipher)
{
    switch (cipher) {
    case GNUTLS_CIPHER_AES_128_GCM: return TERN_TLS_AES_128_GCM_SHA256;
    case GNUTLS_CIPHER_AES_256_GCM: return TERN_TLS_AES_256_GCM_SHA384;
    case GNUTLS_CIPHER_CHACHA20_POLY1305: return TERN_TLS_CHACHA20_POLY1305_SHA256;
    default: return TERN_TLS_CIPHER_UNKNOWN;
    }
}

static bool is_crypto_error(tern_err err)
{
    return err >= TERN_CRYPTO_ERROR_BASE && err < TERN_CRYPTO_ERROR_BASE + 0x100;
}

static tern_err crypto_error(unsigned alert) { return TERN_CRYPTO_ERROR_BASE + (tern_err)(alert & 0xff); }

/* Records the first failure; later ones are consequences and are dropped.
 * A CRYPTO_ERROR is reported to the owner as the alert to send. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void tls_fail(tern_tls *tls, tern_err err, const char *fmt, ...)
{
    if (tls->error) return;
    tls->error = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls->error_text, sizeof tls->error_text, fmt, ap);
    va_end(ap);
    if (is_crypto_error(err) && tls->cb.on_alert) tls->cb.on_alert(tls->owner, (uint8_t)(err - TERN_CRYPTO_ERROR_BASE));
}

static void tls_fail_alert(tern_tls *tls, unsigned alert, const char *why)
{
    const char *name = gnutls_alert_get_name((gnutls_alert_description_t)alert);
    tls_fail(tls, crypto_error(alert), "%s (alert %u %s)", why, alert, name ? name : "?");
}

/* Maps a failed gnutls_handshake()/gnutls_handshake_write() to an alert. */
static void tls_fail_gnutls(tern_tls *tls, int ret)
{
    if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        unsigned status = gnutls_session_get_verify_cert_status(tls->session);
        unsigned alert = TERN_TLS_ALERT_BAD_CERTIFICATE;
        if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
            alert = TERN_TLS_ALERT_UNKNOWN_CA;
        else if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
            alert = TERN_TLS_ALERT_CERTIFICATE_EXPIRED;
        gnutls_datum_t text = {NULL, 0};
        char why[200];
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
            snprintf(why, sizeof why, "certificate verification failed: %s", (const char *)text.data);
            gnutls_free(text.data);
        } else {
            snprintf(why, sizeof why, "certificate verification failed");
        }
        tls_fail_alert(tls, alert, why);
        return;
    }
    int alert_level = 0;
    int alert = gnutls_error_to_alert(ret, &alert_level);
    if (alert < 0) alert = TERN_TLS_ALERT_INTERNAL_ERROR;
    char why[200];
    snprintf(why, sizeof why, "TLS handshake failed: %s", gnutls_strerror(ret));
    tls_fail_alert(tls, (unsigned)alert, why);
}

/* ---- session tickets --------------------------------------------------- */

/* The blob handed to on_session_ticket wraps GnuTLS's session data with
 * what the client must remember alongside it:
 *   "TRN1" | flags (1) | transport parameter length (2) | transport
 *   parameters | GnuTLS session data
 * flags bit 0: the ticket allows 0-RTT (it carried early_data, RFC 8446
 * §4.6.1). GnuTLS does not expose that for a stored session, and its client
 * would otherwise attempt 0-RTT with any TLS 1.3 ticket. The transport
 * parameters are the server's, which 0-RTT must honour (RFC 9000 §7.4.1). */
static const uint8_t TICKET_MAGIC[4] = {'T', 'R', 'N', '1'};
#define TICKET_HEADER_LEN 7
#define TICKET_FLAG_EARLY_DATA 0x01
#define TLS_EXT_EARLY_DATA 42

/* Reads the NewSessionTicket body (RFC 8446 §4.6.1). Returns false when
 * malformed; *early_data_allowed tells whether it carried early_data and
 * *max_early_data its value. */
static bool parse_new_session_ticket(const uint8_t *body, size_t len, bool *early_data_allowed,
                                     uint32_t *max_early_data)
{
    *early_data_allowed = false;
    *max_early_data = 0;
    size_t off = 8; /* ticket_lifetime, ticket_age_add */
    if (len < off + 1) return false;
    off += 1 + (size_t)body[off]; /* ticket_nonce<0..255> */
    if (len < off + 2) return false;
    off += 2 + (((size_t)body[off] << 8) | body[off + 1]); /* ticket<1..2^16-1> */
    if (len < off + 2) return false;
    size_t ext_end = off + 2 + (((size_t)body[off] << 8) | body[off + 1]);
    off += 2;
    if (ext_end > len) return false;
    while (off < ext_end) {
        if (ext_end - off < 4) return false;
        unsigned type = ((unsigned)body[off] << 8) | body[off + 1];
        size_t ext_len = ((size_t)body[off + 2] << 8) | body[off + 3];
        off += 4;
        if (ext_end - off < ext_len) return false;
        if (type == TLS_EXT_EARLY_DATA) {
            if (ext_len != 4) return false;
            *early_data_allowed = true;
            *max_early_data = ((uint32_t)body[off] << 24) | ((uint32_t)body[off + 1] << 16) |
                              ((uint32_t)body[off + 2] << 8) | body[off + 3];
        }
        off += ext_len;
    }
    return true;
}

/* ---- GnuTLS hooks ------------------------------------------------------ */

/* RFC 9001 §8.1 (ALPN) and §8.2 (transport parameters) are mandatory. The
 * server has seen the whole ClientHello by the time it derives any secret;
 * the client has seen EncryptedExtensions by the time it derives the
 * application secrets. */
static bool check_mandatory_extensions(tern_tls *tls, tern_tls_level level)
{
    bool is_server = tls->cfg->role == TERN_TLS_SERVER;
    if (!is_server && level != TERN_TLS_LEVEL_APPLICATION) return true;
    if (!tls->peer_tp_received) {
        tls_fail_alert(tls, TERN_TLS_ALERT_MISSING_EXTENSION, "peer sent no quic_transport_parameters");
        return false;
    }
    gnutls_datum_t alpn;
    if (gnutls_alpn_get_selected_protocol(tls->session, &alpn) < 0 || alpn.size == 0) {
        tls_fail_alert(tls, TERN_TLS_ALERT_NO_APPLICATION_PROTOCOL, "no ALPN protocol negotiated");
        return false;
    }
    return true;
}

static int on_gnutls_secret(gnutls_session_t session, gnutls_record_encryption_level_t gnutls_level,
                            const void *read_secret, const void *write_secret, size_t secret_len)
{
    tern_tls *tls = gnutls_session_get_ptr(session);
    tern_tls_level level = level_from_gnutls(gnutls_level);
    if (tls->error) return -1;
    if (!check_mandatory_extensions(tls, level)) return -1;
    /* The 0-RTT cipher is the resumed session's, not yet the negotiated one
     * (RFC 8446 §4.2.10). */
    tern_tls_cipher cipher = cipher_from_gnutls(level == TERN_TLS_LEVEL_EARLY ? gnutls_early_cipher_get(session)
                                                                             : gnutls_cipher_get(session));
    if (cipher == TERN_TLS_CIPHER_UNKNOWN) {
        tls_fail_alert(tls, TERN_TLS_ALERT_HANDSHAKE_FAILURE, "cipher suite unusable by QUIC");
        return -1;
    }
    if (secret_len > TERN_TLS_MAX_SECRET_LEN) {
        tls_fail_alert(tls, TERN_TLS_ALERT_INTERNAL_ERROR, "unexpected secret length");
        return -1;
    }
    const struct {
        const void *secret;
        tern_tls_direction direction;
    } secrets[2] = {{read_secret, TERN_TLS_READ}, {write_secret, TERN_TLS_WRITE}};
    for (size_t i = 0; i < 2; i++) {
        if (!secrets[i].secret) continue;
        if (level == TERN_TLS_LEVEL_EARLY && secrets[i].direction == TERN_TLS_WRITE) tls->early_attempted = true;
        tern_err err = tls->cb.on_secret(tls->owner, level, secrets[i].direction, cipher, secrets[i].secret,
                                         secret_len);
        if (err) {
            tls_fail(tls, err, "owner refused the %s %s secret", tern_tls_level_name(level),
                     secrets[i].direction == TERN_TLS_READ ? "read" : "write");
            return -1;
        }
    }
    return 0;
}

/* Despite the name, GnuTLS calls the "read function" with each handshake
 * message it wants to *send*, header included, at the level it must be
 * sent. */
static int on_gnutls_handshake_out(gnutls_session_t session, gnutls_record_encryption_level_t gnutls_level,
                                   gnutls_handshake_description_t type, const void *data, size_t len)
{
    tern_tls *tls = gnutls_session_get_ptr(session);
    if (tls->error) return -1;
    /* RFC 9001 §8.3: QUIC does not use EndOfEarlyData (GNUTLS_NO_END_OF_EARLY_DATA
     * already suppresses it; this is a belt). §8.4: no ChangeCipherSpec. */
    if (type == GNUTLS_HANDSHAKE_END_OF_EARLY_DATA || type == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC) return 0;
    tern_tls_level level = level_from_gnutls(gnutls_level);
    tern_err err = tls->cb.on_crypto_data(tls->owner, level, data, len);
    if (err) {
        tls_fail(tls, err, "owner refused %zu bytes of %s CRYPTO data", len, tern_tls_level_name(level));
        return -1;
    }
    return 0;
}

/* Alerts GnuTLS itself decides to send. In QUIC they become CONNECTION_CLOSE
 * with CRYPTO_ERROR (RFC 9001 §4.8); only fatal ones matter. */
static int on_gnutls_alert_out(gnutls_session_t session, gnutls_record_encryption_level_t level,
                               gnutls_alert_level_t alert_level, gnutls_alert_description_t alert)
{
    (void)level;
    tern_tls *tls = gnutls_session_get_ptr(session);
    if (alert_level == GNUTLS_AL_FATAL) tls_fail_alert(tls, (unsigned)alert, "TLS stack raised an alert");
    return 0;
}

static int on_gnutls_keylog(gnutls_session_t session, const char *label, const gnutls_datum_t *secret)
{
    tern_tls *tls = gnutls_session_get_ptr(session);
    gnutls_datum_t client_random, server_random;
    gnutls_session_get_random(session, &client_random, &server_random);
    if (tls->cb.keylog && client_random.size == TERN_TLS_CLIENT_RANDOM_LEN)
        tls->cb.keylog(tls->owner, label, client_random.data, secret->data, secret->size);
    return 0;
}

/* quic_transport_parameters (RFC 9001 §8.2), in ClientHello and
 * EncryptedExtensions. */
static int on_transport_params_send(gnutls_session_t session, gnutls_buffer_t out)
{
    tern_tls *tls = gnutls_session_get_ptr(session);
    if (!tls->has_local_tp) return 0; /* omitted: tests only */
    if (tls->local_tp_len == 0) return GNUTLS_E_INT_RET_0; /* present but empty */
    int ret = gnutls_buffer_append_data(out, tls->local_tp, tls->local_tp_len);
    return ret < 0 ? ret : (int)tls->local_tp_len;
}

static int on_transport_params_recv(gnutls_session_t session, const unsigned char *data, size_t len)
{
    tern_tls *tls = gnutls_session_get_ptr(session);
    if (tls->error) return GNUTLS_E_INTERNAL_ERROR;
    tls->peer_tp_received = true;
    if (tls->cfg->role == TERN_TLS_CLIENT) {
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) {
            tls_fail_alert(tls, TERN_TLS_ALERT_INTERNAL_ERROR, "out of memory");
            return GNUTLS_E_MEMORY_ERROR;
        }
        if (len) memcpy(copy, data, len);
        free(tls->peer_tp);
        tls->peer_tp = copy;
        tls->peer_tp_len = len;
    }
    tern_err err = tls->cb.on_peer_transport_params(tls->owner, data, len);
    if (err) {
        /* The connection closes with its own code (e.g.
         * TRANSPORT_PARAMETER_ERROR), so no alert is reported. */
        tls_fail(tls, err, "peer transport parameters rejected: %s", tern_err_name(err));
        return GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER;
    }
    return 0;
}

/* GnuTLS quirk: the POST hook's msg is only what its parser left over (the
 * empty extension list), so the ticket body is inspected in the PRE call and
 * the session serialized in the POST call, once GnuTLS has stored it. */
static int on_gnutls_new_session_ticket(gnutls_session_t session, unsigned type, unsigned when, unsigned incoming,
                                        const gnutls_datum_t *msg)
{
    tern_tls *tls = gnutls_session_get_ptr(session);
    if (type != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || !incoming) return 0;
    if (when == GNUTLS_HOOK_PRE) {
        uint32_t max_early_data;
        if (!parse_new_session_ticket(msg->data, msg->size, &tls->ticket_allows_early_data, &max_early_data)) {
            tls_fail_alert(tls, TERN_TLS_ALERT_DECODE_ERROR, "malformed NewSessionTicket");
            return GNUTLS_E_UNEXPECTED_PACKET_LENGTH;
        }
        /* RFC 9001 §4.6.1: any other max_early_data_size is a PROTOCOL_VIOLATION. */
        if (tls->ticket_allows_early_data && max_early_data != 0xffffffffu) {
            tls_fail(tls, TERN_PROTOCOL_VIOLATION, "NewSessionTicket max_early_data_size is %u, not 0xffffffff",
                     (unsigned)max_early_data);
            return GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER;
        }
        return 0;
    }
    const bool early_data_allowed = tls->ticket_allows_early_data;
    if (!tls->cb.on_session_ticket) return 0;
    gnutls_datum_t data = {NULL, 0};
    if (gnutls_session_get_data2(session, &data) < 0) return 0; /* a lost ticket is harmless */
    size_t tp_len = tls->peer_tp_len;
    size_t blob_len = TICKET_HEADER_LEN + tp_len + data.size;
    uint8_t *blob = malloc(blob_len);
    if (blob) {
        memcpy(blob, TICKET_MAGIC, sizeof TICKET_MAGIC);
        blob[4] = early_data_allowed ? TICKET_FLAG_EARLY_DATA : 0;
        blob[5] = (uint8_t)(tp_len >> 8);
        blob[6] = (uint8_t)tp_len;
        if (tp_len) memcpy(blob + TICKET_HEADER_LEN, tls->peer_tp, tp_len);
        memcpy(blob + TICKET_HEADER_LEN + tp_len, data.data, data.size);
        tls->cb.on_session_ticket(tls->owner, blob, blob_len);
        gnutls_memset(blob, 0, blob_len);
        free(blob);
    }
    gnutls_memset(data.data, 0, data.size);
    gnutls_free(data.data);
    return 0;
}

/* No transport: the handshake must never try to write to or read from one. */
static ssize_t transport_push_forbidden(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
    (void)data;
    (void)len;
    tern_tls *tls = ptr;
    tls_fail_alert(tls, TERN_TLS_ALERT_INTERNAL_ERROR, "GnuTLS tried to write to a transport");
    gnutls_transport_set_errno(tls->session, EIO);
    return -1;
}

static ssize_t transport_pull_nothing(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
    (void)data;
    (void)len;
    tern_tls *tls = ptr;
    gnutls_transport_set_errno(tls->session, EAGAIN);
    return -1;
}

static int transport_pull_timeout_nothing(gnutls_transport_ptr_t ptr, unsigned ms)
{
    (void)ptr;
    (void)ms;
    return 0;
}

/* ---- lifetime ---------------------------------------------------------- */

tern_err tern_tls_new(tern_tls **out, tern_tls_config *cfg, const tern_tls_callbacks *callbacks, void *owner)
{
    if (!out) return TERN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!cfg || !callbacks || !callbacks->on_secret || !callbacks->on_crypto_data ||
        !callbacks->on_peer_transport_params)
        return TERN_ERR_INVALID_ARGUMENT;
    tern_tls *tls = calloc(1, sizeof *tls);
    if (!tls) return TERN_ERR_NOMEM;
    tls->cfg = cfg;
    tls->cb = *callbacks;
    tls->owner = owner;
    *out = tls;
    return TERN_OK;
}

void tern_tls_free(tern_tls *tls)
{
    if (!tls) return;
    if (tls->session) gnutls_deinit(tls->session);
    free(tls->local_tp);
    free(tls->peer_tp);
    free(tls->remembered_tp);
    free(tls->server_name);
    if (tls->resumption) {
        gnutls_memset(tls->resumption, 0, tls->resumption_len); /* holds the resumption secret */
        free(tls->resumption);
    }
    free(tls);
}

static tern_err replace_bytes(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return TERN_ERR_NOMEM;
    if (len) memcpy(copy, src, len);
    free(*dst);
    *dst = copy;
    *dst_len = len;
    return TERN_OK;
}

tern_err tern_tls_set_transport_params(tern_tls *tls, const uint8_t *data, size_t len)
{
    if (!tls || tls->started || (len && !data) || len > 0xffff) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = replace_bytes(&tls->local_tp, &tls->local_tp_len, data, len);
    if (!err) tls->has_local_tp = true;
    return err;
}

tern_err tern_tls_set_server_name(tern_tls *tls, const char *name)
{
    if (!tls || tls->started || tls->cfg->role != TERN_TLS_CLIENT || !name || !*name)
        return TERN_ERR_INVALID_ARGUMENT;
    char *copy = strdup(name);
    if (!copy) return TERN_ERR_NOMEM;
    free(tls->server_name);
    tls->server_name = copy;
    return TERN_OK;
}

tern_err tern_tls_set_resumption(tern_tls *tls, const uint8_t *data, size_t len)
{
    if (!tls || tls->started || tls->cfg->role != TERN_TLS_CLIENT || !data || len <= TICKET_HEADER_LEN ||
        memcmp(data, TICKET_MAGIC, sizeof TICKET_MAGIC) != 0)
        return TERN_ERR_INVALID_ARGUMENT;
    size_t tp_len = ((size_t)data[5] << 8) | data[6];
    if (len <= TICKET_HEADER_LEN + tp_len) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = replace_bytes(&tls->remembered_tp, &tls->remembered_tp_len, data + TICKET_HEADER_LEN, tp_len);
    if (err) return err;
    err = replace_bytes(&tls->resumption, &tls->resumption_len, data + TICKET_HEADER_LEN + tp_len,
                        len - TICKET_HEADER_LEN - tp_len);
    if (err) return err;
    tls->resumption_allows_early_data = (data[4] & TICKET_FLAG_EARLY_DATA) != 0;
    return TERN_OK;
}

const uint8_t *tern_tls_remembered_transport_params(const tern_tls *tls, size_t *len)
{
    if (len) *len = 0;
    if (!tls || !tls->resumption) return NULL;
    if (len) *len = tls->remembered_tp_len;
    return tls->remembered_tp;
}

tern_err tern_tls_reject_early_data(tern_tls *tls)
{
    if (!tls || tls->started || tls->cfg->role != TERN_TLS_SERVER) return TERN_ERR_INVALID_ARGUMENT;
    tls->reject_early_data = true;
    return TERN_OK;
}

/* A server name that is an IP literal is used for certificate checks only:
 * RFC 6066 §3 forbids literal addresses in SNI. */
static bool looks_like_ip_literal(const char *name)
{
    if (strchr(name, ':')) return true;
    for (const char *p = name; *p; p++)
        if ((*p < '0' || *p > '9') && *p != '.') return false;
    return true;
}

static tern_err configure_session(tern_tls *tls)
{
    const tern_tls_config *cfg = tls->cfg;
    const bool is_server = cfg->role == TERN_TLS_SERVER;
    gnutls_session_t s = tls->session;

    gnutls_session_set_ptr(s, tls);
    if (gnutls_priority_set(s, cfg->priority_cache) < 0) return TERN_ERR_CRYPTO_BACKEND;
    if (gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cfg->credentials) < 0) return TERN_ERR_CRYPTO_BACKEND;

    gnutls_handshake_set_secret_function(s, on_gnutls_secret);
    gnutls_handshake_set_read_function(s, on_gnutls_handshake_out);
    gnutls_alert_set_read_function(s, on_gnutls_alert_out);
    /* Always replaced: GnuTLS's default keylog hook writes to the file named
     * by $SSLKEYLOGFILE, and this library does no file I/O per connection. */
    gnutls_session_set_keylog_function(s, on_gnutls_keylog);

    gnutls_transport_set_ptr(s, tls);
    gnutls_transport_set_push_function(s, transport_push_forbidden);
    gnutls_transport_set_pull_function(s, transport_pull_nothing);
    gnutls_transport_set_pull_timeout_function(s, transport_pull_timeout_nothing);
    /* Loss recovery and idle timeout belong to QUIC, not to TLS. */
    gnutls_handshake_set_timeout(s, 0);

    if (gnutls_session_ext_register(s, "quic_transport_parameters", TERN_TLS_EXT_QUIC_TRANSPORT_PARAMETERS,
                                    GNUTLS_EXT_TLS, on_transport_params_recv, on_transport_params_send, NULL,
                                    NULL, NULL,
                                    GNUTLS_EXT_FLAG_TLS | GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_EE) < 0)
        return TERN_ERR_CRYPTO_BACKEND;

    unsigned alpn_flags = GNUTLS_ALPN_MANDATORY | (is_server ? GNUTLS_ALPN_SERVER_PRECEDENCE : 0);
    if (gnutls_alpn_set_protocols(s, cfg->alpn, (unsigned)cfg->alpn_count, alpn_flags) < 0)
        return TERN_ERR_CRYPTO_BACKEND;

    if (is_server) {
        if (gnutls_session_ticket_enable_server(s, &cfg->ticket_key) < 0) return TERN_ERR_CRYPTO_BACKEND;
        if (cfg->early_data && !tls->reject_early_data) {
            gnutls_anti_replay_enable(s, cfg->anti_replay);
            /* RFC 9001 §4.6.1: the ticket must carry 0xffffffff; QUIC flow
             * control, not TLS, bounds 0-RTT data. */
            if (gnutls_record_set_max_early_data_size(s, 0xffffffffu) < 0) return TERN_ERR_CRYPTO_BACKEND;
        }
        return TERN_OK;
    }

    const char *name = tls->server_name ? tls->server_name : cfg->server_name;
    if (name && !looks_like_ip_literal(name) &&
        gnutls_server_name_set(s, GNUTLS_NAME_DNS, name, strlen(name)) < 0)
        return TERN_ERR_CRYPTO_BACKEND;
    /* With a NULL name only the chain is verified. */
    if (!cfg->insecure_skip_verify) gnutls_session_set_verify_cert(s, name, 0);
    if (tls->resumption && gnutls_session_set_data(s, tls->resumption, tls->resumption_len) < 0)
        return TERN_ERR_INVALID_ARGUMENT;

    gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_BOTH,
                                       on_gnutls_new_session_ticket);
    return TERN_OK;
}

/* ---- driving the handshake --------------------------------------------- */

static void handshake_completed(tern_tls *tls)
{
    tls->complete = true;
    if (tls->cb.on_handshake_complete) tls->cb.on_handshake_complete(tls->owner);
}

static tern_err drive_handshake(tern_tls *tls)
{
    int ret = gnutls_handshake(tls->session);
    if (tls->error) return tls->error; /* a hook already failed it */
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) return TERN_OK;
    if (ret < 0) {
        tls_fail_gnutls(tls, ret);
        return tls->error;
    }
    handshake_completed(tls);
    return tls->error;
}

tern_err tern_tls_start(tern_tls *tls)
{
    if (!tls || tls->started) return TERN_ERR_INVALID_ARGUMENT;
    const tern_tls_config *cfg = tls->cfg;
    const bool is_server = cfg->role == TERN_TLS_SERVER;
    if (cfg->alpn_count == 0) return TERN_ERR_INVALID_ARGUMENT; /* RFC 9001 §8.1 */
    if (is_server && !cfg->has_certificate) return TERN_ERR_INVALID_ARGUMENT;

    unsigned flags = (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA;
    if (cfg->early_data &&
        (is_server ? !tls->reject_early_data : tls->resumption != NULL && tls->resumption_allows_early_data))
        flags |= GNUTLS_ENABLE_EARLY_DATA;
    if (gnutls_init(&tls->session, flags) < 0) {
        tls->session = NULL;
        return TERN_ERR_NOMEM;
    }
    tern_err err = configure_session(tls);
    if (err) {
        tls_fail(tls, err, "cannot configure the TLS session");
        return err;
    }
    tls->started = true;
    /* The client speaks first: this emits the ClientHello. */
    return is_server ? TERN_OK : drive_handshake(tls);
}

/* Walks the 1-RTT CRYPTO stream message by message. RFC 9001 §6: KeyUpdate
 * is forbidden (0x10a); the only post-handshake message QUIC has is the
 * server's NewSessionTicket. */
static bool application_messages_allowed(tern_tls *tls, const uint8_t *data, size_t len)
{
    if (tls->cfg->role == TERN_TLS_SERVER) {
        tls_fail_alert(tls, TERN_TLS_ALERT_UNEXPECTED_MESSAGE, "client sent a post-handshake message");
        return false;
    }
    size_t off = 0;
    while (off < len) {
        if (tls->app_body_left > 0) {
            size_t take = len - off < tls->app_body_left ? len - off : tls->app_body_left;
            tls->app_body_left -= take;
            off += take;
            continue;
        }
        tls->app_header[tls->app_header_len++] = data[off++];
        if (tls->app_header_len < HANDSHAKE_HEADER_LEN) continue;
        tls->app_header_len = 0;
        if (tls->app_header[0] != HANDSHAKE_TYPE_NEW_SESSION_TICKET) {
            tls_fail_alert(tls, TERN_TLS_ALERT_UNEXPECTED_MESSAGE, "forbidden post-handshake message");
            return false;
        }
        tls->app_body_left = ((size_t)tls->app_header[1] << 16) | ((size_t)tls->app_header[2] << 8) |
                             tls->app_header[3];
    }
    return true;
}

static tern_err feed_application_data(tern_tls *tls, const uint8_t *data, size_t len)
{
    if (!application_messages_allowed(tls, data, len)) return tls->error;
    /* Once the handshake is complete GnuTLS processes post-handshake
     * messages inside gnutls_handshake_write itself. */
    int ret = gnutls_handshake_write(tls->session, GNUTLS_ENCRYPTION_LEVEL_APPLICATION, data, len);
    if (tls->error) return tls->error;
    if (ret < 0 && ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED) tls_fail_gnutls(tls, ret);
    return tls->error;
}

tern_err tern_tls_provide_data(tern_tls *tls, tern_tls_level level, const uint8_t *data, size_t len)
{
    if (!tls || !tls->started || (len && !data) || level > TERN_TLS_LEVEL_APPLICATION)
        return TERN_ERR_INVALID_ARGUMENT;
    if (tls->error) return tls->error;
    if (len == 0) return TERN_OK;
    if (level == TERN_TLS_LEVEL_EARLY) {
        /* RFC 9000 §12.4: 0-RTT packets cannot carry CRYPTO frames. */
        tls_fail(tls, TERN_PROTOCOL_VIOLATION, "CRYPTO data in 0-RTT");
        return tls->error;
    }
    if (level == TERN_TLS_LEVEL_APPLICATION) {
        if (tls->complete) return feed_application_data(tls, data, len);
        /* 1-RTT read keys appear inside the very call that completes the
         * handshake, and the server sends tickets only after it completed,
         * so nothing legitimate can come earlier. */
        tls_fail_alert(tls, TERN_TLS_ALERT_UNEXPECTED_MESSAGE, "1-RTT CRYPTO data before handshake completion");
        return tls->error;
    }
    if (tls->complete) {
        /* Both peers' Initial and Handshake flights end before completion. */
        tls_fail_alert(tls, TERN_TLS_ALERT_UNEXPECTED_MESSAGE, "handshake data after completion");
        return tls->error;
    }
    int ret = gnutls_handshake_write(tls->session, level_to_gnutls(level), data, len);
    if (tls->error) return tls->error;
    if (ret < 0) {
        tls_fail_gnutls(tls, ret);
        return tls->error;
    }
    return drive_handshake(tls);
}

/* ---- state queries ----------------------------------------------------- */

bool tern_tls_handshake_complete(const tern_tls *tls) { return tls && tls->complete && !tls->error; }

const uint8_t *tern_tls_alpn(const tern_tls *tls, size_t *len)
{
    gnutls_datum_t alpn;
    if (len) *len = 0;
    if (!tls || !tls->session || gnutls_alpn_get_selected_protocol(tls->session, &alpn) < 0) return NULL;
    if (len) *len = alpn.size;
    return alpn.data;
}

tern_tls_cipher tern_tls_negotiated_cipher(const tern_tls *tls)
{
    if (!tls || !tls->session) return TERN_TLS_CIPHER_UNKNOWN;
    return cipher_from_gnutls(gnutls_cipher_get(tls->session));
}

bool tern_tls_is_resumed(const tern_tls *tls)
{
    return tls && tls->session && gnutls_session_is_resumed(tls->session) != 0;
}

bool tern_tls_early_data_attempted(const tern_tls *tls) { return tls && tls->early_attempted; }

bool tern_tls_early_data_accepted(const tern_tls *tls)
{
    return tls && tls->session && (gnutls_session_get_flags(tls->session) & GNUTLS_SFLAGS_EARLY_DATA) != 0;
}

tern_err tern_tls_error(const tern_tls *tls) { return tls ? tls->error : TERN_ERR_INVALID_ARGUMENT; }

const char *tern_tls_error_string(const tern_tls *tls) { return tls ? tls->error_text : "no session"; }

/* ---- helpers ----------------------------------------------------------- */

size_t tern_tls_keylog_format(char *out, size_t cap, const char *label, const uint8_t *client_random,
                              const uint8_t *secret, size_t secret_len)
{
    static const char hex[] = "0123456789abcdef";
    if (!out || !label || !client_random || !secret) return 0;
    size_t label_len = strlen(label);
    size_t need = label_len + 1 + 2 * TERN_TLS_CLIENT_RANDOM_LEN + 1 + 2 * secret_len;
    if (need + 1 > cap) return 0;
    char *p = out;
    memcpy(p, label, label_len);
    p += label_len;
    *p++ = ' ';
    for (size_t i = 0; i < TERN_TLS_CLIENT_RANDOM_LEN; i++) {
        *p++ = hex[client_random[i] >> 4];
        *p++ = hex[client_random[i] & 15];
    }
    *p++ = ' ';
    for (size_t i = 0; i < secret_len; i++) {
        *p++ = hex[secret[i] >> 4];
        *p++ = hex[secret[i] & 15];
    }
    *p = '\0';
    return need;
}

const char *tern_tls_level_name(tern_tls_level level)
{
    switch (level) {
    case TERN_TLS_LEVEL_INITIAL: return "Initial";
    case TERN_TLS_LEVEL_EARLY: return "0-RTT";
    case TERN_TLS_LEVEL_HANDSHAKE: return "Handshake";
    case TERN_TLS_LEVEL_APPLICATION: return "1-RTT";
    default: return "?";
    }
}

const char *tern_tls_cipher_name(tern_tls_cipher cipher)
{
    switch (cipher) {
    case TERN_TLS_AES_128_GCM_SHA256: return "TLS_AES_128_GCM_SHA256";
    case TERN_TLS_AES_256_GCM_SHA384: return "TLS_AES_256_GCM_SHA384";
    case TERN_TLS_CHACHA20_POLY1305_SHA256: return "TLS_CHACHA20_POLY1305_SHA256";
    default: return "unknown";
    }
}
