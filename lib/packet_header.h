/* QUIC packet headers: the version-independent invariants (RFC 8999) and the
 * QUIC v1 long and short headers (RFC 9000 §17), parsing and encoding.
 *
 * Parsing is zero-copy: every pointer in tern_packet_header points into the
 * datagram given to the parser. Any malformed header makes the parser return
 * TERN_ERR_DROP: RFC 9000 §12.2/§17 discards such packets without error.
 *
 * The parser works on header-protected packets: it never looks at the
 * protected bits of the first byte nor at the packet number. It returns the
 * offset of the packet number (pn_offset) for the header-protection module;
 * once that is removed, tern_packet_unprotected_bits() gives the packet
 * number length and the key phase. */
#ifndef TERN_PACKET_HEADER_H
#define TERN_PACKET_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"
#include "tern/types.h"

#define TERN_VERSION_1 0x00000001u
#define TERN_VERSION_NEGOTIATION 0x00000000u
/* RFC 9001 §5.8 */
#define TERN_RETRY_INTEGRITY_TAG_LEN 16
/* Forced size of the Length field the long header encoder writes by default:
 * 2 bytes hold any length up to 16383, more than any UDP payload tern sends. */
#define TERN_LENGTH_FIELD_DEFAULT_SIZE 2

/* First-byte bits (RFC 9000 §17.2, §17.3). */
#define TERN_HEADER_FORM_BIT 0x80
#define TERN_FIXED_BIT 0x40
#define TERN_LONG_TYPE_MASK 0x30
#define TERN_LONG_RESERVED_MASK 0x0c
#define TERN_SHORT_SPIN_BIT 0x20
#define TERN_SHORT_RESERVED_MASK 0x18
#define TERN_SHORT_KEY_PHASE_BIT 0x04
#define TERN_PN_LEN_MASK 0x03

typedef enum tern_packet_type {
    TERN_PKT_INITIAL = 0,   /* long type values of v1 (RFC 9000 §17.2) */
    TERN_PKT_0RTT = 1,
    TERN_PKT_HANDSHAKE = 2,
    TERN_PKT_RETRY = 3,
    TERN_PKT_VERSION_NEGOTIATION,
    TERN_PKT_1RTT,            /* short header */
    TERN_PKT_UNKNOWN_VERSION, /* long header of a version other than v1 */
} tern_packet_type;

/* Parser options. */
typedef struct tern_header_parse_config {
    /* Length of the connection IDs this endpoint issued: a short header does
     * not carry its DCID length (RFC 9000 §17.3). */
    size_t short_dcid_len;
    /* The peer may clear the fixed bit (RFC 9287 grease_quic_bit was
     * negotiated): do not drop packets whose fixed bit is 0. */
    bool grease_quic_bit;
} tern_header_parse_config;

/* A parsed header. Pointers point into the parsed datagram. */
typedef struct tern_packet_header {
    tern_packet_type type;
    bool is_long;
    uint8_t first_byte;         /* as received, still header-protected */
    uint32_t version;           /* long headers only */
    const uint8_t *dcid;
    size_t dcid_len;            /* up to 255 for unknown versions and VN */
    const uint8_t *scid;        /* long headers only */
    size_t scid_len;
    const uint8_t *token;       /* Initial token, or the Retry token */
    size_t token_len;
    const uint8_t *retry_integrity_tag; /* Retry: the last 16 bytes */
    const uint8_t *versions;    /* Version Negotiation: 4-byte versions */
    size_t version_count;
    /* Initial, 0-RTT, Handshake, 1-RTT: offset of the (still protected)
     * packet number from the start of the packet. 0 otherwise. */
    size_t pn_offset;
    /* Bytes this packet occupies in the datagram, header included: up to the
     * end of the Length field's payload for Initial/0-RTT/Handshake (RFC 9000
     * §12.2, the next coalesced packet starts there); the rest of the
     * datagram for every other packet. */
    size_t packet_len;
} tern_packet_header;

/* Parses only what RFC 8999 guarantees for every version: header form, the
 * version and connection IDs (up to 255 bytes) of long headers, the DCID of
 * short headers (short_dcid_len bytes). type is TERN_PKT_1RTT for a short
 * header, TERN_PKT_VERSION_NEGOTIATION for version 0, else
 * TERN_PKT_UNKNOWN_VERSION; packet_len is the rest of the datagram. Used to
 * route a datagram before its version is known. Returns 0 or TERN_ERR_DROP. */
tern_err tern_packet_header_parse_invariant(const uint8_t *pkt, size_t len, size_t short_dcid_len,
                                            tern_packet_header *hdr);

/* Parses the first packet in pkt[0..len) (a datagram, or the rest of one):
 * v1 long headers completely (Initial token, Length, Retry token and tag),
 * Version Negotiation, short headers as v1 1-RTT, and other versions as
 * invariants only. cfg may be NULL (short DCID length 0, no greasing).
 * Returns 0, or TERN_ERR_DROP when the packet must be discarded: truncated
 * fields, a v1 connection ID over 20 bytes, a Length beyond the datagram,
 * the fixed bit 0 without grease_quic_bit, a Retry without token, a Version
 * Negotiation packet without versions or with a partial one. */
tern_err tern_packet_header_parse(const uint8_t *pkt, size_t len, const tern_header_parse_config *cfg,
                                  tern_packet_header *hdr);

