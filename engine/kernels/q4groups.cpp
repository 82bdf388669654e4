#include "engine/kernels/q4groups.h"

#include "engine/format/ggmltype.h"
#include "engine/kernels/blockformats.h"

#include <cstring>

namespace engine {

void repackQ4_0Groups(const uint8_t* row, uint8_t* out, size_t n)
{
    for (size_t g = 0; g < n / kQ4GroupValues; ++g) {
        BlockQ4_0 blocks[4];
        std::memcpy(blocks, row + g * kQ4GroupBytes, sizeof blocks);
        uint8_t* o = out + g * kQ4GroupBytes;
        for (size_t k = 0; k < 4; ++k)
            std::memcpy(o + 2 * k, &blocks[k].d, 2);
        for (size_t i = 0; i < 64; ++i)
            o[8 + i] = uint8_t(q4Quant(blocks[i / 32], int(i % 32)) | (q4Quant(blocks[2 + i / 32], int(i % 32)) << 4));
    }
}

float dotQ4_0GroupsQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    float sum = 0.0f;
    for (size_t g = 0; g < n / kQ4GroupValues; ++g) {
        const uint8_t* p = row + g * kQ4GroupBytes;
        int32_t s[4] = { 0, 0, 0, 0 }; // per block 4g + k: sum of quant * q_x
        for (size_t i = 0; i < 64; ++i) {
            s[i / 32] += (p[8 + i] & 0x0F) * x.q[g * kQ4GroupValues + i];
            s[2 + i / 32] += (p[8 + i] >> 4) * x.q[g * kQ4GroupValues + 64 + i];
        }
        for (size_t k = 0; k < 4; ++k) {
            uint16_t h;
            std::memcpy(&h, p + 2 * k, 2);
            const size_t b = 4 * g + k;
            // (quant - 8) * q_x summed: the offset comes off through x's block sum, as in dotQ4_0Q8Scalar
            sum += f16ToF32(h) * (x.d[b] * float(s[k]) - 8.0f * x.dsum[b]);
        }
    }
    return sum;
}

} // namespace engine
