/* Receiving: a datagram is split into its coalesced packets (RFC 9000
 * §12.2), each is unprotected (RFC 9001 §5.4, §5.3) with the keys of its
 * level, checked (duplicates §12.3, reserved bits §17), its frames
 * dispatched, and its number recorded for acknowledgement (§13.2). Packets
 * from a new peer address open a new path (§9.3, lib/migration.c). */
#include <string.h>

#include "conn.h"
#include "packet_number.h"

/* Largest 1-RTT ciphertext kept aside for a second decoding of its packet
 * number (process_packet): probes are 1200 bytes, datagrams rarely above
 * 1500; larger packets get no second try. */
#define TERN_SPARE_CIPHERTEXT_MAX 1500
/* Most lower windows tried for one packet (4,096 packets of overtaking
 * with 1-byte numbers): bounds the work a forged packet can cause. */
#define TERN_PN_REDECODE_MAX 16

static bool level_of(tern_packet_type type, tern_tls_level *level)
{
    switch (type) {
    case TERN_PKT_INITIAL: *level = TERN_TLS_LEVEL_INITIAL; return true;
    case TERN_PKT_HANDSHAKE: *level = TERN_TLS_LEVEL_HANDSHAKE; return true;
    case TERN_PKT_1RTT: *level = TERN_TLS_LEVEL_APPLICATION; return true;
    /* Only a server has 0-RTT read keys (lib/conn_early.c). */
    case TERN_PKT_0RTT: *level = TERN_TLS_LEVEL_EARLY; return true;
    default: return false; /* Retry and VN elsewhere */
    }
}

/* A packet of this connection that is not processed: logged (qlog) and
 * false (not authenticated). */
static bool dropped(tern_conn *c, const tern_packet_header *hdr, tern_qlog_drop_reason why, const char *details,
                    tern_time now)
{
    if (c->qlog) tern_conn_qlog_dropped(c, now, hdr, hdr->packet_len, why, details);
    return false;
}

