/* tern_addr helpers: construction, parsing, formatting, ownership. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

tern_addr sim_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    tern_addr addr = {.family = TERN_AF_INET, .port = port};
    addr.ip[0] = a;
    addr.ip[1] = b;
    addr.ip[2] = c;
    addr.ip[3] = d;
    return addr;
}

static bool parse_port(const char *text, uint16_t *port)
{
    if (*text == '\0')
        return false;
    unsigned long value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        value = value * 10 + (unsigned long)(*p - '0');
        if (value > 65535)
            return false;
    }
    *port = (uint16_t)value;
    return true;
}

bool sim_addr_parse(const char *text, tern_addr *out)
{
    char host[INET6_ADDRSTRLEN];
    const char *port_text = NULL;
    size_t host_len;
    tern_addr addr = {0};

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return false;
        host_len = (size_t)(close - text - 1);
        if (close[1] == ':')
            port_text = close + 2;
        else if (close[1] != '\0')
            return false;
        text++;
        addr.family = TERN_AF_INET6;
    } else {
        const char *first_colon = strchr(text, ':');
        if (first_colon && strchr(first_colon + 1, ':')) {
            /* Several colons and no brackets: a bare IPv6 address. */
            host_len = strlen(text);
            addr.family = TERN_AF_INET6;
        } else {
            host_len = first_colon ? (size_t)(first_colon - text) : strlen(text);
            port_text = first_colon ? first_colon + 1 : NULL;
            addr.family = TERN_AF_INET;
        }
    }
    if (host_len == 0 || host_len >= sizeof host)
        return false;
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    if (inet_pton(addr.family == TERN_AF_INET ? AF_INET : AF_INET6, host, addr.ip) != 1)
        return false;
    if (port_text && !parse_port(port_text, &addr.port))
        return false;
    *out = addr;
    return true;
}

tern_addr sim_addr(const char *text)
{
    tern_addr addr;
    if (!sim_addr_parse(text, &addr)) {
        fprintf(stderr, "sim_addr: malformed address \"%s\"\n", text);
        abort();
    }
    return addr;
}

static size_t ip_len(uint8_t family)
{
    return family == TERN_AF_INET ? 4 : family == TERN_AF_INET6 ? 16 : 0;
}

bool sim_addr_equal(const tern_addr *a, const tern_addr *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, ip_len(a->family)) == 0;
}

bool sim_addr_owned_by(const tern_addr *owned, const tern_addr *addr)
{
    return owned->family == addr->family && (owned->port == 0 || owned->port == addr->port) &&
           memcmp(owned->ip, addr->ip, ip_len(addr->family)) == 0;
}

const char *sim_addr_format(const tern_addr *addr, char *buf, size_t buflen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (buflen == 0)
        return buf;
    if (addr->family == TERN_AF_INET) {
        inet_ntop(AF_INET, addr->ip, host, sizeof host);
        snprintf(buf, buflen, "%s:%u", host, (unsigned)addr->port);
    } else if (addr->family == TERN_AF_INET6) {
        inet_ntop(AF_INET6, addr->ip, host, sizeof host);
        snprintf(buf, buflen, "[%s]:%u", host, (unsigned)addr->port);
    } else {
        snprintf(buf, buflen, "none");
    }
    return buf;
}

bool sim_grow(void **array, size_t *capacity, size_t needed, size_t element_size)
{
    if (needed <= *capacity)
        return true;
    size_t new_capacity = *capacity ? *capacity : 16;
    while (new_capacity < needed)
        new_capacity *= 2;
    void *grown = realloc(*array, new_capacity * element_size);
    if (!grown)
        return false;
    *array = grown;
    *capacity = new_capacity;
    return true;
}
