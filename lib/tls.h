/* TLS 1.3 handshake for QUIC (RFC 9001), on top of GnuTLS's QUIC interface.
 *
 * This module deals only in handshake bytes per encryption level, traffic
 * secrets and opaque transport-parameter bytes. It never sees packets,
 * sockets or files (except the config-time helpers that load PEM files).
 *
 * Usage, per connection:
 *   1. tern_tls_new(&tls, cfg, &callbacks, owner)
 *   2. tern_tls_set_transport_params(tls, our_encoded_params, len)
 *      client only: tern_tls_set_server_name(), tern_tls_set_resumption()
 *   3. tern_tls_start(tls): the client emits its ClientHello through
 *      on_crypto_data(INITIAL) (and, when 0-RTT is attempted, the 0-RTT write
 *      secret through on_secret(EARLY, WRITE)); the server emits nothing.
 *   4. For every in-order chunk of CRYPTO frame data received at a level:
 *      tern_tls_provide_data(tls, level, bytes, len). Callbacks fire from
 *      inside this call: on_secret when keys become available, on_crypto_data
 *      with bytes to send in CRYPTO frames, on_peer_transport_params once.
 *   5. tern_tls_handshake_complete() turns true once the TLS handshake is
 *      complete (RFC 9001 §4.1.1); on_handshake_complete fires at that moment.
 *      Handshake *confirmation* (§4.1.2) is the connection's business.
 *
 * Every call returns a tern_err. A failure in TLS is CRYPTO_ERROR
 * (TERN_CRYPTO_ERROR_BASE + alert, RFC 9001 §4.8); on_alert reports the alert
 * once so the connection can close with that code. An error returned by the
 * owner's on_peer_transport_params (e.g. TRANSPORT_PARAMETER_ERROR) is
 * returned unchanged, without an alert. After a failure the session stays
 * failed: every further call returns the same error.
 *
 * Callbacks fire from inside tern_tls_start / tern_tls_provide_data; they
 * must not call back into the same session (getters excepted).
 *
 * Not thread-safe: a config may be shared by many sessions, but all of them
 * must be driven from one thread (the server's anti-replay store in the
 * config is mutated during handshakes). */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"

/* QUIC encryption levels (RFC 9001 §4). Values match packet number spaces'
 * natural order; EARLY is the 0-RTT level. */
typedef enum tern_tls_level {
    TERN_TLS_LEVEL_INITIAL = 0,
    TERN_TLS_LEVEL_EARLY = 1,
    TERN_TLS_LEVEL_HANDSHAKE = 2,
    TERN_TLS_LEVEL_APPLICATION = 3,
} tern_tls_level;
#define TERN_TLS_LEVEL_COUNT 4

typedef enum tern_tls_direction {
    TERN_TLS_READ = 0,  /* secret protecting packets we receive */
    TERN_TLS_WRITE = 1, /* secret protecting packets we send */
} tern_tls_direction;

/* TLS 1.3 cipher suites usable by QUIC, by IANA code point (RFC 8446
 * §B.4). AES-128-CCM is not offered; CCM_8 is forbidden (RFC 9001 §5.3). */
typedef enum tern_tls_cipher {
    TERN_TLS_CIPHER_UNKNOWN = 0,
    TERN_TLS_AES_128_GCM_SHA256 = 0x1301,
    TERN_TLS_AES_256_GCM_SHA384 = 0x1302,
    TERN_TLS_CHACHA20_POLY1305_SHA256 = 0x1303,
} tern_tls_cipher;

typedef enum tern_tls_role {
    TERN_TLS_CLIENT = 0,
    TERN_TLS_SERVER = 1,
} tern_tls_role;

/* TLS alerts this module produces itself (RFC 8446 §6). */
enum {
    TERN_TLS_ALERT_UNEXPECTED_MESSAGE = 10,
    TERN_TLS_ALERT_HANDSHAKE_FAILURE = 40,
    TERN_TLS_ALERT_BAD_CERTIFICATE = 42,
    TERN_TLS_ALERT_CERTIFICATE_EXPIRED = 45,
    TERN_TLS_ALERT_UNKNOWN_CA = 48,
    TERN_TLS_ALERT_DECODE_ERROR = 50,
    TERN_TLS_ALERT_INTERNAL_ERROR = 80,
    TERN_TLS_ALERT_MISSING_EXTENSION = 109,
    TERN_TLS_ALERT_NO_APPLICATION_PROTOCOL = 120,
};

/* RFC 9001 §8.2. */
#define TERN_TLS_EXT_QUIC_TRANSPORT_PARAMETERS 0x39
/* Longest TLS 1.3 traffic secret (SHA-384). */
#define TERN_TLS_MAX_SECRET_LEN 48
/* GnuTLS's session ticket encryption key size. */
#define TERN_TLS_TICKET_KEY_LEN 64
/* TLS ClientHello.random length, the key of SSLKEYLOGFILE lines. */
#define TERN_TLS_CLIENT_RANDOM_LEN 32
/* Longest SSLKEYLOGFILE line tern_tls_keylog_format writes, with its NUL. */
#define TERN_TLS_KEYLOG_LINE_MAX (48 + 1 + 2 * TERN_TLS_CLIENT_RANDOM_LEN + 1 + 2 * TERN_TLS_MAX_SECRET_LEN + 1)

