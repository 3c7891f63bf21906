/* Internal cryptographic backend interface.
 *
 * QUIC packet protection (RFC 9001 §5) needs only a handful of primitives: an
 * AEAD keyed once per key installation and then used for every packet, a
 * header-protection mask function, HKDF for key derivation, and random bytes.
 * tern reaches them through one small table of function pointers so that a
 * crypto library can be swapped at run time; two backends exist, GnuTLS and
 * OpenSSL libcrypto 3. See docs/crypto.md for the design and the measurements
 * behind the default.
 *
 * Every function returns a tern_err: TERN_OK, TERN_ERR_DECRYPT (AEAD open
 * failed), TERN_ERR_UNSUPPORTED, TERN_ERR_INVALID_ARGUMENT, TERN_ERR_NOMEM or
 * TERN_ERR_CRYPTO_BACKEND (the library refused). */
#ifndef TERN_CRYPTO_H
#define TERN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"

/* The AEADs of the TLS 1.3 cipher suites QUIC uses (RFC 9001 §5.3). CCM is
 * not offered. Each AEAD comes with its own header-protection cipher (§5.4.3,
 * §5.4.4) and its suite's hash for HKDF. */
typedef enum tern_aead_alg {
    TERN_AEAD_AES_128_GCM = 0,       /* TLS_AES_128_GCM_SHA256 */
    TERN_AEAD_AES_256_GCM = 1,       /* TLS_AES_256_GCM_SHA384 */
    TERN_AEAD_CHACHA20_POLY1305 = 2, /* TLS_CHACHA20_POLY1305_SHA256 */
    TERN_AEAD_COUNT
} tern_aead_alg;

typedef enum tern_hash_alg {
    TERN_HASH_SHA256 = 0,
    TERN_HASH_SHA384 = 1,
} tern_hash_alg;

#define TERN_AEAD_TAG_LEN 16   /* all three AEADs have a 16-byte tag */
#define TERN_AEAD_NONCE_LEN 12 /* and a 12-byte nonce (RFC 9001 §5.3) */
#define TERN_AEAD_MAX_KEY_LEN 32
#define TERN_HP_SAMPLE_LEN 16 /* RFC 9001 §5.4.2 */
#define TERN_HP_MASK_LEN 5    /* RFC 9001 §5.4.1: 1 byte for flags + 4 for PN */
#define TERN_HASH_MAX_LEN 48  /* SHA-384 */

/* Key length of the AEAD (and of its header-protection key): 16 or 32. */
size_t tern_aead_key_len(tern_aead_alg alg);
/* Hash of the cipher suite the AEAD belongs to. */
tern_hash_alg tern_aead_hash(tern_aead_alg alg);
/* Output length of the hash: 32 or 48. */
size_t tern_hash_len(tern_hash_alg hash);

/* Backend-specific keyed contexts; opaque outside the backend that made them.
 * A context must only be used with the backend that created it. A context is
 * not safe for concurrent use from several threads. */
typedef struct tern_aead_ctx tern_aead_ctx;
typedef struct tern_hp_ctx tern_hp_ctx;

typedef enum tern_crypto_backend_id {
    TERN_CRYPTO_BACKEND_DEFAULT = 0, /* the measured choice, see docs/crypto.md */
    TERN_CRYPTO_BACKEND_GNUTLS = 1,
    TERN_CRYPTO_BACKEND_OPENSSL = 2,
} tern_crypto_backend_id;

typedef struct tern_crypto_backend {
    tern_crypto_backend_id id;
    const char *name; /* "gnutls", "openssl" */

    /* Keys an AEAD context (key is tern_aead_key_len(alg) bytes). All
     * per-packet state is allocated here, so seal and open never allocate. */
    tern_err (*aead_new)(tern_aead_ctx **out, tern_aead_alg alg, const uint8_t *key);
    void (*aead_free)(tern_aead_ctx *ctx); /* NULL is accepted; wipes the key */

    /* Encrypts data[0..len) in place and writes the 16-byte tag at data[len]
     * (the caller provides len + TERN_AEAD_TAG_LEN bytes). aad may point just
     * before data in the same buffer, as a QUIC header does. */
    tern_err (*aead_seal)(tern_aead_ctx *ctx, const uint8_t nonce[TERN_AEAD_NONCE_LEN],
                          const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len);

    /* Checks and decrypts data[0..len) in place, the tag being the 16 bytes
     * at data[len]. On TERN_ERR_DECRYPT data[0..len) holds no usable
     * plaintext (it may have been decrypted before the tag was checked) and
     * the tag bytes are untouched. */
    tern_err (*aead_open)(tern_aead_ctx *ctx, const uint8_t nonce[TERN_AEAD_NONCE_LEN],
                          const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len);

    /* Header protection (RFC 9001 §5.4): the AES suites use AES-ECB on the
     * sample, ChaCha20 uses the sample as block counter and nonce. The key is
     * tern_aead_key_len(alg) bytes. */
    tern_err (*hp_new)(tern_hp_ctx **out, tern_aead_alg alg, const uint8_t *key);
    void (*hp_free)(tern_hp_ctx *ctx);
    tern_err (*hp_mask)(tern_hp_ctx *ctx, const uint8_t sample[TERN_HP_SAMPLE_LEN],
                        uint8_t mask[TERN_HP_MASK_LEN]);

    /* RFC 5869. extract writes tern_hash_len(hash) bytes to prk; expand
     * writes out_len bytes (at most 255 * hash length). */
    tern_err (*hkdf_extract)(tern_hash_alg hash, const uint8_t *salt, size_t salt_len,
                             const uint8_t *ikm, size_t ikm_len, uint8_t *prk);
    tern_err (*hkdf_expand)(tern_hash_alg hash, const uint8_t *prk, size_t prk_len,
                            const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

    /* Cryptographically secure random bytes. */
    tern_err (*random)(uint8_t *out, size_t len);
} tern_crypto_backend;

extern const tern_crypto_backend tern_crypto_backend_gnutls;
extern const tern_crypto_backend tern_crypto_backend_openssl;

/* The backend with this id (TERN_CRYPTO_BACKEND_DEFAULT gives the default);
 * NULL for an unknown id. */
const tern_crypto_backend *tern_crypto_backend_get(tern_crypto_backend_id id);
/* Same as tern_crypto_backend_get(TERN_CRYPTO_BACKEND_DEFAULT). */
const tern_crypto_backend *tern_crypto_backend_default(void);
/* The backend measured fastest for one AEAD (docs/crypto.md): GnuTLS for
 * AES-GCM (10-15% faster here), OpenSSL for ChaCha20-Poly1305 (4x faster:
 * nettle has no vectorised ChaCha20 on x86-64). */
const tern_crypto_backend *tern_crypto_backend_for_alg(tern_aead_alg alg);
/* The backend called name ("gnutls", "openssl", "default"); NULL if none. */
const tern_crypto_backend *tern_crypto_backend_by_name(const char *name);

#endif
