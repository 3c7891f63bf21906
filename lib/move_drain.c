/* Balance and drain: the queue of connections chosen to move to the
 * target, paced by a token bucket; the drain's GOAWAY time, its deadline
 * (closing what is left on the drained addresses) and its completion (every
 * drained address released). */
#include <string.h>

#include "conn.h"
#include "move_engine.h"

void tern_move_queue_push(tern_move_engine *m, tern_move_entry *e)
{
    if (e->queued) return;
    e->queued = true;
    e->q_next = NULL;
    e->q_prev = m->q_tail;
    if (m->q_tail) m->q_tail->q_next = e;
    else m->q_head = e;
    m->q_tail = e;
}

void tern_move_queue_remove(tern_move_engine *m, tern_move_entry *e)
{
    if (!e->queued) return;
    if (e->q_prev) e->q_prev->q_next = e->q_next;
    else m->q_head = e->q_next;
    if (e->q_next) e->q_next->q_prev = e->q_prev;
    else m->q_tail = e->q_prev;
    e->q_next = e->q_prev = NULL;
    e->queued = false;
}

bool tern_move_is_drained(const tern_move_engine *m, const tern_addr *addr)
{
    for (size_t i = 0; i < m->drained_count; i++)
        if (tern_addr_equal(&m->drained[i], addr)) return true;
    return false;
}

static void goaway(tern_move_engine *m, tern_conn *c, const tern_addr *on)
{
    tern_move_stats(m)->goaway++;
    tern_move_record r = {.action = TERN_MOVE_GOAWAY, .from = *on, .at = m->deadline_at};
    tern_move_emit(m, c, &r);
}

void tern_move_settled(tern_move_engine *m, tern_move_entry *e, tern_time now)
{
    if (!e->chosen) return;
    e->chosen = false;
    if (m->kind == TERN_MOVE_POLICY_BALANCE) {
        if (m->outstanding && --m->outstanding == 0) tern_move_finish(m, now);
    } else if (m->kind == TERN_MOVE_POLICY_DRAIN && m->goaway_done && !e->goaway &&
               !tern_conn_is_closing(e->conn)) {
        /* Its move failed: it stays until the deadline, like one without
         * SAA. */
        tern_addr cur = tern_move_conn_local(e->conn);
        if (tern_move_is_drained(m, &cur)) {
            e->goaway = true;
            goaway(m, e->conn, &cur);
        }
    }
}

/* Time until the bucket has a token again (it has none now). */
static tern_time token_wait(const tern_token_bucket *b)
{
    uint64_t need = 1000000000ULL - b->partial;
    return (need + b->rate - 1) / b->rate;
}

static void pump(tern_move_engine *m, tern_time now)
{
    while (m->q_head) {
        if (m->rate && !tern_token_bucket_take(&m->bucket, now)) {
            m->global_at = now + token_wait(&m->bucket);
            return;
        }
        tern_move_entry *e = m->q_head;
        tern_move_queue_remove(m, e);
        if (tern_conn_is_closing(e->conn)) continue; /* settled by its CONN_CLOSED */
        tern_addr cur = tern_move_conn_local(e->conn);
        tern_err err = TERN_OK;
        if (tern_addr_equal(&cur, &m->target)) err = TERN_ERR_INVALID_ARGUMENT; /* already there */
        else err = tern_move_decide(m, e, &m->target, NULL, now);
        if (err == TERN_ERR_CID_BLOCKED) e->next_at = now + TERN_MOVE_RETRY;
        tern_move_entry_schedule(m, e);
        tern_endpoint_wake(e->conn);
        if (err != TERN_OK && err != TERN_ERR_CID_BLOCKED) {
            tern_move_settled(m, e, now);
            if (m->kind == TERN_MOVE_POLICY_NONE) return; /* the balance finished */
        }
    }
}

/* Every connection (tracked or not: those without SAA too) on a drained
 * address. Once per drain at GOAWAY time and once at the deadline. */
static void walk_drained(tern_move_engine *m, bool close, tern_time now)
{
    for (tern_conn *c = m->ep->conns; c; c = c->next) {
        if (c->role != TERN_ROLE_SERVER || tern_conn_is_closing(c)) continue;
        tern_addr cur = tern_move_conn_local(c);
        if (!tern_move_is_drained(m, &cur)) continue;
        tern_move_entry *e = tern_move_entry_find(m, c);
        if (close) {
            tern_conn_close(c, m->close_code, m->reason, now);
            tern_endpoint_wake(c);
            tern_move_stats(m)->closed++;
            tern_move_record r = {.action = TERN_MOVE_CLOSED, .from = cur, .at = now};
            tern_move_emit(m, c, &r);
            if (e) e->pending = false;
        } else if (!e || (!e->chosen && !e->fresh && !e->goaway)) {
            /* Not being moved: no SAA (no entry), or a move that failed. A
             * fresh entry is an SAA connection about to be queued. */
            if (e) e->goaway = true;
            goaway(m, c, &cur);
        }
    }
}

void tern_move_global_fire(tern_move_engine *m, tern_time now)
{
    m->global_at = TERN_TIME_INFINITE;
    pump(m, now);
    if (m->kind != TERN_MOVE_POLICY_DRAIN) return;
    if (!m->goaway_done && now >= m->goaway_at) {
        m->goaway_done = true;
        walk_drained(m, false, now);
    }
    if (!m->deadline_done && now >= m->deadline_at) {
        m->deadline_done = true;
        walk_drained(m, true, now);
    }
    if (m->kind != TERN_MOVE_POLICY_DRAIN) return;
    if (!m->goaway_done && m->goaway_at < m->global_at) m->global_at = m->goaway_at;
    if (!m->deadline_done && m->deadline_at < m->global_at) m->global_at = m->deadline_at;
}

void tern_move_drain_on_unused(tern_move_engine *m, const tern_addr *addr, tern_time now)
{
    if (m->kind != TERN_MOVE_POLICY_DRAIN) return;
    for (size_t i = 0; i < m->drained_count; i++)
        if (m->drained_live[i] && tern_addr_equal(&m->drained[i], addr)) {
            m->drained_live[i] = false;
            if (--m->drained_left == 0) tern_move_finish(m, now);
            return;
        }
}
