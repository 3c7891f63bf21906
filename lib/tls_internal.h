/* Private to tls.c / tls_config.c: the config layout the session glue reads. */
#ifndef TERN_TLS_INTERNAL_H
#define TERN_TLS_INTERNAL_H

#include <gnutls/gnutls.h>
#include <time.h>

#include "tls.h"

/* One remembered 0-RTT ClientHello (RFC 8446 §8.2). GnuTLS builds the key
 * from the recording window start (12 bytes) and the PSK binder (at most a
 * SHA-384 output). */
#define TERN_TLS_REPLAY_KEY_MAX 64
typedef struct tern_tls_replay_entry {
    time_t expires;
    uint8_t key_len;
    uint8_t key[TERN_TLS_REPLAY_KEY_MAX];
} tern_tls_replay_entry;

/* Bound on remembered ClientHellos: when every slot is live, 0-RTT is
 * refused (the safe direction) rather than growing without limit. */
#define TERN_TLS_REPLAY_MAX_ENTRIES 65536

/* RFC 8446 §8.2 suggests on the order of ten seconds for Internet clients. */
#define TERN_TLS_DEFAULT_ANTI_REPLAY_WINDOW_MS 10000

struct tern_tls_config {
    tern_tls_role role;
    gnutls_certificate_credentials_t credentials;
    bool has_certificate;
    bool insecure_skip_verify;
    bool early_data;

    /* ALPN names, each stored as a datum over alpn_storage. */
    gnutls_datum_t *alpn;
    size_t alpn_count;
    uint8_t *alpn_storage;

    char *server_name;
    char priority[256];
    /* The parsed priority string, shared by every session (gnutls_priority_set
     * takes a reference): parsing it per session cost 8 KB each. */
    gnutls_priority_t priority_cache;

    gnutls_datum_t ticket_key; /* server; gnutls_free'd */
    gnutls_anti_replay_t anti_replay; /* server */
    uint32_t anti_replay_window_ms;
    tern_tls_replay_entry *replay_entries;
    size_t replay_count, replay_cap;
};

#endif
