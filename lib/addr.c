/* Public address helpers (tern/addr.h). */
#include "tern/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

tern_err tern_addr_from_sockaddr(tern_addr *out, const struct sockaddr *sa, socklen_t len)
{
    if (!out) return TERN_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (!sa || len < (socklen_t)sizeof sa->sa_family) return TERN_ERR_INVALID_ARGUMENT;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin); /* sa may be unaligned for the type */
        out->family = TERN_AF_INET;
        out->port = ntohs(sin.sin_port);
        memcpy(out->ip, &sin.sin_addr, 4);
        return TERN_OK;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        out->family = TERN_AF_INET6;
        out->port = ntohs(sin6.sin6_port);
        memcpy(out->ip, &sin6.sin6_addr, 16);
        return TERN_OK;
    }
    return TERN_ERR_INVALID_ARGUMENT;
}

tern_err tern_addr_to_sockaddr(const tern_addr *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    if (len) *len = 0;
    if (!ss) return TERN_ERR_INVALID_ARGUMENT;
    memset(ss, 0, sizeof *ss);
    if (!addr) return TERN_ERR_INVALID_ARGUMENT;
    if (addr->family == TERN_AF_INET) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons(addr->port);
        memcpy(&sin.sin_addr, addr->ip, 4);
        memcpy(ss, &sin, sizeof sin);
        if (len) *len = (socklen_t)sizeof sin;
        return TERN_OK;
    }
    if (addr->family == TERN_AF_INET6) {
        struct sockaddr_in6 sin6;
        memset(&sin6, 0, sizeof sin6);
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(addr->port);
        memcpy(&sin6.sin6_addr, addr->ip, 16);
        memcpy(ss, &sin6, sizeof sin6);
        if (len) *len = (socklen_t)sizeof sin6;
        return TERN_OK;
    }
    return TERN_ERR_INVALID_ARGUMENT;
}

int tern_addr_format(const tern_addr *addr, char *buf, size_t buf_len)
{
    char ip[INET6_ADDRSTRLEN];
    if (!addr) return snprintf(buf, buf_len, "(null)");
    if (addr->family == TERN_AF_INET && inet_ntop(AF_INET, addr->ip, ip, sizeof ip))
        return snprintf(buf, buf_len, "%s:%u", ip, (unsigned)addr->port);
    if (addr->family == TERN_AF_INET6 && inet_ntop(AF_INET6, addr->ip, ip, sizeof ip))
        return snprintf(buf, buf_len, "[%s]:%u", ip, (unsigned)addr->port);
    return snprintf(buf, buf_len, "(none)");
}
