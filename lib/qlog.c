/* qlog writer: JSON-SEQ records of the qlog main schema and QUIC events,
 * plus tern's own "tern:" events (docs/qlog.md). See qlog.h. */
#include "qlog.h"

#include <string.h>

/* ---- names ---- */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *pick(const char *const *names, size_t n, unsigned i)
{
    return i < n ? names[i] : "unknown";
}

const char *tern_qlog_packet_type_name(tern_packet_type t)
{
    switch (t) {
    case TERN_PKT_INITIAL: return "initial";
    case TERN_PKT_0RTT: return "0RTT";
    case TERN_PKT_HANDSHAKE: return "handshake";
    case TERN_PKT_RETRY: return "retry";
    case TERN_PKT_VERSION_NEGOTIATION: return "version_negotiation";
    case TERN_PKT_1RTT: return "1RTT";
    case TERN_PKT_UNKNOWN_VERSION: return "unknown";
    }
    return "unknown";
}

const char *tern_qlog_locator_state_name(tern_qlog_locator_state s)
{
    static const char *const names[] = {"none", "unverified", "validating", "active", "deprecated", "failed"};
    return pick(names, COUNT(names), (unsigned)s);
}

const char *tern_qlog_path_state_name(tern_qlog_path_state s)
{
    static const char *const names[] = {"new", "validating", "validated", "active", "failed", "abandoned"};
    return pick(names, COUNT(names), (unsigned)s);
}

static const char *conn_state_name(tern_qlog_conn_state s)
{
    static const char *const names[] = {"attempted", "handshake_started", "handshake_complete",
                                        "handshake_confirmed", "closing", "draining", "closed"};
    return pick(names, COUNT(names), (unsigned)s);
}

static const char *close_trigger_name(tern_qlog_close_trigger t)
{
    static const char *const names[] = {"unspecified", "clean", "application", "error", "idle_timeout",
                                        "handshake_timeout", "stateless_reset", "version_mismatch",
                                        "no_viable_path", "aborted"};
    return pick(names, COUNT(names), (unsigned)t);
}

static const char *migration_state_name(tern_qlog_migration_state s)
{
    static const char *const names[] = {"probing_started", "probing_abandoned", "probing_successful",
                                        "migration_started", "migration_abandoned", "migration_complete"};
    return pick(names, COUNT(names), (unsigned)s);
}

static const char *migration_kind_name(tern_qlog_migration_kind k)
{
    static const char *const names[] = {"client", "server_alternate_address", "server_migration",
                                        "preferred_address", "failover"};
    return pick(names, COUNT(names), (unsigned)k);
}

static const char *drop_reason_name(tern_qlog_drop_reason r)
{
    static const char *const names[] = {"general", "internal_error", "rejected", "unsupported", "invalid",
                                        "duplicate", "connection_unknown", "decryption_failure",
                                        "key_unavailable"};
    return pick(names, COUNT(names), (unsigned)r);
}

static const char *key_type_name(tern_qlog_key_type t)
{
    static const char *const names[] = {"server_initial_secret", "client_initial_secret",
                                        "server_handshake_secret", "client_handshake_secret",
                                        "server_0rtt_secret", "client_0rtt_secret",
                                        "server_1rtt_secret", "client_1rtt_secret"};
    return pick(names, COUNT(names), (unsigned)t);
}

static const char *key_trigger_name(tern_qlog_key_trigger t)
{
    static const char *const names[] = {"tls", "remote_update", "local_update"};
    return pick(names, COUNT(names), (unsigned)t);
}

static const char *cc_state_name(tern_qlog_cc_state s)
{
    static const char *const names[] = {"slow_start", "congestion_avoidance", "application_limited", "recovery"};
    return pick(names, COUNT(names), (unsigned)s);
}

static const char *loss_trigger_name(tern_qlog_loss_trigger t)
{
    static const char *const names[] = {"reordering_threshold", "time_threshold", "pto_expired"};
    return pick(names, COUNT(names), (unsigned)t);
}

/* RFC 9000 §20.1 codes as qlog names them. */
static const char *transport_error_name(uint64_t code)
{
    static const char *const names[] = {
        "no_error", "internal_error", "connection_refused", "flow_control_error", "stream_limit_error",
        "stream_state_error", "final_size_error", "frame_encoding_error", "transport_parameter_error",
        "connection_id_limit_error", "protocol_violation", "invalid_token", "application_error",
        "crypto_buffer_exceeded", "key_update_error", "aead_limit_reached", "no_viable_path",
    };
    return code < COUNT(names) ? names[code] : NULL;
}

/* ---- value helpers ---- */

static void put_ipv4(tern_json_writer *w, const uint8_t *ip)
{
    char s[16];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        if (i) s[n++] = '.';
        n += tern_json_fmt_u64(s + n, ip[i]);
    }
    tern_json_strn(w, (const uint8_t *)s, n);
}

