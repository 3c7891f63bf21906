#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STREAMS 512

typedef enum { EV_DATA, EV_RESET, EV_STOP_SENDING, EV_WRITABLE, EV_CONN_CLOSE } ev_type;

typedef struct event {
    struct event *next;
    ev_type type;
    int to; /* 0 client, 1 server */
    uint64_t stream_id, code;
    uint8_t *data;
    size_t len;
    bool fin;
} event;

typedef struct flow {
    int sender;
    uint64_t id;
    uint64_t sent, consumed;
    bool blocked, fin, reset;
} flow;

typedef struct side {
    harness *h;
    int index;
    tern_app *app;
    uint64_t next_bidi, next_uni;
} side;

struct harness {
    harness_options opts;
    side sides[2];
    event *head, *tail;
    flow flows[MAX_STREAMS];
    size_t nflows;
    int64_t conn_error;
    char *root;
    int file_errno, file_status; /* the server's last on_file_error */
    unsigned file_errors;
};

static flow *get_flow(harness *h, int sender, uint64_t id)
{
    for (size_t i = 0; i < h->nflows; i++)
        if (h->flows[i].sender == sender && h->flows[i].id == id)
            return &h->flows[i];
    if (h->nflows == MAX_STREAMS)
        abort();
    flow *f = &h->flows[h->nflows++];
    memset(f, 0, sizeof *f);
    f->sender = sender;
    f->id = id;
    return f;
}

static void push(harness *h, ev_type type, int to, uint64_t id, const uint8_t *data, size_t len, bool fin,
                 uint64_t code)
{
    event *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    e->type = type;
    e->to = to;
    e->stream_id = id;
    e->code = code;
    e->fin = fin;
    e->len = len;
    if (len) {
        e->data = malloc(len);
        if (!e->data)
            abort();
        memcpy(e->data, data, len);
    }
    if (h->tail)
        h->tail->next = e;
    else
        h->head = e;
    h->tail = e;
}

static int tp_open_stream(void *ctx, bool bidi, uint64_t *id)
{
    side *s = ctx;
    /* RFC 9000 §2.1: low bits are initiator and direction. */
    uint64_t *next = bidi ? &s->next_bidi : &s->next_uni;
    uint64_t limit = s->h->opts.client_bidi_limit;
    if (bidi && s->index == 0 && limit && *next >= limit)
        return TERN_APP_STREAM_LIMIT;
    *id = (*next * 4) | (bidi ? 0 : 2) | (uint64_t)s->index;
    (*next)++;
    return 0;
}

static int64_t tp_write(void *ctx, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    side *s = ctx;
    harness *h = s->h;
    flow *f = get_flow(h, s->index, id);
    if (f->fin || f->reset)
        return -1;
    size_t n = len;
    if (h->opts.write_chunk && n > h->opts.write_chunk)
        n = h->opts.write_chunk;
    if (h->opts.stream_window) {
        uint64_t credit = h->opts.stream_window - (f->sent - f->consumed);
        if (n > credit)
            n = (size_t)credit;
    }
    bool all = n == len;
    if (n || (all && fin))
        push(h, EV_DATA, !s->index, id, data, n, fin && all, 0);
    f->sent += n;
    if (fin && all)
        f->fin = true;
    if (!all)
        f->blocked = true;
    return (int64_t)n;
}

static void tp_reset_stream(void *ctx, uint64_t id, uint64_t code)
{
    side *s = ctx;
    flow *f = get_flow(s->h, s->index, id);
    if (f->reset || f->fin)
        return;
    f->reset = true;
    push(s->h, EV_RESET, !s->index, id, NULL, 0, false, code);
}

static void tp_stop_sending(void *ctx, uint64_t id, uint64_t code)
{
    side *s = ctx;
    push(s->h, EV_STOP_SENDING, !s->index, id, NULL, 0, false, code);
}

static void tp_consumed(void *ctx, uint64_t id, uint64_t n)
{
    side *s = ctx;
    /* The receiver returns credit to the peer's sending flow. */
    flow *f = get_flow(s->h, !s->index, id);
    f->consumed += n;
    if (f->consumed > f->sent)
        abort(); /* consumed more than was ever delivered */
}

