/* STUN codec (RFC 8489) and ChannelData framing (RFC 8656 §12.4). */
#include "stun.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Message type <-> method and class: the class bits C1 C0 sit at bits 8
 * and 4 of the type, the 12 method bits fill the rest (RFC 8489 §5). */
static uint16_t make_type(uint16_t method, uint8_t cls)
{
    return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                      ((cls & 1) << 4) | ((cls & 2) << 7));
}

bool stun_is_message(const uint8_t *buf, size_t len)
{
    if (!buf || len < STUN_HEADER_LEN) return false;
    if (buf[0] & 0xC0) return false;
    if (rd32(buf + 4) != STUN_MAGIC_COOKIE) return false;
    uint16_t mlen = rd16(buf + 2);
    return (mlen & 3) == 0 && (size_t)mlen + STUN_HEADER_LEN <= len;
}

/* ---- CRC-32 (reflected, polynomial 0xEDB88320), table built once ---- */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = true;
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    if (!crc_ready) crc_init();
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

uint32_t stun_crc32(const uint8_t *buf, size_t len) { return crc_update(0xFFFFFFFFu, buf, len) ^ 0xFFFFFFFFu; }

/* FINGERPRINT value for an attribute at offset at: CRC over msg[0..at)
 * with the length field covering it (at + 8 - 20). */
static uint32_t fingerprint_value(const uint8_t *msg, size_t at)
{
    uint8_t hdr[STUN_HEADER_LEN];
    memcpy(hdr, msg, sizeof hdr);
    wr16(hdr + 2, (uint16_t)(at + 8 - STUN_HEADER_LEN));
    uint32_t crc = crc_update(0xFFFFFFFFu, hdr, sizeof hdr);
    crc = crc_update(crc, msg + STUN_HEADER_LEN, at - STUN_HEADER_LEN);
    return (crc ^ 0xFFFFFFFFu) ^ STUN_FINGERPRINT_XOR;
}

int stun_compute_integrity(const uint8_t *msg, size_t at, const uint8_t *key, size_t key_len,
                           uint8_t out[STUN_INTEGRITY_LEN])
{
    if (!msg || !out || at < STUN_HEADER_LEN || (at & 3) || at + 24 - STUN_HEADER_LEN > 0xFFFF) return -1;
    uint8_t hdr[STUN_HEADER_LEN];
    memcpy(hdr, msg, sizeof hdr);
    wr16(hdr + 2, (uint16_t)(at + 24 - STUN_HEADER_LEN));
    gnutls_hmac_hd_t h;
    /* An empty key is legal HMAC input; GnuTLS wants a non-NULL pointer. */
    static const uint8_t nokey[1];
    if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA1, key_len ? key : nokey, key_len) < 0) return -1;
    int r = gnutls_hmac(h, hdr, sizeof hdr);
    if (r >= 0 && at > STUN_HEADER_LEN) r = gnutls_hmac(h, msg + STUN_HEADER_LEN, at - STUN_HEADER_LEN);
    gnutls_hmac_deinit(h, out);
    return r < 0 ? -1 : 0;
}

int stun_long_term_key(const char *username, const char *realm, size_t realm_len, const char *password,
                       uint8_t key[STUN_LONG_TERM_KEY_LEN])
{
    gnutls_hash_hd_t h;
    if (!username || !realm || !password || gnutls_hash_init(&h, GNUTLS_DIG_MD5) < 0) return -1;
    int r = 0;
    r |= gnutls_hash(h, username, strlen(username));
    r |= gnutls_hash(h, ":", 1);
    if (realm_len) r |= gnutls_hash(h, realm, realm_len);
    r |= gnutls_hash(h, ":", 1);
    r |= gnutls_hash(h, password, strlen(password));
    gnutls_hash_deinit(h, key);
    return r < 0 ? -1 : 0;
}

size_t stun_xor_addr_encode(const tern_addr *addr, const uint8_t tid[STUN_TID_LEN], uint8_t out[20])
{
    uint8_t mask[16];
    wr32(mask, STUN_MAGIC_COOKIE);
    memcpy(mask + 4, tid, STUN_TID_LEN);
    out[0] = 0;
    wr16(out + 2, (uint16_t)(addr->port ^ (STUN_MAGIC_COOKIE >> 16)));
    if (addr->family == TERN_AF_INET) {
        out[1] = 0x01;
        for (int i = 0; i < 4; i++) out[4 + i] = addr->ip[i] ^ mask[i];
        return 8;
    }
    if (addr->family == TERN_AF_INET6) {
        out[1] = 0x02;
        for (int i = 0; i < 16; i++) out[4 + i] = addr->ip[i] ^ mask[i];
        return 20;
    }
    return 0;
}