/* RFC 5952 text form: lowercase, no leading zeros, the longest run (first
 * of equals) of two or more zero groups as "::". */
static void put_ipv6(tern_json_writer *w, const uint8_t *ip)
{
    static const char hex[] = "0123456789abcdef";
    uint16_t g[8];
    for (int i = 0; i < 8; i++) g[i] = (uint16_t)(ip[2 * i] << 8 | ip[2 * i + 1]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0) j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    char s[40];
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            s[n++] = ':';
            s[n++] = ':';
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len) s[n++] = ':';
        bool started = false;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = (g[i] >> sh) & 15;
            if (d || started || sh == 0) {
                s[n++] = hex[d];
                started = true;
            }
        }
    }
    tern_json_strn(w, (const uint8_t *)s, n);
}

/* ip_v4/port_v4 or ip_v6/port_v6 members for one address. */
static void put_addr_members(tern_json_writer *w, const tern_addr *a)
{
    if (!a) return;
    if (a->family == TERN_AF_INET) {
        tern_json_key(w, "ip_v4");
        put_ipv4(w, a->ip);
        tern_json_kv_u64(w, "port_v4", a->port);
    } else if (a->family == TERN_AF_INET6) {
        tern_json_key(w, "ip_v6");
        put_ipv6(w, a->ip);
        tern_json_kv_u64(w, "port_v6", a->port);
    }
}

/* "key": PathEndpointInfo. */
static void put_endpoint(tern_json_writer *w, const char *key, const tern_addr *a, const tern_cid *cid)
{
    if (!a && !(cid && cid->len)) return;
    tern_json_key(w, key);
    tern_json_obj_begin(w);
    put_addr_members(w, a);
    if (cid && cid->len) {
        tern_json_key(w, "connection_ids");
        tern_json_arr_begin(w);
        tern_json_hex(w, cid->data, cid->len);
        tern_json_arr_end(w);
    }
    tern_json_obj_end(w);
}

static void put_path_id(tern_json_writer *w, const char *key, uint64_t id)
{
    char s[21];
    size_t n = tern_json_fmt_u64(s, id);
    tern_json_kv_strn(w, key, (const uint8_t *)s, n);
}

/* A transport or crypto error code: by name when known. */
static void put_transport_code(tern_json_writer *w, const char *key, uint64_t code)
{
    const char *name = transport_error_name(code);
    tern_json_key(w, key);
    if (name) {
        tern_json_str(w, name);
    } else if (code >= TERN_CRYPTO_ERROR_BASE && code < TERN_CRYPTO_ERROR_BASE + 0x100) {
        static const char hex[] = "0123456789abcdef";
        char s[] = "crypto_error_0x1xx";
        s[16] = hex[(code >> 4) & 15];
        s[17] = hex[code & 15];
        tern_json_str(w, s);
    } else {
        tern_json_u64(w, code);
    }
}

/* ---- records ---- */

static void packet_cut(tern_qlog *q);

static bool event_begin(tern_qlog *q, tern_time now, const char *name, const char *qvis_name)
{
    if (!q || !q->enabled) return false;
    if (q->in_packet) packet_cut(q);
    tern_json_writer *w = &q->w;
    tern_json_raw(w, "\x1e", 1);
    tern_json_obj_begin(w);
    tern_json_key(w, "time");
    if (now >= q->start_time)
        tern_json_ms(w, now - q->start_time, false);
    else
        tern_json_ms(w, q->start_time - now, true);
    tern_json_kv_str(w, "name", q->qvis_names && qvis_name ? qvis_name : name);
    tern_json_key(w, "data");
    tern_json_obj_begin(w);
    return true;
}

static void event_end(tern_qlog *q)
{
    tern_json_close_to(&q->w, 0);
    tern_json_raw(&q->w, "\n", 1);
    tern_json_flush(&q->w);
}

