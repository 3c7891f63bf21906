/* Frame codec configuration, ACK range iteration and frame classification
 * (RFC 9000 §9.1, §12.4 Table 3, §13.2, §19.3.1). */
#include "frame.h"
#include "varint.h"

tern_frame_config tern_frame_config_default(void)
{
    tern_frame_config cfg = {TERN_SAA_FRAME_TYPE_DEFAULT};
    return cfg;
}

tern_err tern_frame_config_check(const tern_frame_config *cfg)
{
    if (cfg->saa_type <= TERN_FRAME_HANDSHAKE_DONE || cfg->saa_type > TERN_VARINT_MAX)
        return TERN_ERR_INVALID_ARGUMENT;
    return TERN_OK;
}

void tern_ack_range_iter_init(tern_ack_range_iter *it, const tern_ack_frame *ack)
{
    it->pos = ack->ranges;
    it->end = ack->ranges + ack->ranges_len;
    it->remaining = ack->range_count + 1;
    it->next_largest = ack->largest_acknowledged;
    it->next_len = ack->first_ack_range;
}

bool tern_ack_range_iter_next(tern_ack_range_iter *it, uint64_t *smallest, uint64_t *largest)
{
    if (it->remaining == 0) return false;
    *largest = it->next_largest;
    *smallest = it->next_largest - it->next_len;
    if (--it->remaining > 0) {
        /* §19.3.1: largest = previous smallest - Gap - 2; the decoder
         * already checked that the pairs are present and never go below 0. */
        uint64_t gap = 0, len = 0;
        it->pos += tern_varint_decode(it->pos, (size_t)(it->end - it->pos), &gap);
        it->pos += tern_varint_decode(it->pos, (size_t)(it->end - it->pos), &len);
        it->next_largest = *smallest - gap - 2;
        it->next_len = len;
    }
    return true;
}

/* Table 3 packet-type columns. */
enum { IN_INITIAL = 1, IN_0RTT = 2, IN_HANDSHAKE = 4, IN_1RTT = 8 };

static unsigned allowed_packets(tern_frame_type type)
{
    switch (type) {
    case TERN_FRAME_PADDING:
    case TERN_FRAME_PING:
    case TERN_FRAME_CONNECTION_CLOSE:
        return IN_INITIAL | IN_0RTT | IN_HANDSHAKE | IN_1RTT;
    case TERN_FRAME_ACK:
    case TERN_FRAME_ACK_ECN:
    case TERN_FRAME_CRYPTO:
        return IN_INITIAL | IN_HANDSHAKE | IN_1RTT;
    case TERN_FRAME_RESET_STREAM:
    case TERN_FRAME_STOP_SENDING:
    case TERN_FRAME_STREAM:
    case TERN_FRAME_MAX_DATA:
    case TERN_FRAME_MAX_STREAM_DATA:
    case TERN_FRAME_MAX_STREAMS_BIDI:
    case TERN_FRAME_MAX_STREAMS_UNI:
    case TERN_FRAME_DATA_BLOCKED:
    case TERN_FRAME_STREAM_DATA_BLOCKED:
    case TERN_FRAME_STREAMS_BLOCKED_BIDI:
    case TERN_FRAME_STREAMS_BLOCKED_UNI:
    case TERN_FRAME_NEW_CONNECTION_ID:
    case TERN_FRAME_RETIRE_CONNECTION_ID:
    case TERN_FRAME_PATH_CHALLENGE:
    /* §12.4: an application CONNECTION_CLOSE (0x1d) only in 0-RTT/1-RTT. */
    case TERN_FRAME_CONNECTION_CLOSE_APP:
        return IN_0RTT | IN_1RTT;
    case TERN_FRAME_NEW_TOKEN:
    case TERN_FRAME_PATH_RESPONSE:
    case TERN_FRAME_HANDSHAKE_DONE:
    case TERN_FRAME_SAA: /* profile §2 */
        return IN_1RTT;
    }
    return 0;
}

