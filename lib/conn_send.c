/* The packetizer: builds one datagram at a time straight into the caller's
 * buffer. Packets of several spaces are coalesced (RFC 9000 §12.2), their
 * plaintext is written first and protected in place at the end, once the
 * padding of the datagram is known (§14.1: datagrams with Initial packets
 * are padded to 1200 bytes; §8.2.1-§8.2.2: so are PATH_CHALLENGE and
 * PATH_RESPONSE).
 * What each packet carried is recorded in the sent-frames pool for
 * acknowledgement and retransmission (§13.3); congestion control and
 * pacing are per path (RFC 9002 §7). */
#include <string.h>

#include "conn.h"
#include "packet_number.h"
#include "varint.h"

typedef struct pkt_plan {
    tern_recovery_space space;
    tern_tls_level level;
    bool is_long;
    tern_long_header_layout layout;
    size_t start;         /* offset of the packet in the datagram */
    size_t header_len, pn_offset, pn_len;
    uint64_t pn;
    size_t payload_len;
    bool ack_eliciting, has_ack, has_path_frame;
    uint64_t ack_largest;
    tern_sent_frame_chain chain;
} pkt_plan;

/* A NEW_TOKEN frame: type, length, token (address_token.h). */
#define TERN_NEW_TOKEN_FRAME_MAX 96

typedef struct writer {
    uint8_t *p;     /* start of the packet */
    size_t w, end;  /* write position and payload limit (tag excluded) */
} writer;

static size_t room(const writer *wr) { return wr->end > wr->w ? wr->end - wr->w : 0; }

static tern_sent_frame *record(tern_conn *c, pkt_plan *pl, uint8_t type, uint64_t id, uint64_t offset, uint64_t len)
{
    tern_sent_frame *r = tern_sent_frames_append(&c->sent_frames, &pl->chain, type);
    if (r) {
        r->id = id;
        r->offset = offset;
        r->len = len;
    }
    return r;
}

static bool put_frame(tern_conn *c, writer *wr, const tern_frame *f)
{
    size_t n = tern_frame_encode(wr->p + wr->w, room(wr), &c->ep->frame_cfg, f);
    wr->w += n;
    return n > 0;
}

static bool put_limit(tern_conn *c, writer *wr, tern_frame_type type, uint64_t id, uint64_t value)
{
    tern_frame f = {.type = type};
    f.u.limit.stream_id = id;
    f.u.limit.value = value;
    return put_frame(c, wr, &f);
}

/* ---- ACK (§13.2) ---- */

static void write_ack(tern_conn *c, writer *wr, pkt_plan *pl, tern_time now)
{
    tern_ack_tracker *t = &c->spaces[pl->space].ack;
    if (!tern_ack_tracker_has_unacked(t)) return;
    tern_ack_info info;
    if (!tern_ack_tracker_build(t, now, TERN_ACK_INFO_MAX_RANGES, &info)) return;
    tern_ack_range ranges[TERN_ACK_INFO_MAX_RANGES];
    for (size_t i = 0; i < info.range_count; i++) {
        ranges[i].smallest = info.ranges[i].start;
        ranges[i].largest = info.ranges[i].end;
    }
    tern_ecn_counts ecn = {info.ect0_count, info.ect1_count, info.ce_count};
    size_t n = tern_frame_encode_ack(wr->p + wr->w, room(wr), ranges, info.range_count, info.ack_delay,
                                     info.has_ecn ? &ecn : NULL, NULL);
    if (!n) return;
    wr->w += n;
    pl->has_ack = true;
    pl->ack_largest = info.largest;
    record(c, pl, TERN_SF_ACK, 0, info.largest, 0);
}

/* ---- CRYPTO (§19.6) ---- */

static void write_crypto(tern_conn *c, writer *wr, pkt_plan *pl)
{
    tern_send_buffer *sb = &c->spaces[pl->space].crypto_send;
    while (room(wr) > 16) {
        tern_send_range r;
        if (!tern_send_buffer_peek(sb, room(wr), UINT64_MAX, &r) || r.len == 0) return;
        size_t over = tern_frame_crypto_overhead(r.offset, room(wr));
        if (room(wr) <= over) return;
        tern_send_buffer_next(sb, room(wr) - over, UINT64_MAX, &r);
        uint8_t *o = wr->p + wr->w;
        size_t n = 0;
        o[n++] = TERN_FRAME_CRYPTO;
        n += tern_varint_encode(o + n, 8, r.offset);
        n += tern_varint_encode(o + n, 8, r.len);
        tern_send_buffer_copy(sb, r.offset, r.len, o + n);
        wr->w += n + r.len;
        pl->ack_eliciting = true;
        record(c, pl, TERN_SF_CRYPTO, 0, r.offset, r.len);
    }
}

/* ---- streams (§19.4-19.13) ---- */

