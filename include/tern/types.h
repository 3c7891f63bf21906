/* Small value types shared by every module: connection IDs and addresses. */
#ifndef TERN_TYPES_H
#define TERN_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* RFC 9000 §17.2: a v1 connection ID is at most 20 bytes. */
#define TERN_MAX_CID_LEN 20
/* RFC 8999 §5.1: any version may use up to 255 bytes. */
#define TERN_MAX_INVARIANT_CID_LEN 255
#define TERN_STATELESS_RESET_TOKEN_LEN 16

typedef struct tern_cid {
    uint8_t len;
    uint8_t data[TERN_MAX_CID_LEN];
} tern_cid;

/* A transport address: IPv4 or IPv6 address and UDP port, in network byte
 * order for the address bytes and host order for the port. family is
 * TERN_AF_NONE when absent. */
enum { TERN_AF_NONE = 0, TERN_AF_INET = 4, TERN_AF_INET6 = 6 };

typedef struct tern_addr {
    uint8_t family;
    uint16_t port;
    uint8_t ip[16]; /* first 4 bytes used for IPv4 */
} tern_addr;

/* A path of a connection (RFC 9000 §9): ids start at 0 (the handshake's
 * path), grow by one per new path and are never reused in a connection. */
typedef uint64_t tern_path_id;
#define TERN_PATH_ID_NONE UINT64_MAX

/* Time: the application passes the current time in; the library never reads
 * a clock. Monotonic nanoseconds, origin chosen by the application. */
typedef uint64_t tern_time;
#define TERN_TIME_INFINITE UINT64_MAX
#define TERN_US(x) ((tern_time)(x) * 1000ULL)
#define TERN_MS(x) ((tern_time)(x) * 1000000ULL)
#define TERN_SEC(x) ((tern_time)(x) * 1000000000ULL)

/* Provisional codepoints (docs/protocol.md §Codepoints); all configurable at
 * run time through the codec/endpoint configuration. */
#define TERN_SAA_FRAME_TYPE_DEFAULT 0x3f5aa001ULL         /* 4-byte varint */
#define TERN_TP_ENABLE_SERVER_MIGRATION_DEFAULT 0x3e5aa001ULL /* not 31N+27 */
#define TERN_TP_ALLOW_SERVER_MIGRATION_DEFAULT 0x3e764478ULL  /* from the draft */

#endif
