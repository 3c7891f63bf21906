/* tern-client's record of the server addresses a connection used or
 * learned (draft-saa-ali-quic locators): each with the states it went
 * through, for the summary on stderr and --json's "server_addresses". */
#ifndef TERN_CLIENT_SERVER_ADDRS_H
#define TERN_CLIENT_SERVER_ADDRS_H

#include <stdio.h>

#include "tern/tern.h"

#define SA_MAX_ADDRS 64  /* a long rotation keeps the first 64 */
#define SA_MAX_STEPS 8   /* states kept per address (the first ones) */

typedef struct sa_step {
    tern_locator_state state;
    tern_locator_reason reason;
    double at_s; /* seconds since the record started */
} sa_step;

typedef struct sa_addr {
    uint64_t sequence;
    tern_addr addr;
    sa_step steps[SA_MAX_STEPS];
    unsigned nsteps;
    unsigned dropped_steps;
    /* A move to it: validation started / it became active (0: not yet),
     * and the longest pause in received data from the start until
     * SA_STALL_WINDOW after it became active: the stall the move caused. */
    tern_time validating_at, active_at;
    tern_time stall;
} sa_addr;

/* How long after a move its stall is still counted. */
#define SA_STALL_WINDOW TERN_MS(500)

typedef struct sa_record {
    sa_addr addrs[SA_MAX_ADDRS];
    unsigned n;
    unsigned dropped; /* addresses past SA_MAX_ADDRS */
    tern_time start;
    tern_time last_data; /* last body bytes received (0: none yet) */
} sa_record;

void sa_init(sa_record *r, tern_time start);
/* One TERN_EVENT_LOCATOR. */
void sa_on_locator(sa_record *r, const tern_locator_change *l, tern_time now);
/* Body bytes arrived now (for the stall of each move). */
void sa_on_data(sa_record *r, tern_time now);
/* "tern-client:   server address 1 127.0.0.2:4433: unverified, validating
 * +0.012 s, active +0.013 s" lines, when there was more than the
 * handshake's address. */
void sa_print_summary(const sa_record *r, FILE *f);
/* ,"server_addresses":[{"sequence":0,"address":"...","states":[{"state":
 * "active","reason":"handshake","at_s":0.0}, ...]}, ...] */
void sa_print_json(const sa_record *r, FILE *f);

#endif