bool stun_xor_addr_decode(const uint8_t *v, size_t len, const uint8_t tid[STUN_TID_LEN], tern_addr *out)
{
    if (len < 4) return false;
    uint8_t mask[16];
    wr32(mask, STUN_MAGIC_COOKIE);
    memcpy(mask + 4, tid, STUN_TID_LEN);
    memset(out, 0, sizeof *out);
    out->port = (uint16_t)(rd16(v + 2) ^ (STUN_MAGIC_COOKIE >> 16));
    if (v[1] == 0x01 && len == 8) {
        out->family = TERN_AF_INET;
        for (int i = 0; i < 4; i++) out->ip[i] = v[4 + i] ^ mask[i];
        return true;
    }
    if (v[1] == 0x02 && len == 20) {
        out->family = TERN_AF_INET6;
        for (int i = 0; i < 16; i++) out->ip[i] = v[4 + i] ^ mask[i];
        return true;
    }
    memset(out, 0, sizeof *out);
    return false;
}

/* ---- Decoder ---- */

static bool known_attr(uint16_t t)
{
    switch (t) {
    case STUN_ATTR_MAPPED_ADDRESS: case STUN_ATTR_USERNAME: case STUN_ATTR_MESSAGE_INTEGRITY:
    case STUN_ATTR_ERROR_CODE: case STUN_ATTR_UNKNOWN_ATTRIBUTES: case STUN_ATTR_CHANNEL_NUMBER:
    case STUN_ATTR_LIFETIME: case STUN_ATTR_XOR_PEER_ADDRESS: case STUN_ATTR_DATA: case STUN_ATTR_REALM:
    case STUN_ATTR_NONCE: case STUN_ATTR_XOR_RELAYED_ADDRESS: case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case STUN_ATTR_EVEN_PORT: case STUN_ATTR_REQUESTED_TRANSPORT: case STUN_ATTR_DONT_FRAGMENT:
    case STUN_ATTR_MESSAGE_INTEGRITY_SHA256: case STUN_ATTR_PASSWORD_ALGORITHM: case STUN_ATTR_USERHASH:
    case STUN_ATTR_XOR_MAPPED_ADDRESS: case STUN_ATTR_RESERVATION_TOKEN: case STUN_ATTR_FINGERPRINT:
        return true;
    default: return false;
    }
}

