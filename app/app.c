#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "h3.h"
#include "hq.h"

struct tern_app {
    const tern_app_ops *ops;
    void *session;
};

bool tern_app_proto_from_alpn(const uint8_t *alpn, size_t len, tern_app_proto *proto)
{
    if (len == 2 && memcmp(alpn, "h3", 2) == 0) {
        *proto = TERN_APP_PROTO_H3;
        return true;
    }
    if (len == 10 && memcmp(alpn, "hq-interop", 10) == 0) {
        *proto = TERN_APP_PROTO_HQ;
        return true;
    }
    return false;
}

const char *tern_app_proto_alpn(tern_app_proto proto)
{
    return proto == TERN_APP_PROTO_H3 ? "h3" : "hq-interop";
}

static const tern_app_ops *ops_for(tern_app_proto proto)
{
    return proto == TERN_APP_PROTO_H3 ? &tern_h3_ops : &tern_hq_ops;
}

static tern_app *wrap(const tern_app_ops *ops, void *session)
{
    if (!session)
        return NULL;
    tern_app *app = malloc(sizeof *app);
    if (!app) {
        ops->destroy(session);
        return NULL;
    }
    app->ops = ops;
    app->session = session;
    return app;
}

tern_app *tern_app_server_new(tern_app_proto proto, const tern_app_transport *transport,
                              const tern_http_server_config *config)
{
    const tern_app_ops *ops = ops_for(proto);
    return wrap(ops, ops->server_new(transport, config));
}

tern_app *tern_app_client_new(tern_app_proto proto, const tern_app_transport *transport,
                              const tern_http_client_config *config)
{
    const tern_app_ops *ops = ops_for(proto);
    return wrap(ops, ops->client_new(transport, config));
}

void tern_app_free(tern_app *app)
{
    if (!app)
        return;
    app->ops->destroy(app->session);
    free(app);
}

int tern_app_start(tern_app *app) { return app->ops->start(app->session); }

int tern_app_client_request(tern_app *app, const char *method, const char *path, void *req_user)
{
    return app->ops->client_request(app->session, method, path, req_user);
}

size_t tern_app_client_outstanding(const tern_app *app)
{
    return app->ops->client_outstanding(app->session);
}

int tern_app_on_stream_data(tern_app *app, uint64_t stream_id, const uint8_t *data, size_t len,
                            bool fin)
{
    return app->ops->on_stream_data(app->session, stream_id, data, len, fin);
}

int tern_app_on_stream_writable(tern_app *app, uint64_t stream_id)
{
    return app->ops->on_stream_writable(app->session, stream_id);
}

int tern_app_on_stream_reset(tern_app *app, uint64_t stream_id, uint64_t app_error)
{
    return app->ops->on_stream_reset(app->session, stream_id, app_error);
}

int tern_app_on_stop_sending(tern_app *app, uint64_t stream_id, uint64_t app_error)
{
    return app->ops->on_stop_sending(app->session, stream_id, app_error);
}

int tern_app_on_stream_closed(tern_app *app, uint64_t stream_id, uint64_t app_error)
{
    return app->ops->on_stream_closed(app->session, stream_id, app_error);
}

int tern_app_on_streams_available(tern_app *app)
{
    return app->ops->on_streams_available(app->session);
}

void tern_app_on_connection_closed(tern_app *app, uint64_t app_error)
{
    app->ops->on_connection_closed(app->session, app_error);
}

int tern_app_abort_stream(tern_app *app, uint64_t stream_id, uint64_t app_error)
{
    return app->ops->abort_stream(app->session, stream_id, app_error);
}

int tern_app_shutdown(tern_app *app)
{
    return app->ops->shutdown ? app->ops->shutdown(app->session) : 0;
}
