/* Variable-length integer encoding (RFC 9000 §16). */
#ifndef TERN_VARINT_H
#define TERN_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"

#define TERN_VARINT_MAX ((uint64_t)0x3fffffffffffffffULL)

/* Bytes needed for the minimal encoding of v (1, 2, 4 or 8); 0 if v exceeds
 * 2^62-1. */
size_t tern_varint_size(uint64_t v);

/* Encodes v minimally at out. Returns bytes written, or 0 when v is too large
 * or out has fewer than tern_varint_size(v) bytes. */
size_t tern_varint_encode(uint8_t *out, size_t cap, uint64_t v);

/* Encodes v with exactly len bytes (1, 2, 4 or 8), for fields whose length is
 * fixed in advance (e.g. a length placeholder patched later). Returns len, or
 * 0 when v does not fit in len bytes or len is not a valid size. */
size_t tern_varint_encode_len(uint8_t *out, size_t cap, uint64_t v, size_t len);

/* Decodes one varint from in[0..len). On success stores the value and returns
 * the number of bytes consumed (1..8); returns 0 when the input is truncated.
 * Non-minimal encodings are accepted (RFC 9000 §16 allows them, except where
 * a frame type is concerned: see tern_frame_decode). */
size_t tern_varint_decode(const uint8_t *in, size_t len, uint64_t *value);

/* Length in bytes of a varint from its first byte. */
static inline size_t tern_varint_len_from_first(uint8_t b) { return (size_t)1 << (b >> 6); }

#endif
