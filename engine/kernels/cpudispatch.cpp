#include "engine/kernels/cpudispatch.h"

#include "engine/format/ggmltype.h"
#include "engine/kernels/blockformats.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace engine {

// Each level's copy of the kernel sources exports only its table (engine/kernels/isakernels.h).
namespace isa_scalar {
const CpuKernels& kernelTable();
float dotQ8_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ4_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ5_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
float dotQ6_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);
}
namespace isa_avx2 {
const CpuKernels& kernelTable();
}
namespace isa_avx512 {
const CpuKernels& kernelTable();
}
namespace isa_amx {
const CpuKernels& kernelTable();
}

namespace {
constexpr std::array<const char*, kCpuIsaCount> kNames { "scalar", "avx2", "avx512", "amx" };

// CPUID leaf 1's ECX bit: for the x86-64-v3 features clang-14's __builtin_cpu_supports does not name (F16C,
// MOVBE); the fuzz build uses clang.
bool cpuidLeaf1Ecx(int bit)
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx >> bit & 1u);
}

// AMX-TILE and AMX-INT8 (CPUID leaf 7 EDX bits 24, 25), and Linux's leave to use the 8 KiB tile state: it is off
// in every process until asked for (Linux 5.16+); a tile instruction without it faults. Asked once; a refusal (an
// older kernel, or a signal stack too small for the larger signal frame) leaves the avx512 level.
bool cpuHasAmx()
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx >> 24 & 1u) && (edx >> 25 & 1u);
}

// Asked only when the amx level is about to be used (PLAYGROUND_ISA=amx, or a test's cpuKernelsFor): a process that
// runs the default level never changes its signal frame size.
bool amxGranted()
{
    static const bool granted = [] {
        if (!cpuHasAmx())
            return false;
#if defined(__linux__)
        constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtileData = 18;
        return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtileData) == 0;
#else
        return false;
#endif
    }();
    return granted;
}

bool cpuRuns(CpuIsa isa)
{
    __builtin_cpu_init();
    switch (isa) {
    case CpuIsa::Scalar:
        return true;
    case CpuIsa::Avx2: // x86-64-v3
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpuidLeaf1Ecx(29) // F16C
            && __builtin_cpu_supports("bmi2") && cpuidLeaf1Ecx(22); // MOVBE
    case CpuIsa::Avx512: // x86-64-v4 and VNNI
        return cpuRuns(CpuIsa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vnni");
    case CpuIsa::Amx:
        return cpuRuns(CpuIsa::Avx512) && amxGranted();
    }
    return false;
}

const CpuKernels& tableOf(CpuIsa isa)
{
    switch (isa) {
    case CpuIsa::Amx:
        return isa_amx::kernelTable();
    case CpuIsa::Avx512:
        return isa_avx512::kernelTable();
    case CpuIsa::Avx2:
        return isa_avx2::kernelTable();
    case CpuIsa::Scalar:
        break;
    }
    return isa_scalar::kernelTable();
}
} // namespace

const char* cpuIsaName(CpuIsa isa) { return kNames[size_t(isa)]; }

std::optional<CpuIsa> parseCpuIsa(const std::string& name)
{
    for (size_t i = 0; i < kNames.size(); ++i)
        if (name == kNames[i])
            return CpuIsa(i);
    return std::nullopt;
}

CpuIsa chooseCpuIsa(const std::string& requested, CpuIsa best)
{
    if (requested.empty())
        return std::min(best, kDefaultCpuIsaCeiling);
    const std::optional<CpuIsa> isa = parseCpuIsa(requested);
    if (!isa)
        throw std::invalid_argument(
            "PLAYGROUND_ISA=" + requested + " is not a kernel level (scalar, avx2, avx512, amx)");
    return std::min(*isa, best);
}

CpuIsa bestCpuIsa()
{
    // The CPU's features only: whether Linux grants the tile state is asked when amx is chosen (activeCpuIsa).
    static const CpuIsa best = [] {
        if (cpuRuns(CpuIsa::Avx512) && cpuHasAmx())
            return CpuIsa::Amx;
        for (int i = int(CpuIsa::Avx512); i > 0; --i)
            if (cpuRuns(CpuIsa(i)))
                return CpuIsa(i);
        return CpuIsa::Scalar;
    }();
    return best;
}

