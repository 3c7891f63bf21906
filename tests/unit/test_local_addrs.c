/* The endpoint's local address set (lib/local_addrs.h, tern/local_addr.h):
 * argument checks, duplicates, SERVING -> DRAINING -> forgotten, the unused
 * notification exactly once, bounds, legacy mode, the read API, a
 * connection's CID refs, and the path set's hook that counts paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "local_addrs.h"
#include "path_set.h"

/* "198.18.0.1" or "2001:db8::1" with a port. */
static tern_addr A(const char *text, uint16_t port)
{
    tern_addr a;
    memset(&a, 0, sizeof a);
    a.port = port;
    if (strchr(text, ':')) {
        a.family = TERN_AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, a.ip), 1);
    } else {
        a.family = TERN_AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, a.ip), 1);
    }
    return a;
}

static bool addr_eq(const tern_addr *a, const tern_addr *b)
{
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

/* Records every unused notification. */
typedef struct note_log {
    tern_addr addrs[TERN_LOCAL_ADDR_MAX * 2];
    size_t count;
    tern_local_addrs *set;
    bool readd; /* add the address again from inside the callback */
    tern_err readd_result;
    size_t count_seen_in_callback; /* set->count when the callback ran */
} note_log;

static void note(void *ctx, const tern_addr *addr)
{
    note_log *log = ctx;
    assert_true(log->count < sizeof log->addrs / sizeof log->addrs[0]);
    log->addrs[log->count++] = *addr;
    if (log->set) {
        log->count_seen_in_callback = log->set->count;
        /* The entry is already gone when we are told. */
        assert_null(tern_local_addrs_find(log->set, addr));
        if (log->readd) log->readd_result = tern_local_addrs_add(log->set, addr);
    }
}

static void test_add_checks(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {0};
    tern_local_addrs_init(&set, note, &log);
    tern_addr none = {0};
    tern_addr any4 = A("0.0.0.0", 443), any6 = A("::", 443), port0 = A("198.18.1.1", 0);
    tern_addr bad_family = A("198.18.1.1", 443);
    bad_family.family = 5;
    assert_int_equal(tern_local_addrs_add(&set, NULL), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_local_addrs_add(&set, &none), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_local_addrs_add(&set, &any4), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_local_addrs_add(&set, &any6), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_local_addrs_add(&set, &port0), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_local_addrs_add(&set, &bad_family), TERN_ERR_INVALID_ARGUMENT);
    /* Refused adds do not end legacy mode. */
    assert_true(tern_local_addrs_legacy(&set));
    assert_int_equal(set.count, 0);

    tern_addr a = A("198.18.1.1", 443), a2 = A("198.18.1.1", 4433), b = A("2001:db8::1", 443);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_false(tern_local_addrs_legacy(&set));
    /* Same IP, other port: another address (another socket). */
    assert_int_equal(tern_local_addrs_add(&set, &a2), TERN_OK);
    assert_int_equal(tern_local_addrs_add(&set, &b), TERN_OK);
    /* A duplicate is reported, not silently merged. */
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_ERR_INVALID_STATE);
    assert_int_equal(tern_local_addrs_add(&set, &b), TERN_ERR_INVALID_STATE);
    assert_int_equal(set.count, 3);
    const tern_local_addr_info *e = tern_local_addrs_find(&set, &b);
    assert_non_null(e);
    assert_int_equal(e->state, TERN_LOCAL_ADDR_SERVING);
    assert_int_equal(e->paths, 0);
    assert_int_equal(e->cids, 0);
    assert_int_equal(log.count, 0);
    assert_string_equal(tern_local_addr_state_name(TERN_LOCAL_ADDR_SERVING), "serving");
    assert_string_equal(tern_local_addr_state_name(TERN_LOCAL_ADDR_DRAINING), "draining");
}

