/* QUIC transport parameters (RFC 9000 §7.3, §7.4, §18) plus tern's two
 * server-migration extensions (docs/protocol.md §Codepoints, profile §2-§3):
 *
 *   enable_server_migration  a client offers to accept SERVER_ALTERNATE_ADDRESS
 *   allow_server_migration   draft-kozuka-quic-server-migration §5
 *
 * The codec works on the extension_data of the quic_transport_parameters TLS
 * extension (RFC 9001 §8.2): a sequence of (id, length, value) tuples. It
 * never allocates; decode validates every rule of RFC 9000 §7.3/§18.2 that
 * can be checked on the parameters alone and returns
 * TERN_TRANSPORT_PARAMETER_ERROR for any violation. The checks that need
 * connection state (CID authentication, §7.3; 0-RTT limits, §7.4.1) are
 * separate functions the connection calls. */
#ifndef TERN_TRANSPORT_PARAMS_H
#define TERN_TRANSPORT_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tern/error.h"
#include "tern/types.h"

/* RFC 9000 §18.2 identifiers. */
enum {
    TERN_TP_ORIGINAL_DESTINATION_CONNECTION_ID = 0x00,
    TERN_TP_MAX_IDLE_TIMEOUT = 0x01,
    TERN_TP_STATELESS_RESET_TOKEN = 0x02,
    TERN_TP_MAX_UDP_PAYLOAD_SIZE = 0x03,
    TERN_TP_INITIAL_MAX_DATA = 0x04,
    TERN_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL = 0x05,
    TERN_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE = 0x06,
    TERN_TP_INITIAL_MAX_STREAM_DATA_UNI = 0x07,
    TERN_TP_INITIAL_MAX_STREAMS_BIDI = 0x08,
    TERN_TP_INITIAL_MAX_STREAMS_UNI = 0x09,
    TERN_TP_ACK_DELAY_EXPONENT = 0x0a,
    TERN_TP_MAX_ACK_DELAY = 0x0b,
    TERN_TP_DISABLE_ACTIVE_MIGRATION = 0x0c,
    TERN_TP_PREFERRED_ADDRESS = 0x0d,
    TERN_TP_ACTIVE_CONNECTION_ID_LIMIT = 0x0e,
    TERN_TP_INITIAL_SOURCE_CONNECTION_ID = 0x0f,
    TERN_TP_RETRY_SOURCE_CONNECTION_ID = 0x10,
};

/* RFC 9000 §18.2 defaults and limits. */
#define TERN_TP_DEFAULT_MAX_UDP_PAYLOAD_SIZE 65527ULL
#define TERN_TP_MIN_MAX_UDP_PAYLOAD_SIZE 1200ULL
#define TERN_TP_DEFAULT_ACK_DELAY_EXPONENT 3ULL
#define TERN_TP_MAX_ACK_DELAY_EXPONENT 20ULL
#define TERN_TP_DEFAULT_MAX_ACK_DELAY_MS 25ULL
#define TERN_TP_MAX_ACK_DELAY_LIMIT_MS (1ULL << 14) /* values >= this are invalid */
#define TERN_TP_DEFAULT_ACTIVE_CONNECTION_ID_LIMIT 2ULL
#define TERN_TP_MIN_ACTIVE_CONNECTION_ID_LIMIT 2ULL
#define TERN_TP_MAX_STREAMS_LIMIT (1ULL << 60) /* §4.6: larger is invalid */

/* Upper bound of tern_tp_encode's output for any valid input and any
 * configuration (extension ids up to 8-byte varints); a buffer this large
 * never yields TERN_ERR_BUFFER_TOO_SMALL. */
#define TERN_TP_MAX_ENCODED_LEN 264

/* Which endpoint sent (or will send) a parameter set. The rules differ:
 * only a server may send the server-only parameters (§18.2). */
typedef enum tern_tp_role {
    TERN_TP_ROLE_CLIENT = 0,
    TERN_TP_ROLE_SERVER = 1,
} tern_tp_role;