/* Returns true when the packet was authenticated. */
static bool process_packet(tern_conn *c, tern_path **pathp, const tern_addr *local, const tern_addr *remote,
                           uint8_t ecn, uint8_t *pkt, const tern_packet_header *hdr, tern_time now)
{
    tern_tls_level level;
    if (hdr->is_long && hdr->version != TERN_VERSION_1) return dropped(c, hdr, TERN_QLOG_DROP_UNSUPPORTED, NULL, now);
    if (!level_of(hdr->type, &level)) return dropped(c, hdr, TERN_QLOG_DROP_KEY_UNAVAILABLE, NULL, now);
    tern_recovery_space space = tern_space_of_level(level);
    tern_pn_space *sp = &c->spaces[space];
    if (sp->discarded || !c->has_rx[level]) return dropped(c, hdr, TERN_QLOG_DROP_KEY_UNAVAILABLE, NULL, now);
    /* RFC 9001 §5.7: a server processes 1-RTT only once the handshake is
     * complete. */
    if (level == TERN_TLS_LEVEL_APPLICATION && !c->handshake_complete)
        return dropped(c, hdr, TERN_QLOG_DROP_KEY_UNAVAILABLE, NULL, now);

    uint64_t largest = TERN_PN_NONE;
    tern_ack_tracker_largest_received(&sp->ack, &largest, NULL);
    tern_unprotected u;
    if (tern_pp_remove_header_protection(&c->rx[level], pkt, hdr->packet_len, hdr->pn_offset, largest, &u) != TERN_OK)
        return dropped(c, hdr, TERN_QLOG_DROP_INVALID, "header protection", now);
    tern_header_bits bits;
    tern_err reserved = tern_packet_unprotected_bits(pkt[0], &bits);
    tern_err err;
    if (level == TERN_TLS_LEVEL_APPLICATION) {
        /* RFC 9000 §A.3 decodes against the largest number received on any
         * path, and packets on two paths reorder by more than half a short
         * encoding's window: a peer's PATH_RESPONSE on our new path, sent
         * with a 1-byte number (ngtcp2 does), is read after hundreds of
         * later packets of the old path and decodes too high. For a packet
         * on another 4-tuple than the largest, keep the ciphertext and, if
         * it fails to open, try lower windows: the AEAD (the number is in
         * the nonce, RFC 9001 §5.3) tells which is right. How far down:
         * to the path's floor when it has one (a path we probed: the peer
         * answers only after our challenge, so above what we had received
         * then), else one window; never more than TERN_PN_REDECODE_MAX. */
        uint8_t spare[TERN_SPARE_CIPHERTEXT_MAX];
        size_t body = hdr->packet_len - u.header_len;
        uint64_t win = (uint64_t)1 << (8 * u.pn_len);
        bool retry = u.pn_len < TERN_PN_MAX_LEN && largest != TERN_PN_NONE && u.pn >= win && body <= sizeof spare &&
                     !(tern_addr_equal(local, &c->rx_largest_local) && tern_addr_equal(remote, &c->rx_largest_remote));
        if (retry) memcpy(spare, pkt + u.header_len, body);
        err = tern_conn_open_1rtt(c, pkt, hdr->packet_len, bits.key_phase, &u, now);
        if (err == TERN_ERR_DECRYPT && retry) {
            const tern_path *known = *pathp;
            uint64_t floor = known && known->rx_pn_floor != TERN_PN_NONE ? known->rx_pn_floor
                             : u.pn >= 2 * win                           ? u.pn - 2 * win
                                                                         : 0;
            uint64_t first = u.pn;
            for (int k = 0; k < TERN_PN_REDECODE_MAX && err == TERN_ERR_DECRYPT && !tern_conn_is_closing(c) &&
                            u.pn >= win && u.pn - win > floor;
                 k++) {
                memcpy(pkt + u.header_len, spare, body);
                u.pn -= win;
                err = tern_conn_open_1rtt(c, pkt, hdr->packet_len, bits.key_phase, &u, now);
            }
            if (!err) c->stats.packets_pn_redecoded++;
            else u.pn = first;
        }
    } else {
        err = tern_pp_open_payload(&c->rx[level], pkt, hdr->packet_len, &u);
    }
    if (err) {
        c->stats.packets_undecryptable++;
        return dropped(c, hdr, TERN_QLOG_DROP_DECRYPTION_FAILURE, NULL, now);
    }
    if (reserved) {
        tern_conn_close_transport(c, TERN_PROTOCOL_VIOLATION, 0, "reserved bits set", now);
        return true;
    }
    if (tern_ack_tracker_is_duplicate(&sp->ack, u.pn)) {
        dropped(c, hdr, TERN_QLOG_DROP_DUPLICATE, NULL, now);
        return true;
    }

    if (!c->have_peer_initial_scid && hdr->type == TERN_PKT_INITIAL) {
        /* §7.2: the peer's SCID becomes our DCID (a client replaces its
         * random initial DCID with the server's choice). */
        c->peer_initial_scid.len = (uint8_t)hdr->scid_len;
        memcpy(c->peer_initial_scid.data, hdr->scid, hdr->scid_len);
        c->have_peer_initial_scid = true;
        tern_cid_manager_set_peer_initial(&c->cids, &c->peer_initial_scid, NULL, 0);
    }

    tern_path *p = *pathp;
    if (!p) {
        /* A new peer address (§9.3), if policy lets the peer move. */
        if (!tern_migration_new_peer_address_packet_allowed(c, u.payload, u.payload_len))
            return dropped(c, hdr, TERN_QLOG_DROP_REJECTED, "client migration prohibited (allow_server_migration)",
                           now);
        p = tern_migration_path_for_packet(c, local, remote, level, now);
        if (!p) return dropped(c, hdr, TERN_QLOG_DROP_REJECTED, "migration not allowed", now);
        *pathp = p;
    }
    if (!tern_migration_accept_packet(c, p, u.pn, largest)) {
        dropped(c, hdr, TERN_QLOG_DROP_REJECTED, "address left", now);
        return true;
    }

    if (hdr->type == TERN_PKT_HANDSHAKE && c->role == TERN_ROLE_SERVER) {
        /* §8.1: a Handshake packet validates the client's address; RFC 9001
         * §4.9.1: the server drops its Initial keys. */
        p->tuple.validated = true;
        tern_conn_update_amplification_blocked(c, now);
        tern_conn_discard_space(c, TERN_RECOVERY_SPACE_INITIAL, now);
    }

    /* docs/qlog.md: logged before its frames act. */
    if (c->qlog)
        tern_conn_qlog_packet(c, now, true, hdr->type, u.pn, hdr->dcid, hdr->dcid_len, bits.key_phase,
                              hdr->packet_len, u.payload, u.payload_len);
    tern_rx_packet rp = {.type = hdr->type, .space = space, .level = level, .pn = u.pn, .path = p};
    rp.dcid.len = (uint8_t)hdr->dcid_len;
    memcpy(rp.dcid.data, hdr->dcid, hdr->dcid_len);
    uint64_t frame_type = 0;
    err = tern_conn_process_frames(c, &rp, u.payload, u.payload_len, now, &frame_type);
    if (err) {
        tern_conn_close_transport(c, err, frame_type, NULL, now);
        return true;
    }
    c->stats.packets_received++;
    if (tern_conn_is_closing(c)) return true;
    if (level == TERN_TLS_LEVEL_APPLICATION && (largest == TERN_PN_NONE || u.pn > largest)) {
        c->rx_largest_local = *local;
        c->rx_largest_remote = *remote;
    }
    if (!sp->discarded) tern_ack_tracker_on_packet_received(&sp->ack, u.pn, rp.ack_eliciting, (tern_ecn_mark)ecn, now);
    tern_conn_reset_idle(c, now);
    c->ack_eliciting_since_recv = false;
    p->last_received = now;
    if (rp.ack_eliciting) c->saa.last_eliciting_rx = now;

    /* §9.3: a non-probing packet with the largest number so far moves the
     * connection to the path it came on. */
    if (level == TERN_TLS_LEVEL_APPLICATION) tern_migration_on_packet(c, p, rp.non_probing, u.pn, largest, now);
    return true;
}