static uint64_t tp_peer_max_streams_bidi(void *ctx)
{
    side *s = ctx;
    return s->h->opts.client_bidi_limit ? s->h->opts.client_bidi_limit : 100;
}

static void tp_close_connection(void *ctx, uint64_t code, const char *reason)
{
    side *s = ctx;
    (void)reason;
    if (s->h->conn_error < 0) {
        s->h->conn_error = (int64_t)code;
        push(s->h, EV_CONN_CLOSE, !s->index, 0, NULL, 0, false, code);
    }
}

/* ---- client callbacks recording into test_request ---- */

static void on_header(void *ctx, void *user, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen)
{
    (void)ctx;
    test_request *r = user;
    if (nlen == 12 && memcmp(name, "content-type", 12) == 0 && vlen < sizeof r->content_type) {
        memcpy(r->content_type, value, vlen);
        r->content_type[vlen] = '\0';
    } else if (nlen == 14 && memcmp(name, "content-length", 14) == 0) {
        char tmp[32] = {0};
        memcpy(tmp, value, vlen < 31 ? vlen : 31);
        r->content_length = atoll(tmp);
    } else if (nlen == 11 && memcmp(name, "retry-after", 11) == 0) {
        char tmp[32] = {0};
        memcpy(tmp, value, vlen < 31 ? vlen : 31);
        r->retry_after = atoll(tmp);
    }
}

static void on_response(void *ctx, void *user, int status)
{
    (void)ctx;
    test_request *r = user;
    r->got_response = true;
    r->status = status;
}

static void on_body(void *ctx, void *user, const uint8_t *data, size_t len)
{
    (void)ctx;
    test_request *r = user;
    r->body_bytes += len;
    gnutls_hash(r->hash, data, len);
}

static void on_complete(void *ctx, void *user, const tern_http_result *res)
{
    (void)ctx;
    test_request *r = user;
    if (r->completed)
        abort(); /* on_complete must come exactly once */
    r->completed = true;
    r->result = *res;
    gnutls_hash_deinit(r->hash, r->digest);
    r->hash = NULL;
}

static void on_file_error(void *ctx, uint64_t stream_id, const char *path, int err, int status)
{
    (void)stream_id, (void)path;
    harness *h = ctx;
    h->file_errno = err;
    h->file_status = status;
    h->file_errors++;
}

unsigned harness_file_errors(const harness *h, int *err, int *status)
{
    *err = h->file_errno;
    *status = h->file_status;
    return h->file_errors;
}

harness *harness_new(tern_app_proto proto, const char *root, const harness_options *opts)
{
    harness *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    if (opts)
        h->opts = *opts;
    h->conn_error = -1;
    for (int i = 0; i < 2; i++) {
        h->sides[i].h = h;
        h->sides[i].index = i;
    }
    tern_app_transport tp = {
        .open_stream = tp_open_stream,
        .write = tp_write,
        .reset_stream = tp_reset_stream,
        .stop_sending = tp_stop_sending,
        .consumed = tp_consumed,
        .peer_max_streams_bidi = tp_peer_max_streams_bidi,
        .close_connection = tp_close_connection,
    };
    tp.ctx = &h->sides[0];
    tp.is_server = false;
    tern_http_client_config ccfg = {
        .authority = "localhost:4433",
        .callbacks = {.on_header = on_header, .on_response = on_response, .on_body = on_body,
                      .on_complete = on_complete},
    };
    h->sides[0].app = tern_app_client_new(proto, &tp, &ccfg);
    tp.ctx = &h->sides[1];
    tp.is_server = true;
    tern_http_server_config scfg = {.root = root, .on_file_error = on_file_error, .ctx = h};
    h->sides[1].app = tern_app_server_new(proto, &tp, &scfg);
    if (!h->sides[0].app || !h->sides[1].app)
        abort();
    tern_app_start(h->sides[1].app);
    tern_app_start(h->sides[0].app);
    return h;
}