/* Identifiers of tern's extension parameters. Both peers must agree on them;
 * they are configuration, not constants, so a deployment can move to other
 * codepoints (e.g. once IANA assigns them) without a rebuild. */
typedef struct tern_tp_config {
    uint64_t enable_server_migration_id;
    uint64_t allow_server_migration_id;
} tern_tp_config;

/* preferred_address (§18.2, §9.6). An address whose family is TERN_AF_NONE
 * is absent: it travels as the all-zero address and port. */
typedef struct tern_tp_preferred_address {
    tern_addr ipv4; /* family TERN_AF_INET or TERN_AF_NONE */
    tern_addr ipv6; /* family TERN_AF_INET6 or TERN_AF_NONE */
    tern_cid cid;   /* sequence number 1; never zero-length */
    uint8_t stateless_reset_token[TERN_STATELESS_RESET_TOKEN_LEN];
} tern_tp_preferred_address;

/* One endpoint's transport parameters. Integer fields hold the effective
 * value (the RFC default when the parameter was absent); has_* flags mark the
 * parameters whose absence means something different from any value. */
typedef struct tern_transport_params {
    bool has_original_destination_connection_id; /* server only */
    tern_cid original_destination_connection_id;
    uint64_t max_idle_timeout_ms; /* 0: no idle timeout from this endpoint */
    bool has_stateless_reset_token; /* server only */
    uint8_t stateless_reset_token[TERN_STATELESS_RESET_TOKEN_LEN];
    uint64_t max_udp_payload_size;
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data_bidi_local;
    uint64_t initial_max_stream_data_bidi_remote;
    uint64_t initial_max_stream_data_uni;
    uint64_t initial_max_streams_bidi;
    uint64_t initial_max_streams_uni;
    uint64_t ack_delay_exponent;
    uint64_t max_ack_delay_ms;
    bool disable_active_migration;
    bool has_preferred_address; /* server only */
    tern_tp_preferred_address preferred_address;
    uint64_t active_connection_id_limit;
    bool has_initial_source_connection_id;
    tern_cid initial_source_connection_id;
    bool has_retry_source_connection_id; /* server only */
    tern_cid retry_source_connection_id;
    bool enable_server_migration; /* meaningful from a client only */
    bool allow_server_migration;
} tern_transport_params;

/* The parameters a client remembers with a session ticket for 0-RTT
 * (RFC 9000 §7.4.1): every server parameter except ack_delay_exponent,
 * max_ack_delay, initial_source_connection_id,
 * original_destination_connection_id, preferred_address,
 * retry_source_connection_id and stateless_reset_token, which the client must
 * not reuse. allow_server_migration is never remembered (draft-kozuka §5),
 * nor is enable_server_migration (a client-only offer). */
typedef struct tern_tp_remembered {
    uint64_t max_idle_timeout_ms;
    uint64_t max_udp_payload_size;
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data_bidi_local;
    uint64_t initial_max_stream_data_bidi_remote;
    uint64_t initial_max_stream_data_uni;
    uint64_t initial_max_streams_bidi;
    uint64_t initial_max_streams_uni;
    uint64_t active_connection_id_limit;
    bool disable_active_migration;
} tern_tp_remembered;

/* Default extension ids (TERN_TP_*_SERVER_MIGRATION_DEFAULT). */
void tern_tp_config_init(tern_tp_config *config);

/* TERN_OK when the configured ids are usable: distinct, valid varints, not an
 * RFC 9000 §18.2 id and not a reserved GREASE id (31*N+27, §18.1).
 * Otherwise TERN_ERR_INVALID_ARGUMENT. */
tern_err tern_tp_config_check(const tern_tp_config *config);

/* Every parameter absent: RFC defaults (max_udp_payload_size 65527,
 * ack_delay_exponent 3, max_ack_delay 25 ms, active_connection_id_limit 2),
 * everything else 0, false or absent. */
void tern_tp_init_defaults(tern_transport_params *tp);

/* TERN_OK when every value in tp obeys §18.2 for a parameter set sent by
 * `sender`, else TERN_TRANSPORT_PARAMETER_ERROR. Server-only parameters
 * present in a client's set are violations here. */
