/* QUIC transport parameters: codec and checks (RFC 9000 §7.3, §7.4, §18). */
#include "transport_params.h"

#include <string.h>

#include "varint.h"

/* preferred_address without its Connection ID (§18.2, Figure 22):
 * IPv4 address 4 + port 2 + IPv6 address 16 + port 2 + CID length 1 +
 * stateless reset token 16. */
#define PREFERRED_ADDRESS_FIXED_LEN (4 + 2 + 16 + 2 + 1 + TERN_STATELESS_RESET_TOKEN_LEN)
#define PREFERRED_ADDRESS_CID_LEN_OFFSET (4 + 2 + 16 + 2)

/* Duplicate detection (§7.4: "SHOULD treat receipt of duplicate transport
 * parameters as a connection error"). Known ids use a bit each. Unknown ids
 * are remembered in a small table: enough for any real peer (which sends a
 * handful of extensions and GREASE values), while a hostile list of thousands
 * of unknown ids costs linear rather than quadratic time. Duplicates beyond
 * the table go undetected, which the SHOULD permits. */
#define UNKNOWN_IDS_TRACKED 64
#define SEEN_BIT_ENABLE_SERVER_MIGRATION (TERN_TP_RETRY_SOURCE_CONNECTION_ID + 1)
#define SEEN_BIT_ALLOW_SERVER_MIGRATION (TERN_TP_RETRY_SOURCE_CONNECTION_ID + 2)

static bool is_grease_id(uint64_t id)
{
    /* §18.1: reserved ids are 31 * N + 27. */
    return id >= 27 && (id - 27) % 31 == 0;
}

void tern_tp_config_init(tern_tp_config *config)
{
    config->enable_server_migration_id = TERN_TP_ENABLE_SERVER_MIGRATION_DEFAULT;
    config->allow_server_migration_id = TERN_TP_ALLOW_SERVER_MIGRATION_DEFAULT;
}

tern_err tern_tp_config_check(const tern_tp_config *config)
{
    const uint64_t ids[] = {config->enable_server_migration_id, config->allow_server_migration_id};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (ids[i] > TERN_VARINT_MAX || ids[i] <= TERN_TP_RETRY_SOURCE_CONNECTION_ID ||
            is_grease_id(ids[i]))
            return TERN_ERR_INVALID_ARGUMENT;
    }
    if (ids[0] == ids[1]) return TERN_ERR_INVALID_ARGUMENT;
    return TERN_OK;
}

void tern_tp_init_defaults(tern_transport_params *tp)
{
    /* memset first so that padding is deterministic too. */
    memset(tp, 0, sizeof *tp);
    tp->max_udp_payload_size = TERN_TP_DEFAULT_MAX_UDP_PAYLOAD_SIZE;
    tp->ack_delay_exponent = TERN_TP_DEFAULT_ACK_DELAY_EXPONENT;
    tp->max_ack_delay_ms = TERN_TP_DEFAULT_MAX_ACK_DELAY_MS;
    tp->active_connection_id_limit = TERN_TP_DEFAULT_ACTIVE_CONNECTION_ID_LIMIT;
}

static bool cid_valid(const tern_cid *cid) { return cid->len <= TERN_MAX_CID_LEN; }

static bool address_valid(const tern_addr *addr, uint8_t family)
{
    return addr->family == TERN_AF_NONE || addr->family == family;
}