static void write_stream_frames(tern_conn *c, writer *wr, pkt_plan *pl, tern_time now)
{
    tern_stream_map *m = &c->streams;
    tern_time srtt = tern_conn_active_path(c)->rec.rtt.smoothed;
    size_t n_ready = tern_stream_map_ready_count(m);
    for (size_t i = 0; i < n_ready && room(wr) > 24; i++) {
        tern_stream *s = tern_stream_map_next_ready(m);
        if (!s) break;
        unsigned pending = tern_stream_pending_frames(s);
        if (pending & TERN_STREAM_PENDING_RESET_STREAM) {
            tern_frame f = {.type = TERN_FRAME_RESET_STREAM};
            f.u.reset_stream.stream_id = s->id;
            tern_stream_take_reset_stream(s, &f.u.reset_stream.app_error_code, &f.u.reset_stream.final_size);
            if (put_frame(c, wr, &f)) record(c, pl, TERN_SF_RESET_STREAM, s->id, 0, 0);
            pl->ack_eliciting = true;
        }
        if ((pending & TERN_STREAM_PENDING_STOP_SENDING) && room(wr) > 24) {
            tern_frame f = {.type = TERN_FRAME_STOP_SENDING};
            f.u.stop_sending.stream_id = s->id;
            f.u.stop_sending.app_error_code = tern_stream_take_stop_sending(s);
            if (put_frame(c, wr, &f)) record(c, pl, TERN_SF_STOP_SENDING, s->id, 0, 0);
            pl->ack_eliciting = true;
        }
        if ((pending & TERN_STREAM_PENDING_MAX_STREAM_DATA) && room(wr) > 24) {
            uint64_t v = tern_stream_take_max_stream_data(s, &m->conn_recv, now, srtt);
            if (put_limit(c, wr, TERN_FRAME_MAX_STREAM_DATA, s->id, v)) record(c, pl, TERN_SF_MAX_STREAM_DATA, s->id, v, 0);
            pl->ack_eliciting = true;
        }
        if ((pending & TERN_STREAM_PENDING_STREAM_DATA_BLOCKED) && room(wr) > 24) {
            uint64_t v = tern_stream_take_stream_data_blocked(s);
            if (put_limit(c, wr, TERN_FRAME_STREAM_DATA_BLOCKED, s->id, v))
                record(c, pl, TERN_SF_STREAM_DATA_BLOCKED, s->id, v, 0);
            pl->ack_eliciting = true;
        }
        if (room(wr) <= 24) break;
        tern_send_range r;
        if (!tern_stream_peek_data(s, &m->conn_send, room(wr), &r)) continue;
        size_t over = tern_frame_stream_overhead(s->id, r.offset, room(wr));
        if (room(wr) <= over) continue;
        if (!tern_stream_next_data(s, &m->conn_send, room(wr) - over, &r)) continue;
        uint8_t *o = wr->p + wr->w;
        size_t n = 0;
        o[n++] = (uint8_t)(TERN_FRAME_STREAM | TERN_STREAM_BIT_LEN | (r.offset ? TERN_STREAM_BIT_OFF : 0) |
                           (r.fin ? TERN_STREAM_BIT_FIN : 0));
        n += tern_varint_encode(o + n, 8, s->id);
        if (r.offset) n += tern_varint_encode(o + n, 8, r.offset);
        n += tern_varint_encode(o + n, 8, r.len);
        tern_stream_copy_data(s, r.offset, r.len, o + n);
        wr->w += n + r.len;
        pl->ack_eliciting = true;
        c->stats.stream_bytes_sent += r.len;
        tern_sent_frame *rec = record(c, pl, TERN_SF_STREAM, s->id, r.offset, r.len);
        if (rec) rec->flag = r.fin;
    }
}

/* ---- PATH_CHALLENGE / PATH_RESPONSE (§8.2) ----
 * The only frames a packet on a path that is not the active one carries
 * (§9.1 probing frames; §9.6.2: no non-probing packet from a preferred
 * address before the move). Both make the datagram full size (§8.2.1,
 * §8.2.2), within the anti-amplification limit. */

static void write_path_frames(tern_conn *c, writer *wr, pkt_plan *pl, tern_path *path, tern_time now)
{
    if (path->tuple.response_pending && room(wr) > 9) {
        tern_frame f = {.type = TERN_FRAME_PATH_RESPONSE};
        memcpy(f.u.path.data, path->tuple.response, TERN_PATH_DATA_LEN);
        if (put_frame(c, wr, &f)) {
            path->tuple.response_pending = false;
            pl->has_path_frame = true;
        }
        pl->ack_eliciting = true;
    }
    if (path->tuple.pv.pending && room(wr) > 9) {
        tern_frame f = {.type = TERN_FRAME_PATH_CHALLENGE};
        memcpy(f.u.path.data, path->tuple.pv.challenge, TERN_PATH_DATA_LEN);
        if (put_frame(c, wr, &f)) {
            tern_path_validation_on_sent(&path->tuple.pv, now);
            pl->has_path_frame = true;
            record(c, pl, TERN_SF_PATH_CHALLENGE, path->id, 0, 0);
        }
        pl->ack_eliciting = true;
    }
}

