/* --qlog-dir for tern-server and tern-client: one JSON-SEQ trace per
 * connection, DIR/<odcid hex>-<client|server>.sqlog (docs/qlog.md), through
 * tern_config.qlog_open/_write/_close. Writes are buffered (stdio, 64 KiB
 * per file); a file is flushed and closed when the library frees its
 * connection, and whatever is still open when tl_qlog_dir_close runs (after
 * the endpoint is freed, normally nothing) is closed then.
 *
 * At most max_open files are open at once (TL_QLOG_DEFAULT_MAX_OPEN): a
 * flood of connections would otherwise take one descriptor and a 64 KiB
 * buffer each, until the process cannot open the files it serves. Beyond
 * it, new connections are not traced; one line says so when that starts
 * and one, with the count skipped, when tracing resumes. */
#ifndef TERN_TOOLS_QLOG_DIR_H
#define TERN_TOOLS_QLOG_DIR_H

#include <stdbool.h>

#include "tern/tern.h"

typedef struct tl_qlog_file tl_qlog_file;

#define TL_QLOG_DEFAULT_MAX_OPEN 64

typedef struct tl_qlog_dir {
    char *dir;          /* NULL: no qlog */
    tl_qlog_file *open; /* files not closed yet */
    size_t open_count, max_open;
    unsigned long skipped; /* connections not traced since the limit was hit */
    bool write_failed;  /* logged once */
} tl_qlog_dir;

/* Creates dir (and missing parents) and checks that a file can be made in
 * it. dir NULL: no qlog. Returns 0, or -1 with a one-line reason in err. */
int tl_qlog_dir_open(tl_qlog_dir *q, const char *dir, char *err, size_t err_len);
/* Files open at once (>= 1; default TL_QLOG_DEFAULT_MAX_OPEN). */
void tl_qlog_dir_set_max_open(tl_qlog_dir *q, size_t max_open);
/* Installs the config's qlog callbacks when a directory is open. */
void tl_qlog_dir_attach(tl_qlog_dir *q, tern_config *cfg);
/* Closes the files still open (call after tern_endpoint_free). */
void tl_qlog_dir_close(tl_qlog_dir *q);

#endif
