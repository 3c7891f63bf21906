#define _GNU_SOURCE
#include "output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ".NAME.XXXXXX" must fit NAME_MAX (255): long names are cut. */
#define TMP_NAME_KEEP 200

int tc_out_open(tc_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0; /* with the '/' */
    const char *base = path + dir_len;
    size_t base_len = strlen(base);
    if (base_len == 0) return -EISDIR; /* "dir/" */
    if (base_len > TMP_NAME_KEEP) base_len = TMP_NAME_KEEP;
    size_t tlen = dir_len + 1 + base_len + 8;
    o->path = strdup(path);
    o->tmp = malloc(tlen);
    if (!o->path || !o->tmp) {
        free(o->path);
        free(o->tmp);
        o->path = o->tmp = NULL;
        return -ENOMEM;
    }
    snprintf(o->tmp, tlen, "%.*s.%.*s.XXXXXX", (int)dir_len, path, (int)base_len, base);
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        free(o->path);
        o->path = NULL;
        return -e;
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        free(o->path);
        o->path = NULL;
        return -e;
    }
    setvbuf(o->f, NULL, _IOFBF, 1 << 20);
    return 0;
}

static int failed(tc_out *o, int e)
{
    if (!o->err) o->err = e ? e : EIO;
    tc_out_discard(o);
    return -o->err;
}

int tc_out_write(tc_out *o, const void *data, size_t len)
{
    if (o->err) return -o->err;
    if (!o->f) return -EBADF;
    if (len && fwrite(data, 1, len, o->f) != len) return failed(o, errno);
    return 0;
}

int tc_out_commit(tc_out *o)
{
    if (o->err) return -o->err;
    if (!o->f) return -EBADF;
    if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0) return failed(o, errno);
    mode_t mode;
    struct stat sb;
    if (stat(o->path, &sb) == 0 && S_ISREG(sb.st_mode)) {
        mode = sb.st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    if (fchmod(fileno(o->f), mode) != 0) return failed(o, errno);
    int r = fclose(o->f);
    o->f = NULL;
    if (r != 0) return failed(o, errno);
    if (rename(o->tmp, o->path) != 0) return failed(o, errno);
    free(o->tmp);
    o->tmp = NULL;
    o->saved = true;
    return 0;
}

void tc_out_discard(tc_out *o)
{
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
    }
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}

void tc_out_free(tc_out *o)
{
    tc_out_discard(o);
    free(o->path);
    o->path = NULL;
}

static int hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int tc_out_name(const char *url_path, char *name, size_t len, const char **why)
{
    const char *end = url_path + strcspn(url_path, "?#");
    const char *base = end;
    while (base > url_path && base[-1] != '/') base--;
    if (base == end) {
        if (len < sizeof "index.html") {
            *why = "name too long";
            return -1;
        }
        memcpy(name, "index.html", sizeof "index.html");
        return 0;
    }
    size_t n = 0;
    for (const char *p = base; p < end; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int h = p + 1 < end ? hex(p[1]) : -1, l = p + 2 < end ? hex(p[2]) : -1;
            if (h < 0 || l < 0) {
                *why = "a '%' not followed by two hex digits";
                return -1;
            }
            c = h * 16 + l;
            p += 2;
        }
        if (c == 0) {
            *why = "the decoded name contains NUL";
            return -1;
        }
        if (c == '/') {
            *why = "the decoded name contains '/'";
            return -1;
        }
        if (c < 0x20 || c == 0x7f) {
            *why = "the decoded name contains a control character";
            return -1;
        }
        if (n + 1 >= len || n >= 255) {
            *why = "the decoded name is longer than 255 bytes";
            return -1;
        }
        name[n++] = (char)c;
    }
    name[n] = 0;
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        *why = "the name is '.' or '..'";
        return -1;
    }
    return 0;
}
