/* QUIC frames (RFC 9000 §12.4, §19) and the SERVER_ALTERNATE_ADDRESS frame
 * (draft-saa-ali-quic, profile §2): decoding, encoding, classification.
 *
 * Decoding is zero-copy: pointers in tern_frame point into the packet
 * payload, which must outlive the frame. Nothing here allocates. Decoders
 * return TERN_FRAME_ENCODING_ERROR for a truncated or invalid frame or an
 * unknown type and TERN_PROTOCOL_VIOLATION for a frame type that is not
 * minimally encoded (§12.4): the caller closes the connection with it. */
#ifndef TERN_FRAME_H
#define TERN_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet_header.h"
#include "ack_range.h"
#include "tern/error.h"
#include "tern/types.h"

/* Frame types. The RFC 9000 values are the wire types (STREAM stands for
 * 0x08-0x0f, its flags are in tern_stream_frame). TERN_FRAME_SAA is only a
 * tag: the SAA wire type is tern_frame_config.saa_type. */
typedef enum tern_frame_type {
    TERN_FRAME_PADDING = 0x00,
    TERN_FRAME_PING = 0x01,
    TERN_FRAME_ACK = 0x02,
    TERN_FRAME_ACK_ECN = 0x03,
    TERN_FRAME_RESET_STREAM = 0x04,
    TERN_FRAME_STOP_SENDING = 0x05,
    TERN_FRAME_CRYPTO = 0x06,
    TERN_FRAME_NEW_TOKEN = 0x07,
    TERN_FRAME_STREAM = 0x08,
    TERN_FRAME_MAX_DATA = 0x10,
    TERN_FRAME_MAX_STREAM_DATA = 0x11,
    TERN_FRAME_MAX_STREAMS_BIDI = 0x12,
    TERN_FRAME_MAX_STREAMS_UNI = 0x13,
    TERN_FRAME_DATA_BLOCKED = 0x14,
    TERN_FRAME_STREAM_DATA_BLOCKED = 0x15,
    TERN_FRAME_STREAMS_BLOCKED_BIDI = 0x16,
    TERN_FRAME_STREAMS_BLOCKED_UNI = 0x17,
    TERN_FRAME_NEW_CONNECTION_ID = 0x18,
    TERN_FRAME_RETIRE_CONNECTION_ID = 0x19,
    TERN_FRAME_PATH_CHALLENGE = 0x1a,
    TERN_FRAME_PATH_RESPONSE = 0x1b,
    TERN_FRAME_CONNECTION_CLOSE = 0x1c,     /* transport error */
    TERN_FRAME_CONNECTION_CLOSE_APP = 0x1d, /* application error */
    TERN_FRAME_HANDSHAKE_DONE = 0x1e,
    TERN_FRAME_SAA = 0x100, /* tag only, see above */
} tern_frame_type;

/* STREAM type bits (RFC 9000 §19.8). */
#define TERN_STREAM_BIT_FIN 0x01
#define TERN_STREAM_BIT_LEN 0x02
#define TERN_STREAM_BIT_OFF 0x04

/* §19.8, §19.11: limits carried by frames. */
#define TERN_MAX_STREAM_OFFSET ((uint64_t)0x3fffffffffffffffULL)
#define TERN_MAX_STREAMS_LIMIT ((uint64_t)1 << 60)
#define TERN_PATH_DATA_LEN 8

/* Codec configuration (profile §1: codepoints are run-time settings). */
typedef struct tern_frame_config {
    uint64_t saa_type; /* wire type of SERVER_ALTERNATE_ADDRESS */
} tern_frame_config;

/* Default configuration (saa_type = TERN_SAA_FRAME_TYPE_DEFAULT). */
tern_frame_config tern_frame_config_default(void);

/* Checks a configuration: the SAA type must be a varint above the RFC 9000
 * frame types (it would otherwise be shadowed). Returns 0 or
 * TERN_ERR_INVALID_ARGUMENT. */
tern_err tern_frame_config_check(const tern_frame_config *cfg);

/* §19.3: ACK ranges are kept encoded (Gap, ACK Range Length pairs) to avoid
 * allocation; walk them with tern_ack_range_iter. */