/* ---- 1-RTT control frames ---- */

static void write_control(tern_conn *c, writer *wr, pkt_plan *pl, tern_path *path, tern_time now)
{
    tern_stream_map *m = &c->streams;
    if (c->handshake_done_pending && room(wr) > 1) {
        wr->p[wr->w++] = TERN_FRAME_HANDSHAKE_DONE;
        c->handshake_done_pending = false;
        pl->ack_eliciting = true;
        record(c, pl, TERN_SF_HANDSHAKE_DONE, 0, 0, 0);
    }
    if (c->new_token_pending && room(wr) > TERN_NEW_TOKEN_FRAME_MAX) {
        /* §8.1.3: a token for the client's next connection. */
        uint8_t token[TERN_NEW_TOKEN_FRAME_MAX];
        tern_frame f = {.type = TERN_FRAME_NEW_TOKEN};
        f.u.new_token.token = token;
        f.u.new_token.len = tern_conn_make_new_token(c, path, token, sizeof token);
        if (f.u.new_token.len && put_frame(c, wr, &f)) {
            record(c, pl, TERN_SF_NEW_TOKEN, 0, 0, 0);
            pl->ack_eliciting = true;
        }
        c->new_token_pending = false;
    }
    write_path_frames(c, wr, pl, path, now);
    if (tern_flow_recv_update_pending(&m->conn_recv) && room(wr) > 16) {
        uint64_t v = tern_flow_recv_take_update(&m->conn_recv, now, path->rec.rtt.smoothed);
        if (put_limit(c, wr, TERN_FRAME_MAX_DATA, 0, v)) record(c, pl, TERN_SF_MAX_DATA, 0, v, 0);
        pl->ack_eliciting = true;
    }
    if (tern_flow_send_blocked_pending(&m->conn_send) && room(wr) > 16) {
        uint64_t v = tern_flow_send_take_blocked(&m->conn_send);
        if (put_limit(c, wr, TERN_FRAME_DATA_BLOCKED, 0, v)) record(c, pl, TERN_SF_DATA_BLOCKED, 0, v, 0);
        pl->ack_eliciting = true;
    }
    for (int bidi = 1; bidi >= 0; bidi--) {
        if (tern_stream_map_max_streams_pending(m, bidi) && room(wr) > 16) {
            uint64_t v = tern_stream_map_take_max_streams(m, bidi);
            if (put_limit(c, wr, bidi ? TERN_FRAME_MAX_STREAMS_BIDI : TERN_FRAME_MAX_STREAMS_UNI, 0, v)) {
                tern_sent_frame *r = record(c, pl, TERN_SF_MAX_STREAMS, 0, v, 0);
                if (r) r->flag = bidi;
            }
            pl->ack_eliciting = true;
        }
        if (tern_stream_map_streams_blocked_pending(m, bidi) && room(wr) > 16) {
            uint64_t v = tern_stream_map_take_streams_blocked(m, bidi);
            if (put_limit(c, wr, bidi ? TERN_FRAME_STREAMS_BLOCKED_BIDI : TERN_FRAME_STREAMS_BLOCKED_UNI, 0, v)) {
                tern_sent_frame *r = record(c, pl, TERN_SF_STREAMS_BLOCKED, 0, v, 0);
                if (r) r->flag = bidi;
            }
            pl->ack_eliciting = true;
        }
    }
    tern_new_cid_frame nc;
    while (room(wr) > 48 && tern_cid_manager_pending_new_cid_frame(&c->cids, &nc)) {
        tern_frame f = {.type = TERN_FRAME_NEW_CONNECTION_ID};
        f.u.new_connection_id.sequence = nc.sequence;
        f.u.new_connection_id.retire_prior_to = nc.retire_prior_to;
        f.u.new_connection_id.cid = nc.cid.data;
        f.u.new_connection_id.cid_len = nc.cid.len;
        f.u.new_connection_id.stateless_reset_token = nc.reset_token;
        if (!put_frame(c, wr, &f)) break;
        tern_cid_manager_on_new_cid_frame_sent(&c->cids, nc.sequence);
        record(c, pl, TERN_SF_NEW_CID, nc.sequence, 0, 0);
        pl->ack_eliciting = true;
    }
    /* profile §2: after any NEW_CONNECTION_ID of this packet, so a Retire
     * Prior To that made room comes first. */
    tern_saa_out *saa;
    while (room(wr) > 80 && (saa = tern_saa_server_next_pending(c))) {
        tern_frame f = {.type = TERN_FRAME_SAA};
        f.u.saa.sequence = saa->sequence;
        f.u.saa.ipv4 = saa->ipv4;
        f.u.saa.ipv6 = saa->ipv6;
        f.u.saa.cid = saa->cid.data;
        f.u.saa.cid_len = saa->cid.len;
        f.u.saa.stateless_reset_token = saa->reset_token;
        uint64_t sseq = saa->sequence;
        if (!put_frame(c, wr, &f)) break;
        tern_saa_server_on_sent(c, saa);
        record(c, pl, TERN_SF_SAA, sseq, 0, 0);
        pl->ack_eliciting = true;
    }
    uint64_t seq;
    while (room(wr) > 16 && tern_cid_manager_pending_retire_frame(&c->cids, &seq)) {
        tern_frame f = {.type = TERN_FRAME_RETIRE_CONNECTION_ID};
        f.u.retire_connection_id.sequence = seq;
        if (!put_frame(c, wr, &f)) break;
        tern_cid_manager_on_retire_frame_sent(&c->cids, seq);
        record(c, pl, TERN_SF_RETIRE_CID, seq, 0, 0);
        pl->ack_eliciting = true;
    }
}

