#include "engine/format/ggmltype.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace engine {

namespace {
struct Entry {
    GgmlType type;
    GgmlTypeTraits traits;
    bool supported;
};

// Block layouts from ggml-common.h: QK4_0 = QK8_0 = 32, QK_K = 256.
constexpr Entry kTypes[] = {
    { GgmlType::F32, { "F32", 1, 4 }, true },
    { GgmlType::F16, { "F16", 1, 2 }, true },
    { GgmlType::Q4_0, { "Q4_0", 32, 18 }, true },
    { GgmlType::Q4_1, { "Q4_1", 32, 20 }, false },
    { GgmlType::Q5_0, { "Q5_0", 32, 22 }, true },
    { GgmlType::Q5_1, { "Q5_1", 32, 24 }, false },
    { GgmlType::Q8_0, { "Q8_0", 32, 34 }, true },
    { GgmlType::Q8_1, { "Q8_1", 32, 36 }, false },
    { GgmlType::Q2_K, { "Q2_K", 256, 84 }, false },
    { GgmlType::Q3_K, { "Q3_K", 256, 110 }, false },
    { GgmlType::Q4_K, { "Q4_K", 256, 144 }, true },
    { GgmlType::Q5_K, { "Q5_K", 256, 176 }, true },
    { GgmlType::Q6_K, { "Q6_K", 256, 210 }, true },
    { GgmlType::Q8_K, { "Q8_K", 256, 292 }, false },
    { GgmlType::BF16, { "BF16", 1, 2 }, true },
};

const Entry* findEntry(uint32_t raw)
{
    for (const auto& e : kTypes)
        if (uint32_t(e.type) == raw)
            return &e;
    return nullptr;
}
} // namespace

std::optional<GgmlTypeTraits> ggmlTypeTraits(uint32_t rawType)
{
    if (const Entry* e = findEntry(rawType))
        return e->traits;
    return std::nullopt;
}

const char* ggmlTypeName(GgmlType type)
{
    const Entry* e = findEntry(uint32_t(type));
    return e ? e->traits.name : "unknown";
}

bool ggmlTypeIsSupported(GgmlType type)
{
    const Entry* e = findEntry(uint32_t(type));
    return e && e->supported;
}

uint32_t ggmlBlockSize(GgmlType type)
{
    const Entry* e = findEntry(uint32_t(type));
    return e ? e->traits.blockSize : 1;
}

uint64_t ggmlRowBytes(GgmlType type, uint64_t n)
{
    const Entry* e = findEntry(uint32_t(type));
    if (!e)
        return 0;
    return n / e->traits.blockSize * e->traits.blockBytes;
}

std::optional<GgmlType> ggmlTypeFromName(const std::string& name)
{
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    for (const auto& e : kTypes)
        if (upper == e.traits.name)
            return e.type;
    return std::nullopt;
}

float f16ToF32Portable(uint16_t h)
{
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400u) == 0);
            bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32ToF16(float f)
{
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
    const uint32_t absBits = bits & 0x7fffffffu;
    if (absBits > 0x7f800000u)
        return sign | 0x7e00u; // NaN
    if (absBits >= 0x477ff000u) // rounds to >= 65520: infinity
        return sign | 0x7c00u;
    if (absBits < 0x38800000u) { // below the smallest normal half: subnormal or zero
        float a;
        std::memcpy(&a, &absBits, 4);
        // a * 2^24 is the subnormal mantissa; nearbyint rounds to nearest even.
        return sign | uint16_t(std::nearbyint(a * 16777216.0f));
    }
    // Normal: rebias exponent, round mantissa to 10 bits (nearest even).
    uint32_t m = absBits + 0xfffu + ((absBits >> 13) & 1u);
    return sign | uint16_t((m - (uint32_t(127 - 15) << 23)) >> 13);
}

} // namespace engine
