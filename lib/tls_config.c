/* TLS configuration: credentials, trust, ALPN, cipher suites, session ticket
 * key and the server's 0-RTT anti-replay store. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls_internal.h"

/* TLS 1.3 only (RFC 9001 §4.2), no middlebox compatibility mode (§8.4),
 * AEADs that QUIC packet protection supports (§5.3). */
#define TLS_PRIORITY_BASE "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE:-CIPHER-ALL"

static const char *gnutls_cipher_priority_name(tern_tls_cipher cipher)
{
    switch (cipher) {
    case TERN_TLS_AES_128_GCM_SHA256: return "+AES-128-GCM";
    case TERN_TLS_AES_256_GCM_SHA384: return "+AES-256-GCM";
    case TERN_TLS_CHACHA20_POLY1305_SHA256: return "+CHACHA20-POLY1305";
    default: return NULL;
    }
}

tern_err tern_tls_config_set_ciphers(tern_tls_config *cfg, const tern_tls_cipher *ciphers, size_t count)
{
    if (!cfg || (count && !ciphers) || count == 0) return TERN_ERR_INVALID_ARGUMENT;
    char priority[sizeof cfg->priority];
    size_t used = (size_t)snprintf(priority, sizeof priority, "%s", TLS_PRIORITY_BASE);
    for (size_t i = 0; i < count; i++) {
        const char *name = gnutls_cipher_priority_name(ciphers[i]);
        if (!name) return TERN_ERR_UNSUPPORTED;
        int n = snprintf(priority + used, sizeof priority - used, ":%s", name);
        if (n < 0 || (size_t)n >= sizeof priority - used) return TERN_ERR_INVALID_ARGUMENT;
        used += (size_t)n;
    }
    /* Validate now so that a bad string fails at config time, not in the
     * middle of a connection. */
    gnutls_priority_t cache;
    if (gnutls_priority_init2(&cache, priority, NULL, 0) < 0) return TERN_ERR_CRYPTO_BACKEND;
    if (cfg->priority_cache) gnutls_priority_deinit(cfg->priority_cache);
    cfg->priority_cache = cache;
    memcpy(cfg->priority, priority, used + 1);
    return TERN_OK;
}

/* ---- anti-replay store (RFC 8446 §8.2, RFC 9001 §9.2) ------------------ */

/* GnuTLS calls this for every ClientHello carrying 0-RTT: it must store the
 * key, or fail when the key was already seen within the window (a replay).
 * exp_time is GnuTLS's "now + window", so anything expiring a window before
 * it has left the window and can be forgotten; that keeps this module free of
 * clock reads. */
static int replay_store_add(void *ptr, time_t exp_time, const gnutls_datum_t *key, const gnutls_datum_t *data)
{
    (void)data;
    tern_tls_config *cfg = ptr;
    if (key->size == 0 || key->size > TERN_TLS_REPLAY_KEY_MAX) return GNUTLS_E_INTERNAL_ERROR;

    /* exp_time is GnuTLS's "now + window" (whole seconds), so "now" is
     * recoverable without reading a clock. An entry that expired before now
     * belongs to a recording window that has since rolled over; GnuTLS
     * prefixes keys with the window start, so it can never match again. */
    const time_t now = exp_time - (time_t)(cfg->anti_replay_window_ms / 1000);
    size_t kept = 0;
    bool seen = false;
    for (size_t i = 0; i < cfg->replay_count; i++) {
        const tern_tls_replay_entry *entry = &cfg->replay_entries[i];
        if (entry->expires < now) continue;
        if (entry->key_len == key->size && memcmp(entry->key, key->data, key->size) == 0) seen = true;
        cfg->replay_entries[kept++] = *entry;
    }
    cfg->replay_count = kept;
    if (seen) return GNUTLS_E_DB_ENTRY_EXISTS;
    if (cfg->replay_count == cfg->replay_cap) {
        if (cfg->replay_cap >= TERN_TLS_REPLAY_MAX_ENTRIES) return GNUTLS_E_MEMORY_ERROR;
        size_t cap = cfg->replay_cap ? cfg->replay_cap * 2 : 64;
        tern_tls_replay_entry *grown = realloc(cfg->replay_entries, cap * sizeof *grown);
        if (!grown) return GNUTLS_E_MEMORY_ERROR;
        cfg->replay_entries = grown;
        cfg->replay_cap = cap;
    }
    tern_tls_replay_entry *slot = &cfg->replay_entries[cfg->replay_count++];
    slot->expires = exp_time;
    slot->key_len = (uint8_t)key->size;
    memcpy(slot->key, key->data, key->size);
    return 0;
}