static void write_close(tern_conn *c, writer *wr, pkt_plan *pl)
{
    tern_frame f = {.type = TERN_FRAME_CONNECTION_CLOSE};
    f.u.close.error_code = c->close_code;
    f.u.close.frame_type = c->close_frame_type;
    f.u.close.reason = (const uint8_t *)c->close_reason;
    f.u.close.reason_len = strlen(c->close_reason);
    if (c->close_app) {
        if (pl->space == TERN_RECOVERY_SPACE_APPLICATION) {
            f.type = TERN_FRAME_CONNECTION_CLOSE_APP;
        } else {
            /* §10.2.3: no application close in Initial/Handshake packets. */
            f.u.close.error_code = TERN_APPLICATION_ERROR;
            f.u.close.frame_type = 0;
            f.u.close.reason_len = 0;
        }
    }
    if (f.u.close.reason_len > 64) f.u.close.reason_len = 64;
    put_frame(c, wr, &f);
}

typedef enum { BUILD_NORMAL, BUILD_CLOSE, BUILD_PROBE } build_mode;

/* Lays out one packet of `space` at buf[start..cap): header and plaintext
 * frames. false when there is nothing worth sending in it. */
static bool build_packet(tern_conn *c, tern_path *path, tern_recovery_space space, uint8_t *buf, size_t start,
                         size_t cap, bool may_fill, build_mode mode, tern_time now, pkt_plan *pl)
{
    tern_pn_space *sp = &c->spaces[space];
    memset(pl, 0, sizeof *pl);
    pl->space = space;
    pl->level = space == TERN_RECOVERY_SPACE_INITIAL     ? TERN_TLS_LEVEL_INITIAL
                : space == TERN_RECOVERY_SPACE_HANDSHAKE ? TERN_TLS_LEVEL_HANDSHAKE
                                                         : TERN_TLS_LEVEL_APPLICATION;
    /* A client's Application space before the handshake: 0-RTT (§17.2.3). */
    if (space == TERN_RECOVERY_SPACE_APPLICATION) tern_conn_app_send_level(c, &pl->level);
    bool zero_rtt = pl->level == TERN_TLS_LEVEL_EARLY;
    pl->start = start;
    pl->pn = sp->next_pn;
    const tern_recovery_space_state *rs = &c->rec.spaces[space];
    pl->pn_len = tern_pn_encode_len(pl->pn, rs->has_largest_acked ? rs->largest_acked : TERN_PN_NONE);
    /* §17.1 lets the sender use more bytes than A.2's minimum, and it must
     * when packets cross paths: the peer decodes against the largest number
     * it has received on any path, and a packet on a slower path can arrive
     * behind many later ones. A 1-byte number goes wrong after 128 of them,
     * so 1-RTT packets use at least 2 bytes, and a probe on a path that is
     * not the active one (padded to 1200 bytes anyway) uses 4. */
    if (space == TERN_RECOVERY_SPACE_APPLICATION && !c->test_minimal_pn_len) {
        size_t floor_len = mode == BUILD_PROBE ? TERN_PN_MAX_LEN : 2;
        if (pl->pn_len < floor_len) pl->pn_len = floor_len;
    }
    const tern_cid *dcid = tern_conn_path_dcid(c, path);
    if (!dcid) return false; /* §9.5: no CID of its own for this path yet */
    uint8_t *p = buf + start;
    size_t avail = cap - start;
    if (avail < 64) return false;
    size_t hl;
    if (space == TERN_RECOVERY_SPACE_APPLICATION && !zero_rtt) {
        tern_short_header_fields f = {.dcid = dcid->data, .dcid_len = dcid->len, .key_phase = c->key_phase,
                                      .packet_number = pl->pn, .pn_len = pl->pn_len};
        hl = tern_short_header_encode(p, avail, &f);
    } else {
        pl->is_long = true;
        tern_long_header_fields f = {.type = zero_rtt                               ? TERN_PKT_0RTT
                                             : space == TERN_RECOVERY_SPACE_INITIAL ? TERN_PKT_INITIAL
                                                                                    : TERN_PKT_HANDSHAKE,
                                     .version = TERN_VERSION_1, .dcid = dcid->data, .dcid_len = dcid->len,
                                     .scid = c->local_initial_scid.data, .scid_len = c->local_initial_scid.len,
                                     /* §8.1: the Retry or NEW_TOKEN token in every client Initial. */
                                     .token = c->initial_token,
                                     .token_len = space == TERN_RECOVERY_SPACE_INITIAL && c->role == TERN_ROLE_CLIENT
                                                      ? c->initial_token_len
                                                      : 0,
                                     .packet_number = pl->pn, .pn_len = pl->pn_len};
        hl = tern_long_header_encode(p, avail, &f, &pl->layout);
    }
    if (!hl) return false;
    pl->header_len = hl;
    pl->pn_offset = hl - pl->pn_len;
    writer wr = {.p = p, .w = hl, .end = avail - TERN_AEAD_TAG_LEN};

    if (mode == BUILD_CLOSE) {
        write_close(c, &wr, pl);
    } else {
        /* §12.4 Table 3: no ACK, CRYPTO or path/handshake control frames in
         * 0-RTT; only stream data and its flow control. */
        if (mode == BUILD_NORMAL && !zero_rtt) write_ack(c, &wr, pl, now);
        bool probe_owed = sp->ping_pending || tern_recovery_probes_pending(&c->rec, space) > 0;
        if (mode == BUILD_PROBE) {
            write_path_frames(c, &wr, pl, path, now);
        } else if (may_fill || probe_owed) {
            if (!zero_rtt) write_crypto(c, &wr, pl);
            if (space == TERN_RECOVERY_SPACE_APPLICATION) {
                if (!zero_rtt) write_control(c, &wr, pl, path, now);
                write_stream_frames(c, &wr, pl, now);
            }
            if (c->test_inject_len && c->test_inject_space == (int)space && room(&wr) > c->test_inject_len) {
                memcpy(wr.p + wr.w, c->test_inject, c->test_inject_len);
                wr.w += c->test_inject_len;
                c->test_inject_len = 0;
                pl->ack_eliciting = true;
            }
            if (probe_owed && !pl->ack_eliciting && room(&wr) > 0) {
                wr.p[wr.w++] = TERN_FRAME_PING;
                pl->ack_eliciting = true;
                record(c, pl, TERN_SF_PING, 0, 0, 0);
            }
        }
        if (pl->ack_eliciting) sp->ping_pending = false;
    }
    if (wr.w == hl || (mode == BUILD_NORMAL && !pl->ack_eliciting &&
                       !tern_ack_tracker_should_send(&sp->ack, now))) {
        /* Nothing, or an ACK that is not due yet (§13.2.1). */
        tern_sent_frames_release(&c->sent_frames, pl->chain.head);
        return false;
    }
    /* RFC 9001 §5.4.2: 4 bytes of packet number + payload for the sample. */
    while (pl->pn_len + (wr.w - hl) < 4) wr.p[wr.w++] = TERN_FRAME_PADDING;
    pl->payload_len = wr.w - hl;
    sp->next_pn++;
    return true;
}