CpuIsa activeCpuIsa()
{
    // Decided on first use; a bad PLAYGROUND_ISA throws here (and again on every later call).
    static const CpuIsa active = [] {
        const char* env = std::getenv("PLAYGROUND_ISA");
        const CpuIsa chosen = chooseCpuIsa(env ? env : "", bestCpuIsa());
        return chosen == CpuIsa::Amx && !amxGranted() ? CpuIsa::Avx512 : chosen;
    }();
    return active;
}

CpuVendor cpuVendor()
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx))
        return CpuVendor::Other;
    char name[13] = {};
    std::memcpy(name, &ebx, 4); // the vendor string is EBX, EDX, ECX
    std::memcpy(name + 4, &edx, 4);
    std::memcpy(name + 8, &ecx, 4);
    const std::string vendor(name);
    if (vendor == "GenuineIntel")
        return CpuVendor::Intel;
    if (vendor == "AuthenticAMD")
        return CpuVendor::Amd;
    return CpuVendor::Other;
}

std::optional<bool> parseSwitch(const char* name, const std::string& value)
{
    if (value.empty())
        return std::nullopt;
    if (value == "1")
        return true;
    if (value == "0")
        return false;
    throw std::invalid_argument(std::string(name) + "=" + value + " is not 1 (on) or 0 (off)");
}

std::optional<bool> envSwitch(const char* name)
{
    const char* env = std::getenv(name);
    return parseSwitch(name, env ? env : "");
}

bool chooseDecodePrefetch(const std::string& requested, CpuVendor vendor)
{
    return parseSwitch("PLAYGROUND_DECODE_PREFETCH", requested).value_or(vendor != CpuVendor::Amd);
}

bool decodePrefetchActive()
{
    static const bool active = [] {
        const char* env = std::getenv("PLAYGROUND_DECODE_PREFETCH");
        return chooseDecodePrefetch(env ? env : "", cpuVendor());
    }();
    return active;
}

namespace detail {
bool gDecodePrefetch = [] {
    try {
        return decodePrefetchActive();
    } catch (const std::invalid_argument&) {
        return false;
    }
}();
} // namespace detail

const CpuKernels& cpuKernels()
{
    // A bad PLAYGROUND_DECODE_PREFETCH is refused here, with a bad PLAYGROUND_ISA, before any kernel runs (the kernels'
    // flag alone would leave the prefetch off without a word).
    static const CpuKernels& table = []() -> const CpuKernels& {
        decodePrefetchActive();
        return tableOf(activeCpuIsa());
    }();
    return table;
}

const CpuKernels* cpuKernelsFor(CpuIsa isa) { return cpuRuns(isa) ? &tableOf(isa) : nullptr; }

// ---- The public kernel functions: the active level's.

const TypeKernels* typeKernelsOf(const CpuKernels& k, GgmlType type)
{
    switch (type) {
    case GgmlType::F32:
        return &k.f32;
    case GgmlType::F16:
        return &k.f16;
    case GgmlType::BF16:
        return &k.bf16;
    case GgmlType::Q8_0:
        return &k.q8_0;
    case GgmlType::Q4_0:
        return &k.q4_0;
    case GgmlType::Q5_0:
        return &k.q5_0;
    case GgmlType::Q4_K:
        return &k.q4_K;
    case GgmlType::Q5_K:
        return &k.q5_K;
    case GgmlType::Q6_K:
        return &k.q6_K;
    default:
        return nullptr;
    }
}

const TypeKernels& typeKernels(GgmlType type)
{
    const TypeKernels* k = typeKernelsOf(cpuKernels(), type);
    if (!k)
        throw std::invalid_argument(std::string("no kernels for tensor type ") + ggmlTypeName(type));
    return *k;
}

void rmsNorm(float* out, const float* x, const float* weight, size_t n, float eps)
{
    cpuKernels().rmsNorm(out, x, weight, n, eps);
}

void softmax(float* x, size_t n) { cpuKernels().softmax(x, n); }
void siluMul(const float* g, const float* u, float* out, size_t n) { cpuKernels().siluMul(g, u, out, n); }
void expNonPositiveForTest(const float* x, float* out, size_t n) { cpuKernels().expNonPositive(x, out, n); }

