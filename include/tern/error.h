/* Transport error codes (RFC 9000 §20.1) and tern's result convention.
 *
 * Every decoder and most library calls return a tern_err: 0 means success,
 * any other value is the QUIC transport error code the RFC names for the
 * failure (so a caller can put it straight into CONNECTION_CLOSE), or one of
 * the local (never sent) codes above TERN_ERR_LOCAL_BASE. */
#ifndef TERN_ERROR_H
#define TERN_ERROR_H

#include <stdint.h>

typedef int tern_err;

enum {
    TERN_OK = 0,
    /* RFC 9000 §20.1 */
    TERN_NO_ERROR = 0x00,
    TERN_INTERNAL_ERROR = 0x01,
    TERN_CONNECTION_REFUSED = 0x02,
    TERN_FLOW_CONTROL_ERROR = 0x03,
    TERN_STREAM_LIMIT_ERROR = 0x04,
    TERN_STREAM_STATE_ERROR = 0x05,
    TERN_FINAL_SIZE_ERROR = 0x06,
    TERN_FRAME_ENCODING_ERROR = 0x07,
    TERN_TRANSPORT_PARAMETER_ERROR = 0x08,
    TERN_CONNECTION_ID_LIMIT_ERROR = 0x09,
    TERN_PROTOCOL_VIOLATION = 0x0a,
    TERN_INVALID_TOKEN = 0x0b,
    TERN_APPLICATION_ERROR = 0x0c,
    TERN_CRYPTO_BUFFER_EXCEEDED = 0x0d,
    TERN_KEY_UPDATE_ERROR = 0x0e,
    TERN_AEAD_LIMIT_REACHED = 0x0f,
    TERN_NO_VIABLE_PATH = 0x10,
    TERN_CRYPTO_ERROR_BASE = 0x100, /* 0x100 + TLS alert */

    /* Local results, never put on the wire. */
    TERN_ERR_LOCAL_BASE = 0x10000,
    TERN_ERR_BUFFER_TOO_SMALL,  /* encoder: output does not fit */
    TERN_ERR_TRUNCATED,         /* decoder: input ends early (caller maps) */
    TERN_ERR_DECRYPT,           /* AEAD open failed: drop packet (RFC 9001 §5.5) */
    TERN_ERR_CRYPTO_BACKEND,    /* backend refused an operation */
    TERN_ERR_UNSUPPORTED,       /* e.g. unknown cipher suite */
    TERN_ERR_INVALID_ARGUMENT,  /* API misuse by the application */
    TERN_ERR_NOMEM,
    TERN_ERR_DROP,              /* packet silently discarded (RFC says ignore) */
    TERN_ERR_INVALID_STATE,     /* API call valid, but not in this state */
    TERN_ERR_CID_BLOCKED,       /* no unused peer connection ID (wait for NEW_CONNECTION_ID) */
    TERN_ERR_MIGRATION_NOT_ALLOWED, /* this side may not move (allow_server_migration decides) */
};

/* Human-readable name of an error code ("FRAME_ENCODING_ERROR", ...). */
const char *tern_err_name(tern_err err);

#endif
