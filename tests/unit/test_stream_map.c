/* lib/stream_map: stream IDs (RFC 9000 §2.1), limits (§4.6), implicit open
 * (§3.2), wrong-direction frames (§19.4-19.13), MAX_STREAMS and
 * STREAMS_BLOCKED, ready queue, cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stream_map.h"

static uint8_t data[2048];

static const tern_stream_map_config default_config = {
    .max_streams_bidi = 4,
    .max_streams_uni = 2,
    .max_stream_data_bidi_local = 1000,
    .max_stream_data_bidi_remote = 2000,
    .max_stream_data_uni = 3000,
    .max_data = 100000,
    .max_stream_window = 0,
    .max_connection_window = 0,
};

static const tern_stream_map_peer_params default_peer = {
    .max_streams_bidi = 3,
    .max_streams_uni = 1,
    .max_stream_data_bidi_local = 4000,
    .max_stream_data_bidi_remote = 5000,
    .max_stream_data_uni = 6000,
    .max_data = 50000,
};

static void map_init(tern_stream_map *map, bool is_server)
{
    assert_int_equal(tern_stream_map_init(map, is_server, &default_config, 0), TERN_OK);
    assert_int_equal(tern_stream_map_set_peer_params(map, &default_peer), TERN_OK);
}

static void test_local_ids_and_params(void **state)
{
    (void)state;
    tern_stream_map client, server;
    map_init(&client, false);
    map_init(&server, true);
    tern_stream *s;
    const uint64_t want_client_bidi[] = {0, 4, 8}, want_server_bidi[] = {1, 5, 9};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tern_stream_map_open(&client, true, 0, &s), TERN_OK);
        assert_int_equal(s->id, want_client_bidi[i]);
        assert_true(tern_stream_map_find(&client, s->id) == s);
        /* our bidi stream: peer's bidi_remote limit, our bidi_local window */
        assert_int_equal(s->send_flow.limit, 5000);
        assert_int_equal(s->recv_flow.limit, 1000);
        assert_int_equal(tern_stream_map_open(&server, true, 0, &s), TERN_OK);
        assert_int_equal(s->id, want_server_bidi[i]);
    }
    assert_int_equal(tern_stream_map_open(&client, false, 0, &s), TERN_OK);
    assert_int_equal(s->id, 2);
    assert_int_equal(s->send_flow.limit, 6000);
    assert_int_equal(s->recv_state, TERN_RECV_NONE);
    assert_int_equal(tern_stream_map_open(&server, false, 0, &s), TERN_OK);
    assert_int_equal(s->id, 3);
    assert_int_equal(tern_stream_map_count(&client), 4);
    assert_null(tern_stream_map_find(&client, 12));
    tern_stream_map_free(&client);
    tern_stream_map_free(&server);
}

