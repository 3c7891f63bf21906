/* Address validation tokens (RFC 9000 §8.1.2-8.1.4): what a server puts in
 * Retry packets and NEW_TOKEN frames, and checks in a client's Initial.
 *
 * A token is authenticated and encrypted with a key derived from the
 * endpoint's static key (AES-128-GCM, random nonce), so only this server (or
 * one sharing the key) can mint or read it, and it carries no plaintext a
 * client could link across connections (§8.1.3):
 *   type (1, also the AAD) | nonce (12) |
 *   AEAD(issued_at (8) | family (1) | port (2) | ip (16) | odcid_len (1) | odcid) | tag (16)
 * Retry tokens bind the full client address and the original DCID and live
 * TERN_RETRY_TOKEN_LIFETIME; NEW_TOKEN tokens bind only the client's IP
 * (a client's port changes between connections, §8.1.3) and live
 * TERN_NEW_TOKEN_LIFETIME. Times are the application's monotonic clock. */
#include <string.h>

#include "address_token.h"
#include "conn.h"

#define NONCE_OFF 1
#define BODY_OFF (NONCE_OFF + TERN_AEAD_NONCE_LEN)
#define BODY_FIXED (8 + 1 + 2 + 16 + 1)

static tern_aead_ctx *token_aead(tern_endpoint *ep)
{
    if (ep->token_aead) return ep->token_aead;
    static const uint8_t salt[] = "tern address token";
    uint8_t prk[TERN_HASH_MAX_LEN];
    if (ep->backend->hkdf_extract(TERN_HASH_SHA256, salt, sizeof salt - 1, ep->cfg.static_key,
                                  sizeof ep->cfg.static_key, prk) != TERN_OK)
        return NULL;
    if (ep->backend->aead_new(&ep->token_aead, TERN_AEAD_AES_128_GCM, prk) != TERN_OK) ep->token_aead = NULL;
    memset(prk, 0, sizeof prk);
    return ep->token_aead;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

size_t tern_token_make(tern_endpoint *ep, tern_token_type type, const tern_addr *client, const tern_cid *odcid,
                       tern_time now, uint8_t *out, size_t cap)
{
    size_t cid_len = odcid ? odcid->len : 0;
    size_t body = BODY_FIXED + cid_len, total = BODY_OFF + body + TERN_AEAD_TAG_LEN;
    tern_aead_ctx *aead = token_aead(ep);
    if (!aead || cap < total) return 0;
    out[0] = (uint8_t)type;
    tern_endpoint_random(ep, out + NONCE_OFF, TERN_AEAD_NONCE_LEN);
    uint8_t *b = out + BODY_OFF;
    put_u64(b, now);
    b[8] = client->family;
    b[9] = (uint8_t)(client->port >> 8);
    b[10] = (uint8_t)client->port;
    memcpy(b + 11, client->ip, 16);
    b[27] = (uint8_t)cid_len;
    if (cid_len) memcpy(b + 28, odcid->data, cid_len);
    if (ep->backend->aead_seal(aead, out + NONCE_OFF, out, 1, b, body) != TERN_OK) return 0;
    return total;
}

tern_token_result tern_token_check(tern_endpoint *ep, const uint8_t *token, size_t len, const tern_addr *client,
                                   tern_time now, tern_cid *odcid)
{
    if (len < BODY_OFF + BODY_FIXED + TERN_AEAD_TAG_LEN || len > TERN_TOKEN_MAX_LEN) return TERN_TOKEN_INVALID;
    tern_token_type type = (tern_token_type)token[0];
    if (type != TERN_TOKEN_RETRY && type != TERN_TOKEN_NEW_TOKEN) return TERN_TOKEN_INVALID;
    tern_aead_ctx *aead = token_aead(ep);
    if (!aead) return TERN_TOKEN_INVALID;
    uint8_t copy[TERN_TOKEN_MAX_LEN];
    memcpy(copy, token, len);
    size_t body = len - BODY_OFF - TERN_AEAD_TAG_LEN;
    uint8_t *b = copy + BODY_OFF;
    if (ep->backend->aead_open(aead, copy + NONCE_OFF, copy, 1, b, body) != TERN_OK) return TERN_TOKEN_INVALID;
    if (b[27] > TERN_MAX_CID_LEN || (size_t)BODY_FIXED + b[27] != body) return TERN_TOKEN_INVALID;
    uint64_t issued = get_u64(b);
    tern_time lifetime = type == TERN_TOKEN_RETRY ? TERN_RETRY_TOKEN_LIFETIME : TERN_NEW_TOKEN_LIFETIME;
    if (issued > now || now - issued > lifetime) return TERN_TOKEN_INVALID;
    uint16_t port = (uint16_t)(b[9] << 8 | b[10]);
    size_t ip_len = client->family == TERN_AF_INET6 ? 16 : 4;
    bool same_ip = b[8] == client->family && memcmp(b + 11, client->ip, ip_len) == 0;
    if (!same_ip || (type == TERN_TOKEN_RETRY && port != client->port)) return TERN_TOKEN_INVALID;
    if (type == TERN_TOKEN_NEW_TOKEN) return TERN_TOKEN_VALID_NEW_TOKEN;
    odcid->len = b[27];
    memcpy(odcid->data, b + 28, b[27]);
    return TERN_TOKEN_VALID_RETRY;
}
