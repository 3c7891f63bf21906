/* Handlers for received frames (RFC 9000 §19), one per type, after the
 * packet-type check of §12.4 (Table 3). Each returns 0 or the transport
 * error to close the connection with. */
#include <string.h>

#include "conn.h"
#include "varint.h"

#define MAX_ACK_RANGES 64

static tern_err on_ack(tern_conn *c, tern_rx_packet *pkt, const tern_ack_frame *f, tern_time now)
{
    tern_ack_range ranges[MAX_ACK_RANGES];
    size_t n = 0;
    tern_ack_range_iter it;
    tern_ack_range_iter_init(&it, f);
    uint64_t lo, hi;
    while (n < MAX_ACK_RANGES && tern_ack_range_iter_next(&it, &lo, &hi)) {
        ranges[n].smallest = lo;
        ranges[n].largest = hi;
        n++;
    }
    /* §19.3: ACK Delay scaled by the peer's exponent (Initial/Handshake use
     * the default 3 too, the peer's parameter may not be known yet). */
    uint64_t exp = c->peer_tp_received ? c->peer_tp.ack_delay_exponent : 3;
    tern_time delay = pkt->space == TERN_RECOVERY_SPACE_APPLICATION ? TERN_US(f->ack_delay << exp) : 0;
    tern_ecn_counts ecn = {f->ect0, f->ect1, f->ecn_ce};
    tern_err err = tern_recovery_on_ack(&c->rec, pkt->space, ranges, n, delay, f->has_ecn ? &ecn : NULL, now, NULL);
    if (c->qlog && !err) tern_conn_qlog_recovery(c, now);
    return err;
}

/* Edge-triggered STREAM_READABLE (tern.h): one event when the stream goes
 * from nothing to read to something to read (data, or the FIN once every
 * byte is in); again only after a read found it drained. */
static void note_readable(tern_conn *c, uint64_t id)
{
    tern_stream *s = tern_stream_map_find(&c->streams, id);
    if (!s || s->app_closed || s->readable_notified || s->end_seen) return;
    if (tern_recv_buffer_readable(&s->recv) > 0 || s->recv_state == TERN_RECV_DATA_RECVD) {
        s->readable_notified = true;
        tern_conn_push_event(c, TERN_EVENT_STREAM_READABLE, id);
    }
}

static tern_err on_stream(tern_conn *c, const tern_stream_frame *f, tern_time now)
{
    tern_stream *s = tern_stream_map_find(&c->streams, f->stream_id);
    uint64_t before = s ? tern_recv_buffer_contiguous_end(&s->recv) : 0;
    bool was_complete = s && s->recv_state >= TERN_RECV_DATA_RECVD;
    tern_err err = tern_stream_map_on_stream(&c->streams, f->stream_id, f->offset, f->data, f->len, f->fin, now);
    if (err) return err;
    c->stats.stream_bytes_received += f->len;
    s = tern_stream_map_find(&c->streams, f->stream_id);
    if (s && (tern_recv_buffer_contiguous_end(&s->recv) > before ||
              (!was_complete && s->recv_state == TERN_RECV_DATA_RECVD)))
        note_readable(c, f->stream_id);
    return TERN_OK;
}

static tern_err on_path_challenge(tern_conn *c, tern_rx_packet *pkt, const tern_path_frame *f)
{
    /* §8.2.2: PATH_RESPONSE on the path the challenge came on. */
    (void)c;
    pkt->path->tuple.response_pending = true;
    memcpy(pkt->path->tuple.response, f->data, TERN_PATH_DATA_LEN);
    return TERN_OK;
}

static tern_err on_path_response(tern_conn *c, const tern_path_frame *f, tern_time now)
{
    /* §8.2.3: the response may arrive on any path. */
    tern_migration_on_path_response(c, f->data, now);
    return TERN_OK;
}