static tern_err finish_packet(tern_conn *c, tern_path *path, uint8_t *buf, size_t cap, pkt_plan *pl, bool track,
                              tern_time now, size_t *out_len)
{
    uint8_t *p = buf + pl->start;
    size_t pkt_len = pl->header_len + pl->payload_len + TERN_AEAD_TAG_LEN;
    if (pl->is_long) tern_long_header_patch_length(p, &pl->layout, pkt_len);
    if (c->test_set_reserved_bits && !pl->is_long) {
        p[0] |= TERN_SHORT_RESERVED_MASK;
        c->test_set_reserved_bits = false;
    }
    if (c->qlog) {
        /* The plaintext is still in place: its frames as they leave. */
        const tern_cid *dcid = tern_conn_path_dcid(c, path);
        tern_packet_type type = !pl->is_long                                ? TERN_PKT_1RTT
                                : pl->space == TERN_RECOVERY_SPACE_INITIAL ? TERN_PKT_INITIAL
                                                                           : TERN_PKT_HANDSHAKE;
        tern_conn_qlog_packet(c, now, false, type, pl->pn, dcid->data, dcid->len, c->key_phase, pkt_len,
                              p + pl->header_len, pl->payload_len);
    }
    tern_err err = tern_pp_protect(&c->tx[pl->level], p, cap - pl->start, pl->header_len, pl->pn_offset, pl->pn_len,
                                   pl->pn, pl->payload_len, out_len);
    if (err) return err;
    c->stats.packets_sent++;
    /* §6.2: an ACK of the packet that started the peer's key update went
     * out with the updated keys. */
    if (pl->has_ack && pl->space == TERN_RECOVERY_SPACE_APPLICATION && pl->ack_largest >= c->rx_phase_first_pn)
        c->peer_update_acked = true;
    if (!track) {
        tern_sent_frames_release(&c->sent_frames, pl->chain.head);
        return TERN_OK;
    }
    tern_sent_packet sp = {.pn = pl->pn, .time_sent = now, .frames = pl->chain.head, .size = (uint32_t)*out_len,
                           .path_id = path->id, .ack_eliciting = pl->ack_eliciting, .in_flight = pl->ack_eliciting};
    if (pl->has_ack) tern_ack_tracker_on_ack_sent(&c->spaces[pl->space].ack);
    err = tern_recovery_on_packet_sent(&c->rec, pl->space, &sp);
    if (err) {
        tern_sent_frames_release(&c->sent_frames, pl->chain.head);
        return TERN_OK;
    }
    if (sp.in_flight) tern_path_recovery_on_paced_send(&path->rec, now, *out_len);
    if (pl->ack_eliciting && !c->ack_eliciting_since_recv) {
        /* §10.1: sending restarts the idle timer once per received flight. */
        tern_conn_reset_idle(c, now);
        c->ack_eliciting_since_recv = true;
    }
    return TERN_OK;
}

