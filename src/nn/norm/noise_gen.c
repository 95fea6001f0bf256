/* noise_gen.c - noisy BN's standard draws, 16 element pairs at a time.
 *
 * Why this file: one scalar Philox block plus libm log/cos/sin per element
 * pair cost ~33 ns per element, 20x a BN forward+backward. Here the 16 Philox
 * blocks of a group run side by side in SIMD lanes, and log, cos, sin are
 * short float polynomials the vectorizer maps onto the same lanes.
 *
 * Three builds of the kernel, picked at run time (ns_noise_std) or by the
 * caller (ns_noise_std_isa, for tests): AVX-512F, AVX2, and plain C. Philox
 * needs 32x32->64 multiplies, which GCC 12 vectorises only as a full 64x64
 * emulation (3x the multiplies); so the two SIMD builds spell the Philox
 * round with vpmuludq intrinsics. Everything else is plain C shared by all
 * three and compiled for each target.
 *
 * Same bits everywhere: integers are exact, and the float part uses only +,
 * -, *, / (correctly rounded by IEEE 754), no libm, no FMA (ISO C mode turns
 * contraction off), no reassociation (IEEE semantics, no fast-math). So the three builds -
 * and a scalar reference written from the docs (tests) - agree bit for bit.
 *
 * Accuracy (checked against libm double in tests/unit/test_norm_noisy.c):
 *   ln u  for u = j 2^-24, j = 1..2^24: u = 2^e m, m in [sqrt(1/2), sqrt(2)),
 *         ln m = 2 atanh(f / (2 + f)), f = m - 1, series to s^9 (truncation
 *         < 1e-9 relative); e ln 2 split Cody-Waite style so e*LN2_HI is exact.
 *   sqrt  three Newton steps for 1/sqrt from the bit-level guess (sqrtf would
 *         be as exact but GCC does not vectorise it under -fmath-errno).
 *   cos, sin of theta = 2 pi i 2^-24: quadrant q = round(4 i 2^-24) taken on
 *         the integer i, so the reduced angle x = (i - q 2^22) 2 pi 2^-24 in
 *         [-pi/4, pi/4] carries one rounding; Taylor to x^9 (sin), x^8 (cos).
 */
#include "nn/norm/noise_gen.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define NS_NOISE_X86 1
#include <immintrin.h>
#define T_AVX512 __attribute__((target("avx512f")))
#define T_AVX2 __attribute__((target("avx2")))
#endif
#include "core/hot.h"
#define INL static inline __attribute__((always_inline))

#define GROUP 16 /* pairs per group: one AVX-512 register of 32-bit lanes */

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Lane k's counter words for k = 0..GROUP-1 (ctr + k may carry into the high word). */
INL void philox_counters(uint64_t ctr, uint32_t lo[GROUP], uint32_t hi[GROUP])
{
    for (int k = 0; k < GROUP; k++) {
        lo[k] = (uint32_t)(ctr + (uint64_t)k);
        hi[k] = (uint32_t)((ctr + (uint64_t)k) >> 32);
    }
}

/* w[r][k]: word r of the Philox4x32-10 block with counter ctr + k
 * (counter words (ctr lo, ctr hi, stream lo, stream hi), key = seed), as in
 * rng.c. Plain C. */
