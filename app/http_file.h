/* Resolving a request target to something servable: a regular file under
 * the root directory, or the synthetic /bytes/N resource. Shared by h3 and hq. */
#ifndef TERN_APP_HTTP_FILE_H
#define TERN_APP_HTTP_FILE_H

#include <stddef.h>
#include <stdint.h>

#define TERN_HTTP_PATH_MAX 4096
/* Largest N accepted by /bytes/N (1 TiB): bounds a mistyped benchmark. */
#define TERN_HTTP_BYTES_MAX (UINT64_C(1) << 40)

typedef struct tern_http_resource {
    int fd;                   /* -1 for the synthetic pattern */
    uint64_t size;            /* total body size */
    uint64_t offset;          /* next byte to read */
    const char *content_type; /* static string */
    int error;                /* errno of the failed open()/fstat(), else 0 */
} tern_http_resource;

/* Seconds a 503 (an overloaded server: out of file descriptors or memory)
 * asks the client to wait in Retry-After (RFC 9110 §10.2.3). */
#define TERN_HTTP_RETRY_AFTER_S 1

/* Decodes and sanitises target (origin-form, RFC 9110 §7.1): percent-decoding,
 * query dropped, "." and empty segments skipped, ".." rejected. Writes the
 * relative path (no leading '/', "" for the root) to out. Returns 0, or 400
 * for a malformed or escaping target. */
int tern_http_sanitize_path(const char *target, size_t target_len, char *out, size_t out_size);

/* Opens the resource named by target under root. Returns the HTTP status:
 * 200 (res is open), 400 (malformed target), 404 (absent, not a regular
 * file), or, when open()/fstat() fails, tern_http_status_for_errno of its
 * errno, which is then left in res->error (0 otherwise). */
int tern_http_resource_open(const char *root, const char *target, size_t target_len,
                            tern_http_resource *res);
/* The status for a file that cannot be opened or stat'ed: ENOENT, ENOTDIR,
 * ENAMETOOLONG -> 404; EACCES, EPERM -> 403; EMFILE, ENFILE,
 * ENOMEM -> 503 (temporary: the server is short of descriptors or memory);
 * anything else -> 500. */
int tern_http_status_for_errno(int err);

/* Reads up to len body bytes; returns the count (0 at the end) or -1 on an
 * I/O error. */
int64_t tern_http_resource_read(tern_http_resource *res, uint8_t *buf, size_t len);
void tern_http_resource_close(tern_http_resource *res);

/* The deterministic /bytes/N pattern: byte at offset i is i mod 251 (a prime,
 * so the pattern does not line up with power-of-two chunk sizes). */
void tern_http_pattern_fill(uint64_t offset, uint8_t *buf, size_t len);

/* Content type guessed from the file extension. */
const char *tern_http_content_type(const char *path);

#endif
