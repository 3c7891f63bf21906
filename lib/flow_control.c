#include "flow_control.h"

/* ---- sending ------------------------------------------------------------ */

void tern_flow_send_init(tern_flow_send *fs, uint64_t initial_limit)
{
    fs->limit = initial_limit;
    fs->used = 0;
    fs->blocked_reported = UINT64_MAX;
    fs->blocked_pending = false;
}

tern_err tern_flow_send_consume(tern_flow_send *fs, uint64_t n)
{
    if (n > tern_flow_send_credit(fs)) return TERN_ERR_INVALID_ARGUMENT;
    fs->used += n;
    return TERN_OK;
}

bool tern_flow_send_raise_limit(tern_flow_send *fs, uint64_t limit)
{
    if (limit <= fs->limit) return false;
    fs->limit = limit;
    fs->blocked_pending = false; /* a queued *_BLOCKED would carry a stale limit */
    return true;
}

void tern_flow_send_note_blocked(tern_flow_send *fs)
{
    if (fs->used < fs->limit) return; /* not actually blocked */
    if (fs->blocked_reported == fs->limit) return; /* once per limit value */
    fs->blocked_pending = true;
}

uint64_t tern_flow_send_take_blocked(tern_flow_send *fs)
{
    fs->blocked_pending = false;
    fs->blocked_reported = fs->limit;
    return fs->limit;
}

void tern_flow_send_on_blocked_lost(tern_flow_send *fs, uint64_t limit)
{
    if (limit == fs->limit && fs->used >= fs->limit) fs->blocked_pending = true;
}

/* ---- receiving ---------------------------------------------------------- */

void tern_flow_recv_init(tern_flow_recv *fr, uint64_t initial_window, uint64_t max_window, tern_time now)
{
    fr->limit = initial_window;
    fr->highest = 0;
    fr->consumed = 0;
    fr->window = initial_window;
    fr->max_window = max_window > initial_window ? max_window : initial_window;
    fr->last_update = now;
    fr->update_pending = false;
}

tern_err tern_flow_recv_on_received(tern_flow_recv *fr, uint64_t new_highest)
{
    tern_err err = tern_flow_recv_check(fr, new_highest);
    if (err) return err;
    if (new_highest > fr->highest) fr->highest = new_highest;
    return TERN_OK;
}

static void check_update_due(tern_flow_recv *fr)
{
    if (fr->consumed + fr->window >= fr->limit + fr->window / 2 && fr->consumed + fr->window > fr->limit)
        fr->update_pending = true;
}

void tern_flow_recv_on_consumed(tern_flow_recv *fr, uint64_t n)
{
    fr->consumed += n;
    check_update_due(fr);
}

uint64_t tern_flow_recv_take_update(tern_flow_recv *fr, tern_time now, tern_time srtt)
{
    if (srtt && now - fr->last_update < 2 * srtt && fr->window < fr->max_window) {
        fr->window = fr->window > fr->max_window / 2 ? fr->max_window : fr->window * 2;
    }
    uint64_t limit = fr->consumed + fr->window;
    if (limit > fr->limit) fr->limit = limit;
    fr->last_update = now;
    fr->update_pending = false;
    return fr->limit;
}

void tern_flow_recv_on_update_lost(tern_flow_recv *fr, uint64_t limit)
{
    if (limit == fr->limit) fr->update_pending = true;
}

void tern_flow_recv_ensure_window(tern_flow_recv *fr, uint64_t min_window)
{
    if (min_window > fr->max_window) min_window = fr->max_window;
    if (fr->window >= min_window) return;
    fr->window = min_window;
    check_update_due(fr);
}