void ActivationQ8::quantize(const float* x, size_t count)
{
    resize(count);
    quantizeRange(x, 0, count);
}

void ActivationQ8::resize(size_t count)
{
    if (count % kBlock != 0)
        throw std::invalid_argument("ActivationQ8: " + std::to_string(count) + " values are not whole blocks of 32");
    n = count;
    q.resize(count);
    d.resize(count / kBlock);
    dsum.resize(count / kBlock);
    qsum16.resize(count / 16);
}

void ActivationQ8::quantizeRange(const float* x, size_t begin, size_t end)
{
    if (begin % kBlock != 0 || end % kBlock != 0 || begin > end || end > n)
        throw std::invalid_argument("ActivationQ8: values [" + std::to_string(begin) + ", " + std::to_string(end)
            + ") are not whole blocks of 32 within " + std::to_string(n));
    const size_t b = begin / kBlock;
    cpuKernels().quantizeActivation(
        x + begin, end - begin, q.data() + begin, d.data() + b, dsum.data() + b, qsum16.data() + 2 * b);
}

void dequantizeRowQ8_0(const uint8_t* row, float* out, size_t n) { cpuKernels().q8_0.dequantizeRow(row, out, n); }
void dequantizeRowQ4_0(const uint8_t* row, float* out, size_t n) { cpuKernels().q4_0.dequantizeRow(row, out, n); }
void dequantizeRowQ5_0(const uint8_t* row, float* out, size_t n) { cpuKernels().q5_0.dequantizeRow(row, out, n); }
void dequantizeRowQ4_K(const uint8_t* row, float* out, size_t n) { cpuKernels().q4_K.dequantizeRow(row, out, n); }
void dequantizeRowQ5_K(const uint8_t* row, float* out, size_t n) { cpuKernels().q5_K.dequantizeRow(row, out, n); }
void dequantizeRowQ6_K(const uint8_t* row, float* out, size_t n) { cpuKernels().q6_K.dequantizeRow(row, out, n); }

float dotQ8_0(const uint8_t* row, const float* x, size_t n) { return cpuKernels().q8_0.dot(row, x, n); }
float dotQ4_0(const uint8_t* row, const float* x, size_t n) { return cpuKernels().q4_0.dot(row, x, n); }
float dotQ5_0(const uint8_t* row, const float* x, size_t n) { return cpuKernels().q5_0.dot(row, x, n); }
float dotQ4_K(const uint8_t* row, const float* x, size_t n) { return cpuKernels().q4_K.dot(row, x, n); }
float dotQ5_K(const uint8_t* row, const float* x, size_t n) { return cpuKernels().q5_K.dot(row, x, n); }
float dotQ6_K(const uint8_t* row, const float* x, size_t n) { return cpuKernels().q6_K.dot(row, x, n); }

float dotQ8_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n) { return cpuKernels().q8_0.dotQ8(row, x, n); }
float dotQ4_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n) { return cpuKernels().q4_0.dotQ8(row, x, n); }
float dotQ5_0Q8(const uint8_t* row, const ActivationQ8& x, size_t n) { return cpuKernels().q5_0.dotQ8(row, x, n); }
float dotQ4_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n) { return cpuKernels().q4_K.dotQ8(row, x, n); }
float dotQ5_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n) { return cpuKernels().q5_K.dotQ8(row, x, n); }
float dotQ6_KQ8(const uint8_t* row, const ActivationQ8& x, size_t n) { return cpuKernels().q6_K.dotQ8(row, x, n); }

// The integer dots' references: the scalar level's plain loops (built without SIMD flags).
float dotQ8_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return isa_scalar::dotQ8_0Q8Scalar(row, x, n);
}
float dotQ4_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return isa_scalar::dotQ4_0Q8Scalar(row, x, n);
}
float dotQ5_0Q8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return isa_scalar::dotQ5_0Q8Scalar(row, x, n);
}
float dotQ4_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return isa_scalar::dotQ4_KQ8Scalar(row, x, n);
}
float dotQ5_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return isa_scalar::dotQ5_KQ8Scalar(row, x, n);
}
float dotQ6_KQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n)
{
    return isa_scalar::dotQ6_KQ8Scalar(row, x, n);
}

} // namespace engine
