/* Packet header parsing and encoding: RFC 8999 (invariants), RFC 9000 §17. */
#include "packet_header.h"

#include <string.h>

#include "packet_number.h"
#include "varint.h"

static uint32_t read_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void write_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Reads a length-prefixed (8-bit) connection ID at pkt[*pos]. */
static bool read_cid(const uint8_t *pkt, size_t len, size_t *pos, const uint8_t **cid, size_t *cid_len)
{
    if (*pos >= len) return false;
    size_t n = pkt[*pos];
    if (len - *pos - 1 < n) return false;
    *cid = pkt + *pos + 1;
    *cid_len = n;
    *pos += 1 + n;
    return true;
}

/* Parses the invariant fields; *end is where the version-specific part of a
 * long header starts. */
static tern_err parse_invariant(const uint8_t *pkt, size_t len, size_t short_dcid_len, tern_packet_header *hdr,
                                size_t *end)
{
    memset(hdr, 0, sizeof(*hdr));
    if (len == 0) return TERN_ERR_DROP;
    hdr->first_byte = pkt[0];
    hdr->packet_len = len;
    if (!(pkt[0] & TERN_HEADER_FORM_BIT)) {
        /* RFC 8999 §5.2: short header, DCID length known from context. */
        if (len - 1 < short_dcid_len) return TERN_ERR_DROP;
        hdr->type = TERN_PKT_1RTT;
        hdr->dcid = pkt + 1;
        hdr->dcid_len = short_dcid_len;
        return TERN_OK;
    }
    /* RFC 8999 §5.1: form, 7 version-specific bits, version, DCID, SCID. */
    if (len < 5) return TERN_ERR_DROP;
    hdr->is_long = true;
    hdr->version = read_u32(pkt + 1);
    size_t pos = 5;
    if (!read_cid(pkt, len, &pos, &hdr->dcid, &hdr->dcid_len)) return TERN_ERR_DROP;
    if (!read_cid(pkt, len, &pos, &hdr->scid, &hdr->scid_len)) return TERN_ERR_DROP;
    hdr->type = hdr->version == TERN_VERSION_NEGOTIATION ? TERN_PKT_VERSION_NEGOTIATION : TERN_PKT_UNKNOWN_VERSION;
    *end = pos;
    return TERN_OK;
}

tern_err tern_packet_header_parse_invariant(const uint8_t *pkt, size_t len, size_t short_dcid_len,
                                            tern_packet_header *hdr)
{
    size_t end;
    return parse_invariant(pkt, len, short_dcid_len, hdr, &end);
}

static tern_err parse_version_negotiation(const uint8_t *pkt, size_t pos, tern_packet_header *hdr)
{
    /* RFC 9000 §17.2.1: the rest is a list of 32-bit versions. A packet with
     * a partial version, or none, cannot be a real answer: drop it. */
    size_t rest = hdr->packet_len - pos;
    if (rest == 0 || rest % 4 != 0) return TERN_ERR_DROP;
    hdr->versions = pkt + pos;
    hdr->version_count = rest / 4;
    return TERN_OK;
}

static tern_err parse_retry(const uint8_t *pkt, size_t pos, tern_packet_header *hdr)
{
    /* RFC 9000 §17.2.5: Retry Token (..), Retry Integrity Tag (128); a
     * zero-length token must be discarded (§17.2.5.2). */
    size_t rest = hdr->packet_len - pos;
    if (rest <= TERN_RETRY_INTEGRITY_TAG_LEN) return TERN_ERR_DROP;
    hdr->token = pkt + pos;
    hdr->token_len = rest - TERN_RETRY_INTEGRITY_TAG_LEN;
    hdr->retry_integrity_tag = pkt + hdr->packet_len - TERN_RETRY_INTEGRITY_TAG_LEN;
    return TERN_OK;
}

/* Initial, 0-RTT, Handshake: [token], Length, then the protected packet
 * number and payload (RFC 9000 §17.2.2-§17.2.4). */
static tern_err parse_protected_long(const uint8_t *pkt, size_t len, size_t pos, tern_packet_header *hdr)
{
    uint64_t v;
    size_t n;
    if (hdr->type == TERN_PKT_INITIAL) {
        n = tern_varint_decode(pkt + pos, len - pos, &v);
        if (n == 0) return TERN_ERR_DROP;
        pos += n;
        if (v > len - pos) return TERN_ERR_DROP;
        hdr->token = pkt + pos;
        hdr->token_len = (size_t)v;
        pos += (size_t)v;
    }
    n = tern_varint_decode(pkt + pos, len - pos, &v);
    if (n == 0) return TERN_ERR_DROP;
    pos += n;
    /* §12.2: the Length field delimits this packet inside the datagram; a
     * Length past the datagram's end makes the packet unusable. A Length of
     * 0 cannot even hold the packet number. */
    if (v == 0 || v > len - pos) return TERN_ERR_DROP;
    hdr->pn_offset = pos;
    hdr->packet_len = pos + (size_t)v;
    return TERN_OK;
}

