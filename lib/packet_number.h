/* Packet number encoding and decoding (RFC 9000 §17.1, Appendix A.2/A.3).
 *
 * On the wire a packet number is truncated to its 1-4 least significant
 * bytes; the receiver reconstructs the full 62-bit value from the largest
 * packet number it has processed in the same space. */
#ifndef TERN_PACKET_NUMBER_H
#define TERN_PACKET_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/* RFC 9000 §12.3: packet numbers are in 0..2^62-1. */
#define TERN_PN_MAX ((uint64_t)0x3fffffffffffffffULL)
/* "No packet yet" for largest_acked / largest_received arguments. */
#define TERN_PN_NONE UINT64_MAX
#define TERN_PN_MAX_LEN 4

/* Number of bytes (1..4) to send full_pn with, given the largest packet
 * number the peer has acknowledged in this space (TERN_PN_NONE if none):
 * twice the number of unacknowledged packets must fit (Appendix A.2).
 * Returns 4 when even 4 bytes are not enough (too many packets in flight). */
size_t tern_pn_encode_len(uint64_t full_pn, uint64_t largest_acked);

/* The pn_len least significant bytes of full_pn. */
uint32_t tern_pn_truncate(uint64_t full_pn, size_t pn_len);

/* Reconstructs a full packet number from its pn_len-byte truncation and the
 * largest packet number successfully processed in this space (TERN_PN_NONE
 * if none), as in Appendix A.3. */
uint64_t tern_pn_decode(uint64_t largest_pn, uint32_t truncated_pn, size_t pn_len);

/* Writes the pn_len (1..4) low bytes of pn, big-endian. Returns pn_len, or 0
 * when pn_len is invalid or cap is too small. */
size_t tern_pn_write(uint8_t *out, size_t cap, uint64_t pn, size_t pn_len);

/* Reads a pn_len-byte (1..4) big-endian truncated packet number; the caller
 * guarantees pn_len readable bytes at in. */
uint32_t tern_pn_read(const uint8_t *in, size_t pn_len);

#endif
