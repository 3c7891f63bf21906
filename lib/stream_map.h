/* The streams of one connection (RFC 9000 §2-4): stream ID allocation and
 * semantics (§2.1), stream limits and MAX_STREAMS/STREAMS_BLOCKED (§4.6),
 * implicit opening of peer streams (§3.2), frame dispatch with the
 * direction checks of §19.4-19.13, connection-level flow control, the ready
 * queue the packetizer walks, and cleanup of closed streams.
 *
 * Typical use by the connection engine:
 *   - received frames: tern_stream_map_on_stream(...) etc.; a non-zero
 *     result below TERN_ERR_LOCAL_BASE is the CONNECTION_CLOSE error code;
 *   - application: tern_stream_map_open / tern_stream_map_accept, then the
 *     tern_stream_* calls with &map->conn_recv where a conn argument is
 *     asked for;
 *   - packetizer: tern_stream_map_next_ready, at most
 *     tern_stream_map_ready_count times per packet, then
 *     tern_stream_pending_frames / tern_stream_next_data with
 *     &map->conn_send; plus the map-level frames (MAX_STREAMS,
 *     STREAMS_BLOCKED) and, via flow_control.h on map->conn_recv /
 *     map->conn_send, MAX_DATA and DATA_BLOCKED;
 *   - after processing a packet: tern_stream_map_collect frees closed
 *     streams (pointers to them become invalid). */
#ifndef TERN_STREAM_MAP_H
#define TERN_STREAM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow_control.h"
#include "stream.h"
#include "tern/error.h"
#include "tern/types.h"

/* RFC 9000 §4.6: a stream count above 2^60 cannot be expressed as an ID. */
#define TERN_MAX_STREAMS_LIMIT ((uint64_t)1 << 60)

/* Our side: the transport parameters we advertise (RFC 9000 §18.2). */
typedef struct tern_stream_map_config {
    uint64_t max_streams_bidi;            /* initial_max_streams_bidi; kept available as streams close */
    uint64_t max_streams_uni;             /* initial_max_streams_uni */
    uint64_t max_stream_data_bidi_local;  /* receive window on bidi streams we open */
    uint64_t max_stream_data_bidi_remote; /* receive window on bidi streams the peer opens */
    uint64_t max_stream_data_uni;         /* receive window on uni streams the peer opens */
    uint64_t max_data;                    /* connection receive window */
    uint64_t max_stream_window;           /* auto-tuning ceiling per stream (0: no tuning) */
    uint64_t max_connection_window;       /* auto-tuning ceiling for the connection (0: no tuning) */
} tern_stream_map_config;

/* The peer's transport parameters (same meaning, from the peer's view). */
typedef struct tern_stream_map_peer_params {
    uint64_t max_streams_bidi;
    uint64_t max_streams_uni;
    uint64_t max_stream_data_bidi_local;  /* limit on bidi streams the peer opens */
    uint64_t max_stream_data_bidi_remote; /* limit on bidi streams we open */
    uint64_t max_stream_data_uni;         /* limit on uni streams we open */
    uint64_t max_data;
} tern_stream_map_peer_params;

/* Per stream type, indexed by direction: [0] bidirectional, [1] unidirectional. */
typedef struct tern_local_streams {
    uint64_t opened;           /* streams we opened (next index) */
    uint64_t limit;            /* peer's MAX_STREAMS */
    uint64_t blocked_reported; /* limit of the last STREAMS_BLOCKED taken; UINT64_MAX none */
    bool blocked_pending;
} tern_local_streams;

typedef struct tern_remote_streams {
    uint64_t opened;          /* peer streams opened, explicitly or implicitly */
    uint64_t closed;          /* of which closed and freed */
    uint64_t limit;           /* MAX_STREAMS we advertised */
    bool update_pending;      /* MAX_STREAMS to send */
} tern_remote_streams;

typedef struct tern_stream_map {
    bool is_server;
    tern_stream_map_config config;
    tern_stream_map_peer_params peer;
    tern_flow_send conn_send; /* peer's MAX_DATA */
    tern_flow_recv conn_recv; /* our MAX_DATA */
    tern_stream_sched sched;
    tern_local_streams local[2];
    tern_remote_streams remote[2];
    tern_stream *accept_head, *accept_tail; /* new peer streams, oldest first */
    tern_stream **table;      /* open addressing by stream ID */
    size_t table_size;        /* power of two */
    size_t count;
} tern_stream_map;

/* Peer parameters start at zero (nothing may be sent) until
 * tern_stream_map_set_peer_params. */
tern_err tern_stream_map_init(tern_stream_map *map, bool is_server, const tern_stream_map_config *config,
                              tern_time now);
void tern_stream_map_free(tern_stream_map *map);

