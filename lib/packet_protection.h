/* QUIC packet protection (RFC 9001 §5, §6).
 *
 * Key derivation (HKDF-Expand-Label, Initial secrets, key/iv/hp, key update),
 * and in-place protection and unprotection of one packet whose header has
 * been laid out (or located) by the packet header module: this module never
 * parses a header, it is told where the packet number is.
 *
 * A tern_packet_protection holds the keys for one direction at one
 * encryption level (and one key phase for 1-RTT). */
#ifndef TERN_PACKET_PROTECTION_H
#define TERN_PACKET_PROTECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "tern/error.h"

/* RFC 9001 §5.2: QUIC v1 Initial salt. */
#define TERN_INITIAL_SALT_V1_LEN 20
extern const uint8_t tern_initial_salt_v1[TERN_INITIAL_SALT_V1_LEN];
/* Initial secrets use SHA-256 (RFC 9001 §5.2), hence 32 bytes. */
#define TERN_INITIAL_SECRET_LEN 32

#define TERN_RETRY_INTEGRITY_TAG_LEN 16

/* AEAD usage limits, RFC 9001 §6.6, in packets. The confidentiality limit
 * counts packets sealed with one key; the integrity limit counts packets that
 * failed to open over the whole connection, across all keys. For
 * ChaCha20-Poly1305 the confidentiality limit exceeds the 2^62 possible packet
 * numbers and "can be disregarded": UINT64_MAX says so. */
#define TERN_AES_GCM_CONFIDENTIALITY_LIMIT (UINT64_C(1) << 23)
#define TERN_AES_GCM_INTEGRITY_LIMIT (UINT64_C(1) << 52)
#define TERN_CHACHA20_POLY1305_CONFIDENTIALITY_LIMIT UINT64_MAX
#define TERN_CHACHA20_POLY1305_INTEGRITY_LIMIT (UINT64_C(1) << 36)

uint64_t tern_aead_confidentiality_limit(tern_aead_alg alg);
uint64_t tern_aead_integrity_limit(tern_aead_alg alg);

/* ---- Key derivation ---------------------------------------------------- */

/* HKDF-Expand-Label (RFC 8446 §7.1) with the "tls13 " prefix added to label.
 * label + prefix must fit in 255 bytes, context in 255 bytes. */
tern_err tern_hkdf_expand_label(const tern_crypto_backend *backend, tern_hash_alg hash,
                                const uint8_t *secret, size_t secret_len, const char *label,
                                const uint8_t *context, size_t context_len, uint8_t *out,
                                size_t out_len);

/* RFC 9001 §5.2: client and server Initial secrets (32 bytes each) from the
 * Destination Connection ID of the client's first Initial packet. */
tern_err tern_initial_secrets(const tern_crypto_backend *backend, const uint8_t *dcid,
                              size_t dcid_len, uint8_t client_secret[TERN_INITIAL_SECRET_LEN],
                              uint8_t server_secret[TERN_INITIAL_SECRET_LEN]);

/* The three values RFC 9001 §5.1 derives from a traffic secret. */
typedef struct tern_packet_keys {
    uint8_t key[TERN_AEAD_MAX_KEY_LEN]; /* "quic key", tern_aead_key_len bytes */
    uint8_t iv[TERN_AEAD_NONCE_LEN];    /* "quic iv" */
    uint8_t hp[TERN_AEAD_MAX_KEY_LEN];  /* "quic hp", tern_aead_key_len bytes */
    size_t key_len;
} tern_packet_keys;

tern_err tern_derive_packet_keys(const tern_crypto_backend *backend, tern_aead_alg alg,
                                 const uint8_t *secret, size_t secret_len, tern_packet_keys *out);

/* RFC 9001 §6.1: secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku", "",
 * Hash.length). next has room for TERN_HASH_MAX_LEN; writes secret_len bytes. */
tern_err tern_next_generation_secret(const tern_crypto_backend *backend, tern_aead_alg alg,
                                     const uint8_t *secret, size_t secret_len, uint8_t *next);

/* ---- Packet protection context ----------------------------------------- */

typedef struct tern_packet_protection {
    const tern_crypto_backend *backend;
    tern_aead_alg alg;
    tern_aead_ctx *aead;
    tern_hp_ctx *hp;
    uint8_t iv[TERN_AEAD_NONCE_LEN];
    /* Kept for key update (§6): the traffic secret of this generation and the
     * header-protection key, which does not change across updates (§6.1). */
    uint8_t secret[TERN_HASH_MAX_LEN];
    size_t secret_len;
    uint8_t hp_key[TERN_AEAD_MAX_KEY_LEN];
    uint64_t generation;      /* 0 for the keys TLS gave, +1 per key update */
    uint64_t packets_sealed;  /* for the confidentiality limit (§6.6) */
    uint64_t open_failures;   /* packets that failed to open with these keys */
} tern_packet_protection;

/* Creates the backend contexts of pp's keys if not done yet (protect and
 * unprotect do it on first use; for callers using pp->aead/pp->hp directly). */
tern_err tern_pp_ensure(tern_packet_protection *pp);

/* Installs keys derived from a traffic secret (as TLS hands it over) for the
 * AEAD alg. backend NULL picks the fastest backend for alg
 * (tern_crypto_backend_for_alg). On failure pp is left cleared. */
