/* Non-blocking UDP socket with batched receive/send and the kernel's QUIC
 * helpers: per-datagram local address (pktinfo), ECN, GSO and GRO.
 *
 * Errors are negative errno values; nothing here allocates after open. */
#ifndef TERN_IO_UDP_SOCKET_H
#define TERN_IO_UDP_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tern/types.h"

/* Most datagrams one io_udp_recv or one sendmmsg call handles. */
#define IO_UDP_BATCH_MAX 64
/* The kernel rejects GSO sends of more segments than this (UDP_MAX_SEGMENTS
 * was 64 until Linux 6.x raised it); longer batches are cut into chunks,
 * also at IO_UDP_GSO_MAX_BYTES. */
#define IO_UDP_GSO_MAX_SEGMENTS 64
/* A GSO send is one IP packet until the device splits it, so its payload
 * obeys the 65535-byte IP length limit minus the IPv4 and UDP headers. */
#define IO_UDP_GSO_MAX_BYTES 65507
/* A receive slot this large can hold any UDP payload, hence any GRO batch. */
#define IO_UDP_GRO_SLOT_SIZE 65536
/* Default socket buffer size requested at open (both directions). */
#define IO_UDP_DEFAULT_BUFFER_SIZE (4 * 1024 * 1024)

typedef struct io_udp_options {
    int buffer_size;  /* SO_RCVBUF/SO_SNDBUF; 0 = IO_UDP_DEFAULT_BUFFER_SIZE */
    bool disable_gso; /* never send with UDP_SEGMENT */
    bool disable_gro; /* never ask for UDP_GRO */
    /* IP_FREEBIND / IPV6_FREEBIND: bind, and choose as a datagram's source
     * (pktinfo), addresses not configured on an interface, e.g. any of an
     * IPv6 /64 routed to this host as AnyIP (`ip -6 route add local
     * PREFIX dev lo`): a server rotating through a prefix serves it from
     * one wildcard socket. */
    bool freebind;
} io_udp_options;

typedef struct io_udp_socket {
    int fd;
    tern_addr bound;  /* the address actually bound (ephemeral port resolved) */
    bool gso_enabled; /* cleared at run time when the kernel refuses GSO */
    bool gro_enabled; /* the kernel accepted UDP_GRO */
    bool ecn_enabled; /* the kernel accepted IP_RECVTOS / IPV6_RECVTCLASS */
    /* Counters for datagrams the layer had to give up on. */
    uint64_t send_dropped;    /* per-datagram send errors (EMSGSIZE, EHOSTUNREACH...) */
    int last_send_error;      /* errno of the last such drop */
    uint64_t recv_truncated;  /* received datagrams larger than their slot */
} io_udp_socket;

/* One datagram, in either direction. Same fields as the engine's
 * tern_datagram so the tools can copy them member by member.
 * Receive: local is the address the datagram was sent to (from pktinfo),
 * remote its source, segment_size is always 0 (GRO batches are split).
 * Send: local chooses the source address (TERN_AF_NONE or a wildcard: the
 * kernel's choice), segment_size != 0 sends len bytes as segments of
 * segment_size bytes, the last possibly shorter. ecn is the 2-bit IP ECN
 * field (0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE). */
typedef struct io_datagram {
    tern_addr local, remote;
    uint8_t ecn;
    uint8_t *data;
    size_t len;
    size_t segment_size;
} io_datagram;

/* Opens a socket bound to bind_addr (port 0: ephemeral; *bound reports it).
 * IPv6 sockets are IPV6_V6ONLY. options may be NULL. */
int io_udp_open(io_udp_socket *sock, const tern_addr *bind_addr, const io_udp_options *options);
void io_udp_close(io_udp_socket *sock);

/* Receive side. The caller provides the payload storage: slots * slot_size
 * bytes, slot_size at least the largest datagram expected, and
 * IO_UDP_GRO_SLOT_SIZE to receive GRO batches intact (a smaller slot with
 * GRO enabled risks truncation; truncated datagrams are dropped and
 * counted). The batch holds the kernel's message headers and the results of
 * the last io_udp_recv; it is reused for every call. */
typedef struct io_udp_recv_meta {
    tern_addr local, remote;
    uint8_t ecn;
    size_t len;
    size_t segment_size; /* GRO segment size, 0 when not coalesced */
    bool truncated;      /* larger than its slot: skipped by io_udp_recv_next */
} io_udp_recv_meta;

typedef struct io_udp_recv_batch {
    uint8_t *storage;
    size_t slot_size, slots;
    size_t received;                       /* messages from the last io_udp_recv */
    size_t next_message, next_offset;      /* io_udp_recv_next's position */
    struct mmsghdr headers[IO_UDP_BATCH_MAX];
    struct iovec iovecs[IO_UDP_BATCH_MAX];
    struct sockaddr_storage names[IO_UDP_BATCH_MAX];
    /* Room for pktinfo (largest: in6_pktinfo), TOS/TCLASS and GRO cmsgs. */
    union {
        struct cmsghdr align;
        uint8_t bytes[128];
    } control[IO_UDP_BATCH_MAX];
    io_udp_recv_meta meta[IO_UDP_BATCH_MAX];
} io_udp_recv_batch;

/* slots is capped at IO_UDP_BATCH_MAX. */
void io_udp_recv_batch_init(io_udp_recv_batch *batch, uint8_t *storage, size_t slot_size, size_t slots);

/* One recvmmsg. Returns the number of UDP messages received (a GRO message
 * counts once), 0 when nothing is waiting, or a negative errno. EINTR is
 * retried. Then call io_udp_recv_next until it returns false. */
int io_udp_recv(io_udp_socket *sock, io_udp_recv_batch *batch);

/* Next datagram of the last io_udp_recv, GRO batches split into their
 * segments; data points into the caller's storage. */
bool io_udp_recv_next(io_udp_recv_batch *batch, io_datagram *out);

/* Sends datagrams[0..count) with as few sendmmsg calls as possible.
 * Returns how many entries went out completely (count when all did), or a
 * negative errno for errors that concern the socket itself (EBADF...).
 * A return below count means the socket buffer is full (EAGAIN/ENOBUFS):
 * wait for writability or a moment and call again with the rest. When a
 * GSO entry had to be sent segment by segment and only some segments went
 * out, that entry's data/len are advanced past them, so the retry never
 * duplicates. Errors that concern one datagram (EMSGSIZE with DF set,
 * unreachable destination, source address gone) drop that datagram, count
 * it in send_dropped and carry on. When the kernel refuses GSO (EIO or
 * EINVAL) gso_enabled is cleared and the entry is resent split. */
int io_udp_send(io_udp_socket *sock, io_datagram *datagrams, size_t count);

#endif
