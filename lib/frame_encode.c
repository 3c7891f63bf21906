/* Frame encoding (RFC 9000 §19; SAA: profile §2). */
#include <string.h>

#include "frame.h"
#include "varint.h"

/* A bounded output cursor. With out == NULL it only counts, which gives the
 * size functions for free. Any failed write clears ok. */
typedef struct writer {
    uint8_t *out;
    size_t cap;
    size_t len;
    bool ok;
} writer;

static void put_bytes(writer *w, const uint8_t *p, size_t n)
{
    if (!w->ok || w->cap - w->len < n) {
        w->ok = false;
        return;
    }
    if (w->out && n) memcpy(w->out + w->len, p, n);
    w->len += n;
}

static void put_zeros(writer *w, size_t n)
{
    if (!w->ok || w->cap - w->len < n) {
        w->ok = false;
        return;
    }
    if (w->out) memset(w->out + w->len, 0, n);
    w->len += n;
}

static void put_varint(writer *w, uint64_t v)
{
    uint8_t buf[8];
    size_t n = tern_varint_encode(buf, sizeof(buf), v);
    if (n == 0) {
        w->ok = false;
        return;
    }
    put_bytes(w, buf, n);
}

static void put_u8(writer *w, uint8_t v)
{
    put_bytes(w, &v, 1);
}

static void put_address(writer *w, const tern_addr *addr, uint8_t family, size_t ip_len)
{
    if (addr->family == TERN_AF_NONE) {
        put_zeros(w, ip_len + 2); /* profile §2: all zeros = absent */
        return;
    }
    if (addr->family != family) {
        w->ok = false;
        return;
    }
    uint8_t port[2] = {(uint8_t)(addr->port >> 8), (uint8_t)addr->port};
    put_bytes(w, addr->ip, ip_len);
    put_bytes(w, port, 2);
}

static bool cid_len_valid(size_t len)
{
    return len >= 1 && len <= TERN_MAX_CID_LEN;
}

static void write_ack(writer *w, const tern_ack_frame *a)
{
    if (a->first_ack_range > a->largest_acknowledged) {
        w->ok = false;
        return;
    }
    put_varint(w, a->has_ecn ? TERN_FRAME_ACK_ECN : TERN_FRAME_ACK);
    put_varint(w, a->largest_acknowledged);
    put_varint(w, a->ack_delay);
    put_varint(w, a->range_count);
    put_varint(w, a->first_ack_range);
    /* The pairs are copied as decoded: they were validated then. */
    put_bytes(w, a->ranges, a->ranges_len);
    if (a->has_ecn) {
        put_varint(w, a->ect0);
        put_varint(w, a->ect1);
        put_varint(w, a->ecn_ce);
    }
}

static void write_stream(writer *w, const tern_stream_frame *s)
{
    if ((!s->has_offset && s->offset != 0) || s->len > TERN_MAX_STREAM_OFFSET - s->offset) {
        w->ok = false;
        return;
    }
    uint8_t type = TERN_FRAME_STREAM | (s->has_offset ? TERN_STREAM_BIT_OFF : 0) |
                   (s->has_length ? TERN_STREAM_BIT_LEN : 0) | (s->fin ? TERN_STREAM_BIT_FIN : 0);
    put_u8(w, type);
    put_varint(w, s->stream_id);
    if (s->has_offset) put_varint(w, s->offset);
    if (s->has_length) put_varint(w, s->len);
    put_bytes(w, s->data, s->len);
}

