#include "engine/kernels/modelquantizer.h"

#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/format/memorybudget.h"
#include "engine/kernels/blockformats.h"
#include "engine/kernels/quantplan.h"
#include "engine/kernels/typekernels.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace engine {

// ---------------------------------------------------------------------------------------------
// Reference quantisers, ported from ggml-quants.c (quantize_row_*_ref and their helpers) with the
// same arithmetic in the same order, so a row quantises to the same bytes as with llama-quantize
// (without an importance matrix).

namespace {

constexpr float kGroupMaxEps = 1e-15f; // GROUP_MAX_EPS

// ggml's nearest_int: round to nearest (ties to even) through the float mantissa, |fval| <= 2^22.
inline int nearestInt(float fval)
{
    const float val = fval + 12582912.f;
    int i;
    std::memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

// make_qx_quants: symmetric quants L in [0, 2*nmax) for a group, returns the scale. rmse_type 1 weighs
// the error by x^2 and searches 18 nearby scales for the smallest weighted error.
float makeQxQuants(int n, int nmax, const float* x, int8_t* L, int rmseType, const float* qw)
{
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) { // all zero
        for (int i = 0; i < n; ++i)
            L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    if (rmseType == 0) {
        for (int i = 0; i < n; ++i) {
            const int l = nearestInt(iscale * x[i]);
            L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    bool returnEarly = false;
    if (rmseType < 0) {
        rmseType = -rmseType;
        returnEarly = true;
    }
    auto weight = [&](int i) {
        return qw           ? qw[i]
            : rmseType == 1 ? x[i] * x[i]
            : rmseType == 2 ? 1
            : rmseType == 3 ? std::fabs(x[i])
                            : std::sqrt(std::fabs(x[i]));
    };
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearestInt(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = int8_t(l + nmax);
        const float w = weight(i);
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (returnEarly)
        return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0)
            continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[i]);
            l = std::max(-nmax, std::min(nmax - 1, l));
            const float w = weight(i);
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                const int l = nearestInt(iscale * x[i]);
                L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// make_qkx2_quants: asymmetric quants L in [0, nmax] with a scale and a min (returned as -min in
// theMin), fitted by weighted least squares over nstep+1 candidate scales.
float makeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* theMin, uint8_t* Laux,
    float rmin, float rdelta, int nstep, bool useMad)
{
    float min = x[0];
    float max = x[0];
    float sumW = weights[0];
    float sumX = sumW * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        const float w = weights[i];
        sumW += w;
        sumX += w * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i)
            L[i] = 0;
        *theMin = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float bestError = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearestInt(iscale * (x[i] - min));
        L[i] = uint8_t(std::max(0, std::min(nmax, l)));
        float diff = scale * L[i] + min - x[i];
        diff = useMad ? std::fabs(diff) : diff * diff;
        bestError += weights[i] * diff;
    }
    if (nstep < 1) {
        *theMin = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sumL = 0, sumL2 = 0, sumXL = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * (x[i] - min));
            l = std::max(0, std::min(nmax, l));
            Laux[i] = uint8_t(l);
            const float w = weights[i];
            sumL += w * l;
            sumL2 += w * l * l;
            sumXL += w * l * x[i];
        }
        const float D = sumW * sumL2 - sumL * sumL;
        if (D > 0) {
            float thisScale = (sumW * sumXL - sumX * sumL) / D;
            float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
            if (thisMin > 0) {
                thisMin = 0;
                thisScale = sumXL / sumL2;
            }
            float curError = 0;
            for (int i = 0; i < n; ++i) {
                float diff = thisScale * Laux[i] + thisMin - x[i];
                diff = useMad ? std::fabs(diff) : diff * diff;
                curError += weights[i] * diff;
            }
            if (curError < bestError) {
                for (int i = 0; i < n; ++i)
                    L[i] = Laux[i];
                bestError = curError;
                scale = thisScale;
                min = thisMin;
            }
        }
    }
    *theMin = -min;
    return scale;
}

void quantizeRowQ8_0(const float* x, BlockQ8_0* y, size_t n)
{
    for (size_t i = 0; i < n / kQK8_0; ++i, x += kQK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < kQK8_0; ++j)
            amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32ToF16(d);
        for (int j = 0; j < kQK8_0; ++j)
            y[i].qs[j] = int8_t(std::round(x[j] * id));
    }
}