static tern_err on_new_cid(tern_conn *c, const tern_new_connection_id_frame *f)
{
    tern_cid cid;
    cid.len = f->cid_len;
    memcpy(cid.data, f->cid, f->cid_len);
    tern_err err = tern_cid_manager_on_peer_cid(&c->cids, TERN_CID_SOURCE_NEW_CONNECTION_ID, f->sequence,
                                                f->retire_prior_to, &cid, f->stateless_reset_token, NULL);
    if (!err) tern_migration_on_new_peer_cid(c);
    return err;
}

static tern_err dispatch(tern_conn *c, tern_rx_packet *pkt, const tern_frame *f, tern_time now)
{
    tern_stream_map *m = &c->streams;
    switch (f->type) {
    case TERN_FRAME_PADDING:
    case TERN_FRAME_PING:
        return TERN_OK;
    case TERN_FRAME_ACK:
    case TERN_FRAME_ACK_ECN:
        return on_ack(c, pkt, &f->u.ack, now);
    case TERN_FRAME_CRYPTO:
        return tern_conn_on_crypto(c, pkt->level, f->u.crypto.offset, f->u.crypto.data, f->u.crypto.len, now);
    case TERN_FRAME_NEW_TOKEN:
        /* §19.7: only servers send it; clients may ignore it. */
        if (c->role == TERN_ROLE_SERVER) return TERN_PROTOCOL_VIOLATION;
        tern_conn_on_new_token(c, f->u.new_token.token, f->u.new_token.len);
        return TERN_OK;
    case TERN_FRAME_STREAM:
        return on_stream(c, &f->u.stream, now);
    case TERN_FRAME_RESET_STREAM: {
        tern_err err = tern_stream_map_on_reset_stream(m, f->u.reset_stream.stream_id, f->u.reset_stream.app_error_code,
                                                       f->u.reset_stream.final_size, now);
        tern_stream *s = err ? NULL : tern_stream_map_find(m, f->u.reset_stream.stream_id);
        uint64_t code;
        /* Only a reset that ended the receiving part is news; telling the
         * application moves "Reset Recvd" to "Reset Read", so the stream
         * can close. It is kept, like after a FIN, until the application
         * closes it (tern.h) - unless it did already. */
        if (s && s->recv_state == TERN_RECV_RESET_RECVD && tern_stream_take_peer_reset(s, &code) && !s->app_closed) {
            s->end_seen = true;
            tern_event ev = {.type = TERN_EVENT_STREAM_RESET, .conn = c, .stream_id = f->u.reset_stream.stream_id,
                             .error_code = code};
            tern_endpoint_push_event(c->ep, &ev);
        }
        return err;
    }
    case TERN_FRAME_STOP_SENDING: {
        tern_err err = tern_stream_map_on_stop_sending(m, f->u.stop_sending.stream_id, f->u.stop_sending.app_error_code, now);
        tern_stream *s = err ? NULL : tern_stream_map_find(m, f->u.stop_sending.stream_id);
        if (s && !s->app_closed) {
            tern_event ev = {.type = TERN_EVENT_STREAM_STOP_SENDING, .conn = c, .stream_id = f->u.stop_sending.stream_id,
                             .error_code = f->u.stop_sending.app_error_code};
            tern_endpoint_push_event(c->ep, &ev);
        }
        return err;
    }
    case TERN_FRAME_MAX_DATA:
        tern_stream_map_on_max_data(m, f->u.limit.value);
        return TERN_OK;
    case TERN_FRAME_MAX_STREAM_DATA:
        return tern_stream_map_on_max_stream_data(m, f->u.limit.stream_id, f->u.limit.value, now);
    case TERN_FRAME_MAX_STREAMS_BIDI:
    case TERN_FRAME_MAX_STREAMS_UNI: {
        bool bidi = f->type == TERN_FRAME_MAX_STREAMS_BIDI;
        uint64_t before = m->local[bidi ? 0 : 1].limit;
        tern_err err = tern_stream_map_on_max_streams(m, bidi, f->u.limit.value);
        if (!err && m->local[bidi ? 0 : 1].limit > before) tern_conn_push_event(c, TERN_EVENT_STREAMS_AVAILABLE, 0);
        return err;
    }
    case TERN_FRAME_DATA_BLOCKED:
        return TERN_OK; /* informational (§19.12) */
    case TERN_FRAME_STREAM_DATA_BLOCKED:
        return tern_stream_map_on_stream_data_blocked(m, f->u.limit.stream_id, f->u.limit.value, now);
    case TERN_FRAME_STREAMS_BLOCKED_BIDI:
    case TERN_FRAME_STREAMS_BLOCKED_UNI:
        return tern_stream_map_on_streams_blocked(m, f->type == TERN_FRAME_STREAMS_BLOCKED_BIDI, f->u.limit.value);
    case TERN_FRAME_NEW_CONNECTION_ID:
        return on_new_cid(c, &f->u.new_connection_id);
    case TERN_FRAME_RETIRE_CONNECTION_ID:
        return tern_cid_manager_on_retire_connection_id(&c->cids, f->u.retire_connection_id.sequence, &pkt->dcid);
    case TERN_FRAME_PATH_CHALLENGE:
        return on_path_challenge(c, pkt, &f->u.path);
    case TERN_FRAME_PATH_RESPONSE:
        return on_path_response(c, &f->u.path, now);
    case TERN_FRAME_CONNECTION_CLOSE:
    case TERN_FRAME_CONNECTION_CLOSE_APP:
        tern_conn_enter_draining(c, f->u.close.error_code, f->type == TERN_FRAME_CONNECTION_CLOSE_APP,
                                 f->u.close.reason, f->u.close.reason_len, now);
        return TERN_OK;
    case TERN_FRAME_HANDSHAKE_DONE:
        /* §19.20: a server receiving it is a PROTOCOL_VIOLATION. */
        if (c->role == TERN_ROLE_SERVER) return TERN_PROTOCOL_VIOLATION;
        tern_conn_set_handshake_confirmed(c, now);
        return TERN_OK;
    case TERN_FRAME_SAA:
        return tern_saa_client_on_frame(c, &f->u.saa, now);
    }
    return TERN_FRAME_ENCODING_ERROR;
}