tern_err tern_qlog_init(tern_qlog *q, const tern_qlog_config *cfg)
{
    if (!q || !cfg) return TERN_ERR_INVALID_ARGUMENT;
    memset(q, 0, offsetof(tern_qlog, buf));
    tern_json_init(&q->w, q->buf, sizeof q->buf, cfg->write, cfg->ctx);
    q->enabled = cfg->write != NULL;
    q->qvis_names = cfg->qvis_names;
    q->start_time = cfg->start_time;
    q->ack_delay_exponent[0] = q->ack_delay_exponent[1] = (uint8_t)TERN_TP_DEFAULT_ACK_DELAY_EXPONENT;
    if (!q->enabled) return TERN_OK;

    tern_json_writer *w = &q->w;
    const char *title = cfg->title ? cfg->title : "tern";
    tern_json_raw(w, "\x1e", 1);
    tern_json_obj_begin(w);
    tern_json_kv_str(w, "file_schema", "urn:ietf:params:qlog:file:sequential");
    tern_json_kv_str(w, "serialization_format", "application/qlog+json-seq");
    /* What qvis looks for to recognize a JSON-SEQ qlog file. */
    tern_json_kv_str(w, "qlog_version", "0.3");
    tern_json_kv_str(w, "qlog_format", "JSON-SEQ");
    tern_json_kv_str(w, "title", title);
    tern_json_key(w, "trace");
    tern_json_obj_begin(w);
    tern_json_kv_str(w, "title", title);
    tern_json_key(w, "vantage_point");
    tern_json_obj_begin(w);
    if (cfg->vantage_name) tern_json_kv_str(w, "name", cfg->vantage_name);
    tern_json_kv_str(w, "type", cfg->vantage_point == TERN_QLOG_VANTAGE_SERVER ? "server" : "client");
    tern_json_obj_end(w);
    tern_json_key(w, "common_fields");
    tern_json_obj_begin(w);
    if (cfg->odcid) tern_json_kv_hex(w, "group_id", cfg->odcid->data, cfg->odcid->len);
    tern_json_kv_str(w, "time_format", "relative_to_epoch");
    tern_json_key(w, "reference_time");
    tern_json_obj_begin(w);
    tern_json_kv_str(w, "clock_type", cfg->reference_epoch ? "system" : "monotonic");
    tern_json_kv_str(w, "epoch", cfg->reference_epoch ? cfg->reference_epoch : "unknown");
    tern_json_obj_end(w);
    tern_json_obj_end(w);
    tern_json_key(w, "event_schemas");
    tern_json_arr_begin(w);
    tern_json_str(w, "urn:ietf:params:qlog:events:quic");
    tern_json_str(w, "urn:tern:qlog:events:tern");
    tern_json_arr_end(w);
    event_end(q);
    return TERN_OK;
}

/* ---- connectivity ---- */

void tern_qlog_connection_started(tern_qlog *q, tern_time now, const tern_addr *local, const tern_addr *remote,
                                  const tern_cid *scid, const tern_cid *dcid)
{
    if (!event_begin(q, now, "quic:connection_started", "connectivity:connection_started")) return;
    put_endpoint(&q->w, "local", local, scid);
    put_endpoint(&q->w, "remote", remote, dcid);
    event_end(q);
}

void tern_qlog_connection_closed(tern_qlog *q, tern_time now, bool remote, bool application, uint64_t error_code,
                                 const uint8_t *reason, size_t reason_len, tern_qlog_close_trigger trigger)
{
    if (!event_begin(q, now, "quic:connection_closed", "connectivity:connection_closed")) return;
    tern_json_writer *w = &q->w;
    tern_json_kv_str(w, "owner", remote ? "remote" : "local");
    if (application) {
        tern_json_kv_u64(w, "application_code", error_code);
    } else {
        put_transport_code(w, "connection_code", error_code);
    }
    if (reason) tern_json_kv_strn(w, "reason", reason, reason_len);
    tern_json_kv_str(w, "trigger", close_trigger_name(trigger));
    event_end(q);
}

void tern_qlog_connection_state_updated(tern_qlog *q, tern_time now, tern_qlog_conn_state old_state,
                                        tern_qlog_conn_state new_state)
{
    if (!event_begin(q, now, "quic:connection_state_updated", "connectivity:connection_state_updated")) return;
    tern_json_kv_str(&q->w, "old", conn_state_name(old_state));
    tern_json_kv_str(&q->w, "new", conn_state_name(new_state));
    event_end(q);
}

void tern_qlog_path_assigned(tern_qlog *q, tern_time now, uint64_t path_id, const tern_addr *local,
                             const tern_addr *remote)
{
    if (!event_begin(q, now, "quic:path_assigned", "connectivity:path_assigned")) return;
    put_path_id(&q->w, "path_id", path_id);
    put_endpoint(&q->w, "path_local", local, NULL);
    put_endpoint(&q->w, "path_remote", remote, NULL);
    event_end(q);
}

void tern_qlog_path_updated(tern_qlog *q, tern_time now, uint64_t path_id, const tern_addr *local,
                            const tern_addr *remote, tern_qlog_path_state old_state,
                            tern_qlog_path_state new_state)
{
    if (!event_begin(q, now, "tern:path_updated", NULL)) return;
    put_path_id(&q->w, "path_id", path_id);
    put_endpoint(&q->w, "path_local", local, NULL);
    put_endpoint(&q->w, "path_remote", remote, NULL);
    tern_json_kv_str(&q->w, "old", tern_qlog_path_state_name(old_state));
    tern_json_kv_str(&q->w, "new", tern_qlog_path_state_name(new_state));
    event_end(q);
}

