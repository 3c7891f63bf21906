#include "stream_map.h"

#include <stdlib.h>
#include <string.h>

#include "varint.h"

static unsigned dir_of(bool bidi) { return bidi ? 0 : 1; }
static unsigned dir_of_id(uint64_t id) { return tern_stream_id_is_uni(id) ? 1 : 0; }

static bool is_local_id(const tern_stream_map *map, uint64_t id)
{
    return tern_stream_id_is_server_initiated(id) == map->is_server;
}

/* ---- ID table: open addressing, linear probing, backward-shift delete ---- */

static size_t slot_for(const tern_stream_map *map, uint64_t id)
{
    /* Fibonacci hashing spreads the sequential IDs of a stream type. */
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 32) & (map->table_size - 1);
}

static tern_err table_grow(tern_stream_map *map)
{
    size_t size = map->table_size ? map->table_size * 2 : 16;
    tern_stream **table = calloc(size, sizeof *table);
    if (!table) return TERN_ERR_NOMEM;
    tern_stream **old = map->table;
    size_t old_size = map->table_size;
    map->table = table;
    map->table_size = size;
    for (size_t i = 0; i < old_size; i++) {
        if (!old[i]) continue;
        size_t j = slot_for(map, old[i]->id);
        while (table[j]) j = (j + 1) & (size - 1);
        table[j] = old[i];
    }
    free(old);
    return TERN_OK;
}

static tern_err table_insert(tern_stream_map *map, tern_stream *s)
{
    if ((map->count + 1) * 2 > map->table_size) {
        tern_err err = table_grow(map);
        if (err) return err;
    }
    size_t i = slot_for(map, s->id);
    while (map->table[i]) i = (i + 1) & (map->table_size - 1);
    map->table[i] = s;
    map->count++;
    return TERN_OK;
}

tern_stream *tern_stream_map_find(const tern_stream_map *map, uint64_t id)
{
    if (!map->table_size) return NULL;
    for (size_t i = slot_for(map, id);; i = (i + 1) & (map->table_size - 1)) {
        if (!map->table[i]) return NULL;
        if (map->table[i]->id == id) return map->table[i];
    }
}

static void table_remove(tern_stream_map *map, const tern_stream *s)
{
    size_t mask = map->table_size - 1;
    size_t hole = slot_for(map, s->id);
    while (map->table[hole] != s) hole = (hole + 1) & mask;
    map->table[hole] = NULL;
    map->count--;
    /* Shift back later entries whose probe sequence crosses the hole, so
     * lookups never stop early at it. */
    for (size_t j = (hole + 1) & mask; map->table[j]; j = (j + 1) & mask) {
        size_t home = slot_for(map, map->table[j]->id);
        bool home_in_gap = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (home_in_gap) continue;
        map->table[hole] = map->table[j];
        map->table[j] = NULL;
        hole = j;
    }
}

/* ---- life cycle ---------------------------------------------------------- */

static uint64_t window_ceiling(uint64_t configured, uint64_t initial)
{
    return configured > initial ? configured : initial;
}

tern_err tern_stream_map_init(tern_stream_map *map, bool is_server, const tern_stream_map_config *config,
                              tern_time now)
{
    memset(map, 0, sizeof *map);
    if (config->max_streams_bidi > TERN_MAX_STREAMS_LIMIT || config->max_streams_uni > TERN_MAX_STREAMS_LIMIT)
        return TERN_ERR_INVALID_ARGUMENT;
    map->is_server = is_server;
    map->config = *config;
    tern_flow_send_init(&map->conn_send, 0);
    tern_flow_recv_init(&map->conn_recv, config->max_data, window_ceiling(config->max_connection_window, config->max_data),
                        now);
    for (unsigned d = 0; d < 2; d++) {
        map->local[d].blocked_reported = UINT64_MAX;
        map->remote[d].limit = d == 0 ? config->max_streams_bidi : config->max_streams_uni;
    }
    return TERN_OK;
}

