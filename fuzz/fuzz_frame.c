/* Fuzzes the frame codec: decodes every frame of a packet payload, walks ACK
 * ranges, re-encodes each frame, decodes that again and requires the same
 * frame; also drives the STREAM/CRYPTO fit encoders with decoded data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) abort();
}

static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Field by field: tern_addr has a padding byte. */
static int same_addr(const tern_addr *a, const tern_addr *b)
{
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

static int same_frame(const tern_frame *a, const tern_frame *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case TERN_FRAME_PADDING:
        return a->u.padding_len == b->u.padding_len;
    case TERN_FRAME_PING:
    case TERN_FRAME_HANDSHAKE_DONE:
        return 1;
    case TERN_FRAME_ACK:
    case TERN_FRAME_ACK_ECN: {
        const tern_ack_frame *x = &a->u.ack, *y = &b->u.ack;
        return x->largest_acknowledged == y->largest_acknowledged && x->ack_delay == y->ack_delay &&
               x->first_ack_range == y->first_ack_range && x->range_count == y->range_count &&
               x->ranges_len == y->ranges_len && same_bytes(x->ranges, y->ranges, x->ranges_len) &&
               x->has_ecn == y->has_ecn && x->ect0 == y->ect0 && x->ect1 == y->ect1 && x->ecn_ce == y->ecn_ce;
    }
    case TERN_FRAME_RESET_STREAM:
        return memcmp(&a->u.reset_stream, &b->u.reset_stream, sizeof(a->u.reset_stream)) == 0;
    case TERN_FRAME_STOP_SENDING:
        return memcmp(&a->u.stop_sending, &b->u.stop_sending, sizeof(a->u.stop_sending)) == 0;
    case TERN_FRAME_CRYPTO:
        return a->u.crypto.offset == b->u.crypto.offset && a->u.crypto.len == b->u.crypto.len &&
               same_bytes(a->u.crypto.data, b->u.crypto.data, a->u.crypto.len);
    case TERN_FRAME_NEW_TOKEN:
        return a->u.new_token.len == b->u.new_token.len &&
               same_bytes(a->u.new_token.token, b->u.new_token.token, a->u.new_token.len);
    case TERN_FRAME_STREAM: {
        const tern_stream_frame *x = &a->u.stream, *y = &b->u.stream;
        return x->stream_id == y->stream_id && x->offset == y->offset && x->len == y->len &&
               same_bytes(x->data, y->data, x->len) && x->fin == y->fin && x->has_offset == y->has_offset &&
               x->has_length == y->has_length;
    }
    case TERN_FRAME_MAX_DATA:
    case TERN_FRAME_MAX_STREAM_DATA:
    case TERN_FRAME_MAX_STREAMS_BIDI:
    case TERN_FRAME_MAX_STREAMS_UNI:
    case TERN_FRAME_DATA_BLOCKED:
    case TERN_FRAME_STREAM_DATA_BLOCKED:
    case TERN_FRAME_STREAMS_BLOCKED_BIDI:
    case TERN_FRAME_STREAMS_BLOCKED_UNI:
        return a->u.limit.stream_id == b->u.limit.stream_id && a->u.limit.value == b->u.limit.value;
    case TERN_FRAME_NEW_CONNECTION_ID: {
        const tern_new_connection_id_frame *x = &a->u.new_connection_id, *y = &b->u.new_connection_id;
        return x->sequence == y->sequence && x->retire_prior_to == y->retire_prior_to && x->cid_len == y->cid_len &&
               same_bytes(x->cid, y->cid, x->cid_len) &&
               same_bytes(x->stateless_reset_token, y->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
    }
    case TERN_FRAME_RETIRE_CONNECTION_ID:
        return a->u.retire_connection_id.sequence == b->u.retire_connection_id.sequence;
    case TERN_FRAME_PATH_CHALLENGE:
    case TERN_FRAME_PATH_RESPONSE:
        return memcmp(a->u.path.data, b->u.path.data, TERN_PATH_DATA_LEN) == 0;
    case TERN_FRAME_CONNECTION_CLOSE:
    case TERN_FRAME_CONNECTION_CLOSE_APP:
        return a->u.close.error_code == b->u.close.error_code && a->u.close.frame_type == b->u.close.frame_type &&
               a->u.close.reason_len == b->u.close.reason_len &&
               same_bytes(a->u.close.reason, b->u.close.reason, a->u.close.reason_len);
    case TERN_FRAME_SAA: {
        const tern_saa_frame *x = &a->u.saa, *y = &b->u.saa;
        return x->sequence == y->sequence && same_addr(&x->ipv4, &y->ipv4) &&
               same_addr(&x->ipv6, &y->ipv6) && x->cid_len == y->cid_len &&
               same_bytes(x->cid, y->cid, x->cid_len) &&
               same_bytes(x->stateless_reset_token, y->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
    }
    }
    return 0;
}

/* The decoder validated the ranges: they must come out ordered, disjoint,
 * non-adjacent, range_count + 1 of them, and re-encode to the same bytes. */
static void walk_ack(const tern_ack_frame *ack, size_t encoded_len)
{
    static tern_ack_range ranges[4096];
    tern_ack_range_iter it;
    tern_ack_range_iter_init(&it, ack);
    uint64_t lo, hi, count = 0, prev_lo = 0;
    while (tern_ack_range_iter_next(&it, &lo, &hi)) {
        check(lo <= hi);
        if (count == 0) check(hi == ack->largest_acknowledged);
        else check(prev_lo >= 2 && hi <= prev_lo - 2);
        if (count < sizeof(ranges) / sizeof(ranges[0])) ranges[count] = (tern_ack_range){lo, hi};
        prev_lo = lo;
        count++;
    }
    check(count == ack->range_count + 1);
    check(it.pos == it.end);
    if (count > sizeof(ranges) / sizeof(ranges[0])) return;
    static uint8_t out[70000];
    tern_ecn_counts ecn = {ack->ect0, ack->ect1, ack->ecn_ce};
    size_t taken = 0;
    size_t n = tern_frame_encode_ack(out, sizeof out, ranges, (size_t)count, ack->ack_delay,
                                     ack->has_ecn ? &ecn : NULL, &taken);
    check(n > 0 && taken == count);
    /* Minimal re-encoding is never longer than the input. */
    check(n <= encoded_len);
    tern_frame again;
    size_t used;
    check(tern_frame_decode(NULL, out, n, &again, &used) == TERN_OK && used == n);
    check(again.u.ack.range_count == ack->range_count && again.u.ack.largest_acknowledged == ack->largest_acknowledged);
}

static void fit_encoders(const tern_frame *f, size_t cap)
{
    static uint8_t out[70000];
    if (cap > sizeof out) cap = sizeof out;
    size_t taken = 0;
    if (f->type == TERN_FRAME_STREAM) {
        const tern_stream_frame *s = &f->u.stream;
        for (int last = 0; last < 2; last++) {
            size_t n = tern_frame_encode_stream(out, cap, s->stream_id, s->offset, s->data, s->len, s->fin, last,
                                                &taken);
            if (n == 0) continue;
            check(n <= cap && taken <= s->len);
            tern_frame back;
            size_t used;
            check(tern_frame_decode(NULL, out, n, &back, &used) == TERN_OK && used == n);
            check(back.u.stream.len == taken && back.u.stream.offset == s->offset);
            check(back.u.stream.fin == (s->fin && taken == s->len));
            check(same_bytes(back.u.stream.data, s->data, taken));
        }
    } else if (f->type == TERN_FRAME_CRYPTO) {
        size_t n = tern_frame_encode_crypto(out, cap, f->u.crypto.offset, f->u.crypto.data, f->u.crypto.len, &taken);
        if (n == 0) return;
        check(n <= cap && taken <= f->u.crypto.len);
        check(n == tern_frame_crypto_overhead(f->u.crypto.offset, taken) + taken);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[70000];
    if (size > sizeof out) return 0;
    /* A heap copy of exactly size bytes makes any over-read visible. */
    uint8_t *payload = malloc(size ? size : 1);
    if (!payload) return 0;
    if (size) memcpy(payload, data, size);
    tern_frame_config cfg = tern_frame_config_default();
    size_t pos = 0;
    while (pos < size) {
        tern_frame f;
        size_t used = 0;
        if (tern_frame_decode(&cfg, payload + pos, size - pos, &f, &used) != TERN_OK) break;
        check(used >= 1 && used <= size - pos);
        (void)tern_frame_allowed_in(f.type, TERN_PKT_1RTT);
        (void)tern_frame_is_ack_eliciting(f.type);
        (void)tern_frame_is_probing(f.type);
        check(tern_frame_type_name(f.type) != NULL);

        size_t n = tern_frame_encode(out, sizeof out, &cfg, &f);
        check(n > 0 && n == tern_frame_size(&cfg, &f));
        check(n <= used); /* minimal varints never grow a frame */
        tern_frame again;
        size_t used_again = 0;
        check(tern_frame_decode(&cfg, out, n, &again, &used_again) == TERN_OK);
        check(used_again == n);
        check(same_frame(&f, &again));

        if (f.type == TERN_FRAME_ACK || f.type == TERN_FRAME_ACK_ECN) walk_ack(&f.u.ack, used);
        fit_encoders(&f, used > 8 ? used - (size - pos) % 7 : used);
        pos += used;
    }
    free(payload);
    return 0;
}
