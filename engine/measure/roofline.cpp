#include "engine/measure/roofline.h"

#include "engine/kernels/cpudispatch.h"
#include "engine/measure/machine.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/model.h"
#include "engine/parallel/scheduler.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>
#include <tuple>
#include <vector>

namespace engine {

namespace {

double matmulBytes(const WeightMatrix& w, int tokens)
{
    return double(w.bytes()) + 4.0 * tokens * double(w.cols + w.rows);
}
double matmulFlops(const WeightMatrix& w, int tokens) { return 2.0 * tokens * double(w.rows) * double(w.cols); }

using Clock = std::chrono::steady_clock;

// Independent FMA chains on registers: acc = acc * m + c, which stays finite (it converges to c / (1 - m)).
// FLOPs per iteration: chains × lanes × 2.
__attribute__((target("avx512f"))) float fmaAvx512(int64_t iterations)
{
    constexpr int kChains = 16;
    __m512 acc[kChains];
    for (int i = 0; i < kChains; ++i)
        acc[i] = _mm512_set1_ps(float(i));
    const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < kChains; ++i)
            acc[i] = _mm512_fmadd_ps(acc[i], m, c);
    __m512 sum = acc[0];
    for (int i = 1; i < kChains; ++i)
        sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}
constexpr double kFlopsAvx512 = 16.0 * 16.0 * 2.0;

__attribute__((target("avx2,fma"))) float fmaAvx2(int64_t iterations)
{
    constexpr int kChains = 12; // of 16 ymm registers, leaving room for m and c
    __m256 acc[kChains];
    for (int i = 0; i < kChains; ++i)
        acc[i] = _mm256_set1_ps(float(i));
    const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < kChains; ++i)
            acc[i] = _mm256_fmadd_ps(acc[i], m, c);
    __m256 sum = acc[0];
    for (int i = 1; i < kChains; ++i)
        sum = _mm256_add_ps(sum, acc[i]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    float s = 0;
    for (float v : lanes)
        s += v;
    return s;
}
constexpr double kFlopsAvx2 = 12.0 * 8.0 * 2.0;

float fmaScalar(int64_t iterations)
{
    constexpr int kChains = 8;
    float acc[kChains];
    for (int i = 0; i < kChains; ++i)
        acc[i] = float(i);
    for (int64_t it = 0; it < iterations; ++it)
        for (float& a : acc)
            a = a * 0.999f + 0.001f;
    float s = 0;
    for (float a : acc)
        s += a;
    return s;
}
constexpr double kFlopsScalar = 8.0 * 2.0;

struct FmaKernel {
    float (*run)(int64_t);
    double flopsPerIteration;
    const char* name;
};

// The kernels' level (kernels/cpudispatch.h, PLAYGROUND_ISA included): the peak the kernels can reach here.
FmaKernel fmaKernel()
{
    switch (activeCpuIsa()) {
    case CpuIsa::Amx: // the avx512 level plus tiles for prefill's integer kernels
    case CpuIsa::Avx512:
        return { fmaAvx512, kFlopsAvx512, "avx512" };
    case CpuIsa::Avx2:
        return { fmaAvx2, kFlopsAvx2, "avx2" };
    case CpuIsa::Scalar:
        break;
    }
    return { fmaScalar, kFlopsScalar, "scalar" };
}

std::string cpuModel()
{
    const nlohmann::json m = machineDescription();
    return m.value("cpu", std::string("unknown CPU"));
}

} // namespace

