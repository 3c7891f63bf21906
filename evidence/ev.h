/* Shared pieces of the evidence drivers (docs/evidence.md): one client and
 * one server of tern on simulator nodes, a server-to-client download (or a
 * page load), the experiments' rotation schedule, an on-path observer, and
 * CSV output. Everything is deterministic from the seed given to ev_new. */
#ifndef TERN_EVIDENCE_EV_H
#define TERN_EVIDENCE_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/harness.h"
#include "sim/sim.h"
#include "tern/tern.h"

#define EV_MAX_MOVES 4096

typedef struct ev_run ev_run;

/* ---- the experiments' rotation schedule ----
 * Every `period`, the server advertises the next address of its pool (a
 * fresh address of 198.19.0.0/16, given to the server node just before)
 * and withdraws the previous-but-one. This is the one place to switch to
 * the library's rotate policy once it is merged. */
typedef struct ev_rot {
    tern_time period;       /* 0: no rotation */
    tern_time until;        /* no advertisement after this */
    uint32_t next;          /* pool index of the next address */
    uint64_t advertised, blocked;
    uint64_t seq[3];        /* last three advertised CID sequences (0: newest) */
    uint64_t withdraw_seq;
    bool withdraw_pending;
    tern_time adv_at[EV_MAX_MOVES]; /* when each advertisement was made */
    tern_time srtt_at[EV_MAX_MOVES]; /* the server's smoothed RTT then */
} ev_rot;

tern_addr ev_pool_addr(uint32_t i);
void ev_rot_start(ev_run *r, tern_time first_at, tern_time period);

/* ---- one run ---- */
typedef struct ev_net {
    tern_time one_way; /* per link: RTT = 4 x one_way */
    uint64_t rate_bps;
    double loss;       /* each direction of the client's links */
    bool unregistered; /* the server registers no address: it may advertise any */
} ev_net;

struct ev_run {
    h_pair *p;
    ev_net net;
    sim_link_params clp, slp;
    /* server-to-client bulk download on one stream */
    uint64_t dl_size, dl_written, dl_received;
    uint64_t dl_id;
    bool dl_started, dl_fin;
    tern_time dl_start_at, dl_fin_at, last_progress;
    /* progress in bins (bytes of stream data read by the client) */
    tern_time bin;
    uint64_t *bins;
    size_t nbins;
    /* client's path switches (TERN_EVENT_PATH ACTIVE) */
    tern_time move_at[EV_MAX_MOVES];
    size_t moves;
    ev_rot rot;
    /* client follows each new address from a fresh local port */
    bool fresh_port;
    uint16_t next_port;
    uint64_t follow_seq;
    bool follow_pending;
    /* extra event hook and state of the experiment */
    void (*hook)(ev_run *r, bool is_client, const tern_event *ev);
    void *user;
};

/* ccfg/scfg may be NULL (harness defaults plus what ev needs). */
ev_run *ev_new(uint64_t seed, const ev_net *net, tern_config *ccfg, tern_config *scfg);
void ev_free(ev_run *r);
bool ev_connect(ev_run *r);
/* Starts a download of size bytes; bins of width bin (0: none) for up to
 * horizon of simulated time. */
void ev_download(ev_run *r, uint64_t size, tern_time bin, tern_time horizon);
/* Runs until the download is complete, or nothing arrived for stall_limit,
 * or the deadline. True when complete. */
bool ev_run_download(ev_run *r, tern_time stall_limit, tern_time deadline);
bool ev_closed(const ev_run *r);

/* The config every driver starts from: room for a move every 0.1 s. */
void ev_client_config(tern_config *c);
void ev_server_config(tern_config *c);

/* ---- observer: what crosses the network (sim_set_trace) ---- */
typedef struct ev_obs_pkt {
    tern_time t;
    bool c2s;
    tern_addr client, server;
    uint16_t len;
    bool short_hdr;
    uint8_t cid[8];
} ev_obs_pkt;

typedef struct ev_obs {
    const sim_node *client_node;
    ev_obs_pkt *pkts;
    size_t n, cap;
} ev_obs;

void ev_obs_attach(ev_obs *o, ev_run *r);
void ev_obs_free(ev_obs *o);

/* ---- reproducibility (ev.c) ---- */
extern const char ev_cert_pem[], ev_key_pem[];
void ev_seed_random(uint64_t seed);

/* ---- output ---- */
FILE *ev_csv(const char *dir, const char *name, const char *header);
const char *ev_fmt(const tern_addr *a, char *buf); /* SIM_ADDR_STRLEN */
double ev_ms(tern_time t);
void ev_mkdir(const char *dir);

/* deterministic per-experiment randomness */
typedef struct ev_rng {
    sim_rng r;
} ev_rng;
void ev_rng_seed(ev_rng *g, uint64_t seed);
double ev_uniform(ev_rng *g, double lo, double hi);
uint64_t ev_below(ev_rng *g, uint64_t n);

#endif
