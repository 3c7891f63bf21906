#define _GNU_SOURCE
#include "qlog_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl.h"

#define QLOG_BUF_SIZE (64 * 1024)

struct tl_qlog_file {
    tl_qlog_dir *q;
    FILE *f;
    char *path;
    tl_qlog_file *prev, *next;
    bool failed;
};

int tl_make_dirs(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p) return -ENAMETOOLONG;
    memcpy(p, dir, n + 1);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) return -errno;
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) return -errno;
    struct stat sb;
    if (stat(p, &sb) != 0) return -errno;
    if (!S_ISDIR(sb.st_mode)) return -ENOTDIR;
    return 0;
}

int tl_qlog_dir_open(tl_qlog_dir *q, const char *dir, char *err, size_t err_len)
{
    memset(q, 0, sizeof *q);
    q->max_open = TL_QLOG_DEFAULT_MAX_OPEN;
    if (!dir) return 0;
    int r = tl_make_dirs(dir);
    if (r < 0) {
        snprintf(err, err_len, "cannot create --qlog-dir %s: %s", dir, strerror(-r));
        return -1;
    }
    /* Writable? (access() would ignore, e.g., a read-only mount for root.) */
    char probe[PATH_MAX];
    if ((size_t)snprintf(probe, sizeof probe, "%s/.tern-qlog-XXXXXX", dir) >= sizeof probe) {
        snprintf(err, err_len, "--qlog-dir %s: path too long", dir);
        return -1;
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        snprintf(err, err_len, "cannot write to --qlog-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    q->dir = strdup(dir);
    if (!q->dir) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

static void file_free(tl_qlog_file *f)
{
    tl_qlog_dir *q = f->q;
    if (f->prev) f->prev->next = f->next;
    else q->open = f->next;
    if (f->next) f->next->prev = f->prev;
    if (fclose(f->f) != 0 && !f->failed && !q->write_failed) {
        q->write_failed = true;
        tl_err("qlog: cannot write %s: %s", f->path, strerror(errno));
    }
    free(f->path);
    free(f);
    q->open_count--;
    if (q->skipped && q->open_count < q->max_open) {
        tl_err("qlog: tracing new connections again (%lu not traced: %zu trace files were open)", q->skipped,
               q->max_open);
        q->skipped = 0;
    }
}

void tl_qlog_dir_set_max_open(tl_qlog_dir *q, size_t max_open) { q->max_open = max_open ? max_open : 1; }

static void *qlog_open(void *ctx, tern_conn *c, bool is_server, const uint8_t *odcid, size_t odcid_len)
{
    (void)c;
    tl_qlog_dir *q = ctx;
    if (q->open_count >= q->max_open) {
        if (q->skipped++ == 0)
            tl_err("qlog: %zu trace files open, the limit: new connections are not traced until one closes",
                   q->open_count);
        return NULL;
    }
    char hex[2 * 20 + 1];
    size_t n = odcid_len > 20 ? 20 : odcid_len;
    for (size_t i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", odcid[i]);
    hex[2 * n] = 0;
    tl_qlog_file *f = calloc(1, sizeof *f);
    size_t len = strlen(q->dir) + sizeof hex + 16;
    if (f) f->path = malloc(len);
    if (!f || !f->path) {
        if (f) free(f);
        return NULL;
    }
    snprintf(f->path, len, "%s/%s-%s.sqlog", q->dir, n ? hex : "none", is_server ? "server" : "client");
    f->f = fopen(f->path, "w");
    if (!f->f) {
        if (!q->write_failed) {
            q->write_failed = true;
            tl_err("qlog: cannot create %s: %s", f->path, strerror(errno));
        }
        free(f->path);
        free(f);
        return NULL;
    }
    setvbuf(f->f, NULL, _IOFBF, QLOG_BUF_SIZE);
    f->q = q;
    f->next = q->open;
    if (q->open) q->open->prev = f;
    q->open = f;
    q->open_count++;
    return f;
}

static void qlog_write(void *sink, const char *data, size_t len)
{
    tl_qlog_file *f = sink;
    if (f->failed) return;
    if (fwrite(data, 1, len, f->f) != len) {
        f->failed = true;
        if (!f->q->write_failed) {
            f->q->write_failed = true;
            tl_err("qlog: cannot write %s: %s", f->path, strerror(errno));
        }
    }
}

static void qlog_close(void *sink) { file_free(sink); }

void tl_qlog_dir_attach(tl_qlog_dir *q, tern_config *cfg)
{
    if (!q->dir) return;
    cfg->qlog_open = qlog_open;
    cfg->qlog_write = qlog_write;
    cfg->qlog_close = qlog_close;
    cfg->qlog_ctx = q;
}

void tl_qlog_dir_close(tl_qlog_dir *q)
{
    while (q->open) file_free(q->open);
    free(q->dir);
    q->dir = NULL;
}