/* Length of the first packet of a datagram, to step over coalesced packets
 * (RFC 9000 §12.2). Returns 0, or TERN_ERR_DROP as tern_packet_header_parse
 * (then the rest of the datagram cannot be delimited and is dropped). */
tern_err tern_packet_first_length(const uint8_t *dgram, size_t len, const tern_header_parse_config *cfg,
                                  size_t *packet_len);

/* The i-th version of a Version Negotiation packet (i < version_count). */
uint32_t tern_packet_vn_version(const tern_packet_header *hdr, size_t i);

/* Bits of the first byte once header protection is removed. */
typedef struct tern_header_bits {
    size_t pn_len;      /* 1..4 */
    bool key_phase;     /* short header only */
    bool spin;          /* short header only */
} tern_header_bits;

/* Reads the packet number length, key phase and spin bit from the
 * unprotected first byte. Returns TERN_PROTOCOL_VIOLATION when the reserved
 * bits are not zero (RFC 9000 §17.2, §17.3.1); bits is filled in any case.
 * The RFC makes this an error only after packet protection is removed too, so
 * that forged packets cannot close a connection: decrypt first (using
 * bits->pn_len), and act on the error only when the AEAD succeeded. */
tern_err tern_packet_unprotected_bits(uint8_t first_byte, tern_header_bits *bits);

/* ---- Encoding ---- */

/* What an Initial, 0-RTT or Handshake header holds. */
typedef struct tern_long_header_fields {
    tern_packet_type type;      /* TERN_PKT_INITIAL, _0RTT or _HANDSHAKE */
    uint32_t version;
    const uint8_t *dcid;
    size_t dcid_len;            /* <= 20 */
    const uint8_t *scid;
    size_t scid_len;            /* <= 20 */
    const uint8_t *token;       /* Initial only; may be NULL when token_len 0 */
    size_t token_len;
    uint64_t packet_number;     /* full; truncated to pn_len bytes */
    size_t pn_len;              /* 1..4 */
    size_t length_field_size;   /* 1, 2, 4 or 8; 0 = TERN_LENGTH_FIELD_DEFAULT_SIZE */
} tern_long_header_fields;

/* Where things are in an encoded long header. */
typedef struct tern_long_header_layout {
    size_t length_offset;   /* the Length placeholder */
    size_t length_size;     /* its forced varint size */
    size_t pn_offset;       /* the packet number */
    size_t header_len;      /* pn_offset + pn_len: the payload starts here */
} tern_long_header_layout;

/* Encodes a long header with a zero Length placeholder of
 * length_field_size bytes, so the payload can be written before its size is
 * known; tern_long_header_patch_length() fills it in. The reserved bits are
 * 0. Returns the header length (also layout->header_len), or 0 when it does
 * not fit in cap or a field is invalid. */
size_t tern_long_header_encode(uint8_t *out, size_t cap, const tern_long_header_fields *f,
                               tern_long_header_layout *layout);

/* Sets the Length field of an encoded long header for a packet whose last
 * byte (AEAD tag included) is at packet[packet_len - 1]: Length counts the
 * packet number and the protected payload (RFC 9000 §17.2). Returns 0, or
 * TERN_ERR_INVALID_ARGUMENT when the value does not fit the placeholder. */
tern_err tern_long_header_patch_length(uint8_t *packet, const tern_long_header_layout *layout,
                                       size_t packet_len);

/* What a 1-RTT (short) header holds. */
typedef struct tern_short_header_fields {
    const uint8_t *dcid;
    size_t dcid_len;            /* <= 20 */
    bool spin;
    bool key_phase;
    uint64_t packet_number;
    size_t pn_len;              /* 1..4 */
} tern_short_header_fields;

/* Encodes a short header. Returns the header length (the packet number
 * starts at header length - pn_len), or 0 when it does not fit or a field is
 * invalid. */
size_t tern_short_header_encode(uint8_t *out, size_t cap, const tern_short_header_fields *f);

/* Encodes a Version Negotiation packet (RFC 9000 §17.2.1, RFC 8999 §6)
 * answering a client packet: dcid is the client's SCID, scid the client's
 * DCID (each up to 255 bytes). unused_random supplies the 7 arbitrary bits of
 * the first byte; the 0x40 bit is always set (§17.2.1, for demultiplexing).
 * Returns bytes written, or 0 when it does not fit or versions is empty. */
size_t tern_version_negotiation_encode(uint8_t *out, size_t cap, const uint8_t *dcid, size_t dcid_len,
                                       const uint8_t *scid, size_t scid_len, const uint32_t *versions,
                                       size_t version_count, uint8_t unused_random);

/* Encodes a Retry packet without its Integrity Tag (RFC 9000 §17.2.5); the
 * caller computes the tag over tern_retry_pseudo_prefix() + these bytes
 * (RFC 9001 §5.8) and appends it. token must not be empty. unused_random
 * supplies the 4 unused bits. Returns bytes written, or 0. */
size_t tern_retry_encode(uint8_t *out, size_t cap, uint32_t version, const uint8_t *dcid, size_t dcid_len,
                         const uint8_t *scid, size_t scid_len, const uint8_t *token, size_t token_len,
                         uint8_t unused_random);

/* Writes the start of the Retry pseudo-packet (RFC 9001 §5.8): ODCID Length
 * (8) and Original Destination Connection ID. The Retry packet without its
 * tag follows. Returns bytes written, or 0. */
size_t tern_retry_pseudo_prefix(uint8_t *out, size_t cap, const uint8_t *odcid, size_t odcid_len);

#endif
