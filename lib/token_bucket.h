/* A token bucket: at most `burst` events at once, refilled at `rate` tokens
 * per second. Used to rate-limit what a peer can make us do, e.g. SAA frames
 * (draft-ietf-hip-multihoming §6: "rate limit any UPDATE messages"; profile
 * §2: "a rate limit on SAA frames").
 *
 * Sans-IO like the rest of the library: the caller passes the current time.
 * Integer arithmetic only: the fraction of a token earned so far is carried
 * exactly (in units of 1e-9 token), so refilling in many small steps gives the
 * same count as one large step, with no drift. A gap of any length cannot
 * overflow (the bucket is simply full), and a time earlier than the last one
 * seen refills nothing (a caller's clock that steps back must not mint
 * tokens, nor lose the credit earned before the step).
 *
 * The bucket starts full; refilling counts from the first call that passes
 * a time, so initialisation needs no clock. */
#ifndef TERN_TOKEN_BUCKET_H
#define TERN_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/error.h"
#include "tern/types.h"

/* Bounds that keep (burst * 1e9 + rate) below 2^63 in the refill. */
#define TERN_TOKEN_BUCKET_MAX_RATE 1000000000ULL /* one token per nanosecond */
#define TERN_TOKEN_BUCKET_MAX_BURST 0xffffffffULL

typedef struct tern_token_bucket {
    uint64_t rate;    /* tokens per second; 0: never refills */
    uint64_t burst;   /* capacity */
    uint64_t tokens;  /* whole tokens available, <= burst */
    uint64_t partial; /* earned fraction of the next token, in 1e-9 token (< 1e9);
                         0 whenever the bucket is full */
    tern_time last;   /* time of the latest refill (the largest time seen) */
    bool started;     /* last is meaningful */
} tern_token_bucket;

/* A full bucket of `burst` tokens refilled at `rate_per_sec`. rate 0 is
 * allowed (at most `burst` events ever). Errors: TERN_ERR_INVALID_ARGUMENT if
 * b is NULL, burst is 0 or above TERN_TOKEN_BUCKET_MAX_BURST, or the rate is
 * above TERN_TOKEN_BUCKET_MAX_RATE (*b is then unchanged). */
tern_err tern_token_bucket_init(tern_token_bucket *b, uint64_t rate_per_sec, uint64_t burst);

/* Refills up to now and takes one token: true if there was one, false (and
 * nothing taken) if the bucket is empty. */
bool tern_token_bucket_take(tern_token_bucket *b, tern_time now);

/* Refills up to now and returns the whole tokens available. */
uint64_t tern_token_bucket_available(tern_token_bucket *b, tern_time now);

#endif
