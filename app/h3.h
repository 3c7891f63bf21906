/* HTTP/3 (RFC 9114) over nghttp3, behind tern_app (app.h). */
#ifndef TERN_APP_H3_H
#define TERN_APP_H3_H

#include "app.h"

/* HTTP/3 error codes, RFC 9114 §8.1. */
enum {
    TERN_H3_NO_ERROR = 0x0100,
    TERN_H3_GENERAL_PROTOCOL_ERROR = 0x0101,
    TERN_H3_INTERNAL_ERROR = 0x0102,
    TERN_H3_CLOSED_CRITICAL_STREAM = 0x0104,
    TERN_H3_REQUEST_REJECTED = 0x010b,
    TERN_H3_REQUEST_CANCELLED = 0x010c,
    TERN_H3_REQUEST_INCOMPLETE = 0x010d,
    TERN_H3_MESSAGE_ERROR = 0x010e,
};

extern const tern_app_ops tern_h3_ops;

#endif