tern_err tern_packet_header_parse(const uint8_t *pkt, size_t len, const tern_header_parse_config *cfg,
                                  tern_packet_header *hdr)
{
    static const tern_header_parse_config defaults = {0, false};
    if (cfg == NULL) cfg = &defaults;
    size_t pos = 0;
    tern_err err = parse_invariant(pkt, len, cfg->short_dcid_len, hdr, &pos);
    if (err != TERN_OK) return err;

    if (!hdr->is_long) {
        /* Only v1 has short headers here. §17.3.1: fixed bit 0 → discard. */
        if (!(pkt[0] & TERN_FIXED_BIT) && !cfg->grease_quic_bit) return TERN_ERR_DROP;
        if (cfg->short_dcid_len > TERN_MAX_CID_LEN) return TERN_ERR_DROP;
        hdr->pn_offset = 1 + cfg->short_dcid_len;
        if (hdr->pn_offset >= len) return TERN_ERR_DROP;
        return TERN_OK;
    }

    if (hdr->type == TERN_PKT_VERSION_NEGOTIATION) return parse_version_negotiation(pkt, pos, hdr);
    if (hdr->version != TERN_VERSION_1) return TERN_OK; /* invariants only */

    /* §17.2: v1 connection IDs are at most 20 bytes; longer → drop. */
    if (hdr->dcid_len > TERN_MAX_CID_LEN || hdr->scid_len > TERN_MAX_CID_LEN) return TERN_ERR_DROP;
    /* §17.2: fixed bit 0 → discard, unless greased (RFC 9287). */
    if (!(pkt[0] & TERN_FIXED_BIT) && !cfg->grease_quic_bit) return TERN_ERR_DROP;
    hdr->type = (tern_packet_type)((pkt[0] & TERN_LONG_TYPE_MASK) >> 4);
    if (hdr->type == TERN_PKT_RETRY) return parse_retry(pkt, pos, hdr);
    return parse_protected_long(pkt, len, pos, hdr);
}

tern_err tern_packet_first_length(const uint8_t *dgram, size_t len, const tern_header_parse_config *cfg,
                                  size_t *packet_len)
{
    tern_packet_header hdr;
    tern_err err = tern_packet_header_parse(dgram, len, cfg, &hdr);
    if (err != TERN_OK) return err;
    *packet_len = hdr.packet_len;
    return TERN_OK;
}

uint32_t tern_packet_vn_version(const tern_packet_header *hdr, size_t i)
{
    return read_u32(hdr->versions + 4 * i);
}

tern_err tern_packet_unprotected_bits(uint8_t first_byte, tern_header_bits *bits)
{
    bool is_long = (first_byte & TERN_HEADER_FORM_BIT) != 0;
    bits->pn_len = (size_t)(first_byte & TERN_PN_LEN_MASK) + 1;
    bits->key_phase = !is_long && (first_byte & TERN_SHORT_KEY_PHASE_BIT);
    bits->spin = !is_long && (first_byte & TERN_SHORT_SPIN_BIT);
    uint8_t reserved = is_long ? TERN_LONG_RESERVED_MASK : TERN_SHORT_RESERVED_MASK;
    return (first_byte & reserved) ? TERN_PROTOCOL_VIOLATION : TERN_OK;
}

/* ---- Encoding ---- */

/* Writes first byte, version and both length-prefixed CIDs. */
static size_t write_long_prefix(uint8_t *out, size_t cap, uint8_t first_byte, uint32_t version,
                                const uint8_t *dcid, size_t dcid_len, const uint8_t *scid, size_t scid_len)
{
    if (dcid_len > TERN_MAX_INVARIANT_CID_LEN || scid_len > TERN_MAX_INVARIANT_CID_LEN) return 0;
    size_t need = 1 + 4 + 1 + dcid_len + 1 + scid_len;
    if (cap < need) return 0;
    out[0] = first_byte;
    write_u32(out + 1, version);
    out[5] = (uint8_t)dcid_len;
    if (dcid_len) memcpy(out + 6, dcid, dcid_len);
    out[6 + dcid_len] = (uint8_t)scid_len;
    if (scid_len) memcpy(out + 7 + dcid_len, scid, scid_len);
    return need;
}