static void test_legacy_mode(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {0};
    tern_local_addrs_init(&set, note, &log);
    tern_addr a = A("198.18.1.1", 443), b = A("2001:db8::1", 443);
    /* Nothing registered: everything is served, nothing is counted. */
    assert_true(tern_local_addrs_serves(&set, &a));
    assert_true(tern_local_addrs_serves(&set, &b));
    assert_true(tern_local_addrs_known(&set, &a));
    assert_false(tern_local_addrs_ref_path(&set, &a));
    assert_false(tern_local_addrs_ref_cid(&set, &a));
    tern_local_addrs_unref_path(&set, &a);
    tern_local_addrs_unref_cid(&set, &a);
    assert_int_equal(tern_local_addrs_list(&set, NULL, 0), 0);
    assert_int_equal(tern_local_addrs_remove(&set, &a), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(log.count, 0);

    /* Registered: only registered addresses are served. */
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_true(tern_local_addrs_serves(&set, &a));
    assert_false(tern_local_addrs_serves(&set, &b));
    assert_false(tern_local_addrs_known(&set, &b));
    assert_false(tern_local_addrs_ref_path(&set, &b)); /* not in the set: not counted */
    tern_local_addrs_unref_path(&set, &b);             /* and a no-op */
    /* Removing the last one does not bring legacy mode back. */
    assert_int_equal(tern_local_addrs_remove(&set, &a), TERN_OK);
    assert_int_equal(set.count, 0);
    assert_false(tern_local_addrs_legacy(&set));
    assert_false(tern_local_addrs_serves(&set, &a));
    assert_false(tern_local_addrs_serves(&set, &b));
    assert_false(tern_local_addrs_known(&set, &a));
    assert_false(tern_local_addrs_ref_path(&set, &a));
}

static void test_remove_unreferenced_notifies_at_once(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {.set = &set};
    tern_local_addrs_init(&set, note, &log);
    tern_addr a = A("198.18.1.1", 443), b = A("198.18.1.2", 443), c = A("198.18.1.3", 443);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_int_equal(tern_local_addrs_add(&set, &b), TERN_OK);
    assert_int_equal(tern_local_addrs_add(&set, &c), TERN_OK);
    assert_int_equal(tern_local_addrs_remove(&set, &b), TERN_OK);
    /* Gone before remove returned, notified exactly once. */
    assert_int_equal(log.count, 1);
    assert_true(addr_eq(&log.addrs[0], &b));
    assert_int_equal(log.count_seen_in_callback, 2);
    assert_null(tern_local_addrs_find(&set, &b));
    assert_false(tern_local_addrs_known(&set, &b));
    /* Unknown now: a second remove is refused and notifies nothing. */
    assert_int_equal(tern_local_addrs_remove(&set, &b), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(tern_local_addrs_remove(&set, NULL), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(log.count, 1);
    /* The others keep their order of addition. */
    tern_local_addr_info out[4];
    assert_int_equal(tern_local_addrs_list(&set, out, 4), 2);
    assert_true(addr_eq(&out[0].addr, &a));
    assert_true(addr_eq(&out[1].addr, &c));
}

/* A referenced address drains: still known, no longer served, not
 * advertisable; forgotten with one notification when the last of its path
 * and CID refs goes, in whatever order they go. */
static void test_draining_until_last_ref(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {.set = &set};
    tern_local_addrs_init(&set, note, &log);
    tern_addr a = A("198.18.1.1", 443), b = A("2001:db8::1", 443);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_int_equal(tern_local_addrs_add(&set, &b), TERN_OK);
    assert_true(tern_local_addrs_ref_path(&set, &a));
    assert_true(tern_local_addrs_ref_path(&set, &a));
    assert_true(tern_local_addrs_ref_cid(&set, &a));
    const tern_local_addr_info *e = tern_local_addrs_find(&set, &a);
    assert_int_equal(e->paths, 2);
    assert_int_equal(e->cids, 1);

    assert_int_equal(tern_local_addrs_remove(&set, &a), TERN_OK);
    e = tern_local_addrs_find(&set, &a);
    assert_non_null(e);
    assert_int_equal(e->state, TERN_LOCAL_ADDR_DRAINING);
    assert_false(tern_local_addrs_serves(&set, &a));
    assert_true(tern_local_addrs_known(&set, &a));
    assert_int_equal(log.count, 0);
    /* Removing again changes nothing. */
    assert_int_equal(tern_local_addrs_remove(&set, &a), TERN_OK);
    assert_int_equal(log.count, 0);
    /* Never advertised again; a new path (an existing connection's peer
     * rebinding) still counts, so the address is not released under it. */
    assert_false(tern_local_addrs_ref_cid(&set, &a));
    assert_true(tern_local_addrs_ref_path(&set, &a));
    assert_int_equal(e->paths, 3);
    assert_int_equal(e->cids, 1);

    tern_local_addrs_unref_path(&set, &a);
    tern_local_addrs_unref_path(&set, &a);
    tern_local_addrs_unref_cid(&set, &a);
    assert_int_equal(log.count, 0); /* one path left */
    tern_local_addrs_unref_path(&set, &a);
    assert_int_equal(log.count, 1);
    assert_true(addr_eq(&log.addrs[0], &a));
    assert_null(tern_local_addrs_find(&set, &a));
    /* Further unrefs of the forgotten address are no-ops: no second
     * notification. */
    tern_local_addrs_unref_path(&set, &a);
    tern_local_addrs_unref_cid(&set, &a);
    assert_int_equal(log.count, 1);
    /* b was never touched. */
    assert_true(tern_local_addrs_serves(&set, &b));

    /* The same with the CID ref going last. */
    assert_true(tern_local_addrs_ref_path(&set, &b));
    assert_true(tern_local_addrs_ref_cid(&set, &b));
    assert_int_equal(tern_local_addrs_remove(&set, &b), TERN_OK);
    tern_local_addrs_unref_path(&set, &b);
    assert_int_equal(log.count, 1);
    tern_local_addrs_unref_cid(&set, &b);
    assert_int_equal(log.count, 2);
    assert_true(addr_eq(&log.addrs[1], &b));
    assert_int_equal(set.count, 0);
}

/* A SERVING address whose refs fall to zero stays (and says nothing); a
 * DRAINING one added again serves again with its counts, and is then not
 * forgotten when they fall to zero. */
static void test_serving_stays_and_readd_revives(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {.set = &set};
    tern_local_addrs_init(&set, note, &log);
    tern_addr a = A("198.18.1.1", 443);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_true(tern_local_addrs_ref_path(&set, &a));
    tern_local_addrs_unref_path(&set, &a);
    assert_int_equal(log.count, 0);
    assert_true(tern_local_addrs_serves(&set, &a));

    assert_true(tern_local_addrs_ref_path(&set, &a));
    assert_int_equal(tern_local_addrs_remove(&set, &a), TERN_OK);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    const tern_local_addr_info *e = tern_local_addrs_find(&set, &a);
    assert_int_equal(e->state, TERN_LOCAL_ADDR_SERVING);
    assert_int_equal(e->paths, 1);
    assert_true(tern_local_addrs_ref_cid(&set, &a)); /* advertisable again */
    tern_local_addrs_unref_cid(&set, &a);
    tern_local_addrs_unref_path(&set, &a);
    assert_int_equal(log.count, 0);
    assert_non_null(tern_local_addrs_find(&set, &a));
}

/* The callback may register the address again (an application that
 * reopens a socket at once): the set is consistent when it runs. */
static void test_readd_from_callback(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {.set = &set, .readd = true, .readd_result = -1};
    tern_local_addrs_init(&set, note, &log);
    tern_addr a = A("198.18.1.1", 443);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_true(tern_local_addrs_ref_path(&set, &a));
    assert_int_equal(tern_local_addrs_remove(&set, &a), TERN_OK);
    tern_local_addrs_unref_path(&set, &a);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.readd_result, TERN_OK);
    const tern_local_addr_info *e = tern_local_addrs_find(&set, &a);
    assert_non_null(e);
    assert_int_equal(e->state, TERN_LOCAL_ADDR_SERVING);
    assert_int_equal(e->paths, 0);
}

/* Fixed capacity, DRAINING entries included; room comes back when one is
 * forgotten. The read API copies at most max and returns the total. */
static void test_bounds_and_list(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {.set = &set};
    tern_local_addrs_init(&set, note, &log);
    tern_addr addrs[TERN_LOCAL_ADDR_MAX];
    for (size_t i = 0; i < TERN_LOCAL_ADDR_MAX; i++) {
        addrs[i] = A("198.18.1.1", (uint16_t)(1000 + i));
        assert_int_equal(tern_local_addrs_add(&set, &addrs[i]), TERN_OK);
    }
    tern_addr extra = A("198.18.1.2", 443);
    assert_int_equal(tern_local_addrs_add(&set, &extra), TERN_ERR_NOMEM);
    assert_false(tern_local_addrs_known(&set, &extra));
    /* A DRAINING entry still takes its slot. */
    assert_true(tern_local_addrs_ref_path(&set, &addrs[5]));
    assert_int_equal(tern_local_addrs_remove(&set, &addrs[5]), TERN_OK);
    assert_int_equal(tern_local_addrs_add(&set, &extra), TERN_ERR_NOMEM);
    tern_local_addrs_unref_path(&set, &addrs[5]);
    assert_int_equal(log.count, 1);
    assert_int_equal(tern_local_addrs_add(&set, &extra), TERN_OK);

    tern_local_addr_info out[3];
    memset(out, 0xee, sizeof out);
    assert_true(tern_local_addrs_ref_cid(&set, &addrs[1]));
    assert_int_equal(tern_local_addrs_list(&set, out, 2), TERN_LOCAL_ADDR_MAX);
    assert_true(addr_eq(&out[0].addr, &addrs[0]));
    assert_true(addr_eq(&out[1].addr, &addrs[1]));
    assert_int_equal(out[1].state, TERN_LOCAL_ADDR_SERVING);
    assert_int_equal(out[1].cids, 1);
    assert_int_equal(out[1].paths, 0);
    /* Nothing written past max. */
    assert_int_equal(((uint8_t *)&out[2])[0], 0xee);
    tern_local_addr_info all[TERN_LOCAL_ADDR_MAX];
    assert_int_equal(tern_local_addrs_list(&set, all, TERN_LOCAL_ADDR_MAX), TERN_LOCAL_ADDR_MAX);
    assert_true(addr_eq(&all[5].addr, &addrs[6])); /* addrs[5] is gone, order kept */
    assert_true(addr_eq(&all[TERN_LOCAL_ADDR_MAX - 1].addr, &extra));
}

/* A connection's CID refs: recorded, bounded per connection, all given
 * back when the connection goes (the DRAINING address is then notified). */
static void test_conn_cid_refs(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {.set = &set};
    tern_local_addrs_init(&set, note, &log);
    tern_local_addr_refs refs;
    memset(&refs, 0, sizeof refs);
    tern_addr a = A("198.18.1.1", 443), other = A("198.18.9.9", 443);
    /* Legacy mode: nothing counted, nothing recorded, no error. */
    assert_int_equal(tern_local_addr_refs_take(&refs, &set, &a), TERN_OK);
    assert_int_equal(refs.slots[0].count, 0);
    tern_local_addr_refs_give(&refs, &set, &a);

    tern_addr many[TERN_LOCAL_ADDR_REFS_MAX + 1];
    for (size_t i = 0; i <= TERN_LOCAL_ADDR_REFS_MAX; i++) {
        many[i] = A("198.18.2.1", (uint16_t)(2000 + i));
        assert_int_equal(tern_local_addrs_add(&set, &many[i]), TERN_OK);
    }
    assert_int_equal(tern_local_addr_refs_take(&refs, &set, NULL), TERN_ERR_INVALID_ARGUMENT);
    /* Not served: nothing may be advertised there. */
    assert_int_equal(tern_local_addr_refs_take(&refs, &set, &other), TERN_ERR_INVALID_ARGUMENT);
    for (size_t i = 0; i < TERN_LOCAL_ADDR_REFS_MAX; i++)
        assert_int_equal(tern_local_addr_refs_take(&refs, &set, &many[i]), TERN_OK);
    assert_int_equal(tern_local_addr_refs_take(&refs, &set, &many[0]), TERN_OK); /* same address: same slot */
    assert_int_equal(tern_local_addr_refs_take(&refs, &set, &many[TERN_LOCAL_ADDR_REFS_MAX]), TERN_ERR_NOMEM);
    assert_int_equal(tern_local_addrs_find(&set, &many[TERN_LOCAL_ADDR_REFS_MAX])->cids, 0);
    assert_int_equal(tern_local_addrs_find(&set, &many[0])->cids, 2);
    /* A give without a matching take is a no-op. */
    tern_local_addr_refs_give(&refs, &set, &many[TERN_LOCAL_ADDR_REFS_MAX]);
    tern_local_addr_refs_give(&refs, &set, &many[1]);
    assert_int_equal(tern_local_addrs_find(&set, &many[1])->cids, 0);
    tern_local_addr_refs_give(&refs, &set, &many[1]);
    assert_int_equal(tern_local_addrs_find(&set, &many[1])->cids, 0);
    /* A DRAINING address takes no new CID ref. */
    assert_int_equal(tern_local_addrs_remove(&set, &many[0]), TERN_OK);
    assert_int_equal(tern_local_addr_refs_take(&refs, &set, &many[0]), TERN_ERR_INVALID_ARGUMENT);
    assert_int_equal(log.count, 0);
    /* The connection goes: every ref with it, one notification for the
     * DRAINING address, none for the SERVING ones. */
    tern_local_addr_refs_give_all(&refs, &set);
    assert_int_equal(log.count, 1);
    assert_true(addr_eq(&log.addrs[0], &many[0]));
    for (size_t i = 1; i <= TERN_LOCAL_ADDR_REFS_MAX; i++)
        assert_int_equal(tern_local_addrs_find(&set, &many[i])->cids, 0);
    tern_local_addr_refs_give_all(&refs, &set);
    assert_int_equal(log.count, 1);
}

/* ---- the path set's hook (lib/path_set.h) ---- */

static bool path_hook(void *ctx, const tern_addr *local, bool used)
{
    tern_local_addrs *set = ctx;
    if (used) return tern_local_addrs_ref_path(set, local);
    tern_local_addrs_unref_path(set, local);
    return false;
}

static uint32_t paths_on(const tern_local_addrs *set, const tern_addr *a)
{
    const tern_local_addr_info *e = tern_local_addrs_find(set, a);
    return e ? e->paths : UINT32_MAX;
}

/* Every path made by the set refs its local address and every path freed
 * (release, release_all with the active one) unrefs it, once; a path made
 * before its address was registered is counted when the observer is
 * offered the paths again, and never unreffed if it was not counted. */
static void test_path_set_hook(void **state)
{
    (void)state;
    tern_local_addrs set;
    note_log log = {.set = &set};
    tern_local_addrs_init(&set, note, &log);
    tern_addr a = A("198.18.0.2", 40000), b = A("198.18.0.3", 40001), c = A("198.18.0.4", 40002);
    tern_addr server = A("198.18.1.1", 443);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_int_equal(tern_local_addrs_add(&set, &b), TERN_OK);

    tern_path_set ps;
    tern_path_set_init(&ps, &a, &server, NULL, TERN_MS(100), 0);
    assert_int_equal(paths_on(&set, &a), 0); /* no observer yet */
    tern_path_set_observe_local(&ps, path_hook, &set);
    assert_int_equal(paths_on(&set, &a), 1);
    tern_path_set_observe_local(&ps, path_hook, &set); /* offered again: not counted twice */
    assert_int_equal(paths_on(&set, &a), 1);

    tern_path *pb = tern_path_set_alloc(&ps, &b, &server, NULL, TERN_MS(100), 0);
    tern_path *pc = tern_path_set_alloc(&ps, &c, &server, NULL, TERN_MS(100), 0); /* c not registered */
    assert_non_null(pb);
    assert_non_null(pc);
    assert_int_equal(paths_on(&set, &b), 1);
    tern_path_set_make_active(&ps, pb, TERN_PATH_STATE_LEAVING);
    tern_path *pa = tern_path_set_find(&ps, &a, &server);
    assert_non_null(pa);
    assert_int_equal(tern_local_addrs_remove(&set, &a), TERN_OK); /* DRAINING: the LEAVING path */
    assert_int_equal(log.count, 0);
    tern_path_set_release(&ps, pa);
    assert_int_equal(log.count, 1);
    assert_true(addr_eq(&log.addrs[0], &a));

    /* c registered late: the path made before is counted when offered. */
    assert_int_equal(tern_local_addrs_add(&set, &c), TERN_OK);
    assert_int_equal(paths_on(&set, &c), 0);
    tern_path_set_observe_local(&ps, path_hook, &set);
    assert_int_equal(paths_on(&set, &c), 1);
    assert_int_equal(paths_on(&set, &b), 1);

    /* A path on an address added only after it was released and forgotten
     * is not unreffed at the next release (it was never counted). */
    tern_path *pa2 = tern_path_set_alloc(&ps, &a, &server, NULL, TERN_MS(100), 0);
    assert_non_null(pa2);
    assert_int_equal(tern_local_addrs_add(&set, &a), TERN_OK);
    assert_true(tern_local_addrs_ref_path(&set, &a)); /* someone else's path on a */
    tern_path_set_release(&ps, pa2);
    assert_int_equal(paths_on(&set, &a), 1);
    tern_local_addrs_unref_path(&set, &a);

    /* The connection goes: every path, the active one included. */
    assert_int_equal(tern_local_addrs_remove(&set, &b), TERN_OK);
    assert_int_equal(tern_local_addrs_remove(&set, &c), TERN_OK);
    assert_int_equal(log.count, 1);
    tern_path_set_release_all(&ps);
    assert_int_equal(log.count, 3);
    assert_null(tern_path_set_next(&ps, NULL));
    assert_null(tern_local_addrs_find(&set, &b));
    assert_null(tern_local_addrs_find(&set, &c));
    tern_path_set_release_all(&ps);
    assert_int_equal(log.count, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_checks),
        cmocka_unit_test(test_legacy_mode),
        cmocka_unit_test(test_remove_unreferenced_notifies_at_once),
        cmocka_unit_test(test_draining_until_last_ref),
        cmocka_unit_test(test_serving_stays_and_readd_revives),
        cmocka_unit_test(test_readd_from_callback),
        cmocka_unit_test(test_bounds_and_list),
        cmocka_unit_test(test_conn_cid_refs),
        cmocka_unit_test(test_path_set_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
