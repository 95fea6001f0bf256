/* rng.h - counter-based random numbers (Philox4x32-10).
 *
 * Why counter-based: a draw is a pure function of (seed, stream, counter), so a
 * run's randomness does not depend on which rank or process runs it, and a
 * checkpoint only has to store the counter to resume the exact same stream.
 * Each purpose gets its own stream id (init, data order, noisy-BN noise,
 * probe directions, ...) so that adding draws to one purpose never shifts
 * another - e.g. probes never disturb training's stream.
 */
#ifndef NORMSWEEP_RNG_H
#define NORMSWEEP_RNG_H

#include <stdint.h>

typedef struct ns_rng {
    uint64_t seed;     /* the run's seed                               */
    uint64_t stream;   /* purpose id (NS_STREAM_*) and sub-id           */
    uint64_t counter;  /* number of 128-bit blocks consumed             */
    uint32_t buf[4];   /* current block                                 */
    int      used;     /* how many words of buf were handed out (0..4)  */
} ns_rng;

/* Stream ids: purpose << 32 | sub-id (e.g. layer index). */
enum {
    NS_STREAM_INIT = 1,    /* weight initialisation                   */
    NS_STREAM_DATA = 2,    /* shuffling, augmentation                 */
    NS_STREAM_NOISE = 3,   /* noisy batch norm                        */
    NS_STREAM_PROBE = 4,   /* random directions, Hessian start vectors */
    NS_STREAM_SYNTH = 5,   /* synthetic data sets                     */
    NS_STREAM_SWEEP = 6,   /* random samples of a sweep               */
    NS_STREAM_UNITS = 7    /* choice of tracked activation units      */
};
#define NS_STREAM(purpose, sub) (((uint64_t)(purpose) << 32) | (uint64_t)(uint32_t)(sub))

void ns_rng_init(ns_rng *r, uint64_t seed, uint64_t stream);

/* Raw 32/64 bits. */
uint32_t ns_rng_u32(ns_rng *r);
uint64_t ns_rng_u64(ns_rng *r);
/* Uniform in [0, 1) with 24 random bits (float) / 53 bits (double). */
float ns_rng_uniform(ns_rng *r);
double ns_rng_uniform_double(ns_rng *r);
/* Uniform in [lo, hi). */
float ns_rng_range(ns_rng *r, float lo, float hi);
/* Standard normal (Box-Muller, both values of a pair are not cached: one draw
 * consumes two uniforms, which keeps the state a single counter). */
float ns_rng_normal(ns_rng *r);
/* Uniform integer in [0, n) without modulo bias. n > 0. */
uint32_t ns_rng_below(ns_rng *r, uint32_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void ns_rng_shuffle(ns_rng *r, uint32_t *idx, uint32_t n);

/* Position in the stream, for checkpoints: (counter, used) restore exactly. */
typedef struct ns_rng_pos { uint64_t counter; int used; } ns_rng_pos;
ns_rng_pos ns_rng_tell(const ns_rng *r);
void ns_rng_seek(ns_rng *r, ns_rng_pos pos);

/* One Philox4x32-10 block, exposed for tests against published vectors. */
void ns_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif
