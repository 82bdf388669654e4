// Internal to kernels/: row-as-blocks and AVX2/AVX-512 Q6_K unpacking, shared by blockformats.cpp and activationq8.cpp
// (per ISA level: in the level's namespace, see isakernels.h).
#pragma once

#include <cstdint>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define ENGINE_QUANT_AVX512 1
#include <immintrin.h>
#elif defined(__F16C__)
#include <immintrin.h>
#endif

namespace engine::PLAYGROUND_ISA_NS {

template <typename Block> const Block* blocksOf(const uint8_t* row) { return reinterpret_cast<const Block*>(row); }

#if defined(__AVX2__) // the AVX-512 and AVX2 levels
// The 256 quants of a Q6_K super-block half by half: the four 32-element quarters of half h as signed
// q - 32 (see dequantizeRowQ6_K). The 16-bit shifts move bits across byte borders; the masks cut them off.
// A template over the block type (always BlockQ6_K) so this header needs no block layouts.
template <typename BlockQ6K> inline void unpackQ6Half(const BlockQ6K& blk, int half, __m256i q[4])
{
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i bits45 = _mm256_set1_epi8(0x30);
    const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * half));
    const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * half + 32));
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh + 32 * half));
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), bits45));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), bits45));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(h, bits45));
    q[3] = _mm256_or_si256(
        _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(h, 2), bits45));
    for (int k = 0; k < 4; ++k)
        q[k] = _mm256_sub_epi8(q[k], _mm256_set1_epi8(32));
}
#endif

} // namespace engine::PLAYGROUND_ISA_NS
