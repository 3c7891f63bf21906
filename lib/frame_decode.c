/* Frame decoding (RFC 9000 §12.4, §19; SAA: profile §2). Zero-copy. */
#include <string.h>

#include "frame.h"
#include "varint.h"

/* A bounded cursor over the payload; every read checks the bound. */
typedef struct reader {
    const uint8_t *pos;
    size_t left;
} reader;

static bool read_varint(reader *r, uint64_t *v)
{
    size_t n = tern_varint_decode(r->pos, r->left, v);
    if (n == 0) return false;
    r->pos += n;
    r->left -= n;
    return true;
}

static bool read_bytes(reader *r, size_t n, const uint8_t **out)
{
    if (r->left < n) return false;
    *out = r->pos;
    r->pos += n;
    r->left -= n;
    return true;
}

/* A varint length followed by that many bytes. */
static bool read_length_prefixed(reader *r, const uint8_t **data, size_t *len)
{
    uint64_t n;
    if (!read_varint(r, &n) || n > r->left) return false;
    *len = (size_t)n;
    return read_bytes(r, *len, data);
}

static uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* §19.3, §19.3.1: checks every range so that no packet number goes below 0;
 * after this the iterator needs no checks. */
static tern_err decode_ack(reader *r, bool ecn, tern_ack_frame *ack)
{
    memset(ack, 0, sizeof(*ack));
    if (!read_varint(r, &ack->largest_acknowledged) || !read_varint(r, &ack->ack_delay) ||
        !read_varint(r, &ack->range_count) || !read_varint(r, &ack->first_ack_range))
        return TERN_FRAME_ENCODING_ERROR;
    if (ack->first_ack_range > ack->largest_acknowledged) return TERN_FRAME_ENCODING_ERROR;
    uint64_t smallest = ack->largest_acknowledged - ack->first_ack_range;
    ack->ranges = r->pos;
    /* Each pair takes at least 2 bytes, so this loop ends with the input. */
    for (uint64_t i = 0; i < ack->range_count; i++) {
        uint64_t gap, range_len;
        if (!read_varint(r, &gap) || !read_varint(r, &range_len)) return TERN_FRAME_ENCODING_ERROR;
        /* largest of this range = previous smallest - gap - 2 */
        if (smallest < 2 || gap > smallest - 2) return TERN_FRAME_ENCODING_ERROR;
        uint64_t largest = smallest - gap - 2;
        if (range_len > largest) return TERN_FRAME_ENCODING_ERROR;
        smallest = largest - range_len;
    }
    ack->ranges_len = (size_t)(r->pos - ack->ranges);
    ack->has_ecn = ecn;
    if (ecn && (!read_varint(r, &ack->ect0) || !read_varint(r, &ack->ect1) || !read_varint(r, &ack->ecn_ce)))
        return TERN_FRAME_ENCODING_ERROR;
    return TERN_OK;
}

static tern_err decode_stream(reader *r, uint64_t type, tern_stream_frame *s)
{
    memset(s, 0, sizeof(*s));
    s->fin = (type & TERN_STREAM_BIT_FIN) != 0;
    s->has_length = (type & TERN_STREAM_BIT_LEN) != 0;
    s->has_offset = (type & TERN_STREAM_BIT_OFF) != 0;
    if (!read_varint(r, &s->stream_id)) return TERN_FRAME_ENCODING_ERROR;
    if (s->has_offset && !read_varint(r, &s->offset)) return TERN_FRAME_ENCODING_ERROR;
    if (s->has_length) {
        if (!read_length_prefixed(r, &s->data, &s->len)) return TERN_FRAME_ENCODING_ERROR;
    } else {
        read_bytes(r, r->left, &s->data); /* §19.8: to the end of the packet */
        s->len = (size_t)(r->pos - s->data);
    }
    /* §19.8: the largest offset delivered must fit in 62 bits. */
    if (s->len > TERN_MAX_STREAM_OFFSET - s->offset) return TERN_FRAME_ENCODING_ERROR;
    return TERN_OK;
}

static tern_err decode_crypto(reader *r, tern_crypto_frame *c)
{
    if (!read_varint(r, &c->offset) || !read_length_prefixed(r, &c->data, &c->len))
        return TERN_FRAME_ENCODING_ERROR;
    /* §19.6: same 2^62-1 bound as streams. */
    if (c->len > TERN_MAX_STREAM_OFFSET - c->offset) return TERN_FRAME_ENCODING_ERROR;
    return TERN_OK;
}