INL void philox_c(uint64_t seed, uint64_t stream, uint64_t ctr, uint32_t w[4][GROUP])
{
    uint32_t c0[GROUP], c1[GROUP], c2[GROUP], c3[GROUP];
    philox_counters(ctr, c0, c1);
    for (int k = 0; k < GROUP; k++) {
        c2[k] = (uint32_t)stream;
        c3[k] = (uint32_t)(stream >> 32);
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        for (int k = 0; k < GROUP; k++) {
            uint64_t p0 = (uint64_t)PHILOX_M0 * c0[k];
            uint64_t p1 = (uint64_t)PHILOX_M1 * c2[k];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[k] ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[k] ^ k1;
            c1[k] = (uint32_t)p1;
            c3[k] = (uint32_t)p0;
            c0[k] = n0;
            c2[k] = n2;
        }
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    memcpy(w[0], c0, sizeof c0);
    memcpy(w[1], c1, sizeof c1);
    memcpy(w[2], c2, sizeof c2);
    memcpy(w[3], c3, sizeof c3);
}

#ifdef NS_NOISE_X86
/* a * m per 32-bit lane as (hi, lo) halves: vpmuludq multiplies the even
 * lanes; the odd lanes are shifted down, multiplied, and blended back. */
T_AVX512 static inline void mul_hilo_512(__m512i a, __m512i m, __m512i *hi, __m512i *lo)
{
    __m512i pe = _mm512_mul_epu32(a, m), po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
    *lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
}

T_AVX512 static void philox_avx512(uint64_t seed, uint64_t stream, uint64_t ctr,
                                   uint32_t w[4][GROUP])
{
    uint32_t lo[GROUP], hi[GROUP];
    philox_counters(ctr, lo, hi);
    __m512i c0 = _mm512_loadu_si512(lo), c1 = _mm512_loadu_si512(hi);
    __m512i c2 = _mm512_set1_epi32((int)(uint32_t)stream);
    __m512i c3 = _mm512_set1_epi32((int)(uint32_t)(stream >> 32));
    const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0), m1 = _mm512_set1_epi32((int)PHILOX_M1);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        __m512i h0, l0, h1, l1;
        mul_hilo_512(c0, m0, &h0, &l0);
        mul_hilo_512(c2, m1, &h1, &l1);
        c0 = _mm512_xor_si512(_mm512_xor_si512(h1, c1), _mm512_set1_epi32((int)k0));
        c2 = _mm512_xor_si512(_mm512_xor_si512(h0, c3), _mm512_set1_epi32((int)k1));
        c1 = l1;
        c3 = l0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    _mm512_storeu_si512(w[0], c0);
    _mm512_storeu_si512(w[1], c1);
    _mm512_storeu_si512(w[2], c2);
    _mm512_storeu_si512(w[3], c3);
}

T_AVX2 static inline void mul_hilo_256(__m256i a, __m256i m, __m256i *hi, __m256i *lo)
{
    __m256i pe = _mm256_mul_epu32(a, m), po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
}

T_AVX2 static void philox_avx2(uint64_t seed, uint64_t stream, uint64_t ctr,
                               uint32_t w[4][GROUP])
{
    uint32_t lo[GROUP], hi[GROUP];
    philox_counters(ctr, lo, hi);
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0), m1 = _mm256_set1_epi32((int)PHILOX_M1);
    for (int half = 0; half < 2; half++) { /* lanes 0..7, then 8..15 */
        __m256i c0 = _mm256_loadu_si256((const __m256i *)(lo + 8 * half));
        __m256i c1 = _mm256_loadu_si256((const __m256i *)(hi + 8 * half));
        __m256i c2 = _mm256_set1_epi32((int)(uint32_t)stream);
        __m256i c3 = _mm256_set1_epi32((int)(uint32_t)(stream >> 32));
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int round = 0; round < 10; round++) {
            __m256i h0, l0, h1, l1;
            mul_hilo_256(c0, m0, &h0, &l0);
            mul_hilo_256(c2, m1, &h1, &l1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(h1, c1), _mm256_set1_epi32((int)k0));
            c2 = _mm256_xor_si256(_mm256_xor_si256(h0, c3), _mm256_set1_epi32((int)k1));
            c1 = l1;
            c3 = l0;
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        _mm256_storeu_si256((__m256i *)(w[0] + 8 * half), c0);
        _mm256_storeu_si256((__m256i *)(w[1] + 8 * half), c1);
        _mm256_storeu_si256((__m256i *)(w[2] + 8 * half), c2);
        _mm256_storeu_si256((__m256i *)(w[3] + 8 * half), c3);
    }
}
#endif

INL uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

