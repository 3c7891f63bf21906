#define _GNU_SOURCE
#include "addr.h"

#include "tern/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The conversions are the library's public ones (tern/addr.h). */
socklen_t io_addr_to_sockaddr(const tern_addr *addr, struct sockaddr_storage *storage)
{
    socklen_t len = 0;
    (void)tern_addr_to_sockaddr(addr, storage, &len);
    return len;
}

bool io_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, tern_addr *out)
{
    return tern_addr_from_sockaddr(out, sa, len) == TERN_OK;
}

static bool parse_port(const char *text, uint16_t *port)
{
    if (*text == '\0' || strlen(text) > 5)
        return false;
    unsigned long value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        value = value * 10 + (unsigned long)(*p - '0');
    }
    if (value > 65535)
        return false;
    *port = (uint16_t)value;
    return true;
}

static int resolve_host(const char *host, uint16_t port, tern_addr *out)
{
    struct in_addr v4;
    struct in6_addr v6;
    memset(out, 0, sizeof(*out));
    out->port = port;
    if (inet_pton(AF_INET, host, &v4) == 1) {
        out->family = TERN_AF_INET;
        memcpy(out->ip, &v4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6) == 1) {
        out->family = TERN_AF_INET6;
        memcpy(out->ip, &v6, 16);
        return 0;
    }
    /* Not a literal: ask the resolver, which consults /etc/hosts first. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *results = NULL;
    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &results) != 0 || results == NULL)
        return -ENOENT;
    bool found = io_addr_from_sockaddr(results->ai_addr, results->ai_addrlen, out);
    freeaddrinfo(results);
    return found ? 0 : -ENOENT;
}

int io_addr_parse(const char *text, tern_addr *out)
{
    char host[256];
    const char *port_text;
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return -EINVAL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host) || close == text + 1)
            return -EINVAL;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port_text = close + 2;
        struct in6_addr v6;
        /* Brackets are for IPv6 literals only: "[1.2.3.4]" or "[name]" is a typo. */
        if (inet_pton(AF_INET6, host, &v6) != 1)
            return -EINVAL;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof(host))
            return -EINVAL;
        /* A bare IPv6 literal has several colons and needs brackets to tell the port apart. */
        if (memchr(text, ':', (size_t)(colon - text)) != NULL)
            return -EINVAL;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port_text = colon + 1;
    }
    uint16_t port;
    if (!parse_port(port_text, &port))
        return -EINVAL;
    int rc = resolve_host(host, port, out);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int io_addr_format(const tern_addr *addr, char *buf, size_t buf_len)
{
    return tern_addr_format(addr, buf, buf_len);
}

bool io_addr_equal(const tern_addr *a, const tern_addr *b)
{
    if (a->family != b->family || a->port != b->port)
        return false;
    size_t ip_len = a->family == TERN_AF_INET ? 4 : a->family == TERN_AF_INET6 ? 16 : 0;
    return memcmp(a->ip, b->ip, ip_len) == 0;
}

bool io_addr_is_wildcard(const tern_addr *addr)
{
    static const uint8_t zeros[16];
    if (addr->family == TERN_AF_INET)
        return memcmp(addr->ip, zeros, 4) == 0;
    if (addr->family == TERN_AF_INET6)
        return memcmp(addr->ip, zeros, 16) == 0;
    return false;
}

bool io_addr_is_loopback(const tern_addr *addr)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (addr->family == TERN_AF_INET)
        return addr->ip[0] == 127;
    if (addr->family == TERN_AF_INET6)
        return memcmp(addr->ip, v6_loopback, 16) == 0;
    return false;
}

tern_addr io_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    tern_addr addr = {.family = TERN_AF_INET, .port = port, .ip = {a, b, c, d}};
    return addr;
}

tern_addr io_addr_v6_loopback(uint16_t port)
{
    tern_addr addr = {.family = TERN_AF_INET6, .port = port, .ip = {[15] = 1}};
    return addr;
}

int io_prefix_parse(const char *text, tern_addr *addr, uint8_t *len)
{
    char host[64];
    memset(addr, 0, sizeof(*addr));
    if (text == NULL)
        return -EINVAL;
    const char *slash = strchr(text, '/');
    size_t hl = slash ? (size_t)(slash - text) : strlen(text);
    if (hl == 0 || hl >= sizeof(host))
        return -EINVAL;
    memcpy(host, text, hl);
    host[hl] = '\0';
    unsigned max;
    if (inet_pton(AF_INET, host, addr->ip) == 1) {
        addr->family = TERN_AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, addr->ip) == 1) {
        addr->family = TERN_AF_INET6;
        max = 128;
    } else {
        memset(addr, 0, sizeof(*addr));
        return -EINVAL;
    }
    unsigned bits = max;
    if (slash) {
        const char *d = slash + 1;
        if (*d == '\0' || strlen(d) > 3)
            return -EINVAL;
        bits = 0;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return -EINVAL;
            bits = bits * 10 + (unsigned)(*d - '0');
        }
        if (bits > max)
            return -EINVAL;
    }
    for (unsigned i = bits; i < max; i++)
        if (addr->ip[i / 8] & (0x80u >> (i % 8)))
            return -ERANGE;
    *len = (uint8_t)bits;
    return 0;
}

int io_addr_route_source(const tern_addr *remote, tern_addr *local)
{
    struct sockaddr_storage ss, ls;
    socklen_t l = io_addr_to_sockaddr(remote, &ss), ll = sizeof(ls);
    memset(local, 0, sizeof(*local));
    if (l == 0)
        return -EINVAL;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r = 0;
    if (connect(fd, (struct sockaddr *)&ss, l) != 0 || getsockname(fd, (struct sockaddr *)&ls, &ll) != 0)
        r = -errno;
    else if (!io_addr_from_sockaddr((struct sockaddr *)&ls, ll, local))
        r = -EINVAL;
    close(fd);
    local->port = 0;
    return r;
}
