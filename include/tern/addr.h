/* Conversions between tern_addr (tern/types.h) and the POSIX socket
 * address structures, and printing. The core library never touches a
 * socket; these helpers exist so that an application's recvmsg/sendmsg
 * loop can hand addresses to tern_endpoint_recv and take them from
 * tern_datagram without writing the conversions itself. They are pure
 * functions: any thread, any time, no endpoint needed. */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#include "tern/error.h"
#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest text tern_addr_format writes, NUL included:
 * "[" + 45-character IPv6 + "]:" + 5-digit port + NUL. */
#define TERN_ADDR_STRLEN 56

/* *out = the address and port of sa (struct sockaddr_in with AF_INET,
 * struct sockaddr_in6 with AF_INET6; a struct sockaddr_storage holding
 * either works too), len being its length as the kernel returned it
 * (recvfrom, getsockname, getaddrinfo's ai_addrlen). IPv6 scope IDs and
 * flow labels are not kept. Errors (*out is then TERN_AF_NONE):
 *   TERN_ERR_INVALID_ARGUMENT  out or sa NULL, a family other than
 *                              AF_INET/AF_INET6, or len shorter than the
 *                              family's structure. */
tern_err tern_addr_from_sockaddr(tern_addr *out, const struct sockaddr *sa, socklen_t len);

/* Fills *ss (zeroed first) with addr as a struct sockaddr_in or
 * sockaddr_in6 and *len (may be NULL) with that structure's size, ready
 * for sendto/bind/connect. Errors (*len is then 0):
 *   TERN_ERR_INVALID_ARGUMENT  addr or ss NULL, or addr->family is
 *                              neither TERN_AF_INET nor TERN_AF_INET6. */
tern_err tern_addr_to_sockaddr(const tern_addr *addr, struct sockaddr_storage *ss, socklen_t *len);

/* Writes "192.0.2.1:443" or "[2001:db8::1]:443" ("(none)" for
 * TERN_AF_NONE or an unknown family, "(null)" for addr NULL) into
 * buf[0..buf_len), always NUL-terminated when buf_len > 0, and returns the
 * length the full text needs without the NUL, like snprintf: a return
 * >= buf_len means it was truncated. TERN_ADDR_STRLEN bytes always fit.
 * buf may be NULL when buf_len is 0. Never fails. */
int tern_addr_format(const tern_addr *addr, char *buf, size_t buf_len);

#ifdef __cplusplus
}
#endif

#endif
