#define _GNU_SOURCE /* struct mmsghdr in udp_socket.h */
/* 0-RTT in the tools: the client starts its HTTP session right after
 * tern_endpoint_connect when the resumed session allows early data. */
#include "tl.h"

bool tl_session_start_early(tl_session *s, tern_app_proto proto)
{
    if (s->app || !s->conn || !tern_conn_can_send_early_data(s->conn)) return false;
    s->app = s->make_app(s, proto);
    if (!s->app) return false;
    s->started = true;
    if (tern_app_start(s->app) < 0) {
        /* Streams could not be opened within the remembered limits; the
         * session is not usable: start again at HANDSHAKE_DONE. */
        tern_app_free(s->app);
        s->app = NULL;
        s->started = false;
        return false;
    }
    return true;
}
