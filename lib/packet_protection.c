/* QUIC packet protection: RFC 9001 §5 (keys, AEAD, header protection,
 * Retry integrity) and §6 (key update, AEAD limits). */
#include <stdlib.h>
#include <string.h>

#include "packet_protection.h"

/* RFC 9001 §5.2. */
const uint8_t tern_initial_salt_v1[TERN_INITIAL_SALT_V1_LEN] = {
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};

/* RFC 9001 §5.8: fixed AES-128-GCM key and nonce of the v1 Retry tag. */
static const uint8_t retry_key_v1[16] = {
    0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
    0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e,
};
static const uint8_t retry_nonce_v1[TERN_AEAD_NONCE_LEN] = {
    0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
};

#define TLS13_LABEL_PREFIX "tls13 "
#define PN_MAX ((UINT64_C(1) << 62) - 1) /* RFC 9000 §12.3 */

/* Key material must not linger in freed or stack memory; the volatile
 * pointer keeps the compiler from dropping the stores as dead. */
static void wipe(void *p, size_t len)
{
    volatile uint8_t *v = p;
    while (len--)
        *v++ = 0;
}

uint64_t tern_aead_confidentiality_limit(tern_aead_alg alg)
{
    return alg == TERN_AEAD_CHACHA20_POLY1305 ? TERN_CHACHA20_POLY1305_CONFIDENTIALITY_LIMIT
                                              : TERN_AES_GCM_CONFIDENTIALITY_LIMIT;
}

uint64_t tern_aead_integrity_limit(tern_aead_alg alg)
{
    return alg == TERN_AEAD_CHACHA20_POLY1305 ? TERN_CHACHA20_POLY1305_INTEGRITY_LIMIT
                                              : TERN_AES_GCM_INTEGRITY_LIMIT;
}

static bool aead_alg_valid(tern_aead_alg alg)
{
    return alg == TERN_AEAD_AES_128_GCM || alg == TERN_AEAD_AES_256_GCM ||
           alg == TERN_AEAD_CHACHA20_POLY1305;
}

/* ---- Key derivation ---------------------------------------------------- */

tern_err tern_hkdf_expand_label(const tern_crypto_backend *backend, tern_hash_alg hash,
                                const uint8_t *secret, size_t secret_len, const char *label,
                                const uint8_t *context, size_t context_len, uint8_t *out,
                                size_t out_len)
{
    /* RFC 8446 §7.1: struct { uint16 length; opaque label<7..255>;
     * opaque context<0..255>; } HkdfLabel, label = "tls13 " + Label. */
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t prefix_len = sizeof TLS13_LABEL_PREFIX - 1;
    size_t label_len;
    size_t n = 0;

    if (backend == NULL || secret == NULL || label == NULL || out == NULL ||
        (context == NULL && context_len > 0))
        return TERN_ERR_INVALID_ARGUMENT;
    label_len = strlen(label);
    if (prefix_len + label_len > 255 || context_len > 255 || out_len > UINT16_MAX)
        return TERN_ERR_INVALID_ARGUMENT;

    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(prefix_len + label_len);
    memcpy(info + n, TLS13_LABEL_PREFIX, prefix_len);
    n += prefix_len;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len > 0)
        memcpy(info + n, context, context_len);
    n += context_len;
    return backend->hkdf_expand(hash, secret, secret_len, info, n, out, out_len);
}