OpCost opCost(const Model& model, Op op, int layer, int tokens, int position)
{
    const ModelConfig& c = model.config();
    const auto& layers = model.layers();
    const LayerWeights& L = layers[size_t(std::clamp(layer, 0, std::max(0, int(layers.size()) - 1)))];
    const double T = std::max(1, tokens);
    const double qDim = double(c.heads) * c.headDim;
    const double kvDim = double(c.kvDim());
    OpCost cost;
    cost.modelled = true;
    switch (op) {
    case Op::AttnQ:
        return { matmulBytes(L.wq, tokens), matmulFlops(L.wq, tokens), true };
    case Op::AttnK:
        return { matmulBytes(L.wk, tokens), matmulFlops(L.wk, tokens), true };
    case Op::AttnV:
        return { matmulBytes(L.wv, tokens), matmulFlops(L.wv, tokens), true };
    case Op::AttnOut:
        return { matmulBytes(L.wo, tokens), matmulFlops(L.wo, tokens), true };
    case Op::FfnGate:
        return { matmulBytes(L.gate, tokens), matmulFlops(L.gate, tokens), true };
    case Op::FfnUp:
        return { matmulBytes(L.up, tokens), matmulFlops(L.up, tokens), true };
    case Op::FfnDown:
        return { matmulBytes(L.down, tokens), matmulFlops(L.down, tokens), true };
    case Op::FfnGateUp:
        // Both matrices read the same input; the output is silu(gate) · up, T × hidden.
        return { double(L.gate.bytes() + L.up.bytes()) + 4.0 * T * double(c.dim + c.hidden),
            matmulFlops(L.gate, tokens) + matmulFlops(L.up, tokens) + 4.0 * T * c.hidden, true };
    case Op::Logits:
        return { matmulBytes(model.output(), tokens), matmulFlops(model.output(), tokens), true };
    case Op::Attention: {
        // Causal: the query at position p scores and sums keys 0..p only, T·position + T(T+1)/2 (query, key) pairs,
        // each 2·hd FLOPs for its score and 2·hd for its share of the weighted sum, per head. (The engine skips
        // the keys after a block's last query; what it still computes of the masked triangle is not counted.)
        const double len = double(position) + T;
        const double pairs = T * double(position) + T * (T + 1) / 2.0;
        cost.bytes = 4.0 * (2.0 * len * kvDim + 2.0 * T * qDim);
        cost.flops = 4.0 * c.heads * pairs * c.headDim;
        return cost;
    }
    case Op::RmsNorm: // read x and the weight, write the normed copy; square-add, then scale and weight
        cost.bytes = 4.0 * (2.0 * T * c.dim + c.dim);
        cost.flops = 4.0 * T * c.dim;
        return cost;
    case Op::Rope: // q and k rotated in place (and the biases added, and k and v copied to the cache)
        cost.bytes = 4.0 * T * (2.0 * (qDim + kvDim) + 2.0 * kvDim);
        cost.flops = 3.0 * T * (qDim + kvDim);
        return cost;
    case Op::Embed:
        cost.bytes = T * double(model.tokenEmbedding().rowBytes) + 4.0 * T * c.dim;
        cost.flops = T * c.dim;
        return cost;
    case Op::Residual: // x += the sub-layer's output: read both, write x
        cost.bytes = 4.0 * 3.0 * T * c.dim;
        cost.flops = T * c.dim;
        return cost;
    case Op::Quantize: {
        // n floats read per token; written: n int8 and, per block of 32, the float scale and block sum and two int32
        // half sums (16 bytes). Counted as FLOPs: the |x| maximum and the scaling, 2 per value (the rounding and the
        // integer sums not). A trace does not say which of a layer's quantisations a call was (their widths differ:
        // dim, heads x headDim, hidden), so each call costs their mean, and a layer's calls together their sum.
        const std::vector<int64_t> widths = InferenceContext::quantizedInputs(model, layer, tokens);
        if (widths.empty())
            return {};
        double n = 0;
        for (int64_t w : widths)
            n += double(w);
        n /= double(widths.size());
        cost.bytes = T * n * (4.0 + 1.0 + 16.0 / double(ActivationQ8::kBlock));
        cost.flops = 2.0 * T * n;
        return cost;
    }
    default:
        return {};
    }
}

double MachinePeaks::bandwidthGBps(int lanes) const
{
    const int p = std::clamp(lanes, 1, std::max(1, cores));
    const double scaled = bandwidthGBps1 * p;
    return bandwidthGBpsAll > 0 ? std::min(scaled, std::max(bandwidthGBpsAll, bandwidthGBps1)) : scaled;
}

double MachinePeaks::peakGflops(int lanes) const
{
    const int p = std::clamp(lanes, 1, std::max(1, cores));
    if (p >= cores && peakGflopsAll > 0)
        return peakGflopsAll;
    return peakGflops1 * p;
}

double MachinePeaks::ridge(int lanes) const
{
    const double bw = bandwidthGBps(lanes);
    return bw > 0 ? peakGflops(lanes) / bw : 0;
}

nlohmann::json toJson(const MachinePeaks& p)
{
    return {
        { "cpu", p.cpu },
        { "cores", p.cores },
        { "bandwidth_gbps_1", p.bandwidthGBps1 },
        { "bandwidth_gbps_all", p.bandwidthGBpsAll },
        { "peak_gflops_1", p.peakGflops1 },
        { "peak_gflops_all", p.peakGflopsAll },
        { "fma_kernel", p.fmaKernel },
        { "fork_join_ns_1", p.forkJoinNs1 },
        { "fork_join_ns_all", p.forkJoinNsAll },
        { "fork_join_ns_over", p.forkJoinNsOver },
        { "last_level_cache_bytes", p.lastLevelCacheBytes },
    };
}