static void put_locator_addrs(tern_json_writer *w, const tern_addr *ipv4, const tern_addr *ipv6)
{
    if (ipv4 && ipv4->family != TERN_AF_NONE) put_endpoint(w, "ipv4", ipv4, NULL);
    if (ipv6 && ipv6->family != TERN_AF_NONE) put_endpoint(w, "ipv6", ipv6, NULL);
}

void tern_qlog_saa_dropped(tern_qlog *q, tern_time now, uint64_t sequence, const tern_addr *ipv4,
                           const tern_addr *ipv6, const char *why)
{
    if (!event_begin(q, now, "tern:saa_dropped", NULL)) return;
    tern_json_kv_u64(&q->w, "sequence_number", sequence);
    put_locator_addrs(&q->w, ipv4, ipv6);
    tern_json_kv_str(&q->w, "trigger", why);
    event_end(q);
}

void tern_qlog_migration_state_updated(tern_qlog *q, tern_time now, tern_qlog_migration_state old_state,
                                       tern_qlog_migration_state new_state, tern_qlog_migration_kind kind,
                                       uint64_t old_path_id, uint64_t new_path_id, const tern_addr *local,
                                       const tern_addr *remote)
{
    if (!event_begin(q, now, "quic:migration_state_updated", "connectivity:migration_state_updated")) return;
    tern_json_writer *w = &q->w;
    tern_json_kv_str(w, "old", migration_state_name(old_state));
    tern_json_kv_str(w, "new", migration_state_name(new_state));
    put_path_id(w, "path_id", new_path_id);
    put_endpoint(w, "path_local", local, NULL);
    put_endpoint(w, "path_remote", remote, NULL);
    put_path_id(w, "tern:old_path_id", old_path_id);
    tern_json_kv_str(w, "tern:kind", migration_kind_name(kind));
    event_end(q);
}

void tern_qlog_peer_locator_updated(tern_qlog *q, tern_time now, uint64_t sequence, const tern_addr *address,
                                    tern_qlog_locator_state old_state, tern_qlog_locator_state new_state,
                                    const char *reason)
{
    if (!event_begin(q, now, "tern:peer_locator_updated", NULL)) return;
    tern_json_writer *w = &q->w;
    tern_json_kv_u64(w, "sequence_number", sequence);
    put_endpoint(w, "address", address, NULL);
    if (old_state != TERN_QLOG_LOCATOR_NONE) tern_json_kv_str(w, "old", tern_qlog_locator_state_name(old_state));
    tern_json_kv_str(w, "new", tern_qlog_locator_state_name(new_state));
    if (reason) tern_json_kv_str(w, "reason", reason);
    event_end(q);
}

/* ---- frames ---- */

static void put_ack(tern_qlog *q, const tern_ack_frame *ack)
{
    tern_json_writer *w = &q->w;
    unsigned exp = q->ack_delay_exponent[q->packet_remote ? 1 : 0];
    /* ack_delay in ms: raw << exponent microseconds. */
    if (exp <= 20 && ack->ack_delay <= (UINT64_MAX >> exp) / 1000u) {
        tern_json_kv_ms(w, "ack_delay", (ack->ack_delay << exp) * 1000u);
    } else {
        tern_json_kv_u64(w, "tern:ack_delay_raw", ack->ack_delay);
    }
    tern_json_key(w, "acked_ranges");
    tern_json_arr_begin(w);
    tern_ack_range_iter it;
    uint64_t lo, hi;
    tern_ack_range_iter_init(&it, ack);
    while (tern_ack_range_iter_next(&it, &lo, &hi)) {
        tern_json_arr_begin(w);
        tern_json_u64(w, lo);
        tern_json_u64(w, hi);
        tern_json_arr_end(w);
    }
    tern_json_arr_end(w);
    if (ack->has_ecn) {
        tern_json_kv_u64(w, "ect1", ack->ect1);
        tern_json_kv_u64(w, "ect0", ack->ect0);
        tern_json_kv_u64(w, "ce", ack->ecn_ce);
    }
}