/* ---------------------------------------------------------------------- */
/* Configuration, shared by the connections of an endpoint.                */

typedef struct tern_tls_config tern_tls_config;

/* Defaults: client verifies the server certificate against nothing (call
 * tern_tls_config_set_ca_file / add_ca_pem / use_system_trust, or the
 * explicit insecure switch), all three cipher suites, 0-RTT off, no ALPN (one
 * must be set: QUIC requires ALPN, RFC 9001 §8.1). A server gets a random
 * ticket key. */
tern_err tern_tls_config_new(tern_tls_config **out, tern_tls_role role);
void tern_tls_config_free(tern_tls_config *cfg);

/* Certificate chain (leaf first) and private key, PEM. Required for a
 * server. */
tern_err tern_tls_config_set_cert_files(tern_tls_config *cfg, const char *chain_path, const char *key_path);
tern_err tern_tls_config_set_cert_pem(tern_tls_config *cfg, const char *chain_pem, size_t chain_len,
                                      const char *key_pem, size_t key_len);

/* Trust anchors for verifying the peer (PEM; a self-signed leaf may be
 * trusted directly). */
tern_err tern_tls_config_set_ca_file(tern_tls_config *cfg, const char *path);
tern_err tern_tls_config_add_ca_pem(tern_tls_config *cfg, const char *pem, size_t len);
tern_err tern_tls_config_use_system_trust(tern_tls_config *cfg);

/* Client: skip server certificate verification entirely. For tests and lab
 * setups only; off by default. */
void tern_tls_config_set_insecure_skip_verify(tern_tls_config *cfg, bool insecure);

/* ALPN protocol names in preference order (RFC 9001 §8.1; RFC 7301). The
 * server picks by its own order. Replaces any previous list. */
tern_err tern_tls_config_set_alpn(tern_tls_config *cfg, const char *const *protocols, size_t count);

/* Client: default server name (SNI, and the name the certificate is checked
 * against). tern_tls_set_server_name overrides it per connection. */
tern_err tern_tls_config_set_server_name(tern_tls_config *cfg, const char *name);

/* Restrict/reorder the cipher suites (tests use this to force AES-256 or
 * ChaCha20). */
tern_err tern_tls_config_set_ciphers(tern_tls_config *cfg, const tern_tls_cipher *ciphers, size_t count);

/* Client: attempt 0-RTT when resuming. Server: accept 0-RTT (replay-checked,
 * RFC 9001 §9.2) and advertise it in tickets with max_early_data_size
 * 0xffffffff (§4.6.1). Off by default. */
void tern_tls_config_enable_early_data(tern_tls_config *cfg, bool enable);

/* Server: key protecting session tickets (TERN_TLS_TICKET_KEY_LEN bytes);
 * share it among servers that must resume each other's sessions. */
tern_err tern_tls_config_set_ticket_key(tern_tls_config *cfg, const uint8_t *key, size_t len);

/* Server: anti-replay window for 0-RTT ClientHellos (RFC 8446 §8.2); 10 s by
 * default. GnuTLS reads the wall clock for this. */
void tern_tls_config_set_anti_replay_window_ms(tern_tls_config *cfg, uint32_t window_ms);

/* ---------------------------------------------------------------------- */
/* Session, one per connection.                                            */

typedef struct tern_tls tern_tls;

typedef struct tern_tls_callbacks {
    /* A traffic secret for one direction at a level became available. The
     * connection derives packet protection keys from it (RFC 9001 §5.1).
     * Non-zero aborts the handshake with that error (reported unchanged). */
    tern_err (*on_secret)(void *owner, tern_tls_level level, tern_tls_direction direction,
                          tern_tls_cipher cipher, const uint8_t *secret, size_t len);
    /* Handshake bytes to send in CRYPTO frames at this level (RFC 9001
     * §4.1.3). Non-zero aborts the handshake. */
    tern_err (*on_crypto_data)(void *owner, tern_tls_level level, const uint8_t *data, size_t len);
    /* The handshake failed with this TLS alert; close the connection with
     * CRYPTO_ERROR 0x100+alert (RFC 9001 §4.8). Fires at most once. */
    void (*on_alert)(void *owner, uint8_t alert);
    /* The peer's quic_transport_parameters extension (RFC 9001 §8.2), raw.
     * Return TERN_TRANSPORT_PARAMETER_ERROR (or another code) to fail the
     * handshake; that code is then what tern_tls_* calls return. Required. */
    tern_err (*on_peer_transport_params)(void *owner, const uint8_t *data, size_t len);
    /* Optional. The handshake is complete (RFC 9001 §4.1.1). */
    void (*on_handshake_complete)(void *owner);
    /* Optional, client. A NewSessionTicket arrived: data is an opaque
     * serialized session (GnuTLS session data plus the server's transport
     * parameters and whether the ticket allows 0-RTT), secret material to
     * store with care, to pass to tern_tls_set_resumption later. A
     * NewSessionTicket whose max_early_data_size is not 0xffffffff fails the
     * connection with PROTOCOL_VIOLATION (RFC 9001 §4.6.1). */
    void (*on_session_ticket)(void *owner, const uint8_t *data, size_t len);
    /* Optional. One SSLKEYLOGFILE entry: label (e.g. "CLIENT_TRAFFIC_SECRET_0"),
     * the 32-byte ClientHello.random and the secret. Format a line with
     * tern_tls_keylog_format. */
    void (*keylog)(void *owner, const char *label, const uint8_t *client_random,
                   const uint8_t *secret, size_t secret_len);
} tern_tls_callbacks;

