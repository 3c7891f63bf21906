/* Server move policies: the public calls (include/tern/move_policy.h),
 * config checks, the records queued as TERN_EVENT_MOVE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "move_engine.h"

static void common_init(tern_move_common *c)
{
    memset(c, 0, sizeof *c);
    c->confirm_timeout_ms = 3000;
}

void tern_move_advertise_config_init(tern_move_advertise_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->version = TERN_MOVE_POLICY_VERSION;
    common_init(&cfg->common);
}

void tern_move_rotate_config_init(tern_move_rotate_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->version = TERN_MOVE_POLICY_VERSION;
    common_init(&cfg->common);
    cfg->pool.kind = TERN_MOVE_POOL_LIST;
    cfg->period_ms = 1000;
}

void tern_move_balance_config_init(tern_move_balance_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->version = TERN_MOVE_POLICY_VERSION;
    common_init(&cfg->common);
    cfg->rate_per_sec = 100;
    cfg->burst = 1;
}

void tern_move_drain_config_init(tern_move_drain_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->version = TERN_MOVE_POLICY_VERSION;
    common_init(&cfg->common);
    cfg->deadline_ms = 30000;
    cfg->goaway_lead_ms = 30000;
    cfg->close_code = 0x100; /* H3_NO_ERROR */
    cfg->close_reason = "server draining";
}

const char *tern_move_policy_kind_name(tern_move_policy_kind kind)
{
    switch (kind) {
    case TERN_MOVE_POLICY_NONE: return "none";
    case TERN_MOVE_POLICY_ADVERTISE: return "advertise";
    case TERN_MOVE_POLICY_ROTATE: return "rotate";
    case TERN_MOVE_POLICY_BALANCE: return "balance";
    case TERN_MOVE_POLICY_DRAIN: return "drain";
    default: return "?";
    }
}

const char *tern_move_action_name(tern_move_action action)
{
    switch (action) {
    case TERN_MOVE_ADVERTISED: return "advertised";
    case TERN_MOVE_DECIDED: return "decided";
    case TERN_MOVE_CONFIRMED: return "confirmed";
    case TERN_MOVE_WITHDRAWN: return "withdrawn";
    case TERN_MOVE_FAILED: return "failed";
    case TERN_MOVE_GOAWAY: return "goaway";
    case TERN_MOVE_CLOSED: return "closed";
    case TERN_MOVE_RELEASED: return "released";
    case TERN_MOVE_ADDED: return "added";
    case TERN_MOVE_DONE: return "done";
    default: return "?";
    }
}

/* ---- engine ---- */

tern_move_engine *tern_move_engine_get(tern_endpoint *ep)
{
    if (ep->move) return ep->move;
    tern_move_engine *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->ep = ep;
    tern_timer_heap_init(&m->heap);
    m->global_at = TERN_TIME_INFINITE;
    ep->move = m;
    return m;
}

void tern_move_engine_free(tern_move_engine *m)
{
    if (!m) return;
    tern_timer_heap_free(&m->heap); /* it points into the entries */
    for (tern_move_entry *e = m->head, *n; e; e = n) {
        n = e->next;
        free(e);
    }
    free(m->buckets);
    free(m);
}

tern_move_policy_stats *tern_move_stats(tern_move_engine *m) { return &m->stats[m->kind]; }

void tern_move_emit(tern_move_engine *m, tern_conn *c, const tern_move_record *r)
{
    tern_event ev = {.type = TERN_EVENT_MOVE, .conn = c, .move = *r};
    ev.move.policy = m->emit_as ? m->emit_as : m->kind;
    if (!ev.move.at) ev.move.at = m->now;
    tern_endpoint_push_event(m->ep, &ev);
}

