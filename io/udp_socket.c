#define _GNU_SOURCE
#include "udp_socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"

#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif

/* The ECN field is the low two bits of the IPv4 TOS / IPv6 traffic class. */
#define ECN_MASK 0x03

static int set_int_option(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

/* The *FORCE variants exceed net.core.[rw]mem_max but need CAP_NET_ADMIN;
 * without it the plain option still gets up to the sysctl limit. */
static void set_buffer_size(int fd, int force_name, int plain_name, int size)
{
    if (set_int_option(fd, SOL_SOCKET, force_name, size) != 0)
        (void)set_int_option(fd, SOL_SOCKET, plain_name, size);
}

static int configure_socket(io_udp_socket *sock, int family, const io_udp_options *options)
{
    int fd = sock->fd;
    int buffer_size = options->buffer_size > 0 ? options->buffer_size : IO_UDP_DEFAULT_BUFFER_SIZE;
    set_buffer_size(fd, SO_RCVBUFFORCE, SO_RCVBUF, buffer_size);
    set_buffer_size(fd, SO_SNDBUFFORCE, SO_SNDBUF, buffer_size);

    int rc;
    if (family == AF_INET6) {
        /* One family per socket keeps every address a plain IPv6 or IPv4
         * one, never a v4-mapped IPv6 address. */
        if ((rc = set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) != 0)
            return rc;
        if ((rc = set_int_option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) != 0)
            return rc;
        sock->ecn_enabled = set_int_option(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1) == 0;
        /* RFC 9000 §14: QUIC datagrams must not be fragmented. */
        if ((rc = set_int_option(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)) != 0)
            return rc;
        if (options->freebind && (rc = set_int_option(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1)) != 0)
            return rc;
    } else {
        if ((rc = set_int_option(fd, IPPROTO_IP, IP_PKTINFO, 1)) != 0)
            return rc;
        sock->ecn_enabled = set_int_option(fd, IPPROTO_IP, IP_RECVTOS, 1) == 0;
        if ((rc = set_int_option(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)) != 0)
            return rc;
        if (options->freebind && (rc = set_int_option(fd, IPPROTO_IP, IP_FREEBIND, 1)) != 0)
            return rc;
    }

    if (!options->disable_gso) {
        /* Kernels without UDP_SEGMENT (before 4.18) reject the getsockopt. */
        int segment = 0;
        socklen_t segment_len = sizeof(segment);
        sock->gso_enabled = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &segment, &segment_len) == 0;
    }
    if (!options->disable_gro)
        sock->gro_enabled = set_int_option(fd, SOL_UDP, UDP_GRO, 1) == 0;
    return 0;
}

int io_udp_open(io_udp_socket *sock, const tern_addr *bind_addr, const io_udp_options *options)
{
    static const io_udp_options default_options;
    memset(sock, 0, sizeof(*sock));
    sock->fd = -1;
    if (options == NULL)
        options = &default_options;

    struct sockaddr_storage storage;
    socklen_t storage_len = io_addr_to_sockaddr(bind_addr, &storage);
    if (storage_len == 0)
        return -EAFNOSUPPORT;
    int family = storage.ss_family;

    sock->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (sock->fd < 0)
        return -errno;
    int rc = configure_socket(sock, family, options);
    if (rc == 0 && bind(sock->fd, (struct sockaddr *)&storage, storage_len) != 0)
        rc = -errno;
    if (rc == 0) {
        storage_len = sizeof(storage);
        if (getsockname(sock->fd, (struct sockaddr *)&storage, &storage_len) != 0)
            rc = -errno;
        else if (!io_addr_from_sockaddr((struct sockaddr *)&storage, storage_len, &sock->bound))
            rc = -EAFNOSUPPORT;
    }
    if (rc != 0)
        io_udp_close(sock);
    return rc;
}

void io_udp_close(io_udp_socket *sock)
{
    if (sock->fd >= 0)
        close(sock->fd);
    sock->fd = -1;
}

/* ---- receive ---- */

