/* xoshiro256** (Blackman & Vigna), seeded through splitmix64 so that any
 * 64-bit seed, including 0, gives a well-mixed non-zero state. */
#include "sim_internal.h"

static uint64_t splitmix64_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotate_left(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(sim_rng *rng, uint64_t seed)
{
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64_next(&state);
}

uint64_t sim_rng_next(sim_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

double sim_rng_double(sim_rng *rng)
{
    /* The top 53 bits fill a double's mantissa exactly. */
    return (double)(sim_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t sim_rng_below(sim_rng *rng, uint64_t bound)
{
    if (bound == 0)
        return 0;
    /* Rejection sampling removes the modulo bias. */
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = sim_rng_next(rng);
        if (r >= threshold)
            return r % bound;
    }
}
