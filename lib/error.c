#include "tern/error.h"

const char *tern_err_name(tern_err err)
{
    static const char *const wire[] = {
        "NO_ERROR", "INTERNAL_ERROR", "CONNECTION_REFUSED", "FLOW_CONTROL_ERROR",
        "STREAM_LIMIT_ERROR", "STREAM_STATE_ERROR", "FINAL_SIZE_ERROR",
        "FRAME_ENCODING_ERROR", "TRANSPORT_PARAMETER_ERROR",
        "CONNECTION_ID_LIMIT_ERROR", "PROTOCOL_VIOLATION", "INVALID_TOKEN",
        "APPLICATION_ERROR", "CRYPTO_BUFFER_EXCEEDED", "KEY_UPDATE_ERROR",
        "AEAD_LIMIT_REACHED", "NO_VIABLE_PATH",
    };
    if (err >= 0 && err <= TERN_NO_VIABLE_PATH) return wire[err];
    if (err >= TERN_CRYPTO_ERROR_BASE && err < TERN_CRYPTO_ERROR_BASE + 0x100) return "CRYPTO_ERROR";
    switch (err) {
    case TERN_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case TERN_ERR_TRUNCATED: return "truncated input";
    case TERN_ERR_DECRYPT: return "decryption failed";
    case TERN_ERR_CRYPTO_BACKEND: return "crypto backend error";
    case TERN_ERR_UNSUPPORTED: return "unsupported";
    case TERN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TERN_ERR_NOMEM: return "out of memory";
    case TERN_ERR_DROP: return "packet dropped";
    case TERN_ERR_INVALID_STATE: return "invalid state (not allowed now)";
    case TERN_ERR_CID_BLOCKED: return "no unused peer connection ID";
    case TERN_ERR_MIGRATION_NOT_ALLOWED:
        return "migration not allowed for this side (allow_server_migration: only the server moves)";
    default: return "unknown error";
    }
}