/* Sends what the datagram's packets say: pads, protects, records. */
static size_t finish_datagram(tern_conn *c, tern_path *path, uint8_t *buf, size_t cap, pkt_plan *plans, size_t n,
                              bool track, tern_time now, tern_datagram *dg)
{
    bool pad = false;
    for (size_t i = 0; i < n; i++)
        if (plans[i].space == TERN_RECOVERY_SPACE_INITIAL || plans[i].has_path_frame) pad = true;
    pkt_plan *last = &plans[n - 1];
    size_t total = last->start + last->header_len + last->payload_len + TERN_AEAD_TAG_LEN;
    if (pad) {
        size_t target = cap < TERN_DATAGRAM_SIZE ? cap : TERN_DATAGRAM_SIZE;
        if (total < target) {
            memset(buf + last->start + last->header_len + last->payload_len, 0, target - total);
            last->payload_len += target - total;
            total = target;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (finish_packet(c, path, buf, cap, &plans[i], track, now, &len) != TERN_OK) return 0;
        /* RFC 9001 §4.9.1: a client drops Initial keys once it sends a
         * Handshake packet. */
        if (c->role == TERN_ROLE_CLIENT && plans[i].space == TERN_RECOVERY_SPACE_HANDSHAKE)
            tern_conn_discard_space(c, TERN_RECOVERY_SPACE_INITIAL, now);
    }
    path->tuple.bytes_sent += total;
    c->stats.bytes_sent += total;
    if (!path->tuple.validated) tern_conn_update_amplification_blocked(c, now);
    dg->local = path->tuple.local;
    dg->remote = path->tuple.remote;
    dg->ecn = 0;
    dg->data = buf;
    dg->len = total;
    dg->segment_size = 0;
    return total;
}

static size_t clamp_cap(const tern_path *p, size_t cap)
{
    if (cap > p->rec.cc.max_datagram_size) cap = (size_t)p->rec.cc.max_datagram_size;
    uint64_t allow = tern_path_send_allowance(p);
    if (allow < cap) cap = (size_t)allow;
    return cap;
}

static size_t send_close(tern_conn *c, tern_time now, uint8_t *buf, size_t cap, tern_datagram *dg)
{
    tern_path *path = tern_conn_active_path(c);
    cap = clamp_cap(path, cap);
    pkt_plan plans[TERN_RECOVERY_SPACE_COUNT];
    size_t n = 0, pos = 0;
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        tern_tls_level level = s == 0 ? TERN_TLS_LEVEL_INITIAL : s == 1 ? TERN_TLS_LEVEL_HANDSHAKE : TERN_TLS_LEVEL_APPLICATION;
        if (c->spaces[s].discarded || !c->has_tx[level]) continue;
        if (s == TERN_RECOVERY_SPACE_APPLICATION && !c->handshake_complete) continue;
        if (build_packet(c, path, (tern_recovery_space)s, buf, pos, cap, false, BUILD_CLOSE, now, &plans[n])) {
            pos = plans[n].start + plans[n].header_len + plans[n].payload_len + TERN_AEAD_TAG_LEN;
            n++;
        }
    }
    c->close_pending = false;
    if (!n) return 0;
    return finish_datagram(c, path, buf, cap, plans, n, false, now, dg);
}

