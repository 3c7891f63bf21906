/* HTTP/0.9 over QUIC (ALPN "hq-interop"), behind tern_app (app.h).
 * A request is "GET /path\r\n" then FIN on a client bidirectional stream;
 * the response is the raw body then FIN. There is no status line: a server
 * that cannot serve resets the stream with the HTTP status as application
 * error code (400, 404, 405), a tern convention for hq. */
#ifndef TERN_APP_HQ_H
#define TERN_APP_HQ_H

#include "app.h"

/* Application error codes for hq stream resets besides the HTTP statuses. */
enum {
    TERN_HQ_INTERNAL_ERROR = 500,
    TERN_HQ_CANCELLED = 499,
};

extern const tern_app_ops tern_hq_ops;

#endif
