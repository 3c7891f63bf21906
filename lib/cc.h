/* Congestion control interface (RFC 9002 §7) with two algorithms: NewReno
 * (RFC 9002 §7, Appendix B) and CUBIC (RFC 9438).
 *
 * A tern_cc is a value struct embedded in a path (each path has its own
 * controller, RFC 9000 §9.4): no allocation, init/reset, and the algorithm is
 * chosen at init through tern_cc_config.kind. The common bookkeeping (bytes in
 * flight, the recovery period of §7.3.2, the app-limited rule of §7.8, the
 * persistent congestion collapse of §7.6.2) lives in cc.c; algorithms plug in
 * through tern_cc_ops and keep their state in the union.
 *
 * Sizes are bytes of UDP payload (QUIC header + payload + AEAD tag, RFC 9002
 * §B.2 bytes_in_flight), times are tern_time nanoseconds. */
#ifndef TERN_CC_H
#define TERN_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "rtt.h"
#include "tern/types.h"

/* Numeric values match tern_cc_algo of the public tern.h draft, so the
 * engine can convert with a cast. */
typedef enum tern_cc_kind { TERN_CC_KIND_CUBIC = 0, TERN_CC_KIND_NEWRENO = 1 } tern_cc_kind;

/* RFC 9000 §14: the smallest allowed maximum datagram size. */
#define TERN_CC_MIN_DATAGRAM_SIZE 1200u

typedef struct tern_cc_config {
    tern_cc_kind kind;
    uint64_t max_datagram_size; /* 0 = TERN_CC_MIN_DATAGRAM_SIZE */
    bool hystart;               /* CUBIC: HyStart++ (RFC 9406) in slow start */
    uint64_t max_send_rate;     /* pacing ceiling in bytes/s, 0 = none (the pacer's) */
} tern_cc_config;

/* Defaults: CUBIC, 1200-byte datagrams, HyStart++ on. */
void tern_cc_config_init(tern_cc_config *cfg);

typedef struct tern_cc tern_cc;

/* Algorithm hooks. The common code has already updated bytes_in_flight and
 * filtered out acks that must not grow the window (recovery period,
 * app-limited) before calling on_packet_acked. */
typedef struct tern_cc_ops {
    void (*reset)(tern_cc *cc);
    void (*on_packet_sent)(tern_cc *cc, uint64_t bytes, tern_time now);
    /* Window growth for one acked in-flight packet. */
    void (*on_packet_acked)(tern_cc *cc, uint64_t bytes, tern_time time_sent,
                            const tern_rtt *rtt, tern_time now);
    /* Reduction when a new recovery period starts (not called again inside
     * the same period). congestion_window is the value before reduction. */
    void (*on_congestion_event)(tern_cc *cc, tern_time now);
    /* Called after the common code collapsed the window to the minimum. */
    void (*on_persistent_congestion)(tern_cc *cc, tern_time now);
    void (*on_rtt_sample)(tern_cc *cc, const tern_rtt *rtt, tern_time now);
} tern_cc_ops;

/* RFC 9002 Appendix B with RFC 3465 byte counting for the integer
 * congestion-avoidance increase. */
typedef struct tern_cc_newreno {
    uint64_t bytes_acked_in_avoidance;
} tern_cc_newreno;

/* RFC 9438 state. Windows in bytes (doubles: the cubic function is
 * continuous), K in seconds. */
typedef struct tern_cc_cubic {
    double w_max;       /* window before the last reduction (after fast convergence) */
    double cwnd_prior;  /* window just before the last reduction (§4.3 alpha switch) */
    double cwnd_epoch;  /* window when the current avoidance stage began */
    double k;           /* seconds for W_cubic to climb back to w_max */
    double w_est;       /* Reno-friendly estimate (§4.3) */
    double fraction;    /* sub-byte growth not yet added to the window */
    tern_time epoch_start;
    tern_time last_sent_time;
    bool epoch_started;
    bool has_sent;
    /* HyStart++ (RFC 9406): rounds are delimited by send time. */
    bool hystart_done;
    bool in_css;            /* Conservative Slow Start */
    unsigned css_rounds;
    unsigned rtt_sample_count;
    tern_time round_end_sent_after; /* round ends when a packet sent after this is acked */
    tern_time current_round_min_rtt;
    tern_time last_round_min_rtt;
    tern_time css_baseline_min_rtt;
} tern_cc_cubic;

