/* Fuzzes the packet header parser: the input is one datagram, split into
 * coalesced packets (RFC 9000 §12.2) with several short-header DCID lengths,
 * with and without grease_quic_bit, and through the invariant parser. Every
 * parsed field must lie inside the datagram, and a parsed v1 header must
 * survive a re-encode and parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet_header.h"
#include "packet_number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) abort();
}

static void check_inside(const uint8_t *pkt, size_t len, const uint8_t *p, size_t n)
{
    if (n == 0) return;
    check(p >= pkt && p <= pkt + len && n <= (size_t)(pkt + len - p));
}

/* Re-encodes an Initial/0-RTT/Handshake header with an 8-byte Length field,
 * appends the same packet number and payload bytes, and parses it again. */
static void reencode_protected_long(const uint8_t *pkt, const tern_packet_header *h)
{
    static uint8_t out[70000];
    tern_header_bits bits;
    (void)tern_packet_unprotected_bits(h->first_byte, &bits);
    size_t body = h->packet_len - h->pn_offset; /* pn + payload, >= 1 */
    if (bits.pn_len > body) return;
    tern_long_header_fields f = {
        .type = h->type, .version = h->version, .dcid = h->dcid, .dcid_len = h->dcid_len, .scid = h->scid,
        .scid_len = h->scid_len, .token = h->token, .token_len = h->token_len,
        .packet_number = tern_pn_read(pkt + h->pn_offset, bits.pn_len), .pn_len = bits.pn_len,
        .length_field_size = 8,
    };
    tern_long_header_layout lay;
    size_t n = tern_long_header_encode(out, sizeof out, &f, &lay);
    check(n > 0);
    check(lay.pn_offset + bits.pn_len == n);
    check(memcmp(out + lay.pn_offset, pkt + h->pn_offset, bits.pn_len) == 0);
    if (sizeof out - lay.pn_offset < body) return;
    memcpy(out + lay.pn_offset, pkt + h->pn_offset, body);
    check(tern_long_header_patch_length(out, &lay, lay.pn_offset + body) == TERN_OK);
    tern_packet_header again;
    check(tern_packet_header_parse(out, lay.pn_offset + body, NULL, &again) == TERN_OK);
    check(again.type == h->type && again.version == h->version);
    check(again.dcid_len == h->dcid_len && memcmp(again.dcid, h->dcid, h->dcid_len) == 0);
    check(again.scid_len == h->scid_len && memcmp(again.scid, h->scid, h->scid_len) == 0);
    check(again.token_len == h->token_len && (h->token_len == 0 || memcmp(again.token, h->token, h->token_len) == 0));
    check(again.pn_offset == lay.pn_offset && again.packet_len == lay.pn_offset + body);
}

static void reencode_other(const uint8_t *pkt, const tern_packet_header *h)
{
    static uint8_t out[70000];
    if (h->type == TERN_PKT_VERSION_NEGOTIATION) {
        uint32_t versions[64];
        size_t count = h->version_count < 64 ? h->version_count : 64;
        for (size_t i = 0; i < count; i++) versions[i] = tern_packet_vn_version(h, i);
        size_t n = tern_version_negotiation_encode(out, sizeof out, h->dcid, h->dcid_len, h->scid, h->scid_len,
                                                   versions, count, h->first_byte);
        check(n > 0);
        if (count == h->version_count) check(n == h->packet_len && memcmp(out + 1, pkt + 1, n - 1) == 0);
    } else if (h->type == TERN_PKT_RETRY) {
        size_t n = tern_retry_encode(out, sizeof out, h->version, h->dcid, h->dcid_len, h->scid, h->scid_len,
                                     h->token, h->token_len, h->first_byte);
        check(n + TERN_RETRY_INTEGRITY_TAG_LEN == h->packet_len);
        check(memcmp(out + 1, pkt + 1, n - 1) == 0);
    } else if (h->type == TERN_PKT_1RTT) {
        tern_header_bits bits;
        (void)tern_packet_unprotected_bits(h->first_byte, &bits);
        if (h->pn_offset + bits.pn_len > h->packet_len) return;
        tern_short_header_fields f = {.dcid = h->dcid, .dcid_len = h->dcid_len, .spin = bits.spin,
                                      .key_phase = bits.key_phase,
                                      .packet_number = tern_pn_read(pkt + h->pn_offset, bits.pn_len),
                                      .pn_len = bits.pn_len};
        size_t n = tern_short_header_encode(out, sizeof out, &f);
        check(n == h->pn_offset + bits.pn_len);
        check(memcmp(out + 1, pkt + 1, n - 1) == 0);
    }
}

static void parse_datagram(const uint8_t *dgram, size_t len, const tern_header_parse_config *cfg)
{
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *pkt = dgram + pos;
        size_t rest = len - pos;
        tern_packet_header h;
        if (tern_packet_header_parse(pkt, rest, cfg, &h) != TERN_OK) return;
        size_t plen = 0;
        check(tern_packet_first_length(pkt, rest, cfg, &plen) == TERN_OK && plen == h.packet_len);
        check(h.packet_len >= 1 && h.packet_len <= rest);
        check_inside(pkt, h.packet_len, h.dcid, h.dcid_len);
        check_inside(pkt, h.packet_len, h.scid, h.scid_len);
        check_inside(pkt, h.packet_len, h.token, h.token_len);
        check_inside(pkt, h.packet_len, h.versions, 4 * h.version_count);
        if (h.retry_integrity_tag) check_inside(pkt, h.packet_len, h.retry_integrity_tag, 16);
        if (h.version == TERN_VERSION_1 || h.type == TERN_PKT_1RTT) {
            check(h.dcid_len <= TERN_MAX_CID_LEN && h.scid_len <= TERN_MAX_CID_LEN);
        }
        switch (h.type) {
        case TERN_PKT_INITIAL:
        case TERN_PKT_0RTT:
        case TERN_PKT_HANDSHAKE:
            check(h.pn_offset < h.packet_len);
            reencode_protected_long(pkt, &h);
            break;
        case TERN_PKT_1RTT:
            check(h.pn_offset < h.packet_len && h.packet_len == rest);
            reencode_other(pkt, &h);
            break;
        case TERN_PKT_RETRY:
        case TERN_PKT_VERSION_NEGOTIATION:
            reencode_other(pkt, &h);
            /* fall through */
        default:
            check(h.packet_len == rest);
            break;
        }
        pos += h.packet_len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t dcid_lens[] = {0, 4, 8, 20};
    for (size_t i = 0; i < sizeof(dcid_lens) / sizeof(dcid_lens[0]); i++) {
        tern_header_parse_config cfg = {.short_dcid_len = dcid_lens[i], .grease_quic_bit = false};
        parse_datagram(data, size, &cfg);
        cfg.grease_quic_bit = true;
        parse_datagram(data, size, &cfg);
        tern_packet_header h;
        if (tern_packet_header_parse_invariant(data, size, dcid_lens[i], &h) == TERN_OK) {
            check_inside(data, size, h.dcid, h.dcid_len);
            check_inside(data, size, h.scid, h.scid_len);
        }
    }
    if (size > 0) {
        tern_header_bits bits;
        (void)tern_packet_unprotected_bits(data[0], &bits);
        check(bits.pn_len >= 1 && bits.pn_len <= 4);
    }
    return 0;
}
