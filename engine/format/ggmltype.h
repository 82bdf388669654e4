// Tensor element types as ggml numbers them, with their block geometry, and scalar F16/BF16 conversion.
#pragma once

#include <cstdint>
#include <cstring>
#if defined(__F16C__)
#include <immintrin.h>
#endif
#include <optional>
#include <string>

namespace engine {

// Numbered as in ggml.h / the GGUF specification. Only the ones listed here can be read;
// isSupported() says which have kernels in this build.
enum class GgmlType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    BF16 = 30,
};

struct GgmlTypeTraits {
    const char* name;
    uint32_t blockSize; // elements per block
    uint32_t blockBytes; // bytes per block
};

// Geometry of a known type, or nullopt for a number this project does not know.
std::optional<GgmlTypeTraits> ggmlTypeTraits(uint32_t rawType);
const char* ggmlTypeName(GgmlType type);
// True if the engine has kernels (dot product, row dequantisation) for the type.
bool ggmlTypeIsSupported(GgmlType type);
// Bytes of one row of n elements; n must be a multiple of the block size (checked by callers).
uint64_t ggmlRowBytes(GgmlType type, uint64_t n);
uint32_t ggmlBlockSize(GgmlType type);
std::optional<GgmlType> ggmlTypeFromName(const std::string& name); // "F32", "q8_0", ...

// IEEE half and bfloat16 <-> float. Round to nearest even on the way down; NaN stays NaN.
inline float bf16ToF32(uint16_t h)
{
    uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t f32ToBf16(float f)
{
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return uint16_t((bits >> 16) | 0x40); // quiet NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return uint16_t(bits >> 16);
}

// F16C converts exactly (every half is exact in float) in one instruction; the portable path
// decodes the fields. Inline: block scales of quantised rows are converted in hot loops.
float f16ToF32Portable(uint16_t h);
inline float f16ToF32(uint16_t h)
{
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return f16ToF32Portable(h);
#endif
}
uint16_t f32ToF16(float f);

} // namespace engine