void harness_free(harness *h)
{
    while (h->head) {
        event *e = h->head;
        h->head = e->next;
        free(e->data);
        free(e);
    }
    tern_app_free(h->sides[0].app);
    tern_app_free(h->sides[1].app);
    free(h);
}

tern_app *harness_client(harness *h) { return h->sides[0].app; }
tern_app *harness_server(harness *h) { return h->sides[1].app; }
int64_t harness_conn_error(const harness *h) { return h->conn_error; }
void harness_raise_bidi_limit(harness *h, uint64_t limit)
{
    h->opts.client_bidi_limit = limit;
    tern_app_on_streams_available(h->sides[0].app);
}

void harness_client_send_raw(harness *h, uint64_t id, const uint8_t *data, size_t len)
{
    get_flow(h, 0, id)->sent += len;
    push(h, EV_DATA, 1, id, data, len, false, 0);
}

uint64_t harness_client_bidi_id(unsigned n) { return (uint64_t)n * 4; }

bool harness_credit_balanced(const harness *h)
{
    for (size_t i = 0; i < h->nflows; i++) {
        const flow *f = &h->flows[i];
        if (!f->reset && f->consumed != f->sent) {
            fprintf(stderr, "stream %llu from %s: sent %llu consumed %llu\n", (unsigned long long)f->id,
                    f->sender ? "server" : "client", (unsigned long long)f->sent,
                    (unsigned long long)f->consumed);
            return false;
        }
    }
    return true;
}

/* When the queue is empty, blocked writers whose window reopened get a
 * WRITABLE, as tern would raise TERN_EVENT_STREAM_WRITABLE. */
static bool queue_writable(harness *h)
{
    bool any = false;
    for (size_t i = 0; i < h->nflows; i++) {
        flow *f = &h->flows[i];
        if (!f->blocked || f->reset)
            continue;
        if (h->opts.stream_window && f->sent - f->consumed >= h->opts.stream_window)
            continue;
        f->blocked = false;
        push(h, EV_WRITABLE, f->sender, f->id, NULL, 0, false, 0);
        any = true;
    }
    return any;
}

bool harness_step(harness *h)
{
    if (!h->head && !queue_writable(h))
        return false;
    event *e = h->head;
    h->head = e->next;
    if (!h->head)
        h->tail = NULL;
    tern_app *app = h->sides[e->to].app;
    bool closed = h->conn_error >= 0 && e->type != EV_CONN_CLOSE;
    if (!closed) {
        switch (e->type) {
        case EV_DATA:
            tern_app_on_stream_data(app, e->stream_id, e->data, e->len, e->fin);
            break;
        case EV_RESET:
            tern_app_on_stream_reset(app, e->stream_id, e->code);
            break;
        case EV_STOP_SENDING:
            tern_app_on_stop_sending(app, e->stream_id, e->code);
            break;
        case EV_WRITABLE:
            tern_app_on_stream_writable(app, e->stream_id);
            break;
        case EV_CONN_CLOSE:
            tern_app_on_connection_closed(app, e->code);
            break;
        }
    }
    free(e->data);
    free(e);
    return true;
}

void harness_run(harness *h)
{
    while (harness_step(h))
        ;
}

void test_request_init(test_request *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->content_length = -1;
    r->retry_after = -1;
    if (gnutls_hash_init(&r->hash, GNUTLS_DIG_SHA256) != 0)
        abort();
}

int harness_request(harness *h, const char *method, test_request *r)
{
    return tern_app_client_request(h->sides[0].app, method, r->path, r);
}

char *make_temp_root(void)
{
    char tmpl[] = "/tmp/tern-app-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        abort();
    return strdup(dir);
}

void write_file(const char *root, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        abort();
}

void remove_temp_root(char *root)
{
    DIR *d = opendir(root);
    if (d) {
        struct dirent *de;
        char path[4096];
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", root, de->d_name);
            if (unlink(path) != 0)
                rmdir(path);
        }
        closedir(d);
    }
    rmdir(root);
    free(root);
}

void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (size_t i = 0; i < len; i++) {
        /* xorshift64: reproducible content without a libc RNG */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 32);
    }
}