int stun_decode(const uint8_t *buf, size_t len, stun_msg *msg)
{
    if (!buf || !msg) return STUN_ERR_SHORT;
    memset(msg, 0, sizeof *msg);
    if (len < STUN_HEADER_LEN) return STUN_ERR_SHORT;
    if ((buf[0] & 0xC0) || rd32(buf + 4) != STUN_MAGIC_COOKIE) return STUN_ERR_NOT_STUN;
    size_t mlen = rd16(buf + 2);
    if (mlen & 3) return STUN_ERR_BAD_LENGTH;
    if (mlen + STUN_HEADER_LEN > len) return STUN_ERR_SHORT;
    uint16_t type = rd16(buf);
    msg->method = (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
    msg->cls = (uint8_t)(((type >> 4) & 1) | ((type >> 7) & 2));
    memcpy(msg->tid, buf + 8, STUN_TID_LEN);
    msg->raw = buf;
    msg->len = mlen + STUN_HEADER_LEN;

    size_t off = STUN_HEADER_LEN, end = msg->len;
    bool after_mi = false;
    while (off < end) {
        if (end - off < 4) return STUN_ERR_BAD_ATTR;
        uint16_t t = rd16(buf + off), alen = rd16(buf + off + 2);
        size_t padded = ((size_t)alen + 3) & ~(size_t)3;
        if (padded > end - off - 4) return STUN_ERR_BAD_ATTR;
        const uint8_t *v = buf + off + 4;
        size_t at = off;
        off += 4 + padded;
        if (t == STUN_ATTR_FINGERPRINT) {
            if (alen != 4) return STUN_ERR_BAD_ATTR;
            msg->fingerprint_at = at;
            break; /* nothing may follow FINGERPRINT: ignore the rest */
        }
        if (after_mi) continue; /* only FINGERPRINT counts after MESSAGE-INTEGRITY */
        switch (t) {
        case STUN_ATTR_MESSAGE_INTEGRITY:
            if (alen != STUN_INTEGRITY_LEN) return STUN_ERR_BAD_ATTR;
            msg->integrity_at = at;
            after_mi = true;
            break;
        case STUN_ATTR_XOR_MAPPED_ADDRESS:
            if (msg->has_xor_mapped) break;
            if (!stun_xor_addr_decode(v, alen, msg->tid, &msg->xor_mapped)) return STUN_ERR_BAD_ATTR;
            msg->has_xor_mapped = true;
            break;
        case STUN_ATTR_XOR_PEER_ADDRESS:
            if (msg->has_xor_peer) break;
            if (!stun_xor_addr_decode(v, alen, msg->tid, &msg->xor_peer)) return STUN_ERR_BAD_ATTR;
            msg->has_xor_peer = true;
            break;
        case STUN_ATTR_XOR_RELAYED_ADDRESS:
            if (msg->has_xor_relayed) break;
            if (!stun_xor_addr_decode(v, alen, msg->tid, &msg->xor_relayed)) return STUN_ERR_BAD_ATTR;
            msg->has_xor_relayed = true;
            break;
        case STUN_ATTR_LIFETIME:
            if (alen != 4) return STUN_ERR_BAD_ATTR;
            if (!msg->has_lifetime) msg->lifetime = rd32(v);
            msg->has_lifetime = true;
            break;
        case STUN_ATTR_REQUESTED_TRANSPORT:
            if (alen != 4) return STUN_ERR_BAD_ATTR;
            if (!msg->has_requested_transport) msg->requested_transport = v[0];
            msg->has_requested_transport = true;
            break;
        case STUN_ATTR_CHANNEL_NUMBER:
            if (alen != 4) return STUN_ERR_BAD_ATTR;
            if (!msg->has_channel) msg->channel = rd16(v);
            msg->has_channel = true;
            break;
        case STUN_ATTR_ERROR_CODE: {
            if (alen < 4) return STUN_ERR_BAD_ATTR;
            unsigned cls = v[2] & 7, num = v[3];
            if (cls < 3 || cls > 6 || num > 99) return STUN_ERR_BAD_ATTR;
            if (!msg->has_error) {
                msg->error_code = (uint16_t)(cls * 100 + num);
                msg->error_reason = (stun_bytes){v + 4, (size_t)alen - 4};
            }
            msg->has_error = true;
            break;
        }
        case STUN_ATTR_USERNAME:
            if (!msg->username.p) msg->username = (stun_bytes){v, alen};
            break;
        case STUN_ATTR_REALM:
            if (!msg->realm.p) msg->realm = (stun_bytes){v, alen};
            break;
        case STUN_ATTR_NONCE:
            if (!msg->nonce.p) msg->nonce = (stun_bytes){v, alen};
            break;
        case STUN_ATTR_SOFTWARE:
            if (!msg->software.p) msg->software = (stun_bytes){v, alen};
            break;
        case STUN_ATTR_DATA:
            if (!msg->data.p) msg->data = (stun_bytes){v, alen};
            break;
        default:
            if (t < 0x8000 && !known_attr(t)) {
                if (msg->unknown_count < STUN_MAX_UNKNOWN) msg->unknown[msg->unknown_count] = t;
                msg->unknown_count++;
            }
            break;
        }
    }
    return STUN_ERR_OK;
}

int stun_check_integrity(const stun_msg *msg, const uint8_t *key, size_t key_len)
{
    if (!msg || !msg->raw || !msg->integrity_at) return STUN_ERR_INTEGRITY;
    uint8_t mac[STUN_INTEGRITY_LEN];
    if (stun_compute_integrity(msg->raw, msg->integrity_at, key, key_len, mac) != 0) return STUN_ERR_INTEGRITY;
    /* Constant-time compare. */
    uint8_t diff = 0;
    for (size_t i = 0; i < STUN_INTEGRITY_LEN; i++) diff |= mac[i] ^ msg->raw[msg->integrity_at + 4 + i];
    return diff ? STUN_ERR_INTEGRITY : STUN_ERR_OK;
}

int stun_check_fingerprint(const stun_msg *msg)
{
    if (!msg || !msg->raw || !msg->fingerprint_at) return STUN_ERR_FINGERPRINT;
    uint32_t want = fingerprint_value(msg->raw, msg->fingerprint_at);
    return rd32(msg->raw + msg->fingerprint_at + 4) == want ? STUN_ERR_OK : STUN_ERR_FINGERPRINT;
}

/* ---- Writer ---- */

void stun_w_init(stun_writer *w, uint8_t *buf, size_t cap, uint16_t method, uint8_t cls,
                 const uint8_t tid[STUN_TID_LEN])
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = !buf || cap < STUN_HEADER_LEN;
    if (w->overflow) return;
    wr16(buf, make_type(method, cls));
    wr16(buf + 2, 0);
    wr32(buf + 4, STUN_MAGIC_COOKIE);
    memcpy(buf + 8, tid, STUN_TID_LEN);
    w->len = STUN_HEADER_LEN;
}