typedef struct tern_ack_frame {
    uint64_t largest_acknowledged;
    uint64_t ack_delay;         /* as sent: scale with ack_delay_exponent */
    uint64_t first_ack_range;
    uint64_t range_count;       /* pairs after the first range */
    const uint8_t *ranges;      /* the encoded pairs */
    size_t ranges_len;
    bool has_ecn;               /* type 0x03 */
    uint64_t ect0, ect1, ecn_ce;
} tern_ack_frame;

typedef struct tern_reset_stream_frame {
    uint64_t stream_id;
    uint64_t app_error_code;
    uint64_t final_size;
} tern_reset_stream_frame;

typedef struct tern_stop_sending_frame {
    uint64_t stream_id;
    uint64_t app_error_code;
} tern_stop_sending_frame;

typedef struct tern_crypto_frame {
    uint64_t offset;
    const uint8_t *data;
    size_t len;
} tern_crypto_frame;

typedef struct tern_new_token_frame {
    const uint8_t *token;
    size_t len;                 /* never 0 */
} tern_new_token_frame;

typedef struct tern_stream_frame {
    uint64_t stream_id;
    uint64_t offset;            /* 0 when has_offset is false */
    const uint8_t *data;
    size_t len;
    bool fin;
    bool has_offset;            /* OFF bit: Offset field present */
    bool has_length;            /* LEN bit: else data runs to the end of the packet */
} tern_stream_frame;

/* MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS, *_BLOCKED: one shape. stream_id is
 * used by MAX_STREAM_DATA and STREAM_DATA_BLOCKED only. */
typedef struct tern_limit_frame {
    uint64_t stream_id;
    uint64_t value;
} tern_limit_frame;

typedef struct tern_new_connection_id_frame {
    uint64_t sequence;
    uint64_t retire_prior_to;
    const uint8_t *cid;
    uint8_t cid_len;            /* 1..20 */
    const uint8_t *stateless_reset_token; /* 16 bytes */
} tern_new_connection_id_frame;

typedef struct tern_retire_connection_id_frame {
    uint64_t sequence;
} tern_retire_connection_id_frame;

typedef struct tern_path_frame {
    uint8_t data[TERN_PATH_DATA_LEN];
} tern_path_frame;

typedef struct tern_connection_close_frame {
    uint64_t error_code;
    uint64_t frame_type;        /* transport close (0x1c) only */
    const uint8_t *reason;
    size_t reason_len;
} tern_connection_close_frame;

/* SERVER_ALTERNATE_ADDRESS (profile §2). An address sent as all zeros
 * (address and port) is absent: family TERN_AF_NONE. */
typedef struct tern_saa_frame {
    uint64_t sequence;
    tern_addr ipv4;
    tern_addr ipv6;
    const uint8_t *cid;
    uint8_t cid_len;            /* 1..20 */
    const uint8_t *stateless_reset_token; /* 16 bytes */
} tern_saa_frame;

typedef struct tern_frame {
    tern_frame_type type;
    union {
        size_t padding_len;     /* PADDING: run of consecutive 0x00 bytes */
        tern_ack_frame ack;     /* ACK and ACK_ECN */
        tern_reset_stream_frame reset_stream;
        tern_stop_sending_frame stop_sending;
        tern_crypto_frame crypto;
        tern_new_token_frame new_token;
        tern_stream_frame stream;
        tern_limit_frame limit; /* MAX_*, *_BLOCKED */
        tern_new_connection_id_frame new_connection_id;
        tern_retire_connection_id_frame retire_connection_id;
        tern_path_frame path;   /* PATH_CHALLENGE, PATH_RESPONSE */
        tern_connection_close_frame close; /* both CONNECTION_CLOSE types */
        tern_saa_frame saa;
    } u;
} tern_frame;

/* ---- Decoding ---- */

/* Decodes the frame at in[0..len) (len = the rest of the packet payload).
 * A run of PADDING bytes decodes as one frame. cfg may be NULL (defaults).
 * On success stores the frame and the bytes it took in *consumed. */
tern_err tern_frame_decode(const tern_frame_config *cfg, const uint8_t *in, size_t len, tern_frame *frame,
                           size_t *consumed);