tern_err tern_conn_process_frames(tern_conn *c, tern_rx_packet *pkt, const uint8_t *payload, size_t len,
                                  tern_time now, uint64_t *err_frame_type)
{
    /* §12.4: a packet carries at least one frame. */
    if (len == 0) return TERN_PROTOCOL_VIOLATION;
    size_t off = 0;
    while (off < len) {
        tern_frame f;
        size_t used;
        tern_err err = tern_frame_decode(&c->ep->frame_cfg, payload + off, len - off, &f, &used);
        /* §19.19: CONNECTION_CLOSE carries the whole frame type, a varint
         * (SAA's is 4 bytes); a truncated type reports 0 (unknown). */
        uint64_t type = 0;
        *err_frame_type = tern_varint_decode(payload + off, len - off, &type) ? type : 0;
        if (err) return err;
        if (!tern_frame_allowed_in(f.type, pkt->type)) return TERN_PROTOCOL_VIOLATION;
        if (tern_frame_is_ack_eliciting(f.type)) pkt->ack_eliciting = true;
        if (!tern_frame_is_probing(f.type)) pkt->non_probing = true;
        err = dispatch(c, pkt, &f, now);
        if (err) return err;
        if (tern_conn_is_closing(c)) return TERN_OK;
        off += used;
    }
    /* New peer streams and freed ones. */
    tern_stream *s;
    while ((s = tern_stream_map_accept(&c->streams)) != NULL) {
        tern_conn_push_event(c, TERN_EVENT_STREAM_OPENED, s->id);
        note_readable(c, s->id);
    }
    return TERN_OK;
}
