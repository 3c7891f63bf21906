/* Token bucket rate limiter (see token_bucket.h). */
#include "token_bucket.h"

#include <string.h>

/* One token, in the units of `partial`: rate (tokens/s) * elapsed (ns)
 * counts in 1e-9 tokens. */
#define ONE_TOKEN 1000000000ULL

tern_err tern_token_bucket_init(tern_token_bucket *b, uint64_t rate_per_sec, uint64_t burst)
{
    if (!b || burst == 0 || burst > TERN_TOKEN_BUCKET_MAX_BURST || rate_per_sec > TERN_TOKEN_BUCKET_MAX_RATE)
        return TERN_ERR_INVALID_ARGUMENT;
    memset(b, 0, sizeof *b);
    b->rate = rate_per_sec;
    b->burst = burst;
    b->tokens = burst;
    return TERN_OK;
}

static void refill(tern_token_bucket *b, tern_time now)
{
    if (!b->started) {
        b->started = true;
        b->last = now;
        return;
    }
    /* A time before the last one refills nothing and leaves `last` where it
     * was: the interval up to `last` has been credited already. */
    if (now <= b->last) return;
    tern_time elapsed = now - b->last;
    b->last = now;
    if (b->tokens >= b->burst || b->rate == 0) return;

    /* Time to fill the bucket: any longer gap just fills it, so the product
     * below is only formed when elapsed * rate < need + rate, which the
     * MAX_BURST and MAX_RATE bounds keep below 2^63. */
    uint64_t need = (b->burst - b->tokens) * ONE_TOKEN - b->partial;
    uint64_t fill_ns = need / b->rate + (need % b->rate != 0);
    if (elapsed >= fill_ns) {
        b->tokens = b->burst;
        b->partial = 0;
        return;
    }
    uint64_t earned = elapsed * b->rate + b->partial;
    b->tokens += earned / ONE_TOKEN;
    b->partial = earned % ONE_TOKEN;
}

bool tern_token_bucket_take(tern_token_bucket *b, tern_time now)
{
    refill(b, now);
    if (b->tokens == 0) return false;
    b->tokens--;
    return true;
}

uint64_t tern_token_bucket_available(tern_token_bucket *b, tern_time now)
{
    refill(b, now);
    return b->tokens;
}
