/* What each move policy does to one connection: taking it in, deciding a
 * move (an SAA advertisement), the rotation schedule and its withdrawal of
 * the previous-but-one address, confirmation and timeout. */
#include <string.h>

#include "conn.h"
#include "move_engine.h"

static bool is_v6(const tern_addr *a) { return a->family == TERN_AF_INET6; }

/* When e rotates next, deciding at now. */
static tern_time next_period(tern_move_engine *m, tern_time now)
{
    if (m->synchronized) {
        uint64_t k = (now - m->start) / m->period + 1;
        return m->start + k * m->period;
    }
    tern_time t = now + m->period;
    if (m->jitter) t = t - m->jitter + tern_move_random(m) % (2 * m->jitter + 1);
    return t;
}

void tern_move_admit(tern_move_engine *m, tern_move_entry *e, tern_time now)
{
    tern_addr cur = tern_move_conn_local(e->conn);
    switch (m->kind) {
    case TERN_MOVE_POLICY_ADVERTISE: e->next_at = now; break;
    case TERN_MOVE_POLICY_ROTATE:
        e->before = cur;
        e->next_at = next_period(m, now);
        break;
    case TERN_MOVE_POLICY_DRAIN:
        if (!e->chosen && tern_move_is_drained(m, &cur)) {
            e->chosen = true;
            tern_move_queue_push(m, e);
            if (m->global_at > now) m->global_at = now;
        }
        break;
    default: break;
    }
}

tern_err tern_move_decide(tern_move_engine *m, tern_move_entry *e, const tern_addr *to, const tern_addr *withdrawn,
                          tern_time now)
{
    tern_move_policy_stats *st = tern_move_stats(m);
    tern_addr from = tern_move_conn_local(e->conn);
    tern_err err = TERN_OK;
    int slot = tern_move_addr_ensure(m, to, &err);
    uint64_t seq = 0;
    if (slot >= 0) err = tern_conn_advertise_address(e->conn, is_v6(to) ? NULL : to, is_v6(to) ? to : NULL, &seq, now);
    if (err == TERN_ERR_CID_BLOCKED) {
        st->retries++;
        return err;
    }
    if (err != TERN_OK) {
        st->failed++;
        tern_move_record r = {.action = TERN_MOVE_FAILED, .from = from, .to = *to, .err = err, .at = now};
        tern_move_emit(m, e->conn, &r);
        return err;
    }
    tern_move_addr_hold(m, e, slot);
    if (m->kind == TERN_MOVE_POLICY_ROTATE) e->before = e->moves ? e->target : from;
    e->target = *to;
    e->from = from;
    e->pending = true;
    e->confirm_by = m->common.confirm_timeout_ms ? now + TERN_MS(m->common.confirm_timeout_ms) : TERN_TIME_INFINITE;
    e->moves++;
    e->last_seq = seq;
    e->last_confirmed = false;
    e->withdrew = false;
    e->withdraw_at = TERN_TIME_INFINITE;
    st->decisions++;
    tern_move_record r = {.action = m->kind == TERN_MOVE_POLICY_ADVERTISE ? TERN_MOVE_ADVERTISED : TERN_MOVE_DECIDED,
                          .from = from,
                          .to = *to,
                          .sequence = seq,
                          .at = now};
    if (withdrawn) r.withdrawn = *withdrawn;
    tern_move_emit(m, e->conn, &r);
    return TERN_OK;
}

static void advertise_next(tern_move_engine *m, tern_move_entry *e, tern_time now)
{
    tern_addr cur = tern_move_conn_local(e->conn);
    while (e->cursor < m->list_count) {
        const tern_addr *a = &m->list[e->cursor];
        if (tern_addr_equal(a, &cur)) {
            e->cursor++;
            continue;
        }
        if (tern_move_decide(m, e, a, NULL, now) == TERN_ERR_CID_BLOCKED) {
            e->next_at = now + TERN_MOVE_RETRY;
            return;
        }
        e->cursor++;
    }
}

static bool has_path_on(const tern_conn *c, const tern_addr *local)
{
    tern_path_info pi[TERN_MAX_PATHS];
    size_t n = tern_conn_paths(c, pi, TERN_MAX_PATHS);
    for (size_t i = 0; i < n && i < TERN_MAX_PATHS; i++)
        if (tern_addr_equal(&pi[i].local, local)) return true;
    return false;
}

