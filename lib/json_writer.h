/* A streaming JSON writer into a caller-owned fixed buffer (for qlog).
 *
 * Output accumulates in buf[0..cap); when the next piece does not fit, the
 * buffer is handed to the sink and reused, so a value of any size is written
 * in pieces and never truncated. The sink sees a plain byte stream: one call
 * may hold several records or part of one. Nothing here allocates or does
 * I/O itself.
 *
 * Commas between members and elements are inserted automatically: call
 * tern_json_key() before each member value of an object; array elements
 * need nothing. Keys are trusted literals and written as is; string values
 * are escaped (RFC 8259 §7): '"', '\\', control characters, DEL and every
 * byte that is not part of a well-formed UTF-8 sequence (RFC 3629) become
 * escapes (\u00XX for the latter: peer-controlled bytes can never break the
 * document). */
#ifndef TERN_JSON_WRITER_H
#define TERN_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*tern_json_sink)(void *ctx, const char *data, size_t len);

/* Nesting deeper than this is not tracked (commas may then be wrong); qlog
 * never goes beyond 8. */
#define TERN_JSON_MAX_DEPTH 32

/* Smallest buffer the writer accepts: room for one escape and a number. */
#define TERN_JSON_MIN_BUF 32

typedef struct tern_json_writer {
    char *buf;
    size_t cap;
    size_t len;
    tern_json_sink sink;
    void *ctx;
    unsigned depth;
    uint32_t has_items;  /* bit d: the container at depth d has an element */
    uint32_t is_array;   /* bit d: the container at depth d is an array */
    bool after_key;      /* a key was written: the value needs no comma */
} tern_json_writer;

/* cap must be at least TERN_JSON_MIN_BUF. sink may be NULL (output is
 * discarded at every flush: for measuring and tests). */
void tern_json_init(tern_json_writer *w, char *buf, size_t cap, tern_json_sink sink, void *ctx);

/* Hands the buffered bytes to the sink. */
void tern_json_flush(tern_json_writer *w);

/* Appends bytes verbatim (framing characters, pre-formatted JSON). */
void tern_json_raw(tern_json_writer *w, const char *data, size_t len);
void tern_json_raw_str(tern_json_writer *w, const char *s);

void tern_json_obj_begin(tern_json_writer *w);
void tern_json_obj_end(tern_json_writer *w);
void tern_json_arr_begin(tern_json_writer *w);
void tern_json_arr_end(tern_json_writer *w);
/* Closes containers until the depth is `depth`. */
void tern_json_close_to(tern_json_writer *w, unsigned depth);

/* Member name (a trusted literal, not escaped). */
void tern_json_key(tern_json_writer *w, const char *key);

/* Values. */
void tern_json_u64(tern_json_writer *w, uint64_t v);
void tern_json_i64(tern_json_writer *w, int64_t v);
void tern_json_bool(tern_json_writer *w, bool v);
void tern_json_null(tern_json_writer *w);
/* A NUL-terminated string, escaped; NULL writes null. */
void tern_json_str(tern_json_writer *w, const char *s);
/* Arbitrary bytes as an escaped string. */
void tern_json_strn(tern_json_writer *w, const uint8_t *s, size_t len);
/* Bytes as a lowercase hex string. */
void tern_json_hex(tern_json_writer *w, const uint8_t *data, size_t len);
/* A duration in nanoseconds as milliseconds with up to 6 decimals, trailing
 * zeros removed ("1.5", "0.000001", "12"). Negative when neg. */
void tern_json_ms(tern_json_writer *w, uint64_t ns, bool neg);

/* key + value shorthands. */
void tern_json_kv_u64(tern_json_writer *w, const char *key, uint64_t v);
void tern_json_kv_bool(tern_json_writer *w, const char *key, bool v);
void tern_json_kv_str(tern_json_writer *w, const char *key, const char *s);
void tern_json_kv_strn(tern_json_writer *w, const char *key, const uint8_t *s, size_t len);
void tern_json_kv_hex(tern_json_writer *w, const char *key, const uint8_t *data, size_t len);
void tern_json_kv_ms(tern_json_writer *w, const char *key, uint64_t ns);

/* Formats v in decimal into out (at least 21 bytes); returns the length. */
size_t tern_json_fmt_u64(char *out, uint64_t v);

#endif