static void destroy_stream(tern_stream *s)
{
    tern_stream_free(s);
    free(s);
}

void tern_stream_map_free(tern_stream_map *map)
{
    for (size_t i = 0; i < map->table_size; i++)
        if (map->table[i]) destroy_stream(map->table[i]);
    free(map->table);
    memset(map, 0, sizeof *map);
}

/* Initial send limit and receive window of a stream, from both sides'
 * transport parameters (RFC 9000 §18.2: "local" = opened by the endpoint
 * that sent the parameter). */
static void params_for(const tern_stream_map *map, uint64_t id, tern_stream_params *p)
{
    bool local = is_local_id(map, id), uni = tern_stream_id_is_uni(id);
    p->has_send = !uni || local;
    p->has_recv = !uni || !local;
    if (uni) {
        p->send_limit = local ? map->peer.max_stream_data_uni : 0;
        p->recv_window = local ? 0 : map->config.max_stream_data_uni;
    } else {
        p->send_limit = local ? map->peer.max_stream_data_bidi_remote : map->peer.max_stream_data_bidi_local;
        p->recv_window = local ? map->config.max_stream_data_bidi_local : map->config.max_stream_data_bidi_remote;
    }
    p->recv_window_max = window_ceiling(map->config.max_stream_window, p->recv_window);
}

tern_err tern_stream_map_set_peer_params(tern_stream_map *map, const tern_stream_map_peer_params *peer)
{
    if (peer->max_streams_bidi > TERN_MAX_STREAMS_LIMIT || peer->max_streams_uni > TERN_MAX_STREAMS_LIMIT)
        return TERN_TRANSPORT_PARAMETER_ERROR;
    map->peer = *peer;
    tern_flow_send_raise_limit(&map->conn_send, peer->max_data);
    if (peer->max_streams_bidi > map->local[0].limit) map->local[0].limit = peer->max_streams_bidi;
    if (peer->max_streams_uni > map->local[1].limit) map->local[1].limit = peer->max_streams_uni;
    for (size_t i = 0; i < map->table_size; i++) {
        tern_stream *s = map->table[i];
        if (!s || s->send_state == TERN_SEND_NONE) continue;
        tern_stream_params p;
        params_for(map, s->id, &p);
        if (tern_flow_send_raise_limit(&s->send_flow, p.send_limit)) tern_stream_reschedule(s);
    }
    return TERN_OK;
}

tern_err tern_stream_map_replace_peer_params(tern_stream_map *map, const tern_stream_map_peer_params *peer)
{
    if (peer->max_streams_bidi > TERN_MAX_STREAMS_LIMIT || peer->max_streams_uni > TERN_MAX_STREAMS_LIMIT)
        return TERN_TRANSPORT_PARAMETER_ERROR;
    if (map->local[0].opened > peer->max_streams_bidi || map->local[1].opened > peer->max_streams_uni ||
        map->conn_send.used > peer->max_data)
        return TERN_ERR_UNSUPPORTED;
    for (size_t i = 0; i < map->table_size; i++) {
        tern_stream *s = map->table[i];
        if (!s || s->send_state == TERN_SEND_NONE) continue;
        tern_stream_map_peer_params saved = map->peer;
        tern_stream_params p;
        map->peer = *peer;
        params_for(map, s->id, &p);
        map->peer = saved;
        if (s->send_flow.used > p.send_limit) return TERN_ERR_UNSUPPORTED;
    }
    map->peer = *peer;
    map->conn_send.limit = peer->max_data;
    map->local[0].limit = peer->max_streams_bidi;
    map->local[1].limit = peer->max_streams_uni;
    for (size_t i = 0; i < map->table_size; i++) {
        tern_stream *s = map->table[i];
        if (!s || s->send_state == TERN_SEND_NONE) continue;
        tern_stream_params p;
        params_for(map, s->id, &p);
        s->send_flow.limit = p.send_limit;
        tern_stream_reschedule(s);
    }
    return TERN_OK;
}