INL float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* -2 ln(u) for u = (2^24 - (w >> 8)) 2^-24 in [2^-24, 1]: >= 0, 0 at u = 1. */
INL float minus2log(uint32_t w)
{
    const float LN2_HI = 0x1.62e400p-1f; /* 0.693145751953125: 16 bits, e*LN2_HI exact */
    const float LN2_LO = 0x1.7f7d1cp-20f; /* ln 2 - LN2_HI */
    float u = (float)(int32_t)(0x1000000u - (w >> 8)) * 0x1.0p-24f; /* exact */
    /* u = 2^e m, m in [sqrt(1/2), sqrt(2)): add 1 - sqrt(1/2) to the mantissa
     * field so the exponent ticks over at sqrt(1/2) instead of 1. */
    uint32_t b = f2u(u) + (0x3f800000u - 0x3f3504f3u);
    int32_t e = (int32_t)(b >> 23) - 127;
    float m = u2f((b & 0x007fffffu) + 0x3f3504f3u);
    float f = m - 1.0f; /* exact (Sterbenz) */
    float s = f / (2.0f + f), z = s * s;
    /* ln m = 2 atanh(s) = 2 s (1 + z/3 + z^2/5 + z^3/7 + z^4/9 + ...) */
    float p = 0x1.c71c72p-4f;          /* 1/9 */
    p = 0x1.24924ap-3f + z * p;        /* 1/7 */
    p = 0x1.99999ap-3f + z * p;        /* 1/5 */
    p = 0x1.555556p-2f + z * p;        /* 1/3 */
    float lnm = 2.0f * s + 2.0f * s * (z * p);
    float fe = (float)e;
    float ln = fe * LN2_HI + (fe * LN2_LO + lnm);
    return -2.0f * ln;
}

/* sqrt(t) for t in [0, 34], as t / sqrt(t) with 1/sqrt(t) from the classic
 * bit-level first guess (3.4% error) and three Newton steps (error ~1e-10
 * before rounding; a few float ulps after). Not sqrtf: under the default
 * -fmath-errno GCC will not vectorise it, and this is plain +, -, * so it
 * gives the same bits everywhere. t = 0 gives 0 (t times a finite guess). */
INL float sqrt_newton(float t)
{
    float y = u2f(0x5f375a86u - (f2u(t) >> 1)), h = 0.5f * t;
    y = y * (1.5f - (h * y) * y);
    y = y * (1.5f - (h * y) * y);
    y = y * (1.5f - (h * y) * y);
    return t * y;
}

/* cos and sin of 2 pi (w >> 8) 2^-24. */
INL void cossin(uint32_t w, float *co, float *si)
{
    int32_t i = (int32_t)(w >> 8);
    int32_t q = (i + (1 << 21)) >> 22;                 /* nearest quarter turn, 0..4 */
    float x = (float)(i - (q << 22)) * 0x1.921fb6p-22f; /* 2 pi 2^-24; |x| <= pi/4 */
    float x2 = x * x;
    float ps = 0x1.71de3ap-19f;        /*  1/9!  Taylor, Horner in x^2 */
    ps = -0x1.a01a02p-13f + x2 * ps;   /* -1/7! */
    ps = 0x1.111112p-7f + x2 * ps;     /*  1/5! */
    ps = -0x1.555556p-3f + x2 * ps;    /* -1/3! */
    float sn = x + x * (x2 * ps);
    float pc = 0x1.a01a02p-16f;        /*  1/8! */
    pc = -0x1.6c16c2p-10f + x2 * pc;   /* -1/6! */
    pc = 0x1.555556p-5f + x2 * pc;     /*  1/4! */
    pc = -0.5f + x2 * pc;              /* -1/2! */
    float cs = 1.0f + x2 * pc;
    /* theta = q pi/2 + x: q odd swaps, cos < 0 for q = 1, 2, sin < 0 for q = 2, 3 */
    int odd = q & 1;
    float c = odd ? sn : cs, s = odd ? cs : sn;
    *co = ((q + 1) & 2) ? -c : c;
    *si = (q & 2) ? -s : s;
}

/* Group starting at element e (even) -> the part of [e0, e1) it covers. Always
 * via scratch: output pointers that might alias would cost the vectorizer a
 * runtime check it does not take at -O2. */