struct tern_cc {
    const tern_cc_ops *ops;
    tern_cc_kind kind;
    bool hystart;
    uint64_t max_datagram_size;
    uint64_t congestion_window;
    uint64_t ssthresh; /* UINT64_MAX = infinite */
    uint64_t bytes_in_flight;
    /* §7.3.2 recovery period: packets sent at or before this time do not
     * start a new one nor grow the window. */
    tern_time recovery_start_time;
    bool in_recovery_epoch; /* recovery_start_time is meaningful */
    bool app_limited;
    uint64_t congestion_events;  /* counters for tests and qlog */
    uint64_t persistent_congestion_events;
    union {
        tern_cc_newreno newreno;
        tern_cc_cubic cubic;
    } u;
};

extern const tern_cc_ops tern_cc_newreno_ops;
extern const tern_cc_ops tern_cc_cubic_ops;

void tern_cc_init(tern_cc *cc, const tern_cc_config *cfg);
/* Fresh state with the same algorithm and datagram size (new path, RFC 9000
 * §9.4; Retry, RFC 9002 §6.3). bytes_in_flight restarts at 0: the caller
 * must not report packets sent before the reset (tern_path_recovery does
 * this filtering). */
void tern_cc_reset(tern_cc *cc);

/* RFC 9002 §7.2: min(10 * mds, max(14720, 2 * mds)) and 2 * mds. */
uint64_t tern_cc_initial_window(uint64_t max_datagram_size);
uint64_t tern_cc_minimum_window(uint64_t max_datagram_size);

/* PMTU change (RFC 9000 §14, RFC 9002 §7.2): the initial window is
 * recomputed if the window is still the initial one, and the window never
 * stays below the new minimum. */
void tern_cc_set_max_datagram_size(tern_cc *cc, uint64_t max_datagram_size);

/* A packet that counts in flight (ack-eliciting or PADDING) was sent. */
void tern_cc_on_packet_sent(tern_cc *cc, uint64_t bytes, tern_time now);
/* An in-flight packet was acknowledged. */
void tern_cc_on_packet_acked(tern_cc *cc, uint64_t bytes, tern_time time_sent,
                             const tern_rtt *rtt, tern_time now);
/* An in-flight packet was declared lost: only bytes_in_flight changes; the
 * reaction is tern_cc_on_congestion_event, once per batch of losses. */
void tern_cc_on_packet_lost(tern_cc *cc, uint64_t bytes);
/* An in-flight packet's keys were discarded (RFC 9002 §6.4, §B.9). */
void tern_cc_on_packet_discarded(tern_cc *cc, uint64_t bytes);
/* Loss or ECN-CE (RFC 9002 §7.3.2, §B.6): time_sent is the send time of the
 * latest lost packet (or of the largest acked packet for ECN). Starts a
 * recovery period unless that packet was sent inside the current one. */
void tern_cc_on_congestion_event(tern_cc *cc, tern_time time_sent, tern_time now);
/* RFC 9002 §7.6.2: window to the minimum, recovery period forgotten. */
void tern_cc_on_persistent_congestion(tern_cc *cc, tern_time now);
/* A new RTT sample was taken on this path (HyStart++ uses it). */
void tern_cc_on_rtt_sample(tern_cc *cc, const tern_rtt *rtt, tern_time now);

/* RFC 9002 §7.8: the sender says whether it is application or flow-control
 * limited (it had less to send than the window allows). While set, acks do
 * not grow the window. Sending up to the window clears it automatically. A
 * sender waiting only on the pacer is NOT app-limited. */
void tern_cc_set_app_limited(tern_cc *cc, bool app_limited);

static inline uint64_t tern_cc_window(const tern_cc *cc) { return cc->congestion_window; }
static inline uint64_t tern_cc_bytes_in_flight(const tern_cc *cc) { return cc->bytes_in_flight; }
/* Bytes the window still allows (0 when full). */
static inline uint64_t tern_cc_available(const tern_cc *cc)
{
    return cc->bytes_in_flight < cc->congestion_window ? cc->congestion_window - cc->bytes_in_flight : 0;
}
/* RFC 9002 §7: a packet may be sent if it does not take bytes_in_flight
 * above the window. PTO probes bypass this check (§7.5). */
static inline bool tern_cc_can_send(const tern_cc *cc, uint64_t bytes)
{
    return bytes <= tern_cc_available(cc);
}
static inline bool tern_cc_in_slow_start(const tern_cc *cc) { return cc->congestion_window < cc->ssthresh; }
/* True while a packet sent at time_sent belongs to the recovery period. */
static inline bool tern_cc_in_recovery(const tern_cc *cc, tern_time time_sent)
{
    return cc->in_recovery_epoch && time_sent <= cc->recovery_start_time;
}

/* a * b / c without intermediate overflow (saturates at UINT64_MAX). */
uint64_t tern_mul_div_u64(uint64_t a, uint64_t b, uint64_t c);

#endif