static void test_local_limit_and_streams_blocked(void **state)
{
    (void)state;
    tern_stream_map map;
    map_init(&map, false);
    tern_stream *s;
    assert_int_equal(tern_stream_map_open(&map, false, 0, &s), TERN_OK);
    assert_int_equal(tern_stream_map_open(&map, false, 0, &s), TERN_STREAM_LIMIT_ERROR);
    assert_null(s);
    assert_true(tern_stream_map_streams_blocked_pending(&map, false));
    assert_false(tern_stream_map_streams_blocked_pending(&map, true));
    assert_int_equal(tern_stream_map_take_streams_blocked(&map, false), 1);
    assert_int_equal(tern_stream_map_open(&map, false, 0, &s), TERN_STREAM_LIMIT_ERROR);
    assert_false(tern_stream_map_streams_blocked_pending(&map, false)); /* once per limit */
    tern_stream_map_on_streams_blocked_lost(&map, false, 1);
    assert_true(tern_stream_map_streams_blocked_pending(&map, false));
    assert_int_equal(tern_stream_map_take_streams_blocked(&map, false), 1);
    /* MAX_STREAMS: smaller ignored, larger raises, > 2^60 is an error */
    assert_int_equal(tern_stream_map_on_max_streams(&map, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_on_max_streams(&map, false, TERN_MAX_STREAMS_LIMIT + 1),
                     TERN_FRAME_ENCODING_ERROR);
    assert_int_equal(tern_stream_map_on_max_streams(&map, false, 2), TERN_OK);
    tern_stream_map_on_streams_blocked_lost(&map, false, 1); /* stale */
    assert_false(tern_stream_map_streams_blocked_pending(&map, false));
    assert_int_equal(tern_stream_map_open(&map, false, 0, &s), TERN_OK);
    assert_int_equal(s->id, 6);
    assert_int_equal(tern_stream_map_open(&map, false, 0, &s), TERN_STREAM_LIMIT_ERROR);
    assert_true(tern_stream_map_streams_blocked_pending(&map, false)); /* new limit value */
    assert_int_equal(tern_stream_map_take_streams_blocked(&map, false), 2);
    tern_stream_map_free(&map);
}

static void test_implicit_open_and_accept(void **state)
{
    (void)state;
    tern_stream_map map;
    map_init(&map, true); /* server: peer (client) bidi streams are 0, 4, 8, ... */
    assert_int_equal(tern_stream_map_on_stream(&map, 8, 0, data, 10, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_count(&map), 3);
    tern_stream *s = tern_stream_map_find(&map, 4);
    assert_non_null(s);
    assert_int_equal(s->recv_state, TERN_RECV_RECV);
    /* peer bidi: peer's bidi_local limit, our bidi_remote window */
    assert_int_equal(s->send_flow.limit, 4000);
    assert_int_equal(s->recv_flow.limit, 2000);
    assert_int_equal(tern_stream_map_accept(&map)->id, 0);
    assert_int_equal(tern_stream_map_accept(&map)->id, 4);
    s = tern_stream_map_accept(&map);
    assert_int_equal(s->id, 8);
    assert_int_equal(tern_recv_buffer_readable(&s->recv), 10);
    assert_null(tern_stream_map_accept(&map));
    /* frames on a lower, already open stream do not reopen anything */
    assert_int_equal(tern_stream_map_on_stream(&map, 4, 0, data, 5, false, 0), TERN_OK);
    assert_null(tern_stream_map_accept(&map));
    /* peer uni (client uni: 2, 6): receive-only, our uni window */
    assert_int_equal(tern_stream_map_on_stream_data_blocked(&map, 2, 0, 0), TERN_OK);
    s = tern_stream_map_accept(&map);
    assert_int_equal(s->id, 2);
    assert_int_equal(s->send_state, TERN_SEND_NONE);
    assert_int_equal(s->recv_flow.limit, 3000);
    tern_stream_map_free(&map);
}

static void test_peer_stream_limit(void **state)
{
    (void)state;
    tern_stream_map map;
    map_init(&map, true);
    /* we allow 4 bidi (0..12) and 2 uni (2, 6) client streams */
    assert_int_equal(tern_stream_map_on_stream(&map, 12, 0, data, 1, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_on_stream(&map, 16, 0, data, 1, false, 0), TERN_STREAM_LIMIT_ERROR);
    assert_int_equal(tern_stream_map_on_reset_stream(&map, 16, 0, 0, 0), TERN_STREAM_LIMIT_ERROR);
    assert_int_equal(tern_stream_map_on_max_stream_data(&map, 20, 10, 0), TERN_STREAM_LIMIT_ERROR);
    assert_int_equal(tern_stream_map_on_stop_sending(&map, 16, 0, 0), TERN_STREAM_LIMIT_ERROR);
    assert_int_equal(tern_stream_map_on_stream(&map, 6, 0, data, 1, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_on_stream(&map, 10, 0, data, 1, false, 0), TERN_STREAM_LIMIT_ERROR);
    assert_int_equal(tern_stream_map_count(&map), 6);
    tern_stream_map_free(&map);
}

static void test_wrong_direction(void **state)
{
    (void)state;
    tern_stream_map map;
    map_init(&map, true);
    tern_stream *ours;
    assert_int_equal(tern_stream_map_open(&map, false, 0, &ours), TERN_OK); /* id 3, send-only */
    assert_int_equal(ours->id, 3);
    /* frames only a sender sends, on our send-only stream (§19.4, §19.8, §19.13) */
    assert_int_equal(tern_stream_map_on_stream(&map, 3, 0, data, 1, false, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_map_on_reset_stream(&map, 3, 0, 0, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_map_on_stream_data_blocked(&map, 3, 0, 0), TERN_STREAM_STATE_ERROR);
    /* ... which may get frames only a receiver sends */
    assert_int_equal(tern_stream_map_on_max_stream_data(&map, 3, 9000, 0), TERN_OK);
    assert_int_equal(ours->send_flow.limit, 9000);
    /* frames only a receiver sends, on the peer's send-only stream (§19.5, §19.10) */
    assert_int_equal(tern_stream_map_on_max_stream_data(&map, 2, 10, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_map_on_stop_sending(&map, 2, 0, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_map_count(&map), 1); /* nothing opened by those */
    /* our streams not yet opened (§19.5, §19.8, §19.10) */
    assert_int_equal(tern_stream_map_on_stream(&map, 1, 0, data, 1, false, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_map_on_max_stream_data(&map, 1, 10, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_map_on_stop_sending(&map, 7, 0, 0), TERN_STREAM_STATE_ERROR);
    assert_int_equal(tern_stream_map_on_reset_stream(&map, 5, 0, 0, 0), TERN_STREAM_STATE_ERROR);
    /* STOP_SENDING on our stream: reset with the peer's code (§3.5) */
    assert_int_equal(tern_stream_map_on_stop_sending(&map, 3, 0x10, 0), TERN_OK);
    assert_int_equal(ours->send_state, TERN_SEND_RESET_SENT);
    assert_int_equal(ours->reset_error, 0x10);
    tern_stream_map_free(&map);
}

static void test_connection_flow_control_across_streams(void **state)
{
    (void)state;
    tern_stream_map_config config = default_config;
    config.max_data = 2500;
    tern_stream_map map;
    assert_int_equal(tern_stream_map_init(&map, true, &config, 0), TERN_OK);
    assert_int_equal(tern_stream_map_on_stream(&map, 0, 0, data, 2000, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_on_stream(&map, 4, 0, data, 500, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_on_stream(&map, 8, 0, data, 1, false, 0), TERN_FLOW_CONTROL_ERROR);
    assert_int_equal(map.conn_recv.highest, 2500);
    /* reading returns connection credit; MAX_DATA at half the window */
    tern_stream *s = tern_stream_map_find(&map, 0);
    uint8_t out[2000];
    bool fin;
    assert_int_equal(tern_stream_read(s, &map.conn_recv, out, sizeof out, &fin), 2000);
    assert_true(tern_flow_recv_update_pending(&map.conn_recv));
    assert_int_equal(tern_flow_recv_take_update(&map.conn_recv, 1, 0), 4500);
    tern_stream_map_free(&map);
}

static void test_send_credit_across_streams(void **state)
{
    (void)state;
    tern_stream_map_peer_params peer = default_peer;
    peer.max_data = 1500;
    tern_stream_map map;
    assert_int_equal(tern_stream_map_init(&map, false, &default_config, 0), TERN_OK);
    assert_int_equal(tern_stream_map_set_peer_params(&map, &peer), TERN_OK);
    tern_stream *a, *b;
    assert_int_equal(tern_stream_map_open(&map, true, 0, &a), TERN_OK);
    assert_int_equal(tern_stream_map_open(&map, true, 0, &b), TERN_OK);
    assert_int_equal(tern_stream_write(a, data, 1000, false), TERN_OK);
    assert_int_equal(tern_stream_write(b, data, 1000, false), TERN_OK);
    tern_send_range r;
    assert_true(tern_stream_next_data(a, &map.conn_send, 2000, &r));
    assert_int_equal(r.len, 1000);
    assert_true(tern_stream_next_data(b, &map.conn_send, 2000, &r));
    assert_int_equal(r.len, 500);
    assert_true(tern_flow_send_blocked_pending(&map.conn_send));
    assert_int_equal(tern_flow_send_take_blocked(&map.conn_send), 1500);
    tern_stream_map_on_max_data(&map, 3000);
    assert_true(tern_stream_next_data(b, &map.conn_send, 2000, &r));
    assert_int_equal(r.offset, 500);
    assert_int_equal(r.len, 500);
    tern_stream_map_free(&map);
}

/* Drive a peer uni stream to "Data Read" so it closes. */
static void finish_peer_uni(tern_stream_map *map, uint64_t id)
{
    assert_int_equal(tern_stream_map_on_stream(map, id, 0, data, 3, true, 0), TERN_OK);
    tern_stream *s = tern_stream_map_find(map, id);
    uint8_t out[8];
    bool fin;
    assert_int_equal(tern_stream_read(s, &map->conn_recv, out, sizeof out, &fin), 3);
    assert_true(fin);
}

static void test_max_streams_follows_closures(void **state)
{
    (void)state;
    tern_stream_map_config config = default_config;
    config.max_streams_uni = 4;
    tern_stream_map map;
    assert_int_equal(tern_stream_map_init(&map, true, &config, 0), TERN_OK);
    finish_peer_uni(&map, 2);
    assert_false(tern_stream_map_max_streams_pending(&map, false)); /* not collected yet */
    tern_stream_map_collect(&map);
    assert_null(tern_stream_map_find(&map, 2));
    assert_int_equal(tern_stream_map_count(&map), 0);
    assert_false(tern_stream_map_max_streams_pending(&map, false)); /* 1 of 4: wait for half */
    /* frames for the closed stream are ignored */
    assert_int_equal(tern_stream_map_on_stream(&map, 2, 0, data, 3, true, 0), TERN_OK);
    assert_int_equal(tern_stream_map_count(&map), 0);
    finish_peer_uni(&map, 6);
    tern_stream_map_collect(&map);
    assert_true(tern_stream_map_max_streams_pending(&map, false));
    assert_false(tern_stream_map_max_streams_pending(&map, true));
    assert_int_equal(tern_stream_map_take_max_streams(&map, false), 6);
    /* the peer may now use stream index 5 (id 22) but not 6 (id 26) */
    assert_int_equal(tern_stream_map_on_stream(&map, 22, 0, data, 1, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_on_stream(&map, 26, 0, data, 1, false, 0), TERN_STREAM_LIMIT_ERROR);
    /* lost MAX_STREAMS is resent; an older value is not */
    tern_stream_map_on_max_streams_lost(&map, false, 5);
    assert_false(tern_stream_map_max_streams_pending(&map, false));
    tern_stream_map_on_max_streams_lost(&map, false, 6);
    assert_true(tern_stream_map_max_streams_pending(&map, false));
    assert_int_equal(tern_stream_map_take_max_streams(&map, false), 6);
    /* STREAMS_BLOCKED from the peer: send what closures allow at once */
    finish_peer_uni(&map, 10);
    tern_stream_map_collect(&map);
    assert_false(tern_stream_map_max_streams_pending(&map, false));
    assert_int_equal(tern_stream_map_on_streams_blocked(&map, false, 6), TERN_OK);
    assert_true(tern_stream_map_max_streams_pending(&map, false));
    assert_int_equal(tern_stream_map_take_max_streams(&map, false), 7);
    assert_int_equal(tern_stream_map_on_streams_blocked(&map, false, TERN_MAX_STREAMS_LIMIT + 1),
                     TERN_FRAME_ENCODING_ERROR);
    tern_stream_map_free(&map);
}

static void test_ready_queue_round_robin(void **state)
{
    (void)state;
    tern_stream_map map;
    map_init(&map, false);
    tern_stream *s[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tern_stream_map_open(&map, true, 0, &s[i]), TERN_OK);
        assert_int_equal(tern_stream_write(s[i], data, 300, true), TERN_OK);
    }
    assert_int_equal(tern_stream_map_ready_count(&map), 3);
    /* 100 bytes per turn: each stream gets a turn in order */
    uint64_t order[9];
    int n = 0;
    tern_send_range r;
    for (tern_stream *next; (next = tern_stream_map_next_ready(&map)) != NULL;) {
        assert_true(tern_stream_next_data(next, &map.conn_send, 100, &r));
        order[n++] = next->id;
        assert_true(n <= 9);
    }
    const uint64_t want[9] = {0, 4, 8, 0, 4, 8, 0, 4, 8};
    assert_int_equal(n, 9);
    assert_memory_equal(order, want, sizeof want);
    assert_int_equal(tern_stream_map_ready_count(&map), 0);
    /* a loss puts the stream back */
    assert_int_equal(tern_stream_on_data_lost(s[1], 100, 100, false), TERN_OK);
    assert_true(tern_stream_map_next_ready(&map) == s[1]);
    tern_stream_map_free(&map);
}

static void test_collect_local_streams(void **state)
{
    (void)state;
    tern_stream_map map;
    map_init(&map, false);
    tern_stream *s;
    assert_int_equal(tern_stream_map_open(&map, false, 0, &s), TERN_OK);
    tern_send_range r;
    assert_int_equal(tern_stream_write(s, data, 10, true), TERN_OK);
    assert_true(tern_stream_next_data(s, &map.conn_send, 100, &r));
    assert_int_equal(tern_stream_on_data_acked(s, 0, 10, true), TERN_OK);
    tern_stream_map_collect(&map);
    assert_null(tern_stream_map_find(&map, 2));
    /* a late MAX_STREAM_DATA for it is ignored, not an error */
    assert_int_equal(tern_stream_map_on_max_stream_data(&map, 2, 100, 0), TERN_OK);
    assert_false(tern_stream_map_max_streams_pending(&map, false)); /* our own streams */
    tern_stream_map_free(&map);
}

static void test_many_streams_table(void **state)
{
    (void)state;
    tern_stream_map_config config = default_config;
    config.max_streams_uni = 3000;
    tern_stream_map map;
    assert_int_equal(tern_stream_map_init(&map, true, &config, 0), TERN_OK);
    /* implicitly open 2000 peer uni streams in one frame */
    assert_int_equal(tern_stream_map_on_stream(&map, 4 * 1999 + 2, 0, data, 1, false, 0), TERN_OK);
    assert_int_equal(tern_stream_map_count(&map), 2000);
    while (tern_stream_map_accept(&map)) {
    }
    /* close every third one, then check every lookup */
    for (uint64_t i = 0; i < 2000; i += 3) finish_peer_uni(&map, 4 * i + 2);
    tern_stream_map_collect(&map);
    for (uint64_t i = 0; i < 2000; i++) {
        tern_stream *s = tern_stream_map_find(&map, 4 * i + 2);
        if (i % 3 == 0) {
            assert_null(s);
        } else {
            assert_non_null(s);
            assert_int_equal(s->id, 4 * i + 2);
        }
    }
    assert_int_equal(tern_stream_map_count(&map), 2000 - 667);
    tern_stream_map_free(&map);
}

static void test_peer_params(void **state)
{
    (void)state;
    tern_stream_map map;
    assert_int_equal(tern_stream_map_init(&map, false, &default_config, 0), TERN_OK);
    tern_stream *s;
    /* before the peer's parameters, nothing may be opened */
    assert_int_equal(tern_stream_map_open(&map, true, 0, &s), TERN_STREAM_LIMIT_ERROR);
    tern_stream_map_peer_params bad = default_peer;
    bad.max_streams_uni = TERN_MAX_STREAMS_LIMIT + 1;
    assert_int_equal(tern_stream_map_set_peer_params(&map, &bad), TERN_TRANSPORT_PARAMETER_ERROR);
    /* remembered (0-RTT) parameters, then the real, larger ones */
    tern_stream_map_peer_params remembered = default_peer;
    remembered.max_stream_data_bidi_remote = 100;
    assert_int_equal(tern_stream_map_set_peer_params(&map, &remembered), TERN_OK);
    assert_int_equal(tern_stream_map_open(&map, true, 0, &s), TERN_OK);
    assert_int_equal(s->send_flow.limit, 100);
    assert_int_equal(tern_stream_map_set_peer_params(&map, &default_peer), TERN_OK);
    assert_int_equal(s->send_flow.limit, 5000);
    tern_stream_map_free(&map);
}

int main(void)
{
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_ids_and_params),
        cmocka_unit_test(test_local_limit_and_streams_blocked),
        cmocka_unit_test(test_implicit_open_and_accept),
        cmocka_unit_test(test_peer_stream_limit),
        cmocka_unit_test(test_wrong_direction),
        cmocka_unit_test(test_connection_flow_control_across_streams),
        cmocka_unit_test(test_send_credit_across_streams),
        cmocka_unit_test(test_max_streams_follows_closures),
        cmocka_unit_test(test_ready_queue_round_robin),
        cmocka_unit_test(test_collect_local_streams),
        cmocka_unit_test(test_many_streams_table),
        cmocka_unit_test(test_peer_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
