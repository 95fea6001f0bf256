/* rng.c - Philox4x32-10 (Salmon et al., SC'11) as a counter-based generator.
 * The 128-bit counter is (block counter lo, hi, stream lo, hi); the key is the seed. */
#include "normsweep/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void ns_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0;
        uint32_t n1 = lo1;
        uint32_t n2 = hi0 ^ c3 ^ k1;
        uint32_t n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static void refill(ns_rng *r)
{
    uint32_t ctr[4] = {(uint32_t)r->counter, (uint32_t)(r->counter >> 32),
                       (uint32_t)r->stream, (uint32_t)(r->stream >> 32)};
    uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    ns_philox4x32_10(ctr, key, r->buf);
    r->counter++;
    r->used = 0;
}

void ns_rng_init(ns_rng *r, uint64_t seed, uint64_t stream)
{
    r->seed = seed;
    r->stream = stream;
    r->counter = 0;
    r->used = 4; /* empty: the first draw refills */
}

uint32_t ns_rng_u32(ns_rng *r)
{
    if (r->used >= 4) refill(r);
    return r->buf[r->used++];
}

uint64_t ns_rng_u64(ns_rng *r)
{
    uint64_t hi = ns_rng_u32(r);
    return (hi << 32) | ns_rng_u32(r);
}

float ns_rng_uniform(ns_rng *r) { return (float)(ns_rng_u32(r) >> 8) * 0x1.0p-24f; }

double ns_rng_uniform_double(ns_rng *r) { return (double)(ns_rng_u64(r) >> 11) * 0x1.0p-53; }

float ns_rng_range(ns_rng *r, float lo, float hi) { return lo + (hi - lo) * ns_rng_uniform(r); }

float ns_rng_normal(ns_rng *r)
{
    /* u1 in (0, 1] so log(u1) is finite. Computed in double so the result
     * does not depend on libm float rounding differences across call sites. */
    double u1 = 1.0 - ns_rng_uniform_double(r);
    double u2 = ns_rng_uniform_double(r);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint32_t ns_rng_below(ns_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection. */
    uint64_t m = (uint64_t)ns_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)ns_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void ns_rng_shuffle(ns_rng *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = ns_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

ns_rng_pos ns_rng_tell(const ns_rng *r)
{
    ns_rng_pos p = {r->counter, r->used};
    return p;
}

void ns_rng_seek(ns_rng *r, ns_rng_pos pos)
{
    if (pos.used >= 4) {
        r->counter = pos.counter;
        r->used = 4;
        return;
    }
    /* The current block is the one at counter-1: regenerate it. */
    r->counter = pos.counter - 1;
    refill(r);
    r->used = pos.used;
}
