/* STUN message codec (RFC 8489) with the TURN attributes (RFC 8656).
 *
 * Sans-IO and allocation-free: stun_decode parses a datagram into a
 * stun_msg whose pointers refer into the caller's buffer; stun_writer builds
 * a message into a caller's buffer. Decoding is bounds-checked throughout:
 * malformed input yields a negative STUN_ERR_* code, never a read outside
 * the buffer. Docs: docs/turn.md. */
#ifndef TERN_IO_STUN_H
#define TERN_IO_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/types.h"

#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_HEADER_LEN 20
#define STUN_TID_LEN 12
#define STUN_INTEGRITY_LEN 20 /* HMAC-SHA1 */
#define STUN_LONG_TERM_KEY_LEN 16 /* MD5(username ":" realm ":" password) */
#define STUN_FINGERPRINT_XOR 0x5354554eu

/* Methods (RFC 8489 §18.2, RFC 8656 §17). */
enum {
    STUN_BINDING = 0x001,
    STUN_ALLOCATE = 0x003,
    STUN_REFRESH = 0x004,
    STUN_SEND = 0x006,
    STUN_DATA = 0x007,
    STUN_CREATE_PERMISSION = 0x008,
    STUN_CHANNEL_BIND = 0x009,
};

/* Classes. */
enum { STUN_REQUEST = 0, STUN_INDICATION = 1, STUN_SUCCESS = 2, STUN_ERROR_RESPONSE = 3 };

/* Attribute types. */
enum {
    STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    STUN_ATTR_USERNAME = 0x0006,
    STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    STUN_ATTR_ERROR_CODE = 0x0009,
    STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    STUN_ATTR_CHANNEL_NUMBER = 0x000C,
    STUN_ATTR_LIFETIME = 0x000D,
    STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
    STUN_ATTR_DATA = 0x0013,
    STUN_ATTR_REALM = 0x0014,
    STUN_ATTR_NONCE = 0x0015,
    STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
    STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
    STUN_ATTR_EVEN_PORT = 0x0018,
    STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
    STUN_ATTR_DONT_FRAGMENT = 0x001A,
    STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
    STUN_ATTR_USERHASH = 0x001E,
    STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    STUN_ATTR_RESERVATION_TOKEN = 0x0022,
    STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
    STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
    STUN_ATTR_SOFTWARE = 0x8022,
    STUN_ATTR_ALTERNATE_SERVER = 0x8023,
    STUN_ATTR_FINGERPRINT = 0x8028,
};

/* Error codes. */
enum {
    STUN_ERR_OK = 0,
    STUN_ERR_SHORT = -1,      /* fewer bytes than the header or its length says */
    STUN_ERR_NOT_STUN = -2,   /* top bits set or no magic cookie: not STUN */
    STUN_ERR_BAD_LENGTH = -3, /* message length not a multiple of 4 */
    STUN_ERR_BAD_ATTR = -4,   /* an attribute overruns the message or has a bad value */
    STUN_ERR_NO_ROOM = -5,    /* writer: the buffer is too small */
    STUN_ERR_INTEGRITY = -6,  /* MESSAGE-INTEGRITY absent or wrong */
    STUN_ERR_FINGERPRINT = -7 /* FINGERPRINT absent or wrong */
};

/* Most comprehension-required attributes of one message stun_decode records
 * as unknown (more are counted but not stored). */
#define STUN_MAX_UNKNOWN 8

/* A byte string inside the decoded buffer (not NUL-terminated). */
typedef struct stun_bytes {
    const uint8_t *p; /* NULL: attribute absent */
    size_t len;
} stun_bytes;

/* A decoded message. Pointers refer into the buffer given to stun_decode,
 * which must outlive the stun_msg. Only the first instance of an attribute
 * counts (RFC 8489 §14); attributes after MESSAGE-INTEGRITY other than
 * FINGERPRINT, and anything after FINGERPRINT, are ignored (§14.5, §14.7). */
typedef struct stun_msg {
    uint16_t method; /* 12 bits */
    uint8_t cls;     /* STUN_REQUEST ... STUN_ERROR_RESPONSE */
    uint8_t tid[STUN_TID_LEN];
    const uint8_t *raw; /* the message, header included */
    size_t len;         /* STUN_HEADER_LEN + message length */

    bool has_xor_mapped, has_xor_peer, has_xor_relayed;
    tern_addr xor_mapped, xor_peer, xor_relayed;
    bool has_lifetime;
    uint32_t lifetime; /* seconds */
    bool has_requested_transport;
    uint8_t requested_transport; /* protocol number, 17 = UDP */
    bool has_channel;
    uint16_t channel;
    bool has_error;
    uint16_t error_code; /* 300..699 */
    stun_bytes error_reason;
    stun_bytes username, realm, nonce, software, data;

    /* Offsets from raw of the MESSAGE-INTEGRITY / FINGERPRINT attribute
     * headers; 0 when absent (offset 0 is the STUN header). */
    size_t integrity_at, fingerprint_at;

    /* Comprehension-required (type < 0x8000) attributes this codec does not
     * know, in order; unknown_count may exceed STUN_MAX_UNKNOWN. */
    uint16_t unknown[STUN_MAX_UNKNOWN];
    size_t unknown_count;
} stun_msg;

/* Quick classification of a datagram: true when it looks like STUN (top two
 * bits 0, magic cookie, length a multiple of 4 and within len). Who: a
 * demultiplexer, before stun_decode. */