/* ---- lifetime ---------------------------------------------------------- */

tern_err tern_tls_config_new(tern_tls_config **out, tern_tls_role role)
{
    if (!out || (role != TERN_TLS_CLIENT && role != TERN_TLS_SERVER)) return TERN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    tern_tls_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return TERN_ERR_NOMEM;
    cfg->role = role;
    snprintf(cfg->priority, sizeof cfg->priority, "%s:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305",
             TLS_PRIORITY_BASE);
    if (gnutls_certificate_allocate_credentials(&cfg->credentials) < 0) {
        free(cfg);
        return TERN_ERR_NOMEM;
    }
    if (gnutls_priority_init2(&cfg->priority_cache, cfg->priority, NULL, 0) < 0) {
        cfg->priority_cache = NULL;
        goto fail;
    }
    if (role == TERN_TLS_SERVER) {
        if (gnutls_session_ticket_key_generate(&cfg->ticket_key) < 0) goto fail;
        /* The recording window starts now: GnuTLS refuses 0-RTT for tickets
         * issued before the anti-replay context existed, so it must be
         * created before any connection of this config issues a ticket. */
        if (gnutls_anti_replay_init(&cfg->anti_replay) < 0) goto fail;
        gnutls_anti_replay_set_add_function(cfg->anti_replay, replay_store_add);
        gnutls_anti_replay_set_ptr(cfg->anti_replay, cfg);
        cfg->anti_replay_window_ms = TERN_TLS_DEFAULT_ANTI_REPLAY_WINDOW_MS;
        gnutls_anti_replay_set_window(cfg->anti_replay, cfg->anti_replay_window_ms);
    }
    *out = cfg;
    return TERN_OK;
fail:
    tern_tls_config_free(cfg);
    return TERN_ERR_CRYPTO_BACKEND;
}

void tern_tls_config_free(tern_tls_config *cfg)
{
    if (!cfg) return;
    if (cfg->credentials) gnutls_certificate_free_credentials(cfg->credentials);
    if (cfg->ticket_key.data) {
        gnutls_memset(cfg->ticket_key.data, 0, cfg->ticket_key.size);
        gnutls_free(cfg->ticket_key.data);
    }
    if (cfg->anti_replay) gnutls_anti_replay_deinit(cfg->anti_replay);
    if (cfg->priority_cache) gnutls_priority_deinit(cfg->priority_cache);
    free(cfg->replay_entries);
    free(cfg->alpn);
    free(cfg->alpn_storage);
    free(cfg->server_name);
    free(cfg);
}

/* ---- credentials ------------------------------------------------------- */