/* Iterates over the ranges of a decoded ACK frame, largest first, each as
 * the inclusive interval [smallest, largest]. The first range comes from
 * First ACK Range. The frame was validated by the decoder, so the iterator
 * cannot fail. */
typedef struct tern_ack_range_iter {
    const uint8_t *pos;
    const uint8_t *end;
    uint64_t remaining;         /* ranges still to yield */
    uint64_t next_largest;
    uint64_t next_len;          /* ACK Range Length of the next range */
} tern_ack_range_iter;

void tern_ack_range_iter_init(tern_ack_range_iter *it, const tern_ack_frame *ack);
bool tern_ack_range_iter_next(tern_ack_range_iter *it, uint64_t *smallest, uint64_t *largest);

/* ---- Classification ---- */

/* RFC 9000 §12.4 Table 3: may a frame of this type (tern_frame.type) appear
 * in a packet of this type? A false answer is a PROTOCOL_VIOLATION for the
 * receiver. SAA: 1-RTT only (profile §2). */
bool tern_frame_allowed_in(tern_frame_type type, tern_packet_type packet_type);

/* §13.2, Table 3: every frame but ACK, PADDING and CONNECTION_CLOSE. */
bool tern_frame_is_ack_eliciting(tern_frame_type type);

/* §9.1: PATH_CHALLENGE, PATH_RESPONSE, NEW_CONNECTION_ID and PADDING. */
bool tern_frame_is_probing(tern_frame_type type);

/* "STREAM", "ACK", ... for logs. */
const char *tern_frame_type_name(tern_frame_type type);

/* ---- Encoding ----
 * Encoders write into out[0..cap) and return the bytes written, or 0 when the
 * frame does not fit or is invalid (nothing useful is left in out then). */

/* Encodes any frame from its struct, as the decoder describes it (ACK ranges
 * as already-encoded bytes; STREAM with its OFF/LEN/FIN flags). cfg may be
 * NULL. */
size_t tern_frame_encode(uint8_t *out, size_t cap, const tern_frame_config *cfg, const tern_frame *frame);

/* Bytes tern_frame_encode would write; 0 when the frame is invalid. */
size_t tern_frame_size(const tern_frame_config *cfg, const tern_frame *frame);

/* n PADDING bytes. */
size_t tern_frame_encode_padding(uint8_t *out, size_t cap, size_t n);

/* Encodes an ACK (ecn NULL) or ACK_ECN frame from ranges sorted largest
 * first, disjoint and not adjacent. When not all ranges fit, encodes as many
 * of the largest ones as do (§13.2.4 allows dropping the oldest ones) and
 * reports how many in *ranges_encoded (may be NULL). Returns 0 when not even
 * the first range fits or the ranges are not well ordered. */
size_t tern_frame_encode_ack(uint8_t *out, size_t cap, const tern_ack_range *ranges, size_t range_count,
                             uint64_t ack_delay, const tern_ecn_counts *ecn, size_t *ranges_encoded);

/* Encodes a STREAM frame carrying as much of data[0..len) as fits in cap,
 * and stores in *taken how many data bytes it holds. OFF is set when offset
 * is not 0. With last_in_packet the Length field is omitted (the frame runs
 * to the end of the packet, the caller must not add frames after it); else it
 * is written. FIN is set only when fin is asked and all data fitted. Returns
 * 0 when the header and at least one data byte (or, for len 0, the header
 * alone) do not fit. */
size_t tern_frame_encode_stream(uint8_t *out, size_t cap, uint64_t stream_id, uint64_t offset,
                                const uint8_t *data, size_t len, bool fin, bool last_in_packet, size_t *taken);

/* Encodes a CRYPTO frame carrying as much of data[0..len) as fits in cap and
 * stores the number of data bytes taken. Returns 0 when the header and at
 * least one byte do not fit. */
size_t tern_frame_encode_crypto(uint8_t *out, size_t cap, uint64_t offset, const uint8_t *data, size_t len,
                                size_t *taken);

/* Header bytes (everything but data) of a STREAM frame with a Length field,
 * and of a CRYPTO frame: for packet planning. */
size_t tern_frame_stream_overhead(uint64_t stream_id, uint64_t offset, size_t len);
size_t tern_frame_crypto_overhead(uint64_t offset, size_t len);

#endif