std::optional<MachinePeaks> machinePeaksFromJson(const nlohmann::json& j)
{
    if (!j.is_object())
        return std::nullopt;
    try {
        MachinePeaks p;
        p.cpu = j.at("cpu").get<std::string>();
        p.cores = j.at("cores").get<int>();
        p.bandwidthGBps1 = j.at("bandwidth_gbps_1").get<double>();
        p.bandwidthGBpsAll = j.at("bandwidth_gbps_all").get<double>();
        p.peakGflops1 = j.at("peak_gflops_1").get<double>();
        p.peakGflopsAll = j.at("peak_gflops_all").get<double>();
        p.fmaKernel = j.value("fma_kernel", std::string());
        p.forkJoinNs1 = j.at("fork_join_ns_1").get<double>();
        p.forkJoinNsAll = j.at("fork_join_ns_all").get<double>();
        p.forkJoinNsOver = j.value("fork_join_ns_over", 0.0);
        p.lastLevelCacheBytes = j.value("last_level_cache_bytes", uint64_t(0));
        if (!p.valid() || p.cores < 1 || !(p.forkJoinNs1 > 0) || !(p.forkJoinNsAll > 0))
            return std::nullopt;
        return p;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

const char* fmaKernelName() { return fmaKernel().name; }

double measurePeakGflops(int threads, double seconds)
{
    const FmaKernel kernel = fmaKernel();
    threads = std::max(1, threads);
    // Calibrate the iteration count on this thread (about 10 ms), then run every thread for `seconds`' worth.
    int64_t iterations = 1 << 16;
    double perIteration = 0;
    volatile float sink = 0;
    for (;;) {
        const auto t0 = Clock::now();
        sink = sink + kernel.run(iterations);
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (s > 0.01 || iterations > (int64_t(1) << 40)) {
            perIteration = s / double(iterations);
            break;
        }
        iterations *= 4;
    }
    const int64_t runIterations = std::max<int64_t>(1, int64_t(seconds / 3.0 / std::max(perIteration, 1e-12)));
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) { // best of three: the peak is what the machine can do when nothing intrudes
        std::barrier start(std::ptrdiff_t(threads + 1));
        std::vector<std::thread> workers;
        std::vector<float> out(static_cast<size_t>(threads), 0.0f);
        for (int k = 0; k < threads; ++k)
            workers.emplace_back([&, k] {
                start.arrive_and_wait();
                out[size_t(k)] = kernel.run(runIterations);
            });
        const auto t0 = Clock::now();
        start.arrive_and_wait();
        for (auto& w : workers)
            w.join();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        for (float v : out)
            sink = sink + v;
        best = std::max(best, kernel.flopsPerIteration * double(runIterations) * threads / s / 1e9);
    }
    return best;
}

double measureForkJoinNs(int threads, int regions)
{
    SchedulerOptions options;
    options.threads = std::max(1, threads);
    Scheduler scheduler(options);
    const RegionInfo region { .op = Op::Other };
    std::atomic<int> sink { 0 };
    auto once = [&] {
        scheduler.parallelFor(region, size_t(options.threads),
            [&](size_t b0, size_t b1) { sink.fetch_add(int(b1 - b0), std::memory_order_relaxed); });
    };
    double best = 0;
    scheduler.execute([&] {
        for (int i = 0; i < regions / 10; ++i) // warm the workers up
            once();
        std::vector<double> means;
        for (int rep = 0; rep < 5; ++rep) {
            const auto t0 = Clock::now();
            for (int i = 0; i < regions / 5; ++i)
                once();
            means.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / (regions / 5));
        }
        std::sort(means.begin(), means.end());
        best = means[means.size() / 2];
    });
    return best;
}

uint64_t lastLevelCacheBytes()
{
    uint64_t largest = 0;
    for (int index = 0; index < 16; ++index) {
        std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
        std::string text;
        if (!(in >> text))
            break;
        uint64_t value = 0;
        size_t used = 0;
        try {
            value = std::stoull(text, &used);
        } catch (const std::exception&) {
            continue;
        }
        const char unit = used < text.size() ? text[used] : ' ';
        value *= unit == 'K' ? 1024ull : unit == 'M' ? 1024ull * 1024 : unit == 'G' ? 1024ull * 1024 * 1024 : 1ull;
        largest = std::max(largest, value);
    }
    return largest;
}

