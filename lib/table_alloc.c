/* Arrays that follow the load, mapped on their own above a page
 * (table_alloc.h). */
#define _GNU_SOURCE
#include "table_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static size_t page_round(size_t bytes) { return (bytes + TERN_TABLE_MAP_MIN - 1) & ~(TERN_TABLE_MAP_MIN - 1); }

static void *map(size_t bytes)
{
    void *p = mmap(NULL, page_round(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p; /* zeroed by the kernel */
}

void *tern_table_calloc(size_t bytes)
{
    if (bytes == 0) return NULL;
    return bytes < TERN_TABLE_MAP_MIN ? calloc(1, bytes) : map(bytes);
}

void tern_table_free(void *p, size_t bytes)
{
    if (!p) return;
    if (bytes < TERN_TABLE_MAP_MIN) free(p);
    else munmap(p, page_round(bytes));
}

void *tern_table_realloc(void *p, size_t old_bytes, size_t new_bytes)
{
    if (!p) return tern_table_calloc(new_bytes);
    if (new_bytes == 0) return NULL;
    bool old_mapped = old_bytes >= TERN_TABLE_MAP_MIN, new_mapped = new_bytes >= TERN_TABLE_MAP_MIN;
    if (!old_mapped && !new_mapped) {
        return realloc(p, new_bytes);
    }
#ifdef MREMAP_MAYMOVE
    if (old_mapped && new_mapped) {
        void *n = mremap(p, page_round(old_bytes), page_round(new_bytes), MREMAP_MAYMOVE);
        return n == MAP_FAILED ? NULL : n;
    }
#endif
    void *n = tern_table_calloc(new_bytes);
    if (!n) return NULL;
    memcpy(n, p, old_bytes < new_bytes ? old_bytes : new_bytes);
    tern_table_free(p, old_bytes);
    return n;
}
