/* Streaming JSON writer (RFC 8259) into a fixed buffer, see json_writer.h. */
#include "json_writer.h"

#include <string.h>

void tern_json_init(tern_json_writer *w, char *buf, size_t cap, tern_json_sink sink, void *ctx)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    w->sink = sink;
    w->ctx = ctx;
}

void tern_json_flush(tern_json_writer *w)
{
    if (w->len > 0 && w->sink) w->sink(w->ctx, w->buf, w->len);
    w->len = 0;
}

/* Makes room for n bytes (n <= cap). */
static inline void reserve(tern_json_writer *w, size_t n)
{
    if (w->cap - w->len < n) tern_json_flush(w);
}

static inline void put_c(tern_json_writer *w, char c)
{
    reserve(w, 1);
    w->buf[w->len++] = c;
}

void tern_json_raw(tern_json_writer *w, const char *data, size_t len)
{
    while (len > 0) {
        if (w->len == w->cap) tern_json_flush(w);
        size_t n = w->cap - w->len;
        if (n > len) n = len;
        memcpy(w->buf + w->len, data, n);
        w->len += n;
        data += n;
        len -= n;
    }
}

void tern_json_raw_str(tern_json_writer *w, const char *s)
{
    tern_json_raw(w, s, strlen(s));
}

/* Before any value or key: the comma that separates it from the previous
 * element, and the bookkeeping of the enclosing container. */
static void before_value(tern_json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0 || w->depth > TERN_JSON_MAX_DEPTH) return;
    uint32_t bit = (uint32_t)1 << (w->depth - 1);
    if (w->has_items & bit) put_c(w, ',');
    w->has_items |= bit;
}

static void open_container(tern_json_writer *w, char c, bool array)
{
    before_value(w);
    put_c(w, c);
    w->depth++;
    if (w->depth <= TERN_JSON_MAX_DEPTH) {
        uint32_t bit = (uint32_t)1 << (w->depth - 1);
        w->has_items &= ~bit;
        if (array)
            w->is_array |= bit;
        else
            w->is_array &= ~bit;
    }
}

static void close_container(tern_json_writer *w, char c)
{
    if (w->depth == 0) return;
    w->after_key = false; /* a dangling key would be a bug; keep going */
    put_c(w, c);
    w->depth--;
}

void tern_json_obj_begin(tern_json_writer *w) { open_container(w, '{', false); }
void tern_json_obj_end(tern_json_writer *w) { close_container(w, '}'); }
void tern_json_arr_begin(tern_json_writer *w) { open_container(w, '[', true); }
void tern_json_arr_end(tern_json_writer *w) { close_container(w, ']'); }

void tern_json_close_to(tern_json_writer *w, unsigned depth)
{
    if (w->after_key) { /* complete the member so the object stays valid */
        tern_json_null(w);
    }
    while (w->depth > depth) {
        bool array = w->depth <= TERN_JSON_MAX_DEPTH && (w->is_array & ((uint32_t)1 << (w->depth - 1)));
        close_container(w, array ? ']' : '}');
    }
}

void tern_json_key(tern_json_writer *w, const char *key)
{
    before_value(w);
    put_c(w, '"');
    tern_json_raw_str(w, key);
    reserve(w, 2);
    w->buf[w->len++] = '"';
    w->buf[w->len++] = ':';
    w->after_key = true;
}

size_t tern_json_fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

void tern_json_u64(tern_json_writer *w, uint64_t v)
{
    char s[21];
    size_t n = tern_json_fmt_u64(s, v);
    before_value(w);
    tern_json_raw(w, s, n);
}

void tern_json_i64(tern_json_writer *w, int64_t v)
{
    char s[22];
    size_t n;
    if (v < 0) {
        s[0] = '-';
        n = 1 + tern_json_fmt_u64(s + 1, (uint64_t)0 - (uint64_t)v);
    } else {
        n = tern_json_fmt_u64(s, (uint64_t)v);
    }
    before_value(w);
    tern_json_raw(w, s, n);
}

void tern_json_bool(tern_json_writer *w, bool v)
{
    before_value(w);
    tern_json_raw_str(w, v ? "true" : "false");
}