std::string defaultRooflineCachePath()
{
    std::filesystem::path base;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        base = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home)
        base = std::filesystem::path(home) / ".cache";
    else
        return {};
    return (base / "llm-thread-playground" / "roofline.json").string();
}

bool peaksFitThisProcess(const MachinePeaks& cached)
{
    return cached.cpu == cpuModel() && cached.cores == Scheduler::hardwareThreads()
        && cached.fmaKernel == fmaKernelName();
}

MachinePeaks machinePeaks(const std::string& cachePath, bool remeasure)
{
    const std::string path = cachePath.empty() ? defaultRooflineCachePath() : cachePath;
    const std::string cpu = cpuModel();
    const int cores = Scheduler::hardwareThreads();
    if (!remeasure && !path.empty()) {
        std::ifstream in(path);
        nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
        if (auto cached = machinePeaksFromJson(j); cached && peaksFitThisProcess(*cached)) {
            cached->fromCache = true;
            // The cache size is read, not measured: a cache file written before it was recorded gets it from sysfs.
            if (cached->lastLevelCacheBytes == 0)
                cached->lastLevelCacheBytes = lastLevelCacheBytes();
            // Files written before the oversubscribed probe existed: measure only it (a few ms), keep the rest.
            if (!(cached->forkJoinNsOver > 0)) {
                const CpuTimes before = readCpuTimes();
                cached->forkJoinNsOver = measureForkJoinNs(4 * cores);
                if (!backgroundLoadBetween(before, readCpuTimes()).significant()) {
                    std::ofstream out(path, std::ios::trunc);
                    if (out)
                        out << toJson(*cached).dump(2) << '\n';
                }
            }
            return *cached;
        }
    }
    MachinePeaks p;
    p.cpu = cpu;
    p.cores = cores;
    p.fmaKernel = fmaKernelName();
    p.lastLevelCacheBytes = lastLevelCacheBytes();
    const CpuTimes before = readCpuTimes();
    const auto bandwidth = measureReadBandwidths({ cores, 1 }, uint64_t(512) << 20);
    for (const BandwidthResult& b : bandwidth) {
        if (b.threads == 1)
            p.bandwidthGBps1 = b.medianGBps;
        if (b.threads == cores)
            p.bandwidthGBpsAll = b.medianGBps;
    }
    p.peakGflops1 = measurePeakGflops(1);
    p.peakGflopsAll = cores > 1 ? measurePeakGflops(cores) : p.peakGflops1;
    p.forkJoinNs1 = measureForkJoinNs(1);
    p.forkJoinNsAll = cores > 1 ? measureForkJoinNs(cores) : p.forkJoinNs1;
    p.forkJoinNsOver = measureForkJoinNs(4 * cores);
    p.measuredBusy = backgroundLoadBetween(before, readCpuTimes()).significant();
    if (!path.empty() && !p.measuredBusy) {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        std::ofstream out(path, std::ios::trunc);
        if (out)
            out << toJson(p).dump(2) << '\n';
    }
    return p;
}

const char* boundName(Bound b)
{
    switch (b) {
    case Bound::Memory:
        return "memory";
    case Bound::Compute:
        return "compute";
    case Bound::None:
        break;
    }
    return "-";
}

Bound OpStats::bound(const MachinePeaks& peaks, int lanes) const
{
    if (!modelled || bytes <= 0 || !peaks.valid())
        return Bound::None;
    return intensity() < peaks.ridge(lanes) ? Bound::Memory : Bound::Compute;
}

double OpStats::ceilingShare(const MachinePeaks& peaks, int lanes) const
{
    if (!modelled || bytes <= 0 || !peaks.valid())
        return 0;
    const double ceiling = std::min(peaks.peakGflops(lanes), peaks.bandwidthGBps(lanes) * intensity());
    return ceiling > 0 ? gflops() / ceiling : 0;
}