tern_err tern_tls_config_set_cert_files(tern_tls_config *cfg, const char *chain_path, const char *key_path)
{
    if (!cfg || !chain_path || !key_path) return TERN_ERR_INVALID_ARGUMENT;
    int ret = gnutls_certificate_set_x509_key_file2(cfg->credentials, chain_path, key_path,
                                                    GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
    if (ret < 0) return TERN_ERR_CRYPTO_BACKEND;
    cfg->has_certificate = true;
    return TERN_OK;
}

tern_err tern_tls_config_set_cert_pem(tern_tls_config *cfg, const char *chain_pem, size_t chain_len,
                                      const char *key_pem, size_t key_len)
{
    if (!cfg || !chain_pem || !key_pem || chain_len > UINT_MAX || key_len > UINT_MAX)
        return TERN_ERR_INVALID_ARGUMENT;
    const gnutls_datum_t chain = {(unsigned char *)chain_pem, (unsigned)chain_len};
    const gnutls_datum_t key = {(unsigned char *)key_pem, (unsigned)key_len};
    int ret = gnutls_certificate_set_x509_key_mem2(cfg->credentials, &chain, &key, GNUTLS_X509_FMT_PEM, NULL,
                                                   GNUTLS_PKCS_PLAIN);
    if (ret < 0) return TERN_ERR_CRYPTO_BACKEND;
    cfg->has_certificate = true;
    return TERN_OK;
}

tern_err tern_tls_config_set_ca_file(tern_tls_config *cfg, const char *path)
{
    if (!cfg || !path) return TERN_ERR_INVALID_ARGUMENT;
    /* Returns the number of certificates loaded. */
    int ret = gnutls_certificate_set_x509_trust_file(cfg->credentials, path, GNUTLS_X509_FMT_PEM);
    if (ret <= 0) return TERN_ERR_CRYPTO_BACKEND;
    return TERN_OK;
}

tern_err tern_tls_config_add_ca_pem(tern_tls_config *cfg, const char *pem, size_t len)
{
    if (!cfg || !pem || len > UINT_MAX) return TERN_ERR_INVALID_ARGUMENT;
    const gnutls_datum_t datum = {(unsigned char *)pem, (unsigned)len};
    int ret = gnutls_certificate_set_x509_trust_mem(cfg->credentials, &datum, GNUTLS_X509_FMT_PEM);
    if (ret <= 0) return TERN_ERR_CRYPTO_BACKEND;
    return TERN_OK;
}

tern_err tern_tls_config_use_system_trust(tern_tls_config *cfg)
{
    if (!cfg) return TERN_ERR_INVALID_ARGUMENT;
    int ret = gnutls_certificate_set_x509_system_trust(cfg->credentials);
    if (ret < 0) return TERN_ERR_CRYPTO_BACKEND;
    return TERN_OK;
}

void tern_tls_config_set_insecure_skip_verify(tern_tls_config *cfg, bool insecure)
{
    if (cfg) cfg->insecure_skip_verify = insecure;
}

/* ---- ALPN, SNI, 0-RTT, tickets ----------------------------------------- */

tern_err tern_tls_config_set_alpn(tern_tls_config *cfg, const char *const *protocols, size_t count)
{
    if (!cfg || !protocols || count == 0 || count > 64) return TERN_ERR_INVALID_ARGUMENT;
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = protocols[i] ? strlen(protocols[i]) : 0;
        /* RFC 7301 §3.1: names are 1..255 bytes. */
        if (len == 0 || len > 255) return TERN_ERR_INVALID_ARGUMENT;
        total += len;
    }
    gnutls_datum_t *alpn = calloc(count, sizeof *alpn);
    uint8_t *storage = malloc(total);
    if (!alpn || !storage) {
        free(alpn);
        free(storage);
        return TERN_ERR_NOMEM;
    }
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(protocols[i]);
        memcpy(storage + off, protocols[i], len);
        alpn[i].data = storage + off;
        alpn[i].size = (unsigned)len;
        off += len;
    }
    free(cfg->alpn);
    free(cfg->alpn_storage);
    cfg->alpn = alpn;
    cfg->alpn_storage = storage;
    cfg->alpn_count = count;
    return TERN_OK;
}

tern_err tern_tls_config_set_server_name(tern_tls_config *cfg, const char *name)
{
    if (!cfg || !name || !*name) return TERN_ERR_INVALID_ARGUMENT;
    char *copy = strdup(name);
    if (!copy) return TERN_ERR_NOMEM;
    free(cfg->server_name);
    cfg->server_name = copy;
    return TERN_OK;
}

void tern_tls_config_enable_early_data(tern_tls_config *cfg, bool enable)
{
    if (cfg) cfg->early_data = enable;
}

tern_err tern_tls_config_set_ticket_key(tern_tls_config *cfg, const uint8_t *key, size_t len)
{
    if (!cfg || cfg->role != TERN_TLS_SERVER || !key || len != TERN_TLS_TICKET_KEY_LEN ||
        cfg->ticket_key.size != len)
        return TERN_ERR_INVALID_ARGUMENT;
    memcpy(cfg->ticket_key.data, key, len); /* same size as the generated one */
    return TERN_OK;
}

void tern_tls_config_set_anti_replay_window_ms(tern_tls_config *cfg, uint32_t window_ms)
{
    if (!cfg || !cfg->anti_replay) return;
    gnutls_anti_replay_set_window(cfg->anti_replay, window_ms);
    cfg->anti_replay_window_ms = window_ms;
}