void stun_w_attr(stun_writer *w, uint16_t type, const void *value, size_t len)
{
    size_t padded = (len + 3) & ~(size_t)3;
    if (w->overflow || len > 0xFFFF || w->cap - w->len < 4 + padded || w->len + 4 + padded - STUN_HEADER_LEN > 0xFFFF) {
        w->overflow = true;
        return;
    }
    uint8_t *p = w->buf + w->len;
    wr16(p, type);
    wr16(p + 2, (uint16_t)len);
    if (len) memcpy(p + 4, value, len);
    memset(p + 4 + len, 0, padded - len);
    w->len += 4 + padded;
}

void stun_w_u32(stun_writer *w, uint16_t type, uint32_t v)
{
    uint8_t b[4];
    wr32(b, v);
    stun_w_attr(w, type, b, 4);
}

void stun_w_channel(stun_writer *w, uint16_t channel)
{
    uint8_t b[4] = {(uint8_t)(channel >> 8), (uint8_t)channel, 0, 0};
    stun_w_attr(w, STUN_ATTR_CHANNEL_NUMBER, b, 4);
}

void stun_w_requested_transport(stun_writer *w, uint8_t proto)
{
    uint8_t b[4] = {proto, 0, 0, 0};
    stun_w_attr(w, STUN_ATTR_REQUESTED_TRANSPORT, b, 4);
}

void stun_w_xor_addr(stun_writer *w, uint16_t type, const tern_addr *addr)
{
    uint8_t v[20];
    if (w->overflow) return;
    size_t n = stun_xor_addr_encode(addr, w->buf + 8, v);
    if (!n) {
        w->overflow = true;
        return;
    }
    stun_w_attr(w, type, v, n);
}

void stun_w_error(stun_writer *w, uint16_t code, const char *reason)
{
    uint8_t v[4 + 256];
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 256) rl = 256;
    v[0] = v[1] = 0;
    v[2] = (uint8_t)((code / 100) & 7);
    v[3] = (uint8_t)(code % 100);
    if (rl) memcpy(v + 4, reason, rl);
    stun_w_attr(w, STUN_ATTR_ERROR_CODE, v, 4 + rl);
}

void stun_w_integrity(stun_writer *w, const uint8_t *key, size_t key_len)
{
    if (w->overflow || w->cap - w->len < 24) {
        w->overflow = true;
        return;
    }
    uint8_t mac[STUN_INTEGRITY_LEN];
    if (stun_compute_integrity(w->buf, w->len, key, key_len, mac) != 0) {
        w->overflow = true;
        return;
    }
    stun_w_attr(w, STUN_ATTR_MESSAGE_INTEGRITY, mac, sizeof mac);
}

void stun_w_fingerprint(stun_writer *w)
{
    if (w->overflow || w->cap - w->len < 8) {
        w->overflow = true;
        return;
    }
    uint8_t v[4];
    wr32(v, fingerprint_value(w->buf, w->len));
    stun_w_attr(w, STUN_ATTR_FINGERPRINT, v, 4);
}

int stun_w_finish(stun_writer *w)
{
    if (w->overflow) return STUN_ERR_NO_ROOM;
    wr16(w->buf + 2, (uint16_t)(w->len - STUN_HEADER_LEN));
    return (int)w->len;
}

/* ---- ChannelData ---- */

bool stun_is_channel_data(const uint8_t *buf, size_t len)
{
    return buf && len >= STUN_CHANNEL_HEADER_LEN && buf[0] >= 0x40 && buf[0] <= 0x4F;
}

int stun_channel_data_decode(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **payload,
                             size_t *payload_len)
{
    if (!buf || len < STUN_CHANNEL_HEADER_LEN) return STUN_ERR_SHORT;
    uint16_t ch = rd16(buf);
    if (ch < STUN_CHANNEL_MIN || ch > STUN_CHANNEL_MAX) return STUN_ERR_NOT_STUN;
    size_t n = rd16(buf + 2);
    if (n > len - STUN_CHANNEL_HEADER_LEN) return STUN_ERR_SHORT;
    *channel = ch;
    *payload = buf + STUN_CHANNEL_HEADER_LEN;
    *payload_len = n;
    return STUN_ERR_OK;
}

size_t stun_channel_data_encode(uint16_t channel, const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    if (!out || len > 0xFFFF || cap < STUN_CHANNEL_HEADER_LEN || cap - STUN_CHANNEL_HEADER_LEN < len) return 0;
    if (len) memmove(out + STUN_CHANNEL_HEADER_LEN, payload, len);
    wr16(out, channel);
    wr16(out + 2, (uint16_t)len);
    return STUN_CHANNEL_HEADER_LEN + len;
}
