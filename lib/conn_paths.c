/* The connection's paths as the public API shows them (include/tern/path.h). */
#include "conn.h"

static void fill(const tern_path *p, tern_path_info *info)
{
    info->id = p->id;
    info->state = p->state;
    info->local = p->tuple.local;
    info->remote = p->tuple.remote;
    info->validated = p->tuple.validated;
    info->validating = tern_path_validation_in_progress(&p->tuple.pv);
    info->smoothed_rtt = p->rec.rtt.smoothed;
    info->cwnd = tern_cc_window(&p->rec.cc);
    info->bytes_in_flight = p->rec.cc.bytes_in_flight;
}

tern_err tern_conn_path_info(const tern_conn *c, tern_path_id id, tern_path_info *info)
{
    if (!c || !info) return TERN_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        const tern_path *p = &c->paths.slots[i];
        if (tern_path_in_use(p) && p->id == id) {
            fill(p, info);
            return TERN_OK;
        }
    }
    return TERN_ERR_INVALID_ARGUMENT;
}

size_t tern_conn_paths(const tern_conn *c, tern_path_info *out, size_t max)
{
    const tern_path *active = tern_path_set_active_const(&c->paths);
    size_t n = 0;
    if (out && n < max) fill(active, &out[n]);
    n++;
    for (size_t i = 0; i < TERN_MAX_PATHS; i++) {
        const tern_path *p = &c->paths.slots[i];
        if (!tern_path_in_use(p) || p == active) continue;
        if (out && n < max) fill(p, &out[n]);
        n++;
    }
    return n;
}
