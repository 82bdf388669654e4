// The roofline of a run: each operation's bytes and FLOPs from the model's shapes, what it achieved, and whether
// this machine's measured bandwidth or its measured arithmetic peak bounds it.
//
// Costs are counted from the shapes, not measured: a matmul of T tokens with a (rows × cols) weight matrix does
// 2·T·rows·cols FLOPs and touches the matrix's stored bytes once plus its F32 input (T·cols) and output (T·rows);
// attention over `len` cached positions does 4·heads·T·len·headDim FLOPs (scores and the weighted sum, computed in
// full as the engine does) and reads len·kvDim keys and values; norms, residual adds, the 8-bit quantisation of
// matmul inputs, RoPE and the embedding lookup are counted the same way from their sizes. Sections whose work is not
// a fixed function of the shapes (sampling, tokenising) have no cost and no bound.
// Achieved rates divide by the op's elapsed time: per call, first chunk's begin to last chunk's end.
#pragma once

#include "engine/parallel/trace.h"
#include "engine/run/run.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace engine {

class Model;

struct OpCost {
    double bytes = 0;
    double flops = 0;
    bool modelled = false; // false: no cost model for this op (sampling, tokenising, "serial")
};

// One call of `op` in `layer` for `tokens` tokens starting at `position` (attention sees position + tokens keys).
OpCost opCost(const Model& model, Op op, int layer, int tokens, int position);

// The machine's ceilings: read bandwidth and FMA peak, on one core and on all of them.
struct MachinePeaks {
    std::string cpu; // /proc/cpuinfo model name
    int cores = 1; // logical cores
    double bandwidthGBps1 = 0; // median read bandwidth, one thread
    double bandwidthGBpsAll = 0; // all logical cores
    double peakGflops1 = 0; // F32 FMA throughput, one thread
    double peakGflopsAll = 0;
    std::string fmaKernel; // "avx512", "avx2" or "scalar": the widest FMA kernel this CPU runs
    // Mean wall time of an empty parallel region (one trivial block per thread), one thread and all cores: the
    // fork/join cost the scaling prediction extrapolates.
    double forkJoinNs1 = 0;
    double forkJoinNsAll = 0;
    // The same region with four threads per core (time-shared), 0 if not measured: what oversubscription costs.
    double forkJoinNsOver = 0;
    uint64_t lastLevelCacheBytes = 0; // the largest CPU cache (sysfs), 0 if unknown
    bool fromCache = false;
    bool measuredBusy = false; // other processes used the CPUs while measuring: figures low, not cached

    bool valid() const { return bandwidthGBps1 > 0 && peakGflops1 > 0; }
    // The ceilings a run on `lanes` threads can reach: one core's figure times min(lanes, cores), capped by the
    // all-core figure (bandwidth) or reached exactly (arithmetic).
    double bandwidthGBps(int lanes) const;
    double peakGflops(int lanes) const;
    // FLOPs per byte where the two ceilings meet on `lanes` threads.
    double ridge(int lanes) const;
};
nlohmann::json toJson(const MachinePeaks& peaks);
std::optional<MachinePeaks> machinePeaksFromJson(const nlohmann::json& j);

// F32 FMA throughput of `threads` threads, GFLOP/s: each thread runs independent FMA chains on registers for
// about `seconds`. The kernel is picked at run time (AVX-512, AVX2+FMA, or scalar).
double measurePeakGflops(int threads, double seconds = 0.2);
// Mean wall time of an empty parallel region on a `threads`-thread arena (blocks = threads, each trivial), ns.
double measureForkJoinNs(int threads, int regions = 4000);
const char* fmaKernelName();

// Whether cached figures describe this process's machine: the same CPU model, core count and FMA kernel (the kernel
// follows the ISA level, which PLAYGROUND_ISA can lower: an AVX-512 peak is not the ceiling of AVX2 kernels).
bool peaksFitThisProcess(const MachinePeaks& cached);

// Measures this machine (about 3 s: bandwidth, FMA peak and fork/join cost on one core, on all and four per core), or
// reads the figures from `cachePath` if peaksFitThisProcess(the cached figures); a fresh
// measurement is written there. An empty path means the default, $XDG_CACHE_HOME (or
// ~/.cache)/llm-thread-playground/roofline.json; a cache that cannot be read or written is ignored.
MachinePeaks machinePeaks(const std::string& cachePath = {}, bool remeasure = false);
std::string defaultRooflineCachePath();
// The size of this CPU's largest cache (sysfs cpu0 cache indexes), 0 if unknown.
uint64_t lastLevelCacheBytes();

enum class Bound { Memory, Compute, None };
const char* boundName(Bound b); // "memory", "compute", "-"

// One op in one phase of a run.
struct OpStats {
    Op op = Op::Other;
    Phase phase = Phase::Prefill;
    uint64_t calls = 0;
    uint64_t chunks = 0;
    uint64_t serialChunks = 0; // chunks that were serial sections of the calling thread (they cover no rows)
    int64_t busyNs = 0; // summed over lanes
    int64_t serialNs = 0; // the part of busyNs in serial sections (an op can run both: the norms in prefill and decode)
    int64_t elapsedNs = 0; // summed over calls: first chunk's begin to last chunk's end
    double bytes = 0; // summed over calls
    double flops = 0;
    bool modelled = false;

    double gbps() const { return elapsedNs > 0 ? bytes / double(elapsedNs) : 0; } // bytes per ns = GB/s
    double gflops() const { return elapsedNs > 0 ? flops / double(elapsedNs) : 0; }
    double intensity() const { return bytes > 0 ? flops / bytes : 0; } // FLOPs per byte
    // Memory-bound when its intensity is below the machine's ridge point on `lanes` threads.
    Bound bound(const MachinePeaks& peaks, int lanes) const;
    // Achieved ÷ the roofline's ceiling at this intensity (0..~1).
    double ceilingShare(const MachinePeaks& peaks, int lanes) const;
};

// Per op and phase, from a run's trace and the model it ran (ordered by phase, then descending busy time).
std::vector<OpStats> opStats(const RunResult& run, const Model& model);

} // namespace engine