void tern_move_finish(tern_move_engine *m, tern_time now)
{
    if (m->kind == TERN_MOVE_POLICY_NONE) return;
    const tern_move_policy_stats *st = tern_move_stats(m);
    tern_move_record r = {.action = TERN_MOVE_DONE, .at = now, .moved = st->confirmed, .failed = st->failed,
                          .closed = st->closed};
    tern_move_emit(m, NULL, &r);
    /* Nothing more is decided: every entry's own schedule is cleared. */
    for (tern_move_entry *e = m->head; e; e = e->next) {
        e->next_at = TERN_TIME_INFINITE;
        e->chosen = false;
        tern_move_entry_schedule(m, e);
    }
    while (m->q_head) tern_move_queue_remove(m, m->q_head);
    m->global_at = TERN_TIME_INFINITE;
    m->kind = TERN_MOVE_POLICY_NONE;
    tern_move_addr_release_idle(m);
}

/* ---- checks ---- */

static tern_err check_common(const tern_endpoint *ep, uint32_t version)
{
    if (!ep || ep->cfg.role != TERN_ROLE_SERVER || version != TERN_MOVE_POLICY_VERSION)
        return TERN_ERR_INVALID_ARGUMENT;
    return TERN_OK;
}

static tern_err check_list(const tern_addr *list, size_t count)
{
    if (!list || count == 0 || count > TERN_MOVE_LIST_MAX) return TERN_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++) {
        if (!tern_move_addr_valid(&list[i])) return TERN_ERR_INVALID_ARGUMENT;
        for (size_t j = 0; j < i; j++)
            if (tern_addr_equal(&list[i], &list[j])) return TERN_ERR_INVALID_ARGUMENT;
    }
    return TERN_OK;
}

/* A new policy may start: none runs (a drain replaces one), and the
 * endpoint counts its addresses. */
static tern_err may_start(tern_endpoint *ep, bool replaces)
{
    if (tern_local_addrs_legacy(&ep->local_addrs)) return TERN_ERR_INVALID_STATE;
    if (!replaces && ep->move && ep->move->kind != TERN_MOVE_POLICY_NONE) return TERN_ERR_INVALID_STATE;
    return TERN_OK;
}

static void begin(tern_move_engine *m, tern_move_policy_kind kind, const tern_move_common *common, tern_time now)
{
    m->kind = kind;
    m->common = *common;
    m->now = m->start = now;
    memset(&m->stats[kind], 0, sizeof m->stats[kind]);
    m->global_at = TERN_TIME_INFINITE;
    m->outstanding = 0;
    m->drained_count = m->drained_left = 0;
    m->goaway_done = m->deadline_done = false;
    m->goaway_at = m->deadline_at = TERN_TIME_INFINITE;
}

/* ---- start calls ---- */

tern_err tern_move_advertise_start(tern_endpoint *ep, const tern_move_advertise_config *cfg, tern_time now)
{
    if (!cfg) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = check_common(ep, cfg->version);
    if (!err) err = check_list(cfg->addresses, cfg->count);
    if (!err) err = may_start(ep, false);
    if (err) return err;
    tern_move_engine *m = tern_move_engine_get(ep);
    if (!m) return TERN_ERR_NOMEM;
    begin(m, TERN_MOVE_POLICY_ADVERTISE, &cfg->common, now);
    memcpy(m->list, cfg->addresses, cfg->count * sizeof *m->list);
    m->list_count = cfg->count;
    tern_move_track_existing(m);
    return TERN_OK;
}

tern_err tern_move_rotate_start(tern_endpoint *ep, const tern_move_rotate_config *cfg, tern_time now)
{
    if (!cfg) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = check_common(ep, cfg->version);
    if (!err) err = tern_move_pool_check(&cfg->pool);
    if (!err && cfg->pool.kind == TERN_MOVE_POOL_LIST) err = check_list(cfg->pool.list, cfg->pool.count);
    if (!err && (cfg->period_ms == 0 || cfg->jitter_ms >= cfg->period_ms || cfg->period_ms > 86400000))
        err = TERN_ERR_INVALID_ARGUMENT;
    if (!err) err = may_start(ep, false);
    if (err) return err;
    tern_move_engine *m = tern_move_engine_get(ep);
    if (!m) return TERN_ERR_NOMEM;
    begin(m, TERN_MOVE_POLICY_ROTATE, &cfg->common, now);
    m->pool = cfg->pool;
    m->list_count = 0;
    if (cfg->pool.kind == TERN_MOVE_POOL_LIST) {
        memcpy(m->list, cfg->pool.list, cfg->pool.count * sizeof *m->list);
        m->list_count = cfg->pool.count;
    }
    m->pool.list = m->list;
    m->period = TERN_MS(cfg->period_ms);
    m->jitter = cfg->synchronized ? 0 : TERN_MS(cfg->jitter_ms);
    m->synchronized = cfg->synchronized;
    tern_move_track_existing(m);
    return TERN_OK;
}

