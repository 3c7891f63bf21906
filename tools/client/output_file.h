/* tern-client's output files: a body is written to a temporary file beside
 * its destination (same directory, ".NAME.XXXXXX") and renamed over the
 * destination only once the response is complete and good, so a failed,
 * interrupted or refused download never truncates or mixes a user's file.
 * Also: the file name --output-dir derives from a URL path. */
#ifndef TERN_TOOLS_OUTPUT_FILE_H
#define TERN_TOOLS_OUTPUT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct tc_out {
    char *path; /* destination */
    char *tmp;  /* the temporary file, NULL once renamed or removed */
    FILE *f;
    int err;    /* errno of the first failure (0: none) */
    bool saved; /* renamed over path */
} tc_out;

/* Creates the temporary file beside path (mkstemp, mode 0600 until the
 * rename). Returns 0, or a negative errno (nothing created). */
int tc_out_open(tc_out *o, const char *path);
/* Appends; on failure the temporary file is removed and the errno kept in
 * o->err. Returns 0 or a negative errno; once failed, always that. */
int tc_out_write(tc_out *o, const void *data, size_t len);
/* Flushes, syncs and closes the temporary file, gives it the permissions a
 * new file would get (0666 & ~umask) or those of the file it replaces, and
 * renames it over path. On failure the temporary file is removed and path
 * left untouched. Returns 0 or a negative errno (also kept in o->err). */
int tc_out_commit(tc_out *o);
/* Closes and removes the temporary file, if any; path is left untouched.
 * Idempotent. */
void tc_out_discard(tc_out *o);
/* tc_out_discard, then frees the paths. */
void tc_out_free(tc_out *o);

/* The file name for a URL path ("/a/b%20c?q" -> "b c"): its last segment,
 * query string stripped, %XX decoded; "index.html" when that segment is
 * empty (the path ends with '/'). Refused (returns -1 with a reason in
 * *why) when the decoded name would contain '/', NUL or a control
 * character, is "." or "..", is longer than 255 bytes, or when a '%' is not
 * followed by two hex digits. Returns 0 with the name in name[len]. */
int tc_out_name(const char *url_path, char *name, size_t len, const char **why);

#endif