tern_err tern_tp_validate(const tern_transport_params *tp, tern_tp_role sender);

/* Encodes tp as sent by `sender` into out[0..cap), writing the length to
 * *out_len. Integer parameters equal to their default are omitted (the peer
 * infers the same value). A client never writes the server-only parameters
 * (original_destination_connection_id, stateless_reset_token,
 * preferred_address, retry_source_connection_id), whatever tp holds, and a
 * server never writes enable_server_migration. config NULL means the default
 * ids. Returns TERN_ERR_INVALID_ARGUMENT when a value could not be decoded by
 * the peer (see tern_tp_validate) or config is unusable,
 * TERN_ERR_BUFFER_TOO_SMALL when out is too short (see
 * TERN_TP_MAX_ENCODED_LEN). */
tern_err tern_tp_encode(const tern_transport_params *tp, tern_tp_role sender,
                        const tern_tp_config *config, uint8_t *out, size_t cap,
                        size_t *out_len);

/* Decodes the parameters `sender` put in in[0..len) into *tp (defaults for
 * the absent ones). Unknown ids, GREASE included, are skipped (§7.4.2).
 * Returns TERN_TRANSPORT_PARAMETER_ERROR for any malformed or invalid
 * parameter, a duplicate, a truncated list, or a server-only parameter sent
 * by a client (§7.4, §18.2); TERN_ERR_INVALID_ARGUMENT when config is
 * unusable. config NULL means the default ids. On error *tp is unspecified. */
tern_err tern_tp_decode(tern_transport_params *tp, tern_tp_role sender,
                        const tern_tp_config *config, const uint8_t *in, size_t len);

/* §7.3: initial_source_connection_id must come from both endpoints and
 * original_destination_connection_id from a server. Returns
 * TERN_TRANSPORT_PARAMETER_ERROR when a required parameter of the peer
 * (`sender`) is missing. */
tern_err tern_tp_check_required(const tern_transport_params *peer_tp, tern_tp_role sender);

/* §7.3 connection ID authentication, done by the receiver of peer_tp:
 * - peer_initial_scid: Source CID of the peer's first Initial packet;
 * - when the peer is a server, original_dcid is the Destination CID of the
 *   client's first Initial, and retry_scid the Source CID of the Retry packet
 *   received, or NULL when there was none (both ignored for a client peer).
 * Includes tern_tp_check_required. Returns TERN_TRANSPORT_PARAMETER_ERROR on
 * any absence, unexpected presence or mismatch. */
tern_err tern_tp_authenticate_cids(const tern_transport_params *peer_tp, tern_tp_role sender,
                                   const tern_cid *peer_initial_scid,
                                   const tern_cid *original_dcid, const tern_cid *retry_scid);

/* Client, on receiving a session ticket: what to store from the server's
 * parameters for a later 0-RTT attempt (§7.4.1). */
void tern_tp_remember_for_0rtt(tern_tp_remembered *remembered,
                               const tern_transport_params *server_tp);

/* Client, when attempting 0-RTT: the server parameters that apply to 0-RTT
 * packets: the remembered values, and the defaults for everything the client
 * must not reuse (§7.4.1). */
void tern_tp_from_remembered(tern_transport_params *server_tp,
                             const tern_tp_remembered *remembered);

/* Client, after the server accepted 0-RTT: the server must not reduce
 * active_connection_id_limit, initial_max_data, initial_max_stream_data_* or
 * initial_max_streams_* below the remembered values (§7.4.1). Returns
 * TERN_PROTOCOL_VIOLATION when it did. max_idle_timeout,
 * max_udp_payload_size and disable_active_migration may change (a server
 * that cannot honour them rejects 0-RTT instead, §7.4.1). */
tern_err tern_tp_check_0rtt_limits(const tern_tp_remembered *remembered,
                                   const tern_transport_params *new_server_tp);

/* Field-by-field equality (CIDs and addresses compared by their meaningful
 * bytes only). */
bool tern_tp_equal(const tern_transport_params *a, const tern_transport_params *b);

#endif