tern_err tern_move_balance_start(tern_endpoint *ep, const tern_move_balance_config *cfg, tern_time now)
{
    if (!cfg) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = check_common(ep, cfg->version);
    if (!err && (!tern_move_addr_valid(&cfg->target) || !(cfg->share >= 0.0 && cfg->share <= 1.0) ||
                 cfg->rate_per_sec == 0 || cfg->rate_per_sec > 1000000 || cfg->burst == 0 ||
                 cfg->burst > TERN_TOKEN_BUCKET_MAX_BURST))
        err = TERN_ERR_INVALID_ARGUMENT;
    if (!err) err = may_start(ep, false);
    if (err) return err;
    tern_move_engine *m = tern_move_engine_get(ep);
    if (!m) return TERN_ERR_NOMEM;
    tern_move_policy_kind was = m->kind;
    tern_move_common was_common = m->common;
    begin(m, TERN_MOVE_POLICY_BALANCE, &cfg->common, now);
    tern_err aerr = TERN_OK;
    if (tern_move_addr_ensure(m, &cfg->target, &aerr) < 0) {
        m->kind = was;
        m->common = was_common;
        return TERN_ERR_INVALID_ARGUMENT;
    }
    m->target = cfg->target;
    m->rate = cfg->rate_per_sec;
    tern_token_bucket_init(&m->bucket, cfg->rate_per_sec, cfg->burst);
    tern_move_track_existing(m);
    /* The candidates: SAA connections not on the target, oldest first. */
    size_t eligible = 0;
    for (tern_move_entry *e = m->head; e; e = e->next) {
        tern_addr cur = tern_move_conn_local(e->conn);
        if (!tern_addr_equal(&cur, &m->target)) eligible++;
    }
    size_t n = cfg->count ? (cfg->count < eligible ? cfg->count : eligible) : (size_t)(cfg->share * (double)eligible + 0.5);
    for (tern_move_entry *e = m->head; e && n; e = e->next) {
        tern_addr cur = tern_move_conn_local(e->conn);
        if (tern_addr_equal(&cur, &m->target)) continue;
        e->chosen = true;
        tern_move_queue_push(m, e);
        m->outstanding++;
        n--;
    }
    tern_move_stats(m)->targets = m->outstanding;
    m->global_at = now;
    if (m->outstanding == 0) tern_move_finish(m, now);
    return TERN_OK;
}