size_t tern_long_header_encode(uint8_t *out, size_t cap, const tern_long_header_fields *f,
                               tern_long_header_layout *layout)
{
    if (f->type != TERN_PKT_INITIAL && f->type != TERN_PKT_0RTT && f->type != TERN_PKT_HANDSHAKE) return 0;
    if (f->dcid_len > TERN_MAX_CID_LEN || f->scid_len > TERN_MAX_CID_LEN) return 0;
    if (f->pn_len < 1 || f->pn_len > TERN_PN_MAX_LEN) return 0;
    if (f->type != TERN_PKT_INITIAL && f->token_len != 0) return 0;
    size_t length_size = f->length_field_size ? f->length_field_size : TERN_LENGTH_FIELD_DEFAULT_SIZE;

    uint8_t first = (uint8_t)(TERN_HEADER_FORM_BIT | TERN_FIXED_BIT | ((unsigned)f->type << 4) | (f->pn_len - 1));
    size_t pos = write_long_prefix(out, cap, first, f->version, f->dcid, f->dcid_len, f->scid, f->scid_len);
    if (pos == 0) return 0;
    if (f->type == TERN_PKT_INITIAL) {
        size_t n = tern_varint_encode(out + pos, cap - pos, f->token_len);
        if (n == 0 || cap - pos - n < f->token_len) return 0;
        pos += n;
        if (f->token_len) memcpy(out + pos, f->token, f->token_len);
        pos += f->token_len;
    }
    size_t n = tern_varint_encode_len(out + pos, cap - pos, 0, length_size);
    if (n == 0) return 0;
    layout->length_offset = pos;
    layout->length_size = length_size;
    pos += n;
    layout->pn_offset = pos;
    n = tern_pn_write(out + pos, cap - pos, f->packet_number, f->pn_len);
    if (n == 0) return 0;
    pos += n;
    layout->header_len = pos;
    return pos;
}

tern_err tern_long_header_patch_length(uint8_t *packet, const tern_long_header_layout *layout,
                                       size_t packet_len)
{
    if (packet_len < layout->header_len) return TERN_ERR_INVALID_ARGUMENT;
    uint64_t length = packet_len - layout->pn_offset;
    size_t n = tern_varint_encode_len(packet + layout->length_offset, layout->length_size, length,
                                      layout->length_size);
    return n ? TERN_OK : TERN_ERR_INVALID_ARGUMENT;
}

size_t tern_short_header_encode(uint8_t *out, size_t cap, const tern_short_header_fields *f)
{
    if (f->dcid_len > TERN_MAX_CID_LEN || f->pn_len < 1 || f->pn_len > TERN_PN_MAX_LEN) return 0;
    size_t need = 1 + f->dcid_len + f->pn_len;
    if (cap < need) return 0;
    out[0] = (uint8_t)(TERN_FIXED_BIT | (f->spin ? TERN_SHORT_SPIN_BIT : 0) |
                       (f->key_phase ? TERN_SHORT_KEY_PHASE_BIT : 0) | (f->pn_len - 1));
    if (f->dcid_len) memcpy(out + 1, f->dcid, f->dcid_len);
    tern_pn_write(out + 1 + f->dcid_len, f->pn_len, f->packet_number, f->pn_len);
    return need;
}

size_t tern_version_negotiation_encode(uint8_t *out, size_t cap, const uint8_t *dcid, size_t dcid_len,
                                       const uint8_t *scid, size_t scid_len, const uint32_t *versions,
                                       size_t version_count, uint8_t unused_random)
{
    if (version_count == 0) return 0;
    uint8_t first = (uint8_t)(TERN_HEADER_FORM_BIT | TERN_FIXED_BIT | (unused_random & 0x3f));
    size_t pos = write_long_prefix(out, cap, first, TERN_VERSION_NEGOTIATION, dcid, dcid_len, scid, scid_len);
    if (pos == 0 || (cap - pos) / 4 < version_count) return 0;
    for (size_t i = 0; i < version_count; i++, pos += 4) write_u32(out + pos, versions[i]);
    return pos;
}

size_t tern_retry_encode(uint8_t *out, size_t cap, uint32_t version, const uint8_t *dcid, size_t dcid_len,
                         const uint8_t *scid, size_t scid_len, const uint8_t *token, size_t token_len,
                         uint8_t unused_random)
{
    if (token_len == 0 || dcid_len > TERN_MAX_CID_LEN || scid_len > TERN_MAX_CID_LEN) return 0;
    uint8_t first = (uint8_t)(TERN_HEADER_FORM_BIT | TERN_FIXED_BIT | (TERN_PKT_RETRY << 4) | (unused_random & 0x0f));
    size_t pos = write_long_prefix(out, cap, first, version, dcid, dcid_len, scid, scid_len);
    if (pos == 0 || cap - pos < token_len) return 0;
    memcpy(out + pos, token, token_len);
    return pos + token_len;
}

size_t tern_retry_pseudo_prefix(uint8_t *out, size_t cap, const uint8_t *odcid, size_t odcid_len)
{
    if (odcid_len > TERN_MAX_CID_LEN || cap < 1 + odcid_len) return 0;
    out[0] = (uint8_t)odcid_len;
    if (odcid_len) memcpy(out + 1, odcid, odcid_len);
    return 1 + odcid_len;
}