tern_err tern_tp_validate(const tern_transport_params *tp, tern_tp_role sender)
{
    if (sender == TERN_TP_ROLE_CLIENT &&
        (tp->has_original_destination_connection_id || tp->has_stateless_reset_token ||
         tp->has_preferred_address || tp->has_retry_source_connection_id))
        return TERN_TRANSPORT_PARAMETER_ERROR; /* §18.2: server-only */

    const uint64_t integers[] = {
        tp->max_idle_timeout_ms,
        tp->max_udp_payload_size,
        tp->initial_max_data,
        tp->initial_max_stream_data_bidi_local,
        tp->initial_max_stream_data_bidi_remote,
        tp->initial_max_stream_data_uni,
        tp->initial_max_streams_bidi,
        tp->initial_max_streams_uni,
        tp->ack_delay_exponent,
        tp->max_ack_delay_ms,
        tp->active_connection_id_limit,
    };
    for (size_t i = 0; i < sizeof integers / sizeof integers[0]; i++)
        if (integers[i] > TERN_VARINT_MAX) return TERN_TRANSPORT_PARAMETER_ERROR;

    /* §18.2 value limits; §4.6 for the stream counts. */
    if (tp->max_udp_payload_size < TERN_TP_MIN_MAX_UDP_PAYLOAD_SIZE ||
        tp->ack_delay_exponent > TERN_TP_MAX_ACK_DELAY_EXPONENT ||
        tp->max_ack_delay_ms >= TERN_TP_MAX_ACK_DELAY_LIMIT_MS ||
        tp->active_connection_id_limit < TERN_TP_MIN_ACTIVE_CONNECTION_ID_LIMIT ||
        tp->initial_max_streams_bidi > TERN_TP_MAX_STREAMS_LIMIT ||
        tp->initial_max_streams_uni > TERN_TP_MAX_STREAMS_LIMIT)
        return TERN_TRANSPORT_PARAMETER_ERROR;

    if ((tp->has_original_destination_connection_id &&
         !cid_valid(&tp->original_destination_connection_id)) ||
        (tp->has_initial_source_connection_id && !cid_valid(&tp->initial_source_connection_id)) ||
        (tp->has_retry_source_connection_id && !cid_valid(&tp->retry_source_connection_id)))
        return TERN_TRANSPORT_PARAMETER_ERROR;

    if (tp->has_preferred_address) {
        const tern_tp_preferred_address *pa = &tp->preferred_address;
        /* §18.2: "a server MUST NOT include a zero-length connection ID". */
        if (pa->cid.len == 0 || !cid_valid(&pa->cid) ||
            !address_valid(&pa->ipv4, TERN_AF_INET) || !address_valid(&pa->ipv6, TERN_AF_INET6))
            return TERN_TRANSPORT_PARAMETER_ERROR;
        /* §18.2: "A server that chooses a zero-length connection ID MUST NOT
         * provide a preferred address"; its choice is the CID it put in
         * initial_source_connection_id. A preferred_address with both
         * families absent is not forbidden: the client just cannot use it. */
        if (tp->has_initial_source_connection_id && tp->initial_source_connection_id.len == 0)
            return TERN_TRANSPORT_PARAMETER_ERROR;
    }
    return TERN_OK;
}

/* ---- encoding ---------------------------------------------------------- */

/* Appends to a caller buffer; remembers an overflow instead of checking
 * every call site. */
typedef struct tp_writer {
    uint8_t *out;
    size_t cap;
    size_t pos;
    bool overflow;
} tp_writer;

static void write_bytes(tp_writer *w, const uint8_t *bytes, size_t len)
{
    if (w->overflow || w->cap - w->pos < len) {
        w->overflow = true;
        return;
    }
    if (len) memcpy(w->out + w->pos, bytes, len);
    w->pos += len;
}

static void write_varint(tp_writer *w, uint64_t v)
{
    uint8_t tmp[8];
    size_t n = tern_varint_encode(tmp, sizeof tmp, v);
    write_bytes(w, tmp, n);
}

