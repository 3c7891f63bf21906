/* Types shared by the ACK frame codec (frame.h) and loss recovery
 * (recovery.h): one acknowledged interval and the ECN counts of an ACK frame
 * (RFC 9000 §19.3). */
#ifndef TERN_ACK_RANGE_H
#define TERN_ACK_RANGE_H

#include <stdint.h>

/* Inclusive [smallest, largest]; lists of them are largest first and
 * disjoint, the order of an ACK frame (RFC 9000 §19.3.1). */
typedef struct tern_ack_range {
    uint64_t smallest;
    uint64_t largest;
} tern_ack_range;

typedef struct tern_ecn_counts {
    uint64_t ect0, ect1, ce;
} tern_ecn_counts;

#endif