static void write_new_connection_id(writer *w, const tern_new_connection_id_frame *f)
{
    if (!cid_len_valid(f->cid_len) || f->retire_prior_to > f->sequence) {
        w->ok = false;
        return;
    }
    put_u8(w, TERN_FRAME_NEW_CONNECTION_ID);
    put_varint(w, f->sequence);
    put_varint(w, f->retire_prior_to);
    put_u8(w, f->cid_len);
    put_bytes(w, f->cid, f->cid_len);
    put_bytes(w, f->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
}

static void write_saa(writer *w, uint64_t saa_type, const tern_saa_frame *f)
{
    if (!cid_len_valid(f->cid_len) || (f->ipv4.family == TERN_AF_NONE && f->ipv6.family == TERN_AF_NONE)) {
        w->ok = false;
        return;
    }
    put_varint(w, saa_type);
    put_varint(w, f->sequence);
    put_address(w, &f->ipv4, TERN_AF_INET, 4);
    put_address(w, &f->ipv6, TERN_AF_INET6, 16);
    put_u8(w, f->cid_len);
    put_bytes(w, f->cid, f->cid_len);
    put_bytes(w, f->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
}

static void write_frame(writer *w, uint64_t saa_type, const tern_frame *f)
{
    const tern_limit_frame *l = &f->u.limit;
    switch (f->type) {
    case TERN_FRAME_PADDING:
        if (f->u.padding_len == 0) w->ok = false;
        put_zeros(w, f->u.padding_len);
        return;
    case TERN_FRAME_PING:
    case TERN_FRAME_HANDSHAKE_DONE:
        put_u8(w, (uint8_t)f->type);
        return;
    case TERN_FRAME_ACK:
    case TERN_FRAME_ACK_ECN:
        write_ack(w, &f->u.ack);
        return;
    case TERN_FRAME_RESET_STREAM:
        put_u8(w, TERN_FRAME_RESET_STREAM);
        put_varint(w, f->u.reset_stream.stream_id);
        put_varint(w, f->u.reset_stream.app_error_code);
        put_varint(w, f->u.reset_stream.final_size);
        return;
    case TERN_FRAME_STOP_SENDING:
        put_u8(w, TERN_FRAME_STOP_SENDING);
        put_varint(w, f->u.stop_sending.stream_id);
        put_varint(w, f->u.stop_sending.app_error_code);
        return;
    case TERN_FRAME_CRYPTO:
        if (f->u.crypto.len > TERN_MAX_STREAM_OFFSET - f->u.crypto.offset) w->ok = false;
        put_u8(w, TERN_FRAME_CRYPTO);
        put_varint(w, f->u.crypto.offset);
        put_varint(w, f->u.crypto.len);
        put_bytes(w, f->u.crypto.data, f->u.crypto.len);
        return;
    case TERN_FRAME_NEW_TOKEN:
        if (f->u.new_token.len == 0) w->ok = false;
        put_u8(w, TERN_FRAME_NEW_TOKEN);
        put_varint(w, f->u.new_token.len);
        put_bytes(w, f->u.new_token.token, f->u.new_token.len);
        return;
    case TERN_FRAME_STREAM:
        write_stream(w, &f->u.stream);
        return;
    case TERN_FRAME_MAX_DATA:
    case TERN_FRAME_DATA_BLOCKED:
        put_u8(w, (uint8_t)f->type);
        put_varint(w, l->value);
        return;
    case TERN_FRAME_MAX_STREAM_DATA:
    case TERN_FRAME_STREAM_DATA_BLOCKED:
        put_u8(w, (uint8_t)f->type);
        put_varint(w, l->stream_id);
        put_varint(w, l->value);
        return;
    case TERN_FRAME_MAX_STREAMS_BIDI:
    case TERN_FRAME_MAX_STREAMS_UNI:
    case TERN_FRAME_STREAMS_BLOCKED_BIDI:
    case TERN_FRAME_STREAMS_BLOCKED_UNI:
        if (l->value > TERN_MAX_STREAMS_LIMIT) w->ok = false;
        put_u8(w, (uint8_t)f->type);
        put_varint(w, l->value);
        return;
    case TERN_FRAME_NEW_CONNECTION_ID:
        write_new_connection_id(w, &f->u.new_connection_id);
        return;
    case TERN_FRAME_RETIRE_CONNECTION_ID:
        put_u8(w, TERN_FRAME_RETIRE_CONNECTION_ID);
        put_varint(w, f->u.retire_connection_id.sequence);
        return;
    case TERN_FRAME_PATH_CHALLENGE:
    case TERN_FRAME_PATH_RESPONSE:
        put_u8(w, (uint8_t)f->type);
        put_bytes(w, f->u.path.data, TERN_PATH_DATA_LEN);
        return;
    case TERN_FRAME_CONNECTION_CLOSE:
    case TERN_FRAME_CONNECTION_CLOSE_APP:
        put_u8(w, (uint8_t)f->type);
        put_varint(w, f->u.close.error_code);
        if (f->type == TERN_FRAME_CONNECTION_CLOSE) put_varint(w, f->u.close.frame_type);
        put_varint(w, f->u.close.reason_len);
        put_bytes(w, f->u.close.reason, f->u.close.reason_len);
        return;
    case TERN_FRAME_SAA:
        write_saa(w, saa_type, &f->u.saa);
        return;
    }
    w->ok = false; /* not a frame type */
}

size_t tern_frame_encode(uint8_t *out, size_t cap, const tern_frame_config *cfg, const tern_frame *frame)
{
    writer w = {out, cap, 0, true};
    write_frame(&w, cfg ? cfg->saa_type : TERN_SAA_FRAME_TYPE_DEFAULT, frame);
    return w.ok ? w.len : 0;
}

size_t tern_frame_size(const tern_frame_config *cfg, const tern_frame *frame)
{
    return tern_frame_encode(NULL, SIZE_MAX, cfg, frame);
}

size_t tern_frame_encode_padding(uint8_t *out, size_t cap, size_t n)
{
    if (n == 0 || cap < n) return 0;
    memset(out, 0, n);
    return n;
}

/* Bytes of the Gap/ACK Range Length pair that encodes ranges[i] (i >= 1). */
static size_t ack_pair_size(const tern_ack_range *ranges, size_t i)
{
    uint64_t gap = ranges[i - 1].smallest - ranges[i].largest - 2;
    return tern_varint_size(gap) + tern_varint_size(ranges[i].largest - ranges[i].smallest);
}

static bool ack_ranges_ordered(const tern_ack_range *ranges, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (ranges[i].smallest > ranges[i].largest || ranges[i].largest > TERN_VARINT_MAX) return false;
        /* §19.3.1: a Gap encodes at least one missing packet between ranges. */
        if (i > 0 && (ranges[i - 1].smallest < 2 || ranges[i].largest > ranges[i - 1].smallest - 2)) return false;
    }
    return true;
}

size_t tern_frame_encode_ack(uint8_t *out, size_t cap, const tern_ack_range *ranges, size_t range_count,
                             uint64_t ack_delay, const tern_ecn_counts *ecn, size_t *ranges_encoded)
{
    if (range_count == 0 || !ack_ranges_ordered(ranges, range_count)) return 0;
    size_t fixed = 1 + tern_varint_size(ranges[0].largest) + tern_varint_size(ack_delay) +
                   tern_varint_size(ranges[0].largest - ranges[0].smallest);
    if (ecn) fixed += tern_varint_size(ecn->ect0) + tern_varint_size(ecn->ect1) + tern_varint_size(ecn->ce);
    if (tern_varint_size(ack_delay) == 0) return 0;
    /* Take ranges while they fit; the size only grows with their number. */
    size_t pairs_size = 0;
    size_t n = 1;
    if (fixed + tern_varint_size(0) > cap) return 0;
    while (n < range_count) {
        size_t more = pairs_size + ack_pair_size(ranges, n);
        if (fixed + tern_varint_size(n) + more > cap) break;
        pairs_size = more;
        n++;
    }
    writer w = {out, cap, 0, true};
    put_u8(&w, ecn ? TERN_FRAME_ACK_ECN : TERN_FRAME_ACK);
    put_varint(&w, ranges[0].largest);
    put_varint(&w, ack_delay);
    put_varint(&w, n - 1);
    put_varint(&w, ranges[0].largest - ranges[0].smallest);
    for (size_t i = 1; i < n; i++) {
        put_varint(&w, ranges[i - 1].smallest - ranges[i].largest - 2);
        put_varint(&w, ranges[i].largest - ranges[i].smallest);
    }
    if (ecn) {
        put_varint(&w, ecn->ect0);
        put_varint(&w, ecn->ect1);
        put_varint(&w, ecn->ce);
    }
    if (!w.ok) return 0;
    if (ranges_encoded) *ranges_encoded = n;
    return w.len;
}

/* Largest amount of data (<= len) that fits in avail bytes together with a
 * varint Length field for it; avail < 1 gives 0 with *ok false. */
static size_t fit_with_length(size_t avail, size_t len, bool *ok)
{
    static const size_t sizes[] = {1, 2, 4, 8};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if (avail < sizes[i]) break;
        size_t take = len < avail - sizes[i] ? len : avail - sizes[i];
        /* The first size that holds its own take gives the largest take. */
        if (tern_varint_size(take) <= sizes[i]) {
            *ok = true;
            return take;
        }
    }
    *ok = false;
    return 0;
}