/* A probe on a path that is not the active one: only PATH_CHALLENGE /
 * PATH_RESPONSE (§9.1), padded to 1200 bytes when challenging (§8.2.1). */
static size_t send_probe(tern_conn *c, tern_path *path, tern_time now, uint8_t *buf, size_t cap, tern_datagram *dg)
{
    cap = clamp_cap(path, cap);
    pkt_plan pl;
    if (!build_packet(c, path, TERN_RECOVERY_SPACE_APPLICATION, buf, 0, cap, true, BUILD_PROBE, now, &pl)) return 0;
    return finish_datagram(c, path, buf, cap, &pl, 1, true, now, dg);
}

size_t tern_conn_send_datagram(tern_conn *c, tern_time now, uint8_t *buf, size_t cap, tern_datagram *dg)
{
    c->now = now;
    if (c->state == TERN_CONN_CLOSED || c->state == TERN_CONN_DRAINING) return 0;
    if (c->state == TERN_CONN_CLOSING) return c->close_pending ? send_close(c, now, buf, cap, dg) : 0;
    c->pacing_timer = TERN_TIME_INFINITE;

    if (c->handshake_complete && c->has_tx[TERN_TLS_LEVEL_APPLICATION])
        for (tern_path *p = NULL; (p = tern_path_set_next(&c->paths, p));) {
            if (p != tern_conn_active_path(c) && (p->tuple.pv.pending || p->tuple.response_pending)) {
                size_t n = send_probe(c, p, now, buf, cap, dg);
                if (n) return n;
            }
        }

    tern_path *path = tern_conn_active_path(c);
    cap = clamp_cap(path, cap);
    if (cap < 64) return 0;
    uint64_t dsize = path->rec.cc.max_datagram_size;
    bool cc_ok = tern_cc_can_send(&path->rec.cc, dsize);
    tern_time pace = tern_path_recovery_next_send_time(&path->rec, now, dsize);
    bool may_fill = cc_ok && pace <= now;

    pkt_plan plans[TERN_RECOVERY_SPACE_COUNT];
    size_t n = 0, pos = 0;
    for (int s = 0; s < TERN_RECOVERY_SPACE_COUNT; s++) {
        tern_tls_level level = s == 0 ? TERN_TLS_LEVEL_INITIAL : s == 1 ? TERN_TLS_LEVEL_HANDSHAKE : TERN_TLS_LEVEL_APPLICATION;
        if (c->spaces[s].discarded) continue;
        if (s == TERN_RECOVERY_SPACE_APPLICATION) {
            if (!tern_conn_app_send_level(c, &level)) continue; /* 1-RTT, or 0-RTT before the handshake */
        } else if (!c->has_tx[level]) {
            continue;
        }
        if (build_packet(c, path, (tern_recovery_space)s, buf, pos, cap, may_fill, BUILD_NORMAL, now, &plans[n])) {
            pos = plans[n].start + plans[n].header_len + plans[n].payload_len + TERN_AEAD_TAG_LEN;
            n++;
        }
    }
    if (!n) {
        /* Held back by the pacer: come back when it allows a packet. */
        if (cc_ok && pace > now) c->pacing_timer = pace;
        /* RFC 9002 §7.8: the window and the pacer allowed a packet but there
         * was nothing to send (application or flow-control limited): the
         * window must not grow on the ACKs of what is in flight. Filling
         * the window again clears the flag (cc.c). */
        else if (may_fill) tern_cc_set_app_limited(&path->rec.cc, true);
        return 0;
    }
    return finish_datagram(c, path, buf, cap, plans, n, true, now, dg);
}

/* ---- recovery callbacks ---- */

tern_path_recovery *tern_conn_path_lookup_cb(void *user, tern_path_id path_id)
{
    tern_conn *c = user;
    tern_path *p = tern_path_set_by_id(&c->paths, path_id);
    return p ? &p->rec : NULL;
}