static void write_u16(tp_writer *w, uint16_t v)
{
    const uint8_t tmp[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    write_bytes(w, tmp, sizeof tmp);
}

static void write_param(tp_writer *w, uint64_t id, const uint8_t *value, size_t len)
{
    write_varint(w, id);
    write_varint(w, len);
    write_bytes(w, value, len);
}

static void write_integer_param(tp_writer *w, uint64_t id, uint64_t value)
{
    write_varint(w, id);
    write_varint(w, tern_varint_size(value));
    write_varint(w, value);
}

static void write_cid_param(tp_writer *w, uint64_t id, const tern_cid *cid)
{
    write_param(w, id, cid->data, cid->len);
}

/* An absent family travels as the all-zero address and port (§18.2). */
static void write_address(tp_writer *w, const tern_addr *addr, size_t ip_len)
{
    static const uint8_t zero[16];
    if (addr->family == TERN_AF_NONE) {
        write_bytes(w, zero, ip_len);
        write_u16(w, 0);
    } else {
        write_bytes(w, addr->ip, ip_len);
        write_u16(w, addr->port);
    }
}

static void write_preferred_address(tp_writer *w, const tern_tp_preferred_address *pa)
{
    write_varint(w, TERN_TP_PREFERRED_ADDRESS);
    write_varint(w, PREFERRED_ADDRESS_FIXED_LEN + (size_t)pa->cid.len);
    write_address(w, &pa->ipv4, 4);
    write_address(w, &pa->ipv6, 16);
    write_bytes(w, &pa->cid.len, 1);
    write_bytes(w, pa->cid.data, pa->cid.len);
    write_bytes(w, pa->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
}

/* Integer parameters are written only when they differ from the default the
 * peer would infer from their absence (§18.2). */
static void write_integer_unless_default(tp_writer *w, uint64_t id, uint64_t value,
                                         uint64_t default_value)
{
    if (value != default_value) write_integer_param(w, id, value);
}

tern_err tern_tp_encode(const tern_transport_params *tp, tern_tp_role sender,
                        const tern_tp_config *config, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    tern_tp_config default_config;
    if (!config) {
        tern_tp_config_init(&default_config);
        config = &default_config;
    }
    if (tern_tp_config_check(config) != TERN_OK) return TERN_ERR_INVALID_ARGUMENT;

    /* What this sender actually puts on the wire: a client drops the
     * server-only parameters, a server drops the client-only offer. */
    tern_transport_params sent = *tp;
    if (sender == TERN_TP_ROLE_CLIENT) {
        sent.has_original_destination_connection_id = false;
        sent.has_stateless_reset_token = false;
        sent.has_preferred_address = false;
        sent.has_retry_source_connection_id = false;
    } else {
        sent.enable_server_migration = false;
    }
    /* Never emit what the peer must reject. */
    if (tern_tp_validate(&sent, sender) != TERN_OK) return TERN_ERR_INVALID_ARGUMENT;

    tp_writer w = {.out = out, .cap = cap, .pos = 0, .overflow = false};
    if (sent.has_original_destination_connection_id)
        write_cid_param(&w, TERN_TP_ORIGINAL_DESTINATION_CONNECTION_ID,
                        &sent.original_destination_connection_id);
    write_integer_unless_default(&w, TERN_TP_MAX_IDLE_TIMEOUT, sent.max_idle_timeout_ms, 0);
    if (sent.has_stateless_reset_token)
        write_param(&w, TERN_TP_STATELESS_RESET_TOKEN, sent.stateless_reset_token,
                    TERN_STATELESS_RESET_TOKEN_LEN);
    write_integer_unless_default(&w, TERN_TP_MAX_UDP_PAYLOAD_SIZE, sent.max_udp_payload_size,
                                 TERN_TP_DEFAULT_MAX_UDP_PAYLOAD_SIZE);
    write_integer_unless_default(&w, TERN_TP_INITIAL_MAX_DATA, sent.initial_max_data, 0);
    write_integer_unless_default(&w, TERN_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
                                 sent.initial_max_stream_data_bidi_local, 0);
    write_integer_unless_default(&w, TERN_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
                                 sent.initial_max_stream_data_bidi_remote, 0);
    write_integer_unless_default(&w, TERN_TP_INITIAL_MAX_STREAM_DATA_UNI,
                                 sent.initial_max_stream_data_uni, 0);
    write_integer_unless_default(&w, TERN_TP_INITIAL_MAX_STREAMS_BIDI,
                                 sent.initial_max_streams_bidi, 0);
    write_integer_unless_default(&w, TERN_TP_INITIAL_MAX_STREAMS_UNI,
                                 sent.initial_max_streams_uni, 0);
    write_integer_unless_default(&w, TERN_TP_ACK_DELAY_EXPONENT, sent.ack_delay_exponent,
                                 TERN_TP_DEFAULT_ACK_DELAY_EXPONENT);
    write_integer_unless_default(&w, TERN_TP_MAX_ACK_DELAY, sent.max_ack_delay_ms,
                                 TERN_TP_DEFAULT_MAX_ACK_DELAY_MS);
    if (sent.disable_active_migration) write_param(&w, TERN_TP_DISABLE_ACTIVE_MIGRATION, NULL, 0);
    if (sent.has_preferred_address) write_preferred_address(&w, &sent.preferred_address);
    write_integer_unless_default(&w, TERN_TP_ACTIVE_CONNECTION_ID_LIMIT,
                                 sent.active_connection_id_limit,
                                 TERN_TP_DEFAULT_ACTIVE_CONNECTION_ID_LIMIT);
    if (sent.has_initial_source_connection_id)
        write_cid_param(&w, TERN_TP_INITIAL_SOURCE_CONNECTION_ID,
                        &sent.initial_source_connection_id);
    if (sent.has_retry_source_connection_id)
        write_cid_param(&w, TERN_TP_RETRY_SOURCE_CONNECTION_ID, &sent.retry_source_connection_id);
    if (sent.enable_server_migration)
        write_param(&w, config->enable_server_migration_id, NULL, 0);
    if (sent.allow_server_migration) write_param(&w, config->allow_server_migration_id, NULL, 0);

    if (w.overflow) return TERN_ERR_BUFFER_TOO_SMALL;
    *out_len = w.pos;
    return TERN_OK;
}

/* ---- decoding ---------------------------------------------------------- */

/* §18.2: integer parameters are one varint that fills the value exactly. */
static tern_err read_integer_value(const uint8_t *value, size_t len, uint64_t *out)
{
    size_t n = tern_varint_decode(value, len, out);
    if (n == 0 || n != len) return TERN_TRANSPORT_PARAMETER_ERROR;
    return TERN_OK;
}

static tern_err read_cid_value(const uint8_t *value, size_t len, tern_cid *cid)
{
    if (len > TERN_MAX_CID_LEN) return TERN_TRANSPORT_PARAMETER_ERROR;
    cid->len = (uint8_t)len;
    if (len) memcpy(cid->data, value, len);
    return TERN_OK;
}

static uint16_t read_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

/* An all-zero address and port means "this family is absent" (§18.2). */
static void read_address(const uint8_t *p, size_t ip_len, uint8_t family, tern_addr *addr)
{
    memset(addr, 0, sizeof *addr);
    uint8_t any = 0;
    for (size_t i = 0; i < ip_len + 2; i++) any |= p[i];
    if (!any) return; /* family stays TERN_AF_NONE */
    addr->family = family;
    memcpy(addr->ip, p, ip_len);
    addr->port = read_u16(p + ip_len);
}

static tern_err read_preferred_address(const uint8_t *value, size_t len,
                                       tern_tp_preferred_address *pa)
{
    if (len < PREFERRED_ADDRESS_FIXED_LEN) return TERN_TRANSPORT_PARAMETER_ERROR;
    uint8_t cid_len = value[PREFERRED_ADDRESS_CID_LEN_OFFSET];
    /* §18.2: the CID is never zero-length; §17.2: at most 20 bytes. The
     * value must be exactly as long as its CID length says. */
    if (cid_len == 0 || cid_len > TERN_MAX_CID_LEN ||
        len != PREFERRED_ADDRESS_FIXED_LEN + (size_t)cid_len)
        return TERN_TRANSPORT_PARAMETER_ERROR;
    read_address(value, 4, TERN_AF_INET, &pa->ipv4);
    read_address(value + 6, 16, TERN_AF_INET6, &pa->ipv6);
    memset(&pa->cid, 0, sizeof pa->cid);
    pa->cid.len = cid_len;
    memcpy(pa->cid.data, value + PREFERRED_ADDRESS_CID_LEN_OFFSET + 1, cid_len);
    memcpy(pa->stateless_reset_token, value + PREFERRED_ADDRESS_CID_LEN_OFFSET + 1 + cid_len,
           TERN_STATELESS_RESET_TOKEN_LEN);
    return TERN_OK;
}

/* The uint64_t field an integer parameter id fills, or NULL. */
static uint64_t *integer_field(tern_transport_params *tp, uint64_t id)
{
    switch (id) {
    case TERN_TP_MAX_IDLE_TIMEOUT: return &tp->max_idle_timeout_ms;
    case TERN_TP_MAX_UDP_PAYLOAD_SIZE: return &tp->max_udp_payload_size;
    case TERN_TP_INITIAL_MAX_DATA: return &tp->initial_max_data;
    case TERN_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL: return &tp->initial_max_stream_data_bidi_local;
    case TERN_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE:
        return &tp->initial_max_stream_data_bidi_remote;
    case TERN_TP_INITIAL_MAX_STREAM_DATA_UNI: return &tp->initial_max_stream_data_uni;
    case TERN_TP_INITIAL_MAX_STREAMS_BIDI: return &tp->initial_max_streams_bidi;
    case TERN_TP_INITIAL_MAX_STREAMS_UNI: return &tp->initial_max_streams_uni;
    case TERN_TP_ACK_DELAY_EXPONENT: return &tp->ack_delay_exponent;
    case TERN_TP_MAX_ACK_DELAY: return &tp->max_ack_delay_ms;
    case TERN_TP_ACTIVE_CONNECTION_ID_LIMIT: return &tp->active_connection_id_limit;
    default: return NULL;
    }
}

static bool is_server_only(uint64_t id)
{
    return id == TERN_TP_ORIGINAL_DESTINATION_CONNECTION_ID ||
           id == TERN_TP_STATELESS_RESET_TOKEN || id == TERN_TP_PREFERRED_ADDRESS ||
           id == TERN_TP_RETRY_SOURCE_CONNECTION_ID;
}

/* One §18.2 parameter (id <= 0x10) into tp; the caller has ruled out
 * duplicates and server-only ids from a client. */
static tern_err read_known_param(tern_transport_params *tp, uint64_t id, const uint8_t *value,
                                 size_t len)
{
    uint64_t *integer = integer_field(tp, id);
    if (integer) return read_integer_value(value, len, integer);

    switch (id) {
    case TERN_TP_ORIGINAL_DESTINATION_CONNECTION_ID:
        tp->has_original_destination_connection_id = true;
        return read_cid_value(value, len, &tp->original_destination_connection_id);
    case TERN_TP_STATELESS_RESET_TOKEN:
        if (len != TERN_STATELESS_RESET_TOKEN_LEN) return TERN_TRANSPORT_PARAMETER_ERROR;
        tp->has_stateless_reset_token = true;
        memcpy(tp->stateless_reset_token, value, len);
        return TERN_OK;
    case TERN_TP_DISABLE_ACTIVE_MIGRATION:
        if (len != 0) return TERN_TRANSPORT_PARAMETER_ERROR; /* zero-length value */
        tp->disable_active_migration = true;
        return TERN_OK;
    case TERN_TP_PREFERRED_ADDRESS:
        tp->has_preferred_address = true;
        return read_preferred_address(value, len, &tp->preferred_address);
    case TERN_TP_INITIAL_SOURCE_CONNECTION_ID:
        tp->has_initial_source_connection_id = true;
        return read_cid_value(value, len, &tp->initial_source_connection_id);
    case TERN_TP_RETRY_SOURCE_CONNECTION_ID:
        tp->has_retry_source_connection_id = true;
        return read_cid_value(value, len, &tp->retry_source_connection_id);
    default:
        return TERN_INTERNAL_ERROR; /* unreachable: every id <= 0x10 is handled */
    }
}

typedef struct tp_seen {
    uint32_t known; /* bit per §18.2 id, plus the two extension bits */
    uint64_t unknown[UNKNOWN_IDS_TRACKED];
    size_t unknown_count;
} tp_seen;

/* Marks bit as seen; false when it already was (a duplicate). */
static bool mark_known(tp_seen *seen, unsigned bit)
{
    uint32_t mask = (uint32_t)1 << bit;
    if (seen->known & mask) return false;
    seen->known |= mask;
    return true;
}

static bool mark_unknown(tp_seen *seen, uint64_t id)
{
    for (size_t i = 0; i < seen->unknown_count; i++)
        if (seen->unknown[i] == id) return false;
    if (seen->unknown_count < UNKNOWN_IDS_TRACKED) seen->unknown[seen->unknown_count++] = id;
    return true;
}

/* draft-kozuka §5 and profile §2: both extensions carry an empty value. */
static tern_err read_flag_param(tp_seen *seen, unsigned bit, size_t len, bool *flag)
{
    if (!mark_known(seen, bit) || len != 0) return TERN_TRANSPORT_PARAMETER_ERROR;
    *flag = true;
    return TERN_OK;
}

static tern_err read_param(tern_transport_params *tp, tern_tp_role sender,
                           const tern_tp_config *config, tp_seen *seen, uint64_t id,
                           const uint8_t *value, size_t len)
{
    if (id <= TERN_TP_RETRY_SOURCE_CONNECTION_ID) {
        if (!mark_known(seen, (unsigned)id)) return TERN_TRANSPORT_PARAMETER_ERROR;
        /* §18.2: a server MUST treat a client's server-only parameter as a
         * TRANSPORT_PARAMETER_ERROR. */
        if (sender == TERN_TP_ROLE_CLIENT && is_server_only(id))
            return TERN_TRANSPORT_PARAMETER_ERROR;
        return read_known_param(tp, id, value, len);
    }
    if (id == config->allow_server_migration_id)
        return read_flag_param(seen, SEEN_BIT_ALLOW_SERVER_MIGRATION, len,
                               &tp->allow_server_migration);
    /* enable_server_migration is a client's offer to accept SAA frames
     * (profile §2); from a server it means nothing, so a server's copy is
     * ignored like any unknown parameter (§7.4.2), whatever its value,
     * rather than failing a handshake over a meaningless field. */
    if (id == config->enable_server_migration_id && sender == TERN_TP_ROLE_CLIENT)
        return read_flag_param(seen, SEEN_BIT_ENABLE_SERVER_MIGRATION, len,
                               &tp->enable_server_migration);
    /* Unknown, GREASE (§18.1) included: skipped, but not twice (§7.4). */
    if (!mark_unknown(seen, id)) return TERN_TRANSPORT_PARAMETER_ERROR;
    return TERN_OK;
}

tern_err tern_tp_decode(tern_transport_params *tp, tern_tp_role sender,
                        const tern_tp_config *config, const uint8_t *in, size_t len)
{
    tern_tp_config default_config;
    if (!config) {
        tern_tp_config_init(&default_config);
        config = &default_config;
    }
    if (tern_tp_config_check(config) != TERN_OK) return TERN_ERR_INVALID_ARGUMENT;

    tern_tp_init_defaults(tp);
    tp_seen seen;
    seen.known = 0;
    seen.unknown_count = 0;

    size_t pos = 0;
    while (pos < len) {
        uint64_t id, value_len;
        size_t n = tern_varint_decode(in + pos, len - pos, &id);
        if (n == 0) return TERN_TRANSPORT_PARAMETER_ERROR; /* truncated id */
        pos += n;
        n = tern_varint_decode(in + pos, len - pos, &value_len);
        if (n == 0) return TERN_TRANSPORT_PARAMETER_ERROR; /* truncated length */
        pos += n;
        if (value_len > len - pos) return TERN_TRANSPORT_PARAMETER_ERROR; /* truncated value */
        tern_err err = read_param(tp, sender, config, &seen, id, in + pos, (size_t)value_len);
        if (err != TERN_OK) return err;
        pos += (size_t)value_len;
    }
    /* Value limits (max_udp_payload_size >= 1200, ...). */
    return tern_tp_validate(tp, sender);
}

/* ---- connection-level checks ------------------------------------------- */

tern_err tern_tp_check_required(const tern_transport_params *peer_tp, tern_tp_role sender)
{
    /* §7.3: "An endpoint MUST treat the absence of the
     * initial_source_connection_id transport parameter from either endpoint
     * or the absence of the original_destination_connection_id transport
     * parameter from the server as a connection error of type
     * TRANSPORT_PARAMETER_ERROR." */
    if (!peer_tp->has_initial_source_connection_id) return TERN_TRANSPORT_PARAMETER_ERROR;
    if (sender == TERN_TP_ROLE_SERVER && !peer_tp->has_original_destination_connection_id)
        return TERN_TRANSPORT_PARAMETER_ERROR;
    return TERN_OK;
}

static bool cid_equal(const tern_cid *a, const tern_cid *b)
{
    return a->len == b->len && a->len <= TERN_MAX_CID_LEN && memcmp(a->data, b->data, a->len) == 0;
}

tern_err tern_tp_authenticate_cids(const tern_transport_params *peer_tp, tern_tp_role sender,
                                   const tern_cid *peer_initial_scid,
                                   const tern_cid *original_dcid, const tern_cid *retry_scid)
{
    if (!peer_initial_scid || (sender == TERN_TP_ROLE_SERVER && !original_dcid))
        return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = tern_tp_check_required(peer_tp, sender);
    if (err != TERN_OK) return err;
    if (!cid_equal(&peer_tp->initial_source_connection_id, peer_initial_scid))
        return TERN_TRANSPORT_PARAMETER_ERROR;
    if (sender == TERN_TP_ROLE_CLIENT) return TERN_OK;

    if (!cid_equal(&peer_tp->original_destination_connection_id, original_dcid))
        return TERN_TRANSPORT_PARAMETER_ERROR;
    /* §7.3: retry_source_connection_id must be present exactly when the
     * client received a Retry, and match its Source CID. */
    if (retry_scid) {
        if (!peer_tp->has_retry_source_connection_id ||
            !cid_equal(&peer_tp->retry_source_connection_id, retry_scid))
            return TERN_TRANSPORT_PARAMETER_ERROR;
    } else if (peer_tp->has_retry_source_connection_id) {
        return TERN_TRANSPORT_PARAMETER_ERROR;
    }
    return TERN_OK;
}

/* ---- 0-RTT (§7.4.1) ------------------------------------------------------ */

/* Every field of tern_tp_remembered; each has the same name in
 * tern_transport_params, so one list serves both copy directions. */
#define TP_REMEMBERED_FIELDS(X)                                                                    \
    X(max_idle_timeout_ms)                                                                         \
    X(max_udp_payload_size)                                                                        \
    X(initial_max_data)                                                                            \
    X(initial_max_stream_data_bidi_local)                                                          \
    X(initial_max_stream_data_bidi_remote)                                                         \
    X(initial_max_stream_data_uni)                                                                 \
    X(initial_max_streams_bidi)                                                                    \
    X(initial_max_streams_uni)                                                                     \
    X(active_connection_id_limit)                                                                  \
    X(disable_active_migration)

void tern_tp_remember_for_0rtt(tern_tp_remembered *remembered,
                               const tern_transport_params *server_tp)
{
    memset(remembered, 0, sizeof *remembered);
#define COPY_TO_REMEMBERED(field) remembered->field = server_tp->field;
    TP_REMEMBERED_FIELDS(COPY_TO_REMEMBERED)
#undef COPY_TO_REMEMBERED
}

void tern_tp_from_remembered(tern_transport_params *server_tp,
                             const tern_tp_remembered *remembered)
{
    /* The parameters the client must not reuse take their defaults until the
     * server's new values arrive (§7.4.1). */
    tern_tp_init_defaults(server_tp);
#define COPY_FROM_REMEMBERED(field) server_tp->field = remembered->field;
    TP_REMEMBERED_FIELDS(COPY_FROM_REMEMBERED)
#undef COPY_FROM_REMEMBERED
}

tern_err tern_tp_check_0rtt_limits(const tern_tp_remembered *remembered,
                                   const tern_transport_params *new_server_tp)
{
    /* §7.4.1: "a server that accepts 0-RTT data MUST NOT set values for the
     * following parameters that are smaller than the remembered values". */
    if (new_server_tp->active_connection_id_limit < remembered->active_connection_id_limit ||
        new_server_tp->initial_max_data < remembered->initial_max_data ||
        new_server_tp->initial_max_stream_data_bidi_local <
            remembered->initial_max_stream_data_bidi_local ||
        new_server_tp->initial_max_stream_data_bidi_remote <
            remembered->initial_max_stream_data_bidi_remote ||
        new_server_tp->initial_max_stream_data_uni < remembered->initial_max_stream_data_uni ||
        new_server_tp->initial_max_streams_bidi < remembered->initial_max_streams_bidi ||
        new_server_tp->initial_max_streams_uni < remembered->initial_max_streams_uni)
        return TERN_PROTOCOL_VIOLATION;
    return TERN_OK;
}

/* ---- comparison ---------------------------------------------------------- */

static bool optional_cid_equal(bool has_a, const tern_cid *a, bool has_b, const tern_cid *b)
{
    if (has_a != has_b) return false;
    return !has_a || cid_equal(a, b);
}

static bool address_equal(const tern_addr *a, const tern_addr *b, size_t ip_len)
{
    if (a->family != b->family) return false;
    if (a->family == TERN_AF_NONE) return true;
    return a->port == b->port && memcmp(a->ip, b->ip, ip_len) == 0;
}

static bool preferred_address_equal(const tern_tp_preferred_address *a,
                                    const tern_tp_preferred_address *b)
{
    return address_equal(&a->ipv4, &b->ipv4, 4) && address_equal(&a->ipv6, &b->ipv6, 16) &&
           cid_equal(&a->cid, &b->cid) &&
           memcmp(a->stateless_reset_token, b->stateless_reset_token,
                  TERN_STATELESS_RESET_TOKEN_LEN) == 0;
}

bool tern_tp_equal(const tern_transport_params *a, const tern_transport_params *b)
{
    if (!optional_cid_equal(a->has_original_destination_connection_id,
                            &a->original_destination_connection_id,
                            b->has_original_destination_connection_id,
                            &b->original_destination_connection_id) ||
        !optional_cid_equal(a->has_initial_source_connection_id, &a->initial_source_connection_id,
                            b->has_initial_source_connection_id, &b->initial_source_connection_id) ||
        !optional_cid_equal(a->has_retry_source_connection_id, &a->retry_source_connection_id,
                            b->has_retry_source_connection_id, &b->retry_source_connection_id))
        return false;
    if (a->has_stateless_reset_token != b->has_stateless_reset_token ||
        (a->has_stateless_reset_token &&
         memcmp(a->stateless_reset_token, b->stateless_reset_token,
                TERN_STATELESS_RESET_TOKEN_LEN) != 0))
        return false;
    if (a->has_preferred_address != b->has_preferred_address ||
        (a->has_preferred_address &&
         !preferred_address_equal(&a->preferred_address, &b->preferred_address)))
        return false;
    return a->max_idle_timeout_ms == b->max_idle_timeout_ms &&
           a->max_udp_payload_size == b->max_udp_payload_size &&
           a->initial_max_data == b->initial_max_data &&
           a->initial_max_stream_data_bidi_local == b->initial_max_stream_data_bidi_local &&
           a->initial_max_stream_data_bidi_remote == b->initial_max_stream_data_bidi_remote &&
           a->initial_max_stream_data_uni == b->initial_max_stream_data_uni &&
           a->initial_max_streams_bidi == b->initial_max_streams_bidi &&
           a->initial_max_streams_uni == b->initial_max_streams_uni &&
           a->ack_delay_exponent == b->ack_delay_exponent &&
           a->max_ack_delay_ms == b->max_ack_delay_ms &&
           a->disable_active_migration == b->disable_active_migration &&
           a->active_connection_id_limit == b->active_connection_id_limit &&
           a->enable_server_migration == b->enable_server_migration &&
           a->allow_server_migration == b->allow_server_migration;
}