static tern_err decode_new_connection_id(reader *r, tern_new_connection_id_frame *f)
{
    const uint8_t *len_byte;
    if (!read_varint(r, &f->sequence) || !read_varint(r, &f->retire_prior_to) || !read_bytes(r, 1, &len_byte))
        return TERN_FRAME_ENCODING_ERROR;
    /* §19.15: length 1..20, Retire Prior To <= Sequence Number. */
    f->cid_len = *len_byte;
    if (f->cid_len == 0 || f->cid_len > TERN_MAX_CID_LEN) return TERN_FRAME_ENCODING_ERROR;
    if (f->retire_prior_to > f->sequence) return TERN_FRAME_ENCODING_ERROR;
    if (!read_bytes(r, f->cid_len, &f->cid) ||
        !read_bytes(r, TERN_STATELESS_RESET_TOKEN_LEN, &f->stateless_reset_token))
        return TERN_FRAME_ENCODING_ERROR;
    return TERN_OK;
}

/* Address (n bytes) and port (16): all zeros means absent (profile §2). */
static bool read_address(reader *r, size_t n, uint8_t family, tern_addr *addr)
{
    const uint8_t *p;
    memset(addr, 0, sizeof(*addr));
    if (!read_bytes(r, n + 2, &p)) return false;
    if (all_zero(p, n + 2)) return true;
    addr->family = family;
    memcpy(addr->ip, p, n);
    addr->port = load_u16(p + n);
    return true;
}

static tern_err decode_saa(reader *r, tern_saa_frame *f)
{
    const uint8_t *len_byte;
    if (!read_varint(r, &f->sequence) || !read_address(r, 4, TERN_AF_INET, &f->ipv4) ||
        !read_address(r, 16, TERN_AF_INET6, &f->ipv6) || !read_bytes(r, 1, &len_byte))
        return TERN_FRAME_ENCODING_ERROR;
    f->cid_len = *len_byte;
    if (f->cid_len == 0 || f->cid_len > TERN_MAX_CID_LEN) return TERN_FRAME_ENCODING_ERROR;
    if (!read_bytes(r, f->cid_len, &f->cid) ||
        !read_bytes(r, TERN_STATELESS_RESET_TOKEN_LEN, &f->stateless_reset_token))
        return TERN_FRAME_ENCODING_ERROR;
    if (f->ipv4.family == TERN_AF_NONE && f->ipv6.family == TERN_AF_NONE) return TERN_FRAME_ENCODING_ERROR;
    return TERN_OK;
}

static tern_err decode_connection_close(reader *r, bool transport, tern_connection_close_frame *f)
{
    f->frame_type = 0;
    if (!read_varint(r, &f->error_code) || (transport && !read_varint(r, &f->frame_type)) ||
        !read_length_prefixed(r, &f->reason, &f->reason_len))
        return TERN_FRAME_ENCODING_ERROR;
    return TERN_OK;
}

