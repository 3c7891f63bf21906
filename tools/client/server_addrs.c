#include "server_addrs.h"

#include <string.h>

#include "addr.h"

void sa_init(sa_record *r, tern_time start)
{
    memset(r, 0, sizeof *r);
    r->start = start;
}

static sa_addr *find_or_add(sa_record *r, const tern_locator_change *l)
{
    for (unsigned i = 0; i < r->n; i++)
        if (r->addrs[i].sequence == l->sequence) return &r->addrs[i];
    if (r->n == SA_MAX_ADDRS) {
        r->dropped++;
        return NULL;
    }
    sa_addr *a = &r->addrs[r->n++];
    memset(a, 0, sizeof *a);
    a->sequence = l->sequence;
    a->addr = l->ipv4.family != TERN_AF_NONE ? l->ipv4 : l->ipv6;
    return a;
}

void sa_on_locator(sa_record *r, const tern_locator_change *l, tern_time now)
{
    sa_addr *a = find_or_add(r, l);
    if (!a) return;
    if (a->nsteps == SA_MAX_STEPS) {
        a->dropped_steps++;
        return;
    }
    a->steps[a->nsteps++] = (sa_step){l->new_state, l->reason, now > r->start ? (double)(now - r->start) / 1e9 : 0};
    if (l->new_state == TERN_LOCATOR_VALIDATING && !a->validating_at) a->validating_at = now;
    if (l->new_state == TERN_LOCATOR_ACTIVE && a->validating_at && !a->active_at) a->active_at = now;
}

void sa_on_data(sa_record *r, tern_time now)
{
    if (r->last_data) {
        tern_time gap = now - r->last_data;
        for (unsigned i = 0; i < r->n; i++) {
            sa_addr *a = &r->addrs[i];
            /* The pause overlaps this move's window. */
            if (!a->validating_at || now < a->validating_at) continue;
            if (a->active_at && r->last_data > a->active_at + SA_STALL_WINDOW) continue;
            if (gap > a->stall) a->stall = gap;
        }
    }
    r->last_data = now;
}

void sa_print_summary(const sa_record *r, FILE *f)
{
    if (r->n <= 1) return;
    for (unsigned i = 0; i < r->n; i++) {
        const sa_addr *a = &r->addrs[i];
        char addr[IO_ADDR_STRLEN];
        io_addr_format(&a->addr, addr, sizeof addr);
        fprintf(f, "tern-client:   server address %llu %s:", (unsigned long long)a->sequence, addr);
        for (unsigned k = 0; k < a->nsteps; k++)
            fprintf(f, "%s %s +%.3f s", k ? "," : "", tern_locator_state_name(a->steps[k].state), a->steps[k].at_s);
        if (a->dropped_steps) fprintf(f, ", %u more changes", a->dropped_steps);
        if (a->active_at)
            fprintf(f, " (move: validation %.1f ms, longest stall %.1f ms)",
                    (double)(a->active_at - a->validating_at) / 1e6, (double)a->stall / 1e6);
        fputc('\n', f);
    }
    if (r->dropped) fprintf(f, "tern-client:   and %u more server addresses\n", r->dropped);
}

void sa_print_json(const sa_record *r, FILE *f)
{
    fputs(",\"server_addresses\":[", f);
    for (unsigned i = 0; i < r->n; i++) {
        const sa_addr *a = &r->addrs[i];
        char addr[IO_ADDR_STRLEN];
        io_addr_format(&a->addr, addr, sizeof addr);
        fprintf(f, "%s{\"sequence\":%llu,\"address\":\"%s\",\"states\":[", i ? "," : "",
                (unsigned long long)a->sequence, addr);
        for (unsigned k = 0; k < a->nsteps; k++)
            fprintf(f, "%s{\"state\":\"%s\",\"reason\":\"%s\",\"at_s\":%.6f}", k ? "," : "",
                    tern_locator_state_name(a->steps[k].state), tern_locator_reason_name(a->steps[k].reason),
                    a->steps[k].at_s);
        fputs("]", f);
        if (a->active_at)
            fprintf(f, ",\"move_started_s\":%.6f,\"validation_ms\":%.3f,\"stall_ms\":%.3f",
                    (double)(a->validating_at - r->start) / 1e9, (double)(a->active_at - a->validating_at) / 1e6,
                    (double)a->stall / 1e6);
        fputs("}", f);
    }
    fprintf(f, "],\"server_addresses_dropped\":%u", r->dropped);
}