void tern_conn_on_packet_acked_cb(void *user, tern_recovery_space space, const tern_sent_packet *p)
{
    tern_conn *c = user;
    tern_sent_frames *pool = &c->sent_frames;
    tern_pn_space *sp = &c->spaces[space];
    tern_migration_on_packet_acked(c, p->path_id);
    for (uint32_t h = (uint32_t)p->frames; h;) {
        tern_sent_frame *r = tern_sent_frames_get(pool, h);
        h = r->next;
        tern_stream *s;
        switch (r->type) {
        case TERN_SF_STREAM:
            s = tern_stream_map_find(&c->streams, r->id);
            if (!s) break;
            tern_stream_on_data_acked(s, r->offset, (size_t)r->len, r->flag);
            if (s->write_blocked && !s->app_closed && tern_send_buffer_buffered(&s->send) < tern_conn_stream_send_limit(c) / 2) {
                s->write_blocked = false;
                tern_conn_push_event(c, TERN_EVENT_STREAM_WRITABLE, s->id);
            }
            break;
        case TERN_SF_CRYPTO:
            if (!sp->discarded) tern_send_buffer_on_acked(&sp->crypto_send, r->offset, (size_t)r->len, false);
            break;
        case TERN_SF_ACK:
            if (!sp->discarded) tern_ack_tracker_on_ack_acked(&sp->ack, r->offset);
            break;
        case TERN_SF_RESET_STREAM:
            if ((s = tern_stream_map_find(&c->streams, r->id))) tern_stream_on_reset_stream_acked(s);
            break;
        case TERN_SF_NEW_CID: tern_cid_manager_on_new_cid_frame_acked(&c->cids, r->id); break;
        case TERN_SF_RETIRE_CID: tern_cid_manager_on_retire_frame_acked(&c->cids, r->id); break;
        case TERN_SF_SAA: tern_saa_server_on_acked(c, r->id); break;
        default: break;
        }
    }
    if (space == TERN_RECOVERY_SPACE_APPLICATION && p->pn >= c->key_phase_first_pn) c->key_update_acked = true;
    if (c->qlog) tern_conn_qlog_acked(c, p);
    tern_sent_frames_release(pool, (uint32_t)p->frames);
}

void tern_conn_on_packet_lost_cb(void *user, tern_recovery_space space, const tern_sent_packet *p)
{
    tern_conn *c = user;
    tern_sent_frames *pool = &c->sent_frames;
    tern_pn_space *sp = &c->spaces[space];
    tern_stream_map *m = &c->streams;
    c->stats.packets_lost++;
    if (c->qlog) tern_conn_qlog_lost(c, space, p);
    for (uint32_t h = (uint32_t)p->frames; h;) {
        tern_sent_frame *r = tern_sent_frames_get(pool, h);
        h = r->next;
        tern_stream *s = NULL;
        if (r->type == TERN_SF_STREAM || r->type == TERN_SF_MAX_STREAM_DATA || r->type == TERN_SF_STREAM_DATA_BLOCKED ||
            r->type == TERN_SF_RESET_STREAM || r->type == TERN_SF_STOP_SENDING) {
            s = tern_stream_map_find(m, r->id);
            if (!s) continue;
        }
        switch (r->type) {
        case TERN_SF_STREAM: tern_stream_on_data_lost(s, r->offset, (size_t)r->len, r->flag); break;
        case TERN_SF_CRYPTO:
            if (!sp->discarded) tern_send_buffer_on_lost(&sp->crypto_send, r->offset, (size_t)r->len, false);
            break;
        case TERN_SF_MAX_DATA: tern_flow_recv_on_update_lost(&m->conn_recv, r->offset); break;
        case TERN_SF_DATA_BLOCKED: tern_flow_send_on_blocked_lost(&m->conn_send, r->offset); break;
        case TERN_SF_MAX_STREAM_DATA: tern_stream_on_max_stream_data_lost(s, r->offset); break;
        case TERN_SF_STREAM_DATA_BLOCKED: tern_stream_on_stream_data_blocked_lost(s, r->offset); break;
        case TERN_SF_MAX_STREAMS: tern_stream_map_on_max_streams_lost(m, r->flag, r->offset); break;
        case TERN_SF_STREAMS_BLOCKED: tern_stream_map_on_streams_blocked_lost(m, r->flag, r->offset); break;
        case TERN_SF_RESET_STREAM: tern_stream_on_reset_stream_lost(s); break;
        case TERN_SF_STOP_SENDING: tern_stream_on_stop_sending_lost(s); break;
        case TERN_SF_NEW_CID: tern_cid_manager_on_new_cid_frame_lost(&c->cids, r->id); break;
        case TERN_SF_RETIRE_CID: tern_cid_manager_on_retire_frame_lost(&c->cids, r->id); break;
        case TERN_SF_HANDSHAKE_DONE: c->handshake_done_pending = true; break;
        case TERN_SF_NEW_TOKEN: c->new_token_pending = true; break; /* a fresh one */
        case TERN_SF_SAA: tern_saa_server_on_lost(c, r->id); break;
        case TERN_SF_PATH_CHALLENGE: {
            tern_path *path = tern_path_set_by_id(&c->paths, r->id);
            if (path) tern_path_validation_on_lost(&path->tuple.pv);
            break;
        }
        default: break;
        }
    }
    tern_sent_frames_release(pool, (uint32_t)p->frames);
}

void tern_conn_on_packet_discarded_cb(void *user, tern_recovery_space space, const tern_sent_packet *p)
{
    (void)space;
    tern_conn *c = user;
    tern_sent_frames_release(&c->sent_frames, (uint32_t)p->frames);
}