tern_err tern_pp_init(tern_packet_protection *pp, const tern_crypto_backend *backend,
                      tern_aead_alg alg, const uint8_t *secret, size_t secret_len);

/* backend NULL: as tern_pp_init.
 * Installs the Initial keys (AES-128-GCM, RFC 9001 §5.2) of one side for the
 * given client-chosen DCID. is_client_keys selects the client's keys (to seal
 * as a client or open as a server) or the server's. */
tern_err tern_pp_init_initial(tern_packet_protection *pp, const tern_crypto_backend *backend,
                              const uint8_t *dcid, size_t dcid_len, bool is_client_keys);

/* RFC 9001 §6: the next key phase. Derives the next secret with "quic ku" and
 * a new key and IV from it, keeping the header-protection key. next must not
 * be cur; cur is unchanged (the caller keeps it for reordered packets). */
tern_err tern_pp_next_generation(const tern_packet_protection *cur, tern_packet_protection *next);

/* Frees the backend contexts and wipes all key material. Idempotent; also
 * accepts a zeroed struct. */
void tern_pp_clear(tern_packet_protection *pp);

/* Protects one packet in place (RFC 9001 §5.3, §5.4).
 *
 * packet[0..header_len) is the unprotected header; the truncated packet
 * number occupies packet[pn_offset..pn_offset+pn_len), the last bytes of the
 * header, and the two low bits of packet[0] must say pn_len - 1. The
 * plaintext payload follows at packet[header_len..header_len+payload_len).
 * The packet number field is (re)written from pn. The tag is appended, so
 * capacity must be at least header_len + payload_len + 16; RFC 9001 §5.4.2
 * requires pn_len + payload_len >= 4 so the sample exists (pad otherwise).
 * On success *packet_len = header_len + payload_len + 16. */
tern_err tern_pp_protect(tern_packet_protection *pp, uint8_t *packet, size_t capacity,
                         size_t header_len, size_t pn_offset, size_t pn_len, uint64_t pn,
                         size_t payload_len, size_t *packet_len);

/* What tern_pp_unprotect recovered. */
typedef struct tern_unprotected {
    uint64_t pn;            /* full packet number (RFC 9000 §A.3) */
    size_t pn_len;          /* 1..4 */
    size_t header_len;      /* pn_offset + pn_len */
    uint8_t *payload;       /* plaintext, inside the packet buffer */
    size_t payload_len;     /* without the tag */
} tern_unprotected;

/* Removes header protection only (RFC 9001 §5.4.1), so the caller can read
 * the Key Phase bit and pick the keys before opening. packet[0..packet_len)
 * is the whole protected packet (for a long header, up to the end given by
 * its Length field; for a short header, the rest of the datagram).
 * largest_pn is the largest packet number successfully processed in this
 * packet number space, or UINT64_MAX when none has been.
 * Returns TERN_ERR_DROP when the packet is too short to hold a packet number
 * and the header-protection sample; the packet is then untouched. */
tern_err tern_pp_remove_header_protection(tern_packet_protection *pp, uint8_t *packet,
                                          size_t packet_len, size_t pn_offset,
                                          uint64_t largest_pn, tern_unprotected *out);

/* Opens the payload of a packet whose header protection was removed by
 * tern_pp_remove_header_protection (out filled by it; completes payload and
 * payload_len). pp may be another key phase of the same space. Returns
 * TERN_ERR_DECRYPT when authentication fails: the caller drops the packet;
 * its payload bytes are then unspecified but its last 16 bytes (the tag, which
 * a Stateless Reset token would occupy, RFC 9000 §10.3.1) are untouched. */
tern_err tern_pp_open_payload(tern_packet_protection *pp, uint8_t *packet, size_t packet_len,
                              tern_unprotected *out);

/* Both steps above with the same keys: unprotects a packet in place. */
tern_err tern_pp_unprotect(tern_packet_protection *pp, uint8_t *packet, size_t packet_len,
                           size_t pn_offset, uint64_t largest_pn, tern_unprotected *out);

/* RFC 9000 §A.3: full packet number from the truncated one (pn_nbits bits)
 * and the largest packet number received so far (UINT64_MAX for none). */
uint64_t tern_pp_decode_packet_number(uint64_t largest_pn, uint64_t truncated_pn,
                                      unsigned pn_nbits);

/* ---- Retry integrity (RFC 9001 §5.8, QUIC v1) -------------------------- */

/* Computes the Retry Integrity Tag of retry[0..retry_len) (the Retry packet
 * without its tag) for the Original Destination Connection ID odcid. */
tern_err tern_retry_integrity_tag(const tern_crypto_backend *backend, const uint8_t *odcid,
                                  size_t odcid_len, const uint8_t *retry, size_t retry_len,
                                  uint8_t tag[TERN_RETRY_INTEGRITY_TAG_LEN]);

/* Verifies a whole Retry packet (its last 16 bytes being the tag). Returns
 * TERN_OK, TERN_ERR_DECRYPT when the tag is wrong, TERN_ERR_DROP when the
 * packet is shorter than a tag. */
tern_err tern_retry_verify(const tern_crypto_backend *backend, const uint8_t *odcid,
                           size_t odcid_len, const uint8_t *retry_packet, size_t packet_len);

#endif