static tern_err create_stream(tern_stream_map *map, uint64_t id, tern_time now, tern_stream **out)
{
    tern_stream *s = malloc(sizeof *s);
    if (!s) return TERN_ERR_NOMEM;
    tern_stream_params p;
    params_for(map, id, &p);
    tern_stream_init(s, id, &p, &map->sched, now);
    tern_err err = table_insert(map, s);
    if (err) {
        destroy_stream(s);
        return err;
    }
    *out = s;
    return TERN_OK;
}

static uint64_t make_id(uint64_t index, bool server_initiated, unsigned dir)
{
    return index << 2 | (dir ? TERN_STREAM_ID_UNI_BIT : 0) | (server_initiated ? TERN_STREAM_ID_SERVER_BIT : 0);
}

tern_err tern_stream_map_open(tern_stream_map *map, bool bidi, tern_time now, tern_stream **out)
{
    tern_local_streams *local = &map->local[dir_of(bidi)];
    *out = NULL;
    if (local->opened >= local->limit) {
        /* §4.6: SHOULD send STREAMS_BLOCKED; once per limit value. */
        if (local->blocked_reported != local->limit) local->blocked_pending = true;
        return TERN_STREAM_LIMIT_ERROR;
    }
    tern_err err = create_stream(map, make_id(local->opened, map->is_server, dir_of(bidi)), now, out);
    if (err) return err;
    local->opened++;
    return TERN_OK;
}

tern_stream *tern_stream_map_accept(tern_stream_map *map)
{
    tern_stream *s = map->accept_head;
    if (!s) return NULL;
    map->accept_head = s->accept_next;
    if (!map->accept_head) map->accept_tail = NULL;
    s->accept_next = NULL;
    return s;
}

static void accept_queue_push(tern_stream_map *map, tern_stream *s)
{
    s->accept_next = NULL;
    if (map->accept_tail) map->accept_tail->accept_next = s;
    else map->accept_head = s;
    map->accept_tail = s;
}

static void accept_queue_remove(tern_stream_map *map, tern_stream *s)
{
    tern_stream *prev = NULL;
    for (tern_stream *it = map->accept_head; it; prev = it, it = it->accept_next) {
        if (it != s) continue;
        if (prev) prev->accept_next = it->accept_next;
        else map->accept_head = it->accept_next;
        if (map->accept_tail == it) map->accept_tail = prev;
        return;
    }
}

/* ---- frame dispatch ------------------------------------------------------ */

/* Which part of the stream a received frame addresses: the peer's sending
 * part (our receiving part: STREAM, RESET_STREAM, STREAM_DATA_BLOCKED) or
 * our sending part (MAX_STREAM_DATA, STOP_SENDING). */
typedef enum { FRAME_FOR_RECV_PART, FRAME_FOR_SEND_PART } frame_target;

/* Resolves the stream a frame refers to, opening peer streams as needed.
 * *out is NULL (and the result TERN_OK) for streams closed and freed. */
static tern_err stream_for_frame(tern_stream_map *map, uint64_t id, frame_target target, tern_time now,
                                 tern_stream **out)
{
    *out = NULL;
    if (id > TERN_VARINT_MAX) return TERN_FRAME_ENCODING_ERROR;
    bool local = is_local_id(map, id);
    unsigned dir = dir_of_id(id);
    /* §19.4, §19.5, §19.8, §19.10, §19.13: our unidirectional streams are
     * send-only, the peer's receive-only. */
    if (dir == 1 && local && target == FRAME_FOR_RECV_PART) return TERN_STREAM_STATE_ERROR;
    if (dir == 1 && !local && target == FRAME_FOR_SEND_PART) return TERN_STREAM_STATE_ERROR;
    uint64_t index = id >> 2;
    if (local) {
        /* §19.5, §19.8, §19.10: a frame for our stream not yet created. */
        if (index >= map->local[dir].opened) return TERN_STREAM_STATE_ERROR;
        *out = tern_stream_map_find(map, id);
        return TERN_OK;
    }
    tern_remote_streams *remote = &map->remote[dir];
    if (index >= remote->limit) return TERN_STREAM_LIMIT_ERROR; /* §4.6 */
    if (index < remote->opened) {
        *out = tern_stream_map_find(map, id);
        return TERN_OK;
    }
    /* §3.2: opening a stream implicitly opens every lower-numbered stream
     * of the same type, in order, so the application sees them in order. */
    while (remote->opened <= index) {
        tern_stream *s;
        tern_err err = create_stream(map, make_id(remote->opened, !map->is_server, dir), now, &s);
        if (err) return err;
        remote->opened++;
        accept_queue_push(map, s);
        *out = s;
    }
    return TERN_OK;
}