void io_udp_recv_batch_init(io_udp_recv_batch *batch, uint8_t *storage, size_t slot_size, size_t slots)
{
    memset(batch, 0, sizeof(*batch));
    batch->storage = storage;
    batch->slot_size = slot_size;
    batch->slots = slots < IO_UDP_BATCH_MAX ? slots : IO_UDP_BATCH_MAX;
}

static uint8_t read_ecn(const struct cmsghdr *cmsg)
{
    /* IP_TOS arrives as one byte, IPV6_TCLASS as an int. */
    size_t payload = cmsg->cmsg_len - CMSG_LEN(0);
    if (payload >= sizeof(int)) {
        int value;
        memcpy(&value, CMSG_DATA(cmsg), sizeof(value));
        return (uint8_t)(value & ECN_MASK);
    }
    if (payload >= 1)
        return (uint8_t)(CMSG_DATA(cmsg)[0] & ECN_MASK);
    return 0;
}

static void parse_control(const io_udp_socket *sock, struct msghdr *msg, io_udp_recv_meta *meta)
{
    /* Without pktinfo (never expected) the bound address is the best guess. */
    meta->local = sock->bound;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL; cmsg = CMSG_NXTHDR(msg, cmsg)) {
        if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
            /* ipi_addr is the header's destination; ipi_spec_dst would be
             * the routing's preferred source, not what the peer used. */
            meta->local.family = TERN_AF_INET;
            memset(meta->local.ip, 0, sizeof(meta->local.ip));
            memcpy(meta->local.ip, &info.ipi_addr, 4);
        } else if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
            meta->local.family = TERN_AF_INET6;
            memcpy(meta->local.ip, &info.ipi6_addr, 16);
        } else if ((cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_TOS) ||
                   (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_TCLASS)) {
            meta->ecn = read_ecn(cmsg);
        } else if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO) {
            int segment_size;
            memcpy(&segment_size, CMSG_DATA(cmsg), sizeof(segment_size));
            meta->segment_size = segment_size > 0 ? (size_t)segment_size : 0;
        }
    }
    meta->local.port = sock->bound.port;
}

