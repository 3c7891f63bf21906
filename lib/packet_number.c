/* RFC 9000 §17.1 and Appendix A.2/A.3. */
#include "packet_number.h"

size_t tern_pn_encode_len(uint64_t full_pn, uint64_t largest_acked)
{
    uint64_t unacked;
    if (largest_acked == TERN_PN_NONE) {
        unacked = full_pn + 1;
    } else {
        unacked = full_pn > largest_acked ? full_pn - largest_acked : 1;
    }
    /* A.2: min_bits = log2(unacked) + 1, bytes = ceil(min_bits / 8); that is
     * the smallest n with unacked <= 2^(8n-1). */
    for (size_t n = 1; n < TERN_PN_MAX_LEN; n++) {
        if (unacked <= (uint64_t)1 << (8 * n - 1)) return n;
    }
    return TERN_PN_MAX_LEN;
}

uint32_t tern_pn_truncate(uint64_t full_pn, size_t pn_len)
{
    if (pn_len >= 4) return (uint32_t)full_pn;
    return (uint32_t)(full_pn & (((uint64_t)1 << (8 * pn_len)) - 1));
}

uint64_t tern_pn_decode(uint64_t largest_pn, uint32_t truncated_pn, size_t pn_len)
{
    uint64_t expected = largest_pn == TERN_PN_NONE ? 0 : largest_pn + 1;
    uint64_t win = (uint64_t)1 << (8 * pn_len);
    uint64_t hwin = win / 2;
    uint64_t mask = win - 1;
    uint64_t candidate = (expected & ~mask) | (truncated_pn & mask);
    /* The comparisons of A.3 are rewritten so no unsigned value wraps. */
    if (expected >= hwin && candidate <= expected - hwin &&
        candidate < ((uint64_t)1 << 62) - win)
        return candidate + win;
    if (candidate > expected + hwin && candidate >= win) return candidate - win;
    return candidate;
}

size_t tern_pn_write(uint8_t *out, size_t cap, uint64_t pn, size_t pn_len)
{
    if (pn_len < 1 || pn_len > TERN_PN_MAX_LEN || cap < pn_len) return 0;
    for (size_t i = pn_len; i-- > 0;) {
        out[i] = (uint8_t)pn;
        pn >>= 8;
    }
    return pn_len;
}

uint32_t tern_pn_read(const uint8_t *in, size_t pn_len)
{
    uint32_t v = 0;
    for (size_t i = 0; i < pn_len; i++) v = (v << 8) | in[i];
    return v;
}