tern_err tern_stream_map_on_stream(tern_stream_map *map, uint64_t id, uint64_t offset, const uint8_t *data,
                                   size_t len, bool fin, tern_time now)
{
    tern_stream *s;
    tern_err err = stream_for_frame(map, id, FRAME_FOR_RECV_PART, now, &s);
    if (err || !s) return err;
    return tern_stream_on_stream_frame(s, &map->conn_recv, offset, data, len, fin);
}

tern_err tern_stream_map_on_reset_stream(tern_stream_map *map, uint64_t id, uint64_t error_code,
                                         uint64_t final_size, tern_time now)
{
    tern_stream *s;
    tern_err err = stream_for_frame(map, id, FRAME_FOR_RECV_PART, now, &s);
    if (err || !s) return err;
    return tern_stream_on_reset_stream(s, &map->conn_recv, error_code, final_size);
}

tern_err tern_stream_map_on_stop_sending(tern_stream_map *map, uint64_t id, uint64_t error_code, tern_time now)
{
    tern_stream *s;
    tern_err err = stream_for_frame(map, id, FRAME_FOR_SEND_PART, now, &s);
    if (err || !s) return err;
    return tern_stream_on_stop_sending(s, error_code);
}

tern_err tern_stream_map_on_max_stream_data(tern_stream_map *map, uint64_t id, uint64_t limit, tern_time now)
{
    tern_stream *s;
    tern_err err = stream_for_frame(map, id, FRAME_FOR_SEND_PART, now, &s);
    if (err || !s) return err;
    return tern_stream_on_max_stream_data(s, limit);
}

tern_err tern_stream_map_on_stream_data_blocked(tern_stream_map *map, uint64_t id, uint64_t limit, tern_time now)
{
    tern_stream *s;
    tern_err err = stream_for_frame(map, id, FRAME_FOR_RECV_PART, now, &s);
    if (err || !s) return err;
    return tern_stream_on_stream_data_blocked(s, limit);
}

tern_err tern_stream_map_on_max_streams(tern_stream_map *map, bool bidi, uint64_t limit)
{
    if (limit > TERN_MAX_STREAMS_LIMIT) return TERN_FRAME_ENCODING_ERROR; /* §19.11 */
    tern_local_streams *local = &map->local[dir_of(bidi)];
    if (limit > local->limit) { /* smaller values are ignored (§4.6) */
        local->limit = limit;
        local->blocked_pending = false;
    }
    return TERN_OK;
}

static uint64_t max_streams_target(const tern_stream_map *map, unsigned dir)
{
    uint64_t window = dir == 0 ? map->config.max_streams_bidi : map->config.max_streams_uni;
    uint64_t target = map->remote[dir].closed + window;
    return target > TERN_MAX_STREAMS_LIMIT ? TERN_MAX_STREAMS_LIMIT : target;
}

tern_err tern_stream_map_on_streams_blocked(tern_stream_map *map, bool bidi, uint64_t limit)
{
    if (limit > TERN_MAX_STREAMS_LIMIT) return TERN_FRAME_ENCODING_ERROR; /* §19.14 */
    unsigned dir = dir_of(bidi);
    /* The peer is stuck: give whatever closures allow right away. */
    if (max_streams_target(map, dir) > map->remote[dir].limit) map->remote[dir].update_pending = true;
    return TERN_OK;
}