INL void emit_group(uint32_t w[4][GROUP], size_t e, size_t e0, size_t e1, float *unif,
                    float *norm)
{
    float tu[2 * GROUP], tn[2 * GROUP];
    for (int k = 0; k < GROUP; k++) {
        float rho = sqrt_newton(minus2log(w[2][k])), co, si;
        cossin(w[3][k], &co, &si);
        tu[2 * k] = 2.0f * ((float)(int32_t)(w[0][k] >> 8) * 0x1.0p-24f) - 1.0f;
        tu[2 * k + 1] = 2.0f * ((float)(int32_t)(w[1][k] >> 8) * 0x1.0p-24f) - 1.0f;
        tn[2 * k] = rho * co;
        tn[2 * k + 1] = rho * si;
    }
    const size_t W = 2 * GROUP;
    size_t lo = e < e0 ? e0 - e : 0, hi = e1 - e < W ? e1 - e : W;
    memcpy(unif + (e + lo - e0), tu + lo, (hi - lo) * sizeof(float));
    memcpy(norm + (e + lo - e0), tn + lo, (hi - lo) * sizeof(float));
}

/* One loop per ISA; e starts at the first element of e0's pair. */
static void std_c(uint64_t seed, uint64_t stream, uint64_t base, size_t e0, size_t e1,
                  float *unif, float *norm)
{
    for (size_t e = e0 - e0 % 2; e < e1; e += 2 * GROUP) {
        uint32_t w[4][GROUP];
        philox_c(seed, stream, base + e / 2, w);
        emit_group(w, e, e0, e1, unif, norm);
    }
}

#ifdef NS_NOISE_X86
T_AVX512 static void std_avx512(uint64_t seed, uint64_t stream, uint64_t base, size_t e0,
                                size_t e1, float *unif, float *norm)
{
    for (size_t e = e0 - e0 % 2; e < e1; e += 2 * GROUP) {
        uint32_t w[4][GROUP];
        philox_avx512(seed, stream, base + e / 2, w);
        emit_group(w, e, e0, e1, unif, norm);
    }
}

T_AVX2 static void std_avx2(uint64_t seed, uint64_t stream, uint64_t base, size_t e0, size_t e1,
                            float *unif, float *norm)
{
    for (size_t e = e0 - e0 % 2; e < e1; e += 2 * GROUP) {
        uint32_t w[4][GROUP];
        philox_avx2(seed, stream, base + e / 2, w);
        emit_group(w, e, e0, e1, unif, norm);
    }
}
#endif

int ns_noise_std_isa(int isa, uint64_t seed, uint64_t stream, uint64_t base, size_t e0,
                     size_t e1, float *unif, float *norm)
{
    switch (isa) {
    case NS_NOISE_ISA_C:
        std_c(seed, stream, base, e0, e1, unif, norm);
        return 1;
#ifdef NS_NOISE_X86
    case NS_NOISE_ISA_AVX2:
        if (!__builtin_cpu_supports("avx2")) return 0;
        std_avx2(seed, stream, base, e0, e1, unif, norm);
        return 1;
    case NS_NOISE_ISA_AVX512:
        if (!__builtin_cpu_supports("avx512f")) return 0;
        std_avx512(seed, stream, base, e0, e1, unif, norm);
        return 1;
#endif
    default:
        return 0;
    }
}

void ns_noise_std(uint64_t seed, uint64_t stream, uint64_t base, size_t e0, size_t e1,
                  float *unif, float *norm)
{
    for (int isa = NS_NOISE_ISA_AVX512; isa > NS_NOISE_ISA_C; isa--)
        if (ns_noise_std_isa(isa, seed, stream, base, e0, e1, unif, norm)) return;
    std_c(seed, stream, base, e0, e1, unif, norm);
}

/* v = center + scale v in place, in fixed 16-wide blocks (the -O2
 * vectorizer takes those). */
INL void shift_run(float *v, size_t n, float center, float scale)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) v[i + k] = center + scale * v[i + k];
    for (; i < n; i++) v[i] = center + scale * v[i];
}

NS_CLONES void ns_noise_to_units(float *m, float *s, int C, int HW, const float *mu,
                           const float *sigma, float r_mu, float r_sigma)
{
    for (int j = 0; j < C; j++) {
        shift_run(m + (size_t)j * HW, (size_t)HW, mu[j], r_mu);
        shift_run(s + (size_t)j * HW, (size_t)HW, sigma[j], r_sigma);
    }
}
