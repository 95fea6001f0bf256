/* hot.h - attributes for the few hot loops (private to src/).
 *
 * The build is -O2 (whose cost model vectorizes almost nothing) without
 * -march (the binary must run on any x86-64 node of a cluster). Hot loops
 * instead ask for a clone per ISA, picked by the loader at run time:
 *   NS_CLONES  one clone each for AVX-512, AVX2 and plain x86-64;
 *   NS_HOT     the same at -O3 (the vectorizer on); plain -O3 under
 *              AddressSanitizer, where clones and ASan do not mix well.
 * Every clone computes the same bits: ISO C mode (-std=c11) keeps FMA
 * contraction off and nothing is reassociated (fast-math is refused, error.h). */
#ifndef NS_CORE_HOT_H
#define NS_CORE_HOT_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NS_CLONES
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NS_HOT __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3")))
#elif defined(__GNUC__) && !defined(__clang__)
#define NS_HOT __attribute__((optimize("O3")))
#else
#define NS_HOT
#endif

#endif