void quantizeRowQ4_0(const float* x, BlockQ4_0* y, size_t n)
{
    for (size_t i = 0; i < n / kQK4_0; ++i, x += kQK4_0) {
        float amax = 0.0f; // absolute max, and the signed value that has it
        float max = 0.0f;
        for (int j = 0; j < kQK4_0; ++j) {
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32ToF16(d);
        for (int j = 0; j < kQK4_0 / 2; ++j) {
            const int q0 = std::min(15, int(x[j] * id + 8.5f)); // truncation, as ggml's (int8_t) cast
            const int q1 = std::min(15, int(x[kQK4_0 / 2 + j] * id + 8.5f));
            y[i].qs[j] = uint8_t(q0 | (q1 << 4));
        }
    }
}

void quantizeRowQ5_0(const float* x, BlockQ5_0* y, size_t n)
{
    for (size_t i = 0; i < n / kQK5_0; ++i, x += kQK5_0) {
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < kQK5_0; ++j) {
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32ToF16(d);
        uint32_t qh = 0;
        for (int j = 0; j < kQK5_0 / 2; ++j) {
            const int q0 = std::min(31, int(x[j] * id + 16.5f));
            const int q1 = std::min(31, int(x[kQK5_0 / 2 + j] * id + 16.5f));
            y[i].qs[j] = uint8_t((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= uint32_t((q0 & 0x10) >> 4) << j;
            qh |= uint32_t((q1 & 0x10) >> 4) << (j + kQK5_0 / 2);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

// Packs 8 six-bit scales and mins the way get_scale_min_k4 unpacks them.
void packScalesK4(const uint8_t ls[8], const uint8_t lm[8], uint8_t scales[kKScaleSize])
{
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            scales[j] = ls[j];
            scales[j + 4] = lm[j];
        } else {
            scales[j + 4] = uint8_t((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            scales[j - 4] |= uint8_t((ls[j] >> 4) << 6);
            scales[j - 0] |= uint8_t((lm[j] >> 4) << 6);
        }
    }
}

// The shared part of quantize_row_q4_K_ref / q5_K_ref: per sub-block of 32, make_qkx2_quants with
// weights av_x + |x|; scales and mins quantised to 6 bits against the super-block maxima; then the
// quants recomputed against the rounded scales. L receives values in [0, nmax].
void quantizeSuperBlockK(const float* x, int nmax, float rmin, float rdelta, int nstep, uint16_t& dOut,
    uint16_t& dminOut, uint8_t scales[kKScaleSize], uint8_t L[kQK_K])
{
    uint8_t Laux[32];
    float weights[32];
    float mins[kQK_K / 32];
    float subScales[kQK_K / 32];
    float maxScale = 0; // as the min is subtracted, scales are always positive
    float maxMin = 0;
    for (int j = 0; j < kQK_K / 32; ++j) {
        float sumX2 = 0;
        for (int l = 0; l < 32; ++l)
            sumX2 += x[32 * j + l] * x[32 * j + l];
        const float avX = std::sqrt(sumX2 / 32);
        for (int l = 0; l < 32; ++l)
            weights[l] = avX + std::fabs(x[32 * j + l]);
        subScales[j]
            = makeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep, false);
        maxScale = std::max(maxScale, subScales[j]);
        maxMin = std::max(maxMin, mins[j]);
    }
    const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
    const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < kQK_K / 32; ++j) {
        // ggml stores nearest_int into a uint8_t and then clamps to 63.
        ls[j] = std::min<uint8_t>(63, uint8_t(nearestInt(invScale * subScales[j])));
        lm[j] = std::min<uint8_t>(63, uint8_t(nearestInt(invMin * mins[j])));
    }
    std::memset(scales, 0, kKScaleSize);
    packScalesK4(ls, lm, scales);
    dOut = f32ToF16(maxScale / 63.f);
    dminOut = f32ToF16(maxMin / 63.f);
    for (int j = 0; j < kQK_K / 32; ++j) {
        uint8_t sc, m;
        scaleMinK4(j, scales, sc, m);
        const float d = f16ToF32(dOut) * sc;
        if (!d)
            continue;
        const float dm = f16ToF32(dminOut) * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = nearestInt((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = uint8_t(std::max(0, std::min(nmax, l)));
        }
    }
}

void quantizeRowQ4_K(const float* x, BlockQ4_K* y, size_t n)
{
    uint8_t L[kQK_K];
    for (size_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
        quantizeSuperBlockK(x, 15, -1.f, 0.1f, 20, y[i].d, y[i].dmin, y[i].scales, L);
        // 64 elements per 32 bytes: sub-block 2k in the low nibbles, 2k+1 in the high nibbles.
        uint8_t* q = y[i].qs;
        for (int j = 0; j < kQK_K; j += 64, q += 32)
            for (int l = 0; l < 32; ++l)
                q[l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
    }
}

void quantizeRowQ5_K(const float* x, BlockQ5_K* y, size_t n)
{
    uint8_t L[kQK_K];
    for (size_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
        quantizeSuperBlockK(x, 31, -0.5f, 0.1f, 15, y[i].d, y[i].dmin, y[i].scales, L);
        uint8_t* qh = y[i].qh;
        uint8_t* ql = y[i].qs;
        std::memset(qh, 0, kQK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int base = 0; base < kQK_K; base += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[base + j];
                if (l1 > 15) {
                    l1 -= 16;
                    qh[j] |= m1;
                }
                int l2 = L[base + j + 32];
                if (l2 > 15) {
                    l2 -= 16;
                    qh[j] |= m2;
                }
                ql[j] = uint8_t(l1 | (l2 << 4));
            }
            m1 = uint8_t(m1 << 2);
            m2 = uint8_t(m2 << 2);
            ql += 32;
        }
    }
}

void quantizeRowQ6_K(const float* x, BlockQ6_K* y, size_t n)
{
    int8_t L[kQK_K];
    float scales[kQK_K / 16];
    for (size_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < kQK_K / 16; ++ib) {
            const float scale = makeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, 1, nullptr);
            scales[ib] = scale;
            if (std::fabs(scale) > maxAbsScale) {
                maxAbsScale = std::fabs(scale);
                maxScale = scale;
            }
        }
        if (maxAbsScale < kGroupMaxEps) {
            std::memset(&y[i], 0, sizeof(BlockQ6_K));
            continue;
        }
        const float iscale = -128.f / maxScale;
        y[i].d = f32ToF16(1 / iscale);
        for (int ib = 0; ib < kQK_K / 16; ++ib)
            y[i].scales[ib] = int8_t(std::min(127, nearestInt(iscale * scales[ib])));
        for (int j = 0; j < kQK_K / 16; ++j) {
            const float d = f16ToF32(y[i].d) * y[i].scales[j];
            if (!d)
                continue;
            for (int ii = 0; ii < 16; ++ii) {
                const int l = nearestInt(x[16 * j + ii] / d);
                L[16 * j + ii] = int8_t(std::max(-32, std::min(31, l)) + 32);
            }
        }
        uint8_t* ql = y[i].ql;
        uint8_t* qh = y[i].qh;
        for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l + 0] & 0xF;
                const uint8_t q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF;
                const uint8_t q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = uint8_t(q1 | (q3 << 4));
                ql[l + 32] = uint8_t(q2 | (q4 << 4));
                qh[l] = uint8_t((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4)
                    | ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

} // namespace

void quantizeRow(GgmlType type, const float* x, uint8_t* out, size_t n)
{
    const uint32_t qk = ggmlBlockSize(type);
    if (n % qk != 0)
        throw std::invalid_argument(std::string("quantizeRow: ") + std::to_string(n) + " elements is not a multiple of "
            + ggmlTypeName(type) + "'s block size " + std::to_string(qk));
    switch (type) {
    case GgmlType::F32:
        std::memcpy(out, x, n * sizeof(float));
        return;
    case GgmlType::F16:
        for (size_t i = 0; i < n; ++i) {
            const uint16_t h = f32ToF16(x[i]);
            std::memcpy(out + 2 * i, &h, 2);
        }
        return;
    case GgmlType::BF16:
        for (size_t i = 0; i < n; ++i) {
            const uint16_t h = f32ToBf16(x[i]);
            std::memcpy(out + 2 * i, &h, 2);
        }
        return;
    case GgmlType::Q8_0:
        return quantizeRowQ8_0(x, reinterpret_cast<BlockQ8_0*>(out), n);
    case GgmlType::Q4_0:
        return quantizeRowQ4_0(x, reinterpret_cast<BlockQ4_0*>(out), n);
    case GgmlType::Q5_0:
        return quantizeRowQ5_0(x, reinterpret_cast<BlockQ5_0*>(out), n);
    case GgmlType::Q4_K:
        return quantizeRowQ4_K(x, reinterpret_cast<BlockQ4_K*>(out), n);
    case GgmlType::Q5_K:
        return quantizeRowQ5_K(x, reinterpret_cast<BlockQ5_K*>(out), n);
    case GgmlType::Q6_K:
        return quantizeRowQ6_K(x, reinterpret_cast<BlockQ6_K*>(out), n);
    default:
        throw std::invalid_argument(std::string("quantizeRow: cannot quantise to ") + ggmlTypeName(type));
    }
}

bool isQuantizeTarget(GgmlType type)
{
    switch (type) {
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
        return true;
    default:
        return false;
    }
}

std::optional<GgmlType> quantizeTargetFromName(const std::string& name)
{
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    if (upper == "Q4_K_M")
        return GgmlType::Q4_K;
    if (upper == "Q5_K_M")
        return GgmlType::Q5_K;
    const auto type = ggmlTypeFromName(upper);
    if (type && isQuantizeTarget(*type))
        return type;
    return std::nullopt;
}

std::string quantizeTargetName(GgmlType target)
{
    if (target == GgmlType::Q4_K)
        return "Q4_K_M";
    if (target == GgmlType::Q5_K)
        return "Q5_K_M";
    return ggmlTypeName(target);
}

uint32_t llamaFileType(GgmlType target)
{
    switch (target) { // llama.h enum llama_ftype
    case GgmlType::F32:
        return 0; // LLAMA_FTYPE_ALL_F32
    case GgmlType::F16:
        return 1; // LLAMA_FTYPE_MOSTLY_F16
    case GgmlType::BF16:
        return 32; // LLAMA_FTYPE_MOSTLY_BF16
    case GgmlType::Q4_0:
        return 2; // LLAMA_FTYPE_MOSTLY_Q4_0
    case GgmlType::Q8_0:
        return 7; // LLAMA_FTYPE_MOSTLY_Q8_0
    case GgmlType::Q5_0:
        return 8; // LLAMA_FTYPE_MOSTLY_Q5_0
    case GgmlType::Q4_K:
        return 15; // LLAMA_FTYPE_MOSTLY_Q4_K_M
    case GgmlType::Q5_K:
        return 17; // LLAMA_FTYPE_MOSTLY_Q5_K_M
    case GgmlType::Q6_K:
        return 18; // LLAMA_FTYPE_MOSTLY_Q6_K
    default:
        throw std::invalid_argument(std::string("cannot quantise a model to ") + ggmlTypeName(target)
            + " (targets: Q8_0, Q4_0, Q5_0, Q4_K_M, Q5_K_M, Q6_K, F16, BF16, F32)");
    }
}

int QuantizeReport::convertedCount() const
{
    return int(std::count_if(tensors.begin(), tensors.end(), [](const auto& t) { return t.converted(); }));
}

int QuantizeReport::keptCount() const { return int(tensors.size()) - convertedCount(); }

std::vector<std::pair<GgmlType, int>> QuantizeReport::countByType() const
{
    std::vector<std::pair<GgmlType, int>> counts;
    for (const auto& t : tensors) {
        auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == t.to; });
        if (it == counts.end())
            counts.emplace_back(t.to, 1);
        else
            ++it->second;
    }
    std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return counts;
}

namespace {

// Converts one tensor's rows from its stored type to `to`, rows in parallel (each row is independent,
// so the bytes do not depend on the thread count).
std::vector<uint8_t> convertTensor(const GgufTensorInfo& t, GgmlType to)
{
    const uint64_t cols = t.dims[0];
    const uint64_t rows = t.elementCount() / cols;
    const uint64_t inRowBytes = ggmlRowBytes(t.type, cols);
    const uint64_t outRowBytes = ggmlRowBytes(to, cols);
    std::vector<uint8_t> out(size_t(outRowBytes * rows));
    const TypeKernels& source = typeKernels(t.type);
    tbb::parallel_for(tbb::blocked_range<uint64_t>(0, rows, 16), [&](const tbb::blocked_range<uint64_t>& r) {
        std::vector<float> buf(static_cast<size_t>(cols));
        for (uint64_t row = r.begin(); row != r.end(); ++row) {
            source.dequantizeRow(t.data + row * inRowBytes, buf.data(), size_t(cols));
            quantizeRow(to, buf.data(), out.data() + row * outRowBytes, size_t(cols));
        }
    });
    return out;
}

// The report of quantising `in` to `target`, sizes from the plan's types, nothing converted yet.
QuantizeReport planReport(const GgufFile& in, GgmlType target)
{
    QuantizeReport report;
    report.inPath = in.path();
    report.target = target;
    report.fileType = llamaFileType(target); // throws for a type that is not a target
    report.fileBytesBefore = in.fileSize();
    const auto plan = planQuantization(target, describeTensors(in), QuantizeModelInfo::fromGguf(in));
    for (size_t i = 0; i < in.tensors().size(); ++i) {
        const GgufTensorInfo& t = in.tensors()[i];
        QuantizedTensor r;
        r.name = t.name;
        r.dims = t.dims;
        r.from = t.type;
        r.to = plan[i].type;
        r.note = plan[i].note;
        r.bytesBefore = t.nbytes;
        r.bytesAfter = r.to == t.type ? t.nbytes : ggmlRowBytes(r.to, t.dims[0]) * (t.elementCount() / t.dims[0]);
        report.tensorBytesBefore += r.bytesBefore;
        report.tensorBytesAfter += r.bytesAfter;
        report.tensors.push_back(std::move(r));
    }
    return report;
}

} // namespace

QuantizeReport planModelQuantization(const std::string& inPath, GgmlType target)
{
    llamaFileType(target); // a bad target is refused before the file is read, as by quantizeModel
    return planReport(GgufFile::open(inPath), target);
}

QuantizeReport quantizeModel(const std::string& inPath, const std::string& outPath, GgmlType target)
{
    const auto start = std::chrono::steady_clock::now();
    llamaFileType(target); // throws for a type that is not a target
    const GgufFile in = GgufFile::open(inPath);
    QuantizeReport report = planReport(in, target);
    report.inPath = inPath;
    report.outPath = outPath;
    // The output is assembled in memory before it is written: refuse before converting anything if it cannot be.
    uint64_t outputBytes = 0;
    for (const auto& t : report.tensors)
        outputBytes += t.bytesAfter;
    requireMemory(inPath, outputBytes,
        "the quantised tensors, " + formatBytes(outputBytes) + ", held in memory until the output is written",
        MemoryBudget::current());

    GgufWriter out;
    out.setAlignment(in.alignment());
    for (const auto& [key, value] : in.metadata())
        out.set(key, value);
    out.setUInt32("general.file_type", report.fileType);
    out.setUInt32("general.quantization_version", 2); // GGML_QNT_VERSION, which llama.cpp writes

    for (size_t i = 0; i < in.tensors().size(); ++i) {
        const GgufTensorInfo& t = in.tensors()[i];
        const GgmlType to = report.tensors[i].to;
        std::vector<uint8_t> bytes;
        if (to == t.type) {
            bytes.assign(t.data, t.data + t.nbytes);
        } else {
            try {
                bytes = convertTensor(t, to);
            } catch (const std::exception& e) {
                throw ModelFileError(inPath, t.fileOffset, "tensor '" + t.name + "': " + e.what());
            }
        }
        if (bytes.size() != report.tensors[i].bytesAfter)
            throw std::logic_error("quantizeModel: tensor '" + t.name + "' came out a different size than planned");
        out.addTensor(t.name, to, t.dims, std::move(bytes));
    }
    // Reads past a shrunk file's end came back as zeros (MappedFile): such an output is not written.
    if (in.changedSinceOpened())
        throw ModelFileError(inPath, "the model file changed or shrank while it was read; nothing was written");

    out.write(outPath);
    report.fileBytesAfter = GgufFile::open(outPath).fileSize();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

} // namespace engine