/* cfg must outlive the session; the callback table is copied. */
tern_err tern_tls_new(tern_tls **out, tern_tls_config *cfg, const tern_tls_callbacks *callbacks, void *owner);
void tern_tls_free(tern_tls *tls);

/* Our encoded transport parameters, copied; before tern_tls_start. Without
 * this call the extension is omitted, which a conforming peer rejects with
 * missing_extension: only tests want that. */
tern_err tern_tls_set_transport_params(tern_tls *tls, const uint8_t *data, size_t len);
/* Client, before tern_tls_start. */
tern_err tern_tls_set_server_name(tern_tls *tls, const char *name);
/* Client, before tern_tls_start: resume the session serialized by
 * on_session_ticket; attempts 0-RTT when the config enables it and the
 * ticket allowed it. TERN_ERR_INVALID_ARGUMENT for a blob not produced by
 * on_session_ticket. */
tern_err tern_tls_set_resumption(tern_tls *tls, const uint8_t *data, size_t len);
/* Client, after tern_tls_set_resumption: the server transport parameters
 * remembered with the ticket, which 0-RTT must respect (RFC 9000 §7.4.1;
 * RFC 9001 §4.6.3). NULL when not resuming. */
const uint8_t *tern_tls_remembered_transport_params(const tern_tls *tls, size_t *len);
/* Server, before tern_tls_start: refuse 0-RTT on this connection even though
 * the config accepts it (e.g. under load). */
tern_err tern_tls_reject_early_data(tern_tls *tls);

tern_err tern_tls_start(tern_tls *tls);
/* In-order CRYPTO stream bytes received at a level. After completion only
 * the 1-RTT level may carry data, and only NewSessionTicket to a client
 * (RFC 9001 §6: KeyUpdate is a connection error 0x10a); anything else is
 * unexpected_message. CRYPTO data at the 0-RTT level is
 * PROTOCOL_VIOLATION (RFC 9000 §12.4). */
tern_err tern_tls_provide_data(tern_tls *tls, tern_tls_level level, const uint8_t *data, size_t len);

/* True once the handshake completed, false again after any failure. */
bool tern_tls_handshake_complete(const tern_tls *tls);
/* Negotiated ALPN protocol (not NUL-terminated), or NULL before it is known. */
const uint8_t *tern_tls_alpn(const tern_tls *tls, size_t *len);
tern_tls_cipher tern_tls_negotiated_cipher(const tern_tls *tls);
bool tern_tls_is_resumed(const tern_tls *tls);
/* Client: the ClientHello offered 0-RTT (so 0-RTT packets may be sent once
 * the EARLY write secret is installed). */
bool tern_tls_early_data_attempted(const tern_tls *tls);
/* The server accepted 0-RTT (both sides know after EncryptedExtensions). */
bool tern_tls_early_data_accepted(const tern_tls *tls);
/* The first error, 0 when none. */
tern_err tern_tls_error(const tern_tls *tls);
/* Human-readable description of the first failure ("" when none). */
const char *tern_tls_error_string(const tern_tls *tls);

/* ---------------------------------------------------------------------- */
/* Helpers.                                                                */

/* Writes "LABEL <client_random hex> <secret hex>" (no newline) into out.
 * Returns the length written, or 0 when it does not fit. */
size_t tern_tls_keylog_format(char *out, size_t cap, const char *label, const uint8_t *client_random,
                              const uint8_t *secret, size_t secret_len);
const char *tern_tls_level_name(tern_tls_level level);
const char *tern_tls_cipher_name(tern_tls_cipher cipher);

/* In-memory self-signed certificate (ECDSA P-256, SHA-256, SAN = hosts; a
 * host that parses as an IPv4/IPv6 address becomes an IP SAN) and its
 * private key, both PEM, NUL-terminated, malloc'd (free with free()). For
 * tools and tests; reads the wall clock for the validity period. */
tern_err tern_tls_cert_generate(const char *const *hosts, size_t host_count, unsigned valid_days,
                                char **cert_pem, size_t *cert_len, char **key_pem, size_t *key_len);

#endif
