/* Stream list, request queue and outcome reporting shared by h3 and hq. */
#include "app_stream.h"

#include <stdlib.h>
#include <string.h>

tern_app_stream *tern_app_stream_find(const tern_app_session *s, uint64_t id)
{
    for (tern_app_stream *st = s->streams; st; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

void *tern_app_stream_add(tern_app_session *s, size_t size, uint64_t id)
{
    tern_app_stream *st = calloc(1, size);
    if (!st)
        return NULL;
    st->id = id;
    st->res.fd = -1;
    st->next = s->streams;
    s->streams = st;
    return st;
}

void tern_app_stream_unlink(tern_app_session *s, tern_app_stream *st)
{
    for (tern_app_stream **pp = &s->streams; *pp; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
    tern_http_resource_close(&st->res);
}

void tern_app_stream_complete(tern_app_session *s, tern_app_stream *st, tern_http_outcome outcome,
                              uint64_t app_error)
{
    if (s->is_server || st->completed)
        return;
    st->completed = true;
    s->outstanding--;
    tern_http_result r = {.outcome = outcome,
                          .status = st->status,
                          .app_error = app_error,
                          .body_bytes = st->body_bytes};
    s->cb.on_complete(s->cb.ctx, st->req_user, &r);
}

int tern_app_stream_open_resource(tern_app_session *s, tern_app_stream *st, const char *target)
{
    int status = tern_http_resource_open(s->root, target, strlen(target), &st->res);
    if (st->res.error && s->on_file_error)
        s->on_file_error(s->file_error_ctx, st->id, target, st->res.error, status);
    return status;
}

int tern_app_session_fail(tern_app_session *s, uint64_t app_error, const char *why)
{
    if (!s->failed) {
        s->failed = true;
        s->tp.close_connection(s->tp.ctx, app_error, why);
    }
    return -1;
}

void tern_app_pending_push(tern_app_session *s, tern_app_pending *p)
{
    p->next = NULL;
    if (s->pending_tail)
        s->pending_tail->next = p;
    else
        s->pending_head = p;
    s->pending_tail = p;
    s->outstanding++;
}

tern_app_pending *tern_app_pending_pop(tern_app_session *s)
{
    tern_app_pending *p = s->pending_head;
    if (!p)
        return NULL;
    s->pending_head = p->next;
    if (!s->pending_head)
        s->pending_tail = NULL;
    return p;
}

void tern_app_pending_free_all(tern_app_session *s, void (*free_pending)(tern_app_pending *))
{
    tern_app_pending *p;
    while ((p = tern_app_pending_pop(s)))
        free_pending(p);
}

void tern_app_session_connection_closed(tern_app_session *s, uint64_t app_error,
                                        void (*free_pending)(tern_app_pending *))
{
    s->failed = true;
    for (tern_app_stream *st = s->streams; st; st = st->next)
        tern_app_stream_complete(s, st, TERN_HTTP_CONN_ERROR, app_error);
    tern_app_pending *p;
    while ((p = tern_app_pending_pop(s))) {
        s->outstanding--;
        tern_http_result r = {.outcome = TERN_HTTP_CONN_ERROR, .app_error = app_error};
        s->cb.on_complete(s->cb.ctx, p->req_user, &r);
        free_pending(p);
    }
}