tern_err tern_initial_secrets(const tern_crypto_backend *backend, const uint8_t *dcid,
                              size_t dcid_len, uint8_t client_secret[TERN_INITIAL_SECRET_LEN],
                              uint8_t server_secret[TERN_INITIAL_SECRET_LEN])
{
    /* RFC 9001 §5.2: initial_secret = HKDF-Extract(initial_salt, dcid);
     * {client,server}_initial_secret = HKDF-Expand-Label(initial_secret,
     * "{client,server} in", "", 32). */
    uint8_t initial_secret[TERN_INITIAL_SECRET_LEN];
    tern_err err;

    if (backend == NULL || (dcid == NULL && dcid_len > 0) || client_secret == NULL ||
        server_secret == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    err = backend->hkdf_extract(TERN_HASH_SHA256, tern_initial_salt_v1, sizeof tern_initial_salt_v1,
                                dcid, dcid_len, initial_secret);
    if (err == TERN_OK)
        err = tern_hkdf_expand_label(backend, TERN_HASH_SHA256, initial_secret,
                                     sizeof initial_secret, "client in", NULL, 0, client_secret,
                                     TERN_INITIAL_SECRET_LEN);
    if (err == TERN_OK)
        err = tern_hkdf_expand_label(backend, TERN_HASH_SHA256, initial_secret,
                                     sizeof initial_secret, "server in", NULL, 0, server_secret,
                                     TERN_INITIAL_SECRET_LEN);
    wipe(initial_secret, sizeof initial_secret);
    return err;
}

tern_err tern_derive_packet_keys(const tern_crypto_backend *backend, tern_aead_alg alg,
                                 const uint8_t *secret, size_t secret_len, tern_packet_keys *out)
{
    /* RFC 9001 §5.1: key, iv and hp come from the secret with the suite's
     * hash; key and hp have the AEAD's key length, iv is 12 bytes. */
    tern_hash_alg hash;
    size_t key_len;
    tern_err err;

    if (backend == NULL || secret == NULL || out == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (!aead_alg_valid(alg))
        return TERN_ERR_UNSUPPORTED;
    hash = tern_aead_hash(alg);
    key_len = tern_aead_key_len(alg);
    memset(out, 0, sizeof *out);
    out->key_len = key_len;
    err = tern_hkdf_expand_label(backend, hash, secret, secret_len, "quic key", NULL, 0, out->key,
                                 key_len);
    if (err == TERN_OK)
        err = tern_hkdf_expand_label(backend, hash, secret, secret_len, "quic iv", NULL, 0, out->iv,
                                     sizeof out->iv);
    if (err == TERN_OK)
        err = tern_hkdf_expand_label(backend, hash, secret, secret_len, "quic hp", NULL, 0, out->hp,
                                     key_len);
    if (err != TERN_OK)
        wipe(out, sizeof *out);
    return err;
}

tern_err tern_next_generation_secret(const tern_crypto_backend *backend, tern_aead_alg alg,
                                     const uint8_t *secret, size_t secret_len, uint8_t *next)
{
    if (!aead_alg_valid(alg))
        return TERN_ERR_UNSUPPORTED;
    if (secret_len != tern_hash_len(tern_aead_hash(alg)))
        return TERN_ERR_INVALID_ARGUMENT;
    /* RFC 9001 §6.1: the output has the length of the hash. */
    return tern_hkdf_expand_label(backend, tern_aead_hash(alg), secret, secret_len, "quic ku", NULL,
                                  0, next, secret_len);
}

/* ---- Packet protection context ----------------------------------------- */

void tern_pp_clear(tern_packet_protection *pp)
{
    if (pp == NULL)
        return;
    if (pp->backend != NULL) {
        pp->backend->aead_free(pp->aead);
        pp->backend->hp_free(pp->hp);
    }
    wipe(pp, sizeof *pp);
    pp->backend = NULL;
    pp->aead = NULL;
    pp->hp = NULL;
}

/* Fills pp from an IV, a header-protection key and the secret the AEAD key
 * comes from. The backend contexts are created on first use
 * (tern_pp_ensure): a server's half-open connection holds Handshake read and
 * 1-RTT write keys it may never use, and each context pair costs ~1.8 KB. */
static void pp_install(tern_packet_protection *pp, const tern_crypto_backend *backend, tern_aead_alg alg,
                       const uint8_t iv[TERN_AEAD_NONCE_LEN], const uint8_t *hp_key, const uint8_t *secret,
                       size_t secret_len, uint64_t generation)
{
    memset(pp, 0, sizeof *pp);
    pp->backend = backend;
    pp->alg = alg;
    pp->generation = generation;
    memcpy(pp->iv, iv, TERN_AEAD_NONCE_LEN);
    memcpy(pp->secret, secret, secret_len);
    pp->secret_len = secret_len;
    memcpy(pp->hp_key, hp_key, tern_aead_key_len(alg));
}

tern_err tern_pp_ensure(tern_packet_protection *pp)
{
    if (pp == NULL || pp->backend == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (pp->aead == NULL) {
        /* The AEAD key of this generation comes from its secret (§5.1). */
        tern_packet_keys keys;
        tern_err err = tern_derive_packet_keys(pp->backend, pp->alg, pp->secret, pp->secret_len, &keys);
        if (err == TERN_OK)
            err = pp->backend->aead_new(&pp->aead, pp->alg, keys.key);
        wipe(&keys, sizeof keys);
        if (err != TERN_OK) {
            pp->aead = NULL;
            return err;
        }
    }
    if (pp->hp == NULL) {
        tern_err err = pp->backend->hp_new(&pp->hp, pp->alg, pp->hp_key);
        if (err != TERN_OK) {
            pp->hp = NULL;
            return err;
        }
    }
    return TERN_OK;
}

tern_err tern_pp_init(tern_packet_protection *pp, const tern_crypto_backend *backend,
                      tern_aead_alg alg, const uint8_t *secret, size_t secret_len)
{
    tern_packet_keys keys;
    tern_err err;

    if (pp == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    memset(pp, 0, sizeof *pp);
    if (secret == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (!aead_alg_valid(alg))
        return TERN_ERR_UNSUPPORTED;
    if (backend == NULL)
        backend = tern_crypto_backend_for_alg(alg);
    /* TLS 1.3 traffic secrets have the length of the suite's hash. */
    if (secret_len != tern_hash_len(tern_aead_hash(alg)))
        return TERN_ERR_INVALID_ARGUMENT;
    err = tern_derive_packet_keys(backend, alg, secret, secret_len, &keys);
    if (err == TERN_OK)
        pp_install(pp, backend, alg, keys.iv, keys.hp, secret, secret_len, 0);
    wipe(&keys, sizeof keys);
    return err;
}

tern_err tern_pp_init_initial(tern_packet_protection *pp, const tern_crypto_backend *backend,
                              const uint8_t *dcid, size_t dcid_len, bool is_client_keys)
{
    uint8_t client_secret[TERN_INITIAL_SECRET_LEN];
    uint8_t server_secret[TERN_INITIAL_SECRET_LEN];
    tern_err err;

    if (pp == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    memset(pp, 0, sizeof *pp);
    if (backend == NULL)
        backend = tern_crypto_backend_for_alg(TERN_AEAD_AES_128_GCM);
    err = tern_initial_secrets(backend, dcid, dcid_len, client_secret, server_secret);
    if (err == TERN_OK)
        /* RFC 9001 §5.2: Initial packets use AEAD_AES_128_GCM. */
        err = tern_pp_init(pp, backend, TERN_AEAD_AES_128_GCM,
                           is_client_keys ? client_secret : server_secret, TERN_INITIAL_SECRET_LEN);
    wipe(client_secret, sizeof client_secret);
    wipe(server_secret, sizeof server_secret);
    return err;
}

tern_err tern_pp_next_generation(const tern_packet_protection *cur, tern_packet_protection *next)
{
    uint8_t next_secret[TERN_HASH_MAX_LEN];
    tern_packet_keys keys;
    tern_err err;

    if (cur == NULL || next == NULL || cur == next || cur->backend == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    memset(next, 0, sizeof *next);
    err = tern_next_generation_secret(cur->backend, cur->alg, cur->secret, cur->secret_len,
                                      next_secret);
    /* RFC 9001 §6.1: new key and IV come from the new secret as in §5.1; the
     * header protection key is not updated. */
    if (err == TERN_OK)
        err = tern_derive_packet_keys(cur->backend, cur->alg, next_secret, cur->secret_len, &keys);
    if (err == TERN_OK)
        pp_install(next, cur->backend, cur->alg, keys.iv, cur->hp_key, next_secret, cur->secret_len,
                   cur->generation + 1);
    wipe(next_secret, sizeof next_secret);
    wipe(&keys, sizeof keys);
    return err;
}

/* RFC 9001 §5.3: the nonce is the IV XORed with the packet number, left-padded
 * with zeros to the IV length, in network byte order. */
static void make_nonce(const uint8_t iv[TERN_AEAD_NONCE_LEN], uint64_t pn,
                       uint8_t nonce[TERN_AEAD_NONCE_LEN])
{
    memcpy(nonce, iv, TERN_AEAD_NONCE_LEN);
    for (size_t i = 0; i < 8; i++)
        nonce[TERN_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* RFC 9001 §5.4.1: 4 bits of the first byte are protected in a long header
 * (0x80 set), 5 in a short header (the Key Phase bit is hidden too). */
static uint8_t first_byte_mask_bits(uint8_t first_byte)
{
    return (first_byte & 0x80) ? 0x0f : 0x1f;
}

tern_err tern_pp_protect(tern_packet_protection *pp, uint8_t *packet, size_t capacity,
                         size_t header_len, size_t pn_offset, size_t pn_len, uint64_t pn,
                         size_t payload_len, size_t *packet_len)
{
    uint8_t nonce[TERN_AEAD_NONCE_LEN];
    uint8_t mask[TERN_HP_MASK_LEN];
    tern_err err;

    if (pp == NULL || pp->backend == NULL || packet == NULL || packet_len == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if ((pp->aead == NULL || pp->hp == NULL) && (err = tern_pp_ensure(pp)) != TERN_OK)
        return err;
    if (pn_len < 1 || pn_len > 4 || pn_offset < 1 || header_len != pn_offset + pn_len ||
        (size_t)(packet[0] & 0x03) + 1 != pn_len || pn > PN_MAX)
        return TERN_ERR_INVALID_ARGUMENT;
    if (capacity < header_len || capacity - header_len < TERN_AEAD_TAG_LEN ||
        capacity - header_len - TERN_AEAD_TAG_LEN < payload_len)
        return TERN_ERR_BUFFER_TOO_SMALL;
    /* RFC 9001 §5.4.2: the sample starts 4 bytes after the start of the
     * packet number, so packet number plus payload must be at least 4 bytes. */
    if (pn_len + payload_len < 4)
        return TERN_ERR_INVALID_ARGUMENT;
    /* RFC 9001 §6.6: stop using keys that reached the confidentiality limit;
     * the connection should have updated them before. */
    if (pp->packets_sealed >= tern_aead_confidentiality_limit(pp->alg))
        return TERN_AEAD_LIMIT_REACHED;

    for (size_t i = 0; i < pn_len; i++)
        packet[pn_offset + i] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));

    make_nonce(pp->iv, pn, nonce);
    err = pp->backend->aead_seal(pp->aead, nonce, packet, header_len, packet + header_len,
                                 payload_len);
    if (err != TERN_OK)
        return err;

    err = pp->backend->hp_mask(pp->hp, packet + pn_offset + 4, mask);
    if (err != TERN_OK)
        return err;
    packet[0] ^= mask[0] & first_byte_mask_bits(packet[0]);
    for (size_t i = 0; i < pn_len; i++)
        packet[pn_offset + i] ^= mask[1 + i];

    pp->packets_sealed++;
    *packet_len = header_len + payload_len + TERN_AEAD_TAG_LEN;
    return TERN_OK;
}

uint64_t tern_pp_decode_packet_number(uint64_t largest_pn, uint64_t truncated_pn,
                                      unsigned pn_nbits)
{
    /* RFC 9000 §A.3. UINT64_MAX + 1 wraps to 0: with nothing received yet the
     * expected packet number is 0. The RFC's signed comparisons are kept in
     * range by checking for underflow first. */
    uint64_t expected_pn = largest_pn + 1;
    uint64_t pn_win = UINT64_C(1) << pn_nbits;
    uint64_t pn_hwin = pn_win / 2;
    uint64_t pn_mask = pn_win - 1;
    uint64_t candidate_pn = (expected_pn & ~pn_mask) | (truncated_pn & pn_mask);

    if (expected_pn >= pn_hwin && candidate_pn <= expected_pn - pn_hwin &&
        candidate_pn < (UINT64_C(1) << 62) - pn_win)
        return candidate_pn + pn_win;
    if (candidate_pn > expected_pn + pn_hwin && candidate_pn >= pn_win)
        return candidate_pn - pn_win;
    return candidate_pn;
}

tern_err tern_pp_remove_header_protection(tern_packet_protection *pp, uint8_t *packet,
                                          size_t packet_len, size_t pn_offset,
                                          uint64_t largest_pn, tern_unprotected *out)
{
    uint8_t mask[TERN_HP_MASK_LEN];
    uint64_t truncated_pn = 0;
    size_t pn_len;
    tern_err err;

    if (pp == NULL || pp->backend == NULL || packet == NULL || out == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if ((pp->aead == NULL || pp->hp == NULL) && (err = tern_pp_ensure(pp)) != TERN_OK)
        return err;
    memset(out, 0, sizeof *out);
    /* RFC 9001 §5.4.2: the sample is taken as if the packet number were 4
     * bytes long; a packet too short for it is discarded. */
    if (pn_offset < 1 || pn_offset > packet_len || packet_len - pn_offset < 4 + TERN_HP_SAMPLE_LEN)
        return TERN_ERR_DROP;

    err = pp->backend->hp_mask(pp->hp, packet + pn_offset + 4, mask);
    if (err != TERN_OK)
        return err;
    packet[0] ^= mask[0] & first_byte_mask_bits(packet[0]);
    pn_len = (size_t)(packet[0] & 0x03) + 1;
    for (size_t i = 0; i < pn_len; i++) {
        packet[pn_offset + i] ^= mask[1 + i];
        truncated_pn = (truncated_pn << 8) | packet[pn_offset + i];
    }

    out->pn = tern_pp_decode_packet_number(largest_pn, truncated_pn, (unsigned)(8 * pn_len));
    out->pn_len = pn_len;
    out->header_len = pn_offset + pn_len;
    return TERN_OK;
}

tern_err tern_pp_open_payload(tern_packet_protection *pp, uint8_t *packet, size_t packet_len,
                              tern_unprotected *out)
{
    uint8_t nonce[TERN_AEAD_NONCE_LEN];
    size_t ciphertext_len;
    tern_err err;

    if (pp == NULL || pp->backend == NULL || packet == NULL || out == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if ((pp->aead == NULL || pp->hp == NULL) && (err = tern_pp_ensure(pp)) != TERN_OK)
        return err;
    if (out->header_len < 1 || out->header_len > packet_len ||
        packet_len - out->header_len < TERN_AEAD_TAG_LEN)
        return TERN_ERR_DROP;
    ciphertext_len = packet_len - out->header_len - TERN_AEAD_TAG_LEN;

    make_nonce(pp->iv, out->pn, nonce);
    err = pp->backend->aead_open(pp->aead, nonce, packet, out->header_len,
                                 packet + out->header_len, ciphertext_len);
    if (err != TERN_OK) {
        /* RFC 9001 §6.6 counts these for the integrity limit. */
        if (err == TERN_ERR_DECRYPT)
            pp->open_failures++;
        out->payload = NULL;
        out->payload_len = 0;
        return err;
    }
    out->payload = packet + out->header_len;
    out->payload_len = ciphertext_len;
    return TERN_OK;
}

tern_err tern_pp_unprotect(tern_packet_protection *pp, uint8_t *packet, size_t packet_len,
                           size_t pn_offset, uint64_t largest_pn, tern_unprotected *out)
{
    tern_err err = tern_pp_remove_header_protection(pp, packet, packet_len, pn_offset, largest_pn,
                                                    out);
    if (err != TERN_OK)
        return err;
    return tern_pp_open_payload(pp, packet, packet_len, out);
}

/* ---- Retry integrity --------------------------------------------------- */

/* Runs the v1 Retry AEAD over the pseudo-packet (RFC 9001 §5.8): seals (tag
 * written to tag) or opens (tag checked against tag). */
static tern_err retry_aead(const tern_crypto_backend *backend, const uint8_t *odcid,
                           size_t odcid_len, const uint8_t *retry, size_t retry_len, bool verify,
                           uint8_t tag[TERN_RETRY_INTEGRITY_TAG_LEN])
{
    /* Retry packets fit in one datagram; the pseudo-packet is assembled on
     * the stack for the usual sizes and on the heap beyond. */
    uint8_t stack_buf[1 + 255 + 1500];
    uint8_t *pseudo = stack_buf;
    size_t pseudo_len;
    tern_aead_ctx *aead = NULL;
    tern_err err;

    if (backend == NULL || (odcid == NULL && odcid_len > 0) || retry == NULL || tag == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (odcid_len > 255)
        return TERN_ERR_INVALID_ARGUMENT;
    if (retry_len > SIZE_MAX - 256)
        return TERN_ERR_INVALID_ARGUMENT;
    pseudo_len = 1 + odcid_len + retry_len;
    if (pseudo_len > sizeof stack_buf) {
        pseudo = malloc(pseudo_len);
        if (pseudo == NULL)
            return TERN_ERR_NOMEM;
    }
    pseudo[0] = (uint8_t)odcid_len;
    if (odcid_len > 0)
        memcpy(pseudo + 1, odcid, odcid_len);
    memcpy(pseudo + 1 + odcid_len, retry, retry_len);

    err = backend->aead_new(&aead, TERN_AEAD_AES_128_GCM, retry_key_v1);
    if (err == TERN_OK) {
        /* Empty plaintext: the "data" is zero bytes followed by the tag. */
        if (verify)
            err = backend->aead_open(aead, retry_nonce_v1, pseudo, pseudo_len, tag, 0);
        else
            err = backend->aead_seal(aead, retry_nonce_v1, pseudo, pseudo_len, tag, 0);
    }
    backend->aead_free(aead);
    if (pseudo != stack_buf)
        free(pseudo);
    return err;
}

tern_err tern_retry_integrity_tag(const tern_crypto_backend *backend, const uint8_t *odcid,
                                  size_t odcid_len, const uint8_t *retry, size_t retry_len,
                                  uint8_t tag[TERN_RETRY_INTEGRITY_TAG_LEN])
{
    return retry_aead(backend, odcid, odcid_len, retry, retry_len, false, tag);
}

tern_err tern_retry_verify(const tern_crypto_backend *backend, const uint8_t *odcid,
                           size_t odcid_len, const uint8_t *retry_packet, size_t packet_len)
{
    uint8_t tag[TERN_RETRY_INTEGRITY_TAG_LEN];
    if (retry_packet == NULL)
        return TERN_ERR_INVALID_ARGUMENT;
    if (packet_len < TERN_RETRY_INTEGRITY_TAG_LEN)
        return TERN_ERR_DROP;
    /* The AEAD's own tag check is constant time; the copy lets it read the
     * tag from writable memory as aead_open expects. */
    memcpy(tag, retry_packet + packet_len - TERN_RETRY_INTEGRITY_TAG_LEN, sizeof tag);
    return retry_aead(backend, odcid, odcid_len, retry_packet,
                      packet_len - TERN_RETRY_INTEGRITY_TAG_LEN, true, tag);
}
