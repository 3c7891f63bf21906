/* Conversions between tern_addr, the kernel's sockaddr and text. The
 * sockaddr conversions and the formatting wrap the library's public
 * tern_addr_* (tern/addr.h); parsing and comparisons are io's own. */
#ifndef TERN_IO_ADDR_H
#define TERN_IO_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "tern/types.h"

/* Longest text io_addr_format writes: "[" 45-char IPv6 "]:" 5-digit port NUL. */
#define IO_ADDR_STRLEN 56 /* = TERN_ADDR_STRLEN */

/* Fills *storage from addr; returns the sockaddr length, or 0 when addr's
 * family is neither TERN_AF_INET nor TERN_AF_INET6. */
socklen_t io_addr_to_sockaddr(const tern_addr *addr, struct sockaddr_storage *storage);

/* Returns false (and leaves *out as TERN_AF_NONE) for families other than
 * AF_INET/AF_INET6 or a length too short for the family. */
bool io_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, tern_addr *out);

/* Parses "1.2.3.4:443", "[::1]:443" or "name:443" (resolved with
 * getaddrinfo, numeric port only; the first result wins). The port is
 * mandatory and must be 0-65535. Returns 0, or a negative errno:
 * -EINVAL for malformed text, -ENOENT when the name does not resolve. */
int io_addr_parse(const char *text, tern_addr *out);

/* The local address (port 0) the kernel's routing table picks to reach
 * remote: a UDP socket connected to remote, then getsockname; nothing is
 * sent. Returns 0 or a negative errno (-ENETUNREACH: no route). */
int io_addr_route_source(const tern_addr *remote, tern_addr *local);

/* Parses an address prefix "198.18.0.0/15", "2001:db8::/32", or a bare
 * address (a /32 or /128). No port, no names. Returns 0; -EINVAL for
 * malformed text or a length beyond the family's; -ERANGE when bits past
 * the length are set ("10.1.2.3/8": say 10.0.0.0/8), as ip(8) refuses it. */
int io_prefix_parse(const char *text, tern_addr *addr, uint8_t *len);

/* Writes "1.2.3.4:443" or "[::1]:443" (always NUL-terminated when buf_len
 * > 0) and returns the length the full text needs, like snprintf. */
int io_addr_format(const tern_addr *addr, char *buf, size_t buf_len);

bool io_addr_equal(const tern_addr *a, const tern_addr *b);
/* True for 0.0.0.0 and ::, the addresses that mean "any local address". */
bool io_addr_is_wildcard(const tern_addr *addr);
bool io_addr_is_loopback(const tern_addr *addr);

/* Convenience constructors (port in host order, ipv4 as a.b.c.d bytes). */
tern_addr io_addr_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
tern_addr io_addr_v6_loopback(uint16_t port);

#endif