/* RFC 9000 §6.2: a client that only speaks v1 abandons the attempt on a
 * Version Negotiation, unless it already processed another packet or the
 * VN lists v1 (then it is forged or stale and discarded). §17.2.1: the VN
 * echoes our connection IDs; one that does not is not for this attempt. */
static void on_version_negotiation(tern_conn *c, const tern_packet_header *vn)
{
    if (c->stats.packets_received > 0 || c->retried || c->state != TERN_CONN_HANDSHAKE) return;
    if (vn->scid_len != c->original_dcid.len || memcmp(vn->scid, c->original_dcid.data, vn->scid_len) != 0) return;
    if (vn->dcid_len != c->local_initial_scid.len ||
        memcmp(vn->dcid, c->local_initial_scid.data, vn->dcid_len) != 0)
        return;
    for (size_t i = 0; i < vn->version_count; i++)
        if (tern_packet_vn_version(vn, i) == TERN_VERSION_1) return;
    if (c->qlog) tern_conn_qlog_set_close_trigger(c, TERN_QLOG_CLOSE_VERSION_MISMATCH);
    tern_conn_abandon(c, TERN_ERR_UNSUPPORTED, true, "version negotiation: server does not offer QUIC v1");
}

void tern_conn_recv_datagram(tern_conn *c, const tern_addr *local, const tern_addr *remote, uint8_t ecn,
                             uint8_t *data, size_t len, tern_time now)
{
    c->now = now;
    if (c->state == TERN_CONN_CLOSED || c->state == TERN_CONN_DRAINING) return;
    if (c->state == TERN_CONN_CLOSING) {
        /* §10.2.1: answer with CONNECTION_CLOSE, at a decreasing rate. */
        c->close_recv_count++;
        if ((c->close_recv_count & (c->close_recv_count - 1)) == 0) c->close_pending = true;
        if (c->qlog) tern_conn_qlog_dropped(c, now, NULL, len, TERN_QLOG_DROP_GENERAL, "closing");
        return;
    }
    tern_path *path = tern_conn_find_path(c, local, remote);
    if (len > 5 && (data[0] & TERN_HEADER_FORM_BIT) && c->role == TERN_ROLE_CLIENT) {
        tern_packet_header vn;
        if (tern_packet_header_parse(data, len, NULL, &vn) == TERN_OK && vn.type == TERN_PKT_VERSION_NEGOTIATION) {
            if (path) on_version_negotiation(c, &vn);
            return;
        }
        if (vn.type == TERN_PKT_RETRY && vn.version == TERN_VERSION_1) {
            if (path) tern_conn_on_retry(c, &vn, now);
            return;
        }
    }
    tern_header_parse_config pc = {.short_dcid_len = c->local_initial_scid.len};
    size_t off = 0;
    bool any = false;
    while (off < len) {
        tern_packet_header hdr;
        if (tern_packet_header_parse(data + off, len - off, &pc, &hdr) != TERN_OK) {
            /* §12.2: the rest of the datagram cannot be delimited. */
            if (c->qlog) tern_conn_qlog_dropped(c, now, NULL, len - off, TERN_QLOG_DROP_INVALID, "header parse");
            break;
        }
        if (process_packet(c, &path, local, remote, ecn, data + off, &hdr, now)) any = true;
        off += hdr.packet_len;
        if (tern_conn_is_closing(c)) break;
    }
    if (!any) {
        if (path) tern_conn_check_stateless_reset(c, data, len, now);
        return;
    }
    tern_conn_collect_streams(c);
    c->stats.bytes_received += len;
    if (path) {
        path->tuple.bytes_received += len;
        if (!path->tuple.validated) tern_conn_update_amplification_blocked(c, now);
    }
}
