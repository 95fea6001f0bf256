/* noise_gen.h - private to src/nn/norm/: the standard draws of noisy BN
 * (uniform on [-1, 1) and N(0, 1)), counter-based and vectorised.
 *
 * Element e of a draw belongs to pair k = e / 2, and pair k is the Philox4x32-10
 * block with counter (base + k) of stream `stream` under key `seed` (the same
 * block function and counter layout as ns_rng, rng.c), words w0..w3:
 *   u24(w)  = (w >> 8) 2^-24                        (exact in float)
 *   unif[e] = 2 u24(w0) - 1   (e even),  2 u24(w1) - 1   (e odd)
 *   norm[e] = rho cos(theta)  (e even),  rho sin(theta)  (e odd)
 *   rho     = sqrt(-2 ln(1 - u24(w2))),  theta = 2 pi u24(w3)
 * with ln, cos, sin the float approximations of noise_gen.c (|error| below
 * ~4e-7 relative for rho and 2e-7 absolute for cos/sin; documented and
 * fixed: every build and every vector width computes the same bits).
 * docs/normalizations.md states the exact arithmetic. */
#ifndef NS_NOISE_GEN_H
#define NS_NOISE_GEN_H

#include <stddef.h>
#include <stdint.h>

/* Elements [e0, e1) of the draw: unif[i] and norm[i] receive element e0 + i. */
void ns_noise_std(uint64_t seed, uint64_t stream, uint64_t base, size_t e0, size_t e1,
                  float *unif, float *norm);

/* The same with a chosen build of the kernel (all give identical bits; for
 * tests and benchmarks). Returns 0, computing nothing, when this CPU or
 * compiler lacks it. ns_noise_std takes the widest available. */
enum { NS_NOISE_ISA_C = 0, NS_NOISE_ISA_AVX2 = 1, NS_NOISE_ISA_AVX512 = 2 };
int ns_noise_std_isa(int isa, uint64_t seed, uint64_t stream, uint64_t base, size_t e0,
                     size_t e1, float *unif, float *norm);

/* One sample's standard draws m[C][HW], s[C][HW] -> unit j's noise, in place:
 *   m = mu[j] + r_mu m,  s = sigma[j] + r_sigma s
 * (one rounding each for * and +, no FMA). */
void ns_noise_to_units(float *m, float *s, int C, int HW, const float *mu, const float *sigma,
                       float r_mu, float r_sigma);

#endif