/* Applies the peer's transport parameters (also raises limits of streams
 * already open, e.g. after 0-RTT with remembered parameters). Stream counts
 * above 2^60: TRANSPORT_PARAMETER_ERROR (§4.6). */
tern_err tern_stream_map_set_peer_params(tern_stream_map *map, const tern_stream_map_peer_params *peer);

/* Client, 0-RTT rejected (RFC 9001 §4.6.2): the server's 1-RTT parameters
 * replace the remembered ones, smaller values included. What 0-RTT already
 * used (streams opened, flow-control credit) must fit the new limits:
 * TERN_ERR_UNSUPPORTED when it does not (nothing changed then). */
tern_err tern_stream_map_replace_peer_params(tern_stream_map *map, const tern_stream_map_peer_params *peer);

/* Opens our next stream. TERN_STREAM_LIMIT_ERROR (a local result here, not
 * sent) when the peer's MAX_STREAMS forbids it; a STREAMS_BLOCKED frame is
 * then scheduled. */
tern_err tern_stream_map_open(tern_stream_map *map, bool bidi, tern_time now, tern_stream **out);

/* Next peer-initiated stream the application has not seen yet, or NULL. */
tern_stream *tern_stream_map_accept(tern_stream_map *map);

/* Stream by ID, or NULL (never opened, or closed and freed). */
tern_stream *tern_stream_map_find(const tern_stream_map *map, uint64_t id);

static inline size_t tern_stream_map_count(const tern_stream_map *map) { return map->count; }

/* ---- received frames (RFC 9000 §19.4-19.14) ------------------------------
 * Frames for streams already closed and freed are ignored. Errors:
 * STREAM_STATE_ERROR (wrong direction, or our stream not opened yet),
 * STREAM_LIMIT_ERROR (peer stream beyond our MAX_STREAMS), and the
 * per-stream errors of stream.h. */
tern_err tern_stream_map_on_stream(tern_stream_map *map, uint64_t id, uint64_t offset, const uint8_t *data,
                                   size_t len, bool fin, tern_time now);
tern_err tern_stream_map_on_reset_stream(tern_stream_map *map, uint64_t id, uint64_t error_code,
                                         uint64_t final_size, tern_time now);
tern_err tern_stream_map_on_stop_sending(tern_stream_map *map, uint64_t id, uint64_t error_code, tern_time now);
tern_err tern_stream_map_on_max_stream_data(tern_stream_map *map, uint64_t id, uint64_t limit, tern_time now);
tern_err tern_stream_map_on_stream_data_blocked(tern_stream_map *map, uint64_t id, uint64_t limit, tern_time now);
/* MAX_STREAMS / STREAMS_BLOCKED: values above 2^60 -> FRAME_ENCODING_ERROR. */
tern_err tern_stream_map_on_max_streams(tern_stream_map *map, bool bidi, uint64_t limit);
tern_err tern_stream_map_on_streams_blocked(tern_stream_map *map, bool bidi, uint64_t limit);
/* MAX_DATA: raises the connection send limit. */
void tern_stream_map_on_max_data(tern_stream_map *map, uint64_t limit);

/* ---- packetizer ---------------------------------------------------------- */

/* Streams with something to send, round robin: returns the head and moves
 * it to the tail. NULL when none. A stream whose only data waits for
 * connection credit stays queued, so call at most ready_count times per
 * packet. */
tern_stream *tern_stream_map_next_ready(tern_stream_map *map);
static inline size_t tern_stream_map_ready_count(const tern_stream_map *map) { return map->sched.ready.count; }

/* MAX_STREAMS we owe the peer (kept at closed + initial limit, sent once
 * half of that window has been used up by closures, or when the peer says
 * it is blocked). */
bool tern_stream_map_max_streams_pending(const tern_stream_map *map, bool bidi);
uint64_t tern_stream_map_take_max_streams(tern_stream_map *map, bool bidi);
void tern_stream_map_on_max_streams_lost(tern_stream_map *map, bool bidi, uint64_t limit);

/* STREAMS_BLOCKED we owe the peer (once per limit value). */
bool tern_stream_map_streams_blocked_pending(const tern_stream_map *map, bool bidi);
uint64_t tern_stream_map_take_streams_blocked(tern_stream_map *map, bool bidi);
void tern_stream_map_on_streams_blocked_lost(tern_stream_map *map, bool bidi, uint64_t limit);

/* The application is done with s (tern_conn_stream_close): a closed
 * stream kept because its FIN was read goes back to the closed list, to be
 * freed by the next tern_stream_map_collect; any other is freed once
 * closed. */
void tern_stream_map_release(tern_stream_map *map, tern_stream *s);

/* Frees every closed stream, except those whose FIN the application read
 * and which it has not released yet (their MAX_STREAMS credit is given
 * anyway); peer stream closures feed MAX_STREAMS. */
void tern_stream_map_collect(tern_stream_map *map);

#endif
