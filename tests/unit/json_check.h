/* A strict JSON (RFC 8259) validator and a JSON-SEQ (RFC 7464) record
 * checker for qlog output, shared by the qlog tests. Include once per test
 * program (static functions). */
#ifndef TERN_TEST_JSON_CHECK_H
#define TERN_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct jp {
    const unsigned char *p, *end;
    int depth;
} jp;

static void ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static bool lit(jp *j, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0) return false;
    j->p += n;
    return true;
}

static bool hexd(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Strings: escapes as RFC 8259 §7, no raw control characters, raw bytes
 * must be well-formed UTF-8 (RFC 8259 §8.1). */
static bool jstring(jp *j)
{
    if (j->p >= j->end || *j->p != '"') return false;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end) return false;
            c = *j->p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++)
                    if (j->p >= j->end || !hexd(*j->p++)) return false;
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return false;
            }
            continue;
        }
        if (c < 0x80) {
            j->p++;
            continue;
        }
        int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
        if (n == 0 || c > 0xf4 || j->end - j->p < n) return false;
        for (int i = 1; i < n; i++)
            if ((j->p[i] & 0xc0) != 0x80) return false;
        if (c == 0xe0 && j->p[1] < 0xa0) return false;
        if (c == 0xed && j->p[1] > 0x9f) return false;
        if (c == 0xf0 && j->p[1] < 0x90) return false;
        if (c == 0xf4 && j->p[1] > 0x8f) return false;
        j->p += n;
    }
    return false;
}

static bool jnumber(jp *j)
{
    const unsigned char *s = j->p;
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end) return false;
    if (*j->p == '0') {
        j->p++;
    } else if (*j->p >= '1' && *j->p <= '9') {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    } else {
        return false;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9')) return false;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9')) return false;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    return j->p > s;
}

static bool jvalue(jp *j);

static bool jobject(jp *j)
{
    j->p++; /* { */
    ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return true;
    }
    for (;;) {
        ws(j);
        if (!jstring(j)) return false;
        ws(j);
        if (j->p >= j->end || *j->p != ':') return false;
        j->p++;
        if (!jvalue(j)) return false;
        ws(j);
        if (j->p >= j->end) return false;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p == '}') {
            j->p++;
            return true;
        }
        return false;
    }
}

static bool jarray(jp *j)
{
    j->p++; /* [ */
    ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return true;
    }
    for (;;) {
        if (!jvalue(j)) return false;
        ws(j);
        if (j->p >= j->end) return false;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p == ']') {
            j->p++;
            return true;
        }
        return false;
    }
}

static bool jvalue(jp *j)
{
    ws(j);
    if (j->p >= j->end || ++j->depth > 64) return false;
    bool ok;
    switch (*j->p) {
    case '{': ok = jobject(j); break;
    case '[': ok = jarray(j); break;
    case '"': ok = jstring(j); break;
    case 't': ok = lit(j, "true"); break;
    case 'f': ok = lit(j, "false"); break;
    case 'n': ok = lit(j, "null"); break;
    default: ok = jnumber(j); break;
    }
    j->depth--;
    return ok;
}

/* One complete JSON object, nothing else. */
static bool json_valid_object(const char *s, size_t len)
{
    jp j = {(const unsigned char *)s, (const unsigned char *)s + len, 0};
    ws(&j);
    if (j.p >= j.end || *j.p != '{') return false;
    if (!jvalue(&j)) return false;
    ws(&j);
    return j.p == j.end;
}

/* Checks RFC 7464 framing of out[0..len): RS, JSON text, LF, for every
 * record; each text a valid object. Returns the number of records, or -1. */
static long check_records(const char *out, size_t len)
{
    long n = 0;
    size_t i = 0;
    while (i < len) {
        if (out[i] != 0x1e) return -1;
        size_t start = ++i;
        while (i < len && out[i] != '\n') {
            if (out[i] == 0x1e) return -1;
            i++;
        }
        if (i >= len) return -1; /* no LF */
        if (!json_valid_object(out + start, i - start)) {
            fprintf(stderr, "invalid record #%ld: %.*s\n", n, (int)(i - start > 400 ? 400 : i - start),
                    out + start);
            return -1;
        }
        i++;
        n++;
    }
    return n;
}

#endif