static void put_frame(tern_qlog *q, const tern_frame *f)
{
    tern_json_writer *w = &q->w;
    tern_frame_type type = f->type;
    if (type > TERN_FRAME_STREAM && type <= (TERN_FRAME_STREAM | 0x07)) type = TERN_FRAME_STREAM;
    tern_json_obj_begin(w);
    switch (type) {
    case TERN_FRAME_PADDING:
        tern_json_kv_str(w, "frame_type", "padding");
        tern_json_kv_u64(w, "length", f->u.padding_len);
        tern_json_key(w, "raw");
        tern_json_obj_begin(w);
        tern_json_kv_u64(w, "length", f->u.padding_len);
        tern_json_kv_u64(w, "payload_length", f->u.padding_len);
        tern_json_obj_end(w);
        break;
    case TERN_FRAME_PING:
        tern_json_kv_str(w, "frame_type", "ping");
        break;
    case TERN_FRAME_ACK:
    case TERN_FRAME_ACK_ECN:
        tern_json_kv_str(w, "frame_type", "ack");
        put_ack(q, &f->u.ack);
        break;
    case TERN_FRAME_RESET_STREAM:
        tern_json_kv_str(w, "frame_type", "reset_stream");
        tern_json_kv_u64(w, "stream_id", f->u.reset_stream.stream_id);
        tern_json_kv_u64(w, "error_code", f->u.reset_stream.app_error_code);
        tern_json_kv_u64(w, "final_size", f->u.reset_stream.final_size);
        break;
    case TERN_FRAME_STOP_SENDING:
        tern_json_kv_str(w, "frame_type", "stop_sending");
        tern_json_kv_u64(w, "stream_id", f->u.stop_sending.stream_id);
        tern_json_kv_u64(w, "error_code", f->u.stop_sending.app_error_code);
        break;
    case TERN_FRAME_CRYPTO:
        tern_json_kv_str(w, "frame_type", "crypto");
        tern_json_kv_u64(w, "offset", f->u.crypto.offset);
        tern_json_kv_u64(w, "length", f->u.crypto.len);
        break;
    case TERN_FRAME_NEW_TOKEN:
        tern_json_kv_str(w, "frame_type", "new_token");
        tern_json_key(w, "token");
        tern_json_obj_begin(w);
        tern_json_key(w, "raw");
        tern_json_obj_begin(w);
        tern_json_kv_u64(w, "length", f->u.new_token.len);
        tern_json_obj_end(w);
        tern_json_obj_end(w);
        break;
    case TERN_FRAME_STREAM:
        tern_json_kv_str(w, "frame_type", "stream");
        tern_json_kv_u64(w, "stream_id", f->u.stream.stream_id);
        tern_json_kv_u64(w, "offset", f->u.stream.offset);
        tern_json_kv_u64(w, "length", f->u.stream.len);
        if (f->u.stream.fin) tern_json_kv_bool(w, "fin", true);
        break;
    case TERN_FRAME_MAX_DATA:
        tern_json_kv_str(w, "frame_type", "max_data");
        tern_json_kv_u64(w, "maximum", f->u.limit.value);
        break;
    case TERN_FRAME_MAX_STREAM_DATA:
        tern_json_kv_str(w, "frame_type", "max_stream_data");
        tern_json_kv_u64(w, "stream_id", f->u.limit.stream_id);
        tern_json_kv_u64(w, "maximum", f->u.limit.value);
        break;
    case TERN_FRAME_MAX_STREAMS_BIDI:
    case TERN_FRAME_MAX_STREAMS_UNI:
        tern_json_kv_str(w, "frame_type", "max_streams");
        tern_json_kv_str(w, "stream_type",
                         type == TERN_FRAME_MAX_STREAMS_BIDI ? "bidirectional" : "unidirectional");
        tern_json_kv_u64(w, "maximum", f->u.limit.value);
        break;
    case TERN_FRAME_DATA_BLOCKED:
        tern_json_kv_str(w, "frame_type", "data_blocked");
        tern_json_kv_u64(w, "limit", f->u.limit.value);
        break;
    case TERN_FRAME_STREAM_DATA_BLOCKED:
        tern_json_kv_str(w, "frame_type", "stream_data_blocked");
        tern_json_kv_u64(w, "stream_id", f->u.limit.stream_id);
        tern_json_kv_u64(w, "limit", f->u.limit.value);
        break;
    case TERN_FRAME_STREAMS_BLOCKED_BIDI:
    case TERN_FRAME_STREAMS_BLOCKED_UNI:
        tern_json_kv_str(w, "frame_type", "streams_blocked");
        tern_json_kv_str(w, "stream_type",
                         type == TERN_FRAME_STREAMS_BLOCKED_BIDI ? "bidirectional" : "unidirectional");
        tern_json_kv_u64(w, "limit", f->u.limit.value);
        break;
    case TERN_FRAME_NEW_CONNECTION_ID: {
        const tern_new_connection_id_frame *n = &f->u.new_connection_id;
        tern_json_kv_str(w, "frame_type", "new_connection_id");
        tern_json_kv_u64(w, "sequence_number", n->sequence);
        tern_json_kv_u64(w, "retire_prior_to", n->retire_prior_to);
        tern_json_kv_u64(w, "connection_id_length", n->cid_len);
        tern_json_kv_hex(w, "connection_id", n->cid, n->cid ? n->cid_len : 0);
        if (n->stateless_reset_token)
            tern_json_kv_hex(w, "stateless_reset_token", n->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
        break;
    }
    case TERN_FRAME_RETIRE_CONNECTION_ID:
        tern_json_kv_str(w, "frame_type", "retire_connection_id");
        tern_json_kv_u64(w, "sequence_number", f->u.retire_connection_id.sequence);
        break;
    case TERN_FRAME_PATH_CHALLENGE:
    case TERN_FRAME_PATH_RESPONSE:
        tern_json_kv_str(w, "frame_type", type == TERN_FRAME_PATH_CHALLENGE ? "path_challenge" : "path_response");
        tern_json_kv_hex(w, "data", f->u.path.data, TERN_PATH_DATA_LEN);
        break;
    case TERN_FRAME_CONNECTION_CLOSE:
    case TERN_FRAME_CONNECTION_CLOSE_APP: {
        const tern_connection_close_frame *c = &f->u.close;
        bool app = type == TERN_FRAME_CONNECTION_CLOSE_APP;
        tern_json_kv_str(w, "frame_type", "connection_close");
        tern_json_kv_str(w, "error_space", app ? "application" : "transport");
        if (app)
            tern_json_kv_u64(w, "error_code", c->error_code);
        else
            put_transport_code(w, "error_code", c->error_code);
        tern_json_kv_u64(w, "raw_error_code", c->error_code);
        tern_json_kv_strn(w, "reason", c->reason, c->reason ? c->reason_len : 0);
        if (!app) tern_json_kv_u64(w, "trigger_frame_type", c->frame_type);
        break;
    }
    case TERN_FRAME_HANDSHAKE_DONE:
        tern_json_kv_str(w, "frame_type", "handshake_done");
        break;
    case TERN_FRAME_SAA: {
        const tern_saa_frame *s = &f->u.saa;
        tern_json_kv_str(w, "frame_type", "server_alternate_address");
        tern_json_kv_u64(w, "sequence_number", s->sequence);
        if (s->ipv4.family == TERN_AF_INET) put_addr_members(w, &s->ipv4);
        if (s->ipv6.family == TERN_AF_INET6) put_addr_members(w, &s->ipv6);
        tern_json_kv_u64(w, "connection_id_length", s->cid_len);
        tern_json_kv_hex(w, "connection_id", s->cid, s->cid ? s->cid_len : 0);
        if (s->stateless_reset_token)
            tern_json_kv_hex(w, "stateless_reset_token", s->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
        break;
    }
    default:
        tern_json_kv_str(w, "frame_type", "unknown");
        tern_json_kv_u64(w, "frame_type_value", (uint64_t)f->type);
        break;
    }
    tern_json_obj_end(w);
}

/* ---- transport ---- */

static void put_header(tern_json_writer *w, const tern_qlog_packet *pkt, bool with_pn)
{
    tern_json_key(w, "header");
    tern_json_obj_begin(w);
    tern_json_kv_str(w, "packet_type", tern_qlog_packet_type_name(pkt->type));
    bool has_pn = pkt->type == TERN_PKT_INITIAL || pkt->type == TERN_PKT_0RTT || pkt->type == TERN_PKT_HANDSHAKE ||
                  pkt->type == TERN_PKT_1RTT;
    if (with_pn && has_pn) tern_json_kv_u64(w, "packet_number", pkt->packet_number);
    if (pkt->type == TERN_PKT_1RTT) tern_json_kv_u64(w, "key_phase", pkt->key_phase ? 1 : 0);
    if (pkt->scid) {
        tern_json_kv_u64(w, "scil", pkt->scid_len);
        tern_json_kv_hex(w, "scid", pkt->scid, pkt->scid_len);
    }
    if (pkt->dcid) {
        tern_json_kv_u64(w, "dcil", pkt->dcid_len);
        tern_json_kv_hex(w, "dcid", pkt->dcid, pkt->dcid_len);
    }
    tern_json_obj_end(w);
}

static void put_raw(tern_json_writer *w, size_t length, size_t payload_length)
{
    tern_json_key(w, "raw");
    tern_json_obj_begin(w);
    tern_json_kv_u64(w, "length", length);
    if (payload_length) tern_json_kv_u64(w, "payload_length", payload_length);
    tern_json_obj_end(w);
}

void tern_qlog_packet_begin(tern_qlog *q, tern_time now, bool received, const tern_qlog_packet *pkt)
{
    if (!q || !q->enabled || !pkt) return;
    if (!event_begin(q, now, received ? "quic:packet_received" : "quic:packet_sent",
                     received ? "transport:packet_received" : "transport:packet_sent"))
        return;
    tern_json_writer *w = &q->w;
    put_header(w, pkt, true);
    put_raw(w, pkt->length, pkt->payload_length);
    tern_json_key(w, "frames");
    tern_json_arr_begin(w);
    q->packet_depth = w->depth;
    q->packet_remote = received;
    q->in_packet = true;
}

void tern_qlog_packet_frame(tern_qlog *q, const tern_frame *frame)
{
    if (!q || !q->in_packet || !frame) return;
    put_frame(q, frame);
}

void tern_qlog_packet_payload(tern_qlog *q, const tern_frame_config *cfg, const uint8_t *payload, size_t len)
{
    if (!q || !q->in_packet || !payload) return;
    size_t off = 0;
    while (off < len) {
        tern_frame f;
        size_t used = 0;
        if (tern_frame_decode(cfg, payload + off, len - off, &f, &used) != TERN_OK || used == 0) {
            tern_json_obj_begin(&q->w);
            tern_json_kv_str(&q->w, "frame_type", "unknown");
            tern_json_kv_u64(&q->w, "tern:undecoded_length", len - off);
            tern_json_obj_end(&q->w);
            break;
        }
        put_frame(q, &f);
        off += used;
    }
}

void tern_qlog_packet_end(tern_qlog *q)
{
    if (!q || !q->in_packet) return;
    q->in_packet = false;
    event_end(q);
}

/* Another event arrived while a packet record was open: close the record
 * (valid JSON) and mark it incomplete. */
static void packet_cut(tern_qlog *q)
{
    tern_json_close_to(&q->w, q->packet_depth);
    tern_json_arr_end(&q->w);
    tern_json_kv_bool(&q->w, "tern:frames_cut", true);
    q->in_packet = false;
    event_end(q);
}

void tern_qlog_packet_dropped(tern_qlog *q, tern_time now, const tern_qlog_packet *pkt, size_t length,
                              tern_qlog_drop_reason reason, const char *details)
{
    if (!event_begin(q, now, "quic:packet_dropped", "transport:packet_dropped")) return;
    tern_json_writer *w = &q->w;
    if (pkt) put_header(w, pkt, false);
    put_raw(w, length, 0);
    tern_json_kv_str(w, "trigger", drop_reason_name(reason));
    if (details) tern_json_kv_str(w, "details", details);
    event_end(q);
}

static void put_cid_kv(tern_json_writer *w, const char *key, const tern_cid *cid)
{
    tern_json_kv_hex(w, key, cid->data, cid->len <= TERN_MAX_CID_LEN ? cid->len : TERN_MAX_CID_LEN);
}

void tern_qlog_parameters_set(tern_qlog *q, tern_time now, bool remote, const tern_transport_params *tp)
{
    if (!q || !tp) return;
    /* Kept even when disabled: cheap, and consistent if enabled later. */
    uint8_t exp = tp->ack_delay_exponent <= TERN_TP_MAX_ACK_DELAY_EXPONENT ? (uint8_t)tp->ack_delay_exponent
                                                                            : (uint8_t)TERN_TP_DEFAULT_ACK_DELAY_EXPONENT;
    q->ack_delay_exponent[remote ? 1 : 0] = exp;
    if (!event_begin(q, now, "quic:parameters_set", "transport:parameters_set")) return;
    tern_json_writer *w = &q->w;
    tern_json_kv_str(w, "owner", remote ? "remote" : "local");
    if (tp->has_original_destination_connection_id)
        put_cid_kv(w, "original_destination_connection_id", &tp->original_destination_connection_id);
    if (tp->has_initial_source_connection_id)
        put_cid_kv(w, "initial_source_connection_id", &tp->initial_source_connection_id);
    if (tp->has_retry_source_connection_id)
        put_cid_kv(w, "retry_source_connection_id", &tp->retry_source_connection_id);
    if (tp->has_stateless_reset_token)
        tern_json_kv_hex(w, "stateless_reset_token", tp->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
    tern_json_kv_bool(w, "disable_active_migration", tp->disable_active_migration);
    tern_json_kv_u64(w, "max_idle_timeout", tp->max_idle_timeout_ms);
    tern_json_kv_u64(w, "max_udp_payload_size", tp->max_udp_payload_size);
    tern_json_kv_u64(w, "ack_delay_exponent", tp->ack_delay_exponent);
    tern_json_kv_u64(w, "max_ack_delay", tp->max_ack_delay_ms);
    tern_json_kv_u64(w, "active_connection_id_limit", tp->active_connection_id_limit);
    tern_json_kv_u64(w, "initial_max_data", tp->initial_max_data);
    tern_json_kv_u64(w, "initial_max_stream_data_bidi_local", tp->initial_max_stream_data_bidi_local);
    tern_json_kv_u64(w, "initial_max_stream_data_bidi_remote", tp->initial_max_stream_data_bidi_remote);
    tern_json_kv_u64(w, "initial_max_stream_data_uni", tp->initial_max_stream_data_uni);
    tern_json_kv_u64(w, "initial_max_streams_bidi", tp->initial_max_streams_bidi);
    tern_json_kv_u64(w, "initial_max_streams_uni", tp->initial_max_streams_uni);
    if (tp->has_preferred_address) {
        const tern_tp_preferred_address *pa = &tp->preferred_address;
        tern_json_key(w, "preferred_address");
        tern_json_obj_begin(w);
        if (pa->ipv4.family == TERN_AF_INET) put_addr_members(w, &pa->ipv4);
        if (pa->ipv6.family == TERN_AF_INET6) put_addr_members(w, &pa->ipv6);
        put_cid_kv(w, "connection_id", &pa->cid);
        tern_json_kv_hex(w, "stateless_reset_token", pa->stateless_reset_token, TERN_STATELESS_RESET_TOKEN_LEN);
        tern_json_obj_end(w);
    }
    tern_json_kv_bool(w, "enable_server_migration", tp->enable_server_migration);
    tern_json_kv_bool(w, "allow_server_migration", tp->allow_server_migration);
    event_end(q);
}

static void key_event(tern_qlog *q, tern_time now, const char *name, const char *qvis_name, tern_qlog_key_type type,
                      uint64_t generation, tern_qlog_key_trigger trigger)
{
    if (!event_begin(q, now, name, qvis_name)) return;
    tern_json_kv_str(&q->w, "key_type", key_type_name(type));
    tern_json_kv_u64(&q->w, "key_phase", generation);
    tern_json_kv_str(&q->w, "trigger", key_trigger_name(trigger));
    event_end(q);
}

void tern_qlog_key_updated(tern_qlog *q, tern_time now, tern_qlog_key_type type, uint64_t generation,
                           tern_qlog_key_trigger trigger)
{
    key_event(q, now, "quic:key_updated", "security:key_updated", type, generation, trigger);
}

void tern_qlog_key_discarded(tern_qlog *q, tern_time now, tern_qlog_key_type type, uint64_t generation,
                             tern_qlog_key_trigger trigger)
{
    key_event(q, now, "quic:key_discarded", "security:key_retired", type, generation, trigger);
}

/* ---- recovery ---- */

void tern_qlog_metrics_init(tern_qlog_metrics *m)
{
    m->min_rtt = m->smoothed_rtt = m->latest_rtt = m->rtt_variance = TERN_QLOG_UNKNOWN;
    m->pto_count = m->congestion_window = m->bytes_in_flight = m->ssthresh = TERN_QLOG_UNKNOWN;
    m->packets_in_flight = m->pacing_rate = TERN_QLOG_UNKNOWN;
}

void tern_qlog_metrics_updated(tern_qlog *q, tern_time now, const tern_qlog_metrics *m)
{
    if (!q || !q->enabled || !m) return;
    static const char *const names[10] = {"min_rtt", "smoothed_rtt", "latest_rtt", "rtt_variance",
                                          "pto_count", "congestion_window", "bytes_in_flight", "ssthresh",
                                          "packets_in_flight", "pacing_rate"};
    const uint64_t v[10] = {m->min_rtt, m->smoothed_rtt, m->latest_rtt, m->rtt_variance,
                            m->pto_count, m->congestion_window, m->bytes_in_flight, m->ssthresh,
                            m->packets_in_flight, m->pacing_rate};
    bool changed[10];
    bool any = false;
    for (int i = 0; i < 10; i++) {
        changed[i] = v[i] != TERN_QLOG_UNKNOWN && (!q->metrics_valid || v[i] != q->last_metrics.v[i]);
        any |= changed[i];
    }
    if (!any) return;
    if (!event_begin(q, now, "quic:recovery_metrics_updated", "recovery:metrics_updated")) return;
    for (int i = 0; i < 10; i++) {
        if (!changed[i]) continue;
        if (i < 4)
            tern_json_kv_ms(&q->w, names[i], v[i]);
        else
            tern_json_kv_u64(&q->w, names[i], v[i]);
        q->last_metrics.v[i] = v[i];
    }
    if (!q->metrics_valid) {
        for (int i = 0; i < 10; i++)
            if (!changed[i]) q->last_metrics.v[i] = TERN_QLOG_UNKNOWN;
        q->metrics_valid = true;
    }
    event_end(q);
}

void tern_qlog_congestion_state_updated(tern_qlog *q, tern_time now, tern_qlog_cc_state old_state,
                                        tern_qlog_cc_state new_state, const char *trigger)
{
    if (!event_begin(q, now, "quic:congestion_state_updated", "recovery:congestion_state_updated")) return;
    tern_json_kv_str(&q->w, "old", cc_state_name(old_state));
    tern_json_kv_str(&q->w, "new", cc_state_name(new_state));
    if (trigger) tern_json_kv_str(&q->w, "trigger", trigger);
    event_end(q);
}

void tern_qlog_packet_lost(tern_qlog *q, tern_time now, tern_packet_type type, uint64_t packet_number,
                           tern_qlog_loss_trigger trigger)
{
    if (!event_begin(q, now, "quic:packet_lost", "recovery:packet_lost")) return;
    tern_qlog_packet pkt;
    memset(&pkt, 0, sizeof pkt);
    pkt.type = type;
    pkt.packet_number = packet_number;
    put_header(&q->w, &pkt, true);
    tern_json_kv_str(&q->w, "trigger", loss_trigger_name(trigger));
    event_end(q);
}