void tern_json_null(tern_json_writer *w)
{
    before_value(w);
    tern_json_raw(w, "null", 4);
}

static const char hexdig[] = "0123456789abcdef";

static void put_u_escape(tern_json_writer *w, uint8_t b)
{
    reserve(w, 6);
    char *p = w->buf + w->len;
    p[0] = '\\';
    p[1] = 'u';
    p[2] = '0';
    p[3] = '0';
    p[4] = hexdig[b >> 4];
    p[5] = hexdig[b & 15];
    w->len += 6;
}

/* Length of the well-formed UTF-8 sequence at s[0..len) (RFC 3629 §4:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq_len(const uint8_t *s, size_t len)
{
    uint8_t c = s[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (len < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

void tern_json_strn(tern_json_writer *w, const uint8_t *s, size_t len)
{
    before_value(w);
    put_c(w, '"');
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            /* Copy the run of plain ASCII at once. */
            size_t j = i + 1;
            while (j < len && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\') j++;
            tern_json_raw(w, (const char *)s + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            char e = 0;
            switch (c) {
            case '"': e = '"'; break;
            case '\\': e = '\\'; break;
            case '\n': e = 'n'; break;
            case '\r': e = 'r'; break;
            case '\t': e = 't'; break;
            case '\b': e = 'b'; break;
            case '\f': e = 'f'; break;
            default: break;
            }
            if (e) {
                reserve(w, 2);
                w->buf[w->len++] = '\\';
                w->buf[w->len++] = e;
            } else {
                put_u_escape(w, c); /* other controls and DEL */
            }
            i++;
            continue;
        }
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 0) {
            put_u_escape(w, c); /* not UTF-8: the byte as U+00XX */
            i++;
        } else {
            reserve(w, n);
            memcpy(w->buf + w->len, s + i, n);
            w->len += n;
            i += n;
        }
    }
    put_c(w, '"');
}

void tern_json_str(tern_json_writer *w, const char *s)
{
    if (!s) {
        tern_json_null(w);
        return;
    }
    tern_json_strn(w, (const uint8_t *)s, strlen(s));
}

void tern_json_hex(tern_json_writer *w, const uint8_t *data, size_t len)
{
    before_value(w);
    put_c(w, '"');
    for (size_t i = 0; i < len; i++) {
        reserve(w, 2);
        w->buf[w->len++] = hexdig[data[i] >> 4];
        w->buf[w->len++] = hexdig[data[i] & 15];
    }
    put_c(w, '"');
}

void tern_json_ms(tern_json_writer *w, uint64_t ns, bool neg)
{
    char s[32];
    size_t n = 0;
    if (neg && ns != 0) s[n++] = '-';
    n += tern_json_fmt_u64(s + n, ns / 1000000u);
    uint32_t frac = (uint32_t)(ns % 1000000u);
    if (frac) {
        s[n++] = '.';
        char d[6];
        for (int i = 5; i >= 0; i--) {
            d[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        int last = 5;
        while (d[last] == '0') last--;
        for (int i = 0; i <= last; i++) s[n++] = d[i];
    }
    before_value(w);
    tern_json_raw(w, s, n);
}

void tern_json_kv_u64(tern_json_writer *w, const char *key, uint64_t v)
{
    tern_json_key(w, key);
    tern_json_u64(w, v);
}

void tern_json_kv_bool(tern_json_writer *w, const char *key, bool v)
{
    tern_json_key(w, key);
    tern_json_bool(w, v);
}

void tern_json_kv_str(tern_json_writer *w, const char *key, const char *s)
{
    tern_json_key(w, key);
    tern_json_str(w, s);
}

void tern_json_kv_strn(tern_json_writer *w, const char *key, const uint8_t *s, size_t len)
{
    tern_json_key(w, key);
    tern_json_strn(w, s, len);
}

void tern_json_kv_hex(tern_json_writer *w, const char *key, const uint8_t *data, size_t len)
{
    tern_json_key(w, key);
    tern_json_hex(w, data, len);
}

void tern_json_kv_ms(tern_json_writer *w, const char *key, uint64_t ns)
{
    tern_json_key(w, key);
    tern_json_ms(w, ns, false);
}