std::vector<OpStats> opStats(const RunResult& run, const Model& model)
{
    const RunMetrics& m = run.metrics;
    auto phaseOf = [&](int64_t ns) { return ns < m.prefillEndNs ? Phase::Prefill : Phase::Decode; };
    // A call is one region's (or serial section's) work for one op: the chunks of (op, layer, sequence, position).
    struct Call {
        int64_t begin = INT64_MAX;
        int64_t end = INT64_MIN;
        int64_t busy = 0; // summed over its chunks
        int tokens = 1;
    };
    using Key = std::tuple<int, int, int, int, int>; // (phase, op, layer, sequence, position)
    std::map<Key, std::vector<const TraceEvent*>> chunksOf;
    std::map<std::pair<int, int>, OpStats> stats; // (phase, op)
    auto addCall = [&](OpStats& s, int layer, int tokens, int position, int64_t elapsedNs) {
        ++s.calls;
        s.elapsedNs += elapsedNs;
        const OpCost cost = opCost(model, s.op, layer, tokens, position);
        s.bytes += cost.bytes;
        s.flops += cost.flops;
        s.modelled = cost.modelled;
    };
    for (const TraceEvent& e : run.trace) {
        if (isMarker(e.op))
            continue;
        const Phase phase = phaseOf(e.beginNs);
        OpStats& s = stats[{ int(phase), int(e.op) }];
        s.op = e.op;
        s.phase = phase;
        s.busyNs += e.durationNs();
        ++s.chunks;
        if (e.first == e.last) {
            // A serial section covers no rows and is a call of its own (a layer's two norms share every key).
            ++s.serialChunks;
            s.serialNs += e.durationNs();
            addCall(s, e.layer, e.tokens, e.position, e.durationNs());
            continue;
        }
        chunksOf[{ int(phase), int(e.op), int(e.layer), int(e.sequence), int(e.position) }].push_back(&e);
    }
    // A key's chunks are one call per region of that op: a layer's two norms (and two residual adds, and up to four
    // quantisations) share every key. One region's chunks cover its units once each, and the next region of the key
    // starts after it joined, so in begin order a chunk covering a unit already covered starts the next call.
    std::vector<std::pair<Key, Call>> calls;
    for (auto& [key, chunks] : chunksOf) {
        std::sort(chunks.begin(), chunks.end(),
            [](const TraceEvent* a, const TraceEvent* b) { return a->beginNs < b->beginNs; });
        std::map<uint32_t, uint32_t> covered; // the current call's unit ranges, first → last
        for (const TraceEvent* e : chunks) {
            auto next = covered.lower_bound(e->last); // ranges starting at or after this one's end do not overlap
            const bool overlaps = next != covered.begin() && std::prev(next)->second > e->first;
            if (calls.empty() || calls.back().first != key || overlaps) {
                calls.push_back({ key, Call {} });
                covered.clear();
            }
            covered[e->first] = e->last;
            Call& c = calls.back().second;
            c.begin = std::min(c.begin, e->beginNs);
            c.end = std::max(c.end, e->endNs);
            c.busy += e->durationNs();
            c.tokens = std::max<int>(c.tokens, e->tokens);
        }
    }
    // Calls of one (phase, layer, sequence, position) whose spans overlap are parts of one region (q, k and v share
    // one): the lanes interleave their chunks, so each part's first-to-last span would cover most of the region and
    // the parts' times would add up to more than the region took. Such a group's span is shared out by busy time.
    std::map<std::tuple<int, int, int, int>, std::vector<std::pair<const Key*, Call*>>> groups;
    for (auto& [key, c] : calls) {
        const auto& [phase, op, layer, sequence, position] = key;
        groups[{ phase, layer, sequence, position }].push_back({ &key, &c });
    }
    std::map<const Call*, int64_t> elapsed;
    for (auto& [where, members] : groups) {
        std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
        for (size_t i = 0; i < members.size();) {
            size_t j = i + 1;
            int64_t end = members[i].second->end, busy = members[i].second->busy;
            for (; j < members.size() && members[j].second->begin < end; ++j) {
                end = std::max(end, members[j].second->end);
                busy += members[j].second->busy;
            }
            const int64_t span = end - members[i].second->begin;
            for (size_t k = i; k < j; ++k) {
                const Call* c = members[k].second;
                elapsed[c] = j - i == 1 || busy <= 0 ? c->end - c->begin
                                                     : int64_t(double(span) * double(c->busy) / double(busy) + 0.5);
            }
            i = j;
        }
    }
    for (const auto& [key, c] : calls) {
        const auto [phase, op, layer, sequence, position] = key;
        addCall(stats[{ phase, op }], layer, c.tokens, position, elapsed.at(&c));
    }
    std::vector<OpStats> out;
    for (auto& [key, s] : stats)
        out.push_back(s);
    std::stable_sort(out.begin(), out.end(),
        [](const OpStats& a, const OpStats& b) { return std::tie(a.phase, b.busyNs) < std::tie(b.phase, a.busyNs); });
    return out;
}

} // namespace engine
