/* In-memory self-signed certificates for tools and tests: an ECDSA P-256 key
 * and a certificate naming the given hosts in its subjectAltName. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls.h"

/* Copies a GnuTLS datum into a malloc'd NUL-terminated string. */
static tern_err datum_to_string(const gnutls_datum_t *datum, char **out, size_t *out_len)
{
    char *copy = malloc((size_t)datum->size + 1);
    if (!copy) return TERN_ERR_NOMEM;
    memcpy(copy, datum->data, datum->size);
    copy[datum->size] = '\0';
    *out = copy;
    *out_len = datum->size;
    return TERN_OK;
}

static int add_host_name(gnutls_x509_crt_t crt, const char *host)
{
    unsigned char ip[16];
    if (inet_pton(AF_INET, host, ip) == 1)
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4, GNUTLS_FSAN_APPEND);
    if (inet_pton(AF_INET6, host, ip) == 1)
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16, GNUTLS_FSAN_APPEND);
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host, (unsigned)strlen(host),
                                                GNUTLS_FSAN_APPEND);
}

static int build_certificate(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *const *hosts,
                             size_t host_count, unsigned valid_days)
{
    int ret;
    if ((ret = gnutls_x509_crt_set_version(crt, 3)) < 0) return ret;
    /* RFC 5280 §4.1.2.2: positive, unique per issuer; 16 random bytes with
     * the top bit cleared so the INTEGER stays positive. */
    unsigned char serial[16];
    if ((ret = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial)) < 0) return ret;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    if ((ret = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0) return ret;

    /* Config-time helper, so reading the clock here is acceptable. Backdate
     * an hour to tolerate clock skew between test machines. */
    time_t now = time(NULL);
    if ((ret = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0) return ret;
    if ((ret = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)valid_days * 86400)) < 0) return ret;

    const char *common_name = hosts[0];
    if ((ret = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                             (unsigned)strlen(common_name))) < 0)
        return ret;
    for (size_t i = 0; i < host_count; i++)
        if ((ret = add_host_name(crt, hosts[i])) < 0) return ret;

    if ((ret = gnutls_x509_crt_set_key(crt, key)) < 0) return ret;
    /* An end-entity certificate that a client trusts directly (no CA). */
    if ((ret = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0) return ret;
    if ((ret = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0) return ret;
    if ((ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) return ret;
    if ((ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0) return ret;

    unsigned char key_id[64];
    size_t key_id_len = sizeof key_id;
    if ((ret = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_len)) < 0) return ret;
    if ((ret = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_len)) < 0) return ret;

    return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
}

tern_err tern_tls_cert_generate(const char *const *hosts, size_t host_count, unsigned valid_days,
                                char **cert_pem, size_t *cert_len, char **key_pem, size_t *key_len)
{
    if (!hosts || host_count == 0 || !cert_pem || !cert_len || !key_pem || !key_len || valid_days == 0)
        return TERN_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < host_count; i++)
        if (!hosts[i] || !*hosts[i]) return TERN_ERR_INVALID_ARGUMENT;
    *cert_pem = *key_pem = NULL;
    *cert_len = *key_len = 0;

    tern_err err = TERN_ERR_CRYPTO_BACKEND;
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t cert_datum = {NULL, 0}, key_datum = {NULL, 0};

    if (gnutls_x509_privkey_init(&key) < 0) {
        key = NULL;
        goto out;
    }
    if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
        goto out;
    if (gnutls_x509_crt_init(&crt) < 0) {
        crt = NULL;
        goto out;
    }
    if (build_certificate(crt, key, hosts, host_count, valid_days) < 0) goto out;
    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cert_datum) < 0) goto out;
    if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_datum) < 0) goto out;

    err = datum_to_string(&cert_datum, cert_pem, cert_len);
    if (!err) err = datum_to_string(&key_datum, key_pem, key_len);
    if (err) {
        free(*cert_pem);
        *cert_pem = NULL;
        *cert_len = 0;
    }
out:
    if (key_datum.data) {
        gnutls_memset(key_datum.data, 0, key_datum.size);
        gnutls_free(key_datum.data);
    }
    if (cert_datum.data) gnutls_free(cert_datum.data);
    if (crt) gnutls_x509_crt_deinit(crt);
    if (key) gnutls_x509_privkey_deinit(key);
    return err;
}