static tern_err decode_body(const tern_frame_config *cfg, reader *r, uint64_t type, tern_frame *f)
{
    const uint8_t *p;
    switch (type) {
    case TERN_FRAME_PADDING:
        /* One frame for the whole run: a padded packet is mostly PADDING. */
        f->u.padding_len = 1;
        while (r->left && *r->pos == 0) {
            r->pos++;
            r->left--;
            f->u.padding_len++;
        }
        return TERN_OK;
    case TERN_FRAME_PING:
    case TERN_FRAME_HANDSHAKE_DONE:
        return TERN_OK;
    case TERN_FRAME_ACK:
    case TERN_FRAME_ACK_ECN:
        return decode_ack(r, type == TERN_FRAME_ACK_ECN, &f->u.ack);
    case TERN_FRAME_RESET_STREAM:
        return read_varint(r, &f->u.reset_stream.stream_id) && read_varint(r, &f->u.reset_stream.app_error_code) &&
                       read_varint(r, &f->u.reset_stream.final_size)
                   ? TERN_OK
                   : TERN_FRAME_ENCODING_ERROR;
    case TERN_FRAME_STOP_SENDING:
        return read_varint(r, &f->u.stop_sending.stream_id) && read_varint(r, &f->u.stop_sending.app_error_code)
                   ? TERN_OK
                   : TERN_FRAME_ENCODING_ERROR;
    case TERN_FRAME_CRYPTO:
        return decode_crypto(r, &f->u.crypto);
    case TERN_FRAME_NEW_TOKEN:
        /* §19.7: an empty token is a FRAME_ENCODING_ERROR. */
        if (!read_length_prefixed(r, &f->u.new_token.token, &f->u.new_token.len) || f->u.new_token.len == 0)
            return TERN_FRAME_ENCODING_ERROR;
        return TERN_OK;
    case TERN_FRAME_MAX_DATA:
    case TERN_FRAME_DATA_BLOCKED:
        f->u.limit.stream_id = 0;
        return read_varint(r, &f->u.limit.value) ? TERN_OK : TERN_FRAME_ENCODING_ERROR;
    case TERN_FRAME_MAX_STREAM_DATA:
    case TERN_FRAME_STREAM_DATA_BLOCKED:
        return read_varint(r, &f->u.limit.stream_id) && read_varint(r, &f->u.limit.value)
                   ? TERN_OK
                   : TERN_FRAME_ENCODING_ERROR;
    case TERN_FRAME_MAX_STREAMS_BIDI:
    case TERN_FRAME_MAX_STREAMS_UNI:
    case TERN_FRAME_STREAMS_BLOCKED_BIDI:
    case TERN_FRAME_STREAMS_BLOCKED_UNI:
        /* §19.11, §19.14: a stream count above 2^60 cannot be used. */
        f->u.limit.stream_id = 0;
        if (!read_varint(r, &f->u.limit.value) || f->u.limit.value > TERN_MAX_STREAMS_LIMIT)
            return TERN_FRAME_ENCODING_ERROR;
        return TERN_OK;
    case TERN_FRAME_NEW_CONNECTION_ID:
        return decode_new_connection_id(r, &f->u.new_connection_id);
    case TERN_FRAME_RETIRE_CONNECTION_ID:
        return read_varint(r, &f->u.retire_connection_id.sequence) ? TERN_OK : TERN_FRAME_ENCODING_ERROR;
    case TERN_FRAME_PATH_CHALLENGE:
    case TERN_FRAME_PATH_RESPONSE:
        if (!read_bytes(r, TERN_PATH_DATA_LEN, &p)) return TERN_FRAME_ENCODING_ERROR;
        memcpy(f->u.path.data, p, TERN_PATH_DATA_LEN);
        return TERN_OK;
    case TERN_FRAME_CONNECTION_CLOSE:
    case TERN_FRAME_CONNECTION_CLOSE_APP:
        return decode_connection_close(r, type == TERN_FRAME_CONNECTION_CLOSE, &f->u.close);
    default:
        if (type >= TERN_FRAME_STREAM && type <= (TERN_FRAME_STREAM | 0x07)) {
            f->type = TERN_FRAME_STREAM;
            return decode_stream(r, type, &f->u.stream);
        }
        if (type == cfg->saa_type) {
            f->type = TERN_FRAME_SAA;
            return decode_saa(r, &f->u.saa);
        }
        /* §12.4: an unknown frame type is a FRAME_ENCODING_ERROR. */
        return TERN_FRAME_ENCODING_ERROR;
    }
}

tern_err tern_frame_decode(const tern_frame_config *cfg, const uint8_t *in, size_t len, tern_frame *frame,
                           size_t *consumed)
{
    tern_frame_config defaults;
    if (cfg == NULL) {
        defaults = tern_frame_config_default();
        cfg = &defaults;
    }
    reader r = {in, len};
    uint64_t type;
    if (!read_varint(&r, &type)) return TERN_FRAME_ENCODING_ERROR;
    /* §12.4: frame types must use the shortest encoding. */
    if ((size_t)(r.pos - in) != tern_varint_size(type)) return TERN_PROTOCOL_VIOLATION;
    memset(frame, 0, sizeof(*frame));
    /* RFC 9000 types are their own tags; decode_body sets STREAM and SAA. */
    if (type <= TERN_FRAME_HANDSHAKE_DONE) frame->type = (tern_frame_type)type;
    tern_err err = decode_body(cfg, &r, type, frame);
    if (err != TERN_OK) return err;
    *consumed = (size_t)(r.pos - in);
    return TERN_OK;
}
