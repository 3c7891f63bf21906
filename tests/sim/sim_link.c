/* The model of one link direction: a FIFO serializer at rate_bps with a
 * byte-limited tail-drop queue, followed by a propagation delay, with loss,
 * reordering and duplication drawn from the direction's own PRNG stream (so
 * changing one link's parameters never perturbs another link's draws). */
#include "sim_internal.h"

enum { ECN_NOT_ECT = 0, ECN_ECT1 = 1, ECN_ECT0 = 2, ECN_CE = 3 };

void sim_link_direction_init(sim_link_direction *d, const sim_dir_params *params,
                             uint64_t rng_seed)
{
    *d = (sim_link_direction){0};
    if (params)
        d->params = *params;
    sim_rng_seed(&d->rng, rng_seed);
}

static bool chance(sim_rng *rng, double probability)
{
    /* No draw at all for a disabled feature keeps the stream stable when a
     * test turns an unrelated feature on or off. */
    if (probability <= 0.0)
        return false;
    if (probability >= 1.0)
        return true;
    return sim_rng_double(rng) < probability;
}

/* Bytes still waiting in (or being serialized by) the queue at now: the
 * serializer drains at a constant rate, so the backlog is the remaining busy
 * time times the rate, with no per-packet departure events. */
static double backlog_bytes(const sim_link_direction *d, tern_time now)
{
    if (d->params.rate_bps == 0 || d->busy_until <= now)
        return 0.0;
    return (double)(d->busy_until - now) * (double)d->params.rate_bps / 8e9;
}

static sim_link_verdict drop(sim_link_direction *d, sim_drop_reason reason)
{
    d->counters.dropped[reason]++;
    return (sim_link_verdict){.dropped = true, .reason = reason};
}

sim_link_verdict sim_link_direction_offer(sim_link_direction *d, tern_time now, size_t len,
                                          uint8_t *ecn)
{
    const sim_dir_params *p = &d->params;
    d->counters.sent_packets++;
    d->counters.sent_bytes += len;

    if (p->blackhole)
        return drop(d, SIM_DROP_BLACKHOLE);
    if (p->mtu && len > p->mtu)
        return drop(d, SIM_DROP_MTU);

    bool ce_marked = false;
    tern_time departure = now;
    if (p->rate_bps) {
        double backlog = backlog_bytes(d, now);
        if (p->queue_limit_bytes && backlog + (double)len > (double)p->queue_limit_bytes)
            return drop(d, SIM_DROP_QUEUE_FULL);
        if (p->ecn_ce_threshold && backlog > (double)p->ecn_ce_threshold &&
            (*ecn == ECN_ECT0 || *ecn == ECN_ECT1)) {
            *ecn = ECN_CE;
            d->counters.ce_marked++;
            ce_marked = true;
        }
        /* Whole nanoseconds (no overflow below 2^30-byte payloads). A packet
         * lost on the wire below still used the serializer. */
        tern_time start = d->busy_until > now ? d->busy_until : now;
        departure = start + (tern_time)len * 8000000000ULL / p->rate_bps;
        d->busy_until = departure;
    }

    if (chance(&d->rng, p->loss))
        return drop(d, SIM_DROP_RANDOM_LOSS);
    if (p->burst.p_good_to_bad > 0.0) {
        /* Gilbert-Elliott: move the chain one step, then lose with the
         * probability of the state it is in. */
        if (d->burst_bad_state)
            d->burst_bad_state = !chance(&d->rng, p->burst.p_bad_to_good);
        else
            d->burst_bad_state = chance(&d->rng, p->burst.p_good_to_bad);
        double loss = d->burst_bad_state ? p->burst.loss_in_bad : p->burst.loss_in_good;
        if (chance(&d->rng, loss))
            return drop(d, SIM_DROP_BURST_LOSS);
    }

    sim_link_verdict verdict = {.arrival = departure + p->delay, .ce_marked = ce_marked};
    if (chance(&d->rng, p->reorder_prob)) {
        verdict.arrival += p->reorder_delay;
        verdict.reordered = true;
        d->counters.reordered++;
    }
    if (chance(&d->rng, p->duplicate_prob)) {
        verdict.duplicate = true;
        verdict.duplicate_arrival = verdict.arrival;
        d->counters.duplicated++;
    }
    return verdict;
}

sim_link_params sim_link_params_symmetric(tern_time one_way_delay, uint64_t rate_bps)
{
    sim_link_params params = {0};
    params.up.delay = params.down.delay = one_way_delay;
    params.up.rate_bps = params.down.rate_bps = rate_bps;
    return params;
}

sim_dir_params *sim_link_dir(sim_link *link, enum sim_direction dir)
{
    return &link->dirs[dir].params;
}

void sim_link_set_params(sim_link *link, const sim_link_params *params)
{
    link->dirs[SIM_UP].params = params->up;
    link->dirs[SIM_DOWN].params = params->down;
}

void sim_link_set_blackhole(sim_link *link, bool up, bool down)
{
    link->dirs[SIM_UP].params.blackhole = up;
    link->dirs[SIM_DOWN].params.blackhole = down;
}

const tern_addr *sim_link_addr(const sim_link *link)
{
    return &link->addr;
}

sim_node *sim_link_node(const sim_link *link)
{
    return link->node;
}

bool sim_link_attached(const sim_link *link)
{
    return link->attached;
}

const sim_counters *sim_link_counters(const sim_link *link, enum sim_direction dir)
{
    return &link->dirs[dir].counters;
}