void tern_stream_map_on_max_data(tern_stream_map *map, uint64_t limit)
{
    (void)tern_flow_send_raise_limit(&map->conn_send, limit);
}

/* ---- packetizer ---------------------------------------------------------- */

tern_stream *tern_stream_map_next_ready(tern_stream_map *map)
{
    tern_stream_queue *ready = &map->sched.ready;
    tern_stream *s = ready->head;
    if (s && ready->count > 1) {
        tern_stream_queue_remove(ready, s);
        tern_stream_queue_push(ready, s);
    }
    return s;
}

bool tern_stream_map_max_streams_pending(const tern_stream_map *map, bool bidi)
{
    return map->remote[dir_of(bidi)].update_pending;
}

uint64_t tern_stream_map_take_max_streams(tern_stream_map *map, bool bidi)
{
    tern_remote_streams *remote = &map->remote[dir_of(bidi)];
    uint64_t target = max_streams_target(map, dir_of(bidi));
    if (target > remote->limit) remote->limit = target;
    remote->update_pending = false;
    return remote->limit;
}

void tern_stream_map_on_max_streams_lost(tern_stream_map *map, bool bidi, uint64_t limit)
{
    tern_remote_streams *remote = &map->remote[dir_of(bidi)];
    if (limit == remote->limit) remote->update_pending = true; /* else superseded */
}

bool tern_stream_map_streams_blocked_pending(const tern_stream_map *map, bool bidi)
{
    return map->local[dir_of(bidi)].blocked_pending;
}

uint64_t tern_stream_map_take_streams_blocked(tern_stream_map *map, bool bidi)
{
    tern_local_streams *local = &map->local[dir_of(bidi)];
    local->blocked_pending = false;
    local->blocked_reported = local->limit;
    return local->limit;
}

void tern_stream_map_on_streams_blocked_lost(tern_stream_map *map, bool bidi, uint64_t limit)
{
    tern_local_streams *local = &map->local[dir_of(bidi)];
    if (limit == local->limit && local->opened >= local->limit) local->blocked_pending = true;
}

/* ---- cleanup ------------------------------------------------------------- */

static void peer_stream_closed(tern_stream_map *map, unsigned dir)
{
    tern_remote_streams *remote = &map->remote[dir];
    remote->closed++;
    /* Keep the peer's allowance near its initial value (§4.6), advertising
     * once half of it has been freed, rather than one frame per stream. */
    uint64_t window = dir == 0 ? map->config.max_streams_bidi : map->config.max_streams_uni;
    uint64_t step = window / 2 ? window / 2 : 1;
    if (max_streams_target(map, dir) >= remote->limit + step) remote->update_pending = true;
}

void tern_stream_map_release(tern_stream_map *map, tern_stream *s)
{
    s->app_closed = true;
    if (s->credited) { /* closed and kept only for the application: free now */
        s->closed_next = map->sched.closed;
        map->sched.closed = s;
    }
}

void tern_stream_map_collect(tern_stream_map *map)
{
    while (map->sched.closed) {
        tern_stream *s = map->sched.closed;
        map->sched.closed = s->closed_next;
        s->closed_next = NULL;
        if (!s->credited) {
            s->credited = true;
            if (s->in_ready) tern_stream_queue_remove(&map->sched.ready, s);
            s->in_ready = false;
            if (!is_local_id(map, s->id)) {
                accept_queue_remove(map, s);
                peer_stream_closed(map, dir_of_id(s->id));
            }
        }
        /* The application read the FIN: end of stream stays readable until
         * it closes the stream (tern_conn_stream_close). in_closed stays
         * set, so the stream is not filed again; tern_stream_map_release
         * frees it. */
        if (s->end_seen && !s->app_closed) continue;
        table_remove(map, s);
        destroy_stream(s);
    }
}