size_t tern_frame_encode_stream(uint8_t *out, size_t cap, uint64_t stream_id, uint64_t offset,
                                const uint8_t *data, size_t len, bool fin, bool last_in_packet, size_t *taken)
{
    size_t head = 1 + tern_varint_size(stream_id) + (offset ? tern_varint_size(offset) : 0);
    if (tern_varint_size(stream_id) == 0 || tern_varint_size(offset) == 0 || cap < head) return 0;
    size_t avail = cap - head;
    /* §19.8: never past offset 2^62-1. */
    if (len > TERN_MAX_STREAM_OFFSET - offset) len = (size_t)(TERN_MAX_STREAM_OFFSET - offset);
    size_t take;
    bool ok = true;
    if (last_in_packet) {
        take = len < avail ? len : avail;
    } else {
        take = fit_with_length(avail, len, &ok);
    }
    if (!ok || (take == 0 && len > 0)) return 0;
    tern_frame f = {.type = TERN_FRAME_STREAM};
    f.u.stream = (tern_stream_frame){.stream_id = stream_id, .offset = offset, .data = data, .len = take,
                                     .fin = fin && take == len, .has_offset = offset != 0,
                                     .has_length = !last_in_packet};
    size_t n = tern_frame_encode(out, cap, NULL, &f);
    if (n && taken) *taken = take;
    return n;
}

size_t tern_frame_encode_crypto(uint8_t *out, size_t cap, uint64_t offset, const uint8_t *data, size_t len,
                                size_t *taken)
{
    size_t head = 1 + tern_varint_size(offset);
    if (tern_varint_size(offset) == 0 || cap < head) return 0;
    if (len > TERN_MAX_STREAM_OFFSET - offset) len = (size_t)(TERN_MAX_STREAM_OFFSET - offset);
    bool ok;
    size_t take = fit_with_length(cap - head, len, &ok);
    if (!ok || take == 0) return 0;
    tern_frame f = {.type = TERN_FRAME_CRYPTO};
    f.u.crypto = (tern_crypto_frame){.offset = offset, .data = data, .len = take};
    size_t n = tern_frame_encode(out, cap, NULL, &f);
    if (n && taken) *taken = take;
    return n;
}

size_t tern_frame_stream_overhead(uint64_t stream_id, uint64_t offset, size_t len)
{
    return 1 + tern_varint_size(stream_id) + (offset ? tern_varint_size(offset) : 0) + tern_varint_size(len);
}

size_t tern_frame_crypto_overhead(uint64_t offset, size_t len)
{
    return 1 + tern_varint_size(offset) + tern_varint_size(len);
}
