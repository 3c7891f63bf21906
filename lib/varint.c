/* RFC 9000 §16: the two high bits of the first byte give the length. */
#include "varint.h"

size_t tern_varint_size(uint64_t v)
{
    if (v < 0x40) return 1;
    if (v < 0x4000) return 2;
    if (v < 0x40000000) return 4;
    if (v <= TERN_VARINT_MAX) return 8;
    return 0;
}

size_t tern_varint_encode_len(uint8_t *out, size_t cap, uint64_t v, size_t len)
{
    uint8_t prefix;
    switch (len) {
    case 1: if (v >= 0x40) return 0; prefix = 0x00; break;
    case 2: if (v >= 0x4000) return 0; prefix = 0x40; break;
    case 4: if (v >= 0x40000000) return 0; prefix = 0x80; break;
    case 8: if (v > TERN_VARINT_MAX) return 0; prefix = 0xc0; break;
    default: return 0;
    }
    if (cap < len) return 0;
    for (size_t i = len; i-- > 0;) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
    out[0] |= prefix;
    return len;
}

size_t tern_varint_encode(uint8_t *out, size_t cap, uint64_t v)
{
    size_t len = tern_varint_size(v);
    if (len == 0) return 0;
    return tern_varint_encode_len(out, cap, v, len);
}

size_t tern_varint_decode(const uint8_t *in, size_t len, uint64_t *value)
{
    if (len == 0) return 0;
    size_t n = tern_varint_len_from_first(in[0]);
    if (len < n) return 0;
    uint64_t v = in[0] & 0x3f;
    for (size_t i = 1; i < n; i++) v = (v << 8) | in[i];
    *value = v;
    return n;
}