int io_udp_recv(io_udp_socket *sock, io_udp_recv_batch *batch)
{
    batch->received = 0;
    batch->next_message = 0;
    batch->next_offset = 0;
    for (size_t i = 0; i < batch->slots; i++) {
        batch->iovecs[i].iov_base = batch->storage + i * batch->slot_size;
        batch->iovecs[i].iov_len = batch->slot_size;
        struct msghdr *msg = &batch->headers[i].msg_hdr;
        msg->msg_name = &batch->names[i];
        msg->msg_namelen = sizeof(batch->names[i]);
        msg->msg_iov = &batch->iovecs[i];
        msg->msg_iovlen = 1;
        msg->msg_control = batch->control[i].bytes;
        msg->msg_controllen = sizeof(batch->control[i].bytes);
        msg->msg_flags = 0;
        batch->headers[i].msg_len = 0;
    }

    int received;
    do {
        received = recvmmsg(sock->fd, batch->headers, (unsigned)batch->slots, 0, NULL);
    } while (received < 0 && errno == EINTR);
    if (received < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;

    for (int i = 0; i < received; i++) {
        struct msghdr *msg = &batch->headers[i].msg_hdr;
        io_udp_recv_meta *meta = &batch->meta[i];
        memset(meta, 0, sizeof(*meta));
        meta->len = batch->headers[i].msg_len;
        io_addr_from_sockaddr(msg->msg_name, msg->msg_namelen, &meta->remote);
        parse_control(sock, msg, meta);
        if (msg->msg_flags & MSG_TRUNC) {
            meta->truncated = true;
            sock->recv_truncated++;
        }
    }
    batch->received = (size_t)received;
    return received;
}

bool io_udp_recv_next(io_udp_recv_batch *batch, io_datagram *out)
{
    while (batch->next_message < batch->received) {
        const io_udp_recv_meta *meta = &batch->meta[batch->next_message];
        size_t remaining = meta->len - batch->next_offset;
        if (meta->truncated || (remaining == 0 && batch->next_offset > 0)) {
            batch->next_message++;
            batch->next_offset = 0;
            continue;
        }
        size_t take = remaining;
        if (meta->segment_size != 0 && meta->segment_size < remaining)
            take = meta->segment_size;
        memset(out, 0, sizeof(*out));
        out->local = meta->local;
        out->remote = meta->remote;
        out->ecn = meta->ecn;
        out->data = batch->storage + batch->next_message * batch->slot_size + batch->next_offset;
        out->len = take;
        batch->next_offset += take;
        if (batch->next_offset >= meta->len) {
            batch->next_message++;
            batch->next_offset = 0;
        }
        return true;
    }
    return false;
}

/* ---- send ---- */

/* One sendmmsg message: a slice of one caller entry. */
typedef struct send_slice {
    size_t entry;
    size_t offset, len;
    size_t gso_size; /* 0: a single datagram */
} send_slice;

typedef struct send_space {
    struct mmsghdr headers[IO_UDP_BATCH_MAX];
    struct iovec iovecs[IO_UDP_BATCH_MAX];
    struct sockaddr_storage names[IO_UDP_BATCH_MAX];
    union {
        struct cmsghdr align;
        uint8_t bytes[128];
    } control[IO_UDP_BATCH_MAX];
    send_slice slices[IO_UDP_BATCH_MAX];
} send_space;

static struct cmsghdr *append_cmsg(struct msghdr *msg, int level, int type, const void *data, size_t len)
{
    struct cmsghdr *cmsg = (struct cmsghdr *)((uint8_t *)msg->msg_control + msg->msg_controllen);
    memset(cmsg, 0, CMSG_SPACE(len));
    cmsg->cmsg_level = level;
    cmsg->cmsg_type = type;
    cmsg->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(cmsg), data, len);
    msg->msg_controllen += CMSG_SPACE(len);
    return cmsg;
}