tern_err tern_move_drain_start(tern_endpoint *ep, const tern_move_drain_config *cfg, tern_time now)
{
    if (!cfg) return TERN_ERR_INVALID_ARGUMENT;
    tern_err err = check_common(ep, cfg->version);
    if (!err && (!tern_move_addr_valid(&cfg->target) || cfg->deadline_ms == 0 || cfg->rate_per_sec > 1000000))
        err = TERN_ERR_INVALID_ARGUMENT;
    if (!err && cfg->drained_count) err = check_list(cfg->drained, cfg->drained_count);
    for (size_t i = 0; !err && i < cfg->drained_count; i++)
        if (tern_addr_equal(&cfg->drained[i], &cfg->target)) err = TERN_ERR_INVALID_ARGUMENT;
    if (!err) err = may_start(ep, true);
    if (err) return err;
    /* What is drained: the list, or every address served but the target. */
    tern_addr drained[TERN_LOCAL_ADDR_MAX];
    size_t nd = 0;
    if (cfg->drained_count) {
        memcpy(drained, cfg->drained, cfg->drained_count * sizeof *drained);
        nd = cfg->drained_count;
    } else {
        tern_local_addr_info info[TERN_LOCAL_ADDR_MAX];
        size_t n = tern_endpoint_addresses(ep, info, TERN_LOCAL_ADDR_MAX);
        for (size_t i = 0; i < n && i < TERN_LOCAL_ADDR_MAX; i++)
            if (info[i].state == TERN_LOCAL_ADDR_SERVING && !tern_addr_equal(&info[i].addr, &cfg->target))
                drained[nd++] = info[i].addr;
    }
    for (size_t i = 0; i < nd; i++)
        if (!tern_local_addrs_known(&ep->local_addrs, &drained[i])) return TERN_ERR_INVALID_ARGUMENT;
    tern_move_engine *m = tern_move_engine_get(ep);
    if (!m) return TERN_ERR_NOMEM;
    /* The target first: a drain that cannot move anyone starts nothing. */
    tern_err aerr = TERN_OK;
    tern_move_common was_common = m->common;
    m->common = cfg->common; /* its open_address */
    m->emit_as = TERN_MOVE_POLICY_DRAIN;
    tern_move_policy_stats *old = tern_move_stats(m);
    uint64_t added_before = old->addresses_added;
    int slot = tern_move_addr_ensure(m, &cfg->target, &aerr);
    uint64_t added = old->addresses_added - added_before;
    old->addresses_added = added_before;
    m->emit_as = TERN_MOVE_POLICY_NONE;
    m->common = was_common;
    if (slot < 0) return TERN_ERR_INVALID_ARGUMENT;
    tern_move_finish(m, now); /* the policy it replaces, if any */
    begin(m, TERN_MOVE_POLICY_DRAIN, &cfg->common, now);
    tern_move_stats(m)->addresses_added = added;
    m->target = cfg->target;
    m->rate = cfg->rate_per_sec;
    if (m->rate) tern_token_bucket_init(&m->bucket, m->rate, 1);
    m->close_code = cfg->close_code;
    snprintf(m->reason, sizeof m->reason, "%s", cfg->close_reason ? cfg->close_reason : "server draining");
    m->deadline_at = now + TERN_MS(cfg->deadline_ms);
    m->goaway_at = cfg->goaway_lead_ms >= cfg->deadline_ms ? now : m->deadline_at - TERN_MS(cfg->goaway_lead_ms);
    memcpy(m->drained, drained, nd * sizeof *drained);
    for (size_t i = 0; i < nd; i++) m->drained_live[i] = true;
    m->drained_count = m->drained_left = nd;
    tern_endpoint_set_accepting(ep, false);
    tern_move_track_existing(m); /* admits at the next on_timer: queued there */
    m->global_at = now;
    /* Removing an address nothing refers to forgets it at once (its
     * ADDRESS_UNUSED is observed in the call). */
    for (size_t i = 0; i < nd; i++) tern_endpoint_remove_address(ep, &drained[i]);
    return TERN_OK;
}

tern_err tern_move_policy_stop(tern_endpoint *ep, tern_time now)
{
    if (!ep) return TERN_ERR_INVALID_ARGUMENT;
    if (!ep->move || ep->move->kind == TERN_MOVE_POLICY_NONE) return TERN_ERR_INVALID_STATE;
    ep->move->now = now;
    tern_move_finish(ep->move, now);
    return TERN_OK;
}

tern_move_policy_kind tern_move_policy_running(const tern_endpoint *ep)
{
    return ep && ep->move ? ep->move->kind : TERN_MOVE_POLICY_NONE;
}

tern_err tern_move_policy_get_stats(const tern_endpoint *ep, tern_move_policy_kind kind, tern_move_policy_stats *st)
{
    if (!ep || !st || kind <= TERN_MOVE_POLICY_NONE || kind >= TERN_MOVE_POLICY_KIND_COUNT)
        return TERN_ERR_INVALID_ARGUMENT;
    if (ep->move) *st = ep->move->stats[kind];
    else memset(st, 0, sizeof *st);
    return TERN_OK;
}