bool stun_is_message(const uint8_t *buf, size_t len);

/* Parses buf[0..len). Bytes beyond the header's message length are ignored.
 * Returns STUN_ERR_OK with *msg filled, or a negative STUN_ERR_* (then *msg
 * is unspecified). */
int stun_decode(const uint8_t *buf, size_t len, stun_msg *msg);

/* Verifies msg's MESSAGE-INTEGRITY with key (the short-term password, or the
 * long-term key of stun_long_term_key). Returns STUN_ERR_OK or
 * STUN_ERR_INTEGRITY (absent or mismatch). */
int stun_check_integrity(const stun_msg *msg, const uint8_t *key, size_t key_len);

/* Verifies msg's FINGERPRINT. STUN_ERR_OK or STUN_ERR_FINGERPRINT. */
int stun_check_fingerprint(const stun_msg *msg);

/* HMAC-SHA1 that a MESSAGE-INTEGRITY attribute at offset at of msg (a whole
 * message, at least at + 24 bytes, at a multiple of 4 and >= 20) must hold:
 * over msg[0..at) with the header's length field set to cover the
 * attribute (at + 24 - 20). Returns 0, or -1 when the arguments are bad or
 * GnuTLS fails. */
int stun_compute_integrity(const uint8_t *msg, size_t at, const uint8_t *key, size_t key_len,
                           uint8_t out[STUN_INTEGRITY_LEN]);

/* CRC-32 (IEEE, as zlib's crc32) of buf[0..len). */
uint32_t stun_crc32(const uint8_t *buf, size_t len);

/* The long-term credential key (RFC 8489 §9.2.2): MD5 of
 * "username:realm:password", the strings taken as given (no SASLprep /
 * OpaqueString processing: callers pass already-prepared ASCII). Returns 0,
 * or -1 on a GnuTLS failure. */
int stun_long_term_key(const char *username, const char *realm, size_t realm_len, const char *password,
                       uint8_t key[STUN_LONG_TERM_KEY_LEN]);

/* XOR-*-ADDRESS values (RFC 8489 §14.2): encodes addr into out (8 bytes for
 * IPv4, 20 for IPv6) and returns the length, or 0 for another family. */
size_t stun_xor_addr_encode(const tern_addr *addr, const uint8_t tid[STUN_TID_LEN], uint8_t out[20]);
/* Decodes one; false when the value is malformed. */
bool stun_xor_addr_decode(const uint8_t *v, size_t len, const uint8_t tid[STUN_TID_LEN], tern_addr *out);

/* ---- Writer ---- */

typedef struct stun_writer {
    uint8_t *buf;
    size_t cap, len;
    bool overflow; /* something did not fit: stun_w_finish fails */
} stun_writer;

/* Starts a message (header with length 0) in buf[0..cap). tid is copied. */
void stun_w_init(stun_writer *w, uint8_t *buf, size_t cap, uint16_t method, uint8_t cls,
                 const uint8_t tid[STUN_TID_LEN]);
/* Appends an attribute, zero-padded to a multiple of 4. */
void stun_w_attr(stun_writer *w, uint16_t type, const void *value, size_t len);
void stun_w_u32(stun_writer *w, uint16_t type, uint32_t v);
/* CHANNEL-NUMBER (number, then 2 reserved zero bytes). */
void stun_w_channel(stun_writer *w, uint16_t channel);
/* REQUESTED-TRANSPORT (protocol, then 3 reserved zero bytes). */
void stun_w_requested_transport(stun_writer *w, uint8_t proto);
void stun_w_xor_addr(stun_writer *w, uint16_t type, const tern_addr *addr);
/* ERROR-CODE: class/number and reason phrase. */
void stun_w_error(stun_writer *w, uint16_t code, const char *reason);
/* Appends MESSAGE-INTEGRITY computed with key; call after every other
 * attribute but FINGERPRINT. */
void stun_w_integrity(stun_writer *w, const uint8_t *key, size_t key_len);
/* Appends FINGERPRINT; call last. */
void stun_w_fingerprint(stun_writer *w);
/* Sets the header's length; returns the message length in bytes, or
 * STUN_ERR_NO_ROOM when something did not fit. */
int stun_w_finish(stun_writer *w);

/* ---- ChannelData (RFC 8656 §12.4) ---- */

#define STUN_CHANNEL_MIN 0x4000
#define STUN_CHANNEL_MAX 0x4FFF
#define STUN_CHANNEL_HEADER_LEN 4

/* True when buf starts like a ChannelData message (first byte 0x40-0x4F). */
bool stun_is_channel_data(const uint8_t *buf, size_t len);
/* Parses a ChannelData message: channel number and payload (a pointer into
 * buf). Padding after the payload (up to a multiple of 4) is accepted and
 * ignored. Returns STUN_ERR_OK, STUN_ERR_SHORT (length beyond len) or
 * STUN_ERR_NOT_STUN (channel outside 0x4000-0x4FFF). */
int stun_channel_data_decode(const uint8_t *buf, size_t len, uint16_t *channel, const uint8_t **payload,
                             size_t *payload_len);
/* Writes header and payload (no padding: UDP) into out; returns the length,
 * or 0 when cap is too small or len > 65535. payload may overlap out + 4
 * (memmove). */
size_t stun_channel_data_encode(uint16_t channel, const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

#endif