static void build_message(const io_udp_socket *sock, const io_datagram *entry, const send_slice *slice,
                          send_space *space, size_t index)
{
    struct msghdr *msg = &space->headers[index].msg_hdr;
    memset(msg, 0, sizeof(*msg));
    space->iovecs[index].iov_base = entry->data + slice->offset;
    space->iovecs[index].iov_len = slice->len;
    msg->msg_iov = &space->iovecs[index];
    msg->msg_iovlen = 1;
    msg->msg_name = &space->names[index];
    msg->msg_namelen = io_addr_to_sockaddr(&entry->remote, &space->names[index]);
    msg->msg_control = space->control[index].bytes;
    msg->msg_controllen = 0;

    bool choose_source = entry->local.family == sock->bound.family && !io_addr_is_wildcard(&entry->local);
    int tos = entry->ecn & ECN_MASK;
    if (sock->bound.family == TERN_AF_INET6) {
        if (choose_source) {
            struct in6_pktinfo info = {0};
            memcpy(&info.ipi6_addr, entry->local.ip, 16);
            append_cmsg(msg, IPPROTO_IPV6, IPV6_PKTINFO, &info, sizeof(info));
        }
        if (tos != 0)
            append_cmsg(msg, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
    } else {
        if (choose_source) {
            /* ipi_spec_dst sets the source; ifindex 0 lets routing pick the device. */
            struct in_pktinfo info = {0};
            memcpy(&info.ipi_spec_dst, entry->local.ip, 4);
            append_cmsg(msg, IPPROTO_IP, IP_PKTINFO, &info, sizeof(info));
        }
        if (tos != 0)
            append_cmsg(msg, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
    }
    if (slice->gso_size != 0) {
        uint16_t segment = (uint16_t)slice->gso_size;
        append_cmsg(msg, SOL_UDP, UDP_SEGMENT, &segment, sizeof(segment));
    }
    if (msg->msg_controllen == 0)
        msg->msg_control = NULL;
}

/* Cuts entries from (entry, offset) into at most IO_UDP_BATCH_MAX slices:
 * a GSO entry becomes chunks of at most IO_UDP_GSO_MAX_SEGMENTS segments,
 * or single segments once GSO is off. */
static size_t plan_slices(const io_udp_socket *sock, const io_datagram *datagrams, size_t count, size_t entry,
                          size_t offset, send_slice *slices)
{
    size_t planned = 0;
    while (entry < count && planned < IO_UDP_BATCH_MAX) {
        const io_datagram *d = &datagrams[entry];
        /* A foreign-family entry ends the plan; io_udp_send drops it as head. */
        if (d->remote.family != sock->bound.family && planned > 0)
            break;
        size_t remaining = d->len - offset;
        send_slice *slice = &slices[planned++];
        slice->entry = entry;
        slice->offset = offset;
        slice->gso_size = 0;
        slice->len = remaining;
        if (d->segment_size != 0 && d->segment_size < remaining) {
            /* UDP_SEGMENT takes a 16-bit size; anything larger is a single datagram anyway. */
            if (sock->gso_enabled && d->segment_size <= UINT16_MAX) {
                size_t segments = IO_UDP_GSO_MAX_BYTES / d->segment_size;
                if (segments > IO_UDP_GSO_MAX_SEGMENTS)
                    segments = IO_UDP_GSO_MAX_SEGMENTS;
                if (segments == 0)
                    segments = 1;
                size_t chunk = d->segment_size * segments;
                slice->len = remaining < chunk ? remaining : chunk;
                if (slice->len > d->segment_size)
                    slice->gso_size = d->segment_size;
            } else {
                slice->len = d->segment_size;
            }
        }
        offset += slice->len;
        if (offset >= d->len) {
            entry++;
            offset = 0;
        }
    }
    return planned;
}

static bool is_socket_error(int error)
{
    return error == EBADF || error == ENOTSOCK || error == EFAULT || error == EOPNOTSUPP;
}

int io_udp_send(io_udp_socket *sock, io_datagram *datagrams, size_t count)
{
    send_space space;
    size_t entry = 0, offset = 0;

    while (entry < count) {
        if (datagrams[entry].remote.family != sock->bound.family) {
            /* Caught here because the kernel's EINVAL for it would look
             * like a GSO refusal. */
            sock->send_dropped++;
            sock->last_send_error = EAFNOSUPPORT;
            entry++;
            offset = 0;
            continue;
        }
        size_t planned = plan_slices(sock, datagrams, count, entry, offset, space.slices);
        for (size_t i = 0; i < planned; i++)
            build_message(sock, &datagrams[space.slices[i].entry], &space.slices[i], &space, i);

        int sent = sendmmsg(sock->fd, space.headers, (unsigned)planned, 0);
        size_t skip = 0;
        if (sent < 0) {
            int error = errno;
            const send_slice *head = &space.slices[0];
            if (error == EINTR)
                continue;
            if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS)
                break; /* the caller retries from what we report */
            if ((error == EIO || error == EINVAL) && head->gso_size != 0 && sock->gso_enabled) {
                /* EIO: no checksum offload on the route; EINVAL: e.g.
                 * segment too large for the device. Either way the kernel
                 * cannot segment for us: do it ourselves from now on. */
                sock->gso_enabled = false;
                continue;
            }
            if (is_socket_error(error))
                return -error;
            /* The head datagram cannot go out (EMSGSIZE under DF, no
             * route, source address removed...): drop it, keep going. */
            sock->send_dropped++;
            sock->last_send_error = error;
            skip = 1;
        } else {
            skip = (size_t)sent;
        }
        for (size_t i = 0; i < skip; i++) {
            const send_slice *slice = &space.slices[i];
            entry = slice->entry;
            offset = slice->offset + slice->len;
            if (offset >= datagrams[entry].len) {
                entry++;
                offset = 0;
            }
        }
    }
    if (entry < count && offset > 0) {
        datagrams[entry].data += offset;
        datagrams[entry].len -= offset;
    }
    return (int)entry;
}
