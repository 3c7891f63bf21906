#include "http_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends one decoded segment, rejecting the ones that would leave the root. */
static int append_segment(const char *seg, size_t len, char *out, size_t *used, size_t out_size)
{
    if (len == 0 || (len == 1 && seg[0] == '.'))
        return 0;
    if (len == 2 && seg[0] == '.' && seg[1] == '.')
        return 400;
    size_t need = len + (*used ? 1 : 0);
    if (*used + need + 1 > out_size)
        return 400;
    if (*used)
        out[(*used)++] = '/';
    memcpy(out + *used, seg, len);
    *used += len;
    out[*used] = '\0';
    return 0;
}

int tern_http_sanitize_path(const char *target, size_t target_len, char *out, size_t out_size)
{
    if (out_size == 0)
        return 400;
    out[0] = '\0';
    /* Only origin-form is servable (RFC 9110 §7.1, RFC 9114 §4.3.1). */
    if (target_len == 0 || target[0] != '/')
        return 400;
    char segment[TERN_HTTP_PATH_MAX];
    size_t seg_len = 0, used = 0;
    for (size_t i = 1; i <= target_len; i++) {
        char c = i < target_len ? target[i] : '/';
        if (c == '?' || c == '#')
            c = '/', target_len = i; /* the query does not name a file */
        if (c == '/') {
            int rc = append_segment(segment, seg_len, out, &used, out_size);
            if (rc)
                return rc;
            seg_len = 0;
            continue;
        }
        if (c == '%') {
            /* Decoded before the ".." check so that %2e%2e cannot sneak past. */
            if (i + 2 >= target_len)
                return 400;
            int hi = hex_value(target[i + 1]), lo = hex_value(target[i + 2]);
            if (hi < 0 || lo < 0)
                return 400;
            c = (char)(hi * 16 + lo);
            i += 2;
            /* An encoded '/' or NUL would change how the path splits. */
            if (c == '/' || c == '\0' || c == '\\')
                return 400;
        } else if ((unsigned char)c < 0x20 || c == 0x7f) {
            return 400;
        }
        if (seg_len + 1 >= sizeof segment)
            return 400;
        segment[seg_len++] = c;
    }
    return 0;
}

const char *tern_http_content_type(const char *path)
{
    /* Text types carry charset=utf-8 (RFC 9110 §8.3.2) so browsers do not
     * guess; application/json has no charset parameter (RFC 8259 §11). */
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"svg", "image/svg+xml"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"pdf", "application/pdf"},
        {"wasm", "application/wasm"},
        {"xml", "application/xml"},
        {"mp4", "video/mp4"},
        {"gz", "application/gzip"},
        {"bin", "application/octet-stream"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            const char *a = dot + 1, *b = types[i].ext;
            while (*a && *b && (*a | 0x20) == *b)
                a++, b++;
            if (!*a && !*b)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}

/* "/bytes/N": N decimal digits only. Returns true and *n when it matches. */
static bool parse_bytes_resource(const char *rel, uint64_t *n, int *status)
{
    static const char prefix[] = "bytes/";
    if (strncmp(rel, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *digits = rel + sizeof prefix - 1;
    uint64_t value = 0;
    if (*digits == '\0') {
        *status = 404;
        return true;
    }
    for (const char *p = digits; *p; p++) {
        if (*p < '0' || *p > '9' || value > TERN_HTTP_BYTES_MAX / 10) {
            *status = 404;
            return true;
        }
        value = value * 10 + (uint64_t)(*p - '0');
    }
    if (value > TERN_HTTP_BYTES_MAX) {
        *status = 404;
        return true;
    }
    *n = value;
    *status = 200;
    return true;
}

int tern_http_status_for_errno(int err)
{
    switch (err) {
    case ENOENT:  /* absent, or a dangling symlink */
    case ENOTDIR: /* a path component is a file: "/f.txt/x" */
    case ENAMETOOLONG: /* a name longer than the file system allows: absent */
        return 404;
    case EACCES:
    case EPERM:
        return 403; /* RFC 9110 §15.5.4: understood, refused */
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        /* RFC 9110 §15.6.4: a temporary overload; the file exists and a
         * later request may well succeed, so not 404. */
        return 503;
    default:
        return 500;
    }
}

/* An open() or fstat() of the file failed with err: the status for it,
 * err kept for the caller's log line. */
static int open_failed(tern_http_resource *res, int err)
{
    res->error = err;
    return tern_http_status_for_errno(err);
}

int tern_http_resource_open(const char *root, const char *target, size_t target_len,
                            tern_http_resource *res)
{
    memset(res, 0, sizeof *res);
    res->fd = -1;
    char rel[TERN_HTTP_PATH_MAX];
    int status = tern_http_sanitize_path(target, target_len, rel, sizeof rel);
    if (status)
        return status;

    uint64_t n;
    if (parse_bytes_resource(rel, &n, &status)) {
        if (status == 200) {
            res->size = n;
            res->content_type = "application/octet-stream";
        }
        return status;
    }

    char full[TERN_HTTP_PATH_MAX + 64];
    int len = snprintf(full, sizeof full, "%s/%s", root, rel);
    if (len < 0 || (size_t)len >= sizeof full - sizeof "/index.html")
        return 404;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer and stall every connection of the server; it has no effect
     * on the regular files we serve. */
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return open_failed(res, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return open_failed(res, err);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        snprintf(full + len, sizeof full - (size_t)len, "%s", "/index.html");
        fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            return open_failed(res, errno);
        if (fstat(fd, &st) != 0) {
            int err = errno;
            close(fd);
            return open_failed(res, err);
        }
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return 404;
    }
    res->fd = fd;
    res->size = (uint64_t)st.st_size;
    res->content_type = tern_http_content_type(full);
    return 200;
}

void tern_http_pattern_fill(uint64_t offset, uint8_t *buf, size_t len)
{
    unsigned value = (unsigned)(offset % 251);
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)value;
        if (++value == 251)
            value = 0;
    }
}

int64_t tern_http_resource_read(tern_http_resource *res, uint8_t *buf, size_t len)
{
    uint64_t left = res->size - res->offset;
    if (len > left)
        len = (size_t)left;
    if (len == 0)
        return 0;
    if (res->fd < 0) {
        tern_http_pattern_fill(res->offset, buf, len);
        res->offset += len;
        return (int64_t)len;
    }
    for (;;) {
        ssize_t n = pread(res->fd, buf, len, (off_t)res->offset);
        if (n < 0 && errno == EINTR)
            continue;
        /* A file that shrank under us cannot honour its content-length. */
        if (n <= 0)
            return -1;
        res->offset += (uint64_t)n;
        return n;
    }
}

void tern_http_resource_close(tern_http_resource *res)
{
    if (res->fd >= 0)
        close(res->fd);
    res->fd = -1;
}