static void rotate(tern_move_engine *m, tern_move_entry *e, tern_time now)
{
    if (e->pending) {
        /* The previous move is not settled: one at a time. */
        e->next_at = now + TERN_MOVE_RETRY;
        return;
    }
    tern_addr cur = tern_move_conn_local(e->conn), to, withdrawn = {0};
    if (e->has_retry) {
        to = e->retry_to;
    } else if (!tern_move_pool_pick(m, e, &cur, &to)) {
        e->next_at = next_period(m, now);
        return;
    }
    /* Not back to the address it just left while the connection still
     * has its path there (LEAVING, about 3 PTO after the move): the client
     * keeps its own as long, and does not probe a server address it still
     * has a path to (lib/migration.c), so the move would time out. Tried
     * again every TERN_MOVE_RETRY. Only a pool of two at a period under 3
     * PTO ever waits (docs/move_policy.md). */
    if (e->moves && tern_addr_equal(&to, &e->before) && has_path_on(e->conn, &to)) {
        e->has_retry = true;
        e->retry_to = to;
        e->next_at = now + TERN_MOVE_RETRY;
        tern_move_stats(m)->retries++;
        return;
    }
    /* The client is on the newest address: everything before it (the
     * previous-but-one address of the move now decided, and older) is
     * withdrawn, so the client retires those CIDs and frees their slots;
     * usually done already, 3 PTO after the last move was confirmed. */
    if (e->moves && e->last_confirmed && !e->withdrew) tern_move_withdraw_before(m, e, false, now);
    if (e->moves && e->withdrew) withdrawn = e->before;
    tern_err err = tern_move_decide(m, e, &to, withdrawn.family ? &withdrawn : NULL, now);
    if (err == TERN_ERR_CID_BLOCKED) {
        e->has_retry = true;
        e->retry_to = to;
        e->next_at = now + TERN_MOVE_RETRY;
        return;
    }
    e->has_retry = false;
    e->next_at = next_period(m, now);
}

bool tern_move_withdraw_before(tern_move_engine *m, tern_move_entry *e, bool record, tern_time now)
{
    if (e->withdrew || !e->moves || e->last_seq == 0) return false;
    if (tern_conn_withdraw_address(e->conn, e->last_seq - 1, now) != TERN_OK) return false;
    e->withdrew = true;
    e->withdraw_at = TERN_TIME_INFINITE;
    tern_move_stats(m)->withdrawn++;
    if (record) {
        tern_move_record r = {.action = TERN_MOVE_WITHDRAWN, .from = e->before, .to = e->target,
                              .sequence = e->last_seq - 1, .at = now};
        tern_move_emit(m, e->conn, &r);
    }
    return true;
}

void tern_move_act(tern_move_engine *m, tern_move_entry *e, tern_time now)
{
    switch (m->kind) {
    case TERN_MOVE_POLICY_ADVERTISE: advertise_next(m, e, now); break;
    case TERN_MOVE_POLICY_ROTATE: rotate(m, e, now); break;
    case TERN_MOVE_POLICY_BALANCE:
    case TERN_MOVE_POLICY_DRAIN: {
        /* A queued decision that was CID_BLOCKED. */
        tern_err err = tern_move_decide(m, e, &m->target, NULL, now);
        if (err == TERN_ERR_CID_BLOCKED) e->next_at = now + TERN_MOVE_RETRY;
        else if (err != TERN_OK) tern_move_settled(m, e, now);
        break;
    }
    default: break;
    }
}

void tern_move_on_active(tern_move_engine *m, tern_move_entry *e, const tern_addr *local, tern_time now)
{
    if (!e->pending || !tern_addr_equal(local, &e->target)) return;
    e->pending = false;
    e->last_confirmed = true;
    e->confirm_by = TERN_TIME_INFINITE;
    if (m->kind == TERN_MOVE_POLICY_NONE) return;
    tern_move_stats(m)->confirmed++;
    tern_move_record r = {.action = TERN_MOVE_CONFIRMED, .to = *local, .sequence = e->last_seq, .at = now};
    r.from = e->from;
    tern_move_emit(m, e->conn, &r);
    /* rotate: the address it left is withdrawn 3 PTO later (when the
     * server forgets that path too), or a quarter period later if that is
     * sooner: the client's RETIRE_CONNECTION_ID then frees the CID slot
     * the next move needs before it is due (else that move waits,
     * CID_BLOCKED, for about an RTT). */
    /* drain: every older CID is withdrawn at once (Retire Prior To the
     * target's): none may keep a drained address referenced. */
    if (m->kind == TERN_MOVE_POLICY_DRAIN && e->last_seq > 0 &&
        tern_conn_withdraw_address(e->conn, e->last_seq - 1, now) == TERN_OK)
        tern_move_stats(m)->withdrawn++;
    if (m->kind == TERN_MOVE_POLICY_ROTATE) {
        tern_time wait = 3 * tern_conn_pto(e->conn);
        if (m->period / 4 < wait) wait = m->period / 4;
        e->withdraw_at = now + wait;
    }
    tern_move_entry_schedule(m, e);
    if (e->chosen) tern_move_settled(m, e, now);
}

void tern_move_on_timeout(tern_move_engine *m, tern_move_entry *e, tern_time now)
{
    e->pending = false;
    e->confirm_by = TERN_TIME_INFINITE;
    tern_move_stats(m)->failed++;
    tern_move_record r = {.action = TERN_MOVE_FAILED, .from = e->from, .to = e->target, .at = now};
    tern_move_emit(m, e->conn, &r);
    if (e->chosen) tern_move_settled(m, e, now);
}