bool tern_frame_allowed_in(tern_frame_type type, tern_packet_type packet_type)
{
    /* STREAM may be passed as its wire type 0x08..0x0f. */
    if (type > TERN_FRAME_STREAM && type <= (TERN_FRAME_STREAM | 0x07)) type = TERN_FRAME_STREAM;
    unsigned mask = allowed_packets(type);
    switch (packet_type) {
    case TERN_PKT_INITIAL: return mask & IN_INITIAL;
    case TERN_PKT_0RTT: return mask & IN_0RTT;
    case TERN_PKT_HANDSHAKE: return mask & IN_HANDSHAKE;
    case TERN_PKT_1RTT: return mask & IN_1RTT;
    default: return false; /* Retry and VN carry no frames */
    }
}

bool tern_frame_is_ack_eliciting(tern_frame_type type)
{
    switch (type) {
    case TERN_FRAME_PADDING:
    case TERN_FRAME_ACK:
    case TERN_FRAME_ACK_ECN:
    case TERN_FRAME_CONNECTION_CLOSE:
    case TERN_FRAME_CONNECTION_CLOSE_APP:
        return false;
    default:
        return true;
    }
}

bool tern_frame_is_probing(tern_frame_type type)
{
    return type == TERN_FRAME_PATH_CHALLENGE || type == TERN_FRAME_PATH_RESPONSE ||
           type == TERN_FRAME_NEW_CONNECTION_ID || type == TERN_FRAME_PADDING;
}

const char *tern_frame_type_name(tern_frame_type type)
{
    if (type > TERN_FRAME_STREAM && type <= (TERN_FRAME_STREAM | 0x07)) type = TERN_FRAME_STREAM;
    switch (type) {
    case TERN_FRAME_PADDING: return "PADDING";
    case TERN_FRAME_PING: return "PING";
    case TERN_FRAME_ACK: return "ACK";
    case TERN_FRAME_ACK_ECN: return "ACK_ECN";
    case TERN_FRAME_RESET_STREAM: return "RESET_STREAM";
    case TERN_FRAME_STOP_SENDING: return "STOP_SENDING";
    case TERN_FRAME_CRYPTO: return "CRYPTO";
    case TERN_FRAME_NEW_TOKEN: return "NEW_TOKEN";
    case TERN_FRAME_STREAM: return "STREAM";
    case TERN_FRAME_MAX_DATA: return "MAX_DATA";
    case TERN_FRAME_MAX_STREAM_DATA: return "MAX_STREAM_DATA";
    case TERN_FRAME_MAX_STREAMS_BIDI: return "MAX_STREAMS_BIDI";
    case TERN_FRAME_MAX_STREAMS_UNI: return "MAX_STREAMS_UNI";
    case TERN_FRAME_DATA_BLOCKED: return "DATA_BLOCKED";
    case TERN_FRAME_STREAM_DATA_BLOCKED: return "STREAM_DATA_BLOCKED";
    case TERN_FRAME_STREAMS_BLOCKED_BIDI: return "STREAMS_BLOCKED_BIDI";
    case TERN_FRAME_STREAMS_BLOCKED_UNI: return "STREAMS_BLOCKED_UNI";
    case TERN_FRAME_NEW_CONNECTION_ID: return "NEW_CONNECTION_ID";
    case TERN_FRAME_RETIRE_CONNECTION_ID: return "RETIRE_CONNECTION_ID";
    case TERN_FRAME_PATH_CHALLENGE: return "PATH_CHALLENGE";
    case TERN_FRAME_PATH_RESPONSE: return "PATH_RESPONSE";
    case TERN_FRAME_CONNECTION_CLOSE: return "CONNECTION_CLOSE";
    case TERN_FRAME_CONNECTION_CLOSE_APP: return "CONNECTION_CLOSE_APP";
    case TERN_FRAME_HANDSHAKE_DONE: return "HANDSHAKE_DONE";
    case TERN_FRAME_SAA: return "SERVER_ALTERNATE_ADDRESS";
    }
    return "UNKNOWN";
}
